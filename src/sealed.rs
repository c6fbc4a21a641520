//! The sealed install (Linux): the helper lives in a root-owned directory, setgid to a
//! dedicated system group, next to a root-owned `sealed.toml` naming a token directory that
//! only that group can enter. Each user's tokens sit in a subdirectory named by the **real**
//! uid, mode 0700, so one user's helper never reaches another's.
//!
//! Because the kernel runs a setgid program in secure mode, `LD_PRELOAD` is ignored and the
//! user's own processes cannot trace it. The helper drops the group as the very first thing
//! in `main` (before any thread exists) and takes it back only on the main thread, only
//! around a store operation ([`Privilege::with_group`]); threads that read user-controlled
//! files give it up for good ([`drop_for_good_on_this_thread`]).
//!
//! `scripts/install-sealed.sh` makes the install. [`detect`] refuses to run sealed when it
//! is unsafe (writable directories, wrong owners or modes), naming the command that fixes it.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rustix::process::{Gid, getegid, getgid, getgroups, getuid};
use rustix::thread::set_thread_res_gid;

/// Why a step of the sealed install's privilege handling, or its check, failed. The
/// `Display` is the message people see.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SealedError {
    /// `setresgid` refused a change of the group privilege.
    #[error("could not {what}: {source}")]
    Group {
        /// The step: "drop the helper's group privilege", "take the helper's group back".
        what: &'static str,
        /// What the system said.
        #[source]
        source: rustix::io::Errno,
    },
    /// `/proc/self/status` could not be read to check the group is gone.
    #[error("{source}")]
    OwnStatus {
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The group is still held after giving it up.
    #[error("the helper's group is still held: Gid {gids:?}")]
    StillHeld {
        /// The `Gid:` line's four ids as read.
        gids: Vec<String>,
    },
    /// The window process has no parent to check (it was re-parented to nothing).
    #[error("the window process has no parent")]
    NoParent,
    /// The parent's `/proc/PID/status` could not be read.
    #[error("cannot read the parent's status: {source}")]
    ParentStatus {
        /// The parent's pid.
        pid: i32,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The parent exited (this process was re-parented) while it was checked.
    #[error("the window process's parent went away")]
    ParentGone,
    /// The parent does not hold the helper's group: it is not the helper.
    #[error(
        "the window process was not started by the helper (its parent, pid {pid}, does \
         not hold the helper's group); nothing is shown"
    )]
    NotTheHelper {
        /// The parent's pid.
        pid: i32,
    },
}

/// The file next to the binary that marks a sealed install.
const CONFIG: &str = "sealed.toml";

/// A sealed install that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    /// The helper binary.
    pub(crate) exe: PathBuf,
    /// The token directory (root:GROUP, mode 1770).
    pub(crate) store: PathBuf,
    /// The group's name, for messages.
    pub(crate) group: String,
    /// The group's id.
    gid: u32,
}

/// Which store this run uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Not installed sealed: the desktop keychain (Secret Service).
    Plain,
    /// Installed sealed, and the install is sound.
    Sealed(Install),
}

#[derive(serde::Deserialize)]
struct Config {
    store: PathBuf,
    group: String,
}

/// The group privilege of a setgid run: dropped, and taken back only around store work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Privilege {
    real: Gid,
    group: Gid,
}

impl Privilege {
    /// Gives up the setgid group on this thread, keeping it as the saved gid. Call it first
    /// in `main`, before any thread exists, so every later thread starts without it.
    /// `None` when the process was not started setgid.
    pub(crate) fn drop_at_start() -> Result<Option<Privilege>, SealedError> {
        let (real, group) = (getgid(), getegid());
        if real == group {
            return Ok(None);
        }
        set_thread_res_gid(real, real, group)
            .map_err(group_error("drop the helper's group privilege"))?;
        Ok(Some(Privilege { real, group }))
    }

    /// Runs `f` with the group as the effective gid on this thread, then drops it again.
    pub(crate) fn with_group<T>(&self, f: impl FnOnce() -> T) -> Result<T, SealedError> {
        set_thread_res_gid(None, self.group, None)
            .map_err(group_error("take the helper's group back"))?;
        let out = f();
        set_thread_res_gid(None, self.real, None)
            .map_err(group_error("drop the helper's group again"))?;
        Ok(out)
    }

