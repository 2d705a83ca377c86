//! Per-day, per-model, per-key and per-substitution tables.

use super::{Period, days, key_label, plan_of, plans::prorate};
use crate::catalog::Catalog;
use crate::money::Money;
use crate::record::UsageRecord;
use crate::reprice::Repriced;
use crate::scenario::ScenarioSet;
use chrono::NaiveDate;
use rustc_hash::FxHashMap as HashMap;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct DayRow {
    pub day: NaiveDate,
    pub records: u64,
    pub actual: Money,
    /// Cost under each scenario, plan fees prorated onto the day.
    pub scenarios: Vec<Money>,
    pub images: u64,
    pub tokens: crate::record::Tokens,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SavingsRow {
    pub scenario: String,
    pub day: NaiveDate,
    pub model: String,
    /// The model or tier the records were re-priced on ("" when unchanged, "plan fee").
    pub via: String,
    pub records: u64,
    pub actual: Money,
    pub cost: Money,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct ModelRow {
    /// Catalog id, or the logged name when the catalog does not know it.
    pub model: String,
    pub records: u64,
    pub images: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub thinking_tokens: u64,
    pub cost: Money,
}

impl ModelRow {
    fn empty(model: String) -> ModelRow {
        ModelRow {
            model,
            records: 0,
            images: 0,
            input_tokens: 0,
            output_tokens: 0,
            thinking_tokens: 0,
            cost: Money::ZERO,
        }
    }

    fn add(&mut self, o: &ModelRow) {
        self.records += o.records;
        self.images += o.images;
        self.input_tokens += o.input_tokens;
        self.output_tokens += o.output_tokens;
        self.thinking_tokens += o.thinking_tokens;
        self.cost += o.cost;
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct KeyRow {
    /// Label or last four characters; never the whole key.
    pub key: String,
    pub records: u64,
    pub cost: Money,
}

pub fn by_day(
    records: &[UsageRecord],
    rp: &Repriced,
    set: &ScenarioSet,
    period: &Period,
) -> Vec<DayRow> {
    let n = set.scenarios.len();
    let empty = |d: NaiveDate| DayRow {
        day: d,
        records: 0,
        actual: Money::ZERO,
        scenarios: vec![Money::ZERO; n],
        images: 0,
        tokens: crate::record::Tokens::default(),
    };
    let mut rows: BTreeMap<NaiveDate, DayRow> =
        days(period).into_iter().map(|d| (d, empty(d))).collect();
    for (r, p) in records.iter().zip(&rp.priced) {
        let row = rows.entry(p.day).or_insert_with(|| empty(p.day));
        row.records += 1;
        row.actual += p.actual;
        row.images += u64::from(r.images);
        row.tokens.add(&r.tokens);
        for (c, (cost, _)) in row.scenarios.iter_mut().zip(p.each(n)) {
            *c += cost;
        }
    }
    for i in 0..n {
        if let Some(plan) = plan_of(set, i) {
            for row in rows.values_mut() {
                row.scenarios[i] += prorate(plan.monthly_fee, &[row.day]);
            }
        }
    }
    rows.into_values().collect()
}

/// (via model index, records, actual cost, cost under the scenario).
type ViaSum = (Option<usize>, u64, Money, Money);

/// (scenario index, day, model, via).
type SavingsKey = (usize, NaiveDate, String, String);

pub fn savings(
    rp: &Repriced,
    catalog: &Catalog,
    set: &ScenarioSet,
    period: &Period,
) -> Vec<SavingsRow> {
    let name = |m: Option<usize>| m.map(|i| catalog.models()[i].id.clone());
    // Summed on small copyable keys first; names are attached once per group, not per record.
    // One lookup per record for its (day, model); under it, each scenario has the few models
    // it priced records on, searched in a short list.
    let n_sc = set.scenarios.len();
    let mut sums: HashMap<(NaiveDate, Option<usize>), Vec<Vec<ViaSum>>> = HashMap::default();
    for p in &rp.priced {
        let per = sums
            .entry((p.day, p.model))
            .or_insert_with(|| vec![Vec::new(); n_sc]);
        for (list, (cost, via)) in per.iter_mut().zip(p.each(n_sc)) {
            match list.iter_mut().find(|e| e.0 == via) {
                Some(e) => {
                    e.1 += 1;
                    e.2 += p.actual;
                    e.3 += cost;
                }
                None => list.push((via, 1, p.actual, cost)),
            }
        }
    }
    let groups = sums.into_iter().flat_map(|((day, model), per)| {
        per.into_iter().enumerate().flat_map(move |(i, list)| {
            list.into_iter()
                .map(move |(via, n, actual, cost)| ((i, day, model, via), (n, actual, cost)))
        })
    });
    let mut acc: BTreeMap<SavingsKey, (u64, Money, Money)> = BTreeMap::new();
    for ((i, day, model, via), (n, actual, cost)) in groups {
        let model = name(model).unwrap_or_else(|| "(unknown)".to_string());
        let via = match (&set.scenarios[i].action, via) {
            (_, None) => String::new(),
            (crate::scenario::Action::Batch, Some(_)) => "batch tier".to_string(),
            (crate::scenario::Action::Subscription(plan), Some(_)) => format!("{} quota", plan.id),
            (_, v) => name(v).unwrap_or_default(),
        };
        let e = acc
            .entry((i, day, model, via))
            .or_insert((0, Money::ZERO, Money::ZERO));
        e.0 += n;
        e.1 += actual;
        e.2 += cost;
    }
    let all = days(period);
    for i in 0..set.scenarios.len() {
        if let Some(plan) = plan_of(set, i) {
            for d in &all {
                acc.insert(
                    (i, *d, format!("({})", plan.id), "plan fee".to_string()),
                    (0, Money::ZERO, prorate(plan.monthly_fee, &[*d])),
                );
            }
        }
    }
    acc.into_iter()
        .map(
            |((i, day, model, via), (records, actual, cost))| SavingsRow {
                scenario: set.scenarios[i].name.clone(),
                day,
                model,
                via,
                records,
                actual,
                cost,
            },
        )
        .collect()
}

pub fn models_and_keys(
    records: &[UsageRecord],
    rp: &Repriced,
    catalog: &Catalog,
    names: &BTreeMap<String, String>,
) -> (Vec<ModelRow>, Vec<KeyRow>) {
    // Summed on borrowed keys first; names and labels are made once per model and key.
    let mut by_model: HashMap<Result<usize, &str>, ModelRow> = HashMap::default();
    let mut by_key: HashMap<Option<&str>, (u64, Money)> = HashMap::default();
    for (r, p) in records.iter().zip(&rp.priced) {
        let m = by_model
            .entry(p.model.ok_or(&*r.model))
            .or_insert_with(|| ModelRow::empty(String::new()));
        m.add(&ModelRow {
            model: String::new(),
            records: 1,
            images: u64::from(r.images),
            input_tokens: r.tokens.input,
            output_tokens: r.tokens.output,
            thinking_tokens: r.tokens.thinking,
            cost: p.actual,
        });
        let k = by_key
            .entry(r.api_key.as_deref())
            .or_insert((0, Money::ZERO));
        k.0 += 1;
        k.1 += p.actual;
    }
    let mut models: BTreeMap<String, ModelRow> = BTreeMap::new();
    for (which, row) in by_model {
        let id = match which {
            Ok(m) => catalog.models()[m].id.clone(),
            Err(logged) => logged.to_string(),
        };
        // Two groups meet only when a logged name equals another model's catalog id.
        models
            .entry(id.clone())
            .or_insert_with(|| ModelRow::empty(id))
            .add(&row);
    }
    let mut keys: BTreeMap<String, KeyRow> = BTreeMap::new();
    for (key, (n, cost)) in by_key {
        let label = key_label(key, names);
        let k = keys.entry(label.clone()).or_insert_with(|| KeyRow {
            key: label,
            records: 0,
            cost: Money::ZERO,
        });
        k.records += n;
        k.cost += cost;
    }
    let mut models: Vec<ModelRow> = models.into_values().collect();
    models.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.model.cmp(&b.model)));
    let mut keys: Vec<KeyRow> = keys.into_values().collect();
    keys.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.key.cmp(&b.key)));
    (models, keys)
}
