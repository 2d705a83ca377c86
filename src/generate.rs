//! `reprice gen`: deterministic synthetic logs of every input format, for tests and benchmarks.
//! The same --records, --seed and --format always give the same bytes.

use crate::cli::GenArgs;
use crate::error::RunError;
use crate::ingest::Format;
use serde_json::{Value, json};
use std::io::Write;

/// SplitMix64: tiny, fast, and stable across platforms and releases.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const KEYS: [&str; 4] = [
    "sk-live-studio-7c1f9a2b4d6e",
    "sk-live-catalog-3e8d0b5a9f12",
    "sk-live-mobile-0a4b8c2d6e1f",
    "sk-batch-nightly-5f6e7d8c9b0a",
];
const PROMPTS: [&str; 5] = [
    "a product photo of a ceramic mug on a walnut table, soft window light",
    "isometric illustration of a small bakery at dawn",
    "studio portrait of a golden retriever wearing a scarf",
    "poster for a jazz night, art deco style, teal and gold",
    "flat lay of running shoes and a water bottle on concrete",
];
/// 2026-03-01T00:00:00Z.
const START: i64 = 1_772_323_200;
const MONTH_SECONDS: i64 = 31 * 86_400;

fn ts(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// One envelope line: a mix of providers, sizes, statuses and keys.
fn envelope(rng: &mut Rng, seed: u64, i: u64, t: i64, balances: &mut [i64; 4]) -> Value {
    let k = rng.below(4) as usize;
    let key = KEYS[k];
    let prompt = format!("{} #{}", rng.pick(&PROMPTS), i % 997);
    let roll = rng.below(100);
    let fail = rng.chance(2);
    let (request, mut response, model): (Value, Value, Option<&str>) = if roll < 35 {
        let size = *rng.pick(&["1K", "2K", "2K", "4K"]);
        let out = if size == "4K" { 2000 } else { 1120 };
        let thoughts = 200 + rng.below(1300);
        let rejected = rng.chance(2);
        let req = json!({"contents": [{"parts": [{"text": prompt}]}],
            "generationConfig": {"responseModalities": ["IMAGE"], "imageConfig": {"imageSize": size}}});
        let resp = if rejected {
            json!({"responseId": format!("gm-{i:08x}"), "modelVersion": "gemini-3-pro-image-preview",
                "candidates": [{"finishReason": "IMAGE_SAFETY"}],
                "usageMetadata": {"promptTokenCount": 120 + rng.below(200), "candidatesTokenCount": 0, "thoughtsTokenCount": thoughts}})
        } else {
            json!({"responseId": format!("gm-{i:08x}"), "modelVersion": "gemini-3-pro-image-preview",
                "candidates": [{"content": {"parts": [{"inlineData": {"mimeType": "image/png", "data": "<omitted>"}}]}, "finishReason": "STOP"}],
                "usageMetadata": {"promptTokenCount": 120 + rng.below(200), "candidatesTokenCount": out, "thoughtsTokenCount": thoughts}})
        };
        (req, resp, Some("gemini-3-pro-image-preview"))
    } else if roll < 50 {
        // NanoGPT: token-priced Flux Pro with cost and balance in every response.
        let input = 150 + rng.below(150);
        let cost_micro = input * 2 + 1290 * 10; // $2/M and $10/M, in micro-dollars
        balances[k] -= cost_micro as i64;
        if rng.chance(1) {
            balances[k] += 10_000_000; // a $10 top-up between two requests
        }
        let req = json!({"model": "flux-pro", "prompt": prompt, "size": "1024x1024"});
        let resp = json!({"id": format!("ng-{i:08x}"), "created": t, "model": "flux-pro",
            "data": [{"url": "https://example.invalid/img.png"}],
            "usage": {"prompt_tokens": input, "completion_tokens": 1290, "total_tokens": input + 1290},
            "cost": format!("{}.{:06}", cost_micro / 1_000_000, cost_micro % 1_000_000),
            "remainingBalance": format!("{}.{:06}", balances[k] / 1_000_000, balances[k] % 1_000_000)});
        (req, resp, None)
    } else if roll < 65 {
        let quality = *rng.pick(&["low", "medium", "medium", "high"]);
        let size = *rng.pick(&["1024x1024", "1024x1024", "1024x1536"]);
        let req = json!({"model": "gpt-image-1", "prompt": prompt, "size": size, "quality": quality, "n": 1});
        let resp = json!({"created": t, "data": [{"b64_json": "<omitted>"}],
            "usage": {"input_tokens": 40 + rng.below(60), "output_tokens": 4160, "total_tokens": 4200,
                "input_tokens_details": {"text_tokens": 50, "image_tokens": 0}}});
        (req, resp, None)
    } else if roll < 75 {
        let req = json!({"model": "flux-1.1-pro", "prompt": prompt, "size": "1024x1024"});
        let resp = json!({"id": format!("bfl-{i:08x}"), "created": t, "data": [{"url": "https://example.invalid/f.png"}]});
        (req, resp, None)
    } else if roll < 80 {
        let req = json!({"instances": [{"prompt": prompt}], "parameters": {"sampleCount": 1, "sampleImageSize": "1K"}});
        let resp =
            json!({"predictions": [{"bytesBase64Encoded": "<omitted>", "mimeType": "image/png"}]});
        (req, resp, Some("imagen-4.0-ultra-generate-001"))
    } else if roll < 90 {
        let prompt_tokens = 500 + rng.below(3000);
        let cached = rng.below(prompt_tokens / 2);
        let completion = 100 + rng.below(1500);
        let reasoning = rng.below(completion / 2);
        let req = json!({"model": "gpt-5.1", "messages": [{"role": "user", "content": prompt}]});
        let resp = json!({"id": format!("chatcmpl-{i:08x}"), "object": "chat.completion", "created": t, "model": "gpt-5.1-2025-11-13",
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion, "total_tokens": prompt_tokens + completion,
                "prompt_tokens_details": {"cached_tokens": cached}, "completion_tokens_details": {"reasoning_tokens": reasoning}}});
        (req, resp, None)
    } else {
        let input = 200 + rng.below(2000);
        let output = 50 + rng.below(800);
        // OpenRouter passes the provider's price through: $3/M in, $15/M out.
        let micro = input * 3 + output * 15;
        let req = json!({"model": "anthropic/claude-sonnet-4.5", "messages": [{"role": "user", "content": prompt}]});
        let resp = json!({"id": format!("gen-{i:08x}"), "object": "chat.completion", "created": t,
            "model": "anthropic/claude-sonnet-4.5", "provider": "Anthropic",
            "usage": {"prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output,
                "cost": format!("{}.{:06}", micro / 1_000_000, micro % 1_000_000)}});
        (req, resp, None)
    };
    let mut line = json!({"timestamp": ts(t), "api_key": key, "request": request, "status": 200});
    if fail {
        response = json!({"error": {"message": "upstream timeout", "type": "server_error"}});
        line["status"] = json!(500);
    }
    line["response"] = response;
    if let Some(m) = model {
        line["model"] = json!(m);
    }
    line["id"] = json!(format!("req-{seed:x}-{i:08x}"));
    line
}

