//! The pipeline, top to bottom: parse → environment → gate → store check → evidence →
//! window → release → audit. Each step is a call into its own module.

use std::io::{BufRead, Write};

use crate::audit;
use crate::env::Snapshot;
use crate::error::{DenyReason, Error};
use crate::evidence::{self, Requester};
use crate::gate::{self, CiPolicy, Operation, Options, Refusal, Verdict};
use crate::package;
use crate::protocol::{self, Answer, Request};
use crate::store::{RegistryKey, StoreError, TokenStore};
use crate::throttle;
use crate::token::Token;
use crate::ui::{
    Cancel, Decision, EnrollOutcome, EnrollRequest, PromptOptions, Prompter, Transaction,
};

/// How long a request waits for another open window before it is refused.
pub const PROMPT_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// What cargo receives for its header-less pre-flight read before `publish`: not the
/// secret. The real token goes only to the `publish` request, after a person approved it.
/// See `SECURITY.md`, "Read policy".
pub const PREFLIGHT_PLACEHOLDER: &str = "cargo-confirm-gui-preflight-placeholder-not-a-token";

/// What the pipeline needs from the outside world. The shipped binary passes the real
/// ones; test binaries pass scripted prompters.
pub struct Deps<'a> {
    /// The environment snapshot.
    pub env: Snapshot,
    /// Opens the token store (called only after the gate, so CI refusals never touch it).
    pub open_store: &'a dyn Fn() -> Result<Box<dyn TokenStore + 'a>, StoreError>,
    /// Shows windows.
    pub prompter: &'a dyn Prompter,
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
pub fn handle(req: &Request, deps: &Deps<'_>, cancel: &Cancel) -> Result<Answer, Error> {
    if let Some(e) = &deps.policy_error {
        return Err(Error::Refused(Refusal::Policy(e.clone())));
    }
    let args: Vec<&str> = req.args.iter().map(String::as_str).collect();
    let policy = Options::from_args(&args)
        .and_then(|o| o.within(&deps.allowed))
        .map_err(Error::Args)?;
    let key = RegistryKey::parse(&req.index_url).map_err(Error::Args)?;
    let registry = req.registry_label();

    let verdict = gate::decide(&req.operation, &deps.env, &policy);
    let mut evidence = String::new();
    let outcome = match verdict {
        Verdict::Unsupported => Err(Error::Unsupported),
        Verdict::Refuse(ref r) => Err(Error::Refused(r.clone())),
        Verdict::PassToNext => Err(Error::PassedToNext),
        Verdict::Preflight => {
            let store = (deps.open_store)()?;
            if store.contains(&key)? {
                Ok(Answer::Token {
                    token: Token::new(PREFLIGHT_PLACEHOLDER.into()),
                    cache_session: false,
                    operation_independent: false,
                })
            } else {
                Err(Error::NotEnrolled {
                    registry: registry.clone(),
                })
            }
        }
        Verdict::ReleaseRead => {
            // No window, so no person: the token goes only to a verified cargo.
            let requester = (deps.requester)();
            if let Err(why) = (deps.recheck_requester)(&requester) {
                let e = Error::Denied {
                    what: format!("read of {registry} ({why})"),
                    reason: DenyReason::NotCargo,
                };
                record(deps, req, &e.to_string(), String::new());
                return Err(e);
            }
            let store = (deps.open_store)()?;
            let token = store.get(&key)?.ok_or_else(|| Error::NotEnrolled {
                registry: registry.clone(),
            })?;
            record(
                deps,
                req,
                "released without a window (--read=allow)",
                String::new(),
            );
            return Ok(Answer::Token {
                token,
                cache_session: true,
                operation_independent: false,
            });
        }
        Verdict::Prompt => prompt(req, &key, &registry, &policy, deps, cancel, &mut evidence),
    };
    // The pre-flight placeholder and a pass-through are not decisions worth a log line.
    if !matches!(verdict, Verdict::Preflight | Verdict::PassToNext) {
        let what = match &outcome {
            Ok(_) => "approved".to_string(),
            Err(e) => e.to_string(),
        };
        record(deps, req, &what, evidence);
    }
    outcome
}

