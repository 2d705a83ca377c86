//! Analysis: totals, savings, waste, break-even, reconciliation and budgets, computed from the
//! priced records with exact decimals. Report writers only format what this produces.
//!
//! It is a fold ([`Fold`]): records arrive in canonical order in chunks that are dropped once
//! added, so every part keeps sums per group (day, model, key, scenario, plan), and what needs
//! the list of days (known only at the end) is expanded from per-day sums when finished.

mod billing;
mod budget;
mod days;
mod focus_rows;
mod focus_usage;
#[cfg(test)]
mod fold_tests;
mod offers;
mod plans;
mod reconcile;
pub mod report_model;
mod rules;
mod summary;
mod tables;
mod totals;
mod waste;

pub use billing::{BillingDifference, BillingReconciliation};
pub use budget::{BudgetReport, DayOverCap, MonthOverBudget};
pub use days::{DayRow, SavingsRow};
pub use focus_rows::{Commitment, FocusCharge, FocusRow, FocusUnit, focus_rows};
pub use focus_usage::FocusUsage;
pub use offers::{ProviderCount, ProviderSwitch, Providers};
pub use plans::{BreakEven, UnusedQuota, WeekdayQuota};
pub use reconcile::{BalanceGap, OtherGaps, Reconciliation};
pub use summary::{
    Actual, InputCounts, NamedCount, NotAppliedRow, OtherKeys, Period, PriceChange,
    ScenarioSummary, Summary, TokenTotals, Unpriced,
};
pub use tables::{KeyRow, ModelRow};
pub use waste::{RepeatedRequests, ThinkingShare, Waste};

use crate::catalog::Catalog;
use crate::money::{Money, share_text};
use crate::record::UsageRecord;
use crate::record::{ImageCount, Status};
use crate::reprice::{NotApplied, PlanUse, Priced, Repriced};
use crate::scenario::{Action, ScenarioSet};
use chrono::NaiveDate;
use std::collections::BTreeMap;

pub const SCHEMA_VERSION: u32 = 2;

/// Keys (by cost) and balance gaps (by amount) that summary.json and the reports list one by
/// one; the rest are summed in one row, and every one is in by_key.csv and reconciliation.csv.
pub const TOP_ROWS: usize = 20;

/// The reason of an unknown model's records that carry no cost of their own.
pub const UNKNOWN_UNBILLED: &str = "unknown model, no cost in the log";

/// Everything the writers need besides the summary.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub summary: Summary,
    pub by_day: Vec<DayRow>,
    pub savings: Vec<SavingsRow>,
    /// Every key, most cost first (summary.keys holds the first few): by_key.csv.
    pub all_keys: Vec<KeyRow>,
    /// Every balance gap and top-up, largest unexplained first: reconciliation.csv.
    pub all_gaps: Vec<BalanceGap>,
    /// The usage rows of focus.csv.
    pub focus: FocusUsage,
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

/// The whole analysis of records already re-priced: one chunk through [`Fold`].
pub fn analyze(records: &[UsageRecord], rp: &Repriced, cx: Context<'_>) -> Analysis {
    let mut fold = Fold::new(cx.catalog, cx.set);
    fold.add(records, &rp.priced);
    fold.finish(&rp.not_applied, &rp.plan_days, cx)
}

/// The analysis as a fold over records in canonical order, fed in chunks of any size. It holds
/// sums per group (day, model, key, scenario, plan) and the retry window's records, never the
/// records themselves, and its result does not depend on where the chunks are cut.
pub struct Fold<'a> {
    catalog: &'a Catalog,
    set: &'a ScenarioSet,
    s: Sums,
    /// Rows of cost exports, given with [`Fold::billed`].
    billed: Vec<crate::outcome::BilledCost>,
}

