//! The billed usage of focus.csv, folded per row: (day, key label, provider, model, unit,
//! batch), so the export needs no records.

use super::FocusUnit;
use super::key_label;
use crate::catalog::Catalog;
use crate::money::Money;
use crate::record::{Kind, UsageRecord};
use crate::reprice::Priced;
use crate::scenario::ScenarioSet;
use crate::text::Text;
use chrono::NaiveDate;
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;

/// Usage rows are grouped by (day, key label, provider, model, unit, batch).
pub(super) type UsageKey = (NaiveDate, String, String, String, FocusUnit, bool);

/// The billed usage of the FOCUS export, grouped as its rows are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FocusUsage {
    pub(super) rows: BTreeMap<UsageKey, UsageSum>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct UsageSum {
    pub(super) publisher: String,
    pub(super) billed: Money,
    pub(super) list: Money,
    pub(super) consumed: u64,
    pub(super) requests: u64,
}

/// (day, api key, logged provider, catalog model or logged name, unit, batch): the records'
/// own shared values, so a record costs no allocation. Several such groups may make one row.
type RawKey = (
    NaiveDate,
    Option<Text>,
    Option<Text>,
    Result<usize, Text>,
    FocusUnit,
    bool,
);

/// A row's usage summed over its records, and the number of the last record it took.
#[derive(serde::Serialize, serde::Deserialize)]
struct RawSum {
    last: u64,
    billed: Money,
    list: Money,
    consumed: u64,
    requests: u64,
}

#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct UsageFold {
    raw: HashMap<RawKey, RawSum>,
}

impl UsageFold {
    /// `seq` numbers the first record of the chunk in the whole input.
    pub fn add(&mut self, records: &[UsageRecord], priced: &[Priced], seq: u64) {
        for (k, (r, p)) in records.iter().zip(priced).enumerate() {
            let unit = match r.kind {
                Kind::Image => FocusUnit::Images,
                Kind::Text => FocusUnit::Tokens,
            };
            let model = p.model.ok_or_else(|| r.model.clone());
            let key = (
                p.day,
                r.api_key.clone(),
                r.provider.clone(),
                model,
                unit,
                r.batch,
            );
            let s = self.raw.entry(key).or_insert(RawSum {
                last: 0,
                billed: Money::ZERO,
                list: Money::ZERO,
                consumed: 0,
                requests: 0,
            });
            s.last = seq + k as u64;
            s.billed += p.actual;
            // Records the catalog cannot price have no list price; what they were billed
            // stands in, so ListCost never leaves out a billed request.
            s.list += p.list.unwrap_or(p.actual);
            s.consumed += match unit {
                FocusUnit::Images => u64::from(r.images),
                FocusUnit::Tokens => {
                    let t = &r.tokens;
                    t.input
                        + t.output
                        + t.thinking
                        + t.cache_read
                        + t.cache_write
                        + t.cache_write_1h
                }
            };
            s.requests += u64::from(r.requests);
        }
    }

    /// Names the groups. Where groups share a row, the publisher is the one of the latest
    /// record, as if each record had named it in turn.
    pub fn finish(self, catalog: &Catalog, set: &ScenarioSet) -> FocusUsage {
        let mut named: BTreeMap<UsageKey, (u64, UsageSum)> = BTreeMap::new();
        for ((day, api_key, logged, model, unit, batch), s) in self.raw {
            let entry = model.as_ref().ok().map(|m| &catalog.models()[*m]);
            let model = match &model {
                Ok(m) => catalog.models()[*m].id.clone(),
                Err(name) => name.to_string(),
            };
            let publisher = entry
                .map(|m| m.provider.clone())
                .or_else(|| logged.as_deref().map(str::to_string))
                .unwrap_or_else(|| "(unknown)".to_string());
            let provider = logged
                .as_deref()
                .map_or_else(|| publisher.clone(), str::to_string);
            let key = key_label(api_key.as_deref(), &set.key_names);
            let (last, row) = named
                .entry((day, key, provider, model, unit, batch))
                .or_default();
            if s.last >= *last {
                *last = s.last;
                row.publisher = publisher;
            }
            row.billed += s.billed;
            row.list += s.list;
            row.consumed += s.consumed;
            row.requests += s.requests;
        }
        FocusUsage {
            rows: named.into_iter().map(|(k, (_, row))| (k, row)).collect(),
        }
    }
}
