//! Money spent on nothing: unused quota, billed failures, superseded retries, thinking, extras.

use super::plans::UnusedQuota;
use crate::catalog::Catalog;
use crate::money::{Money, share_text};
use crate::record::{Status, UsageRecord};
use crate::reprice::Repriced;
use rustc_hash::FxHashMap as HashMap;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct Waste {
    pub unused_quota: Vec<UnusedQuota>,
    /// Billed cost of requests that failed (errors, timeouts).
    pub failed_billed_cost: Money,
    pub failed_billed_requests: u64,
    /// Billed cost of requests refused by a content policy.
    pub rejected_billed_cost: Money,
    pub rejected_billed_requests: u64,
    /// Billed cost of attempts superseded by the same request (same key and body) repeated
    /// within the retry window. Failed attempts are counted above, not here.
    pub retry_billed_cost: Money,
    pub retry_billed_requests: u64,
    /// Cost of thinking tokens at catalog prices.
    pub thinking_cost: Money,
    pub thinking_by_model: Vec<ThinkingShare>,
    /// Web-search grounding and search add-ons.
    pub extras_cost: Money,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct ThinkingShare {
    pub model: String,
    pub thinking_tokens: u64,
    pub thinking_cost: Money,
    pub cost: Money,
    /// thinking_cost / cost, 6 places.
    pub share: Option<String>,
}

pub fn analyze(
    records: &[UsageRecord],
    rp: &Repriced,
    catalog: &Catalog,
    window_seconds: u64,
    unused_quota: Vec<UnusedQuota>,
) -> Waste {
    let mut w = Waste {
        unused_quota,
        failed_billed_cost: Money::ZERO,
        failed_billed_requests: 0,
        rejected_billed_cost: Money::ZERO,
        rejected_billed_requests: 0,
        retry_billed_cost: Money::ZERO,
        retry_billed_requests: 0,
        thinking_cost: Money::ZERO,
        thinking_by_model: Vec::new(),
        extras_cost: Money::ZERO,
    };
    let superseded = superseded(records, window_seconds);
    let mut thinking: BTreeMap<usize, (u64, Money, Money)> = BTreeMap::new();
    for (k, (r, p)) in records.iter().zip(&rp.priced).enumerate() {
        let billed = p.actual > Money::ZERO;
        match r.status {
            Status::Failed if billed => {
                w.failed_billed_cost += p.actual;
                w.failed_billed_requests += 1;
            }
            Status::Rejected if billed => {
                w.rejected_billed_cost += p.actual;
                w.rejected_billed_requests += 1;
            }
            Status::Ok | Status::Retry if billed && superseded[k] => {
                w.retry_billed_cost += p.actual;
                w.retry_billed_requests += 1;
            }
            _ => {}
        }
        w.thinking_cost += p.thinking_cost;
        w.extras_cost += p.extras_cost;
        if let Some(m) = p.model {
            let e = thinking.entry(m).or_insert((0, Money::ZERO, Money::ZERO));
            e.0 += r.tokens.thinking;
            e.1 += p.thinking_cost;
            e.2 += p.list.unwrap_or(p.actual);
        }
    }
    let thinking: BTreeMap<String, (u64, Money, Money)> = thinking
        .into_iter()
        .map(|(m, v)| (catalog.models()[m].id.clone(), v))
        .collect();
    w.thinking_by_model = thinking
        .into_iter()
        .filter(|(_, (t, _, _))| *t > 0)
        .map(|(model, (t, tc, c))| ThinkingShare {
            model,
            thinking_tokens: t,
            thinking_cost: tc,
            cost: c,
            share: tc.share_of(c).map(|d| share_text(d, 6)),
        })
        .collect();
    w
}

/// Marks records followed by the same request (api key + request body) within the window.
/// Records are in time order, so "followed" is the next one of the same request.
fn superseded(records: &[UsageRecord], window_seconds: u64) -> Vec<bool> {
    let mut out = vec![false; records.len()];
    let mut last: HashMap<(Option<&str>, u64), usize> = HashMap::default();
    for (k, r) in records.iter().enumerate() {
        let Some(h) = r.request_hash else { continue };
        let key = (r.api_key.as_deref(), h);
        if let Some(&prev) = last.get(&key) {
            let gap = (r.time - records[prev].time).num_seconds();
            if gap >= 0 && gap as u64 <= window_seconds {
                out[prev] = true;
            }
        }
        last.insert(key, k);
    }
    out
}
