//! A static package index over a bundle directory (`--format index`): pages beside the flat
//! artifacts so that any plain static HTTP server serving the directory (`python3 -m
//! http.server`, nginx, an object-store bucket with an index document) is a PEP 503 / PEP 691
//! index for pip and uv and an npm registry for `@openai/codex`, with no server-side logic.
//!
//! ```text
//! DIR/
//!   openai_codex_cli_bin-PEP440-py3-none-TAG.whl           the artifacts, flat, as bundled
//!   openai_codex_cli_bin-PEP440-py3-none-TAG.whl.metadata  its METADATA (PEP 658)
//!   openai-codex-V-SUFFIX.tgz
//!   simple/index.html, index.json                          the project list (PEP 503, PEP 691)
//!   simple/openai-codex-cli-bin/index.html, index.json     one link per wheel, with its sha256
//!   @openai/codex/index.html, index.json                   the npm package document (packument)
//!   @openai/codex/-/codex-V-SUFFIX.tgz                     a hard link to (or copy of) the tarball
//! ```
//!
//! What the clients request, and which file answers (as `python3 -m http.server` logged them
//! for pip 23, uv 0.13 and npm 11):
//!
//! | client | request | file |
//! |---|---|---|
//! | pip, uv (`--index-url BASE/simple/`) | `GET /simple/openai-codex-cli-bin/` | `simple/openai-codex-cli-bin/index.html` |
//! | pip, uv | `GET /FILE.whl` | the wheel itself |
//! | a resolver that wants the metadata first (PEP 658) | `GET /FILE.whl.metadata` | `FILE.whl.metadata` |
//! | `npm install` (`--registry BASE/`) | `GET /@openai%2fcodex`, a directory: 301 to `/@openai%2fcodex/` | `@openai/codex/index.html` (JSON) |
//! | `npm install`, `npm ci` | `GET /@openai/codex/-/codex-V-SUFFIX.tgz` (`dist.tarball`, the lockfile's `resolved`) | the hard link |
//!
//! pip and uv with `--no-deps` and an exact pin fetch only the project page and the wheel; `npm
//! ci` fetches only the lockfile's `resolved` URL.
//!
//! A static server decodes `%2f` to `/`, finds the directory `@openai/codex`, redirects to the
//! trailing slash and serves its `index.html`; npm reads the body as JSON whatever its content
//! type. The `index.json` copies are for servers set up to negotiate PEP 691's JSON or to serve
//! `index.json` as the directory index.
//!
//! npm does not resolve a relative `dist.tarball` against the registry: it reads `codex-V.tgz`
//! or `/@openai/codex/-/codex-V.tgz` as a local `file:` path. So the package document holds
//! absolute URLs under [`IndexOptions::base_url`], which npm tarballs require; the PEP 503 and
//! PEP 691 pages use relative links (resolved against the page, as the PEPs say) unless it is
//! given.
//!
//! The index is additive by construction: every run indexes every artifact in the directory,
//! whatever its version, so bundling another version into it and running again adds that
//! version and keeps the others. Pages are sorted and carry no timestamps, so two runs over the
//! same artifacts write identical bytes; each page is written to a temporary file and renamed
//! into place, so a server never serves half a page.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use sha1::Digest as _;
use url::Url;

use crate::model::digest::{Digests, Hasher, Integrity, Sha256};
use crate::model::error::ErrorKind;
use crate::model::manifest::NPM_DOCUMENT_FIELDS;
use crate::model::target::Target;

/// The npm package the platform tarballs are versions of.
const NPM_PACKAGE: &str = "@openai/codex";
/// The prefix `npm pack` gives its tarballs.
const NPM_FILE_PREFIX: &str = "openai-codex-";
/// The simple API version the pages declare (PEP 629, PEP 700).
const API_VERSION: &str = "1.1";
/// The most of a `METADATA` or `package.json` this reads.
const MAX_MANIFEST: u64 = 1 << 20;

