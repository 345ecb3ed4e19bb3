//! The HTTP client, built only when something must be fetched.
//!
//! TLS roots come from the platform store, honouring `SSL_CERT_FILE` and `SSL_CERT_DIR` (what a
//! corporate proxy's users set); the proxy comes from `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`
//! with `NO_PROXY` exceptions. Redirects are followed here, not by ureq, so that credentials go
//! only where they belong: `user:password@` of a URL only to that URL's host and port, and a
//! GitHub token only to the GitHub host.

use std::fmt;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use ureq::tls::{Certificate, RootCerts, TlsConfig};

/// A URL whose `user:password@` never reaches a message.
#[derive(Clone, PartialEq, Eq)]
pub struct RedactedUrl(String);

impl RedactedUrl {
    pub fn new(url: impl Into<String>) -> Self {
        RedactedUrl(url.into())
    }

    /// The URL with its credentials, for the request itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RedactedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

impl fmt::Debug for RedactedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", redact(&self.0))
    }
}

/// Replace the userinfo of a URL with `***`.
pub fn redact(url: &str) -> String {
    match split_userinfo(url) {
        (stripped, Some(_)) => {
            let scheme_end = stripped.find("://").map(|i| i + 3).unwrap_or(0);
            format!("{}***@{}", &stripped[..scheme_end], &stripped[scheme_end..])
        }
        (stripped, None) => stripped,
    }
}

/// The URL without its userinfo, and the userinfo.
fn split_userinfo(url: &str) -> (String, Option<String>) {
    let Some(scheme_end) = url.find("://") else { return (url.to_owned(), None) };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => (format!("{}{}", &url[..scheme_end + 3], &rest[at + 1..]), Some(rest[..at].to_owned())),
        None => (url.to_owned(), None),
    }
}

/// `host:port` of a URL, lowercased, with the scheme's default port filled in: what decides
/// whether a credential may be sent.
pub fn origin(url: &str) -> Option<String> {
    let (url, _) = split_userinfo(url);
    let scheme_end = url.find("://")?;
    let scheme = url[..scheme_end].to_ascii_lowercase();
    let rest = &url[scheme_end + 3..];
    let authority = rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())].to_ascii_lowercase();
    let has_port = authority.rsplit_once(':').is_some_and(|(_, p)| p.chars().all(|c| c.is_ascii_digit()))
        && !authority.ends_with(']');
    if has_port {
        return Some(authority);
    }
    let port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    Some(format!("{authority}:{port}"))
}

/// Join a base URL and a path without doubling or dropping the slash.
pub fn join(base: &str, path: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), path.trim_start_matches('/'))
}

/// Resolve a link found on the page at `base` (RFC 3986 reference resolution, for the forms
/// index pages use: absolute, scheme-relative, absolute-path and relative-path references).
pub fn resolve(base: &str, href: &str) -> String {
    if href.contains("://") {
        return href.to_owned();
    }
    let Some(scheme_end) = base.find("://") else { return href.to_owned() };
    if let Some(rest) = href.strip_prefix("//") {
        return format!("{}//{rest}", &base[..scheme_end + 1]);
    }
    let after_scheme = &base[scheme_end + 3..];
    let authority_end = scheme_end + 3 + after_scheme.find(['/', '?', '#']).unwrap_or(after_scheme.len());
    let (prefix, base_path) = base.split_at(authority_end);
    let base_path = &base_path[..base_path.find(['?', '#']).unwrap_or(base_path.len())];
    let (href_path, suffix) = href.split_at(href.find(['?', '#']).unwrap_or(href.len()));
    let merged = if href_path.is_empty() {
        base_path.to_owned()
    } else if href_path.starts_with('/') {
        href_path.to_owned()
    } else {
        format!("{}{href_path}", &base_path[..base_path.rfind('/').map(|i| i + 1).unwrap_or(0)])
    };
    let mut segments: Vec<&str> = Vec::new();
    let parts: Vec<&str> = merged.split('/').collect();
    for (i, segment) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        match *segment {
            "." => {
                if last {
                    segments.push("");
                }
            }
            ".." => {
                if segments.len() > 1 {
                    segments.pop();
                }
                if last {
                    segments.push("");
                }
            }
            s => segments.push(s),
        }
    }
    let mut path = segments.join("/");
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    format!("{prefix}{path}{suffix}")
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(v) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("not found (HTTP 404)")]
    NotFound,
    #[error("HTTP {status}")]
    Status { status: u16, retry_after: Option<Duration> },
    #[error("{message}")]
    Redirect { message: String },
    #[error("{0}")]
    Transport(#[source] ureq::Error),
    /// A timeout, said in words with the setting that governs it.
    #[error("{0}")]
    TimedOut(String),
}

/// Timeouts of the client.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timeouts {
    /// To establish a connection.
    pub connect: Duration,
    /// Between two reads: a server silent for this long is stalled. Also the longest time to
    /// receive a response's head (status line and headers), however steadily it trickles in.
    pub read: Duration,
}

