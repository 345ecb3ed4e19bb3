//! `check` and `exec`: the runtime launched for real.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result};
use codex_app_server_client::protocol::{self, DEFAULT_SCHEMA_TIMEOUT, PinnedProtocol, Schema};
use codex_app_server_client::{CheckOptions, ExpectedVersion, Problem, Report};
use codex_runtime::install::find_installed;
use codex_runtime::{Channel, Manifest, Pinned, Target};

use crate::cli::{CheckArgs, ClientVersion, ExecArgs, SourceArgs};
use crate::context::Context;
use crate::exit;
use crate::output::{outln, print_json};

pub fn check(ctx: &Context, args: &CheckArgs) -> Result<ExitCode> {
    let pinned = ctx.pinned(&args.selection)?;
    let require = args.require.clone();
    let timeout = args.timeout;
    let client = match &args.client_version {
        None => None,
        // The whole manifest: `pinned.manifest` holds the selected target only, and the
        // client's runtime is the host's.
        Some(ClientVersion::Selected) => {
            Some(ctx.manifests.version(&pinned.manifest.version).map_err(codex_runtime::Error::from)?)
        }
        Some(ClientVersion::Request(request)) => {
            Some(ctx.manifests.select_request(Channel::Stable, Some(request)).map_err(codex_runtime::Error::from)?)
        }
    };
    let (bin, path_dir) = match &args.codex_bin {
        Some(bin) => (bin.clone(), None),
        None => {
            let installed = ctx.install_pinned(&pinned, &args.sources)?;
            (installed.path, Some(installed.path_dir))
        }
    };
    let mut report = run_check(&bin, path_dir.as_deref(), &pinned, require, Some(timeout), args.codex_home.as_deref())?;
    if client.is_some() {
        // The protocol decides, not the version string.
        report.problems.retain(|p| !matches!(p, Problem::VersionMismatch { .. }));
        report.expected = None;
    }
    // The binary describes its protocol only when there is something to compare it with.
    let pin = report.version.as_deref().and_then(|version| protocol_pin(ctx, version));
    if report.version.is_some() && (pin.is_some() || client.is_some()) {
        let schema = schema_of(&bin, path_dir.as_deref());
        if let Some((manifest, pin)) = pin {
            report.problems.extend(pin_problem(ctx, manifest, pin, &schema, pinned.target));
        }
        if let Some(client) = client {
            report.problems.extend(client_problem(ctx, client, &schema, &args.sources)?);
        }
    }
    report.ok = report.problems.is_empty();
    if ctx.global.json {
        print_json(&report);
    } else {
        print_verdict(ctx, &report, true);
    }
    Ok(verdict_code(&report))
}

/// The schema `bin` describes, written into a temporary directory.
fn schema_of(bin: &Path, path_dir: Option<&Path>) -> Result<Schema, codex_app_server_client::Error> {
    let dir = tempfile::Builder::new()
        .prefix("codex-runtime-schema-")
        .tempdir()
        .map_err(|source| codex_app_server_client::Error::TempHome { source })?;
    protocol::generate(bin, path_dir, dir.path(), false, DEFAULT_SCHEMA_TIMEOUT)
}

/// The manifest of a reported version and its protocol pin, when it has one.
fn protocol_pin<'m>(
    ctx: &'m Context,
    version: &str,
) -> Option<(&'m Manifest, &'m codex_runtime::model::manifest::ProtocolPin)> {
    let manifest = ctx.manifests.version(&version.parse().ok()?).ok()?;
    Some((manifest, manifest.protocol.as_ref()?))
}

/// The problem with a binary reporting `version` whose schema is not its pin's (when the pin
/// has a protocol). The pinned runtime's own schema names the differences when it is cached.
fn pin_problem(
    ctx: &Context,
    manifest: &Manifest,
    pin: &codex_runtime::model::manifest::ProtocolPin,
    schema: &Result<Schema, codex_app_server_client::Error>,
    target: Target,
) -> Option<Problem> {
    let pin = PinnedProtocol {
        version: manifest.version.to_string(),
        sha256: pin.sha256.to_string(),
        client_requests: pin.client_requests,
        server_requests: pin.server_requests,
        notifications: pin.notifications,
    };
    let schema = match schema {
        Ok(schema) => schema,
        Err(error) => {
            let detail = format!("it cannot describe its protocol ({error})");
            return Some(Problem::ProtocolMismatch { reported: pin.version, detail });
        }
    };
    let pinned_schema = Target::host()
        .ok()
        .filter(|host| *host == target)
        .and_then(|host| manifest.pinned(host).ok())
        .and_then(|pinned| find_installed(&pinned, &ctx.cache))
        .and_then(|installed| schema_of(&installed.path, Some(&installed.path_dir)).ok());
    protocol::against_pin(schema, &pin, pinned_schema.as_ref())
}

