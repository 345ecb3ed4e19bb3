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
//! - **Credentials** ([`auth`]): the `user:password@` of a URL goes only to that URL's origin
//!   (scheme, host and port), also when a redirect comes back to it; every other credential
//!   (npm's per-registry keys, a `.netrc` machine, the GitHub token) is matched against each
//!   URL a request reaches by [`Credentials::for_url`], so a redirect to another origin carries
//!   none that is not its own, and a redirect from https to http carries none at all. A 401 or
//!   403 says which credential was sent, by where it was configured ([`HttpError::Unauthorized`]).
//!   No secret reaches a message: [`RedactedUrl`] shows them as `***`, and the errors carry no URL.
//! - **Redirects** (at most 10) are followed here, not by reqwest, so that the rule above holds.
//! - **Timeouts** ([`Timeouts`]): one to connect, one for the response head and for each
//!   silence in the body, so a stalled server is given up on and a slow but steady one is not.
//! - **Errors** ([`HttpError`]) tell a TLS failure from a failed connection, a timeout, an HTTP
//!   status and a body that broke off; which of them are retried is decided in
//!   [`crate::fetch::download`].

pub mod auth;
mod client;
mod error;
pub mod netrc;
mod tls;
mod urls;

pub use auth::{Credential, Credentials, Scope, Secret};
pub use client::{Get, Http, Response, Timeouts};
pub use error::{Cause, HttpError, Stage};
pub use urls::{RedactedUrl, join, origin, redact, resolve_href, with_userinfo_of};
