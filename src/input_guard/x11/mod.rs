//! The X11 watcher: XI2 raw events and hierarchy changes, the root's stacking order, and
//! the displayed cursor, all on the helper's own verified connection.

mod cover;
mod input;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use x11rb::connection::Connection;
use x11rb::protocol::Event;
use x11rb::protocol::composite::ConnectionExt as _;
use x11rb::protocol::shape::ConnectionExt as _;
use x11rb::protocol::xfixes::{ConnectionExt as _, CursorNotifyMask, SelectionEventMask};
use x11rb::protocol::xinput::{ConnectionExt as _, Device, EventMask, NotifyMode, XIEventMask};
use x11rb::protocol::xproto::{
    AtomEnum, ChangeWindowAttributesAux, ConfigureNotifyEvent, ConfigureWindowAux,
    ConnectionExt as _, CreateNotifyEvent, EventMask as XEventMask, GravityNotifyEvent, MapState,
    Place, ReparentNotifyEvent, StackMode, WindowClass,
};

use super::stack::{Stack, Win};
use super::{GuardError, Seen, arrow};
use crate::display::x11::Session;

type Wake = Box<dyn Fn() + Send + Sync>;

pub(super) struct Watcher {
    shared: Arc<Shared>,
}

/// The prompt: the client window winit made, and its ancestor that is a child of the root
/// (the same window without a window manager, the manager's frame with one).
#[derive(Debug, Clone, Copy)]
struct Prompt {
    client: u32,
    top: u32,
}

struct Shared {
    session: Arc<Session>,
    screen: (i32, i32),
    opacity_atom: u32,
    devices: Mutex<HashMap<u16, String>>,
    stack: Mutex<Stack>,
    /// The compositing manager's overlay window, when one runs, and the windows inside it
    /// (above everything on the root, and not among the root's children).
    overlay: Option<Overlay>,
    /// Every window found inside the overlay at the last look, at any depth: their changes
    /// are watched, since none of them reports to the root.
    overlay_tree: Mutex<std::collections::HashSet<u32>>,
    /// `_NET_WM_CM_S<screen>`: a compositing manager that starts or stops while the prompt
    /// is up vetoes it.
    cm_atom: u32,
    prompt: Mutex<Option<Prompt>>,
    /// Whether the prompt has the keyboard focus (XI2 focus events on it, in the server's
    /// order with the raw key events).
    focused: std::sync::atomic::AtomicBool,
    last_raise: Mutex<Option<Instant>>,
    seen: Arc<Mutex<Seen>>,
    wake: Wake,
}

/// The Composite overlay window and the client that draws in it.
#[derive(Debug, Clone, Copy)]
struct Overlay {
    window: u32,
    /// The compositing manager's resource-id base: its own windows in the overlay are the
    /// screen it draws, not covers.
    manager_base: u32,
    id_mask: u32,
}

impl Overlay {
    fn foreign(&self, window: u32) -> bool {
        window & !self.id_mask != self.manager_base
    }
}

/// The compositing manager's overlay window, watched, when a compositing manager runs, and
/// the atom of its selection (watched too).
fn watch_overlay(conn: &impl Connection, root: u32) -> Result<(Option<Overlay>, u32), GuardError> {
    // Red team of "Only the person's own screen": a window inside the compositing
    // manager's overlay window is drawn above everything, yet is not a child of the root,
    // and sends the root no events. Asked for only when a compositing manager owns the
    // overlay (asking otherwise would make one, black, over the whole screen).
    let screen_number = conn
        .setup()
        .roots
        .iter()
        .position(|s| s.root == root)
        .unwrap_or(0);
    let cm_atom = conn
        .intern_atom(false, format!("_NET_WM_CM_S{screen_number}").as_bytes())
        .map_err(err)?
        .reply()
        .map_err(err)?
        .atom;
    let manager = conn
        .get_selection_owner(cm_atom)
        .map_err(err)?
        .reply()
        .map_err(err)?
        .owner;
    conn.xfixes_select_selection_input(
        root,
        cm_atom,
        SelectionEventMask::SET_SELECTION_OWNER
            | SelectionEventMask::SELECTION_WINDOW_DESTROY
            | SelectionEventMask::SELECTION_CLIENT_CLOSE,
    )
    .map_err(err)?
    .check()
    .map_err(watch("the compositing manager"))?;
    let overlay = if manager == x11rb::NONE {
        None
    } else {
        let window = conn
            .composite_query_version(0, 3)
            .ok()
            .and_then(|c| c.reply().ok())
            .and_then(|_| conn.composite_get_overlay_window(root).ok())
            .and_then(|c| c.reply().ok())
            .map(|r| r.overlay_win)
            .ok_or(GuardError::OverlayHidden)?;
        conn.change_window_attributes(
            window,
            &ChangeWindowAttributesAux::new().event_mask(XEventMask::SUBSTRUCTURE_NOTIFY),
        )
        .map_err(err)?
        .check()
        .map_err(watch("the compositing overlay"))?;
        let id_mask = conn.setup().resource_id_mask;
        Some(Overlay {
            window,
            manager_base: manager & !id_mask,
            id_mask,
        })
    };
    Ok((overlay, cm_atom))
}

