//! What is asked: the operations a request names, with their wording for the window, the
//! messages and the log. The protocol parses into these, and the gate, the window and the
//! audit log read them. It uses none of those: only the report a plan carries
//! (`package::Report`).

/// What is asked, typed by who gets the token if the person approves: cargo, the helper's
/// own uploader, or nobody (only the store changes). A match on it names the recipient, so
/// none can be forgotten.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Operation {
    /// cargo asked through the protocol, and an Approve hands the token to cargo, which must
    /// then be a verified cargo (`evidence::cargo`).
    Cargo(CargoRequest),
    /// The helper's own command: the token stays in the helper, which sends the request
    /// itself. Nothing is released to any other process.
    Helper(HelperRequest),
    /// Only the store changes: no token leaves it.
    Store(StoreChange),
    /// `cargo-confirm-gui get` outside the protocol: the caller names no crate, and the token
    /// goes to whatever program ran it (said in red).
    Caller,
    /// Something newer cargo asked that this version does not know: refused before any
    /// window.
    Unknown,
}

/// What cargo asks for, with the token going to cargo.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CargoRequest {
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
    /// `cargo yank`, or with `undo`, `cargo yank --undo`.
    Yank {
        /// Crate name.
        name: String,
        /// Version.
        vers: String,
        /// Unyank.
        undo: bool,
    },
    /// `cargo owner`: cargo does not say which change.
    Owners {
        /// Crate name.
        name: String,
    },
}

/// What the helper's own commands send themselves, with the token kept in the helper.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum HelperRequest {
    /// `cargo confirm-gui publish`: the crates the helper packaged, read into its memory,
    /// and will upload itself, in this order.
    Publish {
        /// Each crate with what the window shows about it.
        crates: Vec<PlanCrate>,
    },
    /// `cargo confirm-gui yank`: a yank, or with `undo`, an unyank.
    Yank {
        /// Crate name.
        name: String,
        /// Version.
        vers: String,
        /// Unyank.
        undo: bool,
    },
    /// `cargo confirm-gui owner`.
    Owners {
        /// Crate name.
        name: String,
        /// What is asked.
        change: OwnerChange,
    },
}

/// What an owners request of the helper's does.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OwnerChange {
    /// List the owners.
    List,
    /// Invite these logins as owners.
    Add(Vec<String>),
    /// Remove these logins.
    Remove(Vec<String>),
}

/// A change to the store: no token leaves it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum StoreChange {
    /// `cargo login`; `token_given` is false when cargo sent no token (the enroll window opens).
    Login {
        /// cargo passed a token (argument or stdin).
        token_given: bool,
        /// The person ran `cargo-confirm-gui --enroll`, not cargo: logged as "enroll".
        enroll: bool,
    },
    /// `cargo logout`.
    Logout,
    /// `cargo confirm-gui setup`: tokens found in clear text, to be moved into the store and
    /// their clear copies removed.
    Adopt {
        /// What was found, with no secret: the window shows fingerprints.
        tokens: Vec<AdoptItem>,
    },
    /// `--migrate`: move the token from the Secret Service into the sealed store.
    Migrate,
}

/// One clear-text token of a [`StoreChange::Adopt`], as the window shows it.
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

