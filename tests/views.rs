//! The window views as plain egui functions, driven by egui_kittest without a display:
//! only a pointer click after arming approves; keyboard, accessibility actions, early or
//! held clicks never do.

use std::time::Duration;

use cargo_confirm_gui::error::DenyReason;
use cargo_confirm_gui::package::{self, Check, Pending, Previous, Report};
use cargo_confirm_gui::request::{CargoRequest, HelperRequest, Operation, StoreChange};
use cargo_confirm_gui::ui::confirm::{self, ConfirmState};
use cargo_confirm_gui::ui::enroll::{self, EnrollState};
use cargo_confirm_gui::ui::raster::{Canvas, Rasterizer};
use cargo_confirm_gui::ui::{Decision, EnrollOutcome, EnrollRequest, PromptOptions, layout};
use egui::{Event, Key, Modifiers, PointerButton};
use egui_kittest::Harness;
use fixtures::{cargo_requester, publish, transaction as tx};

mod fixtures;
use egui_kittest::kittest::Queryable;

const STEP: f32 = 0.05;

fn opts() -> PromptOptions {
    PromptOptions {
        timeout: Duration::from_secs(60),
        arm_delay: Duration::from_secs(1),
    }
}

/// The window's own rasteriser as the harness's renderer: snapshots are the pixels the
/// shipped window draws.
#[derive(Default)]
struct Cpu(Rasterizer);

impl egui_kittest::TestRenderer for Cpu {
    fn handle_delta(&mut self, delta: &mut egui::TexturesDelta) {
        self.0.set_textures(delta);
        self.0.free_textures(std::mem::take(delta));
    }

    fn render(
        &mut self,
        ctx: &egui::Context,
        output: &egui::FullOutput,
    ) -> Result<image::RgbaImage, String> {
        let ppp = ctx.pixels_per_point();
        let size = ctx.content_rect().size() * ppp;
        let (w, h) = (size.x.round() as usize, size.y.round() as usize);
        let mut canvas = Canvas::new(w, h);
        let prims = ctx.tessellate(output.shapes.clone(), ppp);
        self.0.paint(&mut canvas, &prims, ppp);
        let bytes = canvas.pixels.iter().flatten().copied().collect();
        image::RgbaImage::from_raw(w as u32, h as u32, bytes)
            .ok_or_else(|| "canvas size does not match its pixels".to_string())
    }
}

fn harness(state: ConfirmState) -> Harness<'static, ConfirmState> {
    Harness::builder()
        .with_size(layout::CONFIRM_SIZE)
        .with_step_dt(STEP)
        .with_context_setup(cargo_confirm_gui::ui::text_options)
        .renderer(Cpu::default())
        .build_ui_state(|ui, s: &mut ConfirmState| confirm::view(ui, s), state)
}

fn wait<S>(h: &mut Harness<'_, S>, secs: f32) {
    h.run_steps((secs / STEP).ceil() as usize);
}

fn click_approve(h: &mut Harness<'_, ConfirmState>) {
    h.get_by_label("Approve").click();
    h.run_steps(3);
}

#[test]
fn pointer_click_after_arming_approves() {
    let mut h = harness(ConfirmState::new(tx(publish()), &opts()));
    wait(&mut h, 1.2);
    click_approve(&mut h);
    assert_eq!(h.state().decision, Some(Decision::Approve));
}

#[test]
fn click_before_arming_is_ignored() {
    let mut h = harness(ConfirmState::new(tx(publish()), &opts()));
    wait(&mut h, 0.5);
    click_approve(&mut h);
    assert_eq!(h.state().decision, None);
}

#[test]
fn enter_space_and_tab_never_approve() {
    let mut h = harness(ConfirmState::new(tx(publish()), &opts()));
    wait(&mut h, 1.5);
    for keys in [
        &[Key::Enter][..],
        &[Key::Space],
        &[Key::Tab, Key::Tab, Key::Enter],
        &[Key::Tab, Key::Space],
    ] {
        for k in keys {
            h.key_press(*k);
            h.run_steps(2);
        }
        assert_ne!(h.state().decision, Some(Decision::Approve), "{keys:?}");
    }
}

#[test]
fn approve_is_not_keyboard_focusable() {
    let mut h = harness(ConfirmState::new(tx(publish()), &opts()));
    wait(&mut h, 1.5);
    for _ in 0..4 {
        h.key_press(Key::Tab);
        h.run_steps(2);
        assert!(!h.get_by_label("Approve").is_focused());
    }
}

#[test]
fn accessibility_click_never_approves() {
    let mut h = harness(ConfirmState::new(tx(publish()), &opts()));
    wait(&mut h, 1.5);
    h.get_by_label("Approve").click_accesskit();
    h.run_steps(3);
    assert_eq!(h.state().decision, None);
}

#[test]
fn a_press_held_through_the_countdown_does_not_count() {
    let mut h = harness(ConfirmState::new(tx(publish()), &opts()));
    let pos = h.get_by_label("Approve").rect().center();
    h.hover_at(pos);
    h.event(Event::PointerButton {
        pos,
        button: PointerButton::Primary,
        pressed: true,
        modifiers: Modifiers::NONE,
    });
    wait(&mut h, 0.6);
    h.event(Event::PointerButton {
        pos,
        button: PointerButton::Primary,
        pressed: false,
        modifiers: Modifiers::NONE,
    });
    wait(&mut h, 0.6);
    assert_eq!(h.state().decision, None);
    // Egui itself may not call a 1.2 s press a click; either way it must not approve.
    h.event(Event::PointerButton {
        pos,
        button: PointerButton::Primary,
        pressed: true,
        modifiers: Modifiers::NONE,
    });
    wait(&mut h, 0.05);
    h.event(Event::PointerButton {
        pos,
        button: PointerButton::Primary,
        pressed: false,
        modifiers: Modifiers::NONE,
    });
    h.run_steps(2);
    assert_eq!(
        h.state().decision,
        Some(Decision::Approve),
        "a fresh press after arming counts"
    );
}

