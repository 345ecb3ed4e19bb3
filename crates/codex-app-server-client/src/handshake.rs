//! Launching `codex app-server` and running the `initialize` handshake over its stdio.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::metadata::Metadata;
use crate::verdict::{self, Problem, Warning};
use crate::{CheckOptions, Error, Report};

/// The id of our `initialize` request.
const REQUEST_ID: i64 = 1;
/// The longest stdout line accepted from a server; a real `initialize` answer is a few hundred
/// bytes.
pub(crate) const MAX_LINE_BYTES: usize = 1024 * 1024;
/// How much of the server's stderr is kept for messages.
const STDERR_TAIL_BYTES: usize = 4096;
/// How many characters of an offending stdout line a message quotes.
const QUOTE_CHARS: usize = 200;
/// How long to wait for the stderr reader to see the end of a reaped server's stderr.
const STDERR_DRAIN: Duration = Duration::from_millis(500);

pub(crate) fn check(options: &CheckOptions) -> Result<Report, Error> {
    let started = Instant::now();
    // The temporary home lives until the server is reaped, and is removed then.
    let (codex_home, temp_home) = match &options.codex_home {
        Some(home) => (home.clone(), None),
        None => {
            let temp = tempfile::Builder::new()
                .prefix("codex-runtime-check-")
                .tempdir()
                .map_err(|source| Error::TempHome { source })?;
            (temp.path().to_path_buf(), Some(temp))
        }
    };

    let mut command = Command::new(&options.codex_bin);
    command.arg("app-server");
    if options.listen_stdio {
        command.args(["--listen", "stdio://"]);
    }
    command.env("CODEX_HOME", &codex_home).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    // Its own process group, so that killing it also ends whatever it started.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    if let Some(path) = path_with(options.path_dir.as_deref())? {
        command.env("PATH", path);
    }
    let child = command.spawn().map_err(|source| Error::Spawn { program: options.codex_bin.clone(), source })?;
    let mut server = Server::new(child)?;

    let outcome = server.initialize(options.timeout);
    let graceful = matches!(outcome, Outcome::Answered(_) | Outcome::ErrorResponse { .. } | Outcome::Malformed { .. });
    if matches!(outcome, Outcome::Answered(_)) {
        server.send(&json!({"method": "initialized"}));
    }
    server.close_stdin();
    let exited =
        if graceful || matches!(outcome, Outcome::Closed) { server.wait_for_exit(options.grace) } else { None };
    let status = match exited {
        Some(status) => Ending::Exited(status),
        None => {
            server.kill()?;
            Ending::Killed
        }
    };
    let stderr = server.stderr_tail();
    drop(temp_home);

    let mut warnings = Vec::new();
    let (metadata, problems) = match outcome {
        Outcome::Answered(metadata) => {
            if let Ending::Killed = status {
                warnings.push(Warning::IgnoredStdinClose { grace: options.grace });
            }
            let problems = verdict::verdict(&metadata, &options.expected);
            (metadata, problems)
        }
        Outcome::ErrorResponse { code, message } => {
            (Metadata::default(), vec![Problem::ErrorResponse { code, message, stderr }])
        }
        Outcome::Malformed { line } => (Metadata::default(), vec![Problem::MalformedResponse { line }]),
        Outcome::NotJson { line } => (Metadata::default(), vec![Problem::NotJson { line, stderr }]),
        Outcome::TooLong { start } => {
            (Metadata::default(), vec![Problem::LineTooLong { limit: MAX_LINE_BYTES, start, stderr }])
        }
        Outcome::Closed => {
            (Metadata::default(), vec![Problem::EarlyExit { status: status.describe(options.grace), stderr }])
        }
        Outcome::ReadFailed(error) => {
            (Metadata::default(), vec![Problem::ReadFailed { error: error.to_string(), stderr }])
        }
        Outcome::Timeout => (Metadata::default(), vec![Problem::Timeout { after: options.timeout, stderr }]),
    };

    Ok(Report {
        ok: problems.is_empty(),
        version: metadata.version().map(str::to_owned),
        expected: options.expected.version.describe(),
        user_agent: metadata.user_agent,
        platform_family: metadata.platform_family,
        platform_os: metadata.platform_os,
        codex_home: metadata.codex_home,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        problems,
        warnings,
    })
}

