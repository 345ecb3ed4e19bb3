//! tar.gz extraction of arbitrary bytes: refused or extracted, never written outside.
#![no_main]

mod common;

use codex_runtime::model::manifest::ArchiveFormat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::extract_checked(data, ArchiveFormat::TarGz));
