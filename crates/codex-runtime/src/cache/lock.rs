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

use crate::reporter::Reporter;

/// Why a lock could not be had.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "gave up after {}s waiting for another process {what} (lock {}); raise CODEX_RUNTIME_LOCK_TIMEOUT to wait longer",
        waited.as_secs(), path.display()
    )]
    Timeout { what: String, path: PathBuf, waited: Duration },
    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io_error<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> LockError + 'a {
    move |source| LockError::Io { action, path: path.to_owned(), source }
}

/// How long to wait for another process before giving up, unless `CODEX_RUNTIME_LOCK_TIMEOUT`
/// says otherwise: ten minutes (a slow download of a 160 MB artifact).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// Take the lock at `path`, waiting for its holder at most `timeout`; after a second of
/// waiting, `reporter` is told what is being waited for.
pub fn acquire(path: &Path, what: &str, timeout: Duration, reporter: &dyn Reporter) -> Result<Lock, LockError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io_error("create", parent))?;
    }
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io_error("open the lock file", path))?;
    let start = Instant::now();
    let mut told = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Lock { _file: file }),
            Err(TryLockError::Error(source)) => {
                return Err(LockError::Io { action: "lock", path: path.to_owned(), source });
            }
            Err(TryLockError::WouldBlock) => {}
        }
        let waited = start.elapsed();
        if waited >= timeout {
            return Err(LockError::Timeout { what: what.to_owned(), path: path.to_owned(), waited });
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

/// Remove the file at `path` unless a live process holds its lock, taking the lock while
/// removing it: a process that opened the file just before then finds, with [`still_at`], that
/// what it locked is gone. Returns whether it was removed.
pub fn remove_unless_held(path: &Path) -> std::io::Result<bool> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    match file.try_lock() {
        Ok(()) => std::fs::remove_file(path).map(|()| true),
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(e)) => Err(e),
    }
}

/// Whether `path` still names `file`, which this process opened and then locked: between the
/// two, another process may have removed or renamed it, and a lock on a file no longer there
/// guards nothing. (Windows does not remove or rename a file another process has open.)
pub fn still_at(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        path.exists()
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
        assert!(matches!(err, LockError::Timeout { .. }), "{err}");
        assert!(err.to_string().contains("CODEX_RUNTIME_LOCK_TIMEOUT"), "{err}");
        drop(first);
        assert!(!is_held(&path));
        let _second = acquire(&path, "x", Duration::ZERO, &NoReporter).unwrap();
    }

    /// Regression: a part file removed by `cache clean` between another process's open and
    /// lock was then resumed into, though no path named it any more.
    #[test]
    fn a_file_removed_between_open_and_lock_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.part");
        std::fs::write(&path, b"half").unwrap();
        let opened = File::options().read(true).write(true).open(&path).unwrap();
        assert!(still_at(&opened, &path));

        let held = acquire(&path, "x", Duration::ZERO, &NoReporter).unwrap();
        assert!(!remove_unless_held(&path).unwrap(), "a held file stays");
        drop(held);
        assert!(remove_unless_held(&path).unwrap());
        assert!(!path.exists());
        opened.try_lock().unwrap();
        assert!(!still_at(&opened, &path), "locked, but no longer the file at the path");
        std::fs::write(&path, b"new").unwrap();
        assert!(!still_at(&opened, &path), "another file at the same path");
    }
}
