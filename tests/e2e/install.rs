//! install, path, import, list against fixture runtimes on a loopback server.

use std::os::unix::fs::PermissionsExt;

use codex_runtime_test_support::http::{Fault, TestServer};

use codex_runtime_test_support::fixture::sha256_hex;

use serde_json::{Value, json};

use crate::common::*;

#[test]
fn installs_from_an_http_mirror_then_answers_from_the_cache() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let server = TestServer::start();
    let mirror = fixture.serve_mirror(&server);
    let manifest = env.manifest(&fixture.manifest);
    let args =
        ["install", "--manifest", &manifest, "--target", LINUX, "--source", "mirror", "--mirror", &mirror, "--json"];

    let first = env.run(&args);
    assert_code(&first, 0);
    let json = stdout_json(&first);
    assert_eq!(json["version"], "0.163.0");
    assert_eq!(json["target"], LINUX);
    assert_eq!(json["source"], "mirror");
    assert_eq!(json["cached"], false);
    assert_eq!(json["sha256"], sha256_hex(&fixture.runtime.entrypoint().contents));
    let entrypoint = std::path::PathBuf::from(json["path"].as_str().unwrap());
    assert_eq!(entrypoint, env.cache().join("runtimes/0.163.0").join(LINUX).join("bin/codex"));
    assert_eq!(std::fs::metadata(&entrypoint).unwrap().permissions().mode() & 0o777, 0o755);
    let ran = std::process::Command::new(&entrypoint).arg("--version").output().unwrap();
    assert_eq!(text(&ran.stdout), "codex-cli 0.163.0\n");
    // The wheel is preferred; the npm tarball was never asked for.
    assert_eq!(server.hits(&format!("/mirror/{}", fixture.runtime.wheel_file_name())), 1);
    assert_eq!(server.hits(&format!("/mirror/{}", fixture.runtime.npm_file_name())), 0);

    let second = env.run(&args);
    assert_code(&second, 0);
    let again = stdout_json(&second);
    assert_eq!(again["cached"], true);
    assert_eq!(again["path"], json["path"]);
    assert_eq!(server.requests().len(), 1, "a cached install must not touch the network");

    // Only the runtime is left: no scratch files.
    let listing = env.cache_listing();
    assert!(listing.iter().all(|p| !p.starts_with("tmp/")), "{listing:?}");
}

