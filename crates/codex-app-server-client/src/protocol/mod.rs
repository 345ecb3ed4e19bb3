//! The protocol a runtime speaks, as it describes it: `CODEX app-server generate-json-schema
//! --out DIR [--experimental]` writes JSON Schemas (`ClientRequest.json`, `ServerRequest.json`,
//! `ServerNotification.json`, `v1/`, `v2/` with one file per type). [`generate`] runs it,
//! [`Schema::read`] reads such a directory, [`Schema::digest`] is the sha256 of its canonical
//! form, and [`diff`] says what changed between two schemas and whether a client of the first
//! can talk to the second.

mod diff;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest as _, Sha256};

pub use diff::{Change, Delta, Diff, diff};

use crate::Error;
use crate::handshake::{kill_group, path_with};

/// How long [`generate`] waits for the runtime to write its schema (a real one takes 0.1 s).
pub const DEFAULT_SCHEMA_TIMEOUT: Duration = Duration::from_secs(30);
/// The most files a schema directory may hold (a real one has about 400).
const MAX_FILES: usize = 20_000;
/// The largest schema file read (the biggest real one, the bundle of every type, is about 2 MB).
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// How deep a schema directory may nest (a real one: `v2/X.json`).
const MAX_DEPTH: usize = 8;
/// How much of the runtime's stderr a failure quotes.
const STDERR_TAIL_BYTES: u64 = 4096;

/// The files of the three method unions.
const CLIENT_REQUESTS: &str = "ClientRequest.json";
const SERVER_REQUESTS: &str = "ServerRequest.json";
const NOTIFICATIONS: &str = "ServerNotification.json";

/// Runs `codex_bin app-server generate-json-schema --out out [--experimental]` with
/// `path_dir` first on `PATH` and a temporary `CODEX_HOME`, waiting at most `timeout`; then
/// reads what it wrote.
///
/// # Errors
/// [`Error::Spawn`] when the binary cannot be started, [`Error::SchemaFailed`] when it fails,
/// [`Error::SchemaTimeout`] when it takes too long (it is killed with its process group), and
/// the errors of [`Schema::read`].
pub fn generate(
    codex_bin: &Path,
    path_dir: Option<&Path>,
    out: &Path,
    experimental: bool,
    timeout: Duration,
) -> Result<Schema, Error> {
    let home = tempfile::Builder::new()
        .prefix("codex-runtime-schema-")
        .tempdir()
        .map_err(|source| Error::TempHome { source })?;
    let stderr_path = home.path().join("stderr");
    let io = |source| Error::SchemaRead { path: stderr_path.clone(), source };
    let stderr = File::create(&stderr_path).map_err(io)?;
    let mut command = Command::new(codex_bin);
    command.args(["app-server", "generate-json-schema", "--out"]).arg(out);
    if experimental {
        command.arg("--experimental");
    }
    command.env("CODEX_HOME", home.path()).stdin(Stdio::null()).stdout(Stdio::null()).stderr(stderr);
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    if let Some(path) = path_with(path_dir)? {
        command.env("PATH", path);
    }
    let mut child = command.spawn().map_err(|source| Error::Spawn { program: codex_bin.to_owned(), source })?;
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|source| Error::Wait { pid: child.id(), source })? {
            break status;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            kill_group(&mut child);
            let _ = child.wait();
            return Err(Error::SchemaTimeout { program: codex_bin.to_owned(), after: timeout });
        }
        std::thread::sleep(pause.min(left));
        pause = (pause * 2).min(Duration::from_millis(20));
    };
    if !status.success() {
        let stderr = tail(&stderr_path).unwrap_or_default();
        return Err(Error::SchemaFailed { program: codex_bin.to_owned(), status: status.to_string(), stderr });
    }
    Schema::read(out)
}

/// The last [`STDERR_TAIL_BYTES`] of a file, as trimmed text.
fn tail(path: &Path) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(STDERR_TAIL_BYTES)))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).trim().to_owned())
}

/// A runtime's protocol schema: every JSON file of a `generate-json-schema` directory, by its
/// path relative to the directory (`/`-separated).
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    files: BTreeMap<String, Value>,
}

