//! An artifact copied into a scratch directory of the cache, its digests checked against the pins;
//! extracted from its verified blocks while it downloads when the blocks are pinned.

use super::{AttemptFailure, Error, Failure, VerifyError, verification};
use crate::cache::{Cache, CacheError, Scratch};
use crate::extract::{self, ExtractedFile, Limits};
use crate::fetch::blocks::{EndOnDrop, VerifiedStream};
use crate::fetch::download::{self, DownloadError, NetworkOptions, TryError};
use crate::model::digest::{Digests, Hasher};
use crate::model::error::error_chain;
use crate::model::manifest::{ArchiveFormat, ArtifactPin};
use crate::net::{Http, HttpError};
use crate::reporter::Reporter;
use crate::sources::Location;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// An artifact copied into a scratch directory and verified.
pub(super) struct Fetched {
    pub(super) scratch: Scratch,
    pub(super) download: PathBuf,
    pub(super) digests: Digests,
    /// The files of `scratch/tree`, when the artifact was already extracted as it arrived.
    pub(super) extracted: Option<Vec<ExtractedFile>>,
}

/// Where an artifact is extracted in its scratch directory.
pub(super) fn tree_of(scratch: &Scratch) -> PathBuf {
    scratch.path().join("tree")
}

pub(super) fn limits_of(artifact: &ArtifactPin) -> Limits {
    Limits { max_entries: artifact.max_entries, max_unpacked_size: artifact.max_unpacked_size }
}

/// Copy the artifact into a fresh scratch directory, hashing as the bytes arrive, then check
/// its size and digests against the pins. URLs are downloaded with retries and resumption
/// (see [`crate::fetch::download`]); local files are read once.
pub(super) fn fetch<'h>(
    location: &Location,
    artifact: &ArtifactPin,
    cache: &Cache,
    http: impl FnOnce() -> &'h Http,
    network: &NetworkOptions,
    reporter: &dyn Reporter,
) -> Result<Fetched, Failure> {
    let subject = format!("{} from {location}", artifact.file);
    let scratch = cache.scratch()?;
    let ((path, digests), extracted) = match location {
        Location::File(file) => (copy_local(file, artifact, scratch.path(), &subject, reporter)?, None),
        Location::Url(url) => {
            let http = http();
            let resumed = download::partial_len(cache, artifact) > 0;
            let get = |stream: Option<&VerifiedStream>| {
                download::download(http, url, artifact, cache, scratch.path(), network, reporter, stream)
                    .map_err(|e| download_failure(e, &subject))
            };
            let (downloaded, extracted) = download_extracting(artifact, &tree_of(&scratch), get);
            // A bad block is not counted here: the download itself gives the source one more
            // try from a block that began before it resumed.
            let bad_digest =
                matches!(&downloaded, Ok((_, digests)) if check_digests(&subject, artifact, digests).is_err());
            if resumed && bad_digest {
                // The bytes kept from an earlier run (perhaps from another source) may be the
                // bad ones: this source gets one fresh download before it is blamed.
                download::discard_partial(cache, artifact);
                let _ = std::fs::remove_dir_all(tree_of(&scratch));
                (get(None)?, None)
            } else {
                (downloaded?, extracted)
            }
        }
    };
    if let Err(e) = check_digests(&subject, artifact, &digests) {
        download::discard_partial(cache, artifact);
        return Err(e);
    }
    Ok(Fetched { scratch, download: path, digests, extracted })
}

/// A downloaded file and its digests.
pub(super) type Downloaded = Result<(PathBuf, Digests), Failure>;

/// Download, and when the artifact's blocks are pinned, extract it into `tree` from its
/// verified blocks while the rest arrives, so the two longest steps of an install overlap. The
/// extraction is kept only when it succeeded over a download that ended without restarting;
/// otherwise it is removed and [`install_artifact`] extracts the verified file as usual.
pub(super) fn download_extracting(
    artifact: &ArtifactPin,
    tree: &Path,
    download: impl FnOnce(Option<&VerifiedStream>) -> Downloaded,
) -> (Downloaded, Option<Vec<ExtractedFile>>) {
    let (Some(size), Some(_)) = (artifact.size, &artifact.blocks) else {
        return (download(None), None);
    };
    let stream = VerifiedStream::new(size);
    std::thread::scope(|scope| {
        let extraction = scope.spawn(|| match artifact.kind.format() {
            ArchiveFormat::TarGz => extract::extract_tar_gz_stream(stream.reader_at(0), tree, limits_of(artifact)),
            ArchiveFormat::Zip => extract::extract_zip_stream(&stream, size, tree, limits_of(artifact)),
        });
        let downloaded = {
            let _end = EndOnDrop(&stream);
            let downloaded = download(Some(&stream));
            if downloaded.is_err() {
                stream.break_off();
            }
            downloaded
        };
        let extracted = extraction.join().expect("the extraction thread panicked");
        match extracted {
            Ok(files) if downloaded.is_ok() && !stream.is_broken() => {
                tracing::debug!("{}: extracted from its verified blocks as it downloaded", artifact.file);
                (downloaded, Some(files))
            }
            outcome => {
                if downloaded.is_ok() {
                    let why = match outcome {
                        Err(e) if !stream.is_broken() => error_chain(&e),
                        _ => "the download restarted".to_owned(),
                    };
                    tracing::debug!("{}: extracting again from the verified file ({why})", artifact.file);
                }
                let _ = std::fs::remove_dir_all(tree);
                (downloaded, None)
            }
        }
    })
}

