//! `cargo-confirm-gui`: parse, dispatch, map the result to an exit code.

use std::io::{BufReader, IsTerminal, Write};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use cargo_confirm_gui::env::Snapshot;
use cargo_confirm_gui::gate::{Operation, Refusal};
use cargo_confirm_gui::pipeline::{self, Deps};
use cargo_confirm_gui::policy::{DisplayPolicy, Policy};
use cargo_confirm_gui::protocol::{Answer, Request};
use cargo_confirm_gui::store::{self, CRATES_IO_INDEX, RegistryKey, TokenStore};
use cargo_confirm_gui::ui::Cancel;
use cargo_confirm_gui::ui::process::WindowProcess;
use cargo_confirm_gui::{demo, display, evidence, harden, registries};

#[cfg(target_os = "linux")]
const DEFAULT_STORE_HELP: &str = "Token store: the Secret Service (your login keyring, over D-Bus), which any \
program running as you can also read. For a store only this helper can read, install it sealed: \
sudo scripts/install-sealed.sh (README, \"Sealed install\").";
#[cfg(target_os = "macos")]
const DEFAULT_STORE_HELP: &str = "Token store: the macOS login keychain.";
#[cfg(windows)]
const DEFAULT_STORE_HELP: &str = "Token store: the Windows Credential Manager.";
#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
const DEFAULT_STORE_HELP: &str = "This platform has no token store yet.";

const USAGE_HELP: &str = "In ~/.cargo/config.toml:\n  [registry]\n  global-credential-providers = [\"cargo-confirm-gui\"]";

/// Which store this run uses: decided once, before anything else, from how the binary is
/// installed.
enum Stores {
    /// The platform's keychain.
    Default,
    /// The sealed store of a sealed install (Linux).
    #[cfg(target_os = "linux")]
    Sealed {
        install: cargo_confirm_gui::sealed::Install,
        privilege: Option<cargo_confirm_gui::sealed::Privilege>,
    },
}

impl Stores {
    /// Drops a setgid group at once, then looks at the install. An unsafe sealed install is
    /// an error, returned after argument parsing so `--help` still works.
    fn start() -> (Stores, Option<String>) {
        #[cfg(target_os = "linux")]
        {
            use cargo_confirm_gui::sealed::{self, Mode, Privilege};
            let privilege = match Privilege::drop_at_start() {
                Ok(p) => p,
                Err(e) => return (Stores::Default, Some(format!("cargo-confirm-gui: {e}"))),
            };
            match sealed::detect(privilege) {
                Ok(Mode::Plain) if privilege.is_some() => (
                    Stores::Default,
                    Some("cargo-confirm-gui runs setgid but has no sealed.toml beside it; refusing. Reinstall with: sudo scripts/install-sealed.sh".into()),
                ),
                Ok(Mode::Plain) => (Stores::Default, None),
                Ok(Mode::Sealed(install)) => (Stores::Sealed { install, privilege }, None),
                Err(e) => (Stores::Default, Some(e)),
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            (Stores::Default, None)
        }
    }

    fn help(&self) -> String {
        match self {
            Stores::Default => DEFAULT_STORE_HELP.to_string(),
            #[cfg(target_os = "linux")]
            Stores::Sealed { install, .. } => format!(
                "Token store: the sealed store {} (installed sealed: {}, group {}); only this \
                 helper can read it. `--migrate` moves a token from the Secret Service into it.",
                install.store.display(),
                install.exe.display(),
                install.group
            ),
        }
    }

    /// Where the lock, the cooldown and the audit log live: the user's directories, or
    /// beside the sealed tokens.
    fn state(&self, env: &Snapshot) -> cargo_confirm_gui::state::State {
        match self {
            Stores::Default => cargo_confirm_gui::state::State::user(
                env.runtime_dir.as_deref(),
                env.state_dir.as_deref(),
            ),
            #[cfg(target_os = "linux")]
            Stores::Sealed { install, privilege } => cargo_confirm_gui::state::State::sealed(
                &install
                    .store
                    .join(rustix::process::getuid().as_raw().to_string()),
                *privilege,
            ),
        }
    }

    fn open(&self) -> Result<Box<dyn TokenStore>, store::StoreError> {
        match self {
            Stores::Default => store::default_store(),
            #[cfg(target_os = "linux")]
            Stores::Sealed { install, privilege } => Ok(Box::new(store::sealed::SealedStore::new(
                install.store.clone(),
                *privilege,
            ))),
        }
    }
}

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
    /// Publish a throwaway crate to a registry on 127.0.0.1, through the real window.
    Demo,
}

