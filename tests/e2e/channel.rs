//! channel show and channel update against a loopback npm registry, Python index and GitHub.

use std::process::Command;

use codex_runtime_test_support::fixture::{FixtureRuntime, integrity, noise, sha256_hex};
use codex_runtime_test_support::http::TestServer;
use serde_json::{Value, json};

use crate::bundle::SixTargets;
use crate::common::*;

/// Serve the six fixtures as a registry (`/registry/`), an index (`/simple/`) and a GitHub
/// release (`/github/`), leaving out the npm packages and wheels named.
fn serve(server: &TestServer, six: &SixTargets, no_npm: &[&str], no_wheel: &[&str]) {
    let mut versions = serde_json::Map::new();
    let mut files = Vec::new();
    for f in &six.fixtures {
        let r = &f.runtime;
        if !no_npm.contains(&r.target.as_str()) {
            f.serve_npm(server);
            versions.insert(
                format!("0.163.0-{}", r.npm_suffix),
                json!({"name": "@openai/codex", "dist": {
                    "tarball": format!("{}{}", server.url(), f.npm_registry_path()),
                    "integrity": integrity(&f.npm),
                }}),
            );
        }
        if !no_wheel.contains(&r.target.as_str()) {
            server.add(&format!("/files/{}", r.wheel_file_name()), f.wheel.clone());
            files.push(json!({
                "filename": r.wheel_file_name(),
                "url": format!("../../files/{}", r.wheel_file_name()),
                "hashes": {"sha256": sha256_hex(&f.wheel)},
            }));
        }
        server.add(&format!("/github/rust-v0.163.0/{}", r.github_asset_name()), r.github_tgz());
    }
    let packument = json!({"name": "@openai/codex", "versions": versions});
    server.add("/registry/@openai%2fcodex", packument.to_string().into_bytes());
    let page = json!({"meta": {"api-version": "1.1"}, "name": "openai-codex-cli-bin", "files": files});
    server.add("/simple/openai-codex-cli-bin/", page.to_string().into_bytes());
}

fn update(env: &Env, server: &TestServer, extra: &[&str]) -> std::process::Output {
    let registry = format!("{}/registry/", server.url());
    let index = format!("{}/simple/", server.url());
    let mut cmd = env.cmd();
    cmd.args(["channel", "update", "stable", "--version", "0.163.0", "--npm-registry", &registry]);
    cmd.args(["--pypi-index", &index]).args(extra);
    cmd.env("CODEX_RUNTIME_GITHUB_BASE_URL", format!("{}/github", server.url()));
    cmd.output().unwrap()
}

/// The block pins of an artifact, computed here independently: the sha256 of each 8 MiB.
fn blocks(artifact: &[u8]) -> Value {
    json!({"size": 8 << 20, "sha256": artifact.chunks(8 << 20).map(sha256_hex).collect::<Vec<_>>()})
}

/// The sum of a zip's member sizes, as Python's zipfile reads them.
fn zip_unpacked_size(bytes: &[u8], dir: &std::path::Path) -> u64 {
    let path = dir.join("probe.whl");
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("python3")
        .args(["-c", "import sys, zipfile; print(sum(i.file_size for i in zipfile.ZipFile(sys.argv[1]).infolist()))"])
        .arg(&path)
        .output()
        .unwrap();
    text(&out.stdout).trim().parse().unwrap()
}

#[test]
fn update_recomputes_the_manifest_from_the_registries() {
    let env = Env::new();
    let six = SixTargets::new();
    let server = TestServer::start();
    serve(&server, &six, &[], &["aarch64-pc-windows-msvc"]);
    let out = env.path("stable.json");

    let output = update(&env, &server, &["--out", out.to_str().unwrap()]);
    assert_code(&output, 0);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(
            "aarch64-pc-windows-msvc: pypi: openai_codex_cli_bin-0.163.0-py3-none-win_arm64.whl is not listed"
        ),
        "{stderr}"
    );
    let written = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text(&output.stdout), written, "prints what it writes");

    // What the fixtures pin, with what only the artifacts themselves say filled in.
    let mut expected = six.manifest.clone();
    for f in &six.fixtures {
        let t = &mut expected["targets"][&f.runtime.target];
        t["artifacts"]["wheel"]["unpacked_size"] = zip_unpacked_size(&f.wheel, env.dir.path()).into();
        t["artifacts"]["npm"]["blocks"] = blocks(&f.npm);
        t["artifacts"]["wheel"]["blocks"] = blocks(&f.wheel);
        // What each artifact leaves out of the target's files, and the package.json fields
        // (the fixture's package.json has none of those a package document repeats).
        t["artifacts"]["npm"]["omits"] = serde_json::json!(["__init__.py"]);
        t["artifacts"]["npm"]["package_json"] = serde_json::json!({});
        t["artifacts"]["wheel"]["omits"] = serde_json::json!([]);
        let github = f.runtime.github_tgz();
        t["artifacts"]["github"]["sha256"] = sha256_hex(&github).into();
        t["artifacts"]["github"]["size"] = github.len().into();
    }
    let windows = &mut expected["targets"]["aarch64-pc-windows-msvc"];
    windows["artifacts"].as_object_mut().unwrap().remove("wheel");
    windows["artifacts"]["npm"]["omits"] = serde_json::json!([]);
    // Without its wheel, the wheel's own `__init__.py` is no file of that target.
    windows["files"].as_array_mut().unwrap().retain(|f| f["path"] != "__init__.py");
    let got: Value = serde_json::from_str(&written).unwrap();
    assert_eq!(got, expected);

    // The repository's deterministic format: `channel show` of the file prints it byte for byte.
    let shown = env.run(&["channel", "show", "stable", "--manifest", out.to_str().unwrap()]);
    assert_code(&shown, 0);
    assert_eq!(text(&shown.stdout), written);

    // And it pins what it says: an install against it verifies.
    let mirror = six.fixture(LINUX).serve_mirror(&server);
    let installed = env.run(&[
        "install",
        "--manifest",
        out.to_str().unwrap(),
        "--target",
        LINUX,
        "--source",
        "mirror",
        "--mirror",
        &mirror,
    ]);
    assert_code(&installed, 0);
}

