//! protocol schema, protocol diff and the pinned protocol in check, against the fake
//! app-server's two protocols.

use codex_app_server_client::protocol::Schema;
use codex_runtime_test_support::app_server::{
    BASE_PROTOCOL, FakeMode, MODE_ENV, NEWER_PROTOCOL, SCHEMA_ENV, VERSION_ENV, fake_app_server_path, fake_schema,
};
use serde_json::json;

use crate::common::*;

fn digest(protocol: &str) -> String {
    Schema::from_files(fake_schema(protocol, false)).digest()
}

/// The fake's schema of `protocol`, written by the fake into `dir` under the env's directory.
fn schema_dir(env: &Env, protocol: &str, dir: &str) -> String {
    let out = env.path(dir);
    let done = env
        .cmd()
        .args(["protocol", "schema", "--json", "--codex-bin"])
        .arg(fake_app_server_path())
        .arg("--out")
        .arg(&out)
        .env(SCHEMA_ENV, protocol)
        .output()
        .unwrap();
    assert_code(&done, 0);
    out.to_str().unwrap().to_owned()
}

#[test]
fn schema_writes_the_runtimes_schema_and_prints_its_digest() {
    let env = Env::new();
    let out = env.path("schema");
    let run = |experimental: bool| {
        let mut cmd = env.cmd();
        cmd.args(["protocol", "schema", "--json", "--codex-bin"]).arg(fake_app_server_path()).arg("--out").arg(&out);
        if experimental {
            cmd.arg("--experimental");
        }
        cmd.output().unwrap()
    };
    let done = run(false);
    assert_code(&done, 0);
    let doc = stdout_json(&done);
    assert_eq!(doc["sha256"], digest(BASE_PROTOCOL));
    assert_eq!((doc["client_requests"].as_u64(), doc["server_requests"].as_u64()), (Some(2), Some(1)));
    assert_eq!(doc["notifications"], 1);
    assert!(out.join("v2/ReviewStartParams.json").is_file());
    // Read back from the directory, the digest is the same: it does not depend on where.
    assert_eq!(Schema::read(&out).unwrap().digest(), digest(BASE_PROTOCOL));
    let experimental = stdout_json(&run(true));
    assert_eq!(experimental["client_requests"], 3);
    assert_ne!(experimental["sha256"], doc["sha256"]);
}

#[test]
fn a_binary_that_cannot_describe_its_protocol_is_incompatible() {
    let env = Env::new();
    let out = env
        .cmd()
        .args(["protocol", "schema", "--codex-bin"])
        .arg(fake_app_server_path())
        .env(MODE_ENV, FakeMode::ExitEarly.as_str())
        .output()
        .unwrap();
    assert_code(&out, 6);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("generate-json-schema` failed") && stderr.contains("unrecognized subcommand"), "{stderr}");
}

#[test]
fn diff_lists_what_changed_and_judges_by_direction() {
    let env = Env::new();
    let base = schema_dir(&env, BASE_PROTOCOL, "base");
    let newer = schema_dir(&env, NEWER_PROTOCOL, "newer");

    let out = env.cmd().args(["protocol", "diff", "--json", &base, &newer]).output().unwrap();
    assert_code(&out, 6);
    let doc = stdout_json(&out);
    let keys: Vec<&str> = doc.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["changes", "compatible", "from", "methods", "notifications", "server_requests", "to"]);
    assert_eq!(doc["compatible"], false);
    assert_eq!(doc["methods"], json!({"added": ["model/list"], "removed": []}));
    assert_eq!(doc["notifications"], json!({"added": [], "removed": []}));
    assert_eq!(
        doc["changes"],
        json!([
            {"type": "ReviewDelivery", "field": "", "change": "enum value \"detached\" removed"},
            {"type": "ReviewStartParams", "field": "model", "change": "added"},
        ])
    );

    let out = env.cmd().args(["protocol", "diff", "--json", &newer, &base]).output().unwrap();
    assert_code(&out, 6);
    let doc = stdout_json(&out);
    assert_eq!(doc["methods"], json!({"added": [], "removed": ["model/list"]}));
    assert_eq!(doc["changes"], json!([{"type": "ReviewStartParams", "field": "model", "change": "removed"}]));

    // A binary side: the fake speaks the base protocol.
    let out = env.cmd().args(["protocol", "diff", "--json", &base]).arg(fake_app_server_path()).output().unwrap();
    assert_code(&out, 0);
    let doc = stdout_json(&out);
    assert_eq!(doc["compatible"], true);
    assert_eq!(doc["changes"], json!([]));

    let out = env.cmd().args(["protocol", "diff", &base, "no-such-thing"]).output().unwrap();
    assert_code(&out, 2);
    assert!(text(&out.stderr).contains("neither a file, a directory nor a version"));
}

#[test]
fn check_refuses_a_binary_that_reports_one_version_and_speaks_another() {
    let env = Env::new();
    let mut manifest = Fixture::stable().manifest;
    manifest["protocol"] = json!({
        "sha256": digest(BASE_PROTOCOL),
        "client_requests": 2,
        "server_requests": 1,
        "notifications": 1,
    });
    let manifest = env.manifest(&manifest);
    let run = |protocol: &str| {
        env.cmd()
            .args(["check", "--manifest", &manifest, "--target", LINUX, "--codex-bin"])
            .arg(fake_app_server_path())
            .env(MODE_ENV, "well-behaved")
            .env(VERSION_ENV, "0.163.0")
            .env(SCHEMA_ENV, protocol)
            .output()
            .unwrap()
    };
    assert_code(&run(BASE_PROTOCOL), 0);
    let out = run(NEWER_PROTOCOL);
    assert_code(&out, 6);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "reports 0.163.0 but speaks a different protocol than 0.163.0: 3 client request methods where 0.163.0 has 2"
        ),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("pinned {}", digest(BASE_PROTOCOL))), "{stderr}");
}
