//! Ingest: every input line ends as a record, a skipped non-usage line, or a quarantined line.

mod anthropic_usage;
mod batch;
mod build;
mod claude_code;
pub mod csv_export;
pub mod dedup;
pub mod detect;
mod document;
mod envelope;
pub mod fields;
pub mod gemini_batch;
mod litellm_spend;
mod openai_usage;
mod read_ahead;
pub mod response;
pub mod source;
mod usage_pages;

pub use build::{Fnv, hash_bytes, intern};
pub use detect::Format;

use crate::error::RunError;
use crate::record::{SourceRef, UsageRecord};
use crate::spill::Spill;
use build::LineCtx;
use csv_export::CsvMapping;
use detect::{FileKind, Probe};
use rayon::prelude::*;
use response::{Body, BodyField, InPlace};
use serde::Serialize;
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
    /// BLAKE3 (hex) of the file's bytes as on disk (compressed, for gzip): what `b3sum` prints.
    pub blake3: String,
    pub lines: u64,
    pub records: u64,
    pub skipped: u64,
    pub quarantined: u64,
    /// Of the skipped lines: requests a gateway answered from its own cache (LiteLLM
    /// `cache_hit`), which made no provider call.
    #[serde(skip_serializing_if = "is_zero")]
    pub served_from_cache: u64,
    /// Rows of cost exports (OpenAI Costs API pages): what was billed, to reconcile usage with.
    #[serde(skip)]
    pub billed: Vec<BilledCost>,
}

/// One row of a provider's cost export: an amount billed for a day, a project and a line item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BilledCost {
    pub provider: Arc<str>,
    /// The UTC day of the bucket.
    pub day: chrono::NaiveDate,
    pub project: Option<Arc<str>>,
    pub line_item: Option<String>,
    pub amount: crate::money::Money,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

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

/// Reads and parses every input, handing the records to `spill` as they are parsed. Files
/// are read in parallel; reports are merged in path order, so the outcome does not depend on
/// thread count or the order paths were given in.
pub fn ingest(
    inputs: &[Input],
    opts: &Options<'_>,
    tick: &(dyn Fn(u64) + Sync),
    spill: &Spill,
) -> Result<Ingested, RunError> {
    let per_file: Vec<Result<FileResult, RunError>> = inputs
        .par_iter()
        .map(|input| parse_input(input, opts, tick, &mut |records| spill.push(records)))
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

/// Where a file's records go as each block is parsed.
type Emit<'e> = dyn FnMut(Vec<UsageRecord>) -> Result<(), RunError> + Send + 'e;

/// JSON lines are read and parsed in blocks of this size, so an input is never held whole.
const BLOCK: usize = 8 << 20;
/// What file-kind detection looks at.
const HEAD: usize = 64 << 10;

/// Reads one input in blocks cut at line ends; each block's lines are parsed in parallel and
/// the block is dropped before the next is read. CSV files, JSON arrays and unknown formats
/// are read whole: they are not split on line ends.
fn parse_input(
    input: &Input,
    opts: &Options<'_>,
    tick: &(dyn Fn(u64) + Sync),
    emit: &mut Emit<'_>,
) -> Result<FileResult, RunError> {
    parse_input_in(input, opts, tick, BLOCK, emit, Start::Fresh)
}

/// How a file is read.
pub enum Start {
    /// From its start; exact copies of a recent line are dropped as they are read.
    Fresh,
    /// From its start, keeping every record, so that the `--state` ledger holds them all.
    EveryLine,
    /// After `offset` bytes and `lines` lines that an earlier run read: `prefix` has hashed
    /// those bytes and its stream stands after them (see [`hash_prefix`]).
    Resume {
        offset: u64,
        lines: u64,
        /// Boxed: a BLAKE3 hasher holds about 2 KB of state.
        prefix: Box<Prefix>,
    },
}

/// The first bytes of an input, hashed, and the input's stream right after them.
pub struct Prefix {
    pub hasher: blake3::Hasher,
    stream: source::Stream,
}

/// The part of a JSON-lines file up to its last line end: what a later run can skip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settled {
    pub offset: u64,
    pub lines: u64,
    /// BLAKE3 of those bytes (decompressed, for gzip: the ones the offset counts).
    pub prefix_blake3: String,
}

/// One input read with `start`, its records handed to `emit`.
pub fn read_input(
    input: &Input,
    opts: &Options<'_>,
    tick: &(dyn Fn(u64) + Sync),
    emit: &mut Emit<'_>,
    start: Start,
) -> Result<(FileReport, Vec<Quarantined>, Option<Settled>), RunError> {
    let r = parse_input_in(input, opts, tick, BLOCK, emit, start)?;
    Ok((r.report, r.quarantine, r.settled))
}

/// The first `offset` bytes of `input` hashed, when it has at least that many; the stream is
/// left after them, so that resuming does not read them again.
pub fn hash_prefix(input: &Input, offset: u64) -> Result<Option<Prefix>, RunError> {
    let mut stream = source::open(input)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = Vec::new();
    let mut left = offset;
    while left > 0 {
        buf.clear();
        let want = left.min(BLOCK as u64) as usize;
        let eof = stream.fill(&mut buf, want)?;
        hasher.update(&buf);
        left -= buf.len() as u64;
        if eof && left > 0 {
            return Ok(None);
        }
    }
    Ok(Some(Prefix { hasher, stream }))
}

