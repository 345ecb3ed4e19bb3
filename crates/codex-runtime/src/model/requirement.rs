//! Version requests: which pinned version the user wants.
//!
//! A request comes from `--version` ([`VersionRequest::parse_cli`]), from a Python pin file
//! ([`VersionRequest::parse_pep440`]) or from a `package.json` ([`VersionRequest::parse_npm`]),
//! and is resolved newest-first against the pinned versions with [`VersionRequest::best`]:
//!
//! ```
//! use codex_runtime::RuntimeVersion;
//! use codex_runtime::model::requirement::VersionRequest;
//!
//! let pinned: Vec<RuntimeVersion> =
//!     ["0.159.0", "0.160.0", "0.160.1", "0.161.0-alpha.2"].iter().map(|v| v.parse().unwrap()).collect();
//! let request = VersionRequest::parse_cli("~=0.160.0")?;
//! assert_eq!(request.best(&pinned).map(|v| v.to_string()).as_deref(), Some("0.160.1"));
//! assert_eq!(VersionRequest::parse_cli("^0.161.0-alpha.1")?.best(&pinned), Some(&pinned[3]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Pre-releases are chosen only when the request names one, as pip and npm do. Versions compare
//! in semver order, whichever spelling they were written in (`0.162.0a15` is
//! `0.162.0-alpha.15`, which is older than `0.162.0`).

use std::fmt;

use codex_app_server_client::version::{self, VersionError};
use semver::{BuildMetadata, Prerelease, Version};

use crate::model::version::RuntimeVersion;

/// Which pinned version the user wants.
#[derive(Clone, Debug, PartialEq)]
pub enum VersionRequest {
    /// The newest release: npm's `*`, `x`, `latest` or an empty range, or a PEP 508
    /// requirement without a specifier.
    Any { text: String },
    /// One version, in either spelling: `0.160.1`, `0.162.0a15`, PEP 440 `==0.160.1`, npm
    /// `=0.160.1`.
    Exact { version: RuntimeVersion, text: String },
    /// The newest release of a line, rustup style: `0.160` is the newest 0.160.x, `0` the
    /// newest 0.x.
    Line { major: u64, minor: Option<u64>, text: String },
    /// A PEP 440 specifier set or an npm range.
    Range(Range),
}

/// The two requirement syntaxes a [`Range`] can be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    /// A PEP 440 specifier set: `>=0.159, <0.160`, `~=0.160.0`, `==0.160.*`.
    Pep440,
    /// An npm range: `^0.160.1`, `~0.160.1`, `0.160.x`, `0.159 - 0.160`, `a || b`.
    Npm,
}

/// A requirement other than one exact version.
#[derive(Clone, Debug, PartialEq)]
pub struct Range {
    text: String,
    syntax: Syntax,
    /// A version matches when every clause of one alternative holds (npm `||`; a PEP 440
    /// specifier set is one alternative).
    alternatives: Vec<Vec<Clause>>,
}

/// One comparator, as written and as bounds.
#[derive(Clone, Debug, PartialEq)]
struct Clause {
    /// As written, without whitespace inside a comparator: `>=0.159`, `^0.160.1`.
    written: String,
    /// Every bound must hold.
    bounds: Vec<Bound>,
    /// The pre-release versions the clause names.
    prereleases: Vec<Version>,
}

#[derive(Clone, Debug, PartialEq)]
enum Bound {
    Cmp(Op, Version),
    /// Not in `[low, high)`: PEP 440 `!=0.160.*`.
    Outside(Version, Version),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

/// A string that is not a request of the expected syntax.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct InvalidRequest {
    /// The request as written, trimmed.
    pub text: String,
    /// What is wrong with it, when more is known than "not this syntax".
    pub problem: Option<String>,
    grammar: Grammar,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Grammar {
    Cli,
    Pep440,
    Npm,
}

impl fmt::Display for InvalidRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (noun, expected) = match self.grammar {
            Grammar::Cli => (
                "a version or a requirement",
                "`0.163.0`, `0.163` or a requirement like `>=0.159, <0.160` or `~=0.160.0`",
            ),
            Grammar::Pep440 => {
                ("a PEP 440 requirement", "specifiers like `==0.160.1`, `~=0.160.0` or `>=0.159, <0.160`")
            }
            Grammar::Npm => {
                ("an npm version range", "a version like `0.160.1` or a range like `^0.160.1` or `>=0.159 <0.160`")
            }
        };
        write!(f, "`{}` is not {noun}", self.text)?;
        if let Some(problem) = &self.problem {
            write!(f, " ({problem})")?;
        }
        write!(f, ": expected {expected}")
    }
}

impl VersionRequest {
    /// A `--version` value: an exact version in either spelling (leading `v` allowed), a
    /// partial version (`0.160`: the newest 0.160.x), or a requirement.
    ///
    /// The syntax is decided by what the text contains: a comma, `~=`, `==`, `===` or `!=`
    /// make it PEP 440; `^`, `~`, `||`, ` - `, `x`/`X`/`*` parts, a leading `=` or several
    /// space-separated comparators make it npm. A single comparator such as `>=0.159` or `>0.1`
    /// is read as PEP 440 (for `>` and `<=` on partial versions npm differs: `>0.1` is
    /// `>=0.2.0` there).
    pub fn parse_cli(s: &str) -> Result<VersionRequest, InvalidRequest> {
        let text = s.trim();
        let invalid = |problem| InvalidRequest { text: text.to_owned(), problem, grammar: Grammar::Cli };
        if text.is_empty() {
            return Err(invalid(None));
        }
        if let Ok(version) = text.parse::<RuntimeVersion>() {
            return Ok(VersionRequest::Exact { version, text: text.to_owned() });
        }
        if let Some(line) = parse_line(text) {
            return Ok(line);
        }
        let parsed = if looks_pep440(text) || !looks_npm(text) { pep440(text) } else { npm(text) };
        parsed.map_err(|problem| invalid(Some(problem)))
    }