/// The problem for an SDK generated against `client`: what breaks in the diff from its
/// runtime's schema (installed when needed) to the binary's.
fn client_problem(
    ctx: &Context,
    client: &Manifest,
    schema: &Result<Schema, codex_app_server_client::Error>,
    sources: &SourceArgs,
) -> Result<Option<Problem>> {
    let client_version = client.version.to_string();
    let schema = match schema {
        Ok(schema) => schema,
        Err(error) => {
            let detail = format!("it cannot describe its protocol ({error})");
            return Ok(Some(Problem::ClientIncompatible { client: client_version, detail }));
        }
    };
    let host = Target::host().map_err(codex_runtime::Error::from)?;
    let installed = ctx.install_pinned(&client.pinned(host).map_err(codex_runtime::Error::from)?, sources)?;
    let theirs = schema_of(&installed.path, Some(&installed.path_dir))?;
    let diff = protocol::diff(&theirs, schema, &client_version, "this runtime");
    if diff.compatible {
        return Ok(None);
    }
    let detail = format!("{} ({})", diff.summary(), protocol::breaking_lines(&diff).join("; "));
    Ok(Some(Problem::ClientIncompatible { client: client_version, detail }))
}

/// Launch `bin app-server` and check it against the pin (or `require`) and the target's
/// platform.
pub fn run_check(
    bin: &Path,
    path_dir: Option<&Path>,
    pinned: &Pinned<'_>,
    require: Option<semver::VersionReq>,
    timeout: Option<Duration>,
    codex_home: Option<&Path>,
) -> Result<Report> {
    let mut options = CheckOptions::new(bin);
    options.path_dir = path_dir.map(Path::to_owned);
    options.codex_home = codex_home.map(Path::to_owned);
    if let Some(timeout) = timeout {
        options.timeout = timeout;
    }
    options.expected.version = match require {
        Some(req) => ExpectedVersion::Matches(req),
        None => ExpectedVersion::Exact(pinned.manifest.version.to_string()),
    };
    options.expected.platform_os = Some(pinned.target.platform_os().to_owned());
    options.expected.platform_family = Some(pinned.target.platform_family().to_owned());
    Ok(codex_app_server_client::check(&options)?)
}

/// The verdict for a person: on stdout for `check`, on stderr where stdout holds a path.
pub fn print_verdict(ctx: &Context, report: &Report, to_stdout: bool) {
    if !ctx.global.quiet {
        for warning in &report.warnings {
            eprintln!("warning: {warning}");
        }
    }
    if report.ok {
        let line = format!(
            "compatible: codex {} ({}/{}) answered initialize in {} ms",
            report.version.as_deref().unwrap_or("?"),
            report.platform_os.as_deref().unwrap_or("?"),
            report.platform_family.as_deref().unwrap_or("?"),
            report.elapsed_ms
        );
        if to_stdout {
            outln!("{line}");
        } else if !ctx.global.quiet {
            eprintln!("{line}");
        }
        return;
    }
    // With --client-version the protocol decides and no version is expected.
    let expected = report.expected.as_deref().or(report.version.as_deref()).unwrap_or("any version");
    match report.version.as_deref() {
        // The version matched; the problems below are what failed.
        Some(version) if version == expected => eprintln!("incompatible runtime: codex {version} answered, but"),
        version => {
            eprintln!("incompatible runtime: expected {expected}, it reported {}", version.unwrap_or("no version"))
        }
    }
    for problem in &report.problems {
        eprintln!("  - {problem}");
    }
}

pub fn verdict_code(report: &Report) -> ExitCode {
    if report.ok { ExitCode::SUCCESS } else { ExitCode::from(exit::INCOMPATIBLE) }
}

pub fn exec(ctx: &Context, args: &ExecArgs) -> Result<ExitCode> {
    let host = codex_runtime::Target::host().map_err(codex_runtime::Error::from)?;
    if let Some(target) = args.selection.target
        && target != host
    {
        let message = format!("exec runs the runtime here, and this host runs {host}, not {target}; drop --target");
        return Err(crate::UsageError(message).into());
    }
    let installed = ctx.install(&args.selection, &args.sources)?;
    let status = codex_app_server_client::exec(&installed.path, &args.args, Some(&installed.path_dir))
        .with_context(|| format!("cannot run {}", installed.path.display()))?;
    Ok(ExitCode::from(exit_status_code(status)))
}

/// The exit code to pass through: the child's, or 128 + the signal that ended it.
fn exit_status_code(status: std::process::ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        return u8::try_from(code).unwrap_or(exit::FAILURE);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return u8::try_from(128 + signal).unwrap_or(exit::FAILURE);
        }
    }
    exit::FAILURE
}
