//! The pinned history: `channel sync` against a loopback npm registry and Python index, and
//! selecting versions from a history.

use std::path::Path;

use codex_runtime_test_support::fixture::{FixtureRuntime, integrity, sha256_hex};
use codex_runtime_test_support::http::{Fault, TestServer};
use serde_json::{Value, json};

use crate::common::*;

const X64: (&str, &str, &str) = ("x86_64-unknown-linux-musl", "linux-x64", "manylinux_2_17_x86_64");
const ARM64: (&str, &str, &str) = ("aarch64-unknown-linux-musl", "linux-arm64", "manylinux_2_17_aarch64");

/// What a fake registry and index publish, rebuilt into their documents on every change.
struct Registry {
    server: TestServer,
    packument: serde_json::Map<String, Value>,
    files: Vec<Value>,
}

impl Registry {
    fn new() -> Registry {
        Registry { server: TestServer::start(), packument: serde_json::Map::new(), files: Vec::new() }
    }

    /// Publish `version` for these targets on npm, and with `wheels` both its wheels for x64.
    fn publish(&mut self, version: &str, pep440: &str, targets: &[(&str, &str, &str)], wheels: bool) {
        for &(triple, suffix, tag) in targets {
            let runtime = FixtureRuntime::new(version, pep440, triple, suffix, tag);
            let npm = runtime.npm_tgz();
            let path = format!("/registry/@openai/codex/-/codex-{version}-{suffix}.tgz");
            self.packument.insert(
                format!("{version}-{suffix}"),
                json!({"dist": {"tarball": format!("{}{path}", self.server.url()), "integrity": integrity(&npm)}}),
            );
            self.server.add(&path, npm);
            if wheels && triple == X64.0 {
                for tag in [tag, "musllinux_1_1_x86_64"] {
                    let runtime = FixtureRuntime::new(version, pep440, triple, suffix, tag);
                    let wheel = runtime.wheel();
                    let file = runtime.wheel_file_name();
                    self.files.push(json!({
                        "filename": file, "url": format!("../../files/{file}"),
                        "hashes": {"sha256": sha256_hex(&wheel)},
                    }));
                    self.server.add(&format!("/files/{file}"), wheel);
                }
            }
        }
        // The main package's own version, as the registry lists it beside the platform ones.
        self.packument.insert(version.to_owned(), json!({"dist": {"integrity": "sha512-AAAA"}}));
        self.serve_documents();
    }

    fn serve_documents(&self) {
        let packument = json!({"name": "@openai/codex", "versions": self.packument});
        self.server.add("/registry/@openai%2fcodex", packument.to_string().into_bytes());
        let page = json!({"meta": {"api-version": "1.1"}, "name": "openai-codex-cli-bin", "files": self.files});
        self.server.add("/simple/openai-codex-cli-bin/", page.to_string().into_bytes());
    }

