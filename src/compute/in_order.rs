//! The single pass. A log written as requests finish is already in canonical order (by time,
//! ties by id and line), so each part the parser hands over can be priced and folded at once:
//! nothing is sorted, spilled or decoded again. A log cut into pieces (by day, by size) is
//! read piece after piece, in path order, as one. The pass checks that order as it goes, and at
//! the end that no id came twice; where either fails it gives up, and the caller sorts and
//! deduplicates as for any other input. The reports are the same either way.

use super::period::InPeriod;
use super::seen::{Judged, Kept, Seen};
use super::{Analyzing, Chunk, Found, fill_raw_lines, writing};
use crate::analyze::Analysis;
use crate::config::Config;
use crate::error::RunError;
use crate::ingest::{self, Ingested, source::Input};
use crate::progress::{Progress, Timings};
use crate::record::UsageRecord;
use crate::report;
use crate::spill::Order;
use crate::state;
use chrono::{DateTime, Utc};
use rayon::prelude::*;
use std::io::{Read, Seek};
use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc::SyncSender;

/// Records held at most, waiting for earlier ones that may come.
const HELD_AT_MOST: usize = 1 << 15;

/// What the single pass found: the analysis and what ingest reported, or why it gave up.
pub(super) enum Outcome {
    Done(Box<Analysis>, Ingested),
    GaveUp(&'static str),
}

/// Reads `inputs` one after the other, pricing and folding their records as they are parsed,
/// when they come in canonical order with no id twice.
pub(super) fn single_pass(
    cfg: &Config,
    progress: &Progress,
    records_out: Option<&Path>,
    inputs: &[Input],
    opts: &ingest::Options<'_>,
    warnings: Vec<String>,
) -> Result<Outcome, RunError> {
    let t = Timings::start();
    let parquet_err = |e: std::io::Error| state::reports_failed(&cfg.out, e);
    let parquet = report::RecordsOut::create(records_out, &cfg.catalog, &cfg.scenarios)
        .map_err(parquet_err)?;
    let (outcome, written) = writing(parquet, |tx| {
        let pass = Mutex::new(Pass {
            ties: Ties::default(),
            seen: Seen::default(),
            judged: None,
            period: InPeriod::default(),
            analyzing: Analyzing::new(cfg),
            tx,
            gave_up: None,
        });
        let lock = || pass.lock().unwrap_or_else(|e| e.into_inner());
        // One input after the other, in path order: the pass needs their records in order.
        let read: Result<Ingested, RunError> =
            inputs.iter().try_fold(Ingested::default(), |all, input| {
                let one = ingest::ingest(
                    std::slice::from_ref(input),
                    opts,
                    &|n| progress.tick(n),
                    &|records| lock().take(records, cfg),
                )?;
                Ok(joined(all, one))
            });
        let mut pass = pass.into_inner().unwrap_or_else(|e| e.into_inner());
        if let Some(why) = pass.gave_up {
            return Ok(Err(why));
        }
        let mut ing = read?;
        state::failpoint("ingested");
        let rest = pass.ties.rest();
        pass.release(rest, cfg)?;
        pass.flush(cfg)?;
        if let Some(why) = pass.gave_up {
            return Ok(Err(why));
        }
        t.mark("ingest, reprice, fold");
        pass.analyzing.billed(&ing);
        let Pass {
            analyzing,
            period,
            mut seen,
            ..
        } = pass;
        let (duplicates, mut conflicts) = (seen.duplicates, seen.conflicts());
        if seen.kept_twice().map_err(temp_err)? {
            return Ok(Err("an id may come twice"));
        }
        fill_raw_lines(inputs, &mut conflicts);
        let found = Found {
            duplicates,
            conflicts: conflicts.len() as u64,
            quarantined: (ing.quarantine.len() + conflicts.len()) as u64,
        };
        ing.quarantine.extend(conflicts);
        let mut warnings = warnings;
        warnings.extend(std::mem::take(&mut ing.warnings));
        let analysis = analyzing.conclude(cfg, &period, &ing, found, warnings);
        Ok(Ok((analysis, ing)))
    })?;
    written.map_err(parquet_err)?;
    Ok(match outcome {
        Ok((analysis, ing)) => Outcome::Done(Box::new(analysis), ing),
        Err(why) => Outcome::GaveUp(why),
    })
}

/// What ingest reported of the inputs so far, and of the next one.
fn joined(mut all: Ingested, one: Ingested) -> Ingested {
    all.files.extend(one.files);
    all.quarantine.extend(one.quarantine);
    all.lines += one.lines;
    all.skipped += one.skipped;
    all.duplicates += one.duplicates;
    all.warnings.extend(one.warnings);
    all
}

/// Inputs more than this are left to the sorted path, which reads them in parallel.
const PIECES_AT_MOST: usize = 256;

/// How much of each end of an input is read to tell when it starts and ends.
const PEEK: u64 = 256 << 10;

/// Whether `inputs`, in path order, look like one log in time order: one input, or pieces
/// each of which starts no earlier than an hour before the ones before it ended (by the
/// records in the first and last 256 KB of each). A guess that only decides whether the
/// single pass is tried: the pass checks every record.
pub(super) fn in_sequence(inputs: &[Input], opts: &ingest::Options<'_>) -> bool {
    if inputs.len() == 1 {
        return true;
    }
    if inputs.len() > PIECES_AT_MOST {
        return false;
    }
    // Each input's ends are read and parsed at once, on every core: one after the other,
    // this came before any of the reading and kept one core waiting.
    let spans: Vec<_> = inputs.par_iter().map(|input| ends(input, opts)).collect();
    let mut ended: Option<DateTime<Utc>> = None;
    for span in spans {
        let Some((first, last)) = span else {
            return false;
        };
        if ended.is_some_and(|e| first + LATE_BY < e) {
            return false;
        }
        ended = ended.max(Some(last));
    }
    true
}

/// The earliest record time in the first 256 KB of an uncompressed JSON-lines input, and the
/// latest in its last 256 KB.
fn ends(input: &Input, opts: &ingest::Options<'_>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let Input::File { display, path } = input else {
        return None;
    };
    if path.extension().is_some_and(|x| x == "gz" || x == "csv") {
        return None;
    }
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let mut read_at = |at: u64| -> Option<Vec<u8>> {
        let mut buf = vec![0; len.saturating_sub(at).min(PEEK) as usize];
        f.seek(std::io::SeekFrom::Start(at)).ok()?;
        f.read_exact(&mut buf).ok()?;
        Some(buf)
    };
    let span = |bytes: &[u8]| {
        let (_, records, _) = ingest::parse_bytes(display, bytes, opts);
        let first = records.iter().map(|r| r.time).min()?;
        let last = records.iter().map(|r| r.time).max()?;
        Some((first, last))
    };
    let head = read_at(0)?;
    let whole = memchr::memrchr(b'\n', &head).map_or(0, |p| p + 1);
    let (first, _) = span(&head[..whole])?;
    let tail_at = len.saturating_sub(PEEK);
    let tail = read_at(tail_at)?;
    // The tail's first line is whole only when the tail is the whole file.
    let from = if tail_at == 0 {
        0
    } else {
        memchr::memchr(b'\n', &tail).map_or(tail.len(), |p| p + 1)
    };
    let (_, last) = span(&tail[from..])?;
    Some((first, last))
}

