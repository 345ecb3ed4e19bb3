//! Every environment variable the tool reads, named once, and the snapshot the library reads them
//! from.
//!
//! Nothing else in the library calls `std::env::var`: each stage takes an [`Env`] (or the
//! settings read from one) as a value. The command line takes [`Env::process`], a snapshot of
//! this process's environment made once; tests build one with [`Env::from_pairs`] instead of
//! changing their process's environment.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::sync::OnceLock;
use std::time::Duration;

/// The cache directory, when `--cache-dir` is not given.
pub const CACHE_DIR: &str = "CODEX_RUNTIME_CACHE_DIR";
/// Seconds to wait for another process's lock on the cache (default 600).
pub const LOCK_TIMEOUT: &str = "CODEX_RUNTIME_LOCK_TIMEOUT";
/// A version or requirement to select when `--version` is not given.
pub const VERSION: &str = "CODEX_RUNTIME_VERSION";
/// A channel manifest file to use instead of the pins compiled in (`--manifest`).
pub const MANIFEST: &str = "CODEX_RUNTIME_MANIFEST";
/// A mirror (URL or directory) to try first (`--mirror`).
pub const MIRROR: &str = "CODEX_RUNTIME_MIRROR";
/// The GitHub releases base URL (tests point it at a loopback server).
pub const GITHUB_BASE_URL: &str = "CODEX_RUNTIME_GITHUB_BASE_URL";
/// The npm registry, before npm's own configuration.
pub const NPM_REGISTRY: &str = "CODEX_RUNTIME_NPM_REGISTRY";
/// The Python index, before pip's and uv's configuration.
pub const PYPI_INDEX: &str = "CODEX_RUNTIME_PYPI_INDEX";
/// How many times a failed download is retried (default 3).
pub const RETRIES: &str = "CODEX_RUNTIME_RETRIES";
/// The first retry's wait in milliseconds, doubled for each retry after it.
pub const RETRY_BASE_MS: &str = "CODEX_RUNTIME_RETRY_BASE_MS";
/// Seconds to wait for a connection (a fraction allowed).
pub const CONNECT_TIMEOUT_SECS: &str = "CODEX_RUNTIME_CONNECT_TIMEOUT_SECS";
/// Seconds a server may stay silent, and the longest wait for a response's head.
pub const READ_TIMEOUT_SECS: &str = "CODEX_RUNTIME_READ_TIMEOUT_SECS";
/// The log filter (`tracing` syntax), e.g. `codex_runtime=debug`.
pub const LOG: &str = "CODEX_RUNTIME_LOG";
/// A token for the GitHub source's host only; `GH_TOKEN` is read when it is unset.
pub const GITHUB_TOKEN: &str = "GITHUB_TOKEN";
pub const GH_TOKEN: &str = "GH_TOKEN";
/// npm's configuration, read as npm reads it.
pub const NPM_CONFIG_REGISTRY: [&str; 2] = ["npm_config_registry", "NPM_CONFIG_REGISTRY"];
pub const NPM_CONFIG_USERCONFIG: [&str; 2] = ["npm_config_userconfig", "NPM_CONFIG_USERCONFIG"];
pub const NPM_CONFIG_GLOBALCONFIG: [&str; 2] = ["npm_config_globalconfig", "NPM_CONFIG_GLOBALCONFIG"];
/// npm's global prefix: its global config is `PREFIX/etc/npmrc`.
pub const NPM_CONFIG_PREFIX: [&str; 2] = ["npm_config_prefix", "NPM_CONFIG_PREFIX"];
/// Every `npm_config_KEY` (any case) is npm's configuration key `KEY`, as npm reads it: its
/// environment layer (`npm_config_@openai:registry`, `npm_config_//host/:_authToken`, ...).
pub const NPM_CONFIG_ANY: &str = "npm_config_*";
/// pip's and uv's index configuration, read as they read it.
pub const PIP_INDEX_URL: &str = "PIP_INDEX_URL";
/// More indexes, whitespace-separated, tried after the index when it does not serve the wheel.
pub const PIP_EXTRA_INDEX_URL: &str = "PIP_EXTRA_INDEX_URL";
pub const UV_EXTRA_INDEX_URL: &str = "UV_EXTRA_INDEX_URL";
pub const PIP_CONFIG_FILE: &str = "PIP_CONFIG_FILE";
pub const UV_INDEX_URL: &str = "UV_INDEX_URL";
pub const UV_DEFAULT_INDEX: &str = "UV_DEFAULT_INDEX";
/// The active virtualenv: pip reads its `pip.conf`.
pub const VIRTUAL_ENV: &str = "VIRTUAL_ENV";
/// Where pip's global and user configuration files live (XDG).
pub const XDG_CONFIG_DIRS: &str = "XDG_CONFIG_DIRS";
pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
/// The `.netrc` file to read instead of `~/.netrc`.
pub const NETRC: &str = "NETRC";
/// The home directory (`~/.npmrc`, `~/.netrc`, pip's user config).
pub const HOME: &str = "HOME";
/// Where `node` is looked for, to find npm's global config beside it.
pub const PATH: &str = "PATH";
/// Certificates to trust besides the platform's: a bundle file, and directories of them.
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";
pub const SSL_CERT_DIR: &str = "SSL_CERT_DIR";
/// A CA bundle pip trusts (for the pypi source), and one node adds for npm (the npm source).
pub const PIP_CERT: &str = "PIP_CERT";
pub const NODE_EXTRA_CA_CERTS: &str = "NODE_EXTRA_CA_CERTS";

