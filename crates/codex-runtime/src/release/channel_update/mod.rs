//! Recompute a channel manifest from the published artifacts.
//!
//! For every target this asks the npm registry's package document for the platform package's
//! tarball and `dist.integrity`, the PyPI simple index (PEP 691 JSON, or the PEP 503 HTML page a
//! plain index serves) for the wheel and its sha256, and GitHub for the release asset when it
//! is reachable. Each artifact is downloaded (streamed to a scratch file while hashing) and
//! checked against what its registry claims, then opened: its `codex-package.json` must name
//! the version and target, and the entrypoint must be byte-identical in every artifact. The npm
//! tarball and the wheel also get their block pins: the sha256 of each
//! [`BlockPins::DEFAULT_SIZE`] block of the file. The result is written with
//! [`Manifest::to_json`], the repository's deterministic format.
//!
//! A target with no artifact on any source is left out of the manifest and named in a note
//! with what each source said (upstream did not publish every platform package of some
//! releases); a version no target can be pinned for fails the update, as does any source that
//! could not be read. An artifact missing for a target that has others (a wheel not
//! published) is a note too.
//!
//! The registry and the index are read by the sources' own readers ([`crate::sources::npm`],
//! [`crate::sources::pypi`]), once per update ([`Listings`]).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Deserialize;

use crate::cache::{Cache, CacheError};
use crate::fetch::download::{self, DownloadError, NetworkOptions, TryError};
use crate::fetch::verify::{Expected, VerifyError};
use crate::install::Error;
use crate::model::digest::{Digests, Sha256, block_sha256s};
use crate::model::env::Env;
use crate::model::error::error_chain;
use crate::model::manifest::{
    Artifacts, BlockPins, Channel, FilePin, GithubArtifact, Manifest, NpmArtifact, Omits, TargetPins, WheelArtifact,
};
use crate::model::target::Target;
use crate::model::version::RuntimeVersion;
use crate::net::{Http, HttpError, RedactedUrl, join};
use crate::reporter::Reporter;
use crate::sources::npm::{self, Dist, PACKAGE as NPM_PACKAGE, Registry, RegistryError, VersionDocument};
use crate::sources::pypi::{self, DISTRIBUTION, IndexError, Listed};

mod inspect;
pub mod protocol;

use inspect::{inspect_tar, inspect_zip, union_of_files};

const PACKAGE_JSON: &str = "codex-package.json";

/// Where to look, and how hard.
#[derive(Debug, Clone)]
pub struct UpdateRequest {
    pub channel: Channel,
    pub version: RuntimeVersion,
    /// The npm registry (from the same discovery as installs).
    pub npm_registry: Option<String>,
    /// The Python package index (its simple API base).
    pub pypi_index: Option<String>,
    /// The GitHub release download base; `None` skips GitHub.
    pub github_base_url: Option<String>,
    /// Targets fetched at once.
    pub jobs: usize,
}

/// The recomputed manifest, and what is worth telling about it.
#[derive(Debug, Clone)]
pub struct Updated {
    pub manifest: Manifest,
    /// Artifacts that are not published for some target, sources that could not be reached.
    pub notes: Vec<String>,
}

