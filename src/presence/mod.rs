//! Presence: after a person's Approve, the system says *who* approved.
//!
//! A click in the window says *what* is approved; any program running as the person can
//! drive the person's desktop (draw into the window on X11, click through GNOME's
//! remote-desktop API on Wayland), so a click cannot be the last word. Where the token is
//! sealed, every release also needs the person's own authentication, checked by the system:
//! on Linux, PAM ([`pam`]) with the service `/etc/pam.d/cargo-confirm-gui` (a password, a
//! fingerprint or a security key, as the administrator set that service up), its questions
//! asked and answered **in our window**, next to the transaction, never on a terminal.
//!
//! The seam is [`Presence`]: a method the window can name, a check that it can run at all, and
//! an attempt whose questions arrive as [`Event`]s. [`run`] joins an attempt to the window's
//! [`WhoWindow`] and is the only maker of [`Verified`], which the pipeline needs before it
//! releases anything that [`required`] says needs a person. A FIDO2 touch done by the helper
//! itself (hmac-secret unwrapping the sealed token) would be one more implementation.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use crate::child::{ChildError, LineError};
use crate::error::DenyReason;
use crate::request::Operation;

#[cfg(target_os = "linux")]
pub mod pam;

/// The hidden first argument that starts the authentication process (`pam`).
pub const PRESENCE_ARG: &str = "__presence";
#[cfg(windows)]
pub mod windows_hello;

/// What the system says to the person during an attempt.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Says {
    /// A question: "Password: " (masked unless `echo`).
    Prompt {
        /// The module's own words.
        text: String,
        /// Whether the answer may be shown as it is typed (a user name, never a password).
        echo: bool,
    },
    /// A message to show: "Place your finger on the reader", "Touch your security key".
    Info(String),
    /// A message to show in red: "Authentication failure".
    Error(String),
}

/// What the window sends back during an attempt.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Reply {
    /// The answer to the last prompt. Wiped by whoever holds it last.
    Answer(String),
    /// The person cancelled, closed the window, the window timed out or was vetoed.
    Cancel(DenyReason),
}

/// What the window is told about an attempt.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ToWindow {
    /// Show this.
    Says(Says),
    /// The attempt ended: `Ok` the system confirmed the person, `Err` with its words.
    Done(Result<(), String>),
}

/// What [`run`] waits for: from the system, or from the window.
#[derive(Debug)]
pub enum Event {
    /// The system asks or says something.
    System(Says),
    /// The system's verdict.
    SystemDone(Result<(), String>),
    /// The system side ended without a verdict.
    SystemGone(String),
    /// The person did something in the window.
    Person(Reply),
    /// The window ended without answering.
    WindowGone(String),
}

/// How the window names the step before Approve, and during it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Method {
    /// What the person will be asked for: "your password, fingerprint or security key".
    pub asks: String,
    /// Who checks it: "the system (PAM service cargo-confirm-gui)".
    pub checked_by: String,
}

/// Why presence cannot run, or did not confirm the person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresenceError {
    /// The step cannot run at all on this install (the PAM service file is missing or
    /// unsafe, the user has no name, the helper process is missing): a refusal before any
    /// window, with the fix.
    #[error("{0}")]
    Unavailable(String),
    /// The system did not confirm the person: wrong password, cancelled, timed out, a PAM
    /// error. A Deny, with the module's words.
    #[error("{message}")]
    Failed {
        /// How the window ended, as a Deny.
        reason: DenyReason,
        /// What the system or the window said.
        message: String,
    },
}

