//! The six targets upstream ships, and which one the host needs.

use std::fmt;
use std::str::FromStr;

use target_lexicon::{Architecture, OperatingSystem, Triple};

/// One of the six target triples upstream publishes a runtime for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    X86_64Linux,
    Aarch64Linux,
    X86_64Darwin,
    Aarch64Darwin,
    X86_64Windows,
    Aarch64Windows,
}

/// A triple that is not one of the six, or a host that none of them runs on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TargetError {
    #[error(
        "unknown target `{triple}`;{} supported targets: {}",
        suggestion.map(|t| format!(" its runtime is {t}, the build every such host uses;")).unwrap_or_default(),
        Target::supported_list()
    )]
    Unknown { triple: String, suggestion: Option<Target> },
    #[error(
        "this host ({host}) has no codex runtime; supported targets: {}; pass --target to pick one",
        Target::supported_list()
    )]
    UnsupportedHost { host: String },
}

impl Target {
    /// All six, in the order of the channel manifests.
    pub const ALL: [Target; 6] = [
        Target::X86_64Linux,
        Target::Aarch64Linux,
        Target::X86_64Darwin,
        Target::Aarch64Darwin,
        Target::X86_64Windows,
        Target::Aarch64Windows,
    ];

    /// The Rust target triple, as upstream names its builds.
    pub fn triple(self) -> &'static str {
        match self {
            Target::X86_64Linux => "x86_64-unknown-linux-musl",
            Target::Aarch64Linux => "aarch64-unknown-linux-musl",
            Target::X86_64Darwin => "x86_64-apple-darwin",
            Target::Aarch64Darwin => "aarch64-apple-darwin",
            Target::X86_64Windows => "x86_64-pc-windows-msvc",
            Target::Aarch64Windows => "aarch64-pc-windows-msvc",
        }
    }

    /// The suffix of the npm platform package version: `@openai/codex@V-<suffix>`.
    pub fn npm_suffix(self) -> &'static str {
        match self {
            Target::X86_64Linux => "linux-x64",
            Target::Aarch64Linux => "linux-arm64",
            Target::X86_64Darwin => "darwin-x64",
            Target::Aarch64Darwin => "darwin-arm64",
            Target::X86_64Windows => "win32-x64",
            Target::Aarch64Windows => "win32-arm64",
        }
    }

    /// The platform tag of the PyPI runtime wheel.
    pub fn wheel_tag(self) -> &'static str {
        match self {
            Target::X86_64Linux => "manylinux_2_17_x86_64",
            Target::Aarch64Linux => "manylinux_2_17_aarch64",
            Target::X86_64Darwin => "macosx_10_9_x86_64",
            Target::Aarch64Darwin => "macosx_11_0_arm64",
            Target::X86_64Windows => "win_amd64",
            Target::Aarch64Windows => "win_arm64",
        }
    }

    /// The platform tag of the musllinux runtime wheel, for the Linux targets: the only wheel a
    /// musl Python (Alpine's) can install. It carries the same entrypoint as the manylinux one.
    pub fn musllinux_tag(self) -> Option<&'static str> {
        match self {
            Target::X86_64Linux => Some("musllinux_1_1_x86_64"),
            Target::Aarch64Linux => Some("musllinux_1_1_aarch64"),
            _ => None,
        }
    }

    /// The entrypoint's path inside the runtime root.
    pub fn entrypoint(self) -> &'static str {
        if self.is_windows() { "bin/codex.exe" } else { "bin/codex" }
    }

    /// What the app-server reports as `platformOs`.
    pub fn platform_os(self) -> &'static str {
        match self {
            Target::X86_64Linux | Target::Aarch64Linux => "linux",
            Target::X86_64Darwin | Target::Aarch64Darwin => "macos",
            Target::X86_64Windows | Target::Aarch64Windows => "windows",
        }
    }

    /// What the app-server reports as `platformFamily`.
    pub fn platform_family(self) -> &'static str {
        if self.is_windows() { "windows" } else { "unix" }
    }

    fn is_windows(self) -> bool {
        matches!(self, Target::X86_64Windows | Target::Aarch64Windows)
    }

    /// The target whose runtime runs on the machine this program was built for.
    pub fn host() -> Result<Target, TargetError> {
        Self::for_triple(&target_lexicon::HOST)
    }

    /// Map any triple to the runtime that runs there: Linux of any libc uses the static musl
    /// build, macOS uses darwin, Windows of any environment uses msvc.
    pub fn for_triple(triple: &Triple) -> Result<Target, TargetError> {
        let unsupported = || TargetError::UnsupportedHost { host: triple.to_string() };
        let x86_64 = matches!(triple.architecture, Architecture::X86_64);
        let aarch64 = matches!(triple.architecture, Architecture::Aarch64(_));
        let target = match triple.operating_system {
            OperatingSystem::Linux if x86_64 => Target::X86_64Linux,
            OperatingSystem::Linux if aarch64 => Target::Aarch64Linux,
            OperatingSystem::Darwin(_) | OperatingSystem::MacOSX(_) if x86_64 => Target::X86_64Darwin,
            OperatingSystem::Darwin(_) | OperatingSystem::MacOSX(_) if aarch64 => Target::Aarch64Darwin,
            OperatingSystem::Windows if x86_64 => Target::X86_64Windows,
            OperatingSystem::Windows if aarch64 => Target::Aarch64Windows,
            _ => return Err(unsupported()),
        };
        Ok(target)
    }

    fn supported_list() -> String {
        Target::ALL.map(Target::triple).join(", ")
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.triple())
    }
}

