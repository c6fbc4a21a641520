//! The administrator's policy file, `/etc/cargo-confirm-gui/policy.toml`: the only place
//! where a default may be loosened.
//!
//! A worm running as the user writes cargo's config, the environment, the request line and
//! the command line; none of those can loosen anything. This file can, so the helper uses it
//! only when root owns it and nobody else can write it or any directory above it. An unsafe
//! file refuses the request (with the command that fixes it) rather than being ignored, so
//! an administrator notices.
//!
//! ```toml
//! [display]
//! # Display servers trusted by executable path, beyond the built-in rule. Every copy of
//! # the program is trusted, one a worm starts included: see README, "Which screen".
//! trusted-servers = ["/usr/bin/Xvnc"]
//! # wlroots compositors (sway, Hyprland) let any client drive a virtual pointer and
//! # keyboard; allowing them lets a worm click Approve there.
//! allow-virtual-input = false
//!
//! [requests]
//! # Authenticated reads from private registries without a window (default "prompt").
//! read = "prompt"
//! # Seconds after a Deny during which requests are refused without a window (default 30);
//! # cargo's config may only raise it.
//! cooldown = 30
//!
//! [publish]
//! # A commit no remote-tracking ref reaches (as of the last fetch) blocks Approve.
//! require-pushed = false
//! # A .crate whose files are not the commit's bytes, or packaged with --allow-dirty, blocks
//! # Approve.
//! require-clean = false
//! # Who holds which SSH signing key: "principal key-type base64", as in git's
//! # allowed-signers file. Only this list names a signer; nothing in the repository does.
//! allowed-signers = ["you@example.com ssh-ed25519 AAAAC3Nza..."]
//! # A commit not signed (SSH) by a key in allowed-signers blocks Approve.
//! require-signed = false
//! ```

use std::path::{Path, PathBuf};

/// Where the policy file lives. Fixed at build time: nothing the caller supplies moves it.
pub const PATH: &str = "/etc/cargo-confirm-gui/policy.toml";

/// What the administrator allowed. The default allows nothing beyond the built-in rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Display-server rules.
    #[serde(default)]
    pub display: DisplayPolicy,
    /// What requests may ask for.
    #[serde(default)]
    pub requests: Requests,
    /// What a publish's provenance must show.
    #[serde(default)]
    pub publish: PublishRules,
}

/// `[publish]`: provenance as a gate, not only evidence. Where provenance cannot be decided
/// (no VCS info, no repository, past its time bound), a rule that asks for it blocks: what is
/// not known to be pushed is not pushed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PublishRules {
    /// The commit must be reachable from a remote-tracking ref.
    #[serde(default)]
    pub require_pushed: bool,
    /// Every file must be the commit's bytes, and cargo must not have packaged a dirty tree.
    #[serde(default)]
    pub require_clean: bool,
    /// The commit must carry a valid SSH signature by a key in `allowed_signers`.
    #[serde(default)]
    pub require_signed: bool,
    /// "principal key-type base64 \[comment\]": who holds which SSH signing key.
    #[serde(default)]
    pub allowed_signers: Vec<String>,
}

/// Why `require-clean` blocks a `.crate` with this provenance, if it does.
fn not_clean(p: &crate::package::Provenance) -> Option<String> {
    let n = p.differs.len() + p.untracked.len();
    if n > 0 {
        return Some(format!("{n} file(s) are not the commit's bytes"));
    }
    if p.dirty {
        return Some("cargo packaged a working tree with uncommitted changes".into());
    }
    p.unverified
        .first()
        .map(|what| format!("not compared with the commit: {what}"))
}

impl PublishRules {
    /// Each allowed signer as (principal, SHA-256 fingerprint of the key), or why a line
    /// cannot be read.
    pub fn signers(&self) -> Result<Vec<(String, String)>, SignerError> {
        self.allowed_signers
            .iter()
            .map(|line| {
                let mut parts = line.trim().splitn(2, char::is_whitespace);
                let principal = parts.next().unwrap_or_default().to_string();
                let key = parts.next().unwrap_or_default().trim();
                let key = ssh_key::PublicKey::from_openssh(key).map_err(|source| SignerError {
                    line: line.clone(),
                    source,
                })?;
                Ok((
                    principal,
                    key.fingerprint(ssh_key::HashAlg::Sha256).to_string(),
                ))
            })
            .collect()
    }

    /// Who holds the key with this fingerprint, by `allowed_signers`.
    pub fn signer_of(&self, fingerprint: &str) -> Option<String> {
        self.signers()
            .ok()?
            .into_iter()
            .find(|(_, f)| f == fingerprint)
            .map(|(p, _)| p)
    }