fn temp_err(e: std::io::Error) -> RunError {
    RunError::Output {
        path: std::env::temp_dir(),
        message: format!("checking ids: {e}"),
    }
}

/// The state of the pass, behind the lock the parser's hand-over takes.
struct Pass<'c, 's> {
    ties: Ties,
    seen: Seen,
    /// The last part judged, with which of its records are kept, not yet folded.
    judged: Option<(Vec<UsageRecord>, Vec<bool>)>,
    period: InPeriod<'c>,
    analyzing: Analyzing<'c>,
    tx: &'s SyncSender<Chunk>,
    /// Why the pass cannot go on; the parser is stopped with an error the caller ignores.
    gave_up: Option<&'static str>,
}

impl Pass<'_, '_> {
    /// Takes the next records in the order of the input.
    fn take(&mut self, records: Vec<UsageRecord>, cfg: &Config) -> Result<(), RunError> {
        match self.ties.settle(records) {
            Some(settled) => settled
                .into_iter()
                .try_for_each(|part| self.release(part, cfg)),
            None => self.give_up("a record comes far after later ones"),
        }
    }

    /// Judges records whose place in canonical order is settled. They are priced and folded
    /// one part later: a message logged as it streamed may end in the next part, with more
    /// output than the line kept, which then replaces it.
    fn release(&mut self, records: Vec<UsageRecord>, cfg: &Config) -> Result<(), RunError> {
        if records.is_empty() {
            return Ok(());
        }
        self.seen.next_part();
        let mut keep = vec![false; records.len()];
        for (i, r) in records.iter().enumerate() {
            match self.seen.judge(r, i).map_err(temp_err)? {
                Judged::Keep => keep[i] = true,
                Judged::Drop => {}
                Judged::Replaces(Kept::ThisPart(at)) => {
                    keep[at] = false;
                    keep[i] = true;
                }
                Judged::Replaces(Kept::PartBefore(at)) => {
                    let Some(before) = self.judged.as_mut().and_then(|(_, k)| k.get_mut(at)) else {
                        return self.give_up("an id may come twice");
                    };
                    *before = false;
                    keep[i] = true;
                }
                Judged::Unsure => return self.give_up("an id may come twice"),
            }
        }
        match self.judged.replace((records, keep)) {
            Some((records, keep)) => self.fold(records, keep, cfg),
            None => Ok(()),
        }
    }

