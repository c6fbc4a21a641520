//! The publish request's metadata (cargo's `NewCrate`), built from the manifest inside the
//! packaged `.crate`.