/// Why an update produced no manifest.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(
        "no npm registry or Python index is known: pass --npm-registry URL or --pypi-index URL, or \
         configure npm (CODEX_RUNTIME_NPM_REGISTRY, npm_config_registry, .npmrc)"
    )]
    NoSource,
    #[error(
        "{version} is {} pre-release, and the {channel} channel pins {}",
        if version.is_prerelease() { "a" } else { "not a" },
        if *channel == Channel::Alpha { "pre-releases only" } else { "releases only" }
    )]
    WrongChannel { channel: Channel, version: RuntimeVersion },
    #[error("cannot read the npm package document")]
    Registry(#[source] Box<RegistryError>),
    #[error("cannot read the Python index page {page}")]
    IndexPage {
        page: RedactedUrl,
        #[source]
        source: Box<IndexError>,
    },
    #[error("{} of {} targets could not be pinned at {version}; nothing was written:{}", failures.len(), Target::ALL.len(), FailureList(failures))]
    Targets { version: RuntimeVersion, failures: Vec<(Target, TargetError)> },
    #[error(transparent)]
    Scratch(#[from] CacheError),
    #[error(transparent)]
    Install(#[from] Error),
    /// The pinned runtime cannot describe its protocol.
    #[error("cannot pin the protocol of {version}: its runtime's schema cannot be had")]
    Protocol {
        version: RuntimeVersion,
        #[source]
        source: codex_app_server_client::Error,
    },
    /// A manifest file cannot take the `protocol` key.
    #[error("cannot add the protocol to {}: {message}", path.display())]
    ProtocolFile { path: PathBuf, message: String },
}

impl From<crate::model::manifest::ManifestError> for UpdateError {
    fn from(e: crate::model::manifest::ManifestError) -> Self {
        UpdateError::Install(e.into())
    }
}

/// Why one target could not be pinned.
#[derive(Debug)]
pub enum TargetError {
    /// No source publishes an artifact for it; what each one said.
    Missing(Vec<String>),
    /// An artifact is not what its registry claims, or not the runtime it should be.
    Mismatch(String),
    /// A source failed in a way that says nothing about whether the artifact exists.
    Unavailable(String),
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetError::Missing(said) => write!(f, "not published on any source ({})", said.join("; ")),
            TargetError::Mismatch(reason) | TargetError::Unavailable(reason) => f.write_str(reason),
        }
    }
}

struct FailureList<'a>(&'a [(Target, TargetError)]);

impl fmt::Display for FailureList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (target, error) in self.0 {
            write!(f, "\n  {target}: {error}")?;
        }
        Ok(())
    }
}

impl UpdateError {
    pub fn kind(&self) -> crate::model::error::ErrorKind {
        use crate::model::error::ErrorKind;
        match self {
            UpdateError::NoSource | UpdateError::WrongChannel { .. } => ErrorKind::Usage,
            UpdateError::Registry(_) | UpdateError::IndexPage { .. } => ErrorKind::NoSource,
            UpdateError::Scratch(_) | UpdateError::ProtocolFile { .. } => ErrorKind::Other,
            UpdateError::Protocol { .. } => ErrorKind::Incompatible,
            UpdateError::Install(e) => e.kind(),
            UpdateError::Targets { failures, .. } => {
                if failures.iter().any(|(_, e)| matches!(e, TargetError::Mismatch(_))) {
                    ErrorKind::Verification
                } else {
                    ErrorKind::NoSource
                }
            }
        }
    }
}

/// One artifact's fate at one source.
enum Fetch<T> {
    Found(T),
    Missing(String),
}

/// What the registries list: the npm package document's versions and the index page's
/// wheels, each read once.
pub struct Listings {
    npm: Option<HashMap<String, VersionDocument>>,
    wheels: Option<HashMap<String, Listed>>,
}

impl Listings {
    /// Read the package document and the index page the request names.
    pub fn fetch(http: &Http, npm_registry: Option<&str>, pypi_index: Option<&str>) -> Result<Listings, UpdateError> {
        if npm_registry.is_none() && pypi_index.is_none() {
            return Err(UpdateError::NoSource);
        }
        let network = NetworkOptions::from_env();
        let npm = match npm_registry {
            Some(registry) => {
                let packument = Registry::new(http, &network, registry).packument(NPM_PACKAGE);
                Some(packument.map_err(|e| UpdateError::Registry(Box::new(e)))?.versions)
            }
            None => None,
        };
        let wheels = match pypi_index {
            Some(index) => {
                let listed = pypi::list(http, &network, index, DISTRIBUTION).map_err(|e| UpdateError::IndexPage {
                    page: pypi::page_url(index, DISTRIBUTION),
                    source: Box::new(e),
                })?;
                Some(listed.into_iter().map(|file| (file.name.clone(), file)).collect())
            }
            None => None,
        };
        Ok(Listings { npm, wheels })
    }

