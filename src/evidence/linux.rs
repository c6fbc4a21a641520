//! Who asked, on Linux: the chain read from `/proc` with the parent pinned by a pidfd, the
//! check that it is cargo ([`super::cargo`]), the loader variables in its environment, and
//! which binaries any program running as the user could replace.

use std::path::PathBuf;

use super::{
    ProcessInfo, Requester, Warning, cargo, loader_variables_in, split_cmdline, stat_ppid_session,
};

/// What identifies cargo, for checking again at Approve.
pub(crate) use super::cargo::Identity as CargoIdentity;

/// The chain ends at the session leader, or after this many processes.
const CHAIN_MAX: usize = 12;

/// Inspects the parent process chain of this process.
///
/// The parent is pinned first; after the chain is read, a parent that is no longer this
/// process's parent, or has exited, is a warning. Then whether it is a verified cargo, and
/// which of the programs involved any program running as the user could replace.
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
pub(super) fn roots_alone(dir: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    dir.ancestors()
        .all(|d| std::fs::metadata(d).is_ok_and(|m| m.uid() == 0 && m.mode() & 0o022 == 0))
}

/// Whether `name` in `environ` lists `dir` and nothing else (empty entries aside).
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

/// `pid` and its ancestors, up to the session leader or [`CHAIN_MAX`] processes.
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
fn note_replaceable(r: &mut Requester) {
    if r.parent_is_cargo
        && let Some((pid, Ok(exe))) = r.parent().map(|p| (p.pid, p.exe.clone()))
        && let Some(place) = running_replaceable(&format!("/proc/{pid}/exe"), &exe)
    {
        r.notices.push(format!(
            "this cargo ({}) can be replaced by any program running as you: {place} is yours or writable",
            exe.display()
        ));
    }
    if let Ok(me) = std::fs::read_link("/proc/self/exe")
        && let Some(place) = running_replaceable("/proc/self/exe", &me)
    {
        r.notices.push(format!(
            "this helper ({}) can be replaced by any program running as you: {place} is yours or writable. \
             A root-owned install fixes that (README, \"Sealed install\")",
            me.display()
        ));
    }
}

/// [`user_writable`] for a running program: `link` is its `/proc/PID/exe`, which reaches the
/// file it runs even when that was unlinked or something else now stands at `exe`. Red team
/// 3: a user's own cargo copied to `/tmp`, run, then deleted showed no notice.
fn running_replaceable(link: &str, exe: &std::path::Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let running = std::fs::metadata(link).ok();
    if running
        .as_ref()
        .is_some_and(|m| m.uid() == rustix::process::getuid().as_raw())
    {
        return Some("the file".into());
    }
    let at_path = std::fs::metadata(exe).ok();
    if let (Some(a), Some(b)) = (&running, &at_path)
        && (a.dev(), a.ino()) != (b.dev(), b.ino())
    {
        return Some("the file it runs (no longer the one at that path)".into());
    }
    user_writable(exe)
}

/// Whether the real user can replace `exe`: write it or a directory above it, or own one of
/// them (an owner may chmod it writable at will, so the mode bits of the moment prove
/// nothing: a red team chmodded a user's `bin/cargo` read-only to hide this line). Names the
/// place: "the file", "its directory", or the directory further up.
pub(crate) fn user_writable(exe: &std::path::Path) -> Option<String> {
    use rustix::fs::{Access, AtFlags, CWD, accessat};
    // access(2) answers for the real uid: the person, even in a setgid helper.
    let writable =
        |p: &std::path::Path| accessat(CWD, p, Access::WRITE_OK, AtFlags::empty()).is_ok();
    replaceable_by(exe, rustix::process::getuid().as_raw(), &writable)
}

