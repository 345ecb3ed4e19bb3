//! Version spellings: the workspace's one reader of PEP 440.
//!
//! A codex release is published under two spellings: semver for npm and the GitHub tag
//! (`0.162.0-alpha.15`) and PEP 440 for the Python wheel (`0.162.0a15`). Both are read into a
//! [`semver::Version`], so that spellings of one release compare equal:
//!
//! - [`parse`] reads a version the way an installer reads a PEP 440 version (any case, `alpha`
//!   for `a`, `c`/`pre`/`preview` for `rc`, optional separators, implicit numbers, the release
//!   padded to three parts), or the semver spelling of a release.
//! - [`parse_spelled`] accepts only how a version is written out: any semver, or the PEP 440
//!   spelling that [`pep440`] gives.
//! - [`pep440`] writes the PEP 440 spelling: `-alpha.N` is `aN`, `-beta.N` is `bN`, `-rc.N` is
//!   `rcN`, and a second number (`-alpha.N.M`) is `.postM`.
//!
//! ```
//! use codex_app_server_client::version;
//!
//! let parsed = version::parse("0.162.0.Alpha15")?;
//! assert_eq!(parsed.version.to_string(), "0.162.0-alpha.15");
//! assert_eq!(version::pep440(&parsed.version).as_deref(), Some("0.162.0a15"));
//! assert_eq!(version::parse_spelled("0.162.0a15"), Some(parsed.version));
//! assert_eq!(version::parse_spelled("0.162.0.Alpha15"), None);
//! # Ok::<(), version::VersionError>(())
//! ```

use semver::{BuildMetadata, Prerelease, Version};

/// A version read by [`parse`], and how many release parts it was written with (`0.160` has
/// two).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The version, its release padded with zeros to three parts.
    pub version: Version,
    /// The release parts as written, trailing zeros included.
    pub release_parts: usize,
}

/// Why [`parse`] read no version. Each variant holds the text it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// Not a version, or one semver cannot say: an epoch, a development, local or final
    /// post-release.
    #[error("`{0}` is not a version")]
    Invalid(String),
    /// A release with a fourth part that is not zero (`1.2.3.4`).
    #[error("`{0}` has more than three release parts")]
    TooManyParts(String),
    /// A number that does not fit in 64 bits.
    #[error("`{0}` is too large for a version number")]
    TooLarge(String),
}

/// The pre-release words of PEP 440 and what they mean, longest first where one starts another.
const PRE: [(&str, &str); 8] = [
    ("alpha", "alpha"),
    ("a", "alpha"),
    ("beta", "beta"),
    ("b", "beta"),
    ("preview", "rc"),
    ("pre", "rc"),
    ("rc", "rc"),
    ("c", "rc"),
];

/// The post-release words of PEP 440.
const POST: [(&str, &str); 3] = [("post", "post"), ("rev", "post"), ("r", "post")];

