//! Whole-input sums: usage, spend, each scenario's variable cost, the days covered, and the
//! records on each side of a catalog price change.

use super::{Period, PriceChange, TokenTotals};
use crate::catalog::Catalog;
use crate::money::Money;
use crate::record::UsageRecord;
use crate::reprice::Priced;
use crate::text::Text;
use chrono::NaiveDate;
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Totals {
    pub tokens: TokenTotals,
    pub images: u64,
    /// Images per `ImageCount::ALL` entry.
    pub images_by_count: [u64; 4],
    pub by_status: [u64; 4],
    pub billed: Money,
    pub computed: Money,
    /// Logged names of models the catalog does not know.
    pub unknown: HashMap<Text, u64>,
    /// Of those, the records without a cost in the log: in no figure at all.
    pub unknown_unbilled: HashMap<Text, u64>,
    /// (catalog model, reason) of known models the catalog could not price.
    /// Catalog model -> reason -> records.
    pub unpriced: HashMap<usize, HashMap<String, u64>>,
    first: Option<NaiveDate>,
    last: Option<NaiveDate>,
    pub aggregates: Aggregates,
}

/// Rows of usage exports that sum many requests, which the report explains.
#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct Aggregates {
    pub rows: u64,
    pub requests: u64,
    /// Rows whose export does not count requests (Anthropic usage reports).
    pub uncounted: u64,
    /// Image rows without a quality (the OpenAI images usage export), by logged model: rows
    /// and images, priced at the model's default quality.
    pub no_quality: BTreeMap<Text, (u64, u64)>,
}

impl Totals {
    pub fn new() -> Totals {
        Totals {
            tokens: TokenTotals::default(),
            images: 0,
            images_by_count: [0; 4],
            by_status: [0; 4],
            billed: Money::ZERO,
            computed: Money::ZERO,
            unknown: HashMap::default(),
            unknown_unbilled: HashMap::default(),
            unpriced: HashMap::default(),
            first: None,
            last: None,
            aggregates: Aggregates::default(),
        }
    }

    pub fn add(&mut self, records: &[UsageRecord], priced: &[Priced]) {
        for (r, p) in records.iter().zip(priced) {
            self.tokens.input += r.tokens.input;
            self.tokens.output += r.tokens.output;
            self.tokens.thinking += r.tokens.thinking;
            self.tokens.cache_read += r.tokens.cache_read;
            self.tokens.cache_write += r.tokens.cache_write;
            self.tokens.cache_write_1h += r.tokens.cache_write_1h;
            self.images += u64::from(r.images);
            if let Some(c) = r.image_count {
                self.images_by_count[c as usize] += u64::from(r.images);
            }
            self.by_status[r.status as usize] += u64::from(r.requests);
            if p.billed_in_log {
                self.billed += p.actual;
            } else {
                self.computed += p.actual;
            }
            match (p.model, &p.unpriced) {
                (None, _) => {
                    match self.unknown.get_mut(&*r.model) {
                        Some(c) => *c += 1,
                        None => {
                            self.unknown.insert(r.model.clone(), 1);
                        }
                    }
                    if p.cost_unknown() {
                        *self.unknown_unbilled.entry(r.model.clone()).or_default() += 1;
                    }
                }
                (Some(m), Some(reason)) if p.cost_unknown() => {
                    // The reason is copied once per group, not per record.
                    let reasons = self.unpriced.entry(m).or_default();
                    match reasons.get_mut(reason.as_str()) {
                        Some(c) => *c += 1,
                        None => {
                            reasons.insert(reason.clone(), 1);
                        }
                    }
                }
                _ => {}
            }
            if r.is_aggregate() {
                let a = &mut self.aggregates;
                a.rows += 1;
                a.requests += u64::from(r.requests);
                a.uncounted += u64::from(r.requests == 0);
                if r.kind == crate::record::Kind::Image && r.quality.is_none() && r.images > 0 {
                    let e = a.no_quality.entry(r.model.clone()).or_default();
                    e.0 += 1;
                    e.1 += u64::from(r.images);
                }
            }
            self.first = Some(self.first.map_or(p.day, |d| d.min(p.day)));
            self.last = Some(self.last.map_or(p.day, |d| d.max(p.day)));
        }
    }

    /// The last day with records, for budgets that flag the latest day.
    pub fn latest(&self) -> Option<NaiveDate> {
        self.last
    }

    /// --since/--until when given, else the first and last day with records.
    pub fn period(&self, since: Option<NaiveDate>, until: Option<NaiveDate>) -> Period {
        let start = since.or(self.first);
        let end = until.or(self.last);
        let days = match (start, end) {
            (Some(s), Some(e)) if e >= s => (e - s).num_days() as u32 + 1,
            _ => 0,
        };
        Period { start, end, days }
    }
}

/// Records per (catalog model, UTC day): enough to count both sides of any price change.
#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct PriceChanges {
    days: HashMap<(usize, NaiveDate), u64>,
}

impl PriceChanges {
    pub fn add(&mut self, records: &[UsageRecord], priced: &[Priced]) {
        for (r, p) in records.iter().zip(priced) {
            if let Some(m) = p.model {
                // Prices take effect on UTC days, as the re-pricing reads them.
                *self.days.entry((m, r.time.date_naive())).or_default() += 1;
            }
        }
    }

    pub fn finish(self, catalog: &Catalog) -> Vec<PriceChange> {
        let mut per_model: BTreeMap<usize, Vec<(NaiveDate, u64)>> = BTreeMap::new();
        for ((m, day), n) in self.days {
            per_model.entry(m).or_default().push((day, n));
        }
        let mut out = Vec::new();
        for (m, days) in per_model {
            let model = &catalog.models()[m];
            let total: u64 = days.iter().map(|(_, n)| n).sum();
            for v in model.prices.iter().skip(1) {
                let before: u64 = days
                    .iter()
                    .filter(|(d, _)| *d < v.effective)
                    .map(|(_, n)| n)
                    .sum();
                let from = total - before;
                if before > 0 && from > 0 {
                    out.push(PriceChange {
                        model: model.id.clone(),
                        effective: v.effective,
                        source: v.source.clone(),
                        records_before: before,
                        records_from: from,
                    });
                }
            }
        }
        out
    }
}
