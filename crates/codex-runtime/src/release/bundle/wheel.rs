//! The Python platform wheel, laid out like upstream's `openai-codex-cli-bin`:
//!
//! ```text
//! codex_cli_bin/__init__.py            the shim SDKs call: bundled_codex_path(), ...
//! codex_cli_bin/codex-package.json
//! codex_cli_bin/bin/, codex-path/, codex-resources/
//! openai_codex_cli_bin-V.dist-info/METADATA, WHEEL, RECORD
//! ```
//!
//! Files are streamed from the cache into the zip, deflated on every core ([`super::zip_out`]),
//! each re-hashed for `RECORD`.
//! Every member has upstream's fixed timestamp (2020-02-02) and a fixed order, so the wheel is
//! byte-for-byte reproducible.

use std::path::Path;

use base64::Engine as _;

use super::deflate::Pool;
use super::members::Members;
use super::zip_out::ZipOut;
use super::{BundleError, Format, Output, RuntimeRoot, WrittenFile, open_verified, write_archive, write_error};
use crate::model::manifest::Manifest;
use crate::model::target::Target;

/// The wheel's distribution and import package.
const DISTRIBUTION: &str = "openai-codex-cli-bin";
const PACKAGE: &str = "codex_cli_bin";

/// Upstream's `codex_cli_bin/__init__.py`, byte for byte (as published for the Unix tags).
const INIT_PY: &str = r#"import os
from pathlib import Path

PACKAGE_NAME = "openai-codex-cli-bin"
PACKAGE_METADATA_FILENAME = "codex-package.json"


def bundled_package_dir() -> Path:
    path = Path(__file__).resolve().parent
    metadata_path = path / PACKAGE_METADATA_FILENAME
    if not metadata_path.is_file():
        raise FileNotFoundError(
            f"{PACKAGE_NAME} is installed but missing its package metadata at {metadata_path}"
        )
    return path


def bundled_codex_path() -> Path:
    exe = "codex.exe" if os.name == "nt" else "codex"
    path = bundled_package_dir() / "bin" / exe
    if not path.is_file():
        raise FileNotFoundError(
            f"{PACKAGE_NAME} is installed but missing its packaged codex binary at {path}"
        )
    return path


def bundled_path_dir() -> Path | None:
    path = bundled_package_dir() / "codex-path"
    return path if path.is_dir() else None


__all__ = [
    "PACKAGE_NAME",
    "bundled_codex_path",
    "bundled_package_dir",
    "bundled_path_dir",
]
"#;

/// Upstream's `METADATA`, with the version filled in.
fn metadata(version: &str) -> String {
    format!(
        "Metadata-Version: 2.5
Name: {DISTRIBUTION}
Version: {version}
Summary: Pinned Codex CLI runtime for the Python SDK
Project-URL: Homepage, https://github.com/openai/codex
Project-URL: Repository, https://github.com/openai/codex
Project-URL: Issues, https://github.com/openai/codex/issues
Author: OpenAI
License: Apache-2.0
Classifier: Intended Audience :: Developers
Classifier: License :: OSI Approved :: Apache Software License
Classifier: Programming Language :: Python :: 3
Classifier: Programming Language :: Python :: 3.10
Classifier: Programming Language :: Python :: 3.11
Classifier: Programming Language :: Python :: 3.12
Classifier: Programming Language :: Python :: 3.13
Requires-Python: >=3.10
Description-Content-Type: text/markdown

# Codex CLI Runtime for Python SDK

Platform-specific runtime package consumed by the published `openai-codex`.

This package is staged during release so the SDK can pin an exact Codex CLI
version without checking platform binaries into the repo.

`{DISTRIBUTION}` is intentionally wheel-only. Do not build or publish an
sdist for this package.
"
    )
}

