//! Why reading or editing a file that held a token failed.

use std::path::PathBuf;

/// Why reading or editing a file that held a token (or cargo's config) failed. Each names
/// the file.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AdoptError {
    /// Opening, reading or writing it failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A FIFO, a directory, a device.
    #[error("{} is not a regular file; not read", .path.display())]
    NotRegular {
        /// The file.
        path: PathBuf,
    },
    /// Larger than [`READ_MAX`].
    #[error("{} is larger than 1 MiB; not read", .path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// A file path with no parent directory to write a temporary file in.
    #[error("no directory")]
    NoDirectory {
        /// The file.
        path: PathBuf,
    },
    /// Writing the replacement (temporary file, permissions, rename, removal) failed.
    #[error(transparent)]
    Write(std::io::Error),
    /// The temporary file could not be renamed over the file.
    #[error(transparent)]
    Persist(tempfile::PersistError),
    /// A credentials file that no longer parses as TOML.
    #[error(transparent)]
    Edit(toml_edit::TomlError),
    /// A config file that is not TOML.
    #[error("{} cannot be read as TOML: {source}", .path.display())]
    Toml {
        /// The file.
        path: PathBuf,
        /// What toml_edit said.
        #[source]
        source: toml_edit::TomlError,
    },
    /// The token changed between the window and the edit.
    #[error(
        "the token in {} changed after the window showed it, so it was neither stored nor \
         removed: run setup again",
        .path.display()
    )]
    TokenChanged {
        /// The file.
        path: PathBuf,
    },
    /// Shell lines that set the token and do more were left alone.
    #[error(
        "line {} of {} sets {var} to the token and does more, so it was left as it is: \
         remove the assignment from it by hand",
        .lines.iter().map(usize::to_string).collect::<Vec<_>>().join(", "),
        .path.display()
    )]
    LinesLeft {
        /// The file.
        path: PathBuf,
        /// The variable.
        var: String,
        /// The lines (from 1).
        lines: Vec<usize>,
    },
    /// `registry` in cargo's config is not a table.
    #[error("{}: `registry` is not a table", .path.display())]
    RegistryNotTable {
        /// The file.
        path: PathBuf,
    },
    /// `registry.global-credential-providers` is not a list.
    #[error("{}: registry.global-credential-providers is not a list", .path.display())]
    ProvidersNotList {
        /// The file.
        path: PathBuf,
    },
}
