//! `cargo confirm-gui yank --version V [--undo] CRATE`: one window, then the helper sends
//! it itself.

use crate::pipeline::Deps;
use crate::publish::{self, Action, Outcome};
use crate::request::Operation;

use super::through_helper::{approved_token, subcommand_registry};

/// Parses the arguments, asks in the window, sends the yank (or its undo) and reports it.
pub(super) fn yank(args: &[String], deps: &Deps<'_>) -> Result<(), String> {
    let (index_url, registry_name, api_index) = subcommand_registry(args, &deps.env, None)?;
    let undo = args.iter().any(|a| a == "--undo");
    let (name, vers) = crate_and_version(args)?;
    crate::package::validate_name(&name, &vers)?;
    let uploader = publish::Uploader::start()?;
    let req = super::request(
        index_url,
        registry_name,
        Operation::HelperYank {
            name: name.clone(),
            vers: vers.clone(),
            undo,
        },
    );
    let token = approved_token(&req, deps, "yank")?;
    let action = if undo { Action::Unyank } else { Action::Yank };
    let job = [crate::publish::Job {
        name,
        vers,
        ..Default::default()
    }];
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

/// The crate and version to yank: `CRATE --version V` (or `--vers V`), or `CRATE@V`.
/// An unknown option is an error; `--opt=value` forms are skipped.
fn crate_and_version(args: &[String]) -> Result<(String, String), String> {
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
                        "cargo confirm-gui yank: unknown option {}\n\n{}",
                        crate::text::escape(a).text,
                        super::args::help_of("yank")
                    ));
                }
            }
            a => positional.push(a.to_string()),
        }
    }
    match (
        positional.as_slice(),
        publish::arg_value(args, "--version").or_else(|| publish::arg_value(args, "--vers")),
    ) {
        ([krate], Some(v)) if !krate.contains('@') => Ok((krate.clone(), v)),
        ([krate], None) if krate.contains('@') => {
            let (n, v) = krate.split_once('@').unwrap_or_default();
            Ok((n.to_string(), v.to_string()))
        }
        _ => Err(format!(
            "cargo confirm-gui yank needs a crate and a version\n\n{}",
            super::args::help_of("yank")
        )),
    }
}
