//! PAM, run by the sealed helper itself, as screen lockers do.
//!
//! The service is `/etc/pam.d/cargo-confirm-gui`, root-owned, written by the sealed install:
//! by default the system's usual `auth` and `account` stacks, so that a fingerprint
//! (`pam_fprintd`) or a security key (`pam_u2f`) works where the administrator set one up,
//! and `pam_unix` checks the person's own password through its setgid `unix_chkpwd`.
//!
//! PAM runs in a process of its own, the authentication process (`__presence`), started with
//! the window process, before the broker denies itself the network: that denial sets
//! `no_new_privs`, under which `unix_chkpwd` would start without its group and could not read
//! `/etc/shadow`. The authentication process gives up the helper's group before it loads a
//! single module, and never talks to the display: what a module asks goes to the broker as a
//! JSON line, which shows it in the window and sends the person's answer back.
//!
//! polkit is not used: any program of the person's may register a polkit agent for one
//! process, and that agent outranks the desktop's; it would be handed the question at the
//! moment the person expects a password prompt (SECURITY.md, "Presence").

use std::ffi::{OsStr, OsString};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc::Sender;

use super::{Attempt, Event, LinkError, Method, Presence, PresenceError, Says};
use crate::child::{self, Child, ChildError, LineError, Lines, Role};
use crate::sealed::{UserDbError, login_name};

/// What PAM's fix is, in every message about its service file.
const FIX: &str = "sudo scripts/install-sealed.sh (or reinstall the package: sudo apt install \
                   --reinstall cargo-confirm-gui) writes it";

/// Why PAM presence cannot run, or PAM did not confirm the person. The `Display` is the
/// message the window and cargo show.
#[derive(Debug, thiserror::Error)]
pub enum PamError {
    /// The real uid has no login name to give PAM.
    #[error(
        "uid {uid} has no name in the system's user database, so the system cannot be asked \
         who approves"
    )]
    NoLoginName {
        /// The real uid.
        uid: u32,
        /// What the lookup said.
        #[source]
        source: UserDbError,
    },
    /// The real uid's login name is not UTF-8.
    #[error("the login name of uid {uid} is not UTF-8")]
    LoginNameNotUtf8 {
        /// The real uid.
        uid: u32,
    },
    /// The service file or its directory cannot be read.
    #[error(
        "the PAM service {what} {} cannot be read ({source}), so nobody can confirm who \
         approves and nothing is released; {FIX}",
        path.display()
    )]
    ServiceUnreadable {
        /// "file" or "directory".
        what: &'static str,
        /// The path.
        path: std::path::PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The service file or its directory is not root's alone.
    #[error(
        "the PAM service {what} {} is not a root-owned {what} that only root can \
         change (owner uid {uid}, mode {mode:o}), so nothing is released; {FIX}",
        path.display()
    )]
    ServiceUnsafe {
        /// "file" or "directory".
        what: &'static str,
        /// The path.
        path: std::path::PathBuf,
        /// Its owner.
        uid: u32,
        /// Its permission bits.
        mode: u32,
    },
    /// The authentication process was not started with the window ([`Presence::prepare`]),
    /// and cannot be started now that the broker is hardened.
    #[error("the authentication process: it was not started before the window")]
    NotPrepared,
    /// The authentication process could not be started.
    #[error("the authentication process: {0}")]
    Start(#[source] ChildError),
    /// The authentication process could not be asked.
    #[error(transparent)]
    Ask(ChildError),
    /// The authentication process's output was already taken.
    #[error("the authentication process has no output")]
    NoOutput,
    /// In the authentication process: the pipes to the broker failed.
    #[error(transparent)]
    Lines(#[from] LineError),
    /// PAM could not start the service.
    #[error("PAM could not start the service {service}: {source}")]
    Transaction {
        /// The PAM service.
        service: String,
        /// PAM's code.
        #[source]
        source: nonstick::ErrorCode,
    },
    /// PAM said no (wrong password, an expired account, a module error): its own words.
    #[error(transparent)]
    Pam(#[from] nonstick::ErrorCode),
    /// A module authenticated someone else than the person running the helper.
    #[error("PAM confirmed {confirmed:?}, not {user:?}")]
    OtherUser {
        /// Whom PAM confirmed.
        confirmed: OsString,
        /// The person running the helper.
        user: String,
    },
}

impl From<UserDbError> for PamError {
    fn from(e: UserDbError) -> Self {
        match e {
            UserDbError::NotUtf8 { uid } => PamError::LoginNameNotUtf8 { uid },
            UserDbError::NoName { uid, .. } => PamError::NoLoginName { uid, source: e },
        }
    }
}

/// The PAM service name, and so the file under `/etc/pam.d`.
pub const SERVICE: &str = "cargo-confirm-gui";
/// Where PAM reads its service files.
pub const SERVICE_DIR: &str = "/etc/pam.d";

/// What the broker sends the authentication process.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub enum Ask {
    /// Authenticate `user` with `service`; `tty` names the display (PAM_TTY), as screen
    /// lockers set it.
    Start {
        /// The PAM service.
        service: String,
        /// The person's login name.
        user: String,
        /// The display the window is on, for PAM_TTY.
        tty: Option<String>,
    },
    /// The answer to the last prompt.
    Reply(String),
}

/// What the authentication process says.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub enum Said {
    /// What a module asks or says.
    Says(Says),
    /// PAM's verdict.
    Done(Result<(), String>),
}