    /// The group id.
    fn group(&self) -> u32 {
        self.group.as_raw()
    }
}

/// The error for a failed `setresgid` while doing `what`.
fn group_error(what: &'static str) -> impl FnOnce(rustix::io::Errno) -> SealedError {
    move |source| SealedError::Group { what, source }
}

/// Gives up a setgid group entirely, real, effective and saved, for good: the window process
/// does this first, before any thread exists, so nothing that draws a window ever holds
/// the group. Checked afterwards.
pub(crate) fn drop_all() -> Result<(), SealedError> {
    let real = getgid();
    set_thread_res_gid(real, real, real).map_err(group_error("give up the helper's group"))?;
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|source| SealedError::OwnStatus { source })?;
    let gids: Vec<&str> = status
        .lines()
        .find_map(|l| l.strip_prefix("Gid:"))
        .map(|g| g.split_whitespace().collect())
        // No Gid line: an empty list, which fails the check below (fails closed).
        .unwrap_or_default();
    if gids.len() != 4 || gids.iter().any(|g| g.parse() != Ok(real.as_raw())) {
        return Err(SealedError::StillHeld {
            gids: gids.iter().map(|g| g.to_string()).collect(),
        });
    }
    Ok(())
}

/// In a sealed install (this binary started setgid), the window process serves only the
/// helper that started it: its parent must hold the helper's group, which no program of the
/// user's can. Otherwise any program could run the genuine window with a story of its own
/// (an all-green enroll window, say) and collect what the person types. Call before
/// [`drop_all`]. In a default install there is no group, and nothing to tell a worm from the
/// helper by: a worm can draw a look-alike window as well.
pub(crate) fn check_parent() -> Result<(), SealedError> {
    let group = getegid();
    if group == getgid() {
        return Ok(());
    }
    let parent = rustix::process::getppid()
        .ok_or(SealedError::NoParent)?
        .as_raw_nonzero()
        .get();
    let status = std::fs::read_to_string(format!("/proc/{parent}/status")).map_err(|source| {
        SealedError::ParentStatus {
            pid: parent,
            source,
        }
    })?;
    // The parent could have exited and its pid been reused since; it is still the parent only
    // if this process was not re-parented meanwhile.
    if rustix::process::getppid().map(|p| p.as_raw_nonzero().get()) != Some(parent) {
        return Err(SealedError::ParentGone);
    }
    let gids = status
        .lines()
        .find_map(|l| l.strip_prefix("Gid:"))
        .unwrap_or_default();
    if gids
        .split_whitespace()
        .any(|g| g.parse() == Ok(group.as_raw()))
    {
        Ok(())
    } else {
        Err(SealedError::NotTheHelper { pid: parent })
    }
}

/// For threads that only read user-controlled files (the `.crate`, `/proc`): gives up the
/// saved group too, so nothing on this thread can take it back. A thread for which this
/// fails must not read anything.
pub(crate) fn drop_for_good_on_this_thread() -> Result<(), SealedError> {
    let real = getgid();
    set_thread_res_gid(real, real, real)
        .map_err(group_error("give up the helper's group on this thread"))
}

/// Why a sealed install cannot be used. The `Display` is the refusal, with its fix.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DetectError {
    /// `/proc/self/exe` cannot be read.
    #[error("cannot find the helper's own binary: {source}")]
    OwnBinary {
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// `sealed.toml` exists but cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    ReadConfig {
        /// `sealed.toml`.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// `sealed.toml` is not what the installer writes.
    #[error("{} is malformed: {}", path.display(), source.message())]
    Malformed {
        /// `sealed.toml`.
        path: PathBuf,
        /// What the TOML parser said.
        #[source]
        source: toml::de::Error,
    },
    /// The install lets the user's own programs around the helper.
    #[error(
        "cargo-confirm-gui is installed sealed ({}) but the install is not safe, so it \
         refuses to run:\n  - {}\nOr reinstall with: sudo scripts/install-sealed.sh",
        exe.display(),
        problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  - ")
    )]
    Unsafe {
        /// The helper binary.
        exe: PathBuf,
        /// Each weakness, with the command that fixes it.
        problems: Vec<Problem>,
    },
}

