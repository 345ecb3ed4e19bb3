//! The manifest's `files`: every file of a runtime root must be one the pins list, with its
//! digest. This is all that verifies a source without an artifact digest (a GitHub package
//! pinned with `sha256: null`, a runtime npm or pip installed), so each test keeps the
//! entrypoint genuine and changes only another file.

use std::path::Path;
use std::process::{Command, Output};

use codex_runtime_test_support::fixture::FixtureRuntime;
use codex_runtime_test_support::http::TestServer;

use crate::common::*;

const TROJAN: &[u8] = b"#!/bin/sh\necho pwned\n";

/// The binary with a GitHub release base and no Python or npm installation of its own to find.
fn cmd(env: &Env, github: &str) -> Command {
    let mut cmd = env.cmd();
    cmd.env("CODEX_RUNTIME_GITHUB_BASE_URL", github)
        .env_remove("PYTHONPATH")
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env("npm_config_prefix", env.path("npm-global"));
    cmd
}

fn runtime_dir(env: &Env) -> std::path::PathBuf {
    env.cache().join("runtimes/0.163.0").join(LINUX)
}

/// Serve `runtime` as the GitHub package of 0.163.0 and install it from GitHub only.
fn install_from_github(env: &Env, fixture: &Fixture, github: &TestServer, runtime: &FixtureRuntime) -> Output {
    assert!(fixture.manifest["targets"][LINUX]["artifacts"]["github"]["sha256"].is_null(), "no artifact digest");
    github.add(&format!("/rust-v0.163.0/{}", runtime.github_asset_name()), runtime.github_tgz());
    let manifest = env.manifest(&fixture.manifest);
    cmd(env, &github.url())
        .args(["install", "--manifest", &manifest, "--target", LINUX, "--source", "github", "--json"])
        .output()
        .unwrap()
}

/// A refusal: exit 4, the file named, nothing installed.
fn assert_refused_naming(env: &Env, out: &Output, file: &str) {
    assert_code(out, 4);
    let stderr = text(&out.stderr);
    assert!(stderr.contains(file), "the refusal names {file}: {stderr}");
    assert_eq!(stdout_json(out)["error"]["exit_code"], 4);
    assert!(!runtime_dir(env).exists(), "nothing is installed: {:?}", env.cache_listing());
}

#[test]
fn a_github_package_with_a_trojan_beside_the_genuine_entrypoint_is_refused() {
    let (env, fixture, github) = (Env::new(), Fixture::stable(), TestServer::start());
    let trojan = fixture.runtime.clone().with_file("codex-path/rg", TROJAN);
    assert_eq!(trojan.entrypoint().contents, fixture.runtime.entrypoint().contents);

    let out = install_from_github(&env, &fixture, &github, &trojan);
    assert_refused_naming(&env, &out, "codex-path/rg");

    // The genuine package, from the same source into the same cache, installs.
    let out = install_from_github(&env, &fixture, &github, &fixture.runtime);
    assert_code(&out, 0);
    assert_eq!(stdout_json(&out)["source"], "github");
    assert_eq!(std::fs::read(runtime_dir(&env).join("codex-path/rg")).unwrap(), b"#!/bin/sh\necho rg-fixture\n");
}

#[test]
fn a_runtime_root_with_a_file_the_pins_do_not_list_is_refused() {
    let (env, fixture, github) = (Env::new(), Fixture::stable(), TestServer::start());
    let extra = fixture.runtime.clone().with_file("codex-path/evil", TROJAN);

    let out = install_from_github(&env, &fixture, &github, &extra);
    assert_refused_naming(&env, &out, "codex-path/evil");
}

/// Lay out `runtime` the way npm installs its platform package, under `dir/node_modules`.
fn npm_tree(dir: &Path, runtime: &FixtureRuntime) -> std::path::PathBuf {
    let root = dir.join("node_modules/@openai/codex-linux-x64/vendor").join(&runtime.target);
    for f in &runtime.files {
        let path = root.join(&f.path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &f.contents).unwrap();
        #[cfg(unix)]
        if f.executable {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    root
}

#[test]
fn an_installed_npm_runtime_with_a_trojan_is_refused() {
    let (env, fixture) = (Env::new(), Fixture::stable());
    let trojan = fixture.runtime.clone().with_file("codex-path/rg", TROJAN);
    let root = npm_tree(env.dir.path(), &trojan);
    let manifest = env.manifest(&fixture.manifest);
    let install = || {
        cmd(&env, "http://127.0.0.1:9/unreachable")
            .args(["install", "--manifest", &manifest, "--target", LINUX, "--source", "installed", "--json"])
            .output()
            .unwrap()
    };

    let out = install();
    assert_refused_naming(&env, &out, "codex-path/rg");
    assert!(text(&out.stderr).contains(&root.display().to_string()), "{}", text(&out.stderr));

    // The same tree with the genuine file is adopted.
    std::fs::write(root.join("codex-path/rg"), b"#!/bin/sh\necho rg-fixture\n").unwrap();
    let out = install();
    assert_code(&out, 0);
    assert_eq!(stdout_json(&out)["source"], "installed");
}
