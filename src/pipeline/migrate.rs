//! `--migrate` (sealed install): the Secret Service's token moved into the sealed store
//! after one window.

use super::*;

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
    let key = RegistryKey::parse(&req.index_url)?;
    let registry = req.registry_label();
    let asked = Asked {
        what: Operation::Store(StoreChange::Migrate).describe(&registry),
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
        (&req.index_url, &req.operation),
        &requester,
        (&said, windowless(&answer, windowed)),
        String::new(),
        None,
    ) {
        eprintln!("cargo-confirm-gui: warning: the audit log was not written: {e}");
    }
    answer.map(|_| ())
}

/// Whether a window that no cargo request asked for (`--migrate`, `setup`) may open, checked
/// in this order: the gate must say to prompt, the policy file must be usable, and the
/// display must be the person's.
pub(super) fn may_prompt(
    operation: &Operation,
    deps: &Deps<'_>,
    policy: &Options,
) -> Result<(), Error> {
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
pub(super) fn move_token(
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
    super::decide::said_neutrally(&Operation::Store(StoreChange::Migrate), &mut requester);
    requester.notices.extend(turn.unrecorded.clone());
    let tx = Transaction {
        registry: asked.req.raw_registry_label(),
        operation: Operation::Store(StoreChange::Migrate),
        login_fingerprint: Some(token.fingerprint()),
        existing_entry: to.contains(&asked.key)?,
        requester,
        store: format!("from the {} to the {}", from.describe(), to.describe()),
        recent_requests: turn.recent,
        package: None,
        presence: None,
    };
    presence_ready(&Operation::Store(StoreChange::Migrate), deps)?;
    let tx = Transaction {
        presence: presence_method(&Operation::Store(StoreChange::Migrate), deps),
        ..tx
    };
    let opts = PromptOptions::from(&asked.policy);
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
    turn.settled();
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
pub(super) fn store_read_back(
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
