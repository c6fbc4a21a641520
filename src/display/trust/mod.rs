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

mod host;
#[cfg(target_os = "linux")]
pub(crate) use host::PeerError;
#[allow(
    unused_imports,
    reason = "the tests reach the host through the rules' module"
)]
use host::*;
#[cfg(target_os = "linux")]
pub(crate) use host::{Real, peer_of};

use std::path::{Path, PathBuf};

use crate::policy::DisplayPolicy;

/// The process at the other end of a display socket, as the kernel recorded it when the
/// socket was set up (`SO_PEERCRED`), and the server end of this very connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Peer {
    /// The pid that set up the listening socket, 0 when it lives in a pid namespace this
    /// process cannot see. That process may have exited since, its pid reused.
    pid: u32,
    /// Its uid, when it set up the socket.
    uid: u32,
    /// The inode of the server's end of this connection (socket diagnostics,
    /// `UNIX_DIAG_PEER`); `None` when the kernel does not say.
    server_socket: Option<u64>,
}

/// The protocol spoken on the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// X11, with the display number when `DISPLAY` names one (`:N`, `:N.S`).
    X11 {
        /// `N` of `:N`.
        number: Option<u32>,
    },
    /// A Wayland compositor.
    Wayland,
}

/// Why the process list of a server cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("its open files cannot be listed ({source}), so it is not known to read input hardware")]
pub struct OpenFilesError {
    /// The process.
    pub pid: u32,
    /// What the system said.
    #[source]
    pub source: std::io::Error,
}

/// Why a process run by the person is not shown to read input hardware (rule 3).
#[derive(Debug, thiserror::Error)]
pub enum InputReason {
    /// Its descriptors cannot be read.
    #[error(transparent)]
    OpenFiles(#[from] OpenFilesError),
    /// It holds no evdev node.
    #[error("it reads no input hardware (no /dev/input/event* device open)")]
    NoEvdev,
    /// A descriptor named like an evdev node is no device.
    #[error("it holds a file named {} that is not a device", link.display())]
    NotADevice {
        /// The descriptor's name.
        link: PathBuf,
    },
    /// A descriptor named like an evdev node is another device, or from another namespace.
    #[error("it holds {}, but not the input device of that name here", link.display())]
    NotThatDevice {
        /// The descriptor's name.
        link: PathBuf,
    },
    /// The device is held as an `O_PATH` handle or write-only.
    #[error("it holds {} without reading it (an O_PATH handle)", link.display())]
    NotRead {
        /// The descriptor's name.
        link: PathBuf,
    },
    /// The person can open the device themselves.
    #[error(
        "it holds {}, but you can open that device yourself, so holding it proves nothing",
        link.display()
    )]
    UserCanOpen {
        /// The descriptor's name.
        link: PathBuf,
    },
}

/// Why the system's Xwayland is not vouched for by its parent (rule 4).
#[derive(Debug, thiserror::Error)]
pub enum XwaylandReason {
    /// It has no parent to ask (init's, or gone).
    #[error("its parent cannot be identified")]
    NoParent,
    /// Its parent is not the person's.
    #[error("its parent {parent} is not your compositor")]
    ParentNotCompositor {
        /// The parent, as shown.
        parent: String,
    },
    /// Its parent, the person's, does not read input hardware.
    #[error(transparent)]
    Parent(#[from] InputReason),
}

/// Why one rule did not trust a server run by the person.
#[derive(Debug, thiserror::Error)]
pub enum Reason {
    /// Rules 2 and 3.
    #[error(transparent)]
    Input(#[from] InputReason),
    /// Rule 4.
    #[error("it is Xwayland, but {0}")]
    Xwayland(#[source] XwaylandReason),
    /// Rule 5.
    #[error("logind records no active local session of yours on display :{number}")]
    NoSeat {
        /// The X display number.
        number: u32,
    },
}

/// Why the process serving a connection cannot be identified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServingError {
    /// No socket diagnostics: the server end's inode is unknown.
    #[error(
        "the kernel does not say which process holds the server end of this connection \
         (no socket diagnostics, unix_diag), so the server cannot be identified"
    )]
    NoDiagnostics,
    /// No process of the person's holds it.
    #[error(
        "no process of yours holds the server end of this connection, so the server \
         behind {listener} cannot be identified"
    )]
    NoHolder {
        /// The process that set up the socket, as shown.
        listener: String,
    },
    /// Held by others than the listener or one child of it.
    #[error(
        "the server end of this connection is held by {}, not by {listener}, which set up its \
         socket, nor by a child of it: the socket was handed on, or that pid now belongs \
         to another process",
        holders.join(", ")
    )]
    HandedOn {
        /// The holders, as shown.
        holders: Vec<String>,
        /// The process that set up the socket, as shown.
        listener: String,
    },
}

