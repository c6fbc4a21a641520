//! A worm running as the same user tries to get the token past the window. Every case
//! ends with "no token released, the registry received nothing"; the control cases show a
//! person's click (through Xephyr) still approves.

#![cfg(target_os = "linux")]

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::*;

const TOKEN: &str = "tok-worm-0123456789abcdef";
const CARGO: Duration = Duration::from_secs(120);

fn project(name: &str, args: &[&str]) -> Project {
    Project::enrolled(name, TOKEN, args)
}

/// After the attack: cargo must still be waiting, the registry empty; then a person clicks
/// Approve, which must not be accepted either when `vetoed`, and finally Deny.
fn person_finishes(p: &Project, child: std::process::Child, g: Geom, vetoed: bool) {
    person_finishes_on(desk(), p, child, g, vetoed)
}

/// [`person_finishes`] on another screen of the person's.
fn person_finishes_on(
    d: &Desk,
    p: &Project,
    mut child: std::process::Child,
    g: Geom,
    vetoed: bool,
) {
    std::thread::sleep(Duration::from_millis(700));
    assert!(
        child.try_wait().unwrap().is_none(),
        "cargo finished without a person's click"
    );
    assert!(p.registry.mutations().is_empty());
    if vetoed {
        let (x, y) = approve_point(g);
        d.human_click(x, y);
        std::thread::sleep(Duration::from_millis(700));
        assert!(
            child.try_wait().unwrap().is_none(),
            "a vetoed prompt accepted Approve"
        );
    }
    let (x, y) = deny_point(g);
    d.human_click(x, y);
    let (status, _, err) = wait_output(child, CARGO);
    assert!(!status.success(), "{err}");
    assert!(
        p.registry.mutations().is_empty(),
        "{:?}",
        p.registry.mutations()
    );
}

/// cargo publish of `p` on the screen whose X server offers XTEST.
fn publish_on_xtest_screen(p: &Project) -> std::process::Child {
    p.publish_cmd()
        .env("DISPLAY", &xtest_desk().display)
        .spawn()
        .unwrap()
}

#[test]
fn an_x_server_offering_xtest_is_refused_by_default() {
    // Red-team finding (issue 9): XTEST can inject input through any device id, the
    // person's own mouse included, and such input carries that mouse's source id: no
    // client can tell it from the person's. So such a server is refused unless the policy
    // file accepts virtual input, as a compositor offering virtual-pointer protocols is.
    let _g = gui_lock();
    let p = project("worm-xtest-server", &[]);
    let (status, _, err) = wait_output(publish_on_xtest_screen(&p), CARGO);
    assert!(!status.success());
    assert!(
        err.contains("the X server offers XTEST") && err.contains("allow-virtual-input = true"),
        "{err}"
    );
    assert!(!xtest_desk().any_window());
    assert!(p.registry.mutations().is_empty());
}

