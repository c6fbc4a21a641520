//! Publishing through the helper (`cargo confirm-gui publish`): cargo packages, the helper
//! reads each `.crate` into its own memory once, shows the whole plan in one window, and
//! uploads exactly those bytes itself, so the token never leaves the helper.
//!
//! - [`metadata`] builds the upload's JSON from the packaged manifest, as cargo does;
//! - [`upload`] speaks the registry's web API over the helper's own connections (rustls,
//!   system roots, no proxy from the environment or cargo's config, plain http only to
//!   loopback).

pub mod metadata;
pub mod upload;
