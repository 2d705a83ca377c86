//! CSV billing exports. Columns are mapped to record fields by a mapping: built-in ones for
//! known exports, or a TOML file given with `--csv-map`.

use super::build::{LineCtx, finish};
use super::fields::{money_text, time_text};
use super::response::Draft;
use crate::error::ConfigError;
use crate::record::{ImageSize, Kind, Status, Tokens, UsageRecord};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CsvMapping {
    pub name: String,
    /// The prompt-token column includes cached tokens (as OpenAI-style counts do).
    #[serde(default)]
    pub input_includes_cached: bool,
    /// The completion-token column includes reasoning tokens.
    #[serde(default)]
    pub output_includes_thinking: bool,
    /// The provider every row was bought from, when the export is one seller's: an
    /// aggregator's provider column names the upstream provider instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller: Option<String>,
    pub columns: CsvColumns,
}

/// Header names of the export for each record field. `timestamp` and `model` are required.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CsvColumns {
    pub timestamp: String,
    pub model: String,
    pub id: Option<String>,
    pub api_key: Option<String>,
    pub provider: Option<String>,
    pub kind: Option<String>,
    pub status: Option<String>,
    pub input_tokens: Option<String>,
    pub output_tokens: Option<String>,
    pub thinking_tokens: Option<String>,
    pub cache_read_tokens: Option<String>,
    pub cache_write_tokens: Option<String>,
    pub images: Option<String>,
    pub image_size: Option<String>,
    pub quality: Option<String>,
    pub batch: Option<String>,
    pub cost: Option<String>,
    pub remaining_balance: Option<String>,
    pub web_search: Option<String>,
    /// A gateway's cache-hit flag (LiteLLM `cache_hit`): a true row made no provider call and
    /// is counted apart, as served from the gateway's cache.
    #[serde(default)]
    pub cache_hit: Option<String>,
}

impl CsvColumns {
    fn optional(&self) -> [(&'static str, Option<&str>); 18] {
        [
            ("id", self.id.as_deref()),
            ("api_key", self.api_key.as_deref()),
            ("provider", self.provider.as_deref()),
            ("kind", self.kind.as_deref()),
            ("status", self.status.as_deref()),
            ("input_tokens", self.input_tokens.as_deref()),
            ("output_tokens", self.output_tokens.as_deref()),
            ("thinking_tokens", self.thinking_tokens.as_deref()),
            ("cache_read_tokens", self.cache_read_tokens.as_deref()),
            ("cache_write_tokens", self.cache_write_tokens.as_deref()),
            ("images", self.images.as_deref()),
            ("image_size", self.image_size.as_deref()),
            ("quality", self.quality.as_deref()),
            ("batch", self.batch.as_deref()),
            ("cost", self.cost.as_deref()),
            ("remaining_balance", self.remaining_balance.as_deref()),
            ("web_search", self.web_search.as_deref()),
            ("cache_hit", self.cache_hit.as_deref()),
        ]
    }
}

pub fn builtin_mappings() -> Vec<CsvMapping> {
    let own = |s: &str| Some(s.to_string());
    vec![
        CsvMapping {
            name: "reprice".to_string(),
            input_includes_cached: false,
            output_includes_thinking: false,
            seller: None,
            columns: CsvColumns {
                timestamp: "timestamp".into(),
                model: "model".into(),
                id: own("id"),
                api_key: own("api_key"),
                provider: own("provider"),
                kind: own("kind"),
                status: own("status"),
                input_tokens: own("input_tokens"),
                output_tokens: own("output_tokens"),
                thinking_tokens: own("thinking_tokens"),
                cache_read_tokens: own("cache_read_tokens"),
                cache_write_tokens: own("cache_write_tokens"),
                images: own("images"),
                image_size: own("image_size"),
                quality: own("quality"),
                batch: own("batch"),
                cost: own("cost"),
                remaining_balance: own("remaining_balance"),
                web_search: own("web_search"),
                cache_hit: None,
            },
        },
        // LiteLLM's LiteLLM_SpendLogs table exported as CSV (schema.prisma): `spend` is what
        // was billed, `api_key` is already hashed; prompt_tokens include cache reads and
        // writes, whose counts are only in the metadata column.
        CsvMapping {
            name: "litellm-spend-logs".to_string(),
            // The seller differs row by row; a provider prefix in the model name tells it.
            seller: None,
            input_includes_cached: true,
            output_includes_thinking: false,
            columns: CsvColumns {
                timestamp: "startTime".into(),
                model: "model".into(),
                id: own("request_id"),
                api_key: own("api_key"),
                provider: own("custom_llm_provider"),
                status: own("status"),
                input_tokens: own("prompt_tokens"),
                output_tokens: own("completion_tokens"),
                cost: own("spend"),
                cache_hit: own("cache_hit"),
                ..CsvColumns::default()
            },
        },
        // OpenRouter's activity export (Settings > Activity > Export).
        CsvMapping {
            name: "openrouter-activity".to_string(),
            input_includes_cached: true,
            output_includes_thinking: true,
            seller: own("openrouter"),
            columns: CsvColumns {
                timestamp: "created_at".into(),
                model: "model_permaslug".into(),
                id: own("generation_id"),
                api_key: own("api_key_name"),
                provider: own("provider_name"),
                status: own("finish_reason_normalized"),
                input_tokens: own("tokens_prompt"),
                output_tokens: own("tokens_completion"),
                thinking_tokens: own("tokens_reasoning"),
                cache_read_tokens: own("tokens_cached"),
                cost: own("cost_total"),
                ..CsvColumns::default()
            },
        },
    ]
}

pub fn load_mapping(path: &std::path::Path) -> Result<CsvMapping, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        file: file.clone(),
        message: e.to_string(),
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        file,
        message: e.to_string(),
    })
}

