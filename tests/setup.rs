//! `cargo confirm-gui setup` and `doctor` on a home a new user would have: `cargo login`'s
//! clear-text `credentials.toml`, a commented cargo config with a token in it, and a token
//! exported from `.bashrc`. Real cargo runs the subcommands; tokens go into the real Secret
//! Service; a person approves the one window through Xephyr.

#![cfg(target_os = "linux")]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use cargo_confirm_gui_testkit::{Options, Registry};
use support::*;

const CRATES_IO_TOKEN: &str = "cioSetupTestToken0123456789abcdefAB";
const LOCAL_TOKEN: &str = "tok-setup-local-0123456789";

struct Home {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    cargo_home: PathBuf,
    registry: Registry,
}

impl Home {
    fn new() -> Home {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        let cargo_home = home.join(".cargo");
        std::fs::create_dir_all(&cargo_home).unwrap();
        let registry = Registry::start(Options::default()).unwrap();
        Home {
            _tmp: tmp,
            home,
            cargo_home,
            registry,
        }
    }

    fn cargo(&self, args: &[&str]) -> Command {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        self.run(Path::new(&cargo), args)
    }

    /// `program args…` in this home, as `cargo` runs in it.
    fn run(&self, program: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args).current_dir(&self.home);
        desk().env(&mut cmd);
        let provider_dir = Path::new(PROVIDER).parent().unwrap();
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![provider_dir.to_path_buf()];
        paths.extend(std::env::split_paths(&path));
        // State of its own (the cooldown, the lock, the log), as each person has: setup's
        // window takes the person's turn like every window, and one test's Deny must not
        // start another's cooldown.
        let runtime = self.home.join("runtime");
        let _ = std::fs::create_dir_all(&runtime);
        cmd.env("HOME", &self.home)
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("XDG_STATE_HOME", self.home.join("state"))
            .env("CARGO_HOME", &self.cargo_home)
            .env("PATH", std::env::join_paths(paths).unwrap())
            .env_remove("CARGO_REGISTRY_TOKEN")
            .env_remove("CARGO_REGISTRIES_LOCAL_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if std::env::var_os("RUSTUP_HOME").is_none()
            && let Some(h) = std::env::var_os("HOME")
        {
            cmd.env("RUSTUP_HOME", Path::new(&h).join(".rustup"));
        }
        cmd
    }

    fn local_key(&self) -> String {
        cargo_confirm_gui::store::RegistryKey::from_index_url(&self.registry.index_url())
            .as_str()
            .to_string()
    }

    /// Every file under the home, with its text.
    fn files(&self) -> Vec<(PathBuf, String)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.push((p.clone(), std::fs::read_to_string(&p).unwrap_or_default()));
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.home, &mut out);
        out.sort();
        out
    }
}

fn forget_crates_io() {
    let key = cargo_confirm_gui::store::RegistryKey::from_index_url(
        cargo_confirm_gui::index_url::CRATES_IO_INDEX,
    );
    let _ = Command::new("secret-tool")
        .env("DBUS_SESSION_BUS_ADDRESS", &desk().dbus)
        .args([
            "clear",
            "service",
            "cargo-confirm-gui",
            "username",
            key.as_str(),
        ])
        .status();
}

