//! `codex-runtime import FILE`: a local artifact verified as the pinned runtime it claims to be.

use super::{Attempt, Error, Failure, Installed, Origin, all_failed, fetch, find_installed, install_artifact};
use crate::cache::Cache;
use crate::fetch::download::NetworkOptions;
use crate::model::history::Manifests;
use crate::model::manifest::{ArtifactPin, Pinned};
use crate::net::Http;
use crate::reporter::Reporter;
use crate::sources::Location;
use std::cell::OnceCell;
use std::path::Path;

/// Verify a local artifact file against the pins and install it.
pub fn import(file: &Path, manifests: &Manifests, cache: &Cache, reporter: &dyn Reporter) -> Result<Installed, Error> {
    if !file.is_file() {
        return Err(Error::NoSuchFile { path: file.to_owned() });
    }
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    // Every pin of this file name: a GitHub package is named by its target alone, so the
    // stable and the alpha channel both have one called `codex-package-TRIPLE.tar.gz`.
    let candidates: Vec<_> = manifests
        .iter()
        .flat_map(|m| {
            m.targets.keys().filter_map(move |&t| {
                let pinned = m.pinned(t).ok()?;
                let artifact = pinned.pins.artifact_by_file(name)?;
                Some((pinned, artifact))
            })
        })
        .collect();
    if candidates.is_empty() {
        return Err(Error::UnknownArtifact { path: file.to_owned() });
    }
    let location = Location::File(file.to_owned());
    let mut failures = Vec::new();
    // With one candidate the file can only be that runtime; with several, only verifying it
    // tells which, so an installed runtime is no answer.
    let shortcut = candidates.len() == 1;
    for (pinned, artifact) in &candidates {
        match import_as(&location, pinned, artifact, shortcut, cache, reporter) {
            Ok(installed) => return Ok(installed),
            Err(Failure::Fatal(e)) => return Err(e),
            Err(Failure::Attempt(failure)) => failures.push((pinned, failure)),
        }
    }
    let (pinned, _) = failures[0];
    let attempts = failures
        .into_iter()
        .map(|(p, failure)| Attempt {
            source: "import".into(),
            location: format!("{location} (as codex {} for {})", p.manifest.version, p.target),
            failure,
        })
        .collect();
    Err(all_failed(pinned, attempts))
}

/// Install a local artifact as one pinned runtime.
pub(super) fn import_as(
    location: &Location,
    pinned: &Pinned<'_>,
    artifact: &ArtifactPin,
    shortcut: bool,
    cache: &Cache,
    reporter: &dyn Reporter,
) -> Result<Installed, Failure> {
    if shortcut && let Some(installed) = find_installed(pinned, cache) {
        return Ok(installed);
    }
    let _lock = cache.lock_runtime(&pinned.manifest.version, pinned.target, reporter)?;
    if shortcut && let Some(installed) = find_installed(pinned, cache) {
        return Ok(installed);
    }
    cache.clean_stale_scratch();
    let http = OnceCell::new();
    let network = NetworkOptions::builtin();
    let client = || http.get_or_init(Http::new);
    let digests = super::file_digests_of(artifact, pinned);
    fetch(location, artifact, cache, client, &network, reporter, digests).and_then(|fetched| {
        let from = Origin { source: "import", location };
        install_artifact(pinned, artifact, fetched, from, cache, reporter)
    })
}
