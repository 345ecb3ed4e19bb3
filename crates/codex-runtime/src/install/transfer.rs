//! An artifact copied into a scratch directory of the cache, its digests checked against the pins;
//! extracted from its verified blocks while it downloads when the blocks are pinned.

use super::{AttemptFailure, Error, Failure, Unavailable, VerifyError, verification};
use crate::cache::{Cache, CacheError, Scratch};
use crate::extract::{self, ExtractedFile, FileDigests, Limits};
use crate::fetch::blocks::{EndOnDrop, VerifiedStream};
use crate::fetch::download::{self, DownloadError, NetworkOptions, TryError};
use crate::fetch::verify::{CopyError, Expected, Verifier};
use crate::model::digest::Digests;
use crate::model::error::error_chain;
use crate::model::manifest::{ArchiveFormat, ArtifactPin, Pinned};
use crate::net::{Http, HttpError};
use crate::pipe::Pipe;
use crate::reporter::Reporter;
use crate::sources::Location;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// An artifact copied into a scratch directory and verified.
pub(super) struct Fetched {
    pub(super) scratch: Scratch,
    pub(super) download: PathBuf,
    pub(super) digests: Digests,
    /// The files of `scratch/tree`, when the artifact was already extracted as it arrived.
    pub(super) extracted: Option<Vec<ExtractedFile>>,
    /// Whether its extraction hashes the files (the one done as it arrived, and the one to do).
    pub(super) file_digests: FileDigests,
}

/// Where an artifact is extracted in its scratch directory.
pub(super) fn tree_of(scratch: &Scratch) -> PathBuf {
    scratch.path().join("tree")
}

pub(super) fn limits_of(artifact: &ArtifactPin) -> Limits {
    Limits { max_entries: artifact.max_entries, max_unpacked_size: artifact.max_unpacked_size }
}

/// Whether extracting `artifact` hashes each file. Not when the artifact's sha256 is pinned (so
/// every byte of it is checked against pins: its blocks, or its whole-file digests) and the
/// pins are proven ([`Pinned::proven`]: the embedded history, whose file digests `channel
/// update` took from these very archives), so hashing the files again would prove nothing the
/// artifact's digests had not. Each member is still checked against its CRC-32, its size
/// against its pin, and the receipt records the pinned digests. BENCHMARKS.md argues it; a
/// `--manifest` file's pins, a source without an artifact digest (a GitHub package) and a
/// repair's reinstall are verified file by file.
pub(super) fn file_digests_of(artifact: &ArtifactPin, pinned: &Pinned<'_>) -> FileDigests {
    let trusted = artifact.sha256.is_some() && pinned.proven && !pinned.pins.files.is_empty();
    if trusted { FileDigests::Pinned } else { FileDigests::Compute }
}

/// Copy the artifact into a fresh scratch directory, verifying it as the bytes arrive against
/// its pins (see [`crate::fetch::verify`]). URLs are downloaded with retries and resumption
/// (see [`crate::fetch::download`]); local files are read once.
pub(super) fn fetch<'h>(
    location: &Location,
    artifact: &ArtifactPin,
    cache: &Cache,
    http: impl FnOnce() -> &'h Http,
    network: &NetworkOptions,
    reporter: &dyn Reporter,
    digests: FileDigests,
) -> Result<Fetched, Failure> {
    fetch_as(location, artifact, cache, http, network, reporter, Some(digests))
}

