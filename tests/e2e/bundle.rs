//! bundle: six fixture targets from a loopback mirror, checked with the real pip, npm and
//! sha256sum.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use codex_runtime_test_support::fixture::{self, FixtureRuntime, sha256_hex};
use codex_runtime_test_support::http::TestServer;
use serde_json::Value;

use crate::common::*;

/// (triple, npm suffix, wheel tag) of the six targets.
pub const TARGETS: [(&str, &str, &str); 6] = [
    ("x86_64-unknown-linux-musl", "linux-x64", "manylinux_2_17_x86_64"),
    ("aarch64-unknown-linux-musl", "linux-arm64", "manylinux_2_17_aarch64"),
    ("x86_64-apple-darwin", "darwin-x64", "macosx_10_9_x86_64"),
    ("aarch64-apple-darwin", "darwin-arm64", "macosx_11_0_arm64"),
    ("x86_64-pc-windows-msvc", "win32-x64", "win_amd64"),
    ("aarch64-pc-windows-msvc", "win32-arm64", "win_arm64"),
];

/// A fixture for each of the six targets, and one manifest pinning them all.
pub struct SixTargets {
    pub fixtures: Vec<Fixture>,
    pub manifest: Value,
}

impl SixTargets {
    pub fn new() -> SixTargets {
        let fixtures: Vec<Fixture> = TARGETS
            .iter()
            .map(|(triple, suffix, tag)| {
                Fixture::of(FixtureRuntime::new("0.163.0", "0.163.0", triple, suffix, tag), "stable")
            })
            .collect();
        let entries: Vec<(&str, Value)> =
            fixtures.iter().map(|f| (f.runtime.target.as_str(), f.runtime.manifest_target(&f.npm, &f.wheel))).collect();
        let manifest = fixture::manifest("stable", "0.163.0", &entries);
        SixTargets { fixtures, manifest }
    }

    pub fn fixture(&self, triple: &str) -> &Fixture {
        self.fixtures.iter().find(|f| f.runtime.target == triple).unwrap()
    }
}

/// Every regular file under `dir`, relative, with its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(path.strip_prefix(root).unwrap().display().to_string(), std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn bundle_args<'a>(manifest: &'a str, mirror: &'a str, out: &'a str) -> Vec<&'a str> {
    vec!["bundle", "--manifest", manifest, "--all-platforms", "--out", out, "--source", "mirror", "--mirror", mirror]
}

fn run_ok(cmd: &mut Command) -> String {
    let output = cmd.output().unwrap();
    assert_code(&output, 0);
    text(&output.stdout)
}

