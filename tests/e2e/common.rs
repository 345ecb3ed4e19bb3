//! Running the binary in an isolated environment, and fixture mirrors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use codex_runtime_test_support::fixture::{self, FixtureRuntime};
use codex_runtime_test_support::http::TestServer;
use serde_json::Value;

pub const LINUX: &str = "x86_64-unknown-linux-musl";

/// Where [`Fixture::serve_npm`] serves the package document.
pub const NPM_PACKUMENT: &str = "/registry/@openai%2fcodex";

/// A scratch home for one test: a cache dir, a manifest, and the binary to run.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env { dir: tempfile::tempdir().unwrap() }
    }

    pub fn cache(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The binary with no inherited configuration: its own HOME, cache and npm config.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_codex-runtime"));
        for var in [
            "CODEX_RUNTIME_MIRROR",
            "CODEX_RUNTIME_NPM_REGISTRY",
            "CODEX_RUNTIME_CACHE_DIR",
            "CODEX_RUNTIME_GITHUB_BASE_URL",
            "NETRC",
            "VIRTUAL_ENV",
            "PIP_EXTRA_INDEX_URL",
            "UV_EXTRA_INDEX_URL",
            "PIP_CERT",
            "NODE_EXTRA_CA_CERTS",
        ] {
            cmd.env_remove(var);
        }
        // npm's environment layer: every `npm_config_*`, in any case.
        for (var, _) in std::env::vars_os() {
            if var.to_str().is_some_and(|v| v.to_ascii_lowercase().starts_with("npm_config_")) {
                cmd.env_remove(var);
            }
        }
        cmd.env("HOME", self.dir.path()).env("XDG_CACHE_HOME", self.path("xdg-cache"));
        // Retries of failing test servers back off in milliseconds, not seconds.
        cmd.env("CODEX_RUNTIME_RETRY_BASE_MS", "10");
        cmd.arg("--cache-dir").arg(self.cache()).current_dir(self.dir.path());
        cmd
    }

    /// The binary in a project (a `package.json`, so npm's project config is its `.npmrc`),
    /// with no index, netrc or GitHub configuration of this machine.
    pub fn project_cmd(&self) -> Command {
        let project = self.path("project");
        std::fs::create_dir_all(&project).unwrap();
        std::fs::write(project.join("package.json"), "{}").unwrap();
        let mut cmd = self.cmd();
        for var in ["PIP_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX_URL", "CODEX_RUNTIME_PYPI_INDEX"] {
            cmd.env_remove(var);
        }
        cmd.env("PIP_CONFIG_FILE", "/dev/null")
            .env("npm_config_prefix", self.path("npm-global"))
            .env("CODEX_RUNTIME_GITHUB_BASE_URL", "http://127.0.0.1:9/unreachable")
            .current_dir(project);
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// Write a manifest and return its path as a string argument.
    pub fn manifest(&self, value: &Value) -> String {
        let path = self.path("manifest.json");
        std::fs::write(&path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
        path.to_str().unwrap().to_owned()
    }

    /// Every entry under the cache's `runtimes/` and `tmp/`, relative, sorted.
    pub fn cache_listing(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.cache(), &self.cache(), &mut out);
        out.sort();
        out
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        out.push(e.path().strip_prefix(root).unwrap().display().to_string());
        if e.file_type().unwrap().is_dir() {
            walk(root, &e.path(), out);
        }
    }
}

/// A fixture runtime with its artifacts and a manifest pinning them.
pub struct Fixture {
    pub runtime: FixtureRuntime,
    pub npm: Vec<u8>,
    pub wheel: Vec<u8>,
    pub manifest: Value,
}

impl Fixture {
    /// 0.163.0 for the host, whose entrypoint prints its version and answers the handshake
    /// through the fake app-server.
    pub fn answering_handshake() -> Fixture {
        let host = codex_runtime::Target::host().unwrap();
        let script = format!(
            "#!/bin/sh\nif [ \"$1\" = app-server ]; then exec '{}' \"$@\"; fi\necho 'codex-cli 0.163.0'\n",
            codex_runtime_test_support::app_server::fake_app_server_path().display()
        );
        let runtime = FixtureRuntime::new("0.163.0", "0.163.0", host.triple(), host.npm_suffix(), host.wheel_tag())
            .with_file(host.entrypoint(), script.as_bytes());
        Fixture::of(runtime, "stable")
    }

    pub fn stable() -> Fixture {
        Fixture::of(FixtureRuntime::linux_x64("0.163.0", "0.163.0"), "stable")
    }

    pub fn of(runtime: FixtureRuntime, channel: &str) -> Fixture {
        let npm = runtime.npm_tgz();
        let wheel = runtime.wheel();
        let target = runtime.manifest_target(&npm, &wheel);
        let manifest = fixture::manifest(channel, &runtime.version, &[(runtime.target.as_str(), target)]);
        Fixture { runtime, npm, wheel, manifest }
    }

    /// Serve both artifacts as a flat mirror under `/mirror/`.
    pub fn serve_mirror(&self, server: &TestServer) -> String {
        server.add(&format!("/mirror/{}", self.runtime.wheel_file_name()), self.wheel.clone());
        server.add(&format!("/mirror/{}", self.runtime.npm_file_name()), self.npm.clone());
        format!("{}/mirror", server.url())
    }

    /// Serve the npm tarball where a registry keeps it, and the package document that lists it
    /// (`/registry/@openai%2fcodex`, with this version only).
    pub fn serve_npm(&self, server: &TestServer) -> String {
        self.serve_npm_at(server, &server.url())
    }

    /// [`Fixture::serve_npm`] for clients that reach `server` at `base` (an HTTPS front).
    pub fn serve_npm_at(&self, server: &TestServer, base: &str) -> String {
        server.add(&self.npm_registry_path(), self.npm.clone());
        let version = format!("{}-{}", self.runtime.version, self.runtime.npm_suffix);
        let dist = serde_json::json!({
            "tarball": format!("{base}{}", self.npm_registry_path()),
            "integrity": fixture::integrity(&self.npm),
        });
        let packument = serde_json::json!({"name": "@openai/codex", "versions": {version: {"dist": dist}}});
        server.add(NPM_PACKUMENT, packument.to_string().into_bytes());
        format!("{base}/registry/")
    }

    pub fn npm_registry_path(&self) -> String {
        format!("/registry/@openai/codex/-/codex-{}-{}.tgz", self.runtime.version, self.runtime.npm_suffix)
    }
}

pub fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("stdout is not JSON ({e}): {}\nstderr: {}", text(&output.stdout), text(&output.stderr))
    })
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Assert the exit code, showing the output when it differs.
pub fn assert_code(output: &Output, code: i32) {
    assert_eq!(output.status.code(), Some(code), "stdout: {}\nstderr: {}", text(&output.stdout), text(&output.stderr));
}
