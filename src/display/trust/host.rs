//! The Linux host of the display rules (`super`): what the kernel, `/proc`, the socket
//! diagnostics and logind say about the process at the other end of a display socket.

#[cfg_attr(not(target_os = "linux"), allow(unused_imports))]
use super::*;

/// Why the process at the other end of a display connection cannot be asked for.
#[cfg(target_os = "linux")]
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// The socket's family cannot be read.
    #[error("the display connection cannot be examined ({0})")]
    Examine(#[source] rustix::io::Errno),
    /// Not a Unix socket: nothing names its peer.
    #[error(
        "the display connection is not a local socket, so the server behind it cannot \
         be identified; network displays (ssh -X, DISPLAY=host:N) are not supported"
    )]
    NotLocal,
    /// `SO_PEERCRED` failed.
    #[error(
        "the display connection is not a local socket, so the server behind it cannot be \
         identified ({0}); network displays (ssh -X, DISPLAY=host:N) are not supported"
    )]
    PeerCred(#[source] std::io::Error),
}

/// Why the socket diagnostics did not name the server end of a connection.
#[cfg(target_os = "linux")]
#[derive(Debug, thiserror::Error)]
pub enum DiagError {
    /// A system call failed.
    #[error("socket diagnostics: {0}")]
    Call(#[source] rustix::io::Errno),
    /// The socket's inode does not fit the request.
    #[error("socket diagnostics: an inode out of range")]
    InodeRange,
    /// The answer is shorter than its header.
    #[error("socket diagnostics: a short answer")]
    ShortAnswer,
    /// The kernel answered with an error.
    #[error("socket diagnostics: {0}")]
    Kernel(#[source] std::io::Error),
    /// The kernel answered with a message of another type.
    #[error("socket diagnostics: an answer of type {0:?}")]
    UnexpectedType(Option<u16>),
    /// The answer is about another socket.
    #[error("socket diagnostics: an answer about another socket")]
    OtherSocket,
    /// The peer attribute is cut short.
    #[error("socket diagnostics: a short attribute")]
    ShortAttribute,
    /// The answer has no peer attribute.
    #[error("socket diagnostics: no peer (the connection is not connected)")]
    NoPeer,
    /// The server has not accepted the connection within the wait.
    #[error("socket diagnostics: the server has not accepted the connection")]
    NotAccepted,
}

/// The real host: `/proc`, `access(2)`, logind on the system bus.
#[cfg(target_os = "linux")]
pub(crate) struct Real;

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

    fn open_files(&self, pid: u32) -> Result<Vec<OpenFile>, OpenFilesError> {
        use std::os::unix::fs::FileTypeExt;
        use std::os::unix::fs::MetadataExt;
        let dir = PathBuf::from(format!("/proc/{pid}/fd"));
        let entries = std::fs::read_dir(&dir).map_err(|source| OpenFilesError { pid, source })?;
        // A server holds a few hundred descriptors at most; a bound keeps a hostile one
        // from making the helper read forever.
        Ok(entries
            .flatten()
            .take(65_536)
            .filter_map(|e| {
                let link = std::fs::read_link(e.path()).ok()?;
                if !link.starts_with("/dev/") {
                    return Some(OpenFile {
                        link,
                        char_device: None,
                        readable: false,
                    });
                }
                // stat through the magic link: what the descriptor really is.
                let meta = std::fs::metadata(e.path()).ok();
                let char_device = meta
                    .filter(|m| m.file_type().is_char_device())
                    .map(|m| m.rdev());
                let flags = std::fs::read_to_string(format!(
                    "/proc/{pid}/fdinfo/{}",
                    e.file_name().to_string_lossy()
                ))
                .ok()
                .and_then(|info| {
                    info.lines()
                        .find_map(|l| l.strip_prefix("flags:"))
                        .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
                });
                const O_PATH: u32 = 0o10_000_000;
                let readable = flags.is_some_and(|f| f & O_PATH == 0 && f & 0o3 != 1);
                Some(OpenFile {
                    link,
                    char_device,
                    readable,
                })
            })
            .collect())
    }

    fn user_can_open(&self, path: &Path) -> bool {
        use rustix::fs::{Access, AtFlags, CWD, accessat};
        // access(2) answers for the real uid and gid: the person, even in a setgid helper.
        accessat(CWD, path, Access::READ_OK, AtFlags::empty()).is_ok()
    }

    fn char_device(&self, path: &Path) -> Option<u64> {
        use std::os::unix::fs::FileTypeExt;
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path)
            .ok()
            .filter(|m| m.file_type().is_char_device())
            .map(|m| m.rdev())
    }

