//! Deduplication by provider id. The same id with the same usage is a duplicate (one request
//! logged twice); with different usage it is a conflict, which is quarantined and reported.

use super::Quarantined;
use crate::record::{SourceRef, UsageRecord};
use chrono::{DateTime, Utc};
use rayon::slice::ParallelSliceMut;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

#[derive(Debug, Default)]
pub struct Deduped {
    pub records: Vec<UsageRecord>,
    pub duplicates: u64,
    pub conflicts: Vec<Quarantined>,
}

/// Sorts records into their canonical order (time, id, source, payload) and keeps the first of
/// each id. The order makes the choice independent of file order and thread count.
pub fn dedup(mut records: Vec<UsageRecord>) -> Deduped {
    canonical_order(&mut records);
    // First decide on borrowed ids, then move the kept records: no copy of an id or file name
    // per record.
    let mut keep = vec![true; records.len()];
    let mut duplicates = 0;
    let mut conflicts = Vec::new();
    {
        // id -> (payload hash, index of the kept record)
        let mut seen: HashMap<&str, (u64, usize)> =
            HashMap::with_capacity_and_hasher(records.len(), Default::default());
        // Payloads already quarantined as conflicts: a copy of one is the same request logged
        // twice, a duplicate, not a second conflict.
        let mut conflicting: HashSet<(&str, u64)> = HashSet::default();
        for (k, r) in records.iter().enumerate() {
            let Some(id) = r.id.as_deref() else {
                continue;
            };
            match seen.get(id) {
                None => {
                    seen.insert(id, (r.payload_hash, k));
                }
                Some((h, _)) if *h == r.payload_hash => {
                    keep[k] = false;
                    duplicates += 1;
                }
                Some(_) if !conflicting.insert((id, r.payload_hash)) => {
                    keep[k] = false;
                    duplicates += 1;
                }
                Some((_, kept)) => {
                    keep[k] = false;
                    let first = &records[*kept].source;
                    conflicts.push(Quarantined {
                        file: r.source.file.to_string(),
                        line: r.source.line,
                        byte: r.source.byte,
                        // Names the kept line, so the two payloads can be compared side by side.
                        reason: format!(
                            "conflict: id {id} has different usage than {}:{}, which was kept",
                            first.file, first.line
                        ),
                        raw: String::new(),
                    });
                }
            }
        }
    }
    // In place: a filtered copy would hold every record twice at the peak.
    let mut k = 0;
    records.retain(|_| {
        k += 1;
        keep[k - 1]
    });
    Deduped {
        records,
        duplicates,
        conflicts,
    }
}

/// Sorts by (time, id, source, payload). Among lines of the same id and time, the one earliest
/// in path order comes first: files are sorted by path, so this does not depend on the order
/// they were given or read in. Small (time, index) pairs are sorted and the records then moved
/// once each, instead of moving whole records at every step of the sort.
fn canonical_order(records: &mut [UsageRecord]) {
    fn key(r: &UsageRecord) -> (DateTime<Utc>, &Option<String>, &SourceRef, u64) {
        (r.time, &r.id, &r.source, r.payload_hash)
    }
    let mut order: Vec<(i64, u32, usize)> = records
        .iter()
        .enumerate()
        .map(|(k, r)| (r.time.timestamp(), r.time.timestamp_subsec_nanos(), k))
        .collect();
    order.par_sort_unstable_by(|a, b| {
        (a.0, a.1)
            .cmp(&(b.0, b.1))
            .then_with(|| key(&records[a.2]).cmp(&key(&records[b.2])))
    });
    // order[k] is the record that belongs at k: follow each cycle of the permutation.
    let mut placed = vec![false; records.len()];
    for start in 0..records.len() {
        if placed[start] {
            continue;
        }
        let mut at = start;
        loop {
            placed[at] = true;
            let from = order[at].2;
            if from == start {
                break;
            }
            records.swap(at, from);
            at = from;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{Options, csv_export, parse_bytes};

    #[test]
    fn conflict_keeps_the_first_line_and_names_it() {
        let line = |out: u32| {
            format!(
                r#"{{"timestamp":"2026-03-06T08:00:00Z","id":"r1","request":{{"model":"gpt-4o"}},"response":{{"usage":{{"prompt_tokens":1,"completion_tokens":{out}}}}}}}"#
            )
        };
        let maps = csv_export::builtin_mappings();
        let opts = Options {
            format: None,
            csv_mappings: &maps,
        };
        // Two copies of each payload, in both orders: the first line is kept whatever the
        // payload hashes are, the other payload is one conflict and its copy a duplicate.
        for (first, second) in [(5, 6), (6, 5)] {
            let text = format!(
                "{}\n{}\n{}\n{}\n",
                line(first),
                line(first),
                line(second),
                line(second)
            );
            let (_, records, _) = parse_bytes("f.jsonl", text.as_bytes(), &opts);
            let d = dedup(records);
            assert_eq!(d.records.len(), 1);
            assert_eq!(d.records[0].source.line, 1);
            assert_eq!(d.duplicates, 2);
            let reasons: Vec<_> = d
                .conflicts
                .iter()
                .map(|q| (q.line, q.reason.clone()))
                .collect();
            assert_eq!(
                reasons,
                [(
                    3,
                    "conflict: id r1 has different usage than f.jsonl:1, which was kept"
                        .to_string()
                )]
            );
        }
    }

    #[test]
    fn canonical_order_is_the_full_sort_for_any_input_order() {
        let maps = csv_export::builtin_mappings();
        let opts = Options {
            format: None,
            csv_mappings: &maps,
        };
        // Ties on time (same second, same nanosecond), on id, and ids missing.
        let mut text = String::new();
        for k in 0..40u32 {
            let id = if k % 7 == 0 {
                String::new()
            } else {
                format!(r#""id":"r{}","#, k % 5)
            };
            text.push_str(&format!(
                r#"{{"timestamp":"2026-03-06T08:00:0{}.{}Z",{id}"request":{{"model":"gpt-4o"}},"response":{{"usage":{{"prompt_tokens":1,"completion_tokens":{}}}}}}}"#,
                k % 3,
                k % 2,
                k % 4
            ));
            text.push('\n');
        }
        let (_, records, _) = parse_bytes("f.jsonl", text.as_bytes(), &opts);
        assert_eq!(records.len(), 40);
        let mut expected = records.clone();
        expected.sort_by(|a, b| {
            (a.time, &a.id, &a.source, a.payload_hash).cmp(&(
                b.time,
                &b.id,
                &b.source,
                b.payload_hash,
            ))
        });
        // Rotations and a reversal of the input give the same order.
        for shift in [0, 1, 13, 39] {
            let mut r = records.clone();
            r.rotate_left(shift);
            if shift == 13 {
                r.reverse();
            }
            canonical_order(&mut r);
            assert_eq!(r, expected, "shift {shift}");
        }
    }
}
