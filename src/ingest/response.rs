//! Response bodies of the providers (OpenAI chat/responses/images, Gemini, Anthropic, NanoGPT,
//! OpenRouter) and the request bodies that say what was asked. Shared by every JSON source.

use super::fields::{FieldResult, count, money, string, time};
use crate::money::Money;
use crate::record::{Extras, ImageSize, Kind, Status, Tokens};
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
    #[serde(borrow)]
    reasoning_tokens: Raw<'a>,
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
    tools: Option<Vec<Tool>>,
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
struct Tool {
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
    pub kind: Option<Kind>,
    pub status: Option<Status>,
    pub tokens: Tokens,
    pub images: u32,
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
            let cached = match (&u.prompt_tokens_details, &u.input_tokens_details) {
                (Some(x), _) if x.cached_tokens.is_some() => {
                    count(x.cached_tokens, &f("prompt_tokens_details.cached_tokens"))?
                }
                (_, Some(x)) => count(x.cached_tokens, &f("input_tokens_details.cached_tokens"))?,
                _ => 0,
            };
            let reasoning = match (&u.completion_tokens_details, &u.output_tokens_details) {
                (Some(x), _) if x.reasoning_tokens.is_some() => count(
                    x.reasoning_tokens,
                    &f("completion_tokens_details.reasoning_tokens"),
                )?,
                (_, Some(x)) => count(
                    x.reasoning_tokens,
                    &f("output_tokens_details.reasoning_tokens"),
                )?,
                _ => 0,
            };
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
            // OpenAI counts cached and reasoning tokens inside the totals; Anthropic reports
            // cache tokens beside input. Records keep the five counts disjoint.
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
                    input: sub(input, cached, &input_path)?,
                    output: sub(output, reasoning, &output_path)?,
                    thinking: reasoning,
                    cache_read: cached,
                    cache_write: 0,
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
        if let Some(s) = size {
            d.image_size = ImageSize::parse(&s);
            d.kind = Some(Kind::Image);
        }
        if let Some(q) = string(self.quality) {
            d.quality = Some(q.to_ascii_lowercase());
        }
        let wants_image = self
            .generation_config
            .as_ref()
            .and_then(|g| g.response_modalities)
            .is_some_and(|m| m.get().to_ascii_uppercase().contains("IMAGE"));
        if wants_image || self.parameters.is_some() {
            d.kind = Some(Kind::Image);
        }
        if d.images == 0 && d.kind == Some(Kind::Image) && d.status.is_none() {
            let asked =
                count(self.n, "request.n")?.max(self.parameters.as_ref().map_or(Ok(0), |p| {
                    count(p.sample_count, "request.parameters.sampleCount")
                })?);
            // `as u32` would wrap a huge `n` into a small, plausible image count.
            d.images = u32::try_from(asked.max(1))
                .map_err(|_| format!("field request.n: {asked} images is too many"))?;
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
