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

/// Everything that can go wrong, by kind. The binary maps [`Error::kind`] to exit codes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Select(#[from] SelectError),
    #[error(transparent)]
    VersionFrom(#[from] crate::model::version_from::VersionFromError),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("codex {version} for {target} is not installed and {reason}; {hint}")]
    NotInstalled { version: RuntimeVersion, target: Target, reason: String, hint: String },
    #[error("{} does not exist or is not a file", path.display())]
    NoSuchFile { path: PathBuf },
    #[error("{} is not an artifact any channel pins; import takes the npm tarball, the wheel or the GitHub package of a pinned version under its published file name", path.display())]
    UnknownArtifact { path: PathBuf },
    #[error(transparent)]
    Launch(#[from] codex_app_server_client::Error),
    #[error(
        "the cached entrypoint {} is damaged ({reason}) and cannot be reinstalled offline; run `codex-runtime cache verify --repair`",
        entrypoint.display()
    )]
    Damaged { entrypoint: PathBuf, reason: String },
    #[error("verification failed for {what}; nothing was installed:{}", AttemptList(attempts))]
    Verification { what: String, attempts: Vec<Attempt> },
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
