//! CSV files: read whole (less their overlong lines, cut out as they stream past), then
//! parsed row by row under the column mapping their header matches (see `csv_export`).

use super::build::LineCtx;
use super::csv_export::{self, CsvMapping};
use super::results::{FileResult, LineOutcome, Outcomes, raw_head};
use super::wording::overlong;
use super::{fields, source};
use crate::error::RunError;
use crate::outcome::Quarantined;
use crate::record::SourceRef;
use crate::text::Text;
use rayon::prelude::*;

/// A CSV file read whole, less its overlong lines.
pub(super) struct WholeCsv {
    pub(super) bytes: u64,
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
pub(super) fn read_csv(
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
            let head = raw_head(&buf[line_start..]);
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
    pub(super) fn put_back(self, r: &mut FileResult, display: &str, max_line: usize) {
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

pub(super) fn csv_lines<'b>(
    file: &Text,
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
    file: &Text,
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
    use crate::ingest::tests::reasons;
    use crate::ingest::{Options, parse_bytes};

    #[test]
    fn blank_csv_lines_are_counted_as_skipped() {
        let maps = csv_export::builtin_mappings();
        let opts = Options::new(&maps);
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
}
