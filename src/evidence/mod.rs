//! Evidence for the window: who asked.
//!
//! The parent is pinned with `pidfd_open` while `/proc` is read, and `getppid` is checked
//! again afterwards, so a parent that exits and has its pid reused cannot lend us another
//! process's identity.

use std::path::PathBuf;

#[cfg(target_os = "linux")]
pub mod cargo;

/// One process in the requester chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProcessInfo {
    /// Process id.
    pub pid: u32,
    /// Executable path (`/proc/PID/exe`), or why it could not be read.
    pub exe: Result<PathBuf, String>,
    /// Command line, NUL-separated args joined with spaces.
    pub cmdline: String,
    /// The same arguments, one string each.
    pub argv: Vec<String>,
    /// Working directory.
    pub cwd: Result<PathBuf, String>,
}

/// What identifies cargo, for checking again at Approve ([`cargo::Identity`] on Linux).
#[cfg(target_os = "linux")]
pub(crate) use cargo::Identity as CargoIdentity;

/// Other platforms: no identity beyond the name yet.
#[cfg(not(target_os = "linux"))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CargoIdentity;

#[cfg(not(target_os = "linux"))]
impl CargoIdentity {
    /// Nothing to check again.
    fn recheck(&self) -> Result<(), NotCargo> {
        Ok(())
    }
}

/// Who asked for the token.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Requester {
    /// Direct parent first, then its ancestors (up to a few).
    pub chain: Vec<ProcessInfo>,
    /// The direct parent is cargo: on Linux, named so, carrying cargo's strings, and alone
    /// holding the other ends of this helper's pipes ([`cargo`]); elsewhere, named so.
    pub parent_is_cargo: bool,
    /// cargo's identity as first checked, when it is cargo. Never sent to the window
    /// process: only this process checks it again.
    #[serde(skip)]
    pub cargo: Option<CargoIdentity>,
    /// Anything that makes the identity doubtful (shown in red).
    pub warnings: Vec<Warning>,
    /// Weaknesses worth knowing that do not make this request suspect (shown in amber):
    /// a cargo or a helper binary that any program running as this user could replace.
    pub notices: Vec<String>,
    /// What the check of cargo found, when it passed ("checked: the binary carries …"):
    /// good news, shown with the process chain, never among the things worth a look.
    #[serde(default)]
    pub checked: Option<String>,
}

impl Requester {
    /// The direct parent.
    pub(crate) fn parent(&self) -> Option<&ProcessInfo> {
        self.chain.first()
    }
}

/// Why the requester is not (or no longer) a verified cargo: the message says which check
/// failed ([`cargo`] on Linux).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotCargo {
    /// The direct parent is not named cargo.
    #[error("the program that asked is not cargo")]
    NotNamedCargo,
    /// Another process holds one of the helper's pipes too.
    #[error(
        "another process also holds this helper's {pipe} pipe (pid {pids}): something besides \
         cargo could be talking to it"
    )]
    Shared {
        /// `stdin` or `stdout`.
        pipe: &'static str,
        /// The other holders' pids, comma-separated.
        pids: String,
    },
    /// The parent's end is one its jobserver variables name.
    #[error(
        "the parent's descriptor {fd} on this helper's {pipe} pipe is one its jobserver \
         variables name: it was handed to cargo, not made by it"
    )]
    Jobserver {
        /// `stdin` or `stdout`.
        pipe: &'static str,
        /// The descriptor.
        fd: u32,
    },
    /// The parent holds no end of the pipe.
    #[error(
        "the parent does not hold the other end of this helper's {pipe} pipe: it is not the \
         program talking to this helper"
    )]
    NotHolding {
        /// `stdin` or `stdout`.
        pipe: &'static str,
    },
    /// The parent holds more than one end.
    #[error(
        "the parent holds {count} descriptors on this helper's {pipe} pipe, where cargo makes \
         one: they were handed to it"
    )]
    Several {
        /// `stdin` or `stdout`.
        pipe: &'static str,
        /// How many.
        count: usize,
    },
    /// The parent's end is opened the wrong way.
    #[error(
        "the parent's end of this helper's {pipe} pipe is opened {opened}, where cargo's is \
         {wanted}: it is not the program talking to this helper"
    )]
    Direction {
        /// `stdin` or `stdout`.
        pipe: &'static str,
        /// How it is opened.
        opened: &'static str,
        /// How cargo's is.
        wanted: &'static str,
    },
    /// The parent's end has no close-on-exec: it was inherited.
    #[error(
        "the parent's end of this helper's {pipe} pipe was inherited, not made by it (no \
         close-on-exec): it is not the program talking to this helper"
    )]
    Inherited {
        /// `stdin` or `stdout`.
        pipe: &'static str,
    },
    /// The parent's environment (for its jobserver variables) cannot be read.
    #[error("the parent's environment cannot be read: {0}")]
    Environment(String),
    /// One of this helper's own descriptors cannot be read.
    #[error("fd {fd}: {why}")]
    Descriptor {
        /// The descriptor.
        fd: i32,
        /// What the system said.
        why: String,
    },
    /// stdin or stdout is not a pipe.
    #[error("this helper's {stream} is {is}, not a pipe from cargo")]
    NotAPipe {
        /// `stdin` or `stdout`.
        stream: &'static str,
        /// What it is.
        is: String,
    },
    /// stdin and stdout are one pipe.
    #[error("this helper's stdin and stdout are one pipe, where cargo makes two")]
    OnePipe,
    /// The binary lacks cargo's credential-provider strings.
    #[error(
        "the parent is named cargo, but its binary does not carry cargo's own \
         credential-provider strings"
    )]
    NoProviderStrings,
    /// The parent's start time cannot be read.
    #[error("the parent's start time cannot be read")]
    NoStartTime,
    /// The parent's binary cannot be read.
    #[error("the parent's binary cannot be read")]
    NoBinary,
    /// At Approve: the pid now belongs to another process.
    #[error("cargo exited, and another process has its pid")]
    PidReused,
    /// At Approve: the process runs another binary.
    #[error("cargo now runs another program than when it asked")]
    BinaryChanged,
}

