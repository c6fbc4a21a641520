//! Process hardening applied first thing in `main`, in every mode.

/// Makes the process non-dumpable (no ptrace attach or `/proc/PID/mem` for same-user
/// processes that are not our parent's tracer) and disables core dumps, so the token
/// cannot be lifted out of our memory or a crash file.
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

/// Whether the process is currently non-dumpable (Linux), for tests and diagnostics.
#[cfg(target_os = "linux")]
pub fn is_dumpable() -> bool {
    rustix::process::dumpable_behavior()
        .map(|b| b != rustix::process::DumpableBehavior::NotDumpable)
        .unwrap_or(true)
}
