//! The re-pricing engine: every record under the actual terms and under every scenario.
//! Records are independent except for subscriptions, whose daily quota is consumed in time
//! order; that pass runs after the parallel one.

use crate::catalog::PlanUnit;
use crate::catalog::{Catalog, ModelEntry, PricingInput, Tier};
use crate::money::Money;
use crate::record::{Kind, Status, UsageRecord};
use crate::scenario::{Action, Filter, Scenario, ScenarioSet};
use chrono::{NaiveDate, Timelike};
use chrono_tz::Tz;
use rayon::prelude::*;
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
pub struct Priced {
    /// Index of the resolved catalog model.
    pub model: Option<usize>,
    /// What was paid: the log's billed cost, else the catalog price at the record's tier.
    pub actual: Money,
    /// The catalog price at the record's tier, when the catalog can price it.
    pub list: Option<Money>,
    pub billed_in_log: bool,
    pub thinking_cost: Money,
    pub extras_cost: Money,
    /// Why the catalog could not price the record (unknown model, missing size...).
    pub unpriced: Option<String>,
    /// Cost under each scenario, in scenario order.
    pub scenario: Vec<Money>,
    /// Model each scenario priced the record on (None: unchanged).
    pub via: Vec<Option<usize>>,
    pub day: NaiveDate,
    pub hour: u32,
}

/// Why a scenario left records unchanged: (scenario index, model, reason) -> records.
pub type NotApplied = BTreeMap<Miss, u64>;

/// (scenario index, model, reason).
pub type Miss = (usize, String, String);

pub struct Repriced {
    pub priced: Vec<Priced>,
    pub not_applied: NotApplied,
    /// Subscription scenarios: plan usage per day, for the quota-waste analysis.
    pub plan_days: Vec<BTreeMap<NaiveDate, u64>>,
}

pub fn input_of<'a>(r: &'a UsageRecord, day: NaiveDate, own: bool) -> PricingInput<'a> {
    PricingInput {
        kind: r.kind,
        tokens: r.tokens,
        images: r.images,
        image_size: r.image_size,
        quality: r.quality.as_deref(),
        extras: r.extras,
        day,
        own_tokens: own,
    }
}

fn tier_of(r: &UsageRecord) -> Tier {
    if r.batch { Tier::Batch } else { Tier::Standard }
}

pub fn reprice(records: &[UsageRecord], catalog: &Catalog, set: &ScenarioSet, tz: Tz) -> Repriced {
    // A log has few distinct model names: resolve each once, not once per record.
    let mut resolved: std::collections::HashMap<&str, Option<usize>> =
        std::collections::HashMap::new();
    for r in records {
        resolved.entry(r.model.as_str()).or_insert_with(|| {
            catalog
                .resolve(&r.model)
                .and_then(|m| catalog.models().iter().position(|x| x.id == m.id))
        });
    }
    let results: Vec<(Priced, Vec<Miss>)> = records
        .par_iter()
        .map(|r| {
            price_one(
                r,
                resolved.get(r.model.as_str()).copied().flatten(),
                catalog,
                set,
                tz,
            )
        })
        .collect();
    let mut not_applied = NotApplied::new();
    let mut priced = Vec::with_capacity(results.len());
    for (p, misses) in results {
        for m in misses {
            *not_applied.entry(m).or_default() += 1;
        }
        priced.push(p);
    }
    let mut plan_days = vec![BTreeMap::new(); set.scenarios.len()];
    for (i, s) in set.scenarios.iter().enumerate() {
        if let Action::Subscription(plan) = &s.action {
            plan_days[i] = apply_plan(i, s, plan, records, &mut priced, catalog);
        }
    }
    Repriced {
        priced,
        not_applied,
        plan_days,
    }
}

fn price_one(
    r: &UsageRecord,
    model_idx: Option<usize>,
    catalog: &Catalog,
    set: &ScenarioSet,
    tz: Tz,
) -> (Priced, Vec<Miss>) {
    let local = r.time.with_timezone(&tz);
    let day = local.date_naive();
    // Prices take effect on calendar days in UTC, as providers publish them.
    let price_day = r.time.date_naive();
    let model = model_idx.map(|i| &catalog.models()[i]);
    let own = input_of(r, price_day, true);
    let (list, unpriced) = match model {
        None => (None, Some(format!("unknown model {}", r.model))),
        Some(m) => match catalog.cost(m, &own, tier_of(r)) {
            Ok(c) => (Some(c), None),
            Err(e) => (None, Some(e.to_string())),
        },
    };
    let actual = r.billed_cost.or(list).unwrap_or(Money::ZERO);
    let mut p = Priced {
        model: model_idx,
        actual,
        list,
        billed_in_log: r.billed_cost.is_some(),
        thinking_cost: model
            .map(|m| catalog.thinking_cost(m, &own))
            .unwrap_or(Money::ZERO),
        extras_cost: catalog.extras_cost(&r.extras, price_day),
        unpriced,
        scenario: vec![actual; set.scenarios.len()],
        via: vec![None; set.scenarios.len()],
        day,
        hour: local.hour(),
    };
    let mut misses = Vec::new();
    let Some(m) = model else {
        for i in 0..set.scenarios.len() {
            misses.push((i, r.model.clone(), "unknown model".to_string()));
        }
        return (p, misses);
    };
    for (i, s) in set.scenarios.iter().enumerate() {
        if !matches(&s.filter, r, m, p.hour) {
            continue;
        }
        match scenario_cost(s, r, m, &p, catalog, price_day) {
            Ok(Some((cost, via))) => {
                p.scenario[i] = cost;
                p.via[i] = via.and_then(|id| catalog.models().iter().position(|x| x.id == id));
            }
            Ok(None) => {}
            Err(reason) => misses.push((i, m.id.clone(), reason)),
        }
    }
    (p, misses)
}

