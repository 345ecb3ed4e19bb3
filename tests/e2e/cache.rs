//! `cache verify [--repair]`, `cache prune`, `cache clean`, and installs into a full or
//! read-only cache.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use codex_runtime_test_support::fixture::{FixtureRuntime, sha256_hex};
use codex_runtime_test_support::http::TestServer;

use crate::common::*;

/// A fixture installed from a loopback mirror into `env`'s cache; returns the install args.
fn installed(env: &Env, fixture: &Fixture, server: &TestServer) -> Vec<String> {
    let mirror = fixture.serve_mirror(server);
    let manifest = env.manifest(&fixture.manifest);
    let args: Vec<String> =
        ["--manifest", &manifest, "--source", "mirror", "--mirror", &mirror].iter().map(|s| s.to_string()).collect();
    let mut install = vec!["install".to_owned(), "--target".to_owned(), LINUX.to_owned()];
    install.extend(args.iter().cloned());
    assert_code(&env.run(&install.iter().map(String::as_str).collect::<Vec<_>>()), 0);
    args
}

fn run(env: &Env, head: &[&str], tail: &[String]) -> std::process::Output {
    let mut args: Vec<&str> = head.to_vec();
    args.extend(tail.iter().map(String::as_str));
    env.run(&args)
}

fn runtime_dir(env: &Env) -> PathBuf {
    env.cache().join("runtimes/0.163.0").join(LINUX)
}

#[test]
fn verify_reports_every_damaged_file_then_repair_reinstalls_it() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let server = TestServer::start();
    let args = installed(&env, &fixture, &server);
    let dir = runtime_dir(&env);

    let sound = run(&env, &["cache", "verify", "--json"], &args);
    assert_code(&sound, 0);
    let json = stdout_json(&sound);
    assert_eq!(json["ok"], true);
    assert_eq!(json["runtimes"][0]["version"], "0.163.0");
    assert_eq!(json["runtimes"][0]["files"], fixture.runtime.files.len() + 1, "every file of the root is hashed");
    assert_eq!(json["runtimes"][0]["problems"], serde_json::json!([]));

    // Same size, other bytes; a longer file; a deleted one; one that was never installed.
    let entry = &fixture.runtime.entrypoint().contents;
    let mut flipped = entry.clone();
    flipped[0] ^= 1;
    std::fs::write(dir.join("bin/codex"), &flipped).unwrap();
    let rg = b"#!/bin/sh\necho something else entirely\n";
    std::fs::write(dir.join("codex-path/rg"), rg).unwrap();
    std::fs::remove_file(dir.join("codex-resources/bwrap")).unwrap();
    std::fs::write(dir.join("codex-path/planted"), b"x").unwrap();

    let damaged = run(&env, &["cache", "verify", "--json"], &args);
    assert_code(&damaged, 4);
    let json = stdout_json(&damaged);
    assert_eq!(json["ok"], false);
    let problems = &json["runtimes"][0]["problems"];
    assert_eq!(
        problems,
        &serde_json::json!([
            {"path": "bin/codex", "problem": "digest", "expected": sha256_hex(entry), "actual": sha256_hex(&flipped)},
            {"path": "codex-path/rg", "problem": "size", "expected": 26, "actual": rg.len()},
            {"path": "codex-resources/bwrap", "problem": "missing"},
            {"path": "codex-path/planted", "problem": "extra"},
        ]),
        "{}",
        text(&damaged.stdout)
    );
    let human = run(&env, &["cache", "verify"], &args);
    assert_code(&human, 4);
    let out = text(&human.stdout);
    assert!(out.contains("DAMAGED  0.163.0 x86_64-unknown-linux-musl"), "{out}");
    assert!(out.contains("  codex-resources/bwrap: missing"), "{out}");
    assert!(text(&human.stderr).contains("cache verify --repair"), "{}", text(&human.stderr));

    let repaired = run(&env, &["cache", "verify", "--repair", "--json"], &args);
    assert_code(&repaired, 0);
    let json = stdout_json(&repaired);
    assert_eq!(json["ok"], true);
    assert_eq!(
        json["runtimes"][0]["repair"],
        serde_json::json!({"ok": true, "action": "reinstalled", "source": "mirror"})
    );
    assert_eq!(std::fs::read(dir.join("bin/codex")).unwrap(), *entry);
    assert!(!dir.join("codex-path/planted").exists());
    assert_code(&run(&env, &["cache", "verify"], &args), 0);
    let listing = env.cache_listing();
    assert!(listing.iter().all(|p| !p.starts_with("tmp/")), "the damaged copy is gone: {listing:?}");
}

