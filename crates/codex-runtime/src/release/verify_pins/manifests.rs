//! The channel manifests: they parse, pin every target, name distinct entrypoints and the
//! channel's kind of version.

use super::{Check, Report, Verdict};
use crate::model::digest::Sha256;
use crate::model::manifest::{Channel, Manifest, ManifestError};
use crate::model::target::Target;
use std::collections::HashMap;

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

pub(super) fn check_manifest_in(text: &str, file: &str, all_targets: bool, report: &mut Report) -> Option<Manifest> {
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
pub(super) fn classify_field(field: &str, file: &str) -> (&'static str, String) {
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

pub(super) fn check_targets(m: &Manifest, text: &str, file: &str, all_targets: bool, report: &mut Report) {
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

pub(super) fn check_distinct_entrypoints(m: &Manifest, text: &str, file: &str, report: &mut Report) {
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

pub(super) fn check_channel_version(m: &Manifest, text: &str, file: &str, report: &mut Report) {
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
pub(super) fn syntax_line(message: &str) -> Option<usize> {
    let rest = &message[message.rfind(" at line ")? + " at line ".len()..];
    rest.split_whitespace().next()?.parse().ok()
}

/// The line of a key path in a JSON text: each key is searched after the previous one, which
/// finds nested keys in a document without repeated siblings. The line of the deepest key
/// found, 1-based.
pub(super) fn json_line(text: &str, path: &[&str]) -> Option<usize> {
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

pub(super) fn line_of(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].matches('\n').count() + 1
}
