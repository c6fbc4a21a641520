//! Process hardening applied first thing in `main`, in every mode.

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

/// Denies this process, all its threads, new IPv4/IPv6/packet sockets and io_uring, for
/// good: called once the window exists, so that nothing running inside the
/// helper afterwards (a bug in a parser, a compromised dependency) can send a token
/// anywhere. Unix sockets stay allowed: the X server, the compositor and D-Bus need them.
/// Sets `no_new_privs` as seccomp requires. Idempotent.
#[cfg(target_os = "linux")]
pub fn deny_network() -> Result<(), String> {
    use seccompiler::{
        BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
        SeccompRule, TargetArch,
    };
    static DONE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(|e| e.to_string())?;
        let family = |f: i32| {
            SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, f as u64)
                .and_then(|c| SeccompRule::new(vec![c]))
        };
        let socket_rules = [libc::AF_INET, libc::AF_INET6, libc::AF_PACKET]
            .into_iter()
            .map(family)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
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
        .map_err(|e| e.to_string())?;
        let program = BpfProgram::try_from(filter).map_err(|e| e.to_string())?;
        seccompiler::apply_filter_all_threads(&program).map_err(|e| e.to_string())
    })
    .clone()
}

/// Other platforms: not available yet.
#[cfg(not(target_os = "linux"))]
pub(crate) fn deny_network() -> Result<(), String> {
    Err("not available on this platform".into())
}
