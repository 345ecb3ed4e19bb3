//! Cache maintenance: verify installed runtimes against their receipts and repair the damaged
//! ones, prune what no channel pins, clean the whole cache.
//!
//! A runtime directory is never deleted in place: it is renamed into the cache's `tmp/` first,
//! so that no half-removed runtime is ever visible at its final path, then removed from there.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::cache::{CACHE_ENTRIES, CACHEDIR_TAG, Cache, CacheError, RECEIPT, Receipt};
use crate::install::Error;
use crate::install::{self, InstallOptions};
use crate::model::digest::Sha256;
use crate::model::history::Manifests;
use crate::model::target::Target;
use crate::model::version::RuntimeVersion;
use crate::reporter::Reporter;

/// What is wrong with one file of an installed runtime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Damage {
    /// The receipt lists it; it is gone (or is no longer a regular file).
    Missing,
    Size {
        expected: u64,
        actual: u64,
    },
    Digest {
        expected: Sha256,
        actual: Sha256,
    },
    /// A regular file the receipt does not list.
    Extra,
    /// It cannot be read.
    Unreadable {
        error: String,
    },
    /// The directory has no readable receipt, so nothing in it can be trusted.
    NoReceipt,
    /// The receipt's entrypoint is not what the channel manifest pins.
    NotThePin {
        expected: Sha256,
        actual: Sha256,
    },
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Damage::Missing => f.write_str("missing"),
            Damage::Size { expected, actual } => write!(f, "size changed: expected {expected} bytes, found {actual}"),
            Damage::Digest { expected, actual } => write!(f, "sha256 changed: expected {expected}, found {actual}"),
            Damage::Extra => f.write_str("not in the receipt"),
            Damage::Unreadable { error } => write!(f, "unreadable: {error}"),
            Damage::NoReceipt => write!(f, "no readable {RECEIPT}"),
            Damage::NotThePin { expected, actual } => {
                write!(f, "the receipt's entrypoint sha256 {actual} is not the pinned {expected}")
            }
        }
    }
}

/// One damaged file, relative to the runtime root (`.` for the root itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub path: String,
    #[serde(flatten)]
    pub damage: Damage,
}

/// The outcome of repairing one damaged runtime.
#[derive(Debug, Serialize)]
pub struct Repair {
    pub ok: bool,
    /// What was done to the runtime directory.
    pub action: RepairAction,
    /// Where the new copy came from, when it was reinstalled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The files removed, relative to the runtime root, when only files the receipt does not
    /// list were wrong.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed_files: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What kind of failure it was, for the exit code.
    #[serde(skip)]
    pub error_kind: Option<crate::model::error::ErrorKind>,
}

/// What a repair did to the runtime directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RepairAction {
    /// Replaced by a verified copy from a source.
    Reinstalled,
    /// Only files the receipt does not list were wrong; they were removed, nothing else was
    /// touched and no source was asked.
    RemovedExtraFiles,
    /// Not repaired: the runtime is as it was, damage included.
    Kept,
}

impl std::fmt::Display for Repair {
    /// The line `cache verify --repair` prints under a damaged runtime.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.ok {
            return write!(f, "not repaired: {}", self.error.as_deref().unwrap_or("unknown failure"));
        }
        match self.action {
            RepairAction::Reinstalled => {
                write!(f, "repaired: reinstalled from {}", self.source.as_deref().unwrap_or("a source"))
            }
            RepairAction::RemovedExtraFiles => {
                write!(f, "repaired: removed what the receipt does not list: {}", self.removed_files.join(", "))
            }
            RepairAction::Kept => f.write_str("not repaired"),
        }
    }
}

impl Repair {
    /// Not repaired, and the runtime is as it was.
    fn kept(error: String, kind: crate::model::error::ErrorKind) -> Repair {
        Repair {
            ok: false,
            action: RepairAction::Kept,
            source: None,
            removed_files: Vec::new(),
            error: Some(error),
            error_kind: Some(kind),
        }
    }
}

/// One installed runtime, checked.
#[derive(Debug, Serialize)]
pub struct RuntimeCheck {
    /// As the directory names it (`runtimes/VERSION/TARGET`).
    pub version: String,
    pub target: String,
    pub runtime_dir: PathBuf,
    /// Files hashed.
    pub files: usize,
    pub bytes: u64,
    pub problems: Vec<Problem>,
    /// Set when a repair was asked for and the runtime was damaged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repair: Option<Repair>,
}

