//! Which parser a file and each of its lines go to.

use serde::Deserialize;
use serde_json::value::RawValue;

type Raw<'a> = Option<&'a RawValue>;

/// Input families of DESIGN.md. JSON-lines families are also told apart per line, so a file
/// that mixes them is read correctly.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum, serde::Serialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// Response-log envelopes and bare response bodies, one JSON object per line.
    Envelope,
    /// OpenAI Batch API output files.
    Batch,
    /// Claude Code session logs.
    ClaudeCode,
    /// CSV billing exports.
    Csv,
    /// Gemini Batch API output files (`key` and `response` or `error` per line).
    GeminiBatch,
    /// OpenAI Usage and Costs API pages (one JSON document per file).
    OpenaiUsage,
    /// Anthropic Admin API usage and cost reports (one JSON document per file).
    AnthropicUsage,
    /// LiteLLM proxy spend logs (`/spend/logs` JSON array).
    LitellmSpend,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Envelope => "envelope",
            Format::Batch => "batch",
            Format::ClaudeCode => "claude-code",
            Format::Csv => "csv",
            Format::GeminiBatch => "gemini-batch",
            Format::OpenaiUsage => "openai-usage",
            Format::AnthropicUsage => "anthropic-usage",
            Format::LitellmSpend => "litellm-spend",
        }
    }

    /// The export document a whole-file format is, if it is one.
    pub fn document(self) -> Option<DocKind> {
        match self {
            Format::OpenaiUsage | Format::AnthropicUsage => Some(DocKind::Pages),
            Format::LitellmSpend => Some(DocKind::SpendLogs),
            _ => None,
        }
    }
}

/// The family of a whole file, from its first non-blank bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    JsonLines,
    JsonArray,
    Csv,
    Unknown,
}

/// A file's kind: as `--format` says where it is given, else detected from `head`, the
/// file's first bytes.
pub(super) fn kind_of(format: Option<Format>, head: &[u8]) -> FileKind {
    match format {
        Some(Format::Csv) => FileKind::Csv,
        Some(_) => FileKind::JsonLines,
        None => file_kind(head),
    }
}

/// The export document a file is, if any: as `--format` says where it is given, else
/// detected from `head`, the file's first bytes.
pub(super) fn document_of(format: Option<Format>, head: &[u8]) -> Option<DocKind> {
    match format {
        None => document_kind(head),
        Some(f) => f.document(),
    }
}

pub fn file_kind(head: &[u8]) -> FileKind {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    // NUL bytes are what a crash leaves in preallocated log blocks, not a format: skipping them
    // lets the JSON-lines parser quarantine those lines by name instead of the whole file.
    let blank = |b: &u8| b.is_ascii_whitespace() || *b == 0;
    let first = head.iter().position(|b| !blank(b));
    match first.map(|i| (i, head[i])) {
        Some((_, b'{')) => FileKind::JsonLines,
        Some((_, b'[')) => FileKind::JsonArray,
        Some((i, _)) => {
            let rest = &head[i..];
            let line_end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
            let line = &rest[..line_end];
            if memchr::memchr(b',', line).is_some() && std::str::from_utf8(line).is_ok() {
                FileKind::Csv
            } else if rest
                .split(|b| *b == b'\n')
                .skip(1)
                .find_map(|l| l.iter().find(|b| !blank(b)))
                == Some(&b'{')
            {
                // A damaged first line above JSON objects: the file is JSON lines, and only that
                // line is bad.
                FileKind::JsonLines
            } else {
                FileKind::Unknown
            }
        }
        None => FileKind::JsonLines,
    }
}

/// Every top-level field any JSON source uses; unknown fields are skipped unparsed. `B` is how
/// the bodies (`response`, `message`) are taken: raw (the default), or read in place
/// (`InPlace<Body>`). Absent fields are `None`.
#[derive(Deserialize)]
#[serde(bound(deserialize = "'de: 'a, B: Deserialize<'de>"))]
pub struct Probe<'a, B = &'a RawValue> {
    #[serde(borrow)]
    pub timestamp: Raw<'a>,
    #[serde(borrow)]
    pub api_key: Raw<'a>,
    #[serde(borrow)]
    pub request: Raw<'a>,
    pub response: Option<B>,
    #[serde(borrow)]
    pub status: Raw<'a>,
    #[serde(borrow)]
    pub model: Raw<'a>,
    #[serde(borrow)]
    pub provider: Raw<'a>,
    #[serde(borrow)]
    pub id: Raw<'a>,
    #[serde(borrow)]
    pub attempt: Raw<'a>,
    #[serde(borrow)]
    pub retry_of: Raw<'a>,
    #[serde(borrow)]
    pub batch: Raw<'a>,
    #[serde(borrow)]
    pub custom_id: Raw<'a>,
    /// Gemini Batch API output: the request's key.
    #[serde(borrow)]
    pub key: Raw<'a>,
    #[serde(borrow)]
    pub error: Raw<'a>,
    #[serde(borrow, rename = "type")]
    pub kind: Raw<'a>,
    pub message: Option<B>,
    #[serde(borrow, rename = "requestId")]
    pub request_id: Raw<'a>,
    #[serde(borrow, rename = "sessionId")]
    pub session_id: Raw<'a>,
    #[serde(borrow)]
    pub uuid: Raw<'a>,
    #[serde(borrow, rename = "costUSD")]
    pub cost_usd: Raw<'a>,
    #[serde(borrow)]
    pub cwd: Raw<'a>,
    #[serde(borrow)]
    pub usage: Raw<'a>,
    #[serde(borrow, rename = "usageMetadata")]
    pub usage_metadata: Raw<'a>,
    #[serde(borrow)]
    pub created: Raw<'a>,
    #[serde(borrow)]
    pub candidates: Raw<'a>,
    #[serde(borrow)]
    pub data: Raw<'a>,
    #[serde(borrow)]
    pub predictions: Raw<'a>,
}

