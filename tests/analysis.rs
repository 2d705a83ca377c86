//! The analyses users run reprice for: subscriptions day by day in a time zone with a
//! daylight-saving change, unused quota by weekday, break-even, batch filters, substitutions,
//! waste, reconciliation and budgets. Expected values are worked out by hand in the comments.

mod common;
use common::*;
use std::path::Path;

fn gemini_line(ts: &str, id: &str, size: &str, key: &str, out: u64, thoughts: u64) -> String {
    format!(
        r#"{{"timestamp":"{ts}","api_key":"{key}","request":{{"contents":[{{"parts":[{{"text":"{id}"}}]}}],"generationConfig":{{"responseModalities":["IMAGE"],"imageConfig":{{"imageSize":"{size}"}}}}}},"response":{{"responseId":"{id}","modelVersion":"gemini-3-pro-image-preview","candidates":[{{"content":{{"parts":[{{"inlineData":{{"data":"x"}}}}]}},"finishReason":"STOP"}}],"usageMetadata":{{"promptTokenCount":0,"candidatesTokenCount":{out},"thoughtsTokenCount":{thoughts}}}}},"status":200}}"#
    )
}

fn write(dir: &Path, name: &str, lines: &[String]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, lines.join("\n") + "\n").expect("write fixture");
    p.to_str().expect("utf-8").to_string()
}

const ONE_A_DAY: &str = r#"
[[plan]]
id = "one-a-day"
provider = "google"
monthly_fee = "31"
daily_quota = 1
unit = "images"
models = ["gemini-3-pro-image"]
source = "test"

[[scenario]]
name = "one-a-day"
subscription = "one-a-day"
"#;

#[test]
fn quota_days_follow_the_time_zone_across_daylight_saving() {
    let dir = tempfile::tempdir().expect("tempdir");
    // New York moves to EDT at 2026-03-08 07:00 UTC, so its March 8 lasts 23 hours, from 05:00
    // to 04:00 UTC. In New York time: a on March 7 (23:30 EST), b and c on March 8 (00:30 EST,
    // 23:30 EDT), d on March 9 (00:30 EDT; a fixed -05:00 offset would put it on March 8).
    // In UTC: a and b on March 8, c and d on March 9.
    let log = write(
        dir.path(),
        "g.jsonl",
        &[
            gemini_line("2026-03-08T04:30:00Z", "a", "2K", "k", 1120, 0),
            gemini_line("2026-03-08T05:30:00Z", "b", "2K", "k", 1120, 0),
            gemini_line("2026-03-09T03:30:00Z", "c", "2K", "k", 1120, 0),
            gemini_line("2026-03-09T04:30:00Z", "d", "2K", "k", 1120, 0),
        ],
    );
    let sc = dir.path().join("s.toml");
    std::fs::write(&sc, ONE_A_DAY).expect("write");
    let sc = sc.to_str().expect("path");
    let ny = run_to(
        &dir.path().join("ny"),
        &[
            &log,
            "--scenarios",
            sc,
            "--tz",
            "America/New_York",
            "--quiet",
        ],
    );
    assert_eq!(ny.code, 0, "{}", ny.stderr);
    let s = ny.summary();
    assert_eq!(str_at(&s, "period.start"), "2026-03-07");
    assert_eq!(str_at(&s, "period.end"), "2026-03-09");
    // Fee: 3 days of March at 31/31 a day; one image overflows on March 8: 0.1344.
    let p = scenario(&s, "one-a-day");
    assert_eq!(str_at(p, "fixed_cost"), "3");
    assert_eq!(str_at(p, "cost"), "3.1344");
    let q = &s["waste"]["unused_quota"][0];
    assert_eq!(
        (
            u64_at(q, "quota_units"),
            u64_at(q, "used_units"),
            u64_at(q, "unused_units")
        ),
        (3, 3, 0)
    );
    let by_day = ny.file("by_day.csv");
    assert!(by_day.contains("2026-03-07,1,0.134400"), "{by_day}");
    assert!(by_day.contains("2026-03-08,2,0.268800"), "{by_day}");
    assert!(by_day.contains("2026-03-09,1,0.134400"), "{by_day}");

    let utc = run_to(
        &dir.path().join("utc"),
        &[&log, "--scenarios", sc, "--quiet"],
    );
    let s = utc.summary();
    assert_eq!(str_at(&s, "period.start"), "2026-03-08");
    assert_eq!(str_at(&s, "period.end"), "2026-03-09");
    // Two days' fee and one overflowing image on each day.
    assert_eq!(str_at(scenario(&s, "one-a-day"), "cost"), "2.2688");
    assert!(utc.file("by_day.csv").contains("2026-03-08,2,0.268800"));
    assert!(utc.file("by_day.csv").contains("2026-03-09,2,0.268800"));
}

