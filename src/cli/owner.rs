//! `cargo confirm-gui owner (--add L | --remove L | --list) CRATE`: one window, then the
//! helper sends it itself. The arguments are clap's (`args::Cmd::Owner`).

use crate::pipeline::Deps;
use crate::publish::{self, Action, Outcome};
use crate::request::Operation;
use crate::request::{HelperRequest, OwnerChange};

use super::through_helper::approved_token;

/// `owner`'s arguments, as clap read them.
pub(super) struct Owner<'a> {
    /// `--add` logins (each may be comma-separated).
    pub add: &'a [String],
    /// `--remove` logins.
    pub remove: &'a [String],
    /// `--list`.
    pub list: bool,
    /// The crate.
    pub krate: &'a str,
    /// Where it goes.
    pub registry: crate::registries::Registry,
}

/// Asks in the window, sends the change (or the listing) and prints what the registry
/// answered.
#[allow(
    clippy::print_stdout,
    reason = "the owners listed are the command's output"
)]
pub(super) fn owner(a: Owner<'_>, deps: &Deps<'_>) -> Result<(), String> {
    let api_index = a.registry.api_index();
    let change = change(a.add, a.remove, a.list)?;
    let name = a.krate.to_string();
    let (index_url, registry_name) = (a.registry.index_url, a.registry.name);
    crate::package::validate_name(&name, "0.0.0").map_err(|e| e.to_string())?;
    let uploader = publish::Uploader::start().map_err(|e| e.to_string())?;
    let req = super::request(
        index_url,
        registry_name,
        Operation::Helper(HelperRequest::Owners {
            name: name.clone(),
            change: change.clone(),
        }),
    );
    let token = approved_token(&req, deps, "owner change")?;
    let job = [crate::publish::Job {
        name,
        ..Default::default()
    }];
    let outcomes = uploader
        .run(
            Action::Owners(change),
            &api_index,
            token.expose(),
            &job,
            |_| {},
        )
        .map_err(|e| e.to_string())?;
    drop(token);
    match outcomes.as_slice() {
        [Outcome::Owners { lines, .. }] => {
            for l in lines {
                println!("{l}");
            }
            Ok(())
        }
        [Outcome::Failed { why, .. }] => Err(format!("cargo-confirm-gui: {why}")),
        _ => Err(
            "cargo-confirm-gui: the uploader said nothing; the request may not have been sent"
                .into(),
        ),
    }
}

/// The change asked for: exactly one of `--add`, `--remove` or `--list` (logins may be
/// comma-separated and the options repeated).
fn change(add: &[String], remove: &[String], list: bool) -> Result<OwnerChange, String> {
    let logins = |v: &[String]| -> Vec<String> {
        v.iter()
            .flat_map(|l| l.split(','))
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect()
    };
    let (add, remove) = (logins(add), logins(remove));
    match (add.is_empty(), remove.is_empty(), list) {
        (false, true, false) => Ok(OwnerChange::Add(add)),
        (true, false, false) => Ok(OwnerChange::Remove(remove)),
        (true, true, true) => Ok(OwnerChange::List),
        _ => Err(format!(
            "cargo confirm-gui owner takes one of --add, --remove or --list\n\n{}",
            super::args::help_of("owner")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_one_change_and_logins_split_on_commas() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            change(&v(&["a,b", "c"]), &[], false).unwrap(),
            OwnerChange::Add(v(&["a", "b", "c"]))
        );
        assert_eq!(change(&[], &[], true).unwrap(), OwnerChange::List);
        assert!(change(&v(&["a"]), &v(&["b"]), false).is_err());
        assert!(change(&[], &[], false).is_err());
    }
}