    fn controlled_uid(&self, uid: u32) -> bool {
        // The kernel's overflow id (and -1) stand for ids unmapped in this namespace.
        if uid == 65_534 || uid == u32::MAX {
            return true;
        }
        // In a user namespace of a worm's, the helper cannot tell who anyone is.
        if !in_initial_user_namespace() {
            return true;
        }
        delegated_by_systemd(uid) || subordinate(self.my_uid(), uid)
    }

    fn system_program(&self, path: &Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        let owned_by_root = |p: &Path| {
            std::fs::symlink_metadata(p).is_ok_and(|m| m.uid() == 0 && m.mode() & 0o022 == 0)
        };
        owned_by_root(path)
            && path
                .ancestors()
                .skip(1)
                .all(|d| d.as_os_str().is_empty() || owned_by_root(d))
    }

    fn logind_sessions(&self) -> Vec<Session> {
        logind::sessions(self.my_uid()).unwrap_or_default()
    }

    fn x11_socket_owner(&self, n: u32) -> Option<u32> {
        use std::os::linux::net::SocketAddrExt;
        use std::os::unix::net::{SocketAddr, UnixStream};
        // Abstract sockets belong to a network namespace, and a worm can run this helper in
        // one of its own: the answer counts only in the initial user namespace, and only
        // when the socket file in /tmp/.X11-unix (if any) leads to the same server.
        if !in_initial_user_namespace() {
            return None;
        }
        let abstract_peer = SocketAddr::from_abstract_name(format!("/tmp/.X11-unix/X{n}"))
            .ok()
            .and_then(|a| UnixStream::connect_addr(&a).ok())
            .and_then(|s| credentials(&s).ok())?;
        let path = format!("/tmp/.X11-unix/X{n}");
        if std::path::Path::new(&path).exists() {
            let file_peer = UnixStream::connect(&path)
                .ok()
                .and_then(|s| credentials(&s).ok())?;
            if file_peer.pid != abstract_peer.pid {
                return None;
            }
        }
        (abstract_peer.pid != 0).then_some(abstract_peer.pid)
    }

    fn socket_holders(&self, inode: u64) -> Vec<u32> {
        let me = self.my_uid();
        let Ok(procs) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        procs
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            // Bounded like a real system: a hostile number of processes cannot make the
            // helper read forever.
            .take(1 << 16)
            .filter(|pid| self.uid(*pid) == Some(me))
            .filter(|pid| self.holds_socket(*pid, inode))
            .collect()
    }

    fn holds_socket(&self, pid: u32, inode: u64) -> bool {
        let wanted = PathBuf::from(format!("socket:[{inode}]"));
        std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
            fds.flatten()
                .take(65_536)
                .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l == wanted))
        })
    }
}

/// The inode of the server's end of the connected Unix socket `socket`, from the kernel's
/// socket diagnostics (`NETLINK_SOCK_DIAG`, `UNIX_DIAG_PEER`, Linux 3.3 and later). There is
/// no crate for this one query; the messages are laid out as `linux/sock_diag.h` and
/// `linux/unix_diag.h` say.
///
/// A connection waits in the server's accept queue until the server gets round to it (a
/// Wayland client's first requests need no answer); until then its server end is no file
/// and has no inode (the kernel reports 0), so this waits up to two seconds for one.
#[cfg(target_os = "linux")]
pub(super) fn server_socket_inode(socket: &impl std::os::fd::AsFd) -> Result<u64, DiagError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match server_socket_inode_now(socket)? {
            0 if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            0 => return Err(DiagError::NotAccepted),
            inode => return Ok(inode),
        }
    }
}