#[test]
fn without_xtest_the_worm_has_nothing_to_click_with() {
    // The person's own screen offers no XTEST: xdotool cannot press anything there.
    let _g = gui_lock();
    let p = project("worm-no-xtest", &[]);
    let mut child = p.publish();
    let (_, g) = window_for(&mut child, "cargo-confirm-gui");
    wait_armed();
    let (x, y) = approve_point(g);
    let out = Command::new("xdotool")
        .env("DISPLAY", &desk().display)
        .args(["mousemove", &x.to_string(), &y.to_string(), "click", "1"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "XTEST worked on the person's screen");
    person_finishes(&p, child, g, false);
}

// Where the policy file accepts a server with XTEST, input from the XTEST devices (what
// xdotool and every naive tool use) still vetoes the prompt. (Input faked through a real
// device's id is not seen: that is the risk the policy file accepts, SECURITY.md.)

#[test]
fn xtest_click_on_approve_is_vetoed() {
    let _g = gui_lock();
    let _policy = PolicyFile::allowing_virtual_input();
    let d = xtest_desk();
    let p = project("worm-xtest-click", &[]);
    let mut child = publish_on_xtest_screen(&p);
    let (_, g) = window_for_on(d, &mut child, "cargo-confirm-gui");
    wait_armed();
    let (x, y) = approve_point(g);
    d.xtest_click(x, y);
    person_finishes_on(d, &p, child, g, true);
}

#[test]
fn xtest_keys_never_approve() {
    for keys in [&["Return"][..], &["space"], &["Tab", "Return"]] {
        let _g = gui_lock();
        let _policy = PolicyFile::allowing_virtual_input();
        let d = xtest_desk();
        let p = project("worm-xtest-keys", &[]);
        let mut child = publish_on_xtest_screen(&p);
        let (_, g) = window_for_on(d, &mut child, "cargo-confirm-gui");
        wait_armed();
        d.xtest_keys(keys);
        std::thread::sleep(Duration::from_millis(500));
        if child.try_wait().unwrap().is_some() {
            // Tab+Return lands on Deny: the worm denied itself. Still nothing released.
            let (status, _, err) = wait_output(child, CARGO);
            assert!(
                !status.success() && err.contains("denied"),
                "{keys:?}: {err}"
            );
            assert!(p.registry.mutations().is_empty());
        } else {
            person_finishes_on(d, &p, child, g, true);
        }
    }
}

#[test]
fn xsendevent_click_is_ignored() {
    let _g = gui_lock();
    let p = project("worm-sendevent", &[]);
    let mut child = p.publish();
    let (id, g) = window_for(&mut child, "cargo-confirm-gui");
    wait_armed();
    // Put the window's pointer over Approve by a person's motion, then send a synthetic
    // ButtonPress/Release with XSendEvent (xdotool's --window mode).
    let (x, y) = approve_point(g);
    let (ox, oy) = (x - g.x, y - g.y);
    let out = Command::new("xdotool")
        .env("DISPLAY", &desk().display)
        .args(["click", "--window", &id, "1"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let _ = (ox, oy);
    person_finishes(&p, child, g, false);
}

#[test]
fn click_inside_the_arming_delay_is_ignored() {
    let _g = gui_lock();
    let p = project("worm-early", &[]);
    let mut child = p.publish();
    let (_, g) = window_for(&mut child, "cargo-confirm-gui");
    // The window popped up under a person's pointer and caught a click meant elsewhere.
    let (x, y) = approve_point(g);
    desk().human_click(x, y);
    person_finishes(&p, child, g, false);
}

#[test]
fn pointer_warped_onto_approve_then_clicked_without_motion_is_ignored() {
    let _g = gui_lock();
    let p = project("worm-warp", &[]);
    let mut child = p.publish();
    let (_, g) = window_for(&mut child, "cargo-confirm-gui");
    wait_armed();
    // A person's pointer rests inside the window, away from the buttons.
    desk().human_move(g.x + 40, g.y + 40);
    std::thread::sleep(Duration::from_millis(400));
    // The worm warps the pointer onto Approve (XWarpPointer: no device motion).
    let (x, y) = approve_point(g);
    desk().warp_pointer(x, y);
    std::thread::sleep(Duration::from_millis(600));
    // The person clicks without moving.
    desk().human_click_here();
    person_finishes(&p, child, g, false);
}

#[test]
fn xtest_input_earlier_in_the_prompt_vetoes_a_later_person_click() {
    // `xdotool mousemove` is an XWarpPointer, not XTEST; relative motion and key presses
    // go through XTEST.
    for early in [&["mousemove_relative", "10", "10"][..], &["key", "shift"]] {
        let _g = gui_lock();
        let _policy = PolicyFile::allowing_virtual_input();
        let d = xtest_desk();
        let p = project("worm-xtest-early", &[]);
        let mut child = publish_on_xtest_screen(&p);
        let (_, g) = window_for_on(d, &mut child, "cargo-confirm-gui");
        let out = Command::new("xdotool")
            .env("DISPLAY", &d.display)
            .args(early)
            .output()
            .unwrap();
        assert!(out.status.success());
        wait_armed();
        person_finishes_on(d, &p, child, g, true);
    }
}

#[test]
fn answers_typed_on_a_pty_do_not_approve() {
    let _g = gui_lock();
    let p = project("worm-pty", &[]);
    let mut cmd = p.cargo(&[]);
    // Run cargo under `script`, so it has a pty, and type answers into it.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let inner = format!("{cargo} publish --registry local --no-verify --allow-dirty");
    let mut script = Command::new("script");
    script.args(["-qec", &inner, "/dev/null"]);
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => script.env(k, v),
            None => script.env_remove(k),
        };
    }
    script.current_dir(cmd.get_current_dir().unwrap());
    let _ = &mut cmd;
    let mut child = script
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (_, g) = window_for(&mut child, "cargo-confirm-gui");
    let mut stdin = child.stdin.take().unwrap();
    for answer in ["y\n", "yes\n", "approve\n", "\n"] {
        stdin.write_all(answer.as_bytes()).unwrap();
    }
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        child.try_wait().unwrap().is_none(),
        "typed answers ended the prompt"
    );
    assert!(p.registry.mutations().is_empty());
    let (x, y) = deny_point(g);
    desk().human_click(x, y);
    drop(stdin);
    let _ = wait_output(child, CARGO);
    assert!(p.registry.mutations().is_empty());
}

