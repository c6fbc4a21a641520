//! Which token store a run uses: decided once, before anything else, from how the binary is
//! installed (plain, or sealed beside a `sealed.toml`).

use crate::env::Snapshot;
use crate::state::State;
use crate::store::{self, StoreError, TokenStore};

/// Which store this run uses: decided once, before anything else, from how the binary is
/// installed.
pub enum Stores {
    /// The platform's keychain.
    Default,
    /// The sealed store of a sealed install (Linux).
    #[cfg(target_os = "linux")]
    Sealed {
        /// The install, which passed every check at start.
        install: crate::sealed::Install,
        /// The setgid group, dropped at start and taken back only around store work;
        /// `None` when the helper was not started setgid.
        privilege: Option<crate::sealed::Privilege>,
    },
}

impl Stores {
    /// Drops a setgid group at once, then looks at the install. An unsafe sealed install is
    /// an error, returned after argument parsing so `--help` still works.
    pub fn start() -> (Stores, Option<String>) {
        #[cfg(target_os = "linux")]
        {
            use crate::sealed::{self, Mode, Privilege};
            let privilege = match Privilege::drop_at_start() {
                Ok(p) => p,
                Err(e) => return (Stores::Default, Some(format!("cargo-confirm-gui: {e}"))),
            };
            match sealed::detect(privilege) {
                Ok(Mode::Plain) if privilege.is_some() => (
                    Stores::Default,
                    Some("cargo-confirm-gui runs setgid but has no sealed.toml beside it; refusing. Reinstall with: sudo scripts/install-sealed.sh".into()),
                ),
                Ok(Mode::Plain) => (Stores::Default, None),
                Ok(Mode::Sealed(install)) => (Stores::Sealed { install, privilege }, None),
                Err(e) => (Stores::Default, Some(e.to_string())),
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            (Stores::Default, None)
        }
    }

    /// The paragraph of `--help` that says where tokens are kept, and who can read them.
    pub fn help(&self) -> String {
        match self {
            Stores::Default => store::DEFAULT_HELP.to_string(),
            #[cfg(target_os = "linux")]
            Stores::Sealed { install, .. } => format!(
                "Token store: the sealed store {} (installed sealed: {}, group {}); only this \
                 helper can read it. `--migrate` moves a token from the Secret Service into it.",
                install.store.display(),
                install.exe.display(),
                install.group
            ),
        }
    }

    /// What the system asks after Approve, for `--version` and `status`.
    pub fn presence_help(&self) -> String {
        match self {
            #[cfg(target_os = "linux")]
            Stores::Sealed { .. } => {
                "your password, fingerprint or security key, checked by PAM (service \
                 cargo-confirm-gui), in the window"
                    .into()
            }
            #[cfg(windows)]
            Stores::Default => {
                use crate::presence::Presence;
                if crate::presence::windows_hello::Hello.ready().is_ok() {
                    "Windows Hello".into()
                } else {
                    "none: the click decides (Windows Hello is not set up)".into()
                }
            }
            #[cfg(target_os = "macos")]
            Stores::Default => "the keychain item's own user-presence check".into(),
            #[cfg(not(any(windows, target_os = "macos")))]
            Stores::Default => {
                "none: the click decides (the default install; the sealed install asks for \
                 your password)"
                    .into()
            }
        }
    }

    /// Where the lock, the cooldown and the audit log live: the user's directories, or
    /// beside the sealed tokens.
    pub fn state(&self, env: &Snapshot) -> State {
        match self {
            Stores::Default => State::user(env.runtime_dir.as_deref(), env.state_dir.as_deref()),
            #[cfg(target_os = "linux")]
            Stores::Sealed { install, privilege } => State::sealed(
                &install
                    .store
                    .join(rustix::process::getuid().as_raw().to_string()),
                *privilege,
            ),
        }
    }

    /// How the system confirms who approved: in the sealed install, the person's own
    /// authentication by PAM, in the window on `env`'s display; on Windows, Windows Hello; in
    /// the default install elsewhere nothing but the click, since any program running as the
    /// person can read the Secret Service anyway (`setup` and `doctor` say so). On macOS the
    /// keychain item's own user-presence control asks at each read.
    pub fn presence(&self, env: &Snapshot) -> Box<dyn crate::presence::Presence> {
        let _ = env;
        match self {
            // Windows: Windows Hello before every release where it is set up (written, not
            // run here). Where it is not, the Credential Manager's token is as readable as the
            // Secret Service's, and the click decides, as in Linux's default install.
            #[cfg(windows)]
            Stores::Default => {
                use crate::presence::Presence;
                let hello = crate::presence::windows_hello::Hello;
                if hello.ready().is_ok() {
                    Box::new(hello)
                } else {
                    Box::new(crate::presence::ClickOnly)
                }
            }
            #[cfg(not(windows))]
            Stores::Default => Box::new(crate::presence::ClickOnly),
            #[cfg(target_os = "linux")]
            Stores::Sealed { .. } => Box::new(crate::presence::pam::Pam::new(
                env.x11_display
                    .clone()
                    .or_else(|| env.wayland_display.clone()),
            )),
        }
    }

    /// Opens this run's store.
    pub fn open(&self) -> Result<Box<dyn TokenStore>, StoreError> {
        match self {
            Stores::Default => store::default_store(),
            #[cfg(target_os = "linux")]
            Stores::Sealed { install, privilege } => Ok(Box::new(store::sealed::SealedStore::new(
                install.store.clone(),
                *privilege,
            ))),
        }
    }
}
