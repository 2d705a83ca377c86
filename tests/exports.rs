//! Provider and gateway usage exports (OpenAI Usage and Costs API pages, Anthropic usage
//! reports, LiteLLM spend logs) through the real binary, with totals worked out by hand from
//! the fixtures in tests/fixtures/exports and the catalog's prices.

mod common;
use common::*;

struct Case {
    files: &'static [&'static str],
    records: u64,
    duplicates: u64,
    skipped: u64,
    served_from_cache: u64,
    /// summary.actual.requests: ok, failed.
    requests: [u64; 2],
    cost: &'static str,
    batch_cost: &'static str,
    /// input, output, cache_read, cache_write, cache_write_1h.
    tokens: [u64; 5],
    images: u64,
}

const CASES: &[Case] = &[
    // Page 2 repeats page 1's 2026-03-02 bucket: 5 results, 4 records, 1 duplicate.
    // gpt-4o (input 120,000 of which 20,000 cached, output 30,000, 40 requests):
    //   100,000 x $2.50/M + 20,000 x $1.25/M + 30,000 x $10/M = 0.575;
    // gpt-4o on the batch tier (200,000 in, 50,000 out, 10 requests): (0.5 + 0.5) / 2 = 0.5;
    // gpt-5.1 (1,000,000 in of which 400,000 cached, 100,000 out, 25 requests):
    //   600,000 x $1.25/M + 400,000 x $0.125/M + 100,000 x $10/M = 1.80;
    // gpt-4o (10,000 in, 2,000 out, 4 requests) = 0.045. Total 2.92, 79 requests.
    // Batch scenario: 0.2875 + 0.5 + 0.9 + 0.0225 = 1.71.
    Case {
        files: &[
            "exports/openai-usage-completions-1.json",
            "exports/openai-usage-completions-2.json",
        ],
        records: 4,
        duplicates: 1,
        skipped: 0,
        served_from_cache: 0,
        requests: [79, 0],
        cost: "2.92",
        batch_cost: "1.71",
        tokens: [910_000, 182_000, 420_000, 0, 0],
        images: 0,
    },
    // No quality in the images export: gpt-image-1 at its default (medium):
    // 40 x 1024x1024 x $0.042 + 10 x 1024x1536 x $0.063 = 1.68 + 0.63; 40 + 5 requests.
    Case {
        files: &["exports/openai-usage-images.json"],
        records: 2,
        duplicates: 0,
        skipped: 0,
        served_from_cache: 0,
        requests: [45, 0],
        cost: "2.31",
        batch_cost: "2.31",
        tokens: [0, 0, 0, 0, 0],
        images: 50,
    },
    // Sonnet 4.5: 100,000 x $3/M + 20,000 5-minute writes x $3.75/M + 10,000 1-hour writes
    // x $6/M + 200,000 reads x $0.30/M + 40,000 out x $15/M + 12 web searches x $0.01
    // = 0.30 + 0.075 + 0.06 + 0.06 + 0.60 + 0.12 = 1.215; Haiku 4.5 on the batch tier:
    // (1,000,000 x $1/M + 200,000 x $5/M) / 2 = 1.0. The report counts no requests.
    // Batch scenario: Sonnet's tokens halved (1.095 / 2) plus its searches 0.12, + 1.0.
    Case {
        files: &["exports/anthropic-usage-report.json"],
        records: 2,
        duplicates: 0,
        skipped: 0,
        served_from_cache: 0,
        requests: [0, 0],
        cost: "2.215",
        batch_cost: "1.6675",
        tokens: [1_100_000, 240_000, 200_000, 20_000, 10_000],
        images: 0,
    },
    // The Claude Code usage report: alice on 2026-03-03, Sonnet 4.5 40,000 in x $3/M +
    // 10,000 out x $15/M + 500,000 reads x $0.30/M + 20,000 writes x $3.75/M = 0.12 + 0.15 +
    // 0.15 + 0.075 = 0.495, Haiku 4.5 10,000 x $1/M + 2,000 x $5/M + 100,000 x $0.10/M +
    // 8,000 x $1.25/M = 0.04; the ci-bot key on 2026-03-04, Sonnet 100,000 x $3/M + 20,000 x
    // $15/M = 0.60, and a Haiku entry of no tokens (skipped). 1.135; batch halves it. The
    // report counts sessions, not requests.
    Case {
        files: &["exports/claude-code-usage-report.json"],
        records: 3,
        duplicates: 0,
        skipped: 1,
        served_from_cache: 0,
        requests: [0, 0],
        cost: "1.135",
        batch_cost: "0.5675",
        tokens: [150_000, 32_000, 600_000, 28_000, 0],
        images: 0,
    },
    // spend as billed: 0.00675 + 0.01725 + a failure at 0; a cache hit made no provider call.
    // Prompt tokens include cache reads and writes: 12,000 - 10,000 - 1,000 = 1,000 input.
    // Batch: gpt-4o (1,500 x 2.5 + 300 x 10) / 10^6 / 2 = 0.003375, Sonnet 0.01725 / 2.
    Case {
        files: &["exports/litellm-spend-logs.json"],
        records: 3,
        duplicates: 0,
        skipped: 1,
        served_from_cache: 1,
        requests: [2, 1],
        cost: "0.024",
        batch_cost: "0.012",
        tokens: [2_500, 800, 10_000, 1_000, 0],
        images: 0,
    },
    // The same table as CSV: the header and a cache hit are skipped; 0.00675 + 0.0125.
    Case {
        files: &["exports/litellm-spend-logs.csv"],
        records: 2,
        duplicates: 0,
        skipped: 2,
        served_from_cache: 1,
        requests: [2, 0],
        cost: "0.01925",
        batch_cost: "0.009625",
        tokens: [3_500, 1_300, 0, 0, 0],
        images: 0,
    },
];

