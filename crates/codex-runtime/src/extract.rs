//! Safe extraction of tar.gz and zip artifacts into a fresh directory.
//!
//! Every member name is checked before anything is written: no absolute paths, drive letters,
//! backslashes or `..`; no device files, fifos or hard links; symlinks only when they stay
//! inside the tree, and created last so no file is ever written through one. The entry count
//! and the bytes written are bounded by the pins, so a decompression bomb stops early. Every
//! file is hashed as it is written, so verifying the entrypoint afterwards costs no re-read.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc;

use crate::digest::{Hasher, Sha256};
use crate::manifest::ArchiveFormat;

/// How much an archive may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_entries: u64,
    pub max_unpacked_size: u64,
}

/// A regular file written by extraction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractedFile {
    /// Relative to the extraction directory, `/`-separated.
    pub path: String,
    pub sha256: Sha256,
    pub size: u64,
    pub executable: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("archive member `{member}` is refused: {reason}")]
    Refused { member: String, reason: &'static str },
    #[error("archive holds more than the {limit} entries its pins allow")]
    TooManyEntries { limit: u64 },
    #[error("archive unpacks to more than the {limit} bytes its pins allow (at member `{member}`)")]
    TooLarge { member: String, limit: u64 },
    #[error("archive is corrupt or truncated")]
    Corrupt {
        #[source]
        source: io::Error,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Extract `archive` into the empty directory `dest`.
pub fn extract(
    archive: &Path,
    format: ArchiveFormat,
    dest: &Path,
    limits: Limits,
) -> Result<Vec<ExtractedFile>, ExtractError> {
    let mut sink = Sink::new(dest, limits);
    match format {
        ArchiveFormat::TarGz => extract_tar_gz(archive, &mut sink)?,
        ArchiveFormat::Zip => extract_zip(archive, &mut sink)?,
    }
    sink.finish()
}

fn corrupt(source: io::Error) -> ExtractError {
    ExtractError::Corrupt { source }
}

fn zip_corrupt(e: zip::result::ZipError) -> ExtractError {
    corrupt(io::Error::new(io::ErrorKind::InvalidData, e))
}

fn open(archive: &Path) -> Result<File, ExtractError> {
    File::open(archive).map_err(|source| ExtractError::Write { path: archive.to_owned(), source })
}

/// A tar.gz is one compressed stream: members are extracted in order, each one's hashing and
/// writing running beside the decompression.
fn extract_tar_gz(archive: &Path, sink: &mut Sink) -> Result<(), ExtractError> {
    let gz = flate2::read::GzDecoder::new(BufReader::with_capacity(256 * 1024, open(archive)?));
    let mut archive = tar::Archive::new(gz);
    for entry in archive.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let header = entry.header();
        let kind = match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let executable = header.mode().map_err(corrupt)? & 0o111 != 0;
                Kind::File { executable, declared_size: entry.size() }
            }
            tar::EntryType::Directory => Kind::Dir,
            tar::EntryType::Symlink => {
                let target = entry.link_name_bytes().map(|b| String::from_utf8_lossy(&b).into_owned());
                Kind::Symlink(target.unwrap_or_default())
            }
            tar::EntryType::Link => Kind::Refused("hard links are not allowed"),
            tar::EntryType::Char | tar::EntryType::Block => Kind::Refused("device files are not allowed"),
            tar::EntryType::Fifo => Kind::Refused("fifos are not allowed"),
            // PAX and GNU metadata entries are consumed by the tar crate itself; anything it
            // passes through is metadata only.
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader => continue,
            _ => Kind::Refused("unsupported entry type"),
        };
        if let Some(file) = sink.admit(&name, kind)? {
            // The budget left is what this member may really write, whatever its header says.
            let budget = sink.limits.max_unpacked_size - sink.written;
            let written = write_file(&mut entry, &file, budget)?;
            sink.wrote(file, written);
        }
    }
    Ok(())
}

