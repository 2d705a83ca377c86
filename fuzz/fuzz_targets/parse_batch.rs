#![no_main]
//! Any bytes through the parser: it must not panic, and every line must end in exactly one place.

use libfuzzer_sys::fuzz_target;
#[allow(unused_imports)]
use reprice::ingest::Format;
use reprice::ingest::csv_export::builtin_mappings;
use reprice::ingest::{Options, parse_bytes};

fuzz_target!(|data: &[u8]| {
    let maps = builtin_mappings();
    let opts = Options {
        format: Some(Format::Batch),
        csv_mappings: &maps,
    };
    let (report, records, quarantine) = parse_bytes("fuzz.log", data, &opts);
    assert_eq!(
        report.lines,
        report.records + report.skipped + report.quarantined
    );
    assert_eq!(records.len() as u64, report.records);
    assert_eq!(quarantine.len() as u64, report.quarantined);
});
