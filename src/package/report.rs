//! The outcome of a check: whether the packaged file matches the request, what the window
//! shows, the line for the audit log, and the report that arrives while the window is open.

use std::path::PathBuf;

use super::archive::{Contents, Kind, hash_and_list, hash_only};
use super::locate::{ReadError, open_regular};
use super::review::{Flag, Level, Previous};
use super::{Limits, human_size};

/// The result of comparing the packaged file with the request's checksum.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Check {
    /// The file's sha256 is the request's `cksum`.
    Match(PathBuf),
    /// A `.crate` of this name and version exists, but no such file has the request's hash.
    Mismatch {
        /// The first file found.
        path: PathBuf,
        /// Its sha256, hex.
        actual: String,
    },
    /// No `.crate` was found in these places.
    NotFound(Vec<PathBuf>),
    /// A file was found but could not be read.
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// The request itself cannot come from cargo (a crate name with `/` in it, say).
    Forged(String),
}

impl Report {
    /// Whether Approve must stay unavailable: the check failed, or the archive has a problem
    /// (cargo never makes an archive with one: a duplicate, a link, an odd name, a listing
    /// that stopped early), since then the tools that read it may not agree on what it holds.
    pub(crate) fn blocks_approve(&self) -> bool {
        self.check.blocks_approve()
            || self
                .contents
                .as_ref()
                .is_some_and(|c| !c.problems.is_empty())
            || self.refused_by_policy.is_some()
    }

    /// Applies the administrator's `[publish]` rules to this report's provenance.
    pub(crate) fn apply(&mut self, rules: &crate::policy::PublishRules) {
        // Who signed: only the policy names a key's holder.
        if let Some(sig) = self
            .provenance
            .as_mut()
            .and_then(|p| p.signature.as_mut())
            .filter(|s| s.valid == Some(true))
        {
            sig.signer = sig.key.as_deref().and_then(|k| rules.signer_of(k));
        }
        if matches!(self.check, Check::Match(_)) {
            self.refused_by_policy = rules.refuses(self.provenance.as_ref());
        }
    }
}

impl Check {
    /// Whether Approve must stay unavailable: anything but a match. A publish whose file
    /// cannot be found or read is not verified, and what is not verified is not approvable.
    pub fn blocks_approve(&self) -> bool {
        !matches!(self, Check::Match(_))
    }
}

/// Everything [`gather`](super::gather) found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Report {
    /// Does the file on disk match the request?
    pub check: Check,
    /// What is inside the matching file (none when nothing matched).
    pub contents: Option<Contents>,
    /// What changed since the previous version.
    pub previous: Previous,
    /// Flags from `contents` and `previous`, most serious first.
    pub flags: Vec<Flag>,
    /// How to open the matching file again, to hash it once more just before answering:
    /// its path, or `/proc/PID/fd/N` when it is the file cargo itself holds open.
    pub opened: Option<PathBuf>,
    /// Where its bytes came from: the commit it names, in the requester's repository.
    #[serde(default)]
    pub provenance: Option<super::Provenance>,
    /// Why the administrator's `[publish]` rules block Approve for this provenance.
    #[serde(default)]
    pub refused_by_policy: Option<String>,
}

impl Report {
    /// Whether the match is the file cargo itself holds open (so the one it will upload),
    /// not one found by looking where cargo writes.
    pub(crate) fn held_by_cargo(&self) -> bool {
        self.opened
            .as_ref()
            .is_some_and(|p| p.starts_with("/proc/"))
    }

    /// One line for the audit log.
    pub fn summary(&self) -> String {
        let mut s = match &self.check {
            Check::Match(p) if self.held_by_cargo() => {
                format!("crate file verified (held open by cargo): {}", p.display())
            }
            Check::Match(p) => format!("crate file verified: {}", p.display()),
            Check::Mismatch { path, .. } => {
                format!("CHECKSUM MISMATCH with {}", path.display())
            }
            Check::NotFound(_) => "crate file not found, not verified".into(),
            Check::Unreadable { path, why } => {
                format!("crate file {} unreadable ({why})", path.display())
            }
            Check::Forged(why) => format!("forged request: {why}"),
        };
        if let Some(c) = &self.contents {
            s.push_str(&format!(
                "; {} files, {}",
                c.files.iter().filter(|f| f.kind != Kind::Dir).count(),
                human_size(c.unpacked)
            ));
        }
        if let Previous::Found(d) = &self.previous {
            s.push_str(&format!(
                "; since {}: +{} -{} ~{} files",
                d.previous,
                d.added.len(),
                d.removed.len(),
                d.changed.len()
            ));
            if let Some(b) = &d.build_script {
                s.push_str(&format!(", build script {b}"));
            }
            if !d.deps_added.is_empty() || !d.deps_changed.is_empty() {
                s.push_str(&format!(
                    ", dependencies +{} ~{}",
                    d.deps_added.len(),
                    d.deps_changed.len()
                ));
            }
        }
        if let Some(p) = &self.provenance {
            s.push_str(&format!("; source: {}", p.summary()));
        }
        for f in &self.flags {
            let tag = match f.level {
                Level::Danger => "DANGER",
                Level::Notice => "note",
            };
            s.push_str(&format!("; {tag}: {}", f.text));
        }
        s
    }
}

