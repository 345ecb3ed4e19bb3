//! A tiny blocking HTTP/1.1 client over a raw `TcpStream`, for readiness checks of the
//! loopback registries: one request per connection, `Connection: close`, bounded by timeouts.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A response: its status, its headers (names lowercased) and its whole body.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Send `method path` to `host_port` (`127.0.0.1:PORT`) with these headers and body, and read
/// the whole response (plain or chunked). Each step times out after 30 seconds.
pub fn http_request(
    host_port: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<Response> {
    let addr: SocketAddr =
        host_port.parse().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{host_port}: {e}")))?;
    let timeout = Duration::from_secs(30);
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host_port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "PUT" || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()?;
    read_response(BufReader::new(stream), method == "HEAD")
}

fn read_response(mut reader: impl BufRead, head_only: bool) -> io::Result<Response> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("not an HTTP status line: {line:?}")))?;
    let mut headers = Vec::new();
    // Bounded: at most 200 header lines.
    for _ in 0..200 {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let mut response = Response { status, headers, body: Vec::new() };
    if head_only {
        return Ok(response);
    }
    if response.header("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        response.body = read_chunked(&mut reader)?;
    } else if let Some(len) = response.header("content-length").and_then(|l| l.parse::<u64>().ok()) {
        reader.take(len).read_to_end(&mut response.body)?;
    } else {
        reader.read_to_end(&mut response.body)?;
    }
    Ok(response)
}

fn read_chunked(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    // Bounded by the body: every turn reads one chunk, and the stream ends.
    loop {
        let mut size = String::new();
        if reader.read_line(&mut size)? == 0 {
            return Ok(body);
        }
        let hex = size.trim().split(';').next().unwrap_or_default();
        let n = u64::from_str_radix(hex, 16)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("bad chunk size {size:?}: {e}")))?;
        if n == 0 {
            return Ok(body);
        }
        reader.take(n).read_to_end(&mut body)?;
        let mut crlf = String::new();
        reader.read_line(&mut crlf)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plain_and_chunked_bodies() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello and more";
        let r = read_response(&plain[..], false).unwrap();
        assert_eq!((r.status, r.text().as_str()), (200, "hello"));
        let chunked =
            b"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        let r = read_response(&chunked[..], false).unwrap();
        assert_eq!((r.status, r.text().as_str()), (401, "abcde"));
        assert_eq!(r.header("Transfer-Encoding"), Some("chunked"));
    }

    #[test]
    fn talks_to_the_loopback_test_server() {
        let server = crate::http::TestServer::start();
        server.add("/x", b"payload".to_vec());
        let host_port = server.url().trim_start_matches("http://").to_owned();
        let r = http_request(&host_port, "GET", "/x", &[("Accept", "*/*")], b"").unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"payload"[..]));
        assert_eq!(http_request(&host_port, "GET", "/missing", &[], b"").unwrap().status, 404);
    }
}
