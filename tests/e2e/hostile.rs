//! Hostile artifacts that only the runtime root's checks catch: links that stay inside the
//! extraction directory but leave the root that is moved into the cache, a member posing as
//! the receipt, a fifo in a runtime pip or npm installed.

use std::process::Command;

use codex_runtime_test_support::fixture::FixtureRuntime;
use codex_runtime_test_support::http::TestServer;

use crate::common::*;

/// A tar.gz of regular files and symbolic links.
fn tar_gz(files: &[(String, Vec<u8>, u32)], links: &[(String, String)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    for (path, contents, mode) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(*mode);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, path, contents.as_slice()).unwrap();
    }
    for (path, target) in links {
        let mut header = tar::Header::new_gnu();
        header.set_size(0);
        header.set_mode(0o777);
        header.set_entry_type(tar::EntryType::Symlink);
        builder.append_link(&mut header, path, target).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// The fixture's runtime as a GitHub package whose root sits `depth` directories deep.
fn github_package(runtime: &FixtureRuntime, depth: usize, links: &[(String, String)]) -> Vec<u8> {
    let prefix: String = (0..depth).map(|i| format!("d{i}/")).collect();
    let files: Vec<_> = runtime
        .files
        .iter()
        .map(|f| (format!("{prefix}{}", f.path), f.contents.clone(), if f.executable { 0o755 } else { 0o644 }))
        .collect();
    let links: Vec<_> = links.iter().map(|(p, t)| (format!("{prefix}{p}"), t.clone())).collect();
    tar_gz(&files, &links)
}

/// Import `bytes` as the GitHub package of a fixture pinned by `manifest`.
fn import_github(
    env: &Env,
    manifest: &serde_json::Value,
    runtime: &FixtureRuntime,
    bytes: &[u8],
) -> std::process::Output {
    let manifest = env.manifest(manifest);
    let file = env.path(&runtime.github_asset_name());
    std::fs::write(&file, bytes).unwrap();
    env.cmd().args(["import", "--manifest", &manifest]).arg(&file).output().unwrap()
}

/// A manifest without per-file pins, so only the link checks stand in the way.
fn without_file_pins(fixture: &Fixture) -> serde_json::Value {
    let mut manifest = fixture.manifest.clone();
    if let Some(target) = manifest["targets"][LINUX].as_object_mut() {
        target.remove("files");
    }
    manifest
}

#[test]
fn a_link_inside_the_extraction_directory_but_outside_the_root_is_refused() {
    let env = Env::new();
    let fixture = Fixture::stable();
    // Ten levels deep, `codex-path/rg -> ../../../../../../../../../../../tmp/evil` stays inside
    // the extraction directory, and would leave the cache once the root is moved there.
    let up = "../".repeat(11);
    let links = [("codex-path/evil".to_owned(), format!("{up}tmp/evil"))];
    let bytes = github_package(&fixture.runtime, 10, &links);
    let out = import_github(&env, &without_file_pins(&fixture), &fixture.runtime, &bytes);
    assert_code(&out, 4);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("codex-path/evil") && stderr.contains("runtime root"), "{stderr}");
    assert!(!env.cache().join("runtimes/0.163.0").join(LINUX).exists());

    // A link that stays inside the root is fine without per-file pins...
    let links = [("codex-path/rg2".to_owned(), "rg".to_owned())];
    let out = import_github(
        &env,
        &without_file_pins(&fixture),
        &fixture.runtime,
        &github_package(&fixture.runtime, 3, &links),
    );
    assert_code(&out, 0);
}

#[test]
fn with_per_file_pins_a_runtime_holds_no_links_at_all() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let pinned = fixture.manifest["targets"][LINUX]["files"].as_array().map_or(0, Vec::len);
    assert!(pinned > 0, "fixture manifests pin their files");
    let links = [("codex-path/rg2".to_owned(), "rg".to_owned())];
    let out = import_github(&env, &fixture.manifest, &fixture.runtime, &github_package(&fixture.runtime, 0, &links));
    assert_code(&out, 4);
    assert!(text(&out.stderr).contains("codex-path/rg2 is a symbolic link"), "{}", text(&out.stderr));
}

#[test]
fn a_member_posing_as_the_receipt_is_refused() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let as_file = fixture.runtime.clone().with_file(".codex-runtime-receipt.json", b"{}");
    let out = import_github(&env, &without_file_pins(&fixture), &as_file, &github_package(&as_file, 0, &[]));
    assert_code(&out, 4);
    assert!(text(&out.stderr).contains("reserved for the cache's receipt"), "{}", text(&out.stderr));

    // As a link to the entrypoint, the receipt would have been written through it.
    let links = [(".codex-runtime-receipt.json".to_owned(), "bin/codex".to_owned())];
    let out = import_github(
        &env,
        &without_file_pins(&fixture),
        &fixture.runtime,
        &github_package(&fixture.runtime, 0, &links),
    );
    assert_code(&out, 4);
    assert!(!env.cache().join("runtimes/0.163.0").join(LINUX).exists());
}

