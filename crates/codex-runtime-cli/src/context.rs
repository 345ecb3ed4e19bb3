//! What every command needs: the manifests, the cache, how to report, and how to resolve and
//! install the runtime a selection names.

use std::cell::OnceCell;

use anyhow::Result;
use codex_runtime::install::{self, InstallOptions, Installed};
use codex_runtime::model::env::{self, Env};
use codex_runtime::model::version_from;
use codex_runtime::{
    Cache, Channel, Manifest, Manifests, Pinned, RuntimeVersion, SourceOptions, Target, VersionRequest,
};

use crate::cli::{GlobalArgs, Selection, SourceArgs};
use crate::output::{InstalledJson, outln, print_json};
use crate::progress::Progress;

/// What every command needs: the manifests, the cache, and how to report.
pub struct Context<'a> {
    pub global: &'a GlobalArgs,
    pub manifests: Manifests,
    pub cache: Cache,
    pub progress: Progress,
    /// How the runtime of this command was asked for, when a version was requested.
    pub requested: OnceCell<Requested>,
}

/// A version request and where it came from, as output names it.
#[derive(Debug, Clone)]
pub struct Requested {
    /// The request as written: `0.160`, `>=0.159, <0.160`, `openai-codex ==0.160.1`.
    pub request: String,
    /// `FILE:LINE` of a pin file, or the environment variable.
    pub from: Option<String>,
    /// One exact version given on the command line: nothing worth saying.
    pub exact: bool,
}

impl Requested {
    fn describe(&self) -> String {
        match &self.from {
            Some(from) if from.starts_with("CODEX_RUNTIME_") => format!("{from}={}", self.request),
            Some(from) => format!("{from} ({})", self.request),
            None => format!("--version {}", self.request),
        }
    }
}

impl<'a> Context<'a> {
    pub fn new(global: &'a GlobalArgs) -> Result<Context<'a>> {
        let manifests = match global.manifest.as_slice() {
            [] => Manifests::embedded(),
            [file] => Manifests::single(Manifest::from_file(file).map_err(codex_runtime::Error::from)?),
            files => {
                return Err(crate::UsageError(format!(
                    "--manifest is given {} times; only verify-pins checks several manifests",
                    files.len()
                ))
                .into());
            }
        };
        let cache = Cache::locate(global.cache_dir.clone()).map_err(codex_runtime::Error::from)?;
        Ok(Context { global, manifests, cache, progress: Progress::new(global.quiet), requested: OnceCell::new() })
    }

    /// The pinned runtime a selection names: `--version-from`, else `--version`, else
    /// `CODEX_RUNTIME_VERSION`, else the channel's head. A request that is not one exact
    /// version says what it resolved to (on stderr, and in `--json` output).
    pub fn pinned(&self, selection: &Selection) -> Result<Pinned<'_>> {
        let target = match selection.target {
            Some(t) => t,
            None => Target::host().map_err(codex_runtime::Error::from)?,
        };
        let (version, requested) = self.select(selection)?;
        if let Some(requested) = requested {
            if !self.global.quiet && !requested.exact {
                eprintln!("{} resolved to codex {version}", requested.describe());
            }
            let _ = self.requested.set(requested);
        }
        Ok(self.manifests.pinned(&version, target).map_err(codex_runtime::Error::from)?)
    }

    /// The version a selection names, without parsing its manifest.
    fn select(&self, selection: &Selection) -> Result<(RuntimeVersion, Option<Requested>)> {
        let lib = |e: codex_runtime::SelectError| codex_runtime::Error::from(e);
        if let Some(file) = &selection.version_from {
            let by = version_from::read(file).map_err(codex_runtime::Error::from)?;
            let version = self.manifests.resolve_pinned_by(&by).map_err(lib)?;
            let from = format!("{}:{}", by.file.display(), by.line);
            let requested = Requested {
                request: format!("{} {}", by.package, by.requirement).trim().to_owned(),
                from: Some(from),
                exact: false,
            };
            return Ok((version, Some(requested)));
        }
        let (request, from) = match &selection.version {
            Some(request) => (Some(request.clone()), None),
            None => match Env::process().get(env::VERSION) {
                Some(value) => {
                    let request = VersionRequest::parse_cli(value)
                        .map_err(|e| crate::UsageError(format!("{}: {e}; unset it or fix it", env::VERSION)))?;
                    (Some(request), Some(env::VERSION.to_owned()))
                }
                None => (None, None),
            },
        };
        let Some(request) = request else {
            // With --manifest and no channel, the file's own channel is meant (see `manifest`).
            let version = match selection.channel {
                None if !self.global.manifest.is_empty() => self.manifest(None, None)?.version.clone(),
                channel => self.manifests.resolve_request(channel.unwrap_or(Channel::Stable), None).map_err(lib)?,
            };
            return Ok((version, None));
        };
        let version = self
            .manifests
            .resolve_request(selection.channel.unwrap_or(Channel::Stable), Some(&request))
            .map_err(lib)?;
        let exact = matches!(request, VersionRequest::Exact { .. }) && from.is_none();
        Ok((version, Some(Requested { request: request.to_string(), from, exact })))
    }

