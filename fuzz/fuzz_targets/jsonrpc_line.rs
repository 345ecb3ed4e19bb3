//! The app-server client's newline-delimited JSON-RPC reader and line classifier on whatever
//! a server might write to stdout.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| codex_app_server_client::fuzz_stdout(data));
