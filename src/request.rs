//! What is asked: the operations a request names, with their wording for the window, the
//! messages and the log. The protocol parses into these, and the gate, the window and the
//! audit log read them. It uses none of those: only the types a plan and an owner change
//! carry (`package::Report`, `publish::upload::OwnerChange`).

/// What cargo asks for, owned and reduced to what the gate and the window need.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Operation {
    /// A read. `authenticated` is true when cargo saw a 401 from the registry and sent
    /// its `WWW-Authenticate` headers: a real authenticated read. A read with no headers is
    /// cargo's pre-flight before `publish` (see `SECURITY.md`, "Read policy").
    Read {
        /// cargo sent the registry's 401 headers.
        authenticated: bool,
    },
    /// `cargo publish`.
    Publish {
        /// Crate name.
        name: String,
        /// Version.
        vers: String,
        /// sha256 of the `.crate` being uploaded, hex.
        cksum: String,
    },
    /// `cargo yank`.
    Yank {
        /// Crate name.
        name: String,
        /// Version.
        vers: String,
    },
    /// `cargo yank --undo`.
    Unyank {
        /// Crate name.
        name: String,
        /// Version.
        vers: String,
    },
    /// `cargo owner`.
    Owners {
        /// Crate name.
        name: String,
    },
    /// `cargo login`; `token_given` is false when cargo sent no token (the enroll window opens).
    Login {
        /// cargo passed a token (argument or stdin).
        token_given: bool,
        /// The person ran `cargo-confirm-gui --enroll`, not cargo: logged as "enroll".
        enroll: bool,
    },
    /// `cargo confirm-gui publish`: the crates the helper packaged, read into its memory,
    /// and will upload itself, in this order. Nothing is released to any other process.
    PublishPlan {
        /// Each crate with what the window shows about it.
        crates: Vec<PlanCrate>,
    },
    /// `cargo confirm-gui yank`: a yank (or, with `undo`, an unyank) this helper sends
    /// itself. Nothing is released to any other process.
    HelperYank {
        /// Crate name.
        name: String,
        /// Version.
        vers: String,
        /// Unyank.
        undo: bool,
    },
    /// `cargo confirm-gui setup`: tokens found in clear text, to be moved into the store and
    /// their clear copies removed.
    Adopt {
        /// What was found, with no secret: the window shows fingerprints.
        tokens: Vec<AdoptItem>,
    },
    /// `cargo confirm-gui owner`: an owners request this helper sends itself.
    HelperOwners {
        /// Crate name.
        name: String,
        /// What is asked.
        change: crate::publish::upload::OwnerChange,
    },
    /// `cargo logout`.
    Logout,
    /// `--migrate`: move the token from the Secret Service into the sealed store.
    Migrate,
    /// `cargo-confirm-gui get` outside the protocol: the caller names no crate.
    GetUnnamed,
    /// Something newer cargo asked that this version does not know.
    Unknown,
}

/// One clear-text token of an [`Operation::Adopt`], as the window shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AdoptItem {
    /// The registry, for people.
    pub(crate) registry: String,
    /// The token's fingerprint.
    pub(crate) fingerprint: String,
    /// The index URL it will be stored under, and where that came from.
    pub(crate) index: String,
    /// Where it was found (file, and the key or line).
    pub(crate) source: String,
    /// A token is already stored for this registry: that one is kept, and this clear copy is
    /// only removed (replacing a stored token is for `--enroll`, with its own confirmation; a
    /// worm can plant a clear "token" for setup to find).
    pub(crate) already_stored: bool,
}

/// One crate of a [`Operation::PublishPlan`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlanCrate {
    /// Crate name.
    pub name: String,
    /// Version.
    pub vers: String,
    /// sha256 of the bytes the helper holds and will upload, hex.
    pub cksum: String,
    /// What those bytes contain, checked once they were read.
    pub report: Box<crate::package::Report>,
    /// Its dependencies as the upload declares them, one line each (name, requirement, and
    /// kind, target, registry or rename where there is one).
    #[serde(default)]
    pub deps: Vec<String>,
}