    /// Every version of `@openai/codex` itself (not its platform packages) and of the wheels,
    /// newest first.
    pub fn versions(&self) -> Vec<RuntimeVersion> {
        let npm = self.npm.iter().flat_map(|versions| versions.keys()).filter_map(|v| {
            let is_platform_package = Target::ALL.iter().any(|t| v.ends_with(&format!("-{}", t.npm_suffix())));
            if is_platform_package { None } else { v.parse().ok() }
        });
        let prefix = format!("{}-", DISTRIBUTION.replace('-', "_"));
        let wheels = self
            .wheels
            .iter()
            .flat_map(|files| files.keys())
            .filter_map(|file| file.strip_prefix(&prefix)?.split('-').next()?.parse().ok());
        let mut all: Vec<RuntimeVersion> = npm.chain(wheels).collect();
        all.sort_by(|a, b| b.cmp(a));
        all.dedup();
        all
    }

    /// What the npm registry claims for a platform package version (`V-SUFFIX`): its `dist`;
    /// `None` when it does not publish that version.
    pub fn npm_dist(&self, version: &str) -> Option<&Dist> {
        Some(&self.npm.as_ref()?.get(version)?.dist)
    }

    /// What the index claims for a wheel file: `None` when it lists no such file.
    pub fn wheel_sha256(&self, file: &str) -> Option<Option<Sha256>> {
        Some(self.wheels.as_ref()?.get(file)?.sha256)
    }

    /// Whether the registry or the index was read (a source that was not asked knows nothing).
    pub fn has_npm(&self) -> bool {
        self.npm.is_some()
    }

    pub fn has_index(&self) -> bool {
        self.wheels.is_some()
    }
}

/// Recompute the manifest of `request.channel` at `request.version`.
pub fn update(request: &UpdateRequest, cache: &Cache, reporter: &dyn Reporter) -> Result<Updated, UpdateError> {
    if request.version.is_prerelease() != (request.channel == Channel::Alpha) {
        return Err(UpdateError::WrongChannel { channel: request.channel, version: request.version.clone() });
    }
    let http = crate::sources::reading_client(
        request.npm_registry.as_deref(),
        request.pypi_index.as_deref(),
        request.github_base_url.as_deref(),
        Env::process(),
    );
    let listings = Listings::fetch(&http, request.npm_registry.as_deref(), request.pypi_index.as_deref())?;
    update_with(request, &http, &listings, cache, reporter)
}

/// [`update`] with the registries' listings already read.
pub fn update_with(
    request: &UpdateRequest,
    http: &Http,
    listings: &Listings,
    cache: &Cache,
    reporter: &dyn Reporter,
) -> Result<Updated, UpdateError> {
    if request.version.is_prerelease() != (request.channel == Channel::Alpha) {
        return Err(UpdateError::WrongChannel { channel: request.channel, version: request.version.clone() });
    }
    let scratch = cache.scratch()?;
    let ctx = Ctx {
        request,
        http,
        network: NetworkOptions::from_env(),
        cache,
        npm: listings.npm.as_ref(),
        wheels: listings.wheels.as_ref(),
        scratch: scratch.path(),
    };

    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..request.jobs.clamp(1, Target::ALL.len()) {
            scope.spawn(|| {
                while let Some(&target) = Target::ALL.get(next.fetch_add(1, Ordering::SeqCst)) {
                    reporter.target_started(target);
                    let result = ctx.target(target, reporter);
                    let failure = result.as_ref().err().map(|e| e.to_string());
                    reporter.target_finished(target, failure.as_deref());
                    results.lock().unwrap().push((target, result));
                }
            });
        }
    });

    let mut targets = BTreeMap::new();
    let mut notes = Vec::new();
    let mut failures = Vec::new();
    for (target, result) in results.into_inner().unwrap() {
        match result {
            Ok((pins, target_notes)) => {
                targets.insert(target, pins);
                notes.extend(target_notes);
            }
            Err(e) => failures.push((target, e)),
        }
    }
    // A target upstream did not publish is left out, and said; one that could not be had for
    // another reason fails the update, as does a version published for no target at all.
    let published_nowhere = failures.iter().all(|(_, e)| matches!(e, TargetError::Missing(_)));
    if published_nowhere && !targets.is_empty() {
        for (target, error) in failures.drain(..) {
            notes.push(format!("{target}: {error}; the version is pinned without it"));
        }
    }
    if !failures.is_empty() {
        failures.sort_by_key(|(t, _)| *t);
        return Err(UpdateError::Targets { version: request.version.clone(), failures });
    }
    notes.sort();
    let manifest = Manifest {
        schema_version: 1,
        channel: request.channel,
        version: request.version.clone(),
        protocol: None,
        targets,
    };
    // What is written must read back: the same validation as an embedded manifest.
    let manifest = Manifest::parse(&manifest.to_json(), "the recomputed manifest")?;
    Ok(Updated { manifest, notes })
}

