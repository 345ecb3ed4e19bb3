//! Bundle every platform for a release: verify each target's runtime through the cache, in
//! parallel, then stage it as a plain directory, a Python platform wheel and an npm platform
//! tarball, with a `SHA256SUMS` and a `bundle.json` describing what was verified and written.
//!
//! ```text
//! OUT/
//!   TRIPLE/...                                       --format dir: the runtime root
//!   openai_codex_cli_bin-PEP440-py3-none-TAG.whl     --format wheel
//!   openai-codex-V-SUFFIX.tgz                        --format npm
//!   bundle.json                                      version, channel, per target: source, digests, files
//!   SHA256SUMS                                       `sha256sum -c` lines for everything above
//! ```
//!
//! The output is assembled in a sibling directory (`.OUT.partial-*`) and renamed into place
//! only once every target succeeded, so `OUT` is never half written; a previous bundle there is
//! replaced whole. Every file is re-hashed as it is copied out of the cache and must still be
//! what the runtime's receipt recorded. Outputs are reproducible: fixed timestamps, owners and
//! order, so two runs give byte-identical files.

mod deflate;
pub mod index;
pub mod members;
mod npm;
mod out;
pub mod upstream;
mod wheel;
mod zip_out;

use out::{check_out, overlaps, publish, staging_dir, write_index};

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use crate::cache::{Cache, RECEIPT, Receipt};
use crate::fetch::verify::{Expected, Verifier, VerifyError, VerifyingReader};
use crate::install::Error;
use crate::install::{self, InstallOptions};
use crate::model::digest::Sha256;
use crate::model::manifest::{Channel, Manifest};
use crate::model::target::Target;
use crate::model::version::RuntimeVersion;
use crate::reporter::Reporter;

/// The file name of the bundle description.
pub const BUNDLE_JSON: &str = "bundle.json";
/// The file name of the checksum list.
pub const SHA256SUMS: &str = "SHA256SUMS";

/// The wheel's Python shim; it belongs to the wheel, not to the runtime layout.
const WHEEL_SHIM: &str = "__init__.py";

/// What to stage each target as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Dir,
    Wheel,
    Npm,
    /// A static PEP 503/691 index and npm packuments over the wheels and tarballs (which it
    /// implies), additive across versions (see [`index`]).
    Index,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Dir, Format::Wheel, Format::Npm, Format::Index];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Dir => "dir",
            Format::Wheel => "wheel",
            Format::Npm => "npm",
            Format::Index => "index",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown bundle format `{0}`; the formats are dir, wheel, npm and index")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL.into_iter().find(|f| f.as_str() == s).ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

/// What to bundle, and where.
#[derive(Debug, Clone)]
pub struct BundleRequest<'a> {
    pub manifest: &'a Manifest,
    pub targets: Vec<Target>,
    pub formats: Vec<Format>,
    pub out: PathBuf,
    /// How many targets to fetch and stage at once.
    pub jobs: usize,
    /// Replace `out` even when it holds something other than a previous bundle.
    pub force: bool,
    /// With [`Format::Index`]: the URL the bundle will be served at, for absolute links.
    pub base_url: Option<url::Url>,
}

impl BundleRequest<'_> {
    /// One target per core (at least two, at most the six targets): each install already
    /// inflates and hashes on two threads, so more jobs than cores only contend. On a slow
    /// network, where downloads dominate, `--jobs 6` overlaps them all.
    pub fn default_jobs() -> usize {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        cores.clamp(2, Target::ALL.len())
    }
}

