//! The `installed` source: a runtime that pip or npm already put on this machine.
//!
//! Where it looks:
//! - pip: the `codex_cli_bin` package of a Python environment (`--python PATH`, else the
//!   `python3` on `PATH`), located with `importlib.util.find_spec`, which finds the package
//!   without importing it;
//! - npm: `node_modules/@openai/codex*/vendor/TRIPLE` (and one level of nested
//!   `node_modules`) in the current directory and every parent, then under `npm root -g`.
//!
//! A candidate is only a hint. [`crate::install`] copies its files into a scratch
//! directory of the cache and verifies that copy against the pins exactly as it verifies an
//! extracted artifact before anything is renamed into place.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::extract::ExtractedFile;
use crate::model::digest::Sha256;
use crate::model::manifest::{ArtifactKind, Pinned};
use crate::model::target::Target;
use crate::sources::offer::{FailedLookup, LookupError, Offer, ProgramError};

/// A runtime root some installer left on this machine.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// `pip` or `npm`.
    pub installer: &'static str,
    /// The directory holding `codex-package.json`.
    pub root: PathBuf,
}

impl Candidate {
    /// The kind of artifact the installer unpacked.
    pub fn kind(&self) -> ArtifactKind {
        if self.installer == "pip" { ArtifactKind::Wheel } else { ArtifactKind::Npm }
    }
}

/// `pip /path/to/codex_cli_bin`
impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.installer, self.root.display())
    }
}

/// What the installed source offers for `pinned`: the Python that could not be asked, then
/// every runtime root pip or npm left for its target, or where it looked when there is none.
pub(super) fn offers(pinned: &Pinned<'_>, python: Option<&Path>) -> Vec<Offer> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let (candidates, problems) = candidates(pinned.target, python, &cwd);
    let asked = python.map(|p| p.display().to_string()).unwrap_or_default();
    let mut offers: Vec<Offer> = problems
        .into_iter()
        .map(|problem| Offer::Failed(FailedLookup { location: asked.clone(), error: problem.into() }))
        .collect();
    if candidates.is_empty() {
        let python = python.map_or("python3".to_owned(), |p| p.display().to_string());
        let location = format!("pip ({python}), npm (node_modules from {} upward, npm root -g)", cwd.display());
        offers.push(Offer::Failed(FailedLookup { location, error: LookupError::NotFound }));
    }
    offers.extend(candidates.into_iter().map(Offer::Tree));
    offers
}

/// Prints the directory of the `codex_cli_bin` package, or nothing; imports only importlib.
const FIND_SPEC: &str = "import importlib.util as u\n\
s = u.find_spec('codex_cli_bin')\n\
print(list(s.submodule_search_locations)[0] if s and s.submodule_search_locations else '')";

/// Every candidate for `target`, and what went wrong while looking (an explicit `--python`
/// that cannot run).
fn candidates(target: Target, python: Option<&Path>, cwd: &Path) -> (Vec<Candidate>, Vec<ProgramError>) {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    match pip_package_dir(python) {
        Ok(Some(dir)) => found.push(Candidate { installer: "pip", root: dir }),
        Ok(None) => {}
        Err(problem) => problems.push(problem),
    }
    let mut roots: Vec<PathBuf> = cwd.ancestors().map(|d| d.join("node_modules")).collect();
    roots.extend(npm_global_root());
    for node_modules in roots {
        for root in npm_runtime_roots(&node_modules, target) {
            found.push(Candidate { installer: "npm", root });
        }
    }
    let mut seen = Vec::new();
    found.retain(|c| {
        let key = std::fs::canonicalize(&c.root).unwrap_or_else(|_| c.root.clone());
        let new = !seen.contains(&key);
        seen.push(key);
        new
    });
    (found, problems)
}

/// Where pip put `codex_cli_bin` for this Python, when it did.
fn pip_package_dir(python: Option<&Path>) -> Result<Option<PathBuf>, ProgramError> {
    let default = if cfg!(windows) { "python" } else { "python3" };
    let exe = python.unwrap_or(Path::new(default));
    let output = Command::new(exe).args(["-c", FIND_SPEC]).stdin(Stdio::null()).stderr(Stdio::piped()).output();
    let output = match output {
        Ok(o) => o,
        Err(e) if python.is_none() && e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(ProgramError::Spawn { program: exe.to_owned(), source }),
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last_line = stderr.lines().last().unwrap_or_default().to_owned();
        return Err(ProgramError::Failed { program: exe.to_owned(), last_line });
    }
    let dir = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    Ok((!dir.is_empty()).then(|| PathBuf::from(dir)).filter(|d| d.join("codex-package.json").is_file()))
}

/// `npm root -g`, when npm runs.
fn npm_global_root() -> Option<PathBuf> {
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    let output = Command::new(npm).args(["root", "-g"]).stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
    let root = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    (output.status.success() && !root.is_empty()).then(|| PathBuf::from(root))
}

/// `@openai/codex*/vendor/TRIPLE` under a `node_modules`, and under the `node_modules` of
/// those packages (where npm nests a platform package it could not hoist).
fn npm_runtime_roots(node_modules: &Path, target: Target) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for package in codex_packages(node_modules) {
        let root = package.join("vendor").join(target.triple());
        if root.join("codex-package.json").is_file() {
            out.push(root);
        }
        for nested in codex_packages(&package.join("node_modules")) {
            let root = nested.join("vendor").join(target.triple());
            if root.join("codex-package.json").is_file() {
                out.push(root);
            }
        }
    }
    out
}

