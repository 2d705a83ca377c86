//! Offers: the same model bought from several providers, each record priced at its own
//! provider's offer, and the provider-switch scenarios.
//!
//! tests/fixtures/offers/providers.jsonl holds seven image records of 2026-03-10, none with a
//! billed cost except NanoGPT's:
//!   a. flux via "fal-ai/flux-pro/v1.1" (model prefix): fal's offer, $0.035 from March 1
//!      (offers.toml lays that price on the built-in fal offer)
//!   b. flux with envelope provider "BFL": the maker, Black Forest Labs, $0.04
//!   c. Gemini 2K, a Gemini API body: Google, 1,120 x $120/M = $0.1344
//!   d. Gemini 2K, a Vertex body (createTime, trafficType): offers.toml's Vertex offer,
//!      1,120 x $100/M = $0.112
//!   e. Gemini 2K through NanoGPT (cost, remainingBalance): billed $0.15
//!   f. Gemini 2K, envelope provider "Azure": no Azure offer, so Google's $0.1344
//!   g. "sd3", an OpenAI images body: the provider cannot be told, Stability's $0.002
//! Actual: 0.035 + 0.04 + 0.1344 + 0.112 + 0.15 + 0.1344 + 0.002 = 0.6078.

mod common;
use common::*;
use serde_json::json;