/// `text` as a version, normalized the way installers compare PEP 440 versions (leading and
/// trailing whitespace and a leading `v` allowed). The semver spelling of a release reads as
/// itself, even where it is no PEP 440 (`0.162.0-alpha.15.2`).
pub fn parse(text: &str) -> Result<Parsed, VersionError> {
    let text = text.trim();
    if let Ok(version) = Version::parse(text.strip_prefix('v').unwrap_or(text))
        && pep440(&version).is_some()
    {
        return Ok(Parsed { version, release_parts: 3 });
    }
    let invalid = || VersionError::Invalid(text.to_owned());
    let lower = text.to_ascii_lowercase();
    let mut rest = lower.strip_prefix('v').unwrap_or(&lower);
    let mut release = Vec::new();
    loop {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return Err(invalid());
        }
        release.push(number(&rest[..digits])?);
        rest = &rest[digits..];
        match rest.strip_prefix('.') {
            Some(next) if next.starts_with(|c: char| c.is_ascii_digit()) => rest = next,
            _ => break,
        }
    }
    let pre = segment(&mut rest, &PRE)?;
    let post = match rest.strip_prefix('-') {
        // `1.0a1-2` is `1.0a1.post2`.
        Some(after) if after.starts_with(|c: char| c.is_ascii_digit()) => {
            let digits = after.find(|c: char| !c.is_ascii_digit()).unwrap_or(after.len());
            rest = &after[digits..];
            Some(number(&after[..digits])?)
        }
        _ => segment(&mut rest, &POST)?.map(|(_, n)| n),
    };
    if !rest.is_empty() {
        return Err(invalid());
    }
    if release.iter().skip(3).any(|&part| part != 0) {
        return Err(VersionError::TooManyParts(text.to_owned()));
    }
    let pre = match (pre, post) {
        (None, None) => Prerelease::EMPTY,
        (Some((kind, n)), None) => Prerelease::new(&format!("{kind}.{n}")).map_err(|_| invalid())?,
        (Some((kind, n)), Some(m)) => Prerelease::new(&format!("{kind}.{n}.{m}")).map_err(|_| invalid())?,
        // Semver has no release after a final release.
        (None, Some(_)) => return Err(invalid()),
    };
    let part = |i: usize| release.get(i).copied().unwrap_or(0);
    let version = Version { pre, build: BuildMetadata::EMPTY, ..Version::new(part(0), part(1), part(2)) };
    Ok(Parsed { version, release_parts: release.len() })
}

/// `text` as written out: any semver, or the PEP 440 spelling [`pep440`] gives of a version
/// (a leading `v` and surrounding whitespace allowed). `0.162.0a15` is read, `0.162.0A15`,
/// `0.162.0a` and `0.163` are not.
pub fn parse_spelled(text: &str) -> Option<Version> {
    let text = text.trim();
    let text = text.strip_prefix('v').unwrap_or(text);
    if let Ok(version) = Version::parse(text) {
        return Some(version);
    }
    let version = parse(text).ok()?.version;
    (pep440(&version).as_deref() == Some(text)).then_some(version)
}

/// The PEP 440 spelling of `version`, if it has one: no build metadata, and no pre-release
/// other than `alpha`, `beta` or `rc` with one or two numbers.
pub fn pep440(version: &Version) -> Option<String> {
    let release = format!("{}.{}.{}", version.major, version.minor, version.patch);
    if !version.build.is_empty() {
        return None;
    }
    if version.pre.is_empty() {
        return Some(release);
    }
    let mut parts = version.pre.as_str().split('.');
    let kind = match parts.next() {
        Some("alpha") => "a",
        Some("beta") => "b",
        Some("rc") => "rc",
        _ => return None,
    };
    let number = parts.next().filter(|n| is_number(n))?;
    match (parts.next(), parts.next()) {
        (None, _) => Some(format!("{release}{kind}{number}")),
        (Some(post), None) if is_number(post) => Some(format!("{release}{kind}{number}.post{post}")),
        _ => None,
    }
}

/// Whether two spellings name the same version: as versions when both are written out as one
/// ([`parse_spelled`], case aside), else as trimmed lowercase text without a leading `v`.
pub(crate) fn same_version(a: &str, b: &str) -> bool {
    let key = |s: &str| {
        let s = s.trim().to_ascii_lowercase();
        parse_spelled(&s).ok_or_else(|| s.strip_prefix('v').unwrap_or(&s).to_owned())
    };
    key(a) == key(b)
}

