//! Real private registries, started on loopback by the test support: a verdaccio whose every
//! read needs a login, holding the real 0.163.0 linux-x64 tarball published with `npm publish`,
//! and a pypiserver (`-a download,list,update -P htpasswd`) holding the real 0.163.0 manylinux
//! x86_64 wheel (also as an extra index). The tool installs the pinned runtime (the embedded pins, upstream's bytes)
//! from each with the credentials a company's `.npmrc`, `.netrc` or `pip.conf` holds, and with
//! none gets a 401 that says what to add. Skipped (saying so) where a server cannot be
//! installed, except on CI.

use std::path::Path;
use std::process::Output;
use std::time::Instant;

use base64::Engine as _;
use codex_runtime_test_support::http::TestServer;
use codex_runtime_test_support::registries::{PyPiServer, Verdaccio};

use crate::common::*;

/// The target whose npm package is `linux-x64` and whose wheel is manylinux x86_64.
const TARGET: &str = "x86_64-unknown-linux-musl";
const SELECTION: [&str; 4] = ["--version", "0.163.0", "--target", TARGET];

fn install(env: &Env, source: &str, vars: &[(&str, &str)]) -> Output {
    let mut cmd = env.project_cmd();
    cmd.args(["install", "--json", "--source", source]).args(SELECTION).envs(vars.iter().copied());
    cmd.output().unwrap()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Installed from `source`, with the pinned entrypoint, and no `secret` in anything it wrote.
fn assert_installed(env: &Env, out: &Output, source: &str, secret: &str) {
    assert_code(out, 0);
    let json = stdout_json(out);
    assert_eq!((json["source"].as_str(), json["version"].as_str()), (Some(source), Some("0.163.0")), "{json}");
    for written in [text(&out.stdout), text(&out.stderr)] {
        assert!(!written.contains(secret), "{written}");
    }
    let receipt = env.cache().join("runtimes/0.163.0").join(TARGET).join(".codex-runtime-receipt.json");
    assert!(!std::fs::read_to_string(receipt).unwrap().contains(secret));
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[test]
fn verdaccio_every_npmrc_credential_form_installs_the_real_runtime() {
    let Some(npm) = Verdaccio::start_or_skip() else { return };
    let key = format!("//{}/", npm.host_port());
    let cases = [
        ("project", format!("{key}:_authToken=${{NPM_TOKEN}}\n"), npm.token().to_owned()),
        (
            "user",
            format!("{key}:_auth={}\n", b64(&format!("{}:{}", npm.user(), npm.password()))),
            npm.password().to_owned(),
        ),
        (
            "user",
            format!("{key}:username={}\n{key}:_password={}\n", npm.user(), b64(npm.password())),
            npm.password().to_owned(),
        ),
    ];
    for (layer, credential, secret) in cases {
        let env = Env::new();
        let registry = format!("@openai:registry={}\n", npm.url());
        let npmrc = if layer == "project" { env.path("project/.npmrc") } else { env.path(".npmrc") };
        write(&npmrc, &format!("{registry}{credential}"));
        let out = install(&env, "npm", &[("NPM_TOKEN", npm.token())]);
        assert_installed(&env, &out, "npm", &secret);
    }
}

#[test]
fn verdaccio_without_credentials_is_a_401_that_says_which_key_to_add() {
    let Some(npm) = Verdaccio::start_or_skip() else { return };
    let env = Env::new();
    write(&env.path("project/.npmrc"), &format!("@openai:registry={}\n", npm.url()));
    let out = install(&env, "npm", &[]);
    assert_code(&out, 5);
    let stderr = text(&out.stderr);
    let status = npm.anonymous_status();
    assert!(stderr.contains(&format!("HTTP {status}: no credential was sent to {}", npm.host_port())), "{stderr}");
    assert!(stderr.contains(&format!("add `//{}/:_authToken=${{NPM_TOKEN}}`", npm.host_port())), "{stderr}");

    // A wrong token: refused, named by where it was configured, never shown.
    write(&env.path(".npmrc"), &format!("//{}/:_authToken=not-the-token\n", npm.host_port()));
    let out = install(&env, "npm", &[]);
    assert_code(&out, 5);
    let stderr = text(&out.stderr);
    let named = format!(
        "the server refused the credential from {}: //{}/:_authToken",
        env.path(".npmrc").display(),
        npm.host_port()
    );
    assert!(stderr.contains(&named) && !stderr.contains("not-the-token"), "{stderr}");
}

#[test]
fn verdaccio_scoped_registry_precedence_is_npms() {
    let Some(npm) = Verdaccio::start_or_skip() else { return };
    let auth = format!("//{}/:_authToken={}\n", npm.host_port(), npm.token());
    // The project's @openai:registry over the environment's registry, which is a dead port.
    let env = Env::new();
    write(&env.path("project/.npmrc"), &format!("@openai:registry={}\n{auth}", npm.url()));
    let out = install(&env, "npm", &[("npm_config_registry", "http://127.0.0.1:1/")]);
    assert_installed(&env, &out, "npm", npm.token());
    // The user's @openai:registry over the project's registry.
    let env = Env::new();
    write(&env.path("project/.npmrc"), &format!("registry=http://127.0.0.1:1/\n{auth}"));
    write(&env.path(".npmrc"), &format!("@openai:registry={}\n", npm.url()));
    let out = install(&env, "npm", &[]);
    assert_installed(&env, &out, "npm", npm.token());
}

#[test]
fn pypiserver_netrc_url_credentials_and_pip_conf_install_the_real_runtime() {
    let Some(index) = PyPiServer::start_or_skip() else { return };
    let login = format!("machine 127.0.0.1 login {} password {}\n", index.user(), index.password());

    // NETRC names the file; the index from PIP_INDEX_URL.
    let env = Env::new();
    write(&env.path("creds/netrc"), &login);
    let netrc = env.path("creds/netrc");
    let vars = [("NETRC", netrc.to_str().unwrap()), ("PIP_INDEX_URL", &index.index_url())];
    assert_installed(&env, &install(&env, "pypi", &vars), "pypi", index.password());

    // ~/.netrc; the index from the virtualenv's pip.conf, its [install] section.
    let env = Env::new();
    write(&env.path(".netrc"), &login);
    write(&env.path("venv/pip.conf"), &format!("[install]\nindex-url = {}\n", index.index_url()));
    let venv = env.path("venv");
    let vars = [("VIRTUAL_ENV", venv.to_str().unwrap()), ("PIP_CONFIG_FILE", "")];
    assert_installed(&env, &install(&env, "pypi", &vars), "pypi", index.password());

    // user:password@ in the index URL.
    let env = Env::new();
    let vars = [("PIP_INDEX_URL", index.index_url_with_credentials())];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_installed(&env, &install(&env, "pypi", &vars), "pypi", index.password());

    // An extra index (pip.conf's extra-index-url), after an index that does not carry the
    // project, with ~/.netrc's login.
    let (env, elsewhere) = (Env::new(), TestServer::start());
    write(&env.path(".netrc"), &login);
    let conf = env.path("pip.conf");
    write(
        &conf,
        &format!("[global]\nindex-url = {}/simple/\nextra-index-url = {}\n", elsewhere.url(), index.index_url()),
    );
    let out = install(&env, "pypi", &[("PIP_CONFIG_FILE", conf.to_str().unwrap())]);
    assert_installed(&env, &out, "pypi", index.password());
    assert_eq!(elsewhere.requests_for("/simple/openai-codex-cli-bin/").len(), 1, "the index first");
}

#[test]
fn pypiserver_without_credentials_names_the_netrc_machine_to_add() {
    let Some(index) = PyPiServer::start_or_skip() else { return };
    let env = Env::new();
    let out = install(&env, "pypi", &[("PIP_INDEX_URL", &index.index_url())]);
    assert_code(&out, 5);
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("no credential was sent to {}", index.host_port())), "{stderr}");
    assert!(stderr.contains("add `machine 127.0.0.1 login USER password PASSWORD` to ~/.netrc"), "{stderr}");
}

