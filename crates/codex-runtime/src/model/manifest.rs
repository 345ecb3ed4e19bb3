//! Channel manifests: the trusted pins.
//!
//! A manifest pins one version for every target: the entrypoint's digest and size, and every
//! artifact published for that version with its own digest, size and unpacked size. The
//! manifests in `channels/` are compiled in; `--manifest FILE` replaces them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::digest::{Integrity, Sha256};
use crate::model::target::Target;
use crate::model::version::RuntimeVersion;

/// A release channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Stable,
    Alpha,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Channel::Stable, Channel::Alpha];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Stable => "stable",
            Channel::Alpha => "alpha",
        }
    }

    /// The channel a version belongs to: pre-releases are alpha, releases stable.
    pub fn of(version: &RuntimeVersion) -> Channel {
        if version.is_prerelease() { Channel::Alpha } else { Channel::Stable }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A channel name that is not `stable` or `alpha`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown channel `{0}`; the channels are `stable` and `alpha`")]
pub struct UnknownChannel(pub String);

impl FromStr for Channel {
    type Err = UnknownChannel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "stable" => Ok(Channel::Stable),
            "alpha" => Ok(Channel::Alpha),
            _ => Err(UnknownChannel(s.to_owned())),
        }
    }
}

/// One channel's pins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub schema_version: u32,
    pub channel: Channel,
    pub version: RuntimeVersion,
    /// The protocol this version speaks, when it was pinned (older pins lack it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<ProtocolPin>,
    pub targets: BTreeMap<Target, TargetPins>,
}

/// The pinned protocol: the digest of the canonical form of the runtime's
/// `app-server generate-json-schema` output, and how many methods it has, so that a message can
/// say how a binary's protocol differs even where the pinned schema is not at hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtocolPin {
    pub sha256: Sha256,
    pub client_requests: usize,
    pub server_requests: usize,
    pub notifications: usize,
}

/// What one target's runtime must be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetPins {
    pub entrypoint: FilePin,
    pub artifacts: Artifacts,
    /// Every file of the runtime root across the published artifacts (the npm tarball carries
    /// a few the wheel does not), sorted by path: an installed runtime may hold only files
    /// listed here, with these digests. What makes a source without an artifact digest (the
    /// GitHub package before its digest is known, a runtime pip or npm installed) as safe as
    /// one with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FilePin>,
}

impl TargetPins {
    /// The pin of a runtime file, by its path relative to the runtime root.
    pub fn file(&self, path: &str) -> Option<&FilePin> {
        self.files.binary_search_by(|f| f.path.as_str().cmp(path)).ok().map(|i| &self.files[i])
    }
}

/// A file inside the runtime root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePin {
    pub path: String,
    pub sha256: Sha256,
    pub size: u64,
}

/// Every artifact published for one target at one version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifacts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub npm: Option<NpmArtifact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wheel: Option<WheelArtifact>,
    /// The musllinux wheel of a Linux target (`Target::musllinux_tag`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub musllinux_wheel: Option<WheelArtifact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub github: Option<GithubArtifact>,
}

impl Artifacts {
    /// The wheels: the platform wheel, then the musllinux one.
    pub fn wheels(&self) -> impl Iterator<Item = &WheelArtifact> {
        self.wheel.iter().chain(&self.musllinux_wheel)
    }
}

/// The npm platform package `@openai/codex@V-SUFFIX`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NpmArtifact {
    pub package: String,
    pub version: String,
    pub file: String,
    pub sha256: Sha256,
    pub integrity: Integrity,
    pub size: u64,
    pub unpacked_size: u64,
    pub entries: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks: Option<BlockPins>,
    /// The runtime files this artifact does not carry ([`Omits`]); `None` in pins older than
    /// the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omits: Option<Omits>,
    /// The fields of its `package/package.json` that npm's package document repeats (`os`,
    /// `cpu`, `engines`, `license`, ...), read from the tarball when it was pinned: a static
    /// index writes them without inflating the tarball again. `None` in older pins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_json: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The fields of an npm tarball's `package.json` that a package document repeats, so that npm
/// can pick a version (platform, engines) and resolve its dependencies before it downloads it.
pub const NPM_DOCUMENT_FIELDS: &[&str] =
    &["bin", "cpu", "dependencies", "engines", "libc", "license", "optionalDependencies", "os", "peerDependencies"];

