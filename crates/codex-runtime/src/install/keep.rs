//! Upstream artifacts kept whole: `CACHE/artifacts/FILE`, each verified against its pins when it
//! is fetched and again whenever it is used, for a bundle to publish upstream's own bytes.
//!
//! The directory holds artifacts flat under their published names, so it is also a local
//! mirror: an install that follows ([`keep_artifact`] first, then [`super::install`] with the
//! directory as a mirror) extracts the kept file instead of downloading it again.

use std::cell::OnceCell;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use super::attempt::{Attempt, AttemptFailure};
use super::transfer::fetch_as;
use super::{Error, Failure, InstallOptions, all_failed, attempt, lookup_failure};
use crate::cache::{Cache, CacheError};
use crate::fetch::download::NetworkOptions;
use crate::fetch::verify::{CopyError, Expected, Verifier};
use crate::model::digest::Digests;
use crate::model::env::Env;
use crate::model::manifest::{ArtifactPin, Pinned};
use crate::net::Http;
use crate::pipe::Pipe;
use crate::reporter::Reporter;
use crate::sources::{FailedLookup, Location, Offer, Source};

/// An upstream artifact in the cache, verified.
#[derive(Debug, Clone)]
pub struct Kept {
    pub path: PathBuf,
    pub digests: Digests,
    /// The source it was fetched from (`cache` when an earlier run kept it), and where.
    pub source: String,
    pub from: String,
}

/// The artifact `artifact` of `pinned`, kept whole in the cache: the copy kept earlier when it
/// still passes the pins, else the first source's bytes that pass them (each source asked for
/// this very file; a runtime tree some installer left is no artifact and is not asked).
pub fn keep_artifact(
    pinned: &Pinned<'_>,
    artifact: &ArtifactPin,
    options: &InstallOptions,
    cache: &Cache,
    reporter: &dyn Reporter,
) -> Result<Kept, Error> {
    let kept = cache.artifacts_dir().join(&artifact.file);
    match verify_file(&kept, &Expected::of(artifact), &artifact.file) {
        Ok(digests) => {
            // Where an earlier run fetched it, so a bundle says the same on every run.
            let (source, from) = read_origin(&kept).unwrap_or_else(|| ("cache".into(), kept.display().to_string()));
            return Ok(Kept { path: kept, digests, source, from });
        }
        Err(Failure::Attempt(AttemptFailure::NotFound)) => {}
        Err(Failure::Fatal(e)) => return Err(e),
        Err(Failure::Attempt(bad)) => {
            tracing::warn!("the kept {} fails its pins ({bad}); fetching it again", kept.display());
            let _ = fs_err::remove_file(&kept);
        }
    }
    let network = NetworkOptions::from_env();
    let shared = OnceCell::new();
    let mut attempts = Vec::new();
    let sources = options.sources.iter().filter(|s| !(options.offline && s.is_remote()));
    for source in sources {
        let name = source.name().as_str();
        let own = OnceCell::new();
        let client = || {
            own.get_or_init(|| {
                let credentials = crate::sources::credentials(std::slice::from_ref(source), Env::process());
                let build = || {
                    let ca_files = crate::sources::ca_files(&options.sources, Env::process());
                    Http::with_timeouts(network.timeouts).with_ca_files(ca_files)
                };
                shared.get_or_init(build).sharing(credentials)
            })
        };
        for offer in source.offers(pinned, &client, &network) {
            let (location, failure) = match offer {
                Offer::Artifact { artifact: offered, location } if offered.file == artifact.file => {
                    reporter.attempt(name, &location.to_string());
                    // A local file is copied (verified as it is read), never linked: the cache
                    // and the bundle do not share the user's own files.
                    match fetch_as(&location, &offered, cache, client, &network, reporter, None) {
                        Ok(fetched) => {
                            let path = place(&fetched.download, &kept)?;
                            let from = location.to_string();
                            write_origin(&kept, name, &from);
                            return Ok(Kept { path, digests: fetched.digests, source: name.to_owned(), from });
                        }
                        Err(Failure::Fatal(e)) => return Err(e),
                        Err(Failure::Attempt(failure)) => (location.to_string(), failure),
                    }
                }
                Offer::Failed(FailedLookup { location, error }) => match lookup_failure(error, &location) {
                    Failure::Fatal(e) => return Err(e),
                    Failure::Attempt(failure) => (location, failure),
                },
                Offer::Artifact { .. } | Offer::Tree(_) => continue,
            };
            if !failure.is_missing() {
                reporter.attempt_failed(name, &location, &attempt::explain(name, &failure));
            }
            attempts.push(Attempt { source: name.to_owned(), location, failure });
        }
    }
    Err(all_failed(pinned, attempts))
}

