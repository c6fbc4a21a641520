//! Under a Wayland compositor (weston's headless backend) the provider runs as a native
//! Wayland client. The person's compositor runs as another user: the window opens there,
//! and a Deny (timeout, or cargo going away) releases nothing. A compositor the helper's own
//! user started (a worm's) is refused before any window opens, and so is a `WAYLAND_SOCKET`
//! handed down to the helper. No test can click here: Wayland gives clients no way to inject
//! input into another client, which is also why there is no input guard on Wayland.

#![cfg(target_os = "linux")]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

struct Weston {
    child: std::process::Child,
    socket: PathBuf,
    _runtime: tempfile::TempDir,
}

impl Drop for Weston {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn weston(runs: Runs) -> Weston {
    let runtime = tempfile::tempdir().unwrap();
    std::fs::set_permissions(runtime.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut cmd = match runs {
        Runs::Person => {
            let status = Command::new("chown")
                .arg(PERSON)
                .arg(runtime.path())
                .status()
                .unwrap();
            assert!(status.success());
            person_command("weston")
        }
        Runs::Worm => Command::new("weston"),
    };
    let child = cmd
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
    let socket = runtime.path().join("wayland-ccg");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !socket.exists() {
        assert!(Instant::now() < deadline, "weston did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Weston {
        child,
        socket,
        _runtime: runtime,
    }
}

fn request(p: &Project) -> String {
    let mut request = p.publish_request("wl", "1.0.0", &"0".repeat(64));
    request["args"] = serde_json::json!(["--timeout=5"]);
    request.to_string()
}

/// The provider with its display on `w`, given (as a person's session would not, but the
/// helper runs as another user here) as an absolute socket path.
fn provider(p: &Project, w: &Weston) -> std::process::Command {
    let mut cmd = p.provider();
    cmd.env_remove("DISPLAY").env("WAYLAND_DISPLAY", &w.socket);
    cmd
}

fn project(name: &str) -> Project {
    let p = Project::new(name, Options::default(), ProviderConfig::PerRegistry(&[]));
    desk().secret_store(&p.key(), "tok-wayland");
    p
}

#[test]
fn wayland_window_opens_and_times_out_as_deny() {
    let w = weston(Runs::Person);
    let p = project("wl-timeout");
    let started = Instant::now();
    let (child, stdin) = start_plugin(&mut provider(&p, &w), &request(&p));
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
    let w = weston(Runs::Person);
    let p = project("wl-gone");
    let (child, stdin) = start_plugin(&mut provider(&p, &w), &request(&p));
    std::thread::sleep(Duration::from_secs(2));
    drop(stdin);
    let (_, out, err) = wait_output(child, Duration::from_secs(20));
    assert!(
        out.contains("the caller went away while the window was open"),
        "{out}\n{err}"
    );
    assert!(!out.contains("tok-wayland"));
}

#[test]
fn a_headless_compositor_the_worm_started_is_refused() {
    let w = weston(Runs::Worm);
    let p = project("wl-worm");
    let started = Instant::now();
    let (child, stdin) = start_plugin(&mut provider(&p, &w), &request(&p));
    let (_, out, err) = wait_output(child, Duration::from_secs(30));
    drop(stdin);
    assert!(
        out.contains("refused to show its window")
            && out.contains("Wayland compositor")
            && out.contains("weston (pid")
            && out.contains("runs as you"),
        "{out}\n{err}"
    );
    assert!(!out.contains("tok-wayland"));
    // Refused at once, not after a window timed out.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn wayland_socket_to_the_worms_compositor_is_refused_while_display_is_the_persons() {
    // The worm hands the helper an open connection to its own compositor as WAYLAND_SOCKET
    // and leaves DISPLAY as the person's X server. winit would take the socket and open
    // the window there, behind the X11 guard's back.
    let w = weston(Runs::Worm);
    let p = project("wl-socket");
    let socket = std::os::unix::net::UnixStream::connect(&w.socket).unwrap();
    use std::os::fd::AsRawFd;
    let fd = socket.as_raw_fd();
    // Keep it open across exec: clear FD_CLOEXEC.
    rustix::io::fcntl_setfd(&socket, rustix::io::FdFlags::empty()).unwrap();
    let mut cmd = p.provider();
    cmd.env("WAYLAND_SOCKET", fd.to_string())
        .env_remove("WAYLAND_DISPLAY");
    let (child, stdin) = start_plugin(&mut cmd, &request(&p));
    drop(socket);
    let (_, out, err) = wait_output(child, Duration::from_secs(30));
    drop(stdin);
    assert!(
        out.contains("WAYLAND_SOCKET is set") && out.contains("Nothing was released"),
        "{out}\n{err}"
    );
    assert!(
        !desk().any_window(),
        "a window opened on the person's display"
    );
    assert!(!out.contains("tok-wayland"));
    // Control: the same helper with the person's DISPLAY and no WAYLAND_SOCKET opens its
    // window there.
    let (mut child, stdin) = start_plugin(&mut p.provider(), &request(&p));
    let (_, g) = window_for(&mut child, "cargo-confirm-gui");
    let (x, y) = deny_point(g);
    std::thread::sleep(Duration::from_millis(300));
    desk().human_click(x, y);
    let (_, out, _) = wait_output(child, Duration::from_secs(30));
    drop(stdin);
    assert!(out.contains("denied"), "{out}");
}
