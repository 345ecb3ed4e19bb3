//! Small fixture runtimes packed the way upstream publishes them, and a manifest pinning them.

use std::io::Write;

use base64::Engine as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256, Sha512};

/// One file of a runtime root.
#[derive(Debug, Clone)]
pub struct FixtureFile {
    pub path: String,
    pub contents: Vec<u8>,
    pub executable: bool,
}

/// A runtime root for one target at one version.
#[derive(Debug, Clone)]
pub struct FixtureRuntime {
    /// semver spelling, e.g. `0.163.0` or `0.162.0-alpha.15`.
    pub version: String,
    /// PEP 440 spelling, e.g. `0.162.0a15`.
    pub pep440: String,
    pub target: String,
    pub npm_suffix: String,
    pub wheel_tag: String,
    pub files: Vec<FixtureFile>,
}

/// `codex_cli_bin/__init__.py`, the one file of the wheel's runtime root that is not a runtime file.
pub const WHEEL_INIT_PY: &[u8] =
    b"from pathlib import Path\n\ndef bundled_codex_path():\n    return Path(__file__).resolve().parent / 'bin' / 'codex'\n";

/// The fixed modification time of every member, so fixtures are byte-for-byte reproducible.
const MTIME: u64 = 499_162_500;

impl FixtureRuntime {
    /// A runtime for the x86_64 Linux target whose entrypoint is a shell script printing
    /// `codex-cli VERSION` for `--version`.
    pub fn linux_x64(version: &str, pep440: &str) -> FixtureRuntime {
        Self::new(version, pep440, "x86_64-unknown-linux-musl", "linux-x64", "manylinux_2_17_x86_64")
    }

    pub fn new(version: &str, pep440: &str, target: &str, npm_suffix: &str, wheel_tag: &str) -> FixtureRuntime {
        let entrypoint = if target.contains("windows") { "bin/codex.exe" } else { "bin/codex" };
        let package = json!({
            "layoutVersion": 1, "version": version, "target": target, "variant": "codex",
            "entrypoint": entrypoint, "resourcesDir": "codex-resources", "pathDir": "codex-path",
        });
        let script = format!("#!/bin/sh\necho \"codex-cli {version}\"\necho \"args: $*\" >&2\n");
        let file = |path: &str, contents: Vec<u8>, executable| FixtureFile { path: path.into(), contents, executable };
        FixtureRuntime {
            version: version.into(),
            pep440: pep440.into(),
            target: target.into(),
            npm_suffix: npm_suffix.into(),
            wheel_tag: wheel_tag.into(),
            files: vec![
                file("codex-package.json", serde_json::to_vec_pretty(&package).unwrap(), false),
                file(entrypoint, script.into_bytes(), true),
                file("bin/codex-code-mode-host", b"#!/bin/sh\nexit 0\n".to_vec(), true),
                file("codex-path/rg", b"#!/bin/sh\necho rg-fixture\n".to_vec(), true),
                file("codex-resources/bwrap", b"fixture bwrap\n".to_vec(), true),
            ],
        }
    }

    pub fn entrypoint(&self) -> &FixtureFile {
        let name = if self.target.contains("windows") { "bin/codex.exe" } else { "bin/codex" };
        self.files.iter().find(|f| f.path == name).expect("fixtures have an entrypoint")
    }

    /// Replace a file's contents (to build a runtime that fails its pins).
    pub fn with_file(mut self, path: &str, contents: &[u8]) -> FixtureRuntime {
        match self.files.iter_mut().find(|f| f.path == path) {
            Some(f) => f.contents = contents.to_vec(),
            None => self.files.push(FixtureFile { path: path.into(), contents: contents.to_vec(), executable: false }),
        }
        self
    }

    /// The runtime without the files under `prefix` (an artifact that leaves them out, as
    /// upstream's manylinux wheels leave out `codex-resources/voice/`).
    pub fn without(mut self, prefix: &str) -> FixtureRuntime {
        self.files.retain(|f| !f.path.starts_with(prefix));
        self
    }

    pub fn npm_file_name(&self) -> String {
        format!("openai-codex-{}-{}.tgz", self.version, self.npm_suffix)
    }

    pub fn wheel_file_name(&self) -> String {
        format!("openai_codex_cli_bin-{}-py3-none-{}.whl", self.pep440, self.wheel_tag)
    }

    pub fn github_asset_name(&self) -> String {
        format!("codex-package-{}.tar.gz", self.target)
    }

    /// The npm platform tarball: `package/package.json` and `package/vendor/TRIPLE/...`.
    pub fn npm_tgz(&self) -> Vec<u8> {
        let package_json = json!({
            "name": "@openai/codex", "version": format!("{}-{}", self.version, self.npm_suffix),
            "files": ["vendor"],
        });
        let mut members =
            vec![("package/package.json".to_owned(), serde_json::to_vec_pretty(&package_json).unwrap(), false)];
        for f in &self.files {
            members.push((format!("package/vendor/{}/{}", self.target, f.path), f.contents.clone(), f.executable));
        }
        tar_gz(&members)
    }

    /// The GitHub release package: the runtime root at the top of a tar.gz.
    pub fn github_tgz(&self) -> Vec<u8> {
        let members: Vec<_> = self.files.iter().map(|f| (f.path.clone(), f.contents.clone(), f.executable)).collect();
        tar_gz(&members)
    }

