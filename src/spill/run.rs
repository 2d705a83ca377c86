//! Sorted runs of encoded records, in memory while they are small and in temporary files
//! past that, and the k-way merge that reads them back in one order.

use super::codec;
use crate::record::UsageRecord;
use crate::text::Text;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};

/// The two orders runs are sorted in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// (id, time, source, payload): the records of one id together, first one first.
    Id,
    /// (time, id, source, payload): the order every report is computed in.
    Time,
}

impl Order {
    pub fn cmp(self, a: &UsageRecord, b: &UsageRecord) -> Ordering {
        match self {
            Order::Id => (&a.id, a.time, &a.source, a.payload_hash).cmp(&(
                &b.id,
                b.time,
                &b.source,
                b.payload_hash,
            )),
            Order::Time => (a.time, &a.id, &a.source, a.payload_hash).cmp(&(
                b.time,
                &b.id,
                &b.source,
                b.payload_hash,
            )),
        }
    }
}

pub enum Run {
    Mem(Vec<u8>),
    File(PathBuf),
}

/// Where runs are kept: memory up to a budget, then files in a private temporary folder that
/// is removed when the store is dropped, also on errors.
pub struct Store {
    budget: usize,
    /// Shared with the readers of in-memory runs, which give their bytes back when dropped.
    in_memory: Arc<AtomicUsize>,
    files: AtomicUsize,
    /// Where the private folder is made: the system's temporary folder (TMPDIR).
    base: PathBuf,
    dir: Mutex<Option<tempfile::TempDir>>,
}

impl Store {
    pub fn new(budget: usize) -> Store {
        Store::in_dir(budget, std::env::temp_dir())
    }

    pub fn in_dir(budget: usize, base: PathBuf) -> Store {
        Store {
            budget,
            base,
            in_memory: Arc::new(AtomicUsize::new(0)),
            files: AtomicUsize::new(0),
            dir: Mutex::new(None),
        }
    }

    /// Runs written to files so far.
    pub fn files_written(&self) -> usize {
        self.files.load(AtomicOrdering::Relaxed)
    }

    /// Keeps a run; a run written to a file gives its buffer back, emptied, for the next one.
    pub fn put(&self, mut bytes: Vec<u8>) -> io::Result<(Run, Option<Vec<u8>>)> {
        let before = self
            .in_memory
            .fetch_add(bytes.len(), AtomicOrdering::Relaxed);
        if before + bytes.len() <= self.budget {
            return Ok((Run::Mem(bytes), None));
        }
        self.in_memory
            .fetch_sub(bytes.len(), AtomicOrdering::Relaxed);
        let path = self.file_path()?;
        let mut f = File::create(&path).map_err(|e| named(&path, e))?;
        f.write_all(&bytes).map_err(|e| named(&path, e))?;
        bytes.clear();
        Ok((Run::File(path), Some(bytes)))
    }

    fn file_path(&self) -> io::Result<PathBuf> {
        let n = self.files.fetch_add(1, AtomicOrdering::Relaxed);
        let mut dir = self.dir.lock().unwrap_or_else(|e| e.into_inner());
        if dir.is_none() {
            *dir = Some(
                tempfile::Builder::new()
                    .prefix("reprice-runs-")
                    .tempdir_in(&self.base)
                    .map_err(|e| {
                        io::Error::new(
                            e.kind(),
                            format!(
                                "cannot create a folder for sorted runs in {} (set TMPDIR to another folder): {e}",
                                self.base.display()
                            ),
                        )
                    })?,
            );
        }
        let d = dir
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .unwrap_or_default();
        Ok(d.join(format!("run-{n}")))
    }

    /// A writer for one run too large to build in memory first (a merge of other runs).
    fn create(&self) -> io::Result<(PathBuf, BufWriter<File>)> {
        let path = self.file_path()?;
        let f = File::create(&path).map_err(|e| named(&path, e))?;
        Ok((path, BufWriter::with_capacity(1 << 20, f)))
    }
}

