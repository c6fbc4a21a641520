//! The window views as plain egui functions, driven by egui_kittest without a display:
//! only a pointer click after arming approves; keyboard, accessibility actions, early or
//! held clicks never do.

use std::time::Duration;

use cargo_confirm_gui::error::DenyReason;
use cargo_confirm_gui::evidence::Requester;
use cargo_confirm_gui::gate::Operation;
use cargo_confirm_gui::ui::confirm::{self, ConfirmState};
use cargo_confirm_gui::ui::enroll::{self, EnrollState};
use cargo_confirm_gui::ui::{
    Decision, EnrollOutcome, EnrollRequest, PromptOptions, Transaction, layout,
};
use egui::{Event, Key, Modifiers, PointerButton};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

const STEP: f32 = 0.05;

fn opts() -> PromptOptions {
    PromptOptions {
        timeout: Duration::from_secs(60),
        arm_delay: Duration::from_secs(1),
    }
}

fn tx(op: Operation) -> Transaction {
    Transaction {
        registry: "local (sparse+http://127.0.0.1:1/index/)".into(),
        operation: op,
        login_fingerprint: None,
        existing_entry: true,
        requester: Requester::default(),
        store: "test store".into(),
        recent_requests: 3,
    }
}

fn publish() -> Operation {
    Operation::Publish {
        name: "foo".into(),
        vers: "1.2.3".into(),
        cksum: "ab".repeat(32),
    }
}

fn harness(state: ConfirmState) -> Harness<'static, ConfirmState> {
    Harness::builder()
        .with_size(layout::CONFIRM_SIZE)
        .with_step_dt(STEP)
        .build_ui_state(|ui, s: &mut ConfirmState| confirm::view(ui, s), state)
}

fn wait(h: &mut Harness<'_, ConfirmState>, secs: f32) {
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
        .push("the program that asked is not cargo".into());
    let mut h = harness(ConfirmState::new(t, &opts()));
    h.run_steps(2);
    h.get_by_label("cargo wants to PUBLISH foo 1.2.3");
    h.get_by_label("local (sparse+http://127.0.0.1:1/index/)");
    // The full checksum, grouped for comparison.
    h.get_by_label(&confirm::group_checksum(&"ab".repeat(32)));
    h.get_by_label("WARNING: the program that asked is not cargo");
    h.get_by_label("3 in the last 10 minutes");
}

#[test]
fn login_and_logout_wording() {
    let mut t = tx(Operation::Login { token_given: true });
    t.login_fingerprint = Some("SHA256:aaaa bbbb cccc".into());
    let mut h = harness(ConfirmState::new(t, &opts()));
    h.run_steps(2);
    h.get_by_label("Replace the stored registry token?");
    h.get_by_label("Replace");
    h.get_by_label("SHA256:aaaa bbbb cccc");
    let mut h = harness(ConfirmState::new(tx(Operation::Logout), &opts()));
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
    };
    Harness::builder()
        .with_size(layout::ENROLL_SIZE)
        .with_step_dt(STEP)
        .build_ui_state(
            |ui, s: &mut EnrollState| enroll::view(ui, s),
            EnrollState::new(req, &opts()),
        )
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
    save(&mut h);
    match &h.state().outcome {
        Some(EnrollOutcome::Saved(t)) => assert_eq!(t.expose(), token),
        other => panic!("{other:?}"),
    }
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
