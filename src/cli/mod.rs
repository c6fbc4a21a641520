//! The commands of the `cargo-confirm-gui` binary. `src/main.rs` parses the command line,
//! builds the pipeline's [`Deps`], dispatches here, and maps the result to an exit code.
//!
//! - `stores`: which token store a run uses, decided once from how the binary is installed.
//! - [`child`]: the window process and the uploader process the helper starts of itself.
//! - [`direct`]: `cargo-confirm-gui --enroll`, `--migrate` and `get`.
//! - [`cargo_subcommand`]: `cargo confirm-gui publish | yank | owner | setup | doctor | log`.
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

pub mod child;
pub mod direct;
mod doctor;
mod owner;
mod publish;
mod setup;
mod stores;
mod through_helper;
mod yank;

pub use stores::Stores;

/// The help of `cargo confirm-gui`, printed for `help` and after a wrong command or option.
const SUBCOMMAND_HELP: &str = "usage: cargo confirm-gui publish [the options of cargo publish]
       cargo confirm-gui yank --version VERSION [--undo] [--registry NAME | --index URL] CRATE
       cargo confirm-gui owner (--add LOGIN | --remove LOGIN | --list) [--registry NAME] CRATE
       cargo confirm-gui setup     add the provider to cargo's config, move clear-text tokens in
       cargo confirm-gui doctor    check that you are protected; exits 1 when something needs fixing
       cargo confirm-gui log [--since 7d|24h|30m|DATE] [--json]: the decisions, and the log's chain verified

Packages with cargo, reads each .crate into this helper's memory once, shows the whole plan
in one window, and after a person's Approve uploads exactly those bytes itself: the token
never leaves this helper. --token and --dry-run are not taken. yank (and yank --undo) and
owner are sent the same way, after a window.";

/// `cargo confirm-gui SUBCOMMAND …`: `args` are what follows `confirm-gui`.
pub fn cargo_subcommand(args: &[String], deps: &Deps<'_>, stores: &Stores) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("publish") => publish::publish(&args[1..], deps),
        Some("yank") => yank::yank(&args[1..], deps),
        Some("owner") => owner::owner(&args[1..], deps),
        Some("setup") => setup::setup(deps, stores),
        Some("doctor") => doctor::doctor(deps, stores),
        Some("log") => {
            match crate::audit::log_command(&args[1..], &deps.state, &mut std::io::stdout().lock())?
            {
                true => Ok(()),
                false => Err("the audit log's chain is broken (see above)".into()),
            }
        }
        Some("-h" | "--help" | "help") | None => {
            eprintln!("{SUBCOMMAND_HELP}");
            Ok(())
        }
        Some(other) => Err(format!(
            "cargo confirm-gui: unknown command `{}`\n\n{SUBCOMMAND_HELP}",
            crate::text::escape(other).text
        )),
    }
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
