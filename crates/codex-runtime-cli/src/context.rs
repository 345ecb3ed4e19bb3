//! What every command needs: the manifests, the cache, how to report, and how to resolve and
//! install the runtime a selection names.

use anyhow::Result;
use codex_runtime::install::{self, InstallOptions, Installed};
use codex_runtime::{Cache, Channel, Manifest, Manifests, Pinned, RuntimeVersion, SourceOptions, Target};

use crate::cli::{GlobalArgs, Selection, SourceArgs};
use crate::output::{InstalledJson, outln, print_json};
use crate::progress::Progress;

/// What every command needs: the manifests, the cache, and how to report.
pub struct Context<'a> {
    pub global: &'a GlobalArgs,
    pub manifests: Manifests,
    pub cache: Cache,
    pub progress: Progress,
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
        Ok(Context { global, manifests, cache, progress: Progress::new(global.quiet) })
    }

    /// The pinned runtime a selection names.
    pub fn pinned(&self, selection: &Selection) -> Result<Pinned<'_>> {
        let target = match selection.target {
            Some(t) => t,
            None => Target::host().map_err(codex_runtime::Error::from)?,
        };
        let manifest = self.manifest(selection.channel, selection.version.as_ref())?;
        Ok(manifest.pinned(target).map_err(codex_runtime::Error::from)?)
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

    /// Where installs may fetch from, as the source flags and the environment say.
    pub fn install_options(&self, sources: &SourceArgs) -> Result<InstallOptions> {
        let options = SourceOptions {
            mirror: sources.mirror.clone(),
            npm_registry: sources.npm_registry.clone(),
            pypi_index: sources.pypi_index.clone(),
            python: sources.python.clone(),
            only: sources.sources.clone(),
        };
        Ok(InstallOptions {
            sources: options.resolve().map_err(codex_runtime::Error::from)?,
            offline: self.global.offline,
        })
    }

    pub fn print_installed(&self, installed: &Installed) {
        if self.global.json {
            print_json(&InstalledJson::from(installed));
        } else {
            outln!("{}", installed.path.display());
        }
    }
}
