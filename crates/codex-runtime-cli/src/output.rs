//! Output for machines: the JSON documents of the contract.

use std::io::Write;

use codex_runtime::install::Installed;
use serde::Serialize;

/// Print one JSON document on stdout.
/// Write to stdout. A reader that has gone away (`codex-runtime channel show | head`) ends the
/// program quietly, as ripgrep does, where `print!` would panic.
pub fn write_stdout(args: std::fmt::Arguments<'_>) {
    if let Err(e) = std::io::stdout().lock().write_fmt(args)
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}

/// `print!` through [`write_stdout`].
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::write_stdout(format_args!($($arg)*)) };
}

/// `println!` through [`write_stdout`].
macro_rules! outln {
    ($($arg:tt)*) => { $crate::output::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

pub(crate) use {out, outln};

pub fn print_json(value: &impl Serialize) {
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer_pretty(&mut out, value);
    let _ = writeln!(out);
}

/// The `install`/`path` JSON object (the README's command table).
#[derive(Serialize)]
pub struct InstalledJson {
    pub version: String,
    pub target: String,
    pub path: String,
    pub runtime_dir: String,
    pub sha256: String,
    pub source: String,
    pub cached: bool,
    /// The version request, when one was made (`--version`, `--version-from`, the environment).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested: Option<String>,
    /// Where the request came from: `FILE:LINE` or `CODEX_RUNTIME_VERSION`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_from: Option<String>,
}

impl From<&Installed> for InstalledJson {
    fn from(i: &Installed) -> Self {
        InstalledJson {
            version: i.version.to_string(),
            target: i.target.triple().to_owned(),
            path: i.path.display().to_string(),
            runtime_dir: i.runtime_dir.display().to_string(),
            sha256: i.sha256.to_string(),
            source: i.source.clone(),
            cached: i.cached,
            requested: None,
            requested_from: None,
        }
    }
}

#[derive(Serialize)]
pub struct ListRow {
    pub version: String,
    pub target: String,
    pub channel: Option<String>,
    pub installed: bool,
    pub path: Option<String>,
    pub source: Option<String>,
}
