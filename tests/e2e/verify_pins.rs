//! verify-pins: broken manifests and pin files, one defect at a time; online checks against a
//! loopback npm registry and PyPI index; --launch against the fake app-server.

use std::process::Command;

use codex_runtime_test_support::app_server::{
    BASE_PROTOCOL, MODE_ENV, NEWER_PROTOCOL, SCHEMA_ENV, VERSION_ENV, fake_app_server_path, fake_schema,
};
use codex_runtime_test_support::fixture::{self, FixtureRuntime, integrity, sha256_hex};
use codex_runtime_test_support::http::{Fault, TestServer};
use serde_json::{Value, json};

use crate::common::*;

const STABLE: &str = include_str!("../../channels/versions/0.163.0.json");
const ALPHA: &str = include_str!("../../channels/versions/0.162.0-alpha.15.json");
/// The pin-file checks below compare with these two manifests, not with the moving heads.
const PINNED: [&str; 4] = [
    "--manifest",
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../channels/versions/0.163.0.json"),
    "--manifest",
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../channels/versions/0.162.0-alpha.15.json"),
];

/// `(name, subject, verdict)` of every failed check.
fn failures(doc: &Value) -> Vec<(String, String, String)> {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap().to_owned();
            (s("name"), s("subject"), s("verdict"))
        })
        .collect()
}

fn failure(name: &str, subject: &str, verdict: &str) -> Vec<(String, String, String)> {
    vec![(name.to_owned(), subject.to_owned(), verdict.to_owned())]
}

fn failed_check(doc: &Value) -> &Value {
    doc["checks"].as_array().unwrap().iter().find(|c| c["ok"] == false).expect("a failed check")
}

#[test]
fn the_embedded_and_the_repository_manifests_hold() {
    let env = Env::new();
    let out = env.run(&["verify-pins", "--json"]);
    assert_code(&out, 0);
    let doc = stdout_json(&out);
    assert_eq!(doc["ok"], true);
    let names: Vec<&str> = doc["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    let pinned = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../channels/versions")).unwrap().count();
    assert_eq!(names.iter().filter(|n| **n == "manifest").count(), pinned, "{names:?}");
    for name in ["targets", "entrypoints", "channel"] {
        assert!(names.contains(&name), "{names:?}");
    }

    let channels = concat!(env!("CARGO_MANIFEST_DIR"), "/../../channels");
    let out = env.run(&[
        "verify-pins",
        "--manifest",
        &format!("{channels}/versions/0.163.0.json"),
        "--manifest",
        &format!("{channels}/versions/0.162.0-alpha.15.json"),
    ]);
    assert_code(&out, 0);
    let table = text(&out.stdout);
    assert!(table.starts_with("CHECK"), "{table}");
    assert!(table.contains("channel") && table.contains("0.162.0-alpha.15 is a pre-release"), "{table}");
}

#[test]
fn each_manifest_defect_is_drift_naming_the_check_subject_and_line() {
    const X64: &str = "x86_64-unknown-linux-musl";
    type Edit = fn(&mut Value);
    // (what, base manifest, edit, failed check, subject, text on the reported line)
    let cases: Vec<(&str, &str, Edit, &str, &str, &str)> = vec![
        ("schema", STABLE, |v| v["schema_version"] = 2.into(), "manifest", "FILE", "schema_version"),
        (
            "missing target",
            STABLE,
            |v| {
                v["targets"].as_object_mut().unwrap().remove("aarch64-pc-windows-msvc");
            },
            "targets",
            "aarch64-pc-windows-msvc",
            "targets",
        ),
        (
            "entrypoint digest not hex",
            STABLE,
            |v| v["targets"][X64]["entrypoint"]["sha256"] = "abc".into(),
            "digests",
            X64,
            "\"sha256\": \"abc\"",
        ),
        (
            "artifact digest upper case",
            STABLE,
            |v| {
                let s = v["targets"][X64]["artifacts"]["npm"]["sha256"].as_str().unwrap().to_uppercase();
                v["targets"][X64]["artifacts"]["npm"]["sha256"] = s.into();
            },
            "digests",
            X64,
            "sha256",
        ),
        (
            "integrity not sha512",
            STABLE,
            |v| v["targets"][X64]["artifacts"]["npm"]["integrity"] = "sha1-qZk+NkcGgWq6PiVxeFDCbJzQ2J0=".into(),
            "digests",
            X64,
            "integrity",
        ),
        (
            "npm version without the suffix",
            STABLE,
            |v| v["targets"][X64]["artifacts"]["npm"]["version"] = "0.163.0".into(),
            "coordinates",
            X64,
            "\"version\": \"0.163.0\"",
        ),
        (
            "npm version of another target",
            STABLE,
            |v| v["targets"][X64]["artifacts"]["npm"]["version"] = "0.163.0-linux-arm64".into(),
            "coordinates",
            X64,
            "0.163.0-linux-arm64",
        ),
        (
            "npm file of another target",
            STABLE,
            |v| v["targets"][X64]["artifacts"]["npm"]["file"] = "openai-codex-0.163.0-darwin-x64.tgz".into(),
            "coordinates",
            X64,
            "openai-codex-0.163.0-darwin-x64.tgz",
        ),
        (
            "alpha npm version in PEP 440",
            ALPHA,
            |v| v["targets"][X64]["artifacts"]["npm"]["version"] = "0.162.0a15-linux-x64".into(),
            "coordinates",
            X64,
            "0.162.0a15-linux-x64",
        ),
        (
            "wheel version of another release",
            STABLE,
            |v| v["targets"][X64]["artifacts"]["wheel"]["version"] = "0.164.0".into(),
            "coordinates",
            X64,
            "0.164.0",
        ),
        (
            "wheel file with another target's tag",
            STABLE,
            |v| {
                v["targets"][X64]["artifacts"]["wheel"]["file"] =
                    "openai_codex_cli_bin-0.163.0-py3-none-manylinux_2_17_aarch64.whl".into()
            },
            "coordinates",
            X64,
            "manylinux_2_17_aarch64.whl",
        ),
        (
            "github tag without rust-v",
            STABLE,
            |v| v["targets"][X64]["artifacts"]["github"]["tag"] = "v0.163.0".into(),
            "coordinates",
            X64,
            "\"v0.163.0\"",
        ),
        (
            "github asset of another target",
            STABLE,
            |v| v["targets"][X64]["artifacts"]["github"]["asset"] = "codex-package-aarch64-apple-darwin.tar.gz".into(),
            "coordinates",
            X64,
            "codex-package-aarch64-apple-darwin.tar.gz",
        ),
        (
            "entrypoint path",
            STABLE,
            |v| v["targets"][X64]["entrypoint"]["path"] = "bin/codex.exe".into(),
            "manifest",
            X64,
            "bin/codex.exe",
        ),
        (
            "two targets share an entrypoint",
            STABLE,
            |v| {
                let sha = v["targets"][X64]["entrypoint"]["sha256"].clone();
                let arm = &mut v["targets"]["aarch64-unknown-linux-musl"];
                arm["entrypoint"]["sha256"] = sha.clone();
                // The per-file pins list the entrypoint as pinned, or the manifest is invalid.
                for file in arm["files"].as_array_mut().unwrap() {
                    if file["path"] == "bin/codex" {
                        file["sha256"] = sha.clone();
                    }
                }
            },
            "entrypoints",
            "aarch64-unknown-linux-musl",
            "sha256",
        ),
        ("alpha pins a release", STABLE, |v| v["channel"] = "alpha".into(), "channel", "alpha", "\"version\""),
        ("stable pins a pre-release", ALPHA, |v| v["channel"] = "stable".into(), "channel", "stable", "\"version\""),
    ];
    let env = Env::new();
    for (what, base, edit, name, subject, on_line) in cases {
        let mut value: Value = serde_json::from_str(base).unwrap();
        edit(&mut value);
        let file = env.manifest(&value);
        let written = std::fs::read_to_string(&file).unwrap();
        let out = env.run(&["verify-pins", "--json", "--manifest", &file]);
        assert_code(&out, 7);
        let doc = stdout_json(&out);
        let subject = if subject == "FILE" { file.as_str() } else { subject };
        assert_eq!(failures(&doc), failure(name, subject, "drift"), "{what}");
        let check = failed_check(&doc);
        assert_eq!(check["file"], file.as_str(), "{what}");
        let line = check["line"].as_u64().unwrap_or_else(|| panic!("{what}: no line in {check}")) as usize;
        let text = written.lines().nth(line - 1).unwrap();
        assert!(text.contains(on_line), "{what}: line {line} is `{text}`, expected it to hold `{on_line}`");
    }
}

