//! The repository read as data with gix: the commit and each tree on the way to a file
//! hashed again against its id, the lock's pins, and whether a remote-tracking ref reaches
//! the commit.

use std::path::Path;

use super::{LocalOnly, Provenance, Signature, verify_signature};

/// How many commits a walk looks at, at most (counting local-only commits, finding the
/// remote-tracking ref that holds the commit).
const WALK_MAX: usize = 50_000;

/// What the repository is compared with: each file's git blob id, and the packaged lock.
pub(super) struct Packaged {
    pub(super) files: Vec<(String, [u8; 20])>,
    pub(super) lock: Option<String>,
}

/// Whether `orig` (the manifest as committed) takes values from a workspace's `Cargo.toml`
/// that is not itself: any `workspace = true` in a package or dependency table.
pub(super) fn inherits_from_a_workspace(orig: &str, path_in_vcs: &str) -> bool {
    let Ok(doc) = orig.parse::<toml::Table>() else {
        return false;
    };
    // The package at the repository's root that is its own workspace: what it inherits is
    // in the file compared with the commit.
    if path_in_vcs.trim_matches('/').is_empty() && doc.contains_key("workspace") {
        return false;
    }
    fn any(v: &toml::Value) -> bool {
        match v {
            toml::Value::Table(t) => t
                .iter()
                .any(|(k, v)| (k == "workspace" && v.as_bool() == Some(true)) || any(v)),
            toml::Value::Array(a) => a.iter().any(any),
            _ => false,
        }
    }
    doc.iter()
        .filter(|(k, _)| *k != "workspace")
        .any(|(_, v)| any(v))
}

/// The gix part of [`check`](super::check), on its own thread.
pub(super) fn read_repository(start: &Path, mut p: Provenance, files: &Packaged) -> Provenance {
    match compare(start, &mut p, files) {
        Ok(()) => p.checked = true,
        Err(why) => p.why_not = Some(why.to_string()),
    }
    p
}