/// How to write the index.
#[derive(Debug, Clone, Copy, Default)]
pub struct IndexOptions<'a> {
    /// The URL the directory will be served at. Required when it holds npm tarballs (npm needs
    /// absolute tarball URLs); when given, the Python pages link absolutely under it too.
    pub base_url: Option<&'a Url>,
    /// Digests the caller verified moments ago, by file name (a bundle's kept artifacts): a
    /// file of that name and size is not hashed again for them.
    pub known: Option<&'a BTreeMap<String, Digests>>,
    /// What the pins record of a tarball's `package.json` ([`NPM_DOCUMENT_FIELDS`]), by file
    /// name: for a tarball whose `known` digests matched its pin, the package document takes
    /// these instead of inflating the tarball to read them.
    pub package_json: Option<&'a BTreeMap<String, Map<String, Value>>>,
}

/// A file the index wrote, for the caller's `SHA256SUMS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexFile {
    /// The path relative to the directory, `/`-separated.
    pub path: String,
    /// The sha256 of its bytes.
    pub sha256: Sha256,
    /// Its size in bytes.
    pub size: u64,
}

/// Why the index was not written.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is not an artifact the index can serve: {problem}; remove it from the directory or bundle it again", path.display())]
    BadArtifact {
        path: PathBuf,
        problem: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    #[error(
        "{} holds no wheels (*.whl) and no npm tarballs ({NPM_FILE_PREFIX}*.tgz) to index; bundle with --format wheel or --format npm into it first",
        dir.display()
    )]
    NoArtifacts { dir: PathBuf },
    #[error(
        "npm needs absolute tarball URLs and {} holds npm tarballs ({}): pass --base-url URL, the URL the directory will be served at",
        dir.display(),
        files.join(", ")
    )]
    BaseUrlRequired { dir: PathBuf, files: Vec<String> },
    #[error(
        "--base-url {url} is not an http or https URL; pass the URL the directory will be served at, like http://HOST:PORT/PATH/"
    )]
    BadBaseUrl { url: String },
}

impl IndexError {
    /// The kind the command line reports.
    pub fn kind(&self) -> ErrorKind {
        match self {
            IndexError::Io { .. } => ErrorKind::Other,
            IndexError::BadArtifact { .. } => ErrorKind::Verification,
            IndexError::NoArtifacts { .. } | IndexError::BaseUrlRequired { .. } | IndexError::BadBaseUrl { .. } => {
                ErrorKind::Usage
            }
        }
    }

    fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> IndexError + 'a {
        move |source| IndexError::Io { action, path: path.to_owned(), source }
    }

    fn bad(path: &Path, problem: impl Into<String>) -> IndexError {
        IndexError::BadArtifact { path: path.to_owned(), problem: problem.into(), source: None }
    }

    fn bad_because(
        path: &Path,
        problem: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> IndexError {
        IndexError::BadArtifact { path: path.to_owned(), problem: problem.into(), source: Some(Box::new(source)) }
    }
}

