//! The one record shape every log source is normalized into.

use crate::money::Money;
pub use crate::text::Text;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    #[default]
    Text,
    Image,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Image => "image",
        }
    }
}

/// What happened to a request. Failed and rejected requests may still have been billed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Failed,
    /// Refused by a content policy (safety filter, moderation).
    Rejected,
    /// A successful repeat of an earlier attempt, as marked by the client in the log.
    Retry,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
            Status::Rejected => "rejected",
            Status::Retry => "retry",
        }
    }
}

/// How a record's image count was found. Logs often strip image bytes, so the count is not
/// always read from the response itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageCount {
    /// The response listed its images (data items, inline image parts, image tool calls), or
    /// the export had a count column.
    Response,
    /// From the IMAGE-modality output tokens and the catalog's tokens per image for the size.
    Tokens,
    /// From what the request asked for (`n`, `sampleCount`).
    Request,
    /// One image, for a successful image request that said nothing else.
    Assumed,
}

impl ImageCount {
    pub const ALL: [ImageCount; 4] = [
        ImageCount::Response,
        ImageCount::Tokens,
        ImageCount::Request,
        ImageCount::Assumed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ImageCount::Response => "response",
            ImageCount::Tokens => "tokens",
            ImageCount::Request => "request",
            ImageCount::Assumed => "assumed",
        }
    }
}

/// The output size class of an image. Prices and image token counts are keyed by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ImageSize {
    K1,
    K2,
    K4,
    Pixels(u32, u32),
}

impl ImageSize {
    /// Parses "1K"/"2K"/"4K" and "WIDTHxHEIGHT". Returns None for "auto" and other words.
    pub fn parse(text: &str) -> Option<ImageSize> {
        let t = crate::text::trimmed(text);
        for (word, size) in [
            ("1K", ImageSize::K1),
            ("2K", ImageSize::K2),
            ("4K", ImageSize::K4),
        ] {
            if t.eq_ignore_ascii_case(word) {
                return Some(size);
            }
        }
        let (w, h) = t.split_once(['x', 'X', '×'])?;
        let w: u32 = w.trim().parse().ok()?;
        let h: u32 = h.trim().parse().ok()?;
        (w > 0 && h > 0).then_some(ImageSize::Pixels(w, h))
    }

    /// The size class: the long edge up to ~1K, ~2K, or larger.
    pub fn tier(self) -> ImageSize {
        match self {
            ImageSize::Pixels(w, h) => match w.max(h) {
                0..=1536 => ImageSize::K1,
                1537..=2560 => ImageSize::K2,
                _ => ImageSize::K4,
            },
            t => t,
        }
    }
}

impl Serialize for ImageSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ImageSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ImageSize::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("'{s}' is not an image size")))
    }
}

impl fmt::Display for ImageSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageSize::K1 => f.write_str("1K"),
            ImageSize::K2 => f.write_str("2K"),
            ImageSize::K4 => f.write_str("4K"),
            ImageSize::Pixels(w, h) => write!(f, "{w}x{h}"),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tokens {
    pub input: u64,
    pub output: u64,
    pub thinking: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    /// Tokens written to a one-hour cache (Anthropic), priced at their own rate.
    #[serde(default)]
    pub cache_write_1h: u64,
}

impl Tokens {
    /// Every count, in the order of the fields: the order the spill codec and the payload hash
    /// write them in.
    pub fn counts(&self) -> [u64; 6] {
        [
            self.input,
            self.output,
            self.thinking,
            self.cache_read,
            self.cache_write,
            self.cache_write_1h,
        ]
    }

    pub fn add(&mut self, o: &Tokens) {
        self.input += o.input;
        self.output += o.output;
        self.thinking += o.thinking;
        self.cache_read += o.cache_read;
        self.cache_write += o.cache_write;
        self.cache_write_1h += o.cache_write_1h;
    }
}

/// Priced add-ons counted per request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Extras {
    pub web_search_grounding: u32,
    pub search_standard: u32,
    pub search_deep: u32,
    /// Anthropic's server-side web search tool (`server_tool_use.web_search_requests`).
    #[serde(default)]
    pub web_search: u32,
}

