//! Where tokens live: our [`TokenStore`] trait, with one backend per file chosen by `cfg`
//! in [`default_store`].

use std::fmt;

use crate::index_url::{BadIndexUrl, CRATES_IO_INDEX, IndexUrl};
use crate::token::Token;

#[cfg(any(target_os = "linux", windows))]
mod keyring;
#[cfg(target_os = "macos")]
pub(crate) mod macos;
#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
mod none;

// The platform's default store: the one place a platform chooses its backend.
#[cfg(any(target_os = "linux", windows))]
use keyring as platform;
#[cfg(target_os = "macos")]
use macos as platform;
#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
use none as platform;
#[cfg(test)]
pub(crate) mod memory;
#[cfg(target_os = "linux")]
pub(crate) mod sealed;

/// One store entry per registry, keyed by its canonical index URL
/// ([`IndexUrl::canonical`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegistryKey {
    canonical: String,
}

impl RegistryKey {
    /// The key of an index URL already checked by [`IndexUrl::parse`], or one of our own.
    pub fn from_index_url(url: &str) -> Self {
        RegistryKey {
            canonical: IndexUrl::parse(url)
                .map(|u| u.canonical())
                .unwrap_or_else(|_| url.trim().trim_end_matches('/').to_string()),
        }
    }

    /// Checks an index URL from outside (a request, the command line) and keys it.
    pub fn parse(url: &str) -> Result<Self, BadIndexUrl> {
        IndexUrl::parse(url).map(|u| RegistryKey::from(&u))
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

impl From<&IndexUrl> for RegistryKey {
    fn from(url: &IndexUrl) -> Self {
        RegistryKey {
            canonical: url.canonical(),
        }
    }
}

impl fmt::Display for RegistryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical)
    }
}

/// The service name every entry is filed under.
const SERVICE: &str = "cargo-confirm-gui";

pub(crate) use crate::error::StoreError;

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

/// What a store says to people: where tokens are kept and who can read them (`--help`),
/// and what to do when it is locked or cannot be reached. Each backend has its own.
pub(crate) struct Words {
    /// The paragraph of `--help` about the store.
    pub(crate) help: &'static str,
    /// What to do when it is locked or refused access.
    pub(crate) locked: &'static str,
    /// What to do when it cannot be reached.
    #[cfg_attr(
        target_os = "macos",
        allow(
            dead_code,
            reason = "the keychain is always there: it is locked or not"
        )
    )]
    pub(crate) unavailable: &'static str,
}

/// The paragraph of `--help` about the platform's default store.
pub(crate) const DEFAULT_HELP: &str = platform::WORDS.help;

/// The platform's default store.
pub fn default_store() -> Result<Box<dyn TokenStore>, StoreError> {
    platform::open()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crates_io_spellings_share_one_entry() {
        let a = RegistryKey::from_index_url(CRATES_IO_INDEX);
        let b = RegistryKey::from_index_url(crate::index_url::CRATES_IO_SPARSE);
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

    #[test]
    fn spellings_of_one_registry_share_one_entry() {
        let a = RegistryKey::parse("sparse+https://reg.example/index/").unwrap();
        for other in [
            "sparse+HTTPS://Reg.Example/index",
            "sparse+https://reg.example:443/index/",
            "SPARSE+https://REG.example:443/index",
        ] {
            assert_eq!(RegistryKey::parse(other).unwrap(), a, "{other}");
        }
        // The path is the registry's own: its case is kept.
        assert_ne!(
            RegistryKey::parse("sparse+https://reg.example/Index/").unwrap(),
            a
        );
        assert!(
            RegistryKey::parse("SPARSE+HTTPS://INDEX.CRATES.IO/")
                .unwrap()
                .is_crates_io()
        );
    }

    #[test]
    fn urls_that_hide_characters_are_refused() {
        // Regression, "Nothing the caller supplies" (7): a zero-width space and a
        // right-to-left override in an index URL looked like crates.io in the enrol window,
        // keyed another entry, and skipped the crates.io token check.
        for url in [
            "sparse+https://index.crates.io\u{200B}/",
            "sparse+https://\u{202E}oi.setarc.xedni/",
            "sparse+https://index.crates.io/ ",
            "sparse+https://index.cr\u{430}tes.io/",
            "sparse+https://index.crates.io/\n",
            "index.crates.io",
        ] {
            let e = RegistryKey::parse(url).unwrap_err().to_string();
            assert!(!e.contains('\u{202E}') && !e.contains('\n'), "{e}");
        }
        let e = RegistryKey::parse("sparse+https://index.crates.io\u{200B}/")
            .unwrap_err()
            .to_string();
        assert!(e.contains("U+200B") && e.contains("\\u{200B}"), "{e}");
    }
}
