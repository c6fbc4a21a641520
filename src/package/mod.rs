//! Evidence for the window: what exactly is being published.
//!
//! [`gather`] finds the `.crate` cargo packaged, re-hashes it and compares the hash with the
//! request's `cksum`, lists what is inside, and compares it with the previous version in the
//! local cargo cache. Nothing is unpacked to disk. The file is read once, through one
//! descriptor: the bytes that are hashed are the bytes that are listed, so a file swapped
//! between "hash" and "list" cannot show one thing and match another. Every read is bounded
//! by [`Limits`]; a hostile archive (path traversal, links, huge entries, gzip bombs) costs at
//! most that much work and is reported as a problem, never a crash.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// How much work one archive may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest `.crate` file that is hashed (compressed bytes).
    pub max_crate_file: u64,
    /// Most bytes read out of the gzip stream (a gzip bomb stops here).
    pub max_unpacked: u64,
    /// Most tar entries listed.
    pub max_entries: usize,
    /// Largest `Cargo.toml` kept in memory to read dependencies.
    pub max_manifest: u64,
    /// Files larger than this are flagged.
    pub large_file: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_crate_file: 1 << 30,
            // crates.io refuses crates that unpack to more than 512 MiB.
            max_unpacked: 512 << 20,
            max_entries: 100_000,
            max_manifest: 1 << 20,
            large_file: 1 << 20,
        }
    }
}

/// Where cargo may have written the `.crate`: the requester's working directory and argv,
/// and the target directory from the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Places {
    /// The requester's working directory.
    pub cwd: Option<PathBuf>,
    /// The requester's arguments (for `--target-dir` and `--manifest-path`).
    pub argv: Vec<String>,
    /// `CARGO_TARGET_DIR` or `CARGO_BUILD_TARGET_DIR`.
    pub target_dir: Option<PathBuf>,
    /// `CARGO_HOME`, whose `config.toml` may set `build.target-dir`.
    pub cargo_home: Option<PathBuf>,
    /// The requester (cargo): a `.crate` it holds open is the one it will upload.
    pub requester_pid: Option<u32>,
}

/// `build.target-dir` from cargo's config files, as cargo finds them: `.cargo/config.toml`
/// (or `.cargo/config`) in `cwd` and each ancestor, then `CARGO_HOME/config.toml`; the first
/// that sets it wins. A relative path is relative to the directory holding `.cargo`.
pub fn config_target_dir(cwd: &Path, cargo_home: Option<&Path>) -> Option<PathBuf> {
    let read = |file: &Path, base: &Path| -> Option<PathBuf> {
        let meta = std::fs::metadata(file).ok()?;
        if !meta.is_file() || meta.len() > 1 << 20 {
            return None;
        }
        let doc: toml::Table = toml::from_str(&std::fs::read_to_string(file).ok()?).ok()?;
        let dir = doc.get("build")?.as_table()?.get("target-dir")?.as_str()?;
        Some(base.join(dir))
    };
    for dir in cwd.ancestors().take(16) {
        for name in ["config.toml", "config"] {
            if let Some(t) = read(&dir.join(".cargo").join(name), dir) {
                return Some(t);
            }
        }
    }
    let home = cargo_home?;
    for name in ["config.toml", "config"] {
        // Relative to the parent of CARGO_HOME, as for any `.cargo` directory.
        let base = home.parent().unwrap_or(home);
        if let Some(t) = read(&home.join(name), base) {
            return Some(t);
        }
    }
    None
}

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
    pub fn blocks_approve(&self) -> bool {
        self.check.blocks_approve()
            || self
                .contents
                .as_ref()
                .is_some_and(|c| !c.problems.is_empty())
    }
}

impl Check {
    /// Whether Approve must stay unavailable: anything but a match. A publish whose file
    /// cannot be found or read is not verified, and what is not verified is not approvable.
    pub fn blocks_approve(&self) -> bool {
        !matches!(self, Check::Match(_))
    }
}

/// What a tar entry is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link to this target.
    Symlink(String),
    /// A hard link to this target.
    Hardlink(String),
    /// Anything else (device, fifo, unknown type byte).
    Other(String),
}

