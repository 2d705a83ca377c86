//! The re-pricing engine: every record under the actual terms and under every scenario.
//! Records are independent except for subscriptions, whose daily quota is consumed in time
//! order; that pass runs after the parallel one. Records come in chunks, in canonical order,
//! so a run never holds all of its priced records at once.

use crate::catalog::{Catalog, Missing, PricingInput, Tier};
use crate::money::Money;
use crate::provider::ProviderFrom;
use crate::record::UsageRecord;
use crate::scenario::{Action, ScenarioSet};
use crate::text::Text;
use chrono::{DateTime, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use rayon::prelude::*;
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;
use std::sync::Mutex;

use prepared::{Prepared, prepare};
use quota::Plan;
use scenario_cost::{Elsewhere, Target, matches, scenario_cost};

#[derive(Clone, Debug)]
pub struct Priced {
    /// Index of the resolved catalog model.
    pub model: Option<usize>,
    /// The offer of the model whose prices applied (None: the maker's): the provider the log
    /// says the request was bought from.
    pub offer: Option<u16>,
    /// How that provider was found (`Unknown`: the maker's price was used).
    pub provider_from: ProviderFrom,
    /// The log named a provider the catalog has no offer of this model from: the maker's
    /// price was used.
    pub no_offer: bool,
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
    /// it at `actual`. Sparse because most scenarios concern few records. Made with room for a
    /// change per subscription scenario, which the quota walk sets after the parallel pricing:
    /// a reallocation per record and plan was a visible part of re-pricing.
    changes: Vec<Change>,
    pub day: NaiveDate,
    pub hour: u32,
}

#[derive(Clone, Copy, Debug)]
struct Change {
    scenario: u16,
    /// Offer of the model the scenario priced the record at; `NO_OFFER` for the maker's.
    offer: u16,
    /// Catalog index of the model the scenario priced the record on; `NO_MODEL` for none.
    via: u32,
    cost: Money,
}

const NO_MODEL: u32 = u32::MAX;
use crate::catalog::NO_OFFER;
/// The change keeps the record's own provider (every scenario but the provider switches).
const KEEP_OFFER: u16 = NO_OFFER - 1;

impl Change {
    fn new(i: usize, cost: Money, via: Option<usize>) -> Change {
        Change {
            offer: KEEP_OFFER,
            ..Change::at(i, cost, via, None)
        }
    }

    fn at(i: usize, cost: Money, via: Option<usize>, offer: Option<usize>) -> Change {
        Change {
            scenario: i as u16,
            offer: offer.map_or(NO_OFFER, |o| o as u16),
            via: via.map_or(NO_MODEL, |v| v as u32),
            cost,
        }
    }

    fn offer(&self) -> Option<usize> {
        (self.offer != NO_OFFER).then_some(usize::from(self.offer))
    }

    fn via(&self) -> Option<usize> {
        (self.via != NO_MODEL).then_some(self.via as usize)
    }
}

impl Priced {
    /// Nothing priced the record: no cost in the log and none in the catalog. Its `actual`
    /// is then a zero that stands for an unknown, not a cost.
    pub fn cost_unknown(&self) -> bool {
        !self.billed_in_log && self.list.is_none()
    }

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

    /// (scenario, cost, offer) of the scenarios that priced this record at an offer of its
    /// own model: the provider switches. Offer None: the maker's.
    pub fn switches(&self) -> impl Iterator<Item = (usize, Money, Option<usize>)> + '_ {
        self.changes
            .iter()
            .filter(|c| c.via() == self.model && c.offer != KEEP_OFFER)
            .map(|c| (usize::from(c.scenario), c.cost, c.offer()))
    }

    /// The offer whose prices applied, as an index (None: the maker's).
    pub fn offer(&self) -> Option<usize> {
        self.offer.map(usize::from)
    }

    fn set(&mut self, i: usize, cost: Money, via: Option<usize>) {
        let c = Change::new(i, cost, via);
        match self
            .changes
            .binary_search_by_key(&c.scenario, |x| x.scenario)
        {
            Ok(k) => self.changes[k] = c,
            Err(k) => self.changes.insert(k, c),
        }
    }
}

/// Why a scenario left records unchanged: (scenario index, model, reason) -> records.
pub type NotApplied = BTreeMap<Miss, u64>;

/// (scenario index, model, reason).
pub type Miss = (usize, String, String);

pub struct Repriced {
    pub priced: Vec<Priced>,
    pub not_applied: NotApplied,
    /// Subscription scenarios: plan usage per seat and day, for fees and quota waste.
    pub plan_days: Vec<PlanUse>,
}