    /// The manifest a `--channel`/`--version` pair names.
    pub fn manifest(&self, channel: Option<Channel>, version: Option<&RuntimeVersion>) -> Result<&Manifest> {
        let manifest = match (version, channel) {
            (Some(v), _) => self.manifests.version(v),
            (None, Some(c)) => self.manifests.channel(c),
            // With --manifest and no channel, the file's own channel is meant.
            (None, None) if !self.global.manifest.is_empty() => Ok(self.manifests.iter().next().expect("one manifest")),
            (None, None) => self.manifests.channel(Channel::Stable),
        };
        Ok(manifest.map_err(codex_runtime::Error::from)?)
    }

    pub fn install(&self, selection: &Selection, sources: &SourceArgs) -> Result<Installed> {
        let pinned = self.pinned(selection)?;
        self.install_pinned(&pinned, sources)
    }

    pub fn install_pinned(&self, pinned: &Pinned<'_>, sources: &SourceArgs) -> Result<Installed> {
        if let Some(installed) = install::find_installed(pinned, &self.cache) {
            if sources.explain_sources {
                self.install_options(sources)?;
            }
            return Ok(installed);
        }
        let options = self.install_options(sources)?;
        let installed = install::install(pinned, &options, &self.cache, &self.progress)?;
        if !self.global.quiet && !installed.cached {
            eprintln!(
                "installed codex {} for {} from {} ({})",
                installed.version, installed.target, installed.source, installed.receipt.from
            );
        }
        Ok(installed)
    }

    /// `--explain-sources`: on stderr, a line for each source to be tried, saying where its
    /// registry or index was configured and which credential it would send (where that was
    /// configured, never the secret), then a line for each CA bundle their configuration names.
    fn explain_sources(&self, sources: &[codex_runtime::sources::Source]) {
        for source in sources {
            let own = std::slice::from_ref(source);
            let credentials = codex_runtime::sources::credentials(own, codex_runtime::model::env::Env::process());
            for line in source.explain(&credentials) {
                eprintln!("source {line}");
            }
        }
        for line in codex_runtime::sources::explain_ca_files(sources, codex_runtime::model::env::Env::process()) {
            eprintln!("source {line}");
        }
    }

    /// Where installs may fetch from, as the source flags and the environment say.
    pub fn install_options(&self, sources: &SourceArgs) -> Result<InstallOptions> {
        let options = SourceOptions {
            mirror: sources.mirror.clone(),
            npm_registry: sources.npm_registry.clone(),
            pypi_index: sources.pypi_index.clone(),
            python: sources.python.clone(),
            only: sources.sources.clone(),
            offline: self.global.offline,
        };
        let options = InstallOptions {
            sources: options.sources().map_err(codex_runtime::Error::from)?,
            offline: self.global.offline,
        };
        if sources.explain_sources {
            self.explain_sources(&options.sources);
        }
        Ok(options)
    }

    /// The `--json` document of an installed runtime, with how it was requested.
    pub fn installed_json(&self, installed: &Installed) -> InstalledJson {
        let mut json = InstalledJson::from(installed);
        if let Some(requested) = self.requested.get() {
            json.requested = Some(requested.request.clone());
            json.requested_from = requested.from.clone();
        }
        json
    }

    pub fn print_installed(&self, installed: &Installed) {
        if self.global.json {
            print_json(&self.installed_json(installed));
        } else {
            outln!("{}", installed.path.display());
        }
    }
}
