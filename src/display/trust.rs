//! Which display server is the person's.
//!
//! A worm running as the user can start display servers of its own (Xvfb, Xephyr, Xnest,
//! Xvnc, a headless or nested compositor), point the helper's window at one, and click there
//! with input that looks like a person's. So before a window opens, the server at the other
//! end of the very socket the window uses is identified (`SO_PEERCRED`) and must pass one
//! of these rules:
//!
//! 1. it runs as **another user** (root, a display manager): a same-user worm cannot start one;
//! 2. its executable is trusted by the administrator's policy file (which trusts every copy
//!    of that program);
//! 3. it runs as the user and **reads input hardware**: it holds an evdev device
//!    (`/dev/input/event*`) that the user could not open directly, so it got it from logind
//!    or root, as gnome-shell, kwin_wayland and a rootless Xorg do;
//! 4. it is **Xwayland** whose parent compositor passes rule 1, 2 or 3;
//! 5. it is the X display that **logind** records for the user's active, local seat session
//!    (asked on the system bus at its fixed address, never one from the environment), and it
//!    is the server holding that display's socket.
//!
//! Anything else is refused before a window opens, naming the server and the reason.

use std::path::{Path, PathBuf};

use crate::policy::DisplayPolicy;

/// The process at the other end of a display socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// Its pid, 0 when it lives in a pid namespace this process cannot see.
    pub pid: u32,
    /// Its uid.
    pub uid: u32,
}

/// The protocol spoken on the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// X11, with the display number when `DISPLAY` names one (`:N`, `:N.S`).
    X11 {
        /// `N` of `:N`.
        number: Option<u32>,
    },
    /// A Wayland compositor.
    Wayland,
}

/// A display server that passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trusted {
    /// The server process.
    pub pid: u32,
    /// Why it is the person's, for the window and the log.
    pub why: String,
}

/// A logind session of this user, as logind reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Session {
    /// Session id.
    pub id: String,
    /// `x11`, `wayland`, `tty`, …
    pub kind: String,
    /// The X display (`:0`) registered for the session, when any.
    pub display: String,
    /// The seat the session is on (empty for remote or seatless sessions).
    pub seat: String,
    /// Whether the session is in the foreground of its seat.
    pub active: bool,
    /// Whether logind considers it remote.
    pub remote: bool,
}

/// What the rules need to know about processes and the system. [`Real`] reads `/proc` and
/// asks logind; unit tests pass a fake.
pub trait Host {
    /// This process's real uid (the person's).
    fn my_uid(&self) -> u32;
    /// `/proc/PID/exe`.
    fn exe(&self, pid: u32) -> Option<PathBuf>;
    /// The parent of `pid`.
    fn ppid(&self, pid: u32) -> Option<u32>;
    /// The real uid of `pid`.
    fn uid(&self, pid: u32) -> Option<u32>;
    /// Where each open file descriptor of `pid` points.
    fn fd_targets(&self, pid: u32) -> Result<Vec<PathBuf>, String>;
    /// Whether the person could open `path` for reading themselves (`access(2)`).
    fn user_can_open(&self, path: &Path) -> bool;
    /// This user's logind sessions (empty when logind cannot be asked).
    fn logind_sessions(&self) -> Vec<Session>;
    /// The pid of the server holding X display `n`'s socket.
    fn x11_socket_owner(&self, n: u32) -> Option<u32>;
}

fn shown(host: &dyn Host, pid: u32) -> String {
    match host.exe(pid) {
        Some(exe) => format!("{} (pid {pid})", exe.display()),
        None => format!("pid {pid}"),
    }
}

/// Why the process `pid`, run by the person, may be the person's screen: it holds an evdev
/// device the person could not open directly.
fn reads_input(host: &dyn Host, pid: u32) -> Result<PathBuf, String> {
    let targets = host.fd_targets(pid)?;
    let mut held_but_open_to_user = None;
    for t in targets {
        let is_evdev = t
            .to_str()
            .and_then(|s| s.strip_prefix("/dev/input/event"))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if !is_evdev {
            continue;
        }
        if host.user_can_open(&t) {
            held_but_open_to_user = Some(t);
        } else {
            return Ok(t);
        }
    }
    Err(match held_but_open_to_user {
        Some(t) => format!(
            "it holds {}, but you can open that device yourself, so holding it proves nothing",
            t.display()
        ),
        None => "it reads no input hardware (no /dev/input/event* device open)".into(),
    })
}