/// Why a display server is not trusted to be the person's screen. The `Display` is the
/// refusal the window and cargo show.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The connection's peer cannot be identified.
    #[cfg(target_os = "linux")]
    #[error(transparent)]
    Peer(#[from] PeerError),
    /// The server is in a pid namespace this helper cannot see.
    #[error(
        "the {what} is in a process namespace this helper cannot see into, so nothing \
         shows it is a screen a person sees"
    )]
    HiddenNamespace {
        /// "X server" or "Wayland compositor".
        what: &'static str,
    },
    /// The server runs as a uid the person controls (a subordinate or unmapped id).
    #[error(
        "the {what} runs as uid {uid}, which is not another user of this system but one you \
         control (unmapped, or one of your subordinate ids)"
    )]
    ControlledUid {
        /// "X server" or "Wayland compositor".
        what: &'static str,
        /// Its uid.
        uid: u32,
    },
    /// The process serving the connection cannot be identified.
    #[error("the {what} is refused: {source}")]
    NotServing {
        /// "X server" or "Wayland compositor".
        what: &'static str,
        /// Why.
        #[source]
        source: ServingError,
    },
    /// No rule trusts the person's own server.
    #[error(
        "the {what} this window would open on, {name}, runs as you, and nothing shows it \
         is a screen a person sees: {}. A program running as you can start such a server \
         (Xvfb, Xephyr, Xvnc, a headless compositor) and click there itself. If this is your \
         remote desktop, an administrator can trust its server in {} (README, \"Which \
         screen\")",
        reasons.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
        crate::policy::PATH
    )]
    NoRule {
        /// "X server" or "Wayland compositor".
        what: &'static str,
        /// The server, as shown.
        name: String,
        /// Every rule's reason.
        reasons: Vec<Reason>,
    },
}

/// A display server that passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Trusted {
    /// The server process.
    pub(crate) pid: u32,
    /// Why it is the person's, for the window and the log.
    why: String,
}

/// A logind session of this user, as logind reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Session {
    /// Session id.
    id: String,
    /// `x11`, `wayland`, `tty`, …
    kind: String,
    /// The X display (`:0`) registered for the session, when any.
    display: String,
    /// The seat the session is on (empty for remote or seatless sessions).
    seat: String,
    /// Whether the session is in the foreground of its seat.
    active: bool,
    /// Whether logind considers it remote.
    remote: bool,
}

/// What the rules need to know about processes and the system. [`Real`] reads `/proc` and
/// asks logind; unit tests pass a fake.
pub(crate) trait Host {
    /// This process's real uid (the person's).
    fn my_uid(&self) -> u32;
    /// `/proc/PID/exe`.
    fn exe(&self, pid: u32) -> Option<PathBuf>;
    /// The parent of `pid`.
    fn ppid(&self, pid: u32) -> Option<u32>;
    /// The real uid of `pid`.
    fn uid(&self, pid: u32) -> Option<u32>;
    /// The open file descriptors of `pid`, as far as the rules need them.
    fn open_files(&self, pid: u32) -> Result<Vec<OpenFile>, OpenFilesError>;
    /// Whether the person could open `path` for reading themselves (`access(2)`).
    fn user_can_open(&self, path: &Path) -> bool;
    /// The device number of the character device at `path` here, if it is one.
    fn char_device(&self, path: &Path) -> Option<u64>;
    /// Whether `uid` is a uid this user controls anyway: an unmapped or overflow id, or one
    /// of the user's subordinate ids (`/etc/subuid`, rootless containers). Never "another
    /// user" for the rules.
    fn controlled_uid(&self, uid: u32) -> bool;
    /// Whether `path` is a system program: owned by root and writable by nobody else.
    fn system_program(&self, path: &Path) -> bool;
    /// This user's logind sessions (empty when logind cannot be asked).
    fn logind_sessions(&self) -> Vec<Session>;
    /// The pid of the server holding X display `n`'s socket.
    fn x11_socket_owner(&self, n: u32) -> Option<u32>;
    /// This user's processes holding the socket with this inode (`socket:[inode]` among
    /// their descriptors).
    fn socket_holders(&self, inode: u64) -> Vec<u32>;
    /// Whether process `pid` holds the socket with this inode.
    fn holds_socket(&self, pid: u32, inode: u64) -> bool {
        self.socket_holders(inode).contains(&pid)
    }
}