fn matches(f: &Filter, r: &UsageRecord, m: &ModelEntry, hour: u32) -> bool {
    (f.keys.is_empty() || r.api_key.as_ref().is_some_and(|k| f.keys.contains(k)))
        && (f.models.is_empty() || f.models.contains(&m.id))
        && (f.hours.is_empty() || f.hours.contains(&hour))
}

/// Ok(None): the scenario does not concern this record. Err: it does, but cannot apply.
fn scenario_cost(
    s: &Scenario,
    r: &UsageRecord,
    m: &ModelEntry,
    p: &Priced,
    catalog: &Catalog,
    day: NaiveDate,
) -> Result<Option<(Money, Option<String>)>, String> {
    match &s.action {
        Action::Batch => {
            if r.batch {
                return Ok(None);
            }
            let (price, _) = catalog.price_on(m, day);
            let d = price.batch_discount.ok_or("no batch tier")?;
            // Batch pricing scales every component, so it scales what was actually paid.
            let variable = p.actual - p.extras_cost;
            Ok(Some((
                variable * (rust_decimal::Decimal::ONE - d.0) + p.extras_cost,
                Some(m.id.clone()),
            )))
        }
        Action::Substitute(map) => {
            let Some(to) = map.get(&m.id) else {
                return Ok(None);
            };
            let target = catalog.model(to).ok_or("substitute not in catalog")?;
            let cost = catalog
                .cost(target, &input_of(r, day, false), tier_of(r))
                .or_else(|_| catalog.cost(target, &input_of(r, day, false), Tier::Standard))
                .map_err(|e| e.to_string())?;
            Ok(Some((cost, Some(to.clone()))))
        }
        Action::Cheapest { allow } => {
            let mut best: (Money, Option<String>) = (p.actual, None);
            for c in catalog.models() {
                if c.kind != r.kind || c.id == m.id {
                    continue;
                }
                if !allow.is_empty() && !allow.iter().any(|a| a == &c.id || a == &c.provider) {
                    continue;
                }
                let cost = catalog
                    .cost(c, &input_of(r, day, false), tier_of(r))
                    .or_else(|_| catalog.cost(c, &input_of(r, day, false), Tier::Standard));
                if let Ok(cost) = cost
                    && cost < best.0
                {
                    best = (cost, Some(c.id.clone()));
                }
            }
            Ok(best.1.is_some().then_some(best))
        }
        Action::Subscription(_) => Ok(None),
    }
}

/// Day by day, in time order, covered usage up to the daily quota is paid by the plan's fee
/// (added separately); the rest stays at pay-as-you-go prices. Returns units used per day.
fn apply_plan(
    i: usize,
    s: &Scenario,
    plan: &crate::catalog::PlanEntry,
    records: &[UsageRecord],
    priced: &mut [Priced],
    catalog: &Catalog,
) -> BTreeMap<NaiveDate, u64> {
    let mut order: Vec<usize> = (0..records.len()).collect();
    order.sort_by_key(|&k| (priced[k].day, records[k].time, k));
    let mut used: BTreeMap<NaiveDate, u64> = BTreeMap::new();
    for k in order {
        let r = &records[k];
        let p = &mut priced[k];
        let Some(mi) = p.model else { continue };
        let m = &catalog.models()[mi];
        if !plan.models.contains(&m.id) || !matches(&s.filter, r, m, p.hour) {
            continue;
        }
        let units = match plan.unit {
            PlanUnit::Images if r.kind == Kind::Image => {
                u64::from(r.images.max(u32::from(r.status != Status::Ok)))
            }
            PlanUnit::Images => 0,
            PlanUnit::Requests => 1,
        };
        if units == 0 {
            continue;
        }
        let day_used = used.entry(p.day).or_default();
        let left = plan
            .daily_quota
            .map_or(units, |q| q.saturating_sub(*day_used));
        let covered = left.min(units);
        *day_used += units;
        let variable = p.actual - p.extras_cost;
        let uncovered_share =
            rust_decimal::Decimal::from(units - covered) / rust_decimal::Decimal::from(units);
        p.scenario[i] = variable * uncovered_share + p.extras_cost;
        if covered > 0 {
            p.via[i] = Some(mi);
        }
    }
    used
}
