//! The install pipeline: fetch an artifact from a source, verify it, extract it, verify the
//! runtime inside, and move it into the cache whole.
//!
//! Data flows one way: [`install`] asks each [`Source`] where an artifact is, [`fetch`]es it
//! into the cache's scratch area while hashing, checks the pins, [`extract`]s it, checks the
//! runtime root, writes the receipt and renames the root into place. When the manifest pins the
//! artifact's blocks, the extraction runs beside the download from verified blocks only
//! ([`crate::fetch::blocks`]) and is used once the whole artifact's digests match. A cached runtime is
//! answered by [`find_installed`] from its receipt, without building an HTTP client.

pub mod maintenance;

use std::cell::OnceCell;
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::Error;
use crate::cache::{Cache, CacheError, RECEIPT, Receipt, ReceiptArtifact, ReceiptFile, Scratch};
use crate::extract::{self, ExtractError, ExtractedFile, Limits};
use crate::fetch::blocks::{BadBlock, EndOnDrop, VerifiedStream};
use crate::fetch::download::{self, DownloadError, NetworkOptions, TryError};
use crate::model::digest::{Digests, Hasher, Sha256};
use crate::model::history::Manifests;
use crate::model::manifest::{ArchiveFormat, ArtifactKind, ArtifactPin, Pinned};
use crate::model::target::Target;
use crate::model::version::RuntimeVersion;
use crate::net::{Http, HttpError};
use crate::reporter::Reporter;
use crate::sources::installed::{self, Candidate, LinkError};
use crate::sources::pypi::{self, IndexError};
use crate::sources::{Location, Source};

/// A runtime in the cache, ready to run.
#[derive(Debug, Clone)]
pub struct Installed {
    pub version: RuntimeVersion,
    pub target: Target,
    /// The entrypoint, `runtime_dir/bin/codex`.
    pub path: PathBuf,
    pub runtime_dir: PathBuf,
    /// The directory a launcher puts first on `PATH` (`codex-path`).
    pub path_dir: PathBuf,
    /// The entrypoint's sha256.
    pub sha256: Sha256,
    /// The source it was installed from.
    pub source: String,
    /// Whether it was already in the cache.
    pub cached: bool,
    pub receipt: Receipt,
}

impl Installed {
    fn from_receipt(receipt: Receipt, runtime_dir: PathBuf, cached: bool) -> Installed {
        Installed {
            version: receipt.version.clone(),
            target: receipt.target,
            path: runtime_dir.join(&receipt.entrypoint.path),
            path_dir: runtime_dir.join("codex-path"),
            runtime_dir,
            sha256: receipt.entrypoint.sha256,
            source: receipt.source.clone(),
            cached,
            receipt,
        }
    }
}

/// The runtime, if the cache holds it intact: see [`cached`]. Reads a small file and stats
/// another; no network, no lock.
pub fn find_installed(pinned: &Pinned<'_>, cache: &Cache) -> Option<Installed> {
    match cached(pinned, cache) {
        Cached::Intact(installed) => Some(*installed),
        Cached::Missing | Cached::Damaged { .. } => None,
    }
}

/// What the cache holds for a pinned runtime.
#[derive(Debug)]
pub enum Cached {
    /// Nothing (or an install of other pins, which the next install replaces).
    Missing,
    /// Its receipt matches the pins, and the entrypoint has the size and modification time
    /// the receipt recorded.
    Intact(Box<Installed>),
    /// Installed, but its entrypoint was changed or deleted since: never handed out.
    Damaged { entrypoint: PathBuf, reason: String },
}

