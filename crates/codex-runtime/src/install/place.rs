//! From a verified artifact (or an installed runtime copied in) to a runtime in the cache: find the
//! runtime root, verify it against the pins, write the receipt, rename it into place.

use super::{
    AttemptFailure, Error, Failure, Fetched, Installed, Unavailable, VerifyError, find_installed, limits_of, tree_of,
    verification,
};
use crate::cache::{Cache, CacheError, RECEIPT, Receipt, ReceiptArtifact, ReceiptFile, Scratch};
use crate::extract::{self, ExtractError, ExtractedFile};
use crate::model::manifest::{ArtifactPin, Pinned};
use crate::model::version::RuntimeVersion;
use crate::reporter::Reporter;
use crate::sources::Location;
use crate::sources::installed::{self, Candidate, CopyError};
use serde::Deserialize;
use std::io;
use std::path::{Path, PathBuf};

/// Link (or copy) an installed runtime that `source` found into a scratch directory of the
/// cache, verify the copy against the pins, and move it into place.
pub(super) fn adopt_candidate(
    pinned: &Pinned<'_>,
    candidate: &Candidate,
    source: &str,
    cache: &Cache,
) -> Result<Installed, Failure> {
    let subject = format!("runtime installed by {} at {}", candidate.installer, candidate.root.display());
    // Cheap checks first: another version or target is not this runtime at all.
    let package: Option<CodexPackage> =
        fs_err::read(candidate.root.join("codex-package.json")).ok().and_then(|b| serde_json::from_slice(&b).ok());
    let version = &pinned.manifest.version;
    match &package {
        Some(p)
            if p.version.parse::<RuntimeVersion>().ok().as_ref() != Some(version)
                || p.target != pinned.target.triple() =>
        {
            return Err(Failure::Attempt(AttemptFailure::Unavailable(Unavailable::OtherRuntime {
                version: p.version.clone(),
                target: p.target.clone(),
                pinned_version: version.to_string(),
                pinned_target: pinned.target.to_string(),
            })));
        }
        _ => {}
    }
    let pin = &pinned.pins.entrypoint;
    if let Ok(meta) = fs_err::metadata(candidate.root.join(&pin.path))
        && meta.len() != pin.size
    {
        return Err(verification(VerifyError::Size {
            subject: format!("entrypoint {} of the {subject}", pin.path),
            expected: pin.size,
            actual: meta.len(),
        }));
    }
    let pins = pinned.pins.artifact_pins();
    let max_entries = pins.iter().map(|p| p.max_entries).max().unwrap_or(10_000);
    let max_bytes = pins.iter().map(|p| p.max_unpacked_size).max().unwrap_or(pin.size.saturating_mul(4));
    let scratch = cache.scratch()?;
    let tree = scratch.path().join("tree");
    let files = match installed::copy_tree(&candidate.root, &tree, max_entries, max_bytes) {
        Ok(files) => files,
        Err(CopyError::Write { path, source }) => return Err(CacheError::Io { action: "write", path, source }.into()),
        Err(e) => return Err(verification(VerifyError::Layout { subject, reason: e.to_string() })),
    };
    let kind = candidate.kind();
    let file = pins.iter().find(|p| p.kind == kind).map(|p| p.file.clone()).unwrap_or_default();
    // No artifact bytes exist for an installed runtime: the receipt records the entrypoint's.
    let artifact = ReceiptArtifact { kind, file, sha256: pin.sha256, size: pin.size };
    let staged = Staged { scratch, tree, files, subject, artifact, source, from: candidate.root.display().to_string() };
    finish_install(pinned, staged, cache)
}

/// Where a verified download came from.
pub(super) struct Origin<'a> {
    pub(super) source: &'a str,
    pub(super) location: &'a Location,
}

/// `codex-package.json`, the runtime root's description of itself.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CodexPackage {
    layout_version: u32,
    version: String,
    target: String,
    entrypoint: String,
}

