//! The fake `codex app-server` (the `fake-app-server` binary of this package) and how tests
//! drive it.
//!
//! The fake takes its mode, the version it reports and the file it logs to from the
//! environment ([`MODE_ENV`], [`VERSION_ENV`], [`LOG_ENV`]), or, for each one not set there,
//! from a [`CONFIG_FILE`] next to its executable. Tests that spawn a command can set the
//! environment on it; in-process tests, where the code under test spawns the fake, use a
//! [`FakeAppServer`]: a private copy of the binary with its own config file and log.
//!
//! The log has one JSON [`FakeEvent`] per line: how the fake started (arguments, `CODEX_HOME`,
//! `PATH`, process id), every line it received, and when its stdin closed.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Environment variable naming the [`FakeMode`].
pub const MODE_ENV: &str = "FAKE_APP_SERVER_MODE";
/// Environment variable with the version the fake reports.
pub const VERSION_ENV: &str = "FAKE_APP_SERVER_VERSION";
/// Environment variable with the file the fake appends its [`FakeEvent`]s to.
pub const LOG_ENV: &str = "FAKE_APP_SERVER_LOG";
/// Environment variable naming the protocol the fake's `generate-json-schema` describes:
/// [`BASE_PROTOCOL`] (the default) or [`NEWER_PROTOCOL`].
pub const SCHEMA_ENV: &str = "FAKE_APP_SERVER_SCHEMA";
/// The fake's protocol: two client requests, one server request, one notification, two types.
pub const BASE_PROTOCOL: &str = "base";
/// [`BASE_PROTOCOL`] with the method `model/list` and an optional property added, and the enum
/// value `"detached"` of the sent type `ReviewDelivery` removed: a newer protocol a client of
/// the base one cannot fully use.
pub const NEWER_PROTOCOL: &str = "newer";
/// The file next to the fake's executable holding a [`FakeConfig`].
pub const CONFIG_FILE: &str = "fake-app-server.json";
/// The version the fake reports unless told otherwise.
pub const DEFAULT_VERSION: &str = "0.163.0";
/// The version the fake reports in [`FakeMode::WrongVersion`].
pub const WRONG_VERSION: &str = "0.1.0";
/// The longest the fake ever runs, whatever its mode.
pub const LIFETIME: Duration = Duration::from_secs(30);

/// How the fake behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FakeMode {
    /// Answers `initialize` like a real server (`userAgent`, `codexHome`, `platformFamily`,
    /// `platformOs` of the host) and exits when its stdin closes.
    WellBehaved,
    /// Like `WellBehaved`, but first writes notifications, a request of its own (with our id),
    /// a response to another id and a blank line, and answers with `"jsonrpc":"2.0"`.
    NotificationsFirst,
    /// Answers with `userAgent` alone, like an older server.
    OldShape,
    /// Answers with `serverInfo{name,version}` alone, like a server of an older protocol.
    ServerInfo,
    /// Reports [`WRONG_VERSION`] whatever version it is given.
    WrongVersion,
    /// Reports the other platform: `windows`/`windows` on Unix hosts, `linux`/`unix` on Windows.
    WrongOs,
    /// Answers `initialize` with a JSON-RPC error (code -32600) and says why on stderr.
    ErrorResponse,
    /// Writes a line that is not JSON (and says so on stderr) before answering.
    Garbage,
    /// Writes a 2 MiB line before answering.
    OverlongLine,
    /// Reads `initialize`, says on stderr that it waits, and never answers.
    Hang,
    /// Reads `initialize`, writes an error to stderr and exits with status 3.
    ExitEarly,
    /// Answers properly but keeps running after its stdin closes.
    IgnoreStdinClose,
    /// Writes 16 MiB to stderr, then answers properly.
    StderrFlood,
}

impl FakeMode {
    /// Every mode.
    pub const ALL: [Self; 13] = [
        Self::WellBehaved,
        Self::NotificationsFirst,
        Self::OldShape,
        Self::ServerInfo,
        Self::WrongVersion,
        Self::WrongOs,
        Self::ErrorResponse,
        Self::Garbage,
        Self::OverlongLine,
        Self::Hang,
        Self::ExitEarly,
        Self::IgnoreStdinClose,
        Self::StderrFlood,
    ];

    /// The mode's name, as [`MODE_ENV`] spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WellBehaved => "well-behaved",
            Self::NotificationsFirst => "notifications-first",
            Self::OldShape => "old-shape",
            Self::ServerInfo => "server-info",
            Self::WrongVersion => "wrong-version",
            Self::WrongOs => "wrong-os",
            Self::ErrorResponse => "error-response",
            Self::Garbage => "garbage",
            Self::OverlongLine => "overlong-line",
            Self::Hang => "hang",
            Self::ExitEarly => "exit-early",
            Self::IgnoreStdinClose => "ignore-stdin-close",
            Self::StderrFlood => "stderr-flood",
        }
    }
}

