//! Budgets from the scenarios file: daily caps per api key and a monthly budget.

use super::key_label;
use crate::money::Money;
use crate::record::UsageRecord;
use crate::reprice::Priced;
use crate::scenario::Budget;
use crate::text::Text;
use chrono::{Datelike, NaiveDate};
use rustc_hash::FxHashMap as HashMap;
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

/// Spend per (api key, day).
type DaySpend = HashMap<(Option<Text>, NaiveDate), Money>;

/// Spend per (api key, day) and per month, summed only for the budgets that are set.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Spend {
    daily: Option<DaySpend>,
    monthly: Option<HashMap<(i32, u32), Money>>,
}

impl Spend {
    pub fn new(b: &Budget) -> Spend {
        Spend {
            daily: (!b.daily_cap.is_empty()).then(HashMap::default),
            monthly: b.monthly.map(|_| HashMap::default()),
        }
    }

    pub fn add(&mut self, records: &[UsageRecord], priced: &[Priced]) {
        if let Some(spend) = &mut self.daily {
            for (r, p) in records.iter().zip(priced) {
                *spend.entry((r.api_key.clone(), p.day)).or_default() += p.actual;
            }
        }
        if let Some(months) = &mut self.monthly {
            for p in priced {
                *months.entry((p.day.year(), p.day.month())).or_default() += p.actual;
            }
        }
    }

    /// `latest`: the last day with records.
    pub fn finish(
        self,
        b: &Budget,
        names: &BTreeMap<String, String>,
        latest: Option<NaiveDate>,
    ) -> BudgetReport {
        let mut out = BudgetReport::default();
        if let Some(spend) = self.daily {
            // In key order first, so keys that share a label keep a stable order.
            let spend: BTreeMap<_, _> = spend.into_iter().collect();
            for ((key, day), spent) in spend {
                let key = key.as_deref();
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
        if let (Some(months), Some(budget)) = (self.monthly, b.monthly) {
            let months: BTreeMap<_, _> = months.into_iter().collect();
            for ((y, m), spent) in months {
                if spent > budget {
                    out.latest_day_exceeded |=
                        latest.is_some_and(|l| (l.year(), l.month()) == (y, m));
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
}
