//! A local log of every decision (never a token), for the person to review later, chained so
//! that a partial edit shows.
//!
//! # Files
//!
//! - `audit.jsonl`: one JSON object a line, oldest first: `time` (seconds since the epoch),
//!   `registry`, `operation`, `detail`, `requester`, `outcome`, `evidence` (only when
//!   something was shown) and `prev`, the sha256 (lowercase hex) of the previous line's bytes
//!   exactly as written, without the newline. The first record of a fresh log has 64 zeros.
//! - `audit.jsonl.1`: the log before the last rotation (`ROTATE_AT`). The first record of
//!   the new `audit.jsonl` chains to its last line, so the two read as one chain.
//! - `audit.jsonl.head`: the sha256 of the line written last, and the lock that appends take
//!   so that two helpers never chain to the same line.
//!
//! # What the chain shows, and what it does not
//!
//! [`verify`] finds an edited, deleted, inserted or reordered record anywhere but at the
//! very end: the record after it no longer names it. The end is what the head file is for:
//! records removed from the end, or the last one edited, no longer match it
//! ([`verify_head`]). Records written before the chain existed (no `prev`) are reported as
//! unchained, not as tampering, and only at the beginning of the log.
//!
//! None of this is a secret: whoever can write the files can write a whole new log, with
//! every hash and the head recomputed. In the **default install** the log is in the user's
//! own directory, so a worm running as the user can do exactly that; the chain then shows
//! only clumsy edits. In the **sealed install** the files are in `STORE/<uid>/`, which the
//! user's programs cannot reach at all; there the chain and the head guard against the
//! helper's own mistakes and anyone who gets in later without rewriting everything.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod chain;
mod log;

pub(crate) use chain::{Break, Entry, GENESIS, Why, line_hash};
pub use chain::{Verdict, verify, verify_head};
pub(crate) use log::log_command;

/// One decision.
#[derive(Debug, serde::Serialize)]
pub struct Record<'a> {
    /// Seconds since the Unix epoch.
    pub time: u64,
    /// Registry index URL.
    pub registry: &'a str,
    /// Operation verb.
    pub operation: &'a str,
    /// Crate, version, checksum when known.
    pub detail: String,
    /// Requester exe path.
    pub requester: String,
    /// "approved", "denied: …", "refused: …", "released (policy)".
    pub outcome: String,
    /// What the window showed about the packaged crate (publish only).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub evidence: String,
    /// Where the published bytes came from (`package::provenance`): one object for one
    /// crate, a list for a plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<serde_json::Value>,
}

/// A record as written: [`Record`]'s fields, capped, and the hash of the line before.
#[derive(serde::Serialize)]
struct Line<'a> {
    time: u64,
    registry: &'a str,
    operation: &'a str,
    detail: &'a str,
    requester: &'a str,
    outcome: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    evidence: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    provenance: Option<&'a serde_json::Value>,
    prev: &'a str,
}

/// Where the log lives under the state directory.
pub fn log_path(state_dir: &Path) -> PathBuf {
    state_dir.join("cargo-confirm-gui").join("audit.jsonl")
}

/// `path` with `suffix` added to its name: `audit.jsonl.1`, `audit.jsonl.head`.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    p.into()
}

/// Where the log at `path` is moved when it rotates.
pub fn rotated_path(path: &Path) -> PathBuf {
    beside(path, ".1")
}

/// Where the hash of the line written last is kept for the log at `path`.
pub fn head_path(path: &Path) -> PathBuf {
    beside(path, ".head")
}

/// The longest a text field of a record is kept, in bytes: a registry URL, a crate name or a
/// requester's command line comes from the caller, who could otherwise fill the disk (in the
/// sealed install, a directory the user cannot clean).
const FIELD_MAX: usize = 1024;

/// The longest line the helper can write: six capped fields, each at most six times longer
/// once JSON escapes its control characters, and the keys, the time and the hash. A longer
/// line was not written by the helper, and is not read back further than this.
const LINE_MAX: usize = 64 * 1024;

/// The size at which the log is moved to `audit.jsonl.1` (replacing the one before) and a
/// new one begun: at most twice this is ever kept.
const ROTATE_AT: u64 = 1 << 20;

/// How long an append waits for another helper's append to finish before it writes anyway.
const LOCK_WAIT: Duration = Duration::from_secs(2);

/// `s`, cut to at most [`FIELD_MAX`] bytes on a character boundary, marked when cut.
fn capped(s: &str) -> std::borrow::Cow<'_, str> {
    if s.len() <= FIELD_MAX {
        return s.into();
    }
    let mut end = FIELD_MAX - 40;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &s[..end], s.len()).into()
}