impl RuntimeCheck {
    pub fn damaged(&self) -> bool {
        !self.problems.is_empty()
    }
}

/// Re-hash every file of every runtime in the cache against its receipt. Each directory under
/// `runtimes/VERSION/TARGET` is checked, with or without a receipt; an entrypoint whose receipt
/// disagrees with a manifest that pins the runtime counts as damage too.
pub fn verify(cache: &Cache, manifests: &Manifests) -> Vec<RuntimeCheck> {
    runtime_dirs(cache)
        .into_iter()
        .map(|(version, target, dir)| {
            let pin = pinned_entrypoint(manifests, &version, &target);
            check_runtime(version, target, dir, pin)
        })
        .collect()
}

/// A kept upstream artifact (`CACHE/artifacts/FILE`, see [`crate::install::keep`]) checked
/// against the pins of its file name.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactCheck {
    pub file: String,
    pub path: PathBuf,
    pub bytes: u64,
    /// Why it fails its pins; `None` when it passes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Removed (with `--repair`): a bundle fetches it again when it needs it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
}

/// Every kept artifact a manifest pins, re-hashed against those pins; with `remove_damaged`,
/// one that fails them is removed (and its origin note), to be fetched again when needed.
pub fn verify_artifacts(cache: &Cache, manifests: &Manifests, remove_damaged: bool) -> Vec<ArtifactCheck> {
    let pins: Vec<crate::model::manifest::ArtifactPin> =
        manifests.iter().flat_map(|m| m.targets.values()).flat_map(|pins| pins.artifact_pins()).collect();
    let mut checks = Vec::new();
    for path in read_dir_sorted(&cache.artifacts_dir()) {
        let file = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let Some(pin) = pins.iter().find(|p| p.file == file) else { continue };
        let meta = fs::symlink_metadata(&path);
        let problem = match &meta {
            Ok(meta) if !meta.file_type().is_file() => Some("not a regular file".to_owned()),
            Ok(_) => crate::install::keep::check_kept(&path, pin).err(),
            Err(e) => Some(format!("cannot read it: {e}")),
        };
        let bytes = meta.map(|m| m.len()).unwrap_or(0);
        let removed = remove_damaged && problem.is_some() && remove_any(&path).is_ok();
        if removed {
            let _ = fs::remove_file(cache.artifacts_dir().join(format!("{file}.origin.json")));
        }
        checks.push(ArtifactCheck { file, path, bytes, problem, removed });
    }
    checks
}

/// [`verify`], then repair every damaged runtime. One whose only damage is files the receipt
/// does not list loses those files, with no source asked; any other is reinstalled from the
/// sources of `options` ([`install::reinstall`]) if a manifest pins it, replaced only by a
/// verified copy. A runtime that cannot be repaired is left as it was: its report says so.
pub fn verify_and_repair(
    cache: &Cache,
    manifests: &Manifests,
    options: &InstallOptions,
    reporter: &dyn Reporter,
) -> Vec<RuntimeCheck> {
    let mut checks = verify(cache, manifests);
    for check in checks.iter_mut().filter(|c| c.damaged()) {
        check.repair = Some(repair(cache, manifests, options, reporter, check));
    }
    checks
}

/// The runtime is left as it was whenever this fails.
fn repair(
    cache: &Cache,
    manifests: &Manifests,
    options: &InstallOptions,
    reporter: &dyn Reporter,
    check: &RuntimeCheck,
) -> Repair {
    let kept = |error: &str, kind| Repair::kept(format!("{error}; the runtime was left as it was"), kind);
    let Some((version, target)) = runtime_names(&check.version, &check.target) else {
        return kept(
            "its directory does not name a runtime version and target, so it cannot be reinstalled; remove it by hand",
            crate::model::error::ErrorKind::Verification,
        );
    };
    if only_extra_files(check) {
        let pin = pinned_entrypoint(manifests, &check.version, &check.target);
        // `None`: other damage appeared meanwhile, a reinstall it is.
        if let Some(repair) = remove_extra_files(cache, &version, target, check, pin, reporter) {
            return repair;
        }
    }
    let Some(pinned) = manifests.version(&version).ok().and_then(|m| m.pinned(target).ok()) else {
        return kept(
            "no channel manifest pins this runtime, so it cannot be reinstalled; `codex-runtime cache prune` removes it",
            crate::model::error::ErrorKind::Verification,
        );
    };
    // The reinstall replaces the runtime only with a verified one, and puts it back if the
    // replacing fails.
    match install::reinstall(&pinned, options, cache, reporter) {
        Ok(installed) => Repair {
            ok: true,
            action: RepairAction::Reinstalled,
            source: Some(installed.source),
            removed_files: Vec::new(),
            error: None,
            error_kind: None,
        },
        Err(e) => {
            let error = match &e {
                // Said of a runtime that is there: "not installed" would read as if it had gone.
                Error::NotInstalled { reason, .. } => format!("reinstalling it needs a source, and {reason}"),
                e => crate::model::error::error_chain(e),
            };
            kept(&error, e.kind())
        }
    }
}