/// Something that makes who asked doubtful, shown in red. What it says is `ui`'s to word.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Warning {
    /// This helper has no parent process.
    Orphaned,
    /// The parent could not be pinned (`pidfd_open` failed).
    NotPinned,
    /// The parent exited, or stopped being this helper's parent, while it was read.
    Exited,
    /// The direct parent is not named cargo.
    NotCargo,
    /// The direct parent is named cargo but failed the check (`cargo::verify`); why.
    NotVerifiedCargo(String),
    /// A dynamic loader variable (`LD_PRELOAD`, `LD_LIBRARY_PATH`, `LD_AUDIT`) is set in the
    /// requester's environment; its name.
    LoaderVariable(String),
    /// macOS: the requesting program's code signature is invalid.
    InvalidSignature,
    /// This platform has no way yet to inspect the requesting process.
    NotInspectable,
}

impl Warning {
    /// Whether it says the requester is not (a verified) cargo: that matters where a token
    /// would go to the requester, and not to a publish the helper uploads itself.
    pub(crate) fn about_cargo(&self) -> bool {
        matches!(self, Warning::NotCargo | Warning::NotVerifiedCargo(_))
    }
}

/// The chain ends at the session leader, or after this many processes.
#[cfg(target_os = "linux")]
const CHAIN_MAX: usize = 12;

/// Inspects the parent process chain of this process.
///
/// The parent is pinned first; after the chain is read, a parent that is no longer this
/// process's parent, or has exited, is a warning. Then whether it is a verified cargo, and
/// which of the programs involved any program running as the user could replace.
#[cfg(target_os = "linux")]
pub fn requester() -> Requester {
    use rustix::process::{PidfdFlags, getppid, pidfd_open};

    let mut r = Requester::default();
    let Some(ppid) = getppid() else {
        r.warnings.push(Warning::Orphaned);
        return r;
    };
    let pidfd = pidfd_open(ppid, PidfdFlags::empty());
    if pidfd.is_err() {
        r.warnings.push(Warning::NotPinned);
    }
    let parent = ppid.as_raw_nonzero().get() as u32;
    r.chain = chain_from(parent);
    // The pin only holds if the parent is still the same process now.
    let still_parent = getppid() == Some(ppid);
    let alive = pidfd.as_ref().is_ok_and(still_running);
    if !still_parent || !alive {
        r.warnings.push(Warning::Exited);
    }
    verify_cargo(&mut r, parent);
    loader_variables(&mut r, parent);
    note_replaceable(&mut r);
    r
}

