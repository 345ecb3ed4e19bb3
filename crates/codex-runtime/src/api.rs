//! The library API for SDKs: one call to get a verified runtime, one to check it.
//!
//! [`resolve`] turns a [`Request`] (a channel or version, a target, a cache, sources) into an
//! installed, verified runtime, answering from the cache without any network when it can.
//! [`check`] launches it and runs the `initialize` handshake against its pin.

use std::path::PathBuf;
use std::time::Duration;

use crate::cache::Cache;
use crate::install::Error;
use crate::install::{self, InstallOptions, Installed};
use crate::model::history::Manifests;
use crate::model::manifest::{Channel, Manifest};
use crate::model::requirement::VersionRequest;
use crate::model::target::Target;
use crate::model::version::RuntimeVersion;
use crate::model::version_from;
use crate::reporter::Reporter;
use crate::sources::SourceOptions;

/// Which runtime, from where, into which cache.
#[derive(Debug, Clone)]
pub struct Request {
    /// The channel whose pin to use, unless `version` is set.
    pub channel: Channel,
    /// A version request (exact, partial or a requirement) resolved against the pinned
    /// history, newest match first.
    pub version: Option<VersionRequest>,
    /// A pin file of the consumer's (`pyproject.toml`, `uv.lock`, `requirements*.txt`,
    /// `package.json`, `package-lock.json`) whose SDK pin names the version; wins over
    /// `version`.
    pub version_from: Option<PathBuf>,
    /// The target; `None` for the host's.
    pub target: Option<Target>,
    /// The cache directory; `None` for `CODEX_RUNTIME_CACHE_DIR` or the user cache directory.
    pub cache_dir: Option<PathBuf>,
    /// A manifest file to use instead of the embedded manifests.
    pub manifest: Option<PathBuf>,
    /// Where to fetch from when the runtime is not cached.
    pub sources: SourceOptions,
    /// Never touch the network.
    pub offline: bool,
}

impl Default for Request {
    fn default() -> Self {
        Request::channel(Channel::Stable)
    }
}

impl Request {
    /// The pinned runtime of a channel, for the host, with the default cache and sources.
    pub fn channel(channel: Channel) -> Request {
        Request {
            channel,
            version: None,
            version_from: None,
            target: None,
            cache_dir: None,
            manifest: None,
            sources: SourceOptions::default(),
            offline: false,
        }
    }

    /// An exact pinned version, for the host, with the default cache and sources.
    pub fn version(version: RuntimeVersion) -> Request {
        let text = version.to_string();
        Request { version: Some(VersionRequest::Exact { version, text }), ..Request::default() }
    }
}

/// Resolve a request to a verified runtime in the cache, installing it when needed.
///
/// A cached runtime costs two small file reads: no HTTP client, no subprocess.
pub fn resolve(request: &Request, reporter: &dyn Reporter) -> Result<Installed, Error> {
    let manifests = match &request.manifest {
        Some(file) => Manifests::single(Manifest::from_file(file)?),
        None => Manifests::embedded(),
    };
    let target = match request.target {
        Some(target) => target,
        None => Target::host()?,
    };
    let version = match &request.version_from {
        Some(file) => manifests.resolve_pinned_by(&version_from::read(file)?)?,
        None => manifests.resolve_request(request.channel, request.version.as_ref())?,
    };
    let pinned = manifests.pinned(&version, target)?;
    let cache = Cache::locate(request.cache_dir.clone())?;
    if let Some(installed) = install::find_installed(&pinned, &cache) {
        return Ok(installed);
    }
    let options = InstallOptions { sources: request.sources.sources()?, offline: request.offline };
    install::install(&pinned, &options, &cache, reporter)
}

/// Launch the runtime's app-server, run `initialize` and check that it reports the pinned
/// version on its target's platform. `timeout` bounds the wait for the answer (10 s when
/// `None`). An incompatible runtime is a report with `ok: false`, not an error.
pub fn check(runtime: &Installed, timeout: Option<Duration>) -> Result<codex_app_server_client::Report, Error> {
    let mut options = codex_app_server_client::CheckOptions::new(&runtime.path);
    options.path_dir = Some(runtime.path_dir.clone());
    if let Some(timeout) = timeout {
        options.timeout = timeout;
    }
    options.expected.version = codex_app_server_client::ExpectedVersion::Exact(runtime.version.to_string());
    options.expected.platform_os = Some(runtime.target.platform_os().to_owned());
    options.expected.platform_family = Some(runtime.target.platform_family().to_owned());
    Ok(codex_app_server_client::check(&options)?)
}