#[test]
fn a_failed_repair_keeps_the_exit_code_of_its_cause() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let server = TestServer::start();
    let args = installed(&env, &fixture, &server);
    std::fs::write(runtime_dir(&env).join("bin/codex"), b"tampered").unwrap();
    // The repair asks a mirror that has nothing.
    let manifest = env.path("manifest.json");
    let empty = format!("{}/empty", server.url());
    let repair = ["--manifest", manifest.to_str().unwrap(), "--source", "mirror", "--mirror", &empty].map(String::from);
    assert_ne!(args[..], repair[..]);

    let out = run(&env, &["cache", "verify", "--repair", "--json"], &repair);
    assert_code(&out, 5);
    let json = stdout_json(&out);
    assert_eq!(json["ok"], false);
    let repair = &json["runtimes"][0]["repair"];
    assert_eq!(repair["ok"], false);
    assert_eq!(repair["action"], "kept");
    let error = repair["error"].as_str().unwrap();
    assert!(error.contains("no source could provide") && error.ends_with("the runtime was left as it was"), "{repair}");
    // The runtime is as it was; its changed entrypoint is still never handed out.
    assert_eq!(std::fs::read(runtime_dir(&env).join("bin/codex")).unwrap(), b"tampered");
    let path = run(&env, &["path", "--offline", "--target", LINUX], &args[..2]);
    assert_code(&path, 4);
}

/// Regression: `cache verify --repair --offline` deleted a runtime whose only damage was an
/// extra file, and said only that it was "not installed".
#[test]
fn a_repair_removes_extra_files_offline_and_keeps_the_runtime() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let server = TestServer::start();
    let args = installed(&env, &fixture, &server);
    let dir = runtime_dir(&env);
    std::fs::write(dir.join("bin/extra"), b"x").unwrap();
    std::fs::write(dir.join("codex-path/planted"), b"y").unwrap();
    drop(server);

    let out = run(&env, &["cache", "verify", "--repair", "--offline", "--json"], &args[..2]);
    assert_code(&out, 0);
    let json = stdout_json(&out);
    assert_eq!(json["ok"], true);
    assert_eq!(
        json["runtimes"][0]["repair"],
        serde_json::json!({"ok": true, "action": "removed_extra_files", "removed_files": ["bin/extra", "codex-path/planted"]})
    );
    assert!(!dir.join("bin/extra").exists() && !dir.join("codex-path/planted").exists());
    assert_eq!(std::fs::read(dir.join("bin/codex")).unwrap(), fixture.runtime.entrypoint().contents);
    assert_code(&run(&env, &["cache", "verify"], &args[..2]), 0);
    // The text says what was done (it read "reinstalled from a source").
    std::fs::write(dir.join("bin/extra"), b"planted").unwrap();
    let out = run(&env, &["cache", "verify", "--repair", "--offline"], &args[..2]);
    assert_code(&out, 0);
    assert!(
        text(&out.stdout).contains("repaired: removed what the receipt does not list: bin/extra"),
        "{}",
        text(&out.stdout)
    );
}

