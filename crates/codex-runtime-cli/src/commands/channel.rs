//! `channel show` and `channel update`.

use std::process::ExitCode;

use anyhow::Result;
use codex_runtime::channel_update::{self, UpdateRequest};
use codex_runtime::source::{GITHUB_RELEASES, npm_registry};

use crate::cli::{ChannelArgs, ChannelCommand, ChannelUpdateArgs};
use crate::context::Context;
use crate::output::out;

pub fn channel(ctx: &Context, args: &ChannelArgs) -> Result<ExitCode> {
    match &args.command {
        ChannelCommand::Show { channel } => {
            let manifest = ctx.manifests.channel(*channel).map_err(codex_runtime::Error::from)?;
            // The manifest is JSON already: the same document with or without --json.
            out!("{}", manifest.to_json());
            Ok(ExitCode::SUCCESS)
        }
        ChannelCommand::Update(args) => update(ctx, args),
    }
}

fn update(ctx: &Context, args: &ChannelUpdateArgs) -> Result<ExitCode> {
    if ctx.global.offline {
        return Err(crate::UsageError(
            "channel update reads the registries; it cannot run with --offline (drop --offline)".to_owned(),
        )
        .into());
    }
    let github_base_url = (!args.no_github)
        .then(|| std::env::var("CODEX_RUNTIME_GITHUB_BASE_URL").unwrap_or_else(|_| GITHUB_RELEASES.to_owned()));
    let request = UpdateRequest {
        channel: args.channel,
        version: args.version.clone(),
        npm_registry: npm_registry(args.npm_registry.as_deref()),
        pypi_index: codex_runtime::pypi::index_url_or_pip_default(args.pypi_index.as_deref()),
        github_base_url,
        jobs: args.jobs.unwrap_or_else(codex_runtime::bundle::BundleRequest::default_jobs),
    };
    let updated = channel_update::update(&request, &ctx.cache, &ctx.progress)?;
    if !ctx.global.quiet {
        for note in &updated.notes {
            eprintln!("note: {note}");
        }
    }
    if let Some(out) = &args.out {
        channel_update::write_manifest(&updated.manifest, out)?;
        if !ctx.global.quiet {
            eprintln!("wrote {}", out.display());
        }
    }
    out!("{}", updated.manifest.to_json());
    Ok(ExitCode::SUCCESS)
}
