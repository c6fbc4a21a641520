//! Where did these bytes come from: the `.crate` against the commit it names.
//!
//! cargo writes `.cargo_vcs_info.json` into the `.crate`: the commit (`git.sha1`), whether
//! the working tree was `dirty`, and the package's `path_in_vcs`. The repository the
//! requester works in is read **as data**, with gix: its objects and its refs, never its
//! working tree, and nothing its configuration names (no hooks, `core.fsmonitor`, filters,
//! textconv, external diff, includes; the configuration is opened isolated from the
//! environment and the system's and user's files). No program is run. A repository that
//! borrows objects from elsewhere (`objects/info/alternates`) is not read. Every object the
//! verdict rests on (the commit and each tree on the way to a file) is hashed again and
//! checked against its id, and replace refs (`refs/replace/`) are switched off: git's object
//! store trusts a file's name, so a loose object rewritten in place would otherwise stand in
//! for the commit the `.crate` names. The read runs on a
//! thread of its own with a time bound; past it, the window says "not checked", never
//! "matches".
//!
//! - **Same bytes as the commit**: each file of the `.crate` is compared by git's blob id
//!   (computed while the archive is listed) with the file at `path_in_vcs/` in the commit's
//!   tree. Exceptions: cargo's normalised `Cargo.toml` (its `Cargo.toml.orig` must match the
//!   commit's `Cargo.toml` instead), a generated `Cargo.lock`, and `.cargo_vcs_info.json`.
//!   A file that differs, or that the commit does not track, is named.
//! - **Pushed or local only**: whether a remote-tracking ref (as of the last fetch) reaches
//!   the commit; if not, how many commits only this clone has, and the newest one's age,
//!   author and committer.
//! - **Signed**: an SSH signature (`gpg.format = ssh`) is verified here, in-process, over the
//!   commit, with the key it names (Ed25519, ECDSA P-256, and their security-key forms); who
//!   holds that key is what the root policy's `allowed-signers` says, nothing the repository
//!   or the user's files say. OpenPGP and X.509 signatures would need a keyring or a program:
//!   they are named, not verified.

use std::path::Path;
use std::time::Duration;

use super::archive::{Contents, Kind};

mod repository;
mod signature;

use repository::{Packaged, inherits_from_a_workspace, read_repository};
pub use signature::{Signature, verify_signature};

/// How long the repository may take to read before the window says "not checked".
pub const BUDGET: Duration = Duration::from_secs(2);

/// What the repository says about the bytes of a `.crate`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Provenance {
    /// Whether the check ran to its end.
    pub checked: bool,
    /// Why it did not (no VCS info, no repository, took too long, …).
    pub why_not: Option<String>,
    /// The commit `.cargo_vcs_info.json` names (hex).
    pub commit: Option<String>,
    /// cargo packaged from a working tree with changes (`--allow-dirty`).
    pub dirty: bool,
    /// The package's directory in the repository.
    pub path_in_vcs: String,
    /// Files in the `.crate` whose bytes differ from the commit's.
    pub differs: Vec<String>,
    /// Files in the `.crate` the commit does not track.
    pub untracked: Vec<String>,
    /// Packages the `.crate`'s `Cargo.lock` pins that the commit's `Cargo.lock` does not
    /// ("itoa 1.0.18"): cargo packages the working tree's lock.
    #[serde(default)]
    pub lock_changes: Vec<String>,
    /// What could not be compared with the commit, though the files match: values the
    /// manifest takes from the workspace's `Cargo.toml` (`workspace = true`), which cargo
    /// reads from the working tree and does not check for changes; a lock too large to hold.
    #[serde(default)]
    pub unverified: Vec<String>,
    /// The commit is not in the repository at all.
    pub missing_commit: bool,
    /// An object the check needed whose bytes do not hash to its id: the repository was
    /// rewritten under the commit's name (the object's id).
    #[serde(default)]
    pub forged: Option<String>,
    /// Whether a remote-tracking ref reaches the commit (`None`: not known).
    pub on_remote: Option<bool>,
    /// One remote-tracking ref that does ("origin/main").
    pub remote_ref: Option<String>,
    /// The repository has no remote-tracking ref at all.
    pub no_remote: bool,
    /// When the commit is local only: the commits no remote-tracking ref reaches.
    pub local_only: Option<LocalOnly>,
    /// The commit carries a signature.
    pub signed: bool,
    /// What its signature says, when it has one.
    #[serde(default)]
    pub signature: Option<Signature>,
}

