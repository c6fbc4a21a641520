//! One person's turn at a window: the lock, the cooldown, the count, and the records a
//! defence needs before a window opens.

use super::*;

/// One person's turn at the window, for every path that opens one: one window at a time per
/// user, none during the cooldown after a Deny, and the count of recent requests it shows.
///
/// Red team, "Fail closed whatever the caller sets": a write that failed (a file-size limit
/// the caller set, a full disk) used to drop the cooldown, the count or the lock and go on.
/// Now, before any window, the turn records a `pending` cooldown, as if the window were
/// denied, and only a finished turn removes it: a Deny replaces it with the Deny's time, any
/// other ending removes it. An outcome that cannot be written leaves the cooldown in place.
/// In the sealed install every one of these writes, and the audit log's, must succeed before
/// a window opens; in the default install (where any program of the person's can delete them
/// anyway) a failure is a warning and a note in the window.
pub(super) struct Turn<'a> {
    state: &'a crate::state::State,
    _lock: Option<throttle::PromptLock>,
    pub(super) recent: u32,
    /// The `pending` record is this turn's, to replace or remove when it ends.
    pending: std::cell::Cell<bool>,
    /// What the window must say about records that cannot be written (default install).
    pub(super) unrecorded: Option<String>,
}

impl<'a> Turn<'a> {
    /// Waits up to [`PROMPT_WAIT`] for another window to close; a Deny while waiting starts
    /// the cooldown for this request too.
    pub(super) fn take(
        state: &'a crate::state::State,
        cooldown: std::time::Duration,
    ) -> Result<Self, Error> {
        let must = state.must_record;
        let mut unrecorded = Vec::new();
        let mut failed = |what: &'static str, e: std::io::Error| -> Result<(), Error> {
            if must {
                return Err(Error::Unrecorded {
                    what,
                    detail: e.to_string(),
                });
            }
            eprintln!("cargo-confirm-gui: warning: could not keep {what} ({e}); continuing");
            unrecorded.push(format!("{what} ({e})"));
            Ok(())
        };
        let Some(dir) = state.throttle.as_deref() else {
            return Ok(Turn {
                state,
                _lock: None,
                recent: 1,
                pending: Default::default(),
                unrecorded: None,
            });
        };
        let cooling = |stale_pending: bool| {
            state
                .run(|| throttle::cooldown_left(dir, cooldown, stale_pending))
                .map(|left| {
                    left.map(|left| Error::Cooldown {
                        ago: cooldown.as_secs().saturating_sub(left),
                        left,
                    })
                })
        };
        match cooling(false) {
            Ok(Some(e)) => return Err(e),
            Ok(None) => {}
            Err(e) => failed("the cooldown", e)?,
        }
        let lock = match state.run(|| throttle::lock(dir, PROMPT_WAIT)) {
            Ok(Some(lock)) => Some(lock),
            Ok(None) => return Err(Error::Busy),
            Err(e) => {
                failed("the prompt lock", e)?;
                None
            }
        };
        // Holding the lock, a `pending` record is a window that ended without recording how.
        match cooling(true) {
            Ok(Some(e)) => return Err(e),
            Ok(None) => {}
            Err(e) => failed("the cooldown", e)?,
        }
        let (recent, pending) = Self::records_before_the_window(state, dir, &mut failed)?;
        Ok(Turn {
            state,
            _lock: lock,
            recent,
            pending: std::cell::Cell::new(pending),
            unrecorded: (!unrecorded.is_empty()).then(|| {
                format!(
                    "this decision may not be recorded: could not keep {}",
                    unrecorded.join(", ")
                )
            }),
        })
    }

    /// The records a turn writes once it holds the lock: the count of recent requests (it
    /// returns the count), a check that the audit log can be written, and, last (a refusal
    /// before it must not leave one behind), the `pending` cooldown (it returns whether it
    /// was written).
    fn records_before_the_window(
        state: &crate::state::State,
        dir: &std::path::Path,
        failed: &mut dyn FnMut(&'static str, std::io::Error) -> Result<(), Error>,
    ) -> Result<(u32, bool), Error> {
        let recent = match state.run(|| throttle::count_request(dir)) {
            Ok(n) => n,
            Err(e) => {
                failed("the count of recent requests", e)?;
                1
            }
        };
        if let Some(log) = &state.audit
            && let Err(e) = state.run(|| crate::audit::probe(log))
        {
            failed("the audit log", e)?;
        }
        let pending = match state.run(|| throttle::record_pending(dir)) {
            Ok(()) => true,
            Err(e) => {
                failed("the cooldown", e)?;
                false
            }
        };
        Ok((recent, pending))
    }

    /// The system did not confirm who approved: a Deny, with the system's words, and the
    /// cooldown starts as after any Deny (a caller that went away excepted).
    pub(super) fn not_confirmed(&self, a: &Asked<'_>, e: PresenceError) -> Error {
        let (reason, message) = match e {
            PresenceError::Failed { reason, message } => (reason, message),
            PresenceError::Unavailable(why) => (DenyReason::NotAuthenticated, why),
        };
        self.record_deny(reason);
        Error::NotConfirmed {
            what: a.what.clone(),
            reason,
            message,
        }
    }

    /// The window ended without Approve. A person's no starts the cooldown; a caller that
    /// went away is not a person saying no.
    pub(super) fn denied(&self, a: &Asked<'_>, reason: DenyReason) -> Error {
        self.record_deny(reason);
        a.denied(reason)
    }

    /// A person's no: the Deny's time replaces the `pending` record. Should this write fail,
    /// the `pending` record stays, and the next request still waits out a cooldown.
    pub(super) fn record_deny(&self, reason: DenyReason) {
        if reason != DenyReason::CallerGone
            && let Some(d) = &self.state.throttle
            && self.state.run(|| throttle::record_deny(d)).is_ok()
        {
            self.pending.set(false);
        }
    }
}

impl Turn<'_> {
    /// The turn ended with nothing to hold against the next request (the person approved and
    /// it was done, or the window process refused the display before showing anything): this
    /// turn's `pending` record goes. Every other ending leaves it, to count as a Deny for the next request: a Deny
    /// (which replaces it with its own time), the window's process killed at the person's
    /// press, the caller gone, an error. Red team: removing it on any ending but a Deny let a
    /// worm dodge the cooldown by killing the window, or leaving, as the person pressed Deny.
    /// Should the removal fail, the next request waits out a cooldown it did not need.
    pub(super) fn settled(&self) {
        if self.pending.replace(false)
            && let Some(d) = &self.state.throttle
        {
            let _ = self.state.run(|| throttle::clear_pending(d));
        }
    }
}
