//! Block pins: a tarball or a wheel extracted from its verified blocks while it downloads, a bad block
//! that stops the download and is named, a resumed file that keeps only its good blocks, and a
//! restart that falls back to extracting the verified file. The fixture's tarball carries
//! incompressible noise so that it spans several of the fixture manifests' 64 KiB blocks.

use std::process::Output;

use codex_runtime_test_support::fixture::{FIXTURE_BLOCK_SIZE, FixtureRuntime, noise, sha256_hex};
use codex_runtime_test_support::http::{Fault, TestServer};

use crate::common::*;

const BLOCK: usize = FIXTURE_BLOCK_SIZE;

/// A runtime whose npm tarball is about ten blocks long.
fn large() -> Fixture {
    let runtime =
        FixtureRuntime::linux_x64("0.163.0", "0.163.0").with_file("codex-resources/large.bin", &noise(10 * BLOCK, 7));
    let fixture = Fixture::of(runtime, "stable");
    assert!(fixture.npm.len() > 10 * BLOCK, "the tarball spans more than ten blocks");
    fixture
}

/// Serve only the npm tarball on a mirror, so the install takes it.
fn serve_npm_only(server: &TestServer, fixture: &Fixture, npm: Vec<u8>) -> (String, String) {
    let path = format!("/mirror/{}", fixture.runtime.npm_file_name());
    server.add(&path, npm);
    (format!("{}/mirror", server.url()), path)
}

fn install(env: &Env, fixture: &Fixture, mirror: &str) -> Output {
    let manifest = env.manifest(&fixture.manifest);
    env.cmd()
        .args(["-vv", "install", "--manifest", &manifest, "--target", LINUX, "--source", "mirror", "--mirror", mirror])
        .env("CODEX_RUNTIME_RETRIES", "2")
        .output()
        .unwrap()
}

fn part_file(env: &Env, fixture: &Fixture) -> std::path::PathBuf {
    env.cache().join("downloads").join(format!("{}.part", sha256_hex(&fixture.npm)))
}

fn installed_large_file(env: &Env) -> Vec<u8> {
    let root = env.cache().join("runtimes/0.163.0").join(LINUX);
    std::fs::read(root.join("codex-resources/large.bin")).unwrap()
}

const STREAMED: &str = "extracted from its verified blocks as it downloaded";

#[test]
fn a_tarball_is_extracted_from_its_verified_blocks_while_it_downloads() {
    let (env, fixture, server) = (Env::new(), large(), TestServer::start());
    let (mirror, path) = serve_npm_only(&server, &fixture, fixture.npm.clone());
    // Slow enough that the extraction has to wait for blocks still to come.
    server.fault(&path, Fault::Trickle { chunk: BLOCK / 2, delay_ms: 10 });

    let out = install(&env, &fixture, &mirror);
    assert_code(&out, 0);
    let stderr = text(&out.stderr);
    assert!(stderr.contains(STREAMED), "{stderr}");
    assert_eq!(installed_large_file(&env), noise(10 * BLOCK, 7));
    assert!(!part_file(&env, &fixture).exists());
    assert!(env.cache_listing().iter().all(|p| !p.starts_with("tmp/install-")), "{:?}", env.cache_listing());
}

#[test]
fn a_wheel_is_extracted_from_its_verified_blocks_while_it_downloads() {
    let (env, fixture, server) = (Env::new(), large(), TestServer::start());
    assert!(fixture.wheel.len() > 10 * BLOCK);
    let path = format!("/mirror/{}", fixture.runtime.wheel_file_name());
    server.add(&path, fixture.wheel.clone());
    server.fault(&path, Fault::Trickle { chunk: BLOCK / 2, delay_ms: 10 });

    let out = install(&env, &fixture, &format!("{}/mirror", server.url()));
    assert_code(&out, 0);
    let stderr = text(&out.stderr);
    assert!(stderr.contains(STREAMED), "{stderr}");
    assert_eq!(installed_large_file(&env), noise(10 * BLOCK, 7));
    // The exec bits come from the central directory, read last.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let root = env.cache().join("runtimes/0.163.0").join(LINUX);
        let mode = |p: &str| std::fs::metadata(root.join(p)).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode("bin/codex"), mode("codex-resources/large.bin")), (0o755, 0o644));
    }
}