#[test]
fn focus_loss_rearms() {
    let mut h = harness(ConfirmState::new(tx(publish()), &opts()));
    wait(&mut h, 1.5);
    h.input_mut().focused = false;
    h.run_steps(2);
    h.input_mut().focused = true;
    h.run_steps(2);
    click_approve(&mut h);
    assert_eq!(
        h.state().decision,
        None,
        "a click right after refocus must not count"
    );
    wait(&mut h, 1.2);
    click_approve(&mut h);
    assert_eq!(h.state().decision, Some(Decision::Approve));
}

#[test]
fn escape_and_deny_and_timeout_deny() {
    let mut h = harness(ConfirmState::new(tx(publish()), &opts()));
    h.run_steps(2);
    h.key_press(Key::Escape);
    h.run_steps(2);
    assert_eq!(
        h.state().decision,
        Some(Decision::Deny(DenyReason::Clicked))
    );

    let mut h = harness(ConfirmState::new(tx(publish()), &opts()));
    h.run_steps(2);
    h.get_by_label("Deny").click();
    h.run_steps(2);
    assert_eq!(
        h.state().decision,
        Some(Decision::Deny(DenyReason::Clicked))
    );

    let quick = PromptOptions {
        timeout: Duration::from_secs(2),
        ..opts()
    };
    let mut h = harness(ConfirmState::new(tx(publish()), &quick));
    wait(&mut h, 2.2);
    assert_eq!(
        h.state().decision,
        Some(Decision::Deny(DenyReason::Timeout))
    );
}

#[test]
fn blocked_prompt_never_arms() {
    let mut state = ConfirmState::new(tx(publish()), &opts());
    state.arming.blocked = Some("synthetic input".into());
    let mut h = harness(state);
    wait(&mut h, 1.5);
    click_approve(&mut h);
    assert_eq!(h.state().decision, None);
}

#[test]
fn the_window_shows_the_transaction() {
    let mut t = tx(publish());
    t.requester
        .warnings
        .push(cargo_confirm_gui::evidence::Warning::NotCargo);
    let mut h = harness(ConfirmState::new(t, &opts()));
    h.run_steps(2);
    h.get_by_label("Publish foo 1.2.3 to local");
    h.get_by_label("local (sparse+http://127.0.0.1:1/index/)");
    // The full checksum, grouped for comparison.
    h.get_by_label(&confirm::group_checksum(&"ab".repeat(32)));
    // A warning about who asked is in the verdict, not only in its section.
    h.get_by_label("• the program that asked is not cargo");
    h.get_by_label("3 in the last 10 minutes");
}

#[test]
fn login_and_logout_wording() {
    let mut t = tx(Operation::Store(StoreChange::Login {
        token_given: true,
        enroll: false,
    }));
    t.login_fingerprint = Some("SHA256:aaaa bbbb cccc".into());
    let mut h = harness(ConfirmState::new(t, &opts()));
    h.run_steps(2);
    h.get_by_label("Replace the token stored for local");
    h.get_by_label("Replace");
    h.get_by_label("SHA256:aaaa bbbb cccc");
    let mut h = harness(ConfirmState::new(
        tx(Operation::Store(StoreChange::Logout)),
        &opts(),
    ));
    h.run_steps(2);
    h.get_by_label("Remove");
}

fn enroll_harness(existing: bool, crates_io: bool) -> Harness<'static, EnrollState> {
    let req = EnrollRequest {
        registry: "crates-io".into(),
        crates_io,
        store: "test store".into(),
        existing_entry: existing,
        login_url: Some("https://crates.io/me".into()),
        requester: cargo_requester(),
        presence: None,
    };
    Harness::builder()
        .with_size(layout::ENROLL_SIZE)
        .with_step_dt(STEP)
        .with_context_setup(cargo_confirm_gui::ui::text_options)
        .renderer(Cpu::default())
        .build_ui_state(
            |ui, s: &mut EnrollState| enroll::view(ui, s),
            EnrollState::new(req, &opts()),
        )
}

/// Opens the disclosure that holds the whole process chain.
fn open_chain(h: &mut Harness<'_, ConfirmState>) {
    h.get_by_label_contains("Process chain").click_accesskit();
    h.run_steps(2);
}

fn save(h: &mut Harness<'_, EnrollState>) {
    h.get_by_label("Save").click();
    h.run_steps(3);
}

