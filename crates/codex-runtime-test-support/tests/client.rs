//! The embedded app-server client against the fake app-server in every mode, and against a real
//! runtime when `CODEX_RUNTIME_REAL_CODEX` names one.

use std::path::{Path, PathBuf};
use std::time::Duration;

use codex_app_server_client::{CheckOptions, Error, Expected, ExpectedVersion, Problem, Report, Warning, check};
use codex_runtime_test_support::app_server::{
    DEFAULT_VERSION, FakeAppServer, FakeEvent, FakeMode, WRONG_VERSION, fake_app_server_path,
};
use serde_json::{Value, json};

/// Long enough for a loaded machine; servers that answer make `check` return at once.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
/// For servers that never answer.
const SHORT_TIMEOUT: Duration = Duration::from_secs(1);
const SHORT_GRACE: Duration = Duration::from_millis(300);

fn options(fake: &FakeAppServer) -> CheckOptions {
    let mut options = CheckOptions::new(fake.bin());
    options.timeout = ANSWER_TIMEOUT;
    options.expected.version = ExpectedVersion::Exact(DEFAULT_VERSION.into());
    options
}

fn run(fake: &FakeAppServer, options: &CheckOptions) -> Report {
    let report = check(options).expect("the fake starts");
    assert_eq!(report.ok, report.problems.is_empty(), "{report:?}");
    assert_gone(fake);
    report
}

fn start(fake: &FakeAppServer) -> (u32, Vec<String>, Option<String>, Option<String>) {
    match fake.events().into_iter().next() {
        Some(FakeEvent::Start { pid, args, codex_home, path }) => (pid, args, codex_home, path),
        other => panic!("the fake did not start: {other:?}"),
    }
}

/// The fake's process is gone: reaped, not a zombie, not running.
fn assert_gone(fake: &FakeAppServer) {
    let (pid, ..) = start(fake);
    if cfg!(target_os = "linux") {
        let proc = PathBuf::from(format!("/proc/{pid}"));
        assert!(!proc.exists(), "process {pid} is still there");
    }
}

fn stderr_of(problem: &Problem) -> &str {
    match problem {
        Problem::ErrorResponse { stderr, .. }
        | Problem::NotJson { stderr, .. }
        | Problem::LineTooLong { stderr, .. }
        | Problem::EarlyExit { stderr, .. }
        | Problem::Timeout { stderr, .. } => stderr,
        other => panic!("{other:?} has no stderr"),
    }
}

fn only_problem(report: &Report) -> &Problem {
    assert!(!report.ok);
    match report.problems.as_slice() {
        [problem] => problem,
        problems => panic!("expected one problem, got {problems:?}"),
    }
}

#[test]
fn well_behaved_server_is_compatible_and_the_handshake_is_complete() {
    let fake = FakeAppServer::new(FakeMode::WellBehaved);
    let report = run(&fake, &options(&fake));

    assert!(report.ok, "{:?}", report.problems);
    assert_eq!(report.version.as_deref(), Some(DEFAULT_VERSION));
    assert_eq!(report.expected.as_deref(), Some(DEFAULT_VERSION));
    assert_eq!(report.platform_os.as_deref(), Some(std::env::consts::OS));
    assert_eq!(report.platform_family.as_deref(), Some(std::env::consts::FAMILY));
    let user_agent = report.user_agent.as_deref().unwrap();
    assert!(user_agent.starts_with(&format!("codex_runtime/{DEFAULT_VERSION} (")), "{user_agent}");

    let received = fake.received();
    assert_eq!(received.len(), 2, "{received:?}");
    let initialize: Value = serde_json::from_str(&received[0]).unwrap();
    assert_eq!(
        initialize,
        json!({
            "id": 1,
            "method": "initialize",
            "params": {
                "clientInfo": {
                    "name": "codex_runtime",
                    "title": "codex-runtime",
                    "version": env!("CARGO_PKG_VERSION"),
                },
                "capabilities": {"experimentalApi": false},
            },
        })
    );
    let initialized: Value = serde_json::from_str(&received[1]).unwrap();
    assert_eq!(initialized, json!({"method": "initialized"}));
    assert_eq!(fake.events().last(), Some(&FakeEvent::StdinClosed), "the client closed stdin and the fake saw it");
}

#[test]
fn report_serializes_to_the_check_json_document() {
    let fake = FakeAppServer::new(FakeMode::WellBehaved);
    let report = run(&fake, &options(&fake));
    let value = serde_json::to_value(&report).unwrap();
    let mut keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "codex_home",
            "elapsed_ms",
            "expected",
            "ok",
            "platform_family",
            "platform_os",
            "problems",
            "user_agent",
            "version",
            "warnings"
        ]
    );
    assert_eq!(value["ok"], json!(true));
    assert_eq!(value["problems"], json!([]));
    assert_eq!(value["warnings"], json!([]));
    assert!(value["elapsed_ms"].is_u64());
}