/// The commits only this clone has.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LocalOnly {
    /// How many (up to the walk's bound).
    pub commits: u32,
    /// The newest one's committer time, seconds since the epoch.
    pub newest_time: i64,
    /// Its author.
    pub author: String,
    /// Its committer.
    pub committer: String,
}

/// How a provenance line reads: its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Matches, pushed.
    Good,
    /// Worth a look: not checked, local only, no VCS info.
    Look,
    /// Bytes that are not the commit's.
    Bad,
}

impl Provenance {
    fn not_checked(why: impl Into<String>) -> Provenance {
        Provenance {
            why_not: Some(why.into()),
            ..Default::default()
        }
    }

    fn short_commit(&self) -> String {
        self.commit
            .as_deref()
            .map(|c| c.chars().take(7).collect())
            .unwrap_or_default()
    }

    /// Whether any byte of the `.crate` is not the commit's (or the commit is not there).
    pub fn mismatched(&self) -> bool {
        self.missing_commit
            || self.forged.is_some()
            || !self.differs.is_empty()
            || !self.untracked.is_empty()
            || !self.lock_changes.is_empty()
    }

    /// The one line the window shows first, and its tone.
    pub fn verdict(&self, now: i64) -> (Tone, String) {
        if let Some(object) = &self.forged {
            return (
                Tone::Bad,
                format!(
                    "commit {}: the repository was rewritten (object {} is not what its id \
                     says): these bytes cannot be traced",
                    self.short_commit(),
                    object.chars().take(7).collect::<String>()
                ),
            );
        }
        let Some(why) = &self.why_not else {
            return self.checked_verdict(now);
        };
        if self.commit.is_none() {
            return (Tone::Look, why.clone());
        }
        // What was found before the check stopped still counts against the bytes.
        let n = self.differs.len() + self.untracked.len();
        if n > 0 {
            return (
                Tone::Bad,
                format!(
                    "{n} file{} differ{} from commit {}; not known whether pushed ({why})",
                    if n == 1 { "" } else { "s" },
                    if n == 1 { "s" } else { "" },
                    self.short_commit()
                ),
            );
        }
        (
            Tone::Look,
            format!("commit {}: not checked ({why})", self.short_commit()),
        )
    }

    fn checked_verdict(&self, now: i64) -> (Tone, String) {
        let c = self.short_commit();
        if self.missing_commit {
            return (
                Tone::Bad,
                format!("commit {c} is not in your repository: these bytes cannot be traced"),
            );
        }
        let n = self.differs.len() + self.untracked.len();
        let place = match (&self.on_remote, &self.local_only) {
            (Some(true), _) => match &self.remote_ref {
                Some(r) => format!("pushed to {r} as of your last fetch"),
                None => "pushed as of your last fetch".into(),
            },
            (_, Some(l)) => format!(
                "local only: {} commit{} no remote has, the newest committed {} by {}",
                l.commits,
                if l.commits == 1 { "" } else { "s" },
                ago(now - l.newest_time),
                crate::text::escape(&l.committer).text
            ),
            _ if self.no_remote => "local only: the repository has no remote".into(),
            _ => "not known whether pushed".into(),
        };
        if n > 0 {
            return (
                Tone::Bad,
                format!(
                    "{n} file{} differ{} from commit {c} ({place})",
                    if n == 1 { "" } else { "s" },
                    if n == 1 { "s" } else { "" }
                ),
            );
        }
        if !self.unverified.is_empty() {
            return (
                Tone::Look,
                format!(
                    "same files as commit {c}, {place}; not compared with it: {}",
                    self.unverified.join("; ")
                ),
            );
        }
        let tone = if self.on_remote == Some(true) {
            Tone::Good
        } else {
            Tone::Look
        };
        (tone, format!("same files as commit {c}, {place}"))
    }

    /// One line for the audit log.
    pub fn summary(&self) -> String {
        self.verdict(now()).1
    }

