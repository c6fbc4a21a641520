//! Against prompt spam and fatigue: one window at a time per user, a cooldown after a
//! Deny, and a count of recent requests for the window to show.
//!
//! State lives in a per-user directory (`$XDG_RUNTIME_DIR/cargo-confirm-gui`, else under
//! the state directory), or in the sealed store in a sealed install (see `state`). In the
//! default install a same-user worm can delete it: there it is a usability guard against
//! being worn down, not a security boundary; the click rules are the boundary.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
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

/// Seconds left in the cooldown after the last Deny, if any.
pub(crate) fn cooldown_left(dir: &Path, cooldown: Duration) -> Option<u64> {
    let text = std::fs::read_to_string(dir.join("last-deny")).ok()?;
    let at: u64 = text.trim().parse().ok()?;
    let end = at.saturating_add(cooldown.as_secs());
    let now = now();
    (now < end).then(|| end - now)
}

/// Records a Deny now.
pub(crate) fn record_deny(dir: &Path) {
    if ensure(dir).is_ok() {
        let _ = std::fs::write(dir.join("last-deny"), now().to_string());
    }
}

/// Records one more request and returns how many came in the last [`RECENT`], this one included.
pub(crate) fn count_request(dir: &Path) -> u32 {
    let path = dir.join("recent");
    let result = (|| -> std::io::Result<u32> {
        ensure(dir)?;
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        let mut text = String::new();
        f.read_to_string(&mut text)?;
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
        f.set_len(0)?;
        f.rewind()?;
        f.write_all(body.as_bytes())?;
        Ok(times.len() as u32)
    })();
    result.unwrap_or(1)
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
    let path = dir.join("windowless");
    let result = (|| -> std::io::Result<Option<u32>> {
        ensure(dir)?;
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        let mut text = String::new();
        f.read_to_string(&mut text)?;
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
        f.set_len(0)?;
        f.rewind()?;
        f.write_all(body.as_bytes())?;
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
        assert_eq!(cooldown_left(&dir, Duration::from_secs(30)), None);
        record_deny(&dir);
        let left = cooldown_left(&dir, Duration::from_secs(30)).unwrap();
        assert!((29..=30).contains(&left));
        assert_eq!(cooldown_left(&dir, Duration::ZERO), None);
        assert_eq!(count_request(&dir), 1);
        assert_eq!(count_request(&dir), 2);
        std::fs::write(dir.join("recent"), "1\n2\nnot-a-number\n").unwrap();
        assert_eq!(
            count_request(&dir),
            1,
            "old and malformed lines are dropped"
        );
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
