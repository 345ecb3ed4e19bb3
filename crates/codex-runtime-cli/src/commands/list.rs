//! `list`: installed runtimes, and with `--available` what the channels pin.

use anyhow::Result;

use crate::context::Context;
use crate::output::{ListRow, outln, print_json};

pub fn list(ctx: &Context, available: bool) -> Result<()> {
    let installed = ctx.cache.installed();
    let mut rows: Vec<ListRow> = installed
        .iter()
        .map(|r| {
            let dir = ctx.cache.runtime_dir(&r.version, r.target);
            ListRow {
                version: r.version.to_string(),
                target: r.target.triple().to_owned(),
                channel: ctx.manifests.iter().find(|m| m.version == r.version).map(|m| m.channel.to_string()),
                installed: true,
                path: Some(dir.join(&r.entrypoint.path).display().to_string()),
                source: Some(r.source.clone()),
            }
        })
        .collect();
    if available {
        for m in ctx.manifests.iter() {
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
    if ctx.global.json {
        print_json(&rows);
        return Ok(());
    }
    if rows.is_empty() {
        eprintln!(
            "no runtime is installed in {}; `codex-runtime install` installs the stable one",
            ctx.cache.root().display()
        );
        return Ok(());
    }
    for row in &rows {
        let state = if row.installed { row.path.clone().unwrap_or_default() } else { "(not installed)".into() };
        outln!("{:<18} {:<7} {:<27} {}", row.version, row.channel.as_deref().unwrap_or("-"), row.target, state);
    }
    Ok(())
}
