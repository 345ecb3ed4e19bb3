//! Pin checks for CI: do the channel manifests, the SDK's pin files and the published artifacts
//! still agree?
//!
//! Every check ends in a [`Check`] with a [`Verdict`]; nothing stops at the first failure, so
//! one run lists every pin that does not hold. Offline: [`check_manifest`] (parses, validates,
//! all six targets, distinct entrypoints, the channel's kind of version), [`check_pyproject`]
//! and [`check_package_json`] (the SDK pins name exactly the channel's version). Online:
//! [`check_online`] re-fetches the npm registry's and the PyPI index's metadata and, with
//! `rehash`, the artifacts themselves (and, where they are pinned, checks each block).
//!
//! ```
//! use codex_runtime::release::verify_pins::{self, Report};
//!
//! let mut report = Report::default();
//! let stable = codex_runtime::Manifest::embedded(codex_runtime::Channel::Stable);
//! verify_pins::check_manifest(&stable.to_json(), "channels/versions/V.json", &mut report);
//! let pin = format!("[project]\ndependencies = [\"openai-codex-cli-bin=={}\"]\n", stable.version.pep440());
//! verify_pins::check_pyproject(&pin, "pyproject.toml", &stable, &mut report);
//! assert!(report.ok(), "{:?}", report.checks);
//! ```

use std::cell::OnceCell;
use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read};

use serde::Serialize;
use serde::ser::SerializeStruct;

use crate::fetch::blocks::{BadBlock, Blocks};
use crate::fetch::download::{DownloadError, NetworkOptions, TryError};
use crate::model::digest::{Hasher, Integrity, Sha256};
use crate::model::manifest::{BlockPins, Channel, Manifest, ManifestError, NpmArtifact, WheelArtifact};
use crate::model::target::Target;
use crate::model::version::RuntimeVersion;
use crate::net::{Http, HttpError, RedactedUrl, join, redact};
use crate::sources::pypi::{self, IndexError, IndexFile};

/// The PyPI distribution of the runtime wheels, as SDKs pin it.
pub const PYPI_DISTRIBUTION: &str = "openai-codex-cli-bin";
/// The npm package of the runtime and its platform packages.
pub const NPM_PACKAGE: &str = "@openai/codex";

/// The largest metadata document read (a whole npm packument can be tens of MiB).
const METADATA_LIMIT: u64 = 256 * 1024 * 1024;

/// What a check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The pin holds.
    Ok,
    /// A pin does not hold: a manifest defect, a pin file naming another version, a registry
    /// whose metadata differs from the pins or lacks the artifact.
    Drift,
    /// Downloaded bytes do not hash to the pins.
    Digest,
    /// The runtime launched but is not what was pinned.
    Incompatible,
    /// Something the check needs could not be reached, so the pin is unproven.
    Unavailable,
    /// A warning that does not fail the run: a channel head older than the newest release
    /// the registries publish (drift with `--require-latest`).
    Behind,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Drift => "drift",
            Verdict::Digest => "digest",
            Verdict::Incompatible => "incompatible",
            Verdict::Unavailable => "unavailable",
            Verdict::Behind => "behind",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One check and its verdict, with the file and line to fix when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// What kind of check: `manifest`, `targets`, `pyproject`, `npm metadata`, ...
    pub name: &'static str,
    /// What was checked: a channel, a target, a target and source.
    pub subject: String,
    pub verdict: Verdict,
    pub message: String,
    pub file: Option<String>,
    /// 1-based.
    pub line: Option<usize>,
}

impl Check {
    pub fn new(name: &'static str, subject: impl Into<String>, verdict: Verdict, message: impl Into<String>) -> Check {
        Check { name, subject: subject.into(), verdict, message: message.into(), file: None, line: None }
    }

    /// Attach the file (and line, when known) the check is about.
    pub fn at(mut self, file: &str, line: Option<usize>) -> Check {
        self.file = Some(file.to_owned());
        self.line = line;
        self
    }