/// The extensions the guard cannot judge without: the Generic Event Extension and XInput
/// 2.2 (raw events, which say which device acted), and XFixes 2 (the cursor on screen).
/// Any of them missing refuses the display.
fn require_extensions(conn: &impl Connection) -> Result<(), GuardError> {
    // XI2 events travel as generic events: without this extension the server accepts
    // the selection (`select_root_events`) but never delivers a single raw event.
    if conn
        .extension_information("Generic Event Extension")
        .ok()
        .flatten()
        .is_none()
    {
        return Err(GuardError::NoGenericEvents);
    }
    let v = conn
        .xinput_xi_query_version(2, 2)
        .map_err(err)?
        .reply()
        .map_err(GuardError::NoXInput2)?;
    if (v.major_version, v.minor_version) < (2, 2) {
        return Err(GuardError::OldXInput {
            major: v.major_version,
            minor: v.minor_version,
        });
    }
    let f = conn
        .xfixes_query_version(5, 0)
        .map_err(err)?
        .reply()
        .map_err(GuardError::NoXFixes)?;
    if f.major_version < 2 {
        return Err(GuardError::OldXFixes {
            major: f.major_version,
        });
    }
    Ok(())
}

/// Selects on the root every event the guard judges by: raw input and pointer motion on the
/// master devices, hierarchy changes on all devices, the root's children, and the displayed
/// cursor. A selection the server refuses refuses the display.
fn select_root_events(conn: &impl Connection, root: u32) -> Result<(), GuardError> {
    // Raw events say which device moved or pressed; MOTION (on the root here, on the
    // prompt once it exists) says whether the pointer moved with no device behind it.
    let raw = XIEventMask::RAW_BUTTON_PRESS
        | XIEventMask::RAW_BUTTON_RELEASE
        | XIEventMask::RAW_KEY_PRESS
        | XIEventMask::RAW_KEY_RELEASE
        | XIEventMask::RAW_MOTION
        | XIEventMask::MOTION;
    // Raw events for the master devices carry the slave `sourceid` (masters added later
    // included); hierarchy changes must be selected separately, on all devices.
    let masks = [
        EventMask {
            deviceid: device_id(Device::ALL_MASTER),
            mask: vec![raw],
        },
        EventMask {
            deviceid: device_id(Device::ALL),
            mask: vec![XIEventMask::HIERARCHY],
        },
    ];
    conn.xinput_xi_select_events(root, &masks)
        .map_err(err)?
        .check()
        .map_err(watch("raw input"))?;
    // The root's children come and go, move and restack: SubstructureNotify. (Other
    // clients' masks on the root are kept; only redirection is exclusive.)
    conn.change_window_attributes(
        root,
        &ChangeWindowAttributesAux::new().event_mask(XEventMask::SUBSTRUCTURE_NOTIFY),
    )
    .map_err(err)?
    .check()
    .map_err(watch("the windows on screen"))?;
    conn.xfixes_select_cursor_input(root, CursorNotifyMask::DISPLAY_CURSOR)
        .map_err(err)?
        .check()
        .map_err(watch("the cursor"))?;
    Ok(())
}

fn device_id(d: Device) -> u16 {
    u16::from(bool::from(d))
}

/// A request or its reply failed.
fn err(e: impl Into<x11rb::errors::ReplyError>) -> GuardError {
    GuardError::Request(e.into())
}

/// The server refused to send the events of `what`.
fn watch(what: &'static str) -> impl FnOnce(x11rb::errors::ReplyError) -> GuardError {
    move |source| GuardError::Watch { what, source }
}

