//! The kinds of failure, which the command line maps to its exit codes, and the one-line form
//! of an error with its causes.

/// The kinds of failure the command line distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request itself is wrong (unknown target, version not pinned, missing option).
    Usage,
    /// Not installed, and not allowed to install.
    NotInstalled,
    /// A digest, size, layout or `codex-package.json` mismatch.
    Verification,
    /// No source could provide the artifact.
    NoSource,
    /// The runtime cannot be launched here.
    Incompatible,
    /// A pin no longer holds: what a registry publishes differs from what is pinned.
    Drift,
    /// Anything else.
    Other,
}

/// An error and its sources on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}
