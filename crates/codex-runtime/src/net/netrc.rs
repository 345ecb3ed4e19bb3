//! `.netrc`: the logins pip, uv and curl send to the hosts it names.
//!
//! The file is the one `NETRC` names, else `~/.netrc` (`~/_netrc` on Windows when there is no
//! `.netrc`). Its tokens are `machine NAME`, `default`, `login`, `password`, `account` (ignored)
//! and `macdef NAME` (a macro, skipped to the next empty line); `#` starts a comment. A
//! `machine` entry's login goes to that host on any port; the `default` entry's only to the
//! origins of the sources the user configured (see [`Netrc::credentials`]).

use std::path::PathBuf;

use url::Origin;

use super::auth::{Credential, Scope, Secret};
use crate::model::env::{self, Env};

/// A parsed `.netrc`.
#[derive(Debug, Clone, Default)]
pub struct Netrc {
    path: PathBuf,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, Default)]
struct Entry {
    /// `None` for `default`.
    machine: Option<String>,
    login: Option<String>,
    password: Option<String>,
    account: Option<String>,
}

/// The tokens of a `.netrc`, as Python's `netrc` and curl read them: apart by white space,
/// `"quoted"` with `\` escapes, `#` comments to the end of the line, and `macdef` bodies (to the
/// next empty line) skipped.
fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    let mut lines = text.lines();
    let mut pending: Vec<String> = Vec::new();
    std::iter::from_fn(move || {
        loop {
            if !pending.is_empty() {
                return Some(pending.remove(0));
            }
            let line = lines.next()?;
            let mut chars = line.chars().peekable();
            let mut line_tokens = Vec::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    chars.next();
                } else if c == '#' {
                    break;
                } else if c == '"' {
                    chars.next();
                    let mut token = String::new();
                    while let Some(c) = chars.next() {
                        match c {
                            '"' => break,
                            '\\' => token.extend(chars.next()),
                            _ => token.push(c),
                        }
                    }
                    line_tokens.push(token);
                } else {
                    let mut token = String::new();
                    while let Some(&c) = chars.peek().filter(|c| !c.is_whitespace()) {
                        token.push(c);
                        chars.next();
                    }
                    line_tokens.push(token);
                }
            }
            if let Some(at) = line_tokens.iter().position(|t| t == "macdef") {
                line_tokens.truncate(at);
                // The macro's body runs to the next empty line.
                for body in lines.by_ref() {
                    if body.trim().is_empty() {
                        break;
                    }
                }
            }
            pending = line_tokens;
        }
    })
}

impl Netrc {
    /// The file `NETRC` names, else the one in the home directory; `None` when there is none.
    pub fn load(env: &Env) -> Option<Netrc> {
        let path = Self::path(env)?;
        let text = fs_err::read_to_string(&path).ok()?;
        Some(Netrc::parse(&text, path))
    }

    fn path(env: &Env) -> Option<PathBuf> {
        if let Some(named) = env.os(env::NETRC) {
            return Some(PathBuf::from(named));
        }
        let home = env.home()?;
        let dotted = home.join(".netrc");
        if cfg!(windows) && !dotted.is_file() {
            return Some(home.join("_netrc"));
        }
        Some(dotted)
    }

    /// The entries of `text`, read from `path` (for saying where a credential came from).
    pub fn parse(text: &str, path: PathBuf) -> Netrc {
        let mut entries: Vec<Entry> = Vec::new();
        let mut tokens = tokens(text.trim_start_matches('\u{feff}'));
        while let Some(token) = tokens.next() {
            match token.as_str() {
                "machine" => {
                    entries.push(Entry { machine: tokens.next().map(|m| m.to_ascii_lowercase()), ..Entry::default() })
                }
                "default" => entries.push(Entry::default()),
                "login" | "password" | "account" => {
                    let value = tokens.next();
                    if let Some(entry) = entries.last_mut() {
                        match token.as_str() {
                            "login" => entry.login = value,
                            "password" => entry.password = value,
                            _ => entry.account = value,
                        }
                    }
                }
                _ => {}
            }
        }
        Netrc { path, entries }
    }