#[test]
fn bundles_six_targets_as_dirs_wheels_and_npm_packages_that_install() {
    let env = Env::new();
    let six = SixTargets::new();
    let server = TestServer::start();
    for f in &six.fixtures {
        f.serve_mirror(&server);
    }
    let mirror = format!("{}/mirror", server.url());
    let manifest = env.manifest(&six.manifest);
    let out = env.path("dist");
    let out_arg = out.to_str().unwrap().to_owned();

    let mut args = bundle_args(&manifest, &mirror, &out_arg);
    args.extend(["--json", "--jobs", "3"]);
    let first = env.run(&args);
    assert_code(&first, 0);
    let json = stdout_json(&first);
    let artifacts = json["artifacts"].as_array().unwrap();
    assert_eq!(artifacts.len(), 18, "{json:#}");
    let downloads = server.requests().len();
    assert_eq!(downloads, 12, "each target's wheel and tarball once; the install extracts the kept one");
    // Upstream's bytes: the wheels and tarballs are the mirror's files, byte for byte.
    for f in &six.fixtures {
        assert!(std::fs::read(out.join(f.runtime.wheel_file_name())).unwrap() == f.wheel, "{}", f.runtime.target);
        assert!(std::fs::read(out.join(f.runtime.npm_file_name())).unwrap() == f.npm, "{}", f.runtime.target);
    }

    // Every file written is in SHA256SUMS, and the real sha256sum agrees.
    let sums = std::fs::read_to_string(out.join("SHA256SUMS")).unwrap();
    let listed: Vec<&str> = sums.lines().map(|l| l.split_once("  ").unwrap().1).collect();
    let mut written: Vec<String> = tree(&out).into_keys().filter(|p| p != "SHA256SUMS").collect();
    written.sort();
    assert_eq!(listed, written);
    run_ok(Command::new("sha256sum").arg("--strict").arg("-c").arg("SHA256SUMS").current_dir(&out));

    // dir: the runtime root exactly, exec bits kept, no receipt and no wheel shim.
    for f in &six.fixtures {
        let root = out.join(&f.runtime.target);
        let mut expected: Vec<String> = f.runtime.files.iter().map(|f| f.path.clone()).collect();
        expected.sort();
        assert_eq!(tree(&root).into_keys().collect::<Vec<_>>(), expected, "{}", f.runtime.target);
        for file in &f.runtime.files {
            let mode = std::fs::metadata(root.join(&file.path)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, if file.executable { 0o755 } else { 0o644 }, "{}", file.path);
            assert_eq!(std::fs::read(root.join(&file.path)).unwrap(), file.contents, "{}", file.path);
        }
    }

    // bundle.json: what was verified, from where, and what was written.
    let description: Value = serde_json::from_slice(&std::fs::read(out.join("bundle.json")).unwrap()).unwrap();
    assert_eq!(description["version"], "0.163.0");
    assert_eq!(description["channel"], "stable");
    for f in &six.fixtures {
        let t = &description["targets"][&f.runtime.target];
        assert_eq!(t["source"], "mirror");
        assert_eq!(t["artifact"]["sha256"], sha256_hex(&f.wheel));
        assert_eq!(t["entrypoint"]["sha256"], sha256_hex(&f.runtime.entrypoint().contents));
        let outputs = t["outputs"].as_array().unwrap();
        assert_eq!(outputs.len(), 3);
        for output in outputs.iter().filter(|o| o["format"] != "dir") {
            assert_eq!(output["origin"]["kind"], "upstream", "{output}");
            assert_eq!(output["origin"]["source"], "mirror", "{output}");
            assert!(output["origin"]["from"].as_str().unwrap().starts_with(&mirror), "{output}");
        }
        let dir = outputs.iter().find(|o| o["format"] == "dir").unwrap();
        assert_eq!(dir["origin"], serde_json::json!({"kind": "installed", "from": f.runtime.wheel_file_name()}));
    }

    // wheel: the real pip installs it, and the shim finds the pinned entrypoint.
    let linux = six.fixture(LINUX);
    let site = env.path("site");
    let wheel = out.join(linux.runtime.wheel_file_name());
    run_ok(
        Command::new("python3")
            .args(["-m", "pip", "install", "--no-deps", "--no-index", "--disable-pip-version-check", "--target"])
            .arg(&site)
            .arg(&wheel),
    );
    let printed = run_ok(
        Command::new("python3")
            .args(["-c", "import codex_cli_bin; print(codex_cli_bin.bundled_codex_path())"])
            .env("PYTHONPATH", &site),
    );
    let entrypoint = PathBuf::from(printed.trim());
    assert!(entrypoint.starts_with(&site), "{printed}");
    assert_eq!(sha256_hex(&std::fs::read(&entrypoint).unwrap()), sha256_hex(&linux.runtime.entrypoint().contents));
    assert_eq!(std::fs::metadata(&entrypoint).unwrap().permissions().mode() & 0o111, 0o111, "exec bits from the zip");
    let ran = Command::new(&entrypoint).arg("--version").output().unwrap();
    assert_eq!(text(&ran.stdout), "codex-cli 0.163.0\n");
    // RECORD lists every other member with its urlsafe-base64 sha256 and size, itself with `,,`.
    let record_check = r#"
import base64, hashlib, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
names = [i.filename for i in z.infolist()]
rows = [l.split(",") for l in z.read(names[-1]).decode().splitlines()]
assert names[-1].endswith(".dist-info/RECORD") and rows[-1] == [names[-1], "", ""], rows[-1]
assert [r[0] for r in rows] == names, (rows, names)
for name, digest, size in rows[:-1]:
    data = z.read(name)
    want = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")
    assert (digest, int(size)) == (want, len(data)), name
print(len(rows))
"#;
    let rows = run_ok(Command::new("python3").args(["-c", record_check]).arg(&wheel));
    assert_eq!(rows.trim(), (linux.runtime.files.len() + 4).to_string());
    let wheel_meta = std::fs::read_to_string(site.join("openai_codex_cli_bin-0.163.0.dist-info/WHEEL")).unwrap();
    assert!(wheel_meta.contains("Root-Is-Purelib: false\nTag: py3-none-manylinux_2_17_x86_64\n"), "{wheel_meta}");

    // npm: the real npm installs the tarball offline, entrypoint under vendor/TRIPLE.
    let prefix = env.path("npm-project");
    std::fs::create_dir_all(&prefix).unwrap();
    run_ok(
        Command::new("npm")
            .args(["install", "--offline", "--no-audit", "--no-fund", "--no-save", "--prefix"])
            .arg(&prefix)
            .arg(out.join(linux.runtime.npm_file_name()))
            .env("npm_config_cache", env.path("npm-cache"))
            .env("HOME", env.dir.path()),
    );
    let installed = prefix.join("node_modules/@openai/codex/vendor").join(LINUX).join("bin/codex");
    assert_eq!(sha256_hex(&std::fs::read(&installed).unwrap()), sha256_hex(&linux.runtime.entrypoint().contents));
    let package: Value =
        serde_json::from_slice(&std::fs::read(prefix.join("node_modules/@openai/codex/package.json")).unwrap())
            .unwrap();
    assert_eq!(package["version"], "0.163.0-linux-x64");

    // A second run answers from the cache and writes byte-identical files.
    let first_tree = tree(&out);
    let again = env.path("dist-again");
    let second = env.run(&bundle_args(&manifest, &mirror, again.to_str().unwrap()));
    assert_code(&second, 0);
    assert_eq!(server.requests().len(), downloads, "the cache answers the second run");
    assert!(first_tree == tree(&again), "two bundles differ");

    // Bundling over a previous bundle replaces it whole.
    std::fs::write(out.join(LINUX).join("bin/codex"), b"stale").unwrap();
    assert_code(&env.run(&bundle_args(&manifest, &mirror, &out_arg)), 0);
    assert!(first_tree == tree(&out), "the previous bundle was not replaced whole");
    let leftovers: Vec<String> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_format_no_upstream_artifact_of_can_be_had_is_repacked_and_said_so() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let server = TestServer::start();
    // The mirror has the npm tarball only: the wheel is re-packed from the runtime it holds.
    server.add(&format!("/mirror/{}", fixture.runtime.npm_file_name()), fixture.npm.clone());
    let mirror = format!("{}/mirror", server.url());
    let manifest = env.manifest(&fixture.manifest);
    let out = env.path("dist");
    let args = ["bundle", "--manifest", &manifest, "--target", LINUX, "--out", out.to_str().unwrap()];
    let output = env.run(&[&args[..], &["--source", "mirror", "--mirror", &mirror, "--format", "wheel,npm"]].concat());
    assert_code(&output, 0);
    let description: Value = serde_json::from_slice(&std::fs::read(out.join("bundle.json")).unwrap()).unwrap();
    let outputs = description["targets"][LINUX]["outputs"].as_array().unwrap().clone();
    let wheel = outputs.iter().find(|o| o["format"] == "wheel").unwrap();
    assert_eq!(wheel["origin"]["kind"], "repack", "{wheel}");
    assert_eq!(wheel["origin"]["from"], fixture.runtime.npm_file_name());
    assert!(wheel["origin"]["why"].as_str().unwrap().contains(&fixture.runtime.wheel_file_name()), "{wheel}");
    let npm = outputs.iter().find(|o| o["format"] == "npm").unwrap();
    assert_eq!(npm["origin"]["kind"], "upstream", "{npm}");
    assert!(std::fs::read(out.join(fixture.runtime.npm_file_name())).unwrap() == fixture.npm);
    // The re-packed wheel is laid out as upstream's, and pip installs it.
    let site = env.path("site");
    run_ok(
        Command::new("python3")
            .args(["-m", "pip", "install", "--no-deps", "--no-index", "--disable-pip-version-check", "--target"])
            .arg(&site)
            .arg(out.join(fixture.runtime.wheel_file_name())),
    );
    let wheel_meta = std::fs::read_to_string(site.join("openai_codex_cli_bin-0.163.0.dist-info/WHEEL")).unwrap();
    assert!(wheel_meta.contains("Root-Is-Purelib: false\nTag: py3-none-manylinux_2_17_x86_64\n"), "{wheel_meta}");
    // Deflated on every core, it is still one archive whose every CRC holds, and RECORD is right.
    let check = r#"
import base64, hashlib, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
names = [i.filename for i in z.infolist()]
rows = [l.split(",") for l in z.read(names[-1]).decode().splitlines()]
for name, digest, size in rows[:-1]:
    data = z.read(name)
    want = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")
    assert (digest, int(size)) == (want, len(data)), name
print(len(rows))
"#;
    let rows = run_ok(Command::new("python3").args(["-c", check]).arg(out.join(fixture.runtime.wheel_file_name())));
    assert_eq!(rows.trim(), (fixture.runtime.files.len() + 4).to_string());

    // The reverse: wheels only, the npm tarball re-packed with upstream's package.json fields.
    let env = Env::new();
    let server = TestServer::start();
    server.add(&format!("/mirror/{}", fixture.runtime.wheel_file_name()), fixture.wheel.clone());
    let mirror = format!("{}/mirror", server.url());
    let manifest = env.manifest(&fixture.manifest);
    let out = env.path("dist");
    let args = ["bundle", "--manifest", &manifest, "--target", LINUX, "--out", out.to_str().unwrap()];
    let output = env.run(&[&args[..], &["--source", "mirror", "--mirror", &mirror, "--format", "npm"]].concat());
    assert_code(&output, 0);
    let prefix = env.path("npm-project");
    std::fs::create_dir_all(&prefix).unwrap();
    run_ok(
        Command::new("npm")
            .args(["install", "--offline", "--no-audit", "--no-fund", "--no-save", "--prefix"])
            .arg(&prefix)
            .arg(out.join(fixture.runtime.npm_file_name()))
            .env("npm_config_cache", env.path("npm-cache"))
            .env("HOME", env.dir.path()),
    );
    let package: Value =
        serde_json::from_slice(&std::fs::read(prefix.join("node_modules/@openai/codex/package.json")).unwrap())
            .unwrap();
    assert_eq!(package["os"], serde_json::json!(["linux"]));
}