/// Index every wheel (`*.whl`) and npm tarball (`openai-codex-*.tgz`) at the top level of
/// `dir`, writing the pages described in the [module docs](self). Returns every file written,
/// sorted by path.
///
/// ```no_run
/// use codex_runtime::release::bundle::index::{IndexOptions, write_index};
///
/// let base = url::Url::parse("http://127.0.0.1:8000/").unwrap();
/// let written = write_index("bundle".as_ref(), &IndexOptions { base_url: Some(&base), known: None, package_json: None }).unwrap();
/// for file in written {
///     println!("{}  {}", file.sha256, file.path);
/// }
/// ```
pub fn write_index(dir: &Path, options: &IndexOptions<'_>) -> Result<Vec<IndexFile>, IndexError> {
    let (wheel_paths, tarball_paths) = scan(dir)?;
    if wheel_paths.is_empty() && tarball_paths.is_empty() {
        return Err(IndexError::NoArtifacts { dir: dir.to_owned() });
    }
    let base = base_url(options.base_url)?;
    if base.is_none() && !tarball_paths.is_empty() {
        let files = tarball_paths.iter().map(|p| file_name(p)).collect();
        return Err(IndexError::BaseUrlRequired { dir: dir.to_owned(), files });
    }
    let known = |path: &Path| {
        let digests = options.known?.get(&file_name(path))?;
        let size = fs_err::metadata(path).ok()?.len();
        (size == digests.size).then_some(digests)
    };
    // Each artifact is read on its own core: hashing, and inflating a tarball to its
    // package.json, are the index's whole cost.
    let wheels = parallel(&wheel_paths, |p| read_wheel(p, known(p))).into_iter().collect::<Result<Vec<_>, _>>()?;
    let pinned = |path: &Path| options.package_json?.get(&file_name(path));
    let tarballs = parallel(&tarball_paths, |p| read_tarball(p, known(p), pinned(p)))
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let links = Links { base: base.as_ref() };
    let mut written = Vec::new();
    for wheel in &wheels {
        written.push(write_page(dir, &format!("{}.metadata", wheel.file), &wheel.metadata)?);
    }
    if !wheels.is_empty() {
        for (path, bytes) in simple_pages(&wheels, &links) {
            written.push(write_page(dir, &path, &bytes)?);
        }
    }
    if !tarballs.is_empty() {
        let document = packument(&tarballs, &links);
        written.push(write_page(dir, &format!("{NPM_PACKAGE}/index.html"), &document)?);
        written.push(write_page(dir, &format!("{NPM_PACKAGE}/index.json"), &document)?);
        for tarball in &tarballs {
            written.push(link_tarball(dir, tarball)?);
        }
    }
    written.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(written)
}

/// The base URL with a trailing slash, so that joining keeps its last segment.
fn base_url(base: Option<&Url>) -> Result<Option<Url>, IndexError> {
    let Some(base) = base else { return Ok(None) };
    if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
        return Err(IndexError::BadBaseUrl { url: base.to_string() });
    }
    let mut base = base.clone();
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    base.set_query(None);
    base.set_fragment(None);
    Ok(Some(base))
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// The wheels and npm tarballs at the top level of `dir`, each list sorted by name.
fn scan(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>), IndexError> {
    let (mut wheels, mut tarballs) = (Vec::new(), Vec::new());
    for entry in fs_err::read_dir(dir).map_err(IndexError::io("read", dir))? {
        let entry = entry.map_err(IndexError::io("read", dir))?;
        let path = entry.path();
        // Following links: a linked artifact is served like any other.
        if !fs_err::metadata(&path).is_ok_and(|m| m.is_file()) {
            continue;
        }
        let name = file_name(&path);
        if name.ends_with(".whl") {
            wheels.push(path);
        } else if name.starts_with(NPM_FILE_PREFIX) && name.ends_with(".tgz") {
            tarballs.push(path);
        }
    }
    wheels.sort();
    tarballs.sort();
    Ok((wheels, tarballs))
}

/// A wheel, as the Python pages describe it.
struct Wheel {
    file: String,
    project: String,
    version: String,
    requires_python: Option<String>,
    metadata: Vec<u8>,
    sha256: Sha256,
    size: u64,
}

/// PEP 503's normalized project name: lowercase, runs of `-`, `_` and `.` as one `-`.
fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// A wheel file name's distribution and version: `DIST-VERSION(-BUILD)?-PY-ABI-PLATFORM.whl`.
fn parse_wheel_name(name: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = name.strip_suffix(".whl")?.split('-').collect();
    if !(5..=6).contains(&parts.len()) || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    Some((parts[0], parts[1]))
}

