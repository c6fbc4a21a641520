//! macOS and Windows: the real helper opens its window through the window process and a
//! window nobody answers ends as a Deny. Regression, "A house a newcomer can change": the
//! window process was started as `/proc/self/exe` on every platform, so no window could
//! open on macOS or Windows and every request was refused; CI there ran only `--lib`, which
//! never starts one.
//!
//! These platforms cannot run here (no macOS or Windows machine): this file is type-checked
//! and linted with `cargo clippy --target … --all-targets`, and the workflow runs it
//! (`.github/workflows/ci.yml`), on runners that have a desktop session.

#![cfg(any(target_os = "macos", windows))]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PROVIDER: &str = env!("CARGO_BIN_EXE_cargo-confirm-gui");

#[test]
fn an_unanswered_window_opens_and_ends_as_a_deny() {
    // `cargo login` with no token: the enroll window, for a registry no token is stored for,
    // three seconds to live.
    let request = r#"{"v":1,"registry":{"index-url":"sparse+http://127.0.0.1:9/ccg-platform-test/","name":"ccg-platform-test"},"kind":"login","args":["--timeout=3"]}"#;
    let mut child = Command::new(PROVIDER)
        .arg("--cargo-plugin")
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the helper starts");
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{request}").unwrap();
    let started = Instant::now();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut hello = String::new();
    out.read_line(&mut hello).unwrap();
    assert!(hello.contains("\"v\""), "{hello}");
    let mut answer = String::new();
    out.read_line(&mut answer).unwrap();
    drop(stdin);
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    // A window was shown, and ran until its timeout: not refused at once (the bug), not a
    // display failure.
    assert!(
        answer.contains("nobody answered the confirmation window in time"),
        "{answer}\n{err}"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(status.success(), "{status:?} {err}");
}
