//! The registries still publish what is pinned: metadata, and with `rehash` the artifacts
//! themselves, block by block where blocks are pinned; the heads are the newest versions.

use super::{Check, Report, Verdict};
use crate::fetch::blocks::{BadBlock, Blocks};
use crate::fetch::download::{DownloadError, NetworkOptions, TryError};
use crate::model::digest::{Hasher, Integrity, Sha256};
use crate::model::error::error_chain;
use crate::model::manifest::{BlockPins, Channel, Manifest, NpmArtifact, WheelArtifact};
use crate::model::target::Target;
use crate::model::version::RuntimeVersion;
use crate::net::{Http, HttpError, RedactedUrl, redact};
use crate::sources::npm::{Packument, Registry, RegistryError, VersionDocument};
use crate::sources::pypi::{self, IndexError, Listed};
use std::cell::OnceCell;
use std::io::{self, Read};

/// Where the online checks look, and how far they go.
pub struct Online<'a> {
    pub http: &'a Http,
    /// The npm registry (see [`crate::sources::npm_registry`]); `None` when none is configured.
    pub npm_registry: Option<String>,
    /// The PyPI simple index (see [`pypi_index`]); `None` when none is configured.
    pub pypi_index: Option<String>,
    /// Also download every artifact and hash it.
    pub rehash: bool,
}

/// Re-fetch the published metadata of every artifact the manifest pins (the npm registry's
/// `dist.integrity` and `dist.tarball`, the PyPI index's sha256 and size) and compare it with
/// the pins; with `rehash`, download the artifacts too and hash them (and each pinned block)
/// while streaming.
pub fn check_online(manifest: &Manifest, online: &Online<'_>, report: &mut Report) {
    let npm_pins: Vec<(Target, &NpmArtifact)> =
        manifest.targets.iter().filter_map(|(t, p)| Some((*t, p.artifacts.npm.as_ref()?))).collect();
    let wheel_pins: Vec<(Target, &WheelArtifact)> =
        manifest.targets.iter().filter_map(|(t, p)| Some((*t, p.artifacts.wheel.as_ref()?))).collect();
    let channel = manifest.channel.as_str();
    if !npm_pins.is_empty() {
        match &online.npm_registry {
            Some(registry) => {
                let network = NetworkOptions::from_env();
                let registry = Registry::new(online.http, &network, registry);
                let npm = NpmRegistry { http: online.http, registry, packument: OnceCell::new() };
                for (target, pin) in npm_pins {
                    report.checks.extend(npm.check(manifest.channel, target, pin, online.rehash));
                }
            }
            None => report.push(Check::new(
                "npm metadata",
                channel,
                Verdict::Unavailable,
                "no npm registry is configured: pass --npm-registry URL, set CODEX_RUNTIME_NPM_REGISTRY, or configure npm",
            )),
        }
    }
    if !wheel_pins.is_empty() {
        match &online.pypi_index {
            Some(index) => {
                for (target, pin) in wheel_pins {
                    report.checks.extend(check_wheel(online.http, index, manifest.channel, target, pin, online.rehash));
                }
            }
            None => report.push(Check::new(
                "pypi metadata",
                channel,
                Verdict::Unavailable,
                "no PyPI index is configured: pass --pypi-index URL, set CODEX_RUNTIME_PYPI_INDEX or PIP_INDEX_URL, or configure pip",
            )),
        }
    }
}

/// The channel heads against the newest release and pre-release the registries publish
/// (`latest` is what they list, either spelling, either registry). A head behind is
/// [`Verdict::Behind`], or drift with `require_latest`; one that cannot be compared is
/// unavailable.
pub fn check_freshness(
    heads: &[(Channel, RuntimeVersion)],
    published: Result<Vec<RuntimeVersion>, String>,
    require_latest: bool,
    report: &mut Report,
) {
    let published = match published {
        Ok(published) => published,
        Err(reason) => {
            for (channel, _) in heads {
                report.push(Check::new("freshness", channel.as_str(), Verdict::Unavailable, reason.clone()));
            }
            return;
        }
    };
    for (channel, head) in heads {
        let kind = if *channel == Channel::Alpha { "pre-release" } else { "release" };
        let newest = published.iter().filter(|v| v.is_prerelease() == (*channel == Channel::Alpha)).max();
        let (verdict, message) = match newest {
            None => (Verdict::Unavailable, format!("the registries list no {kind} of codex to compare {head} with")),
            Some(newest) if newest <= head => {
                (Verdict::Ok, format!("{head} is the newest {kind} the registries publish"))
            }
            Some(newest) => {
                let newer =
                    published.iter().filter(|v| v.is_prerelease() == newest.is_prerelease() && *v > head).count();
                let message = format!(
                    "{channel} pins {head}, but the registries publish {newest} ({newer} newer {kind}{}); pin it with `codex-runtime channel sync --dir channels`",
                    if newer == 1 { "" } else { "s" }
                );
                (if require_latest { Verdict::Drift } else { Verdict::Behind }, message)
            }
        };
        report.push(Check::new("freshness", channel.as_str(), verdict, message));
    }
}

