//! `verify-pins`: every pin checked, one verdict. The checks live in
//! [`codex_runtime::release::verify_pins`]; this reads the files, runs `--launch`, prints and picks the exit code.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use codex_app_server_client::protocol::{self, DEFAULT_SCHEMA_TIMEOUT, Schema};
use codex_runtime::fetch::download::NetworkOptions;
use codex_runtime::install::find_installed;
use codex_runtime::model::error::error_chain;
use codex_runtime::release::channel_update::Listings;
use codex_runtime::release::verify_pins::{self, Check, NoSchema, Online, Rehash, Report, Verdict};
use codex_runtime::{Cache, Channel, ErrorKind, Manifest, Manifests, RuntimeVersion, Target};

use crate::cli::{GlobalArgs, VerifyPinsArgs};
use crate::context::Context;
use crate::exit;
use crate::output::{out, outln, print_json};
use crate::progress::Progress;

pub fn verify_pins(global: &GlobalArgs, args: &VerifyPinsArgs) -> Result<ExitCode> {
    // clap sees the conflict only when --offline comes after the subcommand.
    if global.offline && args.online {
        let message = "--online fetches from the registries; it cannot run with --offline (drop one of them)";
        return Err(crate::UsageError(message.to_owned()).into());
    }
    let mut report = Report::default();
    let mut manifests = Vec::new();
    if global.manifest.is_empty() {
        // The heads pin all six targets; an older version may lack what upstream never published.
        let heads: Vec<String> = Channel::ALL.iter().map(|&c| Manifest::embedded(c).version.to_string()).collect();
        for (version, text) in codex_runtime::model::history::embedded_texts() {
            let file = format!("channels/versions/{version}.json");
            let checked = if heads.iter().any(|h| h == version) {
                verify_pins::check_manifest(text, &file, &mut report)
            } else {
                verify_pins::check_history_manifest(text, &file, &mut report)
            };
            manifests.extend(checked);
        }
    } else {
        for file in &global.manifest {
            let text = read(file)?;
            manifests.extend(verify_pins::check_manifest(&text, &file.display().to_string(), &mut report));
        }
    }

    let channel = args.channel.unwrap_or(Channel::Stable);
    let wants_channel = !args.pyproject.is_empty() || !args.package_json.is_empty() || args.launch;
    // The channel's head: the embedded one, or the newest manifest given for the channel.
    let head = if global.manifest.is_empty() { Some(Manifest::embedded(channel).version) } else { None };
    let selected = manifests
        .iter()
        .filter(|m| m.channel == channel && head.as_ref().is_none_or(|h| *h == m.version))
        .max_by(|a, b| a.version.cmp(&b.version));
    match selected {
        Some(manifest) => {
            let mut pins = Vec::new();
            for file in &args.pyproject {
                let name = file.display().to_string();
                pins.push((verify_pins::check_pyproject(&read(file)?, &name, manifest, &mut report), name));
            }
            for file in &args.package_json {
                let name = file.display().to_string();
                pins.push((verify_pins::check_package_json(&read(file)?, &name, manifest, &mut report), name));
            }
            let behind = pins.into_iter().filter_map(|(version, file)| Some((version?, file)));
            let behind: Vec<_> = behind.filter(|(version, _)| *version < manifest.version).collect();
            if !behind.is_empty() {
                let mut schemas = Schemas::new(global, args)?;
                for (version, file) in behind {
                    let pinned = manifests.iter().find(|m| m.version == version);
                    let deny = args.deny_protocol_drift;
                    let schema = &mut |m: &Manifest| schemas.get(m);
                    verify_pins::check_protocol(&file, &version, pinned, manifest, deny, schema, &mut report);
                }
            }
        }
        None if wants_channel => report.push(Check::new(
            "channel",
            channel.as_str(),
            Verdict::Drift,
            format!(
                "no valid {channel} manifest to check the pin files and the runtime against{}",
                if global.manifest.is_empty() { "" } else { "; pass its --manifest or pick another --channel" }
            ),
        )),
        None => {}
    }

    if args.online {
        let npm_registry = codex_runtime::sources::npm_registry(args.sources.npm_registry.as_deref());
        let pypi_index = verify_pins::pypi_index(args.sources.pypi_index.as_deref());
        let http = codex_runtime::sources::reading_client(
            npm_registry.as_deref(),
            pypi_index.as_deref(),
            None,
            codex_runtime::model::env::Env::process(),
        );
        // --rehash downloads each artifact into the cache's scratch space, as an install does.
        let cache = if args.rehash {
            Some(Cache::locate(global.cache_dir.clone()).map_err(codex_runtime::Error::from)?)
        } else {
            None
        };
        let online = Online {
            http: &http,
            npm_registry,
            pypi_index,
            rehash: cache.as_ref().map(|cache| Rehash { cache, network: NetworkOptions::from_env() }),
        };
        // The registry checks cover the channel heads (and every --manifest), or with
        // --all-versions the whole history, limited to --target.
        let heads: Vec<(Channel, RuntimeVersion)> = if global.manifest.is_empty() {
            Channel::ALL.into_iter().map(|c| (c, Manifest::embedded(c).version)).collect()
        } else {
            Channel::ALL
                .into_iter()
                .filter_map(|c| {
                    Some((c, manifests.iter().filter(|m| m.channel == c).map(|m| m.version.clone()).max()?))
                })
                .collect()
        };
        for manifest in &manifests {
            let checked =
                !global.manifest.is_empty() || args.all_versions || heads.iter().any(|(_, v)| *v == manifest.version);
            if checked {
                verify_pins::check_online(&restricted(manifest, &args.targets), &online, &mut report);
            }
        }
        // What either registry lists; unavailable only when neither answers.
        let listed = [
            Listings::fetch(&http, online.npm_registry.as_deref(), None),
            Listings::fetch(&http, None, online.pypi_index.as_deref()),
        ];
        let published = match listed {
            [Err(npm), Err(pypi)] => Err(format!("{}; {}", error_chain(&npm), error_chain(&pypi))),
            listed => Ok(listed.into_iter().flatten().flat_map(|l| l.versions()).collect()),
        };
        verify_pins::check_freshness(&heads, published, args.require_latest, &mut report);
    }

    if let (true, Some(manifest)) = (args.launch, selected) {
        report.push(launch(global, args, manifest)?);
    }

    print(global, args, &report);
    Ok(match report.worst() {
        None => ExitCode::SUCCESS,
        Some(verdict) => ExitCode::from(code(verdict)),
    })
}

