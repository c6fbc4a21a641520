//! macOS keychain through security-framework. Written against the crate's documented API;
//! it cannot be compiled on the Linux machines this project is developed on, and is built by
//! the macOS CI workflow (`.github/workflows/ci.yml`).
//!
//! Two kinds of item:
//! - **Signed bundle** (`scripts/macos-bundle.sh` with a Developer ID): a data-protection
//!   keychain item, in the bundle's keychain access group, with `USER_PRESENCE` access
//!   control: macOS itself asks for Touch ID or the login password on every read, on top of
//!   our window. Other programs cannot read the item at all (the access group is tied to
//!   the signing team).
//! - **Unsigned `cargo install` build**: a legacy login-keychain item created by the helper;
//!   its ACL trusts the binary that created it, but a same-user program that replaces that
//!   binary, or that the person allows in the keychain prompt, can read it. Weaker, and the
//!   store description says so.

use security_framework::item::{ItemClass, ItemSearchOptions};
use security_framework::os::macos::code_signing::{Flags, SecCode, SecRequirement};
use security_framework::passwords::{
    delete_generic_password, delete_generic_password_options, generic_password,
    get_generic_password, set_generic_password, set_generic_password_options,
};
use security_framework::passwords_options::{AccessControlOptions, PasswordOptions};

use super::{RegistryKey, SERVICE, StoreError, TokenStore, Words};
use crate::token::Token;

/// The keychain, in people's words.
pub(crate) const WORDS: Words = Words {
    help: "Token store: the macOS login keychain.",
    locked: "Unlock your login keychain (Keychain Access, or log in again) and try again",
    unavailable: "Run it from your own logged-in macOS session, where your login keychain is, \
                  and try again",
};

/// This platform's default store.
pub(crate) fn open() -> Result<Box<dyn TokenStore>, StoreError> {
    Ok(Box::new(MacosKeychain::new()))
}

/// errSecItemNotFound.
const NOT_FOUND: i32 = -25300;
/// errSecInteractionNotAllowed / errSecAuthFailed: the keychain is locked.
const LOCKED: [i32; 2] = [-25308, -25293];
/// errSecUserCanceled: the person cancelled Touch ID / the password sheet.
const CANCELLED: i32 = -128;

/// A code requirement only a Developer ID (or Apple) signature meets: ad-hoc and unsigned
/// builds fail it.
pub(crate) const DEVELOPER_ID: &str =
    "anchor apple generic and certificate leaf[subject.OU] exists";

/// Whether this process runs from code signed with a real identity (not ad-hoc).
fn signed_with_identity() -> bool {
    let Ok(req) = DEVELOPER_ID.parse::<SecRequirement>() else {
        return false;
    };
    SecCode::for_self(Flags::NONE)
        .and_then(|code| code.check_validity(Flags::NONE, &req))
        .is_ok()
}

/// The login keychain, one generic-password item per registry.
pub(crate) struct MacosKeychain {
    protected: bool,
}

impl MacosKeychain {
    /// The data-protection keychain when signed with an identity, else the legacy one.
    pub(crate) fn new() -> Self {
        MacosKeychain {
            protected: signed_with_identity(),
        }
    }

    fn options(&self, key: &RegistryKey) -> PasswordOptions {
        let mut o = PasswordOptions::new_generic_password(SERVICE, key.as_str());
        if self.protected {
            o.use_protected_keychain();
        }
        o
    }

    fn name(&self) -> &'static str {
        if self.protected {
            "macOS data-protection keychain"
        } else {
            "macOS login keychain"
        }
    }

    fn map_err(&self, e: security_framework::base::Error) -> StoreError {
        let store = self.name().to_string();
        if LOCKED.contains(&e.code()) || e.code() == CANCELLED {
            StoreError::Locked {
                store,
                detail: e.to_string(),
                advice: WORDS.locked,
            }
        } else {
            StoreError::Platform {
                store,
                detail: e.to_string(),
            }
        }
    }
}

impl Default for MacosKeychain {
    fn default() -> Self {
        Self::new()
    }
}

impl TokenStore for MacosKeychain {
    fn describe(&self) -> String {
        if self.protected {
            "macOS data-protection keychain (Touch ID or password on every read, enforced by macOS)"
                .into()
        } else {
            "macOS login keychain (legacy item of an unsigned build: weaker, see SECURITY.md)"
                .into()
        }
    }

    fn contains(&self, key: &RegistryKey) -> Result<bool, StoreError> {
        // Attributes only: reading them needs no user presence, and the secret stays put.
        let mut search = ItemSearchOptions::new();
        search
            .class(ItemClass::generic_password())
            .service(SERVICE)
            .account(key.as_str())
            .load_attributes(true);
        if self.protected {
            search.ignore_legacy_keychains();
        }
        match search.search() {
            Ok(items) => Ok(!items.is_empty()),
            Err(e) if e.code() == NOT_FOUND => Ok(false),
            Err(e) => Err(self.map_err(e)),
        }
    }

    fn get(&self, key: &RegistryKey) -> Result<Option<Token>, StoreError> {
        let read = if self.protected {
            generic_password(self.options(key))
        } else {
            get_generic_password(SERVICE, key.as_str())
        };
        match read {
            Ok(mut bytes) => {
                let text = String::from_utf8(std::mem::take(&mut bytes)).map_err(|_| {
                    StoreError::Platform {
                        store: self.name().into(),
                        detail: "the stored token is not UTF-8".into(),
                    }
                })?;
                Ok(Some(Token::new(text)))
            }
            Err(e) if e.code() == NOT_FOUND => Ok(None),
            Err(e) => Err(self.map_err(e)),
        }
    }

    fn set(&self, key: &RegistryKey, label: &str, token: &Token) -> Result<(), StoreError> {
        if !self.protected {
            return set_generic_password(SERVICE, key.as_str(), token.expose().as_bytes())
                .map_err(|e| self.map_err(e));
        }
        // Replace = delete then add: access control cannot be changed on an existing item.
        match delete_generic_password_options(self.options(key)) {
            Ok(()) => {}
            Err(e) if e.code() == NOT_FOUND => {}
            Err(e) => return Err(self.map_err(e)),
        }
        let mut o = self.options(key);
        o.set_label(label);
        o.set_access_control_options(AccessControlOptions::USER_PRESENCE);
        set_generic_password_options(token.expose().as_bytes(), o).map_err(|e| self.map_err(e))
    }

    fn delete(&self, key: &RegistryKey) -> Result<bool, StoreError> {
        let r = if self.protected {
            delete_generic_password_options(self.options(key))
        } else {
            delete_generic_password(SERVICE, key.as_str())
        };
        match r {
            Ok(()) => Ok(true),
            Err(e) if e.code() == NOT_FOUND => Ok(false),
            Err(e) => Err(self.map_err(e)),
        }
    }
}
