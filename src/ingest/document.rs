//! Provider and gateway usage exports that are one JSON document per file rather than one
//! object per line: OpenAI Usage/Costs API pages, Anthropic Admin API usage and cost reports,
//! LiteLLM `/spend/logs` arrays. Such a file is read whole (bounded by [`limit`]); each of its
//! entries (a bucket's result, an array element) counts as one line, at the line and byte where
//! the entry starts, and ends as a record, a skipped entry or a quarantined one.

use super::blocks::{BLOCK, Emit};
use super::build::LineCtx;
use super::wording::size_text;
use super::{FileResult, LineOutcome, Options, Outcomes, RAW_KEPT, cut, parse_file, source};
use crate::error::RunError;
use crate::outcome::Quarantined;
use crate::record::SourceRef;
use crate::text::Text;
use serde_json::value::RawValue;

/// The export documents reprice recognizes from the first bytes of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocKind {
    /// `{"object": "page", "data": [buckets]}` (OpenAI) or `{"data": [buckets with results]}`
    /// (Anthropic).
    Pages,
    /// A JSON array of LiteLLM spend log rows.
    SpendLogs,
    /// A Gemini batch job record (`batches.get` JSON) saved beside its output file: it gives
    /// the output's lines their time and carries no usage itself.
    BatchJob,
}

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

/// The kind of export document `head` (a file's first bytes) starts, if any. Only the first
/// key of an object is looked at (and the members of a bucket's results in the head), so a
/// JSON-lines file is never mistaken for one.
pub fn detect(head: &[u8]) -> Option<DocKind> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        // The head may end inside a character.
        Err(e) => std::str::from_utf8(&head[..e.valid_up_to()]).ok()?,
    };
    let t = text.trim_start();
    if let Some(rest) = t.strip_prefix('[') {
        // An array is never JSON lines: the members of its rows, anywhere in the head, tell.
        let obj = rest.trim_start().strip_prefix('{')?;
        return (obj.contains("\"request_id\"")
            && obj.contains("\"spend\"")
            && (obj.contains("\"startTime\"") || obj.contains("\"call_type\"")))
        .then_some(DocKind::SpendLogs);
    }
    let rest = t.strip_prefix('{')?.trim_start();
    let key = rest.strip_prefix('"')?;
    let key = &key[..key.find('"')?];
    match key {
        "object" => {
            let after = rest[key.len() + 2..].trim_start().strip_prefix(':')?;
            after
                .trim_start()
                .starts_with("\"page\"")
                .then_some(DocKind::Pages)
        }
        "name" => (text.contains("\"batches/")
            && (text.contains("\"endTime\"") || text.contains("\"end_time\"")))
        .then_some(DocKind::BatchJob),
        "data" => ((text.contains("\"results\"")
            && (text.contains("\"starting_at\"") || text.contains("\"start_time\"")))
            || (text.contains("\"model_breakdown\"") && text.contains("\"actor\"")))
        .then_some(DocKind::Pages),
        _ => None,
    }
}

/// Where an entry of the document starts: 1-based line and byte offset.
pub struct Locator<'d> {
    text: &'d str,
    file: Text,
}

impl<'d> Locator<'d> {
    pub fn new(file: &Text, text: &'d str) -> Locator<'d> {
        Locator {
            text,
            file: file.clone(),
        }
    }

    /// `raw` must be a part of the document text.
    pub fn source(&self, raw: &RawValue) -> SourceRef {
        let at = (raw.get().as_ptr() as usize).saturating_sub(self.text.as_ptr() as usize);
        let at = at.min(self.text.len());
        let line = memchr::memchr_iter(b'\n', &self.text.as_bytes()[..at]).count() as u64 + 1;
        SourceRef {
            file: self.file.clone(),
            line,
            byte: at as u64,
        }
    }
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

/// An entry's outcome with the text it was read from.
pub type Entry<'d> = (SourceRef, &'d str, LineOutcome);

/// The context an entry's record is built with.
pub fn ctx(source: &SourceRef) -> LineCtx<'_> {
    LineCtx {
        source,
        project: None,
        batch_job: None,
    }
}

/// An export document read whole, up to [`limit`]; a larger one is one quarantined
/// line, streamed past without being held.
#[allow(clippy::too_many_arguments)]
pub(super) fn read_document(
    display: &str,
    mut stream: source::Stream,
    mut buf: Vec<u8>,
    mut eof: bool,
    doc: DocKind,
    opts: &Options<'_>,
    tick: &(dyn Fn(u64) + Sync),
    emit: &mut Emit<'_>,
) -> Result<FileResult, RunError> {
    let limit = limit(opts.max_line);
    while !eof && buf.len() <= limit {
        let want = (buf.len() + BLOCK).min(limit + 1);
        eof = stream.fill(&mut buf, want)?;
    }
    if buf.len() <= limit {
        tick(buf.len() as u64);
        let mut r = parse_file(display, &buf, opts);
        if let Some(h) = stream.compressed_blake3() {
            r.report.blake3 = h;
        }
        emit(std::mem::take(&mut r.records))?;
        return Ok(r);
    }
    let mut hasher = blake3::Hasher::new();
    hasher.update(&buf);
    let mut total = buf.len() as u64;
    let head = cut(
        &String::from_utf8_lossy(&buf[..buf.len().min(RAW_KEPT)]),
        RAW_KEPT,
    );
    drop(buf);
    let mut chunk = Vec::new();
    while !eof {
        chunk.clear();
        eof = stream.fill(&mut chunk, BLOCK)?;
        hasher.update(&chunk);
        total += chunk.len() as u64;
    }
    tick(total);
    let mut r = FileResult::new(
        display,
        format_name(doc).to_string(),
        total,
        stream
            .compressed_blake3()
            .unwrap_or_else(|| hasher.finalize().to_hex().to_string()),
    );
    r.report.lines = 1;
    r.report.quarantined = 1;
    r.quarantine.push(Quarantined {
        file: display.to_string(),
        line: 1,
        byte: 0,
        reason: format!(
            "an export document of {total} bytes, over {} ({}x --max-line-size): such a \
             document is read whole; save it as smaller pages or raise --max-line-size",
            size_text(limit),
            SIZE_FACTOR
        ),
        raw: head,
    });
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_documents_by_their_first_key() {
        assert_eq!(
            detect(b"{\n  \"object\": \"page\",\n  \"data\": []"),
            Some(DocKind::Pages)
        );
        assert_eq!(
            detect(br#"{"data":[{"starting_at":"2026-01-01T00:00:00Z","results":[]}]}"#),
            Some(DocKind::Pages)
        );
        assert_eq!(
            detect(br#"[{"request_id":"r","call_type":"acompletion","spend":0.1}]"#),
            Some(DocKind::SpendLogs)
        );
        // An images response logged bare, envelopes and plain arrays are not documents.
        assert_eq!(detect(br#"{"data":[{"b64_json":""}],"created":1}"#), None);
        assert_eq!(detect(br#"{"timestamp":"x","object":"page"}"#), None);
        assert_eq!(detect(br#"[{"a":1}]"#), None);
        assert_eq!(
            detect(br#"{"name": "batches/123", "metadata": {"endTime": "2026-03-10T03:15:00Z"}}"#),
            Some(DocKind::BatchJob)
        );
        assert_eq!(detect(b""), None);
    }
}
