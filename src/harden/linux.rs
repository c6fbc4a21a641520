//! Hardening on Linux: the caller's limits, signals, descriptors, umask and timing reset, and
//! the network denied with seccomp.

use super::HardenError;

/// Denies this process, all its threads, new IPv4/IPv6/packet sockets and io_uring, for
/// good: called once the window exists, so that nothing running inside the
/// helper afterwards (a bug in a parser, a compromised dependency) can send a token
/// anywhere. Unix sockets stay allowed: the X server, the compositor and D-Bus need them.
/// Sets `no_new_privs` as seccomp requires. Idempotent: a second call returns the first's
/// result, hence the `'static` error.
pub fn deny_network() -> Result<(), &'static HardenError> {
    use seccompiler::{
        BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
        SeccompRule, TargetArch,
    };
    static DONE: std::sync::OnceLock<Result<(), HardenError>> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(HardenError::Filter)?;
        let family = |f: i32| {
            SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, f as u64)
                .and_then(|c| SeccompRule::new(vec![c]))
        };
        let socket_rules = [libc::AF_INET, libc::AF_INET6, libc::AF_PACKET]
            .into_iter()
            .map(family)
            .collect::<Result<Vec<_>, _>>()
            .map_err(HardenError::Filter)?;
        let rules = [
            (libc::SYS_socket, socket_rules),
            // io_uring can create sockets without socket(2); the helper never uses it.
            (libc::SYS_io_uring_setup, Vec::new()),
        ]
        .into_iter()
        .collect();
        let filter = SeccompFilter::new(
            rules,
            SeccompAction::Allow,
            SeccompAction::Errno(libc::EACCES as u32),
            arch,
        )
        .map_err(HardenError::Filter)?;
        let program = BpfProgram::try_from(filter).map_err(HardenError::Filter)?;
        seccompiler::apply_filter_all_threads(&program).map_err(HardenError::Apply)
    })
    .as_ref()
    .map(|_| ())
}

/// What the program that started the helper chose for it, and what the helper needs: a
/// same-user program picks the helper's resource limits, its ignored and blocked signals, its
/// open descriptors and its umask, and all of them survive even a setgid start. Red team,
/// "Fail closed whatever the caller sets": `RLIMIT_FSIZE` lowered with `SIGXFSZ` ignored made
/// every file write fail, so the cooldown, the request counter and the audit record of a
/// release silently went missing.
///
/// First thing in `main`, in every process of the helper, before any thread exists:
///
/// - every limit below is raised to its hard limit (a soft limit is the caller's to set, the
///   hard one only root raises); where the hard limit is below what the helper needs, the
///   helper refuses, naming it: nothing can raise it back;
/// - every signal the caller left ignored goes back to its default action (but `SIGPIPE`,
///   which the Rust runtime ignores itself, so that a closed pipe is an error, not a death),
///   and none stays blocked;
/// - descriptors 0 to 2, if closed, are opened on `/dev/null` (else the first file the helper
///   opens would become its stdout); every other inherited descriptor is closed;
/// - the umask becomes 077.
///
/// The alternate signal stack is not inherited (`execve` resets it).
pub fn reset_inherited() -> Result<(), HardenError> {
    reset_descriptors()?;
    reset_signals();
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    reset_timing();
    forget_runtime_variables();
    for limit in LIMITS {
        limit.reset()?;
    }
    Ok(())
}

/// What a caller may set that only bends timing (red team: a wrapper set a 500 ms timer slack
/// and turned off transparent huge pages, widening every race): back to the defaults. A
/// raised nice value cannot be lowered again by the user, and only slows the helper.
#[allow(unsafe_code)]
fn reset_timing() {
    // SAFETY: prctl with integer arguments only; 0 restores the default timer slack, and
    // clears the caller's "no transparent huge pages" flag. Failure changes nothing.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 0_u64, 0_u64, 0_u64, 0_u64);
        libc::prctl(libc::PR_SET_THP_DISABLE, 0_u64, 0_u64, 0_u64, 0_u64);
    }
}

/// The Rust runtime's own variables, which no loader sanitises even in a setgid start:
/// `RUST_MIN_STACK` sets every thread's stack (a tiny one crashes them), `RUST_BACKTRACE`
/// what a panic prints. Removed before any thread exists.
#[allow(unsafe_code)]
fn forget_runtime_variables() {
    for var in ["RUST_MIN_STACK", "RUST_BACKTRACE", "RUST_LIB_BACKTRACE"] {
        // SAFETY: no other thread exists yet (this runs first in `main`), so nothing reads
        // the environment while it changes.
        unsafe { std::env::remove_var(var) };
    }
}