#[cfg(target_os = "linux")]
pub(super) fn server_socket_inode_now(socket: &impl std::os::fd::AsFd) -> Result<u64, DiagError> {
    use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType, netlink};
    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const NLM_F_REQUEST: u16 = 1;
    const NLMSG_ERROR: u16 = 2;
    const UDIAG_SHOW_PEER: u32 = 0x4;
    const UNIX_DIAG_PEER: u16 = 2;
    let mine = rustix::fs::fstat(socket).map_err(DiagError::Call)?.st_ino;
    let ino = u32::try_from(mine).map_err(|_| DiagError::InodeRange)?;
    let nl = rustix::net::socket_with(
        AddressFamily::NETLINK,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC,
        Some(netlink::SOCK_DIAG),
    )
    .map_err(DiagError::Call)?;
    // nlmsghdr (16 bytes), then unix_diag_req (24 bytes).
    let mut req = Vec::with_capacity(40);
    req.extend_from_slice(&40u32.to_ne_bytes());
    req.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    req.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    req.extend_from_slice(&1u32.to_ne_bytes());
    req.extend_from_slice(&0u32.to_ne_bytes());
    req.extend_from_slice(&[libc::AF_UNIX as u8, 0, 0, 0]);
    req.extend_from_slice(&u32::MAX.to_ne_bytes()); // every state
    req.extend_from_slice(&ino.to_ne_bytes());
    req.extend_from_slice(&UDIAG_SHOW_PEER.to_ne_bytes());
    req.extend_from_slice(&u32::MAX.to_ne_bytes()); // no cookie
    req.extend_from_slice(&u32::MAX.to_ne_bytes());
    rustix::net::send(&nl, &req, SendFlags::empty()).map_err(DiagError::Call)?;
    let mut buf = [0u8; 4096];
    let (got, _) =
        rustix::net::recv(&nl, &mut buf[..], RecvFlags::empty()).map_err(DiagError::Call)?;
    let msg = &buf[..got];
    let u16_at = |at: usize| {
        msg.get(at..at + 2)
            .map(|b| u16::from_ne_bytes([b[0], b[1]]))
    };
    let u32_at = |at: usize| {
        msg.get(at..at + 4)
            .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    };
    let len = u32_at(0).ok_or(DiagError::ShortAnswer)? as usize;
    match u16_at(4) {
        Some(NLMSG_ERROR) => {
            let code = u32_at(16).map_or(0, |c| c as i32);
            return Err(DiagError::Kernel(std::io::Error::from_raw_os_error(-code)));
        }
        Some(SOCK_DIAG_BY_FAMILY) => {}
        other => return Err(DiagError::UnexpectedType(other)),
    }
    // unix_diag_msg: family, type, state, pad (4 bytes), inode, cookie[2]; then attributes.
    if u32_at(20) != Some(ino) {
        return Err(DiagError::OtherSocket);
    }
    let end = len.min(msg.len());
    let mut at = 16 + 16;
    while at + 4 <= end {
        let (Some(alen), Some(kind)) = (u16_at(at), u16_at(at + 2)) else {
            break;
        };
        let alen = usize::from(alen);
        if alen < 4 {
            break;
        }
        if kind == UNIX_DIAG_PEER {
            return u32_at(at + 4)
                .map(u64::from)
                .ok_or(DiagError::ShortAttribute);
        }
        at += (alen + 3) & !3;
    }
    Err(DiagError::NoPeer)
}