struct Ctx<'a> {
    request: &'a UpdateRequest,
    http: &'a Http,
    network: NetworkOptions,
    cache: &'a Cache,
    npm: Option<&'a HashMap<String, VersionDocument>>,
    wheels: Option<&'a HashMap<String, Listed>>,
    scratch: &'a Path,
}

/// What opening an artifact showed.
#[derive(Debug, Clone, PartialEq)]
struct Inspected {
    entries: u64,
    unpacked_size: u64,
    entrypoint: FilePin,
    /// Every regular file of the runtime root, relative to it.
    files: Vec<FilePin>,
    /// What an npm package document repeats of the tarball's `package.json`.
    package_json: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Ctx<'_> {
    fn target(&self, target: Target, reporter: &dyn Reporter) -> Result<(TargetPins, Vec<String>), TargetError> {
        let mut missing = Vec::new();
        let mut inspected: Vec<(String, Inspected)> = Vec::new();

        // Keep what a registry had (and what opening it showed); note what it lacked.
        fn keep<A>(
            fetched: Option<Fetch<(A, Inspected)>>,
            file: impl Fn(&A) -> String,
            inspected: &mut Vec<(String, Inspected)>,
            missing: &mut Vec<String>,
        ) -> Option<A> {
            match fetched? {
                Fetch::Found((artifact, seen)) => {
                    inspected.push((file(&artifact), seen));
                    Some(artifact)
                }
                Fetch::Missing(said) => {
                    missing.push(said);
                    None
                }
            }
        }
        let npm = keep(self.npm_artifact(target, reporter)?, |a| a.file.clone(), &mut inspected, &mut missing);
        let wheel = keep(
            self.wheel_artifact(target, target.wheel_tag(), reporter)?,
            |a| a.file.clone(),
            &mut inspected,
            &mut missing,
        );
        let musllinux_wheel = match target.musllinux_tag() {
            Some(tag) => {
                keep(self.wheel_artifact(target, tag, reporter)?, |a| a.file.clone(), &mut inspected, &mut missing)
            }
            None => None,
        };
        let mut notes: Vec<String> = missing.iter().map(|m| format!("{target}: {m}")).collect();
        let github = match self.github_artifact(target, reporter) {
            Fetch::Found((artifact, seen)) => {
                inspected.push((artifact.asset.clone(), seen));
                artifact
            }
            Fetch::Missing(said) => {
                notes.push(format!("{target}: {said}; its digest stays unpinned"));
                let tag = self.request.version.github_tag();
                GithubArtifact { tag, asset: github_asset(target), sha256: None, size: None }
            }
        };
        if npm.is_none() && wheel.is_none() && musllinux_wheel.is_none() {
            return Err(TargetError::Missing(missing));
        }
        let (first_file, first) = &inspected[0];
        for (file, seen) in &inspected[1..] {
            if seen.entrypoint != first.entrypoint {
                return Err(TargetError::Mismatch(format!(
                    "the entrypoint {} differs between {first_file} (sha256 {}, {} bytes) and {file} (sha256 {}, {} bytes)",
                    first.entrypoint.path,
                    first.entrypoint.sha256,
                    first.entrypoint.size,
                    seen.entrypoint.sha256,
                    seen.entrypoint.size
                )));
            }
        }
        let files = union_of_files(&inspected)?;
        // What each artifact leaves out of the union, so a re-pack carries what upstream's does.
        let omits = |file: &str| {
            let (_, seen) = inspected.iter().find(|(f, _)| f == file)?;
            let carried = seen.files.iter().map(|f| f.path.as_str()).collect();
            Some(Omits::between(files.iter().map(|f| f.path.as_str()), &carried))
        };
        let mut npm = npm;
        if let Some(n) = &mut npm {
            n.omits = omits(&n.file);
        }
        let (mut wheel, mut musllinux_wheel) = (wheel, musllinux_wheel);
        for w in wheel.iter_mut().chain(&mut musllinux_wheel) {
            w.omits = omits(&w.file);
        }
        let pins = TargetPins {
            entrypoint: first.entrypoint.clone(),
            artifacts: Artifacts { npm, wheel, musllinux_wheel, github: Some(github) },
            files,
        };
        Ok((pins, notes))
    }

