//! Channel manifest parsing: any input either fails with an error or parses into a manifest
//! whose canonical JSON parses back to the same canonical JSON.
#![no_main]

use codex_runtime::Manifest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(manifest) = Manifest::parse(text, "fuzz") {
        let json = manifest.to_json();
        let again = Manifest::parse(&json, "fuzz round trip").expect("a manifest's own JSON parses");
        assert_eq!(again.to_json(), json, "the canonical JSON is stable");
    }
});