fn read_wheel(path: &Path, known: Option<&Digests>) -> Result<Wheel, IndexError> {
    let file = file_name(path);
    let (dist, version) = parse_wheel_name(&file).ok_or_else(|| {
        IndexError::bad(path, "its name does not parse as a wheel's DIST-VERSION-PYTHON-ABI-PLATFORM.whl")
    })?;
    let member = format!("{dist}-{version}.dist-info/METADATA");
    let metadata = read_zip_member(path, &member)?;
    let text = std::str::from_utf8(&metadata)
        .map_err(|e| IndexError::bad_because(path, format!("its {member} is not UTF-8"), e))?;
    let field = |key: &str| header(text, key);
    let named = field("Name").map(|n| normalize(&n));
    if named.as_deref() != Some(normalize(dist).as_str()) || field("Version").as_deref() != Some(version) {
        return Err(IndexError::bad(
            path,
            format!(
                "its {member} names {} {}, not the {dist} {version} of its file name",
                field("Name").unwrap_or_else(|| "no project".into()),
                field("Version").unwrap_or_else(|| "no version".into())
            ),
        ));
    }
    let (sha256, size) = match known {
        Some(digests) => (digests.sha256, digests.size),
        None => hash_file(path, &mut Hasher::new())?,
    };
    Ok(Wheel {
        project: normalize(dist),
        version: version.to_owned(),
        requires_python: field("Requires-Python"),
        file,
        metadata,
        sha256,
        size,
    })
}

/// The first value of a header field in an email-style `METADATA`, before its body.
fn header(text: &str, key: &str) -> Option<String> {
    text.lines().take_while(|l| !l.trim().is_empty()).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim().eq_ignore_ascii_case(key).then(|| value.trim().to_owned())
    })
}

fn read_zip_member(path: &Path, member: &str) -> Result<Vec<u8>, IndexError> {
    let file = fs_err::File::open(path).map_err(IndexError::io("read", path))?;
    let mut archive = zip::ZipArchive::new(io::BufReader::new(file))
        .map_err(|e| IndexError::bad_because(path, "it is not a zip", e))?;
    let entry = match archive.by_name(member) {
        Ok(entry) => entry,
        Err(zip::result::ZipError::FileNotFound) => {
            return Err(IndexError::bad(path, format!("it has no {member}, which every wheel has")));
        }
        Err(e) => return Err(IndexError::bad_because(path, format!("its {member} cannot be read"), e)),
    };
    read_capped(entry, path, member)
}

/// Up to [`MAX_MANIFEST`] bytes of `reader`; more is an error.
fn read_capped(reader: impl Read, path: &Path, member: &str) -> Result<Vec<u8>, IndexError> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_MANIFEST + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| IndexError::bad_because(path, format!("its {member} cannot be read"), e))?;
    if bytes.len() as u64 > MAX_MANIFEST {
        return Err(IndexError::bad(path, format!("its {member} is larger than {MAX_MANIFEST} bytes")));
    }
    Ok(bytes)
}

/// Hash a whole file through `sink` (which may hash it more ways); its sha256 and size.
fn hash_file(path: &Path, sink: &mut impl Write) -> Result<(Sha256, u64), IndexError> {
    struct Tee<'a, W> {
        sha256: Hasher,
        other: &'a mut W,
    }
    impl<W: Write> Write for Tee<'_, W> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.sha256.update(buf);
            self.other.write_all(buf)?;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            self.other.flush()
        }
    }
    let mut file = fs_err::File::open(path).map_err(IndexError::io("read", path))?;
    let mut tee = Tee { sha256: Hasher::new(), other: sink };
    io::copy(&mut file, &mut tee).map_err(IndexError::io("read", path))?;
    Ok(tee.sha256.finish())
}

/// npm's two digests of a tarball, as it goes by: sha512 for `integrity`, sha1 for `shasum`.
#[derive(Default)]
struct NpmDigests {
    sha512: sha2::Sha512,
    sha1: sha1::Sha1,
}

impl Write for NpmDigests {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.sha512.update(buf);
        self.sha1.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// sha1 alone.
struct Sha1Sink(sha1::Sha1);

impl Write for Sha1Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `f` over `items` on every core, results in the items' order.
fn parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).min(items.len().max(1));
    let next = AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::with_capacity(items.len()));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(item) = items.get(index) else { break };
                    let result = f(item);
                    results.lock().expect("no thread panicked holding it").push((index, result));
                }
            });
        }
    });
    let mut results = results.into_inner().expect("no thread panicked holding it");
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

