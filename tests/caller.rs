//! Nothing the caller supplies: a worm running as the user writes the request, the
//! environment and the command line, and can exec a genuine cargo. Each attack runs against
//! the real binary; each ends with nothing released, and says why. (The policy-file attacks
//! are in `policy.rs`, `get` under cargo in `e2e.rs`, hidden characters in `views.rs` and
//! `protocol.rs`.)

#![cfg(target_os = "linux")]

mod support;

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::*;

const TOKEN: &str = "tok-caller-0123456789abcdef";
const WORM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/borrow_cargo.py");

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    cargo_confirm_gui::package::hex(&sha2::Sha256::digest(bytes))
}

/// Runs the worm of `borrow_cargo.py` in `mode` (`close`, `keep` or `jobserver`: how the
/// genuine cargo it becomes comes to hold the pipe ends, see the script). A person first clicks Approve (which must do
/// nothing), then Deny; returns the helper's answer as the sibling got it, and what the
/// window said.
fn borrow_cargo(name: &str, mode: &str) -> (String, Project) {
    let p = Project::enrolled(name, TOKEN, &[]);
    // A real .crate, packaged by cargo, whose checksum the forged request carries.
    let (status, _, err) = wait_output(
        p.cargo(&["package", "--no-verify", "--allow-dirty"])
            .spawn()
            .unwrap(),
        Duration::from_secs(120),
    );
    assert!(status.success(), "{err}");
    let file = p.dir.join(format!("target/package/{name}-0.1.0.crate"));
    let cksum = sha256_hex(&std::fs::read(&file).unwrap());
    // The genuine cargo the worm becomes blocks reading this.
    std::fs::remove_file(p.dir.join("Cargo.toml")).unwrap();
    let status = Command::new("mkfifo")
        .arg(p.dir.join("Cargo.toml"))
        .status()
        .unwrap();
    assert!(status.success());
    let request = p.publish_request(name, "0.1.0", &cksum).to_string();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let template = p.cargo(&[]);
    let mut worm = Command::new("python3");
    for (k, v) in template.get_envs() {
        match v {
            Some(v) => worm.env(k, v),
            None => worm.env_remove(k),
        };
    }
    worm.arg(WORM)
        .arg(PROVIDER)
        .arg(&cargo)
        .arg(&p.dir)
        .arg(&request)
        .arg(mode)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let _g = gui_lock();
    let mut child = worm.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let (id, g) = window_for(&mut child, "cargo-confirm-gui");
    wait_armed();
    let (x, y) = approve_point(g);
    desk().human_click(x, y);
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        rx.try_recv().is_err(),
        "the helper answered a person's Approve for a borrowed cargo"
    );
    // The title says so, as the body does in red.
    let title = Command::new("xdotool")
        .env("DISPLAY", &desk().display)
        .args(["getwindowname", &id])
        .output()
        .unwrap();
    let title = String::from_utf8_lossy(&title.stdout);
    assert!(
        title.contains("asked by a program that is not cargo"),
        "{title}"
    );
    let (x, y) = deny_point(g);
    desk().human_click(x, y);
    let answer = rx.recv_timeout(Duration::from_secs(60)).unwrap();
    // The process that exec'd cargo is still blocked on the FIFO.
    let _ = child.kill();
    let _ = child.wait();
    (answer, p)
}

#[test]
fn a_sibling_holding_the_pipes_behind_a_genuine_cargo_gets_nothing() {
    // Regression, "Nothing the caller supplies" (3).
    let (answer, p) = borrow_cargo("caller-borrow", "close");
    assert!(!answer.contains(TOKEN), "{answer}");
    assert!(
        answer.contains("\"Err\"") && answer.contains("denied"),
        "{answer}"
    );
    let audit = p.audit();
    let last = audit.last().unwrap();
    assert!(
        last["outcome"]
            .as_str()
            .unwrap()
            .contains("denied in the confirmation window"),
        "{last}"
    );
    assert!(p.registry.mutations().is_empty());
}

#[test]
fn a_genuine_cargo_that_merely_inherited_the_pipes_is_not_the_caller() {
    // The same worm, but the cargo it execs also keeps the pipe ends it inherited: it holds
    // them, but did not make them (no close-on-exec).
    let (answer, p) = borrow_cargo("caller-borrow-kept", "keep");
    assert!(!answer.contains(TOKEN), "{answer}");
    assert!(answer.contains("\"Err\""), "{answer}");
    assert!(p.registry.mutations().is_empty());
}

#[test]
fn a_genuine_cargo_lent_the_pipes_through_its_jobserver_is_not_the_caller() {
    // Review of "Nothing the caller supplies": the worm names its ends of the helper's pipes
    // in CARGO_MAKEFLAGS, so a genuine cargo marks them close-on-exec itself and alone holds
    // them; the answer is then read out of cargo's end through /proc. Two rules stop it, each
    // alone (checked by disabling the other): cargo holds two descriptors on each pipe (its
    // jobserver client duplicates them), and the jobserver variables name them.
    let (answer, p) = borrow_cargo("caller-borrow-jobserver", "jobserver");
    assert!(!answer.contains(TOKEN), "{answer}");
    assert!(answer.contains("\"Err\""), "{answer}");
    let last = p.audit().last().unwrap().clone();
    assert!(
        last["outcome"].as_str().unwrap().contains("denied"),
        "{last}"
    );
    assert!(p.registry.mutations().is_empty());
}

#[test]
fn a_forged_publish_with_no_crate_to_check_cannot_be_approved() {
    // Regression, "Nothing the caller supplies" (4): from a directory with no .crate, the
    // window said "not verified" and Approve stayed available.
    let _g = gui_lock();
    let p = Project::enrolled("caller-nocrate", TOKEN, &[]);
    let request = p
        .publish_request("caller-nocrate", "0.1.0", &"ab".repeat(32))
        .to_string();
    let (mut child, stdin) = start_plugin(&mut p.provider(), &request);
    let (_, g) = window_for(&mut child, "cargo-confirm-gui");
    wait_armed();
    let (x, y) = approve_point(g);
    desk().human_click(x, y);
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        child.try_wait().unwrap().is_none(),
        "a person's Approve was accepted"
    );
    let (x, y) = deny_point(g);
    desk().human_click(x, y);
    let (_, out, _) = wait_output(child, Duration::from_secs(60));
    drop(stdin);
    assert!(!out.contains(TOKEN), "{out}");
    let evidence = p.audit().last().unwrap()["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(evidence.contains("not found"), "{evidence}");
}
