//! Where tokens live: our [`TokenStore`] trait, with one backend per file chosen by `cfg`
//! in [`default_store`].

use std::fmt;

use crate::token::Token;

#[cfg(any(target_os = "linux", windows))]
mod keyring;
#[cfg(target_os = "macos")]
pub mod macos;
pub mod memory;
#[cfg(target_os = "linux")]
pub mod sealed;

/// The crates.io index, in its git spelling.
pub const CRATES_IO_INDEX: &str = "https://github.com/rust-lang/crates.io-index";
/// The crates.io index, in its sparse spelling.
pub const CRATES_IO_SPARSE: &str = "sparse+https://index.crates.io/";

/// One store entry per registry, keyed by its canonical index URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegistryKey {
    canonical: String,
}

impl RegistryKey {
    /// Canonicalises an index URL: both crates.io spellings give one key, and a trailing
    /// slash does not make a second entry.
    pub fn from_index_url(url: &str) -> Self {
        let trimmed = url.trim().trim_end_matches('/');
        let crates_io = [CRATES_IO_INDEX, CRATES_IO_SPARSE]
            .iter()
            .any(|c| c.trim_end_matches('/') == trimmed);
        let canonical = if crates_io {
            CRATES_IO_INDEX.to_string()
        } else {
            trimmed.to_string()
        };
        RegistryKey { canonical }
    }

    /// The canonical index URL (the store's account name).
    pub fn as_str(&self) -> &str {
        &self.canonical
    }

    /// Whether this is crates.io (its tokens have a known shape).
    pub fn is_crates_io(&self) -> bool {
        self.canonical == CRATES_IO_INDEX
    }
}

impl fmt::Display for RegistryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical)
    }
}

/// The service name every entry is filed under.
pub const SERVICE: &str = "cargo-confirm-gui";

/// What went wrong in a store, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The keychain exists but is locked, or refused access.
    #[error(
        "the {store} is locked or refused access: {detail}. Unlock it (log in to your desktop \
         session, or open your keyring app and unlock the login keyring) and try again"
    )]
    Locked {
        /// Store description.
        store: String,
        /// The platform's words.
        detail: String,
    },
    /// No keychain service could be reached.
    #[error(
        "the {store} is not available: {detail}. Start a Secret Service provider \
         (gnome-keyring or KWallet) in your desktop session and try again"
    )]
    Unavailable {
        /// Store description.
        store: String,
        /// The platform's words.
        detail: String,
    },
    /// Anything else the platform reported.
    #[error("the {store} failed: {detail}")]
    Platform {
        /// Store description.
        store: String,
        /// The platform's words.
        detail: String,
    },
}

/// A place that keeps one token per registry.
///
/// `contains` must not read the secret: it runs before the window, and the secret is read
/// by `get` only after Approve.
pub trait TokenStore {
    /// Names the store for people ("the Secret Service (login keyring, over D-Bus)").
    fn describe(&self) -> String;
    /// Whether an entry exists, without reading the secret.
    fn contains(&self, key: &RegistryKey) -> Result<bool, StoreError>;
    /// Reads the secret.
    fn get(&self, key: &RegistryKey) -> Result<Option<Token>, StoreError>;
    /// Writes the secret, replacing any existing one.
    fn set(&self, key: &RegistryKey, label: &str, token: &Token) -> Result<(), StoreError>;
    /// Removes the entry; false when there was none.
    fn delete(&self, key: &RegistryKey) -> Result<bool, StoreError>;
}

/// The platform's default store.
pub fn default_store() -> Result<Box<dyn TokenStore>, StoreError> {
    #[cfg(any(target_os = "linux", windows))]
    {
        Ok(Box::new(keyring::KeyringStore::new()?))
    }
    #[cfg(target_os = "macos")]
    {
        Ok(Box::new(macos::MacosKeychain::new()))
    }
    #[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
    {
        Err(StoreError::Unavailable {
            store: "keychain".into(),
            detail: "this platform has no supported keychain backend yet".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crates_io_spellings_share_one_entry() {
        let a = RegistryKey::from_index_url(CRATES_IO_INDEX);
        let b = RegistryKey::from_index_url(CRATES_IO_SPARSE);
        let c = RegistryKey::from_index_url("sparse+https://index.crates.io");
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert!(a.is_crates_io());
    }

    #[test]
    fn other_registries_keep_their_url() {
        let a = RegistryKey::from_index_url("sparse+http://127.0.0.1:8080/index/");
        assert_eq!(a.as_str(), "sparse+http://127.0.0.1:8080/index");
        assert!(!a.is_crates_io());
        assert_ne!(
            a,
            RegistryKey::from_index_url("sparse+http://127.0.0.1:8081/index/")
        );
    }
}
