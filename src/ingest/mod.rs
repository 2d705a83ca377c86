//! Ingest: every input line ends as a record, a skipped non-usage line, or a quarantined line.
//!
//! `blocks` reads an input in blocks and `lines` gives each JSON line its outcome by shape;
//! `csv_file` and `document` read the formats that are read whole. Records go to the sink the
//! caller gives; what else a file tells (its report, its quarantined lines) is in
//! `crate::outcome`.

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
mod envelope;
pub mod fields;
pub mod gemini_batch;
mod lines;
mod litellm_spend;
mod members;
mod openai_usage;
mod read_ahead;
mod recent;
mod request;
pub mod response;
pub mod source;
mod usage_pages;
mod wording;

pub use blocks::{Prefix, Settled, Start, hash_prefix, read_input};
pub use build::hash_bytes;
pub use detect::Format;

use crate::error::RunError;
use crate::outcome::{BilledCost, FileReport, Quarantined};
use crate::record::{SourceRef, UsageRecord};
use crate::text::Text;
use blocks::{HEAD, parse_input};
use csv_export::CsvMapping;
use csv_file::csv_lines;
use detect::FileKind;
use lines::{json_lines, reject_all};
use rayon::prelude::*;
use recent::RecentCopies;
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

pub struct Options<'a> {
    pub format: Option<Format>,
    pub csv_mappings: &'a [CsvMapping],
    /// Longer lines are quarantined and skipped without being held (`--max-line-size`).
    pub max_line: usize,
    /// The day of lines that carry no time and have no batch job record beside their file
    /// (Gemini Batch API output; `--default-day`).
    pub default_day: Option<chrono::NaiveDate>,
}