/// The last line of the file at `path`, read from its tail only (at most [`LINE_MAX`] bytes
/// of it), and whether the file ends with a newline. `None` when the file is missing or
/// empty. A line longer than [`LINE_MAX`] comes back cut to its end: it was not written by
/// the helper, and [`verify`] reports it.
fn last_line(path: &Path) -> std::io::Result<Option<(Vec<u8>, bool)>> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    // One byte more than the longest line and its newline, to see the newline before it.
    let start = len.saturating_sub(LINE_MAX as u64 + 2);
    f.seek(SeekFrom::Start(start))?;
    let mut tail = Vec::new();
    f.take(LINE_MAX as u64 + 2).read_to_end(&mut tail)?;
    if tail.is_empty() {
        return Ok(None);
    }
    let ends = tail.last() == Some(&b'\n');
    if ends {
        tail.pop();
    }
    let line = match tail.iter().rposition(|&b| b == b'\n') {
        Some(at) => tail.split_off(at + 1),
        None => tail,
    };
    Ok(Some((line, ends)))
}

/// Takes the lock on the head file, waiting up to [`LOCK_WAIT`]. Returns whether it is held:
/// when it is not (a program holds it, or the file system has no locks) the append goes on
/// without it, since failing to log must not block the decision.
fn lock(head: &File) -> bool {
    let until = Instant::now() + LOCK_WAIT;
    loop {
        match head.try_lock() {
            Ok(()) => return true,
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < until => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => {
                eprintln!(
                    "cargo-confirm-gui: could not lock the audit log ({e}); writing without the lock"
                );
                return false;
            }
        }
    }
}

/// Appends a record to the log at `path`, each field capped at `FIELD_MAX` bytes, chained
/// to the line before (in `audit.jsonl.1` after a rotation), and the file rotated at
/// `ROTATE_AT`. What a failure means is the caller's to decide: the sealed install releases
/// nothing it cannot record (`pipeline`).
pub fn append(path: &Path, record: &Record<'_>) -> std::io::Result<()> {
    (|| -> std::io::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let head = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(head_path(path))?;
        // Held until `head` is closed, after the head is written.
        lock(&head);
        // An empty or missing log after a rotation still continues the chain of the one
        // rotated away: only a log with no files at all begins afresh.
        let (prev, torn) = match last_line(path)? {
            Some((line, ends)) => (line_hash(&line), !ends),
            None => match last_line(&rotated_path(path))? {
                Some((line, _)) => (line_hash(&line), false),
                None => (GENESIS.to_string(), false),
            },
        };
        let mut torn = torn;
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.len() >= ROTATE_AT) {
            std::fs::rename(path, rotated_path(path))?;
            torn = false;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        let line = serde_json::to_vec(&Line {
            time: record.time,
            registry: &capped(record.registry),
            operation: &capped(record.operation),
            detail: &capped(&record.detail),
            requester: &capped(&record.requester),
            outcome: &capped(&record.outcome),
            evidence: &capped(&record.evidence),
            provenance: record.provenance.as_ref(),
            prev: &prev,
        })
        .map_err(std::io::Error::other)?;
        let mut bytes = Vec::with_capacity(line.len() + 2);
        // A line cut short (a crash mid-write) is ended, so this record stays a line of its
        // own; verify reports the cut one.
        if torn {
            bytes.push(b'\n');
        }
        bytes.extend_from_slice(&line);
        bytes.push(b'\n');
        f.write_all(&bytes)?;
        let mut head = &head;
        head.seek(SeekFrom::Start(0))?;
        head.write_all(format!("{}\n", line_hash(&line)).as_bytes())?;
        head.set_len(GENESIS.len() as u64 + 1)
    })()
}

/// Whether a record could be written to the log at `path` now: its directory made, the log
/// and its head opened for writing. Writes nothing.
pub fn probe(path: &Path) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(head_path(path))?;
    Ok(())
}

