//! A minimal client for `codex app-server`, embedded in `codex-runtime` to prove that a runtime
//! is the one that was pinned and speaks the protocol its caller expects.
//!
//! [`check`] launches `CODEX_BIN app-server` with piped stdio, the runtime's `codex-path`
//! directory first on `PATH` and (by default) a fresh temporary `CODEX_HOME`, so that a check
//! never reads or writes the user's codex state. It sends `initialize`, reads newline-delimited
//! JSON until the response with its id (skipping notifications and anything else), sends
//! `initialized`, closes stdin, gives the server a grace period to exit, kills it (its whole
//! process group) otherwise, which is a [`Warning`] and not a problem, and always reaps it. Lines are bounded in length and the wait for the answer in time.
//!
//! The answer's metadata (`userAgent`, whose token after the first `/` is the server's version;
//! `serverInfo` of older servers; `codexHome`, `platformFamily`, `platformOs`) is compared with
//! an [`Expected`]: each shortfall is one [`Problem`]. A server that misbehaves (a JSON-RPC
//! error, an early exit, a line that is not JSON or too long, no answer in time) is an
//! incompatible runtime too, with its evidence in the problem. Only a binary that cannot even
//! be started is an [`Error`].
//!
//! ```no_run
//! use codex_app_server_client::{CheckOptions, ExpectedVersion, check};
//!
//! let mut options = CheckOptions::new("/path/to/runtime/bin/codex");
//! options.path_dir = Some("/path/to/runtime/codex-path".into());
//! options.expected.version = ExpectedVersion::Exact("0.163.0".into());
//! let report = check(&options)?;
//! if !report.ok {
//!     for problem in &report.problems {
//!         eprintln!("incompatible runtime: {problem}");
//!     }
//! }
//! println!("{}", serde_json::to_string(&report).unwrap());
//! # Ok::<(), codex_app_server_client::Error>(())
//! ```
//!
//! [`exec`] runs a runtime in place of the current process, the way rustup's proxies do.
//! [`version`] reads the semver and PEP 440 spellings of versions, for this crate and for
//! `codex-runtime`.

mod exec;
mod handshake;
mod metadata;
pub mod protocol;
mod verdict;
pub mod version;

use std::path::PathBuf;
use std::time::Duration;

pub use exec::exec;
pub use verdict::{Expected, ExpectedVersion, Problem, Warning};

/// Feeds bytes a server wrote on stdout through the newline-delimited JSON-RPC reader and
/// classifies each line. For the fuzz targets only; not part of the API.
#[doc(hidden)]
pub fn fuzz_stdout(stdout: &[u8]) {
    handshake::read_and_classify(stdout);
}

/// How long [`check`] waits for the answer to `initialize` unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long [`check`] lets a server exit on its own after its stdin closes before killing it,
/// unless told otherwise. A real server exits within milliseconds.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(2);

/// What to launch and what to expect of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOptions {
    /// The runtime's entrypoint (`bin/codex`), or any binary to check.
    pub codex_bin: PathBuf,
    /// A directory to put first on the server's `PATH`: the runtime's `codex-path`.
    pub path_dir: Option<PathBuf>,
    /// The `CODEX_HOME` to give the server; `None` makes a temporary one that is removed
    /// afterwards.
    pub codex_home: Option<PathBuf>,
    /// Pass `--listen stdio://` after `app-server`. Off by default: stdio is the default
    /// transport, so plain `app-server` works with servers that predate the flag.
    pub listen_stdio: bool,
    /// How long to wait for the answer to `initialize`.
    pub timeout: Duration,
    /// How long the server may take to exit after its stdin closes.
    pub grace: Duration,
    /// What the server must report.
    pub expected: Expected,
}

