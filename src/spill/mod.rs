//! An external sort of the parsed records, so that no stage holds every record at once.
//!
//! Parsing threads hand their records over in parts ([`Spill::push`]); each part is sorted by
//! id and kept as a run, in memory up to a budget and in temporary files past it. Merging the
//! runs by id puts every id's records side by side in canonical order, which is all that
//! deduplication needs. It reads only the fields that order and judge a record, and the frames
//! it keeps are sorted again, as they are, into runs by time; merging those decodes every
//! record once, in the canonical order the reports are computed in ([`Sorted`]). Memory holds
//! a few parts and one read buffer per run, whatever the input size.

pub(crate) mod codec;
mod decide;
mod kept;
mod run;

pub use decide::{First, Later};
pub use kept::{KeptWriter, read_kept, sync_folder};
pub use run::Order;

use crate::error::RunError;
use crate::outcome::Quarantined;
use crate::record::{SourceRef, UsageRecord};
use crate::text::Text;
use codec::Key;
use rayon::slice::ParallelSliceMut;
use run::{FileIndex, Frames, Merge, Run, Store};
use std::sync::{Arc, Mutex};

/// Records per run: about 20 MB of records while a run is sorted.
const RUN_RECORDS: usize = 65_536;
/// Encoded runs kept in memory before they go to temporary files.
const MEMORY_BUDGET: usize = 8 << 20;

pub struct Spill {
    store: Store,
    run_records: usize,
    files: Mutex<Files>,
    pending: Mutex<Vec<UsageRecord>>,
    runs: Mutex<Vec<Run>>,
    /// Emptied parts and run buffers, kept for the next ones: each is several MB, and the
    /// allocator hands a freed one back to the kernel, so a new one was page-faulted in again.
    spare: Mutex<Spare>,
}

#[derive(Default)]
struct Spare {
    parts: Vec<Vec<UsageRecord>>,
    bytes: Option<Vec<u8>>,
}

/// Parts kept for reuse: one filling while one is sorted and written needs at most two.
const SPARE_PARTS: usize = 2;

/// File names by the index runs store for them.
type FileTable = Arc<[Text]>;

#[derive(Default)]
struct Files {
    names: Vec<Text>,
    index: rustc_hash::FxHashMap<Text, u32>,
}

impl Files {
    fn table(&mut self, records: &[UsageRecord]) -> Arc<[Text]> {
        for r in records {
            if !self.index.contains_key(&r.source.file) {
                self.index
                    .insert(r.source.file.clone(), self.names.len() as u32);
                self.names.push(r.source.file.clone());
            }
        }
        self.names.clone().into()
    }
}

impl Default for Spill {
    fn default() -> Self {
        Spill::with_limits(MEMORY_BUDGET, RUN_RECORDS)
    }
}

fn io_err(e: std::io::Error) -> RunError {
    RunError::Output {
        path: std::env::temp_dir(),
        message: format!("sorting records: {e}"),
    }
}

impl Spill {
    /// `budget` bytes of runs in memory before they go to files; runs of `run_records`.
    pub fn with_limits(budget: usize, run_records: usize) -> Spill {
        Spill {
            store: Store::new(budget),
            run_records: run_records.max(1),
            files: Mutex::new(Files::default()),
            pending: Mutex::new(Vec::new()),
            runs: Mutex::new(Vec::new()),
            spare: Mutex::new(Spare::default()),
        }
    }