    /// Whether the check passed (a warning passes).
    pub fn ok(&self) -> bool {
        matches!(self.verdict, Verdict::Ok | Verdict::Behind)
    }
}

/// `{"name","subject","ok","verdict","message","file"?,"line"?}`
impl Serialize for Check {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Check", 7)?;
        s.serialize_field("name", self.name)?;
        s.serialize_field("subject", &self.subject)?;
        s.serialize_field("ok", &self.ok())?;
        s.serialize_field("verdict", &self.verdict)?;
        s.serialize_field("message", &self.message)?;
        match &self.file {
            Some(file) => s.serialize_field("file", file)?,
            None => s.skip_field("file")?,
        }
        match self.line {
            Some(line) => s.serialize_field("line", &line)?,
            None => s.skip_field("line")?,
        }
        s.end()
    }
}

/// Every check of one run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    pub fn push(&mut self, check: Check) {
        self.checks.push(check);
    }

    pub fn ok(&self) -> bool {
        self.checks.iter().all(Check::ok)
    }

    pub fn failed(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.ok())
    }

    /// The failure that decides the outcome: bytes failing their pins outrank drift, which
    /// outranks an incompatible runtime, which outranks an unreachable registry.
    pub fn worst(&self) -> Option<Verdict> {
        [Verdict::Digest, Verdict::Drift, Verdict::Incompatible, Verdict::Unavailable]
            .into_iter()
            .find(|v| self.checks.iter().any(|c| c.verdict == *v))
    }
}

// ---------------------------------------------------------------------------------------------
// Manifests

/// Check one manifest's text; `file` names it in the checks. Returns the manifest when it
/// parses and validates, for the pin-file and online checks.
pub fn check_manifest(text: &str, file: &str, report: &mut Report) -> Option<Manifest> {
    check_manifest_in(text, file, true, report)
}

/// [`check_manifest`] for a version of the pinned history that is not a channel head: it may
/// lack the targets upstream did not publish for it.
pub fn check_history_manifest(text: &str, file: &str, report: &mut Report) -> Option<Manifest> {
    check_manifest_in(text, file, false, report)
}

fn check_manifest_in(text: &str, file: &str, all_targets: bool, report: &mut Report) -> Option<Manifest> {
    let valid = match Manifest::parse(text, file) {
        Ok(m) => {
            let message = format!("channel {} pins {} for {} targets", m.channel, m.version, m.targets.len());
            report.push(Check::new("manifest", m.channel.as_str(), Verdict::Ok, message).at(file, None));
            Some(m)
        }
        Err(ManifestError::Invalid { field, message, .. }) => {
            let (name, subject) = classify_field(&field, file);
            let line = syntax_line(&message).or_else(|| json_line(text, &field.split('.').collect::<Vec<_>>()));
            let message = format!("field `{field}`: {message}");
            report.push(Check::new(name, subject, Verdict::Drift, message).at(file, line));
            None
        }
        Err(e @ ManifestError::Read { .. }) => {
            report.push(Check::new("manifest", file, Verdict::Drift, e.to_string()).at(file, None));
            None
        }
    };
    // The checks below need only the types, so they run even when validation failed.
    let typed: Manifest = valid.clone().or_else(|| serde_json::from_str(text).ok())?;
    check_targets(&typed, text, file, all_targets, report);
    check_distinct_entrypoints(&typed, text, file, report);
    check_channel_version(&typed, text, file, report);
    valid
}

/// The check a failing field belongs to, and its subject (the target, else the file).
fn classify_field(field: &str, file: &str) -> (&'static str, String) {
    let last = field.rsplit('.').next().unwrap_or_default();
    let name = match last {
        "sha256" | "integrity" => "digests",
        "version" | "file" | "tag" | "asset" | "package" | "distribution" if field.contains(".artifacts.") => {
            "coordinates"
        }
        _ => "manifest",
    };
    let subject = match field.strip_prefix("targets.") {
        Some(rest) => rest.split('.').next().unwrap_or(rest).to_owned(),
        None => file.to_owned(),
    };
    (name, subject)
}

