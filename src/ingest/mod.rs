//! Ingest: every input line ends as a record, a skipped non-usage line, or a quarantined line.

mod batch;
mod build;
mod claude_code;
pub mod csv_export;
pub mod dedup;
pub mod detect;
mod envelope;
pub mod fields;
pub mod response;
pub mod source;

pub use build::{Fnv, hash_bytes};
pub use detect::Format;

use crate::error::RunError;
use crate::record::{SourceRef, UsageRecord};
use build::LineCtx;
use csv_export::CsvMapping;
use detect::{FileKind, Probe};
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};
use source::Input;
use std::sync::Arc;

#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quarantined {
    pub file: String,
    pub line: u64,
    pub byte: u64,
    pub reason: String,
    /// The rejected line as read (lossy UTF-8, cut at 4,096 characters).
    pub raw: String,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FileReport {
    pub path: String,
    pub format: String,
    pub bytes: u64,
    pub sha256: String,
    pub lines: u64,
    pub records: u64,
    pub skipped: u64,
    pub quarantined: u64,
}

#[derive(Debug, Default)]
pub struct Ingested {
    pub files: Vec<FileReport>,
    pub records: Vec<UsageRecord>,
    pub quarantine: Vec<Quarantined>,
    pub lines: u64,
    pub skipped: u64,
    pub warnings: Vec<String>,
}

pub struct Options<'a> {
    pub format: Option<Format>,
    pub csv_mappings: &'a [CsvMapping],
}

enum LineOutcome {
    Record(Box<UsageRecord>),
    Skip,
    Bad(String),
}

/// Reads and parses every input. Files are read in parallel; results are merged in path order,
/// so the outcome does not depend on thread count or the order paths were given in.
pub fn ingest(
    inputs: &[Input],
    opts: &Options<'_>,
    tick: &(dyn Fn(u64) + Sync),
) -> Result<Ingested, RunError> {
    let per_file: Vec<Result<FileResult, RunError>> = inputs
        .par_iter()
        .map(|input| {
            let bytes = source::read(input)?;
            let r = parse_file(input.display(), &bytes, 0, 0, opts);
            tick(bytes.len() as u64);
            Ok(r)
        })
        .collect();
    let mut out = Ingested::default();
    for r in per_file {
        let r = r?;
        out.lines += r.report.lines;
        out.skipped += r.report.skipped;
        out.files.push(r.report);
        out.records.extend(r.records);
        out.quarantine.extend(r.quarantine);
    }
    Ok(out)
}

struct FileResult {
    report: FileReport,
    records: Vec<UsageRecord>,
    quarantine: Vec<Quarantined>,
}

/// Parses one file's bytes. Public for benches and fuzzing: it never panics on any input.
pub fn parse_bytes(
    display: &str,
    bytes: &[u8],
    opts: &Options<'_>,
) -> (FileReport, Vec<UsageRecord>, Vec<Quarantined>) {
    let r = parse_file(display, bytes, 0, 0, opts);
    (r.report, r.records, r.quarantine)
}

/// Parses the JSON lines of `bytes` from byte `start`, numbering lines after `lines_before`.
/// Counts in the report cover only that part; its hash covers all of `bytes`.
pub fn parse_bytes_from(
    display: &str,
    bytes: &[u8],
    start: u64,
    lines_before: u64,
    opts: &Options<'_>,
) -> (FileReport, Vec<UsageRecord>, Vec<Quarantined>) {
    let r = parse_file(display, bytes, start as usize, lines_before, opts);
    (r.report, r.records, r.quarantine)
}

