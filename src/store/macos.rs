//! macOS keychain through security-framework. Written against the crate's documented API;
//! it cannot be compiled on the Linux machines this project is developed on, and is built by
//! the macOS CI workflow.

use security_framework::passwords::{
    delete_generic_password, get_generic_password, set_generic_password,
};

use super::{RegistryKey, SERVICE, StoreError, TokenStore};
use crate::token::Token;

/// errSecItemNotFound.
const NOT_FOUND: i32 = -25300;
/// errSecInteractionNotAllowed / errSecAuthFailed: the keychain is locked.
const LOCKED: [i32; 2] = [-25308, -25293];

/// The login keychain, one generic-password item per registry, created by this helper
/// (the item's ACL trusts the binary that created it).
pub struct MacosKeychain;

impl MacosKeychain {
    /// The default keychain.
    pub fn new() -> Self {
        MacosKeychain
    }
}

fn map_err(e: security_framework::base::Error) -> StoreError {
    let store = "macOS login keychain".to_string();
    if LOCKED.contains(&e.code()) {
        StoreError::Locked {
            store,
            detail: e.to_string(),
        }
    } else {
        StoreError::Platform {
            store,
            detail: e.to_string(),
        }
    }
}

impl TokenStore for MacosKeychain {
    fn describe(&self) -> String {
        "macOS login keychain (legacy item, trusted to this binary)".into()
    }

    fn contains(&self, key: &RegistryKey) -> Result<bool, StoreError> {
        use security_framework::item::{ItemClass, ItemSearchOptions};
        let found = ItemSearchOptions::new()
            .class(ItemClass::generic_password())
            .service(SERVICE)
            .account(key.as_str())
            .load_attributes(true)
            .search();
        match found {
            Ok(items) => Ok(!items.is_empty()),
            Err(e) if e.code() == NOT_FOUND => Ok(false),
            Err(e) => Err(map_err(e)),
        }
    }

    fn get(&self, key: &RegistryKey) -> Result<Option<Token>, StoreError> {
        match get_generic_password(SERVICE, key.as_str()) {
            Ok(mut bytes) => {
                let text = String::from_utf8(std::mem::take(&mut bytes)).map_err(|_| {
                    StoreError::Platform {
                        store: "macOS login keychain".into(),
                        detail: "the stored token is not UTF-8".into(),
                    }
                })?;
                Ok(Some(Token::new(text)))
            }
            Err(e) if e.code() == NOT_FOUND => Ok(None),
            Err(e) => Err(map_err(e)),
        }
    }

    fn set(&self, key: &RegistryKey, _label: &str, token: &Token) -> Result<(), StoreError> {
        set_generic_password(SERVICE, key.as_str(), token.expose().as_bytes()).map_err(map_err)
    }

    fn delete(&self, key: &RegistryKey) -> Result<bool, StoreError> {
        match delete_generic_password(SERVICE, key.as_str()) {
            Ok(()) => Ok(true),
            Err(e) if e.code() == NOT_FOUND => Ok(false),
            Err(e) => Err(map_err(e)),
        }
    }
}
