//! check, install --check and exec against the fake app-server and fixture runtimes.

use codex_runtime_test_support::app_server::{FakeMode, MODE_ENV, VERSION_ENV, fake_app_server_path};
use codex_runtime_test_support::fixture::FixtureRuntime;

use crate::common::*;

/// A fixture runtime whose entrypoint runs the fake app-server.
fn fake_runtime() -> Fixture {
    let script = format!("#!/bin/sh\nexec '{}' \"$@\"\n", fake_app_server_path().display());
    Fixture::of(FixtureRuntime::linux_x64("0.163.0", "0.163.0").with_file("bin/codex", script.as_bytes()), "stable")
}

#[test]
fn check_of_a_well_behaved_server_is_ok() {
    let env = Env::new();
    let manifest = env.manifest(&Fixture::stable().manifest);
    let out = env
        .cmd()
        .args(["check", "--json", "--manifest", &manifest, "--target", LINUX, "--codex-bin"])
        .arg(fake_app_server_path())
        .env(MODE_ENV, "well-behaved")
        .env(VERSION_ENV, "0.163.0")
        .output()
        .unwrap();
    assert_code(&out, 0);
    let report = stdout_json(&out);
    assert_eq!(report["ok"], true);
    assert_eq!(report["version"], "0.163.0");
    assert_eq!(report["expected"], "0.163.0");
    assert_eq!(report["platform_os"], "linux");
    assert!(report["problems"].as_array().unwrap().is_empty());
}

#[test]
fn misbehaving_servers_are_incompatible_with_exit_6_and_evidence() {
    let env = Env::new();
    let manifest = env.manifest(&Fixture::stable().manifest);
    let cases = [
        (FakeMode::WrongVersion, "0.1.0"),
        (FakeMode::WrongOs, "platformOs"),
        (FakeMode::OldShape, "codexHome"),
        (FakeMode::ErrorResponse, "error"),
        (FakeMode::Garbage, "not JSON"),
        (FakeMode::Hang, "1"),
        (FakeMode::ExitEarly, "exit"),
    ];
    for (mode, evidence) in cases {
        let out = env
            .cmd()
            .args(["check", "--manifest", &manifest, "--target", LINUX, "--timeout", "1", "--codex-bin"])
            .arg(fake_app_server_path())
            .env(MODE_ENV, mode.as_str())
            .output()
            .unwrap();
        assert_code(&out, 6);
        let stderr = text(&out.stderr);
        assert!(stderr.contains("incompatible runtime") && stderr.contains(evidence), "{mode:?}: {stderr}");
        // Regression: a right version with other problems read "expected 0.163.0, it reported 0.163.0".
        if mode == FakeMode::OldShape {
            assert!(stderr.contains("codex 0.163.0 answered, but"), "{stderr}");
        }
    }
}

#[test]
fn require_accepts_a_semver_range_instead_of_the_pin() {
    let env = Env::new();
    let manifest = env.manifest(&Fixture::stable().manifest);
    let run = |req: &str| {
        env.cmd()
            .args(["check", "--json", "--manifest", &manifest, "--target", LINUX, "--require", req, "--codex-bin"])
            .arg(fake_app_server_path())
            .env(MODE_ENV, "well-behaved")
            .env(VERSION_ENV, "0.163.2")
            .output()
            .unwrap()
    };
    assert_code(&run(">=0.163, <0.164"), 0);
    let out = run(">=0.164");
    assert_code(&out, 6);
    assert_eq!(stdout_json(&out)["expected"], ">=0.164");
    assert_code(&run("not a requirement"), 2);
}