/// Check the cached runtime cheaply: the receipt against the pins, the entrypoint's size and
/// modification time against the receipt (`cache verify` re-hashes everything).
pub fn cached(pinned: &Pinned<'_>, cache: &Cache) -> Cached {
    let dir = cache.runtime_dir(&pinned.manifest.version, pinned.target);
    let Some(receipt) = Receipt::read(&dir) else { return Cached::Missing };
    let pin = &pinned.pins.entrypoint;
    if receipt.entrypoint.sha256 != pin.sha256 || receipt.entrypoint.path != pin.path {
        return Cached::Missing;
    }
    let entrypoint = dir.join(&pin.path);
    let damaged = |reason: String| Cached::Damaged { entrypoint: entrypoint.clone(), reason };
    let meta = match std::fs::metadata(&entrypoint) {
        Ok(meta) if meta.is_file() => meta,
        Ok(_) => return damaged("it is not a file".into()),
        Err(e) => return damaged(format!("it cannot be read: {e}")),
    };
    if meta.len() != pin.size {
        return damaged(format!("its size is {} bytes, the pin is {}", meta.len(), pin.size));
    }
    let modified = Receipt::modified_ns(&entrypoint);
    if let Some(recorded) = receipt.entrypoint_modified_ns
        && modified != Some(recorded)
    {
        // Only a hash tells a changed file from a touched or copied one (`cp -r` of a cache
        // gives new times). Same bytes: accept, and record the new time so the next `path`
        // is cheap again (best effort, by rename, so a reader never sees half a receipt).
        let same = std::fs::File::open(&entrypoint).and_then(Sha256::of_reader).ok() == Some((pin.sha256, pin.size));
        if !same {
            return damaged("its bytes changed after it was installed".into());
        }
        let refreshed = Receipt { entrypoint_modified_ns: modified, ..receipt.clone() };
        if let Err(e) = refreshed.replace(&dir) {
            tracing::debug!("cannot record the entrypoint's new modification time: {e}");
        }
    }
    Cached::Intact(Box::new(Installed::from_receipt(receipt, dir, true)))
}

/// Why one attempt failed.
#[derive(Debug)]
pub enum AttemptFailure {
    /// The source does not have the artifact.
    NotFound,
    /// The source could not be reached or answered with an error.
    Unavailable(String),
    /// The source served bytes that fail the pins.
    Verification(VerifyError),
}

impl fmt::Display for AttemptFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttemptFailure::NotFound => f.write_str("not found"),
            AttemptFailure::Unavailable(reason) => f.write_str(reason),
            AttemptFailure::Verification(e) => e.fmt(f),
        }
    }
}

/// One source asked for one artifact.
#[derive(Debug)]
pub struct Attempt {
    pub source: String,
    /// Where it was asked, credentials redacted.
    pub location: String,
    pub failure: AttemptFailure,
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.source, self.location, self.failure)
    }
}

