//! The packages `scripts/build-packages` makes (the Python wheel and the npm packages of
//! codex-runtime), installed by the ordinary `pip`, `uv` and `npm` and used as a Python or Node
//! user would: `codex-runtime --version`, `codex_runtime.codex_bin()`, `npx codex-runtime path
//! --json`, and the real Python SDK started from the path `codex_bin()` gave.
//!
//! The packages are built once per test binary with `--binary`, which packages the very binary
//! these tests run (no compile; the wheel in maturin's layout), into `<target>/packages/test-KEY/`,
//! KEY hashing the binary, the script and `packaging/`. One test builds the wheel with maturin
//! itself (`--profile dev`, in `<target>/package-build/`, a few minutes the first time) and
//! compares it with that one; the release build is the script's default, for publishing. Nothing here reaches a registry: pip
//! and uv install from the wheel file with no index, npm from the tarballs with `--offline` and
//! an empty cache. Where python3, npm or maturin cannot be had, the tests skip off CI and fail on
//! CI.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use codex_runtime_test_support::fixture::sha256_hex;
use codex_runtime_test_support::http::TestServer;
use codex_runtime_test_support::registries::{
    REAL_VERSION, REAL_WHEEL_PLATFORM, Unavailable, skip_or_fail, target_dir, tools_dir, try_real_wheel,
};
use serde_json::Value;

use crate::common::*;
use crate::real_bundle::{SDK_VERSION, closed_port, lock, pip, purelib, run_bounded, sdk_venv, try_run_bounded};