fn parse_input_in(
    input: &Input,
    opts: &Options<'_>,
    tick: &(dyn Fn(u64) + Sync),
    block: usize,
    emit: &mut Emit<'_>,
    start: Start,
) -> Result<FileResult, RunError> {
    let display = input.display();
    let mut buf = Vec::new();
    let drop_copies = matches!(start, Start::Fresh);
    let (mut stream, mut eof, kind, resume) = match start {
        // The ledger has an entry for JSON-lines files only.
        Start::Resume {
            offset,
            lines,
            prefix,
        } => (
            prefix.stream,
            false,
            FileKind::JsonLines,
            Some((offset, lines, prefix.hasher)),
        ),
        Start::Fresh | Start::EveryLine => {
            let mut stream = source::open(input)?;
            let eof = stream.fill(&mut buf, HEAD)?;
            let kind = match opts.format {
                Some(Format::Csv) => FileKind::Csv,
                Some(_) => FileKind::JsonLines,
                None => detect::file_kind(&buf[..buf.len().min(HEAD)]),
            };
            (stream, eof, kind, None)
        }
    };
    // Files that are not JSON lines at all are rejected line by line as they stream past,
    // so a hostile one is never held whole either.
    let reject = match kind {
        FileKind::JsonArray => Some("a JSON array, not JSON lines: write one object per line"),
        FileKind::Unknown => {
            Some("unrecognized format: neither JSON lines nor a CSV with a header")
        }
        FileKind::JsonLines | FileKind::Csv => None,
    };
    let format_name = match kind {
        FileKind::JsonArray => "json-array",
        FileKind::Unknown => "unknown",
        _ => "json-lines",
    };
    let doc = match opts.format {
        None => document::detect(&buf[..buf.len().min(HEAD)]),
        Some(f) => f.document(),
    };
    if resume.is_none()
        && let Some(doc) = doc
    {
        return read_document(display, stream, buf, eof, doc, opts, tick, emit);
    }
    if kind == FileKind::Csv {
        let whole = read_csv(&mut stream, &mut buf, eof, opts.max_line, block)?;
        tick(whole.bytes);
        let mut r = parse_file(display, &buf, opts);
        drop(buf);
        whole.put_back(&mut r, display, opts.max_line);
        emit(std::mem::take(&mut r.records))?;
        return Ok(r);
    }
    let file: Arc<str> = Arc::from(display);
    let project = source::claude_project(display);
    let job = gemini_batch::job_for(
        match input {
            Input::File { path, .. } => Some(path.as_path()),
            Input::Stdin => None,
        },
        opts.default_day,
    );
    let mut out = FileResult::new(display, format_name.to_string(), 0, String::new());
    let mut hasher = match resume {
        Some((offset, lines, hasher)) => {
            out.report.bytes = offset;
            out.report.lines = lines;
            hasher
        }
        None => blake3::Hasher::new(),
    };
    let mut recent = drop_copies.then(RecentCopies::default);
    // Until the last block, every block ends at a line end.
    let mut settled = None;
    // The next block is read while this one is parsed: reading (and gunzipping) is serial.
    let mut next = Vec::new();
    loop {
        if !eof {
            eof = stream.fill(&mut buf, block)?;
        }
        // Cut after the last line end within a block; a longer line makes the block grow, up
        // to the line limit.
        let cut = loop {
            let window = buf.len().min(block);
            if let Some(p) = memchr::memrchr(b'\n', &buf[..window]) {
                break Some(p + 1);
            }
            if let Some(p) = memchr::memchr(b'\n', &buf[window..]) {
                break Some(window + p + 1);
            }
            if eof {
                break Some(buf.len());
            }
            if buf.len() > opts.max_line {
                break None;
            }
            let want = buf.len() + block;
            eof = stream.fill(&mut buf, want)?;
        };
        let Some(cut) = cut else {
            let skipped = skip_overlong(&mut stream, &mut buf, &mut eof, &mut hasher, block)?;
            let byte = out.report.bytes;
            out.report.lines += 1;
            out.report.quarantined += 1;
            out.quarantine.push(Quarantined {
                file: display.to_string(),
                line: out.report.lines,
                byte,
                reason: overlong(skipped.length, opts.max_line),
                raw: skipped.head,
            });
            out.report.bytes += skipped.consumed;
            tick(skipped.consumed);
            if let Some(h) = skipped.unfinished {
                // Unfinished at the end of the file: a later run reads it again from its start.
                settled = Some(Settled {
                    offset: byte,
                    lines: out.report.lines - 1,
                    prefix_blake3: h.finalize().to_hex().to_string(),
                });
            }
            if eof && buf.is_empty() {
                break;
            }
            continue;
        };
        let part = &buf[..cut];
        let lines = if out.report.bytes == 0 {
            split_lines(part)
        } else {
            split_tail(part)
        };
        let base = out.report.bytes;
        let lines_before = out.report.lines;
        // The previous block's records are handed over while this block is parsed.
        let previous = std::mem::take(&mut out.records);
        let tail = &buf[cut..];
        let (outcomes, (handed, prefix, read)) = rayon::join(
            || {
                let mut o = match reject {
                    Some(reason) => reject_lines(&file, lines, base, lines_before, reason),
                    None => parse_lines(
                        &file,
                        lines,
                        base,
                        lines_before,
                        opts.format,
                        &project,
                        job.as_ref(),
                    ),
                };
                // A line under the block size is already read; it is set aside all the same,
                // so the limit does not depend on where blocks are cut.
                for (_, raw, out) in o.iter_mut() {
                    if raw.len() > opts.max_line {
                        *out = LineOutcome::Bad(overlong(raw.len() as u64, opts.max_line));
                    }
                }
                o
            },
            || {
                // An unfinished last line is not settled: the hash of what is stops before it.
                let end = memchr::memrchr(b'\n', part).map_or(0, |p| p + 1);
                hasher.update(&part[..end]);
                let prefix = (end < part.len()).then(|| {
                    let h = hasher.clone();
                    hasher.update(&part[end..]);
                    (end, h)
                });
                let handed = emit(previous);
                next.clear();
                next.extend_from_slice(tail);
                let read = if eof {
                    Ok(true)
                } else {
                    stream.fill(&mut next, block)
                };
                (handed, prefix, read)
            },
        );
        handed?;
        if let Some((end, h)) = prefix {
            let offset = base + end as u64;
            settled = Some(Settled {
                offset,
                lines: lines_before
                    + outcomes.iter().filter(|(s, _, _)| s.byte < offset).count() as u64,
                prefix_blake3: h.finalize().to_hex().to_string(),
            });
        }
        absorb(&mut out, display, outcomes, recent.as_mut());
        out.report.bytes += cut as u64;
        tick(cut as u64);
        eof = read?;
        std::mem::swap(&mut buf, &mut next);
        if eof && buf.is_empty() {
            break;
        }
    }
    emit(std::mem::take(&mut out.records))?;
    out.settled = Some(settled.unwrap_or_else(|| Settled {
        offset: out.report.bytes,
        lines: out.report.lines,
        prefix_blake3: hasher.finalize().to_hex().to_string(),
    }));
    out.report.blake3 = stream
        .compressed_blake3()
        .unwrap_or_else(|| hasher.finalize().to_hex().to_string());
    if reject.is_some() {
        // The ledger resumes JSON lines only: a rejected file is read whole every run.
        out.settled = None;
    }
    Ok(out)
}

/// An export document read whole, up to [`document::limit`]; a larger one is one quarantined
/// line, streamed past without being held.
#[allow(clippy::too_many_arguments)]
fn read_document(
    display: &str,
    mut stream: source::Stream,
    mut buf: Vec<u8>,
    mut eof: bool,
    doc: document::DocKind,
    opts: &Options<'_>,
    tick: &(dyn Fn(u64) + Sync),
    emit: &mut Emit<'_>,
) -> Result<FileResult, RunError> {
    let limit = document::limit(opts.max_line);
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
        document::format_name(doc).to_string(),
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
            document::SIZE_FACTOR
        ),
        raw: head,
    });
    Ok(r)
}