/// One entry of the archive.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileEntry {
    /// Path inside the crate, with the `NAME-VERS/` prefix removed when present.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// What it is.
    pub kind: Kind,
    /// sha256 of the content (regular files read in full).
    pub sha256: Option<[u8; 32]>,
    /// Starts like an executable or a library (ELF, Mach-O, PE, wasm, ar).
    pub binary: bool,
}

/// What the packaged `Cargo.toml` says that a reviewer must see.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// `[lib] proc-macro = true`.
    pub proc_macro: bool,
    /// `package.build`: `Some(path)` for a build script, `None` for the default (`build.rs`
    /// when present), and `Some("")` for `build = false`.
    pub build: Option<String>,
    /// `package.links`.
    pub links: Option<String>,
    /// Dependencies: "kind name" → requirement, e.g. `build cc` → `1.0`.
    pub deps: BTreeMap<String, String>,
}

/// What is inside the archive.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Contents {
    /// Entries in archive order.
    pub files: Vec<FileEntry>,
    /// Bytes of regular files.
    pub unpacked: u64,
    /// The packaged `Cargo.toml`, if it could be read.
    pub manifest: Option<Manifest>,
    /// Hostile or malformed things; any of them deserves a red flag.
    pub problems: Vec<String>,
}

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

/// Longest entry name or link target listed, in bytes: Linux's `PATH_MAX`. A GNU long name
/// or a pax path is otherwise bounded only by [`Limits::max_unpacked`], and every copy of it
/// (listing, problems, flags, the window) would cost as much.
pub const MAX_NAME: usize = 4096;

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

