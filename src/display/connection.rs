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
fn virtual_input(conn: &Connection) -> Result<Vec<String>, String> {
    let mut queue = conn.new_event_queue::<Globals>();
    let _registry = conn.display().get_registry(&queue.handle(), ());
    let mut globals = Globals(Vec::new());
    queue
        .roundtrip(&mut globals)
        .map_err(|e| format!("the compositor did not list its globals: {e}"))?;
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
) -> Result<(), String> {
    if found.is_empty() || policy.allow_virtual_input {
        return Ok(());
    }
    Err(format!(
        "the Wayland compositor lets any program drive a virtual pointer or keyboard ({}), so \
         a program running as you could click Approve there. An administrator can allow it \
         with `allow-virtual-input = true` under [display] in {}",
        found.join(", "),
        crate::policy::PATH
    ))
}

/// Checks the server behind winit's connection, found through its display handle.
#[allow(unsafe_code)]
pub(crate) fn check_winit(
    handle: DisplayHandle<'_>,
    kind: &super::Kind,
    policy: &crate::policy::DisplayPolicy,
) -> Result<Connected, String> {
    match handle.as_raw() {
        RawDisplayHandle::Xlib(h) => {
            let display = h
                .display
                .ok_or("winit has no Xlib display")?
                .as_ptr()
                .cast();
            let xlib = x11_dl::xlib::Xlib::open().map_err(|e| e.to_string())?;
            // SAFETY: `DisplayHandle<'_>` guarantees the Display pointer is live for this
            // borrow; XConnectionNumber only reads the descriptor out of it.
            let fd = unsafe { (xlib.XConnectionNumber)(display) };
            if fd < 0 {
                return Err("winit's X connection has no socket".into());
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
        _ => Err("winit connected to neither X11 nor Wayland".into()),
    }
}