/// [`user_writable`]'s rule for the user `me`, who can write what `writable` says.
fn replaceable_by(
    exe: &std::path::Path,
    me: u32,
    writable: &dyn Fn(&std::path::Path) -> bool,
) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let owned = |p: &std::path::Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.uid() == me);
    if owned(exe) || writable(exe) {
        return Some("the file".into());
    }
    // `/proc/PID/exe` of a program whose file was unlinked after it started.
    if exe.to_string_lossy().ends_with(" (deleted)") {
        return Some("the file, deleted since it started,".into());
    }
    // A directory lets its entry be replaced when the user owns it, or can write it and it
    // is not sticky (`/tmp`), or is sticky and the entry is the user's.
    let replaces = |dir: &std::path::Path, entry: &std::path::Path| {
        let sticky = std::fs::metadata(dir).is_ok_and(|m| m.mode() & 0o1000 != 0);
        owned(dir) || (writable(dir) && (!sticky || owned(entry)))
    };
    let mut entry = exe;
    for (i, dir) in exe.ancestors().skip(1).enumerate() {
        if replaces(dir, entry) {
            return Some(if i == 0 {
                "its directory".into()
            } else {
                format!("{} above it", dir.display())
            });
        }
        entry = dir;
    }
    None
}

/// The direct parent's executable path, cheaply, for the audit log.
pub(crate) fn parent_exe() -> String {
    rustix::process::getppid()
        .and_then(|p| std::fs::read_link(format!("/proc/{}/exe", p.as_raw_nonzero())).ok())
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

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

struct Stat {
    ppid: u32,
    session: u32,
}

fn stat_of(pid: u32) -> Option<Stat> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    let (ppid, session) = stat_ppid_session(&stat)?;
    Some(Stat { ppid, session })
}

/// The parent pid of `pid`, from `/proc/PID/stat`.
pub(crate) fn parent_of(pid: u32) -> Option<u32> {
    stat_of(pid).map(|s| s.ppid)
}

#[cfg(test)]
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
    fn a_users_cargo_run_from_tmp_then_unlinked_is_replaceable() {
        // Red team 3: the worm copies a (patched) cargo to /tmp/cargo, execs it and unlinks
        // it: /proc/PID/exe then reads "/tmp/cargo (deleted)".
        let exe = std::path::Path::new("/tmp/cargo (deleted)");
        let writable = |p: &std::path::Path| p == std::path::Path::new("/tmp");
        assert!(replaceable_by(exe, 4242, &writable).is_some());
        // Through the running program's link: its own file, or the path's " (deleted)".
        assert!(running_replaceable("/proc/self/exe", exe).is_some());
    }

    #[test]
    fn a_file_the_user_owns_is_writable() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("cargo");
        std::fs::write(&exe, b"").unwrap();
        assert_eq!(user_writable(&exe).as_deref(), Some("the file"));
        assert_eq!(
            user_writable(&dir.path().join("missing")).as_deref(),
            Some("its directory")
        );
    }

    #[test]
    fn a_file_the_user_owns_is_replaceable_whatever_its_mode() {
        use std::os::unix::fs::MetadataExt;
        // Red team: a user's own cargo chmodded read-only, in a directory chmodded read-only,
        // hid the amber line; the owner can make both writable again at will. The rule is
        // asked for the tree's owner, for whom nothing is writable now.
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let exe = bin.join("cargo");
        std::fs::write(&exe, b"").unwrap();
        let owner = std::fs::metadata(&exe).unwrap().uid();
        let nothing = |_: &std::path::Path| false;
        assert_eq!(
            replaceable_by(&exe, owner, &nothing).as_deref(),
            Some("the file")
        );
        // Someone else's file in the owner's directory: the directory.
        assert_eq!(
            replaceable_by(&exe, owner + 1, &|p| p == bin).as_deref(),
            Some("its directory")
        );
        // Further up: named. Under a sticky, writable directory, only the user's own entry.
        let up = replaceable_by(&exe, owner + 1, &|p| p == dir.path()).unwrap();
        assert!(up.ends_with("above it"), "{up}");
        let sticky = |p: &std::path::Path| p == std::path::Path::new("/tmp");
        assert_eq!(
            replaceable_by(std::path::Path::new("/tmp/x/y"), 4242, &sticky),
            None
        );
        // Root's files in root's directories are no other user's.
        assert_eq!(
            replaceable_by(std::path::Path::new("/usr/bin/env"), 4242, &nothing),
            None
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
