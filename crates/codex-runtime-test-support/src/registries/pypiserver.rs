//! A real private Python index: pypiserver on 127.0.0.1 serving a directory that holds the real
//! `openai-codex-cli-bin` 0.163.0 manylinux x86_64 wheel, with every read (the simple index and
//! the downloads) behind basic auth, and no fallback to any other index.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::process::{ServerProcess, StartError};
use super::{
    REAL_VERSION, REAL_WHEEL_PLATFORM, Unavailable, basic_auth, free_port, htpasswd_line, http_request, link_or_copy,
    lock, on_path, run, run_dir, skip_or_fail, tools_dir, try_real_wheel,
};

/// The pypiserver release installed.
pub const PYPISERVER_VERSION: &str = "2.4.2";
/// passlib, which pypiserver needs to read an htpasswd file.
const PASSLIB_VERSION: &str = "1.7.4";

/// The one user of every server.
const USER: &str = "codex-test";
/// Its password (no character that needs escaping in a URL).
const PASSWORD: &str = "codex-test-password-1";
/// How long a server may take to answer its health check.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How many ports a server tries when another process takes its port first.
const PORT_TRIES: usize = 3;
/// The project whose page is checked at start.
const PROJECT: &str = "openai-codex-cli-bin";

/// A running pypiserver on `127.0.0.1:PORT`, killed and reaped on drop. Its packages
/// directory, htpasswd and log live in a temporary directory removed on drop.
pub struct PyPiServer {
    // Dropped first: the server stops before its directory goes.
    process: ServerProcess,
    port: u16,
    packages: PathBuf,
    wheel: Option<PathBuf>,
    anonymous_status: u16,
    started_in: Duration,
    dir: tempfile::TempDir,
}

impl PyPiServer {
    /// A server holding the real 0.163.0 wheel, or `None` after the skip policy of
    /// [`skip_or_fail`] when pypiserver or the wheel cannot be had.
    pub fn start_or_skip() -> Option<PyPiServer> {
        skip_or_fail(PyPiServer::start())
    }

    /// A server holding the real 0.163.0 wheel, checked to serve it: with basic auth its
    /// simple page links the wheel with a `#sha256=` fragment, without it the page is refused.
    ///
    /// # Panics
    /// When pypiserver is installed but does not come up or does not serve the wheel (the
    /// message has the tail of its log).
    pub fn start() -> Result<PyPiServer, Unavailable> {
        let started = Instant::now();
        let python = install()?;
        let wheel = try_real_wheel(REAL_VERSION, REAL_WHEEL_PLATFORM)?;
        let mut server = PyPiServer::launch(&python, &[&wheel]).unwrap_or_else(|e| panic!("{e}"));
        if let Err(e) = server.check_real_wheel() {
            panic!("{e}\npypiserver's log ({}):\n{}", server.process.log().display(), server.log_tail());
        }
        server.started_in = started.elapsed();
        Ok(server)
    }

    /// A server with an empty packages directory (add files with [`PyPiServer::add_package`]),
    /// or why pypiserver cannot be installed.
    ///
    /// # Panics
    /// When pypiserver is installed but does not come up.
    pub fn start_empty() -> Result<PyPiServer, Unavailable> {
        let started = Instant::now();
        let python = install()?;
        let mut server = PyPiServer::launch(&python, &[]).unwrap_or_else(|e| panic!("{e}"));
        server.started_in = started.elapsed();
        Ok(server)
    }

    /// `http://127.0.0.1:PORT/simple/`
    pub fn index_url(&self) -> String {
        format!("http://127.0.0.1:{}/simple/", self.port)
    }

    /// `http://USER:PASSWORD@127.0.0.1:PORT/simple/`, as pip's `--index-url` takes credentials.
    pub fn index_url_with_credentials(&self) -> String {
        format!("http://{USER}:{PASSWORD}@127.0.0.1:{}/simple/", self.port)
    }

    /// `127.0.0.1:PORT`
    pub fn host_port(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The user's name.
    pub fn user(&self) -> &str {
        USER
    }

    /// The user's password.
    pub fn password(&self) -> &str {
        PASSWORD
    }

    /// The served directory.
    pub fn packages_dir(&self) -> &Path {
        &self.packages
    }

    /// The real wheel in the served directory (`None` for [`PyPiServer::start_empty`]).
    pub fn wheel(&self) -> Option<&Path> {
        self.wheel.as_deref()
    }

    /// Serve `file` too (hard-linked into the served directory, which is read at every request).
    ///
    /// # Panics
    /// When it cannot be linked or copied there.
    pub fn add_package(&self, file: &Path) -> PathBuf {
        let name = file.file_name().unwrap_or_else(|| panic!("{} has no file name", file.display()));
        let into = self.packages.join(name);
        link_or_copy(file, &into).unwrap_or_else(|e| panic!("{e}"));
        into
    }

    /// What an anonymous read of the simple index answers (pypiserver 2.4.2: 401).
    pub fn anonymous_status(&self) -> u16 {
        self.anonymous_status
    }

    /// How long [`PyPiServer::start`] took, installing and fetching included.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// The temporary directory of this server (packages, htpasswd, log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        self.process.log_tail()
    }

