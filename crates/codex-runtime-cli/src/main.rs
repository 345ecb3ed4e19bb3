//! The `codex-runtime` binary: parses the command line, calls the libraries, prints the
//! result, and maps errors to the documented exit codes. Every decision lives in a library.

mod cli;
mod commands;
mod context;
mod fast_path;
mod output;
mod progress;

use std::process::ExitCode;

use crate::cli::{Cli, GlobalArgs};

/// Exit codes (the README's "Exit codes").
pub mod exit {
    pub const FAILURE: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const NOT_INSTALLED: u8 = 3;
    pub const VERIFICATION: u8 = 4;
    pub const NO_SOURCE: u8 = 5;
    pub const INCOMPATIBLE: u8 = 6;
    pub const PIN_DRIFT: u8 = 7;

    /// The exit code of a library error kind.
    pub fn of(kind: codex_runtime::ErrorKind) -> u8 {
        use codex_runtime::ErrorKind;
        match kind {
            ErrorKind::Usage => USAGE,
            ErrorKind::NotInstalled => NOT_INSTALLED,
            ErrorKind::Verification => VERIFICATION,
            ErrorKind::NoSource => NO_SOURCE,
            ErrorKind::Incompatible => INCOMPATIBLE,
            ErrorKind::Drift => PIN_DRIFT,
            ErrorKind::Other => FAILURE,
        }
    }
}

/// A command line that parses but cannot run as given (exit 2, as clap's own usage errors).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn main() -> ExitCode {
    let fast = fast_path::parse(std::env::args_os(), |name| std::env::var_os(name).is_some());
    let cli = match fast.map_or_else(parse, Ok) {
        Ok(cli) => cli,
        Err(error) => {
            // A usage error is still one JSON document on stdout when --json was asked for.
            if error.use_stderr() && std::env::args_os().any(|a| a == "--json") {
                let text = error.to_string();
                let first = text.lines().next().unwrap_or_default();
                let message = first.strip_prefix("error: ").unwrap_or(first);
                output::print_json(&serde_json::json!({"error": {"message": message, "exit_code": error.exit_code()}}));
            }
            error.exit()
        }
    };
    init_tracing(&cli.global);
    match commands::run(&cli) {
        Ok(code) => code,
        Err(error) => report(&error, cli.global.json),
    }
}

/// The command line, as `Cli::try_parse` reads it, except that the command tree clap builds to
/// read it is left for the process's end instead of freed: freeing it cost a cached `path` a
/// tenth of its instructions (BENCHMARKS.md).
fn parse() -> Result<Cli, clap::Error> {
    use clap::{CommandFactory as _, FromArgMatches as _};
    let mut command = std::mem::ManuallyDrop::new(Cli::command());
    let mut matches = std::mem::ManuallyDrop::new(command.try_get_matches_from_mut(std::env::args_os())?);
    Cli::from_arg_matches_mut(&mut matches).map_err(|error| error.format(&mut Cli::command()))
}

fn init_tracing(global: &GlobalArgs) {
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env(codex_runtime::model::env::LOG).unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("codex_runtime={level},codex_app_server_client={level}"))
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .without_time()
        .init();
}

/// Print the error (its whole chain) on stderr, and as a JSON document with `--json`.
fn report(error: &anyhow::Error, json: bool) -> ExitCode {
    let code = exit_code(error);
    let mut message = error.to_string();
    for cause in error.chain().skip(1) {
        message.push_str(&format!("\n  caused by: {cause}"));
    }
    eprintln!("error: {message}");
    if json {
        output::print_json(&serde_json::json!({"error": {"message": message, "exit_code": code}}));
    }
    ExitCode::from(code)
}

fn exit_code(error: &anyhow::Error) -> u8 {
    use codex_runtime::release::{bundle::BundleError, channel_sync::SyncError, channel_update::UpdateError};
    let kind = (error.downcast_ref::<codex_runtime::Error>().map(codex_runtime::Error::kind))
        .or_else(|| error.downcast_ref::<BundleError>().map(BundleError::kind))
        .or_else(|| error.downcast_ref::<UpdateError>().map(UpdateError::kind))
        .or_else(|| error.downcast_ref::<SyncError>().map(SyncError::kind));
    if let Some(kind) = kind {
        return exit::of(kind);
    }
    if error.downcast_ref::<UsageError>().is_some() {
        return exit::USAGE;
    }
    if let Some(
        codex_app_server_client::Error::Spawn { .. }
        | codex_app_server_client::Error::SchemaFailed { .. }
        | codex_app_server_client::Error::SchemaTimeout { .. },
    ) = error.downcast_ref::<codex_app_server_client::Error>()
    {
        // A runtime that cannot even be launched here, or cannot describe its protocol, is
        // incompatible.
        return exit::INCOMPATIBLE;
    }
    exit::FAILURE
}