#[test]
fn a_manifest_that_is_not_json_is_drift_at_its_line() {
    let env = Env::new();
    let file = env.path("broken.json");
    std::fs::write(&file, "{\n  \"schema_version\": 1,\n  \"channel\": stable\n}\n").unwrap();
    let out = env.cmd().args(["verify-pins", "--json", "--manifest"]).arg(&file).output().unwrap();
    assert_code(&out, 7);
    let doc = stdout_json(&out);
    assert_eq!(failures(&doc), failure("manifest", file.to_str().unwrap(), "drift"));
    assert_eq!(failed_check(&doc)["line"], 3);
}

const PYPROJECT: &str =
    "[project]\nname = \"codex-sdk\"\ndependencies = [\n  \"httpx>=0.27\",\n  \"openai-codex-cli-bin==0.163.0\",\n]\n";

/// What, file contents, channel, verdict, line, words the message holds.
type PyprojectCase = (&'static str, String, &'static str, &'static str, Option<u64>, Vec<&'static str>);

#[test]
fn each_pyproject_defect_names_the_file_line_and_both_versions() {
    let env = Env::new();
    let cases: Vec<PyprojectCase> = vec![
        ("the pin holds", PYPROJECT.into(), "stable", "ok", Some(5), vec!["0.163.0"]),
        ("PEP 440 zero padding", PYPROJECT.replace("==0.163.0", "==0.163"), "stable", "ok", Some(5), vec![]),
        (
            "normalized name, spaces and a marker",
            PYPROJECT
                .replace("openai-codex-cli-bin==0.163.0", "OpenAI_Codex.CLI-bin == 0.163.0 ; python_version >= '3.10'"),
            "stable",
            "ok",
            Some(5),
            vec![],
        ),
        ("alpha in PEP 440", PYPROJECT.replace("0.163.0", "0.162.0a15"), "alpha", "ok", Some(5), vec![]),
        (
            "another version",
            PYPROJECT.replace("0.163.0", "0.162.0"),
            "stable",
            "drift",
            Some(5),
            vec!["0.162.0", "0.163.0"],
        ),
        (
            "the alpha pin against stable",
            PYPROJECT.replace("0.163.0", "0.162.0a15"),
            "stable",
            "drift",
            Some(5),
            vec!["0.162.0a15", "0.163.0"],
        ),
        (
            "a previous alpha",
            PYPROJECT.replace("0.163.0", "0.162.0a14"),
            "alpha",
            "drift",
            Some(5),
            vec!["0.162.0a14", "0.162.0a15"],
        ),
        ("a range", PYPROJECT.replace("==0.163.0", ">=0.163.0"), "stable", "drift", Some(5), vec!["not an exact pin"]),
        (
            "a wildcard",
            PYPROJECT.replace("==0.163.0", "==0.163.*"),
            "stable",
            "drift",
            Some(5),
            vec!["not an exact pin"],
        ),
        (
            "missing",
            PYPROJECT.replace("  \"openai-codex-cli-bin==0.163.0\",\n", ""),
            "stable",
            "drift",
            Some(3),
            vec!["no `openai-codex-cli-bin` requirement", "0.163.0"],
        ),
        (
            "twice",
            PYPROJECT.replace(",\n]\n", ",\n  \"openai-codex-cli-bin==0.163.0\",\n]\n"),
            "stable",
            "drift",
            Some(6),
            vec!["2 requirements", "lines 5, 6"],
        ),
        ("no [project]", "[tool.x]\na = 1\n".into(), "stable", "drift", None, vec!["[project] dependencies"]),
        ("not TOML", PYPROJECT.replace("name = ", "name "), "stable", "drift", Some(2), vec!["not valid TOML"]),
    ];
    for (what, contents, channel, verdict, line, words) in cases {
        let file = env.path("pyproject.toml");
        std::fs::write(&file, &contents).unwrap();
        let out = env
            .cmd()
            .args(PINNED)
            .args(["verify-pins", "--json", "--channel", channel, "--pyproject"])
            .arg(&file)
            .output()
            .unwrap();
        assert_code(&out, if verdict == "ok" { 0 } else { 7 });
        let doc = stdout_json(&out);
        let check = doc["checks"].as_array().unwrap().iter().find(|c| c["name"] == "pyproject").unwrap();
        assert_eq!(check["verdict"], verdict, "{what}: {check}");
        assert_eq!(check["file"], file.to_str().unwrap(), "{what}");
        assert_eq!(check["line"].as_u64(), line, "{what}: {check}");
        let message = check["message"].as_str().unwrap();
        for word in words {
            assert!(message.contains(word), "{what}: `{message}` lacks `{word}`");
        }
        assert_eq!(failures(&doc).len(), usize::from(verdict != "ok"), "{what}: {doc}");
    }
}

