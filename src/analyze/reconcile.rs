//! NanoGPT balance reconciliation: per api key, in time order, the drop in `remainingBalance`
//! between two responses must equal the second one's billed `cost`.

use super::key_label;
use crate::money::Money;
use crate::record::UsageRecord;
use crate::reprice::Repriced;
use chrono::{DateTime, Utc};
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

pub fn analyze(
    records: &[UsageRecord],
    rp: &Repriced,
    names: &BTreeMap<String, String>,
) -> Reconciliation {
    let mut by_key: BTreeMap<Option<&str>, Vec<usize>> = BTreeMap::new();
    for (k, r) in records.iter().enumerate() {
        if r.remaining_balance.is_some() {
            by_key.entry(r.api_key.as_deref()).or_default().push(k);
        }
    }
    let mut out = Reconciliation::default();
    for (key, ks) in by_key {
        for pair in ks.windows(2) {
            let (a, b) = (&records[pair[0]], &records[pair[1]]);
            let (Some(before), Some(after)) = (a.remaining_balance, b.remaining_balance) else {
                continue;
            };
            let billed = b.billed_cost.unwrap_or(rp.priced[pair[1]].actual);
            let drop = before - after;
            out.checked += 1;
            if drop == billed {
                out.matched += 1;
                continue;
            }
            let (kind, amount) = if drop > billed {
                ("gap", drop - billed)
            } else {
                ("top_up", billed - drop)
            };
            if kind == "gap" {
                out.unexplained += amount;
            } else {
                out.top_ups += amount;
            }
            out.gaps.push(BalanceGap {
                key: key_label(key, names),
                time: b.time,
                kind: kind.to_string(),
                billed,
                balance_before: before,
                balance_after: after,
                amount,
            });
        }
    }
    out
}