/// Column positions of one mapping in one file's header.
pub struct Bound<'m> {
    pub mapping: &'m CsvMapping,
    timestamp: usize,
    model: usize,
    fields: Vec<(&'static str, usize)>,
    pub width: usize,
}

/// Picks the mapping whose columns best match the header; required columns must be present.
pub fn bind<'m>(header: &csv::StringRecord, mappings: &'m [CsvMapping]) -> Option<Bound<'m>> {
    let pos = |name: &str| {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let mut best: Option<Bound<'m>> = None;
    for m in mappings {
        let (Some(timestamp), Some(model)) = (pos(&m.columns.timestamp), pos(&m.columns.model))
        else {
            continue;
        };
        let fields: Vec<_> = m
            .columns
            .optional()
            .into_iter()
            .filter_map(|(f, col)| col.and_then(pos).map(|i| (f, i)))
            .collect();
        if best.as_ref().is_none_or(|b| fields.len() > b.fields.len()) {
            best = Some(Bound {
                mapping: m,
                timestamp,
                model,
                fields,
                width: header.len(),
            });
        }
    }
    best
}

/// Whether the row's cache-hit column says a gateway answered it from its own cache.
pub fn is_cache_hit(b: &Bound<'_>, row: &csv::StringRecord) -> bool {
    b.fields
        .iter()
        .find(|(n, _)| *n == "cache_hit")
        .and_then(|(_, i)| row.get(*i))
        .is_some_and(super::litellm_spend::is_cache_hit)
}

