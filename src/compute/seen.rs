//! Deduplication in the single pass. Records come in canonical order, as the sort gives them
//! to deduplication, and a later record of an id is judged against the one kept by the sort's
//! own `spill::First`; one that replaces a record of a part already folded ends the pass.
//! The ids of the last hour are kept whole, with what judging a repeat needs;
//! older ids only as 64-bit hashes in sorted runs, and a repeat among those ends the pass (the
//! caller then sorts).

use crate::outcome::Quarantined;
use crate::record::UsageRecord;
use crate::spill::{First, Later};
use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::sync::Arc;

/// Id hashes held in memory before a sorted run of them goes to a temporary file: 8 MB.
const IDS_IN_MEMORY: usize = 1 << 20;

/// Ids kept whole at most, however many an hour holds.
const RECENT_AT_MOST: usize = 1 << 17;

/// How long an id is kept whole after its first record.
const RECENT_FOR: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// What the pass has seen of ids, and what it found.
#[derive(Default)]
pub(super) struct Seen {
    /// One text per id, shared by the table and the order it is forgotten in.
    recent: FxHashMap<Arc<str>, Recent>,
    /// The recent ids by the time of their first record, oldest first.
    order: VecDeque<(DateTime<Utc>, Arc<str>)>,
    older: IdRuns,
    /// The part being judged: a record kept in it or in the part before can still be
    /// replaced, not one folded.
    part: u64,
    pub duplicates: u64,
    conflicts: Vec<Quarantined>,
}

/// A recent id: the record kept for it, and where that record is.
struct Recent {
    first: First,
    part: u64,
    index: usize,
}

/// The verdict on a record.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Judged {
    Keep,
    Drop,
    /// Kept in place of the record kept before, which is dropped.
    Replaces(Kept),
    /// An id kept before may come again after it was forgotten, or replace a record of a
    /// part already folded: the pass cannot judge it.
    Unsure,
}

/// Where the record a later one replaces is: at an index of this part or the one before.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Kept {
    ThisPart(usize),
    PartBefore(usize),
}

impl Seen {
    /// The records judged from here on are the next part.
    pub fn next_part(&mut self) {
        self.part += 1;
    }

    /// Judges the next record in canonical order, at `index` in its part.
    pub fn judge(&mut self, r: &UsageRecord, index: usize) -> std::io::Result<Judged> {
        let Some(id) = r.id.as_deref() else {
            return Ok(Judged::Keep);
        };
        if let Some(kept) = self.recent.get_mut(id) {
            // The kept record's output tokens were at hand when it was kept.
            let later = kept.first.later(
                r.payload_hash,
                || r.tokens.output,
                || 0,
                || r.source.clone(),
            );
            return Ok(match later {
                Later::Conflict => Judged::Drop,
                Later::Duplicate => {
                    self.duplicates += 1;
                    Judged::Drop
                }
                Later::Replaces if kept.part + 1 >= self.part => {
                    self.duplicates += 1;
                    let at = std::mem::replace(&mut kept.index, index);
                    let before = std::mem::replace(&mut kept.part, self.part) < self.part;
                    Judged::Replaces(if before {
                        Kept::PartBefore(at)
                    } else {
                        Kept::ThisPart(at)
                    })
                }
                Later::Replaces => Judged::Unsure,
            });
        }
        while let Some((t, _)) = self.order.front()
            && (*t + RECENT_FOR < r.time || self.order.len() >= RECENT_AT_MOST)
        {
            if let Some((_, old)) = self.order.pop_front() {
                if let Some(gone) = self.recent.remove(&*old) {
                    self.conflicts.extend(gone.first.conflicts(&old));
                }
                if self.older.push(crate::state::checkpoint::id_hash(&old))? {
                    return Ok(Judged::Unsure);
                }
            }
        }
        let id: Arc<str> = Arc::from(id);
        let first = First::new(r.payload_hash, Some(r.tokens.output), r.source.clone());
        let part = self.part;
        self.recent
            .insert(Arc::clone(&id), Recent { first, part, index });
        self.order.push_back((r.time, id));
        Ok(Judged::Keep)
    }

    /// The conflicts found, once every record has been judged.
    pub fn conflicts(&mut self) -> Vec<Quarantined> {
        for (id, kept) in self.recent.drain() {
            self.conflicts.extend(kept.first.conflicts(&id));
        }
        std::mem::take(&mut self.conflicts)
    }

    /// True when an id was kept twice: once before it was forgotten, once after.
    pub fn kept_twice(mut self) -> std::io::Result<bool> {
        for (_, id) in std::mem::take(&mut self.order) {
            if self.older.push(crate::state::checkpoint::id_hash(&id))? {
                return Ok(true);
            }
        }
        self.older.any_repeated()
    }
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