#[test]
fn temporary_codex_home_is_used_and_removed() {
    let fake = FakeAppServer::new(FakeMode::WellBehaved);
    let report = run(&fake, &options(&fake));
    let (_, _, codex_home, _) = start(&fake);
    let codex_home = codex_home.expect("CODEX_HOME is set");
    assert_eq!(report.codex_home.as_deref(), Some(codex_home.as_str()));
    assert!(
        Path::new(&codex_home).file_name().unwrap().to_string_lossy().starts_with("codex-runtime-check-"),
        "{codex_home}"
    );
    assert!(!Path::new(&codex_home).exists(), "{codex_home} was left behind");
}

#[test]
fn given_codex_home_is_used_and_kept() {
    let fake = FakeAppServer::new(FakeMode::WellBehaved);
    let home = tempfile::tempdir().unwrap();
    let mut options = options(&fake);
    options.codex_home = Some(home.path().to_path_buf());
    let report = run(&fake, &options);
    let expected = home.path().to_str().unwrap();
    assert_eq!(start(&fake).2.as_deref(), Some(expected));
    assert_eq!(report.codex_home.as_deref(), Some(expected));
    assert!(home.path().is_dir());
}

#[test]
fn path_dir_comes_first_on_path() {
    let fake = FakeAppServer::new(FakeMode::WellBehaved);
    let path_dir = tempfile::tempdir().unwrap();
    let mut options = options(&fake);
    options.path_dir = Some(path_dir.path().to_path_buf());
    assert!(run(&fake, &options).ok);
    let path = start(&fake).3.expect("PATH is set");
    let mut entries = std::env::split_paths(&path);
    assert_eq!(entries.next().as_deref(), Some(path_dir.path()));
    let inherited = std::env::var_os("PATH").unwrap_or_default();
    assert!(entries.eq(std::env::split_paths(&inherited)));
}

#[test]
fn arguments_are_app_server_with_optional_listen_flag() {
    let fake = FakeAppServer::new(FakeMode::WellBehaved);
    run(&fake, &options(&fake));
    assert_eq!(start(&fake).1, ["app-server"]);

    let fake = FakeAppServer::new(FakeMode::WellBehaved);
    let mut options = options(&fake);
    options.listen_stdio = true;
    run(&fake, &options);
    assert_eq!(start(&fake).1, ["app-server", "--listen", "stdio://"]);
}

#[test]
fn pep440_pin_matches_a_semver_server_version() {
    let fake = FakeAppServer::with_version(FakeMode::WellBehaved, "0.162.0-alpha.15");
    let mut options = options(&fake);
    options.expected.version = ExpectedVersion::Exact("0.162.0a15".into());
    let report = run(&fake, &options);
    assert!(report.ok, "{:?}", report.problems);
    assert_eq!(report.version.as_deref(), Some("0.162.0-alpha.15"));
}

#[test]
fn requirement_instead_of_pin() {
    let fake = FakeAppServer::new(FakeMode::WellBehaved);
    let mut options = options(&fake);
    options.expected.version = ExpectedVersion::Matches(">=0.160, <0.200".parse().unwrap());
    let report = run(&fake, &options);
    assert!(report.ok, "{:?}", report.problems);
    assert_eq!(report.expected.as_deref(), Some(">=0.160, <0.200"));

    let fake = FakeAppServer::new(FakeMode::WellBehaved);
    let mut options = CheckOptions::new(fake.bin());
    options.expected.version = ExpectedVersion::Matches("<0.163".parse().unwrap());
    let report = run(&fake, &options);
    assert_eq!(
        only_problem(&report),
        &Problem::VersionUnsatisfied { required: "<0.163".parse().unwrap(), actual: DEFAULT_VERSION.into() }
    );
}

#[test]
fn notifications_and_other_messages_before_the_response_are_skipped() {
    let fake = FakeAppServer::new(FakeMode::NotificationsFirst);
    let report = run(&fake, &options(&fake));
    assert!(report.ok, "{:?}", report.problems);
    assert_eq!(report.version.as_deref(), Some(DEFAULT_VERSION));
}

