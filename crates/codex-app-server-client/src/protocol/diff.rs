//! What changed between two protocol schemas, and whether a client written against the first
//! can talk to a server speaking the second.
//!
//! The verdict's rules. Methods: every client request, server request and notification of A
//! must still be in B. Types (the roots of the `v1/`, `v2/` and top-level files and every
//! definition, by name): a property A has must still be there with the same type (a `$ref` to a
//! plain scalar type counts as that scalar). What the client sends (the params of client
//! requests and notifications, the responses to server requests, and what they reference) must
//! not become required nor lose enum values or union variants in B. What the client only
//! receives may gain required properties and lose enum values: the client reads less than it
//! was ready for. Added methods, types and optional properties are never breaking.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::{CLIENT_REQUESTS, NOTIFICATIONS, SERVER_REQUESTS, Schema, ref_name};

/// Client notifications: what the client sends without an answer.
const CLIENT_NOTIFICATIONS: &str = "ClientNotification.json";
/// How deep a type description follows `$ref`s, arrays and unions.
const MAX_DESCRIBE_DEPTH: usize = 8;

/// The `protocol diff --json` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diff {
    /// What the first side is (a version, a binary, a directory).
    pub from: String,
    /// What the second side is.
    pub to: String,
    /// Whether a client written against `from` can talk to `to`.
    pub compatible: bool,
    /// Client request methods.
    pub methods: Delta,
    /// Server request methods.
    pub server_requests: Delta,
    /// Server notification methods.
    pub notifications: Delta,
    /// Type changes, breaking ones first, then by type and field.
    pub changes: Vec<Change>,
}

/// Names added and removed, sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Delta {
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// One change to one type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The type's name, e.g. `ReviewDelivery`.
    #[serde(rename = "type")]
    pub type_name: String,
    /// The property, or empty for the type itself.
    pub field: String,
    /// What changed, e.g. `removed`, `became required`, `enum value "detached" removed`.
    pub change: String,
    /// Whether it breaks a client of the first side.
    #[serde(skip)]
    pub breaking: bool,
}

impl Diff {
    /// The breaking changes, and the methods removed, in a sentence: `5 methods added, 1
    /// breaking type change`, or `no difference`.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        for (delta, noun) in [
            (&self.methods, "method"),
            (&self.server_requests, "server request"),
            (&self.notifications, "notification"),
        ] {
            for (count, verb) in [(delta.added.len(), "added"), (delta.removed.len(), "removed")] {
                if count > 0 {
                    parts.push(format!("{count} {noun}{} {verb}", if count == 1 { "" } else { "s" }));
                }
            }
        }
        let breaking = self.changes.iter().filter(|c| c.breaking).count();
        let other = self.changes.len() - breaking;
        for (count, what) in [(breaking, "breaking type change"), (other, "compatible type change")] {
            if count > 0 {
                parts.push(format!("{count} {what}{}", if count == 1 { "" } else { "s" }));
            }
        }
        if parts.is_empty() { "no difference in methods or types".to_owned() } else { parts.join(", ") }
    }
}

/// What changed from `a` to `b`; `from` and `to` name them in the result.
pub fn diff(a: &Schema, b: &Schema, from: &str, to: &str) -> Diff {
    let delta = |old: BTreeSet<String>, new: BTreeSet<String>| Delta {
        added: new.difference(&old).cloned().collect(),
        removed: old.difference(&new).cloned().collect(),
    };
    let methods = delta(a.client_requests(), b.client_requests());
    let server_requests = delta(a.server_requests(), b.server_requests());
    let notifications = delta(a.notifications(), b.notifications());
    let (old, new) = (Types::of(a), Types::of(b));
    let sent = old.sent(a);
    let mut changes = Vec::new();
    for (name, schema) in &old.types {
        if let Some(now) = new.types.get(name) {
            compare(name, schema, now, sent.contains(name.as_str()), &old, &new, &mut changes);
        }
    }
    changes.sort_by(|x, y| (!x.breaking, &x.type_name, &x.field).cmp(&(!y.breaking, &y.type_name, &y.field)));
    let compatible = methods.removed.is_empty()
        && server_requests.removed.is_empty()
        && notifications.removed.is_empty()
        && !changes.iter().any(|c| c.breaking);
    Diff { from: from.to_owned(), to: to.to_owned(), compatible, methods, server_requests, notifications, changes }
}

