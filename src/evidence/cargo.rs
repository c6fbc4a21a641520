//! Is the requester really cargo, talking to us itself?
//!
//! A worm can fork the helper, hand its pipes to a sibling, and then `exec` a genuine cargo
//! (blocked on a FIFO `Cargo.toml`) so that the helper's parent looks like cargo while the
//! sibling speaks the protocol and receives the token. So, beyond the parent's file name:
//!
//! - the helper's stdin and stdout must be two distinct anonymous pipes, and the parent must
//!   hold exactly one descriptor on each: the write-only end of stdin and the read-only end of
//!   stdout, with `O_CLOEXEC` set. cargo makes those itself after its `exec`, while an end
//!   inherited across an `exec` cannot have it;
//! - a genuine cargo sets `O_CLOEXEC` itself on one kind of inherited descriptor: the
//!   jobserver's, named in `CARGO_MAKEFLAGS`, `MAKEFLAGS` or `MFLAGS`. So the parent's ends
//!   must not be descriptors its jobserver variables name (a worm that lists the helper's pipe
//!   ends there lends them to cargo, close-on-exec and all). The `fifo:PATH` form opens the
//!   pipe read-write, which the access-mode rule above refuses;
//! - no other process that can be inspected may hold either pipe, and those of the user's
//!   processes that cannot be inspected (not dumpable) are counted and named;
//! - the parent's binary must carry cargo's own credential-provider strings (a copy of an
//!   interpreter named `cargo` does not);
//! - the parent is identified by pid and start time, and its binary by device and inode, so
//!   `Identity::recheck` at Approve notices a parent that exited, was replaced, or
//!   `exec`ed something else.
//!
//! All of this is evidence read from `/proc`, which the user's own programs shape: it raises
//! the bar and names what it saw, but it is not a guard. Publishing through the helper, so
//! that no token crosses a pipe at all, is the fix.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::NotCargo;

/// One end of a pipe, held by some process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct End {
    /// The holder.
    pid: u32,
    /// The holder's descriptor number.
    fd: u32,
    /// Opened for reading.
    reads: bool,
    /// Opened for writing.
    writes: bool,
    /// `O_CLOEXEC` is set on that descriptor.
    cloexec: bool,
}

/// The parent as first seen: what `Identity::recheck` compares against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The parent's pid.
    pid: u32,
    start_time: u64,
    exe: (u64, u64),
    pipes: (u64, u64),
    jobserver: Vec<u32>,
}

