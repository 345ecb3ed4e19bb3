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

    // The install took each file's digest from the embedded pins instead of hashing it; hashing
    // the installed files now shows those pins are the real archive's.
    let verify = env.cmd().args(["cache", "verify", "--json"]).output().unwrap();
    assert_code(&verify, 0);
    let verified = stdout_json(&verify);
    assert_eq!(verified["runtimes"][0]["problems"], serde_json::json!([]), "{verified}");

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

/// The real 0.163.0 and 0.171.0 for this host, installed into `env`'s cache from their npm
/// tarballs (fetched once with `npm pack`) through a local mirror directory.
fn install_real_pair(env: &Env) {
    let target = Target::host().unwrap();
    let mirror = env.path("real-mirror");
    std::fs::create_dir_all(&mirror).unwrap();
    for version in ["0.163.0", "0.171.0"] {
        let tarball = codex_runtime_test_support::registries::real_npm_tarball(version, target.npm_suffix());
        std::fs::copy(&tarball, mirror.join(tarball.file_name().unwrap())).unwrap();
        let out = env
            .cmd()
            .args(["install", "--version", version, "--source", "mirror", "--mirror"])
            .arg(&mirror)
            .output()
            .unwrap();
        assert_code(&out, 0);
    }
}

#[test]
fn the_real_protocols_of_0_163_and_0_171_are_pinned_and_diffed() {
    let env = Env::new();
    install_real_pair(&env);
    let manifests = Manifests::embedded();
    for (version, methods, v2_types) in [("0.163.0", 105, 279), ("0.171.0", 110, 292)] {
        let out = env.cmd().args(["protocol", "schema", "--json", "--offline", "--version", version]).output().unwrap();
        assert_code(&out, 0);
        let doc = stdout_json(&out);
        let pin = manifests.version(&version.parse().unwrap()).unwrap().protocol.clone().expect("a protocol pin");
        assert_eq!(doc["sha256"], pin.sha256.to_string(), "{version}");
        assert_eq!(doc["client_requests"], methods);
        assert_eq!(doc["v2_types"], v2_types);
    }

    let out = env.cmd().args(["protocol", "diff", "--json", "--offline", "0.163.0", "0.171.0"]).output().unwrap();
    let diff = stdout_json(&out);
    let added = [
        "account/securitySetup/read",
        "feedback/save",
        "modelProvider/config/write",
        "modelProvider/default/set",
        "modelProvider/list",
    ];
    assert_eq!(diff["methods"]["added"], serde_json::json!(added));
    assert_eq!(diff["methods"]["removed"], serde_json::json!([]));
    assert_eq!(diff["notifications"]["removed"], serde_json::json!([]));
    assert_eq!(diff["server_requests"], serde_json::json!({"added": [], "removed": []}));
    // Measured: 0.171.0 answers `review/start` with `"delivery": "detached"`, which 0.163.0
    // accepts, with "unknown variant `detached`, expected `inline`": the one breaking change.
    assert_eq!(
        diff["changes"][0],
        serde_json::json!({"type": "ReviewDelivery", "field": "", "change": "enum value \"detached\" removed"})
    );
    assert_eq!(diff["compatible"], false);
    assert_code(&out, 6);

    let out = env.cmd().args(["protocol", "diff", "--json", "--offline", "0.171.0", "0.163.0"]).output().unwrap();
    assert_code(&out, 6);
    let reverse = stdout_json(&out);
    assert_eq!(reverse["methods"]["removed"], serde_json::json!(added));
    assert_eq!(reverse["compatible"], false);

    // Each real runtime speaks the protocol pinned for the version it reports.
    for version in ["0.163.0", "0.171.0"] {
        let out = env.cmd().args(["check", "--json", "--offline", "--version", version]).output().unwrap();
        assert_code(&out, 0);
    }
    // A 0.171.0 binary checked as 0.163.0's pin fails on its version; for a client of 0.163.0
    // it fails on the protocol, naming what breaks.
    let out =
        env.cmd().args(["check", "--offline", "--version", "0.171.0", "--client-version", "0.163.0"]).output().unwrap();
    assert_code(&out, 6);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("a client generated against 0.163.0 cannot talk to it: 5 methods added"), "{stderr}");
    assert!(stderr.contains("ReviewDelivery: enum value \"detached\" removed"), "{stderr}");
}