impl Watcher {
    /// Checks the server's extensions, selects the events the guard judges by, learns the
    /// devices and the windows on screen, then handles events on a thread of its own. Any
    /// failure on the way refuses the display.
    pub(super) fn start(
        session: Arc<Session>,
        seen: Arc<Mutex<Seen>>,
        wake: Wake,
    ) -> Result<Watcher, GuardError> {
        let conn = &session.conn;
        let root = session.root;
        require_extensions(conn)?;
        select_root_events(conn, root)?;
        let opacity_atom = conn
            .intern_atom(false, b"_NET_WM_WINDOW_OPACITY")
            .map_err(err)?
            .reply()
            .map_err(err)?
            .atom;
        let screen = conn
            .setup()
            .roots
            .iter()
            .find(|s| s.root == root)
            .map(|s| (i32::from(s.width_in_pixels), i32::from(s.height_in_pixels)))
            .ok_or(GuardError::NoScreen)?;
        let (overlay, cm_atom) = watch_overlay(conn, root)?;
        let shared = Arc::new(Shared {
            session: session.clone(),
            screen,
            opacity_atom,
            overlay,
            overlay_tree: Mutex::new(std::collections::HashSet::new()),
            cm_atom,
            devices: Mutex::new(HashMap::new()),
            stack: Mutex::new(Stack::default()),
            prompt: Mutex::new(None),
            focused: std::sync::atomic::AtomicBool::new(false),
            last_raise: Mutex::new(None),
            seen,
            wake,
        });
        shared.refresh_devices()?;
        shared.load_stack()?;
        let thread_shared = shared.clone();
        std::thread::spawn(move || {
            while let Ok(ev) = thread_shared.session.conn.wait_for_event() {
                thread_shared.handle(ev);
            }
            // The connection died: from now on nothing can be judged; sync() reports it.
        });
        Ok(Watcher { shared })
    }

    /// Learns which window is the prompt.
    pub(super) fn set_window(&self, client: u32) {
        let s = &self.shared;
        // Its own reparenting (into a window manager's frame), property changes (opacity)
        // and windows created inside it reach us through the client window itself.
        let _ = s.session.conn.change_window_attributes(
            client,
            &ChangeWindowAttributesAux::new().event_mask(
                XEventMask::STRUCTURE_NOTIFY
                    | XEventMask::SUBSTRUCTURE_NOTIFY
                    | XEventMask::PROPERTY_CHANGE,
            ),
        );
        // Pointer motion over the prompt reaches its own window, not the root; so do the
        // pointer's entering and leaving it, whose mode says when another client grabbed the
        // pointer (to warp it, or show a cursor of its own, unseen).
        let _ = s.session.conn.xinput_xi_select_events(
            client,
            &[EventMask {
                deviceid: device_id(Device::ALL_MASTER),
                mask: vec![
                    XIEventMask::MOTION
                        | XIEventMask::ENTER
                        | XIEventMask::LEAVE
                        | XIEventMask::FOCUS_IN
                        | XIEventMask::FOCUS_OUT,
                ],
            }],
        );
        // The keyboard focus may be on the prompt already (a window manager's doing).
        if let Ok(Ok(f)) = s.session.conn.get_input_focus().map(|c| c.reply()) {
            s.focused
                .store(f.focus == client, std::sync::atomic::Ordering::SeqCst);
        }
        // Its shape: cut down to one button over a decoy that lies below it.
        let _ = s.session.conn.shape_select_input(client, true);
        let shaped = s
            .session
            .conn
            .shape_query_extents(client)
            .ok()
            .and_then(|c| c.reply().ok())
            .is_none_or(|r| r.bounding_shaped || r.clip_shaped);
        if shaped {
            s.veto(SHAPED.into());
        }
        if let Ok(mut p) = s.prompt.lock() {
            *p = Some(Prompt {
                client,
                top: client,
            });
        }
        s.find_top();
        s.update_cover();
        // Red team: a cursor set on the prompt before this point sent its event before the
        // guard knew the prompt; look now.
        s.check_cursor(false);
    }

    /// One round trip, then handle whatever arrived before it, and check the cursor on
    /// screen now: a click is judged only while the prompt's own arrow is displayed; and the
    /// window must show what the helper drew.
    pub(super) fn sync(&self) -> Result<(), GuardError> {
        let s = &self.shared;
        let conn = &s.session.conn;
        conn.get_input_focus().map_err(err)?.reply().map_err(err)?;
        while let Some(ev) = conn.poll_for_event().map_err(err)? {
            s.handle(ev);
        }
        s.check_cursor(true);
        s.check_drawing(true);
        Ok(())
    }

    /// Whether another program drew into the prompt: checked at every judgement, and by the
    /// window every half second while it is up.
    pub(super) fn check_drawing(&self) {
        self.shared.check_drawing(false);
    }
}

/// How long the prompt must have been fully shown before it is read back, and then only once
/// the helper drew a frame into it since it was uncovered (a full test run on a loaded 2-core
/// machine saw the read-back of a repaint not yet drawn veto a person's click). Below the
/// shortest arming delay (1 s), so a click is never judged before the read-back runs.
const SETTLE: Duration = Duration::from_millis(800);

/// Why a shaped prompt is vetoed.
const SHAPED: &str = "another program changed this window's shape (it can cut the window \
                      down so that what shows through is not this window)";

