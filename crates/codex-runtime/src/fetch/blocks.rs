//! Verifying a download block by block, and reading the verified blocks while the rest arrives.
//!
//! When a manifest pins the sha256 of each block of an artifact ([`BlockPins`]), the download
//! checks every block as soon as its last byte is written. A bad block stops the download at
//! once, and a resumed download keeps only the blocks that still match. A [`VerifiedStream`]
//! publishes how many bytes have passed; its [`VerifiedReader`]s hand out exactly those bytes,
//! from any offset, and wait for more, so an artifact is extracted while it downloads without
//! extraction ever reading a byte that has not been verified against the trusted pins.

use std::fs::File;
use std::io::{self, Read};
use std::sync::{Condvar, Mutex, MutexGuard};

use sha2::Digest as _;

use crate::model::digest::Sha256;
use crate::model::manifest::BlockPins;

/// A block whose bytes differ from its pin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("block {index} (bytes {start}..{end}) {}", mismatch(expected, actual))]
pub struct BadBlock {
    pub index: usize,
    pub start: u64,
    pub end: u64,
    /// None for bytes past the pinned size.
    pub expected: Option<Sha256>,
    pub actual: Sha256,
}

fn mismatch(expected: &Option<Sha256>, actual: &Sha256) -> String {
    match expected {
        Some(expected) => format!("does not match its pin: expected sha256 {expected}, got {actual}"),
        None => "lies past the pinned size".to_owned(),
    }
}

/// The block check of one artifact: the bytes written so far, in order.
#[derive(Debug, Clone)]
pub struct Blocks {
    pins: BlockPins,
    /// The artifact's pinned size, which decides the length of the last block.
    size: u64,
    /// Bytes in whole blocks that matched their pins.
    verified: u64,
    /// The current block's hash and how many of its bytes it has seen.
    hasher: sha2::Sha256,
    filled: u64,
}

impl Blocks {
    pub fn new(pins: &BlockPins, size: u64) -> Blocks {
        Blocks { pins: pins.clone(), size, verified: 0, hasher: sha2::Sha256::new(), filled: 0 }
    }

    /// The same check from the artifact's first byte again.
    pub fn restarted(&self) -> Blocks {
        Blocks::new(&self.pins, self.size)
    }

    /// Bytes in whole blocks that matched their pins.
    pub fn verified(&self) -> u64 {
        self.verified
    }

    /// Take the next bytes of the artifact. A block that ends here is checked: the first bad
    /// one is an error. Bytes past the pinned size are a bad block of their own.
    pub fn update(&mut self, mut bytes: &[u8]) -> Result<(), BadBlock> {
        while !bytes.is_empty() {
            // Whole blocks so far; after the short last block, one past the end.
            let index = self.verified.div_ceil(self.pins.size) as usize;
            let Some(&expected) = self.pins.sha256.get(index) else {
                let actual = Sha256(sha2::Sha256::digest(bytes).into());
                let (start, end) = (self.verified, self.verified + bytes.len() as u64);
                return Err(BadBlock { index, start, end, expected: None, actual });
            };
            let length = self.pins.size.min(self.size.saturating_sub(self.verified));
            let take = (length - self.filled).min(bytes.len() as u64) as usize;
            self.hasher.update(&bytes[..take]);
            self.filled += take as u64;
            bytes = &bytes[take..];
            if self.filled == length {
                let actual = Sha256(self.hasher.finalize_reset().into());
                let start = self.verified;
                if actual != expected {
                    return Err(BadBlock { index, start, end: start + length, expected: Some(expected), actual });
                }
                self.verified += length;
                self.filled = 0;
            }
        }
        Ok(())
    }