/// The authentication process's role.
pub struct Authenticator;

impl Role for Authenticator {
    const ARG: &'static str = super::PRESENCE_ARG;
    const NAME: &'static str = "the authentication process";
    type Ask = Ask;
    type Answer = Said;
}

/// PAM presence for the person running the helper (the real uid).
pub struct Pam {
    user: Result<String, PamError>,
    tty: Option<String>,
    service_dir: &'static str,
    child: Mutex<Option<Result<Child<Authenticator>, ChildError>>>,
}

impl Pam {
    /// PAM for the real user, the window on `display` (for PAM_TTY).
    pub fn new(display: Option<String>) -> Self {
        Pam {
            user: login_name(rustix::process::getuid().as_raw()).map_err(PamError::from),
            tty: display,
            service_dir: SERVICE_DIR,
            child: Mutex::new(None),
        }
    }

    fn service_file(&self) -> std::path::PathBuf {
        Path::new(self.service_dir).join(SERVICE)
    }
}

/// The environment of the authentication process: the language of the modules' messages,
/// nothing else (no library or module path of the caller's).
fn environment() -> Vec<(String, OsString)> {
    ["LANG", "LC_ALL", "LC_MESSAGES"]
        .iter()
        .filter_map(|k| std::env::var_os(k).map(|v| (k.to_string(), v)))
        .collect()
}

impl Presence for Pam {
    fn method(&self) -> Option<Method> {
        Some(Method {
            asks: "your password, fingerprint or security key".into(),
            checked_by: format!("the system (PAM service {SERVICE})"),
        })
    }

    fn ready(&self) -> Result<(), PresenceError> {
        let unavailable = |e: &PamError| PresenceError::Unavailable(e.to_string());
        self.user.as_ref().map_err(unavailable)?;
        check_service(Path::new(self.service_dir), &self.service_file())
            .map_err(|e| unavailable(&e))
    }

    fn prepare(&self) {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        if child.is_none() {
            *child = Some(Child::start(environment()));
        }
    }

    fn begin(&self, _: &str, events: Sender<Event>) -> Result<Box<dyn Attempt>, PresenceError> {
        let unavailable = |e: PamError| PresenceError::Unavailable(e.to_string());
        let user = match &self.user {
            Ok(user) => user.clone(),
            Err(e) => return Err(PresenceError::Unavailable(e.to_string())),
        };
        let taken = self.child.lock().unwrap_or_else(|e| e.into_inner()).take();
        // Started now, after the broker hardened itself, it could not run unix_chkpwd: the
        // process must have been prepared with the window.
        let mut child = taken
            .ok_or(PamError::NotPrepared)
            .and_then(|started| started.map_err(PamError::Start))
            .map_err(unavailable)?;
        child
            .send(&Ask::Start {
                service: SERVICE.into(),
                user,
                tty: self.tty.clone(),
            })
            .map_err(|e| unavailable(PamError::Ask(e)))?;
        let mut from = child
            .take_output()
            .ok_or_else(|| unavailable(PamError::NoOutput))?;
        std::thread::spawn(move || {
            loop {
                let event = match child::read_line::<Said>(&mut from) {
                    Ok(Some(Said::Says(s))) => Event::System(s),
                    Ok(Some(Said::Done(verdict))) => Event::SystemDone(verdict),
                    Ok(None) => Event::SystemGone(
                        "the authentication process ended without a verdict".into(),
                    ),
                    Err(e) => Event::SystemGone(format!("the authentication process: {e}")),
                };
                let last = !matches!(event, Event::System(_));
                if events.send(event).is_err() || last {
                    break;
                }
            }
        });
        Ok(Box::new(PamAttempt { child }))
    }
}

/// One PAM attempt, as the broker holds it: dropping it ends the authentication process.
struct PamAttempt {
    child: Child<Authenticator>,
}

impl Attempt for PamAttempt {
    fn reply(&mut self, answer: &str) -> Result<(), LinkError> {
        Ok(self.child.send(&Ask::Reply(answer.to_string()))?)
    }
}

/// The service file must be there and only root may change it or its directory: otherwise
/// PAM would fall back to the `other` service, or read a stack someone else wrote.
fn check_service(dir: &Path, file: &Path) -> Result<(), PamError> {
    for (path, what) in [(dir, "directory"), (file, "file")] {
        let m = std::fs::symlink_metadata(path).map_err(|source| PamError::ServiceUnreadable {
            what,
            path: path.to_path_buf(),
            source,
        })?;
        let kind_ok = if what == "file" {
            m.file_type().is_file()
        } else {
            m.file_type().is_dir()
        };
        if !kind_ok || m.uid() != 0 || m.mode() & 0o022 != 0 {
            return Err(PamError::ServiceUnsafe {
                what,
                path: path.to_path_buf(),
                uid: m.uid(),
                mode: m.mode() & 0o7777,
            });
        }
    }
    Ok(())
}