pub(super) fn named(path: &std::path::Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Bytes of the length that comes before each frame in a run.
pub(super) const LEN: usize = 4;

/// The length a frame is stored after, as `read_frame` reads it.
fn length(frame: &[u8]) -> [u8; LEN] {
    (frame.len() as u32).to_le_bytes()
}

/// Appends an encoded frame to a run's bytes: its length, then its bytes.
pub(super) fn put_frame(out: &mut Vec<u8>, frame: &[u8]) {
    out.extend_from_slice(&length(frame));
    out.extend_from_slice(frame);
}

/// Appends one record as a frame.
pub fn frame(r: &UsageRecord, file: u32, out: &mut Vec<u8>, scratch: &mut Vec<u8>) {
    scratch.clear();
    codec::encode(r, file, scratch);
    put_frame(out, scratch);
}

/// Reads the next frame of a file into `buf`; false at its end.
pub(super) fn read_frame(
    r: &mut impl Read,
    buf: &mut Vec<u8>,
    path: &std::path::Path,
) -> io::Result<bool> {
    let mut len = [0u8; LEN];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
        Err(e) => return Err(named(path, e)),
    }
    buf.resize(u32::from_le_bytes(len) as usize, 0);
    r.read_exact(buf).map_err(|e| named(path, e))?;
    Ok(true)
}

enum Source {
    Mem(Vec<u8>, usize, Arc<AtomicUsize>),
    File(BufReader<File>, PathBuf),
}

struct Reader {
    src: Source,
}

impl Reader {
    fn open(run: Run, store: &Store) -> io::Result<Reader> {
        Ok(Reader {
            src: match run {
                Run::Mem(b) => Source::Mem(b, 0, store.in_memory.clone()),
                Run::File(p) => {
                    let f = File::open(&p).map_err(|e| named(&p, e))?;
                    Source::File(BufReader::with_capacity(64 << 10, f), p)
                }
            },
        })
    }

    /// The next frame's bytes; false at the end of the run.
    fn next(&mut self, buf: &mut Vec<u8>) -> io::Result<bool> {
        match &mut self.src {
            Source::Mem(b, at, _) => {
                if *at >= b.len() {
                    return Ok(false);
                }
                let len = b
                    .get(*at..*at + LEN)
                    .and_then(|s| s.try_into().ok())
                    .map(u32::from_le_bytes)
                    .ok_or_else(damaged)? as usize;
                let body = b.get(*at + LEN..*at + LEN + len).ok_or_else(damaged)?;
                buf.clear();
                buf.extend_from_slice(body);
                *at += LEN + len;
                Ok(true)
            }
            Source::File(r, p) => read_frame(r, buf, p),
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        // A run read to the end is not needed again: give its space back now.
        match &self.src {
            Source::File(_, p) => {
                let _ = std::fs::remove_file(p);
            }
            Source::Mem(b, _, used) => {
                used.fetch_sub(b.len(), AtomicOrdering::Relaxed);
            }
        }
    }
}

pub(super) fn damaged() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "a temporary run of sorted records is damaged",
    )
}

/// What a merge orders: a decoded record, or a frame by its key.
trait Item {
    fn cmp_in(&self, o: &Self, order: Order) -> Ordering;
}

impl Item for UsageRecord {
    fn cmp_in(&self, o: &Self, order: Order) -> Ordering {
        order.cmp(self, o)
    }
}

/// The next item of run `run`, in a merge's heap.
struct Head<T> {
    item: T,
    run: usize,
    order: Order,
}

