//! [`Http`]: a blocking reqwest client, built on its first request, that follows redirects
//! itself so that credentials go only to their own origin.

use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::model::env::{self, Env};
use reqwest::blocking::Client;
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION, RANGE, RETRY_AFTER};
use url::Url;

use super::auth::{Credentials, Secret};
use super::error::{self, HttpError};
use super::tls::{self, CertLocations};
use super::urls::{RedactedUrl, userinfo};

/// Timeouts of the client.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timeouts {
    /// To establish a connection.
    pub connect: Duration,
    /// Between two reads: a server silent for this long is stalled. Also the longest wait for
    /// a response's head (status line and headers) from the start of the request, however
    /// steadily it trickles in.
    pub read: Duration,
}

impl Timeouts {
    pub const DEFAULT_CONNECT: Duration = Duration::from_secs(15);
    pub const DEFAULT_READ: Duration = Duration::from_secs(30);

    /// The defaults, overridden by `CODEX_RUNTIME_CONNECT_TIMEOUT_SECS` and
    /// `CODEX_RUNTIME_READ_TIMEOUT_SECS` (seconds, a fraction allowed).
    pub fn from_env() -> Timeouts {
        Timeouts::from_vars(Env::process())
    }

    /// [`Timeouts::from_env`] with the environment `env`.
    pub fn from_vars(env: &Env) -> Timeouts {
        Timeouts {
            connect: env.seconds(env::CONNECT_TIMEOUT_SECS).unwrap_or(Self::DEFAULT_CONNECT),
            read: env.seconds(env::READ_TIMEOUT_SECS).unwrap_or(Self::DEFAULT_READ),
        }
    }
}

/// A blocking HTTP client. Cheap to make: the reqwest client (its runtime thread, TLS roots
/// and proxies) is built on the first request.
pub struct Http {
    /// Shared by the clients [`Http::sharing`] makes.
    client: Arc<OnceLock<Client>>,
    timeouts: Timeouts,
    certs: CertLocations,
    /// Sent where [`Credentials::for_url`] says.
    credentials: Credentials,
}

/// A successful (2xx) response.
pub struct Response {
    pub status: u16,
    /// `Content-Length`.
    pub length: Option<u64>,
    /// For a 206: the first byte, and the whole length, from `Content-Range`.
    pub range: Option<(u64, Option<u64>)>,
    pub content_type: String,
    /// Where the body came from after redirects, with the credentials that were sent there
    /// (for further requests).
    pub url: RedactedUrl,
    /// Its read errors wrap an [`HttpError`] (see there).
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
    /// A client with the timeouts of the environment (see [`Timeouts::from_env`]).
    pub fn new() -> Http {
        Self::with_timeouts(Timeouts::from_env())
    }

    pub fn with_timeouts(timeouts: Timeouts) -> Http {
        Http {
            client: Arc::new(OnceLock::new()),
            timeouts,
            certs: CertLocations::from_env(),
            credentials: Credentials::default(),
        }
    }

    /// A client that sends `credentials` instead, on the same connections (and the same
    /// reqwest client, built once for both).
    pub fn sharing(&self, credentials: Credentials) -> Http {
        Http { client: self.client.clone(), timeouts: self.timeouts, certs: self.certs.clone(), credentials }
    }

    /// Send these credentials, each where it belongs (see [`crate::net::auth`]).
    pub fn with_credentials(mut self, credentials: Credentials) -> Http {
        self.credentials = credentials;
        self
    }

    /// Also trust the CA certificates in these PEM files (for every request: the reqwest client
    /// holds one set of roots). Takes effect when this client is the one that builds it.
    pub fn with_ca_files(mut self, files: impl IntoIterator<Item = PathBuf>) -> Http {
        for file in files {
            if !self.certs.files.contains(&file) {
                self.certs.files.push(file);
            }
        }
        self
    }