#[test]
fn installs_from_a_fake_npm_registry_verifying_integrity() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let server = TestServer::start();
    let registry = fixture.serve_npm(&server);
    let manifest = env.manifest(&fixture.manifest);

    let out =
        env.run(&["path", "--manifest", &manifest, "--target", LINUX, "--source", "npm", "--npm-registry", &registry]);
    assert_code(&out, 0);
    let path = text(&out.stdout);
    assert_eq!(path.trim(), env.cache().join("runtimes/0.163.0").join(LINUX).join("bin/codex").display().to_string());
    assert_eq!(server.hits(&fixture.npm_registry_path()), 1);
    let receipt: serde_json::Value = serde_json::from_slice(
        &std::fs::read(env.cache().join("runtimes/0.163.0").join(LINUX).join(".codex-runtime-receipt.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(receipt["source"], "npm");
    assert_eq!(receipt["artifact"]["kind"], "npm");
    assert_eq!(receipt["artifact"]["sha256"], sha256_hex(&fixture.npm));
    // npm carries no package.json or README into the runtime root.
    let files: Vec<&str> = receipt["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert!(files.contains(&"codex-path/rg") && !files.contains(&"package.json"), "{files:?}");
}

#[test]
fn the_registry_comes_from_npmrc_when_nothing_else_names_one() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let server = TestServer::start();
    let registry = fixture.serve_npm(&server);
    std::fs::write(env.path(".npmrc"), format!("registry={registry}\n")).unwrap();
    let manifest = env.manifest(&fixture.manifest);

    let out = env.run(&["install", "--manifest", &manifest, "--target", LINUX, "--source", "npm"]);
    assert_code(&out, 0);
    assert_eq!(server.hits(&fixture.npm_registry_path()), 1);
}

#[test]
fn a_tampered_artifact_is_refused_with_exit_4_and_the_cache_untouched() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let server = TestServer::start();
    let mirror = fixture.serve_mirror(&server);
    let mut tampered = fixture.wheel.clone();
    let n = tampered.len();
    tampered[n / 2] ^= 0xff;
    server.add(&format!("/mirror/{}", fixture.runtime.wheel_file_name()), tampered);
    let mut bad_npm = fixture.npm.clone();
    bad_npm[100] ^= 0x01;
    server.add(&format!("/mirror/{}", fixture.runtime.npm_file_name()), bad_npm);
    let manifest = env.manifest(&fixture.manifest);

    let out =
        env.run(&["install", "--manifest", &manifest, "--target", LINUX, "--source", "mirror", "--mirror", &mirror]);
    assert_code(&out, 4);
    let stderr = text(&out.stderr);
    // The fixture's wheel is one block: its only block pin is the whole file's digest.
    assert!(stderr.contains("block 0 (bytes 0..") && stderr.contains("does not match its pin"), "{stderr}");
    assert!(stderr.contains(&sha256_hex(&fixture.wheel)), "names the expected digest: {stderr}");
    assert!(stderr.contains(&fixture.runtime.wheel_file_name()) && stderr.contains(&mirror), "{stderr}");
    let listing = env.cache_listing();
    assert!(listing.iter().all(|p| !p.starts_with("runtimes/0.163.0/")), "nothing installed: {listing:?}");
    assert!(listing.iter().all(|p| !p.starts_with("tmp/")), "nothing left in tmp: {listing:?}");
}

#[test]
fn an_archive_with_the_right_digest_but_a_wrong_entrypoint_is_refused() {
    let env = Env::new();
    let good = Fixture::stable();
    // Pin the archives of a runtime whose entrypoint differs from the pinned entrypoint.
    let evil = good.runtime.clone().with_file("bin/codex", b"#!/bin/sh\necho pwned\n");
    let evil = Fixture::of(evil, "stable");
    let pin = good.manifest["targets"][LINUX]["entrypoint"].clone();
    let mut manifest = evil.manifest.clone();
    manifest["targets"][LINUX]["entrypoint"] = pin.clone();
    // The per-file pins list the entrypoint as pinned (else the manifest is invalid); without
    // them, the entrypoint pin alone must catch it.
    let mut without_files = manifest.clone();
    without_files["targets"][LINUX].as_object_mut().unwrap().remove("files");
    for file in manifest["targets"][LINUX]["files"].as_array_mut().unwrap() {
        if file["path"] == "bin/codex" {
            *file = pin.clone();
        }
    }
    let server = TestServer::start();
    let mirror = evil.serve_mirror(&server);

    for (manifest, names) in [(without_files, "entrypoint bin/codex"), (manifest, "bin/codex")] {
        let manifest = env.manifest(&manifest);
        let args = ["install", "--manifest", &manifest, "--target", LINUX, "--source", "mirror", "--mirror", &mirror];
        let out = env.run(&args);
        assert_code(&out, 4);
        let stderr = text(&out.stderr);
        assert!(stderr.contains(names), "{stderr}");
        assert!(!env.cache().join("runtimes/0.163.0").join(LINUX).exists());
    }
}

/// Regression (eighth session): with the files' digests taken from the pins, a `--manifest`
/// whose file pin disagrees with its own archive was installed, and its receipt recorded a
/// digest that is not the file's. A given manifest's file pins are not proven, so its installs
/// hash every file.
#[test]
fn a_given_manifest_whose_file_pin_disagrees_with_its_archive_is_refused() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let mut manifest = fixture.manifest.clone();
    for file in manifest["targets"][LINUX]["files"].as_array_mut().unwrap() {
        if file["path"] == "codex-path/rg" {
            file["sha256"] = "0".repeat(64).into();
        }
    }
    let server = TestServer::start();
    let mirror = fixture.serve_mirror(&server);
    let manifest = env.manifest(&manifest);
    let args = ["install", "--manifest", &manifest, "--target", LINUX, "--source", "mirror", "--mirror", &mirror];
    let out = env.run(&args);
    assert_code(&out, 4);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("codex-path/rg") && stderr.contains(&"0".repeat(64)), "{stderr}");
    assert!(!env.cache().join("runtimes/0.163.0").join(LINUX).exists());
}

#[test]
fn a_download_truncated_on_every_try_falls_through_to_the_next_artifact() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let server = TestServer::start();
    let mirror = fixture.serve_mirror(&server);
    let wheel_path = format!("/mirror/{}", fixture.runtime.wheel_file_name());
    server.fault(&wheel_path, Fault::Truncate(100));
    let manifest = env.manifest(&fixture.manifest);

    let out = env
        .cmd()
        .env("CODEX_RUNTIME_RETRY_BASE_MS", "10")
        .env("CODEX_RUNTIME_RETRIES", "3")
        .args([
            "install",
            "--manifest",
            &manifest,
            "--target",
            LINUX,
            "--source",
            "mirror",
            "--mirror",
            &mirror,
            "--json",
        ])
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert!(text(&out.stderr).contains("warning: mirror"), "{}", text(&out.stderr));
    // The first try and three retries, each resuming where the last one broke off.
    assert_eq!(server.hits(&wheel_path), 4);
    assert_eq!(server.hits(&format!("/mirror/{}", fixture.runtime.npm_file_name())), 1);
}

