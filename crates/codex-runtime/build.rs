//! Compiles the pinned history in: `channels/heads.json` and every `channels/versions/*.json`,
//! each as its own string, so a command parses only the manifest it needs.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let channels = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../channels");
    let channels = channels.canonicalize().expect("the channels/ directory of the repository");
    println!("cargo::rerun-if-changed={}", channels.display());
    let mut versions: Vec<(String, String)> = std::fs::read_dir(channels.join("versions"))
        .expect("channels/versions/")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let stem = path.file_stem().expect("a file name").to_string_lossy().into_owned();
            (stem, path.display().to_string())
        })
        .collect();
    versions.sort();
    let mut out = String::new();
    let heads = channels.join("heads.json");
    writeln!(out, "pub(crate) static HEADS: &str = include_str!({:?});", heads.display().to_string()).unwrap();
    writeln!(out, "pub(crate) static VERSIONS: &[(&str, &str)] = &[").unwrap();
    for (version, path) in &versions {
        writeln!(out, "    ({version:?}, include_str!({path:?})),").unwrap();
    }
    writeln!(out, "];").unwrap();
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("pinned.rs");
    std::fs::write(dest, out).expect("write pinned.rs");
}
