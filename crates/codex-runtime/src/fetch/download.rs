//! Downloads that survive a bad network: bounded retries with exponential backoff and jitter,
//! a per-read stall timeout, and resumption of interrupted downloads with `Range`.
//!
//! Which failures are retried is written down once, in [`retry_of`]:
//!
//! | failure | what happens |
//! |---|---|
//! | 5xx, 408 | retried with backoff |
//! | 429 | retried after `Retry-After`, else with backoff; a `Retry-After` past `max_wait` is not retried |
//! | connection reset or aborted, broken pipe, a timeout, a stall, a body cut short | retried, resuming when the artifact has a pinned digest |
//! | 416 to a `Range` request | retried from the first byte: the partial file is dropped |
//! | 404, 410 | never retried: the source lacks the artifact, the next one is asked |
//! | other 4xx (401, 403, ...) | never retried: the next source is asked |
//! | host not found, connection refused | never retried: nothing answers there, the next source is asked |
//! | TLS errors (an unknown certificate authority, a wrong host name) | never retried: the next source is asked, and the message names the CA settings |
//! | a size in the headers other than the pin | never retried on that source; nothing is cut, the partial file stays |
//! | wrong bytes (size or digest) | never retried on that source: the partial file is dropped and the next source is asked |
//! | a bad block that began before the request that completed it | tried once more from that block, then as wrong bytes |
//! | a whole file that fails its size or digests after resuming bytes of an earlier run | tried once more from the first byte, then as wrong bytes |
//!
//! A partial download lives at `CACHE/downloads/SHA256.part`, keyed by the pinned digest, so
//! a later run (or the next retry) resumes it. A server that answers a `Range` request with
//! `200` restarts the file from zero; the final digest always covers the whole file.
//!
//! When the manifest pins each block of the artifact, every block is checked as soon as it is
//! written ([`crate::fetch::blocks`]): a bad block stops the download at once, a resumed file keeps
//! only its blocks that still match, and a [`VerifiedStream`] lets a caller read the verified
//! bytes while the rest arrives. What is checked, and how, is [`crate::fetch::verify`]'s.

use std::fs::File;
use std::hash::{BuildHasher, Hasher as _};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cache::{Cache, CacheError};
use crate::fetch::blocks::VerifiedStream;
use crate::fetch::verify::{CopyError, Expected, Verifier, VerifyError};
use crate::model::digest::Digests;
use crate::model::env::{self, Env};
use crate::model::error::error_chain;
use crate::net::{Get, Http, HttpError, RedactedUrl, Timeouts};
use crate::pipe::Pipe;
use crate::reporter::Reporter;

/// How patient the network code is. [`NetworkOptions::default`] reads the environment.
#[derive(Debug, Clone)]
pub struct NetworkOptions {
    /// Retries after the first try of one URL.
    pub retries: u32,
    /// The first backoff; each retry doubles it, plus up to as much again of jitter.
    pub backoff_base: Duration,
    /// The longest single wait, whether backoff or `Retry-After`.
    pub max_wait: Duration,
    pub timeouts: Timeouts,
}

impl NetworkOptions {
    pub const DEFAULT_RETRIES: u32 = 3;
    pub const DEFAULT_BACKOFF_BASE: Duration = Duration::from_millis(500);
    pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(30);

    /// The built-in values, without looking at the environment.
    pub fn builtin() -> NetworkOptions {
        NetworkOptions {
            retries: Self::DEFAULT_RETRIES,
            backoff_base: Self::DEFAULT_BACKOFF_BASE,
            max_wait: Self::DEFAULT_MAX_WAIT,
            timeouts: Timeouts { connect: Timeouts::DEFAULT_CONNECT, read: Timeouts::DEFAULT_READ },
        }
    }

    /// The built-in values overridden by `CODEX_RUNTIME_RETRIES`, `CODEX_RUNTIME_RETRY_BASE_MS`,
    /// `CODEX_RUNTIME_CONNECT_TIMEOUT_SECS` and `CODEX_RUNTIME_READ_TIMEOUT_SECS` (seconds may
    /// have a fraction).
    pub fn from_env() -> NetworkOptions {
        NetworkOptions::from_vars(Env::process())
    }