/// 16 installs at once into one cache: every one succeeds, one downloads.
fn sixteen_at_once(env: &Env, source: &str, vars: &[(&str, &str)]) -> (f64, usize) {
    let started = Instant::now();
    let children: Vec<_> = (0..16)
        .map(|_| {
            let mut cmd = env.project_cmd();
            cmd.args(["install", "--json", "--source", source]).args(SELECTION).envs(vars.iter().copied());
            cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap()
        })
        .collect();
    let outputs: Vec<Output> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    let seconds = started.elapsed().as_secs_f64();
    for out in &outputs {
        assert_code(out, 0);
    }
    let downloaded = outputs.iter().filter(|o| text(&o.stderr).contains("installed codex 0.163.0")).count();
    eprintln!("16 concurrent installs from {source}: {seconds:.2} s wall, {downloaded} downloaded");
    (seconds, downloaded)
}

#[test]
fn sixteen_concurrent_installs_from_each_real_server_make_one_download() {
    if let Some(npm) = Verdaccio::start_or_skip() {
        let env = Env::new();
        write(
            &env.path(".npmrc"),
            &format!("@openai:registry={}\n//{}/:_authToken={}\n", npm.url(), npm.host_port(), npm.token()),
        );
        assert_eq!(sixteen_at_once(&env, "npm", &[]).1, 1);
    }
    if let Some(index) = PyPiServer::start_or_skip() {
        let env = Env::new();
        write(
            &env.path(".netrc"),
            &format!("machine 127.0.0.1 login {} password {}\n", index.user(), index.password()),
        );
        assert_eq!(sixteen_at_once(&env, "pypi", &[("PIP_INDEX_URL", &index.index_url())]).1, 1);
    }
}

#[test]
fn verify_pins_online_checks_only_the_targets_a_private_mirror_carries() {
    let Some(npm) = Verdaccio::start_or_skip() else { return };
    let Some(index) = PyPiServer::start_or_skip() else { return };
    let env = Env::new();
    write(&env.path(".npmrc"), &format!("//{}/:_authToken={}\n", npm.host_port(), npm.token()));
    write(&env.path(".netrc"), &format!("machine 127.0.0.1 login {} password {}\n", index.user(), index.password()));
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../channels/versions/0.163.0.json");
    let run = |targets: &[&str]| {
        let mut cmd = env.project_cmd();
        cmd.args(["verify-pins", "--online", "--json", "--manifest", manifest.to_str().unwrap()]).args([
            "--npm-registry",
            &npm.url(),
            "--pypi-index",
            &index.index_url(),
        ]);
        for target in targets {
            cmd.args(["--target", target]);
        }
        cmd.output().unwrap()
    };
    let all = run(&[]);
    assert_code(&all, 7);
    let mirrored = run(&[TARGET]);
    assert_code(&mirrored, 0);
    assert!(!text(&mirrored.stdout).contains(npm.token()) && !text(&mirrored.stdout).contains(index.password()));
}
