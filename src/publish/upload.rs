//! The registry's web API, spoken by the helper itself. (Stand-in until the client lands:
//! every call fails.)

use std::time::Duration;

/// What went wrong talking to the registry.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Error(String);

/// A version's line in the index.
#[derive(Debug, Clone)]
pub struct IndexEntry {
    /// Its checksum.
    pub cksum: String,
    /// Whether it is yanked.
    pub yanked: bool,
}

/// The helper's own HTTP client for one registry.
pub struct Client;

impl Client {
    /// For the registry whose index URL is `index_url`.
    pub fn new(_index_url: &str, _token_for_index: Option<&str>) -> Result<Client, Error> {
        Err(Error("not built yet".into()))
    }
    /// Publishes one body.
    pub fn publish(&self, _token: &str, _body: &[u8]) -> Result<Vec<String>, Error> {
        Err(Error("not built yet".into()))
    }
    /// Waits for a version in the index.
    pub fn wait_for(
        &self,
        _token_for_index: Option<&str>,
        _name: &str,
        _vers: &str,
        _timeout: Duration,
    ) -> Result<IndexEntry, Error> {
        Err(Error("not built yet".into()))
    }
}
