//! The output directory: what may be replaced, the staging directory beside it, the index, and
//! the rename that publishes a bundle whole.

use std::io::{self};
use std::path::{Path, PathBuf};

use crate::model::digest::Sha256;

use super::{BUNDLE_JSON, BundleDescription, BundleError, SHA256SUMS};

/// Whether one of two paths is inside the other (or they are the same), links resolved as far
/// as the paths exist.
pub(super) fn overlaps(a: &Path, b: &Path) -> bool {
    fn resolved(path: &Path) -> PathBuf {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        // The longest part that exists, with its links resolved, then the rest as written.
        let mut rest = Vec::new();
        let mut existing = path.as_path();
        // Bounded: each turn drops one component.
        loop {
            if let Ok(real) = existing.canonicalize() {
                return rest.iter().rev().fold(real, |p, c| p.join(c));
            }
            match (existing.parent(), existing.file_name()) {
                (Some(parent), Some(name)) => {
                    rest.push(name.to_owned());
                    existing = parent;
                }
                _ => return path,
            }
        }
    }
    let (a, b) = (resolved(a), resolved(b));
    a.starts_with(&b) || b.starts_with(&a)
}

/// Refuse an `out` that holds anything but a previous bundle, unless forced.
pub(super) fn check_out(out: &Path, force: bool) -> Result<(), BundleError> {
    let mut entries = match std::fs::read_dir(out) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(_) if out.exists() && !out.is_dir() => return Err(BundleError::OutNotDir { path: out.to_owned() }),
        Err(e) => return Err(BundleError::Io { action: "read", path: out.to_owned(), source: e }),
    };
    if force || entries.next().is_none() || is_previous_bundle(out) {
        return Ok(());
    }
    if let Some(files) = strays(out).filter(|f| !f.is_empty()) {
        return Err(BundleError::OutHasStrays { path: out.to_owned(), files });
    }
    Err(BundleError::OutNotEmpty { path: out.to_owned() })
}

/// A directory a previous run wrote: its `bundle.json` parses, and it holds nothing that
/// `SHA256SUMS` does not list.
pub(super) fn is_previous_bundle(dir: &Path) -> bool {
    let parsed = std::fs::read(dir.join(BUNDLE_JSON))
        .ok()
        .and_then(|b| serde_json::from_slice::<BundleDescription>(&b).ok())
        .is_some();
    let Ok(sums) = std::fs::read_to_string(dir.join(SHA256SUMS)) else { return false };
    let listed: Vec<&str> = sums.lines().filter_map(|l| l.split_once("  ").map(|(_, p)| p)).collect();
    let Ok(entries) = std::fs::read_dir(dir) else { return false };
    parsed
        && entries.flatten().all(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name == SHA256SUMS || listed.iter().any(|p| *p == name || p.starts_with(&format!("{name}/")))
        })
}

/// The entries of a previous bundle at `dir` that its `SHA256SUMS` does not list; `None` when
/// `dir` holds no previous bundle at all.
fn strays(dir: &Path) -> Option<Vec<String>> {
    serde_json::from_slice::<BundleDescription>(&std::fs::read(dir.join(BUNDLE_JSON)).ok()?).ok()?;
    let sums = std::fs::read_to_string(dir.join(SHA256SUMS)).ok()?;
    let listed: Vec<&str> = sums.lines().filter_map(|l| l.split_once("  ").map(|(_, p)| p)).collect();
    let mut strays: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name != SHA256SUMS && !listed.iter().any(|p| p == name || p.starts_with(&format!("{name}/"))))
        .collect();
    strays.sort();
    Some(strays)
}

/// Whether `dir` is a bundle with a static index (`--format index`).
pub(super) fn is_index(dir: &Path) -> bool {
    is_previous_bundle(dir) && (dir.join("simple").is_dir() || dir.join("@openai").is_dir())
}

/// A fresh directory next to `out`, on the same filesystem so publishing is a rename.
pub(super) fn staging_dir(out: &Path) -> Result<tempfile::TempDir, BundleError> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(BundleError::io("create", &parent))?;
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "bundle".into());
    tempfile::Builder::new()
        .prefix(&format!(".{name}.partial-"))
        .tempdir_in(&parent)
        .map_err(BundleError::io("create a directory in", &parent))
}

