//! Each input format on its own, through the real binary, with exact totals worked out by hand
//! from the catalog's prices.

mod common;
use common::*;

struct Case {
    file: &'static str,
    records: u64,
    duplicates: u64,
    skipped: u64,
    cost: &'static str,
    batch_cost: &'static str,
    tokens: [u64; 5],
    images: u64,
}

const CASES: &[Case] = &[
    // 2K: 200 x $2/M + 1,120 x $120/M + 1,000 thinking x $12/M = 0.1468; 4K: 2,000 x $120/M = 0.24.
    Case {
        file: "formats/gemini.jsonl",
        records: 2,
        duplicates: 0,
        skipped: 0,
        cost: "0.3868",
        batch_cost: "0.1934",
        tokens: [200, 3120, 1000, 0, 0],
        images: 2,
    },
    // Billed in the log: 2 x 0.0133. No batch tier for flux-pro.
    Case {
        file: "formats/nanogpt.jsonl",
        records: 2,
        duplicates: 0,
        skipped: 0,
        cost: "0.0266",
        batch_cost: "0.0266",
        tokens: [400, 2580, 0, 0, 0],
        images: 2,
    },
    // The same bytes gzipped are read the same way.
    Case {
        file: "formats/nanogpt-copy.jsonl.gz",
        records: 2,
        duplicates: 0,
        skipped: 0,
        cost: "0.0266",
        batch_cost: "0.0266",
        tokens: [400, 2580, 0, 0, 0],
        images: 2,
    },
    // gpt-image-1 high 1024x1024 $0.167 + 50 prompt tokens x $5/M; dall-e-3 hd $0.08.
    Case {
        file: "formats/openai-images.jsonl",
        records: 2,
        duplicates: 0,
        skipped: 0,
        cost: "0.24725",
        batch_cost: "0.24725",
        tokens: [50, 4160, 0, 0, 0],
        images: 2,
    },
    // (1,000 x 3 + 2,000 x 15 + 10,000 x 0.30 + 4,000 x 3.75) / 10^6.
    Case {
        file: "formats/anthropic.jsonl",
        records: 1,
        duplicates: 0,
        skipped: 0,
        cost: "0.051",
        batch_cost: "0.0255",
        tokens: [1000, 2000, 0, 10000, 4000],
        images: 0,
    },
    // usage.cost as billed; batch halves it.
    Case {
        file: "formats/openrouter.jsonl",
        records: 1,
        duplicates: 0,
        skipped: 0,
        cost: "0.0096",
        batch_cost: "0.0048",
        tokens: [1200, 400, 0, 0, 0],
        images: 0,
    },
    // Batch tier: (1,000 x 1.25 + 1,000 x 10) / 10^6 / 2; the expired request costs nothing.
    Case {
        file: "formats/batch.jsonl",
        records: 2,
        duplicates: 0,
        skipped: 0,
        cost: "0.005625",
        batch_cost: "0.005625",
        tokens: [1000, 1000, 0, 0, 0],
        images: 0,
    },
    // One message on three lines; a summary and a user turn carry no usage.
    // (10 x 3 + 1,000 x 3.75 + 2,000 x 0.30 + 100 x 15) / 10^6.
    Case {
        file: "formats/claude",
        records: 1,
        duplicates: 2,
        skipped: 2,
        cost: "0.00588",
        batch_cost: "0.00294",
        tokens: [10, 100, 0, 2000, 1000],
        images: 0,
    },
    // One message logged as it streamed (output 3, 3, then 159), and again in a resumed
    // session: the line with the whole output is kept, from either file.
    // (10 x 3 + 1,000 x 3.75 + 2,000 x 0.30 + 159 x 15) / 10^6.
    Case {
        file: "claude_streamed",
        records: 1,
        duplicates: 4,
        skipped: 1,
        cost: "0.006765",
        batch_cost: "0.0033825",
        tokens: [10, 159, 0, 2000, 1000],
        images: 0,
    },
    // flux-1.1-pro 4 x $0.04 + SD3 10 x $0.002; the header line is skipped.
    Case {
        file: "formats/export.csv",
        records: 2,
        duplicates: 0,
        skipped: 1,
        cost: "0.18",
        batch_cost: "0.18",
        tokens: [0, 0, 0, 0, 0],
        images: 14,
    },
];

