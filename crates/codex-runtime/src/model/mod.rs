//! What is pinned and what is asked for: digests, targets, versions and requirements, the channel
//! manifests and the history compiled into this build, the pin files a project keeps, the
//! environment variables the tool reads (`env`) and the kinds of failure. Data and parsing: no I/O
//! beyond reading the files it is handed and one snapshot of the process's environment, no network.

pub mod digest;
pub mod env;
pub mod error;
pub mod history;
pub mod manifest;
pub mod requirement;
pub mod target;
pub mod version;
pub mod version_from;

/// Deserialize a value written as a string through its `FromStr`, from the borrowed text where
/// the format allows it (no `String` per value: `path` reads a thousand digests); `expecting`
/// names it in the message when the value is not a string.
pub(crate) fn parse_str<'de, D, T>(deserializer: D, expecting: &'static str) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    struct Visitor<T>(&'static str, std::marker::PhantomData<T>);
    impl<T: std::str::FromStr> serde::de::Visitor<'_> for Visitor<T>
    where
        T::Err: std::fmt::Display,
    {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
            v.parse().map_err(E::custom)
        }
    }
    deserializer.deserialize_str(Visitor(expecting, std::marker::PhantomData))
}
