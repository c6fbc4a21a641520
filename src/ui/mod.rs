//! The windows: plain data in, a decision out.
//!
//! The views ([`confirm::view`], [`enroll::view`]) are plain egui functions over a state
//! struct, so tests drive them with egui_kittest without a display. Only `window` knows
//! winit. The rules that make a click count live in [`Arming`], shared by both views.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use egui::{PointerButton, Pos2, Rect, Sense, Ui, Vec2};

use crate::error::{DenyReason, Error};
use crate::evidence::Requester;
use crate::request::Operation;
use crate::token::Token;

pub mod confirm;
mod crate_view;
pub mod enroll;
mod palette;
pub mod process;
pub mod raster;
mod rows;
pub mod summary;
pub mod who;

mod window;

/// How every window draws text: glyphs at whole pixels (no sub-pixel binning), hinted.
///
/// With binning, egui keeps up to four bitmaps of each glyph, one per quarter-pixel offset,
/// and most of them are first rasterised (hinted, on the CPU) in the window's first frame:
/// 4.75 ms of its 5.28, timed in-process after the warm-up. Without it each glyph has one bitmap
/// per size, so the warm-up (every printable ASCII glyph in every text style, built while the
/// display is checked) leaves the first frame almost nothing to rasterise: 0.76 ms for the
/// whole egui pass. Hinting stays on, for sharp text at these sizes. The window, the pixel
/// snapshots and the bench all call this, so the snapshots show the window's own text.
pub fn text_options(ctx: &egui::Context) {
    ctx.all_styles_mut(|s| s.visuals.text_options.subpixel_binning = false);
}

/// What the confirm window shows.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Transaction {
    /// Registry name and index URL, for people.
    pub registry: String,
    /// What is asked.
    pub operation: Operation,
    /// `login`: fingerprint of the token to store.
    pub login_fingerprint: Option<String>,
    /// `login`/`logout`: a token is already stored for this registry.
    pub existing_entry: bool,
    /// Who asked.
    pub requester: Requester,
    /// Where the token lives, for people.
    pub store: String,
    /// Requests for a window in the last ten minutes, this one included.
    pub recent_requests: u32,
    /// `publish`: what is in the packaged `.crate`, filled in while the window is open (sent
    /// to the window process as a message of its own when it is ready).
    #[serde(skip)]
    pub package: Option<crate::package::Pending>,
    /// After Approve the system must confirm who approved (`presence`): how the window names
    /// that step. `None`: Approve decides.
    #[serde(default)]
    pub presence: Option<crate::presence::Method>,
}

/// What the enroll window needs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct EnrollRequest {
    /// Registry name and index URL, for people.
    pub registry: String,
    /// crates.io tokens have a known shape.
    pub crates_io: bool,
    /// Where the token will be stored, for people.
    pub store: String,
    /// A token is already stored: saving replaces it, and the person must say so.
    pub existing_entry: bool,
    /// Where to get a token, if the registry said.
    pub login_url: Option<String>,
    /// Who asked.
    pub requester: Requester,
    /// After Save the system must confirm who saved (storing over a stored token).
    #[serde(default)]
    pub presence: Option<crate::presence::Method>,
}

/// Timing rules for one window.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PromptOptions {
    /// No answer within this time is a Deny.
    pub timeout: Duration,
    /// Approve arms after the window has been visible and focused this long.
    pub arm_delay: Duration,
}

impl Default for PromptOptions {
    fn default() -> Self {
        PromptOptions {
            timeout: Duration::from_secs(120),
            arm_delay: Duration::from_secs(1),
        }
    }
}

impl From<&crate::gate::Options> for PromptOptions {
    /// The window's timing from the request's options (already checked against the policy).
    fn from(o: &crate::gate::Options) -> Self {
        PromptOptions {
            timeout: o.timeout(),
            arm_delay: o.arm_delay(),
        }
    }
}

/// How a confirm window ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Decision {
    /// A person clicked Approve.
    Approve,
    /// Anything else.
    Deny(DenyReason),
}

/// How an enroll window ended.
#[derive(Debug)]
pub enum EnrollOutcome {
    /// A person clicked Save with a valid token.
    Saved(Token),
    /// Anything else.
    Cancelled(DenyReason),
}

