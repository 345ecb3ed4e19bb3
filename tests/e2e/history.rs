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
    /// Runtimes carry `codex-resources/voice/`, which the manylinux wheels leave out.
    voice: bool,
}

impl Registry {
    fn new() -> Registry {
        Registry { server: TestServer::start(), packument: serde_json::Map::new(), files: Vec::new(), voice: false }
    }

    /// Publish `version` for these targets on npm, and with `wheels` both its wheels for x64.
    fn publish(&mut self, version: &str, pep440: &str, targets: &[(&str, &str, &str)], wheels: bool) {
        let runtime = |triple, suffix, tag: &str| {
            let runtime = FixtureRuntime::new(version, pep440, triple, suffix, tag);
            match (self.voice, tag.starts_with("manylinux")) {
                (false, _) => runtime,
                (true, false) => runtime.with_file("codex-resources/voice/host", b"voice host"),
                (true, true) => runtime.without("codex-resources/voice/"),
            }
        };
        for &(triple, suffix, tag) in targets {
            let npm = runtime(triple, suffix, "npm").npm_tgz();
            let path = format!("/registry/@openai/codex/-/codex-{version}-{suffix}.tgz");
            self.packument.insert(
                format!("{version}-{suffix}"),
                json!({"dist": {"tarball": format!("{}{path}", self.server.url()), "integrity": integrity(&npm)}}),
            );
            self.server.add(&path, npm);
            if wheels && triple == X64.0 {
                for tag in [tag, "musllinux_1_1_x86_64"] {
                    let runtime = runtime(triple, suffix, tag);
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
fn pins_record_what_each_artifact_leaves_out_and_refresh_completes_older_pins() {
    let env = Env::new();
    let mut registry = Registry::new();
    registry.voice = true;
    registry.publish("0.164.0", "0.164.0", &[X64], true);
    let dir = env.path("channels");
    assert_code(&registry.sync(&env, &dir, &[]), 0);
    let path = dir.join("versions/0.164.0.json");
    let pinned = read(&path);
    let doc: Value = serde_json::from_str(&pinned).unwrap();
    let artifacts = &doc["targets"][X64.0]["artifacts"];
    assert_eq!(artifacts["wheel"]["omits"], json!(["codex-resources/voice/"]), "{artifacts}");
    assert_eq!(artifacts["musllinux_wheel"]["omits"], json!([]));
    assert_eq!(artifacts["npm"]["omits"], json!(["__init__.py"]), "the wheel's shim is not in the tarball");
    assert_eq!(artifacts["npm"]["package_json"], json!({}), "the fixture's package.json repeats no document field");

    // A pin written before the fields existed.
    let mut old = doc.clone();
    for artifact in ["npm", "wheel", "musllinux_wheel"] {
        let a = old["targets"][X64.0]["artifacts"][artifact].as_object_mut().unwrap();
        a.remove("omits");
        a.remove("package_json");
    }
    let old = format!("{}\n", serde_json::to_string_pretty(&old).unwrap());
    std::fs::write(&path, &old).unwrap();
    let plain = registry.sync(&env, &dir, &[]);
    assert_code(&plain, 0);
    assert_eq!(read(&path), old, "without --refresh a pinned version is left alone");

    let dry = registry.sync(&env, &dir, &["--refresh", "--dry-run"]);
    assert_code(&dry, 0);
    assert_eq!(strings(&stdout_json(&dry)["refreshed"]), ["0.164.0"]);
    assert_eq!(read(&path), old);
    let other = registry.sync(&env, &dir, &["--refresh", "--only", "0.165.0"]);
    assert_eq!(strings(&stdout_json(&other)["refreshed"]), Vec::<&str>::new(), "--only limits the refresh");

    let done = registry.sync(&env, &dir, &["--refresh"]);
    assert_code(&done, 0);
    assert_eq!(strings(&stdout_json(&done)["refreshed"]), ["0.164.0"]);
    assert_eq!(read(&path), pinned, "the completed pin is the one a fresh sync writes");
    let again = registry.sync(&env, &dir, &["--refresh"]);
    assert_eq!(strings(&stdout_json(&again)["refreshed"]), Vec::<&str>::new(), "nothing left to complete");

    // A pin the artifacts no longer bear out is not completed, and not rewritten.
    let wrong = old.replacen("\"size\": 10\n", "\"size\": 11\n", 1);
    assert_ne!(wrong, old, "the fixture's codex-resources/voice/host is 10 bytes");
    std::fs::write(&path, &wrong).unwrap();
    let refused = registry.sync(&env, &dir, &["--refresh"]);
    assert_code(&refused, 7);
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("0.164.0 x86_64-unknown-linux-musl: the runtime's files differ from their pins"),
        "{stderr}"
    );
    assert_eq!(read(&path), wrong);
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

/// `path --offline` of a request against the embedded history: exit 3 naming the version it
/// resolved to (nothing is installed in a fresh cache), and the resolution on stderr.
fn resolved(env: &Env, args: &[&str]) -> (String, String) {
    let mut cmd = env.cmd();
    cmd.args(["--json", "path", "--offline", "--target", X64.0]).args(args);
    let out = cmd.output().unwrap();
    assert_code(&out, 3);
    let message = stdout_json(&out)["error"]["message"].as_str().unwrap().to_owned();
    let version = message.strip_prefix("codex ").and_then(|m| m.split(' ').next()).unwrap().to_owned();
    (version, text(&out.stderr))
}

#[test]
fn versions_resolve_exact_partial_and_requirements_newest_pinned_match_first() {
    let env = Env::new();
    let cases: [(&str, &str); 9] = [
        ("0.160.1", "0.160.1"),
        ("0.162.0a15", "0.162.0-alpha.15"),
        ("0.160", "0.160.1"),
        ("0.159", "0.159.3"),
        (">=0.159, <0.160", "0.159.3"),
        ("~=0.160.0", "0.160.1"),
        ("==0.159.*", "0.159.3"),
        ("^0.157.0", "0.157.1"),
        ("<0.163", "0.162.1"),
    ];
    for (request, expected) in cases {
        let (version, stderr) = resolved(&env, &["--version", request]);
        assert_eq!(version, expected, "{request}: {stderr}");
        if !["0.160.1", "0.162.0a15"].contains(&request) {
            assert!(stderr.contains(&format!("--version {request} resolved to codex {expected}")), "{stderr}");
        }
    }
    // A pre-release only when the request names one.
    assert_eq!(resolved(&env, &["--version", ">=0.162.0-alpha.1 <0.162.0"]).0, "0.162.0-alpha.15");

    // From the environment, and --version wins over it.
    let mut cmd = env.cmd();
    cmd.env("CODEX_RUNTIME_VERSION", "0.158").args(["--json", "path", "--offline", "--target", X64.0]);
    let out = cmd.output().unwrap();
    assert_code(&out, 3);
    assert!(
        text(&out.stderr).contains("CODEX_RUNTIME_VERSION=0.158 resolved to codex 0.158.0"),
        "{}",
        text(&out.stderr)
    );
    let mut cmd = env.cmd();
    cmd.env("CODEX_RUNTIME_VERSION", "0.158").args(["path", "--offline", "--target", X64.0, "--version", "0.160.0"]);
    assert!(text(&cmd.output().unwrap().stderr).contains("codex 0.160.0 for"));

    // Nothing pinned matches, an unpinned exact version, a request that does not parse.
    let out = env.run(&["path", "--offline", "--version", ">=0.200"]);
    assert_code(&out, 2);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no version pinned by this build matches `>=0.200` (it pins 33 versions: 0.151.0 to 0.171.0"),
        "{stderr}"
    );
    let out = env.run(&["path", "--offline", "--version", "0.172.0"]);
    assert_code(&out, 2);
    assert!(text(&out.stderr).contains("channel update stable --version 0.172.0 --out codex-0.172.0.json"));
    let out = env.run(&["path", "--offline", "--version", ">>0.1"]);
    assert_code(&out, 2);

    // A version pinned for some targets only says which it has.
    let out = env.run(&["path", "--offline", "--version", "0.151.0", "--target", "aarch64-apple-darwin"]);
    assert_code(&out, 2);
    assert!(text(&out.stderr).contains("codex 0.151.0 has no runtime for aarch64-apple-darwin: it is pinned for"));
}

#[test]
fn version_from_reads_the_sdk_pin_of_each_pin_file_and_a_lockfile_wins() {
    let env = Env::new();
    let project = env.path("project");
    std::fs::create_dir_all(&project).unwrap();
    let write = |name: &str, contents: &str| {
        let path = project.join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let pyproject = write(
        "pyproject.toml",
        "[project]\nname = \"app\"\ndependencies = [\n  \"httpx>=0.27\",\n  \"openai-codex>=0.159, <0.160\",\n]\n",
    );
    let (version, stderr) = resolved(&env, &["--version-from", &pyproject]);
    assert_eq!(version, "0.159.3", "{stderr}");
    assert!(stderr.contains("pyproject.toml:5 (openai-codex >=0.159, <0.160) resolved to codex 0.159.3"), "{stderr}");

    let lock = "version = 1\n\n[[package]]\nname = \"openai-codex-cli-bin\"\nversion = \"0.158.0\"\n";
    write("uv.lock", lock);
    assert_eq!(resolved(&env, &["--version-from", &pyproject]).0, "0.158.0", "uv.lock beside it wins");

    let requirements = write("requirements.txt", "# pinned by the SDK\nopenai-codex==0.157.1 \\\n  --hash=sha256:00\n");
    assert_eq!(resolved(&env, &["--version-from", &requirements]).0, "0.157.1");

    let package_json =
        write("package.json", "{\n  \"dependencies\": {\n    \"@openai/codex-sdk\": \"^0.156.0\"\n  }\n}\n");
    assert_eq!(resolved(&env, &["--version-from", &package_json]).0, "0.156.1");
    let package_lock =
        r#"{"lockfileVersion": 3, "packages": {"": {}, "node_modules/@openai/codex": {"version": "0.155.0"}}}"#;
    write("package-lock.json", package_lock);
    assert_eq!(resolved(&env, &["--version-from", &package_json]).0, "0.155.0", "package-lock.json wins");

    // The JSON of a successful resolution names the request; here the runtime is installed
    // from nothing, so the offline error carries the version instead.
    let out = env.run(&["path", "--offline", "--version-from", &requirements, "--version", "0.160"]);
    assert_code(&out, 2);

    // A pin file whose requirement matches nothing is a usage error naming file, line, requirement.
    let bad = write("requirements-dev.txt", "pytest\nopenai-codex-cli-bin>=0.300\n");
    let out = env.run(&["path", "--offline", "--version-from", &bad]);
    assert_code(&out, 2);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "requirements-dev.txt:2: `openai-codex-cli-bin >=0.300`: no version pinned by this build matches"
        ),
        "{stderr}"
    );
    let none = write("constraints.txt", "httpx==0.27\n");
    let out = env.run(&["path", "--offline", "--version-from", &none]);
    assert_code(&out, 2);
    assert!(text(&out.stderr).contains("constraints.txt"), "{}", text(&out.stderr));
}

/// A registry and index that publish exactly what `manifests` pin, plus `newer` main versions.
fn publish_pins(server: &TestServer, manifests: &[&Value], newer: &[&str]) {
    let mut versions = serde_json::Map::new();
    let mut files = Vec::new();
    for (_, pins) in manifests.iter().flat_map(|m| m["targets"].as_object().unwrap()) {
        let artifacts = &pins["artifacts"];
        if let Some(npm) = artifacts.get("npm") {
            let v = npm["version"].as_str().unwrap();
            let tarball = format!("{}/registry/@openai/codex/-/codex-{v}.tgz", server.url());
            let doc = json!({"dist": {"integrity": npm["integrity"], "tarball": tarball}});
            server.add(&format!("/registry/@openai%2fcodex/{v}"), doc.to_string().into_bytes());
            versions.insert(v.to_owned(), doc);
        }
        for kind in ["wheel", "musllinux_wheel"] {
            if let Some(w) = artifacts.get(kind) {
                let file = w["file"].as_str().unwrap();
                files.push(
                    json!({"filename": file, "url": format!("../../files/{file}"), "hashes": {"sha256": w["sha256"]}}),
                );
            }
        }
    }
    let pinned = manifests.iter().map(|m| m["version"].as_str().unwrap());
    for v in pinned.chain(newer.iter().copied()) {
        versions.insert(v.to_owned(), json!({"dist": {}}));
    }
    server.add("/registry/@openai%2fcodex", json!({"versions": versions}).to_string().into_bytes());
    let page = json!({"meta": {"api-version": "1.1"}, "name": "openai-codex-cli-bin", "files": files});
    server.add("/simple/openai-codex-cli-bin/", page.to_string().into_bytes());
}

#[test]
fn freshness_warns_when_a_head_is_behind_and_require_latest_makes_it_drift() {
    let env = Env::new();
    let channels = concat!(env!("CARGO_MANIFEST_DIR"), "/../../channels");
    let online = |server: &TestServer, global: &[&str], args: &[&str]| {
        let mut cmd = env.cmd();
        cmd.args(global).args(["verify-pins", "--json", "--online", "--target", X64.0]).args(args);
        cmd.args(["--npm-registry", &format!("{}/registry/", server.url())]);
        cmd.args(["--pypi-index", &format!("{}/simple/", server.url())]);
        cmd.output().unwrap()
    };
    let freshness = |out: &std::process::Output| {
        let doc = stdout_json(out);
        let row = doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "freshness" && c["subject"] == "stable")
            .cloned();
        row.unwrap_or_else(|| panic!("no freshness row: {doc}"))
    };

    // The tree: the registries publish nothing newer than the stable head.
    let pinned = |v: &str| -> Value {
        serde_json::from_str(&read(Path::new(&format!("{channels}/versions/{v}.json")))).unwrap()
    };
    let server = TestServer::start();
    publish_pins(&server, &[&pinned("0.171.0"), &pinned("0.162.0-alpha.15")], &[]);
    let out = online(&server, &[], &["--require-latest"]);
    assert_code(&out, 0);
    assert_eq!(freshness(&out)["verdict"], "ok");

    // A 0.163.0 stable manifest while the registries have 0.171.0: a warning, or drift.
    let old = format!("{channels}/versions/0.163.0.json");
    let server = TestServer::start();
    publish_pins(&server, &[&pinned("0.163.0")], &["0.164.0", "0.171.0"]);
    let out = online(&server, &["--manifest", &old], &[]);
    assert_code(&out, 0);
    let row = freshness(&out);
    assert_eq!(row["verdict"], "behind", "{row}");
    assert_eq!(row["ok"], true);
    assert!(
        row["message"]
            .as_str()
            .unwrap()
            .contains("stable pins 0.163.0, but the registries publish 0.171.0 (2 newer releases)"),
        "{row}"
    );
    let out = online(&server, &["--manifest", &old], &["--require-latest"]);
    assert_code(&out, 7);
    assert_eq!(freshness(&out)["verdict"], "drift");
}
