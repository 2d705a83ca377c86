//! Deduplication by provider id. The same id with the same time and usage is a duplicate (one
//! request logged twice); with another time or other usage it is a conflict, which is
//! quarantined and reported.

use crate::outcome::Quarantined;
use crate::record::SourceRef;
use rustc_hash::FxHashSet as HashSet;

pub enum Verdict {
    Keep,
    Duplicate,
    Conflict(Quarantined),
}

/// Judges records in id order (each id's records together, in canonical order). Records
/// without an id are always kept.
#[derive(Default)]
pub struct Decider {
    id: Option<String>,
    kept: Option<First>,
}

impl Decider {
    /// Judges the record with this id and payload hash, from the line `source` gives.
    pub fn judge(
        &mut self,
        id: Option<&str>,
        payload_hash: u64,
        source: impl FnOnce() -> SourceRef,
    ) -> Verdict {
        let Some(id) = id else {
            return Verdict::Keep;
        };
        match &mut self.kept {
            Some(kept) if self.id.as_deref() == Some(id) => {
                match kept.later(id, payload_hash, source) {
                    None => Verdict::Duplicate,
                    Some(q) => Verdict::Conflict(q),
                }
            }
            _ => {
                let current = self.id.get_or_insert_default();
                current.clear();
                current.push_str(id);
                self.kept = Some(First::new(payload_hash, source()));
                Verdict::Keep
            }
        }
    }
}

/// The first record of an id in canonical order, the one kept, which every later record of
/// that id is judged against.
pub struct First {
    payload_hash: u64,
    source: SourceRef,
    /// Payloads of this id already quarantined as conflicts: a copy of one is the same
    /// request logged twice, a duplicate, not a second conflict.
    conflicting: HashSet<u64>,
}

impl First {
    pub fn new(payload_hash: u64, source: SourceRef) -> First {
        First {
            payload_hash,
            source,
            conflicting: HashSet::default(),
        }
    }

    /// A later record of the id, never kept: None for a duplicate, else the quarantine entry
    /// of a conflict.
    pub fn later(
        &mut self,
        id: &str,
        payload_hash: u64,
        source: impl FnOnce() -> SourceRef,
    ) -> Option<Quarantined> {
        (payload_hash != self.payload_hash && self.conflicting.insert(payload_hash))
            .then(|| conflict(id, &source(), &self.source))
    }
}

/// The quarantine entry of the record at `at`, whose id `id` was kept at `kept` with other
/// usage. Its raw line is filled in later, from the file.
fn conflict(id: &str, at: &SourceRef, kept: &SourceRef) -> Quarantined {
    Quarantined {
        file: at.file.to_string(),
        line: at.line,
        byte: at.byte,
        // Names the kept line, so the two payloads can be compared side by side.
        reason: format!(
            "conflict: id {id} has another time or usage than {}:{}, which was kept",
            kept.file, kept.line
        ),
        raw: String::new(),
    }
}