/// The authentication process: one `Start`, PAM's questions relayed over the pipes, one
/// verdict. `cli::child` has already checked its parent and given up the helper's group.
pub(crate) fn serve() -> Result<(), PamError> {
    let mut lines = Lines::<Authenticator>::default();
    let Some(Ask::Start { service, user, tty }) = lines.recv()? else {
        // The broker needed no authentication after all.
        return Ok(());
    };
    let conversation = Relay(Mutex::new(lines));
    // The verdict crosses to the broker as its words: the broker shows them and denies.
    let verdict = authenticate(&service, &user, tty.as_deref(), conversation);
    Lines::<Authenticator>::send(&Said::Done(verdict.map_err(|e| e.to_string())))?;
    Ok(())
}

fn authenticate(
    service: &str,
    user: &str,
    tty: Option<&str>,
    conversation: Relay,
) -> Result<(), PamError> {
    use nonstick::items::{Items, ItemsMut};
    use nonstick::{AuthnFlags, ConversationAdapter, PamShared, Transaction};
    let mut txn = nonstick::TransactionBuilder::new_with_service(service)
        .username(user)
        .build(conversation.into_conversation())
        .map_err(|source| PamError::Transaction {
            service: service.to_string(),
            source,
        })?;
    if let Some(tty) = tty {
        // Best effort: a module that wants it knows the display; none needs it.
        let _ = txn.items_mut().set_tty_name(Some(OsStr::new(tty)));
    }
    txn.authenticate(AuthnFlags::empty())?;
    // A module may change the user it authenticated (PAM_USER); only the person running the
    // helper counts, as screen lockers check.
    let who = txn.items().user()?;
    if who.as_deref() != Some(OsStr::new(user)) {
        return Err(PamError::OtherUser {
            confirmed: who.unwrap_or_default(),
            user: user.to_string(),
        });
    }
    // An expired or locked account is no presence either.
    Ok(txn.account_management(AuthnFlags::empty())?)
}

/// PAM's conversation, relayed to the broker: each question a line out, its answer a line in.
struct Relay(Mutex<Lines<Authenticator>>);

impl Relay {
    fn ask(&self, text: &OsStr, echo: bool) -> nonstick::Result<OsString> {
        let conv = || nonstick::ErrorCode::ConversationError;
        Lines::<Authenticator>::send(&Said::Says(Says::Prompt {
            text: text.to_string_lossy().into_owned(),
            echo,
        }))
        .map_err(|_| conv())?;
        let mut lines = self.0.lock().map_err(|_| conv())?;
        match lines.recv() {
            Ok(Some(Ask::Reply(mut answer))) => {
                let out = OsString::from(answer.as_str());
                zeroize::Zeroize::zeroize(&mut answer);
                Ok(out)
            }
            // Cancelled, the window gone, the broker gone: PAM fails the attempt.
            _ => Err(conv()),
        }
    }

    fn tell(&self, says: Says) {
        // A message that cannot be shown changes nothing: the verdict still comes.
        let _ = Lines::<Authenticator>::send(&Said::Says(says));
    }
}

impl nonstick::ConversationAdapter for Relay {
    fn prompt(&self, request: impl AsRef<OsStr>) -> nonstick::Result<OsString> {
        self.ask(request.as_ref(), true)
    }

    fn masked_prompt(&self, request: impl AsRef<OsStr>) -> nonstick::Result<OsString> {
        self.ask(request.as_ref(), false)
    }

    fn error_msg(&self, message: impl AsRef<OsStr>) {
        self.tell(Says::Error(message.as_ref().to_string_lossy().into_owned()));
    }

    fn info_msg(&self, message: impl AsRef<OsStr>) {
        self.tell(Says::Info(message.as_ref().to_string_lossy().into_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_service_file_must_be_roots_alone() {
        let d = tempfile::tempdir().unwrap();
        let file = d.path().join(SERVICE);
        let missing = check_service(d.path(), &file).unwrap_err().to_string();
        assert!(missing.contains("cannot be read"), "{missing}");
        assert!(missing.contains("install-sealed.sh"), "{missing}");
        std::fs::write(&file, "auth required pam_permit.so\n").unwrap();
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
        if rustix::process::getuid().is_root() {
            let writable = check_service(d.path(), &file).unwrap_err().to_string();
            assert!(writable.contains("mode 666"), "{writable}");
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
            check_service(d.path(), &file).unwrap();
        } else {
            // Not root: the file is the test user's, so never root's alone.
            assert!(check_service(d.path(), &file).is_err());
        }
    }

    #[test]
    fn the_real_users_name_comes_from_the_system() {
        assert_eq!(login_name(0).ok().as_deref(), Some("root"));
        let unknown = PamError::from(login_name(0x7fff_fff0).unwrap_err());
        assert!(
            unknown
                .to_string()
                .ends_with("so the system cannot be asked who approves"),
            "{unknown}"
        );
    }
}
