//! The registry fixtures work with the ordinary clients: `npm` reads the real tarball from
//! verdaccio with the token and is refused without it; `pip` downloads the real wheel from
//! pypiserver with credentials and is refused without them. Slow (real 150 MB artifacts), so few.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output};

use codex_runtime_test_support::fixture::FixtureRuntime;
use codex_runtime_test_support::registries::{
    PyPiServer, REAL_NPM_SUFFIX, REAL_VERSION, REAL_WHEEL_PLATFORM, Verdaccio, skip_or_fail,
};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `npm view SPEC dist.tarball` against `registry` with this user config, in an empty
/// directory with an empty cache.
fn npm_view(registry: &str, spec: &str, userconfig: &Path, dir: &Path) -> Output {
    Command::new("npm")
        .args(["view", spec, "dist.tarball", "--registry", registry, "--fetch-retries", "0"])
        .arg("--userconfig")
        .arg(userconfig)
        .arg("--cache")
        .arg(dir.join("npm-cache"))
        .current_dir(dir)
        .output()
        .expect("npm runs")
}

/// `pip download -vv` (which logs each status) of the real wheel from `index_url` into `dest`,
/// with no user configuration.
fn pip_download(index_url: &str, dest: &Path) -> Output {
    Command::new("python3")
        .args(["-m", "pip", "download", "-vv", "--no-deps", "--no-input", "--no-cache-dir", "--retries", "0"])
        .args(["--only-binary=:all:", "--platform", REAL_WHEEL_PLATFORM])
        .arg(format!("openai-codex-cli-bin=={REAL_VERSION}"))
        .args(["--index-url", index_url, "-d"])
        .arg(dest)
        .env("PIP_CONFIG_FILE", "/dev/null")
        .env_remove("PIP_FIND_LINKS")
        .env_remove("PIP_INDEX_URL")
        .env_remove("PIP_EXTRA_INDEX_URL")
        .output()
        .expect("python3 -m pip runs")
}

#[test]
fn npm_reads_the_real_tarball_from_verdaccio_only_with_the_token() {
    let Some(npm) = Verdaccio::start_or_skip() else { return };
    eprintln!("verdaccio at {} started in {:?}", npm.url(), npm.started_in());
    assert!(matches!(npm.anonymous_status(), 401 | 403), "{}", npm.anonymous_status());
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("@openai/codex@{REAL_VERSION}-{REAL_NPM_SUFFIX}");

    let out = npm_view(&npm.url(), &spec, npm.npmrc(), dir.path());
    assert!(out.status.success(), "{}\n{}\n{}", text(&out.stdout), text(&out.stderr), npm.log_tail());
    let tarball = text(&out.stdout).trim().to_owned();
    assert_eq!(tarball, format!("{}@openai/codex/-/codex-{REAL_VERSION}-{REAL_NPM_SUFFIX}.tgz", npm.url()));

    let empty = dir.path().join("empty-npmrc");
    std::fs::write(&empty, "").unwrap();
    let anonymous = npm_view(&npm.url(), &spec, &empty, dir.path());
    assert!(!anonymous.status.success(), "an anonymous read succeeded: {}", text(&anonymous.stdout));
    assert!(text(&anonymous.stderr).contains("E401"), "{}", text(&anonymous.stderr));

    // Stopped on drop: nothing listens on its port any more.
    let host_port = npm.host_port();
    drop(npm);
    assert!(TcpStream::connect(&host_port).is_err(), "verdaccio still listens on {host_port}");
}

#[test]
fn verdaccio_publishes_a_fixture_tarball_with_npm() {
    let Some(npm) = skip_or_fail(Verdaccio::start_empty()) else { return };
    let dir = tempfile::tempdir().unwrap();
    let fixture = FixtureRuntime::linux_x64("0.999.0", "0.999.0");
    let tgz = dir.path().join(fixture.npm_file_name());
    std::fs::write(&tgz, fixture.npm_tgz()).unwrap();
    npm.publish(&tgz, "fixture-linux-x64");

    let out = npm_view(&npm.url(), "@openai/codex@0.999.0-linux-x64", npm.npmrc(), dir.path());
    assert!(out.status.success(), "{}\n{}", text(&out.stderr), npm.log_tail());
    assert_eq!(text(&out.stdout).trim(), format!("{}@openai/codex/-/codex-0.999.0-linux-x64.tgz", npm.url()));
}

#[test]
fn pip_downloads_the_real_wheel_from_pypiserver_only_with_credentials() {
    let Some(pypi) = PyPiServer::start_or_skip() else { return };
    eprintln!("pypiserver at {} started in {:?}", pypi.index_url(), pypi.started_in());
    assert_eq!(pypi.anonymous_status(), 401);
    let dir = tempfile::tempdir().unwrap();

    let dest = dir.path().join("with-credentials");
    let out = pip_download(&pypi.index_url_with_credentials(), &dest);
    assert!(out.status.success(), "{}\n{}\n{}", text(&out.stdout), text(&out.stderr), pypi.log_tail());
    let wheel = pypi.wheel().expect("the real wheel is served");
    let downloaded = dest.join(wheel.file_name().unwrap());
    assert_eq!(std::fs::metadata(&downloaded).unwrap().len(), std::fs::metadata(wheel).unwrap().len());

    let anonymous = pip_download(&pypi.index_url(), &dir.path().join("anonymous"));
    assert!(!anonymous.status.success(), "an anonymous download succeeded: {}", text(&anonymous.stdout));
    let said = format!("{}{}", text(&anonymous.stdout), text(&anonymous.stderr));
    assert!(said.contains("401 Client Error: Unauthorized"), "{said}");

    let host_port = pypi.host_port();
    drop(pypi);
    assert!(TcpStream::connect(&host_port).is_err(), "pypiserver still listens on {host_port}");
}
