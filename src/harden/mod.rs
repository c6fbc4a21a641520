//! Process hardening applied first thing in `main`, in every mode. What each platform can
//! reset or deny is in a file of its own: `linux.rs` (limits, signals, descriptors, seccomp),
//! `other.rs` (nothing yet).

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as platform;
#[cfg(not(target_os = "linux"))]
mod other;
#[cfg(not(target_os = "linux"))]
use other as platform;

pub use platform::{deny_network, reset_inherited};

/// Why the process could not be hardened, or refuses to run as it was started. The
/// `Display` is the message people see.
#[derive(Debug, thiserror::Error)]
pub enum HardenError {
    /// The seccomp filter could not be built.
    #[cfg(target_os = "linux")]
    #[error("{0}")]
    Filter(#[source] seccompiler::BackendError),
    /// The seccomp filter could not be applied.
    #[cfg(target_os = "linux")]
    #[error("{0}")]
    Apply(#[source] seccompiler::Error),
    /// Denying the network is not implemented on this platform.
    #[error("not available on this platform")]
    Unsupported,
    /// The caller set a hard resource limit below what the helper needs.
    #[error(
        "cargo-confirm-gui refused to start: the program that started it set {name} ({what}) to \
         a hard limit of {hard}{unit}, below the {floor}{unit} it needs, and a hard limit \
         cannot be raised again. Nothing was released. Run it from a shell with the usual \
         limits (`ulimit -H {ulimit}` shows this one)"
    )]
    LimitTooLow {
        /// The limit's name (`RLIMIT_FSIZE`).
        name: &'static str,
        /// What it limits, for people.
        what: &'static str,
        /// The shell's `ulimit` option for it.
        ulimit: &'static str,
        /// The hard limit the caller set.
        hard: u64,
        /// The least the helper needs.
        floor: u64,
        /// " bytes", or nothing for a count.
        unit: &'static str,
    },
    /// A soft limit could not be raised.
    #[cfg(unix)]
    #[error("cargo-confirm-gui: cannot raise {name} ({what}): {source}")]
    CannotRaise {
        /// The limit's name.
        name: &'static str,
        /// What it limits, for people.
        what: &'static str,
        /// What the system said.
        #[source]
        source: rustix::io::Errno,
    },
    /// A standard descriptor was closed and `/dev/null` cannot be opened in its place.
    #[cfg(unix)]
    #[error(
        "cargo-confirm-gui: descriptor {fd} is closed and /dev/null cannot be opened: {source}"
    )]
    DevNull {
        /// The descriptor (0 to 2).
        fd: i32,
        /// What the system said.
        #[source]
        source: rustix::io::Errno,
    },
    /// A standard descriptor was closed and `/dev/null` opened as another number.
    #[error("cargo-confirm-gui: descriptor {fd} is closed and could not be opened again")]
    Reopen {
        /// The descriptor (0 to 2).
        fd: i32,
    },
    /// `close_range` failed and `/proc/self/fd` cannot be listed to close them one by one.
    #[error("cargo-confirm-gui: cannot list inherited descriptors: {0}")]
    ListDescriptors(#[source] std::io::Error),
}

/// Makes the process non-dumpable (no ptrace attach or `/proc/PID/mem` for same-user
/// processes that are not our parent's tracer) and disables core dumps, so the token
/// cannot be lifted out of our memory or a crash file.
#[cfg_attr(not(unix), allow(unused_mut, reason = "only Unix pushes notes so far"))]
pub fn harden_process() -> Vec<String> {
    let mut notes = Vec::new();
    #[cfg(any(target_os = "linux", target_os = "macos"))]
    {
        use rustix::process::{Resource, Rlimit, setrlimit};
        let zero = Rlimit {
            current: Some(0),
            maximum: Some(0),
        };
        if let Err(e) = setrlimit(Resource::Core, zero) {
            notes.push(format!("could not disable core dumps: {e}"));
        }
    }
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{DumpableBehavior, set_dumpable_behavior};
        if let Err(e) = set_dumpable_behavior(DumpableBehavior::NotDumpable) {
            notes.push(format!("could not mark the process non-dumpable: {e}"));
        }
    }
    notes
}
