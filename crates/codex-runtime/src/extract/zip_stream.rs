//! A zip extracted while it downloads. A zip's central directory comes last, so the members are
//! found by their local headers instead, in order, and each is inflated by a worker as its
//! bytes arrive. Only then is the central directory read, and it must list exactly the members
//! extracted: the same names, offsets, sizes, methods and checksums, each a regular file or a
//! directory, made on Unix. Anything a plain streaming pass cannot vouch for (sizes in a data
//! descriptor, zip64, encryption, links, a directory that disagrees) is an error, and the
//! caller extracts the complete file the usual way, with every check of [`super::extract`].

use std::io::{self, Read};
use std::sync::{Mutex, mpsc};

use super::{
    ExtractError, ExtractedFile, FileDigests, FileToWrite, Kind, Limits, Sink, Written, corrupt, in_member, write_file,
};

/// A file still arriving, readable from any offset; each read waits until its bytes are there.
pub trait Growing: Sync {
    type Reader<'a>: Read + Send
    where
        Self: 'a;
    fn reader_at(&self, offset: u64) -> Self::Reader<'_>;
}

const LOCAL: u32 = 0x0403_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const END: u32 = 0x0605_4b50;
/// The most bytes the central directory and its end record may take.
const MAX_DIRECTORY: u64 = 16 * 1024 * 1024;

/// One member as its local header describes it.
#[derive(Debug, Clone, PartialEq)]
struct Local {
    offset: u64,
    name: Vec<u8>,
    method: u16,
    crc: u32,
    compressed: u64,
    size: u64,
}

/// A file for a worker: which member, where its data starts, and what it must inflate to.
struct Job {
    index: usize,
    data: u64,
    local: Local,
    file: FileToWrite,
}

fn unsupported(what: &str) -> ExtractError {
    corrupt(format!("for extraction while it downloads ({what})"), io::Error::other("not streamable"))
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Extract the zip of `size` bytes that `source` is receiving into the empty directory `dest`.
pub fn extract_zip_stream(
    source: &impl Growing,
    size: u64,
    dest: &std::path::Path,
    limits: Limits,
    digests: FileDigests,
) -> Result<Vec<ExtractedFile>, ExtractError> {
    let mut sink = Sink::new(dest, limits, digests);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 4);
    let (jobs_tx, jobs_rx) = mpsc::channel::<Job>();
    let jobs_rx = Mutex::new(jobs_rx);
    let (locals, directory_start, done) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers).map(|_| scope.spawn(|| work(source, &jobs_rx, digests))).collect();
        let walked = walk(source, size, &mut sink, &jobs_tx);
        drop(jobs_tx);
        let mut done = Vec::new();
        let mut failed = None;
        for handle in handles {
            match handle.join().expect("a zip worker panicked") {
                Ok(files) => done.extend(files),
                Err(e) => failed = failed.or(Some(e)),
            }
        }
        let (locals, directory_start) = walked?;
        match failed {
            Some(e) => Err(e),
            None => Ok((locals, directory_start, done)),
        }
    })?;
    let modes = check_directory(source, size, directory_start, &locals)?;
    for (index, file, written) in done {
        let executable = modes[index] & 0o111 != 0;
        if executable {
            set_executable(&file)?;
        }
        sink.wrote(FileToWrite { executable, ..file }, written);
    }
    sink.finish()
}

/// Read the local headers in order, admit each member and hand its file to the workers.
/// Returns the members and where the central directory starts.
fn walk(
    source: &impl Growing,
    size: u64,
    sink: &mut Sink,
    jobs: &mpsc::Sender<Job>,
) -> Result<(Vec<Local>, u64), ExtractError> {
    let mut locals: Vec<Local> = Vec::new();
    let mut offset = 0u64;
    // Bounded: each turn moves past a header and its data, or ends.
    loop {
        let near = || locals.last().map_or_else(|| "at its start".to_owned(), |l| in_member(&name_of(&l.name)));
        if offset + 4 > size {
            return Err(unsupported("no central directory"));
        }
        let mut reader = source.reader_at(offset);
        let mut fixed = [0u8; 30];
        reader.read_exact(&mut fixed[..4]).map_err(|e| corrupt(near(), e))?;
        match u32_at(&fixed, 0) {
            LOCAL => {}
            CENTRAL => return Ok((locals, offset)),
            _ => return Err(unsupported("an unexpected record")),
        }
        reader.read_exact(&mut fixed[4..]).map_err(|e| corrupt(near(), e))?;
        let flags = u16_at(&fixed, 6);
        let method = u16_at(&fixed, 8);
        let (compressed, unpacked) = (u32_at(&fixed, 18), u32_at(&fixed, 22));
        if flags & 0x9 != 0 || !matches!(method, 0 | 8) || compressed == u32::MAX || unpacked == u32::MAX {
            return Err(unsupported("a data descriptor, encryption, zip64 or an unknown method"));
        }
        let mut name = vec![0u8; usize::from(u16_at(&fixed, 26))];
        reader.read_exact(&mut name).map_err(|e| corrupt(near(), e))?;
        let data = offset + 30 + name.len() as u64 + u64::from(u16_at(&fixed, 28));
        let local = Local {
            offset,
            name,
            method,
            crc: u32_at(&fixed, 14),
            compressed: u64::from(compressed),
            size: u64::from(unpacked),
        };
        let member = name_of(&local.name);
        let kind =
            if member.ends_with('/') { Kind::Dir } else { Kind::File { executable: false, declared_size: local.size } };
        if let Some(file) = sink.admit(&member, kind)? {
            // The workers stop only on an error, which the caller reports.
            let _ = jobs.send(Job { index: locals.len(), data, local: local.clone(), file });
        }
        offset = data + local.compressed;
        locals.push(local);
    }
}