    /// Why these rules block Approve for a `.crate` with this provenance, if they do.
    pub fn refuses(&self, p: Option<&crate::package::Provenance>) -> Option<String> {
        if !self.require_pushed && !self.require_clean && !self.require_signed {
            return None;
        }
        let rule = |name: &str, why: String| {
            format!("the administrator's policy ({PATH}, {name} = true) blocks Approve: {why}")
        };
        let which = if self.require_pushed {
            "require-pushed"
        } else if self.require_clean {
            "require-clean"
        } else {
            "require-signed"
        };
        let Some(p) = p else {
            return Some(rule(which, "the .crate's source was not checked".into()));
        };
        if p.missing_commit {
            return Some(rule(
                which,
                "the commit it names is not in your repository".into(),
            ));
        }
        if p.forged.is_some() {
            return Some(rule(
                which,
                "the repository was rewritten under the commit's id".into(),
            ));
        }
        if !p.checked {
            let why = p.why_not.as_deref().unwrap_or("not checked");
            return Some(rule(
                which,
                format!("where the bytes came from is not known ({why})"),
            ));
        }
        if self.require_clean
            && let Some(why) = not_clean(p)
        {
            return Some(rule("require-clean", why));
        }
        if self.require_pushed && p.on_remote != Some(true) {
            return Some(rule(
                "require-pushed",
                "no remote has the commit, as of your last fetch".into(),
            ));
        }
        if self.require_signed {
            let signed_by = p
                .signature
                .as_ref()
                .filter(|s| s.valid == Some(true))
                .and_then(|s| s.signer.as_ref());
            if signed_by.is_none() {
                let why = match &p.signature {
                    None => "the commit is not signed".to_string(),
                    Some(s) if s.valid == Some(true) => format!(
                        "the commit is signed with {}, a key allowed-signers does not name",
                        s.key.as_deref().unwrap_or("a key")
                    ),
                    Some(s) => s
                        .why_not
                        .clone()
                        .unwrap_or_else(|| "the signature does not verify".into()),
                };
                return Some(rule("require-signed", why));
            }
        }
        None
    }
}

/// How to answer authenticated reads (`read` under `[requests]`, and `--read=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ReadPolicy {
    /// Open the window for each authenticated read (cached for the cargo session).
    #[default]
    Prompt,
    /// Release read tokens without a window (private registries where reads are routine).
    Allow,
}

/// `[requests]`: the most a request's options may ask for. Options in cargo's config (and
/// so in a request) may only tighten these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Requests {
    /// Authenticated reads without a window.
    #[serde(default)]
    pub(crate) read: ReadPolicy,
    /// The cooldown after a Deny, in seconds: requests may only raise it.
    #[serde(default = "default_cooldown")]
    pub(crate) cooldown: u64,
    /// Whether `cargo-confirm-gui get` may print a token of the sealed store to a pipe (after
    /// a window). Off by default: that window cannot say what the token will be used for,
    /// and the pipe's reader may be any program of the user's.
    #[serde(default)]
    pub(crate) sealed_get: bool,
    /// Whether cargo's own publish, yank and owners requests (provider mode, where the token
    /// goes to cargo) are served at all, or only the helper's (`cargo confirm-gui publish`,
    /// `yank`, `owner`), which keep the token in the helper.
    #[serde(default)]
    pub(crate) provider_mutations: ProviderMutations,
}

/// `provider-mutations` under `[requests]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderMutations {
    /// Served, after the window (the default: private registries and git indexes need it).
    #[default]
    Allow,
    /// Refused, naming the helper's own command: the local "trusted publishing only".
    Refuse,
}

fn default_cooldown() -> u64 {
    30
}

impl Default for Requests {
    fn default() -> Self {
        Requests {
            read: ReadPolicy::Prompt,
            cooldown: default_cooldown(),
            sealed_get: false,
            provider_mutations: ProviderMutations::Allow,
        }
    }
}

/// `[display]`: which display servers a window may open on.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DisplayPolicy {
    /// Executables trusted as the person's display server whoever runs them.
    #[serde(default)]
    pub(crate) trusted_servers: Vec<PathBuf>,
    /// Allow compositors that offer clients virtual-pointer or virtual-keyboard protocols.
    #[serde(default)]
    pub(crate) allow_virtual_input: bool,
}

/// An `allowed-signers` line that is not an OpenSSH public key.
#[derive(Debug, thiserror::Error)]
#[error("allowed-signers: {line:?} is not \"principal key-type base64\": {source}")]
pub struct SignerError {
    /// The line as written.
    pub line: String,
    /// What the key parser said.
    #[source]
    pub source: ssh_key::Error,
}

/// Why the policy file cannot be used: the helper then refuses every request, with this
/// message (the `Display`), rather than run on the default.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file exists but cannot be read.
    #[error("cannot read the policy file {}: {source}", path.display())]
    Read {
        /// The policy file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The file or a directory above it cannot be examined.
    #[error("{source}")]
    Inspect {
        /// The path that could not be examined.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The file or a directory above it is not root's alone.
    #[error(
        "the policy file {} is refused: {} must be owned by root and writable by nobody \
         else, or a program running as you could loosen the policy. Fix: sudo chown root {} \
         && sudo chmod go-w {}",
        path.display(),
        culprit.display(),
        culprit.display(),
        culprit.display()
    )]
    NotRoots {
        /// The policy file.
        path: PathBuf,
        /// The file itself, or the directory above it that others can change.
        culprit: PathBuf,
    },
    /// The file is not valid TOML, or has a key this version does not know.
    #[error("the policy file {} is malformed: {}", path.display(), source.message())]
    Malformed {
        /// The policy file.
        path: PathBuf,
        /// What the TOML parser said.
        #[source]
        source: toml::de::Error,
    },
    /// An `allowed-signers` line is not a key.
    #[error("the policy file {}: {source}", path.display())]
    Signer {
        /// The policy file.
        path: PathBuf,
        /// The bad line.
        #[source]
        source: SignerError,
    },
    /// `cooldown` is above its bound.
    #[error("the policy file {}: cooldown must be at most 3600 seconds", path.display())]
    Cooldown {
        /// The policy file.
        path: PathBuf,
    },
}