/// A CSV file read whole, less its overlong lines.
struct WholeCsv {
    bytes: u64,
    blake3: String,
    /// Overlong lines, in file order: where each was in the bytes kept (its line end is kept,
    /// so later lines keep their numbers), where in the file, and how long it was.
    cut: Vec<CutLine>,
}

struct CutLine {
    line: u64,
    /// It ran to the end of the file: no blank was left in its place.
    unterminated: bool,
    kept_at: u64,
    file_at: u64,
    length: u64,
    head: String,
}

/// Reads the rest of a CSV file into `buf` (which holds its first bytes), cutting out each line
/// longer than `max_line` as it streams past: a CSV is parsed whole, but never holds such a line.
fn read_csv(
    stream: &mut source::Stream,
    buf: &mut Vec<u8>,
    mut eof: bool,
    max_line: usize,
    block: usize,
) -> Result<WholeCsv, RunError> {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&buf[..]);
    let mut total = buf.len() as u64;
    let mut line_start = memchr::memrchr(b'\n', buf).map_or(0, |p| p + 1);
    let mut cut = Vec::new();
    let mut removed = 0u64;
    loop {
        if buf.len() - line_start > max_line {
            let head_end = (line_start + RAW_KEPT).min(buf.len());
            let head = self::cut(
                &String::from_utf8_lossy(&buf[line_start..head_end]),
                RAW_KEPT,
            );
            let mut length = (buf.len() - line_start) as u64;
            let line = memchr::memchr_iter(b'\n', &buf[..line_start]).count() as u64 + 1;
            buf.truncate(line_start);
            let mut chunk = Vec::new();
            let mut unterminated = true;
            while !eof {
                chunk.clear();
                eof = stream.fill(&mut chunk, block)?;
                hasher.update(&chunk);
                total += chunk.len() as u64;
                if let Some(p) = memchr::memchr(b'\n', &chunk) {
                    length += p as u64;
                    buf.extend_from_slice(&chunk[p..]);
                    unterminated = false;
                    break;
                }
                length += chunk.len() as u64;
            }
            cut.push(CutLine {
                line,
                unterminated,
                kept_at: line_start as u64,
                file_at: line_start as u64 + removed,
                length,
                head,
            });
            removed += length;
            line_start = memchr::memrchr(b'\n', buf).map_or(0, |p| p + 1);
            continue;
        }
        if eof {
            break;
        }
        let before = buf.len();
        eof = stream.fill(buf, before + block)?;
        hasher.update(&buf[before..]);
        total += (buf.len() - before) as u64;
        if let Some(p) = memchr::memrchr(b'\n', &buf[before..]) {
            line_start = before + p + 1;
        }
    }
    Ok(WholeCsv {
        bytes: total,
        blake3: stream
            .compressed_blake3()
            .unwrap_or_else(|| hasher.finalize().to_hex().to_string()),
        cut,
    })
}

impl WholeCsv {
    /// Puts what was cut back into a parse of the bytes kept: each cut line, left blank for
    /// the parser, is quarantined instead of skipped, and offsets are those of the file.
    fn put_back(self, r: &mut FileResult, display: &str, max_line: usize) {
        r.report.bytes = self.bytes;
        r.report.blake3 = self.blake3;
        if self.cut.is_empty() {
            return;
        }
        let shift = |byte: u64| -> u64 {
            self.cut
                .iter()
                .filter(|c| c.kept_at < byte)
                .map(|c| c.length)
                .sum::<u64>()
                + byte
        };
        for q in r.quarantine.iter_mut() {
            q.byte = shift(q.byte);
        }
        for rec in r.records.iter_mut() {
            rec.source.byte = shift(rec.source.byte);
        }
        for c in &self.cut {
            match r.quarantine.iter().position(|q| q.byte == c.file_at) {
                // The parser took the blank left in its place for part of a bad row.
                Some(i) => {
                    r.quarantine.remove(i);
                }
                None if c.unterminated => {
                    r.report.lines += 1;
                    r.report.quarantined += 1;
                }
                // The parser skipped the blank left in its place.
                None => {
                    r.report.skipped = r.report.skipped.saturating_sub(1);
                    r.report.quarantined += 1;
                }
            }
            r.quarantine.push(Quarantined {
                file: display.to_string(),
                line: c.line,
                byte: c.file_at,
                reason: overlong(c.length, max_line),
                raw: c.head.clone(),
            });
        }
        r.quarantine.sort();
    }
}

/// What skipping an overlong line left.
struct Overlong {
    /// Its bytes, without the line end.
    length: u64,
    /// Its bytes with the line end, when it has one.
    consumed: u64,
    /// Its first 4 KB, as text.
    head: String,
    /// The hash of the file before the line, when the line runs to the end of the file.
    unfinished: Option<blake3::Hasher>,
}

/// `buf` starts with a line longer than the limit and holds no line end: hashes it and reads
/// on to its end, a block at a time, keeping nothing but its head. `buf` is left holding what
/// follows the line.
fn skip_overlong(
    stream: &mut source::Stream,
    buf: &mut Vec<u8>,
    eof: &mut bool,
    hasher: &mut blake3::Hasher,
    block: usize,
) -> Result<Overlong, RunError> {
    let before = hasher.clone();
    let head = cut(
        &String::from_utf8_lossy(&buf[..buf.len().min(RAW_KEPT)]),
        RAW_KEPT,
    );
    let mut length = 0u64;
    loop {
        if let Some(p) = memchr::memchr(b'\n', buf) {
            hasher.update(&buf[..=p]);
            let body = if p > 0 && buf[p - 1] == b'\r' {
                p - 1
            } else {
                p
            };
            length += body as u64;
            buf.drain(..=p);
            return Ok(Overlong {
                length,
                consumed: length + (p - body) as u64 + 1,
                head,
                unfinished: None,
            });
        }
        hasher.update(&buf[..]);
        length += buf.len() as u64;
        buf.clear();
        if *eof {
            return Ok(Overlong {
                length,
                consumed: length,
                head,
                unfinished: Some(before),
            });
        }
        *eof = stream.fill(buf, block)?;
    }
}

/// Why a line longer than `--max-line-size` was set aside.
fn overlong(length: u64, max_line: usize) -> String {
    format!(
        "line of {length} bytes, longer than the {} limit: skipped unread past its first 4 KB (--max-line-size raises the limit)",
        size_text(max_line)
    )
}

/// "64 MiB" for a limit given in bytes.
fn size_text(bytes: usize) -> String {
    match bytes {
        b if b % (1 << 30) == 0 => format!("{} GiB", b >> 30),
        b if b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b}-byte"),
    }
}

