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
