//! The real consumers run what `bundle` stages: a bundle of the real 0.163.0 runtime for
//! x86_64 Linux (upstream's wheel and npm tarball, served from a loopback mirror), then
//! OpenAI's Python SDK (`openai-codex`, which pins `openai-codex-cli-bin==0.163.0`) on the
//! bundle's wheel, and the real npm launcher `@openai/codex@0.163.0` with the bundle's tarball
//! as its platform package.
//!
//! The SDK and the launcher come from the registries of the machine's own client configuration,
//! through the ordinary `pip` and `npm`. What can be shared between runs is kept under
//! `<target>/test-tools/`: a virtualenv holding the SDK and its dependencies (but not the
//! runtime wheel, which each run installs from the bundle into a fresh virtualenv) and an npm
//! cache. Where the real artifacts, the SDK or the launcher cannot be had, the tests skip off CI
//! and fail on CI.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use codex_runtime_test_support::fixture::{integrity, sha256_hex};
use codex_runtime_test_support::http::TestServer;
use codex_runtime_test_support::registries::{
    REAL_NPM_SUFFIX, REAL_VERSION, REAL_WHEEL_PLATFORM, Unavailable, skip_or_fail, tools_dir, try_real_npm_tarball,
    try_real_wheel,
};
use serde_json::Value;

use crate::common::*;

/// The Python SDK's distribution, and the release of it that pins runtime 0.163.0 exactly.
const SDK_DISTRIBUTION: &str = "openai-codex";
pub(crate) const SDK_VERSION: &str = "0.163.0";
/// The runtime wheel's distribution, which the SDK depends on.
const RUNTIME_DISTRIBUTION: &str = "openai-codex-cli-bin";
/// The npm launcher package.
const LAUNCHER: &str = "@openai/codex";

/// Longest a package client may take (a cold install of a 160 MB tarball on 2 cores).
const INSTALL_LIMIT: Duration = Duration::from_secs(8 * 60);
/// Longest the runtime may take to answer (a handshake, a version).
const RUN_LIMIT: Duration = Duration::from_secs(90);

/// A bundle of the real runtime: `--format wheel,npm` for x86_64 Linux, from a loopback mirror.
struct RealBundle {
    env: Env,
    /// The bundle's wheel and npm tarball.
    wheel: PathBuf,
    tarball: PathBuf,
    /// The runtime's entrypoint (`bin/codex`) as `bundle.json` pins it.
    entrypoint_sha256: String,
}

