//! `bundle`: every target's runtime, verified through the cache in parallel, staged as
//! directories, wheels and npm tarballs.

use std::process::ExitCode;

use anyhow::Result;
use codex_runtime::release::bundle::{self, BundleRequest};
use serde_json::json;

use crate::cli::BundleArgs;
use crate::context::Context;
use crate::output::{outln, print_json};

pub fn bundle(ctx: &Context, args: &BundleArgs) -> Result<ExitCode> {
    let manifest = ctx.manifest(args.channel, args.version.as_ref())?;
    let targets = if args.all_platforms { manifest.targets.keys().copied().collect() } else { args.targets.clone() };
    for &target in &targets {
        // A target the manifest does not pin is a usage error, before anything is fetched.
        manifest.pinned(target).map_err(codex_runtime::Error::from)?;
    }
    let request = BundleRequest {
        manifest,
        targets,
        formats: args.format.clone(),
        out: args.out.clone(),
        jobs: args.jobs.unwrap_or_else(BundleRequest::default_jobs),
        force: args.force,
        base_url: args.base_url.clone(),
    };
    let options = ctx.install_options(&args.sources)?;
    let bundle = bundle::bundle(&request, &options, &ctx.cache, &ctx.progress)?;
    if ctx.global.json {
        let artifacts: Vec<_> = bundle
            .outputs()
            .map(|(target, o)| {
                json!({
                    "target": target,
                    "format": o.format,
                    "path": bundle.out.join(&o.path),
                    "sha256": o.sha256,
                    "size": o.size,
                    "files": o.files,
                })
            })
            .collect();
        print_json(&json!({
            "version": bundle.description.version,
            "channel": bundle.description.channel,
            "out": bundle.out,
            "artifacts": artifacts,
            "sha256sums": bundle.out.join(bundle::SHA256SUMS),
            "bundle_json": bundle.out.join(bundle::BUNDLE_JSON),
        }));
    } else {
        for (target, output) in bundle.outputs() {
            outln!("{}\t{}\t{}", target, output.format, bundle.out.join(&output.path).display());
        }
        if !ctx.global.quiet {
            eprintln!(
                "bundled codex {} for {} target{} into {} (checksums in {})",
                bundle.description.version,
                bundle.description.targets.len(),
                if bundle.description.targets.len() == 1 { "" } else { "s" },
                bundle.out.display(),
                bundle::SHA256SUMS
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