    /// [`NetworkOptions::from_env`] with the environment `env`.
    pub fn from_vars(env: &Env) -> NetworkOptions {
        let mut options = Self { timeouts: Timeouts::from_vars(env), ..Self::builtin() };
        if let Some(n) = env.number(env::RETRIES) {
            options.retries = n;
        }
        if let Some(ms) = env.number(env::RETRY_BASE_MS) {
            options.backoff_base = Duration::from_millis(ms);
        }
        options
    }

    /// How long to wait before retry number `retry` (0-based): `base * 2^retry` plus jitter
    /// of up to the same again, or what the server asked for; never more than `max_wait`.
    pub fn wait(&self, retry: u32, asked: Option<Duration>) -> Duration {
        if let Some(asked) = asked {
            return asked.min(self.max_wait);
        }
        let exp = self.backoff_base.saturating_mul(1u32 << retry.min(16));
        let jitter = exp.mul_f64(random_fraction());
        exp.saturating_add(jitter).min(self.max_wait)
    }
}

impl Default for NetworkOptions {
    fn default() -> Self {
        Self::from_env()
    }
}

/// A number in `[0, 1)`, from the standard library's randomly seeded hasher.
fn random_fraction() -> f64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64));
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Why one try of a URL failed.
#[derive(Debug, thiserror::Error)]
pub enum TryError {
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The body broke off (reset, timeout, stall).
    #[error("transfer interrupted after {received} bytes")]
    Body {
        received: u64,
        #[source]
        source: io::Error,
    },
    /// The connection closed before `Content-Length` bytes arrived.
    #[error("the body ended after {received} of {expected} bytes")]
    Truncated { received: u64, expected: u64 },
    /// A `206` for another range than the one asked for.
    #[error("asked for bytes from {asked}, the server sent them from {sent}")]
    WrongRange { asked: u64, sent: u64 },
    /// A `206` without a `Content-Range` that says where its bytes start.
    #[error("asked for bytes from {asked}, the server answered 206 without a valid Content-Range")]
    NoRange { asked: u64 },
    /// A `416` to a `Range` request: the partial file is dropped and the next try starts from zero.
    #[error("asked for bytes from {asked}, the server answered 416 (range not satisfiable)")]
    RangeNotSatisfiable { asked: u64 },
    /// A `Retry-After` longer than the longest wait: not worth waiting for.
    #[error(
        "HTTP {status}: the server asked to retry in {}, longer than the {} this waits at most",
        span(*asked),
        span(*max_wait)
    )]
    RetryAfterTooLong { status: u16, asked: Duration, max_wait: Duration },
}

/// A duration in words: seconds, minutes or hours.
fn span(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0..120 => format!("{} s", d.as_secs_f64()),
        120..7200 => format!("{} minutes", secs / 60),
        _ => format!("{} hours", secs / 3600),
    }
}

/// What to do after a failed try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Transient: try the same URL again, after the server's `Retry-After` when it gave one.
    After(Option<Duration>),
    /// Permanent for this source: ask the next one.
    Never,
}

/// The retry rules (see the module docs).
pub fn retry_of(error: &TryError) -> Retry {
    match error {
        TryError::Http(e) => http_retry(e),
        TryError::Body { source, .. } => io_retry(source),
        TryError::Truncated { .. }
        | TryError::WrongRange { .. }
        | TryError::NoRange { .. }
        | TryError::RangeNotSatisfiable { .. } => Retry::After(None),
        TryError::RetryAfterTooLong { .. } => Retry::Never,
    }
}

fn http_retry(error: &HttpError) -> Retry {
    match error {
        HttpError::Status { status, retry_after } => match status {
            429 | 408 | 500..=599 => Retry::After(*retry_after),
            _ => Retry::Never,
        },
        // A stall, or a connection that broke before or during the answer.
        HttpError::TimedOut { .. } | HttpError::Interrupted(_) | HttpError::Body(_) => Retry::After(None),
        // Not found, a redirect gone wrong, host not found, refused, TLS and certificate
        // errors, bad URLs, a client that cannot be set up: retrying cannot help.
        HttpError::NotFound
        | HttpError::Unauthorized { .. }
        | HttpError::ProxyAuth
        | HttpError::Redirect { .. }
        | HttpError::Connect(_)
        | HttpError::Tls(_)
        | HttpError::InvalidUrl
        | HttpError::Client(_) => Retry::Never,
    }
}

