//! Every source and a network that fails: retries, resume, fallback, the GitHub and PyPI
//! sources, adoption of runtimes pip and npm installed, a proxy, offline. Each test asserts on
//! what the loopback servers received.

use std::path::Path;
use std::process::{Command, Output};

use codex_runtime_test_support::fixture::sha256_hex;
use codex_runtime_test_support::http::{Fault, TestServer};

use crate::common::*;

/// The binary with no inherited network, index or Python configuration, and short backoffs.
fn cmd(env: &Env) -> Command {
    let mut cmd = env.cmd();
    for var in [
        "PIP_INDEX_URL",
        "UV_DEFAULT_INDEX",
        "UV_INDEX_URL",
        "CODEX_RUNTIME_PYPI_INDEX",
        "XDG_CONFIG_HOME",
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "PYTHONPATH",
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
        "CODEX_RUNTIME_READ_TIMEOUT_SECS",
        "CODEX_RUNTIME_RETRIES",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("CODEX_RUNTIME_RETRY_BASE_MS", "10")
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env("npm_config_prefix", env.path("npm-global"))
        .env("CODEX_RUNTIME_GITHUB_BASE_URL", "http://127.0.0.1:9/unreachable");
    cmd
}

fn install_from_mirror(env: &Env, fixture: &Fixture, mirror: &str, extra: &[(&str, &str)]) -> Output {
    let manifest = env.manifest(&fixture.manifest);
    let mut cmd = cmd(env);
    cmd.args([
        "install",
        "--manifest",
        &manifest,
        "--target",
        LINUX,
        "--source",
        "mirror",
        "--mirror",
        mirror,
        "--json",
    ]);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn wheel_path(fixture: &Fixture) -> String {
    format!("/mirror/{}", fixture.runtime.wheel_file_name())
}

fn part_file(env: &Env, fixture: &Fixture) -> std::path::PathBuf {
    env.cache().join("downloads").join(format!("{}.part", sha256_hex(&fixture.wheel)))
}

fn receipt(env: &Env) -> serde_json::Value {
    let path = env.cache().join("runtimes/0.163.0").join(LINUX).join(".codex-runtime-receipt.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn server_errors_are_retried_until_the_download_succeeds() {
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let mirror = fixture.serve_mirror(&server);
    server.faults(&wheel_path(&fixture), [Fault::Status(500), Fault::Status(503)]);

    let out = install_from_mirror(&env, &fixture, &mirror, &[]);
    assert_code(&out, 0);
    assert_eq!(server.hits(&wheel_path(&fixture)), 3, "two failures, then success");
    assert_eq!(receipt(&env)["artifact"]["kind"], "wheel");
}

#[test]
fn too_many_requests_waits_for_retry_after_then_retries() {
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let mirror = fixture.serve_mirror(&server);
    server.faults(&wheel_path(&fixture), [Fault::TooManyRequests { retry_after: 1 }]);

    let out = install_from_mirror(&env, &fixture, &mirror, &[]);
    assert_code(&out, 0);
    assert_eq!(server.hits(&wheel_path(&fixture)), 2);
    assert!(text(&out.stderr).contains("HTTP 429; retrying in 1000 ms"), "{}", text(&out.stderr));
}

#[test]
fn retries_are_bounded_and_not_found_or_forbidden_is_never_retried() {
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let mirror = fixture.serve_mirror(&server);
    server.fault(&wheel_path(&fixture), Fault::Status(500));
    let npm_path = format!("/mirror/{}", fixture.runtime.npm_file_name());
    server.fault(&npm_path, Fault::Status(403));

    let out = install_from_mirror(&env, &fixture, &mirror, &[("CODEX_RUNTIME_RETRIES", "2")]);
    assert_code(&out, 5);
    assert_eq!(server.hits(&wheel_path(&fixture)), 3, "the first try and two retries");
    assert_eq!(server.hits(&npm_path), 1, "a 403 is not retried");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("HTTP 500") && stderr.contains("HTTP 403"), "{stderr}");

    let empty = format!("{}/empty", server.url());
    let out = install_from_mirror(&env, &fixture, &empty, &[]);
    assert_code(&out, 5);
    assert_eq!(server.hits(&format!("/empty/{}", fixture.runtime.wheel_file_name())), 1, "a 404 is not retried");
}

#[test]
fn a_dropped_connection_resumes_with_range() {
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let mirror = fixture.serve_mirror(&server);
    server.faults(&wheel_path(&fixture), [Fault::Truncate(300)]);

    let out = install_from_mirror(&env, &fixture, &mirror, &[]);
    assert_code(&out, 0);
    let requests = server.requests_for(&wheel_path(&fixture));
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].header("range"), None);
    assert_eq!(requests[1].header("range"), Some("bytes=300-"));
    assert_eq!(receipt(&env)["artifact"]["sha256"], sha256_hex(&fixture.wheel), "the digest covers the whole file");
    assert!(!part_file(&env, &fixture).exists());
    assert!(env.cache_listing().iter().all(|p| !p.starts_with("tmp/") && !p.ends_with(".part")));
}

