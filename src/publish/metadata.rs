//! The publish request's metadata (cargo's `NewCrate`), built from the manifest inside the
//! packaged `.crate`. (Stand-in until the builder lands.)

/// What one packaged crate will be published as.
pub struct Metadata {
    /// Crate name.
    pub name: String,
    /// Version.
    pub vers: String,
    /// The JSON part of the upload.
    pub json: serde_json::Value,
    /// Names of the crates it depends on (normal and build).
    pub depends_on: Vec<String>,
}

/// Builds the metadata for the `.crate` in `bytes`, to be published to `target_index`.
pub fn build(_bytes: &[u8], _target_index: &str) -> Result<Metadata, String> {
    Err("not built yet".into())
}

/// The body of `PUT /api/v1/crates/new`.
pub fn body(json: &serde_json::Value, bytes: &[u8]) -> Vec<u8> {
    let j = serde_json::to_vec(json).unwrap_or_default();
    let mut out = Vec::with_capacity(8 + j.len() + bytes.len());
    out.extend_from_slice(&(j.len() as u32).to_le_bytes());
    out.extend_from_slice(&j);
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
    out
}