#[test]
fn enroll_saves_a_valid_pasted_token_only_after_arming() {
    let mut h = enroll_harness(false, true);
    h.run_steps(2);
    let token = format!("cio{}", "Ab3".repeat(10) + "xy");
    // The field has focus as soon as the window opens: a paste goes straight in.
    h.event(Event::Paste(token.clone()));
    h.run_steps(2);
    save(&mut h);
    assert!(h.state().outcome.is_none(), "Save before arming");
    h.run_steps(25);
    // The status line names the button as it reads.
    assert_eq!(
        h.query_all_by_label_contains("Save is armed").count(),
        1,
        "no \"Save is armed\" status line"
    );
    save(&mut h);
    match &h.state().outcome {
        Some(EnrollOutcome::Saved(t)) => assert_eq!(t.expose(), token),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_pasted_token_leaves_no_undo_copies_and_no_reallocated_buffers() {
    let mut h = enroll_harness(false, true);
    h.run_steps(2);
    let token = format!("cio{}", "Ab3".repeat(10) + "xy");
    h.event(Event::Paste(token.clone()));
    h.run_steps(2);
    h.event(Event::Text("!".into()));
    h.run_steps(2);
    assert_eq!(h.state().input.as_str(), format!("{token}!"));
    // egui keeps undo snapshots of a field in memory nobody wipes; there must be none, so
    // undo has nothing to go back to.
    for _ in 0..3 {
        h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
        h.run_steps(2);
    }
    assert_eq!(
        h.state().input.as_str(),
        format!("{token}!"),
        "undo found a snapshot"
    );
    // The buffer never grew, so no freed copy of the token was left behind unwiped.
    assert_eq!(h.state().input.capacity(), enroll::INPUT_CAPACITY);
}

#[test]
fn enroll_rejects_malformed_tokens() {
    let mut h = enroll_harness(false, true);
    h.run_steps(2);
    h.event(Event::Paste("not a token".into()));
    h.run_steps(25);
    save(&mut h);
    assert!(h.state().outcome.is_none());
    h.get_by_label("the token contains whitespace; paste exactly the token");
}

#[test]
fn enroll_replacement_needs_the_tick() {
    let mut h = enroll_harness(true, false);
    h.run_steps(2);
    h.event(Event::Paste("some-token".into()));
    h.run_steps(25);
    save(&mut h);
    assert!(h.state().outcome.is_none(), "replaced without confirmation");
    h.get_by_label("Replace the token already stored for this registry")
        .click();
    h.run_steps(3);
    save(&mut h);
    assert!(matches!(h.state().outcome, Some(EnrollOutcome::Saved(_))));
}

// ---- The packaged crate ----

/// A `.crate` as cargo writes it: gzip'd tar, everything under `NAME-VERS/`.
fn crate_file(name_vers: &str, files: &[(&str, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, text) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, format!("{name_vers}/{path}"), text.as_bytes())
            .unwrap();
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &b.into_inner().unwrap()).unwrap();
    gz.finish().unwrap()
}

const OLD_TOML: &str =
    "[package]\nname = \"foo\"\nversion = \"1.2.2\"\n[dependencies]\nserde = \"1.0\"\n";
const NEW_TOML: &str = "[package]\nname = \"foo\"\nversion = \"1.2.3\"\n[dependencies]\nserde = \"1.0\"\n[build-dependencies]\ncc = \"1\"\n";

const BUILD_RS: &str = "fn main() {\n    cc::Build::new().file(\"src/native.c\").compile(\"native\");\n    println!(\"cargo:rerun-if-changed=src/native.c\");\n}\n";

/// Where the typical release's bytes came from: one file edited after a commit nobody pushed.
fn typical_provenance() -> package::Provenance {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    package::Provenance {
        checked: true,
        commit: Some("1a2b3c4d5e".repeat(4)),
        dirty: true,
        differs: vec!["build.rs".into()],
        on_remote: Some(false),
        local_only: Some(package::provenance::LocalOnly {
            commits: 1,
            newest_time: now - 200,
            author: "You".into(),
            committer: "You".into(),
        }),
        ..Default::default()
    }
}

/// What the window shows for a typical release that added a build script.
fn typical_report() -> Report {
    let limits = package::Limits::default();
    let before = package::list(
        &crate_file(
            "foo-1.2.2",
            &[
                ("Cargo.toml", OLD_TOML),
                ("README.md", "# foo"),
                ("src/lib.rs", "pub fn f() {}"),
            ],
        )[..],
        &limits,
    );
    let now = package::list(
        &crate_file(
            "foo-1.2.3",
            &[
                ("Cargo.toml", NEW_TOML),
                ("README.md", "# foo"),
                ("build.rs", BUILD_RS),
                ("src/lib.rs", "pub fn f() -> u8 { 1 }"),
            ],
        )[..],
        &limits,
    );
    let diff = package::diff(
        &before,
        &now,
        "1.2.2",
        "/home/you/.cargo/registry/cache/index.crates.io/foo-1.2.2.crate".into(),
    );
    let mut flags = now.flags(&limits);
    flags.insert(
        0,
        package::Flag {
            level: package::Level::Danger,
            text: "build script new since 1.2.2".into(),
        },
    );
    Report {
        check: Check::Match("/home/you/foo/target/package/foo-1.2.3.crate".into()),
        contents: Some(now),
        previous: Previous::Found(diff),
        flags,
        opened: Some("/home/you/foo/target/package/foo-1.2.3.crate".into()),
        provenance: Some(typical_provenance()),
        refused_by_policy: None,
    }
}

fn mismatch_report() -> Report {
    Report {
        check: Check::Mismatch {
            path: "/home/you/foo/target/package/foo-1.2.3.crate".into(),
            actual: "cd".repeat(32),
        },
        contents: None,
        previous: Previous::None,
        flags: Vec::new(),
        opened: None,
        provenance: None,
        refused_by_policy: None,
    }
}

fn publish_with(report: Option<Report>) -> ConfirmState {
    let mut t = tx(publish());
    t.requester = cargo_requester();
    t.package = Some(report.map(Pending::ready).unwrap_or_default());
    ConfirmState::new(t, &opts())
}

#[test]
fn a_mismatch_disables_approve_even_for_a_pointer_click() {
    let mut h = harness(publish_with(Some(mismatch_report())));
    wait(&mut h, 1.5);
    h.get_by_label(
        "STOP: the .crate on disk does NOT match the checksum cargo sent. Approve is disabled.",
    );
    h.get_by_label("Approve disabled: the .crate on disk does not match the checksum cargo sent");
    click_approve(&mut h);
    wait(&mut h, 1.0);
    click_approve(&mut h);
    assert_eq!(h.state().decision, None);
}

#[test]
fn approve_waits_for_the_crate_check() {
    let state = publish_with(None);
    let pending = state.tx.package.clone().unwrap();
    let mut h = harness(state);
    wait(&mut h, 1.5);
    h.get_by_label("Checking the packaged .crate… Approve waits for this.");
    click_approve(&mut h);
    assert_eq!(
        h.state().decision,
        None,
        "approved before the check finished"
    );
    pending.set(typical_report());
    wait(&mut h, 0.2);
    click_approve(&mut h);
    assert_eq!(h.state().decision, Some(Decision::Approve));
}

#[test]
fn the_window_shows_what_is_published_and_what_changed() {
    let mut h = harness(publish_with(Some(typical_report())));
    h.run_steps(2);
    h.get_by_label("OK: the packaged .crate matches this checksum");
    h.get_by_label("/home/you/foo/target/package/foo-1.2.3.crate");
    h.get_by_label("• build script new since 1.2.2");
    // Said once: a new build script has its red line, not also the note every one gets.
    assert!(
        h.query_by_label_contains("runs on every machine that builds this crate")
            .is_none()
    );
    h.get_by_label("• new dependency: build cc 1");
    h.get_by_label("Since 1.2.2 (cached): 1 added, 0 removed, 1 changed");
    h.get_by_label("+ build.rs\n~ src/lib.rs\n+ dependency build cc 1");
    h.get_by_label("4 files, 255 B unpacked");
    h.get_by_label_contains("• this helper (/home/you/.cargo/bin/cargo-confirm-gui)");
    // Who asked: one line; the chain behind a disclosure.
    h.get_by_label("cargo (checked), in /home/you/foo");
    assert!(h.query_by_label("cargo publish").is_none());
    open_chain(&mut h);
    h.get_by_label("cargo publish");
    h.get_by_label_contains("-bash (pid 4100, /usr/bin/bash, in /home/you/foo)");
}

#[test]
fn yank_and_get_have_their_own_wording() {
    let mut h = harness(ConfirmState::new(
        tx(Operation::Cargo(CargoRequest::Yank {
            name: "foo".into(),
            vers: "1.0.0".into(),
            undo: false,
        })),
        &opts(),
    ));
    h.run_steps(2);
    h.get_by_label("Yank foo 1.0.0 on local");
    let mut h = harness(ConfirmState::new(tx(Operation::Caller), &opts()));
    h.run_steps(2);
    h.get_by_label("(the caller did not name a crate or an operation)");
    h.get_by_label(
        "• the request names no crate and no operation: what the token is for cannot be shown",
    );
}

/// Pixel snapshots of the real view, drawn by the window's own rasteriser. After a
/// deliberate change, regenerate them with `UPDATE_SNAPSHOTS=1 cargo test --test views`.
#[test]
fn snapshot_typical_publish() {
    let mut h = harness(publish_with(Some(typical_report())));
    wait(&mut h, 1.5);
    h.snapshot("confirm_publish");
}

#[test]
fn snapshot_mismatch() {
    let mut h = harness(publish_with(Some(mismatch_report())));
    wait(&mut h, 1.5);
    h.snapshot("confirm_mismatch");
}

#[test]
fn snapshot_enroll() {
    let mut h = enroll_harness(false, true);
    wait(&mut h, 1.5);
    h.snapshot("enroll");
}

// ---- What is shown is what is there ----

#[test]
fn hidden_characters_in_every_field_are_escaped_and_flagged() {
    // Regression, "Nothing the caller supplies" (7): a right-to-left override and a
    // zero-width space made a registry look like crates.io; newlines in argv pushed the real
    // new owner of `cargo owner --add` out of view.
    let mut t = tx(Operation::Cargo(CargoRequest::Owners {
        name: "foo\u{202E}oof".into(),
    }));
    t.registry = "crates-io\u{200B} (sparse+https://index.crates.io/)".into();
    let mut r = cargo_requester();
    r.chain[0].argv = ["cargo", "owner", "--add", "friend\n\n\n\n\n\nmallory"]
        .map(String::from)
        .into();
    r.chain[0].cwd = Ok("/home/you/foo\u{2066}bar".into());
    r.chain[1].argv = vec!["bash".into(), "-c".into(), "x\u{200D}y".into()];
    t.requester = r;
    let mut h = harness(ConfirmState::new(t, &opts()));
    h.run_steps(2);
    // The sentence names the registry by its index URL (crates.io's here); the name with its
    // escape is in the details.
    h.get_by_label("Change the owners of foo\\u{202E}oof on crates.io");
    h.get_by_label("crates-io\\u{200B} (sparse+https://index.crates.io/)");
    // Named in the verdict, before any section.
    h.get_by_label_contains("• who asked holds invisible");
    h.get_by_label_contains("• the registry or the crate holds invisible");
    open_chain(&mut h);
    h.get_by_label("cargo owner --add friend\\n\\n\\n\\n\\n\\nmallory");
    h.get_by_label("/home/you/foo\\u{2066}bar");
    h.get_by_label(
        "WARNING: Command, In directory, started by held invisible, control or \
         direction-changing characters, shown above as \\u{…} and \\n escapes. Text like that \
         is made to look like something else.",
    );
    h.get_by_label(
        "WARNING: Registry, Crate held invisible, control or \
         direction-changing characters, shown above as \\u{…} and \\n escapes. Text like that \
         is made to look like something else.",
    );

    // Plain fields raise no warning.
    let mut h = harness(ConfirmState::new(tx(publish()), &opts()));
    h.run_steps(2);
    assert!(h.query_by_label_contains("held invisible").is_none());
}

#[test]
fn the_enroll_window_shows_who_asked() {
    let mut h = enroll_harness(false, true);
    h.run_steps(2);
    // One sentence, who asked in one line; the chain behind its disclosure.
    h.get_by_label("Store a token for crates-io");
    h.get_by_label_contains("cargo (");
    assert!(h.query_by_label("cargo publish").is_none());
    h.get_by_label_contains("Process chain").click_accesskit();
    h.run_steps(2);
    h.get_by_label("/home/you/.rustup/toolchains/stable/bin/cargo (pid 4242)");
    h.get_by_label("cargo publish");
}

fn plan(reports: Vec<(&str, Report)>) -> ConfirmState {
    let crates = reports
        .into_iter()
        .map(|(name, report)| cargo_confirm_gui::request::PlanCrate {
            name: name.into(),
            vers: "0.3.0".into(),
            cksum: "ef".repeat(32),
            report: Box::new(report),
            deps: vec!["serde ^1 (from https://github.com/rust-lang/crates.io-index)".into()],
        })
        .collect();
    ConfirmState::new(
        tx(Operation::Helper(HelperRequest::Publish { crates })),
        &opts(),
    )
}

#[test]
fn a_plan_shows_every_crate_and_one_click_approves_it() {
    let mut h = harness(plan(vec![
        ("foo-util", typical_report()),
        ("foo-core", typical_report()),
    ]));
    wait(&mut h, 1.5);
    h.get_by_label("Publish 2 crates to local");
    // Named in the details and over its section; its changes under its name.
    assert_eq!(h.query_all_by_label("foo-util 0.3.0").count(), 2);
    assert_eq!(h.query_all_by_label("foo-core 0.3.0").count(), 2);
    h.get_by_label("foo-util 0.3.0: what changed");
    // What needs a look, named by crate.
    h.get_by_label("• foo-core 0.3.0: build script new since 1.2.2");
    h.get_by_label("this helper, from the bytes shown here: the token goes to no other program");
    // What the upload declares, even with no earlier version to compare with.
    assert_eq!(
        h.query_all_by_label(
            "Dependencies: serde ^1 (from https://github.com/rust-lang/crates.io-index)"
        )
        .count(),
        2
    );
    click_approve(&mut h);
    assert_eq!(h.state().decision, Some(Decision::Approve));
}

#[test]
fn a_plan_with_one_unreadable_crate_cannot_be_approved() {
    let unreadable = Report {
        check: Check::Unreadable {
            path: "/home/you/foo/target/package/foo-core-0.3.0.crate".into(),
            why: "larger than 1 GiB".into(),
        },
        ..mismatch_report()
    };
    let mut h = harness(plan(vec![
        ("foo-util", typical_report()),
        ("foo-core", unreadable),
    ]));
    wait(&mut h, 1.5);
    click_approve(&mut h);
    wait(&mut h, 1.0);
    click_approve(&mut h);
    assert_eq!(h.state().decision, None);
    let empty = ConfirmState::new(
        tx(Operation::Helper(HelperRequest::Publish {
            crates: Vec::new(),
        })),
        &opts(),
    );
    let mut h = harness(empty);
    wait(&mut h, 1.5);
    click_approve(&mut h);
    assert_eq!(h.state().decision, None);
}

/// The presence step after Approve (issue "Presence the desktop cannot forge"): the window
/// stays open with the transaction in view, relays the system's questions, and answers with
/// what the person typed, never more.
mod presence_step {
    use super::*;
    use cargo_confirm_gui::presence::{Method, Reply, Says, ToWindow};
    use cargo_confirm_gui::ui::who::{Early, WhoLink};
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    type Inbox = Arc<Mutex<VecDeque<ToWindow>>>;
    type Outbox = Arc<Mutex<Vec<Early>>>;

    fn method() -> Method {
        Method {
            asks: "your password".into(),
            checked_by: "the system (PAM service cargo-confirm-gui)".into(),
        }
    }

    /// A confirm window whose transaction needs the step, linked like the window process
    /// links it; what it sends lands in the outbox. Answers are relayed as the window does
    /// once their keys are checked.
    fn linked(x11: bool) -> (Harness<'static, ConfirmState>, Inbox, Outbox) {
        let inbox: Inbox = Default::default();
        let outbox: Outbox = Default::default();
        let out = outbox.clone();
        let link = WhoLink::new(inbox.clone(), move |e| out.lock().unwrap().push(e), x11);
        let t = cargo_confirm_gui::ui::Transaction {
            presence: Some(method()),
            ..tx(publish())
        };
        let state = ConfirmState::new(t, &opts()).with_link(link);
        let h = Harness::builder()
            .with_size(layout::CONFIRM_SIZE)
            .with_step_dt(STEP)
            .with_context_setup(cargo_confirm_gui::ui::text_options)
            .renderer(Cpu::default())
            .build_ui_state(
                |ui, s: &mut ConfirmState| {
                    confirm::view(ui, s);
                    if let Some(answer) = s.who.submitted() {
                        s.who.send(answer);
                    }
                },
                state,
            );
        (h, inbox, outbox)
    }

    fn ask(h: &mut Harness<'_, ConfirmState>, inbox: &Inbox, msg: ToWindow) {
        inbox.lock().unwrap().push_back(msg);
        h.run_steps(3);
    }

    fn password_prompt() -> ToWindow {
        ToWindow::Says(Says::Prompt {
            text: "Password: ".into(),
            echo: false,
        })
    }

    fn sent(outbox: &Outbox) -> Vec<String> {
        outbox
            .lock()
            .unwrap()
            .iter()
            .map(|e| format!("{e:?}"))
            .collect()
    }

    #[test]
    fn after_approve_the_window_stays_open_and_relays_what_the_person_types() {
        let (mut h, inbox, outbox) = linked(false);
        wait(&mut h, 1.2);
        click_approve(&mut h);
        // Approve counted: the broker is told, the window stays open, nothing decided yet.
        assert_eq!(sent(&outbox), ["Approved(None)"]);
        assert!(!h.state().done());
        assert_eq!(h.state().decision, None);
        h.get_by_label("Confirm it is you");
        // The transaction stays in view.
        h.get_by_label("Publish foo 1.2.3 to local");
        ask(&mut h, &inbox, password_prompt());
        h.get_by_label("Password: ");
        h.event(Event::Text("hunter2".into()));
        h.run_steps(2);
        assert_eq!(sent(&outbox).len(), 1, "nothing is sent before Enter");
        h.key_press(Key::Enter);
        h.run_steps(2);
        assert_eq!(
            sent(&outbox)[1],
            format!("{:?}", Early::Reply(Reply::Answer("hunter2".into())))
        );
        // Only the system's verdict ends it.
        assert!(!h.state().done());
        ask(&mut h, &inbox, ToWindow::Done(Ok(())));
        assert_eq!(h.state().decision, Some(Decision::Approve));
        assert!(h.state().done());
    }

    #[test]
    fn a_wrong_answer_cancel_escape_or_timeout_ends_as_a_deny() {
        let (mut h, inbox, _) = linked(false);
        wait(&mut h, 1.2);
        click_approve(&mut h);
        ask(
            &mut h,
            &inbox,
            ToWindow::Says(Says::Error("Authentication failure".into())),
        );
        h.get_by_label("Authentication failure");
        ask(
            &mut h,
            &inbox,
            ToWindow::Done(Err("Authentication failure".into())),
        );
        assert_eq!(
            h.state().decision,
            Some(Decision::Deny(DenyReason::NotAuthenticated))
        );

        for end in ["Cancel", "Escape"] {
            let (mut h, inbox, outbox) = linked(false);
            wait(&mut h, 1.2);
            click_approve(&mut h);
            ask(&mut h, &inbox, password_prompt());
            if end == "Cancel" {
                h.get_by_label("Cancel").click();
            } else {
                h.key_press(Key::Escape);
            }
            h.run_steps(2);
            assert_eq!(
                h.state().decision,
                Some(Decision::Deny(DenyReason::Clicked)),
                "{end}"
            );
            assert_eq!(
                sent(&outbox).last().unwrap(),
                &format!("{:?}", Early::Reply(Reply::Cancel(DenyReason::Clicked)))
            );
        }

        // The window's timeout runs through the step.
        let (mut h, _, outbox) = linked(false);
        wait(&mut h, 1.2);
        click_approve(&mut h);
        wait(&mut h, 60.0);
        assert_eq!(
            h.state().decision,
            Some(Decision::Deny(DenyReason::Timeout))
        );
        assert!(sent(&outbox).last().unwrap().contains("Cancel(Timeout)"));
    }

    #[test]
    fn what_is_typed_is_forgotten_when_the_window_loses_focus() {
        let (mut h, inbox, outbox) = linked(false);
        wait(&mut h, 1.2);
        click_approve(&mut h);
        ask(&mut h, &inbox, password_prompt());
        h.event(Event::Text("hunter2".into()));
        h.run_steps(2);
        h.input_mut().focused = false;
        h.run_steps(2);
        h.input_mut().focused = true;
        h.run_steps(2);
        // The field is empty again: OK does nothing (an empty answer is never sent)...
        h.get_by_label("OK").click();
        h.run_steps(2);
        assert_eq!(sent(&outbox), ["Approved(None)"]);
        // ...and what is typed now is all that is sent.
        ask(&mut h, &inbox, password_prompt());
        h.event(Event::Text("x".into()));
        h.run_steps(2);
        h.key_press(Key::Enter);
        h.run_steps(2);
        assert_eq!(
            sent(&outbox).last().unwrap(),
            &format!("{:?}", Early::Reply(Reply::Answer("x".into())))
        );
    }

    #[test]
    fn a_veto_while_the_system_asks_ends_the_step() {
        let (mut h, inbox, outbox) = linked(true);
        wait(&mut h, 1.2);
        click_approve(&mut h);
        ask(&mut h, &inbox, password_prompt());
        // On X11 the window says who else can read the keys.
        h.get_by_label(
            "On X11 any program on this screen can read what you type here. A security key \
             (pam_u2f) cannot be read.",
        );
        h.state_mut().arming.blocked = Some("synthetic input from \"XTEST keyboard\"".into());
        h.run_steps(2);
        assert_eq!(h.state().decision, Some(Decision::Deny(DenyReason::Vetoed)));
        assert!(sent(&outbox).last().unwrap().contains("Cancel(Vetoed)"));
    }

    #[test]
    fn deny_before_approve_needs_no_step() {
        let (mut h, _, outbox) = linked(false);
        h.run_steps(2);
        h.get_by_label("Deny").click();
        h.run_steps(2);
        assert_eq!(
            h.state().decision,
            Some(Decision::Deny(DenyReason::Clicked))
        );
        assert!(h.state().done(), "a Deny closes the window at once");
        assert!(sent(&outbox).is_empty());
    }

    #[test]
    fn a_window_that_cannot_relay_the_step_cannot_approve() {
        let t = cargo_confirm_gui::ui::Transaction {
            presence: Some(method()),
            ..tx(publish())
        };
        let mut h = harness(ConfirmState::new(t, &opts()));
        wait(&mut h, 1.5);
        click_approve(&mut h);
        assert_eq!(h.state().decision, None);
    }

    #[test]
    fn snapshot_of_the_step() {
        let (mut h, inbox, _) = linked(true);
        wait(&mut h, 1.2);
        click_approve(&mut h);
        ask(&mut h, &inbox, password_prompt());
        h.event(Event::Text("hunter2".into()));
        h.run_steps(2);
        h.snapshot("confirm_who");
    }
}

// ---- The window a person reads in three seconds ----

/// How a snapshot is taken: the theme and the scale.
#[derive(Clone, Copy)]
struct Look {
    theme: egui::Theme,
    scale: f32,
}

const DARK: Look = Look {
    theme: egui::Theme::Dark,
    scale: 1.0,
};

fn look_harness(state: ConfirmState, look: Look) -> Harness<'static, ConfirmState> {
    Harness::builder()
        .with_size(layout::CONFIRM_SIZE)
        .with_step_dt(STEP)
        .with_theme(look.theme)
        .with_pixels_per_point(look.scale)
        .with_context_setup(cargo_confirm_gui::ui::text_options)
        .renderer(Cpu::default())
        .build_ui_state(|ui, s: &mut ConfirmState| confirm::view(ui, s), state)
}

