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

/// Appends a record to the log at `path`; failure to log never blocks the decision, it is
/// reported on stderr.
pub fn append(path: &Path, record: &Record<'_>) {
    let result = (|| -> std::io::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
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