/// Why a bundle was not written.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(
        "{} is not empty and holds no previous bundle; pick an empty or new directory, or pass --force to replace it",
        path.display()
    )]
    OutNotEmpty { path: PathBuf },
    #[error(
        "{} holds a previous bundle and files it did not write ({}); remove them and run again (--force would replace the whole directory, every version it holds included)",
        path.display(),
        files.join(", ")
    )]
    OutHasStrays { path: PathBuf, files: Vec<String> },
    #[error("{} is not a directory; pick a new or empty directory for --out", path.display())]
    OutNotDir { path: PathBuf },
    #[error(
        "--out {} overlaps the cache at {}, which a bundle would replace or fill; pick a directory outside it",
        out.display(),
        cache.display()
    )]
    OutOverlapsCache { out: PathBuf, cache: PathBuf },
    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{mismatch}; it changed in the cache since it was installed: run `codex-runtime cache verify --repair` and bundle again"
    )]
    CacheModified { mismatch: VerifyError },
    #[error(transparent)]
    Install(#[from] Error),
    #[error("cannot write the index")]
    Index(#[source] Box<index::IndexError>),
    #[error(
        "--format index writes npm package documents, and npm needs absolute tarball URLs: pass --base-url URL, the URL {} will be served at",
        out.display()
    )]
    BaseUrlRequired { out: PathBuf },
    #[error("--base-url {url}: {reason}; pass the http(s) URL the bundle will be served at, like https://HOST/PATH/")]
    BadBaseUrl { url: String, reason: &'static str },
    #[error(
        "{} is a static index (it holds simple/ and @openai/), which a bundle without --format index would replace, dropping every version it serves; add --format index to keep them, or pass --force to replace it",
        path.display()
    )]
    WouldDropIndex { path: PathBuf },
    #[error(
        "a {format} re-pack carries the files upstream's {members_from} does, and the runtime installed from {installed} lacks {} of them ({}); give a source that has the {format} artifact itself, or the npm tarball, which carries every file",
        missing.len(),
        missing.join(", ")
    )]
    RepackIncomplete { format: Format, members_from: String, installed: String, missing: Vec<String> },

    #[error("{} of {} targets failed; nothing was written to {}:{}", failures.len(), total, out.display(), FailureList(failures))]
    Targets { failures: Vec<TargetFailure>, total: usize, out: PathBuf },
}

impl From<crate::model::history::SelectError> for BundleError {
    fn from(e: crate::model::history::SelectError) -> Self {
        BundleError::Install(e.into())
    }
}

/// One target that could not be bundled.
#[derive(Debug)]
pub struct TargetFailure {
    pub target: Target,
    pub error: Box<BundleError>,
}

struct FailureList<'a>(&'a [TargetFailure]);

impl fmt::Display for FailureList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for failure in self.0 {
            let text = failure.error.to_string().replace('\n', "\n    ");
            write!(f, "\n  {}: {text}", failure.target)?;
        }
        Ok(())
    }
}

impl BundleError {
    fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> BundleError + 'a {
        move |source| BundleError::Io { action, path: path.to_owned(), source }
    }

    /// The kind the command line reports: a failed target's own kind when they agree, else
    /// verification if any target failed it, else the most common cause.
    pub fn kind(&self) -> crate::model::error::ErrorKind {
        use crate::model::error::ErrorKind;
        match self {
            BundleError::OutNotEmpty { .. }
            | BundleError::OutHasStrays { .. }
            | BundleError::OutNotDir { .. }
            | BundleError::OutOverlapsCache { .. } => ErrorKind::Usage,
            BundleError::Io { .. } => ErrorKind::Other,
            BundleError::Index(e) => e.kind(),
            BundleError::BaseUrlRequired { .. }
            | BundleError::BadBaseUrl { .. }
            | BundleError::WouldDropIndex { .. } => ErrorKind::Usage,
            BundleError::RepackIncomplete { .. } => ErrorKind::NoSource,
            BundleError::Install(e) => e.kind(),
            BundleError::CacheModified { .. } => ErrorKind::Verification,
            BundleError::Targets { failures, .. } => {
                let kinds: Vec<ErrorKind> = failures.iter().map(|f| f.error.kind()).collect();
                if kinds.windows(2).all(|w| w[0] == w[1]) {
                    kinds.first().copied().unwrap_or(ErrorKind::Other)
                } else if kinds.contains(&ErrorKind::Verification) {
                    ErrorKind::Verification
                } else if kinds.contains(&ErrorKind::NoSource) {
                    ErrorKind::NoSource
                } else {
                    ErrorKind::Other
                }
            }
        }
    }
}

/// One file written, relative to the bundle directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrittenFile {
    pub path: String,
    pub sha256: Sha256,
    pub size: u64,
}