#[test]
fn every_format_gives_exact_totals() {
    for c in CASES {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("r");
        let path = fixture(c.file);
        let r = run_to(&out, &[path.to_str().expect("utf-8 path"), "--quiet"]);
        assert_eq!(r.code, 0, "{}: {}", c.file, r.stderr);
        let s = r.summary();
        assert_eq!(u64_at(&s, "input.records"), c.records, "{}", c.file);
        assert_eq!(u64_at(&s, "input.duplicates"), c.duplicates, "{}", c.file);
        assert_eq!(u64_at(&s, "input.skipped"), c.skipped, "{}", c.file);
        assert_eq!(u64_at(&s, "input.quarantined"), 0, "{}", c.file);
        assert_eq!(str_at(&s, "actual.cost"), c.cost, "{}", c.file);
        assert_eq!(
            str_at(scenario(&s, "batch"), "cost"),
            c.batch_cost,
            "{}",
            c.file
        );
        let t = &s["actual"]["tokens"];
        let got: Vec<u64> = ["input", "output", "thinking", "cache_read", "cache_write"]
            .iter()
            .map(|k| t[k].as_u64().expect("count"))
            .collect();
        assert_eq!(got, c.tokens, "{}", c.file);
        assert_eq!(u64_at(&s, "actual.images"), c.images, "{}", c.file);
        assert!(
            s["unknown_models"].as_array().expect("list").is_empty(),
            "{}",
            c.file
        );
        assert_accounting(&s);
    }
}

#[test]
fn all_formats_together_add_up_and_read_stdin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = run_to(
        &dir.path().join("r"),
        &[fixture("formats").to_str().expect("path"), "--quiet"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.summary();
    // The gz copy repeats the NanoGPT ids: two duplicates besides the Claude Code ones.
    assert_eq!(u64_at(&s, "input.records"), 13);
    assert_eq!(u64_at(&s, "input.duplicates"), 4);
    assert_eq!(str_at(&s, "actual.cost"), "0.912755");
    // by_day.csv carries usage per day; over the days it adds up to the summary's totals.
    let by_day = r.file("by_day.csv");
    let mut rows = by_day.lines();
    let header: Vec<&str> = rows.next().expect("header").split(',').collect();
    let cols = [
        "images",
        "input_tokens",
        "output_tokens",
        "thinking_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
    ];
    let mut sums = [0u64; 6];
    for row in rows {
        let cells: Vec<&str> = row.split(',').collect();
        for (k, c) in cols.iter().enumerate() {
            let i = header.iter().position(|h| h == c).expect("column");
            sums[k] += cells[i].parse::<u64>().expect("count");
        }
    }
    let t = &s["actual"]["tokens"];
    let want = [
        u64_at(&s, "actual.images"),
        t["input"].as_u64().expect("n"),
        t["output"].as_u64().expect("n"),
        t["thinking"].as_u64().expect("n"),
        t["cache_read"].as_u64().expect("n"),
        t["cache_write"].as_u64().expect("n"),
    ];
    assert_eq!(sums, want);
    assert_eq!(u64_at(&s, "reconciliation.checked"), 1);
    assert_eq!(u64_at(&s, "reconciliation.matched"), 1);
    assert_accounting(&s);

    // '-' reads standard input.
    let bytes = std::fs::read(fixture("formats/gemini.jsonl")).expect("fixture");
    let out = dir.path().join("stdin");
    let mut child = bin()
        .args(["run", "-", "--quiet", "--out"])
        .arg(&out)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&bytes)
        .expect("write");
    assert_eq!(child.wait().expect("wait").code(), Some(0));
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).expect("summary"))
            .expect("json");
    assert_eq!(str_at(&s, "actual.cost"), "0.3868");
}

#[test]
fn unknown_models_are_named_not_priced_at_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("x.jsonl");
    std::fs::write(
        &log,
        concat!(
            r#"{"timestamp":"2026-03-10T09:00:00Z","request":{"model":"mystery-xl"},"response":{"id":"m1","usage":{"prompt_tokens":5,"completion_tokens":5}}}"#, "\n",
            r#"{"timestamp":"2026-03-10T09:01:00Z","request":{"model":"mystery-xl"},"response":{"id":"m2","usage":{"prompt_tokens":5,"completion_tokens":5},"cost":"0.5"}}"#, "\n",
        ),
    )
    .expect("write");
    let r = run_to(
        &dir.path().join("r"),
        &[log.to_str().expect("path"), "--quiet"],
    );
    // The record without a cost is in no figure: exit 7, and the one line that says so.
    assert_eq!(r.code, 7, "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "reprice: 1 record of mystery-xl (unknown model, no cost in the log) could not be priced; --allow-unpriced accepts them\n"
    );
    let s = r.summary();
    assert_eq!(
        s["unpriced"],
        serde_json::json!([{"model": "mystery-xl", "reason": "unknown model, no cost in the log", "records": 1}])
    );
    assert_eq!(
        s["unknown_models"],
        serde_json::json!([{"model": "mystery-xl", "records": 2}])
    );
    // Only the billed cost the log states is counted.
    assert_eq!(str_at(&s, "actual.cost"), "0.5");
    assert!(
        r.file("report.md")
            .contains("- unknown model mystery-xl: 2 records")
    );
}

#[test]
fn validate_counts_a_streamed_message_once_in_words() {
    let o = bin()
        .args(["validate"])
        .arg(fixture("claude_streamed"))
        .output()
        .expect("validate");
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "reprice: 2 files, 6 lines: 1 record, 4 duplicates, 0 bad, 1 without usage\n"
    );
}