/// An npm tarball, as the package document describes it.
struct Tarball {
    file: String,
    version: semver::Version,
    /// The platform suffix of the version (`linux-x64`), when it ends in one.
    platform: Option<&'static str>,
    /// What the package document repeats of its `package.json`.
    fields: Map<String, Value>,
    integrity: Integrity,
    shasum: String,
    sha256: Sha256,
    size: u64,
}

impl Tarball {
    /// The registry's usual path of the tarball, relative to the registry.
    fn registry_path(&self) -> String {
        let unscoped = NPM_PACKAGE.rsplit('/').next().expect("a package name");
        format!("{NPM_PACKAGE}/-/{unscoped}-{}.tgz", self.version)
    }

    /// The version without its platform suffix, which orders the versions of one platform.
    fn release(&self) -> semver::Version {
        let text = self.version.to_string();
        let bare = self.platform.and_then(|s| text.strip_suffix(&format!("-{s}"))).unwrap_or(&text);
        bare.parse().unwrap_or_else(|_| self.version.clone())
    }
}

/// An npm tarball for the package document; `pinned` is the pins' record of its `package.json`
/// fields, used only with verified `known` digests.
fn read_tarball(
    path: &Path,
    known: Option<&Digests>,
    pinned: Option<&Map<String, Value>>,
) -> Result<Tarball, IndexError> {
    let file = file_name(path);
    let spelled = file.strip_prefix(NPM_FILE_PREFIX).and_then(|r| r.strip_suffix(".tgz")).unwrap_or_default();
    let version: semver::Version = spelled.parse().map_err(|e| {
        IndexError::bad_because(
            path,
            format!("its name does not parse as {NPM_FILE_PREFIX}VERSION.tgz with a semver VERSION"),
            e,
        )
    })?;
    let fields = match (known, pinned) {
        // The bytes matched the pins, which were read from these same bytes.
        (Some(_), Some(pinned)) => pinned.clone(),
        _ => package_fields(path, spelled)?,
    };
    let platform = Target::ALL.iter().map(|t| t.npm_suffix()).find(|s| spelled.ends_with(&format!("-{s}")));
    let (integrity, shasum, sha256, size) = match known.and_then(|d| Some((d, d.sha512.clone()?))) {
        // Verified: only sha1 (npm's legacy `shasum`) is left to compute.
        Some((digests, sha512)) => {
            let mut sha1 = Sha1Sink(sha1::Sha1::default());
            hash_file(path, &mut sha1)?;
            (sha512, hex::encode(sha1.0.finalize()), digests.sha256, digests.size)
        }
        None => {
            let mut digests = NpmDigests::default();
            let (sha256, size) = hash_file(path, &mut digests)?;
            (Integrity(digests.sha512.finalize().into()), hex::encode(digests.sha1.finalize()), sha256, size)
        }
    };
    Ok(Tarball { file, version, platform, fields, integrity, shasum, sha256, size })
}

/// The package document's fields from a tarball's own `package.json`, which must name the
/// package and version its file name does.
fn package_fields(path: &Path, spelled: &str) -> Result<Map<String, Value>, IndexError> {
    let package = read_package_json(path)?;
    let json: Value = serde_json::from_slice(&package)
        .map_err(|e| IndexError::bad_because(path, "its package/package.json is not JSON", e))?;
    let (name, said) = (json["name"].as_str(), json["version"].as_str());
    if name != Some(NPM_PACKAGE) || said != Some(spelled) {
        return Err(IndexError::bad(
            path,
            format!(
                "its package/package.json names {} {}, not the {NPM_PACKAGE} {spelled} of its file name",
                name.unwrap_or("no package"),
                said.unwrap_or("no version")
            ),
        ));
    }
    Ok(NPM_DOCUMENT_FIELDS.iter().filter_map(|k| Some(((*k).to_owned(), json.get(*k)?.clone()))).collect())
}

