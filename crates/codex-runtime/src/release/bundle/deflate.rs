//! Deflate on every core, for re-packed wheels and tarballs: the input is cut into chunks of
//! [`CHUNK`] bytes, each compressed by a worker thread and ended with a full flush (so it needs no
//! chunk before it), and the compressed chunks are written in order: one valid deflate stream,
//! as pigz makes one. The output depends only on the input (the cut points are fixed), so it is
//! reproducible; at most two chunks per worker are in flight, so memory stays bounded whatever
//! the size of the input.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

/// The input cut: large enough that the lost dictionary at each cut costs little.
pub const CHUNK: usize = 1 << 20;

/// A chunk compressed, and its CRC-32.
type Compressed = io::Result<(Vec<u8>, Crc)>;
type Job = (Vec<u8>, bool, SyncSender<Compressed>);

/// Worker threads compressing chunks, shared by every stream of one archive.
pub struct Pool {
    jobs: Option<SyncSender<Job>>,
    workers: Vec<JoinHandle<()>>,
    threads: usize,
}

impl Pool {
    /// One worker per core.
    pub fn new() -> Pool {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let (jobs, queue) = sync_channel::<Job>(threads);
        let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
        let workers = (0..threads)
            .map(|_| {
                let queue = queue.clone();
                std::thread::spawn(move || {
                    loop {
                        let job = queue.lock().map(|q| q.recv());
                        let Ok(Ok((data, last, reply))) = job else { break };
                        let mut crc = Crc::new();
                        crc.update(&data);
                        let _ = reply.send(compress(&data, last).map(|out| (out, crc)));
                    }
                })
            })
            .collect();
        Pool { jobs: Some(jobs), workers, threads }
    }

    /// A deflate stream of what is written to it, into `out`.
    pub fn stream<W: Write>(&self, out: W) -> Deflater<'_, W> {
        Deflater {
            pool: self,
            out,
            buffer: Vec::with_capacity(CHUNK),
            pending: VecDeque::new(),
            crc: Crc::new(),
            taken: 0,
            written: 0,
        }
    }
}

impl Pool {
    /// A gzip member of what is written to it, into `out`: a header without a name or a
    /// timestamp (so the output is reproducible), one deflate stream, then the CRC-32 and the
    /// size (RFC 1952).
    pub fn gzip<W: Write>(&self, mut out: W) -> io::Result<GzOut<'_, W>> {
        // ID1 ID2, CM = deflate, no flags, MTIME 0, XFL 0, OS = Unix.
        out.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3])?;
        Ok(GzOut { stream: self.stream(out) })
    }
}

/// A gzip member being written; [`GzOut::finish`] writes its trailer.
pub struct GzOut<'p, W: Write> {
    stream: Deflater<'p, W>,
}

impl<W: Write> GzOut<'_, W> {
    pub fn finish(self) -> io::Result<W> {
        let (mut out, finished) = self.stream.finish()?;
        out.write_all(&finished.crc32.to_le_bytes())?;
        // ISIZE: the input's size modulo 2^32.
        out.write_all(&((finished.uncompressed & 0xffff_ffff) as u32).to_le_bytes())?;
        Ok(out)
    }
}

impl<W: Write> Write for GzOut<'_, W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.stream.write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.jobs.take();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

/// One deflate stream; [`Deflater::finish`] ends it and says what it held.
pub struct Deflater<'p, W: Write> {
    pool: &'p Pool,
    out: W,
    buffer: Vec<u8>,
    pending: VecDeque<Receiver<Compressed>>,
    crc: Crc,
    /// Bytes taken so far.
    taken: u64,
    /// Compressed bytes written so far.
    written: u64,
}

/// What a finished stream held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finished {
    pub crc32: u32,
    pub uncompressed: u64,
    pub compressed: u64,
}