    /// A PEP 440 specifier set, as in a PEP 508 requirement: `==0.160.1`, `>=0.159, <0.160`.
    /// `==0.160` is exact (`0.160.0`); a bare version without an operator is an error; an
    /// empty string (a requirement without specifiers) is any release.
    pub fn parse_pep440(s: &str) -> Result<VersionRequest, InvalidRequest> {
        pep440(s.trim()).map_err(|problem| InvalidRequest {
            text: s.trim().to_owned(),
            problem: Some(problem),
            grammar: Grammar::Pep440,
        })
    }

    /// An npm range, as in `package.json`: a bare `0.160.1` is exact, `0.160` is 0.160.x, and
    /// `latest`, `*` or an empty string is any release.
    pub fn parse_npm(s: &str) -> Result<VersionRequest, InvalidRequest> {
        npm(s.trim()).map_err(|problem| InvalidRequest {
            text: s.trim().to_owned(),
            problem: Some(problem),
            grammar: Grammar::Npm,
        })
    }

    /// Whether `v` satisfies the request, pre-release rule included: a pre-release matches
    /// only a request that names a pre-release (for npm, one of the same `major.minor.patch`).
    pub fn matches(&self, v: &RuntimeVersion) -> bool {
        match self {
            VersionRequest::Any { .. } => !v.is_prerelease(),
            VersionRequest::Exact { version, .. } => v == version,
            VersionRequest::Line { major, minor, .. } => {
                let s = v.semver();
                !v.is_prerelease() && s.major == *major && minor.is_none_or(|m| s.minor == m)
            }
            VersionRequest::Range(range) => range.matches(v.semver()),
        }
    }

    /// The newest candidate that matches.
    pub fn best<'a>(&self, candidates: impl IntoIterator<Item = &'a RuntimeVersion>) -> Option<&'a RuntimeVersion> {
        candidates.into_iter().filter(|v| self.matches(v)).max()
    }

    /// The request for messages, spelled canonically: `0.160.1`, `0.160.x`, `any release`,
    /// `>=0.159, <0.160`, `^0.160.1 || >=0.162`.
    pub fn describe(&self) -> String {
        match self {
            VersionRequest::Any { .. } => "any release".to_owned(),
            VersionRequest::Exact { version, .. } => version.to_string(),
            VersionRequest::Line { major, minor: Some(minor), .. } => format!("{major}.{minor}.x"),
            VersionRequest::Line { major, minor: None, .. } => format!("{major}.x"),
            VersionRequest::Range(range) => range.describe(),
        }
    }
}

impl fmt::Display for VersionRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionRequest::Any { text }
            | VersionRequest::Exact { text, .. }
            | VersionRequest::Line { text, .. }
            | VersionRequest::Range(Range { text, .. }) => f.write_str(text),
        }
    }
}

impl Range {
    pub fn syntax(&self) -> Syntax {
        self.syntax
    }

    fn matches(&self, v: &Version) -> bool {
        self.alternatives.iter().any(|clauses| {
            clauses.iter().all(|c| c.bounds.iter().all(|b| b.holds(v))) && self.prerelease_allowed(clauses, v)
        })
    }

    /// PEP 440: any pre-release, once a clause names one. npm: only pre-releases of a
    /// `major.minor.patch` that a clause of the same alternative names with a pre-release.
    fn prerelease_allowed(&self, clauses: &[Clause], v: &Version) -> bool {
        if v.pre.is_empty() {
            return true;
        }
        let mut named = clauses.iter().flat_map(|c| &c.prereleases);
        match self.syntax {
            Syntax::Pep440 => named.next().is_some(),
            Syntax::Npm => named.any(|p| (p.major, p.minor, p.patch) == (v.major, v.minor, v.patch)),
        }
    }

    fn describe(&self) -> String {
        // A PEP 440 specifier set is one alternative.
        let within = match self.syntax {
            Syntax::Pep440 => ", ",
            Syntax::Npm => " ",
        };
        let alternatives: Vec<String> = self
            .alternatives
            .iter()
            .map(|clauses| match clauses.as_slice() {
                [] => "*".to_owned(),
                _ => clauses.iter().map(|c| c.written.as_str()).collect::<Vec<_>>().join(within),
            })
            .collect();
        alternatives.join(" || ")
    }
}

impl Bound {
    fn holds(&self, v: &Version) -> bool {
        match self {
            Bound::Cmp(Op::Lt, b) => v < b,
            Bound::Cmp(Op::Le, b) => v <= b,
            Bound::Cmp(Op::Gt, b) => v > b,
            Bound::Cmp(Op::Ge, b) => v >= b,
            Bound::Cmp(Op::Eq, b) => v == b,
            Bound::Cmp(Op::Ne, b) => v != b,
            Bound::Outside(low, high) => v < low || v >= high,
        }
    }
}

/// `0.160`, `0` or `v0.160`: a line, rustup style.
fn parse_line(text: &str) -> Option<VersionRequest> {
    let digits = text.strip_prefix('v').unwrap_or(text);
    let parts: Vec<u64> = digits.split('.').map(|p| number(p).ok()).collect::<Option<_>>()?;
    let (major, minor) = match parts.as_slice() {
        [major] => (*major, None),
        [major, minor] => (*major, Some(*minor)),
        _ => return None,
    };
    Some(VersionRequest::Line { major, minor, text: text.to_owned() })
}

