//! summary.json: the totals of a run and of each scenario, as written and as its schema
//! (`schemas/`) describes them.

use super::{
    BillingReconciliation, BreakEven, BudgetReport, KeyRow, ModelRow, Providers, Reconciliation,
    RepeatedRequests, Waste,
};
use crate::money::Money;
use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

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
    /// Successful requests repeated identically within the retry window, not marked as
    /// retries: not waste, reported apart.
    pub repeated_requests: RepeatedRequests,
    pub break_even: Vec<BreakEven>,
    pub reconciliation: Reconciliation,
    /// Provider cost exports (OpenAI Costs API pages) against usage exports, per day and
    /// project.
    pub billing: BillingReconciliation,
    pub budget: BudgetReport,
    pub models: Vec<ModelRow>,
    /// The keys that cost most (at most 20), most first; every key is in by_key.csv.
    pub keys: Vec<KeyRow>,
    /// The keys not in `keys`, summed; null when `keys` lists them all.
    pub other_keys: Option<OtherKeys>,
    /// Models the catalog does not know, with their record counts. Their records count at the
    /// billed cost in the log, or not at all when the log has none.
    pub unknown_models: Vec<NamedCount>,
    /// Records in no figure of the reports, by model and reason: a model the catalog does
    /// not know with no cost in the log, or a known model without a price for what was used.
    pub unpriced: Vec<Unpriced>,
    /// Catalog prices that changed within the logs' dates: records on each side were priced
    /// at the version in force on their own day.
    pub price_changes: Vec<PriceChange>,
    /// The providers records were bought from, and what switching provider would save.
    pub providers: Providers,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct OtherKeys {
    pub keys: u64,
    pub records: u64,
    pub cost: Money,
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
    /// Of the skipped lines: requests a gateway answered from its own cache (LiteLLM
    /// `cache_hit`), no provider usage.
    pub served_from_cache: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct Actual {
    /// What the logs say was billed; computed from the catalog where a log has no cost.
    pub cost: Money,
    pub billed_in_logs: Money,
    pub computed_from_catalog: Money,
    pub tokens: TokenTotals,
    pub images: u64,
    /// Images by how their count was found ("response", "tokens", "request", "assumed");
    /// counts other than "response" were inferred because the log carried no image.
    pub images_by_count: BTreeMap<String, u64>,
    pub requests: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema, PartialEq, serde::Deserialize)]
pub struct TokenTotals {
    pub input: u64,
    pub output: u64,
    pub thinking: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    /// One-hour cache writes (Anthropic usage reports), apart from `cache_write`.
    pub cache_write_1h: u64,
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
    /// Subscriptions: the seats the plan was simulated with (fee and daily quota per seat).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seats: Option<u32>,
    /// How the scenario chose what it priced, in words (cheapest: the quality rule;
    /// subscriptions: seats, and the app a consumer plan serves).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
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
