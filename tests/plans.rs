//! Subscriptions simulated per seat, the quality rule of `cheapest`, and what the reports say
//! about both. Expected values are worked out by hand in the comments.

mod common;
use common::*;
use std::path::Path;

const HEADER: &str = "timestamp,id,api_key,provider,model,kind,status,input_tokens,output_tokens,thinking_tokens,cache_read_tokens,cache_write_tokens,images,image_size,quality,batch,cost,remaining_balance";

/// One 2K Gemini image billed $0.1344.
fn image(ts: &str, id: &str, key: &str) -> String {
    format!(
        "{ts},{id},{key},google,gemini-3-pro-image-preview,image,ok,0,0,0,0,0,1,2K,,false,0.1344,"
    )
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write fixture");
    p.to_str().expect("utf-8").to_string()
}

/// A $31 plan with two images a day, and four ways to seat three api keys on it.
const SEATS: &str = r#"
[[plan]]
id = "two-a-day"
provider = "google"
monthly_fee = "31"
daily_quota = 2
unit = "images"
models = ["gemini-3-pro-image"]
source = "test"

[[scenario]]
name = "per-key"
subscription = "two-a-day"

[[scenario]]
name = "one-seat"
subscription = "two-a-day"
seats = 1

[[scenario]]
name = "alice-and-pool"
subscription = "two-a-day"
seats = { "sk-a" = "alice", "*" = "pool" }

[[scenario]]
name = "alice-only"
subscription = "two-a-day"
seats = { "sk-a" = "alice", "sk-b" = "alice" }
"#;

