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

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use super::{Cancel, Decision, EnrollOutcome, EnrollRequest, PromptOptions, Prompter, Transaction};
use crate::error::{DenyReason, Error};
use crate::gate::Refusal;
use crate::package::{Pending, Report};
use crate::policy::Policy;
use crate::token::Token;

/// The hidden first argument that starts the window process.
pub const WINDOW_ARG: &str = "__window";

/// What the broker asks for.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
enum Ask {
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
}

/// What the window process answers.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
enum Answer {
    Decision(Decision),
    Saved(String),
    Cancelled(DenyReason),
    /// The display was refused (not the person's screen).
    Refused(String),
    /// The window could not be shown.
    Failed(String),
}

/// Shows windows through a window process. The broker's one [`Prompter`].
#[derive(Default)]
pub struct WindowProcess {
    /// The Wayland socket the window goes to, when it goes to Wayland.
    wayland_socket: Option<std::path::PathBuf>,
    /// Started by [`Prompter::prepare`], not yet asked anything.
    ready: std::sync::Mutex<Option<Started>>,
    /// A broker starts one window process in its life (see [`WindowProcess::start`]).
    started: std::sync::atomic::AtomicBool,
}

/// A window process and its two pipes.
struct Started {
    child: std::process::Child,
    to: std::process::ChildStdin,
    from: std::process::ChildStdout,
}

impl WindowProcess {
    /// Windows through window processes that go to `wayland_socket` when set.
    pub fn new(wayland_socket: Option<std::path::PathBuf>) -> Self {
        WindowProcess {
            wayland_socket,
            ready: Default::default(),
            started: Default::default(),
        }
    }

    fn start(&self) -> Result<Started, Error> {
        let failed = |e: &dyn std::fmt::Display| Error::Display(format!("the window process: {e}"));
        // One per broker: after the first, the broker denies itself the network, which sets
        // no_new_privs, and a second window process would start without the setgid bit,
        // dumpable (traceable by any program of the user's) until it hardens itself.
        if self.started.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Err(failed(&"this helper has already shown a window"));
        }
        let mut cmd = Command::new("/proc/self/exe");
        cmd.arg(WINDOW_ARG)
            .env_clear()
            .envs(crate::env::window_environment(
                self.wayland_socket.as_deref(),
            ))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().map_err(|e| failed(&e))?;
        // From here on the broker needs no network either. (Not before: seccomp needs
        // no_new_privs, which would have kept the window process from starting setgid, that
        // is non-dumpable and in secure mode from its first instruction.)
        if let Err(e) = crate::harden::deny_network() {
            eprintln!("cargo-confirm-gui: note: could not deny this process the network ({e})");
        }
        let (Some(to), Some(from)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(failed(&"no pipe"));
        };
        Ok(Started { child, to, from })
    }

    fn run(&self, ask: &Ask, package: Option<Pending>, cancel: &Cancel) -> Result<Answer, Error> {
        let failed = |e: &dyn std::fmt::Display| Error::Display(format!("the window process: {e}"));
        let ready = self.ready.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Started {
            mut child,
            mut to,
            from,
        } = match ready {
            Some(s) => s,
            None => self.start()?,
        };
        let pid = child.id();
        let line = serde_json::to_string(ask).map_err(|e| failed(&e))?;
        writeln!(to, "{line}").map_err(|e| failed(&e))?;
        // The caller going away closes the window: end the window process.
        #[cfg(target_os = "linux")]
        cancel.set_waker(move || {
            let _ = rustix::process::kill_process(
                rustix::process::Pid::from_raw(pid as i32).expect("a child's pid"),
                rustix::process::Signal::TERM,
            );
        });
        // Elsewhere the window process ends when its stdin closes, with the broker.
        #[cfg(not(target_os = "linux"))]
        let _ = pid;
        let writer = std::thread::spawn(move || {
            if let Some(report) = package.as_ref().and_then(|p| p.wait_forever()) {
                let line = serde_json::to_string(&Ask::Package(Box::new(report.clone())))
                    .unwrap_or_default();
                let _ = writeln!(to, "{line}");
            }
            // Keep the pipe open until the window answers: its end means "caller gone".
            to
        });
        let mut reply = String::new();
        let read = BufReader::new(from).read_line(&mut reply);
        let status = child.wait();
        drop(writer);
        if cancel.is_cancelled() {
            return Ok(Answer::Cancelled(DenyReason::CallerGone));
        }
        match read {
            Ok(n) if n > 0 => {}
            _ => return Err(failed(&ended(status.ok()))),
        }
        let answer = serde_json::from_str(reply.trim_end()).map_err(|e| failed(&e));
        zeroize::Zeroize::zeroize(&mut reply);
        answer
    }
}

