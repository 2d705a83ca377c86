//! A gateway export with 50,000 keys: the reports and summary.json list the top 20 keys (by
//! cost, and by unexplained balance gap) and one row for the rest; every key goes to
//! by_key.csv and reconciliation.csv.

mod common;
use common::*;
use std::fmt::Write as _;

const HEADER: &str = "timestamp,id,api_key,provider,model,kind,status,input_tokens,output_tokens,thinking_tokens,cache_read_tokens,cache_write_tokens,images,image_size,quality,batch,cost,remaining_balance";
const KEYS: u64 = 50_000;

/// Key i ("k00000".."k49999", short enough to be shown whole) makes two requests billed
/// (i+1) micro-dollars each; between them its balance drops by the second one's cost plus an
/// unexplained 10(i+1) micro-dollars.
fn log() -> String {
    let mut s = String::with_capacity(12_000_000);
    s.push_str(HEADER);
    s.push('\n');
    for i in 0..KEYS {
        let cost = (i + 1) as i64;
        let before = 100_000_000i64;
        let after = before - cost - 10 * cost;
        let micro = |n: i64| format!("{}.{:06}", n / 1_000_000, n % 1_000_000);
        let _ = writeln!(
            s,
            "2026-03-10T10:00:00Z,a{i},k{i:05},openai,gpt-4o,text,ok,0,0,0,0,0,0,,,false,{},{}",
            micro(cost),
            micro(before)
        );
        let _ = writeln!(
            s,
            "2026-03-10T11:00:00Z,b{i},k{i:05},openai,gpt-4o,text,ok,0,0,0,0,0,0,,,false,{},{}",
            micro(cost),
            micro(after)
        );
    }
    s
}

#[test]
fn fifty_thousand_keys_keep_the_reports_small() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("gateway.csv");
    std::fs::write(&path, log()).expect("write log");
    let r = run_to(
        &dir.path().join("r"),
        &[path.to_str().expect("path"), "--quiet"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let size = |name: &str| {
        std::fs::metadata(r.out.join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .len()
    };
    assert!(
        size("report.md") < 200_000,
        "report.md {}",
        size("report.md")
    );
    assert!(
        size("summary.json") < 1_000_000,
        "summary.json {}",
        size("summary.json")
    );
    assert!(
        size("report.html") < 1_000_000,
        "report.html {}",
        size("report.html")
    );

    let s = r.summary();
    assert_eq!(s["keys"].as_array().expect("keys").len(), 20);
    assert_eq!(str_at(&s, "keys.0.key"), "k49999");
    // Key 49999 costs 2 x 50,000 micro-dollars.
    assert_eq!(str_at(&s, "keys.0.cost"), "0.1");
    // The rest: keys 0..49979, each 2(i+1) micro-dollars: 49,980 x 49,981 = $2,498.05038.
    assert_eq!(u64_at(&s, "other_keys.keys"), 49_980);
    assert_eq!(u64_at(&s, "other_keys.records"), 99_960);
    assert_eq!(str_at(&s, "other_keys.cost"), "2498.05038");
    // 50,000 x 50,001 micro-dollars in all.
    assert_eq!(str_at(&s, "actual.cost"), "2500.05");

    let rec = &s["reconciliation"];
    assert_eq!(u64_at(rec, "checked"), KEYS);
    assert_eq!(rec["gaps"].as_array().expect("gaps").len(), 20);
    assert_eq!(str_at(rec, "gaps.0.key"), "k49999");
    assert_eq!(str_at(rec, "gaps.0.amount"), "0.5");
    // Every gap: 10 x 50,000 x 50,001 / 2 micro-dollars; the rest: 10 x 49,980 x 49,981 / 2.
    assert_eq!(str_at(rec, "unexplained"), "12500.25");
    assert_eq!(u64_at(rec, "other_gaps.gaps"), 49_980);
    assert_eq!(str_at(rec, "other_gaps.unexplained"), "12490.2519");

    let md = r.file("report.md");
    assert!(
        md.contains(
            "| the other 49980 keys | 99960 | 2498.050380 |\n| all keys | 100000 | 2500.050000 |"
        ),
        "{}",
        &md[..md.len().min(20_000)]
    );
    assert!(md.contains("| the other 49980 unexplained drops |  | gap |  |  |  | 12490.251900 |"));

    // The CSV tables hold every key: a header and one line per key.
    assert_eq!(r.file("by_key.csv").lines().count() as u64, KEYS + 1);
    assert!(r.file("by_key.csv").contains("\nk49999,2,0.100000,0\n"));
    assert_eq!(
        r.file("reconciliation.csv").lines().count() as u64,
        KEYS + 1
    );
}
