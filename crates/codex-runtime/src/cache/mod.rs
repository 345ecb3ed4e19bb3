//! The cache directory and the receipts of installed runtimes.
//!
//! ```text
//! CACHE/
//!   runtimes/VERSION/TARGET/          a verified runtime root, moved into place whole
//!     .codex-runtime-receipt.json     what was installed, from where, with which digests
//!   downloads/                        partial downloads kept for resumption
//!   artifacts/FILE                    upstream artifacts kept whole for `bundle`, verified on use
//!   locks/VERSION/TARGET.lock         held while a runtime is installed (see [`lock`])
//!   tmp/                              scratch directories of installs in progress
//!   CACHEDIR.TAG                      marks the directory as a cache (https://bford.info/cachedir/)
//! ```
//! A directory under `runtimes/` exists only once it is complete: it is assembled in `tmp/`
//! and renamed into place, receipt included.
//!
//! The tag is written when the cache is first written to, unless the directory already holds
//! something other than a cache's own entries: `cache clean` and `cache prune` refuse a
//! directory that is neither tagged nor holds only those, so a `--cache-dir` pointed at a home
//! directory is never emptied.

pub mod lock;

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::model::digest::Sha256;
use crate::model::env::{CACHE_DIR, Env, LOCK_TIMEOUT};
use crate::model::manifest::ArtifactKind;
use crate::model::target::Target;
use crate::model::version::RuntimeVersion;

/// The receipt's file name inside a runtime root.
pub const RECEIPT: &str = ".codex-runtime-receipt.json";

/// The file that marks the cache root as a cache, for backup tools and for `clean` and `prune`.
pub const CACHEDIR_TAG: &str = "CACHEDIR.TAG";

/// What every cache directory tag starts with (https://bford.info/cachedir/).
const CACHEDIR_SIGNATURE: &str = "Signature: 8a477f597d28d172789f06886806bc55";

/// The comment that tells codex-runtime's tag from another program's.
const CACHEDIR_COMMENT: &str = "# This file is a cache directory tag created by codex-runtime.";

/// The entries of a cache root besides its tag: all that an untagged directory may hold for
/// `clean` and `prune` to take it for a cache made before the tag was written.
pub const CACHE_ENTRIES: [&str; 5] = ["runtimes", "downloads", "artifacts", "tmp", "locks"];

/// The cache root.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
    /// How long to wait for another process's lock ([`LOCK_TIMEOUT`]).
    lock_timeout: std::time::Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error(
        "no cache directory: the platform has no user cache directory; pass --cache-dir or set CODEX_RUNTIME_CACHE_DIR"
    )]
    NoCacheDir,
    #[error(transparent)]
    Lock(#[from] lock::LockError),
    #[error(
        "{} is not a codex-runtime cache: it has no {CACHEDIR_TAG} and holds {}, which a cache does not; nothing was removed. \
         Pass the cache's own directory with --cache-dir or CODEX_RUNTIME_CACHE_DIR (by default the user cache directory + codex-runtime)",
        path.display(), foreign.join(", ")
    )]
    NotACache { path: PathBuf, foreign: Vec<String> },
    /// A file operation failed; the message names the operation and the path (fs-err).
    #[error(transparent)]
    Fs(#[from] std::io::Error),
    #[error("cannot {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl CacheError {
    pub(crate) fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> CacheError + 'a {
        move |source| CacheError::Io { action, path: path.to_owned(), source }
    }
}

impl Cache {
    /// The cache at `dir`, else `CODEX_RUNTIME_CACHE_DIR`, else the platform's user cache
    /// directory + `codex-runtime`; this process's environment.
    pub fn locate(dir: Option<PathBuf>) -> Result<Cache, CacheError> {
        Cache::locate_in(dir, Env::process())
    }

