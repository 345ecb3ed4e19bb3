//! The pinned history: every version `channels/versions/` pins, and the channel heads.
//!
//! Each version is one reviewed manifest file, compiled in as its own string; nothing is
//! parsed until a command asks for that version, so a cached `path` on the stable channel
//! parses `channels/heads.json` and one target's part of one manifest ([`Manifests::pinned`]).
//! `--manifest FILE` replaces the history.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::model::manifest::{Channel, Manifest, Pinned, TargetPins};
use crate::model::requirement::VersionRequest;
use crate::model::target::Target;
use crate::model::version::RuntimeVersion;
use crate::model::version_from::PinnedBy;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/pinned.rs"));
}

/// The channel heads: which pinned version each channel hands out.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heads {
    pub schema_version: u32,
    pub stable: RuntimeVersion,
    pub alpha: RuntimeVersion,
}

impl Heads {
    /// The heads compiled into this build.
    pub fn embedded() -> Heads {
        serde_json::from_str(embedded::HEADS).expect("channels/heads.json is validated by the test suite")
    }

    pub fn get(&self, channel: Channel) -> &RuntimeVersion {
        match channel {
            Channel::Stable => &self.stable,
            Channel::Alpha => &self.alpha,
        }
    }

    /// The heads in the repository's format.
    pub fn to_json(&self) -> String {
        format!(
            "{{\n  \"schema_version\": 1,\n  \"stable\": \"{}\",\n  \"alpha\": \"{}\"\n}}\n",
            self.stable, self.alpha
        )
    }
}

impl Manifest {
    /// The embedded manifest of a channel's head.
    pub fn embedded(channel: Channel) -> Manifest {
        Manifests::embedded().channel(channel).expect("every head is pinned (a test of this module)").clone()
    }
}

impl Manifest {
    /// The pins for a target, or an error listing what is pinned.
    pub fn pinned(&self, target: Target) -> Result<Pinned<'_>, SelectError> {
        let pins = self.target(target).ok_or_else(|| SelectError::TargetNotPinned {
            version: self.version.clone(),
            target,
            pinned: self.targets.keys().map(|t| t.triple()).collect::<Vec<_>>().join(", "),
        })?;
        Ok(Pinned { manifest: self, target, pins, proven: false })
    }
}

/// The text of every embedded manifest, by its semver spelling, sorted by file name.
pub fn embedded_texts() -> &'static [(&'static str, &'static str)] {
    embedded::VERSIONS
}

/// Where `version` is in the embedded history.
fn embedded_index(version: &RuntimeVersion) -> Option<usize> {
    let name = version.to_string();
    embedded::NAMES.split(' ').position(|v| v == name)
}

/// The text of the embedded heads file.
pub fn embedded_heads_text() -> &'static str {
    embedded::HEADS
}

/// The set of manifests a command chooses from: the embedded history (each manifest parsed
/// when first asked for), or the given ones.
#[derive(Debug, Clone)]
pub struct Manifests(Set);

#[derive(Debug, Clone)]
enum Set {
    Embedded {
        heads: OnceLock<Heads>,
        cells: Vec<OnceLock<Manifest>>,
        /// Each version's manifest with one target's pins only, by version and then
        /// [`Target::ALL`] order; None when the manifest does not pin that target.
        parts: Vec<OnceLock<Option<Box<Manifest>>>>,
    },
    Given(Vec<Manifest>),
}

/// Why no pinned version answers a request.
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error(
        "codex {version} is not pinned by {}{}; pin it yourself with `codex-runtime channel update {} --version {version} --out codex-{version}.json` and pass `--manifest codex-{version}.json`, or pick a pinned version",
        pinned.origin(), pinned.range(), Channel::of(version)
    )]
    VersionNotPinned { version: RuntimeVersion, pinned: PinnedRange },
    #[error(
        "no version pinned by {} matches `{request}`{}; `codex-runtime list --available` shows them",
        pinned.origin(), pinned.range()
    )]
    NoMatch { request: String, pinned: PinnedRange },
    #[error("{}:{line}: `{package} {requirement}`: {reason}", file.display())]
    PinFile { file: std::path::PathBuf, line: usize, package: String, requirement: String, reason: Box<SelectError> },
    #[error("channel `{channel}` has no manifest here (the manifest given is for `{available}`)")]
    ChannelMissing { channel: Channel, available: String },
    #[error("codex {version} has no runtime for {target}: it is pinned for {pinned} only")]
    TargetNotPinned { version: RuntimeVersion, target: Target, pinned: String },
}