impl fmt::Display for FakeMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A mode name that is not one of [`FakeMode::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownMode(pub String);

impl fmt::Display for UnknownMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known: Vec<&str> = FakeMode::ALL.iter().map(|mode| mode.as_str()).collect();
        write!(f, "unknown fake mode `{}` (one of: {})", self.0, known.join(", "))
    }
}

impl std::error::Error for UnknownMode {}

impl FromStr for FakeMode {
    type Err = UnknownMode;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|mode| mode.as_str() == name).ok_or_else(|| UnknownMode(name.to_owned()))
    }
}

/// The contents of [`CONFIG_FILE`]; every field may be absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FakeConfig {
    /// The mode; well-behaved when absent.
    pub mode: Option<FakeMode>,
    /// The version to report; [`DEFAULT_VERSION`] when absent.
    pub version: Option<String>,
    /// The log file; no log when absent.
    pub log: Option<PathBuf>,
    /// The protocol `generate-json-schema` describes ([`BASE_PROTOCOL`] when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
}

/// The files the fake's `generate-json-schema` writes for `protocol` ([`BASE_PROTOCOL`] or
/// [`NEWER_PROTOCOL`]), by relative path; `experimental` adds the method `experimental/probe`.
///
/// # Panics
/// On another protocol name.
pub fn fake_schema(protocol: &str, experimental: bool) -> std::collections::BTreeMap<String, serde_json::Value> {
    use serde_json::json;
    let newer = match protocol {
        BASE_PROTOCOL => false,
        NEWER_PROTOCOL => true,
        other => panic!("unknown fake protocol `{other}` (one of: {BASE_PROTOCOL}, {NEWER_PROTOCOL})"),
    };
    let request = |method: &str, params: &str| {
        json!({
            "properties": {
                "id": {"$ref": "#/definitions/RequestId"},
                "method": {"enum": [method], "type": "string"},
                "params": {"$ref": format!("#/definitions/{params}")},
            },
            "required": ["id", "method", "params"],
            "type": "object",
        })
    };
    let mut client = vec![request("initialize", "InitializeParams"), request("review/start", "ReviewStartParams")];
    if newer {
        client.push(request("model/list", "ModelListParams"));
    }
    if experimental {
        client.push(request("experimental/probe", "InitializeParams"));
    }
    let delivery = if newer { json!(["inline"]) } else { json!(["inline", "detached"]) };
    let mut review_properties = json!({
        "threadId": {"type": "string"},
        "delivery": {"anyOf": [{"$ref": "#/definitions/ReviewDelivery"}, {"type": "null"}]},
    });
    if newer {
        review_properties["model"] = json!({"type": ["string", "null"]});
    }
    let review = json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "definitions": {"ReviewDelivery": {"enum": delivery, "type": "string"}},
        "properties": review_properties,
        "required": ["threadId"],
        "title": "ReviewStartParams",
        "type": "object",
    });
    let mut files = std::collections::BTreeMap::from([
        ("ClientRequest.json".to_owned(), json!({"oneOf": client, "title": "ClientRequest"})),
        (
            "ServerRequest.json".to_owned(),
            json!({"oneOf": [request("item/tool/call", "DynamicToolCallParams")], "title": "ServerRequest"}),
        ),
        (
            "ServerNotification.json".to_owned(),
            json!({"oneOf": [{"properties": {"method": {"enum": ["thread/started"]}}}], "title": "ServerNotification"}),
        ),
        ("v2/ReviewStartParams.json".to_owned(), review),
        (
            "v1/InitializeParams.json".to_owned(),
            json!({"properties": {"clientInfo": {"type": "object"}}, "required": ["clientInfo"], "type": "object"}),
        ),
    ]);
    if newer {
        files.insert("v2/ModelListParams.json".to_owned(), json!({"properties": {}, "type": "object"}));
    }
    files
}

/// One line of the fake's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum FakeEvent {
    /// The fake started.
    Start {
        /// Its process id.
        pid: u32,
        /// Its arguments, without the program name.
        args: Vec<String>,
        /// `CODEX_HOME` as it saw it.
        codex_home: Option<String>,
        /// `PATH` as it saw it.
        path: Option<String>,
    },
    /// A line arrived on stdin.
    Received {
        /// The line, without its newline.
        line: String,
    },
    /// Stdin reached its end.
    StdinClosed,
}

/// The built `fake-app-server` binary.
///
/// It is looked up next to the running test executable (`target/<profile>/deps/test-hash`
/// means `target/<profile>/fake-app-server`); when missing it is built once with
/// `cargo build -p codex-runtime-test-support --bin fake-app-server` (using `$CARGO` when set)
/// for the same profile and target directory.
///
/// # Panics
/// When the binary is missing and cannot be built.
pub fn fake_app_server_path() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test executable has a path");
        let mut dir = exe.parent().expect("the test executable is in a directory");
        if dir.ends_with("deps") {
            dir = dir.parent().expect("deps is in a profile directory");
        }
        let bin = dir.join(format!("fake-app-server{}", std::env::consts::EXE_SUFFIX));
        if !bin.is_file() {
            build(dir);
            assert!(bin.is_file(), "built fake-app-server, but it is not at {}", bin.display());
        }
        bin
    })
    .clone()
}

fn build(profile_dir: &Path) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(env!("CARGO_MANIFEST_DIR")).args([
        "build",
        "-p",
        "codex-runtime-test-support",
        "--bin",
        "fake-app-server",
    ]);
    match profile_dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") | None => {}
        Some("release") => {
            command.arg("--release");
        }
        Some(profile) => {
            command.args(["--profile", profile]);
        }
    }
    if let Some(target_dir) = profile_dir.parent() {
        command.arg("--target-dir").arg(target_dir);
    }
    let status = command.status().unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"));
    assert!(status.success(), "{command:?} failed: {status}");
}

/// A private copy of the fake app-server, configured by a [`CONFIG_FILE`] next to it, with its
/// own log. Everything is removed on drop.
///
/// The copy is a hard link when possible: it lives next to the built binary, in a temporary
/// directory, so no test ever executes a file that some process still has open for writing.
#[derive(Debug)]
pub struct FakeAppServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    log: PathBuf,
}

impl FakeAppServer {
    /// A fake in `mode` reporting [`DEFAULT_VERSION`].
    pub fn new(mode: FakeMode) -> Self {
        Self::with_version(mode, DEFAULT_VERSION)
    }

    /// A fake in `mode` reporting `version`.
    ///
    /// # Panics
    /// When the copy or its config cannot be written.
    pub fn with_version(mode: FakeMode, version: &str) -> Self {
        let source = fake_app_server_path();
        let parent = source.parent().expect("the binary is in a directory");
        let dir = tempfile::Builder::new()
            .prefix("fake-app-server-")
            .tempdir_in(parent)
            .expect("create a directory for the fake");
        let bin = dir.path().join(source.file_name().expect("the binary has a name"));
        if std::fs::hard_link(&source, &bin).is_err() {
            std::fs::copy(&source, &bin).expect("copy the fake");
        }
        let log = dir.path().join("log.jsonl");
        let config =
            FakeConfig { mode: Some(mode), version: Some(version.to_owned()), log: Some(log.clone()), schema: None };
        std::fs::write(dir.path().join(CONFIG_FILE), serde_json::to_vec(&config).expect("serialize the config"))
            .expect("write the fake's config");
        Self { dir, bin, log }
    }

    /// The fake's executable.
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// The directory holding the executable, its config and its log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// What the fake has logged so far, in order (empty before it ran).
    ///
    /// # Panics
    /// When the log holds a line that is not a [`FakeEvent`].
    pub fn events(&self) -> Vec<FakeEvent> {
        read_events(&self.log)
    }

    /// The lines the fake received, in order.
    pub fn received(&self) -> Vec<String> {
        self.events()
            .into_iter()
            .filter_map(|event| match event {
                FakeEvent::Received { line } => Some(line),
                _ => None,
            })
            .collect()
    }
}

/// The events in a fake's log file (empty when there is none).
///
/// # Panics
/// When the log holds a line that is not a [`FakeEvent`].
pub fn read_events(log: &Path) -> Vec<FakeEvent> {
    let Ok(text) = std::fs::read_to_string(log) else {
        return Vec::new();
    };
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("bad log line {line:?}: {error}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_names_round_trip() {
        for mode in FakeMode::ALL {
            assert_eq!(mode.as_str().parse::<FakeMode>(), Ok(mode));
            assert_eq!(serde_json::to_value(mode).unwrap(), serde_json::Value::String(mode.to_string()));
        }
        let unknown = "polite".parse::<FakeMode>().unwrap_err();
        assert!(unknown.to_string().contains("well-behaved"), "{unknown}");
    }

    #[test]
    fn events_round_trip_through_the_log_format() {
        let event =
            FakeEvent::Start { pid: 7, args: vec!["app-server".into()], codex_home: None, path: Some("/bin".into()) };
        let line = serde_json::to_string(&event).unwrap();
        assert!(line.starts_with(r#"{"event":"start""#), "{line}");
        assert_eq!(serde_json::from_str::<FakeEvent>(&line).unwrap(), event);
        assert_eq!(serde_json::to_string(&FakeEvent::StdinClosed).unwrap(), r#"{"event":"stdin_closed"}"#);
    }
}
