//! `setup`: the clear-text tokens found, stored after one window.

use super::*;

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
    let operation = Operation::Store(StoreChange::Adopt {
        tokens: found.iter().map(|f| f.item.clone()).collect(),
    });
    let policy = Options::default();
    may_prompt(&operation, deps, &policy)?;
    // One window at a time, the cooldown, the count: as for every window.
    let turn = Turn::take(&deps.state, policy.cooldown())?;
    // From here a window is shown (or tried): whatever follows is a decision.
    let store = (deps.open_store)()?;
    let mut requester = (deps.requester)();
    super::decide::said_neutrally(&operation, &mut requester);
    requester.notices.extend(turn.unrecorded.clone());
    let tx = adopt_transaction(found, &operation, &requester, store.as_ref(), turn.recent);
    let opts = PromptOptions::from(&policy);
    let what = operation.describe("");
    let outcome = match deps.prompter.confirm(&tx, &opts, cancel)? {
        Decision::Deny(reason) => {
            turn.record_deny(reason);
            Err(Error::Denied { what, reason })
        }
        Decision::Approve => store_adopted(found, store.as_ref()),
    };
    if outcome.is_ok() {
        turn.settled();
    }
    record_adopted(found, operation, deps, &requester, &outcome);
    outcome
}

/// What `setup`'s window shows: how many registries, whether any already has a stored
/// token, and where they go.
pub(super) fn adopt_transaction(
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
pub(super) fn store_adopted(found: &[Adoptee], store: &dyn TokenStore) -> Result<(), Error> {
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
pub(super) fn record_adopted(
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
        // The tokens were stored (or not) before this record: a failure is said, and changes
        // nothing. The turn checked that the log could be written before the window.
        if let Err(e) = record(
            deps,
            (first.key.as_str(), &operation),
            requester,
            (&said, windowless(outcome, true)),
            String::new(),
            None,
        ) {
            eprintln!("cargo-confirm-gui: warning: the audit log was not written: {e}");
        }
    }
}
