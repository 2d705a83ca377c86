//! What the logs count: images of Gemini responses whose image bytes were stripped, counted
//! from their IMAGE tokens; successful repeats apart from retried attempts. Real binary,
//! expected figures worked out by hand in the comments.

mod common;
use common::*;
use std::path::Path;

/// A Gemini image response as billing exports keep it: usage only, no image part.
fn stripped(ts: &str, id: &str, size: Option<&str>, image_tokens: u64) -> String {
    let request = match size {
        Some(s) => format!(
            r#""request":{{"contents":[{{"parts":[{{"text":"{id}"}}]}}],"generationConfig":{{"responseModalities":["IMAGE"],"imageConfig":{{"imageSize":"{s}"}}}}}},"#
        ),
        None => String::new(),
    };
    format!(
        r#"{{"timestamp":"{ts}","api_key":"k",{request}"response":{{"responseId":"{id}","modelVersion":"gemini-3-pro-image-preview","candidates":[{{"finishReason":"STOP"}}],"usageMetadata":{{"promptTokenCount":0,"candidatesTokenCount":{image_tokens},"candidatesTokensDetails":[{{"modality":"IMAGE","tokenCount":{image_tokens}}}]}}}},"status":200}}"#
    )
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write fixture");
    p.to_str().expect("utf-8").to_string()
}

const SCENARIOS: &str = r#"
[[scenario]]
name = "gemini-to-imagen"
substitute = { "gemini-3-pro-image" = "imagen-4-ultra" }

[[scenario]]
name = "google-ai-pro"
subscription = "google-ai-pro"
"#;

