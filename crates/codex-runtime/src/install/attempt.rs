//! What each source said when it was asked for an artifact, and bytes that fail the pins.

use std::fmt;
use std::io;

use crate::fetch::download::TryError;
use crate::fetch::verify::VerifyError;
use crate::model::error::error_chain;
use crate::net::HttpError;
use crate::sources::ProgramError;

/// Why one attempt failed.
#[derive(Debug)]
pub enum AttemptFailure {
    /// The source does not have the artifact.
    NotFound,
    /// The source does not have the artifact, and says why (a registry without the platform
    /// version).
    Absent(String),
    /// The source could not be reached, answered with an error, or could not be used.
    Unavailable(Unavailable),
    /// The source served bytes that fail the pins.
    Verification(VerifyError),
}

impl AttemptFailure {
    /// Whether the source simply does not have the artifact.
    pub fn is_missing(&self) -> bool {
        matches!(self, AttemptFailure::NotFound | AttemptFailure::Absent(_))
    }
}

impl fmt::Display for AttemptFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttemptFailure::NotFound => f.write_str("not found"),
            AttemptFailure::Absent(reason) => f.write_str(reason),
            AttemptFailure::Unavailable(why) => why.fmt(f),
            AttemptFailure::Verification(e) => e.fmt(f),
        }
    }
}

/// Why a source could not be used, by cause: an SDK can tell a TLS failure from an HTTP 503
/// from a connection refused without reading the message.
#[derive(Debug)]
pub enum Unavailable {
    /// The transfer failed after its retries: an HTTP status, TLS, a connection, a timeout, a
    /// body that broke off.
    Transfer(TryError),
    /// A local artifact exists but cannot be read.
    Unreadable(io::Error),
    /// What the source lists (an index page, a registry document) cannot be used.
    Listing { what: &'static str, reason: String },
    /// A program the source asks (pip's Python, npm) could not answer.
    Program(ProgramError),
    /// The source holds another runtime than the pinned one.
    OtherRuntime { version: String, target: String, pinned_version: String, pinned_target: String },
}

impl Unavailable {
    /// The HTTP error, when the transfer got as far as HTTP.
    pub fn http(&self) -> Option<&HttpError> {
        match self {
            Unavailable::Transfer(TryError::Http(e)) => Some(e),
            _ => None,
        }
    }

    /// The HTTP status the source answered with, when it answered with one.
    pub fn status(&self) -> Option<u16> {
        match self.http()? {
            HttpError::Status { status, .. } | HttpError::Unauthorized { status, .. } => Some(*status),
            HttpError::NotFound => Some(404),
            HttpError::ProxyAuth => Some(407),
            _ => None,
        }
    }

    /// Whether the TLS handshake failed (a proxy with its own CA, a bad certificate).
    pub fn is_tls(&self) -> bool {
        matches!(self.http(), Some(HttpError::Tls(_)))
    }
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unavailable::Transfer(e) => {
                f.write_str(&error_chain(e))?;
                if self.is_tls() {
                    f.write_str(" (behind a proxy with its own CA? set SSL_CERT_FILE or SSL_CERT_DIR)")?;
                }
                Ok(())
            }
            Unavailable::Unreadable(e) => write!(f, "cannot read: {e}"),
            Unavailable::Listing { what, reason } => write!(f, "{what} is not valid: {reason}"),
            Unavailable::Program(e) => f.write_str(&error_chain(e)),
            Unavailable::OtherRuntime { version, target, pinned_version, pinned_target } => {
                write!(f, "holds codex {version} for {target}, not the pinned {pinned_version} for {pinned_target}")
            }
        }
    }
}

/// One source asked for one artifact.
#[derive(Debug)]
pub struct Attempt {
    pub source: String,
    /// Where it was asked, credentials redacted.
    pub location: String,
    pub failure: AttemptFailure,
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.source, self.location, explain(&self.source, &self.failure))
    }
}

/// `failure` as a person reads it, with how to authenticate to `source` after a 401 or 403.
pub fn explain(source: &str, failure: &AttemptFailure) -> String {
    let AttemptFailure::Unavailable(why) = failure else { return failure.to_string() };
    let Some(HttpError::Unauthorized { host, sent, .. }) = why.http() else { return failure.to_string() };
    let hostname = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    let netrc = format!("add `machine {hostname} login USER password PASSWORD` to ~/.netrc (or the file NETRC names)");
    let hint = match (sent, source) {
        (Some(_), _) => "check that credential, and that it may read this package".to_owned(),
        (None, "npm") => format!(
            "no credential for //{host}/ is in npm's configuration: add `//{host}/:_authToken=${{NPM_TOKEN}}` \
             (or `:_auth`, or `:username` and `:_password`) to the project's .npmrc or ~/.npmrc"
        ),
        (None, "github") => format!("set GITHUB_TOKEN (or GH_TOKEN), or {netrc}"),
        (None, _) => format!("{netrc}, or put USER:PASSWORD@ in the URL"),
    };
    format!("{failure}; {hint}")
}