impl Operation {
    /// Whether an Approve needs the person's own authentication as well, where the install
    /// has such a step (`presence`): every operation. Releases and uses of the token for a
    /// start; and every write to the store too. Red team of "Presence the desktop cannot
    /// forge": with presence only for storing *over* a stored token, a logout and then a first
    /// login, two clicks and no password, replaced the person's token with the worm's.
    pub(crate) fn needs_presence(&self) -> bool {
        true
    }

    /// Whether an Approve hands the token to the requester, which must then be a verified
    /// cargo (`evidence::cargo`). Login, logout and migrate release nothing; `get` outside
    /// cargo prints to its caller and says so in red.
    pub(crate) fn releases_to_cargo(&self) -> bool {
        matches!(
            self,
            Operation::Read { .. }
                | Operation::Publish { .. }
                | Operation::Yank { .. }
                | Operation::Unyank { .. }
                | Operation::Owners { .. }
        )
    }

    /// Short lowercase name for logs and window titles.
    pub(crate) fn verb(&self) -> &'static str {
        match self {
            Operation::Read { .. } => "read",
            Operation::Publish { .. } | Operation::PublishPlan { .. } => "publish",
            Operation::Yank { .. } | Operation::HelperYank { undo: false, .. } => "yank",
            Operation::HelperYank { undo: true, .. } => "unyank",
            Operation::Unyank { .. } => "unyank",
            Operation::Owners { .. } | Operation::HelperOwners { .. } => "owners",
            Operation::Login { enroll: true, .. } => "enroll",
            Operation::Login { .. } => "login",
            Operation::Logout => "logout",
            Operation::Adopt { .. } => "setup",
            Operation::Migrate => "migrate",
            Operation::GetUnnamed => "get",
            Operation::Unknown => "unknown",
        }
    }
}

impl Operation {
    /// "publish of foo 1.2.3 to REGISTRY", for messages.
    pub(crate) fn describe(&self, registry: &str) -> String {
        match self {
            Operation::Publish { name, vers, .. } => {
                format!("publish of {name} {vers} to {registry}")
            }
            Operation::PublishPlan { crates } => format!(
                "publish of {} to {registry}",
                crates
                    .iter()
                    .map(|c| format!("{} {}", c.name, c.vers))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Operation::Yank { name, vers }
            | Operation::HelperYank {
                name,
                vers,
                undo: false,
            } => format!("yank of {name} {vers} on {registry}"),
            Operation::HelperYank {
                name,
                vers,
                undo: true,
            } => format!("unyank of {name} {vers} on {registry}"),
            Operation::Unyank { name, vers } => format!("unyank of {name} {vers} on {registry}"),
            Operation::Owners { name } | Operation::HelperOwners { name, .. } => {
                format!("owner change for {name} on {registry}")
            }
            Operation::Read { .. } => format!("read from {registry}"),
            Operation::Login { .. } => format!("storing a token for {registry}"),
            Operation::Logout => format!("removing the token for {registry}"),
            Operation::Adopt { tokens } => {
                format!("moving {} clear-text token(s) into the store", tokens.len())
            }
            Operation::Migrate => format!("moving the token for {registry} into the sealed store"),
            Operation::GetUnnamed => format!("token request for {registry}"),
            Operation::Unknown => format!("request for {registry}"),
        }
    }

    /// The crate, version and checksum the audit log keeps for this operation.
    pub(crate) fn detail(&self) -> String {
        match self {
            Operation::Publish { name, vers, cksum } => format!("{name} {vers} sha256:{cksum}"),
            Operation::PublishPlan { crates } => crates
                .iter()
                .map(|c| format!("{} {} sha256:{}", c.name, c.vers, c.cksum))
                .collect::<Vec<_>>()
                .join(", "),
            Operation::Yank { name, vers }
            | Operation::Unyank { name, vers }
            | Operation::HelperYank { name, vers, .. } => {
                format!("{name} {vers}")
            }
            Operation::Owners { name } => name.clone(),
            Operation::HelperOwners { name, change } => format!("{name} {change:?}"),
            _ => String::new(),
        }
    }
}
