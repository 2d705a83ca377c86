//! Deduplication of inputs held in memory, for tests, benches and other small inputs: ingest
//! hands its records to a [`Spill`], whose sort keeps one record of each id (the rule is in
//! `spill::decide`).

use crate::error::RunError;
use crate::ingest::{self, Ingested, Options, source::Input};
use crate::outcome::Quarantined;
use crate::record::UsageRecord;
use crate::spill::Spill;

#[derive(Debug, Default)]
pub struct Deduped {
    pub records: Vec<UsageRecord>,
    pub duplicates: u64,
    pub conflicts: Vec<Quarantined>,
}

/// Keeps one record of each id, judged in canonical order (time, id, source, payload): the
/// first, or a later one with its payload and more output tokens. The choice is independent
/// of file order and thread count; the kept records are returned in canonical order. For inputs already in memory; runs go through [`Spill`] directly.
pub fn dedup(records: Vec<UsageRecord>) -> Result<Deduped, RunError> {
    let spill = Spill::default();
    spill.push(records)?;
    collect(spill)
}

/// The deduplicated records of `inputs` in canonical order, all in memory: for tests, benches
/// and other small inputs.
pub fn read_all(inputs: &[Input], opts: &Options<'_>) -> Result<(Ingested, Deduped), RunError> {
    let spill = Spill::default();
    let ing = ingest::ingest(inputs, opts, &|_| {}, &|records| spill.push(records))?;
    let d = collect(spill)?;
    Ok((ing, d))
}

fn collect(spill: Spill) -> Result<Deduped, RunError> {
    let mut sorted = spill.finish()?;
    let mut kept = Vec::new();
    for r in sorted.by_ref() {
        kept.push(r?);
    }
    Ok(Deduped {
        records: kept,
        duplicates: sorted.duplicates,
        conflicts: std::mem::take(&mut sorted.conflicts),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{csv_export, parse_bytes};

    #[test]
    fn conflict_keeps_the_first_line_and_names_it() {
        let line = |out: u32| {
            format!(
                r#"{{"timestamp":"2026-03-06T08:00:00Z","id":"r1","request":{{"model":"gpt-4o"}},"response":{{"usage":{{"prompt_tokens":1,"completion_tokens":{out}}}}}}}"#
            )
        };
        let maps = csv_export::builtin_mappings();
        let opts = Options::new(&maps);
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
            let d = dedup(records).unwrap();
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
                    "conflict: id r1 has another time or usage than f.jsonl:1, which was kept"
                        .to_string()
                )]
            );
        }
    }

    #[test]
    fn keeps_the_first_of_each_id_in_the_full_sort_for_any_input_order() {
        let maps = csv_export::builtin_mappings();
        let opts = Options::new(&maps);
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
        // Exact copies of lines 2 to 11 (one without an id).
        let copies: Vec<&str> = text.lines().skip(1).take(10).collect();
        let text = format!("{text}{}\n", copies.join("\n"));
        let (_, records, _) = parse_bytes("f.jsonl", text.as_bytes(), &opts);
        assert_eq!(records.len(), 50);
        let mut expected = records.clone();
        expected.sort_by(|a, b| {
            (a.time, &a.id, &a.source, a.payload_hash).cmp(&(
                b.time,
                &b.id,
                &b.source,
                b.payload_hash,
            ))
        });
        // The first record of each id in the full sort is kept; a later one is a duplicate
        // when it repeats the kept payload or an already conflicting one.
        let mut kept = Vec::new();
        let mut first: std::collections::HashMap<&str, u64> = Default::default();
        let mut conflicting = std::collections::HashSet::new();
        let (mut duplicates, mut conflicts) = (0, 0);
        for r in &expected {
            match r.id.as_deref() {
                None => kept.push(r.clone()),
                Some(id) => match first.get(id) {
                    None => {
                        first.insert(id, r.payload_hash);
                        kept.push(r.clone());
                    }
                    Some(h) if *h == r.payload_hash => duplicates += 1,
                    Some(_) if !conflicting.insert((id, r.payload_hash)) => duplicates += 1,
                    Some(_) => conflicts += 1,
                },
            }
        }
        assert_eq!((kept.len(), duplicates, conflicts), (12, 9, 29));
        in_any_order(&records, &kept, duplicates, conflicts);
    }

    /// Rotations and a reversal of `records`, in one run or spilled to files in runs of one
    /// or three records, give `kept` in the same order, with these counts.
    pub(super) fn in_any_order(
        records: &[UsageRecord],
        kept: &[UsageRecord],
        duplicates: u64,
        conflicts: usize,
    ) {
        for shift in [0, 1, 13, records.len() - 1] {
            for spill in [
                Spill::default(),
                Spill::with_limits(0, 1),
                Spill::with_limits(0, 3),
            ] {
                let mut r = records.to_vec();
                r.rotate_left(shift);
                if shift == 13 {
                    r.reverse();
                }
                for part in r.chunks(7) {
                    spill.push(part.to_vec()).expect("push");
                }
                let mut sorted = spill.finish().expect("finish");
                let got: Vec<UsageRecord> = sorted.by_ref().map(|r| r.expect("record")).collect();
                assert_eq!(got, kept, "shift {shift}");
                assert_eq!(sorted.duplicates, duplicates);
                assert_eq!(sorted.conflicts.len(), conflicts);
                assert_eq!(sorted.records, kept.len() as u64);
            }
        }
    }
}