/// One output of one target: a directory, a wheel or a tarball.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Output {
    pub format: Format,
    /// Relative to the bundle directory.
    pub path: String,
    /// The file's digest; `None` for a directory.
    pub sha256: Option<Sha256>,
    /// The file's size, or the directory's total.
    pub size: u64,
    /// The files it holds (1 for a wheel or tarball).
    pub files: usize,
    /// Upstream's artifact, a re-pack, or the installed root (absent in bundles written before
    /// it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<upstream::Origin>,
}

/// What was verified and written for one target.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetBundle {
    /// The source the runtime came from, and where (from its receipt).
    pub source: String,
    pub from: String,
    /// The artifact that was verified against the pins when the runtime was installed.
    pub artifact: VerifiedArtifact,
    pub entrypoint: WrittenFileRef,
    pub outputs: Vec<Output>,
    /// Every file written for this target.
    pub files: Vec<WrittenFile>,
    /// The upstream artifacts staged, by file name, with the digests verified against the pins.
    #[serde(skip)]
    pub kept: Vec<(String, crate::model::digest::Digests)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifiedArtifact {
    pub kind: crate::model::manifest::ArtifactKind,
    pub file: String,
    pub sha256: Sha256,
    pub size: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WrittenFileRef {
    pub path: String,
    pub sha256: Sha256,
    pub size: u64,
}

/// `bundle.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BundleDescription {
    pub schema_version: u32,
    pub generator: String,
    pub version: RuntimeVersion,
    pub channel: Channel,
    pub formats: Vec<Format>,
    pub targets: BTreeMap<Target, TargetBundle>,
}

/// A finished bundle.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The bundle directory.
    pub out: PathBuf,
    pub description: BundleDescription,
}

impl Bundle {
    /// Every output, target by target, in the order of `bundle.json`.
    pub fn outputs(&self) -> impl Iterator<Item = (Target, &Output)> {
        self.description.targets.iter().flat_map(|(t, b)| b.outputs.iter().map(move |o| (*t, o)))
    }
}

/// Fetch, verify and stage every requested target; see the module documentation.
pub fn bundle(
    request: &BundleRequest<'_>,
    options: &InstallOptions,
    cache: &Cache,
    reporter: &dyn Reporter,
) -> Result<Bundle, BundleError> {
    let out = &request.out;
    if overlaps(out, cache.root()) {
        return Err(BundleError::OutOverlapsCache { out: out.clone(), cache: cache.root().to_owned() });
    }
    let _lock = cache.lock_bundle_out(out, reporter).map_err(|e| BundleError::Install(Error::Cache(e)))?;
    check_out(out, request.force)?;
    if request.formats.contains(&Format::Index) {
        check_base_url(request.base_url.as_ref(), out)?;
    } else if !request.force && out::is_index(out) {
        return Err(BundleError::WouldDropIndex { path: out.clone() });
    }
    let staging = staging_dir(out)?;
    let mut formats = request.formats.clone();
    if formats.contains(&Format::Index) {
        formats.extend([Format::Wheel, Format::Npm]);
    }
    formats.sort();
    formats.dedup();
    let mut targets = request.targets.clone();
    targets.sort();
    targets.dedup();

    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(Target, Result<TargetBundle, BundleError>)>> = Mutex::new(Vec::new());
    let jobs = request.jobs.clamp(1, targets.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                while let Some(&target) = targets.get(next.fetch_add(1, Ordering::SeqCst)) {
                    reporter.target_started(target);
                    let result =
                        bundle_target(request.manifest, target, &formats, staging.path(), options, cache, reporter);
                    let failure = result.as_ref().err().map(|e| e.to_string());
                    reporter.target_finished(target, failure.as_deref());
                    results.lock().unwrap().push((target, result));
                }
            });
        }
    });

    let mut bundled = BTreeMap::new();
    let mut failures = Vec::new();
    for (target, result) in results.into_inner().unwrap() {
        match result {
            Ok(b) => {
                bundled.insert(target, b);
            }
            Err(error) => failures.push(TargetFailure { target, error: Box::new(error) }),
        }
    }
    if !failures.is_empty() {
        failures.sort_by_key(|f| f.target);
        return Err(BundleError::Targets { failures, total: targets.len(), out: out.clone() });
    }

    let description = BundleDescription {
        schema_version: 1,
        generator: concat!("codex-runtime ", env!("CARGO_PKG_VERSION")).to_owned(),
        version: request.manifest.version.clone(),
        channel: request.manifest.channel,
        formats,
        targets: bundled,
    };
    let mut extra = Vec::new();
    if description.formats.contains(&Format::Index) {
        // Additive: the artifacts of other versions a previous bundle there holds stay.
        extra.extend(out::carry_previous_artifacts(out, staging.path())?);
        // What the bundle verified is not hashed again.
        let known: BTreeMap<String, crate::model::digest::Digests> =
            description.targets.values().flat_map(|t| t.kept.iter().cloned()).collect();
        // And what the pins record of each tarball's package.json is not read from it again.
        let package_json: BTreeMap<String, serde_json::Map<String, serde_json::Value>> = (request.manifest.targets)
            .values()
            .filter_map(|pins| pins.artifacts.npm.as_ref())
            .filter_map(|npm| Some((npm.file.clone(), npm.package_json.clone()?)))
            .collect();
        let options = index::IndexOptions {
            base_url: request.base_url.as_ref(),
            known: Some(&known),
            package_json: Some(&package_json),
        };
        let written = index::write_index(staging.path(), &options).map_err(|e| BundleError::Index(Box::new(e)))?;
        extra.extend(written.into_iter().map(|f| (f.path, f.sha256)));
    }
    write_index(staging.path(), &description, &extra)?;
    publish(staging, out)?;
    Ok(Bundle { out: out.clone(), description })
}