fn batch(rng: &mut Rng, i: u64, t: i64) -> Value {
    let model = *rng.pick(&["gpt-5.1-2025-11-13", "gpt-4o-2024-08-06"]);
    let p = 300 + rng.below(4000);
    let c = 50 + rng.below(1200);
    if rng.chance(2) {
        return json!({"id": format!("batch_req_{i:08x}"), "custom_id": format!("task-{i}"), "response": null,
            "error": {"code": "rate_limit_exceeded", "message": "try again"}, "timestamp": ts(t), "model": model});
    }
    json!({"id": format!("batch_req_{i:08x}"), "custom_id": format!("task-{i}"),
        "response": {"status_code": 200, "request_id": format!("req_{i:08x}"),
            "body": {"id": format!("chatcmpl-b{i:08x}"), "object": "chat.completion", "created": t, "model": model,
                "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c,
                    "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}}}},
        "error": null})
}

fn claude_lines(rng: &mut Rng, i: u64, t: i64, out: &mut Vec<Value>) {
    let session = format!("5e55{:04x}-0000-4000-8000-{:012x}", i / 50 % 0xffff, i / 50);
    out.push(
        json!({"type": "user", "sessionId": session, "uuid": format!("u-{i}"), "timestamp": ts(t),
        "message": {"role": "user", "content": "please refactor the billing module"}}),
    );
    let model = *rng.pick(&[
        "claude-sonnet-4-5-20250929",
        "claude-sonnet-4-5-20250929",
        "claude-opus-4-5-20251101",
        "claude-haiku-4-5-20251001",
    ]);
    let body_len = 200 + rng.below(3000) as usize;
    let text: String = "lorem ipsum dolor sit amet "
        .chars()
        .cycle()
        .take(body_len)
        .collect();
    let input = 3 + rng.below(40);
    let cache_write = rng.below(20_000);
    let cache_read = rng.below(120_000);
    let output = 1 + rng.below(2_000);
    // Claude Code writes a message as its content streams in: a line per content block, each
    // with the usage so far, whose output count grows until the last line's.
    let lines = 1 + rng.below(3);
    let streamed = 1 + rng.below(8).min(output - 1);
    for k in 0..lines {
        let last = k + 1 == lines;
        let (block, so_far, stop) = if last {
            (
                json!({"type": "text", "text": text}),
                output,
                json!("end_turn"),
            )
        } else {
            let block = if k == 0 {
                json!({"type": "thinking", "thinking": "plan the change", "signature": "sig"})
            } else {
                json!({"type": "text", "text": "Reading the module first."})
            };
            (block, streamed, Value::Null)
        };
        out.push(json!({"parentUuid": format!("u-{i}"), "isSidechain": false, "userType": "external",
            "cwd": "/home/dev/shop", "sessionId": session, "version": "2.0.14", "type": "assistant",
            "uuid": format!("a-{i}-{k}"), "timestamp": ts(t + 2 + k as i64),
            "requestId": format!("req_011C{i:016x}"),
            "message": {"id": format!("msg_01{i:020x}"), "type": "message", "role": "assistant", "model": model,
                "content": [block], "stop_reason": stop,
                "usage": {"input_tokens": input, "cache_creation_input_tokens": cache_write,
                    "cache_read_input_tokens": cache_read, "output_tokens": so_far, "service_tier": "standard"}}}));
    }
}

fn csv_row(rng: &mut Rng, i: u64, t: i64) -> String {
    let (model, kind, size, quality, images, input, output) = match rng.below(4) {
        0 => (
            "gemini-3-pro-image-preview",
            "image",
            "2K",
            "",
            1,
            150 + rng.below(100),
            1120,
        ),
        1 => ("gpt-image-1", "image", "1024x1024", "medium", 1, 60, 0),
        2 => ("stable-diffusion-3", "image", "1024x1024", "", 1, 0, 0),
        _ => (
            "gpt-5.1",
            "text",
            "",
            "",
            0,
            400 + rng.below(2000),
            100 + rng.below(900),
        ),
    };
    format!(
        "{},{},{},,{},{},{},{},{},0,0,0,{},{},{},false,,\n",
        ts(t),
        format_args!("csv-{i:08x}"),
        KEYS[rng.below(4) as usize],
        model,
        kind,
        if rng.chance(2) { "failed" } else { "ok" },
        input,
        output,
        images,
        size,
        quality
    )
}

pub const CSV_HEADER: &str = "timestamp,id,api_key,provider,model,kind,status,input_tokens,output_tokens,thinking_tokens,cache_read_tokens,cache_write_tokens,images,image_size,quality,batch,cost,remaining_balance\n";

/// Writes `records` usage records (Claude Code: assistant messages, each on 1-3 lines, after a
/// user line) in `format` to `w`.
pub fn generate(w: &mut dyn Write, format: Format, records: u64, seed: u64) -> std::io::Result<()> {
    if format.document().is_some() {
        return export_document(w, format, records, seed);
    }
    let mut rng = Rng::new(seed);
    let mut balances = [50_000_000i64; 4];
    let step = (MONTH_SECONDS / records.max(1) as i64).max(1);
    if format == Format::Csv {
        w.write_all(CSV_HEADER.as_bytes())?;
    }
    let mut buf = Vec::new();
    for i in 0..records {
        let t = START + i as i64 * step + rng.below(step as u64) as i64;
        // Ids carry the seed, so logs made with different seeds never share an id.
        let uid = (seed << 40) ^ i;
        match format {
            Format::Envelope => {
                let v = envelope(&mut rng, seed, i, t, &mut balances);
                let retry = rng.chance(1) && v["status"] == json!(200);
                serde_json::to_writer(&mut *w, &v)?;
                w.write_all(b"\n")?;
                if retry {
                    // The client sent the same request again a few seconds later.
                    let mut again = v.clone();
                    again["id"] = json!(format!("req-{seed:x}-{i:08x}-r"));
                    again["attempt"] = json!(2);
                    again["timestamp"] = json!(ts(t + 5));
                    if let Some(obj) = again["response"].as_object_mut() {
                        for k in ["id", "responseId"] {
                            if let Some(id) =
                                obj.get(k).and_then(Value::as_str).map(|s| format!("{s}-r"))
                            {
                                obj.insert(k.to_string(), json!(id));
                            }
                        }
                        obj.remove("remainingBalance");
                    }
                    serde_json::to_writer(&mut *w, &again)?;
                    w.write_all(b"\n")?;
                }
            }
            Format::Batch => {
                serde_json::to_writer(&mut *w, &batch(&mut rng, uid, t))?;
                w.write_all(b"\n")?;
            }
            Format::ClaudeCode => {
                buf.clear();
                claude_lines(&mut rng, uid, t, &mut buf);
                for v in &buf {
                    serde_json::to_writer(&mut *w, v)?;
                    w.write_all(b"\n")?;
                }
            }
            Format::Csv => w.write_all(csv_row(&mut rng, uid, t).as_bytes())?,
            Format::GeminiBatch => {
                serde_json::to_writer(&mut *w, &gemini_batch_line(&mut rng, uid))?;
                w.write_all(b"\n")?;
            }
            // Whole-file exports were written above.
            Format::OpenaiUsage | Format::AnthropicUsage | Format::LitellmSpend => {}
        }
    }
    w.flush()
}

/// One line of a Gemini Batch API output file: an image or a text response, now and then an
/// error. The lines carry no time (give --default-day or a batch job record).
fn gemini_batch_line(rng: &mut Rng, uid: u64) -> Value {
    let key = format!("request-{uid:x}");
    if rng.chance(3) {
        return json!({"key": key, "error": {"code": 13, "message": "Internal error encountered."}});
    }
    if rng.chance(50) {
        let size = *rng.pick(&["1K", "2K", "4K"]);
        let out = if size == "4K" { 2000 } else { 1120 };
        json!({"key": key, "response": {"modelVersion": "gemini-3-pro-image-preview",
            "candidates": [{"content": {"parts": [{"inlineData": {"mimeType": "image/png", "data": ""}}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 100 + rng.below(200), "candidatesTokenCount": out,
                "thoughtsTokenCount": 200 + rng.below(800)}}})
    } else {
        // A text answer of the same model (no image part).
        json!({"key": key, "response": {"modelVersion": "gemini-3-pro-image-preview",
            "candidates": [{"content": {"parts": [{"text": "..."}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 500 + rng.below(3000), "candidatesTokenCount": 100 + rng.below(900)}}})
    }
}

/// A whole-file export of `records` entries spread over the month: an OpenAI Usage API page
/// (completions and images results in daily buckets), an Anthropic usage report, or a LiteLLM
/// spend log array. Every entry has its own group (its API key), so none repeats another.
fn export_document(
    w: &mut dyn Write,
    format: Format,
    records: u64,
    seed: u64,
) -> std::io::Result<()> {
    let mut rng = Rng::new(seed);
    let days = 31u64;
    let per_day = records.div_ceil(days).max(1);
    let doc = match format {
        Format::LitellmSpend => {
            let step = (MONTH_SECONDS / records.max(1) as i64).max(1);
            let rows: Vec<Value> = (0..records)
                .map(|i| {
                    let t = START + i as i64 * step + rng.below(step as u64) as i64;
                    litellm_row(&mut rng, (seed << 40) ^ i, t)
                })
                .collect();
            Value::Array(rows)
        }
        _ => {
            let mut buckets = Vec::new();
            let mut i = 0;
            for d in 0..days {
                let start = START + d as i64 * 86_400;
                let mut results = Vec::new();
                while i < records && results.len() < per_day as usize {
                    let key = format!("key_{seed:x}_{i:x}");
                    results.push(if format == Format::OpenaiUsage {
                        openai_usage_result(&mut rng, &key)
                    } else {
                        anthropic_usage_result(&mut rng, &key)
                    });
                    i += 1;
                }
                if results.is_empty() {
                    break;
                }
                buckets.push(if format == Format::OpenaiUsage {
                    json!({"object": "bucket", "start_time": start, "end_time": start + 86_400, "results": results})
                } else {
                    json!({"starting_at": ts(start), "ending_at": ts(start + 86_400), "results": results})
                });
            }
            if format == Format::OpenaiUsage {
                json!({"object": "page", "data": buckets, "has_more": false, "next_page": null})
            } else {
                json!({"data": buckets, "has_more": false, "next_page": null})
            }
        }
    };
    serde_json::to_writer(&mut *w, &doc)?;
    w.write_all(b"\n")?;
    w.flush()
}

fn openai_usage_result(rng: &mut Rng, key: &str) -> Value {
    let requests = 1 + rng.below(200);
    if rng.chance(30) {
        let size = *rng.pick(&["1024x1024", "1024x1536", "1536x1024"]);
        return json!({"object": "organization.usage.images.result", "images": requests,
            "num_model_requests": requests, "size": size, "source": "image.generation",
            "project_id": "proj_gen", "user_id": null, "api_key_id": key, "model": "gpt-image-1"});
    }
    let input = requests * (500 + rng.below(3000));
    let cached = rng.below(input / 2);
    json!({"object": "organization.usage.completions.result", "input_tokens": input,
        "output_tokens": requests * (100 + rng.below(1500)), "input_cached_tokens": cached,
        "input_audio_tokens": 0, "output_audio_tokens": 0, "num_model_requests": requests,
        "project_id": "proj_gen", "user_id": null, "api_key_id": key,
        "model": rng.pick(&["gpt-4o-2024-08-06", "gpt-5.1-2025-11-13"]), "batch": rng.chance(20)})
}

fn anthropic_usage_result(rng: &mut Rng, key: &str) -> Value {
    let scale = 1 + rng.below(100);
    json!({"uncached_input_tokens": scale * (1000 + rng.below(5000)),
        "cache_creation": {"ephemeral_5m_input_tokens": scale * rng.below(2000),
            "ephemeral_1h_input_tokens": scale * rng.below(1000)},
        "cache_read_input_tokens": scale * rng.below(20_000), "output_tokens": scale * (200 + rng.below(2000)),
        "server_tool_use": {"web_search_requests": rng.below(5)}, "api_key_id": key,
        "workspace_id": "wrkspc_gen", "model": rng.pick(&["claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001", "claude-opus-4-5-20251101"]),
        "service_tier": if rng.chance(20) { "batch" } else { "standard" }, "context_window": "0-200k"})
}

/// A LiteLLM spend log row: gpt-4o at its list price as `spend`; now and then a proxy cache hit.
fn litellm_row(rng: &mut Rng, uid: u64, t: i64) -> Value {
    let prompt = 200 + rng.below(4000);
    let completion = 50 + rng.below(1000);
    let hit = rng.chance(5);
    // $2.50/M in, $10/M out, in units of $0.0000001 so the text is exact.
    let tenths_of_micro = prompt * 25 + completion * 100;
    let spend = if hit {
        "0.0".to_string()
    } else {
        format!(
            "{}.{:07}",
            tenths_of_micro / 10_000_000,
            tenths_of_micro % 10_000_000
        )
    };
    let spend: Value = serde_json::from_str(&spend).unwrap_or(json!(0));
    json!({"request_id": format!("chatcmpl-{uid:x}"), "call_type": "acompletion",
        "api_key": format!("{:064x}", uid.wrapping_mul(0x9E37_79B9_7F4A_7C15)), "spend": spend,
        "total_tokens": prompt + completion, "prompt_tokens": prompt, "completion_tokens": completion,
        "startTime": ts(t), "endTime": ts(t + 2), "model": "gpt-4o", "custom_llm_provider": "openai",
        "metadata": {}, "cache_hit": if hit { "True" } else { "False" }, "status": "success"})
}

pub fn run(args: &GenArgs) -> Result<(), RunError> {
    let res = match &args.out {
        Some(p) => std::fs::File::create(p)
            .map(std::io::BufWriter::new)
            .and_then(|mut f| generate(&mut f, args.format, args.records, args.seed)),
        None => generate(
            &mut std::io::BufWriter::new(std::io::stdout().lock()),
            args.format,
            args.records,
            args.seed,
        ),
    };
    res.map_err(|e| RunError::Output {
        path: args.out.clone().unwrap_or_else(|| "-".into()),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let make = |seed| {
            let mut v = Vec::new();
            generate(&mut v, Format::Envelope, 200, seed).expect("generate");
            v
        };
        assert_eq!(make(7), make(7));
        assert_ne!(make(7), make(8));
    }
}