impl Timeouts {
    pub const DEFAULT_CONNECT: Duration = Duration::from_secs(15);
    pub const DEFAULT_READ: Duration = Duration::from_secs(30);

    /// The defaults, overridden by `CODEX_RUNTIME_CONNECT_TIMEOUT_SECS` and
    /// `CODEX_RUNTIME_READ_TIMEOUT_SECS` (seconds, a fraction allowed).
    pub fn from_env() -> Timeouts {
        let secs = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|s| *s > 0.0)
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
        };
        Timeouts {
            connect: secs("CODEX_RUNTIME_CONNECT_TIMEOUT_SECS").unwrap_or(Self::DEFAULT_CONNECT),
            read: secs("CODEX_RUNTIME_READ_TIMEOUT_SECS").unwrap_or(Self::DEFAULT_READ),
        }
    }

    /// What a timeout of ureq means, in words, with the setting that governs it.
    fn explain(&self, timeout: ureq::Timeout) -> String {
        let secs = |d: Duration| format!("{} s", d.as_secs_f64());
        match timeout {
            ureq::Timeout::RecvResponse => format!(
                "the response headers took more than {} to arrive (CODEX_RUNTIME_READ_TIMEOUT_SECS)",
                secs(self.read)
            ),
            ureq::Timeout::Resolve | ureq::Timeout::Connect => {
                format!("no connection within {} (CODEX_RUNTIME_CONNECT_TIMEOUT_SECS)", secs(self.connect))
            }
            ureq::Timeout::PerRead | ureq::Timeout::RecvBody => {
                format!("no data for {} (CODEX_RUNTIME_READ_TIMEOUT_SECS)", secs(self.read))
            }
            other => format!("timed out ({other})"),
        }
    }

    /// A ureq error, its timeouts said in words.
    fn error(&self, error: ureq::Error) -> HttpError {
        match error {
            ureq::Error::Timeout(timeout) => HttpError::TimedOut(self.explain(timeout)),
            other => HttpError::Transport(other),
        }
    }
}

/// A response body whose timeouts say what happened and which setting governs them.
struct Body<R> {
    inner: R,
    timeouts: Timeouts,
}

impl<R: Read> Read for Body<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf).map_err(|e| match e.get_ref().and_then(|inner| inner.downcast_ref::<ureq::Error>()) {
            Some(ureq::Error::Timeout(timeout)) => {
                std::io::Error::new(std::io::ErrorKind::TimedOut, self.timeouts.explain(*timeout))
            }
            _ => e,
        })
    }
}

/// A blocking HTTP client.
pub struct Http {
    agent: ureq::Agent,
    timeouts: Timeouts,
    /// `(host:port, token)`: sent as `Authorization: Bearer` to that origin only.
    bearer: Option<(String, String)>,
}

/// A successful (2xx) response.
pub struct Response {
    pub status: u16,
    /// `Content-Length`.
    pub length: Option<u64>,
    /// For a 206: the first byte, and the whole length, from `Content-Range`.
    pub range: Option<(u64, Option<u64>)>,
    pub content_type: String,
    /// Where the body came from after redirects (credentials kept for further requests).
    pub url: RedactedUrl,
    pub body: Box<dyn Read + Send>,
}

/// What to ask for beyond a plain GET.
#[derive(Debug, Clone, Copy, Default)]
pub struct Get<'a> {
    /// Ask for the bytes from this offset on (`Range: bytes=N-`).
    pub from: Option<u64>,
    pub accept: Option<&'a str>,
}

const MAX_REDIRECTS: usize = 10;

impl Http {
    /// Build the client: platform roots (plus `SSL_CERT_FILE`/`SSL_CERT_DIR`), the proxy and
    /// the timeouts from the environment.
    pub fn new() -> Http {
        Self::with_timeouts(Timeouts::from_env())
    }

