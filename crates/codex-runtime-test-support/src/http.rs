//! A loopback HTTP/1.1 server for tests: serves files from memory or disk, records every
//! request, and misbehaves on demand.

use std::collections::HashMap;
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
}

/// How a path misbehaves.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer with this status and no body.
    Status(u16),
    /// Announce the full length but close after this many bytes.
    Truncate(u64),
}

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
}

#[derive(Default)]
struct State {
    routes: HashMap<String, Body>,
    faults: HashMap<String, Fault>,
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
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let state = state.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let state = state.clone();
                    std::thread::spawn(move || {
                        let _ = serve(stream, &state);
                    });
                }
            })
        };
        TestServer { addr, state, stop, thread: Some(thread) }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn add(&self, path: &str, bytes: Vec<u8>) {
        self.state.lock().unwrap().routes.insert(path.to_owned(), Body::Bytes(Arc::new(bytes)));
    }

    pub fn add_file(&self, path: &str, file: PathBuf) {
        self.state.lock().unwrap().routes.insert(path.to_owned(), Body::File(file));
    }

    pub fn fault(&self, path: &str, fault: Fault) {
        self.state.lock().unwrap().faults.insert(path.to_owned(), fault);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    /// How many requests asked for `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.path == path).count()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
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
    let (body, fault) = {
        let mut s = state.lock().unwrap();
        s.requests.push(Request { method: method.clone(), path: path.clone(), headers });
        (s.routes.get(&path).cloned(), s.faults.get(&path).cloned())
    };
    let mut out = stream;
    if let Some(Fault::Status(status)) = fault {
        write!(out, "HTTP/1.1 {status} Fault\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
        return Ok(());
    }
    let Some(body) = body else {
        write!(out, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
        return Ok(());
    };
    let (len, mut reader): (u64, Box<dyn Read>) = match body {
        Body::Bytes(b) => (b.len() as u64, Box::new(std::io::Cursor::new(b.as_ref().clone()))),
        Body::File(p) => {
            let f = std::fs::File::open(p)?;
            (f.metadata()?.len(), Box::new(f))
        }
    };
    write!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
    )?;
    if method == "HEAD" {
        return Ok(());
    }
    match fault {
        Some(Fault::Truncate(n)) => {
            std::io::copy(&mut reader.take(n), &mut out)?;
            out.flush()?;
            out.shutdown(Shutdown::Both)?;
        }
        _ => {
            std::io::copy(&mut reader, &mut out)?;
        }
    }
    Ok(())
}
