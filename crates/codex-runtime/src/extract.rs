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
    let file = File::open(archive).map_err(|source| ExtractError::Write { path: archive.to_owned(), source })?;
    let mut sink = Sink::new(dest, limits);
    match format {
        ArchiveFormat::TarGz => extract_tar_gz(file, &mut sink)?,
        ArchiveFormat::Zip => extract_zip(file, &mut sink)?,
    }
    sink.finish()
}

fn corrupt(source: io::Error) -> ExtractError {
    ExtractError::Corrupt { source }
}

fn extract_tar_gz(file: File, sink: &mut Sink) -> Result<(), ExtractError> {
    let gz = flate2::read::GzDecoder::new(BufReader::with_capacity(256 * 1024, file));
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
        sink.entry(&name, kind, &mut entry)?;
    }
    Ok(())
}

fn extract_zip(file: File, sink: &mut Sink) -> Result<(), ExtractError> {
    let mut archive = zip::ZipArchive::new(BufReader::with_capacity(256 * 1024, file))
        .map_err(|e| corrupt(io::Error::new(io::ErrorKind::InvalidData, e)))?;
    if archive.len() as u64 > sink.limits.max_entries {
        return Err(ExtractError::TooManyEntries { limit: sink.limits.max_entries });
    }
    for i in 0..archive.len() {
        let mut member = archive.by_index(i).map_err(|e| corrupt(io::Error::new(io::ErrorKind::InvalidData, e)))?;
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
        sink.entry(&name, kind, &mut member)?;
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

/// Where members go, with the bookkeeping that makes extraction safe.
struct Sink<'a> {
    dest: &'a Path,
    limits: Limits,
    entries: u64,
    written: u64,
    seen: HashMap<String, Seen>,
    files: Vec<ExtractedFile>,
    symlinks: Vec<(String, String)>,
}

impl<'a> Sink<'a> {
    fn new(dest: &'a Path, limits: Limits) -> Self {
        Sink { dest, limits, entries: 0, written: 0, seen: HashMap::new(), files: Vec::new(), symlinks: Vec::new() }
    }

    fn entry(&mut self, name: &str, kind: Kind, data: &mut dyn Read) -> Result<(), ExtractError> {
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
            Some(Seen::Dir) if this == Seen::Dir => return Ok(()),
            Some(Seen::Dir) => return Err(refuse("it is both a directory and a file")),
            Some(_) => return Err(refuse("it appears twice in the archive")),
            None => {}
        }
        self.seen.insert(path.clone(), this);
        let target = self.dest.join(&path);
        match kind {
            Kind::Dir => create_dir(&target),
            Kind::Symlink(link) => {
                symlink_target(&path, &link).map_err(refuse)?;
                self.symlinks.push((path, link));
                Ok(())
            }
            Kind::File { executable, declared_size } => {
                if self.written.saturating_add(declared_size) > self.limits.max_unpacked_size {
                    return Err(ExtractError::TooLarge {
                        member: name.to_owned(),
                        limit: self.limits.max_unpacked_size,
                    });
                }
                if let Some(parent) = target.parent() {
                    create_dir(parent)?;
                }
                let (sha256, size) = self.write_file(name, &target, executable, data)?;
                self.files.push(ExtractedFile { path, sha256, size, executable });
                Ok(())
            }
            Kind::Refused(_) => unreachable!("refused above"),
        }
    }

    fn write_file(
        &mut self,
        name: &str,
        target: &Path,
        executable: bool,
        data: &mut dyn Read,
    ) -> Result<(Sha256, u64), ExtractError> {
        let write_err = |source| ExtractError::Write { path: target.to_owned(), source };
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(if executable { 0o755 } else { 0o644 });
        }
        let mut out = options.open(target).map_err(write_err)?;
        let mut hasher = Hasher::new(false);
        let remaining = self.limits.max_unpacked_size - self.written;
        // Read at most one byte past the budget: that byte proves the member lies about its size.
        let mut limited = data.take(remaining + 1);
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = match limited.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(corrupt(e)),
            };
            if hasher.size() + n as u64 > remaining {
                return Err(ExtractError::TooLarge { member: name.to_owned(), limit: self.limits.max_unpacked_size });
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(write_err)?;
        }
        let digests = hasher.finish();
        self.written += digests.size;
        Ok((digests.sha256, digests.size))
    }

    /// Create the symlinks last, once no more file will be written.
    fn finish(self) -> Result<Vec<ExtractedFile>, ExtractError> {
        for (path, link) in &self.symlinks {
            let target = self.dest.join(path);
            if let Some(parent) = target.parent() {
                create_dir(parent)?;
            }
            make_symlink(link, &target).map_err(|source| ExtractError::Write { path: target.clone(), source })?;
        }
        Ok(self.files)
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
