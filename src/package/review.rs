//! What a reviewer must notice: the flags for one archive, and the diff against the previous
//! version in the local cache.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use super::archive::{Contents, FileEntry, Kind, list};
use super::locate::{find_previous, open_regular};
use super::{Limits, human_size};

/// How loudly to show a flag.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Level {
    /// Red: a reviewer must stop and look.
    Danger,
    /// Amber: worth a look.
    Notice,
}

/// One thing the window points out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Flag {
    /// How loudly.
    pub level: Level,
    /// What, for people.
    pub text: String,
}

/// Files at the crate root that every package has; they do not count as "outside `src/`".
const ROOT_METADATA: &[&str] = &[
    "Cargo.toml",
    "Cargo.toml.orig",
    "Cargo.lock",
    ".cargo_vcs_info.json",
];

/// Root-level names (by prefix, case-insensitive) that are documentation, not code.
const ROOT_DOCS: &[&str] = &[
    "readme",
    "license",
    "licence",
    "copying",
    "changelog",
    "notice",
];

impl Contents {
    /// The build script's path inside the crate, if the crate has one.
    pub fn build_script(&self) -> Option<&str> {
        let declared = self.manifest.as_ref().and_then(|m| m.build.as_deref());
        match declared {
            Some("") => None,
            Some(path) => Some(path),
            None => self
                .files
                .iter()
                .find(|f| f.path == "build.rs")
                .map(|f| f.path.as_str()),
        }
    }

    fn entry(&self, path: &str) -> Option<&FileEntry> {
        self.files.iter().find(|f| f.path == path)
    }

    /// Everything a reviewer must notice, most serious first.
    pub fn flags(&self, limits: &Limits) -> Vec<Flag> {
        let mut flags: Vec<Flag> = self
            .problems
            .iter()
            .map(|p| Flag {
                level: Level::Danger,
                text: p.clone(),
            })
            .collect();
        let mut push = |level, text: String| flags.push(Flag { level, text });
        if let Some(b) = self.build_script() {
            push(
                Level::Notice,
                format!("build script {b}: runs on every machine that builds this crate"),
            );
        }
        if self.manifest.as_ref().is_some_and(|m| m.proc_macro) {
            push(
                Level::Notice,
                "proc-macro: runs inside the compiler of everyone who uses this crate".into(),
            );
        }
        if let Some(l) = self.manifest.as_ref().and_then(|m| m.links.as_ref()) {
            push(Level::Notice, format!("links the native library {l}"));
        }
        let binaries: Vec<&str> = self
            .files
            .iter()
            .filter(|f| f.binary || has_binary_extension(&f.path))
            .map(|f| f.path.as_str())
            .collect();
        if !binaries.is_empty() {
            push(
                Level::Danger,
                format!(
                    "{} binary or library file(s): {}",
                    binaries.len(),
                    sample(&binaries)
                ),
            );
        }
        let large: Vec<String> = self
            .files
            .iter()
            .filter(|f| f.size > limits.large_file)
            .map(|f| format!("{} ({})", f.path, human_size(f.size)))
            .collect();
        if !large.is_empty() {
            let refs: Vec<&str> = large.iter().map(String::as_str).collect();
            push(
                Level::Notice,
                format!("{} large file(s): {}", large.len(), sample(&refs)),
            );
        }
        let build = self.build_script();
        let outside: Vec<&str> = self
            .files
            .iter()
            .filter(|f| {
                f.kind != Kind::Dir && outside_src(&f.path) && Some(f.path.as_str()) != build
            })
            .map(|f| f.path.as_str())
            .collect();
        if !outside.is_empty() {
            push(
                Level::Notice,
                format!(
                    "{} file(s) outside src/: {}",
                    outside.len(),
                    sample(&outside)
                ),
            );
        }
        flags.sort_by_key(|f| f.level);
        flags
    }
}

pub(super) fn outside_src(path: &str) -> bool {
    if path.starts_with("src/") || ROOT_METADATA.contains(&path) {
        return false;
    }
    let lower = path.to_ascii_lowercase();
    path.contains('/') || !ROOT_DOCS.iter().any(|d| lower.starts_with(d))
}

fn has_binary_extension(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    [
        ".so", ".dylib", ".dll", ".exe", ".a", ".lib", ".o", ".obj", ".node", ".wasm",
    ]
    .iter()
    .any(|e| lower.ends_with(e))
        || lower.contains(".so.")
}

