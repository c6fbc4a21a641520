//! `cargo confirm-gui doctor`: a checklist, each line with its fix; an error when something
//! needs fixing. Each check is a function of its own, in the order the lines are printed.

use std::path::{Path, PathBuf};

use crate::adopt;
use crate::env::Snapshot;
#[cfg(target_os = "linux")]
use crate::evidence;
use crate::index_url::CRATES_IO_INDEX;
use crate::pipeline::Deps;
use crate::policy::DisplayPolicy;
use crate::store::RegistryKey;

use super::Stores;

mod config;

/// Where `scripts/install-sealed.sh` and the Debian package put the sealed helper.
#[cfg(target_os = "linux")]
const SEALED_PREFIX: &str = "/opt/cargo-confirm-gui";

/// The checklist as it is printed: one line per check, with its fix under anything that is
/// not ok, and the count of lines to fix.
#[derive(Default)]
struct Checklist {
    /// Lines marked `FIX` so far.
    failed: usize,
}

impl Checklist {
    /// One line: `Some(true)` is ok, `Some(false)` needs fixing (and is counted), `None` is
    /// a note. The fix is printed under anything that is not ok, when there is one.
    #[allow(clippy::print_stdout, reason = "the checklist is the command's output")]
    fn line(&mut self, ok: Option<bool>, what: String, fix: &str) {
        let mark = match ok {
            Some(true) => "ok  ",
            Some(false) => {
                self.failed += 1;
                "FIX "
            }
            None => "note",
        };
        println!("[{mark}] {what}");
        if ok != Some(true) && !fix.is_empty() {
            println!("       {fix}");
        }
    }
}

/// Runs every check, then says "all good" or how many things need fixing.
#[allow(clippy::print_stdout, reason = "the checklist is the command's output")]
pub(super) fn doctor(deps: &Deps<'_>, stores: &Stores) -> Result<(), String> {
    let (home, cargo_home, cwd) = super::homes(&deps.env)?;
    let mut list = Checklist::default();
    global_provider(&mut list, &cargo_home);
    provider_overrides(&mut list, &cwd, &cargo_home);
    clear_text_tokens(&mut list, &home, &cargo_home, &cwd);
    environment_tokens(&mut list);
    token_store(&mut list, stores)?;
    let registries = super::status::known_registries(&cwd, &cargo_home);
    let stored = stored_tokens(&mut list, stores, &registries);
    display_trusted(&mut list, &deps.env);
    #[cfg(target_os = "linux")]
    {
        sealed_install(&mut list, stores, deps);
        left_in_the_secret_service(&mut list, stores, &registries);
        helper_replaceable(&mut list);
        cargo_runs_this_helper(&mut list, &cargo_home);
        cargo_replaceable(&mut list);
    }
    cargo_version_check(&mut list);
    if stored.iter().any(|name| name == "crates-io") {
        list.line(
            None,
            "token expiry: not recorded (a scoped crates.io token cannot look itself up)".into(),
            "check the token's expiry at https://crates.io/settings/tokens",
        );
    }
    if list.failed == 0 {
        println!("all good");
        Ok(())
    } else {
        Err(format!("{} thing(s) to fix (see above)", list.failed))
    }
}

/// The provider is configured for every registry, in the config file cargo reads.
fn global_provider(list: &mut Checklist, cargo_home: &Path) {
    let home_config = adopt::cargo_config_in(cargo_home);
    let provider = config::has_provider(&home_config);
    list.line(
        Some(provider),
        format!(
            "{} is a global credential provider in {}",
            adopt::PROVIDER,
            home_config.display()
        ),
        "run: cargo confirm-gui setup",
    );
}

/// One line to fix for each setting that makes cargo run another provider than this one:
/// the overrides of the global list, then `[registries.NAME]` entries naming another.
fn provider_overrides(list: &mut Checklist, cwd: &Path, cargo_home: &Path) {
    for (what, fix) in config::provider_overrides(cwd, cargo_home) {
        list.line(Some(false), what, &fix);
    }
    for (file, name, p) in config::other_providers(cwd, cargo_home) {
        list.line(
            Some(false),
            format!(
                "[registries.{}] in {} uses another provider: {}",
                crate::text::escape(&name).text,
                file.display(),
                crate::text::escape(&p).text
            ),
            "remove that credential-provider line (or set it to [\"cargo-confirm-gui\"])",
        );
    }
}