/// Longest a build of the packages may take (maturin's install on a cold machine included).
const BUILD_LIMIT: Duration = Duration::from_secs(10 * 60);
/// Longest an install by pip, uv or npm may take.
const INSTALL_LIMIT: Duration = Duration::from_secs(5 * 60);
/// Longest a run of the tool or the runtime may take.
const RUN_LIMIT: Duration = Duration::from_secs(90);
/// The uv release the tests install (the one `crates/codex-runtime/tests/static_index.rs` uses).
const UV_VERSION: &str = "0.13.8";
/// The npm platform packages the main package lists, one per target the script knows.
const PLATFORM_PACKAGES: [&str; 8] = [
    "@codex-runtime/darwin-arm64",
    "@codex-runtime/darwin-x64",
    "@codex-runtime/linux-arm64-gnu",
    "@codex-runtime/linux-arm64-musl",
    "@codex-runtime/linux-x64-gnu",
    "@codex-runtime/linux-x64-musl",
    "@codex-runtime/win32-arm64",
    "@codex-runtime/win32-x64",
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// What one build wrote.
pub(crate) struct Packages {
    pub(crate) wheel: PathBuf,
    pub(crate) npm: PathBuf,
    pub(crate) npm_platform: PathBuf,
    npm_platform_name: String,
    report: Value,
}

/// `scripts/build-packages ARGS --json --out OUT`, or why it cannot run here (exit 3: a tool it
/// needs could not be installed).
fn build_packages(args: &[&str], out: &Path) -> Result<Value, Unavailable> {
    build_packages_at(args, out, None)
}

/// [`build_packages`] with `SOURCE_DATE_EPOCH` set to `epoch` (else the script's default, the
/// last commit's time).
fn build_packages_at(args: &[&str], out: &Path, epoch: Option<u64>) -> Result<Value, Unavailable> {
    let mut cmd = Command::new("python3");
    match epoch {
        Some(epoch) => cmd.env("SOURCE_DATE_EPOCH", epoch.to_string()),
        None => cmd.env_remove("SOURCE_DATE_EPOCH"),
    };
    cmd.arg(repo().join("scripts/build-packages")).args(args).args(["--json", "--out"]).arg(out);
    let built = try_run_bounded(&mut cmd, BUILD_LIMIT)
        .map_err(|e| Unavailable::new(format!("scripts/build-packages needs python3: {e}")))?;
    if built.status.code() == Some(3) {
        return Err(Unavailable::new(format!("scripts/build-packages: {}", text(&built.stderr))));
    }
    assert_code(&built, 0);
    Ok(stdout_json(&built))
}

/// The packages of this test binary's `codex-runtime`, built once (under a file lock shared by
/// the test processes) and reused while the binary, the script and `packaging/` are unchanged.
pub(crate) fn packages() -> Result<Packages, Unavailable> {
    let mut inputs = vec![std::fs::read(env!("CARGO_BIN_EXE_codex-runtime")).unwrap()];
    inputs.push(std::fs::read(repo().join("scripts/build-packages")).unwrap());
    let mut files = Vec::new();
    collect_files(&repo().join("packaging"), &mut files);
    files.sort();
    for file in files {
        inputs.push(file.strip_prefix(repo()).unwrap().to_str().unwrap().as_bytes().to_vec());
        inputs.push(std::fs::read(&file).unwrap());
    }
    let key = sha256_hex(&inputs.iter().map(|i| sha256_hex(i)).collect::<String>().into_bytes());
    let name = format!("test-{}", &key[..16]);
    let parent = target_dir().join("packages");
    let dir = parent.join(&name);
    let _lock = lock(&parent.join(format!(".lock-{name}")))?;
    let description = dir.join("build.json");
    if !description.is_file() {
        let partial = parent.join(format!(".partial-{name}"));
        let _ = std::fs::remove_dir_all(&partial);
        let report = build_packages(&["--binary", env!("CARGO_BIN_EXE_codex-runtime")], &partial)?;
        std::fs::write(partial.join("build.json"), serde_json::to_vec_pretty(&report).unwrap()).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&partial, &dir).unwrap();
    }
    let report: Value = serde_json::from_slice(&std::fs::read(&description).unwrap()).unwrap();
    let file = |key: &str| dir.join(Path::new(report[key].as_str().unwrap()).file_name().unwrap());
    Ok(Packages {
        wheel: file("wheel"),
        npm: file("npm"),
        npm_platform: file("npm_platform"),
        npm_platform_name: report["npm_platform_name"].as_str().unwrap().to_owned(),
        report,
    })
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// A fixture runtime for the host served from a loopback mirror, and the environment that
/// points the tool at it: its manifest, the mirror, a cache of its own, no registry.
struct Mirror {
    env: Env,
    server: TestServer,
    fixture: Fixture,
    vars: Vec<(String, String)>,
}

impl Mirror {
    fn new() -> Mirror {
        let env = Env::new();
        let fixture = Fixture::answering_handshake();
        let server = TestServer::start();
        let mirror = fixture.serve_mirror(&server);
        let manifest = env.manifest(&fixture.manifest);
        let closed = format!("http://127.0.0.1:{}/", closed_port());
        let vars = [
            ("CODEX_RUNTIME_MANIFEST", manifest),
            ("CODEX_RUNTIME_MIRROR", mirror),
            ("CODEX_RUNTIME_CACHE_DIR", env.cache().to_str().unwrap().to_owned()),
            ("CODEX_RUNTIME_GITHUB_BASE_URL", closed.clone()),
            ("CODEX_RUNTIME_NPM_REGISTRY", closed.clone()),
            ("CODEX_RUNTIME_PYPI_INDEX", closed),
            ("CODEX_RUNTIME_RETRY_BASE_MS", "10".to_owned()),
            ("HOME", env.path("home").to_str().unwrap().to_owned()),
            ("PIP_CONFIG_FILE", "/dev/null".to_owned()),
        ];
        std::fs::create_dir_all(env.path("home")).unwrap();
        let vars = vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        Mirror { env, server, fixture, vars }
    }

    /// `program` with the mirror's environment, PATH without the venv or project (so what runs
    /// is found the way the package finds it), in the scratch directory.
    fn cmd(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        for (var, _) in std::env::vars_os() {
            if var.to_str().is_some_and(|v| v.to_ascii_lowercase().starts_with("npm_config_")) {
                cmd.env_remove(var);
            }
        }
        for var in ["VIRTUAL_ENV", "PYTHONPATH", "CODEX_RUNTIME_BINARY", "CODEX_RUNTIME_VERSION", "NETRC"] {
            cmd.env_remove(var);
        }
        cmd.envs(self.vars.iter().map(|(k, v)| (k, v))).current_dir(self.env.dir.path());
        cmd
    }

    /// The entrypoint the cache holds once the fixture is installed.
    fn entrypoint(&self) -> PathBuf {
        self.env.cache().join("runtimes/0.163.0").join(&self.fixture.runtime.target).join("bin/codex")
    }

    fn artifact_hits(&self) -> usize {
        let npm = self.server.hits(&format!("/mirror/{}", self.fixture.runtime.npm_file_name()));
        npm + self.server.hits(&format!("/mirror/{}", self.fixture.runtime.wheel_file_name()))
    }
}

/// A fresh virtualenv with the wheel installed by pip from the file alone; its python.
pub(crate) fn venv_with_wheel(env: &Env, wheel: &Path) -> PathBuf {
    let venv = env.path("venv");
    let created = run_bounded(Command::new("python3").args(["-m", "venv", "--without-pip"]).arg(&venv), RUN_LIMIT);
    assert_code(&created, 0);
    let python = venv.join("bin/python");
    let mut install = pip(Path::new("python3"));
    install.arg("--python").arg(&python).args(["install", "--no-index", "--no-deps"]).arg(wheel);
    install.env("PIP_CONFIG_FILE", "/dev/null");
    assert_code(&run_bounded(&mut install, INSTALL_LIMIT), 0);
    python
}

#[test]
fn the_build_is_reproducible_and_carries_the_tested_binary() {
    let Some(packages) = skip_or_fail(packages()) else { return };
    let host = packages.report["target"].as_str().unwrap().to_owned();
    assert_eq!(packages.report["version"], env!("CARGO_PKG_VERSION"));
    let wheel_name = packages.wheel.file_name().unwrap().to_str().unwrap().to_owned();
    assert!(wheel_name.starts_with(&format!("codex_runtime-{}-py3-none-", env!("CARGO_PKG_VERSION"))), "{wheel_name}");

    // The wheel: the executable in its scripts, the module, and nothing of the cargo build.
    let listing = run_bounded(
        Command::new("python3")
            .args(["-c", "import sys, zipfile; print('\\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))"])
            .arg(&packages.wheel),
        RUN_LIMIT,
    );
    assert_code(&listing, 0);
    let members: Vec<String> = text(&listing.stdout).lines().map(str::to_owned).collect();
    let version = env!("CARGO_PKG_VERSION");
    for member in [
        format!("codex_runtime-{version}.data/scripts/codex-runtime"),
        "codex_runtime/__init__.py".to_owned(),
        format!("codex_runtime-{version}.dist-info/METADATA"),
        format!("codex_runtime-{version}.dist-info/RECORD"),
    ] {
        assert!(members.contains(&member), "{member} not in {members:?}");
    }
    assert!(members.iter().all(|m| !m.contains("Cargo")), "{members:?}");

    // The npm packages: the platform package's fields, the main package's optional dependencies.
    let platform = npm_manifest(&packages.npm_platform);
    assert_eq!(platform["name"], packages.npm_platform_name.as_str());
    assert_eq!(platform["os"], serde_json::json!(["linux"]), "{platform:#}");
    assert_eq!(platform["cpu"], serde_json::json!(["x64"]), "{platform:#}");
    assert_eq!(platform["libc"], serde_json::json!([if host.ends_with("-gnu") { "glibc" } else { "musl" }]));
    let main = npm_manifest(&packages.npm);
    assert_eq!(main["bin"]["codex-runtime"], "bin/codex-runtime.js");
    let optional: Vec<&String> = main["optionalDependencies"].as_object().unwrap().keys().collect();
    assert_eq!(optional, PLATFORM_PACKAGES, "{main:#}");
    assert!(main["optionalDependencies"].as_object().unwrap().values().all(|v| v == version), "{main:#}");
    assert!(PLATFORM_PACKAGES.contains(&packages.npm_platform_name.as_str()));

    // Both carry the binary these tests run, byte for byte.
    let tested = sha256_hex(&std::fs::read(env!("CARGO_BIN_EXE_codex-runtime")).unwrap());
    let env = Env::new();
    let unpacked = env.path("npm");
    std::fs::create_dir_all(&unpacked).unwrap();
    let tar = Command::new("tar").arg("-xzf").arg(&packages.npm_platform).arg("-C").arg(&unpacked).output().unwrap();
    assert_code(&tar, 0);
    assert_eq!(sha256_hex(&std::fs::read(unpacked.join("package/bin/codex-runtime")).unwrap()), tested);
    let python = venv_with_wheel(&env, &packages.wheel);
    let installed = python.parent().unwrap().join("codex-runtime");
    assert_eq!(sha256_hex(&std::fs::read(installed).unwrap()), tested);

    // A second build of the same inputs (the same SOURCE_DATE_EPOCH: the cached build may be of
    // an earlier commit) is byte-identical.
    let again = env.path("again");
    let epoch = packages.report["source_date_epoch"].as_u64();
    let binary = ["--binary", env!("CARGO_BIN_EXE_codex-runtime")];
    let Some(report) = skip_or_fail(build_packages_at(&binary, &again, epoch)) else { return };
    let sums = |dir: &Path| std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
    let first = sums(packages.wheel.parent().unwrap());
    assert_eq!(sums(&again), first);
    assert_eq!(first.lines().count(), 3, "{first}");
    assert_eq!(report["wheel"].as_str().unwrap(), again.join(packages.wheel.file_name().unwrap()).to_str().unwrap());
}

/// Where `.ci/run` has maturin's packages built (`scripts/build-packages --profile dev --out DIR`,
/// from the debug build its `cargo run` made, before the tests: run inside them, cargo would
/// swap the binary the other tests run).
const MATURIN_PACKAGES_ENV: &str = "CODEX_RUNTIME_MATURIN_PACKAGES";

#[test]
fn maturin_builds_the_wheel_the_tests_install() {
    let Some(packages) = skip_or_fail(packages()) else { return };
    let dir = std::env::var_os(MATURIN_PACKAGES_ENV).map(PathBuf::from).ok_or_else(|| {
        Unavailable::new(format!(
            "{MATURIN_PACKAGES_ENV} is not set: build with `scripts/build-packages --profile dev --out DIR` and set it to DIR"
        ))
    });
    let Some(dir) = skip_or_fail(dir) else { return };
    let env = Env::new();
    let built = dir.join(packages.wheel.file_name().unwrap());
    assert!(built.is_file(), "maturin's wheel has another name or platform tag than {}", built.display());
    assert_eq!(built.file_name(), packages.wheel.file_name(), "maturin's platform tag");
    let read = |wheel: &Path| -> Value {
        let script = r#"
import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
names = [n for n in z.namelist() if "/sboms/" not in n]
dist = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
wheel = [l for l in z.read(dist + "/WHEEL").decode().splitlines() if not l.startswith("Generator:")]
module = z.read("codex_runtime/__init__.py").decode()
print(json.dumps({"names": names, "metadata": z.read(dist + "/METADATA").decode(), "wheel": wheel, "module": module}))
"#;
        let out = run_bounded(Command::new("python3").args(["-c", script]).arg(wheel), RUN_LIMIT);
        assert_code(&out, 0);
        stdout_json(&out)
    };
    assert_eq!(read(&built), read(&packages.wheel));
    // Its executable is the CLI, built by cargo for maturin.
    let python = venv_with_wheel(&env, &built);
    let version = run_bounded(Command::new(python.with_file_name("codex-runtime")).arg("--version"), RUN_LIMIT);
    assert_code(&version, 0);
    assert_eq!(text(&version.stdout).trim(), format!("codex-runtime {}", env!("CARGO_PKG_VERSION")));
}

/// The `package/package.json` of an npm tarball.
fn npm_manifest(tarball: &Path) -> Value {
    let out = Command::new("tar").arg("-xzOf").arg(tarball).arg("package/package.json").output().unwrap();
    assert_code(&out, 0);
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn pip_installs_the_wheel_and_codex_bin_answers_from_a_loopback_mirror() {
    let Some(packages) = skip_or_fail(packages()) else { return };
    let m = Mirror::new();
    let python = venv_with_wheel(&m.env, &packages.wheel);
    let scripts = python.parent().unwrap();

    let version = run_bounded(m.cmd(scripts.join("codex-runtime")).arg("--version"), RUN_LIMIT);
    assert_code(&version, 0);
    assert_eq!(text(&version.stdout).trim(), format!("codex-runtime {}", env!("CARGO_PKG_VERSION")));

    // PATH does not have the venv: the module finds the executable beside its interpreter.
    let probe = r#"
import json, codex_runtime
path = codex_runtime.codex_bin()
again = codex_runtime.codex_bin(version="0.163.0", channel="stable")
try:
    codex_runtime.codex_bin(version="9.9.9")
    failed = None
except codex_runtime.CodexRuntimeError as e:
    failed = {"exit_code": e.exit_code, "message": e.message, "stderr": e.stderr}
print(json.dumps({"path": str(path), "type": type(path).__name__, "again": str(again),
                  "exe": str(codex_runtime.executable()), "failed": failed}))
"#;
    let ran = run_bounded(m.cmd(&python).args(["-c", probe]), RUN_LIMIT);
    assert_code(&ran, 0);
    let report = stdout_json(&ran);
    let entrypoint = m.entrypoint();
    assert_eq!(report["path"], entrypoint.to_str().unwrap(), "{report:#}");
    assert_eq!(report["again"], entrypoint.to_str().unwrap(), "{report:#}");
    assert!(matches!(report["type"].as_str(), Some("PosixPath")), "{report:#}");
    assert_eq!(report["exe"], scripts.join("codex-runtime").to_str().unwrap(), "{report:#}");
    // Installed from the mirror once, then answered from the cache.
    assert_eq!(m.artifact_hits(), 1);
    let ran = run_bounded(Command::new(&entrypoint).arg("--version"), RUN_LIMIT);
    assert_eq!(text(&ran.stdout).trim(), "codex-cli 0.163.0");
    // A version this build does not pin: the tool's usage error, its message and exit code.
    let failed = &report["failed"];
    assert_eq!(failed["exit_code"], 2, "{report:#}");
    assert!(failed["message"].as_str().unwrap().contains("9.9.9"), "{report:#}");
    assert!(failed["stderr"].as_str().unwrap().contains("9.9.9"), "{report:#}");
}

#[test]
fn uvx_runs_the_wheel() {
    let Some(packages) = skip_or_fail(packages()) else { return };
    let Some(uv) = skip_or_fail(uv()) else { return };
    let m = Mirror::new();
    let uvx = |args: &[&str]| {
        let mut cmd = m.cmd(uv.with_file_name("uvx"));
        cmd.args(["--offline", "--no-config", "--from"]).arg(&packages.wheel).arg("codex-runtime").args(args);
        cmd.env("UV_CACHE_DIR", m.env.path("uv-cache"))
            .env("UV_TOOL_DIR", m.env.path("uv-tools"))
            .env("UV_PYTHON_DOWNLOADS", "never")
            .env_remove("UV_INDEX_URL")
            .env_remove("UV_DEFAULT_INDEX");
        run_bounded(&mut cmd, INSTALL_LIMIT)
    };
    let version = uvx(&["--version"]);
    assert_code(&version, 0);
    assert_eq!(text(&version.stdout).trim(), format!("codex-runtime {}", env!("CARGO_PKG_VERSION")));
    let path = uvx(&["path", "--json"]);
    assert_code(&path, 0);
    assert_eq!(stdout_json(&path)["path"], m.entrypoint().to_str().unwrap());
}

/// uv, installed once under `<target>/test-tools/` with pip (shared with the static index tests).
fn uv() -> Result<PathBuf, Unavailable> {
    let dir = tools_dir().join(format!("uv-{UV_VERSION}"));
    let bin = dir.join("bin/uv");
    let _lock = lock(&tools_dir().join(format!(".lock-uv-{UV_VERSION}")))?;
    if bin.is_file() {
        return Ok(bin);
    }
    let partial = tools_dir().join(format!(".partial-uv-{UV_VERSION}"));
    let _ = std::fs::remove_dir_all(&partial);
    let mut install = pip(Path::new("python3"));
    install.args(["install", "--quiet", "--target"]).arg(&partial).arg(format!("uv=={UV_VERSION}"));
    let out = try_run_bounded(&mut install, INSTALL_LIMIT)
        .map_err(|e| Unavailable::new(format!("uv is installed with python3 -m pip: {e}")))?;
    if !out.status.success() {
        return Err(Unavailable::new(format!("pip install uv=={UV_VERSION} failed: {}", text(&out.stderr))));
    }
    std::fs::rename(&partial, &dir).map_err(|e| Unavailable::new(format!("cannot move uv into place: {e}")))?;
    Ok(bin)
}

/// npm with an empty cache and user config, `--offline`, and a registry nobody listens on: it
/// installs from the tarballs named or not at all.
fn npm(m: &Mirror, project: &Path) -> Command {
    let userconfig = m.env.path("empty-npmrc");
    std::fs::write(&userconfig, "").unwrap();
    let mut cmd = m.cmd("npm");
    cmd.current_dir(project).arg("--userconfig").arg(&userconfig).arg("--cache").arg(m.env.path("npm-cache"));
    let registry = format!("http://127.0.0.1:{}/", closed_port());
    cmd.args(["--registry", &registry, "--offline", "--no-audit", "--no-fund", "--no-update-notifier"]);
    cmd
}

fn npm_project(m: &Mirror, name: &str) -> PathBuf {
    let project = m.env.path(name);
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("package.json"), r#"{"name": "consumer", "version": "1.0.0", "private": true}"#)
        .unwrap();
    project
}

#[test]
fn npm_installs_the_tarballs_and_npx_codex_runtime_path_answers() {
    let Some(packages) = skip_or_fail(packages()) else { return };
    let m = Mirror::new();
    let project = npm_project(&m, "app");
    let mut install = npm(&m, &project);
    install.arg("install").arg(&packages.npm).arg(&packages.npm_platform);
    assert_code(&run_bounded(&mut install, INSTALL_LIMIT), 0);
    let platform_dir = project.join("node_modules").join(&packages.npm_platform_name);
    assert!(platform_dir.join("bin/codex-runtime").is_file());

    let mut npx = npm(&m, &project);
    npx.args(["exec", "--", "codex-runtime", "path", "--json"]);
    let ran = run_bounded(&mut npx, RUN_LIMIT);
    assert_code(&ran, 0);
    assert_eq!(stdout_json(&ran)["path"], m.entrypoint().to_str().unwrap());
    assert_eq!(m.artifact_hits(), 1);

    let mut npx = m.cmd("npx");
    npx.current_dir(&project).args(["--offline", "codex-runtime", "--version"]);
    let ran = run_bounded(&mut npx, RUN_LIMIT);
    assert_code(&ran, 0);
    assert_eq!(text(&ran.stdout).trim(), format!("codex-runtime {}", env!("CARGO_PKG_VERSION")));

    // The launcher passes the tool's exit code through; the API throws its message and code.
    let mut npx = m.cmd("npx");
    npx.current_dir(&project).args(["--offline", "codex-runtime", "path", "--version", "9.9.9"]);
    assert_code(&run_bounded(&mut npx, RUN_LIMIT), 2);
    let script = r#"
const { codexBin, CodexRuntimeError } = require("codex-runtime");
let failed = null;
try { codexBin({ version: "9.9.9" }); } catch (e) {
  failed = { name: e.name, exitCode: e.exitCode, message: e.message, isError: e instanceof CodexRuntimeError };
}
console.log(JSON.stringify({ path: codexBin({ version: "0.163.0", channel: "stable" }), failed }));
"#;
    let ran = run_bounded(m.cmd("node").current_dir(&project).args(["-e", script]), RUN_LIMIT);
    assert_code(&ran, 0);
    let report = stdout_json(&ran);
    assert_eq!(report["path"], m.entrypoint().to_str().unwrap(), "{report:#}");
    assert_eq!(report["failed"]["exitCode"], 2, "{report:#}");
    assert_eq!(report["failed"]["isError"], true, "{report:#}");
    assert!(report["failed"]["message"].as_str().unwrap().contains("9.9.9"), "{report:#}");
}

#[test]
fn without_its_platform_package_the_launcher_names_it_and_the_override_works() {
    let Some(packages) = skip_or_fail(packages()) else { return };
    let m = Mirror::new();
    let project = npm_project(&m, "app");
    let mut install = npm(&m, &project);
    install.args(["install", "--omit=optional"]).arg(&packages.npm);
    assert_code(&run_bounded(&mut install, INSTALL_LIMIT), 0);
    assert!(!project.join("node_modules").join(&packages.npm_platform_name).exists());

    let mut npx = m.cmd("npx");
    npx.current_dir(&project).args(["--offline", "codex-runtime", "path"]);
    let missing = run_bounded(&mut npx, RUN_LIMIT);
    assert_code(&missing, 1);
    let message = text(&missing.stderr);
    let name = &packages.npm_platform_name;
    assert!(message.contains(&format!("the platform package {name} is not installed")), "{message}");
    assert!(message.contains("--include=optional") && message.contains("--omit=optional"), "{message}");
    assert!(message.contains(&format!("npm install {name}@{}", env!("CARGO_PKG_VERSION"))), "{message}");
    assert!(message.contains("CODEX_RUNTIME_BINARY"), "{message}");

    let mut npx = m.cmd("npx");
    npx.current_dir(&project).args(["--offline", "codex-runtime", "path"]);
    npx.env("CODEX_RUNTIME_BINARY", env!("CARGO_BIN_EXE_codex-runtime"));
    let ran = run_bounded(&mut npx, RUN_LIMIT);
    assert_code(&ran, 0);
    assert_eq!(text(&ran.stdout).trim(), m.entrypoint().to_str().unwrap());
}

/// `codex_runtime.codex_bin()` installs the real 0.163.0 runtime from a loopback mirror (the
/// embedded pins), and the real SDK starts it from that path: `initialize`, the models, the account.
#[test]
fn the_real_python_sdk_starts_the_runtime_codex_bin_returns() {
    let Some(packages) = skip_or_fail(packages()) else { return };
    let Some(wheel) = skip_or_fail(try_real_wheel(REAL_VERSION, REAL_WHEEL_PLATFORM)) else { return };
    let Some(sdk) = skip_or_fail(sdk_venv()) else { return };
    assert_eq!(REAL_VERSION, SDK_VERSION);
    let m = Mirror::new();
    let server = TestServer::start();
    server.add_file(&format!("/real/{}", wheel.file_name().unwrap().to_str().unwrap()), wheel.clone());
    let python = venv_with_wheel(&m.env, &packages.wheel);
    let site = purelib(&python);
    std::fs::write(site.join("openai-codex-sdk.pth"), format!("{}\n", purelib(&sdk.join("bin/python")).display()))
        .unwrap();

    std::fs::create_dir_all(m.env.path("codex-home")).unwrap();
    let closed = format!("http://127.0.0.1:{}", closed_port());
    let mut probe = m.cmd(&python);
    probe.args(["-c", SDK_PROBE]).env("CODEX_RUNTIME_MIRROR", format!("{}/real", server.url()));
    probe.env_remove("CODEX_RUNTIME_MANIFEST").env("CODEX_HOME", m.env.path("codex-home"));
    for var in ["OPENAI_API_KEY", "CODEX_API_KEY", "OPENAI_BASE_URL"] {
        probe.env_remove(var);
    }
    for var in ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy"] {
        probe.env(var, &closed);
    }
    // The mirror is reached directly; anything else would meet a closed port.
    probe.env("no_proxy", "127.0.0.1").env("NO_PROXY", "127.0.0.1");
    let ran = run_bounded(&mut probe, Duration::from_secs(5 * 60));
    assert_code(&ran, 0);
    let report = stdout_json(&ran);
    let entrypoint = m.env.cache().join(format!("runtimes/{REAL_VERSION}/{LINUX}/bin/codex"));
    assert_eq!(report["codex_bin"], entrypoint.to_str().unwrap(), "{report:#}");
    assert_eq!(report["exe"], entrypoint.to_str().unwrap(), "{report:#}");
    assert_eq!(report["runtime_version"], REAL_VERSION, "{report:#}");
    assert!(report["user_agent"].as_str().unwrap().contains(REAL_VERSION), "{report:#}");
    let models = report["models"].as_array().unwrap();
    assert!(!models.is_empty() && models.iter().all(Value::is_string), "{report:#}");
    assert_eq!(report["has_codex_cli_bin"], false, "the SDK's own runtime wheel is not installed: {report:#}");
    assert_eq!(server.hits(&format!("/real/{}", wheel.file_name().unwrap().to_str().unwrap())), 1);
}

/// The runtime from `codex_runtime.codex_bin()` handed to the SDK's `CodexConfig(codex_bin=...)`.
const SDK_PROBE: &str = r#"
import importlib.util, json, os, signal
signal.alarm(240)
import codex_runtime
from openai_codex import Codex, CodexConfig

codex_bin = codex_runtime.codex_bin(version="0.163.0")
with Codex(CodexConfig(codex_bin=str(codex_bin))) as codex:
    report = {
        "codex_bin": str(codex_bin),
        "exe": os.readlink(f"/proc/{codex._client._proc.pid}/exe"),
        "runtime_version": codex._client._runtime_version,
        "user_agent": codex.metadata.userAgent,
        "models": [m.id for m in codex.models().data],
        "has_codex_cli_bin": importlib.util.find_spec("codex_cli_bin") is not None,
    }
print(json.dumps(report))
"#;