impl CheckOptions {
    /// Options to check `codex_bin` with the defaults: a temporary `CODEX_HOME`, nothing added
    /// to `PATH`, [`DEFAULT_TIMEOUT`], [`DEFAULT_GRACE`], and any version on this host's
    /// platform ([`Expected::host`]).
    pub fn new(codex_bin: impl Into<PathBuf>) -> Self {
        Self {
            codex_bin: codex_bin.into(),
            path_dir: None,
            codex_home: None,
            listen_stdio: false,
            timeout: DEFAULT_TIMEOUT,
            grace: DEFAULT_GRACE,
            expected: Expected::host(),
        }
    }
}

/// The verdict on one server. It serializes to the `check --json` document of the
/// command-line contract.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// Whether the server is compatible: `problems` is empty.
    pub ok: bool,
    /// The version the server reported.
    pub version: Option<String>,
    /// The pinned version or the requirement it was checked against.
    pub expected: Option<String>,
    /// `userAgent` as sent.
    pub user_agent: Option<String>,
    /// `platformFamily` as sent.
    pub platform_family: Option<String>,
    /// `platformOs` as sent.
    pub platform_os: Option<String>,
    /// `codexHome` as sent.
    pub codex_home: Option<String>,
    /// From launch to the server's end.
    pub elapsed_ms: u64,
    /// Every reason the server is incompatible.
    pub problems: Vec<Problem>,
    /// What is worth knowing but does not make it incompatible: a server that lingered after
    /// its stdin closed.
    pub warnings: Vec<Warning>,
}

/// A failure to run a check or an exec at all. A server that starts and then misbehaves is not
/// an error but a [`Report`] with problems.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The binary could not be started.
    #[error("cannot launch `{} app-server`: is it an executable codex binary?", program.display())]
    Spawn {
        /// The binary.
        program: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The program given to [`exec`] could not be started.
    #[error("cannot run `{}`", program.display())]
    Exec {
        /// The program.
        program: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No temporary `CODEX_HOME` could be made.
    #[error("cannot create a temporary CODEX_HOME (set TMPDIR, or pass a CODEX_HOME to use)")]
    TempHome {
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The directory cannot be part of `PATH`.
    #[error("cannot put `{}` on PATH", dir.display())]
    Path {
        /// The directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::env::JoinPathsError,
    },
    /// A thread to read the server's output could not be started.
    #[error("cannot start a thread to read the app-server's {stream}")]
    Thread {
        /// `stdout` or `stderr`.
        stream: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `generate-json-schema` exited with a failure.
    #[error("`{} app-server generate-json-schema` failed ({status}){}: is it a codex runtime that describes its protocol (0.151.0 or newer)?", program.display(), stderr_suffix(stderr))]
    SchemaFailed {
        /// The binary.
        program: PathBuf,
        /// How it exited.
        status: String,
        /// The end of its stderr.
        stderr: String,
    },
    /// `generate-json-schema` did not finish in time; it was killed.
    #[error("`{} app-server generate-json-schema` did not finish within {}s and was killed", program.display(), after.as_secs_f64())]
    SchemaTimeout {
        /// The binary.
        program: PathBuf,
        /// The time it was given.
        after: Duration,
    },
    /// A schema file or directory cannot be read.
    #[error("cannot read the protocol schema at {}", path.display())]
    SchemaRead {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A schema directory or file is not what `generate-json-schema` writes.
    #[error("{} is not a protocol schema: {message}", path.display())]
    SchemaInvalid {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Waiting for the killed server failed.
    #[error("cannot reap the app-server process {pid}")]
    Wait {
        /// Its process id.
        pid: u32,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn stderr_suffix(stderr: &str) -> String {
    if stderr.is_empty() { String::new() } else { format!("; its stderr ends with:\n{stderr}\n") }
}

/// Launches `options.codex_bin app-server`, runs the `initialize` handshake and checks the
/// answer against `options.expected`. The server is always gone when this returns.
///
/// # Errors
/// Only when the check cannot run: the binary cannot be started ([`Error::Spawn`]), no
/// temporary `CODEX_HOME` can be made, or a reader thread cannot be started. Everything the
/// server does once started ends up in the [`Report`].
pub fn check(options: &CheckOptions) -> Result<Report, Error> {
    handshake::check(options)
}