/// The pinned runtimes' schemas for the protocol checks, each generated once: from the cache,
/// or with `--online` installed first as `protocol diff` installs them.
struct Schemas<'a> {
    ctx: Context<'a>,
    args: &'a VerifyPinsArgs,
    done: BTreeMap<RuntimeVersion, Result<Schema, NoSchema>>,
}

impl<'a> Schemas<'a> {
    fn new(global: &'a GlobalArgs, args: &'a VerifyPinsArgs) -> Result<Schemas<'a>> {
        let ctx = Context {
            global,
            manifests: Manifests::embedded(),
            cache: Cache::locate(global.cache_dir.clone()).map_err(codex_runtime::Error::from)?,
            progress: Progress::new(global.quiet || global.json),
            requested: Default::default(),
        };
        Ok(Schemas { ctx, args, done: BTreeMap::new() })
    }

    fn get(&mut self, manifest: &Manifest) -> Result<Schema, NoSchema> {
        if let Some(done) = self.done.get(&manifest.version) {
            return done.clone();
        }
        let schema = self.generate(manifest);
        self.done.insert(manifest.version.clone(), schema.clone());
        schema
    }

    fn generate(&self, manifest: &Manifest) -> Result<Schema, NoSchema> {
        let version = &manifest.version;
        let host = Target::host().map_err(|e| NoSchema::Failed(e.to_string()))?;
        let pinned = manifest
            .pinned(host)
            .map_err(|_| NoSchema::Failed(format!("{version} pins no runtime for this host ({host})")))?;
        let installed = match find_installed(&pinned, &self.ctx.cache) {
            Some(installed) => installed,
            None if !self.args.online => return Err(NoSchema::NotCached),
            None => self
                .ctx
                .install_pinned(&pinned, &self.args.sources)
                .map_err(|e| NoSchema::Failed(format!("cannot install {version}: {e:#}")))?,
        };
        let scratch = tempfile::Builder::new()
            .prefix("codex-runtime-schema-")
            .tempdir()
            .map_err(|e| NoSchema::Failed(format!("cannot create a temporary directory: {e}")))?;
        protocol::generate(&installed.path, Some(&installed.path_dir), scratch.path(), false, DEFAULT_SCHEMA_TIMEOUT)
            .map_err(|e| NoSchema::Failed(format!("{version}: {}", error_chain(&e))))
    }
}