/// One way a sealed install lets the user's own programs around the helper. The `Display`
/// names it and the command that fixes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Problem {
    /// `sealed.toml` is not a root-owned file only root can write.
    #[error(
        "{} must be a root-owned file nobody else can write. Fix: sudo chown root:root {0} && \
         sudo chmod 644 {0}",
        config.display()
    )]
    Config {
        /// `sealed.toml`.
        config: PathBuf,
    },
    /// The binary is not root's, setgid, and writable by root alone.
    #[error(
        "{} must be owned by root, group {group}, mode 2755. Fix: sudo chown root:{group} {0} && \
         sudo chmod 2755 {0}",
        exe.display()
    )]
    Binary {
        /// The helper binary.
        exe: PathBuf,
        /// The install's group.
        group: String,
    },
    /// The store path in `sealed.toml` is relative.
    #[error("the store path in {} must be absolute", config.display())]
    RelativeStore {
        /// `sealed.toml`.
        config: PathBuf,
    },
    /// The store directory is not root:GROUP, mode 1770.
    #[error(
        "{} must be a directory owned by root, group {group}, mode 1770. Fix: sudo chown \
         root:{group} {0} && sudo chmod 1770 {0}",
        store.display()
    )]
    Store {
        /// The token directory.
        store: PathBuf,
        /// The install's group.
        group: String,
    },
    /// A directory above the binary or the store can be changed by others than root.
    #[error(
        "{} must be owned by root and writable by nobody else. Fix: sudo chown root {0} && \
         sudo chmod go-w {0}",
        dir.display()
    )]
    Directory {
        /// The directory.
        dir: PathBuf,
    },
    /// The helper did not start with its group (a nosuid mount, or no setgid bit).
    #[error(
        "the helper did not start with its group {group} (is {} mounted nosuid, or the setgid \
         bit missing?). Fix: sudo chown root:{group} {} && sudo chmod 2755 {}",
        exe.display(),
        exe.display(),
        exe.display()
    )]
    NotSetgid {
        /// The helper binary.
        exe: PathBuf,
        /// The install's group.
        group: String,
    },
    /// The person is in the group, so their programs can read the tokens directly.
    #[error(
        "you are a member of the group {group}, so your own programs could read the token \
         files directly. Fix: sudo gpasswd -d $(id -un) {group}"
    )]
    InGroup {
        /// The install's group.
        group: String,
    },
}

/// Finds out whether this binary is installed sealed, and whether the install is sound.
/// `privilege` is what [`Privilege::drop_at_start`] returned.
pub(crate) fn detect(privilege: Option<Privilege>) -> Result<Mode, DetectError> {
    let exe =
        std::fs::read_link("/proc/self/exe").map_err(|source| DetectError::OwnBinary { source })?;
    let Some(dir) = exe.parent() else {
        return Ok(Mode::Plain);
    };
    let config_path = dir.join(CONFIG);
    let text = match std::fs::read_to_string(&config_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Mode::Plain),
        Err(source) => {
            return Err(DetectError::ReadConfig {
                path: config_path,
                source,
            });
        }
    };
    let config: Config = toml::from_str(&text).map_err(|source| DetectError::Malformed {
        path: config_path.clone(),
        source,
    })?;
    // Unreadable: no group matches u32::MAX, so the checks below refuse the install.
    let gid = std::fs::metadata(&exe).map(|m| m.gid()).unwrap_or(u32::MAX);
    let mut problems = Vec::new();
    check_install(&exe, &config_path, &config, gid, &mut problems);
    let running_setgid = privilege.is_some_and(|p| p.group() == gid);
    if !running_setgid && !getuid().is_root() {
        problems.push(Problem::NotSetgid {
            exe: exe.clone(),
            group: config.group.clone(),
        });
    }
    let in_group = getgroups()
        .map(|g| g.iter().any(|g| g.as_raw() == gid))
        .unwrap_or(false)
        || getgid().as_raw() == gid;
    if in_group && !getuid().is_root() {
        problems.push(Problem::InGroup {
            group: config.group.clone(),
        });
    }
    if !problems.is_empty() {
        return Err(DetectError::Unsafe { exe, problems });
    }
    Ok(Mode::Sealed(Install {
        exe,
        store: config.store,
        group: config.group,
        gid,
    }))
}