/// Beside `FILE`, `FILE.origin.json`: the source and (redacted) location it was fetched from.
fn origin_file(kept: &Path) -> PathBuf {
    let mut name = kept.file_name().unwrap_or_default().to_owned();
    name.push(".origin.json");
    kept.with_file_name(name)
}

fn write_origin(kept: &Path, source: &str, from: &str) {
    let text = serde_json::json!({"source": source, "from": from}).to_string();
    if let Err(e) = fs_err::write(origin_file(kept), text) {
        tracing::debug!("cannot record where {} came from: {e}", kept.display());
    }
}

fn read_origin(kept: &Path) -> Option<(String, String)> {
    let value: serde_json::Value = serde_json::from_slice(&fs_err::read(origin_file(kept)).ok()?).ok()?;
    // Written by this tool, but a file in the cache: redacted again, control characters out.
    let clean = |text: &str| text.chars().filter(|c| !c.is_control()).collect::<String>();
    let source = clean(value["source"].as_str()?);
    let from = crate::net::RedactedUrl::new(clean(value["from"].as_str()?)).to_string();
    Some((source, from))
}

/// Move a verified download into the kept directory (same file system: a rename).
fn place(download: &Path, kept: &Path) -> Result<PathBuf, Error> {
    let dir = kept.parent().expect("a kept artifact has a directory");
    fs_err::create_dir_all(dir).map_err(|e| Error::Cache(CacheError::Fs(e)))?;
    fs_err::rename(download, kept).map_err(|e| Error::Cache(CacheError::Fs(e)))?;
    Ok(kept.to_owned())
}

/// A kept artifact read whole against `pin` (for `cache verify`): why it fails, if it does.
pub fn check_kept(path: &Path, pin: &ArtifactPin) -> Result<(), String> {
    match verify_file(path, &Expected::of(pin), &pin.file) {
        Ok(_) => Ok(()),
        Err(Failure::Attempt(AttemptFailure::NotFound)) => Err("it is gone".to_owned()),
        Err(Failure::Attempt(failure)) => Err(failure.to_string()),
        Err(Failure::Fatal(e)) => Err(crate::model::error::error_chain(&e)),
    }
}

/// Read `file` whole through a verifier of `expected`: its digests, or why not.
fn verify_file(file: &Path, expected: &Expected, subject: &str) -> Result<Digests, Failure> {
    let mut body = match File::open(file) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Failure::Attempt(AttemptFailure::NotFound)),
        Err(e) => return Err(CacheError::io("read", file)(e).into()),
    };
    // The whole file's digests: its blocks add nothing to them once it is all here.
    let whole = Expected { blocks: None, ..expected.clone() };
    let mut verifier = Verifier::new(subject, &whole);
    match verifier.copy(ONE_THREAD, &mut body, |_: &[u8], _| Ok(()), &mut |_| {}) {
        Ok(()) => {}
        Err(CopyError::Read { source, .. }) => return Err(CacheError::io("read", file)(source).into()),
        Err(CopyError::Verify(e)) => return Err(super::verification(e)),
        Err(CopyError::Write(_)) => unreachable!("nothing is written"),
    }
    verifier.finish().map_err(super::verification)
}

/// Hashing a file already on disk runs on one thread.
const ONE_THREAD: Pipe = Pipe::inline(256 * 1024);

/// The sources of `options` with the kept artifacts first, as a local mirror.
pub fn with_kept_first(options: &InstallOptions, cache: &Cache) -> InstallOptions {
    let mut sources = vec![Source::Mirror(Location::File(cache.artifacts_dir()))];
    sources.extend(options.sources.iter().cloned());
    InstallOptions { sources, offline: options.offline }
}
