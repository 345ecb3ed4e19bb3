//! Test support for codex-runtime: fixture runtimes packed like upstream's artifacts, a
//! loopback HTTP server with fault injection, and a fake app-server.

pub mod app_server;
pub mod fixture;
pub mod http;