fn codex_packages(node_modules: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(node_modules.join("@openai")) else { return Vec::new() };
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.starts_with("codex")))
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

/// Why a tree cannot be adopted.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("{} is a symbolic link; an installed runtime holds regular files only", path.display())]
    Symlink { path: PathBuf },
    #[error("{} is not a regular file (a fifo, socket or device); an installed runtime holds regular files only", path.display())]
    NotRegular { path: PathBuf },
    #[error("it holds more than {max_entries} files or {max_bytes} bytes, more than the pins allow")]
    TooBig { max_entries: u64, max_bytes: u64 },
    #[error("cannot {action} {}", path.display())]
    Read {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Recreate the tree at `root` under `dest`, copying each file (the kernel copies; a hard link
/// would let whoever owns the installed file change the cached one later), and hash the
/// copies. Python's `__pycache__` is left out.
pub fn copy_tree(root: &Path, dest: &Path, max_entries: u64, max_bytes: u64) -> Result<Vec<ExtractedFile>, CopyError> {
    let mut files = Vec::new();
    let mut total = 0u64;
    let mut stack = vec![String::new()];
    // Bounded: every directory is visited once and the entry count is capped.
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        let read = |source| CopyError::Read { action: "list", path: dir.clone(), source };
        std::fs::create_dir_all(dest.join(&rel))
            .map_err(|source| CopyError::Write { path: dest.join(&rel), source })?;
        let mut entries: Vec<_> = std::fs::read_dir(&dir).map_err(read)?.collect::<Result<_, _>>().map_err(read)?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let child = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
            let kind = entry.file_type().map_err(|source| CopyError::Read {
                action: "inspect",
                path: path.clone(),
                source,
            })?;
            if kind.is_symlink() {
                return Err(CopyError::Symlink { path });
            }
            if kind.is_dir() {
                if name != "__pycache__" {
                    stack.push(child);
                }
                continue;
            }
            // Only regular files, and within the bounds before a byte is copied: a fifo would
            // block forever, a huge or sparse file would be copied for nothing.
            if !kind.is_file() {
                return Err(CopyError::NotRegular { path });
            }
            let len = entry
                .metadata()
                .map_err(|source| CopyError::Read { action: "inspect", path: path.clone(), source })?
                .len();
            if files.len() as u64 >= max_entries || total.saturating_add(len) > max_bytes {
                return Err(CopyError::TooBig { max_entries, max_bytes });
            }
            let target = dest.join(&child);
            std::fs::copy(&path, &target).map_err(|source| CopyError::Write { path: target.clone(), source })?;
            let file = std::fs::File::open(&target).map_err(|source| CopyError::Read {
                action: "read",
                path: target.clone(),
                source,
            })?;
            let executable = is_executable(&file);
            let (sha256, size) = Sha256::of_reader(file).map_err(|source| CopyError::Read {
                action: "read",
                path: target.clone(),
                source,
            })?;
            total += size;
            if files.len() as u64 >= max_entries || total > max_bytes {
                return Err(CopyError::TooBig { max_entries, max_bytes });
            }
            files.push(ExtractedFile { path: child, sha256: Some(sha256), size, executable });
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn is_executable(file: &std::fs::File) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.metadata().is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npm_roots_are_found_hoisted_and_nested() {
        let dir = tempfile::tempdir().unwrap();
        let target: Target = "x86_64-unknown-linux-musl".parse().unwrap();
        let nm = dir.path().join("node_modules");
        let hoisted = nm.join("@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl");
        let nested = nm.join("@openai/codex/node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl");
        let other_target = nm.join("@openai/codex-darwin-arm64/vendor/aarch64-apple-darwin");
        let unrelated = nm.join("@openai/agents/vendor/x86_64-unknown-linux-musl");
        for d in [&hoisted, &nested, &other_target, &unrelated] {
            std::fs::create_dir_all(d).unwrap();
            std::fs::write(d.join("codex-package.json"), "{}").unwrap();
        }
        assert_eq!(npm_runtime_roots(&nm, target), vec![nested, hoisted]);
    }

    #[test]
    fn copy_tree_copies_regular_files_and_refuses_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::create_dir_all(root.join("__pycache__")).unwrap();
        std::fs::write(root.join("bin/codex"), b"binary").unwrap();
        std::fs::write(root.join("__pycache__/x.pyc"), b"cache").unwrap();
        std::fs::write(root.join("codex-package.json"), b"{}").unwrap();
        let files = copy_tree(&root, &dir.path().join("out"), 10, 1000).unwrap();
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["bin/codex", "codex-package.json"]);
        assert_eq!(files[0].sha256, Some(Sha256::of_reader(&b"binary"[..]).unwrap().0));
        assert_eq!(std::fs::read(dir.path().join("out/bin/codex")).unwrap(), b"binary");

        assert!(matches!(copy_tree(&root, &dir.path().join("small"), 1, 1000), Err(CopyError::TooBig { .. })));

        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc/passwd", root.join("bin/evil")).unwrap();
            assert!(matches!(copy_tree(&root, &dir.path().join("out2"), 10, 1000), Err(CopyError::Symlink { .. })));
        }
    }
}