    /// The reqwest client, built on first use.
    fn client(&self) -> Result<&Client, HttpError> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        tls::install_crypto_provider();
        tracing::debug!("setting up the HTTP client");
        let client = Client::builder()
            .user_agent(concat!("codex-runtime/", env!("CARGO_PKG_VERSION")))
            // Followed in `request`, where credentials are decided.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(self.timeouts.connect)
            // The blocking client waits this long for the response head, and for each read of
            // the body: a stall, however the bytes before it came.
            .timeout(self.timeouts.read)
            .tls_certs_merge(self.certs.load().into_iter().filter_map(|der| reqwest::Certificate::from_der(&der).ok()))
            .build()
            .map_err(|e| HttpError::Client(e.into()))?;
        // Another thread may have built one meanwhile: either serves.
        Ok(self.client.get_or_init(|| client))
    }

    /// GET a URL and return its length (when known) and body.
    pub fn get(&self, url: &RedactedUrl) -> Result<(Option<u64>, impl Read + use<>), HttpError> {
        let response = self.request(url, Get::default())?;
        Ok((response.length, response.body))
    }

    /// GET a URL, following redirects, and return the response when it is a success.
    pub fn request(&self, url: &RedactedUrl, get: Get<'_>) -> Result<Response, HttpError> {
        let first = url.url().filter(|u| is_http(u)).ok_or(HttpError::InvalidUrl)?;
        let first_origin = first.origin();
        let mut current = first.clone();
        for _ in 0..=MAX_REDIRECTS {
            let here = current.origin();
            // The credentials of the original URL follow a redirect only to its own origin.
            if userinfo(&current).is_none() && here == first_origin {
                let _ = current.set_username(first.username());
                let _ = current.set_password(first.password());
            }
            let mut bare = current.clone();
            let _ = bare.set_username("");
            let _ = bare.set_password(None);
            let mut request = self.client()?.get(bare.clone());
            // No credential over plain http once a redirect has left https.
            let downgraded = first.scheme() == "https" && current.scheme() == "http";
            let sent = if let Some((user, password)) = userinfo(&current) {
                request = request.basic_auth(user, Some(password));
                Some("the user:password@ of the URL".to_owned())
            } else if let Some(credential) = self.credentials.for_url(&current).filter(|_| !downgraded) {
                tracing::debug!(
                    "sending the credential from {} to {}",
                    credential.from,
                    RedactedUrl::from(bare.clone())
                );
                request = match &credential.secret {
                    Secret::Bearer(token) => request.bearer_auth(token),
                    Secret::Basic { user, password } => request.basic_auth(user, Some(password)),
                };
                Some(credential.from.clone())
            } else {
                None
            };
            if let Some(from) = get.from {
                request = request.header(RANGE, format!("bytes={from}-"));
            }
            if let Some(accept) = get.accept {
                request = request.header(ACCEPT, accept);
            }
            let response =
                request.send().map_err(|e| error::of_request(e, self.timeouts.connect, self.timeouts.read))?;
            let status = response.status().as_u16();
            let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
            match status {
                200..=299 => {
                    let length = header(CONTENT_LENGTH).and_then(|v| v.parse().ok());
                    let range =
                        if status == 206 { header(CONTENT_RANGE).and_then(|v| content_range(&v)) } else { None };
                    let content_type = header(CONTENT_TYPE).unwrap_or_default();
                    let body = Box::new(Body { inner: response, read: self.timeouts.read });
                    return Ok(Response { status, length, range, content_type, url: current.into(), body });
                }
                301 | 302 | 303 | 307 | 308 => {
                    let Some(location) = header(LOCATION) else {
                        return Err(HttpError::Redirect { message: format!("HTTP {status} without a Location") });
                    };
                    let next = bare.join(&location).ok().filter(is_http).ok_or_else(|| HttpError::Redirect {
                        message: format!("HTTP {status} to `{}`, not an http(s) URL", RedactedUrl::new(location)),
                    })?;
                    tracing::debug!("{} redirects to {}", RedactedUrl::from(bare), RedactedUrl::from(next.clone()));
                    current = next;
                }
                404 | 410 => return Err(HttpError::NotFound),
                407 => return Err(HttpError::ProxyAuth),
                401 | 403 => {
                    let host = bare.host_str().unwrap_or_default();
                    let host = bare.port().map_or(host.to_owned(), |port| format!("{host}:{port}"));
                    return Err(HttpError::Unauthorized { status, host, sent });
                }
                _ => {
                    let retry_after = header(RETRY_AFTER).and_then(|v| v.trim().parse::<u64>().ok());
                    return Err(HttpError::Status { status, retry_after: retry_after.map(Duration::from_secs) });
                }
            }
        }
        Err(HttpError::Redirect { message: format!("more than {MAX_REDIRECTS} redirects") })
    }
}