    /// [`Cache::locate`] with the environment `env`: its [`CACHE_DIR`] and [`LOCK_TIMEOUT`].
    pub fn locate_in(dir: Option<PathBuf>, env: &Env) -> Result<Cache, CacheError> {
        let root = match dir.or_else(|| env.os(CACHE_DIR).map(PathBuf::from)) {
            Some(dir) => dir,
            None => directories::BaseDirs::new().ok_or(CacheError::NoCacheDir)?.cache_dir().join("codex-runtime"),
        };
        // Paths printed for later use (`path`, `env`'s PATH) must not depend on the current
        // directory.
        let lock_timeout = env.seconds(LOCK_TIMEOUT).unwrap_or(lock::DEFAULT_TIMEOUT);
        Ok(Cache { root: std::path::absolute(&root).unwrap_or(root), lock_timeout })
    }

    /// The cache at `root`, with the default lock timeout.
    pub fn at(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into(), lock_timeout: lock::DEFAULT_TIMEOUT }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a runtime root lives once installed.
    pub fn runtime_dir(&self, version: &RuntimeVersion, target: Target) -> PathBuf {
        self.root.join("runtimes").join(version.to_string()).join(target.triple())
    }

    /// The scratch area, on the same filesystem so the final move is a rename.
    /// Where upstream artifacts are kept whole for bundles: `artifacts/FILE`, flat under their
    /// published names, so the directory is also a local mirror.
    pub fn artifacts_dir(&self) -> PathBuf {
        self.root.join("artifacts")
    }

    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Whether the root carries codex-runtime's [`CACHEDIR_TAG`] (another program's tag does
    /// not count: a build directory tagged by cargo is not this cache).
    pub fn is_tagged(&self) -> bool {
        fs_err::read_to_string(self.root.join(CACHEDIR_TAG)).is_ok_and(|tag| {
            let mut lines = tag.lines();
            lines.next() == Some(CACHEDIR_SIGNATURE) && lines.next() == Some(CACHEDIR_COMMENT)
        })
    }

