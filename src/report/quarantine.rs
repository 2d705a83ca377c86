//! quarantine.jsonl: every rejected line with file, line, byte offset, reason and the raw text.

use super::{ReportInput, Writer};
use std::io::{self, Write};
use std::path::Path;

pub struct QuarantineJsonl;

impl Writer for QuarantineJsonl {
    fn files(&self) -> &'static [&'static str] {
        &["quarantine.jsonl"]
    }

    fn write(&self, input: &ReportInput<'_>, dir: &Path) -> io::Result<()> {
        if input.quarantine.is_empty() {
            return Ok(());
        }
        let mut w = io::BufWriter::new(std::fs::File::create(dir.join("quarantine.jsonl"))?);
        for q in input.quarantine {
            serde_json::to_writer(&mut w, q).map_err(io::Error::other)?;
            w.write_all(b"\n")?;
        }
        w.flush()
    }
}
