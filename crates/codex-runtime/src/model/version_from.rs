//! The runtime version a consumer's SDK pins, read from the consumer's own files.
//!
//! [`read`] takes a pin file, decided by its name, or a directory holding one:
//!
//! | file | what pins the runtime |
//! |------|-----------------------|
//! | `uv.lock` | the locked `openai-codex-cli-bin` (else `openai-codex`) version |
//! | `pyproject.toml` | `openai-codex` or `openai-codex-cli-bin` in `[project] dependencies`, `[project.optional-dependencies]` or `[dependency-groups]` |
//! | `requirements*.txt`, `constraints*.txt` | a requirement line, `-r`/`-c` includes followed |
//! | `package-lock.json` | the locked `@openai/codex` (else `@openai/codex-sdk`) version |
//! | `package.json` | `@openai/codex` or `@openai/codex-sdk` in `dependencies`, `devDependencies`, `optionalDependencies` or `peerDependencies` |
//!
//! A lockfile beside a manifest wins when it pins one of the packages: `pyproject.toml` is
//! answered from `uv.lock`, `package.json` from `package-lock.json`.
//!
//! ```
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("package.json"), r#"{"dependencies": {"@openai/codex-sdk": "^0.160.1"}}"#)?;
//! let pinned = codex_runtime::model::version_from::read(dir.path())?;
//! assert_eq!((pinned.package.as_str(), pinned.requirement.as_str(), pinned.line), ("@openai/codex-sdk", "^0.160.1", 1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::model::error::ErrorKind;
use crate::model::manifest::normalize;
use crate::model::requirement::VersionRequest;
use crate::model::version::RuntimeVersion;

/// The Python SDK and the runtime's own wheels.
const PYTHON_PACKAGES: [&str; 2] = ["openai-codex", "openai-codex-cli-bin"];
/// The npm packages that pin the runtime, the runtime's own first.
const NPM_PACKAGES: [&str; 2] = ["@openai/codex", "@openai/codex-sdk"];
/// The `package.json` sections read, in this order.
const NPM_SECTIONS: [&str; 4] = ["dependencies", "devDependencies", "optionalDependencies", "peerDependencies"];
/// The files looked for in a directory, in this order.
const DIRECTORY_FILES: [&str; 5] =
    ["uv.lock", "pyproject.toml", "package-lock.json", "package.json", "requirements.txt"];
/// How deep `-r`/`-c` includes may nest.
const INCLUDE_DEPTH: usize = 10;
/// File names of distributions a requirements line may point at.
const ARCHIVES: [&str; 4] = [".whl", ".tar.gz", ".zip", ".tgz"];

/// Where a pinned runtime version came from.
#[derive(Debug, Clone, PartialEq)]
pub struct PinnedBy {
    /// The file that gave the answer (a lockfile beside the given manifest, an included file).
    pub file: PathBuf,
    /// The 1-based line of the entry in `file`.
    pub line: usize,
    /// The package, as named in the file.
    pub package: String,
    /// The requirement as written: `==0.160.1`, `^0.160.1`, a locked `0.160.1`.
    pub requirement: String,
    pub request: VersionRequest,
}

/// Why no pinned version could be read. Every variant is a usage error.
#[derive(Debug, thiserror::Error)]
pub enum VersionFromError {
    #[error("cannot read {}; pass an existing pin file or directory, or pass --version", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot parse {}: {reason}; fix the file, or pass --version", path.display())]
    Parse { path: PathBuf, reason: String },
    #[error(
        "{} is not a pin file codex-runtime reads: pass a uv.lock, pyproject.toml, package-lock.json, \
         package.json, requirements*.txt or constraints*.txt, or a directory holding one",
        path.display()
    )]
    Unknown { path: PathBuf },
    #[error("{} pins none of {}; add one, or pass --version", path.display(), looked_for.join(", "))]
    NoPin { path: PathBuf, looked_for: Vec<String> },
    #[error(
        "{}:{line}: cannot use `{requirement}` for {package}: {reason}; pin a version instead, or pass --version",
        path.display()
    )]
    Unsupported { path: PathBuf, line: usize, package: String, requirement: String, reason: String },
}

impl VersionFromError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            VersionFromError::Read { .. }
            | VersionFromError::Parse { .. }
            | VersionFromError::Unknown { .. }
            | VersionFromError::NoPin { .. }
            | VersionFromError::Unsupported { .. } => ErrorKind::Usage,
        }
    }
}

/// The runtime version the pin file at `path` (or the first pin file in the directory `path`
/// that pins one) asks for.
pub fn read(path: &Path) -> Result<PinnedBy, VersionFromError> {
    if path.is_dir() {
        return read_directory(path);
    }
    let format = Format::of(path).ok_or_else(|| VersionFromError::Unknown { path: path.to_owned() })?;
    read_with_lockfile(path, format)?.ok_or_else(|| no_pin(path, format.packages()))
}

fn read_directory(dir: &Path) -> Result<PinnedBy, VersionFromError> {
    let mut any = false;
    for name in DIRECTORY_FILES {
        let path = dir.join(name);
        let Some(format) = Format::of(&path).filter(|_| path.is_file()) else {
            continue;
        };
        any = true;
        if let Some(pinned) = read_with_lockfile(&path, format)? {
            return Ok(pinned);
        }
    }
    match any {
        true => Err(no_pin(dir, &[&PYTHON_PACKAGES[..], &NPM_PACKAGES[..]].concat())),
        false => Err(VersionFromError::Unknown { path: dir.to_owned() }),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    UvLock,
    Pyproject,
    Requirements,
    PackageLock,
    PackageJson,
}

impl Format {
    fn of(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?;
        match name {
            "uv.lock" => Some(Format::UvLock),
            "pyproject.toml" => Some(Format::Pyproject),
            "package-lock.json" => Some(Format::PackageLock),
            "package.json" => Some(Format::PackageJson),
            _ if (name.starts_with("requirements") || name.starts_with("constraints")) && name.ends_with(".txt") => {
                Some(Format::Requirements)
            }
            _ => None,
        }
    }

    fn packages(self) -> &'static [&'static str] {
        match self {
            Format::UvLock | Format::Pyproject | Format::Requirements => &PYTHON_PACKAGES,
            Format::PackageLock | Format::PackageJson => &NPM_PACKAGES,
        }
    }

    /// The lockfile whose pins win over this manifest's.
    fn lockfile(self) -> Option<(&'static str, Format)> {
        match self {
            Format::Pyproject => Some(("uv.lock", Format::UvLock)),
            Format::PackageJson => Some(("package-lock.json", Format::PackageLock)),
            Format::UvLock | Format::Requirements | Format::PackageLock => None,
        }
    }
}

