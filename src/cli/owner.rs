//! `cargo confirm-gui owner (--add L | --remove L | --list) CRATE`: one window, then the
//! helper sends it itself.

use crate::pipeline::{self, Deps};
use crate::protocol::{Answer, Request};
use crate::request::Operation;
use crate::ui::Cancel;

use super::SUBCOMMAND_HELP;
use super::through_helper::subcommand_registry;

/// `cargo confirm-gui owner (--add L | --remove L | --list) CRATE`: one window, then the
/// helper sends it itself.
#[allow(
    clippy::print_stdout,
    reason = "the owners listed are the command's output"
)]
pub(super) fn owner(args: &[String], deps: &Deps<'_>) -> Result<(), String> {
    use crate::publish::upload::OwnerChange;
    use crate::publish::{self, Action, Outcome};
    if args.iter().any(|a| a == "-h" || a == "--help") {
        eprintln!("{SUBCOMMAND_HELP}");
        return Ok(());
    }
    let (index_url, registry_name, api_index) = subcommand_registry(args, &deps.env, None)?;
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
                    "cargo confirm-gui owner: unknown option {}\n\n{SUBCOMMAND_HELP}",
                    crate::text::escape(f).text
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
                "cargo confirm-gui owner takes one of --add, --remove or --list\n\n{SUBCOMMAND_HELP}"
            ));
        }
    };
    let [name] = positional.as_slice() else {
        return Err(format!(
            "cargo confirm-gui owner needs the crate's name\n\n{SUBCOMMAND_HELP}"
        ));
    };
    crate::package::validate_name(name, "0.0.0")?;
    let uploader = publish::Uploader::start()?;
    let req = Request {
        index_url,
        registry_name,
        operation: Operation::HelperOwners {
            name: name.clone(),
            change: change.clone(),
        },
        login_token: None,
        login_url: None,
        args: Vec::new(),
    };
    let token = match pipeline::handle(&req, deps, &Cancel::default()).map_err(|e| e.to_string())? {
        Answer::Token { token, .. } => token,
        _ => return Err("cargo-confirm-gui: the owner change was not approved".into()),
    };
    let job = [(name.clone(), String::new(), String::new(), Vec::new())];
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
