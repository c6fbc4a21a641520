//! The one place that knows eframe and winit: opens a window, runs a view in it, returns
//! the view's state when it closes.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use egui::{ViewportBuilder, ViewportCommand};

use super::confirm::{self, ConfirmState};
use super::enroll::{self, EnrollState};
use super::{
    Arming, Cancel, Decision, EnrollOutcome, EnrollRequest, PromptOptions, Prompter, Transaction,
    layout,
};
use crate::display::{self, X11};
use crate::env::Snapshot;
use crate::error::{DenyReason, Error};
use crate::input_guard::{Guard, Objection};

fn synthetic_message(device: &str) -> String {
    format!(
        "synthetic input from \"{device}\" was seen while this window was open. Click Deny, and check what is running"
    )
}

/// Shows real windows on the desktop.
pub struct GuiPrompter {
    /// Where to show them.
    pub env: Snapshot,
}

impl Prompter for GuiPrompter {
    fn confirm(
        &self,
        tx: &Transaction,
        opts: &PromptOptions,
        cancel: &Cancel,
    ) -> Result<Decision, Error> {
        let mut title = format!(
            "cargo-confirm-gui: {}",
            confirm::wording(&tx.operation, tx.existing_entry).0
        );
        if !tx.requester.parent_is_cargo {
            title.push_str(" (asked by a program that is not cargo)");
        }
        let state = ConfirmState::new(tx.clone(), opts);
        let state = run(
            &self.env,
            &title,
            layout::CONFIRM_SIZE,
            state,
            cancel,
            Screen {
                view: confirm::view,
                done: |s| s.decision.is_some(),
                deny: |s, r| {
                    s.decision.get_or_insert(Decision::Deny(r));
                },
                arming: |s| &mut s.arming,
                approved: |s| s.decision == Some(Decision::Approve),
                retract: |s| s.decision = None,
            },
        )?;
        Ok(state.decision.unwrap_or(Decision::Deny(DenyReason::Closed)))
    }

    fn enroll(
        &self,
        req: &EnrollRequest,
        opts: &PromptOptions,
        cancel: &Cancel,
    ) -> Result<EnrollOutcome, Error> {
        let state = EnrollState::new(req.clone(), opts);
        let mut state = run(
            &self.env,
            "cargo-confirm-gui: store a registry token",
            layout::ENROLL_SIZE,
            state,
            cancel,
            Screen {
                view: enroll::view,
                done: |s| s.outcome.is_some(),
                deny: |s, r| {
                    s.outcome.get_or_insert(EnrollOutcome::Cancelled(r));
                },
                arming: |s| &mut s.arming,
                approved: |s| matches!(s.outcome, Some(EnrollOutcome::Saved(_))),
                retract: |s| s.outcome = None,
            },
        )?;
        Ok(state
            .outcome
            .take()
            .unwrap_or(EnrollOutcome::Cancelled(DenyReason::Closed)))
    }
}

struct Screen<S> {
    view: fn(&mut egui::Ui, &mut S),
    done: fn(&S) -> bool,
    deny: fn(&mut S, DenyReason),
    arming: fn(&mut S) -> &mut Arming,
    /// Whether the view says a person approved (before the input guard has judged it).
    approved: fn(&S) -> bool,
    /// Takes an approval back when the guard objects.
    retract: fn(&mut S),
}

struct App<S> {
    state: Rc<RefCell<S>>,
    screen: Screen<S>,
    cancel: Cancel,
    x11: Option<X11>,
    window: Option<u32>,
    focus_tries: u32,
    focus_set: bool,
    guard: Option<Guard>,
    armed_at: Option<Instant>,
    last_pointer_move: Option<Instant>,
}

impl<S> eframe::App for App<S> {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let mut state = self.state.borrow_mut();
        if self.cancel.is_cancelled() {
            (self.screen.deny)(&mut state, DenyReason::CallerGone);
        }
        // Without a window manager nobody gives us focus, and X focus follows the pointer:
        // being focused by accident at first proves nothing. Keep asking until our own
        // SetInputFocus has succeeded once (it fails until the window is viewable).
        if !self.focus_set
            && self.focus_tries < 50
            && let (Some(x), Some(w)) = (&self.x11, self.window)
        {
            self.focus_tries += 1;
            self.focus_set = x.focus(w);
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(100));
        }
        let now = Instant::now();
        if ui.input(|i| {
            i.events
                .iter()
                .any(|e| matches!(e, egui::Event::PointerMoved(_)))
        }) {
            self.last_pointer_move = Some(now);
        }
        if let Some(dev) = self.guard.as_ref().and_then(|g| g.seen().synthetic) {
            (self.screen.arming)(&mut state)
                .blocked
                .get_or_insert_with(|| synthetic_message(&dev));
        }
        egui::CentralPanel::default().show(ui, |ui| (self.screen.view)(ui, &mut state));
        if (self.screen.arming)(&mut state).is_armed() {
            self.armed_at.get_or_insert(now);
        } else {
            self.armed_at = None;
        }
        if (self.screen.approved)(&state)
            && let Some(guard) = &self.guard
        {
            match guard.judge(self.armed_at.unwrap_or(now), self.last_pointer_move) {
                Ok(()) => {}
                Err(Objection::Synthetic(dev)) => {
                    (self.screen.retract)(&mut state);
                    (self.screen.arming)(&mut state).blocked = Some(synthetic_message(&dev));
                }
                Err(Objection::NoRealMotion) => {
                    (self.screen.retract)(&mut state);
                    (self.screen.arming)(&mut state).hint = Some(
                        "That click did not count: move the mouse onto Approve, then click".into(),
                    );
                }
            }
        }
        if (self.screen.done)(&state) {
            ui.ctx().send_viewport_cmd(ViewportCommand::Close);
        }
    }
}