/// Bundle the real runtime and check the bundle holds upstream's files byte for byte; `None`
/// (after `skipped:`) where the real artifacts cannot be fetched off CI.
fn real_bundle() -> Option<RealBundle> {
    assert_eq!(REAL_VERSION, SDK_VERSION, "the SDK release pins this runtime version");
    let upstream_wheel = skip_or_fail(try_real_wheel(REAL_VERSION, REAL_WHEEL_PLATFORM))?;
    let upstream_npm = skip_or_fail(try_real_npm_tarball(REAL_VERSION, REAL_NPM_SUFFIX))?;
    let wheel_name = format!("openai_codex_cli_bin-{REAL_VERSION}-py3-none-{REAL_WHEEL_PLATFORM}.whl");
    let npm_name = format!("openai-codex-{REAL_VERSION}-{REAL_NPM_SUFFIX}.tgz");
    assert!(upstream_wheel.ends_with(&wheel_name), "{}", upstream_wheel.display());
    assert!(upstream_npm.ends_with(&npm_name), "{}", upstream_npm.display());

    let env = Env::new();
    let server = TestServer::start();
    server.add_file(&format!("/mirror/{wheel_name}"), upstream_wheel.clone());
    server.add_file(&format!("/mirror/{npm_name}"), upstream_npm.clone());
    let mirror = format!("{}/mirror", server.url());
    let out = env.path("dist");
    let mut bundle = env.cmd();
    bundle
        .args(["bundle", "--version", REAL_VERSION, "--target", LINUX, "--format", "wheel,npm", "--out"])
        .arg(&out)
        .args(["--source", "mirror", "--mirror", &mirror, "--json"]);
    let output = run_bounded(&mut bundle, INSTALL_LIMIT);
    assert_code(&output, 0);
    let json = stdout_json(&output);
    assert_eq!(json["version"], REAL_VERSION, "{json:#}");
    assert_eq!(server.hits(&format!("/mirror/{wheel_name}")), 1);
    assert_eq!(server.hits(&format!("/mirror/{npm_name}")), 1);

    // Upstream's bytes, and bundle.json says so.
    let wheel = out.join(&wheel_name);
    let tarball = out.join(&npm_name);
    let description: Value = serde_json::from_slice(&std::fs::read(out.join("bundle.json")).unwrap()).unwrap();
    let target = &description["targets"][LINUX];
    for (format, staged, upstream) in [("wheel", &wheel, &upstream_wheel), ("npm", &tarball, &upstream_npm)] {
        let sha256 = sha256_hex(&std::fs::read(staged).unwrap());
        assert_eq!(sha256, sha256_hex(&std::fs::read(upstream).unwrap()), "{format}: not upstream's bytes");
        let staged_output = target["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["format"] == format)
            .unwrap_or_else(|| panic!("no {format} output in {description:#}"));
        assert_eq!(staged_output["origin"]["kind"], "upstream", "{staged_output}");
        assert_eq!(staged_output["origin"]["source"], "mirror", "{staged_output}");
        assert_eq!(staged_output["sha256"], sha256, "{staged_output}");
    }
    let entrypoint_sha256 = target["entrypoint"]["sha256"].as_str().unwrap().to_owned();
    assert_eq!(target["entrypoint"]["path"], "bin/codex", "{target}");
    Some(RealBundle { env, wheel, tarball, entrypoint_sha256 })
}

#[test]
fn the_real_python_sdk_runs_the_bundles_wheel() {
    let Some(bundle) = real_bundle() else { return };
    let Some(sdk) = skip_or_fail(sdk_venv()) else { return };
    let env = &bundle.env;

    // A fresh virtualenv that sees the cached SDK, into which pip installs the bundle's wheel.
    let venv = env.path("venv");
    let python = venv.join("bin/python");
    let created = run_bounded(Command::new("python3").args(["-m", "venv", "--without-pip"]).arg(&venv), RUN_LIMIT);
    assert_code(&created, 0);
    let site = purelib(&python);
    std::fs::write(site.join("openai-codex-sdk.pth"), format!("{}\n", purelib(&sdk.join("bin/python")).display()))
        .unwrap();
    let mut install = pip(&python);
    install.args(["install", "--no-deps", "--no-index"]).arg(&bundle.wheel);
    assert_code(&run_bounded(&mut install, INSTALL_LIMIT), 0);
    // The SDK's own pin (`openai-codex-cli-bin==0.163.0`) is met by the bundle's wheel.
    let check = run_bounded(pip(&python).arg("check"), RUN_LIMIT);
    assert_code(&check, 0);
    let mut show = pip(&python);
    show.args(["show", "--files", RUNTIME_DISTRIBUTION]);
    let shown = text(&run_bounded(&mut show, RUN_LIMIT).stdout);
    assert!(shown.contains(&format!("Location: {}", site.display())), "{shown}");
    assert!(shown.contains(&format!("Required-by: {SDK_DISTRIBUTION}")), "{shown}");

    // The SDK's own discovery of the runtime, the handshake and a read-only call that needs no
    // login; every proxy points at a closed loopback port.
    let script = env.path("sdk_probe.py");
    std::fs::write(&script, SDK_PROBE).unwrap();
    let closed = format!("http://127.0.0.1:{}", closed_port());
    // Where this machine lets us (root), in a network namespace of its own, with no network at all.
    let isolated = Command::new("unshare").args(["--net", "true"]).output().is_ok_and(|o| o.status.success());
    let mut probe = if isolated { Command::new("unshare") } else { Command::new(&python) };
    if isolated {
        probe.arg("--net").arg(&python);
    }
    probe.arg(&script).current_dir(env.dir.path());
    for var in ["OPENAI_API_KEY", "CODEX_API_KEY", "OPENAI_BASE_URL", "NO_PROXY", "no_proxy", "PYTHONPATH"] {
        probe.env_remove(var);
    }
    for var in ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy"] {
        probe.env(var, &closed);
    }
    std::fs::create_dir_all(env.path("codex-home")).unwrap();
    probe.env("HOME", env.path("home")).env("CODEX_HOME", env.path("codex-home"));
    let ran = run_bounded(&mut probe, RUN_LIMIT);
    assert_code(&ran, 0);
    let report = stdout_json(&ran);

    assert_eq!(report["sdk_version"], SDK_VERSION, "{report:#}");
    assert_eq!(report["runtime_distribution_version"], REAL_VERSION, "{report:#}");
    assert_eq!(report["runtime_version"], REAL_VERSION, "{report:#}");
    assert!(report["user_agent"].as_str().unwrap().contains(REAL_VERSION), "{report:#}");
    let models = report["models"].as_array().unwrap();
    assert!(!models.is_empty() && models.iter().all(Value::is_string), "{report:#}");
    assert!(report["account"]["account"].is_null(), "no login: {report:#}");
    // The process the SDK launched is the bundle's entrypoint, inside the fresh venv's
    // codex_cli_bin/bin/.
    let exe = PathBuf::from(report["exe"].as_str().unwrap());
    let bin_dir = site.canonicalize().unwrap().join("codex_cli_bin/bin");
    assert_eq!(exe, bin_dir.join("codex"), "{report:#}");
    assert_eq!(report["bundled_codex_path"], exe.to_str().unwrap(), "{report:#}");
    assert_eq!(sha256_hex(&std::fs::read(&exe).unwrap()), bundle.entrypoint_sha256);
    assert!(std::fs::metadata(env.path("codex-home")).unwrap().is_dir());
}