    fn spare(&self) -> std::sync::MutexGuard<'_, Spare> {
        self.spare.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An empty part with room for a run.
    fn part(&self) -> Vec<UsageRecord> {
        self.spare()
            .parts
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(self.run_records))
    }

    fn give_back(&self, mut part: Vec<UsageRecord>) {
        part.clear();
        let mut spare = self.spare();
        if spare.parts.len() < SPARE_PARTS && part.capacity() >= self.run_records {
            spare.parts.push(part);
        }
    }

    /// Takes records in any order, from any thread.
    pub fn push(&self, mut records: Vec<UsageRecord>) -> Result<(), RunError> {
        let mut full = Vec::new();
        {
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            while !records.is_empty() {
                if p.capacity() == 0 {
                    *p = self.part();
                }
                // Parts are cut at the run size, so a part never outgrows its room. Which
                // records go to which run does not matter: runs are sorted and merged.
                let take = (self.run_records - p.len()).min(records.len());
                p.extend(records.drain(records.len() - take..));
                if p.len() >= self.run_records {
                    full.push(std::mem::take(&mut *p));
                }
            }
        }
        for part in full {
            self.write_run(part)?;
        }
        Ok(())
    }

    /// Sorts a part by id into a run.
    fn write_run(&self, part: Vec<UsageRecord>) -> Result<(), RunError> {
        // Positions are sorted, not the records: a record is a few hundred bytes, and moving
        // them was a tenth of the sort's time.
        let mut at: Vec<u32> = (0..part.len() as u32).collect();
        at.par_sort_unstable_by(|&a, &b| Order::Id.cmp(&part[a as usize], &part[b as usize]));
        let table = self
            .files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .table(&part);
        let index = FileIndex::new(&table);
        let mut bytes = self.spare().bytes.take().unwrap_or_default();
        bytes.reserve(part.len() * 96);
        let mut scratch = Vec::new();
        for &k in &at {
            let r = &part[k as usize];
            run::frame(r, index.of(r), &mut bytes, &mut scratch);
        }
        self.give_back(part);
        let (r, emptied) = self.store.put(bytes).map_err(io_err)?;
        if let Some(b) = emptied {
            self.spare().bytes.get_or_insert(b);
        }
        self.runs.lock().unwrap_or_else(|e| e.into_inner()).push(r);
        Ok(())
    }

    fn take(&self) -> Result<(Vec<Run>, FileTable), RunError> {
        let rest = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if !rest.is_empty() {
            self.write_run(rest)?;
        }
        let runs = std::mem::take(&mut *self.runs.lock().unwrap_or_else(|e| e.into_inner()));
        let files = self
            .files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .names
            .clone()
            .into();
        Ok((runs, files))
    }

    /// Deduplicates by id and sorts what is kept into canonical order. The records are judged
    /// and re-sorted as frames, by the fields that order them, and decoded once, by
    /// [`Sorted`].
    pub fn finish(self) -> Result<Sorted, RunError> {
        let (runs, files) = self.take()?;
        // Parts of records are not needed past this point: frames are moved from here on.
        self.spare().parts = Vec::new();
        let ranks = run::ranks(&files);
        let mut by_id = Frames::new(runs, Order::Id, ranks.clone(), &self.store).map_err(io_err)?;
        let mut judged = Judged {
            files: files.clone(),
            ..Judged::default()
        };
        // Each part of kept frames is sorted and stored while the merge fills the next one.
        let mut part = judged.fill(&mut by_id, KeptFrames::default(), self.run_records)?;
        let mut spare = KeptFrames::default();
        while !part.at.is_empty() {
            let (stored, next) = rayon::join(
                || self.write_frames(part),
                || judged.fill(&mut by_id, spare, self.run_records),
            );
            spare = stored?;
            part = next?;
        }
        drop(by_id);
        let Judged {
            records,
            duplicates,
            conflicts,
            ..
        } = judged;
        let (runs, _) = self.take()?;
        let merge = Merge::new(runs, Order::Time, files, &self.store).map_err(io_err)?;
        Ok(Sorted {
            merge,
            records,
            duplicates,
            conflicts,
            spilled: self.store.files_written(),
            _store: self.store,
        })
    }

    /// Sorts kept frames by time into a run; gives the part back emptied.
    fn write_frames(&self, mut part: KeptFrames) -> Result<KeptFrames, RunError> {
        let bytes = &part.bytes;
        part.at
            .par_sort_unstable_by(|a, b| a.keyed(bytes).cmp(&b.keyed(bytes), Order::Time));
        let mut out = self.spare().bytes.take().unwrap_or_default();
        out.reserve(bytes.len());
        for e in &part.at {
            // With the length before it.
            out.extend_from_slice(&bytes[e.start - run::LEN..e.start + e.len]);
        }
        let (r, emptied) = self.store.put(out).map_err(io_err)?;
        if let Some(b) = emptied {
            self.spare().bytes.get_or_insert(b);
        }
        self.runs.lock().unwrap_or_else(|e| e.into_inner()).push(r);
        part.bytes.clear();
        part.at.clear();
        Ok(part)
    }
}

/// Kept frames, each with its length before it, and where each is.
#[derive(Default)]
struct KeptFrames {
    bytes: Vec<u8>,
    at: Vec<Kept>,
}