/// Regression: a failed offline repair of a runtime with a changed file removed the runtime
/// and reported only that it was "not installed".
#[test]
fn a_failed_offline_repair_leaves_the_runtime_and_says_so() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let server = TestServer::start();
    let args = installed(&env, &fixture, &server);
    let dir = runtime_dir(&env);
    std::fs::write(dir.join("codex-resources/bwrap"), b"changed").unwrap();
    std::fs::write(dir.join("bin/extra"), b"x").unwrap();

    let out = run(&env, &["cache", "verify", "--repair", "--offline"], &args[..2]);
    assert_code(&out, 3);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("not repaired: reinstalling it needs a source, and --offline forbids the network"),
        "{stdout}"
    );
    assert!(stdout.contains("the runtime was left as it was"), "{stdout}");
    assert_eq!(std::fs::read(dir.join("codex-resources/bwrap")).unwrap(), b"changed");
    assert!(dir.join("bin/extra").is_file(), "a runtime that is not repaired is not touched");
}

#[test]
fn prune_drops_what_no_channel_pins_and_clean_empties_the_cache() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let server = TestServer::start();
    // prune and clean take the manifest, not the sources.
    let args = installed(&env, &fixture, &server)[..2].to_vec();
    let downloads = env.cache().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let stray = downloads.join(format!("{}.part", sha256_hex(b"not pinned")));
    std::fs::write(&stray, b"half a download").unwrap();
    let leftover = env.cache().join("tmp/install-interrupted");
    std::fs::create_dir_all(&leftover).unwrap();
    std::fs::write(leftover.join("tree"), b"partial").unwrap();

    // Everything is pinned by this manifest; only the stray download goes, the fresh leftover stays.
    let out = run(&env, &["cache", "prune", "--json"], &args);
    assert_code(&out, 0);
    let json = stdout_json(&out);
    assert_eq!(json["removed"].as_array().unwrap().len(), 1, "{json}");
    assert_eq!(json["removed"][0]["kind"], "download");
    assert_eq!(json["removed"][0]["bytes"], 15);
    assert!(runtime_dir(&env).join("bin/codex").is_file() && leftover.is_dir());

    let out = run(&env, &["cache", "prune", "--older-than", "0", "--json"], &args);
    assert_code(&out, 0);
    assert_eq!(stdout_json(&out)["removed"][0]["kind"], "tmp");
    assert!(!leftover.exists());

    // Under a manifest of another version, the installed runtime is no longer pinned.
    let other = Fixture::of(FixtureRuntime::linux_x64("0.164.0", "0.164.0"), "stable");
    let other_manifest = env.path("other.json");
    std::fs::write(&other_manifest, other.manifest.to_string()).unwrap();
    let out = env.run(&["cache", "prune", "--manifest", other_manifest.to_str().unwrap()]);
    assert_code(&out, 0);
    assert!(text(&out.stdout).contains(&format!("removed runtime {}", runtime_dir(&env).display())));
    assert!(!env.cache().join("runtimes/0.163.0").exists());

    installed(&env, &fixture, &server);
    let out = run(&env, &["cache", "clean", "--json"], &args);
    assert_code(&out, 0);
    let json = stdout_json(&out);
    assert!(json["freed_bytes"].as_u64().unwrap() > 0, "{json}");
    // Nothing is left but the lock files (removing a lock another process holds would let a
    // second installer in).
    for dir in ["runtimes", "tmp", "downloads"] {
        let left = std::fs::read_dir(env.cache().join(dir)).map_or(0, |d| d.count());
        assert_eq!(left, 0, "{dir} is empty");
    }
    let again = run(&env, &["cache", "clean"], &args);
    assert_code(&again, 0);
    assert!(text(&again.stderr).contains("already empty"));
    let verify = run(&env, &["cache", "verify"], &args);
    assert_code(&verify, 0);
    assert!(text(&verify.stderr).contains("no runtime is installed"));
}

/// What the reviewer found `cache clean` removed from a directory that was not a cache.
fn not_a_cache(root: &Path) -> Vec<PathBuf> {
    let files = [root.join("downloads/taxes.pdf"), root.join("runtimes/photos/a.jpg"), root.join("docs/d")];
    for file in &files {
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, b"keep me").unwrap();
    }
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    files.to_vec()
}