/// Why the repository could not be compared with the `.crate`: the provenance's `why_not`.
#[derive(Debug, thiserror::Error)]
enum RepoError {
    /// No repository (or an unreadable one) at or above the package.
    #[error("no git repository at or above {}", .start.display())]
    NoRepository {
        /// Where the search started.
        start: std::path::PathBuf,
        /// What gix said.
        #[source]
        source: gix::Error,
    },
    /// `objects/info/alternates`: objects from another repository.
    #[error("the repository borrows objects from elsewhere (objects/info/alternates)")]
    Alternates,
    /// `.cargo_vcs_info.json`'s sha1 is not an object id.
    #[error(transparent)]
    CommitId(gix::Error),
    /// An object could not be looked up.
    #[error("object {id}: {source}")]
    Find {
        /// The object.
        id: gix::ObjectId,
        /// What gix said.
        #[source]
        source: gix::Error,
    },
    /// An object's bytes could not be hashed again.
    #[error(transparent)]
    Hash(gix::Error),
    /// An object of another kind than the one named.
    #[error("object {id} is a {actual}, not a {wanted}")]
    Kind {
        /// The object.
        id: gix::ObjectId,
        /// What it is.
        actual: gix::object::Kind,
        /// What it was expected to be.
        wanted: gix::object::Kind,
    },
    /// A tree a commit or a tree names is not in the repository.
    #[error("tree {id} is not in the repository")]
    TreeMissing {
        /// The tree.
        id: gix::ObjectId,
    },
    /// A tree that does not decode.
    #[error("tree {id}: {source}")]
    Tree {
        /// The tree.
        id: gix::ObjectId,
        /// What gix said.
        #[source]
        source: gix::Error,
    },
    /// The commit does not decode.
    #[error("the commit cannot be read: {0}")]
    Commit(#[source] gix::Error),
    /// Reading the refs or walking the history failed.
    #[error(transparent)]
    History(gix::Error),
    /// A commit met on the walk does not decode.
    #[error(transparent)]
    Decode(gix::Error),
    /// More commits than the walk reads.
    #[error("more than {WALK_MAX} commits between it and every remote-tracking ref")]
    WalkTooLong,
}

fn compare(start: &Path, p: &mut Provenance, packaged: &Packaged) -> Result<(), RepoError> {
    // Replace refs would let `refs/replace/<commit>` stand in for the commit; the hash check
    // below would catch it too, but a walk should not see them either.
    // A bounded allocation per object: a loose object whose header claims gigabytes would
    // otherwise be inflated on and on, after the budget, until memory ran out.
    let options = gix::open::Options::isolated().config_overrides([
        "core.useReplaceRefs=false",
        "gitoxide.objects.allocLimit=67108864",
    ]);
    let repo = gix::discover_opts(start, Default::default(), options).map_err(|source| {
        RepoError::NoRepository {
            start: start.to_path_buf(),
            source,
        }
    })?;
    // The objects are the common directory's: a linked worktree's own git directory has
    // none, and its `commondir` may name any repository.
    if repo.git_dir().join("objects/info/alternates").exists()
        || repo.common_dir().join("objects/info/alternates").exists()
    {
        return Err(RepoError::Alternates);
    }
    let sha1 = p.commit.clone().unwrap_or_default();
    let id = gix::ObjectId::from_hex(sha1.as_bytes()).map_err(RepoError::CommitId)?;
    let mut objects = Verified::new(&repo);
    let data = match objects.read(id, gix::object::Kind::Commit) {
        Ok(Some(data)) => data,
        Ok(None) => {
            p.missing_commit = true;
            return Ok(());
        }
        Err(Read::Forged(object)) => {
            p.forged = Some(object.to_string());
            return Ok(());
        }
        Err(Read::Failed(why)) => return Err(why),
    };
    let commit =
        gix::objs::CommitRef::from_bytes(&data, repo.object_hash()).map_err(RepoError::Commit)?;
    p.signature = signature(&data, repo.object_hash());
    p.signed = p.signature.is_some();
    let compared =
        compare_files(&mut objects, commit.tree(), p, &packaged.files).and_then(
            |()| match &packaged.lock {
                Some(lock) => compare_lock(&mut objects, commit.tree(), p, lock),
                None => Ok(()),
            },
        );
    match compared {
        Ok(()) => {}
        Err(Read::Forged(object)) => {
            p.forged = Some(object.to_string());
            return Ok(());
        }
        Err(Read::Failed(why)) => return Err(why),
    }
    remote_status(&repo, id, p)
}

/// The commit's signature, read from its (verified) bytes.
fn signature(data: &[u8], hash: gix::hash::Kind) -> Option<Signature> {
    match gix::objs::CommitRefIter::signature(data, hash) {
        Ok(Some((sig, signed))) => Some(verify_signature(sig.as_ref(), &signed.to_bstring())),
        Ok(None) => None,
        Err(e) => Some(Signature {
            format: "unknown".into(),
            valid: Some(false),
            why_not: Some(format!("the commit's signature cannot be read: {e}")),
            ..Default::default()
        }),
    }
}

/// Why an object could not be read.
enum Read {
    /// Its bytes do not hash to its id.
    Forged(gix::ObjectId),
    /// Anything else (a broken pack, a tree that does not parse).
    Failed(RepoError),
}

/// One tree entry: its mode and id.
type Entry = (gix::objs::tree::EntryMode, gix::ObjectId);

/// Objects by id, each hashed again and checked against its id; trees decoded once.
struct Verified<'r> {
    repo: &'r gix::Repository,
    trees: std::collections::HashMap<gix::ObjectId, std::collections::HashMap<Vec<u8>, Entry>>,
}

impl<'r> Verified<'r> {
    fn new(repo: &'r gix::Repository) -> Self {
        Verified {
            repo,
            trees: Default::default(),
        }
    }

    /// The bytes of object `id` of `kind`; `None` when the repository does not have it.
    fn read(&self, id: gix::ObjectId, kind: gix::object::Kind) -> Result<Option<Vec<u8>>, Read> {
        let object = match self.repo.try_find_object(id) {
            Ok(Some(o)) => o.detach(),
            Ok(None) => return Ok(None),
            Err(source) => return Err(Read::Failed(RepoError::Find { id, source })),
        };
        let actual = gix::objs::compute_hash(self.repo.object_hash(), object.kind, &object.data)
            .map_err(|e| Read::Failed(RepoError::Hash(e)))?;
        if actual != id {
            return Err(Read::Forged(id));
        }
        if object.kind != kind {
            return Err(Read::Failed(RepoError::Kind {
                id,
                actual: object.kind,
                wanted: kind,
            }));
        }
        Ok(Some(object.data))
    }

