//! How an SDK gets its `codex_bin`: resolve the pinned runtime (installing it on first use),
//! check it speaks the expected protocol, then launch it with its `codex-path` first on `PATH`.
//!
//! ```sh
//! cargo run -p codex-runtime --example sdk_launch -- --version
//! ```
//! Sources and the cache come from the environment, as for the command line
//! (`CODEX_RUNTIME_CACHE_DIR`, `CODEX_RUNTIME_MIRROR`, `CODEX_RUNTIME_NPM_REGISTRY`, ...).

use std::process::{Command, ExitCode};

use codex_runtime::{Channel, NoReporter, Request, check, resolve};

fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let mut request = Request::channel(Channel::Stable);
    request.sources.mirror = std::env::var("CODEX_RUNTIME_MIRROR").ok();
    let runtime = resolve(&request, &NoReporter)?;
    eprintln!("codex {} for {} at {}", runtime.version, runtime.target, runtime.path.display());

    let report = check(&runtime, None)?;
    if !report.ok {
        for problem in &report.problems {
            eprintln!("incompatible runtime: {problem}");
        }
        return Ok(ExitCode::from(6));
    }

    let path = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(std::iter::once(runtime.path_dir.clone()).chain(std::env::split_paths(&path)))?;
    let status = Command::new(&runtime.path).args(std::env::args_os().skip(1)).env("PATH", path).status()?;
    Ok(ExitCode::from(status.code().and_then(|c| u8::try_from(c).ok()).unwrap_or(1)))
}
