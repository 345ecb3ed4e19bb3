//! `list`: installed runtimes, and with `--available` every version the history pins.

use anyhow::Result;
use codex_runtime::Target;
use serde::Serialize;

use crate::context::Context;
use crate::output::{ListRow, outln, print_json};

/// One pinned version, as `list --available` shows it.
#[derive(Debug, Serialize)]
struct AvailableRow {
    version: String,
    channel: String,
    /// Whether the channel hands out this version (`--channel` without `--version`).
    head: bool,
    /// The targets it is pinned for, in the order of `Target::ALL`.
    targets: Vec<&'static str>,
    /// The targets installed in the cache.
    installed: Vec<&'static str>,
}

pub fn list(ctx: &Context, available: bool) -> Result<()> {
    let installed = ctx.cache.installed();
    if available {
        return list_available(ctx, &installed);
    }
    let rows: Vec<ListRow> = installed
        .iter()
        .map(|r| {
            let dir = ctx.cache.runtime_dir(&r.version, r.target);
            ListRow {
                version: r.version.to_string(),
                target: r.target.triple().to_owned(),
                channel: ctx
                    .manifests
                    .versions()
                    .contains(&r.version)
                    .then(|| codex_runtime::Channel::of(&r.version).to_string()),
                installed: true,
                path: Some(dir.join(&r.entrypoint.path).display().to_string()),
                source: Some(r.source.clone()),
            }
        })
        .collect();
    if ctx.global.json {
        print_json(&rows);
        return Ok(());
    }
    if rows.is_empty() {
        eprintln!(
            "no runtime is installed in {}; `codex-runtime install` installs the stable one, `codex-runtime list --available` shows what can be",
            ctx.cache.root().display()
        );
        return Ok(());
    }
    for row in &rows {
        let state = row.path.clone().unwrap_or_default();
        outln!("{:<18} {:<7} {:<27} {}", row.version, row.channel.as_deref().unwrap_or("-"), row.target, state);
    }
    Ok(())
}

fn list_available(ctx: &Context, installed: &[codex_runtime::Receipt]) -> Result<()> {
    let rows: Vec<AvailableRow> = ctx
        .manifests
        .iter()
        .map(|m| AvailableRow {
            version: m.version.to_string(),
            channel: m.channel.to_string(),
            head: ctx.manifests.heads_at(&m.version).contains(&m.channel),
            targets: Target::ALL.into_iter().filter(|t| m.targets.contains_key(t)).map(Target::triple).collect(),
            installed: installed.iter().filter(|r| r.version == m.version).map(|r| r.target.triple()).collect(),
        })
        .collect();
    if ctx.global.json {
        print_json(&rows);
        return Ok(());
    }
    outln!("{:<18} {:<14} {:<40} INSTALLED", "VERSION", "CHANNEL", "TARGETS");
    for row in &rows {
        let channel = if row.head { format!("{} (head)", row.channel) } else { row.channel.clone() };
        let targets = if row.targets.len() == Target::ALL.len() {
            "all 6".to_owned()
        } else {
            let suffixes: Vec<&str> =
                Target::ALL.into_iter().filter(|t| row.targets.contains(&t.triple())).map(Target::npm_suffix).collect();
            format!("{} of 6: {}", row.targets.len(), suffixes.join(" "))
        };
        let installed = if row.installed.is_empty() { "-".to_owned() } else { row.installed.join(" ") };
        outln!("{:<18} {:<14} {:<40} {installed}", row.version, channel, targets);
    }
    Ok(())
}
