//! Runtime versions and their two spellings.
//!
//! Upstream publishes one version under two spellings: semver for npm and the GitHub tag
//! (`0.162.0-alpha.15`) and PEP 440 for the Python wheel (`0.162.0a15`). [`RuntimeVersion`]
//! parses either and prints either, so the rest of the crate never compares strings; the
//! spellings are read by the one PEP 440 reader, [`codex_app_server_client::version`].

use std::fmt;
use std::str::FromStr;

use codex_app_server_client::version;

/// A codex runtime version, stored as semver.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuntimeVersion(semver::Version);

/// A version string that is neither semver nor a PEP 440 spelling we can map to semver.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "`{0}` is not a codex version: expected semver like `0.163.0` or `0.162.0-alpha.15`, \
     or PEP 440 like `0.162.0a15`"
)]
pub struct InvalidVersion(pub String);

impl RuntimeVersion {
    /// The semver spelling, as used by npm and the GitHub release tag.
    pub fn semver(&self) -> &semver::Version {
        &self.0
    }

    /// Whether this is a pre-release (alpha, beta, rc).
    pub fn is_prerelease(&self) -> bool {
        !self.0.pre.is_empty()
    }

    /// The PEP 440 spelling used in wheel names: `-alpha.N` is `aN`, `-alpha.N.M` is
    /// `aN.postM`, `-beta.N` is `bN`, `-rc.N` is `rcN`.
    pub fn pep440(&self) -> String {
        version::pep440(&self.0).expect("a RuntimeVersion has a PEP 440 spelling")
    }

    /// The GitHub release tag: `rust-v` followed by the semver spelling.
    pub fn github_tag(&self) -> String {
        format!("rust-v{}", self.0)
    }
}

impl fmt::Display for RuntimeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for RuntimeVersion {
    type Err = InvalidVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let semver = version::parse_spelled(s).ok_or_else(|| InvalidVersion(s.to_owned()))?;
        Self::try_from(semver).map_err(|_| InvalidVersion(s.to_owned()))
    }
}

/// Upstream only publishes `alpha.N[.M]`, `beta.N` and `rc.N` pre-releases, without build
/// metadata: versions with a PEP 440 spelling.
impl TryFrom<semver::Version> for RuntimeVersion {
    type Error = InvalidVersion;

    fn try_from(semver: semver::Version) -> Result<Self, Self::Error> {
        let published = version::pep440(&semver).is_some()
            && (semver.pre.as_str().split('.').count() < 3 || semver.pre.as_str().starts_with("alpha."));
        match published {
            true => Ok(Self(semver)),
            false => Err(InvalidVersion(semver.to_string())),
        }
    }
}

impl serde::Serialize for RuntimeVersion {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for RuntimeVersion {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        super::parse_str(deserializer, "a version such as 0.163.0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        let cases = [
            ("0.163.0", "0.163.0", "0.163.0"),
            ("0.162.0-alpha.15", "0.162.0-alpha.15", "0.162.0a15"),
            ("0.162.0a15", "0.162.0-alpha.15", "0.162.0a15"),
            ("0.162.0-alpha.15.2", "0.162.0-alpha.15.2", "0.162.0a15.post2"),
            ("0.162.0a15.post2", "0.162.0-alpha.15.2", "0.162.0a15.post2"),
            ("1.0.0-beta.3", "1.0.0-beta.3", "1.0.0b3"),
            ("1.0.0b3", "1.0.0-beta.3", "1.0.0b3"),
            ("1.0.0-rc.1", "1.0.0-rc.1", "1.0.0rc1"),
            ("1.0.0rc1", "1.0.0-rc.1", "1.0.0rc1"),
            ("v0.163.0", "0.163.0", "0.163.0"),
        ];
        for (input, semver, pep440) in cases {
            let v: RuntimeVersion = input.parse().unwrap();
            assert_eq!(v.to_string(), semver, "{input}");
            assert_eq!(v.pep440(), pep440, "{input}");
        }
    }

    #[test]
    fn both_spellings_are_equal() {
        let a: RuntimeVersion = "0.162.0-alpha.15".parse().unwrap();
        let b: RuntimeVersion = "0.162.0a15".parse().unwrap();
        assert_eq!(a, b);
        assert!(a.is_prerelease());
        assert_eq!(a.github_tag(), "rust-v0.162.0-alpha.15");
    }

    #[test]
    fn rejects_what_has_no_two_spellings() {
        for bad in [
            "",
            "0.163",
            "latest",
            "0.162.0-alpha",
            "0.162.0-dev.1",
            "0.162.0a",
            "0.162.0x1",
            "0.163.0+build",
            "0.162.0b1.post2",
            "0.162.0-alpha.x",
            "0.162.0A15",
            "0.162.0c1",
            "0.162.0a015",
            "0.162.0.alpha15",
        ] {
            assert!(bad.parse::<RuntimeVersion>().is_err(), "{bad:?} should be rejected");
        }
    }
}
