//! pip's configuration, read as pip reads it, for the values this tool needs: `index-url`,
//! `extra-index-url` and `cert`.
//!
//! pip loads its files in this order, a later one overriding an earlier one key by key:
//! the global files (`$XDG_CONFIG_DIRS/pip/pip.conf`, default `/etc/xdg/pip/pip.conf`, then
//! `/etc/pip.conf`), the user's (`~/.pip/pip.conf`, then `$XDG_CONFIG_HOME/pip/pip.conf`; not
//! read when `PIP_CONFIG_FILE` names a file that exists), the virtualenv's
//! (`$VIRTUAL_ENV/pip.conf`), and the file `PIP_CONFIG_FILE` names. `PIP_CONFIG_FILE=os.devnull`
//! reads none. Sections then override by name, whatever file they are in: the command's
//! section over `[global]`. This tool's command is an install, so `[install]` wins over
//! `[download]` (which serves the same purpose) and both over `[global]`.

use std::path::{Path, PathBuf};

use crate::model::env::{self, Env};
use crate::sources::Setting;

/// The sections read, the one that wins first.
const SECTIONS: [&str; 3] = ["install", "download", "global"];

/// pip's configuration files as loaded, the one that wins first.
#[derive(Debug, Clone, Default)]
pub struct PipConfig {
    files: Vec<(PathBuf, Vec<Entry>)>,
}

#[derive(Debug, Clone)]
struct Entry {
    section: String,
    key: String,
    value: String,
}

impl PipConfig {
    pub fn load(env: &Env) -> PipConfig {
        let named = env.os(env::PIP_CONFIG_FILE).map(PathBuf::from);
        if named.as_deref().is_some_and(|f| f == Path::new("os.devnull") || f == Path::new("/dev/null")) {
            return PipConfig::default();
        }
        let home = env.home();
        let mut order = Vec::new();
        if cfg!(unix) {
            let xdg_dirs = env.get(env::XDG_CONFIG_DIRS).unwrap_or("/etc/xdg");
            order.extend(
                xdg_dirs.split(':').filter(|d| !d.is_empty()).map(|d| Path::new(d).join("pip").join("pip.conf")),
            );
            order.push(PathBuf::from("/etc/pip.conf"));
        }
        if !named.as_deref().is_some_and(Path::is_file)
            && let Some(home) = &home
        {
            order.push(home.join(if cfg!(windows) { "pip" } else { ".pip" }).join(pip_conf()));
            let config = env.os(env::XDG_CONFIG_HOME).map(PathBuf::from).unwrap_or_else(|| home.join(".config"));
            order.push(config.join("pip").join(pip_conf()));
        }
        if let Some(venv) = env.os(env::VIRTUAL_ENV) {
            order.push(PathBuf::from(venv).join(pip_conf()));
        }
        order.extend(named);
        let mut files: Vec<(PathBuf, Vec<Entry>)> = Vec::new();
        for file in order {
            if let Ok(text) = fs_err::read_to_string(&file) {
                files.push((file, parse(&text)));
            }
        }
        files.reverse();
        PipConfig { files }
    }

    /// `index-url` (the first line of a value over several), and where it was set.
    pub fn index_url(&self) -> Option<Setting> {
        let setting = self.setting("index-url")?;
        let first = setting.value.lines().next().unwrap_or_default().trim().to_owned();
        Some(Setting { value: first, ..setting })
    }

    /// `extra-index-url`: the URLs of the one winning entry, split at whitespace (a value may
    /// go on over indented lines), each with where it was set.
    pub fn extra_index_urls(&self) -> Vec<Setting> {
        let Some(setting) = self.setting("extra-index-url") else { return Vec::new() };
        let urls = setting.value.split_whitespace();
        urls.map(|url| Setting { value: url.to_owned(), from: setting.from.clone() }).collect()
    }