fn sample(items: &[&str]) -> String {
    const SHOWN: usize = 4;
    let mut s = items
        .iter()
        .take(SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        s.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    s
}

/// What changed since the previous version in the local cache.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Diff {
    /// The previous version.
    pub(crate) previous: String,
    /// The cached `.crate` it was read from.
    pub(crate) path: PathBuf,
    /// Files only in the new version.
    pub added: Vec<String>,
    /// Files only in the previous version.
    pub removed: Vec<String>,
    /// Files in both, with different content.
    pub changed: Vec<String>,
    /// How the build script changed, if it did.
    pub build_script: Option<BuildScriptChange>,
    /// Dependencies only in the new version, "kind name requirement".
    pub deps_added: Vec<String>,
    /// Dependencies only in the previous version.
    pub deps_removed: Vec<String>,
    /// Dependencies in both with a different requirement, "name: old → new".
    pub deps_changed: Vec<String>,
    /// `proc-macro` was switched on.
    pub became_proc_macro: bool,
    /// The lines added and removed in the files a reviewer must read: the build script,
    /// `Cargo.toml`, a proc-macro's library, and files outside `src/`.
    #[serde(default)]
    pub lines: Vec<LineDiff>,
}

/// One file's lines, added and removed since the previous version.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LineDiff {
    /// The file, in the new version.
    pub path: String,
    /// Why a reviewer must read it ("build script", "proc-macro library", …).
    pub why: String,
    /// Lines added.
    pub added: usize,
    /// Lines removed.
    pub removed: usize,
    /// The changed lines with two lines of context around each change, in unified-diff
    /// form (`+`, `-`, ` `, and `@@` between hunks), cut at `DIFF_LINES` lines of at most
    /// `DIFF_LINE_CHARS` characters each.
    pub hunks: Vec<String>,
    /// Lines left out by the cut.
    pub cut: usize,
    /// Why there are no lines: the text was too large to keep, or not UTF-8.
    pub unavailable: Option<String>,
}

/// The most lines of one file's diff the window holds.
pub const DIFF_LINES: usize = 400;
/// The most characters of one line of a diff.
pub const DIFF_LINE_CHARS: usize = 200;
/// How long one file's diff may take (similar's deadline: past it, the diff is coarser, not
/// wrong).
const DIFF_TIME: std::time::Duration = std::time::Duration::from_millis(250);

/// The lines of `old` → `new` for one file.
pub fn line_diff(path: &str, why: &str, old: Option<&str>, new: Option<&str>) -> LineDiff {
    let mut d = LineDiff {
        path: path.to_string(),
        why: why.to_string(),
        ..Default::default()
    };
    let Some(new) = new else {
        d.unavailable = Some("too large to show, or not text".into());
        return d;
    };
    let old = old.unwrap_or("");
    let diff = similar::TextDiff::configure()
        .timeout(DIFF_TIME)
        .diff_lines(old, new);
    for group in diff.grouped_ops(2) {
        if !d.hunks.is_empty() || d.cut > 0 {
            push_line(&mut d, "@@".into());
        }
        for op in group {
            for change in diff.iter_changes(&op) {
                let mark = match change.tag() {
                    similar::ChangeTag::Insert => {
                        d.added += 1;
                        '+'
                    }
                    similar::ChangeTag::Delete => {
                        d.removed += 1;
                        '-'
                    }
                    similar::ChangeTag::Equal => ' ',
                };
                let text = change.as_str().unwrap_or("").trim_end_matches(['\n', '\r']);
                let mut line: String = std::iter::once(mark)
                    .chain(text.chars().take(DIFF_LINE_CHARS))
                    .collect();
                if text.chars().count() > DIFF_LINE_CHARS {
                    line.push('…');
                }
                push_line(&mut d, line);
            }
        }
    }
    d
}

fn push_line(d: &mut LineDiff, line: String) {
    if d.hunks.len() < DIFF_LINES {
        d.hunks.push(line);
    } else {
        d.cut += 1;
    }
}

/// How the build script changed since the previous version. Serialized (and shown) as
/// `new`, `changed` or `removed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BuildScriptChange {
    /// The previous version had none.
    New,
    /// Both have one, with different content.
    Changed,
    /// The new version has none.
    Removed,
}

impl std::fmt::Display for BuildScriptChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BuildScriptChange::New => "new",
            BuildScriptChange::Changed => "changed",
            BuildScriptChange::Removed => "removed",
        })
    }
}

/// The previous version, if the cache has one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Previous {
    /// No earlier version of this crate is in the cache (or there is no cache).
    None,
    /// Compared with this one.
    Found(Diff),
    /// A cached file exists but could not be read.
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
}

/// The highest cached version of `name` below `vers`, listed (before the new version is, or
/// while it is: the two do not depend on each other).
pub(super) struct Earlier(Result<(String, PathBuf, Contents), Previous>);

