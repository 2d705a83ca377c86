//! The quota walk of subscription scenarios: usage covered by a plan's daily quota, seat by
//! seat and day by day, in the order records come.

use super::scenario_cost::{COUNT_MISSING, count_missing, matches};
use super::{NotApplied, PlanUse, Prepared, Priced};
use crate::catalog::Catalog;
use crate::record::{Status, UsageRecord};
use crate::scenario::Scenario;
use std::collections::BTreeMap;

const NO_SEAT: &str = "api key has no seat in the scenario's seats map";

/// A subscription scenario, resolved for the quota walk.
pub(super) struct Plan<'p> {
    pub(super) i: usize,
    pub(super) s: &'p Scenario,
    pub(super) prep: &'p Prepared,
    pub(super) plan: &'p crate::catalog::PlanEntry,
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
    /// Each seat has its own quota: a record uses the quota of its api key's seat, and a key
    /// without a seat stays at pay-as-you-go prices. A failed or rejected request the provider
    /// does not count is covered without using a unit.
    /// Returns, per covered model, the paid records left at their price because their image
    /// count is unknown: an image quota would count them as nothing.
    pub(super) fn apply(
        &self,
        records: &[UsageRecord],
        priced: &mut [Priced],
        used: &mut PlanUse,
        catalog: &Catalog,
        not_applied: &mut NotApplied,
    ) {
        let plan = self.plan;
        // Misses are counted by model index and reason, and named once at the end: a plan
        // that covers many records of keys without a seat would otherwise build two strings
        // per record.
        let mut misses: rustc_hash::FxHashMap<(usize, &'static str), u64> = Default::default();
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
                *misses.entry((mi, COUNT_MISSING)).or_default() += 1;
                continue;
            }
            let Some(units) = plan.units(r) else { continue };
            // A failure the plan's provider does not count uses no unit: the fee covers it.
            let uncounted = units == 0 && matches!(r.status, Status::Failed | Status::Rejected);
            if units == 0 && !uncounted {
                continue;
            }
            let Some(seat) = self.s.seats.seat_of(r.api_key.as_deref()) else {
                *misses.entry((mi, NO_SEAT)).or_default() += 1;
                continue;
            };
            if uncounted {
                p.set(self.i, p.extras_cost, Some(mi));
                continue;
            }
            if !used.seats.contains_key(seat) {
                used.seats.insert(seat.to_string(), BTreeMap::new());
            }
            let Some(days) = used.seats.get_mut(seat) else {
                continue;
            };
            let day_used = days.entry(p.day).or_default();
            let left = plan
                .daily_quota
                .map_or(units, |q| q.saturating_sub(*day_used));
            let covered = left.min(units);
            *day_used += units;
            let cost = if covered == units {
                p.extras_cost
            } else {
                let variable = p.actual - p.extras_cost;
                let uncovered_share = rust_decimal::Decimal::from(units - covered)
                    / rust_decimal::Decimal::from(units);
                variable * uncovered_share + p.extras_cost
            };
            p.set(self.i, cost, (covered > 0).then_some(mi));
        }
        for ((mi, why), n) in misses {
            let miss = (self.i, catalog.models()[mi].id.clone(), why.to_string());
            *not_applied.entry(miss).or_default() += n;
        }
    }
}