/// Rules 1 to 3 for a process other than the peer itself (Xwayland's compositor).
fn vouch_for_process(
    host: &dyn Host,
    pid: u32,
    uid: u32,
    policy: &DisplayPolicy,
) -> Result<String, String> {
    if uid != host.my_uid() {
        return Ok(format!("it runs as another user (uid {uid})"));
    }
    if let Some(exe) = host.exe(pid)
        && policy.trusted_servers.contains(&exe)
    {
        return Ok(format!(
            "{} is trusted in {}",
            exe.display(),
            crate::policy::PATH
        ));
    }
    reads_input(host, pid).map(|dev| format!("it reads input hardware ({})", dev.display()))
}

/// Decides whether `peer`, the server at the other end of a display socket, is the person's.
pub fn judge(
    host: &dyn Host,
    peer: Peer,
    protocol: Protocol,
    policy: &DisplayPolicy,
) -> Result<Trusted, String> {
    let what = match protocol {
        Protocol::X11 { .. } => "X server",
        Protocol::Wayland => "Wayland compositor",
    };
    if peer.uid != host.my_uid() {
        return Ok(Trusted {
            pid: peer.pid,
            why: format!("the {what} runs as another user (uid {})", peer.uid),
        });
    }
    if peer.pid == 0 {
        return Err(format!(
            "the {what} runs as you in a process namespace this helper cannot see into, so \
             nothing shows it is a screen a person sees"
        ));
    }
    let name = shown(host, peer.pid);
    let mut reasons = Vec::new();
    match vouch_for_process(host, peer.pid, peer.uid, policy) {
        Ok(why) => {
            return Ok(Trusted {
                pid: peer.pid,
                why: format!("the {what} {name}: {why}"),
            });
        }
        Err(e) => reasons.push(e),
    }
    let is_xwayland = host
        .exe(peer.pid)
        .and_then(|e| e.file_name().map(|n| n == "Xwayland"))
        .unwrap_or(false);
    if is_xwayland && let Some(parent) = host.ppid(peer.pid) {
        let parent_uid = host.uid(parent).unwrap_or(u32::MAX);
        match vouch_for_process(host, parent, parent_uid, policy) {
            Ok(why) => {
                return Ok(Trusted {
                    pid: peer.pid,
                    why: format!(
                        "the X server {name} is Xwayland under the compositor {}: {why}",
                        shown(host, parent)
                    ),
                });
            }
            Err(e) => reasons.push(format!(
                "it is Xwayland, but its parent {} does not pass either: {e}",
                shown(host, parent)
            )),
        }
    }
    if let Protocol::X11 { number: Some(n) } = protocol {
        let seat = host.logind_sessions().into_iter().find(|s| {
            s.kind == "x11"
                && super::x11_display_number(&s.display) == Some(n)
                && s.active
                && !s.remote
                && !s.seat.is_empty()
        });
        if let Some(s) = seat
            && host.x11_socket_owner(n) == Some(peer.pid)
        {
            return Ok(Trusted {
                pid: peer.pid,
                why: format!(
                    "the X server {name} holds display :{n}, which logind records for your \
                     active session {} on {}",
                    s.id, s.seat
                ),
            });
        }
        reasons.push(format!(
            "logind records no active local session of yours on display :{n}"
        ));
    }
    Err(format!(
        "the {what} this window would open on, {name}, runs as you, and nothing shows it \
         is a screen a person sees: {}. A program running as you can start such a server \
         (Xvfb, Xephyr, Xvnc, a headless compositor) and click there itself. If this is your \
         remote desktop, an administrator can trust its server in {} (README, \"Which \
         screen\")",
        reasons.join("; "),
        crate::policy::PATH
    ))
}