/// A fold's sums so far, without the catalog and scenarios they refer to. A `--state` run keeps
/// them, and the next run goes on from them when every record it finds comes later
/// ([`Fold::resume`]): the result is the same as one fold over all the records.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Sums {
    /// Records added so far: the number of the next one.
    records: u64,
    totals: totals::Totals,
    price_changes: totals::PriceChanges,
    plans: plans::BreakEvens,
    waste: waste::WasteFold,
    balances: reconcile::Balances,
    billing: billing::UsageByGroup,
    budget: budget::Spend,
    models_and_keys: tables::ModelsAndKeys,
    by_day: days::ByDay,
    savings: days::Savings,
    offers: offers::OfferFold,
    /// Only when focus.csv is asked for.
    focus: Option<focus_usage::UsageFold>,
}

impl<'a> Fold<'a> {
    pub fn new(catalog: &'a Catalog, set: &'a ScenarioSet) -> Fold<'a> {
        let n = set.scenarios.len();
        Fold {
            catalog,
            set,
            billed: Vec::new(),
            s: Sums {
                records: 0,
                totals: totals::Totals::new(),
                price_changes: totals::PriceChanges::default(),
                plans: plans::BreakEvens::new(set, catalog),
                waste: waste::WasteFold::new(set.retry_window_seconds),
                balances: reconcile::Balances::default(),
                billing: billing::UsageByGroup::default(),
                budget: budget::Spend::new(&set.budget),
                models_and_keys: tables::ModelsAndKeys::default(),
                by_day: days::ByDay::new(n),
                savings: days::Savings::new(n),
                offers: offers::OfferFold::default(),
                focus: Some(focus_usage::UsageFold::default()),
            },
        }
    }

    /// A fold that goes on from `sums`, which a fold with the same catalog and scenarios left.
    pub fn resume(catalog: &'a Catalog, set: &'a ScenarioSet, sums: Sums) -> Fold<'a> {
        Fold {
            catalog,
            set,
            s: sums,
            billed: Vec::new(),
        }
    }

    /// The sums so far, to go on from in a later run; rows of cost exports are not among them.
    pub fn sums(&self) -> &Sums {
        &self.s
    }

    /// A fold that leaves the usage rows of focus.csv empty, for runs that do not write it.
    pub fn without_focus(mut self) -> Fold<'a> {
        self.s.focus = None;
        self
    }

    /// What cost exports say was billed, to reconcile usage exports with.
    pub fn billed(&mut self, rows: impl IntoIterator<Item = crate::outcome::BilledCost>) {
        self.billed.extend(rows);
    }

    /// The next records in canonical order, with their prices (same length).
    pub fn add(&mut self, records: &[UsageRecord], priced: &[Priced]) {
        assert_eq!(
            records.len(),
            priced.len(),
            "every record comes with its prices"
        );
        let (rs, ps) = (records, priced);
        let seq = self.s.records;
        let Sums {
            totals,
            price_changes,
            plans,
            waste,
            balances,
            billing,
            budget,
            models_and_keys,
            by_day,
            savings,
            offers,
            focus,
            ..
        } = &mut self.s;
        // Each part reads the chunk in record order into its own state: they run side by side
        // and the result does not depend on the number of threads.
        rayon::join(
            || {
                rayon::join(
                    || {
                        rayon::join(
                            || (plans.add(rs, ps), waste.add(rs, ps, seq)),
                            || {
                                balances.add(rs, ps);
                                billing.add(rs, ps);
                                budget.add(rs, ps)
                            },
                        )
                    },
                    || {
                        rayon::join(
                            || totals.add(rs, ps),
                            || (price_changes.add(rs, ps), offers.add(rs, ps)),
                        )
                    },
                )
            },
            || {
                rayon::join(
                    || rayon::join(|| models_and_keys.add(rs, ps), || by_day.add(rs, ps)),
                    || {
                        rayon::join(
                            || savings.add(ps),
                            || {
                                if let Some(f) = focus {
                                    f.add(rs, ps, seq)
                                }
                            },
                        )
                    },
                )
            },
        );
        self.s.records += records.len() as u64;
    }

    /// The analysis of every record added. The period, and so every list of days, is known
    /// only now.
    pub fn finish(
        self,
        not_applied: &NotApplied,
        plan_days: &[PlanUse],
        cx: Context<'_>,
    ) -> Analysis {
        let (catalog, set) = (self.catalog, self.set);
        let names = &set.key_names;
        let t = self.s.totals;
        let period = t.period(cx.since, cx.until);
        let swapped = self.s.savings.swapped();
        let variables: Vec<Money> = (0..set.scenarios.len())
            .map(|i| swapped.total.cost(i, t.billed + t.computed))
            .collect();
        let seats = plans::seat_counts(set, plan_days);
        let plan_report = self.s.plans.finish(set, catalog, &period, plan_days);
        let (waste, repeated_requests) = self.s.waste.finish(catalog, plan_report.unused);
        let (reconciliation, all_gaps) = reconcile::top(self.s.balances.finish(names), TOP_ROWS);
        let in_period =
            |d: NaiveDate| cx.since.is_none_or(|s| d >= s) && cx.until.is_none_or(|u| d <= u);
        let billed: Vec<_> = self
            .billed
            .into_iter()
            .filter(|b| in_period(b.day))
            .collect();
        let billing = self.s.billing.finish(&billed);
        let budget = self.s.budget.finish(&set.budget, names, t.latest());
        let (models, all_keys) = self.s.models_and_keys.finish(catalog, names);
        let keys: Vec<KeyRow> = all_keys.iter().take(TOP_ROWS).cloned().collect();
        let other_keys = (all_keys.len() > TOP_ROWS).then(|| OtherKeys {
            keys: (all_keys.len() - TOP_ROWS) as u64,
            records: all_keys[TOP_ROWS..].iter().map(|k| k.records).sum(),
            cost: all_keys[TOP_ROWS..].iter().map(|k| k.cost).sum(),
        });
        let by_day = self.s.by_day.finish(set, &period, &seats, &swapped.by_day);
        let savings = self.s.savings.finish(catalog, set, &period, &seats);
        let price_changes = self.s.price_changes.finish(catalog);
        let providers = self.s.offers.finish(catalog, set);
        let focus = self
            .s
            .focus
            .map(|f| f.finish(catalog, set))
            .unwrap_or_default();
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
        let mut unpriced: BTreeMap<(String, String), u64> = BTreeMap::new();
        for ((m, reason), n) in t
            .unpriced
            .into_iter()
            .flat_map(|(m, rs)| rs.into_iter().map(move |(r, n)| ((m, r), n)))
        {
            *unpriced
                .entry((catalog.models()[m].id.clone(), reason))
                .or_default() += n;
        }
        for (m, n) in t.unknown_unbilled {
            *unpriced
                .entry((m.to_string(), UNKNOWN_UNBILLED.to_string()))
                .or_default() += n;
        }
        let mut warnings = cx.warnings;
        warnings.extend(aggregate_notes(&t.aggregates, catalog, cx.tz_name));
        let actual_cost = t.billed + t.computed;
        let fees = plans::fees(set, &period, &seats);
        let mut scenarios = Vec::new();
        for (i, s) in set.scenarios.iter().enumerate() {
            let cost = variables[i] + fees[i];
            let savings = actual_cost - cost;
            let not_applied = not_applied
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
                fixed_cost: fees[i],
                savings,
                savings_pct: savings.share_of(actual_cost).map(|d| share_text(d, 6)),
                records_changed: swapped.changed[i].0,
                changed_actual_cost: swapped.changed[i].1,
                not_applied,
                seats: plan_of(set, i).map(|_| seats[i]),
                rule: rules::rule(s, seats[i], swapped.changed[i].0),
            });
        }
        let summary = Summary {
            schema_version: SCHEMA_VERSION,
            currency: catalog.currency().to_string(),
            time_zone: cx.tz_name.to_string(),
            period,
            input: InputCounts {
                records: self.s.records,
                ..cx.input
            },
            actual: Actual {
                cost: actual_cost,
                billed_in_logs: t.billed,
                computed_from_catalog: t.computed,
                tokens: t.tokens,
                images: t.images,
                images_by_count: ImageCount::ALL
                    .into_iter()
                    .zip(t.images_by_count)
                    .filter(|(_, n)| *n > 0)
                    .map(|(c, n)| (c.as_str().to_string(), n))
                    .collect(),
                requests,
            },
            scenarios,
            waste,
            repeated_requests,
            break_even: plan_report.break_even,
            reconciliation,
            billing,
            budget,
            models,
            keys,
            other_keys,
            unknown_models: unknown
                .into_iter()
                .map(|(model, records)| NamedCount { model, records })
                .collect(),
            price_changes,
            providers,
            unpriced: unpriced
                .into_iter()
                .map(|((model, reason), records)| Unpriced {
                    model,
                    reason,
                    records,
                })
                .collect(),
            warnings,
        };
        Analysis {
            summary,
            by_day,
            savings,
            all_keys,
            all_gaps,
            focus,
        }
    }
}

