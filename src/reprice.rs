//! The re-pricing engine: every record under the actual terms and under every scenario.
//! Records are independent except for subscriptions, whose daily quota is consumed in time
//! order; that pass runs after the parallel one. Records come in chunks, in canonical order,
//! so a run never holds all of its priced records at once.

use crate::catalog::{Catalog, Missing, PricingInput, Tier};
use crate::money::Money;
use crate::record::UsageRecord;
use crate::scenario::{Action, Filter, Scenario, ScenarioSet};
use chrono::{DateTime, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use rayon::prelude::*;
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

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
    /// The scenarios that priced this record, in scenario order; every other scenario leaves
    /// it at `actual`. Sparse because most scenarios concern few records.
    changes: Box<[Change]>,
    pub day: NaiveDate,
    pub hour: u32,
}

#[derive(Clone, Copy, Debug)]
struct Change {
    scenario: u16,
    /// Catalog index of the model the scenario priced the record on; `NO_MODEL` for none.
    via: u32,
    cost: Money,
}

const NO_MODEL: u32 = u32::MAX;

impl Change {
    fn new(i: usize, cost: Money, via: Option<usize>) -> Change {
        Change {
            scenario: i as u16,
            via: via.map_or(NO_MODEL, |v| v as u32),
            cost,
        }
    }

    fn via(&self) -> Option<usize> {
        (self.via != NO_MODEL).then_some(self.via as usize)
    }
}

impl Priced {
    /// (cost, via) under each of the first `n` scenarios, in order: one walk for all of them.
    #[cfg(test)]
    pub fn each(&self, n: usize) -> impl Iterator<Item = (Money, Option<usize>)> + '_ {
        let mut next = self.changes.iter().peekable();
        (0..n).map(
            move |i| match next.next_if(|c| usize::from(c.scenario) == i) {
                Some(c) => (c.cost, c.via()),
                None => (self.actual, None),
            },
        )
    }

    /// (scenario, cost, via) of the scenarios that priced this record, in scenario order;
    /// every other scenario leaves it at `actual`. Sums over all scenarios start from the
    /// actual cost and add only these.
    pub fn changes(&self) -> impl Iterator<Item = (usize, Money, Option<usize>)> + '_ {
        self.changes
            .iter()
            .map(|c| (usize::from(c.scenario), c.cost, c.via()))
    }

    fn set(&mut self, i: usize, cost: Money, via: Option<usize>) {
        let c = Change::new(i, cost, via);
        let mut v = std::mem::take(&mut self.changes).into_vec();
        match v.binary_search_by_key(&c.scenario, |x| x.scenario) {
            Ok(k) => v[k] = c,
            Err(k) => v.insert(k, c),
        }
        self.changes = v.into_boxed_slice();
    }
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

