//! The pipeline, top to bottom: parse → environment → gate → store check → evidence →
//! window → release → audit. Each step is a call into its own module.

use std::io::{BufRead, Write};

use crate::audit;
use crate::env::Snapshot;
use crate::error::{DenyReason, Error};
use crate::evidence::{self, Requester};
use crate::gate::{self, CiPolicy, Options, Refusal, Verdict};
use crate::package;
use crate::presence::{self, Presence, PresenceError, Verified};
use crate::protocol::{self, Answer, Request};
use crate::request::Operation;
use crate::store::{RegistryKey, StoreError, TokenStore};
use crate::throttle;
use crate::token::Token;
use crate::ui::{
    Cancel, Decision, EnrollOutcome, EnrollRequest, PromptOptions, Prompter, Transaction,
};

/// How long a request waits for another open window before it is refused.
const PROMPT_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// What cargo receives for its header-less pre-flight read before `publish`: not the
/// secret. The real token goes only to the `publish` request, after a person approved it.
/// See `SECURITY.md`, "Read policy".
const PREFLIGHT_PLACEHOLDER: &str = "cargo-confirm-gui-preflight-placeholder-not-a-token";

/// What the pipeline needs from the outside world. The shipped binary passes the real
/// ones; test binaries pass scripted prompters.
pub struct Deps<'a> {
    /// The environment snapshot.
    pub env: Snapshot,
    /// Opens the token store (called only after the gate, so CI refusals never touch it).
    pub open_store: &'a dyn Fn() -> Result<Box<dyn TokenStore + 'a>, StoreError>,
    /// Shows windows.
    pub prompter: &'a dyn Prompter,
    /// How the system confirms who approved, where this install needs it
    /// ([`presence::required`]).
    pub presence: &'a dyn Presence,
    /// Checks the display answers and its server is the person's (called only when a
    /// window will open).
    pub probe_display: &'a dyn Fn(&Snapshot) -> Result<(), Refusal>,
    /// Why the administrator's policy file cannot be used, if it cannot: every request is
    /// then refused.
    pub policy_error: Option<String>,
    /// What the policy file allows requests to ask for.
    pub allowed: crate::policy::Requests,
    /// Inspects who asked.
    pub requester: &'a dyn Fn() -> Requester,
    /// Checks again, at Approve, that the requester is still the cargo first seen.
    pub recheck_requester: &'a dyn Fn(&Requester) -> Result<(), String>,
    /// Where the lock, the cooldown and the audit log live.
    pub state: crate::state::State,
}

/// Plugin mode: speaks cargo's credential protocol on `input`/`output`.
///
/// After the request is read, the rest of `input` is watched: if cargo goes away (end of
/// input) while the window is open, the window closes and nothing is released.
pub fn serve<R: BufRead + Send + 'static>(
    mut input: R,
    output: &mut impl Write,
    deps: &Deps<'_>,
) -> Result<(), Error> {
    protocol::write_hello(output)?;
    let line = match protocol::read_line(&mut input) {
        Ok(Some(line)) => line,
        // cargo closed the pipe without a request: nothing to do.
        Ok(None) => return Ok(()),
        Err(e) => return Ok(protocol::write_response(output, Err(e))?),
    };
    let cancel = Cancel::default();
    let watcher = cancel.clone();
    std::thread::spawn(move || {
        let mut sink = [0u8; 512];
        loop {
            match input.read(&mut sink) {
                Ok(0) | Err(_) => break,
                // cargo sends one request per process; anything more is ignored.
                Ok(_) => continue,
            }
        }
        watcher.cancel();
    });
    let result = protocol::parse(&line).and_then(|req| {
        drop(line);
        handle(&req, deps, &cancel)
    });
    protocol::write_response(output, result)?;
    Ok(())
}

/// Handles one request. Used by plugin mode, `--enroll` and `get`.
///
/// Every request that gets past the gate is logged, from the requester as it was pinned
/// once, here: the pre-flight placeholder and a pass to the next provider are not decisions.
pub(crate) fn handle(req: &Request, deps: &Deps<'_>, cancel: &Cancel) -> Result<Answer, Error> {
    if let Some(e) = &deps.policy_error {
        return Err(Error::Refused(Refusal::Policy(e.clone())));
    }
    let args: Vec<&str> = req.args.iter().map(String::as_str).collect();
    let policy = Options::from_args(&args)
        .and_then(|o| o.within(&deps.allowed))
        .map_err(Error::Args)?;
    let key = RegistryKey::parse(&req.index_url).map_err(Error::Args)?;
    let registry = req.registry_label();
    let asked = Asked {
        what: req.operation.describe(&registry),
        req,
        key,
        registry,
        policy,
    };
    if let Some(instead) = refused_by_policy(&req.operation, &deps.allowed) {
        return Outcome::from(Error::Refused(Refusal::Policy(instead))).audited(deps, req);
    }
    let outcome = match gate::decide(&req.operation, &deps.env, &asked.policy) {
        Verdict::PassToNext => return Err(Error::PassedToNext),
        Verdict::Preflight => return preflight(&asked, deps),
        Verdict::Unsupported => Outcome::from(Error::Unsupported),
        Verdict::Refuse(r) => Outcome::from(Error::Refused(r)),
        Verdict::ReleaseRead => release_read(&asked, deps),
        Verdict::Prompt => prompt(&asked, deps, cancel),
    };
    outcome.audited(deps, req)
}

/// Why the policy file refuses `op` before anything else: with `provider-mutations =
/// "refuse"`, cargo's own publish, yank and owners (the token would go to cargo), naming the
/// helper's command that does the same without giving it away.
fn refused_by_policy(op: &Operation, allowed: &crate::policy::Requests) -> Option<String> {
    if allowed.provider_mutations != crate::policy::ProviderMutations::Refuse {
        return None;
    }
    let instead = match op {
        Operation::Publish { .. } => "cargo confirm-gui publish",
        Operation::Yank { .. } | Operation::Unyank { .. } => "cargo confirm-gui yank",
        Operation::Owners { .. } => "cargo confirm-gui owner",
        _ => return None,
    };
    Some(format!(
        "the administrator's policy ({}, provider-mutations = \"refuse\") lets no token go to \
         cargo for a {}; run `{instead}` with the same arguments: the helper sends it itself, \
         and the token never leaves it",
        crate::policy::PATH,
        op.verb()
    ))
}

/// A request that passed the first checks: its policy, store key and wording.
struct Asked<'a> {
    req: &'a Request,
    key: RegistryKey,
    /// The registry, for messages.
    registry: String,
    /// The request's options within what the policy file allows.
    policy: Options,
    /// "publish of foo 1.2.3 to REGISTRY", for messages.
    what: String,
}

impl Asked<'_> {
    fn denied(&self, reason: DenyReason) -> Error {
        Error::Denied {
            what: self.what.clone(),
            reason,
        }
    }

    fn not_enrolled(&self) -> Error {
        Error::NotEnrolled {
            registry: self.registry.clone(),
        }
    }
}

/// What a request ended with, and what the audit log says about it: who asked (pinned once
/// per request), and what the window showed about the crate.
struct Outcome {
    answer: Result<Answer, Error>,
    requester: Option<Requester>,
    /// What the log says of an answer that released or stored something.
    approved: &'static str,
    /// A window was asked for: its outcome is a decision, whatever it is.
    windowed: bool,
    note: String,
}

impl From<Error> for Outcome {
    fn from(e: Error) -> Self {
        Outcome {
            answer: Err(e),
            requester: None,
            approved: "approved",
            windowed: false,
            note: String::new(),
        }
    }
}

impl Outcome {
    /// Writes the record, then gives the answer. A request refused before anyone was asked
    /// has no requester yet: it is pinned for the record.
    fn audited(self, deps: &Deps<'_>, req: &Request) -> Result<Answer, Error> {
        let said = match &self.answer {
            Ok(_) => self.approved.to_string(),
            Err(e) => e.report(),
        };
        let requester = self.requester.unwrap_or_else(|| (deps.requester)());
        let written = record(
            deps,
            req,
            &requester,
            (&said, windowless(&self.answer, self.windowed)),
            self.note,
        );
        match (written, self.answer) {
            (Ok(()), answer) => answer,
            // A token is released only once its record is written: in the sealed install an
            // approval that cannot be recorded releases nothing (the token is dropped, and
            // wiped, here). The default install's log is the person's own to delete anyway:
            // there a failure is said, not enforced.
            (Err(e), Ok(Answer::Token { .. })) if deps.state.must_record => {
                Err(Error::NotRecorded {
                    what: req.operation.describe(&req.registry_label()),
                    detail: e.to_string(),
                })
            }
            (Err(e), answer) => {
                eprintln!("cargo-confirm-gui: warning: the audit log was not written: {e}");
                answer
            }
        }
    }
}

/// cargo's header-less read before `publish`: a placeholder, never the token (SECURITY.md,
/// "Read policy"). Not logged: it decides nothing.
fn preflight(a: &Asked<'_>, deps: &Deps<'_>) -> Result<Answer, Error> {
    let store = (deps.open_store)()?;
    if !store.contains(&a.key)? {
        return Err(a.not_enrolled());
    }
    Ok(Answer::Token {
        token: Token::new(PREFLIGHT_PLACEHOLDER.into()),
        cache_session: false,
        operation_independent: false,
    })
}