#[test]
fn a_server_that_ignores_range_restarts_the_file_cleanly() {
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let mirror = fixture.serve_mirror(&server);
    server.faults(&wheel_path(&fixture), [Fault::Truncate(300), Fault::IgnoreRange]);

    let out = install_from_mirror(&env, &fixture, &mirror, &[]);
    assert_code(&out, 0);
    let requests = server.requests_for(&wheel_path(&fixture));
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].header("range"), Some("bytes=300-"), "asked to resume, got the whole file");
    assert_eq!(receipt(&env)["artifact"]["sha256"], sha256_hex(&fixture.wheel));
}

/// Regression: a 206 without `Content-Range` was taken for a server that ignored `Range`, so its
/// bytes from offset 300 were written at offset 0.
#[test]
fn a_206_without_content_range_starts_again_from_the_first_byte() {
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let mirror = fixture.serve_mirror(&server);
    server.faults(&wheel_path(&fixture), [Fault::Truncate(300), Fault::NoContentRange]);

    let out = install_from_mirror(&env, &fixture, &mirror, &[]);
    assert_code(&out, 0);
    let requests = server.requests_for(&wheel_path(&fixture));
    let ranges: Vec<_> = requests.iter().map(|r| r.header("range")).collect();
    assert_eq!(ranges, [None, Some("bytes=300-"), None], "the third request starts from zero");
    assert!(text(&out.stderr).contains("without a valid Content-Range"), "{}", text(&out.stderr));
    assert_eq!(receipt(&env)["artifact"]["sha256"], sha256_hex(&fixture.wheel));
}

/// A partial file of the wheel's first 500 bytes, as a killed run leaves it.
fn leave_partial(env: &Env, fixture: &Fixture) {
    std::fs::create_dir_all(env.cache().join("downloads")).unwrap();
    std::fs::write(part_file(env, fixture), &fixture.wheel[..500]).unwrap();
}

/// Regression: a wrong answer to a Range request (a login page, another total size) truncated
/// the partial file before its size was checked, then deleted it.
#[test]
fn a_wrong_answer_to_a_range_request_keeps_the_partial_file() {
    let fixture = Fixture::stable();
    let page = "<html><body>Please sign in to continue.</body></html>\n";
    let replies = [
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
            page.len()
        ),
        format!(
            "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 500-999/{}\r\nContent-Length: 500\r\nConnection: close\r\n\r\n{}",
            fixture.wheel.len() + 1,
            "x".repeat(500)
        ),
    ];
    for reply in replies {
        let (env, server) = (Env::new(), TestServer::start());
        let mirror = fixture.serve_mirror(&server);
        leave_partial(&env, &fixture);
        server.fault(&wheel_path(&fixture), Fault::Reply(reply.clone()));

        let out = install_from_mirror(&env, &fixture, &mirror, &[]);
        assert_code(&out, 0);
        assert_eq!(stdout_json(&out)["source"], "mirror");
        assert_eq!(server.hits(&wheel_path(&fixture)), 1, "a wrong size is not retried: {reply}");
        let kept = std::fs::read(part_file(&env, &fixture)).unwrap();
        assert!(kept == fixture.wheel[..500], "the partial file is kept as it was: {reply}");
    }
}

