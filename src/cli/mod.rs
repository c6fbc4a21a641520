//! The commands of the `cargo-confirm-gui` binary. `src/main.rs` parses the command line,
//! builds the pipeline's [`Deps`], dispatches here, and maps the result to an exit code.
//!
//! - `stores`: which token store a run uses, decided once from how the binary is installed.
//! - [`child`]: the window process and the uploader process the helper starts of itself.
//! - [`direct`]: `cargo-confirm-gui --enroll`, `--migrate` and `get`.
//! - [`args`]: the one clap tree of both forms, `cargo-confirm-gui …` and `cargo confirm-gui …`.
//! - [`command`]: `publish | yank | owner | setup | uninstall | doctor | status | log`.
//!
//! Every command returns `Err` with the whole message to print; none of them exits.

use std::path::PathBuf;

use crate::display;
use crate::env::Snapshot;
use crate::gate::Refusal;
use crate::pipeline::Deps;
use crate::policy::DisplayPolicy;
use crate::protocol::Request;
use crate::request::Operation;

pub mod args;
pub mod child;
pub mod direct;
mod doctor;
mod owner;
mod publish;
mod setup;
mod status;
mod stores;
mod through_helper;
mod yank;

pub use stores::Stores;

/// One of the commands (not `get`, which `main` runs with the provider's options).
pub fn command(
    cmd: &args::Cmd,
    registry: &Option<String>,
    deps: &Deps<'_>,
    stores: &Stores,
) -> Result<(), String> {
    use args::Cmd;
    let raw = cmd.raw(registry);
    match cmd {
        Cmd::Publish { .. } => publish::publish(&raw, deps),
        Cmd::Yank {
            version,
            undo,
            index,
            krate,
        } => yank::yank(
            yank::Yank {
                krate,
                version: version.as_deref(),
                undo: *undo,
                registry: resolve(index, registry, &deps.env)?,
            },
            deps,
        ),
        Cmd::Owner {
            add,
            remove,
            list,
            index,
            krate,
        } => owner::owner(
            owner::Owner {
                add,
                remove,
                list: *list,
                krate,
                registry: resolve(index, registry, &deps.env)?,
            },
            deps,
        ),
        Cmd::Setup { undo: false } => setup::setup(deps, stores),
        Cmd::Setup { undo: true } | Cmd::Uninstall => setup::undo(deps, stores),
        Cmd::Doctor => doctor::doctor(deps, stores),
        Cmd::Status { json } => status::status(deps, stores, *json),
        Cmd::Log { since, json } => {
            let out = &mut std::io::stdout().lock();
            match crate::audit::log_command(since.as_deref(), *json, &deps.state, out)
                .map_err(|e| e.to_string())?
            {
                true => Ok(()),
                false => Err("the audit log's chain is broken (see above)".into()),
            }
        }
        Cmd::Get | Cmd::Generate { .. } | Cmd::CheckInstall => Err("not a command here".into()),
    }
}

/// The registry a subcommand acts on: `--index`, `--registry`, or as cargo decides.
fn resolve(
    index: &Option<String>,
    registry: &Option<String>,
    env: &Snapshot,
) -> Result<crate::registries::Registry, String> {
    let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
    crate::registries::Registry::resolve(index.clone(), registry.clone(), None, env, &cwd)
        .map_err(|e| e.to_string())
}

/// Reachable, and the person's: an unreachable display is a headless machine (the gate's
/// CI guidance applies); a server that is not the person's is refused outright.
pub fn probe_display(env: &Snapshot, policy: &DisplayPolicy) -> Result<(), Refusal> {
    display::probe(env, policy)
        .map(|_| ())
        .map_err(|e| match e {
            display::ProbeError::Unreachable(e) => Refusal::Unreachable(e),
            display::ProbeError::Untrusted(e) => Refusal::UntrustedDisplay(e),
        })
}

/// The home directory, cargo's home and the working directory, for `setup` and `doctor`.
fn homes(env: &Snapshot) -> Result<(PathBuf, PathBuf, PathBuf), String> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .ok_or("HOME is not set")?;
    let cargo_home = env
        .cargo_home
        .clone()
        .unwrap_or_else(|| home.join(".cargo"));
    let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
    Ok((home, cargo_home, cwd))
}

/// A request this helper makes of itself (no login token, no provider arguments).
fn request(index_url: String, registry_name: Option<String>, operation: Operation) -> Request {
    Request {
        index_url,
        registry_name,
        operation,
        login_token: None,
        login_url: None,
        args: Vec::new(),
    }
}