    /// `cert`: the CA bundle pip trusts.
    pub fn cert(&self) -> Option<Setting> {
        self.setting("cert")
    }

    /// The winning non-empty entry for `key`: the first section of [`SECTIONS`] that sets it in
    /// any file, the last file loaded first, the last entry in a file first.
    fn setting(&self, key: &str) -> Option<Setting> {
        SECTIONS.iter().find_map(|section| {
            self.files.iter().find_map(|(file, entries)| {
                let entry = entries.iter().rev().find(|e| e.section == *section && e.key == key)?;
                let from = format!("{}: [{section}] {key}", file.display());
                Some(Setting { value: entry.value.clone(), from }).filter(|s| !s.value.is_empty())
            })
        })
    }
}

fn pip_conf() -> &'static str {
    if cfg!(windows) { "pip.ini" } else { "pip.conf" }
}

/// The entries of an ini file as Python's configparser reads them: `[section]`, `key = value`
/// or `key: value`, indented continuation lines, `#` and `;` comments; keys in lower case with
/// `_` read as `-` (as pip normalizes them).
fn parse(text: &str) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut section = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if raw.starts_with([' ', '\t'])
            && let Some(last) = entries.last_mut()
        {
            last.value = format!("{}\n{line}", last.value).trim().to_owned();
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_owned();
            continue;
        }
        let Some((key, value)) = line.split_once(['=', ':']) else { continue };
        let key = key.trim().trim_start_matches("--").to_ascii_lowercase().replace('_', "-");
        entries.push(Entry { section: section.clone(), key, value: value.trim().to_owned() });
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn sections_win_over_files_and_files_in_pips_order() {
        let dir = tempfile::tempdir().unwrap();
        let (home, venv, xdg) = (dir.path().join("home"), dir.path().join("venv"), dir.path().join("xdg"));
        let env = |extra: &[(&str, &Path)]| {
            let mut pairs: Vec<(String, std::ffi::OsString)> = vec![
                (env::HOME.into(), home.clone().into()),
                (env::XDG_CONFIG_DIRS.into(), xdg.clone().into()),
                (env::VIRTUAL_ENV.into(), venv.clone().into()),
            ];
            pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.as_os_str().to_owned())));
            Env::from_pairs(pairs)
        };
        let found = |extra: &[(&str, &Path)]| PipConfig::load(&env(extra)).index_url().map(|s| (s.value, s.from));
        let site = xdg.join("pip/pip.conf");
        write(&site, "[global]\nindex-url = http://127.0.0.1:9/site/\n");
        assert_eq!(found(&[]).unwrap().0, "http://127.0.0.1:9/site/");
        write(&home.join(".pip/pip.conf"), "[global]\nindex_url: http://127.0.0.1:9/legacy/\n");
        assert_eq!(found(&[]).unwrap().0, "http://127.0.0.1:9/legacy/");
        let user = home.join(".config/pip/pip.conf");
        write(&user, "[global]\nindex-url = http://127.0.0.1:9/user/\n");
        assert_eq!(found(&[]).unwrap().0, "http://127.0.0.1:9/user/");
        write(&venv.join("pip.conf"), "[global]\nindex-url = http://127.0.0.1:9/venv/\n");
        assert_eq!(found(&[]).unwrap().0, "http://127.0.0.1:9/venv/", "the virtualenv's over the user's");
        // A command's section wins over [global] in any file: the site file's [download], then [install].
        write(&site, "[download]\nindex-url = http://127.0.0.1:9/site-download/\n");
        assert_eq!(found(&[]).unwrap().0, "http://127.0.0.1:9/site-download/");
        write(&user, "[install]\nINDEX-URL = http://127.0.0.1:9/user-install/\n    http://127.0.0.1:9/second-line/\n");
        let (value, from) = found(&[]).unwrap();
        assert_eq!(
            (value.as_str(), from),
            ("http://127.0.0.1:9/user-install/", format!("{}: [install] index-url", user.display()))
        );
        // PIP_CONFIG_FILE: read last (it wins), and the user's files are not read.
        let named = dir.path().join("named.conf");
        write(&named, "[global]\nindex-url = http://127.0.0.1:9/named/\n");
        write(&user, "[global]\nindex-url = http://127.0.0.1:9/user/\n");
        write(&site, "");
        assert_eq!(found(&[(env::PIP_CONFIG_FILE, &named)]).unwrap().0, "http://127.0.0.1:9/named/");
        std::fs::remove_file(&named).unwrap();
        write(&venv.join("pip.conf"), "");
        assert_eq!(
            found(&[(env::PIP_CONFIG_FILE, &named)]).unwrap().0,
            "http://127.0.0.1:9/user/",
            "a missing file: the user's are read"
        );
        assert_eq!(found(&[(env::PIP_CONFIG_FILE, Path::new("/dev/null"))]), None, "os.devnull: nothing");
    }

    #[test]
    fn extra_index_urls_are_every_url_of_the_winning_entry() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("pip.conf");
        let env = |extra: &[(&str, &str)]| {
            let mut pairs: Vec<(String, std::ffi::OsString)> = vec![
                (env::HOME.into(), dir.path().join("home").into()),
                (env::XDG_CONFIG_DIRS.into(), dir.path().join("xdg").into()),
                (env::PIP_CONFIG_FILE.into(), conf.clone().into()),
            ];
            pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), (*v).into())));
            Env::from_pairs(pairs)
        };
        let urls = |extra: &[(&str, &str)]| -> Vec<(String, String)> {
            crate::sources::pypi::extra_index_settings(&env(extra)).into_iter().map(|s| (s.value, s.from)).collect()
        };
        let one = "http://127.0.0.1:9/one/";
        write(
            &conf,
            &format!(
                "[global]\nextra-index-url = {one}\n  http://127.0.0.1:9/two/  http://127.0.0.1:9/three/\n[install]\nextra_index_url = {one}\n"
            ),
        );
        let from = format!("{}: [install] extra-index-url", conf.display());
        assert_eq!(urls(&[]), [(one.to_owned(), from)], "[install] wins over [global]");
        write(
            &conf,
            &format!("[global]\nextra-index-url = {one}\n  http://127.0.0.1:9/two/  http://127.0.0.1:9/three/\n"),
        );
        let found: Vec<String> = urls(&[]).into_iter().map(|(url, _)| url).collect();
        assert_eq!(found, [one, "http://127.0.0.1:9/two/", "http://127.0.0.1:9/three/"]);
        // The variables win over the files, pip's over uv's.
        let uv = [(env::UV_EXTRA_INDEX_URL, "http://127.0.0.1:9/uv/")];
        assert_eq!(urls(&uv), [("http://127.0.0.1:9/uv/".to_owned(), env::UV_EXTRA_INDEX_URL.to_owned())]);
        let both = [uv[0], (env::PIP_EXTRA_INDEX_URL, " http://127.0.0.1:9/a/ http://127.0.0.1:9/b/")];
        let found: Vec<(String, String)> = urls(&both);
        let pip = |url: &str| (url.to_owned(), env::PIP_EXTRA_INDEX_URL.to_owned());
        assert_eq!(found, [pip("http://127.0.0.1:9/a/"), pip("http://127.0.0.1:9/b/")]);
        assert_eq!(urls(&[(env::PIP_EXTRA_INDEX_URL, " ")]), [], "set but blank: none, as pip reads it");
        assert_eq!(urls(&[(env::PIP_EXTRA_INDEX_URL, "")]), [], "set but empty: none too");
        // index-url keeps its first line only.
        write(&conf, &format!("[global]\nindex-url = {one}\n  http://127.0.0.1:9/two/\n"));
        assert_eq!(PipConfig::load(&env(&[])).index_url().unwrap().value, one);
    }
}
