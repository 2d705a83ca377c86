//! Subscription plans: prorated fees, unused daily quota, and break-even volumes.

use super::{Period, calendar_days, plan_of};
use crate::catalog::{Catalog, PlanUnit};
use crate::money::{Money, share_text};
use crate::record::{ImageSize, Kind, Status, UsageRecord};
use crate::reprice::{PlanUse, Priced};
use crate::scenario::ScenarioSet;
use chrono::{Datelike, NaiveDate, Weekday};
use rust_decimal::Decimal;
use rustc_hash::FxHashMap as HashMap;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, serde::Deserialize)]
pub struct UnusedQuota {
    pub plan: String,
    /// The subscription scenario (its seats decide the quota).
    pub scenario: String,
    /// Seats the plan was simulated with; each has the daily quota.
    pub seats: u32,
    pub days: u32,
    pub quota_units: u64,
    pub used_units: u64,
    pub unused_units: u64,
    /// unused / quota, decimal share, 6 places.
    pub unused_share: String,
    /// The part of the prorated fee that paid for unused units.
    pub unused_value: Money,
    pub by_day: Vec<QuotaDay>,
    pub by_weekday: Vec<WeekdayQuota>,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, serde::Deserialize)]
pub struct QuotaDay {
    pub day: NaiveDate,
    pub weekday: String,
    /// The daily quota times the seats.
    pub quota_units: u64,
    /// Units the day's usage asked for; may exceed the quota (the overflow is paid).
    pub demand_units: u64,
    pub used_units: u64,
    pub unused_units: u64,
    pub unused_value: Money,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, serde::Deserialize)]
pub struct WeekdayQuota {
    pub weekday: String,
    pub days: u32,
    pub quota_units: u64,
    pub unused_units: u64,
    /// This weekday's unused units as a share of the whole period's quota.
    pub share_of_quota: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct BreakEven {
    pub plan: String,
    pub model: String,
    /// Image size class for image models.
    pub size: Option<String>,
    /// Average pay-as-you-go price per unit observed in the logs.
    pub unit_price: Money,
    pub observed_units: u64,
    /// Units per month above which the plan is cheaper for one seat (monthly fee / unit
    /// price), 2 places.
    pub units_per_month: String,
}

pub struct PlanReport {
    pub unused: Vec<UnusedQuota>,
    pub break_even: Vec<BreakEven>,
}

fn days_in_month(d: NaiveDate) -> u32 {
    let (y, m) = (d.year(), d.month());
    let next = if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)
    };
    next.and_then(|n| n.pred_opt()).map_or(30, |l| l.day())
}

/// The fee for the days of `days` that fall in each month: fee x days / days-in-month, computed
/// once per month so a full month costs exactly the monthly fee.
pub fn prorate(fee: Money, days: &[NaiveDate]) -> Money {
    let mut per_month: BTreeMap<(i32, u32), (u32, u32)> = BTreeMap::new();
    for d in days {
        let e = per_month
            .entry((d.year(), d.month()))
            .or_insert((0, days_in_month(*d)));
        e.0 += 1;
    }
    per_month
        .values()
        .map(|(n, dim)| {
            (fee.times(u64::from(*n)))
                .divided_by(Decimal::from(*dim))
                .unwrap_or(Money::ZERO)
        })
        .sum()
}

/// The fee of `seats` seats of a plan over `days`, prorated as [`prorate`] does.
pub fn seat_fee(fee: Money, seats: u32, days: &[NaiveDate]) -> Money {
    prorate(fee.times(u64::from(seats)), days)
}

/// Seats per scenario: what each subscription was simulated with, 0 for other scenarios.
pub fn seat_counts(set: &ScenarioSet, plan_days: &[PlanUse]) -> Vec<u32> {
    (0..set.scenarios.len())
        .map(|i| match plan_of(set, i) {
            Some(_) => plan_days.get(i).map_or(1, PlanUse::count),
            None => 0,
        })
        .collect()
}

/// Prorated plan fees of every seat per scenario (zero for the others).
pub fn fees(set: &ScenarioSet, period: &Period, seats: &[u32]) -> Vec<Money> {
    let all = calendar_days(period);
    (0..set.scenarios.len())
        .map(|i| {
            plan_of(set, i).map_or(Money::ZERO, |p| {
                seat_fee(p.monthly_fee, seats.get(i).copied().unwrap_or(1), &all)
            })
        })
        .collect()
}

/// Per distinct plan (by id, in scenario order): its scenario, which catalog models it covers,
/// and what the covered records it could have replaced cost, per (model, image size).
#[derive(serde::Serialize, serde::Deserialize)]
pub struct BreakEvens {
    plans: Vec<Observed>,
}

/// (catalog model, image size class) -> (pay-as-you-go cost, plan units).
type Observations = HashMap<(usize, Option<ImageSize>), (Money, u64)>;

