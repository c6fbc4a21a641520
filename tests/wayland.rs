//! Under a Wayland compositor (weston's headless backend) the provider runs as a native
//! Wayland client: the window opens and a Deny (timeout, or cargo going away) releases
//! nothing. No test can click here: Wayland gives clients no way to inject input into
//! another client, which is also why there is no input guard on Wayland.

#![cfg(target_os = "linux")]

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

struct Weston {
    child: std::process::Child,
    runtime: tempfile::TempDir,
}

impl Drop for Weston {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn weston() -> Weston {
    let runtime = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(runtime.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let child = Command::new("weston")
        .args([
            "--backend=headless-backend.so",
            "--socket=wayland-ccg",
            "--idle-time=0",
        ])
        .env("XDG_RUNTIME_DIR", runtime.path())
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("weston is not installed; scripts/test.sh installs it");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !runtime.path().join("wayland-ccg").exists() {
        assert!(Instant::now() < deadline, "weston did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Weston { child, runtime }
}

fn request(p: &Project) -> String {
    let mut request = p.publish_request("wl", "1.0.0", &"0".repeat(64));
    request["args"] = serde_json::json!(["--timeout=5"]);
    request.to_string()
}

fn provider(p: &Project, w: &Weston) -> std::process::Child {
    let mut cmd = p.provider();
    cmd.env_remove("DISPLAY")
        .env("WAYLAND_DISPLAY", "wayland-ccg")
        .env("XDG_RUNTIME_DIR", w.runtime.path())
        .arg("--cargo-plugin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.spawn().unwrap()
}

#[test]
fn wayland_window_opens_and_times_out_as_deny() {
    let w = weston();
    let p = Project::new(
        "wl-timeout",
        Options::default(),
        ProviderConfig::PerRegistry(&[]),
    );
    desk().secret_store(&p.key(), "tok-wayland");
    let mut child = provider(&p, &w);
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", request(&p)).unwrap();
    let started = Instant::now();
    let (_, out, err) = wait_output(child, Duration::from_secs(60));
    drop(stdin);
    // Only the window's own clock ends a request this way: it was open for the timeout.
    assert!(
        out.contains("nobody answered the confirmation window in time"),
        "{out}\n{err}"
    );
    assert!(started.elapsed() >= Duration::from_secs(5));
    assert!(!out.contains("tok-wayland"));
}

#[test]
fn wayland_window_closes_when_the_caller_goes_away() {
    let w = weston();
    let p = Project::new(
        "wl-gone",
        Options::default(),
        ProviderConfig::PerRegistry(&[]),
    );
    desk().secret_store(&p.key(), "tok-wayland");
    let mut child = provider(&p, &w);
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", request(&p)).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    drop(stdin);
    let (_, out, err) = wait_output(child, Duration::from_secs(20));
    assert!(
        out.contains("the caller went away while the window was open"),
        "{out}\n{err}"
    );
    assert!(!out.contains("tok-wayland"));
}
