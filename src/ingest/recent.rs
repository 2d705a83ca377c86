//! Exact copies of a recent record, dropped as a file is read.

use crate::record::UsageRecord;

/// Recent records of a file by id, to drop copies as they are read: Claude Code writes one
/// message on several consecutive lines. A line with the id and payload of an earlier line of
/// the same file, a time no earlier and no more output tokens is a copy deduplication would
/// drop too: it sorts after that line (a later time, or the same time and id later in the
/// file), which it does not outgrow, and a copy of a conflicting payload is a duplicate. (Only
/// Claude Code's payloads leave time and output out; for every other source the same payload
/// is the same time and output.) A line with more output is passed on, and remembered in the
/// earlier one's place. Forgetting ids only
/// lets copies through to deduplication, so the table is emptied when full and stays small
/// whatever the file's size.
///
/// Every record passes through here on the one thread between two blocks' parsing, so the
/// ids are kept end to end in one text rather than one allocation each; an entry is found by
/// the id's hash and checked against its text. Two ids with the same hash share an entry: the
/// later one takes it, and the earlier one is forgotten.
#[derive(Default)]
pub(super) struct RecentCopies {
    by_hash: rustc_hash::FxHashMap<u64, Recent>,
    ids: String,
}

struct Recent {
    /// Where the id is in `ids`.
    at: std::ops::Range<usize>,
    /// The line remembered for it: the first, or the last that outgrew it.
    line: Line,
}

const RECENT_IDS: usize = 4096;
/// Room for the ids' text, so that a table whose entries keep being taken over by other ids
/// with the same hash is emptied too.
const RECENT_ID_BYTES: usize = 1 << 20;

impl RecentCopies {
    pub(super) fn is_copy(&mut self, r: &UsageRecord) -> bool {
        let Some(id) = r.id.as_deref() else {
            return false;
        };
        let line = Line {
            payload_hash: r.payload_hash,
            time: r.time,
            output: r.tokens.output,
        };
        self.remember(Self::hash(id), id, line)
    }

    fn hash(id: &str) -> u64 {
        use std::hash::{BuildHasher, BuildHasherDefault};
        BuildHasherDefault::<rustc_hash::FxHasher>::default().hash_one(id)
    }

    /// Whether `id` was seen with this payload at this time or an earlier one, with as much
    /// output or more; remembers it when it was not seen, or in place of a line it outgrows.
    fn remember(&mut self, hash: u64, id: &str, line: Line) -> bool {
        if let Some(recent) = self.by_hash.get_mut(&hash)
            && self.ids.get(recent.at.clone()) == Some(id)
        {
            let seen = &mut recent.line;
            if seen.payload_hash != line.payload_hash || seen.time > line.time {
                return false;
            }
            if line.output > seen.output {
                *seen = line;
                return false;
            }
            return true;
        }
        if self.by_hash.len() >= RECENT_IDS || self.ids.len() >= RECENT_ID_BYTES {
            self.by_hash.clear();
            self.ids.clear();
        }
        let start = self.ids.len();
        self.ids.push_str(id);
        let at = start..self.ids.len();
        self.by_hash.insert(hash, Recent { at, line });
        false
    }
}

/// What a line is judged by.
#[derive(Clone, Copy)]
struct Line {
    payload_hash: u64,
    time: chrono::DateTime<chrono::Utc>,
    output: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(payload_hash: u64, seconds: i64, output: u64) -> Line {
        use chrono::TimeZone;
        let t = chrono::Utc.with_ymd_and_hms(2026, 3, 6, 8, 0, 0).unwrap();
        Line {
            payload_hash,
            time: t + chrono::TimeDelta::milliseconds(seconds * 1000),
            output,
        }
    }

    #[test]
    fn recent_copies_check_the_id_behind_a_hash() {
        let mut recent = RecentCopies::default();
        assert!(!recent.remember(7, "r1", line(1, 0, 5)));
        assert!(recent.remember(7, "r1", line(1, 0, 5)));
        // Another payload, or an earlier time, under a remembered id is not a copy, and is not
        // remembered; the same payload later is one (it sorts after the remembered line).
        assert!(!recent.remember(7, "r1", line(2, 0, 5)));
        assert!(!recent.remember(7, "r1", line(1, -1, 5)));
        assert!(recent.remember(7, "r1", line(1, 1, 5)));
        assert!(recent.remember(7, "r1", line(1, 0, 5)));
        // Another id with the same hash is no copy of r1; it takes the entry over.
        assert!(!recent.remember(7, "r2", line(1, 0, 5)));
        assert!(recent.remember(7, "r2", line(1, 0, 5)));
        assert!(!recent.remember(7, "r1", line(1, 0, 5)));
        assert_eq!(recent.by_hash.len(), 1);
        // Full, the table starts again: a copy of a forgotten id goes on to deduplication.
        for n in 0..RECENT_IDS as u64 {
            assert!(!recent.remember(100 + n, &format!("x{n}"), line(1, 0, 5)));
        }
        assert_eq!(recent.by_hash.len(), 1);
        assert_eq!(recent.ids, format!("x{}", RECENT_IDS - 1));
    }

    #[test]
    fn a_line_that_outgrows_the_remembered_one_is_passed_on_and_remembered() {
        let mut recent = RecentCopies::default();
        assert!(!recent.remember(7, "m", line(1, 0, 3)));
        assert!(recent.remember(7, "m", line(1, 1, 3)));
        assert!(!recent.remember(7, "m", line(1, 2, 159)));
        // Less output than the line now remembered, or as much later: copies.
        assert!(recent.remember(7, "m", line(1, 3, 20)));
        assert!(recent.remember(7, "m", line(1, 3, 159)));
        // Earlier than it: passed on, whatever the output.
        assert!(!recent.remember(7, "m", line(1, 1, 3)));
    }
}
