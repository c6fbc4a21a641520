//! `cargo confirm-gui yank --version V [--undo] CRATE`: one window, then the helper sends
//! it itself. The arguments are clap's (`args::Cmd::Yank`).

use crate::pipeline::Deps;
use crate::publish::{self, Action, Outcome};
use crate::request::{HelperRequest, Operation};

use super::through_helper::approved_token;

/// `yank`'s arguments, as clap read them.
pub(super) struct Yank<'a> {
    /// The crate, or `CRATE@VERSION`.
    pub krate: &'a str,
    /// `--version` (or `--vers`).
    pub version: Option<&'a str>,
    /// `--undo`.
    pub undo: bool,
    /// Where it goes (`--index`, `--registry`, or as cargo decides).
    pub registry: crate::registries::Registry,
}

/// Asks in the window, sends the yank (or its undo) and reports it.
pub(super) fn yank(a: Yank<'_>, deps: &Deps<'_>) -> Result<(), String> {
    let api_index = a.registry.api_index();
    let (index_url, registry_name) = (a.registry.index_url, a.registry.name);
    let undo = a.undo;
    let (name, vers) = crate_and_version(a.krate, a.version)?;
    crate::package::validate_name(&name, &vers).map_err(|e| e.to_string())?;
    let uploader = publish::Uploader::start().map_err(|e| e.to_string())?;
    let req = super::request(
        index_url,
        registry_name,
        Operation::Helper(HelperRequest::Yank {
            name: name.clone(),
            vers: vers.clone(),
            undo,
        }),
    );
    let token = approved_token(&req, deps, "yank")?;
    let action = if undo { Action::Unyank } else { Action::Yank };
    let job = [crate::publish::Job {
        name,
        vers,
        ..Default::default()
    }];
    let outcomes = uploader
        .run(action, &api_index, token.expose(), &job, |_| {})
        .map_err(|e| e.to_string())?;
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

/// The crate and version to yank: `CRATE --version V`, or `CRATE@V`.
fn crate_and_version(krate: &str, version: Option<&str>) -> Result<(String, String), String> {
    match (krate.split_once('@'), version) {
        (None, Some(v)) => Ok((krate.to_string(), v.to_string())),
        (Some((n, v)), None) => Ok((n.to_string(), v.to_string())),
        _ => Err(format!(
            "cargo confirm-gui yank needs a crate and a version, once: CRATE --version V, or \
             CRATE@V\n\n{}",
            super::args::help_of("yank")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::crate_and_version;

    #[test]
    fn the_version_comes_once_from_the_option_or_the_at() {
        assert_eq!(
            crate_and_version("foo", Some("1.0.0")).unwrap(),
            ("foo".into(), "1.0.0".into())
        );
        assert_eq!(
            crate_and_version("foo@1.0.0", None).unwrap(),
            ("foo".into(), "1.0.0".into())
        );
        assert!(crate_and_version("foo", None).is_err());
        assert!(crate_and_version("foo@1.0.0", Some("1.0.1")).is_err());
    }
}
