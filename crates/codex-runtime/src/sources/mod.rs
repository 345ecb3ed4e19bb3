//! Where artifacts come from.
//!
//! Every [`Source`] answers one question, [`Source::offers`]: for a pinned runtime, what it
//! offers, in the order to try (artifact locations to fetch, runtime trees to link) and which
//! lookups failed and why ([`offer`]). A source never decides whether the bytes are good (that
//! is [`crate::install`]'s job, against the pins). Sources are untrusted.
//!
//! A new source is a variant of [`Source`], its name in [`SourceName`], and its arm in
//! [`Source::offers`]; nothing else changes.

pub mod installed;
pub mod npm;
pub mod offer;
pub mod pypi;

pub use npm::{NpmSetup, npm_registry, npm_setup};
pub use offer::{FailedLookup, LookupError, Offer, ProgramError};

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::fetch::download::NetworkOptions;
use crate::model::env::{self, Env};
use crate::model::manifest::{ArtifactKind, ArtifactPin, Pinned};
use crate::net::netrc::Netrc;
use crate::net::{Credential, Credentials, Http, RedactedUrl, Scope, Secret, join, origin};

/// The canonical public location of GitHub release assets.
pub const GITHUB_RELEASES: &str = "https://github.com/openai/codex/releases/download";

/// The GitHub releases base URL: `CODEX_RUNTIME_GITHUB_BASE_URL` in `env`, else [`GITHUB_RELEASES`].
pub fn github_base_url(env: &Env) -> String {
    env.get(env::GITHUB_BASE_URL).unwrap_or(GITHUB_RELEASES).to_owned()
}

/// A place artifacts are fetched from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A flat directory (local or over HTTP) holding artifacts under their own file names.
    Mirror(Location),
    /// GitHub release assets under a base URL (`GITHUB_RELEASES` or an enterprise mirror).
    Github { base_url: String },
    /// An npm registry, with the credentials npm's configuration has.
    Npm(NpmSetup),
    /// A PyPI-style simple index (PEP 503/691).
    Pypi(Setting),
    /// A runtime pip or npm already installed on this machine (see [`crate::sources::installed`]).
    Installed {
        /// The Python whose environment to look in; `python3` on `PATH` when `None`.
        python: Option<PathBuf>,
    },
}

