//! The keyring-core backed store: Secret Service on Linux, Credential Manager on Windows.
//! The only file that names the keyring crates.

use std::collections::HashMap;
use std::sync::Arc;

use keyring_core::{CredentialStore, Entry, Error as KError};

use super::{RegistryKey, SERVICE, StoreError, TokenStore, Words};
use crate::token::Token;

/// The Secret Service, in people's words.
#[cfg(target_os = "linux")]
pub(crate) const WORDS: Words = Words {
    help: "Token store: the Secret Service (your login keyring, over D-Bus), which any program \
           running as you can also read. For a store only this helper can read, install it \
           sealed: sudo scripts/install-sealed.sh (README, \"Sealed install\").",
    locked: "Unlock it (log in to your desktop session, or open your keyring app and unlock \
             the login keyring) and try again",
    unavailable: "Start a Secret Service provider (gnome-keyring or KWallet) in your desktop \
                  session and try again",
};

/// The Windows Credential Manager, in people's words.
#[cfg(windows)]
pub(crate) const WORDS: Words = Words {
    help: "Token store: the Windows Credential Manager.",
    locked: "Log in to your Windows account (the Credential Manager opens with it) and try \
             again",
    unavailable: "Run it from your own logged-in Windows session, where the Credential \
                  Manager runs, and try again",
};

/// This platform's default store.
pub(crate) fn open() -> Result<Box<dyn TokenStore>, StoreError> {
    Ok(Box::new(KeyringStore::new()?))
}

/// A token store over one keyring-core credential store.
pub(crate) struct KeyringStore {
    store: Arc<CredentialStore>,
    name: &'static str,
}

impl KeyringStore {
    /// Connects to the platform's store.
    pub(crate) fn new() -> Result<Self, StoreError> {
        #[cfg(target_os = "linux")]
        let (store, name) = (
            zbus_secret_service_keyring_store::Store::new().map(|s| s as Arc<CredentialStore>),
            "Secret Service (your login keyring, over D-Bus)",
        );
        #[cfg(windows)]
        let (store, name) = (
            windows_native_keyring_store::Store::new().map(|s| s as Arc<CredentialStore>),
            "Windows Credential Manager",
        );
        let store = store.map_err(|e| map_err(name, e))?;
        Ok(KeyringStore { store, name })
    }

    fn entry(&self, key: &RegistryKey, label: Option<&str>) -> Result<Entry, StoreError> {
        let mut mods = HashMap::new();
        if let Some(label) = label {
            mods.insert("label", label);
        }
        let result = if mods.is_empty() {
            Entry::new_in_store(&self.store, SERVICE, key.as_str())
        } else {
            Entry::new_in_store_with_modifiers(&self.store, SERVICE, key.as_str(), &mods)
        };
        result.map_err(|e| map_err(self.name, e))
    }
}

fn map_err(store: &str, e: KError) -> StoreError {
    let store = store.to_string();
    match e {
        KError::NoStorageAccess(inner) => StoreError::Locked {
            store,
            detail: inner.to_string(),
            advice: WORDS.locked,
        },
        KError::NoDefaultStore => StoreError::Unavailable {
            store,
            detail: "no store".into(),
            advice: WORDS.unavailable,
        },
        KError::PlatformFailure(inner) => {
            let detail = inner.to_string();
            // zbus reports a missing Secret Service as a D-Bus error on the name.
            if detail.contains("ServiceUnknown")
                || detail.contains("was not provided by any .service files")
                || detail.contains("DBUS_SESSION_BUS_ADDRESS")
                || detail.contains("No such file or directory")
                || detail.contains("Connection refused")
            {
                StoreError::Unavailable {
                    store,
                    detail,
                    advice: WORDS.unavailable,
                }
            } else {
                StoreError::Platform { store, detail }
            }
        }
        other => StoreError::Platform {
            store,
            detail: other.to_string(),
        },
    }
}

impl TokenStore for KeyringStore {
    fn describe(&self) -> String {
        self.name.to_string()
    }

    fn contains(&self, key: &RegistryKey) -> Result<bool, StoreError> {
        // Attributes only: the secret itself is not transferred.
        match self.entry(key, None)?.get_attributes() {
            Ok(_) => Ok(true),
            Err(KError::NoEntry) => Ok(false),
            Err(e) => Err(map_err(self.name, e)),
        }
    }

    fn get(&self, key: &RegistryKey) -> Result<Option<Token>, StoreError> {
        match self.entry(key, None)?.get_password() {
            Ok(p) => Ok(Some(Token::new(p))),
            Err(KError::NoEntry) => Ok(None),
            Err(e) => Err(map_err(self.name, e)),
        }
    }

    fn set(&self, key: &RegistryKey, label: &str, token: &Token) -> Result<(), StoreError> {
        self.entry(key, Some(label))?
            .set_password(token.expose())
            .map_err(|e| map_err(self.name, e))
    }

    fn delete(&self, key: &RegistryKey) -> Result<bool, StoreError> {
        match self.entry(key, None)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(KError::NoEntry) => Ok(false),
            Err(e) => Err(map_err(self.name, e)),
        }
    }
}