    fn npm_artifact(
        &self,
        target: Target,
        reporter: &dyn Reporter,
    ) -> Result<Option<Fetch<(NpmArtifact, Inspected)>>, TargetError> {
        let (Some(versions), Some(registry)) = (self.npm, &self.request.npm_registry) else { return Ok(None) };
        let version = format!("{}-{}", self.request.version, target.npm_suffix());
        let Some(doc) = versions.get(&version) else {
            return Ok(Some(Fetch::Missing(format!(
                "npm: {NPM_PACKAGE}@{version} is not published on {}",
                RedactedUrl::new(registry.as_str())
            ))));
        };
        let file = format!("openai-codex-{version}.tgz");
        let url = doc.dist.tarball.clone().unwrap_or_else(|| npm::tarball_url(registry, NPM_PACKAGE, &version));
        let url = RedactedUrl::new(url);
        let (path, digests) = match self.download(&url, &file, None, true, target, reporter)? {
            Fetch::Found(d) => d,
            Fetch::Missing(said) => return Ok(Some(Fetch::Missing(format!("npm: {said}")))),
        };
        let integrity = digests.sha512.clone().expect("requested");
        if let Some(claimed) = &doc.dist.integrity
            && !doc.dist.sha512s().any(|listed| listed == integrity)
        {
            return Err(TargetError::Mismatch(format!(
                "{file} from {url}: sha512 integrity mismatch: the registry says {claimed}, got {integrity}"
            )));
        }
        reporter.target_step(target, &format!("inspecting {file}"));
        let seen = inspect_tar(&path, &self.request.version, target).map_err(|e| mismatch(&file, &url, e));
        let blocks = block_pins(&path);
        let _ = std::fs::remove_file(&path);
        let (seen, blocks) = (seen?, blocks?);
        let artifact = NpmArtifact {
            package: NPM_PACKAGE.into(),
            version,
            file,
            sha256: digests.sha256,
            integrity,
            size: digests.size,
            unpacked_size: seen.unpacked_size,
            entries: seen.entries,
            blocks: Some(blocks),
            omits: None,
            package_json: seen.package_json.clone(),
        };
        Ok(Some(Fetch::Found((artifact, seen))))
    }