/// Why a uid has no usable login name in the system's user database.
#[derive(Debug, thiserror::Error)]
pub enum UserDbError {
    /// NSS has no entry for the uid, or the lookup itself failed (an unreachable LDAP or
    /// sssd server, say).
    #[error("uid {uid} has no name in the system's user database")]
    NoName {
        /// The uid looked up.
        uid: u32,
        /// What getpwuid_r returned, when it failed rather than found nothing.
        #[source]
        source: Option<std::io::Error>,
    },
    /// The name is not UTF-8.
    #[error("the login name of uid {uid} is not UTF-8")]
    NotUtf8 {
        /// The uid looked up.
        uid: u32,
    },
}

/// The login name of `uid`, from the system's user database through NSS (files, LDAP,
/// sssd, as `/etc/nsswitch.conf` says), never by reading `/etc/passwd` by hand: a
/// directory user is not in that file. The one `getpwuid_r` of the helper.
#[allow(unsafe_code)]
pub(crate) fn login_name(uid: u32) -> Result<String, UserDbError> {
    let mut len = 16 * 1024;
    loop {
        let mut buf = vec![0u8; len];
        // SAFETY: all-zero bytes are a valid `passwd` (null pointers, zero ids); it is only
        // read after getpwuid_r filled it.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call: `pwd` and `result` are locals, and
        // `buf` is a live buffer of the length passed. getpwuid_r writes strings only into
        // `buf`.
        let rc = unsafe {
            libc::getpwuid_r(
                uid,
                &mut pwd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut result,
            )
        };
        // An entry larger than the buffer (a long GECOS from a directory): try a larger one,
        // up to a bound.
        if rc == libc::ERANGE && len < 1024 * 1024 {
            len *= 4;
            continue;
        }
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
            return Err(UserDbError::NoName {
                uid,
                source: (rc != 0).then(|| std::io::Error::from_raw_os_error(rc)),
            });
        }
        // SAFETY: on success `pw_name` points at a NUL-terminated string inside `buf`, which
        // is still alive here.
        let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
        return name
            .to_str()
            .map(str::to_string)
            .map_err(|_| UserDbError::NotUtf8 { uid });
    }
}

const SETGID: u32 = 0o2000;
const STICKY: u32 = 0o1000;

