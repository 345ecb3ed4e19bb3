//! Keep the pinned history current: pin every release the registries publish.
//!
//! `channel sync` reads `DIR/versions/*.json` and `DIR/heads.json`, lists the versions of
//! `@openai/codex` on the npm registry and of the runtime wheel on the Python index, and pins
//! each release from `since` on that is not pinned yet (and the newest pre-release), one
//! [`channel_update`](crate::release::channel_update) per version with its artifacts deleted as soon as
//! they are hashed. Each new manifest is written as soon as it is complete, so an interrupted
//! sync keeps what it finished. Existing pins are never rewritten: when a registry now claims
//! another digest for a pinned artifact, the sync fails naming it. The heads move to the
//! newest release and the newest pre-release pinned.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::cache::{Cache, CacheError};
use crate::install::Error;
use crate::model::env::Env;
use crate::model::error::ErrorKind;
use crate::model::history::Heads;
use crate::model::manifest::{Channel, Manifest, ManifestError};
use crate::model::target::Target;
use crate::model::version::RuntimeVersion;
use crate::release::channel_update::{self, Listings, TargetError, UpdateError, UpdateRequest};
use crate::reporter::Reporter;

/// What to sync, from where.
#[derive(Debug, Clone)]
pub struct SyncRequest {
    /// The `channels/` directory: `versions/` and `heads.json`.
    pub dir: PathBuf,
    /// The oldest version to pin.
    pub since: RuntimeVersion,
    pub npm_registry: Option<String>,
    pub pypi_index: Option<String>,
    pub github_base_url: Option<String>,
    /// Targets fetched at once.
    pub jobs: usize,
    /// Say what would be pinned, fetch no artifact, write nothing.
    pub dry_run: bool,
    /// Also re-inspect the pinned versions whose pins lack what this build records of each
    /// artifact (its `omits`, an npm tarball's `package_json`) and write that in; every digest
    /// must still match, and nothing else in the file changes.
    pub refresh: bool,
    /// Only these versions (to pin or refresh); empty: all from `since` on.
    pub only: Vec<RuntimeVersion>,
}

/// What a sync did.
#[derive(Debug, Clone, Default)]
pub struct Synced {
    /// Versions pinned by this run (or that would be, with `dry_run`), newest first.
    pub added: Vec<RuntimeVersion>,
    /// Versions listed by a registry with no artifact for any target.
    pub unpublished: Vec<RuntimeVersion>,
    /// Versions already pinned whose pins the registries still confirm.
    pub kept: Vec<RuntimeVersion>,
    /// Pinned versions whose pins were completed (or would be, with `dry_run`), newest first.
    pub refreshed: Vec<RuntimeVersion>,
    /// The heads before and after.
    pub heads_before: Option<Heads>,
    pub heads: Option<Heads>,
    /// Artifacts published for a pinned version that its pins lack, targets left out, notes
    /// of each update.
    pub notes: Vec<String>,
}

/// Why a sync stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("cannot read the pinned history in {}", dir.display())]
    Read {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("{} is named {name}.json but pins {version}; rename it or fix its version", path.display())]
    Misnamed { path: PathBuf, name: String, version: RuntimeVersion },
    #[error("invalid heads file {}: {reason}", path.display())]
    Heads { path: PathBuf, reason: String },
    #[error(
        "{} pinned artifact{} no longer match{} what the registries publish; nothing was rewritten (a published version's bytes must not change: find out why before you re-pin it by deleting its file):{}",
        changed.len(), if changed.len() == 1 { "" } else { "s" }, if changed.len() == 1 { "es" } else { "" },
        changed.iter().map(|c| format!("\n  {c}")).collect::<String>()
    )]
    Changed { changed: Vec<String> },
    #[error("the registries publish no version of codex from {since} on")]
    Nothing { since: RuntimeVersion },
    #[error(transparent)]
    Update(#[from] UpdateError),
    #[error(transparent)]
    Install(#[from] Error),
}

impl From<CacheError> for SyncError {
    fn from(e: CacheError) -> Self {
        SyncError::Install(e.into())
    }
}

impl SyncError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            SyncError::Changed { .. } => ErrorKind::Drift,
            SyncError::Nothing { .. } => ErrorKind::NoSource,
            SyncError::Misnamed { .. } | SyncError::Heads { .. } | SyncError::Manifest(_) => ErrorKind::Usage,
            SyncError::Read { .. } => ErrorKind::Other,
            SyncError::Update(e) => e.kind(),
            SyncError::Install(e) => e.kind(),
        }
    }
}

