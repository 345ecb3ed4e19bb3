//! The command-line surface: the commands and flags the README documents.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use codex_runtime::release::bundle::Format;
use codex_runtime::{Channel, RuntimeVersion, SourceName, Target, VersionRequest};

/// Install, locate and check the pinned codex runtime.
///
/// codex-runtime resolves the `codex` runtime pinned by a channel (stable, alpha) or an exact
/// version for a target, downloads it from the first source that serves a verified artifact,
/// extracts it safely and caches it. Every byte is checked against the pins compiled into
/// this build.
#[derive(Debug, Parser)]
#[command(name = "codex-runtime", version, propagate_version = false, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The cache directory [env: CODEX_RUNTIME_CACHE_DIR; default: the user cache dir + codex-runtime]
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Use this channel manifest instead of the embedded ones (verify-pins: repeatable)
    #[arg(long, global = true, value_name = "FILE", env = codex_runtime::model::env::MANIFEST)]
    pub manifest: Vec<PathBuf>,
    /// Never touch the network: the cache, local mirror directories, imports and runtimes pip or npm installed
    #[arg(long, global = true)]
    pub offline: bool,
    /// Print one JSON document on stdout and nothing else there
    #[arg(long, global = true)]
    pub json: bool,
    /// Print only errors on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more on stderr (-vv for debug logs)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ensure the runtime is in the cache and print its entrypoint path
    Install(InstallArgs),
    /// Print the entrypoint path, installing first unless --no-install
    Path(PathArgs),
    /// Verify local artifacts (npm tarball, wheel, GitHub package) against the pins and install them
    Import(ImportArgs),
    /// List installed runtimes; --available adds what the channels pin
    List(ListArgs),
    /// Launch `codex app-server`, run the initialize handshake and check compatibility
    Check(CheckArgs),
    /// Resolve the runtime, then run it with ARGS (its codex-path first on PATH)
    Exec(ExecArgs),
    /// Print what a launcher needs (CODEX_BIN, PATH with codex-path first) as shell exports
    Env(EnvArgs),
    /// Print a shell completion script
    Completions(CompletionsArgs),
    /// Check that every pin holds: the manifests, the SDK's pin files, the registries, the runtime
    VerifyPins(VerifyPinsArgs),
    /// Fetch and verify every target in parallel; stage them as directories, wheels and npm packages
    Bundle(BundleArgs),
    /// Print a channel manifest, or recompute one from the registries
    Channel(ChannelArgs),
    /// The protocol a runtime speaks: its JSON Schema, and what changed between two runtimes
    Protocol(ProtocolArgs),
    /// Verify, repair, prune or empty the cache
    Cache(CacheArgs),
}

/// Which runtime: a channel's head or a pinned version, for a target.
#[derive(Debug, Args)]
pub struct Selection {
    /// The channel whose head to use [default: stable]
    #[arg(long, value_name = "stable|alpha")]
    pub channel: Option<Channel>,
    /// A pinned version: exact (0.160.1, 0.162.0a15), partial (0.160: the newest pinned
    /// 0.160.x) or a requirement (">=0.159, <0.160", "~=0.160.0", "^0.160.1"), newest match
    /// first, releases only unless it names a pre-release [default: CODEX_RUNTIME_VERSION]
    #[arg(long = "version", value_name = "V|REQ", id = "runtime_version", value_parser = version_request)]
    pub version: Option<VersionRequest>,
    /// The version your SDK pins, read from pyproject.toml, uv.lock, requirements*.txt,
    /// package.json or package-lock.json (a lockfile beside the manifest wins), or a directory
    /// holding one
    #[arg(long, value_name = "FILE", conflicts_with = "runtime_version")]
    pub version_from: Option<PathBuf>,
    /// One of the six shipped target triples [default: the host's]
    #[arg(long, value_name = "TRIPLE")]
    pub target: Option<Target>,
}

