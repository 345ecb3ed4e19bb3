//! URLs: [`RedactedUrl`], which never shows a secret, and the joins, link resolutions and
//! origins the sources need, all on [`url::Url`].

use std::fmt;

use percent_encoding::percent_decode_str;
use url::{Origin, Position, Url};

/// A URL whose secrets never reach a message: `Display` and `Debug` show its `user:password@`
/// as `***@` and the values of query parameters named like credentials (`token`, `sig`,
/// `X-Amz-Signature`, ...) as `***`. [`RedactedUrl::expose`] gives the URL itself, for the request.
///
/// Built from any string: one that is not a URL is kept as it is (a request for it fails with
/// [`crate::net::HttpError::InvalidUrl`]) and shown with everything before its last `@` hidden.
#[derive(Clone, PartialEq, Eq)]
pub struct RedactedUrl(Inner);

#[derive(Clone, PartialEq, Eq)]
enum Inner {
    Url(Url),
    NotAUrl(String),
}

impl RedactedUrl {
    pub fn new(url: impl Into<String>) -> Self {
        let text = url.into();
        match Url::parse(&text) {
            Ok(url) => RedactedUrl(Inner::Url(url)),
            Err(_) => RedactedUrl(Inner::NotAUrl(text)),
        }
    }

    /// The URL with its credentials, for the request itself.
    pub fn expose(&self) -> &str {
        match &self.0 {
            Inner::Url(url) => url.as_str(),
            Inner::NotAUrl(text) => text,
        }
    }

    /// The parsed URL, credentials included; `None` when the string is not a URL.
    pub fn url(&self) -> Option<&Url> {
        match &self.0 {
            Inner::Url(url) => Some(url),
            Inner::NotAUrl(_) => None,
        }
    }
}

impl From<Url> for RedactedUrl {
    fn from(url: Url) -> Self {
        RedactedUrl(Inner::Url(url))
    }
}

impl fmt::Display for RedactedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Inner::Url(url) if !url.cannot_be_a_base() => write_redacted(url, f),
            // Not a URL with a host (`user:secret@host` parses as one of scheme `user`), so
            // where a userinfo would end is a guess: hide more rather than less.
            _ => {
                let text = self.expose();
                match text.rfind('@') {
                    Some(at) => {
                        let start = text.find("://").map_or(0, |i| i + 3).min(at);
                        write!(f, "{}***@{}", &text[..start], &text[at + 1..])
                    }
                    None => f.write_str(text),
                }
            }
        }
    }
}

impl fmt::Debug for RedactedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_string())
    }
}

fn write_redacted(url: &Url, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(&url[..Position::BeforeUsername])?;
    if userinfo(url).is_some() {
        f.write_str("***@")?;
    }
    f.write_str(&url[Position::BeforeHost..Position::AfterPath])?;
    if let Some(query) = url.query() {
        f.write_str("?")?;
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                f.write_str("&")?;
            }
            match pair.split_once('=') {
                Some((name, _)) if is_secret(name) => write!(f, "{name}=***")?,
                _ => f.write_str(pair)?,
            }
        }
    }
    f.write_str(&url[Position::AfterQuery..])
}

/// Whether a query parameter of this name holds a credential: a token, a signature, a key
/// (signed download URLs, as GitHub's asset redirects are).
fn is_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["auth", "credential", "jwt", "key", "password", "secret", "sig", "token"].iter().any(|word| name.contains(word))
}

/// A URL as [`RedactedUrl`] shows it; a string that is not a URL as it is, unless it has an `@`.
pub fn redact(url: &str) -> String {
    RedactedUrl::new(url).to_string()
}

/// The decoded `user` and `password` of a URL's `user:password@`, if it has one.
pub(super) fn userinfo(url: &Url) -> Option<(String, String)> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    Some((decode(url.username()), decode(url.password().unwrap_or(""))))
}

/// The origin of a URL (scheme, host and port, the scheme's default port filled in): what
/// decides whether a credential may be sent. `None` when it is not a URL; URLs without a host
/// have an opaque origin, equal to no other.
pub fn origin(url: &str) -> Option<Origin> {
    Url::parse(url).ok().map(|url| url.origin())
}

/// A base URL with `path` appended below its path, without doubling or dropping the slash
/// (`%2f` and the like kept as they are). Credentials and query of the base are kept.
pub fn join(base: &str, path: &str) -> String {
    match Url::parse(base) {
        Ok(mut url) if !url.cannot_be_a_base() => {
            let joined = format!("{}/{}", url.path().trim_end_matches('/'), path.trim_start_matches('/'));
            url.set_path(&joined);
            url.into()
        }
        _ => format!("{}/{}", base.trim_end_matches('/'), path.trim_start_matches('/')),
    }
}

/// Resolve a link found on the page at `base` (RFC 3986 reference resolution): the result
/// keeps the page's credentials only when the link is relative to the page's host. A `base`
/// that is not a URL leaves `href` as it is.
pub fn resolve_href(base: &str, href: &str) -> String {
    match Url::parse(base).and_then(|base| base.join(href)) {
        Ok(url) => url.into(),
        Err(_) => href.to_owned(),
    }
}

