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
//! An SDK resolves its `codex_bin` with one call; a cached runtime is answered from the cache
//! with no network:
//!
//! ```
//! # use codex_runtime_test_support::{fixture::{self, FixtureRuntime}, http::TestServer};
//! # let fixture = FixtureRuntime::linux_x64("0.163.0", "0.163.0");
//! # let (npm, wheel) = (fixture.npm_tgz(), fixture.wheel());
//! # let server = TestServer::start();
//! # server.add(&format!("/mirror/{}", fixture.wheel_file_name()), wheel.clone());
//! # let dir = tempfile::tempdir()?;
//! # let manifest = dir.path().join("stable.json");
//! # let pins = fixture::manifest("stable", "0.163.0", &[(&fixture.target, fixture.manifest_target(&npm, &wheel))]);
//! # std::fs::write(&manifest, pins.to_string())?;
//! use codex_runtime::{Channel, NoReporter, Request, SourceName, resolve};
//!
//! let mut request = Request::channel(Channel::Stable);
//! request.target = Some("x86_64-unknown-linux-musl".parse()?); // None: the host's
//! request.cache_dir = Some(dir.path().join("cache")); // None: the user cache directory
//! request.manifest = Some(manifest); // None: the pins compiled into this build
//! request.sources.mirror = Some(format!("{}/mirror", server.url()));
//! request.sources.only = vec![SourceName::Mirror];
//!
//! let runtime = resolve(&request, &NoReporter)?;
//! assert!(runtime.path.ends_with("bin/codex") && !runtime.cached);
//! assert_eq!(runtime.version.to_string(), "0.163.0");
//! // The launcher puts `runtime.path_dir` first on PATH and runs `runtime.path`.
//!
//! let again = resolve(&request, &NoReporter)?;
//! assert!(again.cached);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`api::check`] then launches the runtime and checks the `initialize` handshake against
//! its pin.

pub mod api;
pub mod cache;
pub mod extract;
pub mod fetch;
pub mod install;
pub mod model;
pub mod net;
pub mod release;
pub mod reporter;
pub mod sources;

use std::fmt;
use std::path::PathBuf;

pub use api::{Request, check, resolve};
pub use cache::{Cache, CacheError, Receipt};
pub use install::{Attempt, InstallOptions, Installed};
pub use model::digest::Sha256;
pub use model::history::{Heads, Manifests, SelectError};
pub use model::manifest::{Channel, Manifest, ManifestError, Pinned};
pub use model::requirement::VersionRequest;
pub use model::target::{Target, TargetError};
pub use model::version::{InvalidVersion, RuntimeVersion};
pub use reporter::{NoReporter, Reporter};
pub use sources::{Source, SourceError, SourceName, SourceOptions};

/// Everything that can go wrong, by kind. The binary maps [`Error::kind`] to exit codes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Select(#[from] SelectError),
    #[error(transparent)]
    VersionFrom(#[from] model::version_from::VersionFromError),
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
    #[error(transparent)]
    Bundle(#[from] release::bundle::BundleError),
    #[error(transparent)]
    ChannelUpdate(#[from] release::channel_update::UpdateError),
    #[error(transparent)]
    ChannelSync(#[from] release::channel_sync::SyncError),
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
    /// The runtime cannot be launched here.
    Incompatible,
    /// A pin no longer holds: what a registry publishes differs from what is pinned.
    Drift,
    /// Anything else.
    Other,
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
            Error::Bundle(e) => e.kind(),
            Error::ChannelUpdate(e) => e.kind(),
            Error::ChannelSync(e) => e.kind(),
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