/// Regression: `cache clean` and `cache prune` emptied any directory given as the cache (a home
/// directory with `CODEX_RUNTIME_CACHE_DIR=$HOME`).
#[test]
fn clean_and_prune_refuse_a_directory_that_is_not_a_cache() {
    let env = Env::new();
    let files = not_a_cache(&env.cache());
    for command in ["clean", "prune"] {
        let out = env.run(&["cache", command]);
        assert_code(&out, 2);
        let stderr = text(&out.stderr);
        assert!(stderr.contains("is not a codex-runtime cache: it has no CACHEDIR.TAG and holds docs"), "{stderr}");
        assert!(stderr.contains("--cache-dir"), "says what to do: {stderr}");
        assert_eq!(stdout_json(&env.run(&["cache", command, "--json"]))["error"]["exit_code"], 2);
    }
    assert!(files.iter().all(|f| std::fs::read(f).unwrap() == b"keep me"));
    assert!(!env.cache().join("locks").exists() && !env.cache().join("CACHEDIR.TAG").exists());
}

/// Regression: in a cache, `clean` removed files it did not make (`downloads/taxes.pdf`,
/// `runtimes/photos/a.jpg`) and created lock files for them.
#[test]
fn clean_and_prune_remove_only_what_they_recognise() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let server = TestServer::start();
    let args = installed(&env, &fixture, &server)[..2].to_vec();
    let cache = env.cache();
    let tag = std::fs::read_to_string(cache.join("CACHEDIR.TAG")).unwrap();
    assert!(tag.starts_with("Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by codex-runtime."), "{tag}");
    let files = not_a_cache(&cache);
    let notes = cache.join("runtimes/0.163.0/notes.txt");
    let kept_tmp = cache.join("tmp/keep.txt");
    std::fs::write(&notes, b"keep me").unwrap();
    std::fs::write(&kept_tmp, b"keep me").unwrap();

    let out = run(&env, &["cache", "prune", "--older-than", "0", "--json"], &args);
    assert_code(&out, 0);
    assert_eq!(stdout_json(&out)["removed"], serde_json::json!([]));

    let out = run(&env, &["cache", "clean", "--json"], &args);
    assert_code(&out, 0);
    let removed: Vec<(String, String)> = stdout_json(&out)["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["kind"].as_str().unwrap().to_owned(), r["path"].as_str().unwrap().to_owned()))
        .collect();
    let path = |p: PathBuf| p.display().to_string();
    assert_eq!(
        removed,
        [("runtime".to_owned(), path(runtime_dir(&env))), ("other".to_owned(), path(cache.join("docs")))],
        "a tagged cache's other entries go, nothing unrecognised does"
    );
    let stderr = text(&out.stderr);
    let skipped = stdout_json(&out)["skipped"].to_string();
    for left in [&files[0], &cache.join("runtimes/photos"), &notes, &kept_tmp] {
        assert!(stderr.contains(&format!("left {}", left.display())), "{stderr}");
        assert!(skipped.contains(&format!("\"{}\"", left.display())), "{skipped}");
    }
    assert!(files[..2].iter().chain([&notes, &kept_tmp]).all(|f| std::fs::read(f).unwrap() == b"keep me"));
    assert!(!cache.join("locks/photos").exists(), "no lock file for a name that is not a runtime");
    assert!(cache.join("CACHEDIR.TAG").is_file());
}

/// A fixture whose 2 MiB of zeros compress to almost nothing: the download fits anywhere, the
/// extraction does not fit in 1 MiB.
fn roomy_fixture() -> Fixture {
    Fixture::of(
        FixtureRuntime::linux_x64("0.163.0", "0.163.0").with_file("codex-resources/big", &vec![0; 2 << 20]),
        "stable",
    )
}

