//! `channel show` and `channel update`.

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use codex_runtime::release::channel_sync::{self, SyncRequest};
use codex_runtime::release::channel_update::{self, UpdateRequest};
use codex_runtime::sources::npm_registry;

use crate::cli::{ChannelArgs, ChannelCommand, ChannelProtocolArgs, ChannelSyncArgs, ChannelUpdateArgs, SourceArgs};
use crate::context::Context;
use crate::output::{out, outln, print_json};

pub fn channel(ctx: &Context, args: &ChannelArgs) -> Result<ExitCode> {
    match &args.command {
        ChannelCommand::Show { channel } => {
            let manifest = ctx.manifests.channel(*channel).map_err(codex_runtime::Error::from)?;
            // The manifest is JSON already: the same document with or without --json.
            out!("{}", manifest.to_json());
            Ok(ExitCode::SUCCESS)
        }
        ChannelCommand::Update(args) => update(ctx, args),
        ChannelCommand::Sync(args) => sync(ctx, args),
        ChannelCommand::Protocol(args) => pin_protocols(ctx, args),
    }
}

/// The protocol of `manifest`, from its runtime for this host, installed (and verified
/// against the pins) first; `None` when the manifest does not pin this host.
fn protocol_of(
    ctx: &Context,
    manifest: &codex_runtime::Manifest,
    sources: &SourceArgs,
) -> Result<Option<codex_runtime::model::manifest::ProtocolPin>> {
    let host = codex_runtime::Target::host().map_err(codex_runtime::Error::from)?;
    if manifest.target(host).is_none() {
        return Ok(None);
    }
    let installed = ctx.install_pinned(&manifest.pinned(host).map_err(codex_runtime::Error::from)?, sources)?;
    Ok(Some(channel_update::protocol::pin_of(&installed)?))
}

fn pin_protocols(ctx: &Context, args: &ChannelProtocolArgs) -> Result<ExitCode> {
    for version in &args.versions {
        let path = args.dir.join("versions").join(format!("{version}.json"));
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let manifest =
            codex_runtime::Manifest::parse(&text, &path.display().to_string()).map_err(codex_runtime::Error::from)?;
        let Some(pin) = protocol_of(ctx, &manifest, &args.sources)? else {
            let message = format!("{} does not pin this host's target; run this on a host it pins", path.display());
            return Err(crate::UsageError(message).into());
        };
        let updated = channel_update::protocol::with_protocol(&text, &path, &pin)?;
        if updated != text {
            let partial = path.with_extension("json.partial");
            std::fs::write(&partial, &updated).with_context(|| format!("cannot write {}", partial.display()))?;
            std::fs::rename(&partial, &path).with_context(|| format!("cannot replace {}", path.display()))?;
        }
        outln!(
            "{version}: protocol sha256 {}, {} client requests, {} server requests, {} notifications{}",
            pin.sha256,
            pin.client_requests,
            pin.server_requests,
            pin.notifications,
            if updated == text { " (pinned already)" } else { "" }
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn online_only(ctx: &Context, command: &str) -> Result<()> {
    if ctx.global.offline {
        let message = format!("channel {command} reads the registries; it cannot run with --offline (drop --offline)");
        return Err(crate::UsageError(message).into());
    }
    Ok(())
}

fn github_base_url(no_github: bool) -> Option<String> {
    (!no_github).then(|| codex_runtime::sources::github_base_url(codex_runtime::model::env::Env::process()))
}

fn update(ctx: &Context, args: &ChannelUpdateArgs) -> Result<ExitCode> {
    online_only(ctx, "update")?;
    let github_base_url = github_base_url(args.no_github);
    let request = UpdateRequest {
        channel: args.channel,
        version: args.version.clone(),
        npm_registry: npm_registry(args.npm_registry.as_deref()),
        pypi_index: codex_runtime::sources::pypi::index_url_or_pip_default(args.pypi_index.as_deref()),
        github_base_url,
        jobs: args.jobs.unwrap_or_else(codex_runtime::release::bundle::BundleRequest::default_jobs),
    };
    let mut updated = channel_update::update(&request, &ctx.cache, &ctx.progress)?;
    // The protocol is the host runtime's own description of it, when the host is pinned.
    let sources = SourceArgs {
        mirror: None,
        sources: Vec::new(),
        npm_registry: args.npm_registry.clone(),
        pypi_index: args.pypi_index.clone(),
        python: None,
        explain_sources: false,
    };
    // A runtime that cannot be installed or run here leaves the protocol unpinned, and says so.
    match protocol_of(ctx, &updated.manifest, &sources) {
        Ok(Some(pin)) => updated.manifest.protocol = Some(pin),
        Ok(None) => updated.notes.push("this host is not among the pinned targets: the protocol is not pinned".to_owned()),
        Err(error) => updated.notes.push(format!(
            "the protocol is not pinned: {error:#}; pin it with `codex-runtime channel protocol {}` on a host the version pins",
            updated.manifest.version
        )),
    }
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

fn sync(ctx: &Context, args: &ChannelSyncArgs) -> Result<ExitCode> {
    online_only(ctx, "sync")?;
    let request = SyncRequest {
        dir: args.dir.clone(),
        since: args.since.clone(),
        npm_registry: npm_registry(args.npm_registry.as_deref()),
        pypi_index: codex_runtime::sources::pypi::index_url_or_pip_default(args.pypi_index.as_deref()),
        github_base_url: github_base_url(args.no_github),
        jobs: args.jobs.unwrap_or_else(codex_runtime::release::bundle::BundleRequest::default_jobs),
        dry_run: args.dry_run,
        refresh: args.refresh,
        only: args.only.clone(),
    };
    let synced = channel_sync::sync(&request, &ctx.cache, &ctx.progress)?;
    if !ctx.global.quiet {
        for note in &synced.notes {
            eprintln!("note: {note}");
        }
    }
    let heads = |h: &Option<codex_runtime::Heads>| {
        h.as_ref().map(|h| serde_json::json!({"stable": h.stable.to_string(), "alpha": h.alpha.to_string()}))
    };
    if ctx.global.json {
        print_json(&serde_json::json!({
            "dir": args.dir.display().to_string(),
            "dry_run": args.dry_run,
            "added": synced.added.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "kept": synced.kept.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "refreshed": synced.refreshed.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "heads": heads(&synced.heads),
            "heads_before": heads(&synced.heads_before),
            "notes": synced.notes,
        }));
        return Ok(ExitCode::SUCCESS);
    }
    let verb = if args.dry_run { "would pin" } else { "pinned" };
    for version in &synced.added {
        outln!("{verb} {version}");
    }
    let completed = if args.dry_run { "would complete" } else { "completed" };
    for version in &synced.refreshed {
        outln!("{completed} {version}");
    }
    outln!(
        "{} new, {} kept{} in {}{}",
        synced.added.len(),
        synced.kept.len(),
        if args.refresh { format!(" ({} completed)", synced.refreshed.len()) } else { String::new() },
        args.dir.join("versions").display(),
        match (&synced.heads_before, &synced.heads) {
            (Some(before), Some(after)) if before != after => format!(
                "; heads: stable {} -> {}, alpha {} -> {}",
                before.stable, after.stable, before.alpha, after.alpha
            ),
            (None, Some(after)) => format!("; heads: stable {}, alpha {}", after.stable, after.alpha),
            _ => String::new(),
        }
    );
    Ok(ExitCode::SUCCESS)
}
