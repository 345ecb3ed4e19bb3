//! `cache verify [--repair]`, `cache prune`, `cache clean`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use codex_runtime::install::maintenance::{self, ArtifactCheck, Removed, RuntimeCheck, Skipped};
use serde::Serialize;

use crate::cli::{CacheArgs, CacheCommand, CacheVerifyArgs};
use crate::context::Context;
use crate::exit;
use crate::output::{outln, print_json};

pub fn cache(ctx: &Context, args: &CacheArgs) -> Result<ExitCode> {
    match &args.command {
        CacheCommand::Verify(args) => verify(ctx, args),
        CacheCommand::Prune(args) => {
            let stale_after = Duration::from_secs(args.older_than.saturating_mul(60));
            let removed = maintenance::prune(&ctx.cache, &ctx.manifests, stale_after)?;
            print_removed(ctx, &removed, "nothing to prune");
            Ok(ExitCode::SUCCESS)
        }
        CacheCommand::Clean => {
            let removed = maintenance::clean(&ctx.cache)?;
            print_removed(ctx, &removed, "the cache is already empty");
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[derive(Serialize)]
struct VerifyJson<'a> {
    /// Nothing is damaged (any more, after --repair).
    ok: bool,
    cache_dir: String,
    runtimes: &'a [RuntimeCheck],
    /// The upstream artifacts kept for bundles.
    artifacts: &'a [ArtifactCheck],
}

fn verify(ctx: &Context, args: &CacheVerifyArgs) -> Result<ExitCode> {
    let checks = if args.repair {
        let options = ctx.install_options(&args.sources)?;
        maintenance::verify_and_repair(&ctx.cache, &ctx.manifests, &options, &ctx.progress)
    } else {
        maintenance::verify(&ctx.cache, &ctx.manifests)
    };
    let artifacts = maintenance::verify_artifacts(&ctx.cache, &ctx.manifests, args.repair);
    let bad_artifacts = artifacts.iter().any(|a| a.problem.is_some() && !a.removed);
    let unrepaired: Vec<&RuntimeCheck> =
        checks.iter().filter(|c| c.damaged() && !c.repair.as_ref().is_some_and(|r| r.ok)).collect();
    if ctx.global.json {
        print_json(&VerifyJson {
            ok: unrepaired.is_empty() && !bad_artifacts,
            cache_dir: ctx.cache.root().display().to_string(),
            runtimes: &checks,
            artifacts: &artifacts,
        });
    } else {
        print_checks(ctx, &checks, args.repair);
        for artifact in &artifacts {
            let state = if artifact.problem.is_some() { "DAMAGED" } else { "ok" };
            outln!("{state:<8} kept {} ({})", artifact.file, human_bytes(artifact.bytes));
            if let Some(problem) = &artifact.problem {
                let fix = if artifact.removed {
                    "removed; a bundle fetches it again"
                } else {
                    "run `codex-runtime cache verify --repair` to remove it"
                };
                outln!("  {problem}; {fix}");
            }
        }
    }
    let code = match unrepaired.iter().find_map(|c| c.repair.as_ref().and_then(|r| r.error_kind)) {
        None if unrepaired.is_empty() && !bad_artifacts => return Ok(ExitCode::SUCCESS),
        // Damage found and not repaired (or not repairable): a verification failure.
        None => exit::VERIFICATION,
        Some(kind) => exit::of(kind),
    };
    Ok(ExitCode::from(code))
}

fn print_checks(ctx: &Context, checks: &[RuntimeCheck], repair: bool) {
    if checks.is_empty() {
        eprintln!("no runtime is installed in {}", ctx.cache.root().display());
        return;
    }
    for check in checks {
        let state = if check.damaged() { "DAMAGED" } else { "ok" };
        outln!("{state:<8} {} {} ({} files, {})", check.version, check.target, check.files, human_bytes(check.bytes));
        for problem in &check.problems {
            outln!("  {}: {}", problem.path, problem.damage);
        }
        if let Some(repair) = &check.repair {
            outln!("  {repair}");
        }
    }
    let damaged = checks.iter().filter(|c| c.damaged()).count();
    if damaged > 0 && !repair && !ctx.global.quiet {
        eprintln!(
            "{damaged} of {} runtimes damaged; `codex-runtime cache verify --repair` reinstalls them",
            checks.len()
        );
    }
}

#[derive(Serialize)]
struct RemovedJson<'a> {
    cache_dir: String,
    removed: &'a [Removed],
    freed_bytes: u64,
    /// What was left because the cache did not make it (also logged on stderr).
    skipped: Vec<Skipped>,
}

fn print_removed(ctx: &Context, removed: &[Removed], nothing: &str) {
    let freed = removed.iter().map(|r| r.bytes).sum();
    if ctx.global.json {
        print_json(&RemovedJson {
            cache_dir: ctx.cache.root().display().to_string(),
            removed,
            freed_bytes: freed,
            skipped: maintenance::unrecognised(&ctx.cache),
        });
        return;
    }
    for r in removed {
        outln!("removed {} {} ({})", r.kind, r.path.display(), human_bytes(r.bytes));
    }
    if !ctx.global.quiet {
        if removed.is_empty() {
            eprintln!("{nothing}: {}", ctx.cache.root().display());
        } else {
            eprintln!("freed {}", human_bytes(freed));
        }
    }
}

fn human_bytes(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{:.1} KiB", bytes as f64 / 1024.0),
        _ => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
    }
}
