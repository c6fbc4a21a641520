//! The presence step, as the window shows it: after a counted Approve the window stays open,
//! the transaction still in view, and the system's questions ("Password: ", "Touch your
//! security key") appear at the bottom, with a masked field. The broker runs the system's
//! check (`presence`); the window only relays.
//!
//! The field: masked, with no control that shows it; no input method (the window never
//! enables one, see `ui::window`); emptied and wiped when the window loses focus and after
//! each answer is sent; no undo history. Keys reach it only from real devices: on X11 the input
//! guard vetoes synthetic ones, and the window checks that every key it was given was also
//! seen from a real keyboard (`ui::window`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use egui::{Color32, RichText, Ui};
use zeroize::{Zeroize, Zeroizing};

use super::layout;
use crate::error::DenyReason;
use crate::presence::{Method, Reply, Says, ToWindow};

const RED: Color32 = Color32::from_rgb(0xe0, 0x40, 0x30);
const AMBER: Color32 = Color32::from_rgb(0xd8, 0x9a, 0x20);

/// What a window tells the broker while it is still open.
#[derive(Debug)]
pub enum Early {
    /// The counted Approve, or the Save of an enroll window with the token pasted: the
    /// broker may begin the presence step.
    Approved(Option<String>),
    /// An answer to the system, or the end of the attempt.
    Reply(Reply),
}

type Send = Arc<dyn Fn(Early) + std::marker::Send + Sync>;

/// The window's line to the broker during the presence step.
#[derive(Clone)]
pub struct WhoLink {
    inbox: Arc<Mutex<VecDeque<ToWindow>>>,
    send: Send,
    /// The window is on X11, where any program on the screen can read keystrokes.
    x11: bool,
}

impl WhoLink {
    /// A link whose messages from the broker arrive in `inbox`, and whose own go to `send`.
    pub fn new(
        inbox: Arc<Mutex<VecDeque<ToWindow>>>,
        send: impl Fn(Early) + std::marker::Send + Sync + 'static,
        x11: bool,
    ) -> Self {
        WhoLink {
            inbox,
            send: Arc::new(send),
            x11,
        }
    }

    fn next(&self) -> Option<ToWindow> {
        self.inbox.lock().ok()?.pop_front()
    }
}

/// Where a window is in the presence step.
#[derive(Default)]
pub enum Phase {
    /// No step: Approve decides.
    #[default]
    Off,
    /// A step follows a counted Approve.
    Ready(WhoLink, Method),
    /// The system is asking.
    Asking(Box<Asking>),
    /// The attempt ended.
    Finished,
}

impl Phase {
    /// A phase for a window whose transaction names `method`, linked by `link`. Without a
    /// link (a window that cannot relay) a method makes Approve unavailable instead.
    pub fn new(method: Option<Method>, link: Option<WhoLink>) -> Self {
        match (method, link) {
            (None, _) => Phase::Off,
            (Some(m), Some(link)) => Phase::Ready(link, m),
            (Some(_), None) => Phase::Finished,
        }
    }

    /// Whether the window must stay open: a step is to come or under way.
    pub fn holds(&self) -> bool {
        matches!(self, Phase::Ready(..) | Phase::Asking(_))
    }

    /// Whether a step follows Approve, and the window could not relay it.
    pub(crate) fn unavailable(&self, method: Option<&Method>) -> bool {
        method.is_some() && matches!(self, Phase::Finished)
    }

    /// Whether the system is asking now.
    pub fn asking(&self) -> bool {
        matches!(self, Phase::Asking(_))
    }

    /// Whether the system has asked its first question (the field is up).
    pub fn prompted(&self) -> bool {
        matches!(self, Phase::Asking(a) if a.prompt.is_some())
    }

    /// The approval just counted: the step begins, and the broker is told (with the token,
    /// for an enroll window).
    pub(crate) fn begin(&mut self, token: Option<String>) {
        if let Phase::Ready(link, method) = std::mem::take(self) {
            (link.send)(Early::Approved(token));
            *self = Phase::Asking(Box::new(Asking::new(link, method)));
        }
    }

    /// Ends the step without the system's verdict (Cancel, Esc, the window closed or timed
    /// out, or vetoed): the broker is told, and the window may close.
    pub(crate) fn cancel(&mut self, reason: DenyReason) {
        if let Phase::Asking(a) = std::mem::replace(self, Phase::Finished) {
            (a.link.send)(Early::Reply(Reply::Cancel(reason)));
        }
    }

    /// The answer the person submitted this frame, if any, for the window to check and send
    /// (`ui::window` checks that its keys came from a real keyboard).
    pub fn submitted(&mut self) -> Option<Zeroizing<String>> {
        match self {
            Phase::Asking(a) => a.submitted.take(),
            _ => None,
        }
    }

    /// Sends a checked answer to the broker; the field was already emptied.
    pub fn send(&mut self, mut answer: Zeroizing<String>) {
        if let Phase::Asking(a) = self {
            (a.link.send)(Early::Reply(Reply::Answer(std::mem::take(&mut *answer))));
            a.waiting = true;
        }
    }
}

/// The step under way.
pub struct Asking {
    link: WhoLink,
    method: Method,
    /// What the system said, last few lines.
    said: Vec<Says>,
    /// The question to answer now, and whether its answer may be shown.
    prompt: Option<(String, bool)>,
    input: Zeroizing<String>,
    focus: bool,
    /// An answer was sent; waiting for the system.
    waiting: bool,
    submitted: Option<Zeroizing<String>>,
    /// The system's verdict, once it came.
    verdict: Option<Result<(), String>>,
}