#[test]
fn a_bad_block_stops_the_download_and_is_named() {
    let (env, fixture, server) = (Env::new(), large(), TestServer::start());
    let mut bad = fixture.npm.clone();
    bad[4 * BLOCK + 10] ^= 0x01;
    let (mirror, _) = serve_npm_only(&server, &fixture, bad);

    let out = install(&env, &fixture, &mirror);
    assert_code(&out, 4);
    let stderr = text(&out.stderr);
    let expected = format!("block 4 (bytes {}..{}) does not match its pin", 4 * BLOCK, 5 * BLOCK);
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(!stderr.contains(STREAMED), "{stderr}");
    let listing = env.cache_listing();
    assert!(listing.iter().all(|p| !p.starts_with("runtimes/0.163.0/")), "nothing installed: {listing:?}");
    assert!(listing.iter().all(|p| !p.starts_with("tmp/install-")), "nothing left: {listing:?}");
    assert!(!part_file(&env, &fixture).exists(), "bad bytes are not kept");
}

#[test]
fn a_resumed_download_keeps_only_the_blocks_before_the_first_bad_one() {
    let (env, fixture, server) = (Env::new(), large(), TestServer::start());
    let (mirror, path) = serve_npm_only(&server, &fixture, fixture.npm.clone());
    let mut partial = fixture.npm[..6 * BLOCK + 100].to_vec();
    partial[3 * BLOCK + 5] ^= 0x01;
    std::fs::create_dir_all(env.cache().join("downloads")).unwrap();
    std::fs::write(part_file(&env, &fixture), &partial).unwrap();

    let out = install(&env, &fixture, &mirror);
    assert_code(&out, 0);
    let requests = server.requests_for(&path);
    assert_eq!(requests.len(), 1, "{requests:?}");
    let expected = format!("bytes={}-", 3 * BLOCK);
    assert_eq!(requests[0].header("range"), Some(expected.as_str()), "blocks 0 to 2 kept, block 3 dropped");
    assert!(text(&out.stderr).contains(STREAMED), "{}", text(&out.stderr));
    assert_eq!(installed_large_file(&env), noise(10 * BLOCK, 7));
}

#[test]
fn a_cut_connection_resumes_and_the_extraction_goes_on() {
    let (env, fixture, server) = (Env::new(), large(), TestServer::start());
    let (mirror, path) = serve_npm_only(&server, &fixture, fixture.npm.clone());
    server.faults(&path, [Fault::Truncate((5 * BLOCK + 123) as u64)]);

    let out = install(&env, &fixture, &mirror);
    assert_code(&out, 0);
    let requests = server.requests_for(&path);
    assert_eq!(requests.len(), 2, "{requests:?}");
    let expected = format!("bytes={}-", 5 * BLOCK + 123);
    assert_eq!(requests[1].header("range"), Some(expected.as_str()));
    assert!(text(&out.stderr).contains(STREAMED), "{}", text(&out.stderr));
    assert_eq!(installed_large_file(&env), noise(10 * BLOCK, 7));
}

#[test]
fn a_restarted_download_is_extracted_again_from_the_verified_file() {
    let (env, fixture, server) = (Env::new(), large(), TestServer::start());
    let (mirror, path) = serve_npm_only(&server, &fixture, fixture.npm.clone());
    // Cut after five blocks, then answer the resumption with the whole body: the bytes the
    // extraction has read are written again, so what it made is not used.
    server.faults(&path, [Fault::Truncate((5 * BLOCK + 123) as u64), Fault::IgnoreRange]);

    let out = install(&env, &fixture, &mirror);
    assert_code(&out, 0);
    let stderr = text(&out.stderr);
    assert_eq!(server.hits(&path), 2);
    assert!(!stderr.contains(STREAMED), "{stderr}");
    assert!(stderr.contains("extracting again from the verified file (the download restarted)"), "{stderr}");
    assert_eq!(installed_large_file(&env), noise(10 * BLOCK, 7));
    assert!(env.cache_listing().iter().all(|p| !p.starts_with("tmp/install-")), "{:?}", env.cache_listing());
}

