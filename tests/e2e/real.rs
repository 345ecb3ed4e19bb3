//! The real runtime: fetched with the ordinary package client, served over loopback HTTP,
//! installed against the embedded stable pins, and run.

use std::path::PathBuf;
use std::process::Command;

use codex_runtime::{Channel, Manifest, Target};
use codex_runtime_test_support::http::TestServer;

use crate::common::*;

/// A directory holding the real stable wheel for the host: `CODEX_RUNTIME_REAL_ARTIFACTS` when
/// set (to reuse a download), else a fresh `pip download` into `dir`.
fn real_wheel_dir(dir: &std::path::Path, target: Target, file: &str) -> PathBuf {
    if let Some(existing) = std::env::var_os("CODEX_RUNTIME_REAL_ARTIFACTS").map(PathBuf::from)
        && existing.join(file).is_file()
    {
        return existing;
    }
    let version = Manifest::embedded(Channel::Stable).version.pep440();
    let status = Command::new("python3")
        .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--platform", target.wheel_tag()])
        .arg(format!("openai-codex-cli-bin=={version}"))
        .arg("-d")
        .arg(dir)
        .status()
        .expect("python3 -m pip must be available to fetch the real runtime");
    assert!(status.success(), "pip download of the real runtime failed");
    dir.to_owned()
}

#[test]
fn installs_the_real_stable_runtime_from_a_local_mirror_and_runs_it() {
    let env = Env::new();
    let target = Target::host().unwrap();
    let manifest = Manifest::embedded(Channel::Stable);
    let wheel = manifest.target(target).unwrap().artifacts.wheel.clone().expect("stable has a wheel for every target");
    let dir = real_wheel_dir(&env.path("mirror"), target, &wheel.file);
    // Served over loopback HTTP, so the real wheel goes through the block checks and is
    // extracted while it downloads.
    let server = TestServer::start();
    server.add_file(&format!("/mirror/{}", wheel.file), dir.join(&wheel.file));
    let mirror = format!("{}/mirror", server.url());

    let out = env.cmd().args(["-vv", "install", "--json", "--source", "mirror", "--mirror", &mirror]).output().unwrap();
    assert_code(&out, 0);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("extracted from its verified blocks as it downloaded"), "{stderr}");
    let json = stdout_json(&out);
    assert_eq!(json["version"], manifest.version.to_string());
    assert_eq!(json["sha256"], manifest.target(target).unwrap().entrypoint.sha256.to_string());

    let version = Command::new(json["path"].as_str().unwrap()).arg("--version").output().unwrap();
    assert!(version.status.success());
    assert_eq!(text(&version.stdout).trim(), format!("codex-cli {}", manifest.version));

    let again = env.cmd().args(["path", "--json", "--offline"]).output().unwrap();
    assert_code(&again, 0);
    assert_eq!(stdout_json(&again)["cached"], true);

    // The real handshake: the runtime reports the pinned version on this host's platform.
    let check = env.cmd().args(["check", "--json", "--offline"]).output().unwrap();
    assert_code(&check, 0);
    let report = stdout_json(&check);
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["version"], manifest.version.to_string());
}