/// Where to fetch from.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// A flat mirror: a directory, file:// or http(s):// base holding artifacts under their file names
    #[arg(long, value_name = "URL|DIR", env = codex_runtime::model::env::MIRROR)]
    pub mirror: Option<String>,
    /// Restrict and order the sources (repeatable): mirror, installed, github, npm, pypi
    #[arg(long = "source", value_name = "NAME")]
    pub sources: Vec<SourceName>,
    /// The npm registry [default: CODEX_RUNTIME_NPM_REGISTRY, then npm's config: @openai:registry, registry]
    #[arg(long, value_name = "URL")]
    pub npm_registry: Option<String>,
    /// The PyPI simple index [default: CODEX_RUNTIME_PYPI_INDEX, PIP_INDEX_URL, UV_DEFAULT_INDEX, pip.conf]
    #[arg(long, value_name = "URL")]
    pub pypi_index: Option<String>,
    /// The Python whose environment the installed source looks in [default: python3 on PATH]
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// Say on stderr where each source's registry, index and credential were configured (the file and key, never the secret)
    #[arg(long)]
    pub explain_sources: bool,
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    #[command(flatten)]
    pub selection: Selection,
    #[command(flatten)]
    pub sources: SourceArgs,
    /// After installing, run the initialize handshake and check compatibility
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct PathArgs {
    #[command(flatten)]
    pub selection: Selection,
    #[command(flatten)]
    pub sources: SourceArgs,
    /// Fail with exit code 3 instead of installing
    #[arg(long)]
    pub no_install: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Artifact files under their published names
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Also list what the channels pin
    #[arg(long)]
    pub available: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub selection: Selection,
    #[command(flatten)]
    pub sources: SourceArgs,
    /// Check this binary instead of the cached runtime
    #[arg(long, value_name = "PATH")]
    pub codex_bin: Option<PathBuf>,
    /// Accept any version matching this semver requirement instead of the exact pin
    #[arg(long, value_name = "REQ", value_parser = parse_requirement)]
    pub require: Option<semver::VersionReq>,
    /// Seconds to wait for the handshake
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = seconds)]
    pub timeout: std::time::Duration,
    /// Use this CODEX_HOME instead of a fresh temporary one
    #[arg(long, value_name = "DIR")]
    pub codex_home: Option<PathBuf>,
    /// Judge the runtime for an SDK generated against V (a pinned version; without a value, the
    /// one --version or --version-from selects) by the protocol diff V -> this runtime, instead
    /// of requiring the exact pin
    #[arg(long, value_name = "V", num_args = 0..=1, default_missing_value = "", value_parser = client_version)]
    pub client_version: Option<ClientVersion>,
}

/// The SDK's version `check --client-version` judges for.
#[derive(Debug, Clone)]
pub enum ClientVersion {
    /// The version the selection names.
    Selected,
    /// This one.
    Request(VersionRequest),
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub selection: Selection,
    #[command(flatten)]
    pub sources: SourceArgs,
    /// Arguments for codex
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  eval \"$(codex-runtime env)\"\n  codex-runtime env --shell fish | source")]
pub struct EnvArgs {
    #[command(flatten)]
    pub selection: Selection,
    #[command(flatten)]
    pub sources: SourceArgs,
    /// The shell to print exports for
    #[arg(long, value_enum, default_value_t = Shell::Sh)]
    pub shell: Shell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    /// POSIX shells: sh, bash, zsh, dash, ksh
    #[value(alias = "bash", alias = "zsh", alias = "dash", alias = "ksh")]
    Sh,
    Fish,
    Powershell,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  codex-runtime completions bash > ~/.local/share/bash-completion/completions/codex-runtime"
)]
pub struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Checks the channel manifests (the embedded ones, or each --manifest) and the pin files
/// against them, and exits 0 when every pin holds, 7 on drift, 4 when downloaded bytes fail
/// their pins (5 when a registry cannot be reached, 6 when --launch finds an incompatible
/// runtime).
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  codex-runtime verify-pins --manifest channels/versions/0.171.0.json\n  codex-runtime verify-pins --pyproject sdk/python/pyproject.toml --package-json sdk/typescript/package.json\n  codex-runtime verify-pins --online --rehash --github-annotations"
)]
pub struct VerifyPinsArgs {
    /// The channel the pin files and --launch are checked against [default: stable]
    #[arg(long, value_name = "stable|alpha")]
    pub channel: Option<Channel>,
    /// A pyproject.toml whose [project] dependencies pin openai-codex-cli-bin==X (repeatable)
    #[arg(long, value_name = "PATH")]
    pub pyproject: Vec<PathBuf>,
    /// A package.json whose optionalDependencies alias the six npm:@openai/codex@V-SUFFIX packages (repeatable)
    #[arg(long, value_name = "PATH")]
    pub package_json: Vec<PathBuf>,
    /// Re-fetch every artifact's published metadata (npm integrity, the PyPI index's sha256) from --npm-registry and --pypi-index (default: your npm and pip configuration) and compare it with the pins
    #[arg(long, conflicts_with = "offline")]
    pub online: bool,
    /// With --online, also download every artifact (retried and resumed, as install downloads) into the cache and hash it
    #[arg(long, requires = "online")]
    pub rehash: bool,
    /// With --online, fail (exit 7) when a channel head is older than the newest release (or
    /// pre-release) the registries publish; without it that is a warning
    #[arg(long, requires = "online")]
    pub require_latest: bool,
    /// Fail (exit 7) when a pin file's version, older than the channel head, speaks a protocol
    /// whose clients cannot talk to the head's; without it that is a warning
    #[arg(long)]
    pub deny_protocol_drift: bool,
    /// With --online, check every pinned version against the registries, not only the heads
    #[arg(long, requires = "online")]
    pub all_versions: bool,
    /// With --online, check only these targets' artifacts (repeatable), e.g. for a mirror
    /// that carries only some platforms
    #[arg(long = "target", value_name = "TRIPLE", id = "verify_targets", requires = "online")]
    pub targets: Vec<Target>,
    /// Install the host's runtime of --channel and run `check` on it
    #[arg(long)]
    pub launch: bool,
    /// Seconds --launch waits for the handshake
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = seconds)]
    pub timeout: std::time::Duration,
    /// Also print a GitHub Actions `::error file=...,line=...::message` line for each failed check
    #[arg(long, conflicts_with = "json")]
    pub github_annotations: bool,
    #[command(flatten)]
    pub sources: SourceArgs,
}