fn only_extra_files(check: &RuntimeCheck) -> bool {
    check.damaged() && check.problems.iter().all(|p| p.damage == Damage::Extra)
}

/// Under the runtime's lock, remove the files its receipt does not list, if they are still its
/// only damage (else `None`, and nothing is removed).
fn remove_extra_files(
    cache: &Cache,
    version: &RuntimeVersion,
    target: Target,
    check: &RuntimeCheck,
    pin: Option<Sha256>,
    reporter: &dyn Reporter,
) -> Option<Repair> {
    let _lock = match cache.lock_runtime(version, target, reporter) {
        Ok(lock) => lock,
        Err(e) => {
            let error = format!("{}; the runtime was left as it was", crate::model::error::error_chain(&e));
            return Some(Repair::kept(error, crate::model::error::ErrorKind::Other));
        }
    };
    let now = check_runtime(check.version.clone(), check.target.clone(), check.runtime_dir.clone(), pin);
    if !only_extra_files(&now) {
        return None;
    }
    let mut repair = Repair {
        ok: true,
        action: RepairAction::RemovedExtraFiles,
        source: None,
        removed_files: Vec::new(),
        error: None,
        error_kind: None,
    };
    for problem in &now.problems {
        let path = check.runtime_dir.join(&problem.path);
        if let Err(e) = fs::remove_file(&path) {
            let removed = match repair.removed_files.as_slice() {
                [] => "nothing was removed".to_owned(),
                files => format!("only {} were removed", files.join(", ")),
            };
            let error = format!("{}; {removed}", crate::model::error::error_chain(&CacheError::io("remove", &path)(e)));
            return Some(Repair {
                ok: false,
                error: Some(error),
                error_kind: Some(crate::model::error::ErrorKind::Other),
                ..repair
            });
        }
        repair.removed_files.push(problem.path.clone());
    }
    Some(repair)
}

/// The version and target a `runtimes/VERSION/TARGET` directory names, if its names are
/// exactly how the cache spells them.
fn runtime_names(version: &str, target: &str) -> Option<(RuntimeVersion, Target)> {
    Some((version_name(version)?, target.parse().ok()?))
}

/// The version a `runtimes/VERSION` directory names, if spelled as the cache spells it.
fn version_name(name: &str) -> Option<RuntimeVersion> {
    name.parse().ok().filter(|v: &RuntimeVersion| v.to_string() == name)
}

/// Every `runtimes/VERSION/TARGET` directory, sorted.
fn runtime_dirs(cache: &Cache) -> Vec<(String, String, PathBuf)> {
    let mut out = Vec::new();
    for version in read_dir_sorted(&cache.root().join("runtimes")) {
        if !version.is_dir() {
            continue;
        }
        for target in read_dir_sorted(&version) {
            let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            out.push((name(&version), name(&target), target));
        }
    }
    out
}

fn read_dir_sorted(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> =
        fs::read_dir(dir).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    entries.sort();
    entries
}

fn pinned_entrypoint(manifests: &Manifests, version: &str, target: &str) -> Option<Sha256> {
    let version: RuntimeVersion = version.parse().ok()?;
    let target: Target = target.parse().ok()?;
    let manifest = manifests.iter().find(|m| m.version == version)?;
    manifest.target(target).map(|pins| pins.entrypoint.sha256)
}