pub fn parse_row(
    b: &Bound<'_>,
    row: &csv::StringRecord,
    ctx: &LineCtx<'_>,
) -> Result<UsageRecord, String> {
    if row.len() != b.width {
        return Err(format!(
            "{} columns where the header has {}",
            row.len(),
            b.width
        ));
    }
    let cell = |i: usize| row.get(i).unwrap_or("").trim();
    let col = |f: &str| {
        b.fields
            .iter()
            .find(|(n, _)| *n == f)
            .map(|(_, i)| cell(*i))
    };
    let name = |f: &str| {
        b.mapping
            .columns
            .optional()
            .into_iter()
            .find(|(n, _)| *n == f)
            .and_then(|(_, c)| c)
            .unwrap_or(f)
            .to_string()
    };
    let num = |f: &str| -> Result<u64, String> {
        match col(f) {
            None | Some("") => Ok(0),
            Some(v) => {
                let raw = serde_json::value::RawValue::from_string(format!(
                    "\"{}\"",
                    v.replace(['"', '\\'], "")
                ))
                .map_err(|_| format!("field {}: '{v}' is not a count", name(f)))?;
                super::fields::count(Some(&raw), &name(f))
            }
        }
    };
    if cell(b.timestamp).is_empty() {
        return Err(format!("field {}: missing", b.mapping.columns.timestamp));
    }
    let mut d = Draft {
        model: Some(cell(b.model).to_string()),
        time: Some(time_text(cell(b.timestamp), &b.mapping.columns.timestamp)?),
        ..Draft::default()
    };
    d.id = col("id").filter(|s| !s.is_empty()).map(str::to_string);
    d.provider = col("provider")
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    d.seller = b
        .mapping
        .seller
        .as_deref()
        .or(d.provider.as_deref())
        .map(|p| {
            (
                crate::provider::canonical(p),
                crate::provider::ProviderFrom::Export,
            )
        });
    let mut t = Tokens {
        input: num("input_tokens")?,
        output: num("output_tokens")?,
        thinking: num("thinking_tokens")?,
        cache_read: num("cache_read_tokens")?,
        cache_write: num("cache_write_tokens")?,
        cache_write_1h: 0,
    };
    if b.mapping.input_includes_cached {
        t.input = t.input.checked_sub(t.cache_read).ok_or_else(|| {
            format!(
                "field {}: cached tokens exceed prompt tokens",
                name("cache_read_tokens")
            )
        })?;
    }
    if b.mapping.output_includes_thinking {
        t.output = t.output.checked_sub(t.thinking).ok_or_else(|| {
            format!(
                "field {}: reasoning tokens exceed completion tokens",
                name("thinking_tokens")
            )
        })?;
    }
    d.tokens = t;
    d.images = u32::try_from(num("images")?)
        .map_err(|_| format!("field {}: too large", name("images")))?;
    d.image_size = col("image_size").and_then(ImageSize::parse);
    d.quality = col("quality")
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_lowercase);
    d.kind = match col("kind").map(str::to_ascii_lowercase).as_deref() {
        Some("image") => Some(Kind::Image),
        Some("text") | Some("") | None => {
            if d.images > 0 {
                Some(Kind::Image)
            } else {
                Some(Kind::Text)
            }
        }
        Some(other) => {
            return Err(format!(
                "field {}: '{other}' is not text or image",
                name("kind")
            ));
        }
    };
    d.status = Some(
        match col("status").map(str::to_ascii_lowercase).as_deref() {
            None | Some("") | Some("ok") | Some("success") | Some("completed") | Some("stop")
            | Some("length") | Some("tool_calls") => Status::Ok,
            Some("failed") | Some("failure") | Some("error") | Some("cancelled") => Status::Failed,
            Some("rejected") | Some("content_filter") | Some("blocked") => Status::Rejected,
            Some("retry") => Status::Retry,
            Some(other) => {
                return Err(format!(
                    "field {}: '{other}' is not a known status",
                    name("status")
                ));
            }
        },
    );
    // Saturating would bill u32::MAX searches without a word; a count that does not fit is bad.
    d.extras.web_search_grounding = u32::try_from(num("web_search")?)
        .map_err(|_| format!("field {}: too large", name("web_search")))?;
    d.billed_cost = match col("cost") {
        Some(v) => money_text(v, &name("cost"))?,
        None => None,
    };
    d.remaining_balance = match col("remaining_balance") {
        Some(v) => money_text(v, &name("remaining_balance"))?,
        None => None,
    };
    let batch = matches!(
        col("batch").map(str::to_ascii_lowercase).as_deref(),
        Some("true" | "1" | "yes")
    );
    let key = col("api_key").filter(|s| !s.is_empty());
    finish(d, ctx, key, batch, None)
}

#[cfg(test)]
mod tests {
    use crate::ingest::{Options, parse_bytes};

    fn reasons(text: &str) -> Vec<(u64, String)> {
        let maps = super::builtin_mappings();
        let opts = Options::new(&maps);
        let (_, _, q) = parse_bytes("f.csv", text.as_bytes(), &opts);
        q.into_iter().map(|q| (q.line, q.reason)).collect()
    }

    #[test]
    fn counts_that_do_not_fit_are_refused() {
        assert_eq!(
            reasons(
                "timestamp,model,web_search,images\n2026-03-06,m,4294967296,1\n2026-03-06,m,1,4294967296\n"
            ),
            vec![
                (2, "field web_search: too large".to_string()),
                (3, "field images: too large".to_string()),
            ]
        );
    }

    #[test]
    fn empty_timestamp_cell_is_missing_not_unparseable() {
        assert_eq!(
            reasons("timestamp,model,output_tokens\n ,gpt-4o,5\n2026-03-06,gpt-4o,-5\n"),
            vec![
                (2, "field timestamp: missing".to_string()),
                (3, "field output_tokens: -5 is negative".to_string()),
            ]
        );
    }
}
