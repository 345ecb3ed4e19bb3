//! Cross-process locks on the cache.
//!
//! An install holds the lock of its runtime (`CACHE/locks/VERSION/TARGET.lock`) from the
//! moment it finds the runtime missing until it is in place, so concurrent processes do the
//! work once: the others wait, then find it done. Reading an installed runtime never locks:
//! a runtime directory appears whole, by rename. Each scratch directory holds a lock of its
//! own while its process lives, which tells a later run what a killed process left behind.
//! The locks are advisory file locks, released by the kernel when a process dies.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cache::CacheError;
use crate::reporter::Reporter;

/// How long to wait for another process before giving up: `CODEX_RUNTIME_LOCK_TIMEOUT`
/// seconds, default ten minutes (a slow download of a 160 MB artifact).
pub fn lock_timeout() -> Duration {
    std::env::var("CODEX_RUNTIME_LOCK_TIMEOUT")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .unwrap_or(Duration::from_secs(600))
}

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// Take the lock at `path`, waiting for its holder at most `timeout`; after a second of
/// waiting, `reporter` is told what is being waited for.
pub fn acquire(path: &Path, what: &str, timeout: Duration, reporter: &dyn Reporter) -> Result<Lock, CacheError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(CacheError::io("create", parent))?;
    }
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(CacheError::io("open the lock file", path))?;
    let start = Instant::now();
    let mut told = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Lock { _file: file }),
            Err(TryLockError::Error(source)) => {
                return Err(CacheError::Io { action: "lock", path: path.to_owned(), source });
            }
            Err(TryLockError::WouldBlock) => {}
        }
        let waited = start.elapsed();
        if waited >= timeout {
            return Err(CacheError::LockTimeout { what: what.to_owned(), path: path.to_owned(), waited });
        }
        if !told && waited >= Duration::from_secs(1) {
            reporter.waiting(what, &path.display().to_string());
            told = true;
        }
        std::thread::sleep(Duration::from_millis(25).min(timeout.saturating_sub(waited)));
    }
}

/// Whether a lock file is held by a live process. A missing file is not held.
pub fn is_held(path: &Path) -> bool {
    match File::open(path) {
        Ok(file) => matches!(file.try_lock(), Err(TryLockError::WouldBlock)),
        Err(_) => false,
    }
}

/// The lock file of a runtime.
pub fn runtime_lock_path(cache_root: &Path, version: &str, target: &str) -> PathBuf {
    cache_root.join("locks").join(version).join(format!("{target}.lock"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reporter::NoReporter;

    #[test]
    fn a_second_holder_waits_then_times_out_and_gets_it_once_released() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locks/x.lock");
        let first = acquire(&path, "x", Duration::ZERO, &NoReporter).unwrap();
        assert!(is_held(&path));
        let err = acquire(&path, "x", Duration::from_millis(60), &NoReporter).unwrap_err();
        assert!(matches!(err, CacheError::LockTimeout { .. }), "{err}");
        assert!(err.to_string().contains("CODEX_RUNTIME_LOCK_TIMEOUT"), "{err}");
        drop(first);
        assert!(!is_held(&path));
        let _second = acquire(&path, "x", Duration::ZERO, &NoReporter).unwrap();
    }
}
