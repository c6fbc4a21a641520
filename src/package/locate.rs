//! Where the `.crate` is: the places cargo writes it (argv, the environment, cargo's config
//! files, the working directory and its ancestors), the file cargo holds open, the previous
//! version in the local cache, and opening any of them without blocking on a FIFO.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use super::{Limits, human_size};

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

/// cargo's config files, nearest first, with the directory a relative path in each is
/// relative to ([`crate::cargo_config`]).
pub(crate) fn cargo_config_files(
    cwd: &Path,
    cargo_home: Option<&Path>,
    depth: usize,
) -> Vec<(PathBuf, PathBuf)> {
    crate::cargo_config::CargoConfig::load(cwd, cargo_home, depth)
        .files()
        .iter()
        .map(|f| (f.path.clone(), f.base.clone()))
        .collect()
}

/// `build.target-dir` from cargo's config files, as cargo finds them: `.cargo/config.toml`
/// (or `.cargo/config`) in `cwd` and each ancestor, then `CARGO_HOME/config.toml`; the first
/// that sets it wins. A relative path is relative to the directory holding `.cargo`.
pub fn config_target_dir(cwd: &Path, cargo_home: Option<&Path>) -> Option<PathBuf> {
    // At most 16 directories up (the registry lookup goes to the root): this walk runs in the
    // helper, on the requester's working directory as read from /proc.
    crate::cargo_config::CargoConfig::load(cwd, cargo_home, 16)
        .target_dir()
        .map(|t| t.value)
}

/// Where to look for `NAME-VERS.crate`, most specific first: `--target-dir`, the target dir
/// from the environment, `build.target-dir` from cargo's config files, then `target/` in the `--manifest-path` directory, the working
/// directory, and their ancestors (a workspace root is an ancestor); in each target dir,
/// `package/tmp-crate/` (where `cargo publish` writes) and `package/`.
pub(crate) fn candidates(name: &str, vers: &str, places: &Places) -> Vec<PathBuf> {
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

/// The `NAME-VERS.crate` files process `pid` holds open, as (where it is, how to open the
/// very file it has: `/proc/PID/fd/N`, which follows the open file even if its path has
/// been replaced since).
pub(crate) fn held_open(pid: u32, name: &str, vers: &str) -> Vec<(PathBuf, PathBuf)> {
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

/// Opens `path` if it is a regular file, without blocking on a FIFO planted there.
pub(super) fn open_regular(path: &Path, limits: &Limits) -> Result<Option<File>, ReadError> {
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
        Err(e) => return Err(ReadError::Io(e)),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular);
    }
    if meta.len() > limits.max_crate_file {
        return Err(ReadError::TooLarge {
            len: meta.len(),
            max: limits.max_crate_file,
        });
    }
    Ok(Some(file))
}

/// Why a `.crate` on disk cannot be checked. The path is the caller's to say
/// ([`Check::Unreadable`](super::Check::Unreadable) has it).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Opening or reading it failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// A directory, a FIFO, a device.
    #[error("not a regular file")]
    NotRegular,
    /// Larger than [`Limits::max_crate_file`].
    #[error(
        "{} is larger than the {} this helper checks",
        human_size(*.len),
        human_size(*.max)
    )]
    TooLarge {
        /// Its size.
        len: u64,
        /// The limit.
        max: u64,
    },
}

/// Looks through `CARGO_HOME/registry/cache/*/` for `NAME-VERSION.crate` files.
pub(crate) fn find_previous(
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