/// What the report says about rows of usage exports: they sum many requests, so analyses of
/// single requests skip them; they belong to their bucket's UTC day; some figures are estimated.
fn aggregate_notes(a: &totals::Aggregates, catalog: &Catalog, tz: &str) -> Vec<String> {
    let mut out = Vec::new();
    if a.rows == 0 {
        return out;
    }
    if a.rows > a.uncounted {
        out.push(format!(
            "{} rows of usage exports sum {} requests: they count as that many requests for \
             quotas, plans and break-even; retry detection and balance reconciliation look at \
             single requests and do not apply to them",
            a.rows - a.uncounted,
            a.requests
        ));
    }
    if a.uncounted > 0 {
        out.push(format!(
            "{} rows of Anthropic usage reports do not say how many requests they sum: their \
             tokens and cost count, their requests do not",
            a.uncounted
        ));
    }
    if tz != "UTC" {
        out.push(format!(
            "usage export buckets belong to the UTC day they start on, not to a day in {tz}"
        ));
    }
    for (model, (rows, images)) in &a.no_quality {
        let default = catalog
            .resolve(model)
            .and_then(|m| m.default_quality.clone());
        if let Some(q) = default {
            out.push(format!(
                "{images} {model} images in {rows} usage export rows carry no quality: priced at \
                 the default quality ({q}), so their cost is estimated"
            ));
        }
    }
    out
}

