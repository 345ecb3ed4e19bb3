//! A loopback HTTP/1.1 server for tests: serves files from memory or disk (honouring
//! `Range: bytes=N-`), records every request, and misbehaves on demand. Also a tiny forwarding
//! proxy that records what passed through it.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What a path answers.
#[derive(Debug, Clone)]
pub enum Body {
    Bytes(Arc<Vec<u8>>),
    File(PathBuf),
    /// Bytes with this `Content-Type` (an index page).
    Typed(Arc<Vec<u8>>, String),
}

/// How a path misbehaves.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer with this status and no body.
    Status(u16),
    /// Announce the full length but close the connection after this many body bytes.
    Truncate(u64),
    /// `429 Too Many Requests` with `Retry-After: SECS`.
    TooManyRequests { retry_after: u64 },
    /// Send this many body bytes, then go silent for `ms` milliseconds, then close.
    Stall { after: u64, ms: u64 },
    /// Answer a `Range` request with `200` and the whole body.
    IgnoreRange,
    /// Answer a `Range` request with `206` and the asked-for bytes, but no `Content-Range`.
    NoContentRange,
    /// Send the body `chunk` bytes at a time, `delay_ms` apart.
    Trickle { chunk: usize, delay_ms: u64 },
    /// Redirect (302) to this URL.
    Redirect(String),
    /// Send `good` body bytes, then `bad` more with the first of them flipped, then close.
    Garble { good: u64, bad: u64 },
    /// Send this many body bytes, then reset the connection (a TCP RST, as a crashed proxy
    /// sends) instead of closing it.
    Reset { after: u64 },
    /// Send this response verbatim (head and body), then close.
    Reply(String),
    /// Send the status line, then `lines` extra header lines `delay_ms` apart, then the rest.
    SlowHead { lines: usize, delay_ms: u64 },
}

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The request target as sent: a path, or an absolute URL through a proxy.
    pub path: String,
    /// Header names lowercased.
    pub headers: HashMap<String, String>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }
}

#[derive(Default)]
struct State {
    routes: HashMap<String, Body>,
    /// Applied to every request of a path.
    faults: HashMap<String, Fault>,
    /// Applied one per request, in order, before the persistent fault.
    queued: HashMap<String, VecDeque<Fault>>,
    requests: Vec<Request>,
}

/// A server on 127.0.0.1; it stops when dropped.
pub struct TestServer {
    addr: std::net::SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn start() -> TestServer {
        Self::spawn(serve)
    }

    /// A forwarding HTTP proxy on 127.0.0.1: relays absolute-form requests and tunnels
    /// `CONNECT`s to loopback origins, recording each. Point `HTTP_PROXY` at [`TestServer::url`].
    pub fn proxy() -> TestServer {
        Self::spawn(relay)
    }