/// Every named type of a schema: file roots (`v2/` first, then `v1/`, then the top level),
/// then the definitions, each name once.
struct Types<'a> {
    types: BTreeMap<String, &'a Value>,
}

impl<'a> Types<'a> {
    fn of(schema: &'a Schema) -> Types<'a> {
        let mut types = BTreeMap::new();
        let files = || {
            schema.files.iter().filter(|(path, _)| !path.starts_with("codex_app_server_protocol")).filter_map(
                |(path, value)| {
                    let stem = path.rsplit('/').next()?.strip_suffix(".json")?;
                    let rank = if path.starts_with("v2/") {
                        0
                    } else if path.starts_with("v1/") {
                        1
                    } else {
                        2
                    };
                    Some((rank, stem, value))
                },
            )
        };
        let mut roots: Vec<(u8, &str, &Value)> = files().collect();
        roots.sort_by_key(|(rank, stem, _)| (*rank, *stem));
        // The method unions are compared as methods, not as types.
        let unions = [CLIENT_REQUESTS, SERVER_REQUESTS, NOTIFICATIONS, CLIENT_NOTIFICATIONS];
        for (rank, stem, value) in &roots {
            if !(*rank == 2 && unions.iter().any(|file| file.strip_suffix(".json") == Some(*stem))) {
                types.entry((*stem).to_owned()).or_insert(*value);
            }
        }
        for (_, _, value) in roots {
            for (name, definition) in value.get("definitions").and_then(Value::as_object).into_iter().flatten() {
                types.entry(name.clone()).or_insert(definition);
            }
        }
        Types { types }
    }

    /// The names of the types a client sends, and every type they reference.
    fn sent(&self, schema: &Schema) -> BTreeSet<&str> {
        let mut roots: Vec<String> = Vec::new();
        for file in [CLIENT_REQUESTS, CLIENT_NOTIFICATIONS] {
            roots.extend(schema.variants(file).filter_map(|(_, params)| params));
        }
        // The answers to the server's requests: `XParams` is answered by `XResponse`.
        roots.extend(schema.variants(SERVER_REQUESTS).filter_map(|(_, params)| {
            params.and_then(|p| p.strip_suffix("Params").map(|stem| format!("{stem}Response")))
        }));
        let mut seen = BTreeSet::new();
        let mut stack: Vec<String> = roots;
        while let Some(name) = stack.pop() {
            let Some((name, schema)) = self.types.get_key_value(name.as_str()) else { continue };
            if seen.insert(name.as_str()) {
                references(schema, &mut stack);
            }
        }
        seen
    }
}

/// Every `$ref` inside `value`, as type names.
fn references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(reference)) => out.push(ref_name(reference).to_owned()),
                    ("definitions", _) => {}
                    _ => references(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, out)),
        _ => {}
    }
}