#[test]
fn old_shape_lacks_the_newer_fields() {
    let fake = FakeAppServer::new(FakeMode::OldShape);
    let report = run(&fake, &options(&fake));
    assert_eq!(report.version.as_deref(), Some(DEFAULT_VERSION));
    assert_eq!(
        report.problems,
        [
            Problem::MissingField { field: "codexHome" },
            Problem::MissingField { field: "platformFamily" },
            Problem::MissingField { field: "platformOs" },
        ]
    );
    assert_eq!(
        report.problems[0].to_string(),
        "the initialize result lacks `codexHome`: the binary is older than the pinned protocol"
    );
}

#[test]
fn server_info_shape_gives_the_version_but_lacks_every_field() {
    let fake = FakeAppServer::with_version(FakeMode::ServerInfo, "0.40.0");
    let report = run(&fake, &options(&fake));
    assert_eq!(report.version.as_deref(), Some("0.40.0"));
    assert_eq!(report.user_agent, None);
    assert_eq!(
        report.problems,
        [
            Problem::MissingField { field: "userAgent" },
            Problem::MissingField { field: "codexHome" },
            Problem::MissingField { field: "platformFamily" },
            Problem::MissingField { field: "platformOs" },
            Problem::VersionMismatch { expected: DEFAULT_VERSION.into(), actual: "0.40.0".into() },
        ]
    );
}

#[test]
fn wrong_version() {
    let fake = FakeAppServer::new(FakeMode::WrongVersion);
    let report = run(&fake, &options(&fake));
    assert_eq!(report.version.as_deref(), Some(WRONG_VERSION));
    assert_eq!(
        only_problem(&report),
        &Problem::VersionMismatch { expected: DEFAULT_VERSION.into(), actual: WRONG_VERSION.into() }
    );
    assert_eq!(
        report.problems[0].to_string(),
        format!("version {WRONG_VERSION} does not match the pinned {DEFAULT_VERSION}")
    );
}

#[test]
fn wrong_os_and_family_are_separate_problems() {
    let fake = FakeAppServer::new(FakeMode::WrongOs);
    let report = run(&fake, &options(&fake));
    let (os, family) = if cfg!(windows) { ("linux", "unix") } else { ("windows", "windows") };
    assert_eq!(
        report.problems,
        [
            Problem::PlatformOsMismatch { expected: std::env::consts::OS.into(), actual: os.into() },
            Problem::PlatformFamilyMismatch { expected: std::env::consts::FAMILY.into(), actual: family.into() },
        ]
    );

    let fake = FakeAppServer::new(FakeMode::WrongOs);
    let mut options = options(&fake);
    options.expected = Expected { version: ExpectedVersion::Any, platform_os: None, platform_family: None };
    assert!(run(&fake, &options).ok, "no platform expected, any accepted");
}

#[test]
fn json_rpc_error_response() {
    let fake = FakeAppServer::new(FakeMode::ErrorResponse);
    let report = run(&fake, &options(&fake));
    let problem = only_problem(&report);
    assert!(matches!(
        problem,
        Problem::ErrorResponse { code: Some(-32600), message, .. }
            if message == "Invalid request: fake-app-server refuses initialize"
    ));
    assert_eq!(stderr_of(problem), "fake-app-server: refusing initialize");
    assert_eq!(
        problem.to_string(),
        "initialize failed with JSON-RPC error -32600: Invalid request: fake-app-server refuses \
         initialize; its stderr ends with:\nfake-app-server: refusing initialize"
    );
    assert_eq!(report.version, None);
}

#[test]
fn garbage_line() {
    let fake = FakeAppServer::new(FakeMode::Garbage);
    let mut options = options(&fake);
    options.timeout = SHORT_TIMEOUT;
    let report = run(&fake, &options);
    let problem = only_problem(&report);
    assert_eq!(
        problem,
        &Problem::NotJson {
            line: "`<html><body>502 Bad Gateway</body></html>`".into(),
            stderr: "fake-app-server: the proxy in front of me is confused".into(),
        }
    );
    assert!(problem.to_string().starts_with("the app-server wrote a line that is not JSON: `<html>"), "{problem}");
}

