//! Snapshots of every command's whole output: the human text and the `--json` document, stdout
//! and stderr and the exit code, so that a change of wording is a reviewed diff
//! (`tests/e2e/snapshots/*.snap`; the README's "Set-up" says how to review and accept one).
//!
//! Each invocation runs the built binary with a cleared environment against fixture runtimes
//! and loopback servers. Filters replace what differs between runs and machines: the scratch
//! directory (`[TMP]`), random temporary names, loopback ports, timings and the tool's own
//! version. Nothing here reads the embedded history's moving heads: the manifests are fixtures
//! or pinned files copied into the scratch directory, so a `channel sync` changes no snapshot.

use std::path::Path;
use std::process::{Command, Output};

use codex_runtime_test_support::app_server::{
    BASE_PROTOCOL, MODE_ENV, NEWER_PROTOCOL, SCHEMA_ENV, VERSION_ENV, fake_app_server_path, fake_schema,
};
use codex_runtime_test_support::fixture::{self, FixtureRuntime, integrity, sha256_hex};
use codex_runtime_test_support::http::{Fault, TestServer};
use serde_json::{Value, json};

use crate::bundle::SixTargets;
use crate::common::*;

/// The variable the fake runtime's entrypoint finds the fake app-server by, so that the
/// fixture's bytes (and so its digests) do not depend on where the build puts its binaries.
const FAKE_ENV: &str = "SNAPSHOT_FAKE_APP_SERVER";

/// One test's scratch home, its extra filters, and how it runs and snapshots the binary.
struct Snap {
    env: Env,
    /// `(regex, replacement)`, applied after the literal ones and before the generic ones.
    filters: Vec<(String, String)>,
}

impl Snap {
    fn new() -> Snap {
        // Under /tmp whatever the caller's TMPDIR: the path's length is fixed (`/tmp/.tmpXXXXXX`),
        // so tables whose columns fit a path line up the same on every machine.
        let env = Env { dir: tempfile::Builder::new().tempdir_in("/tmp").unwrap() };
        for dir in ["tmp", "bin"] {
            std::fs::create_dir_all(env.path(dir)).unwrap();
        }
        Snap { env, filters: Vec::new() }
    }

    /// Replace every occurrence of `value` with `placeholder`.
    fn literal(&mut self, value: &str, placeholder: &str) {
        self.filters.push((escape(value), placeholder.to_owned()));
    }

    fn path(&self, name: &str) -> String {
        self.env.path(name).to_str().unwrap().to_owned()
    }

    fn write(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.env.path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_owned()
    }

    fn manifest(&self, value: &Value) -> String {
        self.env.manifest(value)
    }

    /// The binary with nothing inherited but what is set here: no proxies, registries, cache
    /// or version from the caller's environment, a fixed terminal width, and a `PATH` of one
    /// empty directory (no `python3` or `npm` of the machine's for the installed source to find).
    fn command(&self, envs: &[(&str, &str)], args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_codex-runtime"));
        cmd.env_clear()
            .env("PATH", self.env.path("bin"))
            .env("HOME", self.env.dir.path())
            .env("XDG_CACHE_HOME", self.env.path("xdg-cache"))
            .env("TMPDIR", self.env.path("tmp"))
            .env("COLUMNS", "100")
            .env("CODEX_RUNTIME_RETRY_BASE_MS", "10")
            .env("PIP_CONFIG_FILE", "/dev/null")
            .env("npm_config_userconfig", self.env.path("no-npmrc"))
            .env(FAKE_ENV, fake_app_server_path());
        cmd.envs(envs.iter().copied()).current_dir(self.env.dir.path());
        cmd.arg("--cache-dir").arg(self.env.cache()).args(args);
        cmd
    }

    /// Run without a snapshot (a step that sets the scene), asserting the exit code.
    fn setup(&self, args: &[&str], code: i32) -> Output {
        let out = self.command(&[], args).output().unwrap();
        assert_code(&out, code);
        out
    }

    /// Run, assert the exit code, and snapshot the whole output as `name`.
    fn run(&self, name: &str, args: &[&str], code: i32) -> Output {
        self.run_with(name, &[], args, code)
    }

    fn run_with(&self, name: &str, envs: &[(&str, &str)], args: &[&str], code: i32) -> Output {
        let out = self.command(envs, args).output().unwrap();
        assert_code(&out, code);
        let own = args.iter().position(|a| *a == "--").map_or(args, |end| &args[..end]);
        if own.contains(&"--json") && !out.stdout.is_empty() {
            // The contract: one JSON document on stdout and nothing else there.
            stdout_json(&out);
        }
        self.assert(name, &render(envs, args, &out));
        out
    }

    fn assert(&self, name: &str, body: &str) {
        let mut settings = insta::Settings::clone_current();
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        settings.set_snapshot_path("snapshots");
        for (regex, replacement) in self.all_filters() {
            settings.add_filter(&regex, replacement);
        }
        settings.bind(|| insta::assert_snapshot!(name, body));
    }