/// A value of a package manager's configuration (a registry, an index) and where it was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub value: String,
    /// The flag, the variable, or the file and key (never a secret's value).
    pub from: String,
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
            Source::Npm(_) => SourceName::Npm,
            Source::Pypi(_) => SourceName::Pypi,
            Source::Installed { .. } => SourceName::Installed,
        }
    }

    /// What this source offers for `pinned`, in the order to try: the artifacts it would hold
    /// (each kind it carries, in the pins' order), or the runtime trees it found, and the
    /// lookups that failed. Only the PyPI and npm sources ask the network here (the index's
    /// page, the registry's package document; `http` builds the client on first use), and only
    /// the installed source runs programs (Python, npm) to look.
    pub fn offers<'h>(&self, pinned: &Pinned<'_>, http: &dyn Fn() -> &'h Http, network: &NetworkOptions) -> Vec<Offer> {
        let url = |url: String| Location::Url(RedactedUrl::new(url));
        match self {
            Source::Mirror(base) => artifacts(pinned, |artifact| Some(base.join(&artifact.file))),
            Source::Github { base_url } => artifacts(pinned, |artifact| {
                let path = format!("{}/{}", pinned.manifest.version.github_tag(), artifact.file);
                (artifact.kind == ArtifactKind::Github).then(|| url(join(base_url, &path)))
            }),
            Source::Npm(setup) => npm::offers(&setup.registry.value, pinned, http, network),
            Source::Pypi(index) => pypi::offers(&index.value, pinned, http, network),
            Source::Installed { python } => installed::offers(pinned, python.as_deref()),
        }
    }

    /// Where this source's settings came from, a line each, for `--explain-sources`: the
    /// registry or index and the file and key that set it, and the credential `credentials`
    /// would send to it (where it was configured, never the secret). The CA bundles are
    /// [`explain_ca_files`]'.
    pub fn explain(&self, credentials: &Credentials) -> Vec<String> {
        // What the client does: the URL's own user:password@ first, else what `credentials` says.
        let credential = |url: &str| {
            let parsed = url::Url::parse(url).ok();
            match parsed.as_ref() {
                Some(u) if !u.username().is_empty() || u.password().is_some() => {
                    "sends the user:password@ of its URL".to_owned()
                }
                _ => match parsed.as_ref().and_then(|u| credentials.for_url(u)) {
                    Some(found) => format!("sends the credential from {}", found.from),
                    None => "sends no credential".to_owned(),
                },
            }
        };
        match self {
            Source::Npm(setup) => {
                let registry = &setup.registry;
                vec![format!(
                    "npm: registry {} (from {}); {}",
                    RedactedUrl::new(registry.value.as_str()),
                    registry.from,
                    credential(&registry.value)
                )]
            }
            Source::Pypi(index) => {
                vec![format!(
                    "pypi: index {} (from {}); {}",
                    RedactedUrl::new(index.value.as_str()),
                    index.from,
                    credential(&index.value)
                )]
            }
            Source::Github { base_url } => {
                vec![format!("github: {}; {}", RedactedUrl::new(base_url.as_str()), credential(base_url))]
            }
            Source::Mirror(Location::Url(url)) => vec![format!("mirror: {url}; {}", credential(url.expose()))],
            Source::Mirror(Location::File(dir)) => vec![format!("mirror: {}", dir.display())],
            Source::Installed { python } => vec![format!(
                "installed: the runtime pip or npm installed ({})",
                python.as_deref().map_or("python3 on PATH".into(), |p| p.display().to_string())
            )],
        }
    }

    /// Whether using this source touches the network.
    pub fn is_remote(&self) -> bool {
        match self {
            Source::Mirror(location) => location.is_remote(),
            Source::Installed { .. } => false,
            Source::Github { .. } | Source::Npm(_) | Source::Pypi(_) => true,
        }
    }
}

/// A path setting with a leading `~` (alone, or before `/`) read as the home directory (`HOME`,
/// else the platform's), as pip and npm read their path settings.
pub(crate) fn expand_home(path: &str, env: &Env) -> String {
    match path.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => match env.home() {
            Some(home) => format!("{}{rest}", home.display()),
            None => path.to_owned(),
        },
        _ => path.to_owned(),
    }
}

/// Every artifact of `pinned` that `locate` says where to find, in the pins' order.
fn artifacts(pinned: &Pinned<'_>, locate: impl Fn(&ArtifactPin) -> Option<Location>) -> Vec<Offer> {
    let pins = pinned.pins.artifact_pins().into_iter();
    pins.filter_map(|artifact| Some(Offer::Artifact { location: locate(&artifact)?, artifact })).collect()
}

/// The credentials the client sends for `sources`: npm's per-registry keys for the npm
/// source, the GitHub token (`GITHUB_TOKEN`, else `GH_TOKEN`) for the GitHub source's origin,
/// and `.netrc`'s logins when a source reads it (the Python index, an HTTP mirror, GitHub), its
/// `default` only for those sources' origins.
pub fn credentials(sources: &[Source], env: &Env) -> Credentials {
    let mut all = Credentials::default();
    let mut netrc_origins = Vec::new();
    for source in sources {
        match source {
            Source::Npm(setup) => all.extend(setup.credentials.iter().cloned()),
            Source::Github { base_url } => {
                let token =
                    [env::GITHUB_TOKEN, env::GH_TOKEN].into_iter().find_map(|name| Some((name, env.get(name)?)));
                if let (Some((name, token)), Some(origin)) = (token, origin(base_url)) {
                    let secret = Secret::Bearer(token.to_owned());
                    all.extend([Credential { scope: Scope::Origin(origin), secret, from: name.to_owned() }]);
                }
                netrc_origins.extend(origin(base_url));
            }
            Source::Pypi(index) => netrc_origins.extend(origin(&index.value)),
            Source::Mirror(Location::Url(url)) => netrc_origins.extend(origin(url.expose())),
            Source::Mirror(Location::File(_)) | Source::Installed { .. } => {}
        }
    }
    if !netrc_origins.is_empty()
        && let Some(netrc) = Netrc::load(env)
    {
        all.extend(netrc.credentials(&netrc_origins));
    }
    all
}

