//! The `codex-runtime` binary: parses the command line, calls the libraries, prints the
//! result, and maps errors to the documented exit codes. Every decision lives in a library.

mod cli;
mod progress;

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use codex_runtime::install::{self, InstallOptions, Installed};
use codex_runtime::{Cache, Channel, ErrorKind, Manifest, Manifests, Pinned, SourceOptions, Target};
use serde::Serialize;

use crate::cli::{Cli, Command, GlobalArgs, Selection, SourceArgs};
use crate::progress::Progress;

/// Exit codes (CONTRACT.md).
mod exit {
    pub const FAILURE: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const NOT_INSTALLED: u8 = 3;
    pub const VERIFICATION: u8 = 4;
    pub const NO_SOURCE: u8 = 5;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(&cli.global);
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => report(&error, cli.global.json),
    }
}

fn init_tracing(global: &GlobalArgs) {
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CODEX_RUNTIME_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("codex_runtime={level},codex_app_server_client={level}"))
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}

/// Print the error (its whole chain) on stderr, and as a JSON document with `--json`.
fn report(error: &anyhow::Error, json: bool) -> ExitCode {
    let code = exit_code(error);
    let mut message = error.to_string();
    for cause in error.chain().skip(1) {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(&format!("\n  caused by: {text}"));
        }
    }
    eprintln!("error: {message}");
    if json {
        print_json(&serde_json::json!({"error": {"message": message, "exit_code": code}}));
    }
    ExitCode::from(code)
}

fn exit_code(error: &anyhow::Error) -> u8 {
    match error.downcast_ref::<codex_runtime::Error>().map(codex_runtime::Error::kind) {
        Some(ErrorKind::Usage) => exit::USAGE,
        Some(ErrorKind::NotInstalled) => exit::NOT_INSTALLED,
        Some(ErrorKind::Verification) => exit::VERIFICATION,
        Some(ErrorKind::NoSource) => exit::NO_SOURCE,
        Some(ErrorKind::Other) | None => exit::FAILURE,
    }
}

fn print_json(value: &impl Serialize) {
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer_pretty(&mut out, value);
    let _ = writeln!(out);
}

fn run(cli: &Cli) -> Result<()> {
    let ctx = Context::new(&cli.global)?;
    match &cli.command {
        Command::Install(args) => {
            let installed = ctx.install(&args.selection, &args.sources)?;
            ctx.print_installed(&installed);
            Ok(())
        }
        Command::Path(args) => {
            let pinned = ctx.pinned(&args.selection)?;
            let installed = if args.no_install {
                install::find_installed(&pinned, &ctx.cache).ok_or_else(|| codex_runtime::Error::NotInstalled {
                    version: pinned.manifest.version.clone(),
                    target: pinned.target,
                    reason: "--no-install forbids installing it".into(),
                    hint: format!(
                        "run `codex-runtime install --version {} --target {}`",
                        pinned.manifest.version, pinned.target
                    ),
                })?
            } else {
                ctx.install_pinned(&pinned, &args.sources)?
            };
            ctx.print_installed(&installed);
            Ok(())
        }
        Command::Import(args) => {
            let mut all = Vec::new();
            for file in &args.files {
                let installed = install::import(file, &ctx.manifests, &ctx.cache, &ctx.progress)?;
                if !ctx.global.json {
                    println!("{}", installed.path.display());
                }
                all.push(InstalledJson::from(&installed));
            }
            if ctx.global.json {
                print_json(&all);
            }
            Ok(())
        }
        Command::List(args) => ctx.list(args.available),
        Command::Check(_) | Command::Exec(_) => anyhow::bail!("not yet wired"),
    }
}

/// What every command needs: the manifests, the cache, and how to report.
struct Context<'a> {
    global: &'a GlobalArgs,
    manifests: Manifests,
    cache: Cache,
    progress: Progress,
}

