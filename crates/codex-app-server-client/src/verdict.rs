//! The compatibility verdict: what was expected, and every way a server fell short of it.

use std::fmt;
use std::time::Duration;

use semver::VersionReq;

use crate::metadata::Metadata;
use crate::version;

/// The fields of the pinned protocol's `initialize` result; a server that lacks one is older.
const PROTOCOL_FIELDS: [&str; 4] = ["userAgent", "codexHome", "platformFamily", "platformOs"];

/// What the server must report to be compatible.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    /// Which versions are acceptable.
    pub version: ExpectedVersion,
    /// The `platformOs` the server must report (`linux`, `macos`, `windows`); `None` accepts any.
    pub platform_os: Option<String>,
    /// The `platformFamily` the server must report (`unix`, `windows`); `None` accepts any.
    pub platform_family: Option<String>,
}

impl Expected {
    /// Any version, on the platform this program runs on: `platformOs` is
    /// [`std::env::consts::OS`] and `platformFamily` is [`std::env::consts::FAMILY`], which is
    /// what a real server reports (`linux`/`unix` on Linux).
    pub fn host() -> Self {
        Self {
            version: ExpectedVersion::Any,
            platform_os: Some(std::env::consts::OS.to_owned()),
            platform_family: Some(std::env::consts::FAMILY.to_owned()),
        }
    }
}

/// Which versions a server may report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// Any version is acceptable.
    #[default]
    Any,
    /// Exactly this version (the pin), in either spelling: `0.162.0-alpha.15` and `0.162.0a15`
    /// are equal.
    Exact(String),
    /// Any version that satisfies this semver requirement; a PEP 440 spelling reported by the
    /// server is read as its semver equivalent. As in Cargo, a pre-release only matches a
    /// requirement that names a pre-release of the same `major.minor.patch`.
    Matches(VersionReq),
}

impl ExpectedVersion {
    /// How the expectation is printed in a report: the pin, the requirement, or nothing.
    pub fn describe(&self) -> Option<String> {
        match self {
            Self::Any => None,
            Self::Exact(pin) => Some(pin.clone()),
            Self::Matches(requirement) => Some(requirement.to_string()),
        }
    }
}

/// One reason a server is not compatible, with its evidence.
///
/// `Display` gives the message shown to users; a report serializes each problem as that
/// message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The result lacks a field of the pinned protocol (or has it with a non-string value).
    MissingField {
        /// The JSON name of the field, e.g. `codexHome`.
        field: &'static str,
    },
    /// `userAgent` is present but has no `name/VERSION` token, and there is no `serverInfo`.
    UnreadableUserAgent {
        /// The user agent as sent.
        user_agent: String,
    },
    /// The version differs from the pin.
    VersionMismatch {
        /// The pinned version.
        expected: String,
        /// The version the server reported.
        actual: String,
    },
    /// The version does not satisfy the requirement.
    VersionUnsatisfied {
        /// The requirement.
        required: VersionReq,
        /// The version the server reported.
        actual: String,
    },
    /// A requirement was given but the reported version is neither semver nor PEP 440.
    VersionNotComparable {
        /// The requirement.
        required: VersionReq,
        /// The version the server reported.
        actual: String,
    },
    /// `platformOs` differs from the expected one.
    PlatformOsMismatch {
        /// The expected OS.
        expected: String,
        /// The OS the server reported.
        actual: String,
    },
    /// `platformFamily` differs from the expected one.
    PlatformFamilyMismatch {
        /// The expected family.
        expected: String,
        /// The family the server reported.
        actual: String,
    },
    /// The server answered `initialize` with a JSON-RPC error.
    ErrorResponse {
        /// The error's `code`, when it has a numeric one.
        code: Option<i64>,
        /// The error's `message` (or the whole error object when it has none).
        message: String,
        /// The end of the server's stderr.
        stderr: String,
    },
    /// The response with our id has neither a `result` object nor an `error`.
    MalformedResponse {
        /// The response line, truncated.
        line: String,
    },
    /// The server wrote a line that is not JSON.
    NotJson {
        /// The line, truncated.
        line: String,
        /// The end of the server's stderr.
        stderr: String,
    },
    /// The server wrote a line longer than the limit.
    LineTooLong {
        /// The limit in bytes.
        limit: usize,
        /// The start of the line.
        start: String,
        /// The end of the server's stderr.
        stderr: String,
    },
    /// The server closed its stdout (usually: exited) before answering.
    EarlyExit {
        /// How it ended, e.g. `exit status: 3`.
        status: String,
        /// The end of the server's stderr.
        stderr: String,
    },
    /// Reading the server's stdout failed.
    ReadFailed {
        /// The I/O error.
        error: String,
        /// The end of the server's stderr.
        stderr: String,
    },
    /// No answer to `initialize` within the timeout.
    Timeout {
        /// The timeout.
        after: Duration,
        /// The end of the server's stderr.
        stderr: String,
    },
    /// The schema the binary describes is not the one pinned for the version it reports.
    ProtocolMismatch {
        /// The version it reports.
        reported: String,
        /// How it differs, e.g. `5 methods added, ...`.
        detail: String,
    },
    /// A client generated against `client` cannot talk to this server.
    ClientIncompatible {
        /// The client's version.
        client: String,
        /// What breaks it.
        detail: String,
    },
}