/// A zip says everything about its members up front: every member is checked first, then the
/// files are inflated in parallel, largest first, each by a thread with its own reader.
fn extract_zip(archive_path: &Path, sink: &mut Sink) -> Result<(), ExtractError> {
    let mut archive = zip::ZipArchive::new(BufReader::new(open(archive_path)?)).map_err(zip_corrupt)?;
    if archive.len() as u64 > sink.limits.max_entries {
        return Err(ExtractError::TooManyEntries { limit: sink.limits.max_entries });
    }
    let mut jobs = Vec::new();
    for i in 0..archive.len() {
        let mut member = archive.by_index(i).map_err(zip_corrupt)?;
        let name = String::from_utf8_lossy(member.name_raw()).into_owned();
        let mode = member.unix_mode().unwrap_or(0o644);
        let kind = match mode & 0o170000 {
            _ if member.is_dir() => Kind::Dir,
            0o120000 => {
                let mut target = String::new();
                member.by_ref().take(4096).read_to_string(&mut target).map_err(corrupt)?;
                Kind::Symlink(target)
            }
            0 | 0o100000 => Kind::File { executable: mode & 0o111 != 0, declared_size: member.size() },
            _ => Kind::Refused("device files, fifos and sockets are not allowed"),
        };
        let compressed = member.compressed_size();
        if let Some(file) = sink.admit(&name, kind)? {
            jobs.push((i, compressed, file));
        }
    }
    drop(archive);
    // Deal the members to the workers, largest first, each to the least loaded one.
    jobs.sort_by_key(|(_, compressed, _)| std::cmp::Reverse(*compressed));
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 4);
    let mut queues: Vec<(u64, Vec<(usize, FileToWrite)>)> = (0..workers).map(|_| (0, Vec::new())).collect();
    for (i, compressed, file) in jobs {
        let queue = queues.iter_mut().min_by_key(|(load, _)| *load).expect("at least one worker");
        queue.0 += compressed;
        queue.1.push((i, file));
    }
    let results: Vec<Result<Vec<(FileToWrite, Written)>, ExtractError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = queues
            .into_iter()
            .filter(|(_, queue)| !queue.is_empty())
            .map(|(_, queue)| {
                scope.spawn(move || {
                    let mut archive = zip::ZipArchive::new(BufReader::new(open(archive_path)?)).map_err(zip_corrupt)?;
                    let mut done = Vec::new();
                    for (i, file) in queue {
                        let mut member = archive.by_index(i).map_err(zip_corrupt)?;
                        // A member may not write more than the central directory declares.
                        let written = write_file(&mut member, &file, file.declared_size)?;
                        done.push((file, written));
                    }
                    Ok(done)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("an extraction worker panicked")).collect()
    });
    for result in results {
        for (file, written) in result? {
            sink.wrote(file, written);
        }
    }
    Ok(())
}

enum Kind {
    File { executable: bool, declared_size: u64 },
    Dir,
    Symlink(String),
    Refused(&'static str),
}

#[derive(PartialEq)]
enum Seen {
    File,
    Dir,
    Symlink,
}

/// A regular file admitted for extraction.
struct FileToWrite {
    /// The member's name as the archive spells it, for messages.
    name: String,
    /// Normalized, relative to the extraction directory.
    path: String,
    target: PathBuf,
    executable: bool,
    declared_size: u64,
}

struct Written {
    sha256: Sha256,
    size: u64,
}

/// Where members go, with the bookkeeping that makes extraction safe.
struct Sink<'a> {
    dest: &'a Path,
    limits: Limits,
    entries: u64,
    /// Bytes declared by admitted files (zip) or written so far (tar).
    declared: u64,
    written: u64,
    seen: HashMap<String, Seen>,
    files: Vec<ExtractedFile>,
    symlinks: Vec<(String, String)>,
}

impl<'a> Sink<'a> {
    fn new(dest: &'a Path, limits: Limits) -> Self {
        Sink {
            dest,
            limits,
            entries: 0,
            declared: 0,
            written: 0,
            seen: HashMap::new(),
            files: Vec::new(),
            symlinks: Vec::new(),
        }
    }