/// A subscription scenario's usage: plan units asked for per seat and local day. Every seat
/// pays the fee and has its own daily quota.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlanUse {
    pub seats: BTreeMap<String, BTreeMap<NaiveDate, u64>>,
}

impl PlanUse {
    /// Units all seats asked for on `day`.
    pub fn on(&self, day: NaiveDate) -> u64 {
        self.seats.values().filter_map(|d| d.get(&day)).sum()
    }

    /// Seats the plan is bought for: at least one, as a plan nobody used is still one
    /// subscription.
    pub fn count(&self) -> u32 {
        u32::try_from(self.seats.len()).unwrap_or(u32::MAX).max(1)
    }
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
    /// The model has no offer from this provider.
    NoOffer(&'a str),
    /// (model, offer) cannot price the record.
    OfferPrice(usize, Option<usize>, Missing<'a>),
}

/// (scenario index, catalog model index or the logged name of an unknown model, reason).
type MissKey<'a> = (usize, Result<usize, &'a str>, Why<'a>);

/// One worker's miss counts, added to the chunk's shared ones when the worker's part is done.
struct Misses<'m, 'a> {
    shared: &'m Mutex<HashMap<MissKey<'a>, u64>>,
    local: HashMap<MissKey<'a>, u64>,
    /// The changes of the record being priced.
    scratch: Vec<Change>,
    /// The record being priced, re-priced on each catalog model as far as asked: cheapest and
    /// substitute scenarios ask for the same models again and again.
    on_model: Vec<Option<Result<Money, Missing<'a>>>>,
    /// The entries of `on_model` the record set: only those are cleared for the next one.
    touched: Vec<usize>,
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
    resolved: HashMap<Text, Option<(usize, Option<usize>)>>,
    prepared: Vec<Prepared>,
    /// Misses are counted per chunk on borrowed keys and named here once per distinct key,
    /// so no key outlives its chunk.
    not_applied: NotApplied,
    /// Per scenario (empty for all but subscriptions): plan units per seat and local day so far.
    plan_days: Vec<PlanUse>,
    /// The time of the last record priced, to check the order the quota walk relies on.
    last: Option<DateTime<Utc>>,
}

/// What a pricer carries from one record to the next, without the catalog and scenarios it
/// refers to: a `--state` run keeps it, and the next run goes on from it.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Carried {
    not_applied: NotApplied,
    plan_days: Vec<PlanUse>,
    last: Option<DateTime<Utc>>,
}

impl<'a> Pricer<'a> {
    pub fn new(catalog: &'a Catalog, set: &'a ScenarioSet, tz: Tz) -> Pricer<'a> {
        Pricer::resume(
            catalog,
            set,
            tz,
            Carried {
                not_applied: NotApplied::new(),
                plan_days: vec![PlanUse::default(); set.scenarios.len()],
                last: None,
            },
        )
    }

