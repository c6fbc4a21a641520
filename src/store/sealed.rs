//! The sealed store (Linux): one file per registry under `STORE/<real uid>/`, reachable only
//! through the setgid helper. See [`crate::sealed`] for the install and the privilege rules.
//!
//! Every operation runs with the group taken back for just that operation. The per-user
//! directory is created mode 0700 and owned by the real user; it is checked on every use,
//! and a directory that is not what the helper made is refused, never trusted.

use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::PathBuf;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{RegistryKey, StoreError, TokenStore};
use crate::sealed::Privilege;
use crate::token::Token;

/// Tokens in the sealed store.
pub(crate) struct SealedStore {
    root: PathBuf,
    uid: u32,
    privilege: Option<Privilege>,
}

impl SealedStore {
    /// The store under `root`, for the real user, taking `privilege` back around each use
    /// (`None` when running as root, which needs no group).
    pub(crate) fn new(root: PathBuf, privilege: Option<Privilege>) -> Self {
        SealedStore {
            root,
            uid: rustix::process::getuid().as_raw(),
            privilege,
        }
    }

    fn err(&self, detail: impl std::fmt::Display) -> StoreError {
        StoreError::Platform {
            store: self.describe(),
            detail: detail.to_string(),
        }
    }

    fn with_group<T>(&self, f: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
        match &self.privilege {
            Some(p) => p.with_group(f).map_err(|e| self.err(e))?,
            None => f(),
        }
    }

    /// `STORE/<uid>`, created on first use, checked on every use.
    fn user_dir(&self) -> Result<PathBuf, StoreError> {
        let dir = self.root.join(self.uid.to_string());
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(self.err(format!("cannot create {}: {e}", dir.display())));
            }
        }
        let m = std::fs::symlink_metadata(&dir)
            .map_err(|e| self.err(format!("{}: {e}", dir.display())))?;
        if !m.file_type().is_dir() || m.uid() != self.uid || m.mode() & 0o077 != 0 {
            return Err(self.err(format!(
                "{} is not the private directory this helper makes (owner {}, mode {:o}); \
                 refusing to use it. Ask an administrator to remove it",
                dir.display(),
                m.uid(),
                m.mode() & 0o7777
            )));
        }
        Ok(dir)
    }

    fn file(&self, key: &RegistryKey) -> Result<PathBuf, StoreError> {
        let hash = Sha256::digest(key.as_str().as_bytes());
        let name: String = hash[..20].iter().map(|b| format!("{b:02x}")).collect();
        Ok(self.user_dir()?.join(format!("{name}.token")))
    }
}

impl TokenStore for SealedStore {
    fn describe(&self) -> String {
        format!(
            "sealed store {} (only this helper can read it)",
            self.root.display()
        )
    }

    fn contains(&self, key: &RegistryKey) -> Result<bool, StoreError> {
        self.with_group(|| {
            let path = self.file(key)?;
            match std::fs::symlink_metadata(&path) {
                Ok(m) => Ok(m.file_type().is_file()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(self.err(format!("{}: {e}", path.display()))),
            }
        })
    }

    fn get(&self, key: &RegistryKey) -> Result<Option<Token>, StoreError> {
        self.with_group(|| {
            let path = self.file(key)?;
            let mut f = match std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)
            {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(self.err(format!("{}: {e}", path.display()))),
            };
            let mut text = Zeroizing::new(String::new());
            f.read_to_string(&mut text)
                .map_err(|e| self.err(format!("{}: {e}", path.display())))?;
            let (stored_key, token) = text
                .split_once('\n')
                .ok_or_else(|| self.err(format!("{} is malformed", path.display())))?;
            if stored_key != key.as_str() {
                return Err(self.err(format!("{} belongs to another registry", path.display())));
            }
            Ok(Some(Token::new(token.trim_end_matches('\n').to_string())))
        })
    }

    fn set(&self, key: &RegistryKey, _label: &str, token: &Token) -> Result<(), StoreError> {
        self.with_group(|| {
            let path = self.file(key)?;
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            // Cleanup after the error returned below; a leftover temporary holds nothing the
            // person's programs can reach (the directory is the helper's).
            let _ = std::fs::remove_file(&tmp);
            let write = || -> std::io::Result<()> {
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(&tmp)?;
                let body = Zeroizing::new(format!("{}\n{}\n", key.as_str(), token.expose()));
                f.write_all(body.as_bytes())?;
                f.sync_all()?;
                std::fs::rename(&tmp, &path)
            };
            write().map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                self.err(format!("cannot write {}: {e}", path.display()))
            })
        })
    }

    fn delete(&self, key: &RegistryKey) -> Result<bool, StoreError> {
        self.with_group(|| {
            let path = self.file(key)?;
            match std::fs::remove_file(&path) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(self.err(format!("{}: {e}", path.display()))),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn store() -> (tempfile::TempDir, SealedStore) {
        let t = tempfile::tempdir().unwrap();
        let s = SealedStore::new(t.path().to_path_buf(), None);
        (t, s)
    }

    #[test]
    fn round_trip_and_one_file_per_registry() {
        let (t, s) = store();
        let a = RegistryKey::from_index_url("sparse+https://a.example/index/");
        let b = RegistryKey::from_index_url("sparse+https://b.example/index/");
        assert!(!s.contains(&a).unwrap());
        assert!(s.get(&a).unwrap().is_none());
        s.set(&a, "l", &Token::new("tok-a".into())).unwrap();
        s.set(&b, "l", &Token::new("tok-b".into())).unwrap();
        s.set(&a, "l", &Token::new("tok-a2".into())).unwrap();
        assert_eq!(s.get(&a).unwrap().unwrap().expose(), "tok-a2");
        assert_eq!(s.get(&b).unwrap().unwrap().expose(), "tok-b");
        let dir = t.path().join(s.uid.to_string());
        let m = std::fs::metadata(&dir).unwrap();
        assert_eq!(m.mode() & 0o777, 0o700);
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        assert_eq!(files.len(), 2, "no temporary files left behind");
        for f in files {
            assert_eq!(f.metadata().unwrap().mode() & 0o777, 0o600);
        }
        assert!(s.delete(&a).unwrap());
        assert!(!s.delete(&a).unwrap());
        assert!(!s.contains(&a).unwrap());
    }

    #[test]
    fn a_tampered_user_directory_is_refused() {
        let (t, s) = store();
        let dir = t.path().join(s.uid.to_string());
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let k = RegistryKey::from_index_url("sparse+https://a.example/index/");
        let e = s.contains(&k).unwrap_err().to_string();
        assert!(e.contains("is not the private directory"), "{e}");
        // A symlink in place of the directory is refused too.
        std::fs::remove_dir(&dir).unwrap();
        std::os::unix::fs::symlink("/tmp", &dir).unwrap();
        assert!(s.contains(&k).is_err());
    }

    #[test]
    fn a_symlinked_token_file_is_not_followed() {
        let (t, s) = store();
        let k = RegistryKey::from_index_url("sparse+https://a.example/index/");
        let path = s.file(&k).unwrap();
        let target = t.path().join("elsewhere");
        std::fs::write(&target, format!("{}\nstolen\n", k.as_str())).unwrap();
        std::os::unix::fs::symlink(&target, &path).unwrap();
        assert!(s.get(&k).is_err());
    }
}