/// Why one side of an attempt could not reach the other: the window, or the system's
/// process. Either way the attempt ends without a verdict.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// A line to or from the window process could not be written or read.
    #[error(transparent)]
    Line(#[from] LineError),
    /// The authentication process could not be told the answer.
    #[error(transparent)]
    Child(#[from] ChildError),
    /// The window's output is already read by an earlier attempt.
    #[error("the window's output is already read")]
    OutputTaken,
    /// The window's input is closed: it is gone.
    #[error("the window's input is closed")]
    InputClosed,
    /// The other end of an in-process channel is gone.
    #[error("sending on a closed channel")]
    ChannelClosed,
    /// The system asks in a dialog of its own: there is no prompt to answer.
    #[error("{system} asks in its own dialog")]
    OwnDialog {
        /// The system ("Windows Hello").
        system: &'static str,
    },
}

impl<T> From<std::sync::mpsc::SendError<T>> for LinkError {
    fn from(_: std::sync::mpsc::SendError<T>) -> Self {
        LinkError::ChannelClosed
    }
}

/// One authentication in progress.
pub trait Attempt: Send {
    /// Answers the system's last prompt.
    fn reply(&mut self, answer: &str) -> Result<(), LinkError>;
}

/// A way for the system to confirm the person.
pub trait Presence {
    /// What the window names, or `None` when this install has no step (a click decides).
    fn method(&self) -> Option<Method>;
    /// Whether the step can run; checked before any window opens, so that a missing or
    /// unsafe setup is a refusal with its fix, not a window that cannot finish.
    fn ready(&self) -> Result<(), PresenceError> {
        Ok(())
    }
    /// Starts what must exist before the helper hardens itself for the window (PAM's
    /// process, which must be able to run setgid helpers such as `unix_chkpwd`).
    fn prepare(&self) {}
    /// Starts one attempt for `what` ("publish of foo 1.2.3 to crates-io", for a system
    /// dialog that can name it); its questions and its verdict arrive on `events`.
    fn begin(&self, what: &str, events: Sender<Event>) -> Result<Box<dyn Attempt>, PresenceError>;
}

/// The default install: the token sits in the Secret Service, where any program running as
/// the person can read it, so a system check here would guard nothing that matters. The
/// window's click decides; `setup` and `doctor` say so.
pub struct ClickOnly;

impl Presence for ClickOnly {
    fn method(&self) -> Option<Method> {
        None
    }

    fn begin(&self, _: &str, _: Sender<Event>) -> Result<Box<dyn Attempt>, PresenceError> {
        Err(PresenceError::Unavailable(
            "this install has no presence step".into(),
        ))
    }
}

/// Whether `op` needs the person's own authentication under `presence`: in an install that
/// has a step, every release, every use of the token and every write to the store
/// (`Operation::needs_presence`).
pub fn required(presence: &dyn Presence, op: &Operation) -> bool {
    presence.method().is_some() && op.needs_presence()
}

/// Proof that the system confirmed the person in this request. Only [`run`] makes one.
#[derive(Debug)]
pub struct Verified {
    _private: (),
}

/// The window's side of an attempt.
pub trait WhoWindow {
    /// From now on, forwards what the person does (and the window's end) to `events`.
    fn attach(&mut self, events: Sender<Event>) -> Result<(), LinkError>;
    /// Shows the window what the system says, or the verdict.
    fn say(&mut self, what: &ToWindow) -> Result<(), LinkError>;
}

/// The longest a whole attempt may take, whatever the window's own timeout: a module that
/// waits for a finger or a key touch that never comes.
pub const ATTEMPT_LIMIT: Duration = Duration::from_secs(180);

/// Runs one attempt of `presence` in `window`. Every way it can end but the system's own
/// success is a [`PresenceError::Failed`], which the pipeline treats as a Deny.
pub fn run(
    presence: &dyn Presence,
    what: &str,
    window: &mut dyn WhoWindow,
    limit: Duration,
) -> Result<Verified, PresenceError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let failed = |reason, message: String| PresenceError::Failed { reason, message };
    window
        .attach(tx.clone())
        .map_err(|e| failed(DenyReason::Closed, format!("the window: {e}")))?;
    let attempt = match presence.begin(what, tx) {
        Ok(a) => a,
        Err(e) => {
            // Telling the window is a courtesy: the error is returned either way, and the
            // window closes when its input does.
            let _ = window.say(&ToWindow::Done(Err(e.to_string())));
            return Err(e);
        }
    };
    let verdict = converse(attempt, window, &rx, Instant::now() + limit);
    // The same: the verdict stands whether or not the window heard it.
    let _ = window.say(&ToWindow::Done(
        verdict.as_ref().map(|_| ()).map_err(|e| e.to_string()),
    ));
    verdict
}