    /// The audit record's `provenance` object.
    pub fn record(&self) -> serde_json::Value {
        serde_json::json!({
            "checked": self.checked,
            "why_not": self.why_not,
            "commit": self.commit,
            "on_remote": self.on_remote,
            "remote_ref": self.remote_ref,
            "dirty": self.dirty,
            "differs": self.differs,
            "untracked": self.untracked,
            "lock_changes": self.lock_changes,
            "unverified": self.unverified,
            "missing_commit": self.missing_commit,
            "forged": self.forged,
            "local_only": self.local_only.as_ref().map(|l| serde_json::json!({
                "commits": l.commits,
                "newest_time": l.newest_time,
                "author": l.author,
                "committer": l.committer,
            })),
            "signed": self.signed,
            "signature": self.signature.as_ref().map(|s| serde_json::json!({
                "format": s.format,
                "valid": s.valid,
                "key": s.key,
                "signer": s.signer,
            })),
        })
    }
}

/// "3 min ago", "2 days ago".
fn ago(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s} s ago"),
        60..3600 => format!("{} min ago", s / 60),
        3600..86400 => format!("{} h ago", s / 3600),
        _ => format!("{} days ago", s / 86400),
    }
}

/// Now, in seconds since the epoch.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `.cargo_vcs_info.json` as cargo writes it.
#[derive(serde::Deserialize)]
struct VcsInfo {
    git: Option<GitInfo>,
    #[serde(default)]
    path_in_vcs: String,
}

#[derive(serde::Deserialize)]
struct GitInfo {
    sha1: String,
    #[serde(default)]
    dirty: bool,
}