/// Extract a verified artifact, verify the runtime inside, and move it into place.
pub(super) fn install_artifact(
    pinned: &Pinned<'_>,
    artifact: &ArtifactPin,
    fetched: Fetched,
    origin: Origin<'_>,
    cache: &Cache,
    reporter: &dyn Reporter,
) -> Result<Installed, Failure> {
    let Fetched { scratch, download, digests, extracted, file_digests } = fetched;
    let subject = format!("{} from {}", artifact.file, origin.location);
    reporter.extracting(&artifact.file);
    let tree = tree_of(&scratch);
    let files = match extracted {
        Some(files) => files,
        None => match extract::extract(&download, artifact.kind.format(), &tree, limits_of(artifact), file_digests) {
            Ok(files) => files,
            Err(ExtractError::Write { path, source }) => {
                return Err(CacheError::Io { action: "write", path, source }.into());
            }
            Err(error) => return Err(verification(VerifyError::Archive { subject: subject.clone(), error })),
        },
    };
    // The download is verified and extracted; free its space before the move.
    let _ = fs_err::remove_file(&download);
    let receipt_artifact = ReceiptArtifact {
        kind: artifact.kind,
        file: artifact.file.clone(),
        sha256: digests.sha256,
        size: digests.size,
    };
    let staged = Staged {
        scratch,
        tree,
        files,
        subject,
        artifact: receipt_artifact,
        source: origin.source,
        from: origin.location.to_string(),
    };
    finish_install(pinned, staged, cache)
}

/// A runtime tree in a scratch directory of the cache, not yet verified.
pub(super) struct Staged<'a> {
    pub(super) scratch: Scratch,
    pub(super) tree: PathBuf,
    pub(super) files: Vec<ExtractedFile>,
    /// What the messages call it.
    pub(super) subject: String,
    /// What the receipt records about where it came from.
    pub(super) artifact: ReceiptArtifact,
    pub(super) source: &'a str,
    pub(super) from: String,
}

