//! What a server says about itself in the result of `initialize`.

use serde_json::{Map, Value};

/// The fields of an `initialize` result that the compatibility check reads.
///
/// A field that is absent, or present but not a string, is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Metadata {
    /// `userAgent`: `name/VERSION (os; arch) terminal (client; version)`.
    pub(crate) user_agent: Option<String>,
    /// `serverInfo.version`, sent by servers of an older protocol.
    pub(crate) server_info_version: Option<String>,
    pub(crate) codex_home: Option<String>,
    pub(crate) platform_family: Option<String>,
    pub(crate) platform_os: Option<String>,
}

impl Metadata {
    pub(crate) fn from_result(result: &Map<String, Value>) -> Self {
        let string = |key: &str| result.get(key).and_then(Value::as_str).map(str::to_owned);
        Self {
            user_agent: string("userAgent"),
            server_info_version: result
                .get("serverInfo")
                .and_then(|info| info.get("version"))
                .and_then(Value::as_str)
                .map(str::to_owned),
            codex_home: string("codexHome"),
            platform_family: string("platformFamily"),
            platform_os: string("platformOs"),
        }
    }

    /// The server's version: from `userAgent` when it has one, else from `serverInfo`.
    pub(crate) fn version(&self) -> Option<&str> {
        self.user_agent.as_deref().and_then(user_agent_version).or(self.server_info_version.as_deref())
    }
}

/// The version in a user agent: the token after the first `/`, up to whitespace.
///
/// The token before the `/` is the *client's* name (the server echoes `clientInfo.name`), so
/// it is ignored.
pub(crate) fn user_agent_version(user_agent: &str) -> Option<&str> {
    let (_, rest) = user_agent.split_once('/')?;
    let version = rest.split(char::is_whitespace).next()?;
    (!version.is_empty()).then_some(version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn user_agent_versions() {
        let cases = [
            ("codex_runtime/0.163.0 (Debian 12.0.0; x86_64) xterm (codex_runtime; 0.1.0)", Some("0.163.0")),
            (
                "codex_cli_rs/0.162.0-alpha.15 (Mac OS 15.1.0; arm64) iTerm.app/3.5.10 (codex_runtime; 0.1.0)",
                Some("0.162.0-alpha.15"),
            ),
            ("my-sdk/0.163.0 (Windows 10.0.26100; x86_64) unknown (my-sdk; 2.0)", Some("0.163.0")),
            ("codex_runtime/0.163.0", Some("0.163.0")),
            ("codex_runtime/0.163.0\t(tabbed)", Some("0.163.0")),
            ("a/b/c (x)", Some("b/c")),
            ("codex_runtime/ (Debian 12; x86_64)", None),
            ("codex_runtime/", None),
            ("no slash at all", None),
            ("", None),
        ];
        for (user_agent, want) in cases {
            assert_eq!(user_agent_version(user_agent), want, "{user_agent:?}");
        }
    }

    #[test]
    fn full_result() {
        let result = json!({
            "userAgent": "codex_runtime/0.163.0 (Debian 12.0.0; x86_64) xterm (codex_runtime; 0.1.0)",
            "codexHome": "/home/u/.codex",
            "platformFamily": "unix",
            "platformOs": "linux",
        });
        let metadata = Metadata::from_result(result.as_object().unwrap());
        assert_eq!(metadata.version(), Some("0.163.0"));
        assert_eq!(metadata.codex_home.as_deref(), Some("/home/u/.codex"));
        assert_eq!(metadata.platform_family.as_deref(), Some("unix"));
        assert_eq!(metadata.platform_os.as_deref(), Some("linux"));
        assert_eq!(metadata.server_info_version, None);
    }

    #[test]
    fn older_shapes() {
        let server_info = json!({"serverInfo": {"name": "codex-app-server", "version": "0.40.0"}});
        let metadata = Metadata::from_result(server_info.as_object().unwrap());
        assert_eq!(metadata.version(), Some("0.40.0"));
        assert_eq!(metadata.user_agent, None);

        let both = json!({
            "userAgent": "codex_runtime/0.50.0 (x; y) z (codex_runtime; 0.1.0)",
            "serverInfo": {"version": "0.40.0"},
        });
        let metadata = Metadata::from_result(both.as_object().unwrap());
        assert_eq!(metadata.version(), Some("0.50.0"), "userAgent wins");

        let unreadable_agent = json!({"userAgent": "nothing here", "serverInfo": {"version": "0.40.0"}});
        let metadata = Metadata::from_result(unreadable_agent.as_object().unwrap());
        assert_eq!(metadata.version(), Some("0.40.0"));
    }

    #[test]
    fn non_string_fields_are_absent() {
        let result = json!({"userAgent": 5, "codexHome": null, "platformOs": ["linux"]});
        let metadata = Metadata::from_result(result.as_object().unwrap());
        assert_eq!(metadata, Metadata::default());
    }
}