impl<W: Write> Deflater<'_, W> {
    fn submit(&mut self, last: bool) -> io::Result<()> {
        let data = std::mem::replace(&mut self.buffer, Vec::with_capacity(if last { 0 } else { CHUNK }));
        let (reply, result) = sync_channel(1);
        let jobs = self.pool.jobs.as_ref().expect("the pool is running");
        jobs.send((data, last, reply)).map_err(|_| io::Error::other("the compression workers stopped"))?;
        self.pending.push_back(result);
        while self.pending.len() > 2 * self.pool.threads {
            self.write_oldest()?;
        }
        Ok(())
    }

    fn write_oldest(&mut self) -> io::Result<()> {
        let Some(result) = self.pending.pop_front() else { return Ok(()) };
        let (compressed, crc) = result.recv().map_err(|_| io::Error::other("a compression worker stopped"))??;
        // The chunks' CRC-32s, computed by the workers, combined in order.
        self.crc.combine(&crc);
        self.out.write_all(&compressed)?;
        self.written += compressed.len() as u64;
        Ok(())
    }

    /// End the stream (its final block) and write everything still in flight.
    pub fn finish(mut self) -> io::Result<(W, Finished)> {
        self.submit(true)?;
        while !self.pending.is_empty() {
            self.write_oldest()?;
        }
        let finished = Finished { crc32: self.crc.sum(), uncompressed: self.taken, compressed: self.written };
        Ok((self.out, finished))
    }
}

impl<W: Write> Write for Deflater<'_, W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buffer.len();
        let taken = &bytes[..bytes.len().min(room)];
        self.buffer.extend_from_slice(taken);
        self.taken += taken.len() as u64;
        if self.buffer.len() == CHUNK {
            self.submit(false)?;
        }
        Ok(taken.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One chunk as raw deflate, ended with a full flush, or with the final block when `last`.
fn compress(data: &[u8], last: bool) -> io::Result<Vec<u8>> {
    let mut compress = Compress::new(Compression::default(), false);
    let mut out = Vec::with_capacity(data.len() / 2 + 1024);
    let flush = if last { FlushCompress::Finish } else { FlushCompress::Full };
    // Bounded: each turn either consumes input or grows the output room.
    loop {
        let consumed = usize::try_from(compress.total_in()).expect("a chunk fits in memory");
        let status = compress.compress_vec(&data[consumed..], &mut out, flush).map_err(io::Error::other)?;
        let all_in = usize::try_from(compress.total_in()).expect("a chunk fits in memory") == data.len();
        let room_left = out.len() < out.capacity();
        match status {
            Status::StreamEnd => return Ok(out),
            _ if !last && all_in && room_left => return Ok(out),
            _ => out.reserve(64 * 1024),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn inflate(raw: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::DeflateDecoder::new(raw).read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn chunks_deflated_apart_are_one_stream_that_inflates_to_the_input() {
        let pool = Pool::new();
        let mut input = Vec::new();
        let mut x = 12345u64;
        for i in 0..(3 * CHUNK + 777) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            input.push(if i % 3 == 0 { (x >> 56) as u8 } else { b'a' + (i % 7) as u8 });
        }
        for data in [&input[..], &[][..], &input[..CHUNK], &input[..10]] {
            let mut stream = pool.stream(Vec::new());
            for piece in data.chunks(100_003) {
                stream.write_all(piece).unwrap();
            }
            let (raw, finished) = stream.finish().unwrap();
            assert_eq!(inflate(&raw), data);
            let mut crc = Crc::new();
            crc.update(data);
            assert_eq!(
                finished,
                Finished { crc32: crc.sum(), uncompressed: data.len() as u64, compressed: raw.len() as u64 }
            );
        }
        // Reproducible: the same input, the same bytes.
        let once = |data: &[u8]| {
            let mut stream = pool.stream(Vec::new());
            stream.write_all(data).unwrap();
            stream.finish().unwrap().0
        };
        assert_eq!(once(&input), once(&input));
    }

    #[test]
    fn a_gzip_member_inflates_to_the_input_and_carries_its_crc_and_size() {
        let pool = Pool::new();
        let input: Vec<u8> = (0..(2 * CHUNK + 5)).map(|i| (i % 251) as u8).collect();
        let mut gz = pool.gzip(Vec::new()).unwrap();
        gz.write_all(&input).unwrap();
        let bytes = gz.finish().unwrap();
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..]).read_to_end(&mut out).unwrap();
        assert!(out == input);
        let mut crc = Crc::new();
        crc.update(&input);
        let trailer = &bytes[bytes.len() - 8..];
        assert_eq!(trailer[..4], crc.sum().to_le_bytes());
        assert_eq!(trailer[4..], (input.len() as u32).to_le_bytes());
    }
}
