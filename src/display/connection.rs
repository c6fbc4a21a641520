//! winit's own display connection, reached through its raw display handle: the socket it
//! really uses (so the server checked is the one the window talks to) and, on Wayland, the
//! globals the compositor offers.

use std::os::fd::BorrowedFd;

use raw_window_handle::{DisplayHandle, RawDisplayHandle};
use wayland_client::protocol::wl_registry;
use wayland_client::{Connection, Dispatch, QueueHandle};

/// Globals that let any client drive a pointer or keyboard: input made through them is
/// indistinguishable from a person's inside our window.
const VIRTUAL_INPUT: &[&str] = &[
    "zwlr_virtual_pointer_manager_v1",
    "zwp_virtual_keyboard_manager_v1",
    "org_kde_kwin_fake_input",
];

/// What winit's connection is: its socket, and on Wayland the globals offered on it.
pub(crate) struct Connected {
    /// The pid and reason of the server check, done on winit's own socket.
    pub(crate) trusted: super::trust::Trusted,
    /// Wayland only: the virtual-input globals the compositor offers.
    pub(crate) virtual_input: Vec<String>,
}

/// Why winit's connection cannot be checked, or is refused. The `Display` is the refusal.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectionError {
    /// winit's Xlib handle has no Display.
    #[error("winit has no Xlib display")]
    NoXlibDisplay,
    /// libX11 could not be loaded to read the Display's socket.
    #[error("{0}")]
    Xlib(#[source] x11_dl::error::OpenError),
    /// The Display has no socket.
    #[error("winit's X connection has no socket")]
    NoSocket,
    /// The server behind the connection is not trusted.
    #[error(transparent)]
    Untrusted(#[from] super::trust::TrustError),
    /// The compositor did not answer the registry roundtrip.
    #[error("the compositor did not list its globals: {0}")]
    Globals(#[source] wayland_client::DispatchError),
    /// winit chose a backend this helper does not check.
    #[error("winit connected to neither X11 nor Wayland")]
    Neither,
    /// The compositor offers virtual input and the policy file does not allow it.
    #[error(
        "the Wayland compositor lets any program drive a virtual pointer or keyboard ({}), so \
         a program running as you could click Approve there. An administrator can allow it \
         with `allow-virtual-input = true` under [display] in {}",
        found.join(", "),
        crate::policy::PATH
    )]
    VirtualInput {
        /// The virtual-input globals offered.
        found: Vec<String>,
    },
}

struct Globals(Vec<String>);

impl Dispatch<wl_registry::WlRegistry, ()> for Globals {
    fn event(
        state: &mut Self,
        _: &wl_registry::WlRegistry,
        event: wl_registry::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        if let wl_registry::Event::Global { interface, .. } = event {
            state.0.push(interface);
        }
    }
}

/// The virtual-input globals a compositor offers on `conn`.
fn virtual_input(conn: &Connection) -> Result<Vec<String>, ConnectionError> {
    let mut queue = conn.new_event_queue::<Globals>();
    let _registry = conn.display().get_registry(&queue.handle(), ());
    let mut globals = Globals(Vec::new());
    queue
        .roundtrip(&mut globals)
        .map_err(ConnectionError::Globals)?;
    Ok(globals
        .0
        .into_iter()
        .filter(|g| VIRTUAL_INPUT.contains(&g.as_str()))
        .collect())
}

/// Refuses a compositor that offers virtual input, unless the policy file allows it.
pub(crate) fn refuse_virtual_input(
    found: &[String],
    policy: &crate::policy::DisplayPolicy,
) -> Result<(), ConnectionError> {
    if found.is_empty() || policy.allow_virtual_input {
        return Ok(());
    }
    Err(ConnectionError::VirtualInput {
        found: found.to_vec(),
    })
}

/// Checks the server behind winit's connection, found through its display handle.
#[allow(unsafe_code)]
pub(crate) fn check_winit(
    handle: DisplayHandle<'_>,
    kind: &super::Kind,
    policy: &crate::policy::DisplayPolicy,
) -> Result<Connected, ConnectionError> {
    match handle.as_raw() {
        RawDisplayHandle::Xlib(h) => {
            let display = h
                .display
                .ok_or(ConnectionError::NoXlibDisplay)?
                .as_ptr()
                .cast();
            let xlib = x11_dl::xlib::Xlib::open().map_err(ConnectionError::Xlib)?;
            // SAFETY: `DisplayHandle<'_>` guarantees the Display pointer is live for this
            // borrow; XConnectionNumber only reads the descriptor out of it.
            let fd = unsafe { (xlib.XConnectionNumber)(display) };
            if fd < 0 {
                return Err(ConnectionError::NoSocket);
            }
            // SAFETY: the descriptor belongs to the Display, which stays open for the borrow
            // of `handle`, longer than this function.
            let socket = unsafe { BorrowedFd::borrow_raw(fd) };
            Ok(Connected {
                trusted: super::verify(&socket, kind, policy)?,
                virtual_input: Vec::new(),
            })
        }
        RawDisplayHandle::Wayland(h) => {
            // SAFETY: the wl_display is live for the borrow of `handle`; a foreign backend
            // does not take ownership and never closes the connection, and it is dropped
            // before this function returns.
            let backend = unsafe {
                wayland_backend::sys::client::Backend::from_foreign_display(
                    h.display.as_ptr().cast(),
                )
            };
            let trusted = super::verify(&backend.poll_fd(), kind, policy)?;
            let virtual_input = virtual_input(&Connection::from_backend(backend))?;
            Ok(Connected {
                trusted,
                virtual_input,
            })
        }
        _ => Err(ConnectionError::Neither),
    }
}
