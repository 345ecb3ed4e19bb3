//! The static index (`release::bundle::index`): its pages for small artifacts, byte for byte;
//! determinism, additivity and its errors; then upstream's real 0.163.0 wheel and npm tarball
//! served by `python3 -m http.server` and fetched by the real pip, uv and npm clients.

use std::io::Read as _;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use codex_runtime::release::bundle::index::{IndexError, IndexFile, IndexOptions, write_index};
use codex_runtime_test_support::fixture::{tar_gz, zip_archive};
use codex_runtime_test_support::registries::{
    Unavailable, skip_or_fail, tools_dir, try_real_npm_tarball, try_real_wheel,
};
use sha2::Digest as _;

const REAL: &str = "0.163.0";
const REAL_SUFFIX: &str = "linux-x64";
const REAL_TAG: &str = "manylinux_2_17_x86_64";
/// The uv the suite installs under `<target>/test-tools/`.
const UV_VERSION: &str = "0.13.8";

// ---------------------------------------------------------------------------------------------
// Small artifacts and the pages for them.

fn small_wheel(pep440: &str, requires_python: Option<&str>) -> (String, Vec<u8>) {
    let name = format!("openai_codex_cli_bin-{pep440}-py3-none-{REAL_TAG}.whl");
    let requires = requires_python.map(|r| format!("Requires-Python: {r}\n")).unwrap_or_default();
    let metadata = format!("Metadata-Version: 2.1\nName: openai-codex-cli-bin\nVersion: {pep440}\n{requires}\nBody.\n");
    let dist_info = format!("openai_codex_cli_bin-{pep440}.dist-info");
    let members = vec![
        ("codex_cli_bin/__init__.py".to_owned(), b"".to_vec(), false),
        (format!("{dist_info}/METADATA"), metadata.into_bytes(), false),
    ];
    (name, zip_archive(&members))
}

