//! A record's cost under one scenario that is not a plan: on another catalog model, at the
//! batch tier, or at another offer of its own model.

use super::{Prepared, Priced, Why, input_of, tier_of};
use crate::catalog::{Catalog, Missing, PricingInput, Tier};
use crate::money::Money;
use crate::record::UsageRecord;
use crate::scenario::{Action, Filter, Scenario};
use chrono::NaiveDate;

/// One record re-priced on other catalog models, each priced once however many scenarios ask.
pub(super) struct Elsewhere<'w, 'a> {
    pub(super) r: &'a UsageRecord,
    pub(super) u: PricingInput<'a>,
    pub(super) catalog: &'a Catalog,
    pub(super) costs: &'w mut [Option<Result<Money, Missing<'a>>>],
    /// The models `costs` holds a price on.
    pub(super) touched: &'w mut Vec<usize>,
    /// The record at the batch tier, the same for every batch scenario that concerns it.
    pub(super) batch: Option<Result<Money, Why<'a>>>,
}

impl<'a> Elsewhere<'_, 'a> {
    /// The record's cost on model `k`: at its own tier, else at the standard one.
    pub(super) fn cost(&mut self, k: usize) -> Result<Money, Missing<'a>> {
        let (catalog, u, tier) = (self.catalog, &self.u, tier_of(self.r));
        if let Some(c) = self.costs[k] {
            return c;
        }
        let m = &catalog.models()[k];
        let c = catalog
            .try_cost(m, u, tier)
            .or_else(|_| catalog.try_cost(m, u, Tier::Standard));
        self.costs[k] = Some(c);
        self.touched.push(k);
        c
    }
}

pub(super) fn matches(
    f: &Filter,
    prep: &Prepared,
    r: &UsageRecord,
    model: usize,
    hour: u32,
) -> bool {
    prep.hours & 1u32.checked_shl(hour).unwrap_or(0) != 0
        && prep.models.as_ref().is_none_or(|ok| ok[model])
        && (f.keys.is_empty()
            || r.api_key
                .as_deref()
                .is_some_and(|k| f.keys.iter().any(|x| x == k)))
}

/// A record under one scenario: on a catalog model (None: no model), or at an offer of its
/// own model (None: the maker's).
pub(super) enum Target {
    Model(Money, Option<usize>),
    Offer(Money, Option<usize>),
}

/// The record at one offer of its own model, at the batch tier when `batch` asks for it (or
/// the record was on it) and the offer has one, else at the standard tier.
fn offer_cost<'a>(
    catalog: &'a Catalog,
    r: &'a UsageRecord,
    mi: usize,
    offer: Option<usize>,
    batch: bool,
    day: NaiveDate,
) -> Result<Money, Missing<'a>> {
    let entry = catalog.offer_entry(mi, offer);
    let u = input_of(r, day, true);
    if batch || r.batch {
        catalog
            .try_cost(entry, &u, Tier::Batch)
            .or_else(|_| catalog.try_cost(entry, &u, Tier::Standard))
    } else {
        catalog.try_cost(entry, &u, Tier::Standard)
    }
}

/// Ok(None): the scenario does not concern this record. Err: it does, but cannot apply.
// Asked for every record under every scenario from reprice.rs: without the hint the release
// build (16 codegen units) called it out of line, 1.2% more instructions in a run.
#[inline]
pub(super) fn scenario_cost<'a>(
    s: &'a Scenario,
    prep: &Prepared,
    r: &'a UsageRecord,
    mi: usize,
    p: &Priced,
    elsewhere: &mut Elsewhere<'_, 'a>,
    day: NaiveDate,
) -> Result<Option<Target>, Why<'a>> {
    let catalog = elsewhere.catalog;
    let m = catalog.offer_entry(mi, p.offer());
    let model = |x: Option<(Money, Option<usize>)>| x.map(|(c, v)| Target::Model(c, v));
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
            let cost = *elsewhere.batch.get_or_insert_with(|| {
                let (price, _) = catalog.price_on(m, day);
                let d = price.batch_discount.ok_or(Why::Text("no batch tier"))?;
                // Batch pricing scales every component, so it scales what was actually paid.
                let variable = p.actual - p.extras_cost;
                Ok(variable * (rust_decimal::Decimal::ONE - d.0) + p.extras_cost)
            });
            Ok(Some(Target::Model(cost?, Some(mi))))
        }
        Action::Substitute(_) => {
            let Some(to) = prep.substitute[mi] else {
                return Ok(None);
            };
            let to = to.map_err(|()| Why::Text("substitute not in catalog"))?;
            let cost = elsewhere.cost(to).map_err(|e| Why::Price(to, e))?;
            Ok(Some(Target::Model(cost, Some(to))))
        }
        Action::Cheapest { .. } => {
            let candidates = &prep.candidates[mi];
            if candidates.is_empty() && m.quality_score.is_none() {
                return Err(Why::Text(
                    "no quality score: only models listed in allow may replace it",
                ));
            }
            let mut best: (Money, Option<usize>) = (p.actual, None);
            for &k in candidates {
                if catalog.models()[k].kind != r.kind {
                    continue;
                }
                if let Ok(cost) = elsewhere.cost(k)
                    && cost < best.0
                {
                    best = (cost, Some(k));
                }
            }
            Ok(model(best.1.is_some().then_some(best)))
        }
        Action::Subscription(_) => Ok(None),
        Action::SwitchProvider { map, batch } => {
            let from = catalog.seller(mi, p.offer());
            let Some(to) = map.get(from).or_else(|| map.get("*")) else {
                return Ok(None);
            };
            // Staying with the same provider changes only the tier, when batch asks for it.
            if to == from
                && (!*batch || r.batch || catalog.price_on(m, day).0.batch_discount.is_none())
            {
                return Ok(None);
            }
            let offer = catalog.offer_of(mi, to).ok_or(Why::NoOffer(to))?;
            let cost = offer_cost(catalog, r, mi, offer, *batch, day)
                .map_err(|e| Why::OfferPrice(mi, offer, e))?;
            Ok(Some(Target::Offer(cost, offer)))
        }
        Action::CheapestProvider { batch } => {
            let mut best: Option<(Money, Option<usize>)> = None;
            for (offer, _) in catalog.offers_of(mi) {
                if offer == p.offer() {
                    continue;
                }
                if let Ok(cost) = offer_cost(catalog, r, mi, offer, *batch, day)
                    && cost < best.map_or(p.actual, |b| b.0)
                {
                    best = Some((cost, offer));
                }
            }
            Ok(best.map(|(c, o)| Target::Offer(c, o)))
        }
    }
}

/// Why a scenario left a paid image record as it was: nothing says how many images it made.
pub(super) const COUNT_MISSING: &str = "image count unknown";

/// A paid, successful record of an image model without an image count: re-priced per image on
/// another model or counted against a plan's image quota, it would cost nothing.
pub(super) fn count_missing(r: &UsageRecord, m: &crate::catalog::ModelEntry, p: &Priced) -> bool {
    m.kind == crate::record::Kind::Image
        && r.images == 0
        && matches!(
            r.status,
            crate::record::Status::Ok | crate::record::Status::Retry
        )
        && p.actual > Money::ZERO
}