/// The real host: `/proc`, `access(2)`, logind on the system bus.
#[cfg(target_os = "linux")]
pub struct Real;

#[cfg(target_os = "linux")]
impl Host for Real {
    fn my_uid(&self) -> u32 {
        rustix::process::getuid().as_raw()
    }

    fn exe(&self, pid: u32) -> Option<PathBuf> {
        std::fs::read_link(format!("/proc/{pid}/exe")).ok()
    }

    fn ppid(&self, pid: u32) -> Option<u32> {
        crate::evidence::parent_of(pid)
    }

    fn uid(&self, pid: u32) -> Option<u32> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }

    fn fd_targets(&self, pid: u32) -> Result<Vec<PathBuf>, String> {
        let dir = format!("/proc/{pid}/fd");
        let entries = std::fs::read_dir(&dir).map_err(|e| {
            format!(
                "its open files cannot be listed ({e}), so it is not known to read input hardware"
            )
        })?;
        // A server holds a few hundred descriptors at most; a bound keeps a hostile one
        // from making the helper read forever.
        Ok(entries
            .flatten()
            .take(65_536)
            .filter_map(|e| std::fs::read_link(e.path()).ok())
            .collect())
    }

    fn user_can_open(&self, path: &Path) -> bool {
        use rustix::fs::{Access, AtFlags, CWD, accessat};
        // access(2) answers for the real uid and gid: the person, even in a setgid helper.
        accessat(CWD, path, Access::READ_OK, AtFlags::empty()).is_ok()
    }

    fn logind_sessions(&self) -> Vec<Session> {
        logind::sessions(self.my_uid()).unwrap_or_default()
    }

    fn x11_socket_owner(&self, n: u32) -> Option<u32> {
        use std::os::linux::net::SocketAddrExt;
        use std::os::unix::net::{SocketAddr, UnixStream};
        // The abstract socket first, as Xlib and xcb connect: a server holding display N
        // holds its abstract name, which nobody else can take while it runs.
        let addr = SocketAddr::from_abstract_name(format!("/tmp/.X11-unix/X{n}")).ok()?;
        let stream = UnixStream::connect_addr(&addr).ok()?;
        let peer = peer_of(&stream).ok()?;
        (peer.pid != 0).then_some(peer.pid)
    }
}