fn check_runtime(version: String, target: String, dir: PathBuf, pin: Option<Sha256>) -> RuntimeCheck {
    let mut check =
        RuntimeCheck { version, target, runtime_dir: dir, files: 0, bytes: 0, problems: Vec::new(), repair: None };
    let problem = |path: &str, damage| Problem { path: path.to_owned(), damage };
    let Some(receipt) = Receipt::read(&check.runtime_dir) else {
        check.problems.push(problem(".", Damage::NoReceipt));
        return check;
    };
    if let Some(expected) = pin
        && expected != receipt.entrypoint.sha256
    {
        check
            .problems
            .push(problem(&receipt.entrypoint.path, Damage::NotThePin { expected, actual: receipt.entrypoint.sha256 }));
    }
    let mut expected: BTreeMap<&str, (u64, Sha256)> =
        receipt.files.iter().map(|f| (f.path.as_str(), (f.size, f.sha256))).collect();
    expected.entry(receipt.entrypoint.path.as_str()).or_insert((receipt.entrypoint.size, receipt.entrypoint.sha256));
    for (&path, &(size, sha256)) in &expected {
        let file = check.runtime_dir.join(path);
        let meta = match fs::symlink_metadata(&file) {
            Ok(meta) if meta.is_file() => meta,
            _ => {
                check.problems.push(problem(path, Damage::Missing));
                continue;
            }
        };
        if meta.len() != size {
            check.problems.push(problem(path, Damage::Size { expected: size, actual: meta.len() }));
            continue;
        }
        match fs::File::open(&file).and_then(Sha256::of_reader) {
            Ok((actual, read)) => {
                check.files += 1;
                check.bytes += read;
                if actual != sha256 {
                    check.problems.push(problem(path, Damage::Digest { expected: sha256, actual }));
                }
            }
            Err(e) => check.problems.push(problem(path, Damage::Unreadable { error: e.to_string() })),
        }
    }
    let listed: HashSet<&str> = expected.keys().copied().collect();
    let mut extra = Vec::new();
    regular_files(&check.runtime_dir, "", &mut extra);
    for path in extra {
        if path != RECEIPT && !listed.contains(path.as_str()) {
            check.problems.push(problem(&path, Damage::Extra));
        }
    }
    check
}

/// Every regular file under `dir`, relative, `/`-separated. Symlinks are not followed.
fn regular_files(dir: &Path, prefix: &str, out: &mut Vec<String>) {
    for path in read_dir_sorted(dir) {
        let Ok(meta) = fs::symlink_metadata(&path) else { continue };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let rel = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        if meta.is_dir() {
            regular_files(&path, &rel, out);
        } else if meta.is_file() {
            out.push(rel);
        }
    }
}

/// What a prune or clean removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Removed {
    pub path: PathBuf,
    /// `runtime`, `download` (a partial download), `tmp` (a leftover of an interrupted
    /// install), or `other` (an entry of a tagged cache root that is none of these).
    pub kind: &'static str,
    pub bytes: u64,
}

/// An entry of the cache that prune and clean leave because it is not one they made: in
/// `runtimes/` anything but `VERSION/TARGET` directories, in `downloads/` anything but
/// `SHA256.part` files, in `tmp/` anything but scratch directories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub path: PathBuf,
    /// Where it is: `runtime`, `download`, `tmp`, or `other` for a cache entry (`runtimes`,
    /// `downloads`, `tmp`) that is not a directory.
    pub kind: &'static str,
    pub reason: &'static str,
}

/// The cache's contents as prune and clean see them.
#[derive(Debug, Default)]
struct Entries {
    /// `runtimes/VERSION/TARGET` directories, sorted.
    runtimes: Vec<(RuntimeVersion, Target, PathBuf)>,
    /// The `runtimes/VERSION` directories of those.
    versions: Vec<PathBuf>,
    /// `downloads/SHA256.part` files.
    downloads: Vec<(Sha256, PathBuf)>,
    /// Scratch directories in `tmp/`.
    scratch: Vec<PathBuf>,
    skipped: Vec<Skipped>,
}

fn entries(cache: &Cache) -> Entries {
    let mut out = Entries::default();
    let is_dir = |p: &Path| fs::symlink_metadata(p).is_ok_and(|m| m.is_dir());
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let skip = |path, kind, reason| Skipped { path, kind, reason };
    // `runtimes`, `downloads` and `tmp` themselves: directories, never followed through a link.
    let mut part = |dir: &str| {
        let path = cache.root().join(dir);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => read_dir_sorted(&path),
            Ok(_) => {
                out.skipped.push(skip(path, "other", "not a directory"));
                Vec::new()
            }
            Err(_) => Vec::new(),
        }
    };
    let (runtimes, downloads, tmp) = (part("runtimes"), part("downloads"), part("tmp"));
    for version_dir in runtimes {
        let version = name(&version_dir);
        if !is_dir(&version_dir) || version_name(&version).is_none() {
            out.skipped.push(skip(version_dir, "runtime", "not a runtime version directory"));
            continue;
        }
        for target_dir in read_dir_sorted(&version_dir) {
            match runtime_names(&version, &name(&target_dir)) {
                Some((v, t)) if is_dir(&target_dir) => out.runtimes.push((v, t, target_dir)),
                _ => out.skipped.push(skip(target_dir, "runtime", "not a runtime directory")),
            }
        }
        out.versions.push(version_dir);
    }
    for file in downloads {
        let digest = name(&file).strip_suffix(".part").and_then(|d| d.parse::<Sha256>().ok());
        match digest {
            Some(digest) if fs::symlink_metadata(&file).is_ok_and(|m| m.is_file()) => {
                out.downloads.push((digest, file));
            }
            _ => out.skipped.push(skip(file, "download", "not a partial download")),
        }
    }
    for entry in tmp {
        if Cache::is_scratch(&entry) {
            out.scratch.push(entry);
        } else {
            out.skipped.push(skip(entry, "tmp", "not a scratch directory"));
        }
    }
    out
}