/// Where a kept frame is in its part's bytes, and the key it is sorted by.
struct Kept {
    key: Key,
    rank: u32,
    start: usize,
    len: usize,
}

impl Kept {
    fn keyed<'f>(&'f self, bytes: &'f [u8]) -> run::Keyed<'f> {
        run::Keyed {
            key: &self.key,
            frame: &bytes[self.start..self.start + self.len],
            rank: self.rank,
        }
    }
}

/// What deduplication has decided so far, in id order.
#[derive(Default)]
struct Judged {
    files: FileTable,
    /// The id whose records are being judged, and the record kept for it so far.
    id: String,
    first: Option<First>,
    /// Where the frame kept for that id is in the part being filled.
    kept_at: Option<usize>,
    /// The last frame kept when a part was full: it starts an id whose later records, which
    /// may replace it, are in the next part.
    carried: Option<(Key, u32, Vec<u8>)>,
    records: u64,
    duplicates: u64,
    conflicts: Vec<Quarantined>,
}

impl Judged {
    /// The next `n` kept frames from the merge by id, in `part`; empty at the end. A part
    /// ends where an id's records end, so a frame can still be replaced while it is in `part`.
    fn fill(
        &mut self,
        by_id: &mut Frames,
        mut part: KeptFrames,
        n: usize,
    ) -> Result<KeptFrames, RunError> {
        if let Some((key, rank, frame)) = self.carried.take() {
            put(&mut part, key, rank, &frame);
        }
        loop {
            let judged = by_id
                .next_with(|k| self.judge(k, &mut part))
                .map_err(io_err)?;
            match judged {
                Some(judged) => judged.map_err(io_err)?,
                None => {
                    self.end_id();
                    break;
                }
            }
            // The frame just kept starts an id (or has none): every one before it is settled.
            if part.at.len() > n
                && let Some(last) = part.at.pop()
            {
                let frame = part.bytes[last.start..last.start + last.len].to_vec();
                self.kept_at = self.kept_at.map(|_| 0);
                self.carried = Some((last.key, last.rank, frame));
                break;
            }
        }
        Ok(part)
    }

    /// The id's records have all been judged: its conflicts can name the line kept.
    fn end_id(&mut self) {
        end_id(&mut self.first, &self.id, &mut self.conflicts);
        self.kept_at = None;
    }

    /// Judges one frame from the merge by id; a kept one goes into `part`.
    fn judge(&mut self, k: run::Keyed<'_>, part: &mut KeptFrames) -> std::io::Result<()> {
        let id = k
            .key
            .id(k.frame)
            .map(std::str::from_utf8)
            .transpose()
            .map_err(|_| run::damaged())?;
        let file = self
            .files
            .get(k.key.file as usize)
            .ok_or_else(run::damaged)?;
        let source = || SourceRef {
            file: file.clone(),
            line: k.key.line,
            byte: k.key.byte,
        };
        let same_id = self.first.is_some() && id == Some(self.id.as_str());
        if !same_id {
            end_id(&mut self.first, &self.id, &mut self.conflicts);
            self.records += 1;
            let at = put(part, *k.key, k.rank, k.frame);
            self.kept_at = None;
            if let Some(id) = id {
                self.id.clear();
                self.id.push_str(id);
                self.first = Some(First::new(k.key.payload, None, source()));
                self.kept_at = Some(at);
            }
            return Ok(());
        }
        let (Some(first), Some(at)) = (self.first.as_mut(), self.kept_at) else {
            return Err(run::damaged());
        };
        let kept = part.at.get(at).ok_or_else(run::damaged)?;
        let kept_frame = &part.bytes[kept.start..kept.start + kept.len];
        // Output tokens are read from a frame only when an id repeats its payload.
        let damaged = std::cell::Cell::new(false);
        let tokens = |frame: &[u8]| {
            codec::output_tokens(frame).unwrap_or_else(|| {
                damaged.set(true);
                0
            })
        };
        let later = first.later(
            k.key.payload,
            || tokens(k.frame),
            || tokens(kept_frame),
            source,
        );
        if damaged.get() {
            return Err(run::damaged());
        }
        match later {
            Later::Duplicate => self.duplicates += 1,
            Later::Conflict => {}
            Later::Replaces => {
                self.duplicates += 1;
                // The replaced frame's bytes stay behind, unread: only `at` is written out.
                part.at[at] = place(part, *k.key, k.rank, k.frame);
            }
        }
        Ok(())
    }
}