impl Drop for WindowProcess {
    fn drop(&mut self) {
        // Started but never asked (not enrolled, a cooldown, a refusal): it has shown
        // nothing; end it.
        if let Some(mut s) = self
            .ready
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            drop(s.to);
            let _ = s.child.kill();
            let _ = s.child.wait();
        }
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
        match self.run(&ask, tx.package.clone(), cancel)? {
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
        match self.run(&ask, None, cancel)? {
            Answer::Saved(t) => Ok(EnrollOutcome::Saved(Token::new(t))),
            Answer::Cancelled(r) => Ok(EnrollOutcome::Cancelled(r)),
            other => Err(into_error(other)),
        }
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
pub(crate) fn serve(env: crate::env::Snapshot) -> Result<(), String> {
    let gui = match Policy::load() {
        Ok(policy) => Ok(super::window::GuiPrompter::new(env, policy.display)),
        Err(e) => Err(e),
    };
    let mut input = BufReader::new(std::io::stdin());
    let mut line = String::new();
    input.read_line(&mut line).map_err(|e| e.to_string())?;
    if line.is_empty() {
        // The broker needed no window after all.
        return Ok(());
    }
    let ask: Ask = serde_json::from_str(line.trim_end()).map_err(|e| e.to_string())?;

    let cancel = Cancel::default();
    let pending = Pending::default();
    // Later lines: the package report; the end of input: the broker is gone.
    let (watch, slot) = (cancel.clone(), pending.clone());
    std::thread::spawn(move || {
        let mut line = String::new();
        loop {
            line.clear();
            match input.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if let Ok(Ask::Package(report)) = serde_json::from_str(line.trim_end()) {
                        slot.set(*report);
                    }
                }
            }
        }
        watch.cancel();
    });
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
            match gui.confirm(&tx, &opts, &cancel) {
                Ok(d) => Answer::Decision(d),
                Err(e) => failure(e),
            }
        }
        (Ask::Enroll { req, opts }, Ok(gui)) => match gui.enroll(&req, &opts, &cancel) {
            Ok(EnrollOutcome::Saved(t)) => Answer::Saved(t.expose().to_string()),
            Ok(EnrollOutcome::Cancelled(r)) => Answer::Cancelled(r),
            Err(e) => failure(e),
        },
        (Ask::Package(_), Ok(_)) => Answer::Failed("no window was asked for".into()),
    };
    let mut text = serde_json::to_string(&answer).map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    let written = writeln!(out, "{text}").and_then(|_| out.flush());
    zeroize::Zeroize::zeroize(&mut text);
    written.map_err(|e| e.to_string())
}

/// Ends the window process now, answering `Failed(why)`: for a panic inside the window's
/// event loop, where unwinding through winit could abort the process before it answers.
/// Only ever a failure: nothing here can approve or carry a token.
pub(crate) fn fail_now(why: &str) -> ! {
    let text = serde_json::to_string(&Answer::Failed(why.to_string())).unwrap_or_default();
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{text}").and_then(|_| out.flush());
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