/// Room for any answer up front: growing the String would free old buffers holding it
/// without wiping them.
const INPUT_CAPACITY: usize = 1024;

impl Asking {
    fn new(link: WhoLink, method: Method) -> Self {
        Asking {
            link,
            method,
            said: Vec::new(),
            prompt: None,
            input: Zeroizing::new(String::with_capacity(INPUT_CAPACITY)),
            focus: false,
            waiting: true,
            submitted: None,
            verdict: None,
        }
    }

    fn clear(&mut self) {
        self.input.zeroize();
    }

    /// Takes in what the broker sent since the last frame.
    fn receive(&mut self) {
        while let Some(msg) = self.link.next() {
            match msg {
                ToWindow::Says(Says::Prompt { text, echo }) => {
                    self.clear();
                    self.prompt = Some((text, echo));
                    self.waiting = false;
                    self.focus = true;
                }
                ToWindow::Says(s) => {
                    self.said.push(s);
                    let n = self.said.len();
                    if n > 3 {
                        self.said.drain(..n - 3);
                    }
                }
                ToWindow::Done(v) => self.verdict = Some(v),
            }
        }
    }
}

/// The outcome of a frame of the step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ended {
    /// The system confirmed the person.
    Confirmed,
    /// It did not; the window closes as a Deny.
    Denied(DenyReason),
}

/// Draws the step at the bottom of the window (in place of the bottom bar) and takes in the
/// broker's messages. `deny` is the window's own reason to end (Esc, close, timeout, veto).
pub(crate) fn view(ui: &mut Ui, phase: &mut Phase, deny: Option<DenyReason>) -> Option<Ended> {
    let Phase::Asking(a) = phase else {
        return None;
    };
    a.receive();
    match a.verdict.take() {
        Some(Ok(())) => {
            *phase = Phase::Finished;
            return Some(Ended::Confirmed);
        }
        Some(Err(_)) => {
            *phase = Phase::Finished;
            return Some(Ended::Denied(DenyReason::NotAuthenticated));
        }
        None => {}
    }
    if let Some(reason) = deny {
        phase.cancel(reason);
        return Some(Ended::Denied(reason));
    }
    // Typed text never outlives the window's focus.
    if !ui.input(|i| i.focused) {
        a.clear();
    }
    let screen = ui.ctx().content_rect();
    let mut cancel = false;
    ui.scope_builder(
        egui::UiBuilder::new().max_rect(layout::who_rect(screen)),
        |ui| {
            ui.separator();
            ui.label(RichText::new("Confirm it is you").strong().size(16.0));
            ui.label(
                RichText::new(format!(
                    "Approved. Now {}, checked by {}.",
                    a.method.asks, a.method.checked_by
                ))
                .weak(),
            );
            for s in &a.said {
                match s {
                    Says::Error(t) => ui.colored_label(RED, crate::text::escape(t).text),
                    Says::Info(t) | Says::Prompt { text: t, .. } => {
                        ui.label(crate::text::escape(t).text)
                    }
                };
            }
            field(ui, a);
            if a.link.x11 {
                ui.colored_label(
                    AMBER,
                    "On X11 any program on this screen can read what you type here. A security \
                     key (pam_u2f) cannot be read.",
                );
            }
        },
    );
    let rect = layout::deny_rect(screen);
    if ui.put(rect, egui::Button::new("Cancel")).clicked() {
        cancel = true;
    }
    let ok = ui.add_enabled_ui(
        !a.waiting && a.prompt.is_some() && !a.input.is_empty(),
        |ui| ui.put(layout::approve_rect(screen), egui::Button::new("OK")),
    );
    if ok.inner.clicked_by(egui::PointerButton::Primary) && !a.waiting {
        a.submitted = Some(std::mem::take(&mut a.input));
        a.input = Zeroizing::new(String::with_capacity(INPUT_CAPACITY));
    }
    if cancel {
        phase.cancel(DenyReason::Clicked);
        return Some(Ended::Denied(DenyReason::Clicked));
    }
    None
}

/// The question and its field; Enter submits.
fn field(ui: &mut Ui, a: &mut Asking) {
    let Some((text, echo)) = a.prompt.clone() else {
        ui.label(RichText::new("Waiting for the system…").weak());
        return;
    };
    ui.horizontal(|ui| {
        let label = ui.label(crate::text::escape(&text).text);
        let edit = egui::TextEdit::singleline(&mut *a.input)
            .password(!echo)
            .interactive(!a.waiting)
            .desired_width(260.0);
        let r = ui.add(edit).labelled_by(label.id);
        // egui keeps undo snapshots of a field's text, which nothing wipes: keep none.
        if let Some(mut state) = egui::text_edit::TextEditState::load(ui.ctx(), r.id) {
            state.clear_undoer();
            state.store(ui.ctx(), r.id);
        }
        if a.focus {
            r.request_focus();
            a.focus = false;
        }
        let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if enter && !a.waiting && !a.input.is_empty() {
            a.submitted = Some(std::mem::take(&mut a.input));
            a.input = Zeroizing::new(String::with_capacity(INPUT_CAPACITY));
        } else if enter {
            // Nothing typed yet: Enter changes nothing, and the field keeps the keyboard.
            a.focus = true;
        }
    });
}
