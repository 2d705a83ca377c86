//! Per-day tables: cost per day under each scenario, and savings per scenario, day, model and
//! the model or tier records were re-priced on. Summed per day with records; every day of the
//! period (known only at the end) is filled in, with the plan fees, when finished.

use super::{Period, Swaps, calendar_days, plan_of, plans::seat_fee};
use crate::catalog::Catalog;
use crate::money::Money;
use crate::record::UsageRecord;
use crate::reprice::Priced;
use crate::scenario::{Action, ScenarioSet};
use chrono::NaiveDate;
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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

/// The rows of the days with records. What each scenario makes of a day comes, when finished,
/// from the sums [`Savings`] keeps per (day, model): they are not added a second time here.
#[derive(serde::Serialize, serde::Deserialize)]
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
        for (r, p) in records.iter().zip(priced) {
            let row = self
                .rows
                .entry(p.day)
                .or_insert_with(|| empty_day(p.day, 0));
            row.records += 1;
            row.actual += p.actual;
            row.images += u64::from(r.images);
            row.tokens.add(&r.tokens);
        }
    }

    /// Every day of the period, with plan fees prorated onto each day. `swapped`: per day, the
    /// records each scenario priced ([`Savings::swapped`]).
    pub fn finish(
        self,
        set: &ScenarioSet,
        period: &Period,
        seats: &[u32],
        swapped: &HashMap<NaiveDate, Swaps>,
    ) -> Vec<DayRow> {
        let n = self.scenarios;
        let mut rows: BTreeMap<NaiveDate, DayRow> = self
            .rows
            .into_iter()
            .map(|(day, mut row)| {
                let swaps = swapped.get(&day);
                row.scenarios = (0..n)
                    .map(|i| swaps.map_or(row.actual, |s| s.cost(i, row.actual)))
                    .collect();
                (day, row)
            })
            .collect();
        for d in calendar_days(period) {
            rows.entry(d).or_insert_with(|| empty_day(d, n));
        }
        for (i, &n) in seats.iter().enumerate() {
            if let Some(plan) = plan_of(set, i) {
                for row in rows.values_mut() {
                    row.scenarios[i] += seat_fee(plan.monthly_fee, n, &[row.day]);
                }
            }
        }
        rows.into_values().collect()
    }
}

/// What [`Savings::swapped`] gives.
pub struct Swapped {
    pub total: Swaps,
    pub by_day: HashMap<NaiveDate, Swaps>,
    /// Per scenario: the records it re-priced on a model, and what they actually cost.
    pub changed: Vec<(u64, Money)>,
}

/// (via model index, records, actual cost, cost under the scenario).
type ViaSum = (Option<usize>, u64, Money, Money);

/// (scenario index, day, model, via).
type SavingsKey = (usize, NaiveDate, String, String);

/// Summed on small copyable keys; names are attached once per group, when finished. One
/// lookup per record for its (day, model); under it, each scenario has the few models it
/// priced records on, searched in a short list. Records a scenario left alone are the group's
/// records less those it priced, so a record adds only to the scenarios that priced it.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Savings {
    scenarios: usize,
    sums: HashMap<(NaiveDate, Option<usize>), Group>,
}

/// A (day, model)'s records and actual cost; per scenario, the sums of those it priced.
#[derive(serde::Serialize, serde::Deserialize)]
struct Group {
    records: u64,
    actual: Money,
    priced: Vec<Vec<ViaSum>>,
}

impl Group {
    /// Per scenario, every record's sums by via: those the scenario left alone are under no
    /// via, with those it priced on no model.
    fn by_via(self) -> impl Iterator<Item = Vec<ViaSum>> {
        let (records, actual) = (self.records, self.actual);
        self.priced.into_iter().map(move |mut list| {
            let (n, was) = list
                .iter()
                .fold((0, Money::ZERO), |(n, a), e| (n + e.1, a + e.2));
            let (left, left_actual) = (records - n, actual - was);
            if left > 0 {
                match list.iter_mut().find(|e| e.0.is_none()) {
                    Some(e) => {
                        e.1 += left;
                        e.2 += left_actual;
                        e.3 += left_actual;
                    }
                    None => list.push((None, left, left_actual, left_actual)),
                }
            }
            list
        })
    }
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
            let group = self.sums.entry((p.day, p.model)).or_insert_with(|| Group {
                records: 0,
                actual: Money::ZERO,
                priced: vec![Vec::new(); n_sc],
            });
            group.records += 1;
            group.actual += p.actual;
            for (i, cost, via) in p.changes() {
                let list = &mut group.priced[i];
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

    /// What the records each scenario priced actually cost and cost under it: over the whole
    /// input, and per day; and per scenario the records it re-priced on a model, with their
    /// actual cost. Sums of the (day, model) groups, which are exact, so their order does not
    /// matter.
    pub fn swapped(&self) -> Swapped {
        let n = self.scenarios;
        let mut out = Swapped {
            total: Swaps::new(n),
            by_day: HashMap::default(),
            changed: vec![(0, Money::ZERO); n],
        };
        for ((day, _), group) in &self.sums {
            let day_swaps = out.by_day.entry(*day).or_insert_with(|| Swaps::new(n));
            for (i, list) in group.priced.iter().enumerate() {
                for &(via, records, actual, cost) in list {
                    out.total.add_one(i, actual, cost);
                    day_swaps.add_one(i, actual, cost);
                    if via.is_some() {
                        out.changed[i].0 += records;
                        out.changed[i].1 += actual;
                    }
                }
            }
        }
        out
    }

    pub fn finish(
        self,
        catalog: &Catalog,
        set: &ScenarioSet,
        period: &Period,
        seats: &[u32],
    ) -> Vec<SavingsRow> {
        let name = |m: Option<usize>| m.map(|i| catalog.models()[i].id.clone());
        let groups = self.sums.into_iter().flat_map(|((day, model), group)| {
            group.by_via().enumerate().flat_map(move |(i, list)| {
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
                // The same model at another provider: the pairs are in summary.json's providers.
                (Action::SwitchProvider { .. } | Action::CheapestProvider { .. }, Some(_)) => {
                    "provider switch".to_string()
                }
                (_, v) => name(v).unwrap_or_default(),
            };
            let e = acc
                .entry((i, day, model, via))
                .or_insert((0, Money::ZERO, Money::ZERO));
            e.0 += n;
            e.1 += actual;
            e.2 += cost;
        }
        let all = calendar_days(period);
        for (i, &n) in seats.iter().enumerate() {
            if let Some(plan) = plan_of(set, i) {
                for d in &all {
                    acc.insert(
                        (i, *d, format!("({})", plan.id), "plan fee".to_string()),
                        (0, Money::ZERO, seat_fee(plan.monthly_fee, n, &[*d])),
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