/// What an index's links may start with: an http(s) URL without credentials (they would be
/// published in every link), checked before anything is fetched.
fn check_base_url(base_url: Option<&url::Url>, out: &Path) -> Result<(), BundleError> {
    let Some(url) = base_url else { return Err(BundleError::BaseUrlRequired { out: out.to_owned() }) };
    let shown = crate::net::RedactedUrl::from(url.clone()).to_string();
    let reason = if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        "not an http or https URL with a host"
    } else if !url.username().is_empty() || url.password().is_some() {
        "it holds credentials, which every link of the index would publish"
    } else if url.query().is_some() || url.fragment().is_some() {
        "a query or fragment has no place in a base URL"
    } else {
        return Ok(());
    };
    Err(BundleError::BadBaseUrl { url: shown, reason })
}

/// Install (or find in the cache) one target's runtime and stage it in every format.
fn bundle_target(
    manifest: &Manifest,
    target: Target,
    formats: &[Format],
    staging: &Path,
    options: &InstallOptions,
    cache: &Cache,
    reporter: &dyn Reporter,
) -> Result<TargetBundle, BundleError> {
    let pinned = manifest.pinned(target)?;
    let labelled = TargetReporter { inner: reporter, target };
    // Upstream's artifacts of the formats asked for, kept whole.
    let kept = upstream::keep_all(&pinned, upstream::wanted(&pinned, formats), options, cache, &labelled)?;
    let has_upstream = |format: Format| {
        let wanted = upstream::wanted(&pinned, &[format]);
        kept.iter().any(|(a, k)| k.is_ok() && wanted.iter().any(|w| w.file == a.file))
    };
    // The runtime is installed only for `dir` and for re-packs; then from a kept artifact (no
    // second download) when there is one.
    let needs_runtime = formats.iter().any(|&f| f == Format::Dir || (f != Format::Index && !has_upstream(f)));
    let installed = if needs_runtime {
        let with_kept = install::keep::with_kept_first(options, cache);
        let options = if kept.iter().any(|(_, k)| k.is_ok()) { &with_kept } else { options };
        Some(install::install(&pinned, options, cache, &labelled)?)
    } else {
        None
    };
    let runtime = installed.as_ref().map(|i| RuntimeRoot::of(&i.runtime_dir, &i.receipt, !i.cached));
    let mut outputs = Vec::new();
    let mut files = Vec::new();
    for &format in formats {
        if format == Format::Index {
            continue;
        }
        reporter.target_step(target, &format!("staging {format}"));
        let mut staged = Vec::new();
        if format != Format::Dir {
            let wanted = upstream::wanted(&pinned, &[format]);
            for (artifact, kept) in kept.iter().filter(|(a, _)| wanted.iter().any(|w| w.file == a.file)) {
                if let Ok(kept) = kept {
                    staged.push(upstream::stage(kept, artifact, staging)?);
                }
            }
        }
        if staged.is_empty() {
            let (runtime, installed) = (runtime.as_ref(), installed.as_ref());
            let (runtime, installed) = runtime.zip(installed).expect("installed for dir and re-packs");
            let from = installed.receipt.artifact.file.clone();
            let (output, written) = match format {
                Format::Dir => {
                    let (mut output, written) = stage_dir(runtime, staging, target)?;
                    output.origin = Some(upstream::Origin::Installed { from });
                    (output, written)
                }
                _ => {
                    let kind = if format == Format::Wheel { members::Kind::Wheel } else { members::Kind::Npm };
                    let members = members::of(manifest, target, kind);
                    let carried: Vec<&str> = runtime.files.iter().map(|f| f.path.as_str()).collect();
                    let missing = members::missing(pinned.pins, &members, &carried);
                    if !missing.is_empty() {
                        return Err(BundleError::RepackIncomplete {
                            format,
                            members_from: members.from,
                            installed: from,
                            missing: missing.into_iter().map(str::to_owned).collect(),
                        });
                    }
                    let (mut output, written) = match kind {
                        members::Kind::Wheel => wheel::write(runtime, staging, manifest, target, &members)?,
                        members::Kind::Npm => npm::write(runtime, staging, manifest, target, &members)?,
                    };
                    let why = upstream::why_not(&pinned, format, &kept);
                    output.origin = Some(upstream::Origin::Repack { from, why, members });
                    (output, written)
                }
            };
            staged.push((output, written));
        }
        for (output, written) in staged {
            outputs.push(output);
            files.extend(written);
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let (source, from, artifact) = match &installed {
        Some(installed) => upstream::installed_from(installed, &kept, cache),
        None => upstream::first_kept(&kept).expect("every format had an upstream artifact"),
    };
    let entrypoint = &pinned.pins.entrypoint;
    Ok(TargetBundle {
        source,
        from,
        artifact,
        entrypoint: WrittenFileRef { path: entrypoint.path.clone(), sha256: entrypoint.sha256, size: entrypoint.size },
        outputs,
        files,
        kept: kept.iter().filter_map(|(a, k)| Some((a.file.clone(), k.as_ref().ok()?.digests.clone()))).collect(),
    })
}

/// An install's progress, labelled with its target for the bundle's per-target lines.
struct TargetReporter<'a> {
    inner: &'a dyn Reporter,
    target: Target,
}

impl Reporter for TargetReporter<'_> {
    fn attempt(&self, source: &str, location: &str) {
        self.inner.attempt(source, location);
        self.inner.target_step(self.target, &format!("trying {source}"));
    }

    fn download_started(&self, file: &str, total: Option<u64>) {
        self.inner.target_download(self.target, file, total);
    }

    fn copy_started(&self, file: &str, total: Option<u64>) {
        self.inner.target_copy(self.target, file, total);
    }

    fn download_progress(&self, bytes: u64) {
        self.inner.target_bytes(self.target, bytes);
    }

    fn attempt_failed(&self, source: &str, location: &str, reason: &str) {
        self.inner.attempt_failed(source, location, reason);
    }

    fn extracting(&self, file: &str) {
        self.inner.target_step(self.target, &format!("verified {file}; extracting"));
    }
}

