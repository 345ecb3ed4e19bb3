//! The README's recipes, run for real: Python (from the built wheel), Node (from the built npm
//! packages), a shell launcher, `env` evaluated by `sh`, and the GitHub Actions steps, each
//! against an installed fixture runtime.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use crate::packages::{packages, venv_with_wheel};
use crate::real_bundle::closed_port;
use codex_runtime_test_support::registries::skip_or_fail;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn recipe(name: &str) -> PathBuf {
    repo().join("docs/recipes").join(name)
}

/// A machine with `codex-runtime` on PATH and a fixture runtime for the host installed.
struct Machine {
    env: Env,
    fixture: Fixture,
    bin_dir: PathBuf,
}

impl Machine {
    fn new() -> Machine {
        let env = Env::new();
        let fixture = Fixture::answering_handshake();
        let manifest = env.manifest(&fixture.manifest);
        let npm = env.path(&fixture.runtime.npm_file_name());
        std::fs::write(&npm, &fixture.npm).unwrap();
        assert_code(&env.cmd().args(["import", "--manifest", &manifest]).arg(&npm).output().unwrap(), 0);
        let bin_dir = env.path("bin");
        std::fs::create_dir(&bin_dir).unwrap();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_codex-runtime"), bin_dir.join("codex-runtime")).unwrap();
        Machine { env, fixture, bin_dir }
    }

    fn runtime_dir(&self) -> PathBuf {
        self.env.cache().join("runtimes/0.163.0").join(&self.fixture.runtime.target)
    }

    /// A command as a user's shell would run it: codex-runtime on PATH, the cache and the
    /// fixture's manifest from the environment, offline so nothing could be fetched.
    fn cmd(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        let path = std::env::var_os("PATH").unwrap_or_default();
        let path =
            std::env::join_paths(std::iter::once(self.bin_dir.clone()).chain(std::env::split_paths(&path))).unwrap();
        cmd.env("PATH", path)
            .env("HOME", self.env.dir.path())
            .env("CODEX_RUNTIME_CACHE_DIR", self.env.cache())
            .env("CODEX_RUNTIME_MANIFEST", self.env.path("manifest.json"))
            .env_remove("CODEX_RUNTIME_MIRROR")
            .current_dir(self.env.dir.path());
        cmd
    }
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert_code(&out, 0);
    text(&out.stdout)
}

#[test]
fn the_readme_shows_every_recipe_verbatim() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    for name in ["codex_bin.py", "codex_bin.mjs", "launch.sh", "github-actions.yml"] {
        let body = std::fs::read_to_string(recipe(name)).unwrap();
        assert!(readme.contains(&body), "README.md does not show docs/recipes/{name} verbatim");
    }
}

#[test]
fn python_recipe_gets_codex_bin_from_the_wheel() {
    let Some(packages) = skip_or_fail(packages()) else { return };
    let m = Machine::new();
    let python = venv_with_wheel(&m.env, &packages.wheel);
    // Not the codex-runtime on PATH: the one the wheel installed.
    let out = run_ok(m.cmd(python.to_str().unwrap()).arg(recipe("codex_bin.py")).env("PATH", "/usr/bin:/bin"));
    assert_eq!(out.trim(), "codex-cli 0.163.0");
}

#[test]
fn node_recipe_gets_codex_bin_from_the_npm_package() {
    let Some(packages) = skip_or_fail(packages()) else { return };
    let m = Machine::new();
    // The recipe in a project that installed the package (a bare import resolves from the file).
    let project = m.env.path("app");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("package.json"), r#"{"name": "app", "version": "1.0.0", "private": true}"#).unwrap();
    std::fs::copy(recipe("codex_bin.mjs"), project.join("codex_bin.mjs")).unwrap();
    let userconfig = m.env.path("empty-npmrc");
    std::fs::write(&userconfig, "").unwrap();
    let registry = format!("http://127.0.0.1:{}/", closed_port());
    let mut install = m.cmd("npm");
    install.current_dir(&project).arg("--userconfig").arg(&userconfig).arg("--cache").arg(m.env.path("npm-cache"));
    install.args(["--registry", &registry, "--offline", "--no-audit", "--no-fund", "install"]);
    run_ok(install.arg(&packages.npm).arg(&packages.npm_platform));
    let out = run_ok(m.cmd("node").arg(project.join("codex_bin.mjs")).current_dir(&project));
    assert_eq!(out.trim(), "codex-cli 0.163.0");
}