/// The manifests of a `channels/` directory, by version.
pub fn read_history(dir: &Path) -> Result<BTreeMap<RuntimeVersion, Manifest>, SyncError> {
    let versions = dir.join("versions");
    let read_error = |source| SyncError::Read { dir: versions.clone(), source };
    let mut pinned = BTreeMap::new();
    let entries = match std::fs::read_dir(&versions) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(pinned),
        Err(e) => return Err(read_error(e)),
    };
    for entry in entries {
        let path = entry.map_err(read_error)?.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let manifest = Manifest::from_file(&path)?;
        let name = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        if manifest.version.to_string() != name {
            return Err(SyncError::Misnamed { path, name, version: manifest.version });
        }
        pinned.insert(manifest.version.clone(), manifest);
    }
    Ok(pinned)
}

fn read_heads(path: &Path) -> Result<Option<Heads>, SyncError> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| SyncError::Heads { path: path.to_owned(), reason: e.to_string() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(SyncError::Read { dir: path.to_owned(), source }),
    }
}

/// The artifacts of a pinned version whose registry claims differ from the pins, and the
/// published ones the pins lack.
fn compare(manifest: &Manifest, listings: &Listings) -> (Vec<String>, Vec<String>) {
    let (mut changed, mut unpinned) = (Vec::new(), Vec::new());
    let v = &manifest.version;
    for target in Target::ALL {
        let pins = manifest.target(target);
        let npm_version = format!("{v}-{}", target.npm_suffix());
        match (pins.and_then(|p| p.artifacts.npm.as_ref()), listings.npm_dist(&npm_version)) {
            (Some(pin), Some(dist)) if !dist.sha512s().any(|listed| listed == pin.integrity) => {
                changed.push(format!(
                    "{v} {target}: @openai/codex@{npm_version} dist.integrity is {}, the pin is {}",
                    dist.integrity.as_deref().unwrap_or("missing"),
                    pin.integrity
                ));
            }
            (None, Some(_)) => unpinned.push(format!("{v} {target}: @openai/codex@{npm_version}")),
            _ => {}
        }
        let wheels = [
            (Some(target.wheel_tag()), pins.and_then(|p| p.artifacts.wheel.as_ref())),
            (target.musllinux_tag(), pins.and_then(|p| p.artifacts.musllinux_wheel.as_ref())),
        ];
        for (tag, pin) in wheels {
            let Some(tag) = tag else { continue };
            let file = format!("openai_codex_cli_bin-{}-py3-none-{tag}.whl", v.pep440());
            match (pin, listings.wheel_sha256(&file)) {
                (Some(pin), Some(Some(listed))) if listed != pin.sha256 => changed
                    .push(format!("{v} {target}: {file}: the index's sha256 is {listed}, the pin is {}", pin.sha256)),
                (None, Some(_)) => unpinned.push(format!("{v} {target}: {file}")),
                _ => {}
            }
        }
    }
    (changed, unpinned)
}

