//! Bytes from a URL or a local file into the cache's scratch space, verified while they arrive:
//! size, sha256 (and sha512 where pinned), and block pins that stop a bad transfer at once.
//! Retries and resumption live here, so every caller gets them.

pub mod blocks;
pub mod download;