/// The platform aliases of `@openai/codex`'s own package.json at a version.
fn package_json(version: &str) -> Value {
    let mut deps = serde_json::Map::new();
    for suffix in ["linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64", "win32-x64", "win32-arm64"] {
        deps.insert(format!("@openai/codex-{suffix}"), format!("npm:@openai/codex@{version}-{suffix}").into());
    }
    json!({"name": "@openai/codex-sdk", "version": "1.0.0", "optionalDependencies": deps})
}

/// What, channel, edit, failed subject, words the message holds, whether a line is known.
type PackageJsonCase = (&'static str, &'static str, fn(&mut Value), &'static str, Vec<&'static str>, bool);

#[test]
fn each_package_json_defect_names_the_target_line_and_both_versions() {
    const ARM: &str = "aarch64-unknown-linux-musl (@openai/codex-linux-arm64)";
    let cases: Vec<PackageJsonCase> = vec![
        (
            "another version",
            "stable",
            |v| v["optionalDependencies"]["@openai/codex-linux-arm64"] = "npm:@openai/codex@0.162.0-linux-arm64".into(),
            ARM,
            vec!["0.162.0", "0.163.0"],
            true,
        ),
        (
            "a range",
            "stable",
            |v| {
                v["optionalDependencies"]["@openai/codex-linux-arm64"] = "npm:@openai/codex@^0.163.0-linux-arm64".into()
            },
            ARM,
            vec!["^0.163.0", "0.163.0"],
            true,
        ),
        (
            "another platform",
            "stable",
            |v| v["optionalDependencies"]["@openai/codex-linux-arm64"] = "npm:@openai/codex@0.163.0-linux-x64".into(),
            ARM,
            vec!["not the linux-arm64 package"],
            true,
        ),
        (
            "not an alias",
            "stable",
            |v| v["optionalDependencies"]["@openai/codex-linux-arm64"] = "0.163.0".into(),
            ARM,
            vec!["not an alias"],
            true,
        ),
        (
            "missing",
            "stable",
            |v| {
                v["optionalDependencies"].as_object_mut().unwrap().remove("@openai/codex-linux-arm64");
            },
            ARM,
            vec!["missing", "npm:@openai/codex@0.163.0-linux-arm64"],
            true,
        ),
        (
            "an unknown platform",
            "stable",
            |v| {
                v["optionalDependencies"]["@openai/codex-linux-riscv64"] =
                    "npm:@openai/codex@0.163.0-linux-riscv64".into()
            },
            "@openai/codex-linux-riscv64",
            vec!["not one of the six"],
            true,
        ),
        (
            "stable aliases against alpha",
            "alpha",
            |_| {},
            "x86_64-unknown-linux-musl (@openai/codex-linux-x64)",
            vec!["0.163.0", "0.162.0-alpha.15"],
            true,
        ),
        (
            "no optionalDependencies",
            "stable",
            |v| {
                v.as_object_mut().unwrap().remove("optionalDependencies");
            },
            "FILE",
            vec!["no `optionalDependencies`"],
            false,
        ),
    ];
    let env = Env::new();
    let file = env.path("package.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&package_json("0.163.0")).unwrap()).unwrap();
    let out = env.cmd().args(PINNED).args(["verify-pins", "--json", "--package-json"]).arg(&file).output().unwrap();
    assert_code(&out, 0);
    let oks = stdout_json(&out)["checks"].as_array().unwrap().iter().filter(|c| c["name"] == "package.json").count();
    assert_eq!(oks, 6, "one check per target");

    for (what, channel, edit, subject, words, has_line) in cases {
        let mut value = package_json("0.163.0");
        edit(&mut value);
        let written = serde_json::to_string_pretty(&value).unwrap();
        std::fs::write(&file, &written).unwrap();
        let out = env
            .cmd()
            .args(PINNED)
            .args(["verify-pins", "--json", "--channel", channel, "--package-json"])
            .arg(&file)
            .output()
            .unwrap();
        assert_code(&out, 7);
        let doc = stdout_json(&out);
        let subject = if subject == "FILE" { file.to_str().unwrap() } else { subject };
        let failed = failures(&doc);
        let expected = if channel == "alpha" { 6 } else { 1 };
        assert_eq!(failed.len(), expected, "{what}: {failed:?}");
        assert_eq!(failed[0], failure("package.json", subject, "drift")[0], "{what}");
        let check = failed_check(&doc);
        let message = check["message"].as_str().unwrap();
        for word in words {
            assert!(message.contains(word), "{what}: `{message}` lacks `{word}`");
        }
        assert_eq!(check["line"].is_u64(), has_line, "{what}: {check}");
        if let Some(line) = check["line"].as_u64() {
            let text = written.lines().nth(line as usize - 1).unwrap();
            assert!(
                text.contains("@openai/codex-") || text.contains("optionalDependencies"),
                "{what}: line {line} is `{text}`"
            );
        }
    }
}

#[test]
fn github_annotations_and_the_table_name_the_failed_pin() {
    let env = Env::new();
    let file = env.path("pyproject.toml");
    std::fs::write(&file, PYPROJECT.replace("0.163.0", "0.160.0")).unwrap();
    let out = env
        .cmd()
        .args(PINNED)
        .args(["verify-pins", "--github-annotations", "--pyproject"])
        .arg(&file)
        .output()
        .unwrap();
    assert_code(&out, 7);
    let stdout = text(&out.stdout);
    let expected = format!(
        "::error file={},line=5,title=verify-pins pyproject (drift)::openai-codex-cli-bin: pins `openai-codex-cli-bin==0.160.0` but the stable channel pins 0.163.0 (semver 0.163.0)",
        file.display()
    );
    assert!(stdout.lines().any(|l| l == expected), "{stdout}");
    let row = stdout.lines().find(|l| l.starts_with("pyproject ")).unwrap();
    let columns: Vec<&str> = row.split_whitespace().take(3).collect();
    assert_eq!(columns, ["pyproject", "openai-codex-cli-bin", "DRIFT"], "{stdout}");
    assert!(row.ends_with(&format!("({}:5)", file.display())), "{row}");
    assert!(text(&out.stderr).contains("1 of"), "{}", text(&out.stderr));

    let out = env.run(&["verify-pins", "--json", "--github-annotations"]);
    assert_code(&out, 2);
}

/// A runtime for every target, with distinct entrypoints, and the manifest pinning them.
struct SixTargets {
    runtimes: Vec<(FixtureRuntime, Vec<u8>, Vec<u8>)>,
    manifest: Value,
}

impl SixTargets {
    fn new(linux_x64_entrypoint: Option<&str>) -> SixTargets {
        SixTargets::of("0.163.0", linux_x64_entrypoint)
    }

    /// Six targets of `version` (a release, pinned on the stable channel).
    fn of(version: &str, linux_x64_entrypoint: Option<&str>) -> SixTargets {
        let targets = [
            ("x86_64-unknown-linux-musl", "linux-x64", "manylinux_2_17_x86_64"),
            ("aarch64-unknown-linux-musl", "linux-arm64", "manylinux_2_17_aarch64"),
            ("x86_64-apple-darwin", "darwin-x64", "macosx_10_9_x86_64"),
            ("aarch64-apple-darwin", "darwin-arm64", "macosx_11_0_arm64"),
            ("x86_64-pc-windows-msvc", "win32-x64", "win_amd64"),
            ("aarch64-pc-windows-msvc", "win32-arm64", "win_arm64"),
        ];
        let mut runtimes = Vec::new();
        let mut entries = Vec::new();
        for (triple, suffix, tag) in targets {
            let runtime = FixtureRuntime::new(version, version, triple, suffix, tag);
            let path = runtime.entrypoint().path.clone();
            let script = match linux_x64_entrypoint {
                Some(script) if suffix == "linux-x64" => script.to_owned(),
                _ => format!("#!/bin/sh\necho \"codex-cli {version} ({triple})\"\n"),
            };
            let runtime = runtime.with_file(&path, script.as_bytes());
            let (npm, wheel) = (runtime.npm_tgz(), runtime.wheel());
            entries.push((triple, runtime.manifest_target(&npm, &wheel)));
            runtimes.push((runtime, npm, wheel));
        }
        let manifest = fixture::manifest("stable", version, &entries);
        SixTargets { runtimes, manifest }
    }

    /// A registry at `/registry/` with a document per platform version, and a PEP 503 index at
    /// `/simple/` linking the wheels under `/files/`.
    fn serve(&self, server: &TestServer) -> (String, String) {
        for (runtime, npm, wheel) in &self.runtimes {
            let version = format!("{}-{}", runtime.version, runtime.npm_suffix);
            let tarball = format!("/registry/@openai/codex/-/codex-{version}.tgz");
            let doc = json!({
                "name": "@openai/codex", "version": version,
                "dist": {"integrity": integrity(npm), "shasum": "0", "tarball": format!("{}{tarball}", server.url())},
            });
            server.add(&format!("/registry/@openai%2fcodex/{version}"), doc.to_string().into_bytes());
            server.add(&tarball, npm.clone());
            server.add(&format!("/files/{}", runtime.wheel_file_name()), wheel.clone());
        }
        server.add("/simple/openai-codex-cli-bin/", self.index_page().into_bytes());
        // The whole package document, which the freshness check reads: the main version only.
        let packument = json!({"name": "@openai/codex", "versions": {"0.163.0": {"dist": {}}}});
        server.add("/registry/@openai%2fcodex", packument.to_string().into_bytes());
        (format!("{}/registry/", server.url()), format!("{}/simple/", server.url()))
    }

    /// The PEP 503 project page, with links relative to it.
    fn index_page(&self) -> String {
        let mut page = String::from("<!DOCTYPE html><html><body>\n");
        for (runtime, _, wheel) in &self.runtimes {
            let name = runtime.wheel_file_name();
            page.push_str(&format!("<a href=\"../../files/{name}#sha256={}\">{name}</a><br/>\n", sha256_hex(wheel)));
        }
        page + "</body></html>\n"
    }
}

#[test]
fn online_checks_find_drift_per_target_and_source_and_rehash_finds_bad_bytes() {
    let env = Env::new();
    let six = SixTargets::new(None);
    let manifest = env.manifest(&six.manifest);

    let server = TestServer::start();
    six.serve(&server);
    let out = online(&env, &server, &manifest, None, true);
    assert_code(&out, 0);
    let doc = stdout_json(&out);
    for name in ["npm metadata", "npm artifact", "pypi metadata", "pypi artifact"] {
        let n = doc["checks"].as_array().unwrap().iter().filter(|c| c["name"] == name && c["ok"] == true).count();
        assert_eq!(n, 6, "{name}: {doc}");
    }
    assert_eq!(server.hits("/registry/@openai%2fcodex/0.163.0-win32-arm64"), 1);
    assert_eq!(server.hits("/registry/@openai/codex/-/codex-0.163.0-win32-arm64.tgz"), 1);

    // The registry's integrity of one platform package differs from the pin.
    let server = TestServer::start();
    six.serve(&server);
    let tarball = format!("{}/registry/@openai/codex/-/codex-0.163.0-linux-arm64.tgz", server.url());
    let doc = json!({"dist": {"integrity": integrity(b"other bytes"), "tarball": tarball}});
    server.add("/registry/@openai%2fcodex/0.163.0-linux-arm64", doc.to_string().into_bytes());
    let out = online(&env, &server, &manifest, None, false);
    assert_code(&out, 7);
    let doc = stdout_json(&out);
    assert_eq!(failures(&doc), failure("npm metadata", "stable aarch64-unknown-linux-musl npm", "drift"));
    assert!(failed_check(&doc)["message"].as_str().unwrap().contains(&integrity(b"other bytes")));

    // The index lists another sha256 for one wheel.
    let server = TestServer::start();
    six.serve(&server);
    let (runtime, _, wheel) = &six.runtimes[2];
    let page = six.index_page().replace(&sha256_hex(wheel), &sha256_hex(b"another wheel"));
    server.add("/simple/openai-codex-cli-bin/", page.into_bytes());
    let out = online(&env, &server, &manifest, None, false);
    assert_code(&out, 7);
    let doc = stdout_json(&out);
    assert_eq!(failures(&doc), failure("pypi metadata", &format!("stable {} wheel", runtime.target), "drift"));
    assert!(failed_check(&doc)["message"].as_str().unwrap().contains(&sha256_hex(b"another wheel")));

    // A platform package the registry does not have.
    let server = TestServer::start();
    six.serve(&server);
    server.fault("/registry/@openai%2fcodex/0.163.0-win32-x64", Fault::Status(404));
    let out = online(&env, &server, &manifest, None, false);
    assert_code(&out, 7);
    let doc = stdout_json(&out);
    assert_eq!(failures(&doc), failure("npm metadata", "stable x86_64-pc-windows-msvc npm", "drift"));
    assert_eq!(
        server.hits("/registry/@openai%2fcodex"),
        2,
        "the packument is asked once as a fallback, once for freshness"
    );

    // The metadata holds, but the tarball's bytes do not.
    let server = TestServer::start();
    six.serve(&server);
    server.add("/registry/@openai/codex/-/codex-0.163.0-darwin-arm64.tgz", b"not the tarball".to_vec());
    let out = online(&env, &server, &manifest, None, true);
    assert_code(&out, 4);
    let doc = stdout_json(&out);
    assert_eq!(failures(&doc), failure("npm artifact", "stable aarch64-apple-darwin npm", "digest"));
    assert!(failed_check(&doc)["message"].as_str().unwrap().contains("size mismatch"));

    // An index that cannot be reached leaves every wheel unproven.
    let out = online(&env, &server, &manifest, Some("http://127.0.0.1:9/simple/"), false);
    assert_code(&out, 5);
    let failed = failures(&stdout_json(&out));
    assert_eq!(failed.len(), 6, "{failed:?}");
    assert!(failed.iter().all(|f| f.0 == "pypi metadata" && f.2 == "unavailable"), "{failed:?}");
}

#[test]
fn rehash_checks_each_pinned_block_and_names_the_first_that_differs() {
    const X64: &str = "x86_64-unknown-linux-musl";
    const BLOCK: usize = fixture::FIXTURE_BLOCK_SIZE;
    let env = Env::new();
    let mut six = SixTargets::new(None);
    // Linux x64's npm tarball and wheel span four 64 KiB blocks each (the last one shorter);
    // fixture manifests pin every block.
    let (runtime, npm, wheel) = &mut six.runtimes[0];
    *runtime = runtime.clone().with_file("codex-resources/big", &fixture::noise(200_000, 3));
    (*npm, *wheel) = (runtime.npm_tgz(), runtime.wheel());
    six.manifest["targets"][X64] = runtime.manifest_target(npm, wheel);
    let (npm, wheel) = (npm.clone(), wheel.clone());
    for artifact in ["npm", "wheel"] {
        let pinned = &six.manifest["targets"][X64]["artifacts"][artifact]["blocks"];
        assert_eq!(pinned["size"], BLOCK, "{artifact}");
        assert_eq!(pinned["sha256"].as_array().unwrap().len(), 4, "{artifact}");
    }
    let manifest = env.manifest(&six.manifest);

    let server = TestServer::start();
    six.serve(&server);
    let out = online(&env, &server, &manifest, None, true);
    assert_code(&out, 0);
    let doc = stdout_json(&out);
    for name in ["npm artifact", "pypi artifact"] {
        let check = doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name && c["subject"].as_str().unwrap().contains(X64));
        let message = check.unwrap()["message"].as_str().unwrap();
        assert!(message.ends_with("hash to the pins, each of its 4 blocks too"), "{name}: {message}");
    }

    // One byte of the tarball's third block differs: the sha256 fails, and block 2 is named.
    let mut tampered = npm.clone();
    tampered[150_000] ^= 1;
    server.add("/registry/@openai/codex/-/codex-0.163.0-linux-x64.tgz", tampered.clone());
    let out = online(&env, &server, &manifest, None, true);
    assert_code(&out, 4);
    let doc = stdout_json(&out);
    assert_eq!(failures(&doc), failure("npm artifact", &format!("stable {X64} npm"), "digest"));
    let message = failed_check(&doc)["message"].as_str().unwrap();
    let block = format!(
        "block 2 (bytes 131072..196608) does not match its pin: expected sha256 {}, got {}",
        sha256_hex(&npm[2 * BLOCK..3 * BLOCK]),
        sha256_hex(&tampered[2 * BLOCK..3 * BLOCK])
    );
    assert!(message.contains(&format!("sha256 mismatch: expected {}", sha256_hex(&npm))), "{message}");
    assert!(message.contains(&block), "{message}");

    // The wheel is the pinned one but its last block's pin is not: the pins are named wrong.
    let mut value = six.manifest.clone();
    value["targets"][X64]["artifacts"]["wheel"]["blocks"]["sha256"][3] = sha256_hex(b"another block").into();
    let manifest = env.manifest(&value);
    let server = TestServer::start();
    six.serve(&server);
    let out = online(&env, &server, &manifest, None, true);
    assert_code(&out, 4);
    let doc = stdout_json(&out);
    assert_eq!(failures(&doc), failure("pypi artifact", &format!("stable {X64} wheel"), "digest"));
    let message = failed_check(&doc)["message"].as_str().unwrap();
    let block = format!(
        "block pins mismatch: block 3 (bytes 196608..{}) does not match its pin: expected sha256 {}, got {}",
        wheel.len(),
        sha256_hex(b"another block"),
        sha256_hex(&wheel[3 * BLOCK..])
    );
    assert!(message.contains(&block), "{message}");
}

