//! The npm registry: where it is (the flag, the environment, `.npmrc`, the npm client), and the
//! one reader of its documents.
//!
//! A [`Registry`] reads a package's document (the packument: every version's `dist`) and one
//! version's document, bounded in size and retried as downloads are
//! ([`crate::fetch::download::with_retries`]); a registry without the document (404 or 410) is
//! told apart from one that could not be read. The npm source itself asks nothing: a tarball
//! lives at [`tarball_url`], by the registries' convention, and its bytes are checked against
//! the pins.

pub mod config;

use std::collections::HashMap;
use std::io::Read;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::fetch::download::{DownloadError, NetworkOptions, TryError, retry_of, with_retries};
use crate::model::digest::Integrity;
use crate::model::env::{self, Env};
use crate::model::error::error_chain;
use crate::model::manifest::{ArtifactKind, Pinned};
use crate::net::auth::Credentials;
use crate::net::{Get, Http, HttpError, RedactedUrl, join, resolve_href, with_userinfo_of};
use crate::sources::{FailedLookup, Location, LookupError, Offer, Setting, url_from_client};
pub use config::NpmConfig;

/// The npm package of the runtime; its platform packages are its versions `V-<suffix>`.
pub const PACKAGE: &str = "@openai/codex";

/// What npm asks a registry for a package's document: the abbreviated form, else the whole.
const ABBREVIATED: &str = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*";

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

    /// `GET {registry}/@scope%2fname`: the package's document, abbreviated as npm asks for it
    /// (every version's `dist`, without the rest) where the registry can.
    pub fn packument(&self, package: &str) -> Result<Packument, RegistryError> {
        self.document(self.packument_url(package), ABBREVIATED)
    }

    /// Where the package's document is.
    pub fn packument_url(&self, package: &str) -> RedactedUrl {
        RedactedUrl::new(join(self.url, &escape(package)))
    }

    /// `GET {registry}/@scope%2fname/VERSION`: one version's document (which some registries do
    /// not serve; the packument lists it too).
    pub fn version(&self, package: &str, version: &str) -> Result<VersionDocument, RegistryError> {
        self.document(RedactedUrl::new(join(self.url, &format!("{}/{version}", escape(package)))), "application/json")
    }

    fn document<T: DeserializeOwned>(&self, url: RedactedUrl, accept: &str) -> Result<T, RegistryError> {
        let body = with_retries(self.network, &url, retry_of, || {
            let response = self.http.request(&url, Get { from: None, accept: Some(accept) })?;
            if response.length.is_some_and(|length| length > MAX_DOCUMENT) {
                // Announced too large: not read at all.
                return Ok(None);
            }
            let mut body = Vec::new();
            response
                .body
                .take(MAX_DOCUMENT + 1)
                .read_to_end(&mut body)
                .map_err(|source| TryError::Body { received: body.len() as u64, source })?;
            Ok(Some(body))
        });
        let body = match body {
            Ok(Some(body)) => body,
            Ok(None) => return Err(RegistryError::TooLarge { url, limit: MAX_DOCUMENT }),
            Err(TryError::Http(HttpError::NotFound)) => return Err(RegistryError::NotFound { url }),
            Err(source) => return Err(RegistryError::Fetch { url, source: Box::new(source) }),
        };
        if body.len() as u64 > MAX_DOCUMENT {
            return Err(RegistryError::TooLarge { url, limit: MAX_DOCUMENT });
        }
        serde_json::from_slice(&body).map_err(|source| RegistryError::Invalid { url, source })
    }
}

