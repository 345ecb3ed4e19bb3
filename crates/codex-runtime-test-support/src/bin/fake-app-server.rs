//! A fake `codex app-server` speaking newline-delimited JSON-RPC on stdio, with misbehaviour
//! modes for testing clients. See `codex_runtime_test_support::app_server` for how to
//! configure it. Its arguments (`app-server`, `--listen stdio://`) are logged and ignored.
//! Every loop is bounded, and a watchdog ends the process after `LIFETIME` whatever happens.

use std::fs::OpenOptions;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use codex_runtime_test_support::app_server::{
    BASE_PROTOCOL, CONFIG_FILE, DEFAULT_VERSION, FakeConfig, FakeEvent, FakeMode, LIFETIME, LOG_ENV, MODE_ENV,
    SCHEMA_ENV, VERSION_ENV, WRONG_VERSION, fake_schema,
};
use serde_json::{Value, json};

/// The most stdin lines the fake reads.
const MAX_LINES: usize = 10_000;
/// The length of the line written in `overlong-line` mode.
const OVERLONG_BYTES: usize = 2 * 1024 * 1024;
/// How much `stderr-flood` writes.
const FLOOD_BYTES: usize = 16 * 1024 * 1024;
/// The status of `exit-early`.
const EARLY_EXIT_STATUS: u8 = 3;
/// The status when the watchdog ends the fake.
const WATCHDOG_STATUS: i32 = 124;

fn main() -> ExitCode {
    let config = load_config();
    let log = Log(config.log.clone());
    let mode = config.mode.unwrap_or(FakeMode::WellBehaved);
    let version = config.version.clone().unwrap_or_else(|| DEFAULT_VERSION.to_owned());

    std::thread::spawn(|| {
        std::thread::sleep(LIFETIME);
        std::process::exit(WATCHDOG_STATUS);
    });
    log.write(&FakeEvent::Start {
        pid: std::process::id(),
        args: std::env::args().skip(1).collect(),
        codex_home: std::env::var("CODEX_HOME").ok(),
        path: std::env::var("PATH").ok(),
    });

    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.get(1).map(String::as_str) == Some("generate-json-schema") {
        return generate_schema(&args, mode, config.schema.as_deref().unwrap_or(BASE_PROTOCOL));
    }
    match serve(mode, &version, &log) {
        Ok(code) => code,
        // The client went away (a broken pipe): nothing left to do.
        Err(_) => ExitCode::FAILURE,
    }
}

/// The config: each setting from the environment, else from the config file next to the
/// executable.
fn load_config() -> FakeConfig {
    let file: FakeConfig = std::env::current_exe()
        .ok()
        .and_then(|exe| std::fs::read(exe.with_file_name(CONFIG_FILE)).ok())
        .map(|bytes| serde_json::from_slice(&bytes).expect("a valid fake-app-server.json"))
        .unwrap_or_default();
    let mode = match std::env::var(MODE_ENV) {
        Ok(name) => Some(name.parse().unwrap_or_else(|error| panic!("{error}"))),
        Err(_) => file.mode,
    };
    FakeConfig {
        mode,
        version: std::env::var(VERSION_ENV).ok().or(file.version),
        log: std::env::var_os(LOG_ENV).map(PathBuf::from).or(file.log),
        schema: std::env::var(SCHEMA_ENV).ok().or(file.schema),
    }
}

/// `app-server generate-json-schema --out DIR [--experimental]`: writes the fake's schema
/// (pretty-printed, in reverse file order, so that readers cannot depend on either). In
/// `exit-early` mode it fails like a runtime that cannot describe its protocol.
fn generate_schema(args: &[String], mode: FakeMode, protocol: &str) -> ExitCode {
    if mode == FakeMode::ExitEarly {
        eprintln!("fake-app-server: error: unrecognized subcommand 'generate-json-schema'");
        return ExitCode::from(EARLY_EXIT_STATUS);
    }
    let Some(out) = args.iter().position(|a| a == "--out").and_then(|i| args.get(i + 1)) else {
        eprintln!("fake-app-server: generate-json-schema needs --out DIR");
        return ExitCode::from(2);
    };
    let experimental = args.iter().any(|a| a == "--experimental");
    for (path, value) in fake_schema(protocol, experimental).into_iter().rev() {
        let path = Path::new(out).join(path);
        std::fs::create_dir_all(path.parent().expect("a file under --out"))
            .expect("cannot create the schema directory");
        std::fs::write(&path, serde_json::to_string_pretty(&value).expect("JSON")).expect("cannot write the schema");
    }
    ExitCode::SUCCESS
}