fn parse_file(
    display: &str,
    bytes: &[u8],
    start: usize,
    lines_before: u64,
    opts: &Options<'_>,
) -> FileResult {
    let file: Arc<str> = Arc::from(display);
    let project = source::claude_project(display);
    let kind = match opts.format {
        Some(Format::Csv) => FileKind::Csv,
        Some(_) => FileKind::JsonLines,
        None => detect::file_kind(&bytes[..bytes.len().min(64 * 1024)]),
    };
    let (format, outcomes) = match kind {
        FileKind::Csv => (
            "csv".to_string(),
            csv_lines(&file, bytes, opts.csv_mappings, &project),
        ),
        FileKind::JsonLines => (
            "json-lines".to_string(),
            json_lines(
                &file,
                bytes,
                start.min(bytes.len()),
                lines_before,
                opts.format,
                &project,
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
    };
    let mut report = FileReport {
        path: display.to_string(),
        format,
        bytes: bytes.len() as u64,
        sha256: hex(&Sha256::digest(bytes)),
        lines: outcomes.len() as u64,
        records: 0,
        skipped: 0,
        quarantined: 0,
    };
    let mut records = Vec::new();
    let mut quarantine = Vec::new();
    for (src, raw, o) in outcomes {
        match o {
            LineOutcome::Record(r) => {
                report.records += 1;
                records.push(*r);
            }
            LineOutcome::Skip => report.skipped += 1,
            LineOutcome::Bad(reason) => {
                report.quarantined += 1;
                quarantine.push(Quarantined {
                    file: display.to_string(),
                    line: src.line,
                    byte: src.byte,
                    reason,
                    raw: cut(&String::from_utf8_lossy(raw), 4096),
                });
            }
        }
    }
    FileResult {
        report,
        records,
        quarantine,
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
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

/// Splits into lines with their 1-based numbers and byte offsets; CR before LF and a UTF-8 BOM
/// at the start of the file are removed. A last line without a newline is still a line.
pub fn split_lines(bytes: &[u8]) -> Vec<(u64, u64, &[u8])> {
    let mut out = Vec::new();
    let mut n = 0u64;
    let body_start = if bytes.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let mut pos = body_start;
    let mut start = body_start;
    for nl in memchr::memchr_iter(b'\n', &bytes[body_start..]) {
        let end = body_start + nl;
        n += 1;
        let mut line = &bytes[start..end];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        out.push((n, start as u64, line));
        start = end + 1;
        pos = start;
    }
    if pos < bytes.len() {
        n += 1;
        let mut line = &bytes[pos..];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        out.push((n, pos as u64, line));
    }
    out
}

/// Like `split_lines` for the middle of a file: no BOM handling.
fn split_tail(bytes: &[u8]) -> Vec<(u64, u64, &[u8])> {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        // A BOM in the middle of a file is data, not a marker: keep it visible to the parser.
        let mut v = split_lines(&bytes[3..]);
        if let Some(first) = v.first_mut() {
            first.1 = 0;
            first.2 = &bytes[..3 + first.2.len()];
        }
        for x in v.iter_mut().skip(1) {
            x.1 += 3;
        }
        return v;
    }
    split_lines(bytes)
}

type Outcomes<'b> = Vec<(SourceRef, &'b [u8], LineOutcome)>;

fn json_lines<'b>(
    file: &Arc<str>,
    bytes: &'b [u8],
    start: usize,
    lines_before: u64,
    forced: Option<Format>,
    project: &Option<String>,
) -> Outcomes<'b> {
    let lines = if start == 0 {
        split_lines(bytes)
    } else {
        split_tail(&bytes[start..])
    };
    lines
        .into_par_iter()
        .map(|(line, byte, raw)| {
            let source = SourceRef {
                file: file.clone(),
                line: line + lines_before,
                byte: byte + start as u64,
            };
            let ctx = LineCtx {
                source: source.clone(),
                project: project.clone(),
            };
            let o = json_line(raw, &ctx, forced);
            (source, raw, o)
        })
        .collect()
}

fn json_line(raw: &[u8], ctx: &LineCtx, forced: Option<Format>) -> LineOutcome {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return LineOutcome::Skip;
    }
    let text = match std::str::from_utf8(raw) {
        Ok(t) => t,
        Err(e) => {
            return LineOutcome::Bad(format!(
                "invalid UTF-8 at byte {} of the line",
                e.valid_up_to()
            ));
        }
    };
    let probe: Probe = match serde_json::from_str(text) {
        Ok(p) => p,
        Err(e) => return LineOutcome::Bad(json_error(&e)),
    };
    let shape = match (forced, probe.shape()) {
        (Some(f), Some(s)) if f != s => {
            return LineOutcome::Bad(format!(
                "a {} line in a file read as {}",
                s.as_str(),
                f.as_str()
            ));
        }
        (_, Some(s)) => s,
        (Some(f), None) => f,
        (None, None) => {
            return LineOutcome::Bad(
                "not a usage line: no request/response, usage, custom_id or message".to_string(),
            );
        }
    };
    let r = match shape {
        Format::Envelope if probe.request.is_some() || probe.response.is_some() => {
            envelope::parse_envelope(&probe, ctx)
        }
        Format::Envelope => envelope::parse_bare(text, ctx),
        Format::Batch => batch::parse_batch(&probe, ctx),
        Format::ClaudeCode => match claude_code::parse_claude_code(&probe, ctx) {
            Ok(claude_code::Outcome::Record(r)) => Ok(*r),
            Ok(claude_code::Outcome::NotUsage) => return LineOutcome::Skip,
            Err(e) => Err(e),
        },
        Format::Csv => Err("a JSON line in a file read as csv".to_string()),
    };
    match r {
        Ok(r) => LineOutcome::Record(Box::new(r)),
        Err(e) => LineOutcome::Bad(clean_json_error(&e)),
    }
}

/// "invalid JSON at column 42: expected value"; serde_json's own "at line 1" is dropped because
/// every input line is parsed on its own.
fn json_error(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    format!("invalid JSON at column {}: {msg}", e.column())
}

