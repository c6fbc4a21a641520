//! End to end: real cargo drives the provider against a registry on 127.0.0.1, tokens go
//! through a real Secret Service (gnome-keyring on a private bus), windows open on a real X
//! server, and a person's clicks arrive through Xephyr.

#![cfg(target_os = "linux")]

mod support;

use std::process::Stdio;
use std::time::Duration;

use support::*;

const TOKEN: &str = "tok-e2e-0123456789abcdef";
const CARGO: Duration = Duration::from_secs(120);

fn project(name: &str, args: &[&str]) -> Project {
    Project::enrolled(name, TOKEN, args)
}

#[test]
fn approve_by_a_person_uploads_exactly_the_stored_token() {
    let _g = gui_lock();
    let p = project("e2e-approve", &["get"]);
    let child = p.publish();
    let (status, _, err) = person_answers(child, "cargo-confirm-gui", Click::Approve);
    assert!(status.success(), "cargo publish failed: {err}");
    let puts: Vec<_> = p.registry.mutations();
    assert_eq!(puts.len(), 1, "{puts:?}");
    assert_eq!(puts[0].path, "/api/v1/crates/new");
    // The upload carries exactly the approved token, never the pre-flight placeholder.
    assert_eq!(puts[0].authorization.as_deref(), Some(TOKEN));
    assert_eq!(
        p.registry.published(),
        vec!["e2e-approve 0.1.0".to_string()]
    );
    // Still stored afterwards.
    assert_eq!(desk().secret_lookup(&p.key()).as_deref(), Some(TOKEN));
    // The window checked the very file cargo held open for the upload.
    let audit = p.audit();
    let evidence = audit.last().unwrap()["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        evidence.starts_with("crate file verified (held open by cargo)"),
        "{evidence}"
    );
}

#[test]
fn deny_by_a_person_fails_and_the_registry_gets_nothing() {
    let _g = gui_lock();
    let p = project("e2e-deny", &[]);
    let child = p.publish();
    let (status, _, err) = person_answers(child, "cargo-confirm-gui", Click::Deny);
    assert!(!status.success());
    assert!(err.contains("denied in the confirmation window"), "{err}");
    assert!(
        p.registry.mutations().is_empty(),
        "{:?}",
        p.registry.mutations()
    );
}

#[test]
fn closing_the_window_denies() {
    let _g = gui_lock();
    let p = project("e2e-close", &[]);
    let mut child = p.publish();
    let (id, _) = window_for(&mut child, "cargo-confirm-gui");
    std::thread::sleep(Duration::from_millis(300));
    desk().close_window(&id);
    let (status, _, err) = wait_output(child, CARGO);
    assert!(!status.success());
    assert!(
        err.contains("denied: the confirmation window was closed"),
        "{err}"
    );
    assert!(p.registry.mutations().is_empty());
}