/// The runtime files of a target (its `files`) that one artifact does not carry, sorted: a
/// file's path, or a directory's ending in `/` when the artifact carries nothing under it
/// (upstream's manylinux wheels leave out `codex-resources/voice/`, its npm tarballs the
/// wheel's `__init__.py`). With it, a re-pack carries exactly the members upstream's artifact
/// of that format does.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Omits(pub Vec<String>);

impl Omits {
    /// The omissions of an artifact carrying `carried` out of `all` (runtime-relative paths),
    /// each as the highest directory under which it carries nothing.
    pub fn between<'a>(all: impl IntoIterator<Item = &'a str>, carried: &std::collections::HashSet<&str>) -> Omits {
        let all: Vec<&str> = all.into_iter().collect();
        let carries_under = |dir: &str| carried.iter().any(|c| c.starts_with(dir));
        let mut omits = std::collections::BTreeSet::new();
        for path in all.iter().filter(|p| !carried.contains(*p)) {
            // The highest ancestor directory under which nothing is carried, else the file.
            let highest =
                path.match_indices('/').map(|(i, _)| &path[..=i]).find(|dir| !carries_under(dir)).unwrap_or(path);
            omits.insert(highest.to_owned());
        }
        Omits(omits.into_iter().collect())
    }

    /// Whether an artifact with these omissions carries the runtime file `path`.
    pub fn carries(&self, path: &str) -> bool {
        !self.0.iter().any(|o| if o.ends_with('/') { path.starts_with(o.as_str()) } else { path == o })
    }

    /// Why these omissions are not well formed.
    fn check(&self) -> Result<(), String> {
        for o in &self.0 {
            if o.is_empty() || o.starts_with('/') || o.split('/').any(|part| part == ".." || part == ".") {
                return Err(format!("{o:?} is not a relative path inside the runtime root"));
            }
        }
        if !self.0.is_sorted_by(|a, b| a < b) {
            return Err("must be sorted, each once".into());
        }
        Ok(())
    }
}

/// The sha256 of each fixed-size block of an artifact, in order (the last one may be shorter).
/// With them every block is verified as soon as it arrives: a tarball is extracted while the
/// rest downloads, from verified bytes only, and a resumed download keeps only the blocks that
/// still match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockPins {
    /// A power of two, from 64 KiB to 1 GiB.
    pub size: u64,
    pub sha256: Vec<Sha256>,
}

impl BlockPins {
    /// The block size `channel update` pins.
    pub const DEFAULT_SIZE: u64 = 8 * 1024 * 1024;

    /// Why these blocks cannot describe an artifact of `artifact_size` bytes.
    fn check(&self, artifact_size: u64) -> Result<(), String> {
        if !self.size.is_power_of_two() || !(64 * 1024..=1 << 30).contains(&self.size) {
            return Err(format!("block size {} must be a power of two from 65536 to 1073741824", self.size));
        }
        let expected = artifact_size.div_ceil(self.size);
        if self.sha256.len() as u64 != expected {
            return Err(format!(
                "{} digests for {artifact_size} bytes in blocks of {}; expected {expected}",
                self.sha256.len(),
                self.size
            ));
        }
        Ok(())
    }
}

/// The PyPI runtime wheel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WheelArtifact {
    pub distribution: String,
    pub version: String,
    pub file: String,
    pub sha256: Sha256,
    pub size: u64,
    pub unpacked_size: u64,
    pub entries: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks: Option<BlockPins>,
    /// The runtime files this wheel does not carry; `None` in pins older than the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub omits: Option<Omits>,
}

/// The GitHub release asset; its digest is unknown until it can be fetched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubArtifact {
    pub tag: String,
    pub asset: String,
    pub sha256: Option<Sha256>,
    pub size: Option<u64>,
}

/// Which kind of artifact, which decides its archive format and runtime root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArtifactKind {
    Npm,
    Wheel,
    Github,
}

impl ArtifactKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactKind::Npm => "npm",
            ArtifactKind::Wheel => "wheel",
            ArtifactKind::Github => "github",
        }
    }

    /// The archive format the artifact is published in.
    pub fn format(self) -> ArchiveFormat {
        match self {
            ArtifactKind::Npm | ArtifactKind::Github => ArchiveFormat::TarGz,
            ArtifactKind::Wheel => ArchiveFormat::Zip,
        }
    }
}

