//! Per-day tables: cost per day under each scenario, and savings per scenario, day, model and
//! the model or tier records were re-priced on. Summed per day with records; every day of the
//! period (known only at the end) is filled in, with the plan fees, when finished.

use super::{Period, days, plan_of, plans::prorate};
use crate::catalog::Catalog;
use crate::money::Money;
use crate::record::UsageRecord;
use crate::reprice::Priced;
use crate::scenario::{Action, ScenarioSet};
use chrono::NaiveDate;
use rustc_hash::FxHashMap as HashMap;
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

fn empty_day(day: NaiveDate, scenarios: usize) -> DayRow {
    DayRow {
        day,
        records: 0,
        actual: Money::ZERO,
        scenarios: vec![Money::ZERO; scenarios],
        images: 0,
        tokens: crate::record::Tokens::default(),
    }
}

/// The rows of the days with records.
pub struct ByDay {
    scenarios: usize,
    rows: BTreeMap<NaiveDate, DayRow>,
}

impl ByDay {
    pub fn new(scenarios: usize) -> ByDay {
        ByDay {
            scenarios,
            rows: BTreeMap::new(),
        }
    }

    pub fn add(&mut self, records: &[UsageRecord], priced: &[Priced]) {
        let n = self.scenarios;
        for (r, p) in records.iter().zip(priced) {
            let row = self
                .rows
                .entry(p.day)
                .or_insert_with(|| empty_day(p.day, n));
            row.records += 1;
            row.actual += p.actual;
            row.images += u64::from(r.images);
            row.tokens.add(&r.tokens);
            for (c, (cost, _)) in row.scenarios.iter_mut().zip(p.each(n)) {
                *c += cost;
            }
        }
    }

    /// Every day of the period, with plan fees prorated onto each day.
    pub fn finish(self, set: &ScenarioSet, period: &Period) -> Vec<DayRow> {
        let n = self.scenarios;
        let mut rows = self.rows;
        for d in days(period) {
            rows.entry(d).or_insert_with(|| empty_day(d, n));
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
}

/// (via model index, records, actual cost, cost under the scenario).
type ViaSum = (Option<usize>, u64, Money, Money);

/// (scenario index, day, model, via).
type SavingsKey = (usize, NaiveDate, String, String);

/// Summed on small copyable keys; names are attached once per group, when finished. One
/// lookup per record for its (day, model); under it, each scenario has the few models it
/// priced records on, searched in a short list.
pub struct Savings {
    scenarios: usize,
    sums: HashMap<(NaiveDate, Option<usize>), Vec<Vec<ViaSum>>>,
}

impl Savings {
    pub fn new(scenarios: usize) -> Savings {
        Savings {
            scenarios,
            sums: HashMap::default(),
        }
    }

    pub fn add(&mut self, priced: &[Priced]) {
        let n_sc = self.scenarios;
        for p in priced {
            let per = self
                .sums
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
    }

    pub fn finish(self, catalog: &Catalog, set: &ScenarioSet, period: &Period) -> Vec<SavingsRow> {
        let name = |m: Option<usize>| m.map(|i| catalog.models()[i].id.clone());
        let groups = self.sums.into_iter().flat_map(|((day, model), per)| {
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
                (Action::Batch, Some(_)) => "batch tier".to_string(),
                (Action::Subscription(plan), Some(_)) => format!("{} quota", plan.id),
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
}