fn serve(mode: FakeMode, version: &str, log: &Log) -> io::Result<ExitCode> {
    let stdin = io::stdin();
    let mut lines = stdin.lock().lines().take(MAX_LINES);
    let mut out = io::stdout().lock();

    let Some((id, params)) = read_initialize(&mut lines, log)? else {
        log.write(&FakeEvent::StdinClosed);
        return Ok(ExitCode::SUCCESS);
    };

    match mode {
        FakeMode::ExitEarly => {
            eprintln!("fake-app-server: error loading config.toml: invalid type at line 3");
            return Ok(ExitCode::from(EARLY_EXIT_STATUS));
        }
        FakeMode::Hang => {
            eprintln!("fake-app-server: waiting for something that never happens");
            std::thread::sleep(LIFETIME);
            return Ok(ExitCode::FAILURE);
        }
        FakeMode::ErrorResponse => {
            eprintln!("fake-app-server: refusing initialize");
            let error = json!({"code": -32600, "message": "Invalid request: fake-app-server refuses initialize"});
            send(&mut out, &json!({"error": error, "id": id}))?;
            return finish(&mut lines, log, false);
        }
        FakeMode::Garbage => {
            eprintln!("fake-app-server: the proxy in front of me is confused");
            writeln!(out, "<html><body>502 Bad Gateway</body></html>")?;
            out.flush()?;
        }
        FakeMode::OverlongLine => {
            let line = vec![b'x'; OVERLONG_BYTES];
            out.write_all(&line)?;
            writeln!(out)?;
            out.flush()?;
        }
        FakeMode::StderrFlood => {
            let mut err = io::stderr().lock();
            let chunk = vec![b'#'; 64 * 1024];
            for _ in 0..FLOOD_BYTES / chunk.len() {
                err.write_all(&chunk)?;
            }
            writeln!(err, "\nfake-app-server: end of the flood")?;
            err.flush()?;
        }
        FakeMode::NotificationsFirst => {
            send(
                &mut out,
                &json!({"method": "configWarning", "params": {"summary": "fake warning", "details": null}}),
            )?;
            send(&mut out, &json!({"id": id, "method": "item/tool/requestUserInput", "params": {}}))?;
            send(&mut out, &json!({"id": 99, "result": {"userAgent": "not/ours"}}))?;
            writeln!(out)?;
            out.flush()?;
        }
        _ => {}
    }

    let mut response = json!({"id": id, "result": result(mode, version, &params)});
    if mode == FakeMode::NotificationsFirst {
        response["jsonrpc"] = json!("2.0");
    }
    send(&mut out, &response)?;
    if mode == FakeMode::NotificationsFirst {
        send(&mut out, &json!({"method": "remoteControl/status/changed", "params": {"status": "disabled"}}))?;
    }
    finish(&mut lines, log, mode == FakeMode::IgnoreStdinClose)
}

/// Reads lines until an `initialize` request; `None` when stdin ends first.
fn read_initialize(
    lines: &mut impl Iterator<Item = io::Result<String>>,
    log: &Log,
) -> io::Result<Option<(Value, Value)>> {
    for line in lines {
        let line = line?;
        log.write(&FakeEvent::Received { line: line.clone() });
        let Ok(message) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if message["method"] == "initialize" {
            return Ok(Some((message["id"].clone(), message["params"].clone())));
        }
    }
    Ok(None)
}

/// Logs the remaining lines until stdin ends, then exits, or (when `linger`) keeps running.
fn finish(lines: &mut impl Iterator<Item = io::Result<String>>, log: &Log, linger: bool) -> io::Result<ExitCode> {
    for line in lines {
        log.write(&FakeEvent::Received { line: line? });
    }
    log.write(&FakeEvent::StdinClosed);
    if linger {
        std::thread::sleep(LIFETIME);
    }
    Ok(ExitCode::SUCCESS)
}

/// The `initialize` result of `mode`, echoing the client's name and version in `userAgent`
/// like a real server does.
fn result(mode: FakeMode, version: &str, params: &Value) -> Value {
    let client = params["clientInfo"]["name"].as_str().unwrap_or("unknown");
    let client_version = params["clientInfo"]["version"].as_str().unwrap_or("0");
    let version = if mode == FakeMode::WrongVersion { WRONG_VERSION } else { version };
    let user_agent = format!(
        "{client}/{version} (FakeOS 1.0; {}) fake-terminal ({client}; {client_version})",
        std::env::consts::ARCH
    );
    let (os, family) = if mode == FakeMode::WrongOs {
        if cfg!(windows) { ("linux", "unix") } else { ("windows", "windows") }
    } else {
        (std::env::consts::OS, std::env::consts::FAMILY)
    };
    let codex_home = std::env::var("CODEX_HOME").ok();
    match mode {
        FakeMode::OldShape => json!({"userAgent": user_agent}),
        FakeMode::ServerInfo => {
            json!({"serverInfo": {"name": "codex-app-server", "version": version}})
        }
        _ => json!({
            "userAgent": user_agent,
            "codexHome": codex_home,
            "platformFamily": family,
            "platformOs": os,
        }),
    }
}

fn send(out: &mut impl Write, message: &Value) -> io::Result<()> {
    writeln!(out, "{message}")?;
    out.flush()
}

/// Appends events to the log file, when there is one.
struct Log(Option<PathBuf>);

impl Log {
    fn write(&self, event: &FakeEvent) {
        if let Some(path) = &self.0 {
            append(path, event).unwrap_or_else(|error| panic!("cannot append to the log {}: {error}", path.display()));
        }
    }
}

fn append(path: &Path, event: &FakeEvent) -> io::Result<()> {
    let mut line = serde_json::to_string(event)?;
    line.push('\n');
    OpenOptions::new().create(true).append(true).open(path)?.write_all(line.as_bytes())
}