/// Regression: `--rehash` read each artifact straight from the HTTP client, so one connection
/// reset in the middle of a body left the artifact unproven.
#[test]
fn a_rehash_resumes_after_a_connection_reset_and_says_which_failures_are_whose() {
    let env = Env::new();
    let six = SixTargets::new(None);
    let manifest = env.manifest(&six.manifest);
    let (runtime, npm, _) = &six.runtimes[0];
    let subject = format!("stable {} npm", runtime.target);
    let tarball = format!("/registry/@openai/codex/-/codex-0.163.0-{}.tgz", runtime.npm_suffix);
    let cache = env.path("cache");
    let rehash = |server: &TestServer, retries: &str| {
        let mut cmd = online_cmd(&env, server, &manifest, None, true);
        cmd.env("CODEX_RUNTIME_CACHE_DIR", &cache).env("CODEX_RUNTIME_RETRIES", retries).output().unwrap()
    };

    // The tarball's connection is reset halfway through: the retry asks for the rest.
    let server = TestServer::start();
    six.serve(&server);
    let half = npm.len() as u64 / 2;
    server.faults(&tarball, [Fault::Reset { after: half }]);
    let out = rehash(&server, "2");
    assert_code(&out, 0);
    let requests = server.requests_for(&tarball);
    assert_eq!(requests.len(), 2, "{requests:?}");
    let range = requests[1].header("range").unwrap_or_default().to_owned();
    let from: u64 = range.strip_prefix("bytes=").and_then(|r| r.strip_suffix('-')).unwrap().parse().unwrap();
    assert!(from > 0 && from <= half, "{range}");
    let leftovers: Vec<_> = ["tmp", "downloads"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(cache.join(dir)).into_iter().flatten())
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(leftovers.is_empty(), "the artifacts are removed once hashed: {leftovers:?}");

    // A reset after every 100 bytes, and only one retry: unproven, not drift.
    let server = TestServer::start();
    six.serve(&server);
    server.fault(&tarball, Fault::Reset { after: 100 });
    let out = rehash(&server, "1");
    assert_code(&out, 5);
    let doc = stdout_json(&out);
    assert_eq!(failures(&doc), failure("npm artifact", &subject, "unavailable"));
    assert_eq!(server.hits(&tarball), 2);

    // The registry no longer has the tarball it names: drift.
    let server = TestServer::start();
    six.serve(&server);
    server.fault(&tarball, Fault::Status(404));
    let out = rehash(&server, "2");
    assert_code(&out, 7);
    let doc = stdout_json(&out);
    assert_eq!(failures(&doc), failure("npm artifact", &subject, "drift"));
    assert!(failed_check(&doc)["message"].as_str().unwrap().ends_with("the artifact is gone (404)"));
}

