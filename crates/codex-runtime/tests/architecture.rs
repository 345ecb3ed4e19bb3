//! The library's stages import only from the stages below them (ARCHITECTURE.md).
//!
//! Each top-level module of `src/` is a stage with a rank; a file may name (`crate::stage...`)
//! its own stage and stages of a lower rank, never a stage of its own rank or above, and never the
//! crate root's re-exports: those are for users of the crate, and a stage reaching the root would
//! reach every stage. Comments are skipped, so doc links may point anywhere.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The stages, lowest first. Stages of one rank are independent of each other.
const STAGES: &[(&str, u8)] = &[
    ("model", 0),
    ("pipe", 0),
    ("reporter", 1),
    ("net", 1),
    ("extract", 1),
    ("cache", 2),
    ("fetch", 3),
    ("sources", 4),
    ("install", 5),
    ("release", 6),
    ("api", 7),
];

/// Code lines (not comments, not blank) a file may have before its `#[cfg(test)]` tests.
const MAX_CODE_LINES: usize = 600;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's code without comments (line comments, doc comments and block comments) and without
/// string literals, so neither a doc link nor a message can look like an import.
fn code_of(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for c in chars.by_ref() {
                    if last == '*' && c == '/' {
                        break;
                    }
                    last = c;
                }
            }
            '\'' if chars.peek() == Some(&'"') => {
                chars.next(); // the char literal '"'
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    match c {
                        '\\' if !escaped => escaped = true,
                        '"' if !escaped => break,
                        _ => escaped = false,
                    }
                }
                out.push_str("\"\"");
            }
            _ => out.push(c),
        }
    }
    out
}

/// The first path segment after every `crate::` in `code`, including each item of a
/// `crate::{a::x, b}` group.
fn crate_paths(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `codex_runtime_test_support::...` and the like
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            let mut at_start = true;
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        if !item.is_empty() {
                            found.push(std::mem::take(&mut item));
                        }
                        at_start = true;
                    }
                    c if at_start && (c.is_alphanumeric() || c == '_') => item.push(c),
                    _ if at_start && !item.is_empty() => {
                        found.push(std::mem::take(&mut item));
                        at_start = false;
                    }
                    _ => {}
                }
            }
            if !item.is_empty() {
                found.push(item);
            }
        } else {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            found.push(name);
        }
    }
    found
}

fn stage_of(file: &Path) -> Option<&'static str> {
    let relative = file.strip_prefix(src()).unwrap();
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    STAGES.iter().find(|(s, _)| *s == name).map(|(s, _)| *s)
}

fn rank(stage: &str) -> Option<u8> {
    STAGES.iter().find(|(s, _)| *s == stage).map(|(_, r)| *r)
}

#[test]
fn every_file_belongs_to_a_stage() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let strays: Vec<_> = files
        .iter()
        .filter(|f| stage_of(f).is_none() && f.file_name().unwrap() != "lib.rs")
        .map(|f| f.strip_prefix(src()).unwrap().display().to_string())
        .collect();
    assert!(strays.is_empty(), "files outside every stage (add them to a stage and to ARCHITECTURE.md): {strays:?}");
}

#[test]
fn stages_import_only_from_below() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut wrong: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &files {
        let Some(stage) = stage_of(file) else { continue };
        let own = rank(stage).unwrap();
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        for name in crate_paths(&code) {
            let allowed = name == stage || rank(&name).is_some_and(|r| r < own);
            if !allowed {
                let why = match rank(&name) {
                    Some(r) => format!("crate::{name} (rank {r}, {stage} is {own})"),
                    None => format!("crate::{name} (the crate root)"),
                };
                let key = file.strip_prefix(src()).unwrap().display().to_string();
                let list = wrong.entry(key).or_default();
                if !list.contains(&why) {
                    list.push(why);
                }
            }
        }
    }
    assert!(wrong.is_empty(), "imports against the stage order of ARCHITECTURE.md: {wrong:#?}");
}

#[test]
fn no_file_is_over_the_size_limit() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut long = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let before_tests = text.split("#[cfg(test)]").next().unwrap();
        let code = code_of(before_tests);
        let lines = code.lines().filter(|l| !l.trim().is_empty()).count();
        if lines > MAX_CODE_LINES {
            long.push(format!("{} ({lines})", file.strip_prefix(src()).unwrap().display()));
        }
    }
    assert!(long.is_empty(), "files over {MAX_CODE_LINES} code lines before their tests: {long:?}");
}

/// Environment variables are named and read in one place (`model/env.rs`); every other file
/// takes an `Env` or the settings read from one.
#[test]
fn only_model_env_reads_the_environment() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let readers: Vec<String> = files
        .iter()
        .filter(|f| !f.ends_with("model/env.rs"))
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            let code = code_of(text.split("#[cfg(test)]").next().unwrap());
            ["env::var(", "env::var_os(", "env::vars(", "env::vars_os("].iter().any(|call| code.contains(call))
        })
        .map(|f| f.strip_prefix(src()).unwrap().display().to_string())
        .collect();
    assert!(readers.is_empty(), "files reading the environment themselves (use model::env): {readers:?}");
}

#[test]
fn the_checker_sees_imports_and_skips_comments() {
    let code = code_of(
        "use crate::a::b;\n// crate::c\n/// [`crate::d`]\nlet s = \"crate::e\"; let q = '\"';\nuse crate::{f::g, h, i::{j, k}};\n/* crate::l */ x = crate::m::n(); y = other_crate::o;",
    );
    assert_eq!(crate_paths(&code), ["a", "f", "h", "i", "m"]);
}
