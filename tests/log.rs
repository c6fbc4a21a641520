//! `cargo confirm-gui log` through the real binary (issue 13, "a log that cannot be rewritten
//! quietly"): a log the helper wrote verifies and exits 0; one edited afterwards exits
//! non-zero and names the record. No display is needed.

use std::path::Path;
use std::process::{Command, Output};

use cargo_confirm_gui::audit::{self, Record};

const PROVIDER: &str = env!("CARGO_BIN_EXE_cargo-confirm-gui");

/// `cargo-confirm-gui confirm-gui log ARGS`, as cargo runs it, with the state directory at
/// `state` and no display.
fn log(state: &Path, args: &[&str]) -> Output {
    Command::new(PROVIDER)
        .args(["confirm-gui", "log"])
        .args(args)
        .env_clear()
        .env("HOME", state)
        .env("XDG_STATE_HOME", state)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap()
}

/// A state directory whose log holds three decisions, as the helper writes them.
fn state_with_log() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let path = audit::log_path(dir.path());
    for (i, (detail, outcome)) in [
        ("foo 1.0.0 sha256:ab", "approved"),
        ("foo 1.0.1 sha256:cd", "denied in the confirmation window"),
        ("bar 0.3.0", "approved"),
    ]
    .into_iter()
    .enumerate()
    {
        audit::append(
            &path,
            &Record {
                // 2026-11-25T10:00:00Z, a day apart.
                time: 1_795_600_800 + i as u64 * 86_400,
                registry: "sparse+https://index.crates.io/",
                operation: if i == 2 { "yank" } else { "publish" },
                detail: detail.into(),
                requester: "/usr/bin/cargo".into(),
                outcome: outcome.into(),
                evidence: String::new(),
                provenance: None,
            },
        )
        .unwrap();
    }
    dir
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

#[test]
fn a_good_log_prints_the_table_and_exits_0() {
    let dir = state_with_log();
    let out = log(dir.path(), &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("time (UTC)"), "{stdout}");
    for (line, cells) in lines[1..4].iter().zip([
        ["2026-11-25 10:00:00", "publish", "foo", "1.0.0", "approved"],
        ["2026-11-26 10:00:00", "publish", "foo", "1.0.1", "denied"],
        ["2026-11-27 10:00:00", "yank", "bar", "0.3.0", "approved"],
    ]) {
        for c in cells {
            assert!(line.contains(c), "{c} in {line}");
        }
    }
    assert_eq!(lines[4], "chain verified: 3 records");

    let out = log(dir.path(), &["--json", "--since", "2026-11-26"]);
    assert!(out.status.success(), "{out:?}");
    let values: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(values.len(), 3, "{values:?}");
    assert_eq!(values[0]["detail"], "foo 1.0.1 sha256:cd");
    assert_eq!(values[2]["chain"], "verified");
    assert_eq!(values[2]["records"], 3);
}

#[test]
fn a_tampered_log_exits_non_zero_naming_the_record() {
    let dir = state_with_log();
    let path = audit::log_path(dir.path());
    // A worm turns the Deny into an Approve.
    let edited = std::fs::read_to_string(&path)
        .unwrap()
        .replace("denied in the confirmation window", "approved");
    std::fs::write(&path, edited).unwrap();
    let out = log(dir.path(), &[]);
    assert!(!out.status.success(), "{out:?}");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("CHAIN BROKEN at record 3 (2026-11-27 10:00:00 UTC, audit.jsonl line 3)"),
        "{stdout}"
    );
    assert!(
        text(&out.stderr).contains("the audit log's chain is broken"),
        "{out:?}"
    );

    let out = log(dir.path(), &["--json"]);
    assert!(!out.status.success(), "{out:?}");
    let last: serde_json::Value =
        serde_json::from_str(text(&out.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(last["chain"], "broken");
    assert_eq!(last["record"], 3);
}

#[test]
fn bad_arguments_are_refused() {
    let dir = state_with_log();
    let out = log(dir.path(), &["--since", "yesterday"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--since takes a duration"),
        "{out:?}"
    );
    assert!(out.stdout.is_empty());
}
