//! Response bodies of the providers (OpenAI chat/responses/images, Gemini, Anthropic, NanoGPT,
//! OpenRouter), read into a [`Draft`]; the request bodies that say what was asked are in
//! `request`. Shared by every JSON source.

use super::fields::{FieldResult, count, money, string, time};
use super::members::{InPlace, Shape, require_object, wrong_member};
use crate::money::Money;
use crate::record::{Extras, ImageCount, ImageSize, Kind, Status, Tokens};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;

type Raw<'a> = Option<&'a RawValue>;

/// A field path, `prefix + middle + name`, spelled out only when an error names it: most
/// fields of most lines are fine, and formatting every path cost more than reading the field.
struct At<'a>(&'a str, &'a str, &'a str);

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)?;
        f.write_str(self.1)?;
        f.write_str(self.2)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Body<'a> {
    #[serde(borrow)]
    id: Raw<'a>,
    #[serde(borrow, rename = "responseId")]
    response_id: Raw<'a>,
    #[serde(borrow)]
    model: Raw<'a>,
    #[serde(borrow, rename = "modelVersion")]
    model_version: Raw<'a>,
    #[serde(borrow)]
    created: Raw<'a>,
    #[serde(borrow)]
    created_at: Raw<'a>,
    /// Vertex AI's Gemini responses carry it; the Gemini API's do not.
    #[serde(borrow, rename = "createTime")]
    create_time: Raw<'a>,
    usage: Option<Usage<'a>>,
    #[serde(rename = "usageMetadata")]
    usage_metadata: Option<GeminiUsage<'a>>,
    #[serde(borrow)]
    cost: Raw<'a>,
    #[serde(borrow, rename = "remainingBalance")]
    remaining_balance: Raw<'a>,
    data: Option<Vec<IgnoredAny>>,
    predictions: Option<Vec<IgnoredAny>>,
    candidates: Option<Vec<Candidate<'a>>>,
    #[serde(rename = "promptFeedback")]
    prompt_feedback: Option<PromptFeedback<'a>>,
    /// Responses API output items; kept raw, as other APIs use `output` for other things.
    #[serde(borrow)]
    output: Raw<'a>,
    #[serde(borrow)]
    error: Raw<'a>,
    #[serde(borrow)]
    provider: Raw<'a>,
    #[serde(borrow)]
    stop_reason: Raw<'a>,
    #[serde(borrow)]
    status: Raw<'a>,
    /// The members of an OpenAI Batch output line's `response`, which the one pass over the
    /// line reads as a body too.
    #[serde(borrow)]
    pub status_code: Raw<'a>,
    #[serde(borrow)]
    pub request_id: Raw<'a>,
    #[serde(borrow)]
    pub body: Raw<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Usage<'a> {
    #[serde(borrow)]
    prompt_tokens: Raw<'a>,
    #[serde(borrow)]
    completion_tokens: Raw<'a>,
    #[serde(borrow)]
    input_tokens: Raw<'a>,
    #[serde(borrow)]
    output_tokens: Raw<'a>,
    prompt_tokens_details: Option<Details<'a>>,
    completion_tokens_details: Option<Details<'a>>,
    input_tokens_details: Option<Details<'a>>,
    output_tokens_details: Option<Details<'a>>,
    #[serde(borrow)]
    cache_creation_input_tokens: Raw<'a>,
    #[serde(borrow)]
    cache_read_input_tokens: Raw<'a>,
    #[serde(borrow)]
    cost: Raw<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Details<'a> {
    #[serde(borrow)]
    cached_tokens: Raw<'a>,
    /// OpenAI and OpenRouter: tokens written to the cache, counted inside the prompt total.
    #[serde(borrow)]
    cache_write_tokens: Raw<'a>,
    #[serde(borrow)]
    reasoning_tokens: Raw<'a>,
    /// Anthropic: thinking tokens, counted inside `output_tokens`.
    #[serde(borrow)]
    thinking_tokens: Raw<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct GeminiUsage<'a> {
    #[serde(borrow)]
    prompt_token_count: Raw<'a>,
    #[serde(borrow)]
    candidates_token_count: Raw<'a>,
    #[serde(borrow)]
    thoughts_token_count: Raw<'a>,
    #[serde(borrow)]
    cached_content_token_count: Raw<'a>,
    #[serde(borrow)]
    tool_use_prompt_token_count: Raw<'a>,
    /// Vertex AI only ("ON_DEMAND", "PROVISIONED_THROUGHPUT").
    #[serde(borrow)]
    traffic_type: Raw<'a>,
    candidates_tokens_details: Option<Vec<ModalityTokens<'a>>>,
}

