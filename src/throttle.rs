//! Against prompt spam and fatigue: one window at a time per user, a cooldown after a
//! Deny, and a count of recent requests for the window to show.
//!
//! State lives in a per-user directory (`$XDG_RUNTIME_DIR/cargo-confirm-gui`, else under
//! the state directory), or in the sealed store in a sealed install (see `state`). In the
//! default install a same-user worm can delete it: there it is a usability guard against
//! being worn down, not a security boundary; the click rules are the boundary.

use std::fs::{File, OpenOptions};

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How far back "recent requests" reach.
const RECENT: Duration = Duration::from_secs(10 * 60);

/// The per-user directory for throttle state.
pub(crate) fn dir(runtime_dir: Option<&Path>, state_dir: Option<&Path>) -> Option<PathBuf> {
    runtime_dir
        .or(state_dir)
        .map(|d| d.join("cargo-confirm-gui"))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn ensure(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        // Any directory made on the way is private too (the sealed user directory, say).
        builder.mode(0o700);
        builder.create(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    #[cfg(not(unix))]
    builder.create(dir)?;
    Ok(())
}

/// The cooldown's file: `<time>` after a Deny, or `pending <time>` while a window is up.
const DENY_FILE: &str = "last-deny";

/// Seconds left in the cooldown after the last Deny, if any. A record left `pending` by a
/// window that never finished (its helper was killed, or could not record the outcome) counts
/// as a Deny when `stale_pending` (the caller holds the prompt lock, so no window is up). A
/// file that cannot be read is an error: the cooldown must not vanish because a read failed.
pub(crate) fn cooldown_left(
    dir: &Path,
    cooldown: Duration,
    stale_pending: bool,
) -> std::io::Result<Option<u64>> {
    let text = match std::fs::read_to_string(dir.join(DENY_FILE)) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let (pending, at) = match text.trim().strip_prefix("pending ") {
        Some(t) => (true, t),
        None => (false, text.trim()),
    };
    if pending && !stale_pending {
        return Ok(None);
    }
    // A window that ended without recording how (its process killed at the person's press,
    // say): a Deny, from the moment it is found, for the whole cooldown. Red team: counted
    // from when the window opened, the cooldown of a window killed after 30 s was over.
    if pending {
        record_deny(dir)?;
        return Ok(Some(cooldown.as_secs()));
    }
    // A record that does not parse counts from when it was written: whoever wrote it, it is
    // no reason to skip the cooldown, nor to keep it forever.
    let at: u64 = at
        .parse()
        .unwrap_or_else(|_| written_at(&dir.join(DENY_FILE)));
    let end = at.saturating_add(cooldown.as_secs());
    let now = now();
    Ok((now < end).then(|| end - now))
}

/// When `path` was last written, in seconds since the epoch (now, when unknown).
fn written_at(path: &Path) -> u64 {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or_else(now, |d| d.as_secs())
}

/// Replaces `name` in `dir` with `text` whole, or not at all (a temporary file renamed over
/// it): a write that fails (a full disk, a quota) must not leave the record empty. Red team:
/// an emptied record locked the person out until root removed it.
fn replace(dir: &Path, name: &str, text: &str) -> std::io::Result<()> {
    let tmp = dir.join(format!(".{name}.new"));
    let written = std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, dir.join(name)));
    if written.is_err() {
        // Nothing of the old record was touched; the temporary goes.
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Records a Deny now.
pub(crate) fn record_deny(dir: &Path) -> std::io::Result<()> {
    ensure(dir)?;
    replace(dir, DENY_FILE, &now().to_string())
}

/// Records that a window is up: if its outcome is never recorded (the helper killed, a write
/// failing), the next request finds this and waits out the cooldown, as after a Deny.
pub(crate) fn record_pending(dir: &Path) -> std::io::Result<()> {
    ensure(dir)?;
    replace(dir, DENY_FILE, &format!("pending {}\n", now()))
}

/// Removes a `pending` record once the window ended in anything but a person's Deny.
pub(crate) fn clear_pending(dir: &Path) -> std::io::Result<()> {
    let path = dir.join(DENY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(t) if t.starts_with("pending ") => std::fs::remove_file(&path),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Records one more request and returns how many came in the last [`RECENT`], this one included.
pub(crate) fn count_request(dir: &Path) -> std::io::Result<u32> {
    ensure(dir)?;
    let text = match std::fs::read_to_string(dir.join("recent")) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let cutoff = now().saturating_sub(RECENT.as_secs());
    let mut times: Vec<u64> = text
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .filter(|t| *t >= cutoff)
        .collect();
    times.push(now());
    // Bounded: a flood cannot grow the file without limit.
    let keep = times.len().saturating_sub(1000);
    let body: String = times[keep..].iter().map(|t| format!("{t}\n")).collect();
    replace(dir, "recent", &body)?;
    Ok(times.len() as u32)
}

/// How many records of requests refused without a window the log takes in [`RECENT`]; the
/// rest are counted, and the count goes into the next one written.
pub(crate) const WINDOWLESS_RECORDS: usize = 20;

/// Whether the log takes one more record: `Some(skipped)`, with how many records of requests
/// refused without a window were left out since the last record written, or `None` when this
/// is such a request and [`WINDOWLESS_RECORDS`] of them were written in the last [`RECENT`]
/// (this one is then counted instead). A decision (`windowless` false) is always taken.
/// Red team of "Adopt it in one step": a flood of such requests (`CI=1`, a forged registry)
/// rotated every decision out of the sealed log within seconds.
pub(crate) fn log_record(dir: &Path, windowless: bool) -> Option<u32> {
    let result = (|| -> std::io::Result<Option<u32>> {
        ensure(dir)?;
        let text = match std::fs::read_to_string(dir.join("windowless")) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        let cutoff = now().saturating_sub(RECENT.as_secs());
        let mut skipped: u32 = 0;
        let mut times: Vec<u64> = Vec::new();
        for line in text.lines() {
            if let Some(n) = line.strip_prefix("skipped ") {
                skipped = n.trim().parse().unwrap_or(0);
            } else if let Ok(t) = line.trim().parse::<u64>()
                && t >= cutoff
            {
                times.push(t);
            }
        }
        let answer = if !windowless {
            Some(std::mem::take(&mut skipped))
        } else if times.len() < WINDOWLESS_RECORDS {
            times.push(now());
            Some(std::mem::take(&mut skipped))
        } else {
            skipped = skipped.saturating_add(1);
            None
        };
        let keep = times.len().saturating_sub(WINDOWLESS_RECORDS);
        let mut body: String = times[keep..].iter().map(|t| format!("{t}\n")).collect();
        body.push_str(&format!("skipped {skipped}\n"));
        replace(dir, "windowless", &body)?;
        Ok(answer)
    })();
    // Failing to keep count must not lose the record.
    result.unwrap_or(Some(0))
}

/// Holds the per-user prompt lock while a window is open.
pub(crate) struct PromptLock {
    _file: File,
}

/// Takes the per-user prompt lock, waiting up to `wait`. `Ok(None)` when another window
/// stayed open for the whole wait.
pub(crate) fn lock(dir: &Path, wait: Duration) -> std::io::Result<Option<PromptLock>> {
    ensure(dir)?;
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("prompt.lock"))?;
    let deadline = std::time::Instant::now() + wait;
    loop {
        #[cfg(unix)]
        let got =
            rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_ok();
        #[cfg(not(unix))]
        let got = true;
        if got {
            return Ok(Some(PromptLock { _file: file }));
        }
        if std::time::Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(150));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cooldown_and_counts() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("t");
        let left = |stale| cooldown_left(&dir, Duration::from_secs(30), stale).unwrap();
        assert_eq!(left(false), None);
        record_deny(&dir).unwrap();
        assert!((29..=30).contains(&left(false).unwrap()));
        assert_eq!(cooldown_left(&dir, Duration::ZERO, true).unwrap(), None);
        assert_eq!(count_request(&dir).unwrap(), 1);
        assert_eq!(count_request(&dir).unwrap(), 2);
        std::fs::write(dir.join("recent"), "1\n2\nnot-a-number\n").unwrap();
        assert_eq!(
            count_request(&dir).unwrap(),
            1,
            "old and malformed lines are dropped"
        );
    }

    #[test]
    fn a_window_that_never_recorded_its_outcome_counts_as_a_deny() {
        // Fail closed whatever the caller sets: the cooldown is written before the window
        // (`pending`); only a finished turn replaces or removes it.
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("t");
        let left = |stale| cooldown_left(&dir, Duration::from_secs(30), stale).unwrap();
        record_pending(&dir).unwrap();
        // Another request, before the lock: the window is up, so no cooldown yet...
        assert_eq!(left(false), None);
        // ...holding the lock: the window is gone without a word, so it counts as a Deny.
        assert!((29..=30).contains(&left(true).unwrap()));
        // A Deny replaces it; clearing a Deny leaves it.
        record_deny(&dir).unwrap();
        clear_pending(&dir).unwrap();
        assert!(left(false).is_some());
        // Any other ending removes a pending record.
        record_pending(&dir).unwrap();
        clear_pending(&dir).unwrap();
        assert_eq!(left(true), None);
        // A record that cannot be read is an error, never "no cooldown".
        let _ = std::fs::remove_file(dir.join("last-deny"));
        std::fs::create_dir(dir.join("last-deny")).unwrap();
        assert!(cooldown_left(&dir, Duration::from_secs(30), true).is_err());
        // Garbage counts from now.
        std::fs::remove_dir(dir.join("last-deny")).unwrap();
        std::fs::write(dir.join("last-deny"), "not a time").unwrap();
        assert!(left(false).is_some());
    }

    #[test]
    fn windowless_records_are_bounded_and_the_rest_counted() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("t");
        for _ in 0..WINDOWLESS_RECORDS {
            assert_eq!(log_record(&dir, true), Some(0));
        }
        for _ in 0..5 {
            assert_eq!(log_record(&dir, true), None);
        }
        // A decision is always written, and says how many were left out before it.
        assert_eq!(log_record(&dir, false), Some(5));
        assert_eq!(log_record(&dir, true), None);
        // Older than RECENT: room again, and the count of those left out comes with it.
        std::fs::write(dir.join("windowless"), "1\n2\nskipped 3\n").unwrap();
        assert_eq!(log_record(&dir, true), Some(3));
        assert_eq!(log_record(&dir, true), Some(0));
    }

    #[test]
    fn one_lock_at_a_time() {
        let d = tempfile::tempdir().unwrap();
        let first = lock(d.path(), Duration::ZERO).unwrap();
        assert!(first.is_some());
        assert!(
            lock(d.path(), Duration::from_millis(300))
                .unwrap()
                .is_none()
        );
        drop(first);
        assert!(lock(d.path(), Duration::ZERO).unwrap().is_some());
    }
}
