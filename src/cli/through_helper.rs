//! What `publish`, `yank` and `owner` share: each is sent by this helper itself, after one
//! window, to the registry the arguments name.

use crate::env::Snapshot;
use crate::pipeline::{self, Deps};
use crate::protocol::{Answer, Request};
use crate::publish;
use crate::registries;
use crate::token::Token;
use crate::ui::Cancel;

/// Prints the subcommands' help when `args` ask for it (`-h` or `--help` anywhere), and
/// says whether they did.
pub(super) fn printed_help(args: &[String]) -> bool {
    let asked = args.iter().any(|a| a == "-h" || a == "--help");
    if asked {
        eprintln!("{}", super::args::help_of("publish"));
    }
    asked
}

/// Where a subcommand goes: `--index URL`, `--registry NAME`, or as cargo decides
/// ([`registries::Registry::resolve`]). Returns the index URL (the store's key), the
/// registry's name, and the index the helper's client reads.
pub(super) fn subcommand_registry(
    args: &[String],
    env: &Snapshot,
    only: Option<String>,
) -> Result<(String, Option<String>, String), String> {
    let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
    let r = registries::Registry::resolve(
        publish::arg_value(args, "--index"),
        publish::arg_value(args, "--registry"),
        only,
        env,
        &cwd,
    )
    .map_err(|e| e.to_string())?;
    let api = r.api_index();
    Ok((r.index_url, r.name, api))
}

/// Shows `req` in the window and returns the token once a person approved it; `what` names
/// the request in the error otherwise ("the yank was not approved").
pub(super) fn approved_token(req: &Request, deps: &Deps<'_>, what: &str) -> Result<Token, String> {
    match pipeline::handle(req, deps, &Cancel::default()).map_err(|e| e.report())? {
        Answer::Token { token, .. } => Ok(token),
        _ => Err(format!("cargo-confirm-gui: the {what} was not approved")),
    }
}