fn check_targets(m: &Manifest, text: &str, file: &str, all_targets: bool, report: &mut Report) {
    let missing: Vec<Target> = Target::ALL.into_iter().filter(|t| !m.targets.contains_key(t)).collect();
    if missing.is_empty() {
        let message = format!("all {} targets are pinned", Target::ALL.len());
        report.push(Check::new("targets", m.channel.as_str(), Verdict::Ok, message).at(file, None));
        return;
    }
    if !all_targets && !m.targets.is_empty() {
        let missing: Vec<&str> = missing.iter().map(|t| t.triple()).collect();
        let message = format!(
            "{} of {} targets are pinned; upstream published {} no runtime for {}",
            m.targets.len(),
            Target::ALL.len(),
            m.version,
            missing.join(", ")
        );
        report.push(Check::new("targets", m.version.to_string(), Verdict::Ok, message).at(file, None));
        return;
    }
    for target in missing {
        let message = format!("{target} is not pinned; upstream ships all six targets and every one needs its pins");
        report.push(
            Check::new("targets", target.triple(), Verdict::Drift, message).at(file, json_line(text, &["targets"])),
        );
    }
}

fn check_distinct_entrypoints(m: &Manifest, text: &str, file: &str, report: &mut Report) {
    let mut seen: HashMap<Sha256, Target> = HashMap::new();
    let mut clean = true;
    for (&target, pins) in &m.targets {
        match seen.get(&pins.entrypoint.sha256) {
            Some(&first) => {
                clean = false;
                let message = format!(
                    "{first} and {target} pin the same entrypoint sha256 {}; each target has its own build",
                    pins.entrypoint.sha256
                );
                let line = json_line(text, &["targets", target.triple(), "entrypoint", "sha256"]);
                report.push(Check::new("entrypoints", target.triple(), Verdict::Drift, message).at(file, line));
            }
            None => {
                seen.insert(pins.entrypoint.sha256, target);
            }
        }
    }
    if clean {
        let message = format!("{} distinct entrypoint digests", seen.len());
        report.push(Check::new("entrypoints", m.channel.as_str(), Verdict::Ok, message).at(file, None));
    }
}

fn check_channel_version(m: &Manifest, text: &str, file: &str, report: &mut Report) {
    let (holds, message) = match m.channel {
        Channel::Alpha if m.version.is_prerelease() => (true, format!("{} is a pre-release", m.version)),
        Channel::Alpha => (false, format!("the alpha channel pins {}, which is not a pre-release", m.version)),
        Channel::Stable if !m.version.is_prerelease() => (true, format!("{} is a release", m.version)),
        Channel::Stable => (false, format!("the stable channel pins the pre-release {}", m.version)),
    };
    let verdict = if holds { Verdict::Ok } else { Verdict::Drift };
    let line = if holds { None } else { json_line(text, &["version"]) };
    report.push(Check::new("channel", m.channel.as_str(), verdict, message).at(file, line));
}

/// The line serde_json reports in a parse error message (`... at line 3 column 5`).
fn syntax_line(message: &str) -> Option<usize> {
    let rest = &message[message.rfind(" at line ")? + " at line ".len()..];
    rest.split_whitespace().next()?.parse().ok()
}

/// The line of a key path in a JSON text: each key is searched after the previous one, which
/// finds nested keys in a document without repeated siblings. The line of the deepest key
/// found, 1-based.
fn json_line(text: &str, path: &[&str]) -> Option<usize> {
    let mut from = 0;
    let mut found = None;
    for key in path.iter().filter(|k| !k.is_empty()) {
        let needle = format!("\"{key}\"");
        let Some(at) = text[from..]
            .match_indices(&needle)
            .map(|(i, _)| from + i)
            .find(|&i| text[i + needle.len()..].trim_start().starts_with(':'))
        else {
            break;
        };
        found = Some(at);
        from = at + needle.len();
    }
    found.map(|at| line_of(text, at))
}

