//! Exact copies of a recent record, dropped as a file is read.

use crate::record::UsageRecord;

/// Recent records of a file by id, to drop exact copies as they are read: Claude Code writes
/// one message on several consecutive lines. A line with the id and payload of an earlier line
/// of the same file, and a time no earlier, is a copy deduplication would drop too: it sorts
/// after that line (a later time, or the same time and id later in the file), and a copy of a
/// kept or of a conflicting payload is a duplicate. (Only Claude Code's payloads leave the
/// time out; for every other source the same payload is the same time.) Forgetting ids only
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
    payload_hash: u64,
    time: chrono::DateTime<chrono::Utc>,
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
        self.remember(Self::hash(id), id, r.payload_hash, r.time)
    }

    fn hash(id: &str) -> u64 {
        use std::hash::{BuildHasher, BuildHasherDefault};
        BuildHasherDefault::<rustc_hash::FxHasher>::default().hash_one(id)
    }

    /// Whether `id` was seen with this payload at this time or an earlier one; remembers it
    /// when it was not seen.
    fn remember(
        &mut self,
        hash: u64,
        id: &str,
        payload_hash: u64,
        time: chrono::DateTime<chrono::Utc>,
    ) -> bool {
        if let Some(seen) = self.by_hash.get(&hash)
            && self.ids.get(seen.at.clone()) == Some(id)
        {
            return seen.payload_hash == payload_hash && seen.time <= time;
        }
        if self.by_hash.len() >= RECENT_IDS || self.ids.len() >= RECENT_ID_BYTES {
            self.by_hash.clear();
            self.ids.clear();
        }
        let start = self.ids.len();
        self.ids.push_str(id);
        let at = start..self.ids.len();
        self.by_hash.insert(
            hash,
            Recent {
                at,
                payload_hash,
                time,
            },
        );
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_copies_check_the_id_behind_a_hash() {
        use chrono::TimeZone;
        let t = chrono::Utc.with_ymd_and_hms(2026, 3, 6, 8, 0, 0).unwrap();
        let mut recent = RecentCopies::default();
        assert!(!recent.remember(7, "r1", 1, t));
        assert!(recent.remember(7, "r1", 1, t));
        // Another payload, or an earlier time, under a remembered id is not a copy, and is not
        // remembered; the same payload later is one (it sorts after the remembered line).
        assert!(!recent.remember(7, "r1", 2, t));
        assert!(!recent.remember(7, "r1", 1, t - chrono::Duration::seconds(1)));
        assert!(recent.remember(7, "r1", 1, t + chrono::Duration::milliseconds(700)));
        assert!(recent.remember(7, "r1", 1, t));
        // Another id with the same hash is no copy of r1; it takes the entry over.
        assert!(!recent.remember(7, "r2", 1, t));
        assert!(recent.remember(7, "r2", 1, t));
        assert!(!recent.remember(7, "r1", 1, t));
        assert_eq!(recent.by_hash.len(), 1);
        // Full, the table starts again: a copy of a forgotten id goes on to deduplication.
        for n in 0..RECENT_IDS as u64 {
            assert!(!recent.remember(100 + n, &format!("x{n}"), 1, t));
        }
        assert_eq!(recent.by_hash.len(), 1);
        assert_eq!(recent.ids, format!("x{}", RECENT_IDS - 1));
    }
}
