//! Digests: the `Sha256` newtype, npm's SRI `sha512-` integrity, and a writer that hashes
//! what passes through it.

use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

use base64::Engine as _;
use sha2::Digest as _;

/// A sha256 digest, printed as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sha256(pub [u8; 32]);

/// A digest string that is not what it claims to be.
#[derive(Debug, Clone, thiserror::Error)]
#[error("`{value}` is not {expected}")]
pub struct InvalidDigest {
    pub value: String,
    pub expected: &'static str,
}

impl Sha256 {
    /// Hash a whole reader.
    pub fn of_reader(mut reader: impl io::Read) -> io::Result<(Sha256, u64)> {
        let mut hasher = Hasher::new();
        io::copy(&mut reader, &mut hasher)?;
        Ok(hasher.finish())
    }
}

/// The sha256 of each `block_size` block of what `reader` yields (the last block may be shorter).
pub fn block_sha256s(mut reader: impl io::Read, block_size: u64) -> io::Result<Vec<Sha256>> {
    let mut blocks = Vec::new();
    loop {
        let (digest, n) = Sha256::of_reader(io::Read::take(&mut reader, block_size))?;
        if n == 0 {
            return Ok(blocks);
        }
        blocks.push(digest);
        if n < block_size {
            return Ok(blocks);
        }
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({self})")
    }
}

impl FromStr for Sha256 {
    type Err = InvalidDigest;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidDigest { value: s.to_owned(), expected: "a sha256 (64 lowercase hex digits)" };
        let bytes = s.as_bytes();
        if bytes.len() != 64 {
            return Err(invalid());
        }
        // A table lookup per digit: `path` parses every digest of a manifest (a thousand or so).
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            let (hi, lo) = (LOWER_HEX[pair[0] as usize], LOWER_HEX[pair[1] as usize]);
            if (hi | lo) & 0xf0 != 0 {
                return Err(invalid());
            }
            *byte = hi << 4 | lo;
        }
        Ok(Sha256(out))
    }
}

/// The value of each lowercase hex digit; 0xff for every other byte.
const LOWER_HEX: [u8; 256] = {
    let mut table = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

impl serde::Serialize for Sha256 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Sha256 {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        super::parse_str(deserializer, "a sha256 (64 lowercase hex digits)")
    }
}

/// npm's `dist.integrity`: `sha512-` followed by the standard base64 of the digest.
#[derive(Clone, PartialEq, Eq)]
pub struct Integrity(pub [u8; 64]);

impl fmt::Display for Integrity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha512-{}", base64::engine::general_purpose::STANDARD.encode(self.0))
    }
}

impl fmt::Debug for Integrity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Integrity({self})")
    }
}

impl FromStr for Integrity {
    type Err = InvalidDigest;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid =
            || InvalidDigest { value: s.to_owned(), expected: "an SRI sha512 integrity (`sha512-` + base64)" };
        let b64 = s.strip_prefix("sha512-").ok_or_else(invalid)?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(b64).map_err(|_| invalid())?;
        Ok(Integrity(bytes.try_into().map_err(|_| invalid())?))
    }
}

impl serde::Serialize for Integrity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Integrity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        super::parse_str(deserializer, "a sha512 integrity (`sha512-` and base64)")
    }
}

/// The digests of a stream, computed as the bytes went by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    pub sha256: Sha256,
    pub sha512: Option<Integrity>,
    pub size: u64,
}

/// Hashes everything written to it with sha256 and counts the bytes. Artifacts are checked
/// by `fetch::verify`, which adds sha512 and the block pins.
#[derive(Default)]
pub struct Hasher {
    sha256: sha2::Sha256,
    size: u64,
}

impl Hasher {
    pub fn new() -> Self {
        Hasher::default()
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.sha256.update(bytes);
        self.size += bytes.len() as u64;
    }

    /// The digest and how many bytes it covers.
    pub fn finish(self) -> (Sha256, u64) {
        (Sha256(self.sha256.finalize().into()), self.size)
    }
}

impl Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_parses_only_lowercase_hex_of_the_right_length() {
        let ok = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(ok.parse::<Sha256>().unwrap().to_string(), ok);
        for bad in ["", "e3b0", &ok.to_uppercase(), &format!("{ok}00"), &ok.replace('e', "g")] {
            assert!(bad.parse::<Sha256>().is_err(), "{bad}");
        }
    }

    #[test]
    fn hasher_matches_a_known_digest() {
        let mut h = Hasher::new();
        h.write_all(b"abc").unwrap();
        let (sha256, size) = h.finish();
        assert_eq!(sha256.to_string(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(size, 3);
    }

    #[test]
    fn integrity_round_trips_and_refuses_other_algorithms() {
        let s = "sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw==";
        assert_eq!(s.parse::<Integrity>().unwrap().to_string(), s);
        assert!("sha1-qZk+NkcGgWq6PiVxeFDCbJzQ2J0=".parse::<Integrity>().is_err());
        assert!("sha512-AAAA".parse::<Integrity>().is_err());
    }
}
