//! Budgets from the scenarios file: daily caps per api key and a monthly budget.

use super::key_label;
use crate::money::Money;
use crate::record::UsageRecord;
use crate::reprice::Repriced;
use crate::scenario::Budget;
use chrono::{Datelike, NaiveDate};
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Serialize, JsonSchema, PartialEq)]
pub struct BudgetReport {
    pub days_over_cap: Vec<DayOverCap>,
    pub months_over_budget: Vec<MonthOverBudget>,
    /// The latest day in the logs (or its month) went over a cap: `reprice run` exits 4.
    pub latest_day_exceeded: bool,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct DayOverCap {
    pub key: String,
    pub day: NaiveDate,
    pub spent: Money,
    pub cap: Money,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct MonthOverBudget {
    pub month: String,
    pub spent: Money,
    pub budget: Money,
}

pub fn analyze(
    records: &[UsageRecord],
    rp: &Repriced,
    b: &Budget,
    names: &BTreeMap<String, String>,
) -> BudgetReport {
    let mut out = BudgetReport::default();
    let latest = rp.priced.iter().map(|p| p.day).max();
    if !b.daily_cap.is_empty() {
        let mut spend: BTreeMap<(Option<&str>, NaiveDate), Money> = BTreeMap::new();
        for (r, p) in records.iter().zip(&rp.priced) {
            *spend.entry((r.api_key.as_deref(), p.day)).or_default() += p.actual;
        }
        for ((key, day), spent) in spend {
            let cap = key
                .and_then(|k| b.daily_cap.get(k))
                .or_else(|| b.daily_cap.get("*"));
            if let Some(cap) = cap
                && spent > *cap
            {
                out.latest_day_exceeded |= Some(day) == latest;
                out.days_over_cap.push(DayOverCap {
                    key: key_label(key, names),
                    day,
                    spent,
                    cap: *cap,
                });
            }
        }
        out.days_over_cap
            .sort_by(|a, b| (a.day, &a.key).cmp(&(b.day, &b.key)));
    }
    if let Some(budget) = b.monthly {
        let mut months: BTreeMap<(i32, u32), Money> = BTreeMap::new();
        for p in &rp.priced {
            *months.entry((p.day.year(), p.day.month())).or_default() += p.actual;
        }
        for ((y, m), spent) in months {
            if spent > budget {
                out.latest_day_exceeded |= latest.is_some_and(|l| (l.year(), l.month()) == (y, m));
                out.months_over_budget.push(MonthOverBudget {
                    month: format!("{y:04}-{m:02}"),
                    spent,
                    budget,
                });
            }
        }
    }
    out
}