fn absorb(
    out: &mut FileResult,
    display: &str,
    outcomes: Outcomes<'_>,
    mut recent: Option<&mut RecentCopies>,
) {
    out.report.lines += outcomes.len() as u64;
    // Absorbing is the serial step between two blocks' parallel parsing: growing the vector
    // record by record copied each block's records again.
    out.records.reserve(outcomes.len());
    for (src, raw, o) in outcomes {
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

/// Recent records of a file by id, to drop exact copies as they are read: Claude Code writes
/// one message on several consecutive lines. A line with the id, time and payload of an
/// earlier line of the same file is a copy deduplication would drop too: it sorts after that
/// line (same time and id, later in the file), and a copy of a kept or of a conflicting
/// payload is a duplicate. Forgetting ids only lets copies through to deduplication, so the
/// table is emptied when full and stays small whatever the file's size.
///
/// Every record passes through here on the one thread between two blocks' parsing, so the
/// ids are kept end to end in one text rather than one allocation each; an entry is found by
/// the id's hash and checked against its text. Two ids with the same hash share an entry: the
/// later one takes it, and the earlier one is forgotten.
#[derive(Default)]
struct RecentCopies {
    by_hash: rustc_hash::FxHashMap<u64, Recent>,
    ids: String,
}

struct Recent {
    /// Where the id is in `ids`.
    at: std::ops::Range<usize>,
    payload_hash: u64,
    time: chrono::DateTime<chrono::Utc>,
}

const RECENT_IDS: usize = 4096;
/// Room for the ids' text, so that a table whose entries keep being taken over by other ids
/// with the same hash is emptied too.
const RECENT_ID_BYTES: usize = 1 << 20;

impl RecentCopies {
    fn is_copy(&mut self, r: &UsageRecord) -> bool {
        let Some(id) = r.id.as_deref() else {
            return false;
        };
        self.remember(Self::hash(id), id, r.payload_hash, r.time)
    }

    fn hash(id: &str) -> u64 {
        use std::hash::{BuildHasher, BuildHasherDefault};
        BuildHasherDefault::<rustc_hash::FxHasher>::default().hash_one(id)
    }

    /// Whether `id` was seen with this payload and time; remembers it when it was not seen.
    fn remember(
        &mut self,
        hash: u64,
        id: &str,
        payload_hash: u64,
        time: chrono::DateTime<chrono::Utc>,
    ) -> bool {
        if let Some(seen) = self.by_hash.get(&hash)
            && self.ids.get(seen.at.clone()) == Some(id)
        {
            return (seen.payload_hash, seen.time) == (payload_hash, time);
        }
        if self.by_hash.len() >= RECENT_IDS || self.ids.len() >= RECENT_ID_BYTES {
            self.by_hash.clear();
            self.ids.clear();
        }
        let start = self.ids.len();
        self.ids.push_str(id);
        let at = start..self.ids.len();
        self.by_hash.insert(
            hash,
            Recent {
                at,
                payload_hash,
                time,
            },
        );
        false
    }
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
    let file: Arc<str> = Arc::from(display);
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

/// Splits into lines with their 1-based numbers and byte offsets; CR before LF and a UTF-8 BOM
/// at the start of the file are removed. A last line without a newline is still a line.
fn split_lines(bytes: &[u8]) -> Vec<(u64, u64, &[u8])> {
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
    forced: Option<Format>,
    project: &Option<String>,
    job: Option<&gemini_batch::BatchJob>,
) -> Outcomes<'b> {
    parse_lines(file, split_lines(bytes), 0, 0, forced, project, job)
}

/// Parses split lines in parallel; `base` and `lines_before` place them in their file.
fn parse_lines<'b>(
    file: &Arc<str>,
    lines: Vec<(u64, u64, &'b [u8])>,
    base: u64,
    lines_before: u64,
    forced: Option<Format>,
    project: &Option<String>,
    job: Option<&gemini_batch::BatchJob>,
) -> Outcomes<'b> {
    lines
        .into_par_iter()
        .map(|(line, byte, raw)| {
            let source = SourceRef {
                file: file.clone(),
                line: line + lines_before,
                byte: byte + base,
            };
            let ctx = LineCtx {
                source: &source,
                project: project.as_deref(),
                batch_job: job,
            };
            let o = json_line(raw, &ctx, forced);
            (source, raw, o)
        })
        .collect()
}

fn json_line(raw: &[u8], ctx: &LineCtx<'_>, forced: Option<Format>) -> LineOutcome {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return LineOutcome::Skip;
    }
    // Byte-level damage is looked for only in a line that does not read: JSON has no place for
    // a NUL byte or a byte order mark, so a line with either never reads, and a line that
    // reads is not scanned for them.
    let damaged = || byte_problem(raw).map(LineOutcome::Bad);
    let text = match simdutf8::compat::from_utf8(raw) {
        Ok(t) => t,
        Err(e) => {
            return damaged().unwrap_or_else(|| {
                LineOutcome::Bad(format!(
                    "invalid UTF-8 at byte {} of the line",
                    e.valid_up_to()
                ))
            });
        }
    };
    if !text.trim_start().starts_with('{') {
        // serde would read an array positionally into the probe's fields.
        return damaged().unwrap_or_else(|| LineOutcome::Bad(not_an_object(raw, text)));
    }
    // Bodies (a response, a Claude Code message) are most of a line, so one pass reads them in
    // place. A line that pass does not take (a body that is not an object or has a member of
    // the wrong type, any JSON error) is read again with its bodies raw: the same record, or
    // the error naming the field at fault, as reading it so from the start would give.
    if let Ok(probe) = serde_json::from_str::<Probe<'_, InPlace<Body<'_>>>>(text) {
        let bodies = [
            BodyField::read(&probe.response),
            BodyField::read(&probe.message),
        ];
        return dispatch(&probe, bodies, text, ctx, forced);
    }
    damaged().unwrap_or_else(|| read_raw(raw, text, ctx, forced))
}

/// A line read with every body kept raw, each read by the parser that needs it.
fn read_raw(raw: &[u8], text: &str, ctx: &LineCtx<'_>, forced: Option<Format>) -> LineOutcome {
    let probe: Probe = match serde_json::from_str(text) {
        Ok(p) => p,
        Err(e) => return LineOutcome::Bad(line_json_error(raw, &e)),
    };
    let bodies = [
        BodyField::Raw(probe.response),
        BodyField::Raw(probe.message),
    ];
    dispatch(&probe, bodies, text, ctx, forced)
}