/// Regression: a server answering Range requests with 416 failed every run, and the partial file
/// it refused was kept for ever.
#[test]
fn range_not_satisfiable_drops_the_partial_file_and_starts_from_zero() {
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let mirror = fixture.serve_mirror(&server);
    leave_partial(&env, &fixture);
    let refusal = format!(
        "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        fixture.wheel.len()
    );
    server.faults(&wheel_path(&fixture), [Fault::Reply(refusal)]);

    let out = install_from_mirror(&env, &fixture, &mirror, &[]);
    assert_code(&out, 0);
    let requests = server.requests_for(&wheel_path(&fixture));
    let ranges: Vec<_> = requests.iter().map(|r| r.header("range")).collect();
    assert_eq!(ranges, [Some("bytes=500-"), None]);
    assert_eq!(receipt(&env)["artifact"]["kind"], "wheel");
    assert!(!part_file(&env, &fixture).exists());
}

/// Regression: a Retry-After of days was waited out 30 s at a time, three times per URL.
#[test]
fn a_retry_after_longer_than_the_longest_wait_is_not_waited_for() {
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let mirror = fixture.serve_mirror(&server);
    let npm_path = format!("/mirror/{}", fixture.runtime.npm_file_name());
    for path in [wheel_path(&fixture), npm_path.clone()] {
        server.fault(&path, Fault::TooManyRequests { retry_after: 999_999 });
    }

    let out = install_from_mirror(&env, &fixture, &mirror, &[]);
    assert_code(&out, 5);
    assert_eq!((server.hits(&wheel_path(&fixture)), server.hits(&npm_path)), (1, 1), "no retry");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("HTTP 429: the server asked to retry in 277 hours"), "{stderr}");
}

/// Regression: a server sending its headers one line at a time held the client as long as it
/// liked, each line arriving well within the per-read timeout.
#[test]
fn a_response_head_slower_than_the_read_timeout_is_given_up_on() {
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let mirror = fixture.serve_mirror(&server);
    server.faults(&wheel_path(&fixture), [Fault::SlowHead { lines: 20, delay_ms: 200 }]);

    let out = install_from_mirror(&env, &fixture, &mirror, &[("CODEX_RUNTIME_READ_TIMEOUT_SECS", "1")]);
    assert_code(&out, 0);
    assert_eq!(server.hits(&wheel_path(&fixture)), 2, "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("the response headers took more than 1 s"), "{stderr}");
    assert_eq!(receipt(&env)["artifact"]["kind"], "wheel");
}

/// Regression: every failed request left an empty `downloads/SHA256.part` behind.
#[test]
fn a_failed_request_leaves_no_empty_part_file() {
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let mirror = fixture.serve_mirror(&server);
    server.fault(&wheel_path(&fixture), Fault::Status(403));
    server.fault(&format!("/mirror/{}", fixture.runtime.npm_file_name()), Fault::Status(404));

    let out = install_from_mirror(&env, &fixture, &mirror, &[]);
    assert_code(&out, 5);
    let listing = env.cache_listing();
    assert!(listing.iter().all(|p| !p.ends_with(".part")), "{listing:?}");
}

/// Regression: a stall was reported as "timeout: per read", naming neither the time nor the setting.
#[test]
fn a_stall_is_reported_with_its_time_and_setting() {
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let mirror = fixture.serve_mirror(&server);
    server.faults(&wheel_path(&fixture), [Fault::Stall { after: 200, ms: 5000 }]);

    let out = install_from_mirror(&env, &fixture, &mirror, &[("CODEX_RUNTIME_READ_TIMEOUT_SECS", "0.3")]);
    assert_code(&out, 0);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("no data for 0.3 s (CODEX_RUNTIME_READ_TIMEOUT_SECS)"), "{stderr}");
}

