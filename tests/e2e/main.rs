//! End-to-end tests: the built `codex-runtime` binary against fixture runtimes served from a
//! loopback HTTP server, and one install of the real runtime.

mod blocks;
mod bundle;
mod cache;
mod channel;
mod check;
mod common;
mod crash;
mod file_pins;
mod history;
mod hostile;
mod install;
mod packages;
mod private;
mod protocol;
mod real;
mod real_bundle;
mod recipes;
mod registries;
// What the snapshots pin is a Linux x86_64 host's (the fake app-server reports the host).
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod snapshots;
mod sources;
mod verify_pins;
