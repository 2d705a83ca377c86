//! The records of one input kept between runs for the `--state` ledger, in the binary form of
//! the sorted runs, so that a nightly run streams them instead of holding them as JSON.

use super::codec;
use super::run::{frame, named, read_frame};
use crate::record::UsageRecord;
use crate::text::Text;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The file is made with the first record: a run that finds nothing new in an input touches
/// nothing on disk for it.
pub struct KeptWriter {
    path: PathBuf,
    out: Option<BufWriter<File>>,
    at: u64,
    records: u64,
    /// The byte of the last record's line, and where its frame starts in the file.
    last: Option<(u64, u64)>,
    frame: Vec<u8>,
    scratch: Vec<u8>,
}

impl KeptWriter {
    pub fn create(path: &Path) -> io::Result<KeptWriter> {
        Ok(KeptWriter {
            path: path.to_path_buf(),
            out: None,
            at: 0,
            records: 0,
            last: None,
            frame: Vec::new(),
            scratch: Vec::new(),
        })
    }

    /// Whether a file was made: the writer makes none until it has a record to write.
    pub fn made(&self) -> bool {
        self.out.is_some()
    }

    /// Appends records, which come in the order of their lines in the file.
    pub fn append(&mut self, records: &[UsageRecord]) -> io::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let out = match &mut self.out {
            Some(out) => out,
            None => {
                let f = File::create(&self.path).map_err(|e| named(&self.path, e))?;
                self.out.insert(BufWriter::with_capacity(1 << 20, f))
            }
        };
        for r in records {
            self.frame.clear();
            frame(r, 0, &mut self.frame, &mut self.scratch);
            self.last = Some((r.source.byte, self.at));
            out.write_all(&self.frame)
                .map_err(|e| named(&self.path, e))?;
            self.at += self.frame.len() as u64;
            self.records += 1;
        }
        Ok(())
    }

    /// Keeps the records of lines before byte `settled`; returns how many. Only the last line
    /// of a file can be unfinished, so only the last record can be dropped. Where the file
    /// system can be synced as a whole ([`sync_folder`]), that is done once for every file of
    /// a run instead of once each: a nightly run over 20,000 small exports spent 4 s on their
    /// syncs alone.
    pub fn finish(mut self, settled: u64) -> io::Result<u64> {
        let Some(mut out) = self.out.take() else {
            return Ok(0);
        };
        out.flush().map_err(|e| named(&self.path, e))?;
        let f = out
            .into_inner()
            .map_err(|e| named(&self.path, e.into_error()))?;
        if let Some((byte, pos)) = self.last
            && byte >= settled
        {
            f.set_len(pos).map_err(|e| named(&self.path, e))?;
            self.records -= 1;
        }
        if !cfg!(target_os = "linux") {
            f.sync_all().map_err(|e| named(&self.path, e))?;
        }
        Ok(self.records)
    }
}

/// Makes every file written under `dir` durable: on Linux the whole file system at once
/// (`syncfs`), elsewhere the files were synced one by one as they were finished.
pub fn sync_folder(dir: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let d = File::open(dir).map_err(|e| named(dir, e))?;
        rustix::fs::syncfs(&d).map_err(|e| named(dir, e.into()))?;
    }
    #[cfg(not(target_os = "linux"))]
    let _ = dir;
    Ok(())
}

/// Reads the records of a kept file in parts of at most `part`, naming `file` as their source.
pub fn read_kept(
    path: &Path,
    file: Text,
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