impl FromStr for Target {
    type Err = TargetError;

    /// Only the six exact triples are accepted: a user naming a target means that build.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Target::ALL.into_iter().find(|t| t.triple() == s).ok_or_else(|| TargetError::Unknown {
            triple: s.to_owned(),
            // `x86_64-unknown-linux-gnu` names a host whose runtime is the musl build.
            suggestion: s.parse::<Triple>().ok().and_then(|t| Target::for_triple(&t).ok()),
        })
    }
}

impl serde::Serialize for Target {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.triple())
    }
}

impl<'de> serde::Deserialize<'de> for Target {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        super::parse_str(deserializer, "a target triple")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_map_to_the_runtime_that_runs_there() {
        let cases = [
            ("x86_64-unknown-linux-gnu", Target::X86_64Linux),
            ("x86_64-unknown-linux-musl", Target::X86_64Linux),
            ("aarch64-unknown-linux-gnu", Target::Aarch64Linux),
            ("aarch64-unknown-linux-musl", Target::Aarch64Linux),
            ("x86_64-apple-darwin", Target::X86_64Darwin),
            ("aarch64-apple-darwin", Target::Aarch64Darwin),
            ("x86_64-pc-windows-msvc", Target::X86_64Windows),
            ("x86_64-pc-windows-gnu", Target::X86_64Windows),
            ("aarch64-pc-windows-msvc", Target::Aarch64Windows),
        ];
        for (host, expected) in cases {
            let triple: Triple = host.parse().unwrap();
            assert_eq!(Target::for_triple(&triple).unwrap(), expected, "{host}");
        }
    }

    #[test]
    fn unsupported_hosts_list_the_supported_targets() {
        for host in ["i686-unknown-linux-gnu", "riscv64gc-unknown-linux-gnu", "x86_64-unknown-freebsd"] {
            let triple: Triple = host.parse().unwrap();
            let err = Target::for_triple(&triple).unwrap_err().to_string();
            assert!(err.contains(host), "{err}");
            assert!(err.contains("aarch64-pc-windows-msvc"), "{err}");
        }
    }

    #[test]
    fn triples_round_trip_and_unknown_ones_are_refused() {
        for t in Target::ALL {
            assert_eq!(t.triple().parse::<Target>().unwrap(), t);
        }
        let err = "x86_64-unknown-linux-gnu".parse::<Target>().unwrap_err().to_string();
        assert!(err.starts_with("unknown target `x86_64-unknown-linux-gnu`"), "{err}");
        assert!(err.contains("its runtime is x86_64-unknown-linux-musl"), "{err}");
        let err = "sparc-sun-solaris".parse::<Target>().unwrap_err().to_string();
        assert!(!err.contains("its runtime is"), "{err}");
        assert!(err.contains("x86_64-unknown-linux-musl"), "{err}");
    }

    #[test]
    fn the_host_is_supported_here() {
        assert!(Target::host().is_ok());
    }
}