/// A client for reading these places outside an install (channel update and sync,
/// verify-pins), with [`credentials`] for them: npm's configuration for the registry, `.netrc`
/// for the index and GitHub.
pub fn reading_client(
    npm_registry: Option<&str>,
    pypi_index: Option<&str>,
    github_base_url: Option<&str>,
    env: &Env,
) -> Http {
    let setting = |value: &str| Setting { value: value.to_owned(), from: String::new() };
    let mut sources = Vec::new();
    if let Some(registry) = npm_registry {
        let config = npm::NpmConfig::load(env, std::env::current_dir().ok().as_deref());
        sources.push(Source::Npm(NpmSetup {
            registry: setting(registry),
            credentials: config.credentials(Some(registry)),
            ca_files: npm::ca_files(&config, env),
        }));
    }
    sources.extend(pypi_index.map(|index| Source::Pypi(setting(index))));
    sources.extend(github_base_url.map(|base_url| Source::Github { base_url: base_url.to_owned() }));
    Http::new().with_ca_files(ca_files(&sources, env)).with_credentials(credentials(&sources, env))
}

/// The CA bundles the package managers' configuration names for `sources`, as files for
/// [`Http::with_ca_files`]: npm's (`cafile`, `NODE_EXTRA_CA_CERTS`) when the npm source is
/// among them, pip's (`PIP_CERT`, `cert`) when a pypi source is. They are trusted besides the
/// platform's roots and `SSL_CERT_FILE`, for every request of the client (it holds one set of
/// roots), as `SSL_CERT_FILE` is.
pub fn ca_files(sources: &[Source], env: &Env) -> Vec<std::path::PathBuf> {
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    for (_, setting) in ca_settings(sources, env) {
        let file = std::path::PathBuf::from(setting.value);
        if !files.contains(&file) {
            files.push(file);
        }
    }
    files
}

/// `--explain-sources`' lines for [`ca_files`]: each bundle, the source whose configuration
/// names it, and where it was set.
pub fn explain_ca_files(sources: &[Source], env: &Env) -> Vec<String> {
    let settings = ca_settings(sources, env).into_iter();
    settings
        .map(|(source, ca)| format!("{source}: trusts the CA certificates in {} (from {})", ca.value, ca.from))
        .collect()
}

/// The CA bundle settings of `sources`, each with its source's name: the npm source's, then
/// pip's once for all the pypi sources.
fn ca_settings(sources: &[Source], env: &Env) -> Vec<(&'static str, Setting)> {
    let npm = sources.iter().filter_map(|s| if let Source::Npm(setup) = s { Some(&setup.ca_files) } else { None });
    let npm = npm.flatten().map(|ca| ("npm", ca.clone()));
    let pip = sources.iter().any(|s| matches!(s, Source::Pypi(_))).then(|| pypi::ca_file(env)).flatten();
    npm.chain(pip.map(|ca| ("pypi", ca))).collect()
}