fn read_with_lockfile(path: &Path, format: Format) -> Result<Option<PinnedBy>, VersionFromError> {
    if let Some((name, lock_format)) = format.lockfile() {
        let lockfile = path.with_file_name(name);
        if lockfile.is_file()
            && let Some(pinned) = read_format(&lockfile, lock_format)?
        {
            return Ok(Some(pinned));
        }
    }
    read_format(path, format)
}

fn read_format(path: &Path, format: Format) -> Result<Option<PinnedBy>, VersionFromError> {
    match format {
        Format::UvLock => uv_lock(path, &read_text(path)?),
        Format::Pyproject => pyproject(path, &read_text(path)?),
        Format::Requirements => requirements(path, &mut vec![canonical(path)?]),
        Format::PackageLock => package_lock(path, &read_text(path)?),
        Format::PackageJson => package_json(path, &read_text(path)?),
    }
}

fn read_text(path: &Path) -> Result<String, VersionFromError> {
    std::fs::read_to_string(path).map_err(|source| VersionFromError::Read { path: path.to_owned(), source })
}

fn canonical(path: &Path) -> Result<PathBuf, VersionFromError> {
    std::fs::canonicalize(path).map_err(|source| VersionFromError::Read { path: path.to_owned(), source })
}

fn no_pin(path: &Path, packages: &[&str]) -> VersionFromError {
    VersionFromError::NoPin { path: path.to_owned(), looked_for: packages.iter().map(|p| p.to_string()).collect() }
}

fn line_of(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].matches('\n').count() + 1
}

fn parse_error(path: &Path, reason: String) -> VersionFromError {
    VersionFromError::Parse { path: path.to_owned(), reason }
}

fn toml_error(path: &Path, text: &str, e: toml::de::Error) -> VersionFromError {
    let at = e.span().map(|s| format!(" at line {}", line_of(text, s.start))).unwrap_or_default();
    parse_error(path, format!("not valid TOML{at}: {}", e.message().trim()))
}

/// What a found entry says, before it becomes a [`PinnedBy`] or an `Unsupported` error.
struct Entry<'a> {
    path: &'a Path,
    line: usize,
    package: &'a str,
    requirement: &'a str,
}

impl Entry<'_> {
    fn unsupported(&self, reason: String) -> VersionFromError {
        VersionFromError::Unsupported {
            path: self.path.to_owned(),
            line: self.line,
            package: self.package.to_owned(),
            requirement: self.requirement.to_owned(),
            reason,
        }
    }

    fn pinned(&self, request: VersionRequest) -> PinnedBy {
        PinnedBy {
            file: self.path.to_owned(),
            line: self.line,
            package: self.package.to_owned(),
            requirement: self.requirement.to_owned(),
            request,
        }
    }

    /// A locked version: exact, in either spelling.
    fn locked(&self) -> Result<PinnedBy, VersionFromError> {
        let version: RuntimeVersion = self.requirement.parse().map_err(|e| self.unsupported(format!("{e}")))?;
        Ok(self.pinned(VersionRequest::Exact { version, text: self.requirement.to_owned() }))
    }
}

// ---------------------------------------------------------------------------------------------
// Python

fn is_python_package(name: &str) -> bool {
    PYTHON_PACKAGES.contains(&normalize(name).as_str())
}

fn uv_lock(path: &Path, text: &str) -> Result<Option<PinnedBy>, VersionFromError> {
    #[derive(Deserialize)]
    struct Lock {
        #[serde(default)]
        package: Vec<Package>,
    }
    #[derive(Deserialize)]
    struct Package {
        name: Spanned<String>,
        version: Option<Spanned<String>>,
    }
    let lock: Lock = toml::from_str(text).map_err(|e| toml_error(path, text, e))?;
    // The runtime itself first: the SDK's version need not be the runtime's.
    for wanted in ["openai-codex-cli-bin", "openai-codex"] {
        let Some(package) = lock.package.iter().find(|p| normalize(p.name.get_ref()) == wanted) else {
            continue;
        };
        let (requirement, span) = match &package.version {
            Some(version) => (version.get_ref().as_str(), version.span()),
            None => ("", package.name.span()),
        };
        let entry = Entry { path, line: line_of(text, span.start), package: package.name.get_ref(), requirement };
        if requirement.is_empty() {
            return Err(entry.unsupported("the lock has no version for it (a path or editable source)".to_owned()));
        }
        return entry.locked().map(Some);
    }
    Ok(None)
}

fn pyproject(path: &Path, text: &str) -> Result<Option<PinnedBy>, VersionFromError> {
    #[derive(Deserialize)]
    struct Pyproject {
        project: Option<Project>,
        #[serde(rename = "dependency-groups", default)]
        dependency_groups: BTreeMap<String, Vec<Spanned<toml::Value>>>,
    }
    #[derive(Deserialize)]
    struct Project {
        #[serde(default)]
        dependencies: Vec<Spanned<String>>,
        #[serde(rename = "optional-dependencies", default)]
        optional_dependencies: BTreeMap<String, Vec<Spanned<String>>>,
    }
    let parsed: Pyproject = toml::from_str(text).map_err(|e| toml_error(path, text, e))?;
    let (dependencies, optional) = match parsed.project {
        Some(p) => (p.dependencies, p.optional_dependencies),
        None => (Vec::new(), BTreeMap::new()),
    };
    // Optional dependencies and groups are tables; their entries are taken in file order.
    let by_position = |mut entries: Vec<(String, usize)>| {
        entries.sort_by_key(|(_, at)| *at);
        entries
    };
    let optional =
        by_position(optional.into_values().flatten().map(|d| (d.get_ref().clone(), d.span().start)).collect());
    let groups = by_position(
        parsed
            .dependency_groups
            .into_values()
            .flatten()
            .filter_map(|d| Some((d.get_ref().as_str()?.to_owned(), d.span().start)))
            .collect(),
    );
    let dependencies = dependencies.into_iter().map(|d| (d.get_ref().clone(), d.span().start));
    for (entry, at) in dependencies.chain(optional).chain(groups) {
        let Some(requirement) = Pep508::parse(&entry).filter(|r| is_python_package(r.name)) else {
            continue;
        };
        return requirement.pinned(path, line_of(text, at)).map(Some);
    }
    Ok(None)
}