impl<T: Item> PartialEq for Head<T> {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl<T: Item> Eq for Head<T> {}
impl<T: Item> PartialOrd for Head<T> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<T: Item> Ord for Head<T> {
    fn cmp(&self, o: &Self) -> Ordering {
        // Reversed: BinaryHeap pops the greatest, the merge wants the least.
        o.item
            .cmp_in(&self.item, self.order)
            .then_with(|| o.run.cmp(&self.run))
    }
}

/// Runs merged into one stream in `order`. At most `FAN_IN` runs are read at once: more are
/// first merged into larger runs, so open files and read buffers stay bounded.
pub struct Merge {
    readers: Vec<Reader>,
    heap: BinaryHeap<Head<UsageRecord>>,
    files: Arc<[Text]>,
    order: Order,
    buf: Vec<u8>,
}

const FAN_IN: usize = 64;

impl Merge {
    pub fn new(
        runs: Vec<Run>,
        order: Order,
        files: Arc<[Text]>,
        store: &Store,
    ) -> io::Result<Merge> {
        let runs = fan_in(runs, order, &ranks(&files), store)?;
        Merge::open(runs, order, files, store)
    }

    fn open(runs: Vec<Run>, order: Order, files: Arc<[Text]>, store: &Store) -> io::Result<Merge> {
        let mut m = Merge {
            readers: Vec::with_capacity(runs.len()),
            heap: BinaryHeap::with_capacity(runs.len()),
            files,
            order,
            buf: Vec::new(),
        };
        for run in runs {
            m.readers.push(Reader::open(run, store)?);
        }
        for k in 0..m.readers.len() {
            m.refill(k)?;
        }
        Ok(m)
    }

    fn refill(&mut self, k: usize) -> io::Result<()> {
        if self.readers[k].next(&mut self.buf)? {
            let rec = codec::decode(&self.buf, &self.files).ok_or_else(damaged)?;
            self.heap.push(Head {
                item: rec,
                run: k,
                order: self.order,
            });
        }
        Ok(())
    }
}

impl Iterator for Merge {
    type Item = io::Result<UsageRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        let head = self.heap.pop()?;
        if let Err(e) = self.refill(head.run) {
            return Some(Err(e));
        }
        Some(Ok(head.item))
    }
}

/// Each file's rank among the file names, by its index in the file table: comparing ranks
/// compares names, which is what the orders are defined on.
pub fn ranks(files: &[Text]) -> Arc<[u32]> {
    let mut by_name: Vec<usize> = (0..files.len()).collect();
    by_name.sort_unstable_by(|&a, &b| files[a].cmp(&files[b]));
    let mut ranks = vec![0u32; files.len()];
    for (rank, k) in by_name.into_iter().enumerate() {
        ranks[k] = rank as u32;
    }
    ranks.into()
}

/// A frame with its key, ordered as [`Order::cmp`] orders the records they encode.
#[derive(Clone, Copy)]
pub struct Keyed<'f> {
    pub key: &'f codec::Key,
    pub frame: &'f [u8],
    pub rank: u32,
}

type Fields<'f> = (Option<&'f [u8]>, (i64, u32), (u32, u64, u64), u64);

impl<'f> Keyed<'f> {
    fn fields(&self) -> Fields<'f> {
        (
            self.key.id(self.frame),
            (self.key.secs, self.key.nanos),
            (self.rank, self.key.line, self.key.byte),
            self.key.payload,
        )
    }

    pub fn cmp(&self, o: &Keyed<'_>, order: Order) -> Ordering {
        let (a, b) = (self.fields(), o.fields());
        match order {
            Order::Id => a.cmp(&b),
            Order::Time => (a.1, a.0, a.2, a.3).cmp(&(b.1, b.0, b.2, b.3)),
        }
    }
}

/// The key and rank of a frame read from a run.
pub fn keyed(frame: &[u8], ranks: &[u32]) -> io::Result<(codec::Key, u32)> {
    let key = codec::key(frame).ok_or_else(damaged)?;
    let rank = *ranks.get(key.file as usize).ok_or_else(damaged)?;
    Ok((key, rank))
}

/// A frame read from a run, with its key.
struct Framed {
    key: codec::Key,
    rank: u32,
    frame: Vec<u8>,
}

impl Framed {
    fn keyed(&self) -> Keyed<'_> {
        Keyed {
            key: &self.key,
            frame: &self.frame,
            rank: self.rank,
        }
    }
}