/// The one sentence and the verdict's first line are in the window's top 120 points, and
/// the process chain is one line until opened; then the pixels.
fn read_in_three_seconds(
    results: &mut egui_kittest::SnapshotResults,
    state: ConfirmState,
    sentence: &str,
    look: Look,
    name: &str,
) {
    let mut h = look_harness(state, look);
    wait(&mut h, 1.5);
    let top =
        |h: &Harness<'_, ConfirmState>, label: &str| h.get_by_label_contains(label).rect().max.y;
    let s = top(&h, sentence);
    assert!(s <= 120.0, "{name}: the sentence ends at {s}");
    let verdict = ["Nothing unusual", "Stop and look", "Worth a look"]
        .into_iter()
        .find(|v| h.query_by_label_contains(v).is_some())
        .unwrap_or_else(|| panic!("{name}: no verdict line"));
    let v = top(&h, verdict);
    assert!(v <= 120.0, "{name}: the verdict ends at {v}");
    assert!(
        h.query_by_label_contains("pid 4100").is_none(),
        "{name}: the process chain is open"
    );
    results.add(h.try_snapshot(name));
}

/// cargo, verified, with nothing to note about it.
fn quiet_requester() -> cargo_confirm_gui::evidence::Requester {
    let mut r = cargo_requester();
    r.notices.clear();
    r
}