    /// Check the blocks of what a previous try left in `file` (read from its start): the
    /// length of the prefix worth keeping, which is every byte up to the first bad block.
    /// `self` is left after that prefix.
    pub fn resume(&mut self, file: &mut impl Read) -> io::Result<u64> {
        let mut buf = vec![0u8; 256 * 1024];
        let mut kept = 0u64;
        // Bounded by the pinned size: each turn consumes bytes or ends.
        while kept < self.size {
            let want = buf.len().min((self.size - kept) as usize);
            let n = match file.read(&mut buf[..want]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if let Err(bad) = self.update(&buf[..n]) {
                tracing::info!("dropping a partial download from byte {}: {bad}", bad.start);
                // Back to the start of the bad block, which `verified` still is.
                self.filled = 0;
                self.hasher = sha2::Sha256::new();
                return Ok(bad.start);
            }
            kept += n as u64;
        }
        Ok(kept)
    }
}

/// How far a download has got in verified bytes, shared with the [`VerifiedReader`]s that
/// consume them. The download side calls [`VerifiedStream::open`] once it has a file,
/// [`VerifiedStream::advance`] as blocks pass, [`VerifiedStream::break_off`] when the bytes
/// already handed out are no longer the ones it will finish with (a failure, or a restart), and
/// [`VerifiedStream::end`] when no more bytes will come.
pub struct VerifiedStream {
    size: u64,
    state: Mutex<Shared>,
    changed: Condvar,
}

struct Shared {
    /// A read handle on the download's file; readers read from clones of it, by offset.
    file: Option<File>,
    verified: u64,
    ended: bool,
    broken: bool,
}

impl VerifiedStream {
    /// A stream of an artifact of `size` bytes.
    pub fn new(size: u64) -> VerifiedStream {
        let state = Shared { file: None, verified: 0, ended: false, broken: false };
        VerifiedStream { size, state: Mutex::new(state), changed: Condvar::new() }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The download's file, with its first `verified` bytes already verified. A second file
    /// (a second download of the same artifact) breaks the stream.
    pub fn open(&self, file: File, verified: u64) {
        let mut state = self.lock();
        if state.file.is_some() {
            state.broken = true;
        } else {
            state.file = Some(file);
            state.verified = verified;
        }
        self.changed.notify_all();
    }

    /// The first `verified` bytes have passed.
    pub fn advance(&self, verified: u64) {
        let mut state = self.lock();
        state.verified = state.verified.max(verified);
        self.changed.notify_all();
    }

    /// The reader must stop: what it read may not be what the download ends with.
    pub fn break_off(&self) {
        self.lock().broken = true;
        self.changed.notify_all();
    }

    /// No more bytes will come: the reader reads what was verified, then stops.
    pub fn end(&self) {
        self.lock().ended = true;
        self.changed.notify_all();
    }

    /// Whether the stream was broken off.
    pub fn is_broken(&self) -> bool {
        self.lock().broken
    }

    /// A reader of the verified bytes from `offset` on.
    pub fn reader_at(&self, offset: u64) -> VerifiedReader<'_> {
        VerifiedReader { stream: self, file: None, pos: offset }
    }
}

impl crate::extract::Growing for VerifiedStream {
    type Reader<'a> = VerifiedReader<'a>;

    fn reader_at(&self, offset: u64) -> VerifiedReader<'_> {
        VerifiedStream::reader_at(self, offset)
    }
}

/// Ends the stream when dropped: whatever way the download side stops (even a panic), the
/// reader never waits for bytes that will not come.
pub struct EndOnDrop<'a>(pub &'a VerifiedStream);

impl Drop for EndOnDrop<'_> {
    fn drop(&mut self) {
        self.0.end();
    }
}

/// Reads the verified bytes of a download in order from an offset, waiting for more until the
/// whole artifact is read. Fails once the stream is broken off.
pub struct VerifiedReader<'a> {
    stream: &'a VerifiedStream,
    file: Option<File>,
    pos: u64,
}

impl Read for VerifiedReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.pos >= self.stream.size {
            return Ok(0);
        }
        let mut state = self.stream.lock();
        // Bounded: every change of the state is notified, and the download side always ends by
        // completing the bytes or breaking the stream off.
        let available = loop {
            if state.broken {
                return Err(io::Error::other("the download stopped or restarted"));
            }
            if self.file.is_none()
                && let Some(file) = &state.file
            {
                self.file = Some(file.try_clone()?);
            }
            if self.file.is_some() && state.verified > self.pos {
                break state.verified - self.pos;
            }
            if state.ended {
                let message = format!("the download ended at byte {}, short of the artifact's end", state.verified);
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, message));
            }
            state = self.stream.changed.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
        };
        // Read with the lock held: a restart breaks the stream off (under the lock) before it
        // truncates the file, so no read ever sees bytes of the new try.
        let want = buf.len().min(available.try_into().unwrap_or(usize::MAX));
        let file = self.file.as_ref().expect("cloned above");
        let n = read_at(file, &mut buf[..want], self.pos)?;
        drop(state);
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the download's file is shorter than verified"));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// Read at an offset, leaving the handle's position alone (which its clones share).
#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

#[cfg(test)]
mod tests {
    use std::io::{Seek, Write};

    use super::*;
    use crate::model::digest::block_sha256s;