#[test]
fn setup_moves_every_clear_token_after_one_window_and_doctor_says_all_good() {
    let _g = gui_lock();
    let h = Home::new();
    // What `cargo login` leaves, a hand-written config with comments, and a shell export.
    std::fs::write(
        h.cargo_home.join("credentials.toml"),
        format!("[registry]\ntoken = \"{CRATES_IO_TOKEN}\"\n"),
    )
    .unwrap();
    let config = format!(
        "# my cargo settings\n[registries.local]\nindex = \"{}\" # the loopback one\ntoken = \"{LOCAL_TOKEN}\"\n\n[build]\njobs = 2 # keep\n",
        h.registry.index_url()
    );
    std::fs::write(h.cargo_home.join("config.toml"), &config).unwrap();
    std::fs::write(
        h.home.join(".bashrc"),
        format!("# aliases\nalias ll='ls -l'\nexport CARGO_REGISTRIES_LOCAL_TOKEN={LOCAL_TOKEN}\n"),
    )
    .unwrap();

    // Before: doctor says what to fix, and fails.
    let (status, out, _) = wait_output(
        h.cargo(&["confirm-gui", "doctor"]).spawn().unwrap(),
        Duration::from_secs(60),
    );
    assert!(!status.success(), "{out}");
    assert!(
        out.contains("[FIX ] cargo-confirm-gui is a global credential provider"),
        "{out}"
    );
    assert!(out.contains("[FIX ] clear-text registry tokens"), "{out}");
    // Nothing stored yet: it says how to store one, and no expiry line about no token.
    assert!(
        out.contains("[note] no token is stored for any registry"),
        "{out}"
    );
    assert!(!out.contains("token expiry"), "{out}");

    // Setup: one window lists both registries; a person approves it.
    let mut child = h.cargo(&["confirm-gui", "setup"]).spawn().unwrap();
    let (_, g) = window_for(
        &mut child,
        "Move 2 clear-text registry tokens into the store?",
    );
    wait_armed();
    let (x, y) = approve_point(g);
    desk().human_click(x, y);
    let (status, _, err) = wait_output(child, Duration::from_secs(60));
    assert!(status.success(), "{err}");
    assert!(
        !err.contains(CRATES_IO_TOKEN) && !err.contains(LOCAL_TOKEN),
        "{err}"
    );

    // Both are in the Secret Service; no clear copy is left anywhere in the home.
    assert_eq!(
        desk().secret_lookup(&h.local_key()).as_deref(),
        Some(LOCAL_TOKEN)
    );
    let crates_io = cargo_confirm_gui::store::RegistryKey::from_index_url(
        cargo_confirm_gui::index_url::CRATES_IO_INDEX,
    );
    assert_eq!(
        desk().secret_lookup(crates_io.as_str()).as_deref(),
        Some(CRATES_IO_TOKEN)
    );
    forget_crates_io();
    for (file, text) in h.files() {
        assert!(
            !text.contains(CRATES_IO_TOKEN) && !text.contains(LOCAL_TOKEN),
            "a clear copy is left in {}",
            file.display()
        );
    }
    assert!(!h.cargo_home.join("credentials.toml").exists());
    let after = std::fs::read_to_string(h.cargo_home.join("config.toml")).unwrap();
    for kept in [
        "# my cargo settings",
        "# the loopback one",
        "jobs = 2 # keep",
    ] {
        assert!(after.contains(kept), "{after}");
    }
    assert!(
        after.contains("global-credential-providers = [\"cargo-confirm-gui\"]"),
        "{after}"
    );
    assert_eq!(
        std::fs::read_to_string(h.home.join(".bashrc")).unwrap(),
        format!(
            "# aliases\nalias ll='ls -l'\n{}\n",
            cargo_confirm_gui::adopt::REPLACED
        )
    );

    // Again: nothing to do, no window, nothing changed.
    let before = h.files();
    let (status, _, err) = wait_output(
        h.cargo(&["confirm-gui", "setup"]).spawn().unwrap(),
        Duration::from_secs(60),
    );
    assert!(status.success(), "{err}");
    assert!(err.contains("No clear-text registry token found"), "{err}");
    assert!(
        err.starts_with("Looking for clear-text registry tokens"),
        "{err}"
    );
    assert_eq!(h.files(), before);

    // After: all good, exit 0.
    let (status, out, err) = wait_output(
        h.cargo(&["confirm-gui", "doctor"]).spawn().unwrap(),
        Duration::from_secs(60),
    );
    assert!(status.success(), "{out}{err}");
    assert!(
        out.contains("[ok  ] a token is stored for: local\n"),
        "{out}"
    );
    assert!(out.ends_with("all good\n"), "{out}");
}