/// A [`Report`] that arrives while the window is already open.
#[derive(Debug, Clone, Default)]
pub struct Pending(std::sync::Arc<PendingInner>);

#[derive(Debug, Default)]
struct PendingInner {
    report: std::sync::OnceLock<Report>,
    arrived: std::sync::Mutex<bool>,
    signal: std::sync::Condvar,
}

impl Pending {
    /// Already known (tests, snapshots).
    pub fn ready(report: Report) -> Self {
        let p = Pending::default();
        p.set(report);
        p
    }
    /// Stores the report; only the first one counts. Wakes whoever waits for it.
    pub fn set(&self, report: Report) {
        let _ = self.0.report.set(report);
        if let Ok(mut arrived) = self.0.arrived.lock() {
            *arrived = true;
        }
        self.0.signal.notify_all();
    }
    /// The report, if it has arrived.
    pub(crate) fn get(&self) -> Option<&Report> {
        self.0.report.get()
    }
    /// Waits up to `timeout` for the report.
    pub(crate) fn wait(&self, timeout: std::time::Duration) -> Option<&Report> {
        if let Ok(arrived) = self.0.arrived.lock() {
            drop(
                self.0
                    .signal
                    .wait_timeout_while(arrived, timeout, |arrived| !*arrived),
            );
        }
        self.get()
    }
    /// Waits for the report however long it takes (`None` only if waiting failed).
    pub(crate) fn wait_forever(&self) -> Option<&Report> {
        if let Ok(arrived) = self.0.arrived.lock() {
            drop(self.0.signal.wait_while(arrived, |arrived| !*arrived));
        }
        self.get()
    }
}

/// Hashes each candidate (shown path, path to open) in turn; the first whose hash is
/// `cksum` is the match.
pub(super) fn verify(
    cands: &[(PathBuf, PathBuf)],
    cksum: &str,
    limits: &Limits,
) -> (Check, Option<Contents>, Option<PathBuf>) {
    let want = cksum.to_ascii_lowercase();
    let mut first_mismatch = None;
    let mut first_unreadable = None;
    for (path, open) in cands {
        let file = match open_regular(open, limits) {
            Ok(Some(f)) => f,
            Ok(None) => continue,
            Err(why) => {
                first_unreadable.get_or_insert(Check::Unreadable {
                    path: path.clone(),
                    why: why.to_string(),
                });
                continue;
            }
        };
        match hash_and_list(file, limits) {
            Ok((hash, contents)) if hash == want => {
                return (
                    Check::Match(path.clone()),
                    Some(contents),
                    Some(open.clone()),
                );
            }
            Ok((hash, _)) => {
                first_mismatch.get_or_insert(Check::Mismatch {
                    path: path.clone(),
                    actual: hash,
                });
            }
            Err(why) => {
                first_unreadable.get_or_insert(Check::Unreadable {
                    path: path.clone(),
                    why: why.to_string(),
                });
            }
        }
    }
    let check = first_mismatch
        .or(first_unreadable)
        .unwrap_or_else(|| Check::NotFound(cands.iter().map(|(p, _)| p.clone()).collect()));
    (check, None, None)
}

/// Hashes the matching file of `report` once more: cargo reads the file again for the
/// upload, so this is the last look before the token goes out. `Err` says what changed.
pub(crate) fn recheck(report: &Report, cksum: &str, limits: &Limits) -> Result<(), Changed> {
    let Some(path) = &report.opened else {
        return Err(Changed::NotVerified);
    };
    let file = open_regular(path, limits)?.ok_or(Changed::Gone)?;
    let hash = hash_only(file, limits).map_err(ReadError::Io)?;
    if hash == cksum.to_ascii_lowercase() {
        Ok(())
    } else {
        Err(Changed::Hash { hash })
    }
}

/// Why [`recheck`] refuses: the `.crate` cargo is about to upload is not the one checked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Changed {
    /// No file matched in the first check.
    #[error("no packaged .crate was verified")]
    NotVerified,
    /// The file is no longer there.
    #[error("the .crate is gone")]
    Gone,
    /// It can no longer be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// It hashes differently now.
    #[error("the .crate changed after it was checked: it now hashes to {hash}")]
    Hash {
        /// Its sha256 now (hex).
        hash: String,
    },
}