impl<'a> Context<'a> {
    fn new(global: &'a GlobalArgs) -> Result<Context<'a>> {
        let manifests = match &global.manifest {
            Some(file) => Manifests::single(Manifest::from_file(file).map_err(codex_runtime::Error::from)?),
            None => Manifests::embedded(),
        };
        let cache = Cache::locate(global.cache_dir.clone()).map_err(codex_runtime::Error::from)?;
        Ok(Context { global, manifests, cache, progress: Progress::new(global.quiet) })
    }

    /// The pinned runtime a selection names.
    fn pinned(&self, selection: &Selection) -> Result<Pinned<'_>> {
        let target = match selection.target {
            Some(t) => t,
            None => Target::host().map_err(codex_runtime::Error::from)?,
        };
        let manifest = match (&selection.version, selection.channel) {
            (Some(v), _) => self.manifests.version(v),
            (None, Some(c)) => self.manifests.channel(c),
            // With --manifest and no channel, the file's own channel is meant.
            (None, None) if self.global.manifest.is_some() => Ok(self.manifests.iter().next().expect("one manifest")),
            (None, None) => self.manifests.channel(Channel::Stable),
        }
        .map_err(codex_runtime::Error::from)?;
        Ok(manifest.pinned(target).map_err(codex_runtime::Error::from)?)
    }

    fn install(&self, selection: &Selection, sources: &SourceArgs) -> Result<Installed> {
        let pinned = self.pinned(selection)?;
        self.install_pinned(&pinned, sources)
    }

    fn install_pinned(&self, pinned: &Pinned<'_>, sources: &SourceArgs) -> Result<Installed> {
        if let Some(installed) = install::find_installed(pinned, &self.cache) {
            return Ok(installed);
        }
        let options = SourceOptions {
            mirror: sources.mirror.clone(),
            npm_registry: sources.npm_registry.clone(),
            only: sources.sources.clone(),
        };
        let options = InstallOptions {
            sources: options.resolve().map_err(codex_runtime::Error::from)?,
            offline: self.global.offline,
        };
        let installed = install::install(pinned, &options, &self.cache, &self.progress)?;
        if !self.global.quiet && !installed.cached {
            eprintln!(
                "installed codex {} for {} from {} ({})",
                installed.version, installed.target, installed.source, installed.receipt.from
            );
        }
        Ok(installed)
    }

    fn print_installed(&self, installed: &Installed) {
        if self.global.json {
            print_json(&InstalledJson::from(installed));
        } else {
            println!("{}", installed.path.display());
        }
    }

    fn list(&self, available: bool) -> Result<()> {
        let installed = self.cache.installed();
        let mut rows: Vec<ListRow> = installed
            .iter()
            .map(|r| {
                let dir = self.cache.runtime_dir(&r.version, r.target);
                ListRow {
                    version: r.version.to_string(),
                    target: r.target.triple().to_owned(),
                    channel: self.manifests.iter().find(|m| m.version == r.version).map(|m| m.channel.to_string()),
                    installed: true,
                    path: Some(dir.join(&r.entrypoint.path).display().to_string()),
                    source: Some(r.source.clone()),
                }
            })
            .collect();
        if available {
            for m in self.manifests.iter() {
                for &target in m.targets.keys() {
                    if !installed.iter().any(|r| r.version == m.version && r.target == target) {
                        rows.push(ListRow {
                            version: m.version.to_string(),
                            target: target.triple().to_owned(),
                            channel: Some(m.channel.to_string()),
                            installed: false,
                            path: None,
                            source: None,
                        });
                    }
                }
            }
        }
        if self.global.json {
            print_json(&rows);
            return Ok(());
        }
        if rows.is_empty() {
            eprintln!(
                "no runtime is installed in {}; `codex-runtime install` installs the stable one",
                self.cache.root().display()
            );
            return Ok(());
        }
        for row in &rows {
            let state = if row.installed { row.path.clone().unwrap_or_default() } else { "(not installed)".into() };
            println!("{:<18} {:<7} {:<27} {}", row.version, row.channel.as_deref().unwrap_or("-"), row.target, state);
        }
        Ok(())
    }
}

/// The `install`/`path` JSON object (CONTRACT.md).
#[derive(Serialize)]
struct InstalledJson {
    version: String,
    target: String,
    path: String,
    runtime_dir: String,
    sha256: String,
    source: String,
    cached: bool,
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
        }
    }
}

#[derive(Serialize)]
struct ListRow {
    version: String,
    target: String,
    channel: Option<String>,
    installed: bool,
    path: Option<String>,
    source: Option<String>,
}
