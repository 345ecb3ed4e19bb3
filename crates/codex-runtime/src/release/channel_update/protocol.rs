//! The protocol a pinned version speaks: computed by running its host runtime's
//! `generate-json-schema`, and written into a manifest file as its top-level `protocol` key.

use std::path::Path;

use codex_app_server_client::protocol::{self, DEFAULT_SCHEMA_TIMEOUT};

use crate::install::Installed;
use crate::model::digest::Sha256;
use crate::model::manifest::{Manifest, ProtocolPin};

use super::UpdateError;

/// The protocol pin of an installed (verified) runtime: the digest of its schema's canonical
/// form and its method counts.
pub fn pin_of(installed: &Installed) -> Result<ProtocolPin, UpdateError> {
    let failed = |source| UpdateError::Protocol { version: installed.version.clone(), source };
    let dir = tempfile::Builder::new()
        .prefix("codex-runtime-schema-")
        .tempdir()
        .map_err(|source| failed(codex_app_server_client::Error::TempHome { source }))?;
    let schema =
        protocol::generate(&installed.path, Some(&installed.path_dir), dir.path(), false, DEFAULT_SCHEMA_TIMEOUT)
            .map_err(failed)?;
    let sha256: Sha256 = schema.digest().parse().expect("a sha256 digest in hex");
    Ok(ProtocolPin {
        sha256,
        client_requests: schema.client_requests().len(),
        server_requests: schema.server_requests().len(),
        notifications: schema.notifications().len(),
    })
}

/// `text` (a manifest in the repository's format, at `path`) with `pin` as its `protocol` key,
/// inserted after the `version` line and nothing else changed, so that a merge with other edits
/// of the file sees one added block. A file that has the same pin already is returned as it
/// is; one with another pin is an error.
pub fn with_protocol(text: &str, path: &Path, pin: &ProtocolPin) -> Result<String, UpdateError> {
    let error = |message: String| UpdateError::ProtocolFile { path: path.to_owned(), message };
    let manifest = Manifest::parse(text, &path.display().to_string())?;
    match &manifest.protocol {
        Some(existing) if existing == pin => return Ok(text.to_owned()),
        Some(existing) => {
            return Err(error(format!(
                "it pins the protocol sha256 {} already, and the runtime now describes {}; remove the key to re-pin",
                existing.sha256, pin.sha256
            )));
        }
        None => {}
    }
    let line = format!("\n  \"version\": \"{}\",\n", manifest.version);
    let at =
        text.find(&line).ok_or_else(|| error(format!("it has no line `  \"version\": \"{}\",`", manifest.version)))?;
    let block = serde_json::to_string_pretty(pin).expect("a pin serializes").replace('\n', "\n  ");
    let at = at + line.len();
    let updated = format!("{}  \"protocol\": {block},\n{}", &text[..at], &text[at..]);
    let reread = Manifest::parse(&updated, &path.display().to_string())?;
    if reread.protocol.as_ref() != Some(pin) || (Manifest { protocol: None, ..reread }) != manifest {
        return Err(error("the protocol key did not read back as written".to_owned()));
    }
    Ok(updated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_protocol_goes_after_the_version_and_nothing_else_changes() {
        let path = Path::new("channels/versions/0.163.0.json");
        let mut manifest = Manifest::embedded(crate::model::manifest::Channel::Stable);
        manifest.protocol = None;
        let text = manifest.to_json();
        let pin = ProtocolPin {
            sha256: "ab".repeat(32).parse().unwrap(),
            client_requests: 105,
            server_requests: 10,
            notifications: 85,
        };
        let updated = with_protocol(&text, path, &pin).unwrap();
        let added: Vec<&str> = updated.lines().filter(|l| !text.lines().any(|t| t == *l)).collect();
        assert_eq!(
            added,
            [
                "  \"protocol\": {",
                &format!("    \"sha256\": \"{}\",", "ab".repeat(32)),
                "    \"client_requests\": 105,",
                "    \"server_requests\": 10,",
                "    \"notifications\": 85",
                "  },",
            ]
        );
        // The repository's format: what channel update writes is byte for byte the same.
        manifest.protocol = Some(pin.clone());
        assert_eq!(updated, manifest.to_json());
        assert_eq!(with_protocol(&updated, path, &pin).unwrap(), updated);
        let other = ProtocolPin { client_requests: 110, ..pin };
        assert!(with_protocol(&updated, path, &other).unwrap_err().to_string().contains("already"));
    }
}