#[test]
fn a_repack_carries_exactly_the_members_upstreams_artifact_of_that_format_does() {
    // Upstream's manylinux wheels leave out codex-resources/voice/, which the npm tarball has.
    let runtime = FixtureRuntime::linux_x64("0.163.0", "0.163.0").with_file("codex-resources/voice/host", b"voice");
    let npm = runtime.npm_tgz();
    let wheel = runtime.clone().without("codex-resources/voice/").wheel();
    let mut target = runtime.manifest_target(&npm, &wheel);
    target["artifacts"]["wheel"]["omits"] = serde_json::json!(["codex-resources/voice/"]);
    target["artifacts"]["npm"]["omits"] = serde_json::json!(["__init__.py"]);
    let manifest = fixture::manifest("stable", "0.163.0", &[(LINUX, target)]);
    let bundle = |artifact: (&str, &[u8]), format: &str| {
        let env = Env::new();
        let server = TestServer::start();
        server.add(&format!("/mirror/{}", artifact.0), artifact.1.to_vec());
        let mirror = format!("{}/mirror", server.url());
        let path = env.manifest(&manifest);
        let out = env.path("dist");
        let args = ["bundle", "--manifest", &path, "--target", LINUX, "--out", out.to_str().unwrap(), "--json"];
        let output = env.run(&[&args[..], &["--source", "mirror", "--mirror", &mirror, "--format", format]].concat());
        (env, out, output)
    };

    // From the npm tarball, the wheel re-pack leaves voice out as upstream's wheel does.
    let (_env, out, output) = bundle((&runtime.npm_file_name(), &npm), "wheel");
    assert_code(&output, 0);
    let json: Value = serde_json::from_slice(&std::fs::read(out.join("bundle.json")).unwrap()).unwrap();
    let origin = &json["targets"][LINUX]["outputs"][0]["origin"];
    assert_eq!(origin["kind"], "repack", "{json:#}");
    assert_eq!(
        origin["members"],
        serde_json::json!({"omits": ["codex-resources/voice/"], "from": format!("0.163.0 {}", runtime.wheel_file_name())})
    );
    let list = "import sys, zipfile; print('\\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))";
    let names = run_ok(Command::new("python3").args(["-c", list]).arg(out.join(runtime.wheel_file_name())));
    assert!(!names.contains("voice") && names.contains("codex_cli_bin/bin/codex\n"), "{names}");
    assert_eq!(names.matches("__init__.py").count(), 1, "{names}");

    // From that wheel, an npm re-pack would lack voice: refused by name, nothing written.
    let (_env, out, output) = bundle((&runtime.wheel_file_name(), &wheel), "npm");
    assert_code(&output, 5);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "the runtime installed from {} lacks 1 of them (codex-resources/voice/host)",
            runtime.wheel_file_name()
        )),
        "{stderr}"
    );
    assert!(!out.exists());

    // From the GitHub package (no npm tarball to be had), the npm re-pack is gzipped on every core
    // and npm installs it, voice included and no wheel shim.
    let env = Env::new();
    let server = TestServer::start();
    let mut pinned = manifest.clone();
    pinned["targets"][LINUX]["artifacts"].as_object_mut().unwrap().remove("wheel");
    let github = runtime.github_tgz();
    pinned["targets"][LINUX]["artifacts"]["github"]["sha256"] = sha256_hex(&github).into();
    pinned["targets"][LINUX]["artifacts"]["github"]["size"] = github.len().into();
    server.add(&format!("/rust-v0.163.0/{}", runtime.github_asset_name()), github);
    let path = env.manifest(&pinned);
    let out = env.path("dist");
    let args = ["bundle", "--manifest", &path, "--target", LINUX, "--out", out.to_str().unwrap(), "--format", "npm"];
    let output = env
        .cmd()
        .env("CODEX_RUNTIME_GITHUB_BASE_URL", server.url())
        .args(args)
        .args(["--source", "github"])
        .output()
        .unwrap();
    assert_code(&output, 0);
    let listed = run_ok(Command::new("tar").arg("tzf").arg(out.join(runtime.npm_file_name())));
    assert!(listed.contains("package/vendor/x86_64-unknown-linux-musl/codex-resources/voice/host"), "{listed}");
    assert!(!listed.contains("__init__.py") && listed.starts_with("package/package.json\n"), "{listed}");
    run_ok(Command::new("gzip").arg("-t").arg(out.join(runtime.npm_file_name())));
}

