//! Where the helper keeps its own state: the prompt lock, the cooldown after a Deny, the
//! count of recent requests (`throttle`), and the audit log (`audit`).
//!
//! In the default install these live in the user's own directories (`$XDG_RUNTIME_DIR`,
//! `$XDG_STATE_HOME`), where any program running as the user can delete the cooldown, hold
//! the lock or rewrite the log: a guard against being worn down, not a boundary. In the
//! sealed install they live beside the tokens, in `STORE/<uid>/`, which only the setgid
//! helper can reach: the group is taken back around each access, as for the tokens.

use std::path::{Path, PathBuf};

/// The helper's state directories, and how to reach them.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// The lock, the cooldown and the recent-request count.
    pub(crate) throttle: Option<PathBuf>,
    /// The audit log file.
    pub(crate) audit: Option<PathBuf>,
    /// Sealed install: the group to take back around each access.
    #[cfg(target_os = "linux")]
    pub(crate) privilege: Option<crate::sealed::Privilege>,
    /// Whether a record that cannot be written stops the request (the sealed install): the
    /// cooldown, the lock, the count and the audit log must be written before a window, and
    /// a token is released only once its audit record is.
    pub(crate) must_record: bool,
}

impl State {
    /// The default install's: under the user's runtime and state directories.
    pub(crate) fn user(runtime_dir: Option<&Path>, state_dir: Option<&Path>) -> State {
        State {
            throttle: crate::throttle::dir(runtime_dir, state_dir),
            audit: state_dir.map(crate::audit::log_path),
            #[cfg(target_os = "linux")]
            privilege: None,
            must_record: false,
        }
    }

    /// The sealed install's: in the user's directory of the sealed store, `user_dir`.
    #[cfg(target_os = "linux")]
    pub(crate) fn sealed(user_dir: &Path, privilege: Option<crate::sealed::Privilege>) -> State {
        State {
            throttle: Some(user_dir.join("state")),
            audit: Some(user_dir.join("audit.jsonl")),
            privilege,
            must_record: true,
        }
    }

    /// Whether the state is out of reach of the user's own programs.
    pub(crate) fn sealed_away(&self) -> bool {
        #[cfg(target_os = "linux")]
        if self.privilege.is_some() {
            return true;
        }
        false
    }

    /// Runs `f` with whatever access the state needs (the sealed group, briefly).
    pub(crate) fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        #[cfg(target_os = "linux")]
        if let Some(p) = &self.privilege {
            let mut f = Some(f);
            let mut out = None;
            // When the group cannot be taken back, `f` runs without it below, and fails on
            // its own: the sealed directories refuse the user.
            let _ = p.with_group(|| out = f.take().map(|g| g()));
            return match (out, f) {
                (Some(out), _) => out,
                (None, Some(g)) => g(),
                (None, None) => unreachable!("f ran, so it returned a value"),
            };
        }
        f()
    }
}