/// A release that changed only src/lib.rs, from a pushed, clean, signed commit.
fn clean_report() -> Report {
    let limits = package::Limits::default();
    let toml = |v: &str| {
        format!("[package]\nname = \"foo\"\nversion = \"{v}\"\n[dependencies]\nserde = \"1.0\"\n")
    };
    let before = package::list(
        &crate_file(
            "foo-1.2.2",
            &[
                ("Cargo.toml", &toml("1.2.2")),
                ("src/lib.rs", "pub fn f() {}"),
            ],
        )[..],
        &limits,
    );
    let now = package::list(
        &crate_file(
            "foo-1.2.3",
            &[
                ("Cargo.toml", &toml("1.2.3")),
                ("src/lib.rs", "pub fn f() -> u8 { 1 }"),
            ],
        )[..],
        &limits,
    );
    let diff = package::diff(
        &before,
        &now,
        "1.2.2",
        "/home/you/.cargo/registry/cache/x/foo-1.2.2.crate".into(),
    );
    Report {
        check: Check::Match("/home/you/foo/target/package/foo-1.2.3.crate".into()),
        flags: now.flags(&limits),
        contents: Some(now),
        previous: Previous::Found(diff),
        opened: Some("/proc/4242/fd/7".into()),
        provenance: Some(package::Provenance {
            checked: true,
            commit: Some("1a2b3c4d5e".repeat(4)),
            on_remote: Some(true),
            remote_ref: Some("origin/main".into()),
            ..Default::default()
        }),
        refused_by_policy: None,
    }
}