/// The dynamic loader's variables that put code of another program's choosing into a
/// process, read from the requester's own environment: the token goes to cargo, and such
/// code inside cargo would read it. Evidence, not a guarantee: `/proc/PID/environ` is what
/// the process started with, and the user's programs can shape it.
#[cfg(target_os = "linux")]
fn loader_variables(r: &mut Requester, pid: u32) {
    let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
        return;
    };
    // A toolchain's cargo run with LD_LIBRARY_PATH naming that toolchain's own `lib/`, when
    // root alone can write it (a system install), is not the caller's choice. rustup's
    // toolchains are the user's own directories: a worm fills them (red team), so there the
    // warning stays.
    let own_lib = r
        .parent()
        .and_then(|p| p.exe.as_ref().ok())
        .and_then(|e| e.parent()?.parent().map(|t| t.join("lib")));
    for name in loader_variables_in(&environ) {
        if name == "LD_LIBRARY_PATH"
            && own_lib
                .as_deref()
                .is_some_and(|lib| only_names(&environ, "LD_LIBRARY_PATH", lib) && roots_alone(lib))
        {
            continue;
        }
        r.warnings.push(Warning::LoaderVariable(name.into()));
    }
}

/// Whether `dir` and every directory above it are root's, and writable by nobody else: a
/// directory the user owns (`~/.rustup/…`) is the user's programs' to fill, whatever its mode
/// bits say now (the owner may chmod them back at will).
#[cfg(target_os = "linux")]
fn roots_alone(dir: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    dir.ancestors()
        .all(|d| std::fs::metadata(d).is_ok_and(|m| m.uid() == 0 && m.mode() & 0o022 == 0))
}

/// Whether `name` in `environ` lists `dir` and nothing else (empty entries aside).
#[cfg(target_os = "linux")]
pub(crate) fn only_names(environ: &[u8], name: &str, dir: &std::path::Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Some(value) = environ.split(|b| *b == 0).find_map(|var| {
        var.strip_prefix(name.as_bytes())
            .and_then(|rest| rest.strip_prefix(b"="))
    }) else {
        return false;
    };
    let mut entries = value
        .split(|b| *b == b':')
        .filter(|e| !e.is_empty())
        .peekable();
    entries.peek().is_some()
        && entries.all(|e| {
            std::path::Path::new(std::ffi::OsStr::from_bytes(e)).components() == dir.components()
        })
}

/// Which of `LD_PRELOAD`, `LD_LIBRARY_PATH` and `LD_AUDIT` are set, not empty, in
/// `environ` (NUL-separated, as `/proc/PID/environ`).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) fn loader_variables_in(environ: &[u8]) -> Vec<&'static str> {
    ["LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT"]
        .into_iter()
        .filter(|name| {
            environ.split(|b| *b == 0).any(|var| {
                var.strip_prefix(name.as_bytes())
                    .and_then(|rest| rest.strip_prefix(b"="))
                    .is_some_and(|v| !v.is_empty())
            })
        })
        .collect()
}

/// `pid` and its ancestors, up to the session leader or [`CHAIN_MAX`] processes.
#[cfg(target_os = "linux")]
fn chain_from(mut pid: u32) -> Vec<ProcessInfo> {
    let mut chain = Vec::new();
    for _ in 0..CHAIN_MAX {
        let info = read_proc(pid);
        let stat = stat_of(pid);
        chain.push(info);
        match stat {
            // The session leader (a login shell, a terminal's shell) is the last one shown.
            Some(s) if s.session == pid => break,
            Some(s) if s.ppid > 1 => pid = s.ppid,
            _ => break,
        }
    }
    chain
}

/// Whether the pinned process has not exited: a pidfd becomes readable when its process
/// exits; polled without waiting, and an error counts as exited.
#[cfg(target_os = "linux")]
fn still_running(pidfd: &std::os::fd::OwnedFd) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let mut fds = [PollFd::new(pidfd, PollFlags::IN)];
    poll(
        &mut fds,
        Some(&Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        }),
    )
    .is_ok_and(|n| n == 0)
}