/// A verified runtime root in the cache, as its receipt lists it.
pub(crate) struct RuntimeRoot {
    /// The runtime's files, sorted by path, without the receipt and the wheel's Python shim.
    pub files: Vec<RuntimeFile>,
    /// Installed by this run: every file was hashed moments ago as it was extracted, so a
    /// plain copy needs no second pass. A runtime found in the cache is re-hashed instead.
    pub fresh: bool,
}

/// One file of a cached runtime root and the digest its receipt recorded.
pub(crate) struct RuntimeFile {
    /// Relative to the runtime root, `/`-separated.
    pub path: String,
    pub source: PathBuf,
    pub executable: bool,
    pub sha256: Sha256,
    pub size: u64,
}

impl RuntimeRoot {
    fn of(dir: &Path, receipt: &Receipt, fresh: bool) -> RuntimeRoot {
        let mut files: Vec<RuntimeFile> = receipt
            .files
            .iter()
            .filter(|f| f.path != RECEIPT && f.path != WHEEL_SHIM)
            .map(|f| {
                let source = dir.join(&f.path);
                RuntimeFile {
                    executable: is_executable(&source),
                    source,
                    path: f.path.clone(),
                    sha256: f.sha256,
                    size: f.size,
                }
            })
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        RuntimeRoot { files, fresh }
    }
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).map(|m| m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    let path = path.to_string_lossy().replace('\\', "/");
    path.contains("/bin/") || path.contains("/codex-path/")
}

