//! Pin checks for CI: do the channel manifests, the SDK's pin files and the published artifacts
//! still agree?
//!
//! Every check ends in a [`Check`] with a [`Verdict`]; nothing stops at the first failure, so
//! one run lists every pin that does not hold. Offline: [`check_manifest`] (parses, validates,
//! all six targets, distinct entrypoints, the channel's kind of version), [`check_pyproject`]
//! and [`check_package_json`] (the SDK pins name exactly the channel's version). Online:
//! [`check_online`] re-fetches the npm registry's and the PyPI index's metadata and, with
//! `rehash`, the artifacts themselves (and, where they are pinned, checks each block).
//! [`check_protocol`] compares the protocol of a pin file's version, when it is older than the
//! channel head, with the head's (a warning, or drift when denied).
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

use std::fmt;

use serde::Serialize;
use serde::ser::SerializeStruct;

use crate::sources::pypi::{self};

mod manifests;
mod online;
mod pin_files;
mod protocol;
mod rehash;

pub use manifests::{check_history_manifest, check_manifest};
pub use online::{Online, check_freshness, check_online};
pub use pin_files::{check_package_json, check_pyproject};
pub use protocol::{Counts, NoSchema, ProtocolDrift, check_protocol};
pub use rehash::Rehash;

/// The npm package of the runtime and its platform packages.
pub use crate::sources::npm::PACKAGE as NPM_PACKAGE;
/// The PyPI distribution of the runtime wheels, as SDKs pin it.
pub use crate::sources::pypi::DISTRIBUTION as PYPI_DISTRIBUTION;

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
    /// A warning that does not fail the run: a pin file's version whose clients cannot talk
    /// to the channel head's protocol (drift with `--deny-protocol-drift`).
    Warning,
    /// Something not checked, said so without failing the run: a protocol comparison whose
    /// runtime is not in the cache, offline.
    Note,
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
            Verdict::Warning => "warning",
            Verdict::Note => "note",
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
    /// What a `protocol` check compared.
    pub protocol: Option<ProtocolDrift>,
}

impl Check {
    pub fn new(name: &'static str, subject: impl Into<String>, verdict: Verdict, message: impl Into<String>) -> Check {
        Check {
            name,
            subject: subject.into(),
            verdict,
            message: message.into(),
            file: None,
            line: None,
            protocol: None,
        }
    }

    /// Attach the file (and line, when known) the check is about.
    pub fn at(mut self, file: &str, line: Option<usize>) -> Check {
        self.file = Some(file.to_owned());
        self.line = line;
        self
    }

    /// Whether the check passed (a warning or a note passes).
    pub fn ok(&self) -> bool {
        matches!(self.verdict, Verdict::Ok | Verdict::Behind | Verdict::Warning | Verdict::Note)
    }

    /// Whether the check passed with a warning.
    pub fn warns(&self) -> bool {
        matches!(self.verdict, Verdict::Behind | Verdict::Warning)
    }
}

/// `{"name","subject","ok","verdict","message","file"?,"line"?,"protocol"?}`
impl Serialize for Check {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Check", 8)?;
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
        match &self.protocol {
            Some(protocol) => s.serialize_field("protocol", protocol)?,
            None => s.skip_field("protocol")?,
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
// Discovery

/// The PyPI simple index: the user's configuration, else the pip client's own default
/// ([`pypi::index_url_or_pip_default`]).
pub fn pypi_index(explicit: Option<&str>) -> Option<String> {
    pypi::index_url_or_pip_default(explicit)
}

#[cfg(test)]
mod tests {
    use super::manifests::*;
    use super::pin_files::*;
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