fn line_of(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].matches('\n').count() + 1
}

// ---------------------------------------------------------------------------------------------
// Pin files

/// `pyproject.toml`: `[project] dependencies` holds exactly one `openai-codex-cli-bin==X`, and
/// `X` is the channel's version in PEP 440.
pub fn check_pyproject(text: &str, file: &str, manifest: &Manifest, report: &mut Report) {
    #[derive(serde::Deserialize)]
    struct Pyproject {
        project: Option<Project>,
    }
    #[derive(serde::Deserialize)]
    struct Project {
        dependencies: Option<Vec<toml::Spanned<String>>>,
    }
    let check =
        |verdict, message: String, line| Check::new("pyproject", PYPI_DISTRIBUTION, verdict, message).at(file, line);
    let parsed: Pyproject = match toml::from_str(text) {
        Ok(p) => p,
        Err(e) => {
            let line = e.span().map(|s| line_of(text, s.start));
            let message = format!("not valid TOML: {}", e.message());
            return report.push(check(Verdict::Drift, message, line));
        }
    };
    let Some(dependencies) = parsed.project.and_then(|p| p.dependencies) else {
        let message =
            format!("no `[project] dependencies`; it must pin `{PYPI_DISTRIBUTION}=={}`", manifest.version.pep440());
        return report.push(check(Verdict::Drift, message, None));
    };
    let ours: Vec<(Requirement, usize)> = dependencies
        .iter()
        .filter_map(|d| Requirement::parse(d.get_ref()).map(|r| (r, line_of(text, d.span().start))))
        .filter(|(r, _)| crate::sources::pypi::normalize(&r.name) == PYPI_DISTRIBUTION)
        .collect();
    let expected = manifest.version.pep440();
    let (requirement, line) = match ours.as_slice() {
        [] => {
            let message = format!(
                "`[project] dependencies` has no `{PYPI_DISTRIBUTION}` requirement; it must pin `{PYPI_DISTRIBUTION}=={expected}`"
            );
            return report.push(check(Verdict::Drift, message, json_line_toml(text)));
        }
        [one] => one,
        [_, (_, second), ..] => {
            let lines: Vec<String> = ours.iter().map(|(_, l)| l.to_string()).collect();
            let message = format!(
                "{} requirements on `{PYPI_DISTRIBUTION}` (lines {}); pin it exactly once",
                ours.len(),
                lines.join(", ")
            );
            return report.push(check(Verdict::Drift, message, Some(*second)));
        }
    };
    let Some(pinned) = requirement.exact_version() else {
        let message = format!(
            "`{}` is not an exact pin; the {} channel needs `{PYPI_DISTRIBUTION}=={expected}`",
            requirement.text, manifest.channel
        );
        return report.push(check(Verdict::Drift, message, Some(*line)));
    };
    // As an installer compares versions: `0.163` is `0.163.0`, `0.162.0.alpha15` is `0.162.0a15`.
    let version: Option<RuntimeVersion> =
        codex_app_server_client::version::parse(pinned).ok().and_then(|p| p.version.try_into().ok());
    let (verdict, message) = match version {
        Some(v) if v == manifest.version => {
            (Verdict::Ok, format!("pins =={pinned}, the {} channel's version", manifest.channel))
        }
        Some(_) | None => (
            Verdict::Drift,
            format!(
                "pins `{PYPI_DISTRIBUTION}=={pinned}` but the {} channel pins {expected} (semver {})",
                manifest.channel, manifest.version
            ),
        ),
    };
    report.push(check(verdict, message, Some(*line)));
}