fn outside_src(path: &str) -> bool {
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

fn looks_binary(head: &[u8]) -> bool {
    const MAGIC: &[&[u8]] = &[
        b"\x7fELF",
        b"\xfe\xed\xfa\xce",
        b"\xfe\xed\xfa\xcf",
        b"\xce\xfa\xed\xfe",
        b"\xcf\xfa\xed\xfe",
        b"\xca\xfe\xba\xbe",
        b"MZ",
        b"\0asm",
        b"!<arch>",
    ];
    MAGIC.iter().any(|m| head.starts_with(m))
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

/// "1.5 MiB", for people.
pub fn human_size(n: u64) -> String {
    const UNITS: &[&str] = &["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// What changed since the previous version in the local cache.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Diff {
    /// The previous version.
    pub previous: String,
    /// The cached `.crate` it was read from.
    pub path: PathBuf,
    /// Files only in the new version.
    pub added: Vec<String>,
    /// Files only in the previous version.
    pub removed: Vec<String>,
    /// Files in both, with different content.
    pub changed: Vec<String>,
    /// "new", "changed" or "removed", for the build script.
    pub build_script: Option<String>,
    /// Dependencies only in the new version, "kind name requirement".
    pub deps_added: Vec<String>,
    /// Dependencies only in the previous version.
    pub deps_removed: Vec<String>,
    /// Dependencies in both with a different requirement, "name: old → new".
    pub deps_changed: Vec<String>,
    /// `proc-macro` was switched on.
    pub became_proc_macro: bool,
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

/// Everything [`gather`] found.
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
}

impl Report {
    /// Whether the match is the file cargo itself holds open (so the one it will upload),
    /// not one found by looking where cargo writes.
    pub fn held_by_cargo(&self) -> bool {
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
    pub fn get(&self) -> Option<&Report> {
        self.0.report.get()
    }
    /// Waits up to `timeout` for the report.
    pub fn wait(&self, timeout: std::time::Duration) -> Option<&Report> {
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
    pub fn wait_forever(&self) -> Option<&Report> {
        if let Ok(arrived) = self.0.arrived.lock() {
            drop(self.0.signal.wait_while(arrived, |arrived| !*arrived));
        }
        self.get()
    }
}

/// Whether `name` and `vers` can be a real crate's: they become parts of file names.
pub fn validate_name(name: &str, vers: &str) -> Result<(), String> {
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !name_ok {
        return Err(format!("{name:?} is not a valid crate name"));
    }
    semver::Version::parse(vers).map_err(|e| format!("{vers:?} is not a valid version: {e}"))?;
    Ok(())
}

/// Where to look for `NAME-VERS.crate`, most specific first: `--target-dir`, the target dir
/// from the environment, `build.target-dir` from cargo's config files, then `target/` in the `--manifest-path` directory, the working
/// directory, and their ancestors (a workspace root is an ancestor); in each target dir,
/// `package/tmp-crate/` (where `cargo publish` writes) and `package/`.
pub fn candidates(name: &str, vers: &str, places: &Places) -> Vec<PathBuf> {
    let file = format!("{name}-{vers}.crate");
    let resolve = |p: &Path| match &places.cwd {
        _ if p.is_absolute() => Some(p.to_path_buf()),
        Some(cwd) => Some(cwd.join(p)),
        None => None,
    };
    let mut out: Vec<PathBuf> = Vec::new();
    let mut push = |p: PathBuf| {
        if !out.contains(&p) {
            out.push(p);
        }
    };
    let arg = |flag: &str| -> Option<PathBuf> {
        let mut it = places.argv.iter();
        while let Some(a) = it.next() {
            if a == flag {
                return it.next().map(PathBuf::from);
            }
            if let Some(v) = a.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
                return Some(PathBuf::from(v));
            }
        }
        None
    };
    // `cargo publish` (1.90 and later) writes `package/tmp-crate/`; `cargo package` writes
    // `package/`. Both are looked at.
    let mut in_target = |t: PathBuf| {
        push(t.join("package").join("tmp-crate").join(&file));
        push(t.join("package").join(&file));
    };
    if let Some(t) = arg("--target-dir").as_deref().and_then(resolve) {
        in_target(t);
    }
    if let Some(t) = places.target_dir.as_deref().and_then(resolve) {
        in_target(t);
    }
    if let Some(t) = places
        .cwd
        .as_deref()
        .and_then(|cwd| config_target_dir(cwd, places.cargo_home.as_deref()))
    {
        in_target(t);
    }
    let mut roots = Vec::new();
    if let Some(m) = arg("--manifest-path").as_deref().and_then(resolve)
        && let Some(dir) = m.parent()
    {
        roots.push(dir.to_path_buf());
    }
    if let Some(cwd) = &places.cwd {
        roots.push(cwd.clone());
    }
    for root in roots {
        for dir in root.ancestors().take(8) {
            in_target(dir.join("target"));
        }
    }
    out
}

/// Gathers everything for a publish of `name` `vers` with checksum `cksum` (hex).
pub fn gather(
    name: &str,
    vers: &str,
    cksum: &str,
    places: &Places,
    cargo_home: Option<&Path>,
    limits: &Limits,
) -> Report {
    if let Err(why) = validate_name(name, vers) {
        return Report {
            check: Check::Forged(why),
            contents: None,
            previous: Previous::None,
            flags: Vec::new(),
            opened: None,
        };
    }
    if !(cksum.len() == 64 && cksum.bytes().all(|b| b.is_ascii_hexdigit())) {
        return Report {
            check: Check::Forged(format!(
                "the checksum {} is not 64 hexadecimal digits",
                crate::text::escape(cksum).text
            )),
            contents: None,
            previous: Previous::None,
            flags: Vec::new(),
            opened: None,
        };
    }
    let mut cands = places
        .requester_pid
        .map(|pid| held_open(pid, name, vers))
        .unwrap_or_default();
    cands.extend(
        candidates(name, vers, places)
            .into_iter()
            .map(|p| (p.clone(), p)),
    );
    let (check, contents, opened) = verify(&cands, cksum, limits);
    finish(name, vers, check, contents, opened, cargo_home, limits)
}

/// The report for a `.crate` already read into memory (`cargo confirm-gui publish`): the
/// checksum is that of these very bytes, which are what gets uploaded, so the check is a
/// match by construction; `path` is where they were read from, for people. Returns the
/// report and the checksum (hex).
pub fn report_for_bytes(
    name: &str,
    vers: &str,
    bytes: &[u8],
    path: &Path,
    cargo_home: Option<&Path>,
    limits: &Limits,
) -> (Report, String) {
    let cksum = hex(&Sha256::digest(bytes));
    if let Err(why) = validate_name(name, vers) {
        let report = Report {
            check: Check::Forged(why),
            contents: None,
            previous: Previous::None,
            flags: Vec::new(),
            opened: None,
        };
        return (report, cksum);
    }
    let check = if bytes.len() as u64 > limits.max_crate_file {
        Check::Unreadable {
            path: path.to_path_buf(),
            why: format!("larger than {}", human_size(limits.max_crate_file)),
        }
    } else {
        Check::Match(path.to_path_buf())
    };
    let contents = matches!(check, Check::Match(_)).then(|| list(bytes, limits));
    let report = finish(name, vers, check, contents, None, cargo_home, limits);
    (report, cksum)
}

/// The flags and the diff against the cached previous version, for what was found.
fn finish(
    name: &str,
    vers: &str,
    check: Check,
    contents: Option<Contents>,
    opened: Option<PathBuf>,
    cargo_home: Option<&Path>,
    limits: &Limits,
) -> Report {
    let previous = match (&contents, cargo_home) {
        (Some(now), Some(home)) => previous(name, vers, now, home, limits),
        _ => Previous::None,
    };
    let mut flags = contents
        .as_ref()
        .map(|c| c.flags(limits))
        .unwrap_or_default();
    if let Previous::Found(d) = &previous {
        if let Some(b) = &d.build_script
            && b != "removed"
        {
            flags.insert(
                0,
                Flag {
                    level: Level::Danger,
                    text: format!("build script {b} since {}", d.previous),
                },
            );
        }
        if d.became_proc_macro {
            flags.insert(
                0,
                Flag {
                    level: Level::Danger,
                    text: format!("became a proc-macro since {}", d.previous),
                },
            );
        }
    }
    Report {
        check,
        contents,
        previous,
        flags,
        opened,
    }
}

/// Hashes each existing candidate, listing its contents in the same pass, until one
/// matches `cksum`.
/// The `NAME-VERS.crate` files process `pid` holds open, as (where it is, how to open the
/// very file it has: `/proc/PID/fd/N`, which follows the open file even if its path has
/// been replaced since).
pub fn held_open(pid: u32, name: &str, vers: &str) -> Vec<(PathBuf, PathBuf)> {
    let want = format!("{name}-{vers}.crate");
    let dir = PathBuf::from(format!("/proc/{pid}/fd"));
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .take(65_536)
        .filter_map(|e| {
            let target = std::fs::read_link(e.path()).ok()?;
            is_packaged_crate(&target, &want).then(|| (target.clone(), e.path()))
        })
        .collect()
}

/// Whether `target`, what one of cargo's descriptors links to, is the `.crate` file `want`
/// in a directory where cargo writes packages. Public for the fuzz target.
#[doc(hidden)]
pub fn is_packaged_crate(target: &Path, want: &str) -> bool {
    // A file whose path was removed or replaced since shows as "PATH (deleted)": it is still
    // the file cargo holds, and uploads.
    let Some(name) = target.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let name = name.strip_suffix(" (deleted)").unwrap_or(name);
    name == want && in_package_dir(target)
}

/// Whether `path` lies where cargo writes a package: `…/package/FILE` or
/// `…/package/tmp-crate/FILE`. cargo holds other files open (its `.package-cache` lock among
/// them), and a worm can make one of those resolve to a crate file of its choosing.
fn in_package_dir(path: &Path) -> bool {
    let mut dirs = path.ancestors().skip(1).filter_map(|d| d.file_name());
    match dirs.next() {
        Some(d) if d == "package" => true,
        Some(d) if d == "tmp-crate" => dirs.next().is_some_and(|d| d == "package"),
        _ => false,
    }
}

/// Hashes each candidate (shown path, path to open) in turn; the first whose hash is
/// `cksum` is the match.
fn verify(
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
                    why,
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
                    why,
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
pub fn recheck(report: &Report, cksum: &str, limits: &Limits) -> Result<(), String> {
    let Some(path) = &report.opened else {
        return Err("no packaged .crate was verified".into());
    };
    let file = open_regular(path, limits)?.ok_or("the .crate is gone")?;
    let hash = hash_only(file, limits)?;
    if hash == cksum.to_ascii_lowercase() {
        Ok(())
    } else {
        Err(format!(
            "the .crate changed after it was checked: it now hashes to {hash}"
        ))
    }
}

/// Opens `path` if it is a regular file, without blocking on a FIFO planted there.
fn open_regular(path: &Path, limits: &Limits) -> Result<Option<File>, String> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let file = match opts.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > limits.max_crate_file {
        return Err(format!(
            "{} is larger than the {} this helper checks",
            human_size(meta.len()),
            human_size(limits.max_crate_file)
        ));
    }
    Ok(Some(file))
}

/// Reads through `inner`, hashing every byte that passes.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    read: u64,
    cap: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let room = (self.cap.saturating_sub(self.read)).min(buf.len() as u64) as usize;
        if room == 0 && !buf.is_empty() {
            // One byte more than the cap tells a file that grew apart from one that ended.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::other("the file grew while it was read")),
            };
        }
        let n = self.inner.read(&mut buf[..room])?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

/// Stops a decompressed stream after `left` bytes.
struct Bounded<R> {
    inner: R,
    left: u64,
    hit: bool,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            self.hit = true;
            return Err(io::Error::other("unpacked size limit reached"));
        }
        let room = self.left.min(buf.len() as u64) as usize;
        let n = self.inner.read(&mut buf[..room])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// One pass over `file`: the sha256 of its bytes, and what the archive holds.
fn hash_only(file: File, limits: &Limits) -> Result<String, String> {
    let mut hashing = Hashing {
        inner: file,
        hasher: Sha256::new(),
        read: 0,
        cap: limits.max_crate_file,
    };
    io::copy(&mut hashing, &mut io::sink()).map_err(|e| e.to_string())?;
    Ok(hex(&hashing.hasher.finalize()))
}

fn hash_and_list(file: File, limits: &Limits) -> Result<(String, Contents), String> {
    let mut hashing = Hashing {
        inner: file,
        hasher: Sha256::new(),
        read: 0,
        cap: limits.max_crate_file,
    };
    let contents = list(&mut hashing, limits);
    // Whatever the archive reader did not need (gzip trailer, padding, garbage after a
    // broken entry) is still part of the file cargo uploads.
    io::copy(&mut hashing, &mut io::sink()).map_err(|e| e.to_string())?;
    Ok((hex(&hashing.hasher.finalize()), contents))
}

/// Lists a gzip-compressed tar stream, within `limits`. Problems end up in
/// [`Contents::problems`]; this never fails.
pub fn list(reader: impl Read, limits: &Limits) -> Contents {
    let mut contents = Contents::default();
    let mut bounded = Bounded {
        inner: flate2::read::GzDecoder::new(reader),
        left: limits.max_unpacked,
        hit: false,
    };
    let mut manifest_text: Option<Vec<u8>> = None;
    let result = list_entries(&mut bounded, limits, &mut contents, &mut manifest_text);
    if let Err(e) = result {
        if bounded.hit {
            contents.problems.push(format!(
                "the archive unpacks to more than {} (a gzip bomb?); listing stopped there",
                human_size(limits.max_unpacked)
            ));
        } else {
            contents.problems.push(format!(
                "the archive is malformed ({e}); listing stopped there"
            ));
        }
    }
    match manifest_text.map(|t| parse_manifest(&t)) {
        Some(Ok(m)) => contents.manifest = Some(m),
        Some(Err(e)) => contents
            .problems
            .push(format!("the packaged Cargo.toml cannot be read: {e}")),
        None if contents.problems.is_empty() => contents
            .problems
            .push("the archive has no Cargo.toml at its root".into()),
        None => {}
    }
    contents
}

fn list_entries(
    reader: &mut impl Read,
    limits: &Limits,
    contents: &mut Contents,
    manifest: &mut Option<Vec<u8>>,
) -> io::Result<()> {
    let mut archive = tar::Archive::new(reader);
    let mut prefix: Option<String> = None;
    let mut seen = BTreeSet::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        if contents.files.len() >= limits.max_entries {
            contents.problems.push(format!(
                "more than {} entries; listing stopped there",
                limits.max_entries
            ));
            return Ok(());
        }
        let too_long = |what: &str, len: usize| {
            format!(
                "{what} is {} long, longer than any path a system unpacks; listing stopped there",
                human_size(len as u64)
            )
        };
        let raw = {
            let name = entry.path_bytes();
            if name.len() > MAX_NAME {
                contents
                    .problems
                    .push(too_long("an entry's name", name.len()));
                return Ok(());
            }
            String::from_utf8_lossy(&name).into_owned()
        };
        if let Some(len) = entry.link_name_bytes().map(|l| l.len())
            && len > MAX_NAME
        {
            contents
                .problems
                .push(too_long(&format!("the name {raw} links to"), len));
            return Ok(());
        }
        let size = entry.size();
        if size > limits.max_unpacked {
            contents.problems.push(format!(
                "{raw} claims to be {}; listing stopped there",
                human_size(size)
            ));
            return Ok(());
        }
        // Every entry must sit under one top directory, as cargo writes it.
        let top = raw.split('/').next().unwrap_or("").to_string();
        let prefix = prefix.get_or_insert_with(|| top.clone());
        let path = match raw.strip_prefix(prefix.as_str()) {
            // The top directory itself, or an entry inside it.
            Some("") | Some("/") => String::new(),
            Some(rest) if rest.starts_with('/') => rest[1..].to_string(),
            _ => {
                contents
                    .problems
                    .push(format!("{raw} is outside the crate's directory"));
                raw.clone()
            }
        };
        if raw.starts_with('/')
            || raw.split(['/', '\\']).any(|c| c == "..")
            || raw.contains('\\')
            || raw.contains(':')
        {
            contents
                .problems
                .push(format!("{raw} tries to escape the unpack directory"));
        }
        // What an unpacker makes of the name (tar's `unpack_in`, as cargo uses it): `.` and
        // empty components dropped. `NAME-VERS/./Cargo.toml` is the manifest, once unpacked.
        let normal: String = path
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .collect::<Vec<_>>()
            .join("/");
        if normal != path.trim_end_matches('/') {
            contents.problems.push(format!(
                "{raw} has `.` or empty parts in its name, which cargo never writes; unpacked, \
                 it is {normal}"
            ));
        }
        let path = normal;
        let ty = entry.header().entry_type();
        let link = || {
            entry
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .unwrap_or_default()
        };
        let kind = if ty.is_file() {
            Kind::File
        } else if ty.is_dir() {
            Kind::Dir
        } else if ty.is_symlink() {
            Kind::Symlink(link())
        } else if ty.is_hard_link() {
            Kind::Hardlink(link())
        } else {
            Kind::Other(format!("type {:?}", ty.as_byte() as char))
        };
        match &kind {
            Kind::Symlink(t) | Kind::Hardlink(t) => contents.problems.push(format!(
                "{path} is a link to {t}; cargo never packages links"
            )),
            Kind::Other(t) => contents
                .problems
                .push(format!("{path} is a special file ({t})")),
            Kind::File | Kind::Dir => {}
        }
        // Case-insensitive file systems (macOS, Windows) unpack `CARGO.TOML` over `Cargo.toml`.
        if kind != Kind::Dir && !seen.insert(path.to_lowercase()) {
            contents.problems.push(format!(
                "{path} appears twice (letter case aside); which copy wins depends on the tool"
            ));
        }
        let mut sha256 = None;
        let mut binary = false;
        if kind == Kind::File {
            let keep = path == "Cargo.toml" && size <= limits.max_manifest;
            let mut hasher = Sha256::new();
            let mut head = Vec::new();
            let mut buf = [0u8; 16 * 1024];
            let mut kept = Vec::new();
            loop {
                let n = entry.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                if head.len() < 8 {
                    head.extend_from_slice(&buf[..n.min(8 - head.len())]);
                }
                if keep {
                    kept.extend_from_slice(&buf[..n]);
                }
            }
            binary = looks_binary(&head);
            sha256 = Some(hasher.finalize().into());
            contents.unpacked += size;
            if keep {
                *manifest = Some(kept);
            }
        }
        contents.files.push(FileEntry {
            path,
            size,
            kind,
            sha256,
            binary,
        });
    }
    Ok(())
}

fn parse_manifest(text: &[u8]) -> Result<Manifest, String> {
    let text = std::str::from_utf8(text).map_err(|e| e.to_string())?;
    let doc: toml::Table = toml::from_str(text).map_err(|e| e.message().to_string())?;
    let package = doc.get("package").and_then(|p| p.as_table());
    let build = package.and_then(|p| p.get("build")).and_then(|b| match b {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Boolean(false) => Some(String::new()),
        _ => None,
    });
    let links = package
        .and_then(|p| p.get("links"))
        .and_then(|l| l.as_str())
        .map(str::to_string);
    let lib = doc.get("lib").and_then(|l| l.as_table());
    // `proc-macro = true`, or `crate-type = ["proc-macro"]`, which cargo compiles the same.
    let proc_macro = lib
        .and_then(|l| l.get("proc-macro").or_else(|| l.get("proc_macro")))
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
        || lib
            .and_then(|l| l.get("crate-type").or_else(|| l.get("crate_type")))
            .and_then(|v| v.as_array())
            .is_some_and(|a| {
                a.iter()
                    .any(|t| matches!(t.as_str(), Some("proc-macro" | "proc_macro")))
            });
    let mut deps = BTreeMap::new();
    collect_deps(&doc, "", &mut deps);
    if let Some(targets) = doc.get("target").and_then(|t| t.as_table()) {
        for (cfg, t) in targets {
            if let Some(t) = t.as_table() {
                collect_deps(t, &format!("[{cfg}] "), &mut deps);
            }
        }
    }
    Ok(Manifest {
        proc_macro,
        build,
        links,
        deps,
    })
}

fn collect_deps(table: &toml::Table, scope: &str, out: &mut BTreeMap<String, String>) {
    for (section, kind) in [
        ("dependencies", ""),
        ("dev-dependencies", "dev "),
        ("dev_dependencies", "dev "),
        ("build-dependencies", "build "),
        ("build_dependencies", "build "),
    ] {
        let Some(deps) = table.get(section).and_then(|d| d.as_table()) else {
            continue;
        };
        for (name, spec) in deps {
            let mut what = match spec {
                toml::Value::String(v) => v.clone(),
                toml::Value::Table(t) => {
                    let mut w = t
                        .get("version")
                        .and_then(|v| v.as_str())
                        .unwrap_or("*")
                        .to_string();
                    if let Some(git) = t.get("git").and_then(|v| v.as_str()) {
                        w = format!("git {git}");
                    }
                    for key in ["registry", "registry-index"] {
                        if let Some(r) = t.get(key).and_then(|v| v.as_str()) {
                            w.push_str(&format!(" from {r}"));
                        }
                    }
                    // A rename hides which crate is really pulled in: show it.
                    if let Some(p) = t.get("package").and_then(|v| v.as_str())
                        && p != name
                    {
                        w = format!("(really the crate {p}) {w}");
                    }
                    w
                }
                _ => "?".to_string(),
            };
            if what.is_empty() {
                what = "*".into();
            }
            out.insert(format!("{scope}{kind}{name}"), what);
        }
    }
}

/// The highest cached version of `name` below `vers`, compared with `now`.
fn previous(
    name: &str,
    vers: &str,
    now: &Contents,
    cargo_home: &Path,
    limits: &Limits,
) -> Previous {
    let Some((version, path)) = find_previous(name, vers, cargo_home) else {
        return Previous::None;
    };
    let file = match open_regular(&path, limits) {
        Ok(Some(f)) => f,
        Ok(None) => return Previous::None,
        Err(why) => return Previous::Unreadable { path, why },
    };
    let before = list(io::BufReader::new(file), limits);
    if before.files.is_empty() {
        return Previous::Unreadable {
            path,
            why: before.problems.join("; "),
        };
    }
    Previous::Found(diff(&before, now, &version.to_string(), path))
}

/// Looks through `CARGO_HOME/registry/cache/*/` for `NAME-VERSION.crate` files.
pub fn find_previous(
    name: &str,
    vers: &str,
    cargo_home: &Path,
) -> Option<(semver::Version, PathBuf)> {
    let current = semver::Version::parse(vers).ok()?;
    let prefix = format!("{name}-");
    let mut best: Option<(semver::Version, PathBuf)> = None;
    let registries = std::fs::read_dir(cargo_home.join("registry").join("cache")).ok()?;
    for reg in registries.flatten().take(64) {
        let Ok(files) = std::fs::read_dir(reg.path()) else {
            continue;
        };
        for f in files.flatten() {
            let file_name = f.file_name();
            let Some(v) = file_name
                .to_str()
                .and_then(|n| n.strip_prefix(&prefix))
                .and_then(|n| n.strip_suffix(".crate"))
                .and_then(|v| semver::Version::parse(v).ok())
            else {
                continue;
            };
            if v < current && best.as_ref().is_none_or(|(b, _)| v > *b) {
                best = Some((v, f.path()));
            }
        }
    }
    best
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
        (None, Some(_)) => Some("new".into()),
        (Some(_), None) => Some("removed".into()),
        (Some(a), Some(b))
            if before.entry(a).map(|e| e.sha256) != now.entry(b).map(|e| e.sha256) =>
        {
            Some("changed".into())
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
    d
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
pub(crate) mod tests;
