//! Safe extraction of tar.gz and zip artifacts into a fresh directory.
//!
//! Every member name is checked before anything is written: no absolute paths, drive letters,
//! backslashes or `..`; no device files, fifos or hard links; no duplicates, and no member that
//! is both a file and a directory; symlinks only when they stay inside the tree without going
//! through another link, and created last so no file is ever written through one. A zip's local
//! headers must agree with its central directory. The entry count and the bytes written are
//! bounded by the pins, so a decompression bomb stops early. Every error names the member. Every
//! file is hashed as it is written, so verifying the entrypoint afterwards costs no re-read.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};

use crate::model::digest::{Hasher, Sha256};
use crate::model::manifest::ArchiveFormat;
use crate::pipe::{Pipe, Stopped};

mod zip_stream;
pub use zip_stream::{Growing, extract_zip_stream};

/// How much an archive may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_entries: u64,
    pub max_unpacked_size: u64,
}

/// Whether extraction hashes the files it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileDigests {
    /// Take each file's sha256 as it is written.
    Compute,
    /// Leave them out: the caller has checked every byte of the archive against pinned digests
    /// and holds each file's pinned digest. Each member is still checked against its checksum:
    /// a zip member's CRC-32 and a tar.gz's whole-stream CRC-32.
    Pinned,
}

/// A regular file written by extraction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractedFile {
    /// Relative to the extraction directory, `/`-separated.
    pub path: String,
    /// None when extracted with [`FileDigests::Pinned`].
    pub sha256: Option<Sha256>,
    pub size: u64,
    pub executable: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("archive member `{member}` is refused: {reason}")]
    Refused { member: String, reason: &'static str },
    #[error("archive holds more than the {limit} entries its pins allow (at member `{member}`)")]
    TooManyEntries { member: String, limit: u64 },
    #[error("archive unpacks to more than the {limit} bytes its pins allow (at member `{member}`)")]
    TooLarge { member: String, limit: u64 },
    /// `near` says where: "in member `x`", "after member `x`", "in its central directory".
    #[error("archive is corrupt or truncated {near}")]
    Corrupt {
        near: String,
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
    digests: FileDigests,
) -> Result<Vec<ExtractedFile>, ExtractError> {
    let mut sink = Sink::new(dest, limits, digests);
    match format {
        ArchiveFormat::TarGz => extract_tar_gz(open(archive)?, &mut sink)?,
        ArchiveFormat::Zip => extract_zip(archive, &mut sink)?,
    }
    sink.finish()
}

fn corrupt(near: String, source: io::Error) -> ExtractError {
    ExtractError::Corrupt { near, source }
}

fn in_member(name: &str) -> String {
    format!("in member `{name}`")
}

/// Where a tar stream broke: after the last member read, or at its start.
fn after(last: &Option<String>) -> String {
    last.as_ref().map_or_else(|| "at its start".to_owned(), |m| format!("after member `{m}`"))
}

fn zip_corrupt(near: String, e: zip::result::ZipError) -> ExtractError {
    corrupt(near, io::Error::new(io::ErrorKind::InvalidData, e))
}

fn open(archive: &Path) -> Result<File, ExtractError> {
    File::open(archive).map_err(|source| ExtractError::Write { path: archive.to_owned(), source })
}

/// Extract a tar.gz read from `archive` (a download still arriving, say) into the empty
/// directory `dest`. A failure to read is reported as a corrupt archive.
pub fn extract_tar_gz_stream(
    archive: impl Read,
    dest: &Path,
    limits: Limits,
    digests: FileDigests,
) -> Result<Vec<ExtractedFile>, ExtractError> {
    let mut sink = Sink::new(dest, limits, digests);
    extract_tar_gz(archive, &mut sink)?;
    sink.finish()
}

/// A tar.gz is one compressed stream: members are extracted in order, each one's hashing and
/// writing running beside the decompression.
fn extract_tar_gz(archive: impl Read, sink: &mut Sink) -> Result<(), ExtractError> {
    let gz = flate2::read::GzDecoder::new(BufReader::with_capacity(256 * 1024, archive));
    let mut archive = tar::Archive::new(gz);
    let mut last: Option<String> = None;
    for entry in archive.entries().map_err(|e| corrupt(after(&last), e))? {
        let mut entry = entry.map_err(|e| corrupt(after(&last), e))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let header = entry.header();
        let kind = match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let executable = header.mode().map_err(|e| corrupt(in_member(&name), e))? & 0o111 != 0;
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
            let written = write_file(&mut entry, &file, budget, sink.digests)?;
            sink.wrote(file, written);
        }
        last = Some(name);
    }
    // Read what follows the end-of-archive blocks (only padding, in a sound archive) so that a
    // truncated or corrupt gzip trailer is noticed.
    let near = || format!("after its last member{}", last.as_ref().map(|m| format!(" `{m}`")).unwrap_or_default());
    let mut rest = archive.into_inner().take(TRAILER_LIMIT + 1);
    let trailing = io::copy(&mut rest, &mut io::sink()).map_err(|e| corrupt(near(), e))?;
    if trailing > TRAILER_LIMIT {
        let e = io::Error::new(io::ErrorKind::InvalidData, "more than 1 MiB of data after the end of the tar stream");
        return Err(corrupt(near(), e));
    }
    Ok(())
}

