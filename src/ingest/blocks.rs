//! The block reader: an input is read in blocks cut at line ends, each block's lines parsed
//! in parallel while the next block is read, so a file is never held whole. Lines over the
//! limit are hashed and streamed past. It also resumes a file after the part an earlier run
//! settled (`--state`).

use super::csv_file::read_csv;
use super::detect::{DocKind, HEAD};
use super::document::{SIZE_FACTOR, format_name, limit};
use super::lines::{parse_lines, reject_lines, split_lines, split_tail};
use super::options::Options;
use super::recent::RecentCopies;
use super::results::{FileResult, LineOutcome, Settled, absorb_kept, detach, raw_head};
use super::whole::parse_file;
use super::wording::{overlong, size_text};
use super::{detect, gemini_batch, source};
use crate::error::RunError;
use crate::outcome::{FileReport, Quarantined};
use crate::record::UsageRecord;
use crate::text::Text;
use detect::FileKind;
use source::Input;

/// Where a file's records go as each block is parsed.
pub(super) type Emit<'e> = dyn FnMut(Vec<UsageRecord>) -> Result<(), RunError> + Send + 'e;

/// JSON lines are read and parsed in blocks of this size, so an input is never held whole.
pub(super) const BLOCK: usize = 8 << 20;

/// Reads one input in blocks cut at line ends; each block's lines are parsed in parallel and
/// the block is dropped before the next is read. CSV files, JSON arrays and unknown formats
/// are read whole: they are not split on line ends.
pub(super) fn parse_input(
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
    let want = |left: u64| left.min(BLOCK as u64) as usize;
    let (mut block, mut next) = (Vec::new(), Vec::new());
    let mut eof = stream.fill(&mut block, want(offset))?;
    let mut left = offset - block.len() as u64;
    // Each block is hashed while the next one is read: for a long log that a nightly run
    // resumes, the two take about as long, and this check is most of that run.
    while left > 0 {
        if eof {
            return Ok(None);
        }
        next.clear();
        let (_, read) = rayon::join(
            || hasher.update(&block),
            || stream.fill(&mut next, want(left)),
        );
        eof = read?;
        left -= next.len() as u64;
        std::mem::swap(&mut block, &mut next);
    }
    hasher.update(&block);
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
            let kind = detect::kind_of(opts.format, &buf[..buf.len().min(HEAD)]);
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
    let doc = detect::document_of(opts.format, &buf[..buf.len().min(HEAD)]);
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
    let file: Text = Text::from(display);
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
    // The previous part's outcomes: absorbed while this part is parsed.
    let mut pending: Vec<LineOutcome> = Vec::new();
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
                    prefix_blake3: h.finalize(),
                });
            }
            if eof && buf.is_empty() {
                break;
            }
            continue;
        };
        let part = &buf[..cut];
        let base = out.report.bytes;
        let lines_before = out.report.lines;
        let tail = &buf[cut..];
        let (outcomes, (handed, prefix, read)) = rayon::join(
            || {
                // Split here, beside the hash and the next read: a block's first scan was
                // the one serial step left between two blocks.
                let lines = if base == 0 {
                    split_lines(part)
                } else {
                    split_tail(part)
                };
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
                // The previous block's records are absorbed and handed over while this
                // block is parsed.
                absorb_kept(&mut out, std::mem::take(&mut pending), recent.as_mut());
                let handed = emit(std::mem::take(&mut out.records));
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
                prefix_blake3: h.finalize(),
            });
        }
        pending = detach(&mut out, display, outcomes);
        out.report.bytes += cut as u64;
        tick(cut as u64);
        eof = read?;
        std::mem::swap(&mut buf, &mut next);
        if eof && buf.is_empty() {
            break;
        }
    }
    absorb_kept(&mut out, pending, recent.as_mut());
    emit(std::mem::take(&mut out.records))?;
    out.settled = Some(settled.unwrap_or_else(|| Settled {
        offset: out.report.bytes,
        lines: out.report.lines,
        prefix_blake3: hasher.finalize(),
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
    let head = raw_head(buf);
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

/// An export document read whole, up to [`limit`]; a larger one is one quarantined
/// line, streamed past without being held.
#[allow(clippy::too_many_arguments)]
fn read_document(
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
    let head = raw_head(&buf);
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
    use crate::dedup;
    use crate::ingest::csv_export;

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
        let opts = Options::new(&maps);
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
        let opts = Options::new(&maps);
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
}