fn run(dir: &std::path::Path) -> Run {
    let r = run_to(
        &dir.join("r"),
        &[
            fixture("offers/providers.jsonl").to_str().expect("p"),
            "--catalog",
            "builtin",
            "--catalog",
            fixture("offers/offers.toml").to_str().expect("p"),
            "--scenarios",
            fixture("offers/scenarios.toml").to_str().expect("p"),
            "--quiet",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    r
}

#[test]
fn each_record_is_priced_at_its_own_providers_offer() {
    let d = tempfile::tempdir().expect("tempdir");
    let s = run(d.path()).summary();
    assert_eq!(str_at(&s, "actual.cost"), "0.6078");
    // Same Flux request, two providers: fal $0.035, Black Forest Labs $0.04; same Gemini
    // request: Google $0.1344, Vertex $0.112.
    let model = |id: &str| {
        s["models"]
            .as_array()
            .expect("models")
            .iter()
            .find(|m| m["model"] == id)
            .map(|m| m["cost"].clone())
    };
    assert_eq!(model("flux-1.1-pro"), Some(json!("0.075")));
    // 0.1344 + 0.112 + 0.15 + 0.1344
    assert_eq!(model("gemini-3-pro-image"), Some(json!("0.5308")));
    let p = &s["providers"];
    assert_eq!(
        p["found"],
        json!({"envelope": 2, "model_prefix": 1, "shape": 3, "unknown": 1})
    );
    assert_eq!(p["unknown_at_maker_price"], 1);
    assert_eq!(
        p["no_offer_at_maker_price"],
        json!([{"model": "gemini-3-pro-image", "provider": "azure", "records": 1}])
    );
    let at: Vec<(String, String, u64)> = p["priced_at"]
        .as_array()
        .expect("priced_at")
        .iter()
        .map(|r| {
            (
                r["model"].as_str().expect("m").to_string(),
                r["provider"].as_str().expect("p").to_string(),
                r["records"].as_u64().expect("n"),
            )
        })
        .collect();
    let row = |m: &str, p: &str, n: u64| (m.to_string(), p.to_string(), n);
    assert_eq!(
        at,
        [
            row("flux-1.1-pro", "black-forest-labs", 1),
            row("flux-1.1-pro", "fal", 1),
            row("gemini-3-pro-image", "google", 2),
            row("gemini-3-pro-image", "nanogpt", 1),
            row("gemini-3-pro-image", "vertex", 1),
            row("stable-diffusion-3", "stability", 1),
        ]
    );
}

fn switch(s: &serde_json::Value, scenario: &str) -> Vec<serde_json::Value> {
    s["providers"]["switches"]
        .as_array()
        .expect("switches")
        .iter()
        .filter(|w| w["scenario"] == scenario)
        .map(|w| {
            let mut w = w.clone();
            w.as_object_mut().expect("object").remove("scenario");
            w
        })
        .collect()
}

fn pair(
    model: &str,
    from: &str,
    to: &str,
    n: u64,
    actual: &str,
    cost: &str,
    saved: &str,
) -> serde_json::Value {
    json!({"model": model, "from": from, "to": to, "records": n,
           "actual_cost": actual, "cost": cost, "savings": saved})
}

#[test]
fn switch_provider_reprices_at_the_named_providers_offer() {
    let d = tempfile::tempdir().expect("tempdir");
    let s = run(d.path()).summary();
    // nanogpt -> google, any other -> vertex. c and f (Google's price) go to Vertex, 0.1344 ->
    // 0.112 each; e goes to Google, 0.15 -> 0.1344; d is on Vertex already. Flux (a, b) and
    // SD3 (g) have no Vertex offer. Savings 2 x 0.0224 + 0.0156 = 0.0604.
    let t = scenario(&s, "to-google");
    assert_eq!(str_at(t, "kind"), "switch_provider");
    assert_eq!(str_at(t, "cost"), "0.5474");
    assert_eq!(str_at(t, "savings"), "0.0604");
    assert_eq!(
        t["not_applied"],
        json!([
            {"model": "flux-1.1-pro", "reason": "no offer from vertex", "records": 2},
            {"model": "stable-diffusion-3", "reason": "no offer from vertex", "records": 1}
        ])
    );
    assert_eq!(
        switch(&s, "to-google"),
        [
            pair(
                "gemini-3-pro-image",
                "google",
                "vertex",
                2,
                "0.2688",
                "0.224",
                "0.0448"
            ),
            pair(
                "gemini-3-pro-image",
                "nanogpt",
                "google",
                1,
                "0.15",
                "0.1344",
                "0.0156"
            ),
        ]
    );
    // With batch: Vertex's batch tier halves $0.112 to $0.056, for every Gemini record, the
    // one already on Vertex too (the models filter leaves Flux and SD3 out). Savings
    // 2 x (0.1344 - 0.056) + (0.15 - 0.056) + (0.112 - 0.056) = 0.3068.
    let b = scenario(&s, "vertex-batch");
    assert_eq!(str_at(b, "cost"), "0.301");
    assert_eq!(str_at(b, "savings"), "0.3068");
    assert_eq!(b["not_applied"], json!([]));
    assert_eq!(
        switch(&s, "vertex-batch"),
        [
            pair(
                "gemini-3-pro-image",
                "google",
                "vertex",
                2,
                "0.2688",
                "0.112",
                "0.1568"
            ),
            pair(
                "gemini-3-pro-image",
                "nanogpt",
                "vertex",
                1,
                "0.15",
                "0.056",
                "0.094"
            ),
            pair(
                "gemini-3-pro-image",
                "vertex",
                "vertex",
                1,
                "0.112",
                "0.056",
                "0.056"
            ),
        ]
    );
    // Only key sk-a at 09:00: e (sk-nano) is left out, so only c and f move.
    let k = scenario(&s, "key-a-to-vertex");
    assert_eq!(str_at(k, "savings"), "0.0448");
    assert_eq!(
        switch(&s, "key-a-to-vertex"),
        [pair(
            "gemini-3-pro-image",
            "google",
            "vertex",
            2,
            "0.2688",
            "0.224",
            "0.0448"
        )]
    );
}

#[test]
fn cheapest_provider_takes_the_cheapest_offer_per_record() {
    let d = tempfile::tempdir().expect("tempdir");
    let r = run(d.path());
    let s = r.summary();
    // a: fal's $0.035 is already the cheapest Flux offer. b: BFL $0.04 -> fal $0.035.
    // c, f: Google $0.1344 -> Vertex $0.112 (NanoGPT's $0.1344 is no cheaper). d: Vertex is
    // the cheapest. e: billed $0.15 -> Vertex $0.112. g: NanoGPT's $0.003 is dearer than
    // Stability's $0.002. Savings 0.005 + 2 x 0.0224 + 0.038 = 0.0878.
    let c = scenario(&s, "cheapest-provider");
    assert_eq!(str_at(c, "kind"), "cheapest_provider");
    assert_eq!(str_at(c, "cost"), "0.52");
    assert_eq!(str_at(c, "savings"), "0.0878");
    assert_eq!(u64_at(c, "records_changed"), 4);
    assert_eq!(
        switch(&s, "cheapest-provider"),
        [
            pair(
                "flux-1.1-pro",
                "black-forest-labs",
                "fal",
                1,
                "0.04",
                "0.035",
                "0.005"
            ),
            pair(
                "gemini-3-pro-image",
                "google",
                "vertex",
                2,
                "0.2688",
                "0.224",
                "0.0448"
            ),
            pair(
                "gemini-3-pro-image",
                "nanogpt",
                "vertex",
                1,
                "0.15",
                "0.112",
                "0.038"
            ),
        ]
    );
    let md = r.file("report.md");
    assert!(md.contains("## Providers"), "{md}");
    assert!(md.contains(
        "- 1 record priced at the maker's price: the log does not tell which provider sold them."
    ));
    assert!(md.contains(
        "| cheapest-provider | gemini-3-pro-image | nanogpt -> vertex | 1 | 0.150000 | 0.112000 | 0.038000 |"
    ), "{md}");
    let html = r.file("report.html");
    assert!(html.contains("<h2>Providers</h2>"));
    assert!(
        html.contains("<td>nanogpt -&gt; vertex</td>"),
        "provider pair row"
    );
}

#[test]
fn catalog_show_lists_every_offer_with_its_source() {
    let o = bin()
        .args([
            "catalog",
            "show",
            "fal-ai/flux-pro/v1.1",
            "--catalog",
            "builtin",
            "--catalog",
        ])
        .arg(fixture("offers/offers.toml"))
        .output()
        .expect("show");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The built-in fal offer, with the overlay's later price version added to it.
    assert!(
        text.contains("offer from fal\n  aliases: fal-ai/flux-pro/v1.1\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "  from 2026-03-01: 1K $0.035/image\n      source: test: fal at $0.035 per image\n"
        ),
        "{text}"
    );
    assert!(text.contains("offer from replicate\n"), "{text}");
    let list = bin()
        .args(["catalog", "list", "--catalog", "builtin", "--catalog"])
        .arg(fixture("offers/offers.toml"))
        .output()
        .expect("list");
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(text.contains("+ vertex"), "{text}");
    assert!(
        text.contains("source: test: output $100/M, batch -50%"),
        "{text}"
    );
}

#[test]
fn a_switch_to_a_provider_nobody_in_the_catalog_sells_is_refused() {
    let d = tempfile::tempdir().expect("tempdir");
    let sc = d.path().join("s.toml");
    std::fs::write(
        &sc,
        "[[scenario]]\nname = \"x\"\nswitch_provider = { \"*\" = \"goggle\" }\n",
    )
    .expect("write");
    let r = run_to(
        &d.path().join("r"),
        &[
            fixture("offers/providers.jsonl").to_str().expect("p"),
            "--scenarios",
            sc.to_str().expect("p"),
            "--quiet",
        ],
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("scenario x: no catalog model is sold by provider 'goggle'"),
        "{}",
        r.stderr
    );
}

#[test]
fn an_aggregators_export_is_bought_from_the_aggregator() {
    // OpenRouter's activity export names the upstream provider (Anthropic, OpenAI) in its
    // provider column; every row was bought from OpenRouter, which the built-in catalog has
    // no offer from for these models, so they stay at the makers' prices (all three rows
    // carry their billed cost anyway).
    let d = tempfile::tempdir().expect("tempdir");
    let r = run_to(
        &d.path().join("r"),
        &["sample_logs/csv/openrouter-activity.csv", "--quiet"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.summary();
    assert_eq!(s["providers"]["found"], json!({"export": 3}));
    assert_eq!(
        s["providers"]["no_offer_at_maker_price"],
        json!([
            {"model": "claude-sonnet-4-5", "provider": "openrouter", "records": 2},
            {"model": "gpt-5.1", "provider": "openrouter", "records": 1}
        ])
    );
    assert_eq!(str_at(&s, "actual.cost"), "0.02394");
}