fn assert_nothing_installed(cache: &Path) {
    let runtimes = cache.join("runtimes");
    let installed: Vec<_> =
        std::fs::read_dir(&runtimes).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    assert!(installed.is_empty(), "half-installed: {installed:?}");
    let tmp: Vec<_> =
        std::fs::read_dir(cache.join("tmp")).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    assert!(tmp.is_empty(), "left in tmp/: {tmp:?}");
}

/// Unmounts a tmpfs when dropped.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(at: &Path, options: &str) -> Option<Mount> {
        std::fs::create_dir_all(at).unwrap();
        let status = Command::new("mount").args(["-t", "tmpfs", "-o", options, "tmpfs"]).arg(at).output().ok()?;
        status.status.success().then(|| Mount(at.to_owned()))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_fails_naming_the_path_and_installs_nothing() {
    let env = Env::new();
    let fixture = roomy_fixture();
    let server = TestServer::start();
    let mirror = fixture.serve_mirror(&server);
    let manifest = env.manifest(&fixture.manifest);
    let Some(_mount) = Mount::tmpfs(&env.cache(), "size=1m") else {
        // Not root, or no mount here: the write-layer fault below covers the same path.
        eprintln!("skipped: cannot mount a tmpfs here");
        return;
    };
    let out =
        env.run(&["install", "--manifest", &manifest, "--target", LINUX, "--source", "mirror", "--mirror", &mirror]);
    assert_code(&out, 1);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(stderr.contains(&env.cache().join("tmp").display().to_string()), "names the path: {stderr}");
    assert_nothing_installed(&env.cache());
}

#[test]
fn a_write_fault_while_extracting_fails_naming_the_path_and_installs_nothing() {
    // RLIMIT_FSIZE makes every write past 1 MiB fail (EFBIG) on any filesystem, as root too.
    let env = Env::new();
    let fixture = roomy_fixture();
    let server = TestServer::start();
    let mirror = fixture.serve_mirror(&server);
    let manifest = env.manifest(&fixture.manifest);
    let binary = env.cmd();
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg("ulimit -f 2048; trap '' XFSZ; exec \"$@\"").arg("sh").arg(binary.get_program());
    cmd.args(binary.get_args()).current_dir(env.dir.path());
    for (key, value) in binary.get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    let out = cmd
        .args(["install", "--manifest", &manifest, "--target", LINUX, "--source", "mirror", "--mirror", &mirror])
        .output()
        .unwrap();
    assert_code(&out, 1);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("File too large"), "{stderr}");
    assert!(stderr.contains("codex-resources/big"), "names the file: {stderr}");
    assert_nothing_installed(&env.cache());
}

#[test]
fn a_read_only_cache_fails_naming_the_path_and_installs_nothing() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let server = TestServer::start();
    let mirror = fixture.serve_mirror(&server);
    let manifest = env.manifest(&fixture.manifest);
    let cache = env.cache();
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o555)).unwrap();
    // Root writes through permissions: then a read-only tmpfs, else a file where the cache's
    // directory should be.
    let chmod_holds = std::fs::write(cache.join("probe"), b"").is_err();
    let _mount = if chmod_holds {
        None
    } else {
        std::fs::remove_file(cache.join("probe")).unwrap();
        std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mount = Mount::tmpfs(&cache, "ro,size=1m");
        if mount.is_none() {
            std::fs::remove_dir(&cache).unwrap();
            std::fs::write(&cache, b"a file, not a directory").unwrap();
        }
        mount
    };
    let out =
        env.run(&["install", "--manifest", &manifest, "--target", LINUX, "--source", "mirror", "--mirror", &mirror]);
    assert_code(&out, 1);
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&cache.display().to_string()), "names the path: {stderr}");
    assert!(
        ["Read-only file system", "Permission denied", "Not a directory", "File exists"]
            .iter()
            .any(|e| stderr.contains(e)),
        "{stderr}"
    );
    if cache.is_dir() {
        assert_nothing_installed(&cache);
    }
    if chmod_holds {
        std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}