/// Shows windows and returns what a person decided. The shipped binary has exactly one
/// implementation, `window::GuiPrompter`; scripted ones live in test binaries only.
pub trait Prompter {
    /// Asks a person to approve a transaction.
    fn confirm(
        &self,
        tx: &Transaction,
        opts: &PromptOptions,
        cancel: &Cancel,
    ) -> Result<Decision, Error>;
    /// Asks a person to paste a token.
    fn enroll(
        &self,
        req: &EnrollRequest,
        opts: &PromptOptions,
        cancel: &Cancel,
    ) -> Result<EnrollOutcome, Error>;
    /// After an Approve (or Save) in a window whose transaction named a presence step, that
    /// window is still open: the system asks the person who they are in it. Only
    /// [`crate::presence::run`] makes the proof; a prompter that cannot relay fails closed.
    fn authenticate(
        &self,
        presence: &dyn crate::presence::Presence,
        what: &str,
    ) -> Result<crate::presence::Verified, crate::presence::PresenceError> {
        let _ = (presence, what);
        Err(crate::presence::PresenceError::Failed {
            reason: DenyReason::Closed,
            message: "this window cannot ask who you are".into(),
        })
    }
    /// Why Approve was unavailable in the last window this prompter showed, if it was: for
    /// the audit record of a Deny.
    fn blocked(&self) -> Option<String> {
        None
    }
    /// A window will probably be asked for soon: get ready (connect, check the display)
    /// without showing anything. Nothing may depend on it having been called.
    fn prepare(&self) {}
}

/// Set when the caller goes away (cargo closed our stdin); wakes the window.
#[derive(Clone, Default)]
pub struct Cancel(Arc<CancelInner>);

type Waker = Box<dyn Fn() + Send>;

#[derive(Default)]
struct CancelInner {
    flag: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Cancel {
    /// Marks the request cancelled and wakes the window, if one is open.
    pub(crate) fn cancel(&self) {
        self.0.flag.store(true, Ordering::SeqCst);
        if let Ok(w) = self.0.waker.lock()
            && let Some(w) = w.as_ref()
        {
            w();
        }
    }
    /// Wakes the window without cancelling (a message arrived for it).
    pub(crate) fn wake(&self) {
        if let Ok(w) = self.0.waker.lock()
            && let Some(w) = w.as_ref()
        {
            w();
        }
    }
    /// Whether [`Cancel::cancel`] was called.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.0.flag.load(Ordering::SeqCst)
    }
    /// Registers how to wake the window.
    fn set_waker(&self, f: impl Fn() + Send + 'static) {
        if let Ok(mut w) = self.0.waker.lock() {
            *w = Some(Box::new(f));
        }
    }
}

/// Where the two buttons sit: fixed at the bottom right, so tests (and people) find them.
pub mod layout {
    use super::*;

    /// Size of the confirm window, in points.
    pub const CONFIRM_SIZE: Vec2 = Vec2::new(720.0, 580.0);
    /// Size of the enroll window, in points.
    pub const ENROLL_SIZE: Vec2 = Vec2::new(640.0, 470.0);
    /// Size of each of the two buttons.
    const BUTTON: Vec2 = Vec2::new(128.0, 34.0);
    /// Gap around and between buttons.
    pub(crate) const MARGIN: f32 = 14.0;
    /// Height of the bottom bar.
    const BAR: f32 = BUTTON.y + 2.0 * MARGIN;

    /// The Approve (or Save) button, in a window whose content area is `screen`.
    pub(crate) fn approve_rect(screen: Rect) -> Rect {
        let max = screen.max - Vec2::splat(MARGIN);
        Rect::from_min_max(max - BUTTON, max)
    }

    /// The Deny (or Cancel) button.
    pub fn deny_rect(screen: Rect) -> Rect {
        approve_rect(screen).translate(Vec2::new(-(BUTTON.x + MARGIN), 0.0))
    }

    /// The content area above the bottom bar.
    pub(crate) fn content_rect(screen: Rect) -> Rect {
        Rect::from_min_max(screen.min, Pos2::new(screen.max.x, screen.max.y - BAR)).shrink(MARGIN)
    }

    /// Height of the presence step's panel above the bottom bar.
    const WHO: f32 = 150.0;

    /// The content area while the presence step is under way: above its panel.
    pub(crate) fn content_rect_asking(screen: Rect) -> Rect {
        Rect::from_min_max(
            screen.min,
            Pos2::new(screen.max.x, screen.max.y - BAR - WHO),
        )
        .shrink(MARGIN)
    }