    fn spawn(handler: fn(TcpStream, &Mutex<State>) -> std::io::Result<()>) -> TestServer {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let (addr, stop, thread) = accept(move |stream| handler(stream, &shared));
        TestServer { addr, state, stop, thread: Some(thread) }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn add(&self, path: &str, bytes: Vec<u8>) {
        self.state.lock().unwrap().routes.insert(path.to_owned(), Body::Bytes(Arc::new(bytes)));
    }

    /// Serve bytes with a `Content-Type`.
    pub fn add_typed(&self, path: &str, content_type: &str, bytes: Vec<u8>) {
        self.state
            .lock()
            .unwrap()
            .routes
            .insert(path.to_owned(), Body::Typed(Arc::new(bytes), content_type.to_owned()));
    }

    pub fn add_file(&self, path: &str, file: PathBuf) {
        self.state.lock().unwrap().routes.insert(path.to_owned(), Body::File(file));
    }

    /// Misbehave on every request of `path`.
    pub fn fault(&self, path: &str, fault: Fault) {
        self.state.lock().unwrap().faults.insert(path.to_owned(), fault);
    }

    /// Misbehave once per request of `path`, in order; then behave (or apply [`Self::fault`]).
    pub fn faults(&self, path: &str, faults: impl IntoIterator<Item = Fault>) {
        self.state.lock().unwrap().queued.entry(path.to_owned()).or_default().extend(faults);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The requests for `path`, in order.
    pub fn requests_for(&self, path: &str) -> Vec<Request> {
        self.requests().into_iter().filter(|r| r.path == path).collect()
    }

    /// How many requests asked for `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.requests_for(path).len()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        stop(self.addr, &self.stop, self.thread.take());
    }
}

/// Listen on 127.0.0.1 and hand each connection to `handle` on a thread of its own, until
/// [`stop`].
pub(crate) fn accept(
    handle: impl Fn(TcpStream) -> std::io::Result<()> + Send + Sync + 'static,
) -> (std::net::SocketAddr, Arc<AtomicBool>, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let addr = listener.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let handle = Arc::new(handle);
    let thread = std::thread::spawn(move || {
        for stream in listener.incoming() {
            if stopped.load(Ordering::SeqCst) {
                break;
            }
            let Ok(stream) = stream else { continue };
            let handle = handle.clone();
            std::thread::spawn(move || {
                let _ = handle(stream);
            });
        }
    });
    (addr, stop, thread)
}

/// End an [`accept`] loop: set its flag, wake it, and wait for it.
pub(crate) fn stop(addr: std::net::SocketAddr, flag: &AtomicBool, thread: Option<JoinHandle<()>>) {
    flag.store(true, Ordering::SeqCst);
    let _ = TcpStream::connect_timeout(&addr, Duration::from_secs(1));
    if let Some(t) = thread {
        let _ = t.join();
    }
}

/// Read a request line and headers.
fn read_head(reader: &mut impl BufRead) -> std::io::Result<(String, String, HashMap<String, String>)> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = HashMap::new();
    for _ in 0..100 {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    Ok((method, path, headers))
}

fn serve(stream: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let (method, path, headers) = read_head(&mut reader)?;
    let range_from = headers
        .get("range")
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse::<u64>().ok());
    let (body, fault) = {
        let mut s = state.lock().unwrap();
        s.requests.push(Request { method: method.clone(), path: path.clone(), headers });
        let queued = s.queued.get_mut(&path).and_then(VecDeque::pop_front);
        (s.routes.get(&path).cloned(), queued.or_else(|| s.faults.get(&path).cloned()))
    };
    let mut out = stream;
    match &fault {
        Some(Fault::Status(status)) => {
            write!(out, "HTTP/1.1 {status} Fault\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
            return Ok(());
        }
        Some(Fault::TooManyRequests { retry_after }) => {
            write!(
                out,
                "HTTP/1.1 429 Too Many Requests\r\nRetry-After: {retry_after}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )?;
            return Ok(());
        }
        Some(Fault::Redirect(to)) => {
            write!(out, "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
            return Ok(());
        }
        Some(Fault::Reply(reply)) => {
            out.write_all(reply.as_bytes())?;
            out.flush()?;
            out.shutdown(Shutdown::Both)?;
            return Ok(());
        }
        _ => {}
    }
    let Some(body) = body else {
        write!(out, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
        return Ok(());
    };
    let (len, content_type, mut reader): (u64, String, Box<dyn Read>) = match body {
        Body::Bytes(b) => {
            (b.len() as u64, "application/octet-stream".into(), Box::new(std::io::Cursor::new(b.to_vec())))
        }
        Body::Typed(b, t) => (b.len() as u64, t, Box::new(std::io::Cursor::new(b.to_vec()))),
        Body::File(p) => {
            let f = std::fs::File::open(p)?;
            (f.metadata()?.len(), "application/octet-stream".into(), Box::new(f))
        }
    };
    let partial = range_from.filter(|&from| fault != Some(Fault::IgnoreRange) && from <= len);
    let head = match partial {
        Some(from) => {
            std::io::copy(&mut (&mut reader).take(from), &mut std::io::sink())?;
            let end = len.saturating_sub(1);
            let content_range = if fault == Some(Fault::NoContentRange) {
                String::new()
            } else {
                format!("Content-Range: bytes {from}-{end}/{len}\r\n")
            };
            format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\n{content_range}Content-Type: {content_type}\r\nConnection: close\r\n\r\n",
                len - from
            )
        }
        None => format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nContent-Type: {content_type}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n"
        ),
    };
    if let Some(Fault::SlowHead { lines, delay_ms }) = fault {
        let (status_line, rest) = head.split_at(head.find("\r\n").map_or(0, |i| i + 2));
        out.write_all(status_line.as_bytes())?;
        for i in 0..lines {
            write!(out, "X-Slow-{i}: 1\r\n")?;
            out.flush()?;
            std::thread::sleep(Duration::from_millis(delay_ms));
        }
        out.write_all(rest.as_bytes())?;
    } else {
        out.write_all(head.as_bytes())?;
    }
    if method == "HEAD" {
        return Ok(());
    }
    match fault {
        Some(Fault::Truncate(n)) => {
            std::io::copy(&mut reader.take(n), &mut out)?;
            out.flush()?;
            out.shutdown(Shutdown::Both)?;
        }
        Some(Fault::Garble { good, bad }) => {
            std::io::copy(&mut (&mut reader).take(good), &mut out)?;
            let mut garbled = Vec::new();
            (&mut reader).take(bad).read_to_end(&mut garbled)?;
            if let Some(first) = garbled.first_mut() {
                *first ^= 0x01;
            }
            out.write_all(&garbled)?;
            out.flush()?;
            out.shutdown(Shutdown::Both)?;
        }
        Some(Fault::Reset { after }) => {
            std::io::copy(&mut (&mut reader).take(after), &mut out)?;
            out.flush()?;
            // Time for the client to read them: what it has not read when the reset arrives
            // may be lost.
            std::thread::sleep(Duration::from_millis(100));
            // With a zero linger, closing the socket (both of its handles go at the end of this
            // request) sends a reset instead of the orderly end of the stream.
            rustix::net::sockopt::set_socket_linger(&out, Some(Duration::ZERO))?;
        }
        Some(Fault::Stall { after, ms }) => {
            std::io::copy(&mut (&mut reader).take(after), &mut out)?;
            out.flush()?;
            std::thread::sleep(Duration::from_millis(ms));
            out.shutdown(Shutdown::Both)?;
        }
        Some(Fault::Trickle { chunk, delay_ms }) => {
            let mut buf = vec![0u8; chunk.max(1)];
            // Bounded by the body's length.
            loop {
                let n = reader.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                out.write_all(&buf[..n])?;
                out.flush()?;
                std::thread::sleep(Duration::from_millis(delay_ms));
            }
        }
        _ => {
            std::io::copy(&mut reader, &mut out)?;
        }
    }
    Ok(())
}

/// Relay one absolute-form request (`GET http://host:port/path`) to its origin, or tunnel a
/// `CONNECT`.
fn relay(stream: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let (method, target, headers) = read_head(&mut reader)?;
    state.lock().unwrap().requests.push(Request {
        method: method.clone(),
        path: target.clone(),
        headers: headers.clone(),
    });
    let mut out = stream;
    if method == "CONNECT" {
        // A tunnel: `CONNECT 127.0.0.1:PORT`, then bytes both ways until either side closes.
        if !target.starts_with("127.0.0.1:") {
            write!(out, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")?;
            return Ok(());
        }
        let origin = TcpStream::connect(&target)?;
        write!(out, "HTTP/1.1 200 Connection Established\r\n\r\n")?;
        let (mut up_from, mut up_to) = (reader, origin.try_clone()?);
        let upstream = std::thread::spawn(move || {
            let _ = std::io::copy(&mut up_from, &mut up_to);
            let _ = up_to.shutdown(Shutdown::Write);
        });
        let _ = std::io::copy(&mut &origin, &mut out);
        let _ = out.shutdown(Shutdown::Both);
        let _ = upstream.join();
        return Ok(());
    }
    let Some(rest) = target.strip_prefix("http://") else {
        write!(out, "HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
        return Ok(());
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if !authority.starts_with("127.0.0.1:") {
        write!(out, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
        return Ok(());
    }
    let mut origin = TcpStream::connect(authority)?;
    write!(origin, "{method} {} HTTP/1.1\r\n", if path.is_empty() { "/" } else { path })?;
    for (k, v) in &headers {
        if !k.starts_with("proxy-") && k != "connection" {
            write!(origin, "{k}: {v}\r\n")?;
        }
    }
    write!(origin, "Connection: close\r\n\r\n")?;
    std::io::copy(&mut origin, &mut out)?;
    Ok(())
}
