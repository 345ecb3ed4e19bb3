//! npm's configuration, read as npm reads it: the registry for `@openai` packages and the
//! credentials npm would send.
//!
//! The layers, the one that wins first (as `@npmcli/config` orders them):
//!
//! 1. the environment: every `npm_config_KEY` (any case; `_` in KEY read as `-`, except in
//!    `//host/:` keys);
//! 2. the project's `.npmrc`, at the package root: the nearest directory from the current one
//!    up that holds a `package.json` or a `node_modules` (the current directory when none does),
//!    or the workspace root that lists it among its `workspaces`;
//! 3. the user's: `npm_config_userconfig`, else `~/.npmrc`;
//! 4. the global one: `npm_config_globalconfig`, else `PREFIX/etc/npmrc`, where PREFIX is
//!    `npm_config_prefix`, a `prefix` set in a layer above, or the directory above the one
//!    holding `node`.
//!
//! A key is looked up across all layers before the next key is: `@openai:registry` set in any
//! layer wins over `registry` set in any layer. Values expand `${VAR}` from the environment.
//! Credentials are per-registry keys, `//host[:port]/path/:_authToken`, `:_auth` (base64 of
//! `user:password`), or `:username` with `:_password` (base64), in that order of preference.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;

use crate::model::env::{self, Env};
use crate::net::auth::{Credential, Credentials, Scope, Secret, normalize_npm_key, npm_key};
use crate::sources::Setting;

/// The npm scope of the runtime's packages.
const SCOPE_REGISTRY: &str = "@openai:registry";

/// npm's configuration layers, the one that wins first.
#[derive(Debug, Clone, Default)]
pub struct NpmConfig {
    layers: Vec<Layer>,
}

#[derive(Debug, Clone)]
struct Layer {
    /// A file, or the environment.
    file: Option<PathBuf>,
    values: BTreeMap<String, String>,
}

impl Layer {
    /// Where `key` of this layer was set, for a person.
    fn origin(&self, key: &str) -> String {
        match &self.file {
            Some(file) => format!("{}: {key}", file.display()),
            None => format!("npm_config_{key}"),
        }
    }
}

impl NpmConfig {
    /// The configuration npm run in `cwd` would read.
    pub fn load(env: &Env, cwd: Option<&Path>) -> NpmConfig {
        let mut config = NpmConfig::default();
        let from_env = env.with_prefix("npm_config_").filter(|(_, value)| !value.is_empty()).map(|(key, value)| {
            let key = if key.starts_with("//") { key.to_owned() } else { key.replace('_', "-").to_ascii_lowercase() };
            let key = key.strip_prefix('-').map_or(key.clone(), |rest| format!("_{rest}"));
            (key, expand(value, env))
        });
        config.layers.push(Layer { file: None, values: from_env.collect() });
        let user =
            env.first(&env::NPM_CONFIG_USERCONFIG).map(PathBuf::from).or_else(|| env.home().map(|h| h.join(".npmrc")));
        if let Some(project) = cwd.map(|cwd| package_root(cwd).join(".npmrc"))
            && Some(&project) != user.as_ref()
        {
            config.push_file(project, env);
        }
        if let Some(user) = user {
            config.push_file(user, env);
        }
        let global = env.first(&env::NPM_CONFIG_GLOBALCONFIG).map(PathBuf::from).or_else(|| {
            let prefix = env
                .first(&env::NPM_CONFIG_PREFIX)
                .map(PathBuf::from)
                .or_else(|| config.get("prefix").map(|s| PathBuf::from(s.value)))
                .or_else(|| node_prefix(env))?;
            Some(prefix.join("etc").join("npmrc"))
        });
        if let Some(global) = global {
            config.push_file(global, env);
        }
        config
    }

    fn push_file(&mut self, file: PathBuf, env: &Env) {
        if let Ok(text) = fs_err::read_to_string(&file) {
            self.layers.push(Layer { values: parse(&text, env), file: Some(file) });
        }
    }