impl fmt::Display for ArtifactKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    TarGz,
    Zip,
}

/// The common view of an artifact that the install pipeline needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ArtifactPin {
    pub kind: ArtifactKind,
    /// The file name, as it sits in a flat mirror.
    pub file: String,
    pub sha256: Option<Sha256>,
    pub integrity: Option<Integrity>,
    pub size: Option<u64>,
    /// The most bytes extraction may write.
    pub max_unpacked_size: u64,
    /// The most archive members extraction may see.
    pub max_entries: u64,
    /// Each block's digest, when pinned (only with `size`).
    pub blocks: Option<BlockPins>,
}

impl TargetPins {
    /// The artifacts of this target, in the order an install prefers them: the wheels are the
    /// smallest and extract in parallel (manylinux first, then musllinux), then the npm
    /// tarball, then the GitHub asset.
    pub fn artifact_pins(&self) -> Vec<ArtifactPin> {
        let mut pins = Vec::new();
        for w in self.artifacts.wheels() {
            pins.push(ArtifactPin {
                kind: ArtifactKind::Wheel,
                file: w.file.clone(),
                sha256: Some(w.sha256),
                integrity: None,
                size: Some(w.size),
                max_unpacked_size: w.unpacked_size,
                max_entries: w.entries,
                blocks: w.blocks.clone(),
            });
        }
        if let Some(n) = &self.artifacts.npm {
            pins.push(ArtifactPin {
                kind: ArtifactKind::Npm,
                file: n.file.clone(),
                sha256: Some(n.sha256),
                integrity: Some(n.integrity.clone()),
                size: Some(n.size),
                max_unpacked_size: n.unpacked_size,
                max_entries: n.entries,
                blocks: n.blocks.clone(),
            });
        }
        if let Some(g) = &self.artifacts.github {
            // The GitHub package holds the same runtime as the others; without its own pins,
            // the largest of theirs bounds it.
            let others = pins.iter();
            let max_unpacked_size =
                others.clone().map(|p| p.max_unpacked_size).max().unwrap_or(self.entrypoint.size.saturating_mul(4));
            let max_entries = others.map(|p| p.max_entries).max().unwrap_or(1000);
            pins.push(ArtifactPin {
                kind: ArtifactKind::Github,
                file: g.asset.clone(),
                sha256: g.sha256,
                integrity: None,
                size: g.size,
                max_unpacked_size,
                max_entries,
                blocks: None,
            });
        }
        pins
    }

    /// Find the pin for an artifact file name.
    pub fn artifact_by_file(&self, file: &str) -> Option<ArtifactPin> {
        self.artifact_pins().into_iter().find(|p| p.file == file)
    }
}

/// Omissions are well formed and leave the entrypoint in.
fn check_omits(omits: &Option<Omits>, pins: &TargetPins) -> Result<(), String> {
    let Some(omits) = omits else { return Ok(()) };
    omits.check()?;
    if !omits.carries(&pins.entrypoint.path) {
        return Err(format!("leave out the entrypoint {}", pins.entrypoint.path));
    }
    Ok(())
}

/// A manifest that does not parse or does not validate, naming the file and the field.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read manifest {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid manifest {origin}: field `{field}`: {message}")]
    Invalid { origin: String, field: String, message: String },
}