/// `verify-pins --online` against the registry and index a [`SixTargets`] serves (or another
/// index).
fn online(env: &Env, server: &TestServer, manifest: &str, index: Option<&str>, rehash: bool) -> std::process::Output {
    online_cmd(env, server, manifest, index, rehash).output().unwrap()
}

/// The command [`online`] runs, without retries.
fn online_cmd(env: &Env, server: &TestServer, manifest: &str, index: Option<&str>, rehash: bool) -> Command {
    let registry = format!("{}/registry/", server.url());
    let index = index.map_or_else(|| format!("{}/simple/", server.url()), str::to_owned);
    let mut cmd = env.cmd();
    cmd.args(["verify-pins", "--json", "--online", "--manifest", manifest])
        .args(["--npm-registry", &registry, "--pypi-index", &index])
        .env("CODEX_RUNTIME_RETRIES", "0");
    if rehash {
        cmd.arg("--rehash");
    }
    cmd
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn launch_installs_the_host_runtime_and_checks_it() {
    let env = Env::new();
    let script = format!("#!/bin/sh\nexec '{}' \"$@\"\n", fake_app_server_path().display());
    let six = SixTargets::new(Some(&script));
    let manifest = env.manifest(&six.manifest);
    let mirror = env.path("mirror");
    std::fs::create_dir_all(&mirror).unwrap();
    let (runtime, npm, _) = &six.runtimes[0];
    std::fs::write(mirror.join(runtime.npm_file_name()), npm).unwrap();
    let run = |version: &str| {
        env.cmd()
            .args(["verify-pins", "--json", "--launch", "--manifest", &manifest, "--source", "mirror", "--mirror"])
            .arg(&mirror)
            .env(MODE_ENV, "well-behaved")
            .env(VERSION_ENV, version)
            .output()
            .unwrap()
    };
    let out = run("0.163.0");
    assert_code(&out, 0);
    let doc = stdout_json(&out);
    let launch = doc["checks"].as_array().unwrap().iter().find(|c| c["name"] == "launch").unwrap().clone();
    assert_eq!(launch["ok"], true, "{launch}");
    assert!(launch["message"].as_str().unwrap().contains("answered initialize as 0.163.0"), "{launch}");

    let out = run("0.160.0");
    assert_code(&out, 6);
    let doc = stdout_json(&out);
    assert_eq!(failures(&doc), failure("launch", "stable 0.163.0", "incompatible"));
    assert!(failed_check(&doc)["message"].as_str().unwrap().contains("0.160.0"));
}

// ---------------------------------------------------------------------------------------------
// The protocol of a pin file's version against the channel head's

/// A Linux x64 entrypoint running the fake app-server, which describes `protocol`.
fn fake_speaking(protocol: &str) -> String {
    format!("#!/bin/sh\n{SCHEMA_ENV}={protocol} exec '{}' \"$@\"\n", fake_app_server_path().display())
}

/// A bump from 0.163.0 (speaking the fake's base protocol) to a 0.171.0 head speaking another,
/// both pinned for all six targets, their manifests written into the env.
struct Bump {
    sides: [(SixTargets, String); 2],
}

impl Bump {
    fn new(env: &Env, head_protocol: &str, edit: fn(&mut Value)) -> Bump {
        let side = |version: &str, protocol: &str| {
            let mut six = SixTargets::of(version, Some(&fake_speaking(protocol)));
            edit(&mut six.manifest);
            let path = env.path(&format!("{version}.json"));
            std::fs::write(&path, serde_json::to_vec_pretty(&six.manifest).unwrap()).unwrap();
            (six, path.to_str().unwrap().to_owned())
        };
        Bump { sides: [side("0.163.0", BASE_PROTOCOL), side("0.171.0", head_protocol)] }
    }

    /// `--manifest` for each side.
    fn manifest_args(&self) -> Vec<&str> {
        self.sides.iter().flat_map(|(_, path)| ["--manifest", path.as_str()]).collect()
    }

    /// Puts side `i`'s Linux x64 runtime into the env's cache.
    fn import(&self, env: &Env, i: usize) {
        let (six, manifest) = &self.sides[i];
        let (runtime, npm, _) = &six.runtimes[0];
        let file = env.path(&runtime.npm_file_name());
        std::fs::write(&file, npm).unwrap();
        assert_code(&env.cmd().args(["import", "--manifest", manifest]).arg(&file).output().unwrap(), 0);
    }

    /// A mirror directory holding both sides' Linux x64 npm tarballs.
    fn mirror(&self, env: &Env) -> std::path::PathBuf {
        let dir = env.path("mirror");
        std::fs::create_dir_all(&dir).unwrap();
        for (six, _) in &self.sides {
            let (runtime, npm, _) = &six.runtimes[0];
            std::fs::write(dir.join(runtime.npm_file_name()), npm).unwrap();
        }
        dir
    }
}

/// The `protocol` checks of a report.
fn protocol_checks(doc: &Value) -> Vec<&Value> {
    doc["checks"].as_array().unwrap().iter().filter(|c| c["name"] == "protocol").collect()
}

/// The pyproject drift every bump has: the file pins 0.163.0, the head is 0.171.0.
fn pin_drift() -> Vec<(String, String, String)> {
    failure("pyproject", "openai-codex-cli-bin", "drift")
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn a_pin_file_behind_the_head_gets_the_protocol_diff_as_a_warning_or_as_drift() {
    let env = Env::new();
    let bump = Bump::new(&env, NEWER_PROTOCOL, |_| {});
    let pyproject = env.path("pyproject.toml");
    std::fs::write(&pyproject, PYPROJECT).unwrap();
    let package = env.path("package.json");
    std::fs::write(&package, serde_json::to_vec_pretty(&package_json("0.163.0")).unwrap()).unwrap();
    let run = |extra: &[&str]| {
        let mut cmd = env.cmd();
        cmd.args(bump.manifest_args()).args(["verify-pins", "--json", "--pyproject"]).arg(&pyproject).args(extra);
        cmd.output().unwrap()
    };

    // Neither runtime is in the cache, and verify-pins does not install offline: a note.
    let out = run(&[]);
    assert_code(&out, 7);
    let doc = stdout_json(&out);
    assert_eq!(failures(&doc), pin_drift());
    let checks = protocol_checks(&doc);
    assert_eq!(checks.len(), 1, "{doc}");
    let check = checks[0];
    assert_eq!((&check["verdict"], &check["ok"]), (&json!("note"), &json!(true)), "{check}");
    assert_eq!(check["subject"], "0.163.0 -> 0.171.0");
    assert_eq!(check["file"], pyproject.to_str().unwrap());
    assert_eq!(
        check["message"],
        "protocol not compared: 0.163.0 and 0.171.0 are not in the cache; run with --online or \
         `codex-runtime install --version 0.163.0` and `codex-runtime install --version 0.171.0`"
    );
    assert!(check.get("protocol").is_none(), "{check}");

    // Only the head is missing: the note names it alone.
    bump.import(&env, 0);
    let doc = stdout_json(&run(&[]));
    assert_eq!(
        protocol_checks(&doc)[0]["message"],
        "protocol not compared: 0.171.0 is not in the cache; run with --online or `codex-runtime install --version 0.171.0`"
    );

    // Both cached: the diff, as a warning that fails nothing.
    bump.import(&env, 1);
    let out = run(&[]);
    assert_code(&out, 7);
    let doc = stdout_json(&out);
    assert_eq!(failures(&doc), pin_drift());
    let check = protocol_checks(&doc)[0];
    assert_eq!((&check["verdict"], &check["ok"]), (&json!("warning"), &json!(true)), "{check}");
    assert_eq!(
        check["protocol"],
        json!({
            "from": "0.163.0", "to": "0.171.0", "compatible": false, "same": false,
            "methods": {"added": 1, "removed": 0},
            "server_requests": {"added": 0, "removed": 0},
            "notifications": {"added": 0, "removed": 0},
            "breaking": ["ReviewDelivery: enum value \"detached\" removed"],
        })
    );
    let message = check["message"].as_str().unwrap();
    assert!(
        message.starts_with("a client generated against 0.163.0 cannot talk to 0.171.0: 1 method added"),
        "{message}"
    );

    // --deny-protocol-drift: the same diff is drift, for each pin file behind the head.
    let out = run(&["--deny-protocol-drift", "--package-json", package.to_str().unwrap()]);
    assert_code(&out, 7);
    let doc = stdout_json(&out);
    let protocol: Vec<_> = failures(&doc).into_iter().filter(|f| f.0 == "protocol").collect();
    assert_eq!(
        protocol,
        [failure("protocol", "0.163.0 -> 0.171.0", "drift"), failure("protocol", "0.163.0 -> 0.171.0", "drift")]
            .concat()
    );
    let files: Vec<&Value> = protocol_checks(&doc).iter().map(|c| &c["file"]).collect();
    assert_eq!(files, [pyproject.to_str().unwrap(), package.to_str().unwrap()]);

    // A pin file at the head has nothing to compare.
    std::fs::write(&pyproject, PYPROJECT.replace("0.163.0", "0.171.0")).unwrap();
    let out = run(&["--deny-protocol-drift"]);
    assert_code(&out, 0);
    assert!(protocol_checks(&stdout_json(&out)).is_empty());
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn equal_pinned_digests_need_no_runtime_and_a_compatible_head_passes() {
    // Both pins name the base protocol's digest: the same protocol, with nothing cached.
    let env = Env::new();
    let bump = Bump::new(&env, BASE_PROTOCOL, |manifest| {
        let digest = codex_app_server_client::protocol::Schema::from_files(fake_schema(BASE_PROTOCOL, false)).digest();
        manifest["protocol"] =
            json!({"sha256": digest, "client_requests": 2, "server_requests": 1, "notifications": 1});
    });
    let pyproject = env.path("pyproject.toml");
    std::fs::write(&pyproject, PYPROJECT).unwrap();
    let run = |extra: &[&str]| {
        let mut cmd = env.cmd();
        cmd.args(bump.manifest_args()).args(["verify-pins", "--json", "--pyproject"]).arg(&pyproject).args(extra);
        cmd.output().unwrap()
    };
    let out = run(&["--deny-protocol-drift"]);
    assert_code(&out, 7);
    let doc = stdout_json(&out);
    assert_eq!(failures(&doc), pin_drift());
    let check = protocol_checks(&doc)[0];
    assert_eq!(check["verdict"], "ok", "{check}");
    assert_eq!(check["protocol"]["same"], true, "{check}");
    assert!(check["message"].as_str().unwrap().contains("pin the same protocol"), "{check}");
    assert!(!env.cache().join("runtimes").exists(), "nothing was installed");

    // Unpinned digests, a head that speaks the same protocol: compared, and compatible.
    let env = Env::new();
    let bump = Bump::new(&env, BASE_PROTOCOL, |_| {});
    std::fs::write(&pyproject, PYPROJECT).unwrap();
    bump.import(&env, 0);
    bump.import(&env, 1);
    let out = env
        .cmd()
        .args(bump.manifest_args())
        .args(["verify-pins", "--json", "--deny-protocol-drift", "--pyproject"])
        .arg(&pyproject)
        .output()
        .unwrap();
    let doc = stdout_json(&out);
    assert_eq!(failures(&doc), pin_drift());
    let check = protocol_checks(&doc)[0];
    assert_eq!(check["verdict"], "ok", "{check}");
    assert_eq!((&check["protocol"]["compatible"], &check["protocol"]["same"]), (&json!(true), &json!(false)));
    assert!(check["message"].as_str().unwrap().starts_with("a client generated against 0.163.0 can talk to 0.171.0"));
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn online_installs_the_runtimes_the_protocol_check_needs() {
    let env = Env::new();
    let bump = Bump::new(&env, NEWER_PROTOCOL, |_| {});
    let pyproject = env.path("pyproject.toml");
    std::fs::write(&pyproject, PYPROJECT).unwrap();
    let mirror = bump.mirror(&env);
    let out = env
        .cmd()
        .args(bump.manifest_args())
        .args(["verify-pins", "--json", "--online", "--pyproject"])
        .arg(&pyproject)
        .args(["--source", "mirror", "--mirror"])
        .arg(&mirror)
        // The registry checks find nothing to ask; the protocol check needs none.
        .args(["--npm-registry", "http://127.0.0.1:9/", "--pypi-index", "http://127.0.0.1:9/simple/"])
        .env("CODEX_RUNTIME_RETRIES", "0")
        .output()
        .unwrap();
    assert_code(&out, 7);
    let doc = stdout_json(&out);
    let check = protocol_checks(&doc)[0];
    assert_eq!(check["verdict"], "warning", "{check}");
    assert_eq!(check["protocol"]["breaking"], json!(["ReviewDelivery: enum value \"detached\" removed"]));
    for version in ["0.163.0", "0.171.0"] {
        assert!(env.cache().join("runtimes").join(version).join(LINUX).is_dir(), "{version} was installed");
    }
}
