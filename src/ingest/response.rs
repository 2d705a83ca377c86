//! Response bodies of the providers (OpenAI chat/responses/images, Gemini, Anthropic, NanoGPT,
//! OpenRouter) and the request bodies that say what was asked. Shared by every JSON source.

use super::fields::{FieldResult, count, money, string, time};
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

/// The parts of a request body that change the price.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Request<'a> {
    #[serde(borrow)]
    model: Raw<'a>,
    #[serde(borrow)]
    size: Raw<'a>,
    #[serde(borrow)]
    quality: Raw<'a>,
    #[serde(borrow)]
    n: Raw<'a>,
    #[serde(rename = "generationConfig")]
    generation_config: Option<GenerationConfig<'a>>,
    parameters: Option<ImagenParameters<'a>>,
    tools: Option<Vec<Tool<'a>>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct GenerationConfig<'a> {
    image_config: Option<ImageConfig<'a>>,
    #[serde(borrow)]
    response_modalities: Raw<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ImageConfig<'a> {
    #[serde(borrow)]
    image_size: Raw<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ImagenParameters<'a> {
    #[serde(borrow)]
    sample_count: Raw<'a>,
    #[serde(borrow)]
    sample_image_size: Raw<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Tool<'a> {
    #[serde(borrow, rename = "type")]
    kind: Raw<'a>,
    /// The image generation tool's model (Responses API).
    #[serde(borrow)]
    model: Raw<'a>,
    google_search: Option<IgnoredAny>,
    #[serde(rename = "googleSearch")]
    google_search_camel: Option<IgnoredAny>,
    google_search_retrieval: Option<IgnoredAny>,
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

pub fn parse_body<'a>(raw: &'a RawValue, prefix: &str) -> FieldResult<Body<'a>> {
    require_object(raw, prefix)?;
    serde_json::from_str(raw.get()).map_err(|e| {
        wrong_member(raw, prefix, BODY_MEMBERS).unwrap_or_else(|| format!("field {prefix}: {e}"))
    })
}