/// Creates `Codex()` (the SDK finds the runtime by itself), lists the models and reads the
/// account, and prints what it saw as JSON. Bounded by an alarm besides the test's own limit.
const SDK_PROBE: &str = r#"
import importlib.metadata, json, os, signal, sys
signal.alarm(75)
import codex_cli_bin, openai_codex
from openai_codex import Codex

with Codex() as codex:
    exe = os.readlink(f"/proc/{codex._client._proc.pid}/exe")
    models = codex.models()
    account = codex.account()
    report = {
        "exe": exe,
        "bundled_codex_path": str(codex_cli_bin.bundled_codex_path().resolve()),
        "sdk_version": openai_codex.__version__,
        "runtime_distribution_version": importlib.metadata.version("openai-codex-cli-bin"),
        "runtime_version": codex._client._runtime_version,
        "user_agent": codex.metadata.userAgent,
        "models": [m.id for m in models.data],
        "account": account.model_dump(mode="json"),
    }
print(json.dumps(report))
"#;

#[test]
fn the_real_npm_launcher_runs_the_bundles_platform_tarball() {
    let Some(bundle) = real_bundle() else { return };
    let env = &bundle.env;
    let Some(npm) = skip_or_fail(Npm::new(env)) else { return };
    let project = env.path("npm-project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("package.json"), r#"{"name": "consumer", "version": "1.0.0", "private": true}"#)
        .unwrap();

    // The launcher alone: its platform package is an optional dependency, left out.
    let launcher_spec = format!("{LAUNCHER}@{REAL_VERSION}");
    let Some(_) = skip_or_fail(npm.install(&project, &launcher_spec)) else { return };
    let launcher = project.join("node_modules/@openai/codex");
    let package: Value = serde_json::from_slice(&std::fs::read(launcher.join("package.json")).unwrap()).unwrap();
    assert_eq!(package["version"], REAL_VERSION);
    let launcher_js = std::fs::read_to_string(launcher.join("bin/codex.js")).unwrap();
    let platform_package = platform_package_of(&launcher_js, LINUX);
    assert_eq!(
        package["optionalDependencies"][&platform_package],
        format!("npm:{LAUNCHER}@{REAL_VERSION}-{REAL_NPM_SUFFIX}"),
        "{package:#}"
    );
    let installed = project.join("node_modules").join(&platform_package);
    assert!(!installed.exists(), "--omit=optional installed {platform_package}");
    assert!(!launcher.join("vendor").exists(), "the launcher carries no runtime of its own");
    let missing = run_bounded(&mut npm.node(&project, &launcher), RUN_LIMIT);
    assert!(!missing.status.success());
    assert!(text(&missing.stderr).contains(&format!("Missing optional dependency {platform_package}")), "{missing:?}");

    // The bundle's tarball, under the name the launcher resolves.
    let spec = format!("{platform_package}@file:{}", bundle.tarball.display());
    // A local file: a failure here is no registry's doing.
    npm.install(&project, &spec).unwrap_or_else(|e| panic!("{e}"));
    let ran = run_bounded(&mut npm.node(&project, &launcher), RUN_LIMIT);
    assert_code(&ran, 0);
    assert_eq!(text(&ran.stdout).trim(), format!("codex-cli {REAL_VERSION}"));

    // What ran is the bundle's: the only runtime on disk is the one from the bundle's tarball...
    let vendor = installed.join("vendor").join(LINUX).join("bin/codex");
    assert_eq!(sha256_hex(&std::fs::read(&vendor).unwrap()), bundle.entrypoint_sha256);
    assert!(!launcher.join("node_modules").exists(), "a nested platform package: {}", launcher.display());
    let lock: Value = serde_json::from_slice(&std::fs::read(project.join("package-lock.json")).unwrap()).unwrap();
    let locked = &lock["packages"][format!("node_modules/{platform_package}")];
    assert!(locked["resolved"].as_str().is_some_and(|r| r.starts_with("file:")), "{locked:#}");
    assert_eq!(locked["integrity"], integrity(&std::fs::read(&bundle.tarball).unwrap()), "{locked:#}");
    assert_eq!(locked["version"], format!("{REAL_VERSION}-{REAL_NPM_SUFFIX}"), "{locked:#}");
    assert_eq!(lock["packages"]["node_modules/@openai/codex"]["version"], REAL_VERSION);
    // ...and the registry's platform tarball never reached npm's cache.
    let listed = npm.cache_listing();
    let registry_platform = format!("/codex-{REAL_VERSION}-{REAL_NPM_SUFFIX}.tgz");
    assert!(
        !listed.lines().any(|l| l.contains("request-cache:") && l.trim_end().ends_with(&registry_platform)),
        "{listed}"
    );
    assert!(listed.lines().any(|l| l.contains("pacote:tarball:file:")), "{listed}");
}

/// The platform package `bin/codex.js` requires for `triple`, read from its
/// `PLATFORM_PACKAGE_BY_TARGET` table (`"x86_64-unknown-linux-musl": "@openai/codex-linux-x64",`).
fn platform_package_of(launcher_js: &str, triple: &str) -> String {
    let key = format!("\"{triple}\":");
    let line = launcher_js
        .lines()
        .find(|l| l.trim_start().starts_with(&key))
        .unwrap_or_else(|| panic!("bin/codex.js names no platform package for {triple}"));
    let value = line.trim_start()[key.len()..].trim().trim_end_matches(',').trim();
    value.trim_matches('"').to_owned()
}

/// The ordinary npm with an isolated HOME, an empty user config, a cache shared between runs,
/// and the registry the machine's own npm configuration names.
struct Npm {
    home: PathBuf,
    userconfig: PathBuf,
    cache: PathBuf,
    registry: String,
}

impl Npm {
    fn new(env: &Env) -> Result<Npm, Unavailable> {
        // Asked of npm with the machine's configuration, as the user's own npm would see it.
        let out = try_run_bounded(Command::new("npm").args(["config", "get", "registry"]), RUN_LIMIT)
            .map_err(|e| Unavailable::new(format!("npm cannot be run: {e}")))?;
        let registry = text(&out.stdout).trim().to_owned();
        if !out.status.success() || registry.is_empty() {
            return Err(Unavailable::new(format!("npm names no registry: {out:?}")));
        }
        let home = env.path("npm-home");
        std::fs::create_dir_all(&home).unwrap();
        let userconfig = env.path("empty-npmrc");
        std::fs::write(&userconfig, "").unwrap();
        let cache = tools_dir().join("npm-cache-real-bundle");
        Ok(Npm { home, userconfig, cache, registry })
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        for (var, _) in std::env::vars_os() {
            if var.to_str().is_some_and(|v| v.to_ascii_lowercase().starts_with("npm_config_")) {
                cmd.env_remove(var);
            }
        }
        cmd.env("HOME", &self.home).env("XDG_CONFIG_HOME", self.home.join(".config"));
        cmd
    }

    fn npm(&self, project: &Path) -> Command {
        let mut cmd = self.command("npm");
        cmd.current_dir(project).arg("--userconfig").arg(&self.userconfig).arg("--cache").arg(&self.cache);
        cmd.args(["--registry", &self.registry, "--no-audit", "--no-fund", "--no-update-notifier"]);
        cmd
    }

    /// `npm install --omit=optional --save-exact SPEC` in `project`.
    fn install(&self, project: &Path, spec: &str) -> Result<(), Unavailable> {
        let mut cmd = self.npm(project);
        cmd.args(["install", "--omit=optional", "--save-exact", "--prefer-offline", spec]);
        let out = run_bounded(&mut cmd, INSTALL_LIMIT);
        if out.status.success() {
            return Ok(());
        }
        Err(Unavailable::new(format!(
            "npm install {spec} failed: {}\nstdout: {}\nstderr: {}",
            out.status,
            text(&out.stdout),
            text(&out.stderr)
        )))
    }

    /// `node LAUNCHER/bin/codex.js --version` in `project`, with its own CODEX_HOME.
    fn node(&self, project: &Path, launcher: &Path) -> Command {
        let mut cmd = self.command("node");
        let codex_home = self.home.join("codex-home");
        std::fs::create_dir_all(&codex_home).unwrap();
        cmd.arg(launcher.join("bin/codex.js")).arg("--version").current_dir(project).env("CODEX_HOME", codex_home);
        cmd
    }

    /// Every key in the npm cache (`npm cache ls`).
    fn cache_listing(&self) -> String {
        let mut cmd = self.npm(&self.home);
        cmd.args(["cache", "ls"]);
        let out = run_bounded(&mut cmd, RUN_LIMIT);
        assert_code(&out, 0);
        text(&out.stdout)
    }
}

/// A virtualenv under `<target>/test-tools/` holding the SDK and its dependencies except the
/// runtime wheel, made once per SDK and Python version with the ordinary pip (under a file lock
/// shared by the test processes), or why it cannot be made.
pub(crate) fn sdk_venv() -> Result<PathBuf, Unavailable> {
    let tag = try_run_bounded(
        Command::new("python3").args(["-c", "import sys; print(sys.implementation.cache_tag)"]),
        RUN_LIMIT,
    )
    .map_err(|e| Unavailable::new(format!("python3 cannot be run: {e}")))?;
    if !tag.status.success() {
        return Err(Unavailable::new(format!("python3 cannot be run: {tag:?}")));
    }
    let name = format!("python-sdk-{SDK_DISTRIBUTION}-{SDK_VERSION}-{}", text(&tag.stdout).trim());
    let dir = tools_dir().join(&name);
    let _lock = lock(&tools_dir().join(format!(".lock-{name}")))?;
    let complete = dir.join(".complete");
    if complete.is_file() {
        return Ok(dir);
    }
    // Left half made by a killed process; nobody else uses it while we hold the lock.
    let _ = std::fs::remove_dir_all(&dir);
    let unavailable = |what: &str, out: &Output| {
        Unavailable::new(format!(
            "{what} failed: {}\nstdout: {}\nstderr: {}",
            out.status,
            text(&out.stdout),
            text(&out.stderr)
        ))
    };
    let created = run_bounded(Command::new("python3").args(["-m", "venv"]).arg(&dir), INSTALL_LIMIT);
    if !created.status.success() {
        return Err(unavailable("python3 -m venv", &created));
    }
    let python = dir.join("bin/python");
    let requirement = format!("{SDK_DISTRIBUTION}=={SDK_VERSION}");
    let mut sdk = pip(&python);
    sdk.args(["install", "--no-deps", &requirement]);
    let installed = run_bounded(&mut sdk, INSTALL_LIMIT);
    if !installed.status.success() {
        return Err(unavailable(&format!("pip install {requirement}"), &installed));
    }
    // Its own requirements, as its metadata states them, all but the runtime wheel.
    let mut requires = Command::new(&python);
    requires.args(["-c", "import importlib.metadata as m, sys; print('\\n'.join(m.requires(sys.argv[1]) or []))"]);
    let requires = run_bounded(requires.arg(SDK_DISTRIBUTION), RUN_LIMIT);
    assert_code(&requires, 0);
    let listed = text(&requires.stdout);
    let runtime_pin = format!("{RUNTIME_DISTRIBUTION}=={SDK_VERSION}");
    assert!(listed.lines().any(|l| l.replace(' ', "") == runtime_pin), "{requirement} requires {listed}");
    let deps: Vec<&str> = listed
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with(RUNTIME_DISTRIBUTION) && !l.contains("extra =="))
        .collect();
    if !deps.is_empty() {
        let mut install = pip(&python);
        install.arg("install").args(&deps);
        let out = run_bounded(&mut install, INSTALL_LIMIT);
        if !out.status.success() {
            return Err(unavailable(&format!("pip install {deps:?}"), &out));
        }
    }
    let mut import = Command::new(&python);
    import.args(["-c", "import openai_codex; print(openai_codex.__version__)"]);
    let imported = run_bounded(&mut import, RUN_LIMIT);
    assert_code(&imported, 0);
    assert_eq!(text(&imported.stdout).trim(), SDK_VERSION);
    std::fs::write(&complete, "").unwrap();
    Ok(dir)
}

