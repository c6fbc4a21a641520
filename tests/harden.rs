//! A same-user process that spawned the provider itself cannot ptrace it or read its
//! memory through `/proc/PID/mem` (PR_SET_DUMPABLE=0), while it can do both to an ordinary
//! child (the control). Run as a non-root user: as root (CI) the test creates one.

#![cfg(target_os = "linux")]

use std::process::Command;

const PROVIDER: &str = env!("CARGO_BIN_EXE_cargo-confirm-gui");
const ATTACK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/attack.py");
const USER: &str = "ccg-attacker";

fn python() -> &'static str {
    if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

#[test]
fn same_user_cannot_ptrace_or_read_the_helpers_memory() {
    // Copy what the attacker runs into a directory it can reach.
    let dir = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.path().join("cargo-confirm-gui");
    let script = dir.path().join("attack.py");
    std::fs::copy(PROVIDER, &bin).unwrap();
    std::fs::copy(ATTACK, &script).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();

    let root = rustix::process::getuid().is_root();
    let out = if root {
        let exists = Command::new("id")
            .arg(USER)
            .output()
            .unwrap()
            .status
            .success();
        if !exists {
            let made = Command::new("useradd")
                .args([
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    USER,
                ])
                .status()
                .expect("useradd");
            assert!(
                made.success(),
                "could not create the unprivileged test user"
            );
        }
        Command::new("runuser")
            .args(["-u", USER, "--", python()])
            .arg(&script)
            .arg(&bin)
            .output()
            .expect("runuser")
    } else {
        Command::new(python())
            .arg(&script)
            .arg(&bin)
            .output()
            .expect("python3")
    };
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let line = |who: &str| {
        text.lines()
            .find(|l| l.starts_with(who))
            .unwrap_or_else(|| panic!("no {who} line: {text}"))
            .to_string()
    };
    // The control shows the attack works here at all; otherwise the test would prove nothing.
    let control = line("control");
    assert!(
        control.contains("'mem': 'readable'") && control.contains("'ptrace': 'attached'"),
        "ptrace is restricted here, the test cannot tell: {text}"
    );
    let provider = line("provider");
    assert!(provider.contains("'mem': 'denied:13'"), "{text}");
    assert!(provider.contains("'ptrace': 'denied:1'"), "{text}");
}