    /// The PyPI runtime wheel: `codex_cli_bin/...` plus a `.dist-info`.
    pub fn wheel(&self) -> Vec<u8> {
        let dist_info = format!("openai_codex_cli_bin-{}.dist-info", self.pep440);
        let mut members: Vec<(String, Vec<u8>, bool)> =
            vec![("codex_cli_bin/__init__.py".into(), WHEEL_INIT_PY.to_vec(), false)];
        for f in &self.files {
            members.push((format!("codex_cli_bin/{}", f.path), f.contents.clone(), f.executable));
        }
        let metadata = format!("Metadata-Version: 2.1\nName: openai-codex-cli-bin\nVersion: {}\n", self.pep440);
        let wheel = format!(
            "Wheel-Version: 1.0\nGenerator: fixture\nRoot-Is-Purelib: false\nTag: py3-none-{}\n",
            self.wheel_tag
        );
        members.push((format!("{dist_info}/METADATA"), metadata.into_bytes(), false));
        members.push((format!("{dist_info}/WHEEL"), wheel.into_bytes(), false));
        let mut record = String::new();
        for (path, contents, _) in &members {
            let digest = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(contents));
            record.push_str(&format!("{path},sha256={digest},{}\n", contents.len()));
        }
        record.push_str(&format!("{dist_info}/RECORD,,\n"));
        members.push((format!("{dist_info}/RECORD"), record.into_bytes(), false));
        zip_archive(&members)
    }

    /// Every file of the runtime root across the npm tarball and the wheel (the runtime's files
    /// and the wheel's `__init__.py`), as the manifest's `files` pins them: sorted by path.
    pub fn file_pins(&self) -> Value {
        let mut files: Vec<(&str, &[u8])> =
            self.files.iter().map(|f| (f.path.as_str(), f.contents.as_slice())).collect();
        if !files.iter().any(|(path, _)| *path == "__init__.py") {
            files.push(("__init__.py", WHEEL_INIT_PY));
        }
        files.sort_by(|a, b| a.0.cmp(b.0));
        files
            .into_iter()
            .map(|(path, contents)| json!({"path": path, "sha256": sha256_hex(contents), "size": contents.len()}))
            .collect()
    }

    /// This target's entry of a channel manifest pinning the given artifacts.
    pub fn manifest_target(&self, npm: &[u8], wheel: &[u8]) -> Value {
        let entry = self.entrypoint();
        let unpacked = |extra: usize| self.files.iter().map(|f| f.contents.len()).sum::<usize>() + extra;
        let npm_extra = serde_json::to_vec_pretty(&json!({
            "name": "@openai/codex", "version": format!("{}-{}", self.version, self.npm_suffix), "files": ["vendor"],
        }))
        .unwrap()
        .len();
        json!({
            "entrypoint": {"path": entry.path, "sha256": sha256_hex(&entry.contents), "size": entry.contents.len()},
            "artifacts": {
                "npm": {
                    "package": "@openai/codex",
                    "version": format!("{}-{}", self.version, self.npm_suffix),
                    "file": self.npm_file_name(),
                    "sha256": sha256_hex(npm),
                    "integrity": integrity(npm),
                    "size": npm.len(),
                    "unpacked_size": unpacked(npm_extra),
                    "entries": self.files.len() + 1,
                    "blocks": block_pins(npm),
                },
                "wheel": {
                    "distribution": "openai-codex-cli-bin",
                    "version": self.pep440,
                    "file": self.wheel_file_name(),
                    "sha256": sha256_hex(wheel),
                    "size": wheel.len(),
                    "unpacked_size": unpacked(64 * 1024),
                    "entries": self.files.len() + 4,
                    "blocks": block_pins(wheel),
                },
                "github": {
                    "tag": format!("rust-v{}", self.version),
                    "asset": self.github_asset_name(),
                    "sha256": null,
                    "size": null,
                },
            },
            "files": self.file_pins(),
        })
    }
}

/// A channel manifest pinning the given target entries.
pub fn manifest(channel: &str, version: &str, targets: &[(&str, Value)]) -> Value {
    let mut map = serde_json::Map::new();
    for (triple, entry) in targets {
        map.insert((*triple).to_owned(), entry.clone());
    }
    json!({"schema_version": 1, "channel": channel, "version": version, "targets": map})
}

/// Bytes that do not compress (xorshift), so an artifact is as large as its runtime.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// The block size fixture manifests pin: the smallest allowed, so a small fixture has several.
pub const FIXTURE_BLOCK_SIZE: usize = 64 * 1024;

/// The manifest's `blocks` for an artifact.
pub fn block_pins(artifact: &[u8]) -> Value {
    let digests: Vec<String> = artifact.chunks(FIXTURE_BLOCK_SIZE).map(sha256_hex).collect();
    json!({"size": FIXTURE_BLOCK_SIZE, "sha256": digests})
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn integrity(bytes: &[u8]) -> String {
    format!("sha512-{}", base64::engine::general_purpose::STANDARD.encode(Sha512::digest(bytes)))
}

/// A reproducible tar.gz of regular files (directories implied).
pub fn tar_gz(members: &[(String, Vec<u8>, bool)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    for (path, contents, executable) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(if *executable { 0o755 } else { 0o644 });
        header.set_mtime(MTIME);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, path, contents.as_slice()).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// A reproducible zip of regular files with their Unix modes.
pub fn zip_archive(members: &[(String, Vec<u8>, bool)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (path, contents, executable) in members {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(if *executable { 0o755 } else { 0o644 })
            .last_modified_time(zip::DateTime::from_date_and_time(2020, 2, 2, 0, 0, 0).unwrap());
        writer.start_file(path.as_str(), options).unwrap();
        writer.write_all(contents).unwrap();
    }
    writer.finish().unwrap().into_inner()
}