/// Bytes that are not what the pins say.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{subject}: sha256 mismatch: expected {expected}, got {actual}")]
    Sha256 { subject: String, expected: Sha256, actual: Sha256 },
    #[error("{subject}: sha512 integrity mismatch: expected {expected}, got {actual}")]
    Integrity { subject: String, expected: String, actual: String },
    #[error("{subject}: size mismatch: expected {expected} bytes, got {actual}")]
    Size { subject: String, expected: u64, actual: u64 },
    #[error("{subject}: {source}")]
    Block {
        subject: String,
        #[source]
        source: BadBlock,
    },
    #[error("{subject}: {reason}")]
    Layout { subject: String, reason: String },
    #[error("{subject}: {source}")]
    Archive {
        subject: String,
        #[source]
        source: ExtractError,
    },
}

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
    let http = OnceCell::new();
    let client = || http.get_or_init(|| client_for(&options.sources, network));
    let mut attempts = Vec::new();
    let mut record = |source: &str, location: String, failure: AttemptFailure| {
        // A source without the artifact is routine (the next one is asked); it is listed in
        // the final error if every source fails, but not announced as it happens.
        if !matches!(failure, AttemptFailure::NotFound) {
            reporter.attempt_failed(source, &location, &failure.to_string());
        }
        attempts.push(Attempt { source: source.to_owned(), location, failure });
    };
    for source in sources {
        let name = source.name().as_str();
        if let Source::Installed { python } = source {
            match install_from_installed(pinned, python.as_deref(), cache, reporter, &mut record) {
                Ok(Some(installed)) => return Ok(installed),
                Ok(None) => continue,
                Err(e) => return Err(e),
            }
        }
        for artifact in pinned.pins.artifact_pins() {
            let location = match source {
                Source::Pypi { index } => match locate_on_index(client(), network, index, pinned, &artifact) {
                    Ok(Some(location)) => location,
                    Ok(None) => continue,
                    Err(failed) => match *failed {
                        (location, Failure::Attempt(failure)) => {
                            record(name, location, failure);
                            continue;
                        }
                        (_, Failure::Fatal(e)) => return Err(e),
                    },
                },
                _ => match source.locate(pinned, &artifact) {
                    Some(location) => location,
                    None => continue,
                },
            };
            reporter.attempt(name, &location.to_string());
            let fetched = fetch(&location, &artifact, cache, client, network, reporter);
            let result = fetched.and_then(|fetched| {
                let from = Origin { source: name, location: &location };
                install_artifact(pinned, &artifact, fetched, from, cache, reporter)
            });
            match result {
                Ok(installed) => return Ok(installed),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Attempt(failure)) => record(name, location.to_string(), failure),
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

/// The HTTP client, with a GitHub token (`GITHUB_TOKEN`, else `GH_TOKEN`) for the GitHub
/// source's host only.
fn client_for(sources: &[Source], network: &NetworkOptions) -> Http {
    let http = Http::with_timeouts(network.timeouts);
    let token = ["GITHUB_TOKEN", "GH_TOKEN"]
        .iter()
        .find_map(|v| std::env::var(v).ok().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()));
    let github = sources.iter().find_map(|s| match s {
        Source::Github { base_url } => Some(base_url),
        _ => None,
    });
    match (github, token) {
        (Some(base_url), Some(token)) => http.with_bearer(base_url, token),
        _ => http,
    }
}

/// Ask a PyPI index where the wheel is. `Ok(None)` when the artifact is not a wheel.
fn locate_on_index(
    http: &Http,
    network: &NetworkOptions,
    index: &str,
    pinned: &Pinned<'_>,
    artifact: &ArtifactPin,
) -> Result<Option<Location>, Box<(String, Failure)>> {
    let (ArtifactKind::Wheel, Some(wheel), Some(expected)) =
        (artifact.kind, pinned.pins.artifacts.wheels().find(|w| w.file == artifact.file), artifact.sha256)
    else {
        return Ok(None);
    };
    let page = crate::net::redact(&crate::net::join(index, &format!("{}/", pypi::normalize(&wheel.distribution))));
    let failed = |location: String, failure: Failure| Err(Box::new((location, failure)));
    match pypi::find(http, network, index, &wheel.distribution, &artifact.file, expected) {
        Ok(found) => Ok(Some(Location::Url(found.url))),
        Err(IndexError::NotListed { .. }) => {
            failed(format!("{page} ({})", artifact.file), Failure::Attempt(AttemptFailure::NotFound))
        }
        Err(IndexError::Digest { file, listed }) => failed(
            page.clone(),
            verification(VerifyError::Sha256 {
                subject: format!("{file} as listed by {page}"),
                expected,
                actual: listed,
            }),
        ),
        Err(e @ IndexError::Invalid { .. }) => {
            failed(page, Failure::Attempt(AttemptFailure::Unavailable(e.to_string())))
        }
        Err(IndexError::Download(e)) => failed(page, download_failure(e, &artifact.file)),
    }
}

/// The installed source: adopt the first runtime pip or npm installed that verifies.
/// `Ok(None)` when none did (the failures are recorded).
fn install_from_installed(
    pinned: &Pinned<'_>,
    python: Option<&Path>,
    cache: &Cache,
    reporter: &dyn Reporter,
    record: &mut dyn FnMut(&str, String, AttemptFailure),
) -> Result<Option<Installed>, Error> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let (candidates, problems) = installed::candidates(pinned.target, python, &cwd);
    for problem in problems {
        record(
            "installed",
            python.map(|p| p.display().to_string()).unwrap_or_default(),
            AttemptFailure::Unavailable(problem),
        );
    }
    if candidates.is_empty() {
        let python = python.map_or("python3".to_owned(), |p| p.display().to_string());
        let searched = format!("pip ({python}), npm (node_modules from {} upward, npm root -g)", cwd.display());
        record("installed", searched, AttemptFailure::NotFound);
        return Ok(None);
    }
    for candidate in candidates {
        let location = format!("{} {}", candidate.installer, candidate.root.display());
        reporter.attempt("installed", &location);
        match adopt_candidate(pinned, &candidate, cache) {
            Ok(installed) => return Ok(Some(installed)),
            Err(Failure::Fatal(e)) => return Err(e),
            Err(Failure::Attempt(failure)) => record("installed", location, failure),
        }
    }
    Ok(None)
}