impl Extras {
    pub fn is_empty(&self) -> bool {
        self.web_search_grounding == 0
            && self.search_standard == 0
            && self.search_deep == 0
            && self.web_search == 0
    }
}

/// Where a record came from: enough to find the line again.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SourceRef {
    pub file: Text,
    pub line: u64,
    pub byte: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UsageRecord {
    /// The provider's id (response id, request id, batch custom_id, message id + request id);
    /// the deduplication key. None when the log carries none.
    pub id: Option<String>,
    pub source: SourceRef,
    pub time: DateTime<Utc>,
    /// The log's timestamp had no offset and was read as UTC.
    pub time_assumed_utc: bool,
    /// Shared text: a log repeats few keys, providers, models and qualities over many records.
    pub api_key: Option<Text>,
    pub provider: Option<Text>,
    /// The provider the request was bought from, as the log tells it (one spelling, see
    /// `provider::canonical`); `provider` keeps the logged text, which on OpenRouter names
    /// the upstream provider instead.
    pub seller: Option<Text>,
    /// How `seller` was found.
    pub seller_from: crate::provider::ProviderFrom,
    pub model: Text,
    pub kind: Kind,
    pub status: Status,
    pub tokens: Tokens,
    pub images: u32,
    /// How `images` was found; None when the record claims no image.
    pub image_count: Option<ImageCount>,
    /// Output tokens the response gave the IMAGE modality (Gemini), from which the catalog
    /// counts images when the response carries no image itself.
    pub image_tokens: u64,
    pub image_size: Option<ImageSize>,
    pub quality: Option<Text>,
    pub batch: bool,
    pub extras: Extras,
    pub billed_cost: Option<Money>,
    pub remaining_balance: Option<Money>,
    /// Hash of what was asked (model + request body), to find retries of the same request.
    pub request_hash: Option<u64>,
    /// Hash of the id of the earlier attempt this one says it retries (`retry_of`).
    pub retry_of: Option<u64>,
    /// Hash of the whole input line's usage-relevant payload, to tell duplicates from conflicts.
    pub payload_hash: u64,
    /// Requests this record stands for: 1 for a logged request; more for a row of a usage export
    /// that sums a bucket of requests (its tokens, images and cost are the bucket's sums).
    #[serde(default = "one")]
    pub requests: u32,
    /// The provider's project (OpenAI `project_id`) of a usage export row, which its cost
    /// pages are reconciled by.
    #[serde(default)]
    pub project: Option<Text>,
}

fn one() -> u32 {
    1
}

impl UsageRecord {
    /// A row of a usage export summing several requests: analyses of single requests (retries,
    /// balance deltas) do not apply to it.
    pub fn is_aggregate(&self) -> bool {
        self.requests != 1
    }
}

/// A record for tests: one 2K Gemini 3 Pro image, counted from the response, logged at
/// 2026-03-02 10:00 UTC with no id, key, cost or tokens. Tests set what they are about.
#[cfg(test)]
pub fn sample() -> UsageRecord {
    use chrono::TimeZone;
    UsageRecord {
        id: None,
        source: SourceRef {
            file: Text::from("f"),
            line: 1,
            byte: 0,
        },
        time: Utc
            .with_ymd_and_hms(2026, 3, 2, 10, 0, 0)
            .single()
            .expect("time"),
        time_assumed_utc: false,
        api_key: None,
        provider: None,
        seller: None,
        seller_from: crate::provider::ProviderFrom::Unknown,
        model: Text::from("gemini-3-pro-image"),
        kind: Kind::Image,
        status: Status::Ok,
        tokens: Tokens::default(),
        images: 1,
        image_count: Some(ImageCount::Response),
        image_tokens: 0,
        image_size: Some(ImageSize::K2),
        quality: None,
        batch: false,
        extras: Extras::default(),
        billed_cost: None,
        remaining_balance: None,
        request_hash: None,
        retry_of: None,
        payload_hash: 0,
        requests: 1,
        project: None,
    }
}