impl Item for Framed {
    fn cmp_in(&self, o: &Self, order: Order) -> Ordering {
        self.keyed().cmp(&o.keyed(), order)
    }
}

/// Runs merged in `order` as frames, moved as they are, without decoding the records: what
/// deduplication and the merging of many runs need.
pub struct Frames {
    readers: Vec<Reader>,
    heap: BinaryHeap<Head<Framed>>,
    ranks: Arc<[u32]>,
    order: Order,
}

impl Frames {
    pub fn new(
        runs: Vec<Run>,
        order: Order,
        ranks: Arc<[u32]>,
        store: &Store,
    ) -> io::Result<Frames> {
        let runs = fan_in(runs, order, &ranks, store)?;
        Frames::open(runs, order, ranks, store)
    }

    fn open(runs: Vec<Run>, order: Order, ranks: Arc<[u32]>, store: &Store) -> io::Result<Frames> {
        let mut m = Frames {
            readers: Vec::with_capacity(runs.len()),
            heap: BinaryHeap::with_capacity(runs.len()),
            ranks,
            order,
        };
        for run in runs {
            m.readers.push(Reader::open(run, store)?);
        }
        for k in 0..m.readers.len() {
            m.refill(k, Vec::new())?;
        }
        Ok(m)
    }

    fn refill(&mut self, run: usize, mut frame: Vec<u8>) -> io::Result<()> {
        if self.readers[run].next(&mut frame)? {
            let (key, rank) = keyed(&frame, &self.ranks)?;
            self.heap.push(Head {
                item: Framed { key, rank, frame },
                run,
                order: self.order,
            });
        }
        Ok(())
    }

    /// What `f` makes of the next frame; None at the end.
    pub fn next_with<R>(&mut self, f: impl FnOnce(Keyed<'_>) -> R) -> io::Result<Option<R>> {
        let Some(head) = self.heap.pop() else {
            return Ok(None);
        };
        let made = f(head.item.keyed());
        // The frame's buffer is read into again.
        self.refill(head.run, head.item.frame)?;
        Ok(Some(made))
    }
}

/// Merges runs into larger ones in files until at most `FAN_IN` are left.
fn fan_in(
    mut runs: Vec<Run>,
    order: Order,
    ranks: &Arc<[u32]>,
    store: &Store,
) -> io::Result<Vec<Run>> {
    while runs.len() > FAN_IN {
        let rest = runs.split_off(FAN_IN);
        let mut m = Frames::open(runs, order, ranks.clone(), store)?;
        let (path, mut w) = store.create()?;
        while let Some(written) = m.next_with(|k| {
            w.write_all(&length(k.frame))
                .and_then(|()| w.write_all(k.frame))
        })? {
            written.map_err(|e| named(&path, e))?;
        }
        w.flush().map_err(|e| named(&path, e))?;
        runs = rest;
        runs.push(Run::File(path));
    }
    Ok(runs)
}

/// File names to their index in the run's file table, by the name's address: records share
/// one `Text` per file.
pub struct FileIndex {
    by_ptr: rustc_hash::FxHashMap<usize, u32>,
    by_name: rustc_hash::FxHashMap<Text, u32>,
}

impl FileIndex {
    pub fn new(files: &[Text]) -> FileIndex {
        FileIndex {
            by_ptr: files
                .iter()
                .enumerate()
                .map(|(k, f)| (f.as_ptr() as usize, k as u32))
                .collect(),
            by_name: files
                .iter()
                .enumerate()
                .map(|(k, f)| (f.clone(), k as u32))
                .collect(),
        }
    }

    pub fn of(&self, r: &UsageRecord) -> u32 {
        let f = &r.source.file;
        match self.by_ptr.get(&(f.as_ptr() as usize)) {
            Some(k) => *k,
            None => self.by_name.get(f).copied().unwrap_or(u32::MAX),
        }
    }
}