fn small_tarball(version: &str, suffix: &str) -> (String, Vec<u8>) {
    let (os, cpu) = suffix.split_once('-').unwrap();
    let package = serde_json::json!({
        "name": "@openai/codex", "version": format!("{version}-{suffix}"), "license": "Apache-2.0",
        "os": [os], "cpu": [cpu], "libc": ["glibc"], "files": ["vendor"], "scripts": {"x": "y"},
    });
    let members = vec![
        ("package/package.json".to_owned(), serde_json::to_vec_pretty(&package).unwrap(), false),
        (format!("package/vendor/{suffix}/codex"), b"#!/bin/sh\n".to_vec(), true),
    ];
    (format!("openai-codex-{version}-{suffix}.tgz"), tar_gz(&members))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

fn integrity(bytes: &[u8]) -> String {
    format!("sha512-{}", base64::engine::general_purpose::STANDARD.encode(sha2::Sha512::digest(bytes)))
}

fn put(dir: &Path, (name, bytes): &(String, Vec<u8>)) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn base() -> url::Url {
    url::Url::parse("http://127.0.0.1:8000/mirror/").unwrap()
}

fn index(dir: &Path, base: Option<&url::Url>) -> Vec<IndexFile> {
    write_index(dir, &IndexOptions { base_url: base, known: None, package_json: None })
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn pages_link_each_wheel_with_its_sha256_and_requires_python() {
    let dir = tempfile::tempdir().unwrap();
    let wheel = small_wheel("0.163.0", Some(">=3.10"));
    put(dir.path(), &wheel);
    index(dir.path(), None);
    let (name, bytes) = &wheel;
    let metadata = read(dir.path(), &format!("{name}.metadata"));
    let meta_sha = sha256_hex(metadata.as_bytes());
    let sha = sha256_hex(bytes);
    assert_eq!(
        read(dir.path(), "simple/openai-codex-cli-bin/index.html"),
        format!(
            r#"<!DOCTYPE html>
<html>
  <head>
    <meta name="pypi:repository-version" content="1.1">
    <title>Links for openai-codex-cli-bin</title>
  </head>
  <body>
    <h1>Links for openai-codex-cli-bin</h1>
    <a href="../../{name}#sha256={sha}" data-dist-info-metadata="sha256={meta_sha}" data-core-metadata="sha256={meta_sha}" data-requires-python="&gt;=3.10">{name}</a><br/>
  </body>
</html>
"#
        )
    );
    assert!(
        read(dir.path(), "simple/index.html")
            .contains("    <a href=\"openai-codex-cli-bin/\">openai-codex-cli-bin</a><br/>\n")
    );
    let project: serde_json::Value =
        serde_json::from_str(&read(dir.path(), "simple/openai-codex-cli-bin/index.json")).unwrap();
    assert_eq!(
        project,
        serde_json::json!({
            "meta": {"api-version": "1.1"},
            "name": "openai-codex-cli-bin",
            "versions": ["0.163.0"],
            "files": [{
                "filename": name,
                "url": format!("../../{name}"),
                "hashes": {"sha256": sha},
                "requires-python": ">=3.10",
                "core-metadata": {"sha256": meta_sha},
                "dist-info-metadata": {"sha256": meta_sha},
                "size": bytes.len(),
            }],
        })
    );
    let root: serde_json::Value = serde_json::from_str(&read(dir.path(), "simple/index.json")).unwrap();
    assert_eq!(
        root,
        serde_json::json!({"meta": {"api-version": "1.1"}, "projects": [{"name": "openai-codex-cli-bin", "url": "openai-codex-cli-bin/"}]})
    );
    assert_eq!(
        metadata,
        "Metadata-Version: 2.1\nName: openai-codex-cli-bin\nVersion: 0.163.0\nRequires-Python: >=3.10\n\nBody.\n"
    );
}

#[test]
fn the_package_document_holds_absolute_tarball_urls_and_platform_tags() {
    let dir = tempfile::tempdir().unwrap();
    let (linux, arm) = (small_tarball("0.163.0", "linux-x64"), small_tarball("0.163.0", "darwin-arm64"));
    let older = small_tarball("0.162.0", "linux-x64");
    for t in [&linux, &arm, &older] {
        put(dir.path(), t);
    }
    let written = index(dir.path(), Some(&base()));
    let document = read(dir.path(), "@openai/codex/index.html");
    assert_eq!(document, read(dir.path(), "@openai/codex/index.json"));
    let version = |(_, bytes): &(String, Vec<u8>), v: &str, os: &str, cpu: &str| {
        serde_json::json!({
            "name": "@openai/codex", "version": v, "license": "Apache-2.0",
            "os": [os], "cpu": [cpu], "libc": ["glibc"],
            "dist": {
                "tarball": format!("http://127.0.0.1:8000/mirror/@openai/codex/-/codex-{v}.tgz"),
                "integrity": integrity(bytes),
                "shasum": hex::encode(sha1::Sha1::digest(bytes)),
            },
        })
    };
    let expected = serde_json::json!({
        "name": "@openai/codex",
        "dist-tags": {"linux-x64": "0.163.0-linux-x64", "darwin-arm64": "0.163.0-darwin-arm64"},
        "versions": {
            "0.162.0-linux-x64": version(&older, "0.162.0-linux-x64", "linux", "x64"),
            "0.163.0-darwin-arm64": version(&arm, "0.163.0-darwin-arm64", "darwin", "arm64"),
            "0.163.0-linux-x64": version(&linux, "0.163.0-linux-x64", "linux", "x64"),
        },
    });
    assert_eq!(serde_json::from_str::<serde_json::Value>(&document).unwrap(), expected);
    // The tarballs at the registry's usual path are the flat files.
    let linked = std::fs::read(dir.path().join("@openai/codex/-/codex-0.163.0-linux-x64.tgz")).unwrap();
    assert_eq!(linked, linux.1);
    let paths: Vec<&str> = written.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "@openai/codex/-/codex-0.162.0-linux-x64.tgz",
            "@openai/codex/-/codex-0.163.0-darwin-arm64.tgz",
            "@openai/codex/-/codex-0.163.0-linux-x64.tgz",
            "@openai/codex/index.html",
            "@openai/codex/index.json",
        ]
    );
}