fn io_retry(error: &io::Error) -> Retry {
    use io::ErrorKind::*;
    // A body read failed: what the HTTP client says it was.
    if let Some(inner) = error.get_ref().and_then(|e| e.downcast_ref::<HttpError>()) {
        return http_retry(inner);
    }
    match error.kind() {
        ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof | TimedOut | Interrupted | WouldBlock => {
            Retry::After(None)
        }
        _ => Retry::Never,
    }
}

/// Run `try_once` until it succeeds, fails for good (`retry` says [`Retry::Never`]), or the
/// retries are spent.
pub fn with_retries<T, E: std::error::Error>(
    options: &NetworkOptions,
    what: &RedactedUrl,
    retry: impl Fn(&E) -> Retry,
    mut try_once: impl FnMut() -> Result<T, E>,
) -> Result<T, E> {
    let mut retries = 0;
    loop {
        match try_once() {
            Ok(value) => return Ok(value),
            Err(error) => match retry(&error) {
                // The server asked for a longer wait than this will make: not worth a retry.
                Retry::After(Some(asked)) if asked > options.max_wait => return Err(error),
                Retry::After(asked) if retries < options.retries => {
                    let wait = options.wait(retries, asked);
                    tracing::warn!(
                        "{what}: {}; retrying in {} ms ({} of {})",
                        error_chain(&error),
                        wait.as_millis(),
                        retries + 1,
                        options.retries
                    );
                    std::thread::sleep(wait);
                    retries += 1;
                }
                _ => return Err(error),
            },
        }
    }
}

/// Why a download failed, as the install pipeline sees it.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// A try failed and will not be retried (or the retries ran out).
    #[error(transparent)]
    Failed(#[from] TryError),
    /// `Content-Length` or `Content-Range` announces another size than the pin.
    #[error("announced {announced} bytes, the pin is {expected}")]
    WrongSize { expected: u64, announced: u64 },
    /// The bytes are not the pinned ones: too many, a bad block, or the wrong digests.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Cache(#[from] CacheError),
}

impl From<HttpError> for DownloadError {
    fn from(e: HttpError) -> Self {
        DownloadError::Failed(TryError::Http(e))
    }
}

impl DownloadError {
    fn retry(&self) -> Retry {
        match self {
            DownloadError::Failed(e) => retry_of(e),
            _ => Retry::Never,
        }
    }
}

/// The buffers of a download: a network read rarely returns more than 256 KiB, and eight of
/// them waiting for the writer let a burst through while the disk catches up.
const PIPE: Pipe = Pipe::threaded(256 * 1024, 8);

/// Where the bytes go: a resumable part file in `CACHE/downloads/` (locked while in use), or a
/// plain file in the caller's scratch directory.
struct Sink<'s> {
    path: PathBuf,
    file: File,
    resumable: bool,
    /// What the bytes in `file` are checked against, and how far they got.
    verifier: Verifier,
    stream: Option<&'s VerifiedStream>,
}