/// Link (or copy) an installed runtime into a scratch directory of the cache, verify the copy
/// against the pins, and move it into place.
fn adopt_candidate(pinned: &Pinned<'_>, candidate: &Candidate, cache: &Cache) -> Result<Installed, Failure> {
    let subject = format!("runtime installed by {} at {}", candidate.installer, candidate.root.display());
    // Cheap checks first: another version or target is not this runtime at all.
    let package: Option<CodexPackage> =
        std::fs::read(candidate.root.join("codex-package.json")).ok().and_then(|b| serde_json::from_slice(&b).ok());
    let version = &pinned.manifest.version;
    match &package {
        Some(p)
            if p.version.parse::<RuntimeVersion>().ok().as_ref() != Some(version)
                || p.target != pinned.target.triple() =>
        {
            return Err(Failure::Attempt(AttemptFailure::Unavailable(format!(
                "holds codex {} for {}, not the pinned {version} for {}",
                p.version, p.target, pinned.target
            ))));
        }
        _ => {}
    }
    let pin = &pinned.pins.entrypoint;
    if let Ok(meta) = std::fs::metadata(candidate.root.join(&pin.path))
        && meta.len() != pin.size
    {
        return Err(verification(VerifyError::Size {
            subject: format!("entrypoint {} of the {subject}", pin.path),
            expected: pin.size,
            actual: meta.len(),
        }));
    }
    let pins = pinned.pins.artifact_pins();
    let max_entries = pins.iter().map(|p| p.max_entries).max().unwrap_or(10_000);
    let max_bytes = pins.iter().map(|p| p.max_unpacked_size).max().unwrap_or(pin.size.saturating_mul(4));
    let scratch = cache.scratch()?;
    let tree = scratch.path().join("tree");
    let files = match installed::link_tree(&candidate.root, &tree, max_entries, max_bytes) {
        Ok(files) => files,
        Err(LinkError::Write { path, source }) => return Err(CacheError::Io { action: "write", path, source }.into()),
        Err(e) => return Err(verification(VerifyError::Layout { subject, reason: e.to_string() })),
    };
    let kind = candidate.kind();
    let file = pins.iter().find(|p| p.kind == kind).map(|p| p.file.clone()).unwrap_or_default();
    // No artifact bytes exist for an installed runtime: the receipt records the entrypoint's.
    let artifact = ReceiptArtifact { kind, file, sha256: pin.sha256, size: pin.size };
    let staged = Staged {
        scratch,
        tree,
        files,
        subject,
        artifact,
        source: "installed",
        from: candidate.root.display().to_string(),
    };
    finish_install(pinned, staged, cache)
}

/// Verify a local artifact file against the pins and install it.
pub fn import(file: &Path, manifests: &Manifests, cache: &Cache, reporter: &dyn Reporter) -> Result<Installed, Error> {
    if !file.is_file() {
        return Err(Error::NoSuchFile { path: file.to_owned() });
    }
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    // Every pin of this file name: a GitHub package is named by its target alone, so the
    // stable and the alpha channel both have one called `codex-package-TRIPLE.tar.gz`.
    let candidates: Vec<_> = manifests
        .iter()
        .flat_map(|m| {
            m.targets.keys().filter_map(move |&t| {
                let pinned = m.pinned(t).ok()?;
                let artifact = pinned.pins.artifact_by_file(name)?;
                Some((pinned, artifact))
            })
        })
        .collect();
    if candidates.is_empty() {
        return Err(Error::UnknownArtifact { path: file.to_owned() });
    }
    let location = Location::File(file.to_owned());
    let mut failures = Vec::new();
    // With one candidate the file can only be that runtime; with several, only verifying it
    // tells which, so an installed runtime is no answer.
    let shortcut = candidates.len() == 1;
    for (pinned, artifact) in &candidates {
        match import_as(&location, pinned, artifact, shortcut, cache, reporter) {
            Ok(installed) => return Ok(installed),
            Err(Failure::Fatal(e)) => return Err(e),
            Err(Failure::Attempt(failure)) => failures.push((pinned, failure)),
        }
    }
    let (pinned, _) = failures[0];
    let attempts = failures
        .into_iter()
        .map(|(p, failure)| Attempt {
            source: "import".into(),
            location: format!("{location} (as codex {} for {})", p.manifest.version, p.target),
            failure,
        })
        .collect();
    Err(all_failed(pinned, attempts))
}