    /// Prices and folds the last part judged.
    fn flush(&mut self, cfg: &Config) -> Result<(), RunError> {
        match self.judged.take() {
            Some((records, keep)) => self.fold(records, keep, cfg),
            None => Ok(()),
        }
    }

    /// Prices and folds the records of a part that are kept.
    fn fold(
        &mut self,
        mut records: Vec<UsageRecord>,
        keep: Vec<bool>,
        cfg: &Config,
    ) -> Result<(), RunError> {
        let mut kept = keep.into_iter();
        records.retain(|_| kept.next().unwrap_or(false));
        let records = self.period.admit_all(records, cfg);
        if records.is_empty() {
            return Ok(());
        }
        let chunk = self.analyzing.take(records);
        if self.tx.send(chunk).is_err() {
            // The writer stopped on an error, which joining it gives.
            return Err(RunError::Usage(
                "records.parquet could not be written".into(),
            ));
        }
        Ok(())
    }

    fn give_up(&mut self, why: &'static str) -> Result<(), RunError> {
        self.gave_up = Some(why);
        Err(RunError::Usage(why.into()))
    }
}

/// Logs are written as requests finish, so a record can come a little after later ones (a
/// retry logged beside its first attempt, a long request beside short ones). Records are
/// held until they are an hour older than the latest one, or until more than a bounded
/// number are held, then given in canonical order; a record earlier than one already given
/// ends the pass.
#[derive(Default)]
struct Ties {
    held: Vec<UsageRecord>,
    /// The latest time so far.
    latest: Option<DateTime<Utc>>,
    /// The last record given, whose canonical place every later one must follow.
    given: Option<UsageRecord>,
}

/// How much later than a record a log may write it.
const LATE_BY: chrono::TimeDelta = chrono::TimeDelta::hours(1);

impl Ties {
    /// Given the next records in input order: the records now settled, in canonical order, as
    /// two parts, the first before the second. None when one of them belongs before a record
    /// already given.
    fn settle(&mut self, mut records: Vec<UsageRecord>) -> Option<[Vec<UsageRecord>; 2]> {
        if let Some(g) = &self.given
            && records
                .iter()
                .any(|r| r.time <= g.time && Order::Time.cmp(r, g).is_le())
        {
            return None;
        }
        let Some(latest) = records.iter().map(|r| r.time).max().max(self.latest) else {
            return Some([records, Vec::new()]);
        };
        self.latest = Some(latest);
        canonical(&mut records);
        let held = std::mem::take(&mut self.held);
        // In a log written in time order the held records all come before the part: the two
        // are given one after the other, and the part is not moved. Otherwise they are merged.
        let follows = match (held.last(), records.first()) {
            (Some(h), Some(r)) => Order::Time.cmp(h, r).is_le(),
            _ => true,
        };
        let (mut before, mut records) = if follows {
            (held, records)
        } else {
            let mut all = held;
            all.append(&mut records);
            canonical(&mut all);
            (Vec::new(), all)
        };
        let due = |rs: &[UsageRecord]| rs.partition_point(|r| r.time + LATE_BY <= latest);
        let total = before.len() + records.len();
        let cut = if due(&before) < before.len() {
            due(&before)
        } else {
            before.len() + due(&records)
        };
        let cut = cut.max(total.saturating_sub(HELD_AT_MOST));
        if cut < before.len() {
            // Few records settle: the rest of the held ones and the part are held together.
            let mut rest = before.split_off(cut);
            rest.append(&mut records);
            self.held = rest;
        } else {
            self.held = records.split_off(cut - before.len());
        }
        if let Some(last) = records.last().or(before.last()) {
            self.given = Some(last.clone());
        }
        Some([before, records])
    }

    /// The records still held, in canonical order.
    fn rest(&mut self) -> Vec<UsageRecord> {
        std::mem::take(&mut self.held)
    }
}

