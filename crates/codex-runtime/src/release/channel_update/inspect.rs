//! What an artifact holds: its `codex-package.json` and the digest of every file of the runtime.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::model::digest::Sha256;
use crate::model::manifest::{FilePin, NPM_DOCUMENT_FIELDS};
use crate::model::target::Target;
use crate::model::version::RuntimeVersion;

use super::{Inspected, PACKAGE_JSON, TargetError, conclude};

/// The runtime files of every artifact, sorted by path; a file two artifacts both carry must
/// be the same in both.
pub(super) fn union_of_files(inspected: &[(String, Inspected)]) -> Result<Vec<FilePin>, TargetError> {
    let mut union: std::collections::BTreeMap<&str, (&str, &FilePin)> = std::collections::BTreeMap::new();
    for (artifact, seen) in inspected {
        for file in &seen.files {
            match union.get(file.path.as_str()) {
                Some((first, pin)) if *pin != file => {
                    return Err(TargetError::Mismatch(format!(
                        "{} differs between {first} (sha256 {}, {} bytes) and {artifact} (sha256 {}, {} bytes)",
                        file.path, pin.sha256, pin.size, file.sha256, file.size
                    )));
                }
                Some(_) => {}
                None => {
                    union.insert(&file.path, (artifact, file));
                }
            }
        }
    }
    Ok(union.into_values().map(|(_, pin)| pin.clone()).collect())
}

pub(super) fn clean(name: &str) -> String {
    let mut name = name;
    while let Some(rest) = name.strip_prefix("./") {
        name = rest;
    }
    name.trim_end_matches('/').to_owned()
}

/// Keep one `codex-package.json`; a second one makes the root ambiguous.
pub(super) fn keep_package(found: &mut Option<(String, Vec<u8>)>, name: &str, raw: Vec<u8>) -> Result<(), String> {
    if let Some((first, _)) = found {
        return Err(format!("two {PACKAGE_JSON} files in the archive: {first} and {name}"));
    }
    *found = Some((name.to_owned(), raw));
    Ok(())
}

pub(super) fn is_package_json(name: &str) -> bool {
    name == PACKAGE_JSON || name.ends_with(&format!("/{PACKAGE_JSON}"))
}

/// One streaming pass over a tarball: count members, sum and hash the regular files.
pub(super) fn inspect_tar(path: &Path, version: &RuntimeVersion, target: Target) -> Result<Inspected, String> {
    let file = File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(io::BufReader::new(file)));
    let (mut entries, mut unpacked) = (0u64, 0u64);
    let mut files = HashMap::new();
    let mut package = None;
    let mut package_json = None;
    for entry in archive.entries().map_err(|e| format!("not a tar.gz: {e}"))? {
        let mut entry = entry.map_err(|e| format!("corrupt tar.gz: {e}"))?;
        entries += 1;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = clean(&entry.path().map_err(|e| format!("bad member name: {e}"))?.to_string_lossy());
        unpacked = unpacked.saturating_add(entry.size());
        let digest = if is_package_json(&name) && entry.size() <= 1 << 20 {
            let mut raw = Vec::new();
            entry.read_to_end(&mut raw).map_err(|e| format!("corrupt tar.gz: {e}"))?;
            let digest = Sha256::of_reader(raw.as_slice()).expect("reading memory");
            keep_package(&mut package, &name, raw)?;
            digest
        } else if name == NPM_PACKAGE_JSON && entry.size() <= 1 << 20 {
            let mut raw = Vec::new();
            entry.read_to_end(&mut raw).map_err(|e| format!("corrupt tar.gz: {e}"))?;
            package_json = Some(document_fields(&raw)?);
            Sha256::of_reader(raw.as_slice()).expect("reading memory")
        } else {
            Sha256::of_reader(&mut entry).map_err(|e| format!("corrupt tar.gz: {e}"))?
        };
        files.insert(name, digest);
    }
    let mut inspected = conclude(package, &files, version, target, entries, unpacked)?;
    inspected.package_json = package_json;
    Ok(inspected)
}

/// npm's `package/package.json` of a platform tarball.
const NPM_PACKAGE_JSON: &str = "package/package.json";

/// The fields of a `package.json` an npm package document repeats.
fn document_fields(raw: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let json: serde_json::Value =
        serde_json::from_slice(raw).map_err(|e| format!("{NPM_PACKAGE_JSON} is not JSON: {e}"))?;
    let json = json.as_object().ok_or_else(|| format!("{NPM_PACKAGE_JSON} is not a JSON object"))?;
    Ok(NPM_DOCUMENT_FIELDS.iter().filter_map(|k| Some(((*k).to_owned(), json.get(*k)?.clone()))).collect())
}

/// A wheel's central directory, its `codex-package.json` and its entrypoint.
pub(super) fn inspect_zip(path: &Path, version: &RuntimeVersion, target: Target) -> Result<Inspected, String> {
    let file = File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut archive = zip::ZipArchive::new(io::BufReader::new(file)).map_err(|e| format!("not a zip: {e}"))?;
    let entries = archive.len() as u64;
    let mut unpacked = 0u64;
    let mut regular = HashMap::new();
    let mut package = None;
    for i in 0..archive.len() {
        let mut member = archive.by_index(i).map_err(|e| format!("corrupt zip: {e}"))?;
        if member.is_dir() || member.is_symlink() {
            continue;
        }
        unpacked = unpacked.saturating_add(member.size());
        let name = clean(&member.name().map_err(|e| format!("bad member name: {e}"))?);
        if is_package_json(&name) && member.size() <= 1 << 20 {
            let mut raw = Vec::new();
            member.read_to_end(&mut raw).map_err(|e| format!("corrupt zip: {e}"))?;
            keep_package(&mut package, &name, raw)?;
        }
        regular.insert(name, i);
    }
    // Every regular file under the runtime root is pinned; find the root through the package
    // description.
    let root = package.as_ref().map(|(p, _)| p.strip_suffix(PACKAGE_JSON).unwrap_or_default().to_owned());
    let mut files = HashMap::new();
    if let Some(root) = root {
        for (name, &i) in regular.iter().filter(|(name, _)| name.starts_with(&root)) {
            let member = archive.by_index(i).map_err(|e| format!("corrupt zip: {e}"))?;
            let digest = Sha256::of_reader(member).map_err(|e| format!("corrupt zip: {e}"))?;
            files.insert(name.clone(), digest);
        }
    }
    conclude(package, &files, version, target, entries, unpacked)
}