#[test]
fn images_without_bytes_are_counted_from_their_tokens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = write(
        dir.path(),
        "g.jsonl",
        &[
            stripped("2026-03-02T10:00:00Z", "two-k", Some("2K"), 1120),
            stripped("2026-03-02T11:00:00Z", "four-k", Some("4K"), 2000),
            // No request: the size is the one whose tokens per image divide 2,000, 4K.
            stripped("2026-03-02T12:00:00Z", "bare-4k", None, 2000),
        ]
        .join("\n"),
    );
    let sc = write(dir.path(), "s.toml", SCENARIOS);
    let r = run_to(
        &dir.path().join("out"),
        &[&log, "--scenarios", &sc, "--quiet", "--records"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.summary();
    // 2K: 1,120 tokens x $120/M = 0.1344; 4K: 2,000 x $120/M = 0.24, twice.
    assert_eq!(str_at(&s, "actual.cost"), "0.6144");
    assert_eq!(u64_at(&s, "actual.images"), 3);
    assert_eq!(u64_at(&s, "actual.images_by_count.tokens"), 3);
    // Imagen 4 Ultra prices 1K and 2K at $0.06 an image, and no 4K: the 2K image costs 0.06
    // there; the 4K ones stay at what they cost, with the reason.
    let sub = scenario(&s, "gemini-to-imagen");
    assert_eq!(str_at(sub, "cost"), "0.54");
    assert_eq!(u64_at(sub, "records_changed"), 1);
    assert_eq!(
        sub["not_applied"],
        serde_json::json!([{
            "model": "gemini-3-pro-image",
            "reason": "imagen-4-ultra has no price for 4K images",
            "records": 2
        }])
    );
    // Google AI Pro covers the three images within its daily quota: only the fee is left.
    let q = &s["waste"]["unused_quota"][0];
    assert_eq!(u64_at(q, "used_units"), 3);
    // records.parquet says how each count was found.
    #[cfg(feature = "parquet")]
    {
        use polars::prelude::{ParquetReader, SerReader};
        let file = std::fs::File::open(r.out.join("records.parquet")).expect("parquet");
        let df = ParquetReader::new(file).finish().expect("reads");
        let how = df.column("image_count").expect("column");
        let how = how.str().expect("text");
        let how: Vec<Option<&str>> = (0..how.len()).map(|i| how.get(i)).collect();
        assert_eq!(how, [Some("tokens"); 3]);
    }
    let md = r.file("report.md");
    assert!(
        md.contains(
            "3 images of 3 were counted without image data in the logs: 3 from IMAGE output tokens"
        ),
        "{md}"
    );
    assert!(r.file("report.html").contains("3 images of 3 were counted"));
}

#[test]
fn a_paid_image_record_without_a_count_is_not_priced_at_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Nothing says it made an image: no request, no IMAGE tokens, no image part. It cost
    // 1,120 output tokens x $120/M = 0.1344 all the same.
    let line = r#"{"timestamp":"2026-03-02T10:00:00Z","api_key":"k","response":{"responseId":"x","modelVersion":"gemini-3-pro-image-preview","candidates":[{"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":0,"candidatesTokenCount":1120}},"status":200}"#;
    let log = write(dir.path(), "g.jsonl", &format!("{line}\n"));
    let sc = write(dir.path(), "s.toml", SCENARIOS);
    let r = run_to(
        &dir.path().join("out"),
        &[&log, "--scenarios", &sc, "--quiet"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.summary();
    assert_eq!(str_at(&s, "actual.cost"), "0.1344");
    for name in ["gemini-to-imagen", "google-ai-pro"] {
        let sub = scenario(&s, name);
        assert_eq!(u64_at(sub, "records_changed"), 0, "{name}");
        assert_eq!(
            sub["not_applied"],
            serde_json::json!([{
                "model": "gemini-3-pro-image",
                "reason": "image count unknown",
                "records": 1
            }]),
            "{name}"
        );
    }
    assert_eq!(str_at(scenario(&s, "gemini-to-imagen"), "cost"), "0.1344");
}

/// An OpenAI image request with its own body text, at `ts`, answered `status`.
fn image_line(ts: &str, id: &str, prompt: &str, status: u16, extra: &str) -> String {
    // The failure's own body says what it was billed.
    let data = if status == 200 {
        r#""data":[{"b64_json":"x"}]"#
    } else {
        r#""error":{"message":"timeout"},"cost":"0.167""#
    };
    format!(
        r#"{{"timestamp":"{ts}","api_key":"k","request":{{"model":"gpt-image-1","prompt":"{prompt}","size":"1024x1024","quality":"high"}},"response":{{"id":"{id}","created":0,{data}}},"status":{status}{extra}}}"#
    )
}

#[test]
fn a_successful_repeat_is_not_a_retry() {
    let dir = tempfile::tempdir().expect("tempdir");
    // gpt-image-1 high 1024x1024: $0.167 an image.
    // "cat": made twice, 60 s apart, both succeeded: a repeated identical request, 0.167.
    // "dog": failed at 10:00 (a timeout still billed 0.167 by the log), retried at 10:01 as
    // attempt 2: the failure is waste once (failed but billed), the retry itself is not.
    // "owl": succeeded, then the client retried it (attempt 2) 30 s later: the first attempt,
    // 0.167, is a retried attempt, waste.
    let lines = [
        image_line("2026-03-02T09:00:00Z", "c1", "cat", 200, ""),
        image_line("2026-03-02T09:01:00Z", "c2", "cat", 200, ""),
        image_line("2026-03-02T10:00:00Z", "d1", "dog", 500, ""),
        image_line("2026-03-02T10:01:00Z", "d2", "dog", 200, r#","attempt":2"#),
        image_line("2026-03-02T11:00:00Z", "o1", "owl", 200, ""),
        image_line(
            "2026-03-02T11:00:30Z",
            "o2",
            "owl",
            200,
            r#","retry_of":"o1""#,
        ),
    ];
    let log = write(dir.path(), "i.jsonl", &(lines.join("\n") + "\n"));
    let r = run_to(&dir.path().join("out"), &[&log, "--quiet"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.summary();
    assert_eq!(u64_at(&s, "repeated_requests.requests"), 1);
    assert_eq!(str_at(&s, "repeated_requests.cost"), "0.167");
    assert_eq!(u64_at(&s, "waste.failed_billed_requests"), 1);
    assert_eq!(str_at(&s, "waste.failed_billed_cost"), "0.167");
    assert_eq!(u64_at(&s, "waste.superseded_billed_requests"), 1);
    assert_eq!(str_at(&s, "waste.superseded_billed_cost"), "0.167");
    let md = r.file("report.md");
    assert!(
        md.contains("1 successful request repeated an identical request that had succeeded within the retry window, costing $0.17"),
        "{md}"
    );
}

#[test]
fn a_retry_names_the_attempt_it_retries() {
    let dir = tempfile::tempdir().expect("tempdir");
    // "fox" at 09:00 succeeded and was billed 0.167; the client retried it at 09:02 with
    // another prompt ("fox, again"), naming it with retry_of: the body differs, the id says
    // which attempt was given up on, so "fox" is a retried attempt, waste 0.167. The retry
    // itself, and a second retry of the same attempt, add nothing more.
    let lines = [
        image_line("2026-03-02T09:00:00Z", "f1", "fox", 200, ""),
        image_line(
            "2026-03-02T09:02:00Z",
            "f2",
            "fox, again",
            200,
            r#","retry_of":"f1""#,
        ),
        image_line(
            "2026-03-02T09:03:00Z",
            "f3",
            "fox, third",
            200,
            r#","retry_of":"f1""#,
        ),
        // Named, but 10 minutes later: past the 300 s window, so not counted.
        image_line(
            "2026-03-02T09:10:00Z",
            "f4",
            "fox, late",
            200,
            r#","retry_of":"f1""#,
        ),
    ];
    let log = write(dir.path(), "f.jsonl", &(lines.join("\n") + "\n"));
    let r = run_to(&dir.path().join("out"), &[&log, "--quiet"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.summary();
    assert_eq!(u64_at(&s, "waste.superseded_billed_requests"), 1);
    assert_eq!(str_at(&s, "waste.superseded_billed_cost"), "0.167");
    assert_eq!(u64_at(&s, "repeated_requests.requests"), 0);
}