/// `package/package.json` of a tarball (npm's layout), reading no further than it.
fn read_package_json(path: &Path) -> Result<Vec<u8>, IndexError> {
    const MEMBER: &str = "package/package.json";
    let file = fs_err::File::open(path).map_err(IndexError::io("read", path))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(io::BufReader::new(file)));
    let corrupt = |e: io::Error| IndexError::bad_because(path, "it is not a readable tar.gz", e);
    for entry in archive.entries().map_err(corrupt)? {
        let entry = entry.map_err(corrupt)?;
        let name = entry.path().map_err(corrupt)?.to_string_lossy().trim_start_matches("./").to_owned();
        if name == MEMBER && entry.header().entry_type().is_file() {
            return read_capped(entry, path, MEMBER);
        }
    }
    Err(IndexError::bad(path, format!("it has no {MEMBER}, which every npm package tarball has")))
}

/// How the pages link to files: relative to the page, or absolute under the base URL.
struct Links<'a> {
    base: Option<&'a Url>,
}

impl Links<'_> {
    /// The link to `path` (relative to the directory) from a page `depth` directories deep.
    fn to(&self, path: &str, depth: usize) -> String {
        let encoded: String = path.split('/').map(encode_segment).collect::<Vec<_>>().join("/");
        match self.base {
            Some(base) => base.join(&encoded).map(String::from).unwrap_or_else(|_| format!("{base}{encoded}")),
            None => format!("{}{encoded}", "../".repeat(depth)),
        }
    }
}

/// A path segment with everything but unreserved characters (and npm's `@`) percent-encoded.
fn encode_segment(segment: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'@');
    percent_encoding::utf8_percent_encode(segment, KEEP).to_string()
}

/// Text for HTML, in an element or a double-quoted attribute.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The PEP 503 and PEP 691 pages: the project list and one page per project.
fn simple_pages(wheels: &[Wheel], links: &Links<'_>) -> Vec<(String, Vec<u8>)> {
    let mut projects: BTreeMap<&str, Vec<&Wheel>> = BTreeMap::new();
    for wheel in wheels {
        projects.entry(wheel.project.as_str()).or_default().push(wheel);
    }
    let mut pages = vec![
        ("simple/index.html".to_owned(), root_html(projects.keys().copied(), links).into_bytes()),
        ("simple/index.json".to_owned(), root_json(projects.keys().copied(), links)),
    ];
    for (project, files) in &projects {
        pages.push((format!("simple/{project}/index.html"), project_html(project, files, links).into_bytes()));
        pages.push((format!("simple/{project}/index.json"), project_json(project, files, links)));
    }
    pages
}

fn html_page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"{API_VERSION}\">\n    \
         <title>{title}</title>\n  </head>\n  <body>\n    <h1>{title}</h1>\n{body}  </body>\n</html>\n"
    )
}

fn root_html<'a>(projects: impl Iterator<Item = &'a str>, links: &Links<'_>) -> String {
    let body: String = projects
        .map(|p| format!("    <a href=\"{}\">{}</a><br/>\n", escape_html(&project_url(p, links)), escape_html(p)))
        .collect();
    html_page("Simple index", &body)
}

/// A project page's URL from the project list: relative, or absolute under the base URL.
fn project_url(project: &str, links: &Links<'_>) -> String {
    match links.base {
        Some(_) => links.to(&format!("simple/{project}/"), 0),
        None => format!("{}/", encode_segment(project)),
    }
}

fn root_json<'a>(projects: impl Iterator<Item = &'a str>, links: &Links<'_>) -> Vec<u8> {
    let projects: Vec<Value> = projects.map(|p| json!({"name": p, "url": project_url(p, links)})).collect();
    to_json(&json!({"meta": {"api-version": API_VERSION}, "projects": projects}))
}

