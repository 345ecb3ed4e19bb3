//! The cache directory and the receipts of installed runtimes.
//!
//! ```text
//! CACHE/
//!   runtimes/VERSION/TARGET/          a verified runtime root, moved into place whole
//!     .codex-runtime-receipt.json     what was installed, from where, with which digests
//!   tmp/                              downloads and extractions in progress
//! ```
//! A directory under `runtimes/` exists only once it is complete: it is assembled in `tmp/`
//! and renamed into place, receipt included.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::digest::Sha256;
use crate::manifest::ArtifactKind;
use crate::target::Target;
use crate::version::RuntimeVersion;

/// The receipt's file name inside a runtime root.
pub const RECEIPT: &str = ".codex-runtime-receipt.json";

/// The cache root.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error(
        "no cache directory: the platform has no user cache directory; pass --cache-dir or set CODEX_RUNTIME_CACHE_DIR"
    )]
    NoCacheDir,
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
    /// directory + `codex-runtime`.
    pub fn locate(dir: Option<PathBuf>) -> Result<Cache, CacheError> {
        let root = match dir
            .or_else(|| std::env::var_os("CODEX_RUNTIME_CACHE_DIR").filter(|v| !v.is_empty()).map(PathBuf::from))
        {
            Some(dir) => dir,
            None => directories::BaseDirs::new().ok_or(CacheError::NoCacheDir)?.cache_dir().join("codex-runtime"),
        };
        Ok(Cache { root })
    }

    pub fn at(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a runtime root lives once installed.
    pub fn runtime_dir(&self, version: &RuntimeVersion, target: Target) -> PathBuf {
        self.root.join("runtimes").join(version.to_string()).join(target.triple())
    }

    /// The scratch area, on the same filesystem so the final move is a rename.
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// A fresh scratch directory, removed when dropped.
    pub fn scratch(&self) -> Result<tempfile::TempDir, CacheError> {
        let tmp = self.tmp_dir();
        std::fs::create_dir_all(&tmp).map_err(CacheError::io("create", &tmp))?;
        tempfile::Builder::new()
            .prefix("install-")
            .tempdir_in(&tmp)
            .map_err(CacheError::io("create a directory in", &tmp))
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
        let bytes = std::fs::read(runtime_dir.join(RECEIPT)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    pub fn write(&self, runtime_dir: &Path) -> Result<(), CacheError> {
        let path = runtime_dir.join(RECEIPT);
        let json = serde_json::to_vec_pretty(self).expect("a receipt always serializes");
        std::fs::write(&path, json).map_err(CacheError::io("write", &path))
    }

    pub fn now() -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
    }
}