/// What the holders of the helper's two pipes say: `Ok` when only `me` and `cargo` hold
/// them, cargo with exactly one descriptor on each, of the right direction only, made by
/// itself (close-on-exec) and not one its jobserver variables name (`jobserver`). Pure: the
/// rule, for unit tests.
fn judge_pipes(
    me: u32,
    cargo: u32,
    stdin: &[End],
    stdout: &[End],
    jobserver: &[u32],
) -> Result<(), NotCargo> {
    for (name, holders, cargo_writes) in [("stdin", stdin, true), ("stdout", stdout, false)] {
        let others: Vec<u32> = holders
            .iter()
            .map(|e| e.pid)
            .filter(|p| *p != me && *p != cargo)
            .collect();
        if !others.is_empty() {
            return Err(NotCargo::Shared {
                pipe: name,
                pids: others
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let cargo_ends: Vec<&End> = holders.iter().filter(|e| e.pid == cargo).collect();
        if let Some(e) = cargo_ends.iter().find(|e| jobserver.contains(&e.fd)) {
            return Err(NotCargo::Jobserver {
                pipe: name,
                fd: e.fd,
            });
        }
        let e = match cargo_ends.as_slice() {
            [] => {
                return Err(NotCargo::NotHolding { pipe: name });
            }
            [e] => *e,
            more => {
                return Err(NotCargo::Several {
                    pipe: name,
                    count: more.len(),
                });
            }
        };
        if e.writes != cargo_writes || e.reads == cargo_writes {
            return Err(NotCargo::Direction {
                pipe: name,
                opened: match (e.reads, e.writes) {
                    (true, true) => "for reading and writing",
                    (true, false) => "for reading",
                    _ => "for writing",
                },
                wanted: if cargo_writes {
                    "write-only"
                } else {
                    "read-only"
                },
            });
        }
        if !e.cloexec {
            return Err(NotCargo::Inherited { pipe: name });
        }
    }
    Ok(())
}

/// The descriptor numbers a jobserver variable (`CARGO_MAKEFLAGS`, `MAKEFLAGS`, `MFLAGS`) in
/// `environ` (NUL-separated, as `/proc/PID/environ`) names: `--jobserver-auth=R,W` and the
/// older `--jobserver-fds=R,W`, in every variable and every occurrence. More than cargo takes,
/// never less: its `jobserver` crate takes the last occurrence in one variable wherever it
/// stands in the value (not only at the start of a word), and reads `c_int`s (`+8`, `-0`).
pub fn jobserver_fds(environ: &[u8]) -> Vec<u32> {
    let mut fds = Vec::new();
    for var in environ.split(|b| *b == 0) {
        let Ok(var) = std::str::from_utf8(var) else {
            continue;
        };
        let Some((key, value)) = var.split_once('=') else {
            continue;
        };
        if !matches!(key, "CARGO_MAKEFLAGS" | "MAKEFLAGS" | "MFLAGS") {
            continue;
        }
        for flag in ["--jobserver-auth=", "--jobserver-fds="] {
            for (at, _) in value.match_indices(flag) {
                let spec = value[at + flag.len()..].split(' ').next().unwrap_or("");
                for part in spec.split(',') {
                    if let Ok(fd) = part.trim().parse::<i64>()
                        && let Ok(fd) = u32::try_from(fd)
                    {
                        fds.push(fd);
                    }
                }
            }
        }
    }
    fds
}

fn jobserver_of(pid: u32) -> Result<Vec<u32>, NotCargo> {
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|e| jobserver_fds(&e))
        .map_err(|e| NotCargo::Environment(e.to_string()))
}

fn pipe_inode(fd: i32) -> Result<u64, NotCargo> {
    let unreadable = |e: std::io::Error| NotCargo::Descriptor {
        fd,
        why: e.to_string(),
    };
    let meta = std::fs::metadata(format!("/proc/self/fd/{fd}")).map_err(unreadable)?;
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).map_err(unreadable)?;
    if !link.to_string_lossy().starts_with("pipe:[") {
        return Err(NotCargo::NotAPipe {
            stream: if fd == 0 { "stdin" } else { "stdout" },
            is: link.display().to_string(),
        });
    }
    Ok(meta.ino())
}

/// Every inspectable process's ends of the pipes `inodes`, and the pids of this user's
/// processes whose descriptors cannot be listed.
fn holders(inodes: [u64; 2]) -> ([Vec<End>; 2], Vec<u32>) {
    let me = rustix::process::getuid().as_raw();
    let mut found: [Vec<End>; 2] = [Vec::new(), Vec::new()];
    let mut hidden = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return (found, hidden);
    };
    let wanted: Vec<String> = inodes.iter().map(|i| format!("pipe:[{i}]")).collect();
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        // Only this user's processes can have been handed the pipes by a program of theirs.
        if std::fs::metadata(p.path()).map(|m| m.uid()).ok() != Some(me) {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            if Path::new(&format!("/proc/{pid}")).exists() {
                hidden.push(pid);
            }
            continue;
        };
        for fd in fds.flatten().take(65_536) {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let Some(which) = wanted.iter().position(|w| target.as_os_str() == w.as_str()) else {
                continue;
            };
            let flags = std::fs::read_to_string(p.path().join("fdinfo").join(fd.file_name()))
                .ok()
                .and_then(|info| {
                    info.lines()
                        .find_map(|l| l.strip_prefix("flags:"))
                        .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
                })
                .unwrap_or(0);
            let Some(fd_number) = fd.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            // O_ACCMODE: 0 read-only, 1 write-only, 2 read-write.
            found[which].push(End {
                pid,
                fd: fd_number,
                reads: flags & 0o3 != 1,
                writes: flags & 0o3 != 0,
                cloexec: flags & 0o2_000_000 != 0,
            });
        }
    }
    (found, hidden)
}

fn start_time(pid: u32) -> Option<u64> {
    stat_start_time(&std::fs::read(format!("/proc/{pid}/stat")).ok()?)
}

/// The start time in a `/proc/PID/stat` line. Public for the fuzz target.
#[doc(hidden)]
pub fn stat_start_time(stat: &[u8]) -> Option<u64> {
    // Field 22: the 20th after the command name.
    super::stat_fields(stat)?.nth(19)?.parse().ok()
}