/// `bundle.json`, then `SHA256SUMS` over every file including `bundle.json` and `extra` (what
/// the index added or kept).
pub(super) fn write_index(
    staging: &Path,
    description: &BundleDescription,
    extra: &[(String, Sha256)],
) -> Result<(), BundleError> {
    let mut json = serde_json::to_vec_pretty(description).expect("a bundle description always serializes");
    json.push(b'\n');
    let path = staging.join(BUNDLE_JSON);
    std::fs::write(&path, &json).map_err(BundleError::io("write", &path))?;
    let mut files: Vec<(String, Sha256)> =
        description.targets.values().flat_map(|t| t.files.iter().map(|f| (f.path.clone(), f.sha256))).collect();
    files.push((BUNDLE_JSON.to_owned(), Sha256::of_reader(json.as_slice()).expect("reading memory").0));
    files.extend(extra.iter().cloned());
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files.dedup_by(|a, b| a.0 == b.0);
    let sums: String = files.iter().map(|(path, sha)| format!("{sha}  {path}\n")).collect();
    let path = staging.join(SHA256SUMS);
    std::fs::write(&path, sums).map_err(BundleError::io("write", &path))
}

/// The wheels and npm tarballs of a previous bundle at `out` that `staging` lacks (other
/// versions, for an additive index), linked (or copied) into `staging` after each is checked
/// against the previous `SHA256SUMS`: their paths and digests.
pub(super) fn carry_previous_artifacts(out: &Path, staging: &Path) -> Result<Vec<(String, Sha256)>, BundleError> {
    if !is_previous_bundle(out) {
        return Ok(Vec::new());
    }
    let sums_path = out.join(SHA256SUMS);
    let sums = std::fs::read_to_string(&sums_path).map_err(BundleError::io("read", &sums_path))?;
    let mut carried = Vec::new();
    for line in sums.lines() {
        let Some((sha, name)) = line.split_once("  ") else { continue };
        let flat = !name.contains('/');
        let artifact = name.ends_with(".whl") || (name.starts_with("openai-codex-") && name.ends_with(".tgz"));
        let (Ok(sha256), true, true) = (sha.parse::<Sha256>(), flat, artifact) else { continue };
        let (from, to) = (out.join(name), staging.join(name));
        if to.exists() {
            continue;
        }
        let file = std::fs::File::open(&from).map_err(BundleError::io("read", &from))?;
        let (actual, _) =
            Sha256::of_reader(io::BufReader::with_capacity(1 << 20, file)).map_err(BundleError::io("read", &from))?;
        if actual != sha256 {
            return Err(BundleError::Io {
                action: "keep in the index",
                path: from,
                source: io::Error::other(format!(
                    "its sha256 is {actual}, the previous SHA256SUMS says {sha256}; remove it or bundle with --force"
                )),
            });
        }
        if std::fs::hard_link(&from, &to).is_err() {
            std::fs::copy(&from, &to).map_err(BundleError::io("copy", &from))?;
        }
        carried.push((name.to_owned(), sha256));
    }
    Ok(carried)
}

/// Move the finished staging directory to `out`, replacing what is there whole: the old
/// contents are renamed aside first and removed only after the new bundle is in place.
pub(super) fn publish(staging: tempfile::TempDir, out: &Path) -> Result<(), BundleError> {
    let staged = staging.keep();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // tempfile creates 0700 directories; a bundle is meant to be shared.
        let _ = std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o755));
    }
    let aside = if out.exists() {
        let aside = staged.with_file_name(
            staged.file_name().expect("a temp dir has a name").to_string_lossy().replace(".partial-", ".old-"),
        );
        if let Err(e) = std::fs::rename(out, &aside) {
            let _ = std::fs::remove_dir_all(&staged);
            return Err(BundleError::Io {
                action: "move aside the previous bundle at",
                path: out.to_owned(),
                source: e,
            });
        }
        Some(aside)
    } else {
        None
    };
    if let Err(e) = std::fs::rename(&staged, out) {
        if let Some(aside) = &aside {
            let _ = std::fs::rename(aside, out);
        }
        let _ = std::fs::remove_dir_all(&staged);
        return Err(BundleError::Io { action: "move the bundle into", path: out.to_owned(), source: e });
    }
    if let Some(aside) = aside {
        let _ = std::fs::remove_dir_all(aside);
    }
    Ok(())
}