/// A line's outcome from its top-level fields, by its shape; `[response, message]`.
fn dispatch<B>(
    probe: &Probe<'_, B>,
    [response, message]: [BodyField<'_, '_>; 2],
    text: &str,
    ctx: &LineCtx<'_>,
    forced: Option<Format>,
) -> LineOutcome {
    let shape = match (forced, probe.shape()) {
        (Some(f), Some(s)) if f != s => {
            let article = if s == Format::Envelope { "an" } else { "a" };
            return LineOutcome::Bad(format!(
                "{article} {} line in a file read as {} (--format)",
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
            envelope::parse_envelope(probe, response, ctx)
        }
        Format::Envelope => envelope::parse_bare(text, ctx),
        Format::Batch => batch::parse_batch(probe, response, ctx),
        Format::GeminiBatch => match gemini_batch::parse_gemini_batch(probe, response, ctx) {
            Ok(Some(r)) => Ok(r),
            Ok(None) => return LineOutcome::Skip,
            Err(e) => Err(e),
        },
        Format::ClaudeCode => match claude_code::parse_claude_code(probe, message, ctx) {
            Ok(claude_code::Outcome::Record(r)) => Ok(*r),
            Ok(claude_code::Outcome::NotUsage) => return LineOutcome::Skip,
            Err(e) => Err(e),
        },
        Format::Csv => Err("a JSON line in a file read as csv".to_string()),
        Format::OpenaiUsage | Format::AnthropicUsage | Format::LitellmSpend => Err(format!(
            "a JSON line in a file read as {}, a whole-file export",
            shape.as_str()
        )),
    };
    match r {
        Ok(r) => LineOutcome::Record(Box::new(r)),
        Err(e) => LineOutcome::Bad(clean_json_error(&e)),
    }
}

/// Byte-level damage that serde_json would report as a vague "expected value": NUL bytes (a
/// crash left preallocated blocks zeroed) and a byte order mark that is not at the start of the
/// file (two files concatenated).
fn byte_problem(raw: &[u8]) -> Option<String> {
    if let Some(at) = memchr::memchr(0, raw) {
        return Some(if raw.iter().all(|b| *b == 0 || b.is_ascii_whitespace()) {
            format!(
                "{} NUL bytes and nothing else (a crashed or preallocated write?)",
                raw.iter().filter(|b| **b == 0).count()
            )
        } else {
            format!("NUL byte at byte {at} of the line")
        });
    }
    if raw.starts_with(b"\xEF\xBB\xBF") {
        return Some(
            "byte order mark (U+FEFF) at the start of a line that is not the first (files concatenated?)"
                .to_string(),
        );
    }
    None
}

/// A line that does not start with `{`: valid JSON of another kind, or not JSON at all.
fn not_an_object(raw: &[u8], text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => format!(
            "a JSON {} where an object was expected: JSON lines need one object per line",
            json_kind(&v)
        ),
        Err(e) => with_cr_hint(raw, json_error(&e)),
    }
}

/// The reason for a line serde_json could not read as an object.
fn line_json_error(raw: &[u8], e: &serde_json::Error) -> String {
    if e.classify() == serde_json::error::Category::Data {
        // Well-formed JSON the probe refuses (a duplicate key): serde's own words, minus the
        // crate's struct names.
        let msg = clean_json_error(&e.to_string());
        return format!("unusable JSON at column {}: {msg}", e.column());
    }
    with_cr_hint(raw, json_error(e))
}

fn with_cr_hint(raw: &[u8], reason: String) -> String {
    match memchr::memchr(b'\r', raw) {
        Some(cr) => format!("{reason}; a carriage return at byte {cr} suggests CR-only line ends"),
        None => reason,
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// "invalid JSON at column 42: expected value"; serde_json's own "at line 1" is dropped because
/// every input line is parsed on its own.
fn json_error(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    format!("invalid JSON at column {}: {msg}", e.column())
}

/// Drops serde_json's "at line 1 column N" (the column is inside a nested value, not the line)
/// and names JSON kinds instead of this crate's struct names, which mean nothing to a user.
fn clean_json_error(msg: &str) -> String {
    let msg = match msg.find(" at line ") {
        Some(i) => &msg[..i],
        None => msg,
    };
    match msg.find("expected struct ") {
        Some(i) => format!("{}expected an object", &msg[..i]),
        None => msg.replace("expected a sequence", "expected an array"),
    }
}

fn reject_all<'b>(file: &Arc<str>, bytes: &'b [u8], reason: &str) -> Outcomes<'b> {
    reject_lines(file, split_lines(bytes), 0, 0, reason)
}

/// Every line of a file that is not JSON lines: blank ones are skipped, the rest rejected.
fn reject_lines<'b>(
    file: &Arc<str>,
    lines: Vec<(u64, u64, &'b [u8])>,
    base: u64,
    lines_before: u64,
    reason: &str,
) -> Outcomes<'b> {
    lines
        .into_iter()
        .map(|(line, byte, raw)| (line + lines_before, byte + base, raw))
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
    // csv's own line numbers leave out the blank lines it skips, so a row after a blank line
    // would be reported on the wrong line; lines are counted from byte offsets instead.
    let newlines: Vec<usize> = memchr::memchr_iter(b'\n', body).collect();
    let line_of = |byte: u64| newlines.partition_point(|nl| (*nl as u64) < byte) as u64 + 1;
    let src = |pos: &csv::Position| SourceRef {
        file: file.clone(),
        line: line_of(pos.byte()),
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
    let mut header_pos = header
        .position()
        .cloned()
        .unwrap_or_else(csv::Position::new);
    let header_text = csv::StringRecord::from_byte_record(header.clone()).unwrap_or_default();
    let bound = csv_export::bind(&header_text, mappings);
    let header_end = rows.reader().position().byte();
    // A record's position is where the reader stood before it skipped blank lines; the record
    // itself starts after them.
    let after_blanks = |start: u64, end: u64| {
        start
            + slice(start, end)
                .iter()
                .take_while(|b| **b == b'\n' || **b == b'\r')
                .count() as u64
    };
    header_pos.set_byte(after_blanks(header_pos.byte(), header_end));
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
                let mut pos = rec.position().cloned().unwrap_or(before);
                pos.set_byte(after_blanks(pos.byte(), end));
                rows_raw.push((pos, end, Ok(rec)));
            }
            Err(e) => {
                let end = rows.reader().position().byte();
                let mut pos = before;
                pos.set_byte(after_blanks(pos.byte(), end));
                rows_raw.push((pos, end, Err(format!("CSV: {e}"))));
                if end <= rows_raw.last().map(|r| r.0.byte()).unwrap_or(0) {
                    break;
                }
            }
        }
    }
    // The csv reader skips blank lines; they are lines read all the same, and the summary's
    // line count must add up, so they are put back as skipped lines.
    let mut spans = vec![(header_pos.byte(), header_end)];
    spans.extend(rows_raw.iter().map(|(p, e, _)| (p.byte(), *e)));
    let mut gap_from = 0u64;
    for (start, end) in spans {
        out.extend(blank_lines(file, body, offset, gap_from, start, &line_of));
        gap_from = gap_from.max(end);
    }
    out.extend(blank_lines(
        file,
        body,
        offset,
        gap_from,
        body.len() as u64,
        &line_of,
    ));
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
                    Err(e) => LineOutcome::Bad(csv_utf8_error(&e, &header_text)),
                    Ok(row) => {
                        let ctx = LineCtx {
                            source: &source,
                            project: project.as_deref(),
                            batch_job: None,
                        };
                        if csv_export::is_cache_hit(b, &row) {
                            return (source, raw, LineOutcome::ProxyCacheHit);
                        }
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
    out.sort_by_key(|(src, _, _)| src.line);
    out
}