/// Whether this process sees every uid as it is (not inside a user namespace someone made).
#[cfg(target_os = "linux")]
pub(super) fn in_initial_user_namespace() -> bool {
    std::fs::read_to_string("/proc/self/uid_map")
        .is_ok_and(|m| m.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"])
}

/// Whether `uid` is in a range systemd hands to unprivileged users' user namespaces with no
/// line in `/etc/subuid` (red team 3): `systemd-nsresourced` allocates from its container range
/// (`0x00080000..=0x6FFFFFFF`) and maps the foreign range (`0x7FFE0000..=0x7FFEFFFF`), and
/// the ids above `0x80000000` are for such transient use too. A display server a person sees
/// never runs as one of them; directory (AD) users whose uids fall there are not refused as
/// persons, only never trusted as "another user".
#[cfg(target_os = "linux")]
pub(super) fn delegated_by_systemd(uid: u32) -> bool {
    (0x0008_0000..=0x6FFF_FFFF).contains(&uid)
        || (0x7FFE_0000..=0x7FFE_FFFF).contains(&uid)
        || (0x8000_0000..=0xFFFE_FFFF).contains(&uid)
}

/// Whether `uid` is one of the subordinate ids `/etc/subuid` gives the user `me` (by name or
/// number): a worm can run processes as those with `newuidmap`.
#[cfg(target_os = "linux")]
pub(super) fn subordinate(me: u32, uid: u32) -> bool {
    // Through NSS, not /etc/passwd: a directory (LDAP, sssd) user is not in that file, and
    // their subordinate ids, listed by name, would be missed.
    let name = crate::sealed::login_name(me).ok();
    let Ok(subuid) = std::fs::read_to_string("/etc/subuid") else {
        return false;
    };
    in_subuid(&subuid, me, name.as_deref(), uid)
}

/// [`subordinate`] on the text of `/etc/subuid`. `name` is `me`'s login name; when the user
/// database cannot say it (`None`), a range listed under any name counts: a uid in someone's
/// subordinate range is no display server a person sees, and "another user" is what would
/// trust it.
#[cfg(target_os = "linux")]
fn in_subuid(subuid: &str, me: u32, name: Option<&str>, uid: u32) -> bool {
    subuid.lines().any(|l| {
        let mut f = l.split(':');
        let (Some(who), Some(start), Some(count)) = (f.next(), f.next(), f.next()) else {
            return false;
        };
        let (Ok(start), Ok(count)) = (start.parse::<u64>(), count.parse::<u64>()) else {
            return false;
        };
        (who == me.to_string() || name.is_none_or(|n| n == who))
            && (start..start.saturating_add(count)).contains(&u64::from(uid))
    })
}

/// The process at the other end of a connected Unix socket, and the server end's inode.
#[cfg(target_os = "linux")]
pub(crate) fn peer_of(socket: &impl std::os::fd::AsFd) -> Result<Peer, PeerError> {
    let peer = credentials(socket)?;
    Ok(Peer {
        server_socket: server_socket_inode(socket).ok(),
        ..peer
    })
}

/// [`peer_of`] without asking which process serves the connection (`server_socket` is
/// `None`): who set up the socket, for [`Real::x11_socket_owner`]'s comparison.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub(super) fn credentials(socket: &impl std::os::fd::AsFd) -> Result<Peer, PeerError> {
    // Only a Unix socket names its peer: on TCP, SO_PEERCRED "succeeds" with pid 0 and
    // uid -1, which must not pass for another user.
    let domain = rustix::net::sockopt::socket_domain(socket).map_err(PeerError::Examine)?;
    if domain != rustix::net::AddressFamily::UNIX {
        return Err(PeerError::NotLocal);
    }
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
        return Err(PeerError::PeerCred(std::io::Error::last_os_error()));
    }
    Ok(Peer {
        pid: u32::try_from(cred.pid).unwrap_or(0),
        uid: cred.uid,
        server_socket: None,
    })
}

#[cfg(target_os = "linux")]
pub(super) mod logind {
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

#[cfg(all(test, target_os = "linux"))]
mod subuid_tests {
    use super::in_subuid;

    #[test]
    fn systemds_transient_user_namespace_ranges_are_never_another_user() {
        // Red team 3: systemd hands unprivileged users 64K ranges with no /etc/subuid line.
        for uid in [
            0x8000_0005_u32,
            0xC000_0000,
            0x7FFE_0001,
            0x0008_0000,
            0x6FFF_FFFF,
        ] {
            assert!(super::delegated_by_systemd(uid), "{uid:#x}");
        }
        for uid in [0_u32, 120, 1000, 65_533, 0x0007_FFFF] {
            assert!(!super::delegated_by_systemd(uid), "{uid:#x}");
        }
    }

    #[test]
    fn subordinate_ids_by_number_by_name_and_when_the_name_is_unknown() {
        let subuid = "alice:100000:65536\n1001:200000:65536\nbob:300000:65536\n";
        // By name, and by number.
        assert!(in_subuid(subuid, 1000, Some("alice"), 100_000));
        assert!(in_subuid(subuid, 1001, Some("carol"), 265_535));
        // Not someone else's range, nor past the end of one's own.
        assert!(!in_subuid(subuid, 1000, Some("alice"), 300_000));
        assert!(!in_subuid(subuid, 1000, Some("alice"), 165_536));
        // The user database could not name the person: any listed range counts (fail closed).
        assert!(in_subuid(subuid, 1000, None, 300_000));
        assert!(!in_subuid(subuid, 1000, None, 1_000));
    }
}
