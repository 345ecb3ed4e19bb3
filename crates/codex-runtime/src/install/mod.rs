//! The install pipeline: fetch an artifact from a source, verify it, extract it, verify the
//! runtime inside, and move it into the cache whole.
//!
//! Data flows one way: [`install`] asks each [`Source`] what it offers ([`Source::offers`], the
//! same shape for every source), [`fetch`]es each artifact offered into the cache's scratch
//! area while hashing (or copies a runtime tree an installer left), checks the pins,
//! [`extract`]s it, checks the runtime root, writes the receipt and renames the root into
//! place. When the manifest pins the artifact's blocks, the extraction runs beside the download
//! from verified blocks only ([`crate::fetch::blocks`]) and is used once the whole artifact's
//! digests match. A cached runtime is answered by [`find_installed`] from its receipt, without
//! building an HTTP client.

mod attempt;
mod cached;
mod error;
mod import;
pub mod keep;
pub mod maintenance;
mod place;
mod transfer;

pub use crate::fetch::verify::VerifyError;
pub use attempt::{Attempt, AttemptFailure, Unavailable};
pub use cached::{Cached, Installed, cached, find_installed};
pub use error::Error;
pub use import::import;
use place::{Origin, adopt_candidate, install_artifact};
use transfer::{Fetched, download_failure, fetch, file_digests_of, limits_of, tree_of};

use std::cell::OnceCell;

use crate::cache::{Cache, CacheError};
use crate::extract::FileDigests;
use crate::fetch::download::NetworkOptions;
use crate::model::env::Env;
use crate::model::manifest::Pinned;
use crate::net::Http;
use crate::reporter::Reporter;
use crate::sources::{FailedLookup, LookupError, Offer, Source};

/// How an install may fetch.
#[derive(Debug, Clone, Default)]
pub struct InstallOptions {
    /// Sources in the order to try.
    pub sources: Vec<Source>,
    /// Never touch the network: remote sources are skipped.
    pub offline: bool,
}

/// Ensure the pinned runtime is in the cache, fetching it from the first source that serves
/// a verified artifact. Retries and timeouts come from the environment
/// ([`NetworkOptions::from_env`]); [`install_with`] takes them explicitly.
pub fn install(
    pinned: &Pinned<'_>,
    options: &InstallOptions,
    cache: &Cache,
    reporter: &dyn Reporter,
) -> Result<Installed, Error> {
    install_with(pinned, options, &NetworkOptions::from_env(), cache, reporter)
}

/// [`install`] with explicit retry and timeout settings.
pub fn install_with(
    pinned: &Pinned<'_>,
    options: &InstallOptions,
    network: &NetworkOptions,
    cache: &Cache,
    reporter: &dyn Reporter,
) -> Result<Installed, Error> {
    run(pinned, options, network, cache, reporter, false)
}

/// [`install_with`], or with `replace` a reinstall over whatever the cache holds.
fn run(
    pinned: &Pinned<'_>,
    options: &InstallOptions,
    network: &NetworkOptions,
    cache: &Cache,
    reporter: &dyn Reporter,
    replace: bool,
) -> Result<Installed, Error> {
    if !replace && let Some(installed) = find_installed(pinned, cache) {
        return Ok(installed);
    }
    // One process installs; the others wait here, then find it done.
    let _lock = cache.lock_runtime(&pinned.manifest.version, pinned.target, reporter)?;
    let damage = match cached(pinned, cache) {
        Cached::Intact(installed) if !replace => return Ok(*installed),
        Cached::Intact(_) | Cached::Missing => None,
        Cached::Damaged { entrypoint, reason } => Some((entrypoint, reason)),
    };
    cache.clean_stale_scratch();
    let sources: Vec<&Source> = options.sources.iter().filter(|s| !(options.offline && s.is_remote())).collect();
    if sources.is_empty() {
        if let Some((entrypoint, reason)) = damage {
            return Err(Error::Damaged { entrypoint, reason });
        }
        let mut error = not_installed(pinned, options.offline, &[]);
        if replace && let Error::NotInstalled { reason, .. } = &mut error {
            *reason = format!("reinstalling it needs a source, and {reason}");
        }
        return Err(error);
    }
    if let Some((entrypoint, reason)) = &damage {
        tracing::warn!(
            "the cached entrypoint {} is damaged ({reason}); looking for a verified copy",
            entrypoint.display()
        );
    }
    // One reqwest client for every source (trusting the CA bundles their configuration names);
    // each source sends only its own credentials.
    let http = OnceCell::new();
    let shared = || {
        http.get_or_init(|| {
            let ca_files = crate::sources::ca_files(&options.sources, Env::process());
            Http::with_timeouts(network.timeouts).with_ca_files(ca_files)
        })
    };
    let mut attempts = Vec::new();
    let mut record = |source: &str, location: String, failure: AttemptFailure| {
        // A source without the artifact is routine (the next one is asked); it is listed in
        // the final error if every source fails, but not announced as it happens.
        if !matches!(failure, AttemptFailure::NotFound) {
            reporter.attempt_failed(source, &location, &attempt::explain(source, &failure));
        }
        attempts.push(Attempt { source: source.to_owned(), location, failure });
    };
    for source in sources {
        let name = source.name().as_str();
        let own = OnceCell::new();
        let client = || {
            own.get_or_init(|| {
                shared().sharing(crate::sources::credentials(std::slice::from_ref(source), Env::process()))
            })
        };
        for offer in source.offers(pinned, &client, network) {
            let (location, result) = match offer {
                Offer::Artifact { artifact, location } => {
                    reporter.attempt(name, &location.to_string());
                    // A reinstall over a damaged runtime hashes every file: its pins may be
                    // what disagrees with the archive.
                    let digests = if replace { FileDigests::Compute } else { file_digests_of(&artifact, pinned) };
                    let fetched = fetch(&location, &artifact, cache, client, network, reporter, digests);
                    let result = fetched.and_then(|fetched| {
                        let from = Origin { source: name, location: &location };
                        install_artifact(pinned, &artifact, fetched, from, cache, reporter)
                    });
                    (location.to_string(), result)
                }
                Offer::Tree(candidate) => {
                    let location = candidate.to_string();
                    reporter.attempt(name, &location);
                    (location, adopt_candidate(pinned, &candidate, name, cache))
                }
                Offer::Failed(FailedLookup { location, error }) => {
                    let failure = lookup_failure(error, &location);
                    (location, Err(failure))
                }
            };
            match result {
                Ok(installed) => return Ok(installed),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Attempt(failure)) => record(name, location, failure),
            }
        }
    }
    if options.offline && !attempts.iter().any(|a| matches!(a.failure, AttemptFailure::Verification(_))) {
        if let Some((entrypoint, reason)) = damage {
            return Err(Error::Damaged { entrypoint, reason });
        }
        return Err(not_installed(pinned, true, &attempts));
    }
    Err(all_failed(pinned, attempts))
}

