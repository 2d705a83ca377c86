//! Results of the OpenAI Usage API (`GET /v1/organization/usage/completions`, `/usage/images`,
//! `/usage/embeddings`; https://platform.openai.com/docs/api-reference/usage). Each result
//! sums a bucket's requests for one group (`model`, `project_id`, `user_id`, `api_key_id`,
//! `batch`, and for images `size` and `source`): `num_model_requests` requests, with
//! `input_tokens` (cached tokens included), `input_cached_tokens` and `output_tokens`, or
//! `images` of one `size`. The images export has no quality: such rows are priced at the
//! model's default quality, and the report says the cost is estimated.

use super::build::{LineCtx, finish, payload_hash};
use super::entries::Span;
use super::fields::{count, string};
use super::response::Draft;
use crate::record::{ImageSize, Kind, UsageRecord};
use serde::Deserialize;
use serde_json::value::RawValue;

type Raw<'a> = Option<&'a RawValue>;

#[derive(Deserialize)]
struct Result<'a> {
    #[serde(borrow)]
    input_tokens: Raw<'a>,
    #[serde(borrow)]
    output_tokens: Raw<'a>,
    #[serde(borrow)]
    input_cached_tokens: Raw<'a>,
    #[serde(borrow)]
    num_model_requests: Raw<'a>,
    #[serde(borrow)]
    images: Raw<'a>,
    #[serde(borrow)]
    size: Raw<'a>,
    #[serde(borrow)]
    source: Raw<'a>,
    #[serde(borrow)]
    model: Raw<'a>,
    #[serde(borrow)]
    project_id: Raw<'a>,
    #[serde(borrow)]
    user_id: Raw<'a>,
    #[serde(borrow)]
    api_key_id: Raw<'a>,
    #[serde(borrow)]
    batch: Raw<'a>,
    #[serde(borrow)]
    service_tier: Raw<'a>,
}

/// A record for one result, or None for a group that made no request.
pub fn parse(
    raw: &RawValue,
    object: &str,
    span: &Span,
    ctx: &LineCtx<'_>,
) -> std::result::Result<Option<UsageRecord>, String> {
    let endpoint = object
        .strip_prefix("organization.usage.")
        .and_then(|s| s.strip_suffix(".result"))
        .unwrap_or(object);
    let kind = match endpoint {
        "completions" | "embeddings" => Kind::Text,
        "images" => Kind::Image,
        other => {
            return Err(format!(
                "{other} usage is not priced: reprice reads completions, embeddings and images usage"
            ));
        }
    };
    let r: Result = serde_json::from_str(raw.get()).map_err(|e| format!("result: {e}"))?;
    let requests = count(r.num_model_requests, "num_model_requests")?;
    let requests = u32::try_from(requests)
        .map_err(|_| format!("field num_model_requests: {requests} is too large"))?;
    let input = count(r.input_tokens, "input_tokens")?;
    let cached = count(r.input_cached_tokens, "input_cached_tokens")?;
    let output = count(r.output_tokens, "output_tokens")?;
    let images = count(r.images, "images")?;
    let images =
        u32::try_from(images).map_err(|_| format!("field images: {images} is too large"))?;
    if requests == 0 && input == 0 && output == 0 && images == 0 {
        return Ok(None);
    }
    let model = string(r.model).ok_or(
        "field model: missing; save usage pages grouped by model (group_by=model)".to_string(),
    )?;
    let mut d = Draft {
        model: Some(model),
        time: Some((span.start, false)),
        provider: Some("openai".to_string()),
        kind: Some(kind),
        images,
        has_usage: true,
        ..Draft::default()
    };
    d.tokens.input = input.checked_sub(cached).ok_or_else(|| {
        format!("field input_cached_tokens: {cached} exceeds the total {input} it is part of")
    })?;
    d.tokens.cache_read = cached;
    d.tokens.output = output;
    let size = string(r.size);
    if let Some(s) = &size {
        d.image_size = ImageSize::parse(s);
    }
    let batch = r.batch.is_some_and(|b| b.get().trim() == "true");
    let text = |v: Raw<'_>| string(v).unwrap_or_default();
    // Every group-by dimension is in the id: the same bucket and group read from two saved
    // pages is one record.
    d.id = Some(format!(
        "openai-usage:{endpoint}:{}:{}:{}:{}:{}:{batch}:{}:{}:{}",
        span.key,
        text(r.project_id),
        text(r.user_id),
        text(r.api_key_id),
        d.model.as_deref().unwrap_or(""),
        size.unwrap_or_default(),
        text(r.source),
        text(r.service_tier),
    ));
    let key = string(r.api_key_id);
    let mut rec = finish(d, ctx, key.as_deref(), batch, None)?;
    rec.requests = requests;
    rec.project = string(r.project_id).as_deref().map(crate::text::Text::new);
    rec.payload_hash = payload_hash(&rec);
    Ok(Some(rec))
}