fn exe_id(pid: u32) -> Option<(u64, u64)> {
    std::fs::metadata(format!("/proc/{pid}/exe"))
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

/// Whether the binary at `/proc/PID/exe` carries two of cargo's built-in provider names,
/// which a renamed interpreter or another program does not. Reads at most 256 MiB.
fn carries_cargo_strings(pid: u32) -> bool {
    // Joined at run time, so this helper's own binary does not contain them.
    let needles = [
        ["cargo:token-", "from-stdout"].concat(),
        ["cargo:pa", "seto"].concat(),
    ];
    needles.iter().all(|n| file_contains(pid, n.as_bytes()))
}

fn file_contains(pid: u32, needle: &[u8]) -> bool {
    use std::io::Read;
    let Ok(file) = std::fs::File::open(format!("/proc/{pid}/exe")) else {
        return false;
    };
    let mut reader = std::io::BufReader::new(file.take(256 << 20));
    let mut buf = vec![0u8; 1 << 20];
    let mut carry = 0;
    loop {
        let n = match reader.read(&mut buf[carry..]) {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        let end = carry + n;
        if memchr::memmem::find(&buf[..end], needle).is_some() {
            return true;
        }
        // Keep the tail, so a string split across two reads is still found.
        let keep = needle.len().min(end);
        buf.copy_within(end - keep..end, 0);
        carry = keep;
    }
}

/// Checks the parent `cargo` as described in the module docs. `Ok` carries its identity and
/// a note for the window saying what was checked; `Err` says what failed.
pub(crate) fn verify(cargo: u32) -> Result<(Identity, String), NotCargo> {
    let me = std::process::id();
    let stdin = pipe_inode(0)?;
    let stdout = pipe_inode(1)?;
    if stdin == stdout {
        return Err(NotCargo::OnePipe);
    }
    if !carries_cargo_strings(cargo) {
        return Err(NotCargo::NoProviderStrings);
    }
    let jobserver = jobserver_of(cargo)?;
    let ([in_holders, out_holders], hidden) = holders([stdin, stdout]);
    judge_pipes(me, cargo, &in_holders, &out_holders, &jobserver)?;
    let identity = Identity {
        pid: cargo,
        start_time: start_time(cargo).ok_or(NotCargo::NoStartTime)?,
        exe: exe_id(cargo).ok_or(NotCargo::NoBinary)?,
        pipes: (stdin, stdout),
        jobserver,
    };
    let mut note = "checked: the binary carries cargo's provider strings, and cargo alone \
                    holds both pipes to this helper"
        .to_string();
    if !hidden.is_empty() {
        note.push_str(&format!(
            "; {} of your processes could not be inspected (not dumpable: pid {})",
            hidden.len(),
            hidden
                .iter()
                .take(8)
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok((identity, note))
}

impl Identity {
    /// The same checks again, and the parent must be the same process running the same
    /// binary as when the request arrived.
    pub(crate) fn recheck(&self) -> Result<(), NotCargo> {
        if start_time(self.pid) != Some(self.start_time) {
            return Err(NotCargo::PidReused);
        }
        if exe_id(self.pid) != Some(self.exe) {
            return Err(NotCargo::BinaryChanged);
        }
        let (pipes, _) = holders([self.pipes.0, self.pipes.1]);
        let [stdin, stdout] = &pipes;
        judge_pipes(std::process::id(), self.pid, stdin, stdout, &self.jobserver)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: u32 = 10;
    const CARGO: u32 = 5;

    /// An end: cargo's fds are 7 (stdin's write end) and 8 (stdout's read end).
    fn end(pid: u32, writes: bool, cloexec: bool) -> End {
        End {
            pid,
            fd: if writes { 7 } else { 8 },
            reads: !writes,
            writes,
            cloexec,
        }
    }

    fn judge(stdin: &[End], stdout: &[End]) -> Result<(), NotCargo> {
        judge_pipes(ME, CARGO, stdin, stdout, &[])
    }

    fn mine() -> ([End; 2], [End; 2]) {
        (
            [end(ME, false, false), end(CARGO, true, true)],
            [end(ME, true, false), end(CARGO, false, true)],
        )
    }

    #[test]
    fn cargo_alone_holding_its_ends_passes() {
        let (stdin, stdout) = mine();
        assert_eq!(judge(&stdin, &stdout), Ok(()));
    }

    #[test]
    fn a_sibling_holding_a_pipe_fails() {
        // Regression, "Nothing the caller supplies" (3): a sibling held the helper's pipes
        // while a genuine cargo stood where the request came from.
        let (_, stdout) = mine();
        let stdin = [
            end(ME, false, false),
            end(CARGO, true, true),
            end(77, true, false),
        ];
        let e = judge(&stdin, &stdout).unwrap_err().to_string();
        assert!(e.contains("pid 77"), "{e}");
        let (stdin, _) = mine();
        let stdout = [end(ME, true, false), end(77, false, true)];
        assert!(judge(&stdin, &stdout).is_err());
    }

    #[test]
    fn a_parent_that_does_not_hold_its_ends_or_inherited_them_fails() {
        let (_, stdout) = mine();
        // No end at all: the genuine cargo that was exec'd knows nothing of us.
        let e = judge(&[end(ME, false, false)], &stdout)
            .unwrap_err()
            .to_string();
        assert!(e.contains("does not hold"), "{e}");
        // The wrong end (it reads our stdin).
        assert!(judge(&[end(ME, false, false), end(CARGO, false, true)], &stdout).is_err());
        // Inherited across exec: no close-on-exec.
        let e = judge(&[end(ME, false, false), end(CARGO, true, false)], &stdout)
            .unwrap_err()
            .to_string();
        assert!(e.contains("inherited"), "{e}");
    }

    #[test]
    fn a_parent_with_extra_or_read_write_ends_fails() {
        let (stdin, _) = mine();
        // Two descriptors on one pipe: cargo's own plus one it was lent.
        let mut second = end(CARGO, false, true);
        second.fd = 100;
        let stdout = [end(ME, true, false), end(CARGO, false, true), second];
        let e = judge(&stdin, &stdout).unwrap_err().to_string();
        assert!(e.contains("2 descriptors"), "{e}");
        // A read-write end: what opening `/proc/PID/fd/N` as a jobserver `fifo:` gives.
        let mut rw = end(CARGO, true, true);
        rw.reads = true;
        let e = judge(&[end(ME, false, false), rw], &mine().1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("reading and writing"), "{e}");
    }

    #[test]
    fn an_end_the_jobserver_names_fails() {
        // Review of "Nothing the caller supplies": a worm listed the helper's pipe ends in
        // CARGO_MAKEFLAGS, and cargo's jobserver client marked them close-on-exec itself.
        let (stdin, stdout) = mine();
        let e = judge_pipes(ME, CARGO, &stdin, &stdout, &[8, 7])
            .unwrap_err()
            .to_string();
        assert!(e.contains("jobserver"), "{e}");
        // Other descriptors named there (make's own jobserver) are no reason to refuse.
        assert_eq!(judge_pipes(ME, CARGO, &stdin, &stdout, &[3, 4]), Ok(()));
    }

    #[test]
    fn jobserver_fds_are_read_from_every_variable_and_form() {
        let env =
            b"PATH=/bin\0CARGO_MAKEFLAGS=-j --jobserver-fds=101,100 --jobserver-auth=101,100\0\
                    MAKEFLAGS= -j4 --jobserver-auth=3,4\0MFLAGS=--jobserver-auth=fifo:/tmp/x\0\
                    OTHER=--jobserver-auth=9,9\0";
        assert_eq!(jobserver_fds(env), vec![101, 100, 101, 100, 3, 4]);
        assert!(jobserver_fds(b"").is_empty());
    }

    #[test]
    fn descriptors_the_jobserver_crate_would_take_are_all_seen() {
        // Issue 15, found by fuzz/fuzz_targets/proc_parsers.rs: the `jobserver` crate (what
        // cargo links) takes the last `--jobserver-auth=` wherever it stands in the value, not
        // only at the start of a word, and reads the numbers as `c_int`s. A worm that wrote
        // "-j4%--jobserver-auth=7,8" lent cargo the helper's pipe ends unseen.
        for (environ, fds) in [
            (&b"MAKEFLAGS= -j4%--jobserver-auth=7,8\0"[..], &[7, 8][..]),
            (b"CARGO_MAKEFLAGS=x--jobserver-fds=7,8\0", &[7, 8]),
            (
                b"MFLAGS=--jobserver-auth=fifo:/x--jobserver-auth=-0,+8\0",
                &[0, 8],
            ),
        ] {
            let seen = jobserver_fds(environ);
            assert!(
                fds.iter().all(|fd| seen.contains(fd)),
                "{:?}: {seen:?}",
                String::from_utf8_lossy(environ)
            );
        }
        let (stdin, stdout) = mine();
        let lent = jobserver_fds(b"MAKEFLAGS= -j4%--jobserver-auth=7,8\0");
        assert!(judge_pipes(ME, CARGO, &stdin, &stdout, &lent).is_err());
    }

    #[test]
    fn the_real_cargo_binary_carries_the_strings_and_this_test_does_not() {
        // `cargo test` runs this binary under cargo: its parent is a real cargo.
        let me = std::process::id();
        assert!(!carries_cargo_strings(me));
        let parent = rustix::process::getppid().map(|p| p.as_raw_nonzero().get() as u32);
        if let Some(ppid) = parent
            && std::fs::read_link(format!("/proc/{ppid}/exe"))
                .is_ok_and(|e| e.file_name().is_some_and(|n| n == "cargo"))
        {
            assert!(carries_cargo_strings(ppid));
        }
    }
}
