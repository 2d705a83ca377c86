//! A log in time order (one file, or pieces of one in path order) is priced and analyzed in
//! one pass as it is read; every other input is sorted and deduplicated first. Both give the
//! same reports: each case here runs a folder of logs as it is and with an empty file beside
//! them (an input with no record to tell its time always sends the run to the sort), and
//! compares every report, the file count aside.

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
    pieces_both_ways(d, name, &[("log.jsonl", lines)], extra)
}

/// Runs the folder of `pieces` (file name, lines) as it is (into `<name>-one`) and with an
/// empty file beside them (into `<name>-two`), with `extra` arguments; asserts the reports
/// are the same and gives the first run's stderr.
fn pieces_both_ways(d: &Path, name: &str, pieces: &[(&str, &[String])], extra: &[&str]) -> String {
    let logs = d.join(name);
    std::fs::create_dir_all(&logs).expect("mkdir");
    for (file, lines) in pieces {
        std::fs::write(logs.join(file), lines.join("\n") + "\n").expect("write");
    }
    let one_out = d.join(format!("{name}-one"));
    let two_out = d.join(format!("{name}-two"));
    let mut args = vec![logs.to_str().expect("path")];
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
    let two = run_to(&two_out, &args);
    assert_eq!(one.status.code(), Some(two.code), "{}", two.stderr);
    let mut names: Vec<_> = std::fs::read_dir(&one_out)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.contains(&"summary.json".to_string()), "{names:?}");
    let (n1, n2) = (pieces.len(), pieces.len() + 1);
    for n in names.iter().filter(|n| *n != "run.json") {
        let a = std::fs::read(one_out.join(n)).expect("read");
        let b = std::fs::read(two_out.join(n)).expect("read");
        let b = if n.ends_with(".parquet") {
            b
        } else {
            String::from_utf8_lossy(&b)
                .replace(&format!("from {n2} files"), &format!("from {n1} files"))
                .replace(&format!("\"files\": {n2}"), &format!("\"files\": {n1}"))
                .into_bytes()
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
    let lines = gen_lines(3000, 11);
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
fn a_big_log_in_order_takes_one_pass_a_line_hours_late_or_a_forgotten_id_the_sort() {
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
    let mut lines = gen_lines(20_000, 12);
    assert!(lines.iter().map(|l| l.len() + 1).sum::<usize>() > 8 << 20);
    let err = both_ways(d.path(), "big", &lines, &[]);
    assert!(err.contains(ONE_PASS) && !err.contains(GAVE_UP), "{err}");
    let first = lines[0].replacen(r#""id":""#, r#""id":"late-"#, 1);
    assert_ne!(first, lines[0]);
    lines.push(first);
    let err = both_ways(d.path(), "late-big", &lines, &[]);
    assert!(err.contains(GAVE_UP), "{err}");
    // The same id three times, with no other id between to push it out: a copy (a duplicate)
    // and other usage a day later (a conflict), judged in the pass.
    let repeated = [
        line("2026-03-02T10:00:00Z", Some("a"), 10),
        line("2026-03-02T11:00:00Z", Some("b"), 11),
        line("2026-03-02T10:00:00Z", Some("a"), 10),
        line("2026-03-03T14:00:00Z", Some("a"), 11),
    ];
    let err = both_ways(d.path(), "repeated", &repeated, &[]);
    assert!(err.contains(ONE_PASS) && !err.contains(GAVE_UP), "{err}");
    let s = summary_in(&d.path().join("repeated-one"));
    assert_eq!(u64_at(&s, "input.records"), 2);
    assert_eq!(u64_at(&s, "input.duplicates"), 1);
    assert_eq!(u64_at(&s, "input.conflicts"), 1);
    // An id is kept whole for an hour after its first record: seen again after later ids
    // have pushed it out, it can only be judged by the sort.
    let forgotten = [
        line("2026-03-02T10:00:00Z", Some("a"), 10),
        line("2026-03-02T11:00:00Z", Some("b"), 11),
        line("2026-03-03T13:00:00Z", Some("c"), 12),
        line("2026-03-03T14:00:00Z", Some("a"), 11),
    ];
    let err = both_ways(d.path(), "forgotten", &forgotten, &[]);
    assert!(err.contains(GAVE_UP), "{err}");
    let s = summary_in(&d.path().join("forgotten-one"));
    assert_eq!(u64_at(&s, "input.records"), 3);
    assert_eq!(u64_at(&s, "input.conflicts"), 1);
}

#[test]
fn a_log_cut_into_pieces_in_order_takes_one_pass_and_pieces_out_of_order_are_sorted() {
    let d = tempfile::tempdir().expect("tmp");
    let lines = gen_lines(3000, 13);
    let (a, rest) = lines.split_at(1000);
    let (b, c) = rest.split_at(1000);
    let err = pieces_both_ways(
        d.path(),
        "pieces",
        &[("day-1.jsonl", a), ("day-2.jsonl", b), ("day-3.jsonl", c)],
        &["--records"],
    );
    assert!(err.contains(ONE_PASS) && !err.contains(GAVE_UP), "{err}");
    // The last days first, by name: sorted, without trying the pass.
    let err = pieces_both_ways(
        d.path(),
        "reversed",
        &[("day-1.jsonl", c), ("day-2.jsonl", b), ("day-3.jsonl", a)],
        &[],
    );
    assert!(!err.contains(ONE_PASS) && !err.contains(GAVE_UP), "{err}");
}

#[test]
fn repeats_within_the_hour_are_judged_in_the_pass_as_the_sort_judges_them() {
    let d = tempfile::tempdir().expect("tmp");
    // A message written on several lines, cut between two pieces; a conflict and its copy.
    let first = [
        line("2026-03-02T10:00:00Z", Some("a"), 10),
        line("2026-03-02T10:10:00Z", Some("b"), 20),
        line("2026-03-02T10:12:00Z", Some("c"), 30),
    ];
    let second = [
        line("2026-03-02T10:12:00Z", Some("c"), 30),
        line("2026-03-02T10:20:00Z", Some("a"), 11),
        line("2026-03-02T10:30:00Z", Some("d"), 50),
        line("2026-03-02T10:20:00Z", Some("a"), 11),
        line("2026-03-02T10:40:00Z", None, 40),
    ];
    let err = pieces_both_ways(
        d.path(),
        "repeats",
        &[("1.jsonl", &first), ("2.jsonl", &second)],
        &[],
    );
    assert!(err.contains(ONE_PASS) && !err.contains(GAVE_UP), "{err}");
    let s = summary_in(&d.path().join("repeats-one"));
    assert_eq!(u64_at(&s, "input.records"), 5);
    assert_eq!(u64_at(&s, "input.duplicates"), 2);
    assert_eq!(u64_at(&s, "input.conflicts"), 1);
    let q = std::fs::read_to_string(d.path().join("repeats-one/quarantine.jsonl")).expect("q");
    assert!(
        q.contains("conflict: id a has another time or usage than")
            && q.contains(r#""line":2"#)
            && q.contains("prompt_tokens"),
        "{q}"
    );
}

#[test]
fn a_message_logged_as_it_streamed_is_kept_whole_in_the_pass_as_in_the_sort() {
    let d = tempfile::tempdir().expect("tmp");
    let cc = |time: &str, message: u32, output: u32| {
        format!(
            r#"{{"type":"assistant","timestamp":"{time}","requestId":"req_{message}","message":{{"id":"msg_{message}","model":"claude-sonnet-4-5-20250929","usage":{{"input_tokens":10,"cache_read_input_tokens":2000,"output_tokens":{output}}}}}}}"#
        )
    };
    // Two messages streamed side by side (a subagent's beside the main one), each ending
    // with its whole output; the second repeats its last count once.
    let lines = [
        cc("2026-03-02T10:00:00.100Z", 1, 2),
        cc("2026-03-02T10:00:00.900Z", 2, 5),
        cc("2026-03-02T10:00:01.300Z", 1, 2),
        cc("2026-03-02T10:00:04.000Z", 2, 80),
        cc("2026-03-02T10:00:06.500Z", 1, 412),
        cc("2026-03-02T10:00:06.600Z", 2, 80),
    ];
    let err = both_ways(d.path(), "streamed", &lines, &[]);
    assert!(err.contains(ONE_PASS) && !err.contains(GAVE_UP), "{err}");
    let s = summary_in(&d.path().join("streamed-one"));
    assert_eq!(u64_at(&s, "input.records"), 2);
    assert_eq!(u64_at(&s, "input.duplicates"), 4);
    assert_eq!(u64_at(&s, "input.conflicts"), 0);
    assert_eq!(s["actual"]["tokens"]["output"].as_u64(), Some(492));
    // (2 x 10 x 3 + 2 x 2,000 x 0.30 + 492 x 15) / 10^6.
    assert_eq!(str_at(&s, "actual.cost"), "0.00864");
}

#[test]
fn generated_claude_code_logs_streamed_line_by_line_take_one_pass_and_report_the_same() {
    let d = tempfile::tempdir().expect("tmp");
    let text = String::from_utf8(generated("claude-code", 3000, 5)).expect("utf-8");
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    // Some messages stream over three lines, their output growing to the last.
    assert!(lines.iter().any(|l| l.contains(r#"-2","timestamp""#)));
    let err = both_ways(d.path(), "cc", &lines, &[]);
    assert!(err.contains(ONE_PASS) && !err.contains(GAVE_UP), "{err}");
    let s = summary_in(&d.path().join("cc-one"));
    assert_eq!(u64_at(&s, "input.records"), 3000);
    assert_eq!(u64_at(&s, "input.conflicts"), 0);
    assert_eq!(
        u64_at(&s, "input.duplicates"),
        lines.len() as u64 - 2 * 3000
    );
}
