//! Credentials, and the one rule of where each is sent.
//!
//! A [`Credential`] is a secret ([`Secret`]: a bearer token or a user and password) with the
//! [`Scope`] of URLs it belongs to and where it was configured (a file and key, never the
//! secret). [`Credentials::for_url`] picks the one a URL gets, in this order:
//!
//! 1. an npm registry key (`//host[:port]/path/`), matched as npm matches it: the URL's
//!    `//host[:port]/path` walked up one segment at a time until a key is found;
//! 2. an origin (scheme, host and port): the GitHub token;
//! 3. the npm registry's host (`host[:port]`), for a tarball the registry serves from
//!    another path of its own host, as npm falls back to the registry's credential;
//! 4. a `.netrc` machine: its host, any port, as pip, uv and curl match it;
//! 5. a `.netrc` `default`, for the origins of the configured sources only.
//!
//! The `user:password@` of a URL comes before all of these (see [`crate::net::Http`]).

use std::fmt;

use url::{Origin, Url};

/// A secret. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// `Authorization: Bearer TOKEN`.
    Bearer(String),
    /// `Authorization: Basic base64(USER:PASSWORD)`.
    Basic { user: String, password: String },
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Bearer(_) => f.write_str("Bearer(***)"),
            Secret::Basic { .. } => f.write_str("Basic(***)"),
        }
    }
}

/// The URLs a credential belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// npm's registry key, `//host[:port]/path/`. npm sends it over either scheme; with
    /// `https_only` (the registry is https) it never goes over plain http, even where a
    /// package document lists an http tarball.
    NpmKey { key: String, https_only: bool },
    /// One origin: scheme, host and port.
    Origin(Origin),
    /// Every path of an npm registry's host (`host[:port]`).
    NpmHost { host: String, https_only: bool },
    /// A host, any port and scheme (a `.netrc` machine).
    Host(String),
    /// A `.netrc` `default` for one origin.
    Default(Origin),
}

/// A secret, where it is sent, and where it was configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub scope: Scope,
    pub secret: Secret,
    /// Where it was configured: a file and key, or a variable; never the secret.
    pub from: String,
}

/// The credentials a client sends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials(Vec<Credential>);

impl Credentials {
    pub fn new(credentials: impl IntoIterator<Item = Credential>) -> Credentials {
        let mut all = Credentials::default();
        all.extend(credentials);
        all
    }

