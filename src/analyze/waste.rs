//! Money spent on nothing: unused quota, billed failures, retried attempts, thinking, extras;
//! and, apart, successful requests repeated identically, which are not waste.

use super::plans::UnusedQuota;
use crate::catalog::Catalog;
use crate::money::{Money, share_text};
use crate::record::{Status, UsageRecord};
use crate::reprice::Priced;
use crate::text::Text;
use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap as HashMap;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;
use std::collections::VecDeque;

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, serde::Deserialize)]
pub struct Waste {
    pub unused_quota: Vec<UnusedQuota>,
    /// Billed cost of requests that failed (errors, timeouts).
    pub failed_billed_cost: Money,
    pub failed_billed_requests: u64,
    /// Billed cost of requests refused by a content policy.
    pub rejected_billed_cost: Money,
    pub rejected_billed_requests: u64,
    /// Billed cost of attempts superseded by a retry: the earlier attempt of a request (same
    /// key and body) that a repeat marked as a retry (`attempt` > 1, `retry_of`) followed
    /// within the retry window. Failed and rejected attempts are counted above, not here.
    pub superseded_billed_cost: Money,
    pub superseded_billed_requests: u64,
    /// Cost of thinking tokens at catalog prices.
    pub thinking_cost: Money,
    pub thinking_by_model: Vec<ThinkingShare>,
    /// Web-search grounding and search add-ons.
    pub extras_cost: Money,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, serde::Deserialize)]
pub struct ThinkingShare {
    pub model: String,
    pub thinking_tokens: u64,
    pub thinking_cost: Money,
    /// The model's cost, as in `models`.
    pub cost: Money,
    /// thinking_cost / cost, 6 places.
    pub share: Option<String>,
}

/// Successful requests repeated identically (same key and body, within the retry window,
/// after an earlier attempt that succeeded) without being marked as retries. Both returned
/// what was asked, so this is not waste; it is reported apart, at the repeats' cost.
#[derive(Debug, Clone, Default, Serialize, JsonSchema, PartialEq, serde::Deserialize)]
pub struct RepeatedRequests {
    pub requests: u64,
    pub cost: Money,
}

/// The waste sums, folded record by record; thinking per catalog model.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct WasteFold {
    w: Waste,
    repeated: RepeatedRequests,
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
                superseded_billed_cost: Money::ZERO,
                superseded_billed_requests: 0,
                thinking_cost: Money::ZERO,
                thinking_by_model: Vec::new(),
                extras_cost: Money::ZERO,
            },
            repeated: RepeatedRequests::default(),
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
            // Whether an attempt was retried is known only when its successor arrives.
            match self.retries.add(r, seq + k as u64, p.actual) {
                Some(Repeat::Retried(cost)) => {
                    w.superseded_billed_cost += cost;
                    w.superseded_billed_requests += 1;
                }
                Some(Repeat::Identical) => {
                    self.repeated.requests += 1;
                    self.repeated.cost += p.actual;
                }
                None => {}
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
                // The model's cost as the cost-by-model table states it, so the share reads
                // against the figure shown beside it.
                e.2 += p.actual;
            }
        }
    }

    /// Attempts held for retry detection.
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.retries.queue.len().max(self.retries.attempts.len())
    }

    pub fn finish(
        self,
        catalog: &Catalog,
        unused_quota: Vec<UnusedQuota>,
    ) -> (Waste, RepeatedRequests) {
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
        (w, self.repeated)
    }
}

/// A request: api key and request hash.
type RequestKey = (Option<Text>, u64);

/// An attempt in the window's queue: time, number, request, id hash.
type Queued = (DateTime<Utc>, u64, Option<RequestKey>, Option<u64>);

/// An attempt seen within the retry window.
#[derive(serde::Serialize, serde::Deserialize)]
struct Attempt {
    time: DateTime<Utc>,
    status: Status,
    /// What it cost.
    cost: Money,
    /// A retry already counted its cost as waste.
    counted: bool,
}

/// What a record that repeats an earlier attempt within the window makes of it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Repeat {
    /// The record is marked as a retry of an attempt that was billed and did not fail (the
    /// client gave up on it): that attempt's cost is wasted.
    Retried(Money),
    /// Both succeeded and the record is not marked as a retry: a repeated identical request.
    Identical,
}

