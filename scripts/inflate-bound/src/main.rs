//! Inflate the largest member of a zip (a wheel) three ways, three times each, on one thread,
//! into memory: what one core can do, whatever the install around it does.

use std::io::Read as _;
use std::time::{Duration, Instant};

fn main() {
    let path = std::env::args().nth(1).expect("usage: inflate-bound WHEEL");
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
    let largest = (0..archive.len()).max_by_key(|&i| archive.by_index_raw(i).unwrap().size()).unwrap();
    let mut member = archive.by_index_raw(largest).unwrap();
    let (name, size) = (member.name().unwrap().into_owned(), member.size() as usize);
    let mut raw = Vec::new();
    member.read_to_end(&mut raw).unwrap();
    println!("{name}: {size} bytes, deflated to {}", raw.len());
    let mut out = vec![0u8; size];
    let mut buf = vec![0u8; 1 << 20];
    let best = |f: &mut dyn FnMut() -> usize| {
        (0..3)
            .map(|_| {
                let start = Instant::now();
                assert_eq!(f(), size);
                start.elapsed()
            })
            .min()
            .unwrap()
    };
    let report = |what: &str, took: Duration| {
        println!("{what:<44} {:>7.1} ms  {:>5.0} MB/s", took.as_secs_f64() * 1e3, size as f64 / took.as_secs_f64() / 1e6);
    };
    let streamed = best(&mut || {
        // As a wheel's extraction does: a 256 KiB reader of the member's bytes in (its worker's),
        // 1 MiB buffers out.
        let mut d = flate2::read::DeflateDecoder::new(std::io::BufReader::with_capacity(256 * 1024, &raw[..]));
        let mut total = 0;
        loop {
            match d.read(&mut buf).unwrap() {
                0 => return total,
                n => total += n,
            }
        }
    });
    report("zlib-rs, streamed in 1 MiB buffers", streamed);
    let whole = best(&mut || {
        let mut d = flate2::Decompress::new(false);
        d.decompress(&raw, &mut out, flate2::FlushDecompress::Finish).unwrap();
        d.total_out() as usize
    });
    report("zlib-rs, the whole member at once", whole);
    let libdeflate = best(&mut || libdeflater::Decompressor::new().deflate_decompress(&raw, &mut out).unwrap());
    report("libdeflate, the whole member at once", libdeflate);
}