#[test]
fn forged_request_from_a_non_cargo_program_is_flagged_and_needs_a_click() {
    let _g = gui_lock();
    let p = project("worm-forged", &[]);
    let req = p
        .publish_request("worm-forged", "9.9.9", &"0".repeat(64))
        .to_string();
    let (mut child, stdin) = start_plugin(&mut p.provider(), &req);
    // The title says the requester is not cargo (the window body says it in red).
    let (_, g) = window_for(&mut child, "asked by a program that is not cargo");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(child.try_wait().unwrap().is_none());
    let (x, y) = deny_point(g);
    desk().human_click(x, y);
    // cargo keeps the pipe open until it has the answer.
    let (_, out, _) = wait_output(child, CARGO);
    drop(stdin);
    assert!(!out.contains(TOKEN), "{out}");
    assert!(out.contains("denied in the confirmation window"), "{out}");
}

#[test]
fn control_a_person_still_approves() {
    let _g = gui_lock();
    let p = project("worm-control", &[]);
    let child = p.publish();
    let (status, _, err) = person_answers(child, "cargo-confirm-gui", Click::Approve);
    assert!(status.success(), "{err}");
    assert_eq!(
        p.registry.mutations()[0].authorization.as_deref(),
        Some(TOKEN)
    );
}

fn forged_publish(p: &Project, vers: &str) -> String {
    p.publish_request("spam", vers, &"0".repeat(64)).to_string()
}

#[test]
fn ten_simultaneous_requests_open_one_window_and_a_deny_refuses_the_rest() {
    let _g = gui_lock();
    let p = project("worm-spam", &[]);
    let mut children = Vec::new();
    let mut pipes = Vec::new();
    for i in 0..10 {
        let (child, stdin) =
            start_plugin(&mut p.provider(), &forged_publish(&p, &format!("1.0.{i}")));
        pipes.push(stdin);
        children.push(child);
    }
    let (_, g) = window_for(&mut children[0], "cargo-confirm-gui");
    for _ in 0..10 {
        let out = Command::new("xdotool")
            .env("DISPLAY", &desk().display)
            .args(["search", "--onlyvisible", "--name", "cargo-confirm-gui"])
            .output()
            .unwrap();
        let windows = String::from_utf8_lossy(&out.stdout).lines().count();
        assert_eq!(windows, 1, "more than one prompt window at once");
        std::thread::sleep(Duration::from_millis(150));
    }
    let (x, y) = deny_point(g);
    desk().human_click(x, y);
    let mut refused = 0;
    for child in children {
        let (_, out, _) = wait_output(child, Duration::from_secs(60));
        assert!(!out.contains(TOKEN), "{out}");
        assert!(out.contains("\"Err\""), "{out}");
        if out.contains("refused without a window") {
            refused += 1;
        }
    }
    drop(pipes);
    // One was denied by the person; the nine waiting behind it hit the cooldown.
    assert_eq!(refused, 9);
    assert!(p.registry.mutations().is_empty());
}