    /// Start pypiserver on a free port serving a directory holding `files`.
    fn launch(python: &Path, files: &[&Path]) -> Result<PyPiServer, String> {
        let dir = run_dir("pypiserver-")?;
        let packages = dir.path().join("packages");
        std::fs::create_dir_all(&packages).map_err(|e| format!("cannot create {}: {e}", packages.display()))?;
        let mut wheel = None;
        for file in files {
            let name = file.file_name().ok_or_else(|| format!("{} has no file name", file.display()))?;
            let into = packages.join(name);
            link_or_copy(file, &into)?;
            wheel.get_or_insert(into);
        }
        let htpasswd = dir.path().join("htpasswd");
        std::fs::write(&htpasswd, htpasswd_line(USER, PASSWORD))
            .map_err(|e| format!("cannot write {}: {e}", htpasswd.display()))?;
        let log = dir.path().join("pypiserver.log");
        let (process, port) = spawn_on_free_port(python, &htpasswd, &packages, &log)?;
        let anonymous_status =
            http_request(&format!("127.0.0.1:{port}"), "GET", &format!("/simple/{PROJECT}/"), &[], b"")
                .map_err(|e| format!("pypiserver on port {port}: an anonymous read failed: {e}"))?
                .status;
        Ok(PyPiServer { process, port, packages, wheel, anonymous_status, started_in: Duration::ZERO, dir })
    }

    /// The real wheel is listed, with its sha256, to the user, and refused to anonymous readers.
    fn check_real_wheel(&self) -> Result<(), String> {
        let name = self.wheel.as_deref().and_then(Path::file_name).and_then(|n| n.to_str()).unwrap_or_default();
        let path = format!("/simple/{PROJECT}/");
        let auth = basic_auth(USER, PASSWORD);
        let page = http_request(&self.host_port(), "GET", &path, &[("Authorization", &auth)], b"")
            .map_err(|e| format!("pypiserver at {}: GET {path} failed: {e}", self.index_url()))?;
        let text = page.text();
        if page.status != 200 || !text.contains(&format!("{name}#sha256=")) {
            return Err(format!(
                "pypiserver at {}: GET {path} with basic auth answered {} without a link to {name}#sha256=…: {text}",
                self.index_url(),
                page.status
            ));
        }
        if ![401, 403].contains(&self.anonymous_status) {
            return Err(format!(
                "pypiserver at {}: an anonymous GET {path} answered {}, not 401 or 403",
                self.index_url(),
                self.anonymous_status
            ));
        }
        Ok(())
    }
}

/// Spawn pypiserver on a free port until one is not taken first by someone else (at most
/// [`PORT_TRIES`] ports), and wait for its health check.
fn spawn_on_free_port(
    python: &Path,
    htpasswd: &Path,
    packages: &Path,
    log: &Path,
) -> Result<(ServerProcess, u16), String> {
    let mut last = String::new();
    for _ in 0..PORT_TRIES {
        let port = free_port()?;
        let mut cmd = Command::new(python);
        cmd.args(["-m", "pypiserver", "run", "-i", "127.0.0.1", "-p", &port.to_string()])
            .args(["-a", "download,list,update", "--disable-fallback", "--hash-algo", "sha256"])
            .arg("-P")
            .arg(htpasswd)
            .arg(packages)
            .env("PYTHONUNBUFFERED", "1");
        let mut process = ServerProcess::spawn("pypiserver", cmd, log)?;
        let host_port = format!("127.0.0.1:{port}");
        let health = || http_request(&host_port, "GET", "/health", &[], b"").is_ok_and(|r| r.status == 200);
        match process.wait_until(START_TIMEOUT, health) {
            Ok(_) => return Ok((process, port)),
            Err(e @ StartError::Exited(_)) if e.port_taken() => last = e.message().to_owned(),
            Err(e) => return Err(e.message().to_owned()),
        }
    }
    Err(format!("pypiserver lost the race for a free port {PORT_TRIES} times; the last time:\n{last}"))
}

/// Install pypiserver [`PYPISERVER_VERSION`] and passlib once into a venv at
/// `<target>/test-tools/pypiserver-venv/`; its python.
fn install() -> Result<PathBuf, Unavailable> {
    let tools = tools_dir();
    let venv = tools.join("pypiserver-venv");
    let python = venv.join("bin/python");
    let marker = venv.join(".installed");
    let want = format!("pypiserver=={PYPISERVER_VERSION} passlib=={PASSLIB_VERSION}");
    let installed = || python.is_file() && std::fs::read_to_string(&marker).is_ok_and(|v| v.trim() == want);
    if installed() {
        return Ok(python);
    }
    if !on_path("python3") {
        return Err(Unavailable::new("pypiserver is installed with python3, which is not on PATH: install Python 3"));
    }
    let _lock = lock(&tools.join(".lock-pypiserver-venv")).map_err(Unavailable::new)?;
    if installed() {
        return Ok(python);
    }
    let unavailable =
        |e: String| Unavailable::new(format!("pypiserver {PYPISERVER_VERSION} could not be installed: {e}"));
    // A venv is not relocatable: made in place, and only the marker, written last, says it is whole.
    let _ = std::fs::remove_dir_all(&venv);
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv), "python3 -m venv").map_err(unavailable)?;
    let mut pip = Command::new(&python);
    pip.args(["-m", "pip", "install", "--no-input", "--quiet"]).args(want.split(' ')).current_dir(&venv);
    if let Err(e) = run(&mut pip, "pip install pypiserver") {
        let _ = std::fs::remove_dir_all(&venv);
        return Err(unavailable(e));
    }
    std::fs::write(&marker, &want).map_err(|e| unavailable(format!("cannot write {}: {e}", marker.display())))?;
    Ok(python)
}
