//! The window runs in a process of its own.
//!
//! The helper that cargo started (the broker) holds the store and, in a sealed install, the
//! group that opens it. It never runs window, toolkit or graphics code: for each window it
//! starts its own binary again (`/proc/self/exe __window`) with an allowlisted environment
//! ([`crate::env::WINDOW_ENV`]), so no library, driver or module path of the caller's can
//! steer the code the window loads. That process gives up the group entirely before
//! anything else (`sealed::drop_all`), so no process or thread that draws a window ever holds
//! it. Started from a setgid binary it is in the kernel's secure mode and not dumpable from
//! its first instruction, as the broker is.
//!
//! They speak JSON lines over a pipe: the broker sends the window to show, and later the
//! packaged crate's report; the window process answers once. The broker closing the pipe (cargo
//! went away) closes the window.
//!
//! The broker starts the window process as soon as a window is likely
//! ([`Prompter::prepare`]), and the window process connects to the display and checks it
//! while the broker reads the keychain; nothing is shown until the broker asks. What the
//! window process trusts it takes from no one: it reads the policy file itself, and in a
//! sealed install it serves only a parent that holds the helper's group
//! (`crate::sealed::check_parent`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::who::{Early, WhoLink};
use super::{Cancel, Decision, EnrollOutcome, EnrollRequest, PromptOptions, Prompter, Transaction};
use crate::child::{self, Child, LineError, Lines, Role};
use crate::error::{DenyReason, Error};
use crate::gate::Refusal;
use crate::package::{Pending, Report};
use crate::policy::Policy;
use crate::presence::{self, Event, LinkError, Presence, PresenceError, Reply, ToWindow, Verified};
use crate::token::Token;

/// The hidden first argument that starts the window process.
pub const WINDOW_ARG: &str = "__window";

/// What the broker asks for.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) enum Ask {
    /// A confirm window. `package`: a report will follow.
    Confirm {
        tx: Box<Transaction>,
        opts: PromptOptions,
        package: bool,
    },
    /// An enroll window.
    Enroll {
        req: Box<EnrollRequest>,
        opts: PromptOptions,
    },
    /// The packaged crate's report, when it is ready.
    Package(Box<Report>),
    /// During the presence step: what the system says, or its verdict.
    Who(ToWindow),
}

/// What the window process answers. The first answer is the window's decision; when a
/// presence step follows an Approve or a Save, the window stays open and sends [`Answer::Who`]
/// lines until the step ends, then its final answer again.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) enum Answer {
    Decision(Decision),
    Saved(String),
    Cancelled(DenyReason),
    /// During the presence step: the person's answer, or the end of the attempt.
    Who(Reply),
    /// Sent before the final answer: why Approve was unavailable when the window closed (a
    /// veto by the input guard, a crate that failed its check), for the audit record.
    Blocked(String),
    /// The display was refused (not the person's screen).
    Refused(String),
    /// The window could not be shown.
    Failed(String),
}

/// The window process's role.
pub(crate) struct WindowRole;

impl Role for WindowRole {
    const ARG: &'static str = WINDOW_ARG;
    const NAME: &'static str = "the window process";
    type Ask = Ask;
    type Answer = Answer;
}

/// Shows windows through a window process. The broker's one [`Prompter`].
#[derive(Default)]
pub struct WindowProcess {
    /// The Wayland socket the window goes to, when it goes to Wayland.
    wayland_socket: Option<std::path::PathBuf>,
    /// Started by [`Prompter::prepare`], not yet asked anything.
    ready: Mutex<Option<Child<WindowRole>>>,
    /// A broker starts one window process in its life (see [`WindowProcess::start`]).
    started: std::sync::atomic::AtomicBool,
    /// A window still open after an Approve, for the presence step.
    live: Mutex<Option<Live>>,
    /// Why Approve was unavailable in the last window, when it was.
    blocked: Mutex<Option<String>>,
}

/// A window left open after its Approve: the process, its input (shared with the writer of
/// the crate report), and its output.
struct Live {
    child: Child<WindowRole>,
    to: Arc<Mutex<Option<std::process::ChildStdin>>>,
    from: Option<std::io::BufReader<std::process::ChildStdout>>,
}

impl WindowProcess {
    /// Windows through window processes that go to `wayland_socket` when set.
    pub fn new(wayland_socket: Option<std::path::PathBuf>) -> Self {
        WindowProcess {
            wayland_socket,
            ..Default::default()
        }
    }

