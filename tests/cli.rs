//! The command line a newcomer finds their way in (issue "The window a person reads in three
//! seconds, and a command line a newcomer finds their way in"): one clap tree for both forms,
//! `--help` that never runs anything, `--version` in both forms, the old
//! `credential-process` key rewritten and flagged, `setup` all or nothing, and `uninstall`.
//! No display and no Secret Service: none of this may need one.

#![cfg(target_os = "linux")]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::PROVIDER;

/// A home of its own, with no display, no D-Bus and no keyring.
struct Home {
    _tmp: tempfile::TempDir,
    home: PathBuf,
}

impl Home {
    fn new() -> Home {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        Home { _tmp: tmp, home }
    }

    fn cargo_home(&self) -> PathBuf {
        self.home.join(".cargo")
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(PROVIDER)
            .args(args)
            .current_dir(&self.home)
            .env_clear()
            .env("HOME", &self.home)
            .env("CARGO_HOME", self.cargo_home())
            .env("XDG_RUNTIME_DIR", self.home.join("runtime"))
            .env("XDG_STATE_HOME", self.home.join("state"))
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .output()
            .unwrap()
    }

    /// Every file under the home, for "nothing was written".
    fn files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut dirs = vec![self.home.clone()];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                if e.path().is_dir() {
                    dirs.push(e.path());
                }
                out.push(e.path());
            }
        }
        out
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const COMMANDS: &[&str] = &[
    "get",
    "publish",
    "yank",
    "owner",
    "setup",
    "uninstall",
    "doctor",
    "status",
    "log",
];

#[test]
fn every_command_is_listed_and_its_help_runs_nothing() {
    let h = Home::new();
    for form in [&["--help"][..], &["confirm-gui", "--help"]] {
        let out = h.run(form);
        assert!(out.status.success(), "{out:?}");
        let help = text(&out.stdout);
        for c in COMMANDS {
            assert!(
                help.contains(&format!("\n  {c} ")),
                "{c} missing from {form:?}:\n{help}"
            );
        }
    }
    for c in COMMANDS {
        for args in [
            vec!["confirm-gui", c, "--help"],
            vec![c, "--help"],
            vec![c, "-h"],
        ] {
            let out = h.run(&args);
            assert!(out.status.success(), "{args:?}: {out:?}");
            let help = text(&out.stdout);
            assert!(help.contains("Usage:"), "{args:?}: {help}");
        }
    }
    // `setup --help` set nothing up, `doctor --help` checked nothing: the home is as it was.
    assert_eq!(h.files(), Vec::<PathBuf>::new());
}

