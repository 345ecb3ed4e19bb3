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