/// How a failed download counts: missing, unavailable, bad bytes, or a broken cache.
pub(super) fn download_failure(error: DownloadError, subject: &str) -> Failure {
    let subject = subject.to_owned();
    match error {
        DownloadError::Failed(TryError::Http(HttpError::NotFound)) => Failure::Attempt(AttemptFailure::NotFound),
        DownloadError::Failed(e) => {
            let mut reason = error_chain(&e);
            if matches!(&e, TryError::Http(HttpError::Tls(_))) {
                reason.push_str(" (behind a proxy with its own CA? set SSL_CERT_FILE or SSL_CERT_DIR)");
            }
            Failure::Attempt(AttemptFailure::Unavailable(reason))
        }
        DownloadError::TooLarge { limit, received } => {
            verification(VerifyError::Size { subject, expected: limit, actual: received })
        }
        DownloadError::WrongSize { expected, announced } => {
            verification(VerifyError::Size { subject, expected, actual: announced })
        }
        DownloadError::BadBlock(source) => verification(VerifyError::Block { subject, source }),
        DownloadError::Cache(e) => Failure::Fatal(Error::Cache(e)),
    }
}

/// Copy a local artifact into the scratch directory, hashing it.
pub(super) fn copy_local(
    file: &Path,
    artifact: &ArtifactPin,
    scratch: &Path,
    subject: &str,
    reporter: &dyn Reporter,
) -> Result<(PathBuf, Digests), Failure> {
    let mut body = match File::open(file) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Failure::Attempt(AttemptFailure::NotFound)),
        Err(e) => return Err(Failure::Attempt(AttemptFailure::Unavailable(format!("cannot read: {e}")))),
    };
    let path = scratch.join(&artifact.file);
    let mut out = File::create(&path).map_err(CacheError::io("create", &path))?;
    let mut hasher = Hasher::new(artifact.integrity.is_some());
    let limit = artifact.size.unwrap_or(artifact.max_unpacked_size);
    reporter.download_started(&artifact.file, artifact.size);
    let mut buf = vec![0u8; 256 * 1024];
    let copied = loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => break Err(Failure::Attempt(AttemptFailure::Unavailable(format!("cannot read: {e}")))),
        };
        if hasher.size() + n as u64 > limit {
            break Err(verification(VerifyError::Size {
                subject: subject.to_owned(),
                expected: limit,
                actual: hasher.size() + n as u64,
            }));
        }
        hasher.update(&buf[..n]);
        if let Err(e) = out.write_all(&buf[..n]) {
            break Err(CacheError::Io { action: "write", path: path.clone(), source: e }.into());
        }
        reporter.download_progress(n as u64);
    };
    reporter.download_finished();
    copied?;
    Ok((path, hasher.finish()))
}

pub(super) fn check_digests(subject: &str, artifact: &ArtifactPin, actual: &Digests) -> Result<(), Failure> {
    let subject = subject.to_owned();
    if let Some(expected) = artifact.size
        && actual.size != expected
    {
        return Err(verification(VerifyError::Size { subject, expected, actual: actual.size }));
    }
    if let Some(expected) = artifact.sha256
        && actual.sha256 != expected
    {
        return Err(verification(VerifyError::Sha256 { subject, expected, actual: actual.sha256 }));
    }
    if let Some(expected) = &artifact.integrity
        && actual.sha512.as_ref() != Some(expected)
    {
        return Err(verification(VerifyError::Integrity {
            subject,
            expected: expected.to_string(),
            // Computed whenever it is pinned; "none" would be a bug, and still no pass.
            actual: actual.sha512.as_ref().map_or_else(|| "none".to_owned(), ToString::to_string),
        }));
    }
    Ok(())
}