#[test]
fn a_stalled_server_times_out_and_the_retry_resumes() {
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let mirror = fixture.serve_mirror(&server);
    server.faults(&wheel_path(&fixture), [Fault::Stall { after: 200, ms: 5000 }]);

    let out = install_from_mirror(&env, &fixture, &mirror, &[("CODEX_RUNTIME_READ_TIMEOUT_SECS", "0.3")]);
    assert_code(&out, 0);
    let requests = server.requests_for(&wheel_path(&fixture));
    assert_eq!(requests.len(), 2, "{}", text(&out.stderr));
    assert_eq!(requests[1].header("range"), Some("bytes=200-"));
}

#[test]
fn a_slow_trickle_is_not_a_stall() {
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let mirror = fixture.serve_mirror(&server);
    server.fault(&wheel_path(&fixture), Fault::Trickle { chunk: 512, delay_ms: 20 });

    let out = install_from_mirror(&env, &fixture, &mirror, &[("CODEX_RUNTIME_READ_TIMEOUT_SECS", "2")]);
    assert_code(&out, 0);
    assert_eq!(server.hits(&wheel_path(&fixture)), 1);
}

#[test]
fn a_partial_file_left_by_a_killed_run_is_resumed() {
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let mirror = fixture.serve_mirror(&server);
    std::fs::create_dir_all(env.cache().join("downloads")).unwrap();
    std::fs::write(part_file(&env, &fixture), &fixture.wheel[..500]).unwrap();

    let out = install_from_mirror(&env, &fixture, &mirror, &[]);
    assert_code(&out, 0);
    let requests = server.requests_for(&wheel_path(&fixture));
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("range"), Some("bytes=500-"));
    assert!(!part_file(&env, &fixture).exists());
}

#[test]
fn a_corrupt_partial_file_is_dropped_and_the_source_asked_afresh() {
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let mirror = fixture.serve_mirror(&server);
    std::fs::create_dir_all(env.cache().join("downloads")).unwrap();
    std::fs::write(part_file(&env, &fixture), vec![0u8; 500]).unwrap();

    let out = install_from_mirror(&env, &fixture, &mirror, &[]);
    // The resumed wheel fails its digest; the kept bytes may be the bad ones, so the same source
    // gets one fresh download, which verifies.
    assert_code(&out, 0);
    let asked: Vec<_> = server.requests().into_iter().filter(|r| r.path == wheel_path(&fixture)).collect();
    assert_eq!(asked.len(), 2, "a resumed try, then one fresh download");
    assert!(asked[0].header("range").is_some() && asked[1].header("range").is_none());
    assert_eq!(receipt(&env)["artifact"]["kind"], "wheel");
    assert!(!part_file(&env, &fixture).exists(), "bad bytes are never resumed");
}

#[test]
fn wrong_bytes_from_one_source_fall_through_to_the_next() {
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let mirror = fixture.serve_mirror(&server);
    let mut bad = fixture.wheel.clone();
    bad[10] ^= 1;
    server.add(&wheel_path(&fixture), bad);
    server.add(&format!("/mirror/{}", fixture.runtime.npm_file_name()), b"not a tarball".to_vec());
    let registry = TestServer::start();
    let registry_url = fixture.serve_npm(&registry);
    let manifest = env.manifest(&fixture.manifest);

    let out = cmd(&env)
        .args(["install", "--manifest", &manifest, "--target", LINUX, "--json", "--mirror", &mirror])
        .args(["--source", "mirror", "--source", "npm", "--npm-registry", &registry_url])
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert_eq!(stdout_json(&out)["source"], "npm");
    assert_eq!(server.hits(&wheel_path(&fixture)), 1, "a digest mismatch is not retried");
    assert_eq!(registry.hits(&fixture.npm_registry_path()), 1);
}