#[test]
fn a_plan_is_paid_and_used_per_seat() {
    let dir = tempfile::tempdir().expect("tempdir");
    // March 1: sk-a two images, sk-b two. March 2: sk-a one, sk-c one. Six images at $0.1344:
    // $0.8064. Two days of March: a seat's fee is 31 x 2 / 31 = $2, its quota 2 x 2 = 4.
    let rows = [
        HEADER.to_string(),
        image("2026-03-01T09:00:00Z", "a1", "sk-a"),
        image("2026-03-01T09:10:00Z", "a2", "sk-a"),
        image("2026-03-01T10:00:00Z", "b1", "sk-b"),
        image("2026-03-01T10:10:00Z", "b2", "sk-b"),
        image("2026-03-02T09:00:00Z", "a3", "sk-a"),
        image("2026-03-02T11:00:00Z", "c1", "sk-c"),
    ];
    let log = write(dir.path(), "t.csv", &(rows.join("\n") + "\n"));
    let sc = write(dir.path(), "s.toml", SEATS);
    let r = run_to(
        &dir.path().join("r"),
        &[&log, "--scenarios", &sc, "--quiet"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.summary();
    assert_eq!(str_at(&s, "actual.cost"), "0.8064");
    let quota = |name: &str| {
        let q = row_where(&s, "waste.unused_quota", "scenario", name);
        (
            u64_at(q, "seats"),
            u64_at(q, "quota_units"),
            u64_at(q, "used_units"),
            u64_at(q, "unused_units"),
            str_at(q, "unused_value").to_string(),
        )
    };
    let plan = |name: &str| {
        let p = scenario(&s, name);
        (
            u64_at(p, "seats"),
            str_at(p, "fixed_cost").to_string(),
            str_at(p, "cost").to_string(),
        )
    };
    // Per key: three seats ($6), each within its own two a day, so everything is covered.
    // Quota 3 x 4 = 12, 6 used; the 6 unused units are worth 31 x 6 / (2 x 31) = $3.
    assert_eq!(plan("per-key"), (3, "6".into(), "6".into()));
    assert_eq!(quota("per-key"), (3, 12, 6, 6, "3".into()));
    // One seat ($2) for all: March 1 asks for four, two overflow at $0.1344 each; March 2's
    // two are covered. Cost 2 + 0.2688; the quota of 4 is used up.
    assert_eq!(plan("one-seat"), (1, "2".into(), "2.2688".into()));
    assert_eq!(quota("one-seat"), (1, 4, 4, 0, "0".into()));
    // alice (sk-a) and pool (sk-b, sk-c): two seats ($4), each within two a day. Quota 8, 6
    // used, 2 unused worth $1.
    assert_eq!(plan("alice-and-pool"), (2, "4".into(), "4".into()));
    assert_eq!(quota("alice-and-pool"), (2, 8, 6, 2, "1".into()));
    // alice holds sk-a and sk-b; sk-c has no seat and stays at $0.1344. March 1: alice asks
    // for four, two overflow. Cost 2 + 0.2688 + 0.1344 = 2.4032; quota 4, 3 used.
    assert_eq!(plan("alice-only"), (1, "2".into(), "2.4032".into()));
    assert_eq!(quota("alice-only"), (1, 4, 3, 1, "0.5".into()));
    let missed = &scenario(&s, "alice-only")["not_applied"][0];
    assert_eq!(
        str_at(missed, "reason"),
        "api key has no seat in the scenario's seats map"
    );
    assert_eq!(u64_at(missed, "records"), 1);
    // Each seat is a plan of its own: the daily cost of a seat count is the seats' fees.
    let by_day = r.file("by_day.csv");
    assert!(by_day.lines().count() > 2, "{by_day}");
    let md = r.file("report.md");
    assert!(
        md.contains(
            "- per-key: simulated with 3 seats (one per api key that used it), each paying $31.00 a month with 2 images a day."
        ),
        "{md}"
    );
}

#[test]
fn bad_seats_name_the_file_and_the_scenario() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = write(
        dir.path(),
        "t.csv",
        &format!(
            "{HEADER}\n{}\n",
            image("2026-03-01T09:00:00Z", "a1", "sk-a")
        ),
    );
    for (seats, why) in [
        (
            "seats = 3",
            "scenario p: seats = 3: use \"per-key\", 1, or a map of api keys to seat names (1 shares one seat among all keys)",
        ),
        (
            "seats = \"per-user\"",
            "scenario p: seats = \"per-user\": use \"per-key\", 1, or a map of api keys to seat names",
        ),
        (
            "seats = {}",
            "scenario p: seats is an empty map: use \"per-key\", 1, or a map of api keys to seat names",
        ),
    ] {
        let text =
            format!("[[scenario]]\nname = \"p\"\nsubscription = \"google-ai-pro\"\n{seats}\n");
        let sc = write(dir.path(), "bad.toml", &text);
        let r = run_to(
            &dir.path().join("r"),
            &[&log, "--scenarios", &sc, "--quiet"],
        );
        assert_eq!(r.code, 1, "{seats}");
        assert!(
            r.stderr.contains(&format!("bad.toml: {why}")),
            "{}",
            r.stderr
        );
    }
    let sc = write(
        dir.path(),
        "batch.toml",
        "[[scenario]]\nname = \"b\"\nbatch = true\nseats = 1\n",
    );
    let r = run_to(
        &dir.path().join("r"),
        &[&log, "--scenarios", &sc, "--quiet"],
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("batch.toml: scenario b: seats applies only to a subscription scenario"),
        "{}",
        r.stderr
    );
}

#[test]
fn cheapest_keeps_quality_and_the_report_says_how() {
    let dir = tempfile::tempdir().expect("tempdir");
    // One gpt-image-1 high square image ($0.167 from the catalog) and one Gemini 2K image
    // billed $0.1344. gpt-image-1 (1137) may go to imagen-4-ultra (1172) at $0.06, never to
    // stable-diffusion-3 (913) at $0.002; Gemini (1225) is the best rated and stays.
    // Cost 0.06 + 0.1344 = 0.1944; saving 0.3014 - 0.1944 = 0.107.
    let rows = [
        HEADER.to_string(),
        "2026-03-01T09:00:00Z,g1,sk-a,openai,gpt-image-1,image,ok,0,0,0,0,0,1,1024x1024,high,false,,".to_string(),
        image("2026-03-01T10:00:00Z", "n1", "sk-a"),
    ];
    let log = write(dir.path(), "t.csv", &(rows.join("\n") + "\n"));
    let r = run_to(&dir.path().join("r"), &[&log, "--quiet"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.summary();
    let c = scenario(&s, "cheapest");
    assert_eq!(str_at(&s, "actual.cost"), "0.3014");
    assert_eq!(str_at(c, "cost"), "0.1944");
    assert_eq!(str_at(c, "savings"), "0.107");
    assert_eq!(u64_at(c, "records_changed"), 1);
    let savings = r.file("savings.csv");
    assert!(savings.contains("imagen-4-ultra"), "{savings}");
    assert!(!savings.contains("stable-diffusion-3"), "{savings}");
    let md = r.file("report.md");
    assert!(
        md.contains("a substitute needs a quality score of at least the original's;"),
        "{md}"
    );
}