/// Keeps a frame in `part`; its place there.
fn put(part: &mut KeptFrames, key: Key, rank: u32, frame: &[u8]) -> usize {
    let kept = place(part, key, rank, frame);
    part.at.push(kept);
    part.at.len() - 1
}

/// Appends a frame to `part`'s bytes; where it is.
fn place(part: &mut KeptFrames, key: Key, rank: u32, frame: &[u8]) -> Kept {
    run::put_frame(&mut part.bytes, frame);
    Kept {
        key,
        rank,
        start: part.bytes.len() - frame.len(),
        len: frame.len(),
    }
}

/// Ends the records of `id`: its conflicts, if any, name the line kept.
fn end_id(first: &mut Option<First>, id: &str, conflicts: &mut Vec<Quarantined>) {
    if let Some(first) = first.take() {
        conflicts.extend(first.conflicts(id));
    }
}

/// Every kept record, once, in canonical order.
pub struct Sorted {
    merge: Merge,
    /// Records the merge gives.
    pub records: u64,
    pub duplicates: u64,
    pub conflicts: Vec<Quarantined>,
    /// Runs that went to temporary files (0 when the input fit in memory).
    pub spilled: usize,
    /// Holds the temporary folder until the last run is read.
    _store: Store,
}

impl Iterator for Sorted {
    type Item = Result<UsageRecord, RunError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.merge.next().map(|r| r.map_err(io_err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup;
    use crate::ingest::{Format, Options, csv_export, parse_bytes};

    /// Generated records with their copies and conflicts: the second half of the lines again,
    /// some changed.
    fn records() -> Vec<UsageRecord> {
        let mut bytes = Vec::new();
        crate::generate::generate(&mut bytes, Format::Envelope, 300, 7).expect("generate");
        let text = String::from_utf8(bytes).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        let mut all = text.clone();
        for (k, l) in lines[150..].iter().enumerate() {
            let l = if k % 10 == 0 {
                l.replacen("\"prompt_tokens\":", "\"prompt_tokens\":1", 1)
            } else {
                l.to_string()
            };
            all.push_str(&l);
            all.push('\n');
        }
        let maps = csv_export::builtin_mappings();
        let opts = Options::new(&maps);
        parse_bytes("g.jsonl", all.as_bytes(), &opts).1
    }

    fn sorted(
        spill: Spill,
        records: &[UsageRecord],
        part: usize,
    ) -> (Vec<UsageRecord>, u64, usize, usize) {
        for p in records.chunks(part) {
            spill.push(p.to_vec()).expect("push");
        }
        let mut s = spill.finish().expect("finish");
        let spilled = s.spilled;
        let got: Vec<UsageRecord> = s.by_ref().map(|r| r.expect("record")).collect();
        (got, s.duplicates, s.conflicts.len(), spilled)
    }

    #[test]
    fn runs_in_files_and_merges_of_merges_give_what_one_run_in_memory_gives() {
        let records = records();
        assert_eq!(records.len(), 464);
        let (one, duplicates, conflicts, spilled) = sorted(Spill::default(), &records, 450);
        assert_eq!(
            (one.len(), duplicates, conflicts, spilled),
            (307, 149, 8, 0)
        );
        // One record per run: 464 runs in files, more than are merged at once.
        let (many, d, c, spilled) = sorted(Spill::with_limits(0, 1), &records, 1);
        assert_eq!((d, c), (149, 8));
        assert!(spilled > 464, "{spilled}");
        assert_eq!(many, one);
        // And the same as deduplicating the records in memory.
        assert_eq!(dedup::dedup(records).expect("dedup").records, one);
    }

    #[test]
    fn a_folder_that_cannot_take_runs_is_an_error_that_names_it() {
        // A path under a file cannot be a folder.
        let file = tempfile::NamedTempFile::new().expect("file");
        let store = Store::in_dir(0, file.path().join("x"));
        let r = store.put(vec![1, 2, 3]).map(|(run, _)| run);
        let e = r.err().expect("fails").to_string();
        assert!(
            e.starts_with("cannot create a folder for sorted runs in "),
            "{e}"
        );
        assert!(e.contains("set TMPDIR to another folder"), "{e}");
    }
}