/// Fetches and verifies each target like an install (reusing the cache), in parallel, then
/// stages it into --out: `TRIPLE/` (dir), the `openai-codex-cli-bin` wheel, the `@openai/codex`
/// platform tarball, plus `SHA256SUMS` and `bundle.json`. The output is assembled next to --out
/// and renamed into place only when every target succeeded; a previous bundle is replaced.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  codex-runtime bundle --channel stable --all-platforms --out dist\n  codex-runtime bundle --version 0.163.0 --target x86_64-unknown-linux-musl --format wheel,npm --out dist"
)]
pub struct BundleArgs {
    /// The channel whose pinned version to bundle [default: stable, or the --manifest's own]
    #[arg(long, value_name = "stable|alpha")]
    pub channel: Option<Channel>,
    /// An exact pinned version (semver or PEP 440 spelling)
    #[arg(long = "version", value_name = "V", id = "runtime_version")]
    pub version: Option<RuntimeVersion>,
    /// Bundle every target the manifest pins
    #[arg(long, conflicts_with = "targets", required_unless_present = "targets")]
    pub all_platforms: bool,
    /// A target triple to bundle (repeatable)
    #[arg(long = "target", value_name = "TRIPLE", id = "targets")]
    pub targets: Vec<Target>,
    /// The bundle directory: new, empty, or a previous bundle (replaced whole)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// What to stage each target as (comma-separated); index adds a static PEP 503/691 index and npm packuments over the wheels and tarballs, keeping other versions already there
    #[arg(long, value_name = "dir,wheel,npm,index", value_delimiter = ',', default_value = "dir,wheel,npm")]
    pub format: Vec<Format>,
    /// With --format index: the URL the bundle will be served at, for absolute links in the index
    #[arg(long, value_name = "URL")]
    pub base_url: Option<url::Url>,
    /// Targets fetched and staged at once [default: the number of cores, 2 to 6]
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Replace --out even when it holds something other than a previous bundle
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub sources: SourceArgs,
}

#[derive(Debug, Args)]
pub struct ChannelArgs {
    #[command(subcommand)]
    pub command: ChannelCommand,
}

#[derive(Debug, Subcommand)]
pub enum ChannelCommand {
    /// Print a channel manifest: the embedded one, or the --manifest
    Show {
        /// stable or alpha
        channel: Channel,
    },
    /// Recompute a channel manifest from the registries and print it (and write it with --out)
    Update(ChannelUpdateArgs),
    /// Pin every release the registries publish that the history in DIR lacks, keeping every
    /// existing pin, and move the heads to the newest release and pre-release
    Sync(ChannelSyncArgs),
    /// Pin the protocol of versions already pinned: install each one's runtime for this host
    /// (verified against its pins), run its generate-json-schema and add the `protocol` key to
    /// DIR/versions/V.json, changing nothing else in the file
    #[command(after_help = "Example:\n  codex-runtime channel protocol --dir channels 0.163.0 0.171.0")]
    Protocol(ChannelProtocolArgs),
}