    /// Check one member against every rule and record it. Directories are created at once,
    /// symlinks kept for the end; a regular file is returned for the caller to write.
    fn admit(&mut self, name: &str, kind: Kind) -> Result<Option<FileToWrite>, ExtractError> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(ExtractError::TooManyEntries { limit: self.limits.max_entries });
        }
        let refuse = |reason| ExtractError::Refused { member: name.to_owned(), reason };
        let path = member_path(name).map_err(refuse)?;
        if let Kind::Refused(reason) = kind {
            return Err(refuse(reason));
        }
        // Every ancestor must be (or become) a directory, never a file or a link.
        let mut ancestor = String::new();
        let parts: Vec<&str> = path.split('/').collect();
        for part in &parts[..parts.len() - 1] {
            if !ancestor.is_empty() {
                ancestor.push('/');
            }
            ancestor.push_str(part);
            match self.seen.get(&ancestor) {
                None => {
                    self.seen.insert(ancestor.clone(), Seen::Dir);
                }
                Some(Seen::Dir) => {}
                Some(_) => return Err(refuse("a parent of this member is a file or a link")),
            }
        }
        let this = match kind {
            Kind::Dir => Seen::Dir,
            Kind::Symlink(_) => Seen::Symlink,
            _ => Seen::File,
        };
        match self.seen.get(&path) {
            Some(Seen::Dir) if this == Seen::Dir => return Ok(None),
            Some(Seen::Dir) => return Err(refuse("it is both a directory and a file")),
            Some(_) => return Err(refuse("it appears twice in the archive")),
            None => {}
        }
        self.seen.insert(path.clone(), this);
        let target = self.dest.join(&path);
        match kind {
            Kind::Dir => create_dir(&target).map(|()| None),
            Kind::Symlink(link) => {
                symlink_target(&path, &link).map_err(refuse)?;
                self.symlinks.push((path, link));
                Ok(None)
            }
            Kind::File { executable, declared_size } => {
                self.declared = self.declared.saturating_add(declared_size);
                if self.declared.max(self.written.saturating_add(declared_size)) > self.limits.max_unpacked_size {
                    return Err(ExtractError::TooLarge {
                        member: name.to_owned(),
                        limit: self.limits.max_unpacked_size,
                    });
                }
                if let Some(parent) = target.parent() {
                    create_dir(parent)?;
                }
                Ok(Some(FileToWrite { name: name.to_owned(), path, target, executable, declared_size }))
            }
            Kind::Refused(_) => unreachable!("refused above"),
        }
    }

    fn wrote(&mut self, file: FileToWrite, written: Written) {
        self.written += written.size;
        self.files.push(ExtractedFile {
            path: file.path,
            sha256: written.sha256,
            size: written.size,
            executable: file.executable,
        });
    }

    /// Create the symlinks last, once no more file will be written.
    fn finish(mut self) -> Result<Vec<ExtractedFile>, ExtractError> {
        for (path, link) in &self.symlinks {
            let target = self.dest.join(path);
            if let Some(parent) = target.parent() {
                create_dir(parent)?;
            }
            make_symlink(link, &target).map_err(|source| ExtractError::Write { path: target.clone(), source })?;
        }
        self.files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(self.files)
    }
}

/// Members smaller than this are hashed and written on the reading thread.
const PIPELINE_THRESHOLD: u64 = 4 * 1024 * 1024;
const CHUNK: usize = 1024 * 1024;

