//! Version spellings: semver (`0.162.0-alpha.15`, npm and GitHub tags) and PEP 440
//! (`0.162.0a15`, wheels) name the same release and must compare equal.

/// The PEP 440 spelling of `version`, lowercased, so that both spellings of one release are
/// the same string: `-alpha.N` is `aN`, `-beta.N` is `bN`, `-rc.N` is `rcN`, and a second
/// number (`-alpha.N.M`) is `.postM`. Anything else is returned trimmed and lowercased, without a leading `v`.
pub(crate) fn pep440(version: &str) -> String {
    let lowercase = version.trim().to_ascii_lowercase();
    let version = lowercase.strip_prefix('v').unwrap_or(&lowercase);
    let Some((release, pre)) = version.split_once('-') else {
        return version.to_owned();
    };
    let mut parts = pre.split('.');
    let kind = match parts.next() {
        Some("alpha") => "a",
        Some("beta") => "b",
        Some("rc") => "rc",
        _ => return version.to_owned(),
    };
    let number = parts.next().filter(|n| is_number(n));
    let post = parts.next();
    match (number, post, parts.next()) {
        (Some(n), None, None) => format!("{release}{kind}{n}"),
        (Some(n), Some(m), None) if is_number(m) => format!("{release}{kind}{n}.post{m}"),
        _ => version.to_owned(),
    }
}

/// Whether two spellings name the same version.
pub(crate) fn same_version(a: &str, b: &str) -> bool {
    pep440(a) == pep440(b)
}

/// `version` as semver, accepting the PEP 440 spelling as well (`0.162.0a15.post2` is
/// `0.162.0-alpha.15.2`).
pub(crate) fn to_semver(version: &str) -> Option<semver::Version> {
    let version = version.trim();
    let version = version.strip_prefix('v').unwrap_or(version);
    if let Ok(parsed) = semver::Version::parse(version) {
        return Some(parsed);
    }
    let release_len = version.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(version.len());
    let (release, rest) = version.split_at(release_len);
    let (kind, rest) = [("rc", "rc"), ("a", "alpha"), ("b", "beta")]
        .into_iter()
        .find_map(|(short, long)| rest.strip_prefix(short).map(|rest| (long, rest)))?;
    let (number, post) = match rest.split_once(".post") {
        Some((number, post)) => (number, Some(post)),
        None => (rest, None),
    };
    if !is_number(number) || !post.is_none_or(is_number) {
        return None;
    }
    let spelled = match post {
        Some(post) => format!("{release}-{kind}.{number}.{post}"),
        None => format!("{release}-{kind}.{number}"),
    };
    semver::Version::parse(&spelled).ok()
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
        ];
        for (a, b) in different {
            assert!(!same_version(a, b), "{a} should differ from {b}");
        }
    }

    #[test]
    fn pep440_spelling() {
        let cases = [
            ("0.162.0-alpha.15", "0.162.0a15"),
            ("0.162.0-alpha.15.3", "0.162.0a15.post3"),
            ("0.162.0-beta.2", "0.162.0b2"),
            ("0.162.0-rc.4", "0.162.0rc4"),
            ("0.162.0-dev.4", "0.162.0-dev.4"),
            ("0.162.0-alpha", "0.162.0-alpha"),
            ("0.162.0-alpha.x", "0.162.0-alpha.x"),
            ("0.162.0-alpha.1.2.3", "0.162.0-alpha.1.2.3"),
        ];
        for (input, want) in cases {
            assert_eq!(pep440(input), want, "{input}");
        }
    }

    #[test]
    fn semver_from_either_spelling() {
        let cases = [
            ("0.163.0", Some("0.163.0")),
            ("0.162.0-alpha.15", Some("0.162.0-alpha.15")),
            ("0.162.0a15", Some("0.162.0-alpha.15")),
            ("0.162.0a15.post2", Some("0.162.0-alpha.15.2")),
            ("0.162.0b3", Some("0.162.0-beta.3")),
            ("0.162.0rc1", Some("0.162.0-rc.1")),
            ("v1.2.3", Some("1.2.3")),
            ("0.162.0x1", None),
            ("0.162.0a", None),
            ("0.162.0a1.post", None),
            ("not a version", None),
            ("", None),
        ];
        for (input, want) in cases {
            let got = to_semver(input).map(|v| v.to_string());
            assert_eq!(got.as_deref(), want, "{input}");
        }
    }
}