/// `read = "allow"` in the policy file: an authenticated read without a window, so without a
/// person; the token goes only to a verified cargo.
fn release_read(a: &Asked<'_>, deps: &Deps<'_>) -> Outcome {
    let requester = (deps.requester)();
    let answer = (|| {
        if let Err(why) = (deps.recheck_requester)(&requester) {
            return Err(Error::Denied {
                what: format!("read of {} ({why})", a.registry),
                reason: DenyReason::NotCargo,
            });
        }
        let token = (deps.open_store)()?
            .get(&a.key)?
            .ok_or_else(|| a.not_enrolled())?;
        Ok(Answer::Token {
            token,
            cache_session: true,
            operation_independent: false,
        })
    })();
    Outcome {
        answer,
        requester: Some(requester),
        approved: "released without a window (read = \"allow\" in the policy file)",
        windowed: false,
        note: String::new(),
    }
}

/// A window: the display checked, the person's turn taken, then login or confirm and release.
fn prompt(a: &Asked<'_>, deps: &Deps<'_>, cancel: &Cancel) -> Outcome {
    let requester = (deps.requester)();
    let mut note = String::new();
    let mut windowed = false;
    let answer = (|| {
        open_display(a, deps)?;
        let store = (deps.open_store)()?;
        let existing = store.contains(&a.key)?;
        // Nothing to release, nothing to ask: "not found" comes before the cooldown.
        let login = matches!(a.req.operation, Operation::Login { .. });
        if !existing && !login {
            return Err(a.not_enrolled());
        }
        presence_ready(&a.req.operation, deps)?;
        let turn = Turn::take(&deps.state, a.policy.cooldown())?;
        // From here a window is shown (or tried): whatever follows is a decision.
        windowed = true;
        let tx = transaction(a, requester.clone(), existing, store.as_ref(), &turn, deps);
        let opts = PromptOptions {
            timeout: a.policy.timeout(),
            arm_delay: a.policy.arm_delay(),
        };
        if login {
            return self::login(a, tx, store.as_ref(), &turn, &opts, deps, cancel);
        }
        let judged = confirm(a, &tx, &opts, deps, cancel)?;
        note = judged.note.clone();
        let (answer, why) = release(a, judged, &tx, store.as_ref(), &turn, deps, cancel);
        if let Some(why) = why {
            note = format!("{note}; {why}");
        }
        answer
    })();
    Outcome {
        answer,
        requester: Some(requester),
        approved: "approved",
        windowed,
        note,
    }
}

/// Starts the window process and checks that the display is the person's. An unreachable
/// display is a headless machine (`--ci=pass` hands it on); one that answers but is not the
/// person's is refused whatever `--ci` says.
fn open_display(a: &Asked<'_>, deps: &Deps<'_>) -> Result<(), Error> {
    // The window process connects and checks the display while this process probes it and
    // reads the keychain; it shows nothing unless asked.
    if deps.env.x11_display.is_some() || deps.env.wayland_display.is_some() {
        // The authentication process first: once the window process is started the broker
        // denies itself the network, and a process started after that could not run the
        // setgid helpers PAM needs (`presence::pam`).
        deps.presence.prepare();
        deps.prompter.prepare();
    }
    match (deps.probe_display)(&deps.env) {
        Ok(()) => Ok(()),
        Err(Refusal::Unreachable(_)) if a.policy.ci == CiPolicy::Pass => Err(Error::PassedToNext),
        Err(r) => Err(Error::Refused(r)),
    }
}

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
struct Turn<'a> {
    state: &'a crate::state::State,
    _lock: Option<throttle::PromptLock>,
    recent: u32,
    /// The `pending` record is this turn's, to replace or remove when it ends.
    pending: std::cell::Cell<bool>,
    /// What the window must say about records that cannot be written (default install).
    unrecorded: Option<String>,
}

impl<'a> Turn<'a> {
    /// Waits up to [`PROMPT_WAIT`] for another window to close; a Deny while waiting starts
    /// the cooldown for this request too.
    fn take(state: &'a crate::state::State, cooldown: std::time::Duration) -> Result<Self, Error> {
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
        // Last: a refusal above must not leave a `pending` record behind.
        let pending = match state.run(|| throttle::record_pending(dir)) {
            Ok(()) => true,
            Err(e) => {
                failed("the cooldown", e)?;
                false
            }
        };
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

    /// The system did not confirm who approved: a Deny, with the system's words, and the
    /// cooldown starts as after any Deny (a caller that went away excepted).
    fn not_confirmed(&self, a: &Asked<'_>, e: PresenceError) -> Error {
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
    fn denied(&self, a: &Asked<'_>, reason: DenyReason) -> Error {
        self.record_deny(reason);
        a.denied(reason)
    }

    /// A person's no: the Deny's time replaces the `pending` record. Should this write fail,
    /// the `pending` record stays, and the next request still waits out a cooldown.
    fn record_deny(&self, reason: DenyReason) {
        if reason != DenyReason::CallerGone
            && let Some(d) = &self.state.throttle
            && self.state.run(|| throttle::record_deny(d)).is_ok()
        {
            self.pending.set(false);
        }
    }
}

impl Drop for Turn<'_> {
    /// Any ending but a recorded Deny removes this turn's `pending` record. Should that
    /// fail, the next request waits out a cooldown it did not need: failing closed.
    fn drop(&mut self) {
        if self.pending.get()
            && let Some(d) = &self.state.throttle
        {
            let _ = self.state.run(|| throttle::clear_pending(d));
        }
    }
}

/// What the window shows. A plan, a yank or an owner change is sent by this helper: nothing
/// goes to the requester, so whether it is a verified cargo is beside the point (who it is
/// still shows).
fn transaction(
    a: &Asked<'_>,
    mut requester: Requester,
    existing: bool,
    store: &dyn TokenStore,
    turn: &Turn<'_>,
    deps: &Deps<'_>,
) -> Transaction {
    if let Operation::PublishPlan { .. }
    | Operation::HelperYank { .. }
    | Operation::HelperOwners { .. } = a.req.operation
    {
        requester
            .warnings
            .retain(|w| !w.starts_with(evidence::NOT_CARGO));
    }
    let package = match &a.req.operation {
        // The window opens at once; what the .crate holds arrives while it is up.
        Operation::Publish { name, vers, cksum } => {
            Some(gather_package(name, vers, cksum, &requester, &deps.env))
        }
        _ => None,
    };
    requester.notices.extend(turn.unrecorded.clone());
    Transaction {
        registry: a.req.raw_registry_label(),
        operation: a.req.operation.clone(),
        login_fingerprint: None,
        existing_entry: existing,
        requester,
        store: store.describe(),
        recent_requests: turn.recent,
        package,
        presence: presence_method(&a.req.operation, deps),
    }
}

/// How the window names the presence step for `op`, when this install needs one.
fn presence_method(op: &Operation, deps: &Deps<'_>) -> Option<presence::Method> {
    presence::required(deps.presence, op)
        .then(|| deps.presence.method())
        .flatten()
}

/// Where `op` needs the system to confirm the person, that step must be able to run: checked
/// before any window, so a missing or unsafe setup is a refusal that names its fix.
fn presence_ready(op: &Operation, deps: &Deps<'_>) -> Result<(), Error> {
    if presence::required(deps.presence, op) {
        deps.presence
            .ready()
            .map_err(|e| Error::Refused(Refusal::Presence(e.to_string())))?;
    }
    Ok(())
}

/// The presence step, in the window still open after Approve, where `op` needs it. `None`:
/// this install or operation has no step.
fn confirm_presence(
    a: &Asked<'_>,
    turn: &Turn<'_>,
    deps: &Deps<'_>,
) -> Result<Option<Verified>, Error> {
    if !presence::required(deps.presence, &a.req.operation) {
        return Ok(None);
    }
    deps.prompter
        .authenticate(deps.presence, &a.what)
        .map(Some)
        .map_err(|e| turn.not_confirmed(a, e))
}

/// `cargo login`: the token cargo was given is stored after a window that shows its
/// fingerprint; with none, the enroll window takes one.
fn login(
    a: &Asked<'_>,
    mut tx: Transaction,
    store: &dyn TokenStore,
    turn: &Turn<'_>,
    opts: &PromptOptions,
    deps: &Deps<'_>,
    cancel: &Cancel,
) -> Result<Answer, Error> {
    let token = match &a.req.login_token {
        Some(token) => {
            token.validate(a.key.is_crates_io()).map_err(|why| {
                Error::Args(format!(
                    "cargo-confirm-gui: the token given to `cargo login` was not stored: {why}"
                ))
            })?;
            tx.login_fingerprint = Some(token.fingerprint());
            match deps.prompter.confirm(&tx, opts, cancel)? {
                Decision::Approve => token.clone(),
                Decision::Deny(r) => return Err(turn.denied(a, r)),
            }
        }
        None => {
            let er = EnrollRequest {
                registry: a.req.raw_registry_label(),
                crates_io: a.key.is_crates_io(),
                store: store.describe(),
                existing_entry: tx.existing_entry,
                login_url: a.req.login_url.clone(),
                requester: tx.requester.clone(),
                presence: tx.presence.clone(),
            };
            match deps.prompter.enroll(&er, opts, cancel)? {
                EnrollOutcome::Saved(t) => t,
                EnrollOutcome::Cancelled(r) => return Err(turn.denied(a, r)),
            }
        }
    };
    // Storing over a stored token: the system confirms who saved it first.
    confirm_presence(a, turn, deps)?;
    let label = format!("cargo registry token for {}", a.registry);
    store.set(&a.key, &label, &token)?;
    Ok(Answer::Login)
}

/// What the window said, and what the checks behind it found.
struct Judged<'t> {
    decision: Decision,
    /// The packaged crate's report, for a plugin-mode publish: `Some(None)` when the check
    /// did not finish.
    report: Option<Option<&'t package::Report>>,
    /// Why Approve cannot count, whatever the window said.
    blocked: Option<DenyReason>,
    /// What the window showed about the crates, for the log.
    note: String,
}

