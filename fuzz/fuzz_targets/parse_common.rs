//! The check every parser target makes: any bytes parse without a panic, and every line ends
//! in exactly one place (a record, a skipped line, or the quarantine).

use reprice::ingest::csv_export::builtin_mappings;
use reprice::ingest::{Format, Options, parse_bytes};

pub fn check(data: &[u8], format: Option<Format>) {
    let maps = builtin_mappings();
    let opts = Options {
        format,
        csv_mappings: &maps,
        max_line: reprice::ingest::MAX_LINE,
        default_day: None,
    };
    let (report, records, quarantine) = parse_bytes("fuzz.log", data, &opts);
    assert_eq!(
        report.lines,
        report.records + report.skipped + report.quarantined
    );
    assert_eq!(records.len() as u64, report.records);
    assert_eq!(quarantine.len() as u64, report.quarantined);
}
