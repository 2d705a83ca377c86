//! Money spent on nothing: unused quota, billed failures, superseded retries, thinking, extras.

use super::plans::UnusedQuota;
use crate::catalog::Catalog;
use crate::money::{Money, share_text};
use crate::record::{Status, UsageRecord};
use crate::reprice::Priced;
use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap as HashMap;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;
use std::collections::VecDeque;
use std::sync::Arc;

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

/// The waste sums, folded record by record; thinking per catalog model.
pub struct WasteFold {
    w: Waste,
    thinking: HashMap<usize, (u64, Money, Money)>,
    retries: Retries,
}

impl WasteFold {
    pub fn new(window_seconds: u64) -> WasteFold {
        WasteFold {
            w: Waste {
                unused_quota: Vec::new(),
                failed_billed_cost: Money::ZERO,
                failed_billed_requests: 0,
                rejected_billed_cost: Money::ZERO,
                rejected_billed_requests: 0,
                retry_billed_cost: Money::ZERO,
                retry_billed_requests: 0,
                thinking_cost: Money::ZERO,
                thinking_by_model: Vec::new(),
                extras_cost: Money::ZERO,
            },
            thinking: HashMap::default(),
            retries: Retries::new(window_seconds),
        }
    }

    /// `seq` numbers the first record of the chunk in the whole input.
    pub fn add(&mut self, records: &[UsageRecord], priced: &[Priced], seq: u64) {
        let w = &mut self.w;
        for (k, (r, p)) in records.iter().zip(priced).enumerate() {
            let billed = p.actual > Money::ZERO;
            match r.status {
                Status::Failed if billed => {
                    w.failed_billed_cost += p.actual;
                    w.failed_billed_requests += u64::from(r.requests);
                }
                Status::Rejected if billed => {
                    w.rejected_billed_cost += p.actual;
                    w.rejected_billed_requests += u64::from(r.requests);
                }
                _ => {}
            }
            // Whether an attempt was superseded is known only when its successor arrives.
            let wasted =
                (matches!(r.status, Status::Ok | Status::Retry) && billed).then_some(p.actual);
            if let Some(cost) = self.retries.add(r, seq + k as u64, wasted) {
                w.retry_billed_cost += cost;
                w.retry_billed_requests += 1;
            }
            w.thinking_cost += p.thinking_cost;
            w.extras_cost += p.extras_cost;
            if let Some(m) = p.model {
                let e = self
                    .thinking
                    .entry(m)
                    .or_insert((0, Money::ZERO, Money::ZERO));
                e.0 += r.tokens.thinking;
                e.1 += p.thinking_cost;
                e.2 += p.list.unwrap_or(p.actual);
            }
        }
    }

    /// Attempts held for retry detection.
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.retries.queue.len().max(self.retries.latest.len())
    }

    pub fn finish(self, catalog: &Catalog, unused_quota: Vec<UnusedQuota>) -> Waste {
        let mut w = self.w;
        w.unused_quota = unused_quota;
        let thinking: BTreeMap<String, (u64, Money, Money)> = self
            .thinking
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
}

/// A request: api key and request hash.
type RequestKey = (Option<Arc<str>>, u64);

/// The latest attempt of each request seen within the retry window.
struct Attempt {
    time: DateTime<Utc>,
    seq: u64,
    /// What it cost if a repeat within the window makes it a wasted retry.
    wasted: Option<Money>,
}

/// Finds attempts followed by the same request (api key + request body) within the window.
/// Records come in time order, so "followed" is the next one of the same request, and an
/// attempt older than the window before the current record can no longer be superseded: it is
/// dropped, so the state holds only the window's records.
struct Retries {
    window_seconds: u64,
    latest: HashMap<RequestKey, Attempt>,
    /// Attempts in arrival (time) order, to drop the expired ones.
    queue: VecDeque<(DateTime<Utc>, u64, RequestKey)>,
}

impl Retries {
    fn new(window_seconds: u64) -> Retries {
        Retries {
            window_seconds,
            latest: HashMap::default(),
            queue: VecDeque::new(),
        }
    }

    /// Gaps are whole seconds, truncated, as the window is counted.
    fn within(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<bool> {
        let gap = (to - from).num_seconds();
        (gap >= 0).then_some(gap as u64 <= self.window_seconds)
    }

    /// Records one attempt; returns the cost of the attempt it supersedes, if that was wasted.
    fn add(&mut self, r: &UsageRecord, seq: u64, wasted: Option<Money>) -> Option<Money> {
        // A truncated gap never shrinks as time advances, so an expired attempt stays expired;
        // equal timestamps have a gap of zero and are never expired.
        while let Some((t, s, _)) = self.queue.front() {
            if self.within(*t, r.time) != Some(false) {
                break;
            }
            let s = *s;
            if let Some((_, _, key)) = self.queue.pop_front()
                && self.latest.get(&key).is_some_and(|a| a.seq == s)
            {
                self.latest.remove(&key);
            }
        }
        // An aggregate row sums many requests: which of them were retries is not in it.
        if r.is_aggregate() {
            return None;
        }
        let h = r.request_hash?;
        let key = (r.api_key.clone(), h);
        let now = Attempt {
            time: r.time,
            seq,
            wasted,
        };
        self.queue.push_back((r.time, seq, key.clone()));
        let prev = self.latest.insert(key, now)?;
        if self.within(prev.time, r.time) == Some(true) {
            prev.wasted
        } else {
            None
        }
    }
}
