//! Provider and gateway usage exports that are one JSON document per file rather than one
//! object per line: OpenAI Usage/Costs API pages, Anthropic Admin API usage and cost reports,
//! LiteLLM `/spend/logs` arrays. Such a file is read whole (bounded by [`limit`]); each of its
//! entries (a bucket's result, an array element) counts as one line, at the line and byte where
//! the entry starts, and ends as a record, a skipped entry or a quarantined one.

use super::detect::DocKind;
use super::entries::Locator;
use super::results::{LineOutcome, Outcomes};
use crate::record::SourceRef;
use crate::text::Text;

/// The format name a file report gives a document.
pub fn format_name(kind: DocKind) -> &'static str {
    match kind {
        DocKind::Pages => "usage-pages",
        DocKind::SpendLogs => "litellm-spend-logs",
        DocKind::BatchJob => "gemini-batch-job",
    }
}

/// How many times `--max-line-size` an export document may be: they are small (a page of
/// daily buckets), and a larger one is refused rather than held.
pub const SIZE_FACTOR: usize = 4;

pub fn limit(max_line: usize) -> usize {
    max_line.saturating_mul(SIZE_FACTOR)
}

/// Parses a whole export document. Entries are parsed by the format's parser; a document that
/// is not JSON, or not of the recognized shape, is one quarantined line.
pub fn parse<'b>(file: &Text, bytes: &'b [u8], kind: DocKind) -> Outcomes<'b> {
    let whole = |reason: String| {
        let source = SourceRef {
            file: file.clone(),
            line: 1,
            byte: 0,
        };
        vec![(source, bytes, LineOutcome::Bad(reason))]
    };
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = match std::str::from_utf8(body) {
        Ok(t) => t,
        Err(e) => {
            return whole(format!(
                "export document: invalid UTF-8 at byte {}",
                e.valid_up_to()
            ));
        }
    };
    let loc = Locator::new(file, text);
    let entries = match kind {
        DocKind::Pages => super::usage_pages::entries(text, &loc),
        DocKind::SpendLogs => super::litellm_spend::entries(text, &loc),
        DocKind::BatchJob => match super::gemini_batch::read_record(text) {
            Some(_) => {
                let source = SourceRef {
                    file: file.clone(),
                    line: 1,
                    byte: 0,
                };
                return vec![(source, bytes, LineOutcome::Skip)];
            }
            None => Err("a Gemini batch job record without an end time".to_string()),
        },
    };
    match entries {
        Ok(v) => v
            .into_iter()
            .map(|(source, raw, o)| {
                let raw: &'b [u8] = slice_of(bytes, raw);
                let o = match o {
                    LineOutcome::Bad(e) => LineOutcome::Bad(super::wording::clean_json_error(&e)),
                    o => o,
                };
                (source, raw, o)
            })
            .collect(),
        Err(reason) => whole(super::wording::clean_json_error(&reason)),
    }
}

/// The bytes of `part` (a slice of `whole`'s text) as a slice of `whole`.
fn slice_of<'b>(whole: &'b [u8], part: &str) -> &'b [u8] {
    let start = (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize);
    let start = start.min(whole.len());
    let end = (start + part.len()).min(whole.len());
    &whole[start..end]
}