fn clean_json_error(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

fn reject_all<'b>(file: &Arc<str>, bytes: &'b [u8], reason: &str) -> Outcomes<'b> {
    split_lines(bytes)
        .into_iter()
        .map(|(line, byte, raw)| {
            let o = if raw.iter().all(u8::is_ascii_whitespace) {
                LineOutcome::Skip
            } else {
                LineOutcome::Bad(reason.to_string())
            };
            (
                SourceRef {
                    file: file.clone(),
                    line,
                    byte,
                },
                raw,
                o,
            )
        })
        .collect()
}

fn csv_lines<'b>(
    file: &Arc<str>,
    bytes: &'b [u8],
    mappings: &[CsvMapping],
    project: &Option<String>,
) -> Outcomes<'b> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let offset = (bytes.len() - body.len()) as u64;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    let mut out: Outcomes<'b> = Vec::new();
    let mut rows = rdr.byte_records();
    let src = |pos: &csv::Position| SourceRef {
        file: file.clone(),
        line: pos.line(),
        byte: pos.byte() + offset,
    };
    let slice = |start: u64, end: u64| {
        let s = (start.min(body.len() as u64)) as usize;
        let e = (end.min(body.len() as u64)) as usize;
        let mut b = &body[s..e.max(s)];
        while let Some(x) = b.last().filter(|x| **x == b'\n' || **x == b'\r') {
            let _ = x;
            b = &b[..b.len() - 1];
        }
        b
    };
    let header = match rows.next() {
        None => return out,
        Some(Err(e)) => {
            let pos = e.position().cloned().unwrap_or_else(csv::Position::new);
            out.push((
                src(&pos),
                slice(pos.byte(), body.len() as u64),
                LineOutcome::Bad(format!("CSV header: {e}")),
            ));
            return out;
        }
        Some(Ok(h)) => h,
    };
    let header_pos = header
        .position()
        .cloned()
        .unwrap_or_else(csv::Position::new);
    let header_text = csv::StringRecord::from_byte_record(header.clone()).unwrap_or_default();
    let bound = csv_export::bind(&header_text, mappings);
    let header_end = rows.reader().position().byte();
    let header_raw = slice(header_pos.byte(), header_end);
    let header_outcome = match &bound {
        Some(_) => LineOutcome::Skip,
        None => LineOutcome::Bad(format!(
            "CSV header matches no column mapping (needs a timestamp and a model column; built-in: {}; see --csv-map): {}",
            mappings
                .iter()
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            crate::ingest::fields::shorten(&String::from_utf8_lossy(header_raw))
        )),
    };
    out.push((src(&header_pos), header_raw, header_outcome));
    let mut rows_raw: Vec<(csv::Position, u64, Result<csv::ByteRecord, String>)> = Vec::new();
    loop {
        let mut rec = csv::ByteRecord::new();
        let before = rows.reader().position().clone();
        match rows.reader_mut().read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {
                let end = rows.reader().position().byte();
                let pos = rec.position().cloned().unwrap_or(before);
                rows_raw.push((pos, end, Ok(rec)));
            }
            Err(e) => {
                let end = rows.reader().position().byte();
                rows_raw.push((before, end, Err(format!("CSV: {e}"))));
                if end <= rows_raw.last().map(|r| r.0.byte()).unwrap_or(0) {
                    break;
                }
            }
        }
    }
    let parsed: Vec<_> = rows_raw
        .into_par_iter()
        .map(|(pos, end, rec)| {
            let source = src(&pos);
            let raw = slice(pos.byte(), end);
            let o = match (rec, &bound) {
                (Err(e), _) => LineOutcome::Bad(e),
                (Ok(_), None) => LineOutcome::Bad("no usable CSV header (see line 1)".to_string()),
                (Ok(r), Some(b))
                    if r.iter().all(|c| c.iter().all(u8::is_ascii_whitespace)) && r.len() <= 1 =>
                {
                    let _ = b;
                    LineOutcome::Skip
                }
                (Ok(r), Some(b)) => match csv::StringRecord::from_byte_record(r) {
                    Err(e) => LineOutcome::Bad(format!("invalid UTF-8 in CSV row: {e}")),
                    Ok(row) => {
                        let ctx = LineCtx {
                            source: source.clone(),
                            project: project.clone(),
                        };
                        match csv_export::parse_row(b, &row, &ctx) {
                            Ok(r) => LineOutcome::Record(Box::new(r)),
                            Err(e) => LineOutcome::Bad(e),
                        }
                    }
                },
            };
            (source, raw, o)
        })
        .collect();
    out.extend(parsed);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_with_offsets_bom_and_crlf() {
        let got = split_lines(b"\xEF\xBB\xBFab\r\ncd\n\nef");
        assert_eq!(
            got,
            vec![
                (1, 3, &b"ab"[..]),
                (2, 7, &b"cd"[..]),
                (3, 10, &b""[..]),
                (4, 11, &b"ef"[..])
            ]
        );
        assert!(split_lines(b"").is_empty());
        assert_eq!(split_lines(b"x\n").len(), 1);
    }
}