#[test]
fn github_assets_get_the_token_and_no_other_source_does() {
    let (env, fixture) = (Env::new(), Fixture::stable());
    let github = TestServer::start();
    let asset = format!("/releases/download/rust-v0.163.0/{}", fixture.runtime.github_asset_name());
    github.add(&asset, fixture.runtime.github_tgz());
    let mirror = TestServer::start();
    let registry = TestServer::start();
    let manifest = env.manifest(&fixture.manifest);

    let out = cmd(&env)
        .env("CODEX_RUNTIME_GITHUB_BASE_URL", format!("{}/releases/download", github.url()))
        .env("GITHUB_TOKEN", "gh-secret-token")
        .args(["install", "--manifest", &manifest, "--target", LINUX, "--json"])
        .args([
            "--mirror",
            &format!("{}/mirror", mirror.url()),
            "--npm-registry",
            &format!("{}/registry", registry.url()),
        ])
        .args(["--source", "mirror", "--source", "npm", "--source", "github"])
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert_eq!(stdout_json(&out)["source"], "github");
    let sent = github.requests_for(&asset);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].header("authorization"), Some("Bearer gh-secret-token"));
    assert_eq!(sent[0].header("range"), None, "an asset without a pinned digest is not resumed");
    let others: Vec<_> = mirror.requests().into_iter().chain(registry.requests()).collect();
    assert_eq!(others.len(), 4, "three mirror files, one npm tarball: {others:?}");
    assert!(others.iter().all(|r| r.header("authorization").is_none()), "{others:?}");
    assert!(!text(&out.stderr).contains("gh-secret-token"));
}

/// A PEP 691 page listing the wheel at a relative URL.
fn json_page(fixture: &Fixture, sha256: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "meta": {"api-version": "1.1"},
        "name": "openai-codex-cli-bin",
        "files": [
            {"filename": "openai_codex_cli_bin-0.1.0-py3-none-any.whl", "url": "../../files/old.whl", "hashes": {}},
            {
                "filename": fixture.runtime.wheel_file_name(),
                "url": format!("../../files/{}", fixture.runtime.wheel_file_name()),
                "hashes": {"sha256": sha256},
            },
        ],
    }))
    .unwrap()
}

#[test]
fn pypi_json_index_with_basic_auth_that_never_shows() {
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let page = "/simple/openai-codex-cli-bin/";
    let file = format!("/files/{}", fixture.runtime.wheel_file_name());
    server.add_typed(page, "application/vnd.pypi.simple.v1+json", json_page(&fixture, &sha256_hex(&fixture.wheel)));
    server.add(&file, fixture.wheel.clone());
    let index = format!("{}/simple/", server.url().replace("http://", "http://alice:hunter2@"));
    let manifest = env.manifest(&fixture.manifest);

    let out = cmd(&env)
        .args(["install", "--manifest", &manifest, "--target", LINUX, "--json", "--source", "pypi"])
        .args(["--pypi-index", &index])
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert_eq!(stdout_json(&out)["source"], "pypi");
    let basic = "Basic YWxpY2U6aHVudGVyMg=="; // alice:hunter2
    let asked = server.requests_for(page);
    assert_eq!(asked.len(), 1);
    assert!(asked[0].header("accept").unwrap().starts_with("application/vnd.pypi.simple.v1+json"));
    assert_eq!(asked[0].header("authorization"), Some(basic));
    assert_eq!(server.requests_for(&file)[0].header("authorization"), Some(basic), "same host: credentials sent");
    let from = receipt(&env)["from"].as_str().unwrap().to_owned();
    assert!(from.ends_with(&file) && from.contains("***@"), "{from}");
    for output in [text(&out.stdout), text(&out.stderr), receipt(&env).to_string()] {
        assert!(!output.contains("hunter2"), "{output}");
    }
}

#[test]
fn pypi_html_index_from_pip_conf() {
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let file = format!("/files/{}", fixture.runtime.wheel_file_name());
    let html = format!(
        "<!DOCTYPE html><html><body>\n<a href=\"{file}#sha256={}\">{}</a>\n</body></html>",
        sha256_hex(&fixture.wheel),
        fixture.runtime.wheel_file_name()
    );
    server.add_typed("/pypi/simple/openai-codex-cli-bin/", "text/html", html.into_bytes());
    server.add(&file, fixture.wheel.clone());
    let conf = env.path("pip.conf");
    std::fs::write(&conf, format!("[global]\nindex-url = {}/pypi/simple\n", server.url())).unwrap();
    let manifest = env.manifest(&fixture.manifest);

    let out = cmd(&env)
        .env("PIP_CONFIG_FILE", &conf)
        .args(["install", "--manifest", &manifest, "--target", LINUX, "--source", "pypi"])
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert_eq!(server.hits(&file), 1);
}