/// The window process (`ui::process`): no privilege at all, an allowlisted environment, one
/// window, one answer on stdout.
fn window_process() -> ExitCode {
    #[cfg(target_os = "linux")]
    if let Err(e) = cargo_confirm_gui::sealed::check_parent()
        .and_then(|()| cargo_confirm_gui::sealed::drop_all())
    {
        eprintln!("cargo-confirm-gui: {e}");
        return ExitCode::FAILURE;
    }
    match cargo_confirm_gui::ui::process::serve(Snapshot::capture()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cargo-confirm-gui: the window process failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    for note in harden::harden_process() {
        eprintln!("cargo-confirm-gui: warning: {note}");
    }
    if std::env::args_os().nth(1).as_deref()
        == Some(std::ffi::OsStr::new(
            cargo_confirm_gui::ui::process::WINDOW_ARG,
        ))
    {
        return window_process();
    }
    // Before any thread exists: a setgid group is dropped here.
    let (stores, refusal) = Stores::start();
    let matches = Cli::command()
        .after_help(format!(
            "{}\n\n{USAGE_HELP}\n\nProvider options (after the program name in that list; they \
             may only tighten {}): {}",
            stores.help(),
            cargo_confirm_gui::policy::PATH,
            cargo_confirm_gui::gate::option_list()
        ))
        .get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    if let Some(why) = refusal {
        eprintln!("{why}");
        return ExitCode::FAILURE;
    }
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
    let deps = Deps {
        env: env.clone(),
        open_store: &open_store,
        prompter: &gui,
        probe_display: &probe,
        policy_error,
        allowed: policy.requests,
        requester: &evidence::requester,
        recheck_requester: &evidence::recheck,
        state: stores.state(&env),
    };
    let result = if cli.cargo_plugin {
        pipeline::serve(
            BufReader::new(std::io::stdin()),
            &mut std::io::stdout().lock(),
            &deps,
        )
        .map_err(|e| e.to_string())
    } else if cli.enroll {
        enroll(&cli, &deps)
    } else if cli.migrate {
        migrate(&cli, &deps, &stores)
    } else {
        match cli.command {
            Some(Cmd::Get) => get(&cli, &deps),
            Some(Cmd::Demo) => run_demo(&env, &stores),
            None => Err("nothing to do: cargo runs this program itself; see --help".to_string()),
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Reachable, and the person's: an unreachable display is a headless machine (the gate's
/// CI guidance applies); a server that is not the person's is refused outright.
fn probe_display(env: &Snapshot, policy: &DisplayPolicy) -> Result<(), Refusal> {
    display::probe(env, policy)
        .map(|_| ())
        .map_err(|e| match e {
            display::ProbeError::Unreachable(e) => Refusal::Unreachable(e),
            display::ProbeError::Untrusted(e) => Refusal::UntrustedDisplay(e),
        })
}

fn target(cli: &Cli, env: &Snapshot) -> Result<(String, Option<String>), String> {
    if let Some(url) = &cli.index_url {
        return Ok((url.clone(), None));
    }
    if let Some(name) = &cli.registry {
        let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
        let url = registries::index_url_for(
            name,
            &cwd,
            env.cargo_home.as_deref(),
            env.registry_index_var(name),
        )?;
        return Ok((url, Some(name.clone())));
    }
    if let Some(url) = &env.registry_index_url {
        return Ok((url.clone(), env.registry_name.clone()));
    }
    Ok((CRATES_IO_INDEX.to_string(), Some("crates-io".into())))
}

fn request(cli: &Cli, env: &Snapshot, operation: Operation) -> Result<Request, String> {
    let (index_url, registry_name) = target(cli, env)?;
    Ok(Request {
        index_url,
        registry_name,
        operation,
        login_token: None,
        login_url: None,
        args: Vec::new(),
    })
}

fn migrate(cli: &Cli, deps: &Deps<'_>, stores: &Stores) -> Result<(), String> {
    #[cfg(target_os = "linux")]
    if let Stores::Sealed { .. } = stores {
        let from = store::default_store().map_err(|e| e.to_string())?;
        let req = request(cli, &deps.env, Operation::Migrate)?;
        pipeline::migrate(&req, deps, from.as_ref(), &Cancel::default())
            .map_err(|e| e.to_string())?;
        eprintln!(
            "Moved the token for {} into the sealed store and removed it from the Secret Service.",
            req.registry_label()
        );
        return Ok(());
    }
    let _ = (cli, deps, stores);
    Err(
        "--migrate moves a token into the sealed store, and this helper is not installed \
         sealed (see README, \"Sealed install\")"
            .into(),
    )
}

fn enroll(cli: &Cli, deps: &Deps<'_>) -> Result<(), String> {
    let req = request(cli, &deps.env, Operation::Login { token_given: false })?;
    pipeline::handle(&req, deps, &Cancel::default()).map_err(|e| e.to_string())?;
    eprintln!(
        "Stored the token for {} ({}).",
        req.registry_label(),
        RegistryKey::from_index_url(&req.index_url)
    );
    Ok(())
}

#[allow(
    clippy::print_stdout,
    reason = "printing the token to a pipe is what `get` is for"
)]
fn get(cli: &Cli, deps: &Deps<'_>) -> Result<(), String> {
    if std::io::stdout().is_terminal() {
        return Err("cargo-confirm-gui get prints the token only to a pipe, never to a terminal. \
                    Use it as `credential-provider = [\"cargo:token-from-stdout\", \"cargo-confirm-gui\", \"get\"]`."
            .into());
    }
    // Regression, "Nothing the caller supplies" (6): a worm switched cargo's config to
    // `cargo:token-from-stdout` + `get`, so the one window came at cargo's pre-flight read,
    // named nothing, and cargo kept the token for every operation of its run.
    let parent_is_cargo = evidence::parent_exe().ends_with("/cargo");
    if deps.env.registry_index_url.is_some() || parent_is_cargo {
        return Err(
            "cargo-confirm-gui get refuses to run under cargo: with `cargo:token-from-stdout` \
             cargo asks before it has packaged anything, names no crate or operation, and keeps \
             the token for its whole run and every operation, so one Approve would authorise \
             whatever it does next. Use the plugin form instead: `credential-provider = \
             [\"cargo-confirm-gui\"]` (README, \"Use it\"). Nothing was released."
                .into(),
        );
    }
    let req = request(cli, &deps.env, Operation::GetUnnamed)?;
    match pipeline::handle(&req, deps, &Cancel::default()).map_err(|e| e.to_string())? {
        Answer::Token { token, .. } => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", token.expose())
                .and_then(|_| out.flush())
                .map_err(|e| e.to_string())
        }
        _ => Err("unexpected answer".into()),
    }
}

fn run_demo(env: &Snapshot, stores: &Stores) -> Result<(), String> {
    use cargo_confirm_gui::gate::{self, Options, Verdict};
    let probe = Operation::Publish {
        name: "demo".into(),
        vers: "0.1.0".into(),
        cksum: String::new(),
    };
    if let Verdict::Refuse(r) = gate::decide(&probe, env, &Options::default()) {
        return Err(format!("demo: {}", r.message()));
    }
    let policy = cargo_confirm_gui::policy::Policy::load().map_err(|e| format!("demo: {e}"))?;
    display::probe(env, &policy.display).map_err(|e| format!("demo: {e:?}"))?;
    let store = stores.open().map_err(|e| format!("demo: {e}"))?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let work = std::env::temp_dir().join(format!("cargo-confirm-gui-demo-{}", std::process::id()));
    let cargo = demo::cargo_binary(env.cargo.clone());
    let report = demo::run(&exe, &cargo, &work, store.as_ref());
    let _ = std::fs::remove_dir_all(&work);
    let report = report.map_err(|e| format!("demo: {e}"))?;
    if report.upload_had_token {
        eprintln!(
            "demo: {} was published; the registry received exactly the token you approved.",
            report.crate_id
        );
        Ok(())
    } else if report.api_requests == 0 {
        Err(format!(
            "demo: not published; the registry received no token (cargo ok: {}).",
            report.cargo_ok
        ))
    } else {
        Err(format!(
            "demo: the registry received {} API request(s) but no valid upload.",
            report.api_requests
        ))
    }
}