#[test]
fn overlong_line() {
    let fake = FakeAppServer::new(FakeMode::OverlongLine);
    let mut options = options(&fake);
    options.timeout = SHORT_TIMEOUT;
    let report = run(&fake, &options);
    match only_problem(&report) {
        Problem::LineTooLong { limit, start, .. } => {
            assert_eq!(*limit, 1024 * 1024);
            assert_eq!(*start, format!("`{}...` (truncated)", "x".repeat(200)));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn hang_times_out() {
    let fake = FakeAppServer::new(FakeMode::Hang);
    let mut options = options(&fake);
    options.timeout = SHORT_TIMEOUT;
    let report = run(&fake, &options);
    let problem = only_problem(&report);
    assert!(matches!(problem, Problem::Timeout { after, .. } if *after == SHORT_TIMEOUT), "{problem:?}");
    assert_eq!(stderr_of(problem), "fake-app-server: waiting for something that never happens");
    assert!(problem.to_string().starts_with("no answer to initialize within 1s; its stderr ends with:\n"), "{problem}");
}

#[test]
fn exit_before_answering() {
    let fake = FakeAppServer::new(FakeMode::ExitEarly);
    let report = run(&fake, &options(&fake));
    let problem = only_problem(&report);
    let expected_status = if cfg!(windows) { "exit code: 3" } else { "exit status: 3" };
    assert_eq!(
        problem,
        &Problem::EarlyExit {
            status: expected_status.into(),
            stderr: "fake-app-server: error loading config.toml: invalid type at line 3".into(),
        }
    );
    assert_eq!(
        problem.to_string(),
        format!(
            "the app-server exited before answering initialize ({expected_status}); its stderr \
             ends with:\nfake-app-server: error loading config.toml: invalid type at line 3"
        )
    );
}

#[test]
fn server_ignoring_stdin_close_is_killed_with_a_warning() {
    let fake = FakeAppServer::new(FakeMode::IgnoreStdinClose);
    let mut options = options(&fake);
    options.grace = SHORT_GRACE;
    let report = run(&fake, &options);
    assert_eq!(report.version.as_deref(), Some(DEFAULT_VERSION));
    assert!(report.ok, "{:?}", report.problems);
    assert_eq!(report.warnings, [Warning::IgnoredStdinClose { grace: SHORT_GRACE }]);
    let value = serde_json::to_value(&report).unwrap();
    assert!(value["warnings"][0].as_str().unwrap().contains("still running 0.3s after its stdin closed"), "{value}");
    assert_eq!(fake.events().last(), Some(&FakeEvent::StdinClosed));
}

#[test]
fn stderr_flood_does_not_deadlock() {
    let fake = FakeAppServer::new(FakeMode::StderrFlood);
    let report = run(&fake, &options(&fake));
    assert!(report.ok, "{:?}", report.problems);
}

#[test]
fn missing_binary_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("codex");
    let error = check(&CheckOptions::new(&missing)).unwrap_err();
    match &error {
        Error::Spawn { program, source } => {
            assert_eq!(program, &missing);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        error.to_string(),
        format!("cannot launch `{} app-server`: is it an executable codex binary?", missing.display())
    );
}

#[test]
fn fake_app_server_path_is_the_built_binary() {
    assert_eq!(fake_app_server_path(), PathBuf::from(env!("CARGO_BIN_EXE_fake-app-server")));
}

/// The real runtime named by `CODEX_RUNTIME_REAL_CODEX` (its `bin/codex`), expected to be
/// version `CODEX_RUNTIME_REAL_CODEX_VERSION` (default 0.163.0). Skipped when unset.
#[test]
fn real_runtime() {
    let Some(codex) = std::env::var_os("CODEX_RUNTIME_REAL_CODEX") else {
        eprintln!("note: CODEX_RUNTIME_REAL_CODEX is not set; skipping the real-runtime check");
        return;
    };
    let codex = PathBuf::from(codex);
    let version = std::env::var("CODEX_RUNTIME_REAL_CODEX_VERSION").unwrap_or_else(|_| "0.163.0".into());
    let runtime_root = codex.parent().and_then(Path::parent).expect("the entrypoint is ROOT/bin/codex");
    let mut options = CheckOptions::new(&codex);
    options.timeout = Duration::from_secs(30);
    options.expected.version = ExpectedVersion::Exact(version.clone());
    let path_dir = runtime_root.join("codex-path");
    options.path_dir = path_dir.is_dir().then_some(path_dir);

    let report = check(&options).expect("the real runtime starts");
    assert!(report.ok, "{:#?}", report);
    assert_eq!(report.version.as_deref(), Some(version.as_str()));
    assert_eq!(report.platform_os.as_deref(), Some(std::env::consts::OS));
    let codex_home = report.codex_home.as_deref().expect("codexHome");
    assert!(!Path::new(codex_home).exists(), "{codex_home} was left behind");

    #[cfg(target_os = "linux")]
    {
        let root = runtime_root.canonicalize().unwrap();
        let left: Vec<PathBuf> = std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|entry| std::fs::read_link(entry.ok()?.path().join("exe")).ok())
            .filter(|exe| exe.starts_with(&root))
            .collect();
        assert!(left.is_empty(), "processes left behind: {left:?}");
    }
}
