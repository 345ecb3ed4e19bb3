//! `install`, `path` and `import`.

use std::process::ExitCode;

use anyhow::Result;
use codex_runtime::install;

use crate::cli::{ImportArgs, InstallArgs, PathArgs};
use crate::context::Context;
use crate::output::{InstalledJson, outln, print_json};

pub fn install(ctx: &Context, args: &InstallArgs) -> Result<ExitCode> {
    let installed = ctx.install(&args.selection, &args.sources)?;
    if !args.check {
        ctx.print_installed(&installed);
        return Ok(ExitCode::SUCCESS);
    }
    let pinned = ctx.pinned(&args.selection)?;
    let report = super::check::run_check(&installed.path, Some(&installed.path_dir), &pinned, None, None, None)?;
    if ctx.global.json {
        let mut doc = serde_json::to_value(ctx.installed_json(&installed))?;
        doc["check"] = serde_json::to_value(&report)?;
        print_json(&doc);
    } else {
        outln!("{}", installed.path.display());
        super::check::print_verdict(ctx, &report, false);
    }
    Ok(super::check::verdict_code(&report))
}

pub fn path(ctx: &Context, args: &PathArgs) -> Result<ExitCode> {
    let pinned = ctx.pinned(&args.selection)?;
    let installed = if args.no_install {
        match install::cached(&pinned, &ctx.cache) {
            install::Cached::Intact(installed) => *installed,
            install::Cached::Damaged { entrypoint, reason } => {
                return Err(codex_runtime::Error::Damaged { entrypoint, reason }.into());
            }
            install::Cached::Missing => {
                return Err(codex_runtime::Error::NotInstalled {
                    version: pinned.manifest.version.clone(),
                    target: pinned.target,
                    reason: "--no-install forbids installing it".into(),
                    hint: format!(
                        "run `codex-runtime install --version {} --target {}`",
                        pinned.manifest.version, pinned.target
                    ),
                }
                .into());
            }
        }
    } else {
        ctx.install_pinned(&pinned, &args.sources)?
    };
    ctx.print_installed(&installed);
    Ok(ExitCode::SUCCESS)
}

pub fn import(ctx: &Context, args: &ImportArgs) -> Result<ExitCode> {
    let mut all = Vec::new();
    for file in &args.files {
        let installed = install::import(file, &ctx.manifests, &ctx.cache, &ctx.progress)?;
        if !ctx.global.json {
            outln!("{}", installed.path.display());
        }
        all.push(InstalledJson::from(&installed));
    }
    if ctx.global.json {
        print_json(&all);
    }
    Ok(ExitCode::SUCCESS)
}
