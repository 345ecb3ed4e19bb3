//! What "verified" means for bytes, written once. A [`Verifier`] takes the bytes of one artifact
//! (or of one cached file) as they pass: it refuses a byte past the expected size at once,
//! checks each pinned block the moment its last byte arrives, hashes sha256 (and sha512 where
//! npm's integrity is pinned), and at the end compares size and digests with what was
//! [`Expected`]. Every failure is a [`VerifyError`] that names what was checked.
//!
//! Downloads, local copies, `verify-pins --rehash` and the bundle's copies out of the cache all
//! go through it, as a two-thread copy ([`Verifier::copy`]: the size, the blocks and sha512 on
//! the receiving thread, sha256 on the writing one) or as a reader adapter ([`VerifyingReader`]).
//!
//! ```
//! use std::io::Read;
//! use codex_runtime::fetch::verify::{Expected, Verifier, VerifyError, VerifyingReader};
//! use codex_runtime::model::digest::Sha256;
//!
//! let (sha256, size) = Sha256::of_reader(&b"pinned bytes"[..])?;
//! let expected = Expected::exactly(sha256, size);
//! let mut reader = VerifyingReader::new(&b"pinned bytes"[..], Verifier::new("a.tgz", &expected));
//! reader.read_to_end(&mut Vec::new())?;
//! assert_eq!(reader.digests().map(|d| d.sha256), Some(sha256));
//!
//! let mut reader = VerifyingReader::new(&b"pinned bytez"[..], Verifier::new("a.tgz", &expected));
//! let error = VerifyError::from_io(reader.read_to_end(&mut Vec::new()).unwrap_err()).unwrap();
//! assert!(error.to_string().starts_with("a.tgz: sha256 mismatch: expected "));
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fs::File;
use std::io::{self, Read, Seek, Write};

use sha2::{Digest as _, Sha512};

use crate::extract::ExtractError;
use crate::fetch::blocks::{BadBlock, Blocks};
use crate::model::digest::{Digests, Integrity, Sha256};
use crate::model::manifest::{ArtifactPin, BlockPins};
use crate::pipe::{Pipe, Stopped};

/// Bytes that are not what the pins say.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{subject}: sha256 mismatch: expected {expected}, got {actual}")]
    Sha256 { subject: String, expected: Sha256, actual: Sha256 },
    #[error("{subject}: sha512 integrity mismatch: expected {expected}, got {actual}")]
    Integrity { subject: String, expected: String, actual: String },
    #[error("{subject}: size mismatch: expected {expected} bytes, got {actual}")]
    Size { subject: String, expected: u64, actual: u64 },
    /// A block does not match its pin (the cause is in the message, not repeated as a source).
    #[error("{subject}: {block}")]
    Block { subject: String, block: BadBlock },
    #[error("{subject}: {reason}")]
    Layout { subject: String, reason: String },
    /// The archive cannot be extracted; the message holds the extraction error and its causes.
    #[error("{subject}: {}", crate::model::error::error_chain(error))]
    Archive { subject: String, error: ExtractError },
}

impl VerifyError {
    /// The verification failure an I/O error carries, as a [`VerifyingReader`] reports one;
    /// any other I/O error back.
    pub fn from_io(error: io::Error) -> Result<VerifyError, io::Error> {
        if error.get_ref().is_some_and(|inner| inner.is::<VerifyError>()) {
            let inner = error.into_inner().expect("checked above");
            return Ok(*inner.downcast::<VerifyError>().expect("checked above"));
        }
        Err(error)
    }
}

/// What bytes must be to pass: an artifact's pins ([`Expected::of`]), a cached file's receipt
/// entry ([`Expected::exactly`]), or only a bound ([`Expected::at_most`]) with what a registry
/// claims.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    /// The exact size, when it is known.
    pub size: Option<u64>,
    /// The most bytes accepted: the size when it is known.
    pub limit: u64,
    pub sha256: Option<Sha256>,
    /// npm's `sha512-` integrity; the sha512 is computed whenever it is pinned.
    pub integrity: Option<Integrity>,
    /// Compute the sha512 even though none is pinned (to compare with a registry's claim).
    pub sha512: bool,
    /// Each block's sha256; checked only when the size is known.
    pub blocks: Option<BlockPins>,
    /// The pins are an artifact's, made by `channel update` from one file: when its blocks are
    /// pinned too, every byte that passes matched a block pin, so the whole file's sha256 and
    /// sha512 (pinned from the same bytes) are the pinned ones and are not computed again.
    /// Off for what must prove the pins themselves (`verify-pins --online`).
    pub trust_blocks: bool,
}