#[test]
fn the_version_names_the_store_and_the_presence_step_in_both_forms() {
    let h = Home::new();
    for args in [&["--version"][..], &["confirm-gui", "--version"]] {
        let out = h.run(args);
        assert!(out.status.success(), "{args:?}: {out:?}");
        let v = text(&out.stdout);
        assert!(
            v.starts_with(&format!("cargo-confirm-gui {}", env!("CARGO_PKG_VERSION"))),
            "{v}"
        );
        assert!(v.contains("Token store:"), "{v}");
        assert!(v.contains("Presence after Approve:"), "{v}");
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn the_old_credential_process_key_is_flagged_rewritten_and_uninstall_takes_it_all_out() {
    let h = Home::new();
    let config = h.cargo_home().join("config.toml");
    write(
        &config,
        "# mine\n[registry]\ncredential-process = [\"cargo-confirm-gui\", \"get\"]\n\n\
         [registries.local]\nindex = \"sparse+http://127.0.0.1:9/index/\"\n\
         credential-process = \"cargo-confirm-gui --timeout=60\"\n",
    );
    // doctor names it, with the fix.
    let out = h.run(&["confirm-gui", "doctor"]);
    let said = text(&out.stdout) + &text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        said.contains("[registry] has credential-process")
            && said.contains("cargo ignores that key")
            && said.contains("run `cargo confirm-gui setup`"),
        "{said}"
    );
    // setup rewrites both, keeping the arguments and the comment, and adds the provider.
    let out = h.run(&["confirm-gui", "setup"]);
    assert!(out.status.success(), "{out:?}");
    let after = std::fs::read_to_string(&config).unwrap();
    let doc: toml::Table = after.parse().unwrap();
    assert!(after.starts_with("# mine"), "{after}");
    assert_eq!(
        doc["registry"]["credential-provider"],
        toml::Value::Array(vec!["cargo-confirm-gui".into(), "get".into()])
    );
    assert_eq!(
        doc["registries"]["local"]["credential-provider"].as_str(),
        Some("cargo-confirm-gui --timeout=60")
    );
    assert!(!after.contains("credential-process"), "{after}");
    assert!(
        doc["registry"]["global-credential-providers"]
            .as_array()
            .unwrap()
            .contains(&"cargo-confirm-gui".into())
    );
    // uninstall takes every mention out, says so, and says where the tokens are.
    let out = h.run(&["confirm-gui", "uninstall"]);
    assert!(out.status.success(), "{out:?}");
    let said = text(&out.stderr);
    assert!(
        said.contains("Removed [registry] global-credential-providers"),
        "{said}"
    );
    assert!(said.contains("The tokens stay where they are"), "{said}");
    let after = std::fs::read_to_string(&config).unwrap();
    assert!(!after.contains("cargo-confirm-gui"), "{after}");
    assert!(
        after.contains("[registries.local]"),
        "the rest stays: {after}"
    );
    // Again: nothing to undo.
    let out = h.run(&["confirm-gui", "setup", "--undo"]);
    assert!(text(&out.stderr).contains("nothing to undo"), "{out:?}");
}

#[test]
fn setup_that_cannot_finish_takes_its_change_back() {
    // A clear token to move, and no display to ask on: setup cannot finish. The provider it
    // added is taken out again, and it says so; the clear token is where it was.
    let h = Home::new();
    let creds = h.cargo_home().join("credentials.toml");
    write(
        &creds,
        "[registry]\ntoken = \"cioSetupTestToken0123456789abcdefAB\"\n",
    );
    let out = h.run(&["confirm-gui", "setup"]);
    assert!(!out.status.success(), "{out:?}");
    let said = text(&out.stderr);
    assert!(
        said.contains("setup did not finish: it took the provider out"),
        "{said}"
    );
    let config = std::fs::read_to_string(h.cargo_home().join("config.toml")).unwrap_or_default();
    assert!(!config.contains("cargo-confirm-gui"), "{config}");
    assert!(
        std::fs::read_to_string(&creds)
            .unwrap()
            .contains("cioSetupTestToken")
    );
}

#[test]
fn status_says_which_registries_have_a_token() {
    let h = Home::new();
    write(
        &h.cargo_home().join("config.toml"),
        "[registries.local]\nindex = \"sparse+http://127.0.0.1:9/index/\"\n",
    );
    let out = h.run(&["confirm-gui", "status", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v["registries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["crates-io", "local"]);
    // No Secret Service here: not known, and said so, never "no token".
    assert_eq!(v["registries"][1]["token_stored"], serde_json::Value::Null);
    assert!(v["store_error"].is_string(), "{v}");
    assert!(v["presence"].is_string() && v["policy"].is_string(), "{v}");
}

#[test]
fn completions_and_the_man_page_come_from_the_same_tree() {
    let h = Home::new();
    let dir = h.home.join("generated");
    let out = h.run(&["__generate", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let bash = std::fs::read_to_string(dir.join("cargo-confirm-gui.bash")).unwrap();
    let man = std::fs::read_to_string(dir.join("cargo-confirm-gui.1")).unwrap();
    for c in ["publish", "uninstall", "status"] {
        assert!(bash.contains(c), "{c} not in the bash completions");
        assert!(man.contains(c), "{c} not in the man page");
    }
    assert!(dir.join("_cargo-confirm-gui").exists() && dir.join("cargo-confirm-gui.fish").exists());
}

#[test]
fn enroll_without_a_display_says_what_it_needs_not_how_to_publish_from_ci() {
    let h = Home::new();
    let out = h.run(&["--enroll", "--registry", "crates-io"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--enroll needs a window on your desktop"),
        "{err}"
    );
    assert!(err.contains("neither DISPLAY nor WAYLAND_DISPLAY"), "{err}");
    assert!(
        !err.contains("trusted publishing") && !err.contains("--ci=pass"),
        "{err}"
    );
}
