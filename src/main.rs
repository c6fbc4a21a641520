//! `cargo-confirm-gui`: parse, dispatch, map the result to an exit code. The commands
//! themselves are in the library, [`cargo_confirm_gui::cli`].

use std::ffi::OsStr;
use std::io::BufReader;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use cargo_confirm_gui::cli::direct::{self, RegistryOptions};
use cargo_confirm_gui::cli::{Stores, cargo_subcommand, child, probe_display};
use cargo_confirm_gui::env::Snapshot;
use cargo_confirm_gui::pipeline::{self, Deps};
use cargo_confirm_gui::policy::Policy;
use cargo_confirm_gui::store::TokenStore;
use cargo_confirm_gui::ui::process::WindowProcess;
use cargo_confirm_gui::{display, evidence, harden};

const USAGE_HELP: &str = "In ~/.cargo/config.toml:\n  [registry]\n  global-credential-providers = [\"cargo-confirm-gui\"]";

/// A cargo credential provider that releases a registry token only after a person clicks
/// Approve in a window showing what is being published.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// Open the window to paste and store a token.
    #[arg(long)]
    enroll: bool,
    /// Sealed install only: move a token from the Secret Service into the sealed store,
    /// after a person confirms it in a window.
    #[arg(long, conflicts_with = "enroll")]
    migrate: bool,
    /// Registry name from cargo's config (default: crates-io).
    #[arg(long, global = true, conflicts_with = "index_url")]
    registry: Option<String>,
    /// Registry index URL.
    #[arg(long, global = true)]
    index_url: Option<String>,
    /// Set by cargo when it runs a credential provider.
    #[arg(long, hide = true)]
    cargo_plugin: bool,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print the token to a pipe after approval, for `cargo:token-from-stdout`.
    Get,
}

fn main() -> ExitCode {
    // What the caller chose (limits, signals, descriptors, umask) is reset or refused before
    // anything else, in every process of the helper.
    if let Err(why) = harden::reset_inherited() {
        eprintln!("{why}");
        return ExitCode::FAILURE;
    }
    for note in harden::harden_process() {
        eprintln!("cargo-confirm-gui: warning: {note}");
    }
    // The helper's own child processes, started with a marker as their first argument.
    let first = std::env::args_os().nth(1);
    if first.as_deref() == Some(OsStr::new(cargo_confirm_gui::ui::process::WINDOW_ARG)) {
        return child::window_process();
    }
    if first.as_deref() == Some(OsStr::new(cargo_confirm_gui::publish::UPLOAD_ARG)) {
        return child::upload_process();
    }
    if first.as_deref() == Some(OsStr::new(cargo_confirm_gui::presence::PRESENCE_ARG)) {
        return child::presence_process();
    }
    // Before any thread exists: a setgid group is dropped here.
    let (stores, refusal) = Stores::start();
    let (cli, subcommand) = parse(&stores);
    if let Some(why) = refusal {
        eprintln!("{why}");
        return ExitCode::FAILURE;
    }
    run(&cli, subcommand.as_deref(), &stores)
}

/// The command line, and the arguments after `confirm-gui` when this is `cargo confirm-gui
/// …`: cargo runs this binary with `confirm-gui` first, and the rest are cargo's own
/// options, which clap here must not interpret. Exits as clap does on `--help`, `--version`
/// or a wrong option.
fn parse(stores: &Stores) -> (Cli, Option<Vec<String>>) {
    let subcommand: Option<Vec<String>> = {
        let mut args = std::env::args().skip(1);
        (args.next().as_deref() == Some("confirm-gui")).then(|| args.collect())
    };
    let matches = Cli::command()
        .after_help(format!(
            "{}\n\n{USAGE_HELP}\n\nProvider options (after the program name in that list; they \
             may only tighten {}): {}",
            stores.help(),
            cargo_confirm_gui::policy::PATH,
            cargo_confirm_gui::gate::option_list()
        ))
        .get_matches_from(match &subcommand {
            Some(_) => vec!["cargo-confirm-gui".to_string()],
            None => std::env::args().collect(),
        });
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    (cli, subcommand)
}

/// Wires what the pipeline depends on for this run (the environment, the policy, the window
/// process, the store, the requester's evidence), dispatches, and maps the result to an
/// exit code, the error printed, while all of it is still alive.
fn run(cli: &Cli, subcommand: Option<&[String]>, stores: &Stores) -> ExitCode {
    let env = Snapshot::capture();
    let (policy, policy_error) = match Policy::load() {
        Ok(p) => (p, None),
        Err(e) => (Policy::default(), Some(e)),
    };
    // Windows are shown by a window process of their own (ui::process).
    let gui = WindowProcess::new(match display::choose(&env) {
        Ok(display::Kind::Wayland(socket)) => Some(socket),
        _ => None,
    });
    let open_store = || stores.open().map(|s| s as Box<dyn TokenStore + '_>);
    let probe = |e: &Snapshot| probe_display(e, &policy.display);
    let presence = stores.presence(&env);
    let deps = Deps {
        env: env.clone(),
        open_store: &open_store,
        prompter: &gui,
        presence: presence.as_ref(),
        probe_display: &probe,
        policy_error,
        allowed: policy.requests,
        publish_rules: policy.publish,
        requester: &evidence::requester,
        recheck_requester: &evidence::recheck,
        state: stores.state(&env),
    };
    match dispatch(cli, subcommand, &deps, stores) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo confirm-gui …`, the provider protocol on stdin and stdout (`--cargo-plugin`), or
/// one of this binary's own commands.
fn dispatch(
    cli: &Cli,
    subcommand: Option<&[String]>,
    deps: &Deps<'_>,
    stores: &Stores,
) -> Result<(), String> {
    let registry = RegistryOptions {
        index_url: cli.index_url.clone(),
        registry: cli.registry.clone(),
    };
    if let Some(args) = subcommand {
        cargo_subcommand(args, deps, stores)
    } else if cli.cargo_plugin {
        pipeline::serve(
            BufReader::new(std::io::stdin()),
            &mut std::io::stdout().lock(),
            deps,
        )
        .map_err(|e| e.report())
    } else if cli.enroll {
        direct::enroll(&registry, deps)
    } else if cli.migrate {
        direct::migrate(&registry, deps, stores)
    } else {
        match cli.command {
            Some(Cmd::Get) => direct::get(&registry, deps, stores),
            None => Err("nothing to do: cargo runs this program itself; see --help".to_string()),
        }
    }
}