/// A resource limit the helper checks, and the least it needs.
struct Limit {
    resource: rustix::process::Resource,
    name: &'static str,
    /// What it limits, for people.
    what: &'static str,
    /// The shell's `ulimit` option that sets it.
    ulimit: &'static str,
    /// The least the helper needs (bytes, descriptors, processes or seconds); `None`: any.
    floor: Option<u64>,
    /// The soft limit is raised to this at most (the stack: a larger one changes how the
    /// children's memory is laid out, for nothing).
    cap: Option<u64>,
}

const MIB: u64 = 1 << 20;

/// The limits a caller can set and the helper needs: files it writes (the audit log rotates
/// at 1 MiB), descriptors (pipes, the display, `/proc` through pinned pidfds), processes
/// (the window, the authentication and upload processes, `unix_chkpwd`, `cargo package`),
/// memory (a `.crate` of up to 1 GiB is read whole; fonts; thread stacks), CPU seconds.
const LIMITS: &[Limit] = {
    use rustix::process::Resource;
    &[
        Limit {
            resource: Resource::Fsize,
            name: "RLIMIT_FSIZE",
            what: "the largest file it may write",
            ulimit: "-f",
            floor: Some(16 * MIB),
            cap: None,
        },
        Limit {
            resource: Resource::Nofile,
            name: "RLIMIT_NOFILE",
            what: "open files",
            ulimit: "-n",
            floor: Some(256),
            cap: None,
        },
        Limit {
            resource: Resource::Nproc,
            name: "RLIMIT_NPROC",
            what: "processes",
            ulimit: "-u",
            floor: Some(64),
            cap: None,
        },
        Limit {
            resource: Resource::As,
            name: "RLIMIT_AS",
            what: "address space",
            ulimit: "-v",
            floor: Some(4096 * MIB),
            cap: None,
        },
        Limit {
            resource: Resource::Data,
            name: "RLIMIT_DATA",
            what: "data segment",
            ulimit: "-d",
            floor: Some(2048 * MIB),
            cap: None,
        },
        Limit {
            resource: Resource::Stack,
            name: "RLIMIT_STACK",
            what: "stack",
            ulimit: "-s",
            floor: Some(8 * MIB),
            cap: Some(8 * MIB),
        },
        Limit {
            resource: Resource::Cpu,
            name: "RLIMIT_CPU",
            what: "CPU seconds",
            ulimit: "-t",
            floor: Some(300),
            cap: None,
        },
        Limit {
            resource: Resource::Memlock,
            name: "RLIMIT_MEMLOCK",
            what: "locked memory",
            ulimit: "-l",
            floor: None,
            cap: None,
        },
    ]
};

impl Limit {
    /// Raises the soft limit to the hard one (or to `cap`), or refuses when the hard one is
    /// below the floor.
    fn reset(&self) -> Result<(), HardenError> {
        use rustix::process::{Rlimit, getrlimit, setrlimit};
        let now = getrlimit(self.resource);
        if let (Some(floor), Some(hard)) = (self.floor, now.maximum)
            && hard < floor
        {
            return Err(self.refusal(hard, floor));
        }
        let want = match (self.cap, now.maximum) {
            (Some(cap), Some(hard)) => Some(cap.min(hard)),
            (Some(cap), None) => Some(cap),
            (None, hard) => hard,
        };
        // Never lower a soft limit that is already above what is wanted.
        let soft = match (now.current, want) {
            (None, _) => None,
            (Some(cur), Some(w)) => Some(cur.max(w)),
            (Some(_), None) => None,
        };
        if soft == now.current {
            return Ok(());
        }
        setrlimit(
            self.resource,
            Rlimit {
                current: soft,
                maximum: now.maximum,
            },
        )
        .map_err(|source| HardenError::CannotRaise {
            name: self.name,
            what: self.what,
            source,
        })
    }

    fn refusal(&self, hard: u64, floor: u64) -> HardenError {
        let bytes = matches!(
            self.resource,
            rustix::process::Resource::Fsize
                | rustix::process::Resource::As
                | rustix::process::Resource::Data
                | rustix::process::Resource::Stack
        );
        HardenError::LimitTooLow {
            name: self.name,
            what: self.what,
            ulimit: self.ulimit,
            hard,
            floor,
            unit: if bytes { " bytes" } else { "" },
        }
    }
}

/// Descriptors 0 to 2 opened on `/dev/null` where closed; every other one closed.
#[allow(unsafe_code)]
fn reset_descriptors() -> Result<(), HardenError> {
    use rustix::fd::AsRawFd;
    for fd in 0..=2 {
        // SAFETY: `fd` is a plain number; asking for its flags touches no memory.
        let open = rustix::io::fcntl_getfd(unsafe { rustix::fd::BorrowedFd::borrow_raw(fd) });
        if open.is_err() {
            // The lowest free descriptor: this one, as the lower ones are open.
            let null = rustix::fs::open(
                "/dev/null",
                rustix::fs::OFlags::RDWR,
                rustix::fs::Mode::empty(),
            )
            .map_err(|source| HardenError::DevNull { fd, source })?;
            if null.as_raw_fd() != fd {
                return Err(HardenError::Reopen { fd });
            }
            // Kept open for the life of the process, as a standard descriptor.
            std::mem::forget(null);
        }
    }
    close_from(3)
}

