//! Where artifacts come from.
//!
//! A [`Source`] knows where it would find a pinned artifact; it never decides whether the bytes
//! are good (that is [`crate::install`]'s job, against the pins). Sources are untrusted.

pub mod installed;
pub mod pypi;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use crate::model::manifest::{ArtifactKind, ArtifactPin, Pinned};
use crate::net::{RedactedUrl, join};

/// The canonical public location of GitHub release assets.
pub const GITHUB_RELEASES: &str = "https://github.com/openai/codex/releases/download";

/// A place artifacts are fetched from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A flat directory (local or over HTTP) holding artifacts under their own file names.
    Mirror(Location),
    /// GitHub release assets under a base URL (`GITHUB_RELEASES` or an enterprise mirror).
    Github { base_url: String },
    /// An npm registry.
    Npm { registry: String },
    /// A PyPI-style simple index (PEP 503/691).
    Pypi { index: String },
    /// A runtime pip or npm already installed on this machine (see [`crate::sources::installed`]).
    Installed {
        /// The Python whose environment to look in; `python3` on `PATH` when `None`.
        python: Option<PathBuf>,
    },
}

/// A local path or a URL.
#[derive(Debug, Clone, PartialEq)]
pub enum Location {
    File(PathBuf),
    Url(RedactedUrl),
}

impl Location {
    /// Parse a `--mirror` value: a directory, a `file://` URL or an `http(s)://` base.
    pub fn parse(value: &str) -> Location {
        if let Some(path) = value.strip_prefix("file://") {
            Location::File(PathBuf::from(path))
        } else if value.starts_with("http://") || value.starts_with("https://") {
            Location::Url(RedactedUrl::new(value))
        } else {
            Location::File(PathBuf::from(value))
        }
    }

    fn join(&self, file: &str) -> Location {
        match self {
            Location::File(dir) => Location::File(dir.join(file)),
            Location::Url(base) => Location::Url(RedactedUrl::new(join(base.expose(), file))),
        }
    }

    /// Whether reading it touches the network.
    pub fn is_remote(&self) -> bool {
        matches!(self, Location::Url(_))
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File(p) => write!(f, "{}", p.display()),
            Location::Url(u) => u.fmt(f),
        }
    }
}

/// The names accepted by `--source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceName {
    Mirror,
    Installed,
    Github,
    Npm,
    Pypi,
}

impl SourceName {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceName::Mirror => "mirror",
            SourceName::Installed => "installed",
            SourceName::Github => "github",
            SourceName::Npm => "npm",
            SourceName::Pypi => "pypi",
        }
    }
}

impl fmt::Display for SourceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown source `{0}`; the sources are mirror, installed, github, npm and pypi")]
pub struct UnknownSource(pub String);

impl FromStr for SourceName {
    type Err = UnknownSource;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "mirror" => Ok(SourceName::Mirror),
            "installed" => Ok(SourceName::Installed),
            "github" => Ok(SourceName::Github),
            "npm" => Ok(SourceName::Npm),
            "pypi" => Ok(SourceName::Pypi),
            _ => Err(UnknownSource(s.to_owned())),
        }
    }
}

impl Source {
    pub fn name(&self) -> SourceName {
        match self {
            Source::Mirror(_) => SourceName::Mirror,
            Source::Github { .. } => SourceName::Github,
            Source::Npm { .. } => SourceName::Npm,
            Source::Pypi { .. } => SourceName::Pypi,
            Source::Installed { .. } => SourceName::Installed,
        }
    }

    /// Where this source would hold an artifact, if it carries that kind at all and can say
    /// so without asking the network. The PyPI source asks its index (see [`crate::sources::pypi`]);
    /// the installed source has no artifacts.
    pub fn locate(&self, pinned: &Pinned<'_>, artifact: &ArtifactPin) -> Option<Location> {
        match (self, artifact.kind) {
            (Source::Mirror(base), _) => Some(base.join(&artifact.file)),
            (Source::Github { base_url }, ArtifactKind::Github) => {
                let tag = pinned.manifest.version.github_tag();
                Some(Location::Url(RedactedUrl::new(join(base_url, &format!("{tag}/{}", artifact.file)))))
            }
            (Source::Npm { registry }, ArtifactKind::Npm) => {
                let npm = pinned.pins.artifacts.npm.as_ref()?;
                let path = format!("{}/-/codex-{}.tgz", npm.package, npm.version);
                Some(Location::Url(RedactedUrl::new(join(registry, &path))))
            }
            _ => None,
        }
    }