/// The URL a package manager's client prints for `args` (its configured registry or index),
/// when it runs and prints one.
fn url_from_client(program: &str, args: &[&str]) -> Option<String> {
    let output = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let url = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    (output.status.success() && url.starts_with("http")).then_some(url)
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
    /// `--offline`: the default order leaves out the network sources, without looking up
    /// their registries (which may mean starting the npm client).
    pub offline: bool,
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
    /// (when a registry is known), pypi (the index, when one is known, then each extra index);
    /// offline, mirror and installed. `--source` restricts and orders them.
    pub fn sources(&self) -> Result<Vec<Source>, SourceError> {
        let github = || Source::Github { base_url: github_base_url(Env::process()) };
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
            if self.offline {
                return Ok(sources);
            }
            sources.push(github());
            if let Some(setup) = npm_setup(self.npm_registry.as_deref(), Env::process()) {
                sources.push(Source::Npm(setup));
            }
            sources.extend(self.indexes());
            return Ok(sources);
        }
        let mut sources = Vec::new();
        for name in &self.only {
            let named = match name {
                SourceName::Mirror => vec![mirror(self.mirror.as_deref().ok_or(SourceError::NoMirror)?)?],
                SourceName::Installed => vec![installed()],
                SourceName::Github => vec![github()],
                SourceName::Pypi => Some(self.indexes()).filter(|i| !i.is_empty()).ok_or(SourceError::NoIndex)?,
                SourceName::Npm => {
                    vec![Source::Npm(
                        npm_setup(self.npm_registry.as_deref(), Env::process()).ok_or(SourceError::NoRegistry)?,
                    )]
                }
            };
            for source in named {
                if !sources.contains(&source) {
                    sources.push(source);
                }
            }
        }
        Ok(sources)
    }

    /// The pypi sources: the index (`--pypi-index`, else the environment's or pip's), then each
    /// extra index not already among them (the same URL but for a trailing `/` or a
    /// `user:password@`: the first one listed is kept).
    fn indexes(&self) -> Vec<Source> {
        let env = Env::process();
        let mut indexes: Vec<Setting> = Vec::new();
        let all =
            pypi::index_setting(self.pypi_index.as_deref(), env).into_iter().chain(pypi::extra_index_settings(env));
        let key = |url: &str| {
            let bare = url::Url::parse(url).ok().map(|mut parsed| {
                let _ = (parsed.set_username(""), parsed.set_password(None));
                parsed.to_string()
            });
            bare.unwrap_or_else(|| url.to_owned()).trim_end_matches('/').to_owned()
        };
        for index in all {
            if !indexes.iter().any(|known| key(&known.value) == key(&index.value)) {
                indexes.push(index);
            }
        }
        indexes.into_iter().map(Source::Pypi).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::manifest::Manifest;
    use codex_runtime_test_support::fixture::{self, FixtureRuntime, sha256_hex};
    use codex_runtime_test_support::http::{Fault, TestServer};

    const MUSL_WHEEL: &str = "openai_codex_cli_bin-0.163.0-py3-none-musllinux_1_1_x86_64.whl";

    /// The Linux x64 fixture's pins, with a musllinux wheel (other bytes) beside the manylinux one.
    fn manifest() -> (FixtureRuntime, Vec<u8>, Manifest) {
        let runtime = FixtureRuntime::linux_x64("0.163.0", "0.163.0");
        let wheel = runtime.wheel();
        let mut target = runtime.manifest_target(&runtime.npm_tgz(), &wheel);
        let mut musl = target["artifacts"]["wheel"].clone();
        musl["file"] = MUSL_WHEEL.into();
        musl["sha256"] = sha256_hex(b"musl").into();
        target["artifacts"]["musllinux_wheel"] = musl;
        let value = fixture::manifest("stable", "0.163.0", &[(runtime.target.as_str(), target)]);
        (runtime, wheel, Manifest::parse(&value.to_string(), "stable").unwrap())
    }

    fn no_network() -> &'static Http {
        panic!("this source asks no network")
    }

    /// `(file, location)` of each artifact offered, `(location, error)` of each failed lookup.
    fn summary(offers: Vec<Offer>) -> Vec<(String, String)> {
        offers
            .into_iter()
            .map(|offer| match offer {
                Offer::Artifact { artifact, location } => (artifact.file, location.to_string()),
                Offer::Tree(candidate) => ("tree".into(), candidate.to_string()),
                Offer::Failed(FailedLookup { location, error }) => (location, format!("{error:?}")),
            })
            .collect()
    }

    #[test]
    fn every_source_offers_what_it_carries_in_the_pins_order_without_asking() {
        let (runtime, _, manifest) = manifest();
        let pinned = manifest.pinned(runtime.target.parse().unwrap()).unwrap();
        let offers = |source: Source| summary(source.offers(&pinned, &no_network, &NetworkOptions::builtin()));
        let (wheel, npm, github) = (runtime.wheel_file_name(), runtime.npm_file_name(), runtime.github_asset_name());

        let mirror = offers(Source::Mirror(Location::parse("http://127.0.0.1:9/m/")));
        let files: Vec<&str> = mirror.iter().map(|(file, _)| file.as_str()).collect();
        assert_eq!(files, [wheel.as_str(), MUSL_WHEEL, &npm, &github], "the wheels, the tarball, the asset");
        assert_eq!(mirror[0].1, format!("http://127.0.0.1:9/m/{wheel}"));
        let github_base = Source::Github { base_url: "http://127.0.0.1:9/dl".into() };
        assert_eq!(offers(github_base), [(github.clone(), format!("http://127.0.0.1:9/dl/rust-v0.163.0/{github}"))]);
        let _ = npm;
    }

    fn npm_source(registry: String) -> Source {
        Source::Npm(NpmSetup {
            registry: Setting { value: registry, from: "test".into() },
            credentials: Credentials::default(),
            ca_files: Vec::new(),
        })
    }

    #[test]
    fn the_npm_source_downloads_what_the_package_document_lists_once_it_agrees_with_the_pin() {
        let (runtime, _, manifest) = manifest();
        let pinned = manifest.pinned(runtime.target.parse().unwrap()).unwrap();
        let server = TestServer::start();
        let (http, network) = (Http::new(), NetworkOptions { retries: 0, ..NetworkOptions::builtin() });
        let document = "/r/@openai%2fcodex";
        let npm = runtime.npm_tgz();
        let listing = |tarball: &str, integrity: &str| {
            let version = serde_json::json!({"dist": {"tarball": tarball, "integrity": integrity}});
            serde_json::json!({"name": "@openai/codex", "versions": {"0.163.0-linux-x64": version}})
                .to_string()
                .into_bytes()
        };
        let offers = |registry: &str| summary(npm_source(registry.to_owned()).offers(&pinned, &|| &http, &network));
        let registry = format!("{}/r/", server.url());

        // Served from another path, or another host: what the document says.
        server.add(document, listing("http://127.0.0.1:9/elsewhere/codex.tgz", &fixture::integrity(&npm)));
        assert_eq!(offers(&registry), [(runtime.npm_file_name(), "http://127.0.0.1:9/elsewhere/codex.tgz".to_owned())]);
        assert!(server.requests()[0].header("accept").unwrap().starts_with("application/vnd.npm.install-v1+json"));
        // Relative to the registry, on its own host: with the registry's user:password@.
        server.add(document, listing("/tarballs/codex.tgz", &fixture::integrity(&npm)));
        let with_login = registry.replace("http://", "http://u:p@");
        let offered = npm_source(with_login).offers(&pinned, &|| &http, &network);
        let [Offer::Artifact { location: Location::Url(url), .. }] = &offered[..] else { panic!("{offered:?}") };
        assert_eq!(url.expose(), format!("{}/tarballs/codex.tgz", server.url().replace("http://", "http://u:p@")));

        // Another integrity than the pin: refused before a byte of it is fetched.
        server.add(document, listing("/tarballs/codex.tgz", &fixture::integrity(b"other")));
        let refused = npm_source(registry.clone()).offers(&pinned, &|| &http, &network);
        let [Offer::Failed(FailedLookup { error: LookupError::Integrity { subject, .. }, .. })] = &refused[..] else {
            panic!("{refused:?}")
        };
        assert_eq!(subject, &format!("@openai/codex@0.163.0-linux-x64 as listed by {}{document}", server.url()));

        // The package without the platform version, and no package at all: said by name.
        server.add(document, br#"{"name":"@openai/codex","versions":{"0.163.0":{}}}"#.to_vec());
        let absent = offers(&registry);
        assert!(absent[0].1.contains("the registry has @openai/codex but not 0.163.0-linux-x64; your mirror may not carry the platform aliases"), "{absent:?}");
        let absent = offers(&format!("{}/empty/", server.url()));
        assert!(absent[0].1.contains("the registry has no @openai/codex"), "{absent:?}");
    }

    #[test]
    fn the_pypi_source_reads_its_index_once_and_says_what_it_lacks() {
        let (runtime, wheel, manifest) = manifest();
        let pinned = manifest.pinned(runtime.target.parse().unwrap()).unwrap();
        let server = TestServer::start();
        let page = "/simple/openai-codex-cli-bin/";
        let listing = |sha256: &str| {
            let link = format!("<a href=\"../../files/{0}#sha256={sha256}\">{0}</a>", runtime.wheel_file_name());
            format!("<html><body>{link}</body></html>").into_bytes()
        };
        server.add(page, listing(&sha256_hex(&wheel)));
        let (http, network) = (Http::new(), NetworkOptions { retries: 0, ..NetworkOptions::builtin() });
        let index = Source::Pypi(Setting { value: format!("{}/simple", server.url()), from: "test".into() });
        let offers = || summary(index.offers(&pinned, &|| &http, &network));
        let page_url = format!("{}{page}", server.url());

        let found = offers();
        assert_eq!(server.hits(page), 1, "one page for both wheels");
        assert_eq!(
            found[0],
            (runtime.wheel_file_name(), format!("{}/files/{}", server.url(), runtime.wheel_file_name()))
        );
        assert_eq!(found[1], (format!("{page_url} ({MUSL_WHEEL})"), "NotFound".to_owned()));
        assert_eq!(found.len(), 2);

        server.add(page, listing(&sha256_hex(b"other bytes")));
        let listed = index.offers(&pinned, &|| &http, &network);
        let Some(Offer::Failed(FailedLookup {
            location,
            error: LookupError::Digest { subject, pinned: expected, listed },
        })) = listed.into_iter().next()
        else {
            panic!("a digest the index lists that is not the pin's is a failed lookup");
        };
        assert_eq!(location, page_url);
        assert_eq!((expected, listed.to_string()), (sha256_hex(&wheel).parse().unwrap(), sha256_hex(b"other bytes")));
        assert_eq!(subject, format!("{} as listed by {page_url}", runtime.wheel_file_name()));

        server.fault(page, Fault::Status(503));
        let unreachable = index.offers(&pinned, &|| &http, &network);
        assert!(matches!(&unreachable[..], [Offer::Failed(FailedLookup { error: LookupError::Download(_), .. })]));
        assert_eq!(server.hits(page), 3, "one failed read for both wheels");
    }

    #[test]
    fn an_installed_source_whose_python_cannot_run_says_so_first() {
        let (runtime, _, manifest) = manifest();
        let pinned = manifest.pinned(runtime.target.parse().unwrap()).unwrap();
        let python = PathBuf::from("/nonexistent/python3");
        let source = Source::Installed { python: Some(python.clone()) };
        let offers = source.offers(&pinned, &no_network, &NetworkOptions::builtin());
        let Some(Offer::Failed(FailedLookup {
            location,
            error: LookupError::Program(ProgramError::Spawn { program, .. }),
        })) = offers.first()
        else {
            panic!("{offers:?}");
        };
        assert_eq!((location.as_str(), program), ("/nonexistent/python3", &python));
    }

    #[test]
    fn mirror_locations_parse() {
        assert_eq!(Location::parse("/srv/m"), Location::File("/srv/m".into()));
        assert_eq!(Location::parse("file:///srv/m"), Location::File("/srv/m".into()));
        assert!(matches!(Location::parse("http://127.0.0.1:1/m"), Location::Url(_)));
    }

    #[test]
    fn source_names_round_trip() {
        for name in [SourceName::Mirror, SourceName::Installed, SourceName::Github, SourceName::Npm, SourceName::Pypi] {
            assert_eq!(name.as_str().parse::<SourceName>().unwrap(), name);
        }
        assert!("pypi2".parse::<SourceName>().is_err());
    }

    #[test]
    fn ca_files_are_those_of_the_sources_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("project");
        std::fs::create_dir_all(&project).unwrap();
        std::fs::write(project.join("package.json"), "{}").unwrap();
        std::fs::write(project.join(".npmrc"), "cafile=/etc/corp/npm-ca.pem\n").unwrap();
        let conf = dir.path().join("pip.conf");
        std::fs::write(&conf, "[global]\ncert = /etc/corp/pip-ca.pem\n").unwrap();
        let env = |extra: &[(&str, &str)]| {
            let mut pairs: Vec<(String, std::ffi::OsString)> = vec![
                (env::HOME.into(), dir.path().join("home").into()),
                (env::PIP_CONFIG_FILE.into(), conf.clone().into()),
            ];
            pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), (*v).into())));
            Env::from_pairs(pairs)
        };
        let npm = |env: &Env| {
            let config = npm::NpmConfig::load(env, Some(&project));
            let registry = Setting { value: "http://127.0.0.1:9/".into(), from: "test".into() };
            Source::Npm(NpmSetup {
                registry,
                credentials: Credentials::default(),
                ca_files: npm::ca_files(&config, env),
            })
        };
        let pypi = Source::Pypi(Setting { value: "http://127.0.0.1:9/simple/".into(), from: "test".into() });
        let mirror = Source::Mirror(Location::parse("http://127.0.0.1:9/m/"));
        let files = |sources: &[Source], env: &Env| -> Vec<String> {
            ca_files(sources, env).into_iter().map(|f| f.display().to_string()).collect()
        };
        let plain = env(&[]);
        assert_eq!(files(std::slice::from_ref(&mirror), &plain), Vec::<String>::new(), "no package manager's source");
        assert_eq!(files(&[npm(&plain)], &plain), ["/etc/corp/npm-ca.pem"]);
        assert_eq!(files(&[pypi.clone(), pypi.clone()], &plain), ["/etc/corp/pip-ca.pem"], "once");
        let vars = env(&[(env::NODE_EXTRA_CA_CERTS, "/etc/corp/node.pem"), (env::PIP_CERT, "/etc/corp/pip-env.pem")]);
        assert_eq!(
            files(&[npm(&vars), mirror, pypi.clone()], &vars),
            ["/etc/corp/npm-ca.pem", "/etc/corp/node.pem", "/etc/corp/pip-env.pem"],
            "PIP_CERT over pip.conf's cert"
        );
        let explained = explain_ca_files(&[pypi.clone(), pypi.clone()], &vars);
        assert_eq!(explained, ["pypi: trusts the CA certificates in /etc/corp/pip-env.pem (from PIP_CERT)"], "once");
        assert_eq!(
            explain_ca_files(std::slice::from_ref(&pypi), &env(&[(env::PIP_CONFIG_FILE, "/dev/null")])),
            Vec::<String>::new()
        );
        let npm_lines = explain_ca_files(&[npm(&vars)], &vars);
        let from = format!("(from {}: cafile)", project.join(".npmrc").display());
        assert!(
            npm_lines[0].starts_with("npm: trusts the CA certificates in /etc/corp/npm-ca.pem ")
                && npm_lines[0].ends_with(&from),
            "{npm_lines:?}"
        );
        assert_eq!(npm_lines[1], "npm: trusts the CA certificates in /etc/corp/node.pem (from NODE_EXTRA_CA_CERTS)");
    }
}