/// Install a local artifact as one pinned runtime.
fn import_as(
    location: &Location,
    pinned: &Pinned<'_>,
    artifact: &ArtifactPin,
    shortcut: bool,
    cache: &Cache,
    reporter: &dyn Reporter,
) -> Result<Installed, Failure> {
    if shortcut && let Some(installed) = find_installed(pinned, cache) {
        return Ok(installed);
    }
    let _lock = cache.lock_runtime(&pinned.manifest.version, pinned.target, reporter)?;
    if shortcut && let Some(installed) = find_installed(pinned, cache) {
        return Ok(installed);
    }
    cache.clean_stale_scratch();
    let http = OnceCell::new();
    let network = NetworkOptions::builtin();
    let client = || http.get_or_init(Http::new);
    fetch(location, artifact, cache, client, &network, reporter).and_then(|fetched| {
        let from = Origin { source: "import", location };
        install_artifact(pinned, artifact, fetched, from, cache, reporter)
    })
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
    let missing = attempts.iter().filter(|a| matches!(a.failure, AttemptFailure::NotFound)).count();
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

/// An artifact copied into a scratch directory and verified.
struct Fetched {
    scratch: Scratch,
    download: PathBuf,
    digests: Digests,
    /// The files of `scratch/tree`, when the artifact was already extracted as it arrived.
    extracted: Option<Vec<ExtractedFile>>,
}

/// Where an artifact is extracted in its scratch directory.
fn tree_of(scratch: &Scratch) -> PathBuf {
    scratch.path().join("tree")
}

fn limits_of(artifact: &ArtifactPin) -> Limits {
    Limits { max_entries: artifact.max_entries, max_unpacked_size: artifact.max_unpacked_size }
}

/// Copy the artifact into a fresh scratch directory, hashing as the bytes arrive, then check
/// its size and digests against the pins. URLs are downloaded with retries and resumption
/// (see [`crate::fetch::download`]); local files are read once.
fn fetch<'h>(
    location: &Location,
    artifact: &ArtifactPin,
    cache: &Cache,
    http: impl FnOnce() -> &'h Http,
    network: &NetworkOptions,
    reporter: &dyn Reporter,
) -> Result<Fetched, Failure> {
    let subject = format!("{} from {location}", artifact.file);
    let scratch = cache.scratch()?;
    let ((path, digests), extracted) = match location {
        Location::File(file) => (copy_local(file, artifact, scratch.path(), &subject, reporter)?, None),
        Location::Url(url) => {
            let http = http();
            let resumed = download::partial_len(cache, artifact) > 0;
            let get = |stream: Option<&VerifiedStream>| {
                download::download(http, url, artifact, cache, scratch.path(), network, reporter, stream)
                    .map_err(|e| download_failure(e, &subject))
            };
            let (downloaded, extracted) = download_extracting(artifact, &tree_of(&scratch), get);
            // A bad block is not counted here: the download itself gives the source one more
            // try from a block that began before it resumed.
            let bad_digest =
                matches!(&downloaded, Ok((_, digests)) if check_digests(&subject, artifact, digests).is_err());
            if resumed && bad_digest {
                // The bytes kept from an earlier run (perhaps from another source) may be the
                // bad ones: this source gets one fresh download before it is blamed.
                download::discard_partial(cache, artifact);
                let _ = std::fs::remove_dir_all(tree_of(&scratch));
                (get(None)?, None)
            } else {
                (downloaded?, extracted)
            }
        }
    };
    if let Err(e) = check_digests(&subject, artifact, &digests) {
        download::discard_partial(cache, artifact);
        return Err(e);
    }
    Ok(Fetched { scratch, download: path, digests, extracted })
}

/// A downloaded file and its digests.
type Downloaded = Result<(PathBuf, Digests), Failure>;

/// Download, and when the artifact's blocks are pinned, extract it into `tree` from its
/// verified blocks while the rest arrives, so the two longest steps of an install overlap. The
/// extraction is kept only when it succeeded over a download that ended without restarting;
/// otherwise it is removed and [`install_artifact`] extracts the verified file as usual.
fn download_extracting(
    artifact: &ArtifactPin,
    tree: &Path,
    download: impl FnOnce(Option<&VerifiedStream>) -> Downloaded,
) -> (Downloaded, Option<Vec<ExtractedFile>>) {
    let (Some(size), Some(_)) = (artifact.size, &artifact.blocks) else {
        return (download(None), None);
    };
    let stream = VerifiedStream::new(size);
    std::thread::scope(|scope| {
        let extraction = scope.spawn(|| match artifact.kind.format() {
            ArchiveFormat::TarGz => extract::extract_tar_gz_stream(stream.reader_at(0), tree, limits_of(artifact)),
            ArchiveFormat::Zip => extract::extract_zip_stream(&stream, size, tree, limits_of(artifact)),
        });
        let downloaded = {
            let _end = EndOnDrop(&stream);
            let downloaded = download(Some(&stream));
            if downloaded.is_err() {
                stream.break_off();
            }
            downloaded
        };
        let extracted = extraction.join().expect("the extraction thread panicked");
        match extracted {
            Ok(files) if downloaded.is_ok() && !stream.is_broken() => {
                tracing::debug!("{}: extracted from its verified blocks as it downloaded", artifact.file);
                (downloaded, Some(files))
            }
            outcome => {
                if downloaded.is_ok() {
                    let why = match outcome {
                        Err(e) if !stream.is_broken() => error_chain(&e),
                        _ => "the download restarted".to_owned(),
                    };
                    tracing::debug!("{}: extracting again from the verified file ({why})", artifact.file);
                }
                let _ = std::fs::remove_dir_all(tree);
                (downloaded, None)
            }
        }
    })
}