fn run<S: 'static>(
    env: &Snapshot,
    title: &str,
    size: egui::Vec2,
    state: S,
    cancel: &Cancel,
    screen: Screen<S>,
) -> Result<S, Error> {
    // The pipeline has already probed the display; no second handshake just to pick a protocol.
    let kind = display::choose(env).map_err(Error::Display)?;
    let x11 = match &kind {
        display::Kind::X11(d) => X11::connect(d),
        display::Kind::Wayland | display::Kind::Native => None,
    };
    // The guard starts before the window: a prompt that cannot tell a person's click from
    // a synthetic one is not shown at all.
    let repaint: Arc<Mutex<Option<egui::Context>>> = Arc::default();
    let guard = match &kind {
        display::Kind::X11(d) => {
            let slot = repaint.clone();
            let wake = move || {
                if let Some(ctx) = slot.lock().ok().and_then(|c| c.clone()) {
                    ctx.request_repaint();
                }
            };
            Some(Guard::start_x11(d, wake).map_err(|e| {
                Error::Display(format!(
                    "cannot check where input comes from, so no prompt is shown: {e}"
                ))
            })?)
        }
        display::Kind::Wayland | display::Kind::Native => None,
    };
    let mut viewport = ViewportBuilder::default()
        .with_title(title)
        .with_app_id("cargo-confirm-gui")
        .with_inner_size(size)
        .with_resizable(false)
        .with_always_on_top()
        .with_active(true);
    if let Some(pos) = x11.as_ref().and_then(|x| x.placement(size)) {
        viewport = viewport.with_position(pos);
    }
    let options = eframe::NativeOptions {
        viewport,
        centered: false,
        persist_window: false,
        ..Default::default()
    };
    let shared = Rc::new(RefCell::new(state));
    let app_state = shared.clone();
    let cancel_for_app = cancel.clone();
    // winit panics on some outside interference (the window destroyed by another client).
    // Contain it: the request fails closed with a clear message instead of a crash report.
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        eframe::run_native(
            "cargo-confirm-gui",
            options,
            Box::new(move |cc| {
                let ctx = cc.egui_ctx.clone();
                if let Ok(mut slot) = repaint.lock() {
                    *slot = Some(ctx.clone());
                }
                cancel_for_app.set_waker(move || ctx.request_repaint());
                let window = x11_window_id(cc);
                // The window and its GL context exist: from here on the helper needs no
                // network. Best effort; say so when the kernel cannot.
                if let Err(e) = crate::harden::deny_network() {
                    eprintln!(
                        "cargo-confirm-gui: note: could not deny this process the network ({e})"
                    );
                }
                Ok(Box::new(App {
                    state: app_state,
                    screen,
                    cancel: cancel_for_app,
                    x11,
                    window,
                    focus_tries: 0,
                    focus_set: false,
                    guard,
                    armed_at: None,
                    last_pointer_move: None,
                }))
            }),
        )
    }));
    std::panic::set_hook(quiet);
    match result {
        Ok(r) => r.map_err(|e| Error::Display(e.to_string()))?,
        Err(_) => {
            return Err(Error::Display(
                "the window ended abnormally (destroyed by another program?)".into(),
            ));
        }
    }
    let state = Rc::try_unwrap(shared)
        .map_err(|_| Error::Display("the window did not release its state".into()))?
        .into_inner();
    Ok(state)
}

#[allow(
    clippy::useless_conversion,
    reason = "Xlib's window id is a c_ulong: 64 bits on Linux, 32 on Windows"
)]
fn x11_window_id(cc: &eframe::CreationContext<'_>) -> Option<u32> {
    use raw_window_handle::{HasWindowHandle, RawWindowHandle};
    match cc.window_handle().ok()?.as_raw() {
        RawWindowHandle::Xlib(h) => u32::try_from(h.window).ok(),
        RawWindowHandle::Xcb(h) => Some(h.window.get()),
        _ => None,
    }
}
