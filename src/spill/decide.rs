//! Deduplication by provider id. The same id with the same usage is one request logged more
//! than once: the line with the most output tokens is kept (a source that writes a response as
//! it streams logs growing counts; elsewhere such lines are equal), the first in canonical
//! order among equals. The same id with other usage is a conflict, which is quarantined and
//! reported.

use crate::outcome::Quarantined;
use crate::record::SourceRef;
use rustc_hash::FxHashSet as HashSet;

/// What a later record of a kept id is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Later {
    /// Not kept: the kept record stays.
    Duplicate,
    /// Kept in place of the kept record, which becomes a duplicate.
    Replaces,
    /// Quarantined; named when the id's records end ([`First::conflicts`]).
    Conflict,
}

/// The record kept for an id so far, which every later record of that id is judged against.
pub struct First {
    payload_hash: u64,
    /// Its output tokens, once a later record with its payload asked for them.
    output: Option<u64>,
    source: SourceRef,
    /// Payloads of this id already quarantined as conflicts: a copy of one is the same
    /// request logged twice, a duplicate, not a second conflict.
    conflicting: HashSet<u64>,
    /// The lines quarantined as conflicts, named against the line kept in the end.
    conflicts: Vec<SourceRef>,
}

impl First {
    /// `output`: the record's output tokens when they are at hand; asked for when needed if not.
    pub fn new(payload_hash: u64, output: Option<u64>, source: SourceRef) -> First {
        First {
            payload_hash,
            output,
            source,
            conflicting: HashSet::default(),
            conflicts: Vec::new(),
        }
    }

    /// A later record of the id in canonical order, with its payload hash and output tokens;
    /// `kept_output` gives the kept record's output tokens when they were not at hand.
    pub fn later(
        &mut self,
        payload_hash: u64,
        output: impl FnOnce() -> u64,
        kept_output: impl FnOnce() -> u64,
        source: impl FnOnce() -> SourceRef,
    ) -> Later {
        if payload_hash != self.payload_hash {
            if self.conflicting.insert(payload_hash) {
                self.conflicts.push(source());
                return Later::Conflict;
            }
            return Later::Duplicate;
        }
        let kept = *self.output.get_or_insert_with(kept_output);
        let output = output();
        if output > kept {
            self.output = Some(output);
            self.source = source();
            return Later::Replaces;
        }
        Later::Duplicate
    }

    /// The quarantine entries of the id's conflicts, each naming the line kept. Their raw
    /// lines are filled in later, from the files.
    pub fn conflicts(self, id: &str) -> impl Iterator<Item = Quarantined> {
        let kept = self.source;
        self.conflicts.into_iter().map(move |at| Quarantined {
            file: at.file.to_string(),
            line: at.line,
            byte: at.byte,
            // Names the kept line, so the two payloads can be compared side by side.
            reason: format!(
                "conflict: id {id} has another time or usage than {}:{}, which was kept",
                kept.file, kept.line
            ),
            raw: String::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: u64) -> SourceRef {
        SourceRef {
            file: crate::text::Text::new("f"),
            line,
            byte: 0,
        }
    }

    #[test]
    fn the_most_output_is_kept_and_conflicts_name_the_line_kept_in_the_end() {
        let mut first = First::new(1, None, at(1));
        let never = || -> u64 { panic!("not needed") };
        // Another payload: a conflict, then a copy of it, a duplicate; neither asks for output.
        assert_eq!(first.later(2, never, never, || at(2)), Later::Conflict);
        assert_eq!(first.later(2, never, never, || at(3)), Later::Duplicate);
        assert_eq!(first.later(1, || 9, || 9, || at(4)), Later::Duplicate);
        assert_eq!(first.later(1, || 159, never, || at(5)), Later::Replaces);
        assert_eq!(first.later(1, || 159, never, || at(6)), Later::Duplicate);
        assert_eq!(first.later(1, || 20, never, || at(7)), Later::Duplicate);
        let named: Vec<_> = first.conflicts("m").map(|q| (q.line, q.reason)).collect();
        assert_eq!(
            named,
            [(
                2,
                "conflict: id m has another time or usage than f:5, which was kept".to_string()
            )]
        );
    }
}
