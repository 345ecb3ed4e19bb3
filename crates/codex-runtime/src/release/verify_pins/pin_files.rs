//! The SDK's pin files: `pyproject.toml` and `package.json` name exactly the channel's version.

use crate::model::manifest::Manifest;
use crate::model::target::Target;
use crate::model::version::RuntimeVersion;
use crate::model::version_from::Pep508;

use super::manifests::{json_line, line_of};
use super::{Check, NPM_PACKAGE, PYPI_DISTRIBUTION, Report, Verdict};

/// `pyproject.toml`: `[project] dependencies` holds exactly one `openai-codex-cli-bin==X`, and
/// `X` is the channel's version in PEP 440. Returns the version the file pins, when it pins
/// exactly one (whether or not it is the channel's).
pub fn check_pyproject(text: &str, file: &str, manifest: &Manifest, report: &mut Report) -> Option<RuntimeVersion> {
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
            return none(report, check(Verdict::Drift, message, line));
        }
    };
    let Some(dependencies) = parsed.project.and_then(|p| p.dependencies) else {
        let message =
            format!("no `[project] dependencies`; it must pin `{PYPI_DISTRIBUTION}=={}`", manifest.version.pep440());
        return none(report, check(Verdict::Drift, message, None));
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
            return none(report, check(Verdict::Drift, message, json_line_toml(text)));
        }
        [one] => one,
        [_, (_, second), ..] => {
            let lines: Vec<String> = ours.iter().map(|(_, l)| l.to_string()).collect();
            let message = format!(
                "{} requirements on `{PYPI_DISTRIBUTION}` (lines {}); pin it exactly once",
                ours.len(),
                lines.join(", ")
            );
            return none(report, check(Verdict::Drift, message, Some(*second)));
        }
    };
    let Some(pinned) = requirement.exact_version() else {
        let message = format!(
            "`{}` is not an exact pin; the {} channel needs `{PYPI_DISTRIBUTION}=={expected}`",
            requirement.text, manifest.channel
        );
        return none(report, check(Verdict::Drift, message, Some(*line)));
    };
    // As an installer compares versions: `0.163` is `0.163.0`, `0.162.0.alpha15` is `0.162.0a15`.
    let version: Option<RuntimeVersion> =
        codex_app_server_client::version::parse(pinned).ok().and_then(|p| p.version.try_into().ok());
    let (verdict, message) = match version {
        Some(ref v) if *v == manifest.version => {
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
    version
}

/// The line of the `dependencies` key in a pyproject, for a requirement that is missing.
pub(super) fn json_line_toml(text: &str) -> Option<usize> {
    let at = text.lines().position(|l| l.trim_start().starts_with("dependencies"))?;
    Some(at + 1)
}

/// A PEP 508 requirement, as far as a pin check needs it: the name and the version specifier.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Requirement {
    pub(super) text: String,
    pub(super) name: String,
    pub(super) specifier: String,
}

impl Requirement {
    pub(super) fn parse(text: &str) -> Option<Requirement> {
        let parsed = Pep508::parse(text)?;
        Some(Requirement {
            text: text.trim().to_owned(),
            name: parsed.name.to_owned(),
            specifier: parsed.specifier.to_owned(),
        })
    }

    /// `X` of a specifier that is exactly `==X` (or `===X`), without wildcards.
    pub(super) fn exact_version(&self) -> Option<&str> {
        if self.specifier.contains(',') {
            return None;
        }
        let version = self.specifier.strip_prefix("===").or_else(|| self.specifier.strip_prefix("=="))?.trim();
        (!version.is_empty() && !version.contains('*')).then_some(version)
    }
}

/// `package.json`: `optionalDependencies` aliases every platform package,
/// `"@openai/codex-SUFFIX": "npm:@openai/codex@V-SUFFIX"`, at the channel's version. Returns
/// the version the file pins, when every alias that names a version names the same one.
pub fn check_package_json(text: &str, file: &str, manifest: &Manifest, report: &mut Report) -> Option<RuntimeVersion> {
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let message = format!("not valid JSON: {e}");
            return none(report, Check::new("package.json", file, Verdict::Drift, message).at(file, Some(e.line())));
        }
    };
    let Some(aliases) = value.get("optionalDependencies").and_then(|v| v.as_object()) else {
        let message = format!(
            "no `optionalDependencies` object; it must alias the six platform packages at {}",
            manifest.version
        );
        return none(report, Check::new("package.json", file, Verdict::Drift, message).at(file, None));
    };
    let v = &manifest.version;
    // The versions the aliases name exactly.
    let mut pinned_versions: Vec<RuntimeVersion> = Vec::new();
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
        let exact = pinned.and_then(|p| p.strip_suffix(&format!("-{suffix}")));
        let pin = exact.and_then(|p| p.parse::<RuntimeVersion>().ok().filter(|pin| pin.to_string() == p));
        if let Some(pin) = pin.filter(|pin| !pinned_versions.contains(pin)) {
            pinned_versions.push(pin);
        }
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
    match pinned_versions.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    }
}

/// Pushes `check` and returns no pinned version.
fn none(report: &mut Report, check: Check) -> Option<RuntimeVersion> {
    report.push(check);
    None
}
