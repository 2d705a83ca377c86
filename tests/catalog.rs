//! Catalogs from files: LiteLLM's price JSON, TOML overrides on top, and price history.

mod common;
use common::*;

fn gemini(ts: &str, id: &str) -> String {
    format!(
        r#"{{"timestamp":"{ts}","request":{{"generationConfig":{{"imageConfig":{{"imageSize":"2K"}}}}}},"response":{{"responseId":"{id}","modelVersion":"gemini-3-pro-image-preview","candidates":[{{"content":{{"parts":[{{"inlineData":{{}}}}]}}}}],"usageMetadata":{{"candidatesTokenCount":1120}}}}}}"#
    )
}

#[test]
fn each_record_is_priced_at_the_price_of_its_own_day() {
    let d = tempfile::tempdir().expect("tempdir");
    let log = d.path().join("g.jsonl");
    std::fs::write(
        &log,
        [
            gemini("2026-03-09T23:59:59Z", "a"),
            gemini("2026-03-10T00:00:00Z", "b"),
        ]
        .join("\n"),
    )
    .expect("write");
    let cut = fixture("catalog/price-cut.toml");
    let r = run_to(
        &d.path().join("r"),
        &[
            log.to_str().expect("p"),
            "--catalog",
            "builtin",
            "--catalog",
            cut.to_str().expect("p"),
            "--quiet",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.summary();
    // 1,120 x $120/M on March 9, 1,120 x $100/M from March 10.
    assert_eq!(str_at(&s, "actual.cost"), "0.2464");
    assert_eq!(
        s["price_changes"],
        serde_json::json!([{"model": "gemini-3-pro-image", "effective": "2026-03-10", "source": "test: output price cut to $100/M", "records_before": 1, "records_from": 1}])
    );
    assert!(r.file("report.md").contains(
        "| gemini-3-pro-image | 2026-03-10 | 1 | 1 | test: output price cut to $100/M |"
    ));

    let show = bin()
        .args([
            "catalog",
            "show",
            "gemini-3-pro-image-preview",
            "--catalog",
            "builtin",
            "--catalog",
        ])
        .arg(&cut)
        .output()
        .expect("show");
    assert!(show.status.success());
    let text = String::from_utf8_lossy(&show.stdout);
    let froms: Vec<&str> = text.lines().filter(|l| l.starts_with("from ")).collect();
    assert_eq!(
        froms,
        [
            "from 2025-11-20: input $2/M; output $120/M; thinking $12/M; 1K image = 1120 output tokens; 2K image = 1120 output tokens; 4K image = 2000 output tokens; batch -50%",
            "from 2026-03-10: input $2/M; output $100/M; thinking $12/M; 1K image = 1120 output tokens; 2K image = 1120 output tokens; 4K image = 2000 output tokens; batch -50%",
        ]
    );
}

#[test]
fn litellm_prices_with_a_toml_override() {
    let d = tempfile::tempdir().expect("tempdir");
    let log = d.path().join("l.jsonl");
    std::fs::write(
        &log,
        [
            r#"{"timestamp":"2026-03-10T09:00:00Z","request":{"model":"gpt-4o"},"response":{"id":"c1","usage":{"prompt_tokens":1000,"completion_tokens":1000}}}"#.to_string(),
            r#"{"timestamp":"2026-03-10T09:00:00Z","model":"nano-banana-pro","request":{},"response":{"responseId":"g1","candidates":[{"content":{"parts":[{"inlineData":{}}]}}],"usageMetadata":{"candidatesTokenCount":1120}}}"#.to_string(),
        ]
        .join("\n"),
    )
    .expect("write");
    let base = fixture("catalog/litellm-excerpt.json");
    let over = fixture("catalog/litellm-override.toml");
    let sc = d.path().join("s.toml");
    std::fs::write(&sc, "[[scenario]]\nname = \"batch\"\nbatch = true\n").expect("write");
    let r = run_to(
        &d.path().join("r"),
        &[
            log.to_str().expect("p"),
            "--catalog",
            base.to_str().expect("p"),
            "--catalog",
            over.to_str().expect("p"),
            "--scenarios",
            sc.to_str().expect("p"),
            "--quiet",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.summary();
    // gpt-4o: 1,000 x $2.50/M + 1,000 x $10/M; the image: 1,120 image tokens x $120/M.
    assert_eq!(str_at(&s, "actual.cost"), "0.1469");
    // LiteLLM's *_batches prices are half: only gpt-4o has them.
    assert_eq!(str_at(scenario(&s, "batch"), "cost"), "0.14065");
    let manifest: serde_json::Value = serde_json::from_str(&r.file("run.json")).expect("json");
    assert_eq!(manifest["catalog"].as_array().map(Vec::len), Some(2));
    let list = bin()
        .args(["catalog", "list", "--catalog"])
        .arg(&base)
        .output()
        .expect("list");
    assert!(String::from_utf8_lossy(&list.stdout).contains("gpt-4o"));
}
