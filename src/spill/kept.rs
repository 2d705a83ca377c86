//! The records of one input kept between runs for the `--state` ledger, in the binary form of
//! the sorted runs, so that a nightly run streams them instead of holding them as JSON.

use super::codec;
use super::run::{frame, named, read_frame};
use crate::record::UsageRecord;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub struct KeptWriter {
    path: PathBuf,
    out: BufWriter<File>,
    at: u64,
    records: u64,
    /// The byte of the last record's line, and where its frame starts in the file.
    last: Option<(u64, u64)>,
    frame: Vec<u8>,
    scratch: Vec<u8>,
}

impl KeptWriter {
    pub fn create(path: &Path) -> io::Result<KeptWriter> {
        let f = File::create(path).map_err(|e| named(path, e))?;
        Ok(KeptWriter {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(1 << 20, f),
            at: 0,
            records: 0,
            last: None,
            frame: Vec::new(),
            scratch: Vec::new(),
        })
    }

    /// Appends records, which come in the order of their lines in the file.
    pub fn append(&mut self, records: &[UsageRecord]) -> io::Result<()> {
        for r in records {
            self.frame.clear();
            frame(r, 0, &mut self.frame, &mut self.scratch);
            self.last = Some((r.source.byte, self.at));
            self.out
                .write_all(&self.frame)
                .map_err(|e| named(&self.path, e))?;
            self.at += self.frame.len() as u64;
            self.records += 1;
        }
        Ok(())
    }

    /// Keeps the records of lines before byte `settled` and syncs; returns how many. Only the
    /// last line of a file can be unfinished, so only the last record can be dropped.
    pub fn finish(mut self, settled: u64) -> io::Result<u64> {
        self.out.flush().map_err(|e| named(&self.path, e))?;
        let f = self
            .out
            .into_inner()
            .map_err(|e| named(&self.path, e.into_error()))?;
        if let Some((byte, pos)) = self.last
            && byte >= settled
        {
            f.set_len(pos).map_err(|e| named(&self.path, e))?;
            self.records -= 1;
        }
        f.sync_all().map_err(|e| named(&self.path, e))?;
        Ok(self.records)
    }
}

/// Reads the records of a kept file in parts of at most `part`, naming `file` as their source.
pub fn read_kept(
    path: &Path,
    file: Arc<str>,
    part: usize,
    mut each: impl FnMut(Vec<UsageRecord>) -> io::Result<()>,
) -> io::Result<()> {
    let f = File::open(path).map_err(|e| named(path, e))?;
    let mut r = BufReader::with_capacity(1 << 20, f);
    let files = [file];
    let mut buf = Vec::new();
    let mut records = Vec::with_capacity(part);
    while read_frame(&mut r, &mut buf, path)? {
        let rec = codec::decode(&buf, &files).ok_or_else(|| {
            named(
                path,
                io::Error::new(io::ErrorKind::InvalidData, "a kept record is damaged"),
            )
        })?;
        records.push(rec);
        if records.len() == part {
            each(std::mem::take(&mut records))?;
        }
    }
    if !records.is_empty() {
        each(records)?;
    }
    Ok(())
}