impl Expected {
    /// Nothing pinned but a bound on the size.
    pub fn at_most(limit: u64) -> Expected {
        Expected { size: None, limit, sha256: None, integrity: None, sha512: false, blocks: None, trust_blocks: false }
    }

    /// Exactly `size` bytes that hash to `sha256`.
    pub fn exactly(sha256: Sha256, size: u64) -> Expected {
        Expected { size: Some(size), sha256: Some(sha256), ..Expected::at_most(size) }
    }

    /// What an artifact's pins say, bounded by its unpacked size when its size is not pinned.
    pub fn of(pin: &ArtifactPin) -> Expected {
        Expected {
            size: pin.size,
            limit: pin.size.unwrap_or(pin.max_unpacked_size),
            sha256: pin.sha256,
            integrity: pin.integrity.clone(),
            sha512: false,
            blocks: pin.blocks.clone(),
            trust_blocks: true,
        }
    }

    /// Whether the blocks vouch for the whole file's digests ([`Expected::trust_blocks`]).
    fn blocks_vouch(&self) -> bool {
        self.trust_blocks && self.blocks.is_some() && self.size.is_some() && self.sha256.is_some()
    }

    /// Compare what was received with the pins: size, then sha256, then sha512.
    pub fn check(&self, subject: &str, actual: &Digests) -> Result<(), VerifyError> {
        let subject = subject.to_owned();
        if let Some(expected) = self.size
            && actual.size != expected
        {
            return Err(VerifyError::Size { subject, expected, actual: actual.size });
        }
        if let Some(expected) = self.sha256
            && actual.sha256 != expected
        {
            return Err(VerifyError::Sha256 { subject, expected, actual: actual.sha256 });
        }
        if let Some(expected) = &self.integrity
            && actual.sha512.as_ref() != Some(expected)
        {
            return Err(VerifyError::Integrity {
                subject,
                expected: expected.to_string(),
                // Computed whenever it is pinned; "none" would be a bug, and still no pass.
                actual: actual.sha512.as_ref().map_or_else(|| "none".to_owned(), ToString::to_string),
            });
        }
        Ok(())
    }
}

/// Checks the bytes of one artifact as they pass; see the module documentation.
pub struct Verifier {
    /// What the errors name: `FILE from URL`, a cached path.
    subject: String,
    expected: Expected,
    front: Front,
    /// The whole file's sha256, fed on the writing thread of a [`Verifier::copy`]; `None` when
    /// the block pins vouch for it.
    sha256: Option<sha2::Sha256>,
}

/// What the receiving thread of a [`Verifier::copy`] checks: the count against the limit, the
/// blocks, the sha512.
struct Front {
    received: u64,
    sha512: Option<Sha512>,
    blocks: Option<Blocks>,
}

impl Front {
    fn new(expected: &Expected) -> Front {
        let blocks = match (&expected.blocks, expected.size) {
            (Some(pins), Some(size)) => Some(Blocks::new(pins, size)),
            _ => None,
        };
        let vouched = expected.blocks_vouch() && expected.integrity.is_some();
        let sha512 = (expected.sha512 || (expected.integrity.is_some() && !vouched)).then(Sha512::new);
        Front { received: 0, sha512, blocks }
    }

    /// Take the next bytes, unless they pass the limit or complete a bad block; then nothing
    /// of them is counted.
    fn take(&mut self, subject: &str, limit: u64, bytes: &[u8]) -> Result<(), VerifyError> {
        let received = self.received + bytes.len() as u64;
        if received > limit {
            return Err(VerifyError::Size { subject: subject.to_owned(), expected: limit, actual: received });
        }
        if let Some(blocks) = &mut self.blocks {
            blocks.update(bytes).map_err(|block| VerifyError::Block { subject: subject.to_owned(), block })?;
        }
        if let Some(h) = &mut self.sha512 {
            h.update(bytes);
        }
        self.received = received;
        Ok(())
    }

