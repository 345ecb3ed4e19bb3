//! `protocol schema` and `protocol diff`: the protocol a runtime speaks, as it describes it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use codex_app_server_client::protocol::{self, DEFAULT_SCHEMA_TIMEOUT, Diff, Schema};
use codex_runtime::{Target, VersionRequest};
use serde::Serialize;

use crate::cli::{ProtocolArgs, ProtocolCommand, ProtocolDiffArgs, ProtocolSchemaArgs, SourceArgs};
use crate::context::Context;
use crate::exit;
use crate::output::{outln, print_json};

pub fn protocol(ctx: &Context, args: &ProtocolArgs) -> Result<ExitCode> {
    match &args.command {
        ProtocolCommand::Schema(args) => schema(ctx, args),
        ProtocolCommand::Diff(args) => diff(ctx, args),
    }
}

/// The `protocol schema --json` document.
#[derive(Serialize)]
struct SchemaJson {
    version: Option<String>,
    codex_bin: PathBuf,
    out: Option<PathBuf>,
    sha256: String,
    client_requests: usize,
    server_requests: usize,
    notifications: usize,
    v2_types: usize,
}

fn schema(ctx: &Context, args: &ProtocolSchemaArgs) -> Result<ExitCode> {
    let (bin, path_dir, version) = match &args.codex_bin {
        Some(bin) => (bin.clone(), None, None),
        None => {
            let installed = ctx.install(&args.selection, &args.sources)?;
            (installed.path.clone(), Some(installed.path_dir.clone()), Some(installed.version.to_string()))
        }
    };
    let scratch = tempfile::Builder::new()
        .prefix("codex-runtime-schema-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let out = args.out.clone().unwrap_or_else(|| scratch.path().to_owned());
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let schema = protocol::generate(&bin, path_dir.as_deref(), &out, args.experimental, DEFAULT_SCHEMA_TIMEOUT)?;
    let json = SchemaJson {
        version,
        codex_bin: bin,
        out: args.out.clone(),
        sha256: schema.digest(),
        client_requests: schema.client_requests().len(),
        server_requests: schema.server_requests().len(),
        notifications: schema.notifications().len(),
        v2_types: schema.v2_types(),
    };
    if ctx.global.json {
        print_json(&json);
    } else {
        let who = json.version.as_ref().map_or_else(|| json.codex_bin.display().to_string(), |v| format!("codex {v}"));
        outln!(
            "{who}: {} client requests, {} server requests, {} notifications, {} v2 types",
            json.client_requests,
            json.server_requests,
            json.notifications,
            json.v2_types
        );
        outln!("sha256 {}", json.sha256);
        if let Some(out) = &json.out {
            outln!("written to {}", out.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn diff(ctx: &Context, args: &ProtocolDiffArgs) -> Result<ExitCode> {
    let scratch = tempfile::Builder::new()
        .prefix("codex-runtime-diff-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let (from, a) = side(ctx, &args.from, args.target, &args.sources, args.experimental, &scratch.path().join("a"))?;
    let (to, b) = side(ctx, &args.to, args.target, &args.sources, args.experimental, &scratch.path().join("b"))?;
    let diff = protocol::diff(&a, &b, &from, &to);
    if ctx.global.json {
        print_json(&diff);
    } else {
        print_diff(&diff);
    }
    Ok(if diff.compatible { ExitCode::SUCCESS } else { ExitCode::from(exit::INCOMPATIBLE) })
}

/// One side of a diff: a schema directory, a binary, or a pinned version (installed when
/// needed), and how the report names it.
pub fn side(
    ctx: &Context,
    spec: &str,
    target: Option<Target>,
    sources: &SourceArgs,
    experimental: bool,
    scratch: &Path,
) -> Result<(String, Schema)> {
    let path = Path::new(spec);
    if path.is_dir() {
        return Ok((spec.to_owned(), Schema::read(path)?));
    }
    if path.is_file() {
        std::fs::create_dir_all(scratch).with_context(|| format!("cannot create {}", scratch.display()))?;
        return Ok((spec.to_owned(), protocol::generate(path, None, scratch, experimental, DEFAULT_SCHEMA_TIMEOUT)?));
    }
    let request = VersionRequest::parse_cli(spec).map_err(|e| {
        crate::UsageError(format!("`{spec}` is neither a file, a directory nor a version ({e}); give a pinned version, a codex binary or a schema directory"))
    })?;
    let manifest = ctx
        .manifests
        .select_request(codex_runtime::Channel::Stable, Some(&request))
        .map_err(codex_runtime::Error::from)?;
    let target = match target {
        Some(target) => target,
        None => Target::host().map_err(codex_runtime::Error::from)?,
    };
    let pinned = manifest.pinned(target).map_err(codex_runtime::Error::from)?;
    let installed = ctx.install_pinned(&pinned, sources)?;
    std::fs::create_dir_all(scratch).with_context(|| format!("cannot create {}", scratch.display()))?;
    let schema =
        protocol::generate(&installed.path, Some(&installed.path_dir), scratch, experimental, DEFAULT_SCHEMA_TIMEOUT)?;
    Ok((installed.version.to_string(), schema))
}

/// The human report: the verdict, then what breaks, then what was added.
fn print_diff(diff: &Diff) {
    let verdict = if diff.compatible { "compatible" } else { "not compatible" };
    outln!(
        "{verdict}: a client written against {} {} talk to {}",
        diff.from,
        if diff.compatible { "can" } else { "cannot" },
        diff.to
    );
    outln!("{}", diff.summary());
    let groups = [
        ("client request", &diff.methods),
        ("server request", &diff.server_requests),
        ("notification", &diff.notifications),
    ];
    let breaking: Vec<_> = diff.changes.iter().filter(|c| c.breaking).collect();
    let removed = groups.iter().any(|(_, d)| !d.removed.is_empty());
    if removed || !breaking.is_empty() {
        outln!("\nbreaking:");
        for (noun, delta) in groups {
            for method in &delta.removed {
                outln!("  - {noun} {method} removed");
            }
        }
        for change in breaking {
            outln!("  - {}", describe(change));
        }
    }
    let compatible: Vec<_> = diff.changes.iter().filter(|c| !c.breaking).collect();
    let added = groups.iter().any(|(_, d)| !d.added.is_empty());
    if added || !compatible.is_empty() {
        outln!("\ncompatible:");
        for (noun, delta) in groups {
            for method in &delta.added {
                outln!("  + {noun} {method} added");
            }
        }
        for change in compatible {
            outln!("  + {}", describe(change));
        }
    }
}

fn describe(change: &protocol::Change) -> String {
    if change.field.is_empty() {
        format!("{}: {}", change.type_name, change.change)
    } else {
        format!("{}.{}: {}", change.type_name, change.field, change.change)
    }
}
