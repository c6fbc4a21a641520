//! The helper's own X connection, beside winit's: it watches where input comes from
//! (`input_guard`), draws the frames, and gives the window focus when no window manager
//! will. It is checked to reach the same server process as winit's connection, so the
//! server the guard watches is the server the window is on.

use std::sync::Mutex;

use x11rb::connection::{Connection, RequestConnection};
use x11rb::errors::{ConnectError, ConnectionError, ReplyError, ReplyOrIdError};
use x11rb::protocol::xproto::{
    ConfigureWindowAux, ConnectionExt as _, CreateGCAux, ImageFormat, ImageOrder, InputFocus,
    MapState, StackMode,
};
use x11rb::rust_connection::RustConnection;

use crate::ui::raster::Canvas;

/// Why the helper's X connection cannot be made, checked, drawn on or read back. The
/// `Display` is the message the window and cargo show.
#[derive(Debug, thiserror::Error)]
pub enum X11Error {
    /// The server's extension list could not be read.
    #[error("cannot ask the X server for its extensions ({0})")]
    Extensions(#[source] ConnectionError),
    /// The server offers XTEST and the policy file does not accept virtual input.
    #[error(
        "the X server offers XTEST, through which any program running as you can move the \
         pointer and click as if with your own mouse, in a way no program can tell from \
         you. Use a Wayland session, or disable XTEST (Xorg: Option \"XTEST\" \"Disable\" in \
         Section \"Extensions\"), or an administrator can accept the risk with \
         `allow-virtual-input = true` under [display] in {}",
        crate::policy::PATH
    )]
    Xtest,
    /// The display could not be connected to.
    #[error("cannot connect to the X display {display}: {source}")]
    Connect {
        /// The `DISPLAY`.
        display: String,
        /// What x11rb said.
        #[source]
        source: ConnectError,
    },
    /// The display names a screen the server does not have.
    #[error("the X server has no such screen")]
    NoScreen {
        /// The screen asked for.
        screen: usize,
    },
    /// A thread panicked while it held the drawing state.
    #[error("drawing state poisoned")]
    Poisoned,
    /// A request to draw failed.
    #[error("cannot draw into the window: {0}")]
    Draw(#[source] ReplyOrIdError),
    /// The window's visual is not 24 or 32-bit true colour.
    #[error(
        "the window has a {depth}-bit visual ({bpp:?} bits per pixel); only 24 and 32-bit \
         true colour are supported"
    )]
    Visual {
        /// The window's depth.
        depth: u8,
        /// The server's bits per pixel at that depth.
        bpp: Option<u8>,
    },
    /// The window's pixels could not be read back.
    #[error("cannot read the window back: {0}")]
    ReadBack(#[source] ReplyError),
    /// The connection's peer cannot be identified.
    #[error(transparent)]
    Peer(#[from] super::trust::PeerError),
    /// The process serving the connection cannot be identified.
    #[error(transparent)]
    Server(#[from] super::trust::ServingError),
    /// The server sent fewer pixels than the window has.
    #[error("cannot read the window back: the server sent fewer pixels than the window has")]
    ShortImage {
        /// Bytes received.
        got: usize,
        /// Bytes the window has.
        want: usize,
    },
}

/// XTEST lets any client inject input, and through a device id of its choice: events made
/// through the person's own mouse carry that mouse's `sourceid`, so no client can tell them
/// from the person's. An X server that offers it is refused unless the policy file accepts
/// virtual input (`allow-virtual-input`), as a Wayland compositor offering virtual-pointer
/// protocols is.
pub(crate) fn refuse_xtest(
    conn: &impl Connection,
    policy: &crate::policy::DisplayPolicy,
) -> Result<(), X11Error> {
    let offers = conn
        .extension_information("XTEST")
        .map_err(X11Error::Extensions)?
        .is_some();
    if !offers || policy.allow_virtual_input {
        return Ok(());
    }
    Err(X11Error::Xtest)
}

/// A verified connection to the person's X server.
pub struct Session {
    /// The connection.
    pub(crate) conn: RustConnection,
    /// The root window of the default screen.
    pub(crate) root: u32,
    /// Drawing state for the one window this session draws into.
    gc: Mutex<Option<Target>>,
    /// The last frame drawn into that window, as the server stores its pixels (colour only):
    /// what the window must still show, unless another program drew into it.
    last: Mutex<Option<Drawn>>,
}

/// A frame as drawn: its window, size, and pixels.
struct Drawn {
    window: u32,
    width: usize,
    height: usize,
    pixels: Vec<u32>,
    /// When its first request was sent to the server.
    at: std::time::Instant,
}

/// Keeps what `canvas` put into `window`, for [`Session::drawn_by_another`].
fn remember(last: &mut Option<Drawn>, window: u32, canvas: &Canvas, started: std::time::Instant) {
    let drawn = last.get_or_insert_with(|| Drawn {
        window,
        width: 0,
        height: 0,
        pixels: Vec::new(),
        at: started,
    });
    drawn.window = window;
    drawn.width = canvas.width;
    drawn.height = canvas.height;
    drawn.at = started;
    drawn.pixels.clear();
    drawn.pixels.extend(
        canvas
            .pixels
            .iter()
            .map(|p| crate::ui::raster::xrgb(*p) & COLOUR),
    );
}

/// The colour bits of a pixel as the server stores it at depth 24 or 32 (the padding or
/// alpha byte is not ours to compare).
const COLOUR: u32 = 0x00ff_ffff;

#[derive(Clone, Copy)]
struct Target {
    window: u32,
    gc: u32,
    depth: u8,
}

impl Session {
    /// Connects to `display`.
    pub fn connect(display: &str) -> Result<Session, X11Error> {
        let (conn, screen) = x11rb::connect(Some(display)).map_err(|source| X11Error::Connect {
            display: display.to_string(),
            source,
        })?;
        let root = conn
            .setup()
            .roots
            .get(screen)
            .ok_or(X11Error::NoScreen { screen })?
            .root;
        Ok(Session {
            conn,
            root,
            gc: Mutex::new(None),
            last: Mutex::new(None),
        })
    }

    /// Refuses a server that offers XTEST, unless the policy file accepts virtual input.
    pub(crate) fn refuse_xtest(
        &self,
        policy: &crate::policy::DisplayPolicy,
    ) -> Result<(), X11Error> {
        refuse_xtest(&self.conn, policy)
    }

    /// The pid of the server process at the other end of this connection: the one holding
    /// its server end, for a server run by the person (`trust::server_of`).
    pub(crate) fn server_pid(&self) -> Result<u32, X11Error> {
        let peer = super::trust::peer_of(self.conn.stream())?;
        Ok(super::trust::server_of(&super::trust::Real, peer)?)
    }

    /// Raises `window` and gives it keyboard focus. Works without a window manager;
    /// fails harmlessly (false) while the window is not yet viewable.
    pub(crate) fn focus(&self, window: u32) -> bool {
        let raise = ConfigureWindowAux::new().stack_mode(StackMode::ABOVE);
        let raised = self
            .conn
            .configure_window(window, &raise)
            .ok()
            .and_then(|c| c.check().ok())
            .is_some();
        raised
            && self
                .conn
                .set_input_focus(InputFocus::PARENT, window, x11rb::CURRENT_TIME)
                .ok()
                .and_then(|c| c.check().ok())
                .is_some()
    }

    /// Whether `window` is viewable now: mapped, with every ancestor mapped. winit maps its
    /// window over a connection of its own, so a frame drawn over this one may otherwise
    /// reach the server first, into a window nobody can see, and be lost.
    pub(crate) fn viewable(&self, window: u32) -> bool {
        self.conn
            .get_window_attributes(window)
            .ok()
            .and_then(|c| c.reply().ok())
            .is_some_and(|a| a.map_state == MapState::VIEWABLE)
    }

    fn target(&self, window: u32) -> Result<Target, X11Error> {
        let mut slot = self.gc.lock().map_err(|_| X11Error::Poisoned)?;
        if let Some(t) = *slot
            && t.window == window
        {
            return Ok(t);
        }
        let e = |e: ReplyOrIdError| X11Error::Draw(e);
        let depth = self
            .conn
            .get_geometry(window)
            .map_err(|x| e(x.into()))?
            .reply()
            .map_err(|x| e(x.into()))?
            .depth;
        let gc = self.conn.generate_id().map_err(e)?;
        self.conn
            .create_gc(gc, window, &CreateGCAux::new().graphics_exposures(0))
            .map_err(|x| e(x.into()))?
            .check()
            .map_err(|x| e(x.into()))?;
        let t = Target { window, gc, depth };
        *slot = Some(t);
        Ok(t)
    }

    /// Draws `canvas` into `window` with core `PutImage` requests over this socket. No shared
    /// memory: a segment another same-user program could open would let it draw into the
    /// prompt.
    pub(crate) fn present(&self, window: u32, canvas: &Canvas) -> Result<(), X11Error> {
        let t = self.target(window)?;
        let setup = self.conn.setup();
        let bpp = setup
            .pixmap_formats
            .iter()
            .find(|f| f.depth == t.depth)
            .map(|f| f.bits_per_pixel);
        if !matches!(t.depth, 24 | 32) || bpp != Some(32) {
            return Err(X11Error::Visual {
                depth: t.depth,
                bpp,
            });
        }
        let big_endian = setup.image_byte_order == ImageOrder::MSB_FIRST;
        let (w, h) = (canvas.width, canvas.height);
        if w == 0 || h == 0 {
            return Ok(());
        }
        // The read-back holds this lock too: it never reads a frame half drawn (a full test
        // run saw a person's click vetoed as "another program drew into this window" where
        // the read-back fell between two of this frame's requests).
        let mut last = self.last.lock().map_err(|_| X11Error::Poisoned)?;
        // A frame counts from when its first request was sent, not when the last was: one
        // sent while a decoy still covered the prompt (the server drops what falls under it)
        // must not count as drawn after the decoy left (a full run saw that race veto a
        // person's click too).
        let started = std::time::Instant::now();
        let max = self.conn.maximum_request_bytes().saturating_sub(64);
        let rows_per_request = (max / (w * 4)).clamp(1, h);
        let mut bytes = Vec::with_capacity(rows_per_request * w * 4);
        let mut y = 0;
        while y < h {
            let n = rows_per_request.min(h - y);
            bytes.clear();
            for p in &canvas.pixels[y * w..(y + n) * w] {
                let v = crate::ui::raster::xrgb(*p);
                bytes.extend_from_slice(&if big_endian {
                    v.to_be_bytes()
                } else {
                    v.to_le_bytes()
                });
            }
            self.conn
                .put_image(
                    ImageFormat::Z_PIXMAP,
                    window,
                    t.gc,
                    w as u16,
                    n as u16,
                    0,
                    y as i16,
                    0,
                    t.depth,
                    &bytes,
                )
                .map_err(|e| X11Error::Draw(e.into()))?;
            y += n;
        }
        self.conn.flush().map_err(|e| X11Error::Draw(e.into()))?;
        remember(&mut last, window, canvas, started);
        Ok(())
    }

    /// Whether a whole frame was drawn into the prompt since `t` (the moment it was last
    /// uncovered): only then can its read-back be compared with what this helper drew.
    pub(crate) fn presented_since(&self, t: std::time::Instant) -> bool {
        self.last
            .lock()
            .is_ok_and(|l| l.as_ref().is_some_and(|d| d.at >= t))
    }

    /// Whether `window` shows anything but the last frame this session drew into it: on X11
    /// any client may draw into any window (`XPutImage` on its id), for instance Approve and
    /// Deny swapped. Read back over this connection, so after every frame it drew. `Ok(None)`
    /// when it shows exactly that frame (or none was drawn yet); the first pixel that differs
    /// otherwise. Call only while the window is fully on screen and uncovered: the server
    /// does not keep what other windows hide.
    pub(crate) fn drawn_by_another(&self, window: u32) -> Result<Option<(usize, usize)>, X11Error> {
        let last = self.last.lock().map_err(|_| X11Error::Poisoned)?;
        let Some(drawn) = last.as_ref().filter(|d| d.window == window) else {
            return Ok(None);
        };
        let (w, h) = (drawn.width, drawn.height);
        let image = self
            .conn
            .get_image(ImageFormat::Z_PIXMAP, window, 0, 0, w as u16, h as u16, !0)
            .map_err(|x| X11Error::ReadBack(x.into()))?
            .reply()
            .map_err(X11Error::ReadBack)?;
        let big_endian = self.conn.setup().image_byte_order == ImageOrder::MSB_FIRST;
        if image.data.len() < w * h * 4 {
            return Err(X11Error::ShortImage {
                got: image.data.len(),
                want: w * h * 4,
            });
        }
        let differs = image
            .data
            .chunks_exact(4)
            .take(w * h)
            .map(|b| {
                let b = [b[0], b[1], b[2], b[3]];
                if big_endian {
                    u32::from_be_bytes(b)
                } else {
                    u32::from_le_bytes(b)
                }
            })
            .zip(&drawn.pixels)
            .position(|(got, want)| got & COLOUR != *want);
        Ok(differs.map(|i| (i % w, i / w)))
    }
}