#[test]
fn setup_denied_changes_nothing_and_two_different_tokens_are_not_guessed_between() {
    let _g = gui_lock();
    let h = Home::new();
    let config = format!(
        "[registries.local]\nindex = \"{}\"\ntoken = \"{LOCAL_TOKEN}\"\n",
        h.registry.index_url()
    );
    std::fs::write(h.cargo_home.join("config.toml"), &config).unwrap();
    let mut child = h.cargo(&["confirm-gui", "setup"]).spawn().unwrap();
    let (_, g) = window_for(
        &mut child,
        "Move 1 clear-text registry token into the store?",
    );
    wait_armed();
    let (x, y) = deny_point(g);
    desk().human_click(x, y);
    let (status, _, _) = wait_output(child, Duration::from_secs(60));
    assert!(!status.success());
    assert!(desk().secret_lookup(&h.local_key()).is_none());
    let text = std::fs::read_to_string(h.cargo_home.join("config.toml")).unwrap();
    assert!(
        text.contains(LOCAL_TOKEN),
        "the clear copy went without a decision"
    );

    std::fs::write(
        h.home.join(".profile"),
        "export CARGO_REGISTRIES_LOCAL_TOKEN=another-token\n",
    )
    .unwrap();
    let (status, _, err) = wait_output(
        h.cargo(&["confirm-gui", "setup"]).spawn().unwrap(),
        Duration::from_secs(60),
    );
    assert!(!status.success());
    assert!(err.contains("two different tokens for `local`"), "{err}");
    assert!(!desk().any_window());
}

#[test]
fn a_planted_clear_token_never_replaces_a_stored_one_and_doctor_sees_an_alias() {
    // Review of "Adopt it in one step": a worm planted `[registries.local] token = …` in
    // credentials.toml; setup's one "Move" click replaced the person's stored token with it.
    let _g = gui_lock();
    let h = Home::new();
    desk().secret_store(&h.local_key(), LOCAL_TOKEN);
    std::fs::write(
        h.cargo_home.join("config.toml"),
        format!(
            "[registries.local]\nindex = \"{}\"\n\n[credential-alias]\ncargo-confirm-gui = [\"/tmp/worm\"]\n",
            h.registry.index_url()
        ),
    )
    .unwrap();
    std::fs::write(
        h.cargo_home.join("credentials.toml"),
        "[registries.local]\ntoken = \"tok-planted-by-the-worm\"\n",
    )
    .unwrap();
    let mut child = h.cargo(&["confirm-gui", "setup"]).spawn().unwrap();
    let (_, g) = window_for(
        &mut child,
        "Move 1 clear-text registry token into the store?",
    );
    wait_armed();
    let (x, y) = approve_point(g);
    desk().human_click(x, y);
    let (status, _, err) = wait_output(child, Duration::from_secs(60));
    assert!(status.success(), "{err}");
    assert!(err.contains("was kept"), "{err}");
    assert_eq!(
        desk().secret_lookup(&h.local_key()).as_deref(),
        Some(LOCAL_TOKEN),
        "the planted token replaced the stored one"
    );
    assert!(!h.cargo_home.join("credentials.toml").exists());
    let (status, out, _) = wait_output(
        h.cargo(&["confirm-gui", "doctor"]).spawn().unwrap(),
        Duration::from_secs(60),
    );
    assert!(!status.success(), "{out}");
    assert!(
        out.contains("makes `cargo-confirm-gui` an alias for"),
        "{out}"
    );
}