/// What prune and clean leave in the cache because they do not recognise it ([`Skipped`]).
pub fn unrecognised(cache: &Cache) -> Vec<Skipped> {
    entries(cache).skipped
}

fn warn_skipped(skipped: &[Skipped]) {
    for s in skipped {
        tracing::warn!("left {}: {}, so not the cache's to remove", s.path.display(), s.reason);
    }
}

/// Leftovers in `tmp/` younger than this may belong to an install in progress.
pub const STALE_AFTER: Duration = Duration::from_secs(60 * 60);

/// Remove runtimes no manifest pins, partial downloads no manifest pins or older than
/// `stale_after`, and scratch directories of `tmp/` older than `stale_after`. Refuses a cache
/// root that is not one ([`Cache::ensure_is_cache`]); leaves, with a warning, what it does not
/// recognise ([`unrecognised`]).
pub fn prune(cache: &Cache, manifests: &Manifests, stale_after: Duration) -> Result<Vec<Removed>, Error> {
    cache.ensure_is_cache()?;
    let entries = entries(cache);
    let mut removed = Vec::new();
    let pinned: HashSet<(&RuntimeVersion, Target)> =
        manifests.iter().flat_map(|m| m.targets.keys().map(move |&t| (&m.version, t))).collect();
    for (version, target, dir) in entries.runtimes {
        if pinned.contains(&(&version, target)) {
            continue;
        }
        let bytes = size_of_tree(&dir);
        remove_runtime_dir(cache, &dir)?;
        removed.push(Removed { path: dir, kind: "runtime", bytes });
    }
    for version in &entries.versions {
        // Only empty version directories go; `remove_dir` refuses the others.
        let _ = fs::remove_dir(version);
    }
    let digests: HashSet<Sha256> = manifests
        .iter()
        .flat_map(|m| m.targets.values())
        .flat_map(|pins| pins.artifact_pins())
        .filter_map(|a| a.sha256)
        .collect();
    let now = SystemTime::now();
    let older = |path: &Path| {
        fs::symlink_metadata(path)
            .and_then(|m| m.modified())
            .map(|t| now.duration_since(t).unwrap_or_default() >= stale_after)
            .unwrap_or(false)
    };
    for (digest, part) in entries.downloads {
        if (!digests.contains(&digest) || older(&part))
            && let Some(bytes) = remove_download(&part)?
        {
            removed.push(Removed { path: part, kind: "download", bytes });
        }
    }
    // Kept artifacts (and their origin notes) of what no manifest pins.
    let files: HashSet<String> = manifests
        .iter()
        .flat_map(|m| m.targets.values())
        .flat_map(|pins| pins.artifact_pins())
        .map(|a| a.file)
        .collect();
    for kept in read_dir_sorted(&cache.artifacts_dir()) {
        let name = kept.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if !files.contains(name.strip_suffix(".origin.json").unwrap_or(name)) {
            let bytes = size_of_tree(&kept);
            remove_any(&kept)?;
            removed.push(Removed { path: kept, kind: "artifact", bytes });
        }
    }
    for entry in entries.scratch {
        if older(&entry) && Cache::is_stale_scratch(&entry, stale_after) {
            let bytes = size_of_tree(&entry);
            remove_any(&entry)?;
            removed.push(Removed { path: entry, kind: "tmp", bytes });
        }
    }
    warn_skipped(&entries.skipped);
    Ok(removed)
}