    /// The names of the root's entries that are not a cache's own ([`CACHE_ENTRIES`] and, when
    /// it is codex-runtime's, the tag), sorted; none when the root does not exist.
    pub fn foreign_entries(&self) -> Result<Vec<String>, CacheError> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(CacheError::Io { action: "read", path: self.root.clone(), source: e }),
        };
        let tagged = self.is_tagged();
        let mut foreign = Vec::new();
        for entry in entries {
            let name = entry.map_err(CacheError::io("read", &self.root))?.file_name().to_string_lossy().into_owned();
            if !(CACHE_ENTRIES.contains(&name.as_str()) || tagged && name == CACHEDIR_TAG) {
                foreign.push(name);
            }
        }
        foreign.sort();
        Ok(foreign)
    }

    /// Before `clean` or `prune` removes anything: refuse a root that is not tagged and holds
    /// something a cache does not ([`CacheError::NotACache`]). An untagged root that holds
    /// only a cache's entries (made by a build that wrote no tag) gets the tag.
    pub fn ensure_is_cache(&self) -> Result<(), CacheError> {
        if self.is_tagged() {
            return Ok(());
        }
        let foreign = self.foreign_entries()?;
        if !foreign.is_empty() {
            return Err(CacheError::NotACache { path: self.root.clone(), foreign });
        }
        if self.root.is_dir() { self.write_tag() } else { Ok(()) }
    }

    /// Create the root and tag it, on the first write to the cache. A root that holds
    /// something else than a cache's entries is written to but not tagged: then `clean` and
    /// `prune` keep refusing it.
    fn tag(&self) -> Result<(), CacheError> {
        if self.is_tagged() {
            return Ok(());
        }
        let foreign = self.foreign_entries()?;
        if !foreign.is_empty() {
            tracing::warn!(
                "{} holds {} besides the cache, so it is not tagged as one ({CACHEDIR_TAG}) and `cache clean` and `cache prune` refuse it",
                self.root.display(),
                foreign.join(", ")
            );
            return Ok(());
        }
        fs_err::create_dir_all(&self.root).map_err(CacheError::from)?;
        self.write_tag()
    }

    /// Write the tag unless it is there (another process may be writing it too).
    fn write_tag(&self) -> Result<(), CacheError> {
        let path = self.root.join(CACHEDIR_TAG);
        let tag = format!(
            "{CACHEDIR_SIGNATURE}\n{CACHEDIR_COMMENT}\n# For information about cache directory tags, see https://bford.info/cachedir/\n"
        );
        // A tag another process wrote first is as good as this one.
        match std::fs::File::options().write(true).create_new(true).open(&path) {
            Ok(mut file) => {
                std::io::Write::write_all(&mut file, tag.as_bytes()).map_err(CacheError::io("write", &path))
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(CacheError::Io { action: "write", path, source: e }),
        }
    }

    /// A fresh scratch directory, locked while this process lives and removed when dropped.
    pub fn scratch(&self) -> Result<Scratch, CacheError> {
        self.tag()?;
        let tmp = self.tmp_dir();
        fs_err::create_dir_all(&tmp).map_err(CacheError::from)?;
        let dir = tempfile::Builder::new()
            .prefix(SCRATCH_PREFIX)
            .tempdir_in(&tmp)
            .map_err(CacheError::io("create a directory in", &tmp))?;
        // The lock is taken under another name and renamed into place: a `.lock` that exists is
        // always held until its process ends, so a concurrent cleanup never mistakes a scratch
        // directory being set up for one left by a dead process.
        let taking = dir.path().join(SCRATCH_LOCK_NEW);
        let lock = lock::acquire(
            &taking,
            "using a scratch directory",
            std::time::Duration::ZERO,
            &crate::reporter::NoReporter,
        )?;
        let path = dir.path().join(SCRATCH_LOCK);
        fs_err::rename(&taking, &path).map_err(CacheError::from)?;
        Ok(Scratch { dir, _lock: lock })
    }

    /// Whether an entry of `tmp/` is left by a killed process: a scratch directory whose lock
    /// (or the lock it is taking, see [`Cache::scratch`]) no live process holds, or, with
    /// neither, anything older than `unlocked_age` (a scratch directory created this instant
    /// has no lock file yet).
    pub fn is_stale_scratch(path: &Path, unlocked_age: std::time::Duration) -> bool {
        if path.is_dir() {
            let locks = [path.join(SCRATCH_LOCK), path.join(SCRATCH_LOCK_NEW)];
            if locks.iter().any(|lock| lock::is_held(lock)) {
                return false;
            }
            if locks[0].exists() {
                return true;
            }
        }
        fs_err::symlink_metadata(path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age >= unlocked_age))
    }

    /// Whether an entry of `tmp/` is a scratch directory ([`Cache::scratch`]): a directory,
    /// not a link to one, named `install-*`. Nothing else in `tmp/` is ever removed.
    pub fn is_scratch(path: &Path) -> bool {
        path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(SCRATCH_PREFIX))
            && fs_err::symlink_metadata(path).is_ok_and(|m| m.is_dir())
    }

    /// Remove the scratch directories killed processes left in `tmp/` (see
    /// [`Cache::is_stale_scratch`]; a directory without a lock file goes after a minute).
    /// Returns how many were removed.
    pub fn clean_stale_scratch(&self) -> usize {
        let Ok(entries) = std::fs::read_dir(self.tmp_dir()) else { return 0 };
        let mut removed = 0;
        for entry in entries.flatten() {
            let path = entry.path();
            if Cache::is_scratch(&path) && Cache::is_stale_scratch(&path, SCRATCH_GRACE) {
                match fs_err::remove_dir_all(&path) {
                    Ok(()) => removed += 1,
                    Err(e) => tracing::warn!("cannot remove {} left by an interrupted install: {e}", path.display()),
                }
            }
        }
        removed
    }

    /// Lock a runtime for installing it; see [`crate::cache::lock`].
    pub fn lock_runtime(
        &self,
        version: &RuntimeVersion,
        target: Target,
        reporter: &dyn crate::reporter::Reporter,
    ) -> Result<lock::Lock, CacheError> {
        self.tag()?;
        let path = lock::runtime_lock_path(&self.root, &version.to_string(), target.triple());
        let what = format!("to finish installing codex {version} for {target}");
        lock::acquire(&path, &what, self.lock_timeout, reporter).map_err(CacheError::from)
    }

    /// One bundle at a time into `out` (another waits, as installs do): a lock in `locks/`
    /// named by the digest of `out`'s absolute path, so nothing is left beside `out`.
    pub fn lock_bundle_out(
        &self,
        out: &Path,
        reporter: &dyn crate::reporter::Reporter,
    ) -> Result<lock::Lock, CacheError> {
        self.tag()?;
        let absolute = std::path::absolute(out).unwrap_or_else(|_| out.to_owned());
        let digest =
            crate::model::digest::Sha256::of_reader(absolute.as_os_str().as_encoded_bytes()).expect("reading memory").0;
        let path = self.root.join("locks").join(format!("bundle-{digest}.lock"));
        let what = format!("to finish writing the bundle {}", out.display());
        lock::acquire(&path, &what, self.lock_timeout, reporter).map_err(CacheError::from)
    }

    /// The receipt of an installed runtime, if its directory holds a readable one.
    pub fn receipt(&self, version: &RuntimeVersion, target: Target) -> Option<Receipt> {
        Receipt::read(&self.runtime_dir(version, target))
    }

    /// Every installed runtime, sorted by version then target.
    pub fn installed(&self) -> Vec<Receipt> {
        let mut out = Vec::new();
        let Ok(versions) = std::fs::read_dir(self.root.join("runtimes")) else { return out };
        for version in versions.flatten() {
            let Ok(targets) = std::fs::read_dir(version.path()) else { continue };
            out.extend(targets.flatten().filter_map(|t| Receipt::read(&t.path())));
        }
        out.sort_by(|a, b| (&a.version, a.target).cmp(&(&b.version, b.target)));
        out
    }
}