/// A PEP 508 requirement, as far as a pin needs it: `name [extras] specifiers ; markers` or
/// `name [extras] @ url`.
/// A PEP 508 requirement, split: `name[extras] specifier ; marker` or `name @ url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pep508<'a> {
    pub name: &'a str,
    /// The version specifier without parentheses or marker; after `@`, the URL reference.
    pub specifier: &'a str,
    pub url: Option<&'a str>,
}

impl<'a> Pep508<'a> {
    pub fn parse(entry: &'a str) -> Option<Pep508<'a>> {
        let entry = entry.trim();
        let end =
            entry.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))).unwrap_or(entry.len());
        if end == 0 {
            return None;
        }
        let (name, mut rest) = entry.split_at(end);
        rest = rest.trim_start();
        if let Some(extras) = rest.strip_prefix('[') {
            rest = extras[extras.find(']')? + 1..].trim_start();
        }
        if let Some(url) = rest.strip_prefix('@') {
            return Some(Pep508 { name, specifier: rest, url: Some(url.trim()) });
        }
        let specifier = rest.split(';').next().unwrap_or_default().trim();
        let specifier = specifier.strip_prefix('(').and_then(|s| s.strip_suffix(')')).unwrap_or(specifier).trim();
        Some(Pep508 { name, specifier, url: None })
    }

    fn pinned(&self, path: &Path, line: usize) -> Result<PinnedBy, VersionFromError> {
        let entry = Entry { path, line, package: self.name, requirement: self.specifier };
        if self.url.is_some() {
            return Err(entry.unsupported("a direct URL reference is not a version requirement".to_owned()));
        }
        let request = VersionRequest::parse_pep440(self.specifier).map_err(|e| entry.unsupported(e.to_string()))?;
        Ok(entry.pinned(request))
    }
}

/// `requirements.txt` and its `-r`/`-c` includes, in order; `stack` holds the canonical paths
/// of the files being read, this one last.
fn requirements(path: &Path, stack: &mut Vec<PathBuf>) -> Result<Option<PinnedBy>, VersionFromError> {
    let text = read_text(path)?;
    for (line, logical) in logical_lines(&text) {
        let content = strip_comment(&logical).trim();
        if content.is_empty() {
            continue;
        }
        let include =
            option_value(content, "-r", "--requirement").or_else(|| option_value(content, "-c", "--constraint"));
        if let Some(include) = include {
            let target = path.parent().unwrap_or(Path::new("")).join(include);
            let canonical = canonical(&target)?;
            if stack.contains(&canonical) {
                let reason = format!("line {line}: `{content}` includes a file that is already being read, a cycle");
                return Err(parse_error(path, reason));
            }
            if stack.len() >= INCLUDE_DEPTH {
                let reason = format!("line {line}: `{content}` nests includes deeper than {INCLUDE_DEPTH} files");
                return Err(parse_error(path, reason));
            }
            stack.push(canonical);
            let found = requirements(&target, stack)?;
            stack.pop();
            if found.is_some() {
                return Ok(found);
            }
            continue;
        }
        let entry = |package, requirement| Entry { path, line, package, requirement };
        if let Some(source) = option_value(content, "-e", "--editable") {
            if let Some(package) = named_by_url(source).filter(|p| is_python_package(p)) {
                return Err(
                    entry(package, content).unsupported("an editable install is not a version requirement".to_owned())
                );
            }
            continue;
        }
        if content.starts_with('-') {
            continue;
        }
        let requirement = without_options(content);
        let parsed = Pep508::parse(requirement);
        if parsed.as_ref().is_none_or(|p| p.url.is_none()) && is_path_or_url(requirement) {
            if let Some(package) = named_by_url(requirement).filter(|p| is_python_package(p)) {
                return Err(
                    entry(package, requirement).unsupported("a path or URL is not a version requirement".to_owned())
                );
            }
            continue;
        }
        if let Some(parsed) = parsed.filter(|p| is_python_package(p.name)) {
            return parsed.pinned(path, line).map(Some);
        }
    }
    Ok(None)
}

/// Lines joined where one ends in `\`, each with the 1-based number of its first line.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let (start, mut joined) = pending.take().unwrap_or((i + 1, String::new()));
        match line.strip_suffix('\\') {
            Some(continued) => {
                joined.push_str(continued);
                pending = Some((start, joined));
            }
            None => {
                joined.push_str(line);
                lines.push((start, joined));
            }
        }
    }
    lines.extend(pending);
    lines
}

/// pip's comments: `#` at the start of a line or after whitespace (a URL's `#egg=` stays).
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    let at = (0..bytes.len()).find(|&i| bytes[i] == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()));
    at.map_or(line, |i| &line[..i])
}

/// The value of `-r file`, `-rfile`, `--requirement file` or `--requirement=file`.
fn option_value<'a>(line: &'a str, short: &str, long: &str) -> Option<&'a str> {
    let rest = match line.strip_prefix(long) {
        Some(rest) if rest.starts_with([' ', '\t', '=']) => rest.trim_start().strip_prefix('=').unwrap_or(rest),
        Some(_) => return None,
        None => line.strip_prefix(short)?,
    };
    let value = rest.trim();
    (!value.is_empty()).then_some(value)
}

/// A requirement line without the options after it (`--hash=sha256:...`).
fn without_options(line: &str) -> &str {
    let bytes = line.as_bytes();
    let at = (1..bytes.len()).find(|&i| bytes[i] == b'-' && bytes[i - 1].is_ascii_whitespace());
    at.map_or(line, |i| &line[..i]).trim_end()
}

fn is_path_or_url(requirement: &str) -> bool {
    let first = requirement.split_whitespace().next().unwrap_or_default();
    first.contains(['/', '\\', ':']) || first.starts_with('.') || ARCHIVES.iter().any(|a| first.ends_with(a))
}