/// Empty the cache: every runtime, partial download and leftover, and, in a root tagged as a
/// cache, whatever else it holds. The cache directory itself, its tag and its lock files stay.
/// Refuses a cache root that is not one ([`Cache::ensure_is_cache`]); leaves, with a warning,
/// what it does not recognise ([`unrecognised`]).
pub fn clean(cache: &Cache) -> Result<Vec<Removed>, Error> {
    cache.ensure_is_cache()?;
    let entries = entries(cache);
    let mut removed = Vec::new();
    for (version, target, dir) in entries.runtimes {
        // Under the runtime's lock: an install in progress finishes first, then it goes.
        let _lock = cache.lock_runtime(&version, target, &crate::reporter::NoReporter)?;
        let bytes = size_of_tree(&dir);
        remove_runtime_dir(cache, &dir)?;
        removed.push(Removed { path: dir, kind: "runtime", bytes });
    }
    for version in &entries.versions {
        // Only the emptied version directories; one another process just filled stays.
        let _ = fs::remove_dir(version);
    }
    for (_, part) in entries.downloads {
        if let Some(bytes) = remove_download(&part)? {
            removed.push(Removed { path: part, kind: "download", bytes });
        }
    }
    for kept in read_dir_sorted(&cache.artifacts_dir()) {
        let bytes = size_of_tree(&kept);
        remove_any(&kept)?;
        removed.push(Removed { path: kept, kind: "artifact", bytes });
    }
    for entry in entries.scratch {
        if Cache::is_stale_scratch(&entry, crate::cache::SCRATCH_GRACE) {
            let bytes = size_of_tree(&entry);
            remove_any(&entry)?;
            removed.push(Removed { path: entry, kind: "tmp", bytes });
        }
    }
    // The lock files stay: removing one a process holds would let a second one in. What else
    // the root holds goes only from a root tagged as a cache.
    if cache.is_tagged() {
        for entry in read_dir_sorted(cache.root()) {
            let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if !CACHE_ENTRIES.contains(&name) && name != CACHEDIR_TAG {
                let bytes = size_of_tree(&entry);
                remove_any(&entry)?;
                removed.push(Removed { path: entry, kind: "other", bytes });
            }
        }
    }
    warn_skipped(&entries.skipped);
    Ok(removed)
}

/// Move a runtime directory into `tmp/` (so nothing incomplete is ever at its final path),
/// then delete it.
fn remove_runtime_dir(cache: &Cache, dir: &Path) -> Result<(), CacheError> {
    let scratch = cache.scratch()?;
    let aside = scratch.path().join("removed");
    fs::rename(dir, &aside).map_err(CacheError::io("move aside", dir))?;
    let path = scratch.path().to_owned();
    scratch.close().map_err(CacheError::io("remove", &path))
}

/// Remove a partial download and say how many bytes it held, unless another process is
/// writing it (it holds the file's lock): then `None`.
fn remove_download(part: &Path) -> Result<Option<u64>, CacheError> {
    let bytes = size_of_tree(part);
    let removed = crate::cache::lock::remove_unless_held(part).map_err(CacheError::io("remove", part))?;
    Ok(removed.then_some(bytes))
}

fn remove_any(path: &Path) -> Result<(), CacheError> {
    let result = match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    };
    result.map_err(CacheError::io("remove", path))
}