/// Closes every descriptor from `first` on: what the caller left open is not the helper's,
/// and its own children would inherit it.
#[allow(unsafe_code)]
fn close_from(first: u32) -> Result<(), HardenError> {
    // SAFETY: close_range closes descriptors; nothing in this process refers to any of them
    // yet (this runs first in `main`, before any thread or file of the helper's own).
    let rc = unsafe { libc::close_range(first, u32::MAX, 0) };
    if rc == 0 {
        return Ok(());
    }
    // Kernels before 5.9: close what /proc lists.
    let fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .map_err(HardenError::ListDescriptors)?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd >= first as i32)
        .collect();
    for fd in fds {
        // SAFETY: as above; the directory listing's own descriptor is closed already, and
        // closing a descriptor that is no longer open only fails with EBADF.
        unsafe { libc::close(fd) };
    }
    Ok(())
}

/// Every ignored signal back to its default action (`SIGPIPE` stays ignored: the Rust
/// runtime's own choice), and none blocked.
#[allow(unsafe_code)]
fn reset_signals() {
    for sig in 1..=64 {
        if matches!(sig, libc::SIGKILL | libc::SIGSTOP | libc::SIGPIPE) {
            continue;
        }
        // SAFETY: a zeroed sigaction is a valid out-parameter; passing null as the new action
        // only reads the current one. Signals the C library reserves fail with EINVAL.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        if unsafe { libc::sigaction(sig, std::ptr::null(), &mut old) } != 0 {
            continue;
        }
        if old.sa_sigaction == libc::SIG_IGN {
            // SAFETY: SIG_DFL installs no handler of ours; no other thread exists yet.
            unsafe { libc::signal(sig, libc::SIG_DFL) };
        }
    }
    reset_reserved_signals();
    // SAFETY: an empty set, built by sigemptyset, unblocks everything on this (the only)
    // thread; threads started later inherit it.
    unsafe {
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::pthread_sigmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
    }
}

/// The two real-time signals the C library keeps for itself (32 and 33: thread
/// cancellation and set*id across threads) cannot be reached through its `sigaction`; a
/// caller may still leave them ignored (Python's `os.system` does). Back to their default
/// through the system call itself.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
#[allow(unsafe_code)]
fn reset_reserved_signals() {
    /// The kernel's `struct sigaction` on these architectures.
    #[repr(C)]
    #[derive(Default)]
    struct KernelSigaction {
        handler: usize,
        flags: u64,
        restorer: usize,
        mask: u64,
    }
    const SIG_IGN: usize = 1;
    for sig in [32_i64, 33] {
        let mut old = KernelSigaction::default();
        // SAFETY: asks for the current action only (new is null); `old` is a valid buffer of
        // the kernel's layout, and the set size is the kernel's (8 bytes).
        let rc = unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                std::ptr::null::<KernelSigaction>(),
                &mut old as *mut KernelSigaction,
                8_usize,
            )
        };
        if rc == 0 && old.handler == SIG_IGN {
            let default = KernelSigaction::default();
            // SAFETY: installs the default action (handler 0, no flags, empty mask); no
            // handler of ours runs, and no other thread exists yet.
            unsafe {
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    sig,
                    &default as *const KernelSigaction,
                    std::ptr::null_mut::<KernelSigaction>(),
                    8_usize,
                )
            };
        }
    }
}

/// Elsewhere: the C library's own reserved signals are left as they are.
#[cfg(all(
    target_os = "linux",
    not(any(target_arch = "x86_64", target_arch = "aarch64"))
))]
fn reset_reserved_signals() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_low_hard_limit_is_refused_in_the_same_words() {
        let fsize = &LIMITS[0];
        assert_eq!(
            fsize.refusal(1024, 16 * MIB).to_string(),
            "cargo-confirm-gui refused to start: the program that started it set RLIMIT_FSIZE \
             (the largest file it may write) to a hard limit of 1024 bytes, below the 16777216 \
             bytes it needs, and a hard limit cannot be raised again. Nothing was released. Run \
             it from a shell with the usual limits (`ulimit -H -f` shows this one)"
        );
        let nofile = &LIMITS[1];
        assert!(
            nofile
                .refusal(64, 256)
                .to_string()
                .contains("a hard limit of 64, below the 256 it needs")
        );
    }
}