impl Manifest {
    /// Read and validate a manifest file.
    pub fn from_file(path: &Path) -> Result<Manifest, ManifestError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ManifestError::Read { path: path.to_owned(), source })?;
        Manifest::parse(&text, &path.display().to_string())
    }

    /// Parse and validate; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Manifest, ManifestError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let manifest: Manifest = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            ManifestError::Invalid { origin: origin.to_owned(), field, message: e.into_inner().to_string() }
        })?;
        manifest.validate().map_err(|(field, message)| ManifestError::Invalid {
            origin: origin.to_owned(),
            field,
            message,
        })?;
        Ok(manifest)
    }

    /// The pins of one target, or why there are none.
    pub fn target(&self, target: Target) -> Option<&TargetPins> {
        self.targets.get(&target)
    }

    /// Serialize in the repository's deterministic format.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a manifest always serializes");
        s.push('\n');
        s
    }

    /// Checks that the types alone cannot express. Returns the offending field's path.
    fn validate(&self) -> Result<(), (String, String)> {
        if self.schema_version != 1 {
            return Err((
                "schema_version".into(),
                format!("{} is not supported; this build reads schema 1", self.schema_version),
            ));
        }
        if self.targets.is_empty() {
            return Err(("targets".into(), "no target is pinned".into()));
        }
        let v = &self.version;
        for (target, pins) in &self.targets {
            let at = |f: &str| format!("targets.{target}.{f}");
            if pins.entrypoint.path != target.entrypoint() {
                return Err((
                    at("entrypoint.path"),
                    format!("`{}` should be `{}`", pins.entrypoint.path, target.entrypoint()),
                ));
            }
            if let Some(n) = &pins.artifacts.npm {
                let version = format!("{v}-{}", target.npm_suffix());
                let file = format!("openai-codex-{version}.tgz");
                check_eq(at("artifacts.npm.package"), &n.package, "@openai/codex")?;
                check_eq(at("artifacts.npm.version"), &n.version, &version)?;
                check_eq(at("artifacts.npm.file"), &n.file, &file)?;
                if let Some(blocks) = &n.blocks {
                    blocks.check(n.size).map_err(|m| (at("artifacts.npm.blocks"), m))?;
                }
                check_omits(&n.omits, pins).map_err(|m| (at("artifacts.npm.omits"), m))?;
                if let Some(other) =
                    n.package_json.iter().flat_map(|f| f.keys()).find(|k| !NPM_DOCUMENT_FIELDS.contains(&k.as_str()))
                {
                    return Err((
                        at("artifacts.npm.package_json"),
                        format!(
                            "`{other}` is not a field a package document repeats ({})",
                            NPM_DOCUMENT_FIELDS.join(", ")
                        ),
                    ));
                }
            }
            let wheels = [
                ("wheel", &pins.artifacts.wheel, Some(target.wheel_tag())),
                ("musllinux_wheel", &pins.artifacts.musllinux_wheel, target.musllinux_tag()),
            ];
            for (field, wheel, tag) in wheels {
                let Some(w) = wheel else { continue };
                let Some(tag) = tag else {
                    return Err((at(&format!("artifacts.{field}")), format!("{target} has no musllinux wheel")));
                };
                let file = format!("openai_codex_cli_bin-{}-py3-none-{tag}.whl", v.pep440());
                check_eq(at(&format!("artifacts.{field}.distribution")), &w.distribution, "openai-codex-cli-bin")?;
                check_eq(at(&format!("artifacts.{field}.version")), &w.version, &v.pep440())?;
                check_eq(at(&format!("artifacts.{field}.file")), &w.file, &file)?;
                if let Some(blocks) = &w.blocks {
                    blocks.check(w.size).map_err(|m| (at(&format!("artifacts.{field}.blocks")), m))?;
                }
                check_omits(&w.omits, pins).map_err(|m| (at(&format!("artifacts.{field}.omits")), m))?;
            }
            if let Some(g) = &pins.artifacts.github {
                check_eq(at("artifacts.github.tag"), &g.tag, &v.github_tag())?;
                check_eq(at("artifacts.github.asset"), &g.asset, &format!("codex-package-{target}.tar.gz"))?;
            }
            if !pins.files.windows(2).all(|w| w[0].path < w[1].path) {
                return Err((at("files"), "must be sorted by path, each path once".into()));
            }
            if !pins.files.is_empty() && pins.file(&pins.entrypoint.path) != Some(&pins.entrypoint) {
                return Err((at("files"), format!("must list the entrypoint {} as pinned", pins.entrypoint.path)));
            }
            if pins.artifact_pins().is_empty() {
                return Err((at("artifacts"), "no artifact is pinned".into()));
            }
        }
        Ok(())
    }
}

fn check_eq(field: String, actual: &str, expected: &str) -> Result<(), (String, String)> {
    if actual == expected { Ok(()) } else { Err((field, format!("`{actual}` should be `{expected}`"))) }
}

/// One runtime the manifests pin: a version for a target.
#[derive(Debug, Clone)]
pub struct Pinned<'a> {
    pub manifest: &'a Manifest,
    pub target: Target,
    pub pins: &'a TargetPins,
    /// Whether the pins' file digests are known to be those of the pinned artifacts' members:
    /// true for the embedded history, whose file pins `channel update` took from the archives
    /// (and `channel sync --refresh` checked again), false for a manifest given with
    /// `--manifest`. Only then may an install take a file's digest from its pin instead of
    /// hashing it (see `install::transfer::file_digests_of`).
    pub proven: bool,
}