/// A cached file opened through the verifier: read to its end, it fails unless it is what the
/// receipt recorded ([`BundleError::CacheModified`] through [`write_error`]).
pub(crate) fn open_verified(file: &RuntimeFile) -> Result<VerifyingReader<File>, BundleError> {
    let inner = File::open(&file.source).map_err(BundleError::io("read", &file.source))?;
    let expected = Expected::exactly(file.sha256, file.size);
    Ok(VerifyingReader::new(inner, Verifier::new(file.source.display().to_string(), &expected)))
}

/// An I/O error while writing `path`, unless it is a cached file failing its receipt.
pub(crate) fn write_error(path: &Path) -> impl FnOnce(io::Error) -> BundleError + '_ {
    move |e| match VerifyError::from_io(e) {
        Ok(mismatch) => BundleError::CacheModified { mismatch },
        Err(source) => BundleError::Io { action: "write", path: path.to_owned(), source },
    }
}

/// Write a single-file output (a wheel, a tarball) through `produce`, then hash what was
/// written (compressed, and still in the page cache).
pub(crate) fn write_archive(
    staging: &Path,
    name: &str,
    format: Format,
    produce: impl FnOnce(&mut io::BufWriter<File>) -> Result<(), BundleError>,
) -> Result<(Output, Vec<WrittenFile>), BundleError> {
    let path = staging.join(name);
    let file = File::create(&path).map_err(BundleError::io("create", &path))?;
    let mut writer = io::BufWriter::with_capacity(1 << 20, file);
    produce(&mut writer)?;
    writer.flush().map_err(BundleError::io("write", &path))?;
    drop(writer);
    let file = File::open(&path).map_err(BundleError::io("read", &path))?;
    let (sha256, size) =
        Sha256::of_reader(io::BufReader::with_capacity(1 << 20, file)).map_err(BundleError::io("read", &path))?;
    let output = Output { format, path: name.to_owned(), sha256: Some(sha256), size, files: 1, origin: None };
    Ok((output, vec![WrittenFile { path: name.to_owned(), sha256, size }]))
}

/// `OUT/TRIPLE/`: the runtime root, exec bits kept. A runtime installed by this run is
/// copied by the kernel (its files were hashed as they were extracted); one found in the
/// cache is re-hashed as it is copied and must still match its receipt.
fn stage_dir(runtime: &RuntimeRoot, staging: &Path, target: Target) -> Result<(Output, Vec<WrittenFile>), BundleError> {
    let root = staging.join(target.triple());
    let mut written = Vec::new();
    for file in &runtime.files {
        let dest = root.join(&file.path);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(BundleError::io("create", parent))?;
        }
        let sha256 = if runtime.fresh {
            let size = std::fs::copy(&file.source, &dest).map_err(BundleError::io("copy", &file.source))?;
            if size != file.size {
                return Err(BundleError::Io {
                    action: "copy",
                    path: file.source.clone(),
                    source: io::Error::other(format!("it is {size} bytes, {} when installed moments ago", file.size)),
                });
            }
            file.sha256
        } else {
            let mut reader = open_verified(file)?;
            let out = File::create(&dest).map_err(BundleError::io("create", &dest))?;
            let mut out = io::BufWriter::with_capacity(1 << 20, out);
            io::copy(&mut reader, &mut out).map_err(write_error(&dest))?;
            out.flush().map_err(write_error(&dest))?;
            reader.digests().expect("read to the end").sha256
        };
        set_mode(&dest, file.executable)?;
        written.push(WrittenFile { path: format!("{}/{}", target.triple(), file.path), sha256, size: file.size });
    }
    let output = Output {
        format: Format::Dir,
        path: target.triple().to_owned(),
        sha256: None,
        size: written.iter().map(|f| f.size).sum(),
        files: written.len(),
        origin: None,
    };
    Ok((output, written))
}