/// How the name of every scratch directory in `tmp/` starts.
const SCRATCH_PREFIX: &str = "install-";
/// The lock file inside every scratch directory.
pub(crate) const SCRATCH_LOCK: &str = ".lock";
/// The scratch directory's lock while it is being taken, before it is renamed to `.lock`.
const SCRATCH_LOCK_NEW: &str = ".lock-new";
/// How old a scratch directory without a lock file must be to count as left behind.
pub(crate) const SCRATCH_GRACE: std::time::Duration = std::time::Duration::from_secs(60);

/// A scratch directory in `CACHE/tmp/`, locked while its process lives, removed when dropped.
#[derive(Debug)]
pub struct Scratch {
    dir: tempfile::TempDir,
    _lock: lock::Lock,
}

impl Scratch {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Remove it now, reporting a failure (dropping it removes it silently).
    pub fn close(self) -> std::io::Result<()> {
        self.dir.close()
    }
}

/// What was installed, from where, with which digests, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    pub schema_version: u32,
    pub version: RuntimeVersion,
    pub target: Target,
    /// The source name (`mirror`, `github`, `npm`, `import`).
    pub source: String,
    /// Where the artifact came from, credentials redacted.
    pub from: String,
    pub artifact: ReceiptArtifact,
    pub entrypoint: ReceiptFile,
    /// Every regular file of the runtime root, relative to it.
    pub files: Vec<ReceiptFile>,
    /// Seconds since the Unix epoch.
    pub installed_at: u64,
    /// The entrypoint's modification time (nanoseconds since the Unix epoch) as installed: with
    /// its size, what `path` compares to notice a changed entrypoint without hashing it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entrypoint_modified_ns: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceiptArtifact {
    pub kind: ArtifactKind,
    pub file: String,
    pub sha256: Sha256,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceiptFile {
    pub path: String,
    pub sha256: Sha256,
    pub size: u64,
}