#[test]
fn install_check_installs_then_runs_the_handshake() {
    let env = Env::new();
    let fixture = fake_runtime();
    let manifest = env.manifest(&fixture.manifest);
    let npm = env.path(&fixture.runtime.npm_file_name());
    std::fs::write(&npm, &fixture.npm).unwrap();
    assert_code(&env.cmd().args(["import", "--manifest", &manifest]).arg(&npm).output().unwrap(), 0);

    let out = env
        .cmd()
        .args(["install", "--check", "--json", "--manifest", &manifest, "--target", LINUX])
        .env(MODE_ENV, "well-behaved")
        .env(VERSION_ENV, "0.163.0")
        .output()
        .unwrap();
    assert_code(&out, 0);
    let doc = stdout_json(&out);
    assert_eq!(doc["cached"], true);
    assert_eq!(doc["check"]["ok"], true);

    let out = env
        .cmd()
        .args(["install", "--check", "--manifest", &manifest, "--target", LINUX])
        .env(MODE_ENV, "well-behaved")
        .env(VERSION_ENV, "0.160.0")
        .output()
        .unwrap();
    assert_code(&out, 6);
}

#[test]
fn exec_passes_arguments_path_and_exit_status_through() {
    let env = Env::new();
    let script = "#!/bin/sh\necho \"args=$*\"\necho \"path=$PATH\"\nexit 7\n";
    let fixture = Fixture::of(
        FixtureRuntime::linux_x64("0.163.0", "0.163.0").with_file("bin/codex", script.as_bytes()),
        "stable",
    );
    let manifest = env.manifest(&fixture.manifest);
    let npm = env.path(&fixture.runtime.npm_file_name());
    std::fs::write(&npm, &fixture.npm).unwrap();
    assert_code(&env.cmd().args(["import", "--manifest", &manifest]).arg(&npm).output().unwrap(), 0);

    let out =
        env.run(&["exec", "--manifest", &manifest, "--target", LINUX, "--offline", "--", "exec", "--json", "hi there"]);
    assert_code(&out, 7);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("args=exec --json hi there"), "{stdout}");
    let codex_path = env.cache().join("runtimes/0.163.0").join(LINUX).join("codex-path");
    assert!(stdout.contains(&format!("path={}:", codex_path.display())), "{stdout}");
}

/// Regression: a server killed at the timeout left what it had started running.
#[cfg(target_os = "linux")]
#[test]
fn a_killed_server_takes_what_it_started_with_it() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let manifest = env.manifest(&Fixture::stable().manifest);
    let pid_file = env.path("grandchild.pid");
    let server = env.path("slow-server");
    std::fs::write(&server, "#!/bin/sh\nsleep 300 &\necho $! > \"$GRANDCHILD_PID\"\nread line\nsleep 300\n").unwrap();
    std::fs::set_permissions(&server, std::fs::Permissions::from_mode(0o755)).unwrap();

    let out = env
        .cmd()
        .args(["check", "--manifest", &manifest, "--target", LINUX, "--timeout", "1", "--codex-bin"])
        .arg(&server)
        .env("GRANDCHILD_PID", &pid_file)
        .output()
        .unwrap();
    assert_code(&out, 6);
    let pid = std::fs::read_to_string(&pid_file).unwrap().trim().to_owned();
    // Gone, or a zombie until init reaps it: at most 50 checks, 20 ms apart.
    let alive = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|stat| stat.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')))
    };
    let mut checks = 0;
    while alive() && checks < 50 {
        std::thread::sleep(std::time::Duration::from_millis(20));
        checks += 1;
    }
    assert!(!alive(), "the server's child {pid} outlived the check");
}

#[test]
fn a_server_lingering_after_stdin_closes_passes_with_a_warning() {
    let env = Env::new();
    let manifest = env.manifest(&Fixture::stable().manifest);
    let out = env
        .cmd()
        .args(["check", "--json", "--manifest", &manifest, "--target", LINUX, "--codex-bin"])
        .arg(fake_app_server_path())
        .env(MODE_ENV, FakeMode::IgnoreStdinClose.as_str())
        .env(VERSION_ENV, "0.163.0")
        .output()
        .unwrap();
    assert_code(&out, 0);
    let report = stdout_json(&out);
    assert_eq!(report["ok"], true, "{report}");
    assert!(report["problems"].as_array().unwrap().is_empty(), "{report}");
    let warnings = report["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{report}");
    assert!(warnings[0].as_str().unwrap().contains("still running 2s after its stdin closed"), "{report}");
}
