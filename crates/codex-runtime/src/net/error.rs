//! What can go wrong with a request, in variants a caller matches on.

use std::error::Error as StdError;
use std::io;
use std::time::Duration;

/// The cause of a transport failure: the HTTP stack's error, without the URL (which the caller
/// says, redacted).
pub type Cause = Box<dyn StdError + Send + Sync>;

/// Why a request failed. Body reads fail with an [`io::Error`] that wraps one of these
/// ([`HttpError::TimedOut`] or [`HttpError::Body`]): `error.get_ref()` and `downcast_ref` find it.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// 404 or 410.
    #[error("not found (HTTP 404)")]
    NotFound,
    /// 401 or 403: the server wants credentials, or refused the ones sent.
    #[error("HTTP {status}: {}", match sent {
        Some(from) => format!("the server refused the credential from {from}"),
        None => format!("no credential was sent to {host}"),
    })]
    Unauthorized {
        status: u16,
        /// `host[:port]` of the URL that answered.
        host: String,
        /// Where the credential sent was configured (never the secret); `None` when none was.
        sent: Option<String>,
    },
    /// 407: the proxy wants credentials, or refused the ones in its URL.
    #[error(
        "HTTP 407: the proxy wants credentials, or refused the ones given: put USER:PASSWORD@ in \
         the proxy's URL (HTTPS_PROXY for https, HTTP_PROXY for http, or ALL_PROXY)"
    )]
    ProxyAuth,
    /// Any other status that is neither a success nor a redirect.
    #[error("HTTP {status}")]
    Status { status: u16, retry_after: Option<Duration> },
    /// A redirect without a usable `Location`, or too many.
    #[error("{message}")]
    Redirect { message: String },
    /// Not an `http(s)://` URL with a host.
    #[error("not an http(s) URL with a host")]
    InvalidUrl,
    /// The TLS handshake failed: an untrusted or invalid certificate, or a server that does not
    /// speak TLS.
    #[error("TLS handshake failed")]
    Tls(#[source] Cause),
    /// No connection: the host's name does not resolve, or the host (or the proxy) refused or
    /// cannot be reached.
    #[error("cannot connect")]
    Connect(#[source] Cause),
    /// A timeout, said in words with the setting that governs it.
    #[error("{}", stage.explain(*limit))]
    TimedOut { stage: Stage, limit: Duration },
    /// Connected, but the connection broke (reset, closed) before a response head arrived, or
    /// what arrived was not HTTP.
    #[error("the connection broke off before a response arrived")]
    Interrupted(#[source] Cause),
    /// The response body broke off: reset, closed before its `Content-Length`, or malformed.
    #[error("the response body broke off")]
    Body(#[source] Cause),
    /// The client could not be set up (its TLS configuration).
    #[error("cannot set up the HTTP client")]
    Client(#[source] Cause),
}

/// Which timeout fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Connecting ([`crate::net::Timeouts::connect`]).
    Connect,
    /// Waiting for the response head ([`crate::net::Timeouts::read`]).
    ResponseHead,
    /// Waiting for the next bytes of the body ([`crate::net::Timeouts::read`]).
    Body,
}

impl Stage {
    fn explain(self, limit: Duration) -> String {
        let secs = format!("{} s", limit.as_secs_f64());
        match self {
            Stage::Connect => format!("no connection within {secs} (CODEX_RUNTIME_CONNECT_TIMEOUT_SECS)"),
            Stage::ResponseHead => {
                format!("the response headers took more than {secs} to arrive (CODEX_RUNTIME_READ_TIMEOUT_SECS)")
            }
            Stage::Body => format!("no data for {secs} (CODEX_RUNTIME_READ_TIMEOUT_SECS)"),
        }
    }
}

/// A failed `send`, sorted. `connect` and `read` are the limits a timeout is reported with.
pub(super) fn of_request(error: reqwest::Error, connect: Duration, read: Duration) -> HttpError {
    let error = error.without_url();
    if error.is_timeout() {
        return match error.is_connect() {
            true => HttpError::TimedOut { stage: Stage::Connect, limit: connect },
            false => HttpError::TimedOut { stage: Stage::ResponseHead, limit: read },
        };
    }
    if chain(&error).iter().any(|e| e.is::<rustls::Error>()) {
        HttpError::Tls(error.into())
    } else if error.is_connect() {
        HttpError::Connect(error.into())
    } else if error.is_builder() {
        HttpError::InvalidUrl
    } else {
        HttpError::Interrupted(error.into())
    }
}

/// A failed body read, as an `io::Error` that wraps an [`HttpError`]: its kind is
/// [`io::ErrorKind::TimedOut`] for a stall, else the kind of the I/O error underneath
/// (`UnexpectedEof` for a body cut short, `ConnectionReset`, ...).
pub(super) fn of_body_read(error: io::Error, read: Duration) -> io::Error {
    if !error.get_ref().is_some_and(|inner| inner.is::<reqwest::Error>()) {
        return error;
    }
    let kind = error.kind();
    let error = match error.into_inner().map(|inner| inner.downcast::<reqwest::Error>()) {
        Some(Ok(error)) => (*error).without_url(),
        Some(Err(other)) => return io::Error::new(kind, other),
        None => return io::Error::from(kind),
    };
    if error.is_timeout() {
        return io::Error::new(io::ErrorKind::TimedOut, HttpError::TimedOut { stage: Stage::Body, limit: read });
    }
    let kind = chain(&error)
        .iter()
        .filter_map(|e| e.downcast_ref::<io::Error>())
        .map(io::Error::kind)
        .find(|kind| *kind != io::ErrorKind::Other)
        .unwrap_or(kind);
    io::Error::new(kind, HttpError::Body(error.into()))
}

/// `error` and its sources, including the errors `io::Error`s wrap (an `io::Error`'s
/// `source()` skips the error it wraps, and goes on with that error's source).
fn chain<'a>(error: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut out = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        out.push(e);
        next = match e.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => e.source(),
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_looks_inside_io_errors() {
        let tls = io::Error::new(io::ErrorKind::InvalidData, rustls::Error::DecryptError);
        let outer = HttpError::Connect(tls.into());
        assert!(chain(&outer).iter().any(|e| e.is::<rustls::Error>()));
        assert!(!chain(&HttpError::Connect("refused".into())).iter().any(|e| e.is::<rustls::Error>()));
    }

    #[test]
    fn timeouts_say_the_time_and_the_setting() {
        let cases = [
            (Stage::Connect, 15.0, "no connection within 15 s (CODEX_RUNTIME_CONNECT_TIMEOUT_SECS)"),
            (
                Stage::ResponseHead,
                1.0,
                "the response headers took more than 1 s to arrive (CODEX_RUNTIME_READ_TIMEOUT_SECS)",
            ),
            (Stage::Body, 0.3, "no data for 0.3 s (CODEX_RUNTIME_READ_TIMEOUT_SECS)"),
        ];
        for (stage, secs, words) in cases {
            assert_eq!(HttpError::TimedOut { stage, limit: Duration::from_secs_f64(secs) }.to_string(), words);
        }
    }
}
