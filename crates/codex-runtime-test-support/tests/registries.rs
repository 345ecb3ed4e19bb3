//! The registry fixtures work with the ordinary clients: `npm` reads the real tarball from
//! verdaccio with the token and is refused without it; `pip` downloads the real wheel from
//! pypiserver with credentials and is refused without them. Slow (real 150 MB artifacts), so few.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output};

use codex_runtime_test_support::fixture::FixtureRuntime;
use codex_runtime_test_support::registries::{REAL_NPM_SUFFIX, REAL_VERSION, Verdaccio, skip_or_fail};

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
