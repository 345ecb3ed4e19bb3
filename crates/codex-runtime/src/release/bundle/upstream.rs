//! Upstream's own artifacts in a bundle: each pinned wheel and npm tarball of a target, kept
//! whole in the cache and verified against its pins ([`crate::install::keep`]), is the bundle's
//! file byte for byte, so every lockfile pinned to upstream's hashes holds against a mirror made
//! from the bundle. Only a format no upstream artifact of can be had is re-packed from the
//! installed runtime.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{BundleError, Format, Output, VerifiedArtifact, WrittenFile};
use crate::cache::Cache;
use crate::install::keep::{Kept, keep_artifact};
use crate::install::{InstallOptions, Installed};
use crate::model::error::{ErrorKind, error_chain};
use crate::model::manifest::{ArtifactKind, ArtifactPin, Pinned};
use crate::reporter::Reporter;

/// Where the bytes of an output come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Origin {
    /// Upstream's artifact, byte for byte, verified against the pins; fetched from `source`
    /// at `from` (`cache` when an earlier run kept it).
    Upstream { source: String, from: String },
    /// Re-packed from the installed runtime (itself from the artifact `from`), because no
    /// upstream artifact of this format could be had: `why`; carrying the `members` upstream's
    /// artifact of this format carries.
    Repack { from: String, why: String, members: super::members::Members },
    /// The runtime root as installed (`--format dir`).
    Installed { from: String },
}

/// The pinned artifacts of `pinned` that the formats want as upstream published them: its
/// wheels (manylinux and musllinux) for `wheel`, its npm tarball for `npm`.
pub(super) fn wanted(pinned: &Pinned<'_>, formats: &[Format]) -> Vec<ArtifactPin> {
    let kind_of = |format: Format| match format {
        Format::Wheel => Some(ArtifactKind::Wheel),
        Format::Npm => Some(ArtifactKind::Npm),
        Format::Dir | Format::Index => None,
    };
    let kinds: Vec<ArtifactKind> = formats.iter().filter_map(|f| kind_of(*f)).collect();
    pinned.pins.artifact_pins().into_iter().filter(|a| kinds.contains(&a.kind)).collect()
}

/// A wanted artifact, and the kept copy or why no source has it.
pub(super) type KeptArtifacts = Vec<(ArtifactPin, Result<Kept, String>)>;

/// Each wanted artifact kept in the cache, or why no source has it (then the format is
/// re-packed). Bytes that fail the pins, and a cache that cannot be written, fail the target
/// instead: a bundle never quietly swaps upstream's file for a re-pack because a source lied.
pub(super) fn keep_all(
    pinned: &Pinned<'_>,
    wanted: Vec<ArtifactPin>,
    options: &InstallOptions,
    cache: &Cache,
    reporter: &dyn Reporter,
) -> Result<KeptArtifacts, BundleError> {
    let mut kept = Vec::new();
    for artifact in wanted {
        match keep_artifact(pinned, &artifact, options, cache, reporter) {
            Ok(found) => kept.push((artifact, Ok(found))),
            Err(e) if matches!(e.kind(), ErrorKind::NoSource | ErrorKind::NotInstalled) => {
                kept.push((artifact, Err(error_chain(&e))));
            }
            Err(e) => return Err(BundleError::Install(e)),
        }
    }
    Ok(kept)
}

/// Put the kept artifact into the bundle under its published name: a hard link where the cache
/// and the bundle share a file system (it was verified against the pins moments ago), else a
/// copy.
pub(super) fn stage(
    kept: &Kept,
    artifact: &ArtifactPin,
    staging: &Path,
) -> Result<(Output, Vec<WrittenFile>), BundleError> {
    let dest = staging.join(&artifact.file);
    if fs_err::hard_link(&kept.path, &dest).is_err() {
        fs_err::copy(&kept.path, &dest).map_err(|e| BundleError::Io {
            action: "copy",
            path: kept.path.clone(),
            source: e,
        })?;
    }
    let format = match artifact.kind {
        ArtifactKind::Wheel => Format::Wheel,
        _ => Format::Npm,
    };
    let (sha256, size) = (kept.digests.sha256, kept.digests.size);
    let origin = Origin::Upstream { source: kept.source.clone(), from: kept.from.clone() };
    let output =
        Output { format, path: artifact.file.clone(), sha256: Some(sha256), size, files: 1, origin: Some(origin) };
    let written = vec![WrittenFile { path: artifact.file.clone(), sha256, size }];
    Ok((output, written))
}

/// Why no upstream artifact of `format` could be had, for a re-pack's origin.
pub(super) fn why_not(pinned: &Pinned<'_>, format: Format, kept: &[(ArtifactPin, Result<Kept, String>)]) -> String {
    let wanted = wanted(pinned, &[format]);
    let why: Vec<String> = kept
        .iter()
        .filter(|(a, _)| wanted.iter().any(|w| w.file == a.file))
        .filter_map(|(a, k)| k.as_ref().err().map(|e| format!("{}: {e}", a.file)))
        .collect();
    if why.is_empty() { format!("no {format} artifact is pinned") } else { why.join("; ") }
}

/// The source, location and artifact of an installed runtime: where the kept artifact it was
/// installed from came from, when it was one.
pub(super) fn installed_from(
    installed: &Installed,
    kept: &[(ArtifactPin, Result<Kept, String>)],
    cache: &Cache,
) -> (String, String, VerifiedArtifact) {
    let receipt = &installed.receipt;
    let artifact = VerifiedArtifact {
        kind: receipt.artifact.kind,
        file: receipt.artifact.file.clone(),
        sha256: receipt.artifact.sha256,
        size: receipt.artifact.size,
    };
    let from_kept = receipt.from.starts_with(&cache.artifacts_dir().display().to_string());
    let origin =
        kept.iter().find_map(|(a, k)| k.as_ref().ok().filter(|_| from_kept && a.file == receipt.artifact.file));
    match origin {
        Some(kept) => (kept.source.clone(), kept.from.clone(), artifact),
        None => (receipt.source.clone(), receipt.from.clone(), artifact),
    }
}

/// The first kept artifact (in the pins' order), for a bundle that installed nothing.
pub(super) fn first_kept(kept: &[(ArtifactPin, Result<Kept, String>)]) -> Option<(String, String, VerifiedArtifact)> {
    kept.iter().find_map(|(artifact, kept)| {
        let kept = kept.as_ref().ok()?;
        let verified = VerifiedArtifact {
            kind: artifact.kind,
            file: artifact.file.clone(),
            sha256: kept.digests.sha256,
            size: kept.digests.size,
        };
        Some((kept.source.clone(), kept.from.clone(), verified))
    })
}