/// The distribution a URL or path names: its `#egg=` fragment, or the file name of a wheel or
/// source archive (`openai_codex-0.160.1-py3-none-any.whl`).
fn named_by_url(url: &str) -> Option<&str> {
    if let Some((_, fragment)) = url.split_once('#')
        && let Some(egg) = fragment.split('&').find_map(|p| p.strip_prefix("egg="))
    {
        return Pep508::parse(egg).map(|r| r.name);
    }
    let location = url.split(['#', '?', ' ']).next()?;
    let file = location.rsplit(['/', '\\']).next()?;
    let archive = ARCHIVES.iter().any(|a| file.ends_with(a));
    archive.then(|| file.split('-').next().unwrap_or(file))
}

// ---------------------------------------------------------------------------------------------
// npm

fn json(path: &Path, text: &str) -> Result<serde_json::Value, VersionFromError> {
    serde_json::from_str(text).map_err(|e| parse_error(path, format!("not valid JSON: {e}")))
}

fn package_json(path: &Path, text: &str) -> Result<Option<PinnedBy>, VersionFromError> {
    let manifest = json(path, text)?;
    for section in NPM_SECTIONS {
        let Some(dependencies) = manifest.get(section).and_then(|s| s.as_object()) else {
            continue;
        };
        for package in NPM_PACKAGES {
            let Some(value) = dependencies.get(package) else {
                continue;
            };
            let section_at = find_key(text, 0, section).unwrap_or(0);
            let line = line_of(text, find_key(text, section_at, package).unwrap_or(section_at));
            let written = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
            let entry = Entry { path, line, package, requirement: &written };
            let Some(spec) = value.as_str() else {
                return Err(entry.unsupported("the value is not a string".to_owned()));
            };
            if let Some(source) = package_source(spec) {
                return Err(entry.unsupported(format!("{source} is not a version range")));
            }
            let request = VersionRequest::parse_npm(spec).map_err(|e| entry.unsupported(e.to_string()))?;
            return Ok(Some(entry.pinned(request)));
        }
    }
    Ok(None)
}

/// What a dependency spec names instead of a version range, if it does.
fn package_source(spec: &str) -> Option<&'static str> {
    const SOURCES: [(&str, &str); 11] = [
        ("npm:", "an `npm:` alias"),
        ("file:", "a `file:` path"),
        ("link:", "a `link:` path"),
        ("portal:", "a `portal:` path"),
        ("workspace:", "a `workspace:` spec"),
        ("git", "a git source"),
        ("github:", "a git source"),
        ("gitlab:", "a git source"),
        ("bitbucket:", "a git source"),
        ("http:", "a tarball URL"),
        ("https:", "a tarball URL"),
    ];
    let spec = spec.trim();
    if let Some((_, what)) = SOURCES.iter().find(|(prefix, _)| spec.starts_with(prefix)) {
        return Some(what);
    }
    spec.contains(['/', ':']).then_some("a path or git shorthand")
}

fn package_lock(path: &Path, text: &str) -> Result<Option<PinnedBy>, VersionFromError> {
    let lock = json(path, text)?;
    // Version 2 and 3 list `packages` by install path; version 1 only `dependencies` by name.
    // Platform packages (`node_modules/@openai/codex-linux-x64`) are other keys, never read.
    let sources = [("packages", "node_modules/"), ("dependencies", "")];
    for (section, prefix) in sources {
        let Some(packages) = lock.get(section).and_then(|s| s.as_object()) else {
            continue;
        };
        for package in NPM_PACKAGES {
            let key = format!("{prefix}{package}");
            let Some(locked) = packages.get(&key) else {
                continue;
            };
            let section_at = find_key(text, 0, section).unwrap_or(0);
            let key_at = find_object_key(text, section_at, &key).unwrap_or(section_at);
            let version = locked.get("version").and_then(|v| v.as_str());
            let version_at = version.and_then(|_| find_key(text, key_at, "version")).unwrap_or(key_at);
            let entry = Entry { path, line: line_of(text, version_at), package, requirement: version.unwrap_or("") };
            if version.is_none() {
                return Err(entry.unsupported("the lock has no version for it (a link or path)".to_owned()));
            }
            return entry.locked().map(Some);
        }
    }
    Ok(None)
}

/// The byte offset of the JSON key `"key"` at or after `from`.
fn find_key(text: &str, from: usize, key: &str) -> Option<usize> {
    let quoted = format!("\"{key}\"");
    let mut start = from;
    while let Some(found) = text.get(start..)?.find(&quoted) {
        let at = start + found;
        if text[at + quoted.len()..].trim_start().starts_with(':') {
            return Some(at);
        }
        start = at + quoted.len();
    }
    None
}