/// Something worth knowing about a server that does not make it incompatible.
///
/// `Display` gives the message shown to users; a report serializes each warning as that
/// message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// The server kept running after its stdin closed and was killed (with its process
    /// group). SDKs close stdin, wait, then terminate the server (the Python SDK waits 2 s), so
    /// such a server costs its users that wait but works.
    IgnoredStdinClose {
        /// How long it was given.
        grace: Duration,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::IgnoredStdinClose { grace } => write!(
                f,
                "the app-server was still running {} after its stdin closed, so it was killed with its process group (SDKs terminate such a server when they close it; it costs them that wait)",
                seconds(*grace)
            ),
        }
    }
}

impl serde::Serialize for Warning {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingField { field } => {
                write!(f, "the initialize result lacks `{field}`: the binary is older than the pinned protocol")
            }
            Self::UnreadableUserAgent { user_agent } => {
                write!(f, "cannot read a version from userAgent `{user_agent}` (expected `name/VERSION ...`)")
            }
            Self::VersionMismatch { expected, actual } => {
                write!(f, "version {actual} does not match the pinned {expected}")
            }
            Self::VersionUnsatisfied { required, actual } => {
                write!(f, "version {actual} does not satisfy the requirement `{required}`")
            }
            Self::VersionNotComparable { required, actual } => {
                write!(f, "version {actual} is not a semver or PEP 440 version, so it cannot satisfy `{required}`")
            }
            Self::PlatformOsMismatch { expected, actual } => {
                write!(f, "platformOs is {actual}, expected {expected}")
            }
            Self::PlatformFamilyMismatch { expected, actual } => {
                write!(f, "platformFamily is {actual}, expected {expected}")
            }
            Self::ErrorResponse { code, message, stderr } => {
                match code {
                    Some(code) => write!(f, "initialize failed with JSON-RPC error {code}: {message}")?,
                    None => write!(f, "initialize failed with JSON-RPC error: {message}")?,
                }
                write_stderr(f, stderr)
            }
            Self::MalformedResponse { line } => {
                write!(f, "the response to initialize has neither a result object nor an error: {line}")
            }
            Self::NotJson { line, stderr } => {
                write!(f, "the app-server wrote a line that is not JSON: {line}")?;
                write_stderr(f, stderr)
            }
            Self::LineTooLong { limit, start, stderr } => {
                write!(f, "the app-server wrote a line longer than {limit} bytes: {start}")?;
                write_stderr(f, stderr)
            }
            Self::EarlyExit { status, stderr } => {
                write!(f, "the app-server exited before answering initialize ({status})")?;
                write_stderr(f, stderr)
            }
            Self::ReadFailed { error, stderr } => {
                write!(f, "reading the app-server's stdout failed: {error}")?;
                write_stderr(f, stderr)
            }
            Self::Timeout { after, stderr } => {
                write!(f, "no answer to initialize within {}", seconds(*after))?;
                write_stderr(f, stderr)
            }
            Self::ProtocolMismatch { reported, detail } => {
                write!(f, "reports {reported} but speaks a different protocol than {reported}: {detail}")
            }
            Self::ClientIncompatible { client, detail } => {
                write!(f, "a client generated against {client} cannot talk to it: {detail}")
            }
        }
    }
}