fn set_mode(path: &Path, executable: bool) -> Result<(), BundleError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if executable { 0o755 } else { 0o644 };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(BundleError::io("set the mode of", path))?;
    }
    #[cfg(not(unix))]
    let _ = (path, executable);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::out::is_previous_bundle;
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// Regression: `bundle --force --out` the cache, or a directory holding it, replaced the
    /// cache with the bundle.
    #[test]
    fn out_may_not_overlap_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        std::fs::create_dir_all(cache.join("runtimes")).unwrap();
        assert!(overlaps(&cache, &cache));
        assert!(overlaps(dir.path(), &cache), "out holds the cache");
        assert!(overlaps(&cache.join("runtimes/new-bundle"), &cache), "out inside the cache");
        assert!(overlaps(&dir.path().join("cache/./runtimes/../x"), &cache));
        assert!(!overlaps(&dir.path().join("dist"), &cache));
        assert!(!overlaps(&dir.path().join("cache-dist"), &cache), "a common prefix is not a parent");
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&cache, &link).unwrap();
            assert!(overlaps(&link, &cache), "through a link");
        }
    }

    #[test]
    fn formats_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.as_str().parse::<Format>().unwrap(), f);
        }
        assert!("zip".parse::<Format>().is_err());
    }

    #[test]
    fn out_must_be_new_empty_or_a_previous_bundle() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        assert!(check_out(&out, false).is_ok(), "a new directory");
        std::fs::create_dir(&out).unwrap();
        assert!(check_out(&out, false).is_ok(), "an empty directory");
        write(&out.join("notes.txt"), "mine");
        assert!(matches!(check_out(&out, false), Err(BundleError::OutNotEmpty { .. })));
        assert!(check_out(&out, true).is_ok(), "--force");
        write(&dir.path().join("file"), "x");
        assert!(matches!(check_out(&dir.path().join("file"), false), Err(BundleError::OutNotDir { .. })));
    }

    #[test]
    fn a_previous_bundle_is_recognised_only_when_everything_in_it_is_listed() {
        let dir = tempfile::tempdir().unwrap();
        let description = BundleDescription {
            schema_version: 1,
            generator: "test".into(),
            version: "0.163.0".parse().unwrap(),
            channel: Channel::Stable,
            formats: vec![Format::Dir],
            targets: BTreeMap::new(),
        };
        write(&dir.path().join("x86_64-unknown-linux-musl/bin/codex"), "bin");
        write_index(dir.path(), &description, &[]).unwrap();
        let sums = std::fs::read_to_string(dir.path().join(SHA256SUMS)).unwrap();
        std::fs::write(
            dir.path().join(SHA256SUMS),
            format!("{sums}{}  x86_64-unknown-linux-musl/bin/codex\n", "0".repeat(64)),
        )
        .unwrap();
        assert!(is_previous_bundle(dir.path()));
        write(&dir.path().join("stray.txt"), "not ours");
        assert!(!is_previous_bundle(dir.path()));
    }

    #[test]
    fn publishing_replaces_a_previous_bundle_whole() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        write(&out.join("old.txt"), "old");
        let staging = staging_dir(&out).unwrap();
        write(&staging.path().join("new.txt"), "new");
        publish(staging, &out).unwrap();
        assert!(out.join("new.txt").is_file() && !out.join("old.txt").exists());
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(left, ["out"], "no staging or aside directory is left behind");
    }

    #[test]
    fn a_modified_cache_file_fails_its_receipt() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("codex");
        std::fs::write(&source, b"original").unwrap();
        let (sha256, size) = Sha256::of_reader(&b"original"[..]).unwrap();
        let file = RuntimeFile { path: "bin/codex".into(), source: source.clone(), executable: true, sha256, size };
        let mut ok = Vec::new();
        io::copy(&mut open_verified(&file).unwrap(), &mut ok).unwrap();
        std::fs::write(&source, b"tampered").unwrap();
        let err = io::copy(&mut open_verified(&file).unwrap(), &mut Vec::new()).unwrap_err();
        let err = write_error(Path::new("dest"))(err);
        assert!(matches!(err, BundleError::CacheModified { .. }), "{err}");
        assert!(err.to_string().contains(&sha256.to_string()), "{err}");
    }
}