/// Like [`find_key`], for a key whose value is an object (not `"key": "^1"` in a `requires`).
fn find_object_key(text: &str, from: usize, key: &str) -> Option<usize> {
    let mut start = from;
    loop {
        let at = find_key(text, start, key)?;
        let after_colon = text[at + key.len() + 2..].trim_start()[1..].trim_start();
        if after_colon.starts_with('{') {
            return Some(at);
        }
        start = at + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Expected<'a> = Result<(usize, &'a str, &'a str, &'a str), &'a str>;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Reads `files[0]` (or the directory when its name is `.`) after writing all of them.
    fn read_files(files: &[(&str, &str)]) -> (tempfile::TempDir, Result<PinnedBy, VersionFromError>) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files.iter().filter(|(name, _)| *name != ".") {
            write(dir.path(), name, text);
        }
        let result = read(&dir.path().join(files[0].0));
        (dir, result)
    }

    /// `(line, package, requirement, request.describe())`, or a part of the error message.
    fn check(files: &[(&str, &str)], answered_by: &str, expected: Expected) {
        let (dir, result) = read_files(files);
        match (result, expected) {
            (Ok(pinned), Ok((line, package, requirement, describe))) => {
                assert_eq!(pinned.file, dir.path().join(answered_by), "{files:?}");
                let got = (pinned.line, pinned.package.as_str(), pinned.requirement.as_str());
                assert_eq!(got, (line, package, requirement), "{files:?}");
                assert_eq!(pinned.request.describe(), describe, "{files:?}");
            }
            (Err(e), Err(part)) => {
                let message = e.to_string();
                assert!(message.contains(part), "{files:?}: {message:?} should contain {part:?}");
                assert_eq!(e.kind(), ErrorKind::Usage);
            }
            (got, expected) => panic!("{files:?}: got {got:?}, expected {expected:?}"),
        }
    }

    fn pyproject(dependencies: &str) -> String {
        format!("[project]\nname = \"consumer\"\ndependencies = [\n  \"requests>=2\",\n  {dependencies}\n]\n")
    }

    #[test]
    fn pyproject_requirements() {
        let cases: [(String, Expected); 13] = [
            (pyproject(r#""openai-codex==0.160.1","#), Ok((5, "openai-codex", "==0.160.1", "0.160.1"))),
            (
                pyproject(r#""openai-codex-cli-bin==0.162.0a15","#),
                Ok((5, "openai-codex-cli-bin", "==0.162.0a15", "0.162.0-alpha.15")),
            ),
            (
                pyproject(r#""OpenAI_Codex >= 0.159, < 0.160","#),
                Ok((5, "OpenAI_Codex", ">= 0.159, < 0.160", ">=0.159, <0.160")),
            ),
            (pyproject(r#""openai.codex~=0.160.0","#), Ok((5, "openai.codex", "~=0.160.0", "~=0.160.0"))),
            (
                pyproject(r#""openai-codex[cli] (>=0.159,<0.160) ; python_version >= '3.10'","#),
                Ok((5, "openai-codex", ">=0.159,<0.160", ">=0.159, <0.160")),
            ),
            (
                pyproject(r#""openai-codex==0.160.*;sys_platform=='linux'","#),
                Ok((5, "openai-codex", "==0.160.*", "==0.160.*")),
            ),
            (pyproject("\"openai-codex\","), Ok((5, "openai-codex", "", "any release"))),
            (
                pyproject("\"openai-codex-cli-bin==0.160.0\",\n  \"openai-codex==0.161.0\","),
                Ok((5, "openai-codex-cli-bin", "==0.160.0", "0.160.0")),
            ),
            (pyproject(r#""openai-codex-sdk==1.0","#), Err("pins none of openai-codex, openai-codex-cli-bin; add one")),
            (
                pyproject(r#""openai-codex @ https://example.invalid/openai_codex-0.160.1-py3-none-any.whl","#),
                Err(
                    ":5: cannot use `@ https://example.invalid/openai_codex-0.160.1-py3-none-any.whl` for openai-codex: a direct URL reference",
                ),
            ),
            (
                pyproject(r#""openai-codex>>0.1","#),
                Err(":5: cannot use `>>0.1` for openai-codex: `>>0.1` is not a PEP 440 requirement"),
            ),
            (pyproject(r#""openai-codex 0.160.1","#), Err("`0.160.1` has no operator")),
            (
                "[project]\ndependencies = [\n\"openai-codex==1\"\n".to_owned(),
                Err("pyproject.toml: not valid TOML at line 3: unclosed array"),
            ),
        ];
        for (text, expected) in cases {
            check(&[("pyproject.toml", &text)], "pyproject.toml", expected);
        }
    }

    #[test]
    fn pyproject_lists_in_order() {
        // Project dependencies first, then optional dependencies and groups, each in file order.
        let groups_first = "[dependency-groups]\ndev = [\"openai-codex==0.3.0\"]\n\
                            [project]\ndependencies = [\"openai-codex==0.1.0\"]\n\
                            [project.optional-dependencies]\nzeta = [\"openai-codex==0.2.0\"]\n";
        check(&[("pyproject.toml", groups_first)], "pyproject.toml", Ok((4, "openai-codex", "==0.1.0", "0.1.0")));
        let optional = "[project]\ndependencies = [\"requests\"]\n[project.optional-dependencies]\n\
                        zeta = [\"rich\", \"openai-codex==0.2.0\"]\nalpha = [\"openai-codex==0.9.0\"]\n\
                        [dependency-groups]\ndev = [\"openai-codex==0.3.0\"]\n";
        check(&[("pyproject.toml", optional)], "pyproject.toml", Ok((4, "openai-codex", "==0.2.0", "0.2.0")));
        let groups = "[project]\nname = \"x\"\n[dependency-groups]\n\
                      dev = [\n  {include-group = \"test\"},\n  \"openai-codex-cli-bin~=0.160.0\",\n]\ntest = [\"pytest\"]\n";
        check(
            &[("pyproject.toml", groups)],
            "pyproject.toml",
            Ok((6, "openai-codex-cli-bin", "~=0.160.0", "~=0.160.0")),
        );
        check(&[("pyproject.toml", "[tool.other]\nx = 1\n")], "pyproject.toml", Err("pins none of"));
    }

    #[test]
    fn uv_lock_pins_the_runtime_first() {
        let lock = "version = 1\n\n[[package]]\nname = \"openai-codex\"\nversion = \"0.160.1\"\n\n\
                    [[package]]\nname = \"openai-codex-cli-bin\"\nversion = \"0.162.0a15\"\n";
        check(&[("uv.lock", lock)], "uv.lock", Ok((9, "openai-codex-cli-bin", "0.162.0a15", "0.162.0-alpha.15")));
        let sdk_only = "version = 1\n[[package]]\nname = \"requests\"\nversion = \"2.0\"\n\
                        [[package]]\nname = \"openai-codex\"\nversion = \"0.160.1\"\n";
        check(&[("uv.lock", sdk_only)], "uv.lock", Ok((7, "openai-codex", "0.160.1", "0.160.1")));
        let editable = "[[package]]\nname = \"openai-codex\"\nsource = { editable = \".\" }\n";
        check(
            &[("uv.lock", editable)],
            "uv.lock",
            Err("uv.lock:2: cannot use `` for openai-codex: the lock has no version"),
        );
        let bad = "[[package]]\nname = \"openai-codex\"\nversion = \"0.160\"\n";
        check(
            &[("uv.lock", bad)],
            "uv.lock",
            Err("uv.lock:3: cannot use `0.160` for openai-codex: `0.160` is not a codex version"),
        );
        check(&[("uv.lock", "version = 1\n")], "uv.lock", Err("pins none of openai-codex, openai-codex-cli-bin"));
        check(&[("uv.lock", "[[package]\n")], "uv.lock", Err("uv.lock: not valid TOML at line 1"));
    }

    #[test]
    fn requirements_files() {
        let cases: [(&str, &str, Expected); 13] = [
            (
                "requirements.txt",
                "# pins\nrequests\nopenai-codex==0.160.1\n",
                Ok((3, "openai-codex", "==0.160.1", "0.160.1")),
            ),
            ("requirements-dev.txt", "openai_codex>=0.159 # newest\n", Ok((1, "openai_codex", ">=0.159", ">=0.159"))),
            (
                "constraints.txt",
                "\n\nOpenAI-Codex-CLI-Bin==0.160.1\n",
                Ok((3, "OpenAI-Codex-CLI-Bin", "==0.160.1", "0.160.1")),
            ),
            (
                "requirements.txt",
                "--index-url https://example.invalid/simple\nopenai-codex==0.160.1 \\\n    --hash=sha256:00 \\\n    --hash=sha256:11\n",
                Ok((2, "openai-codex", "==0.160.1", "0.160.1")),
            ),
            (
                "requirements.txt",
                "openai-codex \\\n  >=0.159, \\\n  <0.160\n",
                Ok((1, "openai-codex", ">=0.159,   <0.160", ">=0.159, <0.160")),
            ),
            (
                "requirements.txt",
                "openai-codex[extra]==0.160.1 ; python_version >= \"3.10\"\n",
                Ok((1, "openai-codex", "==0.160.1", "0.160.1")),
            ),
            (
                "requirements.txt",
                "-e git+https://example.invalid/other.git#egg=other\n./vendor/rich-13.0.0-py3-none-any.whl\nopenai-codex==0.1.0\n",
                Ok((3, "openai-codex", "==0.1.0", "0.1.0")),
            ),
            (
                "requirements.txt",
                "-e git+https://example.invalid/codex.git#egg=openai-codex\n",
                Err(
                    "requirements.txt:1: cannot use `-e git+https://example.invalid/codex.git#egg=openai-codex` for openai-codex: an editable install",
                ),
            ),
            (
                "requirements.txt",
                "requests\n./dist/openai_codex-0.160.1-py3-none-any.whl\n",
                Err(
                    "requirements.txt:2: cannot use `./dist/openai_codex-0.160.1-py3-none-any.whl` for openai_codex: a path or URL",
                ),
            ),
            (
                "requirements.txt",
                "/wheels/openai_codex_cli_bin-0.160.1-py3-none-any.whl --hash=sha256:00\n",
                Err(
                    "requirements.txt:1: cannot use `/wheels/openai_codex_cli_bin-0.160.1-py3-none-any.whl` for openai_codex_cli_bin",
                ),
            ),
            (
                "requirements.txt",
                "openai-codex @ https://example.invalid/codex.tar.gz\n",
                Err(
                    "requirements.txt:1: cannot use `@ https://example.invalid/codex.tar.gz` for openai-codex: a direct URL",
                ),
            ),
            (
                "requirements.txt",
                "requests\n# openai-codex==0.160.1\n",
                Err("requirements.txt pins none of openai-codex, openai-codex-cli-bin"),
            ),
            (
                "requirements.txt",
                "openai-codex=0.160.1\n",
                Err("requirements.txt:1: cannot use `=0.160.1` for openai-codex"),
            ),
        ];
        for (name, text, expected) in cases {
            check(&[(name, text)], name, expected);
        }
        for name in ["requirements.in", "reqs.txt", "Pipfile", "constraints.cfg"] {
            check(&[(name, "openai-codex==0.160.1\n")], name, Err("is not a pin file codex-runtime reads"));
        }
    }

    #[test]
    fn requirements_includes() {
        let nested = [
            ("requirements.txt", "requests\n-r ci/base.txt\nopenai-codex==9.9.9\n"),
            ("ci/base.txt", "# base\n--constraint=../pins/constraints.txt\n"),
            ("pins/constraints.txt", "rich\n\nopenai-codex==0.160.1\n"),
        ];
        // The file is named as it was reached, relative to the including file.
        check(&nested, "ci/../pins/constraints.txt", Ok((3, "openai-codex", "==0.160.1", "0.160.1")));
        let attached = [("requirements.txt", "-rother.txt\n"), ("other.txt", "openai-codex==0.1.0\n")];
        check(&attached, "other.txt", Ok((1, "openai-codex", "==0.1.0", "0.1.0")));
        let long = [
            ("requirements.txt", "--requirement other.txt\n-c c.txt\n"),
            ("other.txt", "rich\n"),
            ("c.txt", "openai-codex<1\n"),
        ];
        check(&long, "c.txt", Ok((1, "openai-codex", "<1", "<1")));
        let cycle =
            [("requirements.txt", "-r a.txt\n"), ("a.txt", "rich\n-r b.txt\n"), ("b.txt", "-r ./requirements.txt\n")];
        check(
            &cycle,
            "",
            Err("b.txt: line 1: `-r ./requirements.txt` includes a file that is already being read, a cycle"),
        );
        let itself = [("requirements.txt", "-r requirements.txt\n")];
        check(&itself, "", Err("a cycle"));
        let missing = [("requirements.txt", "-r missing.txt\n")];
        check(&missing, "", Err("cannot read "));
        let chain: Vec<(String, String)> =
            (0..12).map(|i| (format!("requirements{i}.txt"), format!("-r requirements{}.txt\n", i + 1))).collect();
        let chain: Vec<(&str, &str)> = chain.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        check(
            &chain,
            "",
            Err("requirements9.txt: line 1: `-r requirements10.txt` nests includes deeper than 10 files"),
        );
    }

    #[test]
    fn package_json_ranges() {
        let manifest = |sections: &str| format!("{{\n  \"name\": \"consumer\",\n{sections}\n}}\n");
        let cases: [(String, Expected); 12] = [
            (
                manifest(
                    "  \"dependencies\": {\n    \"left-pad\": \"1\",\n    \"@openai/codex-sdk\": \"^0.160.1\"\n  }",
                ),
                Ok((5, "@openai/codex-sdk", "^0.160.1", "^0.160.1")),
            ),
            (
                manifest(
                    "  \"devDependencies\": {\n    \"@openai/codex\": \"0.1.0\"\n  },\n  \"dependencies\": {\n    \"@openai/codex\": \"~0.160.1\"\n  }",
                ),
                Ok((7, "@openai/codex", "~0.160.1", "~0.160.1")),
            ),
            (
                manifest(
                    "  \"dependencies\": {\n    \"@openai/codex-sdk\": \"0.2.0\",\n    \"@openai/codex\": \"0.160.1\"\n  }",
                ),
                Ok((5, "@openai/codex", "0.160.1", "0.160.1")),
            ),
            (
                manifest(
                    "  \"peerDependencies\": {\n    \"@openai/codex-sdk\": \">=0.159 <0.160\"\n  },\n  \"optionalDependencies\": {\"@openai/codex\": \"0.160.x\"}",
                ),
                Ok((6, "@openai/codex", "0.160.x", "0.160.x")),
            ),
            (
                manifest("  \"peerDependencies\": {\n    \"@openai/codex-sdk\": \"latest\"\n  }"),
                Ok((4, "@openai/codex-sdk", "latest", "any release")),
            ),
            (
                manifest("  \"dependencies\": {\"@openai/codex\": \"npm:@openai/codex@0.160.1\"}"),
                Err(
                    "package.json:3: cannot use `npm:@openai/codex@0.160.1` for @openai/codex: an `npm:` alias is not a version range",
                ),
            ),
            (
                manifest("  \"dependencies\": {\"@openai/codex\": \"file:../codex\"}"),
                Err("a `file:` path is not a version range"),
            ),
            (
                manifest("  \"dependencies\": {\"@openai/codex\": \"workspace:*\"}"),
                Err("a `workspace:` spec is not a version range"),
            ),
            (
                manifest("  \"dependencies\": {\"@openai/codex\": \"git+https://example.invalid/codex.git\"}"),
                Err("a git source is not a version range"),
            ),
            (
                manifest("  \"dependencies\": {\"@openai/codex\": \"openai/codex#main\"}"),
                Err("a path or git shorthand is not a version range"),
            ),
            (
                manifest("  \"dependencies\": {\"@openai/codex\": 160}"),
                Err("cannot use `160` for @openai/codex: the value is not a string"),
            ),
            (
                manifest("  \"dependencies\": {\"@openai/codex\": \"^0.160.1 <\"}"),
                Err("`^0.160.1 <` is not an npm version range"),
            ),
        ];
        for (text, expected) in cases {
            check(&[("package.json", &text)], "package.json", expected);
        }
        check(
            &[("package.json", "{\"dependencies\": {\"@openai/codex-linux-x64\": \"1\"}}")],
            "",
            Err("pins none of @openai/codex, @openai/codex-sdk"),
        );
        check(
            &[("package.json", "{\"dependencies\": }")],
            "",
            Err("not valid JSON: expected value at line 1 column 18"),
        );
    }

    #[test]
    fn package_lock_versions() {
        let v3 = r#"{
  "name": "consumer",
  "lockfileVersion": 3,
  "packages": {
    "": {
      "dependencies": {
        "@openai/codex": "^0.160.1"
      }
    },
    "node_modules/@openai/codex-linux-x64": {
      "version": "0.160.1-linux-x64"
    },
    "node_modules/@openai/codex-sdk": {
      "version": "0.160.0"
    },
    "node_modules/@openai/codex": {
      "version": "0.160.1",
      "optionalDependencies": {
        "@openai/codex-linux-x64": "npm:@openai/codex@0.160.1-linux-x64"
      }
    }
  }
}"#;
        check(&[("package-lock.json", v3)], "package-lock.json", Ok((17, "@openai/codex", "0.160.1", "0.160.1")));
        let v2_sdk = "{\n\"lockfileVersion\": 2,\n\"packages\": {\n\"node_modules/@openai/codex-sdk\": {\"version\": \"0.162.0-alpha.15\"}\n},\n\
                      \"dependencies\": {\"@openai/codex-sdk\": {\"version\": \"0.1.0\"}}\n}";
        check(
            &[("package-lock.json", v2_sdk)],
            "package-lock.json",
            Ok((4, "@openai/codex-sdk", "0.162.0-alpha.15", "0.162.0-alpha.15")),
        );
        let v1 = "{\n  \"lockfileVersion\": 1,\n  \"requires\": true,\n  \"dependencies\": {\n    \"other\": {\n      \"requires\": {\"@openai/codex\": \"^0.1.0\"}\n    },\n    \"@openai/codex\": {\n      \"version\": \"0.160.1\",\n      \"resolved\": \"x\"\n    }\n  }\n}";
        check(&[("package-lock.json", v1)], "package-lock.json", Ok((9, "@openai/codex", "0.160.1", "0.160.1")));
        let linked = "{\"packages\": {\"node_modules/@openai/codex\": {\"resolved\": \"../codex\", \"link\": true}}}";
        check(
            &[("package-lock.json", linked)],
            "",
            Err("package-lock.json:1: cannot use `` for @openai/codex: the lock has no version"),
        );
        let platform =
            "{\"packages\": {\"node_modules/@openai/codex-linux-x64\": {\"version\": \"0.160.1-linux-x64\"}}}";
        check(
            &[("package-lock.json", platform)],
            "",
            Err("package-lock.json pins none of @openai/codex, @openai/codex-sdk"),
        );
    }

    #[test]
    fn a_lockfile_beside_the_manifest_wins() {
        let pyproject = "[project]\ndependencies = [\"openai-codex>=0.159\"]\n";
        let lock = "[[package]]\nname = \"openai-codex\"\nversion = \"0.160.1\"\n";
        check(
            &[("pyproject.toml", pyproject), ("uv.lock", lock)],
            "uv.lock",
            Ok((3, "openai-codex", "0.160.1", "0.160.1")),
        );
        let foreign_lock = "[[package]]\nname = \"requests\"\nversion = \"2.0\"\n";
        let manifest = Ok((2, "openai-codex", ">=0.159", ">=0.159"));
        check(&[("pyproject.toml", pyproject), ("uv.lock", foreign_lock)], "pyproject.toml", manifest);
        check(&[("pyproject.toml", pyproject), ("uv.lock", "[[")], "", Err("uv.lock: not valid TOML"));

        let package = "{\"devDependencies\": {\"@openai/codex-sdk\": \"^0.160.0\"}}";
        let lock =
            "{\"lockfileVersion\": 3, \"packages\": {\"node_modules/@openai/codex\": {\"version\": \"0.160.2\"}}}";
        check(
            &[("package.json", package), ("package-lock.json", lock)],
            "package-lock.json",
            Ok((1, "@openai/codex", "0.160.2", "0.160.2")),
        );
        let foreign = "{\"lockfileVersion\": 3, \"packages\": {\"node_modules/left-pad\": {\"version\": \"1.0.0\"}}}";
        let manifest = Ok((1, "@openai/codex-sdk", "^0.160.0", "^0.160.0"));
        check(&[("package.json", package), ("package-lock.json", foreign)], "package.json", manifest);
        // Read directly, a lockfile answers for itself only.
        let lock_only = [("package-lock.json", foreign), ("package.json", package)];
        check(&lock_only, "", Err("package-lock.json pins none of"));
    }

    #[test]
    fn directories() {
        let pyproject = "[project]\ndependencies = [\"openai-codex==0.1.0\"]\n";
        let package = "{\"dependencies\": {\"@openai/codex\": \"0.2.0\"}}";
        let requirements = "openai-codex==0.3.0\n";
        let foreign_lock = "[[package]]\nname = \"requests\"\nversion = \"2.0\"\n";
        let all =
            [(".", ""), ("pyproject.toml", pyproject), ("package.json", package), ("requirements.txt", requirements)];
        check(&all, "pyproject.toml", Ok((2, "openai-codex", "==0.1.0", "0.1.0")));
        let npm = [(".", ""), ("uv.lock", foreign_lock), ("package.json", package), ("requirements.txt", requirements)];
        check(&npm, "package.json", Ok((1, "@openai/codex", "0.2.0", "0.2.0")));
        let python = [(".", ""), ("requirements.txt", requirements), ("requirements-dev.txt", "openai-codex==9\n")];
        check(&python, "requirements.txt", Ok((1, "openai-codex", "==0.3.0", "0.3.0")));
        let nothing = [(".", ""), ("uv.lock", foreign_lock), ("package.json", "{}")];
        check(
            &nothing,
            "",
            Err(
                "pins none of openai-codex, openai-codex-cli-bin, @openai/codex, @openai/codex-sdk; add one, or pass --version",
            ),
        );
        check(&[(".", ""), ("README.md", "")], "", Err("is not a pin file codex-runtime reads"));
    }

    #[test]
    fn error_messages_name_the_file_and_the_next_step() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("pyproject.toml");
        let e = read(&missing).unwrap_err();
        assert!(matches!(&e, VersionFromError::Read { path, .. } if *path == missing), "{e:?}");
        assert_eq!(
            e.to_string(),
            format!("cannot read {}; pass an existing pin file or directory, or pass --version", missing.display())
        );
        assert_eq!(std::error::Error::source(&e).map(|s| s.to_string().is_empty()), Some(false));

        let e = read(&write(dir.path(), "package.json", "[")).unwrap_err();
        assert!(matches!(e, VersionFromError::Parse { .. }), "{e:?}");
        assert!(e.to_string().ends_with("; fix the file, or pass --version"), "{e}");

        let unknown = write(dir.path(), "setup.py", "");
        assert_eq!(
            read(&unknown).unwrap_err().to_string(),
            format!(
                "{} is not a pin file codex-runtime reads: pass a uv.lock, pyproject.toml, package-lock.json, \
                 package.json, requirements*.txt or constraints*.txt, or a directory holding one",
                unknown.display()
            )
        );

        let none = write(dir.path(), "requirements.txt", "requests\n");
        let e = read(&none).unwrap_err();
        assert!(matches!(&e, VersionFromError::NoPin { looked_for, .. } if looked_for == &PYTHON_PACKAGES));
        assert_eq!(
            e.to_string(),
            format!("{} pins none of openai-codex, openai-codex-cli-bin; add one, or pass --version", none.display())
        );

        let bad = write(dir.path(), "requirements.txt", "requests\nopenai-codex==0.160.x\n");
        let e = read(&bad).unwrap_err();
        let VersionFromError::Unsupported { line, package, requirement, .. } = &e else { panic!("{e:?}") };
        assert_eq!((*line, package.as_str(), requirement.as_str()), (2, "openai-codex", "==0.160.x"));
        assert_eq!(
            e.to_string(),
            format!(
                "{}:2: cannot use `==0.160.x` for openai-codex: `==0.160.x` is not a PEP 440 requirement \
                 (`0.160.x` is not a version): expected specifiers like `==0.160.1`, `~=0.160.0` or `>=0.159, <0.160`; \
                 pin a version instead, or pass --version",
                bad.display()
            )
        );
    }

    #[test]
    fn line_helpers() {
        let cases = [
            ("a \\\nb\nc", vec![(1, "a b".to_owned()), (3, "c".to_owned())]),
            ("a \\\n", vec![(1, "a ".to_owned())]),
            ("\\\n\\\nx\ny \\", vec![(1, "x".to_owned()), (4, "y ".to_owned())]),
        ];
        for (text, expected) in cases {
            assert_eq!(logical_lines(text), expected, "{text:?}");
        }
        for (line, stripped) in [
            ("# all", ""),
            ("x==1 # note", "x==1 "),
            ("git+https://h/x#egg=y", "git+https://h/x#egg=y"),
            ("x\t#c", "x\t"),
        ] {
            assert_eq!(strip_comment(line), stripped);
        }
        for (line, kept) in [("x==1 --hash=sha256:00", "x==1"), ("x-y==1 -i url", "x-y==1"), ("x>=1,<2", "x>=1,<2")] {
            assert_eq!(without_options(line), kept);
        }
        let urls = [
            ("git+https://h/r.git#egg=openai-codex", Some("openai-codex")),
            ("git+https://h/r.git#subdirectory=p&egg=openai_codex[x]", Some("openai_codex")),
            ("https://h/openai_codex_cli_bin-0.160.1-py3-none-any.whl", Some("openai_codex_cli_bin")),
            ("./dist/openai_codex-0.160.1.tar.gz", Some("openai_codex")),
            ("./src/openai-codex", None),
        ];
        for (url, name) in urls {
            assert_eq!(named_by_url(url), name, "{url}");
        }
    }
}