/// How a failed download counts: missing, unavailable, bad bytes, or a broken cache.
fn download_failure(error: DownloadError, subject: &str) -> Failure {
    let subject = subject.to_owned();
    match error {
        DownloadError::Failed(TryError::Http(HttpError::NotFound)) => Failure::Attempt(AttemptFailure::NotFound),
        DownloadError::Failed(e) => {
            let mut reason = error_chain(&e);
            if matches!(&e, TryError::Http(HttpError::Tls(_))) {
                reason.push_str(" (behind a proxy with its own CA? set SSL_CERT_FILE or SSL_CERT_DIR)");
            }
            Failure::Attempt(AttemptFailure::Unavailable(reason))
        }
        DownloadError::TooLarge { limit, received } => {
            verification(VerifyError::Size { subject, expected: limit, actual: received })
        }
        DownloadError::WrongSize { expected, announced } => {
            verification(VerifyError::Size { subject, expected, actual: announced })
        }
        DownloadError::BadBlock(source) => verification(VerifyError::Block { subject, source }),
        DownloadError::Cache(e) => Failure::Fatal(Error::Cache(e)),
    }
}

/// Copy a local artifact into the scratch directory, hashing it.
fn copy_local(
    file: &Path,
    artifact: &ArtifactPin,
    scratch: &Path,
    subject: &str,
    reporter: &dyn Reporter,
) -> Result<(PathBuf, Digests), Failure> {
    let mut body = match File::open(file) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Failure::Attempt(AttemptFailure::NotFound)),
        Err(e) => return Err(Failure::Attempt(AttemptFailure::Unavailable(format!("cannot read: {e}")))),
    };
    let path = scratch.join(&artifact.file);
    let mut out = File::create(&path).map_err(CacheError::io("create", &path))?;
    let mut hasher = Hasher::new(artifact.integrity.is_some());
    let limit = artifact.size.unwrap_or(artifact.max_unpacked_size);
    reporter.download_started(&artifact.file, artifact.size);
    let mut buf = vec![0u8; 256 * 1024];
    let copied = loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => break Err(Failure::Attempt(AttemptFailure::Unavailable(format!("cannot read: {e}")))),
        };
        if hasher.size() + n as u64 > limit {
            break Err(verification(VerifyError::Size {
                subject: subject.to_owned(),
                expected: limit,
                actual: hasher.size() + n as u64,
            }));
        }
        hasher.update(&buf[..n]);
        if let Err(e) = out.write_all(&buf[..n]) {
            break Err(CacheError::Io { action: "write", path: path.clone(), source: e }.into());
        }
        reporter.download_progress(n as u64);
    };
    reporter.download_finished();
    copied?;
    Ok((path, hasher.finish()))
}

fn check_digests(subject: &str, artifact: &ArtifactPin, actual: &Digests) -> Result<(), Failure> {
    let subject = subject.to_owned();
    if let Some(expected) = artifact.size
        && actual.size != expected
    {
        return Err(verification(VerifyError::Size { subject, expected, actual: actual.size }));
    }
    if let Some(expected) = artifact.sha256
        && actual.sha256 != expected
    {
        return Err(verification(VerifyError::Sha256 { subject, expected, actual: actual.sha256 }));
    }
    if let Some(expected) = &artifact.integrity
        && actual.sha512.as_ref() != Some(expected)
    {
        return Err(verification(VerifyError::Integrity {
            subject,
            expected: expected.to_string(),
            // Computed whenever it is pinned; "none" would be a bug, and still no pass.
            actual: actual.sha512.as_ref().map_or_else(|| "none".to_owned(), ToString::to_string),
        }));
    }
    Ok(())
}

/// Where a verified download came from.
struct Origin<'a> {
    source: &'a str,
    location: &'a Location,
}

/// `codex-package.json`, the runtime root's description of itself.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CodexPackage {
    layout_version: u32,
    version: String,
    target: String,
    entrypoint: String,
}