#[derive(Debug, Args)]
pub struct ChannelProtocolArgs {
    /// The versions to pin the protocol of
    #[arg(required = true, value_name = "V")]
    pub versions: Vec<RuntimeVersion>,
    /// The channels directory: versions/ and heads.json
    #[arg(long, value_name = "DIR", default_value = "channels")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub sources: SourceArgs,
}

/// Reads DIR/versions/*.json and DIR/heads.json, lists the versions of @openai/codex on the npm
/// registry and of openai-codex-cli-bin on the Python index, and pins each release from --since
/// on that DIR lacks (and the newest pre-release), as `channel update` would, writing each
/// manifest as soon as it is complete and deleting its artifacts as it goes. A pinned artifact
/// whose registry digest has changed fails the sync naming it (exit 7) and nothing is
/// rewritten. A version published for only some targets is pinned for those.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  codex-runtime channel sync --dir channels\n  codex-runtime channel sync --dir channels --dry-run --json"
)]
pub struct ChannelSyncArgs {
    /// The channels directory: versions/ and heads.json
    #[arg(long, value_name = "DIR", default_value = "channels")]
    pub dir: PathBuf,
    /// The oldest version to pin (the Python SDK's minimum runtime)
    #[arg(long, value_name = "V", default_value = "0.151.0")]
    pub since: RuntimeVersion,
    /// List what would be pinned; fetch no artifact, write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// The npm registry [default: CODEX_RUNTIME_NPM_REGISTRY, npm_config_registry, .npmrc, npm's own config]
    #[arg(long, value_name = "URL", id = "sync_npm_registry")]
    pub npm_registry: Option<String>,
    /// The Python simple index [default: CODEX_RUNTIME_PYPI_INDEX, PIP_INDEX_URL, UV_DEFAULT_INDEX, pip's config]
    #[arg(long = "pypi-index", value_name = "URL", id = "sync_pypi_index")]
    pub pypi_index: Option<String>,
    /// Do not ask GitHub for the release assets (their digests stay unpinned)
    #[arg(long)]
    pub no_github: bool,
    /// Targets fetched at once
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Also complete pinned versions whose pins predate what this build records of each artifact
    /// (the files it leaves out, an npm tarball's package.json fields): re-download, check every
    /// digest still matches, write only the new fields
    #[arg(long)]
    pub refresh: bool,
    /// Only this version (repeatable): what to pin or refresh
    #[arg(long, value_name = "V")]
    pub only: Vec<RuntimeVersion>,
}

/// Reads the npm registry's document of @openai/codex, the Python index's page of
/// openai-codex-cli-bin and the GitHub release (when reachable), downloads every artifact to hash
/// it and its entrypoint, and prints the manifest in the repository's deterministic format. A
/// target with no artifact on any source fails the update (exit 5); a digest that disagrees
/// with its registry fails it with exit 4.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  codex-runtime channel update stable --version 0.172.0 --out codex-0.172.0.json")]
pub struct ChannelUpdateArgs {
    /// stable or alpha
    pub channel: Channel,
    /// The version to pin (semver or PEP 440 spelling)
    #[arg(long = "version", value_name = "V", id = "runtime_version")]
    pub version: RuntimeVersion,
    /// Also write the manifest to FILE (atomically)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The npm registry [default: CODEX_RUNTIME_NPM_REGISTRY, npm_config_registry, .npmrc, npm's own config]
    #[arg(long, value_name = "URL")]
    pub npm_registry: Option<String>,
    /// The Python simple index [default: CODEX_RUNTIME_PYPI_INDEX, PIP_INDEX_URL, UV_DEFAULT_INDEX, pip's config]
    #[arg(long = "pypi-index", value_name = "URL", id = "update_pypi_index")]
    pub pypi_index: Option<String>,
    /// Do not ask GitHub for the release assets (their digests stay unpinned)
    #[arg(long)]
    pub no_github: bool,
    /// Targets fetched at once
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
}

#[derive(Debug, Args)]
pub struct ProtocolArgs {
    #[command(subcommand)]
    pub command: ProtocolCommand,
}