/// How a lookup that found nothing to fetch counts: missing, unavailable, or bad bytes the
/// source owned up to before they were fetched.
fn lookup_failure(error: LookupError, location: &str) -> Failure {
    match error {
        LookupError::NotFound => Failure::Attempt(AttemptFailure::NotFound),
        LookupError::Absent { reason } => Failure::Attempt(AttemptFailure::Absent(reason)),
        LookupError::Integrity { subject, pinned, listed } => {
            verification(VerifyError::Integrity { subject, expected: pinned.to_string(), actual: listed.to_string() })
        }
        LookupError::Digest { subject, pinned, listed } => {
            verification(VerifyError::Sha256 { subject, expected: pinned, actual: listed })
        }
        LookupError::Download(e) => download_failure(e, location),
        LookupError::Invalid { what, reason } => {
            Failure::Attempt(AttemptFailure::Unavailable(Unavailable::Listing { what, reason }))
        }
        LookupError::Program(e) => Failure::Attempt(AttemptFailure::Unavailable(Unavailable::Program(e))),
    }
}

fn not_installed(pinned: &Pinned<'_>, offline: bool, attempts: &[Attempt]) -> Error {
    let artifacts = pinned.pins.artifact_pins();
    let file = artifacts.first().map(|a| a.file.clone()).unwrap_or_default();
    let mut reason = if offline { "--offline forbids the network" } else { "no source is configured" }.to_owned();
    if !attempts.is_empty() {
        reason.push_str(" (tried: ");
        reason.push_str(&attempts.iter().map(Attempt::to_string).collect::<Vec<_>>().join("; "));
        reason.push(')');
    }
    Error::NotInstalled {
        version: pinned.manifest.version.clone(),
        target: pinned.target,
        reason,
        hint: format!(
            "fetch it with `codex-runtime install --version {} --target {}` on a connected machine, \
             or import `{file}` with `codex-runtime import {file}`",
            pinned.manifest.version, pinned.target
        ),
    }
}

/// Every attempt failed: a verification error when every source that had the artifact served
/// bad bytes, else "no source could provide it".
fn all_failed(pinned: &Pinned<'_>, attempts: Vec<Attempt>) -> Error {
    let bad = attempts.iter().filter(|a| matches!(a.failure, AttemptFailure::Verification(_))).count();
    let missing = attempts.iter().filter(|a| a.failure.is_missing()).count();
    let what = format!("codex {} for {}", pinned.manifest.version, pinned.target);
    if bad > 0 && bad + missing == attempts.len() {
        Error::Verification { what, attempts }
    } else {
        Error::NoSource { what, attempts }
    }
}

enum Failure {
    /// Try the next artifact or source.
    Attempt(AttemptFailure),
    /// Stop: the cache itself cannot be written.
    Fatal(Error),
}

impl From<CacheError> for Failure {
    fn from(e: CacheError) -> Self {
        Failure::Fatal(Error::Cache(e))
    }
}

fn verification(e: VerifyError) -> Failure {
    Failure::Attempt(AttemptFailure::Verification(e))
}

