//! `cargo confirm-gui owner (--add L | --remove L | --list) CRATE`: one window, then the
//! helper sends it itself.

use crate::pipeline::Deps;
use crate::publish::upload::OwnerChange;
use crate::publish::{self, Action, Outcome};
use crate::request::Operation;

use super::through_helper::{approved_token, subcommand_registry};

/// Parses the arguments, asks in the window, sends the change (or the listing) and prints
/// what the registry answered.
#[allow(
    clippy::print_stdout,
    reason = "the owners listed are the command's output"
)]
pub(super) fn owner(args: &[String], deps: &Deps<'_>) -> Result<(), String> {
    let (index_url, registry_name, api_index) = subcommand_registry(args, &deps.env, None)?;
    let (change, name) = change_and_crate(args)?;
    crate::package::validate_name(&name, "0.0.0")?;
    let uploader = publish::Uploader::start()?;
    let req = super::request(
        index_url,
        registry_name,
        Operation::HelperOwners {
            name: name.clone(),
            change: change.clone(),
        },
    );
    let token = approved_token(&req, deps, "owner change")?;
    let job = [crate::publish::Job {
        name,
        ..Default::default()
    }];
    let outcomes = uploader.run(
        Action::Owners(change),
        &api_index,
        token.expose(),
        &job,
        |_| {},
    )?;
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

/// The change asked for (exactly one of `--add`, `--remove` or `--list`; logins may be
/// comma-separated and the options repeated) and the one crate it is for.
fn change_and_crate(args: &[String]) -> Result<(OwnerChange, String), String> {
    let (mut add, mut remove, mut list, mut positional) =
        (Vec::new(), Vec::new(), false, Vec::new());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .unwrap_or_default()
        };
        match flag {
            "-a" | "--add" => add.extend(value().split(',').map(|l| l.trim().to_string())),
            "-r" | "--remove" => remove.extend(value().split(',').map(|l| l.trim().to_string())),
            "-l" | "--list" => list = true,
            "--registry" | "--index" => {
                value();
            }
            f if f.starts_with('-') => {
                return Err(format!(
                    "cargo confirm-gui owner: unknown option {}\n\n{}",
                    crate::text::escape(f).text,
                    super::args::help_of("owner")
                ));
            }
            _ => positional.push(a.clone()),
        }
    }
    let change = match (add.is_empty(), remove.is_empty(), list) {
        (false, true, false) => OwnerChange::Add(add),
        (true, false, false) => OwnerChange::Remove(remove),
        (true, true, true) => OwnerChange::List,
        _ => {
            return Err(format!(
                "cargo confirm-gui owner takes one of --add, --remove or --list\n\n{}",
                super::args::help_of("owner")
            ));
        }
    };
    let [name] = positional.as_slice() else {
        return Err(format!(
            "cargo confirm-gui owner needs the crate's name\n\n{}",
            super::args::help_of("owner")
        ));
    };
    Ok((change, name.clone()))
}