impl Earlier {
    /// Finds and lists it.
    pub(super) fn list(name: &str, vers: &str, cargo_home: &Path, limits: &Limits) -> Earlier {
        let Some((version, path)) = find_previous(name, vers, cargo_home) else {
            return Earlier(Err(Previous::None));
        };
        let file = match open_regular(&path, limits) {
            Ok(Some(f)) => f,
            Ok(None) => return Earlier(Err(Previous::None)),
            Err(why) => {
                return Earlier(Err(Previous::Unreadable {
                    path,
                    why: why.to_string(),
                }));
            }
        };
        let before = list(io::BufReader::new(file), limits);
        if before.files.is_empty() {
            return Earlier(Err(Previous::Unreadable {
                path,
                why: before.problems.join("; "),
            }));
        }
        Earlier(Ok((version.to_string(), path, before)))
    }

    /// Compared with `now`.
    pub(super) fn compare(self, now: &Contents) -> Previous {
        match self.0 {
            Ok((version, path, before)) => Previous::Found(diff(&before, now, &version, path)),
            Err(p) => p,
        }
    }
}

/// Compares two listings.
pub fn diff(before: &Contents, now: &Contents, previous: &str, path: PathBuf) -> Diff {
    let files = |c: &Contents| -> BTreeMap<String, Option<[u8; 32]>> {
        c.files
            .iter()
            .filter(|f| f.kind != Kind::Dir)
            .map(|f| (f.path.clone(), f.sha256))
            .collect()
    };
    let (old, new) = (files(before), files(now));
    // Cargo rewrites these on every release; a change there is not news.
    let routine = |p: &str| p == "Cargo.toml" || p == ".cargo_vcs_info.json";
    let mut d = Diff {
        previous: previous.to_string(),
        path,
        ..Default::default()
    };
    for (p, h) in &new {
        match old.get(p) {
            None => d.added.push(p.clone()),
            Some(o) if o != h && !routine(p) => d.changed.push(p.clone()),
            _ => {}
        }
    }
    d.removed = old
        .keys()
        .filter(|p| !new.contains_key(*p))
        .cloned()
        .collect();
    d.build_script = match (before.build_script(), now.build_script()) {
        (None, Some(_)) => Some(BuildScriptChange::New),
        (Some(_), None) => Some(BuildScriptChange::Removed),
        (Some(a), Some(b))
            if before.entry(a).map(|e| e.sha256) != now.entry(b).map(|e| e.sha256) =>
        {
            Some(BuildScriptChange::Changed)
        }
        _ => None,
    };
    let no_deps = BTreeMap::new();
    let deps = |c: &Contents| c.manifest.as_ref().map(|m| m.deps.clone());
    let (od, nd) = (
        deps(before).unwrap_or(no_deps.clone()),
        deps(now).unwrap_or(no_deps),
    );
    for (k, v) in &nd {
        match od.get(k) {
            None => d.deps_added.push(format!("{k} {v}")),
            Some(o) if o != v => d.deps_changed.push(format!("{k}: {o} -> {v}")),
            _ => {}
        }
    }
    d.deps_removed = od
        .iter()
        .filter(|(k, _)| !nd.contains_key(*k))
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let pm = |c: &Contents| c.manifest.as_ref().is_some_and(|m| m.proc_macro);
    d.became_proc_macro = pm(now) && !pm(before);
    d.lines = must_read(before, now, &d);
    d
}

/// The line diffs of the files a reviewer must read, for those that were added or changed:
/// the build script, `Cargo.toml` (cargo's normalised one: what users of the crate get), a
/// proc-macro's library, and files outside `src/`.
fn must_read(before: &Contents, now: &Contents, d: &Diff) -> Vec<LineDiff> {
    let touched = |p: &str| d.added.iter().chain(&d.changed).any(|x| x == p);
    let mut wanted: Vec<(String, &str)> = Vec::new();
    if let Some(b) = now.build_script()
        && touched(b)
    {
        wanted.push((b.to_string(), "build script"));
    }
    let old_manifest = before.texts.get("Cargo.toml");
    if now.texts.get("Cargo.toml") != old_manifest {
        wanted.push(("Cargo.toml".into(), "manifest"));
    }
    if now.manifest.as_ref().is_some_and(|m| m.proc_macro) && touched("src/lib.rs") {
        wanted.push(("src/lib.rs".into(), "proc-macro library"));
    }
    for p in d.added.iter().chain(&d.changed) {
        if outside_src(p) && !wanted.iter().any(|(w, _)| w == p) {
            wanted.push((p.clone(), "outside src/"));
        }
    }
    wanted
        .into_iter()
        .map(|(path, why)| {
            let old = before.texts.get(&path).map(String::as_str);
            let new = now.texts.get(&path).map(String::as_str);
            line_diff(&path, why, old, new)
        })
        // A manifest whose only change is its version is every release's: not news.
        .filter(|l| {
            l.why != "manifest"
                || l.hunks
                    .iter()
                    .filter(|h| h.starts_with(['+', '-']))
                    .any(|h| !h[1..].trim_start().starts_with("version ="))
        })
        .collect()
}