fn clean_publish() -> ConfirmState {
    let mut s = publish_with(Some(clean_report()));
    s.tx.requester = quiet_requester();
    s
}

#[test]
fn a_clean_publish_says_nothing_unusual_in_dark_light_and_at_2x() {
    let mut results = egui_kittest::SnapshotResults::new();
    let mut h = harness(clean_publish());
    wait(&mut h, 1.5);
    h.get_by_label(
        "Nothing unusual: the .crate matches its checksum; same files as commit 1a2b3c4, pushed \
         to origin/main as of your last fetch; no build script; no new dependencies since \
         1.2.2; asked by cargo (checked)",
    );
    for (look, name) in [
        (DARK, "three_seconds_clean"),
        (
            Look {
                theme: egui::Theme::Light,
                scale: 1.0,
            },
            "three_seconds_clean_light",
        ),
        (
            Look {
                theme: egui::Theme::Dark,
                scale: 2.0,
            },
            "three_seconds_clean_2x",
        ),
    ] {
        read_in_three_seconds(
            &mut results,
            clean_publish(),
            "Publish foo 1.2.3 to local",
            look,
            name,
        );
    }
}

#[test]
fn a_changed_build_script_and_a_new_dependency_are_listed_first() {
    let mut results = egui_kittest::SnapshotResults::new();
    read_in_three_seconds(
        &mut results,
        publish_with(Some(typical_report())),
        "Publish foo 1.2.3 to local",
        DARK,
        "three_seconds_build_script",
    );
    read_in_three_seconds(
        &mut results,
        publish_with(Some(typical_report())),
        "Publish foo 1.2.3 to local",
        Look {
            theme: egui::Theme::Light,
            scale: 2.0,
        },
        "three_seconds_build_script_light_2x",
    );
}

