//! The npm registry: where it is (the flag, the environment, `.npmrc`, the npm client), and the
//! one reader of its documents.
//!
//! A [`Registry`] reads a package's document (the packument: every version's `dist`) and one
//! version's document, bounded in size and retried as downloads are
//! ([`crate::fetch::download::with_retries`]); a registry without the document (404 or 410) is
//! told apart from one that could not be read. The npm source itself asks nothing: a tarball
//! lives at [`tarball_url`], by the registries' convention, and its bytes are checked against
//! the pins.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::fetch::download::{NetworkOptions, TryError, retry_of, with_retries};
use crate::model::digest::Integrity;
use crate::model::env::{self, Env};
use crate::net::{Get, Http, HttpError, RedactedUrl, join};
use crate::sources::url_from_client;

/// The npm package of the runtime; its platform packages are its versions `V-<suffix>`.
pub const PACKAGE: &str = "@openai/codex";

/// The largest document read: a whole packument lists every version and can be tens of MiB.
const MAX_DOCUMENT: u64 = 256 * 1024 * 1024;

/// Where a registry keeps the tarball of `package` at `version`:
/// `{registry}/@scope/name/-/name-VERSION.tgz`.
pub fn tarball_url(registry: &str, package: &str, version: &str) -> String {
    let name = package.rsplit('/').next().unwrap_or(package);
    join(registry, &format!("{package}/-/{name}-{version}.tgz"))
}

/// A package's document: every published version's own document, by version.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Packument {
    #[serde(default)]
    pub versions: HashMap<String, VersionDocument>,
}

/// One published version of a package.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct VersionDocument {
    #[serde(default)]
    pub dist: Dist,
}

/// Where a version's tarball is and what it hashes to, as the registry claims.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Dist {
    /// `dist.tarball`: the tarball's URL.
    #[serde(default)]
    pub tarball: Option<String>,
    /// `dist.integrity`: an SRI string, one or more `algorithm-base64[?options]` apart by spaces.
    #[serde(default)]
    pub integrity: Option<String>,
}

impl Dist {
    /// The sha512 digests `dist.integrity` lists, in its order (other algorithms left out).
    pub fn sha512s(&self) -> impl Iterator<Item = Integrity> + '_ {
        let listed = self.integrity.as_deref().unwrap_or_default().split_whitespace();
        listed.filter_map(|sri| sri.split('?').next()?.parse().ok())
    }
}

/// Why a registry document could not be had.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry has no such document (HTTP 404 or 410).
    #[error("GET {url}: not found (HTTP 404)")]
    NotFound { url: RedactedUrl },
    /// Unreachable, or another status, after the retries.
    #[error("GET {url}")]
    Fetch {
        url: RedactedUrl,
        #[source]
        source: Box<TryError>,
    },
    #[error("GET {url}: the document is larger than {limit} bytes")]
    TooLarge { url: RedactedUrl, limit: u64 },
    #[error("GET {url}: not a package document")]
    Invalid {
        url: RedactedUrl,
        #[source]
        source: serde_json::Error,
    },
}

impl RegistryError {
    /// The document asked for, credentials redacted.
    pub fn url(&self) -> &RedactedUrl {
        match self {
            RegistryError::NotFound { url }
            | RegistryError::Fetch { url, .. }
            | RegistryError::TooLarge { url, .. }
            | RegistryError::Invalid { url, .. } => url,
        }
    }
}

/// An npm registry, read through one client.
pub struct Registry<'a> {
    http: &'a Http,
    network: &'a NetworkOptions,
    url: &'a str,
}

