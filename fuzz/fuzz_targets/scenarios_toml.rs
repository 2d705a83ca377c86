#![no_main]
//! Any text as a scenarios file, resolved against the built-in catalog: never a panic.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(catalog) = reprice::catalog::Catalog::builtin() else {
        return;
    };
    let _ = reprice::scenario::ScenarioSet::from_toml(text, "fuzz.toml", &catalog);
});
