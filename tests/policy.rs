//! The administrator's policy file, `/etc/cargo-confirm-gui/policy.toml`, is the only place
//! where a default may be loosened: trusting a display server by path, or a compositor that
//! offers virtual input. These tests write the real file (they run as root; each restores
//! what was there), show that it loosens exactly what it says, and that a file others could
//! write is refused.

#![cfg(target_os = "linux")]

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::*;

fn request(p: &Project) -> String {
    let mut request = p.publish_request("policy", "1.0.0", &"0".repeat(64));
    request["args"] = serde_json::json!(["--timeout=5"]);
    request.to_string()
}

/// Runs the provider once with `display` set up by `env`; returns its answer and how long
/// it took.
fn ask(p: &Project, env: impl FnOnce(&mut Command)) -> (String, Duration) {
    let mut cmd = p.provider();
    env(&mut cmd);
    let started = Instant::now();
    let (child, stdin) = start_plugin(&mut cmd, &request(p));
    let (_, out, err) = wait_output(child, Duration::from_secs(60));
    drop(stdin);
    assert!(!out.contains("tok-policy"), "{out}");
    (format!("{out}\n{err}"), started.elapsed())
}

fn project(name: &str) -> Project {
    let p = Project::new(name, Options::default(), ProviderConfig::PerRegistry(&[]));
    desk().secret_store(&p.key(), "tok-policy");
    p
}

#[test]
fn a_compositor_offering_virtual_input_is_refused_unless_the_policy_allows_it() {
    let policy = PolicyFile::none();
    // The person's own sway: another user's compositor, so the display rule passes; but
    // it offers every client a virtual pointer and keyboard.
    let sway = sway(Runs::Person);
    let p = project("policy-sway");
    let on_sway = |cmd: &mut Command| {
        cmd.env_remove("DISPLAY")
            .env("WAYLAND_DISPLAY", &sway.socket);
    };
    let (out, took) = ask(&p, on_sway);
    assert!(
        out.contains("refused to show its window")
            && out.contains("zwlr_virtual_pointer_manager_v1")
            && out.contains("allow-virtual-input = true"),
        "{out}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");

    // Allowed by root: the window opens there (and, unanswered, times out).
    policy.set("[display]\nallow-virtual-input = true\n", 0o644);
    let (out, took) = ask(&p, on_sway);
    assert!(
        out.contains("nobody answered the confirmation window in time"),
        "{out}"
    );
    assert!(took >= Duration::from_secs(5), "{took:?}");

    // The same file, writable by others: refused, with the fix.
    policy.set("[display]\nallow-virtual-input = true\n", 0o666);
    let (out, _) = ask(&p, on_sway);
    assert!(
        out.contains("the policy file /etc/cargo-confirm-gui/policy.toml is refused")
            && out.contains("chmod go-w")
            && out.contains("Nothing was released"),
        "{out}"
    );
    // A typo is an error too, not a silent default.
    policy.set("[display]\nallow-virtual-inputs = true\n", 0o644);
    let (out, _) = ask(&p, on_sway);
    assert!(
        out.contains("is malformed") && out.contains("unknown field"),
        "{out}"
    );
}

#[test]
fn a_server_trusted_by_path_is_trusted_whoever_runs_it() {
    let policy = PolicyFile::none();
    // The worm's own nested display: refused by default.
    let mut servers = Vec::new();
    let (_, inner) = start_nested(&mut servers, Runs::Worm, false);
    let p = project("policy-xephyr");
    let on_worm_display = |cmd: &mut Command| {
        cmd.env("DISPLAY", &inner);
    };
    let (out, _) = ask(&p, on_worm_display);
    assert!(
        out.contains("Xephyr (pid") && out.contains("runs as you"),
        "{out}"
    );

    // An administrator who trusts Xephyr by path trusts every copy of it, the worm's too:
    // the cost the README states. The window opens there.
    policy.set(
        "[display]\ntrusted-servers = [\"/usr/bin/Xephyr\"]\n",
        0o644,
    );
    let (out, took) = ask(&p, on_worm_display);
    assert!(
        out.contains("nobody answered the confirmation window in time"),
        "{out}"
    );
    assert!(took >= Duration::from_secs(5), "{took:?}");
    for s in &mut servers {
        let _ = s.kill();
        let _ = s.wait();
    }
}

#[test]
fn read_allow_in_cargo_config_is_refused_and_only_the_policy_file_releases_reads() {
    let policy = PolicyFile::none();
    let _g = gui_lock();
    // Regression, "Nothing the caller supplies" (1): `--read=allow` in the request released
    // the token with no window. cargo's config is the user's, so the worm's too.
    let p = Project::new(
        "policy-read",
        Options {
            token: Some("tok-policy".into()),
            auth_required: true,
            refuse: None,
        },
        ProviderConfig::PerRegistry(&["--read=allow"]),
    );
    desk().secret_store(&p.key(), "tok-policy");
    let (status, _, err) = wait_output(p.publish(), Duration::from_secs(60));
    assert!(!status.success());
    assert!(
        err.contains("`--read=allow` in cargo's `credential-provider` config would loosen")
            && err.contains("read = \"allow\" under [requests]"),
        "{err}"
    );
    assert!(
        p.registry
            .hits()
            .iter()
            .all(|h| h.authorization.as_deref() != Some("tok-policy")),
        "{:?}",
        p.registry.hits()
    );

    // Allowed by root: reads are released without a window; the publish still asks.
    policy.set("[requests]\nread = \"allow\"\n", 0o644);
    let child = p.publish();
    let (status, _, err) = person_answers(child, "PUBLISH policy-read 0.1.0", Click::Approve);
    assert!(status.success(), "{err}");
    let hits = p.registry.hits();
    assert!(
        hits.iter().any(|h| h.path.starts_with("/index/")
            && h.status == 200
            && h.authorization.as_deref() == Some("tok-policy")),
        "{hits:?}"
    );
}