#[test]
fn update_pins_each_8_mib_block_of_the_npm_tarball_and_the_wheel() {
    let env = Env::new();
    let mut six = SixTargets::new();
    // Incompressible bytes make both artifacts of one target span two blocks.
    let big = FixtureRuntime::new("0.163.0", "0.163.0", LINUX, "linux-x64", "manylinux_2_17_x86_64")
        .with_file("codex-resources/big", &noise(9 << 20, 7));
    let linux = six.fixtures.iter_mut().find(|f| f.runtime.target == LINUX).unwrap();
    *linux = Fixture::of(big, "stable");
    let server = TestServer::start();
    serve(&server, &six, &[], &[]);

    let output = update(&env, &server, &["--no-github"]);
    assert_code(&output, 0);
    let got: Value = serde_json::from_slice(&output.stdout).unwrap();
    for f in &six.fixtures {
        let artifacts = &got["targets"][&f.runtime.target]["artifacts"];
        assert_eq!(artifacts["npm"]["blocks"], blocks(&f.npm), "{}", f.runtime.target);
        assert_eq!(artifacts["wheel"]["blocks"], blocks(&f.wheel), "{}", f.runtime.target);
    }
    let linux = &got["targets"][LINUX]["artifacts"];
    for artifact in ["npm", "wheel"] {
        let pinned = linux[artifact]["blocks"]["sha256"].as_array().unwrap();
        assert_eq!(pinned.len(), 2, "{artifact}: {pinned:?}");
        assert_ne!(pinned[0], pinned[1], "{artifact}");
    }
}

#[test]
fn a_target_published_nowhere_is_left_out_and_named() {
    let env = Env::new();
    let six = SixTargets::new();
    let server = TestServer::start();
    serve(&server, &six, &["aarch64-apple-darwin"], &["aarch64-apple-darwin"]);
    let out = env.path("stable.json");

    let output = update(&env, &server, &["--out", out.to_str().unwrap(), "--no-github"]);
    assert_code(&output, 0);
    let stderr = text(&output.stderr);
    assert!(stderr.contains("aarch64-apple-darwin: not published on any source"), "{stderr}");
    assert!(stderr.contains("@openai/codex@0.163.0-darwin-arm64 is not published"), "{stderr}");
    assert!(stderr.contains("the version is pinned without it"), "{stderr}");
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let targets: Vec<&String> = written["targets"].as_object().unwrap().keys().collect();
    assert_eq!(targets.len(), 5, "{targets:?}");
    assert!(!targets.iter().any(|t| *t == "aarch64-apple-darwin"), "{targets:?}");
}

#[test]
fn a_version_published_for_no_target_fails_the_update_by_name() {
    let env = Env::new();
    let six = SixTargets::new();
    let server = TestServer::start();
    let all: Vec<&str> = six.fixtures.iter().map(|f| f.runtime.target.as_str()).collect();
    serve(&server, &six, &all, &all);
    let out = env.path("stable.json");

    let output = update(&env, &server, &["--out", out.to_str().unwrap(), "--no-github"]);
    assert_code(&output, 5);
    let stderr = text(&output.stderr);
    assert!(stderr.contains("6 of 6 targets could not be pinned"), "{stderr}");
    assert!(stderr.contains("aarch64-apple-darwin: not published on any source"), "{stderr}");
    assert!(!out.exists());
}

#[test]
fn an_artifact_that_disagrees_with_its_registry_fails_with_exit_4() {
    let env = Env::new();
    let six = SixTargets::new();
    let server = TestServer::start();
    serve(&server, &six, &[], &[]);
    // The registry serves other bytes than its document's integrity.
    server.add(&six.fixture(LINUX).npm_registry_path(), b"not the tarball".to_vec());

    let output = update(&env, &server, &["--no-github"]);
    assert_code(&output, 4);
    let stderr = text(&output.stderr);
    assert!(stderr.contains("x86_64-unknown-linux-musl: openai-codex-0.163.0-linux-x64.tgz from"), "{stderr}");
    assert!(stderr.contains("sha512 integrity mismatch"), "{stderr}");
}

#[test]
fn show_prints_the_embedded_manifest_as_committed() {
    let env = Env::new();
    for channel in ["stable", "alpha"] {
        let output = env.run(&["channel", "show", channel]);
        assert_code(&output, 0);
        let channels = format!("{}/../../channels", env!("CARGO_MANIFEST_DIR"));
        let heads: Value =
            serde_json::from_str(&std::fs::read_to_string(format!("{channels}/heads.json")).unwrap()).unwrap();
        let head = heads[channel].as_str().unwrap();
        let committed = std::fs::read_to_string(format!("{channels}/versions/{head}.json"));
        assert_eq!(text(&output.stdout), committed.unwrap());
    }
}