impl<'a> Options<'a> {
    /// Detection on, the default line limit, no default day: what a run without flags uses.
    pub fn new(csv_mappings: &'a [CsvMapping]) -> Options<'a> {
        Options {
            format: None,
            csv_mappings,
            max_line: MAX_LINE,
            default_day: None,
        }
    }
}

/// The default `--max-line-size`: far above any real log line (a response with a 4K image
/// inlined as base64 is about 30 MB), far below what a run can afford to hold.
pub const MAX_LINE: usize = 64 << 20;

/// What is kept of an overlong line, as of any quarantined line.
const RAW_KEPT: usize = 4096;

#[derive(Debug, PartialEq)]
enum LineOutcome {
    Record(Box<UsageRecord>),
    Skip,
    /// A request a gateway answered from its own cache: skipped, and counted apart.
    ProxyCacheHit,
    /// What a provider's cost export says was billed: no usage, kept for reconciliation.
    Billed(Box<BilledCost>),
    Bad(String),
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

fn absorb(
    out: &mut FileResult,
    display: &str,
    outcomes: Outcomes<'_>,
    recent: Option<&mut RecentCopies>,
) {
    let kept = detach(out, display, outcomes);
    absorb_kept(out, kept, recent);
}

/// Counts a part's lines and quarantines its bad ones, which keep their bytes as text; gives
/// the other outcomes, which keep nothing of the part's bytes: they can be absorbed while the
/// next part is parsed, once the buffer holding this one is read into again.
fn detach(out: &mut FileResult, display: &str, outcomes: Outcomes<'_>) -> Vec<LineOutcome> {
    out.report.lines += outcomes.len() as u64;
    let mut kept = Vec::with_capacity(outcomes.len());
    for (src, raw, o) in outcomes {
        match o {
            LineOutcome::Bad(reason) => {
                out.report.quarantined += 1;
                out.quarantine.push(Quarantined {
                    file: display.to_string(),
                    line: src.line,
                    byte: src.byte,
                    reason,
                    raw: cut(&String::from_utf8_lossy(raw), 4096),
                });
            }
            o => kept.push(o),
        }
    }
    kept
}

/// The records and counts of a part's outcomes, in line order.
fn absorb_kept(
    out: &mut FileResult,
    kept: Vec<LineOutcome>,
    mut recent: Option<&mut RecentCopies>,
) {
    // Growing the vector record by record copied each part's records again.
    out.records.reserve(kept.len());
    for o in kept {
        match o {
            LineOutcome::Record(r) => {
                out.report.records += 1;
                if let Some(f) = recent.as_deref_mut()
                    && f.is_copy(&r)
                {
                    out.duplicates += 1;
                } else {
                    out.records.push(*r);
                }
            }
            LineOutcome::Skip => out.report.skipped += 1,
            LineOutcome::ProxyCacheHit => {
                out.report.skipped += 1;
                out.report.served_from_cache += 1;
            }
            LineOutcome::Billed(b) => {
                out.report.skipped += 1;
                out.report.billed.push(*b);
            }
            // Quarantined by `detach`.
            LineOutcome::Bad(_) => {}
        }
    }
}

struct FileResult {
    report: FileReport,
    records: Vec<UsageRecord>,
    quarantine: Vec<Quarantined>,
    /// Records dropped as exact copies of an earlier one in this file.
    duplicates: u64,
    /// JSON lines only.
    settled: Option<Settled>,
}

impl FileResult {
    /// Nothing counted yet: `absorb` adds each part's lines.
    fn new(display: &str, format: String, bytes: u64, blake3: String) -> FileResult {
        FileResult {
            report: FileReport {
                path: display.to_string(),
                format,
                bytes,
                blake3,
                lines: 0,
                records: 0,
                skipped: 0,
                quarantined: 0,
                served_from_cache: 0,
                billed: Vec::new(),
            },
            records: Vec::new(),
            quarantine: Vec::new(),
            duplicates: 0,
            settled: None,
        }
    }
}

/// Parses one file's bytes. Public for benches and fuzzing: it never panics on any input.
pub fn parse_bytes(
    display: &str,
    bytes: &[u8],
    opts: &Options<'_>,
) -> (FileReport, Vec<UsageRecord>, Vec<Quarantined>) {
    let r = parse_file(display, bytes, opts);
    (r.report, r.records, r.quarantine)
}

fn parse_file(display: &str, bytes: &[u8], opts: &Options<'_>) -> FileResult {
    let file: Text = Text::from(display);
    let project = source::claude_project(display);
    let head = &bytes[..bytes.len().min(HEAD)];
    let kind = match opts.format {
        Some(Format::Csv) => FileKind::Csv,
        Some(_) => FileKind::JsonLines,
        None => detect::file_kind(head),
    };
    let doc = match opts.format {
        None => document::detect(head),
        Some(f) => f.document(),
    };
    let (format, outcomes) = match (doc, kind) {
        (Some(doc), _) => (
            document::format_name(doc).to_string(),
            document::parse(&file, bytes, doc),
        ),
        (None, kind) => match kind {
            FileKind::Csv => (
                "csv".to_string(),
                csv_lines(&file, bytes, opts.csv_mappings, &project),
            ),
            FileKind::JsonLines => (
                "json-lines".to_string(),
                json_lines(
                    &file,
                    bytes,
                    opts.format,
                    &project,
                    gemini_batch::job_for(None, opts.default_day).as_ref(),
                ),
            ),
            FileKind::JsonArray => (
                "json-array".to_string(),
                reject_all(
                    &file,
                    bytes,
                    "a JSON array, not JSON lines: write one object per line",
                ),
            ),
            FileKind::Unknown => (
                "unknown".to_string(),
                reject_all(
                    &file,
                    bytes,
                    "unrecognized format: neither JSON lines nor a CSV with a header",
                ),
            ),
        },
    };
    let mut out = FileResult::new(
        display,
        format,
        bytes.len() as u64,
        blake3::hash(bytes).to_hex().to_string(),
    );
    absorb(&mut out, display, outcomes, None);
    out
}

fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

type Outcomes<'b> = Vec<(SourceRef, &'b [u8], LineOutcome)>;

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