impl Schema {
    /// Reads every `.json` file under `dir` (other files are ignored).
    ///
    /// # Errors
    /// [`Error::SchemaRead`] when a file cannot be read, [`Error::SchemaInvalid`] when one is
    /// not JSON, the directory is not a schema (no `ClientRequest.json`) or is too big.
    pub fn read(dir: &Path) -> Result<Schema, Error> {
        let mut files = BTreeMap::new();
        read_dir(dir, "", 0, &mut files)?;
        if !files.contains_key(CLIENT_REQUESTS) {
            return Err(Error::SchemaInvalid {
                path: dir.to_owned(),
                message: format!(
                    "it has no {CLIENT_REQUESTS}: give a directory `codex app-server generate-json-schema --out DIR` wrote"
                ),
            });
        }
        Ok(Schema { files })
    }

    /// A schema from its files' contents, by relative path (for tests and fuzzing).
    pub fn from_files(files: BTreeMap<String, Value>) -> Schema {
        Schema { files }
    }

    /// The files, by relative path.
    pub fn files(&self) -> &BTreeMap<String, Value> {
        &self.files
    }

    /// The canonical form: one JSON object from each file's relative path to its content, every
    /// object's keys sorted, no whitespace. It depends neither on the order the files were
    /// written or listed in nor on the directory they were written to.
    pub fn canonical(&self) -> String {
        let mut out = String::new();
        out.push('{');
        for (i, (path, value)) in self.files.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_canonical(&Value::String(path.clone()), &mut out);
            out.push(':');
            write_canonical(value, &mut out);
        }
        out.push('}');
        out
    }

    /// The sha256 of [`Schema::canonical`], in lowercase hex.
    pub fn digest(&self) -> String {
        let hash = Sha256::digest(self.canonical().as_bytes());
        let mut hex = String::with_capacity(64);
        for byte in hash {
            let _ = write!(hex, "{byte:02x}");
        }
        hex
    }

    /// The methods of the client's requests (`ClientRequest.json`), sorted.
    pub fn client_requests(&self) -> BTreeSet<String> {
        self.methods(CLIENT_REQUESTS)
    }

    /// The methods of the server's requests to the client (`ServerRequest.json`), sorted.
    pub fn server_requests(&self) -> BTreeSet<String> {
        self.methods(SERVER_REQUESTS)
    }

    /// The methods of the server's notifications (`ServerNotification.json`), sorted.
    pub fn notifications(&self) -> BTreeSet<String> {
        self.methods(NOTIFICATIONS)
    }

    /// The type files under `v2/`.
    pub fn v2_types(&self) -> usize {
        self.files.keys().filter(|path| path.starts_with("v2/")).count()
    }

    /// The `method` of each variant of a union file: `oneOf[].properties.method.enum[0]`.
    fn methods(&self, file: &str) -> BTreeSet<String> {
        self.variants(file).filter_map(|(method, _)| method).collect()
    }

    /// Each variant of a union file: its method and its `params` type name.
    fn variants(&self, file: &str) -> impl Iterator<Item = (Option<String>, Option<String>)> + '_ {
        let variants = self.files.get(file).and_then(|union| union.get("oneOf")).and_then(Value::as_array);
        variants.into_iter().flatten().map(|variant| {
            let properties = variant.get("properties");
            let method = properties
                .and_then(|p| p.get("method"))
                .and_then(|m| m.get("enum").and_then(|e| e.get(0)).or_else(|| m.get("const")).and_then(Value::as_str));
            let params = properties.and_then(|p| p.get("params")).and_then(|p| p.get("$ref")).and_then(Value::as_str);
            (method.map(str::to_owned), params.map(|r| ref_name(r).to_owned()))
        })
    }
}

/// What a version's pin says of its protocol (the manifests' `protocol` object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedProtocol {
    /// The pinned version.
    pub version: String,
    /// The sha256 of the canonical form of its schema.
    pub sha256: String,
    /// Its number of client request methods.
    pub client_requests: usize,
    /// Its number of server request methods.
    pub server_requests: usize,
    /// Its number of notification methods.
    pub notifications: usize,
}