#[test]
fn no_source_with_the_artifact_is_exit_5_listing_every_attempt() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let server = TestServer::start();
    let manifest = env.manifest(&fixture.manifest);
    let registry = fixture.serve_npm(&server);
    server.fault(&fixture.npm_registry_path(), Fault::Status(503));

    let mirror = format!("{}/empty", server.url());
    let out = env.run(&[
        "install",
        "--manifest",
        &manifest,
        "--target",
        LINUX,
        "--source",
        "mirror",
        "--source",
        "npm",
        "--mirror",
        &mirror,
        "--npm-registry",
        &registry,
    ]);
    assert_code(&out, 5);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("no source could provide codex 0.163.0 for x86_64-unknown-linux-musl"), "{stderr}");
    assert!(stderr.contains(&format!("mirror {mirror}/{}: not found", fixture.runtime.wheel_file_name())), "{stderr}");
    assert!(stderr.contains("HTTP 503"), "{stderr}");
}

#[test]
fn credentials_in_a_mirror_url_never_reach_messages() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let server = TestServer::start();
    let mirror = server.url().replace("http://", "http://user:hunter2@") + "/nothing";
    let manifest = env.manifest(&fixture.manifest);

    let out = env.run(&[
        "install",
        "--manifest",
        &manifest,
        "--target",
        LINUX,
        "--source",
        "mirror",
        "--mirror",
        &mirror,
        "--json",
    ]);
    assert_code(&out, 5);
    assert!(!text(&out.stderr).contains("hunter2") && !text(&out.stdout).contains("hunter2"));
    assert!(text(&out.stderr).contains("***@127.0.0.1"), "{}", text(&out.stderr));
}

#[test]
fn import_verifies_local_artifacts_and_refuses_unknown_ones() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let manifest = env.manifest(&fixture.manifest);
    let npm = env.path(&fixture.runtime.npm_file_name());
    std::fs::write(&npm, &fixture.npm).unwrap();

    let out = env.cmd().args(["import", "--manifest", &manifest, "--json"]).arg(&npm).output().unwrap();
    assert_code(&out, 0);
    let json = stdout_json(&out);
    assert_eq!(json[0]["source"], "import");
    assert_eq!(json[0]["cached"], false);

    let stray = env.path("codex.tgz");
    std::fs::write(&stray, b"x").unwrap();
    let out = env.cmd().args(["import", "--manifest", &manifest]).arg(&stray).output().unwrap();
    assert_code(&out, 2);
    assert!(text(&out.stderr).contains("is not an artifact any channel pins"), "{}", text(&out.stderr));
}

#[test]
fn import_of_a_tampered_file_is_exit_4() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let manifest = env.manifest(&fixture.manifest);
    let wheel = env.path(&fixture.runtime.wheel_file_name());
    let mut bytes = fixture.wheel.clone();
    bytes.truncate(bytes.len() - 10);
    std::fs::write(&wheel, bytes).unwrap();

    let out = env.cmd().args(["import", "--manifest", &manifest]).arg(&wheel).output().unwrap();
    assert_code(&out, 4);
    assert!(text(&out.stderr).contains("size mismatch"), "{}", text(&out.stderr));
}

#[test]
fn offline_and_no_install_are_exit_3_naming_the_artifact() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let manifest = env.manifest(&fixture.manifest);

    let out = env.run(&["install", "--offline", "--manifest", &manifest, "--target", LINUX]);
    assert_code(&out, 3);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("--offline"), "{stderr}");
    assert!(stderr.contains(&fixture.runtime.wheel_file_name()), "{stderr}");

    let out = env.run(&["path", "--no-install", "--manifest", &manifest, "--target", LINUX, "--json"]);
    assert_code(&out, 3);
    assert_eq!(stdout_json(&out)["error"]["exit_code"], 3);
}

#[test]
fn offline_installs_from_a_local_mirror_directory() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let mirror = env.path("mirror");
    std::fs::create_dir(&mirror).unwrap();
    std::fs::write(mirror.join(fixture.runtime.npm_file_name()), &fixture.npm).unwrap();
    let manifest = env.manifest(&fixture.manifest);

    let out = env
        .cmd()
        .args(["install", "--offline", "--manifest", &manifest, "--target", LINUX, "--mirror"])
        .arg(&mirror)
        .output()
        .unwrap();
    assert_code(&out, 0);
}