    /// The wheel of `target` with platform tag `tag` (its manylinux or musllinux one).
    fn wheel_artifact(
        &self,
        target: Target,
        tag: &str,
        reporter: &dyn Reporter,
    ) -> Result<Option<Fetch<(WheelArtifact, Inspected)>>, TargetError> {
        let (Some(files), Some(index)) = (self.wheels, &self.request.pypi_index) else { return Ok(None) };
        let pep440 = self.request.version.pep440();
        let file = format!("{}-{pep440}-py3-none-{tag}.whl", DISTRIBUTION.replace('-', "_"));
        let Some(listed) = files.get(&file) else {
            return Ok(Some(Fetch::Missing(format!(
                "pypi: {file} is not listed by {}",
                RedactedUrl::new(index.as_str())
            ))));
        };
        let url = listed.url.clone();
        // The index's sha256 is checked as the wheel downloads.
        let (path, digests) = match self.download(&url, &file, listed.sha256, false, target, reporter)? {
            Fetch::Found(d) => d,
            Fetch::Missing(said) => return Ok(Some(Fetch::Missing(format!("pypi: {said}")))),
        };
        reporter.target_step(target, &format!("inspecting {file}"));
        let seen = inspect_zip(&path, &self.request.version, target).map_err(|e| mismatch(&file, &url, e));
        let blocks = block_pins(&path);
        let _ = std::fs::remove_file(&path);
        let (seen, blocks) = (seen?, blocks?);
        let artifact = WheelArtifact {
            distribution: DISTRIBUTION.into(),
            version: pep440,
            file,
            sha256: digests.sha256,
            size: digests.size,
            unpacked_size: seen.unpacked_size,
            entries: seen.entries,
            blocks: Some(blocks),
            omits: None,
        };
        Ok(Some(Fetch::Found((artifact, seen))))
    }

    /// The GitHub asset, when GitHub is asked and answers; anything else is a note.
    fn github_artifact(&self, target: Target, reporter: &dyn Reporter) -> Fetch<(GithubArtifact, Inspected)> {
        let Some(base) = &self.request.github_base_url else {
            return Fetch::Missing("github: not asked".into());
        };
        let tag = self.request.version.github_tag();
        let asset = github_asset(target);
        let url = RedactedUrl::new(join(base, &format!("{tag}/{asset}")));
        let (path, digests) = match self.download(&url, &asset, None, false, target, reporter) {
            Ok(Fetch::Found(d)) => d,
            Ok(Fetch::Missing(said)) => return Fetch::Missing(format!("github: {said}")),
            Err(e) => return Fetch::Missing(format!("github: {e}")),
        };
        let seen = inspect_tar(&path, &self.request.version, target);
        let _ = std::fs::remove_file(&path);
        match seen {
            Ok(seen) => Fetch::Found((
                GithubArtifact { tag, asset, sha256: Some(digests.sha256), size: Some(digests.size) },
                seen,
            )),
            Err(e) => Fetch::Missing(format!("github: {asset} from {url}: {e}")),
        }
    }

    /// Download `url` as `file` into the scratch directory with the install's downloader
    /// (retried; resumable and checked when the registry claims a sha256), verified as the
    /// bytes arrive; with `sha512` the digests include it, for the caller to compare with the
    /// registry's integrity.
    #[allow(clippy::too_many_arguments)]
    fn download(
        &self,
        url: &RedactedUrl,
        file: &str,
        claimed_sha256: Option<Sha256>,
        sha512: bool,
        target: Target,
        reporter: &dyn Reporter,
    ) -> Result<Fetch<(PathBuf, Digests)>, TargetError> {
        let expected = Expected { sha256: claimed_sha256, sha512, ..Expected::at_most(MAX_ARTIFACT_SIZE) };
        let labelled = TargetReporter { target, inner: reporter };
        let got = download::download(
            self.http,
            url,
            file,
            &expected,
            self.cache,
            self.scratch,
            &self.network,
            &labelled,
            None,
        );
        match got {
            Ok(done) => Ok(Fetch::Found(done)),
            Err(DownloadError::Failed(TryError::Http(HttpError::NotFound))) => {
                Ok(Fetch::Missing(format!("{url}: not found")))
            }
            Err(DownloadError::Verify(VerifyError::Sha256 { expected, actual, .. })) => Err(TargetError::Mismatch(
                format!("{file} from {url}: sha256 mismatch: the index says {expected}, got {actual}"),
            )),
            // More than any artifact may be; the bytes are gone already.
            Err(DownloadError::Verify(e)) => Err(TargetError::Unavailable(e.to_string())),
            Err(e) => {
                download::discard_partial(self.cache, &expected);
                Err(TargetError::Unavailable(format!("{url}: {}", error_chain(&e))))
            }
        }
    }
}