/// The problem with a binary that reports `pin.version` but whose `schema` is not the pinned
/// one, or `None` when it is. `pinned_schema`, the pinned runtime's own schema when at hand,
/// makes the message name the differences; without it the message compares the counts.
pub fn against_pin(schema: &Schema, pin: &PinnedProtocol, pinned_schema: Option<&Schema>) -> Option<crate::Problem> {
    let digest = schema.digest();
    if digest == pin.sha256 {
        return None;
    }
    let detail = match pinned_schema {
        Some(pinned) => {
            let diff = diff(pinned, schema, &pin.version, "this binary");
            let mut detail = diff.summary();
            let breaking = breaking_lines(&diff);
            if !breaking.is_empty() {
                detail.push_str(&format!(" ({})", breaking.join("; ")));
            }
            detail
        }
        None => {
            let counts = [
                ("client request methods", schema.client_requests().len(), pin.client_requests),
                ("server request methods", schema.server_requests().len(), pin.server_requests),
                ("notifications", schema.notifications().len(), pin.notifications),
            ];
            let mut parts: Vec<String> = counts
                .iter()
                .filter(|(_, have, pinned)| have != pinned)
                .map(|(what, have, pinned)| format!("{have} {what} where {} has {pinned}", pin.version))
                .collect();
            parts.push(format!("schema sha256 {digest}, pinned {}", pin.sha256));
            format!(
                "{}; install {v} and run `codex-runtime protocol diff {v} BINARY` to see every difference",
                parts.join(", "),
                v = pin.version
            )
        }
    };
    Some(crate::Problem::ProtocolMismatch { reported: pin.version.clone(), detail })
}

/// The breaking differences of a diff, at most five, as short lines.
pub fn breaking_lines(diff: &Diff) -> Vec<String> {
    let mut lines = breaking(diff);
    let more = lines.len().saturating_sub(5);
    lines.truncate(5);
    if more > 0 {
        lines.push(format!("{more} more"));
    }
    lines
}

/// Every breaking difference of a diff, as short lines: the methods removed, then the breaking
/// type changes (`ReviewDelivery: enum value "detached" removed`).
pub fn breaking(diff: &Diff) -> Vec<String> {
    let groups = [
        ("client request", &diff.methods),
        ("server request", &diff.server_requests),
        ("notification", &diff.notifications),
    ];
    let mut lines: Vec<String> = groups
        .iter()
        .flat_map(|(noun, delta)| delta.removed.iter().map(move |m| format!("{noun} {m} removed")))
        .collect();
    lines.extend(diff.changes.iter().filter(|c| c.breaking).map(|c| {
        if c.field.is_empty() {
            format!("{}: {}", c.type_name, c.change)
        } else {
            format!("{}.{}: {}", c.type_name, c.field, c.change)
        }
    }));
    lines
}

/// The type a `$ref` names: its last path segment (`#/definitions/X` is `X`).
fn ref_name(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

fn read_dir(dir: &Path, prefix: &str, depth: usize, files: &mut BTreeMap<String, Value>) -> Result<(), Error> {
    let read_error = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::SchemaRead { path, source }
    };
    let invalid = |path: &Path, message: String| Error::SchemaInvalid { path: path.to_owned(), message };
    if depth > MAX_DEPTH {
        return Err(invalid(dir, format!("it nests deeper than {MAX_DEPTH} directories")));
    }
    let mut entries: Vec<(String, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_error(dir))? {
        let entry = entry.map_err(read_error(dir))?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
        entries.push((name, entry.path()));
    }
    entries.sort();
    for (name, path) in entries {
        let meta = std::fs::metadata(&path).map_err(read_error(&path))?;
        let relative = format!("{prefix}{name}");
        if meta.is_dir() {
            read_dir(&path, &format!("{relative}/"), depth + 1, files)?;
        } else if meta.is_file() && name.ends_with(".json") {
            if files.len() >= MAX_FILES {
                return Err(invalid(dir, format!("it holds more than {MAX_FILES} schema files")));
            }
            if meta.len() > MAX_FILE_BYTES {
                return Err(invalid(&path, format!("it is larger than {MAX_FILE_BYTES} bytes")));
            }
            let bytes = std::fs::read(&path).map_err(read_error(&path))?;
            let value = serde_json::from_slice(&bytes).map_err(|e| invalid(&path, format!("it is not JSON: {e}")))?;
            files.insert(relative, value);
        }
    }
    Ok(())
}

