//! `cargo confirm-gui yank --version V [--undo] CRATE`: one window, then the helper sends
//! it itself.

use crate::pipeline::{self, Deps};
use crate::protocol::{Answer, Request};
use crate::request::Operation;
use crate::ui::Cancel;

use super::SUBCOMMAND_HELP;
use super::through_helper::subcommand_registry;

/// `cargo confirm-gui yank --version V [--undo] CRATE`: one window, then the helper sends
/// it itself.
pub(super) fn yank(args: &[String], deps: &Deps<'_>) -> Result<(), String> {
    use crate::publish::{self, Action, Outcome};
    if args.iter().any(|a| a == "-h" || a == "--help") {
        eprintln!("{SUBCOMMAND_HELP}");
        return Ok(());
    }
    let (index_url, registry_name, api_index) = subcommand_registry(args, &deps.env, None)?;
    let undo = args.iter().any(|a| a == "--undo");
    let mut positional = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--version" | "--vers" | "--registry" | "--index" => {
                it.next();
            }
            "--undo" => {}
            a if a.starts_with('-') => {
                if !a.contains('=') {
                    return Err(format!(
                        "cargo confirm-gui yank: unknown option {}\n\n{SUBCOMMAND_HELP}",
                        crate::text::escape(a).text
                    ));
                }
            }
            a => positional.push(a.to_string()),
        }
    }
    let (name, vers) = match (
        positional.as_slice(),
        publish::arg_value(args, "--version").or_else(|| publish::arg_value(args, "--vers")),
    ) {
        ([krate], Some(v)) if !krate.contains('@') => (krate.clone(), v),
        ([krate], None) if krate.contains('@') => {
            let (n, v) = krate.split_once('@').unwrap_or_default();
            (n.to_string(), v.to_string())
        }
        _ => {
            return Err(format!(
                "cargo confirm-gui yank needs a crate and a version\n\n{SUBCOMMAND_HELP}"
            ));
        }
    };
    crate::package::validate_name(&name, &vers)?;
    let uploader = publish::Uploader::start()?;
    let req = Request {
        index_url,
        registry_name,
        operation: Operation::HelperYank {
            name: name.clone(),
            vers: vers.clone(),
            undo,
        },
        login_token: None,
        login_url: None,
        args: Vec::new(),
    };
    let token = match pipeline::handle(&req, deps, &Cancel::default()).map_err(|e| e.to_string())? {
        Answer::Token { token, .. } => token,
        _ => return Err("cargo-confirm-gui: the yank was not approved".into()),
    };
    let action = if undo { Action::Unyank } else { Action::Yank };
    let job = [(name, vers, String::new(), Vec::new())];
    let outcomes = uploader.run(action, &api_index, token.expose(), &job, |_| {})?;
    drop(token);
    match outcomes.as_slice() {
        [Outcome::Yanked { name, vers, undo }] => {
            eprintln!(
                "{} {name} {vers} on {}",
                if *undo { "Unyanked" } else { "Yanked" },
                req.registry_label()
            );
            Ok(())
        }
        [Outcome::Failed { why, .. }] => Err(format!("cargo-confirm-gui: {why}")),
        _ => Err(
            "cargo-confirm-gui: the uploader said nothing; the yank may not have been sent".into(),
        ),
    }
}