#[test]
fn a_month_with_a_daylight_saving_change_has_every_day_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    // First and last instants of March 2026 in New York.
    let log = write(
        dir.path(),
        "g.jsonl",
        &[
            gemini_line("2026-03-01T05:00:00Z", "first", "2K", "k", 1120, 0),
            gemini_line("2026-04-01T03:59:59Z", "last", "2K", "k", 1120, 0),
            gemini_line("2026-04-01T04:00:00Z", "april", "2K", "k", 1120, 0),
        ],
    );
    let sc = dir.path().join("s.toml");
    std::fs::write(&sc, ONE_A_DAY).expect("write");
    let r = run_to(
        &dir.path().join("r"),
        &[
            &log,
            "--scenarios",
            sc.to_str().expect("p"),
            "--tz",
            "America/New_York",
            "--since",
            "2026-03-01",
            "--until",
            "2026-03-31",
            "--quiet",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.summary();
    assert_eq!(u64_at(&s, "period.days"), 31);
    assert_eq!(u64_at(&s, "input.records"), 2);
    assert_eq!(u64_at(&s, "input.out_of_period"), 1);
    // A whole month costs exactly the monthly fee.
    assert_eq!(str_at(scenario(&s, "one-a-day"), "fixed_cost"), "31");
    let q = &s["waste"]["unused_quota"][0];
    assert_eq!((u64_at(q, "days"), u64_at(q, "unused_units")), (31, 29));
    // 29 unused days at 31/31 each.
    assert_eq!(str_at(q, "unused_value"), "29");
    assert_eq!(r.file("by_day.csv").lines().count(), 32);
    assert_accounting(&s);
}

#[test]
fn weekday_only_teams_waste_two_sevenths_of_the_quota() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Four weeks from Monday 2026-03-02, ten 2K images every weekday, none at weekends.
    let mut rows = vec![crate::HEADER.to_string()];
    for d in 0..28 {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).expect("date") + chrono::Days::new(d);
        use chrono::Datelike;
        if day.weekday().num_days_from_monday() < 5 {
            rows.push(format!("{day}T10:00:00Z,w{d},k,google,gemini-3-pro-image-preview,image,ok,0,0,0,0,0,10,2K,,false,,"));
        }
    }
    let log = write(dir.path(), "w.csv", &rows);
    let sc = dir.path().join("s.toml");
    std::fs::write(
        &sc,
        ONE_A_DAY
            .replace("daily_quota = 1", "daily_quota = 10")
            .replace("\"31\"", "\"19.99\""),
    )
    .expect("write");
    let r = run_to(
        &dir.path().join("r"),
        &[
            &log,
            "--scenarios",
            sc.to_str().expect("p"),
            "--since",
            "2026-03-02",
            "--until",
            "2026-03-29",
            "--quiet",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.summary();
    let q = &s["waste"]["unused_quota"][0];
    assert_eq!(
        (
            u64_at(q, "quota_units"),
            u64_at(q, "used_units"),
            u64_at(q, "unused_units")
        ),
        (280, 200, 80)
    );
    assert_eq!(str_at(q, "unused_share"), "0.285714");
    let sat = row_where(q, "by_weekday", "weekday", "Sat");
    assert_eq!(str_at(sat, "share_of_quota"), "0.142857");
    // Every image was covered: the plan costs its fee for 28 of March's 31 days.
    let p = scenario(&s, "one-a-day");
    assert_eq!(str_at(p, "cost"), str_at(p, "fixed_cost"));
    assert!(
        r.file("report.md")
            .contains("| Sat | 4 | 40 | 40 | 14.3% |"),
        "{}",
        r.file("report.md")
    );
    assert!(
        r.file("waste.csv")
            .contains("unused_quota,one-a-day,2026-03-07,Sat,10,0,10,,")
    );
}

const HEADER: &str = "timestamp,id,api_key,provider,model,kind,status,input_tokens,output_tokens,thinking_tokens,cache_read_tokens,cache_write_tokens,images,image_size,quality,batch,cost,remaining_balance";

#[test]
fn break_even_for_4k_images_is_about_83_a_month() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = write(
        dir.path(),
        "g.jsonl",
        &[
            gemini_line("2026-03-10T10:00:00Z", "a", "4K", "k", 2000, 0),
            gemini_line("2026-03-11T10:00:00Z", "b", "4K", "k", 2000, 0),
        ],
    );
    let r = run_to(&dir.path().join("r"), &[&log, "--quiet"]);
    let s = r.summary();
    let be = s["break_even"]
        .as_array()
        .expect("break_even")
        .iter()
        .find(|b| b["plan"] == "google-ai-pro" && b["size"] == "4K")
        .expect("4K row");
    // $19.99 / $0.24 = 83.2916...
    assert_eq!(str_at(be, "unit_price"), "0.24");
    assert_eq!(str_at(be, "units_per_month"), "83.29");
}

