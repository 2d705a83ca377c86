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
    /// The kept record's payload and line.
    kept: Option<(u64, SourceRef)>,
    /// Payloads of this id already quarantined as conflicts: a copy of one is the same
    /// request logged twice, a duplicate, not a second conflict.
    conflicting: HashSet<u64>,
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
        if self.id.as_deref() != Some(id) {
            let kept = self.id.get_or_insert_default();
            kept.clear();
            kept.push_str(id);
            self.kept = Some((payload_hash, source()));
            self.conflicting.clear();
            return Verdict::Keep;
        }
        match &self.kept {
            Some((h, _)) if *h == payload_hash => Verdict::Duplicate,
            _ if !self.conflicting.insert(payload_hash) => Verdict::Duplicate,
            Some((_, first)) => Verdict::Conflict(conflict(id, &source(), first)),
            None => Verdict::Keep,
        }
    }
}

/// The quarantine entry of the record at `at`, whose id `id` was kept at `kept` with other
/// usage. Its raw line is filled in later, from the file.
pub fn conflict(id: &str, at: &SourceRef, kept: &SourceRef) -> Quarantined {
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
