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
pub mod pipe;
pub mod release;
pub mod reporter;
pub mod sources;

pub use api::{Request, check, resolve};
pub use cache::{Cache, CacheError, Receipt};
pub use install::{Attempt, Error, InstallOptions, Installed};
pub use model::digest::Sha256;
pub use model::error::ErrorKind;
pub use model::history::{Heads, Manifests, SelectError};
pub use model::manifest::{Channel, Manifest, ManifestError, Pinned};
pub use model::requirement::VersionRequest;
pub use model::target::{Target, TargetError};
pub use model::version::{InvalidVersion, RuntimeVersion};
pub use reporter::{NoReporter, Reporter};
pub use sources::{Source, SourceError, SourceName, SourceOptions};