/// One crate of a [`HelperRequest::Publish`].
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
    /// cargo (`evidence::cargo`). The store's changes release nothing; `get` outside cargo
    /// prints to its caller and says so in red.
    pub(crate) fn releases_to_cargo(&self) -> bool {
        matches!(self, Operation::Cargo(_))
    }

    /// Whether the person ran this from a shell, as one of the helper's own commands
    /// (publish, yank, owner, setup, `--migrate`): who ran it is not cargo, by design.
    pub(crate) fn run_by_the_person(&self) -> bool {
        matches!(
            self,
            Operation::Helper(_)
                | Operation::Store(StoreChange::Adopt { .. } | StoreChange::Migrate)
        )
    }

    /// Short lowercase name for logs and window titles.
    pub(crate) fn verb(&self) -> &'static str {
        match self {
            Operation::Cargo(CargoRequest::Read { .. }) => "read",
            Operation::Cargo(CargoRequest::Publish { .. })
            | Operation::Helper(HelperRequest::Publish { .. }) => "publish",
            Operation::Cargo(CargoRequest::Yank { undo: false, .. })
            | Operation::Helper(HelperRequest::Yank { undo: false, .. }) => "yank",
            Operation::Cargo(CargoRequest::Yank { undo: true, .. })
            | Operation::Helper(HelperRequest::Yank { undo: true, .. }) => "unyank",
            Operation::Cargo(CargoRequest::Owners { .. })
            | Operation::Helper(HelperRequest::Owners { .. }) => "owners",
            Operation::Store(StoreChange::Login { enroll: true, .. }) => "enroll",
            Operation::Store(StoreChange::Login { .. }) => "login",
            Operation::Store(StoreChange::Logout) => "logout",
            Operation::Store(StoreChange::Adopt { .. }) => "setup",
            Operation::Store(StoreChange::Migrate) => "migrate",
            Operation::Caller => "get",
            Operation::Unknown => "unknown",
        }
    }

    /// The crate name and version of a yank or an unyank, cargo's or the helper's, and
    /// whether it is an unyank.
    pub(crate) fn yank(&self) -> Option<(&str, &str, bool)> {
        match self {
            Operation::Cargo(CargoRequest::Yank { name, vers, undo })
            | Operation::Helper(HelperRequest::Yank { name, vers, undo }) => {
                Some((name, vers, *undo))
            }
            _ => None,
        }
    }

    /// "publish of foo 1.2.3 to REGISTRY", for messages.
    pub(crate) fn describe(&self, registry: &str) -> String {
        if let Some((name, vers, undo)) = self.yank() {
            let verb = if undo { "unyank" } else { "yank" };
            return format!("{verb} of {name} {vers} on {registry}");
        }
        match self {
            Operation::Cargo(CargoRequest::Publish { name, vers, .. }) => {
                format!("publish of {name} {vers} to {registry}")
            }
            Operation::Helper(HelperRequest::Publish { crates }) => format!(
                "publish of {} to {registry}",
                crates
                    .iter()
                    .map(|c| format!("{} {}", c.name, c.vers))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Operation::Cargo(CargoRequest::Owners { name })
            | Operation::Helper(HelperRequest::Owners { name, .. }) => {
                format!("owner change for {name} on {registry}")
            }
            Operation::Cargo(CargoRequest::Read { .. }) => format!("read from {registry}"),
            Operation::Store(StoreChange::Login { .. }) => {
                format!("storing a token for {registry}")
            }
            Operation::Store(StoreChange::Logout) => {
                format!("removing the token for {registry}")
            }
            Operation::Store(StoreChange::Adopt { tokens }) => {
                format!("moving {} clear-text token(s) into the store", tokens.len())
            }
            Operation::Store(StoreChange::Migrate) => {
                format!("moving the token for {registry} into the sealed store")
            }
            Operation::Caller => format!("token request for {registry}"),
            Operation::Cargo(CargoRequest::Yank { .. })
            | Operation::Helper(HelperRequest::Yank { .. })
            | Operation::Unknown => format!("request for {registry}"),
        }
    }

    /// The crate, version and checksum the audit log keeps for this operation.
    pub(crate) fn detail(&self) -> String {
        if let Some((name, vers, _)) = self.yank() {
            return format!("{name} {vers}");
        }
        match self {
            Operation::Cargo(CargoRequest::Publish { name, vers, cksum }) => {
                format!("{name} {vers} sha256:{cksum}")
            }
            Operation::Helper(HelperRequest::Publish { crates }) => crates
                .iter()
                .map(|c| format!("{} {} sha256:{}", c.name, c.vers, c.cksum))
                .collect::<Vec<_>>()
                .join(", "),
            Operation::Cargo(CargoRequest::Owners { name }) => name.clone(),
            Operation::Helper(HelperRequest::Owners { name, change }) => {
                format!("{name} {change:?}")
            }
            _ => String::new(),
        }
    }
}
