//! Private registries as companies configure them, against loopback fakes: `.npmrc`
//! credentials in every form npm reads, npm's config layers and their precedence, `.netrc` for
//! the Python index and a mirror, a package document whose tarball lives elsewhere, 401 and
//! 403 hints, extra Python indexes, the CA bundles pip and npm are configured with (over an
//! HTTPS front), and `--explain-sources`. (The same against real verdaccio and pypiserver is in
//! `registries.rs`.)

use std::path::Path;
use std::process::Output;

use base64::Engine as _;
use codex_runtime_test_support::fixture::sha256_hex;
use codex_runtime_test_support::http::{Fault, TestServer};
use codex_runtime_test_support::tls::TlsFront;

use crate::common::*;

const TOKEN: &str = "npm-s3cret-token";

/// The Python index's page of the runtime's distribution.
const PAGE: &str = "/simple/openai-codex-cli-bin/";

fn install(env: &Env, fixture: &Fixture, source: &str, extra: &[&str], vars: &[(&str, &str)]) -> Output {
    let manifest = env.manifest(&fixture.manifest);
    let mut cmd = env.project_cmd();
    cmd.args(["install", "--manifest", &manifest, "--target", LINUX, "--json", "--source", source]).args(extra);
    cmd.envs(vars.iter().copied());
    cmd.output().unwrap()
}

fn host(server: &TestServer) -> String {
    server.url().trim_start_matches("http://").to_owned()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Nothing the tool wrote (stdout, stderr, every file in the cache) holds `secret`.
fn assert_secret_nowhere(env: &Env, out: &Output, secret: &str) {
    assert!(!text(&out.stdout).contains(secret) && !text(&out.stderr).contains(secret), "{}", text(&out.stderr));
    for file in env.cache_listing() {
        let path = env.cache().join(file);
        if path.is_file() && std::fs::metadata(&path).unwrap().len() < 1 << 20 {
            let bytes = std::fs::read(&path).unwrap();
            assert!(!String::from_utf8_lossy(&bytes).contains(secret), "{} holds the secret", path.display());
        }
    }
}

fn basic(user_password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(user_password))
}

#[test]
fn every_npmrc_credential_form_is_sent_to_the_registry_and_nowhere_else() {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let cases = [
        ("_authToken=${NPM_TOKEN}".to_owned(), format!("Bearer {TOKEN}")),
        (format!("_auth={}", b64("alice:pa:ss")), basic("alice:pa:ss")),
        (format!("username=bob\n//HOST/:_password={}", b64(TOKEN)), basic(&format!("bob:{TOKEN}"))),
    ];
    for (key, header) in cases {
        let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
        let registry = fixture.serve_npm(&server);
        let npmrc = format!("@openai:registry={registry}\n//HOST/:{}\n", key.replace("HOST", &host(&server)));
        write(&env.path("project/.npmrc"), &npmrc.replace("HOST", &host(&server)));

        let out = install(&env, &fixture, "npm", &[], &[("NPM_TOKEN", TOKEN)]);
        assert_code(&out, 0);
        assert_eq!(stdout_json(&out)["source"], "npm");
        for path in [NPM_PACKUMENT.to_owned(), fixture.npm_registry_path()] {
            assert_eq!(server.requests_for(&path)[0].header("authorization"), Some(header.as_str()), "{key}: {path}");
        }
        assert_secret_nowhere(&env, &out, TOKEN);
    }
}