fn prompt(
    req: &Request,
    key: &RegistryKey,
    registry: &str,
    policy: &Options,
    deps: &Deps<'_>,
    cancel: &Cancel,
    evidence: &mut String,
) -> Result<Answer, Error> {
    // The window process connects and checks the display while this process probes it and
    // reads the keychain; it shows nothing unless asked.
    if deps.env.x11_display.is_some() || deps.env.wayland_display.is_some() {
        deps.prompter.prepare();
    }
    match (deps.probe_display)(&deps.env) {
        Ok(()) => {}
        // An unreachable display is a headless machine; a display that answers but is not
        // the person's is refused whatever `--ci` says.
        Err(Refusal::Unreachable(_)) if policy.ci == CiPolicy::Pass => {
            return Err(Error::PassedToNext);
        }
        Err(r) => return Err(Error::Refused(r)),
    }
    let opts = PromptOptions {
        timeout: policy.timeout(),
        arm_delay: policy.arm_delay(),
    };
    let state = &deps.state;
    let throttle_dir = state.throttle.clone();
    let cooling = |d: &std::path::Path| {
        state
            .run(|| throttle::cooldown_left(d, policy.cooldown()))
            .map(|left| Error::Cooldown {
                ago: policy.cooldown().as_secs() - left,
                left,
            })
    };
    let store = (deps.open_store)()?;
    let existing = store.contains(key)?;

    // Nothing to release, nothing to ask: "not found" comes before the cooldown.
    if !existing && !matches!(req.operation, Operation::Login { .. }) {
        return Err(Error::NotEnrolled {
            registry: registry.to_string(),
        });
    }
    if let Some(e) = throttle_dir.as_deref().and_then(cooling) {
        return Err(e);
    }
    let what = describe(&req.operation, registry);
    let denied = |reason: DenyReason| {
        // A cancelled caller is not a person saying no: no cooldown for it.
        if reason != DenyReason::CallerGone
            && let Some(d) = &throttle_dir
        {
            state.run(|| throttle::record_deny(d));
        }
        Error::Denied {
            what: what.clone(),
            reason,
        }
    };
    // One window at a time per user; a Deny while we waited starts the cooldown for us too.
    let _lock = match &throttle_dir {
        Some(d) => match state.run(|| throttle::lock(d, PROMPT_WAIT)) {
            Ok(Some(lock)) => Some(lock),
            Ok(None) => return Err(Error::Busy),
            Err(e) => {
                eprintln!("cargo-confirm-gui: warning: no prompt lock ({e}); continuing");
                None
            }
        },
        None => None,
    };
    if let Some(e) = throttle_dir.as_deref().and_then(cooling) {
        return Err(e);
    }
    let mut tx = Transaction {
        registry: req.raw_registry_label(),
        operation: req.operation.clone(),
        login_fingerprint: None,
        existing_entry: existing,
        requester: (deps.requester)(),
        store: store.describe(),
        recent_requests: throttle_dir
            .as_deref()
            .map(|d| state.run(|| throttle::count_request(d)))
            .unwrap_or(1),
        package: None,
    };

    // A plan is uploaded by this helper: nothing goes to the requester, so whether it is a
    // verified cargo is beside the point (who it is still shows).
    if let Operation::PublishPlan { .. }
    | Operation::HelperYank { .. }
    | Operation::HelperOwners { .. } = req.operation
    {
        tx.requester
            .warnings
            .retain(|w| !w.starts_with(evidence::NOT_CARGO));
    }
    if let Operation::Login { .. } = req.operation {
        let token = match &req.login_token {
            Some(token) => {
                token.validate(key.is_crates_io()).map_err(|why| {
                    Error::Args(format!(
                        "cargo-confirm-gui: the token given to `cargo login` was not stored: {why}"
                    ))
                })?;
                tx.login_fingerprint = Some(token.fingerprint());
                match deps.prompter.confirm(&tx, &opts, cancel)? {
                    Decision::Approve => token.clone(),
                    Decision::Deny(r) => return Err(denied(r)),
                }
            }
            None => {
                let er = EnrollRequest {
                    registry: req.raw_registry_label(),
                    crates_io: key.is_crates_io(),
                    store: store.describe(),
                    existing_entry: existing,
                    login_url: req.login_url.clone(),
                    requester: tx.requester.clone(),
                };
                match deps.prompter.enroll(&er, &opts, cancel)? {
                    EnrollOutcome::Saved(t) => t,
                    EnrollOutcome::Cancelled(r) => return Err(denied(r)),
                }
            }
        };
        store.set(key, &format!("cargo registry token for {registry}"), &token)?;
        return Ok(Answer::Login);
    }

    if !existing {
        return Err(Error::NotEnrolled {
            registry: registry.to_string(),
        });
    }
    // The window opens at once; what the .crate holds arrives while it is up.
    if let Operation::Publish { name, vers, cksum } = &req.operation {
        tx.package = Some(gather_package(name, vers, cksum, &tx.requester, &deps.env));
    }
    let decision = deps.prompter.confirm(&tx, &opts, cancel)?;
    // The window keeps Approve unavailable until the check is done and when it fails; this
    // is the same rule again, for every prompter.
    let report = tx.package.as_ref().map(|p| p.wait(EVIDENCE_WAIT));
    if let Some(r) = &report {
        *evidence = r.map_or_else(|| "the crate check did not finish".into(), |r| r.summary());
    }
    if let Operation::PublishPlan { crates } = &req.operation {
        *evidence = crates
            .iter()
            .map(|c| format!("{} {}: {}", c.name, c.vers, c.report.summary()))
            .collect::<Vec<_>>()
            .join("; ");
    }
    let plan_blocked = match &req.operation {
        Operation::PublishPlan { crates } if crates.is_empty() => Some(DenyReason::Unverified),
        Operation::PublishPlan { crates } => {
            crates.iter().find(|c| c.report.blocks_approve()).map(|c| {
                if c.report.check.blocks_approve() {
                    DenyReason::Unverified
                } else {
                    DenyReason::Suspect
                }
            })
        }
        _ => None,
    };
    let unverifiable = plan_blocked.or(match report {
        Some(Some(r)) => match r.check {
            package::Check::Match(_) if r.blocks_approve() => Some(DenyReason::Suspect),
            package::Check::Match(_) => None,
            package::Check::Mismatch { .. } | package::Check::Forged(_) => {
                Some(DenyReason::Mismatch)
            }
            _ => Some(DenyReason::Unverified),
        },
        Some(None) => Some(DenyReason::Unverified),
        None => None,
    });
    match decision {
        Decision::Deny(r) => Err(denied(r)),
        Decision::Approve if cancel.is_cancelled() => Err(denied(DenyReason::CallerGone)),
        Decision::Approve if unverifiable.is_some() => Err(Error::Denied {
            what: what.clone(),
            reason: unverifiable.unwrap_or(DenyReason::Mismatch),
        }),
        Decision::Approve if req.operation.releases_to_cargo() && !tx.requester.parent_is_cargo => {
            Err(Error::Denied {
                what: what.clone(),
                reason: DenyReason::NotCargo,
            })
        }
        Decision::Approve => {
            // The very cargo that asked, still alone on the pipes, still the same program.
            if let Err(why) = (deps.recheck_requester)(&tx.requester)
                && req.operation.releases_to_cargo()
            {
                *evidence = format!("{evidence}; cargo changed: {why}");
                return Err(Error::Denied {
                    what: what.clone(),
                    reason: DenyReason::NotCargo,
                });
            }
            // cargo reads the .crate again for the upload: one last hash just before the
            // token goes out. (A rewrite after this answer is not stopped here; publishing
            // through the helper closes that. SECURITY.md.)
            if let (Operation::Publish { cksum, .. }, Some(Some(r))) = (&req.operation, report)
                && let Err(why) = package::recheck(r, cksum, &package::Limits::default())
            {
                *evidence = format!("{evidence}; {why}");
                return Err(Error::Denied {
                    what: what.clone(),
                    reason: DenyReason::Changed,
                });
            }
            if req.operation == Operation::Logout {
                store.delete(key)?;
                return Ok(Answer::Logout);
            }
            // Only now is the secret read.
            let token = store.get(key)?.ok_or_else(|| Error::Vanished {
                registry: registry.to_string(),
            })?;
            Ok(Answer::Token {
                token,
                cache_session: matches!(req.operation, Operation::Read { .. }),
                operation_independent: false,
            })
        }
    }
}