/// The process at the other end of a connected Unix socket.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub fn peer_of(socket: &impl std::os::fd::AsFd) -> Result<Peer, String> {
    use std::os::fd::AsRawFd;
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` is a plain C struct that outlives the call, `len` says its size, and the
    // descriptor is borrowed for the duration of the call. (rustix's `socket_peercred`
    // stores the pid in a non-zero type, and the kernel reports 0 for a peer in a pid
    // namespace this process cannot see.)
    let r = unsafe {
        libc::getsockopt(
            socket.as_fd().as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if r != 0 {
        let e = std::io::Error::last_os_error();
        return Err(format!(
            "the display connection is not a local socket, so the server behind it cannot be \
             identified ({e}); network displays (ssh -X, DISPLAY=host:N) are not supported"
        ));
    }
    Ok(Peer {
        pid: u32::try_from(cred.pid).unwrap_or(0),
        uid: cred.uid,
    })
}

#[cfg(target_os = "linux")]
mod logind {
    use super::Session;
    use std::time::Duration;

    /// The system bus at its fixed address: `DBUS_SYSTEM_BUS_ADDRESS` is the caller's to set.
    const SYSTEM_BUS: &str = "unix:path=/run/dbus/system_bus_socket";

    pub(super) fn sessions(uid: u32) -> Result<Vec<Session>, zbus::Error> {
        if !std::path::Path::new("/run/dbus/system_bus_socket").exists() {
            return Ok(Vec::new());
        }
        let conn = zbus::blocking::connection::Builder::address(SYSTEM_BUS)?
            .method_timeout(Duration::from_secs(2))
            .build()?;
        let manager = zbus::blocking::Proxy::new(
            &conn,
            "org.freedesktop.login1",
            "/org/freedesktop/login1",
            "org.freedesktop.login1.Manager",
        )?;
        let listed: Vec<(String, u32, String, String, zbus::zvariant::OwnedObjectPath)> =
            manager.call("ListSessions", &())?;
        let mut out = Vec::new();
        for (id, owner, _user, seat, path) in listed {
            if owner != uid {
                continue;
            }
            let s = zbus::blocking::Proxy::new(
                &conn,
                "org.freedesktop.login1",
                path,
                "org.freedesktop.login1.Session",
            )?;
            out.push(Session {
                id,
                kind: s.get_property("Type").unwrap_or_default(),
                display: s.get_property("Display").unwrap_or_default(),
                seat,
                active: s.get_property("Active").unwrap_or(false),
                remote: s.get_property("Remote").unwrap_or(true),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Default)]
    struct Fake {
        me: u32,
        exe: HashMap<u32, &'static str>,
        ppid: HashMap<u32, u32>,
        uid: HashMap<u32, u32>,
        fds: HashMap<u32, Vec<&'static str>>,
        user_opens: Vec<&'static str>,
        sessions: Vec<Session>,
        x11_owner: HashMap<u32, u32>,
    }

    impl Host for Fake {
        fn my_uid(&self) -> u32 {
            self.me
        }
        fn exe(&self, pid: u32) -> Option<PathBuf> {
            self.exe.get(&pid).map(PathBuf::from)
        }
        fn ppid(&self, pid: u32) -> Option<u32> {
            self.ppid.get(&pid).copied()
        }
        fn uid(&self, pid: u32) -> Option<u32> {
            self.uid.get(&pid).copied()
        }
        fn fd_targets(&self, pid: u32) -> Result<Vec<PathBuf>, String> {
            self.fds
                .get(&pid)
                .map(|v| v.iter().map(PathBuf::from).collect())
                .ok_or_else(|| "cannot list".into())
        }
        fn user_can_open(&self, path: &Path) -> bool {
            self.user_opens.iter().any(|p| Path::new(p) == path)
        }
        fn logind_sessions(&self) -> Vec<Session> {
            self.sessions.clone()
        }
        fn x11_socket_owner(&self, n: u32) -> Option<u32> {
            self.x11_owner.get(&n).copied()
        }
    }

    const X0: Protocol = Protocol::X11 { number: Some(0) };

    fn me() -> Fake {
        Fake {
            me: 1000,
            ..Default::default()
        }
    }

    fn peer(pid: u32, uid: u32) -> Peer {
        Peer { pid, uid }
    }

    #[test]
    fn another_users_server_is_trusted() {
        let h = me();
        let t = judge(&h, peer(50, 0), X0, &DisplayPolicy::default()).unwrap();
        assert!(t.why.contains("another user (uid 0)"), "{}", t.why);
    }

    #[test]
    fn the_users_own_headless_servers_are_refused_with_their_name() {
        let mut h = me();
        h.exe.insert(70, "/usr/bin/Xephyr");
        h.fds
            .insert(70, vec!["/dev/null", "socket:[123]", "/tmp/.X11-unix/X71"]);
        let e = judge(&h, peer(70, 1000), X0, &DisplayPolicy::default()).unwrap_err();
        assert!(e.contains("/usr/bin/Xephyr (pid 70)"), "{e}");
        assert!(e.contains("reads no input hardware"), "{e}");
        assert!(e.contains("policy.toml"), "{e}");
        // Unlistable fds are no better.
        h.fds.remove(&70);
        assert!(judge(&h, peer(70, 1000), X0, &DisplayPolicy::default()).is_err());
        // Another pid namespace: nothing to inspect.
        assert!(judge(&h, peer(0, 1000), X0, &DisplayPolicy::default()).is_err());
    }

    #[test]
    fn a_server_holding_input_hardware_the_user_cannot_open_is_trusted() {
        let mut h = me();
        h.exe.insert(9, "/usr/bin/gnome-shell");
        h.fds.insert(9, vec!["/dev/null", "/dev/input/event4"]);
        let t = judge(
            &h,
            peer(9, 1000),
            Protocol::Wayland,
            &DisplayPolicy::default(),
        )
        .unwrap();
        assert!(t.why.contains("/dev/input/event4"), "{}", t.why);
        // The same device, openable by the user (member of `input`): a worm's server could
        // hold it too.
        h.user_opens.push("/dev/input/event4");
        let e = judge(
            &h,
            peer(9, 1000),
            Protocol::Wayland,
            &DisplayPolicy::default(),
        )
        .unwrap_err();
        assert!(e.contains("you can open that device yourself"), "{e}");
        // Names that only look like evdev do not count.
        h.fds.insert(
            9,
            vec!["/dev/input/event", "/dev/input/event1x", "/dev/input/mice"],
        );
        assert!(
            judge(
                &h,
                peer(9, 1000),
                Protocol::Wayland,
                &DisplayPolicy::default()
            )
            .is_err()
        );
    }

    #[test]
    fn xwayland_counts_through_its_compositor_only() {
        let mut h = me();
        h.exe.insert(20, "/usr/bin/Xwayland");
        h.fds.insert(20, vec![]);
        h.ppid.insert(20, 9);
        h.uid.insert(9, 1000);
        h.exe.insert(9, "/usr/bin/kwin_wayland");
        h.fds.insert(9, vec![]);
        let e = judge(&h, peer(20, 1000), X0, &DisplayPolicy::default()).unwrap_err();
        assert!(e.contains("is Xwayland, but its parent"), "{e}");
        h.fds.insert(9, vec!["/dev/input/event0"]);
        let t = judge(&h, peer(20, 1000), X0, &DisplayPolicy::default()).unwrap();
        assert!(t.why.contains("Xwayland under the compositor"), "{}", t.why);
        // Something else named like a compositor child does not count: only Xwayland.
        h.exe.insert(20, "/usr/bin/Xvfb");
        assert!(judge(&h, peer(20, 1000), X0, &DisplayPolicy::default()).is_err());
    }

    #[test]
    fn logind_vouches_for_the_seat_sessions_display_only() {
        let mut h = me();
        h.exe.insert(30, "/usr/lib/xorg/Xorg");
        h.fds.insert(30, vec![]);
        let seat = Session {
            id: "2".into(),
            kind: "x11".into(),
            display: ":0".into(),
            seat: "seat0".into(),
            active: true,
            remote: false,
        };
        h.sessions.push(seat.clone());
        h.x11_owner.insert(0, 30);
        let t = judge(&h, peer(30, 1000), X0, &DisplayPolicy::default()).unwrap();
        assert!(t.why.contains("logind records"), "{}", t.why);
        // The same server on another display number, a server not holding :0, an inactive
        // or remote session: no.
        assert!(
            judge(
                &h,
                peer(30, 1000),
                Protocol::X11 { number: Some(1) },
                &DisplayPolicy::default()
            )
            .is_err()
        );
        h.x11_owner.insert(0, 31);
        assert!(judge(&h, peer(30, 1000), X0, &DisplayPolicy::default()).is_err());
        h.x11_owner.insert(0, 30);
        for bad in [
            Session {
                active: false,
                ..seat.clone()
            },
            Session {
                remote: true,
                ..seat.clone()
            },
            Session {
                seat: String::new(),
                ..seat.clone()
            },
            Session {
                kind: "tty".into(),
                ..seat.clone()
            },
        ] {
            h.sessions = vec![bad];
            assert!(judge(&h, peer(30, 1000), X0, &DisplayPolicy::default()).is_err());
        }
    }

    #[test]
    fn the_policy_trusts_by_executable_path() {
        let mut h = me();
        h.exe.insert(40, "/usr/bin/Xvnc");
        h.fds.insert(40, vec![]);
        let policy = DisplayPolicy {
            trusted_servers: vec!["/usr/bin/Xvnc".into()],
            ..Default::default()
        };
        assert!(judge(&h, peer(40, 1000), X0, &DisplayPolicy::default()).is_err());
        let t = judge(&h, peer(40, 1000), X0, &policy).unwrap();
        assert!(
            t.why
                .contains("trusted in /etc/cargo-confirm-gui/policy.toml"),
            "{}",
            t.why
        );
    }
}
