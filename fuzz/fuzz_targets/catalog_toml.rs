#![no_main]
//! Any text as a catalog file: an error or a valid catalog, never a panic.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = reprice::catalog::Catalog::from_toml(text, "fuzz.toml");
    }
});