    /// A credential for each `machine` with a login or a password (the first entry of a host
    /// wins, as in pip), and the `default` entry's for each of `origins`.
    pub fn credentials(&self, origins: &[Origin]) -> Vec<Credential> {
        let mut out = Vec::new();
        for entry in &self.entries {
            if entry.login.is_none() && entry.password.is_none() {
                continue;
            }
            // As requests (pip) does: the login, else the account, else empty.
            let user = entry.login.clone().or_else(|| entry.account.clone()).unwrap_or_default();
            let secret = Secret::Basic { user, password: entry.password.clone().unwrap_or_default() };
            match &entry.machine {
                Some(host) => out.push(Credential {
                    scope: Scope::Host(host.clone()),
                    secret,
                    from: format!("{}: machine {host}", self.path.display()),
                }),
                None => out.extend(origins.iter().map(|origin| Credential {
                    scope: Scope::Default(origin.clone()),
                    secret: secret.clone(),
                    from: format!("{}: default", self.path.display()),
                })),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::auth::Credentials;

    fn login_for(netrc: &Netrc, origins: &[Origin], url: &str) -> Option<(String, String, String)> {
        let all = Credentials::new(netrc.credentials(origins));
        let found = all.for_url(&url::Url::parse(url).unwrap())?;
        let Secret::Basic { user, password } = &found.secret else { panic!("netrc gives basic credentials") };
        Some((user.clone(), password.clone(), found.from.clone()))
    }

    #[test]
    fn machines_defaults_macros_and_comments() {
        let text = "\u{feff}# a comment\nmachine Index.Test login alice password s3cret\n\
                    macdef init\nmachine evil.test login mallory password x\n\n\
                    machine mirror.test\n  login bob\n  account ignored\n  password pw # trailing\n\
                    machine index.test login second password no\n\
                    machine quoted.test login \"q u\" password \"p w\\\"x\"\n\
                    machine nologin.test password onlypw\n\
                    default login anon password guest\n";
        let netrc = Netrc::parse(text, PathBuf::from("/home/u/.netrc"));
        let configured = [url::Url::parse("http://127.0.0.1:8080/").unwrap().origin()];
        let alice = ("alice".into(), "s3cret".into(), "/home/u/.netrc: machine index.test".into());
        assert_eq!(login_for(&netrc, &[], "https://index.test:8443/simple/"), Some(alice), "any port");
        assert_eq!(login_for(&netrc, &[], "http://mirror.test/x").map(|l| l.1), Some("pw".into()));
        assert_eq!(login_for(&netrc, &[], "http://evil.test/"), None, "inside a macro");
        let quoted = login_for(&netrc, &[], "http://quoted.test/").unwrap();
        assert_eq!((quoted.0.as_str(), quoted.1.as_str()), ("q u", "p w\"x"));
        let configured_nologin = [url::Url::parse("http://nologin.test/").unwrap().origin()];
        let nologin = login_for(&netrc, &configured_nologin, "http://nologin.test/").unwrap();
        assert_eq!((nologin.0.as_str(), nologin.1.as_str()), ("", "onlypw"), "the machine, not the default");
        assert_eq!(login_for(&netrc, &[], "http://127.0.0.1:8080/simple/"), None, "default: only where configured");
        let default = login_for(&netrc, &configured, "http://127.0.0.1:8080/simple/").unwrap();
        assert_eq!(default, ("anon".into(), "guest".into(), "/home/u/.netrc: default".into()));
        assert_eq!(login_for(&netrc, &configured, "http://127.0.0.1:8081/simple/"), None);
    }

    #[test]
    fn netrc_names_the_file_else_home() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("creds");
        std::fs::write(&file, "machine h login u password p").unwrap();
        let env = Env::from_pairs([(env::NETRC, file.as_os_str())]);
        assert_eq!(Netrc::load(&env).unwrap().credentials(&[]).len(), 1);
        std::fs::write(dir.path().join(".netrc"), "machine h login u password p\nmachine g login v").unwrap();
        let home = Env::from_pairs([(env::HOME, dir.path().as_os_str())]);
        assert_eq!(Netrc::load(&home).unwrap().credentials(&[]).len(), 2);
        let none = Env::from_pairs([(env::HOME, dir.path().join("nowhere").as_os_str())]);
        assert!(Netrc::load(&none).is_none());
    }
}