/// `PATH` with `dir` first, or `None` when there is no `dir` (the inherited `PATH` is kept).
pub(crate) fn path_with(dir: Option<&Path>) -> Result<Option<OsString>, Error> {
    let Some(dir) = dir else {
        return Ok(None);
    };
    let inherited = std::env::var_os("PATH").unwrap_or_default();
    let paths = std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&inherited));
    std::env::join_paths(paths).map(Some).map_err(|source| Error::Path { dir: dir.to_path_buf(), source })
}

/// How the exchange before shutdown ended.
enum Outcome {
    /// The server answered with a result.
    Answered(Metadata),
    ErrorResponse {
        code: Option<i64>,
        message: String,
    },
    Malformed {
        line: String,
    },
    NotJson {
        line: String,
    },
    TooLong {
        start: String,
    },
    /// Stdout reached its end before the answer.
    Closed,
    ReadFailed(io::Error),
    Timeout,
}

/// How the server process ended.
enum Ending {
    Exited(ExitStatus),
    /// It did not exit within the grace period and was killed.
    Killed,
}

impl Ending {
    fn describe(&self, grace: Duration) -> String {
        match self {
            Self::Exited(status) => status.to_string(),
            Self::Killed => {
                format!("it closed its stdout but was still running {}s later, so it was killed", grace.as_secs_f64())
            }
        }
    }
}

/// What the stdout reader thread reports.
enum StdoutEvent {
    Line(Vec<u8>),
    TooLong(Vec<u8>),
    End,
    Failed(io::Error),
}

/// A running server: its stdin, the channel of its stdout lines, and its stderr tail. Dropping
/// it kills and reaps the process if that has not happened yet.
struct Server {
    child: Child,
    reaped: bool,
    stdin: Option<ChildStdin>,
    lines: Receiver<StdoutEvent>,
    stderr: Arc<Mutex<VecDeque<u8>>>,
    stderr_done: Receiver<()>,
}

impl Server {
    fn new(mut child: Child) -> Result<Self, Error> {
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr_pipe = child.stderr.take().expect("stderr is piped");
        let stderr = Arc::new(Mutex::new(VecDeque::with_capacity(STDERR_TAIL_BYTES)));
        match spawn_readers(stdout, stderr_pipe, &stderr) {
            Ok((lines, stderr_done)) => Ok(Self { child, reaped: false, stdin, lines, stderr, stderr_done }),
            Err(error) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(error)
            }
        }
    }

    /// Sends `initialize` and waits up to `timeout` for the response with our id.
    fn initialize(&mut self, timeout: Duration) -> Outcome {
        let deadline = Instant::now() + timeout;
        self.send(&json!({
            "id": REQUEST_ID,
            "method": "initialize",
            "params": {
                "clientInfo": {
                    "name": "codex_runtime",
                    "title": "codex-runtime",
                    "version": env!("CARGO_PKG_VERSION"),
                },
                "capabilities": {"experimentalApi": false},
            },
        }));
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(StdoutEvent::Line(line)) => {
                    if let Some(outcome) = classify(&line) {
                        return outcome;
                    }
                }
                Ok(StdoutEvent::TooLong(start)) => {
                    return Outcome::TooLong { start: quote(&start) };
                }
                Ok(StdoutEvent::End) | Err(RecvTimeoutError::Disconnected) => {
                    return Outcome::Closed;
                }
                Ok(StdoutEvent::Failed(error)) => return Outcome::ReadFailed(error),
                Err(RecvTimeoutError::Timeout) => return Outcome::Timeout,
            }
        }
    }

    /// Writes one message. A server that stopped reading shows up as the outcome of the
    /// exchange (closed stdout, timeout), so a failed write is not an error of its own.
    fn send(&mut self, message: &Value) {
        if let Some(stdin) = &mut self.stdin {
            let mut line = message.to_string();
            line.push('\n');
            if stdin.write_all(line.as_bytes()).and_then(|()| stdin.flush()).is_err() {
                self.stdin = None;
            }
        }
    }

    fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits up to `grace` for the process to exit on its own, reaping it if it does.
    fn wait_for_exit(&mut self, grace: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + grace;
        let mut pause = Duration::from_millis(1);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.reaped = true;
                return Some(status);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            thread::sleep(pause.min(left));
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }

    /// Kills the process (when still running) and reaps it.
    fn kill(&mut self) -> Result<(), Error> {
        // Fails only when the process has exited already; `wait` reaps it either way.
        kill_group(&mut self.child);
        self.child.wait().map_err(|source| Error::Wait { pid: self.child.id(), source })?;
        self.reaped = true;
        Ok(())
    }

    /// The end of the server's stderr, for messages: as text, without terminal colors, trimmed.
    fn stderr_tail(&self) -> String {
        // A grandchild holding the pipe open must not stall the check.
        let _ = self.stderr_done.recv_timeout(STDERR_DRAIN);
        let tail = match self.stderr.lock() {
            Ok(tail) => tail.iter().copied().collect::<Vec<u8>>(),
            Err(poisoned) => poisoned.get_ref().iter().copied().collect(),
        };
        let text = strip_ansi(&String::from_utf8_lossy(&tail));
        let text = text.trim();
        if tail.len() >= STDERR_TAIL_BYTES { format!("...{text}") } else { text.to_owned() }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if !self.reaped {
            kill_group(&mut self.child);
            let _ = self.child.wait();
        }
    }
}