/// No clear-text token in the files `setup` moves tokens out of.
fn clear_text_tokens(list: &mut Checklist, home: &Path, cargo_home: &Path, cwd: &Path) {
    let (found, notes) = adopt::scan(home, cargo_home, cwd);
    list.line(
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
}

/// No registry token in this shell's environment (by variable name only).
fn environment_tokens(list: &mut Checklist) {
    let env_tokens: Vec<String> = std::env::vars()
        .map(|(k, _)| k)
        .filter(|k| adopt::registry_of_var(k, &[]).is_some())
        .collect();
    list.line(
        Some(env_tokens.is_empty()),
        if env_tokens.is_empty() {
            "no registry token in this shell's environment".into()
        } else {
            format!("this shell's environment holds {}", env_tokens.join(", "))
        },
        "unset it, remove where it is exported, and open a new shell",
    );
}

/// The token store opens and answers (crates.io's entry is looked up, never read).
fn token_store(list: &mut Checklist, stores: &Stores) -> Result<(), String> {
    let probe = RegistryKey::from_index_url(CRATES_IO_INDEX);
    let reachable = stores
        .open()
        .and_then(|s| s.contains(&probe).map(|_| s.describe()));
    list.line(
        Some(reachable.is_ok()),
        match &reachable {
            Ok(d) => format!("the token store is reachable and unlocked ({d})"),
            Err(e) => format!("the token store: {e}"),
        },
        "unlock your keyring (log in to the desktop session), or see README",
    );
    Ok(())
}

/// Which registries of cargo's config have a token in the store: a note, with how to store
/// one when none has. Returns their names.
fn stored_tokens(
    list: &mut Checklist,
    stores: &Stores,
    registries: &[(String, String)],
) -> Vec<String> {
    let Ok(store) = stores.open() else {
        return Vec::new();
    };
    let stored: Vec<String> = registries
        .iter()
        .filter(|(_, index)| {
            RegistryKey::parse(index).is_ok_and(|key| store.contains(&key).unwrap_or(false))
        })
        .map(|(name, _)| name.clone())
        .collect();
    let names: Vec<String> = stored.iter().map(|n| crate::text::escape(n).text).collect();
    if stored.is_empty() {
        list.line(
            None,
            "no token is stored for any registry in cargo's config".into(),
            "store one with `cargo login` (a window asks for it) or `cargo-confirm-gui --enroll \
             --registry NAME`",
        );
    } else {
        list.line(
            Some(true),
            format!("a token is stored for: {}", names.join(", ")),
            "",
        );
    }
    stored
}

/// In the sealed install, a token still in the Secret Service is one any program of the
/// person's can read: each is a line to fix, with the command that moves it.
#[cfg(target_os = "linux")]
fn left_in_the_secret_service(
    list: &mut Checklist,
    stores: &Stores,
    registries: &[(String, String)],
) {
    if !matches!(stores, Stores::Sealed { .. }) {
        return;
    }
    // No Secret Service (no session bus, say) holds nothing.
    let Ok(secret_service) = crate::store::default_store() else {
        return;
    };
    for (name, index) in registries {
        let left = RegistryKey::parse(index)
            .is_ok_and(|key| secret_service.contains(&key).unwrap_or(false));
        if left {
            // A name is printed into a command only when cargo would accept it: a config key
            // is the worm's to write, and a person pastes a printed fix into a shell.
            let fix = if crate::registries::is_cargo_name(name) {
                format!("cargo-confirm-gui --migrate --registry {name}")
            } else {
                "cargo-confirm-gui --migrate --index-url URL (the registry's name in cargo's \
                 config is not one cargo accepts)"
                    .into()
            };
            let name = crate::text::escape(name).text;
            list.line(
                Some(false),
                format!(
                    "the Secret Service still holds a token for {name}, where any program \
                     running as you can read it"
                ),
                &fix,
            );
        }
    }
}

/// The window could open here: the display is reachable and trusted, under the default
/// display policy.
fn display_trusted(list: &mut Checklist, env: &Snapshot) {
    let shown = super::probe_display(env, &DisplayPolicy::default());
    list.line(
        Some(shown.is_ok()),
        match &shown {
            Ok(()) => "this display is trusted: the window can open here".into(),
            Err(r) => format!("the window cannot open here: {}", r.message()),
        },
        "run this from your desktop session (README, \"Which screen\")",
    );
}

/// Whether this helper runs sealed: a note when it does not.
#[cfg(target_os = "linux")]
fn sealed_install(list: &mut Checklist, stores: &Stores, deps: &Deps<'_>) {
    match stores {
        Stores::Default => list.line(
            None,
            "not installed sealed: this install cannot protect the token (any program running \
             as you can read it from the Secret Service, and a click in your session can be \
             forged)"
                .into(),
            "sudo scripts/install-sealed.sh, then cargo-confirm-gui --migrate (README, \"Sealed install\")",
        ),
        Stores::Sealed { install, .. } => {
            list.line(
                Some(true),
                format!(
                    "installed sealed: {} (checked at every start)",
                    install.exe.display()
                ),
                "",
            );
            presence_step(list, deps);
        }
    }
}

/// In the sealed install, every release needs the system to confirm who approved: its PAM
/// service must be there, and only root may change it.
#[cfg(target_os = "linux")]
fn presence_step(list: &mut Checklist, deps: &Deps<'_>) {
    let method = deps.presence.method();
    let ready = deps.presence.ready();
    list.line(
        Some(method.is_some() && ready.is_ok()),
        match (&method, &ready) {
            (Some(m), Ok(())) => format!(
                "after Approve, every release needs {}, checked by {}",
                m.asks, m.checked_by
            ),
            (_, Err(e)) => format!("nothing can be released: {e}"),
            (None, Ok(())) => "this sealed install asks nobody who approved".into(),
        },
        "sudo scripts/install-sealed.sh writes the PAM service (or reinstall the package)",
    );
}

/// Whether the person's programs can replace this helper's binary: a note when they can.
#[cfg(target_os = "linux")]
fn helper_replaceable(list: &mut Checklist) {
    if let Ok(me) = std::fs::read_link("/proc/self/exe") {
        let place = evidence::user_writable(&me);
        list.line(
            if place.is_some() { None } else { Some(true) },
            match place {
                Some(p) => format!(
                    "this helper ({}) can be replaced by your programs: {p} is yours or writable",
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
}

/// Red team of "Adopt it in one step": a copy in ~/.cargo/bin (found before PATH) is what
/// cargo runs for the provider and for `cargo confirm-gui`; a copy of the sealed binary is
/// an unsealed one, and every window from it looks the same. Checks that cargo runs this
/// very binary, and that this binary is the sealed one when there is a sealed install.
#[cfg(target_os = "linux")]
fn cargo_runs_this_helper(list: &mut Checklist, cargo_home: &Path) {
    let Ok(me) = std::fs::read_link("/proc/self/exe") else {
        return;
    };
    let runs = provider_on_path(cargo_home);
    list.line(
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
        list.line(
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

/// Whether the person's programs can replace the cargo that runs this helper: a note when
/// they can.
#[cfg(target_os = "linux")]
fn cargo_replaceable(list: &mut Checklist) {
    if let Some(cargo) = cargo_path() {
        let place = evidence::user_writable(&cargo);
        list.line(
            if place.is_some() { None } else { Some(true) },
            match place {
                Some(p) => format!(
                    "cargo ({}) can be replaced by your programs: {p} is yours or writable",
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

/// Cargo is recent enough to run credential providers.
fn cargo_version_check(list: &mut Checklist) {
    let version = cargo_version();
    list.line(
        Some(version.is_some_and(|(maj, min)| (maj, min) >= (1, 74))),
        match version {
            Some((a, b)) => format!("cargo {a}.{b} (credential providers need 1.74 or later)"),
            None => "cargo's version could not be read".into(),
        },
        "rustup update",
    );
}

/// The `cargo-confirm-gui` cargo runs, as it finds it: `$CARGO_HOME/bin`, then `PATH`.
#[cfg(target_os = "linux")]
fn provider_on_path(cargo_home: &Path) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::iter::once(cargo_home.join("bin"))
        .chain(std::env::split_paths(&path))
        .map(|d| d.join(adopt::PROVIDER))
        .find(|p| p.is_file())
        .map(|p| std::fs::canonicalize(&p).unwrap_or(p))
}

/// The cargo that runs this helper: `$CARGO`, else the first `cargo` on `PATH`.
fn cargo_path() -> Option<PathBuf> {
    if let Some(c) = std::env::var_os("CARGO") {
        return Some(PathBuf::from(c));
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("cargo"))
        .find(|p| p.is_file())
        .map(|p| std::fs::canonicalize(&p).unwrap_or(p))
}

/// `cargo --version`'s major and minor numbers.
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
