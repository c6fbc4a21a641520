//! The audit record of a request, bounded against floods.

use super::*;

/// Whether an answer came without a window: a refusal before any window was asked for.
/// Whatever follows a window (a person's no, a failure after their yes), and every release,
/// is a decision. Red team: judging this by the kind of error let a flood of windowless
/// `Denied` answers through, and let a failure after an Approve be dropped.
pub(super) fn windowless<T>(answer: &Result<T, Error>, windowed: bool) -> bool {
    answer.is_err() && !windowed
}

/// One audit record. The requester is the one pinned for this request (its executable as
/// read while the parent was pinned), not `/proc` read again.
pub(super) fn record(
    deps: &Deps<'_>,
    (index_url, operation): (&str, &Operation),
    requester: &Requester,
    (outcome, windowless): (&str, bool),
    evidence: String,
    provenance: Option<serde_json::Value>,
) -> std::io::Result<()> {
    let detail = operation.detail();
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
        (short(index_url), short(&detail))
    } else {
        (index_url.to_string(), detail)
    };
    deps.state.run(|| {
        audit::append(
            log,
            &audit::Record {
                time: audit::now(),
                registry: &registry,
                operation: operation.verb(),
                detail,
                requester,
                outcome,
                evidence,
                provenance,
            },
        )
    })
}

/// At most 200 bytes of `s`, on a character boundary, marked when cut.
pub(super) fn short(s: &str) -> String {
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
