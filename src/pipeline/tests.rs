//! The pipeline's unit tests: scripted windows and a memory store.
use super::*;
use crate::evidence::{self, Requester};
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
    fn confirm(&self, tx: &Transaction, _: &PromptOptions, _: &Cancel) -> Result<Decision, Error> {
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
    fn authenticate(&self, presence: &dyn Presence, what: &str) -> Result<Verified, PresenceError> {
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
    let yank = req(Operation::Cargo(CargoRequest::Yank {
        name: "a".into(),
        vers: "1.0.0".into(),
        undo: false,
    }));
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
        publish_rules: Default::default(),
        requester: &verified_cargo,
        recheck_requester: &|_| {
            Err(evidence::NotCargo::Shared {
                pipe: "stdin",
                pids: "77".into(),
            })
        },
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
            &req(Operation::Store(StoreChange::Logout)),
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
        publish_rules: Default::default(),
        requester: &verified_cargo,
        recheck_requester: &|_| Ok(()),
        state: crate::state::State {
            throttle: Some(d.path().join("throttle")),
            audit: Some(log.clone()),
            ..Default::default()
        },
    };
    let approved = req(Operation::Cargo(CargoRequest::Yank {
        name: "a".into(),
        vers: "1.0.0".into(),
        undo: false,
    }));
    handle(&approved, &deps(desktop()), &Cancel::default()).unwrap();
    let ci = Snapshot {
        ci_marker: Some("CI".into()),
        ..desktop()
    };
    let mut flood = req(Operation::Cargo(CargoRequest::Yank {
        name: "x".repeat(1024),
        vers: "1.0.0".into(),
        undo: false,
    }));
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
        publish_rules: Default::default(),
        requester: &Requester::default,
        recheck_requester: &|_| Err(evidence::NotCargo::NotNamedCargo),
        state,
    };
    let mut read = req(Operation::Cargo(CargoRequest::Read {
        authenticated: true,
    }));
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
        publish_rules: Default::default(),
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
            Operation::Store(StoreChange::Login {
                token_given: true,
                enroll: false,
            }) => Some(Token::new("new-token".into())),
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
    Operation::Cargo(CargoRequest::Publish {
        name: "a".into(),
        vers: "1.0.0".into(),
        cksum: "0".repeat(64),
    })
}

#[test]
fn approve_reads_the_secret_only_after_the_window() {
    let store = enrolled();
    let p = Scripted::answering(Decision::Approve);
    let yank = Operation::Cargo(CargoRequest::Yank {
        name: "a".into(),
        vers: "1.0.0".into(),
        undo: false,
    });
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
    good.operation = Operation::Cargo(CargoRequest::Publish {
        name: "a".into(),
        vers: "1.0.0".into(),
        cksum,
    });
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
            None,
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
        warnings: vec![evidence::Warning::NotCargo],
        ..Default::default()
    };
    let approve = Scripted::answering(Decision::Approve);
    for (crates, released) in [
        (vec![good("a"), good("b")], true),
        (vec![good("a"), bad], false),
        (Vec::new(), false),
    ] {
        let r = req(Operation::Helper(HelperRequest::Publish { crates }));
        let before = store.secret_reads();
        let out = run_asked_by(&store, &approve, desktop(), &r, &not_cargo);
        assert_eq!(out.is_ok(), released, "{out:?}");
        assert_eq!(store.secret_reads() - before, u32::from(released));
        let shown = approve.last.borrow().clone().unwrap();
        assert!(shown.requester.warnings.is_empty());
    }
    let deny = Scripted::answering(Decision::Deny(DenyReason::Clicked));
    let r = req(Operation::Helper(HelperRequest::Publish {
        crates: vec![good("a")],
    }));
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
    r.operation = Operation::Cargo(CargoRequest::Publish {
        name: "a".into(),
        vers: "1.0.0".into(),
        cksum,
    });
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
        publish_rules: Default::default(),
        // Run from a shell, as the README says: not cargo.
        requester: &|| Requester {
            warnings: vec![evidence::Warning::NotCargo],
            ..Default::default()
        },
        recheck_requester: &|_| Ok(()),
        state: Default::default(),
    };
    migrate(
        &req(Operation::Store(StoreChange::Migrate)),
        &deps,
        from,
        &Cancel::default(),
    )
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
    assert_eq!(shown.operation, Operation::Store(StoreChange::Migrate));
    assert!(!shown.existing_entry);
    // A command the person runs from a shell raises no "not cargo" alarm (issue "The window
    // a person reads in three seconds": the false alarm taught people to ignore the red).
    assert!(
        shown.requester.warnings.is_empty(),
        "{:?}",
        shown.requester.warnings
    );

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
        &req(Operation::Cargo(CargoRequest::Read {
            authenticated: false,
        })),
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
        Operation::Cargo(CargoRequest::Read {
            authenticated: false,
        }),
        Operation::Store(StoreChange::Logout),
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
        &req(Operation::Cargo(CargoRequest::Read {
            authenticated: true,
        })),
    )
    .unwrap()
    {
        Answer::Token { cache_session, .. } => assert!(cache_session),
        _ => panic!(),
    }
    assert_eq!(p.shown.get(), 1);
    // --read=allow in cargo's config: refused, it would loosen the policy...
    let mut r = req(Operation::Cargo(CargoRequest::Read {
        authenticated: true,
    }));
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
        publish_rules: Default::default(),
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
            &req(Operation::Store(StoreChange::Login {
                token_given: true,
                enroll: false
            }))
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
            &req(Operation::Store(StoreChange::Login {
                token_given: true,
                enroll: false
            }))
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
            &req(Operation::Store(StoreChange::Login {
                token_given: false,
                enroll: false
            }))
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
        &req(Operation::Store(StoreChange::Login {
            token_given: false,
            enroll: false,
        })),
    )
    .unwrap_err();
    assert!(matches!(e, Error::Denied { .. }));
}

