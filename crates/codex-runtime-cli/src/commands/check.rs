//! `check` and `exec`: the runtime launched for real.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result};
use codex_app_server_client::{CheckOptions, ExpectedVersion, Report};
use codex_runtime::Pinned;

use crate::cli::{CheckArgs, ExecArgs};
use crate::context::Context;
use crate::exit;
use crate::output::{outln, print_json};

pub fn check(ctx: &Context, args: &CheckArgs) -> Result<ExitCode> {
    let pinned = ctx.pinned(&args.selection)?;
    let require = args.require.clone();
    let timeout = args.timeout;
    let report = match &args.codex_bin {
        Some(bin) => run_check(bin, None, &pinned, require, Some(timeout), args.codex_home.as_deref())?,
        None => {
            let installed = ctx.install_pinned(&pinned, &args.sources)?;
            run_check(
                &installed.path,
                Some(&installed.path_dir),
                &pinned,
                require,
                Some(timeout),
                args.codex_home.as_deref(),
            )?
        }
    };
    if ctx.global.json {
        print_json(&report);
    } else {
        print_verdict(ctx, &report, true);
    }
    Ok(verdict_code(&report))
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
    let expected = report.expected.as_deref().unwrap_or("any version");
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
