//! Evidence for the window: who asked.
//!
//! The parent is pinned with `pidfd_open` while `/proc` is read, and `getppid` is checked
//! again afterwards, so a parent that exits and has its pid reused cannot lend us another
//! process's identity.

use std::path::PathBuf;

/// One process in the requester chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Process id.
    pub pid: u32,
    /// Executable path (`/proc/PID/exe`), or why it could not be read.
    pub exe: Result<PathBuf, String>,
    /// Command line, NUL-separated args joined with spaces.
    pub cmdline: String,
    /// Working directory.
    pub cwd: Result<PathBuf, String>,
}

/// Who asked for the token.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Requester {
    /// Direct parent first, then its ancestors (up to a few).
    pub chain: Vec<ProcessInfo>,
    /// The direct parent's executable is named `cargo`.
    pub parent_is_cargo: bool,
    /// Anything that makes the identity doubtful.
    pub warnings: Vec<String>,
}

impl Requester {
    /// The direct parent.
    pub fn parent(&self) -> Option<&ProcessInfo> {
        self.chain.first()
    }
}

/// How many ancestors to show beyond the direct parent.
const CHAIN_DEPTH: usize = 4;

/// Inspects the parent process chain of this process.
#[cfg(target_os = "linux")]
pub fn requester() -> Requester {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    use rustix::process::{PidfdFlags, getppid, pidfd_open};

    let mut r = Requester::default();
    let Some(ppid) = getppid() else {
        r.warnings.push("no parent process (orphaned)".into());
        return r;
    };
    let pidfd = pidfd_open(ppid, PidfdFlags::empty());
    if pidfd.is_err() {
        r.warnings
            .push("could not pin the parent process (pidfd_open failed)".into());
    }
    let mut pid = ppid.as_raw_nonzero().get() as u32;
    for _ in 0..=CHAIN_DEPTH {
        let info = read_proc(pid);
        let next = parent_of(pid);
        r.chain.push(info);
        match next {
            Some(p) if p > 1 => pid = p,
            _ => break,
        }
    }
    // The pin only holds if the parent is still the same process now.
    let still_parent = getppid() == Some(ppid);
    // A pidfd becomes readable when its process exits; poll without waiting.
    let alive = pidfd.as_ref().is_ok_and(|fd| {
        let mut fds = [PollFd::new(fd, PollFlags::IN)];
        poll(
            &mut fds,
            Some(&Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            }),
        )
        .is_ok_and(|n| n == 0)
    });
    if !still_parent || !alive {
        r.warnings
            .push("the requesting process exited while it was being inspected".into());
    }
    r.parent_is_cargo = r
        .parent()
        .and_then(|p| p.exe.as_ref().ok())
        .and_then(|e| e.file_name())
        .is_some_and(|n| n == "cargo" || n == "cargo.exe");
    if !r.parent_is_cargo {
        r.warnings
            .push("the program that asked is not cargo".into());
    }
    r
}

/// The direct parent's executable path, cheaply, for the audit log.
pub fn parent_exe() -> String {
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

/// Other platforms: no chain yet.
#[cfg(not(target_os = "linux"))]
pub fn requester() -> Requester {
    Requester {
        warnings: vec!["the requesting process cannot be inspected on this platform yet".into()],
        ..Default::default()
    }
}

#[cfg(target_os = "linux")]
fn read_proc(pid: u32) -> ProcessInfo {
    let base = PathBuf::from(format!("/proc/{pid}"));
    let link = |name: &str| std::fs::read_link(base.join(name)).map_err(|e| e.to_string());
    let cmdline = std::fs::read(base.join("cmdline"))
        .map(|b| {
            let args: Vec<String> = b
                .split(|c| *c == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            args.join(" ")
        })
        .unwrap_or_default();
    ProcessInfo {
        pid,
        exe: link("exe"),
        cmdline,
        cwd: link("cwd"),
    }
}

#[cfg(target_os = "linux")]
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces or ')'.
    let after = &stat[stat.rfind(')')? + 2..];
    after.split(' ').nth(1)?.parse().ok()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn parent_of_self_is_getppid() {
        let me = std::process::id();
        let pp = rustix::process::getppid().unwrap().as_raw_nonzero().get() as u32;
        assert_eq!(parent_of(me), Some(pp));
    }

    #[test]
    fn cargo_flag_agrees_with_the_parent_exe() {
        // `cargo test` runs the test binary directly under cargo, so the parent *is* cargo
        // there; under nextest or a shell it is not. Either way the flag must agree with exe.
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
        assert_eq!(r.parent_is_cargo, exe_is_cargo);
        assert_eq!(
            r.warnings.iter().any(|w| w.contains("not cargo")),
            !exe_is_cargo
        );
        assert!(r.chain.len() >= 2);
    }
}