    /// `key`, from the first layer that sets it.
    pub fn get(&self, key: &str) -> Option<Setting> {
        self.layers.iter().find_map(|layer| {
            let value = layer.values.get(key).filter(|v| !v.is_empty())?;
            Some(Setting { value: value.clone(), from: layer.origin(key) })
        })
    }

    /// The registry of `@openai` packages: `@openai:registry` from any layer, else `registry`.
    pub fn registry(&self) -> Option<Setting> {
        self.get(SCOPE_REGISTRY).or_else(|| self.get("registry"))
    }

    /// The files read, the one that wins first.
    #[cfg(test)]
    fn files(&self) -> impl Iterator<Item = &Path> {
        self.layers.iter().filter_map(|l| l.file.as_deref())
    }

    /// Every per-registry credential, and for `registry` its credential again for the rest
    /// of its host (npm sends a registry's credential to tarballs on its own host).
    pub fn credentials(&self, registry: Option<&str>) -> Credentials {
        let mut keys: Vec<String> = Vec::new();
        for layer in &self.layers {
            for (key, value) in &layer.values {
                let auth = ["_authToken", "_auth", "_password", "username"];
                match key.rsplit_once(':') {
                    Some((prefix, name)) if prefix.starts_with("//") && auth.contains(&name) && value.is_empty() => {
                        tracing::warn!(
                            "{} is empty (is the variable it names set?); it is not sent",
                            layer.origin(key)
                        );
                    }
                    None if auth.contains(&key.as_str()) => tracing::warn!(
                        "{} is not scoped to a registry, and npm does not send it; write it as //HOST[:PORT]/:{key}",
                        layer.origin(key)
                    ),
                    _ => {}
                }
            }
            for key in layer.values.keys() {
                let Some((prefix, _)) = key.rsplit_once(':') else { continue };
                if prefix.starts_with("//") && !keys.iter().any(|k| k == prefix) {
                    keys.push(prefix.to_owned());
                }
            }
        }
        let registry = registry.and_then(|r| url::Url::parse(r).ok());
        let https_only = registry.as_ref().is_some_and(|r| r.scheme() == "https");
        let mut all = Credentials::new(keys.iter().filter_map(|prefix| self.credential(prefix, https_only)));
        if let Some(registry) = registry
            && let Some(found) = all.for_url(&registry).cloned()
        {
            let host = npm_key(&registry).and_then(|k| Some(k[2..].split('/').next()?.to_owned()));
            all.extend(host.map(|host| Credential { scope: Scope::NpmHost { host, https_only }, ..found }));
        }
        all
    }

    /// The credential of one registry key: its token, else `_auth`, else username and password.
    fn credential(&self, prefix: &str, https_only: bool) -> Option<Credential> {
        let scope = Scope::NpmKey { key: normalize_npm_key(prefix), https_only };
        let field = |name: &str| self.get(&format!("{prefix}:{name}"));
        if let Some(token) = field("_authToken") {
            return Some(Credential { scope, secret: Secret::Bearer(token.value), from: token.from });
        }
        if let Some(auth) = field("_auth") {
            let Some((user, password)) = decode(&auth.value).and_then(|pair| {
                let (user, password) = pair.split_once(':')?;
                Some((user.to_owned(), password.to_owned()))
            }) else {
                tracing::warn!("{} is not base64 of user:password; it is not sent", auth.from);
                return None;
            };
            return Some(Credential { scope, secret: Secret::Basic { user, password }, from: auth.from });
        }
        let (user, password) = (field("username")?, field("_password")?);
        let Some(decoded) = decode(&password.value) else {
            tracing::warn!("{} is not base64; it is not sent", password.from);
            return None;
        };
        let from = format!("{} and {}", user.from, password.from.rsplit_once(": ").map_or("", |(_, key)| key));
        Some(Credential { scope, secret: Secret::Basic { user: user.value, password: decoded }, from })
    }
}

fn decode(base64: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(base64.trim()).ok()?;
    String::from_utf8(bytes).ok()
}