#[test]
fn a_hostile_member_in_pinned_blocks_is_refused_as_it_streams() {
    // Even a tarball the manifest pins block by block is extracted with every safety check: a
    // link out of the tree is refused, and nothing is written outside the scratch directory.
    let runtime =
        FixtureRuntime::linux_x64("0.163.0", "0.163.0").with_file("codex-resources/large.bin", &noise(4 * BLOCK, 3));
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    let vendor = format!("package/vendor/{LINUX}");
    let large = noise(4 * BLOCK, 3);
    let mut header = tar::Header::new_gnu();
    header.set_size(large.len() as u64);
    header.set_mode(0o644);
    builder.append_data(&mut header, format!("{vendor}/codex-resources/large.bin"), large.as_slice()).unwrap();
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Symlink);
    header.set_size(0);
    builder.append_link(&mut header, format!("{vendor}/escape"), "../../../../../../../../tmp").unwrap();
    let hostile = builder.into_inner().unwrap().finish().unwrap();
    let wheel = runtime.wheel();
    let target = runtime.manifest_target(&hostile, &wheel);
    let manifest = codex_runtime_test_support::fixture::manifest("stable", "0.163.0", &[(LINUX, target)]);
    let fixture = Fixture { runtime, npm: hostile.clone(), wheel, manifest };
    let (env, server) = (Env::new(), TestServer::start());
    let (mirror, _) = serve_npm_only(&server, &fixture, hostile);

    let out = install(&env, &fixture, &mirror);
    assert_code(&out, 4);
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("archive member `{vendor}/escape` is refused")), "{stderr}");
    let listing = env.cache_listing();
    assert!(listing.iter().all(|p| !p.starts_with("runtimes/0.163.0/")), "nothing installed: {listing:?}");
    assert!(listing.iter().all(|p| !p.starts_with("tmp/install-")), "nothing left: {listing:?}");
}

/// Regression: a block spoilt by a connection that broke and completed by the resumed request
/// failed a healthy source (exit 4) and threw away the verified blocks before it.
#[test]
fn a_bad_block_completed_by_a_resumed_request_is_fetched_again_from_its_start() {
    let (env, fixture, server) = (Env::new(), large(), TestServer::start());
    let (mirror, path) = serve_npm_only(&server, &fixture, fixture.npm.clone());
    // Good bytes into block 5, then 1000 with one flipped, then the connection drops.
    server.faults(&path, [Fault::Garble { good: (5 * BLOCK + 100) as u64, bad: 1000 }]);

    let out = install(&env, &fixture, &mirror);
    assert_code(&out, 0);
    let ranges: Vec<_> = server.requests_for(&path).iter().map(|r| r.header("range").map(str::to_owned)).collect();
    let expected = [None, Some(format!("bytes={}-", 5 * BLOCK + 1100)), Some(format!("bytes={}-", 5 * BLOCK))];
    assert_eq!(ranges, expected, "resumed, then block 5 once more; blocks 0 to 4 kept");
    assert!(text(&out.stderr).contains(STREAMED), "{}", text(&out.stderr));
    assert_eq!(installed_large_file(&env), noise(10 * BLOCK, 7));
}

#[test]
fn a_bad_block_gets_one_more_try_only() {
    let (env, fixture, server) = (Env::new(), large(), TestServer::start());
    let mut bad = fixture.npm.clone();
    bad[5 * BLOCK + 10] ^= 0x01;
    let (mirror, path) = serve_npm_only(&server, &fixture, bad);
    server.faults(&path, [Fault::Truncate((5 * BLOCK + 1100) as u64)]);

    let out = install(&env, &fixture, &mirror);
    assert_code(&out, 4);
    let ranges: Vec<_> = server.requests_for(&path).iter().map(|r| r.header("range").map(str::to_owned)).collect();
    let expected = [None, Some(format!("bytes={}-", 5 * BLOCK + 1100)), Some(format!("bytes={}-", 5 * BLOCK))];
    assert_eq!(ranges, expected, "the block that came whole from one request is the source's fault");
    assert!(text(&out.stderr).contains("block 5"), "{}", text(&out.stderr));
    assert!(!part_file(&env, &fixture).exists(), "bad bytes are not kept");
}
