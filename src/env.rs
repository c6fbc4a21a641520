//! The only module that reads the process environment.
//!
//! Everything later in the pipeline decides from this snapshot, so a CI refusal is
//! made before any display server is contacted.

use std::ffi::OsString;
use std::path::PathBuf;

/// Environment variables that mark a CI runner, in the order they are reported.
pub const CI_MARKERS: &[&str] = &[
    "CI",
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "BUILDKITE",
    "TF_BUILD",
    "JENKINS_URL",
    "CIRCLECI",
    "TEAMCITY_VERSION",
    "TRAVIS",
    "APPVEYOR",
    "BITBUCKET_BUILD_NUMBER",
    "DRONE",
    "CODEBUILD_BUILD_ID",
    "WOODPECKER_CI",
    "SEMAPHORE",
];

/// The only variables the window process is given: what it needs to reach the display
/// server and to authenticate to it, and the locale. Nothing that names a library, driver,
/// plugin, module, cursor theme, input method or configuration directory, so nothing the
/// caller chose can steer the code the window runs (`LD_*`, `LIBGL_*`, `MESA_*`, `GBM_*`,
/// `__EGL_*`, `XCURSOR_*`, `XLOCALEDIR`, `XMODIFIERS`, `XKB_*`, `WAYLAND_SOCKET`, …).
///
/// Not `HOME` either: Xlib and xkbcommon read compose files from it (`~/.XCompose`,
/// `~/.config/XCompose`, Xlib's binary `~/.compose-cache`), files any program of the user's
/// can write and both libraries parse. The one thing the window needs from it, the X
/// authority file, is passed as `XAUTHORITY` (see `window_environment`).
pub const WINDOW_ENV: &[&str] = &[
    "DISPLAY",
    "XAUTHORITY",
    "XDG_RUNTIME_DIR",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
];

/// Set in the window process by `window_environment`, never taken from the caller: the
/// compose table is empty (`/dev/null`), so no compose file is read at all. Nobody types
/// in these windows (the token is pasted), and the system compose table alone takes tens
/// of milliseconds to parse on every start. xkbcommon logs only what is critical: it would
/// otherwise print "Couldn't read Compose file /dev/null" each time a window opens.
pub const WINDOW_FIXED: &[(&str, &str)] = &[
    ("PATH", "/usr/bin:/bin"),
    ("XCOMPOSEFILE", "/dev/null"),
    ("XKB_LOG_LEVEL", "critical"),
];

/// The window process's environment, from this process's: [`WINDOW_ENV`] only, plus
/// [`WINDOW_FIXED`], `XAUTHORITY` as `$HOME/.Xauthority` when it is unset (where Xlib would
/// look), and, when the window goes to Wayland, `WAYLAND_DISPLAY` as `socket`.
pub(crate) fn window_environment(
    wayland_socket: Option<&std::path::Path>,
) -> Vec<(String, OsString)> {
    let mut env: Vec<(String, OsString)> = WINDOW_ENV
        .iter()
        .filter_map(|k| std::env::var_os(k).map(|v| (k.to_string(), v)))
        .collect();
    if std::env::var_os("XAUTHORITY").is_none_or(|v| v.is_empty())
        && let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty())
    {
        env.retain(|(k, _)| k != "XAUTHORITY");
        env.push((
            "XAUTHORITY".into(),
            PathBuf::from(home).join(".Xauthority").into_os_string(),
        ));
    }
    env.extend(
        WINDOW_FIXED
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v))),
    );
    if let Some(socket) = wayland_socket {
        env.push(("WAYLAND_DISPLAY".into(), socket.as_os_str().to_owned()));
    }
    env
}

/// What the process knows about where it runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The first CI marker found (name), if any. `CI=false` and `CI=0` do not count.
    pub(crate) ci_marker: Option<String>,
    /// `DISPLAY` (X11), if set and not empty.
    pub(crate) x11_display: Option<String>,
    /// `WAYLAND_DISPLAY`, if set and not empty.
    pub(crate) wayland_display: Option<String>,
    /// `WAYLAND_SOCKET` is set (an inherited connection; refused, see `display`).
    pub(crate) wayland_socket_set: bool,
    /// `XDG_RUNTIME_DIR`, for locating the Wayland socket.
    pub(crate) runtime_dir: Option<PathBuf>,
    /// `XDG_STATE_HOME` or `$HOME/.local/state`, for the audit log.
    pub(crate) state_dir: Option<PathBuf>,
    /// `CARGO_HOME` or `$HOME/.cargo`.
    pub(crate) cargo_home: Option<PathBuf>,
    /// Set by cargo for `cargo:token-from-stdout` providers.
    pub(crate) registry_index_url: Option<String>,
    /// Set by cargo for `cargo:token-from-stdout` providers.
    pub(crate) registry_name: Option<String>,
    /// `CARGO`: the cargo binary, when run through cargo (the demo runs it).
    pub cargo: Option<PathBuf>,
    /// `CARGO_TARGET_DIR` or `CARGO_BUILD_TARGET_DIR`: where cargo wrote the `.crate`.
    pub(crate) target_dir: Option<PathBuf>,
    /// `CARGO_REGISTRIES_<NAME>_INDEX` variables, as (NAME, URL).
    pub(crate) registry_index_vars: Vec<(String, String)>,
    /// `CARGO_REGISTRY_DEFAULT`: the registry cargo uses when none is named.
    pub(crate) registry_default: Option<String>,
}