pub(super) struct NpmRegistry<'a> {
    http: &'a Http,
    registry: Registry<'a>,
    /// The whole package document, fetched only when a registry has no per-version documents.
    packument: OnceCell<Result<Packument, Fetch>>,
}

impl NpmRegistry<'_> {
    fn check(&self, channel: Channel, target: Target, pin: &NpmArtifact, rehash: bool) -> Vec<Check> {
        let subject = format!("{channel} {target} npm");
        let name = "npm metadata";
        let spec = format!("{}@{}", pin.package, pin.version);
        let doc = match self.version_document(pin) {
            Ok(doc) => doc,
            Err(Fetch::Missing(url)) => {
                let message = format!("the registry has no {spec} ({url}); the platform package is missing");
                return vec![Check::new(name, subject, Verdict::Drift, message)];
            }
            Err(Fetch::Failed(reason)) => return vec![Check::new(name, subject, Verdict::Unavailable, reason)],
        };
        let dist = &doc.dist;
        let integrity = dist.integrity.as_deref().unwrap_or_default();
        let published = dist.sha512s().next();
        let tarball = dist.tarball.as_deref().unwrap_or_default();
        let tarball_name = format!("/codex-{}.tgz", pin.version);
        let (verdict, message) = match published {
            None => (Verdict::Drift, format!("{spec} has no sha512 dist.integrity (`{integrity}`)")),
            Some(i) if i != pin.integrity => {
                (Verdict::Drift, format!("{spec} dist.integrity is {i}, the pin is {}", pin.integrity))
            }
            Some(_) if !tarball.ends_with(&tarball_name) => (
                Verdict::Drift,
                format!("{spec} dist.tarball is `{}`, not a `{}`", redact(tarball), &tarball_name[1..]),
            ),
            Some(_) => (Verdict::Ok, format!("{spec} dist.integrity matches the pin")),
        };
        let mut checks = vec![Check::new(name, subject.clone(), verdict, message)];
        if rehash && !tarball.is_empty() {
            let url = RedactedUrl::new(tarball);
            let expected = Expected {
                sha256: pin.sha256,
                integrity: Some(&pin.integrity),
                size: pin.size,
                blocks: pin.blocks.as_ref(),
            };
            checks.push(rehash_artifact(self.http, &url, &expected, "npm artifact", subject));
        }
        checks
    }

    /// The version's own document, else its entry in the whole packument.
    fn version_document(&self, pin: &NpmArtifact) -> Result<VersionDocument, Fetch> {
        let url = match self.registry.version(&pin.package, &pin.version) {
            Err(RegistryError::NotFound { url }) => url,
            other => return other.map_err(Fetch::from),
        };
        let packument = self.packument.get_or_init(|| self.registry.packument(&pin.package).map_err(Fetch::from));
        match packument {
            Ok(doc) => doc.versions.get(&pin.version).cloned().ok_or_else(|| Fetch::Missing(url.to_string())),
            Err(e) => Err(e.clone()),
        }
    }
}

/// Why a document could not be had.
#[derive(Debug, Clone)]
pub(super) enum Fetch {
    /// The server says it does not exist (404/410): the URL.
    Missing(String),
    /// Unreachable, another status, or not the expected format: the reason.
    Failed(String),
}

impl From<RegistryError> for Fetch {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::NotFound { url } => Fetch::Missing(url.to_string()),
            e => Fetch::Failed(error_chain(&e)),
        }
    }
}