    fn start(&self) -> Result<Child<WindowRole>, Error> {
        let failed = |e: &dyn std::fmt::Display| Error::Display(format!("the window process: {e}"));
        // One per broker: after the first, the broker denies itself the network, which sets
        // no_new_privs, and a second window process would start without the setgid bit,
        // dumpable (traceable by any program of the user's) until it hardens itself. The
        // authentication process, which must run setgid helpers, starts before this one.
        if self.started.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Err(failed(&"this helper has already shown a window"));
        }
        let child = Child::start(crate::env::window_environment(
            self.wayland_socket.as_deref(),
        ))
        .map_err(|e| failed(&e))?;
        // From here on the broker needs no network either. (Not before: seccomp needs
        // no_new_privs, which would have kept the window process from starting setgid, that
        // is non-dumpable and in secure mode from its first instruction.)
        if let Err(e) = crate::harden::deny_network() {
            eprintln!("cargo-confirm-gui: note: could not deny this process the network ({e})");
        }
        Ok(child)
    }

    fn run(
        &self,
        ask: &Ask,
        package: Option<Pending>,
        cancel: &Cancel,
        keep_open: bool,
    ) -> Result<Answer, Error> {
        let failed = |e: &dyn std::fmt::Display| Error::Display(format!("the window process: {e}"));
        // A window still open from an earlier ask of this broker ends now.
        drop(self.live.lock().unwrap_or_else(|e| e.into_inner()).take());
        let ready = self.ready.lock().unwrap_or_else(|e| e.into_inner()).take();
        let mut child = match ready {
            Some(c) => c,
            None => self.start()?,
        };
        child.send(ask).map_err(|e| failed(&e))?;
        let pid = child.id();
        // The caller going away closes the window: end the window process.
        #[cfg(target_os = "linux")]
        cancel.set_waker(move || {
            // Should this fail (the process gone already), the window still closes when this
            // process exits and its pipe with it; nothing is released either way.
            let _ = rustix::process::kill_process(
                rustix::process::Pid::from_raw(pid as i32).expect("a child's pid"),
                rustix::process::Signal::TERM,
            );
        });
        // Elsewhere the window process ends when its stdin closes, with the broker.
        #[cfg(not(target_os = "linux"))]
        let _ = pid;
        // Kept open until the window answers: its end means "caller gone".
        let to = Arc::new(Mutex::new(child.take_input()));
        let writer = to.clone();
        std::thread::spawn(move || {
            if let Some(report) = package.as_ref().and_then(|p| p.wait_forever()) {
                let ask = Ask::Package(Box::new(report.clone()));
                if let Some(to) = writer.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
                    // The window may be gone already; it needs the report no more then.
                    let _ = child::write_line(to, &ask);
                }
            }
        });
        let mut from = child
            .take_output()
            .ok_or_else(|| failed(&"no output pipe"))?;
        let mut read = child::read_line::<Answer>(&mut from);
        if let Ok(Some(Answer::Blocked(why))) = read {
            *self.blocked.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
            read = child::read_line::<Answer>(&mut from);
        }
        if cancel.is_cancelled() {
            return Ok(Answer::Cancelled(DenyReason::CallerGone));
        }
        let answer = match read {
            Ok(Some(a)) => a,
            Ok(None) => {
                drop(to.lock().unwrap_or_else(|e| e.into_inner()).take());
                return Err(failed(&ended(child.finish())));
            }
            Err(e) => return Err(failed(&e)),
        };
        let approved = matches!(
            answer,
            Answer::Decision(Decision::Approve) | Answer::Saved(_)
        );
        if keep_open && approved {
            *self.live.lock().unwrap_or_else(|e| e.into_inner()) = Some(Live {
                child,
                to,
                from: Some(from),
            });
        } else {
            drop(to.lock().unwrap_or_else(|e| e.into_inner()).take());
            // The answer is in hand; how the process then ends changes nothing.
            let _ = child.finish();
        }
        Ok(answer)
    }
}

/// How a window process that wrote no answer ended: a signal (a crash, or killed by
/// another program) is abnormal; an exit is only "without an answer".
fn ended(status: Option<std::process::ExitStatus>) -> String {
    #[cfg(unix)]
    if let Some(signal) = status.and_then(|s| std::os::unix::process::ExitStatusExt::signal(&s)) {
        return format!("it ended abnormally (signal {signal}) without an answer");
    }
    let _ = status;
    "it ended without an answer".into()
}