/// How much padding may follow a tar stream's end inside the gzip stream.
const TRAILER_LIMIT: u64 = 1024 * 1024;

/// A zip says everything about its members up front: every member is checked first, then the
/// files are inflated in parallel, largest first, each by a thread with its own reader.
fn extract_zip(archive_path: &Path, sink: &mut Sink) -> Result<(), ExtractError> {
    let central = || "in its central directory".to_owned();
    let mut archive =
        zip::ZipArchive::new(BufReader::new(open(archive_path)?)).map_err(|e| zip_corrupt(central(), e))?;
    // Local headers are read through a second handle, so the archive's buffer is kept.
    let mut raw = open(archive_path)?;
    if archive.has_duplicate_names() {
        // The zip crate keeps one member per name; find the name it dropped.
        let member = duplicate_name(&mut raw, archive.central_directory_start())
            .unwrap_or_else(|| "(a name listed twice)".to_owned());
        return Err(ExtractError::Refused { member, reason: "it appears twice in the archive" });
    }
    let mut jobs = Vec::new();
    for i in 0..archive.len() {
        let mut member = archive.by_index(i).map_err(|e| zip_corrupt(central(), e))?;
        let name = String::from_utf8_lossy(member.name_raw()).into_owned();
        check_local_header(&mut raw, &member, &name)?;
        let mode = member.unix_mode().unwrap_or(0o644);
        let kind = match mode & 0o170000 {
            _ if member.is_dir() => Kind::Dir,
            0o120000 => {
                let mut target = String::new();
                member.by_ref().take(4096).read_to_string(&mut target).map_err(|e| corrupt(in_member(&name), e))?;
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
    let digests = sink.digests;
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
                    let mut archive = zip::ZipArchive::new(BufReader::with_capacity(1 << 20, open(archive_path)?))
                        .map_err(|e| zip_corrupt(central(), e))?;
                    let mut done = Vec::new();
                    for (i, file) in queue {
                        let mut member = archive.by_index(i).map_err(|e| zip_corrupt(in_member(&file.name), e))?;
                        // A member may not write more than the central directory declares.
                        let written = write_file(&mut member, &file, file.declared_size, digests)?;
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

/// A zip member's local header must describe the member the central directory lists: the same
/// name and, unless sizes follow the data in a descriptor, the same checksum and sizes.
fn check_local_header<R: Read>(
    raw: &mut File,
    member: &zip::read::ZipFile<'_, R>,
    name: &str,
) -> Result<(), ExtractError> {
    let refuse = |reason| ExtractError::Refused { member: name.to_owned(), reason };
    let mut fixed = [0u8; 30];
    let read = raw
        .seek(SeekFrom::Start(member.header_start()))
        .and_then(|_| raw.read_exact(&mut fixed))
        .map_err(|e| corrupt(in_member(name), e));
    read?;
    let u16_at = |at: usize| u16::from_le_bytes([fixed[at], fixed[at + 1]]);
    let u32_at = |at: usize| u32::from_le_bytes([fixed[at], fixed[at + 1], fixed[at + 2], fixed[at + 3]]);
    if u32_at(0) != 0x0403_4b50 {
        return Err(refuse("the central directory points at no local header"));
    }
    let mut local_name = vec![0u8; usize::from(u16_at(26))];
    raw.read_exact(&mut local_name).map_err(|e| corrupt(in_member(name), e))?;
    if local_name != member.name_raw() {
        return Err(refuse("its local header and the central directory name different members"));
    }
    let sizes_in_descriptor = u16_at(6) & 0x8 != 0;
    let agrees = |local: u32, central: u64| local == u32::MAX || u64::from(local) == central;
    if !sizes_in_descriptor {
        if u32_at(14) != member.crc32() {
            return Err(refuse("its local header and the central directory disagree on its checksum"));
        }
        if !agrees(u32_at(18), member.compressed_size()) || !agrees(u32_at(22), member.size()) {
            return Err(refuse("its local header and the central directory disagree on its size"));
        }
    }
    Ok(())
}

/// The first name the central directory at `start` lists twice.
fn duplicate_name(raw: &mut File, start: u64) -> Option<String> {
    raw.seek(SeekFrom::Start(start)).ok()?;
    let mut reader = BufReader::new(raw);
    let mut names = std::collections::HashSet::new();
    let mut fixed = [0u8; 46];
    // Each entry takes at least 46 bytes, so the loop ends with the file.
    while reader.read_exact(&mut fixed).is_ok() && fixed[..4] == [0x50, 0x4b, 0x01, 0x02] {
        let len = |at: usize| usize::from(u16::from_le_bytes([fixed[at], fixed[at + 1]]));
        let mut name = vec![0u8; len(28)];
        reader.read_exact(&mut name).ok()?;
        let skip = (len(30) + len(32)) as i64;
        reader.seek_relative(skip).ok()?;
        let name = String::from_utf8_lossy(&name).into_owned();
        if !names.insert(name.clone()) {
            return Some(name);
        }
    }
    None
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
    sha256: Option<Sha256>,
    size: u64,
}

/// Where members go, with the bookkeeping that makes extraction safe.
struct Sink<'a> {
    dest: &'a Path,
    limits: Limits,
    digests: FileDigests,
    entries: u64,
    /// Bytes declared by admitted files (zip) or written so far (tar).
    declared: u64,
    written: u64,
    seen: HashMap<String, Seen>,
    files: Vec<ExtractedFile>,
    /// Member name, normalized path, link target.
    symlinks: Vec<(String, String, String)>,
}

impl<'a> Sink<'a> {
    fn new(dest: &'a Path, limits: Limits, digests: FileDigests) -> Self {
        Sink {
            dest,
            limits,
            digests,
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
            return Err(ExtractError::TooManyEntries { member: name.to_owned(), limit: self.limits.max_entries });
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
        match (self.seen.get(&path), &this) {
            (Some(Seen::Dir), Seen::Dir) => return Ok(None),
            (Some(Seen::Dir), _) | (Some(_), Seen::Dir) => return Err(refuse("it is both a directory and a file")),
            (Some(_), _) => return Err(refuse("it appears twice in the archive")),
            (None, _) => {}
        }
        self.seen.insert(path.clone(), this);
        let target = self.dest.join(&path);
        match kind {
            Kind::Dir => create_dir(&target).map(|()| None),
            Kind::Symlink(link) => {
                symlink_target(&path, &link).map_err(refuse)?;
                self.symlinks.push((name.to_owned(), path, link));
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

    /// Create the symlinks last, once no more file will be written. None may point at or
    /// through another link: each was checked alone, a chain of them could still escape.
    fn finish(mut self) -> Result<Vec<ExtractedFile>, ExtractError> {
        for (name, path, link) in &self.symlinks {
            if through_link(path, link, &self.seen) {
                return Err(ExtractError::Refused {
                    member: name.clone(),
                    reason: "symlink points at or through another symlink",
                });
            }
        }
        for (_, path, link) in &self.symlinks {
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

/// Write one member's bytes to a new file (never following or replacing anything), hashing
/// them unless `digests` says the pins hold them, and refusing more than `limit` bytes. Large
/// members are hashed and written by a second thread while this one keeps decompressing.
fn write_file(
    data: &mut dyn Read,
    file: &FileToWrite,
    limit: u64,
    digests: FileDigests,
) -> Result<Written, ExtractError> {
    let write_err = |source| ExtractError::Write { path: file.target.clone(), source };
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if file.executable { 0o755 } else { 0o644 });
    }
    let mut out = options.open(&file.target).map_err(write_err)?;
    // Read at most one byte past the limit: that byte proves the member lies about its size.
    let mut limited = data.take(limit.saturating_add(1));
    let pipe =
        if file.declared_size < PIPELINE_THRESHOLD { Pipe::inline(64 * 1024) } else { Pipe::threaded(1024 * 1024, 4) };
    let mut total = 0u64;
    let mut hasher = (digests == FileDigests::Compute).then(Hasher::new);
    let copied = pipe.copy(
        |buf| {
            let n = fill(&mut limited, buf, &file.name)?;
            total += n as u64;
            if total > limit {
                return Err(ExtractError::TooLarge { member: file.name.clone(), limit });
            }
            Ok((n, ()))
        },
        |bytes, ()| {
            if let Some(hasher) = &mut hasher {
                hasher.update(bytes);
            }
            out.write_all(bytes)
        },
    );
    match copied {
        Ok(()) => Ok(Written { sha256: hasher.map(|h| h.finish().0), size: total }),
        Err(Stopped::Fill(e)) => Err(e),
        Err(Stopped::Drain(e)) => Err(write_err(e)),
    }
}

/// Fill `buf` from `reader` as far as the member goes: fewer, larger buffers for the writer.
fn fill(reader: &mut dyn Read, buf: &mut [u8], member: &str) -> Result<usize, ExtractError> {
    let mut filled = 0;
    while filled < buf.len() {
        match read_some(reader, &mut buf[filled..], member)? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Read, retrying interruptions; a failure is a corrupt archive.
fn read_some(reader: &mut dyn Read, buf: &mut [u8], member: &str) -> Result<usize, ExtractError> {
    loop {
        match reader.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(corrupt(in_member(member), e)),
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
pub(crate) fn symlink_target(member: &str, link: &str) -> Result<(), &'static str> {
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

/// Whether resolving `link` from the symlink at `path` steps on another symlink member.
fn through_link(path: &str, link: &str, seen: &HashMap<String, Seen>) -> bool {
    let mut at: Vec<&str> = path.split('/').collect();
    at.pop();
    for part in link.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                at.pop();
            }
            _ => {
                at.push(part);
                if seen.get(&at.join("/")) == Some(&Seen::Symlink) {
                    return true;
                }
            }
        }
    }
    false
}

/// A zip that has arrived whole, read through the streaming pass.
#[cfg(test)]
struct Whole(Vec<u8>);

#[cfg(test)]
impl Growing for Whole {
    type Reader<'a> = &'a [u8];

    fn reader_at(&self, offset: u64) -> &[u8] {
        &self.0[(offset as usize).min(self.0.len())..]
    }
}

#[cfg(test)]
fn stream_zip(bytes: &[u8], dest: &Path, limits: Limits) -> Result<Vec<ExtractedFile>, ExtractError> {
    extract_zip_stream(&Whole(bytes.to_vec()), bytes.len() as u64, dest, limits, FileDigests::Compute)
}

#[cfg(test)]
mod tests {
    use super::*;
    use codex_runtime_test_support::fixture::noise;

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
            let files = extract(&archive, format, &dest, limits, FileDigests::Compute).unwrap();
            let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
            assert_eq!(paths, ["root/also-big", "root/bin/codex", "root/small"], "{format:?}");
            let codex = &files[1];
            assert_eq!(codex.sha256, Some(Sha256::of_reader(big.as_slice()).unwrap().0), "{format:?}");
            assert_eq!(codex.size, big.len() as u64);
            assert!(codex.executable && !files[2].executable);
            assert_eq!(std::fs::read(dest.join("root/bin/codex")).unwrap(), big, "{format:?}");
            if format == ArchiveFormat::Zip {
                // The streaming pass makes the same tree, exec bits included.
                let streamed = dir.path().join("streamed");
                let bytes = std::fs::read(&archive).unwrap();
                assert_eq!(stream_zip(&bytes, &streamed, limits).unwrap(), files);
                assert_eq!(std::fs::read(streamed.join("root/bin/codex")).unwrap(), big);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = |p: &str| fs::metadata(streamed.join(p)).unwrap().permissions().mode() & 0o777;
                    assert_eq!((mode("root/bin/codex"), mode("root/small")), (0o755, 0o644));
                }
            }
        }
    }

    #[test]
    fn pinned_digests_skip_the_hash_but_not_the_checksums() {
        let big = noise(5 * 1024 * 1024 + 3, 11);
        let members = vec![("root/bin/codex".to_owned(), big.clone(), true)];
        let limits = Limits { max_entries: 3, max_unpacked_size: 20 * 1024 * 1024 };
        for (format, bytes) in archives(&members) {
            let dir = tempfile::tempdir().unwrap();
            let archive = dir.path().join("a");
            std::fs::write(&archive, &bytes).unwrap();
            let files = extract(&archive, format, &dir.path().join("out"), limits, FileDigests::Pinned).unwrap();
            assert_eq!((files[0].sha256, files[0].size), (None, big.len() as u64), "{format:?}");
            assert_eq!(std::fs::read(dir.path().join("out/root/bin/codex")).unwrap(), big, "{format:?}");
            // The same bytes under a checksum that does not match them: a zip member's CRC-32 in
            // both its headers, or the gzip trailer's.
            let mut bad = bytes.clone();
            match format {
                ArchiveFormat::Zip => {
                    let central = bad.windows(4).position(|w| w == [0x50, 0x4b, 0x01, 0x02]).unwrap();
                    bad[14] ^= 1;
                    bad[central + 16] ^= 1;
                }
                ArchiveFormat::TarGz => {
                    let crc = bad.len() - 8;
                    bad[crc] ^= 1;
                }
            }
            std::fs::write(&archive, &bad).unwrap();
            let err = extract(&archive, format, &dir.path().join("bad"), limits, FileDigests::Pinned).unwrap_err();
            assert!(matches!(err, ExtractError::Corrupt { .. }), "{format:?}: {err}");
            let streamed = match format {
                ArchiveFormat::Zip => extract_zip_stream(
                    &Whole(bad),
                    bytes.len() as u64,
                    &dir.path().join("s"),
                    limits,
                    FileDigests::Pinned,
                ),
                ArchiveFormat::TarGz => {
                    extract_tar_gz_stream(bad.as_slice(), &dir.path().join("s"), limits, FileDigests::Pinned)
                }
            };
            assert!(matches!(streamed, Err(ExtractError::Corrupt { .. })), "{format:?}: {streamed:?}");
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
            let err = extract(&archive, format, &dir.path().join("out"), limits, FileDigests::Compute).unwrap_err();
            assert!(matches!(err, ExtractError::TooLarge { .. }), "{format:?}: {err}");
            let limits = Limits { max_entries: 0, max_unpacked_size: 50 * 1024 * 1024 };
            let err = extract(&archive, format, &dir.path().join("out2"), limits, FileDigests::Compute).unwrap_err();
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

/// Hostile archives, table-driven, in both formats where the format can express the case:
/// each is refused with a message naming the member, and nothing lands outside the destination.
#[cfg(test)]
mod hostile {
    use std::io::Write as _;

    use super::*;

    /// One raw tar member: the name and link name are written byte for byte into the header,
    /// so `..`, absolute and backslash names go in unchanged.
    struct TarMember {
        name: &'static str,
        kind: u8,
        data: Vec<u8>,
        link: &'static str,
        mode: u32,
    }

    fn file(name: &'static str, data: &[u8]) -> TarMember {
        TarMember { name, kind: b'0', data: data.to_vec(), link: "", mode: 0o644 }
    }

    fn special(name: &'static str, kind: u8, link: &'static str) -> TarMember {
        TarMember { name, kind, data: Vec::new(), link, mode: 0o777 }
    }

    fn raw_tar(members: &[TarMember]) -> Vec<u8> {
        let mut out = Vec::new();
        for m in members {
            let mut header = tar::Header::new_old();
            header.as_old_mut().name[..m.name.len()].copy_from_slice(m.name.as_bytes());
            header.as_old_mut().linkname[..m.link.len()].copy_from_slice(m.link.as_bytes());
            header.set_mode(m.mode);
            header.set_size(m.data.len() as u64);
            header.set_mtime(1_600_000_000);
            header.as_old_mut().linkflag = [m.kind];
            header.set_cksum();
            out.extend_from_slice(header.as_bytes());
            out.extend_from_slice(&m.data);
            out.resize(out.len().next_multiple_of(512), 0);
        }
        out.resize(out.len() + 1024, 0);
        out
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    }

    /// One raw zip member, stored or deflated, with a Unix mode and the ways its local header
    /// may lie about it.
    struct ZipMember {
        name: &'static str,
        data: Vec<u8>,
        mode: u32,
        deflate: bool,
        local_name: Option<&'static str>,
        local_size_delta: u32,
        /// The uncompressed size both headers declare, when it should differ from the truth.
        declared_size: Option<u32>,
    }

    fn zfile(name: &'static str, data: &[u8]) -> ZipMember {
        ZipMember {
            name,
            data: data.to_vec(),
            mode: 0o100644,
            deflate: false,
            local_name: None,
            local_size_delta: 0,
            declared_size: None,
        }
    }

    fn zmode(name: &'static str, data: &[u8], mode: u32) -> ZipMember {
        ZipMember { mode, ..zfile(name, data) }
    }

    fn raw_zip(members: &[ZipMember]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for m in members {
            let mut crc = flate2::Crc::new();
            crc.update(&m.data);
            let body = if m.deflate {
                let mut d = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
                d.write_all(&m.data).unwrap();
                d.finish().unwrap()
            } else {
                m.data.clone()
            };
            let size = m.declared_size.unwrap_or(m.data.len() as u32);
            let method: u16 = if m.deflate { 8 } else { 0 };
            let offset = out.len() as u32;
            let local_name = m.local_name.unwrap_or(m.name);
            out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
            out.extend_from_slice(&20u16.to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(&method.to_le_bytes());
            out.extend_from_slice(&[0; 4]);
            out.extend_from_slice(&crc.sum().to_le_bytes());
            out.extend_from_slice(&(body.len() as u32).to_le_bytes());
            out.extend_from_slice(&(size + m.local_size_delta).to_le_bytes());
            out.extend_from_slice(&(local_name.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(local_name.as_bytes());
            out.extend_from_slice(&body);

            central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            central.extend_from_slice(&(3u16 << 8 | 20).to_le_bytes());
            central.extend_from_slice(&20u16.to_le_bytes());
            central.extend_from_slice(&0u16.to_le_bytes());
            central.extend_from_slice(&method.to_le_bytes());
            central.extend_from_slice(&[0; 4]);
            central.extend_from_slice(&crc.sum().to_le_bytes());
            central.extend_from_slice(&(body.len() as u32).to_le_bytes());
            central.extend_from_slice(&size.to_le_bytes());
            central.extend_from_slice(&(m.name.len() as u16).to_le_bytes());
            central.extend_from_slice(&[0; 8]);
            central.extend_from_slice(&(m.mode << 16).to_le_bytes());
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(m.name.as_bytes());
        }
        let cd_offset = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(members.len() as u16).to_le_bytes());
        out.extend_from_slice(&(members.len() as u16).to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    const LIMITS: Limits = Limits { max_entries: 100, max_unpacked_size: 1 << 20 };

    /// Extract next to an empty sibling directory; return the error and check that nothing
    /// was written anywhere but the destination.
    fn refuse(format: ArchiveFormat, bytes: &[u8], limits: Limits) -> String {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("d");
        let outside = root.join("outside");
        fs::create_dir_all(&outside).unwrap();
        let archive = root.join("archive");
        fs::write(&archive, bytes).unwrap();
        let dest = root.join("out/dest");
        let result = extract(&archive, format, &dest, limits, FileDigests::Compute);
        let mut beside: Vec<String> =
            fs::read_dir(&root).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        beside.sort();
        let outer: Vec<_> =
            fs::read_dir(root.join("out")).map(|d| d.map(|e| e.unwrap().file_name()).collect()).unwrap_or_default();
        assert!(fs::read_dir(&outside).unwrap().next().is_none(), "{format:?}: something was written to outside/");
        assert!(beside.iter().all(|n| ["archive", "out", "outside"].contains(&n.as_str())), "{format:?}: {beside:?}");
        assert!(outer.iter().all(|n| n == "dest"), "{format:?}: written beside the destination: {outer:?}");
        assert!(fs::read_dir(dir.path()).unwrap().count() == 1, "{format:?}: written beside the root");
        let message = match result {
            Ok(files) => panic!("{format:?}: accepted, wrote {files:?}"),
            Err(e) => e.to_string(),
        };
        if format == ArchiveFormat::Zip {
            // The streaming pass refuses it too (by the same rule, or as not streamable, which
            // sends the install to the pass above), and writes nowhere but its destination.
            let streamed = root.join("out/streamed");
            if let Ok(files) = stream_zip(bytes, &streamed, limits) {
                panic!("streaming accepted it, wrote {files:?}");
            }
            assert!(fs::read_dir(&outside).unwrap().next().is_none(), "streaming wrote to outside/");
            assert!(fs::read_dir(dir.path()).unwrap().count() == 1, "streaming wrote beside the root");
        }
        message
    }

    #[test]
    fn hostile_tar_members_are_refused_naming_the_member() {
        let big = vec![7u8; 4096];
        let cases: Vec<(&str, Vec<TarMember>, Limits, &str)> = vec![
            ("dot-dot", vec![file("../outside/evil", b"x")], LIMITS, "`../outside/evil`"),
            ("dot-dot inside", vec![file("root/../../outside/evil", b"x")], LIMITS, "`root/../../outside/evil`"),
            ("absolute", vec![file("/tmp/evil-codex-runtime-test", b"x")], LIMITS, "`/tmp/evil-codex-runtime-test`"),
            ("drive", vec![file("C:/evil", b"x")], LIMITS, "`C:/evil`"),
            ("drive relative", vec![file("c:evil", b"x")], LIMITS, "`c:evil`"),
            ("backslash", vec![file("root\\..\\..\\evil", b"x")], LIMITS, "`root\\..\\..\\evil`"),
            ("symlink out", vec![special("root/link", b'2', "../../outside")], LIMITS, "`root/link`"),
            ("symlink absolute", vec![special("root/link", b'2', "/etc")], LIMITS, "`root/link`"),
            (
                "symlink then write through it",
                vec![special("root/link", b'2', "."), file("root/link/evil", b"x")],
                LIMITS,
                "`root/link/evil`",
            ),
            (
                "symlink through another link",
                vec![special("root/a/here", b'2', "."), special("root/a/up", b'2', "here/../../..")],
                LIMITS,
                "`root/a/up`",
            ),
            (
                "symlink at another link",
                vec![file("root/f", b"x"), special("root/a", b'2', "f"), special("root/b", b'2', "a")],
                LIMITS,
                "`root/b`",
            ),
            ("hard link", vec![file("root/f", b"x"), special("root/h", b'1', "root/f")], LIMITS, "`root/h`"),
            ("hard link out", vec![special("root/h", b'1', "../outside/x")], LIMITS, "`root/h`"),
            ("char device", vec![special("root/null", b'3', "")], LIMITS, "`root/null`"),
            ("block device", vec![special("root/sda", b'4', "")], LIMITS, "`root/sda`"),
            ("fifo", vec![special("root/fifo", b'6', "")], LIMITS, "`root/fifo`"),
            ("duplicate", vec![file("root/f", b"one"), file("root/f", b"two")], LIMITS, "`root/f`"),
            ("file then dir", vec![file("root/x", b"x"), special("root/x/", b'5', "")], LIMITS, "`root/x/`"),
            ("dir then file", vec![special("root/x/", b'5', ""), file("root/x", b"x")], LIMITS, "`root/x`"),
            ("file as parent", vec![file("root/x", b"x"), file("root/x/y", b"y")], LIMITS, "`root/x/y`"),
            (
                "too many entries",
                vec![file("root/1", b"1"), file("root/2", b"2"), file("root/3", b"3")],
                Limits { max_entries: 2, ..LIMITS },
                "`root/3`",
            ),
            (
                "too many bytes",
                vec![file("root/1", &big), file("root/2", &big)],
                Limits { max_unpacked_size: 6000, ..LIMITS },
                "`root/2`",
            ),
        ];
        let count = cases.len();
        for (case, members, limits, member) in cases {
            let message = refuse(ArchiveFormat::TarGz, &gzip(&raw_tar(&members)), limits);
            eprintln!("{case}: {message}");
            assert!(message.contains(member), "{case}: {message:?} does not name {member}");
        }
        assert_eq!(count, 22);
    }

    #[test]
    fn truncated_and_corrupt_tar_gz_streams_are_refused_naming_the_member() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let whole = gzip(&raw_tar(&[file("root/small", b"s"), file("root/big", &data)]));
        // Cut in the middle of the big member's data: the member is named.
        let message = refuse(ArchiveFormat::TarGz, &whole[..whole.len() / 2], LIMITS);
        assert!(message.contains("corrupt or truncated in member `root/big`"), "{message}");
        // Flip bytes in the compressed data.
        let mut flipped = whole.clone();
        for b in &mut flipped[whole.len() / 2..whole.len() / 2 + 64] {
            *b ^= 0x5a;
        }
        let message = refuse(ArchiveFormat::TarGz, &flipped, LIMITS);
        assert!(message.contains("`root/big`"), "{message}");
        // A broken gzip trailer (its CRC) after an intact tar stream.
        let mut trailer = whole.clone();
        let at = trailer.len() - 6;
        trailer[at] ^= 0xff;
        let message = refuse(ArchiveFormat::TarGz, &trailer, LIMITS);
        assert!(message.contains("after its last member `root/big`"), "{message}");
        // A header whose checksum is wrong, after a sound member.
        let mut tar = raw_tar(&[file("root/small", b"s"), file("root/next", b"n")]);
        tar[1024 + 148] ^= 0x01;
        let message = refuse(ArchiveFormat::TarGz, &gzip(&tar), LIMITS);
        assert!(message.contains("after member `root/small`"), "{message}");
        // Not gzip at all.
        let message = refuse(ArchiveFormat::TarGz, b"this is not an archive", LIMITS);
        assert!(message.contains("at its start"), "{message}");
    }

    #[test]
    fn hostile_zip_members_are_refused_naming_the_member() {
        let big = vec![0u8; 300_000];
        let cases: Vec<(&str, Vec<ZipMember>, Limits, &str)> = vec![
            ("dot-dot", vec![zfile("../outside/evil", b"x")], LIMITS, "`../outside/evil`"),
            ("dot-dot inside", vec![zfile("root/../../outside/evil", b"x")], LIMITS, "`root/../../outside/evil`"),
            ("absolute", vec![zfile("/tmp/evil-codex-runtime-test", b"x")], LIMITS, "`/tmp/evil-codex-runtime-test`"),
            ("drive", vec![zfile("C:/evil", b"x")], LIMITS, "`C:/evil`"),
            ("drive backslash", vec![zfile("C:\\evil", b"x")], LIMITS, "`C:\\evil`"),
            ("backslash", vec![zfile("root\\..\\..\\evil", b"x")], LIMITS, "`root\\..\\..\\evil`"),
            ("symlink out", vec![zmode("root/link", b"../../outside", 0o120777)], LIMITS, "`root/link`"),
            ("symlink absolute", vec![zmode("root/link", b"/etc", 0o120777)], LIMITS, "`root/link`"),
            (
                "symlink then write through it",
                vec![zmode("root/link", b".", 0o120777), zfile("root/link/evil", b"x")],
                LIMITS,
                "`root/link/evil`",
            ),
            (
                "symlink through another link",
                vec![zmode("root/a/here", b".", 0o120777), zmode("root/a/up", b"here/../../..", 0o120777)],
                LIMITS,
                "`root/a/up`",
            ),
            (
                "symlink at another link",
                vec![zfile("root/f", b"x"), zmode("root/a", b"f", 0o120777), zmode("root/b", b"a", 0o120777)],
                LIMITS,
                "`root/b`",
            ),
            ("char device", vec![zmode("root/null", b"", 0o020666)], LIMITS, "`root/null`"),
            ("block device", vec![zmode("root/sda", b"", 0o060666)], LIMITS, "`root/sda`"),
            ("fifo", vec![zmode("root/fifo", b"", 0o010666)], LIMITS, "`root/fifo`"),
            ("socket", vec![zmode("root/sock", b"", 0o140666)], LIMITS, "`root/sock`"),
            ("duplicate", vec![zfile("root/f", b"one"), zfile("root/f", b"two")], LIMITS, "`root/f`"),
            ("file then dir", vec![zfile("root/x", b"x"), zmode("root/x/", b"", 0o040755)], LIMITS, "`root/x/`"),
            ("dir then file", vec![zmode("root/x/", b"", 0o040755), zfile("root/x", b"x")], LIMITS, "`root/x`"),
            ("file as parent", vec![zfile("root/x", b"x"), zfile("root/x/y", b"y")], LIMITS, "`root/x/y`"),
            (
                "too many entries",
                vec![zfile("root/1", b"1"), zfile("root/2", b"2"), zfile("root/3", b"3")],
                Limits { max_entries: 2, ..LIMITS },
                "`root/3`",
            ),
            (
                "too many bytes declared",
                vec![zfile("root/1", &big), zfile("root/2", &big)],
                Limits { max_unpacked_size: 400_000, ..LIMITS },
                "`root/2`",
            ),
            (
                "bomb declaring less than it inflates to",
                vec![ZipMember { deflate: true, declared_size: Some(1000), ..zfile("root/bomb", &big) }],
                LIMITS,
                "`root/bomb`",
            ),
            (
                "local header names another member",
                vec![ZipMember { local_name: Some("root/innocent"), ..zfile("root/../evil", b"x") }],
                LIMITS,
                "`root/../evil`",
            ),
            (
                "local header names another safe member",
                vec![ZipMember { local_name: Some("root/other"), ..zfile("root/f", b"x") }],
                LIMITS,
                "`root/f`",
            ),
            (
                "local header disagrees on the size",
                vec![ZipMember { local_size_delta: 1000, ..zfile("root/f", b"data") }],
                LIMITS,
                "`root/f`",
            ),
        ];
        let count = cases.len();
        for (case, members, limits, member) in cases {
            let message = refuse(ArchiveFormat::Zip, &raw_zip(&members), limits);
            eprintln!("{case}: {message}");
            assert!(message.contains(member), "{case}: {message:?} does not name {member}");
        }
        assert_eq!(count, 25);
    }

    #[test]
    fn truncated_and_corrupt_zips_are_refused() {
        let data: Vec<u8> = (0..50_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let whole = raw_zip(&[zfile("root/small", b"s"), ZipMember { deflate: true, ..zfile("root/big", &data) }]);
        // Corrupt member data: the checksum fails and the member is named.
        let mut flipped = whole.clone();
        let at = 200;
        for b in &mut flipped[at..at + 32] {
            *b ^= 0x5a;
        }
        let message = refuse(ArchiveFormat::Zip, &flipped, LIMITS);
        assert!(message.contains("in member `root/big`"), "{message}");
        // Cut short: the central directory is gone.
        let message = refuse(ArchiveFormat::Zip, &whole[..whole.len() / 2], LIMITS);
        assert!(message.contains("in its central directory"), "{message}");
    }

    #[test]
    fn the_raw_builders_make_archives_that_extract() {
        let tar = gzip(&raw_tar(&[special("root/", b'5', ""), file("root/f", b"tar"), special("root/l", b'2', "f")]));
        let zip = raw_zip(&[zfile("root/f", b"zip"), ZipMember { deflate: true, ..zfile("root/g", &[1; 5000]) }]);
        for (format, bytes, expected) in
            [(ArchiveFormat::TarGz, tar, vec!["root/f"]), (ArchiveFormat::Zip, zip, vec!["root/f", "root/g"])]
        {
            let dir = tempfile::tempdir().unwrap();
            let archive = dir.path().join("a");
            fs::write(&archive, bytes).unwrap();
            let files = extract(&archive, format, &dir.path().join("out"), LIMITS, FileDigests::Compute).unwrap();
            let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
            assert_eq!(paths, expected, "{format:?}");
        }
    }
}