/// The blank lines in `body[from..to]`, as skipped lines.
fn blank_lines<'b>(
    file: &Arc<str>,
    body: &'b [u8],
    offset: u64,
    from: u64,
    to: u64,
    line_of: &dyn Fn(u64) -> u64,
) -> Outcomes<'b> {
    let mut out: Outcomes<'b> = Vec::new();
    let to = (to as usize).min(body.len());
    let mut cur = (from as usize).min(to);
    // A CRLF record end may leave its LF for the next read: it ends no blank line.
    if cur > 0 && body.get(cur - 1) == Some(&b'\r') && body.get(cur) == Some(&b'\n') {
        cur += 1;
    }
    while cur < to {
        let Some(nl) = memchr::memchr(b'\n', &body[cur..to]) else {
            break;
        };
        let raw = &body[cur..cur + nl];
        out.push((
            SourceRef {
                file: file.clone(),
                line: line_of(cur as u64),
                byte: cur as u64 + offset,
            },
            raw.strip_suffix(b"\r").unwrap_or(raw),
            LineOutcome::Skip,
        ));
        cur += nl + 1;
    }
    out
}

/// Names the column, so the user can find the cell: "invalid UTF-8 in column model (3) at byte 7".
fn csv_utf8_error(e: &csv::FromUtf8Error, header: &csv::StringRecord) -> String {
    let u = e.utf8_error();
    let name = header.get(u.field()).unwrap_or("?");
    format!(
        "invalid UTF-8 in column {} ({}) at byte {} of the cell",
        fields::shorten(name),
        u.field() + 1,
        u.valid_up_to()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_copies_check_the_id_behind_a_hash() {
        use chrono::TimeZone;
        let t = chrono::Utc.with_ymd_and_hms(2026, 3, 6, 8, 0, 0).unwrap();
        let mut recent = RecentCopies::default();
        assert!(!recent.remember(7, "r1", 1, t));
        assert!(recent.remember(7, "r1", 1, t));
        // Another payload or time under a remembered id is not a copy, and is not remembered.
        assert!(!recent.remember(7, "r1", 2, t));
        assert!(!recent.remember(7, "r1", 1, t + chrono::Duration::seconds(1)));
        assert!(recent.remember(7, "r1", 1, t));
        // Another id with the same hash is no copy of r1; it takes the entry over.
        assert!(!recent.remember(7, "r2", 1, t));
        assert!(recent.remember(7, "r2", 1, t));
        assert!(!recent.remember(7, "r1", 1, t));
        assert_eq!(recent.by_hash.len(), 1);
        // Full, the table starts again: a copy of a forgotten id goes on to deduplication.
        for n in 0..RECENT_IDS as u64 {
            assert!(!recent.remember(100 + n, &format!("x{n}"), 1, t));
        }
        assert_eq!(recent.by_hash.len(), 1);
        assert_eq!(recent.ids, format!("x{}", RECENT_IDS - 1));
    }

    #[test]
    fn copies_dropped_while_reading_leave_deduplication_unchanged() {
        let line = |id: &str, out: u32| {
            format!(
                r#"{{"timestamp":"2026-03-06T08:00:00Z","id":"{id}","request":{{"model":"gpt-4o"}},"response":{{"usage":{{"prompt_tokens":1,"completion_tokens":{out}}}}}}}"#
            )
        };
        // r1 twice (a copy), then a conflicting r1 twice, then r2 and its copy.
        let text: String = [
            line("r1", 5),
            line("r1", 5),
            line("r1", 6),
            line("r1", 6),
            line("r2", 5),
            line("r2", 5),
        ]
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f.jsonl");
        std::fs::write(&path, &text).expect("write");
        let input = Input::File {
            display: "f.jsonl".to_string(),
            path,
        };
        let maps = csv_export::builtin_mappings();
        let opts = Options {
            format: None,
            csv_mappings: &maps,
            max_line: crate::ingest::MAX_LINE,
            default_day: None,
        };
        let (read, records) = read_in(&input, &opts, BLOCK);
        // Only copies of the record remembered for an id go early; the conflict's copy stays.
        assert_eq!((records.len(), read.duplicates), (4, 2));
        assert_eq!(read.report.records, 6);
        let early = dedup::dedup(records).unwrap();
        let whole = dedup::dedup(parse_file("f.jsonl", text.as_bytes(), &opts).records).unwrap();
        assert_eq!(early.records, whole.records);
        assert_eq!(early.conflicts, whole.conflicts);
        assert_eq!(
            (early.duplicates + read.duplicates, whole.duplicates),
            (3, 3)
        );
    }

    #[test]
    fn any_block_size_reads_a_file_as_one_whole_read_does() {
        let env = r#"{"timestamp":"2026-03-02T10:00:00Z","api_key":"sk-a","request":{"model":"gpt-4o-mini"},"response":{"id":"r1","model":"gpt-4o-mini","usage":{"prompt_tokens":10,"completion_tokens":5}}}"#;
        let mut text = Vec::new();
        text.extend_from_slice(b"\xEF\xBB\xBF");
        text.extend_from_slice(env.as_bytes());
        text.extend_from_slice(b"\r\n\n{not json}\n");
        text.extend_from_slice(b"\xEF\xBB\xBF");
        text.extend_from_slice(env.replace("r1", "r2").as_bytes());
        text.extend_from_slice(b"\n");
        text.extend_from_slice(env.replace("r1", "r3").as_bytes());
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f.jsonl");
        std::fs::write(&path, &text).expect("write");
        let input = Input::File {
            display: "f".to_string(),
            path,
        };
        let maps = csv_export::builtin_mappings();
        let opts = Options {
            format: None,
            csv_mappings: &maps,
            max_line: crate::ingest::MAX_LINE,
            default_day: None,
        };
        let whole = parse_file("f", &text, &opts);
        assert_eq!(
            (
                whole.report.lines,
                whole.report.records,
                whole.report.quarantined
            ),
            (5, 2, 2)
        );
        for block in 1..text.len() + 2 {
            let (b, records) = read_in(&input, &opts, block);
            assert_eq!(b.report, whole.report, "block {block}");
            assert_eq!(records, whole.records, "block {block}");
            assert_eq!(b.quarantine, whole.quarantine, "block {block}");
        }
    }

    /// Reads `input` in blocks of `block` bytes, collecting the records it hands over.
    fn read_in(input: &Input, opts: &Options<'_>, block: usize) -> (FileResult, Vec<UsageRecord>) {
        let mut records = Vec::new();
        let mut emit = |mut r: Vec<UsageRecord>| {
            records.append(&mut r);
            Ok(())
        };
        let read =
            parse_input_in(input, opts, &|_| {}, block, &mut emit, Start::Fresh).expect("reads");
        (read, records)
    }

    fn reasons(bytes: &[u8]) -> Vec<(u64, String)> {
        let maps = csv_export::builtin_mappings();
        let opts = Options {
            format: None,
            csv_mappings: &maps,
            max_line: crate::ingest::MAX_LINE,
            default_day: None,
        };
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
            let opts = Options { format: None, csv_mappings: &maps, max_line: crate::ingest::MAX_LINE, default_day: None };
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

    #[test]
    fn blank_csv_lines_are_counted_as_skipped() {
        let maps = csv_export::builtin_mappings();
        let opts = Options {
            format: None,
            csv_mappings: &maps,
            max_line: crate::ingest::MAX_LINE,
            default_day: None,
        };
        for text in [
            &b"\ntimestamp,model\n\n2026-03-06,gpt-4o\n\n\n2026-03-06,gpt-4o\n\n"[..],
            &b"\r\ntimestamp,model\r\n\r\n2026-03-06,gpt-4o\r\n\r\n\r\n2026-03-06,gpt-4o\r\n\r\n"[..],
        ] {
            let (report, records, q) = parse_bytes("f.csv", text, &opts);
            assert_eq!(q, vec![]);
            assert_eq!(
                records.iter().map(|r| r.source.line).collect::<Vec<_>>(),
                [4, 7]
            );
            assert_eq!((report.lines, report.records, report.skipped), (8, 2, 6));
        }
        let (report, _, _) = parse_bytes("f.csv", b"timestamp,model\n\"a\nb\",gpt\n\n", &opts);
        assert_eq!(
            (report.lines, report.quarantined, report.skipped),
            (3, 1, 2)
        );
    }

    /// A Claude Code line whose message is `message`, in a session file of a project.
    fn claude_line(message: &str) -> String {
        format!(
            r#"{{"type":"assistant","sessionId":"s","timestamp":"2026-03-06T08:00:00Z","requestId":"req_1","message":{message}}}"#
        )
    }

    fn one_pass_and_raw(line: &str) -> (LineOutcome, LineOutcome) {
        let source = SourceRef {
            file: Arc::from("projects/-home-u-app/s.jsonl"),
            line: 1,
            byte: 0,
        };
        let ctx = LineCtx {
            source: &source,
            project: Some("-home-u-app"),
            batch_job: None,
        };
        (
            json_line(line.as_bytes(), &ctx, None),
            read_raw(line.as_bytes(), line, &ctx, None),
        )
    }

    #[test]
    fn messages_read_in_one_pass_give_what_reading_them_raw_gives() {
        let usage = r#""usage":{"input_tokens":10,"output_tokens":20,"cache_read_input_tokens":5}"#;
        let cases = [
            format!(
                r#"{{"id":"msg_1","model":"claude-sonnet-4-5","content":[{{"type":"text","text":"a\"b"}}],{usage}}}"#
            ),
            r#"{"id":"msg_1","model":"claude-sonnet-4-5","usage":"lots"}"#.to_string(),
            r#"{"id":"msg_1","model":"claude-sonnet-4-5","usage":{"input_tokens":"12"}}"#
                .to_string(),
            r#"{"id":"msg_1","model":"claude-sonnet-4-5","usage":{"input_tokens":-1}}"#.to_string(),
            format!(r#"{{"model":"claude-sonnet-4-5",{usage}}}"#),
            format!(r#"{{"id":"msg_1","id":"msg_2","model":"m",{usage}}}"#),
            r#""a message as text""#.to_string(),
            r#"["msg_1","claude-sonnet-4-5"]"#.to_string(),
            "null".to_string(),
            "{}".to_string(),
        ];
        let mut outcomes = Vec::new();
        for message in &cases {
            let (one, raw) = one_pass_and_raw(&claude_line(message));
            assert_eq!(one, raw, "{message}");
            outcomes.push(match one {
                LineOutcome::Record(r) => format!(
                    "record {} {} {}+{}+{}",
                    r.id.as_deref().unwrap_or("-"),
                    r.api_key.as_deref().unwrap_or("-"),
                    r.tokens.input,
                    r.tokens.output,
                    r.tokens.cache_read
                ),
                LineOutcome::Skip => "skip".to_string(),
                LineOutcome::ProxyCacheHit => "cache hit".to_string(),
                LineOutcome::Billed(_) => "billed".to_string(),
                LineOutcome::Bad(why) => why,
            });
        }
        assert_eq!(
            outcomes,
            [
                "record msg_1:req_1 -home-u-app 10+20+5",
                "field message.usage: a JSON string where an object was expected",
                "record msg_1:req_1 -home-u-app 12+0+0",
                "field message.usage.input_tokens: -1 is negative",
                "field message.id: missing",
                "field message: duplicate field `id`",
                "field message: a JSON string where an object was expected",
                "field message: a JSON array where an object was expected",
                "skip",
                "skip",
            ]
        );
    }

    #[test]
    fn responses_read_in_one_pass_give_what_reading_them_raw_gives() {
        let envelope = |response: &str| {
            format!(
                r#"{{"timestamp":"2026-03-06T08:00:00Z","request":{{"model":"gpt-4o"}},"response":{response}}}"#
            )
        };
        let batch = |response: &str| format!(r#"{{"custom_id":"r1","response":{response}}}"#);
        let body = r#"{"created":1772784000,"model":"gpt-4o","usage":{"prompt_tokens":7,"completion_tokens":9}}"#;
        let lines = [
            envelope(body),
            envelope(r#"{"usage":{"prompt_tokens":[1]}}"#),
            envelope(r#"[1, 2]"#),
            envelope("null"),
            batch(&format!(
                r#"{{"status_code":200,"request_id":"q1","body":{body}}}"#
            )),
            batch(r#"{"status_code":500,"request_id":"q1","body":null}"#),
            batch(r#"{"status_code":200,"body":{"usage":"x"},"usage":"x"}"#),
            batch(r#""text""#),
        ];
        let mut outcomes = Vec::new();
        for line in &lines {
            let (one, raw) = one_pass_and_raw(line);
            assert_eq!(one, raw, "{line}");
            outcomes.push(match one {
                LineOutcome::Record(r) => format!(
                    "record {} {:?} {}+{}",
                    r.id.as_deref().unwrap_or("-"),
                    r.status,
                    r.tokens.input,
                    r.tokens.output
                ),
                LineOutcome::Skip => "skip".to_string(),
                LineOutcome::ProxyCacheHit => "cache hit".to_string(),
                LineOutcome::Billed(_) => "billed".to_string(),
                LineOutcome::Bad(why) => why,
            });
        }
        assert_eq!(
            outcomes,
            [
                "record - Ok 7+9",
                "field response.usage.prompt_tokens: [1] is not a count",
                "field response: a JSON array where an object was expected",
                "field response.usage: missing; a successful text response needs token counts or a cost",
                "record batch:r1:q1 Ok 7+9",
                "field response.body.created: missing",
                "field response.body.usage: a JSON string where an object was expected",
                "field response: a JSON string where an object was expected",
            ]
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(600))]
        /// Any body, of any shape, in any kind of line, comes out of the one pass as it would
        /// read raw.
        #[test]
        fn any_body_reads_the_same_in_one_pass(
            body in json_value(3),
            template in proptest::sample::select(vec![
                r#"{"type":"assistant","sessionId":"s","timestamp":"2026-03-06T08:00:00Z","requestId":"q","message":BODY}"#,
                r#"{"type":"user","sessionId":"s","timestamp":"2026-03-06T08:00:00Z","message":BODY}"#,
                r#"{"timestamp":"2026-03-06T08:00:00Z","request":{"model":"gpt-4o"},"response":BODY}"#,
                r#"{"custom_id":"r1","response":BODY}"#,
                r#"{"custom_id":"r1","response":{"status_code":200,"request_id":"q","body":BODY}}"#,
            ]),
        ) {
            let (one, raw) = one_pass_and_raw(&template.replace("BODY", &body));
            proptest::prop_assert_eq!(one, raw);
        }
    }

    /// JSON text whose objects use the field names a message body is read by.
    fn json_value(depth: u32) -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            (-3i64..100_000).prop_map(|n| n.to_string()),
            Just("1.5".to_string()),
            "[a-z\\\\\"]{0,6}".prop_map(|s| format!("{s:?}")),
        ];
        leaf.prop_recursive(depth, 24, 4, |inner| {
            let key = proptest::sample::select(vec![
                "id",
                "model",
                "usage",
                "input_tokens",
                "output_tokens",
                "content",
                "cache_read_input_tokens",
                "cost",
                "data",
                "candidates",
                "x",
            ]);
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                proptest::collection::vec((key, inner), 0..5).prop_map(|kv| {
                    let fields: Vec<String> =
                        kv.into_iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
                    format!("{{{}}}", fields.join(","))
                }),
            ]
        })
    }

    #[test]
    fn byte_damage_is_named() {
        let ok = br#"{"timestamp":"2026-03-06T08:00:00Z","request":{"model":"gpt-4o"},"response":{"usage":{"prompt_tokens":1,"completion_tokens":1}}}"#;
        let mut b = ok.to_vec();
        b.extend_from_slice(b"\n\0\0\0\n\xEF\xBB\xBF");
        b.extend_from_slice(ok);
        b.extend_from_slice(b"\n{\"a\":\"x\0\"}\n");
        // After a whole object, in a line that is not an object, beside invalid UTF-8.
        b.extend_from_slice(ok);
        b.extend_from_slice(b"\0\n[1,\0]\n{\"a\":\"\xFF\0\"}\n");
        assert_eq!(
            reasons(&b),
            vec![
                (
                    2,
                    "3 NUL bytes and nothing else (a crashed or preallocated write?)".to_string()
                ),
                (
                    3,
                    "byte order mark (U+FEFF) at the start of a line that is not the first (files concatenated?)"
                        .to_string()
                ),
                (4, "NUL byte at byte 7 of the line".to_string()),
                (5, format!("NUL byte at byte {} of the line", ok.len())),
                (6, "NUL byte at byte 3 of the line".to_string()),
                (7, "NUL byte at byte 7 of the line".to_string()),
            ]
        );
    }

    #[test]
    fn wrong_json_kinds_are_named() {
        assert_eq!(
            reasons(b"{}\n42\n\"x\": 1,\n2026-03-06,a\n[\"2026-03-06T08:00:00Z\",\"k\",{},{}]\n"),
            vec![
                (
                    1,
                    "not a usage line: no request/response, usage, custom_id or message".to_string()
                ),
                (
                    2,
                    "a JSON number where an object was expected: JSON lines need one object per line"
                        .to_string()
                ),
                (3, "invalid JSON at column 4: trailing characters".to_string()),
                (4, "invalid JSON at column 5: trailing characters".to_string()),
                (
                    5,
                    "a JSON array where an object was expected: JSON lines need one object per line"
                        .to_string()
                ),
            ]
        );
        assert_eq!(
            reasons(b"{\"id\":1,\"id\":2}\n"),
            vec![(
                1,
                "unusable JSON at column 12: duplicate field `id`".to_string()
            )]
        );
        let mut deep = vec![b'['; 100_000];
        deep.extend(vec![b']'; 100_000]);
        assert_eq!(
            reasons(&[b"{}\n".as_slice(), &deep].concat()),
            vec![
                (
                    1,
                    "not a usage line: no request/response, usage, custom_id or message"
                        .to_string()
                ),
                (
                    2,
                    "invalid JSON at column 128: recursion limit exceeded".to_string()
                )
            ]
        );
        assert_eq!(
            reasons(b"{\"a\":1}\r{\"b\":2}\r"),
            vec![(
                1,
                "invalid JSON at column 9: trailing characters; a carriage return at byte 7 suggests CR-only line ends"
                    .to_string()
            )]
        );
        assert_eq!(
            clean_json_error(
                "field response: invalid type: string \"x\", expected struct Usage at line 1 column 9"
            ),
            "field response: invalid type: string \"x\", expected an object"
        );
    }

    #[test]
    fn forced_format_mismatch_names_both() {
        let maps = csv_export::builtin_mappings();
        let opts = Options {
            format: Some(Format::Batch),
            csv_mappings: &maps,
            max_line: crate::ingest::MAX_LINE,
            default_day: None,
        };
        let text = br#"{"timestamp":"2026-03-06T08:00:00Z","request":{},"response":{}}
{"type":"assistant","sessionId":"s","message":{}}
"#;
        let (_, _, q) = parse_bytes("f", text, &opts);
        assert_eq!(
            q.into_iter().map(|q| q.reason).collect::<Vec<_>>(),
            [
                "an envelope line in a file read as batch (--format)",
                "a claude-code line in a file read as batch (--format)"
            ]
        );
    }

    #[test]
    fn csv_utf8_names_the_column() {
        assert_eq!(
            reasons(b"timestamp,model\n2026-03-06T08:00:00Z,gpt-\xff\n"),
            vec![(
                2,
                "invalid UTF-8 in column model (2) at byte 4 of the cell".to_string()
            )]
        );
    }

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