/// Every file under `dir`, with its bytes, sorted.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push((path.strip_prefix(root).unwrap().to_owned(), std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn two_runs_write_identical_bytes_and_report_what_they_wrote() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), &small_wheel("0.163.0", Some(">=3.10")));
    put(dir.path(), &small_tarball("0.163.0", "linux-x64"));
    let first = index(dir.path(), Some(&base()));
    let before = snapshot(dir.path());
    let second = index(dir.path(), Some(&base()));
    assert_eq!(first, second);
    assert_eq!(before, snapshot(dir.path()));
    for file in &second {
        let bytes = std::fs::read(dir.path().join(&file.path)).unwrap();
        assert_eq!((file.sha256.to_string(), file.size), (sha256_hex(&bytes), bytes.len() as u64), "{}", file.path);
    }
    let mut sorted = second.clone();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    assert_eq!(sorted, second, "sorted by path");
}

#[test]
fn a_second_version_bundled_into_the_directory_is_added_and_the_first_kept() {
    let dir = tempfile::tempdir().unwrap();
    put(dir.path(), &small_wheel("0.162.0a15", Some(">=3.9")));
    put(dir.path(), &small_tarball("0.162.0-alpha.15", "linux-x64"));
    index(dir.path(), Some(&base()));
    put(dir.path(), &small_wheel("0.163.0", Some(">=3.10")));
    put(dir.path(), &small_tarball("0.163.0", "linux-x64"));
    index(dir.path(), Some(&base()));
    let html = read(dir.path(), "simple/openai-codex-cli-bin/index.html");
    assert!(html.contains(">openai_codex_cli_bin-0.162.0a15-py3-none-manylinux_2_17_x86_64.whl</a>"), "{html}");
    assert!(html.contains(">openai_codex_cli_bin-0.163.0-py3-none-manylinux_2_17_x86_64.whl</a>"), "{html}");
    assert!(html.contains("data-requires-python=\"&gt;=3.9\""), "{html}");
    let project: serde_json::Value =
        serde_json::from_str(&read(dir.path(), "simple/openai-codex-cli-bin/index.json")).unwrap();
    assert_eq!(project["versions"], serde_json::json!(["0.162.0a15", "0.163.0"]));
    let document: serde_json::Value = serde_json::from_str(&read(dir.path(), "@openai/codex/index.html")).unwrap();
    let versions: Vec<&String> = document["versions"].as_object().unwrap().keys().collect();
    assert_eq!(versions, ["0.162.0-alpha.15-linux-x64", "0.163.0-linux-x64"]);
    assert_eq!(document["dist-tags"], serde_json::json!({"linux-x64": "0.163.0-linux-x64"}));
}

#[test]
fn bad_artifacts_name_the_file_and_what_is_wrong() {
    let package = |name: &str, version: &str| {
        let json = serde_json::json!({"name": name, "version": version});
        tar_gz(&[("package/package.json".to_owned(), serde_json::to_vec(&json).unwrap(), false)])
    };
    let metadata = b"Name: openai-codex-cli-bin\nVersion: 1.0.0\n".to_vec();
    let misnamed = zip_archive(&[("openai_codex_cli_bin-2.0.0.dist-info/METADATA".to_owned(), metadata, false)]);
    let no_metadata = zip_archive(&[("codex_cli_bin/__init__.py".to_owned(), Vec::new(), false)]);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("openai_codex_cli_bin-1.0.0-py3-none-any.whl", b"not a zip".to_vec(), "it is not a zip"),
        (
            "openai_codex_cli_bin-1.0.0-py3-none-any.whl",
            no_metadata,
            "it has no openai_codex_cli_bin-1.0.0.dist-info/METADATA",
        ),
        (
            "openai_codex_cli_bin-2.0.0-py3-none-any.whl",
            small_wheel("1.0.0", None).1,
            "it has no openai_codex_cli_bin-2.0.0.dist-info/METADATA",
        ),
        (
            "openai_codex_cli_bin-2.0.0-py3-none-any.whl",
            misnamed,
            "names openai-codex-cli-bin 1.0.0, not the openai_codex_cli_bin 2.0.0",
        ),
        ("codex.whl", small_wheel("1.0.0", None).1, "its name does not parse as a wheel's"),
        ("openai-codex-1.0.0-linux-x64.tgz", b"not gzip".to_vec(), "it is not a readable tar.gz"),
        (
            "openai-codex-1.0.0-linux-x64.tgz",
            tar_gz(&[("package/x".to_owned(), Vec::new(), false)]),
            "it has no package/package.json",
        ),
        (
            "openai-codex-1.0.0-linux-x64.tgz",
            package("@openai/codex", "1.0.0-linux-arm64"),
            "names @openai/codex 1.0.0-linux-arm64, not the",
        ),
        (
            "openai-codex-latest.tgz",
            package("@openai/codex", "latest"),
            "its name does not parse as openai-codex-VERSION.tgz",
        ),
    ];
    for (name, bytes, problem) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(name), bytes).unwrap();
        let error = write_index(dir.path(), &IndexOptions { base_url: Some(&base()), known: None, package_json: None })
            .unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, IndexError::BadArtifact { .. }), "{name}: {message}");
        assert!(message.contains(&dir.path().join(name).display().to_string()), "{name}: {message}");
        assert!(message.contains(problem), "{name}: {message}");
        assert!(message.ends_with("remove it from the directory or bundle it again"), "{message}");
    }
}