    fn record(minute: i64, id: &str, payload: u64, line: u64) -> UsageRecord {
        use chrono::TimeZone;
        let mut r = crate::record::sample();
        r.time = Utc
            .timestamp_opt(1_772_400_000 + minute * 60, 0)
            .single()
            .expect("time");
        r.id = Some(id.to_string());
        r.payload_hash = payload;
        r.source.line = line;
        r
    }

    fn verdicts(seen: &mut Seen, records: &[UsageRecord]) -> Vec<String> {
        seen.next_part();
        records
            .iter()
            .enumerate()
            .map(|(i, r)| match seen.judge(r, i).expect("judge") {
                Judged::Keep => "keep".to_string(),
                Judged::Drop => "drop".to_string(),
                Judged::Replaces(Kept::ThisPart(at)) => format!("replaces {at}"),
                Judged::Replaces(Kept::PartBefore(at)) => format!("replaces {at} before"),
                Judged::Unsure => "unsure".to_string(),
            })
            .collect()
    }

    #[test]
    fn repeats_are_judged_as_the_sort_judges_them() {
        let mut seen = Seen::default();
        let got = verdicts(
            &mut seen,
            &[
                record(0, "a", 1, 1),
                record(1, "a", 1, 2),
                record(2, "a", 2, 3),
                record(3, "a", 2, 4),
                record(4, "b", 9, 5),
                record(5, "a", 3, 6),
            ],
        );
        assert_eq!(got, ["keep", "drop", "drop", "drop", "keep", "drop"]);
        assert_eq!(seen.duplicates, 2);
        let reasons: Vec<_> = seen
            .conflicts()
            .iter()
            .map(|q| (q.line, q.reason.clone()))
            .collect();
        assert_eq!(
            reasons,
            [
                (
                    3,
                    "conflict: id a has another time or usage than f:1, which was kept".to_string()
                ),
                (
                    6,
                    "conflict: id a has another time or usage than f:1, which was kept".to_string()
                ),
            ]
        );
        assert!(!seen.kept_twice().expect("runs"));
    }

    #[test]
    fn a_repeat_with_more_output_replaces_the_kept_record_in_its_part_or_the_one_before() {
        let output = |mut r: UsageRecord, n: u64| {
            r.tokens.output = n;
            r
        };
        let mut seen = Seen::default();
        let part = [
            output(record(0, "a", 1, 1), 3),
            output(record(0, "a", 1, 2), 3),
            output(record(1, "b", 1, 3), 5),
            output(record(1, "a", 1, 4), 159),
            output(record(2, "a", 1, 5), 20),
            output(record(2, "a", 2, 6), 900),
        ];
        let got = verdicts(&mut seen, &part);
        assert_eq!(got, ["keep", "drop", "keep", "replaces 0", "drop", "drop"]);
        assert_eq!(seen.duplicates, 3);
        let reasons: Vec<_> = seen
            .conflicts()
            .into_iter()
            .map(|q| (q.line, q.reason))
            .collect();
        assert_eq!(
            reasons,
            [(
                6,
                "conflict: id a has another time or usage than f:4, which was kept".to_string()
            )]
        );
        // In the next part the record kept for "a" can still be replaced; two parts on it has
        // been folded, and more output cannot be taken back into it.
        let mut seen = Seen::default();
        verdicts(&mut seen, &part);
        let got = verdicts(
            &mut seen,
            &[
                output(record(3, "a", 1, 7), 159),
                output(record(3, "a", 1, 8), 160),
                output(record(3, "a", 1, 9), 161),
            ],
        );
        assert_eq!(got, ["drop", "replaces 3 before", "replaces 1"]);
        let got = verdicts(&mut seen, &[output(record(4, "a", 1, 10), 162)]);
        assert_eq!(got, ["replaces 2 before"]);
        verdicts(&mut seen, &[output(record(4, "c", 1, 11), 1)]);
        let got = verdicts(&mut seen, &[output(record(5, "a", 1, 12), 163)]);
        assert_eq!(got, ["unsure"]);
    }

    #[test]
    fn an_id_seen_again_after_it_was_forgotten_is_kept_twice() {
        let mut seen = Seen::default();
        // "a" is forgotten when "b" comes more than an hour after it.
        let got = verdicts(
            &mut seen,
            &[
                record(0, "a", 1, 1),
                record(61, "b", 1, 2),
                record(62, "a", 1, 3),
            ],
        );
        assert_eq!(got, ["keep", "keep", "keep"]);
        assert!(seen.kept_twice().expect("runs"));
        let mut seen = Seen::default();
        verdicts(&mut seen, &[record(0, "a", 1, 1), record(61, "b", 1, 2)]);
        assert!(!seen.kept_twice().expect("runs"));
    }
}