#[test]
fn a_target_missing_from_every_source_is_named_and_nothing_is_written() {
    let env = Env::new();
    let six = SixTargets::new();
    let server = TestServer::start();
    for f in six.fixtures.iter().filter(|f| f.runtime.target != "aarch64-apple-darwin") {
        f.serve_mirror(&server);
    }
    let mirror = format!("{}/mirror", server.url());
    let manifest = env.manifest(&six.manifest);
    let out = env.path("dist");
    let mut args = bundle_args(&manifest, &mirror, out.to_str().unwrap());
    args.push("--json");

    let output = env.run(&args);
    assert_code(&output, 5);
    let stderr = text(&output.stderr);
    assert!(stderr.contains("1 of 6 targets failed"), "{stderr}");
    assert!(stderr.contains("aarch64-apple-darwin: no source could provide"), "{stderr}");
    assert_eq!(stdout_json(&output)["error"]["exit_code"], 5);
    assert!(!out.exists(), "a failed bundle writes nothing");
    let left: Vec<_> = std::fs::read_dir(env.dir.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(left.iter().all(|n| !n.to_string_lossy().starts_with(".dist")), "{left:?}");
    // The five good targets are in the cache for the next run.
    assert_eq!(std::fs::read_dir(env.cache().join("runtimes/0.163.0")).unwrap().count(), 5);
}

#[test]
fn refuses_an_out_dir_that_holds_something_else() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let server = TestServer::start();
    let mirror = fixture.serve_mirror(&server);
    let manifest = env.manifest(&fixture.manifest);
    let out = env.path("dist");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let args = [
        "bundle",
        "--manifest",
        &manifest,
        "--target",
        LINUX,
        "--format",
        "wheel",
        "--out",
        out.to_str().unwrap(),
        "--source",
        "mirror",
        "--mirror",
        &mirror,
    ];

    let refused = env.run(&args);
    assert_code(&refused, 2);
    assert!(text(&refused.stderr).contains("--force"), "{}", text(&refused.stderr));
    assert_eq!(std::fs::read_to_string(out.join("notes.txt")).unwrap(), "mine");
    assert_eq!(server.requests().len(), 0, "refused before fetching anything");

    let mut forced = args.to_vec();
    forced.push("--force");
    assert_code(&env.run(&forced), 0);
    let files: Vec<String> = tree(&out).into_keys().collect();
    assert_eq!(files, ["SHA256SUMS", "bundle.json", &fixture.runtime.wheel_file_name()]);
}