#[derive(Debug, Subcommand)]
pub enum ProtocolCommand {
    /// Write the runtime's JSON Schema (`codex app-server generate-json-schema`) and print its
    /// digest and method counts; the runtime is installed first when needed
    #[command(
        after_help = "Examples:\n  codex-runtime protocol schema --version 0.171.0 --out schema\n  codex-runtime protocol schema --codex-bin ./codex --json"
    )]
    Schema(ProtocolSchemaArgs),
    /// What changed from A to B, and whether a client written against A can talk to B (exit 6
    /// when it cannot); each side a pinned version, a codex binary, or a schema directory
    #[command(
        after_help = "Examples:\n  codex-runtime protocol diff 0.163.0 0.171.0\n  codex-runtime protocol diff 0.171.0 ./target/release/codex --json\n  codex-runtime protocol diff old-schema/ new-schema/"
    )]
    Diff(ProtocolDiffArgs),
}

#[derive(Debug, Args)]
pub struct ProtocolSchemaArgs {
    #[command(flatten)]
    pub selection: Selection,
    #[command(flatten)]
    pub sources: SourceArgs,
    /// Describe this binary instead of the cached runtime
    #[arg(long, value_name = "PATH")]
    pub codex_bin: Option<PathBuf>,
    /// The directory to write the schema to (created when missing) [default: a temporary one]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Include the experimental methods and fields
    #[arg(long)]
    pub experimental: bool,
}

#[derive(Debug, Args)]
pub struct ProtocolDiffArgs {
    /// The side a client was written against: a pinned version (0.163.0, 0.163), a codex
    /// binary, or a directory generate-json-schema wrote
    #[arg(value_name = "A")]
    pub from: String,
    /// The side it would talk to, the same way
    #[arg(value_name = "B")]
    pub to: String,
    /// The target of pinned versions [default: the host's; the runtime must run here]
    #[arg(long, value_name = "TRIPLE")]
    pub target: Option<Target>,
    /// Compare the schemas with their experimental methods and fields
    #[arg(long)]
    pub experimental: bool,
    #[command(flatten)]
    pub sources: SourceArgs,
}

#[derive(Debug, Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    pub command: CacheCommand,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Re-hash every installed runtime against its receipt and report each difference; exits 4
    /// when something is damaged (unless --repair fixed it)
    #[command(after_help = "Examples:\n  codex-runtime cache verify\n  codex-runtime cache verify --repair --json")]
    Verify(CacheVerifyArgs),
    /// Remove runtimes no channel pins (the embedded ones, or --manifest), partial downloads
    /// no channel pins, and leftovers of interrupted installs older than --older-than
    Prune(CachePruneArgs),
    /// Empty the cache: every runtime, partial download and leftover
    Clean,
}

#[derive(Debug, Args)]
pub struct CacheVerifyArgs {
    /// Reinstall every damaged runtime a channel pins, from the sources, as `install` would
    #[arg(long)]
    pub repair: bool,
    #[command(flatten)]
    pub sources: SourceArgs,
}

#[derive(Debug, Args)]
pub struct CachePruneArgs {
    /// Minutes after which leftovers in tmp/ and partial downloads count as abandoned
    #[arg(long, value_name = "MINUTES", default_value_t = 60)]
    pub older_than: u64,
}

fn version_request(value: &str) -> Result<VersionRequest, String> {
    VersionRequest::parse_cli(value).map_err(|e| e.to_string())
}

fn client_version(value: &str) -> Result<ClientVersion, String> {
    if value.is_empty() { Ok(ClientVersion::Selected) } else { version_request(value).map(ClientVersion::Request) }
}

fn parse_requirement(value: &str) -> Result<semver::VersionReq, String> {
    semver::VersionReq::parse(value).map_err(|e| format!("{e}; expected a semver requirement like `>=0.163, <0.164`"))
}

/// A positive number of seconds, a fraction allowed, at most a day.
fn seconds(value: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = value.trim().parse().map_err(|_| format!("`{value}` is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= 86_400.0) {
        return Err(format!("{value} is not between 0 and 86400 seconds"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn timeouts_are_positive_bounded_seconds() {
        assert_eq!(super::seconds("1.5").unwrap(), std::time::Duration::from_millis(1500));
        for bad in ["0", "-1", "1e20", "inf", "NaN", "soon"] {
            assert!(super::seconds(bad).is_err(), "{bad}");
        }
    }
}
