//! What parsing gives: each line's outcome, and the result of a file they are absorbed into
//! (its report, records and quarantined lines, and the part a later run can skip).

use super::recent::RecentCopies;
use crate::outcome::{BilledCost, FileReport, Quarantined};
use crate::record::{SourceRef, UsageRecord};

/// What is kept of an overlong line, as of any quarantined line.
pub(super) const RAW_KEPT: usize = 4096;

/// What one line, or one entry of an export document, ends as.
#[derive(Debug, PartialEq)]
pub(super) enum LineOutcome {
    Record(Box<UsageRecord>),
    Skip,
    /// A request a gateway answered from its own cache: skipped, and counted apart.
    ProxyCacheHit,
    /// What a provider's cost export says was billed: no usage, kept for reconciliation.
    Billed(Box<BilledCost>),
    Bad(String),
}

/// The first [`RAW_KEPT`] bytes of a line or input too long to keep, as text.
pub(super) fn raw_head(bytes: &[u8]) -> String {
    cut(
        &String::from_utf8_lossy(&bytes[..bytes.len().min(RAW_KEPT)]),
        RAW_KEPT,
    )
}

/// At most `max` bytes of `s`, cut where a character ends.
pub(super) fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// A part's outcomes, each with where its line is and its bytes.
pub(super) type Outcomes<'b> = Vec<(SourceRef, &'b [u8], LineOutcome)>;

/// The part of a JSON-lines file up to its last line end: what a later run can skip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settled {
    pub offset: u64,
    pub lines: u64,
    /// BLAKE3 of those bytes (decompressed, for gzip: the ones the offset counts).
    pub prefix_blake3: blake3::Hash,
}

pub(super) fn absorb(
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
pub(super) fn detach(
    out: &mut FileResult,
    display: &str,
    outcomes: Outcomes<'_>,
) -> Vec<LineOutcome> {
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
pub(super) fn absorb_kept(
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

pub(super) struct FileResult {
    pub(super) report: FileReport,
    pub(super) records: Vec<UsageRecord>,
    pub(super) quarantine: Vec<Quarantined>,
    /// Records dropped as exact copies of an earlier one in this file.
    pub(super) duplicates: u64,
    /// JSON lines only.
    pub(super) settled: Option<Settled>,
}

impl FileResult {
    /// Nothing counted yet: `absorb` adds each part's lines.
    pub(super) fn new(display: &str, format: String, bytes: u64, blake3: String) -> FileResult {
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