    fn all_filters(&self) -> Vec<(String, String)> {
        let mut filters = Vec::new();
        let mut literal = |value: &str, placeholder: &str| filters.push((escape(value), placeholder.to_owned()));
        // Longest first: the fake app-server lives under the build's target directory.
        literal(fake_app_server_path().to_str().unwrap(), "[FAKE_APP_SERVER]");
        literal(env!("CARGO_BIN_EXE_codex-runtime"), "[BIN]");
        let dir = self.env.dir.path();
        if let Ok(real) = dir.canonicalize()
            && real != dir
        {
            literal(real.to_str().unwrap(), "[TMP]");
        }
        literal(dir.to_str().unwrap(), "[TMP]");
        filters.extend(self.filters.iter().cloned());
        let version = escape(env!("CARGO_PKG_VERSION"));
        for (regex, replacement) in [
            // tempfile's random names (a fresh CODEX_HOME, scratch files in the cache).
            (r"\.tmp[A-Za-z0-9]{6}", ".tmp[RANDOM]"),
            (r"codex-runtime-check-[A-Za-z0-9]{6}", "codex-runtime-check-[RANDOM]"),
            (r"codex-runtime-schema-[A-Za-z0-9]{6}", "codex-runtime-schema-[RANDOM]"),
            (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
            (&format!(r"\bcodex-runtime([ /]){version}\b"), "codex-runtime$1[VERSION]"),
            // The client's own version, as the fake app-server echoes it in `userAgent`.
            (&format!(r"\(codex_runtime; {version}\)"), "(codex_runtime; [VERSION])"),
            (r#""elapsed_ms": \d+"#, r#""elapsed_ms": [ELAPSED]"#),
            (r"\b\d+(\.\d+)? ?(ms|s)\b", "[DURATION]"),
        ] {
            filters.push((regex.to_owned(), replacement.to_owned()));
        }
        filters
    }
}

/// The snapshot of one run: the command line, the exit code, stdout, stderr.
fn render(envs: &[(&str, &str)], args: &[&str], out: &Output) -> String {
    let mut line: Vec<String> = envs.iter().map(|(k, v)| format!("{k}={}", quote(v))).collect();
    line.push("codex-runtime".to_owned());
    line.extend(args.iter().map(|a| quote(a)));
    let code = out.status.code().map_or_else(|| "killed by a signal".to_owned(), |c| c.to_string());
    format!(
        "$ {}\nexit code: {code}\n----- stdout -----\n{}----- stderr -----\n{}",
        line.join(" "),
        stream(&out.stdout),
        stream(&out.stderr)
    )
}

fn stream(bytes: &[u8]) -> String {
    let mut s = text(bytes);
    if !s.is_empty() && !s.ends_with('\n') {
        s.push_str("\n[no newline at the end]\n");
    }
    s
}

fn quote(arg: &str) -> String {
    if !arg.is_empty() && arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=,@[]+".contains(c)) {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// A regex matching `s` literally.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if r"\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The stable fixture imported into the cache; returns the manifest's path.
fn imported(snap: &Snap, fixture: &Fixture) -> String {
    let manifest = snap.manifest(&fixture.manifest);
    let npm = snap.write(&fixture.runtime.npm_file_name(), &fixture.npm);
    snap.setup(&["import", "--manifest", &manifest, &npm], 0);
    manifest
}

/// An entrypoint that runs the fake app-server (found through [`FAKE_ENV`]).
fn fake_script() -> String {
    format!("#!/bin/sh\nexec \"${FAKE_ENV}\" \"$@\"\n")
}

/// A fixture whose entrypoint runs the fake app-server.
fn fake_runtime() -> Fixture {
    let runtime = FixtureRuntime::linux_x64("0.163.0", "0.163.0").with_file("bin/codex", fake_script().as_bytes());
    Fixture::of(runtime, "stable")
}

/// The six targets with distinct entrypoints (two targets sharing one is a pin defect), Linux
/// x64's being `linux` when given, and the manifest pinning them.
fn six_targets(linux: Option<&str>) -> SixTargets {
    six_targets_of("0.163.0", linux)
}

/// [`six_targets`] of another stable `version`.
fn six_targets_of(version: &str, linux: Option<&str>) -> SixTargets {
    let fixtures: Vec<Fixture> = crate::bundle::TARGETS
        .iter()
        .map(|&(triple, suffix, tag)| {
            let runtime = FixtureRuntime::new(version, version, triple, suffix, tag);
            let path = runtime.entrypoint().path.clone();
            let script = match linux {
                Some(script) if triple == LINUX => script.to_owned(),
                _ => format!("#!/bin/sh\necho \"codex-cli {version} ({triple})\"\n"),
            };
            Fixture::of(runtime.with_file(&path, script.as_bytes()), "stable")
        })
        .collect();
    let entries: Vec<(&str, Value)> =
        fixtures.iter().map(|f| (f.runtime.target.as_str(), f.runtime.manifest_target(&f.npm, &f.wheel))).collect();
    let manifest = fixture::manifest("stable", version, &entries);
    SixTargets { fixtures, manifest }
}

// ---------------------------------------------------------------------------------------------
// Help, version, completions

#[test]
fn help_of_every_command() {
    let snap = Snap::new();
    let commands: [&[&str]; 23] = [
        &[],
        &["install"],
        &["path"],
        &["import"],
        &["list"],
        &["check"],
        &["exec"],
        &["env"],
        &["completions"],
        &["verify-pins"],
        &["bundle"],
        &["channel"],
        &["channel", "show"],
        &["channel", "update"],
        &["channel", "sync"],
        &["cache"],
        &["cache", "verify"],
        &["cache", "prune"],
        &["cache", "clean"],
        &["protocol"],
        &["protocol", "schema"],
        &["protocol", "diff"],
        &["channel", "protocol"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let name = if command.is_empty() { "help".to_owned() } else { format!("help_{}", command.join("_")) };
        snap.run(&name, &args, 0);
    }
    snap.run("help_short", &["-h"], 0);
    snap.run("version", &["--version"], 0);
    snap.run("no_command", &[], 2);
}

#[test]
fn completions_for_every_shell() {
    let snap = Snap::new();
    for shell in ["bash", "elvish", "fish", "powershell", "zsh"] {
        snap.run(&format!("completions_{shell}"), &["completions", shell], 0);
    }
    snap.run("completions_unknown_shell", &["completions", "tcsh"], 2);
}

// ---------------------------------------------------------------------------------------------
// install, path, import, list, env, exec

#[test]
fn install_fresh_then_cached() {
    let fixture = Fixture::stable();
    let server = TestServer::start();
    let url = fixture.serve_mirror(&server);
    for json in [false, true] {
        let snap = Snap::new();
        let manifest = snap.manifest(&fixture.manifest);
        let mut args =
            vec!["install", "--manifest", &manifest, "--target", LINUX, "--source", "mirror", "--mirror", &url];
        let suffix = if json {
            args.push("--json");
            "_json"
        } else {
            ""
        };
        snap.run(&format!("install{suffix}"), &args, 0);
        snap.run(&format!("install_cached{suffix}"), &args, 0);
    }
}

#[test]
fn install_from_npm_after_a_failing_source() {
    let snap = Snap::new();
    let fixture = Fixture::stable();
    let server = TestServer::start();
    let registry = fixture.serve_npm(&server);
    let manifest = snap.manifest(&fixture.manifest);
    let empty = format!("{}/empty", server.url());
    let args = [
        "install",
        "--manifest",
        &manifest,
        "--target",
        LINUX,
        "--source",
        "mirror",
        "--source",
        "npm",
        "--mirror",
        &empty,
        "--npm-registry",
        &registry,
    ];
    snap.run("install_fallback", &args, 0);
    let snap = Snap::new();
    let manifest = snap.manifest(&fixture.manifest);
    let mut json = args.to_vec();
    json[2] = &manifest;
    json.push("--json");
    snap.run("install_fallback_json", &json, 0);
}

#[test]
fn path_installs_then_prints_the_path() {
    let fixture = Fixture::stable();
    let server = TestServer::start();
    let url = fixture.serve_mirror(&server);
    let snap = Snap::new();
    let manifest = snap.manifest(&fixture.manifest);
    let args = ["path", "--manifest", &manifest, "--target", LINUX, "--source", "mirror", "--mirror", &url];
    snap.run("path", &args, 0);
    snap.run("path_cached", &args, 0);
    let mut json = args.to_vec();
    json.push("--json");
    snap.run("path_cached_json", &json, 0);
    snap.run("path_no_install_installed", &["path", "--no-install", "--manifest", &manifest, "--target", LINUX], 0);
}

#[test]
fn version_requests_are_named_in_the_output() {
    let snap = Snap::new();
    let fixture = Fixture::stable();
    let manifest = imported(&snap, &fixture);
    let args = ["path", "--offline", "--manifest", &manifest, "--target", LINUX, "--version", "~=0.163.0"];
    snap.run("path_version_requirement", &args, 0);
    let mut json = args.to_vec();
    json.push("--json");
    snap.run("path_version_requirement_json", &json, 0);
    let pyproject = snap.write(
        "project/pyproject.toml",
        b"[project]\nname = \"app\"\ndependencies = [\n  \"openai-codex-cli-bin==0.163.0\",\n]\n",
    );
    let args =
        ["path", "--offline", "--manifest", &manifest, "--target", LINUX, "--version-from", &pyproject, "--json"];
    snap.run("path_version_from_json", &args, 0);
    snap.run_with(
        "path_version_env",
        &[("CODEX_RUNTIME_VERSION", "0.163")],
        &["path", "--offline", "--manifest", &manifest, "--target", LINUX],
        0,
    );
}

#[test]
fn import_verifies_and_installs_local_artifacts() {
    let fixture = Fixture::stable();
    for json in [false, true] {
        let snap = Snap::new();
        let manifest = snap.manifest(&fixture.manifest);
        let npm = snap.write(&fixture.runtime.npm_file_name(), &fixture.npm);
        let wheel = snap.write(&fixture.runtime.wheel_file_name(), &fixture.wheel);
        let mut args = vec!["import", "--manifest", &manifest, &npm, &wheel];
        let suffix = if json {
            args.push("--json");
            "_json"
        } else {
            ""
        };
        snap.run(&format!("import{suffix}"), &args, 0);
        let stray = snap.write("codex.tgz", b"x");
        let mut unknown = vec!["import", "--manifest", &manifest, &stray];
        if json {
            unknown.push("--json");
        }
        snap.run(&format!("import_unknown_file{suffix}"), &unknown, 2);

        let mut bad = fixture.wheel.clone();
        bad.truncate(bad.len() - 10);
        let tampered = snap.write(&format!("tampered/{}", fixture.runtime.wheel_file_name()), &bad);
        let mut damaged = vec!["import", "--manifest", &manifest, &tampered];
        if json {
            damaged.push("--json");
        }
        // With the runtime installed, an import answers from the cache without reading the file.
        snap.run(&format!("import_tampered_when_installed{suffix}"), &damaged, 0);
        // Into an empty cache, the file is verified.
        let snap = Snap::new();
        let manifest = snap.manifest(&fixture.manifest);
        let tampered = snap.write(&fixture.runtime.wheel_file_name(), &bad);
        let mut damaged = vec!["import", "--manifest", &manifest, &tampered];
        if json {
            damaged.push("--json");
        }
        snap.run(&format!("import_tampered{suffix}"), &damaged, 4);
    }
}

#[test]
fn list_empty_installed_and_available() {
    let snap = Snap::new();
    let fixture = Fixture::stable();
    snap.run("list_empty", &["list"], 0);
    snap.run("list_empty_json", &["list", "--json"], 0);
    let manifest = imported(&snap, &fixture);
    snap.run("list", &["list", "--manifest", &manifest], 0);
    snap.run("list_json", &["list", "--manifest", &manifest, "--json"], 0);
    // The fixture manifest pins 0.163.0 for one target.
    snap.run("list_available", &["list", "--available", "--manifest", &manifest], 0);
    snap.run("list_available_json", &["list", "--available", "--manifest", &manifest, "--json"], 0);
}

#[test]
fn env_for_every_shell_and_as_json() {
    let snap = Snap::new();
    let fixture = Fixture::stable();
    let manifest = imported(&snap, &fixture);
    let args = ["env", "--offline", "--manifest", &manifest, "--target", LINUX];
    for shell in ["sh", "fish", "powershell"] {
        let mut with = args.to_vec();
        with.extend(["--shell", shell]);
        snap.run(&format!("env_{shell}"), &with, 0);
    }
    let mut json = args.to_vec();
    json.push("--json");
    snap.run("env_json", &json, 0);
}

#[test]
fn exec_passes_output_and_exit_status_through() {
    let snap = Snap::new();
    let script = "#!/bin/sh\necho \"args=$*\"\necho \"path=$PATH\"\necho 'to stderr' >&2\nexit 7\n";
    let fixture = Fixture::of(
        FixtureRuntime::linux_x64("0.163.0", "0.163.0").with_file("bin/codex", script.as_bytes()),
        "stable",
    );
    let manifest = imported(&snap, &fixture);
    snap.run(
        "exec",
        &["exec", "--offline", "--manifest", &manifest, "--target", LINUX, "--", "exec", "--json", "hi there"],
        7,
    );
    snap.run("exec_not_installed", &["exec", "--offline", "--target", LINUX, "--version", "0.163.0", "--", "x"], 3);
}

// ---------------------------------------------------------------------------------------------
// check and install --check

#[test]
fn check_ok_and_incompatible() {
    let snap = Snap::new();
    let manifest = snap.manifest(&Fixture::stable().manifest);
    let fake = fake_app_server_path();
    let fake = fake.to_str().unwrap();
    let args = ["check", "--manifest", &manifest, "--target", LINUX, "--codex-bin", fake];
    let well = [(MODE_ENV, "well-behaved"), (VERSION_ENV, "0.163.0")];
    snap.run_with("check", &well, &args, 0);
    let mut json = args.to_vec();
    json.push("--json");
    snap.run_with("check_json", &well, &json, 0);

    let wrong = [(MODE_ENV, "well-behaved"), (VERSION_ENV, "0.160.0")];
    snap.run_with("check_wrong_version", &wrong, &args, 6);
    snap.run_with("check_wrong_version_json", &wrong, &json, 6);
    let old = [(MODE_ENV, "old-shape")];
    snap.run_with("check_old_shape", &old, &args, 6);
    let hang = [(MODE_ENV, "hang")];
    let mut timeout = args.to_vec();
    timeout.extend(["--timeout", "1"]);
    snap.run_with("check_timeout", &hang, &timeout, 6);
    let linger = [(MODE_ENV, "ignore-stdin-close"), (VERSION_ENV, "0.163.0")];
    snap.run_with("check_linger", &linger, &args, 0);
    snap.run_with("check_linger_json", &linger, &json, 0);
    let newer = manifest_with_protocol(&snap);
    let speaks = [(MODE_ENV, "well-behaved"), (VERSION_ENV, "0.163.0"), (SCHEMA_ENV, NEWER_PROTOCOL)];
    let pinned = ["check", "--manifest", &newer[0], "--target", LINUX, "--codex-bin", fake];
    snap.run_with("check_protocol_mismatch", &speaks, &pinned, 6);

    let mut require = args.to_vec();
    require.extend(["--require", ">=0.163, <0.164"]);
    snap.run_with("check_require", &[(MODE_ENV, "well-behaved"), (VERSION_ENV, "0.163.2")], &require, 0);
    snap.run("check_not_installed", &["check", "--manifest", &manifest, "--target", LINUX, "--offline"], 3);
}

/// The stable fixture's manifest with the fake's base protocol pinned; its path, alone.
fn manifest_with_protocol(snap: &Snap) -> Vec<String> {
    let mut manifest = Fixture::stable().manifest;
    let digest = codex_app_server_client::protocol::Schema::from_files(fake_schema(BASE_PROTOCOL, false)).digest();
    manifest["protocol"] = json!({"sha256": digest, "client_requests": 2, "server_requests": 1, "notifications": 1});
    vec![snap.manifest(&manifest)]
}

#[test]
fn protocol_diff_human_and_json() {
    let snap = Snap::new();
    let fake = fake_app_server_path();
    let fake = fake.to_str().unwrap();
    let base = snap.env.path("base").to_str().unwrap().to_owned();
    let newer = snap.env.path("newer").to_str().unwrap().to_owned();
    snap.run_with(
        "protocol_schema",
        &[(SCHEMA_ENV, BASE_PROTOCOL)],
        &["protocol", "schema", "--codex-bin", fake, "--out", &base],
        0,
    );
    snap.run_with(
        "protocol_schema_json",
        &[(SCHEMA_ENV, NEWER_PROTOCOL)],
        &["protocol", "schema", "--json", "--codex-bin", fake, "--out", &newer],
        0,
    );
    snap.run("protocol_diff", &["protocol", "diff", &base, &newer], 6);
    snap.run("protocol_diff_json", &["protocol", "diff", "--json", &base, &newer], 6);
    snap.run("protocol_diff_reverse", &["protocol", "diff", &newer, &base], 6);
    snap.run("protocol_diff_same", &["protocol", "diff", &base, fake], 0);
}

#[test]
fn install_check_runs_the_handshake() {
    let snap = Snap::new();
    let fixture = fake_runtime();
    let manifest = imported(&snap, &fixture);
    let args = ["install", "--check", "--offline", "--manifest", &manifest, "--target", LINUX];
    let well = [(MODE_ENV, "well-behaved"), (VERSION_ENV, "0.163.0")];
    snap.run_with("install_check", &well, &args, 0);
    let mut json = args.to_vec();
    json.push("--json");
    snap.run_with("install_check_json", &well, &json, 0);
    let wrong = [(MODE_ENV, "wrong-version")];
    snap.run_with("install_check_incompatible", &wrong, &args, 6);
    snap.run_with("install_check_incompatible_json", &wrong, &json, 6);
}

// ---------------------------------------------------------------------------------------------
// The main errors

#[test]
fn usage_errors() {
    let snap = Snap::new();
    snap.run("error_unknown_target", &["path", "--target", "x86_64-unknown-linux-gnu"], 2);
    snap.run("error_unknown_target_json", &["path", "--target", "x86_64-unknown-linux-gnu", "--json"], 2);
    snap.run("error_unknown_channel", &["path", "--channel", "nightly"], 2);
    snap.run("error_unknown_flag", &["install", "--frobnicate"], 2);
    snap.run("error_unknown_flag_json", &["install", "--frobnicate", "--json"], 2);
    snap.run("error_unknown_command", &["frobnicate"], 2);
    snap.run("error_bad_requirement", &["path", "--offline", "--version", ">>0.1"], 2);
}

#[test]
fn a_version_not_pinned() {
    let mut snap = Snap::new();
    // The embedded history grows with every `channel sync`: what it pins is filtered.
    snap.filters.push((
        r"it pins \d+ versions: [0-9.]+ to [0-9.]+, and the pre-release [0-9A-Za-z.-]+\)".to_owned(),
        "it pins [N] versions: [OLDEST] to [NEWEST], and the pre-release [ALPHA])".to_owned(),
    ));
    snap.run("error_version_not_pinned", &["path", "--offline", "--version", "0.2.0"], 2);
    snap.run("error_version_not_pinned_json", &["path", "--offline", "--version", "0.2.0", "--json"], 2);
    snap.run("error_no_version_matches", &["path", "--offline", "--version", ">=9.0"], 2);
    let manifest = snap.manifest(&Fixture::stable().manifest);
    snap.run(
        "error_version_not_in_manifest",
        &["path", "--offline", "--manifest", &manifest, "--target", LINUX, "--version", "0.2.0"],
        2,
    );
    snap.run(
        "error_target_not_pinned",
        &["path", "--offline", "--manifest", &manifest, "--target", "aarch64-apple-darwin"],
        2,
    );
}

#[test]
fn no_source_could_provide_the_artifact() {
    let snap = Snap::new();
    let fixture = Fixture::stable();
    let server = TestServer::start();
    let registry = fixture.serve_npm(&server);
    server.fault(&fixture.npm_registry_path(), Fault::Status(503));
    let manifest = snap.manifest(&fixture.manifest);
    let empty = format!("{}/empty", server.url());
    let args = [
        "install",
        "--manifest",
        &manifest,
        "--target",
        LINUX,
        "--source",
        "mirror",
        "--source",
        "npm",
        "--mirror",
        &empty,
        "--npm-registry",
        &registry,
    ];
    let retries = [("CODEX_RUNTIME_RETRIES", "1")];
    snap.run_with("error_no_source", &retries, &args, 5);
    let mut json = args.to_vec();
    json.push("--json");
    snap.run_with("error_no_source_json", &retries, &json, 5);
    // Credentials in a mirror URL are redacted.
    let secret = server.url().replace("http://", "http://user:hunter2@") + "/nothing";
    let args = ["install", "--manifest", &manifest, "--target", LINUX, "--source", "mirror", "--mirror", &secret];
    let out = snap.run("error_no_source_redacted", &args, 5);
    assert!(!text(&out.stderr).contains("hunter2"));
}

#[test]
fn a_verification_failure() {
    let snap = Snap::new();
    let fixture = Fixture::stable();
    let server = TestServer::start();
    let url = fixture.serve_mirror(&server);
    let mut tampered = fixture.wheel.clone();
    let n = tampered.len();
    tampered[n / 2] ^= 0xff;
    server.add(&format!("/mirror/{}", fixture.runtime.wheel_file_name()), tampered.clone());
    let mut bad_npm = fixture.npm.clone();
    bad_npm[100] ^= 0x01;
    server.add(&format!("/mirror/{}", fixture.runtime.npm_file_name()), bad_npm.clone());
    // The digests of the served bytes, named in the message, are the fixture's: stable.
    let manifest = snap.manifest(&fixture.manifest);
    let args = ["install", "--manifest", &manifest, "--target", LINUX, "--source", "mirror", "--mirror", &url];
    snap.run("error_verification", &args, 4);
    let mut json = args.to_vec();
    json.push("--json");
    snap.run("error_verification_json", &json, 4);
}

#[test]
fn not_installed_offline() {
    let snap = Snap::new();
    let manifest = snap.manifest(&Fixture::stable().manifest);
    let args = ["install", "--offline", "--manifest", &manifest, "--target", LINUX];
    snap.run("error_offline", &args, 3);
    let mut json = args.to_vec();
    json.push("--json");
    snap.run("error_offline_json", &json, 3);
    let args = ["path", "--no-install", "--manifest", &manifest, "--target", LINUX];
    snap.run("error_no_install", &args, 3);
    let mut json = args.to_vec();
    json.push("--json");
    snap.run("error_no_install_json", &json, 3);
}

#[test]
fn a_broken_manifest() {
    let snap = Snap::new();
    let mut manifest = Fixture::stable().manifest;
    manifest["targets"][LINUX]["entrypoint"]["sha256"] = "nothex".into();
    let path = snap.manifest(&manifest);
    snap.run("error_broken_manifest", &["path", "--manifest", &path, "--target", LINUX], 1);
    snap.run("error_broken_manifest_json", &["path", "--manifest", &path, "--target", LINUX, "--json"], 1);
    let missing = snap.path("missing.json");
    snap.run("error_missing_manifest", &["path", "--manifest", &missing, "--target", LINUX], 1);
}

// ---------------------------------------------------------------------------------------------
// bundle

#[test]
fn bundle_one_target_in_every_format() {
    let fixture = Fixture::stable();
    let server = TestServer::start();
    let url = fixture.serve_mirror(&server);
    for json in [false, true] {
        let snap = Snap::new();
        let manifest = snap.manifest(&fixture.manifest);
        let out = snap.path("dist");
        let mut args = vec![
            "bundle",
            "--manifest",
            &manifest,
            "--target",
            LINUX,
            "--format",
            "dir,wheel,npm",
            "--out",
            &out,
            "--source",
            "mirror",
            "--mirror",
            &url,
            "--jobs",
            "1",
        ];
        let suffix = if json {
            args.push("--json");
            "_json"
        } else {
            ""
        };
        snap.run(&format!("bundle{suffix}"), &args, 0);
        if !json {
            // What it wrote beside the artifacts.
            let sums = std::fs::read_to_string(Path::new(&out).join("SHA256SUMS")).unwrap();
            let description = std::fs::read_to_string(Path::new(&out).join("bundle.json")).unwrap();
            // bundle.json names the mirror's URL, whose port differs run to run: so does its digest.
            let mut snap = snap;
            snap.literal(&sha256_hex(description.as_bytes()), "[BUNDLE_JSON_SHA256]");
            snap.assert(
                "bundle_files",
                &format!("----- SHA256SUMS -----\n{sums}----- bundle.json -----\n{description}"),
            );
        }
    }
}

#[test]
fn bundle_errors() {
    let snap = Snap::new();
    let six = six_targets(None);
    let server = TestServer::start();
    for f in six.fixtures.iter().filter(|f| f.runtime.target != "aarch64-apple-darwin") {
        f.serve_mirror(&server);
    }
    let url = format!("{}/mirror", server.url());
    let manifest = snap.manifest(&six.manifest);
    let out = snap.path("dist");
    let args = [
        "bundle",
        "--manifest",
        &manifest,
        "--all-platforms",
        "--format",
        "wheel",
        "--out",
        &out,
        "--source",
        "mirror",
        "--mirror",
        &url,
        "--jobs",
        "1",
    ];
    snap.run_with("bundle_missing_target", &[("CODEX_RUNTIME_RETRIES", "0")], &args, 5);
    let mut json = args.to_vec();
    json.push("--json");
    snap.run_with("bundle_missing_target_json", &[("CODEX_RUNTIME_RETRIES", "0")], &json, 5);

    snap.write("dist/notes.txt", b"mine");
    let args = ["bundle", "--manifest", &manifest, "--target", LINUX, "--out", &out, "--offline"];
    snap.run("bundle_out_not_empty", &args, 2);
}

// ---------------------------------------------------------------------------------------------
// cache verify, prune, clean

#[test]
fn cache_verify_sound_damaged_and_repaired() {
    let snap = Snap::new();
    let fixture = Fixture::stable();
    let server = TestServer::start();
    let url = fixture.serve_mirror(&server);
    let manifest = snap.manifest(&fixture.manifest);
    let sources = ["--manifest", &manifest, "--source", "mirror", "--mirror", &url];
    snap.run("cache_verify_empty", &["cache", "verify"], 0);
    snap.run("cache_verify_empty_json", &["cache", "verify", "--json"], 0);
    snap.setup(&[&["install", "--target", LINUX][..], &sources].concat(), 0);
    // Verified against the fixture's pins, not the embedded ones.
    let pins = ["--manifest", manifest.as_str()];
    fn verify<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        [&["cache", "verify"][..], extra].concat()
    }
    snap.run("cache_verify", &verify(&pins), 0);
    snap.run("cache_verify_json", &verify(&[&pins[..], &["--json"]].concat()), 0);

    let dir = snap.env.cache().join("runtimes/0.163.0").join(LINUX);
    let mut flipped = fixture.runtime.entrypoint().contents.clone();
    flipped[0] ^= 1;
    std::fs::write(dir.join("bin/codex"), &flipped).unwrap();
    std::fs::write(dir.join("codex-path/rg"), b"#!/bin/sh\necho something else entirely\n").unwrap();
    std::fs::remove_file(dir.join("codex-resources/bwrap")).unwrap();
    std::fs::write(dir.join("codex-path/planted"), b"x").unwrap();
    snap.run("cache_verify_damaged", &verify(&pins), 4);
    snap.run("cache_verify_damaged_json", &verify(&[&pins[..], &["--json"]].concat()), 4);
    snap.run("cache_verify_repair_offline", &verify(&[&pins[..], &["--repair", "--offline"]].concat()), 4);
    snap.run("cache_verify_repair", &verify(&[&["--repair"][..], &sources].concat()), 0);
    std::fs::write(dir.join("codex-path/planted"), b"x").unwrap();
    snap.run("cache_verify_repair_extra_json", &verify(&[&pins[..], &["--repair", "--offline", "--json"]].concat()), 0);
    std::fs::write(dir.join("bin/codex"), &flipped).unwrap();
    snap.run("cache_verify_repair_json", &verify(&[&["--repair", "--json"][..], &sources].concat()), 0);
}

#[test]
fn cache_prune_and_clean() {
    let snap = Snap::new();
    let fixture = Fixture::stable();
    let manifest = imported(&snap, &fixture);
    let downloads = snap.env.cache().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let stray = downloads.join(format!("{}.part", sha256_hex(b"not pinned")));
    std::fs::write(&stray, b"half a download").unwrap();
    let leftover = snap.env.cache().join("tmp/install-interrupted");
    std::fs::create_dir_all(&leftover).unwrap();
    std::fs::write(leftover.join("tree"), b"partial").unwrap();

    snap.run("cache_prune", &["cache", "prune", "--manifest", &manifest], 0);
    snap.run("cache_prune_nothing_json", &["cache", "prune", "--manifest", &manifest, "--json"], 0);
    snap.run(
        "cache_prune_older_than_json",
        &["cache", "prune", "--manifest", &manifest, "--older-than", "0", "--json"],
        0,
    );
    // Under a manifest of another version, the installed runtime is no longer pinned.
    let other = Fixture::of(FixtureRuntime::linux_x64("0.164.0", "0.164.0"), "stable");
    let other = snap.write("other.json", other.manifest.to_string().as_bytes());
    snap.run("cache_prune_unpinned", &["cache", "prune", "--manifest", &other], 0);

    imported(&snap, &fixture);
    snap.run("cache_clean", &["cache", "clean"], 0);
    imported(&snap, &fixture);
    snap.run("cache_clean_json", &["cache", "clean", "--json"], 0);
    snap.run("cache_clean_empty", &["cache", "clean"], 0);
    snap.run("cache_clean_empty_json", &["cache", "clean", "--json"], 0);

    let not_a_cache = Snap::new();
    not_a_cache.write("cache/docs/d", b"keep me");
    not_a_cache.run("cache_clean_not_a_cache", &["cache", "clean"], 2);
    not_a_cache.run("cache_clean_not_a_cache_json", &["cache", "clean", "--json"], 2);
}

// ---------------------------------------------------------------------------------------------
// channel show, update, sync

#[test]
fn channel_show() {
    let snap = Snap::new();
    let manifest = snap.manifest(&Fixture::stable().manifest);
    snap.run("channel_show", &["channel", "show", "stable", "--manifest", &manifest], 0);
    snap.run("channel_show_json", &["channel", "show", "stable", "--manifest", &manifest, "--json"], 0);
    snap.run("channel_show_other_channel", &["channel", "show", "alpha", "--manifest", &manifest], 2);
}

/// The six fixtures as a registry (`/registry/`), an index (`/simple/`) and a GitHub release
/// (`/github/`), without the wheel of Windows on Arm.
fn serve_release(server: &TestServer, six: &SixTargets) {
    let mut versions = serde_json::Map::new();
    let mut files = Vec::new();
    for f in &six.fixtures {
        let r = &f.runtime;
        f.serve_npm(server);
        versions.insert(
            format!("0.163.0-{}", r.npm_suffix),
            json!({"name": "@openai/codex", "dist": {
                "tarball": format!("{}{}", server.url(), f.npm_registry_path()),
                "integrity": integrity(&f.npm),
            }}),
        );
        if r.target != "aarch64-pc-windows-msvc" {
            server.add(&format!("/files/{}", r.wheel_file_name()), f.wheel.clone());
            files.push(json!({
                "filename": r.wheel_file_name(),
                "url": format!("../../files/{}", r.wheel_file_name()),
                "hashes": {"sha256": sha256_hex(&f.wheel)},
            }));
        }
        server.add(&format!("/github/rust-v0.163.0/{}", r.github_asset_name()), r.github_tgz());
    }
    versions.insert("0.163.0".into(), json!({"dist": {}}));
    let packument = json!({"name": "@openai/codex", "versions": versions});
    server.add("/registry/@openai%2fcodex", packument.to_string().into_bytes());
    let page = json!({"meta": {"api-version": "1.1"}, "name": "openai-codex-cli-bin", "files": files});
    server.add("/simple/openai-codex-cli-bin/", page.to_string().into_bytes());
}

#[test]
fn channel_update_from_loopback_registries() {
    let six = six_targets(None);
    let server = TestServer::start();
    serve_release(&server, &six);
    let registry = format!("{}/registry/", server.url());
    let index = format!("{}/simple/", server.url());
    let github = format!("{}/github", server.url());
    let env = [("CODEX_RUNTIME_GITHUB_BASE_URL", github.as_str())];
    for json in [false, true] {
        let snap = Snap::new();
        let out = snap.path("stable.json");
        let mut args = vec![
            "channel",
            "update",
            "stable",
            "--version",
            "0.163.0",
            "--npm-registry",
            &registry,
            "--pypi-index",
            &index,
            "--jobs",
            "1",
            "--out",
            &out,
        ];
        let suffix = if json {
            args.push("--json");
            "_json"
        } else {
            ""
        };
        snap.run_with(&format!("channel_update{suffix}"), &env, &args, 0);
    }
    let snap = Snap::new();
    let args = [
        "channel",
        "update",
        "stable",
        "--version",
        "0.164.0",
        "--npm-registry",
        &registry,
        "--pypi-index",
        &index,
        "--no-github",
        "--jobs",
        "1",
    ];
    snap.run_with("channel_update_unpublished", &env, &args, 5);
}

/// A registry and index publishing 0.164.0 (npm and wheels) and 0.165.0-alpha.1 (npm) for
/// Linux x64.
fn serve_history(server: &TestServer) {
    let mut versions = serde_json::Map::new();
    let mut files = Vec::new();
    for (version, pep440, wheels) in [("0.164.0", "0.164.0", true), ("0.165.0-alpha.1", "0.165.0a1", false)] {
        let runtime = FixtureRuntime::linux_x64(version, pep440);
        let npm = runtime.npm_tgz();
        let path = format!("/registry/@openai/codex/-/codex-{version}-linux-x64.tgz");
        versions.insert(
            format!("{version}-linux-x64"),
            json!({"dist": {"tarball": format!("{}{path}", server.url()), "integrity": integrity(&npm)}}),
        );
        versions.insert(version.to_owned(), json!({"dist": {}}));
        server.add(&path, npm);
        if wheels {
            let wheel = runtime.wheel();
            let file = runtime.wheel_file_name();
            files.push(json!({"filename": file, "url": format!("../../files/{file}"), "hashes": {"sha256": sha256_hex(&wheel)}}));
            server.add(&format!("/files/{file}"), wheel);
        }
    }
    let packument = json!({"name": "@openai/codex", "versions": versions});
    server.add("/registry/@openai%2fcodex", packument.to_string().into_bytes());
    let page = json!({"meta": {"api-version": "1.1"}, "name": "openai-codex-cli-bin", "files": files});
    server.add("/simple/openai-codex-cli-bin/", page.to_string().into_bytes());
}

#[test]
fn channel_sync_from_loopback_registries() {
    let server = TestServer::start();
    serve_history(&server);
    let registry = format!("{}/registry/", server.url());
    let index = format!("{}/simple/", server.url());
    for json in [false, true] {
        let snap = Snap::new();
        let dir = snap.path("channels");
        let mut args = vec![
            "channel",
            "sync",
            "--dir",
            &dir,
            "--no-github",
            "--since",
            "0.160.0",
            "--npm-registry",
            &registry,
            "--pypi-index",
            &index,
            "--jobs",
            "1",
        ];
        let suffix = if json {
            args.push("--json");
            "_json"
        } else {
            ""
        };
        let mut dry = args.clone();
        dry.push("--dry-run");
        snap.run(&format!("channel_sync_dry_run{suffix}"), &dry, 0);
        snap.run(&format!("channel_sync{suffix}"), &args, 0);
        snap.run(&format!("channel_sync_nothing_new{suffix}"), &args, 0);
    }
}

// ---------------------------------------------------------------------------------------------
// verify-pins

const PYPROJECT: &str =
    "[project]\nname = \"codex-sdk\"\ndependencies = [\n  \"httpx>=0.27\",\n  \"openai-codex-cli-bin==0.163.0\",\n]\n";

/// The pinned 0.163.0 and 0.162.0-alpha.15 manifests, copied into the scratch directory.
fn pinned_manifests(snap: &Snap) -> [String; 4] {
    let stable = snap.write("stable.json", include_bytes!("../../channels/versions/0.163.0.json"));
    let alpha = snap.write("alpha.json", include_bytes!("../../channels/versions/0.162.0-alpha.15.json"));
    ["--manifest".into(), stable, "--manifest".into(), alpha]
}

#[test]
fn verify_pins_offline() {
    let snap = Snap::new();
    let pinned = pinned_manifests(&snap);
    let pinned: Vec<&str> = pinned.iter().map(String::as_str).collect();
    let pyproject = snap.write("sdk/pyproject.toml", PYPROJECT.as_bytes());
    let mut args = pinned.clone();
    args.extend(["verify-pins", "--pyproject", &pyproject]);
    snap.run("verify_pins", &args, 0);
    let mut json = args.clone();
    json.push("--json");
    snap.run("verify_pins_json", &json, 0);

    let drifted = snap.write("drift/pyproject.toml", PYPROJECT.replace("0.163.0", "0.160.0").as_bytes());
    let mut args = pinned.clone();
    args.extend(["verify-pins", "--pyproject", &drifted]);
    snap.run("verify_pins_drift", &args, 7);
    let mut annotations = args.clone();
    annotations.push("--github-annotations");
    snap.run("verify_pins_drift_annotations", &annotations, 7);
    let mut json = args.clone();
    json.push("--json");
    snap.run("verify_pins_drift_json", &json, 7);

    let broken = snap.write("broken.json", b"{\n  \"schema_version\": 1,\n  \"channel\": \"stable\"\n");
    snap.run("verify_pins_broken_manifest", &["verify-pins", "--manifest", &broken], 7);
}

/// A pin file behind the head: offline with neither runtime cached (a note), then with both
/// cached (the protocol diff as a warning; drift with --deny-protocol-drift).
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
#[test]
fn verify_pins_protocol_before_a_bump() {
    let snap = Snap::new();
    let newer = format!("#!/bin/sh\n{SCHEMA_ENV}={NEWER_PROTOCOL} exec \"${FAKE_ENV}\" \"$@\"\n");
    let sides = [("0.163.0", fake_script()), ("0.171.0", newer)];
    let mut args: Vec<String> = Vec::new();
    let mut imports = Vec::new();
    for (version, script) in &sides {
        let six = six_targets_of(version, Some(script));
        let manifest = snap.write(&format!("{version}.json"), &serde_json::to_vec_pretty(&six.manifest).unwrap());
        let fixture = six.fixture(LINUX);
        let npm = snap.write(&fixture.runtime.npm_file_name(), &fixture.npm);
        imports.push(["import".to_owned(), "--manifest".to_owned(), manifest.clone(), npm]);
        args.extend(["--manifest".to_owned(), manifest]);
    }
    let pyproject = snap.write("sdk/pyproject.toml", PYPROJECT.as_bytes());
    args.extend(["verify-pins".to_owned(), "--pyproject".to_owned(), pyproject]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    snap.run("verify_pins_protocol_not_cached", &args, 7);
    for import in &imports {
        snap.setup(&import.iter().map(String::as_str).collect::<Vec<_>>(), 0);
    }
    snap.run("verify_pins_protocol", &args, 7);
    snap.run("verify_pins_protocol_json", &[&args[..], &["--json"]].concat(), 7);
    snap.run(
        "verify_pins_protocol_denied",
        &[&args[..], &["--deny-protocol-drift", "--github-annotations"]].concat(),
        7,
    );
}

/// A registry with a document per platform version and a PEP 503 index, as `verify-pins
/// --online` reads them.
fn serve_pins(server: &TestServer, six: &SixTargets) {
    let mut page = String::from("<!DOCTYPE html><html><body>\n");
    for f in &six.fixtures {
        let r = &f.runtime;
        let version = format!("{}-{}", r.version, r.npm_suffix);
        let doc = json!({
            "name": "@openai/codex", "version": version,
            "dist": {"integrity": integrity(&f.npm), "tarball": format!("{}{}", server.url(), f.npm_registry_path())},
        });
        server.add(&format!("/registry/@openai%2fcodex/{version}"), doc.to_string().into_bytes());
        f.serve_npm(server);
        let name = r.wheel_file_name();
        server.add(&format!("/files/{name}"), f.wheel.clone());
        page.push_str(&format!("<a href=\"../../files/{name}#sha256={}\">{name}</a><br/>\n", sha256_hex(&f.wheel)));
    }
    server.add("/simple/openai-codex-cli-bin/", (page + "</body></html>\n").into_bytes());
    let packument = json!({"name": "@openai/codex", "versions": {"0.163.0": {"dist": {}}, "0.164.0": {"dist": {}}}});
    server.add("/registry/@openai%2fcodex", packument.to_string().into_bytes());
}

#[test]
fn verify_pins_online_against_loopback_registries() {
    let six = six_targets(None);
    let server = TestServer::start();
    serve_pins(&server, &six);
    let registry = format!("{}/registry/", server.url());
    let index = format!("{}/simple/", server.url());
    let snap = Snap::new();
    let manifest = snap.manifest(&six.manifest);
    let args =
        ["verify-pins", "--online", "--manifest", &manifest, "--npm-registry", &registry, "--pypi-index", &index];
    let retries = [("CODEX_RUNTIME_RETRIES", "0")];
    snap.run_with("verify_pins_online", &retries, &args, 0);
    let mut json = args.to_vec();
    json.push("--json");
    snap.run_with("verify_pins_online_json", &retries, &json, 0);
    let mut rehash = args.to_vec();
    rehash.extend(["--rehash", "--target", LINUX]);
    snap.run_with("verify_pins_online_rehash", &retries, &rehash, 0);
    let mut latest = args.to_vec();
    latest.push("--require-latest");
    snap.run_with("verify_pins_online_require_latest", &retries, &latest, 7);

    // The registry serves other bytes than the pins: drift, and with --rehash a digest failure.
    let linux = six.fixture(LINUX);
    server.add(&linux.npm_registry_path(), b"not the tarball".to_vec());
    let mut json = rehash.clone();
    json.push("--json");
    snap.run_with("verify_pins_online_rehash_bad_bytes_json", &retries, &json, 4);
}

#[test]
fn verify_pins_launch() {
    let snap = Snap::new();
    let six = six_targets(Some(&fake_script()));
    let manifest = snap.manifest(&six.manifest);
    let linux = six.fixture(LINUX);
    let mirror = snap.write(&format!("mirror/{}", linux.runtime.npm_file_name()), &linux.npm);
    let mirror = Path::new(&mirror).parent().unwrap().to_str().unwrap().to_owned();
    let args = ["verify-pins", "--launch", "--manifest", &manifest, "--source", "mirror", "--mirror", &mirror];
    let well = [(MODE_ENV, "well-behaved"), (VERSION_ENV, "0.163.0")];
    snap.run_with("verify_pins_launch", &well, &args, 0);
    let mut json = args.to_vec();
    json.push("--json");
    snap.run_with("verify_pins_launch_incompatible_json", &[(MODE_ENV, "wrong-version")], &json, 6);
}

#[test]
fn explain_sources_and_a_401_hint() {
    let mut snap = Snap::new();
    let fixture = Fixture::stable();
    let server = TestServer::start();
    let registry = fixture.serve_npm(&server);
    let host = server.url().trim_start_matches("http://").to_owned();
    snap.literal(&host, "127.0.0.1:[PORT]");
    let npmrc =
        snap.write("project/.npmrc", format!("@openai:registry={registry}\n//{host}/:_authToken=s3cret\n").as_bytes());
    snap.write("project/package.json", b"{}");
    let netrc = snap.write("netrc", b"machine 127.0.0.1 login alice password hunter2\n");
    let manifest = snap.manifest(&fixture.manifest);
    let index = format!("{}/simple/", server.url());
    let cwd_npmrc = npmrc.clone();
    let envs = [("NETRC", netrc.as_str()), ("PIP_INDEX_URL", index.as_str())];
    let args = [
        "path",
        "--manifest",
        &manifest,
        "--target",
        LINUX,
        "--explain-sources",
        "--source",
        "npm",
        "--source",
        "pypi",
    ];
    let mut cmd = snap.command(&envs, &args);
    cmd.current_dir(Path::new(&cwd_npmrc).parent().unwrap());
    let out = cmd.output().unwrap();
    assert_code(&out, 0);
    snap.assert("explain_sources", &render(&envs, &args, &out));

    // No credential for the registry: a 401 that says which key to add.
    let snap = Snap::new();
    let server = TestServer::start();
    let registry = fixture.serve_npm(&server);
    server.fault(NPM_PACKUMENT, Fault::Status(401));
    let mut snap = snap;
    snap.literal(server.url().trim_start_matches("http://"), "127.0.0.1:[PORT]");
    let manifest = snap.manifest(&fixture.manifest);
    snap.run(
        "npm_401",
        &["install", "--manifest", &manifest, "--target", LINUX, "--source", "npm", "--npm-registry", &registry],
        5,
    );
}

#[test]
fn bundle_index_pages() {
    let fixture = Fixture::stable();
    let server = TestServer::start();
    let url = fixture.serve_mirror(&server);
    let snap = Snap::new();
    let manifest = snap.manifest(&fixture.manifest);
    let out = snap.path("site");
    let args = [
        "bundle",
        "--manifest",
        &manifest,
        "--target",
        LINUX,
        "--format",
        "index",
        "--base-url",
        "http://127.0.0.1:8000/codex/",
    ];
    snap.run("bundle_index", &[&args[..], &["--out", &out, "--source", "mirror", "--mirror", &url]].concat(), 0);
    let read = |path: &str| std::fs::read_to_string(Path::new(&out).join(path)).unwrap();
    let pages = [
        "simple/index.html",
        "simple/openai-codex-cli-bin/index.html",
        "simple/openai-codex-cli-bin/index.json",
        "@openai/codex/index.html",
    ];
    let body: String = pages.iter().map(|p| format!("----- {p} -----\n{}\n", read(p))).collect();
    snap.assert("bundle_index_pages", &body);
}
