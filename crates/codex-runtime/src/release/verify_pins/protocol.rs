//! CI before a bump: the protocol a pin file's version speaks against the channel head's, so
//! a pull request sees whether an SDK generated against its pin can talk to the head.
//!
//! Two pins naming the same schema digest speak the same protocol; nothing is run. Otherwise
//! the two runtimes' schemas (the caller's `schema`, from the cache or installed) are diffed.
//! A diff that is not compatible is a [`Verdict::Warning`], or drift with `deny`; a comparison
//! that cannot be made is a [`Verdict::Note`] (unavailable with `deny`, unless the runtime is
//! only missing from the cache offline).

use codex_app_server_client::protocol::{self, Schema};
use serde::Serialize;

use crate::model::manifest::Manifest;
use crate::model::version::RuntimeVersion;

use super::{Check, Report, Verdict};

/// The `protocol` object of a `protocol` check in `verify-pins --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProtocolDrift {
    /// The version the pin file pins.
    pub from: String,
    /// The channel head.
    pub to: String,
    /// Whether a client generated against `from` can talk to `to`.
    pub compatible: bool,
    /// Both pins name the same schema digest (nothing was run).
    pub same: bool,
    /// Client request methods.
    pub methods: Counts,
    pub server_requests: Counts,
    pub notifications: Counts,
    /// Every breaking difference: methods removed, then type changes.
    pub breaking: Vec<String>,
}

/// How many names were added and removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub added: usize,
    pub removed: usize,
}

/// Why a runtime's schema could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoSchema {
    /// The runtime is not in the cache, and the run may not install it.
    NotCached,
    /// Anything else (not pinned for this host, the install failed, it cannot describe its
    /// protocol), in a sentence.
    Failed(String),
}

/// Compares the protocol of `from` (the version `file` pins; `pinned` its manifest, when it
/// is pinned) with the channel `head`'s, when the head is newer, and adds a `protocol` check.
/// `schema` gives a pinned runtime's schema; it is asked only when the pins' digests differ.
pub fn check_protocol(
    file: &str,
    from: &RuntimeVersion,
    pinned: Option<&Manifest>,
    head: &Manifest,
    deny: bool,
    schema: &mut dyn FnMut(&Manifest) -> Result<Schema, NoSchema>,
    report: &mut Report,
) {
    if *from >= head.version {
        return;
    }
    let to = &head.version;
    let check =
        |verdict, message: String| Check::new("protocol", format!("{from} -> {to}"), verdict, message).at(file, None);
    let Some(pinned) = pinned else {
        let message = format!("protocol not compared: no manifest checked pins {from}");
        return report.push(check(Verdict::Note, message));
    };
    if let (Some(a), Some(b)) = (&pinned.protocol, &head.protocol)
        && a.sha256 == b.sha256
    {
        let message = format!("{from} and {to} pin the same protocol (schema sha256 {})", a.sha256);
        let mut same = check(Verdict::Ok, message);
        same.protocol = Some(ProtocolDrift {
            from: from.to_string(),
            to: to.to_string(),
            compatible: true,
            same: true,
            methods: Counts::default(),
            server_requests: Counts::default(),
            notifications: Counts::default(),
            breaking: Vec::new(),
        });
        return report.push(same);
    }
    let (a, b) = (schema(pinned), schema(head));
    let (a, b) = match (a, b) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => {
            let failed: Vec<String> = [&a, &b]
                .iter()
                .filter_map(|side| match side {
                    Err(NoSchema::Failed(why)) => Some(why.clone()),
                    _ => None,
                })
                .collect();
            if !failed.is_empty() {
                let message = format!("protocol not compared: {}", failed.join("; "));
                return report.push(check(if deny { Verdict::Unavailable } else { Verdict::Note }, message));
            }
            let missing: Vec<&RuntimeVersion> = [(&a, from), (&b, to)]
                .into_iter()
                .filter(|(side, _)| side.is_err())
                .map(|(_, version)| version)
                .collect();
            let names: Vec<String> = missing.iter().map(ToString::to_string).collect();
            let installs: Vec<String> =
                missing.iter().map(|v| format!("`codex-runtime install --version {v}`")).collect();
            let message = format!(
                "protocol not compared: {} {} not in the cache; run with --online or {}",
                names.join(" and "),
                if missing.len() == 1 { "is" } else { "are" },
                installs.join(" and ")
            );
            return report.push(check(Verdict::Note, message));
        }
    };
    let diff = protocol::diff(&a, &b, &from.to_string(), &to.to_string());
    let counts = |delta: &protocol::Delta| Counts { added: delta.added.len(), removed: delta.removed.len() };
    let drift = ProtocolDrift {
        from: from.to_string(),
        to: to.to_string(),
        compatible: diff.compatible,
        same: false,
        methods: counts(&diff.methods),
        server_requests: counts(&diff.server_requests),
        notifications: counts(&diff.notifications),
        breaking: protocol::breaking(&diff),
    };
    let mut done = if diff.compatible {
        check(Verdict::Ok, format!("a client generated against {from} can talk to {to}: {}", diff.summary()))
    } else {
        let message = format!(
            "a client generated against {from} cannot talk to {to}: {} ({})",
            diff.summary(),
            protocol::breaking_lines(&diff).join("; ")
        );
        check(if deny { Verdict::Drift } else { Verdict::Warning }, message)
    };
    done.protocol = Some(drift);
    report.push(done);
}