    /// The presence step's panel, between the content and the bottom bar.
    pub(crate) fn who_rect(screen: Rect) -> Rect {
        Rect::from_min_max(
            Pos2::new(screen.min.x, screen.max.y - BAR - WHO),
            Pos2::new(screen.max.x, screen.max.y - BAR),
        )
        .shrink2(Vec2::new(MARGIN, 0.0))
    }

    /// Centre of the Approve button in window coordinates, for a window of `size` points.
    pub fn approve_center(size: Vec2) -> Pos2 {
        approve_rect(Rect::from_min_size(Pos2::ZERO, size)).center()
    }
}

/// The rules that make an Approve click count, shared by both windows:
/// armed only after the window has been focused for the delay (re-arming after focus
/// loss), only a primary pointer button press that *started* after arming, and never a
/// keyboard or accessibility activation (the button is not focusable, and only
/// `clicked_by(Primary)` is read).
#[derive(Debug, Clone)]
pub struct Arming {
    delay: f64,
    timeout: f64,
    started: Option<f64>,
    focused_since: Option<f64>,
    armed_at: Option<f64>,
    last_press: Option<f64>,
    /// Why Approve can never arm in this window (a vetoed prompt), if it cannot.
    pub blocked: Option<String>,
    /// A one-line hint shown while armed (why the last click did not count).
    hint: Option<String>,
    /// What covers the window now, if anything (set by the input guard): Approve disarms
    /// and counts down again from the start once it is gone.
    covered: Option<String>,
}

/// What the bottom bar shows about arming.
#[derive(Debug, Clone, PartialEq)]
enum ArmState {
    /// Waiting for focus.
    NeedsFocus,
    /// Counting down.
    Arming(f64),
    /// Clickable.
    Armed,
    /// Waiting until the window is no longer covered.
    Covered(String),
    /// Never, for this reason.
    Blocked(String),
}

impl Arming {
    /// New arming state for these options.
    fn new(opts: &PromptOptions) -> Self {
        Arming {
            delay: opts.arm_delay.as_secs_f64(),
            timeout: opts.timeout.as_secs_f64(),
            started: None,
            focused_since: None,
            armed_at: None,
            last_press: None,
            blocked: None,
            hint: None,
            covered: None,
        }
    }

    /// How long the window must be shown and focused before Approve arms.
    fn delay(&self) -> Duration {
        Duration::from_secs_f64(self.delay)
    }

    /// Advances the clock. Returns a deny reason when the window should end without Approve
    /// (timeout, Esc, close button).
    fn tick(&mut self, ui: &Ui) -> (ArmState, Option<DenyReason>) {
        let (now, focused, visible, esc, close, pressed) = ui.input(|i| {
            (
                i.time,
                i.focused,
                i.viewport().minimized != Some(true),
                i.key_pressed(egui::Key::Escape),
                i.viewport().close_requested(),
                i.pointer.primary_pressed(),
            )
        });
        if pressed {
            self.last_press = Some(now);
        }
        let started = *self.started.get_or_insert(now);
        if focused && visible && self.covered.is_none() {
            self.focused_since.get_or_insert(now);
        } else {
            self.focused_since = None;
            self.armed_at = None;
        }
        let state = if let Some(why) = &self.blocked {
            self.armed_at = None;
            ArmState::Blocked(why.clone())
        } else if let Some(what) = &self.covered {
            ArmState::Covered(what.clone())
        } else {
            match self.focused_since {
                None => ArmState::NeedsFocus,
                Some(t) if now - t >= self.delay => {
                    self.armed_at.get_or_insert(now);
                    ArmState::Armed
                }
                Some(t) => ArmState::Arming(self.delay - (now - t)),
            }
        };
        // Keep the countdowns moving.
        ui.ctx().request_repaint_after(Duration::from_millis(100));
        let deny = if close {
            Some(DenyReason::Closed)
        } else if esc {
            Some(DenyReason::Clicked)
        } else if now - started >= self.timeout {
            Some(DenyReason::Timeout)
        } else {
            None
        };
        (state, deny)
    }

    /// Whether Approve is armed now.
    fn is_armed(&self) -> bool {
        self.armed_at.is_some() && self.blocked.is_none()
    }