    fn data(n: usize) -> Vec<u8> {
        (0..n as u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect()
    }

    fn pins(data: &[u8], size: u64) -> BlockPins {
        BlockPins { size, sha256: block_sha256s(data, size).unwrap() }
    }

    #[test]
    fn blocks_pass_in_any_chunking_and_a_bad_one_is_named() {
        let bytes = data(300_000);
        let pins = pins(&bytes, 65_536);
        assert_eq!(pins.sha256.len(), 5);
        for chunk in [1, 1000, 65_536, 70_000, 300_000] {
            let mut blocks = Blocks::new(&pins, bytes.len() as u64);
            for piece in bytes.chunks(chunk) {
                blocks.update(piece).unwrap();
            }
            assert_eq!(blocks.verified(), bytes.len() as u64, "chunk {chunk}");
        }
        let mut bad = bytes.clone();
        bad[140_000] ^= 1;
        let mut blocks = Blocks::new(&pins, bad.len() as u64);
        let err = bad.chunks(10_000).find_map(|p| blocks.update(p).err()).unwrap();
        assert_eq!((err.index, err.start, err.end), (2, 131_072, 196_608));
        assert_eq!(blocks.verified(), 131_072);
        let mut long = bytes.clone();
        long.push(0);
        let mut blocks = Blocks::new(&pins, bytes.len() as u64);
        let err = blocks.update(&long).unwrap_err();
        assert_eq!((err.index, err.start, err.end), (5, 300_000, 300_001), "{err}");
    }

    #[test]
    fn resume_keeps_the_blocks_before_the_first_bad_one() {
        let bytes = data(300_000);
        let pins = pins(&bytes, 65_536);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part");
        // A good prefix ending inside block 3: everything is kept, and the check goes on.
        std::fs::write(&path, &bytes[..200_000]).unwrap();
        let mut blocks = Blocks::new(&pins, bytes.len() as u64);
        assert_eq!(blocks.resume(&mut File::open(&path).unwrap()).unwrap(), 200_000);
        assert_eq!(blocks.verified(), 196_608);
        blocks.update(&bytes[200_000..]).unwrap();
        assert_eq!(blocks.verified(), 300_000);
        // A bad byte in block 1: only block 0 is kept.
        let mut bad = bytes[..200_000].to_vec();
        bad[70_000] ^= 1;
        std::fs::write(&path, &bad).unwrap();
        let mut blocks = Blocks::new(&pins, bytes.len() as u64);
        assert_eq!(blocks.resume(&mut File::open(&path).unwrap()).unwrap(), 65_536);
        blocks.update(&bytes[65_536..]).unwrap();
        assert_eq!(blocks.verified(), 300_000);
    }

    #[test]
    fn the_reader_hands_out_verified_bytes_only_and_stops_when_broken_off() {
        let bytes = data(200_000);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("download");
        let mut out = File::create(&path).unwrap();
        let stream = VerifiedStream::new(bytes.len() as u64);
        let read = std::thread::scope(|scope| {
            let reader = scope.spawn(|| {
                let mut got = Vec::new();
                stream.reader_at(0).read_to_end(&mut got).map(|_| got)
            });
            stream.open(File::open(&path).unwrap(), 0);
            for (i, piece) in bytes.chunks(50_000).enumerate() {
                out.write_all(piece).unwrap();
                // Written but not yet verified: the reader must not see it.
                std::thread::sleep(std::time::Duration::from_millis(5));
                stream.advance(((i + 1) * 50_000) as u64);
            }
            reader.join().unwrap()
        });
        assert_eq!(read.unwrap(), bytes);

        let stream = VerifiedStream::new(bytes.len() as u64);
        let err = std::thread::scope(|scope| {
            let reader = scope.spawn(|| {
                let mut got = Vec::new();
                stream.reader_at(0).read_to_end(&mut got).map(|_| got.len())
            });
            out.rewind().unwrap();
            stream.open(File::open(&path).unwrap(), 50_000);
            stream.break_off();
            reader.join().unwrap()
        });
        assert!(err.unwrap_err().to_string().contains("stopped or restarted"));

        // Ended short: the verified bytes are read, then the reader says where it stopped.
        let stream = VerifiedStream::new(bytes.len() as u64);
        stream.open(File::open(&path).unwrap(), 100_000);
        drop(EndOnDrop(&stream));
        let mut got = Vec::new();
        let err = stream.reader_at(0).read_to_end(&mut got).unwrap_err();
        assert_eq!(got, bytes[..100_000]);
        assert!(err.to_string().contains("ended at byte 100000"), "{err}");
    }
}
