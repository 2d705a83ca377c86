//! The catalog file format (TOML). The default catalog is `default.toml`, embedded in the binary.

use crate::money::{Money, Ratio};
use crate::record::Kind;
use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    /// Currency of every price in the file, e.g. "USD".
    #[serde(default = "default_currency")]
    pub currency: String,
    #[serde(default, rename = "model")]
    pub models: Vec<ModelEntry>,
    #[serde(default, rename = "plan")]
    pub plans: Vec<PlanEntry>,
    #[serde(default, rename = "extra")]
    pub extras: Vec<ExtraEntry>,
}

fn default_currency() -> String {
    "USD".to_string()
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    /// Catalog id, e.g. "gemini-3-pro-image".
    pub id: String,
    /// The maker, whose `[[model.price]]` blocks these are. An override file that leaves it
    /// out only adds to the base catalog's model of this id (aliases, prices, offers).
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub kind: Kind,
    /// Names under which the model appears in real logs (matched case-insensitively, after
    /// provider prefixes such as "models/" or "google/" are removed).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Quality assumed for per-image prices when a log does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_quality: Option<String>,
    /// Price versions; each applies from its effective date until the next one. An override
    /// file may leave it out to change only aliases or the default quality.
    #[serde(default, rename = "price")]
    pub prices: Vec<PriceVersion>,
    /// A published rating of the model's output, which `cheapest` compares. Absent: the model
    /// is a `cheapest` candidate only where a scenario's `allow` lists it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_score: Option<QualityScore>,
    /// The same model sold by other providers, each at its own prices. The `[[model.price]]`
    /// blocks above are the maker's own offer.
    #[serde(default, rename = "offer", skip_serializing_if = "Vec::is_empty")]
    pub offers: Vec<OfferEntry>,
}

/// A public leaderboard rating, e.g. an arena ELO; a higher score is better. Only comparable
/// with scores from the same leaderboard.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct QualityScore {
    pub score: u32,
    /// The leaderboard, and which of its entries the score is.
    pub source: String,
    /// The day the leaderboard showed this score.
    pub date: NaiveDate,
}

/// One provider's offer of a catalog model.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OfferEntry {
    /// Who sells it, e.g. "nanogpt", "openrouter", "fal", "replicate", "vertex".
    pub provider: String,
    /// Names that identify this offer in logs (matched like model aliases).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Price versions, with the same fields and sources as the maker's.
    #[serde(default, rename = "price")]
    pub prices: Vec<PriceVersion>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PriceVersion {
    /// First day (UTC) on which this price applies.
    pub effective: NaiveDate,
    /// Where the figures come from.
    pub source: String,
    /// Per million input (prompt) tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_per_m: Option<Money>,
    /// Per million output tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_per_m: Option<Money>,
    /// Per million thinking tokens; the output price when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking_per_m: Option<Money>,
    /// Per million tokens read from a cache; the input price when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_per_m: Option<Money>,
    /// Per million tokens written to a cache; the input price when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_per_m: Option<Money>,
    /// Per million tokens written to a one-hour cache (Anthropic: twice the input price); the
    /// cache write price when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_1h_per_m: Option<Money>,
    /// Output tokens one image costs, by size ("1K", "2K", "4K" or "WxH").
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub image_output_tokens: BTreeMap<String, u64>,
    /// Flat prices per image.
    #[serde(default, rename = "image", skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ImagePrice>,
    /// Share taken off every price on the provider's batch tier ("0.5" = half price).
    /// Absent: the model has no batch tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_discount: Option<Ratio>,
    /// Above this many input tokens per request the `above_threshold` prices apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier_threshold_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above_threshold: Option<TokenPrices>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TokenPrices {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_per_m: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_per_m: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_per_m: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_per_m: Option<Money>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ImagePrice {
    /// "1K", "2K", "4K" or "WxH"; absent: any size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// e.g. "low", "medium", "high", "standard", "hd"; absent: any quality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<String>,
    pub price: Money,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PlanEntry {
    pub id: String,
    pub provider: String,
    pub monthly_fee: Money,
    /// Units covered per day; absent: unlimited. Resets at midnight in the report time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_quota: Option<u64>,
    /// What the quota counts: "images" or "requests".
    #[serde(default = "default_unit")]
    pub unit: PlanUnit,
    /// Catalog model ids the plan covers.
    pub models: Vec<String>,
    pub source: String,
    /// Whether a failed or rejected request still uses a unit of the quota, as the provider
    /// counts it (default true). When false, such requests are covered without using one.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub failed_uses_quota: bool,
    /// Where `failed_uses_quota` comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_uses_quota_source: Option<String>,
    /// The consumer app the plan is for (e.g. "Gemini app"), when it serves an app rather
    /// than API calls: the comparison is then of the same images made in that app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn default_unit() -> PlanUnit {
    PlanUnit::Images
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PlanUnit {
    Images,
    Requests,
}

impl PlanEntry {
    /// What a record uses of the quota: None when the plan does not concern it (another kind
    /// of unit), Some(0) for a failed or rejected request the provider does not count.
    pub fn units(&self, r: &crate::record::UsageRecord) -> Option<u64> {
        use crate::record::{Kind, Status};
        if self.unit == PlanUnit::Images && r.kind != Kind::Image {
            return None;
        }
        if matches!(r.status, Status::Failed | Status::Rejected) && !self.failed_uses_quota {
            return Some(0);
        }
        Some(self.unit.units(r))
    }
}

impl PlanUnit {
    /// What a record uses of a plan's quota: its images (a failed image request still takes
    /// one), or one request.
    pub fn units(self, r: &crate::record::UsageRecord) -> u64 {
        use crate::record::{Kind, Status};
        match self {
            PlanUnit::Images if r.kind == Kind::Image => {
                // A failed request counts one unit; an aggregate row counts each of its requests.
                u64::from(r.images.max(u32::from(r.status != Status::Ok) * r.requests))
            }
            PlanUnit::Images => 0,
            PlanUnit::Requests => u64::from(r.requests),
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExtraEntry {
    /// "web-search-grounding", "search-standard", "search-deep" or "web-search" (Anthropic).
    pub id: String,
    pub price_per_request: Money,
    pub effective: NaiveDate,
    pub source: String,
}
