//! An HTTPS front for a [`TestServer`]: TLS on 127.0.0.1 with a certificate from a CA made for
//! the test (trusted by nothing until a test names its PEM), each request relayed in the clear
//! to the server behind it, which answers and closes.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::http::{TestServer, accept, stop};

/// The largest request head relayed.
const MAX_HEAD: usize = 64 * 1024;

/// HTTPS in front of a [`TestServer`]; it stops when dropped.
pub struct TlsFront {
    addr: std::net::SocketAddr,
    ca: rcgen::Certificate,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TlsFront {
    /// Serve `backend` over TLS, as `127.0.0.1`, with a certificate signed by a new CA.
    pub fn start(backend: &TestServer) -> TlsFront {
        let backend = backend.url().trim_start_matches("http://").to_owned();
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.distinguished_name.push(rcgen::DnType::CommonName, "codex-runtime test CA");
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let leaf =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap().signed_by(&key, &issuer).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        let config = Arc::new(config);
        let (addr, stop, thread) = accept(move |stream| relay(stream, config.clone(), &backend));
        TlsFront { addr, ca: ca_cert, stop, thread: Some(thread) }
    }

    /// `https://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The CA certificate the front's certificate is signed by, as PEM.
    pub fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    /// The same, as DER.
    pub fn ca_der(&self) -> &[u8] {
        self.ca.der()
    }
}

/// One connection: the TLS handshake, one request head relayed, the answer relayed back.
fn relay(stream: TcpStream, config: Arc<rustls::ServerConfig>, backend: &str) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let connection = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(connection, stream);
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD || tls.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let mut origin = TcpStream::connect(backend)?;
    origin.set_read_timeout(Some(Duration::from_secs(30)))?;
    origin.write_all(&head)?;
    std::io::copy(&mut origin, &mut tls)?;
    tls.conn.send_close_notify();
    tls.flush()
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        stop(self.addr, &self.stop, self.thread.take());
    }
}