/// The largest artifact `channel update` accepts: the real ones are about 160 MB.
const MAX_ARTIFACT_SIZE: u64 = 2 << 30;

/// Labels the downloader's progress with the target it belongs to.
struct TargetReporter<'a> {
    target: Target,
    inner: &'a dyn Reporter,
}

impl Reporter for TargetReporter<'_> {
    fn download_started(&self, file: &str, total: Option<u64>) {
        self.inner.target_download(self.target, file, total);
    }
    fn download_progress(&self, bytes: u64) {
        self.inner.target_bytes(self.target, bytes);
    }
}

/// The sha256 of each [`BlockPins::DEFAULT_SIZE`] block of a downloaded artifact.
fn block_pins(path: &Path) -> Result<BlockPins, TargetError> {
    let size = BlockPins::DEFAULT_SIZE;
    File::open(path)
        .and_then(|file| block_sha256s(file, size))
        .map(|sha256| BlockPins { size, sha256 })
        .map_err(|e| TargetError::Unavailable(format!("cannot read {}: {e}", path.display())))
}

fn github_asset(target: Target) -> String {
    format!("codex-package-{target}.tar.gz")
}

fn mismatch(file: &str, url: &RedactedUrl, reason: String) -> TargetError {
    TargetError::Mismatch(format!("{file} from {url}: {reason}"))
}

/// Check `codex-package.json` and find the entrypoint among the hashed regular files.
fn conclude(
    package: Option<(String, Vec<u8>)>,
    files: &HashMap<String, (Sha256, u64)>,
    version: &RuntimeVersion,
    target: Target,
    entries: u64,
    unpacked_size: u64,
) -> Result<Inspected, String> {
    #[derive(Deserialize)]
    struct CodexPackage {
        version: String,
        target: String,
        entrypoint: String,
    }
    let (path, raw) = package.ok_or_else(|| format!("no {PACKAGE_JSON} in the archive"))?;
    let root = path.strip_suffix(PACKAGE_JSON).unwrap_or_default();
    let package: CodexPackage =
        serde_json::from_slice(&raw).map_err(|e| format!("{PACKAGE_JSON} is not valid: {e}"))?;
    if package.version.parse::<RuntimeVersion>().ok().as_ref() != Some(version) {
        return Err(format!("{PACKAGE_JSON} says version {}, expected {version}", package.version));
    }
    if package.target != target.triple() {
        return Err(format!("{PACKAGE_JSON} says target {}, expected {target}", package.target));
    }
    if package.entrypoint != target.entrypoint() {
        return Err(format!("{PACKAGE_JSON} says entrypoint {}, expected {}", package.entrypoint, target.entrypoint()));
    }
    let (sha256, size) = files
        .get(&format!("{root}{}", package.entrypoint))
        .ok_or_else(|| format!("the entrypoint {} is not a regular file in the archive", package.entrypoint))?;
    let root_files = files
        .iter()
        .filter_map(|(path, (sha256, size))| {
            path.strip_prefix(root).map(|rel| FilePin { path: rel.to_owned(), sha256: *sha256, size: *size })
        })
        .collect();
    Ok(Inspected {
        entries,
        unpacked_size,
        entrypoint: FilePin { path: package.entrypoint, sha256: *sha256, size: *size },
        files: root_files,
        package_json: None,
    })
}

/// Write a manifest file atomically (a sibling temporary file renamed over it).
pub fn write_manifest(manifest: &Manifest, path: &Path) -> Result<(), UpdateError> {
    let io_error = |action: &'static str, path: PathBuf| {
        move |source| UpdateError::Scratch(CacheError::Io { action, path, source })
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(io_error("create a file in", dir.clone()))?;
    tmp.write_all(manifest.to_json().as_bytes()).map_err(io_error("write", tmp.path().to_owned()))?;
    tmp.persist(path).map_err(|e| io_error("write", path.to_owned())(e.error))?;
    Ok(())
}
