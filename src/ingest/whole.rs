//! One file's bytes parsed at once, whatever their format: CSV files and export documents,
//! which are read whole, and `parse_bytes` for benches and fuzzing.

use super::csv_file::csv_lines;
use super::detect::{FileKind, HEAD};
use super::lines::{json_lines, reject_all};
use super::options::Options;
use super::results::{FileResult, absorb};
use super::{detect, document, gemini_batch, source};
use crate::text::Text;

pub(super) fn parse_file(display: &str, bytes: &[u8], opts: &Options<'_>) -> FileResult {
    let file: Text = Text::from(display);
    let project = source::claude_project(display);
    let head = &bytes[..bytes.len().min(HEAD)];
    let kind = detect::kind_of(opts.format, head);
    let doc = detect::document_of(opts.format, head);
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