/// npm's local prefix: the nearest directory from `cwd` up holding a `package.json` or a
/// `node_modules`, else `cwd`; and when a `package.json` further up lists that directory among
/// its `workspaces`, that workspace root (npm then reads the root's `.npmrc` and ignores the
/// workspace's own).
fn package_root(cwd: &Path) -> PathBuf {
    let found = cwd.ancestors().find(|dir| dir.join("package.json").is_file() || dir.join("node_modules").is_dir());
    let Some(found) = found else { return cwd.to_owned() };
    if found.join("package.json").is_file() {
        for dir in found.ancestors().skip(1) {
            let Some(package) = read_package_json(&dir.join("package.json")) else { continue };
            let workspaces = &package["workspaces"];
            let patterns = workspaces.as_array().or_else(|| workspaces["packages"].as_array());
            let relative = found.strip_prefix(dir).ok().and_then(Path::to_str);
            if let (Some(patterns), Some(relative)) = (patterns, relative)
                && is_workspace(patterns.iter().filter_map(serde_json::Value::as_str), relative)
            {
                return dir.to_owned();
            }
        }
    }
    found.to_owned()
}

/// The largest `package.json` read when looking for a workspace root.
const MAX_PACKAGE_JSON: u64 = 16 * 1024 * 1024;

/// A `package.json` that is a regular file (not a FIFO, a device, or a link to one) of at most
/// [`MAX_PACKAGE_JSON`], parsed; `None` for anything else, as npm skips what it cannot read.
fn read_package_json(path: &Path) -> Option<serde_json::Value> {
    use std::io::Read as _;
    let meta = fs_err::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_PACKAGE_JSON {
        return None;
    }
    let mut text = String::new();
    fs_err::File::open(path).ok()?.take(MAX_PACKAGE_JSON).read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

/// Whether a directory at `relative` (from the root) is one of the root's `workspaces`, as
/// npm (`@npmcli/map-workspaces`) selects them: a directory a pattern matches and no negation
/// (`!pattern`; `!!` cancels out) does, where a pattern cancels the negations before it whose
/// glob matches the pattern's own text. Patterns are paths of segments (`\\` read as `/`, `./`
/// and a trailing `/` ignored, `{a,b}` and `@(a|b)` expanded) where `**` is any number of
/// segments, outside `node_modules`, and within a segment `*` is any run of characters, `?` one,
/// and `[...]` one of a class (`[!...]` or `[^...]`: one not in it); neither `*` nor `?` matches
/// a leading `.`. Other extended globs (`+(...)`, `!(...)`) are read literally.
fn is_workspace<'p>(patterns: impl Iterator<Item = &'p str>, relative: &str) -> bool {
    let path: Vec<&str> = relative.split('/').filter(|s| !s.is_empty()).collect();
    let (mut positives, mut negations): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    for pattern in patterns {
        let mut pattern = pattern.replace('\\', "/");
        let mut negated = false;
        while let Some(rest) = pattern.strip_prefix('!') {
            negated = !negated;
            pattern = rest.to_owned();
        }
        if negated {
            negations.push(pattern);
        } else {
            negations.retain(|negation| !glob_matches(negation, &pattern));
            positives.push(pattern);
        }
    }
    let matches = |pattern: &String| glob_matches(pattern, &path.join("/"));
    positives.iter().any(matches) && !negations.iter().any(matches)
}

/// Whether `path` (segments joined by `/`) matches the glob `pattern` (see [`is_workspace`]).
fn glob_matches(pattern: &str, path: &str) -> bool {
    let path: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    expand_braces(&alternatives_as_braces(pattern)).iter().any(|pattern| {
        let mut segments: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty() && *s != ".").collect();
        segments.dedup_by(|a, b| *a == "**" && *b == "**");
        !segments.is_empty() && segments_match(&segments, &path)
    })
}