fn run_files(files: &[&str], extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.keep().join("r");
    let paths: Vec<String> = files
        .iter()
        .map(|f| fixture(f).to_str().expect("utf-8 path").to_string())
        .collect();
    let mut args: Vec<&str> = paths.iter().map(String::as_str).collect();
    args.extend_from_slice(extra);
    args.push("--quiet");
    run_to(&out, &args)
}

#[test]
fn every_export_gives_exact_totals() {
    for c in CASES {
        let name = c.files[0];
        let r = run_files(c.files, &[]);
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        let s = r.summary();
        assert_eq!(u64_at(&s, "input.records"), c.records, "{name}");
        assert_eq!(u64_at(&s, "input.duplicates"), c.duplicates, "{name}");
        assert_eq!(u64_at(&s, "input.skipped"), c.skipped, "{name}");
        assert_eq!(
            u64_at(&s, "input.served_from_cache"),
            c.served_from_cache,
            "{name}"
        );
        assert_eq!(u64_at(&s, "input.quarantined"), 0, "{name}");
        let req = &s["actual"]["requests"];
        let got = [
            req["ok"].as_u64().unwrap_or(0),
            req["failed"].as_u64().unwrap_or(0),
        ];
        assert_eq!(got, c.requests, "{name}");
        assert_eq!(str_at(&s, "actual.cost"), c.cost, "{name}");
        assert_eq!(
            str_at(scenario(&s, "batch"), "cost"),
            c.batch_cost,
            "{name}"
        );
        let t = &s["actual"]["tokens"];
        let got: Vec<u64> = [
            "input",
            "output",
            "cache_read",
            "cache_write",
            "cache_write_1h",
        ]
        .iter()
        .map(|k| t[k].as_u64().expect("count"))
        .collect();
        assert_eq!(got, c.tokens, "{name}");
        assert_eq!(u64_at(&s, "actual.images"), c.images, "{name}");
        assert!(s["unknown_models"].as_array().expect("list").is_empty());
        assert_accounting(&s);
    }
}