#[test]
fn a_pypi_index_listing_another_digest_is_refused_before_downloading() {
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let wrong = sha256_hex(b"something else");
    server.add_typed(
        "/simple/openai-codex-cli-bin/",
        "application/vnd.pypi.simple.v1+json",
        json_page(&fixture, &wrong),
    );
    let file = format!("/files/{}", fixture.runtime.wheel_file_name());
    server.add(&file, fixture.wheel.clone());
    let manifest = env.manifest(&fixture.manifest);

    let out = cmd(&env)
        .env("PIP_INDEX_URL", format!("{}/simple", server.url()))
        .args(["install", "--manifest", &manifest, "--target", LINUX, "--source", "pypi"])
        .output()
        .unwrap();
    assert_code(&out, 4);
    assert_eq!(server.hits(&file), 0);
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&wrong) && stderr.contains(&sha256_hex(&fixture.wheel)), "{stderr}");
}

#[test]
fn traffic_goes_through_the_configured_proxy() {
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let mirror = fixture.serve_mirror(&server);
    let proxy = TestServer::proxy();

    let out = install_from_mirror(&env, &fixture, &mirror, &[("HTTP_PROXY", &proxy.url())]);
    assert_code(&out, 0);
    // Plain HTTP goes to the proxy in absolute form.
    let through: Vec<String> = proxy.requests().into_iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    assert_eq!(through, [format!("GET {}{}", server.url(), wheel_path(&fixture))]);
    assert_eq!(server.hits(&wheel_path(&fixture)), 1);
}

/// Regression: one proxy served every scheme, `ALL_PROXY` first, whatever `HTTP_PROXY` said.
#[test]
fn proxies_are_per_scheme_and_no_proxy_is_honoured() {
    let proxy = TestServer::proxy();
    let cases: [(&[(&str, &str)], usize); 4] = [
        (&[("HTTPS_PROXY", &proxy.url())], 0),
        (&[("ALL_PROXY", &proxy.url())], 1),
        (&[("ALL_PROXY", "http://127.0.0.1:9"), ("HTTP_PROXY", &proxy.url())], 1),
        (&[("HTTP_PROXY", &proxy.url()), ("NO_PROXY", "127.0.0.1")], 0),
    ];
    let mut proxied = 0;
    for (vars, through) in cases {
        let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
        let mirror = fixture.serve_mirror(&server);
        let out = install_from_mirror(&env, &fixture, &mirror, vars);
        assert_code(&out, 0);
        assert_eq!(server.hits(&wheel_path(&fixture)), 1, "{vars:?}");
        proxied += through;
        assert_eq!(proxy.requests().len(), proxied, "{vars:?}");
    }
}

/// `pip install --target DIR` of a wheel built from `runtime`.
fn pip_install(env: &Env, fixture: &Fixture) -> std::path::PathBuf {
    let wheel = env.path(&fixture.runtime.wheel_file_name());
    std::fs::write(&wheel, &fixture.wheel).unwrap();
    let target = env.path("site");
    let status = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--target"])
        .arg(&target)
        .arg(&wheel)
        .env("PIP_CONFIG_FILE", "/dev/null")
        .status()
        .expect("python3 -m pip must be available");
    assert!(status.success());
    target
}

#[cfg(unix)]
fn inode(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().ino()
}

