//! LiteLLM proxy spend logs: the JSON array `GET /spend/logs` returns (rows of the
//! `LiteLLM_SpendLogs` table; https://docs.litellm.ai/docs/proxy/cost_tracking). Each row is
//! one request through the proxy: `request_id`, `call_type`, `api_key` (already hashed),
//! `spend` (what LiteLLM computed as billed), `prompt_tokens` (cache reads and writes
//! included), `completion_tokens`, `startTime`, `model`, `custom_llm_provider`, `status`,
//! `cache_hit`, and `metadata.usage_object` with the cache counts. A row with `cache_hit` true
//! was answered from the proxy's cache without a provider call: it is counted apart, as a
//! request served from the cache, and is no provider usage.
//! The table exported as CSV is read by the built-in `litellm-spend-logs` CSV mapping.

use super::build::finish;
use super::entries::{Entry, Locator, ctx};
use super::fields::{count, money, string, time};
use super::response::Draft;
use super::results::LineOutcome;
use crate::record::{Kind, Status};
use serde::Deserialize;
use serde_json::value::RawValue;

type Raw<'a> = Option<&'a RawValue>;

#[derive(Deserialize)]
struct Row<'a> {
    #[serde(borrow)]
    request_id: Raw<'a>,
    #[serde(borrow)]
    call_type: Raw<'a>,
    #[serde(borrow)]
    api_key: Raw<'a>,
    #[serde(borrow)]
    spend: Raw<'a>,
    #[serde(borrow)]
    prompt_tokens: Raw<'a>,
    #[serde(borrow)]
    completion_tokens: Raw<'a>,
    #[serde(borrow, rename = "startTime")]
    start_time: Raw<'a>,
    #[serde(borrow)]
    model: Raw<'a>,
    #[serde(borrow)]
    custom_llm_provider: Raw<'a>,
    #[serde(borrow)]
    status: Raw<'a>,
    #[serde(borrow)]
    cache_hit: Raw<'a>,
    #[serde(borrow)]
    metadata: Option<Metadata<'a>>,
    #[serde(borrow)]
    response: Raw<'a>,
}

#[derive(Deserialize)]
struct Metadata<'a> {
    #[serde(borrow)]
    usage_object: Option<UsageObject<'a>>,
}

#[derive(Deserialize)]
struct UsageObject<'a> {
    #[serde(borrow)]
    cache_read_input_tokens: Raw<'a>,
    #[serde(borrow)]
    cache_creation_input_tokens: Raw<'a>,
    #[serde(borrow)]
    prompt_tokens_details: Option<PromptDetails<'a>>,
}

#[derive(Deserialize)]
struct PromptDetails<'a> {
    #[serde(borrow)]
    cached_tokens: Raw<'a>,
}

#[derive(Deserialize)]
struct ImagesResponse<'a> {
    #[serde(borrow)]
    data: Option<Vec<&'a RawValue>>,
}

pub fn entries<'d>(text: &'d str, loc: &Locator<'d>) -> Result<Vec<Entry<'d>>, String> {
    let rows: Vec<&RawValue> =
        serde_json::from_str(text).map_err(|e| format!("LiteLLM spend logs: {e}"))?;
    Ok(rows
        .into_iter()
        .map(|raw| {
            let source = loc.source(raw);
            let o = row(raw, &source);
            (source, raw.get(), o)
        })
        .collect())
}

/// Whether a `cache_hit` value says the proxy answered from its cache ("True", true).
pub fn is_cache_hit(value: &str) -> bool {
    matches!(
        value.trim().trim_matches('"').to_ascii_lowercase().as_str(),
        "true" | "1" | "yes"
    )
}

fn row(raw: &RawValue, source: &crate::record::SourceRef) -> LineOutcome {
    match parse_row(raw, source) {
        Ok(o) => o,
        Err(e) => LineOutcome::Bad(e),
    }
}

fn parse_row(raw: &RawValue, source: &crate::record::SourceRef) -> Result<LineOutcome, String> {
    let r: Row = serde_json::from_str(raw.get()).map_err(|e| format!("spend log row: {e}"))?;
    if r.cache_hit.is_some_and(|c| is_cache_hit(c.get())) {
        return Ok(LineOutcome::ProxyCacheHit);
    }
    let (mut cache_read, mut cache_write) = (0, 0);
    if let Some(u) = r.metadata.as_ref().and_then(|m| m.usage_object.as_ref()) {
        cache_read = count(
            u.cache_read_input_tokens,
            "metadata.usage_object.cache_read_input_tokens",
        )?;
        if cache_read == 0
            && let Some(p) = &u.prompt_tokens_details
        {
            cache_read = count(
                p.cached_tokens,
                "metadata.usage_object.prompt_tokens_details.cached_tokens",
            )?;
        }
        cache_write = count(
            u.cache_creation_input_tokens,
            "metadata.usage_object.cache_creation_input_tokens",
        )?;
    }
    let prompt = count(r.prompt_tokens, "prompt_tokens")?;
    let call = string(r.call_type).unwrap_or_default();
    let image = call.contains("image_generation") || call.contains("image_edit");
    let mut d = Draft {
        // The bare request id, as the CSV export of the same table gives it.
        id: string(r.request_id),
        model: string(r.model),
        time: time(r.start_time, "startTime")?,
        provider: string(r.custom_llm_provider).filter(|p| !p.is_empty()),
        kind: Some(if image { Kind::Image } else { Kind::Text }),
        billed_cost: money(r.spend, "spend")?,
        has_usage: true,
        ..Draft::default()
    };
    // LiteLLM's prompt_tokens count cache reads and writes too.
    d.tokens.input = prompt
        .checked_sub(cache_read + cache_write)
        .ok_or_else(|| {
            format!(
                "field prompt_tokens: {prompt} is less than the cache reads and writes ({}) it includes",
                cache_read + cache_write
            )
        })?;
    d.tokens.cache_read = cache_read;
    d.tokens.cache_write = cache_write;
    d.tokens.output = count(r.completion_tokens, "completion_tokens")?;
    if image {
        // The images are those the stored response lists; without it, one per call.
        let listed = r
            .response
            .and_then(|v| serde_json::from_str::<ImagesResponse>(v.get()).ok())
            .and_then(|v| v.data)
            .map(|d| d.len());
        d.images = u32::try_from(listed.unwrap_or(1)).unwrap_or(u32::MAX);
    }
    let status = string(r.status).unwrap_or_default().to_ascii_lowercase();
    if status == "failure" || status == "failed" || status == "error" {
        d.status = Some(Status::Failed);
    }
    let key = string(r.api_key).filter(|k| !k.is_empty());
    finish(d, &ctx(source), key.as_deref(), false, None).map(|r| LineOutcome::Record(Box::new(r)))
}