/// Pin what is missing from the history in `request.dir`; see the module documentation.
pub fn sync(request: &SyncRequest, cache: &Cache, reporter: &dyn Reporter) -> Result<Synced, SyncError> {
    let mut pinned = read_history(&request.dir)?;
    let heads_path = request.dir.join("heads.json");
    let heads_before = read_heads(&heads_path)?;
    let http = crate::sources::reading_client(
        request.npm_registry.as_deref(),
        request.pypi_index.as_deref(),
        request.github_base_url.as_deref(),
        Env::process(),
    );
    let listings = Listings::fetch(&http, request.npm_registry.as_deref(), request.pypi_index.as_deref())?;

    let mut synced = Synced { heads_before: heads_before.clone(), ..Synced::default() };
    let mut changed = Vec::new();
    for (version, manifest) in pinned.iter().rev() {
        let (differs, unpinned) = compare(manifest, &listings);
        changed.extend(differs);
        synced.notes.extend(unpinned.into_iter().map(|a| format!("{a} is published but not pinned")));
        synced.kept.push(version.clone());
    }
    if !changed.is_empty() {
        return Err(SyncError::Changed { changed });
    }

    let published = listings.versions();
    let newest_pre = published.iter().find(|v| v.is_prerelease());
    let wanted: Vec<RuntimeVersion> = published
        .iter()
        .filter(|v| **v >= request.since && (!v.is_prerelease() || Some(*v) == newest_pre))
        .filter(|v| request.only.is_empty() || request.only.contains(v))
        .filter(|v| !pinned.contains_key(*v))
        .cloned()
        .collect();
    if wanted.is_empty() && pinned.is_empty() {
        return Err(SyncError::Nothing { since: request.since.clone() });
    }
    let versions_dir = request.dir.join("versions");
    if !request.dry_run && !wanted.is_empty() {
        std::fs::create_dir_all(&versions_dir).map_err(|source| {
            SyncError::from(CacheError::Io { action: "create", path: versions_dir.clone(), source })
        })?;
    }
    if request.refresh {
        let stale: Vec<RuntimeVersion> = pinned
            .iter()
            .rev()
            .filter(|(v, m)| {
                **v >= request.since && (request.only.is_empty() || request.only.contains(v)) && lacks_fields(m)
            })
            .map(|(v, _)| v.clone())
            .collect();
        for version in stale {
            if !request.dry_run {
                let update = update_request(request, &version);
                let fresh = channel_update::update_with(&update, &http, &listings, cache, reporter)?;
                let completed =
                    completed(&pinned[&version], &fresh.manifest).map_err(|changed| SyncError::Changed { changed })?;
                channel_update::write_manifest(&completed, &versions_dir.join(format!("{version}.json")))?;
                pinned.insert(version.clone(), completed);
            }
            synced.refreshed.push(version);
        }
    }
    for version in wanted {
        if request.dry_run {
            synced.added.push(version);
            continue;
        }
        let update = update_request(request, &version);
        let updated = match channel_update::update_with(&update, &http, &listings, cache, reporter) {
            Ok(updated) => updated,
            // Listed, but no platform package or wheel of it was ever published: nothing to pin.
            Err(UpdateError::Targets { failures, .. })
                if failures.iter().all(|(_, e)| matches!(e, TargetError::Missing(_))) =>
            {
                synced.notes.push(format!("{version}: published for no target; not pinned"));
                synced.unpublished.push(version);
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        channel_update::write_manifest(&updated.manifest, &versions_dir.join(format!("{version}.json")))?;
        synced.notes.extend(updated.notes.into_iter().filter(|n| !n.contains("github: not asked")));
        pinned.insert(version.clone(), updated.manifest);
        synced.added.push(version);
        // The heads follow each pin, so an interrupted sync leaves them naming pinned versions.
        if let Some(heads) = heads_of(&pinned, heads_before.as_ref()) {
            write_heads(&heads, &heads_path)?;
        }
    }
    synced.heads = heads_of(&pinned, heads_before.as_ref());
    if let (false, Some(heads)) = (request.dry_run, &synced.heads)
        && synced.heads != heads_before
    {
        write_heads(heads, &heads_path)?;
    }
    Ok(synced)
}

fn update_request(request: &SyncRequest, version: &RuntimeVersion) -> UpdateRequest {
    UpdateRequest {
        channel: Channel::of(version),
        version: version.clone(),
        npm_registry: request.npm_registry.clone(),
        pypi_index: request.pypi_index.clone(),
        github_base_url: request.github_base_url.clone(),
        jobs: request.jobs,
    }
}

/// Whether a pinned version lacks what this build records of its artifacts.
fn lacks_fields(manifest: &Manifest) -> bool {
    manifest.targets.values().any(|pins| {
        let a = &pins.artifacts;
        a.npm.as_ref().is_some_and(|n| n.omits.is_none() || n.package_json.is_none())
            || a.wheels().any(|w| w.omits.is_none())
    })
}

/// `pinned` with the fields `fresh` adds, when everything both pin agrees; else what differs.
fn completed(pinned: &Manifest, fresh: &Manifest) -> Result<Manifest, Vec<String>> {
    let mut out = pinned.clone();
    let mut changed = Vec::new();
    let v = &pinned.version;
    for (target, pins) in &mut out.targets {
        let Some(now) = fresh.target(*target) else {
            changed.push(format!("{v} {target}: no longer published for this target"));
            continue;
        };
        if pins.entrypoint != now.entrypoint || (!pins.files.is_empty() && pins.files != now.files) {
            changed.push(format!("{v} {target}: the runtime's files differ from their pins"));
        }
        let (old, new) = (&mut pins.artifacts, &now.artifacts);
        match (&mut old.npm, &new.npm) {
            (Some(o), Some(n)) => {
                let same = (&o.sha256, &o.integrity, o.size, o.unpacked_size, o.entries, &o.blocks)
                    == (&n.sha256, &n.integrity, n.size, n.unpacked_size, n.entries, &n.blocks);
                if same {
                    o.omits = n.omits.clone();
                    o.package_json = n.package_json.clone();
                } else {
                    changed.push(format!("{v} {target}: {} differs from its pins", o.file));
                }
            }
            (Some(o), None) => changed.push(format!("{v} {target}: {} is no longer published", o.file)),
            _ => {}
        }
        for (o, n) in [(&mut old.wheel, &new.wheel), (&mut old.musllinux_wheel, &new.musllinux_wheel)] {
            match (o, n) {
                (Some(o), Some(n)) => {
                    if (&o.sha256, o.size, o.unpacked_size, o.entries, &o.blocks)
                        == (&n.sha256, n.size, n.unpacked_size, n.entries, &n.blocks)
                    {
                        o.omits = n.omits.clone();
                    } else {
                        changed.push(format!("{v} {target}: {} differs from its pins", o.file));
                    }
                }
                (Some(o), None) => changed.push(format!("{v} {target}: {} is no longer published", o.file)),
                _ => {}
            }
        }
    }
    if changed.is_empty() { Ok(out) } else { Err(changed) }
}

/// The newest pinned release and pre-release; a channel with none keeps its head, or takes
/// the other's when it has none. `None` while nothing is pinned.
fn heads_of(pinned: &BTreeMap<RuntimeVersion, Manifest>, before: Option<&Heads>) -> Option<Heads> {
    let newest = |pre: bool| pinned.keys().rev().find(|v| v.is_prerelease() == pre).cloned();
    let keep = |channel| before.map(|h: &Heads| h.get(channel).clone());
    let stable = newest(false).or_else(|| keep(Channel::Stable));
    let alpha = newest(true).or_else(|| keep(Channel::Alpha));
    Some(Heads { schema_version: 1, stable: stable.clone().or(alpha.clone())?, alpha: alpha.or(stable)? })
}

fn write_heads(heads: &Heads, path: &Path) -> Result<(), SyncError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| SyncError::from(CacheError::Io { action: "write", path, source })
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io(dir))?;
    std::io::Write::write_all(&mut tmp, heads.to_json().as_bytes()).map_err(io(path))?;
    tmp.persist(path).map_err(|e| io(path)(e.error))?;
    Ok(())
}