/// Now, in seconds since the epoch.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The log's lines as written, `audit.jsonl.1` first: split at each newline, with no
/// newline kept and none added, so each hashes as [`append`] hashed it. A last line
/// without its newline (cut short) is kept.
pub fn split_lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut lines: Vec<Vec<u8>> = bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    if lines.last().is_some_and(Vec::is_empty) {
        lines.pop();
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn record(detail: String) -> Record<'static> {
        Record {
            time: 1,
            registry: "crates-io",
            operation: "publish",
            detail,
            requester: "/usr/bin/cargo".into(),
            outcome: "refused: …".into(),
            evidence: String::new(),
            provenance: None,
        }
    }

    /// Both files' lines, `.1` first.
    fn lines(path: &Path) -> Vec<Vec<u8>> {
        let mut all = split_lines(&std::fs::read(rotated_path(path)).unwrap_or_default());
        all.extend(split_lines(&std::fs::read(path).unwrap()));
        all
    }

    #[test]
    fn a_huge_field_is_cut_and_the_log_rotates() {
        // Review of "Nothing the caller supplies": 60 KB registry URLs and names, refused
        // again and again, grew the sealed log without limit.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let huge = "é".repeat(30_000);
        append(&path, &record(huge.clone())).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.len() < 2 * FIELD_MAX, "{}", text.len());
        assert!(text.contains("(60000 bytes in all)"), "{text}");
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert!(line["detail"].as_str().unwrap().len() <= FIELD_MAX);
        // Thousands of appends keep at most two files of about ROTATE_AT each, and the head.
        for _ in 0..3_000 {
            append(&path, &record(huge.clone())).unwrap();
        }
        let now = std::fs::metadata(&path).unwrap().len();
        let old = std::fs::metadata(dir.path().join("audit.jsonl.1"))
            .unwrap()
            .len();
        assert!(
            now < ROTATE_AT + 2048 && old < ROTATE_AT + 2048,
            "{now} {old}"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3);
    }

    #[test]
    fn a_short_record_is_kept_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        append(&path, &record("foo 1.0.0".into())).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["detail"], "foo 1.0.0");
        assert_eq!(line["registry"], "crates-io");
        assert_eq!(line["prev"], GENESIS);
    }

    #[test]
    fn each_record_names_the_line_before_and_the_head_the_last() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        for i in 0..3 {
            append(&path, &record(format!("foo 1.0.{i}"))).unwrap();
        }
        let lines = lines(&path);
        assert_eq!(lines.len(), 3);
        for i in 1..3 {
            let v: serde_json::Value = serde_json::from_slice(&lines[i]).unwrap();
            assert_eq!(v["prev"], line_hash(&lines[i - 1]));
        }
        assert_eq!(
            verify(&lines),
            Verdict::Verified {
                records: 3,
                unchained: 0,
                continues: false
            }
        );
        let head = std::fs::read_to_string(head_path(&path)).unwrap();
        assert_eq!(head, format!("{}\n", line_hash(&lines[2])));
        assert_eq!(verify_head(&lines, &head), None);
    }

    #[test]
    fn rotation_keeps_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        // 1 KiB details: about a thousand records fill a file.
        let big = "x".repeat(FIELD_MAX);
        let mut n = 0;
        while !rotated_path(&path).exists() {
            append(&path, &record(big.clone())).unwrap();
            n += 1;
        }
        append(&path, &record("after 1.0.0".into())).unwrap();
        let old = split_lines(&std::fs::read(rotated_path(&path)).unwrap());
        let new = split_lines(&std::fs::read(&path).unwrap());
        assert_eq!(old.len() + new.len(), n + 1);
        let first: serde_json::Value = serde_json::from_slice(&new[0]).unwrap();
        assert_eq!(first["prev"], line_hash(old.last().unwrap()));
        let all = lines(&path);
        assert!(matches!(verify(&all), Verdict::Verified { records, .. } if records == n + 1));
        // After a second rotation the oldest records are gone: the chain still holds, and
        // says it continues records no longer kept.
        loop {
            let before = std::fs::metadata(&path).unwrap().len();
            append(&path, &record(big.clone())).unwrap();
            if std::fs::metadata(&path).unwrap().len() < before {
                break;
            }
        }
        assert!(matches!(
            verify(&lines(&path)),
            Verdict::Verified {
                continues: true,
                ..
            }
        ));
    }

    #[test]
    fn the_previous_line_is_read_from_the_tail_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        // A line longer than any the helper writes: only its last LINE_MAX bytes are read.
        let mut junk = vec![b'a'; 3 * LINE_MAX];
        junk.push(b'\n');
        std::fs::write(&path, &junk).unwrap();
        let (line, ends) = last_line(&path).unwrap().unwrap();
        assert!(ends);
        assert!(line.len() <= LINE_MAX + 1, "{}", line.len());
        append(&path, &record("foo 1.0.0".into())).unwrap();
        let all = lines(&path);
        assert_eq!(all.len(), 2);
        assert!(matches!(
            verify(&all),
            Verdict::Broken(Break {
                index: 0,
                why: Why::TooLong,
                ..
            })
        ));
    }

    #[test]
    fn a_line_cut_short_is_ended_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        append(&path, &record("foo 1.0.0".into())).unwrap();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"{\"time\":2,\"regis").unwrap();
        append(&path, &record("foo 1.0.1".into())).unwrap();
        let all = lines(&path);
        assert_eq!(all.len(), 3);
        let v: serde_json::Value = serde_json::from_slice(&all[2]).unwrap();
        assert_eq!(v["detail"], "foo 1.0.1");
        assert!(matches!(
            verify(&all),
            Verdict::Broken(Break {
                index: 1,
                why: Why::NotARecord(_),
                ..
            })
        ));
    }

    #[test]
    fn concurrent_appends_never_chain_to_the_same_line() {
        // Ten refused requests at once each write a record (worm::ten_simultaneous_requests…):
        // without the lock two would name the same line, and the log would read as broken.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        std::thread::scope(|s| {
            for t in 0..8 {
                let path = &path;
                s.spawn(move || {
                    for i in 0..25 {
                        append(path, &record(format!("t{t} 1.0.{i}"))).unwrap();
                    }
                });
            }
        });
        let all = lines(&path);
        assert_eq!(all.len(), 200);
        assert!(
            matches!(verify(&all), Verdict::Verified { records: 200, .. }),
            "{:?}",
            verify(&all)
        );
    }
}