/// `[-_.]WORD[-_.]N` at the start of `rest`, for the first of `words` found there: what the
/// word means and its number (0 when it has none); `rest` moves past it.
fn segment(rest: &mut &str, words: &[(&str, &'static str)]) -> Result<Option<(&'static str, u64)>, VersionError> {
    let s = rest.strip_prefix(['-', '_', '.']).unwrap_or(rest);
    let Some((word, meaning)) = words.iter().find(|(word, _)| s.starts_with(word)) else {
        return Ok(None);
    };
    let s = &s[word.len()..];
    let numbered = s.strip_prefix(['-', '_', '.']).unwrap_or(s);
    let digits = numbered.find(|c: char| !c.is_ascii_digit()).unwrap_or(numbered.len());
    if digits == 0 {
        *rest = s;
        return Ok(Some((meaning, 0)));
    }
    *rest = &numbered[digits..];
    Ok(Some((meaning, number(&numbered[..digits])?)))
}

fn number(digits: &str) -> Result<u64, VersionError> {
    digits.parse().map_err(|_| VersionError::TooLarge(digits.to_owned()))
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_release_compare_equal() {
        let equal = [
            ("0.163.0", "0.163.0"),
            ("0.162.0-alpha.15", "0.162.0a15"),
            ("0.162.0-alpha.15.2", "0.162.0a15.post2"),
            ("0.162.0-beta.3", "0.162.0b3"),
            ("0.162.0-rc.1", "0.162.0rc1"),
            ("v0.163.0", "0.163.0"),
            (" 0.163.0\n", "0.163.0"),
            ("0.162.0-ALPHA.15", "0.162.0-alpha.15"),
            ("0.162.0-dev.4", "0.162.0-dev.4"),
            ("0.162.0a", "0.162.0A"),
        ];
        for (a, b) in equal {
            assert!(same_version(a, b), "{a} should equal {b}");
            assert!(same_version(b, a), "{b} should equal {a}");
        }
    }

    #[test]
    fn different_releases_differ() {
        let different = [
            ("0.163.0", "0.162.0"),
            ("0.162.0-alpha.15", "0.162.0a16"),
            ("0.162.0-alpha.15", "0.162.0b15"),
            ("0.162.0-alpha.15", "0.162.0"),
            ("0.162.0-alpha.15.2", "0.162.0a15"),
            ("0.162.0-rc.1", "0.162.0a1"),
            ("0.163.0", "0.163.0.1"),
            ("0.163.0", "0.163"),
            ("0.162.0-rc.1", "0.162.0c1"),
        ];
        for (a, b) in different {
            assert!(!same_version(a, b), "{a} should differ from {b}");
        }
    }

    #[test]
    fn pep440_spelling() {
        let cases = [
            ("0.163.0", Some("0.163.0")),
            ("0.162.0-alpha.15", Some("0.162.0a15")),
            ("0.162.0-alpha.15.3", Some("0.162.0a15.post3")),
            ("0.162.0-beta.2", Some("0.162.0b2")),
            ("0.162.0-rc.4", Some("0.162.0rc4")),
            ("0.162.0-dev.4", None),
            ("0.162.0-alpha", None),
            ("0.162.0-alpha.x", None),
            ("0.162.0-alpha.1.2.3", None),
            ("0.163.0+build", None),
        ];
        for (input, want) in cases {
            assert_eq!(pep440(&Version::parse(input).unwrap()).as_deref(), want, "{input}");
        }
    }

    #[test]
    fn spelled_versions_read_as_semver() {
        let cases = [
            ("0.163.0", Some("0.163.0")),
            ("0.162.0-alpha.15", Some("0.162.0-alpha.15")),
            ("0.162.0a15", Some("0.162.0-alpha.15")),
            ("0.162.0a15.post2", Some("0.162.0-alpha.15.2")),
            ("0.162.0b3", Some("0.162.0-beta.3")),
            ("0.162.0rc1", Some("0.162.0-rc.1")),
            ("0.162.0b3.post2", Some("0.162.0-beta.3.2")),
            ("0.162.0-dev.4", Some("0.162.0-dev.4")),
            ("v1.2.3", Some("1.2.3")),
            ("0.162.0x1", None),
            ("0.162.0a", None),
            ("0.162.0A15", None),
            ("0.162.0a015", None),
            ("0.162.0a1.post", None),
            ("0.163", None),
            ("not a version", None),
            ("", None),
        ];
        for (input, want) in cases {
            let got = parse_spelled(input).map(|v| v.to_string());
            assert_eq!(got.as_deref(), want, "{input}");
        }
    }

    #[test]
    fn versions_read_the_way_installers_do() {
        let cases = [
            ("0.163.0", Ok(("0.163.0", 3))),
            ("0.163", Ok(("0.163.0", 2))),
            ("0", Ok(("0.0.0", 1))),
            ("0.163.0.0", Ok(("0.163.0", 4))),
            ("v0.163.0", Ok(("0.163.0", 3))),
            ("V0.163.0", Ok(("0.163.0", 3))),
            (" 0.163.0\n", Ok(("0.163.0", 3))),
            ("0.162.0a15", Ok(("0.162.0-alpha.15", 3))),
            ("0.162.0A15", Ok(("0.162.0-alpha.15", 3))),
            ("0.162.0-alpha.15", Ok(("0.162.0-alpha.15", 3))),
            ("0.162.0-ALPHA.15", Ok(("0.162.0-alpha.15", 3))),
            ("0.162.0.alpha15", Ok(("0.162.0-alpha.15", 3))),
            ("0.162.0_alpha_15", Ok(("0.162.0-alpha.15", 3))),
            ("0.162.0a015", Ok(("0.162.0-alpha.15", 3))),
            ("0.162.0a", Ok(("0.162.0-alpha.0", 3))),
            ("0.162.0a15.post2", Ok(("0.162.0-alpha.15.2", 3))),
            ("0.162.0a15-post2", Ok(("0.162.0-alpha.15.2", 3))),
            ("0.162.0a15post2", Ok(("0.162.0-alpha.15.2", 3))),
            ("0.162.0a15-2", Ok(("0.162.0-alpha.15.2", 3))),
            ("0.162.0a15.rev2", Ok(("0.162.0-alpha.15.2", 3))),
            ("0.162.0a15.post", Ok(("0.162.0-alpha.15.0", 3))),
            ("0.162.0-alpha.15.2", Ok(("0.162.0-alpha.15.2", 3))),
            ("1.0.0beta3", Ok(("1.0.0-beta.3", 3))),
            ("1.0.0c1", Ok(("1.0.0-rc.1", 3))),
            ("1.0.0-preview.1", Ok(("1.0.0-rc.1", 3))),
            ("1.0.0pre1", Ok(("1.0.0-rc.1", 3))),
            ("1.0.0.dev1", Err(VersionError::Invalid("1.0.0.dev1".into()))),
            ("1.0.0.post1", Err(VersionError::Invalid("1.0.0.post1".into()))),
            ("0.163.0+local", Err(VersionError::Invalid("0.163.0+local".into()))),
            ("1!0.163.0", Err(VersionError::Invalid("1!0.163.0".into()))),
            ("0.162.0x1", Err(VersionError::Invalid("0.162.0x1".into()))),
            ("0.162.0a1-2x", Err(VersionError::Invalid("0.162.0a1-2x".into()))),
            ("0.163.", Err(VersionError::Invalid("0.163.".into()))),
            ("latest", Err(VersionError::Invalid("latest".into()))),
            ("0..1", Err(VersionError::Invalid("0..1".into()))),
            ("", Err(VersionError::Invalid("".into()))),
            ("1.2.3.4", Err(VersionError::TooManyParts("1.2.3.4".into()))),
            ("99999999999999999999", Err(VersionError::TooLarge("99999999999999999999".into()))),
        ];
        for (input, want) in cases {
            let got = parse(input).map(|p| (p.version.to_string(), p.release_parts));
            let want = want.map(|(v, parts)| (v.to_owned(), parts));
            assert_eq!(got, want, "{input:?}");
        }
    }
}