#[test]
fn a_fifo_in_an_installed_runtime_is_refused_not_waited_on() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let root = env.path("project/node_modules/@openai/codex-linux-x64/vendor").join(LINUX);
    for file in &fixture.runtime.files {
        let path = root.join(&file.path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &file.contents).unwrap();
    }
    let status = Command::new("mkfifo").arg(root.join("codex-resources/zz-fifo")).status().unwrap();
    assert!(status.success());
    let manifest = env.manifest(&fixture.manifest);
    let out = env
        .cmd()
        .current_dir(env.path("project"))
        .args(["install", "--manifest", &manifest, "--target", LINUX, "--source", "installed"])
        .env("CODEX_RUNTIME_LOCK_TIMEOUT", "5")
        .output()
        .unwrap();
    // The only runtime there fails the pins' layout: a verification failure.
    assert_code(&out, 4);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("zz-fifo") && stderr.contains("not a regular file"), "{stderr}");
}

#[test]
fn mistakes_are_usage_errors_that_say_what_to_do() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let manifest = env.manifest(&fixture.manifest);

    // A local mirror that is not there is said at once, not skipped.
    let missing = env.path("no-such-mirror");
    let out = env
        .cmd()
        .args(["install", "--manifest", &manifest, "--target", LINUX, "--mirror"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_code(&out, 2);
    assert!(text(&out.stderr).contains("is not a directory"), "{}", text(&out.stderr));
    // Regression: a mirror URL without a host was tried, and failed as "no source" (exit 5).
    let out = env.run(&["install", "--manifest", &manifest, "--target", LINUX, "--mirror", "http://"]);
    assert_code(&out, 2);
    assert!(text(&out.stderr).contains("is not a usable URL"), "{}", text(&out.stderr));

    // Argument errors are a JSON document too with --json.
    let out = env.run(&["--json", "install", "--target", "x86_64-unknown-linux-gnu"]);
    assert_code(&out, 2);
    let json = stdout_json(&out);
    assert_eq!(json["error"]["exit_code"], 2);
    assert!(json["error"]["message"].as_str().unwrap().contains("its runtime is x86_64-unknown-linux-musl"), "{json}");

    // import of a file that does not exist.
    let out = env
        .cmd()
        .args(["import", "--manifest", &manifest])
        .arg(env.path(&fixture.runtime.npm_file_name()))
        .output()
        .unwrap();
    assert_code(&out, 2);
    assert!(text(&out.stderr).contains("does not exist"), "{}", text(&out.stderr));

    // A stable channel never pins a pre-release.
    let out = env.run(&[
        "channel",
        "update",
        "stable",
        "--version",
        "0.162.0-alpha.15",
        "--npm-registry",
        "http://127.0.0.1:9/",
    ]);
    assert_code(&out, 2);
    assert!(text(&out.stderr).contains("pins releases only"), "{}", text(&out.stderr));

    // Two manifests for a command that uses one, and a registry command offline.
    let out = env.run(&["--json", "--manifest", &manifest, "--manifest", &manifest, "install", "--target", LINUX]);
    assert_code(&out, 2);
    assert_eq!(stdout_json(&out)["error"]["exit_code"], 2);
    assert!(text(&out.stderr).contains("only verify-pins checks several manifests"), "{}", text(&out.stderr));
    let out = env.run(&["--offline", "channel", "update", "stable", "--version", "0.163.0"]);
    assert_code(&out, 2);
    assert!(text(&out.stderr).contains("drop --offline"), "{}", text(&out.stderr));
    // Regression: the global --offline before the subcommand did not stop --online.
    let out = env.run(&["--offline", "verify-pins", "--online"]);
    assert_code(&out, 2);
    assert!(text(&out.stderr).contains("cannot run with --offline"), "{}", text(&out.stderr));

    // Regression: exec --json printed codex's own output where one JSON document was promised.
    let out = env.run(&["--json", "exec", "--manifest", &manifest, "--", "--version"]);
    assert_code(&out, 2);
    assert_eq!(stdout_json(&out)["error"]["exit_code"], 2);
    // Regression: exec of another platform's runtime fell back to running it through /bin/sh.
    let out = env.run(&["exec", "--manifest", &manifest, "--target", "aarch64-apple-darwin", "--", "--version"]);
    assert_code(&out, 2);
    assert!(text(&out.stderr).contains("drop --target"), "{}", text(&out.stderr));
}

/// Regression: a relative --cache-dir gave relative paths, wrong after a `cd` (and a relative
/// PATH entry from `env`).
#[test]
fn a_relative_cache_dir_gives_absolute_paths() {
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let mirror = fixture.serve_mirror(&server);
    let manifest = env.manifest(&fixture.manifest);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_codex-runtime"));
    cmd.env_remove("CODEX_RUNTIME_MIRROR").env("HOME", env.dir.path()).current_dir(env.dir.path());
    cmd.env("CODEX_RUNTIME_CACHE_DIR", "cache");
    let out = cmd
        .args(["path", "--manifest", &manifest, "--target", LINUX, "--source", "mirror", "--mirror", &mirror])
        .output()
        .unwrap();
    assert_code(&out, 0);
    let path = std::path::PathBuf::from(text(&out.stdout).trim());
    assert!(path.is_absolute(), "{}", path.display());
    assert!(path.starts_with(env.cache()), "{}", path.display());
}

/// Regression: `codex-runtime channel show stable | head -1` panicked with "failed printing to
/// stdout: Broken pipe" once the reader had gone.
#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    let env = Env::new();
    let mut child = env
        .cmd()
        .args(["channel", "show", "stable"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Closed before the program starts writing: every write fails with a broken pipe.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(!text(&out.stderr).contains("panicked"), "{}", text(&out.stderr));
    assert_code(&out, 0);
}
