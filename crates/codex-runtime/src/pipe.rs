//! The copy loop that downloads and extraction share: one thread fills buffers, a second one
//! drains them (hashes and writes) right behind it, the buffers going round between the two, so
//! reading never waits for hashing or the disk. A copy of a few bytes runs on one thread.
//!
//! ```
//! use codex_runtime::pipe::Pipe;
//!
//! let mut input: &[u8] = b"hello, world";
//! let mut output = Vec::new();
//! // Four-byte buffers, up to two of them waiting for the second thread.
//! let copied = Pipe::threaded(4, 2).copy(
//!     |buf| std::io::Read::read(&mut input, buf).map(|n| (n, ())),
//!     |bytes, ()| {
//!         output.extend_from_slice(bytes);
//!         Ok::<(), std::io::Error>(())
//!     },
//! );
//! assert!(copied.is_ok());
//! assert_eq!(output, b"hello, world");
//! ```

use std::sync::mpsc;

/// How a [`Pipe::copy`] stopped before the end.
#[derive(Debug, PartialEq, Eq)]
pub enum Stopped<R, W> {
    /// Filling failed. Every buffer filled before it was drained.
    Fill(R),
    /// Draining failed. Nothing was filled after the buffers already on their way.
    Drain(W),
}

/// The shape of a copy: how large its buffers are, and how many full ones may wait for the
/// draining thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pipe {
    chunk: usize,
    /// Full buffers between the two threads; 0 fills and drains on the calling thread.
    depth: usize,
}

impl Pipe {
    /// Buffers of `chunk` bytes, up to `depth` of them full and waiting for the second thread.
    pub const fn threaded(chunk: usize, depth: usize) -> Pipe {
        Pipe { chunk: if chunk == 0 { 1 } else { chunk }, depth: if depth == 0 { 1 } else { depth } }
    }

    /// One buffer of `chunk` bytes, filled and drained in turn on the calling thread: for
    /// copies too small to be worth a thread.
    pub const fn inline(chunk: usize) -> Pipe {
        Pipe { chunk: if chunk == 0 { 1 } else { chunk }, depth: 0 }
    }

    /// Copy until `fill` says the end. `fill` runs on the calling thread: it fills the start of
    /// the buffer it is handed and returns how many bytes it put there (0 at the end) and a
    /// value that travels with them. `drain` gets those bytes and that value, in order, on the
    /// second thread. The first failure stops the copy; `drain`'s wins when both fail.
    pub fn copy<T, R, W>(
        self,
        mut fill: impl FnMut(&mut [u8]) -> Result<(usize, T), R>,
        mut drain: impl FnMut(&[u8], T) -> Result<(), W> + Send,
    ) -> Result<(), Stopped<R, W>>
    where
        T: Send,
        W: Send,
    {
        if self.depth == 0 {
            let mut buf = vec![0u8; self.chunk];
            // Bounded by the input: each turn consumes bytes or ends.
            loop {
                match fill(&mut buf).map_err(Stopped::Fill)? {
                    (0, _) => return Ok(()),
                    (n, tag) => drain(&buf[..n], tag).map_err(Stopped::Drain)?,
                }
            }
        }
        let (full_tx, full_rx) = mpsc::sync_channel::<(Vec<u8>, usize, T)>(self.depth);
        let (empty_tx, empty_rx) = mpsc::channel::<Vec<u8>>();
        // One buffer being filled, one being drained, `depth` waiting in between.
        for _ in 0..self.depth + 2 {
            empty_tx.send(vec![0u8; self.chunk]).expect("the receiver is alive");
        }
        std::thread::scope(|scope| {
            let drainer = scope.spawn(move || -> Result<(), W> {
                for (buf, n, tag) in full_rx {
                    drain(&buf[..n], tag)?;
                    // The filling side may have stopped already; then the buffer is dropped.
                    let _ = empty_tx.send(buf);
                }
                Ok(())
            });
            // Bounded by the input: each turn consumes bytes or ends.
            let filled = loop {
                // No buffer comes back once the drainer stopped: its own result says why.
                let Ok(mut buf) = empty_rx.recv() else { break Ok(()) };
                match fill(&mut buf) {
                    Ok((0, _)) => break Ok(()),
                    Ok((n, tag)) => {
                        if full_tx.send((buf, n, tag)).is_err() {
                            break Ok(());
                        }
                    }
                    Err(e) => break Err(e),
                }
            };
            drop(full_tx);
            let drained = drainer.join().expect("the draining thread panicked");
            drained.map_err(Stopped::Drain)?;
            filled.map_err(Stopped::Fill)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fills with the bytes of `input`, `step` at a time, failing at byte `fail_at`.
    fn filler(
        input: &[u8],
        step: usize,
        fail_at: Option<usize>,
    ) -> impl FnMut(&mut [u8]) -> Result<(usize, usize), usize> {
        let mut at = 0;
        move |buf| {
            if fail_at.is_some_and(|f| at >= f) {
                return Err(at);
            }
            let n = buf.len().min(step).min(input.len() - at);
            buf[..n].copy_from_slice(&input[at..at + n]);
            at += n;
            Ok((n, at))
        }
    }

    #[test]
    fn every_shape_copies_every_byte_in_order_with_its_tag() {
        let input: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        for pipe in [Pipe::inline(1), Pipe::inline(4096), Pipe::threaded(1000, 1), Pipe::threaded(65_536, 8)] {
            let mut output = Vec::new();
            let mut tags = Vec::new();
            let copied: Result<(), Stopped<usize, ()>> = pipe.copy(filler(&input, 777, None), |bytes, tag| {
                output.extend_from_slice(bytes);
                tags.push(tag);
                Ok(())
            });
            assert_eq!(copied, Ok(()), "{pipe:?}");
            assert_eq!(output, input, "{pipe:?}");
            assert_eq!(tags.last(), Some(&input.len()), "{pipe:?}");
            assert!(tags.windows(2).all(|w| w[0] < w[1]), "{pipe:?}");
        }
    }

    #[test]
    fn a_failed_fill_still_drains_what_came_before_and_a_failed_drain_stops_the_fill() {
        let input = vec![7u8; 50_000];
        for pipe in [Pipe::inline(1000), Pipe::threaded(1000, 4)] {
            let mut drained = 0;
            let copied = pipe.copy(filler(&input, 1000, Some(20_000)), |bytes, _| -> Result<(), ()> {
                drained += bytes.len();
                Ok(())
            });
            assert_eq!(copied, Err(Stopped::Fill(20_000)), "{pipe:?}");
            assert_eq!(drained, 20_000, "{pipe:?}");

            let mut fills = 0;
            let mut fill = filler(&input, 1000, None);
            let copied = pipe.copy(
                |buf| {
                    fills += 1;
                    fill(buf)
                },
                |_, at| if at > 5000 { Err(at) } else { Ok(()) },
            );
            assert_eq!(copied, Err(Stopped::<usize, usize>::Drain(6000)), "{pipe:?}");
            // The filling side stops within the buffers it had in hand.
            assert!(fills <= 6 + 4 + 2, "{pipe:?}: {fills} fills");
        }
    }
}
