//! The library's error type and its one mapping into cargo's protocol errors.
//!
//! | our error | cargo sees | what cargo does |
//! | --- | --- | --- |
//! | [`Error::NotEnrolled`], [`Error::PassedToNext`] | `NotFound` | tries the next provider, else "no token found" |
//! | [`Error::Unsupported`] | `OperationNotSupported` | fails: the provider cannot do this |
//! | everything else (deny, refusal, store, display, protocol, args) | `Other` with message | fails at once, prints the message; no other provider is tried |
//!
//! Deny and refusal are fatal on purpose: a `NotFound` would let cargo fall through to a
//! plain-text token.

/// How a window ended without Approve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DenyReason {
    /// The person clicked Deny (or pressed Esc).
    Clicked,
    /// The window was closed.
    Closed,
    /// Nobody answered in time.
    Timeout,
    /// cargo went away (stdin closed) while the window was open.
    CallerGone,
    /// The `.crate` on disk does not match the request's checksum (or the request is forged).
    Mismatch,
    /// No packaged `.crate` could be found or read: what would be published was not shown.
    Unverified,
    /// The `.crate` changed between the window's check and the answer.
    Changed,
    /// The requester is not (or no longer) verified to be cargo.
    NotCargo,
    /// The system did not confirm who approved (wrong password, a PAM error, no finger or key
    /// in time). The module's own words go with the error.
    NotAuthenticated,
    /// The window saw input that was not a person's (synthetic keys or clicks) while the
    /// system asked who approved.
    Vetoed,
    /// The `.crate` has a problem cargo never makes (a duplicate, a link, an odd name), so
    /// the tools that read it may not agree on what it holds.
    Suspect,
    /// The administrator's `[publish]` rules ask for provenance this `.crate` does not have
    /// (a commit no remote has, files that are not the commit's).
    Policy,
}

impl DenyReason {
    fn words(self) -> &'static str {
        match self {
            DenyReason::Clicked => "denied in the confirmation window",
            DenyReason::Closed => "denied: the confirmation window was closed",
            DenyReason::Timeout => "denied: nobody answered the confirmation window in time",
            DenyReason::CallerGone => "cancelled: the caller went away while the window was open",
            DenyReason::Mismatch => {
                "refused: the packaged .crate on disk does not match the checksum in the request \
                 (run the command again; if this repeats, something is rewriting target/package \
                 behind cargo's back)"
            }
            DenyReason::Unverified => {
                "refused: no packaged .crate could be found or read, so what would be published \
                 was never shown (run cargo publish from the package's directory; see the \
                 window for where it looked)"
            }
            DenyReason::Suspect => {
                "refused: the packaged .crate has a problem cargo never makes (the window lists \
                 it in red), so what it holds depends on the tool that reads it"
            }
            DenyReason::NotAuthenticated => {
                "denied: the system did not confirm who you are after Approve"
            }
            DenyReason::Vetoed => {
                "denied: the window saw input that was not a person's while it asked who you \
                 are (see the window's message; check what is running)"
            }
            DenyReason::NotCargo => {
                "refused: the program that asked is not verified to be cargo, or changed while \
                 the window was open (the window says which check failed)"
            }
            DenyReason::Policy => {
                "refused: the administrator's policy asks for a pushed, clean commit, and the \
                 window showed this .crate is not one (see its \"Source\" line)"
            }
            DenyReason::Changed => {
                "refused: the packaged .crate changed after the window checked it (something \
                 is rewriting target/package behind cargo's back)"
            }
        }
    }
}

/// Why a request is refused without a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A CI marker is set.
    Ci(String),
    /// No display variable is set.
    Headless,
    /// A display is set but does not answer.
    Unreachable(String),
    /// The display answers, but its server is not known to be a screen a person sees
    /// (`display::trust`), or it lets any program inject input.
    UntrustedDisplay(String),
    /// The administrator's policy file is unsafe or malformed.
    Policy(String),
    /// This install needs the system to confirm who approves, and that step cannot run
    /// (the PAM service file is missing or unsafe, say).
    Presence(String),
}

