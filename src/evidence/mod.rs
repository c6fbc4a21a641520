//! Evidence for the window: who asked.
//!
//! The parent is pinned with `pidfd_open` while `/proc` is read, and `getppid` is checked
//! again afterwards, so a parent that exits and has its pid reused cannot lend us another
//! process's identity.

//! What each platform can read lives in a file of its own: `linux.rs` (`/proc`, pidfds and
//! [`cargo`]'s check), `macos.rs` (the code-signing API), `other.rs` (nothing yet). This file
//! holds what they share: the types the window shows, and the pure parsers.

use std::path::PathBuf;

#[cfg(target_os = "linux")]
pub mod cargo;
#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as host;
#[cfg(target_os = "macos")]
mod macos;
#[cfg(not(target_os = "linux"))]
mod name_only;
#[cfg(target_os = "macos")]
use macos as host;
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
mod other;
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
use other as host;

pub use host::requester;
pub(crate) use host::{CargoIdentity, parent_exe};
#[cfg(target_os = "linux")]
pub(crate) use linux::{parent_of, user_writable};

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

/// Checks again, at Approve, that the requester is the cargo first seen (Linux: same
/// process, same binary, alone on the pipes). Not cargo at all is an error too.
pub fn recheck(r: &Requester) -> Result<(), NotCargo> {
    if !r.parent_is_cargo {
        return Err(NotCargo::NotNamedCargo);
    }
    r.cargo.as_ref().map_or(Ok(()), |c| c.recheck())
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
        use super::linux::only_names;
        // rustup's own toolchain lib directory, and only it, is the toolchain's.
        let lib = std::path::Path::new("/home/u/.rustup/toolchains/stable/lib");
        let own = b"LD_LIBRARY_PATH=/home/u/.rustup/toolchains/stable/lib/\0";
        assert!(only_names(own, "LD_LIBRARY_PATH", lib));
        let more = b"LD_LIBRARY_PATH=/home/u/.rustup/toolchains/stable/lib:/tmp/evil\0";
        assert!(!only_names(more, "LD_LIBRARY_PATH", lib));
        assert!(!only_names(b"LD_LIBRARY_PATH=\0", "LD_LIBRARY_PATH", lib));
        assert!(loader_variables_in(b"").is_empty());
        // Root's own directories pass; a directory of the user's never does.
        assert!(super::linux::roots_alone(std::path::Path::new("/usr/lib")));
        // A directory of the person's (made theirs when the test runs as root).
        let mine = tempfile::tempdir().unwrap();
        if rustix::process::geteuid().is_root() {
            std::os::unix::fs::chown(mine.path(), Some(65534), Some(65534)).unwrap();
        }
        assert!(!super::linux::roots_alone(mine.path()));
    }
}