    pub fn with_timeouts(timeouts: Timeouts) -> Http {
        let loaded = rustls_native_certs::load_native_certs();
        for error in &loaded.errors {
            tracing::warn!("while loading TLS root certificates: {error}");
        }
        let roots: Vec<Certificate<'static>> =
            loaded.certs.iter().map(|c| Certificate::from_der(c.as_ref()).to_owned()).collect();
        let tls = TlsConfig::builder().root_certs(RootCerts::Specific(Arc::new(roots))).build();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .proxy(ureq::Proxy::try_from_env())
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .timeout_connect(Some(timeouts.connect))
            .timeout_per_read(Some(timeouts.read))
            // The per-read timeout alone lets a server trickle its headers for ever.
            .timeout_recv_response(Some(timeouts.read))
            .user_agent(concat!("codex-runtime/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Http { agent, timeouts, bearer: None }
    }

    /// Send `token` as a bearer token to the origin (`host:port`) of `base_url`, and nowhere else.
    pub fn with_bearer(mut self, base_url: &str, token: String) -> Http {
        self.bearer = origin(base_url).map(|o| (o, token));
        self
    }

    /// GET a URL and return its length (when known) and body.
    pub fn get(&self, url: &RedactedUrl) -> Result<(Option<u64>, impl Read + use<>), HttpError> {
        let response = self.request(url, Get::default())?;
        Ok((response.length, response.body))
    }

    /// GET a URL, following redirects, and return the response when it is a success.
    pub fn request(&self, url: &RedactedUrl, get: Get<'_>) -> Result<Response, HttpError> {
        let first_origin = origin(url.expose());
        let (_, first_userinfo) = split_userinfo(url.expose());
        let mut current = url.expose().to_owned();
        for _ in 0..=MAX_REDIRECTS {
            let (bare, userinfo) = split_userinfo(&current);
            let here = origin(&bare);
            // Credentials of the original URL follow a redirect only to the same origin.
            let userinfo = userinfo.or_else(|| first_userinfo.clone().filter(|_| here == first_origin));
            let mut request = self.agent.get(&bare);
            if let Some(userinfo) = &userinfo {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                let token = base64::engine::general_purpose::STANDARD.encode(format!(
                    "{}:{}",
                    percent_decode(user),
                    percent_decode(password)
                ));
                request = request.header("Authorization", format!("Basic {token}"));
            } else if let Some((bearer_origin, token)) = &self.bearer
                && here.as_ref() == Some(bearer_origin)
            {
                request = request.header("Authorization", format!("Bearer {token}"));
            }
            if let Some(from) = get.from {
                request = request.header("Range", format!("bytes={from}-"));
            }
            if let Some(accept) = get.accept {
                request = request.header("Accept", accept);
            }
            let response = request.call().map_err(|e| self.timeouts.error(e))?;
            let status = response.status().as_u16();
            let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
            match status {
                200..=299 => {
                    let length = header("content-length").and_then(|v| v.parse().ok());
                    let range =
                        if status == 206 { header("content-range").and_then(|v| content_range(&v)) } else { None };
                    let content_type = header("content-type").unwrap_or_default();
                    let body = Box::new(Body { inner: response.into_body().into_reader(), timeouts: self.timeouts });
                    return Ok(Response { status, length, range, content_type, url: RedactedUrl::new(current), body });
                }
                301 | 302 | 303 | 307 | 308 => {
                    let Some(location) = header("location") else {
                        return Err(HttpError::Redirect { message: format!("HTTP {status} without a Location") });
                    };
                    let next = resolve(&bare, &location);
                    tracing::debug!("{} redirects to {}", redact(&current), redact(&next));
                    current = next;
                }
                404 | 410 => return Err(HttpError::NotFound),
                _ => {
                    let retry_after = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok());
                    return Err(HttpError::Status { status, retry_after: retry_after.map(Duration::from_secs) });
                }
            }
        }
        Err(HttpError::Redirect { message: format!("more than {MAX_REDIRECTS} redirects") })
    }
}

/// `bytes START-END/TOTAL` (TOTAL may be `*`).
fn content_range(value: &str) -> Option<(u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (span, total) = rest.split_once('/')?;
    let start = span.split_once('-')?.0.trim().parse().ok()?;
    Some((start, total.trim().parse().ok()))
}

impl Default for Http {
    fn default() -> Self {
        Http::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_redacted() {
        let cases = [
            ("https://user:secret@example.test/simple/", "https://***@example.test/simple/"),
            ("https://token@example.test", "https://***@example.test"),
            ("https://example.test/a@b", "https://example.test/a@b"),
            ("http://127.0.0.1:8080/x", "http://127.0.0.1:8080/x"),
            ("/local/dir", "/local/dir"),
        ];
        for (url, redacted) in cases {
            assert_eq!(redact(url), redacted);
            assert_eq!(RedactedUrl::new(url).to_string(), redacted);
        }
    }

    #[test]
    fn join_handles_slashes() {
        assert_eq!(join("http://h/r/", "/a.tgz"), "http://h/r/a.tgz");
        assert_eq!(join("http://h/r", "a.tgz"), "http://h/r/a.tgz");
    }

    #[test]
    fn origins_compare_host_and_port() {
        let cases = [
            ("https://example.test/releases", Some("example.test:443")),
            ("http://u:p@127.0.0.1:8080/x", Some("127.0.0.1:8080")),
            ("http://EXAMPLE.test", Some("example.test:80")),
            ("http://[::1]:9/x", Some("[::1]:9")),
            ("/local", None),
        ];
        for (url, expected) in cases {
            assert_eq!(origin(url).as_deref(), expected, "{url}");
        }
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
            assert_eq!(resolve(page, href), expected, "{href}");
        }
        assert_eq!(resolve("http://h/dir/page?q", "b"), "http://h/dir/b");
    }

    #[test]
    fn content_ranges_parse() {
        assert_eq!(content_range("bytes 100-199/200"), Some((100, Some(200))));
        assert_eq!(content_range("bytes 5-9/*"), Some((5, None)));
        assert_eq!(content_range("items 1-2/3"), None);
    }

    #[test]
    fn userinfo_is_percent_decoded() {
        assert_eq!(percent_decode("p%40ss%3Aword"), "p@ss:word");
        assert_eq!(percent_decode("100%"), "100%");
    }
}