fn wheel_file(tag: &str) -> String {
    format!(
        "Wheel-Version: 1.0\nGenerator: codex-runtime {}\nRoot-Is-Purelib: false\nTag: py3-none-{tag}\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// The wheel's file name for a version and target.
pub fn file_name(pep440: &str, target: Target) -> String {
    format!("{}-{pep440}-py3-none-{}.whl", DISTRIBUTION.replace('-', "_"), target.wheel_tag())
}

/// A `RECORD` line's hash: `sha256=` + urlsafe base64 without padding.
fn record_hash(sha256: &crate::model::digest::Sha256) -> String {
    format!("sha256={}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha256.0))
}

pub(super) fn write(
    runtime: &RuntimeRoot,
    staging: &Path,
    manifest: &Manifest,
    target: Target,
    members: &Members,
) -> Result<(Output, Vec<WrittenFile>), BundleError> {
    let pep440 = manifest.version.pep440();
    let name = file_name(&pep440, target);
    let path = staging.join(&name);
    write_archive(staging, &name, Format::Wheel, |out| {
        let pool = Pool::new();
        let mut zip = ZipOut::new(out, &pool);
        let mut record = String::new();
        let add = |zip: &mut ZipOut<'_, _>, member: String, bytes: &[u8], record: &mut String| {
            zip.add(&member, 0o644, &mut &bytes[..]).map_err(write_error(&path))?;
            let (sha256, size) = crate::model::digest::Sha256::of_reader(bytes).map_err(write_error(&path))?;
            record.push_str(&format!("{member},{},{size}\n", record_hash(&sha256)));
            Ok::<(), BundleError>(())
        };
        add(&mut zip, format!("{PACKAGE}/__init__.py"), INIT_PY.as_bytes(), &mut record)?;
        // Upstream's order: the package description first, then the runtime's files.
        let carried = runtime.files.iter().filter(|f| members.carries(&f.path));
        let (described, rest): (Vec<_>, Vec<_>) = carried.partition(|f| f.path == "codex-package.json");
        for file in described.into_iter().chain(rest) {
            let member = format!("{PACKAGE}/{}", file.path);
            let mut reader = open_verified(file)?;
            let mode = if file.executable { 0o755 } else { 0o644 };
            zip.add(&member, mode, &mut reader).map_err(write_error(&path))?;
            let sha256 = reader.digests().expect("read to the end").sha256;
            record.push_str(&format!("{member},{},{}\n", record_hash(&sha256), file.size));
        }
        let dist_info = format!("{}-{pep440}.dist-info", DISTRIBUTION.replace('-', "_"));
        add(&mut zip, format!("{dist_info}/METADATA"), metadata(&pep440).as_bytes(), &mut record)?;
        add(&mut zip, format!("{dist_info}/WHEEL"), wheel_file(target.wheel_tag()).as_bytes(), &mut record)?;
        record.push_str(&format!("{dist_info}/RECORD,,\n"));
        zip.add(&format!("{dist_info}/RECORD"), 0o644, &mut record.as_bytes()).map_err(write_error(&path))?;
        zip.finish().map_err(write_error(&path))?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_hashes_are_urlsafe_base64_without_padding() {
        // Upstream's RECORD line for its __init__.py, whose bytes INIT_PY reproduces.
        let (sha256, size) = crate::model::digest::Sha256::of_reader(INIT_PY.as_bytes()).unwrap();
        assert_eq!(record_hash(&sha256), "sha256=HxF34wifCSjCAk7qrAAaYVJtRmUzXWa64MTbmNbyMFU");
        assert_eq!(size, 1005);
    }

    #[test]
    fn metadata_is_upstreams() {
        // sha256 of METADATA in the published 0.163.0 wheels.
        let (sha256, _) = crate::model::digest::Sha256::of_reader(metadata("0.163.0").as_bytes()).unwrap();
        assert_eq!(sha256.to_string(), "ea23ea1db0d692df7710ce1971db64ab2f541cb44c52211d45f6478c25ba83f4");
    }

    #[test]
    fn file_names_follow_the_published_ones() {
        assert_eq!(
            file_name("0.162.0a15", Target::Aarch64Darwin),
            "openai_codex_cli_bin-0.162.0a15-py3-none-macosx_11_0_arm64.whl"
        );
    }
}