/// Install again even though the cache holds the runtime (`cache verify --repair`): under the
/// runtime's lock, from the sources, and the old runtime is replaced only once the new one is
/// verified, so a failed reinstall keeps it.
pub fn reinstall(
    pinned: &Pinned<'_>,
    options: &InstallOptions,
    cache: &Cache,
    reporter: &dyn Reporter,
) -> Result<Installed, Error> {
    run(pinned, options, &NetworkOptions::from_env(), cache, reporter, true)
}

#[cfg(test)]
mod tests {
    use super::place::move_into_place;
    use crate::model::history::Manifests;
    use codex_runtime_test_support::fixture::{self, FixtureRuntime};

    use super::*;
    use crate::model::manifest::Manifest;
    use crate::net::HttpError;
    use crate::reporter::NoReporter;
    use crate::sources::Location;

    /// Regression: when the new root could not be renamed in, the runtime moved aside was
    /// deleted with the scratch directory.
    #[test]
    fn a_failed_move_into_place_puts_back_what_was_there() {
        let dir = tempfile::tempdir().unwrap();
        let (dest, scratch) = (dir.path().join("runtimes/1.0.0/t"), dir.path().join("scratch"));
        std::fs::create_dir_all(&dest).unwrap();
        std::fs::create_dir_all(&scratch).unwrap();
        std::fs::write(dest.join("codex"), "old").unwrap();
        let missing_root = dir.path().join("no-such-root");
        assert!(move_into_place(&missing_root, &dest, &scratch).is_err());
        assert_eq!(std::fs::read_to_string(dest.join("codex")).unwrap(), "old");
        assert!(!scratch.join("replaced").exists());
    }

    fn manifest_of(runtime: &FixtureRuntime, channel: &str) -> Manifest {
        let target = runtime.manifest_target(&runtime.npm_tgz(), &runtime.wheel());
        let value = fixture::manifest(channel, &runtime.version, &[(runtime.target.as_str(), target)]);
        Manifest::parse(&value.to_string(), channel).unwrap()
    }

    #[test]
    fn a_github_package_is_imported_as_the_runtime_it_is_whichever_channel_lists_it_first() {
        let stable = FixtureRuntime::linux_x64("0.163.0", "0.163.0");
        let alpha = FixtureRuntime::linux_x64("0.162.0-alpha.15", "0.162.0a15");
        let manifests = Manifests::from_vec(vec![manifest_of(&stable, "stable"), manifest_of(&alpha, "alpha")]);
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path().join("cache"));
        // Both channels pin a file of this name; the bytes are the alpha's.
        let file = dir.path().join(alpha.github_asset_name());
        std::fs::write(&file, alpha.github_tgz()).unwrap();

        let installed = import(&file, &manifests, &cache, &NoReporter).unwrap();
        assert_eq!(installed.version.to_string(), "0.162.0-alpha.15");
        // With the stable runtime installed too, the same file is still the alpha.
        let stable_file = dir.path().join("s").join(stable.github_asset_name());
        std::fs::create_dir_all(stable_file.parent().unwrap()).unwrap();
        std::fs::write(&stable_file, stable.github_tgz()).unwrap();
        assert_eq!(import(&stable_file, &manifests, &cache, &NoReporter).unwrap().version.to_string(), "0.163.0");
        assert_eq!(import(&file, &manifests, &cache, &NoReporter).unwrap().version.to_string(), "0.162.0-alpha.15");
    }

    /// An SDK can tell why each source failed without reading the messages: here a 503 from a
    /// mirror and a refused connection, over a real loopback server.
    #[test]
    fn attempts_carry_typed_reasons() {
        use codex_runtime_test_support::http::{Fault, TestServer};
        let runtime = FixtureRuntime::linux_x64("0.163.0", "0.163.0");
        let manifest = manifest_of(&runtime, "stable");
        let pinned = manifest.pinned(runtime.target.parse().unwrap()).unwrap();
        let server = TestServer::start();
        for file in [runtime.npm_file_name(), runtime.wheel_file_name()] {
            server.fault(&format!("/m/{file}"), Fault::Status(503));
        }
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let refused = format!("http://{}/m", closed.local_addr().unwrap());
        drop(closed);
        let sources = vec![
            Source::Mirror(Location::parse(&format!("{}/m", server.url()))),
            Source::Mirror(Location::parse(&refused)),
        ];
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path().join("cache"));
        let network = NetworkOptions { retries: 0, ..NetworkOptions::builtin() };
        let options = InstallOptions { sources, offline: false };
        let Err(Error::NoSource { attempts, .. }) = install_with(&pinned, &options, &network, &cache, &NoReporter)
        else {
            panic!("expected no source");
        };
        let unavailable: Vec<&Unavailable> = attempts
            .iter()
            .filter_map(|a| match &a.failure {
                AttemptFailure::Unavailable(u) => Some(u),
                _ => None,
            })
            .collect();
        assert!(unavailable.len() >= 2, "{attempts:?}");
        assert_eq!(unavailable[0].status(), Some(503), "{}", unavailable[0]);
        let last = unavailable.last().unwrap();
        assert!(matches!(last.http(), Some(HttpError::Connect(_))), "{last:?}");
        assert_eq!(last.status(), None);
        assert!(!last.is_tls());
    }
}