/// Why a scenario could not price a record, kept unformatted until the end: the same few
/// reasons repeat for many records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Why<'a> {
    Text(&'static str),
    Price(usize, Missing<'a>),
}

/// (scenario index, catalog model index or the logged name of an unknown model, reason).
type MissKey<'a> = (usize, Result<usize, &'a str>, Why<'a>);

/// A scenario's terms resolved to catalog indices once, so pricing a record compares numbers.
struct Prepared {
    /// Catalog models the filter admits; None: all.
    models: Option<Vec<bool>>,
    /// Substitute: per catalog model, its target (Err: the target is not in the catalog).
    substitute: Vec<Option<Result<usize, ()>>>,
    /// Cheapest: the allowed candidates, in catalog order.
    candidates: Vec<usize>,
    /// Subscription: per catalog model, whether the plan covers it.
    covers: Vec<bool>,
}

fn prepare(s: &Scenario, catalog: &Catalog) -> Prepared {
    let models = catalog.models();
    let index = |id: &str| models.iter().position(|m| m.id == id);
    Prepared {
        models: (!s.filter.models.is_empty()).then(|| {
            models
                .iter()
                .map(|m| s.filter.models.contains(&m.id))
                .collect()
        }),
        substitute: match &s.action {
            Action::Substitute(map) => models
                .iter()
                .map(|m| map.get(&m.id).map(|to| index(to).ok_or(())))
                .collect(),
            _ => Vec::new(),
        },
        candidates: match &s.action {
            Action::Cheapest { allow } => (0..models.len())
                .filter(|&k| {
                    let c = &models[k];
                    allow.is_empty() || allow.iter().any(|a| a == &c.id || a == &c.provider)
                })
                .collect(),
            _ => Vec::new(),
        },
        covers: match &s.action {
            Action::Subscription(plan) => {
                models.iter().map(|m| plan.models.contains(&m.id)).collect()
            }
            _ => Vec::new(),
        },
    }
}

/// One worker's miss counts, added to the chunk's shared ones when the worker's part is done.
struct Misses<'m, 'a> {
    shared: &'m Mutex<HashMap<MissKey<'a>, u64>>,
    local: HashMap<MissKey<'a>, u64>,
    /// The changes of the record being priced.
    scratch: Vec<Change>,
    /// The record being priced, re-priced on each catalog model as far as asked: cheapest and
    /// substitute scenarios ask for the same models again and again.
    on_model: Vec<Option<Result<Money, Missing<'a>>>>,
}

impl Drop for Misses<'_, '_> {
    fn drop(&mut self) {
        // Counts are sums, so the order workers finish in does not matter.
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        for (k, n) in self.local.drain() {
            *shared.entry(k).or_default() += n;
        }
    }
}

/// Prices records chunk by chunk, in canonical order, keeping what must outlive a chunk: the
/// resolved model names, the prepared scenarios, the miss counts and the plans' daily usage.
pub struct Pricer<'a> {
    catalog: &'a Catalog,
    set: &'a ScenarioSet,
    tz: Tz,
    /// A log has few distinct model names: each is resolved once, and its name kept (a shared
    /// `Arc`, not a copy) beyond the chunk it came in.
    resolved: HashMap<Arc<str>, Option<usize>>,
    prepared: Vec<Prepared>,
    /// Misses are counted per chunk on borrowed keys and named here once per distinct key,
    /// so no key outlives its chunk.
    not_applied: NotApplied,
    /// Per scenario (empty for all but subscriptions): plan units used per local day so far.
    plan_days: Vec<BTreeMap<NaiveDate, u64>>,
    /// The time of the last record priced, to check the order the quota walk relies on.
    last: Option<DateTime<Utc>>,
}

impl<'a> Pricer<'a> {
    pub fn new(catalog: &'a Catalog, set: &'a ScenarioSet, tz: Tz) -> Pricer<'a> {
        Pricer {
            catalog,
            set,
            tz,
            resolved: HashMap::default(),
            prepared: set.scenarios.iter().map(|s| prepare(s, catalog)).collect(),
            not_applied: NotApplied::new(),
            plan_days: vec![BTreeMap::new(); set.scenarios.len()],
            last: None,
        }
    }

    /// Prices the next records, which follow the earlier ones in canonical (time) order.
    pub fn price(&mut self, records: &[UsageRecord]) -> Vec<Priced> {
        // Plan quotas are used up in the order records come: out of order, they would be
        // wrong without a sign, so this is checked in every build.
        assert!(
            self.last
                .iter()
                .chain(records.iter().map(|r| &r.time))
                .is_sorted(),
            "records must come in time order"
        );
        if let Some(r) = records.last() {
            self.last = Some(r.time);
        }
        let catalog = self.catalog;
        for r in records {
            if !self.resolved.contains_key(&*r.model) {
                let idx = catalog
                    .resolve(&r.model)
                    .and_then(|m| catalog.models().iter().position(|x| x.id == m.id));
                self.resolved.insert(Arc::clone(&r.model), idx);
            }
        }
        let (set, prepared, resolved, tz) = (self.set, &self.prepared, &self.resolved, self.tz);
        // Priced records are collected straight into one vector (a vector of parts would be
        // copied once more at the peak); each worker counts its misses and adds them up when
        // done.
        let shared: Mutex<HashMap<MissKey<'_>, u64>> = Mutex::new(HashMap::default());
        let mut priced: Vec<Priced> = records
            .par_iter()
            .map_init(
                || Misses {
                    shared: &shared,
                    local: HashMap::default(),
                    scratch: Vec::new(),
                    on_model: Vec::new(),
                },
                |m, r| {
                    let idx = resolved.get(&*r.model).copied().flatten();
                    let mut p = price_one(r, idx, catalog, set, prepared, tz, m);
                    // Exactly sized: a chunk is held until records.parquet has taken it.
                    p.changes = m.scratch.as_slice().into();
                    m.scratch.clear();
                    p
                },
            )
            .collect();
        let misses = shared.into_inner().unwrap_or_else(|e| e.into_inner());
        for ((i, model, why), n) in misses {
            let name = match model {
                Ok(k) => catalog.models()[k].id.clone(),
                Err(logged) => logged.to_string(),
            };
            let reason = match why {
                Why::Text(t) => t.to_string(),
                Why::Price(k, m) => m.error(&catalog.models()[k]).to_string(),
            };
            *self.not_applied.entry((i, name, reason)).or_default() += n;
        }
        for (i, s) in set.scenarios.iter().enumerate() {
            if let Action::Subscription(plan) = &s.action {
                let plan = Plan {
                    i,
                    s,
                    prep: &self.prepared[i],
                    plan,
                };
                let missing = plan.apply(records, &mut priced, &mut self.plan_days[i], catalog);
                for (mi, n) in missing {
                    let name = catalog.models()[mi].id.clone();
                    *self
                        .not_applied
                        .entry((i, name, COUNT_MISSING.to_string()))
                        .or_default() += n;
                }
            }
        }
        priced
    }

    /// Why scenarios left records unchanged, and each subscription's units used per day.
    pub fn finish(self) -> (NotApplied, Vec<BTreeMap<NaiveDate, u64>>) {
        (self.not_applied, self.plan_days)
    }
}