impl Refusal {
    /// The message cargo prints: what happened and what to do instead.
    pub fn message(&self) -> String {
        let headless = |why: String| {
            format!(
                "cargo-confirm-gui refused: {why}, and a registry token is released only after a \
                 person clicks Approve in a window.\n\
                 To publish from CI, use crates.io trusted publishing (OIDC), or give the job its \
                 own token as a secret with the `cargo:token` provider (CARGO_REGISTRY_TOKEN).\n\
                 To let cargo try the next provider here instead, add `--ci=pass` to this \
                 provider's arguments in ~/.cargo/config.toml."
            )
        };
        match self {
            Refusal::Ci(var) => headless(format!("this looks like a CI runner (`{var}` is set)")),
            Refusal::Headless => {
                headless("there is no display (neither DISPLAY nor WAYLAND_DISPLAY is set)".into())
            }
            Refusal::Unreachable(detail) => {
                headless(format!("the display cannot be reached: {detail}"))
            }
            Refusal::UntrustedDisplay(why) => {
                format!("cargo-confirm-gui refused to show its window: {why}. Nothing was released")
            }
            Refusal::Policy(why) => {
                format!("cargo-confirm-gui refused: {why}. Nothing was released")
            }
            Refusal::Presence(why) => format!(
                "cargo-confirm-gui refused before showing a window: this install releases a \
                 token only after the system confirms who approved, and {why}"
            ),
        }
    }
}

/// What went wrong in a store, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The keychain exists but is locked, or refused access.
    #[error("the {store} is locked or refused access: {detail}. {advice}")]
    Locked {
        /// Store description.
        store: String,
        /// The platform's words.
        detail: String,
        /// What to do, in the store's words (`store::Words::locked`).
        advice: &'static str,
    },
    /// No keychain service could be reached.
    #[error("the {store} is not available: {detail}. {advice}")]
    Unavailable {
        /// Store description.
        store: String,
        /// The platform's words.
        detail: String,
        /// What to do, in the store's words (`store::Words::unavailable`).
        advice: &'static str,
    },
    /// Anything else the platform reported.
    #[error("the {store} failed: {detail}")]
    Platform {
        /// Store description.
        store: String,
        /// The platform's words.
        detail: String,
    },
}

/// Everything that can stop a request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request line was malformed, too long, or of an unknown protocol version.
    #[error(
        "cargo-confirm-gui: bad request from cargo: {0}. Nothing was released. If cargo sent this, please report it with your cargo version"
    )]
    Protocol(String),
    /// The provider args in cargo's config are wrong.
    #[error("{0}")]
    Args(String),
    /// The index URL is not one cargo sends.
    #[error(transparent)]
    IndexUrl(#[from] crate::index_url::BadIndexUrl),
    /// CI or no display.
    #[error("{}", .0.message())]
    Refused(Refusal),
    /// `--ci=pass`: let cargo try the next provider.
    #[error("cargo-confirm-gui passes this request on (--ci=pass)")]
    PassedToNext,
    /// No token is stored for this registry.
    #[error(
        "cargo-confirm-gui has no token for {registry}. Run `cargo login` (or `cargo-confirm-gui --enroll`) to store one"
    )]
    NotEnrolled {
        /// Registry for people.
        registry: String,
    },
    /// The person (or the clock) said no.
    #[error("cargo-confirm-gui: {what} {}. Nothing was released", .reason.words())]
    Denied {
        /// What was asked, for people ("publish of foo 1.0.0 to crates-io").
        what: String,
        /// How it ended.
        reason: DenyReason,
    },
    /// The person approved, but the system did not confirm who they are (wrong password, a
    /// PAM error, cancelled, timed out). The cooldown applies, as after a Deny.
    #[error("cargo-confirm-gui: {what} {}: {message}. Nothing was released", .reason.words())]
    NotConfirmed {
        /// What was asked, for people.
        what: String,
        /// How the step ended.
        reason: DenyReason,
        /// What the system or the window said.
        message: String,
    },
    /// The keychain failed; what it said is the cause (cargo prints it as "Caused by").
    #[error("cargo-confirm-gui: the token store failed. Nothing was released")]
    Store(#[from] StoreError),
    /// The window could not be shown.
    #[error("cargo-confirm-gui could not show its window: {0}. Nothing was released. {advice}", advice = display_advice(.0))]
    Display(String),
    /// The entry vanished between the check and the read.
    #[error(
        "cargo-confirm-gui: the token for {registry} disappeared from the store while the window was open. Nothing was released; run `cargo login` again"
    )]
    Vanished {
        /// Registry for people.
        registry: String,
    },
    /// A Deny happened moments ago.
    #[error(
        "cargo-confirm-gui: a request was denied {ago} s ago, and for {left} s more requests are refused without a window (against prompt spam; see --cooldown). Nothing was released"
    )]
    Cooldown {
        /// Seconds since the Deny.
        ago: u64,
        /// Seconds left.
        left: u64,
    },
    /// A record the install needs before any window (the cooldown, the prompt lock, the count
    /// of recent requests, the audit log) could not be written.
    #[error(
        "cargo-confirm-gui refused before showing a window: it could not record {what} ({detail}), and the sealed install opens no window and releases nothing it cannot record. Nothing was released. Check that the disk is not full, and that the helper was started with the usual limits"
    )]
    Unrecorded {
        /// Which record.
        what: &'static str,
        /// What the system said.
        detail: String,
    },
    /// The audit record of a release could not be written: in the sealed install, nothing is
    /// released.
    #[error(
        "cargo-confirm-gui: {what} was approved, but its audit record could not be written ({detail}), and the sealed install releases nothing it cannot record. Nothing was released. Check that the disk is not full"
    )]
    NotRecorded {
        /// What was approved.
        what: String,
        /// What the system said.
        detail: String,
    },
    /// Another window stayed open.
    #[error(
        "cargo-confirm-gui: another confirmation window is already open; answer it first, then try again. Nothing was released"
    )]
    Busy,
    /// Output failed (cargo closed the pipe).
    #[error("cargo-confirm-gui: could not write to cargo")]
    Io(#[from] std::io::Error),
    /// A kind of request this version does not know.
    #[error("cargo-confirm-gui does not support this request")]
    Unsupported,
}