/// `--migrate` (sealed install): moves the token for the request's registry from `from`
/// (the Secret Service) into the store of `deps`, after a person approves it in a window.
/// The window says when this replaces a token already in the sealed store; the old entry
/// is removed only after the new one has been written and read back.
pub fn migrate(
    req: &Request,
    deps: &Deps<'_>,
    from: &dyn TokenStore,
    cancel: &Cancel,
) -> Result<(), Error> {
    let key = RegistryKey::parse(&req.index_url).map_err(Error::Args)?;
    let registry = req.registry_label();
    let policy = Options::default();
    match gate::decide(&req.operation, &deps.env, &policy) {
        Verdict::Prompt => {}
        Verdict::Refuse(r) => return Err(Error::Refused(r)),
        _ => return Err(Error::Unsupported),
    }
    if let Some(e) = &deps.policy_error {
        return Err(Error::Refused(Refusal::Policy(e.clone())));
    }
    (deps.probe_display)(&deps.env).map_err(Error::Refused)?;
    // Regression, "Nothing the caller supplies" (8): the item was read only after Approve,
    // so a program could replace it while the window was up. The value moved is read once,
    // now; the window shows its fingerprint, and exactly it is stored.
    let Some(token) = from.get(&key)? else {
        return Err(Error::NotEnrolled {
            registry: format!("{registry} in the {}", from.describe()),
        });
    };
    let to = (deps.open_store)()?;
    let tx = Transaction {
        registry: req.raw_registry_label(),
        operation: Operation::Migrate,
        login_fingerprint: Some(token.fingerprint()),
        existing_entry: to.contains(&key)?,
        requester: (deps.requester)(),
        store: format!("from the {} to the {}", from.describe(), to.describe()),
        recent_requests: 1,
        package: None,
    };
    let opts = PromptOptions {
        timeout: policy.timeout(),
        arm_delay: policy.arm_delay(),
    };
    let what = describe(&Operation::Migrate, &registry);
    let outcome = match deps.prompter.confirm(&tx, &opts, cancel)? {
        Decision::Deny(reason) => Err(Error::Denied { what, reason }),
        Decision::Approve => (|| {
            to.set(
                &key,
                &format!("cargo registry token for {registry}"),
                &token,
            )?;
            let written = to.get(&key)?;
            if written.as_ref().map(|t| t.expose()) != Some(token.expose()) {
                return Err(Error::Store(StoreError::Platform {
                    store: to.describe(),
                    detail:
                        "the token did not read back as written; the Secret Service entry was kept"
                            .into(),
                }));
            }
            // Whatever the item holds now goes: no copy in the Secret Service is left.
            from.delete(&key)?;
            Ok(())
        })(),
    };
    let said = match &outcome {
        Ok(()) => format!(
            "moved into the sealed store (fingerprint {})",
            token.fingerprint()
        ),
        Err(e) => e.to_string(),
    };
    record(deps, req, &said, String::new());
    outcome
}