#[test]
fn a_request_not_from_cargo_is_red_in_the_verdict() {
    let mut results = egui_kittest::SnapshotResults::new();
    let mut s = publish_with(Some(clean_report()));
    s.tx.requester.parent_is_cargo = false;
    s.tx.requester.chain[0].exe = Ok("/tmp/worm".into());
    s.tx.requester.warnings = vec![cargo_confirm_gui::evidence::Warning::NotCargo];
    let mut h = harness(s);
    wait(&mut h, 1.5);
    h.get_by_label("• the program that asked is not cargo");
    h.get_by_label("worm (pid 4242), in /home/you/foo");
    let mut s = publish_with(Some(clean_report()));
    s.tx.requester.parent_is_cargo = false;
    s.tx.requester.chain[0].exe = Ok("/tmp/worm".into());
    s.tx.requester.warnings = vec![cargo_confirm_gui::evidence::Warning::NotCargo];
    read_in_three_seconds(
        &mut results,
        s,
        "Publish foo 1.2.3 to local",
        DARK,
        "three_seconds_not_cargo",
    );
}

#[test]
fn a_plan_of_twelve_crates_reads_at_once() {
    let mut results = egui_kittest::SnapshotResults::new();
    let names: Vec<String> = (1..=12).map(|i| format!("foo-part{i:02}")).collect();
    let reports = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let r = if i == 7 {
                typical_report()
            } else {
                clean_report()
            };
            (n.as_str(), r)
        })
        .collect();
    let mut s = plan(reports);
    s.tx.requester = quiet_requester();
    let mut all_clean = plan(names.iter().map(|n| (n.as_str(), clean_report())).collect());
    all_clean.tx.requester = quiet_requester();
    let mut h = harness(all_clean);
    wait(&mut h, 0.2);
    h.get_by_label_contains("Nothing unusual: 12 crates, each checked");
    read_in_three_seconds(
        &mut results,
        s,
        "Publish 12 crates to local",
        DARK,
        "three_seconds_plan_12",
    );
}