impl serde::Serialize for Problem {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

fn write_stderr(f: &mut fmt::Formatter<'_>, stderr: &str) -> fmt::Result {
    if stderr.is_empty() { Ok(()) } else { write!(f, "; its stderr ends with:\n{stderr}") }
}

fn seconds(duration: Duration) -> String {
    format!("{}s", duration.as_secs_f64())
}

/// Every way `metadata` falls short of `expected`; empty when compatible.
pub(crate) fn verdict(metadata: &Metadata, expected: &Expected) -> Vec<Problem> {
    let present = [
        metadata.user_agent.is_some(),
        metadata.codex_home.is_some(),
        metadata.platform_family.is_some(),
        metadata.platform_os.is_some(),
    ];
    let mut problems: Vec<Problem> = PROTOCOL_FIELDS
        .into_iter()
        .zip(present)
        .filter(|(_, present)| !present)
        .map(|(field, _)| Problem::MissingField { field })
        .collect();

    match metadata.version() {
        Some(actual) => problems.extend(version_problem(actual, &expected.version)),
        None => {
            if let Some(user_agent) = &metadata.user_agent {
                problems.push(Problem::UnreadableUserAgent { user_agent: user_agent.clone() });
            }
        }
    }

    if let (Some(expected), Some(actual)) = (&expected.platform_os, &metadata.platform_os)
        && !expected.eq_ignore_ascii_case(actual)
    {
        problems.push(Problem::PlatformOsMismatch { expected: expected.clone(), actual: actual.clone() });
    }
    if let (Some(expected), Some(actual)) = (&expected.platform_family, &metadata.platform_family)
        && !expected.eq_ignore_ascii_case(actual)
    {
        problems.push(Problem::PlatformFamilyMismatch { expected: expected.clone(), actual: actual.clone() });
    }
    problems
}

fn version_problem(actual: &str, expected: &ExpectedVersion) -> Option<Problem> {
    match expected {
        ExpectedVersion::Any => None,
        ExpectedVersion::Exact(pin) => (!version::same_version(actual, pin))
            .then(|| Problem::VersionMismatch { expected: pin.clone(), actual: actual.to_owned() }),
        ExpectedVersion::Matches(required) => match version::parse_spelled(actual) {
            Some(parsed) if required.matches(&parsed) => None,
            Some(_) => Some(Problem::VersionUnsatisfied { required: required.clone(), actual: actual.to_owned() }),
            None => Some(Problem::VersionNotComparable { required: required.clone(), actual: actual.to_owned() }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(version: &str) -> Metadata {
        Metadata {
            user_agent: Some(format!("codex_runtime/{version} (Debian 12.0.0; x86_64) xterm (codex_runtime; 0.1.0)")),
            server_info_version: None,
            codex_home: Some("/tmp/home".into()),
            platform_family: Some("unix".into()),
            platform_os: Some("linux".into()),
        }
    }

    fn linux(version: ExpectedVersion) -> Expected {
        Expected { version, platform_os: Some("linux".into()), platform_family: Some("unix".into()) }
    }

    fn exact(pin: &str) -> ExpectedVersion {
        ExpectedVersion::Exact(pin.into())
    }

    fn matches(requirement: &str) -> ExpectedVersion {
        ExpectedVersion::Matches(requirement.parse().unwrap())
    }

    #[test]
    fn versions() {
        let cases: [(&str, ExpectedVersion, bool); 10] = [
            ("0.163.0", ExpectedVersion::Any, true),
            ("0.163.0", exact("0.163.0"), true),
            ("0.162.0-alpha.15", exact("0.162.0a15"), true),
            ("0.162.0a15", exact("0.162.0-alpha.15"), true),
            ("0.162.0", exact("0.163.0"), false),
            ("0.163.0", matches(">=0.160, <0.200"), true),
            ("0.159.0", matches(">=0.160"), false),
            ("0.162.0a15", matches("=0.162.0-alpha.15"), true),
            ("0.162.0-alpha.15", matches(">=0.160"), false),
            ("0.163.0", matches("^0.163"), true),
        ];
        for (actual, expected, ok) in cases {
            let problems = verdict(&full(actual), &linux(expected.clone()));
            assert_eq!(problems.is_empty(), ok, "{actual} vs {expected:?}: {problems:?}");
        }
    }

    #[test]
    fn each_problem_is_listed_separately() {
        let mut metadata = full("0.150.0");
        metadata.platform_os = Some("windows".into());
        metadata.platform_family = Some("windows".into());
        metadata.codex_home = None;
        let problems = verdict(&metadata, &linux(exact("0.163.0")));
        assert_eq!(
            problems,
            [
                Problem::MissingField { field: "codexHome" },
                Problem::VersionMismatch { expected: "0.163.0".into(), actual: "0.150.0".into() },
                Problem::PlatformOsMismatch { expected: "linux".into(), actual: "windows".into() },
                Problem::PlatformFamilyMismatch { expected: "unix".into(), actual: "windows".into() },
            ]
        );
        assert_eq!(
            problems[0].to_string(),
            "the initialize result lacks `codexHome`: the binary is older than the pinned protocol"
        );
        assert_eq!(problems[1].to_string(), "version 0.150.0 does not match the pinned 0.163.0");
    }

    #[test]
    fn old_shape_lacks_fields_but_has_a_version() {
        let metadata = Metadata {
            user_agent: Some("codex_runtime/0.163.0 (x; y) z (codex_runtime; 0.1.0)".into()),
            ..Metadata::default()
        };
        let problems = verdict(&metadata, &linux(exact("0.163.0")));
        assert_eq!(
            problems,
            [
                Problem::MissingField { field: "codexHome" },
                Problem::MissingField { field: "platformFamily" },
                Problem::MissingField { field: "platformOs" },
            ]
        );
    }

    #[test]
    fn server_info_shape_is_checked_by_its_version() {
        let metadata = Metadata { server_info_version: Some("0.40.0".into()), ..Metadata::default() };
        let problems = verdict(&metadata, &Expected::default());
        assert_eq!(problems.len(), 4, "every protocol field is missing: {problems:?}");
        let problems = verdict(&metadata, &linux(exact("0.163.0")));
        assert!(problems.contains(&Problem::VersionMismatch { expected: "0.163.0".into(), actual: "0.40.0".into() }));
    }

    #[test]
    fn unreadable_versions() {
        let mut metadata = full("0.163.0");
        metadata.user_agent = Some("no version here".into());
        assert_eq!(
            verdict(&metadata, &linux(exact("0.163.0"))),
            [Problem::UnreadableUserAgent { user_agent: "no version here".into() }]
        );

        let problems = verdict(&full("nightly"), &linux(matches(">=0.1")));
        assert_eq!(
            problems,
            [Problem::VersionNotComparable { required: ">=0.1".parse().unwrap(), actual: "nightly".into() }]
        );
    }

    #[test]
    fn unset_platform_expectations_accept_anything() {
        let mut metadata = full("0.163.0");
        metadata.platform_os = Some("plan9".into());
        assert!(verdict(&metadata, &Expected::default()).is_empty());
        assert_eq!(verdict(&metadata, &linux(ExpectedVersion::Any)).len(), 1);
    }

    #[test]
    fn host_expectation_matches_the_real_servers_spelling() {
        let host = Expected::host();
        if cfg!(target_os = "linux") {
            assert_eq!(host.platform_os.as_deref(), Some("linux"));
            assert_eq!(host.platform_family.as_deref(), Some("unix"));
        }
        if cfg!(windows) {
            assert_eq!(host.platform_family.as_deref(), Some("windows"));
        }
    }

    #[test]
    fn problems_serialize_as_their_message() {
        let problem = Problem::EarlyExit { status: "exit status: 3".into(), stderr: "boom".into() };
        assert_eq!(
            serde_json::to_value(&problem).unwrap(),
            serde_json::Value::String(
                "the app-server exited before answering initialize (exit status: 3); \
                 its stderr ends with:\nboom"
                    .into()
            )
        );
        let timeout = Problem::Timeout { after: Duration::from_millis(1500), stderr: String::new() };
        assert_eq!(timeout.to_string(), "no answer to initialize within 1.5s");
    }

    #[test]
    fn expectation_descriptions() {
        assert_eq!(ExpectedVersion::Any.describe(), None);
        assert_eq!(exact("0.163.0").describe().as_deref(), Some("0.163.0"));
        assert_eq!(matches(">=0.160").describe().as_deref(), Some(">=0.160"));
    }
}