/// One open descriptor of a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OpenFile {
    /// What `/proc/PID/fd/N` says it is (a path, `socket:[…]`, …).
    link: PathBuf,
    /// The character device it really is (`st_rdev` through the descriptor), if it is one.
    char_device: Option<u64>,
    /// Opened for reading (not `O_PATH`, not write-only).
    readable: bool,
}

/// The major number of Linux input devices; evdev nodes have minors from 64.
const INPUT_MAJOR: u64 = 13;

fn major_minor(rdev: u64) -> (u64, u64) {
    (
        ((rdev >> 32) & 0xffff_f000) | ((rdev >> 8) & 0xfff),
        ((rdev >> 12) & 0xffff_ff00) | (rdev & 0xff),
    )
}

fn shown(host: &dyn Host, pid: u32) -> String {
    match host.exe(pid) {
        Some(exe) => format!("{} (pid {pid})", exe.display()),
        None => format!("pid {pid}"),
    }
}

/// Why the process `pid`, run by the person, may be the person's screen: it holds an evdev
/// device open for reading, which the person could not open directly. The descriptor is
/// judged by what it is, not by its name: a character device of the input major, the same
/// device as the node of that name here, and open for reading (an `O_PATH` handle, which
/// needs no permission on the device, does not count; nor does a file of that name in a
/// mount namespace of the worm's own).
fn reads_input(host: &dyn Host, pid: u32) -> Result<PathBuf, InputReason> {
    let files = host.open_files(pid)?;
    let mut reason = InputReason::NoEvdev;
    for f in files {
        let named_evdev = f
            .link
            .to_str()
            .and_then(|s| s.strip_prefix("/dev/input/event"))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if !named_evdev {
            continue;
        }
        let link = || f.link.clone();
        let Some(rdev) = f.char_device else {
            reason = InputReason::NotADevice { link: link() };
            continue;
        };
        let (major, minor) = major_minor(rdev);
        if major != INPUT_MAJOR || minor < 64 || host.char_device(&f.link) != Some(rdev) {
            reason = InputReason::NotThatDevice { link: link() };
            continue;
        }
        if !f.readable {
            reason = InputReason::NotRead { link: link() };
            continue;
        }
        if host.user_can_open(&f.link) {
            reason = InputReason::UserCanOpen { link: link() };
            continue;
        }
        return Ok(f.link);
    }
    Err(reason)
}

/// Whether `uid` is a different user from the person, one a worm running as the person
/// cannot act as.
fn other_user(host: &dyn Host, uid: u32) -> bool {
    uid != host.my_uid() && !host.controlled_uid(uid)
}

