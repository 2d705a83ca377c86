//! Ingest: every input line ends as a record, a skipped non-usage line, or a quarantined line.
//!
//! `blocks` reads an input in blocks and `lines` gives each JSON line its outcome by shape;
//! `whole` parses the formats that are read whole (`csv_file`, `document`). Each line's
//! outcome is absorbed into its file's result (`results`). Records go to the sink the caller
//! gives; what else a file tells (its report, its quarantined lines) is in `crate::outcome`.

mod anthropic_usage;
mod batch;
mod blocks;
mod build;
mod claude_code;
mod claude_code_report;
pub mod csv_export;
mod csv_file;
pub mod detect;
mod document;
mod entries;
mod envelope;
pub mod fields;
pub mod gemini_batch;
mod lines;
mod litellm_spend;
mod members;
mod openai_usage;
mod options;
mod read_ahead;
mod recent;
mod request;
pub mod response;
mod results;
pub mod source;
mod usage_pages;
pub mod walk;
mod whole;
mod wording;

pub use blocks::{Prefix, Start, hash_prefix, read_input};
pub use build::hash_bytes;
pub use detect::Format;
pub use options::{MAX_LINE, Options};
pub use results::Settled;

use crate::error::RunError;
use crate::outcome::{FileReport, Quarantined};
use crate::record::UsageRecord;
use blocks::parse_input;
use rayon::prelude::*;
use results::FileResult;
use source::Input;

#[derive(Debug, Default)]
pub struct Ingested {
    pub files: Vec<FileReport>,
    pub quarantine: Vec<Quarantined>,
    pub lines: u64,
    pub skipped: u64,
    /// Exact copies of a record earlier in the same file (same id, same usage), dropped as
    /// they were read; deduplication counts them with the rest.
    pub duplicates: u64,
    pub warnings: Vec<String>,
}

/// Where every parsing thread hands its records, a part at a time (a run hands them to the
/// spill's sort); ingest knows nothing of what is behind it.
pub type Sink<'s> = dyn Fn(Vec<UsageRecord>) -> Result<(), RunError> + Sync + 's;

/// Reads and parses every input, handing the records to `sink` as they are parsed. Files
/// are read in parallel; reports are merged in path order, so the outcome does not depend on
/// thread count or the order paths were given in.
pub fn ingest(
    inputs: &[Input],
    opts: &Options<'_>,
    tick: &(dyn Fn(u64) + Sync),
    sink: &Sink<'_>,
) -> Result<Ingested, RunError> {
    let per_file: Vec<Result<FileResult, RunError>> = inputs
        .par_iter()
        .map(|input| parse_input(input, opts, tick, &mut |records| sink(records)))
        .collect();
    let mut out = Ingested::default();
    for r in per_file {
        let r = r?;
        out.lines += r.report.lines;
        out.skipped += r.report.skipped;
        out.duplicates += r.duplicates;
        out.files.push(r.report);
        out.quarantine.extend(r.quarantine);
    }
    Ok(out)
}

/// Parses one file's bytes. Public for benches and fuzzing: it never panics on any input.
pub fn parse_bytes(
    display: &str,
    bytes: &[u8],
    opts: &Options<'_>,
) -> (FileReport, Vec<UsageRecord>, Vec<Quarantined>) {
    let r = whole::parse_file(display, bytes, opts);
    (r.report, r.records, r.quarantine)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn reasons(bytes: &[u8]) -> Vec<(u64, String)> {
        let maps = csv_export::builtin_mappings();
        let opts = Options::new(&maps);
        let (_, _, q) = parse_bytes("f", bytes, &opts);
        q.into_iter().map(|q| (q.line, q.reason)).collect()
    }

    /// Pieces hostile files are made of, so random inputs reach the parsers, not just the
    /// JSON syntax check.
    fn hostile_piece() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..40),
            Just(br#"{"timestamp":"2026-03-06T08:00:00Z","request":{"model":"gpt-4o","n":9e99},"response":{"usage":{"prompt_tokens":1e30,"completion_tokens":-1}}}"#.to_vec()),
            Just(br#"{"custom_id":"c","response":[1,{"x":2}],"error":null}"#.to_vec()),
            Just(br#"{"type":"assistant","message":{"id":"m","usage":{"input_tokens":"18446744073709551616"}}}"#.to_vec()),
            Just(br#"{"id":"x","created":99999999999999999999,"usageMetadata":{"promptTokenCount":1000000000000,"toolUsePromptTokenCount":1000000000000}}"#.to_vec()),
            Just(b"timestamp,model,input_tokens\n".to_vec()),
            Just(b"\xEF\xBB\xBF\r\n\0[".to_vec()),
        ]
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_are_accounted_for_without_panicking(
            pieces in proptest::collection::vec(hostile_piece(), 0..8),
            newline in proptest::prelude::any::<bool>(),
        ) {
            let sep: &[u8] = if newline { b"\n" } else { b"\r\n" };
            let bytes = pieces.join(sep);
            let maps = csv_export::builtin_mappings();
            let opts = Options::new(&maps);
            let (report, records, q) = parse_bytes("f", &bytes, &opts);
            proptest::prop_assert_eq!(
                report.lines,
                report.records + report.skipped + report.quarantined
            );
            proptest::prop_assert_eq!(report.records, records.len() as u64);
            proptest::prop_assert_eq!(report.quarantined, q.len() as u64);
            for x in &q {
                proptest::prop_assert!(!x.reason.is_empty());
                // Line numbers are physical lines; a quoted CSV cell may span several, so they can
                // run past the count of rows, but never past the bytes.
                proptest::prop_assert!(x.line >= 1 && x.byte as usize <= bytes.len());
            }
        }
    }
}