/// Extract a verified artifact, verify the runtime inside, and move it into place.
fn install_artifact(
    pinned: &Pinned<'_>,
    artifact: &ArtifactPin,
    fetched: Fetched,
    origin: Origin<'_>,
    cache: &Cache,
    reporter: &dyn Reporter,
) -> Result<Installed, Failure> {
    let Fetched { scratch, download, digests, extracted } = fetched;
    let subject = format!("{} from {}", artifact.file, origin.location);
    reporter.extracting(&artifact.file);
    let tree = tree_of(&scratch);
    let files = match extracted {
        Some(files) => files,
        None => match extract::extract(&download, artifact.kind.format(), &tree, limits_of(artifact)) {
            Ok(files) => files,
            Err(ExtractError::Write { path, source }) => {
                return Err(CacheError::Io { action: "write", path, source }.into());
            }
            Err(source) => return Err(verification(VerifyError::Archive { subject: subject.clone(), source })),
        },
    };
    // The download is verified and extracted; free its space before the move.
    let _ = std::fs::remove_file(&download);
    let receipt_artifact = ReceiptArtifact {
        kind: artifact.kind,
        file: artifact.file.clone(),
        sha256: digests.sha256,
        size: digests.size,
    };
    let staged = Staged {
        scratch,
        tree,
        files,
        subject,
        artifact: receipt_artifact,
        source: origin.source,
        from: origin.location.to_string(),
    };
    finish_install(pinned, staged, cache)
}

/// A runtime tree in a scratch directory of the cache, not yet verified.
struct Staged<'a> {
    scratch: Scratch,
    tree: PathBuf,
    files: Vec<ExtractedFile>,
    /// What the messages call it.
    subject: String,
    /// What the receipt records about where it came from.
    artifact: ReceiptArtifact,
    source: &'a str,
    from: String,
}