/// Relays between the system and the window until one of them ends the attempt.
fn converse(
    mut attempt: Box<dyn Attempt>,
    window: &mut dyn WhoWindow,
    events: &Receiver<Event>,
    deadline: Instant,
) -> Result<Verified, PresenceError> {
    let failed = |reason, message: String| PresenceError::Failed { reason, message };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = match events.recv_timeout(left) {
            Ok(e) => e,
            Err(RecvTimeoutError::Timeout) => {
                return Err(failed(
                    DenyReason::Timeout,
                    "nobody finished the authentication in time".into(),
                ));
            }
            Err(RecvTimeoutError::Disconnected) => {
                return Err(failed(
                    DenyReason::Closed,
                    "the authentication ended without a verdict".into(),
                ));
            }
        };
        match event {
            Event::System(says) => window
                .say(&ToWindow::Says(says))
                .map_err(|e| failed(DenyReason::Closed, format!("the window: {e}")))?,
            Event::SystemDone(Ok(())) => return Ok(Verified { _private: () }),
            Event::SystemDone(Err(why)) => return Err(failed(DenyReason::NotAuthenticated, why)),
            Event::SystemGone(why) => return Err(failed(DenyReason::NotAuthenticated, why)),
            // An empty answer is never passed on: with `nullok` (in Debian's common-auth) an
            // account with no password would pass on a forged Return.
            Event::Person(Reply::Answer(answer)) if answer.is_empty() => {
                return Err(failed(
                    DenyReason::NotAuthenticated,
                    "an empty answer is not accepted".into(),
                ));
            }
            Event::Person(Reply::Answer(mut answer)) => {
                let sent = attempt.reply(&answer);
                zeroize::Zeroize::zeroize(&mut answer);
                sent.map_err(|e| failed(DenyReason::NotAuthenticated, e.to_string()))?;
            }
            Event::Person(Reply::Cancel(reason)) => {
                return Err(failed(reason, "the authentication was cancelled".into()));
            }
            Event::WindowGone(why) => return Err(failed(DenyReason::Closed, why)),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A system that asks one masked question and accepts `password`. Test-only.
    pub(crate) struct Knows(pub(crate) &'static str);

    struct KnowsAttempt {
        password: &'static str,
        events: Sender<Event>,
    }

    impl Attempt for KnowsAttempt {
        fn reply(&mut self, answer: &str) -> Result<(), LinkError> {
            let verdict = if answer == self.password {
                Ok(())
            } else {
                Err("Authentication failure".to_string())
            };
            Ok(self.events.send(Event::SystemDone(verdict))?)
        }
    }

    impl Presence for Knows {
        fn method(&self) -> Option<Method> {
            Some(Method {
                asks: "your password".into(),
                checked_by: "a test".into(),
            })
        }
        fn begin(&self, _: &str, events: Sender<Event>) -> Result<Box<dyn Attempt>, PresenceError> {
            events
                .send(Event::System(Says::Prompt {
                    text: "Password: ".into(),
                    echo: false,
                }))
                .map_err(|e| PresenceError::Unavailable(e.to_string()))?;
            Ok(Box::new(KnowsAttempt {
                password: self.0,
                events,
            }))
        }
    }

    /// A window that answers every prompt from a script. Test-only.
    #[derive(Default)]
    pub(crate) struct Typing {
        pub(crate) answers: Vec<Reply>,
        pub(crate) shown: Arc<Mutex<Vec<ToWindow>>>,
        events: Option<Sender<Event>>,
    }

    impl Typing {
        pub(crate) fn answering(answers: &[Reply]) -> Self {
            Typing {
                answers: answers.to_vec(),
                ..Default::default()
            }
        }
    }

    impl WhoWindow for Typing {
        fn attach(&mut self, events: Sender<Event>) -> Result<(), LinkError> {
            self.events = Some(events);
            Ok(())
        }
        fn say(&mut self, what: &ToWindow) -> Result<(), LinkError> {
            self.shown.lock().unwrap().push(what.clone());
            if let ToWindow::Says(Says::Prompt { .. }) = what {
                let events = self.events.as_ref().ok_or(LinkError::ChannelClosed)?;
                let reply = if self.answers.is_empty() {
                    Reply::Cancel(DenyReason::Timeout)
                } else {
                    self.answers.remove(0)
                };
                events.send(Event::Person(reply))?;
            }
            Ok(())
        }
    }

    #[test]
    fn only_the_systems_yes_verifies() {
        let right = run(
            &Knows("pw"),
            "a test",
            &mut Typing::answering(&[Reply::Answer("pw".into())]),
            ATTEMPT_LIMIT,
        );
        assert!(right.is_ok());
        let wrong = run(
            &Knows("pw"),
            "a test",
            &mut Typing::answering(&[Reply::Answer("nope".into())]),
            ATTEMPT_LIMIT,
        );
        assert!(matches!(
            wrong,
            Err(PresenceError::Failed { reason: DenyReason::NotAuthenticated, ref message })
                if message == "Authentication failure"
        ));
        let cancelled = run(
            &Knows("pw"),
            "a test",
            &mut Typing::answering(&[Reply::Cancel(DenyReason::Clicked)]),
            ATTEMPT_LIMIT,
        );
        assert!(matches!(
            cancelled,
            Err(PresenceError::Failed {
                reason: DenyReason::Clicked,
                ..
            })
        ));
    }

    #[test]
    fn a_silent_system_times_out_and_the_window_hears_the_verdict() {
        /// Asks nothing and never answers.
        struct Silent;
        impl Attempt for Silent {
            fn reply(&mut self, _: &str) -> Result<(), LinkError> {
                Ok(())
            }
        }
        struct Mute(Mutex<Option<Sender<Event>>>);
        impl Presence for Mute {
            fn method(&self) -> Option<Method> {
                None
            }
            fn begin(
                &self,
                _: &str,
                events: Sender<Event>,
            ) -> Result<Box<dyn Attempt>, PresenceError> {
                // Keep the sender alive, as a module blocked in its own wait would.
                *self.0.lock().unwrap() = Some(events);
                Ok(Box::new(Silent))
            }
        }
        let mut window = Typing::default();
        let shown = window.shown.clone();
        let r = run(
            &Mute(Mutex::new(None)),
            "a test",
            &mut window,
            Duration::from_millis(50),
        );
        assert!(matches!(
            r,
            Err(PresenceError::Failed {
                reason: DenyReason::Timeout,
                ..
            })
        ));
        assert!(matches!(
            shown.lock().unwrap().last(),
            Some(ToWindow::Done(Err(_)))
        ));
    }
}
