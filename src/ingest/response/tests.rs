use super::*;
use crate::ingest::request::parse_request;

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
            "field response.usage.prompt_tokens: 11 exceeds the total 10 it is part of".to_string()
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
    let req =
        RawValue::from_string(r#"{"size":"1024x1024","n":4294967297}"#.to_string()).expect("raw");
    let mut d = Draft::default();
    let r = parse_request(&req).and_then(|r| r.apply(&mut d));
    assert_eq!(
        r,
        Err("field request.n: 4294967297 images is too many".to_string())
    );
}