fn into_error(answer: Answer) -> Error {
    match answer {
        Answer::Refused(why) => Error::Refused(Refusal::UntrustedDisplay(why)),
        Answer::Failed(why) => Error::Display(why),
        other => Error::Display(format!("the window process answered {other:?}")),
    }
}

/// The open window's side of a presence attempt.
struct LiveWindow<'a>(&'a mut Live);

impl presence::WhoWindow for LiveWindow<'_> {
    fn attach(&mut self, events: std::sync::mpsc::Sender<Event>) -> Result<(), LinkError> {
        let mut from = self.0.from.take().ok_or(LinkError::OutputTaken)?;
        std::thread::spawn(move || {
            loop {
                let event = match child::read_line::<Answer>(&mut from) {
                    Ok(Some(Answer::Who(reply))) => Event::Person(reply),
                    Ok(Some(Answer::Decision(Decision::Deny(r)) | Answer::Cancelled(r))) => {
                        Event::Person(Reply::Cancel(r))
                    }
                    // Anything else from the window is no answer to the system.
                    Ok(Some(_)) => continue,
                    Ok(None) => Event::WindowGone("the window closed".into()),
                    Err(e) => Event::WindowGone(format!("the window process: {e}")),
                };
                let last = !matches!(event, Event::Person(Reply::Answer(_)));
                if events.send(event).is_err() || last {
                    break;
                }
            }
        });
        Ok(())
    }

    fn say(&mut self, what: &ToWindow) -> Result<(), LinkError> {
        let mut to = self.0.to.lock().unwrap_or_else(|e| e.into_inner());
        let to = to.as_mut().ok_or(LinkError::InputClosed)?;
        Ok(child::write_line(to, &Ask::Who(what.clone()))?)
    }
}

impl Prompter for WindowProcess {
    fn confirm(
        &self,
        tx: &Transaction,
        opts: &PromptOptions,
        cancel: &Cancel,
    ) -> Result<Decision, Error> {
        let ask = Ask::Confirm {
            tx: Box::new(tx.clone()),
            opts: *opts,
            package: tx.package.is_some(),
        };
        match self.run(&ask, tx.package.clone(), cancel, tx.presence.is_some())? {
            Answer::Decision(d) => Ok(d),
            Answer::Cancelled(r) => Ok(Decision::Deny(r)),
            other => Err(into_error(other)),
        }
    }

    fn enroll(
        &self,
        req: &EnrollRequest,
        opts: &PromptOptions,
        cancel: &Cancel,
    ) -> Result<EnrollOutcome, Error> {
        let ask = Ask::Enroll {
            req: Box::new(req.clone()),
            opts: *opts,
        };
        match self.run(&ask, None, cancel, req.presence.is_some())? {
            Answer::Saved(t) => Ok(EnrollOutcome::Saved(Token::new(t))),
            Answer::Cancelled(r) => Ok(EnrollOutcome::Cancelled(r)),
            other => Err(into_error(other)),
        }
    }

    fn authenticate(&self, presence: &dyn Presence, what: &str) -> Result<Verified, PresenceError> {
        let Some(mut live) = self.live.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return Err(PresenceError::Failed {
                reason: DenyReason::Closed,
                message: "no window is open to ask who you are in".into(),
            });
        };
        let verdict = presence::run(
            presence,
            what,
            &mut LiveWindow(&mut live),
            presence::ATTEMPT_LIMIT,
        );
        // The window has the verdict; closing its input ends it. The verdict is PAM's, not
        // the window's: how the window process then ends changes nothing.
        drop(live.to.lock().unwrap_or_else(|e| e.into_inner()).take());
        let _ = live.child.finish();
        verdict
    }

    fn blocked(&self) -> Option<String> {
        self.blocked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn prepare(&self) {
        let mut ready = self.ready.lock().unwrap_or_else(|e| e.into_inner());
        if ready.is_none() && !self.started.load(std::sync::atomic::Ordering::SeqCst) {
            // A failure here is met again, and reported, when the window is asked for.
            *ready = self.start().ok();
        }
    }
}