    /// A pricer that goes on from where one with the same catalog and scenarios stopped.
    pub fn resume(catalog: &'a Catalog, set: &'a ScenarioSet, tz: Tz, c: Carried) -> Pricer<'a> {
        Pricer {
            catalog,
            set,
            tz,
            resolved: HashMap::default(),
            prepared: set.scenarios.iter().map(|s| prepare(s, catalog)).collect(),
            not_applied: c.not_applied,
            plan_days: c.plan_days,
            last: c.last,
        }
    }

    /// What the next records are priced on from: misses, plan units so far, the last time.
    pub fn carried(&self) -> Carried {
        Carried {
            not_applied: self.not_applied.clone(),
            plan_days: self.plan_days.clone(),
            last: self.last,
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
                let idx = catalog.resolve_offer(&r.model);
                self.resolved.insert(r.model.clone(), idx);
            }
        }
        let (set, prepared, resolved, tz) = (self.set, &self.prepared, &self.resolved, self.tz);
        // Priced records are collected straight into one vector (a vector of parts would be
        // copied once more at the peak); each worker counts its misses and adds them up when
        // done.
        let shared: Mutex<HashMap<MissKey<'_>, u64>> = Mutex::new(HashMap::default());
        let plans = set
            .scenarios
            .iter()
            .filter(|s| matches!(s.action, Action::Subscription(_)))
            .count();
        let mut priced: Vec<Priced> = records
            .par_iter()
            .map_init(
                || Misses {
                    shared: &shared,
                    local: HashMap::default(),
                    scratch: Vec::new(),
                    on_model: Vec::new(),
                    touched: Vec::new(),
                },
                |m, r| {
                    let idx = resolved.get(&*r.model).copied().flatten();
                    let mut p = price_one(r, idx, catalog, set, prepared, tz, m);
                    // Sized to what it will hold: a chunk is held until records.parquet has
                    // taken it.
                    p.changes = Vec::with_capacity(m.scratch.len() + plans);
                    p.changes.append(&mut m.scratch);
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
                Why::NoOffer(to) => format!("no offer from {to}"),
                Why::OfferPrice(k, o, m) => format!(
                    "at {}: {}",
                    catalog.seller(k, o),
                    m.error(catalog.offer_entry(k, o))
                ),
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
                plan.apply(
                    records,
                    &mut priced,
                    &mut self.plan_days[i],
                    catalog,
                    &mut self.not_applied,
                );
            }
        }
        priced
    }

    /// Why scenarios left records unchanged, and each subscription's units per seat and day,
    /// with every seat the scenario names even when it used nothing.
    pub fn finish(mut self) -> (NotApplied, Vec<PlanUse>) {
        for (s, used) in self.set.scenarios.iter().zip(&mut self.plan_days) {
            if matches!(s.action, Action::Subscription(_)) {
                for seat in s.seats.declared() {
                    used.seats.entry(seat.to_string()).or_default();
                }
            }
        }
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

/// The offer a record was bought at: the provider the log names, else the offer its model
/// name is an alias of, else the maker's. (offer, how found, the log's provider has no offer)
fn own_offer(
    r: &UsageRecord,
    mi: usize,
    alias_offer: Option<usize>,
    catalog: &Catalog,
) -> (Option<usize>, ProviderFrom, bool) {
    if let Some(seller) = r.seller.as_deref() {
        if let Some(offer) = catalog.offer_of(mi, seller) {
            return (offer, r.seller_from, false);
        }
        return match alias_offer {
            Some(k) => (Some(k), ProviderFrom::OfferAlias, false),
            None => (None, r.seller_from, true),
        };
    }
    match alias_offer {
        Some(k) => (Some(k), ProviderFrom::OfferAlias, false),
        None => (None, ProviderFrom::Unknown, false),
    }
}

fn price_one<'a>(
    r: &'a UsageRecord,
    resolved: Option<(usize, Option<usize>)>,
    catalog: &'a Catalog,
    set: &'a ScenarioSet,
    prepared: &[Prepared],
    tz: Tz,
    work: &mut Misses<'_, 'a>,
) -> Priced {
    let misses = &mut work.local;
    let local = r.time.with_timezone(&tz);
    let day = local.date_naive();
    // Prices take effect on calendar days in UTC, as providers publish them.
    let price_day = r.time.date_naive();
    let model_idx = resolved.map(|(i, _)| i);
    let (offer, provider_from, no_offer) = match resolved {
        Some((mi, alias)) => own_offer(r, mi, alias, catalog),
        None => (None, r.seller_from, false),
    };
    let model = model_idx.map(|i| catalog.offer_entry(i, offer));
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
        offer: offer.map(|k| k as u16),
        provider_from,
        no_offer,
        actual,
        list,
        billed_in_log: r.billed_cost.is_some(),
        thinking_cost: model
            .map(|m| catalog.thinking_cost(m, &own))
            .unwrap_or(Money::ZERO),
        extras_cost: catalog.extras_cost(&r.extras, price_day),
        unpriced,
        changes: Vec::new(),
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
    for k in work.touched.drain(..) {
        work.on_model[k] = None;
    }
    work.on_model.resize(catalog.models().len(), None);
    let mut elsewhere = Elsewhere {
        r,
        u: input_of(r, price_day, false),
        catalog,
        costs: &mut work.on_model,
        touched: &mut work.touched,
        batch: None,
    };
    for (i, s) in set.scenarios.iter().enumerate() {
        if !matches(&s.filter, &prepared[i], r, mi, p.hour) {
            continue;
        }
        match scenario_cost(s, &prepared[i], r, mi, &p, &mut elsewhere, price_day) {
            Ok(Some(Target::Model(cost, via))) => work.scratch.push(Change::new(i, cost, via)),
            Ok(Some(Target::Offer(cost, offer))) => {
                work.scratch.push(Change::at(i, cost, Some(mi), offer))
            }
            Ok(None) => {}
            Err(why) => *misses.entry((i, Ok(mi), why)).or_default() += 1,
        }
    }
    p
}

mod prepared;
mod quota;
mod scenario_cost;
#[cfg(test)]
mod tests;