/// Checks `contents` against the commit it names, in the repository at or above `start`,
/// within `budget`.
pub fn check(start: Option<&Path>, contents: &Contents, budget: Duration) -> Provenance {
    let Some(text) = contents.texts.get(".cargo_vcs_info.json") else {
        return Provenance::not_checked(
            "no VCS info in the .crate: packaged outside a git repository, or with \
             --allow-dirty and no git",
        );
    };
    let info: VcsInfo = match serde_json::from_str(text) {
        Ok(i) => i,
        Err(e) => {
            return Provenance::not_checked(format!(".cargo_vcs_info.json cannot be read: {e}"));
        }
    };
    let Some(git) = info.git else {
        return Provenance::not_checked(".cargo_vcs_info.json names no git commit");
    };
    let mut base = Provenance {
        commit: Some(git.sha1.clone()),
        dirty: git.dirty,
        path_in_vcs: info.path_in_vcs.clone(),
        ..Default::default()
    };
    if !(git.sha1.len() == 40 && git.sha1.bytes().all(|b| b.is_ascii_hexdigit())) {
        base.why_not = Some("the commit named is not 40 hex digits".into());
        return base;
    }
    let Some(start) = start.map(Path::to_path_buf) else {
        base.why_not = Some("no directory to look for the repository in".into());
        return base;
    };
    let files: Vec<(String, [u8; 20])> = contents
        .files
        .iter()
        .filter(|f| f.kind == Kind::File)
        .filter_map(|f| f.git.map(|g| (f.path.clone(), g)))
        .collect();
    if let Some(orig) = contents.texts.get("Cargo.toml.orig")
        && inherits_from_a_workspace(orig, &base.path_in_vcs)
    {
        base.unverified.push(
            "values this crate takes from the workspace's Cargo.toml (`workspace = true`)".into(),
        );
    }
    let packaged_lock = contents.texts.get("Cargo.lock").cloned();
    if packaged_lock.is_none() && files.iter().any(|(f, _)| f == "Cargo.lock") {
        base.unverified
            .push("Cargo.lock (larger than the window reads)".into());
    }
    let files = Packaged {
        files,
        lock: packaged_lock,
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let job = base.clone();
    std::thread::spawn(move || {
        // The repository is the worm's ground: read it without the helper's group.
        #[cfg(target_os = "linux")]
        if crate::sealed::drop_for_good_on_this_thread().is_err() {
            return;
        }
        let _ = tx.send(read_repository(&start, job, &files));
    });
    match rx.recv_timeout(budget) {
        Ok(p) => p,
        Err(_) => {
            base.why_not = Some(format!(
                "the repository took longer than {} s to read",
                budget.as_secs()
            ));
            base
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PublishRules;

    const NOW: i64 = 1_800_000_000;

    fn matching() -> Provenance {
        Provenance {
            checked: true,
            commit: Some("1a2b3c4d".repeat(5)),
            on_remote: Some(true),
            remote_ref: Some("origin/main".into()),
            ..Default::default()
        }
    }

    #[test]
    fn the_verdict_line_says_what_a_person_must_know_first() {
        assert_eq!(
            matching().verdict(NOW),
            (
                Tone::Good,
                "same files as commit 1a2b3c4, pushed to origin/main as of your last fetch".into()
            )
        );
        let local = Provenance {
            on_remote: Some(false),
            remote_ref: None,
            differs: vec!["src/lib.rs".into(), "build.rs".into()],
            local_only: Some(LocalOnly {
                commits: 1,
                newest_time: NOW - 180,
                author: "Worm".into(),
                committer: "Worm\u{202e}".into(),
            }),
            ..matching()
        };
        let (tone, line) = local.verdict(NOW);
        assert_eq!(tone, Tone::Bad);
        assert!(
            line.starts_with("2 files differ from commit 1a2b3c4 (local only: 1 commit"),
            "{line}"
        );
        assert!(line.contains("3 min ago"), "{line}");
        // A committer's name is the repository's (the worm's) text: escaped.
        assert!(!line.contains('\u{202e}'), "{line}");
        // Not pushed, but the same bytes: worth a look, never green.
        let clean_local = Provenance {
            differs: vec![],
            ..local
        };
        assert_eq!(clean_local.verdict(NOW).0, Tone::Look);
    }

    #[test]
    fn not_checked_is_never_a_match_but_what_was_found_still_counts() {
        let stopped = Provenance {
            checked: false,
            why_not: Some("the repository took longer than 2 s to read".into()),
            on_remote: None,
            remote_ref: None,
            ..matching()
        };
        let (tone, line) = stopped.verdict(NOW);
        assert_eq!(tone, Tone::Look);
        assert!(
            line.contains("not checked") && !line.contains("same"),
            "{line}"
        );
        let found = Provenance {
            untracked: vec!["src/evil.rs".into()],
            ..stopped
        };
        assert_eq!(found.verdict(NOW).0, Tone::Bad);
    }

    #[test]
    fn a_rewritten_object_is_red_whatever_else_was_found() {
        let p = Provenance {
            forged: Some("1a2b3c4d".repeat(5)),
            ..matching()
        };
        let (tone, line) = p.verdict(NOW);
        assert_eq!(tone, Tone::Bad);
        assert!(line.contains("repository was rewritten"), "{line}");
        assert!(!line.contains("same files"), "{line}");
        assert!(p.mismatched());
        for rules in [
            PublishRules {
                require_clean: true,
                ..Default::default()
            },
            PublishRules {
                require_signed: true,
                ..Default::default()
            },
        ] {
            assert!(rules.refuses(Some(&p)).is_some());
        }
    }

    #[test]
    fn the_policy_blocks_what_it_cannot_vouch_for() {
        let both = PublishRules {
            require_pushed: true,
            require_clean: true,
            ..Default::default()
        };
        let pushed = PublishRules {
            require_pushed: true,
            require_clean: false,
            ..Default::default()
        };
        let clean = PublishRules {
            require_pushed: false,
            require_clean: true,
            ..Default::default()
        };
        assert_eq!(PublishRules::default().refuses(None), None);
        assert_eq!(both.refuses(Some(&matching())), None);
        // What is not known to be pushed is not pushed.
        for p in [
            None,
            Some(Provenance::not_checked("no VCS info in the .crate")),
            Some(Provenance {
                missing_commit: true,
                ..matching()
            }),
            Some(Provenance {
                forged: Some("1a2b3c4d".repeat(5)),
                ..matching()
            }),
            Some(Provenance {
                on_remote: Some(false),
                ..matching()
            }),
            Some(Provenance {
                on_remote: None,
                ..matching()
            }),
        ] {
            let why = pushed.refuses(p.as_ref()).expect("blocked");
            assert!(why.contains("require-pushed = true"), "{why}");
        }
        // Local only but clean: only require-pushed minds.
        let local = Provenance {
            on_remote: Some(false),
            ..matching()
        };
        assert_eq!(clean.refuses(Some(&local)), None);
        for p in [
            Provenance {
                dirty: true,
                ..matching()
            },
            Provenance {
                differs: vec!["build.rs".into()],
                ..matching()
            },
            Provenance {
                untracked: vec!["src/x.rs".into()],
                ..matching()
            },
        ] {
            assert_eq!(pushed.refuses(Some(&p)), None);
            let why = clean.refuses(Some(&p)).expect("blocked");
            assert!(why.contains("require-clean = true"), "{why}");
        }
    }

    /// Made with `ssh-keygen -Y sign -n git` (and `-n file`) over [`SIGNED`], by [`KEY`].
    const SIGNED: &str = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor You <you@example.com> 1700000000 +0000\ncommitter You <you@example.com> 1700000000 +0000\n\nsigned\n";
    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMxlxdG3KeJzN9ecykgZQhC4taWETnmdgXlsHyydUV5c person";
    const FINGERPRINT: &str = "SHA256:9hbQghcvbUVIKUuQILkukFdW200t2IXx4D7AdTiYwt4";
    const GIT_SIG: &str = "-----BEGIN SSH SIGNATURE-----
U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgzGXF0bcp4nM315zKSBlCELi1pY
ROeZ2BeWwfLJ1RXlwAAAADZ2l0AAAAAAAAAAZzaGE1MTIAAABTAAAAC3NzaC1lZDI1NTE5
AAAAQH16Up+9PqAh+v4nQwtdmnAG844yB2VWStx5OdCkJromG9mWlcOQ+4PYiEyPa0Q3JC
778xJcRtuvN8EI+7RL9AU=
-----END SSH SIGNATURE-----\n";
    const FILE_SIG: &str = "-----BEGIN SSH SIGNATURE-----
U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgzGXF0bcp4nM315zKSBlCELi1pY
ROeZ2BeWwfLJ1RXlwAAAAEZmlsZQAAAAAAAAAGc2hhNTEyAAAAUwAAAAtzc2gtZWQyNTUx
OQAAAEDQOMZTTu7e2OeHQ5YzCnL9cgGGHULVpjRxSDnCx6ge+OqeTAHPclyU8YKAlCx8ue
JVGl+0e0o1RU/LNEXe3fMJ
-----END SSH SIGNATURE-----\n";

    #[test]
    fn an_ssh_signature_is_verified_in_process_and_named_only_by_the_policy() {
        let s = verify_signature(GIT_SIG.as_bytes(), SIGNED.as_bytes());
        assert_eq!(s.format, "ssh");
        assert_eq!(s.valid, Some(true), "{s:?}");
        assert_eq!(s.key.as_deref(), Some(FINGERPRINT));
        // One byte of the commit changed: bad.
        let tampered = SIGNED.replace("signed", "signeD");
        let s = verify_signature(GIT_SIG.as_bytes(), tampered.as_bytes());
        assert_eq!(s.valid, Some(false), "{s:?}");
        assert!(s.why_not.unwrap().contains("does not verify"));
        // A signature made for files, not for git: bad.
        let s = verify_signature(FILE_SIG.as_bytes(), SIGNED.as_bytes());
        assert_eq!(s.valid, Some(false), "{s:?}");
        // OpenPGP: named, never verified by running gpg.
        let s = verify_signature(
            b"-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n",
            b"x",
        );
        assert_eq!((s.format.as_str(), s.valid), ("openpgp", None));
        // Garbage in the armour: bad, not a panic.
        let s = verify_signature(
            b"-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n",
            b"x",
        );
        assert_eq!(s.valid, Some(false));

        let rules = PublishRules {
            require_signed: true,
            allowed_signers: vec![format!("you@example.com {KEY}")],
            ..Default::default()
        };
        assert_eq!(rules.signers().unwrap()[0].1, FINGERPRINT);
        assert_eq!(
            rules.signer_of(FINGERPRINT).as_deref(),
            Some("you@example.com")
        );
        assert_eq!(rules.signer_of("SHA256:other"), None);
        let signed = |signer: Option<&str>, valid| Provenance {
            signed: true,
            signature: Some(Signature {
                format: "ssh".into(),
                valid: Some(valid),
                key: Some(FINGERPRINT.into()),
                signer: signer.map(str::to_string),
                why_not: None,
            }),
            ..matching()
        };
        assert_eq!(
            rules.refuses(Some(&signed(Some("you@example.com"), true))),
            None
        );
        for p in [
            matching(),
            signed(None, true),
            signed(Some("you@example.com"), false),
        ] {
            let why = rules.refuses(Some(&p)).expect("blocked");
            assert!(why.contains("require-signed = true"), "{why}");
        }
        let bad = PublishRules {
            allowed_signers: vec!["you@example.com not-a-key".into()],
            ..Default::default()
        };
        assert!(bad.signers().is_err());
    }
}