#[derive(serde::Serialize, serde::Deserialize)]
struct Observed {
    scenario: usize,
    unit: PlanUnit,
    /// Per catalog model: the plan covers it. Resolved once so a record costs a lookup.
    covers: Vec<bool>,
    obs: Observations,
}

impl BreakEvens {
    pub fn new(set: &ScenarioSet, catalog: &Catalog) -> BreakEvens {
        let mut plans: Vec<Observed> = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for i in 0..set.scenarios.len() {
            let Some(plan) = plan_of(set, i) else {
                continue;
            };
            if seen.contains(&plan.id.as_str()) {
                continue;
            }
            seen.push(&plan.id);
            plans.push(Observed {
                scenario: i,
                unit: plan.unit,
                covers: catalog
                    .models()
                    .iter()
                    .map(|m| plan.models.contains(&m.id))
                    .collect(),
                obs: HashMap::default(),
            });
        }
        BreakEvens { plans }
    }

    pub fn add(&mut self, records: &[UsageRecord], priced: &[Priced]) {
        for o in &mut self.plans {
            for (r, p) in records.iter().zip(priced) {
                let Some(mi) = p.model else {
                    continue;
                };
                if !o.covers.get(mi).copied().unwrap_or(false) || r.status != Status::Ok {
                    continue;
                }
                let units = o.unit.units(r);
                if units == 0 {
                    continue;
                }
                let size = (r.kind == Kind::Image).then(|| {
                    r.image_size
                        .unwrap_or(crate::catalog::DEFAULT_IMAGE_SIZE)
                        .tier()
                });
                let e = o.obs.entry((mi, size)).or_insert((Money::ZERO, 0));
                e.0 += p.actual - p.extras_cost;
                e.1 += units;
            }
        }
    }

    /// Unused quota of every subscription scenario over every day of the period (from its
    /// usage per seat and day) and break-even volumes at the observed prices.
    pub fn finish(
        self,
        set: &ScenarioSet,
        catalog: &Catalog,
        period: &Period,
        plan_days: &[PlanUse],
    ) -> PlanReport {
        let all = calendar_days(period);
        let none = PlanUse::default();
        let mut unused = Vec::new();
        for (i, s) in set.scenarios.iter().enumerate() {
            if let Some(plan) = plan_of(set, i)
                && let Some(q) = plan.daily_quota
            {
                let used = plan_days.get(i).unwrap_or(&none);
                let mut u = unused_quota(&plan.id, q, plan.monthly_fee, &all, used);
                u.scenario = s.name.clone();
                unused.push(u);
            }
        }
        let mut break_even = Vec::new();
        for o in self.plans {
            let Some(plan) = plan_of(set, o.scenario) else {
                continue;
            };
            let obs: BTreeMap<(String, Option<String>), (Money, u64)> = o
                .obs
                .into_iter()
                .map(|((m, size), v)| {
                    let name = catalog.models()[m].id.clone();
                    ((name, size.map(|s| s.to_string())), v)
                })
                .collect();
            for ((model, size), (cost, units)) in obs {
                let Some(unit_price) = cost.divided_by(Decimal::from(units)) else {
                    continue;
                };
                let per_month = plan.monthly_fee.divided_by(unit_price.decimal());
                break_even.push(BreakEven {
                    plan: plan.id.clone(),
                    model,
                    size,
                    unit_price,
                    observed_units: units,
                    units_per_month: per_month.map_or_else(|| "n/a".to_string(), |m| m.display(2)),
                });
            }
        }
        PlanReport { unused, break_even }
    }
}