    /// Seconds left before the timeout.
    fn remaining(&self, ui: &Ui) -> f64 {
        let now = ui.input(|i| i.time);
        (self.timeout - (now - self.started.unwrap_or(now))).max(0.0)
    }

    /// Draws the Approve button at `rect` and returns true only for a click that counts.
    /// `ready` is the view's own condition (e.g. a valid token was pasted).
    fn approve_button(&self, ui: &mut Ui, rect: Rect, label: &str, ready: bool) -> bool {
        let armed = self.armed_at.is_some() && self.blocked.is_none() && ready;
        // Sense::CLICK without FOCUSABLE: Tab never lands here, Enter/Space cannot press it.
        let id = ui.scope_id().with("approve");
        let response = ui.interact(rect, id, Sense::CLICK);
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, armed, label));
        let visuals = ui.style().interact(&response);
        let (fill, text) = if armed {
            (
                egui::Color32::from_rgb(0x1f, 0x6f, 0x3f),
                egui::Color32::WHITE,
            )
        } else {
            (
                ui.visuals().widgets.noninteractive.bg_fill,
                ui.visuals().weak_text_color(),
            )
        };
        let painter = ui.painter();
        painter.rect_filled(rect, visuals.corner_radius, fill);
        if armed && response.hovered() {
            painter.rect_stroke(
                rect,
                visuals.corner_radius,
                visuals.fg_stroke,
                egui::StrokeKind::Inside,
            );
        }
        painter.text(
            rect.center(),
            egui::Align2::CENTER_CENTER,
            label,
            egui::FontId::proportional(16.0),
            text,
        );
        if !armed || !response.clicked_by(PointerButton::Primary) {
            return false;
        }
        // The press must have begun after arming: a button held down through the
        // countdown (a click "pre-loaded" under a popping window) does not count.
        matches!((self.last_press, self.armed_at), (Some(p), Some(a)) if p >= a)
    }
}

/// Status line for the bottom bar, naming the button as it reads (Approve, Store, Move,
/// Save).
fn arm_status(state: &ArmState, remaining: f64, button: &str) -> String {
    let closes = format!(
        "closes as Deny in {}:{:02}",
        (remaining as u64) / 60,
        (remaining as u64) % 60
    );
    match state {
        ArmState::NeedsFocus => format!("Click this window's title to focus it · {closes}"),
        ArmState::Arming(left) => format!("{button} arms in {left:.1} s · {closes}"),
        ArmState::Armed => format!("{button} is armed · {closes}"),
        ArmState::Covered(what) => format!("{button} waits: {what} · {closes}"),
        ArmState::Blocked(why) => format!("{button} disabled: {why}"),
    }
}

/// What happened in the bottom bar this frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BarAction {
    /// Nothing.
    None,
    /// Deny/Cancel was clicked (keyboard activation is fine for the safe button).
    Deny,
    /// Approve/Save was clicked in a way that counts.
    Approve,
}

/// Draws the bottom bar: arming status, the safe button, and the guarded one.
fn bottom_bar(
    ui: &mut Ui,
    arming: &Arming,
    arm: &ArmState,
    deny_label: &str,
    approve_label: &str,
    ready: bool,
) -> BarAction {
    let screen = ui.ctx().content_rect();
    let deny_rect = layout::deny_rect(screen);
    let status_rect = Rect::from_min_max(
        Pos2::new(screen.min.x + layout::MARGIN, deny_rect.min.y),
        Pos2::new(
            deny_rect.min.x - layout::MARGIN,
            screen.max.y - layout::MARGIN,
        ),
    );
    let color = if matches!(arm, ArmState::Blocked(_) | ArmState::Covered(_)) {
        egui::Color32::RED
    } else {
        ui.visuals().weak_text_color()
    };
    let mut status = arm_status(arm, arming.remaining(ui), approve_label);
    if let (ArmState::Armed, Some(hint)) = (arm, &arming.hint) {
        status = format!("{hint} · {status}");
    }
    ui.put(
        status_rect,
        egui::Label::new(egui::RichText::new(status).color(color)).wrap(),
    );
    if ui.put(deny_rect, egui::Button::new(deny_label)).clicked() {
        return BarAction::Deny;
    }
    if arming.approve_button(ui, layout::approve_rect(screen), approve_label, ready) {
        return BarAction::Approve;
    }
    BarAction::None
}