/// Every variable above. The proxy variables (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`,
/// `NO_PROXY`, lower case too) are read by reqwest itself, as curl and pip read them.
pub const ALL: &[&str] = &[
    CACHE_DIR,
    LOCK_TIMEOUT,
    VERSION,
    MANIFEST,
    MIRROR,
    GITHUB_BASE_URL,
    NPM_REGISTRY,
    PYPI_INDEX,
    RETRIES,
    RETRY_BASE_MS,
    CONNECT_TIMEOUT_SECS,
    READ_TIMEOUT_SECS,
    LOG,
    GITHUB_TOKEN,
    GH_TOKEN,
    NPM_CONFIG_REGISTRY[0],
    NPM_CONFIG_REGISTRY[1],
    NPM_CONFIG_USERCONFIG[0],
    NPM_CONFIG_USERCONFIG[1],
    NPM_CONFIG_GLOBALCONFIG[0],
    NPM_CONFIG_GLOBALCONFIG[1],
    NPM_CONFIG_PREFIX[0],
    NPM_CONFIG_PREFIX[1],
    NPM_CONFIG_ANY,
    PIP_INDEX_URL,
    PIP_EXTRA_INDEX_URL,
    UV_EXTRA_INDEX_URL,
    PIP_CONFIG_FILE,
    UV_INDEX_URL,
    UV_DEFAULT_INDEX,
    VIRTUAL_ENV,
    XDG_CONFIG_DIRS,
    XDG_CONFIG_HOME,
    NETRC,
    HOME,
    PATH,
    SSL_CERT_FILE,
    SSL_CERT_DIR,
    PIP_CERT,
    NODE_EXTRA_CA_CERTS,
];

/// A snapshot of environment variables.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, OsString>,
}

impl Env {
    /// This process's environment, read once.
    pub fn process() -> &'static Env {
        static PROCESS: OnceLock<Env> = OnceLock::new();
        PROCESS.get_or_init(|| Env {
            vars: std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v))).collect(),
        })
    }

    /// An environment of exactly these variables.
    pub fn from_pairs<K: Into<String>, V: Into<OsString>>(pairs: impl IntoIterator<Item = (K, V)>) -> Env {
        Env { vars: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }

    /// The value of `name`, trimmed; `None` when unset, empty or not Unicode.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name)?.to_str().map(str::trim).filter(|v| !v.is_empty())
    }

    /// The first of `names` that is set.
    pub fn first(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| self.get(n))
    }

    /// The raw value of `name` (a path may not be Unicode); `None` when unset or empty.
    pub fn os(&self, name: &str) -> Option<&OsString> {
        self.vars.get(name).filter(|v| !v.is_empty())
    }

    /// The home directory: `HOME`, else the platform's (`~/.npmrc`, `~/.netrc`, pip's user
    /// config, a leading `~` in a path setting).
    pub fn home(&self) -> Option<std::path::PathBuf> {
        self.os(HOME)
            .map(std::path::PathBuf::from)
            .or_else(|| Some(directories::BaseDirs::new()?.home_dir().to_owned()))
    }

    /// `name` as set, an empty value included (pip reads a set but empty variable as a value).
    pub fn set(&self, name: &str) -> Option<&OsString> {
        self.vars.get(name)
    }

    /// `name` as seconds (a fraction allowed, more than zero).
    pub fn seconds(&self, name: &str) -> Option<Duration> {
        self.get(name)?.parse::<f64>().ok().filter(|s| *s > 0.0).and_then(|s| Duration::try_from_secs_f64(s).ok())
    }

    /// `name` parsed as a number.
    pub fn number<T: std::str::FromStr>(&self, name: &str) -> Option<T> {
        self.get(name)?.parse().ok()
    }

    /// Every variable whose name starts with `prefix` in any case, with the rest of its name
    /// (for [`NPM_CONFIG_ANY`]).
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.vars.iter().filter_map(move |(name, value)| {
            let head = name.get(..prefix.len())?;
            let rest = head.eq_ignore_ascii_case(prefix).then(|| &name[prefix.len()..])?;
            Some((rest, value.to_str()?.trim()))
        })
    }

    /// Any variable, for what npm expands in `.npmrc` (`${NPM_TOKEN}`): the one read of a name
    /// this module does not list.
    pub fn expand(&self, name: &str) -> &str {
        self.vars.get(name).and_then(|v| v.to_str()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_trimmed_and_empty_is_unset() {
        let env = Env::from_pairs([(LOCK_TIMEOUT, " 2.5 "), (RETRIES, ""), (GH_TOKEN, "t")]);
        assert_eq!(env.seconds(LOCK_TIMEOUT), Some(Duration::from_millis(2500)));
        assert_eq!(env.get(RETRIES), None);
        assert_eq!(env.first(&[GITHUB_TOKEN, GH_TOKEN]), Some("t"));
        assert_eq!(env.seconds("UNSET"), None);
        assert_eq!(Env::from_pairs([(LOCK_TIMEOUT, "-1")]).seconds(LOCK_TIMEOUT), None);
    }

    /// The README's "Environment" table names every variable the tool reads (npm's own
    /// variables in either case, as npm reads them).
    #[test]
    fn the_readme_lists_every_variable() {
        let readme = include_str!("../../../../README.md");
        let section = readme.split("## Environment").nth(1).unwrap().split("\n## ").next().unwrap().to_lowercase();
        let missing: Vec<&str> = ALL.iter().copied().filter(|name| !section.contains(&name.to_lowercase())).collect();
        assert!(missing.is_empty(), "README's Environment section does not name {missing:?}");
    }

    #[test]
    fn every_name_is_listed_once() {
        let mut names = ALL.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
    }
}