#[test]
fn batch_scenarios_can_be_limited_to_keys_and_hours() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = write(
        dir.path(),
        "g.jsonl",
        &[
            gemini_line("2026-03-10T02:00:00Z", "night", "2K", "nightly", 1120, 0),
            gemini_line("2026-03-10T14:00:00Z", "day", "2K", "nightly", 1120, 0),
            gemini_line("2026-03-10T02:30:00Z", "other", "2K", "studio", 1120, 0),
        ],
    );
    let sc = dir.path().join("s.toml");
    std::fs::write(&sc, "[[scenario]]\nname = \"night-batch\"\nbatch = true\nkeys = [\"nightly\"]\nhours = [0, 1, 2, 3]\n").expect("write");
    let r = run_to(
        &dir.path().join("r"),
        &[&log, "--scenarios", sc.to_str().expect("p"), "--quiet"],
    );
    let s = r.summary();
    let b = scenario(&s, "night-batch");
    assert_eq!(u64_at(b, "records_changed"), 1);
    // 3 x 0.1344 - 0.0672.
    assert_eq!(str_at(b, "cost"), "0.336");
    assert_eq!(str_at(b, "savings_pct"), "0.166667");
    let md = r.file("report.md");
    // The sentence adds up as shown: $0.40 - $0.34 = $0.06 (exactly 0.4032 - 0.336 = 0.0672);
    // the share is the scenarios table's, 0.067200 / 0.403200.
    assert!(
        md.contains("- Moving the 1 request with a batch tier (33.3% of spend) to it (scenario night-batch) would have saved $0.06 (16.7%): $0.34 instead of $0.40."),
        "{md}"
    );
}

