//! Compiles the pinned history in: `channels/heads.json` and every `channels/versions/*.json`,
//! each as its own string, so a command parses only the manifest it needs; and each manifest
//! split into its header (with no targets) and one string per target, so a command about one
//! runtime parses only that target's pins.

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
    // The names again, in one string: looking a version up reads one page of the binary, not
    // one beside each manifest's text.
    let names: Vec<&str> = versions.iter().map(|(version, _)| version.as_str()).collect();
    writeln!(out, "pub(crate) static NAMES: &str = {:?};", names.join(" ")).unwrap();
    writeln!(out, "pub(crate) static PARTS: &[(&str, &[(&str, &str)])] = &[").unwrap();
    for (_, path) in &versions {
        let text = std::fs::read_to_string(path).expect("a manifest");
        let mut manifest: serde_json::Value = serde_json::from_str(&text).expect("a manifest of valid JSON");
        let targets = manifest.get_mut("targets").map(serde_json::Value::take).unwrap_or_default();
        manifest["targets"] = serde_json::json!({});
        writeln!(out, "    ({:?}, &[", manifest.to_string()).unwrap();
        for (triple, pins) in targets.as_object().into_iter().flatten() {
            writeln!(out, "        ({triple:?}, {:?}),", pins.to_string()).unwrap();
        }
        writeln!(out, "    ]),").unwrap();
    }
    writeln!(out, "];").unwrap();
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("pinned.rs");
    std::fs::write(dest, out).expect("write pinned.rs");
}