/// The window process: connects to the display and checks it, then reads what to show
/// from stdin, shows it, writes the answer on stdout. `main` calls it first thing, after
/// giving up every privilege. What the administrator allows about display servers comes
/// from the policy file, read here, never from the pipe.
pub(crate) fn serve(env: crate::env::Snapshot) -> Result<(), LineError> {
    let x11 = matches!(
        crate::display::choose(&env),
        Ok(crate::display::Kind::X11(_))
    );
    let gui = match Policy::load() {
        Ok(policy) => Ok(super::window::GuiPrompter::new(env, policy.display)),
        Err(e) => Err(e),
    };
    let mut lines = Lines::<WindowRole>::default();
    let Some(ask) = lines.recv()? else {
        // The broker needed no window after all.
        return Ok(());
    };
    let cancel = Cancel::default();
    let pending = Pending::default();
    let inbox = Arc::new(Mutex::new(VecDeque::new()));
    // Later lines: the package report, the presence step's messages; the end of input: the
    // broker is gone.
    let (watch, slot, mail) = (cancel.clone(), pending.clone(), inbox.clone());
    let mut input = lines.into_input();
    std::thread::spawn(move || {
        loop {
            match child::read_line::<Ask>(&mut input) {
                Ok(Some(Ask::Package(report))) => slot.set(*report),
                Ok(Some(Ask::Who(msg))) => {
                    mail.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push_back(msg);
                    watch.wake();
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        watch.cancel();
    });
    let link = WhoLink::new(inbox, early, x11);
    let answer = match (ask, gui) {
        (_, Err(e)) => Answer::Failed(format!("the policy file: {e}")),
        (
            Ask::Confirm {
                mut tx,
                opts,
                package,
            },
            Ok(gui),
        ) => {
            tx.package = package.then_some(pending);
            match gui.confirm(&tx, &opts, &cancel, link) {
                Ok((d, blocked)) => {
                    if let Some(why) = blocked.filter(|_| d != Decision::Approve) {
                        Lines::<WindowRole>::send(&Answer::Blocked(why))?;
                    }
                    Answer::Decision(d)
                }
                Err(e) => failure(e),
            }
        }
        (Ask::Enroll { req, opts }, Ok(gui)) => match gui.enroll(&req, &opts, &cancel, link) {
            Ok(EnrollOutcome::Saved(t)) => Answer::Saved(t.expose().to_string()),
            Ok(EnrollOutcome::Cancelled(r)) => Answer::Cancelled(r),
            Err(e) => failure(e),
        },
        (Ask::Package(_) | Ask::Who(_), Ok(_)) => Answer::Failed("no window was asked for".into()),
    };
    Lines::<WindowRole>::send(&answer)
}

/// What the window says while it is still open: its Approve (or Save, with the token), then
/// the person's answers to the system.
fn early(e: Early) {
    let answer = match e {
        Early::Approved(None) => Answer::Decision(Decision::Approve),
        Early::Approved(Some(token)) => Answer::Saved(token),
        Early::Reply(reply) => Answer::Who(reply),
    };
    // A broker that is gone closes the window through the end of its input.
    let _ = Lines::<WindowRole>::send(&answer);
    if let Answer::Saved(mut t) | Answer::Who(Reply::Answer(mut t)) = answer {
        zeroize::Zeroize::zeroize(&mut t);
    }
}

/// Ends the window process now, answering `Failed(why)`: for a panic inside the window's
/// event loop, where unwinding through winit could abort the process before it answers.
/// Only ever a failure: nothing here can approve or carry a token.
pub(crate) fn fail_now(why: &str) -> ! {
    let _ = Lines::<WindowRole>::send(&Answer::Failed(why.to_string()));
    std::process::exit(1)
}

fn failure(e: Error) -> Answer {
    match e {
        Error::Refused(Refusal::UntrustedDisplay(why)) => Answer::Refused(why),
        Error::Display(why) => Answer::Failed(why),
        other => Answer::Failed(other.to_string()),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::ended;
    use std::process::Command;

    #[test]
    fn a_window_process_killed_by_a_signal_is_reported_as_abnormal() {
        let killed = Command::new("sh")
            .args(["-c", "kill -ABRT $$"])
            .status()
            .unwrap();
        assert_eq!(
            ended(Some(killed)),
            "it ended abnormally (signal 6) without an answer"
        );
        let exited = Command::new("sh").args(["-c", "exit 3"]).status().unwrap();
        assert_eq!(ended(Some(exited)), "it ended without an answer");
    }
}