/// `url` with the `user:password@` of `base`, when it is on `base`'s origin and has none of its
/// own: pip sends an index's credentials to the files on its host, npm a registry's to its
/// tarballs.
pub fn with_userinfo_of(base: &str, url: &str) -> String {
    let (Ok(base), Ok(mut target)) = (Url::parse(base), Url::parse(url)) else { return url.to_owned() };
    if userinfo(&base).is_none() || userinfo(&target).is_some() || base.origin() != target.origin() {
        return url.to_owned();
    }
    let _ = target.set_username(base.username());
    let _ = target.set_password(base.password());
    target.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted() {
        let cases = [
            ("https://user:secret@example.test/simple/", "https://***@example.test/simple/"),
            ("https://token@example.test", "https://***@example.test/"),
            ("https://:secret@example.test/x", "https://***@example.test/x"),
            ("https://example.test/a@b", "https://example.test/a@b"),
            ("http://127.0.0.1:8080/x", "http://127.0.0.1:8080/x"),
            (
                "https://cdn.test/a.tgz?X-Amz-Signature=abc&X-Amz-Credential=def&sp=r&jwt=ghi#frag",
                "https://cdn.test/a.tgz?X-Amz-Signature=***&X-Amz-Credential=***&sp=r&jwt=***#frag",
            ),
            ("https://cdn.test/a.tgz?token=abc&plain", "https://cdn.test/a.tgz?token=***&plain"),
            ("/local/dir", "/local/dir"),
            ("not a url://user:secret@host/x", "not a url://***@host/x"),
            ("user:secret@host", "***@host"),
        ];
        for (url, redacted) in cases {
            assert_eq!(redact(url), redacted, "{url}");
            assert_eq!(RedactedUrl::new(url).to_string(), redacted, "{url}");
            assert_eq!(format!("{:?}", RedactedUrl::new(url)), format!("{redacted:?}"), "{url}");
        }
        let url = RedactedUrl::new("https://user:secret@example.test/x?token=abc");
        assert_eq!(url.expose(), "https://user:secret@example.test/x?token=abc", "the request gets them");
    }

    #[test]
    fn join_handles_slashes() {
        let cases = [
            ("http://h/r/", "/a.tgz", "http://h/r/a.tgz"),
            ("http://h/r", "a.tgz", "http://h/r/a.tgz"),
            ("http://h", "a.tgz", "http://h/a.tgz"),
            ("http://u:p@h:1/registry", "@openai%2fcodex", "http://u:p@h:1/registry/@openai%2fcodex"),
            ("http://h/simple", "openai-codex-cli-bin/", "http://h/simple/openai-codex-cli-bin/"),
        ];
        for (base, path, joined) in cases {
            assert_eq!(join(base, path), joined, "{base} + {path}");
        }
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let same = [
            ("https://example.test/releases", "https://EXAMPLE.test:443/other"),
            ("http://u:p@127.0.0.1:8080/x", "http://127.0.0.1:8080/y"),
            ("http://[::1]:9/x", "http://[::1]:9/"),
        ];
        for (a, b) in same {
            assert_eq!(origin(a), origin(b), "{a} and {b}");
            assert!(origin(a).is_some());
        }
        let different = [
            ("http://example.test/", "https://example.test/"),
            ("http://example.test/", "http://example.test:8080/"),
            ("https://example.test/", "https://sub.example.test/"),
            ("file:///a", "file:///a"),
        ];
        for (a, b) in different {
            assert_ne!(origin(a), origin(b), "{a} and {b}");
        }
        assert_eq!(origin("/local"), None);
        assert_eq!(origin("http://EXAMPLE.test").unwrap().ascii_serialization(), "http://example.test");
    }

    #[test]
    fn links_resolve_against_the_page() {
        let page = "http://u:p@h:1/simple/openai-codex-cli-bin/";
        let cases = [
            ("../../files/a.whl#sha256=00", "http://u:p@h:1/files/a.whl#sha256=00"),
            ("/files/a.whl", "http://u:p@h:1/files/a.whl"),
            ("a.whl", "http://u:p@h:1/simple/openai-codex-cli-bin/a.whl"),
            ("./a.whl?x=1", "http://u:p@h:1/simple/openai-codex-cli-bin/a.whl?x=1"),
            ("//cdn.test/a.whl", "http://cdn.test/a.whl"),
            ("https://cdn.test/a.whl", "https://cdn.test/a.whl"),
            ("../../../../x", "http://u:p@h:1/x"),
        ];
        for (href, expected) in cases {
            assert_eq!(resolve_href(page, href), expected, "{href}");
        }
        assert_eq!(resolve_href("http://h/dir/page?q", "b"), "http://h/dir/b");
        assert_eq!(resolve_href("not a url", "b"), "b");
    }

    #[test]
    fn userinfo_is_percent_decoded() {
        let url = Url::parse("https://al%20ice:p%40ss%3Aword@h/").unwrap();
        assert_eq!(userinfo(&url), Some(("al ice".to_owned(), "p@ss:word".to_owned())));
        let url = Url::parse("https://token@h/").unwrap();
        assert_eq!(userinfo(&url), Some(("token".to_owned(), String::new())));
        assert_eq!(userinfo(&Url::parse("https://h/").unwrap()), None);
    }
}