/// Whether the direct parent, `ppid`, is cargo: named so, then verified ([`cargo::verify`]);
/// a parent named cargo that fails the check is not cargo, with why.
#[cfg(target_os = "linux")]
fn verify_cargo(r: &mut Requester, ppid: u32) {
    r.parent_is_cargo = r
        .parent()
        .and_then(|p| p.exe.as_ref().ok())
        .and_then(|e| e.file_name())
        .is_some_and(|n| n == "cargo" || n == "cargo.exe");
    let named_cargo = r.parent_is_cargo;
    if named_cargo {
        match cargo::verify(ppid) {
            Ok((identity, checked)) => {
                r.cargo = Some(identity);
                r.checked = Some(format!("cargo {checked}"));
            }
            Err(why) => {
                r.parent_is_cargo = false;
                r.warnings.push(Warning::NotVerifiedCargo(why.to_string()));
            }
        }
    } else {
        r.warnings.push(Warning::NotCargo);
    }
}

/// Notices, not warnings: a verified cargo, or this helper, that any program running as the
/// user could replace.
#[cfg(target_os = "linux")]
fn note_replaceable(r: &mut Requester) {
    if r.parent_is_cargo
        && let Some(Ok(exe)) = r.parent().map(|p| p.exe.clone())
        && let Some(place) = user_writable(&exe)
    {
        r.notices.push(format!(
            "this cargo ({}) can be replaced by any program running as you: {place} is writable",
            exe.display()
        ));
    }
    if let Ok(me) = std::fs::read_link("/proc/self/exe")
        && let Some(place) = user_writable(&me)
    {
        r.notices.push(format!(
            "this helper ({}) can be replaced by any program running as you: {place} is writable. \
             A root-owned install fixes that (README, \"Sealed install\")",
            me.display()
        ));
    }
}

/// Whether the real user can write `exe` or the directory holding it; names which one.
#[cfg(target_os = "linux")]
pub(crate) fn user_writable(exe: &std::path::Path) -> Option<&'static str> {
    use rustix::fs::{Access, AtFlags, CWD, accessat};
    // access(2) answers for the real uid: the person, even in a setgid helper.
    let writable =
        |p: &std::path::Path| accessat(CWD, p, Access::WRITE_OK, AtFlags::empty()).is_ok();
    if writable(exe) {
        Some("the file")
    } else if exe.parent().is_some_and(writable) {
        Some("its directory")
    } else {
        None
    }
}

/// The direct parent's executable path, cheaply, for the audit log.
pub(crate) fn parent_exe() -> String {
    #[cfg(target_os = "linux")]
    {
        rustix::process::getppid()
            .and_then(|p| std::fs::read_link(format!("/proc/{}/exe", p.as_raw_nonzero())).ok())
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    }
    #[cfg(not(target_os = "linux"))]
    {
        String::new()
    }
}

/// macOS: the direct parent, found through the code-signing API, with its signing status.
/// Written against security-framework's documented API; built by the macOS CI job only.
#[cfg(target_os = "macos")]
pub fn requester() -> Requester {
    use security_framework::os::macos::code_signing::{
        Flags, GuestAttributes, SecCode, SecRequirement,
    };
    let mut r = Requester::default();
    let Some(ppid) = rustix::process::getppid() else {
        r.warnings.push(Warning::Orphaned);
        return r;
    };
    let pid = ppid.as_raw_nonzero().get();
    let mut attrs = GuestAttributes::new();
    attrs.set_pid(pid);
    let code = SecCode::copy_guest_with_attribues(None, &attrs, Flags::NONE);
    let exe = code
        .as_ref()
        .map_err(|e| e.to_string())
        .and_then(|c| c.path(Flags::NONE).map_err(|e| e.to_string()))
        .and_then(|url| url.to_path().ok_or_else(|| "not a file path".to_string()));
    let signing = match &code {
        Err(e) => format!("signature unknown ({e})"),
        Ok(c) => {
            let check = |text: &str| {
                text.parse::<SecRequirement>()
                    .and_then(|req| c.check_validity(Flags::NONE, &req))
                    .is_ok()
            };
            if check("anchor apple") {
                "signed by Apple".into()
            } else if check(crate::store::macos::DEVELOPER_ID) {
                "signed with a Developer ID".into()
            } else if check("always") {
                "ad-hoc signed or unsigned".into()
            } else {
                "INVALID signature (modified after signing?)".into()
            }
        }
    };
    r.chain.push(ProcessInfo {
        pid: pid as u32,
        exe: exe.clone(),
        cmdline: format!("({signing})"),
        argv: Vec::new(),
        cwd: Err("not read on macOS yet".into()),
    });
    r.parent_is_cargo = exe
        .as_ref()
        .ok()
        .and_then(|e| e.file_name())
        .is_some_and(|n| n == "cargo");
    if r.parent_is_cargo {
        r.cargo = Some(CargoIdentity);
    }
    if !r.parent_is_cargo {
        r.warnings.push(Warning::NotCargo);
    }
    if signing.starts_with("INVALID") {
        r.warnings.push(Warning::InvalidSignature);
    }
    r
}

