//! The single pass. A log written as requests finish is already in canonical order (by time,
//! ties by id and line), so each part the parser hands over can be priced and folded at once:
//! nothing is sorted, spilled or decoded again. The pass checks that order as it goes, and at
//! the end that no id came twice; where either fails it gives up, and the caller sorts and
//! deduplicates as for any other input. The reports are the same either way.

use super::period::InPeriod;
use super::{Analyzing, Chunk, Found, writing};
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
use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc::SyncSender;

/// Id hashes held in memory before a sorted run of them goes to a temporary file: 8 MB.
const IDS_IN_MEMORY: usize = 1 << 20;

/// Records held at most, waiting for earlier ones that may come.
const HELD_AT_MOST: usize = 1 << 15;

/// What the single pass found: the analysis and what ingest reported, or why it gave up.
pub(super) enum Outcome {
    Done(Box<Analysis>, Ingested),
    GaveUp(&'static str),
}

/// Reads `input`, pricing and folding its records as they are parsed, when they come in
/// canonical order with no id twice.
pub(super) fn single_pass(
    cfg: &Config,
    progress: &Progress,
    records_out: Option<&Path>,
    input: &Input,
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
            ids: IdRuns::default(),
            period: InPeriod::default(),
            analyzing: Analyzing::new(cfg),
            tx,
            gave_up: None,
        });
        let lock = || pass.lock().unwrap_or_else(|e| e.into_inner());
        let read = ingest::ingest(
            std::slice::from_ref(input),
            opts,
            &|n| progress.tick(n),
            &|records| lock().take(records, cfg),
        );
        let mut pass = pass.into_inner().unwrap_or_else(|e| e.into_inner());
        if let Some(why) = pass.gave_up {
            return Ok(Err(why));
        }
        let mut ing = read?;
        let rest = pass.ties.rest();
        pass.release(rest, cfg)?;
        if let Some(why) = pass.gave_up {
            return Ok(Err(why));
        }
        if pass.ids.any_repeated().map_err(temp_err)? {
            return Ok(Err("an id may come twice"));
        }
        t.mark("ingest, reprice, fold");
        pass.analyzing.billed(&ing);
        let Pass {
            analyzing, period, ..
        } = pass;
        let found = Found {
            duplicates: 0,
            conflicts: 0,
            quarantined: ing.quarantine.len() as u64,
        };
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

fn temp_err(e: std::io::Error) -> RunError {
    RunError::Output {
        path: std::env::temp_dir(),
        message: format!("checking ids: {e}"),
    }
}

/// The state of the pass, behind the lock the parser's hand-over takes.
struct Pass<'c, 's> {
    ties: Ties,
    ids: IdRuns,
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
            Some(settled) => self.release(settled, cfg),
            None => self.give_up("a record comes far after later ones"),
        }
    }

    /// Prices and folds records whose place in canonical order is settled.
    fn release(&mut self, records: Vec<UsageRecord>, cfg: &Config) -> Result<(), RunError> {
        if records.is_empty() {
            return Ok(());
        }
        for r in &records {
            if let Some(id) = &r.id
                && self
                    .ids
                    .push(crate::state::checkpoint::id_hash(id))
                    .map_err(temp_err)?
            {
                return self.give_up("an id may come twice");
            }
        }
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
    /// Given the next records in input order: the records now settled, in canonical order.
    /// None when one of them belongs before a record already given.
    fn settle(&mut self, mut records: Vec<UsageRecord>) -> Option<Vec<UsageRecord>> {
        if let Some(g) = &self.given
            && records
                .iter()
                .any(|r| r.time <= g.time && Order::Time.cmp(r, g).is_le())
        {
            return None;
        }
        let Some(latest) = records.iter().map(|r| r.time).max().max(self.latest) else {
            return Some(records);
        };
        self.latest = Some(latest);
        // The held records are few beside a part: they are moved, not the part.
        records.append(&mut self.held);
        canonical(&mut records);
        let due = records.partition_point(|r| r.time + LATE_BY <= latest);
        let cut = due.max(records.len().saturating_sub(HELD_AT_MOST));
        self.held = records.split_off(cut);
        if let Some(last) = records.last() {
            self.given = Some(last.clone());
        }
        Some(records)
    }

    /// The records still held, in canonical order.
    fn rest(&mut self) -> Vec<UsageRecord> {
        std::mem::take(&mut self.held)
    }
}

