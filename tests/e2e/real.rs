//! The real runtime: fetched with the ordinary package clients, served over loopback HTTP,
//! installed against the embedded pins, and run: the stable head (0.171.0, npm tarballs
//! only) and 0.163.0 (the last release with wheels on the Python index).

use std::path::{Path, PathBuf};
use std::process::Command;

use codex_runtime::{Channel, Manifest, Manifests, RuntimeVersion, Target};
use codex_runtime_test_support::http::TestServer;

use crate::common::*;

/// A directory holding `file`: `CODEX_RUNTIME_REAL_ARTIFACTS` when it has it (to reuse a
/// download), else a fresh `pip download` (a wheel) or `npm pack` (an npm tarball) into `dir`.
fn real_artifact_dir(dir: &Path, file: &str, fetch: &mut Command) -> PathBuf {
    if let Some(existing) = std::env::var_os("CODEX_RUNTIME_REAL_ARTIFACTS").map(PathBuf::from)
        && existing.join(file).is_file()
    {
        return existing;
    }
    std::fs::create_dir_all(dir).unwrap();
    let status = fetch.status().expect("python3 -m pip and npm must be available to fetch the real runtime");
    assert!(status.success(), "fetching the real runtime failed: {fetch:?}");
    assert!(dir.join(file).is_file(), "{fetch:?} did not write {file}");
    dir.to_owned()
}

/// Install `version` of the real runtime for the host from a loopback mirror, run it, and
/// check it with the real handshake.
fn install_and_check(version: &RuntimeVersion, selection: &[&str], wheel: bool) {
    let env = Env::new();
    let target = Target::host().unwrap();
    let manifests = Manifests::embedded();
    let manifest = manifests.version(version).unwrap();
    let pins = manifest.target(target).unwrap();
    let dir = env.path("mirror");
    let (file, mut fetch) = if wheel {
        let file = pins.artifacts.wheel.clone().expect("a wheel is pinned").file;
        let mut pip = Command::new("python3");
        pip.args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--platform", target.wheel_tag()])
            .arg(format!("openai-codex-cli-bin=={}", version.pep440()))
            .arg("-d")
            .arg(&dir);
        (file, pip)
    } else {
        let file = pins.artifacts.npm.clone().expect("an npm tarball is pinned").file;
        let mut npm = Command::new("npm");
        npm.args(["pack", "--silent", &format!("@openai/codex@{version}-{}", target.npm_suffix())])
            .arg("--pack-destination")
            .arg(&dir)
            .current_dir(&dir);
        (file, npm)
    };
    let dir = real_artifact_dir(&dir, &file, &mut fetch);
    // Served over loopback HTTP, so the real artifact goes through the block checks and is
    // extracted while it downloads.
    let server = TestServer::start();
    server.add_file(&format!("/mirror/{file}"), dir.join(&file));
    let mirror = format!("{}/mirror", server.url());

    let mut install = env.cmd();
    install.args(["-vv", "install", "--json", "--source", "mirror", "--mirror", &mirror]).args(selection);
    let out = install.output().unwrap();
    assert_code(&out, 0);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("extracted from its verified blocks as it downloaded"), "{stderr}");
    let json = stdout_json(&out);
    assert_eq!(json["version"], version.to_string());
    assert_eq!(json["sha256"], pins.entrypoint.sha256.to_string());

    let reported = Command::new(json["path"].as_str().unwrap()).arg("--version").output().unwrap();
    assert!(reported.status.success());
    assert_eq!(text(&reported.stdout).trim(), format!("codex-cli {version}"));

    let again = env.cmd().args(["path", "--json", "--offline"]).args(selection).output().unwrap();
    assert_code(&again, 0);
    assert_eq!(stdout_json(&again)["cached"], true);

    // The real handshake: the runtime reports the pinned version on this host's platform.
    let check = env.cmd().args(["check", "--json", "--offline"]).args(selection).output().unwrap();
    assert_code(&check, 0);
    let report = stdout_json(&check);
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["version"], version.to_string());
}

#[test]
fn installs_the_real_stable_head_from_its_npm_tarball_and_runs_it() {
    let head = Manifest::embedded(Channel::Stable).version;
    install_and_check(&head, &[], false);
}

#[test]
fn installs_the_real_0_163_wheel_by_a_partial_version_and_runs_it() {
    install_and_check(&"0.163.0".parse().unwrap(), &["--version", "0.163"], true);
}