    /// Whether using this source touches the network.
    pub fn is_remote(&self) -> bool {
        match self {
            Source::Mirror(location) => location.is_remote(),
            Source::Installed { .. } => false,
            Source::Github { .. } | Source::Npm { .. } | Source::Pypi { .. } => true,
        }
    }
}

/// What the user said about sources.
#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    /// `--mirror` or `CODEX_RUNTIME_MIRROR`.
    pub mirror: Option<String>,
    /// `--npm-registry` or `CODEX_RUNTIME_NPM_REGISTRY`.
    pub npm_registry: Option<String>,
    /// `--pypi-index`; else the environment and pip's configuration (see [`crate::sources::pypi::index_url`]).
    pub pypi_index: Option<String>,
    /// `--python`: the Python environment the installed source looks in.
    pub python: Option<PathBuf>,
    /// `--source`, in order; empty for the default order.
    pub only: Vec<SourceName>,
}

/// Why the requested sources cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("--source mirror needs a mirror: pass --mirror URL|DIR or set CODEX_RUNTIME_MIRROR")]
    NoMirror,
    #[error("the mirror {} is not a directory: pass a directory holding the artifacts, or a file:// or http(s):// URL", path.display())]
    MirrorNotADirectory { path: PathBuf },
    #[error("the mirror `{value}` is not a usable URL: pass http(s)://HOST[:PORT]/PATH, or a directory")]
    BadMirrorUrl { value: String },
    #[error(
        "--source npm needs a registry, and none is configured: pass --npm-registry URL, set \
         CODEX_RUNTIME_NPM_REGISTRY or npm_config_registry, or configure npm"
    )]
    NoRegistry,
    #[error(
        "--source pypi needs an index, and none is configured: pass --pypi-index URL, set \
         CODEX_RUNTIME_PYPI_INDEX or PIP_INDEX_URL, or set index-url in pip.conf"
    )]
    NoIndex,
}

impl SourceOptions {
    /// The sources to try, in order. The default is mirror (when set), installed, github, npm
    /// (when a registry is known), pypi (when an index is known). `--source` restricts and
    /// orders them.
    pub fn resolve(&self) -> Result<Vec<Source>, SourceError> {
        let github = || Source::Github {
            base_url: std::env::var("CODEX_RUNTIME_GITHUB_BASE_URL").unwrap_or_else(|_| GITHUB_RELEASES.to_owned()),
        };
        let installed = || Source::Installed { python: self.python.clone() };
        // A local mirror that is not there is a mistake to say at once, not a source to skip.
        let mirror = |value: &str| match Location::parse(value) {
            Location::File(path) if !path.is_dir() => Err(SourceError::MirrorNotADirectory { path }),
            Location::Url(url) if url.url().and_then(|u| u.host_str()).is_none_or(str::is_empty) => {
                Err(SourceError::BadMirrorUrl { value: crate::net::redact(value) })
            }
            location => Ok(Source::Mirror(location)),
        };
        if self.only.is_empty() {
            let mut sources = Vec::new();
            if let Some(m) = &self.mirror {
                sources.push(mirror(m)?);
            }
            sources.push(installed());
            sources.push(github());
            if let Some(registry) = npm_registry(self.npm_registry.as_deref()) {
                sources.push(Source::Npm { registry });
            }
            if let Some(index) = crate::sources::pypi::index_url(self.pypi_index.as_deref()) {
                sources.push(Source::Pypi { index });
            }
            return Ok(sources);
        }
        let mut sources = Vec::new();
        for name in &self.only {
            let source = match name {
                SourceName::Mirror => mirror(self.mirror.as_deref().ok_or(SourceError::NoMirror)?)?,
                SourceName::Installed => installed(),
                SourceName::Github => github(),
                SourceName::Pypi => Source::Pypi {
                    index: crate::sources::pypi::index_url(self.pypi_index.as_deref()).ok_or(SourceError::NoIndex)?,
                },
                SourceName::Npm => {
                    Source::Npm { registry: npm_registry(self.npm_registry.as_deref()).ok_or(SourceError::NoRegistry)? }
                }
            };
            if !sources.contains(&source) {
                sources.push(source);
            }
        }
        Ok(sources)
    }
}

