//! Evidence for the window: what exactly is being published.
//!
//! [`gather`] finds the `.crate` cargo packaged, re-hashes it and compares the hash with the
//! request's `cksum`, lists what is inside, and compares it with the previous version in the
//! local cargo cache. Nothing is unpacked to disk. The file is read once, through one
//! descriptor: the bytes that are hashed are the bytes that are listed, so a file swapped
//! between "hash" and "list" cannot show one thing and match another. Every read is bounded
//! by [`Limits`]; a hostile archive (path traversal, links, huge entries, gzip bombs) costs at
//! most that much work and is reported as a problem, never a crash.

mod archive;
mod locate;
mod manifest;
pub mod provenance;
mod report;
mod review;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub(crate) use archive::Bounded;
pub use archive::{Contents, Kind, MAX_NAME, hash_and_list, list};
pub(crate) use locate::cargo_config_files;
pub use locate::{Places, config_target_dir, is_packaged_crate};
pub(crate) use locate::{candidates, held_open};
pub use provenance::Provenance;
pub(crate) use report::recheck;
pub use report::{Check, Pending, Report};
pub(crate) use review::Diff;
pub use review::{BuildScriptChange, Flag, Level, LineDiff, Previous, diff};

use report::verify;
use review::Earlier;

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

/// "1.5 MiB", for people.
pub(crate) fn human_size(n: u64) -> String {
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

/// A crate name or version that cannot be a real crate's.
#[derive(Debug, thiserror::Error)]
pub enum InvalidName {
    /// Empty, longer than 64, or with a character other than ASCII letters, digits, `-`, `_`.
    #[error("{name:?} is not a valid crate name")]
    Name {
        /// The name as given.
        name: String,
    },
    /// Not a semver version.
    #[error("{vers:?} is not a valid version: {source}")]
    Version {
        /// The version as given.
        vers: String,
        /// What semver said.
        #[source]
        source: semver::Error,
    },
}

/// Whether `name` and `vers` can be a real crate's: they become parts of file names.
pub(crate) fn validate_name(name: &str, vers: &str) -> Result<(), InvalidName> {
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !name_ok {
        return Err(InvalidName::Name { name: name.into() });
    }
    semver::Version::parse(vers).map_err(|source| InvalidName::Version {
        vers: vers.into(),
        source,
    })?;
    Ok(())
}

/// Starts [`gather`] on a thread of its own, then applies the administrator's `rules`; the
/// report arrives in the returned [`Pending`]. The thread reads files the user controls: in
/// a sealed install it gives up the helper's group for good first, or reads nothing (the
/// report never comes, and the window keeps Approve unavailable: "the crate check did not
/// finish").
pub(crate) fn gather_in_background(
    (name, vers, cksum): (String, String, String),
    places: Places,
    rules: crate::policy::PublishRules,
) -> Pending {
    let pending = Pending::default();
    let slot = pending.clone();
    std::thread::spawn(move || {
        #[cfg(target_os = "linux")]
        if let Err(e) = crate::sealed::drop_for_good_on_this_thread() {
            eprintln!("cargo-confirm-gui: {e}; the .crate is not read");
            return;
        }
        let mut report = gather(
            &name,
            &vers,
            &cksum,
            &places,
            places.cargo_home.as_deref(),
            &Limits::default(),
        );
        report.apply(&rules);
        slot.set(report);
    });
    pending
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
            check: Check::Forged(why.to_string()),
            contents: None,
            previous: Previous::None,
            flags: Vec::new(),
            opened: None,
            provenance: None,
            refused_by_policy: None,
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
            provenance: None,
            refused_by_policy: None,
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
    // The earlier version is listed while this one is hashed and listed.
    let ((check, contents, opened), earlier) = std::thread::scope(|s| {
        let earlier =
            cargo_home.map(|home| s.spawn(move || Earlier::list(name, vers, home, limits)));
        let found = verify(&cands, cksum, limits);
        (found, earlier.and_then(|h| h.join().ok()))
    });
    let from = places.cwd.as_deref();
    finish(check, contents, opened, earlier, limits, from)
}

/// The report for a `.crate` already read into memory (`cargo confirm-gui publish`): the
/// checksum is that of these very bytes, which are what gets uploaded, so the check is a
/// match by construction; `path` is where they were read from, for people. Returns the
/// report and the checksum (hex).
pub(crate) fn report_for_bytes(
    name: &str,
    vers: &str,
    bytes: &[u8],
    path: &Path,
    cargo_home: Option<&Path>,
    limits: &Limits,
    repo_from: Option<&Path>,
) -> (Report, String) {
    let cksum = hex(&Sha256::digest(bytes));
    if let Err(why) = validate_name(name, vers) {
        let report = Report {
            check: Check::Forged(why.to_string()),
            contents: None,
            previous: Previous::None,
            flags: Vec::new(),
            opened: None,
            provenance: None,
            refused_by_policy: None,
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
    // This version listed while the earlier one is.
    let (contents, earlier) = std::thread::scope(|s| {
        let earlier =
            cargo_home.map(|home| s.spawn(move || Earlier::list(name, vers, home, limits)));
        let contents = matches!(check, Check::Match(_)).then(|| list(bytes, limits));
        (contents, earlier.and_then(|h| h.join().ok()))
    });
    let report = finish(check, contents, None, earlier, limits, repo_from);
    (report, cksum)
}

/// The flags and the diff against the cached previous version, for what was found, and where
/// its bytes came from (the repository at or above `repo_from`).
fn finish(
    check: Check,
    contents: Option<Contents>,
    opened: Option<PathBuf>,
    earlier: Option<Earlier>,
    limits: &Limits,
    repo_from: Option<&Path>,
) -> Report {
    let previous = match (&contents, earlier) {
        (Some(now), Some(earlier)) => earlier.compare(now),
        _ => Previous::None,
    };
    let mut flags = contents
        .as_ref()
        .map(|c| c.flags(limits))
        .unwrap_or_default();
    if let Previous::Found(d) = &previous {
        if let Some(b) = d.build_script
            && b != BuildScriptChange::Removed
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
    let provenance = contents
        .as_ref()
        .map(|c| provenance::check(repo_from, c, provenance::BUDGET));
    Report {
        check,
        contents,
        previous,
        flags,
        opened,
        provenance,
        refused_by_policy: None,
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
pub(crate) mod tests;
