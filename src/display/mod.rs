//! Where the window goes: one backend (X11 or Wayland) chosen once, and the display server
//! behind it checked to be the person's (`trust`) on the very connection the window uses.
//!
//! winit would pick Wayland whenever `WAYLAND_SOCKET` or `WAYLAND_DISPLAY` is set, whatever
//! the helper guarded; so the helper decides here and tells winit exactly which backend to
//! use. `WAYLAND_SOCKET` (an inherited, already connected socket) is refused: cargo never
//! sets it, and a worm could pass one to its own compositor.

use std::path::PathBuf;

use crate::env::Snapshot;
use crate::policy::DisplayPolicy;

#[cfg(target_os = "linux")]
pub(crate) mod connection;
// Used only on Linux; compiled everywhere so that its tests run on every platform.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
mod trust;
#[cfg(target_os = "linux")]
pub mod x11;

/// Which protocol the window will speak, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// An X server (or Xwayland) at this `DISPLAY`.
    X11(String),
    /// A Wayland compositor listening on this socket.
    Wayland(PathBuf),
    /// The platform's own window system (macOS, Windows): no X11 or Wayland choice.
    Native,
}

/// Why no backend can be chosen from the environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChooseError {
    /// `WAYLAND_SOCKET` is set: an inherited connection nobody can check.
    #[error(
        "WAYLAND_SOCKET is set: that is an already open connection to a compositor \
                    this helper cannot check, and cargo never passes one. Unset it"
    )]
    WaylandSocket,
    /// A relative `WAYLAND_DISPLAY` with nowhere to resolve it.
    #[error("WAYLAND_DISPLAY is set but XDG_RUNTIME_DIR is not")]
    NoRuntimeDir,
    /// Neither Wayland nor X11 is set.
    #[error("no display is set")]
    NoDisplay,
}

fn wayland_socket(env: &Snapshot) -> Option<Result<PathBuf, ChooseError>> {
    let w = env.wayland_display.as_ref()?;
    Some(if w.starts_with('/') {
        Ok(PathBuf::from(w))
    } else {
        env.runtime_dir
            .as_ref()
            .map(|d| d.join(w))
            .ok_or(ChooseError::NoRuntimeDir)
    })
}

/// Chooses the backend without connecting: Wayland when its socket exists, else X11.
pub fn choose(env: &Snapshot) -> Result<Kind, ChooseError> {
    if !cfg!(target_os = "linux") {
        return Ok(Kind::Native);
    }
    if env.wayland_socket_set {
        return Err(ChooseError::WaylandSocket);
    }
    match wayland_socket(env) {
        Some(Ok(path)) if path.exists() => return Ok(Kind::Wayland(path)),
        Some(Err(e)) if env.x11_display.is_none() => return Err(e),
        _ => {}
    }
    env.x11_display
        .as_deref()
        .map(|d| Kind::X11(d.to_string()))
        .ok_or(ChooseError::NoDisplay)
}

/// The `N` of an X11 `DISPLAY` of the form `:N` or `:N.S`.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn x11_display_number(display: &str) -> Option<u32> {
    display.strip_prefix(':')?.split('.').next()?.parse().ok()
}

/// Checks that the server behind a connected display socket is the person's.
#[cfg(target_os = "linux")]
fn verify(
    socket: &impl std::os::fd::AsFd,
    kind: &Kind,
    policy: &DisplayPolicy,
) -> Result<trust::Trusted, trust::TrustError> {
    let peer = trust::peer_of(socket)?;
    let protocol = match kind {
        Kind::X11(d) => trust::Protocol::X11 {
            number: x11_display_number(d),
        },
        _ => trust::Protocol::Wayland,
    };
    trust::judge(&trust::Real, peer, protocol, policy)
}

/// Why a display cannot have the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeError {
    /// Nothing answers: a headless machine, as far as the gate is concerned.
    Unreachable(String),
    /// Something answers, but it is not known to be the person's screen.
    Untrusted(String),
}

/// Checks early, on a connection of its own, that the display answers and that its server
/// is the person's, so a refusal comes before the store is opened. The window checks its
/// own connection again (see `ui::window`).
pub fn probe(env: &Snapshot, policy: &DisplayPolicy) -> Result<Kind, ProbeError> {
    let kind = choose(env).map_err(|e| ProbeError::Untrusted(e.to_string()))?;
    #[cfg(target_os = "linux")]
    match &kind {
        Kind::Wayland(path) => {
            let socket = std::os::unix::net::UnixStream::connect(path).map_err(|e| {
                ProbeError::Unreachable(format!(
                    "the Wayland display {} does not answer ({e})",
                    path.display()
                ))
            })?;
            verify(&socket, &kind, policy).map_err(|e| ProbeError::Untrusted(e.to_string()))?;
            // The compositor's globals are listed by the window process, on its own
            // connection: this process never loads a display library.
        }
        Kind::X11(d) => {
            let (conn, _) = x11rb::connect(Some(d)).map_err(|e| {
                ProbeError::Unreachable(format!("the X display {d} does not answer ({e})"))
            })?;
            verify(conn.stream(), &kind, policy)
                .map_err(|e| ProbeError::Untrusted(e.to_string()))?;
            x11::refuse_xtest(&conn, policy).map_err(|e| ProbeError::Untrusted(e.to_string()))?;
        }
        Kind::Native => {}
    }
    let _ = policy;
    Ok(kind)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn choose_prefers_an_existing_wayland_socket_and_refuses_wayland_socket() {
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
        assert_eq!(
            choose(&env(Some("wl-0"), Some(":3"))),
            Ok(Kind::Wayland(d.path().join("wl-0")))
        );
        assert_eq!(choose(&env(None, Some(":3"))), Ok(Kind::X11(":3".into())));
        assert!(choose(&env(None, None)).is_err());
        let with_socket = Snapshot {
            wayland_socket_set: true,
            ..env(None, Some(":3"))
        };
        assert!(
            choose(&with_socket)
                .unwrap_err()
                .to_string()
                .contains("WAYLAND_SOCKET")
        );
    }

    #[test]
    fn display_numbers() {
        assert_eq!(x11_display_number(":0"), Some(0));
        assert_eq!(x11_display_number(":12.1"), Some(12));
        assert_eq!(x11_display_number("localhost:10.0"), None);
    }
}
