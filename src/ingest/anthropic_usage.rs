//! Results of the Anthropic Admin API usage report (`GET /v1/organizations/usage_report/messages`;
//! https://platform.claude.com/docs/en/api/admin/usage_report/retrieve_messages). Each result
//! sums a bucket's usage for one group (`model`, `api_key_id`, `workspace_id`, `service_tier`,
//! `context_window`): `uncached_input_tokens`, `cache_creation.ephemeral_5m_input_tokens` and
//! `ephemeral_1h_input_tokens`, `cache_read_input_tokens`, `output_tokens` and
//! `server_tool_use.web_search_requests`. The report does not count requests: its records carry
//! a request count of 0 (unknown), and the report says so.

use super::build::{LineCtx, finish, payload_hash};
use super::entries::Span;
use super::fields::{count, string};
use super::response::Draft;
use crate::record::{Kind, UsageRecord};
use serde::Deserialize;
use serde_json::value::RawValue;

type Raw<'a> = Option<&'a RawValue>;

#[derive(Deserialize)]
struct Result<'a> {
    #[serde(borrow)]
    uncached_input_tokens: Raw<'a>,
    #[serde(borrow)]
    cache_creation: Option<CacheCreation<'a>>,
    /// The flat spelling some clients save.
    #[serde(borrow)]
    cache_creation_5m_input_tokens: Raw<'a>,
    #[serde(borrow)]
    cache_creation_1h_input_tokens: Raw<'a>,
    #[serde(borrow)]
    cache_read_input_tokens: Raw<'a>,
    #[serde(borrow)]
    output_tokens: Raw<'a>,
    #[serde(borrow)]
    server_tool_use: Option<ServerToolUse<'a>>,
    #[serde(borrow)]
    model: Raw<'a>,
    #[serde(borrow)]
    api_key_id: Raw<'a>,
    #[serde(borrow)]
    workspace_id: Raw<'a>,
    #[serde(borrow)]
    service_tier: Raw<'a>,
    #[serde(borrow)]
    context_window: Raw<'a>,
}

#[derive(Deserialize)]
struct CacheCreation<'a> {
    #[serde(borrow)]
    ephemeral_5m_input_tokens: Raw<'a>,
    #[serde(borrow)]
    ephemeral_1h_input_tokens: Raw<'a>,
}

#[derive(Deserialize)]
struct ServerToolUse<'a> {
    #[serde(borrow)]
    web_search_requests: Raw<'a>,
}

pub fn parse(
    raw: &RawValue,
    span: &Span,
    ctx: &LineCtx<'_>,
) -> std::result::Result<Option<UsageRecord>, String> {
    let r: Result = serde_json::from_str(raw.get()).map_err(|e| format!("result: {e}"))?;
    let (c5, c1) = match &r.cache_creation {
        Some(c) => (
            count(
                c.ephemeral_5m_input_tokens,
                "cache_creation.ephemeral_5m_input_tokens",
            )?,
            count(
                c.ephemeral_1h_input_tokens,
                "cache_creation.ephemeral_1h_input_tokens",
            )?,
        ),
        None => (
            count(
                r.cache_creation_5m_input_tokens,
                "cache_creation_5m_input_tokens",
            )?,
            count(
                r.cache_creation_1h_input_tokens,
                "cache_creation_1h_input_tokens",
            )?,
        ),
    };
    let searches = match &r.server_tool_use {
        Some(s) => count(s.web_search_requests, "server_tool_use.web_search_requests")?,
        None => 0,
    };
    let searches = u32::try_from(searches).map_err(|_| {
        format!("field server_tool_use.web_search_requests: {searches} is too large")
    })?;
    let mut d = Draft {
        time: Some((span.start, false)),
        provider: Some("anthropic".to_string()),
        kind: Some(Kind::Text),
        has_usage: true,
        ..Draft::default()
    };
    d.tokens.input = count(r.uncached_input_tokens, "uncached_input_tokens")?;
    d.tokens.cache_read = count(r.cache_read_input_tokens, "cache_read_input_tokens")?;
    d.tokens.output = count(r.output_tokens, "output_tokens")?;
    d.tokens.cache_write = c5;
    d.tokens.cache_write_1h = c1;
    d.extras.web_search = searches;
    let t = &d.tokens;
    if t.input + t.cache_read + t.output + t.cache_write + t.cache_write_1h == 0 && searches == 0 {
        return Ok(None);
    }
    d.model =
        Some(string(r.model).ok_or(
            "field model: missing; save usage reports grouped by model (group_by[]=model)",
        )?);
    let tier = string(r.service_tier).unwrap_or_default();
    let text = |v: Raw<'_>| string(v).unwrap_or_default();
    d.id = Some(format!(
        "anthropic-usage:{}:{}:{}:{}:{tier}:{}",
        span.key,
        d.model.as_deref().unwrap_or(""),
        text(r.api_key_id),
        text(r.workspace_id),
        text(r.context_window),
    ));
    let key = string(r.api_key_id);
    let mut rec = finish(d, ctx, key.as_deref(), tier == "batch", None)?;
    // The report sums tokens, not requests: how many there were is not known.
    rec.requests = 0;
    // The workspace is what the cost report is grouped by.
    rec.project = string(r.workspace_id)
        .as_deref()
        .map(crate::text::Text::new);
    rec.payload_hash = payload_hash(&rec);
    Ok(Some(rec))
}