impl<'a> Registry<'a> {
    pub fn new(http: &'a Http, network: &'a NetworkOptions, url: &'a str) -> Registry<'a> {
        Registry { http, network, url }
    }

    /// `GET {registry}/@scope%2fname`: the package's document.
    pub fn packument(&self, package: &str) -> Result<Packument, RegistryError> {
        self.document(RedactedUrl::new(join(self.url, &escape(package))))
    }

    /// `GET {registry}/@scope%2fname/VERSION`: one version's document (which some registries do
    /// not serve; the packument lists it too).
    pub fn version(&self, package: &str, version: &str) -> Result<VersionDocument, RegistryError> {
        self.document(RedactedUrl::new(join(self.url, &format!("{}/{version}", escape(package)))))
    }

    fn document<T: DeserializeOwned>(&self, url: RedactedUrl) -> Result<T, RegistryError> {
        let body = with_retries(self.network, &url, retry_of, || {
            let response = self.http.request(&url, Get { from: None, accept: Some("application/json") })?;
            let mut body = Vec::new();
            response
                .body
                .take(MAX_DOCUMENT + 1)
                .read_to_end(&mut body)
                .map_err(|source| TryError::Body { received: body.len() as u64, source })?;
            Ok(body)
        });
        let body = match body {
            Ok(body) => body,
            Err(TryError::Http(HttpError::NotFound)) => return Err(RegistryError::NotFound { url }),
            Err(source) => return Err(RegistryError::Fetch { url, source: Box::new(source) }),
        };
        if body.len() as u64 > MAX_DOCUMENT {
            return Err(RegistryError::TooLarge { url, limit: MAX_DOCUMENT });
        }
        serde_json::from_slice(&body).map_err(|source| RegistryError::Invalid { url, source })
    }
}

/// A scoped name as one path segment: `@openai/codex` is `@openai%2fcodex`.
fn escape(package: &str) -> String {
    package.replace('/', "%2f")
}

/// The npm registry, from (in order) the flag, `CODEX_RUNTIME_NPM_REGISTRY`,
/// `npm_config_registry`, the `.npmrc` files, and finally the npm client itself.
pub fn npm_registry(explicit: Option<&str>) -> Option<String> {
    npm_registry_in(explicit, Env::process())
}

/// [`npm_registry`] with the environment `env`.
pub fn npm_registry_in(explicit: Option<&str>, env: &Env) -> Option<String> {
    explicit
        .map(str::to_owned)
        .or_else(|| env.get(env::NPM_REGISTRY).map(str::to_owned))
        .or_else(|| env.first(&env::NPM_CONFIG_REGISTRY).map(str::to_owned))
        .or_else(|| npmrc_files(env).iter().find_map(|f| npmrc_registry(f, env)))
        .or_else(npm_client_registry)
}

/// The `.npmrc` files npm reads, most specific first: the project's (from the current
/// directory upward), the user's, the global one.
fn npmrc_files(env: &Env) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        files.extend(cwd.ancestors().map(|d| d.join(".npmrc")));
    }
    match env.os(env::NPM_CONFIG_USERCONFIG[0]).or_else(|| env.os(env::NPM_CONFIG_USERCONFIG[1])) {
        Some(user) => files.push(PathBuf::from(user)),
        None => files.extend(directories::BaseDirs::new().map(|d| d.home_dir().join(".npmrc"))),
    }
    if let Some(global) = env.os(env::NPM_CONFIG_GLOBALCONFIG[0]).or_else(|| env.os(env::NPM_CONFIG_GLOBALCONFIG[1])) {
        files.push(PathBuf::from(global));
    }
    files
}

/// The registry an `.npmrc` sets for `@openai` packages (scoped first, then the default).
fn npmrc_registry(path: &Path, env: &Env) -> Option<String> {
    let text = fs_err::read_to_string(path).ok()?;
    let mut default = None;
    let mut scoped = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with(['#', ';']) {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        let value = expand_env(value.trim().trim_matches('"'), env);
        match key.trim() {
            "@openai:registry" => scoped = Some(value),
            "registry" => default = Some(value),
            _ => {}
        }
    }
    scoped.or(default).filter(|v| !v.is_empty())
}