/// Checks again, at Approve, that the requester is the cargo first seen (Linux: same
/// process, same binary, alone on the pipes). Not cargo at all is an error too.
pub fn recheck(r: &Requester) -> Result<(), NotCargo> {
    if !r.parent_is_cargo {
        return Err(NotCargo::NotNamedCargo);
    }
    r.cargo.as_ref().map_or(Ok(()), |c| c.recheck())
}

/// Other platforms: no chain yet.
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
pub fn requester() -> Requester {
    Requester {
        warnings: vec![Warning::NotInspectable],
        ..Default::default()
    }
}

#[cfg(target_os = "linux")]
fn read_proc(pid: u32) -> ProcessInfo {
    let base = PathBuf::from(format!("/proc/{pid}"));
    let link = |name: &str| std::fs::read_link(base.join(name)).map_err(|e| e.to_string());
    let argv = std::fs::read(base.join("cmdline"))
        .map(|b| split_cmdline(&b))
        .unwrap_or_default();
    ProcessInfo {
        pid,
        exe: link("exe"),
        cmdline: argv.join(" "),
        argv,
        cwd: link("cwd"),
    }
}

#[cfg(target_os = "linux")]
struct Stat {
    ppid: u32,
    session: u32,
}

#[cfg(target_os = "linux")]
fn stat_of(pid: u32) -> Option<Stat> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    let (ppid, session) = stat_ppid_session(&stat)?;
    Some(Stat { ppid, session })
}

/// `/proc/PID/cmdline` as arguments: NUL-separated, empty ones dropped, bytes that are not
/// UTF-8 replaced. A process writes its own command line; public for the fuzz target.
#[doc(hidden)]
pub fn split_cmdline(raw: &[u8]) -> Vec<String> {
    raw.split(|c| *c == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// The parent pid and session id in a `/proc/PID/stat` line. Public for the fuzz target.
#[doc(hidden)]
pub fn stat_ppid_session(stat: &[u8]) -> Option<(u32, u32)> {
    // After the command name: state ppid pgrp session ...
    let mut f = stat_fields(stat)?.skip(1);
    let ppid = f.next()?.parse().ok()?;
    let session = f.nth(1)?.parse().ok()?;
    Some((ppid, session))
}

/// The fields of a `/proc/PID/stat` line that follow the command name, from the state on.
/// The name, in parentheses, is the process's own choice: any bytes but NUL, `)`, spaces
/// and bytes that are not UTF-8 included (issue 15). So the line is read as bytes and the
/// fields are counted after its last `)`.
#[doc(hidden)]
fn stat_fields(stat: &[u8]) -> Option<std::str::Split<'_, char>> {
    let after = stat.get(stat.iter().rposition(|b| *b == b')')? + 2..)?;
    Some(std::str::from_utf8(after).ok()?.split(' '))
}

/// The parent pid of `pid`, from `/proc/PID/stat`.
#[cfg(target_os = "linux")]
pub(crate) fn parent_of(pid: u32) -> Option<u32> {
    stat_of(pid).map(|s| s.ppid)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_command_name_that_is_not_utf8_does_not_hide_the_parent() {
        // Issue 15, found by fuzz/fuzz_targets/proc_parsers.rs: a process may name itself
        // with any bytes (prctl, its executable's file name); with bytes that are not UTF-8
        // its stat line was not read at all, and the chain ended there.
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let tid = rustix::thread::gettid().as_raw_nonzero().get() as u32;
            std::fs::write(format!("/proc/self/task/{tid}/comm"), b"x) S 1\xe7(y").unwrap();
            tx.send(tid).unwrap();
            let _ = done_rx.recv();
        });
        let tid = rx.recv().unwrap();
        let stat = std::fs::read(format!("/proc/{tid}/stat")).unwrap();
        let parsed = stat_of(tid).map(|s| s.ppid);
        let start = cargo::stat_start_time(&stat);
        drop(done_tx);
        thread.join().unwrap();
        assert!(stat.windows(4).any(|w| w == b"1\xe7(y"), "{stat:?}");
        let ppid = rustix::process::getppid().unwrap().as_raw_nonzero().get() as u32;
        assert_eq!(parsed, Some(ppid));
        assert!(start.is_some_and(|t| t > 0));
    }

    #[test]
    fn parent_of_self_is_getppid() {
        let me = std::process::id();
        let pp = rustix::process::getppid().unwrap().as_raw_nonzero().get() as u32;
        assert_eq!(stat_of(me).map(|s| s.ppid), Some(pp));
    }

    #[test]
    fn the_chain_ends_at_the_session_leader() {
        let r = requester();
        let last = r.chain.last().unwrap();
        let s = stat_of(last.pid).unwrap();
        assert!(
            s.session == last.pid || s.ppid <= 1 || r.chain.len() == CHAIN_MAX,
            "{:?}",
            r.chain.iter().map(|p| p.pid).collect::<Vec<_>>()
        );
        // Every process before the last is not its session's leader.
        for p in &r.chain[..r.chain.len() - 1] {
            assert_ne!(stat_of(p.pid).unwrap().session, p.pid);
        }
        assert_eq!(
            r.parent().unwrap().argv.join(" "),
            r.parent().unwrap().cmdline
        );
    }

    #[test]
    fn a_file_the_user_owns_is_writable() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("cargo");
        std::fs::write(&exe, b"").unwrap();
        assert_eq!(user_writable(&exe), Some("the file"));
        assert_eq!(
            user_writable(&dir.path().join("missing")),
            Some("its directory")
        );
    }

    #[test]
    fn a_cargo_that_does_not_talk_to_us_over_pipes_is_not_verified() {
        // `cargo test` runs the test binary directly under cargo, so the parent is a real
        // cargo there; under nextest or a shell it is not. Either way it does not hold this
        // process's stdin and stdout as a credential provider's pipes, so it is not
        // verified: a name is not enough.
        let r = requester();
        let exe_is_cargo = r
            .parent()
            .unwrap()
            .exe
            .as_ref()
            .unwrap()
            .file_name()
            .unwrap()
            == "cargo";
        assert!(!r.parent_is_cargo && r.cargo.is_none());
        if exe_is_cargo {
            assert!(
                r.warnings
                    .iter()
                    .any(|w| matches!(w, Warning::NotVerifiedCargo(_))),
                "{:?}",
                r.warnings
            );
        } else {
            assert!(r.warnings.contains(&Warning::NotCargo), "{:?}", r.warnings);
        }
        assert!(r.chain.len() >= 2);
    }
}