/// Regression: `--force --out` a directory holding the cache replaced the cache with the bundle.
#[test]
fn refuses_an_out_dir_that_holds_the_cache_even_with_force() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let manifest = env.manifest(&fixture.manifest);
    std::fs::create_dir_all(env.cache().join("runtimes")).unwrap();
    std::fs::write(env.cache().join("runtimes/keep"), "cached").unwrap();
    let parent = env.cache().parent().unwrap().to_str().unwrap().to_owned();

    let out = env.run(&[
        "bundle",
        "--manifest",
        &manifest,
        "--target",
        LINUX,
        "--format",
        "wheel",
        "--out",
        &parent,
        "--force",
    ]);
    assert_code(&out, 2);
    assert!(text(&out.stderr).contains("overlaps the cache"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(env.cache().join("runtimes/keep")).unwrap(), "cached");
}

/// `python3 -m http.server` on 127.0.0.1 serving `dir`, killed on drop.
struct StaticServer {
    child: std::process::Child,
    url: String,
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn an_index_bundle_is_a_static_mirror_for_pip_npm_and_the_tool_and_keeps_other_versions() {
    let env = Env::new();
    let (old, mut new) = (Fixture::stable(), Fixture::of(FixtureRuntime::linux_x64("0.164.0", "0.164.0"), "stable"));
    // The newer pin records its tarball's package.json fields (the fixture's has none): the
    // package document takes them from the pin, the older one from the tarball.
    let recorded = serde_json::json!({"cpu": ["x64"], "license": "from-the-pin", "os": ["linux"]});
    new.manifest["targets"][LINUX]["artifacts"]["npm"]["package_json"] = recorded.clone();
    let server = TestServer::start();
    let mirror = old.serve_mirror(&server);
    new.serve_mirror(&server);
    let out = env.path("site");
    // The URL it will be served at; npm needs absolute tarball URLs.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}/");
    for fixture in [&old, &new] {
        let manifest = env.manifest(&fixture.manifest);
        let args = ["bundle", "--manifest", &manifest, "--target", LINUX, "--out", out.to_str().unwrap()];
        let extra = ["--format", "index", "--base-url", &base, "--source", "mirror", "--mirror", &mirror];
        assert_code(&env.run(&[&args[..], &extra[..]].concat()), 0);
    }
    // Both versions: the second run kept the first's artifacts, and SHA256SUMS covers everything.
    for fixture in [&old, &new] {
        assert!(std::fs::read(out.join(fixture.runtime.wheel_file_name())).unwrap() == fixture.wheel);
        assert!(std::fs::read(out.join(fixture.runtime.npm_file_name())).unwrap() == fixture.npm);
    }
    run_ok(Command::new("sha256sum").arg("--strict").arg("-c").arg("SHA256SUMS").current_dir(&out));
    let sums = std::fs::read_to_string(out.join("SHA256SUMS")).unwrap();
    let listed: Vec<&str> = sums.lines().map(|l| l.split_once("  ").unwrap().1).collect();
    let mut written: Vec<String> = tree(&out).into_keys().filter(|p| p != "SHA256SUMS").collect();
    written.sort();
    assert_eq!(listed, written);
    let document: Value =
        serde_json::from_slice(&std::fs::read(out.join("@openai/codex/index.json")).unwrap()).unwrap();
    let newer = &document["versions"]["0.164.0-linux-x64"];
    for (field, value) in recorded.as_object().unwrap() {
        assert_eq!(&newer[field], value, "{field} comes from the pin: {newer}");
    }
    assert!(document["versions"]["0.163.0-linux-x64"].get("license").is_none(), "{document}");

    // Served as it is by a plain static server on that port.
    let served = {
        let child = Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1", &port.to_string(), "--directory"])
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut up = false;
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                up = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(up, "python3 -m http.server did not start");
        StaticServer { child, url: base.clone() }
    };
    // pip, with upstream's hash required.
    let req = env.path("req.txt");
    std::fs::write(&req, format!("openai-codex-cli-bin==0.163.0 --hash=sha256:{}\n", sha256_hex(&old.wheel))).unwrap();
    let downloaded = env.path("pip-download");
    let mut pip = Command::new("python3");
    pip.args(["-m", "pip", "download", "--no-deps", "--require-hashes", "--disable-pip-version-check", "-r"])
        .arg(&req)
        .arg("-d")
        .arg(&downloaded)
        .args(["--index-url", &format!("{}simple/", served.url)])
        .args(["--only-binary=:all:", "--platform", "manylinux_2_17_x86_64"])
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env_remove("PIP_FIND_LINKS")
        .env_remove("PIP_INDEX_URL");
    run_ok(&mut pip);
    assert!(std::fs::read(downloaded.join(old.runtime.wheel_file_name())).unwrap() == old.wheel);
    // npm, from the package document.
    let project = env.path("npm-project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("package.json"), r#"{"name":"t","version":"1.0.0"}"#).unwrap();
    std::fs::write(env.path("empty.npmrc"), "").unwrap();
    run_ok(
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--ignore-scripts", "@openai/codex@0.164.0-linux-x64"])
            .args(["--registry", &served.url, "--cache"])
            .arg(env.path("npm-cache"))
            .arg("--userconfig")
            .arg(env.path("empty.npmrc"))
            .current_dir(&project)
            .env("HOME", env.dir.path()),
    );
    let package: Value =
        serde_json::from_slice(&std::fs::read(project.join("node_modules/@openai/codex/package.json")).unwrap())
            .unwrap();
    assert_eq!(package["version"], "0.164.0-linux-x64");
    // The tool itself, with the directory as its mirror over HTTP.
    let fresh = Env::new();
    let manifest = fresh.manifest(&old.manifest);
    let install = ["install", "--manifest", &manifest, "--target", LINUX, "--json", "--source", "mirror"];
    let out = fresh.run(&[&install[..], &["--mirror", &served.url]].concat());
    assert_code(&out, 0);
    assert_eq!(stdout_json(&out)["version"], "0.163.0");
}

#[test]
fn a_mirror_grade_bundle_refuses_what_would_lose_or_leak_and_never_swaps_bad_bytes_for_a_repack() {
    let env = Env::new();
    let six = SixTargets::new();
    let server = TestServer::start();
    for f in &six.fixtures {
        f.serve_mirror(&server);
    }
    let mirror = format!("{}/mirror", server.url());
    let manifest = env.manifest(&six.manifest);
    let out = env.path("site");
    let out_arg = out.to_str().unwrap().to_owned();
    let bundle = |target: &str, extra: &[&str]| {
        let args = ["bundle", "--manifest", &manifest, "--target", target, "--out", &out_arg, "--source", "mirror"];
        env.run(&[&args[..], &["--mirror", &mirror], extra].concat())
    };
    let index = ["--format", "index", "--base-url", "http://127.0.0.1:8000/"];

    // Credentials in --base-url would be published in every link: refused before any fetch.
    let leaky = bundle(LINUX, &["--format", "index", "--base-url", "https://alice:hunter2@mirror.test/"]);
    assert_code(&leaky, 2);
    assert!(text(&leaky.stderr).contains("it holds credentials") && !text(&leaky.stderr).contains("hunter2"));
    assert_eq!(server.requests().len(), 0, "nothing fetched");

    // Two index bundles at once into one directory: one waits for the other, both versions stay.
    let (mut a, mut b) = (env.cmd(), env.cmd());
    for (cmd, target) in [(&mut a, LINUX), (&mut b, "aarch64-unknown-linux-musl")] {
        cmd.args(["bundle", "--manifest", &manifest, "--target", target, "--out", &out_arg, "--source", "mirror"]);
        cmd.args(["--mirror", &mirror]).args(index);
    }
    let (a, b) = (a.spawn().unwrap(), b.spawn().unwrap());
    assert!(a.wait_with_output().unwrap().status.success() && b.wait_with_output().unwrap().status.success());
    for triple in [LINUX, "aarch64-unknown-linux-musl"] {
        let f = six.fixture(triple);
        assert!(out.join(f.runtime.npm_file_name()).is_file(), "{triple} kept");
    }

    // A bundle without the index would drop the mirror: refused without --force.
    let dropping = bundle(LINUX, &["--format", "wheel"]);
    assert_code(&dropping, 2);
    assert!(text(&dropping.stderr).contains("is a static index"), "{}", text(&dropping.stderr));
    // A stray file in it is named, not a vague "not empty".
    std::fs::write(out.join("foo.whl"), b"junk").unwrap();
    let stray = bundle(LINUX, &index);
    assert_code(&stray, 2);
    assert!(text(&stray.stderr).contains("files it did not write (foo.whl)"), "{}", text(&stray.stderr));
    std::fs::remove_file(out.join("foo.whl")).unwrap();

    // Bytes that fail the pins fail the target (exit 4): never a quiet re-pack under upstream's name.
    let env = Env::new();
    let linux = six.fixture(LINUX);
    let mut bad = linux.npm.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let server = TestServer::start();
    server.add(&format!("/m/{}", linux.runtime.npm_file_name()), bad);
    let manifest = env.manifest(&six.manifest);
    let args = ["bundle", "--manifest", &manifest, "--target", LINUX, "--format", "npm", "--out"];
    let mirror = format!("{}/m", server.url());
    let out =
        env.run(&[&args[..], &[env.path("o").to_str().unwrap(), "--source", "mirror", "--mirror", &mirror]].concat());
    assert_code(&out, 4);
    assert!(!env.path("o").exists());

    // A local mirror's symlink is read through: the bundle holds a regular file, not the link.
    let env = Env::new();
    let dir = env.path("local");
    std::fs::create_dir_all(env.path("real")).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(env.path("real").join(linux.runtime.npm_file_name()), &linux.npm).unwrap();
    std::os::unix::fs::symlink(
        format!("../real/{}", linux.runtime.npm_file_name()),
        dir.join(linux.runtime.npm_file_name()),
    )
    .unwrap();
    let manifest = env.manifest(&six.manifest);
    let o = env.path("o");
    let args = ["bundle", "--manifest", &manifest, "--target", LINUX, "--format", "npm", "--out", o.to_str().unwrap()];
    let done = env.run(&[&args[..], &["--source", "mirror", "--mirror", dir.to_str().unwrap()]].concat());
    assert_code(&done, 0);
    let staged = o.join(linux.runtime.npm_file_name());
    assert!(std::fs::symlink_metadata(&staged).unwrap().file_type().is_file());
    assert!(std::fs::read(&staged).unwrap() == linux.npm);
    let description: Value = serde_json::from_slice(&std::fs::read(o.join("bundle.json")).unwrap()).unwrap();
    assert_eq!(description["targets"][LINUX]["outputs"][0]["origin"]["kind"], "upstream");
    // The user's own file is not linked into the cache or the bundle.
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(env.path("real").join(linux.runtime.npm_file_name())).unwrap().nlink(), 1);
}

#[test]
fn cache_verify_checks_the_kept_artifacts_and_repair_drops_a_damaged_one() {
    let env = Env::new();
    let fixture = Fixture::stable();
    let server = TestServer::start();
    let mirror = fixture.serve_mirror(&server);
    let manifest = env.manifest(&fixture.manifest);
    let out = env.path("o");
    let bundle =
        ["bundle", "--manifest", &manifest, "--target", LINUX, "--format", "npm", "--out", out.to_str().unwrap()];
    assert_code(&env.run(&[&bundle[..], &["--source", "mirror", "--mirror", &mirror]].concat()), 0);
    let verify = |extra: &[&str]| env.run(&[&["cache", "verify", "--manifest", &manifest][..], extra].concat());
    let ok = verify(&[]);
    assert_code(&ok, 0);
    assert!(
        text(&ok.stdout).contains(&format!("ok       kept {}", fixture.runtime.npm_file_name())),
        "{}",
        text(&ok.stdout)
    );

    let kept = env.cache().join("artifacts").join(fixture.runtime.npm_file_name());
    let mut bytes = std::fs::read(&kept).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&kept, bytes).unwrap();
    let damaged = verify(&["--json"]);
    assert_code(&damaged, 4);
    let json = stdout_json(&damaged);
    assert_eq!(json["ok"], false);
    assert!(json["artifacts"][0]["problem"].as_str().unwrap().contains("mismatch"), "{json}");
    let repaired = verify(&["--repair"]);
    assert_code(&repaired, 0);
    assert!(text(&repaired.stdout).contains("removed; a bundle fetches it again"), "{}", text(&repaired.stdout));
    assert!(!kept.exists());
}
