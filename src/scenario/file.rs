//! The scenarios file format (TOML).

use crate::catalog::PlanEntry;
use crate::money::Money;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    #[serde(default, rename = "scenario")]
    pub scenarios: Vec<ScenarioDef>,
    /// Plans of your own (a negotiated contract, a team subscription), usable by name.
    #[serde(default, rename = "plan")]
    pub plans: Vec<PlanEntry>,
    #[serde(default)]
    pub budget: Option<BudgetDef>,
    /// Names to show instead of api keys in reports (key -> label).
    #[serde(default)]
    pub key_names: BTreeMap<String, String>,
    /// Two requests with the same key and body within this many seconds are a repeat (default
    /// 300): the earlier attempt is waste when the later one is marked as a retry.
    #[serde(default)]
    pub retry_window_seconds: Option<u64>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioDef {
    pub name: String,
    /// Re-price every record that has a batch tier at that tier.
    #[serde(default)]
    pub batch: bool,
    /// Catalog model -> substitute model.
    #[serde(default)]
    pub substitute: BTreeMap<String, String>,
    /// Per record, the cheapest catalog model of the same kind and output size.
    #[serde(default)]
    pub cheapest: bool,
    /// With `cheapest`: only these providers or model ids; models without a quality score
    /// are candidates only when listed here.
    #[serde(default)]
    pub allow: Vec<String>,
    /// With `cheapest`: how far below the original's quality score a substitute may be
    /// (default 0: at least as good).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_quality_delta: Option<u32>,
    /// A plan id from the catalog or this file.
    #[serde(default)]
    pub subscription: Option<String>,
    /// With `subscription`: who holds the plan. "per-key" (default): each api key is a seat
    /// with its own fee and daily quota; 1: all keys share one seat; or a map of api keys to
    /// seat names, "*" naming the seat of every other key (and of records without a key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seats: Option<SeatsDef>,
    /// The same model from another provider: provider the record was bought from -> provider
    /// to price it at ("*": any other). Records whose model that provider does not sell are
    /// not applied. With `batch = true`, priced at the target's batch tier where it has one.
    #[serde(default)]
    pub switch_provider: BTreeMap<String, String>,
    /// Per record, the cheapest offer of the same model (any provider that sells it). With
    /// `batch = true`, each offer at its batch tier where it has one.
    #[serde(default)]
    pub cheapest_provider: bool,
    /// Only records of these api keys.
    #[serde(default)]
    pub keys: Vec<String>,
    /// Only records of these models.
    #[serde(default)]
    pub models: Vec<String>,
    /// Only records made in these hours (0..23, report time zone).
    #[serde(default)]
    pub hours: Vec<u32>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetDef {
    /// Spend cap per api key per day, like NanoGPT's "USD per Day"; "*" applies to every key.
    #[serde(default)]
    pub daily_cap: BTreeMap<String, Money>,
    /// Spend cap per calendar month over all keys.
    #[serde(default)]
    pub monthly: Option<Money>,
}

/// How a subscription's seats are written: "per-key", 1, or { key = seat name, "*" = seat }.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(untagged)]
pub enum SeatsDef {
    Named(String),
    Count(i64),
    Map(BTreeMap<String, String>),
}
