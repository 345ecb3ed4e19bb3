//! Bytes from a URL or a local file into the cache's scratch space, verified while they arrive:
//! size, sha256 (and sha512 where pinned), and block pins that stop a bad transfer at once.
//! What "verified" means is written once, in [`verify`]; retries and resumption live in
//! [`download`], so every caller (install, `channel update`, `verify-pins --rehash`) gets them.

pub mod blocks;
pub mod download;
pub mod verify;
