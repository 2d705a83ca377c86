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
    pub provider: String,
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
