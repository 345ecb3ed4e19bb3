//! A real private npm registry: verdaccio on 127.0.0.1 with no uplinks (it never touches the
//! network), htpasswd users, every package readable and publishable only when authenticated,
//! holding the real `@openai/codex@0.163.0-linux-x64` published with the real `npm publish`.
//!
//! Publishing 150 MB takes half a minute, so it happens once per verdaccio version and tarball,
//! into a template storage under `<target>/test-tools/`; each server starts on a copy of it
//! whose tarballs are hard links.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::process::{ServerProcess, StartError};
use super::{
    REAL_NPM_SUFFIX, REAL_VERSION, Unavailable, basic_auth, free_port, htpasswd_line, http_request, link_or_copy, lock,
    on_path, run, run_dir, skip_or_fail, tools_dir, try_real_npm_tarball,
};

/// The verdaccio release installed (6.8.0 still runs on Node 20; later 6.x want Node 22).
pub const VERDACCIO_VERSION: &str = "6.8.0";

/// The one user of every server.
const USER: &str = "codex-test";
/// Its password (no character that needs escaping in a URL or an npmrc).
const PASSWORD: &str = "codex-test-password-1";
/// How long a server may take to answer its first ping.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How many ports a server tries when another process takes its port first.
const PORT_TRIES: usize = 3;

/// A running verdaccio on `127.0.0.1:PORT`, killed and reaped on drop. Its storage, config,
/// htpasswd, npmrc and log live in a temporary directory removed on drop.
pub struct Verdaccio {
    // Dropped first: the server stops before its directory goes.
    process: ServerProcess,
    port: u16,
    token: String,
    anonymous_status: u16,
    npmrc: PathBuf,
    started_in: Duration,
    dir: tempfile::TempDir,
}

impl Verdaccio {
    /// A server holding the real `@openai/codex@0.163.0-linux-x64` (dist-tag `linux-x64`), or
    /// `None` after the skip policy of [`skip_or_fail`] when verdaccio or the tarball cannot be had.
    pub fn start_or_skip() -> Option<Verdaccio> {
        skip_or_fail(Verdaccio::start())
    }

    /// A server holding the real `@openai/codex@0.163.0-linux-x64`, checked to serve it: with
    /// the token its packument lists the version with a tarball on this server, without it the
    /// read is refused.
    ///
    /// # Panics
    /// When verdaccio is installed but does not come up or does not serve the package (the
    /// message has the tail of its log).
    pub fn start() -> Result<Verdaccio, Unavailable> {
        let started = Instant::now();
        let bin = install()?;
        let tarball = try_real_npm_tarball(REAL_VERSION, REAL_NPM_SUFFIX)?;
        let storage = template_storage(&bin, &tarball).unwrap_or_else(|e| panic!("{e}"));
        let mut server = Verdaccio::launch(&bin, Some(&storage)).unwrap_or_else(|e| panic!("{e}"));
        if let Err(e) = server.check_real_package() {
            panic!("{e}\nverdaccio's log ({}):\n{}", server.process.log().display(), server.log_tail());
        }
        server.started_in = started.elapsed();
        Ok(server)
    }

    /// A server with no package at all (publish fixtures with [`Verdaccio::publish`]), or why
    /// verdaccio cannot be installed.
    ///
    /// # Panics
    /// When verdaccio is installed but does not come up.
    pub fn start_empty() -> Result<Verdaccio, Unavailable> {
        let started = Instant::now();
        let bin = install()?;
        let mut server = Verdaccio::launch(&bin, None).unwrap_or_else(|e| panic!("{e}"));
        server.started_in = started.elapsed();
        Ok(server)
    }

    /// `http://127.0.0.1:PORT/`, with the trailing slash npm expects of a registry.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// `127.0.0.1:PORT`
    pub fn host_port(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The user's name.
    pub fn user(&self) -> &str {
        USER
    }

    /// The user's password (for basic auth, `npm`'s `_auth` or `username`/`_password`).
    pub fn password(&self) -> &str {
        PASSWORD
    }

    /// A token of the user, got the way `npm login` gets one.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// A user config for `npm --userconfig`: `registry=` this server and its `_authToken`.
    pub fn npmrc(&self) -> &Path {
        &self.npmrc
    }

    /// What an anonymous read of a package answers (verdaccio 6.8.0: 401).
    pub fn anonymous_status(&self) -> u16 {
        self.anonymous_status
    }

    /// How long [`Verdaccio::start`] took, installing and publishing included.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// The temporary directory of this server (storage, config, log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        self.process.log_tail()
    }

