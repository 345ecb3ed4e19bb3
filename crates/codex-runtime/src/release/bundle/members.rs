//! Which runtime files a re-pack carries: exactly those upstream's artifact of that format
//! carries, as the pins record it ([`Omits`]). A version with no upstream artifact of the format
//! (no wheels after 0.163.0) takes the member set of the nearest pinned version that has one:
//! upstream's layout for that format, which leaves out the same directories release after
//! release.

use serde::{Deserialize, Serialize};

use crate::model::history::Manifests;
use crate::model::manifest::{Manifest, Omits, TargetPins};
use crate::model::target::Target;
use crate::model::version::RuntimeVersion;

/// The artifact format a re-pack stands in for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// The platform wheel of the target (`Target::wheel_tag`).
    Wheel,
    Npm,
}

/// A re-pack's member set and where it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Members {
    /// The runtime files left out.
    pub omits: Omits,
    /// The pinned artifact whose member set this is, e.g. `0.163.0
    /// openai_codex_cli_bin-0.163.0-py3-none-manylinux_2_17_x86_64.whl`; `none` when no pin
    /// records one (then the whole runtime is carried).
    pub from: String,
}

/// The recorded omissions of `kind`'s artifact in one target's pins, and its file name.
fn recorded(pins: &TargetPins, kind: Kind) -> Option<(&Omits, &str)> {
    match kind {
        Kind::Wheel => pins.artifacts.wheel.as_ref().and_then(|w| Some((w.omits.as_ref()?, w.file.as_str()))),
        Kind::Npm => pins.artifacts.npm.as_ref().and_then(|n| Some((n.omits.as_ref()?, n.file.as_str()))),
    }
}

/// The member set of a re-pack of `kind` for `target` at `manifest`'s version: its own pins
/// first, else the nearest version of the compiled-in history that records one (this version
/// and older first: upstream's last layout up to this version, then its first after).
pub(super) fn of(manifest: &Manifest, target: Target, kind: Kind) -> Members {
    let found = |m: &Manifest| {
        let (omits, file) = recorded(m.target(target)?, kind)?;
        Some(Members { omits: omits.clone(), from: format!("{} {file}", m.version) })
    };
    if let Some(members) = found(manifest) {
        return members;
    }
    let history = Manifests::embedded();
    let versions = history.versions();
    // Newest first: this version and older ones as they come, then the newer ones oldest first.
    let (older, newer): (Vec<&RuntimeVersion>, Vec<&RuntimeVersion>) =
        versions.iter().partition(|v| **v <= manifest.version);
    let nearest = older.into_iter().chain(newer.into_iter().rev());
    nearest
        .filter_map(|v| history.version(v).ok())
        .find_map(found)
        .unwrap_or_else(|| Members { omits: Omits::default(), from: "none".into() })
}

/// The wheel's Python shim: a pinned file of the wheels only, which the wheel re-pack writes
/// itself and no npm tarball carries.
const WHEEL_SHIM: &str = "__init__.py";

impl Members {
    /// Whether a re-pack with these members carries the runtime file `path`.
    pub(super) fn carries(&self, path: &str) -> bool {
        path != WHEEL_SHIM && self.omits.carries(path)
    }
}

/// The pinned files a re-pack with these members must carry that `carried` lacks.
pub(super) fn missing<'a>(pins: &'a TargetPins, members: &Members, carried: &[&str]) -> Vec<&'a str> {
    pins.files.iter().map(|f| f.path.as_str()).filter(|p| members.carries(p) && !carried.contains(p)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_without_wheels_takes_the_layout_of_the_last_one_with_them() {
        let history = Manifests::embedded();
        let newest = history.version(&"0.171.0".parse().unwrap()).unwrap();
        assert!(newest.target(Target::X86_64Linux).unwrap().artifacts.wheel.is_none());
        let wheel = of(newest, Target::X86_64Linux, Kind::Wheel);
        assert_eq!(wheel.omits.0, ["codex-resources/voice/"]);
        assert_eq!(wheel.from, "0.163.0 openai_codex_cli_bin-0.163.0-py3-none-manylinux_2_17_x86_64.whl");
        let mac = of(newest, Target::Aarch64Darwin, Kind::Wheel);
        assert_eq!(mac.omits.0, ["codex-resources/"]);
        // Its own npm tarball's record comes first.
        let npm = of(newest, Target::X86_64Linux, Kind::Npm);
        assert_eq!((npm.omits.0.len(), npm.from.as_str()), (0, "0.171.0 openai-codex-0.171.0-linux-x64.tgz"));
        assert!(!wheel.carries("codex-resources/voice/bin/codex-voice-host") && wheel.carries("bin/codex"));
    }
}