#[test]
fn window_destroyed_by_another_program_fails_closed_without_a_crash() {
    let _g = gui_lock();
    let p = project("e2e-destroy", &[]);
    let mut child = p.publish();
    let (id, _) = window_for(&mut child, "cargo-confirm-gui");
    std::thread::sleep(Duration::from_millis(300));
    desk().destroy_window(&id);
    let (status, _, err) = wait_output(child, CARGO);
    assert!(!status.success());
    assert!(
        err.contains("ended abnormally") && err.contains("Nothing was released"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    // Advice that fits: no setting of the person's made this happen.
    assert!(
        !err.contains("DISPLAY") && !err.contains("--ci=pass"),
        "{err}"
    );
    assert!(p.registry.mutations().is_empty());
}

#[test]
fn no_answer_times_out_as_deny() {
    let _g = gui_lock();
    let p = project("e2e-timeout", &["--timeout=5"]);
    let started = std::time::Instant::now();
    let mut child = p.publish();
    window_for(&mut child, "cargo-confirm-gui");
    let (status, _, err) = wait_output(child, CARGO);
    assert!(!status.success());
    assert!(err.contains("nobody answered"), "{err}");
    assert!(started.elapsed() >= Duration::from_secs(5));
    assert!(p.registry.mutations().is_empty());
}

#[test]
fn piped_yes_on_stdin_does_not_answer_the_window() {
    let _g = gui_lock();
    let p = project("e2e-yes", &[]);
    let mut yes = std::process::Command::new("yes")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut cmd = p.publish_cmd();
    cmd.stdin(yes.stdout.take().unwrap());
    let mut child = cmd.spawn().unwrap();
    let (_, g) = window_for(&mut child, "cargo-confirm-gui");
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        child.try_wait().unwrap().is_none(),
        "cargo finished without a click"
    );
    assert!(p.registry.mutations().is_empty());
    let (x, y) = deny_point(g);
    desk().human_click(x, y);
    let (status, _, err) = wait_output(child, CARGO);
    let _ = yes.kill();
    let _ = yes.wait();
    assert!(!status.success(), "{err}");
    assert!(err.contains("denied in the confirmation window"), "{err}");
    assert!(p.registry.mutations().is_empty());
}

#[test]
fn ci_refuses_at_once_without_a_window() {
    let _g = gui_lock();
    let p = project("e2e-ci", &[]);
    let child = p.publish_cmd().env("CI", "true").spawn().unwrap();
    let (status, _, err) = wait_output(child, CARGO);
    assert!(!status.success());
    assert!(
        err.contains("looks like a CI runner (`CI` is set)"),
        "{err}"
    );
    assert!(err.contains("trusted publishing"), "{err}");
    assert!(!desk().any_window());
    assert!(p.registry.mutations().is_empty());
}

#[test]
fn no_display_refuses_at_once() {
    let p = project("e2e-headless", &[]);
    let child = p.publish_cmd().env_remove("DISPLAY").spawn().unwrap();
    let (status, _, err) = wait_output(child, CARGO);
    assert!(!status.success());
    assert!(err.contains("there is no display"), "{err}");
    assert!(p.registry.mutations().is_empty());
}

#[test]
fn unreachable_display_refuses_at_once() {
    let p = project("e2e-baddisplay", &[]);
    let child = p.publish_cmd().env("DISPLAY", ":4999").spawn().unwrap();
    let (status, _, err) = wait_output(child, CARGO);
    assert!(!status.success());
    assert!(err.contains("display cannot be reached"), "{err}");
    assert!(p.registry.mutations().is_empty());
}

#[test]
fn ci_pass_lets_cargo_fall_through() {
    let p = project("e2e-cipass", &["--ci=pass"]);
    let child = p.publish_cmd().env("CI", "1").spawn().unwrap();
    let (status, _, err) = wait_output(child, CARGO);
    assert!(!status.success());
    assert!(err.contains("no token found"), "{err}");
    // Passed on, not "not stored": the token may well be stored.
    assert!(!err.contains("is stored"), "{err}");
    assert!(p.registry.mutations().is_empty());
}

#[test]
fn global_provider_by_name_on_path_and_yank() {
    let _g = gui_lock();
    let p = Project::new(
        "e2e-yank",
        Options {
            token: Some(TOKEN.into()),
            auth_required: false,
            refuse: None,
        },
        ProviderConfig::Global("cargo-confirm-gui"),
    );
    desk().secret_store(&p.key(), TOKEN);
    let child = p
        .cargo(&[
            "yank",
            "--registry",
            "local",
            "--version",
            "0.1.0",
            "e2e-yank",
        ])
        .spawn()
        .unwrap();
    let (status, _, err) = person_answers(child, "YANK e2e-yank 0.1.0", Click::Approve);
    assert!(status.success(), "{err}");
    let m = p.registry.mutations();
    assert_eq!(m.len(), 1);
    assert_eq!(
        (m[0].method.as_str(), m[0].path.as_str()),
        ("DELETE", "/api/v1/crates/e2e-yank/0.1.0/yank")
    );
    assert_eq!(m[0].authorization.as_deref(), Some(TOKEN));
}

#[test]
fn unenrolled_registry_says_how_to_enroll() {
    let p = Project::new(
        "e2e-unenrolled",
        Options::default(),
        ProviderConfig::PerRegistry(&[]),
    );
    let child = p.publish_cmd().spawn().unwrap();
    let (status, _, err) = wait_output(child, CARGO);
    assert!(!status.success());
    // cargo's own words for NotFound from every provider, and ours: how to store one.
    assert!(err.contains("no token found"), "{err}");
    assert!(
        err.contains("cargo-confirm-gui --enroll --registry local"),
        "{err}"
    );
    assert!(p.registry.mutations().is_empty());
}

#[test]
fn login_stores_and_replacing_needs_confirmation_then_logout() {
    let _g = gui_lock();
    let p = Project::new(
        "e2e-login",
        Options::default(),
        ProviderConfig::PerRegistry(&[]),
    );
    let d = desk();
    // First login: a window asks to store it.
    let child = p
        .cargo(&["login", "--registry", "local", "first-token-aaaa"])
        .spawn()
        .unwrap();
    let (status, _, err) = person_answers(child, "Store a new registry token", Click::Approve);
    assert!(status.success(), "{err}");
    assert!(err.contains("stored the token for local"), "{err}");
    // Nothing from the libraries the window uses.
    assert!(!err.contains("xkbcommon"), "{err}");
    assert_eq!(
        d.secret_lookup(&p.key()).as_deref(),
        Some("first-token-aaaa")
    );

    // A second login must be confirmed as a replacement; Deny keeps the old token.
    let child = p
        .cargo(&["login", "--registry", "local", "second-token-bbbb"])
        .spawn()
        .unwrap();
    let (status, _, _) = person_answers(child, "Replace the stored registry token", Click::Deny);
    assert!(!status.success());
    assert_eq!(
        d.secret_lookup(&p.key()).as_deref(),
        Some("first-token-aaaa")
    );
    // That Deny started the cooldown, which in the default install lives in the user's
    // runtime directory: the test clears it, as any program of the user's could.
    p.clear_cooldown();

    // Confirmed replacement.
    let child = p
        .cargo(&["login", "--registry", "local", "second-token-bbbb"])
        .spawn()
        .unwrap();
    let (status, _, err) =
        person_answers(child, "Replace the stored registry token", Click::Approve);
    assert!(status.success(), "{err}");
    assert_eq!(
        d.secret_lookup(&p.key()).as_deref(),
        Some("second-token-bbbb")
    );

    // Logout asks, then removes.
    let child = p.cargo(&["logout", "--registry", "local"]).spawn().unwrap();
    let (status, _, err) =
        person_answers(child, "Remove the stored registry token", Click::Approve);
    assert!(status.success(), "{err}");
    assert_eq!(d.secret_lookup(&p.key()), None);
}

#[test]
fn enroll_window_takes_a_typed_token_into_the_secret_service() {
    let _g = gui_lock();
    let d = desk();
    let url = "sparse+http://127.0.0.1:9/enroll-test/";
    let mut cmd = std::process::Command::new(PROVIDER);
    d.env(&mut cmd);
    cmd.args(["--enroll", "--index-url", url])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let (_, g) = window_for(&mut child, "store a registry token");
    wait_armed();
    d.human_type("typed-token-1234");
    let (x, y) = approve_point(g);
    d.human_click(x, y);
    let (status, out, err) = wait_output(child, Duration::from_secs(30));
    assert!(status.success(), "{err}");
    assert!(!out.contains("typed-token-1234") && !err.contains("typed-token-1234"));
    let key = cargo_confirm_gui::store::RegistryKey::from_index_url(url);
    assert_eq!(
        d.secret_lookup(key.as_str()).as_deref(),
        Some("typed-token-1234")
    );
}

#[test]
fn cargo_killed_mid_prompt_closes_the_window_and_releases_nothing() {
    let _g = gui_lock();
    let p = project("e2e-killed", &[]);
    let mut child = p.publish();
    let (_, _) = window_for(&mut child, "cargo-confirm-gui");
    child.kill().unwrap();
    let _ = child.wait();
    // The provider sees its stdin close and closes the window by itself.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while desk().any_window() {
        assert!(
            std::time::Instant::now() < deadline,
            "the window stayed open after cargo died"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(p.registry.mutations().is_empty());
}

#[test]
fn auth_required_registry_reads_with_the_token_and_publish_still_asks() {
    let _g = gui_lock();
    let p = Project::new(
        "e2e-authreq",
        Options {
            token: Some(TOKEN.into()),
            auth_required: true,
            refuse: None,
        },
        ProviderConfig::PerRegistry(&[]),
    );
    desk().secret_store(&p.key(), TOKEN);
    let mut child = p.publish();
    // cargo meets a 401 and asks for a real read: a window with read wording first.
    let (_, g) = window_for(&mut child, "READ from a private registry");
    wait_armed();
    let (x, y) = approve_point(g);
    desk().human_click(x, y);
    let (status, _, err) = person_answers(child, "PUBLISH e2e-authreq 0.1.0", Click::Approve);
    assert!(status.success(), "{err}");
    let hits = p.registry.hits();
    // cargo met a 401 first, then read the index with the real token (released after the
    // read window).
    assert!(hits.iter().any(|h| h.status == 401), "{hits:?}");
    assert!(
        hits.iter().any(|h| h.path.starts_with("/index/")
            && h.status == 200
            && h.authorization.as_deref() == Some(TOKEN)),
        "{hits:?}"
    );
    let up: Vec<_> = hits
        .iter()
        .filter(|h| h.path == "/api/v1/crates/new")
        .collect();
    assert_eq!(up.len(), 1);
    assert_eq!(up[0].authorization.as_deref(), Some(TOKEN));
}

#[test]
fn demo_publishes_through_the_window_and_removes_its_entry() {
    let _g = gui_lock();
    let d = desk();
    let runtime = tempfile::tempdir().unwrap();
    // The demo is an example (the shipped helper holds no HTTP server), built into
    // target/debug/examples beside the provider.
    let demo = std::path::Path::new(PROVIDER)
        .parent()
        .unwrap()
        .join("examples/demo");
    assert!(
        demo.is_file(),
        "{} is not built: run `cargo build --example demo` first (scripts/test.sh does)",
        demo.display()
    );
    let mut cmd = std::process::Command::new(demo);
    d.env(&mut cmd);
    cmd.args(["--provider", PROVIDER])
        .env("XDG_RUNTIME_DIR", runtime.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let (status, _, err) = person_answers(child, "PUBLISH confirm-demo-", Click::Approve);
    assert!(status.success(), "{err}");
    assert!(
        err.contains("the registry received exactly the token you approved"),
        "{err}"
    );
    let left = std::process::Command::new("secret-tool")
        .env("DBUS_SESSION_BUS_ADDRESS", &d.dbus)
        .args(["search", "--all", "service", "cargo-confirm-gui"])
        .output()
        .unwrap();
    let left =
        String::from_utf8_lossy(&left.stdout).to_string() + &String::from_utf8_lossy(&left.stderr);
    assert!(
        !left.contains("demo"),
        "the demo entry was left behind: {left}"
    );
}

#[test]
fn get_under_token_from_stdout_refuses_without_a_window() {
    let _g = gui_lock();
    let p = Project::new(
        "e2e-from-stdout",
        Options {
            token: Some(TOKEN.into()),
            auth_required: false,
            refuse: None,
        },
        ProviderConfig::TokenFromStdout,
    );
    desk().secret_store(&p.key(), TOKEN);
    let started = std::time::Instant::now();
    let (status, out, err) = wait_output(p.publish(), CARGO);
    assert!(!status.success());
    assert!(
        err.contains("cargo-confirm-gui get refuses to run under cargo")
            && err.contains("credential-provider = [\"cargo-confirm-gui\"]"),
        "{err}"
    );
    assert!(!out.contains(TOKEN) && !err.contains(TOKEN));
    assert!(p.registry.mutations().is_empty());
    assert!(!desk().any_window());
    assert!(started.elapsed() < Duration::from_secs(30));
}