/// Every seat has `quota` units a day: a day's unused units are each seat's quota less what that
/// seat used, summed. A unit is worth the same on every seat (fee / (quota x days in month)).
fn unused_quota(
    plan: &str,
    quota: u64,
    fee: Money,
    all: &[NaiveDate],
    usage: &PlanUse,
) -> UnusedQuota {
    // Seats that used nothing (a plan nobody used is still one seat) keep their whole quota.
    let seats = usage.count();
    let mut by_day = Vec::new();
    let mut per_month_unused: BTreeMap<(i32, u32), (u64, u32)> = BTreeMap::new();
    let mut weekdays: BTreeMap<u32, (u32, u64, u64)> = BTreeMap::new();
    let (mut used_total, mut unused_total) = (0u64, 0u64);
    let day_quota = quota * u64::from(seats);
    for d in all {
        let asked = usage.seats.values().map(|s| s.get(d).copied().unwrap_or(0));
        let demand: u64 = asked.clone().sum();
        let u: u64 = asked.map(|a| a.min(quota)).sum::<u64>();
        let left = day_quota - u;
        used_total += u;
        unused_total += left;
        let dim = days_in_month(*d);
        let value = fee
            .times(left)
            .divided_by(Decimal::from(quota) * Decimal::from(dim))
            .unwrap_or(Money::ZERO);
        per_month_unused
            .entry((d.year(), d.month()))
            .or_insert((0, dim))
            .0 += left;
        let w = weekdays
            .entry(d.weekday().num_days_from_monday())
            .or_insert((0, 0, 0));
        w.0 += 1;
        w.1 += day_quota;
        w.2 += left;
        by_day.push(QuotaDay {
            day: *d,
            weekday: d.weekday().to_string(),
            quota_units: day_quota,
            demand_units: demand,
            used_units: u,
            unused_units: left,
            unused_value: value,
        });
    }
    let quota_total = day_quota * all.len() as u64;
    let unused_value = per_month_unused
        .values()
        .map(|(left, dim)| {
            fee.times(*left)
                .divided_by(Decimal::from(quota) * Decimal::from(*dim))
                .unwrap_or(Money::ZERO)
        })
        .sum();
    let share = |n: u64| {
        if quota_total == 0 {
            share_text(Decimal::ZERO, 6)
        } else {
            share_text(Decimal::from(n) / Decimal::from(quota_total), 6)
        }
    };
    UnusedQuota {
        plan: plan.to_string(),
        scenario: String::new(),
        seats,
        days: all.len() as u32,
        quota_units: quota_total,
        used_units: used_total,
        unused_units: unused_total,
        unused_share: share(unused_total),
        unused_value,
        by_day,
        by_weekday: weekdays
            .into_iter()
            .map(|(w, (days, q, left))| WeekdayQuota {
                weekday: Weekday::try_from(w as u8)
                    .map(|w| w.to_string())
                    .unwrap_or_default(),
                days,
                quota_units: q,
                unused_units: left,
                share_of_quota: share(left),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn a_full_month_costs_exactly_the_fee() {
        let march: Vec<NaiveDate> = d("2026-03-01").iter_days().take(31).collect();
        assert_eq!(
            prorate(Money::parse("19.99").expect("m"), &march).exact(),
            "19.99"
        );
        let feb: Vec<NaiveDate> = d("2026-02-01").iter_days().take(28).collect();
        assert_eq!(
            prorate(Money::parse("19.99").expect("m"), &feb).exact(),
            "19.99"
        );
        let half: Vec<NaiveDate> = d("2026-04-01").iter_days().take(15).collect();
        assert_eq!(prorate(Money::parse("20").expect("m"), &half).exact(), "10");
    }

    #[test]
    fn weekday_only_usage_leaves_two_sevenths_unused() {
        // Four whole weeks from Monday 2026-03-02; 100 images used every weekday.
        let all: Vec<NaiveDate> = d("2026-03-02").iter_days().take(28).collect();
        let used: BTreeMap<NaiveDate, u64> = all
            .iter()
            .filter(|x| x.weekday().num_days_from_monday() < 5)
            .map(|x| (*x, 100))
            .collect();
        let usage = PlanUse {
            seats: [("sk-a".to_string(), used)].into_iter().collect(),
        };
        let u = unused_quota(
            "google-ai-pro",
            100,
            Money::parse("19.99").expect("m"),
            &all,
            &usage,
        );
        assert_eq!(
            (u.quota_units, u.used_units, u.unused_units),
            (2800, 2000, 800)
        );
        assert_eq!(u.unused_share, "0.285714");
        // 8 unused days of March at 19.99/31 each.
        assert_eq!(u.unused_value.display(6), "5.158710");
        let sat = u
            .by_weekday
            .iter()
            .find(|w| w.weekday == "Sat")
            .expect("Saturday");
        assert_eq!(
            (sat.days, sat.unused_units, sat.share_of_quota.as_str()),
            (4, 400, "0.142857")
        );
    }

    #[test]
    fn each_seat_has_its_own_quota() {
        // One day, 100 images a day per seat. Seat a asks for 150 (50 overflow), seat b for
        // 20: 120 of 200 used, 80 unused, worth 19.99 x 80 / (100 x 31) = 0.515871. One
        // shared seat would have used its 100 and left nothing.
        let day = d("2026-03-02");
        let usage = PlanUse {
            seats: [("a", 150), ("b", 20)]
                .into_iter()
                .map(|(k, n)| (k.to_string(), [(day, n)].into_iter().collect()))
                .collect(),
        };
        let fee = Money::parse("19.99").expect("m");
        let u = unused_quota("google-ai-pro", 100, fee, &[day], &usage);
        assert_eq!(
            (u.seats, u.quota_units, u.used_units, u.unused_units),
            (2, 200, 120, 80)
        );
        assert_eq!(u.by_day[0].demand_units, 170);
        assert_eq!(u.unused_value.display(6), "0.515871");
        // A plan nobody used is one seat with all of its quota left.
        let u = unused_quota("google-ai-pro", 100, fee, &[day], &PlanUse::default());
        assert_eq!((u.seats, u.unused_units), (1, 100));
        // Fees: two seats for the 2 days cost 2 x 31 x 2 / 31 = 4.
        let two: Vec<NaiveDate> = d("2026-03-01").iter_days().take(2).collect();
        assert_eq!(
            seat_fee(Money::parse("31").expect("m"), 2, &two).exact(),
            "4"
        );
    }
}
