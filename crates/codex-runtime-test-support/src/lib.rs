//! Test support for codex-runtime: fixture runtimes packed like upstream's artifacts, a
//! loopback HTTP server with fault injection and an HTTPS front for it, a fake app-server, and
//! real private registries (verdaccio, pypiserver) on loopback.

pub mod app_server;
pub mod fixture;
pub mod http;
pub mod registries;
pub mod tls;