/// Find the runtime root in an extracted (or copied) tree, verify it against the pins, write
/// the receipt and move the root into place.
pub(super) fn finish_install(pinned: &Pinned<'_>, staged: Staged<'_>, cache: &Cache) -> Result<Installed, Failure> {
    let Staged { scratch, tree, files, subject, artifact, source, from } = staged;
    let subject = subject.as_str();
    let layout = |reason: String| verification(VerifyError::Layout { subject: subject.to_owned(), reason });
    let roots: Vec<&str> = files
        .iter()
        .filter_map(|f| f.path.strip_suffix("codex-package.json").filter(|p| p.is_empty() || p.ends_with('/')))
        .collect();
    let prefix = match roots.as_slice() {
        [one] => one.to_string(),
        [] => return Err(layout("no codex-package.json in the archive".into())),
        _ => return Err(layout(format!("{} codex-package.json files in the archive; expected one", roots.len()))),
    };
    let root = tree.join(&prefix);
    let package: CodexPackage = fs_err::read(root.join("codex-package.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| layout("codex-package.json is not valid".into()))?;
    let version = &pinned.manifest.version;
    if package.layout_version != 1 {
        return Err(layout(format!(
            "codex-package.json has layoutVersion {}; this build reads 1",
            package.layout_version
        )));
    }
    if package.version.parse::<RuntimeVersion>().ok().as_ref() != Some(version) {
        return Err(layout(format!("codex-package.json says version {}, the pin is {version}", package.version)));
    }
    if package.target != pinned.target.triple() {
        return Err(layout(format!("codex-package.json says target {}, the pin is {}", package.target, pinned.target)));
    }
    let pin = &pinned.pins.entrypoint;
    if package.entrypoint != pin.path {
        return Err(layout(format!(
            "codex-package.json says entrypoint {}, the pin is {}",
            package.entrypoint, pin.path
        )));
    }
    let runtime_files: Vec<&ExtractedFile> = files.iter().filter(|f| f.path.starts_with(&prefix)).collect();
    // Nothing in the tree may pose as the receipt: it is written below, by this process only.
    if fs_err::symlink_metadata(root.join(RECEIPT)).is_ok() {
        return Err(layout(format!("the archive holds a {RECEIPT}, a name reserved for the cache's receipt")));
    }
    check_links(&root, !pinned.pins.files.is_empty()).map_err(layout)?;
    // Every file must be one the pins list, with its digest: this is what verifies the files
    // of a source without an artifact digest (a GitHub package, a runtime pip or npm installed).
    // A file extracted without its digest (an artifact whose every byte matched its pins, see
    // `file_digests_of`) takes the pinned one.
    let mut digests = Vec::with_capacity(runtime_files.len());
    for file in &runtime_files {
        let rel = &file.path[prefix.len()..];
        let file_subject = || format!("{rel} in {subject}");
        let expected = pinned.pins.file(rel);
        if let Some(expected) = expected
            && file.size != expected.size
        {
            return Err(verification(VerifyError::Size {
                subject: file_subject(),
                expected: expected.size,
                actual: file.size,
            }));
        }
        let digest = match (file.sha256, expected) {
            (Some(actual), Some(expected)) if actual != expected.sha256 => {
                return Err(verification(VerifyError::Sha256 {
                    subject: file_subject(),
                    expected: expected.sha256,
                    actual,
                }));
            }
            (Some(actual), Some(_)) => actual,
            (None, Some(expected)) => expected.sha256,
            (Some(actual), None) if pinned.pins.files.is_empty() => actual,
            (_, None) => return Err(layout(format!("{rel} is not a file of the pinned runtime"))),
        };
        digests.push(digest);
    }
    let entry_path = format!("{prefix}{}", pin.path);
    let (entry, &entry_sha256) = runtime_files
        .iter()
        .zip(&digests)
        .find(|(f, _)| f.path == entry_path)
        .ok_or_else(|| layout(format!("the entrypoint {} is missing", pin.path)))?;
    let entry_subject = format!("entrypoint {} in {subject}", pin.path);
    if entry.size != pin.size {
        return Err(verification(VerifyError::Size { subject: entry_subject, expected: pin.size, actual: entry.size }));
    }
    if entry_sha256 != pin.sha256 {
        return Err(verification(VerifyError::Sha256 {
            subject: entry_subject,
            expected: pin.sha256,
            actual: entry_sha256,
        }));
    }
    for file in &runtime_files {
        let rel = &file.path[prefix.len()..];
        if rel == pin.path || rel.starts_with("bin/") || rel.starts_with("codex-path/") {
            set_executable(&tree.join(&file.path))?;
        }
    }

    let receipt = Receipt {
        schema_version: 1,
        version: version.clone(),
        target: pinned.target,
        source: source.to_owned(),
        from,
        artifact,
        entrypoint: ReceiptFile { path: pin.path.clone(), sha256: pin.sha256, size: pin.size },
        files: runtime_files
            .iter()
            .zip(digests)
            .map(|(f, sha256)| ReceiptFile { path: f.path[prefix.len()..].to_owned(), sha256, size: f.size })
            .collect(),
        installed_at: Receipt::now(),
        entrypoint_modified_ns: Receipt::modified_ns(&root.join(&pin.path)),
    };
    receipt.write(&root)?;
    let dest = cache.runtime_dir(version, pinned.target);
    move_into_place(&root, &dest, scratch.path())?;
    let installed = find_installed(pinned, cache).ok_or_else(|| {
        Failure::Fatal(Error::Cache(CacheError::Io {
            action: "read back the runtime installed at",
            path: dest.clone(),
            source: io::Error::other("its receipt or entrypoint is missing right after the install"),
        }))
    })?;
    Ok(Installed { cached: false, ..installed })
}

/// Rename the verified root into place. The caller holds the runtime's lock and found no
/// intact runtime there (or is reinstalling), so anything at `dest` (damaged, of other pins,
/// left by a tool that does not lock, or the runtime being reinstalled) is moved aside into the
/// scratch directory first: the final path only ever holds a complete runtime. When the new
/// root cannot be moved in, what was there is moved back.
pub(super) fn move_into_place(root: &Path, dest: &Path, scratch: &Path) -> Result<(), CacheError> {
    let parent = dest.parent().expect("runtime dirs have a parent");
    fs_err::create_dir_all(parent).map_err(CacheError::from)?;
    let replaced = scratch.join("replaced");
    let moved_aside = fs_err::symlink_metadata(dest).is_ok();
    if moved_aside {
        fs_err::rename(dest, &replaced).map_err(CacheError::from)?;
    }
    fs_err::rename(root, dest).map_err(CacheError::from).inspect_err(|_| {
        if moved_aside {
            let _ = fs_err::rename(&replaced, dest);
        }
    })
}

/// Symbolic links in a runtime root: none when the pins list its files (upstream publishes
/// none, and a link could not be verified); otherwise each must stay inside the root, which
/// is what is moved into the cache (extraction only checked them against the whole tree).
pub(super) fn check_links(root: &Path, files_pinned: bool) -> Result<(), String> {
    let mut dirs = vec![root.to_owned()];
    // Bounded: every directory of the extracted tree is visited once.
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                dirs.push(path);
            } else if kind.is_symlink() {
                let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
                if files_pinned {
                    return Err(format!("{rel} is a symbolic link; the pinned runtime has none"));
                }
                let target = fs_err::read_link(&path).map_err(|e| format!("cannot read the link {rel}: {e}"))?;
                crate::extract::symlink_target(&rel, &target.to_string_lossy())
                    .map_err(|reason| format!("the link {rel} is refused: {reason} (of the runtime root)"))?;
            }
        }
    }
    Ok(())
}

pub(super) fn set_executable(path: &Path) -> Result<(), CacheError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs_err::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .map_err(CacheError::io("set the exec bits of", path))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