/// The npm registry, from (in order) the flag, `CODEX_RUNTIME_NPM_REGISTRY`,
/// `npm_config_registry`, the `.npmrc` files, and finally the npm client itself.
pub fn npm_registry(explicit: Option<&str>) -> Option<String> {
    let from_env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    explicit
        .map(str::to_owned)
        .or_else(|| from_env("CODEX_RUNTIME_NPM_REGISTRY"))
        .or_else(|| from_env("npm_config_registry"))
        .or_else(|| from_env("NPM_CONFIG_REGISTRY"))
        .or_else(|| npmrc_files().iter().find_map(|f| npmrc_registry(f)))
        .or_else(npm_client_registry)
}

/// The `.npmrc` files npm reads, most specific first: the project's (from the current
/// directory upward), the user's, the global one.
fn npmrc_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        files.extend(cwd.ancestors().map(|d| d.join(".npmrc")));
    }
    match std::env::var_os("npm_config_userconfig").or_else(|| std::env::var_os("NPM_CONFIG_USERCONFIG")) {
        Some(user) => files.push(PathBuf::from(user)),
        None => files.extend(directories::BaseDirs::new().map(|d| d.home_dir().join(".npmrc"))),
    }
    if let Some(global) =
        std::env::var_os("npm_config_globalconfig").or_else(|| std::env::var_os("NPM_CONFIG_GLOBALCONFIG"))
    {
        files.push(PathBuf::from(global));
    }
    files
}

/// The registry an `.npmrc` sets for `@openai` packages (scoped first, then the default).
fn npmrc_registry(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut default = None;
    let mut scoped = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with(['#', ';']) {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        let value = expand_env(value.trim().trim_matches('"'));
        match key.trim() {
            "@openai:registry" => scoped = Some(value),
            "registry" => default = Some(value),
            _ => {}
        }
    }
    scoped.or(default).filter(|v| !v.is_empty())
}

/// npm expands `${VAR}` in `.npmrc` values.
fn expand_env(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        match rest[start + 2..].find('}') {
            Some(end) => {
                let name = &rest[start + 2..start + 2 + end];
                out.push_str(&std::env::var(name).unwrap_or_default());
                rest = &rest[start + 3 + end..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Ask the npm client (`npm config get registry`), which knows every layer of its config.
fn npm_client_registry() -> Option<String> {
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    let output = Command::new(npm)
        .args(["config", "get", "@openai:registry"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let scoped = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if output.status.success() && scoped.starts_with("http") {
        return Some(scoped);
    }
    let output = Command::new(npm)
        .args(["config", "get", "registry"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let registry = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    (output.status.success() && registry.starts_with("http")).then_some(registry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_locations_parse() {
        assert_eq!(Location::parse("/srv/m"), Location::File("/srv/m".into()));
        assert_eq!(Location::parse("file:///srv/m"), Location::File("/srv/m".into()));
        assert!(matches!(Location::parse("http://127.0.0.1:1/m"), Location::Url(_)));
    }

    #[test]
    fn npmrc_prefers_the_scoped_registry_and_expands_env() {
        let dir = tempfile::tempdir().unwrap();
        let rc = dir.path().join(".npmrc");
        std::fs::write(&rc, "# comment\nregistry=http://127.0.0.1:9/default/\n").unwrap();
        assert_eq!(npmrc_registry(&rc).unwrap(), "http://127.0.0.1:9/default/");
        std::fs::write(&rc, "registry=http://127.0.0.1:9/default/\n@openai:registry = \"${CODEX_RUNTIME_TEST_UNSET_VAR}http://127.0.0.1:9/scoped/\"\n").unwrap();
        assert_eq!(npmrc_registry(&rc).unwrap(), "http://127.0.0.1:9/scoped/");
        std::fs::write(&rc, "always-auth=true\n").unwrap();
        assert_eq!(npmrc_registry(&rc), None);
    }

    #[test]
    fn source_names_round_trip() {
        for name in [SourceName::Mirror, SourceName::Installed, SourceName::Github, SourceName::Npm, SourceName::Pypi] {
            assert_eq!(name.as_str().parse::<SourceName>().unwrap(), name);
        }
        assert!("pypi2".parse::<SourceName>().is_err());
    }
}