/// Kill the server and, on Unix, everything in its process group: what it started, which
/// would otherwise outlive the check. Not yet reaped, its process id still names its group.
pub(crate) fn kill_group(child: &mut Child) {
    #[cfg(unix)]
    let _ = rustix::process::kill_process_group(rustix::process::Pid::from_child(child), rustix::process::Signal::KILL);
    let _ = child.kill();
}

/// Starts the threads that read the server's stdout into a channel of lines and its stderr
/// into `tail`; the second receiver gets a message when stderr has ended.
fn spawn_readers(
    stdout: impl Read + Send + 'static,
    stderr: impl Read + Send + 'static,
    tail: &Arc<Mutex<VecDeque<u8>>>,
) -> Result<(Receiver<StdoutEvent>, Receiver<()>), Error> {
    let (line_sender, lines) = mpsc::channel();
    thread::Builder::new()
        .name("app-server stdout".into())
        .spawn(move || read_lines(stdout, &line_sender))
        .map_err(|source| Error::Thread { stream: "stdout", source })?;
    let (done_sender, done) = mpsc::channel();
    let tail = Arc::clone(tail);
    thread::Builder::new()
        .name("app-server stderr".into())
        .spawn(move || {
            keep_tail(stderr, &tail);
            // The receiver may be gone already; nobody needs to know then.
            let _ = done_sender.send(());
        })
        .map_err(|source| Error::Thread { stream: "stderr", source })?;
    Ok((lines, done))
}

/// What one stdout line means before the answer: `None` to skip it (notifications, requests
/// from the server, responses to other ids, blank lines), or the outcome.
fn classify(line: &[u8]) -> Option<Outcome> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    let Ok(value) = serde_json::from_slice::<Value>(line) else {
        return Some(Outcome::NotJson { line: quote(line) });
    };
    let message = value.as_object()?;
    if message.contains_key("method") || message.get("id")?.as_i64() != Some(REQUEST_ID) {
        return None;
    }
    if let Some(error) = message.get("error") {
        let message = match error.get("message").and_then(Value::as_str) {
            Some(message) => message.to_owned(),
            None => error.to_string(),
        };
        return Some(Outcome::ErrorResponse { code: error.get("code").and_then(Value::as_i64), message });
    }
    Some(match message.get("result").and_then(Value::as_object) {
        Some(result) => Outcome::Answered(Metadata::from_result(result)),
        None => Outcome::Malformed { line: quote(line) },
    })
}

/// Reads newline-terminated lines of at most [`MAX_LINE_BYTES`] and sends them. Once nobody
/// listens any more it keeps draining, so that a server writing notifications after the answer
/// never blocks on a full pipe.
fn read_lines(stdout: impl Read, sender: &Sender<StdoutEvent>) {
    let mut reader = BufReader::with_capacity(64 * 1024, stdout);
    let mut line = Vec::new();
    let mut listening = true;
    loop {
        let buffer = match reader.fill_buf() {
            Ok([]) => {
                if listening && !line.is_empty() {
                    let _ = sender.send(StdoutEvent::Line(std::mem::take(&mut line)));
                }
                let _ = sender.send(StdoutEvent::End);
                return;
            }
            Ok(buffer) => buffer,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => {
                let _ = sender.send(StdoutEvent::Failed(error));
                return;
            }
        };
        let (chunk, complete) = match buffer.iter().position(|&b| b == b'\n') {
            Some(end) => (&buffer[..end], true),
            None => (buffer, false),
        };
        let consumed = chunk.len() + usize::from(complete);
        if listening {
            line.extend_from_slice(chunk);
            if line.len() > MAX_LINE_BYTES {
                line.truncate(QUOTE_CHARS * 4);
                let _ = sender.send(StdoutEvent::TooLong(line));
                return;
            }
            if complete {
                listening = sender.send(StdoutEvent::Line(std::mem::take(&mut line))).is_ok();
            }
        }
        reader.consume(consumed);
    }
}