impl Receipt {
    pub fn read(runtime_dir: &Path) -> Option<Receipt> {
        let bytes = fs_err::read(runtime_dir.join(RECEIPT)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    pub fn write(&self, runtime_dir: &Path) -> Result<(), CacheError> {
        let path = runtime_dir.join(RECEIPT);
        let json = serde_json::to_vec_pretty(self).expect("a receipt always serializes");
        // A new file, never through a link or over a file already there.
        let mut file = std::fs::File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(CacheError::io("write", &path))?;
        std::io::Write::write_all(&mut file, &json).map_err(CacheError::io("write", &path))
    }

    /// Replace the receipt of an installed runtime: written aside, then renamed over it.
    pub fn replace(&self, runtime_dir: &Path) -> Result<(), CacheError> {
        let path = runtime_dir.join(RECEIPT);
        let json = serde_json::to_vec_pretty(self).expect("a receipt always serializes");
        let mut file =
            tempfile::NamedTempFile::new_in(runtime_dir).map_err(CacheError::io("write a file in", runtime_dir))?;
        std::io::Write::write_all(&mut file, &json).map_err(CacheError::io("write", &path))?;
        file.persist(&path).map_err(|e| CacheError::Io { action: "write", path: path.clone(), source: e.error })?;
        Ok(())
    }

    /// A file's modification time in nanoseconds since the Unix epoch.
    pub fn modified_ns(path: &Path) -> Option<u64> {
        let modified = fs_err::metadata(path).ok()?.modified().ok()?;
        u64::try_from(modified.duration_since(UNIX_EPOCH).ok()?.as_nanos()).ok()
    }

    pub fn now() -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_write_tags_the_cache_unless_the_directory_holds_other_things() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = Cache::at(dir.path().join("fresh"));
        drop(fresh.scratch().unwrap());
        assert!(fresh.is_tagged());
        let tag = std::fs::read_to_string(fresh.root().join(CACHEDIR_TAG)).unwrap();
        assert!(tag.starts_with("Signature: 8a477f597d28d172789f06886806bc55\n"), "{tag}");
        assert_eq!(fresh.foreign_entries().unwrap(), Vec::<String>::new());

        let home = Cache::at(dir.path().join("home"));
        std::fs::create_dir_all(home.root().join("docs")).unwrap();
        drop(home.scratch().unwrap());
        assert!(!home.is_tagged(), "a directory that is more than a cache is not tagged as one");
        assert!(matches!(
            home.ensure_is_cache(),
            Err(CacheError::NotACache { foreign, .. }) if foreign == ["docs"]
        ));
    }

    #[test]
    fn an_untagged_cache_of_an_earlier_build_is_tagged_and_another_programs_tag_does_not_count() {
        let dir = tempfile::tempdir().unwrap();
        let old = Cache::at(dir.path().join("old"));
        for entry in CACHE_ENTRIES {
            std::fs::create_dir_all(old.root().join(entry)).unwrap();
        }
        old.ensure_is_cache().unwrap();
        assert!(old.is_tagged());

        // What cargo writes into a target directory.
        let target = Cache::at(dir.path().join("target"));
        std::fs::create_dir_all(target.root().join("tmp")).unwrap();
        std::fs::write(
            target.root().join(CACHEDIR_TAG),
            "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by cargo.\n",
        )
        .unwrap();
        assert!(!target.is_tagged());
        assert!(matches!(
            target.ensure_is_cache(),
            Err(CacheError::NotACache { foreign, .. }) if foreign == [CACHEDIR_TAG]
        ));

        let missing = Cache::at(dir.path().join("missing"));
        missing.ensure_is_cache().unwrap();
        assert!(!missing.root().exists(), "checking creates nothing");
    }

    /// Regression: every install removed whatever was in `tmp/` and older than a minute, not
    /// only the scratch directories it makes.
    #[test]
    fn only_scratch_directories_are_cleaned_from_tmp() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path());
        let tmp = cache.tmp_dir();
        let killed = tmp.join("install-killed");
        std::fs::create_dir_all(&killed).unwrap();
        std::fs::write(killed.join(SCRATCH_LOCK), b"").unwrap();
        let theirs = [tmp.join("notes"), tmp.join("install-notes.txt")];
        let other = tmp.join("build");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(other.join(SCRATCH_LOCK), b"").unwrap();
        let old = SystemTime::now() - 2 * SCRATCH_GRACE;
        for file in &theirs {
            std::fs::write(file, b"keep me").unwrap();
            std::fs::File::options().write(true).open(file).unwrap().set_modified(old).unwrap();
        }
        assert_eq!(cache.clean_stale_scratch(), 1);
        assert!(!killed.exists() && other.is_dir() && theirs.iter().all(|f| f.is_file()));
    }
}