    fn verified(&self) -> u64 {
        self.blocks.as_ref().map_or(0, Blocks::verified)
    }
}

/// How a [`Verifier::copy`] failed.
#[derive(Debug)]
pub enum CopyError {
    /// Reading failed after `received` bytes of this copy.
    Read { received: u64, source: io::Error },
    /// The bytes are not the expected ones: too many, or a bad block.
    Verify(VerifyError),
    /// Writing failed.
    Write(io::Error),
}

impl Verifier {
    /// A check of bytes against `expected`; its errors name `subject`.
    pub fn new(subject: impl Into<String>, expected: &Expected) -> Verifier {
        Verifier {
            subject: subject.into(),
            front: Front::new(expected),
            expected: expected.clone(),
            sha256: (!expected.blocks_vouch()).then(sha2::Sha256::new),
        }
    }

    pub fn expected(&self) -> &Expected {
        &self.expected
    }

    /// Bytes taken so far.
    pub fn received(&self) -> u64 {
        self.front.received
    }

    /// Bytes in whole blocks that matched their pins (0 when no blocks are pinned).
    pub fn verified(&self) -> u64 {
        self.front.verified()
    }

    /// Take the next bytes: past the limit, or completing a bad block, they are an error.
    pub fn update(&mut self, bytes: &[u8]) -> Result<(), VerifyError> {
        self.front.take(&self.subject, self.expected.limit, bytes)?;
        if let Some(h) = &mut self.sha256 {
            h.update(bytes);
        }
        Ok(())
    }

    /// The same check from the first byte again.
    pub fn restart(&mut self) {
        self.front = Front::new(&self.expected);
        self.sha256 = (!self.expected.blocks_vouch()).then(sha2::Sha256::new);
    }

    /// Start again from what an earlier try left in `file`: its first `upto` bytes, but none
    /// from the first block that fails its pin on. Returns how many bytes are kept; the check
    /// goes on after them. `file` is read from its start and left anywhere.
    pub fn resume(&mut self, file: &mut File, upto: u64) -> io::Result<u64> {
        self.restart();
        file.rewind()?;
        let mut keep = upto;
        if let Some(blocks) = &mut self.front.blocks {
            keep = blocks.resume(&mut Read::take(&mut *file, upto))?;
            file.rewind()?;
        }
        // The blocks are past the kept bytes already: only the digests take them now.
        struct Digesting<'a>(&'a mut Verifier);
        impl Write for Digesting<'_> {
            fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
                let v = &mut *self.0;
                if let Some(h) = &mut v.sha256 {
                    h.update(bytes);
                }
                if let Some(h) = &mut v.front.sha512 {
                    h.update(bytes);
                }
                v.front.received += bytes.len() as u64;
                Ok(bytes.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        io::copy(&mut Read::take(&mut *file, keep), &mut Digesting(self))
    }

    /// The digests of what was taken, checked against the pins.
    pub fn finish(&self) -> Result<Digests, VerifyError> {
        let size = self.front.received;
        // Without their hashers, the digests are the pinned ones, which every block vouched for;
        // a short file has a block short of its pin, which the size check below refuses.
        let vouched = |pinned: Option<Sha256>| pinned.filter(|_| self.front.verified() == size);
        let sha256 = match &self.sha256 {
            Some(h) => Sha256(h.clone().finalize().into()),
            None => vouched(self.expected.sha256).unwrap_or(Sha256([0; 32])),
        };
        let sha512 = match &self.front.sha512 {
            Some(h) => Some(Integrity(h.clone().finalize().into())),
            None => self.expected.integrity.clone().filter(|_| self.sha256.is_none() && self.front.verified() == size),
        };
        let digests = Digests { sha256, sha512, size };
        self.expected.check(&self.subject, &digests)?;
        Ok(digests)
    }