impl Shared {
    /// Reads the prompt back and vetoes it when it shows anything but the helper's own last
    /// frame. Only while it has been fully shown for a moment: the server keeps nothing of
    /// what covered it, and redraws follow an Expose. At a judgement (`judging`), a window
    /// that cannot be read back is vetoed too.
    fn check_drawing(&self, judging: bool) {
        let Some(prompt) = self.prompt.lock().ok().and_then(|p| *p) else {
            return;
        };
        let clear = self.seen.lock().ok().and_then(|s| {
            s.clear_since
                .filter(|t| s.covered.is_none() && t.elapsed() >= SETTLE)
        });
        let Some(clear) = clear else {
            return;
        };
        // What the prompt shows can be compared only once the helper drew a whole frame into
        // it after it was uncovered (the server keeps nothing of what covered it). Until then
        // a click does not count, and the window is asked for a frame.
        let drawn = self.session.presented_since(clear);
        if let Ok(mut seen) = self.seen.lock() {
            seen.redrawing = !drawn;
        }
        if !drawn {
            (self.wake)();
            return;
        }
        match self.session.drawn_by_another(prompt.client) {
            Ok(None) => {}
            Ok(Some((x, y))) => self.veto(format!(
                "another program drew into this window (at {x},{y}): what it shows may not be \
                 what this helper drew"
            )),
            Err(e) if judging => self.veto(e.to_string()),
            Err(_) => {}
        }
    }

    fn veto(&self, why: String) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.veto.get_or_insert(why);
        }
        (self.wake)();
    }

    /// Dispatches one event from the server, tried in this order: input and device changes,
    /// the cursor, the compositing manager, the overlay, the root's children, reparenting,
    /// opacity, then anything else inside the prompt's own tree; the rest is ignored.
    fn handle(&self, ev: Event) {
        let root = self.session.root;
        match ev {
            Event::XinputRawButtonPress(e) => {
                self.raw_input(e.sourceid, Raw::Button(e.detail == 1))
            }
            Event::XinputRawButtonRelease(e) => self.raw_input(e.sourceid, Raw::Button(false)),
            Event::XinputRawMotion(e) => self.raw_input(e.sourceid, Raw::Motion),
            Event::XinputMotion(e) => self.pointer_motion(e.sourceid, e.deviceid),
            Event::XinputRawKeyPress(e) => self.raw_input(e.sourceid, Raw::KeyPress(e.detail)),
            Event::XinputFocusIn(e) if self.is_prompt(e.event) => self
                .focused
                .store(true, std::sync::atomic::Ordering::SeqCst),
            Event::XinputFocusOut(e) if self.is_prompt(e.event) => self
                .focused
                .store(false, std::sync::atomic::Ordering::SeqCst),
            Event::XinputRawKeyRelease(e) => self.raw_input(e.sourceid, Raw::KeyRelease),
            Event::XinputHierarchy(_) => self.devices_changed(),
            Event::XinputEnter(e) | Event::XinputLeave(e) => self.crossing(e.mode),
            Event::ShapeNotify(e) if self.is_prompt(e.affected_window) => self.veto(SHAPED.into()),
            Event::XfixesCursorNotify(_) => self.check_cursor(false),
            Event::XfixesSelectionNotify(e) if e.selection == self.cm_atom => self.veto(
                "the compositing manager changed while this window was open (the program that \
                 draws the screen)"
                    .into(),
            ),
            ev if self.in_overlay_event(&ev) => self.handle_overlay(ev),
            Event::CreateNotify(e) if e.parent == root => self.root_child_created(e),
            Event::DestroyNotify(e) if e.event == root => self.restack(|s| s.remove(e.window)),
            Event::MapNotify(e) if e.event == root => {
                self.restack(|s| s.set_mapped(e.window, true))
            }
            Event::UnmapNotify(e) if e.event == root => {
                self.restack(|s| s.set_mapped(e.window, false))
            }
            Event::ConfigureNotify(e) if e.event == root => self.root_child_configured(e),
            Event::GravityNotify(e) if e.event == root => self.root_child_gravity(e),
            Event::CirculateNotify(e) if e.event == root => {
                self.restack(|s| s.circulate(e.window, e.place == Place::ON_TOP))
            }
            Event::ReparentNotify(e) => self.reparented(e),
            Event::PropertyNotify(e) if e.atom == self.opacity_atom => self.update_cover(),
            // Inside the prompt, or inside its window manager's frame.
            Event::CreateNotify(_)
            | Event::MapNotify(_)
            | Event::UnmapNotify(_)
            | Event::ConfigureNotify(_)
            | Event::DestroyNotify(_)
            | Event::CirculateNotify(_)
            | Event::GravityNotify(_) => self.update_cover(),
            _ => {}
        }
    }
}

/// A raw input event, as the guard counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Raw {
    /// A button press (`true`: the primary one) or release (`false`).
    Button(bool),
    Motion,
    /// A key press, with its keycode.
    KeyPress(u32),
    KeyRelease,
}