/// Each `@(a|b)` written as `{a,b}`.
fn alternatives_as_braces(pattern: &str) -> String {
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(open) = rest.find("@(") {
        let Some(close) = rest[open..].find(')') else { break };
        out.push_str(&rest[..open]);
        out.push('{');
        out.push_str(&rest[open + 2..open + close].replace('|', ","));
        out.push('}');
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// `a{b,c}d` as `abd` and `acd`, nested braces too; an unclosed `{` is literal. At most 256
/// alternatives, so a hostile pattern cannot multiply without end.
fn expand_braces(pattern: &str) -> Vec<String> {
    let bytes = pattern.as_bytes();
    let Some(open) = pattern.find('{') else { return vec![pattern.to_owned()] };
    let (mut depth, mut close, mut commas) = (0usize, None, Vec::new());
    for (at, &byte) in bytes.iter().enumerate().skip(open) {
        match byte {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(at);
                    break;
                }
            }
            b',' if depth == 1 => commas.push(at),
            _ => {}
        }
    }
    let Some(close) = close else { return vec![pattern.to_owned()] };
    let (head, tail) = (&pattern[..open], &pattern[close + 1..]);
    let bounds: Vec<usize> = std::iter::once(open).chain(commas).chain(std::iter::once(close)).collect();
    let mut out = Vec::new();
    for pair in bounds.windows(2) {
        for expanded in expand_braces(&format!("{head}{}{tail}", &pattern[pair[0] + 1..pair[1]])) {
            if out.len() < 256 {
                out.push(expanded);
            }
        }
    }
    out
}

/// Segments of a glob against a path's segments, `**` any number of them: a table of which
/// suffixes match which, so the time is the product of the two lengths.
fn segments_match(pattern: &[&str], path: &[&str]) -> bool {
    // matched[i][j]: pattern[i..] matches path[j..].
    let mut matched = vec![vec![false; path.len() + 1]; pattern.len() + 1];
    matched[pattern.len()][path.len()] = true;
    for i in (0..pattern.len()).rev() {
        for j in (0..=path.len()).rev() {
            matched[i][j] = if pattern[i] == "**" {
                matched[i + 1][j]
                    || (j < path.len() && path[j] != "node_modules" && !path[j].starts_with('.') && matched[i][j + 1])
            } else {
                j < path.len() && segment_matches(pattern[i], path[j]) && matched[i + 1][j + 1]
            };
        }
    }
    matched[0][0]
}

/// One segment against one name (see [`is_workspace`]), by a table over the two, so the time
/// is the product of their lengths whatever the stars.
fn segment_matches(glob: &str, name: &str) -> bool {
    enum Token {
        Star,
        One,
        Class { negated: bool, items: Vec<(char, char)> },
        Literal(char),
    }
    let chars: Vec<char> = glob.chars().collect();
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        let token = match chars[at] {
            '*' => Token::Star,
            '?' => Token::One,
            '[' => match chars[at + 1..].iter().skip(1).position(|&c| c == ']') {
                Some(end) => {
                    let body = &chars[at + 1..at + 2 + end];
                    let (negated, body) = match body.first() {
                        Some('!' | '^') => (true, &body[1..]),
                        _ => (false, body),
                    };
                    let mut items = Vec::new();
                    let mut k = 0;
                    while k < body.len() {
                        if k + 2 < body.len() && body[k + 1] == '-' {
                            items.push((body[k], body[k + 2]));
                            k += 3;
                        } else {
                            items.push((body[k], body[k]));
                            k += 1;
                        }
                    }
                    at += end + 2;
                    Token::Class { negated, items }
                }
                None => Token::Literal('['),
            },
            c => Token::Literal(c),
        };
        tokens.push(token);
        at += 1;
    }
    let name: Vec<char> = name.chars().collect();
    if name.first() == Some(&'.') && !matches!(tokens.first(), Some(Token::Literal('.'))) {
        return false;
    }
    // matched[i][j]: tokens[i..] match name[j..].
    let mut matched = vec![vec![false; name.len() + 1]; tokens.len() + 1];
    matched[tokens.len()][name.len()] = true;
    for i in (0..tokens.len()).rev() {
        for j in (0..=name.len()).rev() {
            let one = |test: &dyn Fn(char) -> bool| j < name.len() && test(name[j]) && matched[i + 1][j + 1];
            matched[i][j] = match &tokens[i] {
                Token::Star => matched[i + 1][j] || (j < name.len() && matched[i][j + 1]),
                Token::One => one(&|_| true),
                Token::Class { negated, items } => {
                    one(&|c| items.iter().any(|&(low, high)| low <= c && c <= high) != *negated)
                }
                Token::Literal(literal) => one(&|c| c == *literal),
            };
        }
    }
    matched[0][0]
}