impl PinnedBy {
    fn error(&self, reason: SelectError) -> SelectError {
        SelectError::PinFile {
            file: self.file.clone(),
            line: self.line,
            package: self.package.clone(),
            requirement: self.requirement.clone(),
            reason: Box::new(reason),
        }
    }
}

/// What a set pins, for messages.
#[derive(Debug, Clone)]
pub struct PinnedRange {
    embedded: bool,
    /// Newest first.
    versions: Vec<RuntimeVersion>,
}

impl PinnedRange {
    fn origin(&self) -> &'static str {
        if self.embedded { "this build" } else { "the manifest given" }
    }

    fn range(&self) -> String {
        format!(" (it pins {})", self.span())
    }

    /// `34 versions: 0.151.0 to 0.171.0, and the pre-release 0.162.0-alpha.15`.
    fn span(&self) -> String {
        let (pre, releases): (Vec<&RuntimeVersion>, Vec<&RuntimeVersion>) =
            self.versions.iter().partition(|v| v.is_prerelease());
        let run = |vs: &[&RuntimeVersion]| match vs {
            [] => String::new(),
            [one] => one.to_string(),
            [newest, .., oldest] => format!("{oldest} to {newest}"),
        };
        let count = match self.versions.len() {
            0 => return "nothing".into(),
            1 => String::new(),
            n => format!("{n} versions: "),
        };
        match (releases.is_empty(), pre.as_slice()) {
            (_, []) => format!("{count}{}", run(&releases)),
            (true, _) => format!("{count}the pre-release{} {}", if pre.len() > 1 { "s" } else { "" }, run(&pre)),
            (false, [one]) => format!("{count}{}, and the pre-release {one}", run(&releases)),
            (false, _) => format!("{count}{}, and the pre-releases {}", run(&releases), run(&pre)),
        }
    }
}

impl Manifests {
    /// The history compiled into this build.
    pub fn embedded() -> Manifests {
        let cells = embedded::VERSIONS.iter().map(|_| OnceLock::new()).collect();
        let parts = (0..embedded::VERSIONS.len() * Target::ALL.len()).map(|_| OnceLock::new()).collect();
        Manifests(Set::Embedded { heads: OnceLock::new(), cells, parts })
    }

    /// These manifests, in this order.
    pub fn from_vec(manifests: Vec<Manifest>) -> Manifests {
        Manifests(Set::Given(manifests))
    }

    /// Only the given manifest.
    pub fn single(manifest: Manifest) -> Manifests {
        Manifests(Set::Given(vec![manifest]))
    }

    /// Whether this is the embedded history (not `--manifest`).
    pub fn is_embedded(&self) -> bool {
        matches!(self.0, Set::Embedded { .. })
    }

    fn embedded_at(cells: &[OnceLock<Manifest>], index: usize) -> &Manifest {
        cells[index].get_or_init(|| {
            serde_json::from_str(embedded::VERSIONS[index].1)
                .expect("the embedded manifests are validated by the test suite")
        })
    }

    /// The embedded manifest at `index` with only `target`'s pins parsed, or None when it does
    /// not pin `target`.
    fn embedded_part(parts: &[OnceLock<Option<Box<Manifest>>>], index: usize, target: Target) -> Option<&Manifest> {
        let slot = Target::ALL.iter().position(|&t| t == target).expect("every target is in Target::ALL");
        parts[index * Target::ALL.len() + slot]
            .get_or_init(|| {
                let expect = "the embedded manifests are validated by the test suite";
                let (header, targets) = embedded::PARTS[index];
                let (_, text) = targets.iter().find(|(triple, _)| *triple == target.triple())?;
                let mut manifest: Manifest = serde_json::from_str(header).expect(expect);
                let pins: TargetPins = serde_json::from_str(text).expect(expect);
                manifest.targets = BTreeMap::from([(target, pins)]);
                Some(Box::new(manifest))
            })
            .as_deref()
    }