/// npm expands `${VAR}` in `.npmrc` values.
fn expand_env(value: &str, env: &Env) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        match rest[start + 2..].find('}') {
            Some(end) => {
                let name = &rest[start + 2..start + 2 + end];
                out.push_str(env.expand(name));
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
    let get = |key: &str| url_from_client(npm, &["config", "get", key]);
    get("@openai:registry").or_else(|| get("registry"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use codex_runtime_test_support::http::{Fault, TestServer};
    use std::time::Duration;

    const INTEGRITY: &str =
        "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==";

    fn network() -> NetworkOptions {
        NetworkOptions { retries: 2, backoff_base: Duration::from_millis(1), ..NetworkOptions::builtin() }
    }

    #[test]
    fn npmrc_prefers_the_scoped_registry_and_expands_env() {
        let dir = tempfile::tempdir().unwrap();
        let rc = dir.path().join(".npmrc");
        std::fs::write(&rc, "# comment\nregistry=http://127.0.0.1:9/default/\n").unwrap();
        assert_eq!(npmrc_registry(&rc, &Env::default()).unwrap(), "http://127.0.0.1:9/default/");
        std::fs::write(&rc, "registry=http://127.0.0.1:9/default/\n@openai:registry = \"${CODEX_RUNTIME_TEST_UNSET_VAR}http://127.0.0.1:9/scoped/\"\n").unwrap();
        assert_eq!(npmrc_registry(&rc, &Env::default()).unwrap(), "http://127.0.0.1:9/scoped/");
        std::fs::write(&rc, "always-auth=true\n").unwrap();
        assert_eq!(npmrc_registry(&rc, &Env::default()), None);
        // `${VAR}` is read from the environment handed in, not the process's.
        std::fs::write(&rc, "registry=${MIRROR_HOST}/npm/\n").unwrap();
        let env = Env::from_pairs([("MIRROR_HOST", "http://127.0.0.1:9")]);
        assert_eq!(npmrc_registry(&rc, &env).unwrap(), "http://127.0.0.1:9/npm/");
    }

    #[test]
    fn tarballs_live_under_the_unscoped_name() {
        assert_eq!(
            tarball_url("http://127.0.0.1:9/r/", PACKAGE, "1.0.0-linux-x64"),
            "http://127.0.0.1:9/r/@openai/codex/-/codex-1.0.0-linux-x64.tgz"
        );
    }

    #[test]
    fn dist_integrity_lists_its_sha512s_without_options() {
        let dist = |integrity: &str| Dist { tarball: None, integrity: Some(integrity.to_owned()) };
        let sha512: Integrity = INTEGRITY.parse().unwrap();
        assert_eq!(dist(&format!("sha1-AAAA {INTEGRITY}?x")).sha512s().collect::<Vec<_>>(), [sha512]);
        assert_eq!(dist("sha1-AAAA").sha512s().count(), 0);
        assert_eq!(Dist::default().sha512s().count(), 0);
    }

    #[test]
    fn documents_are_read_retried_and_told_apart_from_missing_ones() {
        let server = TestServer::start();
        let doc =
            format!(r#"{{"name":"@openai/codex","dist":{{"integrity":"{INTEGRITY}","tarball":"http://t/x.tgz"}}}}"#);
        server.add("/r/@openai%2fcodex/1.0.0", doc.into_bytes());
        server.faults("/r/@openai%2fcodex/1.0.0", [Fault::Status(503)]);
        server.add("/r/@openai%2fcodex", br#"{"versions":{"1.0.0":{"dist":{}},"2.0.0":{}}}"#.to_vec());
        server.add("/r/@openai%2fbroken", b"{\"versions\": [".to_vec());
        let (http, network, url) = (Http::new(), network(), format!("{}/r/", server.url()));
        let registry = Registry::new(&http, &network, &url);

        let version = registry.version(PACKAGE, "1.0.0").unwrap();
        assert_eq!(version.dist.tarball.as_deref(), Some("http://t/x.tgz"));
        assert_eq!(version.dist.sha512s().next().unwrap().to_string(), INTEGRITY);
        assert_eq!(server.hits("/r/@openai%2fcodex/1.0.0"), 2, "a 503 is retried");
        assert_eq!(server.requests()[0].header("accept"), Some("application/json"));

        let packument = registry.packument(PACKAGE).unwrap();
        let mut versions: Vec<&String> = packument.versions.keys().collect();
        versions.sort();
        assert_eq!(versions, ["1.0.0", "2.0.0"]);

        let missing = registry.version(PACKAGE, "3.0.0").unwrap_err();
        assert!(matches!(missing, RegistryError::NotFound { .. }), "{missing:?}");
        assert_eq!(missing.url().to_string(), format!("{url}@openai%2fcodex/3.0.0"));
        assert_eq!(server.hits("/r/@openai%2fcodex/3.0.0"), 1, "a 404 is not retried");
        assert!(matches!(registry.packument("@openai/broken"), Err(RegistryError::Invalid { .. })));

        server.fault("/r/@openai%2fcodex", Fault::Status(500));
        let failed = registry.packument(PACKAGE).unwrap_err();
        assert!(matches!(failed, RegistryError::Fetch { .. }), "{failed:?}");
        assert_eq!(server.hits("/r/@openai%2fcodex"), 1 + 3, "the first try and two retries");
    }
}