impl Error {
    /// The message and every cause after it, on one line: for our own commands' output
    /// and the audit log (cargo prints the causes itself, as "Caused by" lines).
    pub fn report(&self) -> String {
        let mut text = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            text.push_str(": ");
            text.push_str(&c.to_string());
            cause = c.source();
        }
        text
    }
}

impl From<Error> for cargo_credential::Error {
    /// Boxed whole, so its `source` chain reaches cargo as `caused-by`.
    fn from(e: Error) -> Self {
        match e {
            Error::NotEnrolled { .. } | Error::PassedToNext => cargo_credential::Error::NotFound,
            Error::Unsupported => cargo_credential::Error::OperationNotSupported,
            other => cargo_credential::Error::Other(Box::new(other)),
        }
    }
}

/// What to do about a window that could not be shown, for the way it failed: a display that
/// does not answer is a setting; a window that was closed under the person is another
/// program's doing, and no setting helps.
fn display_advice(why: &str) -> &'static str {
    if why.contains("cannot connect to the display") {
        "Check that your desktop session is reachable (DISPLAY / WAYLAND_DISPLAY); on a \
         machine without one, see `--ci=pass`"
    } else if why.contains("destroyed") || why.contains("ended abnormally") {
        "Another program on your desktop closed or broke the window (any program running as \
         you can); nothing was approved. Try again, and if it happens again, look for what \
         else is running as you"
    } else {
        "Run `cargo confirm-gui doctor` to check the display and the desktop session"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_failure_reaches_cargo_with_its_cause() {
        let e = Error::Store(StoreError::Locked {
            store: "Secret Service".into(),
            detail: "org.freedesktop.Secret.Error.IsLocked".into(),
            advice: "Unlock it and try again",
        });
        assert!(
            e.report().contains(": the Secret Service is locked"),
            "{}",
            e.report()
        );
        let sent = serde_json::to_value(cargo_credential::Error::from(e)).unwrap();
        assert_eq!(
            sent["message"],
            "cargo-confirm-gui: the token store failed. Nothing was released"
        );
        let causes = sent["caused-by"].as_array().unwrap();
        assert_eq!(causes.len(), 1, "{sent}");
        let cause = causes[0].as_str().unwrap();
        assert!(
            cause.starts_with("the Secret Service is locked or refused access: org.freedesktop")
                && cause.ends_with("and try again"),
            "{cause}"
        );
    }

    #[test]
    fn a_window_failure_gets_the_advice_that_fits_how_it_failed() {
        let said = |why: &str| Error::Display(why.into()).to_string();
        let unreachable = said("cannot connect to the display: No such file");
        assert!(unreachable.contains("DISPLAY"), "{unreachable}");
        for why in [
            "the window was destroyed by another program",
            "the window ended abnormally (destroyed by another program?): BadWindow",
        ] {
            let lost = said(why);
            assert!(
                !lost.contains("DISPLAY") && !lost.contains("--ci=pass"),
                "{lost}"
            );
            assert!(lost.contains("Another program"), "{lost}");
        }
        assert!(said("cannot draw: x").contains("cargo confirm-gui doctor"));
    }

    #[test]
    fn an_error_without_a_cause_sends_none() {
        let sent = serde_json::to_value(cargo_credential::Error::from(Error::Busy)).unwrap();
        assert_eq!(sent["caused-by"], serde_json::json!([]));
        assert!(sent["message"].as_str().unwrap().contains("already open"));
    }
}