/// Runs `stdout` through the line reader and classifies every line the way a check does: the
/// fuzzing entry point for the JSON-RPC reading code.
pub(crate) fn read_and_classify(stdout: &[u8]) {
    let (sender, events) = mpsc::channel();
    read_lines(stdout, &sender);
    drop(sender);
    for event in events {
        if let StdoutEvent::Line(line) = event
            && let Some(Outcome::Answered(metadata)) = classify(&line)
        {
            let _ = metadata.version();
        }
    }
}

/// Reads `stderr` to its end, keeping its last [`STDERR_TAIL_BYTES`] bytes in `tail`.
fn keep_tail(mut stderr: impl Read, tail: &Mutex<VecDeque<u8>>) {
    let mut buffer = [0; 8192];
    loop {
        let read = match stderr.read(&mut buffer) {
            Ok(0) => return,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        let chunk = &buffer[..read];
        let chunk = &chunk[chunk.len().saturating_sub(STDERR_TAIL_BYTES)..];
        let mut tail = match tail.lock() {
            Ok(tail) => tail,
            Err(poisoned) => poisoned.into_inner(),
        };
        let excess = (tail.len() + chunk.len()).saturating_sub(STDERR_TAIL_BYTES);
        tail.drain(..excess);
        tail.extend(chunk);
    }
}

/// A line as evidence: text, at most [`QUOTE_CHARS`] characters, in backquotes.
fn quote(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    let mut chars = text.chars();
    let shown: String = chars.by_ref().take(QUOTE_CHARS).collect();
    if chars.next().is_some() { format!("`{shown}...` (truncated)") } else { format!("`{shown}`") }
}

/// `text` without ANSI escape sequences (the colors of a server's log lines).
fn strip_ansi(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            plain.push(c);
            continue;
        }
        if chars.next_if_eq(&'[').is_some() {
            // A CSI sequence: parameter and intermediate bytes, then one final byte.
            for c in chars.by_ref() {
                if ('\u{40}'..='\u{7e}').contains(&c) {
                    break;
                }
            }
        } else {
            chars.next();
        }
    }
    plain
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(line: &str) -> Option<Outcome> {
        classify(line.as_bytes())
    }

    #[test]
    fn skips_everything_but_our_response() {
        let skipped = [
            "",
            "   ",
            "\r",
            r#"{"method":"configWarning","params":{"summary":"x"}}"#,
            r#"{"id":1,"method":"item/tool/requestUserInput","params":{}}"#,
            r#"{"id":2,"result":{}}"#,
            r#"{"id":"1","result":{}}"#,
            r#"{"result":{}}"#,
            "[1,2,3]",
            "42",
        ];
        for line in skipped {
            assert!(outcome(line).is_none(), "{line:?} should be skipped");
        }
    }

    #[test]
    fn reads_our_response_with_or_without_jsonrpc() {
        for line in [
            r#"{"id":1,"result":{"userAgent":"codex_runtime/0.163.0 (a; b) c (codex_runtime; 0.1.0)"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{"userAgent":"codex_runtime/0.163.0 (a; b) c (codex_runtime; 0.1.0)"}}"#,
            "{\"id\":1,\"result\":{\"userAgent\":\"codex_runtime/0.163.0\"}}\r",
        ] {
            match outcome(line) {
                Some(Outcome::Answered(metadata)) => {
                    assert_eq!(metadata.version(), Some("0.163.0"))
                }
                _ => panic!("{line:?} should be the answer"),
            }
        }
    }

    #[test]
    fn error_responses() {
        match outcome(r#"{"error":{"code":-32600,"message":"Invalid request"},"id":1}"#) {
            Some(Outcome::ErrorResponse { code, message }) => {
                assert_eq!(code, Some(-32600));
                assert_eq!(message, "Invalid request");
            }
            _ => panic!("should be an error response"),
        }
        match outcome(r#"{"id":1,"error":"nope"}"#) {
            Some(Outcome::ErrorResponse { code, message }) => {
                assert_eq!(code, None);
                assert_eq!(message, r#""nope""#);
            }
            _ => panic!("should be an error response"),
        }
    }

    #[test]
    fn malformed_and_garbage() {
        assert!(matches!(
            outcome(r#"{"id":1,"result":"ok"}"#),
            Some(Outcome::Malformed { line }) if line == r#"`{"id":1,"result":"ok"}`"#
        ));
        assert!(matches!(
            outcome("<html>Bad Gateway</html>"),
            Some(Outcome::NotJson { line }) if line == "`<html>Bad Gateway</html>`"
        ));
    }

    #[test]
    fn quotes_are_bounded() {
        let long = "é".repeat(QUOTE_CHARS + 5);
        let quoted = quote(long.as_bytes());
        assert_eq!(quoted, format!("`{}...` (truncated)", "é".repeat(QUOTE_CHARS)));
        assert_eq!(quote(b"\xff ok"), "`\u{fffd} ok`");
    }

    #[test]
    fn strips_terminal_colors() {
        let line = "\u{1b}[2m2026-11-21T00:43:22Z\u{1b}[0m \u{1b}[31mERROR\u{1b}[0m codex: boom";
        assert_eq!(strip_ansi(line), "2026-11-21T00:43:22Z ERROR codex: boom");
        assert_eq!(strip_ansi("plain\n"), "plain\n");
        assert_eq!(strip_ansi("cut \u{1b}["), "cut ");
    }

    fn read_all(input: &[u8]) -> Vec<StdoutEvent> {
        let (sender, receiver) = mpsc::channel();
        read_lines(input, &sender);
        drop(sender);
        receiver.into_iter().collect()
    }

    #[test]
    fn reader_splits_lines_and_reports_the_end() {
        let events = read_all(b"one\ntwo\r\n\nlast");
        let lines: Vec<&[u8]> = events
            .iter()
            .filter_map(|event| match event {
                StdoutEvent::Line(line) => Some(line.as_slice()),
                _ => None,
            })
            .collect();
        assert_eq!(lines, [&b"one"[..], b"two\r", b"", b"last"]);
        assert!(matches!(events.last(), Some(StdoutEvent::End)));
    }

    #[test]
    fn reader_stops_at_an_overlong_line() {
        let mut input = b"{\"method\":\"x\"}\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES + 1));
        input.extend(b"\n{\"id\":1}\n");
        let events = read_all(&input);
        assert_eq!(events.len(), 2);
        assert!(matches!(&events[0], StdoutEvent::Line(line) if line == b"{\"method\":\"x\"}"));
        assert!(
            matches!(&events[1], StdoutEvent::TooLong(start) if start.len() <= QUOTE_CHARS * 4 && start.iter().all(|&b| b == b'x'))
        );
    }

    #[test]
    fn line_of_exactly_the_limit_is_accepted() {
        let mut input = vec![b' '; MAX_LINE_BYTES];
        input.push(b'\n');
        let events = read_all(&input);
        assert!(matches!(&events[0], StdoutEvent::Line(line) if line.len() == MAX_LINE_BYTES));
    }

    #[test]
    fn stderr_tail_keeps_the_end() {
        let tail = Mutex::new(VecDeque::new());
        let mut input = vec![b'a'; 3 * STDERR_TAIL_BYTES];
        input.extend(b"the end");
        keep_tail(input.as_slice(), &tail);
        let tail = tail.into_inner().unwrap();
        assert_eq!(tail.len(), STDERR_TAIL_BYTES);
        assert!(tail.iter().rev().take(7).eq(b"the end".iter().rev()));
    }

    #[test]
    fn path_dir_comes_first() {
        let dir = Path::new("/opt/codex/codex-path");
        let path = path_with(Some(dir)).unwrap().unwrap();
        assert_eq!(std::env::split_paths(&path).next().as_deref(), Some(dir));
        assert!(path_with(None).unwrap().is_none());
    }
}
