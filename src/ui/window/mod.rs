//! The one place that knows winit: opens a window on the checked display, runs a view in
//! it, draws it on the CPU ([`super::raster`]) and returns the view's state when it closes.
//!
//! Before a window exists, the helper has chosen the backend (`display::choose`) and told
//! winit to use exactly that one, and the display server behind winit's own connection has
//! passed `display::trust`. On X11 the helper's second connection (input guard, drawing,
//! focus) must reach the same server process.

mod prepare;

use prepare::*;

use std::rc::Rc;
use std::time::{Duration, Instant};

use egui::{ViewportId, ViewportInfo};
use winit::application::ApplicationHandler;
use winit::dpi::{LogicalSize, PhysicalPosition};
use winit::event::{StartCause, WindowEvent};
use winit::event_loop::{ActiveEventLoop, ControlFlow, EventLoop, EventLoopProxy};
use winit::window::{CustomCursor, Window, WindowAttributes, WindowLevel};

use super::confirm::{self, ConfirmState};
use super::enroll::{self, EnrollState};
use super::raster::{Canvas, Rasterizer};
use super::who::{Phase, WhoLink};
use super::{
    Arming, Cancel, Decision, EnrollOutcome, EnrollRequest, PromptOptions, Transaction, layout,
};
use crate::display::{self, Kind};
use crate::env::Snapshot;
use crate::error::{DenyReason, Error};
#[cfg(target_os = "linux")]
use crate::gate::Refusal;
use crate::input_guard::{Click, Guard, Objection, arrow};
use crate::policy::DisplayPolicy;

fn veto_message(why: &str) -> String {
    format!("{why}. Click Deny, and check what is running")
}

/// Shows real windows on the desktop.
pub(crate) struct GuiPrompter {
    /// The display, connected and checked ahead of the first window ([`prepare`]).
    prepared: std::cell::RefCell<Option<Result<Prepared, Error>>>,
    /// Where to show them.
    env: Snapshot,
    /// What the administrator allows about display servers.
    policy: DisplayPolicy,
}

impl GuiPrompter {
    /// Connects to the display in `env` and checks it now, before anything is asked: the
    /// window process does this while the broker is still reading the keychain, so the
    /// person waits for neither one after the other.
    pub(crate) fn new(env: Snapshot, policy: DisplayPolicy) -> Self {
        let prepared = prepare(&env, &policy);
        GuiPrompter {
            prepared: std::cell::RefCell::new(Some(prepared)),
            env,
            policy,
        }
    }

    fn take_prepared(&self) -> Result<Prepared, Error> {
        match self.prepared.borrow_mut().take() {
            Some(p) => p,
            None => prepare(&self.env, &self.policy),
        }
    }
}

impl GuiPrompter {
    /// Shows the confirm window; a presence step after Approve is relayed through `link`.
    /// With the decision: why Approve was unavailable when the window closed, if it was.
    pub(crate) fn confirm(
        &self,
        tx: &Transaction,
        opts: &PromptOptions,
        cancel: &Cancel,
        link: WhoLink,
    ) -> Result<(Decision, Option<String>), Error> {
        let mut title = format!(
            "cargo-confirm-gui: {}",
            confirm::wording(&tx.operation, tx.existing_entry).0
        );
        if !tx.requester.parent_is_cargo && !tx.operation.run_by_the_person() {
            title.push_str(" (asked by a program that is not cargo)");
        }
        let state = ConfirmState::new(tx.clone(), opts).with_link(link);
        let state = run(
            self,
            &title,
            layout::CONFIRM_SIZE,
            state,
            cancel,
            Screen {
                view: confirm::view,
                done: ConfirmState::done,
                deny: |s, r| {
                    s.decision.get_or_insert(Decision::Deny(r));
                },
                arming: |s| &mut s.arming,
                approved: ConfirmState::approved,
                retract: |s| s.decision = None,
                who: |s| &mut s.who,
            },
        )?;
        Ok((
            state.decision.unwrap_or(Decision::Deny(DenyReason::Closed)),
            state.arming.blocked,
        ))
    }

