//! A zip writer for wheels whose members are deflated on every core ([`super::deflate`]): each
//! member's local header, its deflate stream, then a data descriptor with its CRC-32 and sizes
//! (so nothing is buffered to learn them first), and the central directory at the end. Every
//! member has upstream's fixed timestamp (2020-02-02 00:00) and its Unix mode. No zip64: a
//! member or an archive of 4 GiB or more is an error.

use std::io::{self, Read, Write};

use super::deflate::{Finished, Pool};

/// 2020-02-02 00:00:00 as MS-DOS time and date.
const DOS_TIME: u16 = 0;
const DOS_DATE: u16 = ((2020 - 1980) << 9) | (2 << 5) | 2;
/// Version 2.0 (deflate, data descriptors); made by Unix.
const VERSION: u16 = 20;
const MADE_BY_UNIX: u16 = (3 << 8) | VERSION;
/// Bit 3: sizes and CRC follow the data.
const FLAG_DESCRIPTOR: u16 = 0x0008;
const DEFLATE: u16 = 8;

struct Entry {
    name: String,
    mode: u32,
    offset: u32,
    finished: Finished,
}

/// An archive being written to `out`.
pub struct ZipOut<'p, W: Write> {
    out: Counting<W>,
    pool: &'p Pool,
    entries: Vec<Entry>,
}

struct Counting<W> {
    inner: W,
    count: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(bytes)?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn u32_of(value: u64, what: &str) -> io::Result<u32> {
    u32::try_from(value).map_err(|_| io::Error::other(format!("{what} reaches 4 GiB, which needs zip64")))
}

impl<'p, W: Write> ZipOut<'p, W> {
    pub fn new(out: W, pool: &'p Pool) -> ZipOut<'p, W> {
        ZipOut { out: Counting { inner: out, count: 0 }, pool, entries: Vec::new() }
    }

    /// Add `name` with Unix `mode` (0o644, 0o755), its bytes read from `data` to its end.
    pub fn add(&mut self, name: &str, mode: u32, data: &mut impl Read) -> io::Result<()> {
        let offset = u32_of(self.out.count, "the archive")?;
        let mut header = Vec::with_capacity(30 + name.len());
        header.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        for field in [VERSION, FLAG_DESCRIPTOR, DEFLATE, DOS_TIME, DOS_DATE] {
            header.extend_from_slice(&field.to_le_bytes());
        }
        header.extend_from_slice(&[0; 12]); // CRC-32 and sizes: in the descriptor
        header.extend_from_slice(&u16::try_from(name.len()).map_err(io::Error::other)?.to_le_bytes());
        header.extend_from_slice(&0u16.to_le_bytes());
        header.extend_from_slice(name.as_bytes());
        self.out.write_all(&header)?;
        let mut stream = self.pool.stream(&mut self.out);
        io::copy(data, &mut stream)?;
        let (_, finished) = stream.finish()?;
        let mut descriptor = Vec::with_capacity(16);
        descriptor.extend_from_slice(&0x0807_4b50u32.to_le_bytes());
        descriptor.extend_from_slice(&finished.crc32.to_le_bytes());
        descriptor.extend_from_slice(&u32_of(finished.compressed, name)?.to_le_bytes());
        descriptor.extend_from_slice(&u32_of(finished.uncompressed, name)?.to_le_bytes());
        self.out.write_all(&descriptor)?;
        self.entries.push(Entry { name: name.to_owned(), mode, offset, finished });
        Ok(())
    }

    /// Write the central directory; the archive is complete.
    pub fn finish(mut self) -> io::Result<W> {
        let start = u32_of(self.out.count, "the archive")?;
        for entry in &self.entries {
            let mut record = Vec::with_capacity(46 + entry.name.len());
            record.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            for field in [MADE_BY_UNIX, VERSION, FLAG_DESCRIPTOR, DEFLATE, DOS_TIME, DOS_DATE] {
                record.extend_from_slice(&field.to_le_bytes());
            }
            record.extend_from_slice(&entry.finished.crc32.to_le_bytes());
            record.extend_from_slice(&u32_of(entry.finished.compressed, &entry.name)?.to_le_bytes());
            record.extend_from_slice(&u32_of(entry.finished.uncompressed, &entry.name)?.to_le_bytes());
            record.extend_from_slice(&u16::try_from(entry.name.len()).map_err(io::Error::other)?.to_le_bytes());
            record.extend_from_slice(&[0; 8]); // extra, comment, disk, internal attributes
            record.extend_from_slice(&((0o100_000 | entry.mode) << 16).to_le_bytes());
            record.extend_from_slice(&entry.offset.to_le_bytes());
            record.extend_from_slice(entry.name.as_bytes());
            self.out.write_all(&record)?;
        }
        let size = u32_of(self.out.count - u64::from(start), "the central directory")?;
        let count =
            u16::try_from(self.entries.len()).map_err(|_| io::Error::other("65535 members or more need zip64"))?;
        let mut end = Vec::with_capacity(22);
        end.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        end.extend_from_slice(&[0; 4]);
        end.extend_from_slice(&count.to_le_bytes());
        end.extend_from_slice(&count.to_le_bytes());
        end.extend_from_slice(&size.to_le_bytes());
        end.extend_from_slice(&start.to_le_bytes());
        end.extend_from_slice(&0u16.to_le_bytes());
        self.out.write_all(&end)?;
        self.out.flush()?;
        Ok(self.out.inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zip_crate_reads_back_every_member_with_its_mode_and_time() {
        let pool = Pool::new();
        let big: Vec<u8> = (0..(3 * super::super::deflate::CHUNK + 5)).map(|i| (i * 7 % 251) as u8).collect();
        let mut zip = ZipOut::new(Vec::new(), &pool);
        zip.add("pkg/__init__.py", 0o644, &mut &b"print('hi')\n"[..]).unwrap();
        zip.add("pkg/bin/codex", 0o755, &mut &big[..]).unwrap();
        zip.add("pkg/empty", 0o644, &mut &b""[..]).unwrap();
        let bytes = zip.finish().unwrap();
        let mut archive = zip::ZipArchive::new(io::Cursor::new(bytes)).unwrap();
        assert_eq!(archive.len(), 3);
        let mut read = |name: &str| {
            let mut member = archive.by_name(name).unwrap();
            let (mode, time) = (member.unix_mode(), member.last_modified());
            let mut data = Vec::new();
            member.read_to_end(&mut data).unwrap();
            (data, mode, time.map(|t| (t.year(), t.month(), t.day())))
        };
        assert_eq!(read("pkg/bin/codex"), (big.clone(), Some(0o100_755), Some((2020, 2, 2))));
        assert_eq!(read("pkg/__init__.py").0, b"print('hi')\n");
        assert_eq!(read("pkg/empty").0, b"");
    }
}