impl Snapshot {
    /// Reads the real process environment.
    pub fn capture() -> Self {
        let mut s = Self::from_lookup(|k| std::env::var_os(k));
        s.registry_index_vars = std::env::vars_os()
            .filter_map(|(k, v)| {
                let k = k.into_string().ok()?;
                let name = k
                    .strip_prefix("CARGO_REGISTRIES_")?
                    .strip_suffix("_INDEX")?;
                Some((name.to_string(), v.into_string().ok()?))
            })
            .collect();
        s
    }

    /// The `CARGO_REGISTRIES_<NAME>_INDEX` value for a registry name, as cargo spells it.
    pub(crate) fn registry_index_var(&self, name: &str) -> Option<String> {
        let want = name.to_ascii_uppercase().replace('-', "_");
        self.registry_index_vars
            .iter()
            .find(|(n, _)| *n == want)
            .map(|(_, v)| v.clone())
    }

    /// Builds a snapshot from any lookup function (tests pass a map).
    fn from_lookup(get: impl Fn(&str) -> Option<OsString>) -> Self {
        let text = |k: &str| {
            get(k)
                .map(|v| v.to_string_lossy().into_owned())
                .filter(|v| !v.is_empty())
        };
        let ci_marker = CI_MARKERS
            .iter()
            .find(|k| {
                text(k).is_some_and(|v| {
                    let v = v.to_ascii_lowercase();
                    v != "false" && v != "0"
                })
            })
            .map(|k| k.to_string());
        let home = text("HOME").map(PathBuf::from);
        Snapshot {
            ci_marker,
            x11_display: text("DISPLAY"),
            wayland_display: text("WAYLAND_DISPLAY"),
            wayland_socket_set: get("WAYLAND_SOCKET").is_some(),
            runtime_dir: text("XDG_RUNTIME_DIR").map(PathBuf::from),
            state_dir: text("XDG_STATE_HOME")
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".local/state"))),
            cargo_home: text("CARGO_HOME")
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".cargo"))),
            registry_index_url: text("CARGO_REGISTRY_INDEX_URL"),
            registry_name: text("CARGO_REGISTRY_NAME_OPT"),
            registry_default: text("CARGO_REGISTRY_DEFAULT"),
            cargo: text("CARGO").map(PathBuf::from),
            target_dir: text("CARGO_TARGET_DIR")
                .or_else(|| text("CARGO_BUILD_TARGET_DIR"))
                .map(PathBuf::from),
            registry_index_vars: Vec::new(),
        }
    }

    /// Whether any display variable is set (reachability is probed later, by `display`).
    /// On macOS and Windows the window system is always there in a desktop session; only
    /// CI markers refuse there.
    pub(crate) fn has_display(&self) -> bool {
        !cfg!(target_os = "linux") || self.x11_display.is_some() || self.wayland_display.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn snap(vars: &[(&str, &str)]) -> Snapshot {
        let m: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        Snapshot::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn ci_markers() {
        assert_eq!(snap(&[("CI", "true")]).ci_marker.as_deref(), Some("CI"));
        assert_eq!(
            snap(&[("GITHUB_ACTIONS", "true")]).ci_marker.as_deref(),
            Some("GITHUB_ACTIONS")
        );
        assert_eq!(
            snap(&[("JENKINS_URL", "http://j")]).ci_marker.as_deref(),
            Some("JENKINS_URL")
        );
        assert_eq!(snap(&[("CI", "false")]).ci_marker, None);
        assert_eq!(snap(&[("CI", "0")]).ci_marker, None);
        assert_eq!(snap(&[("CI", "")]).ci_marker, None);
        assert_eq!(snap(&[]).ci_marker, None);
    }

    #[test]
    fn displays() {
        assert!(!snap(&[("DISPLAY", "")]).has_display());
        assert!(snap(&[("DISPLAY", ":0")]).has_display());
        assert!(snap(&[("WAYLAND_DISPLAY", "wayland-0")]).has_display());
    }

    #[test]
    fn homes() {
        let s = snap(&[("HOME", "/h")]);
        assert_eq!(s.cargo_home, Some(PathBuf::from("/h/.cargo")));
        assert_eq!(s.state_dir, Some(PathBuf::from("/h/.local/state")));
        let s = snap(&[("HOME", "/h"), ("CARGO_HOME", "/c")]);
        assert_eq!(s.cargo_home, Some(PathBuf::from("/c")));
    }
}