impl Default for Http {
    fn default() -> Self {
        Http::new()
    }
}

fn is_http(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https") && url.host_str().is_some_and(|h| !h.is_empty())
}

/// A response body whose errors say what happened (see [`error::of_body_read`]).
struct Body {
    inner: reqwest::blocking::Response,
    read: Duration,
}

impl Read for Body {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf).map_err(|e| error::of_body_read(e, self.read))
    }
}

/// `bytes START-END/TOTAL` (TOTAL may be `*`).
fn content_range(value: &str) -> Option<(u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (span, total) = rest.split_once('/')?;
    let start = span.split_once('-')?.0.trim().parse().ok()?;
    Some((start, total.trim().parse().ok()))
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::net::TcpListener;
    use std::path::PathBuf;

    use base64::Engine as _;
    use codex_runtime_test_support::http::{Fault, TestServer};

    use super::*;
    use crate::net::Stage;

    fn http(read: f64) -> Http {
        Http::with_timeouts(Timeouts { connect: Duration::from_secs(5), read: Duration::from_secs_f64(read) })
    }

    /// `token` as a bearer token for the origin of `base_url` only, as the GitHub source sends it.
    fn with_bearer(http: Http, base_url: &str, token: &str) -> Http {
        use crate::net::auth::{Credential, Scope};
        let scope = Scope::Origin(crate::net::origin(base_url).unwrap());
        let from = "GITHUB_TOKEN".to_owned();
        http.with_credentials(Credentials::new([Credential { scope, secret: Secret::Bearer(token.into()), from }]))
    }

    fn basic(user_password: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(user_password))
    }

    /// The error and all its sources, as a person reads them.
    fn chain(error: &dyn std::error::Error) -> String {
        let mut text = format!("{error} / {error:?}");
        let mut source = error.source();
        while let Some(inner) = source {
            text.push_str(&format!(" / {inner} / {inner:?}"));
            source = inner.source();
        }
        text
    }

    #[test]
    fn content_ranges_parse() {
        assert_eq!(content_range("bytes 100-199/200"), Some((100, Some(200))));
        assert_eq!(content_range("bytes 5-9/*"), Some((5, None)));
        assert_eq!(content_range("items 1-2/3"), None);
    }

    #[test]
    fn making_a_client_builds_nothing_until_the_first_request() {
        let server = TestServer::start();
        server.add("/a", b"abc".to_vec());
        let http = with_bearer(Http::new(), "https://example.test/releases", "token");
        assert!(http.client.get().is_none(), "no runtime thread, TLS roots or proxies yet");
        assert!(Http::default().client.get().is_none());
        let (length, mut body) = http.get(&RedactedUrl::new(format!("{}/a", server.url()))).unwrap();
        let mut text = String::new();
        body.read_to_string(&mut text).unwrap();
        assert_eq!((length, text.as_str()), (Some(3), "abc"));
        assert!(http.client.get().is_some());
    }

    #[test]
    fn basic_credentials_go_to_their_own_origin_only_across_redirects() {
        let (home, elsewhere) = (TestServer::start(), TestServer::start());
        home.fault("/start", Fault::Redirect(format!("{}/same", home.url())));
        home.fault("/same", Fault::Redirect(format!("{}/other", elsewhere.url())));
        elsewhere.fault("/other", Fault::Redirect(format!("{}/back", home.url())));
        home.add("/back", b"ok".to_vec());
        let url = RedactedUrl::new(format!("{}/start", home.url().replace("http://", "http://alice:hun%40ter2@")));

        let response = http(5.0).request(&url, Get::default()).unwrap();
        let sent = basic("alice:hun@ter2");
        for path in ["/start", "/same", "/back"] {
            assert_eq!(home.requests_for(path)[0].header("authorization"), Some(sent.as_str()), "{path}");
        }
        assert_eq!(elsewhere.requests_for("/other")[0].header("authorization"), None, "another port");
        assert_eq!(response.url.to_string(), format!("{}/back", home.url().replace("http://", "http://***@")));
        assert!(response.url.expose().contains("alice:hun%40ter2@"), "kept for further requests");
    }

    #[test]
    fn a_location_with_credentials_uses_them_there() {
        let (home, elsewhere) = (TestServer::start(), TestServer::start());
        home.fault("/start", Fault::Redirect(format!("{}/x", elsewhere.url().replace("http://", "http://bob:pw@"))));
        elsewhere.add("/x", b"ok".to_vec());

        http(5.0).request(&RedactedUrl::new(format!("{}/start", home.url())), Get::default()).unwrap();
        assert_eq!(elsewhere.requests_for("/x")[0].header("authorization"), Some(basic("bob:pw").as_str()));
    }

    #[test]
    fn the_bearer_token_goes_to_its_origin_only_across_redirects() {
        let (github, cdn) = (TestServer::start(), TestServer::start());
        github.fault("/releases/a.tgz", Fault::Redirect(format!("{}/signed", cdn.url())));
        cdn.fault("/signed", Fault::Redirect(format!("{}/final", github.url())));
        github.add("/final", b"ok".to_vec());
        let client = with_bearer(http(5.0), &format!("{}/releases", github.url()), "gh-token");

        client.request(&RedactedUrl::new(format!("{}/releases/a.tgz", github.url())), Get::default()).unwrap();
        for path in ["/releases/a.tgz", "/final"] {
            assert_eq!(github.requests_for(path)[0].header("authorization"), Some("Bearer gh-token"), "{path}");
        }
        assert_eq!(cdn.requests_for("/signed")[0].header("authorization"), None);

        // The origin has a scheme: the token for https:// is not sent over http://.
        let other = with_bearer(http(5.0), &github.url().replace("http://", "https://"), "gh-token");
        other.request(&RedactedUrl::new(format!("{}/final", github.url())), Get::default()).unwrap();
        assert_eq!(github.requests_for("/final")[1].header("authorization"), None);
    }

    #[test]
    fn configured_credentials_go_where_they_belong_and_a_refusal_names_them() {
        use crate::net::auth::{Credential, Scope};
        let (registry, cdn) = (TestServer::start(), TestServer::start());
        let host = registry.url().trim_start_matches("http://").to_owned();
        registry.fault("/npm/a.tgz", Fault::Redirect(format!("{}/signed", cdn.url())));
        cdn.add("/signed", b"ok".to_vec());
        registry.fault("/npm/private", Fault::Status(401));
        cdn.fault("/denied", Fault::Status(403));
        let credentials = Credentials::new([Credential {
            scope: Scope::NpmKey { key: format!("//{host}/npm/"), https_only: false },
            secret: Secret::Bearer("npm-token".into()),
            from: "/home/u/.npmrc: //HOST/npm/:_authToken".into(),
        }]);
        let client = http(5.0).with_credentials(credentials);
        let get = |url: String| client.request(&RedactedUrl::new(url), Get::default());

        get(format!("{}/npm/a.tgz", registry.url())).unwrap();
        assert_eq!(registry.requests_for("/npm/a.tgz")[0].header("authorization"), Some("Bearer npm-token"));
        assert_eq!(cdn.requests_for("/signed")[0].header("authorization"), None, "not across the redirect");

        let refused = get(format!("{}/npm/private", registry.url())).err().unwrap();
        assert_eq!(
            refused.to_string(),
            "HTTP 401: the server refused the credential from /home/u/.npmrc: //HOST/npm/:_authToken"
        );
        assert!(!chain(&refused).contains("npm-token"));
        let denied = get(format!("{}/denied", cdn.url())).err().unwrap();
        let cdn_host = cdn.url().trim_start_matches("http://").to_owned();
        assert!(
            matches!(&denied, HttpError::Unauthorized { status: 403, sent: None, host } if *host == cdn_host),
            "{denied:?}"
        );
        assert_eq!(denied.to_string(), format!("HTTP 403: no credential was sent to {cdn_host}"));
    }

    #[test]
    fn redirects_that_go_nowhere_are_errors() {
        let server = TestServer::start();
        server.fault("/loop", Fault::Redirect(format!("{}/loop", server.url())));
        server.fault("/file", Fault::Redirect("file:///etc/passwd".into()));
        server.fault("/none", Fault::Reply("HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n".into()));
        let cases = [
            ("/loop", "more than 10 redirects"),
            ("/file", "HTTP 302 to `file:///etc/passwd`, not an http(s) URL"),
            ("/none", "HTTP 302 without a Location"),
        ];
        for (path, message) in cases {
            match http(5.0).request(&RedactedUrl::new(format!("{}{path}", server.url())), Get::default()) {
                Err(HttpError::Redirect { message: said }) => assert_eq!(said, message),
                other => panic!("{path}: {:?}", other.map(|r| r.status)),
            }
        }
        assert_eq!(server.hits("/loop"), 11);
    }

    #[test]
    fn failures_are_typed() {
        let server = TestServer::start();
        server.fault("/gone", Fault::Status(410));
        server.fault("/busy", Fault::TooManyRequests { retry_after: 7 });
        server.fault("/cut", Fault::Reply("HTTP/1.1 200 OK\r\nContent-Le".into()));
        let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let get = |url: String| http(5.0).request(&RedactedUrl::new(url), Get::default()).map(|r| r.status);

        assert!(matches!(get(format!("{}/missing", server.url())), Err(HttpError::NotFound)));
        assert!(matches!(get(format!("{}/gone", server.url())), Err(HttpError::NotFound)));
        server.fault("/proxy-auth", Fault::Status(407));
        let proxy = get(format!("{}/proxy-auth", server.url()));
        assert!(matches!(proxy, Err(HttpError::ProxyAuth)), "{proxy:?}");
        let busy = get(format!("{}/busy", server.url()));
        assert!(
            matches!(busy, Err(HttpError::Status { status: 429, retry_after: Some(d) }) if d == Duration::from_secs(7)),
            "{busy:?}"
        );
        assert!(matches!(get(format!("{}/cut", server.url())), Err(HttpError::Interrupted(_))));
        assert!(matches!(get(format!("http://{closed}/x")), Err(HttpError::Connect(_))));
        // A server that answers in plain HTTP what it is asked in TLS.
        let plain = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = plain.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut stream, _) = plain.accept().unwrap();
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
            let _ = stream.read(&mut [0; 1024]);
        });
        let tls = get(format!("https://{addr}/x"));
        assert!(matches!(tls, Err(HttpError::Tls(_))), "{tls:?}");
        for url in ["ftp://127.0.0.1/x", "not a url", "http://"] {
            assert!(matches!(get(url.into()), Err(HttpError::InvalidUrl)), "{url}");
        }
    }

    #[test]
    fn no_secret_reaches_an_error() {
        let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let server = TestServer::start();
        let urls = [
            format!("http://alice:hunter2@{closed}/x?token=s3cr3t"),
            format!("{}/x?token=s3cr3t", server.url().replace("http://", "https://alice:hunter2@")),
        ];
        for url in urls {
            let Err(error) = http(5.0).request(&RedactedUrl::new(url.as_str()), Get::default()) else {
                panic!("{url} answered")
            };
            let text = chain(&error);
            assert!(!text.contains("hunter2") && !text.contains("s3cr3t"), "{text}");
        }
    }

    #[test]
    fn timeouts_and_broken_bodies_are_typed() {
        let server = TestServer::start();
        server.add("/a", vec![7; 1000]);
        server.faults("/a", [Fault::Stall { after: 10, ms: 2000 }, Fault::Truncate(10)]);
        server.add("/slow-head", vec![7; 10]);
        server.fault("/slow-head", Fault::SlowHead { lines: 10, delay_ms: 100 });
        let client = http(0.3);
        // The kind of the body's read error, and the `HttpError` in it.
        let read = |response: Response| {
            let mut body = response.body;
            let error = body.read_to_end(&mut Vec::new()).unwrap_err();
            (error.kind(), error.get_ref().and_then(|e| e.downcast_ref::<HttpError>()).map(|e| e.to_string()))
        };

        let stalled = read(client.request(&RedactedUrl::new(format!("{}/a", server.url())), Get::default()).unwrap());
        let words = HttpError::TimedOut { stage: Stage::Body, limit: Duration::from_secs_f64(0.3) }.to_string();
        assert_eq!(stalled, (std::io::ErrorKind::TimedOut, Some(words)));
        let cut = read(client.request(&RedactedUrl::new(format!("{}/a", server.url())), Get::default()).unwrap());
        assert_eq!(cut, (std::io::ErrorKind::UnexpectedEof, Some("the response body broke off".into())));

        let slow = client.request(&RedactedUrl::new(format!("{}/slow-head", server.url())), Get::default());
        assert!(
            matches!(slow, Err(HttpError::TimedOut { stage: Stage::ResponseHead, .. })),
            "{:?}",
            slow.map(|r| r.status)
        );
    }

    #[test]
    fn tls_trusts_the_platform_and_the_certificates_ssl_cert_file_and_dir_and_ca_files_name() {
        let server = TestServer::start();
        server.add("/hello", b"hello".to_vec());
        let front = codex_runtime_test_support::tls::TlsFront::start(&server);
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, front.ca_pem()).unwrap();
        let url = RedactedUrl::new(format!("{}/hello", front.url()));
        let with = |certs: CertLocations| Http { certs, ..http(5.0) };

        let untrusted = with(CertLocations::default()).request(&url, Get::default());
        assert!(matches!(untrusted, Err(HttpError::Tls(_))), "{:?}", untrusted.map(|r| r.status));
        let trusted = [
            CertLocations { files: vec![ca_file.clone()], dirs: Vec::new() },
            CertLocations { files: Vec::new(), dirs: vec![PathBuf::from("/nonexistent"), dir.path().to_owned()] },
            with(CertLocations::default()).with_ca_files([dir.path().join("missing.pem"), ca_file.clone()]).certs,
        ];
        for certs in trusted {
            let client = with(certs.clone());
            let mut body = String::new();
            client.request(&url, Get::default()).unwrap().body.read_to_string(&mut body).unwrap();
            assert_eq!(body, "hello", "{certs:?}");
            let loaded = certs.load();
            assert!(loaded.iter().any(|der| der.as_ref() == front.ca_der()), "{certs:?}");
            #[cfg(target_os = "linux")]
            assert!(loaded.len() > 1, "the system's certificates are kept beside {certs:?}");
        }
    }
}