/// `python -m pip` with no prompts and no version check.
pub(crate) fn pip(python: &Path) -> Command {
    let mut cmd = Command::new(python);
    cmd.args(["-m", "pip", "--disable-pip-version-check", "--no-input"]).env_remove("PYTHONPATH");
    cmd.env_remove("VIRTUAL_ENV").env_remove("PIP_TARGET").env_remove("PIP_PREFIX").env_remove("PIP_USER");
    cmd
}

/// The site-packages directory of the interpreter `python`.
pub(crate) fn purelib(python: &Path) -> PathBuf {
    let out = run_bounded(
        Command::new(python).args(["-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]),
        RUN_LIMIT,
    );
    assert_code(&out, 0);
    PathBuf::from(text(&out.stdout).trim())
}

/// A loopback port nothing listens on (it was bound and released a moment ago).
pub(crate) fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Hold an exclusive lock on `path` until the returned file is dropped; waits at most 20
/// minutes for another test process's install.
pub(crate) fn lock(path: &Path) -> Result<std::fs::File, Unavailable> {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = std::fs::File::options().create(true).truncate(false).write(true).open(path).unwrap();
    let limit = Duration::from_secs(20 * 60);
    let start = Instant::now();
    // Bounded: at most limit / 200 ms polls.
    for _ in 0..(limit.as_millis() / 200) {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => std::thread::sleep(Duration::from_millis(200)),
            Err(std::fs::TryLockError::Error(e)) => panic!("cannot lock {}: {e}", path.display()),
        }
        if start.elapsed() > limit {
            break;
        }
    }
    Err(Unavailable::new(format!("{} stayed locked for {limit:?}", path.display())))
}

/// Run `cmd` to completion within `limit`, its output in files (so nothing blocks on a full
/// pipe); killed and a panic past the limit.
pub(crate) fn run_bounded(cmd: &mut Command, limit: Duration) -> Output {
    try_run_bounded(cmd, limit).unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// [`run_bounded`], or why `cmd` could not be started.
pub(crate) fn try_run_bounded(cmd: &mut Command, limit: Duration) -> std::io::Result<Output> {
    let dir = tempfile::tempdir().unwrap();
    let (stdout, stderr) = (dir.path().join("stdout"), dir.path().join("stderr"));
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap());
    let mut child = cmd.spawn()?;
    let start = Instant::now();
    let poll = Duration::from_millis(50);
    // Bounded: at most limit / poll polls.
    for _ in 0..=(limit.as_millis() / poll.as_millis()) {
        if let Some(status) = child.try_wait().unwrap() {
            return Ok(Output { status, stdout: std::fs::read(&stdout)?, stderr: std::fs::read(&stderr)? });
        }
        if start.elapsed() > limit {
            break;
        }
        std::thread::sleep(poll);
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!(
        "{cmd:?} did not finish within {limit:?}\nstdout: {}\nstderr: {}",
        text(&std::fs::read(&stdout).unwrap_or_default()),
        text(&std::fs::read(&stderr).unwrap_or_default())
    );
}