#[cfg(test)]
mod loader_tests {
    use super::loader_variables_in;

    #[test]
    fn loader_variables_are_found_by_name_and_empty_ones_are_not() {
        let env = b"PATH=/usr/bin\0LD_PRELOAD=/tmp/evil.so\0LD_AUDIT=\0XLD_LIBRARY_PATH=x\0";
        assert_eq!(loader_variables_in(env), ["LD_PRELOAD"]);
        assert!(loader_variables_in(b"LD_LIBRARY_PATH=/opt/lib\0").contains(&"LD_LIBRARY_PATH"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn rustups_own_toolchain_lib_is_not_the_callers_choice() {
        use super::only_names;
        // rustup's own toolchain lib directory, and only it, is the toolchain's.
        let lib = std::path::Path::new("/home/u/.rustup/toolchains/stable/lib");
        let own = b"LD_LIBRARY_PATH=/home/u/.rustup/toolchains/stable/lib/\0";
        assert!(only_names(own, "LD_LIBRARY_PATH", lib));
        let more = b"LD_LIBRARY_PATH=/home/u/.rustup/toolchains/stable/lib:/tmp/evil\0";
        assert!(!only_names(more, "LD_LIBRARY_PATH", lib));
        assert!(!only_names(b"LD_LIBRARY_PATH=\0", "LD_LIBRARY_PATH", lib));
        assert!(loader_variables_in(b"").is_empty());
        // Root's own directories pass; a directory of the user's never does.
        assert!(super::roots_alone(std::path::Path::new("/usr/lib")));
        // A directory of the person's (made theirs when the test runs as root).
        let mine = tempfile::tempdir().unwrap();
        if rustix::process::geteuid().is_root() {
            std::os::unix::fs::chown(mine.path(), Some(65534), Some(65534)).unwrap();
        }
        assert!(!super::roots_alone(mine.path()));
    }
}