/// Sorts records into canonical order; a part comes nearly sorted, which the sort makes use of.
fn canonical(records: &mut [UsageRecord]) {
    records.sort_by(|a, b| Order::Time.cmp(a, b));
}

/// The id hashes of the records so far, in sorted runs: in memory up to a budget, then in
/// temporary files, which the system removes when they are closed.
struct IdRuns {
    current: Vec<u64>,
    files: Vec<std::fs::File>,
    budget: usize,
}

impl Default for IdRuns {
    fn default() -> IdRuns {
        IdRuns {
            current: Vec::new(),
            files: Vec::new(),
            budget: IDS_IN_MEMORY,
        }
    }
}

impl IdRuns {
    /// Adds an id hash; true when the run in memory already holds it.
    fn push(&mut self, h: u64) -> std::io::Result<bool> {
        self.current.push(h);
        if self.current.len() < self.budget {
            return Ok(false);
        }
        self.seal()
    }

    /// Sorts the run in memory and writes it to a file; true when it holds a hash twice.
    fn seal(&mut self) -> std::io::Result<bool> {
        self.current.sort_unstable();
        if self.current.windows(2).any(|w| w[0] == w[1]) {
            return Ok(true);
        }
        let mut file = tempfile::tempfile()?;
        {
            let mut w = BufWriter::new(&mut file);
            for h in &self.current {
                w.write_all(&h.to_le_bytes())?;
            }
            w.flush()?;
        }
        file.rewind()?;
        self.files.push(file);
        self.current.clear();
        Ok(false)
    }

    /// True when any hash came twice over every run.
    fn any_repeated(mut self) -> std::io::Result<bool> {
        if self.files.is_empty() {
            self.current.sort_unstable();
            return Ok(self.current.windows(2).any(|w| w[0] == w[1]));
        }
        if !self.current.is_empty() && self.seal()? {
            return Ok(true);
        }
        let mut readers: Vec<_> = self
            .files
            .into_iter()
            .map(|f| BufReader::with_capacity(1 << 16, f))
            .collect();
        let next = |r: &mut BufReader<std::fs::File>| -> std::io::Result<Option<u64>> {
            let mut b = [0u8; 8];
            match r.read_exact(&mut b) {
                Ok(()) => Ok(Some(u64::from_le_bytes(b))),
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
                Err(e) => Err(e),
            }
        };
        let mut heap = std::collections::BinaryHeap::new();
        for (i, r) in readers.iter_mut().enumerate() {
            if let Some(h) = next(r)? {
                heap.push(std::cmp::Reverse((h, i)));
            }
        }
        let mut previous = None;
        while let Some(std::cmp::Reverse((h, i))) = heap.pop() {
            if previous == Some(h) {
                return Ok(true);
            }
            previous = Some(h);
            if let Some(n) = next(&mut readers[i])? {
                heap.push(std::cmp::Reverse((n, i)));
            }
        }
        Ok(false)
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
                    got.extend(ties.settle(part.to_vec()).expect("in order"));
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
        let given = ties
            .settle(vec![at(0, Some("a"), 1), at(3700, Some("b"), 2)])
            .expect("in order");
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

    #[test]
    fn held_records_are_bounded() {
        let mut ties = Ties::default();
        let part: Vec<_> = (0..HELD_AT_MOST as u64 + 10)
            .map(|i| at(5, None, i + 1))
            .collect();
        let given = ties.settle(part).expect("in order");
        assert_eq!(given.len(), 10);
        assert_eq!(ties.held.len(), HELD_AT_MOST);
    }

    #[test]
    fn a_repeated_id_hash_is_found_in_memory_and_across_runs() {
        let runs = |hashes: &[u64], budget: usize| {
            let mut ids = IdRuns {
                budget,
                ..IdRuns::default()
            };
            for &h in hashes {
                if ids.push(h).expect("push") {
                    return true;
                }
            }
            ids.any_repeated().expect("merge")
        };
        assert!(!runs(&[5, 3, 9, 1, 7, 2], 2));
        assert!(runs(&[5, 3, 9, 1, 7, 3], 2));
        assert!(runs(&[5, 3, 9, 1, 7, 3], 100));
        assert!(runs(&[4, 4], 2));
        assert!(!runs(&[], 2));
    }
}
