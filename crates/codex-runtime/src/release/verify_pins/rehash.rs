//! `--rehash`: each artifact downloaded the way an install downloads it (retried, resumed, and
//! verified block by block as it arrives; see [`crate::fetch::download`]) into a scratch
//! directory of the cache, removed once it is hashed, and whether its bytes still hash to the
//! pins.

use super::{Check, Verdict};
use crate::cache::Cache;
use crate::fetch::download::{self, DownloadError, NetworkOptions, TryError};
use crate::fetch::verify::{Expected, VerifyError};
use crate::model::digest::{Integrity, Sha256};
use crate::model::error::error_chain;
use crate::model::manifest::{BlockPins, NpmArtifact, WheelArtifact};
use crate::net::{Http, HttpError, RedactedUrl};
use crate::reporter::NoReporter;

/// Where `--rehash` holds each artifact while it is hashed, and how patient its downloads are.
pub struct Rehash<'a> {
    /// The cache whose scratch space holds the artifact. A download cut off for good leaves its
    /// part file in the cache's `downloads/`, as an install's does, for the next run to resume.
    pub cache: &'a Cache,
    pub network: NetworkOptions,
}

/// The pins of one artifact.
pub(super) struct Pins<'a> {
    file: &'a str,
    sha256: Sha256,
    integrity: Option<&'a Integrity>,
    size: u64,
    blocks: Option<&'a BlockPins>,
}

impl Pins<'_> {
    pub(super) fn npm(pin: &NpmArtifact) -> Pins<'_> {
        let (file, sha256, size, blocks) = (&pin.file, pin.sha256, pin.size, pin.blocks.as_ref());
        Pins { file, sha256, integrity: Some(&pin.integrity), size, blocks }
    }

    pub(super) fn wheel(pin: &WheelArtifact) -> Pins<'_> {
        Pins { file: &pin.file, sha256: pin.sha256, integrity: None, size: pin.size, blocks: pin.blocks.as_ref() }
    }
}

impl Rehash<'_> {
    /// Download the artifact at `url` and compare it with its pins: [`Verdict::Ok`], a
    /// [`Verdict::Digest`] naming what differs (the bytes, or only the block pins), a
    /// [`Verdict::Drift`] when the artifact is gone, or [`Verdict::Unavailable`].
    pub(super) fn check(
        &self,
        http: &Http,
        url: &RedactedUrl,
        pins: &Pins<'_>,
        name: &'static str,
        subject: String,
    ) -> Check {
        let verdict = |verdict: Verdict, message: String| Check::new(name, subject.clone(), verdict, message);
        let expected = Expected {
            integrity: pins.integrity.cloned(),
            blocks: pins.blocks.cloned(),
            ..Expected::exactly(pins.sha256, pins.size)
        };
        let scratch = match self.cache.scratch() {
            Ok(scratch) => scratch,
            Err(e) => return verdict(Verdict::Unavailable, error_chain(&e)),
        };
        let get = |expected: &Expected| {
            let (cache, network) = (self.cache, &self.network);
            download::download(http, url, pins.file, expected, cache, scratch.path(), network, &NoReporter, None)
        };
        let failure = match get(&expected) {
            Ok((_, digests)) => {
                let blocks = match pins.blocks {
                    Some(pins) if pins.sha256.len() == 1 => ", its one block too".to_owned(),
                    Some(pins) => format!(", each of its {} blocks too", pins.sha256.len()),
                    None => String::new(),
                };
                let message = format!("{} bytes from {url} hash to the pins{blocks}", digests.size);
                return verdict(Verdict::Ok, message);
            }
            Err(e) => e,
        };
        let (bad_block, artifact) = match failure {
            DownloadError::Verify(VerifyError::Block { subject, block }) => (block, subject),
            failure => {
                return match mismatch(failure, pins.file, url) {
                    Ok(problem) => verdict(Verdict::Digest, problem),
                    Err(DownloadError::Failed(TryError::Http(HttpError::NotFound))) => {
                        verdict(Verdict::Drift, format!("GET {url}: the artifact is gone (404)"))
                    }
                    Err(e) => verdict(Verdict::Unavailable, format!("GET {url}: {}", error_chain(&e))),
                };
            }
        };
        // The download stopped at a bad block: either the bytes or the block pins are wrong. The
        // whole file, fetched again without its block pins, tells which.
        let whole = Expected { blocks: None, ..expected };
        let message = match get(&whole).map_err(|e| mismatch(e, pins.file, url)) {
            Ok(_) => format!("{artifact}: block pins mismatch: {bad_block}"),
            Err(Ok(problem)) => format!("{problem}; {bad_block}"),
            Err(Err(e)) => format!(
                "{artifact}: {bad_block} (fetching the whole file again, to tell whether its bytes or its block pins are wrong, failed: {})",
                error_chain(&e)
            ),
        };
        verdict(Verdict::Digest, message)
    }
}

/// What differs when the bytes are not the pinned ones; any other failure back.
fn mismatch(failure: DownloadError, file: &str, url: &RedactedUrl) -> Result<String, DownloadError> {
    match failure {
        DownloadError::Verify(e) => Ok(e.to_string()),
        DownloadError::WrongSize { expected, announced } => {
            Ok(VerifyError::Size { subject: format!("{file} from {url}"), expected, actual: announced }.to_string())
        }
        other => Err(other),
    }
}