#[test]
fn overlapping_pages_count_once_in_any_order() {
    let one = run_files(
        &[
            "exports/openai-usage-completions-2.json",
            "exports/openai-usage-completions-1.json",
        ],
        &[],
    );
    let s = one.summary();
    assert_eq!(u64_at(&s, "input.records"), 4);
    assert_eq!(u64_at(&s, "input.duplicates"), 1);
    assert_eq!(str_at(&s, "actual.cost"), "2.92");
    // The same page saved twice: every result of the copy is a duplicate.
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join("page-1-again.json");
    std::fs::copy(fixture("exports/openai-usage-completions-1.json"), &copy).expect("copy");
    let page = fixture("exports/openai-usage-completions-1.json");
    let twice = run_to(
        &dir.path().join("r"),
        &[
            page.to_str().expect("path"),
            copy.to_str().expect("path"),
            "--quiet",
        ],
    );
    let s = twice.summary();
    assert_eq!(u64_at(&s, "input.records"), 3);
    assert_eq!(u64_at(&s, "input.duplicates"), 3);
    assert_eq!(str_at(&s, "actual.cost"), "2.875");
}

#[test]
fn cost_pages_reconcile_against_usage_pages() {
    let r = run_files(
        &[
            "exports/openai-usage-completions-1.json",
            "exports/openai-usage-completions-2.json",
            "exports/openai-usage-images.json",
            "exports/openai-costs.json",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.summary();
    // The five cost results carry no usage: skipped lines, billed amounts.
    assert_eq!(u64_at(&s, "input.skipped"), 5);
    assert_eq!(str_at(&s, "actual.cost"), "5.23");
    // proj_web per UTC day: 03-01 usage 0.575 + 0.5 + 2.31 = 3.385, billed the same;
    // 03-03 0.045 both; 03-02 usage 1.80 but billed 1.90: the planted difference.
    let b = &s["billing"];
    assert_eq!(u64_at(b, "checked"), 3);
    assert_eq!(u64_at(b, "matched"), 2);
    assert_eq!(str_at(b, "billed"), "5.33");
    assert_eq!(str_at(b, "usage_cost"), "5.23");
    let d = b["differences"].as_array().expect("list");
    assert_eq!(d.len(), 1);
    assert_eq!(str_at(&d[0], "day"), "2026-03-02");
    assert_eq!(str_at(&d[0], "project"), "proj_web");
    assert_eq!(str_at(&d[0], "usage_cost"), "1.8");
    assert_eq!(str_at(&d[0], "billed"), "1.9");
    assert_eq!(str_at(&d[0], "difference"), "0.1");
    let md = r.file("report.md");
    assert!(
        md.contains("| openai | 2026-03-02 | proj_web | 1.800000 | 1.900000 | 0.100000 |"),
        "{md}"
    );
}

#[test]
fn the_report_says_what_aggregates_and_estimates_mean() {
    let r = run_files(
        &["exports/openai-usage-images.json"],
        &["--tz", "America/New_York"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let w: Vec<String> = r.summary()["warnings"]
        .as_array()
        .expect("list")
        .iter()
        .map(|v| v.as_str().expect("text").to_string())
        .collect();
    assert!(
        w.iter()
            .any(|w| w.starts_with("2 rows of usage exports sum 45 requests")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.contains("UTC day") && w.contains("America/New_York")),
        "{w:?}"
    );
    assert!(
        w.iter().any(|w| w.contains("50 gpt-image-1 images")
            && w.contains("(medium)")
            && w.contains("estimated")),
        "{w:?}"
    );
    let a = run_files(&["exports/anthropic-usage-report.json"], &[]);
    let w = a.summary()["warnings"].to_string();
    assert!(
        w.contains("2 rows of Anthropic usage reports do not say how many requests"),
        "{w}"
    );
}

#[test]
fn an_export_document_over_the_size_limit_is_one_quarantined_line() {
    // A page of 100 results (about 9 KB) against 4 x 1K: refused whole, as one line.
    let dir = tempfile::tempdir().expect("tempdir");
    let result = r#"{"object": "organization.usage.completions.result", "input_tokens": 1, "output_tokens": 1, "num_model_requests": 1, "model": "gpt-4o"}"#;
    let results = vec![result; 100].join(", ");
    let page = format!(
        r#"{{"object": "page", "data": [{{"object": "bucket", "start_time": 1772323200, "end_time": 1772409600, "results": [{results}]}}]}}"#
    );
    let big = dir.path().join("big-page.json");
    std::fs::write(&big, page).expect("write");
    let csv = fixture("exports/litellm-spend-logs.csv");
    let r = run_to(
        &dir.path().join("r"),
        &[
            big.to_str().expect("path"),
            csv.to_str().expect("path"),
            "--max-line-size",
            "1K",
            "--quiet",
        ],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    let s = r.summary();
    assert_eq!(u64_at(&s, "input.quarantined"), 1);
    assert_eq!(u64_at(&s, "input.records"), 2);
    let q = r.file("quarantine.jsonl");
    assert!(q.contains("over 4 KiB (4x --max-line-size)"), "{q}");
    assert_accounting(&s);
}

#[test]
fn cost_pages_alone_have_nothing_to_report() {
    let r = run_files(&["exports/anthropic-cost-report.json"], &[]);
    assert_eq!(r.code, 8, "{}", r.stderr);
}

#[test]
fn gemini_batch_output_takes_its_time_from_the_job_record_or_the_default_day() {
    // Beside the job record (endTime 2026-03-10T03:15:00Z), on the batch tier:
    // 2K image (200 in x $2/M + 1,120 out x $120/M + 1,000 thinking x $12/M = 0.1468) and a
    // 4K one (300 x $2/M + 2,000 x $120/M = 0.2406), halved: 0.1937. The failed request
    // (its model from the job record) cost nothing. The record itself is a skipped line.
    let r = run_files(&["exports/gemini-batch"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.summary();
    assert_eq!(u64_at(&s, "input.records"), 3);
    assert_eq!(u64_at(&s, "input.skipped"), 1);
    assert_eq!(str_at(&s, "actual.cost"), "0.1937");
    assert_eq!(u64_at(&s, "actual.images"), 2);
    assert_eq!(u64_at(&s, "actual.requests.failed"), 1);
    assert_eq!(str_at(&s, "period.start"), "2026-03-10");
    assert_accounting(&s);
    // Without a record: quarantined, saying how to give the day.
    let r = run_files(
        &[
            "exports/gemini-batch-no-job.jsonl",
            "exports/litellm-spend-logs.csv",
        ],
        &[],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    let q = r.file("quarantine.jsonl");
    assert_eq!(q.lines().count(), 2, "{q}");
    assert!(q.contains("--default-day YYYY-MM-DD"), "{q}");
    // The failed line names no model and was not billed: a line without usage.
    assert_eq!(u64_at(&r.summary(), "input.skipped"), 3);
    // With --default-day: that day, at noon UTC, so in New York too.
    let r = run_files(
        &["exports/gemini-batch-no-job.jsonl"],
        &["--default-day", "2026-03-12", "--tz", "America/New_York"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.summary();
    assert_eq!(u64_at(&s, "input.records"), 2);
    assert_eq!(str_at(&s, "period.start"), "2026-03-12");
    assert_eq!(str_at(&s, "actual.cost"), "0.1937");
}

#[test]
fn anthropic_cost_report_reconciles_per_workspace() {
    // Amounts are in cents: "121.50" is $1.215, Sonnet's usage in its workspace; "100" is
    // $1.00, Haiku's batch usage without a workspace. Both match.
    let r = run_files(
        &[
            "exports/anthropic-usage-report.json",
            "exports/anthropic-cost-report.json",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.summary();
    assert_eq!(u64_at(&s, "input.skipped"), 2);
    let b = &s["billing"];
    assert_eq!((u64_at(b, "checked"), u64_at(b, "matched")), (2, 2));
    assert_eq!(str_at(b, "billed"), "2.215");
    assert_eq!(str_at(b, "usage_cost"), "2.215");
}

#[test]
fn nightly_state_runs_give_the_same_summary_as_a_full_run() {
    // Whole-file exports are read again every run (the ledger resumes JSON lines only); the
    // Gemini lines without a job record are resumed. Either way the summary is the full run's.
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let exports = fixture("exports");
    let exports = exports.to_str().expect("path");
    let args = |out: &str| {
        let out = dir.path().join(out);
        let mut a = vec![
            exports.to_string(),
            "--default-day".into(),
            "2026-03-12".into(),
        ];
        a.push("--quiet".into());
        (out, a)
    };
    let (out, a) = args("full");
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let full = run_to(&out, &a).file("summary.json");
    for name in ["first", "second"] {
        let (out, mut a) = args(name);
        a.push("--state".into());
        a.push(state.to_str().expect("path").into());
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let r = run_to(&out, &a);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(r.file("summary.json"), full, "{name} run");
    }
}

#[test]
fn generated_exports_read_back_whole_and_are_forced_by_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (format, file) in [
        ("openai-usage", "usage.json"),
        ("anthropic-usage", "anthropic.json"),
        ("litellm-spend", "spend.json"),
        ("gemini-batch", "gemini.jsonl"),
    ] {
        let path = dir.path().join(file);
        let o = bin()
            .args([
                "gen",
                "--records",
                "120",
                "--seed",
                "5",
                "--format",
                format,
                "--out",
            ])
            .arg(&path)
            .output()
            .expect("gen");
        assert!(o.status.success(), "{format}");
        let p = path.to_str().expect("path");
        let r = run_to(
            &dir.path().join(format!("r-{format}")),
            &[p, "--default-day", "2026-03-20", "--quiet"],
        );
        assert_eq!(r.code, 0, "{format}: {}", r.stderr);
        let s = r.summary();
        // Every entry is a record, a request served from the proxy cache, or (Gemini) a
        // failed request without a model: nothing quarantined, nothing unpriced.
        assert_eq!(u64_at(&s, "input.lines"), 120, "{format}");
        assert_eq!(u64_at(&s, "input.quarantined"), 0, "{format}");
        assert!(
            s["unpriced"].as_array().expect("list").is_empty(),
            "{format}"
        );
        assert_accounting(&s);
        // --format reads the same file the same way.
        let forced = run_to(
            &dir.path().join(format!("f-{format}")),
            &[
                p,
                "--default-day",
                "2026-03-20",
                "--format",
                format,
                "--quiet",
            ],
        );
        assert_eq!(
            forced.file("summary.json"),
            r.file("summary.json"),
            "{format}"
        );
    }
}

#[test]
fn pages_appended_to_one_file_are_read_one_after_another() {
    // Page 2 (one line) then page 1 (pretty-printed) in one file: the overlap counts once.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = std::fs::read_to_string(fixture("exports/openai-usage-completions-2.json"))
        .expect("page 2");
    text.push_str(
        &std::fs::read_to_string(fixture("exports/openai-usage-completions-1.json"))
            .expect("page 1"),
    );
    let path = dir.path().join("pages.jsonl");
    std::fs::write(&path, text).expect("write");
    let r = run_to(
        &dir.path().join("r"),
        &[path.to_str().expect("path"), "--quiet"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.summary();
    assert_eq!(u64_at(&s, "input.records"), 4);
    assert_eq!(u64_at(&s, "input.duplicates"), 1);
    assert_eq!(str_at(&s, "actual.cost"), "2.92");
}
