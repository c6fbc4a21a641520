//! The registry client on platforms other than Linux: not available yet. The Linux client
//! (ureq with rustls) builds `ring` from C, which cannot be cross-compiled here, so the
//! macOS and Windows code would no longer type-check; publishing through the helper is
//! Linux-only for now, and these calls say so.

use std::time::Duration;

/// Why the call failed: always that the platform has no client yet.
#[derive(Debug, thiserror::Error)]
#[error("publishing through the helper is available on Linux only, for now; use cargo publish")]
pub(crate) struct Error;

/// A version's line in the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    /// Its checksum.
    pub(crate) cksum: String,
    /// Whether it is yanked.
    yanked: bool,
}

use crate::request::OwnerChange;

/// No client on this platform.
#[derive(Debug)]
pub(crate) struct Client;

impl Client {
    /// Always [`Error`].
    pub(crate) fn new(_index_url: &str, _token_for_index: Option<&str>) -> Result<Client, Error> {
        Err(Error)
    }
    /// Never reached.
    pub(crate) fn publish(&self, _token: &str, _body: &[u8]) -> Result<Vec<String>, Error> {
        Err(Error)
    }
    /// Never reached.
    pub(crate) fn wait_for(
        &self,
        _token_for_index: Option<&str>,
        _name: &str,
        _vers: &str,
        _timeout: Duration,
    ) -> Result<IndexEntry, Error> {
        Err(Error)
    }
    /// Never reached.
    pub(crate) fn yank(&self, _token: &str, _name: &str, _vers: &str) -> Result<(), Error> {
        Err(Error)
    }
    /// Never reached.
    pub(crate) fn unyank(&self, _token: &str, _name: &str, _vers: &str) -> Result<(), Error> {
        Err(Error)
    }
    /// Never reached.
    pub(crate) fn owners(
        &self,
        _token: &str,
        _name: &str,
        _change: &OwnerChange,
    ) -> Result<Vec<String>, Error> {
        Err(Error)
    }
}
