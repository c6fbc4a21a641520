//! What `publish`, `yank` and `owner` share: each is sent by this helper itself, after one
//! window, to the registry the arguments name.

use crate::env::Snapshot;
use crate::pipeline::{self, Deps};
use crate::protocol::{Answer, Request};
use crate::publish;
use crate::registries;
use crate::store::CRATES_IO_INDEX;
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

/// Where a subcommand goes: `--index URL`, `--registry NAME`, or crates.io, as cargo decides.
/// Returns the index URL (the store's key), the registry's name, and the index the helper's
/// client reads (crates.io's sparse one for crates.io).
pub(super) fn subcommand_registry(
    args: &[String],
    env: &Snapshot,
    default: Option<String>,
) -> Result<(String, Option<String>, String), String> {
    // As cargo: `--index`, `--registry`, the one registry `package.publish` allows, then
    // `registry.default` from cargo's config, then crates.io.
    let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
    let configured = || {
        let home = env.cargo_home.clone()?;
        crate::adopt::config_files(&cwd, &home)
            .into_iter()
            .filter_map(|f| std::fs::read_to_string(f).ok())
            .filter_map(|t| t.parse::<toml::Table>().ok())
            .find_map(|d| {
                d.get("registry")?
                    .get("default")?
                    .as_str()
                    .map(str::to_string)
            })
    };
    let named = publish::arg_value(args, "--registry")
        .or(default)
        .or_else(configured)
        .filter(|n| n != "crates-io");
    let (index_url, registry_name) = if let Some(url) = publish::arg_value(args, "--index") {
        (url, None)
    } else if let Some(name) = named {
        let url = registries::index_url_for(
            &name,
            &cwd,
            env.cargo_home.as_deref(),
            env.registry_index_var(&name),
        )?;
        (url, Some(name))
    } else {
        (CRATES_IO_INDEX.to_string(), Some("crates-io".to_string()))
    };
    let api_index = if index_url == CRATES_IO_INDEX {
        "sparse+https://index.crates.io/".to_string()
    } else {
        index_url.clone()
    };
    Ok((index_url, registry_name, api_index))
}

/// Shows `req` in the window and returns the token once a person approved it; `what` names
/// the request in the error otherwise ("the yank was not approved").
pub(super) fn approved_token(req: &Request, deps: &Deps<'_>, what: &str) -> Result<Token, String> {
    match pipeline::handle(req, deps, &Cancel::default()).map_err(|e| e.report())? {
        Answer::Token { token, .. } => Ok(token),
        _ => Err(format!("cargo-confirm-gui: the {what} was not approved")),
    }
}