/// The line of the `dependencies` key in a pyproject, for a requirement that is missing.
fn json_line_toml(text: &str) -> Option<usize> {
    let at = text.lines().position(|l| l.trim_start().starts_with("dependencies"))?;
    Some(at + 1)
}

/// A PEP 508 requirement, as far as a pin check needs it: the name and the version specifier.
#[derive(Debug, Clone, PartialEq)]
struct Requirement {
    text: String,
    name: String,
    specifier: String,
}

impl Requirement {
    fn parse(text: &str) -> Option<Requirement> {
        let text = text.trim();
        let end =
            text.find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))).unwrap_or(text.len());
        if end == 0 {
            return None;
        }
        let name = text[..end].to_owned();
        let mut rest = text[end..].trim_start();
        if rest.starts_with('[') {
            rest = rest[rest.find(']')? + 1..].trim_start();
        }
        let specifier = rest.split(';').next().unwrap_or_default().trim();
        let specifier = specifier.strip_prefix('(').and_then(|s| s.strip_suffix(')')).unwrap_or(specifier);
        Some(Requirement { text: text.to_owned(), name, specifier: specifier.trim().to_owned() })
    }

    /// `X` of a specifier that is exactly `==X` (or `===X`), without wildcards.
    fn exact_version(&self) -> Option<&str> {
        if self.specifier.contains(',') {
            return None;
        }
        let version = self.specifier.strip_prefix("===").or_else(|| self.specifier.strip_prefix("=="))?.trim();
        (!version.is_empty() && !version.contains('*')).then_some(version)
    }
}