/// Prices all records at once. They must be in canonical order (by time first), as
/// `dedup::dedup` leaves them: subscription quotas are consumed in record order.
pub fn reprice(records: &[UsageRecord], catalog: &Catalog, set: &ScenarioSet, tz: Tz) -> Repriced {
    let mut pricer = Pricer::new(catalog, set, tz);
    let priced = pricer.price(records);
    let (not_applied, plan_days) = pricer.finish();
    Repriced {
        priced,
        not_applied,
        plan_days,
    }
}

fn price_one<'a>(
    r: &'a UsageRecord,
    model_idx: Option<usize>,
    catalog: &'a Catalog,
    set: &ScenarioSet,
    prepared: &[Prepared],
    tz: Tz,
    work: &mut Misses<'_, 'a>,
) -> Priced {
    let misses = &mut work.local;
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
    let p = Priced {
        model: model_idx,
        actual,
        list,
        billed_in_log: r.billed_cost.is_some(),
        thinking_cost: model
            .map(|m| catalog.thinking_cost(m, &own))
            .unwrap_or(Money::ZERO),
        extras_cost: catalog.extras_cost(&r.extras, price_day),
        unpriced,
        changes: Box::default(),
        day,
        hour: local.hour(),
    };
    let Some(mi) = model_idx else {
        for i in 0..set.scenarios.len() {
            *misses
                .entry((i, Err(&*r.model), Why::Text("unknown model")))
                .or_default() += 1;
        }
        return p;
    };
    work.on_model.clear();
    work.on_model.resize(catalog.models().len(), None);
    let mut elsewhere = Elsewhere {
        r,
        u: input_of(r, price_day, false),
        catalog,
        costs: &mut work.on_model,
    };
    for (i, s) in set.scenarios.iter().enumerate() {
        if !matches(&s.filter, &prepared[i], r, mi, p.hour) {
            continue;
        }
        match scenario_cost(s, &prepared[i], r, mi, &p, &mut elsewhere, price_day) {
            Ok(Some((cost, via))) => work.scratch.push(Change::new(i, cost, via)),
            Ok(None) => {}
            Err(why) => *misses.entry((i, Ok(mi), why)).or_default() += 1,
        }
    }
    p
}

/// One record re-priced on other catalog models, each priced once however many scenarios ask.
struct Elsewhere<'w, 'a> {
    r: &'a UsageRecord,
    u: PricingInput<'a>,
    catalog: &'a Catalog,
    costs: &'w mut [Option<Result<Money, Missing<'a>>>],
}

impl<'a> Elsewhere<'_, 'a> {
    /// The record's cost on model `k`: at its own tier, else at the standard one.
    fn cost(&mut self, k: usize) -> Result<Money, Missing<'a>> {
        let (catalog, u, tier) = (self.catalog, &self.u, tier_of(self.r));
        *self.costs[k].get_or_insert_with(|| {
            let m = &catalog.models()[k];
            catalog
                .try_cost(m, u, tier)
                .or_else(|_| catalog.try_cost(m, u, Tier::Standard))
        })
    }
}

fn matches(f: &Filter, prep: &Prepared, r: &UsageRecord, model: usize, hour: u32) -> bool {
    (f.keys.is_empty()
        || r.api_key
            .as_deref()
            .is_some_and(|k| f.keys.iter().any(|x| x == k)))
        && prep.models.as_ref().is_none_or(|ok| ok[model])
        && (f.hours.is_empty() || f.hours.contains(&hour))
}

