//! Analysis: totals, savings, waste, break-even, reconciliation and budgets, computed from the
//! priced records with exact decimals. Report writers only format what this produces.

mod budget;
mod focus_rows;
mod plans;
mod reconcile;
mod tables;
mod waste;

pub use budget::{BudgetReport, DayOverCap, MonthOverBudget};
pub use focus_rows::{Commitment, FocusCharge, FocusRow, FocusUnit, focus_rows};
pub use plans::{BreakEven, UnusedQuota, WeekdayQuota};
pub use reconcile::{BalanceGap, Reconciliation};
pub use tables::{DayRow, KeyRow, ModelRow, SavingsRow};
pub use waste::{ThinkingShare, Waste};

use crate::catalog::Catalog;
use crate::money::{Money, share_text};
use crate::record::Status;
use crate::record::UsageRecord;
use crate::reprice::Repriced;
use crate::scenario::{Action, ScenarioSet};
use chrono::NaiveDate;
use rustc_hash::FxHashMap as HashMap;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct Summary {
    pub schema_version: u32,
    pub currency: String,
    /// IANA time zone of day boundaries and quota resets.
    pub time_zone: String,
    pub period: Period,
    pub input: InputCounts,
    pub actual: Actual,
    pub scenarios: Vec<ScenarioSummary>,
    pub waste: Waste,
    pub break_even: Vec<BreakEven>,
    pub reconciliation: Reconciliation,
    pub budget: BudgetReport,
    pub models: Vec<ModelRow>,
    pub keys: Vec<KeyRow>,
    /// Models the catalog does not know, with their record counts. Their records count at the
    /// billed cost in the log, or not at all when the log has none.
    pub unknown_models: Vec<NamedCount>,
    /// Records of known models the catalog could not price, by model and reason.
    pub unpriced: Vec<Unpriced>,
    /// Catalog prices that changed within the logs' dates: records on each side were priced
    /// at the version in force on their own day.
    pub price_changes: Vec<PriceChange>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct PriceChange {
    pub model: String,
    pub effective: NaiveDate,
    pub source: String,
    pub records_before: u64,
    pub records_from: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct Period {
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
    pub days: u32,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema, PartialEq)]
pub struct InputCounts {
    pub files: u64,
    /// Lines read; always records + duplicates + quarantined + skipped (+ out_of_period).
    pub lines: u64,
    pub records: u64,
    pub duplicates: u64,
    /// Lines whose id was seen before with different usage (also counted in quarantined).
    pub conflicts: u64,
    pub quarantined: u64,
    /// Lines that carry no usage (blank lines, CSV headers, Claude Code user turns).
    pub skipped: u64,
    /// Records outside --since/--until.
    pub out_of_period: u64,
    /// Records whose timestamps had no offset and were read as UTC.
    pub assumed_utc: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct Actual {
    /// What the logs say was billed; computed from the catalog where a log has no cost.
    pub cost: Money,
    pub billed_in_logs: Money,
    pub computed_from_catalog: Money,
    pub tokens: TokenTotals,
    pub images: u64,
    pub requests: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema, PartialEq)]
pub struct TokenTotals {
    pub input: u64,
    pub output: u64,
    pub thinking: u64,
    pub cache_read: u64,
    pub cache_write: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct ScenarioSummary {
    pub name: String,
    pub kind: String,
    /// Total under the scenario, fixed fees included.
    pub cost: Money,
    /// Plan fees prorated over the period (subscriptions only).
    pub fixed_cost: Money,
    /// actual.cost - cost; negative when the scenario costs more.
    pub savings: Money,
    /// savings / actual.cost as a decimal share (0.31 = 31%), 6 places.
    pub savings_pct: Option<String>,
    pub records_changed: u64,
    /// What the records this scenario changed actually cost.
    pub changed_actual_cost: Money,
    pub not_applied: Vec<NotAppliedRow>,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct NotAppliedRow {
    pub model: String,
    pub reason: String,
    pub records: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct NamedCount {
    pub model: String,
    pub records: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct Unpriced {
    pub model: String,
    pub reason: String,
    pub records: u64,
}

/// Everything the writers need besides the summary.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub summary: Summary,
    pub by_day: Vec<DayRow>,
    pub savings: Vec<SavingsRow>,
}

pub struct Context<'a> {
    pub catalog: &'a Catalog,
    pub set: &'a ScenarioSet,
    pub tz_name: &'a str,
    pub since: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    pub input: InputCounts,
    pub warnings: Vec<String>,
}

pub fn analyze(records: &[UsageRecord], rp: &Repriced, cx: Context<'_>) -> Analysis {
    let period = period(rp, cx.since, cx.until);
    // The analyses read the same records independently: run them side by side.
    let names = &cx.set.key_names;
    let plans_and_waste = || {
        let p = plans::analyze(records, rp, cx.set, cx.catalog, &period);
        let w = waste::analyze(
            records,
            rp,
            cx.catalog,
            cx.set.retry_window_seconds,
            p.unused.clone(),
        );
        (p, w)
    };
    let balances = || {
        (
            reconcile::analyze(records, rp, names),
            budget::analyze(records, rp, &cx.set.budget, names),
        )
    };
    let rows = || {
        rayon::join(
            || tables::models_and_keys(records, rp, cx.catalog, names),
            || tables::by_day(records, rp, cx.set, &period),
        )
    };
    let savings_and_changes = || {
        rayon::join(
            || tables::savings(rp, cx.catalog, cx.set, &period),
            || price_changes(records, rp, cx.catalog),
        )
    };
    let n = cx.set.scenarios.len();
    let (
        (((plan_report, waste), (reconciliation, budget)), t),
        (((models, keys), by_day), (savings_rows, price_changes)),
    ) = rayon::join(
        || {
            rayon::join(
                || rayon::join(plans_and_waste, balances),
                || totals(records, rp, n),
            )
        },
        || rayon::join(rows, savings_and_changes),
    );
    let requests: BTreeMap<String, u64> =
        [Status::Ok, Status::Failed, Status::Rejected, Status::Retry]
            .into_iter()
            .filter(|s| t.by_status[*s as usize] > 0)
            .map(|s| (s.as_str().to_string(), t.by_status[s as usize]))
            .collect();
    let unknown: BTreeMap<String, u64> = t
        .unknown
        .into_iter()
        .map(|(m, n)| (m.to_string(), n))
        .collect();
    let mut unpriced_named: BTreeMap<(String, String), u64> = BTreeMap::new();
    for ((m, reason), n) in t.unpriced {
        *unpriced_named
            .entry((cx.catalog.models()[m].id.clone(), reason.to_string()))
            .or_default() += n;
    }
    let unpriced = unpriced_named;
    let actual_cost = t.billed + t.computed;
    let fees = plans::fees(cx.set, &period);
    let mut scenarios = Vec::new();
    for (i, s) in cx.set.scenarios.iter().enumerate() {
        let variable = t.variables[i];
        let fixed = fees[i];
        let cost = variable + fixed;
        let savings = actual_cost - cost;
        let not_applied = rp
            .not_applied
            .iter()
            .filter(|((j, _, _), _)| *j == i)
            .map(|((_, model, reason), n)| NotAppliedRow {
                model: model.clone(),
                reason: reason.clone(),
                records: *n,
            })
            .collect();
        scenarios.push(ScenarioSummary {
            name: s.name.clone(),
            kind: s.action.kind().to_string(),
            cost,
            fixed_cost: fixed,
            savings,
            savings_pct: savings.share_of(actual_cost).map(|d| share_text(d, 6)),
            records_changed: t.changed[i].0,
            changed_actual_cost: t.changed[i].1,
            not_applied,
        });
    }
    let summary = Summary {
        schema_version: SCHEMA_VERSION,
        currency: cx.catalog.currency().to_string(),
        time_zone: cx.tz_name.to_string(),
        period,
        input: InputCounts {
            records: records.len() as u64,
            ..cx.input
        },
        actual: Actual {
            cost: actual_cost,
            billed_in_logs: t.billed,
            computed_from_catalog: t.computed,
            tokens: t.tokens,
            images: t.images,
            requests,
        },
        scenarios,
        waste,
        break_even: plan_report.break_even,
        reconciliation,
        budget,
        models,
        keys,
        unknown_models: unknown
            .into_iter()
            .map(|(model, records)| NamedCount { model, records })
            .collect(),
        price_changes,
        unpriced: unpriced
            .into_iter()
            .map(|((model, reason), records)| Unpriced {
                model,
                reason,
                records,
            })
            .collect(),
        warnings: cx.warnings,
    };
    Analysis {
        summary,
        by_day,
        savings: savings_rows,
    }
}

/// What one pass over the records adds up: usage, spend, and each scenario's variable cost.
/// Every sum runs in record order.
struct Totals<'r> {
    tokens: TokenTotals,
    images: u64,
    by_status: [u64; 4],
    billed: Money,
    computed: Money,
    /// Counted on borrowed and copyable keys; names are made once per group, not per record.
    unknown: HashMap<&'r str, u64>,
    unpriced: HashMap<(usize, &'r str), u64>,
    variables: Vec<Money>,
    /// Per scenario: records it changed, and what they actually cost.
    changed: Vec<(u64, Money)>,
}

fn totals<'r>(records: &'r [UsageRecord], rp: &'r Repriced, n: usize) -> Totals<'r> {
    let mut t = Totals {
        tokens: TokenTotals::default(),
        images: 0,
        by_status: [0; 4],
        billed: Money::ZERO,
        computed: Money::ZERO,
        unknown: HashMap::default(),
        unpriced: HashMap::default(),
        variables: vec![Money::ZERO; n],
        changed: vec![(0, Money::ZERO); n],
    };
    for (r, p) in records.iter().zip(&rp.priced) {
        t.tokens.input += r.tokens.input;
        t.tokens.output += r.tokens.output;
        t.tokens.thinking += r.tokens.thinking;
        t.tokens.cache_read += r.tokens.cache_read;
        t.tokens.cache_write += r.tokens.cache_write;
        t.images += u64::from(r.images);
        t.by_status[r.status as usize] += 1;
        if p.billed_in_log {
            t.billed += p.actual;
        } else {
            t.computed += p.actual;
        }
        match (p.model, &p.unpriced) {
            (None, _) => *t.unknown.entry(&*r.model).or_default() += 1,
            (Some(m), Some(reason)) if !p.billed_in_log => {
                *t.unpriced.entry((m, reason.as_str())).or_default() += 1
            }
            _ => {}
        }
        for (i, (cost, via)) in p.each(n).enumerate() {
            t.variables[i] += cost;
            if via.is_some() {
                t.changed[i].0 += 1;
                t.changed[i].1 += p.actual;
            }
        }
    }
    t
}

fn price_changes(records: &[UsageRecord], rp: &Repriced, catalog: &Catalog) -> Vec<PriceChange> {
    let mut days: BTreeMap<usize, Vec<NaiveDate>> = BTreeMap::new();
    for (r, p) in records.iter().zip(&rp.priced) {
        if let Some(m) = p.model {
            // Prices take effect on UTC days, as the re-pricing reads them.
            days.entry(m).or_default().push(r.time.date_naive());
        }
    }
    let mut out = Vec::new();
    for (m, ds) in days {
        let model = &catalog.models()[m];
        for v in model.prices.iter().skip(1) {
            let before = ds.iter().filter(|d| **d < v.effective).count() as u64;
            let from = ds.len() as u64 - before;
            if before > 0 && from > 0 {
                out.push(PriceChange {
                    model: model.id.clone(),
                    effective: v.effective,
                    source: v.source.clone(),
                    records_before: before,
                    records_from: from,
                });
            }
        }
    }
    out
}

fn period(rp: &Repriced, since: Option<NaiveDate>, until: Option<NaiveDate>) -> Period {
    let first = rp.priced.iter().map(|p| p.day).min();
    let last = rp.priced.iter().map(|p| p.day).max();
    let start = since.or(first);
    let end = until.or(last);
    let days = match (start, end) {
        (Some(s), Some(e)) if e >= s => (e - s).num_days() as u32 + 1,
        _ => 0,
    };
    Period { start, end, days }
}

/// Every calendar day of the period.
pub fn days(period: &Period) -> Vec<NaiveDate> {
    match period.start {
        Some(s) => s.iter_days().take(period.days as usize).collect(),
        None => Vec::new(),
    }
}

/// Plans of the subscription scenarios, by scenario index.
pub fn plan_of(set: &ScenarioSet, i: usize) -> Option<&crate::catalog::PlanEntry> {
    match &set.scenarios[i].action {
        Action::Subscription(p) => Some(p),
        _ => None,
    }
}

/// An api key as reports may show it: its label from `key_names`, or its last four characters.
pub fn key_label(key: Option<&str>, names: &BTreeMap<String, String>) -> String {
    match key {
        None => "(none)".to_string(),
        Some(k) => match names.get(k) {
            Some(label) => label.clone(),
            None => {
                let chars: Vec<char> = k.chars().collect();
                if k.starts_with('-')
                    || k.starts_with('/')
                    || (chars.len() <= 8 && !k.starts_with("sk-"))
                {
                    // Claude Code project folders and short key names are not secrets.
                    k.to_string()
                } else {
                    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
                    format!("...{tail}")
                }
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_masked_or_labelled() {
        let mut names = BTreeMap::new();
        names.insert("sk-live-abcdef123456".to_string(), "marketing".to_string());
        assert_eq!(key_label(Some("sk-live-abcdef123456"), &names), "marketing");
        assert_eq!(key_label(Some("sk-proj-zzzzzzzz9876"), &names), "...9876");
        assert_eq!(key_label(Some("sk-ab"), &names), "...k-ab");
        assert_eq!(key_label(Some("batch"), &names), "batch");
        assert_eq!(key_label(None, &names), "(none)");
        assert_eq!(key_label(Some("-home-dev-shop"), &names), "-home-dev-shop");
    }
}
