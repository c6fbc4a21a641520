//! # cargo-confirm-gui
//!
//! A cargo credential provider that keeps registry tokens in the OS keychain and hands one
//! to cargo only after a person clicks **Approve** in a native window that shows the
//! transaction: registry, operation, crate, version, checksum, and who asked.
//!
//! ## Pipeline (one request = one process)
//!
//! [`pipeline::serve`] reads top to bottom:
//!
//! 1. [`protocol`]: hello, one bounded request line, strict parsing into owned types.
//! 2. [`env`](mod@env): one snapshot of the environment (display, CI markers); nothing else reads it.
//! 3. [`gate`]: a pure decision (refuse / pass / pre-flight / prompt) before any store or
//!    display is touched, so a CI refusal never opens a window.
//! 4. [`store`]: check that an entry exists, without reading the secret.
//! 5. [`evidence`]: who asked (parent chain, pinned with a pidfd).
//! 6. [`ui`]: the window; Deny is the default, Approve is a pointer click after arming.
//! 7. Release: only now is the secret read, written with `cache: never`, then wiped.
//! 8. [`audit`]: one line per decision, never a token.
//!
//! ## Errors
//!
//! See [`error`] for the table of what cargo does with each error.

pub mod adopt;
pub mod audit;
pub mod cargo_config;
mod child;
pub mod cli;
pub mod display;
pub mod env;
pub mod error;
pub mod evidence;
pub mod gate;
pub mod harden;
pub mod index_url;
pub mod input_guard;
pub mod package;
pub mod pipeline;
pub mod policy;
pub mod presence;
pub mod protocol;
pub mod publish;
pub mod registries;
pub mod request;
#[cfg(target_os = "linux")]
mod sealed;
mod state;
pub mod store;
pub mod text;
mod throttle;
pub mod token;
pub mod ui;
