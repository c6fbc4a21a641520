//! `cargo-confirm-gui`: parse, dispatch, map the result to an exit code.

use std::io::{BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use cargo_confirm_gui::env::Snapshot;
use cargo_confirm_gui::gate::Refusal;
use cargo_confirm_gui::pipeline::{self, Deps};
use cargo_confirm_gui::policy::{DisplayPolicy, Policy};
use cargo_confirm_gui::protocol::{Answer, Request};
use cargo_confirm_gui::request::Operation;
use cargo_confirm_gui::store::{self, CRATES_IO_INDEX, RegistryKey, TokenStore};
use cargo_confirm_gui::ui::Cancel;
use cargo_confirm_gui::ui::process::WindowProcess;
use cargo_confirm_gui::{display, evidence, harden, registries};

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

/// The uploader process (`publish`): no privilege, no group, an empty environment; the only
/// part of the helper that may use the network, and only once a person approved.
fn upload_process() -> ExitCode {
    #[cfg(target_os = "linux")]
    if let Err(e) = cargo_confirm_gui::sealed::check_parent()
        .and_then(|()| cargo_confirm_gui::sealed::drop_all())
    {
        eprintln!("cargo-confirm-gui: {e}");
        return ExitCode::FAILURE;
    }
    match cargo_confirm_gui::publish::serve_upload() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cargo-confirm-gui: the uploader failed: {e}");
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
    if std::env::args_os().nth(1).as_deref()
        == Some(std::ffi::OsStr::new(cargo_confirm_gui::publish::UPLOAD_ARG))
    {
        return upload_process();
    }
    // Before any thread exists: a setgid group is dropped here.
    let (stores, refusal) = Stores::start();
    // `cargo confirm-gui …`: cargo runs this binary with `confirm-gui` first, and the rest
    // are cargo's own options, which clap here must not interpret.
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
    let result = if let Some(args) = &subcommand {
        cargo_subcommand(args, &deps, &stores)
    } else if cli.cargo_plugin {
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
            Some(Cmd::Get) => get(&cli, &deps, &stores),
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

/// `cargo confirm-gui SUBCOMMAND …`.
fn cargo_subcommand(args: &[String], deps: &Deps<'_>, stores: &Stores) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("publish") => publish(&args[1..], deps),
        Some("yank") => yank(&args[1..], deps),
        Some("owner") => owner(&args[1..], deps),
        Some("setup") => setup(deps, stores),
        Some("doctor") => doctor(deps, stores),
        Some("log") => match cargo_confirm_gui::audit::log_command(
            &args[1..],
            &deps.state,
            &mut std::io::stdout().lock(),
        )? {
            true => Ok(()),
            false => Err("the audit log's chain is broken (see above)".into()),
        },
        Some("-h" | "--help" | "help") | None => {
            eprintln!("{SUBCOMMAND_HELP}");
            Ok(())
        }
        Some(other) => Err(format!(
            "cargo confirm-gui: unknown command `{}`\n\n{SUBCOMMAND_HELP}",
            cargo_confirm_gui::text::escape(other).text
        )),
    }
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

/// The store key for a registry name, as cargo resolves it.
fn registry_key(name: &str, cwd: &Path, env: &Snapshot) -> Result<RegistryKey, String> {
    let url = registries::index_url_for(
        name,
        cwd,
        env.cargo_home.as_deref(),
        env.registry_index_var(name),
    )?;
    RegistryKey::parse(&url)
}

/// "INDEX (from WHERE)": the index URL a registry name resolves to, and what said so.
/// The index URL of registry `name` and, for the window, where it came from.
fn index_origin(name: &str, cwd: &Path, env: &Snapshot) -> (Option<String>, String) {
    if name == "crates-io" {
        return (
            Some(CRATES_IO_INDEX.to_string()),
            format!("{CRATES_IO_INDEX} (crates.io)"),
        );
    }
    if let Some(url) = env.registry_index_var(name) {
        return (
            Some(url.to_string()),
            format!("{url} (from the environment, which any program running as you can set)"),
        );
    }
    let files = env
        .cargo_home
        .as_deref()
        .map(|h| cargo_confirm_gui::adopt::config_files(cwd, h))
        .unwrap_or_default();
    for f in files {
        let Ok(doc) = std::fs::read_to_string(&f).map(|t| t.parse::<toml::Table>()) else {
            continue;
        };
        if let Some(url) = doc.ok().and_then(|d| {
            d.get("registries")?
                .get(name)?
                .get("index")?
                .as_str()
                .map(str::to_string)
        }) {
            let origin = format!(
                "{url} (from {}, which any program running as you can write)",
                f.display()
            );
            return (Some(url), origin);
        }
    }
    (None, "?".into())
}

/// `cargo confirm-gui setup`: the provider in cargo's config, every clear-text token moved
/// into the store after one window (its clear copies then removed), and what is left to do.
/// Running it again changes nothing.
fn setup(deps: &Deps<'_>, stores: &Stores) -> Result<(), String> {
    use cargo_confirm_gui::adopt;
    use cargo_confirm_gui::pipeline::Adoptee;
    use cargo_confirm_gui::request::AdoptItem;
    let (home, cargo_home, cwd) = homes(&deps.env)?;
    // The file cargo reads: an empty `config` beside `config.toml` hides the latter.
    let config = adopt::cargo_config_in(&cargo_home);
    if adopt::add_provider(&config)? {
        eprintln!(
            "Added {} to [registry] global-credential-providers in {}.",
            adopt::PROVIDER,
            config.display()
        );
    }
    let (found, notes) = adopt::scan(&home, &cargo_home, &cwd);
    for n in &notes {
        eprintln!("note: {n}");
    }
    // The store is needed only when there is something to move.
    let store = if found.is_empty() {
        None
    } else {
        Some(stores.open().map_err(|e| e.to_string())?)
    };
    // One store entry per registry; two different clear tokens for one registry are for the
    // person to sort out, not for this helper to pick from.
    let mut adoptees: Vec<Adoptee> = Vec::new();
    for f in &found {
        let key = registry_key(&f.registry, &cwd, &deps.env).map_err(|e| {
            format!(
                "a token for `{}` was found in {}, but {e}",
                f.registry, f.source
            )
        })?;
        match adoptees.iter().find(|a| a.key == key) {
            Some(a) if a.token.expose() == f.token.expose() => {}
            Some(a) => {
                return Err(format!(
                    "two different tokens for `{}`: in {} and in {}. Remove the one you do not \
                     use, then run setup again; nothing was changed",
                    f.registry, a.item.source, f.source
                ));
            }
            None => adoptees.push(Adoptee {
                item: AdoptItem {
                    registry: f.registry.clone(),
                    fingerprint: f.token.fingerprint(),
                    index: {
                        // Red team of "Adopt it in one step": the key and the words shown were
                        // read from the config files separately; a file swapped between the
                        // two reads showed one index and stored under another.
                        let (url, origin) = index_origin(&f.registry, &cwd, &deps.env);
                        if url.as_deref().map(RegistryKey::parse) != Some(Ok(key.clone())) {
                            return Err(format!(
                                "the index of `{}` changed while setup read cargo's config \
                                 ({origin}); nothing was changed: run setup again",
                                f.registry
                            ));
                        }
                        origin
                    },
                    source: f.source.to_string(),
                    already_stored: match &store {
                        Some(s) => s.contains(&key).map_err(|e| e.to_string())?,
                        None => false,
                    },
                },
                key,
                token: f.token.clone(),
            }),
        }
    }
    drop(store);
    if !adoptees.is_empty() {
        pipeline::adopt(&adoptees, deps, &Cancel::default()).map_err(|e| e.to_string())?;
        // Every clear copy that can go goes; those that cannot are all named at the end.
        let mut still_there = Vec::new();
        for f in &found {
            if let Err(e) = adopt::remove(&f.source, &f.token) {
                still_there.push(format!(
                    "stored, but the clear copy in {} is still there: {e}",
                    f.source
                ));
                continue;
            }
            let kept = adoptees
                .iter()
                .any(|a| a.item.source == f.source.to_string() && a.item.already_stored);
            if kept {
                eprintln!(
                    "Removed the clear token in {}; the token already stored for `{}` was kept \
                     (cargo-confirm-gui --enroll replaces it).",
                    f.source, f.registry
                );
            } else {
                eprintln!(
                    "Moved the token in {} into the store, and removed it there.",
                    f.source
                );
            }
        }
        if !still_there.is_empty() {
            return Err(still_there.join("\n"));
        }
    }
    if adoptees.is_empty() && notes.is_empty() {
        eprintln!("No clear-text registry token found.");
    }
    if std::env::vars().any(|(k, _)| adopt::registry_of_var(&k, &[]).is_some()) {
        eprintln!("This shell still has a registry token in its environment: open a new shell.");
    }
    eprintln!("What is left:");
    #[cfg(target_os = "linux")]
    if matches!(stores, Stores::Default) {
        eprintln!(
            "  - the sealed install, so that no program of yours can read the token at rest: \
             sudo scripts/install-sealed.sh, then cargo-confirm-gui --migrate (README, \
             \"Sealed install\")"
        );
    }
    eprintln!("  - publish with `cargo confirm-gui publish`, which keeps the token in this helper");
    eprintln!("  - `cargo confirm-gui doctor` checks all of this");
    Ok(())
}

/// `cargo confirm-gui doctor`: a checklist, each line with its fix; an error when something
/// needs fixing.
#[allow(clippy::print_stdout, reason = "the checklist is the command's output")]
fn doctor(deps: &Deps<'_>, stores: &Stores) -> Result<(), String> {
    use cargo_confirm_gui::adopt;
    let (home, cargo_home, cwd) = homes(&deps.env)?;
    let mut failed = 0;
    let mut line = |ok: Option<bool>, what: String, fix: &str| {
        let mark = match ok {
            Some(true) => "ok  ",
            Some(false) => {
                failed += 1;
                "FIX "
            }
            None => "note",
        };
        println!("[{mark}] {what}");
        if ok != Some(true) && !fix.is_empty() {
            println!("       {fix}");
        }
    };
    // The provider is configured for every registry.
    let home_config = adopt::cargo_config_in(&cargo_home);
    let provider = config_has_provider(&home_config);
    line(
        Some(provider),
        format!(
            "{} is a global credential provider in {}",
            adopt::PROVIDER,
            home_config.display()
        ),
        "run: cargo confirm-gui setup",
    );
    for (what, fix) in provider_overrides(&cwd, &cargo_home) {
        line(Some(false), what, &fix);
    }
    for (file, name, p) in other_providers(&cwd, &cargo_home) {
        line(
            Some(false),
            format!(
                "[registries.{}] in {} uses another provider: {}",
                cargo_confirm_gui::text::escape(&name).text,
                file.display(),
                cargo_confirm_gui::text::escape(&p).text
            ),
            "remove that credential-provider line (or set it to [\"cargo-confirm-gui\"])",
        );
    }
    let (found, notes) = adopt::scan(&home, &cargo_home, &cwd);
    line(
        Some(found.is_empty() && notes.is_empty()),
        if found.is_empty() && notes.is_empty() {
            "no clear-text registry token in credentials.toml, cargo's config or shell start-up files".into()
        } else {
            format!(
                "clear-text registry tokens: {}",
                found
                    .iter()
                    .map(|f| f.source.to_string())
                    .chain(notes.iter().cloned())
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        },
        "run: cargo confirm-gui setup",
    );
    let env_tokens: Vec<String> = std::env::vars()
        .map(|(k, _)| k)
        .filter(|k| adopt::registry_of_var(k, &[]).is_some())
        .collect();
    line(
        Some(env_tokens.is_empty()),
        if env_tokens.is_empty() {
            "no registry token in this shell's environment".into()
        } else {
            format!("this shell's environment holds {}", env_tokens.join(", "))
        },
        "unset it, remove where it is exported, and open a new shell",
    );
    let probe = RegistryKey::parse(CRATES_IO_INDEX)?;
    let reachable = stores
        .open()
        .and_then(|s| s.contains(&probe).map(|_| s.describe()));
    line(
        Some(reachable.is_ok()),
        match &reachable {
            Ok(d) => format!("the token store is reachable and unlocked ({d})"),
            Err(e) => format!("the token store: {e}"),
        },
        "unlock your keyring (log in to the desktop session), or see README",
    );
    let shown = probe_display(&deps.env, &DisplayPolicy::default());
    line(
        Some(shown.is_ok()),
        match &shown {
            Ok(()) => "this display is trusted: the window can open here".into(),
            Err(r) => format!("the window cannot open here: {}", r.message()),
        },
        "run this from your desktop session (README, \"Which screen\")",
    );
    #[cfg(target_os = "linux")]
    match stores {
        Stores::Default => line(
            None,
            "not installed sealed: any program running as you can read the Secret Service's token"
                .into(),
            "sudo scripts/install-sealed.sh, then cargo-confirm-gui --migrate (README, \"Sealed install\")",
        ),
        Stores::Sealed { install, .. } => line(
            Some(true),
            format!(
                "installed sealed: {} (checked at every start)",
                install.exe.display()
            ),
            "",
        ),
    }
    #[cfg(target_os = "linux")]
    {
        if let Ok(me) = std::fs::read_link("/proc/self/exe") {
            let place = evidence::user_writable(&me);
            line(
                if place.is_some() { None } else { Some(true) },
                match place {
                    Some(p) => format!(
                        "this helper ({}) can be replaced by your programs: {p} is writable",
                        me.display()
                    ),
                    None => format!(
                        "this helper ({}) cannot be replaced by your programs",
                        me.display()
                    ),
                },
                "install it root-owned: the sealed install",
            );
        }
        // Red team of "Adopt it in one step": a copy in ~/.cargo/bin (found before PATH)
        // is what cargo runs for the provider and for `cargo confirm-gui`; a copy of the
        // sealed binary is an unsealed one, and every window from it looks the same.
        if let Ok(me) = std::fs::read_link("/proc/self/exe") {
            let runs = provider_on_path(&cargo_home);
            line(
                Some(runs.as_ref().is_some_and(|p| *p == me)),
                match &runs {
                    Some(p) if *p == me => format!(
                        "cargo runs this helper for `{}` ({})",
                        adopt::PROVIDER,
                        p.display()
                    ),
                    Some(p) => format!(
                        "cargo runs {} for `{}`, not this helper ({})",
                        p.display(),
                        adopt::PROVIDER,
                        me.display()
                    ),
                    None => format!(
                        "`{}` is not found in {} or PATH, so cargo cannot run it",
                        adopt::PROVIDER,
                        cargo_home.join("bin").display()
                    ),
                },
                "remove the other copy, or put this helper's directory first in PATH",
            );
            let sealed = Path::new(SEALED_PREFIX).join("cargo-confirm-gui");
            if Path::new(SEALED_PREFIX).join("sealed.toml").exists() && me != sealed {
                line(
                    Some(false),
                    format!(
                        "a sealed install is at {}, but this helper ({}) is another copy: it \
                         keeps tokens outside the sealed store",
                        sealed.display(),
                        me.display()
                    ),
                    &format!("remove this copy, and run {} doctor", sealed.display()),
                );
            }
        }
        if let Some(cargo) = cargo_path() {
            let place = evidence::user_writable(&cargo);
            line(
                if place.is_some() { None } else { Some(true) },
                match place {
                    Some(p) => format!(
                        "cargo ({}) can be replaced by your programs: {p} is writable",
                        cargo.display()
                    ),
                    None => format!(
                        "cargo ({}) cannot be replaced by your programs",
                        cargo.display()
                    ),
                },
                "a rustup toolchain in your home is writable by design; a root-owned toolchain is not",
            );
        }
    }
    let version = cargo_version();
    line(
        Some(version.is_some_and(|(maj, min)| (maj, min) >= (1, 74))),
        match version {
            Some((a, b)) => format!("cargo {a}.{b} (credential providers need 1.74 or later)"),
            None => "cargo's version could not be read".into(),
        },
        "rustup update",
    );
    line(
        None,
        "token expiry: not recorded (a scoped crates.io token cannot look itself up)".into(),
        "check the token's expiry at https://crates.io/settings/tokens",
    );
    if failed == 0 {
        println!("all good");
        Ok(())
    } else {
        Err(format!("{failed} thing(s) to fix (see above)"))
    }
}

/// What would make cargo run another provider than this one although the config names it:
/// an entry after ours (tried first), a provider list in another config file (cargo appends
/// it after ours), a `[credential-alias]` named like ours, or the environment's equivalents.
fn provider_overrides(cwd: &Path, cargo_home: &Path) -> Vec<(String, String)> {
    use cargo_confirm_gui::adopt::PROVIDER;
    let shown = |s: &str| cargo_confirm_gui::text::escape(s).text;
    let mut out = Vec::new();
    let home_config = cargo_confirm_gui::adopt::cargo_config_in(cargo_home);
    // Red team of "Adopt it in one step": an empty `config` made beside `config.toml` hides
    // it from cargo, provider and all.
    for dir in cwd
        .ancestors()
        .map(|d| d.join(".cargo"))
        .chain([cargo_home.to_path_buf()])
    {
        let (bare, with) = (dir.join("config"), dir.join("config.toml"));
        if std::fs::symlink_metadata(&bare).is_ok() && std::fs::symlink_metadata(&with).is_ok() {
            out.push((
                format!(
                    "both {} and {} exist: cargo reads only the first, and ignores the second",
                    bare.display(),
                    with.display()
                ),
                format!(
                    "keep one: merge what {} should hold into {}, and remove it",
                    bare.display(),
                    with.display()
                ),
            ));
        }
    }
    for f in cargo_confirm_gui::adopt::config_files(cwd, cargo_home) {
        let Ok(Ok(doc)) = std::fs::read_to_string(&f).map(|t| t.parse::<toml::Table>()) else {
            continue;
        };
        if let Some(list) = doc
            .get("registry")
            .and_then(|r| r.get("global-credential-providers"))
            .and_then(|l| l.as_array())
        {
            let entries: Vec<&str> = list.iter().filter_map(|v| v.as_str()).collect();
            let ours = |e: &&str| e.split_whitespace().next() == Some(PROVIDER);
            if f == home_config {
                if let Some(pos) = entries.iter().position(ours)
                    && pos + 1 < entries.len()
                {
                    out.push((
                        format!(
                            "{} lists {} after {PROVIDER}: cargo tries it first",
                            f.display(),
                            shown(&entries[pos + 1..].join(", "))
                        ),
                        format!("move {PROVIDER} to the end of that list"),
                    ));
                }
            } else if entries.iter().any(|e| !ours(e)) {
                out.push((
                    format!(
                        "{} lists credential providers ({}): cargo adds them after yours, and tries them first",
                        f.display(),
                        shown(&entries.join(", "))
                    ),
                    "remove global-credential-providers from that file".into(),
                ));
            }
        }
        // crates.io's own provider setting beats the global list for crates.io.
        if let Some(p) = doc
            .get("registry")
            .and_then(|r| r.get("credential-provider"))
        {
            let first = match p {
                toml::Value::String(s) => s.split_whitespace().next().unwrap_or(""),
                toml::Value::Array(a) => a.first().and_then(|v| v.as_str()).unwrap_or(""),
                _ => "",
            };
            if first != PROVIDER {
                out.push((
                    format!(
                        "{} sets [registry] credential-provider = {}: cargo uses it for crates.io \
                         instead of the global list",
                        f.display(),
                        shown(&toml_value(p))
                    ),
                    "remove that credential-provider line".into(),
                ));
            }
        }
        if let Some(aliases) = doc.get("credential-alias").and_then(|a| a.as_table())
            && let Some(target) = aliases.get(PROVIDER)
        {
            out.push((
                format!(
                    "{} makes `{PROVIDER}` an alias for {}: cargo runs that instead",
                    f.display(),
                    shown(&toml_value(target))
                ),
                "remove that [credential-alias] entry".into(),
            ));
        }
    }
    for (k, _) in std::env::vars() {
        let provider_var = k == "CARGO_REGISTRY_GLOBAL_CREDENTIAL_PROVIDERS"
            || k == "CARGO_REGISTRY_CREDENTIAL_PROVIDER"
            || k.starts_with("CARGO_CREDENTIAL_ALIAS_")
            || (k.starts_with("CARGO_REGISTRIES_") && k.ends_with("_CREDENTIAL_PROVIDER"));
        if provider_var {
            out.push((
                format!("this shell's environment sets {k}, which overrides cargo's config"),
                "unset it, and remove where it is exported".into(),
            ));
        }
    }
    out
}

/// A provider setting as written in the file: `"a b"`, or `["a", "b"]`.
fn toml_value(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("{s:?}"),
        toml::Value::Array(a) => format!(
            "[{}]",
            a.iter().map(toml_value).collect::<Vec<_>>().join(", ")
        ),
        other => format!("{other:?}"),
    }
}

fn config_has_provider(config: &Path) -> bool {
    std::fs::read_to_string(config)
        .ok()
        .and_then(|t| t.parse::<toml_edit::DocumentMut>().ok())
        .is_some_and(|d| cargo_confirm_gui::adopt::has_provider(&d))
}

/// `[registries.NAME] credential-provider` entries that name another provider.
fn other_providers(cwd: &Path, cargo_home: &Path) -> Vec<(PathBuf, String, String)> {
    let mut out = Vec::new();
    for f in cargo_confirm_gui::adopt::config_files(cwd, cargo_home) {
        let Ok(doc) = std::fs::read_to_string(&f).map(|t| t.parse::<toml::Table>()) else {
            continue;
        };
        let Ok(doc) = doc else { continue };
        let Some(regs) = doc.get("registries").and_then(|r| r.as_table()) else {
            continue;
        };
        for (name, r) in regs {
            let Some(p) = r.get("credential-provider") else {
                continue;
            };
            let (first, shown) = match p {
                toml::Value::String(s) => (
                    s.split_whitespace().next().unwrap_or("").to_string(),
                    s.clone(),
                ),
                toml::Value::Array(a) => (
                    a.first().and_then(|v| v.as_str()).unwrap_or("").to_string(),
                    a.iter()
                        .filter_map(|v| v.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                _ => (String::new(), String::new()),
            };
            // Ours by name only, or by the path of this very binary: a copy of some file
            // named cargo-confirm-gui elsewhere is not this helper.
            let ours = first == cargo_confirm_gui::adopt::PROVIDER
                || std::fs::canonicalize(&first).ok() == std::fs::read_link("/proc/self/exe").ok();
            if !ours {
                out.push((f.clone(), name.clone(), shown));
            }
        }
    }
    out
}

/// Where `scripts/install-sealed.sh` and the Debian package put the sealed helper.
#[cfg(target_os = "linux")]
const SEALED_PREFIX: &str = "/opt/cargo-confirm-gui";

/// The `cargo-confirm-gui` cargo runs, as it finds it: `$CARGO_HOME/bin`, then `PATH`.
#[cfg(target_os = "linux")]
fn provider_on_path(cargo_home: &Path) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::iter::once(cargo_home.join("bin"))
        .chain(std::env::split_paths(&path))
        .map(|d| d.join(cargo_confirm_gui::adopt::PROVIDER))
        .find(|p| p.is_file())
        .map(|p| std::fs::canonicalize(&p).unwrap_or(p))
}

fn cargo_path() -> Option<PathBuf> {
    if let Some(c) = std::env::var_os("CARGO") {
        return Some(PathBuf::from(c));
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("cargo"))
        .find(|p| p.is_file())
        .map(|p| std::fs::canonicalize(&p).unwrap_or(p))
}

fn cargo_version() -> Option<(u64, u64)> {
    let cargo = cargo_path().unwrap_or_else(|| "cargo".into());
    let out = std::process::Command::new(cargo)
        .arg("--version")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let v = text.split_whitespace().nth(1)?;
    let mut parts = v.split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// Where a subcommand goes: `--index URL`, `--registry NAME`, or crates.io, as cargo decides.
/// Returns the index URL (the store's key), the registry's name, and the index the helper's
/// client reads (crates.io's sparse one for crates.io).
fn subcommand_registry(
    args: &[String],
    env: &Snapshot,
    default: Option<String>,
) -> Result<(String, Option<String>, String), String> {
    use cargo_confirm_gui::publish;
    // As cargo: `--index`, `--registry`, the one registry `package.publish` allows, then
    // `registry.default` from cargo's config, then crates.io.
    let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
    let configured = || {
        let home = env.cargo_home.clone()?;
        cargo_confirm_gui::adopt::config_files(&cwd, &home)
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

/// `cargo confirm-gui yank --version V [--undo] CRATE`: one window, then the helper sends
/// it itself.
fn yank(args: &[String], deps: &Deps<'_>) -> Result<(), String> {
    use cargo_confirm_gui::publish::{self, Action, Outcome};
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
                        cargo_confirm_gui::text::escape(a).text
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
    cargo_confirm_gui::package::validate_name(&name, &vers)?;
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

/// `cargo confirm-gui owner (--add L | --remove L | --list) CRATE`: one window, then the
/// helper sends it itself.
#[allow(
    clippy::print_stdout,
    reason = "the owners listed are the command's output"
)]
fn owner(args: &[String], deps: &Deps<'_>) -> Result<(), String> {
    use cargo_confirm_gui::publish::upload::OwnerChange;
    use cargo_confirm_gui::publish::{self, Action, Outcome};
    if args.iter().any(|a| a == "-h" || a == "--help") {
        eprintln!("{SUBCOMMAND_HELP}");
        return Ok(());
    }
    let (index_url, registry_name, api_index) = subcommand_registry(args, &deps.env, None)?;
    let (mut add, mut remove, mut list, mut positional) =
        (Vec::new(), Vec::new(), false, Vec::new());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .unwrap_or_default()
        };
        match flag {
            "-a" | "--add" => add.extend(value().split(',').map(|l| l.trim().to_string())),
            "-r" | "--remove" => remove.extend(value().split(',').map(|l| l.trim().to_string())),
            "-l" | "--list" => list = true,
            "--registry" | "--index" => {
                value();
            }
            f if f.starts_with('-') => {
                return Err(format!(
                    "cargo confirm-gui owner: unknown option {}\n\n{SUBCOMMAND_HELP}",
                    cargo_confirm_gui::text::escape(f).text
                ));
            }
            _ => positional.push(a.clone()),
        }
    }
    let change = match (add.is_empty(), remove.is_empty(), list) {
        (false, true, false) => OwnerChange::Add(add),
        (true, false, false) => OwnerChange::Remove(remove),
        (true, true, true) => OwnerChange::List,
        _ => {
            return Err(format!(
                "cargo confirm-gui owner takes one of --add, --remove or --list\n\n{SUBCOMMAND_HELP}"
            ));
        }
    };
    let [name] = positional.as_slice() else {
        return Err(format!(
            "cargo confirm-gui owner needs the crate's name\n\n{SUBCOMMAND_HELP}"
        ));
    };
    cargo_confirm_gui::package::validate_name(name, "0.0.0")?;
    let uploader = publish::Uploader::start()?;
    let req = Request {
        index_url,
        registry_name,
        operation: Operation::HelperOwners {
            name: name.clone(),
            change: change.clone(),
        },
        login_token: None,
        login_url: None,
        args: Vec::new(),
    };
    let token = match pipeline::handle(&req, deps, &Cancel::default()).map_err(|e| e.to_string())? {
        Answer::Token { token, .. } => token,
        _ => return Err("cargo-confirm-gui: the owner change was not approved".into()),
    };
    let job = [(name.clone(), String::new(), String::new(), Vec::new())];
    let outcomes = uploader.run(
        Action::Owners(change),
        &api_index,
        token.expose(),
        &job,
        |_| {},
    )?;
    drop(token);
    match outcomes.as_slice() {
        [Outcome::Owners { lines, .. }] => {
            for l in lines {
                println!("{l}");
            }
            Ok(())
        }
        [Outcome::Failed { why, .. }] => Err(format!("cargo-confirm-gui: {why}")),
        _ => Err(
            "cargo-confirm-gui: the uploader said nothing; the request may not have been sent"
                .into(),
        ),
    }
}

/// `cargo confirm-gui publish`: package, one window for the plan, upload in dependency order,
/// check the index.
fn publish(args: &[String], deps: &Deps<'_>) -> Result<(), String> {
    use cargo_confirm_gui::publish::{self, Outcome, metadata};
    use cargo_confirm_gui::request::PlanCrate;
    if args.iter().any(|a| a == "-h" || a == "--help") {
        eprintln!("{SUBCOMMAND_HELP}");
        return Ok(());
    }
    let env = &deps.env;
    // Before any window: the uploader must start while this process may still start a
    // setgid program (the window takes the network and that right away from it).
    let uploader = publish::Uploader::start()?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let packaged = publish::package(std::path::Path::new(&cargo), args)?;
    let (index_url, registry_name, api_index) =
        subcommand_registry(args, env, publish::default_registry(&packaged))?;
    let (packaged, left_out) = publish::publish_rules(packaged, registry_name.as_deref())?;
    for c in &left_out {
        eprintln!("note: {c} has `publish = false` in its Cargo.toml: left out of the plan");
    }
    let metas = packaged
        .iter()
        .map(|p| {
            metadata::build(&p.bytes, &api_index)
                .map_err(|e| format!("{} {}: {e}; nothing was published", p.name, p.vers))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // The window names each crate as cargo's output did, and the registry takes the name
    // and version from the metadata, read from the bytes: they must be the same.
    for (p, m) in packaged.iter().zip(&metas) {
        if (&p.name, &p.vers) != (&m.name, &m.vers) {
            return Err(format!(
                "cargo said it packaged {} {}, but the .crate's manifest says {} {}; nothing \
                 was published",
                p.name, p.vers, m.name, m.vers
            ));
        }
    }
    let names: Vec<String> = packaged.iter().map(|p| p.name.clone()).collect();
    let depends: Vec<Vec<String>> = metas.iter().map(|m| m.depends_on.clone()).collect();
    let order = publish::dependency_order(&names, &depends)?;
    let limits = cargo_confirm_gui::package::Limits::default();
    let mut crates = Vec::new();
    let mut jobs = Vec::new();
    for &i in &order {
        let p = &packaged[i];
        let (report, cksum) = cargo_confirm_gui::package::report_for_bytes(
            &p.name,
            &p.vers,
            &p.bytes,
            &p.path,
            env.cargo_home.as_deref(),
            &limits,
        );
        crates.push(PlanCrate {
            name: p.name.clone(),
            vers: p.vers.clone(),
            cksum: cksum.clone(),
            report: Box::new(report),
            deps: metadata::dependency_lines(&metas[i].json),
        });
        jobs.push((
            p.name.clone(),
            p.vers.clone(),
            cksum,
            metadata::body(&metas[i].json, &p.bytes),
        ));
    }
    drop(packaged);
    let req = Request {
        index_url: index_url.clone(),
        registry_name,
        operation: Operation::PublishPlan { crates },
        login_token: None,
        login_url: None,
        args: Vec::new(),
    };
    let token = match pipeline::handle(&req, deps, &Cancel::default()).map_err(|e| e.to_string())? {
        Answer::Token { token, .. } => token,
        _ => return Err("cargo-confirm-gui: the publish was not approved".into()),
    };
    let registry = req.registry_label();
    let outcomes = uploader.run(
        publish::Action::Publish,
        &api_index,
        token.expose(),
        &jobs,
        |o| match o {
            Outcome::Published {
                name,
                vers,
                warnings,
            } => {
                eprintln!("   Uploaded {name} v{vers} to {registry}");
                for w in warnings {
                    eprintln!("warning: {w}");
                }
            }
            Outcome::Indexed { name, vers, .. } => {
                eprintln!("   Published {name} v{vers}: the index lists it");
            }
            Outcome::Failed { .. } | Outcome::Yanked { .. } | Outcome::Owners { .. } => {}
        },
    )?;
    drop(token);
    // What was published, what was not, and whether the index lists what was approved.
    let mut published = Vec::new();
    let mut problems = Vec::new();
    for o in &outcomes {
        match o {
            Outcome::Indexed { name, vers, cksum } => {
                published.push(format!("{name} {vers}"));
                let approved = jobs
                    .iter()
                    .find(|(n, v, _, _)| n == name && v == vers)
                    .map(|j| j.2.as_str());
                if approved != Some(cksum.as_str()) {
                    let registry_arg = match &req.registry_name {
                        Some(r) => format!("--registry {r}"),
                        None => format!("--index {}", req.index_url),
                    };
                    problems.push(format!(
                        "THE INDEX LISTS {name} {vers} WITH A CHECKSUM THAT IS NOT THE ONE YOU \
                         APPROVED (index sha256:{cksum}, approved sha256:{}). Yank it now: \
                         cargo yank {registry_arg} --version {vers} {name}",
                        approved.unwrap_or("?")
                    ));
                }
            }
            Outcome::Failed { name, vers, why } => {
                problems.push(format!("{name} {vers} failed: {why}"));
            }
            Outcome::Published { .. } | Outcome::Yanked { .. } | Outcome::Owners { .. } => {}
        }
    }
    let not_published: Vec<String> = jobs
        .iter()
        .map(|(n, v, _, _)| format!("{n} {v}"))
        .filter(|c| !published.contains(c))
        .collect();
    if problems.is_empty() && not_published.is_empty() {
        eprintln!(
            "Published {} as approved: the index lists each with the checksum you saw.",
            published.join(", ")
        );
        return Ok(());
    }
    let mut msg = format!("cargo-confirm-gui: {}", problems.join("\n"));
    msg.push_str(&format!(
        "\npublished: {}\nnot published: {}",
        if published.is_empty() {
            "nothing".into()
        } else {
            published.join(", ")
        },
        if not_published.is_empty() {
            "nothing".into()
        } else {
            not_published.join(", ")
        }
    ));
    Err(msg)
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
fn get(cli: &Cli, deps: &Deps<'_>, stores: &Stores) -> Result<(), String> {
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
    // Red team, "Nothing the caller supplies": a wrapper between cargo and `get` (`sh -c
    // 'env -u CARGO_REGISTRY_INDEX_URL cargo-confirm-gui get'`) passes the checks above, and
    // any program can read the pipe. A sealed token goes to a pipe only where root allows it.
    #[cfg(not(target_os = "linux"))]
    let _ = stores;
    #[cfg(target_os = "linux")]
    if matches!(stores, Stores::Sealed { .. }) && !deps.allowed.sealed_get {
        return Err(format!(
            "cargo-confirm-gui get refuses to print a token of the sealed store: its window \
             cannot say what the token will be used for, and any program running as you could \
             be reading the pipe. Use the plugin form (`credential-provider = \
             [\"cargo-confirm-gui\"]`) or `cargo confirm-gui publish`; an administrator can \
             allow it with `sealed-get = true` under [requests] in {}. Nothing was released.",
            cargo_confirm_gui::policy::PATH
        ));
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