    fn sync(&self, env: &Env, dir: &Path, extra: &[&str]) -> std::process::Output {
        let mut cmd = env.cmd();
        cmd.args(["channel", "sync", "--dir", dir.to_str().unwrap(), "--no-github", "--json"]);
        cmd.args(["--npm-registry", &format!("{}/registry/", self.server.url())]);
        cmd.args(["--pypi-index", &format!("{}/simple/", self.server.url())]).args(extra);
        cmd.output().unwrap()
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect()
}

#[test]
fn sync_pins_new_releases_keeps_every_pin_and_moves_the_heads() {
    let env = Env::new();
    let mut registry = Registry::new();
    registry.publish("0.150.0", "0.150.0", &[X64], false);
    registry.publish("0.164.0", "0.164.0", &[X64], true);
    registry.publish("0.165.0", "0.165.0", &[X64, ARM64], false);
    registry.publish("0.166.0-alpha.2", "0.166.0a2", &[X64], false);
    registry.publish("0.166.0-alpha.1", "0.166.0a1", &[X64], false);
    let dir = env.path("channels");

    let dry = registry.sync(&env, &dir, &["--dry-run"]);
    assert_code(&dry, 0);
    assert_eq!(strings(&stdout_json(&dry)["added"]), ["0.166.0-alpha.2", "0.165.0", "0.164.0"]);
    assert!(!dir.exists(), "a dry run writes nothing");
    assert_eq!(registry.server.hits("/registry/@openai/codex/-/codex-0.164.0-linux-x64.tgz"), 0);

    let out = registry.sync(&env, &dir, &[]);
    assert_code(&out, 0);
    let doc = stdout_json(&out);
    // Releases from --since on and the newest pre-release only.
    assert_eq!(strings(&doc["added"]), ["0.166.0-alpha.2", "0.165.0", "0.164.0"], "{doc}");
    assert_eq!(doc["heads"], json!({"stable": "0.165.0", "alpha": "0.166.0-alpha.2"}));
    assert_eq!(
        read(&dir.join("heads.json")),
        "{\n  \"schema_version\": 1,\n  \"stable\": \"0.165.0\",\n  \"alpha\": \"0.166.0-alpha.2\"\n}\n"
    );
    let v164: Value = serde_json::from_str(&read(&dir.join("versions/0.164.0.json"))).unwrap();
    let artifacts = &v164["targets"][X64.0]["artifacts"];
    assert_eq!(artifacts["musllinux_wheel"]["file"], "openai_codex_cli_bin-0.164.0-py3-none-musllinux_1_1_x86_64.whl");
    assert!(artifacts["wheel"]["sha256"].is_string() && artifacts["npm"]["integrity"].is_string());
    let v165: Value = serde_json::from_str(&read(&dir.join("versions/0.165.0.json"))).unwrap();
    let targets: Vec<&String> = v165["targets"].as_object().unwrap().keys().collect();
    assert_eq!(targets, [ARM64.0, X64.0], "a release is pinned for the targets it was published for");
    let notes = doc["notes"].to_string();
    assert!(notes.contains("x86_64-apple-darwin: not published on any source"), "{notes}");
    assert!(!dir.join("versions/0.150.0.json").exists() && !dir.join("versions/0.166.0-alpha.1.json").exists());
    let scratch = std::fs::read_dir(env.cache().join("tmp")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(scratch, 0, "the artifacts are deleted as the sync goes");

    // Nothing new: nothing fetched, every file as it was.
    let before = read(&dir.join("versions/0.164.0.json"));
    let tarball = "/registry/@openai/codex/-/codex-0.164.0-linux-x64.tgz";
    let fetched = registry.server.hits(tarball);
    let again = registry.sync(&env, &dir, &[]);
    assert_code(&again, 0);
    let doc = stdout_json(&again);
    assert_eq!(strings(&doc["added"]), Vec::<&str>::new());
    assert_eq!(strings(&doc["kept"]), ["0.166.0-alpha.2", "0.165.0", "0.164.0"]);
    assert_eq!(registry.server.hits(tarball), fetched);
    assert_eq!(read(&dir.join("versions/0.164.0.json")), before);

    // A new release is added; the old pins are untouched.
    registry.publish("0.167.0", "0.167.0", &[X64], false);
    let newer = registry.sync(&env, &dir, &[]);
    assert_code(&newer, 0);
    assert_eq!(strings(&stdout_json(&newer)["added"]), ["0.167.0"]);
    assert_eq!(read(&dir.join("versions/0.164.0.json")), before);
    assert!(read(&dir.join("heads.json")).contains("\"stable\": \"0.167.0\""));

    // The history reads as the embedded one does: a partial version, a target it lacks.
    let manifest = dir.join("versions/0.165.0.json");
    let lacking =
        env.run(&["path", "--manifest", manifest.to_str().unwrap(), "--target", "aarch64-apple-darwin", "--offline"]);
    assert_code(&lacking, 2);
    let stderr = text(&lacking.stderr);
    assert!(stderr.contains("codex 0.165.0 has no runtime for aarch64-apple-darwin: it is pinned for x86_64-unknown-linux-musl, aarch64-unknown-linux-musl only"), "{stderr}");
}

#[test]
fn a_pinned_artifact_whose_registry_digest_changed_fails_the_sync_and_rewrites_nothing() {
    let env = Env::new();
    let mut registry = Registry::new();
    registry.publish("0.164.0", "0.164.0", &[X64], true);
    let dir = env.path("channels");
    assert_code(&registry.sync(&env, &dir, &[]), 0);
    let pinned = read(&dir.join("versions/0.164.0.json"));
    let heads = read(&dir.join("heads.json"));

    // Republished with other bytes, and a new release beside it.
    let other = FixtureRuntime::new("0.164.0", "0.164.0", X64.0, X64.1, X64.2).with_file("bin/codex", b"other");
    let npm = other.npm_tgz();
    registry.packument.insert("0.164.0-linux-x64".into(), json!({"dist": {"integrity": integrity(&npm)}}));
    registry.publish("0.165.0", "0.165.0", &[X64], false);

    let out = registry.sync(&env, &dir, &[]);
    assert_code(&out, 7);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("1 pinned artifact no longer matches what the registries publish"), "{stderr}");
    assert!(
        stderr.contains("0.164.0 x86_64-unknown-linux-musl: @openai/codex@0.164.0-linux-x64 dist.integrity is sha512-"),
        "{stderr}"
    );
    assert_eq!(read(&dir.join("versions/0.164.0.json")), pinned);
    assert_eq!(read(&dir.join("heads.json")), heads);
    assert!(!dir.join("versions/0.165.0.json").exists());
}

#[test]
fn sync_downloads_are_retried_like_installs() {
    let env = Env::new();
    let mut registry = Registry::new();
    registry.publish("0.164.0", "0.164.0", &[X64], true);
    let tarball = "/registry/@openai/codex/-/codex-0.164.0-linux-x64.tgz";
    let wheel = "/files/openai_codex_cli_bin-0.164.0-py3-none-manylinux_2_17_x86_64.whl";
    registry.server.faults(tarball, [Fault::Status(503)]);
    registry.server.faults(wheel, [Fault::Status(502), Fault::Status(503)]);
    let dir = env.path("channels");

    let out = registry.sync(&env, &dir, &[]);
    assert_code(&out, 0);
    assert_eq!(registry.server.hits(tarball), 2);
    assert_eq!(registry.server.hits(wheel), 3);
    assert!(dir.join("versions/0.164.0.json").exists());
}