#[cfg(test)]
mod streamed {
    use super::*;
    use crate::ingest::{csv_export, parse_bytes};
    use crate::spill::Order;

    /// Claude Code lines of messages logged as they streamed: each message's output grows
    /// over its lines (some repeat a count), a few lines carry other input (conflicts), and
    /// times tie across messages.
    fn lines() -> String {
        let mut text = String::new();
        for k in 0..60u32 {
            let message = k % 9;
            let input = if k % 17 == 5 { 4 } else { 3 };
            let output = [2, 9, 9, 159, 40][(k as usize * 7) % 5] + message;
            text.push_str(&format!(
                r#"{{"type":"assistant","timestamp":"2026-03-06T08:00:0{}.{}Z","message":{{"id":"msg_{message}","model":"claude-sonnet-4-5","usage":{{"input_tokens":{input},"output_tokens":{output}}}}},"requestId":"req_{message}"}}"#,
                k % 4,
                k % 3,
            ));
            text.push('\n');
        }
        text
    }

    #[test]
    fn the_line_with_the_most_output_is_kept_for_any_input_order() {
        let maps = csv_export::builtin_mappings();
        let opts = Options::new(&maps);
        let text = lines();
        let (_, records, bad) = parse_bytes("f.jsonl", text.as_bytes(), &opts);
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(records.len(), 60);
        let mut expected = records.clone();
        expected.sort_by(|a, b| Order::Time.cmp(a, b));
        // By id, in canonical order: the first payload is the one kept; among its lines the
        // most output wins, the first of equals; another payload is a conflict once.
        let mut by_id: std::collections::BTreeMap<&str, Vec<&UsageRecord>> = Default::default();
        for r in &expected {
            by_id
                .entry(r.id.as_deref().expect("id"))
                .or_default()
                .push(r);
        }
        let (mut kept, mut duplicates, mut conflicts) = (Vec::new(), 0, 0);
        for rs in by_id.values() {
            let payload = rs[0].payload_hash;
            let mut best = rs[0];
            let mut other = std::collections::HashSet::new();
            for r in &rs[1..] {
                if r.payload_hash != payload {
                    if other.insert(r.payload_hash) {
                        conflicts += 1;
                    } else {
                        duplicates += 1;
                    }
                } else {
                    duplicates += 1;
                    if r.tokens.output > best.tokens.output {
                        best = r;
                    }
                }
            }
            kept.push(best.clone());
        }
        kept.sort_by(|a, b| Order::Time.cmp(a, b));
        let outputs: Vec<_> = kept
            .iter()
            .map(|r| (r.id.clone().unwrap_or_default(), r.tokens.output))
            .collect();
        let mut sorted_outputs = outputs.clone();
        sorted_outputs.sort();
        // Message 3's line with 159 + 3 carries other input: it is a conflict, and 40 + 3 is
        // the most its kept payload reached. Four messages have one conflicting line each.
        let want: Vec<_> = [159, 160, 161, 43, 163, 164, 165, 166, 167]
            .into_iter()
            .enumerate()
            .map(|(m, n)| (format!("msg_{m}:req_{m}"), n))
            .collect();
        assert_eq!(sorted_outputs, want);
        assert_eq!((kept.len(), duplicates, conflicts), (9, 47, 4));
        super::tests::in_any_order(&records, &kept, duplicates, conflicts);
    }
}