    /// Shows the enroll window; a presence step after Save is relayed through `link`.
    pub(crate) fn enroll(
        &self,
        req: &EnrollRequest,
        opts: &PromptOptions,
        cancel: &Cancel,
        link: WhoLink,
    ) -> Result<EnrollOutcome, Error> {
        let state = EnrollState::new(req.clone(), opts).with_link(link);
        let mut state = run(
            self,
            "cargo-confirm-gui: store a registry token",
            layout::ENROLL_SIZE,
            state,
            cancel,
            Screen {
                view: enroll::view,
                done: EnrollState::done,
                deny: |s, r| {
                    s.outcome.get_or_insert(EnrollOutcome::Cancelled(r));
                },
                arming: |s| &mut s.arming,
                approved: EnrollState::approved,
                retract: |s| s.outcome = None,
                who: |s| &mut s.who,
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
    /// The presence step after an approval.
    who: fn(&mut S) -> &mut Phase,
}

/// Wakes the event loop from another thread (the input guard, the caller going away).
#[derive(Debug, Clone, Copy)]
struct Wake;

/// Draws finished frames into the window.
enum Presenter {
    /// X11: PutImage on the helper's own verified connection.
    #[cfg(target_os = "linux")]
    X11(std::sync::Arc<display::x11::Session>, u32),
    /// Wayland, macOS, Windows: softbuffer.
    Soft(softbuffer::Surface<Rc<Window>, Rc<Window>>),
}

/// Why a frame could not be shown.
#[derive(Debug, thiserror::Error)]
enum PresentError {
    /// Through the helper's own X connection.
    #[cfg(target_os = "linux")]
    #[error(transparent)]
    X11(#[from] display::x11::X11Error),
    /// Through softbuffer.
    #[error("{0}")]
    Soft(#[from] softbuffer::SoftBufferError),
}

impl Presenter {
    fn present(&mut self, canvas: &Canvas) -> Result<(), PresentError> {
        match self {
            #[cfg(target_os = "linux")]
            Presenter::X11(session, window) => Ok(session.present(*window, canvas)?),
            Presenter::Soft(surface) => {
                let (Some(w), Some(h)) = (
                    std::num::NonZeroU32::new(canvas.width as u32),
                    std::num::NonZeroU32::new(canvas.height as u32),
                ) else {
                    return Ok(());
                };
                surface.resize(w, h)?;
                let mut buffer = surface.buffer_mut()?;
                canvas.write_xrgb(&mut buffer);
                Ok(buffer.present()?)
            }
        }
    }
}

struct App<S> {
    title: String,
    size: egui::Vec2,
    state: S,
    screen: Screen<S>,
    cancel: Cancel,
    kind: Kind,
    ctx: egui::Context,
    window: Option<Rc<Window>>,
    egui: Option<egui_winit::State>,
    viewport: ViewportInfo,
    presenter: Option<Presenter>,
    raster: Rasterizer,
    canvas: Canvas,
    #[cfg(target_os = "linux")]
    session: Option<std::sync::Arc<display::x11::Session>>,
    x_window: Option<u32>,
    // Read only on X11 (Linux).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    focus_tries: u32,
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    focus_set: bool,
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    seen_viewable: bool,
    guard: Option<Guard>,
    /// The keys (X keycodes) winit delivered to the window, repeats left out; `None` for a
    /// key with no keycode.
    keys_delivered: Vec<Option<u32>>,
    /// At the start of the presence step: how many keys had been delivered, and how many
    /// real presses into the prompt the guard had seen. Every key the field is given after
    /// that must be one of those real presses.
    keys_base: Option<(usize, u64)>,
    /// The title now says the system is asking who approved.
    retitled: bool,
    /// When the window was last read back for another program's drawing.
    drawing_checked: Option<Instant>,
    armed_at: Option<Instant>,
    next_repaint: Option<Instant>,
    error: Option<Error>,
}

impl<S> App<S> {
    fn fail(&mut self, event_loop: &ActiveEventLoop, e: Error) {
        self.error.get_or_insert(e);
        event_loop.exit();
    }

    /// The window's attributes: its own arrow cursor, always on top, fixed size, centred
    /// on a visible monitor, and named for the X11 or Wayland shell.
    fn attributes(&self, event_loop: &ActiveEventLoop) -> Result<WindowAttributes, Error> {
        let cursor = CustomCursor::from_rgba(
            arrow::rgba(),
            arrow::SIZE as u16,
            arrow::SIZE as u16,
            arrow::HOTSPOT.0,
            arrow::HOTSPOT.1,
        )
        .map_err(|e| Error::Display(format!("cannot make the window's cursor: {e}")))?;
        let cursor = event_loop.create_custom_cursor(cursor);
        let mut attrs = Window::default_attributes()
            .with_title(self.title.clone())
            .with_inner_size(LogicalSize::new(self.size.x, self.size.y))
            .with_resizable(false)
            .with_window_level(WindowLevel::AlwaysOnTop)
            .with_active(true)
            .with_cursor(cursor);
        // Fully on a visible monitor: the primary one, else the first. (A window manager may
        // still move it; without one, centring on a screen that has no primary monitor put
        // the window half off-screen.)
        let monitor = event_loop
            .primary_monitor()
            .or_else(|| event_loop.available_monitors().next());
        if let Some(m) = monitor {
            let scale = m.scale_factor();
            let (w, h) = (
                (self.size.x as f64 * scale) as i32,
                (self.size.y as f64 * scale) as i32,
            );
            let (mw, mh) = (m.size().width as i32, m.size().height as i32);
            let p = m.position();
            attrs = attrs.with_position(PhysicalPosition::new(
                p.x + ((mw - w) / 2).max(0),
                p.y + ((mh - h) / 2).max(0),
            ));
        }
        #[cfg(target_os = "linux")]
        {
            use winit::platform::wayland::WindowAttributesExtWayland;
            use winit::platform::x11::WindowAttributesExtX11;
            attrs = match self.kind {
                Kind::Wayland(_) => WindowAttributesExtWayland::with_name(
                    attrs,
                    "cargo-confirm-gui",
                    "cargo-confirm-gui",
                ),
                _ => WindowAttributesExtX11::with_name(
                    attrs,
                    "cargo-confirm-gui",
                    "cargo-confirm-gui",
                ),
            };
        }
        Ok(attrs)
    }

    fn create_window(&mut self, event_loop: &ActiveEventLoop) -> Result<(), Error> {
        let attrs = self.attributes(event_loop)?;
        let window = Rc::new(
            event_loop
                .create_window(attrs)
                .map_err(|e| Error::Display(format!("cannot open the window: {e}")))?,
        );
        let egui = egui_winit::State::new(
            self.ctx.clone(),
            ViewportId::ROOT,
            event_loop,
            Some(window.scale_factor() as f32),
            window.theme(),
            None,
        );
        egui_winit::update_viewport_info(&mut self.viewport, &self.ctx, &window, true);
        self.x_window = x11_window_id(&window);
        if let (Some(g), Some(id)) = (&self.guard, self.x_window) {
            g.set_window(id);
        }
        self.presenter = Some(match (&self.x_window, self.session()) {
            #[cfg(target_os = "linux")]
            (Some(id), Some(session)) => Presenter::X11(session, *id),
            _ => {
                let context = softbuffer::Context::new(window.clone())
                    .map_err(|e| Error::Display(format!("cannot draw: {e}")))?;
                Presenter::Soft(
                    softbuffer::Surface::new(&context, window.clone())
                        .map_err(|e| Error::Display(format!("cannot draw: {e}")))?,
                )
            }
        });
        // The window exists: from here on the helper needs no network. Best effort; say
        // so when the kernel cannot.
        if let Err(e) = crate::harden::deny_network() {
            eprintln!("cargo-confirm-gui: note: could not deny this process the network ({e})");
        }
        // On X11 the first frame is drawn when the server says the window can be seen
        // (Expose, which winit turns into a redraw): drawn before that it is thrown away,
        // and the person waits for a second one. A Wayland surface is shown only once a
        // frame has been committed, so there it is drawn at once.
        if !matches!(self.kind, Kind::X11(_)) {
            window.request_redraw();
        }
        self.egui = Some(egui);
        self.window = Some(window);
        Ok(())
    }

    #[cfg(target_os = "linux")]
    fn session(&self) -> Option<std::sync::Arc<display::x11::Session>> {
        self.session.clone()
    }

    #[cfg(not(target_os = "linux"))]
    fn session(&self) -> Option<()> {
        None
    }

    /// One egui pass over the view, with the rules that are not the view's own.
    fn frame(&mut self, ui: &mut egui::Ui) {
        let state = &mut self.state;
        // Without a window manager nobody gives us focus, and X focus follows the pointer:
        // being focused by accident at first proves nothing. Keep asking until our own
        // SetInputFocus has succeeded once (it fails until the window is viewable).
        #[cfg(target_os = "linux")]
        if !self.focus_set
            && self.focus_tries < 50
            && let (Some(x), Some(w)) = (&self.session, self.x_window)
        {
            self.focus_tries += 1;
            self.focus_set = x.focus(w);
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(100));
        }
        let now = Instant::now();
        // What the person reads must be what this helper drew: on X11 another program can
        // draw into the window (Approve and Deny swapped). Read back twice a second.
        if let Some(g) = &self.guard
            && self
                .drawing_checked
                .is_none_or(|t| now - t >= Duration::from_millis(500))
        {
            g.check_drawing();
            self.drawing_checked = Some(now);
        }
        if let Some(seen) = self.guard.as_ref().map(Guard::seen) {
            let arming = (self.screen.arming)(state);
            if let Some(why) = &seen.veto {
                arming.blocked.get_or_insert_with(|| veto_message(why));
            }
            arming.covered = seen.covered;
        }
        egui::CentralPanel::default().show(ui, |ui| (self.screen.view)(ui, state));
        // After the view: a person's answer in the same frame stands; either way nothing is
        // released to a caller that is gone (the pipeline checks again).
        if self.cancel.is_cancelled() {
            (self.screen.deny)(state, DenyReason::CallerGone);
        }
        if (self.screen.arming)(state).is_armed() {
            self.armed_at.get_or_insert(now);
        } else {
            self.armed_at = None;
        }
        self.judge_approve(now);
        self.relay_answer();
        // The title says what the window asks now: a person (and a test) can tell the
        // question is up before typing.
        if !self.retitled
            && (self.screen.who)(&mut self.state).prompted()
            && let Some(w) = &self.window
        {
            w.set_title(&format!("{} - confirm it is you", self.title));
            self.retitled = true;
        }
        // The window's own arrow always: egui asks for other cursors (a text beam, a hand),
        // but only the arrow drawn here is ever set.
        ui.ctx().set_cursor_icon(egui::CursorIcon::Default);
    }

    /// An Approve the view counted stands only if the guard finds the click a person's:
    /// otherwise it is taken back, and the window says why.
    fn judge_approve(&mut self, now: Instant) {
        if (self.screen.approved)(&mut self.state)
            && let Some(guard) = &self.guard
        {
            let click = Click {
                armed_at: self.armed_at.unwrap_or(now),
                arm_delay: (self.screen.arming)(&mut self.state).delay(),
            };
            match guard.judge(&click) {
                Ok(()) => {}
                Err(Objection::Vetoed(why)) => {
                    (self.screen.retract)(&mut self.state);
                    (self.screen.arming)(&mut self.state).blocked = Some(veto_message(&why));
                }
                Err(Objection::Covered(why)) => {
                    (self.screen.retract)(&mut self.state);
                    (self.screen.arming)(&mut self.state).hint =
                        Some(format!("That click did not count: {why}"));
                }
                Err(Objection::NoRealMotion) => {
                    (self.screen.retract)(&mut self.state);
                    (self.screen.arming)(&mut self.state).hint = Some(
                        "That click did not count: move the mouse onto Approve, then click".into(),
                    );
                }
            }
        }
    }

    /// During the presence step: sends what the person submitted to the broker, once every
    /// key the window was given is known to come from a real keyboard. On X11 a program can
    /// send key events into any window (`XSendEvent`, which winit takes) that no device made.
    /// So each key the window was given since the step began must be a key a real keyboard
    /// pressed while the prompt had the keyboard focus, in the same order (the guard's raw
    /// events, `input_guard::keys_are_real`). Red team: counting keys against every real
    /// press on the screen let a worm type the password while the person typed elsewhere.
    fn relay_answer(&mut self) {
        let state = &mut self.state;
        let phase = (self.screen.who)(state);
        if !phase.asking() {
            return;
        }
        let real = self.guard.as_ref().map(|g| g.seen().real_keys_total());
        let (base_delivered, base_real) = *self
            .keys_base
            .get_or_insert((self.keys_delivered.len(), real.unwrap_or(0)));
        let Some(answer) = phase.submitted() else {
            return;
        };
        let forged = match &self.guard {
            None => None,
            Some(g) => match g.sync_seen() {
                Err(e) => Some(format!("the input guard lost the X server ({e})")),
                Ok(seen) => {
                    let given =
                        &self.keys_delivered[base_delivered.min(self.keys_delivered.len())..];
                    match seen.real_keys_from(base_real) {
                        Some(real) if crate::input_guard::keys_are_real(given, real) => None,
                        _ => Some(format!(
                            "this window was given {} key presses that no keyboard made into it: \
                             another program sent keys into it",
                            given.len()
                        )),
                    }
                }
            },
        };
        match forged {
            None => (self.screen.who)(state).send(answer),
            Some(why) => (self.screen.arming)(state).blocked = Some(veto_message(&why)),
        }
    }

    fn paint(&mut self, event_loop: &ActiveEventLoop) -> Result<(), Error> {
        let Some(window) = self.window.clone() else {
            return Ok(());
        };
        // Not before the window can be seen: that frame would be lost (see
        // `Session::viewable`); the Expose that follows the map brings the first one.
        #[cfg(target_os = "linux")]
        if !self.seen_viewable
            && let (Some(x), Some(w)) = (&self.session, self.x_window)
        {
            if !x.viewable(w) {
                self.next_repaint = Some(Instant::now() + Duration::from_millis(10));
                return Ok(());
            }
            self.seen_viewable = true;
        }
        let Some(egui) = self.egui.as_mut() else {
            return Ok(());
        };
        egui_winit::update_viewport_info(&mut self.viewport, &self.ctx, &window, false);
        let mut raw = egui.take_egui_input(&window);

        raw.viewports = std::iter::once((ViewportId::ROOT, self.viewport.clone())).collect();
        let ctx = self.ctx.clone();
        let mut out = ctx.run_ui(raw, |ui| self.frame(ui));

        let size = window.inner_size();
        let prims = ctx.tessellate(out.shapes, out.pixels_per_point);

        let mut textures = std::mem::take(&mut out.textures_delta);
        self.raster.set_textures(&mut textures);

        self.canvas.reset(size.width as usize, size.height as usize);
        self.raster
            .paint(&mut self.canvas, &prims, out.pixels_per_point);

        if let Some(p) = self.presenter.as_mut() {
            p.present(&self.canvas).map_err(|e| {
                Error::Display(format!(
                    "the window ended abnormally (destroyed by another program?): {e}"
                ))
            })?;
        }
        self.raster.free_textures(textures);
        if (self.screen.done)(&self.state) {
            event_loop.exit();
            return Ok(());
        }
        let delay = out
            .viewport_output
            .get(&ViewportId::ROOT)
            .map(|v| v.repaint_delay)
            .unwrap_or(Duration::MAX);
        self.next_repaint = (delay < Duration::from_secs(3600)).then(|| Instant::now() + delay);
        Ok(())
    }
}

impl<S> ApplicationHandler<Wake> for App<S> {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.window.is_none()
            && let Err(e) = self.create_window(event_loop)
        {
            self.fail(event_loop, e);
        }
    }

    fn new_events(&mut self, _: &ActiveEventLoop, cause: StartCause) {
        if let StartCause::ResumeTimeReached { .. } = cause
            && let Some(w) = &self.window
        {
            w.request_redraw();
        }
    }

    fn user_event(&mut self, _: &ActiveEventLoop, _: Wake) {
        if let Some(w) = &self.window {
            w.request_redraw();
        }
    }

    fn window_event(
        &mut self,
        event_loop: &ActiveEventLoop,
        _: winit::window::WindowId,
        event: WindowEvent,
    ) {
        match &event {
            WindowEvent::CloseRequested => {
                (self.screen.deny)(&mut self.state, DenyReason::Closed);
                event_loop.exit();
                return;
            }
            WindowEvent::Destroyed => {
                self.fail(
                    event_loop,
                    Error::Display("the window was destroyed by another program".into()),
                );
                return;
            }
            WindowEvent::RedrawRequested => {
                if let Err(e) = self.paint(event_loop) {
                    self.fail(event_loop, e);
                }
                return;
            }
            WindowEvent::KeyboardInput { event: key, .. }
                if key.state.is_pressed() && !key.repeat =>
            {
                use winit::platform::scancode::PhysicalKeyExtScancode;
                // winit's scancode is the X keycode less 8 (and the evdev code on Wayland,
                // where there is no guard to compare with).
                self.keys_delivered
                    .push(key.physical_key.to_scancode().map(|s| s + 8));
            }
            _ => {}
        }
        if let (Some(egui), Some(window)) = (self.egui.as_mut(), &self.window)
            && egui.on_window_event(window, &event).repaint
        {
            window.request_redraw();
        }
    }

    fn about_to_wait(&mut self, event_loop: &ActiveEventLoop) {
        event_loop.set_control_flow(match self.next_repaint {
            Some(t) if t <= Instant::now() => {
                if let Some(w) = &self.window {
                    w.request_redraw();
                }
                ControlFlow::Wait
            }
            Some(t) => ControlFlow::WaitUntil(t),
            None => ControlFlow::Wait,
        });
    }
}

fn run<S: 'static>(
    prompter: &GuiPrompter,
    title: &str,
    size: egui::Vec2,
    state: S,
    cancel: &Cancel,
    screen: Screen<S>,
) -> Result<S, Error> {
    let Prepared {
        kind,
        event_loop,
        proxy,
        #[cfg(target_os = "linux")]
        session,
        guard,
        ctx,
        raster,
    } = prompter.take_prepared()?;
    let waker = proxy.clone();
    cancel.set_waker(move || {
        let _ = waker.send_event(Wake);
    });
    let mut app = App {
        title: title.to_string(),
        size,
        state,
        screen,
        cancel: cancel.clone(),
        kind,
        ctx,
        window: None,
        egui: None,
        viewport: ViewportInfo::default(),
        presenter: None,
        raster,
        canvas: Canvas::new(0, 0),
        #[cfg(target_os = "linux")]
        session,
        x_window: None,
        focus_tries: 0,
        focus_set: false,
        seen_viewable: false,
        guard,
        keys_delivered: Vec::new(),
        keys_base: None,
        retitled: false,
        drawing_checked: None,
        armed_at: None,
        next_repaint: None,
        error: None,
    };
    let repaint = proxy.clone();
    // Only "repaint now" wakes the loop here; a delayed repaint is scheduled from the
    // frame's own output (`next_repaint`). Waking for those too redrew without pause,
    // a core's worth of CPU for as long as the window was up.
    app.ctx.set_request_repaint_callback(move |info| {
        if info.delay.is_zero() {
            let _ = repaint.send_event(Wake);
        }
    });
    // winit panics on some outside interference (the window destroyed by another client:
    // its X calls `unwrap` a BadWindow). Unwinding through winit is not safe to rely on: a
    // second panic while its state drops aborts the process without an answer. So the
    // first panic ends the window process at once, from the hook, with a refusal as its
    // answer: nothing was released, and the caller is told why.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {
        super::process::fail_now("the window ended abnormally (destroyed by another program?)")
    }));
    let result = event_loop.run_app(&mut app);
    std::panic::set_hook(previous);
    result.map_err(|e| Error::Display(e.to_string()))?;
    if let Some(e) = app.error {
        return Err(e);
    }
    Ok(app.state)
}

#[allow(
    clippy::useless_conversion,
    reason = "Xlib's window id is a c_ulong: 64 bits on Linux, 32 on Windows"
)]
fn x11_window_id(window: &Window) -> Option<u32> {
    use raw_window_handle::{HasWindowHandle, RawWindowHandle};
    match window.window_handle().ok()?.as_raw() {
        RawWindowHandle::Xlib(h) => u32::try_from(h.window).ok(),
        RawWindowHandle::Xcb(h) => Some(h.window.get()),
        _ => None,
    }
}
