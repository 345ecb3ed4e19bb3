//! Progress reporting: the library says what happens, the binary decides how to show it.

use crate::model::target::Target;

/// Receives progress from installs. Every method has a no-op default.
pub trait Reporter: Sync {
    /// A source is about to be asked for an artifact.
    fn attempt(&self, _source: &str, _location: &str) {}
    /// Bytes of `file` are arriving; `total` when the size is known.
    fn download_started(&self, _file: &str, _total: Option<u64>) {}
    /// Bytes of the local file `file` are being copied (and verified); `download_progress`
    /// and `download_finished` follow as for a download.
    fn copy_started(&self, file: &str, total: Option<u64>) {
        self.download_started(file, total);
    }
    /// `bytes` more arrived.
    fn download_progress(&self, _bytes: u64) {}
    /// The download ended, successfully or not.
    fn download_finished(&self) {}
    /// An attempt failed; the next one follows.
    fn attempt_failed(&self, _source: &str, _location: &str, _reason: &str) {}
    /// Another process holds a lock this one waits for (said after a second of waiting).
    fn waiting(&self, _what: &str, _lock: &str) {}
    /// The artifact is verified and being extracted.
    fn extracting(&self, _file: &str) {}

    // A bundle runs several targets at once; these label its progress by target.

    /// A bundle started on `target`.
    fn target_started(&self, _target: Target) {}
    /// Bytes of `file` for `target` are arriving; `total` when the size is known.
    fn target_download(&self, _target: Target, _file: &str, _total: Option<u64>) {}
    /// Bytes of the local file `file` for `target` are being copied.
    fn target_copy(&self, target: Target, file: &str, total: Option<u64>) {
        self.target_download(target, file, total);
    }
    /// `bytes` more arrived for `target`.
    fn target_bytes(&self, _target: Target, _bytes: u64) {}
    /// `target` moved on to `step` (verifying, staging a format).
    fn target_step(&self, _target: Target, _step: &str) {}
    /// `target` is done: `failure` says why when it failed.
    fn target_finished(&self, _target: Target, _failure: Option<&str>) {}
}

/// Reports nothing.
pub struct NoReporter;

impl Reporter for NoReporter {}