fn looks_pep440(text: &str) -> bool {
    [",", "~=", "==", "!="].iter().any(|marker| text.contains(marker))
}

fn looks_npm(text: &str) -> bool {
    let wildcard = text
        .split(|c: char| c.is_whitespace() || "<>=~^".contains(c))
        .flat_map(|token| token.split('.'))
        .any(|part| matches!(part, "x" | "X" | "*"));
    ["^", "~", "||", " - "].iter().any(|marker| text.contains(marker))
        || (text.starts_with('=') && !text.starts_with("=="))
        || wildcard
        || npm_comparators(text).is_ok_and(|c| c.len() > 1)
}

fn number(part: &str) -> Result<u64, String> {
    if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{part}` is not a version number"));
    }
    part.parse().map_err(|_| format!("`{part}` is too large for a version number"))
}

/// The lowest version of `major.minor.patch`, below all its pre-releases: `1.2.0-0`.
fn floor(v: &Version) -> Version {
    let pre = Prerelease::new("0").expect("`0` is a pre-release identifier");
    Version { pre, build: BuildMetadata::EMPTY, ..Version::new(v.major, v.minor, v.patch) }
}

/// `[low, high)` of the releases whose release segment starts with `prefix` (1 to 3 parts),
/// pre-releases included: `0.160` is `[0.160.0-0, 0.161.0-0)`.
fn prefix_bounds(prefix: &[u64]) -> (Version, Version) {
    let part = |i: usize| prefix.get(i).copied().unwrap_or(0);
    let low = Version::new(part(0), part(1), part(2));
    let mut high = [part(0), part(1), part(2)];
    let last = prefix.len().clamp(1, 3) - 1;
    high[last] = high[last].saturating_add(1);
    (floor(&low), floor(&Version::new(high[0], high[1], high[2])))
}

// ---------------------------------------------------------------------------------------------
// PEP 440

/// A version in a PEP 440 specifier: how many release parts it was written with, the version
/// they pad to, and whether it ends in `.*`.
struct Pep440Version {
    parts: usize,
    runtime: RuntimeVersion,
    wildcard: bool,
}

fn pep440(text: &str) -> Result<VersionRequest, String> {
    if text.is_empty() {
        return Ok(VersionRequest::Any { text: String::new() });
    }
    let mut clauses = Vec::new();
    let mut exact = None;
    for written in text.split(',') {
        let (clause, pinned) = pep440_clause(written.trim())?;
        clauses.push(clause);
        exact = pinned;
    }
    if let (Some(version), [_]) = (exact, clauses.as_slice()) {
        return Ok(VersionRequest::Exact { version, text: text.to_owned() });
    }
    Ok(VersionRequest::Range(Range { text: text.to_owned(), syntax: Syntax::Pep440, alternatives: vec![clauses] }))
}

/// One specifier, and the version it pins when it is `==V` or `===V` without a wildcard.
fn pep440_clause(written: &str) -> Result<(Clause, Option<RuntimeVersion>), String> {
    const OPERATORS: [&str; 8] = ["===", "~=", "==", "!=", "<=", ">=", "<", ">"];
    if written.is_empty() {
        return Err("a specifier between commas is empty".to_owned());
    }
    let Some(operator) = OPERATORS.into_iter().find(|op| written.starts_with(op)) else {
        return Err(format!("`{written}` has no operator such as `==` or `>=`"));
    };
    let text = written[operator.len()..].trim();
    if text.is_empty() {
        return Err(format!("`{operator}` has no version"));
    }
    let parsed = pep440_version(text)?;
    if parsed.wildcard && !matches!(operator, "==" | "!=") {
        return Err(format!("`.*` only follows `==` or `!=`, not `{operator}`"));
    }
    let v = parsed.runtime.semver().clone();
    let release = [v.major, v.minor, v.patch];
    let bounds = match operator {
        "==" | "!=" if parsed.wildcard => {
            let (low, high) = prefix_bounds(&release[..parsed.parts.min(3)]);
            match operator {
                "==" => vec![Bound::Cmp(Op::Ge, low), Bound::Cmp(Op::Lt, high)],
                _ => vec![Bound::Outside(low, high)],
            }
        }
        "===" | "==" => vec![Bound::Cmp(Op::Eq, v.clone())],
        "!=" => vec![Bound::Cmp(Op::Ne, v.clone())],
        "<=" => vec![Bound::Cmp(Op::Le, v.clone())],
        ">=" => vec![Bound::Cmp(Op::Ge, v.clone())],
        ">" => vec![Bound::Cmp(Op::Gt, v.clone())],
        // `<V` excludes the pre-releases of V, unless V is one itself.
        "<" if v.pre.is_empty() => vec![Bound::Cmp(Op::Lt, floor(&v))],
        "<" => vec![Bound::Cmp(Op::Lt, v.clone())],
        // `~=`: `~=0.160.1` is `>=0.160.1, ==0.160.*`.
        _ => {
            if parsed.parts < 2 {
                return Err(format!("`~=` needs at least two release parts, like `~=0.160.0`, not `{text}`"));
            }
            let (_, high) = prefix_bounds(&release[..(parsed.parts - 1).min(3)]);
            vec![Bound::Cmp(Op::Ge, v.clone()), Bound::Cmp(Op::Lt, high)]
        }
    };
    let pinned = (matches!(operator, "==" | "===") && !parsed.wildcard).then_some(parsed.runtime);
    // As in pip, `!=` never admits pre-releases.
    let prereleases = if v.pre.is_empty() || operator == "!=" { Vec::new() } else { vec![v] };
    Ok((Clause { written: format!("{operator}{text}"), bounds, prereleases }, pinned))
}

/// `0.160`, `0.160.*`, `0.162.0a15`, `0.162.0-alpha.15` or `v0.160.1.0`, read the way installers
/// read versions ([`version::parse`]): the release is padded with zeros to three parts; parts
/// beyond three must be zero.
fn pep440_version(text: &str) -> Result<Pep440Version, String> {
    let not_a_version = || format!("`{text}` is not a version");
    let (release, wildcard) = match text.strip_suffix(".*") {
        Some(release) => (release, true),
        None => (text, false),
    };
    let parsed = version::parse(release).map_err(|e| match e {
        VersionError::Invalid(_) => not_a_version(),
        e => e.to_string(),
    })?;
    if wildcard && !parsed.version.pre.is_empty() {
        return Err(format!("`.*` follows a release like `0.160`, not `{text}`"));
    }
    let runtime = RuntimeVersion::try_from(parsed.version).map_err(|_| not_a_version())?;
    Ok(Pep440Version { parts: parsed.release_parts, runtime, wildcard })
}

// ---------------------------------------------------------------------------------------------
// npm

/// An npm partial version: `1`, `1.2`, `1.x`, `*`, `1.2.3-alpha.1`. A part after a wildcard
/// is a wildcard.
struct NpmPartial {
    major: Option<u64>,
    minor: Option<u64>,
    patch: Option<u64>,
    pre: Prerelease,
}

impl NpmPartial {
    fn parse(text: &str) -> Result<NpmPartial, String> {
        let s = text.strip_prefix('v').unwrap_or(text);
        let s = s.split_once('+').map_or(s, |(s, _build)| s);
        // Also the PEP 440 spelling of a pre-release, `0.162.0a15`.
        if let Ok(v) = s.parse::<RuntimeVersion>() {
            let v = v.semver();
            return Ok(NpmPartial {
                major: Some(v.major),
                minor: Some(v.minor),
                patch: Some(v.patch),
                pre: v.pre.clone(),
            });
        }
        let (release, pre) = match s.split_once('-') {
            Some((_, "")) => return Err(format!("`{text}` has an empty pre-release")),
            Some(split) => split,
            None => (s, ""),
        };
        let mut parts = [None; 3];
        for (i, piece) in release.split('.').take(3).enumerate() {
            if matches!(piece, "x" | "X" | "*") {
                break;
            }
            parts[i] = Some(number(piece).map_err(|_| format!("`{text}` is not a version or range"))?);
        }
        if release.split('.').count() > 3 {
            return Err(format!("`{text}` has more than three parts"));
        }
        let [major, minor, patch] = parts;
        let pre = match pre {
            "" => Prerelease::EMPTY,
            _ if patch.is_none() => return Err(format!("`{text}` has a pre-release but not three parts")),
            _ => Prerelease::new(pre).map_err(|_| format!("`{pre}` in `{text}` is not a pre-release"))?,
        };
        Ok(NpmPartial { major, minor, patch, pre })
    }

    fn is_full(&self) -> bool {
        self.patch.is_some()
    }

    /// The lowest version it covers: missing parts are zero.
    fn low(&self) -> Version {
        let mut v = Version::new(self.major.unwrap_or(0), self.minor.unwrap_or(0), self.patch.unwrap_or(0));
        v.pre = self.pre.clone();
        v
    }

    /// Past the last version a partial covers: `1.2` -> `1.3.0-0`, `1` -> `2.0.0-0`.
    fn past(&self) -> Version {
        let (major, minor) = (self.major.unwrap_or(0), self.minor.unwrap_or(0));
        match (self.minor, self.patch) {
            (None, _) => floor(&Version::new(major.saturating_add(1), 0, 0)),
            (Some(_), None) => floor(&Version::new(major, minor.saturating_add(1), 0)),
            (Some(_), Some(patch)) => floor(&Version::new(major, minor, patch.saturating_add(1))),
        }
    }
}

fn npm(text: &str) -> Result<VersionRequest, String> {
    if matches!(text, "" | "latest" | "*" | "x" | "X") {
        return Ok(VersionRequest::Any { text: text.to_owned() });
    }
    let mut alternatives = Vec::new();
    for alternative in text.split("||") {
        alternatives.push(npm_alternative(alternative.trim())?);
    }
    if let [clauses] = alternatives.as_slice()
        && let [clause] = clauses.as_slice()
        && let [Bound::Cmp(Op::Eq, v)] = clause.bounds.as_slice()
        && let Ok(version) = v.to_string().parse()
    {
        return Ok(VersionRequest::Exact { version, text: text.to_owned() });
    }
    Ok(VersionRequest::Range(Range { text: text.to_owned(), syntax: Syntax::Npm, alternatives }))
}

fn npm_alternative(text: &str) -> Result<Vec<Clause>, String> {
    if let Some((low, high)) = text.split_once(" - ") {
        return Ok(vec![npm_hyphen(low.trim(), high.trim())?]);
    }
    npm_comparators(text)?.iter().map(|c| npm_clause(c)).collect()
}

/// The comparators of one alternative, an operator joined to the version after it:
/// `>= 0.159  <0.160` -> `>=0.159`, `<0.160`.
fn npm_comparators(text: &str) -> Result<Vec<String>, String> {
    let mut comparators = Vec::new();
    let mut pending = String::new();
    for word in text.split_whitespace() {
        pending.push_str(word);
        if !pending.chars().all(|c| "<>=~^".contains(c)) {
            comparators.push(std::mem::take(&mut pending));
        }
    }
    if !pending.is_empty() {
        return Err(format!("`{pending}` has no version"));
    }
    Ok(comparators)
}

/// `A - B`: `>=A <=B`, where a partial `A` is padded with zeros and a partial `B` covers its
/// whole line (`0.159 - 0.160` is `>=0.159.0 <0.161.0-0`).
fn npm_hyphen(low: &str, high: &str) -> Result<Clause, String> {
    let (from, to) = (NpmPartial::parse(low)?, NpmPartial::parse(high)?);
    let mut bounds = Vec::new();
    if from.major.is_some() {
        bounds.push(Bound::Cmp(Op::Ge, from.low()));
    }
    match to.major {
        None => {}
        Some(_) if to.is_full() => bounds.push(Bound::Cmp(Op::Le, to.low())),
        Some(_) => bounds.push(Bound::Cmp(Op::Lt, to.past())),
    }
    let prereleases = [&from, &to].into_iter().filter(|p| !p.pre.is_empty()).map(|p| p.low()).collect();
    Ok(Clause { written: format!("{low} - {high}"), bounds, prereleases })
}

fn npm_clause(written: &str) -> Result<Clause, String> {
    const OPERATORS: [&str; 8] = ["~>", "~", "^", ">=", "<=", ">", "<", "="];
    let operator = OPERATORS.into_iter().find(|op| written.starts_with(op)).unwrap_or("");
    let partial = NpmPartial::parse(&written[operator.len()..])?;
    let (low, past) = (partial.low(), partial.past());
    let bounds = match (operator, partial.major) {
        ("~>" | "~" | "^" | ">=" | "<=" | "=" | "", None) => vec![],
        (">" | "<", None) => vec![Bound::Cmp(Op::Lt, floor(&Version::new(0, 0, 0)))],
        ("~>" | "~", Some(major)) => {
            let high = match partial.minor {
                Some(minor) => Version::new(major, minor.saturating_add(1), 0),
                None => Version::new(major.saturating_add(1), 0, 0),
            };
            vec![Bound::Cmp(Op::Ge, low), Bound::Cmp(Op::Lt, floor(&high))]
        }
        ("^", Some(major)) => {
            // The first non-zero part of the version is the one that may not change.
            let high = match (major, partial.minor, partial.patch) {
                (1.., _, _) => Version::new(major.saturating_add(1), 0, 0),
                (0, None, _) => Version::new(1, 0, 0),
                (0, Some(minor @ 1..), _) => Version::new(0, minor.saturating_add(1), 0),
                (0, Some(0), None) => Version::new(0, 1, 0),
                (0, Some(0), Some(patch)) => Version::new(0, 0, patch.saturating_add(1)),
            };
            vec![Bound::Cmp(Op::Ge, low), Bound::Cmp(Op::Lt, floor(&high))]
        }
        (">=", _) => vec![Bound::Cmp(Op::Ge, low)],
        (">", _) if partial.is_full() => vec![Bound::Cmp(Op::Gt, low)],
        (">", _) => vec![Bound::Cmp(Op::Ge, past)],
        ("<", _) if partial.is_full() => vec![Bound::Cmp(Op::Lt, low)],
        ("<", _) => vec![Bound::Cmp(Op::Lt, floor(&low))],
        ("<=", _) if partial.is_full() => vec![Bound::Cmp(Op::Le, low)],
        ("<=", _) => vec![Bound::Cmp(Op::Lt, past)],
        _ if partial.is_full() => vec![Bound::Cmp(Op::Eq, low)],
        _ => vec![Bound::Cmp(Op::Ge, low), Bound::Cmp(Op::Lt, past)],
    };
    let prereleases = if partial.pre.is_empty() { Vec::new() } else { vec![partial.low()] };
    Ok(Clause { written: written.to_owned(), bounds, prereleases })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PINNED: &[&str] = &[
        "0.0.3",
        "0.0.9",
        "0.1.0",
        "0.1.5",
        "0.159.0",
        "0.159.3",
        "0.160.0",
        "0.160.1",
        "0.161.0",
        "0.162.0-alpha.15",
        "0.162.0",
        "0.163.0-alpha.1",
        "1.2.3",
        "1.9.0",
        "2.0.0-alpha.1",
        "2.0.0",
    ];

    fn v(s: &str) -> RuntimeVersion {
        s.parse().unwrap()
    }

    fn best(request: &VersionRequest) -> Option<String> {
        let pinned: Vec<RuntimeVersion> = PINNED.iter().map(|s| v(s)).collect();
        request.best(&pinned).map(|v| v.to_string())
    }

    fn check_best(parse: fn(&str) -> Result<VersionRequest, InvalidRequest>, cases: &[(&str, Option<&str>)]) {
        for (input, expected) in cases {
            let request = parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(best(&request).as_deref(), *expected, "{input:?} parsed as {request:?}");
        }
    }

    #[test]
    fn cli_exact_and_lines() {
        let cases = [
            ("0.160.1", Some("0.160.1")),
            ("v0.160.1", Some("0.160.1")),
            (" 0.160.1\n", Some("0.160.1")),
            ("0.162.0a15", Some("0.162.0-alpha.15")),
            ("0.162.0-alpha.15", Some("0.162.0-alpha.15")),
            ("0.163.0-alpha.1", Some("0.163.0-alpha.1")),
            ("0.160.5", None),
            ("0.160", Some("0.160.1")),
            ("v0.160", Some("0.160.1")),
            ("0.161", Some("0.161.0")),
            ("0.163", None),
            ("0", Some("0.162.0")),
            ("1", Some("1.9.0")),
            ("2", Some("2.0.0")),
            ("3", None),
        ];
        check_best(VersionRequest::parse_cli, &cases);
        assert!(matches!(VersionRequest::parse_cli("v0.162.0a15"), Ok(VersionRequest::Exact { .. })));
        assert!(matches!(
            VersionRequest::parse_cli("0.160"),
            Ok(VersionRequest::Line { major: 0, minor: Some(160), .. })
        ));
        assert!(matches!(VersionRequest::parse_cli("0"), Ok(VersionRequest::Line { major: 0, minor: None, .. })));
    }

    #[test]
    fn cli_pep440_specifiers() {
        let cases = [
            (">=0.159, <0.160", Some("0.159.3")),
            (">= 0.159 , < 0.160", Some("0.159.3")),
            (">=0.159,<0.160", Some("0.159.3")),
            ("~=0.160.0", Some("0.160.1")),
            ("~=0.159.0, !=0.159.3", Some("0.159.0")),
            // `~=0.160` is `>=0.160, ==0.*`.
            ("~=0.160", Some("0.162.0")),
            ("~=1.2", Some("1.9.0")),
            ("~=1.2.3", Some("1.2.3")),
            ("~=0.160.0.0", Some("0.160.0")),
            ("==0.160.*", Some("0.160.1")),
            ("== 0.159.*", Some("0.159.3")),
            ("==0.*", Some("0.162.0")),
            ("==0.160.0.*", Some("0.160.0")),
            ("==0.160", Some("0.160.0")),
            ("==0.160.1.0", Some("0.160.1")),
            ("===0.160.1", Some("0.160.1")),
            ("!=0.160.0", Some("2.0.0")),
            ("!=2.*, !=1.*", Some("0.162.0")),
            (">0.1", Some("2.0.0")),
            // PEP 440 `>0.1` admits 0.1.5 (npm's `>0.1` would not).
            (">0.1, <0.2", Some("0.1.5")),
            (">0.1.5, <0.159", None),
            ("<=0.160", Some("0.160.0")),
            ("<=0.160.1, >0.160", Some("0.160.1")),
            ("<0.163", Some("0.162.0")),
            ("<0.2", Some("0.1.5")),
            ("==0.162.0a15", Some("0.162.0-alpha.15")),
            ("==0.162.0-alpha.15", Some("0.162.0-alpha.15")),
            // Spelled as installers accept it.
            ("==0.162.0.Alpha015", Some("0.162.0-alpha.15")),
            ("==0.162.0rc1", None),
            // A specifier that names a pre-release admits pre-releases, of any version.
            (">=0.162.0a1, <0.162.0rc1", Some("0.162.0-alpha.15")),
            (">=0.162.0a1, <0.162.0", None),
            (">=0.162.0a1, <0.164", Some("0.163.0-alpha.1")),
            (">=0.162.0a1", Some("2.0.0")),
            // `<0.163` excludes the pre-releases of 0.163 even when pre-releases are admitted.
            (">=0.162.0a1, <0.163", Some("0.162.0")),
            ("<0.163.0a2, >=0.163.0a1", Some("0.163.0-alpha.1")),
            ("<0.163.0a1, >=0.162.0a1", Some("0.162.0")),
            (">0.162.0a15, <=0.162.0", Some("0.162.0")),
            (">=2.0.0a1, <2", None),
            (">=0.200, <1", None),
        ];
        check_best(VersionRequest::parse_cli, &cases);
    }

    #[test]
    fn cli_npm_ranges() {
        let cases = [
            ("^0.160.1", Some("0.160.1")),
            ("^0.160.0", Some("0.160.1")),
            ("^0.159", Some("0.159.3")),
            ("^0.1", Some("0.1.5")),
            ("^0.x", Some("0.162.0")),
            ("^0.0.3", Some("0.0.3")),
            ("^0.0", Some("0.0.9")),
            ("^1.2.3", Some("1.9.0")),
            ("^1.2.x", Some("1.9.0")),
            ("^1", Some("1.9.0")),
            ("~0.160.1", Some("0.160.1")),
            ("~0.159", Some("0.159.3")),
            ("~1", Some("1.9.0")),
            ("~>0.159.0", Some("0.159.3")),
            ("0.160.x", Some("0.160.1")),
            ("0.160.X", Some("0.160.1")),
            ("0.160.*", Some("0.160.1")),
            ("0.x", Some("0.162.0")),
            ("1.X", Some("1.9.0")),
            ("*", Some("2.0.0")),
            ("x", Some("2.0.0")),
            ("=0.160.1", Some("0.160.1")),
            (">=0.159 <0.160", Some("0.159.3")),
            (">= 0.159 < 0.160", Some("0.159.3")),
            (">0.159.0 <=0.160.0", Some("0.160.0")),
            ("0.159 - 0.160", Some("0.160.1")),
            ("0.159.3 - 0.160.0", Some("0.160.0")),
            ("0.1 - 0.159", Some("0.159.3")),
            ("0.0.3 - 0.1.0", Some("0.1.0")),
            ("* - 0.1", Some("0.1.5")),
            ("^0.159.0 || ^1.0.0", Some("1.9.0")),
            ("<0.1.0 || 0.161.x", Some("0.161.0")),
            ("^5 || ~0.160.0", Some("0.160.1")),
            ("^0.162.0a15", Some("0.162.0")),
            // npm admits a pre-release only when a comparator names one of the same x.y.z.
            ("^0.162.0-alpha.1", Some("0.162.0")),
            (">=0.162.0-alpha.1 <0.162.0", Some("0.162.0-alpha.15")),
            (">=0.162.0-alpha.1 <0.164", Some("0.162.0")),
            (">=0.162.0-alpha.1 <0.163.0-alpha.5", Some("0.163.0-alpha.1")),
            ("~0.163.0-alpha.0", Some("0.163.0-alpha.1")),
            (">=2.0.0-alpha.1 <2.0.0", Some("2.0.0-alpha.1")),
            ("0.162.0-alpha.15 - 0.162.0", Some("0.162.0")),
            ("<0.162.0-alpha.15 || 0.162.0-alpha.15", Some("0.162.0-alpha.15")),
            ("^3", None),
        ];
        check_best(VersionRequest::parse_cli, &cases);
    }

    #[test]
    fn cli_picks_the_syntax_by_what_it_reads() {
        let cases = [
            (">=0.159", Syntax::Pep440),
            (">0.1", Syntax::Pep440),
            ("<=0.160", Syntax::Pep440),
            ("!=0.160.0", Syntax::Pep440),
            ("~=0.160.0", Syntax::Pep440),
            ("==0.160.*", Syntax::Pep440),
            (">=0.159,<0.160", Syntax::Pep440),
            (">=0.159 <0.160", Syntax::Npm),
            ("~0.160.1", Syntax::Npm),
            ("^1", Syntax::Npm),
            ("0.160.x", Syntax::Npm),
            ("0.160.*", Syntax::Npm),
            ("0.159 - 0.160", Syntax::Npm),
            ("1 || 2", Syntax::Npm),
        ];
        for (input, syntax) in cases {
            match VersionRequest::parse_cli(input) {
                Ok(VersionRequest::Range(range)) => assert_eq!(range.syntax(), syntax, "{input:?}"),
                other => panic!("{input:?} should be a range, got {other:?}"),
            }
        }
    }

    #[test]
    fn matches_applies_the_prerelease_rule() {
        let cli = VersionRequest::parse_cli;
        let cases = [
            (cli("0.160"), "0.160.0-alpha.1", false),
            (cli("0.160"), "0.160.3", true),
            (cli("0.160"), "0.161.0", false),
            (cli("0.162.0a15"), "0.162.0-alpha.15", true),
            (cli("0.162.0a15"), "0.162.0", false),
            (cli("*"), "0.162.0-alpha.15", false),
            (cli("*"), "0.162.0", true),
            (cli("==0.160.*"), "0.160.0-alpha.1", false),
            (cli("==0.160.*"), "0.160.9", true),
            (cli("==0.160.*"), "0.161.0", false),
            (cli("!=0.160.*"), "0.160.5", false),
            (cli("!=0.160.*"), "0.159.9", true),
            (cli("!=0.160.*"), "0.161.0", true),
            (cli("<0.163, >=0.163.0a1"), "0.163.0-alpha.1", false),
            (cli("<=0.163.0, >=0.163.0a1"), "0.163.0-alpha.1", true),
            (cli("!=0.162.0a15"), "0.163.0-alpha.1", false),
            (cli(">0.162.0a15"), "0.163.0-alpha.1", true),
            (cli("~=0.160.0"), "0.161.0", false),
            (cli("~=0.160.0"), "0.160.0", true),
            (cli("^0.160.1"), "0.160.0", false),
            (cli("^0.160.1"), "0.161.0", false),
            (cli("^1.2.3"), "2.0.0-alpha.1", false),
            (cli("^1.2.3-alpha.1"), "1.2.3-alpha.2", true),
            (cli("^1.2.3-alpha.1"), "1.2.4-alpha.1", false),
            (cli("^1.2.3-alpha.1"), "1.2.4", true),
            (cli("0.159 - 0.160"), "0.160.9", true),
            (cli("0.159 - 0.160"), "0.161.0-alpha.1", false),
            (cli("0.159.1 - 0.160.0"), "0.159.0", false),
        ];
        for (request, version, expected) in cases {
            let request = request.unwrap();
            assert_eq!(request.matches(&v(version)), expected, "{request} vs {version}");
        }
    }

    #[test]
    fn pep440_pin_files() {
        let exact = |s: &str| match VersionRequest::parse_pep440(s) {
            Ok(VersionRequest::Exact { version, .. }) => Some(version.to_string()),
            _ => None,
        };
        assert_eq!(exact("==0.160.1").as_deref(), Some("0.160.1"));
        assert_eq!(exact("== 0.160.1").as_deref(), Some("0.160.1"));
        assert_eq!(exact("==0.160").as_deref(), Some("0.160.0"));
        assert_eq!(exact("===0.160.1").as_deref(), Some("0.160.1"));
        assert_eq!(exact("==0.162.0a15").as_deref(), Some("0.162.0-alpha.15"));
        assert_eq!(exact("==v0.162.0RC1").as_deref(), Some("0.162.0-rc.1"));
        assert_eq!(exact("==0.160.*"), None);
        assert_eq!(VersionRequest::parse_pep440(""), Ok(VersionRequest::Any { text: String::new() }));
        for bad in ["0.160.1", "0.160", "^0.160.1", ">=0.159 <0.160", "latest", "*"] {
            assert!(VersionRequest::parse_pep440(bad).is_err(), "{bad:?} should be rejected");
        }
        let cases = [(">=0.159,<0.160", Some("0.159.3")), ("~=0.160.0", Some("0.160.1")), ("", Some("2.0.0"))];
        check_best(VersionRequest::parse_pep440, &cases);
    }

    #[test]
    fn npm_pin_files() {
        let parse = VersionRequest::parse_npm;
        assert!(matches!(parse("0.160.1"), Ok(VersionRequest::Exact { .. })));
        assert!(matches!(parse("v0.160.1"), Ok(VersionRequest::Exact { .. })));
        assert!(matches!(parse("=0.162.0-alpha.15"), Ok(VersionRequest::Exact { .. })));
        for any in ["", "latest", "*", "x", "  "] {
            assert!(matches!(parse(any), Ok(VersionRequest::Any { .. })), "{any:?}");
        }
        for bad in ["next", "file:../codex", "npm:@openai/codex@0.160.1", "0.160.1-", ">=0.159 <", "^", "1.2.3.4"] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
        let cases = [
            ("0.160", Some("0.160.1")),
            ("0.160.1", Some("0.160.1")),
            ("latest", Some("2.0.0")),
            // npm's `>0.1` is `>=0.2.0`, unlike PEP 440's.
            (">0.1", Some("2.0.0")),
            (">0.1 <0.2", None),
            ("<=0.160", Some("0.160.1")),
            ("<0.160", Some("0.159.3")),
            (">=0.160", Some("2.0.0")),
            ("0.1.x || >=0.159.0 <0.160.0", Some("0.159.3")),
            ("1.2.3 || 0.160.1", Some("1.2.3")),
            ("<*", None),
            ("|| 0.1", Some("2.0.0")),
        ];
        check_best(parse, &cases);
    }

    #[test]
    fn display_as_written_and_describe_canonically() {
        let cases = [
            ("  >= 0.159 ,<0.160  ", ">= 0.159 ,<0.160", ">=0.159, <0.160"),
            ("~=0.160.0", "~=0.160.0", "~=0.160.0"),
            ("0.162.0a15", "0.162.0a15", "0.162.0-alpha.15"),
            ("v0.160.1", "v0.160.1", "0.160.1"),
            ("==0.160", "==0.160", "0.160.0"),
            ("0.160", "0.160", "0.160.x"),
            ("0", "0", "0.x"),
            ("^0.160.1   ||  >= 0.162", "^0.160.1   ||  >= 0.162", "^0.160.1 || >=0.162"),
            ("0.159  -  0.160", "0.159  -  0.160", "0.159 - 0.160"),
            ("*", "*", "any release"),
        ];
        for (input, display, describe) in cases {
            let request = VersionRequest::parse_cli(input).unwrap();
            assert_eq!(request.to_string(), display, "{input:?}");
            assert_eq!(request.describe(), describe, "{input:?}");
        }
        assert_eq!(VersionRequest::parse_npm("1 || ").unwrap().describe(), "1 || *");
    }

    #[test]
    fn errors_say_what_was_expected() {
        let cli = "expected `0.163.0`, `0.163` or a requirement like `>=0.159, <0.160` or `~=0.160.0`";
        assert_eq!(
            VersionRequest::parse_cli(">>0.1").unwrap_err().to_string(),
            format!("`>>0.1` is not a version or a requirement (`>0.1` is not a version): {cli}")
        );
        assert_eq!(
            VersionRequest::parse_cli("  ").unwrap_err().to_string(),
            format!("`` is not a version or a requirement: {cli}")
        );
        let cases = [
            ("latest", "`latest` has no operator such as `==` or `>=`"),
            ("~=0", "`~=` needs at least two release parts, like `~=0.160.0`, not `0`"),
            (">=0.160.*, <1", "`.*` only follows `==` or `!=`, not `>=`"),
            ("==0.162.0a1.*", "`.*` follows a release like `0.160`, not `0.162.0a1.*`"),
            (">=0.159,", "a specifier between commas is empty"),
            ("==1.2.3.4", "`1.2.3.4` has more than three release parts"),
            ("==0.160.1+local", "`0.160.1+local` is not a version"),
            ("==99999999999999999999", "`99999999999999999999` is too large for a version number"),
            (">=", "`>=` has no version"),
            ("^0.160.1 <", "`<` has no version"),
            ("^0.160.1.2", "`0.160.1.2` has more than three parts"),
            ("^0.160-alpha.1", "`0.160-alpha.1` has a pre-release but not three parts"),
            ("~0.160.1-alpha..1", "`alpha..1` in `0.160.1-alpha..1` is not a pre-release"),
            ("1 - next", "`next` is not a version or range"),
        ];
        for (input, problem) in cases {
            let e = VersionRequest::parse_cli(input).unwrap_err();
            assert_eq!(e.problem.as_deref(), Some(problem), "{input:?}");
            assert_eq!(e.to_string(), format!("`{input}` is not a version or a requirement ({problem}): {cli}"));
        }
        assert_eq!(
            VersionRequest::parse_pep440("0.160.1").unwrap_err().to_string(),
            "`0.160.1` is not a PEP 440 requirement (`0.160.1` has no operator such as `==` or `>=`): \
             expected specifiers like `==0.160.1`, `~=0.160.0` or `>=0.159, <0.160`"
        );
        assert_eq!(
            VersionRequest::parse_npm("file:../codex").unwrap_err().to_string(),
            "`file:../codex` is not an npm version range (`file:../codex` is not a version or range): \
             expected a version like `0.160.1` or a range like `^0.160.1` or `>=0.159 <0.160`"
        );
    }
}
