//! Everything an install can fail with. The release stage wraps it in its own errors; the
//! command line maps [`Error::kind`] to its exit codes.

use std::fmt;
use std::path::PathBuf;

use crate::cache::CacheError;
use crate::install::Attempt;
use crate::model::error::ErrorKind;
use crate::model::history::SelectError;
use crate::model::manifest::ManifestError;
use crate::model::target::{Target, TargetError};
use crate::model::version::RuntimeVersion;
use crate::sources::SourceError;

/// Everything an install, a resolve or a check can fail with. The command line maps
/// [`Error::kind`] to its exit codes (the README's "Exit codes"); each variant names its code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A manifest given with `--manifest` does not parse or validate. Exit 1.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The version, requirement or target asked for is not pinned. Exit 2.
    #[error(transparent)]
    Select(#[from] SelectError),
    /// A pin file given with `--version-from` cannot be read or pins no runtime. Exit 2.
    #[error(transparent)]
    VersionFrom(#[from] crate::model::version_from::VersionFromError),
    /// An unknown target triple, or a host no target fits. Exit 2.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// A source option is wrong (a mirror URL that is not one, no index configured). Exit 2.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The cache cannot be used: exit 2 when the directory is not a cache, else exit 1.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// Not installed, and not allowed to install (`--offline`, `--no-install`). Exit 3.
    #[error("codex {version} for {target} is not installed and {reason}; {hint}")]
    NotInstalled { version: RuntimeVersion, target: Target, reason: String, hint: String },
    /// `import` was given a path that is not a file. Exit 2.
    #[error("{} does not exist or is not a file", path.display())]
    NoSuchFile { path: PathBuf },
    /// `import` was given a file no pin names. Exit 2.
    #[error("{} is not an artifact any channel pins; import takes the npm tarball, the wheel or the GitHub package of a pinned version under its published file name", path.display())]
    UnknownArtifact { path: PathBuf },
    /// The runtime could not be launched or its handshake failed: exit 6 when it cannot be
    /// started here at all, else exit 1 (the handshake's own verdicts are a report, not this).
    #[error(transparent)]
    Launch(#[from] codex_app_server_client::Error),
    /// The cached runtime fails its receipt and no source may replace it. Exit 4.
    #[error(
        "the cached entrypoint {} is damaged ({reason}) and cannot be reinstalled offline; run `codex-runtime cache verify --repair`",
        entrypoint.display()
    )]
    Damaged { entrypoint: PathBuf, reason: String },
    /// Every source that had the artifact served bytes that fail the pins. Exit 4.
    #[error("verification failed for {what}; nothing was installed:{}", AttemptList(attempts))]
    Verification { what: String, attempts: Vec<Attempt> },
    /// No source could provide the artifact (each attempt is listed with its reason). Exit 5.
    #[error("no source could provide {what}:{}", AttemptList(attempts))]
    NoSource { what: String, attempts: Vec<Attempt> },
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Select(_)
            | Error::VersionFrom(_)
            | Error::Target(_)
            | Error::Source(_)
            | Error::UnknownArtifact { .. }
            | Error::NoSuchFile { .. } => ErrorKind::Usage,
            Error::NotInstalled { .. } => ErrorKind::NotInstalled,
            Error::Cache(CacheError::NotACache { .. }) => ErrorKind::Usage,
            Error::Verification { .. } | Error::Damaged { .. } => ErrorKind::Verification,
            Error::NoSource { .. } => ErrorKind::NoSource,
            // A runtime that cannot even be started here is incompatible; a temporary directory,
            // a thread or `PATH` that cannot be had is this machine's trouble, not the runtime's.
            Error::Launch(
                codex_app_server_client::Error::Spawn { .. } | codex_app_server_client::Error::Exec { .. },
            ) => ErrorKind::Incompatible,
            Error::Launch(_) => ErrorKind::Other,
            Error::Manifest(_) | Error::Cache(_) => ErrorKind::Other,
        }
    }
}

struct AttemptList<'a>(&'a [Attempt]);

impl fmt::Display for AttemptList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str(" no source was tried");
        }
        for attempt in self.0 {
            write!(f, "\n  - {attempt}")?;
        }
        Ok(())
    }
}
