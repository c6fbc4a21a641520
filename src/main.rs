//! `cargo-confirm-gui`: parse, dispatch, map the result to an exit code. The commands
//! themselves are in the library, [`cargo_confirm_gui::cli`].

use std::ffi::OsStr;
use std::io::BufReader;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use cargo_confirm_gui::cli::args::{Cli, Cmd, USAGE_HELP};
use cargo_confirm_gui::cli::direct::{self, RegistryOptions};
use cargo_confirm_gui::cli::{Stores, child, command, probe_display};
use cargo_confirm_gui::env::Snapshot;
use cargo_confirm_gui::pipeline::{self, Deps};
use cargo_confirm_gui::policy::Policy;
use cargo_confirm_gui::store::TokenStore;
use cargo_confirm_gui::ui::process::WindowProcess;
use cargo_confirm_gui::{display, evidence, harden};

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
    let cli = parse(&stores);
    if let Some(Cmd::Generate { dir }) = &cli.command {
        return match cargo_confirm_gui::cli::args::generate(dir) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("cargo-confirm-gui: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(why) = refusal {
        eprintln!("{why}");
        return ExitCode::FAILURE;
    }
    if let Some(Cmd::CheckInstall) = &cli.command {
        eprintln!("the install checks out: {}", stores.help());
        return ExitCode::SUCCESS;
    }
    run(&cli, &stores)
}

/// The command line, in either form (`cargo-confirm-gui …`, `cargo confirm-gui …`): one
/// clap tree. Exits as clap does on `--help`, `--version` or a wrong option, before anything
/// runs.
fn parse(stores: &Stores) -> Cli {
    let version = format!(
        "{}\n{}\nPresence after Approve: {}",
        env!("CARGO_PKG_VERSION"),
        stores.help(),
        stores.presence_help()
    );
    let matches = Cli::command()
        .long_version(version)
        .after_help(format!(
            "{}\n\n{USAGE_HELP}\n\nProvider options (after the program name in that list; they \
             may only tighten {}): {}",
            stores.help(),
            cargo_confirm_gui::policy::PATH,
            cargo_confirm_gui::gate::option_list()
        ))
        .get_matches_from(cargo_confirm_gui::cli::args::normalise(
            std::env::args().collect(),
        ));
    match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    }
}

/// Wires what the pipeline depends on for this run (the environment, the policy, the window
/// process, the store, the requester's evidence), dispatches, and maps the result to an
/// exit code, the error printed, while all of it is still alive.
fn run(cli: &Cli, stores: &Stores) -> ExitCode {
    let env = Snapshot::capture();
    let (policy, policy_error) = match Policy::load() {
        Ok(p) => (p, None),
        Err(e) => (Policy::default(), Some(e.to_string())),
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
    match dispatch(cli, &deps, stores) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// The provider protocol on stdin and stdout (`--cargo-plugin`), `--enroll`, `--migrate`, or
/// one of the commands.
fn dispatch(cli: &Cli, deps: &Deps<'_>, stores: &Stores) -> Result<(), String> {
    let registry = RegistryOptions {
        index_url: cli.index_url.clone(),
        registry: cli.registry.clone(),
    };
    if cli.cargo_plugin {
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
        match &cli.command {
            Some(Cmd::Get) => direct::get(&registry, deps, stores),
            Some(cmd) => command(cmd, &cli.registry, deps, stores),
            None => Err(
                "nothing to do: cargo runs this program itself (see --help for how to set it \
                 up, and for the commands)"
                    .to_string(),
            ),
        }
    }
}