/// Every way the install could let the user's own programs around the helper.
fn check_install(
    exe: &Path,
    config_path: &Path,
    config: &Config,
    gid: u32,
    problems: &mut Vec<Problem>,
) {
    let group = &config.group;
    let meta = |p: &Path| std::fs::symlink_metadata(p);
    match meta(config_path) {
        Ok(m) if m.uid() == 0 && m.mode() & 0o022 == 0 && m.file_type().is_file() => {}
        _ => problems.push(Problem::Config {
            config: config_path.to_path_buf(),
        }),
    }
    match meta(exe) {
        Ok(m) if m.uid() == 0 && m.mode() & SETGID != 0 && m.mode() & 0o022 == 0 => {}
        _ => problems.push(Problem::Binary {
            exe: exe.to_path_buf(),
            group: group.clone(),
        }),
    }
    if !config.store.is_absolute() {
        problems.push(Problem::RelativeStore {
            config: config_path.to_path_buf(),
        });
        return;
    }
    match meta(&config.store) {
        Ok(m)
            if m.file_type().is_dir()
                && m.uid() == 0
                && m.gid() == gid
                && m.mode() & 0o7777 == STICKY | 0o770 => {}
        _ => problems.push(Problem::Store {
            store: config.store.clone(),
            group: group.clone(),
        }),
    }
    // Every directory above the binary, its config and the store: nobody but root may
    // swap an entry in them (a sticky world-writable directory like /tmp is fine: only
    // the entry's owner, root, can rename it).
    let mut seen = std::collections::BTreeSet::new();
    for start in [exe, config.store.as_path()] {
        for dir in start.ancestors().skip(1) {
            if dir.as_os_str().is_empty() || !seen.insert(dir.to_path_buf()) {
                continue;
            }
            match meta(dir) {
                Ok(m) if m.uid() == 0 && (m.mode() & 0o022 == 0 || m.mode() & STICKY != 0) => {}
                _ => problems.push(Problem::Directory {
                    dir: dir.to_path_buf(),
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn chmod(p: &Path, mode: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// A sound install in a temporary directory (needs root to own things as root: the
    /// tests run as root in CI; as another user they only check what they can).
    fn layout() -> (tempfile::TempDir, PathBuf, PathBuf, Config) {
        let t = tempfile::tempdir().unwrap();
        chmod(t.path(), 0o755);
        let lib = t.path().join("lib");
        std::fs::create_dir(&lib).unwrap();
        let exe = lib.join("cargo-confirm-gui");
        std::fs::write(&exe, b"").unwrap();
        chmod(&exe, 0o2755);
        let cfg = lib.join(CONFIG);
        std::fs::write(&cfg, b"").unwrap();
        chmod(&cfg, 0o644);
        let store = t.path().join("store");
        std::fs::create_dir(&store).unwrap();
        chmod(&store, 0o1770);
        let config = Config {
            store,
            group: "g".into(),
        };
        (t, exe, cfg, config)
    }

    #[test]
    fn a_sound_install_passes_and_each_weakness_is_named_with_its_fix() {
        if !getuid().is_root() {
            return; // ownership by root cannot be arranged
        }
        let (t, exe, cfg, config) = layout();
        let gid = getegid().as_raw();
        let mut p = Vec::new();
        check_install(&exe, &cfg, &config, gid, &mut p);
        // /tmp and above are root-owned; the temp dir too (we are root).
        assert_eq!(p, Vec::<Problem>::new());

        for (path, mode, want) in [
            (exe.clone(), 0o755, "mode 2755. Fix: sudo chown root:g"),
            (exe.clone(), 0o2775, "mode 2755"),
            (cfg.clone(), 0o666, "sudo chmod 644"),
            (config.store.clone(), 0o770, "mode 1770"),
            (config.store.clone(), 0o1777, "mode 1770"),
            (
                exe.parent().unwrap().to_path_buf(),
                0o777,
                "sudo chmod go-w",
            ),
            (t.path().to_path_buf(), 0o775, "sudo chmod go-w"),
        ] {
            let before = std::fs::metadata(&path).unwrap().permissions();
            chmod(&path, mode);
            let mut p = Vec::new();
            check_install(&exe, &cfg, &config, gid, &mut p);
            std::fs::set_permissions(&path, before).unwrap();
            let all = p
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n");
            assert!(
                all.contains(&path.display().to_string()) && all.contains(want),
                "{} at {mode:o}: {all}",
                path.display()
            );
        }
        // A relative store path is refused.
        let mut p = Vec::new();
        let rel = Config {
            store: "store".into(),
            group: "g".into(),
        };
        check_install(&exe, &cfg, &rel, gid, &mut p);
        assert!(p.iter().any(|x| x.to_string().contains("must be absolute")));
    }

    #[test]
    fn login_names_come_from_the_system() {
        assert_eq!(login_name(0).ok().as_deref(), Some("root"));
        assert!(matches!(
            login_name(0x7fff_fff0),
            Err(UserDbError::NoName {
                uid: 0x7fff_fff0,
                ..
            })
        ));
    }

    #[test]
    fn an_unsafe_install_is_refused_with_every_fix() {
        let exe = PathBuf::from("/usr/lib/cargo-confirm-gui/cargo-confirm-gui");
        let e = DetectError::Unsafe {
            exe: exe.clone(),
            problems: vec![
                Problem::Binary {
                    exe: exe.clone(),
                    group: "g".into(),
                },
                Problem::NotSetgid {
                    exe,
                    group: "g".into(),
                },
                Problem::InGroup { group: "g".into() },
            ],
        };
        let exe = "/usr/lib/cargo-confirm-gui/cargo-confirm-gui";
        assert_eq!(
            e.to_string(),
            format!(
                "cargo-confirm-gui is installed sealed ({exe}) but the install is not safe, so it \
                 refuses to run:\n  - {exe} must be owned by root, group g, mode 2755. Fix: sudo \
                 chown root:g {exe} && sudo chmod 2755 {exe}\n  - the helper did not start with \
                 its group g (is {exe} mounted nosuid, or the setgid bit missing?). Fix: sudo \
                 chown root:g {exe} && sudo chmod 2755 {exe}\n  - you are a member of the group \
                 g, so your own programs could read the token files directly. Fix: sudo gpasswd \
                 -d $(id -un) g\nOr reinstall with: sudo scripts/install-sealed.sh"
            )
        );
    }

    #[test]
    fn a_plain_build_is_not_sealed() {
        // The test binary has no sealed.toml beside it.
        assert!(matches!(detect(None), Ok(Mode::Plain)));
    }
}