    /// Publish `tgz` with the real `npm publish` under dist-tag `tag`, as the user.
    ///
    /// # Panics
    /// When `npm publish` fails (with its output and the tail of the server's log).
    pub fn publish(&self, tgz: &Path, tag: &str) {
        if let Err(e) = self.try_publish(tgz, tag) {
            panic!("{e}\nverdaccio's log ({}):\n{}", self.process.log().display(), self.log_tail());
        }
    }

    fn try_publish(&self, tgz: &Path, tag: &str) -> Result<(), String> {
        // An empty working directory: no project's `.npmrc` or `package.json` joins in.
        let cwd = self.dir.path().join("publish");
        std::fs::create_dir_all(&cwd).map_err(|e| format!("cannot create {}: {e}", cwd.display()))?;
        let mut npm = Command::new("npm");
        npm.arg("publish")
            .arg(tgz)
            .args(["--registry", &self.url(), "--tag", tag])
            .arg("--userconfig")
            .arg(&self.npmrc)
            .arg("--cache")
            .arg(self.dir.path().join("npm-cache"))
            .current_dir(&cwd);
        run(&mut npm, &format!("publishing {} to verdaccio at {}", tgz.display(), self.url())).map(drop)
    }

    /// Start verdaccio on a free port with a copy of `template` storage (or an empty one), log
    /// in and write the npmrc.
    fn launch(bin: &Path, template: Option<&Path>) -> Result<Verdaccio, String> {
        let dir = run_dir("verdaccio-")?;
        let storage = dir.path().join("storage");
        match template {
            Some(template) => copy_tree(template, &storage)?,
            None => {
                std::fs::create_dir_all(&storage).map_err(|e| format!("cannot create {}: {e}", storage.display()))?
            }
        }
        let htpasswd = dir.path().join("htpasswd");
        write(&htpasswd, &htpasswd_line(USER, PASSWORD))?;
        let config = dir.path().join("config.yaml");
        write(&config, &config_yaml(&storage, &htpasswd))?;
        let log = dir.path().join("verdaccio.log");
        let (process, port) = spawn_on_free_port(bin, &config, &log)?;
        let host_port = format!("127.0.0.1:{port}");
        let token = login(&host_port).map_err(|e| format!("{e}\nverdaccio's log:\n{}", process.log_tail()))?;
        let npmrc = dir.path().join("npmrc");
        write(&npmrc, &format!("registry=http://{host_port}/\n//{host_port}/:_authToken={token}\n"))?;
        let anonymous_status = http_request(&host_port, "GET", "/@openai%2fcodex", &[], b"")
            .map_err(|e| format!("verdaccio at {host_port}: an anonymous read failed: {e}"))?
            .status;
        Ok(Verdaccio { process, port, token, anonymous_status, npmrc, started_in: Duration::ZERO, dir })
    }

    /// The real package is served to the token, with tarballs on this server, and refused to
    /// anonymous readers.
    fn check_real_package(&self) -> Result<(), String> {
        let version = format!("{REAL_VERSION}-{REAL_NPM_SUFFIX}");
        let bearer = format!("Bearer {}", self.token);
        let auth = [("Authorization", bearer.as_str()), ("Accept", "application/json")];
        let packument = http_request(&self.host_port(), "GET", "/@openai%2fcodex", &auth, b"")
            .map_err(|e| format!("verdaccio at {}: GET /@openai%2fcodex failed: {e}", self.url()))?;
        if packument.status != 200 {
            return Err(format!(
                "verdaccio at {}: GET /@openai%2fcodex with the token answered {}: {}",
                self.url(),
                packument.status,
                packument.text()
            ));
        }
        let json: Value = serde_json::from_slice(&packument.body)
            .map_err(|e| format!("verdaccio at {}: the packument is not JSON: {e}", self.url()))?;
        let tarball = json["versions"][&version]["dist"]["tarball"].as_str().unwrap_or_default();
        if !tarball.starts_with(&self.url()) {
            return Err(format!(
                "verdaccio at {}: the packument has no {version} with a tarball on this server (dist.tarball {tarball:?})",
                self.url()
            ));
        }
        if ![401, 403].contains(&self.anonymous_status) {
            return Err(format!(
                "verdaccio at {}: an anonymous GET /@openai%2fcodex answered {}, not 401 or 403",
                self.url(),
                self.anonymous_status
            ));
        }
        Ok(())
    }
}