#[test]
fn a_workspace_package_reads_the_workspace_roots_npmrc() {
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let registry = fixture.serve_npm(&server);
    let manifest = env.manifest(&fixture.manifest);
    let mut cmd = env.project_cmd();
    write(&env.path("project/package.json"), r#"{"private": true, "workspaces": ["packages/*"]}"#);
    let root_npmrc = env.path("project/.npmrc");
    write(&root_npmrc, &format!("@openai:registry={registry}\n//{}/:_authToken={TOKEN}\n", host(&server)));
    // npm ignores a workspace's own .npmrc.
    write(&env.path("project/packages/sdk/package.json"), r#"{"name": "sdk"}"#);
    write(&env.path("project/packages/sdk/.npmrc"), "@openai:registry=http://127.0.0.1:9/ignored/\n");
    cmd.current_dir(env.path("project/packages/sdk"));
    cmd.args(["install", "--manifest", &manifest, "--target", LINUX, "--json", "--source", "npm", "--explain-sources"]);
    let out = cmd.output().unwrap();
    assert_code(&out, 0);
    let bearer = format!("Bearer {TOKEN}");
    assert_eq!(server.requests_for(NPM_PACKUMENT)[0].header("authorization"), Some(bearer.as_str()));
    let said = format!("(from {}: @openai:registry)", root_npmrc.display());
    assert!(text(&out.stderr).contains(&said), "{said}\n{}", text(&out.stderr));
    assert_secret_nowhere(&env, &out, TOKEN);
}

#[test]
fn the_tarball_the_package_document_names_is_fetched_without_the_registrys_credential() {
    let (env, fixture, registry_server, files) =
        (Env::new(), Fixture::stable(), TestServer::start(), TestServer::start());
    let tarball = "/elsewhere/codex.tgz";
    files.add(tarball, fixture.npm.clone());
    let dist = serde_json::json!({
        "tarball": format!("{}{tarball}", files.url()),
        "integrity": codex_runtime_test_support::fixture::integrity(&fixture.npm),
    });
    let packument = serde_json::json!({"versions": {"0.163.0-linux-x64": {"dist": dist}}});
    registry_server.add(NPM_PACKUMENT, packument.to_string().into_bytes());
    let registry = format!("{}/registry/", registry_server.url());
    write(&env.path("home/.npmrc"), &format!("//{}/:_authToken={TOKEN}\n", host(&registry_server)));

    let out =
        install(&env, &fixture, "npm", &["--npm-registry", &registry], &[("HOME", env.path("home").to_str().unwrap())]);
    assert_code(&out, 0);
    assert_eq!(
        registry_server.requests_for(NPM_PACKUMENT)[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(files.requests_for(tarball)[0].header("authorization"), None, "another origin gets no credential");
    assert_eq!(registry_server.hits(&fixture.npm_registry_path()), 0, "the conventional path is not guessed");
}

#[test]
fn a_scoped_registry_in_any_layer_wins_over_registry_in_any_layer() {
    // The project's @openai:registry over the environment's registry (which would die on port 1).
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let registry = fixture.serve_npm(&server);
    write(&env.path("project/.npmrc"), &format!("@openai:registry={registry}\n"));
    let out = install(&env, &fixture, "npm", &[], &[("npm_config_registry", "http://127.0.0.1:1/")]);
    assert_code(&out, 0);

    // The user's @openai:registry over the project's registry.
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let registry = fixture.serve_npm(&server);
    write(&env.path("project/.npmrc"), "registry=http://127.0.0.1:1/\n");
    write(&env.path("user.npmrc"), &format!("@openai:registry={registry}\n"));
    let userconfig = env.path("user.npmrc");
    let out = install(&env, &fixture, "npm", &[], &[("npm_config_userconfig", userconfig.to_str().unwrap())]);
    assert_code(&out, 0);

    // A directory above the package root is not npm's project config.
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let registry = fixture.serve_npm(&server);
    write(&env.path(".npmrc"), "@openai:registry=http://127.0.0.1:1/\n");
    write(&env.path("npm-global/etc/npmrc"), &format!("registry={registry}\n"));
    let out = install(&env, &fixture, "npm", &[], &[("HOME", env.path("home").to_str().unwrap())]);
    assert_code(&out, 0);
}

#[test]
fn a_401_or_403_says_how_to_authenticate() {
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let registry = fixture.serve_npm(&server);
    server.fault(NPM_PACKUMENT, Fault::Status(401));
    let out = install(&env, &fixture, "npm", &["--npm-registry", &registry], &[]);
    assert_code(&out, 5);
    let stderr = text(&out.stderr);
    let host = host(&server);
    assert!(stderr.contains(&format!("HTTP 401: no credential was sent to {host}")), "{stderr}");
    assert!(stderr.contains(&format!("add `//{host}/:_authToken=${{NPM_TOKEN}}`")), "{stderr}");
    assert_eq!(server.hits(NPM_PACKUMENT), 1, "a 401 is not retried");

    // Refused: named by where it was configured.
    write(&env.path("project/.npmrc"), &format!("//{host}/:_authToken={TOKEN}\n"));
    server.fault(NPM_PACKUMENT, Fault::Status(403));
    let out = install(&env, &fixture, "npm", &["--npm-registry", &registry], &[]);
    assert_code(&out, 5);
    let stderr = text(&out.stderr);
    let npmrc = env.path("project/.npmrc").display().to_string();
    assert!(
        stderr.contains(&format!("HTTP 403: the server refused the credential from {npmrc}: //{host}/:_authToken")),
        "{stderr}"
    );
    assert!(!stderr.contains(TOKEN), "{stderr}");

    // A Python index: the .netrc machine to add.
    let page = "/simple/openai-codex-cli-bin/";
    server.fault(page, Fault::Status(401));
    let index = format!("{}/simple/", server.url());
    let out = install(&env, &fixture, "pypi", &["--pypi-index", &index], &[]);
    assert_code(&out, 5);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("add `machine 127.0.0.1 login USER password PASSWORD` to ~/.netrc"), "{stderr}");
}

/// A PEP 503 page listing the fixture's wheel at `/files/`.
fn serve_index(server: &TestServer, fixture: &Fixture) -> (String, String) {
    let file = format!("/files/{}", fixture.runtime.wheel_file_name());
    let html =
        format!("<a href=\"{file}#sha256={}\">{}</a>", sha256_hex(&fixture.wheel), fixture.runtime.wheel_file_name());
    server.add_typed("/simple/openai-codex-cli-bin/", "text/html", html.into_bytes());
    server.add(&file, fixture.wheel.clone());
    (format!("{}/simple/", server.url()), file)
}

/// The requests each server received for the project page.
fn pages_asked(server: &TestServer) -> usize {
    server.requests_for("/simple/openai-codex-cli-bin/").len()
}

#[test]
fn extra_indexes_are_tried_in_order_after_the_index() {
    let (env, fixture) = (Env::new(), Fixture::stable());
    let (index, empty, holder) = (TestServer::start(), TestServer::start(), TestServer::start());
    // The index lists another file only, the first extra index has no page for the project, the
    // second serves the wheel.
    index.add_typed("/simple/openai-codex-cli-bin/", "text/html", b"<a href=\"/files/a.whl\">a.whl</a>".to_vec());
    let (holding, file) = serve_index(&holder, &fixture);
    let (index_url, empty_url) = (format!("{}/simple/", index.url()), format!("{}/simple/", empty.url()));
    let extras = format!("  {empty_url}\t{holding} ");
    let vars = [("PIP_INDEX_URL", index_url.as_str()), ("PIP_EXTRA_INDEX_URL", extras.as_str())];
    let out = install(&env, &fixture, "pypi", &["--explain-sources"], &vars);
    assert_code(&out, 0);
    assert_eq!(stdout_json(&out)["source"], "pypi");
    assert_eq!((pages_asked(&index), pages_asked(&empty), holder.hits(&file)), (1, 1, 1));
    let receipt = env.cache().join("runtimes/0.163.0").join(LINUX).join(".codex-runtime-receipt.json");
    let receipt: serde_json::Value = serde_json::from_slice(&std::fs::read(receipt).unwrap()).unwrap();
    assert_eq!(receipt["from"], format!("{}{file}", holder.url()));
    let stderr = text(&out.stderr);
    for line in [
        format!("source pypi: index {index_url} (from PIP_INDEX_URL)"),
        format!("source pypi: index {empty_url} (from PIP_EXTRA_INDEX_URL)"),
        format!("source pypi: index {holding} (from PIP_EXTRA_INDEX_URL)"),
    ] {
        assert!(stderr.contains(&line), "{line}\n{stderr}");
    }

    // pip.conf's extra-index-url, over indented lines; the index once is asked once.
    let (env, fixture) = (Env::new(), Fixture::stable());
    let conf = env.path("pip.conf");
    write(&conf, &format!("[global]\nindex-url = {index_url}\nextra-index-url =\n    {index_url}\n    {holding}\n"));
    let before = (pages_asked(&index), holder.hits(&file));
    let vars = [("PIP_CONFIG_FILE", conf.to_str().unwrap())];
    let out = install(&env, &fixture, "pypi", &["--explain-sources"], &vars);
    assert_code(&out, 0);
    assert_eq!((pages_asked(&index), holder.hits(&file)), (before.0 + 1, before.1 + 1));
    let said = format!("source pypi: index {holding} (from {}: [global] extra-index-url)", conf.display());
    assert!(text(&out.stderr).contains(&said), "{said}\n{}", text(&out.stderr));

    // PIP_EXTRA_INDEX_URL wins over the file; an extra index that lists another digest for the
    // pinned wheel is refused before anything is downloaded from it.
    let (env, fixture, liar) = (Env::new(), Fixture::stable(), TestServer::start());
    let other = sha256_hex(b"other bytes");
    let listing = format!("<a href=\"/files/{0}#sha256={other}\">{0}</a>", fixture.runtime.wheel_file_name());
    liar.add_typed("/simple/openai-codex-cli-bin/", "text/html", listing.into_bytes());
    liar.add(&file, fixture.wheel.clone());
    let liar_url = format!("{}/simple/", liar.url());
    let vars = [("PIP_CONFIG_FILE", conf.to_str().unwrap()), ("PIP_EXTRA_INDEX_URL", liar_url.as_str())];
    let out = install(&env, &fixture, "pypi", &[], &vars);
    assert_code(&out, 4);
    assert_eq!(liar.hits(&file), 0);
    assert!(text(&out.stderr).contains(&other), "{}", text(&out.stderr));
}

#[test]
fn the_ca_bundles_pip_and_npm_are_configured_with_are_trusted() {
    // pypi: pip.conf's `cert`; the index page and the wheel it links to, over HTTPS.
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let front = TlsFront::start(&server);
    let (_, file) = serve_index(&server, &fixture);
    let index = format!("{}/simple/", front.url());
    let ca = env.path("corp/ca.pem");
    write(&ca, &front.ca_pem());
    let untrusted = install(&env, &fixture, "pypi", &["--pypi-index", &index], &[]);
    assert_ne!(untrusted.status.code(), Some(0));
    assert!(text(&untrusted.stderr).contains("certificate"), "{}", text(&untrusted.stderr));
    let conf = env.path("pip.conf");
    write(&conf, &format!("[global]\ncert = {}\n", ca.display()));
    let vars = [("PIP_CONFIG_FILE", conf.to_str().unwrap())];
    let out = install(&env, &fixture, "pypi", &["--pypi-index", &index, "--explain-sources"], &vars);
    assert_code(&out, 0);
    assert_eq!(server.hits(&file), 1);
    let said =
        format!("source pypi: trusts the CA certificates in {} (from {}: [global] cert)", ca.display(), conf.display());
    assert!(text(&out.stderr).contains(&said), "{said}\n{}", text(&out.stderr));

    // npm: the project's `.npmrc` `cafile`; the package document and the tarball, over HTTPS.
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let front = TlsFront::start(&server);
    let registry = fixture.serve_npm_at(&server, &front.url());
    let ca = env.path("corp/ca.pem");
    write(&ca, &front.ca_pem());
    write(&env.path("project/.npmrc"), &format!("@openai:registry={registry}\ncafile={}\n", ca.display()));
    let out = install(&env, &fixture, "npm", &[], &[]);
    assert_code(&out, 0);
    assert_eq!((server.hits(NPM_PACKUMENT), server.hits(&fixture.npm_registry_path())), (1, 1));
}

#[test]
fn netrc_logs_in_to_the_python_index_and_a_mirror() {
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let (index, file) = serve_index(&server, &fixture);
    let netrc = env.path("netrc");
    write(&netrc, "machine 127.0.0.1\n  login alice\n  password hunter2\n");
    // npm's token for the same host is npm's: the Python index never gets it.
    write(&env.path("project/.npmrc"), &format!("//{}/:_authToken={TOKEN}\n", host(&server)));
    let out = install(&env, &fixture, "pypi", &["--pypi-index", &index], &[("NETRC", netrc.to_str().unwrap())]);
    assert_code(&out, 0);
    let alice = basic("alice:hunter2");
    assert_eq!(server.requests_for("/simple/openai-codex-cli-bin/")[0].header("authorization"), Some(alice.as_str()));
    assert_eq!(server.requests_for(&file)[0].header("authorization"), Some(alice.as_str()));
    assert_secret_nowhere(&env, &out, "hunter2");

    // ~/.netrc, for an HTTP mirror, its `default` entry.
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let mirror = fixture.serve_mirror(&server);
    write(&env.path(".netrc"), "default login anon password guest\n");
    let out = install(&env, &fixture, "mirror", &["--mirror", &mirror], &[]);
    assert_code(&out, 0);
    let wheel = format!("/mirror/{}", fixture.runtime.wheel_file_name());
    assert_eq!(server.requests_for(&wheel)[0].header("authorization"), Some(basic("anon:guest").as_str()));
}

#[test]
fn explain_sources_names_each_file_and_key_never_the_secret() {
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let registry = fixture.serve_npm(&server);
    let (index, _) = serve_index(&server, &fixture);
    let npmrc = env.path("project/.npmrc");
    write(&npmrc, &format!("@openai:registry={registry}\n//{}/:_authToken={TOKEN}\n", host(&server)));
    let netrc = env.path("netrc");
    write(&netrc, "machine 127.0.0.1 login alice password hunter2\n");
    let vars = [("NETRC", netrc.to_str().unwrap()), ("PIP_INDEX_URL", index.as_str())];
    let out = install(&env, &fixture, "npm", &["--source", "pypi", "--explain-sources"], &vars);
    assert_code(&out, 0);
    let stderr = text(&out.stderr);
    let npmrc = npmrc.display();
    let expected = [
        format!(
            "source npm: registry {registry} (from {npmrc}: @openai:registry); sends the credential from {npmrc}: //{}/:_authToken",
            host(&server)
        ),
        format!(
            "source pypi: index {index} (from PIP_INDEX_URL); sends the credential from {}: machine 127.0.0.1",
            netrc.display()
        ),
    ];
    for line in expected {
        assert!(stderr.contains(&line), "{line}\n{stderr}");
    }
    assert_secret_nowhere(&env, &out, TOKEN);
    assert_secret_nowhere(&env, &out, "hunter2");

    // The URL's own user:password@ is what is sent, and said; a URL without one says no such thing.
    let with_login = index.replace("http://", "http://urlu:urlpw@");
    let vars = [("NETRC", netrc.to_str().unwrap()), ("PIP_INDEX_URL", with_login.as_str())];
    let out = install(&env, &fixture, "pypi", &["--explain-sources"], &vars);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("(from PIP_INDEX_URL); sends the user:password@ of its URL"), "{stderr}");
    let bare = format!("http://{}", host(&server));
    let out = install(&env, &fixture, "pypi", &["--explain-sources"], &[("PIP_INDEX_URL", bare.as_str())]);
    assert!(text(&out.stderr).contains("(from PIP_INDEX_URL); sends no credential"), "{}", text(&out.stderr));
}

/// pip expands `~` in `cert` (its `path` option type: os.path.expanduser), from pip.conf and
/// PIP_CERT alike (checked with pip 23.2 against an HTTPS loopback server).
#[test]
fn a_tilde_in_pips_cert_is_the_home_directory() {
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let front = TlsFront::start(&server);
    let (_, file) = serve_index(&server, &fixture);
    let index = format!("{}/simple/", front.url());
    write(&env.path("corp/ca.pem"), &front.ca_pem()); // HOME is env.dir
    let conf = env.path("pip.conf");
    write(&conf, "[global]\ncert = ~/corp/ca.pem\n");
    let out =
        install(&env, &fixture, "pypi", &["--pypi-index", &index], &[("PIP_CONFIG_FILE", conf.to_str().unwrap())]);
    assert_code(&out, 0);
    assert_eq!(server.hits(&file), 1);
}

/// npm expands `~/` in `cafile` (npm 11: `npm config get cafile` prints $HOME/corp.pem).
#[test]
fn a_tilde_in_npms_cafile_is_the_home_directory() {
    let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
    let front = TlsFront::start(&server);
    let registry = fixture.serve_npm_at(&server, &front.url());
    write(&env.path("corp/ca.pem"), &front.ca_pem());
    write(&env.path("project/.npmrc"), &format!("@openai:registry={registry}\ncafile=~/corp/ca.pem\n"));
    let out = install(&env, &fixture, "npm", &[], &[]);
    assert_code(&out, 0);
}

/// A missing or garbage CA file: the install still works over plain http / platform roots,
/// and the user is told the file was not used.
#[test]
fn a_missing_or_garbage_ca_file_is_warned_about_and_harmless() {
    for (name, contents) in [("missing.pem", None), ("garbage.pem", Some("not a certificate\n"))] {
        let (env, fixture, server) = (Env::new(), Fixture::stable(), TestServer::start());
        let (index, file) = serve_index(&server, &fixture);
        let ca = env.path(name);
        if let Some(text) = contents {
            write(&ca, text);
        }
        let out = install(&env, &fixture, "pypi", &["--pypi-index", &index], &[("PIP_CERT", ca.to_str().unwrap())]);
        assert_code(&out, 0);
        assert_eq!(server.hits(&file), 1);
        let stderr = text(&out.stderr);
        assert!(stderr.contains(name), "{name}: the file that was not used is named:\n{stderr}");
    }
}

/// An extra index that fails (401, 500, garbage JSON, a stall) does not keep a later one
/// from serving the wheel.
#[test]
fn a_failing_extra_index_does_not_keep_a_later_one_from_serving() {
    let break_page = |name: &str, server: &TestServer| match name {
        "401" => server.fault(PAGE, Fault::Status(401)),
        "500" => server.fault(PAGE, Fault::Status(500)),
        "garbage" => server.add_typed(PAGE, "application/vnd.pypi.simple.v1+json", b"{nope".to_vec()),
        "slow head" => server.fault(PAGE, Fault::SlowHead { lines: 10, delay_ms: 500 }),
        _ => {
            server.add_typed(PAGE, "text/html", b"<html><body>".to_vec());
            server.fault(PAGE, Fault::Stall { after: 1, ms: 5_000 })
        }
    };
    for name in ["401", "500", "garbage", "slow head", "stall"] {
        let (env, fixture) = (Env::new(), Fixture::stable());
        let (bad, good) = (TestServer::start(), TestServer::start());
        bad.add_typed(PAGE, "text/html", b"".to_vec());
        break_page(name, &bad);
        let (holding, file) = serve_index(&good, &fixture);
        let extras = format!("{}/simple/ {holding}", bad.url());
        let vars = [
            ("PIP_INDEX_URL", "http://127.0.0.1:9/simple/"),
            ("PIP_EXTRA_INDEX_URL", extras.as_str()),
            ("CODEX_RUNTIME_READ_TIMEOUT_SECS", "1"),
            ("CODEX_RUNTIME_RETRIES", "0"),
        ];
        let out = install(&env, &fixture, "pypi", &[], &vars);
        assert_code(&out, 0);
        assert_eq!(good.hits(&file), 1, "{name}");
        assert!(bad.hits(PAGE) >= 1, "{name}");
    }
}

/// The index's user:password@ does not go to an extra index on another port, nor to one on
/// the same origin under another path (pip sends it there; this tool is stricter).
#[test]
fn the_indexs_credentials_do_not_go_to_an_extra_index() {
    let (env, fixture) = (Env::new(), Fixture::stable());
    let (main, extra) = (TestServer::start(), TestServer::start());
    main.add_typed(PAGE, "text/html", b"".to_vec());
    let (holding, file) = serve_index(&extra, &fixture);
    let main_url = main.url().replace("http://", "http://alice:s3cret@") + "/simple/";
    let same_origin = main.url() + "/other/simple/";
    // The index again without its login: the same index, asked once.
    let extras = format!("{}/simple {same_origin} {holding}", main.url());
    let vars = [("PIP_INDEX_URL", main_url.as_str()), ("PIP_EXTRA_INDEX_URL", extras.as_str())];
    let out = install(&env, &fixture, "pypi", &[], &vars);
    assert_code(&out, 0);
    let alice = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("alice:s3cret"));
    assert_eq!(main.requests_for(PAGE).len(), 1);
    assert_eq!(main.requests_for(PAGE)[0].header("authorization"), Some(alice.as_str()));
    assert_eq!(main.requests_for("/other/simple/openai-codex-cli-bin/")[0].header("authorization"), None);
    assert!(extra.requests().iter().all(|r| r.header("authorization").is_none()));
    assert_eq!(extra.hits(&file), 1);
    assert!(!text(&out.stderr).contains("s3cret"));
}

/// A set PIP_EXTRA_INDEX_URL of only whitespace is an empty list that replaces the
/// file's extra-index-url (checked with pip 23.2: only the main index is asked).
#[test]
fn a_blank_pip_extra_index_url_overrides_the_files_as_pip_reads_it() {
    let (env, fixture, extra) = (Env::new(), Fixture::stable(), TestServer::start());
    serve_index(&extra, &fixture);
    let conf = env.path("pip.conf");
    write(
        &conf,
        &format!("[global]\nindex-url = http://127.0.0.1:9/simple/\nextra-index-url = {}/simple/\n", extra.url()),
    );
    let vars = [("PIP_CONFIG_FILE", conf.to_str().unwrap()), ("PIP_EXTRA_INDEX_URL", " ")];
    let _ = install(&env, &fixture, "pypi", &[], &vars);
    assert_eq!(extra.hits(PAGE), 0, "pip would not ask the file's extra index");
}

/// A `package.json` above the package root that is not a regular file (a FIFO here; a
/// symlink to /dev/zero is the same) is read to its end: the tool blocks forever. npm checks
/// `stat().isFile()` first and skips it (`npm run` works in the same layout).
#[test]
fn a_package_json_above_that_is_not_a_file_is_skipped_not_read() {
    let (env, fixture) = (Env::new(), Fixture::stable());
    let manifest = env.manifest(&fixture.manifest);
    let mut cmd = env.project_cmd(); // env.dir/project/package.json
    let fifo = env.path("package.json");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    cmd.args(["install", "--manifest", &manifest, "--target", LINUX, "--source", "npm"]);
    cmd.args(["--npm-registry", "http://127.0.0.1:9/"]).env("CODEX_RUNTIME_RETRIES", "0");
    let mut child = cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() && start.elapsed() < std::time::Duration::from_secs(5) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let done = child.try_wait().unwrap().is_some();
    let _ = child.kill();
    let _ = child.wait();
    assert!(done, "still running after 5 s");
}
