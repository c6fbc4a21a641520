//! A local log of every decision (never a token), for the person to review later.

use std::io::Write;
use std::path::{Path, PathBuf};

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
}

/// Where the log lives under the state directory.
pub fn log_path(state_dir: &Path) -> PathBuf {
    state_dir.join("cargo-confirm-gui").join("audit.jsonl")
}

/// The longest a text field of a record is kept, in bytes: a registry URL, a crate name or a
/// requester's command line comes from the caller, who could otherwise fill the disk (in the
/// sealed install, a directory the user cannot clean).
pub const FIELD_MAX: usize = 1024;

/// The size at which the log is moved to `audit.jsonl.1` (replacing the one before) and a
/// new one begun: at most twice this is ever kept.
pub const ROTATE_AT: u64 = 1 << 20;

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

/// Appends a record to the log at `path`, each field capped at [`FIELD_MAX`] bytes and the
/// file rotated at [`ROTATE_AT`]; failure to log never blocks the decision, it is reported on
/// stderr.
pub fn append(path: &Path, record: &Record<'_>) {
    let result = (|| -> std::io::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.len() >= ROTATE_AT) {
            let mut old = path.as_os_str().to_owned();
            old.push(".1");
            std::fs::rename(path, old)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        let registry = capped(record.registry);
        let operation = capped(record.operation);
        let capped = Record {
            time: record.time,
            registry: &registry,
            operation: &operation,
            detail: capped(&record.detail).into_owned(),
            requester: capped(&record.requester).into_owned(),
            outcome: capped(&record.outcome).into_owned(),
            evidence: capped(&record.evidence).into_owned(),
        };
        let mut line = serde_json::to_vec(&capped).map_err(std::io::Error::other)?;
        line.push(b'\n');
        f.write_all(&line)
    })();
    if let Err(e) = result {
        eprintln!(
            "cargo-confirm-gui: could not write the audit log {}: {e}",
            path.display()
        );
    }
}

/// Now, in seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(detail: String) -> Record<'static> {
        Record {
            time: 1,
            registry: "crates-io",
            operation: "publish",
            detail,
            requester: "/usr/bin/cargo".into(),
            outcome: "refused: …".into(),
            evidence: String::new(),
        }
    }

    #[test]
    fn a_huge_field_is_cut_and_the_log_rotates() {
        // Review of "Nothing the caller supplies": 60 KB registry URLs and names, refused
        // again and again, grew the sealed log without limit.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let huge = "é".repeat(30_000);
        append(&path, &record(huge.clone()));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.len() < 2 * FIELD_MAX, "{}", text.len());
        assert!(text.contains("(60000 bytes in all)"), "{text}");
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert!(line["detail"].as_str().unwrap().len() <= FIELD_MAX);
        // Thousands of appends keep at most two files of about ROTATE_AT each.
        for _ in 0..3_000 {
            append(&path, &record(huge.clone()));
        }
        let now = std::fs::metadata(&path).unwrap().len();
        let old = std::fs::metadata(dir.path().join("audit.jsonl.1"))
            .unwrap()
            .len();
        assert!(
            now < ROTATE_AT + 2048 && old < ROTATE_AT + 2048,
            "{now} {old}"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn a_short_record_is_kept_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        append(&path, &record("foo 1.0.0".into()));
        let text = std::fs::read_to_string(&path).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["detail"], "foo 1.0.0");
        assert_eq!(line["registry"], "crates-io");
    }
}
