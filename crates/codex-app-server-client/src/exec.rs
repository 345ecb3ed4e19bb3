//! Running a runtime in place of the current process, for `codex-runtime exec`.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, ExitStatus};

use crate::Error;
use crate::handshake::path_with;

/// Runs `program` with `args`, with `path_dir` (the runtime's `codex-path` directory) first on
/// `PATH`, the way rustup's proxies run a toolchain's binaries.
///
/// On Unix the current process is *replaced* (`execvp`): on success this function never
/// returns, the runtime keeps the process id, the terminal and its signals, and its exit status
/// is the status of the process. Call it only when nothing is left to clean up.
///
/// Elsewhere the runtime runs as a child that inherits stdio; Ctrl-C is ignored by this
/// process (the console delivers it to the child too, which decides what to do), and the
/// child's [`ExitStatus`] is returned for the caller to exit with, e.g.
/// `std::process::exit(status.code().unwrap_or(1))`.
///
/// # Errors
/// [`Error::Exec`] when `program` cannot be started (missing, not executable), and
/// [`Error::Path`] when `path_dir` cannot be put on `PATH`.
pub fn exec(program: &Path, args: &[OsString], path_dir: Option<&Path>) -> Result<ExitStatus, Error> {
    let mut command = Command::new(program);
    command.args(args);
    if let Some(path) = path_with(path_dir)? {
        command.env("PATH", path);
    }
    run(program, command)
}

#[cfg(unix)]
fn run(program: &Path, mut command: Command) -> Result<ExitStatus, Error> {
    use std::os::unix::process::CommandExt;

    let source = command.exec();
    Err(Error::Exec { program: program.to_path_buf(), source })
}

#[cfg(not(unix))]
fn run(program: &Path, mut command: Command) -> Result<ExitStatus, Error> {
    // A handler that does nothing keeps Ctrl-C from ending this process while the child
    // handles it. It fails only when the program has installed its own handler already.
    #[cfg(windows)]
    let _ = ctrlc::set_handler(|| {});
    command.status().map_err(|source| Error::Exec { program: program.to_path_buf(), source })
}