/// Rules 2 and 3 for a process run by the person: trusted by policy, or reading input
/// hardware.
fn vouch_for_process(
    host: &dyn Host,
    pid: u32,
    policy: &DisplayPolicy,
) -> Result<String, InputReason> {
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

/// The process serving this connection, for a server run by the person: the one holding the
/// server end of this very connection, which must be the process that set up the socket or
/// a descendant it passed it to (mutter starts Xwayland on sockets it made, KWin's wrapper
/// through kwin_wayland). Red team of "Only the
/// person's own screen": `SO_PEERCRED` names whoever set up the socket, when it did; a worm's
/// listener can pass its socket to a relay and exit, and its pid be reused by another
/// process (or a thread of the person's compositor), which the rules would then judge.
fn serving(host: &dyn Host, peer: Peer) -> Result<u32, ServingError> {
    let Some(inode) = peer.server_socket else {
        return Err(ServingError::NoDiagnostics);
    };
    // The usual case first, reading one process's descriptors: the listener serves.
    if host.holds_socket(peer.pid, inode) {
        return Ok(peer.pid);
    }
    let holders = host.socket_holders(inode);
    // A descendant within a few steps: KWin's wrapper makes the X11 sockets, and Xwayland,
    // its grandchild, serves them. Ancestry is fixed when a process starts (a parent that
    // exits hands its children to init or a subreaper, never to an unrelated process), so
    // a process of the worm's cannot become a descendant of the pid it reused.
    let descends = |mut p: u32| {
        for _ in 0..4 {
            match host.ppid(p) {
                Some(parent) if parent == peer.pid => return true,
                Some(parent) if parent > 1 => p = parent,
                _ => return false,
            }
        }
        false
    };
    match holders.as_slice() {
        [child] if descends(*child) => Ok(*child),
        [] => Err(ServingError::NoHolder {
            listener: shown(host, peer.pid),
        }),
        others => Err(ServingError::HandedOn {
            holders: others.iter().map(|p| shown(host, *p)).collect(),
            listener: shown(host, peer.pid),
        }),
    }
}

/// The process serving a connection whose socket `peer` set up: the process that did, for
/// another user's server (whose descriptors this helper cannot read, and whose socket no
/// program of the person's can have made), else [`serving`].
pub(crate) fn server_of(host: &dyn Host, peer: Peer) -> Result<u32, ServingError> {
    if other_user(host, peer.uid) {
        Ok(peer.pid)
    } else {
        serving(host, peer)
    }
}

/// Decides whether `peer`, the server at the other end of a display socket, is the person's.
///
/// A server in a hidden pid namespace is refused; rule 1 (another user's server) is
/// decided here, from `SO_PEERCRED`; a uid the person controls is refused; a server run by
/// the person must be the one serving this connection, then pass `judge_own`.
pub(crate) fn judge(
    host: &dyn Host,
    peer: Peer,
    protocol: Protocol,
    policy: &DisplayPolicy,
) -> Result<Trusted, TrustError> {
    let what = match protocol {
        Protocol::X11 { .. } => "X server",
        Protocol::Wayland => "Wayland compositor",
    };
    if peer.pid == 0 {
        return Err(TrustError::HiddenNamespace { what });
    }
    if other_user(host, peer.uid) {
        return Ok(Trusted {
            pid: peer.pid,
            why: format!("the {what} runs as another user (uid {})", peer.uid),
        });
    }
    if peer.uid != host.my_uid() {
        return Err(TrustError::ControlledUid {
            what,
            uid: peer.uid,
        });
    }
    let listener = peer.pid;
    let server = serving(host, peer).map_err(|source| TrustError::NotServing { what, source })?;
    judge_own(host, listener, server, protocol, what, policy)
}

/// Rules 2 to 5, tried in order, for `server`, run by the person and serving this
/// connection (`listener` set up its socket): the first that passes trusts it; when none
/// does, it is refused with every rule's reason.
fn judge_own(
    host: &dyn Host,
    listener: u32,
    server: u32,
    protocol: Protocol,
    what: &'static str,
    policy: &DisplayPolicy,
) -> Result<Trusted, TrustError> {
    let name = shown(host, server);
    let mut reasons = Vec::new();
    match vouch_for_process(host, server, policy) {
        Ok(why) => {
            return Ok(Trusted {
                pid: server,
                why: format!("the {what} {name}: {why}"),
            });
        }
        Err(e) => reasons.push(Reason::Input(e)),
    }
    if let Some(verdict) = xwayland_parent(host, server, policy) {
        match verdict {
            Ok((parent, why)) => {
                return Ok(Trusted {
                    pid: server,
                    why: format!(
                        "the X server {name} is Xwayland under the compositor {}: {why}",
                        shown(host, parent)
                    ),
                });
            }
            Err(e) => reasons.push(Reason::Xwayland(e)),
        }
    }
    if let Protocol::X11 { number: Some(n) } = protocol {
        if let Some(s) = logind_seat(host, n, listener) {
            return Ok(Trusted {
                pid: server,
                why: format!(
                    "the X server {name} holds display :{n}, which logind records for your \
                     active session {} on {}",
                    s.id, s.seat
                ),
            });
        }
        reasons.push(Reason::NoSeat { number: n });
    }
    Err(TrustError::NoRule {
        what,
        name,
        reasons,
    })
}

/// Rule 4: `None` when `server` is not the system's Xwayland; else its parent and why that
/// parent vouches for it, or why it does not.
///
/// Xwayland counts through the compositor that started it: the system's Xwayland, whose
/// parent, run by the person, reads input hardware (or is trusted by the policy file). A
/// parent that is another user's (init, after a double fork; a root cron job) proves
/// nothing about who started the server.
fn xwayland_parent(
    host: &dyn Host,
    server: u32,
    policy: &DisplayPolicy,
) -> Option<Result<(u32, String), XwaylandReason>> {
    host.exe(server)
        .filter(|e| e.file_name().is_some_and(|n| n == "Xwayland") && host.system_program(e))?;
    let parent = host.ppid(server).filter(|p| *p > 1);
    Some(match parent {
        None => Err(XwaylandReason::NoParent),
        Some(parent) if host.uid(parent) != Some(host.my_uid()) => {
            Err(XwaylandReason::ParentNotCompositor {
                parent: shown(host, parent),
            })
        }
        Some(parent) => vouch_for_process(host, parent, policy)
            .map(|why| (parent, why))
            .map_err(XwaylandReason::Parent),
    })
}

/// Rule 5: the user's active, local seat session that logind records on X display `n`,
/// when `listener`, which set up this connection's socket, holds that display's socket.
fn logind_seat(host: &dyn Host, n: u32, listener: u32) -> Option<Session> {
    let seat = host.logind_sessions().into_iter().find(|s| {
        s.kind == "x11"
            && super::x11_display_number(&s.display) == Some(n)
            && s.active
            && !s.remote
            && !s.seat.is_empty()
    })?;
    (host.x11_socket_owner(n) == Some(listener)).then_some(seat)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// evdev's device numbers: major 13, minor 64 + N.
    fn evdev(n: u64) -> u64 {
        (INPUT_MAJOR << 8) | (64 + n)
    }

    #[derive(Default)]
    struct Fake {
        me: u32,
        exe: HashMap<u32, &'static str>,
        ppid: HashMap<u32, u32>,
        uid: HashMap<u32, u32>,
        fds: HashMap<u32, Vec<OpenFile>>,
        devices: HashMap<&'static str, u64>,
        user_opens: Vec<&'static str>,
        controlled: Vec<u32>,
        not_system: Vec<&'static str>,
        sessions: Vec<Session>,
        x11_owner: HashMap<u32, u32>,
        holders: HashMap<u64, Vec<u32>>,
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
        fn open_files(&self, pid: u32) -> Result<Vec<OpenFile>, OpenFilesError> {
            self.fds.get(&pid).cloned().ok_or_else(|| OpenFilesError {
                pid,
                source: std::io::Error::other("cannot list"),
            })
        }
        fn user_can_open(&self, path: &Path) -> bool {
            self.user_opens.iter().any(|p| Path::new(p) == path)
        }
        fn char_device(&self, path: &Path) -> Option<u64> {
            path.to_str().and_then(|p| self.devices.get(p)).copied()
        }
        fn controlled_uid(&self, uid: u32) -> bool {
            uid == 65_534 || self.controlled.contains(&uid)
        }
        fn system_program(&self, path: &Path) -> bool {
            !self.not_system.iter().any(|p| Path::new(p) == path)
        }
        fn logind_sessions(&self) -> Vec<Session> {
            self.sessions.clone()
        }
        fn x11_socket_owner(&self, n: u32) -> Option<u32> {
            self.x11_owner.get(&n).copied()
        }
        fn socket_holders(&self, inode: u64) -> Vec<u32> {
            // Unless a test says otherwise, the process that set up the socket serves it.
            self.holders
                .get(&inode)
                .cloned()
                .unwrap_or_else(|| vec![(inode - SOCKET_BASE) as u32])
        }
    }

    /// `peer(pid, …)`'s connection has the server socket `SOCKET_BASE + pid`.
    const SOCKET_BASE: u64 = 1_000_000;

    const X0: Protocol = Protocol::X11 { number: Some(0) };

    fn me() -> Fake {
        let mut f = Fake {
            me: 1000,
            ..Default::default()
        };
        f.devices.insert("/dev/input/event4", evdev(4));
        f.devices.insert("/dev/input/event0", evdev(0));
        f
    }

    fn file(link: &str, char_device: Option<u64>, readable: bool) -> OpenFile {
        OpenFile {
            link: link.into(),
            char_device,
            readable,
        }
    }

    fn holds_event4() -> Vec<OpenFile> {
        vec![
            file("/dev/null", None, false),
            file("/dev/input/event4", Some(evdev(4)), true),
        ]
    }

    fn peer(pid: u32, uid: u32) -> Peer {
        Peer {
            pid,
            uid,
            server_socket: Some(SOCKET_BASE + u64::from(pid)),
        }
    }

    /// The verdict, its refusal as the words people see.
    fn judge_default(h: &Fake, p: Peer, protocol: Protocol) -> Result<Trusted, String> {
        judge(h, p, protocol, &DisplayPolicy::default()).map_err(|e| e.to_string())
    }

    #[test]
    fn another_users_server_is_trusted() {
        let h = me();
        let t = judge_default(&h, peer(50, 0), X0).unwrap();
        assert!(t.why.contains("another user (uid 0)"), "{}", t.why);
    }

    #[test]
    fn ids_the_user_controls_are_not_another_user() {
        // Red-team findings: on TCP the kernel reports pid 0 and uid -1; an unmapped id
        // shows as 65534; a rootless container runs as the user's subordinate ids.
        let mut h = me();
        h.controlled.push(100_000);
        assert!(judge_default(&h, peer(0, u32::MAX), X0).is_err());
        assert!(judge_default(&h, peer(0, 0), X0).is_err());
        let e = judge_default(&h, peer(60, 65_534), X0).unwrap_err();
        assert!(e.contains("one you control"), "{e}");
        assert!(judge_default(&h, peer(60, 100_000), X0).is_err());
    }

    #[test]
    fn the_users_own_headless_servers_are_refused_with_their_name() {
        let mut h = me();
        h.exe.insert(70, "/usr/bin/Xephyr");
        h.fds.insert(
            70,
            vec![
                file("/dev/null", None, false),
                file("socket:[123]", None, false),
            ],
        );
        let e = judge_default(&h, peer(70, 1000), X0).unwrap_err();
        assert!(e.contains("/usr/bin/Xephyr (pid 70)"), "{e}");
        assert!(e.contains("reads no input hardware"), "{e}");
        assert!(e.contains("policy.toml"), "{e}");
        // Unlistable fds are no better.
        h.fds.remove(&70);
        assert!(judge_default(&h, peer(70, 1000), X0).is_err());
    }

    #[test]
    fn a_server_holding_input_hardware_the_user_cannot_open_is_trusted() {
        let mut h = me();
        h.exe.insert(9, "/usr/bin/gnome-shell");
        h.fds.insert(9, holds_event4());
        let t = judge_default(&h, peer(9, 1000), Protocol::Wayland).unwrap();
        assert!(t.why.contains("/dev/input/event4"), "{}", t.why);
        // The same device, openable by the user (member of `input`): a worm's server could
        // hold it too.
        h.user_opens.push("/dev/input/event4");
        let e = judge_default(&h, peer(9, 1000), Protocol::Wayland).unwrap_err();
        assert!(e.contains("you can open that device yourself"), "{e}");
    }

    #[test]
    fn only_a_real_evdev_descriptor_open_for_reading_counts() {
        // Red-team finding 3: the rule read only the descriptor's name.
        let mut h = me();
        h.exe.insert(9, "/usr/bin/Xephyr");
        for (f, why) in [
            // An O_PATH handle to the real device: needs no permission on it.
            (
                file("/dev/input/event4", Some(evdev(4)), false),
                "without reading it",
            ),
            // A tmpfs file of that name in a mount namespace of the worm's own.
            (file("/dev/input/event4", None, true), "not a device"),
            // Some other character device behind that name.
            (
                file("/dev/input/event4", Some((1 << 8) | 3), true),
                "not the input device of that name here",
            ),
            // The right kind of device, but not the node of that name here.
            (
                file("/dev/input/event4", Some(evdev(7)), true),
                "not the input device of that name here",
            ),
            // A name that only looks like evdev.
            (
                file("/dev/input/mice", Some(evdev(4)), true),
                "reads no input",
            ),
        ] {
            h.fds.insert(9, vec![f]);
            let e = judge_default(&h, peer(9, 1000), X0).unwrap_err();
            assert!(e.contains(why), "{why}: {e}");
        }
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
        let e = judge_default(&h, peer(20, 1000), X0).unwrap_err();
        assert!(e.contains("is Xwayland, but"), "{e}");
        h.fds.insert(9, holds_event4());
        let t = judge_default(&h, peer(20, 1000), X0).unwrap();
        assert!(t.why.contains("Xwayland under the compositor"), "{}", t.why);
        // Something else named like a compositor child does not count: only Xwayland.
        h.exe.insert(20, "/usr/bin/Xvfb");
        assert!(judge_default(&h, peer(20, 1000), X0).is_err());
    }

    #[test]
    fn xwayland_with_a_parent_that_proves_nothing_is_refused() {
        // Red-team finding 4: a renamed copy, a double fork onto init, a root parent, an
        // unreadable parent.
        let mut h = me();
        h.exe.insert(20, "/home/you/bin/Xwayland");
        h.not_system.push("/home/you/bin/Xwayland");
        h.fds.insert(20, vec![]);
        h.ppid.insert(20, 9);
        h.uid.insert(9, 1000);
        h.fds.insert(9, holds_event4());
        assert!(
            judge_default(&h, peer(20, 1000), X0).is_err(),
            "a copy in ~"
        );
        h.exe.insert(20, "/usr/bin/Xwayland");
        assert!(judge_default(&h, peer(20, 1000), X0).is_ok());
        for (parent, uid) in [(1, Some(0)), (40, Some(0)), (41, None)] {
            h.ppid.insert(20, parent);
            h.fds.insert(parent, holds_event4());
            match uid {
                Some(u) => h.uid.insert(parent, u),
                None => h.uid.remove(&parent),
            };
            let e = judge_default(&h, peer(20, 1000), X0).unwrap_err();
            assert!(e.contains("is Xwayland, but"), "parent {parent}: {e}");
        }
        h.ppid.remove(&20);
        assert!(judge_default(&h, peer(20, 1000), X0).is_err());
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
        let t = judge_default(&h, peer(30, 1000), X0).unwrap();
        assert!(t.why.contains("logind records"), "{}", t.why);
        // The same server on another display number, a server not holding :0, an inactive
        // or remote session: no.
        assert!(judge_default(&h, peer(30, 1000), Protocol::X11 { number: Some(1) }).is_err());
        h.x11_owner.insert(0, 31);
        assert!(judge_default(&h, peer(30, 1000), X0).is_err());
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
            assert!(judge_default(&h, peer(30, 1000), X0).is_err());
        }
    }

    #[test]
    fn the_server_is_the_process_holding_this_connection() {
        // Red team of "Only the person's own screen": a worm's listener passed its socket to
        // a relay (in front of its own Xephyr) and exited, and its pid was reused by the
        // person's compositor (or a thread of it), which reads input hardware.
        let mut h = me();
        h.exe.insert(9, "/usr/bin/gnome-shell");
        h.fds.insert(9, holds_event4());
        h.exe.insert(66, "/home/you/.cache/relay");
        let p = peer(9, 1000);
        h.holders.insert(SOCKET_BASE + 9, vec![66]);
        let e = judge_default(&h, p, X0).unwrap_err();
        assert!(
            e.contains(
                "held by /home/you/.cache/relay (pid 66), not by /usr/bin/gnome-shell (pid 9)"
            ),
            "{e}"
        );
        h.holders.insert(SOCKET_BASE + 9, vec![]);
        let e = judge_default(&h, p, X0).unwrap_err();
        assert!(e.contains("no process of yours holds"), "{e}");
        let unknown = Peer {
            server_socket: None,
            ..p
        };
        let e = judge_default(&h, unknown, X0).unwrap_err();
        assert!(e.contains("no socket diagnostics"), "{e}");
        // Another user's server is judged by its uid alone (its descriptors are not ours to
        // read, and no program of the person's made its socket).
        assert!(judge_default(&h, Peer { uid: 0, ..unknown }, X0).is_ok());

        // The control, mutter's way: the compositor makes the X11 sockets and starts
        // Xwayland on them; Xwayland, its child, holds the connection.
        h.exe.insert(20, "/usr/bin/Xwayland");
        h.fds.insert(20, vec![]);
        h.ppid.insert(20, 9);
        h.uid.insert(9, 1000);
        h.holders.insert(SOCKET_BASE + 9, vec![20]);
        let t = judge_default(&h, p, X0).unwrap();
        assert_eq!(t.pid, 20);
        assert!(t.why.contains("Xwayland under the compositor"), "{}", t.why);
        assert_eq!(server_of(&h, p), Ok(20));
        // KWin's way: the wrapper made the sockets; Xwayland is its grandchild.
        h.ppid.insert(9, 8);
        h.uid.insert(8, 1000);
        h.exe.insert(8, "/usr/bin/kwin_wayland_wrapper");
        h.holders.insert(SOCKET_BASE + 8, vec![20]);
        assert_eq!(serving(&h, peer(8, 1000)), Ok(20));
        // A relay that is no descendant is refused however deep its own ancestry goes.
        h.ppid.insert(66, 65);
        h.ppid.insert(65, 64);
        h.holders.insert(SOCKET_BASE + 8, vec![66]);
        assert!(serving(&h, peer(8, 1000)).is_err());
        // The listener itself holding it is the plain case.
        h.holders.remove(&(SOCKET_BASE + 9));
        assert_eq!(judge_default(&h, p, X0).unwrap().pid, 9);
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
        assert!(judge_default(&h, peer(40, 1000), X0).is_err());
        let t = judge(&h, peer(40, 1000), X0, &policy).unwrap();
        assert!(
            t.why
                .contains("trusted in /etc/cargo-confirm-gui/policy.toml"),
            "{}",
            t.why
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn descriptors_are_read_for_what_they_are() {
        use std::os::unix::fs::OpenOptionsExt;
        let readable = std::fs::File::open("/dev/null").unwrap();
        let handle = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH)
            .open("/dev/null")
            .unwrap();
        let files = Real.open_files(std::process::id()).unwrap();
        let null: Vec<&OpenFile> = files
            .iter()
            .filter(|f| f.link == Path::new("/dev/null"))
            .collect();
        let null_dev = Real.char_device(Path::new("/dev/null")).unwrap();
        assert!(
            null.iter().all(|f| f.char_device == Some(null_dev)),
            "{null:?}"
        );
        assert!(null.iter().any(|f| f.readable), "{null:?}");
        assert!(null.iter().any(|f| !f.readable), "{null:?}");
        assert_eq!(major_minor(null_dev), (1, 3));
        drop((readable, handle));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_tcp_connection_has_no_peer_to_trust() {
        // Red-team finding 2: SO_PEERCRED on TCP gives pid 0 and uid -1.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let e = peer_of(&client).unwrap_err().to_string();
        assert!(e.contains("not a local socket"), "{e}");
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        assert_eq!(peer_of(&a).unwrap().pid, std::process::id());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_kernel_names_the_server_end_of_a_connection() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let client = std::os::unix::net::UnixStream::connect(&path).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        let server_end = std::fs::metadata(format!(
            "/proc/self/fd/{}",
            std::os::fd::AsRawFd::as_raw_fd(&accepted)
        ))
        .unwrap()
        .ino();
        assert_eq!(server_socket_inode(&client).ok(), Some(server_end));
        let peer = peer_of(&client).unwrap();
        assert_eq!(peer.server_socket, Some(server_end));
        assert_eq!(Real.socket_holders(server_end), vec![std::process::id()]);
        assert_eq!(serving(&Real, peer), Ok(std::process::id()));
        // Handed on and closed here: this process no longer serves it.
        drop(accepted);
        assert!(Real.socket_holders(server_end).is_empty());
    }
}