fn project_html(project: &str, files: &[&Wheel], links: &Links<'_>) -> String {
    let mut body = String::new();
    for wheel in files {
        let href = format!("{}#sha256={}", links.to(&wheel.file, 2), wheel.sha256);
        let metadata_sha256 = Sha256::of_reader(wheel.metadata.as_slice()).expect("reading memory").0;
        let _ = write!(
            body,
            "    <a href=\"{}\" data-dist-info-metadata=\"sha256={metadata_sha256}\" data-core-metadata=\"sha256={metadata_sha256}\"",
            escape_html(&href)
        );
        if let Some(requires) = &wheel.requires_python {
            let _ = write!(body, " data-requires-python=\"{}\"", escape_html(requires));
        }
        let _ = writeln!(body, ">{}</a><br/>", escape_html(&wheel.file));
    }
    html_page(&format!("Links for {}", escape_html(project)), &body)
}

fn project_json(project: &str, files: &[&Wheel], links: &Links<'_>) -> Vec<u8> {
    let versions: BTreeSet<&str> = files.iter().map(|w| w.version.as_str()).collect();
    let files: Vec<Value> = files
        .iter()
        .map(|wheel| {
            let metadata_sha256 = Sha256::of_reader(wheel.metadata.as_slice()).expect("reading memory").0;
            json!({
                "filename": wheel.file,
                "url": links.to(&wheel.file, 2),
                "hashes": {"sha256": wheel.sha256.to_string()},
                "requires-python": wheel.requires_python,
                "core-metadata": {"sha256": metadata_sha256.to_string()},
                "dist-info-metadata": {"sha256": metadata_sha256.to_string()},
                "size": wheel.size,
            })
        })
        .collect();
    to_json(&json!({"meta": {"api-version": API_VERSION}, "name": project, "versions": versions, "files": files}))
}

/// The package document npm fetches from `REGISTRY/@openai%2fcodex`.
fn packument(tarballs: &[Tarball], links: &Links<'_>) -> Vec<u8> {
    let mut versions = Map::new();
    for tarball in tarballs {
        let mut entry = tarball.fields.clone();
        entry.insert("name".into(), NPM_PACKAGE.into());
        entry.insert("version".into(), tarball.version.to_string().into());
        entry.insert(
            "dist".into(),
            json!({
                "tarball": links.to(&tarball.registry_path(), 0),
                "integrity": tarball.integrity.to_string(),
                "shasum": tarball.shasum,
            }),
        );
        versions.insert(tarball.version.to_string(), Value::Object(entry));
    }
    to_json(&json!({"name": NPM_PACKAGE, "dist-tags": dist_tags(tarballs), "versions": versions}))
}

/// `latest`: the newest version without a platform suffix (upstream's own `latest` is the
/// launcher package), and none when every version is a platform package (a platform package
/// as `latest` would be what `npm install @openai/codex` installs: a package with no launcher,
/// for one platform); and per platform suffix its newest version.
fn dist_tags(tarballs: &[Tarball]) -> BTreeMap<String, String> {
    let newest = |of: &mut dyn Iterator<Item = &Tarball>| {
        of.max_by(|a, b| (a.release(), &a.version).cmp(&(b.release(), &b.version))).map(|t| t.version.to_string())
    };
    let mut tags = BTreeMap::new();
    let latest = newest(&mut tarballs.iter().filter(|t| t.platform.is_none()));
    if let Some(latest) = latest {
        tags.insert("latest".to_owned(), latest);
    }
    let platforms: BTreeSet<&str> = tarballs.iter().filter_map(|t| t.platform).collect();
    for platform in platforms {
        if let Some(version) = newest(&mut tarballs.iter().filter(|t| t.platform == Some(platform))) {
            tags.insert(platform.to_owned(), version);
        }
    }
    tags
}

fn to_json(value: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("a page always serializes");
    bytes.push(b'\n');
    bytes
}

/// Write `bytes` at `rel` under `dir`, through a temporary file renamed into place.
fn write_page(dir: &Path, rel: &str, bytes: &[u8]) -> Result<IndexFile, IndexError> {
    let path = dir.join(rel);
    let parent = path.parent().expect("a page is inside the directory");
    fs_err::create_dir_all(parent).map_err(IndexError::io("create", parent))?;
    let mut temp = tempfile::NamedTempFile::new_in(parent).map_err(IndexError::io("create a file in", parent))?;
    temp.write_all(bytes).map_err(IndexError::io("write", temp.path()))?;
    set_readable(temp.as_file(), &path)?;
    temp.persist(&path).map_err(|e| IndexError::Io { action: "write", path: path.clone(), source: e.error })?;
    let (sha256, size) = Sha256::of_reader(bytes).expect("reading memory");
    Ok(IndexFile { path: rel.to_owned(), sha256, size })
}

