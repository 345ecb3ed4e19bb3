//! Resolve, download, verify and cache the pinned `codex` runtime.
//!
//! The channel manifests in `channels/` pin, for each of the six targets upstream ships, the
//! runtime's entrypoint digest and every published artifact's digest. This crate turns a
//! request (a channel or version, a target) into a verified runtime in the cache:
//!
//! ```text
//! Manifests -> Pinned -> install: Source -> fetch (hash while copying) -> verify
//!                                 -> extract (bounded, safe) -> verify root -> rename into Cache
//! ```
//!
//! ```no_run
//! use codex_runtime::{Cache, Channel, InstallOptions, Manifests, NoReporter, Target, install};
//!
//! let manifests = Manifests::embedded();
//! let pinned = manifests.channel(Channel::Stable)?.pinned(Target::host()?)?;
//! let cache = Cache::locate(None)?;
//! let options = InstallOptions { sources: codex_runtime::SourceOptions::default().resolve()?, offline: false };
//! let runtime = install::install(&pinned, &options, &cache, &NoReporter)?;
//! println!("{}", runtime.path.display());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod cache;
pub mod digest;
pub mod extract;
pub mod http;
pub mod install;
pub mod manifest;
pub mod reporter;
pub mod source;
pub mod target;
pub mod version;

use std::fmt;
use std::path::PathBuf;

pub use cache::{Cache, CacheError, Receipt};
pub use digest::Sha256;
pub use install::{Attempt, InstallOptions, Installed};
pub use manifest::{Channel, Manifest, ManifestError, Manifests, Pinned, SelectError};
pub use reporter::{NoReporter, Reporter};
pub use source::{Source, SourceError, SourceName, SourceOptions};
pub use target::{Target, TargetError};
pub use version::{InvalidVersion, RuntimeVersion};

/// Everything that can go wrong, by kind. The binary maps [`Error::kind`] to exit codes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Select(#[from] SelectError),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("codex {version} for {target} is not installed and {reason}; {hint}")]
    NotInstalled { version: RuntimeVersion, target: Target, reason: String, hint: String },
    #[error("{} is not an artifact any channel pins; import takes the npm tarball, the wheel or the GitHub package of a pinned version under its published file name", path.display())]
    UnknownArtifact { path: PathBuf },
    #[error("verification failed for {what}; nothing was installed:{}", AttemptList(attempts))]
    Verification { what: String, attempts: Vec<Attempt> },
    #[error("no source could provide {what}:{}", AttemptList(attempts))]
    NoSource { what: String, attempts: Vec<Attempt> },
}

/// The kinds of failure the command line distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request itself is wrong (unknown target, version not pinned, missing option).
    Usage,
    /// Not installed, and not allowed to install.
    NotInstalled,
    /// A digest, size, layout or `codex-package.json` mismatch.
    Verification,
    /// No source could provide the artifact.
    NoSource,
    /// Anything else.
    Other,
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Select(_) | Error::Target(_) | Error::Source(_) | Error::UnknownArtifact { .. } => ErrorKind::Usage,
            Error::NotInstalled { .. } => ErrorKind::NotInstalled,
            Error::Verification { .. } => ErrorKind::Verification,
            Error::NoSource { .. } => ErrorKind::NoSource,
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