/// Output tokens of one modality (TEXT, IMAGE, AUDIO).
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ModalityTokens<'a> {
    #[serde(borrow)]
    modality: Raw<'a>,
    #[serde(borrow)]
    token_count: Raw<'a>,
}

/// A Responses API output item; only image generation calls change the price.
#[derive(Deserialize, Default)]
#[serde(default)]
struct OutputItem<'a> {
    #[serde(borrow, rename = "type")]
    kind: Raw<'a>,
    #[serde(borrow)]
    status: Raw<'a>,
    #[serde(borrow)]
    quality: Raw<'a>,
    #[serde(borrow)]
    size: Raw<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Candidate<'a> {
    #[serde(borrow)]
    finish_reason: Raw<'a>,
    content: Option<Content>,
    grounding_metadata: Option<IgnoredAny>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Content {
    parts: Vec<Part>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Part {
    inline_data: Option<IgnoredAny>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct PromptFeedback<'a> {
    #[serde(borrow)]
    block_reason: Raw<'a>,
}

/// Usage read from a response (and its request), before it becomes a record.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Draft {
    pub id: Option<String>,
    pub model: Option<String>,
    pub time: Option<(DateTime<Utc>, bool)>,
    pub provider: Option<String>,
    /// The provider the request was bought from (canonical name), and how that was found.
    pub seller: Option<(String, crate::provider::ProviderFrom)>,
    pub kind: Option<Kind>,
    pub status: Option<Status>,
    pub tokens: Tokens,
    pub images: u32,
    pub image_count: Option<ImageCount>,
    /// IMAGE-modality output tokens (Gemini).
    pub image_tokens: u64,
    /// The images came from the Responses API's image generation tool, priced as its model.
    pub image_tool: bool,
    pub image_size: Option<ImageSize>,
    pub quality: Option<String>,
    pub extras: Extras,
    pub billed_cost: Option<Money>,
    pub remaining_balance: Option<Money>,
    /// The body carried at least one token count (even 0); absent or all-null usage is not that.
    pub has_usage: bool,
    /// The source writes one request on several lines as the response streams, each at the
    /// moment it wrote it (Claude Code: a line per content block of a message, each with the
    /// usage so far). Its time, output tokens and cost are then left out of the payload hash:
    /// such lines are one request logged several times, not conflicts, and deduplication keeps
    /// the one with the most output.
    pub written_per_block: bool,
}

/// A successful text response without token counts or a cost would become a free record, and
/// its real cost would vanish from every total; it is quarantined instead.
pub fn require_usage(d: &Draft, p: &str) -> FieldResult<()> {
    let ok = d.status.is_none_or(|s| s == Status::Ok);
    let text = d.kind.is_none_or(|k| k == Kind::Text);
    if ok && text && !d.has_usage && d.billed_cost.is_none() {
        return Err(format!(
            "field {p}.usage: missing; a successful text response needs token counts or a cost"
        ));
    }
    Ok(())
}

fn present(raw: Raw<'_>) -> bool {
    raw.is_some_and(|r| r.get() != "null")
}

const POLICY_FINISH: [&str; 7] = [
    "SAFETY",
    "PROHIBITED_CONTENT",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "BLOCKLIST",
    "SPII",
    "IMAGE_RECITATION",
];

const BODY_MEMBERS: &[(&str, Shape)] = &[
    ("usage", Shape::Object),
    ("usageMetadata", Shape::Object),
    ("promptFeedback", Shape::Object),
    ("data", Shape::Array),
    ("predictions", Shape::Array),
    ("candidates", Shape::Array),
];