/// Write one member's bytes to a new file (never following or replacing anything), hashing
/// them, and refusing more than `limit` bytes. Large members are hashed and written by a
/// second thread while this one keeps decompressing.
fn write_file(data: &mut dyn Read, file: &FileToWrite, limit: u64) -> Result<Written, ExtractError> {
    let write_err = |source| ExtractError::Write { path: file.target.clone(), source };
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if file.executable { 0o755 } else { 0o644 });
    }
    let mut out = options.open(&file.target).map_err(write_err)?;
    let too_large = || ExtractError::TooLarge { member: file.name.clone(), limit };
    // Read at most one byte past the limit: that byte proves the member lies about its size.
    let mut limited = data.take(limit.saturating_add(1));
    if file.declared_size < PIPELINE_THRESHOLD {
        let mut hasher = Hasher::new(false);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = read_some(&mut limited, &mut buf)?;
            if n == 0 {
                break;
            }
            if hasher.size() + n as u64 > limit {
                return Err(too_large());
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(write_err)?;
        }
        let digests = hasher.finish();
        return Ok(Written { sha256: digests.sha256, size: digests.size });
    }

    let (full_tx, full_rx) = mpsc::sync_channel::<Vec<u8>>(4);
    let (empty_tx, empty_rx) = mpsc::channel::<Vec<u8>>();
    for _ in 0..6 {
        empty_tx.send(vec![0u8; CHUNK]).expect("the receiver is alive");
    }
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> io::Result<Written> {
            let mut hasher = Hasher::new(false);
            for buf in full_rx {
                hasher.update(&buf);
                out.write_all(&buf)?;
                // The reader may have stopped already; then the buffer is simply dropped.
                let _ = empty_tx.send(buf);
            }
            let digests = hasher.finish();
            Ok(Written { sha256: digests.sha256, size: digests.size })
        });
        let read = pump(&mut limited, &empty_rx, full_tx, limit).map_err(|e| e.unwrap_or_else(too_large));
        let written = writer.join().expect("the writer thread panicked").map_err(write_err);
        read?;
        written
    })
}

/// Fill buffers from `reader` and hand them to the writer until the member ends. `Err(None)`
/// means more than `limit` bytes. Stops quietly when the writer has stopped: its error wins.
fn pump(
    reader: &mut dyn Read,
    empty: &mpsc::Receiver<Vec<u8>>,
    full: mpsc::SyncSender<Vec<u8>>,
    limit: u64,
) -> Result<(), Option<ExtractError>> {
    let mut total = 0u64;
    while let Ok(mut buf) = empty.recv() {
        buf.resize(CHUNK, 0);
        let mut filled = 0;
        while filled < CHUNK {
            match read_some(reader, &mut buf[filled..]).map_err(Some)? {
                0 => break,
                n => filled += n,
            }
        }
        if filled == 0 {
            return Ok(());
        }
        total += filled as u64;
        if total > limit {
            return Err(None);
        }
        buf.truncate(filled);
        if full.send(buf).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// Read, retrying interruptions; a failure is a corrupt archive.
fn read_some(reader: &mut dyn Read, buf: &mut [u8]) -> Result<usize, ExtractError> {
    loop {
        match reader.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(corrupt(e)),
        }
    }
}

fn create_dir(path: &Path) -> Result<(), ExtractError> {
    fs::create_dir_all(path).map_err(|source| ExtractError::Write { path: path.to_owned(), source })
}

#[cfg(unix)]
fn make_symlink(link: &str, at: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(link, at)
}

#[cfg(not(unix))]
fn make_symlink(_link: &str, _at: &Path) -> io::Result<()> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "symlinks in runtime archives are only supported on Unix"))
}

/// Check a member name and normalize it to `a/b/c`.
fn member_path(name: &str) -> Result<String, &'static str> {
    if name.contains('\\') {
        return Err("backslashes are not allowed in member names");
    }
    if name.contains('\0') {
        return Err("NUL is not allowed in member names");
    }
    let bytes = name.as_bytes();
    if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
        return Err("drive-letter paths are not allowed");
    }
    let mut parts = Vec::new();
    for component in Path::new(name).components() {
        match component {
            Component::Normal(p) => parts.push(p.to_str().ok_or("member names must be UTF-8")?),
            Component::CurDir => {}
            Component::ParentDir => return Err("`..` escapes the extraction directory"),
            Component::RootDir | Component::Prefix(_) => return Err("absolute paths are not allowed"),
        }
    }
    if parts.is_empty() {
        return Err("empty member name");
    }
    Ok(parts.join("/"))
}