#[test]
fn no_prompt_without_a_working_input_guard() {
    // An X server whose XInput 2 events cannot be delivered (no Generic Event Extension):
    // the guard would be blind, so the prompt must not be shown at all.
    let mut servers = Vec::new();
    let display = start_x(
        &mut servers,
        Runs::Person,
        "Xvfb",
        &[
            "-screen",
            "0",
            "800x600x24",
            "-nolisten",
            "tcp",
            "-noreset",
            "-extension",
            "Generic Event Extension",
            "-extension",
            "XTEST",
        ],
        None,
    );
    let p = project("worm-noguard", &[]);
    let (child, stdin) = start_plugin(
        p.provider().env("DISPLAY", &display),
        &forged_publish(&p, "1.0.0"),
    );
    let (_, out, _) = wait_output(child, Duration::from_secs(60));
    drop(stdin);
    for s in &mut servers {
        let _ = s.kill();
        let _ = s.wait();
    }
    assert!(
        out.contains("cannot check where input comes from, so no prompt is shown"),
        "{out}"
    );
    assert!(out.contains("Generic Event Extension"), "{out}");
    assert!(!out.contains(TOKEN));
}

#[test]
fn the_worms_own_nested_display_is_refused_before_any_window() {
    // The worm starts its own Xvfb and a nested Xephyr, as the user, and runs a genuine
    // `cargo publish` on the inner one. A click it sends to the outer server would arrive
    // from Xephyr's virtual mouse, exactly like a person's (the tests' own trick), so the
    // window must never open there.
    let mut servers = Vec::new();
    let (outer, inner) = start_nested(&mut servers, Runs::Worm, true);
    let p = project("worm-own-display", &[]);
    let mut cmd = p.publish_cmd();
    cmd.env("DISPLAY", &inner);
    let mut child = cmd.spawn().unwrap();
    let xdotool = |display: &str, args: &[&str]| {
        let out = Command::new("xdotool")
            .env("DISPLAY", display)
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let mut seen_window = false;
    while child.try_wait().unwrap().is_none() {
        let found = xdotool(
            &inner,
            &["search", "--onlyvisible", "--name", "cargo-confirm-gui"],
        );
        if let Some(id) = found.lines().next() {
            seen_window = true;
            // The worm's "person": move over Approve through the outer server and click.
            let geometry = xdotool(&inner, &["getwindowgeometry", "--shell", id]);
            let get = |k: &str| -> i32 {
                geometry
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{k}=")))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0)
            };
            let g = Geom {
                x: get("X"),
                y: get("Y"),
                w: get("WIDTH"),
                h: get("HEIGHT"),
            };
            std::thread::sleep(Duration::from_millis(1600));
            let (x, y) = approve_point(g);
            for (dx, dy) in [(-50, -30), (0, 0)] {
                xdotool(
                    &outer,
                    &["mousemove", &(x + dx).to_string(), &(y + dy).to_string()],
                );
                std::thread::sleep(Duration::from_millis(80));
            }
            xdotool(&outer, &["click", "1"]);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, _, err) = wait_output(child, CARGO);
    for s in &mut servers {
        let _ = s.kill();
        let _ = s.wait();
    }
    assert!(!seen_window, "a window opened on the worm's own display");
    assert!(!status.success());
    assert!(
        err.contains("refused to show its window")
            && err.contains("Xephyr (pid")
            && err.contains("runs as you")
            && err.contains("Nothing was released"),
        "{err}"
    );
    assert!(p.registry.mutations().is_empty());
}