/// tempfile creates 0600 files; a served page must be readable by the server.
fn set_readable(file: &std::fs::File, path: &Path) -> Result<(), IndexError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(IndexError::io("set permissions of", path))?;
    }
    #[cfg(not(unix))]
    let _ = (file, path);
    Ok(())
}

/// The tarball at the registry's usual path: a hard link to the flat file, else a copy; one
/// that is already that file is kept.
fn link_tarball(dir: &Path, tarball: &Tarball) -> Result<IndexFile, IndexError> {
    let rel = tarball.registry_path();
    let (from, to) = (dir.join(&tarball.file), dir.join(&rel));
    let written = IndexFile { path: rel, sha256: tarball.sha256, size: tarball.size };
    if same_file(&from, &to) {
        return Ok(written);
    }
    let parent = to.parent().expect("a tarball path has a parent");
    fs_err::create_dir_all(parent).map_err(IndexError::io("create", parent))?;
    match fs_err::remove_file(&to) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(IndexError::io("replace", &to)(e)),
        _ => {}
    }
    if fs_err::hard_link(&from, &to).is_err() {
        fs_err::copy(&from, &to).map_err(IndexError::io("copy the tarball to", &to))?;
    }
    Ok(written)
}

/// Whether two paths are one file (a hard link made by an earlier run).
#[cfg(unix)]
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Whether two paths are one file; without inode numbers, never (the link is made again).
#[cfg(not(unix))]
fn same_file(_: &Path, _: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_names_normalize_like_pep_503() {
        for (name, normalized) in
            [("openai_codex_cli_bin", "openai-codex-cli-bin"), ("Foo.__Bar", "foo-bar"), ("a-b", "a-b")]
        {
            assert_eq!(normalize(name), normalized, "{name}");
        }
    }

    #[test]
    fn wheel_names_parse_with_and_without_a_build_tag() {
        let cases = [
            (
                "openai_codex_cli_bin-0.163.0-py3-none-manylinux_2_17_x86_64.whl",
                Some(("openai_codex_cli_bin", "0.163.0")),
            ),
            ("pkg-1.0-1-py3-none-any.whl", Some(("pkg", "1.0"))),
            ("pkg-1.0-py3-none.whl", None),
            ("pkg--py3-none-any.whl", None),
            ("pkg-1.0-py3-none-any.zip", None),
        ];
        for (name, expected) in cases {
            assert_eq!(parse_wheel_name(name), expected, "{name}");
        }
    }

    #[test]
    fn metadata_headers_stop_at_the_body() {
        let text = "Name: x\nRequires-Python: >=3.10\n\nRequires-Python: <3\n";
        assert_eq!(header(text, "requires-python").as_deref(), Some(">=3.10"));
        assert_eq!(header("Name: x\n\nVersion: 1\n", "Version"), None);
    }

    #[test]
    fn links_are_relative_or_under_the_base() {
        let relative = Links { base: None };
        assert_eq!(relative.to("a b+c.whl", 2), "../../a%20b%2Bc.whl");
        let base = base_url(Some(&Url::parse("http://127.0.0.1:8000/mirror").unwrap())).unwrap();
        let absolute = Links { base: base.as_ref() };
        assert_eq!(
            absolute.to("@openai/codex/-/codex-1.0.0.tgz", 0),
            "http://127.0.0.1:8000/mirror/@openai/codex/-/codex-1.0.0.tgz"
        );
        assert!(matches!(base_url(Some(&Url::parse("file:///srv/").unwrap())), Err(IndexError::BadBaseUrl { .. })));
    }
}