    /// The pins of `target` in the manifest of `version`. An embedded manifest is parsed for
    /// that target only, so `pinned.manifest` holds that one target: what a command about one
    /// runtime needs. [`Manifests::version`] has every target.
    pub fn pinned(&self, version: &RuntimeVersion, target: Target) -> Result<Pinned<'_>, SelectError> {
        let part = match &self.0 {
            Set::Embedded { parts, .. } => embedded_index(version).and_then(|i| Self::embedded_part(parts, i, target)),
            Set::Given(_) => None,
        };
        // Not pinned for that target (or not at all): the whole manifest says what is.
        let manifest = match part {
            Some(part) => part,
            None => self.version(version)?,
        };
        Ok(Pinned { proven: self.is_embedded(), ..manifest.pinned(target)? })
    }

    /// The version a request names, parsing no manifest of the embedded history: the channel's
    /// head without one, else the newest pinned version the request accepts (releases only
    /// unless it names a pre-release).
    pub fn resolve_request(
        &self,
        channel: Channel,
        request: Option<&VersionRequest>,
    ) -> Result<RuntimeVersion, SelectError> {
        match request {
            None => match self.head(channel) {
                Some(version) => Ok(version),
                None => self.channel(channel).map(|m| m.version.clone()),
            },
            Some(VersionRequest::Exact { version, .. }) if self.pins(version) => Ok(version.clone()),
            Some(VersionRequest::Exact { version, .. }) => self.version(version).map(|m| m.version.clone()),
            Some(request) => {
                let best = request.best(&self.versions()).cloned();
                best.ok_or_else(|| SelectError::NoMatch { request: request.to_string(), pinned: self.range() })
            }
        }
    }

    /// Whether `version` is pinned. Unlike [`Manifests::versions`] this parses no version name
    /// (reading all of them touches a page of the binary for each).
    fn pins(&self, version: &RuntimeVersion) -> bool {
        match &self.0 {
            Set::Embedded { .. } => embedded_index(version).is_some(),
            Set::Given(manifests) => manifests.iter().any(|m| &m.version == version),
        }
    }

    /// The version a consumer's pin file asks for; errors name the file, the line and the
    /// requirement.
    pub fn resolve_pinned_by(&self, by: &PinnedBy) -> Result<RuntimeVersion, SelectError> {
        self.resolve_request(Channel::Stable, Some(&by.request)).map_err(|reason| by.error(reason))
    }

    /// Every pinned version, newest first, without parsing a manifest.
    pub fn versions(&self) -> Vec<RuntimeVersion> {
        let mut versions: Vec<RuntimeVersion> = match &self.0 {
            Set::Embedded { .. } => embedded::NAMES
                .split(' ')
                .map(|v| v.parse().expect("the embedded file names are validated by the test suite"))
                .collect(),
            Set::Given(manifests) => manifests.iter().map(|m| m.version.clone()).collect(),
        };
        versions.sort_by(|a, b| b.cmp(a));
        versions.dedup();
        versions
    }

    fn range(&self) -> PinnedRange {
        PinnedRange { embedded: self.is_embedded(), versions: self.versions() }
    }

    /// Every manifest, newest first (this parses them all).
    pub fn iter(&self) -> impl Iterator<Item = &Manifest> {
        let mut all: Vec<&Manifest> = match &self.0 {
            Set::Embedded { cells, .. } => (0..cells.len()).map(|i| Self::embedded_at(cells, i)).collect(),
            Set::Given(manifests) => manifests.iter().collect(),
        };
        all.sort_by(|a, b| b.version.cmp(&a.version));
        all.into_iter()
    }

    /// The version a channel hands out: its head in the history, or the newest given
    /// manifest of that channel.
    pub fn head(&self, channel: Channel) -> Option<RuntimeVersion> {
        match &self.0 {
            Set::Embedded { heads, .. } => Some(heads.get_or_init(Heads::embedded).get(channel).clone()),
            Set::Given(manifests) => manifests.iter().filter(|m| m.channel == channel).map(|m| m.version.clone()).max(),
        }
    }

    /// The channels whose head is `version`.
    pub fn heads_at(&self, version: &RuntimeVersion) -> Vec<Channel> {
        Channel::ALL.into_iter().filter(|&c| self.head(c).as_ref() == Some(version)).collect()
    }

    /// The manifest of a channel's head.
    pub fn channel(&self, channel: Channel) -> Result<&Manifest, SelectError> {
        match self.head(channel) {
            Some(version) => self.version(&version),
            None => Err(SelectError::ChannelMissing {
                channel,
                available: self.iter().map(|m| m.channel.as_str()).collect::<Vec<_>>().join(", "),
            }),
        }
    }

    /// The manifest that pins a version (either spelling).
    pub fn version(&self, version: &RuntimeVersion) -> Result<&Manifest, SelectError> {
        let found = match &self.0 {
            Set::Embedded { cells, .. } => embedded_index(version).map(|i| Self::embedded_at(cells, i)),
            Set::Given(manifests) => manifests.iter().find(|m| &m.version == version),
        };
        found.ok_or_else(|| SelectError::VersionNotPinned { version: version.clone(), pinned: self.range() })
    }

    /// The manifest a request names: the channel's head without one, else the newest pinned
    /// version the request accepts (releases only unless it names a pre-release).
    pub fn select_request(&self, channel: Channel, request: Option<&VersionRequest>) -> Result<&Manifest, SelectError> {
        self.resolve_request(channel, request).and_then(|version| self.version(&version))
    }

    /// The manifest of the version a consumer's pin file asks for; errors name the file, the
    /// line and the requirement.
    pub fn select_pinned_by(&self, by: &PinnedBy) -> Result<&Manifest, SelectError> {
        self.resolve_pinned_by(by).and_then(|version| self.version(&version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_target_of_an_embedded_manifest_is_the_same_pins_as_the_whole() {
        let (parts, whole) = (Manifests::embedded(), Manifests::embedded());
        for version in whole.versions() {
            let manifest = whole.version(&version).unwrap();
            for target in Target::ALL {
                match (parts.pinned(&version, target), manifest.pinned(target)) {
                    (Ok(part), Ok(full)) => {
                        assert_eq!(part.pins, full.pins, "{version} {target}");
                        assert_eq!(part.manifest.targets.len(), 1, "{version} {target}");
                        let mut only = full.manifest.clone();
                        only.targets.retain(|t, _| *t == target);
                        assert_eq!(part.manifest, &only, "{version} {target}");
                    }
                    (Err(part), Err(full)) => assert_eq!(part.to_string(), full.to_string()),
                    (part, full) => panic!("{version} {target}: {part:?} against {full:?}"),
                }
            }
        }
    }

    #[test]
    fn the_heads_parse_and_name_pinned_versions_of_their_channel() {
        let heads: Heads = serde_json::from_str(embedded_heads_text()).unwrap();
        assert_eq!(heads.schema_version, 1);
        assert_eq!(heads.to_json(), embedded_heads_text(), "channels/heads.json is not in canonical form");
        let all = Manifests::embedded();
        for channel in Channel::ALL {
            let m = all.channel(channel).unwrap();
            assert_eq!(m.channel, channel);
            assert_eq!(&m.version, heads.get(channel));
        }
    }

    #[test]
    fn every_embedded_manifest_validates_is_canonical_and_is_named_by_its_version() {
        for (name, text) in embedded_texts() {
            let m = Manifest::parse(text, &format!("channels/versions/{name}.json")).unwrap();
            assert_eq!(&m.version.to_string(), name, "channels/versions/{name}.json pins another version");
            assert_eq!(m.channel, Channel::of(&m.version), "{name}: pre-releases are alpha, releases stable");
            assert_eq!(m.to_json(), *text, "channels/versions/{name}.json is not in canonical form");
        }
    }

    #[test]
    fn versions_are_newest_first_and_selection_accepts_both_spellings() {
        let all = Manifests::embedded();
        let versions = all.versions();
        assert!(versions.windows(2).all(|w| w[0] > w[1]), "{versions:?}");
        let a: RuntimeVersion = "0.162.0a15".parse().unwrap();
        assert_eq!(all.version(&a).unwrap().channel, Channel::Alpha);
        let missing: RuntimeVersion = "0.1.0".parse().unwrap();
        let err = all.version(&missing).unwrap_err().to_string();
        assert!(err.contains("not pinned by this build"), "{err}");
        assert!(err.contains("channel update stable --version 0.1.0"), "{err}");
    }

    #[test]
    fn a_given_channel_is_its_newest_manifest() {
        let text = embedded_texts().iter().find(|(v, _)| *v == "0.163.0").unwrap().1;
        let mut old: Manifest = serde_json::from_str(text).unwrap();
        let new = old.clone();
        old.version = "0.150.0".parse().unwrap();
        let given = Manifests::from_vec(vec![old, new]);
        assert_eq!(given.channel(Channel::Stable).unwrap().version.to_string(), "0.163.0");
        assert!(matches!(given.channel(Channel::Alpha), Err(SelectError::ChannelMissing { .. })));
    }
}
