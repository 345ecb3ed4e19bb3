//! Real private registries on loopback for the test suite: a [`Verdaccio`] npm registry and a
//! [`PyPiServer`] Python index, both requiring credentials for every read, both holding the
//! real 0.163.0 runtime for x86_64 Linux, fetched once with the ordinary `npm` and `pip`
//! clients and shared by every test process.
//!
//! The servers are installed on demand, once, under `<target>/test-tools/` (a file lock keeps
//! concurrent test processes from installing twice). Where that is impossible (no registry
//! reachable, no `npm` or `python3`), `start` answers [`Unavailable`], and
//! [`skip_or_fail`] turns that into a skip on a developer's machine and a failure on CI:
//!
//! ```no_run
//! use codex_runtime_test_support::registries::Verdaccio;
//!
//! let Some(npm) = Verdaccio::start_or_skip() else { return };
//! println!("{}", npm.url());
//! ```
//!
//! A server that is installed but misbehaves is a bug and panics, with the tail of its log.

mod artifacts;
mod probe;
mod process;
mod pypiserver;
mod verdaccio;

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use base64::Engine as _;
use sha1::{Digest, Sha1};

pub use artifacts::{REAL_ARTIFACTS_ENV, real_npm_tarball, real_wheel, try_real_npm_tarball, try_real_wheel};
pub use probe::{Response, http_request};
pub use pypiserver::{PYPISERVER_VERSION, PyPiServer};
pub use verdaccio::{VERDACCIO_VERSION, Verdaccio};

/// The real runtime every registry holds: this version of the runtime...
pub const REAL_VERSION: &str = "0.163.0";
/// ...as the npm tarball of this platform suffix...
pub const REAL_NPM_SUFFIX: &str = "linux-x64";
/// ...and as the wheel of this platform tag.
pub const REAL_WHEEL_PLATFORM: &str = "manylinux_2_17_x86_64";

/// Why a registry fixture cannot be had on this machine: a tool that could not be installed or
/// an artifact that could not be fetched (no registry reachable, no `npm` or `python3`).
#[derive(Debug, Clone)]
pub struct Unavailable {
    /// What failed and what to do about it.
    pub reason: String,
}

impl Unavailable {
    /// An `Unavailable` saying `reason`.
    pub fn new(reason: impl Into<String>) -> Unavailable {
        Unavailable { reason: reason.into() }
    }
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for Unavailable {}

/// Whether this is CI (`CI=true`), where a fixture that cannot be had fails the test.
pub fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The skip policy: the fixture, or `None` after printing `skipped: <reason>` to stderr; on CI
/// (`CI=true`), where the suite must prove the fixtures, a panic instead of the skip.
pub fn skip_or_fail<T>(result: Result<T, Unavailable>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(e) if on_ci() => panic!("{e}\n(CI=true: a registry fixture that cannot be installed fails the test)"),
        Err(e) => {
            eprintln!("skipped: {e}");
            None
        }
    }
}

/// The workspace's target directory: `CARGO_TARGET_DIR` (relative to the workspace root when
/// relative), else `target/` at the workspace root.
pub fn target_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace.join(dir),
        _ => workspace.join("target"),
    };
    std::fs::create_dir_all(&dir).ok();
    dir.canonicalize().unwrap_or(dir)
}

/// `<target>/test-tools/`: the installed servers and the template storage of the npm registry.
pub fn tools_dir() -> PathBuf {
    target_dir().join("test-tools")
}

/// A fresh directory for one server under `<target>/test-tools/run/`, on the file system of the
/// shared artifacts so they can be hard-linked into it; removed when dropped. Directories left
/// there by killed test processes are removed once older than any server can live.
fn run_dir(prefix: &str) -> Result<tempfile::TempDir, String> {
    let parent = tools_dir().join("run");
    std::fs::create_dir_all(&parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    remove_stale(&parent, process::MAX_LIFETIME + Duration::from_secs(60 * 60));
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(&parent)
        .map_err(|e| format!("cannot create a directory in {}: {e}", parent.display()))
}

/// Remove the entries of `dir` not modified for `age`.
fn remove_stale(dir: &Path, age: Duration) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.filter_map(Result::ok) {
        let old = entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| t.elapsed().is_ok_and(|e| e > age));
        if old {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// How long a process waits for another one's install or download before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(20 * 60);

/// Hold an exclusive lock on `path` (created if missing) until the returned file is dropped;
/// waits for another holder at most [`LOCK_WAIT`].
fn lock(path: &Path) -> Result<File, String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| format!("cannot open the lock file {}: {e}", path.display()))?;
    let start = Instant::now();
    // Bounded: LOCK_WAIT / 200 ms polls.
    for _ in 0..(LOCK_WAIT.as_millis() / 200) {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => std::thread::sleep(Duration::from_millis(200)),
            Err(std::fs::TryLockError::Error(e)) => return Err(format!("cannot lock {}: {e}", path.display())),
        }
        if start.elapsed() > LOCK_WAIT {
            break;
        }
    }
    Err(format!(
        "{} stayed locked for {LOCK_WAIT:?}: another test process is stuck installing or downloading; end it and retry",
        path.display()
    ))
}

/// Whether an executable file called `name` is in a directory of `PATH`.
fn on_path(name: &str) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .any(|dir| std::fs::metadata(dir.join(name)).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// Run `cmd` to completion, or say what failed with its output.
fn run(cmd: &mut Command, what: &str) -> Result<Output, String> {
    let out = cmd.output().map_err(|e| format!("{what}: cannot run {:?}: {e}", cmd.get_program()))?;
    if out.status.success() {
        return Ok(out);
    }
    Err(format!(
        "{what}: {cmd:?} exited with {}\nstdout: {}\nstderr: {}",
        out.status,
        tail(&String::from_utf8_lossy(&out.stdout), 30),
        tail(&String::from_utf8_lossy(&out.stderr), 30),
    ))
}

/// The last `lines` lines of `text`.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// An htpasswd line for `user` with an apache `{SHA}` hash, which verdaccio's htpasswd plugin
/// and passlib (pypiserver's `-P`) both read.
fn htpasswd_line(user: &str, password: &str) -> String {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha1::digest(password.as_bytes()));
    format!("{user}:{{SHA}}{hash}\n")
}

/// `Basic BASE64(user:password)`.
fn basic_auth(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

/// Hard-link `from` to `to`, or copy it where a link cannot be made (another file system).
fn link_or_copy(from: &Path, to: &Path) -> Result<(), String> {
    if std::fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    std::fs::copy(from, to)
        .map(drop)
        .map_err(|e| format!("cannot link or copy {} to {}: {e}", from.display(), to.display()))
}

/// A port on 127.0.0.1 that was free a moment ago (the caller retries if it races).
fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot bind 127.0.0.1:0: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| format!("no local address: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htpasswd_line_is_apache_sha() {
        // `htpasswd -nbs user password`
        assert_eq!(htpasswd_line("user", "password"), "user:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n");
    }

    #[test]
    fn skip_or_fail_skips_off_ci_and_fails_on_ci() {
        assert_eq!(skip_or_fail(Ok::<_, Unavailable>(7)), Some(7));
        let unavailable = || skip_or_fail(Err::<u8, _>(Unavailable::new("no npm here")));
        if on_ci() {
            assert!(std::panic::catch_unwind(unavailable).is_err(), "CI=true must fail");
        } else {
            assert_eq!(unavailable(), None);
        }
    }

    #[test]
    fn on_path_finds_sh_only() {
        assert!(on_path("sh"));
        assert!(!on_path("no-such-program-codex-runtime"));
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
    }
}