#[test]
fn list_shows_installed_and_available_runtimes() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let manifest = env.manifest(&fixture.manifest);
    let npm = env.path(&fixture.runtime.npm_file_name());
    std::fs::write(&npm, &fixture.npm).unwrap();
    assert_code(&env.cmd().args(["import", "--manifest", &manifest]).arg(&npm).output().unwrap(), 0);

    let out = env.run(&["list", "--json"]);
    assert_code(&out, 0);
    let rows = stdout_json(&out);
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["installed"], true);
    assert_eq!(rows[0]["target"], LINUX);

    let out = env.run(&["list", "--available", "--json"]);
    let rows = stdout_json(&out);
    // Every version the history pins, newest first, the heads marked.
    let rows = rows.as_array().unwrap();
    let pinned = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../channels/versions")).unwrap().count();
    assert_eq!(rows.len(), pinned, "{rows:?}");
    let versions: Vec<semver::Version> = rows.iter().map(|r| r["version"].as_str().unwrap().parse().unwrap()).collect();
    assert!(versions.windows(2).all(|w| w[0] > w[1]), "{versions:?}");
    let heads: Vec<(&str, &str)> = rows
        .iter()
        .filter(|r| r["head"] == true)
        .map(|r| (r["channel"].as_str().unwrap(), r["version"].as_str().unwrap()))
        .collect();
    assert_eq!(heads.iter().map(|h| h.0).collect::<Vec<_>>(), ["stable", "alpha"], "{heads:?}");
    let installed: Vec<&Value> = rows.iter().filter(|r| !r["installed"].as_array().unwrap().is_empty()).collect();
    assert_eq!(installed.len(), 1);
    assert_eq!(installed[0]["version"], "0.163.0");
    assert_eq!(installed[0]["installed"], json!([LINUX]));
    assert_eq!(installed[0]["targets"].as_array().unwrap().len(), 6);

    let out = env.run(&["list", "--available"]);
    assert_code(&out, 0);
    let table = text(&out.stdout);
    assert!(table.starts_with("VERSION "), "{table}");
    assert!(table.contains("stable (head)") && table.contains("alpha (head)"), "{table}");
    let line = table.lines().find(|l| l.starts_with("0.163.0 ")).unwrap();
    assert!(line.contains("all 6") && line.ends_with(LINUX), "{line}");
}

#[test]
fn usage_errors_are_exit_2_and_list_what_is_supported() {
    let env = Env::new();
    let out = env.run(&["path", "--target", "x86_64-unknown-linux-gnu"]);
    assert_code(&out, 2);
    assert!(text(&out.stderr).contains("aarch64-apple-darwin"), "{}", text(&out.stderr));

    let out = env.run(&["path", "--version", "0.1.0", "--offline"]);
    assert_code(&out, 2);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("codex 0.1.0 is not pinned by this build (it pins "), "{stderr}");
    assert!(stderr.contains("and the pre-release 0.162.0-alpha.15)"), "{stderr}");
    assert!(
        stderr.contains("`codex-runtime channel update stable --version 0.1.0 --out codex-0.1.0.json`"),
        "{stderr}"
    );

    let out = env.run(&["path", "--channel", "nightly"]);
    assert_code(&out, 2);
}

#[test]
fn a_broken_manifest_names_the_file_and_the_field() {
    let env = Env::new();
    let mut manifest = Fixture::stable().manifest;
    manifest["targets"][LINUX]["entrypoint"]["sha256"] = "nothex".into();
    let path = env.manifest(&manifest);
    let out = env.run(&["path", "--manifest", &path, "--target", LINUX]);
    assert_code(&out, 1);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&path) && stderr.contains("targets.x86_64-unknown-linux-musl.entrypoint.sha256"),
        "{stderr}"
    );
}

#[test]
fn both_version_spellings_select_the_alpha() {
    let env = Env::new();
    let fixture = Fixture::of(
        codex_runtime_test_support::fixture::FixtureRuntime::linux_x64("0.162.0-alpha.15", "0.162.0a15"),
        "alpha",
    );
    let manifest = env.manifest(&fixture.manifest);
    let npm = env.path(&fixture.runtime.npm_file_name());
    std::fs::write(&npm, &fixture.npm).unwrap();
    assert_code(&env.cmd().args(["import", "--manifest", &manifest]).arg(&npm).output().unwrap(), 0);
    for spelling in ["0.162.0-alpha.15", "0.162.0a15"] {
        let out = env.run(&["path", "--no-install", "--manifest", &manifest, "--version", spelling, "--target", LINUX]);
        assert_code(&out, 0);
    }
}
