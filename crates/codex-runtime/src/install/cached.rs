//! A runtime the cache already holds: found from its receipt, and checked cheaply.

use crate::cache::{Cache, Receipt};
use crate::model::digest::Sha256;
use crate::model::manifest::Pinned;
use crate::model::target::Target;
use crate::model::version::RuntimeVersion;
use std::path::PathBuf;

/// A runtime in the cache, ready to run.
#[derive(Debug, Clone)]
pub struct Installed {
    pub version: RuntimeVersion,
    pub target: Target,
    /// The entrypoint, `runtime_dir/bin/codex`.
    pub path: PathBuf,
    pub runtime_dir: PathBuf,
    /// The directory a launcher puts first on `PATH` (`codex-path`).
    pub path_dir: PathBuf,
    /// The entrypoint's sha256.
    pub sha256: Sha256,
    /// The source it was installed from.
    pub source: String,
    /// Whether it was already in the cache.
    pub cached: bool,
    pub receipt: Receipt,
}

impl Installed {
    fn from_receipt(receipt: Receipt, runtime_dir: PathBuf, cached: bool) -> Installed {
        Installed {
            version: receipt.version.clone(),
            target: receipt.target,
            path: runtime_dir.join(&receipt.entrypoint.path),
            path_dir: runtime_dir.join("codex-path"),
            runtime_dir,
            sha256: receipt.entrypoint.sha256,
            source: receipt.source.clone(),
            cached,
            receipt,
        }
    }
}

/// The runtime, if the cache holds it intact: see [`cached`]. Reads a small file and stats
/// another; no network, no lock.
pub fn find_installed(pinned: &Pinned<'_>, cache: &Cache) -> Option<Installed> {
    match cached(pinned, cache) {
        Cached::Intact(installed) => Some(*installed),
        Cached::Missing | Cached::Damaged { .. } => None,
    }
}

/// What the cache holds for a pinned runtime.
#[derive(Debug)]
pub enum Cached {
    /// Nothing (or an install of other pins, which the next install replaces).
    Missing,
    /// Its receipt matches the pins, and the entrypoint has the size and modification time
    /// the receipt recorded.
    Intact(Box<Installed>),
    /// Installed, but its entrypoint was changed or deleted since: never handed out.
    Damaged { entrypoint: PathBuf, reason: String },
}

/// Check the cached runtime cheaply: the receipt against the pins, the entrypoint's size and
/// modification time against the receipt (`cache verify` re-hashes everything).
pub fn cached(pinned: &Pinned<'_>, cache: &Cache) -> Cached {
    let dir = cache.runtime_dir(&pinned.manifest.version, pinned.target);
    let Some(receipt) = Receipt::read(&dir) else { return Cached::Missing };
    let pin = &pinned.pins.entrypoint;
    if receipt.entrypoint.sha256 != pin.sha256 || receipt.entrypoint.path != pin.path {
        return Cached::Missing;
    }
    let entrypoint = dir.join(&pin.path);
    let damaged = |reason: String| Cached::Damaged { entrypoint: entrypoint.clone(), reason };
    let meta = match fs_err::metadata(&entrypoint) {
        Ok(meta) if meta.is_file() => meta,
        Ok(_) => return damaged("it is not a file".into()),
        Err(e) => return damaged(format!("it cannot be read: {e}")),
    };
    if meta.len() != pin.size {
        return damaged(format!("its size is {} bytes, the pin is {}", meta.len(), pin.size));
    }
    let modified = Receipt::modified_ns(&entrypoint);
    if let Some(recorded) = receipt.entrypoint_modified_ns
        && modified != Some(recorded)
    {
        // Only a hash tells a changed file from a touched or copied one (`cp -r` of a cache
        // gives new times). Same bytes: accept, and record the new time so the next `path`
        // is cheap again (best effort, by rename, so a reader never sees half a receipt).
        let same = std::fs::File::open(&entrypoint).and_then(Sha256::of_reader).ok() == Some((pin.sha256, pin.size));
        if !same {
            return damaged("its bytes changed after it was installed".into());
        }
        let refreshed = Receipt { entrypoint_modified_ns: modified, ..receipt.clone() };
        if let Err(e) = refreshed.replace(&dir) {
            tracing::debug!("cannot record the entrypoint's new modification time: {e}");
        }
    }
    Cached::Intact(Box::new(Installed::from_receipt(receipt, dir, true)))
}