/// Shows the window, then waits for the crate check it showed.
fn confirm<'t>(
    a: &Asked<'_>,
    tx: &'t Transaction,
    opts: &PromptOptions,
    deps: &Deps<'_>,
    cancel: &Cancel,
) -> Result<Judged<'t>, Error> {
    let decision = deps.prompter.confirm(tx, opts, cancel)?;
    let report = tx.package.as_ref().map(|p| p.wait(EVIDENCE_WAIT));
    let mut note = match (&a.req.operation, report) {
        (Operation::PublishPlan { crates }, _) => crates
            .iter()
            .map(|c| format!("{} {}: {}", c.name, c.vers, c.report.summary()))
            .collect::<Vec<_>>()
            .join("; "),
        (_, Some(r)) => r.map_or_else(|| "the crate check did not finish".into(), |r| r.summary()),
        _ => String::new(),
    };
    if let Some(why) = deps.prompter.blocked() {
        if !note.is_empty() {
            note.push_str("; ");
        }
        note.push_str(&format!("Approve was unavailable: {why}"));
    }
    Ok(Judged {
        decision,
        blocked: blocked(&a.req.operation, report),
        report,
        note,
    })
}

/// The window keeps Approve unavailable until the crate check is done and when it fails;
/// this is the same rule again, for every prompter.
fn blocked(op: &Operation, report: Option<Option<&package::Report>>) -> Option<DenyReason> {
    if let Operation::PublishPlan { crates } = op {
        if crates.is_empty() {
            return Some(DenyReason::Unverified);
        }
        return crates.iter().find(|c| c.report.blocks_approve()).map(|c| {
            if c.report.check.blocks_approve() {
                DenyReason::Unverified
            } else {
                DenyReason::Suspect
            }
        });
    }
    match report? {
        None => Some(DenyReason::Unverified),
        Some(r) => match r.check {
            package::Check::Match(_) if r.blocks_approve() => Some(DenyReason::Suspect),
            package::Check::Match(_) => None,
            package::Check::Mismatch { .. } | package::Check::Forged(_) => {
                Some(DenyReason::Mismatch)
            }
            _ => Some(DenyReason::Unverified),
        },
    }
}

/// After the window: the answer, and what a last check found when it refused. Only here,
/// after a person's Approve and every check again, is the secret read.
fn release(
    a: &Asked<'_>,
    judged: Judged<'_>,
    tx: &Transaction,
    store: &dyn TokenStore,
    turn: &Turn<'_>,
    deps: &Deps<'_>,
    cancel: &Cancel,
) -> (Result<Answer, Error>, Option<String>) {
    let op = &a.req.operation;
    if let Decision::Deny(r) = judged.decision {
        return (Err(turn.denied(a, r)), None);
    }
    if cancel.is_cancelled() {
        return (Err(turn.denied(a, DenyReason::CallerGone)), None);
    }
    if let Some(reason) = judged.blocked {
        return (Err(a.denied(reason)), None);
    }
    // The window said what, the system says who: in the window still open after Approve.
    // Everything after this is checked again, as the person may have taken their time.
    if let Err(e) = confirm_presence(a, turn, deps) {
        let note = format!("presence: {}", e.report());
        return (Err(e), Some(note));
    }
    if cancel.is_cancelled() {
        return (Err(turn.denied(a, DenyReason::CallerGone)), None);
    }
    if op.releases_to_cargo() {
        if !tx.requester.parent_is_cargo {
            return (Err(a.denied(DenyReason::NotCargo)), None);
        }
        // The very cargo that asked, still alone on the pipes, still the same program.
        if let Err(why) = (deps.recheck_requester)(&tx.requester) {
            return (
                Err(a.denied(DenyReason::NotCargo)),
                Some(format!("cargo changed: {why}")),
            );
        }
    }
    // cargo reads the .crate again for the upload: one last hash just before the token goes
    // out. (A rewrite after this answer is not stopped here; publishing through the helper
    // closes that. SECURITY.md.)
    if let (Operation::Publish { cksum, .. }, Some(Some(r))) = (op, judged.report)
        && let Err(why) = package::recheck(r, cksum, &package::Limits::default())
    {
        return (Err(a.denied(DenyReason::Changed)), Some(why));
    }
    let answer = (|| {
        if *op == Operation::Logout {
            store.delete(&a.key)?;
            return Ok(Answer::Logout);
        }
        let token = store.get(&a.key)?.ok_or_else(|| Error::Vanished {
            registry: a.registry.clone(),
        })?;
        Ok(Answer::Token {
            token,
            cache_session: matches!(op, Operation::Read { .. }),
            operation_independent: false,
        })
    })();
    (answer, None)
}

/// `--migrate` (sealed install): moves the token for the request's registry from `from`
/// (the Secret Service) into the store of `deps`, after a person approves it in a window.
/// The window says when this replaces a token already in the sealed store; the old entry
/// is removed only after the new one has been written and read back. It takes the person's
/// turn like any window, and every outcome is logged.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) fn migrate(
    req: &Request,
    deps: &Deps<'_>,
    from: &dyn TokenStore,
    cancel: &Cancel,
) -> Result<(), Error> {
    let key = RegistryKey::parse(&req.index_url).map_err(Error::Args)?;
    let registry = req.registry_label();
    let asked = Asked {
        what: Operation::Migrate.describe(&registry),
        req,
        key,
        registry,
        policy: Options::default(),
    };
    let requester = (deps.requester)();
    let mut windowed = false;
    let answer = (|| {
        may_prompt(&req.operation, deps, &asked.policy)?;
        let turn = Turn::take(&deps.state, asked.policy.cooldown())?;
        windowed = true;
        move_token(&asked, &requester, &turn, deps, from, cancel)
    })();
    let said = match &answer {
        Ok(note) => note.clone(),
        Err(e) => e.report(),
    };
    // The token was moved (or not) before this record: a failure here is said, and changes
    // nothing. The turn checked that the log could be written before the window.
    if let Err(e) = record(
        deps,
        req,
        &requester,
        (&said, windowless(&answer, windowed)),
        String::new(),
    ) {
        eprintln!("cargo-confirm-gui: warning: the audit log was not written: {e}");
    }
    answer.map(|_| ())
}

/// Whether a window that no cargo request asked for (`--migrate`, `setup`) may open, checked
/// in this order: the gate must say to prompt, the policy file must be usable, and the
/// display must be the person's.
fn may_prompt(operation: &Operation, deps: &Deps<'_>, policy: &Options) -> Result<(), Error> {
    match gate::decide(operation, &deps.env, policy) {
        Verdict::Prompt => {}
        Verdict::Refuse(r) => return Err(Error::Refused(r)),
        _ => return Err(Error::Unsupported),
    }
    if let Some(e) = &deps.policy_error {
        return Err(Error::Refused(Refusal::Policy(e.clone())));
    }
    // Before any window process: see `open_display`.
    deps.presence.prepare();
    (deps.probe_display)(&deps.env).map_err(Error::Refused)
}

/// `--migrate`'s window, the person's turn taken: the token is read once from `from`, shown
/// by fingerprint, and only after Approve written to the sealed store, read back, and then
/// deleted from `from`. Returns what the log says.
fn move_token(
    asked: &Asked<'_>,
    requester: &Requester,
    turn: &Turn<'_>,
    deps: &Deps<'_>,
    from: &dyn TokenStore,
    cancel: &Cancel,
) -> Result<String, Error> {
    // Regression, "Nothing the caller supplies" (8): the item was read only after
    // Approve, so a program could replace it while the window was up. The value moved is
    // read once, now; the window shows its fingerprint, and exactly it is stored.
    let Some(token) = from.get(&asked.key)? else {
        return Err(Error::NotEnrolled {
            registry: format!("{} in the {}", asked.registry, from.describe()),
        });
    };
    let to = (deps.open_store)()?;
    let mut requester = requester.clone();
    requester.notices.extend(turn.unrecorded.clone());
    let tx = Transaction {
        registry: asked.req.raw_registry_label(),
        operation: Operation::Migrate,
        login_fingerprint: Some(token.fingerprint()),
        existing_entry: to.contains(&asked.key)?,
        requester,
        store: format!("from the {} to the {}", from.describe(), to.describe()),
        recent_requests: turn.recent,
        package: None,
        presence: None,
    };
    presence_ready(&Operation::Migrate, deps)?;
    let tx = Transaction {
        presence: presence_method(&Operation::Migrate, deps),
        ..tx
    };
    let opts = PromptOptions {
        timeout: asked.policy.timeout(),
        arm_delay: asked.policy.arm_delay(),
    };
    if let Decision::Deny(reason) = deps.prompter.confirm(&tx, &opts, cancel)? {
        return Err(turn.denied(asked, reason));
    }
    // Replacing the sealed store's token: the system confirms who approved first.
    confirm_presence(asked, turn, deps)?;
    store_read_back(
        to.as_ref(),
        &asked.key,
        &asked.registry,
        &token,
        "the token did not read back as written; the Secret Service entry was kept",
    )?;
    // Whatever the item holds now goes: no copy in the Secret Service is left.
    from.delete(&asked.key)?;
    Ok(format!(
        "moved into the sealed store (fingerprint {})",
        token.fingerprint()
    ))
}

