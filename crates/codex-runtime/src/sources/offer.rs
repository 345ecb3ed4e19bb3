//! What a source offers for a pinned runtime, in one shape for every source.
//!
//! [`Source::offers`](crate::sources::Source::offers) answers with a list of [`Offer`]s in the
//! order to try: artifact bytes at a location, a runtime tree an installer left on this
//! machine, or a lookup that found nothing to fetch, with its reason as a [`LookupError`]. The
//! install stage fetches, links and verifies; a source only says where to look.

use std::path::PathBuf;

use crate::fetch::download::DownloadError;
use crate::model::digest::{Integrity, Sha256};
use crate::model::manifest::ArtifactPin;
use crate::sources::Location;
use crate::sources::installed::Candidate;

/// One thing a source offers for a pinned runtime.
#[derive(Debug)]
pub enum Offer {
    /// Artifact bytes at `location`, to fetch and verify against the artifact's pins.
    Artifact { artifact: ArtifactPin, location: Location },
    /// A runtime root some installer left on this machine, to copy and verify against the pins.
    Tree(Candidate),
    /// A lookup that found nothing to fetch.
    Failed(FailedLookup),
}

/// Where a source looked, and why it found nothing to fetch there.
#[derive(Debug)]
pub struct FailedLookup {
    /// Credentials redacted.
    pub location: String,
    pub error: LookupError,
}

/// Why a lookup found nothing to fetch.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// The source does not have it: an index that does not list the file, no runtime installed.
    #[error("not found")]
    NotFound,
    /// The source does not have it, and says more than "not found": a registry with the
    /// package but not the platform version.
    #[error("{reason}")]
    Absent { reason: String },
    /// The source lists the artifact with another sha256 than the pin: its bytes are refused
    /// before they are fetched.
    #[error("{subject}: the source lists sha256 {listed}, the pin is {pinned}")]
    Digest { subject: String, pinned: Sha256, listed: Sha256 },
    /// The registry lists the tarball with another `dist.integrity` than the pin.
    #[error("{subject}: the source lists {listed}, the pin is {pinned}")]
    Integrity { subject: String, pinned: Integrity, listed: Integrity },
    /// The source's listing could not be fetched.
    #[error(transparent)]
    Download(DownloadError),

    /// The source answered with something that is not a listing.
    #[error("{what} is not valid: {reason}")]
    Invalid { what: &'static str, reason: String },
    /// A program the source runs to look could not say.
    #[error(transparent)]
    Program(#[from] ProgramError),
}

/// A program a source runs to look (the Python of the installed source) that could not say.
#[derive(Debug, thiserror::Error)]
pub enum ProgramError {
    #[error("cannot run {}", program.display())]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} failed: {last_line}", program.display())]
    Failed {
        program: PathBuf,
        /// The last line it wrote on stderr.
        last_line: String,
    },
}