#[test]
fn crates_io_login_token_is_validated() {
    let store = MemoryStore::default();
    let mut r = req(Operation::Store(StoreChange::Login {
        token_given: true,
        enroll: false,
    }));
    r.index_url = crate::index_url::CRATES_IO_SPARSE.into();
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
    assert!(
        run(
            &store,
            &p,
            desktop(),
            &req(Operation::Store(StoreChange::Logout))
        )
        .is_err()
    );
    assert!(store.contains(&key).unwrap());
    let p = Scripted::answering(Decision::Approve);
    assert!(matches!(
        run(
            &store,
            &p,
            desktop(),
            &req(Operation::Store(StoreChange::Logout))
        ),
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
        req(Operation::Cargo(CargoRequest::Yank {
            name: "a".into(),
            vers: "1.0.0".into(),
            undo: false,
        }))
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
            publish_rules: Default::default(),
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
    fn a_window_that_ends_without_an_answer_counts_as_a_deny() {
        // Red team of "Fail closed whatever the caller sets": killing the window process, or
        // closing cargo's pipe, as the person pressed Deny dodged the cooldown.
        struct Killed;
        impl Prompter for Killed {
            fn confirm(
                &self,
                _: &Transaction,
                _: &PromptOptions,
                _: &Cancel,
            ) -> Result<Decision, Error> {
                Err(Error::Display(
                    "it ended abnormally (signal 9) without an answer".into(),
                ))
            }
            fn enroll(
                &self,
                _: &EnrollRequest,
                _: &PromptOptions,
                _: &Cancel,
            ) -> Result<EnrollOutcome, Error> {
                Err(Error::Display("killed".into()))
            }
        }
        for gone in [false, true] {
            let d = tempfile::tempdir().unwrap();
            let store = enrolled();
            let open = || -> Result<Box<dyn TokenStore + '_>, StoreError> { Ok(Box::new(&store)) };
            let killed = Killed;
            let left = Scripted::answering(Decision::Deny(DenyReason::CallerGone));
            let p: &dyn Prompter = if gone { &left } else { &killed };
            let deps = Deps {
                env: desktop(),
                open_store: &open,
                prompter: p,
                presence: &crate::presence::ClickOnly,
                probe_display: &|_| Ok(()),
                policy_error: None,
                allowed: Default::default(),
                publish_rules: Default::default(),
                requester: &verified_cargo,
                recheck_requester: &|_| Ok(()),
                state: state(d.path(), false),
            };
            assert!(handle(&yank(), &deps, &Cancel::default()).is_err());
            let p = Scripted::answering(Decision::Approve);
            let deps = Deps {
                prompter: &p,
                ..deps
            };
            let e = handle(&yank(), &deps, &Cancel::default()).unwrap_err();
            assert!(
                matches!(e, Error::Cooldown { left: 30, .. }),
                "gone {gone}: {e}"
            );
            assert_eq!(p.shown.get(), 0);
        }
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
            std::fs::set_permissions(&throttle, std::fs::Permissions::from_mode(0o700)).unwrap();
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
            publish_rules: Default::default(),
            requester: &verified_cargo,
            recheck_requester: &|_| Ok(()),
            state,
        }
    }

    fn yank() -> Request {
        req(Operation::Cargo(CargoRequest::Yank {
            name: "a".into(),
            vers: "1.0.0".into(),
            undo: false,
        }))
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
            let open = || -> Result<Box<dyn TokenStore + '_>, StoreError> { Ok(Box::new(&store)) };
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
        assert!(
            handle(
                &req(Operation::Store(StoreChange::Logout)),
                &deps,
                &Cancel::default()
            )
            .is_err()
        );
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
        let login = req(Operation::Store(StoreChange::Login {
            token_given: true,
            enroll: false,
        }));
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
        assert!(
            handle(
                &req(Operation::Store(StoreChange::Logout)),
                &deps,
                &Cancel::default()
            )
            .is_err()
        );
        assert_eq!(store.get(&key).unwrap().unwrap().expose(), "the-token");
        // A first token, with a wrong password or an empty one: nothing stored.
        let empty = MemoryStore::default();
        for typed in ["wrong", ""] {
            let open = || -> Result<Box<dyn TokenStore + '_>, StoreError> { Ok(Box::new(&empty)) };
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