/// The prefix npm's global config lives under by default: above the directory of `node`.
fn node_prefix(env: &Env) -> Option<PathBuf> {
    let node = if cfg!(windows) { "node.exe" } else { "node" };
    let path = env.os(env::PATH)?;
    let found = std::env::split_paths(path).map(|dir| dir.join(node)).find(|p| p.is_file())?;
    let real = fs_err::canonicalize(found).ok()?;
    if cfg!(windows) { real.parent().map(Path::to_owned) } else { Some(real.parent()?.parent()?.to_owned()) }
}

/// The keys and values of an `.npmrc`, as npm's `ini` reads them: `key = value`, `;` and `#`
/// comments (whole lines, and after an unquoted value), quoted values, a leading BOM.
fn parse(text: &str, env: &Env) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    let mut in_section = false;
    for line in text.trim_start_matches('\u{feff}').lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            // npm reads sections as `section.key`; nothing this tool reads lives in one.
            in_section = true;
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        if in_section {
            continue;
        }
        values.insert(expand(&unsafe_value(key), env), expand(&unsafe_value(value), env));
    }
    values
}

/// A key or value as `ini` unescapes it: a quoted one is its contents; an unquoted one ends
/// at the first `;` or `#` not escaped with `\`.
fn unsafe_value(raw: &str) -> String {
    let value = raw.trim();
    match value.as_bytes() {
        [b'"', .., b'"'] if value.len() > 1 => {
            serde_json::from_str::<String>(value).unwrap_or_else(|_| value[1..value.len() - 1].to_owned())
        }
        [b'\'', .., b'\''] if value.len() > 1 => value[1..value.len() - 1].to_owned(),
        _ => {
            let mut out = String::new();
            let mut escaped = false;
            for c in value.chars() {
                match c {
                    _ if escaped => {
                        if !matches!(c, '\\' | ';' | '#') {
                            out.push('\\');
                        }
                        out.push(c);
                        escaped = false;
                    }
                    '\\' => escaped = true,
                    ';' | '#' => break,
                    _ => out.push(c),
                }
            }
            if escaped {
                out.push('\\');
            }
            out.trim().to_owned()
        }
    }
}