pub fn parse_request(raw: &RawValue) -> FieldResult<Request<'_>> {
    require_object(raw, "request")?;
    serde_json::from_str(raw.get()).map_err(|e| {
        wrong_member(raw, "request", REQUEST_MEMBERS)
            .unwrap_or_else(|| format!("field request: {e}"))
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

/// A body read in place, within the pass over its whole line, instead of kept raw and read
/// again. Like `require_object`, it takes a JSON object only; anything else fails the pass.
/// Boxed: a line's probe holds two bodies of several hundred bytes each, and serde moves the
/// probe by value several times per line.
pub struct InPlace<T>(pub Box<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for InPlace<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Object<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Object<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(Object(std::marker::PhantomData))
            .map(|t| InPlace(Box::new(t)))
    }
}

/// serde's derived structs also accept a JSON array, filling fields by position: `[1, 2]` would
/// silently become a body with id 1. Only objects are bodies.
pub fn require_object(raw: &RawValue, path: &str) -> FieldResult<()> {
    let t = raw.get().trim_start();
    if t.starts_with('{') {
        return Ok(());
    }
    Err(format!(
        "field {path}: a JSON {} where an object was expected",
        kind_of(t)
    ))
}

fn kind_of(t: &str) -> &'static str {
    match t.bytes().next() {
        Some(b'[') => "array",
        Some(b'{') => "object",
        Some(b'"') => "string",
        Some(b'n') => "null",
        Some(b't' | b'f') => "boolean",
        _ => "number",
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Object,
    Array,
}

const BODY_MEMBERS: &[(&str, Shape)] = &[
    ("usage", Shape::Object),
    ("usageMetadata", Shape::Object),
    ("promptFeedback", Shape::Object),
    ("data", Shape::Array),
    ("predictions", Shape::Array),
    ("candidates", Shape::Array),
];

const REQUEST_MEMBERS: &[(&str, Shape)] = &[
    ("generationConfig", Shape::Object),
    ("parameters", Shape::Object),
    ("tools", Shape::Array),
];

/// serde_json's type errors do not say where they are; for the members whose shape is fixed,
/// find the one of the wrong kind so the reason names it ("field response.data: ...").
fn wrong_member(raw: &RawValue, prefix: &str, members: &[(&str, Shape)]) -> Option<String> {
    let map: std::collections::BTreeMap<&str, &RawValue> = serde_json::from_str(raw.get()).ok()?;
    members.iter().find_map(|(name, shape)| {
        let v = map.get(name)?.get().trim_start();
        let (ok, want) = match shape {
            Shape::Object => (v.starts_with('{'), "an object"),
            Shape::Array => (v.starts_with('['), "an array"),
        };
        (!ok && v != "null").then(|| {
            format!(
                "field {prefix}.{name}: a JSON {} where {want} was expected",
                kind_of(v)
            )
        })
    })
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

impl Request<'_> {
    /// Adds what the request asked for: model, image size, quality, number of images, tools.
    pub fn apply(&self, d: &mut Draft) -> FieldResult<()> {
        if d.model.is_none() {
            d.model = string(self.model);
        }
        let size = string(self.size)
            .or_else(|| {
                self.generation_config
                    .as_ref()
                    .and_then(|g| g.image_config.as_ref())
                    .and_then(|c| string(c.image_size))
            })
            .or_else(|| {
                self.parameters
                    .as_ref()
                    .and_then(|p| string(p.sample_image_size))
            });
        // The image tool's own call says what it made; the request's size and quality are the
        // main model's, or absent.
        if d.image_tool {
            let tool_model = self.tools.iter().flatten().find_map(|t| {
                (string(t.kind).as_deref() == Some("image_generation"))
                    .then(|| string(t.model))
                    .flatten()
            });
            d.model = Some(tool_model.unwrap_or_else(|| IMAGE_TOOL_MODEL.to_string()));
        } else {
            if let Some(s) = size {
                d.image_size = ImageSize::parse(&s);
                d.kind = Some(Kind::Image);
            }
            if let Some(q) = string(self.quality) {
                d.quality = Some(q.to_ascii_lowercase());
            }
        }
        let wants_image = self
            .generation_config
            .as_ref()
            .and_then(|g| g.response_modalities)
            .is_some_and(|m| m.get().to_ascii_uppercase().contains("IMAGE"));
        if wants_image || self.parameters.is_some() {
            d.kind = Some(Kind::Image);
        }
        // Without images in the response, a successful image request made what it asked for
        // (the catalog may count them from the IMAGE tokens instead, when there are some).
        if d.images == 0
            && d.kind == Some(Kind::Image)
            && d.status
                .is_none_or(|s| matches!(s, Status::Ok | Status::Retry))
        {
            let asked =
                count(self.n, "request.n")?.max(self.parameters.as_ref().map_or(Ok(0), |p| {
                    count(p.sample_count, "request.parameters.sampleCount")
                })?);
            // `as u32` would wrap a huge `n` into a small, plausible image count.
            d.images = u32::try_from(asked.max(1))
                .map_err(|_| format!("field request.n: {asked} images is too many"))?;
            d.image_count = Some(if asked > 0 {
                ImageCount::Request
            } else {
                ImageCount::Assumed
            });
        }
        if let Some(tools) = &self.tools
            && tools.iter().any(|t| {
                t.google_search.is_some()
                    || t.google_search_camel.is_some()
                    || t.google_search_retrieval.is_some()
            })
        {
            d.extras.web_search_grounding = d.extras.web_search_grounding.max(1);
        }
        Ok(())
    }
}

/// The model of the Responses API's image generation tool when the request does not name one.
const IMAGE_TOOL_MODEL: &str = "gpt-image-1";

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
mod tests {
    use super::*;

    fn draft(body: &str) -> FieldResult<Draft> {
        let raw = RawValue::from_string(body.to_string()).expect("raw");
        let d = parse_body(&raw, "response")?.draft("response")?;
        require_usage(&d, "response")?;
        Ok(d)
    }

    #[test]
    fn the_shape_tells_the_seller() {
        use crate::provider::ProviderFrom::Shape;
        let seller = |body: &str| {
            draft(body)
                .expect("parses")
                .seller
                .map(|(s, from)| (s, from == Shape))
        };
        let yes = |s: &str| Some((s.to_string(), true));
        assert_eq!(
            seller(r#"{"data":[{}],"cost":"0.0133","remainingBalance":"9.9"}"#),
            yes("nanogpt")
        );
        assert_eq!(
            seller(
                r#"{"model":"anthropic/claude-sonnet-4.5","provider":"Anthropic","usage":{"prompt_tokens":1,"completion_tokens":2,"cost":0.0096}}"#
            ),
            yes("openrouter")
        );
        assert_eq!(
            seller(r#"{"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":4}}"#),
            yes("google")
        );
        assert_eq!(
            seller(
                r#"{"createTime":"2026-03-10T09:03:00Z","usageMetadata":{"candidatesTokenCount":4}}"#
            ),
            yes("vertex")
        );
        assert_eq!(
            seller(r#"{"usageMetadata":{"candidatesTokenCount":4,"trafficType":"ON_DEMAND"}}"#),
            yes("vertex")
        );
        // A plain OpenAI-style body could come from anyone selling an OpenAI-compatible API.
        assert_eq!(
            seller(r#"{"usage":{"prompt_tokens":1,"completion_tokens":2}}"#),
            None
        );
    }

    #[test]
    fn successful_text_without_usage_is_refused() {
        let missing = Err(
            "field response.usage: missing; a successful text response needs token counts or a cost"
                .to_string(),
        );
        assert_eq!(draft(r#"{"model":"m"}"#), missing);
        assert_eq!(draft(r#"{"usage":{}}"#), missing);
        assert_eq!(draft(r#"{"usage":{"prompt_tokens":null}}"#), missing);
        assert!(draft(r#"{"usage":{"prompt_tokens":0}}"#).is_ok());
        assert!(draft(r#"{"usageMetadata":{"promptTokenCount":3}}"#).is_ok());
        assert!(draft(r#"{"cost":"0.01"}"#).is_ok());
        assert!(draft(r#"{"error":{"message":"boom"}}"#).is_ok());
        assert!(draft(r#"{"data":[{}]}"#).is_ok());
    }

    #[test]
    fn wrong_shapes_name_the_field() {
        let err = |b: &str| draft(b).map(|_| ());
        assert_eq!(
            err("[1,2]"),
            Err("field response: a JSON array where an object was expected".to_string())
        );
        assert_eq!(
            err(r#"{"data":{"url":"x"}}"#),
            Err("field response.data: a JSON object where an array was expected".to_string())
        );
        assert_eq!(
            err(r#"{"usage":"lots"}"#),
            Err("field response.usage: a JSON string where an object was expected".to_string())
        );
        let req = RawValue::from_string(r#"{"tools":{"x":1}}"#.to_string()).expect("raw");
        assert_eq!(
            parse_request(&req).map(|_| ()),
            Err("field request.tools: a JSON object where an array was expected".to_string())
        );
    }

    fn tokens(input: u64, output: u64, thinking: u64, read: u64, write: u64) -> Tokens {
        Tokens {
            input,
            output,
            thinking,
            cache_read: read,
            cache_write: write,
            cache_write_1h: 0,
        }
    }

    /// What the default catalog prices a draft at, as its own model, on 2026-03-02.
    fn list_price(d: &Draft, model: &str) -> String {
        let c = crate::catalog::Catalog::builtin().expect("catalog");
        let m = c.resolve(model).expect("model");
        let u = crate::catalog::PricingInput {
            kind: d.kind.unwrap_or(Kind::Text),
            tokens: d.tokens,
            images: d.images,
            image_size: d.image_size,
            quality: d.quality.as_deref(),
            extras: d.extras,
            day: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).expect("day"),
            own_tokens: true,
        };
        c.cost(m, &u, crate::catalog::Tier::Standard)
            .expect("priced")
            .exact()
    }

    #[test]
    fn cache_writes_inside_the_prompt_are_taken_out_of_input() {
        // Claude through OpenRouter: 3,214 prompt tokens, of which 3,211 written to the cache
        // and none read. OpenRouter's own usage.cost is 3 x $3/M + 3,211 x $3.75/M + 100 x
        // $15/M = 0.000009 + 0.01204125 + 0.0015 = 0.01355025.
        let d = draft(
            r#"{"model":"anthropic/claude-sonnet-4.5","usage":{"prompt_tokens":3214,"completion_tokens":100,"total_tokens":3314,"cost":0.01355025,"prompt_tokens_details":{"cached_tokens":0,"cache_write_tokens":3211},"completion_tokens_details":{"reasoning_tokens":0}}}"#,
        )
        .expect("draft");
        assert_eq!(d.tokens, tokens(3, 100, 0, 0, 3211));
        assert_eq!(list_price(&d, "anthropic/claude-sonnet-4.5"), "0.01355025");
        assert_eq!(
            d.billed_cost.map(|m| m.exact()).as_deref(),
            Some("0.01355025")
        );
        // Responses API shape: 2,000 input, 1,500 read from the cache, 400 written to it.
        let d = draft(
            r#"{"model":"gpt-5.1","usage":{"input_tokens":2000,"output_tokens":10,"input_tokens_details":{"cached_tokens":1500,"cache_write_tokens":400},"output_tokens_details":{"reasoning_tokens":4}}}"#,
        )
        .expect("draft");
        assert_eq!(d.tokens, tokens(100, 6, 4, 1500, 400));
        // More written and read than the prompt holds is an error, not a wrapped count.
        assert_eq!(
            draft(
                r#"{"usage":{"prompt_tokens":10,"prompt_tokens_details":{"cached_tokens":6,"cache_write_tokens":5}}}"#
            ),
            Err(
                "field response.usage.prompt_tokens: 11 exceeds the total 10 it is part of"
                    .to_string()
            )
        );
    }

    #[test]
    fn anthropic_thinking_is_taken_out_of_output() {
        // 500 output tokens of which 200 thinking: 300 output and 200 thinking, priced the
        // same as the 500 were (thinking at the output price): 40 x $3/M + 500 x $15/M =
        // 0.00012 + 0.0075 = 0.00762.
        let d = draft(
            r#"{"id":"msg_1","type":"message","model":"claude-sonnet-4-5","usage":{"input_tokens":40,"output_tokens":500,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens_details":{"thinking_tokens":200}}}"#,
        )
        .expect("draft");
        assert_eq!(d.tokens, tokens(40, 300, 200, 0, 0));
        assert_eq!(list_price(&d, "claude-sonnet-4-5"), "0.00762");
    }

    #[test]
    fn image_generation_calls_are_images_of_the_tool() {
        // The Responses API's image tool made one high-quality 1024x1536 image: $0.25 on
        // gpt-image-1, plus the 120 input tokens at its $5/M text input price (0.0006).
        let body = r#"{"id":"resp_1","object":"response","created_at":1741476542,"model":"gpt-4.1-2025-04-14","output":[{"type":"image_generation_call","id":"ig_1","status":"completed","background":"opaque","output_format":"png","quality":"high","size":"1024x1536","result":"<omitted>"},{"type":"message","role":"assistant","content":[]}],"usage":{"input_tokens":120,"output_tokens":30,"input_tokens_details":{"cached_tokens":0},"output_tokens_details":{"reasoning_tokens":0}}}"#;
        let d = draft(body).expect("draft");
        assert_eq!(
            (d.images, d.kind, d.image_count, d.model.as_deref()),
            (
                1,
                Some(Kind::Image),
                Some(ImageCount::Response),
                Some("gpt-image-1")
            )
        );
        assert_eq!(d.image_size, Some(ImageSize::Pixels(1024, 1536)));
        assert_eq!(d.quality.as_deref(), Some("high"));
        assert_eq!(list_price(&d, "gpt-image-1"), "0.2506");
        // A request naming the tool's model prices the images on it.
        let req = RawValue::from_string(
            r#"{"model":"gpt-4.1","tools":[{"type":"image_generation","model":"gpt-image-1-2025-04-23","quality":"low"}]}"#
                .to_string(),
        )
        .expect("raw");
        let mut d = draft(body).expect("draft");
        parse_request(&req)
            .and_then(|r| r.apply(&mut d))
            .expect("applies");
        assert_eq!(d.model.as_deref(), Some("gpt-image-1-2025-04-23"));
        assert_eq!(d.quality.as_deref(), Some("high"));
        // Other `output` shapes (a string, a list of URLs) are no image calls and no error.
        for other in [
            r#"{"output":"text","cost":"0.01"}"#,
            r#"{"output":["https://x/1.png"],"cost":"0.01"}"#,
        ] {
            assert_eq!(draft(other).expect("draft").images, 0);
        }
    }

    #[test]
    fn image_tokens_are_kept_and_requests_count_missing_images() {
        let raw = |s: &str| RawValue::from_string(s.to_string()).expect("raw");
        let body = raw(
            r#"{"candidates":[{"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":2010,"candidatesTokensDetails":[{"modality":"TEXT","tokenCount":10},{"modality":"IMAGE","tokenCount":2000}]}}"#,
        );
        let d = parse_body(&body, "response")
            .and_then(|b| b.draft("response"))
            .expect("draft");
        assert_eq!(
            (d.image_tokens, d.kind, d.images),
            (2000, Some(Kind::Image), 0)
        );
        // Until the catalog counts them from the tokens, the request says how many.
        let mut asked = d.clone();
        parse_request(&raw(r#"{"parameters":{"sampleCount":2}}"#))
            .and_then(|r| r.apply(&mut asked))
            .expect("applies");
        assert_eq!(
            (asked.images, asked.image_count),
            (2, Some(ImageCount::Request))
        );
        let mut said_nothing = d.clone();
        said_nothing.status = Some(Status::Ok);
        parse_request(&raw(r#"{"contents":[]}"#))
            .and_then(|r| r.apply(&mut said_nothing))
            .expect("applies");
        assert_eq!(
            (said_nothing.images, said_nothing.image_count),
            (1, Some(ImageCount::Assumed))
        );
        // A failed request made nothing.
        let mut failed = d;
        failed.status = Some(Status::Failed);
        parse_request(&raw(r#"{"contents":[]}"#))
            .and_then(|r| r.apply(&mut failed))
            .expect("applies");
        assert_eq!((failed.images, failed.image_count), (0, None));
    }

    #[test]
    fn huge_image_count_is_refused_not_wrapped() {
        let req = RawValue::from_string(r#"{"size":"1024x1024","n":4294967297}"#.to_string())
            .expect("raw");
        let mut d = Draft::default();
        let r = parse_request(&req).and_then(|r| r.apply(&mut d));
        assert_eq!(
            r,
            Err("field request.n: 4294967297 images is too many".to_string())
        );
    }
}
