//! The pipeline, top to bottom: parse → environment → gate → store check → evidence →
//! window → presence → release → audit. Each step is a call into its own module.
//!
//! This file holds a cargo request's path ([`serve`], `handle`, `prompt`); the rest is one
//! file per part: `turn` (one person's turn at a window: lock, cooldown, count, and the
//! records a defence needs), `decide` (what the window shows, the presence step, the
//! release), `record` (the audit record), and the flows that are not cargo's own request:
//! `migrate` (`--migrate`) and `adopt` (`setup`).

use std::io::{BufRead, Write};

use crate::audit;
use crate::env::Snapshot;
use crate::error::{DenyReason, Error};
use crate::evidence::Requester;
use crate::gate::{self, CiPolicy, Options, Refusal, Verdict};
use crate::package;
use crate::presence::{self, Presence, PresenceError, Verified};
use crate::protocol::{self, Answer, Request};
use crate::request::{CargoRequest, HelperRequest, Operation, StoreChange};
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
    /// What the policy file asks of a publish's provenance.
    pub publish_rules: crate::policy::PublishRules,
    /// Inspects who asked.
    pub requester: &'a dyn Fn() -> Requester,
    /// Checks again, at Approve, that the requester is still the cargo first seen.
    pub recheck_requester: &'a dyn Fn(&Requester) -> Result<(), crate::evidence::NotCargo>,
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
        let result = handle(&req, deps, &cancel);
        tell_the_person(&req, &result);
        result
    });
    protocol::write_response(output, result)?;
    Ok(())
}

/// What cargo does not say itself, on stderr (which cargo passes through): that a login
/// stored the token, and, when none is stored, how to store one. cargo's own "no token
/// found" names only `cargo login`, and says nothing after a login.
fn tell_the_person(req: &Request, result: &Result<Answer, Error>) {
    match result {
        Ok(Answer::Login) => eprintln!(
            "cargo-confirm-gui: stored the token for {}; it is released only after you \
             approve a request in a window",
            req.registry_label()
        ),
        Err(Error::NotEnrolled { registry }) => {
            let flag = match &req.registry_name {
                Some(name) if crate::registries::is_cargo_name(name) => {
                    format!("--registry {name}")
                }
                _ => "--registry NAME".to_string(),
            };
            eprintln!(
                "cargo-confirm-gui: no token for {registry} is stored (cargo tries its next \
                 credential provider, if any). Store one with `cargo login` (a window asks \
                 for it) or `cargo-confirm-gui --enroll {flag}`"
            );
        }
        _ => {}
    }
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
        .map_err(|e| Error::Args(e.to_string()))?;
    let key = RegistryKey::parse(&req.index_url)?;
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
/// "refuse"`, cargo's own publish, yank and owners, and authenticated reads (each would hand
/// cargo the token), naming the helper's command that does the same without giving it away.
fn refused_by_policy(op: &Operation, allowed: &crate::policy::Requests) -> Option<String> {
    if allowed.provider_mutations != crate::policy::ProviderMutations::Refuse {
        return None;
    }
    let instead = match op {
        Operation::Cargo(CargoRequest::Publish { .. }) => "cargo confirm-gui publish",
        Operation::Cargo(CargoRequest::Yank { .. }) => "cargo confirm-gui yank",
        Operation::Cargo(CargoRequest::Owners { .. }) => "cargo confirm-gui owner",
        // Red team: an authenticated read hands cargo the very token a publish uses (a worm's
        // "registry" answering 401 got it). Under "refuse", no token goes to cargo at all.
        Operation::Cargo(CargoRequest::Read {
            authenticated: true,
        }) => {
            return Some(format!(
                "the administrator's policy ({}, provider-mutations = \"refuse\") lets no token go \
                 to cargo, and an authenticated read would hand cargo the registry's token; \
                 publish, yank and change owners with `cargo confirm-gui publish`, `yank` and \
                 `owner`",
                crate::policy::PATH
            ));
        }
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
    /// Where the bytes the window showed came from, for the record.
    provenance: Option<serde_json::Value>,
}

impl From<Error> for Outcome {
    fn from(e: Error) -> Self {
        Outcome {
            answer: Err(e),
            requester: None,
            approved: "approved",
            windowed: false,
            note: String::new(),
            provenance: None,
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
            (&req.index_url, &req.operation),
            &requester,
            (&said, windowless(&self.answer, self.windowed)),
            self.note,
            self.provenance,
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
        provenance: None,
    }
}

/// A window: the display checked, the person's turn taken, then login or confirm and release.
fn prompt(a: &Asked<'_>, deps: &Deps<'_>, cancel: &Cancel) -> Outcome {
    let requester = (deps.requester)();
    let mut note = String::new();
    let mut provenance = None;
    let mut windowed = false;
    let answer = (|| {
        open_display(a, deps)?;
        let store = (deps.open_store)()?;
        let existing = store.contains(&a.key)?;
        // Nothing to release, nothing to ask: "not found" comes before the cooldown.
        let login = matches!(a.req.operation, Operation::Store(StoreChange::Login { .. }));
        if !existing && !login {
            return Err(a.not_enrolled());
        }
        presence_ready(&a.req.operation, deps)?;
        let turn = Turn::take(&deps.state, a.policy.cooldown())?;
        // From here a window is shown (or tried): whatever follows is a decision.
        windowed = true;
        let tx = transaction(a, requester.clone(), existing, store.as_ref(), &turn, deps);
        let opts = PromptOptions::from(&a.policy);
        let answer = (|| {
            if login {
                return self::login(a, tx, store.as_ref(), &turn, &opts, deps, cancel);
            }
            let judged = confirm(a, &tx, &opts, deps, cancel)?;
            note = judged.note.clone();
            provenance = judged.provenance.clone();
            let (answer, why) = release(a, judged, &tx, store.as_ref(), &turn, deps, cancel);
            if let Some(why) = why {
                note = format!("{note}; {why}");
            }
            answer
        })();
        // Carried out, or refused by the window process before it showed anything (the
        // display not the person's): no cooldown. Every other ending leaves it (`Turn`).
        if matches!(answer, Ok(_) | Err(Error::Refused(_))) {
            turn.settled();
        }
        answer
    })();
    Outcome {
        answer,
        requester: Some(requester),
        approved: "approved",
        windowed,
        note,
        provenance,
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

mod adopt;
mod decide;
mod migrate;
mod record;
#[cfg(test)]
mod tests;
mod turn;

pub(crate) use adopt::{Adoptee, adopt};
use decide::*;
#[cfg_attr(not(target_os = "linux"), allow(unused_imports))]
pub(crate) use migrate::migrate;
use migrate::{may_prompt, store_read_back};
use record::*;
use turn::Turn;
