//! A single log in time order is priced and analyzed in one pass as it is read; every other
//! input is sorted and deduplicated first. Both give the same reports: each case here runs a
//! log alone and beside an empty file (two inputs are always sorted) and compares every
//! report, the file count aside.

mod common;
use common::*;
use std::path::Path;

fn line(time: &str, id: Option<&str>, out: u32) -> String {
    let id = id.map(|i| format!(r#""id":"{i}","#)).unwrap_or_default();
    format!(
        r#"{{"timestamp":"{time}",{id}"api_key":"k1","request":{{"model":"gpt-4o"}},"response":{{"usage":{{"prompt_tokens":1000,"completion_tokens":{out}}}}}}}"#
    )
}

/// Runs `lines` alone (into `<name>-one`) and beside an empty file (into `<name>-two`), with
/// `extra` arguments; asserts the reports are the same and gives the lone run's stderr.
fn both_ways(d: &Path, name: &str, lines: &[String], extra: &[&str]) -> String {
    let logs = d.join(name);
    std::fs::create_dir_all(&logs).expect("mkdir");
    let log = logs.join("log.jsonl");
    std::fs::write(&log, lines.join("\n") + "\n").expect("write");
    let one_out = d.join(format!("{name}-one"));
    let two_out = d.join(format!("{name}-two"));
    let mut args = vec![log.to_str().expect("path")];
    args.extend_from_slice(extra);
    let one = bin()
        .arg("run")
        .args(&args)
        .arg("--out")
        .arg(&one_out)
        .env("REPRICE_TIMINGS", "1")
        .output()
        .expect("run");
    std::fs::write(logs.join("zz-empty.jsonl"), "").expect("write");
    let mut args = vec![logs.to_str().expect("path")];
    args.extend_from_slice(extra);
    let two = run_to(&two_out, &args);
    assert_eq!(one.status.code(), Some(two.code), "{}", two.stderr);
    let mut names: Vec<_> = std::fs::read_dir(&one_out)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.contains(&"summary.json".to_string()), "{names:?}");
    for n in names.iter().filter(|n| *n != "run.json") {
        let a = std::fs::read(one_out.join(n)).expect("read");
        let b = std::fs::read(two_out.join(n)).expect("read");
        let b = String::from_utf8_lossy(&b)
            .replace("from 2 files", "from 1 files")
            .replace("\"files\": 2", "\"files\": 1")
            .into_bytes();
        let b = if n.ends_with(".parquet") {
            std::fs::read(two_out.join(n)).expect("read")
        } else {
            b
        };
        assert!(a == b, "{name}: {n} differs");
    }
    String::from_utf8_lossy(&one.stderr).into_owned()
}

const ONE_PASS: &str = "timing: ingest, reprice, fold";
const GAVE_UP: &str = "sorting instead";

#[test]
fn generated_logs_with_late_retries_take_one_pass_and_report_the_same() {
    let d = tempfile::tempdir().expect("tmp");
    let lines: Vec<String> = String::from_utf8(gen_envelope(3000, 11))
        .expect("utf-8")
        .lines()
        .map(str::to_string)
        .collect();
    // Retries are logged 5 seconds after the attempt that follows them.
    assert!(lines.iter().any(|l| l.contains(r#""attempt":2"#)));
    let err = both_ways(d.path(), "gen", &lines, &["--records"]);
    assert!(err.contains(ONE_PASS) && !err.contains(GAVE_UP), "{err}");
    let err = both_ways(
        d.path(),
        "period",
        &lines,
        &["--since", "2026-03-05", "--until", "2026-03-20"],
    );
    assert!(err.contains(ONE_PASS), "{err}");
}

#[test]
fn ties_and_late_lines_within_the_hour_take_one_pass() {
    let d = tempfile::tempdir().expect("tmp");
    let lines = [
        line("2026-03-02T10:00:00Z", Some("c"), 10),
        line("2026-03-02T10:00:00Z", Some("a"), 20),
        line("2026-03-02T10:00:00Z", None, 30),
        line("2026-03-02T10:30:00Z", Some("d"), 40),
        line("2026-03-02T10:05:00Z", Some("b"), 50),
        line("2026-03-02T12:00:00Z", None, 60),
        line("2026-03-02T11:59:59Z", Some("e"), 70),
    ];
    let err = both_ways(d.path(), "ties", &lines, &[]);
    assert!(err.contains(ONE_PASS) && !err.contains(GAVE_UP), "{err}");
}

#[test]
fn a_big_log_in_order_takes_one_pass_a_line_hours_late_or_a_repeated_id_the_sort() {
    let d = tempfile::tempdir().expect("tmp");
    let late = [
        line("2026-03-02T10:00:00Z", Some("a"), 10),
        line("2026-03-02T14:00:00Z", Some("b"), 20),
        line("2026-03-02T11:00:00Z", Some("c"), 30),
    ];
    // Read in one part, the lines are put in order whatever their order in the file.
    let err = both_ways(d.path(), "late", &late, &[]);
    assert!(err.contains(ONE_PASS) && !err.contains(GAVE_UP), "{err}");
    // Over 8 MB, a file is read in parts, and taken in one pass while in order. The first
    // line again under a new id, at the end, comes after records given weeks later.
    let mut lines: Vec<String> = String::from_utf8(gen_envelope(20_000, 12))
        .expect("utf-8")
        .lines()
        .map(str::to_string)
        .collect();
    assert!(lines.iter().map(|l| l.len() + 1).sum::<usize>() > 8 << 20);
    let err = both_ways(d.path(), "big", &lines, &[]);
    assert!(err.contains(ONE_PASS) && !err.contains(GAVE_UP), "{err}");
    let first = lines[0].replacen(r#""id":""#, r#""id":"late-"#, 1);
    assert_ne!(first, lines[0]);
    lines.push(first);
    let err = both_ways(d.path(), "late-big", &lines, &[]);
    assert!(err.contains(GAVE_UP), "{err}");
    // The same id three times: a copy (a duplicate) and other usage (a conflict).
    let repeated = [
        line("2026-03-02T10:00:00Z", Some("a"), 10),
        line("2026-03-02T11:00:00Z", Some("b"), 11),
        line("2026-03-02T10:00:00Z", Some("a"), 10),
        line("2026-03-03T14:00:00Z", Some("a"), 11),
    ];
    let err = both_ways(d.path(), "repeated", &repeated, &[]);
    assert!(err.contains(GAVE_UP), "{err}");
    let s: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(d.path().join("repeated-one/summary.json")).expect("read"),
    )
    .expect("json");
    assert_eq!(u64_at(&s, "input.records"), 2);
    assert_eq!(u64_at(&s, "input.duplicates"), 1);
    assert_eq!(u64_at(&s, "input.conflicts"), 1);
}