#[test]
fn npm_tarballs_without_a_base_url_and_an_empty_directory_say_what_to_pass() {
    let dir = tempfile::tempdir().unwrap();
    let error = write_index(dir.path(), &IndexOptions::default()).unwrap_err();
    assert!(matches!(error, IndexError::NoArtifacts { .. }), "{error}");
    assert!(error.to_string().contains("bundle with --format wheel or --format npm into it first"), "{error}");
    put(dir.path(), &small_tarball("0.163.0", "linux-x64"));
    let error = write_index(dir.path(), &IndexOptions::default()).unwrap_err();
    assert!(error.to_string().ends_with("pass --base-url URL, the URL the directory will be served at"), "{error}");
    assert!(error.to_string().contains("openai-codex-0.163.0-linux-x64.tgz"), "{error}");
    let ftp = url::Url::parse("ftp://127.0.0.1/").unwrap();
    let error =
        write_index(dir.path(), &IndexOptions { base_url: Some(&ftp), known: None, package_json: None }).unwrap_err();
    assert!(matches!(error, IndexError::BadBaseUrl { .. }), "{error}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "nothing written on an error");
}

// ---------------------------------------------------------------------------------------------
// The real artifacts, a plain static server, the real clients.

/// `python3 -m http.server` on 127.0.0.1 serving a directory, its log in a file; killed on drop.
struct StaticServer {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl StaticServer {
    /// Index `dir` for the server's URL and serve it; a port taken meanwhile is retried.
    fn index_and_serve(dir: &Path, log: &Path, with_base: bool) -> StaticServer {
        let mut last = String::new();
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let url = url::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
            index(dir, with_base.then_some(&url));
            match StaticServer::start(dir, port, log) {
                Ok(server) => return server,
                Err(e) => last = e,
            }
        }
        panic!("python3 -m http.server did not start: {last}");
    }

    fn start(dir: &Path, port: u16, log: &Path) -> Result<StaticServer, String> {
        let out = std::fs::File::create(log).unwrap();
        let child = Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1", &port.to_string(), "--directory"])
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .map_err(|e| format!("cannot run python3: {e}"))?;
        let mut server = StaticServer { child, port, log: log.to_owned() };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        // Bounded: 100 polls of 100 ms.
        for _ in 0..100 {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("exited with {status}: {}", server.log_text()));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!("not listening on {addr} after 10 s: {}", server.log_text()))
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Every `(status, request line)` the server logged, e.g. `(200, "GET /simple/x/ HTTP/1.1")`.
    fn requests(&self) -> Vec<(u16, String)> {
        self.log_text()
            .lines()
            .filter_map(|line| {
                let (_, rest) = line.split_once("] \"")?;
                let (request, status) = rest.rsplit_once("\" ")?;
                Some((status.split(' ').next()?.parse().ok()?, request.to_owned()))
            })
            .collect()
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run a client to completion within `limit`, its output in files under `logs`: whether it
/// succeeded, its stdout and its stderr.
fn run_status(cmd: &mut Command, logs: &Path, what: &str, limit: Duration) -> (bool, String, String) {
    let (out, err) = (logs.join(format!("{what}.out")), logs.join(format!("{what}.err")));
    cmd.stdin(Stdio::null()).stdout(std::fs::File::create(&out).unwrap()).stderr(std::fs::File::create(&err).unwrap());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    let text = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    // Bounded: limit / 100 ms polls.
    for _ in 0..limit.as_millis() / 100 {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.success(), text(&out), text(&err));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("{what}: {cmd:?} did not finish in {limit:?}\nstdout: {}\nstderr: {}", text(&out), text(&err));
}

/// [`run_status`] for a client that must succeed: its stdout, or a panic with both streams.
fn run(cmd: &mut Command, logs: &Path, what: &str, limit: Duration) -> String {
    let (ok, out, err) = run_status(cmd, logs, what, limit);
    assert!(ok, "{what}: {cmd:?} failed\nstdout: {out}\nstderr: {err}");
    out
}

/// `program` runs here, or why the test cannot.
fn needs(program: &str) -> Result<(), Unavailable> {
    match Command::new(program).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status() {
        Ok(status) if status.success() => Ok(()),
        other => Err(Unavailable::new(format!("`{program} --version` failed ({other:?}); install {program}"))),
    }
}

/// A scratch directory on the file system of the shared real artifacts, so they hard-link.
fn scratch() -> tempfile::TempDir {
    let parent = tools_dir().join("run");
    std::fs::create_dir_all(&parent).unwrap();
    tempfile::Builder::new().prefix("static-index-").tempdir_in(parent).unwrap()
}

/// Put the real artifact at `into/its own name`: a hard link, else a copy.
fn link_into(artifact: &Path, into: &Path) -> PathBuf {
    let to = into.join(artifact.file_name().unwrap());
    if std::fs::hard_link(artifact, &to).is_err() {
        std::fs::copy(artifact, &to).unwrap();
    }
    to
}

fn file_sha256(path: &Path) -> String {
    let mut hasher = sha2::Sha256::new();
    std::io::copy(&mut std::fs::File::open(path).unwrap(), &mut hasher).unwrap();
    hex::encode(hasher.finalize())
}

fn file_integrity(path: &Path) -> String {
    let mut hasher = sha2::Sha512::new();
    std::io::copy(&mut std::fs::File::open(path).unwrap(), &mut hasher).unwrap();
    format!("sha512-{}", base64::engine::general_purpose::STANDARD.encode(hasher.finalize()))
}

fn same_bytes(a: &Path, b: &Path) -> bool {
    let (mut fa, mut fb) = (std::fs::File::open(a).unwrap(), std::fs::File::open(b).unwrap());
    let (mut ba, mut bb) = (vec![0; 1 << 20], vec![0; 1 << 20]);
    loop {
        let n = fa.read(&mut ba).unwrap();
        let m = std::io::Read::read_exact(&mut fb, &mut bb[..n]);
        if m.is_err() || ba[..n] != bb[..n] {
            return false;
        }
        if n == 0 {
            return fb.read(&mut bb).unwrap() == 0;
        }
    }
}

/// pip with no configuration of this machine's: no find-links, no index of its own.
fn pip() -> Command {
    let mut cmd = Command::new("python3");
    cmd.env("PIP_CONFIG_FILE", "/dev/null")
        .env_remove("PIP_FIND_LINKS")
        .env_remove("PIP_INDEX_URL")
        .env_remove("PIP_EXTRA_INDEX_URL")
        .env_remove("PIP_NO_INDEX");
    cmd.args(["-m", "pip"]);
    cmd
}

fn requests_line(server: &StaticServer) -> String {
    server.requests().iter().map(|(status, r)| format!("  {status} {r}\n")).collect()
}

#[test]
fn pip_downloads_the_real_wheel_with_require_hashes_through_relative_links() {
    let Some(wheel) = skip_or_fail(try_real_wheel(REAL, REAL_TAG)) else { return };
    let scratch = scratch();
    let (dir, out) = (scratch.path().join("index"), scratch.path().join("out"));
    std::fs::create_dir_all(&dir).unwrap();
    link_into(&wheel, &dir);
    let server = StaticServer::index_and_serve(&dir, &scratch.path().join("server.log"), false);
    let requirements = scratch.path().join("req.txt");
    std::fs::write(&requirements, format!("openai-codex-cli-bin=={REAL} --hash=sha256:{}\n", file_sha256(&wheel)))
        .unwrap();
    let mut cmd = pip();
    cmd.args(["download", "--no-deps", "--no-cache-dir", "--require-hashes", "--only-binary=:all:"])
        .args(["--platform", REAL_TAG, "-r"])
        .arg(&requirements)
        .arg("-d")
        .arg(&out)
        .args(["--index-url", &format!("{}simple/", server.url())]);
    run(&mut cmd, scratch.path(), "pip-download", Duration::from_secs(600));
    assert!(same_bytes(&wheel, &out.join(wheel.file_name().unwrap())), "pip's download is upstream's wheel");
    eprintln!("pip requested:\n{}", requests_line(&server));
    let requests = server.requests();
    let name = wheel.file_name().unwrap().to_string_lossy().into_owned();
    assert!(requests.contains(&(200, "GET /simple/openai-codex-cli-bin/ HTTP/1.1".into())), "{requests:?}");
    assert!(requests.contains(&(200, format!("GET /{name} HTTP/1.1"))), "{requests:?}");
}

/// uv, installed once under `<target>/test-tools/` with pip.
fn uv() -> Result<PathBuf, Unavailable> {
    let dir = tools_dir().join(format!("uv-{UV_VERSION}"));
    let bin = dir.join("bin/uv");
    if bin.is_file() {
        return Ok(bin);
    }
    let lock_path = tools_dir().join(format!(".lock-uv-{UV_VERSION}"));
    let lock = std::fs::File::options().create(true).truncate(false).write(true).open(&lock_path).unwrap();
    // Bounded: 3000 polls of 200 ms (10 minutes) for another process's install.
    let locked = (0..3000).any(|_| {
        let ok = lock.try_lock().is_ok();
        if !ok {
            std::thread::sleep(Duration::from_millis(200));
        }
        ok
    });
    if !locked {
        return Err(Unavailable::new(format!("{} stayed locked for 10 minutes", lock_path.display())));
    }
    if bin.is_file() {
        return Ok(bin);
    }
    let partial = tools_dir().join(format!(".partial-uv-{UV_VERSION}"));
    let _ = std::fs::remove_dir_all(&partial);
    let out = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "--target"])
        .arg(&partial)
        .arg(format!("uv=={UV_VERSION}"))
        .output()
        .map_err(|e| Unavailable::new(format!("cannot run python3 -m pip: {e}")))?;
    if !out.status.success() {
        return Err(Unavailable::new(format!(
            "pip install uv=={UV_VERSION} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    std::fs::rename(&partial, &dir).map_err(|e| Unavailable::new(format!("cannot move uv into place: {e}")))?;
    Ok(bin)
}

fn uv_install(uv: &Path, server: &StaticServer, target: &Path, logs: &Path, what: &str, args: &[&str]) {
    let mut cmd = Command::new(uv);
    cmd.env_remove("UV_INDEX_URL")
        .env_remove("UV_DEFAULT_INDEX")
        .env_remove("UV_EXTRA_INDEX_URL")
        .env_remove("UV_FIND_LINKS")
        .args(["pip", "install", "--no-config", "--no-cache", "--no-deps", "--only-binary", ":all:"])
        .args(["--python-platform", "x86_64-unknown-linux-gnu", "--target"])
        .arg(target)
        .args(["--index-url", &format!("{}simple/", server.url())])
        .args(args);
    run(&mut cmd, logs, what, Duration::from_secs(600));
    assert!(target.join("codex_cli_bin/bin/codex").is_file(), "{what}: uv installed no codex_cli_bin/bin/codex");
}

#[test]
fn uv_installs_the_real_wheel_through_absolute_links_beside_npm_tarballs() {
    let Some(wheel) = skip_or_fail(try_real_wheel(REAL, REAL_TAG)) else { return };
    let Some(uv) = skip_or_fail(uv()) else { return };
    let scratch = scratch();
    let dir = scratch.path().join("index");
    std::fs::create_dir_all(&dir).unwrap();
    link_into(&wheel, &dir);
    put(&dir, &small_tarball(REAL, REAL_SUFFIX));
    let server = StaticServer::index_and_serve(&dir, &scratch.path().join("server.log"), true);
    let spec = format!("openai-codex-cli-bin=={REAL}");
    uv_install(&uv, &server, &scratch.path().join("plain"), scratch.path(), "uv-install", &[&spec]);
    let requirements = scratch.path().join("req.txt");
    std::fs::write(&requirements, format!("{spec} --hash=sha256:{}\n", file_sha256(&wheel))).unwrap();
    let req = requirements.to_string_lossy().into_owned();
    let hashed = scratch.path().join("hashed");
    uv_install(&uv, &server, &hashed, scratch.path(), "uv-install-hashes", &["--require-hashes", "-r", &req]);
    eprintln!("uv requested:\n{}", requests_line(&server));
    let requests = server.requests();
    assert!(requests.contains(&(200, "GET /simple/openai-codex-cli-bin/ HTTP/1.1".into())), "{requests:?}");
    // A wrong hash is refused: the index's link is what uv checks.
    let wrong = scratch.path().join("wrong.txt");
    std::fs::write(&wrong, format!("{spec} --hash=sha256:{}\n", "0".repeat(64))).unwrap();
    let status = Command::new(&uv)
        .args(["pip", "install", "--no-config", "--no-cache", "--no-deps", "--require-hashes", "-r"])
        .arg(&wrong)
        .args(["--python-platform", "x86_64-unknown-linux-gnu", "--target"])
        .arg(scratch.path().join("wrong"))
        .args(["--index-url", &format!("{}simple/", server.url())])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "uv accepted a wrong hash");
}

/// npm with none of this machine's configuration, a fresh cache, no scripts.
fn npm(project: &Path, scratch: &Path, server: &StaticServer, args: &[&str]) -> Command {
    let userconfig = scratch.join("empty.npmrc");
    let globalconfig = scratch.join("empty-global.npmrc");
    std::fs::write(&userconfig, "").unwrap();
    std::fs::write(&globalconfig, "").unwrap();
    let mut cmd = Command::new("npm");
    cmd.current_dir(project)
        .args(args)
        .args(["--registry", &server.url(), "--no-audit", "--no-fund", "--ignore-scripts", "--no-update-notifier"])
        .arg("--userconfig")
        .arg(&userconfig)
        .arg("--globalconfig")
        .arg(&globalconfig)
        .arg("--cache")
        .arg(project.with_extension("cache"));
    cmd
}

fn installed_version(project: &Path) -> String {
    let package = std::fs::read_to_string(project.join("node_modules/@openai/codex/package.json")).unwrap();
    serde_json::from_str::<serde_json::Value>(&package).unwrap()["version"].as_str().unwrap().to_owned()
}

#[test]
fn npm_ci_and_npm_install_fetch_the_real_tarball_through_the_package_document() {
    let Some(tarball) = skip_or_fail(try_real_npm_tarball(REAL, REAL_SUFFIX)) else { return };
    let Some(()) = skip_or_fail(needs("npm").and(needs("python3"))) else { return };
    let scratch = scratch();
    let dir = scratch.path().join("index");
    std::fs::create_dir_all(&dir).unwrap();
    link_into(&tarball, &dir);
    let server = StaticServer::index_and_serve(&dir, &scratch.path().join("server.log"), true);
    let version = format!("{REAL}-{REAL_SUFFIX}");
    let resolved = format!("{}@openai/codex/-/codex-{version}.tgz", server.url());

    let ci = scratch.path().join("ci");
    std::fs::create_dir_all(&ci).unwrap();
    let package = serde_json::json!({"name": "t", "version": "1.0.0", "dependencies": {"@openai/codex": version}});
    std::fs::write(ci.join("package.json"), serde_json::to_vec_pretty(&package).unwrap()).unwrap();
    let lock = serde_json::json!({
        "name": "t", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
        "packages": {
            "": {"name": "t", "version": "1.0.0", "dependencies": {"@openai/codex": version}},
            "node_modules/@openai/codex": {
                "version": version, "resolved": resolved, "integrity": file_integrity(&tarball),
                "license": "Apache-2.0", "os": ["linux"], "cpu": ["x64"],
            },
        },
    });
    std::fs::write(ci.join("package-lock.json"), serde_json::to_vec_pretty(&lock).unwrap()).unwrap();
    run(&mut npm(&ci, scratch.path(), &server, &["ci"]), scratch.path(), "npm-ci", Duration::from_secs(600));
    assert_eq!(installed_version(&ci), version);
    let after_ci = server.requests();
    eprintln!("npm ci requested:\n{}", requests_line(&server));
    assert!(after_ci.contains(&(200, format!("GET /@openai/codex/-/codex-{version}.tgz HTTP/1.1"))), "{after_ci:?}");

    let install = scratch.path().join("install");
    std::fs::create_dir_all(&install).unwrap();
    std::fs::write(install.join("package.json"), r#"{"name":"t","version":"1.0.0"}"#).unwrap();
    let spec = format!("@openai/codex@{version}");
    run(
        &mut npm(&install, scratch.path(), &server, &["install", &spec]),
        scratch.path(),
        "npm-install",
        Duration::from_secs(600),
    );
    assert_eq!(installed_version(&install), version);
    let lock: serde_json::Value = serde_json::from_str(&read(&install, "package-lock.json")).unwrap();
    let entry = &lock["packages"]["node_modules/@openai/codex"];
    assert_eq!(entry["resolved"], resolved.as_str());
    assert_eq!(entry["integrity"], file_integrity(&tarball).as_str());
    let requests = server.requests();
    eprintln!("npm ci, then npm install requested:\n{}", requests_line(&server));
    let later = &requests[after_ci.len()..];
    assert!(later.contains(&(301, "GET /@openai%2fcodex HTTP/1.1".into())), "{later:?}");
    assert!(later.contains(&(200, "GET /@openai%2fcodex/ HTTP/1.1".into())), "{later:?}");
}

/// Why the package document needs `--base-url`: npm reads a relative `dist.tarball` as a local
/// `file:` path (relative to the project), never as a URL under the registry.
#[test]
fn npm_reads_a_relative_dist_tarball_as_a_local_file_so_the_index_needs_a_base_url() {
    let Some(()) = skip_or_fail(needs("npm").and(needs("python3"))) else { return };
    let scratch = scratch();
    let dir = scratch.path().join("index");
    std::fs::create_dir_all(&dir).unwrap();
    put(&dir, &small_tarball(REAL, REAL_SUFFIX));
    let server = StaticServer::index_and_serve(&dir, &scratch.path().join("server.log"), true);
    let version = format!("{REAL}-{REAL_SUFFIX}");
    let relative = format!("@openai/codex/-/codex-{version}.tgz");
    for page in ["@openai/codex/index.html", "@openai/codex/index.json"] {
        let mut document: serde_json::Value = serde_json::from_str(&read(&dir, page)).unwrap();
        document["versions"][&version]["dist"]["tarball"] = relative.clone().into();
        std::fs::write(dir.join(page), serde_json::to_vec(&document).unwrap()).unwrap();
    }
    let project = scratch.path().join("install");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("package.json"), r#"{"name":"t","version":"1.0.0"}"#).unwrap();
    let spec = format!("@openai/codex@{version}");
    let mut cmd = npm(&project, scratch.path(), &server, &["install", &spec]);
    let (ok, _, err) = run_status(&mut cmd, scratch.path(), "npm-relative", Duration::from_secs(300));
    assert!(!ok, "npm installed from a relative dist.tarball");
    assert!(err.contains(&project.join(&relative).display().to_string()), "npm looked elsewhere: {err}");
    let tarball = (200, format!("GET /{relative} HTTP/1.1"));
    assert!(!server.requests().contains(&tarball), "npm fetched it after all: {:?}", server.requests());
}
