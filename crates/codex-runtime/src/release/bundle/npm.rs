//! The npm platform package `@openai/codex@V-SUFFIX`, as `npm pack` would name and lay it out:
//! `package/package.json` and the runtime root under `package/vendor/TRIPLE/`.
//!
//! Files are streamed from the cache through the tar builder and a gzip member deflated on every
//! core ([`super::deflate`]). Members carry
//! npm's fixed timestamp (1985-10-26 08:15), owner 0 and a fixed order, and the gzip header no
//! timestamp, so the tarball is byte-for-byte reproducible.

use std::io::Write;
use std::path::Path;

use serde_json::json;

use super::deflate::Pool;
use super::members::Members;
use super::{BundleError, Format, Output, RuntimeRoot, WrittenFile, open_verified, write_archive, write_error};
use crate::model::manifest::Manifest;
use crate::model::target::Target;

/// The timestamp `npm pack` gives every member.
const NPM_MTIME: u64 = 499_162_500;

/// The tarball's file name, as `npm pack` names it.
pub fn file_name(version: &str, target: Target) -> String {
    format!("openai-codex-{version}-{}.tgz", target.npm_suffix())
}

/// Upstream's `package.json` of a platform package.
fn package_json(version: &str, target: Target) -> Vec<u8> {
    let (os, cpu) = target.npm_suffix().split_once('-').expect("npm suffixes are OS-CPU");
    let package = json!({
        "name": "@openai/codex",
        "version": format!("{version}-{}", target.npm_suffix()),
        "license": "Apache-2.0",
        "os": [os],
        "cpu": [cpu],
        "files": ["vendor"],
        "repository": {
            "type": "git",
            "url": "git+https://github.com/openai/codex.git",
            "directory": "codex-cli",
        },
        "engines": {"node": ">=16"},
    });
    let mut bytes = serde_json::to_vec_pretty(&package).expect("a package.json always serializes");
    bytes.push(b'\n');
    bytes
}

fn header(size: u64, executable: bool) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(size);
    header.set_mode(if executable { 0o755 } else { 0o644 });
    header.set_mtime(NPM_MTIME);
    header.set_uid(0);
    header.set_gid(0);
    header
}

pub(super) fn write(
    runtime: &RuntimeRoot,
    staging: &Path,
    manifest: &Manifest,
    target: Target,
    members: &Members,
) -> Result<(Output, Vec<WrittenFile>), BundleError> {
    let version = manifest.version.to_string();
    let name = file_name(&version, target);
    let path = staging.join(&name);
    write_archive(staging, &name, Format::Npm, |out| {
        let pool = Pool::new();
        let gz = pool.gzip(out).map_err(write_error(&path))?;
        let mut tar = tar::Builder::new(gz);
        let package = package_json(&version, target);
        tar.append_data(&mut header(package.len() as u64, false), "package/package.json", package.as_slice())
            .map_err(write_error(&path))?;
        for file in runtime.files.iter().filter(|f| members.carries(&f.path)) {
            let member = format!("package/vendor/{}/{}", target.triple(), file.path);
            // The tar builder reads to the end, where the reader checks the receipt's digest.
            let mut reader = open_verified(file)?;
            tar.append_data(&mut header(file.size, file.executable), &member, &mut reader)
                .map_err(write_error(&path))?;
        }
        let gz = tar.into_inner().map_err(write_error(&path))?;
        gz.finish().map_err(write_error(&path))?.flush().map_err(write_error(&path))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_json_names_the_platform() {
        let v: serde_json::Value = serde_json::from_slice(&package_json("0.163.0", Target::Aarch64Windows)).unwrap();
        assert_eq!(v["name"], "@openai/codex");
        assert_eq!(v["version"], "0.163.0-win32-arm64");
        assert_eq!(v["os"], json!(["win32"]));
        assert_eq!(v["cpu"], json!(["arm64"]));
        assert_eq!(v["files"], json!(["vendor"]));
        assert_eq!(file_name("0.163.0", Target::X86_64Linux), "openai-codex-0.163.0-linux-x64.tgz");
    }
}