/// Ok(None): the scenario does not concern this record. Err: it does, but cannot apply.
fn scenario_cost<'a>(
    s: &Scenario,
    prep: &Prepared,
    r: &'a UsageRecord,
    mi: usize,
    p: &Priced,
    elsewhere: &mut Elsewhere<'_, 'a>,
    day: NaiveDate,
) -> Result<Option<(Money, Option<usize>)>, Why<'a>> {
    let catalog = elsewhere.catalog;
    let m = &catalog.models()[mi];
    if matches!(s.action, Action::Substitute(_) | Action::Cheapest { .. }) && count_missing(r, m, p)
    {
        // Another model would price the images it does not know of at nothing.
        if matches!(s.action, Action::Cheapest { .. }) || prep.substitute[mi].is_some() {
            return Err(Why::Text(COUNT_MISSING));
        }
    }
    match &s.action {
        Action::Batch => {
            if r.batch {
                return Ok(None);
            }
            let (price, _) = catalog.price_on(m, day);
            let d = price.batch_discount.ok_or(Why::Text("no batch tier"))?;
            // Batch pricing scales every component, so it scales what was actually paid.
            let variable = p.actual - p.extras_cost;
            Ok(Some((
                variable * (rust_decimal::Decimal::ONE - d.0) + p.extras_cost,
                Some(mi),
            )))
        }
        Action::Substitute(_) => {
            let Some(to) = prep.substitute[mi] else {
                return Ok(None);
            };
            let to = to.map_err(|()| Why::Text("substitute not in catalog"))?;
            let cost = elsewhere.cost(to).map_err(|e| Why::Price(to, e))?;
            Ok(Some((cost, Some(to))))
        }
        Action::Cheapest { .. } => {
            let mut best: (Money, Option<usize>) = (p.actual, None);
            for &k in &prep.candidates {
                if catalog.models()[k].kind != r.kind || k == mi {
                    continue;
                }
                if let Ok(cost) = elsewhere.cost(k)
                    && cost < best.0
                {
                    best = (cost, Some(k));
                }
            }
            Ok(best.1.is_some().then_some(best))
        }
        Action::Subscription(_) => Ok(None),
    }
}

/// Why a scenario left a paid image record as it was: nothing says how many images it made.
const COUNT_MISSING: &str = "image count unknown";

/// A paid, successful record of an image model without an image count: re-priced per image on
/// another model or counted against a plan's image quota, it would cost nothing.
fn count_missing(r: &UsageRecord, m: &crate::catalog::ModelEntry, p: &Priced) -> bool {
    m.kind == crate::record::Kind::Image
        && r.images == 0
        && matches!(
            r.status,
            crate::record::Status::Ok | crate::record::Status::Retry
        )
        && p.actual > Money::ZERO
}

/// A subscription scenario, resolved for the quota walk.
struct Plan<'p> {
    i: usize,
    s: &'p Scenario,
    prep: &'p Prepared,
    plan: &'p crate::catalog::PlanEntry,
}

impl Plan<'_> {
    /// Day by day, in time order, covered usage up to the daily quota is paid by the plan's
    /// fee (added separately); the rest stays at pay-as-you-go prices. `used` holds the units
    /// used per local day so far.
    ///
    /// Records come in canonical order, so they are walked as they come, chunk after chunk,
    /// with `used` kept between chunks. That is the same as walking them day by day, in time
    /// order within each day: a record's coverage depends only on the units used before it on
    /// its own local day, and the records of one day arrive in time order (ties in canonical
    /// order), whatever the days of the records between them. So no sort, and no chunk needs
    /// to see another.
    ///
    /// Returns, per covered model, the paid records left at their price because their image
    /// count is unknown: an image quota would count them as nothing.
    fn apply(
        &self,
        records: &[UsageRecord],
        priced: &mut [Priced],
        used: &mut BTreeMap<NaiveDate, u64>,
        catalog: &Catalog,
    ) -> BTreeMap<usize, u64> {
        let plan = self.plan;
        let mut missing = BTreeMap::new();
        for (r, p) in records.iter().zip(priced.iter_mut()) {
            let Some(mi) = p.model else { continue };
            if !self.prep.covers.get(mi).copied().unwrap_or(false)
                || !matches(&self.s.filter, self.prep, r, mi, p.hour)
            {
                continue;
            }
            if plan.unit == crate::catalog::PlanUnit::Images
                && count_missing(r, &catalog.models()[mi], p)
            {
                *missing.entry(mi).or_default() += 1;
                continue;
            }
            let units = plan.unit.units(r);
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
            p.set(
                self.i,
                variable * uncovered_share + p.extras_cost,
                (covered > 0).then_some(mi),
            );
        }
        missing
    }
}

#[cfg(test)]
mod tests;
