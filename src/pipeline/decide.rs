//! What the window shows, the presence step after it, and the release: what every window
//! of a cargo request goes through after the turn is taken.

use super::*;

/// What the window shows. A plan, a yank or an owner change is sent by this helper: nothing
/// goes to the requester, so whether it is a verified cargo is beside the point (who it is
/// still shows).
pub(super) fn transaction(
    a: &Asked<'_>,
    mut requester: Requester,
    existing: bool,
    store: &dyn TokenStore,
    turn: &Turn<'_>,
    deps: &Deps<'_>,
) -> Transaction {
    said_neutrally(&a.req.operation, &mut requester);
    let package = match &a.req.operation {
        // The window opens at once; what the .crate holds arrives while it is up.
        Operation::Cargo(CargoRequest::Publish { name, vers, cksum }) => Some(gather_package(
            name,
            vers,
            cksum,
            &requester,
            &deps.env,
            deps.publish_rules.clone(),
        )),
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
pub(super) fn presence_method(op: &Operation, deps: &Deps<'_>) -> Option<presence::Method> {
    presence::required(deps.presence, op)
        .then(|| deps.presence.method())
        .flatten()
}

/// Where `op` needs the system to confirm the person, that step must be able to run: checked
/// before any window, so a missing or unsafe setup is a refusal that names its fix.
pub(super) fn presence_ready(op: &Operation, deps: &Deps<'_>) -> Result<(), Error> {
    if presence::required(deps.presence, op) {
        deps.presence
            .ready()
            .map_err(|e| Error::Refused(Refusal::Presence(e.to_string())))?;
    }
    Ok(())
}

/// The presence step, in the window still open after Approve, where `op` needs it. `None`:
/// this install or operation has no step.
pub(super) fn confirm_presence(
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
pub(super) fn login(
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
pub(super) struct Judged<'t> {
    pub(super) decision: Decision,
    /// The packaged crate's report, for a plugin-mode publish: `Some(None)` when the check
    /// did not finish.
    pub(super) report: Option<Option<&'t package::Report>>,
    /// Why Approve cannot count, whatever the window said.
    pub(super) blocked: Option<DenyReason>,
    /// What the window showed about the crates, for the log.
    pub(super) note: String,
    /// Where their bytes came from, for the record.
    pub(super) provenance: Option<serde_json::Value>,
}

/// Shows the window, then waits for the crate check it showed.
pub(super) fn confirm<'t>(
    a: &Asked<'_>,
    tx: &'t Transaction,
    opts: &PromptOptions,
    deps: &Deps<'_>,
    cancel: &Cancel,
) -> Result<Judged<'t>, Error> {
    let decision = deps.prompter.confirm(tx, opts, cancel)?;
    let report = tx.package.as_ref().map(|p| p.wait(EVIDENCE_WAIT));
    let mut note = match (&a.req.operation, report) {
        (Operation::Helper(HelperRequest::Publish { crates }), _) => crates
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
        provenance: provenance_record(&a.req.operation, report),
        report,
        note,
    })
}

/// Where the bytes of the crates the window showed came from, for the audit record: one
/// object for a publish, a list (each with its crate) for a plan.
pub(super) fn provenance_record(
    op: &Operation,
    report: Option<Option<&package::Report>>,
) -> Option<serde_json::Value> {
    if let Operation::Helper(HelperRequest::Publish { crates }) = op {
        let all: Vec<serde_json::Value> = crates
            .iter()
            .filter_map(|c| {
                let mut v = c.report.provenance.as_ref()?.record();
                v["crate"] = serde_json::json!(format!("{} {}", c.name, c.vers));
                Some(v)
            })
            .collect();
        return (!all.is_empty()).then_some(serde_json::Value::Array(all));
    }
    report
        .flatten()
        .and_then(|r| r.provenance.as_ref())
        .map(|p| p.record())
}

/// The window keeps Approve unavailable until the crate check is done and when it fails;
/// this is the same rule again, for every prompter.
pub(super) fn blocked(
    op: &Operation,
    report: Option<Option<&package::Report>>,
) -> Option<DenyReason> {
    if let Operation::Helper(HelperRequest::Publish { crates }) = op {
        if crates.is_empty() {
            return Some(DenyReason::Unverified);
        }
        return crates.iter().find(|c| c.report.blocks_approve()).map(|c| {
            if c.report.check.blocks_approve() {
                DenyReason::Unverified
            } else if c.report.refused_by_policy.is_some() {
                DenyReason::Policy
            } else {
                DenyReason::Suspect
            }
        });
    }
    match report? {
        None => Some(DenyReason::Unverified),
        Some(r) => match r.check {
            package::Check::Match(_) if r.refused_by_policy.is_some() => Some(DenyReason::Policy),
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
pub(super) fn release(
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
    if let (Operation::Cargo(CargoRequest::Publish { cksum, .. }), Some(Some(r))) =
        (op, judged.report)
        && let Err(why) = package::recheck(r, cksum, &package::Limits::default())
    {
        return (Err(a.denied(DenyReason::Changed)), Some(why.to_string()));
    }
    let answer = (|| {
        if *op == Operation::Store(StoreChange::Logout) {
            store.delete(&a.key)?;
            return Ok(Answer::Logout);
        }
        let token = store.get(&a.key)?.ok_or_else(|| Error::Vanished {
            registry: a.registry.clone(),
        })?;
        Ok(Answer::Token {
            token,
            cache_session: matches!(op, Operation::Cargo(CargoRequest::Read { .. })),
            operation_independent: false,
        })
    })();
    (answer, None)
}

/// "Not cargo" matters where a token would go to the requester, or a token from the request
/// would be stored. The helper's own commands (publish, yank, owner, setup, --migrate) are run
/// by the person, from a shell: who ran them is said neutrally, not as a warning (a false
/// alarm on a routine step teaches people to ignore the red that matters).
pub(super) fn said_neutrally(op: &Operation, requester: &mut Requester) {
    if op.run_by_the_person() {
        requester.warnings.retain(|w| !w.about_cargo());
    }
}

/// How long an approved publish waits for a crate check that has not finished.
pub(super) const EVIDENCE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Starts reading the packaged `.crate` in the background, where the requester says it is.
pub(super) fn gather_package(
    name: &str,
    vers: &str,
    cksum: &str,
    requester: &Requester,
    env: &Snapshot,
    rules: crate::policy::PublishRules,
) -> package::Pending {
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
    let asked = (name.to_string(), vers.to_string(), cksum.to_string());
    package::gather_in_background(asked, places, rules)
}