    /// Add credentials; of two for the same scope, the first added is kept.
    pub fn extend(&mut self, credentials: impl IntoIterator<Item = Credential>) {
        for credential in credentials {
            if !self.0.iter().any(|c| c.scope == credential.scope) {
                self.0.push(credential);
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Credential> {
        self.0.iter()
    }

    /// The credential `url` gets (see the module docs for the order).
    pub fn for_url(&self, url: &Url) -> Option<&Credential> {
        let host = url.host_str()?.to_ascii_lowercase();
        let host_port = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        };
        // A `.netrc` names an IPv6 host without the brackets of a URL.
        let bare_host = host.trim_start_matches('[').trim_end_matches(']');
        let secure = url.scheme() == "https";
        let find = |wanted: &dyn Fn(&Scope) -> bool| self.0.iter().find(|c| wanted(&c.scope));
        let mut key = format!("//{host_port}{}", url.path());
        while key.len() > 2 {
            let found =
                find(&|s| matches!(s, Scope::NpmKey { key: k, https_only } if *k == key && (secure || !https_only)));
            if let Some(found) = found {
                return Some(found);
            }
            // npm's walk: drop the last segment, or the slash that ends the key.
            let cut = if key.ends_with('/') { key.len() - 1 } else { key.rfind('/').map_or(0, |i| i + 1) };
            key.truncate(cut);
        }
        let origin = url.origin();
        find(&|s| matches!(s, Scope::Origin(o) if *o == origin))
            .or_else(|| {
                find(&|s| matches!(s, Scope::NpmHost { host: h, https_only } if *h == host_port && (secure || !https_only)))
            })
            .or_else(|| find(&|s| matches!(s, Scope::Host(h) if h == bare_host)))
            .or_else(|| find(&|s| matches!(s, Scope::Default(o) if *o == origin)))
    }
}

/// npm's registry key of a registry URL: `http://host:4873/npm/` is `//host:4873/npm/`.
pub fn npm_key(registry: &Url) -> Option<String> {
    let host = registry.host_str()?.to_ascii_lowercase();
    let port = registry.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = registry.path();
    Some(format!("//{host}{port}{path}{}", if path.ends_with('/') { "" } else { "/" }))
}

/// A `.npmrc` key as npm compares it: its host in lower case.
pub fn normalize_npm_key(key: &str) -> String {
    let Some(rest) = key.strip_prefix("//") else { return key.to_owned() };
    match rest.split_once('/') {
        Some((host, path)) => format!("//{}/{path}", host.to_ascii_lowercase()),
        None => format!("//{}", rest.to_ascii_lowercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(scope: Scope, token: &str) -> Credential {
        Credential { scope, secret: Secret::Bearer(token.into()), from: format!("test {token}") }
    }

    fn npm_key_scope(key: &str) -> Scope {
        Scope::NpmKey { key: key.into(), https_only: false }
    }

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn token_for(credentials: &Credentials, text: &str) -> Option<String> {
        credentials.for_url(&url(text)).map(|c| c.from.trim_start_matches("test ").to_owned())
    }

    #[test]
    fn npm_keys_match_by_walking_up_the_path() {
        let all = Credentials::new([
            bearer(npm_key_scope("//127.0.0.1:4873/"), "root"),
            bearer(npm_key_scope("//127.0.0.1:4873/team/npm/"), "team"),
            bearer(npm_key_scope("//reg.test/private"), "no-slash"),
        ]);
        assert_eq!(token_for(&all, "http://127.0.0.1:4873/@openai%2fcodex").as_deref(), Some("root"));
        assert_eq!(token_for(&all, "https://127.0.0.1:4873/team/npm/@openai/codex/-/x.tgz").as_deref(), Some("team"));
        assert_eq!(token_for(&all, "http://127.0.0.1:4873/team/other").as_deref(), Some("root"));
        assert_eq!(token_for(&all, "http://reg.test/private/x").as_deref(), Some("no-slash"));
        assert_eq!(token_for(&all, "http://reg.test/privateer").as_deref(), None, "a segment is whole");
        assert_eq!(token_for(&all, "http://127.0.0.1:4874/x"), None, "another port");
        assert_eq!(token_for(&all, "http://127.0.0.1/x"), None, "the default port is another port");
    }

    #[test]
    fn the_order_is_npm_key_origin_registry_host_netrc_machine_netrc_default() {
        let origin = |text: &str| url(text).origin();
        let all = Credentials::new([
            bearer(Scope::Default(origin("http://h.test:8080/")), "default"),
            bearer(Scope::Host("h.test".into()), "machine"),
            bearer(Scope::NpmHost { host: "h.test:8080".into(), https_only: false }, "registry-host"),
            bearer(Scope::Origin(origin("http://h.test:8080/")), "origin"),
            bearer(npm_key_scope("//h.test:8080/npm/"), "key"),
        ]);
        assert_eq!(token_for(&all, "http://h.test:8080/npm/x").as_deref(), Some("key"));
        assert_eq!(token_for(&all, "http://h.test:8080/other").as_deref(), Some("origin"));
        assert_eq!(token_for(&all, "https://h.test:8080/other").as_deref(), Some("registry-host"));
        assert_eq!(token_for(&all, "https://h.test:9/other").as_deref(), Some("machine"));
        assert_eq!(token_for(&all, "http://else.test/").as_deref(), None);
        let only_default = Credentials::new([bearer(Scope::Default(origin("http://h.test:8080/")), "default")]);
        assert_eq!(token_for(&only_default, "http://h.test:8080/simple/").as_deref(), Some("default"));
        assert_eq!(token_for(&only_default, "http://h.test:8081/simple/"), None);
    }

    #[test]
    fn an_https_registrys_key_never_goes_over_http_and_netrc_hosts_may_be_ipv6() {
        let all = Credentials::new([
            bearer(Scope::NpmKey { key: "//reg.test/".into(), https_only: true }, "key"),
            bearer(Scope::NpmHost { host: "reg.test".into(), https_only: true }, "host"),
            bearer(Scope::Host("::1".into()), "v6"),
        ]);
        assert_eq!(token_for(&all, "https://reg.test/@openai%2fcodex").as_deref(), Some("key"));
        assert_eq!(token_for(&all, "http://reg.test/@openai/codex/-/codex.tgz"), None);
        assert_eq!(token_for(&all, "http://[::1]:8080/simple/").as_deref(), Some("v6"));
    }

    #[test]
    fn the_first_credential_for_a_scope_is_kept() {
        let mut all = Credentials::new([bearer(Scope::Host("h".into()), "first")]);
        all.extend([bearer(Scope::Host("h".into()), "second")]);
        assert_eq!(all.iter().count(), 1);
        assert_eq!(token_for(&all, "http://h/").as_deref(), Some("first"));
    }

    #[test]
    fn keys_of_registries_end_with_a_slash_and_hosts_are_lower_case() {
        assert_eq!(npm_key(&url("http://Reg.Test:4873/npm")).unwrap(), "//reg.test:4873/npm/");
        assert_eq!(npm_key(&url("https://reg.test:443/")).unwrap(), "//reg.test/");
        assert_eq!(normalize_npm_key("//Reg.Test:4873/npm/"), "//reg.test:4873/npm/");
        assert_eq!(normalize_npm_key("//Reg.Test"), "//reg.test");
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let basic = Credential {
            scope: Scope::Host("h".into()),
            secret: Secret::Basic { user: "alice".into(), password: "hunter2".into() },
            from: "~/.netrc: machine h".into(),
        };
        let text = format!("{:?} {:?}", basic, Secret::Bearer("tok3n".into()));
        assert!(!text.contains("hunter2") && !text.contains("tok3n") && !text.contains("alice"), "{text}");
    }
}