#[test]
fn substitutions_report_what_could_not_be_substituted_and_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = write(
        dir.path(),
        "g.jsonl",
        &[
            gemini_line("2026-03-10T10:00:00Z", "a", "2K", "k", 1120, 0),
            gemini_line("2026-03-10T11:00:00Z", "b", "4K", "k", 2000, 0),
        ],
    );
    let r = run_to(&dir.path().join("r"), &[&log, "--quiet"]);
    let s = r.summary();
    let sub = scenario(&s, "gemini-to-imagen");
    // The 2K image moves to Imagen 4 Ultra at $0.06; Imagen has no 4K price.
    assert_eq!(str_at(sub, "cost"), "0.3");
    assert_eq!(
        sub["not_applied"],
        serde_json::json!([{"model": "gemini-3-pro-image", "reason": "imagen-4-ultra has no price for 4K images", "records": 1}])
    );
    assert!(r.file("savings.csv").contains(
        "gemini-to-imagen,2026-03-10,gemini-3-pro-image,imagen-4-ultra,1,0.134400,0.060000,0.074400"
    ));
}

#[test]
fn waste_counts_billed_failures_retries_thinking_and_extras_once_each() {
    let dir = tempfile::tempdir().expect("tempdir");
    let req = r#"{"contents":[{"parts":[{"text":"same"}]}],"generationConfig":{"imageConfig":{"imageSize":"2K"}},"tools":[{"google_search":{}}]}"#;
    let lines = vec![
        // Rejected by the safety filter but billed for 500 thinking tokens: 0.006 + grounding 0.035.
        format!(
            r#"{{"timestamp":"2026-03-10T10:00:00Z","api_key":"k","request":{req},"response":{{"responseId":"r1","modelVersion":"gemini-3-pro-image-preview","candidates":[{{"finishReason":"IMAGE_SAFETY"}}],"usageMetadata":{{"candidatesTokenCount":0,"thoughtsTokenCount":500}}}},"status":200}}"#
        ),
        // The same request 30 s later succeeds, then 60 s later the client retries it (attempt
        // 2): the middle one was wasted. (A repeat not marked as a retry would not be waste.)
        format!(
            r#"{{"timestamp":"2026-03-10T10:00:30Z","api_key":"k","request":{req},"response":{{"responseId":"r2","modelVersion":"gemini-3-pro-image-preview","candidates":[{{"content":{{"parts":[{{"inlineData":{{}}}}]}}}}],"usageMetadata":{{"candidatesTokenCount":1120,"thoughtsTokenCount":500}}}},"status":200}}"#
        ),
        format!(
            r#"{{"timestamp":"2026-03-10T10:01:30Z","api_key":"k","request":{req},"response":{{"responseId":"r3","modelVersion":"gemini-3-pro-image-preview","candidates":[{{"content":{{"parts":[{{"inlineData":{{}}}}]}}}}],"usageMetadata":{{"candidatesTokenCount":1120,"thoughtsTokenCount":500}}}},"status":200,"attempt":2}}"#
        ),
        // A server error with no usage and no cost: not billed, not waste.
        format!(
            r#"{{"timestamp":"2026-03-10T11:00:00Z","api_key":"k","request":{{"model":"gpt-image-1"}},"response":{{"error":{{"message":"boom"}}}},"status":500}}"#
        ),
    ];
    let log = write(dir.path(), "w.jsonl", &lines);
    let r = run_to(&dir.path().join("r"), &[&log, "--quiet"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.summary();
    let w = &s["waste"];
    assert_eq!(str_at(w, "rejected_billed_cost"), "0.041");
    assert_eq!(u64_at(w, "rejected_billed_requests"), 1);
    assert_eq!(str_at(w, "failed_billed_cost"), "0");
    // 0.1344 + 0.006 thinking + 0.035 grounding.
    assert_eq!(str_at(w, "superseded_billed_cost"), "0.1754");
    assert_eq!(str_at(w, "thinking_cost"), "0.018");
    assert_eq!(str_at(w, "extras_cost"), "0.105");
    assert_eq!(str_at(&s, "actual.cost"), "0.3918");
    assert_eq!(
        s["actual"]["requests"],
        serde_json::json!({"failed": 1, "ok": 1, "rejected": 1, "retry": 1})
    );
    assert_eq!(u64_at(&s, "repeated_requests.requests"), 0);
}

#[test]
fn nanogpt_balances_are_reconciled_per_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = run_to(
        &dir.path().join("r"),
        &["sample_logs/envelope/nanogpt.jsonl", "--quiet"],
    );
    let s = r.summary();
    let rec = &s["reconciliation"];
    assert_eq!((u64_at(rec, "checked"), u64_at(rec, "matched")), (5, 3));
    assert_eq!(str_at(rec, "unexplained"), "0.0131");
    assert_eq!(str_at(rec, "top_ups"), "5");
    assert_eq!(str_at(rec, "gaps.0.kind"), "gap");
    assert_eq!(str_at(rec, "gaps.0.time"), "2026-03-08T10:00:00Z");
    assert_eq!(str_at(rec, "gaps.1.kind"), "top_up");
    assert_eq!(str_at(rec, "gaps.1.key"), "...3d2c");
}

#[test]
fn budgets_list_days_over_cap_and_exit_4_when_the_latest_day_is_over() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = write(
        dir.path(),
        "g.jsonl",
        &[
            gemini_line(
                "2026-03-10T10:00:00Z",
                "a",
                "4K",
                "sk-live-team-aaaa1111",
                2000,
                0,
            ),
            gemini_line(
                "2026-03-10T11:00:00Z",
                "b",
                "4K",
                "sk-live-team-aaaa1111",
                2000,
                0,
            ),
            gemini_line(
                "2026-03-11T10:00:00Z",
                "c",
                "4K",
                "sk-live-team-aaaa1111",
                2000,
                0,
            ),
        ],
    );
    let budget = |cap: &str| {
        let p = dir.path().join(format!("b{cap}.toml"));
        std::fs::write(&p, format!("[[scenario]]\nname = \"batch\"\nbatch = true\n[budget]\ndaily_cap = {{ \"*\" = \"{cap}\" }}\n")).expect("write");
        p.to_str().expect("p").to_string()
    };
    // Cap 0.30: March 10 (0.48) is over, March 11 (0.24) is not: listed, exit 0.
    let r = run_to(
        &dir.path().join("r1"),
        &[&log, "--scenarios", &budget("0.30"), "--quiet"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.summary();
    assert_eq!(
        s["budget"]["days_over_cap"],
        serde_json::json!([{"key": "...1111", "day": "2026-03-10", "spent": "0.48", "cap": "0.3"}])
    );
    assert_eq!(s["budget"]["latest_day_exceeded"], false);
    // Cap 0.20: the latest day is over too: exit 4, reports still written.
    let r = run_to(
        &dir.path().join("r2"),
        &[&log, "--scenarios", &budget("0.20"), "--quiet"],
    );
    assert_eq!(r.code, 4);
    assert!(
        r.file("report.md")
            .contains("- ...1111 on 2026-03-11: spent $0.24 against a daily cap of $0.20")
    );
}

#[test]
fn the_example_scenarios_file_runs_on_the_sample_logs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = run_to(
        &dir.path().join("r"),
        &[
            "sample_logs",
            "--scenarios",
            "examples/scenarios.toml",
            "--quiet",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.summary();
    let names: Vec<&str> = s["scenarios"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|x| x["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "batch",
            "night-batch",
            "flux-to-sd3",
            "cheapest",
            "cheapest-google",
            "google-ai-pro",
            "team-flux",
            "images-via-nanogpt",
            "cheapest-provider"
        ]
    );
    // Labels from key_names replace the keys.
    assert!(
        s["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .any(|k| k["key"] == "studio")
    );
    // The cheapest finding says the quality rule it followed.
    assert!(
        r.file("report.md")
            .contains("of the same kind and size (a substitute needs a quality score of at least the original's;"),
        "{}",
        r.file("report.md")
    );
}
