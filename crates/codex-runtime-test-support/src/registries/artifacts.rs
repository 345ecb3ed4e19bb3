//! The real runtime's artifacts, fetched once with the ordinary `npm` and `pip` clients (from
//! the registries of the user's configuration) and shared by every test process.
//!
//! They live in `CODEX_RUNTIME_REAL_ARTIFACTS` when that directory already holds the file (to
//! reuse a download), else in `<target>/real-artifacts/`, fetched there under a file lock into a
//! temporary directory and renamed into place, so a killed download leaves no half file.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Unavailable, lock, run, target_dir};

/// The environment variable naming a directory that may already hold the real artifacts.
pub const REAL_ARTIFACTS_ENV: &str = "CODEX_RUNTIME_REAL_ARTIFACTS";

/// The real npm tarball `@openai/codex@{version}-{suffix}` (e.g. `0.163.0`, `linux-x64`: the
/// file `openai-codex-0.163.0-linux-x64.tgz`), fetched once with `npm pack`.
///
/// # Panics
/// When it cannot be fetched; see [`try_real_npm_tarball`] for the error instead.
pub fn real_npm_tarball(version: &str, suffix: &str) -> PathBuf {
    try_real_npm_tarball(version, suffix).unwrap_or_else(|e| panic!("{e}"))
}

/// [`real_npm_tarball`], or why it cannot be fetched.
pub fn try_real_npm_tarball(version: &str, suffix: &str) -> Result<PathBuf, Unavailable> {
    let file = format!("openai-codex-{version}-{suffix}.tgz");
    let spec = format!("@openai/codex@{version}-{suffix}");
    shared(
        &file,
        |name| name == file,
        |partial| {
            let mut npm = Command::new("npm");
            npm.args(["pack", "--silent", &spec]).arg("--pack-destination").arg(partial).current_dir(partial);
            run(&mut npm, &format!("fetching {spec} with npm pack")).map(drop)
        },
    )
}

/// The real wheel `openai-codex-cli-bin=={version}` for `platform_tag` (e.g. `0.163.0`,
/// `manylinux_2_17_x86_64`), fetched once with `pip download`.
///
/// # Panics
/// When it cannot be fetched; see [`try_real_wheel`] for the error instead.
pub fn real_wheel(version: &str, platform_tag: &str) -> PathBuf {
    try_real_wheel(version, platform_tag).unwrap_or_else(|e| panic!("{e}"))
}

/// [`real_wheel`], or why it cannot be fetched.
pub fn try_real_wheel(version: &str, platform_tag: &str) -> Result<PathBuf, Unavailable> {
    let prefix = format!("openai_codex_cli_bin-{version}-");
    let expected = format!("{prefix}py3-none-{platform_tag}.whl");
    let requirement = format!("openai-codex-cli-bin=={version}");
    let matches = |name: &str| name.starts_with(&prefix) && name.ends_with(".whl") && name.contains(platform_tag);
    shared(&expected, matches, |partial| {
        let mut pip = Command::new("python3");
        pip.args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--platform", platform_tag])
            .arg(&requirement)
            .arg("-d")
            .arg(partial)
            .current_dir(partial);
        run(&mut pip, &format!("fetching {requirement} ({platform_tag}) with pip download")).map(drop)
    })
}

/// The file in `dir` whose name `matches`.
fn find(dir: &Path, matches: &impl Fn(&str) -> bool) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()) && e.file_name().to_str().is_some_and(matches))
        .map(|e| e.path())
        .collect();
    found.sort();
    found.pop()
}

/// The shared artifact `file` (any file whose name `matches`): from `CODEX_RUNTIME_REAL_ARTIFACTS`,
/// from `<target>/real-artifacts/`, or fetched there by `fetch(partial_dir)` under a lock.
fn shared(
    file: &str,
    matches: impl Fn(&str) -> bool,
    fetch: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<PathBuf, Unavailable> {
    if let Some(dir) = std::env::var_os(REAL_ARTIFACTS_ENV).filter(|d| !d.is_empty())
        && let Some(found) = find(Path::new(&dir), &matches)
    {
        return Ok(found);
    }
    let dir = target_dir().join("real-artifacts");
    let _lock = lock(&dir.join(format!(".lock-{file}"))).map_err(Unavailable::new)?;
    if let Some(found) = find(&dir, &matches) {
        return Ok(found);
    }
    let partial = dir.join(format!(".partial-{file}"));
    // Left by a download that was killed; nobody else uses it while we hold the lock.
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial)
        .map_err(|e| Unavailable::new(format!("cannot create {}: {e}", partial.display())))?;
    let result = fetch(&partial).and_then(|()| {
        let fetched = find(&partial, &matches).ok_or_else(|| {
            format!("the fetch of {file} succeeded but wrote no such file into {}", partial.display())
        })?;
        let name = fetched.file_name().map(PathBuf::from).unwrap_or_else(|| PathBuf::from(file));
        let into = dir.join(name);
        std::fs::rename(&fetched, &into)
            .map_err(|e| format!("cannot move {} to {}: {e}", fetched.display(), into.display()))?;
        Ok(into)
    });
    let _ = std::fs::remove_dir_all(&partial);
    result.map_err(|e| {
        Unavailable::new(format!(
            "the real artifact {file} could not be fetched: {e}\n(fetch it with the ordinary client into a directory and point {REAL_ARTIFACTS_ENV} at it)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_picks_a_matching_file_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("openai_codex_cli_bin-0.163.0-py3-none-manylinux_2_17_x86_64.whl"), b"")
            .unwrap();
        std::fs::write(dir.path().join("other.whl"), b"").unwrap();
        std::fs::create_dir(dir.path().join("openai_codex_cli_bin-0.163.0-dir.whl")).unwrap();
        let m = |n: &str| n.starts_with("openai_codex_cli_bin-0.163.0-") && n.ends_with(".whl");
        let found = find(dir.path(), &m).unwrap();
        assert!(found.ends_with("openai_codex_cli_bin-0.163.0-py3-none-manylinux_2_17_x86_64.whl"), "{found:?}");
        assert!(find(dir.path(), &|n: &str| n.ends_with(".tgz")).is_none());
    }
}