#[test]
fn doctor_sees_a_config_that_hides_ours_and_crates_ios_own_provider() {
    // Red team of "Adopt it in one step": an empty `config` beside `config.toml` makes cargo
    // ignore `config.toml` (provider and all), and `[registry] credential-provider` beats the
    // global list for crates.io; doctor looked at neither, and could say all was well.
    let _g = gui_lock();
    let h = Home::new();
    std::fs::write(
        h.cargo_home.join("config.toml"),
        "[registry]\nglobal-credential-providers = [\"cargo-confirm-gui\"]\n",
    )
    .unwrap();
    let doctor = || {
        wait_output(
            h.cargo(&["confirm-gui", "doctor"]).spawn().unwrap(),
            Duration::from_secs(60),
        )
    };
    let (_, before, _) = doctor();
    assert!(!before.contains("cargo reads only"), "{before}");
    assert!(!before.contains("instead of the global list"), "{before}");

    std::fs::write(
        h.cargo_home.join("config"),
        "[registry]\ncredential-provider = \"cargo:token\"\n",
    )
    .unwrap();
    let (status, out, _) = doctor();
    assert!(!status.success(), "{out}");
    assert!(
        out.contains(&format!(
            "both {} and {} exist: cargo reads only the first",
            h.cargo_home.join("config").display(),
            h.cargo_home.join("config.toml").display()
        )),
        "{out}"
    );
    assert!(
        out.contains("[FIX ] cargo-confirm-gui is a global credential provider in")
            && out.contains(&format!("{}\n", h.cargo_home.join("config").display())),
        "{out}"
    );
    assert!(
        out.contains("credential-provider = \"cargo:token\": cargo uses it for crates.io"),
        "{out}"
    );

    // A copy in ~/.cargo/bin is what cargo runs, whichever helper the person asks.
    let bin = h.cargo_home.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let copy = bin.join("cargo-confirm-gui");
    std::fs::write(&copy, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&copy, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (status, out, _) = wait_output(
        h.run(Path::new(PROVIDER), &["confirm-gui", "doctor"])
            .spawn()
            .unwrap(),
        Duration::from_secs(60),
    );
    assert!(!status.success(), "{out}");
    assert!(
        out.contains(&format!(
            "[FIX ] cargo runs {} for `cargo-confirm-gui`, not this helper",
            copy.display()
        )),
        "{out}"
    );
}

#[test]
fn doctor_names_an_alias_that_makes_cargo_confirm_gui_something_else() {
    // Issue "Fail closed whatever the caller sets" (2): an `[alias]` named `confirm-gui` in
    // the user's cargo config ran a plain `cargo publish` with code injected into cargo,
    // while `doctor` and `log` looked normal.
    let _g = gui_lock();
    let h = Home::new();
    std::fs::write(
        h.cargo_home.join("config.toml"),
        "[registry]\nglobal-credential-providers = [\"cargo-confirm-gui\"]\n\n\
         [alias]\nconfirm-gui = [\"publish\", \"--config\", \"x\"]\n",
    )
    .unwrap();
    // Run as cargo would run the subcommand (`cargo confirm-gui doctor` would now run the
    // alias itself: the worm's command).
    let (status, out, _) = wait_output(
        h.run(Path::new(PROVIDER), &["confirm-gui", "doctor"])
            .spawn()
            .unwrap(),
        Duration::from_secs(60),
    );
    assert!(!status.success(), "{out}");
    assert!(
        out.contains("defines the cargo alias `confirm-gui` = [\"publish\", \"--config\", \"x\"]"),
        "{out}"
    );
    // The same through the environment.
    std::fs::write(
        h.cargo_home.join("config.toml"),
        "[registry]\nglobal-credential-providers = [\"cargo-confirm-gui\"]\n",
    )
    .unwrap();
    let (status, out, _) = wait_output(
        h.run(Path::new(PROVIDER), &["confirm-gui", "doctor"])
            .env("CARGO_ALIAS_CONFIRM_GUI", "publish")
            .spawn()
            .unwrap(),
        Duration::from_secs(60),
    );
    assert!(!status.success(), "{out}");
    assert!(out.contains("sets CARGO_ALIAS_CONFIRM_GUI"), "{out}");

    // Red team: the same alias in a file the config `include`s.
    std::fs::create_dir_all(h.home.join("other")).unwrap();
    std::fs::write(
        h.home.join("other/x.toml"),
        "[alias]\nconfirm-gui = \"publish\"\n",
    )
    .unwrap();
    std::fs::write(
        h.cargo_home.join("config.toml"),
        "include = [\"../other/x.toml\"]\n\n[registry]\n\
         global-credential-providers = [\"cargo-confirm-gui\"]\n",
    )
    .unwrap();
    let (status, out, _) = wait_output(
        h.run(Path::new(PROVIDER), &["confirm-gui", "doctor"])
            .spawn()
            .unwrap(),
        Duration::from_secs(60),
    );
    assert!(!status.success(), "{out}");
    assert!(
        out.contains("x.toml defines the cargo alias `confirm-gui`"),
        "{out}"
    );
}