/// Stores `token` for `registry` under `key` and reads it back: anything but the very
/// token written is a store failure (`kept` says which copy stays), so the caller's copy
/// is not removed.
fn store_read_back(
    store: &dyn TokenStore,
    key: &RegistryKey,
    registry: &str,
    token: &Token,
    kept: &str,
) -> Result<(), Error> {
    store.set(key, &format!("cargo registry token for {registry}"), token)?;
    let written = store.get(key)?;
    if written.as_ref().map(|t| t.expose()) != Some(token.expose()) {
        return Err(Error::Store(StoreError::Platform {
            store: store.describe(),
            detail: kept.into(),
        }));
    }
    Ok(())
}

/// One clear-text token `setup` found: the store key, what the window shows, and the token.
pub(crate) struct Adoptee {
    /// The registry's store key.
    pub(crate) key: RegistryKey,
    /// What the window shows (no secret).
    pub(crate) item: crate::request::AdoptItem,
    pub(crate) token: Token,
}

/// `setup`: stores each token of `found` after one window that lists them all (by
/// fingerprint, where each was found and the index it goes under), reading each back. A
/// registry that already has a stored token keeps it: that clear copy is only removed. The
/// caller removes the clear copies only after this returned `Ok`.
pub(crate) fn adopt(found: &[Adoptee], deps: &Deps<'_>, cancel: &Cancel) -> Result<(), Error> {
    let operation = Operation::Adopt {
        tokens: found.iter().map(|f| f.item.clone()).collect(),
    };
    let policy = Options::default();
    may_prompt(&operation, deps, &policy)?;
    // One window at a time, the cooldown, the count: as for every window.
    let turn = Turn::take(&deps.state, policy.cooldown())?;
    // From here a window is shown (or tried): whatever follows is a decision.
    let store = (deps.open_store)()?;
    let mut requester = (deps.requester)();
    requester.notices.extend(turn.unrecorded.clone());
    let tx = adopt_transaction(found, &operation, &requester, store.as_ref(), turn.recent);
    let opts = PromptOptions {
        timeout: policy.timeout(),
        arm_delay: policy.arm_delay(),
    };
    let what = operation.describe("");
    let outcome = match deps.prompter.confirm(&tx, &opts, cancel)? {
        Decision::Deny(reason) => {
            turn.record_deny(reason);
            Err(Error::Denied { what, reason })
        }
        Decision::Approve => store_adopted(found, store.as_ref()),
    };
    record_adopted(found, operation, deps, &requester, &outcome);
    outcome
}

/// What `setup`'s window shows: how many registries, whether any already has a stored
/// token, and where they go.
fn adopt_transaction(
    found: &[Adoptee],
    operation: &Operation,
    requester: &Requester,
    store: &dyn TokenStore,
    recent_requests: u32,
) -> Transaction {
    Transaction {
        registry: format!(
            "{} registr{}",
            found.len(),
            if found.len() == 1 { "y" } else { "ies" }
        ),
        operation: operation.clone(),
        login_fingerprint: None,
        existing_entry: found.iter().any(|f| f.item.already_stored),
        requester: requester.clone(),
        store: store.describe(),
        recent_requests,
        package: None,
        presence: None,
    }
}

/// After Approve in `setup`'s window: each token whose registry has none stored yet is
/// stored and read back, stopping at the first that fails.
fn store_adopted(found: &[Adoptee], store: &dyn TokenStore) -> Result<(), Error> {
    found
        .iter()
        .filter(|f| !f.item.already_stored)
        .try_for_each(|f| {
            store_read_back(
                store,
                &f.key,
                &f.item.registry,
                &f.token,
                "a token did not read back as written; its clear copy was kept",
            )
        })
}