fn compare(name: &str, old: &Value, new: &Value, sent: bool, a: &Types, b: &Types, out: &mut Vec<Change>) {
    let mut push = |field: &str, change: String, breaking: bool| {
        out.push(Change { type_name: name.to_owned(), field: field.to_owned(), change, breaking });
    };
    let (before, after) = (describe(old, a, 0), describe(new, b, 0));
    if before != after && !(before == "object" || after == "object") {
        push("", format!("type changed from {before} to {after}"), true);
    }
    for value in enum_values(old).difference(&enum_values(new)) {
        push("", format!("enum value {value} removed"), sent);
    }
    for variant in variants(old).difference(&variants(new)) {
        push("", format!("variant {variant} removed"), sent);
    }
    let properties =
        |schema: &'_ Value| schema.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
    let required = |schema: &Value| -> BTreeSet<String> {
        let list = schema.get("required").and_then(Value::as_array);
        list.into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect()
    };
    let (old_props, new_props) = (properties(old), properties(new));
    let (old_required, new_required) = (required(old), required(new));
    for (field, was) in &old_props {
        let Some(now) = new_props.get(field) else {
            push(field, "removed".to_owned(), true);
            continue;
        };
        if new_required.contains(field) && !old_required.contains(field) {
            push(field, "became required".to_owned(), sent);
        }
        let (before, after) = (describe(was, a, 0), describe(now, b, 0));
        if before != after {
            push(field, format!("type changed from {before} to {after}"), true);
        }
        for value in enum_values(was).difference(&enum_values(now)) {
            push(field, format!("enum value {value} removed"), sent);
        }
    }
    for field in new_props.keys().filter(|field| !old_props.contains_key(*field)) {
        if new_required.contains(field) {
            push(field, "added, required".to_owned(), sent);
        } else {
            push(field, "added".to_owned(), false);
        }
    }
}

/// The values of a string enum (directly, or as the pure-enum variants of a union), as JSON.
fn enum_values(schema: &Value) -> BTreeSet<String> {
    let mut values: BTreeSet<String> =
        schema.get("enum").and_then(Value::as_array).into_iter().flatten().map(Value::to_string).collect();
    for key in ["oneOf", "anyOf"] {
        for variant in schema.get(key).and_then(Value::as_array).into_iter().flatten() {
            if variant.get("properties").is_none() {
                values
                    .extend(variant.get("enum").and_then(Value::as_array).into_iter().flatten().map(Value::to_string));
            }
        }
    }
    values
}

/// The object variants of a union, each by its `title` or the value of its one-valued tag.
fn variants(schema: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for key in ["oneOf", "anyOf"] {
        for variant in schema.get(key).and_then(Value::as_array).into_iter().flatten() {
            let Some(properties) = variant.get("properties").and_then(Value::as_object) else { continue };
            let tag = properties.values().find_map(|p| match p.get("enum").and_then(Value::as_array) {
                Some(values) if values.len() == 1 => Some(values[0].to_string()),
                _ => None,
            });
            if let Some(name) = tag.or_else(|| variant.get("title").map(Value::to_string)) {
                names.insert(name);
            }
        }
    }
    names
}

/// A type as a short text, to compare: `string`, `null | string`, `array<ThreadItem>`, the name
/// of a referenced type (or the scalar it is, when it is a plain scalar type).
fn describe(schema: &Value, types: &Types, depth: usize) -> String {
    if depth > MAX_DESCRIBE_DEPTH {
        return "...".to_owned();
    }
    let Some(map) = schema.as_object() else {
        return if schema == &Value::Bool(false) { "never".to_owned() } else { "any".to_owned() };
    };
    if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
        let name = ref_name(reference);
        return match types.types.get(name) {
            Some(target) if is_plain_scalar(target) => describe(target, types, depth + 1),
            _ => name.to_owned(),
        };
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(variants) = map.get(key).and_then(Value::as_array) {
            if variants.iter().any(|v| v.get("properties").is_some()) {
                return "object".to_owned();
            }
            let parts: BTreeSet<String> = variants.iter().map(|v| describe(v, types, depth + 1)).collect();
            return parts.into_iter().collect::<Vec<_>>().join(" | ");
        }
    }
    let kinds: BTreeSet<String> = match map.get("type") {
        Some(Value::String(kind)) => BTreeSet::from([kind.clone()]),
        Some(Value::Array(kinds)) => kinds.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => return if map.contains_key("properties") { "object".to_owned() } else { "any".to_owned() },
    };
    let kinds: Vec<String> = kinds
        .into_iter()
        .map(|kind| match (kind.as_str(), map.get("items")) {
            ("array", Some(items)) => format!("array<{}>", describe(items, types, depth + 1)),
            _ => kind,
        })
        .collect();
    kinds.join(" | ")
}