pub(super) fn check_wheel(
    http: &Http,
    index: &str,
    channel: Channel,
    target: Target,
    pin: &WheelArtifact,
    rehash: bool,
) -> Vec<Check> {
    let subject = format!("{channel} {target} wheel");
    let name = "pypi metadata";
    let network = NetworkOptions::from_env();
    let (verdict, message, url) = match pypi::find(http, &network, index, &pin.distribution, &pin.file, pin.sha256) {
        Ok(Listed { url, sha256: Some(_), .. }) => {
            (Verdict::Ok, format!("{}: the index's sha256 matches the pin", pin.file), Some(url))
        }
        Ok(Listed { url, sha256: None, .. }) => {
            (Verdict::Drift, format!("{}: the index lists no sha256 to compare with the pin", pin.file), Some(url))
        }
        Err(IndexError::Digest { listed, .. }) => {
            (Verdict::Drift, format!("{}: the index's sha256 is {listed}, the pin is {}", pin.file, pin.sha256), None)
        }
        Err(IndexError::NotListed { .. }) => {
            (Verdict::Drift, format!("the index lists no {}; the wheel is missing", pin.file), None)
        }
        Err(IndexError::Download(DownloadError::Failed(TryError::Http(HttpError::NotFound)))) => (
            Verdict::Drift,
            format!("the index has no {} project page under {}", pin.distribution, redact(index)),
            None,
        ),
        Err(e) => (Verdict::Unavailable, format!("{} ({}): {e}", pin.file, redact(index)), None),
    };
    let mut checks = vec![Check::new(name, subject.clone(), verdict, message)];
    if let (true, Some(url)) = (rehash, url) {
        let expected = Expected { sha256: pin.sha256, integrity: None, size: pin.size, blocks: pin.blocks.as_ref() };
        checks.push(rehash_artifact(http, &url, &expected, "pypi artifact", subject));
    }
    checks
}

pub(super) struct Expected<'a> {
    sha256: Sha256,
    integrity: Option<&'a Integrity>,
    size: u64,
    blocks: Option<&'a BlockPins>,
}

/// Download an artifact, hashing it (and each block, when blocks are pinned) as it streams by,
/// and compare with its pins.
pub(super) fn rehash_artifact(
    http: &Http,
    url: &RedactedUrl,
    expected: &Expected<'_>,
    name: &'static str,
    subject: String,
) -> Check {
    let unavailable = |reason: String| Check::new(name, subject.clone(), Verdict::Unavailable, reason);
    let (_, reader) = match http.get(url) {
        Ok(r) => r,
        Err(HttpError::NotFound) => {
            return Check::new(name, subject.clone(), Verdict::Drift, format!("GET {url}: the artifact is gone (404)"));
        }
        Err(e) => return unavailable(format!("GET {url}: {e}")),
    };
    let mut hashing = HashingReader {
        inner: reader,
        hasher: Hasher::new(expected.integrity.is_some()),
        blocks: expected.blocks.map(|pins| Blocks::new(pins, expected.size)),
        bad_block: None,
    };
    if let Err(e) = io::copy(&mut hashing, &mut io::sink()) {
        let received = hashing.hasher.size();
        return unavailable(format!("GET {url}: the download broke off after {received} bytes: {e}"));
    }
    let HashingReader { hasher, bad_block, .. } = hashing;
    let got = hasher.finish();
    let problem = if got.size != expected.size {
        Some(format!("size mismatch: expected {} bytes, got {}", expected.size, got.size))
    } else if got.sha256 != expected.sha256 {
        Some(format!("sha256 mismatch: expected {}, got {}", expected.sha256, got.sha256))
    } else if let (Some(want), Some(have)) = (expected.integrity, &got.sha512)
        && want != have
    {
        Some(format!("sha512 integrity mismatch: expected {want}, got {have}"))
    } else {
        None
    };
    let problem = match (problem, bad_block.map(|b| b.to_string())) {
        (Some(p), Some(b)) => Some(format!("{p}; {b}")),
        // The bytes are the pinned ones, so the block pins themselves are wrong.
        (None, Some(b)) => Some(format!("block pins mismatch: {b}")),
        (p, None) => p,
    };
    match problem {
        Some(p) => Check::new(name, subject, Verdict::Digest, format!("{url}: {p}")),
        None => {
            let blocks = match expected.blocks {
                Some(pins) if pins.sha256.len() == 1 => ", its one block too".to_owned(),
                Some(pins) => format!(", each of its {} blocks too", pins.sha256.len()),
                None => String::new(),
            };
            Check::new(name, subject, Verdict::Ok, format!("{} bytes from {url} hash to the pins{blocks}", got.size))
        }
    }
}

/// Feeds every byte read through it to a [`Hasher`] and, when blocks are pinned, to the same
/// block check an install makes ([`Blocks`]), keeping the first block that fails.
pub(super) struct HashingReader<R> {
    inner: R,
    hasher: Hasher,
    blocks: Option<Blocks>,
    bad_block: Option<BadBlock>,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        if self.bad_block.is_none()
            && let Some(blocks) = &mut self.blocks
        {
            self.bad_block = blocks.update(&buf[..n]).err();
        }
        Ok(n)
    }
}