#[test]
fn yank_and_owners_read_in_one_sentence() {
    let mut results = egui_kittest::SnapshotResults::new();
    let mut yank = ConfirmState::new(
        tx(Operation::Helper(HelperRequest::Yank {
            name: "foo".into(),
            vers: "1.2.3".into(),
            undo: false,
        })),
        &opts(),
    );
    yank.tx.requester = quiet_requester();
    read_in_three_seconds(
        &mut results,
        yank,
        "Yank foo 1.2.3 on local",
        DARK,
        "three_seconds_yank",
    );
    let mut owners = ConfirmState::new(
        tx(Operation::Helper(HelperRequest::Owners {
            name: "foo".into(),
            change: cargo_confirm_gui::request::OwnerChange::Add(vec!["friend".into()]),
        })),
        &opts(),
    );
    owners.tx.requester = quiet_requester();
    read_in_three_seconds(
        &mut results,
        owners,
        "Add friend as owner of foo on local",
        DARK,
        "three_seconds_owners",
    );
}

#[test]
fn a_verdict_item_scrolls_to_its_section() {
    let mut h = harness(publish_with(Some(typical_report())));
    wait(&mut h, 1.5);
    let before = h.get_by_label("What changed").rect().min.y;
    h.get_by_label("• new dependency: build cc 1").click();
    h.run_steps(4);
    let after = h.get_by_label("What changed").rect().min.y;
    assert!(after < before, "did not scroll: {before} -> {after}");
    assert_eq!(h.state().decision, None, "a verdict link decided something");
}

#[test]
fn the_setup_window_names_each_registry_once() {
    let item: cargo_confirm_gui::request::AdoptItem = serde_json::from_value(serde_json::json!({
        "registry": "local (sparse+http://127.0.0.1:9/index/)",
        "fingerprint": "ab12cd34",
        "index": "sparse+http://127.0.0.1:9/index/ (from ~/.cargo/config.toml)",
        "source": "~/.cargo/config.toml, registries.local.token",
        "already_stored": false,
    }))
    .unwrap();
    let mut h = harness(ConfirmState::new(
        tx(Operation::Store(StoreChange::Adopt { tokens: vec![item] })),
        &opts(),
    ));
    h.run_steps(2);
    assert_eq!(h.query_all_by_label("Found in").count(), 1);
    assert_eq!(h.query_all_by_label("Registry").count(), 1);
}

/// The sentence names crates.io only for crates.io's own index: a host that merely holds
/// `index.crates.io` in its name is shown as that host.
#[test]
fn only_crates_ios_own_index_is_called_crates_io() {
    use cargo_confirm_gui::ui::summary::registry_name;
    for url in [
        "sparse+https://index.crates.io/",
        "https://github.com/rust-lang/crates.io-index",
    ] {
        assert_eq!(registry_name(url), "crates.io", "{url}");
    }
    assert_eq!(
        registry_name("sparse+https://index.crates.io.evil.example/"),
        "index.crates.io.evil.example"
    );
    assert_eq!(
        registry_name("sparse+https://evil.example/github.com/rust-lang/crates.io-index"),
        "evil.example"
    );
}

/// Red team 3: the name beside an index URL is the worm's to choose.
mod registry_names {
    use cargo_confirm_gui::ui::summary::registry_name;

    #[test]
    fn a_name_beside_crates_ios_index_does_not_hide_crates_io() {
        // cargo with `[registries.local] index = "sparse+https://index.crates.io/"` and
        // `cargo publish --registry local`: crates.io's token, the sentence says "local".
        let shown = registry_name("local (sparse+https://index.crates.io/)");
        assert_eq!(
            shown, "crates.io",
            "crates.io's token released under the name {shown:?}"
        );
    }

    #[test]
    fn a_name_that_reads_crates_io_beside_another_index_is_not_shown() {
        for label in [
            "crates.io (sparse+https://evil.example/)",
            "crates_io (sparse+https://evil.example/)",
            // a name holding " (": the first " (" wins, the Details row reads crates.io's URL first
            "crates-io (sparse+https://index.crates.io/) (sparse+https://evil.example/)",
        ] {
            let shown = registry_name(label);
            assert!(!shown.contains("crates"), "{label:?} shown as {shown:?}");
        }
    }

    #[test]
    fn userinfo_is_not_shown_as_the_host() {
        // cargo (curl) sends to evil.example; the sentence leads with crates.io's name.
        let shown = registry_name("sparse+https://index.crates.io@evil.example/");
        assert_eq!(shown, "evil.example");
    }
}