/// A type that is only a scalar (`{"type": "string"}` with a description): a new name for it
/// is no change on the wire.
fn is_plain_scalar(schema: &Value) -> bool {
    let Some(map) = schema.as_object() else { return false };
    let scalar = |kind: &str| matches!(kind, "string" | "integer" | "number" | "boolean" | "null");
    let typed = match map.get("type") {
        Some(Value::String(kind)) => scalar(kind),
        Some(Value::Array(kinds)) => kinds.iter().all(|k| k.as_str().is_some_and(scalar)),
        _ => false,
    };
    typed && !map.contains_key("enum") && !map.contains_key("properties")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A variant of a method union: `method`, and `params` referencing the type `params`.
    fn method(method: &str, params: &str) -> Value {
        json!({
            "properties": {
                "method": {"enum": [method], "type": "string"},
                "params": {"$ref": format!("#/definitions/{params}")},
            },
            "required": ["method", "params"],
            "type": "object",
        })
    }

    /// The method unions and one file per type under `v2/`.
    #[derive(Default, Clone)]
    struct Build {
        client: Vec<(&'static str, &'static str)>,
        client_notifications: Vec<(&'static str, &'static str)>,
        server: Vec<(&'static str, &'static str)>,
        notifications: Vec<(&'static str, &'static str)>,
        types: Vec<(&'static str, Value)>,
    }

    impl Build {
        fn schema(&self) -> Schema {
            let union = |methods: &[(&str, &str)]| json!({"oneOf": methods.iter().map(|(m, p)| method(m, p)).collect::<Vec<_>>()});
            let mut files = BTreeMap::from([
                (CLIENT_REQUESTS.to_owned(), union(&self.client)),
                (SERVER_REQUESTS.to_owned(), union(&self.server)),
                (NOTIFICATIONS.to_owned(), union(&self.notifications)),
                (CLIENT_NOTIFICATIONS.to_owned(), union(&self.client_notifications)),
            ]);
            for (name, schema) in &self.types {
                files.insert(format!("v2/{name}.json"), schema.clone());
            }
            Schema::from_files(files)
        }

        /// The same schema with the type `name` replaced.
        fn with_type(&self, name: &'static str, schema: Value) -> Build {
            let mut build = self.clone();
            build.types.retain(|(n, _)| *n != name);
            build.types.push((name, schema));
            build
        }
    }

    /// `(type, field, change, breaking)` of every change, in the diff's order.
    fn changes(diff: &Diff) -> Vec<(&str, &str, &str, bool)> {
        diff.changes.iter().map(|c| (c.type_name.as_str(), c.field.as_str(), c.change.as_str(), c.breaking)).collect()
    }

    fn object(properties: Value, required: &[&str]) -> Value {
        json!({"type": "object", "properties": properties, "required": required})
    }

    /// A client request `thread/start` sending `Sent`, a notification `thread/started` carrying
    /// `Received`, each with one string property `id` (required) and one optional `name`.
    fn both_directions() -> Build {
        let shape = object(json!({"id": {"type": "string"}, "name": {"type": "string"}}), &["id"]);
        Build {
            client: vec![("thread/start", "Sent")],
            notifications: vec![("thread/started", "Received")],
            types: vec![("Sent", shape.clone()), ("Received", shape)],
            ..Build::default()
        }
    }

    #[test]
    fn identical_schemas_are_compatible_with_no_changes() {
        let schema = both_directions().schema();
        let d = diff(&schema, &schema, "a", "b");
        assert!(d.compatible);
        assert!(d.changes.is_empty(), "{:?}", d.changes);
        assert_eq!((d.from.as_str(), d.to.as_str()), ("a", "b"));
        assert_eq!(d.summary(), "no difference in methods or types");
    }

    #[test]
    fn a_client_request_added_is_compatible_and_one_removed_is_not() {
        let a = Build {
            client: vec![("a", "P"), ("b", "P")],
            types: vec![("P", object(json!({}), &[]))],
            ..Build::default()
        };
        let b = Build { client: vec![("b", "P"), ("c", "P")], ..a.clone() };
        let d = diff(&a.schema(), &b.schema(), "a", "b");
        assert_eq!(d.methods, Delta { added: vec!["c".into()], removed: vec!["a".into()] });
        assert!(!d.compatible);
        assert_eq!(d.summary(), "1 method added, 1 method removed");

        let only_added = Build { client: vec![("a", "P"), ("b", "P"), ("c", "P")], ..a.clone() };
        let d = diff(&a.schema(), &only_added.schema(), "a", "b");
        assert_eq!(d.methods, Delta { added: vec!["c".into()], removed: vec![] });
        assert!(d.compatible);
    }

    #[test]
    fn server_requests_and_notifications_removed_are_breaking_and_added_are_not() {
        let p = ("P", object(json!({}), &[]));
        let a = Build {
            server: vec![("item/tool/call", "P")],
            notifications: vec![("thread/started", "P")],
            types: vec![p.clone()],
            ..Build::default()
        };
        let more = Build {
            server: vec![("item/tool/call", "P"), ("item/approve", "P")],
            notifications: vec![("thread/started", "P"), ("turn/started", "P")],
            ..a.clone()
        };
        let d = diff(&a.schema(), &more.schema(), "a", "b");
        assert_eq!(d.server_requests, Delta { added: vec!["item/approve".into()], removed: vec![] });
        assert_eq!(d.notifications, Delta { added: vec!["turn/started".into()], removed: vec![] });
        assert!(d.compatible);

        let no_server_request = Build { server: vec![], ..a.clone() };
        let d = diff(&a.schema(), &no_server_request.schema(), "a", "b");
        assert_eq!(d.server_requests.removed, ["item/tool/call"]);
        assert!(!d.compatible);

        let no_notification = Build { notifications: vec![], ..a.clone() };
        let d = diff(&a.schema(), &no_notification.schema(), "a", "b");
        assert_eq!(d.notifications.removed, ["thread/started"]);
        assert!(!d.compatible);
        assert_eq!(d.summary(), "1 notification removed");
    }

    #[test]
    fn a_property_removed_breaks_either_direction() {
        let a = both_directions();
        for name in ["Sent", "Received"] {
            let b = a.with_type(name, object(json!({"id": {"type": "string"}}), &["id"]));
            let d = diff(&a.schema(), &b.schema(), "a", "b");
            assert_eq!(changes(&d), [(name, "name", "removed", true)], "{name}");
            assert!(!d.compatible, "{name}");
        }
    }

    #[test]
    fn a_property_added_breaks_only_what_the_client_sends_and_only_when_required() {
        let a = both_directions();
        let props = json!({"id": {"type": "string"}, "name": {"type": "string"}, "extra": {"type": "integer"}});
        for (name, required, breaking) in
            [("Sent", false, false), ("Sent", true, true), ("Received", false, false), ("Received", true, false)]
        {
            let req: &[&str] = if required { &["id", "extra"] } else { &["id"] };
            let b = a.with_type(name, object(props.clone(), req));
            let d = diff(&a.schema(), &b.schema(), "a", "b");
            let change = if required { "added, required" } else { "added" };
            assert_eq!(changes(&d), [(name, "extra", change, breaking)], "{name} {required}");
            assert_eq!(d.compatible, !breaking, "{name} {required}");
        }
    }

    #[test]
    fn a_property_that_became_required_breaks_only_what_the_client_sends() {
        let a = both_directions();
        let props = json!({"id": {"type": "string"}, "name": {"type": "string"}});
        for (name, breaking) in [("Sent", true), ("Received", false)] {
            let b = a.with_type(name, object(props.clone(), &["id", "name"]));
            let d = diff(&a.schema(), &b.schema(), "a", "b");
            assert_eq!(changes(&d), [(name, "name", "became required", breaking)], "{name}");
            assert_eq!(d.compatible, !breaking, "{name}");
        }
        // Required no longer: nothing a client of A notices.
        let b = a.with_type("Sent", object(props, &[]));
        let d = diff(&a.schema(), &b.schema(), "a", "b");
        assert!(d.compatible && d.changes.is_empty(), "{:?}", d.changes);
    }

    #[test]
    fn a_type_change_breaks_either_direction() {
        let a = both_directions();
        for name in ["Sent", "Received"] {
            let b = a.with_type(name, object(json!({"id": {"type": "integer"}, "name": {"type": "string"}}), &["id"]));
            let d = diff(&a.schema(), &b.schema(), "a", "b");
            assert_eq!(changes(&d), [(name, "id", "type changed from string to integer", true)], "{name}");
            assert!(!d.compatible);
        }
        // Nullable now, and an array of another item type.
        let b = a.with_type(
            "Sent",
            object(
                json!({"id": {"type": ["string", "null"]}, "name": {"type": "array", "items": {"type": "string"}}}),
                &["id"],
            ),
        );
        let d = diff(&a.schema(), &b.schema(), "a", "b");
        assert_eq!(
            changes(&d),
            [
                ("Sent", "id", "type changed from string to null | string", true),
                ("Sent", "name", "type changed from string to array<string>", true),
            ]
        );
        // The type itself, not one of its properties.
        let a = Build { client: vec![("x", "Id")], types: vec![("Id", json!({"type": "string"}))], ..Build::default() };
        let b = a.with_type("Id", json!({"type": "integer"}));
        let d = diff(&a.schema(), &b.schema(), "a", "b");
        assert_eq!(changes(&d), [("Id", "", "type changed from string to integer", true)]);
    }

    #[test]
    fn an_enum_value_removed_breaks_only_what_the_client_sends() {
        let delivery = |values: Value| json!({"type": "string", "enum": values});
        for (method_of, breaking) in [(true, true), (false, false)] {
            let mut a =
                Build { types: vec![("ReviewDelivery", delivery(json!(["inline", "detached"])))], ..Build::default() };
            if method_of {
                a.client = vec![("review/start", "ReviewDelivery")];
            } else {
                a.notifications = vec![("review/done", "ReviewDelivery")];
            }
            let b = a.with_type("ReviewDelivery", delivery(json!(["inline"])));
            let d = diff(&a.schema(), &b.schema(), "a", "b");
            assert_eq!(changes(&d), [("ReviewDelivery", "", "enum value \"detached\" removed", breaking)]);
            assert_eq!(d.compatible, !breaking);
            // Added values are not a change a client of A notices.
            let d = diff(&b.schema(), &a.schema(), "b", "a");
            assert!(d.compatible && d.changes.is_empty(), "{:?}", d.changes);
        }
        // A property's inline enum, and a union of one-valued enums, lose a value too.
        let a = Build {
            client: vec![("x", "P")],
            types: vec![(
                "P",
                object(
                    json!({"mode": {"enum": ["a", "b"]}, "kind": {"oneOf": [{"enum": ["x"]}, {"enum": ["y"]}]}}),
                    &[],
                ),
            )],
            ..Build::default()
        };
        let b = a.with_type("P", object(json!({"mode": {"enum": ["a"]}, "kind": {"oneOf": [{"enum": ["x"]}]}}), &[]));
        let d = diff(&a.schema(), &b.schema(), "a", "b");
        assert_eq!(
            changes(&d),
            [("P", "kind", "enum value \"y\" removed", true), ("P", "mode", "enum value \"b\" removed", true)]
        );
    }

    #[test]
    fn a_union_variant_removed_breaks_only_what_the_client_sends() {
        let variant = |tag: &str| {
            object(json!({"type": {"enum": [tag], "type": "string"}, "text": {"type": "string"}}), &["type"])
        };
        let titled = json!({"title": "Image", "type": "object", "properties": {"url": {"type": "string"}}});
        let input = |variants: Vec<Value>| json!({"oneOf": variants});
        for (sent, breaking) in [(true, true), (false, false)] {
            let mut a = Build {
                types: vec![("UserInput", input(vec![variant("text"), variant("mention"), titled.clone()]))],
                ..Build::default()
            };
            if sent {
                a.client = vec![("turn/start", "UserInput")];
            } else {
                a.notifications = vec![("item/started", "UserInput")];
            }
            let b = a.with_type("UserInput", input(vec![variant("text")]));
            let d = diff(&a.schema(), &b.schema(), "a", "b");
            assert_eq!(
                changes(&d),
                [
                    ("UserInput", "", "variant \"Image\" removed", breaking),
                    ("UserInput", "", "variant \"mention\" removed", breaking),
                ],
                "sent: {sent}"
            );
            assert_eq!(d.compatible, !breaking);
        }
    }

    #[test]
    fn what_the_client_sends_includes_answers_to_server_requests_client_notifications_and_their_references() {
        let shape = object(json!({"id": {"type": "string"}}), &[]);
        let required = object(json!({"id": {"type": "string"}}), &["id"]);
        let nested = |inner: &str| object(json!({"inner": {"$ref": format!("#/definitions/{inner}")}}), &[]);
        let a = Build {
            client: vec![("thread/start", "StartParams")],
            client_notifications: vec![("initialized", "InitializedNotification")],
            server: vec![("item/tool/call", "ToolCallParams")],
            notifications: vec![("thread/started", "StartedNotification")],
            types: vec![
                ("StartParams", nested("Inner")),
                ("Inner", shape.clone()),
                ("InitializedNotification", shape.clone()),
                ("ToolCallParams", shape.clone()),
                ("ToolCallResponse", shape.clone()),
                ("StartedNotification", shape.clone()),
                ("Unused", shape.clone()),
            ],
        };
        // Each type in turn makes `id` required: breaking exactly for what the client sends.
        let cases = [
            ("Inner", true),
            ("InitializedNotification", true),
            ("ToolCallResponse", true),
            ("ToolCallParams", false),
            ("StartedNotification", false),
            ("Unused", false),
        ];
        for (name, sent) in cases {
            let b = a.with_type(name, required.clone());
            let d = diff(&a.schema(), &b.schema(), "a", "b");
            assert_eq!(changes(&d), [(name, "id", "became required", sent)], "{name}");
            assert_eq!(d.compatible, !sent, "{name}");
        }
    }

    #[test]
    fn a_ref_to_a_plain_string_type_is_that_string_and_a_ref_to_an_enum_is_not() {
        let a = Build {
            client: vec![("x", "P")],
            types: vec![
                ("P", object(json!({"threadId": {"type": "string"}}), &[])),
                ("ThreadId", json!({"type": "string", "description": "A thread's id."})),
                ("Mode", json!({"type": "string", "enum": ["a"]})),
            ],
            ..Build::default()
        };
        let b = a.with_type("P", object(json!({"threadId": {"$ref": "#/definitions/ThreadId"}}), &[]));
        let d = diff(&a.schema(), &b.schema(), "a", "b");
        assert!(d.compatible && d.changes.is_empty(), "{:?}", d.changes);
        // And back.
        let d = diff(&b.schema(), &a.schema(), "b", "a");
        assert!(d.compatible && d.changes.is_empty(), "{:?}", d.changes);

        let c = a.with_type("P", object(json!({"threadId": {"$ref": "#/definitions/Mode"}}), &[]));
        let d = diff(&a.schema(), &c.schema(), "a", "c");
        assert_eq!(changes(&d), [("P", "threadId", "type changed from string to Mode", true)]);
    }

    #[test]
    fn breaking_changes_come_first_and_the_summary_counts_them() {
        let a = both_directions();
        let b = a
            .with_type("Sent", object(json!({"id": {"type": "string"}, "name": {"type": "string"}, "a": {}}), &["id"]))
            .with_type("Received", object(json!({"id": {"type": "string"}}), &["id"]));
        let d = diff(&a.schema(), &b.schema(), "a", "b");
        assert_eq!(changes(&d), [("Received", "name", "removed", true), ("Sent", "a", "added", false)]);
        assert_eq!(d.summary(), "1 breaking type change, 1 compatible type change");
        assert_eq!(super::super::breaking(&d), ["Received.name: removed"]);
    }
}