impl<B> Probe<'_, B> {
    pub fn shape(&self) -> Option<Format> {
        if self.custom_id.is_some() && self.response.is_some()
            || self.custom_id.is_some() && self.error.is_some()
        {
            Some(Format::Batch)
        } else if self.key.is_some()
            && (self.response.is_some() || self.error.is_some())
            && self.request.is_none()
            && self.timestamp.is_none()
        {
            Some(Format::GeminiBatch)
        } else if self.request.is_some() || self.response.is_some() {
            Some(Format::Envelope)
        } else if self.session_id.is_some() || (self.kind.is_some() && self.usage.is_none()) {
            Some(Format::ClaudeCode)
        } else if self.usage.is_some()
            || self.usage_metadata.is_some()
            || self.candidates.is_some()
            || self.data.is_some()
            || self.predictions.is_some()
        {
            Some(Format::Envelope)
        } else {
            None
        }
    }
}

/// What file-kind detection looks at.
pub(super) const HEAD: usize = 64 << 10;

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

/// The kind of export document `head` (a file's first bytes) starts, if any. Only the first
/// key of an object is looked at (and the members of a bucket's results in the head), so a
/// JSON-lines file is never mistaken for one.
pub fn document_kind(head: &[u8]) -> Option<DocKind> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(line: &str) -> Option<Format> {
        serde_json::from_str::<Probe>(line).expect("json").shape()
    }

    #[test]
    fn tells_line_shapes_apart() {
        assert_eq!(
            shape(r#"{"timestamp":"2026-03-01T00:00:00Z","request":{},"response":{}}"#),
            Some(Format::Envelope)
        );
        assert_eq!(
            shape(r#"{"id":"chatcmpl-1","created":1,"usage":{}}"#),
            Some(Format::Envelope)
        );
        assert_eq!(
            shape(r#"{"id":"b","custom_id":"r1","response":{"body":{}}}"#),
            Some(Format::Batch)
        );
        assert_eq!(
            shape(r#"{"type":"assistant","sessionId":"s","message":{}}"#),
            Some(Format::ClaudeCode)
        );
        assert_eq!(
            shape(r#"{"type":"summary","summary":"x","leafUuid":"u"}"#),
            Some(Format::ClaudeCode)
        );
        assert_eq!(
            shape(r#"{"key":"req-1","response":{"usageMetadata":{}}}"#),
            Some(Format::GeminiBatch)
        );
        assert_eq!(
            shape(r#"{"key":"req-2","error":{"code":3}}"#),
            Some(Format::GeminiBatch)
        );
        assert_eq!(shape(r#"{"hello":"world"}"#), None);
    }

    #[test]
    fn file_kinds() {
        assert_eq!(file_kind(b"\xEF\xBB\xBF{\"a\":1}\n"), FileKind::JsonLines);
        assert_eq!(file_kind(b"  [{\"a\":1}]"), FileKind::JsonArray);
        assert_eq!(file_kind(b"timestamp,model,cost\n"), FileKind::Csv);
        assert_eq!(file_kind(b"hello world\n"), FileKind::Unknown);
        assert_eq!(file_kind(b""), FileKind::JsonLines);
        assert_eq!(file_kind(b"\0\0\0"), FileKind::JsonLines);
        assert_eq!(file_kind(b"\0\0{\"a\":1}\n"), FileKind::JsonLines);
        assert_eq!(
            file_kind(b"\x80{\"a\":1}\n{\"a\":1}\n"),
            FileKind::JsonLines
        );
        assert_eq!(file_kind(b"hello\n\n  {\"a\":1}\n"), FileKind::JsonLines);
        assert_eq!(file_kind(b"hello\nworld\n{\"a\":1}\n"), FileKind::Unknown);
    }

    #[test]
    fn documents_are_told_by_their_first_key() {
        assert_eq!(
            document_kind(b"{\n  \"object\": \"page\",\n  \"data\": []"),
            Some(DocKind::Pages)
        );
        assert_eq!(
            document_kind(br#"{"data":[{"starting_at":"2026-01-01T00:00:00Z","results":[]}]}"#),
            Some(DocKind::Pages)
        );
        assert_eq!(
            document_kind(br#"[{"request_id":"r","call_type":"acompletion","spend":0.1}]"#),
            Some(DocKind::SpendLogs)
        );
        // An images response logged bare, envelopes and plain arrays are not documents.
        assert_eq!(
            document_kind(br#"{"data":[{"b64_json":""}],"created":1}"#),
            None
        );
        assert_eq!(document_kind(br#"{"timestamp":"x","object":"page"}"#), None);
        assert_eq!(document_kind(br#"[{"a":1}]"#), None);
        assert_eq!(
            document_kind(
                br#"{"name": "batches/123", "metadata": {"endTime": "2026-03-10T03:15:00Z"}}"#
            ),
            Some(DocKind::BatchJob)
        );
        assert_eq!(document_kind(b""), None);
    }
}
