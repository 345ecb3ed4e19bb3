//! What each source said when it was asked for an artifact, and bytes that fail the pins.

use crate::fetch::verify::VerifyError;
use std::fmt;

/// Why one attempt failed.
#[derive(Debug)]
pub enum AttemptFailure {
    /// The source does not have the artifact.
    NotFound,
    /// The source could not be reached or answered with an error.
    Unavailable(String),
    /// The source served bytes that fail the pins.
    Verification(VerifyError),
}

impl fmt::Display for AttemptFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttemptFailure::NotFound => f.write_str("not found"),
            AttemptFailure::Unavailable(reason) => f.write_str(reason),
            AttemptFailure::Verification(e) => e.fmt(f),
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
        write!(f, "{} {}: {}", self.source, self.location, self.failure)
    }
}