#[test]
fn shell_launcher_runs_the_runtime_with_its_arguments() {
    let m = Machine::new();
    let out = run_ok(m.cmd("sh").arg(recipe("launch.sh")).arg("--version"));
    assert_eq!(out.trim(), "codex-cli 0.163.0");
}

#[test]
fn env_output_evaluated_by_sh_sets_codex_bin_and_path() {
    let m = Machine::new();
    let script = r#"eval "$(codex-runtime env)"; printf '%s\n' "$CODEX_BIN" "${PATH%%:*}"; command -v rg"#;
    let out = run_ok(m.cmd("sh").args(["-c", script]));
    let lines: Vec<&str> = out.lines().collect();
    let dir = m.runtime_dir();
    assert_eq!(
        lines,
        [
            dir.join("bin/codex").to_str().unwrap(),
            dir.join("codex-path").to_str().unwrap(),
            dir.join("codex-path/rg").to_str().unwrap()
        ]
    );

    let json: serde_json::Value =
        serde_json::from_str(&run_ok(m.cmd("codex-runtime").args(["env", "--json"]))).unwrap();
    assert_eq!(json["CODEX_BIN"], dir.join("bin/codex").to_str().unwrap());
    assert!(json["PATH"].as_str().unwrap().starts_with(dir.join("codex-path").to_str().unwrap()));
}

/// The `run:` scripts of a list of GitHub Actions steps.
fn run_scripts(yaml: &str) -> Vec<String> {
    let mut scripts = Vec::new();
    let mut lines = yaml.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(run) = line.trim_start().strip_prefix("run:") else { continue };
        if run.trim() != "|" {
            scripts.push(run.trim().to_owned());
            continue;
        }
        let indent = line.len() - line.trim_start().len() + 2;
        let mut block = String::new();
        while let Some(next) = lines.peek().filter(|l| l.len() > indent && l[..indent].trim().is_empty()) {
            block.push_str(&next[indent..]);
            block.push('\n');
            lines.next();
        }
        scripts.push(block);
    }
    scripts
}

#[test]
fn github_actions_steps_install_check_and_export_codex_bin() {
    let m = Machine::new();
    let yaml = std::fs::read_to_string(recipe("github-actions.yml")).unwrap();
    let scripts = run_scripts(&yaml);
    assert_eq!(scripts.len(), 2, "{scripts:?}");
    let (github_env, github_output) = (m.env.path("github_env"), m.env.path("github_output"));
    for script in scripts {
        let out = m
            .cmd("sh")
            .args(["-ec", &script])
            .env("GITHUB_ENV", &github_env)
            .env("GITHUB_OUTPUT", &github_output)
            .env("FAKE_APP_SERVER_VERSION", "0.163.0")
            .output()
            .unwrap();
        assert_code(&out, 0);
    }
    let output = std::fs::read_to_string(&github_output).unwrap();
    // Keyed by the pinned manifest, so new pins get a new cache.
    let shown = m.cmd("codex-runtime").args(["channel", "show", "stable"]).output().unwrap();
    let key = &codex_runtime_test_support::fixture::sha256_hex(&shown.stdout)[..16];
    assert_eq!(output.trim(), format!("key=codex-runtime-{key}"));
    let exported = std::fs::read_to_string(&github_env).unwrap();
    assert_eq!(exported.trim(), format!("CODEX_BIN={}", m.runtime_dir().join("bin/codex").display()));
}
