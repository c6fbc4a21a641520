//! An in-memory store for unit tests and the scripted test provider.

use std::cell::RefCell;
use std::collections::HashMap;

use super::{RegistryKey, StoreError, TokenStore};
use crate::token::Token;

/// Keeps tokens in a map. `locked` makes every call fail like a locked keychain.
#[derive(Default)]
pub(crate) struct MemoryStore {
    entries: RefCell<HashMap<RegistryKey, Token>>,
    reads: RefCell<u32>,
    /// When true, every call fails as a locked keychain does.
    pub(crate) locked: bool,
}

impl MemoryStore {
    /// How many times the secret was read (tests check it is not read before Approve).
    pub(crate) fn secret_reads(&self) -> u32 {
        *self.reads.borrow()
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.locked {
            return Err(StoreError::Locked {
                store: self.describe(),
                detail: "locked (test)".into(),
                advice: "Unlock it (test)",
            });
        }
        Ok(())
    }
}

impl TokenStore for MemoryStore {
    fn describe(&self) -> String {
        "in-memory test store".into()
    }
    fn contains(&self, key: &RegistryKey) -> Result<bool, StoreError> {
        self.check()?;
        Ok(self.entries.borrow().contains_key(key))
    }
    fn get(&self, key: &RegistryKey) -> Result<Option<Token>, StoreError> {
        self.check()?;
        *self.reads.borrow_mut() += 1;
        Ok(self.entries.borrow().get(key).cloned())
    }
    fn set(&self, key: &RegistryKey, _label: &str, token: &Token) -> Result<(), StoreError> {
        self.check()?;
        self.entries.borrow_mut().insert(key.clone(), token.clone());
        Ok(())
    }
    fn delete(&self, key: &RegistryKey) -> Result<bool, StoreError> {
        self.check()?;
        Ok(self.entries.borrow_mut().remove(key).is_some())
    }
}

/// Lets a borrowed store stand where a boxed one is expected (tests keep ownership).
impl TokenStore for &MemoryStore {
    fn describe(&self) -> String {
        (**self).describe()
    }
    fn contains(&self, key: &RegistryKey) -> Result<bool, StoreError> {
        (**self).contains(key)
    }
    fn get(&self, key: &RegistryKey) -> Result<Option<Token>, StoreError> {
        (**self).get(key)
    }
    fn set(&self, key: &RegistryKey, label: &str, token: &Token) -> Result<(), StoreError> {
        (**self).set(key, label, token)
    }
    fn delete(&self, key: &RegistryKey) -> Result<bool, StoreError> {
        (**self).delete(key)
    }
}
