//! The HTTP client and the URLs it fetches.
//!
//! [`Http`] wraps a blocking reqwest client that is built on the first request, not before:
//! making an `Http` reads a few environment variables and nothing else, so a command answered
//! from the cache starts no runtime thread and loads no certificates.
//!
//! - **TLS** is rustls (with ring), verifying against the platform's roots plus the
//!   certificates in the file `SSL_CERT_FILE` names and in every file of the directories
//!   `SSL_CERT_DIR` lists (`:`-separated): what the users of a proxy with its own CA set.
//! - **Proxies** come from the environment as reqwest reads it: `HTTP_PROXY` for `http://` URLs,
//!   `HTTPS_PROXY` for `https://` URLs, `ALL_PROXY` for either when its own is not set (each
//!   also spelt in lower case, the upper case first); `NO_PROXY` lists what is reached directly
//!   (comma-separated hosts, domains with their subdomains, IP addresses and networks, or `*`).
//!   None of them is used when `REQUEST_METHOD` is set (a CGI program, whose `HTTP_PROXY` may
//!   come from a request header).
//! - **Redirects** (at most 10) are followed here, not by reqwest, so that credentials go only
//!   where they belong: the `user:password@` of a URL only to that URL's origin (scheme, host
//!   and port), also when a redirect comes back to it, and a GitHub token only to the GitHub
//!   host's origin ([`Http::with_bearer`]). No secret reaches a message: [`RedactedUrl`] shows
//!   them as `***`, and the errors carry no URL.
//! - **Timeouts** ([`Timeouts`]): one to connect, one for the response head and for each
//!   silence in the body, so a stalled server is given up on and a slow but steady one is not.
//! - **Errors** ([`HttpError`]) tell a TLS failure from a failed connection, a timeout, an HTTP
//!   status and a body that broke off; which of them are retried is decided in
//!   [`crate::fetch::download`].

mod client;
mod error;
mod tls;
mod urls;

pub use client::{Get, Http, Response, Timeouts};
pub use error::{Cause, HttpError, Stage};
pub use urls::{RedactedUrl, join, origin, redact, resolve_href};