/// A symlink may only point inside the tree, by a relative path.
fn symlink_target(member: &str, link: &str) -> Result<(), &'static str> {
    if link.is_empty() {
        return Err("empty symlink target");
    }
    if link.starts_with('/') || link.contains('\\') || (link.len() >= 2 && link.as_bytes()[1] == b':') {
        return Err("symlinks must be relative");
    }
    let mut depth: i64 = member.split('/').count() as i64 - 1;
    for part in link.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return Err("symlink points outside the extraction directory");
                }
            }
            _ => depth += 1,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_are_checked() {
        let ok = [("a/b", "a/b"), ("./a/./b", "a/b"), ("a/b/", "a/b"), ("package/vendor/x", "package/vendor/x")];
        for (name, normal) in ok {
            assert_eq!(member_path(name).unwrap(), normal, "{name}");
        }
        for bad in ["", ".", "/etc/passwd", "../x", "a/../../x", "a/../b", "C:/x", "c:x", "a\\b", "..\\x", "a\0b"] {
            assert!(member_path(bad).is_err(), "{bad:?} should be refused");
        }
    }

    /// Bytes that do not compress away, so large members really stream.
    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    fn archives(members: &[(String, Vec<u8>, bool)]) -> [(ArchiveFormat, Vec<u8>); 2] {
        use codex_runtime_test_support::fixture::{tar_gz, zip_archive};
        [(ArchiveFormat::TarGz, tar_gz(members)), (ArchiveFormat::Zip, zip_archive(members))]
    }

    #[test]
    fn large_and_small_members_extract_with_their_digests_in_both_formats() {
        let big = noise(9 * 1024 * 1024 + 17, 7);
        let members = vec![
            ("root/bin/codex".to_owned(), big.clone(), true),
            ("root/small".to_owned(), b"small".to_vec(), false),
            ("root/also-big".to_owned(), noise(5 * 1024 * 1024, 9), false),
        ];
        for (format, bytes) in archives(&members) {
            let dir = tempfile::tempdir().unwrap();
            let archive = dir.path().join("a");
            std::fs::write(&archive, bytes).unwrap();
            let dest = dir.path().join("out");
            let limits = Limits { max_entries: 3, max_unpacked_size: 20 * 1024 * 1024 };
            let files = extract(&archive, format, &dest, limits).unwrap();
            let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
            assert_eq!(paths, ["root/also-big", "root/bin/codex", "root/small"], "{format:?}");
            let codex = &files[1];
            assert_eq!(codex.sha256, Sha256::of_reader(big.as_slice()).unwrap().0, "{format:?}");
            assert_eq!(codex.size, big.len() as u64);
            assert!(codex.executable && !files[2].executable);
            assert_eq!(std::fs::read(dest.join("root/bin/codex")).unwrap(), big, "{format:?}");
        }
    }

    #[test]
    fn bytes_beyond_the_pins_stop_extraction_in_both_formats() {
        let members = vec![("root/bin/codex".to_owned(), noise(6 * 1024 * 1024, 3), true)];
        for (format, bytes) in archives(&members) {
            let dir = tempfile::tempdir().unwrap();
            let archive = dir.path().join("a");
            std::fs::write(&archive, bytes).unwrap();
            let limits = Limits { max_entries: 10, max_unpacked_size: 5 * 1024 * 1024 };
            let err = extract(&archive, format, &dir.path().join("out"), limits).unwrap_err();
            assert!(matches!(err, ExtractError::TooLarge { .. }), "{format:?}: {err}");
            let limits = Limits { max_entries: 0, max_unpacked_size: 50 * 1024 * 1024 };
            let err = extract(&archive, format, &dir.path().join("out2"), limits).unwrap_err();
            assert!(matches!(err, ExtractError::TooManyEntries { .. }), "{format:?}: {err}");
        }
    }

    #[test]
    fn symlinks_must_stay_inside() {
        assert!(symlink_target("a/b/link", "../c").is_ok());
        assert!(symlink_target("a/link", "b/c").is_ok());
        for (member, link) in
            [("link", "../x"), ("a/link", "../../x"), ("a/link", "/etc/passwd"), ("a/link", ""), ("a/l", "C:/x")]
        {
            assert!(symlink_target(member, link).is_err(), "{member} -> {link}");
        }
    }
}
