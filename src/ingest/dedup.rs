//! Deduplication by provider id. The same id with the same usage is a duplicate (one request
//! logged twice); with different usage it is a conflict, which is quarantined and reported.

use super::Quarantined;
use crate::record::UsageRecord;
use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct Deduped {
    pub records: Vec<UsageRecord>,
    pub duplicates: u64,
    pub conflicts: Vec<Quarantined>,
}

/// Sorts records into their canonical order (time, id, payload, source) and keeps the first of
/// each id. The order makes the choice independent of file order and thread count.
pub fn dedup(mut records: Vec<UsageRecord>) -> Deduped {
    records.sort_by(|a, b| {
        (a.time, &a.id, a.payload_hash, &a.source).cmp(&(b.time, &b.id, b.payload_hash, &b.source))
    });
    let mut seen: HashMap<String, (u64, String, u64)> = HashMap::new();
    let mut out = Deduped::default();
    for r in records {
        let Some(id) = r.id.clone() else {
            out.records.push(r);
            continue;
        };
        match seen.get(&id) {
            None => {
                seen.insert(
                    id,
                    (r.payload_hash, r.source.file.to_string(), r.source.line),
                );
                out.records.push(r);
            }
            Some((h, _, _)) if *h == r.payload_hash => out.duplicates += 1,
            Some((_, file, line)) => out.conflicts.push(Quarantined {
                file: r.source.file.to_string(),
                line: r.source.line,
                byte: r.source.byte,
                reason: format!(
                    "conflict: id {id} was already read at {file}:{line} with different usage"
                ),
                raw: String::new(),
            }),
        }
    }
    out
}