/// The audit record of `setup`'s window, under the first registry's index (none when
/// nothing was found).
fn record_adopted(
    found: &[Adoptee],
    operation: Operation,
    deps: &Deps<'_>,
    requester: &Requester,
    outcome: &Result<(), Error>,
) {
    let said = match outcome {
        Ok(()) => format!(
            "stored {}",
            found
                .iter()
                .map(|f| format!("{} ({})", f.item.registry, f.item.fingerprint))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Err(e) => e.report(),
    };
    if let Some(first) = found.first() {
        let req = Request {
            index_url: first.key.as_str().to_string(),
            registry_name: None,
            operation,
            login_token: None,
            login_url: None,
            args: Vec::new(),
        };
        // The tokens were stored (or not) before this record: a failure is said, and changes
        // nothing. The turn checked that the log could be written before the window.
        if let Err(e) = record(
            deps,
            &req,
            requester,
            (&said, windowless(outcome, true)),
            String::new(),
        ) {
            eprintln!("cargo-confirm-gui: warning: the audit log was not written: {e}");
        }
    }
}

/// How long an approved publish waits for a crate check that has not finished.
const EVIDENCE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Starts reading the packaged `.crate` in the background.
fn gather_package(
    name: &str,
    vers: &str,
    cksum: &str,
    requester: &Requester,
    env: &Snapshot,
) -> package::Pending {
    let pending = package::Pending::default();
    let places = package::Places {
        cwd: requester.parent().and_then(|p| p.cwd.clone().ok()),
        argv: requester
            .parent()
            .map(|p| p.argv.clone())
            .unwrap_or_default(),
        target_dir: env.target_dir.clone(),
        cargo_home: env.cargo_home.clone(),
        requester_pid: requester
            .parent()
            .filter(|_| requester.parent_is_cargo)
            .map(|p| p.pid),
    };
    let (name, vers, cksum) = (name.to_string(), vers.to_string(), cksum.to_string());
    let cargo_home = env.cargo_home.clone();
    let slot = pending.clone();
    std::thread::spawn(move || {
        // This thread reads files the user controls: in a sealed install it gives up the
        // helper's group for good first, or reads nothing (the report never comes, and the
        // window keeps Approve unavailable: "the crate check did not finish").
        #[cfg(target_os = "linux")]
        if let Err(e) = crate::sealed::drop_for_good_on_this_thread() {
            eprintln!("cargo-confirm-gui: {e}; the .crate is not read");
            return;
        }
        slot.set(package::gather(
            &name,
            &vers,
            &cksum,
            &places,
            cargo_home.as_deref(),
            &package::Limits::default(),
        ));
    });
    pending
}

/// Whether an answer came without a window: a refusal before any window was asked for.
/// Whatever follows a window (a person's no, a failure after their yes), and every release,
/// is a decision. Red team: judging this by the kind of error let a flood of windowless
/// `Denied` answers through, and let a failure after an Approve be dropped.
fn windowless<T>(answer: &Result<T, Error>, windowed: bool) -> bool {
    answer.is_err() && !windowed
}

/// One audit record. The requester is the one pinned for this request (its executable as
/// read while the parent was pinned), not `/proc` read again.
fn record(
    deps: &Deps<'_>,
    req: &Request,
    requester: &Requester,
    (outcome, windowless): (&str, bool),
    evidence: String,
) -> std::io::Result<()> {
    let detail = req.operation.detail();
    let requester = match requester.parent().map(|p| &p.exe) {
        Some(Ok(exe)) => exe.display().to_string(),
        Some(Err(why)) => format!("(unreadable: {why})"),
        None => "(none)".to_string(),
    };
    // No log at all: a default install with no state directory (the sealed install always
    // has one). There is nothing to write to, and nothing that failed.
    let Some(log) = &deps.state.audit else {
        return Ok(());
    };
    let mut outcome = outcome.to_string();
    // A request refused before any window (no person asked, nothing released) has fields a
    // caller chose: such records are few and short, so that a flood of them cannot rotate
    // the decisions out of the log. Every decision is written, with the count left out.
    if let Some(throttle) = &deps.state.throttle {
        match deps
            .state
            .run(|| throttle::log_record(throttle, windowless))
        {
            // Left out on purpose (a flood refused without a window): counted instead.
            None => return Ok(()),
            Some(0) => {}
            Some(n) => outcome.push_str(&format!(
                " (after {n} request(s) refused without a window that were not written one by one)"
            )),
        }
    }
    let (registry, detail) = if windowless {
        (short(&req.index_url), short(&detail))
    } else {
        (req.index_url.clone(), detail)
    };
    deps.state.run(|| {
        audit::append(
            log,
            &audit::Record {
                time: audit::now(),
                registry: &registry,
                operation: req.operation.verb(),
                detail,
                requester,
                outcome,
                evidence,
            },
        )
    })
}

/// At most 200 bytes of `s`, on a character boundary, marked when cut.
fn short(s: &str) -> String {
    const MAX: usize = 200;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &s[..end], s.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::Requester;
    use crate::store::memory::MemoryStore;
    use std::cell::{Cell, RefCell};

    type WhileShown<'a> = Box<dyn Fn(&Transaction) + 'a>;

    /// Answers windows from a script; counts how many opened. Test-only.
    #[derive(Default)]
    struct Scripted<'a> {
        decision: Option<Decision>,
        enrolled: RefCell<Option<Token>>,
        shown: Cell<u32>,
        last: RefCell<Option<Transaction>>,
        /// Runs while the "window" is up, before it answers.
        while_shown: Option<WhileShown<'a>>,
        /// What the person types when the system asks who they are.
        typed: RefCell<Vec<crate::presence::Reply>>,
    }

    impl Scripted<'_> {
        fn answering(decision: Decision) -> Self {
            Scripted {
                decision: Some(decision),
                ..Default::default()
            }
        }
    }

    impl Prompter for Scripted<'_> {
        fn confirm(
            &self,
            tx: &Transaction,
            _: &PromptOptions,
            _: &Cancel,
        ) -> Result<Decision, Error> {
            self.shown.set(self.shown.get() + 1);
            *self.last.borrow_mut() = Some(tx.clone());
            if let Some(f) = &self.while_shown {
                f(tx);
            }
            Ok(self.decision.unwrap_or(Decision::Deny(DenyReason::Timeout)))
        }
        fn enroll(
            &self,
            _: &EnrollRequest,
            _: &PromptOptions,
            _: &Cancel,
        ) -> Result<EnrollOutcome, Error> {
            self.shown.set(self.shown.get() + 1);
            Ok(match self.enrolled.borrow_mut().take() {
                Some(t) => EnrollOutcome::Saved(t),
                None => EnrollOutcome::Cancelled(DenyReason::Clicked),
            })
        }
        fn authenticate(
            &self,
            presence: &dyn Presence,
            what: &str,
        ) -> Result<Verified, PresenceError> {
            let typed = self.typed.borrow_mut().split_off(0);
            let mut window = crate::presence::tests::Typing::answering(&typed);
            presence::run(presence, what, &mut window, presence::ATTEMPT_LIMIT)
        }
    }

    const URL: &str = "sparse+http://127.0.0.1:1/index/";

    fn desktop() -> Snapshot {
        Snapshot {
            x11_display: Some(":0".into()),
            ..Default::default()
        }
    }

    fn run(
        store: &MemoryStore,
        prompter: &Scripted,
        env: Snapshot,
        req: &Request,
    ) -> Result<Answer, Error> {
        run_asked_by(store, prompter, env, req, &verified_cargo)
    }

    /// A requester that passed the cargo checks (they need real pipes; see
    /// `evidence::cargo` for their own tests).
    fn verified_cargo() -> Requester {
        Requester {
            parent_is_cargo: true,
            ..Default::default()
        }
    }

    #[test]
    fn a_token_goes_only_to_a_verified_cargo_still_the_same_at_approve() {
        let store = enrolled();
        let p = Scripted::answering(Decision::Approve);
        let yank = req(Operation::Yank {
            name: "a".into(),
            vers: "1.0.0".into(),
        });
        // Not cargo (or not verified): a person's Approve releases nothing.
        let e = run_asked_by(&store, &p, desktop(), &yank, &Requester::default).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Denied {
                    reason: DenyReason::NotCargo,
                    ..
                }
            ),
            "{e}"
        );
        // Verified at first, but no longer at Approve (another holder of the pipes, say).
        let open = || -> Result<Box<dyn TokenStore + '_>, StoreError> { Ok(Box::new(&store)) };
        let deps = Deps {
            env: desktop(),
            open_store: &open,
            prompter: &p,
            presence: &crate::presence::ClickOnly,
            probe_display: &|_| Ok(()),
            policy_error: None,
            allowed: Default::default(),
            requester: &verified_cargo,
            recheck_requester: &|_| Err("another process also holds this helper's stdin".into()),
            state: Default::default(),
        };
        let e = handle(&yank, &deps, &Cancel::default()).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Denied {
                    reason: DenyReason::NotCargo,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(store.secret_reads(), 0);
        // Releasing nothing to cargo needs no cargo: a logout asked by a shell.
        let p = Scripted::answering(Decision::Approve);
        assert!(matches!(
            run_asked_by(
                &store,
                &p,
                desktop(),
                &req(Operation::Logout),
                &Requester::default
            ),
            Ok(Answer::Logout)
        ));
    }

    #[test]
    #[allow(
        clippy::needless_update,
        reason = "State has a field more on Linux (the sealed group)"
    )]
    fn a_flood_of_windowless_refusals_cannot_rotate_decisions_out_of_the_log() {
        // Red team of "Adopt it in one step": ~800 requests the gate refused (`CI=1`), each
        // with a 1 KiB index URL and crate name, rotated every decision out of the sealed log.
        let d = tempfile::tempdir().unwrap();
        let log = d.path().join("audit.jsonl");
        let store = enrolled();
        let p = Scripted::answering(Decision::Approve);
        let open = || -> Result<Box<dyn TokenStore + '_>, StoreError> { Ok(Box::new(&store)) };
        let deps = |env: Snapshot| Deps {
            env,
            open_store: &open,
            prompter: &p,
            presence: &crate::presence::ClickOnly,
            probe_display: &|_| Ok(()),
            policy_error: None,
            allowed: Default::default(),
            requester: &verified_cargo,
            recheck_requester: &|_| Ok(()),
            state: crate::state::State {
                throttle: Some(d.path().join("throttle")),
                audit: Some(log.clone()),
                ..Default::default()
            },
        };
        let approved = req(Operation::Yank {
            name: "a".into(),
            vers: "1.0.0".into(),
        });
        handle(&approved, &deps(desktop()), &Cancel::default()).unwrap();
        let ci = Snapshot {
            ci_marker: Some("CI".into()),
            ..desktop()
        };
        let mut flood = req(Operation::Yank {
            name: "x".repeat(1024),
            vers: "1.0.0".into(),
        });
        flood.index_url = format!("sparse+https://{}.example/", "w".repeat(1000));
        for _ in 0..300 {
            assert!(handle(&flood, &deps(ci.clone()), &Cancel::default()).is_err());
        }
        handle(&approved, &deps(desktop()), &Cancel::default()).unwrap();
        let text = std::fs::read_to_string(&log).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.len(),
            2 + throttle::WINDOWLESS_RECORDS,
            "{}",
            lines.len()
        );
        assert!(
            lines[0].contains("\"outcome\":\"approved\""),
            "{}",
            lines[0]
        );
        assert!(
            lines.iter().all(|l| l.len() < 2048),
            "a refusal's fields were not cut short"
        );
        let last = lines.last().unwrap();
        assert!(
            last.contains(&format!(
                "approved (after {} request(s) refused without a window",
                300 - throttle::WINDOWLESS_RECORDS
            )),
            "{last}"
        );
        assert!(
            !std::path::Path::new(&crate::audit::rotated_path(&log)).exists(),
            "the flood rotated the log"
        );
        assert!(matches!(
            crate::audit::verify(&crate::audit::split_lines(text.as_bytes())),
            crate::audit::Verdict::Verified { .. }
        ));
    }

    #[test]
    fn a_flood_of_reads_refused_without_a_window_is_bounded_too() {
        // Red team of the flood fix: `read = "allow"` refuses a requester that is not cargo
        // with a `Denied`, with no window; judged by the kind of error, each was a decision.
        let d = tempfile::tempdir().unwrap();
        let log = d.path().join("audit.jsonl");
        let store = enrolled();
        let p = Scripted::answering(Decision::Approve);
        let open = || -> Result<Box<dyn TokenStore + '_>, StoreError> { Ok(Box::new(&store)) };
        #[allow(
            clippy::needless_update,
            reason = "State has a field more on Linux (the sealed group)"
        )]
        let state = crate::state::State {
            throttle: Some(d.path().join("throttle")),
            audit: Some(log.clone()),
            ..Default::default()
        };
        let deps = Deps {
            env: desktop(),
            open_store: &open,
            prompter: &p,
            presence: &crate::presence::ClickOnly,
            probe_display: &|_| Ok(()),
            policy_error: None,
            allowed: crate::policy::Requests {
                read: crate::policy::ReadPolicy::Allow,
                ..Default::default()
            },
            requester: &Requester::default,
            recheck_requester: &|_| Err("not cargo".into()),
            state,
        };
        let mut read = req(Operation::Read {
            authenticated: true,
        });
        read.args = vec!["--read=allow".into()];
        read.index_url = format!("sparse+https://{}.example/", "w".repeat(1000));
        for _ in 0..100 {
            assert!(handle(&read, &deps, &Cancel::default()).is_err());
        }
        let text = std::fs::read_to_string(&log).unwrap();
        assert_eq!(text.lines().count(), throttle::WINDOWLESS_RECORDS);
        assert!(text.lines().all(|l| l.len() < 2048));
        assert_eq!(p.shown.get(), 0);
    }

    fn run_asked_by(
        store: &MemoryStore,
        prompter: &Scripted,
        env: Snapshot,
        req: &Request,
        requester: &dyn Fn() -> Requester,
    ) -> Result<Answer, Error> {
        let open = || -> Result<Box<dyn TokenStore + '_>, StoreError> { Ok(Box::new(store)) };
        let deps = Deps {
            env,
            open_store: &open,
            prompter,
            presence: &crate::presence::ClickOnly,
            probe_display: &|_| Ok(()),
            policy_error: None,
            allowed: Default::default(),
            requester,
            recheck_requester: &|_| Ok(()),
            state: Default::default(),
        };
        handle(req, &deps, &Cancel::default())
    }

    fn req(op: Operation) -> Request {
        Request {
            index_url: URL.into(),
            registry_name: Some("local".into()),
            login_token: match op {
                Operation::Login { token_given: true } => Some(Token::new("new-token".into())),
                _ => None,
            },
            operation: op,
            login_url: None,
            args: vec![],
        }
    }

    fn enrolled() -> MemoryStore {
        let s = MemoryStore::default();
        s.set(
            &RegistryKey::from_index_url(URL),
            "l",
            &Token::new("the-token".into()),
        )
        .unwrap();
        s
    }

    fn publish() -> Operation {
        Operation::Publish {
            name: "a".into(),
            vers: "1.0.0".into(),
            cksum: "0".repeat(64),
        }
    }

    #[test]
    fn approve_reads_the_secret_only_after_the_window() {
        let store = enrolled();
        let p = Scripted::answering(Decision::Approve);
        let yank = Operation::Yank {
            name: "a".into(),
            vers: "1.0.0".into(),
        };
        match run(&store, &p, desktop(), &req(yank)).unwrap() {
            Answer::Token {
                token,
                cache_session,
                operation_independent,
            } => {
                assert_eq!(token.expose(), "the-token");
                assert!(!cache_session && !operation_independent);
            }
            _ => panic!(),
        }
        assert_eq!((p.shown.get(), store.secret_reads()), (1, 1));
    }

    /// A requester whose working directory holds `target/package/a-1.0.0.crate`.
    fn cargo_in(dir: &std::path::Path) -> Requester {
        Requester {
            chain: vec![evidence::ProcessInfo {
                pid: 1,
                exe: Ok("/usr/bin/cargo".into()),
                cmdline: "cargo publish".into(),
                argv: vec!["cargo".into(), "publish".into()],
                cwd: Ok(dir.to_path_buf()),
            }],
            parent_is_cargo: true,
            ..Default::default()
        }
    }

    #[test]
    fn an_approved_publish_whose_crate_does_not_match_releases_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let pkg = dir.path().join("target/package");
        std::fs::create_dir_all(&pkg).unwrap();
        let bytes = package::tests::clean_crate("a", "1.0.0", "// not what cargo hashed");
        std::fs::write(pkg.join("a-1.0.0.crate"), &bytes).unwrap();
        let store = enrolled();
        // A prompter that approves whatever it is shown: the pipeline still says no.
        let p = Scripted::answering(Decision::Approve);
        let e = run_asked_by(&store, &p, desktop(), &req(publish()), &|| {
            cargo_in(dir.path())
        })
        .unwrap_err();
        assert!(
            matches!(
                e,
                Error::Denied {
                    reason: DenyReason::Mismatch,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(store.secret_reads(), 0);
        let pending = p.last.borrow().as_ref().unwrap().package.clone().unwrap();
        let report = pending.wait(EVIDENCE_WAIT);
        assert!(matches!(
            report.unwrap().check,
            package::Check::Mismatch { .. }
        ));

        // The same request with the file's real checksum is released.
        let cksum = package::hex(&<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        let mut good = req(publish());
        good.operation = Operation::Publish {
            name: "a".into(),
            vers: "1.0.0".into(),
            cksum,
        };
        assert!(run_asked_by(&store, &p, desktop(), &good, &|| cargo_in(dir.path())).is_ok());
        assert_eq!(store.secret_reads(), 1);
    }

    #[test]
    fn a_plan_is_released_only_when_every_crate_in_it_was_read_and_a_person_approved() {
        let store = enrolled();
        let limits = package::Limits::default();
        let dir = std::path::Path::new("/t/package");
        let good = |name: &str| {
            let (report, cksum) = package::report_for_bytes(
                name,
                "1.0.0",
                &package::tests::clean_crate(name, "1.0.0", ""),
                &dir.join(format!("{name}-1.0.0.crate")),
                None,
                &limits,
            );
            crate::request::PlanCrate {
                name: name.into(),
                vers: "1.0.0".into(),
                cksum,
                report: Box::new(report),
                deps: Vec::new(),
            }
        };
        let mut bad = good("b");
        bad.report.check = package::Check::Unreadable {
            path: dir.join("b-1.0.0.crate"),
            why: "too large".into(),
        };
        // The helper uploads a plan itself: nothing goes to the requester, so a requester
        // that is not cargo is no reason to refuse, and its cargo warnings are not shown.
        let not_cargo = || Requester {
            warnings: vec![format!("{} not cargo", evidence::NOT_CARGO)],
            ..Default::default()
        };
        let approve = Scripted::answering(Decision::Approve);
        for (crates, released) in [
            (vec![good("a"), good("b")], true),
            (vec![good("a"), bad], false),
            (Vec::new(), false),
        ] {
            let r = req(Operation::PublishPlan { crates });
            let before = store.secret_reads();
            let out = run_asked_by(&store, &approve, desktop(), &r, &not_cargo);
            assert_eq!(out.is_ok(), released, "{out:?}");
            assert_eq!(store.secret_reads() - before, u32::from(released));
            let shown = approve.last.borrow().clone().unwrap();
            assert!(shown.requester.warnings.is_empty());
        }
        let deny = Scripted::answering(Decision::Deny(DenyReason::Clicked));
        let r = req(Operation::PublishPlan {
            crates: vec![good("a")],
        });
        let before = store.secret_reads();
        assert!(run_asked_by(&store, &deny, desktop(), &r, &not_cargo).is_err());
        assert_eq!(store.secret_reads(), before);
    }

    #[test]
    fn a_publish_whose_crate_cannot_be_found_releases_nothing() {
        // Regression, "Nothing the caller supplies" (4): a forged publish from a directory
        // with no .crate showed "not verified", and Approve stayed available.
        let dir = tempfile::tempdir().unwrap();
        let store = enrolled();
        let p = Scripted::answering(Decision::Approve);
        let e = run_asked_by(&store, &p, desktop(), &req(publish()), &|| {
            cargo_in(dir.path())
        })
        .unwrap_err();
        assert!(
            matches!(
                e,
                Error::Denied {
                    reason: DenyReason::Unverified,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("never shown"), "{e}");
        assert_eq!(store.secret_reads(), 0);
    }

    #[test]
    fn a_crate_rewritten_while_the_window_is_up_releases_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let pkg = dir.path().join("target/package");
        std::fs::create_dir_all(&pkg).unwrap();
        let file = pkg.join("a-1.0.0.crate");
        let saw = package::tests::clean_crate("a", "1.0.0", "// what the person saw");
        std::fs::write(&file, &saw).unwrap();
        let cksum = package::hex(&<sha2::Sha256 as sha2::Digest>::digest(&saw));
        let mut r = req(publish());
        r.operation = Operation::Publish {
            name: "a".into(),
            vers: "1.0.0".into(),
            cksum,
        };
        let store = enrolled();
        // The check finishes while the window is up, then the file is rewritten in place.
        let rewritten = file.clone();
        let p = Scripted {
            decision: Some(Decision::Approve),
            while_shown: Some(Box::new(move |tx: &Transaction| {
                let report = tx.package.as_ref().unwrap().wait(EVIDENCE_WAIT).unwrap();
                assert!(matches!(report.check, package::Check::Match(_)));
                std::fs::write(&rewritten, b"what the worm uploads").unwrap();
            })),
            ..Default::default()
        };
        let e = run_asked_by(&store, &p, desktop(), &r, &|| cargo_in(dir.path())).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Denied {
                    reason: DenyReason::Changed,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(store.secret_reads(), 0);
    }

    fn migrate_with(from: &MemoryStore, to: &MemoryStore, p: &Scripted) -> Result<(), Error> {
        let open = || -> Result<Box<dyn TokenStore + '_>, StoreError> { Ok(Box::new(to)) };
        let deps = Deps {
            env: desktop(),
            open_store: &open,
            prompter: p,
            presence: &crate::presence::ClickOnly,
            probe_display: &|_| Ok(()),
            policy_error: None,
            allowed: Default::default(),
            requester: &Requester::default,
            recheck_requester: &|_| Ok(()),
            state: Default::default(),
        };
        migrate(&req(Operation::Migrate), &deps, from, &Cancel::default())
    }

    #[test]
    fn migrate_moves_the_token_only_after_approve_and_says_when_it_replaces() {
        let from = enrolled();
        let to = MemoryStore::default();
        let key = RegistryKey::from_index_url(URL);
        let run_with = |p: &Scripted| migrate_with(&from, &to, p);
        let deny = Scripted::answering(Decision::Deny(DenyReason::Clicked));
        assert!(run_with(&deny).is_err());
        // Read once, before the window, to show its fingerprint; nothing moved on a Deny.
        assert_eq!(from.secret_reads(), 1);
        assert_eq!(
            deny.last.borrow().as_ref().unwrap().login_fingerprint,
            Some(Token::new("the-token".into()).fingerprint())
        );
        assert!(from.contains(&key).unwrap() && !to.contains(&key).unwrap());

        let approve = Scripted::answering(Decision::Approve);
        run_with(&approve).unwrap();
        assert_eq!(to.get(&key).unwrap().unwrap().expose(), "the-token");
        assert!(
            !from.contains(&key).unwrap(),
            "the Secret Service copy is removed"
        );
        let shown = approve.last.borrow().clone().unwrap();
        assert_eq!(shown.operation, Operation::Migrate);
        assert!(!shown.existing_entry);

        // Nothing left to move: no window.
        let e = run_with(&approve).unwrap_err();
        assert!(matches!(e, Error::NotEnrolled { .. }), "{e}");
        assert_eq!(approve.shown.get(), 1);

        // A second token for the same registry: the window says it replaces one.
        from.set(&key, "l", &Token::new("newer".into())).unwrap();
        run_with(&approve).unwrap();
        assert!(approve.last.borrow().as_ref().unwrap().existing_entry);
        assert_eq!(to.get(&key).unwrap().unwrap().expose(), "newer");

        // Regression, "Nothing the caller supplies" (8): the item is rewritten while the
        // window is up; what is stored is what the window showed.
        from.set(&key, "l", &Token::new("shown".into())).unwrap();
        let swap_from = &from;
        let swapping = Scripted {
            decision: Some(Decision::Approve),
            while_shown: Some(Box::new(move |_: &Transaction| {
                let k = RegistryKey::from_index_url(URL);
                swap_from
                    .set(&k, "l", &Token::new("swapped".into()))
                    .unwrap();
            })),
            ..Default::default()
        };
        run_with(&swapping).unwrap();
        assert_eq!(to.get(&key).unwrap().unwrap().expose(), "shown");
        assert!(!from.contains(&key).unwrap());
    }

    #[test]
    fn deny_never_reads_the_secret() {
        let store = enrolled();
        let p = Scripted::answering(Decision::Deny(DenyReason::Clicked));
        let e = run(&store, &p, desktop(), &req(publish())).unwrap_err();
        assert!(matches!(
            e,
            Error::Denied {
                reason: DenyReason::Clicked,
                ..
            }
        ));
        assert_eq!(store.secret_reads(), 0);
    }

    #[test]
    fn preflight_gets_a_placeholder_without_a_window_or_a_secret_read() {
        let store = enrolled();
        let p = Scripted::default();
        match run(
            &store,
            &p,
            desktop(),
            &req(Operation::Read {
                authenticated: false,
            }),
        )
        .unwrap()
        {
            Answer::Token {
                token,
                cache_session,
                ..
            } => {
                assert_eq!(token.expose(), PREFLIGHT_PLACEHOLDER);
                assert!(!cache_session);
            }
            _ => panic!(),
        }
        assert_eq!((p.shown.get(), store.secret_reads()), (0, 0));
    }

    #[test]
    fn unenrolled_registry_is_not_found_without_a_window() {
        let store = MemoryStore::default();
        let p = Scripted::answering(Decision::Approve);
        for op in [
            publish(),
            Operation::Read {
                authenticated: false,
            },
            Operation::Logout,
        ] {
            let e = run(&store, &p, desktop(), &req(op)).unwrap_err();
            assert!(matches!(e, Error::NotEnrolled { .. }), "{e}");
        }
        assert_eq!(p.shown.get(), 0);
    }

    #[test]
    fn authenticated_read_prompts_and_caches_for_the_session() {
        let store = enrolled();
        let p = Scripted::answering(Decision::Approve);
        match run(
            &store,
            &p,
            desktop(),
            &req(Operation::Read {
                authenticated: true,
            }),
        )
        .unwrap()
        {
            Answer::Token { cache_session, .. } => assert!(cache_session),
            _ => panic!(),
        }
        assert_eq!(p.shown.get(), 1);
        // --read=allow in cargo's config: refused, it would loosen the policy...
        let mut r = req(Operation::Read {
            authenticated: true,
        });
        r.args = vec!["--read=allow".into()];
        let p = Scripted::default();
        let e = run(&store, &p, desktop(), &r).unwrap_err();
        assert!(matches!(e, Error::Args(_)), "{e}");
        assert_eq!((p.shown.get(), store.secret_reads()), (0, 1));
        // ... unless the root-owned policy file allows it: then no window.
        let open = || -> Result<Box<dyn TokenStore + '_>, StoreError> { Ok(Box::new(&store)) };
        let deps = Deps {
            env: desktop(),
            open_store: &open,
            prompter: &p,
            presence: &crate::presence::ClickOnly,
            probe_display: &|_| Ok(()),
            policy_error: None,
            allowed: crate::policy::Requests {
                read: crate::policy::ReadPolicy::Allow,
                ..Default::default()
            },
            requester: &verified_cargo,
            recheck_requester: &|_| Ok(()),
            state: Default::default(),
        };
        assert!(handle(&r, &deps, &Cancel::default()).is_ok());
        assert_eq!((p.shown.get(), store.secret_reads()), (0, 2));
    }

    #[test]
    fn locked_store_is_a_clear_error_and_opens_no_window() {
        let mut store = MemoryStore::default();
        store.locked = true;
        let p = Scripted::answering(Decision::Approve);
        let e = run(&store, &p, desktop(), &req(publish())).unwrap_err();
        assert!(
            e.report().contains("locked") && e.report().contains("Unlock it"),
            "{e}"
        );
        assert_eq!(p.shown.get(), 0);
    }

    #[test]
    fn login_with_token_needs_approval_and_deny_keeps_the_old_token() {
        let store = enrolled();
        let key = RegistryKey::from_index_url(URL);
        let p = Scripted::answering(Decision::Deny(DenyReason::Clicked));
        assert!(
            run(
                &store,
                &p,
                desktop(),
                &req(Operation::Login { token_given: true })
            )
            .is_err()
        );
        assert_eq!(store.get(&key).unwrap().unwrap().expose(), "the-token");
        let tx = p.last.borrow().clone().unwrap();
        assert!(tx.existing_entry);
        assert_eq!(
            tx.login_fingerprint,
            Some(Token::new("new-token".into()).fingerprint())
        );
        let p = Scripted::answering(Decision::Approve);
        assert!(matches!(
            run(
                &store,
                &p,
                desktop(),
                &req(Operation::Login { token_given: true })
            ),
            Ok(Answer::Login)
        ));
        assert_eq!(store.get(&key).unwrap().unwrap().expose(), "new-token");
    }

    #[test]
    fn login_without_token_opens_enroll() {
        let store = MemoryStore::default();
        let p = Scripted {
            enrolled: RefCell::new(Some(Token::new("pasted".into()))),
            ..Default::default()
        };
        assert!(matches!(
            run(
                &store,
                &p,
                desktop(),
                &req(Operation::Login { token_given: false })
            ),
            Ok(Answer::Login)
        ));
        assert_eq!(
            store
                .get(&RegistryKey::from_index_url(URL))
                .unwrap()
                .unwrap()
                .expose(),
            "pasted"
        );
        let p = Scripted::default();
        let e = run(
            &store,
            &p,
            desktop(),
            &req(Operation::Login { token_given: false }),
        )
        .unwrap_err();
        assert!(matches!(e, Error::Denied { .. }));
    }

    #[test]
    fn crates_io_login_token_is_validated() {
        let store = MemoryStore::default();
        let mut r = req(Operation::Login { token_given: true });
        r.index_url = crate::store::CRATES_IO_SPARSE.into();
        let p = Scripted::answering(Decision::Approve);
        let e = run(&store, &p, desktop(), &r).unwrap_err();
        assert!(e.to_string().contains("`cio` followed by 32"), "{e}");
        assert_eq!(p.shown.get(), 0);
    }

    #[test]
    fn logout_removes_only_after_approval() {
        let store = enrolled();
        let key = RegistryKey::from_index_url(URL);
        let p = Scripted::answering(Decision::Deny(DenyReason::Timeout));
        assert!(run(&store, &p, desktop(), &req(Operation::Logout)).is_err());
        assert!(store.contains(&key).unwrap());
        let p = Scripted::answering(Decision::Approve);
        assert!(matches!(
            run(&store, &p, desktop(), &req(Operation::Logout)),
            Ok(Answer::Logout)
        ));
        assert!(!store.contains(&key).unwrap());
    }

    /// Issue "Fail closed whatever the caller sets": a record the install needs that cannot be
    /// written (a file-size limit, a full disk) stops the request in the sealed install, and
    /// is said in the window in the default one.
    #[allow(
        clippy::needless_update,
        reason = "State has a field more on Linux (the sealed group)"
    )]
    mod unrecorded {
        use super::*;

        fn yank() -> Request {
            req(Operation::Yank {
                name: "a".into(),
                vers: "1.0.0".into(),
            })
        }

        fn state(dir: &std::path::Path, must_record: bool) -> crate::state::State {
            crate::state::State {
                throttle: Some(dir.join("throttle")),
                audit: Some(dir.join("log").join("audit.jsonl")),
                must_record,
                ..Default::default()
            }
        }

        fn deps<'a>(
            open: &'a dyn Fn() -> Result<Box<dyn TokenStore + 'a>, StoreError>,
            p: &'a Scripted<'a>,
            state: crate::state::State,
        ) -> Deps<'a> {
            Deps {
                env: desktop(),
                open_store: open,
                prompter: p,
                presence: &crate::presence::ClickOnly,
                probe_display: &|_| Ok(()),
                policy_error: None,
                allowed: Default::default(),
                requester: &verified_cargo,
                recheck_requester: &|_| Ok(()),
                state,
            }
        }

        #[test]
        fn a_log_that_cannot_be_written_stops_the_sealed_install_before_any_window() {
            let d = tempfile::tempdir().unwrap();
            // The log's directory is a file: nothing can be written there.
            std::fs::write(d.path().join("log"), "").unwrap();
            let store = enrolled();
            let open = || -> Result<Box<dyn TokenStore + '_>, StoreError> { Ok(Box::new(&store)) };
            let p = Scripted::answering(Decision::Approve);
            let e = handle(
                &yank(),
                &deps(&open, &p, state(d.path(), true)),
                &Cancel::default(),
            )
            .unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::Unrecorded {
                        what: "the audit log",
                        ..
                    }
                ),
                "{e}"
            );
            assert_eq!(p.shown.get(), 0);
            assert_eq!(store.secret_reads(), 0);
            // The default install goes on, and the window says so.
            let p = Scripted::answering(Decision::Approve);
            let answer = handle(
                &yank(),
                &deps(&open, &p, state(d.path(), false)),
                &Cancel::default(),
            );
            assert!(matches!(answer, Ok(Answer::Token { .. })));
            let shown = p.last.borrow().clone().unwrap();
            assert!(
                shown
                    .requester
                    .notices
                    .iter()
                    .any(|n| n.contains("may not be recorded")),
                "{:?}",
                shown.requester.notices
            );
        }

        #[test]
        fn an_approval_whose_record_cannot_be_written_releases_nothing_in_the_sealed_install() {
            let d = tempfile::tempdir().unwrap();
            let log = d.path().join("log").join("audit.jsonl");
            let store = enrolled();
            let open = || -> Result<Box<dyn TokenStore + '_>, StoreError> { Ok(Box::new(&store)) };
            // While the window is up, the log stops taking writes (a full disk, say).
            let broken = log.clone();
            let p = Scripted {
                decision: Some(Decision::Approve),
                while_shown: Some(Box::new(move |_: &Transaction| {
                    let _ = std::fs::remove_file(&broken);
                    std::fs::create_dir_all(&broken).unwrap();
                })),
                ..Default::default()
            };
            let e = handle(
                &yank(),
                &deps(&open, &p, state(d.path(), true)),
                &Cancel::default(),
            )
            .unwrap_err();
            assert!(matches!(e, Error::NotRecorded { .. }), "{e}");
            assert!(e.to_string().contains("Nothing was released"), "{e}");
        }

        #[test]
        #[cfg(unix)]
        fn a_deny_whose_record_cannot_be_written_still_starts_the_cooldown() {
            let d = tempfile::tempdir().unwrap();
            let store = enrolled();
            let open = || -> Result<Box<dyn TokenStore + '_>, StoreError> { Ok(Box::new(&store)) };
            // While the window is up, the cooldown file can no longer be replaced.
            let throttle = d.path().join("throttle");
            let t = throttle.clone();
            let p = Scripted {
                decision: Some(Decision::Deny(DenyReason::Clicked)),
                while_shown: Some(Box::new(move |_: &Transaction| {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&t, std::fs::Permissions::from_mode(0o500)).unwrap();
                })),
                ..Default::default()
            };
            let _ = handle(
                &yank(),
                &deps(&open, &p, state(d.path(), true)),
                &Cancel::default(),
            );
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&throttle, std::fs::Permissions::from_mode(0o700))
                    .unwrap();
            }
            // Root ignores the directory's mode: there the Deny was written; either way the
            // next request waits out a cooldown.
            let p = Scripted::answering(Decision::Approve);
            let e = handle(
                &yank(),
                &deps(&open, &p, state(d.path(), true)),
                &Cancel::default(),
            )
            .unwrap_err();
            assert!(matches!(e, Error::Cooldown { .. }), "{e}");
            assert_eq!(p.shown.get(), 0);
        }
    }

    /// Presence, as the sealed install has it: the system must confirm the person after
    /// Approve (issue "Presence the desktop cannot forge").
    mod presence_step {
        use super::*;
        use crate::presence::Reply;
        use crate::presence::tests::Knows;

        fn deps_with<'a, 'b: 'a>(
            open: &'a dyn Fn() -> Result<Box<dyn TokenStore + 'a>, StoreError>,
            p: &'a Scripted<'b>,
            presence: &'a dyn Presence,
            state: crate::state::State,
        ) -> Deps<'a> {
            Deps {
                env: desktop(),
                open_store: open,
                prompter: p,
                presence,
                probe_display: &|_| Ok(()),
                policy_error: None,
                allowed: Default::default(),
                requester: &verified_cargo,
                recheck_requester: &|_| Ok(()),
                state,
            }
        }

        fn yank() -> Request {
            req(Operation::Yank {
                name: "a".into(),
                vers: "1.0.0".into(),
            })
        }

        #[test]
        fn a_click_and_the_right_password_release_and_nothing_less_does() {
            let store = enrolled();
            let open = || -> Result<Box<dyn TokenStore + '_>, StoreError> { Ok(Box::new(&store)) };
            let p = Scripted::answering(Decision::Approve);
            *p.typed.borrow_mut() = vec![Reply::Answer("pw".into())];
            let deps = deps_with(&open, &p, &Knows("pw"), Default::default());
            assert!(matches!(
                handle(&yank(), &deps, &Cancel::default()),
                Ok(Answer::Token { .. })
            ));
            // The window named the step before Approve.
            let shown = p.last.borrow().clone().unwrap();
            assert_eq!(shown.presence.unwrap().asks, "your password");
            assert_eq!(store.secret_reads(), 1);

            for typed in [
                vec![Reply::Answer("wrong".into())],
                vec![],
                vec![Reply::Cancel(DenyReason::Clicked)],
            ] {
                let d = tempfile::tempdir().unwrap();
                let state = crate::state::State {
                    throttle: Some(d.path().join("throttle")),
                    ..Default::default()
                };
                let p = Scripted::answering(Decision::Approve);
                *p.typed.borrow_mut() = typed;
                let open =
                    || -> Result<Box<dyn TokenStore + '_>, StoreError> { Ok(Box::new(&store)) };
                let deps = deps_with(&open, &p, &Knows("pw"), state);
                let e = handle(&yank(), &deps, &Cancel::default()).unwrap_err();
                assert!(matches!(e, Error::NotConfirmed { .. }), "{e}");
                assert_eq!(store.secret_reads(), 1, "nothing more was read");
                // The cooldown follows, as after a Deny: the next request gets no window.
                let again = handle(&yank(), &deps, &Cancel::default()).unwrap_err();
                assert!(matches!(again, Error::Cooldown { .. }), "{again}");
                assert_eq!(p.shown.get(), 1);
            }
        }

        #[test]
        fn a_step_that_cannot_run_is_refused_before_any_window() {
            struct Broken;
            impl Presence for Broken {
                fn method(&self) -> Option<presence::Method> {
                    Knows("pw").method()
                }
                fn ready(&self) -> Result<(), PresenceError> {
                    Err(PresenceError::Unavailable(
                        "the PAM service file is missing; sudo scripts/install-sealed.sh writes it"
                            .into(),
                    ))
                }
                fn begin(
                    &self,
                    _: &str,
                    _: std::sync::mpsc::Sender<presence::Event>,
                ) -> Result<Box<dyn presence::Attempt>, PresenceError> {
                    unreachable!("never asked: ready() failed")
                }
            }
            let store = enrolled();
            let open = || -> Result<Box<dyn TokenStore + '_>, StoreError> { Ok(Box::new(&store)) };
            let p = Scripted::answering(Decision::Approve);
            let deps = deps_with(&open, &p, &Broken, Default::default());
            let e = handle(&yank(), &deps, &Cancel::default()).unwrap_err();
            assert!(matches!(e, Error::Refused(Refusal::Presence(_))), "{e}");
            assert!(e.to_string().contains("install-sealed.sh"), "{e}");
            assert_eq!(p.shown.get(), 0);
            assert_eq!(store.secret_reads(), 0);
            // Removing a token needs the step too: refused the same way, the token kept.
            let p = Scripted::answering(Decision::Approve);
            let deps = deps_with(&open, &p, &Broken, Default::default());
            assert!(handle(&req(Operation::Logout), &deps, &Cancel::default()).is_err());
            assert_eq!(p.shown.get(), 0);
            assert!(store.contains(&RegistryKey::from_index_url(URL)).unwrap());
        }

        #[test]
        fn every_write_to_the_store_asks_the_first_login_and_a_logout_too() {
            // Red team of "Presence the desktop cannot forge": with the step only for storing
            // over a stored token, a logout and then a first login (two clicks, no password)
            // replaced the person's token with the worm's.
            let store = enrolled();
            let open = || -> Result<Box<dyn TokenStore + '_>, StoreError> { Ok(Box::new(&store)) };
            let login = req(Operation::Login { token_given: true });
            // Over the stored one, with a wrong password: the old token stays.
            let p = Scripted::answering(Decision::Approve);
            *p.typed.borrow_mut() = vec![Reply::Answer("wrong".into())];
            let deps = deps_with(&open, &p, &Knows("pw"), Default::default());
            assert!(handle(&login, &deps, &Cancel::default()).is_err());
            let key = RegistryKey::from_index_url(URL);
            assert_eq!(store.get(&key).unwrap().unwrap().expose(), "the-token");
            // A logout, with a wrong password: the token stays.
            let p = Scripted::answering(Decision::Approve);
            *p.typed.borrow_mut() = vec![Reply::Answer("wrong".into())];
            let deps = deps_with(&open, &p, &Knows("pw"), Default::default());
            assert!(handle(&req(Operation::Logout), &deps, &Cancel::default()).is_err());
            assert_eq!(store.get(&key).unwrap().unwrap().expose(), "the-token");
            // A first token, with a wrong password or an empty one: nothing stored.
            let empty = MemoryStore::default();
            for typed in ["wrong", ""] {
                let open =
                    || -> Result<Box<dyn TokenStore + '_>, StoreError> { Ok(Box::new(&empty)) };
                let p = Scripted::answering(Decision::Approve);
                *p.typed.borrow_mut() = vec![Reply::Answer(typed.into())];
                let deps = deps_with(&open, &p, &Knows(""), Default::default());
                assert!(
                    handle(&login, &deps, &Cancel::default()).is_err(),
                    "{typed:?}"
                );
                assert!(!empty.contains(&key).unwrap());
            }
            // With the right one, it is stored.
            let open = || -> Result<Box<dyn TokenStore + '_>, StoreError> { Ok(Box::new(&empty)) };
            let p = Scripted::answering(Decision::Approve);
            *p.typed.borrow_mut() = vec![Reply::Answer("pw".into())];
            let deps = deps_with(&open, &p, &Knows("pw"), Default::default());
            assert!(matches!(
                handle(&login, &deps, &Cancel::default()),
                Ok(Answer::Login)
            ));
        }
    }
}