impl Repeat {
    /// A billed failure or rejection before the repeat is waste already, counted once with
    /// the failures; an unmarked repeat of a success is a repeated identical request. An
    /// attempt is wasted once, however many retries follow it.
    fn of(earlier: &mut Attempt, now: Status) -> Option<Repeat> {
        let succeeded = matches!(earlier.status, Status::Ok | Status::Retry);
        match now {
            Status::Retry if succeeded && earlier.cost > Money::ZERO && !earlier.counted => {
                earlier.counted = true;
                Some(Repeat::Retried(earlier.cost))
            }
            Status::Ok if succeeded => Some(Repeat::Identical),
            _ => None,
        }
    }
}

/// Finds the attempt each record repeats within the window: the one its `retry_of` names, else
/// the latest one of the same request (api key + request body). Records come in time order,
/// and an attempt older than the window before the current record can no longer be repeated:
/// it is dropped, so the state holds only the window's records.
#[derive(serde::Serialize, serde::Deserialize)]
struct Retries {
    window_seconds: u64,
    /// The window's attempts, by their number in the input.
    attempts: HashMap<u64, Attempt>,
    /// The latest attempt of each request.
    latest: HashMap<RequestKey, u64>,
    /// The latest attempt of each id (hashed), for `retry_of`.
    ids: HashMap<u64, u64>,
    /// Attempts in arrival (time) order, to drop the expired ones.
    queue: VecDeque<Queued>,
}

impl Retries {
    fn new(window_seconds: u64) -> Retries {
        Retries {
            window_seconds,
            attempts: HashMap::default(),
            latest: HashMap::default(),
            ids: HashMap::default(),
            queue: VecDeque::new(),
        }
    }

    /// Gaps are whole seconds, truncated, as the window is counted.
    fn within(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<bool> {
        let gap = (to - from).num_seconds();
        (gap >= 0).then_some(gap as u64 <= self.window_seconds)
    }

    /// Records one attempt, which cost `cost`; returns what it makes of the attempt it repeats.
    fn add(&mut self, r: &UsageRecord, seq: u64, cost: Money) -> Option<Repeat> {
        // A truncated gap never shrinks as time advances, so an expired attempt stays expired;
        // equal timestamps have a gap of zero and are never expired.
        while let Some((t, _, _, _)) = self.queue.front() {
            if self.within(*t, r.time) != Some(false) {
                break;
            }
            if let Some((_, s, key, id)) = self.queue.pop_front() {
                self.attempts.remove(&s);
                if let Some(key) = key
                    && self.latest.get(&key) == Some(&s)
                {
                    self.latest.remove(&key);
                }
                if let Some(id) = id
                    && self.ids.get(&id) == Some(&s)
                {
                    self.ids.remove(&id);
                }
            }
        }
        // An aggregate row sums many requests: which of them were retries is not in it.
        if r.is_aggregate() {
            return None;
        }
        let key = r.request_hash.map(|h| (r.api_key.clone(), h));
        let id =
            r.id.as_deref()
                .map(|id| crate::ingest::hash_bytes(id.as_bytes()));
        // The attempt a retry names, else the latest of the same request.
        let earlier = r
            .retry_of
            .and_then(|h| self.ids.get(&h))
            .or_else(|| key.as_ref().and_then(|k| self.latest.get(k)))
            .copied();
        let repeat = match earlier {
            Some(e) => {
                let within = self
                    .attempts
                    .get(&e)
                    .and_then(|a| self.within(a.time, r.time));
                match self.attempts.get_mut(&e) {
                    Some(a) if within == Some(true) => Repeat::of(a, r.status),
                    _ => None,
                }
            }
            None => None,
        };
        if key.is_some() || id.is_some() {
            self.attempts.insert(
                seq,
                Attempt {
                    time: r.time,
                    status: r.status,
                    cost,
                    counted: false,
                },
            );
            if let Some(k) = &key {
                self.latest.insert(k.clone(), seq);
            }
            if let Some(id) = id {
                self.ids.insert(id, seq);
            }
            self.queue.push_back((r.time, seq, key, id));
        }
        repeat
    }
}
