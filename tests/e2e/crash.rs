//! Nothing lost, nothing corrupt: concurrent installs, kills at many points, tampered
//! entrypoints and waiting on locks.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use codex_runtime_test_support::fixture::{FixtureRuntime, noise};
use codex_runtime_test_support::http::{Fault, TestServer};

use crate::common::*;

/// A stable fixture whose entrypoint is `size` bytes of noise.
fn big_fixture(size: usize) -> Fixture {
    Fixture::of(FixtureRuntime::linux_x64("0.163.0", "0.163.0").with_file("bin/codex", &noise(size, 42)), "stable")
}

fn install_cmd(env: &Env, manifest: &str, mirror: &str) -> Command {
    let mut cmd = env.cmd();
    cmd.args([
        "install",
        "--json",
        "--manifest",
        manifest,
        "--target",
        LINUX,
        "--source",
        "mirror",
        "--mirror",
        mirror,
    ]);
    cmd
}

/// Every regular file under `dir` with its size, relative and sorted.
fn tree(dir: &Path) -> Vec<(String, u64)> {
    // Entries may vanish while a killed install's leftovers are being cleaned: skip them.
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, u64)>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let Ok(meta) = e.metadata() else { continue };
            if meta.is_dir() {
                walk(root, &e.path(), out);
            } else {
                out.push((e.path().strip_prefix(root).unwrap().display().to_string(), meta.len()));
            }
        }
    }
    let mut out = Vec::new();
    if dir.is_dir() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}

/// Bytes in the cache outside `runtimes/`: downloads and scratch work in progress.
fn work_bytes(cache: &Path) -> u64 {
    ["downloads", "tmp"].iter().flat_map(|d| tree(&cache.join(d))).map(|(_, size)| size).sum()
}

#[test]
fn sixteen_processes_installing_at_once_download_once_and_agree() {
    let env = Env::new();
    let fixture = big_fixture(3 * 1024 * 1024);
    let server = TestServer::start();
    let mirror = fixture.serve_mirror(&server);
    let wheel = format!("/mirror/{}", fixture.runtime.wheel_file_name());
    // Slow enough that every process starts while the first is still downloading.
    server.fault(&wheel, Fault::Trickle { chunk: 256 * 1024, delay_ms: 25 });
    let manifest = env.manifest(&fixture.manifest);

    let children: Vec<_> = (0..16)
        .map(|_| install_cmd(&env, &manifest, &mirror).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap())
        .collect();
    let outputs: Vec<_> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    for out in &outputs {
        assert_code(out, 0);
    }
    let paths: Vec<String> = outputs.iter().map(|o| stdout_json(o)["path"].as_str().unwrap().to_owned()).collect();
    assert!(paths.iter().all(|p| p == &paths[0]));
    assert_eq!(outputs.iter().filter(|o| stdout_json(o)["cached"] == false).count(), 1, "exactly one installed it");
    assert_eq!(server.hits(&wheel), 1, "one download for sixteen processes");

    // The tree is the one a single install makes.
    let single = Env::new();
    assert_code(&install_cmd(&single, &single.manifest(&fixture.manifest), &mirror).output().unwrap(), 0);
    let runtime = |e: &Env| e.cache().join("runtimes/0.163.0").join(LINUX);
    assert_eq!(tree(&runtime(&env)), tree(&runtime(&single)));
    assert!(tree(&env.cache().join("tmp")).is_empty(), "no scratch left behind");
}

#[test]
fn a_kill_at_any_point_leaves_the_cache_untouched_or_complete() {
    let env = Env::new();
    let size = 12 * 1024 * 1024;
    let fixture = big_fixture(size);
    let server = TestServer::start();
    let mirror = fixture.serve_mirror(&server);
    let wheel = format!("/mirror/{}", fixture.runtime.wheel_file_name());
    server.fault(&wheel, Fault::Trickle { chunk: 128 * 1024, delay_ms: 4 });
    let manifest = env.manifest(&fixture.manifest);
    let runtime = env.cache().join("runtimes/0.163.0").join(LINUX);

    // Kill points by bytes of work written (the download, then the extraction), from the
    // very start to past the end of the download.
    let mb = 1024 * 1024;
    let points = [0, 1, 2, 4, 6, 8, 10, 11, 12, 13, 14, 16, 18, 20, 22, 23, 24].map(|m| m * mb);
    let mut killed_mid_work = 0;
    for point in points {
        let mut child =
            install_cmd(&env, &manifest, &mirror).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let finished = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if work_bytes(&env.cache()) >= point as u64 || Instant::now() > deadline {
                child.kill().unwrap();
                child.wait().unwrap();
                break None;
            }
            std::thread::sleep(Duration::from_micros(500));
        };
        if finished.is_none() {
            killed_mid_work += 1;
        }
        // Untouched or complete: the runtime dir is absent, or intact and verified.
        if runtime.exists() {
            assert_code(&env.run(&["path", "--no-install", "--manifest", &manifest, "--target", LINUX]), 0);
            assert_code(&env.run(&["cache", "verify", "--manifest", &manifest]), 0);
        }
        let runtimes = tree(&env.cache().join("runtimes"));
        assert!(runtimes.is_empty() || runtime.exists(), "only the runtime, whole, at point {point}: {runtimes:?}");
        // The next run cleans up and succeeds.
        assert_code(&install_cmd(&env, &manifest, &mirror).output().unwrap(), 0);
        assert!(tree(&env.cache().join("tmp")).is_empty(), "leftovers cleaned after point {point}");
        assert_code(&env.run(&["cache", "verify", "--manifest", &manifest]), 0);
        std::fs::remove_dir_all(env.cache().join("runtimes")).unwrap();
    }
    assert!(killed_mid_work >= points.len() / 2, "most kills landed mid-install: {killed_mid_work}");
}

