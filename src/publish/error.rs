//! Why packaging, planning or uploading stopped.

use std::path::PathBuf;

/// Why packaging, planning or uploading stopped. `Display` is the message people see;
/// `source` keeps the cause.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// `--token` on the command line.
    #[error(
        "--token is not taken: the token comes from this helper's store, and never from the \
         command line"
    )]
    TokenArgument,
    /// `--dry-run`, which this command does not do.
    #[error("--dry-run: run `cargo package` to see what would be published")]
    DryRun,
    /// `cargo package` did not start.
    #[error("cannot run {} package: {source}", .cargo.display())]
    CargoPackage {
        /// The cargo that was run.
        cargo: PathBuf,
        /// Why it did not start.
        #[source]
        source: std::io::Error,
    },
    /// Waiting for `cargo package` failed.
    #[error(transparent)]
    CargoPackageWait(std::io::Error),
    /// `cargo package` exited with a failure.
    #[error("`cargo package` failed ({status}); nothing was published")]
    PackageFailed {
        /// How it exited.
        status: std::process::ExitStatus,
    },
    /// `cargo package` printed no "Packaging" line.
    #[error("`cargo package` packaged nothing; nothing was published")]
    PackagedNothing,
    /// A "Packaging" line named what cannot be a crate.
    #[error("cargo's output named a crate that cannot be: {0}")]
    BadPackagingLine(#[source] crate::package::InvalidName),
    /// A "Packaging" line named a crate that is not a package of the workspace.
    #[error(
        "cargo's output named {name} {vers}, which is not a package of this workspace; \
         nothing was published"
    )]
    NotMember {
        /// The name in the line.
        name: String,
        /// The version in the line.
        vers: String,
    },
    /// A packaged `.crate` cannot be opened or read.
    #[error("cannot read the packaged {}: {source}", .path.display())]
    ReadCrate {
        /// The `.crate`.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The packaged `.crate` is a FIFO, a directory…
    #[error("{} is not a regular file", .path.display())]
    NotRegularFile {
        /// The `.crate`.
        path: PathBuf,
    },
    /// The packaged `.crate` is larger than [`MAX_CRATE`].
    #[error("{} is larger than 1 GiB", .path.display())]
    CrateTooLarge {
        /// The `.crate`.
        path: PathBuf,
    },
    /// `cargo metadata` did not start.
    #[error("cannot run cargo metadata: {0}")]
    CargoMetadata(#[source] std::io::Error),
    /// `cargo metadata` exited with a failure.
    #[error("`cargo metadata` failed; nothing was published")]
    MetadataFailed,
    /// `cargo metadata` printed what it does not print.
    #[error("cargo metadata's output cannot be read: {0}")]
    MetadataOutput(#[source] serde_json::Error),
    /// The current directory (for a relative `--target-dir`) is gone.
    #[error(transparent)]
    CurrentDir(std::io::Error),
    /// `cargo metadata` gave no `target_directory`.
    #[error("cargo metadata named no target directory")]
    NoTargetDirectory,
    /// A crate published alone has `publish = false`.
    #[error("{name} {vers} has `publish = false` in its Cargo.toml; nothing was published")]
    PublishFalse {
        /// The crate.
        name: String,
        /// Its version.
        vers: String,
    },
    /// `package.publish` does not name the registry.
    #[error(
        "{name} {vers} may only be published to {} (`package.publish`), not to {}; nothing \
         was published",
        .allowed.join(", "),
        .registry.as_deref().unwrap_or("a registry given by URL")
    )]
    RegistryNotAllowed {
        /// The crate.
        name: String,
        /// Its version.
        vers: String,
        /// `package.publish`.
        allowed: Vec<String>,
        /// The registry published to, `None` when given by URL.
        registry: Option<String>,
    },
    /// Every crate of the plan has `publish = false`.
    #[error("no crate of the plan may be published; nothing was published")]
    NothingPublishable,
    /// The plan's crates depend on each other in a cycle.
    #[error("the crates {} depend on each other in a cycle", .names.join(", "))]
    Cycle {
        /// The crates left when no more could be ordered.
        names: Vec<String>,
    },
    /// The uploader process did not start.
    #[error(transparent)]
    UploaderStart(crate::child::ChildError),
    /// [`Uploader::run`] called twice.
    #[error("the uploader was already used")]
    UploaderUsed,
    /// The job could not be written to the uploader.
    #[error("the uploader cannot be given its job: {0}")]
    GiveJob(#[source] crate::child::LineError),
    /// The uploader's answer is not one.
    #[error("the uploader's answer cannot be read: {0}")]
    Answer(#[source] crate::child::ChildError),
    /// The job could not be read from stdin (in the uploader).
    #[error(transparent)]
    ReadJob(std::io::Error),
    /// The job's first line is not a job.
    #[error("bad job: {0}")]
    BadJob(#[source] serde_json::Error),
    /// An outcome could not be serialised (in the uploader).
    #[error(transparent)]
    Encode(serde_json::Error),
    /// An outcome could not be written to stdout (in the uploader).
    #[error(transparent)]
    Say(std::io::Error),
    /// The broker closed the pipe before a crate's body was whole.
    #[error("the job ended early: {0}")]
    JobEnded(#[source] std::io::Error),
}