    /// Copy `reader` to `write` through `pipe`, verifying: this thread reads, counts, checks
    /// the blocks and feeds sha512 (and tells `progress` each amount), a second one feeds
    /// sha256 and writes, so hashing never slows the transfer. `write` also learns how many
    /// bytes are in verified blocks once those bytes are written. When reading fails or the
    /// bytes do, every byte counted was written, so a later try can go on from
    /// [`Verifier::received`]; after a failed write the count is ahead of the destination.
    pub fn copy(
        &mut self,
        pipe: Pipe,
        reader: &mut dyn Read,
        mut write: impl FnMut(&[u8], u64) -> io::Result<()> + Send,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), CopyError> {
        let start = self.front.received;
        let Verifier { subject, expected, front, sha256 } = self;
        let limit = expected.limit;
        let copied = pipe.copy(
            |buf| {
                let n = read_some(reader, buf)
                    .map_err(|source| CopyError::Read { received: front.received - start, source })?;
                if n > 0 {
                    front.take(subject, limit, &buf[..n]).map_err(CopyError::Verify)?;
                    progress(n as u64);
                }
                Ok((n, front.verified()))
            },
            |bytes, verified| {
                if let Some(h) = sha256 {
                    h.update(bytes);
                }
                write(bytes, verified)
            },
        );
        copied.map_err(|stopped| match stopped {
            Stopped::Fill(e) => e,
            Stopped::Drain(e) => CopyError::Write(e),
        })
    }
}

