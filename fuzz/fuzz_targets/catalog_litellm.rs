#![no_main]
//! Any text as a LiteLLM price file: an error or a valid catalog, never a panic.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(file) = reprice::catalog::litellm::import(text, "fuzz.json")
    {
        let _ = reprice::catalog::Catalog::new(file, "fuzz.json");
    }
});