/// Every calendar day of the period.
pub fn calendar_days(period: &Period) -> Vec<NaiveDate> {
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

/// Per scenario: what the records it priced actually cost, and what they cost under it. A
/// scenario's cost of a set of records is their actual cost with these swapped: most scenarios
/// price few records, so a record adds only to the scenarios that priced it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Swaps(Vec<(Money, Money)>);

impl Swaps {
    fn new(scenarios: usize) -> Swaps {
        Swaps(vec![(Money::ZERO, Money::ZERO); scenarios])
    }

    fn add_one(&mut self, i: usize, actual: Money, cost: Money) {
        let (was, now) = &mut self.0[i];
        *was += actual;
        *now += cost;
    }

    /// Scenario `i`'s cost of records that actually cost `actual`.
    fn cost(&self, i: usize, actual: Money) -> Money {
        let (was, now) = self.0[i];
        actual - was + now
    }
}

/// The built-in catalog and scenarios over March 1-2 2026 with no records: an analysis with
/// every field a real one has, for tests to set the figures they check.
#[cfg(test)]
pub(crate) fn empty_march_analysis() -> Analysis {
    let catalog = Catalog::builtin().expect("catalog");
    let set = ScenarioSet::builtin(&catalog).expect("scenarios");
    let rp = crate::reprice::reprice(&[], &catalog, &set, chrono_tz::Tz::UTC);
    analyze(
        &[],
        &rp,
        Context {
            catalog: &catalog,
            set: &set,
            tz_name: "UTC",
            since: NaiveDate::from_ymd_opt(2026, 3, 1),
            until: NaiveDate::from_ymd_opt(2026, 3, 2),
            input: InputCounts::default(),
            warnings: Vec::new(),
        },
    )
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