impl<'s> Sink<'s> {
    fn open(
        cache: &Cache,
        file_name: &str,
        verifier: Verifier,
        scratch: &Path,
        stream: Option<&'s VerifiedStream>,
    ) -> Result<Sink<'s>, CacheError> {
        if let Some(path) = part_file(cache, verifier.expected()) {
            fs_create_dir_all(path.parent().expect("in the downloads directory"))?;
            let file = File::options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(CacheError::io("open", &path))?;
            match file.try_lock() {
                // A part file another process removed or moved away between the open and the
                // lock: not this artifact's part file any more.
                Ok(()) if !crate::cache::lock::still_at(&file, &path) => {
                    tracing::debug!("{} went away while it was opened; downloading without resume", path.display());
                }
                Ok(()) => {
                    // Continue a previous run.
                    let upto = verifier.expected().size.unwrap_or(u64::MAX);
                    let mut sink = Sink { path, file, resumable: true, verifier, stream };
                    let len = sink.keep_prefix(upto)?;
                    if len > 0 {
                        tracing::info!("resuming {file_name} from byte {len}");
                    }
                    sink.share()?;
                    return Ok(sink);
                }
                // Another process is downloading the same artifact: do not share its file.
                Err(_) => tracing::debug!("{} is in use; downloading without resume", path.display()),
            }
        }
        let path = scratch.join(file_name);
        let file = File::create(&path).map_err(CacheError::io("create", &path))?;
        let sink = Sink { path, file, resumable: false, verifier, stream };
        sink.share()?;
        Ok(sink)
    }

    /// Give the stream its own read handle on the file, and the bytes already verified.
    fn share(&self) -> Result<(), CacheError> {
        if let Some(stream) = self.stream {
            let reader = File::open(&self.path).map_err(CacheError::io("open", &self.path))?;
            stream.open(reader, self.verifier.verified());
        }
        Ok(())
    }

    /// Keep the file's first `upto` bytes, but none from the first bad block on: the verifier
    /// is brought to cover exactly those, and the rest is cut off. Returns how many bytes were
    /// kept. Never cuts a verified byte the stream handed out.
    fn keep_prefix(&mut self, upto: u64) -> Result<u64, CacheError> {
        let path = &self.path;
        let len = self.verifier.resume(&mut self.file, upto).map_err(CacheError::io("read", path))?;
        truncate(&self.file, path, len)?;
        self.file.seek(io::SeekFrom::Start(len)).map_err(CacheError::io("seek", path))?;
        Ok(len)
    }

    fn restart(&mut self) -> Result<(), CacheError> {
        if self.verifier.received() > 0
            && let Some(stream) = self.stream
        {
            // What the reader has had may not be what the new bytes will be.
            stream.break_off();
        }
        truncate(&self.file, &self.path, 0)?;
        self.file.seek(io::SeekFrom::Start(0)).map_err(CacheError::io("seek", &self.path))?;
        self.verifier.restart();
        Ok(())
    }

    /// Stream `body` into the file, verifying it as it arrives; see [`Verifier::copy`].
    fn copy(&mut self, body: &mut dyn Read, reporter: &dyn Reporter) -> Result<(), DownloadError> {
        let Sink { path, file, verifier, stream, .. } = self;
        let stream = *stream;
        let write = |bytes: &[u8], verified: u64| {
            file.write_all(bytes)?;
            if let Some(stream) = stream {
                stream.advance(verified);
            }
            Ok(())
        };
        verifier.copy(PIPE, body, write, &mut |n| reporter.download_progress(n)).map_err(|e| match e {
            CopyError::Read { received, source } => TryError::Body { received, source }.into(),
            CopyError::Verify(e) => e.into(),
            CopyError::Write(source) => CacheError::Io { action: "write", path: path.clone(), source }.into(),
        })
    }

    fn discard(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The resumable part file of an artifact, when its sha256 is known: `CACHE/downloads/SHA256.part`.
fn part_file(cache: &Cache, expected: &Expected) -> Option<PathBuf> {
    expected.sha256.map(|sha256| cache.root().join("downloads").join(format!("{sha256}.part")))
}

/// Cut `file` to `len` bytes, only when it is longer: on ext4, truncating a file to zero (even
/// an empty one) makes closing it start writing all of it back, which stalls the install for
/// tens of milliseconds per 100 MB.
fn truncate(file: &File, path: &Path, len: u64) -> Result<(), CacheError> {
    let current = file.metadata().map_err(CacheError::io("inspect", path))?.len();
    if current > len {
        file.set_len(len).map_err(CacheError::io("truncate", path))?;
    }
    Ok(())
}

fn fs_create_dir_all(dir: &Path) -> Result<(), CacheError> {
    std::fs::create_dir_all(dir).map_err(CacheError::io("create", dir))
}

/// Download `url` into `scratch/FILE`, retrying and resuming, verified as the bytes arrive
/// (see [`crate::fetch::verify`]): too many bytes or a bad block stop it at once, and the size
/// and digests are checked against `expected` at the end. A part file kept from an earlier
/// run that then fails those checks may hold the bad bytes (perhaps from another source), so
/// the artifact is downloaded once more from its first byte before the source is blamed.
/// Errors name the artifact as `FILE from URL`. With `stream`, the verified bytes can be read
/// while the download goes on; the caller breaks the stream off when this returns an error.
#[allow(clippy::too_many_arguments)]
pub fn download(
    http: &Http,
    url: &RedactedUrl,
    file: &str,
    expected: &Expected,
    cache: &Cache,
    scratch: &Path,
    options: &NetworkOptions,
    reporter: &dyn Reporter,
    stream: Option<&VerifiedStream>,
) -> Result<(PathBuf, Digests), DownloadError> {
    let verifier = Verifier::new(format!("{file} from {url}"), expected);
    let mut sink = Sink::open(cache, file, verifier, scratch, stream)?;
    // Bytes from an earlier run get one more try from zero when the whole file fails its pins.
    let mut fresh_chance = sink.verifier.received() > 0;
    // A bad block that began before the request that completed it may hold the last bytes of
    // a connection that broke (in this run or an earlier one): the source gets one more try
    // from that block before it is blamed.
    let mut second_chance = true;
    // Bounded: a turn after the first only once for each chance, and each chance is spent once.
    let result = loop {
        // A complete file from an earlier run that was killed before it was moved is only checked.
        let complete = expected.size.is_some_and(|size| sink.verifier.received() >= size);
        let (transferred, began) =
            if complete { (Ok(()), 0) } else { transfer(http, url, file, &mut sink, options, reporter) };
        match transferred {
            Err(DownloadError::Verify(VerifyError::Block { block: bad, .. }))
                if second_chance && sink.resumable && bad.start < began =>
            {
                second_chance = false;
                tracing::warn!(
                    "{url}: {bad}; the block began before the download was resumed, so trying once more from byte {}",
                    bad.start
                );
                sink.keep_prefix(bad.start)?;
            }
            Err(error) => break Err(error),
            // The whole file is here: its size and digests decide.
            Ok(()) => match sink.verifier.finish() {
                Ok(digests) => break Ok(digests),
                Err(error) if fresh_chance => {
                    fresh_chance = false;
                    tracing::warn!(
                        "{error}; the download went on from bytes of an earlier run, so trying once more from zero"
                    );
                    sink.restart()?;
                }
                Err(error) => break Err(error.into()),
            },
        }
    };
    let result = match result {
        Err(DownloadError::Failed(TryError::Http(HttpError::Status { status, retry_after: Some(asked) })))
            if asked > options.max_wait =>
        {
            Err(TryError::RetryAfterTooLong { status, asked, max_wait: options.max_wait }.into())
        }
        result => result,
    };
    match result {
        Ok(digests) => finish(sink, scratch, file).map(|dest| (dest, digests)),
        // A failed try that wrote nothing leaves no empty part file behind.
        Err(error) if sink.verifier.received() == 0 => {
            sink.discard();
            Err(error)
        }
        // Keep what arrived for the next run, unless the bytes themselves are wrong (a size
        // announced in the headers is not: nothing of that answer was written).
        Err(error @ (DownloadError::Failed(_) | DownloadError::Cache(_) | DownloadError::WrongSize { .. }))
            if sink.resumable =>
        {
            Err(error)
        }
        Err(error) => {
            sink.discard();
            Err(error)
        }
    }
}

/// The tries of one URL, with retries: each asks for the bytes after those the sink holds.
/// Returns how it ended and where the bytes of its last request began.
fn transfer(
    http: &Http,
    url: &RedactedUrl,
    file: &str,
    sink: &mut Sink<'_>,
    options: &NetworkOptions,
    reporter: &dyn Reporter,
) -> (Result<(), DownloadError>, u64) {
    let expected_size = sink.verifier.expected().size;
    let mut began = 0;
    let result = with_retries(options, url, DownloadError::retry, || {
        let from = (sink.resumable && sink.verifier.received() > 0).then(|| sink.verifier.received());
        let response = http.request(url, Get { from, accept: None });
        if let (Some(asked), Err(HttpError::Status { status: 416, .. })) = (from, &response) {
            // The partial file may be longer than what the server has now; start again.
            sink.restart()?;
            return Err(TryError::RangeNotSatisfiable { asked }.into());
        }
        let mut response = response?;
        // What the headers announce is checked before anything is cut: a wrong answer to a
        // Range request leaves the partial file as it was.
        let total = match response.range {
            Some((_, total)) => total,
            // A 206 without Content-Range: its length is that of a part (see below).
            None if response.status == 206 => None,
            None => response.length,
        };
        if let (Some(expected), Some(announced)) = (expected_size, total)
            && expected != announced
        {
            return Err(DownloadError::WrongSize { expected, announced });
        }
        match (from, response.range) {
            (Some(asked), Some((sent, _))) if sent != asked => {
                sink.restart()?;
                return Err(TryError::WrongRange { asked, sent }.into());
            }
            (Some(_), Some(_)) => {}
            // Partial content from an unknown offset: start again from the first byte.
            (Some(asked), None) if response.status == 206 => {
                sink.restart()?;
                return Err(TryError::NoRange { asked }.into());
            }
            (Some(asked), None) => {
                tracing::info!("{url} ignored the Range request (bytes={asked}-); restarting from zero");
                sink.restart()?;
            }
            (None, _) => sink.restart()?,
        }
        let offset = sink.verifier.received();
        began = offset;
        reporter.download_started(file, expected_size.or(total));
        reporter.download_progress(offset);
        let copied = sink.copy(&mut response.body, reporter);
        reporter.download_finished();
        copied?;
        let received = sink.verifier.received() - offset;
        if let Some(expected) = response.length
            && received < expected
        {
            return Err(TryError::Truncated { received, expected }.into());
        }
        Ok(())
    });
    (result, began)
}

/// Move a complete part file into the scratch directory.
fn finish(sink: Sink<'_>, scratch: &Path, file: &str) -> Result<PathBuf, DownloadError> {
    let dest = scratch.join(file);
    if sink.resumable {
        std::fs::rename(&sink.path, &dest).map_err(CacheError::io("move", &sink.path))?;
    }
    Ok(dest)
}

/// Drop the partial file of an artifact, so that no later run resumes from its bytes.
pub fn discard_partial(cache: &Cache, expected: &Expected) {
    if let Some(path) = part_file(cache, expected) {
        let _ = std::fs::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Stage;

    fn io(kind: io::ErrorKind) -> TryError {
        TryError::Body { received: 10, source: io::Error::new(kind, "x") }
    }

    const SEC: Duration = Duration::from_secs(1);
    const AGAIN: Retry = Retry::After(None);
    const NEVER: Retry = Retry::Never;

    fn http(error: HttpError) -> TryError {
        TryError::Http(error)
    }

    /// A body read that failed as the HTTP client reports it: an `io::Error` around an `HttpError`.
    fn body(kind: io::ErrorKind, error: HttpError) -> TryError {
        TryError::Body { received: 10, source: io::Error::new(kind, error) }
    }

    fn status(status: u16, retry_after: Option<u64>) -> TryError {
        TryError::Http(HttpError::Status { status, retry_after: retry_after.map(Duration::from_secs) })
    }

    #[test]
    fn the_retry_rules() {
        use io::ErrorKind::*;
        let cases: Vec<(&str, TryError, Retry)> = vec![
            ("500", status(500, None), Retry::After(None)),
            ("503 with Retry-After", status(503, Some(2)), Retry::After(Some(Duration::from_secs(2)))),
            ("429 with Retry-After", status(429, Some(7)), Retry::After(Some(Duration::from_secs(7)))),
            ("429 without", status(429, None), Retry::After(None)),
            ("408", status(408, None), Retry::After(None)),
            ("404", TryError::Http(HttpError::NotFound), Retry::Never),
            ("401", status(401, None), Retry::Never),
            ("403", status(403, None), Retry::Never),
            ("connection reset", io(ConnectionReset), Retry::After(None)),
            ("peer closed early", io(UnexpectedEof), Retry::After(None)),
            ("read timeout", io(TimedOut), Retry::After(None)),
            ("connection refused", io(ConnectionRefused), Retry::Never),
            ("permission denied", io(PermissionDenied), Retry::Never),
            ("truncated", TryError::Truncated { received: 1, expected: 2 }, Retry::After(None)),
            ("wrong range", TryError::WrongRange { asked: 1, sent: 0 }, Retry::After(None)),
            ("206 without Content-Range", TryError::NoRange { asked: 1 }, Retry::After(None)),
            ("416 to a Range request", TryError::RangeNotSatisfiable { asked: 1 }, Retry::After(None)),
            (
                "Retry-After past the longest wait",
                TryError::RetryAfterTooLong {
                    status: 429,
                    asked: Duration::from_secs(999_999),
                    max_wait: Duration::from_secs(30),
                },
                Retry::Never,
            ),
            ("response head too slow", http(HttpError::TimedOut { stage: Stage::ResponseHead, limit: SEC }), AGAIN),
            ("connect timeout", http(HttpError::TimedOut { stage: Stage::Connect, limit: SEC }), AGAIN),
            ("host not found", http(HttpError::Connect(io::Error::other("dns error: no such host").into())), NEVER),
            ("refused", http(HttpError::Connect(io::Error::from(ConnectionRefused).into())), NEVER),
            ("TLS", http(HttpError::Tls("invalid peer certificate: UnknownIssuer".into())), NEVER),
            ("closed before the head", http(HttpError::Interrupted(io::Error::from(ConnectionReset).into())), AGAIN),
            ("redirect loop", http(HttpError::Redirect { message: "more than 10 redirects".into() }), NEVER),
            ("not an http URL", http(HttpError::InvalidUrl), NEVER),
            ("a stall in the body", body(TimedOut, HttpError::TimedOut { stage: Stage::Body, limit: SEC }), AGAIN),
            (
                "a body cut short",
                body(UnexpectedEof, HttpError::Body("end of file before message length".into())),
                AGAIN,
            ),
            ("a malformed body", body(Other, HttpError::Body("invalid chunk size line".into())), AGAIN),
        ];
        for (name, error, expected) in cases {
            assert_eq!(retry_of(&error), expected, "{name}");
        }
    }

    /// Regression: a `Retry-After` of days was waited out `max_wait` at a time, on every retry.
    #[test]
    fn a_retry_after_longer_than_the_longest_wait_is_not_retried() {
        let options = NetworkOptions { retries: 3, ..NetworkOptions::builtin() };
        let url = RedactedUrl::new("http://127.0.0.1:9/a");
        let mut tries = 0;
        let result: Result<(), TryError> = with_retries(&options, &url, retry_of, || {
            tries += 1;
            Err(status(429, Some(999_999)))
        });
        assert!(result.is_err());
        assert_eq!(tries, 1);
        let error = TryError::RetryAfterTooLong {
            status: 429,
            asked: Duration::from_secs(999_999),
            max_wait: options.max_wait,
        };
        assert_eq!(
            error.to_string(),
            "HTTP 429: the server asked to retry in 277 hours, longer than the 30 s this waits at most"
        );
        assert_eq!(span(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(span(Duration::from_secs(600)), "10 minutes");
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let options = NetworkOptions { backoff_base: Duration::from_millis(100), ..NetworkOptions::builtin() };
        for retry in 0..4u32 {
            let base = Duration::from_millis(100 * (1 << retry));
            let wait = options.wait(retry, None);
            assert!(wait >= base && wait <= base * 2, "retry {retry}: {wait:?}");
        }
        assert_eq!(options.wait(30, None), options.max_wait);
        assert_eq!(options.wait(0, Some(Duration::from_secs(3))), Duration::from_secs(3));
        assert_eq!(options.wait(0, Some(Duration::from_secs(3600))), options.max_wait);
    }
}