/// One read, retried when interrupted.
fn read_some(reader: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Verifies what is read through it. Bytes that fail the check, at the end or the moment they
/// pass the limit or complete a bad block, are an [`io::ErrorKind::InvalidData`] error
/// carrying the [`VerifyError`] ([`VerifyError::from_io`]).
pub struct VerifyingReader<R> {
    inner: R,
    verifier: Verifier,
    digests: Option<Digests>,
}

impl<R: Read> VerifyingReader<R> {
    pub fn new(inner: R, verifier: Verifier) -> VerifyingReader<R> {
        VerifyingReader { inner, verifier, digests: None }
    }

    /// The digests, once the end was read and they matched.
    pub fn digests(&self) -> Option<&Digests> {
        self.digests.as_ref()
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let invalid = |e: VerifyError| io::Error::new(io::ErrorKind::InvalidData, e);
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.verifier.update(&buf[..n]).map_err(invalid)?;
        } else if !buf.is_empty() && self.digests.is_none() {
            self.digests = Some(self.verifier.finish().map_err(invalid)?);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::digest::block_sha256s;

    fn data(n: usize) -> Vec<u8> {
        codex_runtime_test_support::fixture::noise(n, 1)
    }

    fn sha512_of(bytes: &[u8]) -> Integrity {
        Integrity(Sha512::digest(bytes).into())
    }

    /// Every pin of `bytes`, blocks of 64 KiB included.
    fn pinned(bytes: &[u8]) -> Expected {
        let (sha256, size) = Sha256::of_reader(bytes).unwrap();
        Expected {
            integrity: Some(sha512_of(bytes)),
            blocks: Some(BlockPins { size: 65_536, sha256: block_sha256s(bytes, 65_536).unwrap() }),
            ..Expected::exactly(sha256, size)
        }
    }

    /// A destination for [`Verifier::copy`] that appends to `out`.
    fn into(out: &mut Vec<u8>) -> impl FnMut(&[u8], u64) -> io::Result<()> + Send + '_ {
        |bytes, _| {
            out.extend_from_slice(bytes);
            Ok(())
        }
    }

    fn copy_through(pipe: Pipe, expected: &Expected, input: &[u8]) -> (Result<Digests, VerifyError>, Vec<u8>) {
        let mut verifier = Verifier::new("x.tgz from http://h/x.tgz", expected);
        let mut out = Vec::new();
        let mut reported = 0;
        let copied = verifier.copy(pipe, &mut &input[..], into(&mut out), &mut |n| reported += n);
        let result = match copied {
            Ok(()) => verifier.finish(),
            Err(CopyError::Verify(e)) => Err(e),
            Err(e) => panic!("{e:?}"),
        };
        assert_eq!(reported, verifier.received());
        assert_eq!(out.len() as u64, verifier.received(), "every byte counted was written");
        (result, out)
    }

    #[test]
    fn the_digests_are_the_known_ones() {
        let expected = Expected { sha512: true, ..Expected::at_most(3) };
        let mut verifier = Verifier::new("abc", &expected);
        verifier.update(b"abc").unwrap();
        let digests = verifier.finish().unwrap();
        assert_eq!(digests.sha256.to_string(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(
            digests.sha512.unwrap().to_string(),
            "sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw=="
        );
        assert_eq!(digests.size, 3);
        // Past the bound, nothing more is taken.
        assert!(matches!(verifier.update(b"d"), Err(VerifyError::Size { expected: 3, actual: 4, .. })));
        assert_eq!(verifier.received(), 3);
    }

    #[test]
    fn pinned_bytes_pass_every_way_they_are_fed() {
        let bytes = data(300_000);
        let expected = pinned(&bytes);
        for pipe in [Pipe::inline(1000), Pipe::threaded(4096, 2), Pipe::threaded(256 * 1024, 8)] {
            let (digests, out) = copy_through(pipe, &expected, &bytes);
            let digests = digests.unwrap();
            assert_eq!((digests.size, digests.sha512), (300_000, expected.integrity.clone()), "{pipe:?}");
            assert_eq!(out, bytes);
        }
        let mut reader = VerifyingReader::new(&bytes[..], Verifier::new("x", &expected));
        io::copy(&mut reader, &mut io::sink()).unwrap();
        assert_eq!(reader.digests().unwrap().sha256, expected.sha256.unwrap());
    }

    #[test]
    fn each_failure_is_named_and_stops_where_it_is_seen() {
        let bytes = data(300_000);
        let expected = pinned(&bytes);
        let pipe = Pipe::threaded(10_000, 4);
        let message = |(result, _): (Result<Digests, VerifyError>, Vec<u8>)| result.unwrap_err().to_string();

        // A flipped byte in block 2 stops the copy at the end of that block.
        let mut bad = bytes.clone();
        bad[140_000] ^= 1;
        let (result, out) = copy_through(pipe, &expected, &bad);
        assert!(matches!(result, Err(VerifyError::Block { ref block, .. }) if block.index == 2), "{result:?}");
        assert!(out.len() < 196_608, "{}", out.len());

        // Without block pins the whole file is read, and its sha256 fails.
        let no_blocks = Expected { blocks: None, ..expected.clone() };
        let m = message(copy_through(pipe, &no_blocks, &bad));
        assert!(m.starts_with("x.tgz from http://h/x.tgz: sha256 mismatch: expected "), "{m}");

        // One byte too many is refused as it arrives, short bytes at the end.
        let long = [&bytes[..], &[0]].concat();
        let m = message(copy_through(pipe, &no_blocks, &long));
        assert!(m.ends_with("size mismatch: expected 300000 bytes, got 300001"), "{m}");
        let m = message(copy_through(pipe, &expected, &bytes[..299_990]));
        assert!(m.ends_with("size mismatch: expected 300000 bytes, got 299990"), "{m}");

        // Only npm's integrity differs.
        let other = Expected { integrity: Some(sha512_of(b"other")), ..expected.clone() };
        let m = message(copy_through(pipe, &other, &bytes));
        assert!(m.contains("sha512 integrity mismatch: expected sha512-"), "{m}");

        // A reader adapter says the same through its I/O error.
        let mut reader = VerifyingReader::new(&bad[..], Verifier::new("x", &no_blocks));
        let error = VerifyError::from_io(io::copy(&mut reader, &mut io::sink()).unwrap_err()).unwrap();
        assert!(matches!(error, VerifyError::Sha256 { .. }), "{error}");
        assert!(reader.digests().is_none());
        let other = io::Error::other("disk on fire");
        assert_eq!(VerifyError::from_io(other).unwrap_err().to_string(), "disk on fire");
    }

    #[test]
    fn a_failed_read_keeps_what_came_before_it() {
        struct Breaks(Vec<u8>);
        impl Read for Breaks {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() {
                    return Err(io::Error::from(io::ErrorKind::ConnectionReset));
                }
                let n = buf.len().min(self.0.len()).min(7000);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0.drain(..n);
                Ok(n)
            }
        }
        let bytes = data(100_000);
        let expected = pinned(&bytes);
        let mut verifier = Verifier::new("x", &expected);
        let mut out = Vec::new();
        let pipe = Pipe::threaded(4096, 2);
        let copied = verifier.copy(pipe, &mut Breaks(bytes[..60_000].to_vec()), into(&mut out), &mut |_| {});
        assert!(matches!(copied, Err(CopyError::Read { received: 60_000, .. })), "{copied:?}");
        assert_eq!(verifier.received(), 60_000);
        // The next try goes on from there.
        verifier.copy(pipe, &mut &bytes[60_000..], into(&mut out), &mut |_| {}).unwrap();
        assert_eq!(verifier.finish().unwrap().size, 100_000);
        assert_eq!(out, bytes);
    }

    #[test]
    fn resuming_keeps_the_good_blocks_and_the_digests_cover_the_whole_file() {
        let bytes = data(300_000);
        let expected = pinned(&bytes);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part");
        // A bad byte in block 1: only block 0 is kept.
        let mut part = bytes[..200_000].to_vec();
        part[70_000] ^= 1;
        std::fs::write(&path, &part).unwrap();
        let mut verifier = Verifier::new("x", &expected);
        let mut file = File::open(&path).unwrap();
        assert_eq!(verifier.resume(&mut file, 300_000).unwrap(), 65_536);
        assert_eq!((verifier.received(), verifier.verified()), (65_536, 65_536));
        verifier.update(&bytes[65_536..]).unwrap();
        assert_eq!(verifier.finish().unwrap().sha512, expected.integrity);

        // Without block pins, every byte up to `upto` is kept, and the digests tell.
        let expected = Expected { blocks: None, ..expected };
        let mut verifier = Verifier::new("x", &expected);
        assert_eq!(verifier.resume(&mut file, 150_000).unwrap(), 150_000);
        verifier.update(&bytes[150_000..]).unwrap();
        assert!(matches!(verifier.finish(), Err(VerifyError::Sha256 { .. })));
        verifier.restart();
        verifier.update(&bytes).unwrap();
        assert!(verifier.finish().is_ok());
    }

    #[test]
    fn blocks_vouch_for_an_artifacts_digests_only_when_trusted() {
        let input = data(200_000);
        let trusted = Expected { trust_blocks: true, ..pinned(&input) };
        let mut verifier = Verifier::new("x.tgz", &trusted);
        assert!(verifier.sha256.is_none() && verifier.front.sha512.is_none(), "nothing hashed twice");
        verifier.update(&input).unwrap();
        let digests = verifier.finish().unwrap();
        let (sha256, _) = Sha256::of_reader(&input[..]).unwrap();
        assert_eq!((digests.sha256, digests.sha512, digests.size), (sha256, Some(sha512_of(&input)), 200_000));

        // A tampered byte still fails its block; a short file fails its size.
        let mut tampered = input.clone();
        tampered[70_000] ^= 1;
        let mut verifier = Verifier::new("x.tgz", &trusted);
        assert!(matches!(verifier.update(&tampered), Err(VerifyError::Block { .. })));
        let mut verifier = Verifier::new("x.tgz", &trusted);
        verifier.update(&input[..150_000]).unwrap();
        assert!(matches!(verifier.finish(), Err(VerifyError::Size { .. })));

        // Pins whose sha256 disagrees with their blocks: trusted, the blocks decide; untrusted
        // (what verify-pins proves the pins with), the whole file's sha256 is computed and fails.
        let inconsistent = Expected { sha256: Some(Sha256([7; 32])), ..pinned(&input) };
        let mut verifier = Verifier::new("x.tgz", &inconsistent);
        verifier.update(&input).unwrap();
        assert!(matches!(verifier.finish(), Err(VerifyError::Sha256 { .. })));
    }
}