/// What the npm source offers for `pinned`: the tarball the registry's package document lists
/// for the pinned platform version (`dist.tarball`, resolved against the registry), once its
/// `dist.integrity` agrees with the pin; or why not. The document is read only when an npm
/// tarball is pinned; `http` builds the client then.
pub(super) fn offers<'h>(
    registry: &str,
    pinned: &Pinned<'_>,
    http: &dyn Fn() -> &'h Http,
    network: &NetworkOptions,
) -> Vec<Offer> {
    let (Some(npm), Some(artifact)) = (
        pinned.pins.artifacts.npm.as_ref(),
        pinned.pins.artifact_pins().into_iter().find(|a| a.kind == ArtifactKind::Npm),
    ) else {
        return Vec::new();
    };
    let reader = Registry::new(http(), network, registry);
    let document = reader.packument_url(&npm.package);
    let failed = |error: LookupError| vec![Offer::Failed(FailedLookup { location: document.to_string(), error })];
    let packument = match reader.packument(&npm.package) {
        Ok(packument) => packument,
        Err(RegistryError::NotFound { .. }) => {
            return failed(LookupError::Absent { reason: format!("the registry has no {}", npm.package) });
        }
        Err(RegistryError::Fetch { source, .. }) => {
            return failed(LookupError::Download(DownloadError::Failed(*source)));
        }
        Err(error) => {
            return failed(LookupError::Invalid { what: "the package document", reason: error_chain(&error) });
        }
    };
    let Some(version) = packument.versions.get(&npm.version) else {
        let reason = format!(
            "the registry has {} but not {}; your mirror may not carry the platform aliases",
            npm.package, npm.version
        );
        return failed(LookupError::Absent { reason });
    };
    if let Some(pin) = &artifact.integrity {
        let listed: Vec<Integrity> = version.dist.sha512s().collect();
        if !listed.is_empty() && !listed.contains(pin) {
            let subject = format!("{}@{} as listed by {document}", npm.package, npm.version);
            return failed(LookupError::Integrity { subject, pinned: pin.clone(), listed: listed[0].clone() });
        }
    }
    let tarball = version.dist.tarball.as_deref().filter(|t| !t.is_empty());
    let url = match tarball {
        Some(href) => with_userinfo_of(registry, &resolve_href(registry, href)),
        None => tarball_url(registry, &npm.package, &npm.version),
    };
    vec![Offer::Artifact { artifact, location: Location::Url(RedactedUrl::new(url)) }]
}

/// A scoped name as one path segment: `@openai/codex` is `@openai%2fcodex`.
fn escape(package: &str) -> String {
    package.replace('/', "%2f")
}

/// The npm registry and the credentials npm would send, as found here (see [`config`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NpmSetup {
    pub registry: Setting,
    pub credentials: Credentials,
    /// CA bundles npm trusts: `cafile` of its configuration, and `NODE_EXTRA_CA_CERTS`.
    pub ca_files: Vec<Setting>,
}

/// The npm registry, from (in order) the flag, `CODEX_RUNTIME_NPM_REGISTRY`, npm's
/// configuration layers (see [`config`]), and finally the npm client itself.
pub fn npm_registry(explicit: Option<&str>) -> Option<String> {
    npm_setup(explicit, Env::process()).map(|setup| setup.registry.value)
}

/// The registry (see [`npm_registry`]) and the credentials of npm's configuration, with the
/// environment `env`, for npm run in the current directory.
pub fn npm_setup(explicit: Option<&str>, env: &Env) -> Option<NpmSetup> {
    let config = NpmConfig::load(env, std::env::current_dir().ok().as_deref());
    let registry = explicit
        .map(|value| Setting { value: value.to_owned(), from: "--npm-registry".into() })
        .or_else(|| {
            env.get(env::NPM_REGISTRY).map(|value| Setting { value: value.to_owned(), from: env::NPM_REGISTRY.into() })
        })
        .or_else(|| config.registry())
        .or_else(npm_client_registry)?;
    let credentials = config.credentials(Some(&registry.value));
    Some(NpmSetup { registry, credentials, ca_files: ca_files(&config, env) })
}

/// The CA bundles npm run here trusts besides node's own: `cafile` from its configuration
/// layers (a leading `~` is the home directory, as npm reads a path), and
/// `NODE_EXTRA_CA_CERTS`.
pub fn ca_files(config: &NpmConfig, env: &Env) -> Vec<Setting> {
    let cafile = config.get("cafile").map(|s| Setting { value: crate::sources::expand_home(&s.value, env), ..s });
    let extra = env.get(env::NODE_EXTRA_CA_CERTS);
    let extra = extra.map(|value| Setting { value: value.to_owned(), from: env::NODE_EXTRA_CA_CERTS.to_owned() });
    cafile.into_iter().chain(extra).collect()
}

/// Ask the npm client (`npm config get`), which also knows its built-in default.
fn npm_client_registry() -> Option<Setting> {
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    ["@openai:registry", "registry"].into_iter().find_map(|key| {
        let value = url_from_client(npm, &["config", "get", key])?;
        Some(Setting { value, from: format!("`npm config get {key}`") })
    })
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