fn name_of(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

/// Take jobs until there are none: inflate each member as its bytes arrive, and check its
/// size and checksum.
type Done = Vec<(usize, FileToWrite, Written)>;

fn work(source: &impl Growing, jobs: &Mutex<mpsc::Receiver<Job>>, digests: FileDigests) -> Result<Done, ExtractError> {
    let mut done = Vec::new();
    loop {
        let job = jobs.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok(Job { index, data, local, file }) = job else { return Ok(done) };
        let raw = io::BufReader::with_capacity(256 * 1024, source.reader_at(data).take(local.compressed));
        let inflated: Box<dyn Read> = match local.method {
            0 => Box::new(raw),
            _ => Box::new(flate2::read::DeflateDecoder::new(raw)),
        };
        let mut checked = flate2::CrcReader::new(inflated);
        let written = write_file(&mut checked, &file, local.size, digests)?;
        if written.size != local.size || checked.crc().sum() != local.crc {
            let e = io::Error::new(io::ErrorKind::InvalidData, "its size or checksum differs from its header");
            return Err(corrupt(in_member(&file.name), e));
        }
        done.push((index, file, written));
    }
}

/// Read the central directory once all of it has arrived, and check it lists exactly the
/// members extracted. Returns each member's Unix mode.
fn check_directory(source: &impl Growing, size: u64, start: u64, locals: &[Local]) -> Result<Vec<u32>, ExtractError> {
    if size - start > MAX_DIRECTORY {
        return Err(unsupported("a central directory too large"));
    }
    let mut tail = Vec::new();
    source
        .reader_at(start)
        .take(size - start)
        .read_to_end(&mut tail)
        .map_err(|e| corrupt("in its central directory".to_owned(), e))?;
    let differs = || unsupported("a central directory that differs from the local headers");
    let mut at = 0usize;
    let mut modes = Vec::with_capacity(locals.len());
    for local in locals {
        let fixed = tail.get(at..at + 46).ok_or_else(differs)?;
        let name_len = usize::from(u16_at(fixed, 28));
        let skip = name_len + usize::from(u16_at(fixed, 30)) + usize::from(u16_at(fixed, 32));
        let name = tail.get(at + 46..at + 46 + name_len).ok_or_else(differs)?;
        let made_on_unix = u16_at(fixed, 4) >> 8 == 3;
        let mode = u32_at(fixed, 38) >> 16;
        let is_dir = local.name.ends_with(b"/");
        let kind_ok = match mode & 0o170000 {
            0o040000 => is_dir,
            0 | 0o100000 => true,
            _ => false,
        };
        let same = u32_at(fixed, 0) == CENTRAL
            && made_on_unix
            && kind_ok
            && u16_at(fixed, 8) & 0x9 == 0
            && u16_at(fixed, 10) == local.method
            && u32_at(fixed, 16) == local.crc
            && u64::from(u32_at(fixed, 20)) == local.compressed
            && u64::from(u32_at(fixed, 24)) == local.size
            && u64::from(u32_at(fixed, 42)) == local.offset
            && name == local.name.as_slice();
        if !same {
            return Err(differs());
        }
        modes.push(mode);
        at += 46 + skip;
    }
    let end = tail.get(at..at + 22).ok_or_else(differs)?;
    let count = locals.len() as u64;
    let sound = u32_at(end, 0) == END
        && u16_at(end, 4) == 0
        && u16_at(end, 6) == 0
        && u64::from(u16_at(end, 8)) == count
        && u64::from(u16_at(end, 10)) == count
        && u64::from(u32_at(end, 12)) == at as u64
        && u64::from(u32_at(end, 16)) == start
        && at + 22 + usize::from(u16_at(end, 20)) == tail.len();
    if !sound {
        return Err(differs());
    }
    Ok(modes)
}

fn set_executable(file: &FileToWrite) -> Result<(), ExtractError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::Permissions::from_mode(0o755);
        std::fs::set_permissions(&file.target, mode)
            .map_err(|source| ExtractError::Write { path: file.target.clone(), source })?;
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}