/// Find the runtime root in an extracted (or linked) tree, verify it against the pins, write
/// the receipt and move the root into place.
fn finish_install(pinned: &Pinned<'_>, staged: Staged<'_>, cache: &Cache) -> Result<Installed, Failure> {
    let Staged { scratch, tree, files, subject, artifact, source, from } = staged;
    let subject = subject.as_str();
    let layout = |reason: String| verification(VerifyError::Layout { subject: subject.to_owned(), reason });
    let roots: Vec<&str> = files
        .iter()
        .filter_map(|f| f.path.strip_suffix("codex-package.json").filter(|p| p.is_empty() || p.ends_with('/')))
        .collect();
    let prefix = match roots.as_slice() {
        [one] => one.to_string(),
        [] => return Err(layout("no codex-package.json in the archive".into())),
        _ => return Err(layout(format!("{} codex-package.json files in the archive; expected one", roots.len()))),
    };
    let root = tree.join(&prefix);
    let package: CodexPackage = std::fs::read(root.join("codex-package.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| layout("codex-package.json is not valid".into()))?;
    let version = &pinned.manifest.version;
    if package.layout_version != 1 {
        return Err(layout(format!(
            "codex-package.json has layoutVersion {}; this build reads 1",
            package.layout_version
        )));
    }
    if package.version.parse::<RuntimeVersion>().ok().as_ref() != Some(version) {
        return Err(layout(format!("codex-package.json says version {}, the pin is {version}", package.version)));
    }
    if package.target != pinned.target.triple() {
        return Err(layout(format!("codex-package.json says target {}, the pin is {}", package.target, pinned.target)));
    }
    let pin = &pinned.pins.entrypoint;
    if package.entrypoint != pin.path {
        return Err(layout(format!(
            "codex-package.json says entrypoint {}, the pin is {}",
            package.entrypoint, pin.path
        )));
    }
    let runtime_files: Vec<&ExtractedFile> = files.iter().filter(|f| f.path.starts_with(&prefix)).collect();
    // Nothing in the tree may pose as the receipt: it is written below, by this process only.
    if std::fs::symlink_metadata(root.join(RECEIPT)).is_ok() {
        return Err(layout(format!("the archive holds a {RECEIPT}, a name reserved for the cache's receipt")));
    }
    check_links(&root, !pinned.pins.files.is_empty()).map_err(layout)?;
    // Every file must be one the pins list, with its digest: this is what verifies the files
    // of a source without an artifact digest (a GitHub package, a runtime pip or npm installed).
    if !pinned.pins.files.is_empty() {
        for file in &runtime_files {
            let rel = &file.path[prefix.len()..];
            let Some(expected) = pinned.pins.file(rel) else {
                return Err(layout(format!("{rel} is not a file of the pinned runtime")));
            };
            let file_subject = format!("{rel} in {subject}");
            if file.size != expected.size {
                return Err(verification(VerifyError::Size {
                    subject: file_subject,
                    expected: expected.size,
                    actual: file.size,
                }));
            }
            if file.sha256 != expected.sha256 {
                return Err(verification(VerifyError::Sha256 {
                    subject: file_subject,
                    expected: expected.sha256,
                    actual: file.sha256,
                }));
            }
        }
    }
    let entry_path = format!("{prefix}{}", pin.path);
    let entry = runtime_files
        .iter()
        .find(|f| f.path == entry_path)
        .ok_or_else(|| layout(format!("the entrypoint {} is missing", pin.path)))?;
    let entry_subject = format!("entrypoint {} in {subject}", pin.path);
    if entry.size != pin.size {
        return Err(verification(VerifyError::Size { subject: entry_subject, expected: pin.size, actual: entry.size }));
    }
    if entry.sha256 != pin.sha256 {
        return Err(verification(VerifyError::Sha256 {
            subject: entry_subject,
            expected: pin.sha256,
            actual: entry.sha256,
        }));
    }
    for file in &runtime_files {
        let rel = &file.path[prefix.len()..];
        if rel == pin.path || rel.starts_with("bin/") || rel.starts_with("codex-path/") {
            set_executable(&tree.join(&file.path))?;
        }
    }

    let receipt = Receipt {
        schema_version: 1,
        version: version.clone(),
        target: pinned.target,
        source: source.to_owned(),
        from,
        artifact,
        entrypoint: ReceiptFile { path: pin.path.clone(), sha256: pin.sha256, size: pin.size },
        files: runtime_files
            .iter()
            .map(|f| ReceiptFile { path: f.path[prefix.len()..].to_owned(), sha256: f.sha256, size: f.size })
            .collect(),
        installed_at: Receipt::now(),
        entrypoint_modified_ns: Receipt::modified_ns(&root.join(&pin.path)),
    };
    receipt.write(&root)?;
    let dest = cache.runtime_dir(version, pinned.target);
    move_into_place(&root, &dest, scratch.path())?;
    let installed = find_installed(pinned, cache).ok_or_else(|| {
        Failure::Fatal(Error::Cache(CacheError::Io {
            action: "read back the runtime installed at",
            path: dest.clone(),
            source: io::Error::other("its receipt or entrypoint is missing right after the install"),
        }))
    })?;
    Ok(Installed { cached: false, ..installed })
}

/// Rename the verified root into place. The caller holds the runtime's lock and found no
/// intact runtime there (or is reinstalling), so anything at `dest` (damaged, of other pins,
/// left by a tool that does not lock, or the runtime being reinstalled) is moved aside into the
/// scratch directory first: the final path only ever holds a complete runtime. When the new
/// root cannot be moved in, what was there is moved back.
fn move_into_place(root: &Path, dest: &Path, scratch: &Path) -> Result<(), CacheError> {
    let parent = dest.parent().expect("runtime dirs have a parent");
    std::fs::create_dir_all(parent).map_err(CacheError::io("create", parent))?;
    let replaced = scratch.join("replaced");
    let moved_aside = std::fs::symlink_metadata(dest).is_ok();
    if moved_aside {
        std::fs::rename(dest, &replaced).map_err(CacheError::io("move aside the runtime at", dest))?;
    }
    std::fs::rename(root, dest).map_err(CacheError::io("move the runtime into", dest)).inspect_err(|_| {
        if moved_aside {
            let _ = std::fs::rename(&replaced, dest);
        }
    })
}

/// Symbolic links in a runtime root: none when the pins list its files (upstream publishes
/// none, and a link could not be verified); otherwise each must stay inside the root, which
/// is what is moved into the cache (extraction only checked them against the whole tree).
fn check_links(root: &Path, files_pinned: bool) -> Result<(), String> {
    let mut dirs = vec![root.to_owned()];
    // Bounded: every directory of the extracted tree is visited once.
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                dirs.push(path);
            } else if kind.is_symlink() {
                let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
                if files_pinned {
                    return Err(format!("{rel} is a symbolic link; the pinned runtime has none"));
                }
                let target = std::fs::read_link(&path).map_err(|e| format!("cannot read the link {rel}: {e}"))?;
                crate::extract::symlink_target(&rel, &target.to_string_lossy())
                    .map_err(|reason| format!("the link {rel} is refused: {reason} (of the runtime root)"))?;
            }
        }
    }
    Ok(())
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

fn set_executable(path: &Path) -> Result<(), CacheError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .map_err(CacheError::io("set the exec bits of", path))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// An error and its sources on one line.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use codex_runtime_test_support::fixture::{self, FixtureRuntime};

    use super::*;
    use crate::model::manifest::Manifest;
    use crate::reporter::NoReporter;

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
}