/// One clear-text token `setup` found: the store key, what the window shows, and the token.
pub struct Adoptee {
    /// The registry's store key.
    pub key: RegistryKey,
    /// What the window shows (no secret).
    pub item: crate::gate::AdoptItem,
    /// The token.
    pub token: Token,
}

/// `setup`: stores each token of `found` after one window that lists them all (by
/// fingerprint, where each was found and the index it goes under), reading each back. A
/// registry that already has a stored token keeps it: that clear copy is only removed. The
/// caller removes the clear copies only after this returned `Ok`.
pub fn adopt(found: &[Adoptee], deps: &Deps<'_>, cancel: &Cancel) -> Result<(), Error> {
    let operation = Operation::Adopt {
        tokens: found.iter().map(|f| f.item.clone()).collect(),
    };
    let policy = Options::default();
    match gate::decide(&operation, &deps.env, &policy) {
        Verdict::Prompt => {}
        Verdict::Refuse(r) => return Err(Error::Refused(r)),
        _ => return Err(Error::Unsupported),
    }
    if let Some(e) = &deps.policy_error {
        return Err(Error::Refused(Refusal::Policy(e.clone())));
    }
    (deps.probe_display)(&deps.env).map_err(Error::Refused)?;
    let store = (deps.open_store)()?;
    let tx = Transaction {
        registry: format!(
            "{} registr{}",
            found.len(),
            if found.len() == 1 { "y" } else { "ies" }
        ),
        operation: operation.clone(),
        login_fingerprint: None,
        existing_entry: found.iter().any(|f| f.item.already_stored),
        requester: (deps.requester)(),
        store: store.describe(),
        recent_requests: 1,
        package: None,
    };
    let opts = PromptOptions {
        timeout: policy.timeout(),
        arm_delay: policy.arm_delay(),
    };
    let what = describe(&operation, "");
    let outcome = match deps.prompter.confirm(&tx, &opts, cancel)? {
        Decision::Deny(reason) => Err(Error::Denied { what, reason }),
        Decision::Approve => found
            .iter()
            .filter(|f| !f.item.already_stored)
            .try_for_each(|f| {
                store.set(
                    &f.key,
                    &format!("cargo registry token for {}", f.item.registry),
                    &f.token,
                )?;
                let written = store.get(&f.key)?;
                if written.as_ref().map(|t| t.expose()) != Some(f.token.expose()) {
                    return Err(Error::Store(StoreError::Platform {
                        store: store.describe(),
                        detail: "a token did not read back as written; its clear copy was kept"
                            .into(),
                    }));
                }
                Ok(())
            }),
    };
    let said = match &outcome {
        Ok(()) => format!(
            "stored {}",
            found
                .iter()
                .map(|f| format!("{} ({})", f.item.registry, f.item.fingerprint))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Err(e) => e.to_string(),
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
        record(deps, &req, &said, String::new());
    }
    outcome
}

/// How long an approved publish waits for a crate check that has not finished.
pub const EVIDENCE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

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
        // helper's group for good first.
        #[cfg(target_os = "linux")]
        crate::sealed::drop_for_good_on_this_thread();
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

/// "publish of foo 1.2.3 to REGISTRY", for messages.
fn describe(op: &Operation, registry: &str) -> String {
    match op {
        Operation::Publish { name, vers, .. } => format!("publish of {name} {vers} to {registry}"),
        Operation::PublishPlan { crates } => format!(
            "publish of {} to {registry}",
            crates
                .iter()
                .map(|c| format!("{} {}", c.name, c.vers))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Operation::Yank { name, vers }
        | Operation::HelperYank {
            name,
            vers,
            undo: false,
        } => format!("yank of {name} {vers} on {registry}"),
        Operation::HelperYank {
            name,
            vers,
            undo: true,
        } => format!("unyank of {name} {vers} on {registry}"),
        Operation::Unyank { name, vers } => format!("unyank of {name} {vers} on {registry}"),
        Operation::Owners { name } | Operation::HelperOwners { name, .. } => {
            format!("owner change for {name} on {registry}")
        }
        Operation::Read { .. } => format!("read from {registry}"),
        Operation::Login { .. } => format!("storing a token for {registry}"),
        Operation::Logout => format!("removing the token for {registry}"),
        Operation::Adopt { tokens } => {
            format!("moving {} clear-text token(s) into the store", tokens.len())
        }
        Operation::Migrate => format!("moving the token for {registry} into the sealed store"),
        Operation::GetUnnamed => format!("token request for {registry}"),
        Operation::Unknown => format!("request for {registry}"),
    }
}

fn record(deps: &Deps<'_>, req: &Request, outcome: &str, evidence: String) {
    let detail = match &req.operation {
        Operation::Publish { name, vers, cksum } => format!("{name} {vers} sha256:{cksum}"),
        Operation::PublishPlan { crates } => crates
            .iter()
            .map(|c| format!("{} {} sha256:{}", c.name, c.vers, c.cksum))
            .collect::<Vec<_>>()
            .join(", "),
        Operation::Yank { name, vers }
        | Operation::Unyank { name, vers }
        | Operation::HelperYank { name, vers, .. } => {
            format!("{name} {vers}")
        }
        Operation::Owners { name } => name.clone(),
        Operation::HelperOwners { name, change } => format!("{name} {change:?}"),
        _ => String::new(),
    };
    let requester = evidence::parent_exe();
    let Some(log) = &deps.state.audit else {
        return;
    };
    deps.state.run(|| {
        audit::append(
            log,
            &audit::Record {
                time: audit::now(),
                registry: &req.index_url,
                operation: req.operation.verb(),
                detail,
                requester,
                outcome: outcome.to_string(),
                evidence,
            },
        )
    });
}

/// The real dependencies of the shipped binary.
pub fn real_requester() -> Requester {
    evidence::requester()
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
            crate::gate::PlanCrate {
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
            e.to_string().contains("locked") && e.to_string().contains("Unlock it"),
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
}