/// Sorts records into canonical order. A part comes nearly sorted: a record logged late lands a
/// few places after where it belongs, so it is moved back into place and no other record is
/// moved. A part further from that order is sorted, once the places moved pass a bound.
fn canonical(records: &mut [UsageRecord]) {
    let cmp = |a: &UsageRecord, b: &UsageRecord| Order::Time.cmp(a, b);
    let mut moved = 0;
    let bound = 8 * records.len() + 64;
    for j in 1..records.len() {
        if cmp(&records[j - 1], &records[j]).is_le() {
            continue;
        }
        // records[..j] is in order: the late record goes before the first one after it.
        let at = records[..j].partition_point(|r| cmp(r, &records[j]).is_le());
        moved += j - at;
        if moved > bound {
            records.sort_by(cmp);
            return;
        }
        records[at..=j].rotate_right(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(second: i64, id: Option<&str>, line: u64) -> UsageRecord {
        let mut r = crate::record::sample();
        r.time = Utc
            .timestamp_opt(1_772_400_000 + second, 0)
            .single()
            .expect("time");
        r.id = id.map(str::to_string);
        r.source.line = line;
        r
    }

    fn keys(rs: &[UsageRecord]) -> Vec<(i64, Option<String>, u64)> {
        rs.iter()
            .map(|r| {
                (
                    r.time.timestamp() - 1_772_400_000,
                    r.id.clone(),
                    r.source.line,
                )
            })
            .collect()
    }

    /// Lines as a log writes them: ties in any id order, a retry a few seconds late, a long
    /// request logged 50 minutes after it started, records without an id.
    fn log() -> Vec<UsageRecord> {
        let spec: [(i64, Option<&str>); 12] = [
            (0, Some("c")),
            (0, Some("a")),
            (0, None),
            (10, Some("d")),
            (15, Some("e")),
            (10, Some("d-retry")),
            (20, Some("f")),
            (3000, Some("g")),
            (20, Some("long")),
            (3000, None),
            (3000, Some("b")),
            (7000, Some("h")),
        ];
        spec.iter()
            .enumerate()
            .map(|(i, &(t, id))| at(t, id, i as u64 + 1))
            .collect()
    }

    #[test]
    fn any_cut_into_parts_gives_the_canonical_order() {
        let all = log();
        let mut sorted = all.clone();
        canonical(&mut sorted);
        let want = keys(&sorted);
        for cut in 0..=all.len() {
            for cut2 in cut..=all.len() {
                let mut ties = Ties::default();
                let mut got = Vec::new();
                for part in [&all[..cut], &all[cut..cut2], &all[cut2..]] {
                    got.extend(
                        ties.settle(part.to_vec())
                            .expect("in order")
                            .into_iter()
                            .flatten(),
                    );
                }
                got.extend(ties.rest());
                assert_eq!(keys(&got), want, "cut at {cut} and {cut2}");
            }
        }
        assert_eq!(
            want[..4],
            [
                (0, None, 3),
                (0, Some("a".into()), 2),
                (0, Some("c".into()), 1),
                (10, Some("d".into()), 4)
            ]
        );
    }

    #[test]
    fn a_record_earlier_than_one_given_ends_the_pass() {
        let mut ties = Ties::default();
        let given: Vec<_> = ties
            .settle(vec![at(0, Some("a"), 1), at(3700, Some("b"), 2)])
            .expect("in order")
            .into_iter()
            .flatten()
            .collect();
        // Record 1 is more than an hour older than record 2: it is given at once.
        assert_eq!(keys(&given), [(0, Some("a".into()), 1)]);
        // Within the hour of the latest record: still held, so it may come late.
        assert!(ties.settle(vec![at(200, Some("c"), 3)]).is_some());
        // Before a record already given, even at the same second.
        assert!(ties.settle(vec![at(0, Some("0"), 4)]).is_none());
        let mut ties = Ties::default();
        ties.settle(vec![at(0, Some("b"), 1), at(3600, Some("x"), 2)])
            .expect("in order");
        assert!(ties.settle(vec![at(0, Some("c"), 3)]).is_some());
    }

    proptest::proptest! {
        /// Nearly in order (records a few places late) or in any order: the canonical order.
        #[test]
        fn canonical_is_the_sorted_order(
            seconds in proptest::collection::vec(0i64..40, 0..200),
            late in proptest::collection::vec((0usize..200, 1usize..6), 0..20),
        ) {
            let mut records: Vec<UsageRecord> = seconds
                .iter()
                .enumerate()
                .map(|(i, &t)| at(t, Some(&format!("{}", i % 7)), i as u64 + 1))
                .collect();
            let mut nearly = records.clone();
            nearly.sort_by(|a, b| Order::Time.cmp(a, b));
            for &(from, back) in &late {
                if from < nearly.len() {
                    let to = from.saturating_sub(back);
                    nearly[to..=from].rotate_left(1);
                }
            }
            let mut want = records.clone();
            want.sort_by(|a, b| Order::Time.cmp(a, b));
            canonical(&mut nearly);
            canonical(&mut records);
            proptest::prop_assert_eq!(keys(&nearly), keys(&want));
            proptest::prop_assert_eq!(keys(&records), keys(&want));
        }
    }

    #[test]
    fn held_records_are_bounded() {
        let mut ties = Ties::default();
        let part: Vec<_> = (0..HELD_AT_MOST as u64 + 10)
            .map(|i| at(5, None, i + 1))
            .collect();
        let given: Vec<_> = ties
            .settle(part)
            .expect("in order")
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(given.len(), 10);
        assert_eq!(ties.held.len(), HELD_AT_MOST);
    }
}
