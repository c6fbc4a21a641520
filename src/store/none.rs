//! Platforms with no supported keychain: every store call says so, and what to use instead.

use super::{StoreError, TokenStore, Words};

/// No store, in people's words.
pub(crate) const WORDS: Words = Words {
    help: "This platform has no token store yet.",
    locked: "This platform has no supported keychain",
    unavailable: "This platform has no supported keychain: use cargo's own credential providers",
};

/// Always unavailable.
pub(crate) fn open() -> Result<Box<dyn TokenStore>, StoreError> {
    Err(StoreError::Unavailable {
        store: "keychain".into(),
        detail: "this platform has no supported keychain backend yet".into(),
        advice: WORDS.unavailable,
    })
}