/// The manifest with only `targets` (all of them when empty).
fn restricted(manifest: &Manifest, targets: &[Target]) -> Manifest {
    let mut manifest = manifest.clone();
    if !targets.is_empty() {
        manifest.targets.retain(|t, _| targets.contains(t));
    }
    manifest
}

fn read(file: &Path) -> Result<String> {
    std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))
}

/// The exit code of a failed check (the README's "Exit codes").
fn code(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Ok | Verdict::Behind | Verdict::Warning | Verdict::Note => 0,
        Verdict::Drift => exit::PIN_DRIFT,
        Verdict::Digest => exit::VERIFICATION,
        Verdict::Incompatible => exit::INCOMPATIBLE,
        Verdict::Unavailable => exit::NO_SOURCE,
    }
}

/// Install the host's runtime (from the cache when it is there) and run `check` on it.
fn launch(global: &GlobalArgs, args: &VerifyPinsArgs, manifest: &Manifest) -> Result<Check> {
    let subject = format!("{} {}", manifest.channel, manifest.version);
    let target = Target::host().map_err(codex_runtime::Error::from)?;
    let pinned = match manifest.pinned(target) {
        Ok(p) => p,
        Err(e) => return Ok(Check::new("launch", subject, Verdict::Drift, e.to_string())),
    };
    let ctx = Context {
        global,
        manifests: Manifests::single(manifest.clone()),
        cache: Cache::locate(global.cache_dir.clone()).map_err(codex_runtime::Error::from)?,
        progress: Progress::new(global.quiet || global.json),
        requested: Default::default(),
    };
    let installed = match ctx.install_pinned(&pinned, &args.sources) {
        Ok(installed) => installed,
        Err(e) => {
            let verdict = match e.downcast_ref::<codex_runtime::Error>().map(codex_runtime::Error::kind) {
                Some(ErrorKind::Verification) => Verdict::Digest,
                _ => Verdict::Unavailable,
            };
            return Ok(Check::new("launch", subject, verdict, format!("cannot install {target}: {e:#}")));
        }
    };
    let timeout = Some(args.timeout);
    let check = super::check::run_check(&installed.path, Some(&installed.path_dir), &pinned, None, timeout, None);
    Ok(match check {
        Ok(r) if r.ok => Check::new(
            "launch",
            subject,
            Verdict::Ok,
            format!(
                "{} answered initialize as {} in {} ms",
                installed.path.display(),
                r.version.as_deref().unwrap_or("?"),
                r.elapsed_ms
            ),
        ),
        Ok(r) => Check::new(
            "launch",
            subject,
            Verdict::Incompatible,
            format!(
                "{} reported {}, expected {}: {}",
                installed.path.display(),
                r.version.as_deref().unwrap_or("no version"),
                r.expected.as_deref().unwrap_or("?"),
                r.problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
            ),
        ),
        Err(e) => Check::new("launch", subject, Verdict::Incompatible, format!("{e:#}")),
    })
}

fn print(global: &GlobalArgs, args: &VerifyPinsArgs, report: &Report) {
    if global.json {
        print_json(&serde_json::json!({"ok": report.ok(), "checks": report.checks}));
        return;
    }
    out!("{}", table(report));
    if args.github_annotations {
        for check in report.checks.iter().filter(|c| c.verdict != Verdict::Ok) {
            outln!("{}", annotation(check));
        }
    }
    if !global.quiet {
        let failed = report.failed().count();
        let warnings = report.checks.iter().filter(|c| c.warns()).count();
        if failed == 0 && warnings > 0 {
            eprintln!("every pin holds ({} checks), with {warnings} warning(s)", report.checks.len());
        } else if failed == 0 {
            eprintln!("every pin holds ({} checks)", report.checks.len());
        } else {
            let with = if warnings > 0 { format!(", with {warnings} warning(s)") } else { String::new() };
            eprintln!("{failed} of {} checks failed{with}", report.checks.len());
        }
    }
}