/// A distribution name in its normalized form (PEP 503): lowercase, runs of `-`, `_`, `.`
/// replaced by one `-`.
pub fn normalize(name: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heads_pin_every_target() {
        for channel in Channel::ALL {
            let m = Manifest::embedded(channel);
            assert_eq!(m.channel, channel);
            for t in Target::ALL {
                let pins = m.target(t).unwrap_or_else(|| panic!("{channel} lacks {t}"));
                assert!(pins.artifacts.npm.is_some(), "{channel} {t} has no npm artifact");
            }
        }
    }

    /// A pinned version with every kind of artifact (the newest releases have no wheels).
    fn with_wheels() -> Manifest {
        let text = crate::model::history::embedded_texts().iter().find(|(v, _)| *v == "0.163.0").unwrap().1;
        Manifest::parse(text, "0.163.0").unwrap()
    }

    fn stable_value() -> serde_json::Value {
        serde_json::to_value(with_wheels()).unwrap()
    }

    #[test]
    fn broken_manifests_name_the_field() {
        type Edit = fn(&mut serde_json::Value);
        let cases: Vec<(&str, Edit, &str)> = vec![
            ("schema", |v| v["schema_version"] = 2.into(), "schema_version"),
            ("channel", |v| v["channel"] = "nightly".into(), "channel"),
            ("version", |v| v["version"] = "latest".into(), "version"),
            (
                "unknown target",
                |v| {
                    let t = v["targets"]["x86_64-unknown-linux-musl"].clone();
                    v["targets"]["x86_64-unknown-linux-gnu"] = t;
                },
                "targets.x86_64-unknown-linux-gnu",
            ),
            (
                "entrypoint digest",
                |v| v["targets"]["x86_64-unknown-linux-musl"]["entrypoint"]["sha256"] = "abc".into(),
                "targets.x86_64-unknown-linux-musl.entrypoint.sha256",
            ),
            (
                "entrypoint path",
                |v| v["targets"]["x86_64-unknown-linux-musl"]["entrypoint"]["path"] = "bin/codex.exe".into(),
                "targets.x86_64-unknown-linux-musl.entrypoint.path",
            ),
            (
                "integrity",
                |v| v["targets"]["x86_64-unknown-linux-musl"]["artifacts"]["npm"]["integrity"] = "sha1-xyz".into(),
                "targets.x86_64-unknown-linux-musl.artifacts.npm.integrity",
            ),
            (
                "npm version",
                |v| {
                    v["targets"]["x86_64-unknown-linux-musl"]["artifacts"]["npm"]["version"] =
                        "0.163.0-linux-arm64".into()
                },
                "targets.x86_64-unknown-linux-musl.artifacts.npm.version",
            ),
            (
                "wheel file",
                |v| v["targets"]["x86_64-unknown-linux-musl"]["artifacts"]["wheel"]["file"] = "x.whl".into(),
                "targets.x86_64-unknown-linux-musl.artifacts.wheel.file",
            ),
            (
                "omits outside the root",
                |v| {
                    v["targets"]["x86_64-unknown-linux-musl"]["artifacts"]["wheel"]["omits"] =
                        serde_json::json!(["../x"])
                },
                "targets.x86_64-unknown-linux-musl.artifacts.wheel.omits",
            ),
            (
                "omits the entrypoint",
                |v| {
                    v["targets"]["x86_64-unknown-linux-musl"]["artifacts"]["npm"]["omits"] = serde_json::json!(["bin/"])
                },
                "targets.x86_64-unknown-linux-musl.artifacts.npm.omits",
            ),
            (
                "package_json beyond the document's fields",
                |v| {
                    v["targets"]["x86_64-unknown-linux-musl"]["artifacts"]["npm"]["package_json"] =
                        serde_json::json!({"dist": {"tarball": "http://127.0.0.1:1/x.tgz"}})
                },
                "targets.x86_64-unknown-linux-musl.artifacts.npm.package_json",
            ),
            (
                "omits unsorted",
                |v| {
                    v["targets"]["x86_64-unknown-linux-musl"]["artifacts"]["wheel"]["omits"] =
                        serde_json::json!(["z", "a"])
                },
                "targets.x86_64-unknown-linux-musl.artifacts.wheel.omits",
            ),
            (
                "github tag",
                |v| v["targets"]["x86_64-unknown-linux-musl"]["artifacts"]["github"]["tag"] = "v0.163.0".into(),
                "targets.x86_64-unknown-linux-musl.artifacts.github.tag",
            ),
            (
                "missing size",
                |v| {
                    v["targets"]["x86_64-unknown-linux-musl"]["entrypoint"].as_object_mut().unwrap().remove("size");
                },
                "targets.x86_64-unknown-linux-musl.entrypoint",
            ),
            (
                "block count",
                |v| {
                    v["targets"]["x86_64-unknown-linux-musl"]["artifacts"]["npm"]["blocks"] =
                        serde_json::json!({"size": 8388608, "sha256": ["00".repeat(32)]})
                },
                "targets.x86_64-unknown-linux-musl.artifacts.npm.blocks",
            ),
            (
                "block size",
                |v| {
                    v["targets"]["x86_64-unknown-linux-musl"]["artifacts"]["wheel"]["blocks"] =
                        serde_json::json!({"size": 1000, "sha256": []})
                },
                "targets.x86_64-unknown-linux-musl.artifacts.wheel.blocks",
            ),
            (
                "extra field",
                |v| v["targets"]["x86_64-unknown-linux-musl"]["extra"] = 1.into(),
                "targets.x86_64-unknown-linux-musl.extra",
            ),
        ];
        for (name, edit, field) in cases {
            let mut v = stable_value();
            edit(&mut v);
            let err = Manifest::parse(&v.to_string(), "broken.json").unwrap_err();
            let ManifestError::Invalid { origin, field: got, .. } = &err else { panic!("{name}: {err}") };
            assert_eq!(origin, "broken.json", "{name}");
            assert_eq!(got, field, "{name}: {err}");
            assert!(err.to_string().contains("broken.json"), "{name}: {err}");
        }
    }

    #[test]
    fn not_json_names_the_file() {
        let err = Manifest::parse("{", "x.json").unwrap_err().to_string();
        assert!(err.starts_with("invalid manifest x.json"), "{err}");
    }

    #[test]
    fn artifact_pins_bound_the_github_asset_by_the_others() {
        let m = with_wheels();
        let pins = m.target(Target::X86_64Linux).unwrap().artifact_pins();
        let kinds: Vec<_> = pins.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, [ArtifactKind::Wheel, ArtifactKind::Wheel, ArtifactKind::Npm, ArtifactKind::Github]);
        assert!(pins[1].file.contains("musllinux_1_1_x86_64"), "{}", pins[1].file);
        let github = &pins[3];
        assert_eq!(github.max_unpacked_size, pins.iter().map(|p| p.max_unpacked_size).max().unwrap());
        assert!(github.sha256.is_none());
    }

    /// Regression: a GitHub-only target with a `u64::MAX` entrypoint size overflowed
    /// `size * 4` and panicked.
    #[test]
    fn a_huge_entrypoint_size_bounds_a_lone_github_asset_without_overflow() {
        let mut pins = with_wheels().target(Target::X86_64Linux).unwrap().clone();
        pins.artifacts.npm = None;
        pins.artifacts.wheel = None;
        pins.artifacts.musllinux_wheel = None;
        pins.entrypoint.size = u64::MAX;
        let github = pins.artifact_pins().pop().unwrap();
        assert_eq!((github.kind, github.max_unpacked_size), (ArtifactKind::Github, u64::MAX));
    }

    #[test]
    fn omits_name_the_highest_directory_left_out_whole() {
        let all = [
            "__init__.py",
            "bin/codex",
            "codex-resources/bwrap",
            "codex-resources/voice/a",
            "codex-resources/voice/lib/b",
        ];
        let carried: std::collections::HashSet<&str> = ["bin/codex", "codex-resources/bwrap"].into();
        let omits = Omits::between(all, &carried);
        assert_eq!(omits.0, ["__init__.py", "codex-resources/voice/"]);
        assert!(omits.carries("bin/codex") && omits.carries("codex-resources/bwrap"));
        assert!(!omits.carries("codex-resources/voice/lib/b") && !omits.carries("__init__.py"));
        // A file named like an omitted file's prefix is still carried.
        assert!(omits.carries("__init__.pyc") && omits.carries("codex-resources/voice2"));
        let everything: std::collections::HashSet<&str> = all.into();
        assert_eq!(Omits::between(all, &everything), Omits::default());
    }
}
