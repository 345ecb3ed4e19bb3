//! The HTTP client, built only when something must be fetched.
//!
//! TLS roots come from the platform store, honouring `SSL_CERT_FILE` and `SSL_CERT_DIR` (what a
//! corporate proxy's users set); the proxy comes from `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`
//! with `NO_PROXY` exceptions.

use std::fmt;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

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
    let Some(scheme_end) = url.find("://") else { return url.to_owned() };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}***@{}", &url[..scheme_end + 3], &rest[at + 1..]),
        None => url.to_owned(),
    }
}

/// Join a base URL and a path without doubling or dropping the slash.
pub fn join(base: &str, path: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), path.trim_start_matches('/'))
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("not found (HTTP 404)")]
    NotFound,
    #[error("HTTP {status}")]
    Status { status: u16 },
    #[error("{0}")]
    Transport(#[source] ureq::Error),
}

/// A blocking HTTP client.
pub struct Http {
    agent: ureq::Agent,
}

impl Http {
    /// Build the client: platform roots (plus `SSL_CERT_FILE`/`SSL_CERT_DIR`) and the proxy
    /// from the environment.
    pub fn new() -> Http {
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
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .user_agent(concat!("codex-runtime/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Http { agent }
    }

    /// GET a URL and return its length (when known) and body.
    pub fn get(&self, url: &RedactedUrl) -> Result<(Option<u64>, impl Read + use<>), HttpError> {
        let response = self.agent.get(url.expose()).call().map_err(HttpError::Transport)?;
        match response.status().as_u16() {
            200 => {}
            404 | 410 => return Err(HttpError::NotFound),
            status => return Err(HttpError::Status { status }),
        }
        let length =
            response.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        Ok((length, response.into_body().into_reader()))
    }
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
}
