//! NanoGPT balance reconciliation: per api key, in time order, the drop in `remainingBalance`
//! between two responses must equal the second one's billed `cost`.

use super::key_label;
use crate::money::Money;
use crate::record::UsageRecord;
use crate::reprice::Priced;
use crate::text::Text;
use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap as HashMap;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Serialize, JsonSchema, PartialEq)]
pub struct Reconciliation {
    /// Consecutive balance pairs compared.
    pub checked: u64,
    /// Pairs whose balance moved by exactly the billed cost.
    pub matched: u64,
    /// Balance drops larger than the billed cost (a lost log line or a charge outside the
    /// logs), and rises (top-ups).
    pub gaps: Vec<BalanceGap>,
    /// Sum of the unexplained drops.
    pub unexplained: Money,
    /// Sum of the top-ups.
    pub top_ups: Money,
    /// The gaps not in `gaps`, summed; null when `gaps` lists them all.
    pub other_gaps: Option<OtherGaps>,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema, PartialEq)]
pub struct OtherGaps {
    /// Unexplained drops left out, and their sum.
    pub gaps: u64,
    pub unexplained: Money,
    /// Top-ups left out, and their sum.
    pub top_up_count: u64,
    pub top_ups: Money,
}

/// Keeps the `n` largest unexplained drops (then the largest top-ups) in the reconciliation,
/// the rest summed; returns every gap in that order too, for reconciliation.csv.
pub fn top(mut r: Reconciliation, n: usize) -> (Reconciliation, Vec<BalanceGap>) {
    r.gaps.sort_by(|a, b| {
        (b.kind == "gap")
            .cmp(&(a.kind == "gap"))
            .then_with(|| b.amount.cmp(&a.amount))
            .then_with(|| a.key.cmp(&b.key))
            .then_with(|| a.time.cmp(&b.time))
    });
    let all = r.gaps.clone();
    if all.len() > n {
        let rest = r.gaps.split_off(n);
        let mut o = OtherGaps::default();
        for g in &rest {
            if g.kind == "gap" {
                o.gaps += 1;
                o.unexplained += g.amount;
            } else {
                o.top_up_count += 1;
                o.top_ups += g.amount;
            }
        }
        r.other_gaps = Some(o);
    }
    (r, all)
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct BalanceGap {
    pub key: String,
    pub time: DateTime<Utc>,
    /// "gap" (more was taken than billed) or "top_up" (the balance rose).
    pub kind: String,
    pub billed: Money,
    pub balance_before: Money,
    pub balance_after: Money,
    pub amount: Money,
}

/// Per api key, the balance the last response left, and the gaps found so far.
#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct Balances {
    last: HashMap<Option<Text>, Money>,
    checked: u64,
    matched: u64,
    gaps: BTreeMap<Option<Text>, Vec<Gap>>,
}

/// Whether the balance fell by more than was billed (a gap) or rose (a top-up).
#[derive(Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum GapKind {
    Gap,
    TopUp,
}

impl GapKind {
    fn as_str(self) -> &'static str {
        match self {
            GapKind::Gap => "gap",
            GapKind::TopUp => "top_up",
        }
    }
}

/// A gap before its key is labelled: the label is made once per key, at the end.
#[derive(serde::Serialize, serde::Deserialize)]
struct Gap {
    time: DateTime<Utc>,
    kind: GapKind,
    billed: Money,
    before: Money,
    after: Money,
    amount: Money,
}

impl Balances {
    pub fn add(&mut self, records: &[UsageRecord], priced: &[Priced]) {
        for (b, p) in records.iter().zip(priced) {
            let Some(after) = b.remaining_balance else {
                continue;
            };
            let before = match self.last.get_mut(&b.api_key) {
                Some(last) => std::mem::replace(last, after),
                None => {
                    self.last.insert(b.api_key.clone(), after);
                    continue;
                }
            };
            let billed = b.billed_cost.unwrap_or(p.actual);
            let drop = before - after;
            self.checked += 1;
            if drop == billed {
                self.matched += 1;
                continue;
            }
            let (kind, amount) = if drop > billed {
                (GapKind::Gap, drop - billed)
            } else {
                (GapKind::TopUp, billed - drop)
            };
            self.gaps.entry(b.api_key.clone()).or_default().push(Gap {
                time: b.time,
                kind,
                billed,
                before,
                after,
                amount,
            });
        }
    }

    /// Gaps by key, each key's in time order.
    pub fn finish(self, names: &BTreeMap<String, String>) -> Reconciliation {
        let mut out = Reconciliation {
            checked: self.checked,
            matched: self.matched,
            ..Reconciliation::default()
        };
        for (key, gaps) in self.gaps {
            let label = key_label(key.as_deref(), names);
            for g in gaps {
                if g.kind == GapKind::Gap {
                    out.unexplained += g.amount;
                } else {
                    out.top_ups += g.amount;
                }
                out.gaps.push(BalanceGap {
                    key: label.clone(),
                    time: g.time,
                    kind: g.kind.as_str().to_string(),
                    billed: g.billed,
                    balance_before: g.before,
                    balance_after: g.after,
                    amount: g.amount,
                });
            }
        }
        out
    }
}