/// `package.json`: `optionalDependencies` aliases every platform package,
/// `"@openai/codex-SUFFIX": "npm:@openai/codex@V-SUFFIX"`, at the channel's version.
pub fn check_package_json(text: &str, file: &str, manifest: &Manifest, report: &mut Report) {
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let message = format!("not valid JSON: {e}");
            return report.push(Check::new("package.json", file, Verdict::Drift, message).at(file, Some(e.line())));
        }
    };
    let Some(aliases) = value.get("optionalDependencies").and_then(|v| v.as_object()) else {
        let message = format!(
            "no `optionalDependencies` object; it must alias the six platform packages at {}",
            manifest.version
        );
        return report.push(Check::new("package.json", file, Verdict::Drift, message).at(file, None));
    };
    let v = &manifest.version;
    for target in Target::ALL {
        let suffix = target.npm_suffix();
        let key = format!("{NPM_PACKAGE}-{suffix}");
        let expected = format!("npm:{NPM_PACKAGE}@{v}-{suffix}");
        let line = json_line(text, &["optionalDependencies", &key]);
        let check = |verdict, message: String, line| {
            Check::new("package.json", format!("{target} ({key})"), verdict, message).at(file, line)
        };
        let Some(alias) = aliases.get(&key) else {
            let message = format!("`{key}` is missing from optionalDependencies; add `\"{key}\": \"{expected}\"`");
            report.push(check(Verdict::Drift, message, json_line(text, &["optionalDependencies"])));
            continue;
        };
        let alias = alias.as_str().unwrap_or_default();
        let pinned = alias.strip_prefix(&format!("npm:{NPM_PACKAGE}@"));
        let (verdict, message) = match pinned.map(|p| (p, p.strip_suffix(&format!("-{suffix}")))) {
            None => {
                (Verdict::Drift, format!("`{key}` is `{alias}`, not an alias of {NPM_PACKAGE}; expected `{expected}`"))
            }
            Some((p, None)) => (
                Verdict::Drift,
                format!("`{key}` points at {NPM_PACKAGE}@{p}, not the {suffix} package; expected `{expected}`"),
            ),
            Some((_, Some(version))) => match version.parse::<RuntimeVersion>() {
                Ok(pin) if &pin == v && version == v.to_string() => (
                    Verdict::Ok,
                    format!("aliases {NPM_PACKAGE}@{v}-{suffix}, the {} channel's version", manifest.channel),
                ),
                _ => (
                    Verdict::Drift,
                    format!(
                        "`{key}` pins {version} but the {} channel pins {v}; expected `{expected}`",
                        manifest.channel
                    ),
                ),
            },
        };
        report.push(check(verdict, message, line));
    }
    for key in aliases.keys().filter(|k| k.starts_with(&format!("{NPM_PACKAGE}-"))) {
        if !Target::ALL.iter().any(|t| *key == format!("{NPM_PACKAGE}-{}", t.npm_suffix())) {
            let message = format!("`{key}` is not one of the six platform packages upstream publishes");
            let line = json_line(text, &["optionalDependencies", key]);
            report.push(Check::new("package.json", key.clone(), Verdict::Drift, message).at(file, line));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Online

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

struct NpmRegistry<'a> {
    http: &'a Http,
    registry: &'a str,
    /// The whole package document, fetched only when a registry has no per-version documents.
    packument: OnceCell<Result<serde_json::Value, Fetch>>,
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
        let dist = &doc["dist"];
        let integrity = dist["integrity"].as_str().unwrap_or_default();
        let published = integrity.split_whitespace().find_map(|i| i.parse::<Integrity>().ok());
        let tarball = dist["tarball"].as_str().unwrap_or_default();
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

    /// `GET {registry}/@openai%2fcodex/VERSION`, else the version in the whole packument.
    fn version_document(&self, pin: &NpmArtifact) -> Result<serde_json::Value, Fetch> {
        let package = pin.package.replace('/', "%2f");
        let url = RedactedUrl::new(join(self.registry, &format!("{package}/{}", pin.version)));
        match fetch_json(self.http, &url) {
            Err(Fetch::Missing(_)) => {}
            other => return other,
        }
        let packument = self.packument.get_or_init(|| {
            let url = RedactedUrl::new(join(self.registry, &package));
            fetch_json(self.http, &url)
        });
        match packument {
            Ok(doc) => doc["versions"].get(&pin.version).cloned().ok_or_else(|| Fetch::Missing(url.to_string())),
            Err(e) => Err(e.clone()),
        }
    }
}

/// Why a document could not be had.
#[derive(Debug, Clone)]
enum Fetch {
    /// The server says it does not exist (404/410): the URL.
    Missing(String),
    /// Unreachable, another status, or not the expected format: the reason.
    Failed(String),
}

fn fetch_text(http: &Http, url: &RedactedUrl) -> Result<String, Fetch> {
    let (_, reader) = http.get(url).map_err(|e| match e {
        HttpError::NotFound => Fetch::Missing(url.to_string()),
        e => Fetch::Failed(format!("GET {url}: {e}")),
    })?;
    let mut text = String::new();
    reader
        .take(METADATA_LIMIT)
        .read_to_string(&mut text)
        .map_err(|e| Fetch::Failed(format!("GET {url}: reading the body: {e}")))?;
    Ok(text)
}

fn fetch_json(http: &Http, url: &RedactedUrl) -> Result<serde_json::Value, Fetch> {
    let text = fetch_text(http, url)?;
    serde_json::from_str(&text).map_err(|e| Fetch::Failed(format!("GET {url}: not JSON: {e}")))
}

fn check_wheel(
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
        Ok(IndexFile { url, sha256: Some(_) }) => {
            (Verdict::Ok, format!("{}: the index's sha256 matches the pin", pin.file), Some(url))
        }
        Ok(IndexFile { url, sha256: None }) => {
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

struct Expected<'a> {
    sha256: Sha256,
    integrity: Option<&'a Integrity>,
    size: u64,
    blocks: Option<&'a BlockPins>,
}

/// Download an artifact, hashing it (and each block, when blocks are pinned) as it streams by,
/// and compare with its pins.
fn rehash_artifact(
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
struct HashingReader<R> {
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

// ---------------------------------------------------------------------------------------------
// Discovery

/// The PyPI simple index: the user's configuration, else the pip client's own default
/// ([`pypi::index_url_or_pip_default`]).
pub fn pypi_index(explicit: Option<&str>) -> Option<String> {
    pypi::index_url_or_pip_default(explicit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_yield_their_name_and_exact_pin() {
        let cases = [
            ("openai-codex-cli-bin==0.163.0", "openai-codex-cli-bin", Some("0.163.0")),
            ("OpenAI_Codex.cli-bin === 0.163.0 ; python_version >= '3.10'", "OpenAI_Codex.cli-bin", Some("0.163.0")),
            ("openai-codex-cli-bin[extra] (==0.163.0)", "openai-codex-cli-bin", Some("0.163.0")),
            ("openai-codex-cli-bin>=0.163.0", "openai-codex-cli-bin", None),
            ("openai-codex-cli-bin==0.163.*", "openai-codex-cli-bin", None),
            ("openai-codex-cli-bin==0.163.0,!=0.163.1", "openai-codex-cli-bin", None),
            ("openai-codex-cli-bin", "openai-codex-cli-bin", None),
        ];
        for (text, name, pin) in cases {
            let r = Requirement::parse(text).unwrap();
            assert_eq!(r.name, name, "{text}");
            assert_eq!(r.exact_version(), pin, "{text}");
        }
        assert_eq!(Requirement::parse("  ==1"), None);
        assert_eq!(crate::sources::pypi::normalize("OpenAI_Codex.._CLI-bin"), PYPI_DISTRIBUTION);
    }

    #[test]
    fn json_lines_follow_the_key_path() {
        let text = "{\n  \"a\": {\n    \"version\": 1\n  },\n  \"b\": {\n    \"x\": \"version\",\n    \"version\": 2\n  }\n}\n";
        assert_eq!(json_line(text, &["b", "version"]), Some(7), "a value equal to a key is not a key");
        assert_eq!(json_line(text, &["a", "version"]), Some(3));
        assert_eq!(json_line(text, &["b", "missing"]), Some(5), "the deepest key found");
        assert_eq!(json_line(text, &["nothing"]), None);
        assert_eq!(syntax_line("expected value at line 3 column 14"), Some(3));
        assert_eq!(syntax_line("`v` should be `w`"), None);
    }

    #[test]
    fn failing_fields_map_to_their_check_and_target() {
        let cases = [
            ("targets.x86_64-apple-darwin.artifacts.npm.version", "coordinates", "x86_64-apple-darwin"),
            ("targets.x86_64-apple-darwin.artifacts.wheel.file", "coordinates", "x86_64-apple-darwin"),
            ("targets.x86_64-apple-darwin.artifacts.npm.integrity", "digests", "x86_64-apple-darwin"),
            ("targets.x86_64-apple-darwin.entrypoint.sha256", "digests", "x86_64-apple-darwin"),
            ("targets.x86_64-apple-darwin.entrypoint.path", "manifest", "x86_64-apple-darwin"),
            ("version", "manifest", "m.json"),
            ("schema_version", "manifest", "m.json"),
        ];
        for (field, name, subject) in cases {
            assert_eq!(classify_field(field, "m.json"), (name, subject.to_owned()), "{field}");
        }
    }

    #[test]
    fn checks_serialize_as_the_contract_says() {
        let check = Check::new("pyproject", "openai-codex-cli-bin", Verdict::Drift, "m").at("p.toml", Some(4));
        let value = serde_json::to_value(&check).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"name": "pyproject", "subject": "openai-codex-cli-bin", "ok": false,
                "verdict": "drift", "message": "m", "file": "p.toml", "line": 4})
        );
        let bare = serde_json::to_value(Check::new("x", "y", Verdict::Ok, "")).unwrap();
        assert_eq!(
            bare.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["message", "name", "ok", "subject", "verdict"]
        );
    }
}