/// Appends `value` with sorted keys and no whitespace.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_canonical_form_sorts_keys_and_drops_whitespace() {
        let a = Schema::from_files(BTreeMap::from([
            ("v2/B.json".to_owned(), json!({"z": [1, {"b": true, "a": null}], "a": "x y"})),
            ("A.json".to_owned(), json!({"k": 1.5})),
        ]));
        assert_eq!(a.canonical(), r#"{"A.json":{"k":1.5},"v2/B.json":{"a":"x y","z":[1,{"a":null,"b":true}]}}"#);
        let same: Value =
            serde_json::from_str("{ \"a\" : \"x y\",\n \"z\": [1, {\"a\": null, \"b\": true}] }").unwrap();
        let b = Schema::from_files(BTreeMap::from([
            ("A.json".to_owned(), json!({"k": 1.5})),
            ("v2/B.json".to_owned(), same),
        ]));
        assert_eq!(a.digest(), b.digest());
        let c = Schema::from_files(BTreeMap::from([("A.json".to_owned(), json!({"k": 1.5}))]));
        assert_ne!(a.digest(), c.digest());
        assert_eq!(a.digest().len(), 64);
    }

    #[test]
    fn reading_a_directory_ignores_order_and_location() {
        let one = tempfile::tempdir().unwrap();
        let two = tempfile::tempdir().unwrap();
        std::fs::create_dir(one.path().join("v2")).unwrap();
        std::fs::create_dir(two.path().join("v2")).unwrap();
        std::fs::write(one.path().join("ClientRequest.json"), r#"{"oneOf":[]}"#).unwrap();
        std::fs::write(one.path().join("v2/T.json"), r#"{"b":1,"a":2}"#).unwrap();
        std::fs::write(two.path().join("v2/T.json"), "{\"a\": 2, \"b\": 1}\n").unwrap();
        std::fs::write(two.path().join("ClientRequest.json"), r#"{ "oneOf": [] }"#).unwrap();
        std::fs::write(two.path().join("README.md"), "not a schema").unwrap();
        let (a, b) = (Schema::read(one.path()).unwrap(), Schema::read(two.path()).unwrap());
        assert_eq!(a.digest(), b.digest());
        assert_eq!(a.v2_types(), 1);
        let empty = tempfile::tempdir().unwrap();
        let error = Schema::read(empty.path()).unwrap_err().to_string();
        assert!(error.contains("not a protocol schema"), "{error}");
        std::fs::write(one.path().join("v2/Bad.json"), "{").unwrap();
        assert!(Schema::read(one.path()).unwrap_err().to_string().contains("Bad.json"));
    }

    #[test]
    fn methods_come_from_the_unions() {
        let union = |methods: &[&str]| {
            let variants: Vec<Value> = methods
                .iter()
                .map(|m| json!({"properties": {"method": {"enum": [m]}, "params": {"$ref": "#/definitions/P"}}}))
                .collect();
            json!({"oneOf": variants})
        };
        let schema = Schema::from_files(BTreeMap::from([
            (CLIENT_REQUESTS.to_owned(), union(&["thread/start", "initialize"])),
            (SERVER_REQUESTS.to_owned(), union(&["item/tool/call"])),
            (NOTIFICATIONS.to_owned(), json!({"oneOf": [{"properties": {"method": {"const": "error"}}}]})),
        ]));
        assert_eq!(schema.client_requests().into_iter().collect::<Vec<_>>(), ["initialize", "thread/start"]);
        assert_eq!(schema.server_requests().len(), 1);
        assert_eq!(schema.notifications().into_iter().collect::<Vec<_>>(), ["error"]);
    }
}