/// The config: this storage and htpasswd file, no uplinks, registration closed, every package
/// readable and publishable by authenticated users only, bodies up to 1 GB (a 150 MB tarball
/// travels base64 inside JSON), no web UI.
fn config_yaml(storage: &Path, htpasswd: &Path) -> String {
    format!(
        r#"storage: {storage:?}
auth:
  htpasswd:
    file: {htpasswd:?}
    max_users: -1
uplinks: {{}}
packages:
  '@openai/*':
    access: $authenticated
    publish: $authenticated
    unpublish: $authenticated
  '**':
    access: $authenticated
    publish: $authenticated
    unpublish: $authenticated
max_body_size: 1gb
web:
  enable: false
log: {{ type: stdout, format: pretty, level: http }}
"#,
        storage = storage.display().to_string(),
        htpasswd = htpasswd.display().to_string(),
    )
}

/// Spawn verdaccio on a free port until one is not taken first by someone else (at most
/// [`PORT_TRIES`] ports), and wait for its ping.
fn spawn_on_free_port(bin: &Path, config: &Path, log: &Path) -> Result<(ServerProcess, u16), String> {
    let mut last = String::new();
    for _ in 0..PORT_TRIES {
        let port = free_port()?;
        let mut node = Command::new("node");
        node.arg(bin).arg("--config").arg(config).args(["--listen", &format!("127.0.0.1:{port}")]);
        let mut process = ServerProcess::spawn("verdaccio", node, log)?;
        let host_port = format!("127.0.0.1:{port}");
        let ping = || http_request(&host_port, "GET", "/-/ping", &[], b"").is_ok_and(|r| r.status == 200);
        match process.wait_until(START_TIMEOUT, ping) {
            Ok(_) => return Ok((process, port)),
            Err(e @ StartError::Exited(_)) if e.port_taken() => last = e.message().to_owned(),
            Err(e) => return Err(e.message().to_owned()),
        }
    }
    Err(format!("verdaccio lost the race for a free port {PORT_TRIES} times; the last time:\n{last}"))
}

/// Log in the way `npm login` does: `PUT /-/user/org.couchdb.user:NAME` (as the user, since
/// registration is closed) answers a token.
fn login(host_port: &str) -> Result<String, String> {
    let body = serde_json::json!({ "name": USER, "password": PASSWORD }).to_string();
    let auth = basic_auth(USER, PASSWORD);
    let headers = [("Content-Type", "application/json"), ("Accept", "application/json"), ("Authorization", &auth)];
    let path = format!("/-/user/org.couchdb.user:{USER}");
    let r = http_request(host_port, "PUT", &path, &headers, body.as_bytes())
        .map_err(|e| format!("verdaccio at {host_port}: PUT {path} failed: {e}"))?;
    let json: Value = serde_json::from_slice(&r.body).unwrap_or_default();
    match json["token"].as_str() {
        Some(token) if r.status == 201 || r.status == 200 => Ok(token.to_owned()),
        _ => Err(format!("verdaccio at {host_port}: PUT {path} answered {} without a token: {}", r.status, r.text())),
    }
}