    /// The entry at `path` (`/`-separated) under the tree `root`.
    fn lookup(&mut self, root: gix::ObjectId, path: &str) -> Result<Option<Entry>, Read> {
        let mut tree = root;
        let mut parts = path.split('/').peekable();
        while let Some(name) = parts.next() {
            let Some(&(mode, id)) = self.tree(tree)?.get(name.as_bytes()) else {
                return Ok(None);
            };
            if parts.peek().is_none() {
                return Ok(Some((mode, id)));
            }
            if !mode.is_tree() {
                return Ok(None);
            }
            tree = id;
        }
        Ok(None)
    }

    fn tree(
        &mut self,
        id: gix::ObjectId,
    ) -> Result<&std::collections::HashMap<Vec<u8>, Entry>, Read> {
        if !self.trees.contains_key(&id) {
            let data = self
                .read(id, gix::object::Kind::Tree)?
                .ok_or(Read::Failed(RepoError::TreeMissing { id }))?;
            let tree = gix::objs::TreeRef::from_bytes(&data, self.repo.object_hash())
                .map_err(|source| Read::Failed(RepoError::Tree { id, source }))?;
            let entries = tree
                .entries
                .iter()
                .map(|e| (e.filename.to_vec(), (e.mode, e.oid.to_owned())))
                .collect();
            self.trees.insert(id, entries);
        }
        Ok(&self.trees[&id])
    }
}

/// The packages the `.crate`'s lock pins against the commit's lock, the nearest one at or
/// above `path_in_vcs` (a workspace's is at its root). No committed lock: cargo made one, and
/// there is nothing to compare.
fn compare_lock(
    objects: &mut Verified<'_>,
    tree: gix::ObjectId,
    p: &mut Provenance,
    packaged: &str,
) -> Result<(), Read> {
    let mut dir: Vec<&str> = p
        .path_in_vcs
        .trim_matches('/')
        .split('/')
        .filter(|c| !c.is_empty())
        .collect();
    let committed = loop {
        let path = if dir.is_empty() {
            "Cargo.lock".to_string()
        } else {
            format!("{}/Cargo.lock", dir.join("/"))
        };
        if let Some((mode, id)) = objects.lookup(tree, &path)?
            && mode.is_blob()
        {
            break objects.read(id, gix::object::Kind::Blob)?;
        }
        if dir.pop().is_none() {
            // No lock in the commit: the versions the packaged one pins from a registry were
            // chosen when it was packaged, from whatever index and config were there then.
            if pins_from_a_source(packaged) {
                p.unverified.push(
                    "Cargo.lock (the commit has none: the versions it pins were chosen when \
                     packaging)"
                        .into(),
                );
            }
            return Ok(());
        }
    };
    // The commit names a lock whose blob this repository does not have (a worm deleted the
    // loose object; the remote keeps it): nothing to compare with, and never green.
    let Some(committed) = committed else {
        p.unverified
            .push("Cargo.lock (the commit's copy is missing from the repository)".into());
        return Ok(());
    };
    let pinned =
        |text: &str| -> Option<std::collections::BTreeSet<(String, String, String, String)>> {
            let doc = text.parse::<toml::Table>().ok()?;
            let field = |t: &toml::Table, k: &str| {
                t.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string()
            };
            Some(
                doc.get("package")?
                    .as_array()?
                    .iter()
                    .filter_map(|v| v.as_table())
                    .map(|t| {
                        (
                            field(t, "name"),
                            field(t, "version"),
                            field(t, "source"),
                            field(t, "checksum"),
                        )
                    })
                    .collect(),
            )
        };
    let committed = String::from_utf8_lossy(&committed);
    match (pinned(packaged), pinned(&committed)) {
        (Some(now), Some(then)) => {
            p.lock_changes = now
                .difference(&then)
                .map(|(name, version, ..)| format!("{name} {version}"))
                .collect();
            if !p.lock_changes.is_empty() {
                p.differs.push("Cargo.lock".into());
            }
        }
        _ => p.unverified.push("Cargo.lock (it cannot be read)".into()),
    }
    Ok(())
}