/// npm expands `${VAR}` (and `${VAR?}`, empty when unset) in keys and values.
fn expand(value: &str, env: &Env) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        match rest[start + 2..].find('}') {
            Some(end) => {
                let name = &rest[start + 2..start + 2 + end];
                out.push_str(env.expand(name.trim_end_matches('?')));
                rest = &rest[start + 3 + end..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Setup {
        dir: tempfile::TempDir,
    }

    impl Setup {
        /// A home with a user config, a project with a `package.json` and a subdirectory, and a
        /// global config under a prefix.
        fn new(user: &str, project: &str, global: &str) -> Setup {
            let dir = tempfile::tempdir().unwrap();
            let write = |path: &str, text: &str| {
                let path = dir.path().join(path);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, text).unwrap();
            };
            write("home/.npmrc", user);
            write("work/proj/package.json", "{}");
            write("work/proj/.npmrc", project);
            write("work/proj/src/deep/.keep", "");
            write("work/.npmrc", "registry=http://127.0.0.1:1/not-a-package-root/\n");
            write("prefix/etc/npmrc", global);
            Setup { dir }
        }

        fn env(&self, extra: &[(&str, &str)]) -> Env {
            let mut pairs = vec![
                (env::HOME.to_owned(), self.dir.path().join("home").into_os_string()),
                (env::NPM_CONFIG_PREFIX[0].to_owned(), self.dir.path().join("prefix").into_os_string()),
            ];
            pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.into())));
            Env::from_pairs(pairs)
        }

        fn load(&self, extra: &[(&str, &str)]) -> NpmConfig {
            NpmConfig::load(&self.env(extra), Some(&self.dir.path().join("work/proj/src/deep")))
        }

        fn path(&self, rel: &str) -> String {
            self.dir.path().join(rel).display().to_string()
        }
    }

    #[test]
    fn the_scoped_registry_wins_across_layers() {
        let setup = Setup::new(
            "@openai:registry=http://127.0.0.1:9/user-scoped/\n",
            "registry=http://127.0.0.1:9/project/\n",
            "registry=http://127.0.0.1:9/global/\n",
        );
        let env_registry = [("npm_config_registry", "http://127.0.0.1:1/")];
        let found = setup.load(&env_registry).registry().unwrap();
        assert_eq!(found.value, "http://127.0.0.1:9/user-scoped/");
        assert_eq!(found.from, format!("{}: @openai:registry", setup.path("home/.npmrc")));

        let setup = Setup::new("", "@openai:registry = \"http://127.0.0.1:9/scoped/\"\n", "");
        let found = setup.load(&env_registry).registry().unwrap();
        assert_eq!(found.value, "http://127.0.0.1:9/scoped/", "a project's scoped registry beats the env's registry");

        // Without a scoped registry: the environment, then project, user, global.
        let setup = Setup::new("registry=http://127.0.0.1:9/user/\n", "", "registry=http://127.0.0.1:9/global/\n");
        assert_eq!(setup.load(&env_registry).registry().unwrap().from, "npm_config_registry");
        assert_eq!(setup.load(&[]).registry().unwrap().value, "http://127.0.0.1:9/user/");
        let setup = Setup::new("", "", "registry=http://127.0.0.1:9/global/\n");
        let found = setup.load(&[]).registry().unwrap();
        assert_eq!(
            (found.value.as_str(), found.from),
            ("http://127.0.0.1:9/global/", format!("{}: registry", setup.path("prefix/etc/npmrc")))
        );
        let scoped_env = [("NPM_CONFIG_@OPENAI:REGISTRY", "http://127.0.0.1:9/env-scoped/")];
        assert_eq!(setup.load(&scoped_env).registry().unwrap().value, "http://127.0.0.1:9/env-scoped/");
    }

    #[test]
    fn the_project_config_is_the_package_roots_only() {
        let setup = Setup::new("", "", "");
        // work/.npmrc is above the package root: npm does not read it.
        assert_eq!(setup.load(&[]).registry(), None);
        let outside = NpmConfig::load(&setup.env(&[]), Some(&setup.dir.path().join("work")));
        assert_eq!(
            outside.registry().unwrap().value,
            "http://127.0.0.1:1/not-a-package-root/",
            "no package root: the cwd"
        );
        let userconfig = setup.path("work/proj/.npmrc");
        let files: Vec<String> =
            setup.load(&[("npm_config_userconfig", &userconfig)]).files().map(|p| p.display().to_string()).collect();
        assert_eq!(files.iter().filter(|f| **f == userconfig).count(), 1, "the same file is read once: {files:?}");
    }

    #[test]
    fn a_workspace_reads_its_roots_npmrc_as_npm_does() {
        // What npm 11 does with each `workspaces` of the root (checked with `npm run` printing
        // npm_config_registry, and by a review against @npmcli/map-workspaces 5): from
        // packages/app/src, and from packages/deep/x/lib.
        let cases = [
            (r#"["packages/*"]"#, "root", "lib"),
            (r#"{"packages": ["packages/*"]}"#, "root", "lib"),
            (r#"["packages/*", "!packages/app"]"#, "app", "lib"),
            (r#"["./packages/app/"]"#, "root", "lib"),
            (r#"["packages/deep/*/lib"]"#, "app", "root"),
            (r#"["packages/a*"]"#, "root", "lib"),
            (r#"["packages/**"]"#, "root", "root"),
            (r#"["packages/?"]"#, "app", "lib"),
            // npm refuses a `workspaces` that is not an array; this tool reads it as none.
            (r#""packages/*""#, "app", "lib"),
            // A negation excludes whatever its place; a later pattern its glob matches cancels it.
            (r#"["!packages/app", "packages/*"]"#, "app", "lib"),
            (r#"["packages/*", "!packages/a*", "packages/app"]"#, "root", "lib"),
            (r#"["packages/*", "!packages/a*"]"#, "app", "lib"),
            (r#"["!!packages/app"]"#, "root", "lib"),
            // Braces, classes, @(...) alternatives, and `\` for `/`.
            (r#"["packages/{app,deep/x/lib}"]"#, "root", "root"),
            (r#"["packages/[a]pp"]"#, "root", "lib"),
            (r#"["packages/[!a]pp"]"#, "app", "lib"),
            (r#"["packages/@(app|lib)"]"#, "root", "lib"),
            (r#"["packages\\app"]"#, "root", "lib"),
        ];
        for (workspaces, app, lib) in cases {
            let dir = tempfile::tempdir().unwrap();
            let write = |path: &str, text: &str| {
                let path = dir.path().join(path);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, text).unwrap();
            };
            write("package.json", &format!(r#"{{"workspaces": {workspaces}}}"#));
            write(".npmrc", "registry=http://127.0.0.1:9/root/\n");
            write("packages/app/package.json", "{}");
            write("packages/app/.npmrc", "registry=http://127.0.0.1:9/app/\n");
            write("packages/app/src/.keep", "");
            write("packages/deep/x/lib/package.json", "{}");
            write("packages/deep/x/lib/.npmrc", "registry=http://127.0.0.1:9/lib/\n");
            let env = Env::from_pairs([(env::HOME.to_owned(), dir.path().join("home").into_os_string())]);
            let registry = |cwd: &str| {
                let found = NpmConfig::load(&env, Some(&dir.path().join(cwd))).registry().unwrap().value;
                found.trim_start_matches("http://127.0.0.1:9/").trim_end_matches('/').to_owned()
            };
            assert_eq!(registry("packages/app/src"), app, "{workspaces}");
            assert_eq!(registry("packages/deep/x/lib"), lib, "{workspaces}");
        }
        assert!(!segment_matches("*", ".hidden") && segment_matches(".*", ".hidden"));
        assert!(
            !is_workspace(["**/lib"].into_iter(), "node_modules/x/lib")
                && is_workspace(["**/lib"].into_iter(), "a/lib")
        );
    }

    /// Stars and globstars are matched by a table, not by backtracking: these would take
    /// longer than any test run with a matcher that tries every split.
    #[test]
    fn globs_take_time_in_the_product_of_the_lengths_not_the_power_of_the_stars() {
        let glob = "*a".repeat(40) + "*b";
        assert!(!segment_matches(&glob, &"a".repeat(200)));
        assert!(segment_matches(&glob.replace("*b", "*"), &"a".repeat(200)));
        let pattern: Vec<&str> = std::iter::repeat_n("**", 64).chain(["nomatch"]).collect();
        let path: Vec<&str> = std::iter::repeat_n("d", 40).collect();
        assert!(!segments_match(&pattern, &path));
        let many = format!(r#"["{}"]"#, ["**"; 200].join("/") + "/lib");
        let patterns: Vec<String> = serde_json::from_str(&many).unwrap();
        assert!(is_workspace(patterns.iter().map(String::as_str), "a/b/lib"));
        assert!(!is_workspace(patterns.iter().map(String::as_str), &["d"; 100].join("/")));
    }

    fn secret_for(config: &NpmConfig, registry: &str, url: &str) -> Option<(Secret, String)> {
        let all = config.credentials(Some(registry));
        all.for_url(&url::Url::parse(url).unwrap()).map(|c| (c.secret.clone(), c.from.clone()))
    }

    #[test]
    fn credentials_are_tokens_then_auth_then_username_and_password() {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let user = format!(
            "//127.0.0.1:4873/:_authToken=${{NPM_TOKEN}}\n//127.0.0.1:4873/:_auth={}\n\
             //127.0.0.1:4874/:_auth={}\n\
             //127.0.0.1:4875/npm/:username=carol\n//127.0.0.1:4875/npm/:_password=\"{}\"\n\
             //127.0.0.1:4876/:_auth=not base64!\n",
            b64("x:y"),
            b64("bob:pa:ss"),
            b64("hunter2"),
        );
        let setup = Setup::new(&user, "//127.0.0.1:4873/:_authToken=project-token\n", "");
        let config = setup.load(&[("NPM_TOKEN", "user-token")]);
        let reg = "http://127.0.0.1:4873/";
        let token = secret_for(&config, reg, "http://127.0.0.1:4873/@openai%2fcodex").unwrap();
        assert_eq!(
            token,
            (
                Secret::Bearer("project-token".into()),
                format!("{}: //127.0.0.1:4873/:_authToken", setup.path("work/proj/.npmrc"))
            )
        );
        let setup = Setup::new(&user, "", "");
        let config = setup.load(&[("NPM_TOKEN", "user-token")]);
        assert_eq!(secret_for(&config, reg, "http://127.0.0.1:4873/x").unwrap().0, Secret::Bearer("user-token".into()));
        let basic = |user: &str, password: &str| Secret::Basic { user: user.into(), password: password.into() };
        assert_eq!(secret_for(&config, reg, "http://127.0.0.1:4874/x").unwrap().0, basic("bob", "pa:ss"));
        let carol =
            secret_for(&config, "http://127.0.0.1:4875/npm/", "http://127.0.0.1:4875/npm/@openai%2fcodex").unwrap();
        assert_eq!(carol.0, basic("carol", "hunter2"));
        assert!(carol.1.ends_with("//127.0.0.1:4875/npm/:username and //127.0.0.1:4875/npm/:_password"), "{}", carol.1);
        assert_eq!(secret_for(&config, reg, "http://127.0.0.1:4876/x"), None, "a bad _auth is not sent");
        // The registry's credential goes to the rest of its host (tarballs elsewhere on it),
        // not to another host's port.
        let tarball = "http://127.0.0.1:4875/tarballs/codex.tgz";
        assert_eq!(secret_for(&config, "http://127.0.0.1:4875/npm/", tarball).unwrap().0, basic("carol", "hunter2"));
        assert_eq!(secret_for(&config, reg, tarball), None, "only the registry's own host");
        // From the environment, nerf-darted keys keep their case.
        let config = setup.load(&[("npm_config_//127.0.0.1:4877/:_authToken", "env-token")]);
        let found = secret_for(&config, "http://127.0.0.1:4877/", "http://127.0.0.1:4877/x").unwrap();
        assert_eq!(found, (Secret::Bearer("env-token".into()), "npm_config_//127.0.0.1:4877/:_authToken".into()));
    }

    #[test]
    fn values_are_unquoted_and_expanded() {
        let env = Env::from_pairs([("HOST", "127.0.0.1:9")]);
        let values = parse(
            "\u{feff}a = \"x ${HOST} y\"\nb='q'\n; c=1\nt=TOKEN ; a comment\nu=a\\;b#c\n[section]\nd=2\ne=${UNSET?}z\n",
            &env,
        );
        assert_eq!(values.get("a").unwrap(), "x 127.0.0.1:9 y", "after a BOM");
        assert_eq!(values.get("b").unwrap(), "q");
        assert_eq!(values.get("t").unwrap(), "TOKEN", "an inline comment is not the token");
        assert_eq!(values.get("u").unwrap(), "a;b", "an escaped ;");
        assert!(!values.contains_key("c") && !values.contains_key("d"));
    }
}