pub fn parse_body<'a>(raw: &'a RawValue, prefix: &str) -> FieldResult<Body<'a>> {
    require_object(raw, prefix)?;
    serde_json::from_str(raw.get()).map_err(|e| {
        wrong_member(raw, prefix, BODY_MEMBERS).unwrap_or_else(|| format!("field {prefix}: {e}"))
    })
}

/// A body field of a line (`response`, `message`): already read in the pass over the line, or
/// raw, read only by the parser that needs it.
#[derive(Clone, Copy)]
pub enum BodyField<'m, 'a> {
    Read(Option<&'m Body<'a>>),
    Raw(Option<&'a RawValue>),
}

impl<'m, 'a> BodyField<'m, 'a> {
    pub fn read(body: &'m Option<InPlace<Body<'a>>>) -> Self {
        BodyField::Read(body.as_ref().map(|b| &*b.0))
    }

    /// The usage the body tells, with `prefix` naming it in errors; None for no body.
    pub fn draft(self, prefix: &str) -> FieldResult<Option<Draft>> {
        match self {
            BodyField::Read(body) => body.map(|b| b.draft(prefix)).transpose(),
            BodyField::Raw(raw) => raw
                .filter(|r| r.get() != "null")
                .map(|r| parse_body(r, prefix)?.draft(prefix))
                .transpose(),
        }
    }
}

fn sub<P: std::fmt::Display + ?Sized>(u: u64, minus: u64, path: &P) -> FieldResult<u64> {
    u.checked_sub(minus)
        .ok_or_else(|| format!("field {path}: {minus} exceeds the total {u} it is part of"))
}

impl Body<'_> {
    /// The provider a response's shape gives away: NanoGPT adds `cost` and `remainingBalance`
    /// to an OpenAI-style body, OpenRouter adds `usage.cost`; a Gemini body comes from the
    /// Gemini API, or from Vertex AI when it has Vertex's `createTime` or `trafficType`.
    fn seller_by_shape(&self) -> Option<&'static str> {
        if present(self.remaining_balance) || present(self.cost) {
            return Some("nanogpt");
        }
        if self.usage.as_ref().is_some_and(|u| present(u.cost)) {
            return Some("openrouter");
        }
        let g = self.usage_metadata.as_ref()?;
        Some(if present(self.create_time) || present(g.traffic_type) {
            "vertex"
        } else {
            "google"
        })
    }

    /// Reads usage, ids, status and money. `p` is the path prefix used in error messages.
    pub fn draft(&self, p: &str) -> FieldResult<Draft> {
        let mut d = Draft {
            id: string(self.id).or_else(|| string(self.response_id)),
            model: string(self.model).or_else(|| string(self.model_version)),
            time: match time(self.created, &At(p, ".created", ""))? {
                Some(t) => Some(t),
                None => time(self.created_at, &At(p, ".created_at", ""))?,
            },
            provider: string(self.provider),
            billed_cost: money(self.cost, &At(p, ".cost", ""))?,
            remaining_balance: money(self.remaining_balance, &At(p, ".remainingBalance", ""))?,
            seller: self
                .seller_by_shape()
                .map(|s| (s.to_string(), crate::provider::ProviderFrom::Shape)),
            ..Draft::default()
        };
        if let Some(u) = &self.usage {
            d.has_usage |= [
                u.prompt_tokens,
                u.completion_tokens,
                u.input_tokens,
                u.output_tokens,
                u.cache_creation_input_tokens,
                u.cache_read_input_tokens,
            ]
            .into_iter()
            .any(present);
            let f = |name: &'static str| At(p, ".usage.", name);
            // A detail is read from the chat shape's object when it has it, else from the
            // Responses (and Anthropic) shape's.
            let detail = |chat: &Option<Details<'_>>,
                          other: &Option<Details<'_>>,
                          field: for<'x> fn(&Details<'x>) -> Raw<'x>,
                          chat_path: &'static str,
                          other_path: &'static str|
             -> FieldResult<u64> {
                match (chat, other) {
                    (Some(x), _) if field(x).is_some() => count(field(x), &f(chat_path)),
                    (_, Some(x)) => count(field(x), &f(other_path)),
                    _ => Ok(0),
                }
            };
            let (pd, id) = (&u.prompt_tokens_details, &u.input_tokens_details);
            let cached = detail(
                pd,
                id,
                |x| x.cached_tokens,
                "prompt_tokens_details.cached_tokens",
                "input_tokens_details.cached_tokens",
            )?;
            let cache_written = detail(
                pd,
                id,
                |x| x.cache_write_tokens,
                "prompt_tokens_details.cache_write_tokens",
                "input_tokens_details.cache_write_tokens",
            )?;
            let (cd, od) = (&u.completion_tokens_details, &u.output_tokens_details);
            let mut reasoning = detail(
                cd,
                od,
                |x| x.reasoning_tokens,
                "completion_tokens_details.reasoning_tokens",
                "output_tokens_details.reasoning_tokens",
            )?;
            if reasoning == 0 {
                reasoning = detail(
                    &None,
                    od,
                    |x| x.thinking_tokens,
                    "",
                    "output_tokens_details.thinking_tokens",
                )?;
            }
            let cache_write = count(
                u.cache_creation_input_tokens,
                &f("cache_creation_input_tokens"),
            )?;
            let cache_read_anthropic =
                count(u.cache_read_input_tokens, &f("cache_read_input_tokens"))?;
            let anthropic =
                u.cache_creation_input_tokens.is_some() || u.cache_read_input_tokens.is_some();
            let (input, input_path) = if u.prompt_tokens.is_some() {
                (
                    count(u.prompt_tokens, &f("prompt_tokens"))?,
                    f("prompt_tokens"),
                )
            } else {
                (
                    count(u.input_tokens, &f("input_tokens"))?,
                    f("input_tokens"),
                )
            };
            let (output, output_path) = if u.completion_tokens.is_some() {
                (
                    count(u.completion_tokens, &f("completion_tokens"))?,
                    f("completion_tokens"),
                )
            } else {
                (
                    count(u.output_tokens, &f("output_tokens"))?,
                    f("output_tokens"),
                )
            };
            // OpenAI counts cached, cache-written and reasoning tokens inside the totals;
            // Anthropic reports cache tokens beside input, and thinking inside output. Records
            // keep the five counts disjoint.
            d.tokens = if anthropic {
                Tokens {
                    input,
                    output: sub(output, reasoning, &output_path)?,
                    thinking: reasoning,
                    cache_read: cache_read_anthropic,
                    cache_write,
                    cache_write_1h: 0,
                }
            } else {
                Tokens {
                    input: sub(input, cached.saturating_add(cache_written), &input_path)?,
                    output: sub(output, reasoning, &output_path)?,
                    thinking: reasoning,
                    cache_read: cached,
                    cache_write: cache_written,
                    cache_write_1h: 0,
                }
            };
            if d.billed_cost.is_none() {
                d.billed_cost = money(u.cost, &f("cost"))?;
            }
        }
        if let Some(g) = &self.usage_metadata {
            d.has_usage |= [
                g.prompt_token_count,
                g.candidates_token_count,
                g.thoughts_token_count,
                g.cached_content_token_count,
                g.tool_use_prompt_token_count,
            ]
            .into_iter()
            .any(present);
            let f = |name: &'static str| At(p, ".usageMetadata.", name);
            let prompt = count(g.prompt_token_count, &f("promptTokenCount"))?
                + count(g.tool_use_prompt_token_count, &f("toolUsePromptTokenCount"))?;
            let cached = count(g.cached_content_token_count, &f("cachedContentTokenCount"))?;
            for m in g.candidates_tokens_details.iter().flatten() {
                if string(m.modality).is_some_and(|m| m.eq_ignore_ascii_case("IMAGE")) {
                    d.image_tokens +=
                        count(m.token_count, &f("candidatesTokensDetails[].tokenCount"))?;
                }
            }
            if d.image_tokens > 0 {
                d.kind = Some(Kind::Image);
            }
            d.tokens = Tokens {
                input: sub(prompt, cached, &f("promptTokenCount"))?,
                output: count(g.candidates_token_count, &f("candidatesTokenCount"))?,
                thinking: count(g.thoughts_token_count, &f("thoughtsTokenCount"))?,
                cache_read: cached,
                cache_write: 0,
                cache_write_1h: 0,
            };
        }
        // Images returned.
        if let Some(data) = &self.data {
            d.images = data.len() as u32;
            d.kind = Some(Kind::Image);
        }
        if let Some(preds) = &self.predictions {
            d.images = preds.len() as u32;
            d.kind = Some(Kind::Image);
        }
        self.image_calls(&mut d);
        let mut rejected = false;
        if let Some(cands) = &self.candidates {
            let mut n = 0u32;
            for c in cands {
                if let Some(content) = &c.content {
                    n += content
                        .parts
                        .iter()
                        .filter(|p| p.inline_data.is_some())
                        .count() as u32;
                }
                if let Some(r) = string(c.finish_reason)
                    && POLICY_FINISH.contains(&r.as_str())
                {
                    rejected = true;
                }
                if c.grounding_metadata.is_some() {
                    d.extras.web_search_grounding = 1;
                }
            }
            if n > 0 {
                d.images = n;
                d.kind = Some(Kind::Image);
            }
        }
        if d.images > 0 {
            d.image_count = Some(ImageCount::Response);
        }
        if let Some(pf) = &self.prompt_feedback
            && pf.block_reason.is_some()
        {
            rejected = true;
        }
        if string(self.stop_reason).as_deref() == Some("refusal") {
            rejected = true;
        }
        if let Some(e) = self.error.filter(|e| e.get() != "null") {
            let text = e.get();
            d.status = Some(
                if text.contains("content_policy")
                    || text.contains("moderation_blocked")
                    || text.contains("safety")
                {
                    Status::Rejected
                } else {
                    Status::Failed
                },
            );
        } else if string(self.status).as_deref() == Some("failed") {
            d.status = Some(Status::Failed);
        }
        if rejected {
            d.status = Some(Status::Rejected);
        }
        Ok(d)
    }

    /// Images made by the Responses API's image generation tool, one per call that did not
    /// fail, at the first call's quality and size. The record is priced as the tool's images.
    fn image_calls(&self, d: &mut Draft) {
        let Some(raw) = self
            .output
            .filter(|r| r.get().trim_start().starts_with('['))
        else {
            return;
        };
        let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(raw.get()) else {
            return;
        };
        for item in items {
            let Ok(call) = serde_json::from_str::<OutputItem<'_>>(item.get()) else {
                continue;
            };
            if string(call.kind).as_deref() != Some("image_generation_call")
                || string(call.status).as_deref() == Some("failed")
            {
                continue;
            }
            if d.images == 0 {
                d.image_size = string(call.size).and_then(|s| ImageSize::parse(&s));
                d.quality = string(call.quality).map(|q| q.to_ascii_lowercase());
            }
            d.images += 1;
            d.kind = Some(Kind::Image);
            d.image_tool = true;
            d.model = Some(IMAGE_TOOL_MODEL.to_string());
        }
    }
}

/// The model of the Responses API's image generation tool when the request does not name one.
pub(super) const IMAGE_TOOL_MODEL: &str = "gpt-image-1";

/// NanoGPT routes web search through a model suffix: ":online" (standard) or
/// ":online/linkup-deep" (deep). Returns the model without it.
pub fn strip_search_suffix(model: &str, extras: &mut Extras) -> String {
    if let Some(base) = model.strip_suffix(":online/linkup-deep") {
        extras.search_deep += 1;
        base.to_string()
    } else if let Some(base) = model.strip_suffix(":online") {
        extras.search_standard += 1;
        base.to_string()
    } else {
        model.to_string()
    }
}

#[cfg(test)]
mod tests;
