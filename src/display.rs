//! Talking to the display server outside eframe: is it reachable, where should the window
//! go, and giving it focus when no window manager will.

use std::path::PathBuf;

use egui::{Pos2, Vec2};
#[cfg(target_os = "linux")]
use x11rb::connection::Connection;
#[cfg(target_os = "linux")]
use x11rb::protocol::randr::ConnectionExt as _;
#[cfg(target_os = "linux")]
use x11rb::protocol::xproto::{ConfigureWindowAux, ConnectionExt as _, InputFocus, StackMode};
#[cfg(target_os = "linux")]
use x11rb::rust_connection::RustConnection;

use crate::env::Snapshot;

/// Which protocol the window will speak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// An X server (or XWayland) at this `DISPLAY`.
    X11(String),
    /// A Wayland compositor.
    Wayland,
    /// The platform's own window system (macOS, Windows): no X11 or Wayland choice.
    Native,
}

fn wayland_socket(env: &Snapshot) -> Option<Result<PathBuf, String>> {
    let w = env.wayland_display.as_ref()?;
    Some(if w.starts_with('/') {
        Ok(PathBuf::from(w))
    } else {
        env.runtime_dir
            .as_ref()
            .map(|d| d.join(w))
            .ok_or_else(|| "WAYLAND_DISPLAY is set but XDG_RUNTIME_DIR is not".to_string())
    })
}

/// Which protocol the window will speak, without connecting: Wayland when its socket
/// exists (winit prefers it too), else X11. The window runner uses this after the pipeline
/// has probed; its own X connections report a display that went away since.
pub fn choose(env: &Snapshot) -> Result<Kind, String> {
    if !cfg!(target_os = "linux") {
        return Ok(Kind::Native);
    }
    match wayland_socket(env) {
        Some(Ok(path)) if path.exists() => return Ok(Kind::Wayland),
        Some(Err(e)) if env.x11_display.is_none() => return Err(e),
        _ => {}
    }
    env.x11_display
        .as_deref()
        .map(|d| Kind::X11(d.to_string()))
        .ok_or_else(|| "no display is set".to_string())
}

/// Checks that the display in the environment answers.
pub fn probe(env: &Snapshot) -> Result<Kind, String> {
    if !cfg!(target_os = "linux") {
        return Ok(Kind::Native);
    }
    #[cfg(unix)]
    if let Some(Ok(path)) = wayland_socket(env) {
        if std::os::unix::net::UnixStream::connect(&path).is_ok() {
            return Ok(Kind::Wayland);
        }
        if env.x11_display.is_none() {
            return Err(format!(
                "the Wayland display {} does not answer",
                path.display()
            ));
        }
    }
    match choose(env)? {
        #[cfg(target_os = "linux")]
        Kind::X11(d) => x11rb::connect(Some(&d))
            .map(|_| Kind::X11(d.clone()))
            .map_err(|e| format!("the X display {d} does not answer ({e})")),
        // choose() picked Wayland because the socket exists, but it did not answer above.
        Kind::Wayland => Err("the Wayland display does not answer".into()),
        other => Ok(other),
    }
}

/// An extra X connection for placing and focusing our own window.
#[cfg(target_os = "linux")]
pub struct X11 {
    conn: RustConnection,
    root: u32,
}

/// Other platforms: no X connection; the window system places and focuses the window.
#[cfg(not(target_os = "linux"))]
pub struct X11;

#[cfg(not(target_os = "linux"))]
impl X11 {
    /// Never connects.
    pub fn connect(_display: &str) -> Option<Self> {
        None
    }
    /// No placement.
    pub fn placement(&self, _size: Vec2) -> Option<Pos2> {
        None
    }
    /// No focus.
    pub fn focus(&self, _window: u32) -> bool {
        false
    }
}

#[cfg(target_os = "linux")]
impl X11 {
    /// Connects to `display`.
    pub fn connect(display: &str) -> Option<Self> {
        let (conn, screen) = x11rb::connect(Some(display)).ok()?;
        let root = conn.setup().roots.get(screen)?.root;
        Some(X11 { conn, root })
    }

    /// Top-left position that centres a window of `size` on the primary monitor (or the
    /// first), so it always lands fully on a visible monitor. `None` if RandR has none.
    pub fn placement(&self, size: Vec2) -> Option<Pos2> {
        let monitors = self
            .conn
            .randr_get_monitors(self.root, true)
            .ok()?
            .reply()
            .ok()?
            .monitors;
        let m = monitors.iter().find(|m| m.primary).or(monitors.first())?;
        let x = m.x as f32 + ((m.width as f32 - size.x) / 2.0).max(0.0);
        let y = m.y as f32 + ((m.height as f32 - size.y) / 2.0).max(0.0);
        Some(Pos2::new(x, y))
    }

    /// Raises `window` and gives it keyboard focus. Works without a window manager;
    /// fails harmlessly (false) while the window is not yet viewable.
    pub fn focus(&self, window: u32) -> bool {
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
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn choose_prefers_an_existing_wayland_socket_without_connecting() {
        let d = tempfile::tempdir().unwrap();
        let env = |wl: Option<&str>, x: Option<&str>| Snapshot {
            wayland_display: wl.map(str::to_string),
            x11_display: x.map(str::to_string),
            runtime_dir: Some(d.path().to_path_buf()),
            ..Default::default()
        };
        assert_eq!(
            choose(&env(Some("wl-0"), Some(":3"))),
            Ok(Kind::X11(":3".into()))
        );
        std::fs::write(d.path().join("wl-0"), "").unwrap();
        assert_eq!(choose(&env(Some("wl-0"), Some(":3"))), Ok(Kind::Wayland));
        assert_eq!(choose(&env(None, Some(":3"))), Ok(Kind::X11(":3".into())));
        assert!(choose(&env(None, None)).is_err());
    }
}