impl Policy {
    /// Reads [`PATH`]. No file is the default policy.
    pub fn load() -> Result<Policy, PolicyError> {
        Policy::load_from(Path::new(PATH))
    }

    /// Reads a policy file at `path` with the same checks as [`Policy::load`] (tests use
    /// other paths; the binary only ever reads [`PATH`]).
    fn load_from(path: &Path) -> Result<Policy, PolicyError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Policy::default()),
            Err(source) => {
                return Err(PolicyError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        #[cfg(unix)]
        check_owner(path)?;
        let policy: Policy = toml::from_str(&text).map_err(|source| PolicyError::Malformed {
            path: path.to_path_buf(),
            source,
        })?;
        policy
            .publish
            .signers()
            .map_err(|source| PolicyError::Signer {
                path: path.to_path_buf(),
                source,
            })?;
        if policy.requests.cooldown > 3600 {
            return Err(PolicyError::Cooldown {
                path: path.to_path_buf(),
            });
        }
        Ok(policy)
    }
}

/// The file and every directory above it: owned by root, writable by nobody else (a sticky
/// directory such as `/tmp` is fine for a directory: only the entry's owner can rename it).
#[cfg(unix)]
fn check_owner(path: &Path) -> Result<(), PolicyError> {
    use std::os::unix::fs::MetadataExt;
    let fix = |p: &Path| PolicyError::NotRoots {
        path: path.to_path_buf(),
        culprit: p.to_path_buf(),
    };
    let inspect = |p: &Path| {
        let p = p.to_path_buf();
        move |source| PolicyError::Inspect { path: p, source }
    };
    let m = std::fs::symlink_metadata(path).map_err(inspect(path))?;
    if !m.file_type().is_file() || m.uid() != 0 || m.mode() & 0o022 != 0 {
        return Err(fix(path));
    }
    for dir in path.ancestors().skip(1) {
        if dir.as_os_str().is_empty() {
            continue;
        }
        let m = std::fs::symlink_metadata(dir).map_err(inspect(dir))?;
        let sticky = m.mode() & 0o1000 != 0;
        if m.uid() != 0 || (m.mode() & 0o022 != 0 && !sticky) {
            return Err(fix(dir));
        }
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn no_file_is_the_strict_default() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(
            Policy::load_from(&d.path().join("policy.toml")).unwrap(),
            Policy::default()
        );
        assert!(Policy::default().display.trusted_servers.is_empty());
        assert!(!Policy::default().display.allow_virtual_input);
    }

    #[test]
    fn a_file_others_can_write_is_refused_with_the_fix() {
        if !rustix::process::getuid().is_root() {
            return; // a root-owned file cannot be made; the e2e test covers the refusal
        }
        let d = tempfile::tempdir().unwrap();
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let f = d.path().join("policy.toml");
        std::fs::write(
            &f,
            "[display]\ntrusted-servers = [\"/usr/bin/Xvnc\"]\nallow-virtual-input = true\n",
        )
        .unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let p = Policy::load_from(&f).unwrap();
        assert_eq!(
            p.display.trusted_servers,
            vec![PathBuf::from("/usr/bin/Xvnc")]
        );
        assert!(p.display.allow_virtual_input);
        for mode in [0o666, 0o664, 0o646] {
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode)).unwrap();
            let e = Policy::load_from(&f).unwrap_err().to_string();
            assert!(e.contains("is refused") && e.contains("chmod go-w"), "{e}");
        }
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = Policy::load_from(&f).unwrap_err().to_string();
        assert!(e.contains(&d.path().display().to_string()), "{e}");
    }

    #[test]
    fn unknown_keys_are_an_error_not_ignored() {
        // A typo must not silently leave the default in place while the admin believes
        // otherwise, nor pass for a setting this version does not have.
        let e = toml::from_str::<Policy>("[display]\ntrusted-server = []\n").unwrap_err();
        assert!(e.message().contains("unknown field"), "{}", e.message());
        let e = toml::from_str::<Policy>("[publish]\nrequire-push = true\n").unwrap_err();
        assert!(e.message().contains("unknown field"), "{}", e.message());
        let p: Policy = toml::from_str("[publish]\nrequire-pushed = true\n").unwrap();
        assert!(p.publish.require_pushed && !p.publish.require_clean);
    }
}