/// [`fetch`], extracting as the bytes arrive only when `extracting` says how (an artifact kept
/// whole needs no tree).
pub(super) fn fetch_as<'h>(
    location: &Location,
    artifact: &ArtifactPin,
    cache: &Cache,
    http: impl FnOnce() -> &'h Http,
    network: &NetworkOptions,
    reporter: &dyn Reporter,
    extracting: Option<FileDigests>,
) -> Result<Fetched, Failure> {
    let subject = format!("{} from {location}", artifact.file);
    let expected = Expected::of(artifact);
    let scratch = cache.scratch()?;
    let ((path, digests), extracted) = match location {
        Location::File(file) => {
            // Nothing reads a local copy before it is whole and checked: its blocks add nothing
            // to the whole file's digests, and would cost a third hash of every byte.
            let whole = Expected { blocks: None, ..expected };
            (copy_local(file, &artifact.file, &whole, scratch.path(), &subject, reporter)?, None)
        }
        Location::Url(url) => {
            let http = http();
            let get = |stream: Option<&VerifiedStream>| {
                download::download(
                    http,
                    url,
                    &artifact.file,
                    &expected,
                    cache,
                    scratch.path(),
                    network,
                    reporter,
                    stream,
                )
                .map_err(|e| download_failure(e, &subject))
            };
            let (downloaded, extracted) = match extracting {
                Some(digests) => download_extracting(artifact, &tree_of(&scratch), digests, get),
                None => (get(None), None),
            };
            (downloaded?, extracted)
        }
    };
    let file_digests = extracting.unwrap_or(FileDigests::Compute);
    Ok(Fetched { scratch, download: path, digests, extracted, file_digests })
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
    digests: FileDigests,
    download: impl FnOnce(Option<&VerifiedStream>) -> Downloaded,
) -> (Downloaded, Option<Vec<ExtractedFile>>) {
    let (Some(size), Some(_)) = (artifact.size, &artifact.blocks) else {
        return (download(None), None);
    };
    let stream = VerifiedStream::new(size);
    std::thread::scope(|scope| {
        let extraction = scope.spawn(|| match artifact.kind.format() {
            ArchiveFormat::TarGz => {
                extract::extract_tar_gz_stream(stream.reader_at(0), tree, limits_of(artifact), digests)
            }
            ArchiveFormat::Zip => extract::extract_zip_stream(&stream, size, tree, limits_of(artifact), digests),
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
    match error {
        DownloadError::Failed(TryError::Http(HttpError::NotFound)) => Failure::Attempt(AttemptFailure::NotFound),
        DownloadError::Failed(e) => Failure::Attempt(AttemptFailure::Unavailable(Unavailable::Transfer(e))),
        DownloadError::WrongSize { expected, announced } => {
            verification(VerifyError::Size { subject: subject.to_owned(), expected, actual: announced })
        }
        DownloadError::Verify(e) => verification(e),
        DownloadError::Cache(e) => Failure::Fatal(Error::Cache(e)),
    }
}

/// Copy a local artifact into the scratch directory as `name`, verifying it.
pub(super) fn copy_local(
    file: &Path,
    name: &str,
    expected: &Expected,
    scratch: &Path,
    subject: &str,
    reporter: &dyn Reporter,
) -> Result<(PathBuf, Digests), Failure> {
    let unreadable = |e: io::Error| Failure::Attempt(AttemptFailure::Unavailable(Unavailable::Unreadable(e)));
    // A directory or a FIFO named like the artifact is none (and a FIFO would block the open).
    match std::fs::metadata(file) {
        Ok(meta) if !meta.is_file() => {
            return Err(unreadable(io::Error::other("not a regular file")));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Failure::Attempt(AttemptFailure::NotFound)),
        _ => {}
    }
    let mut body = match File::open(file) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Failure::Attempt(AttemptFailure::NotFound)),
        Err(e) => return Err(unreadable(e)),
    };
    let path = scratch.join(name);
    let mut out = File::create(&path).map_err(CacheError::io("create", &path))?;
    let mut verifier = Verifier::new(subject, expected);
    reporter.copy_started(name, expected.size);
    let write = |bytes: &[u8], _| out.write_all(bytes);
    let copied = verifier.copy(LOCAL, &mut body, write, &mut |n| reporter.download_progress(n));
    reporter.download_finished();
    match copied {
        Ok(()) => {}
        Err(CopyError::Read { source, .. }) => return Err(unreadable(source)),
        Err(CopyError::Verify(e)) => return Err(verification(e)),
        Err(CopyError::Write(source)) => return Err(CacheError::Io { action: "write", path, source }.into()),
    }
    let digests = verifier.finish().map_err(verification)?;
    Ok((path, digests))
}

/// A local copy runs on one thread: a second one measured no faster on two cores, where the
/// extraction that follows wants them both.
const LOCAL: Pipe = Pipe::inline(256 * 1024);