/// Whether a `Cargo.lock` pins any package that comes from a source (a registry, git): one
/// that pins only the crate itself has nothing to compare. A lock that does not parse counts.
fn pins_from_a_source(lock: &str) -> bool {
    let Ok(doc) = lock.parse::<toml::Table>() else {
        return true;
    };
    doc.get("package")
        .and_then(|p| p.as_array())
        .is_some_and(|ps| {
            ps.iter()
                .any(|p| p.get("source").and_then(|s| s.as_str()).is_some())
        })
}

/// Every file against the commit's tree, at `path_in_vcs`.
fn compare_files(
    objects: &mut Verified<'_>,
    tree: gix::ObjectId,
    p: &mut Provenance,
    files: &[(String, [u8; 20])],
) -> Result<(), Read> {
    let root = p.path_in_vcs.trim_matches('/').to_string();
    let in_repo = |path: &str| {
        if root.is_empty() {
            path.to_string()
        } else {
            format!("{root}/{path}")
        }
    };
    for (path, blob) in files {
        let committed = match path.as_str() {
            // cargo's own files: generated, or normalised (the original is compared instead).
            ".cargo_vcs_info.json" | "Cargo.toml" | "Cargo.lock" => continue,
            "Cargo.toml.orig" => in_repo("Cargo.toml"),
            other => in_repo(other),
        };
        // A blob is compared by its id, which the `.crate`'s bytes give: the repository's
        // copy of the blob is never read, so it cannot lie.
        match objects.lookup(tree, &committed)? {
            None => p.untracked.push(path.clone()),
            Some((mode, id)) if mode.is_blob() && id.as_slice() == blob.as_slice() => {}
            Some(_) => p.differs.push(path.clone()),
        }
    }
    Ok(())
}

/// Whether a remote-tracking ref reaches `id`, and if none does, the commits only this clone
/// has.
fn remote_status(
    repo: &gix::Repository,
    id: gix::ObjectId,
    p: &mut Provenance,
) -> Result<(), RepoError> {
    let refs = repo.references().map_err(RepoError::History)?;
    let remotes: Vec<(String, gix::ObjectId)> = refs
        .remote_branches()
        .map_err(RepoError::History)?
        .filter_map(Result::ok)
        .filter_map(|mut r| {
            let name = r.name().shorten().to_string();
            let target = r.peel_to_id().ok()?.detach();
            Some((name, target))
        })
        .collect();
    if remotes.is_empty() {
        p.no_remote = true;
        p.on_remote = Some(false);
    }
    let hidden: Vec<gix::ObjectId> = remotes.iter().map(|(_, id)| *id).collect();
    let walk = repo
        .rev_walk([id])
        .with_hidden(hidden)
        .all()
        .map_err(RepoError::History)?;
    let mut local = LocalOnly::default();
    let mut seen = 0usize;
    for info in walk {
        seen += 1;
        if seen > WALK_MAX {
            return Err(RepoError::WalkTooLong);
        }
        let info = info.map_err(RepoError::History)?;
        let c = info.object().map_err(RepoError::History)?;
        let time = c.time().map(|t| t.seconds).unwrap_or(0);
        if local.commits == 0 || time > local.newest_time {
            local.newest_time = time;
            let decoded = c.decode().map_err(RepoError::Decode)?;
            local.author = decoded
                .author()
                .map(|s| s.name.to_string())
                .unwrap_or_default();
            local.committer = decoded
                .committer()
                .map(|s| s.name.to_string())
                .unwrap_or_default();
        }
        local.commits += 1;
    }
    if local.commits == 0 {
        p.on_remote = Some(true);
        p.remote_ref = remotes
            .iter()
            .find(|(_, tip)| reaches(repo, *tip, id))
            .map(|(name, _)| name.clone());
    } else {
        p.on_remote = Some(false);
        p.local_only = Some(local);
    }
    Ok(())
}

/// Whether `tip`'s history holds `id` (within the walk's bound).
fn reaches(repo: &gix::Repository, tip: gix::ObjectId, id: gix::ObjectId) -> bool {
    if tip == id {
        return true;
    }
    let Ok(walk) = repo.rev_walk([tip]).all() else {
        return false;
    };
    walk.take(WALK_MAX)
        .filter_map(Result::ok)
        .any(|info| info.id == id)
}