#[test]
fn a_runtime_pip_installed_is_adopted_first_even_offline() {
    let (env, fixture, github) = (Env::new(), Fixture::stable(), TestServer::start());
    let site = pip_install(&env, &fixture);
    let manifest = env.manifest(&fixture.manifest);

    let out = cmd(&env)
        .env("PYTHONPATH", &site)
        .env("CODEX_RUNTIME_GITHUB_BASE_URL", github.url())
        .args(["install", "--offline", "--manifest", &manifest, "--target", LINUX, "--json"])
        .output()
        .unwrap();
    assert_code(&out, 0);
    let json = stdout_json(&out);
    assert_eq!(json["source"], "installed");
    assert_eq!(github.requests().len(), 0);
    let receipt = receipt(&env);
    assert_eq!(receipt["from"], site.join("codex_cli_bin").display().to_string());
    assert_eq!(receipt["artifact"]["kind"], "wheel");
    let cached = std::path::PathBuf::from(json["path"].as_str().unwrap());
    #[cfg(unix)]
    assert_ne!(inode(&cached), inode(&site.join("codex_cli_bin/bin/codex")), "copied: pip's file cannot change ours");
    let ran = Command::new(&cached).arg("--version").output().unwrap();
    assert_eq!(text(&ran.stdout), "codex-cli 0.163.0\n");
}

#[test]
fn an_installed_runtime_that_fails_the_pin_is_never_used() {
    let env = Env::new();
    let good = Fixture::stable();
    let evil = good.runtime.clone().with_file("bin/codex", b"#!/bin/sh\necho pwned 0.163\n");
    let evil = Fixture::of(evil, "stable");
    let site = pip_install(&env, &evil);
    let manifest = env.manifest(&good.manifest);

    let out = cmd(&env)
        .env("PYTHONPATH", &site)
        .args(["install", "--manifest", &manifest, "--target", LINUX, "--source", "installed"])
        .output()
        .unwrap();
    assert_code(&out, 4);
    let stderr = text(&out.stderr);
    let dir = site.join("codex_cli_bin").display().to_string();
    assert!(stderr.contains(&format!("installed pip {dir}")) && stderr.contains("entrypoint bin/codex"), "{stderr}");
    assert!(!env.cache().join("runtimes/0.163.0").join(LINUX).exists());
}

#[test]
fn a_runtime_npm_installed_is_found_from_a_subdirectory() {
    let (env, fixture) = (Env::new(), Fixture::stable());
    let project = env.path("project");
    std::fs::create_dir_all(project.join("src/deep")).unwrap();
    let tgz = env.path(&fixture.runtime.npm_file_name());
    std::fs::write(&tgz, &fixture.npm).unwrap();
    let status = Command::new("npm")
        .args(["install", "--offline", "--no-audit", "--no-fund", "--no-save", "--loglevel=error", "--cache"])
        .arg(env.path("npm-cache"))
        .arg(&tgz)
        .current_dir(&project)
        .env("npm_config_prefix", env.path("npm-global"))
        .status()
        .expect("npm must be available");
    assert!(status.success());
    let manifest = env.manifest(&fixture.manifest);

    let out = cmd(&env)
        .current_dir(project.join("src/deep"))
        .args(["install", "--manifest", &manifest, "--target", LINUX, "--source", "installed", "--json"])
        .output()
        .unwrap();
    assert_code(&out, 0);
    let receipt = receipt(&env);
    assert_eq!(receipt["source"], "installed");
    assert_eq!(receipt["artifact"]["kind"], "npm");
    let root = project.join("node_modules/@openai/codex/vendor").join(LINUX);
    assert_eq!(receipt["from"], root.display().to_string());
}

#[test]
fn offline_with_nothing_local_is_exit_3_naming_the_file_and_the_command() {
    let (env, fixture) = (Env::new(), Fixture::stable());
    let manifest = env.manifest(&fixture.manifest);

    let out = cmd(&env).args(["path", "--offline", "--manifest", &manifest, "--target", LINUX]).output().unwrap();
    assert_code(&out, 3);
    let stderr = text(&out.stderr);
    let file = fixture.runtime.wheel_file_name();
    assert!(stderr.contains(&format!("codex-runtime import {file}")), "{stderr}");
    assert!(stderr.contains("installed"), "the local attempts are listed: {stderr}");
}