#[test]
fn a_changed_entrypoint_is_never_handed_out() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let server = TestServer::start();
    let mirror = fixture.serve_mirror(&server);
    let manifest = env.manifest(&fixture.manifest);
    assert_code(&install_cmd(&env, &manifest, &mirror).output().unwrap(), 0);
    let entrypoint = env.cache().join("runtimes/0.163.0").join(LINUX).join("bin/codex");
    let original = std::fs::read(&entrypoint).unwrap();

    // A new modification time alone (a `touch`, a `cp -r` of the cache) is not a change: the
    // bytes are hashed once, found intact, and the receipt takes the new time.
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&entrypoint, &original).unwrap();
    assert_code(&env.run(&["path", "--offline", "--manifest", &manifest, "--target", LINUX]), 0);
    let receipt = env.cache().join("runtimes/0.163.0").join(LINUX).join(".codex-runtime-receipt.json");
    let receipt: serde_json::Value = serde_json::from_slice(&std::fs::read(receipt).unwrap()).unwrap();
    let modified = std::fs::metadata(&entrypoint).unwrap().modified().unwrap();
    let modified = modified.duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    assert_eq!(receipt["entrypoint_modified_ns"], modified);

    // Same size, other bytes: the modification time gives it away, the hash confirms it.
    std::thread::sleep(Duration::from_millis(20));
    let mut evil = original.clone();
    evil[12] ^= 1;
    std::fs::write(&entrypoint, &evil).unwrap();
    let out = env.run(&["path", "--no-install", "--manifest", &manifest, "--target", LINUX]);
    assert_code(&out, 4);
    assert!(text(&out.stderr).contains("its bytes changed after it was installed"), "{}", text(&out.stderr));
    let out = env.run(&["path", "--offline", "--manifest", &manifest, "--target", LINUX]);
    assert_code(&out, 4);
    assert!(text(&out.stderr).contains("cache verify --repair"), "{}", text(&out.stderr));

    // With a source, `path` reinstalls and hands out the pinned file.
    let out = env.run(&["path", "--manifest", &manifest, "--target", LINUX, "--source", "mirror", "--mirror", &mirror]);
    assert_code(&out, 0);
    assert_eq!(std::fs::read(&entrypoint).unwrap(), original);

    // Deleted: the same.
    std::fs::remove_file(&entrypoint).unwrap();
    assert_code(&env.run(&["path", "--no-install", "--manifest", &manifest, "--target", LINUX]), 4);
    assert_code(&install_cmd(&env, &manifest, &mirror).output().unwrap(), 0);
    assert_eq!(std::fs::read(&entrypoint).unwrap(), original);
}

#[test]
fn a_second_process_waits_for_the_lock_and_says_so() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let server = TestServer::start();
    let mirror = fixture.serve_mirror(&server);
    let manifest = env.manifest(&fixture.manifest);
    let lock_path = env.cache().join("locks/0.163.0").join(format!("{LINUX}.lock"));
    std::fs::create_dir_all(lock_path.parent().unwrap()).unwrap();
    let held = std::fs::File::create(&lock_path).unwrap();
    held.lock().unwrap();

    let out = install_cmd(&env, &manifest, &mirror).env("CODEX_RUNTIME_LOCK_TIMEOUT", "1.5").output().unwrap();
    assert_code(&out, 1);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("waiting for another process"), "{stderr}");
    assert!(stderr.contains("CODEX_RUNTIME_LOCK_TIMEOUT"), "{stderr}");
    assert_eq!(server.requests().len(), 0, "nothing fetched without the lock");

    drop(held);
    assert_code(&install_cmd(&env, &manifest, &mirror).output().unwrap(), 0);
}