/// The human table: check, subject, verdict, message (with `file:line` of a failure).
fn table(report: &Report) -> String {
    let rows: Vec<[String; 4]> = report
        .checks
        .iter()
        .map(|c| {
            let place = match (&c.file, c.line, c.ok()) {
                (Some(file), Some(line), false) => format!(" ({file}:{line})"),
                (Some(file), None, false) => format!(" ({file})"),
                _ => String::new(),
            };
            let verdict = if c.ok() { c.verdict.as_str().to_owned() } else { c.verdict.as_str().to_uppercase() };
            [c.name.to_owned(), c.subject.clone(), verdict, format!("{}{place}", c.message)]
        })
        .collect();
    let header = ["CHECK", "SUBJECT", "VERDICT", "MESSAGE"].map(str::to_owned);
    let width = |i: usize| rows.iter().chain([&header]).map(|r| r[i].chars().count()).max().unwrap_or(0);
    let widths = [width(0), width(1), width(2)];
    let mut out = String::new();
    for row in [&header].into_iter().chain(&rows) {
        let line = format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A GitHub Actions workflow command: `::error file=F,line=L,title=T::MESSAGE`.
fn annotation(check: &Check) -> String {
    let property = |v: &str| escape(v).replace(':', "%3A").replace(',', "%2C");
    let mut properties = Vec::new();
    if let Some(file) = &check.file {
        properties.push(format!("file={}", property(file)));
        if let Some(line) = check.line {
            properties.push(format!("line={line}"));
        }
    }
    properties.push(format!("title={}", property(&format!("verify-pins {} ({})", check.name, check.verdict))));
    let level = match check.verdict {
        Verdict::Note => "notice",
        _ if check.ok() => "warning",
        _ => "error",
    };
    format!("::{level} {}::{}: {}", properties.join(","), escape(&check.subject), escape(&check.message))
}

fn escape(v: &str) -> String {
    v.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_escape_what_github_would_misread() {
        let check = Check::new("pyproject", "openai-codex-cli-bin", Verdict::Drift, "pins 1%\nnext")
            .at("sdk/py,thon/pyproject.toml", Some(5));
        assert_eq!(
            annotation(&check),
            "::error file=sdk/py%2Cthon/pyproject.toml,line=5,title=verify-pins pyproject (drift)::openai-codex-cli-bin: pins 1%25%0Anext"
        );
        let bare = Check::new("npm metadata", "x", Verdict::Unavailable, "no registry");
        assert_eq!(annotation(&bare), "::error title=verify-pins npm metadata (unavailable)::x: no registry");
    }

    #[test]
    fn the_worst_verdict_decides_the_exit_code() {
        let cases: [(&[Verdict], Option<u8>); 5] = [
            (&[Verdict::Ok, Verdict::Ok], None),
            (&[Verdict::Ok, Verdict::Drift], Some(7)),
            (&[Verdict::Drift, Verdict::Digest, Verdict::Unavailable], Some(4)),
            (&[Verdict::Unavailable, Verdict::Incompatible], Some(6)),
            (&[Verdict::Unavailable], Some(5)),
        ];
        for (verdicts, expected) in cases {
            let report = Report { checks: verdicts.iter().map(|v| Check::new("x", "y", *v, "")).collect() };
            assert_eq!(report.worst().map(code), expected, "{verdicts:?}");
        }
    }

    #[test]
    fn the_table_aligns_columns_and_places_failures() {
        let report = Report {
            checks: vec![
                Check::new("manifest", "stable", Verdict::Ok, "fine").at("channels/stable.json", None),
                Check::new("pyproject", "openai-codex-cli-bin", Verdict::Drift, "pins 0.1.0").at("p.toml", Some(3)),
            ],
        };
        assert_eq!(
            table(&report),
            "CHECK      SUBJECT               VERDICT  MESSAGE\n\
             manifest   stable                ok       fine\n\
             pyproject  openai-codex-cli-bin  DRIFT    pins 0.1.0 (p.toml:3)\n"
        );
    }
}