/// Install verdaccio [`VERDACCIO_VERSION`] once into `<target>/test-tools/verdaccio/` with npm
/// (`node-fetch` overridden to 2.7.0, with which 6.8.0 installs on Node 20); its entry script.
fn install() -> Result<PathBuf, Unavailable> {
    let tools = tools_dir();
    let root = tools.join("verdaccio");
    let bin = root.join("node_modules/verdaccio/bin/verdaccio");
    let marker = root.join(".installed");
    let installed = || bin.is_file() && std::fs::read_to_string(&marker).is_ok_and(|v| v.trim() == VERDACCIO_VERSION);
    if !on_path("node") {
        return Err(Unavailable::new("verdaccio needs node, which is not on PATH: install Node.js 20 or later"));
    }
    if installed() {
        return Ok(bin);
    }
    let _lock = lock(&tools.join(".lock-verdaccio")).map_err(Unavailable::new)?;
    if installed() {
        return Ok(bin);
    }
    let unavailable =
        |e: String| Unavailable::new(format!("verdaccio {VERDACCIO_VERSION} could not be installed: {e}"));
    run(Command::new("node").arg("--version"), "node, to run verdaccio").map_err(unavailable)?;
    let partial = tools.join(".partial-verdaccio");
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial).map_err(|e| unavailable(format!("cannot create {}: {e}", partial.display())))?;
    let package = serde_json::json!({
        "name": "codex-runtime-test-verdaccio",
        "version": "0.0.0",
        "private": true,
        "dependencies": { "verdaccio": VERDACCIO_VERSION },
        "overrides": { "node-fetch": "2.7.0" },
    });
    write(&partial.join("package.json"), &format!("{package:#}\n")).map_err(unavailable)?;
    let mut npm = Command::new("npm");
    npm.args(["install", "--no-audit", "--no-fund"]).current_dir(&partial);
    if let Err(e) = run(&mut npm, "npm install verdaccio") {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(unavailable(e));
    }
    let _ = std::fs::remove_dir_all(&root);
    std::fs::rename(&partial, &root)
        .map_err(|e| unavailable(format!("cannot move {} to {}: {e}", partial.display(), root.display())))?;
    write(&marker, VERDACCIO_VERSION).map_err(unavailable)?;
    Ok(bin)
}

/// The template storage holding `tarball` published, made once (under a lock) by publishing it
/// to an empty server: `<target>/test-tools/verdaccio-VERSION-storage-TARBALL/storage`.
fn template_storage(bin: &Path, tarball: &Path) -> Result<PathBuf, String> {
    let tools = tools_dir();
    let stem = tarball.file_stem().and_then(|s| s.to_str()).unwrap_or("tarball");
    let name = format!("verdaccio-{VERDACCIO_VERSION}-storage-{stem}");
    let root = tools.join(&name);
    let storage = root.join("storage");
    let complete = root.join(".complete");
    if complete.is_file() {
        return Ok(storage);
    }
    let _lock = lock(&tools.join(format!(".lock-{name}")))?;
    if complete.is_file() {
        return Ok(storage);
    }
    let _ = std::fs::remove_dir_all(&root);
    let mut server = Verdaccio::launch(bin, None)?;
    server
        .try_publish(tarball, REAL_NPM_SUFFIX)
        .map_err(|e| format!("{e}\nverdaccio's log:\n{}", server.log_tail()))?;
    // Stopped before its storage moves: nothing is written after the publish answered.
    server.process.stop();
    std::fs::create_dir_all(&root).map_err(|e| format!("cannot create {}: {e}", root.display()))?;
    let published = server.dir.path().join("storage");
    if std::fs::rename(&published, &storage).is_err() {
        copy_tree(&published, &storage)?;
    }
    write(&complete, &format!("{}\n", tarball.display()))?;
    Ok(storage)
}

/// Copy the tree `from` to `to`, hard-linking the tarballs (which are never written again).
fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    let entries = std::fs::read_dir(from).map_err(|e| format!("cannot list {}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", from.display()))?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(|e| format!("cannot stat {}: {e}", src.display()))?;
        if kind.is_dir() {
            copy_tree(&src, &dst)?;
        } else if src.extension().is_some_and(|x| x == "tgz") {
            link_or_copy(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst)
                .map_err(|e| format!("cannot copy {} to {}: {e}", src.display(), dst.display()))?;
        }
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
