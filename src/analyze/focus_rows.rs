//! Rows of the FOCUS 1.2 export (focus.csv, `reprice run --focus`): the billed usage per day,
//! key, model and charge, and, for each subscription scenario, what the plan would have looked
//! like in a FOCUS bill (its daily fee as a purchase, the daily quota as a commitment that was
//! used or left unused). Plan rows are what-if rows: they carry the scenario's name so they are
//! never mistaken for the bill.

use super::{Analysis, Summary, calendar_days, plan_of, plans::seat_fee};
use crate::catalog::{PlanEntry, PlanUnit};
use crate::money::Money;
use crate::scenario::ScenarioSet;
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FocusCharge {
    /// Billed usage from the logs.
    Usage,
    /// A plan's fee for the day (what-if).
    PlanFee,
    /// The part of a plan's daily quota that usage consumed (what-if).
    QuotaUsed,
    /// The part of a plan's daily quota that nothing used (what-if).
    QuotaUnused,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum FocusUnit {
    Tokens,
    Images,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Commitment {
    pub plan: String,
    /// None for the purchase of a plan without a daily quota.
    pub units: Option<u64>,
    pub unit: PlanUnit,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FocusRow {
    pub charge: FocusCharge,
    /// The day in the report's time zone, as UTC instants (start inclusive, end exclusive).
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    /// The calendar month of the day, the same way.
    pub billing_start: DateTime<Utc>,
    pub billing_end: DateTime<Utc>,
    /// Who served the requests (a reseller such as OpenRouter when the log names one).
    pub provider: String,
    /// Who made the model.
    pub publisher: String,
    /// Catalog model id (or the logged name of an unknown model), or the plan id.
    pub sku: String,
    /// Key label; never the key itself. None for plan rows.
    pub sub_account: Option<String>,
    pub billed: Money,
    pub effective: Money,
    pub list: Money,
    /// list / pricing quantity, when there is a quantity.
    pub list_unit_price: Option<Money>,
    pub unit: Option<FocusUnit>,
    /// Tokens (all five kinds) or images.
    pub consumed: u64,
    /// Millions of tokens, or images.
    pub pricing_quantity: Option<Decimal>,
    pub requests: u64,
    /// "standard" or "batch" for usage rows.
    pub tier: Option<&'static str>,
    pub commitment: Option<Commitment>,
    /// The what-if scenario of plan rows.
    pub scenario: Option<String>,
}

/// The FOCUS rows: the analysis's usage, and the plan rows of its subscription scenarios.
pub fn focus_rows(analysis: &Analysis, set: &ScenarioSet) -> Vec<FocusRow> {
    let summary = &analysis.summary;
    // The zone was checked when the run was configured; UTC only guards a hand-built summary.
    let tz: Tz = summary.time_zone.parse().unwrap_or(Tz::UTC);
    let million = Decimal::from(1_000_000u32);
    let mut rows: Vec<FocusRow> = analysis
        .focus
        .rows
        .iter()
        .map(|((day, key, provider, model, unit, batch), s)| {
            let (day, unit) = (*day, *unit);
            let pricing_quantity = match unit {
                FocusUnit::Images => Decimal::from(s.consumed),
                FocusUnit::Tokens => Decimal::from(s.consumed) / million,
            };
            let (start, end) = day_bounds(day, tz);
            let (billing_start, billing_end) = month_bounds(day, tz);
            FocusRow {
                charge: FocusCharge::Usage,
                period_start: start,
                period_end: end,
                billing_start,
                billing_end,
                provider: provider.clone(),
                publisher: s.publisher.clone(),
                sku: model.clone(),
                sub_account: Some(key.clone()),
                billed: s.billed,
                effective: s.billed,
                list: s.list,
                list_unit_price: if pricing_quantity.is_zero() {
                    None
                } else {
                    s.list.divided_by(pricing_quantity)
                },
                unit: Some(unit),
                consumed: s.consumed,
                pricing_quantity: Some(pricing_quantity),
                requests: s.requests,
                tier: Some(if *batch { "batch" } else { "standard" }),
                commitment: None,
                scenario: None,
            }
        })
        .collect();
    rows.extend(plan_rows(set, summary, tz));
    rows.sort_by(|a, b| {
        (a.period_start, a.scenario.is_some(), &a.scenario, a.charge).cmp(&(
            b.period_start,
            b.scenario.is_some(),
            &b.scenario,
            b.charge,
        ))
    });
    rows
}

/// Per plan and day: the prorated fee as a purchase and, for plans with a daily quota, the
/// quota split into used and unused commitment rows whose effective costs add up to the fee.
fn plan_rows(set: &ScenarioSet, summary: &Summary, tz: Tz) -> Vec<FocusRow> {
    let mut plans: Vec<(&PlanEntry, &str)> = Vec::new();
    for i in 0..set.scenarios.len() {
        if let Some(p) = plan_of(set, i)
            && !plans.iter().any(|(q, _)| q.id == p.id)
        {
            plans.push((p, &set.scenarios[i].name));
        }
    }
    let mut rows = Vec::new();
    for (plan, scenario) in plans {
        let quota = summary
            .waste
            .unused_quota
            .iter()
            .find(|q| q.scenario == scenario);
        let seats = summary
            .scenarios
            .iter()
            .find(|x| x.name == scenario)
            .and_then(|x| x.seats)
            .unwrap_or(1);
        for day in calendar_days(&summary.period) {
            let fee = seat_fee(plan.monthly_fee, seats, &[day]);
            let (start, end) = day_bounds(day, tz);
            let (billing_start, billing_end) = month_bounds(day, tz);
            let row = |charge, billed, effective, commitment| FocusRow {
                charge,
                period_start: start,
                period_end: end,
                billing_start,
                billing_end,
                provider: plan.provider.clone(),
                publisher: plan.provider.clone(),
                sku: plan.id.clone(),
                sub_account: None,
                billed,
                effective,
                list: billed,
                list_unit_price: None,
                unit: None,
                consumed: 0,
                pricing_quantity: None,
                requests: 0,
                tier: None,
                commitment,
                scenario: Some(scenario.to_string()),
            };
            let commit = |units| {
                Some(Commitment {
                    plan: plan.id.clone(),
                    units,
                    unit: plan.unit,
                })
            };
            let quota_day = quota.and_then(|q| q.by_day.iter().find(|d| d.day == day));
            // FOCUS puts a commitment's fee on the purchase as billed and spreads it over the
            // commitment rows as effective cost, so neither total counts it twice. A plan
            // without a daily quota has no such rows and keeps its fee as effective cost.
            let purchase_effective = if quota_day.is_some() {
                Money::ZERO
            } else {
                fee
            };
            rows.push(row(
                FocusCharge::PlanFee,
                fee,
                purchase_effective,
                commit(plan.daily_quota),
            ));
            let Some(q) = quota_day else {
                continue;
            };
            // A day with nothing used (or nothing left) gets no row of zeros.
            if q.used_units > 0 {
                rows.push(row(
                    FocusCharge::QuotaUsed,
                    Money::ZERO,
                    fee - q.unused_value,
                    commit(Some(q.used_units)),
                ));
            }
            if q.unused_units > 0 {
                rows.push(row(
                    FocusCharge::QuotaUnused,
                    Money::ZERO,
                    q.unused_value,
                    commit(Some(q.unused_units)),
                ));
            }
        }
    }
    rows
}

/// Local midnight of `day` in `tz`, as UTC. Where a zone skips midnight (a DST change at
/// 00:00), the day starts at the first local time that exists.
fn day_start(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    for hour in 0..4 {
        if let Some(t) = day
            .and_hms_opt(hour, 0, 0)
            .and_then(|l| tz.from_local_datetime(&l).earliest())
        {
            return t.with_timezone(&Utc);
        }
    }
    day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

fn day_bounds(day: NaiveDate, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let next = day.succ_opt().unwrap_or(day);
    (day_start(day, tz), day_start(next, tz))
}

fn month_bounds(day: NaiveDate, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let first = day.with_day(1).unwrap_or(day);
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    }
    .unwrap_or(first);
    (day_start(first, tz), day_start(next, tz))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_bounded_in_the_report_zone() {
        let berlin: Tz = "Europe/Berlin".parse().expect("zone");
        let d = NaiveDate::from_ymd_opt(2026, 3, 29).expect("date");
        let (s, e) = day_bounds(d, berlin);
        // Summer time starts that night: the day is 23 hours long.
        assert_eq!(s.to_rfc3339(), "2026-03-28T23:00:00+00:00");
        assert_eq!(e.to_rfc3339(), "2026-03-29T22:00:00+00:00");
        let (s, e) = month_bounds(NaiveDate::from_ymd_opt(2026, 12, 5).expect("date"), Tz::UTC);
        assert_eq!(s.to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(e.to_rfc3339(), "2027-01-01T00:00:00+00:00");
        // America/Santiago skipped from 00:00 to 01:00 on 2024-09-08.
        let santiago: Tz = "America/Santiago".parse().expect("zone");
        let s = day_start(NaiveDate::from_ymd_opt(2024, 9, 8).expect("date"), santiago);
        assert_eq!(s.to_rfc3339(), "2024-09-08T04:00:00+00:00");
    }
}