fn size_of_tree(path: &Path) -> u64 {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => read_dir_sorted(path).iter().map(|p| size_of_tree(p)).sum(),
        Ok(meta) => meta.len(),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::{ReceiptArtifact, ReceiptFile};
    use crate::model::manifest::ArtifactKind;

    fn sha(bytes: &[u8]) -> Sha256 {
        Sha256::of_reader(bytes).unwrap().0
    }

    /// A runtime written by hand with a receipt listing its two files.
    fn install_by_hand(cache: &Cache, version: &str, target: Target) -> PathBuf {
        let version: RuntimeVersion = version.parse().unwrap();
        let dir = cache.runtime_dir(&version, target);
        fs::create_dir_all(dir.join("bin")).unwrap();
        fs::write(dir.join("bin/codex"), b"codex binary").unwrap();
        fs::write(dir.join("codex-package.json"), b"{}").unwrap();
        let file =
            |path: &str, bytes: &[u8]| ReceiptFile { path: path.into(), sha256: sha(bytes), size: bytes.len() as u64 };
        Receipt {
            schema_version: 1,
            version,
            target,
            source: "mirror".into(),
            from: "test".into(),
            artifact: ReceiptArtifact { kind: ArtifactKind::Wheel, file: "w.whl".into(), sha256: sha(b"w"), size: 1 },
            entrypoint: file("bin/codex", b"codex binary"),
            files: vec![file("bin/codex", b"codex binary"), file("codex-package.json", b"{}")],
            installed_at: 0,
            entrypoint_modified_ns: None,
        }
        .write(&dir)
        .unwrap();
        dir
    }

    fn no_manifests() -> Manifests {
        Manifests::single(crate::model::manifest::Manifest::embedded(crate::model::manifest::Channel::Stable))
    }

    #[test]
    fn verify_reports_each_kind_of_damage() {
        let root = tempfile::tempdir().unwrap();
        let cache = Cache::at(root.path());
        let sound = install_by_hand(&cache, "9.9.1", Target::ALL[0]);
        let dir = install_by_hand(&cache, "9.9.2", Target::ALL[0]);
        fs::write(dir.join("bin/codex"), b"codex binarY").unwrap();
        fs::write(dir.join("codex-package.json"), b"{ }").unwrap();
        fs::write(dir.join("bin/extra"), b"x").unwrap();
        let gone = install_by_hand(&cache, "9.9.3", Target::ALL[0]);
        fs::remove_file(gone.join("bin/codex")).unwrap();
        let receiptless = cache.root().join("runtimes/9.9.4/x86_64-unknown-linux-musl");
        fs::create_dir_all(&receiptless).unwrap();

        let checks = verify(&cache, &no_manifests());
        let by_version: Vec<(&str, &[Problem])> =
            checks.iter().map(|c| (c.version.as_str(), c.problems.as_slice())).collect();
        assert_eq!(checks[0].runtime_dir, sound);
        assert_eq!(by_version[0], ("9.9.1", &[][..]));
        assert_eq!(checks[0].files, 2);
        assert_eq!(by_version[1].0, "9.9.2");
        assert_eq!(
            by_version[1].1,
            [
                Problem {
                    path: "bin/codex".into(),
                    damage: Damage::Digest { expected: sha(b"codex binary"), actual: sha(b"codex binarY") }
                },
                Problem { path: "codex-package.json".into(), damage: Damage::Size { expected: 2, actual: 3 } },
                Problem { path: "bin/extra".into(), damage: Damage::Extra },
            ]
        );
        assert_eq!(by_version[2], ("9.9.3", &[Problem { path: "bin/codex".into(), damage: Damage::Missing }][..]));
        assert_eq!(by_version[3], ("9.9.4", &[Problem { path: ".".into(), damage: Damage::NoReceipt }][..]));
    }

    /// Regression: a repair that could not reinstall (offline, no source) removed a runtime
    /// whose only damage was a file its receipt does not list.
    #[test]
    fn a_repair_removes_only_the_extra_files_and_needs_no_source() {
        let root = tempfile::tempdir().unwrap();
        let cache = Cache::at(root.path());
        let dir = install_by_hand(&cache, "9.9.1", Target::ALL[0]);
        fs::write(dir.join("bin/extra"), b"x").unwrap();
        let offline = InstallOptions { sources: Vec::new(), offline: true };

        let checks = verify_and_repair(&cache, &no_manifests(), &offline, &crate::reporter::NoReporter);
        let repair = checks[0].repair.as_ref().unwrap();
        assert!(repair.ok, "{repair:?}");
        assert_eq!(repair.to_string(), "repaired: removed what the receipt does not list: bin/extra");
        assert!(!dir.join("bin/extra").exists() && dir.join("bin/codex").is_file());
        assert!(!verify(&cache, &no_manifests())[0].damaged());

        // Other damage, and nothing to reinstall from: left as it was, extra file included.
        fs::write(dir.join("bin/extra"), b"x").unwrap();
        fs::write(dir.join("codex-package.json"), b"[]").unwrap();
        let checks = verify_and_repair(&cache, &no_manifests(), &offline, &crate::reporter::NoReporter);
        let repair = checks[0].repair.as_ref().unwrap();
        assert_eq!((repair.ok, repair.action), (false, RepairAction::Kept));
        assert!(repair.to_string().ends_with("; the runtime was left as it was"), "{repair}");
        assert!(dir.join("bin/extra").is_file() && dir.join("bin/codex").is_file());
    }

    #[test]
    fn prune_spares_work_a_live_process_holds() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::at(dir.path());
        let scratch = cache.tmp_dir().join("install-busy");
        fs::create_dir_all(&scratch).unwrap();
        let held = crate::cache::lock::acquire(
            &scratch.join(crate::cache::SCRATCH_LOCK),
            "test",
            Duration::ZERO,
            &crate::reporter::NoReporter,
        )
        .unwrap();
        let part = cache.root().join("downloads").join(format!("{}.part", sha(b"x")));
        let part_lock =
            crate::cache::lock::acquire(&part, "test", Duration::ZERO, &crate::reporter::NoReporter).unwrap();
        // Everything counts as old here; only the locks spare these two.
        let removed = prune(&cache, &no_manifests(), Duration::ZERO).unwrap();
        assert!(removed.is_empty(), "{removed:?}");
        assert!(scratch.is_dir() && part.is_file());
        drop((held, part_lock));
        let kinds: Vec<_> = prune(&cache, &no_manifests(), Duration::ZERO).unwrap().iter().map(|r| r.kind).collect();
        assert_eq!(kinds, ["download", "tmp"]);
    }

    #[test]
    fn prune_keeps_pinned_runtimes_and_fresh_leftovers() {
        let root = tempfile::tempdir().unwrap();
        let cache = Cache::at(root.path());
        let manifests = no_manifests();
        let stable = manifests.iter().next().unwrap();
        let (&target, pins) = stable.targets.iter().next().unwrap();
        let kept = install_by_hand(&cache, &stable.version.to_string(), target);
        let dropped = install_by_hand(&cache, "0.0.1", target);
        let downloads = cache.root().join("downloads");
        fs::create_dir_all(&downloads).unwrap();
        let pinned_part = downloads.join(format!("{}.part", pins.artifact_pins()[0].sha256.unwrap()));
        let unpinned_part = downloads.join(format!("{}.part", sha(b"other")));
        fs::write(&pinned_part, b"half").unwrap();
        fs::write(&unpinned_part, b"half").unwrap();
        // Kept artifacts: a pinned one and its origin note stay, an unpinned one goes.
        fs::create_dir_all(cache.artifacts_dir()).unwrap();
        let pinned_file = cache.artifacts_dir().join(&pins.artifact_pins()[0].file);
        let pinned_note = cache.artifacts_dir().join(format!("{}.origin.json", pins.artifact_pins()[0].file));
        let unpinned_file = cache.artifacts_dir().join("openai-codex-0.0.1-linux-x64.tgz");
        for file in [&pinned_file, &pinned_note, &unpinned_file] {
            fs::write(file, b"bytes").unwrap();
        }
        fs::create_dir_all(cache.tmp_dir().join("install-fresh")).unwrap();
        // What a killed install leaves: a scratch directory with a lock file no one holds.
        let killed = cache.tmp_dir().join("install-killed");
        fs::create_dir_all(&killed).unwrap();
        fs::write(killed.join(crate::cache::SCRATCH_LOCK), b"").unwrap();

        let removed = prune(&cache, &manifests, STALE_AFTER).unwrap();
        let paths: Vec<&Path> = removed.iter().map(|r| r.path.as_path()).collect();
        assert_eq!(paths, [dropped.as_path(), unpinned_part.as_path(), unpinned_file.as_path()]);
        assert!(pinned_file.is_file() && pinned_note.is_file());
        assert!(!dropped.parent().unwrap().exists(), "its emptied version directory goes too");
        assert!(kept.join("bin/codex").is_file() && pinned_part.is_file());
        assert!(cache.tmp_dir().join("install-fresh").is_dir(), "a fresh leftover may be an install in progress");
        assert!(!dropped.exists());

        // With no grace period everything stale goes, the pinned runtime stays.
        let removed = prune(&cache, &manifests, Duration::ZERO).unwrap();
        let paths: Vec<&Path> = removed.iter().map(|r| r.path.as_path()).collect();
        let fresh = cache.tmp_dir().join("install-fresh");
        assert_eq!(paths, [pinned_part.as_path(), fresh.as_path(), killed.as_path()]);
        assert!(kept.join("bin/codex").is_file());
        fs::create_dir_all(&fresh).unwrap();

        // Regression: `clean` removed a scratch directory another process was still setting up.
        let removed = clean(&cache).unwrap();
        assert!(removed.iter().any(|r| r.path == kept && r.bytes > 0));
        assert!(runtime_dirs(&cache).is_empty());
        assert_eq!(fs::read_dir(cache.root().join("downloads")).map_or(0, |d| d.count()), 0);
        assert_eq!(fs::read_dir(cache.artifacts_dir()).map_or(0, |d| d.count()), 0, "clean empties artifacts/");
        let tmp: Vec<_> = fs::read_dir(cache.tmp_dir()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(tmp, ["install-fresh"]);
    }
}
