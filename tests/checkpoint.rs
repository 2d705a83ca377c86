//! `--state` runs that go on from the last run's analysis: only when every new record is
//! later than, and not a repeat of, those analyzed, and the settings are the same; otherwise
//! every record is analyzed again and the run says why. Either way the reports are byte for
//! byte those of a run over everything.

mod common;
use common::*;
use serde_json::Value;
use std::path::Path;

fn append(path: &Path, lines: &[String]) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open");
    for l in lines {
        writeln!(f, "{l}").expect("write");
    }
}

/// A generated line, changed.
fn edited(line: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut v: Value = serde_json::from_str(line).expect("json");
    edit(&mut v);
    v.to_string()
}

/// A `--state` run into `out`, then a full run into `<out>-full`; the two must be equal.
fn night(d: &Path, out: &str, extra: &[&str]) -> Run {
    let logs = d.join("logs");
    let state = d.join("state");
    let mut args = vec![
        logs.to_str().expect("path"),
        "--state",
        state.to_str().expect("path"),
    ];
    args.extend_from_slice(extra);
    let r = run_to(&d.join(out), &args);
    assert!(r.code == 0 || r.code == 3, "{}", r.stderr);
    let mut full_args = vec![logs.to_str().expect("path")];
    full_args.extend_from_slice(extra);
    let full = run_to(&d.join(format!("{out}-full")), &full_args);
    assert_eq!(full.code, r.code, "{}", full.stderr);
    assert_same_reports(&d.join(out), &d.join(format!("{out}-full")));
    r
}

const AGAIN: &str = "every record is analyzed again";

#[test]
fn a_nightly_run_analyzes_only_later_new_records_and_reports_what_a_full_run_does() {
    let d = tempfile::tempdir().expect("tempdir");
    let d = d.path();
    std::fs::create_dir(d.join("logs")).expect("mkdir");
    let log = d.join("logs/a.jsonl");
    let lines = gen_lines(400, 5);
    let base = lines[..300]
        .iter()
        .position(|l| l.contains("\"id\":\"req-") && l.contains("\"chatcmpl-"))
        .expect("a chat completion among the first lines");

    append(&log, &lines[..300]);
    let r1 = night(d, "n1", &[]);
    assert!(!r1.stderr.contains("carried over"), "{}", r1.stderr);
    let first = u64_at(&r1.summary(), "input.records");

    // New lines, all later: the earlier records' analysis is taken as it was.
    append(&log, &lines[300..]);
    let r2 = night(d, "n2", &[]);
    assert!(
        r2.stderr.contains(&format!(
            "; {first} records carried over from the last run's analysis;"
        )),
        "{}",
        r2.stderr
    );
    assert!(!r2.stderr.contains(AGAIN), "{}", r2.stderr);
    let second = u64_at(&r2.summary(), "input.records");
    assert!(second > first);

    // A new request dated before the last record analyzed: its place in time order is among
    // the earlier records, so they are analyzed again.
    append(
        &log,
        &[edited(&lines[base], |v| {
            v["id"] = "req-late-arrival".into();
            v["response"]["id"] = "chatcmpl-late-arrival".into();
        })],
    );
    let r3 = night(d, "n3", &[]);
    assert!(
        r3.stderr.contains(&format!(
            "a.jsonl:{} is not later than the last record analyzed before: {AGAIN}",
            lines.len() + 1
        )),
        "{}",
        r3.stderr
    );
    assert!(!r3.stderr.contains("carried over"), "{}", r3.stderr);
    assert_eq!(u64_at(&r3.summary(), "input.records"), second + 1);

    // A later line with the id of a record analyzed before: a conflict, judged with it.
    let last = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["timestamp"].as_str().map(str::to_string))
        .filter_map(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
        .max()
        .expect("timestamps");
    let later = (last + chrono::Duration::hours(1)).to_rfc3339();
    append(
        &log,
        &[edited(&lines[base], |v| {
            v["timestamp"] = later.clone().into();
        })],
    );
    let r4 = night(d, "n4", &[]);
    assert!(
        r4.stderr.contains(&format!(
            "a.jsonl:{} may repeat a record analyzed before: {AGAIN}",
            lines.len() + 2
        )),
        "{}",
        r4.stderr
    );
    assert_eq!(
        u64_at(&r4.summary(), "input.conflicts"),
        u64_at(&r3.summary(), "input.conflicts") + 1
    );

    // Other settings: the kept analysis is not theirs.
    let r5 = night(d, "n5", &["--tz", "Europe/Paris"]);
    assert!(
        r5.stderr.contains(&format!(
            "the time zone changed since the last run: {AGAIN}"
        )),
        "{}",
        r5.stderr
    );

    // Nothing new under the same settings: everything is carried over.
    let r6 = night(d, "n6", &["--tz", "Europe/Paris"]);
    assert!(!r6.stderr.contains(AGAIN), "{}", r6.stderr);
    assert!(
        r6.stderr.contains(&format!(
            "; {} records carried over",
            u64_at(&r5.summary(), "input.records")
        )),
        "{}",
        r6.stderr
    );
}

#[test]
fn an_input_gone_or_rewritten_or_read_whole_means_everything_is_analyzed_again() {
    let d = tempfile::tempdir().expect("tempdir");
    let d = d.path();
    std::fs::create_dir(d.join("logs")).expect("mkdir");
    let lines = gen_lines(120, 9);
    append(&d.join("logs/a.jsonl"), &lines[..60]);
    append(&d.join("logs/b.jsonl"), &lines[60..]);
    night(d, "n1", &[]);

    // b.jsonl rewritten with fewer lines.
    std::fs::write(d.join("logs/b.jsonl"), format!("{}\n", lines[60])).expect("write");
    let r2 = night(d, "n2", &[]);
    assert!(
        r2.stderr.contains(&format!(
            "b.jsonl was read again from its first line: {AGAIN}"
        )),
        "{}",
        r2.stderr
    );

    // b.jsonl gone.
    std::fs::remove_file(d.join("logs/b.jsonl")).expect("rm");
    let r3 = night(d, "n3", &[]);
    assert!(
        r3.stderr.contains(&format!(
            "b.jsonl was read last time and is not given now: {AGAIN}"
        )),
        "{}",
        r3.stderr
    );

    // A CSV export is read whole every run, so no analysis is kept while it is an input.
    std::fs::copy(fixture("formats/export.csv"), d.join("logs/c.csv")).expect("copy");
    night(d, "n4", &[]);
    assert!(!d.join("state/checkpoint.bin").exists());
    let r5 = night(d, "n5", &[]);
    assert!(!r5.stderr.contains("carried over"), "{}", r5.stderr);
}

#[test]
fn a_rerun_with_nothing_new_leaves_the_state_as_it_was() {
    let d = tempfile::tempdir().expect("tempdir");
    let d = d.path();
    let log = d.join("logs/a.jsonl");
    std::fs::create_dir_all(log.parent().expect("dir")).expect("mkdir");
    let lines = gen_lines(200, 21);
    append(&log, &lines[..150]);
    // A look at an input is kept only once it last changed 2 s before.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    night(d, "n1", &[]);
    let st = d.join("state");
    let kept = |name: &str| {
        let p = st.join(name);
        (
            std::fs::read(&p).expect("read"),
            std::fs::metadata(&p)
                .expect("meta")
                .modified()
                .expect("mtime"),
        )
    };
    let (ledger, checkpoint) = (kept("ledger.bin"), kept("checkpoint.bin"));
    let r2 = night(d, "n2", &[]);
    assert!(
        r2.stderr.contains("150 records carried over"),
        "{}",
        r2.stderr
    );
    assert_same_reports(&d.join("n1"), &d.join("n2"));
    assert!(kept("ledger.bin") == ledger, "the ledger was rewritten");
    assert!(
        kept("checkpoint.bin") == checkpoint,
        "the checkpoint was rewritten"
    );
    // Something new: the state moves on, and the reports are a full run's.
    append(&log, &lines[150..]);
    let r3 = night(d, "n3", &[]);
    assert!(
        r3.stderr.contains("150 records carried over"),
        "{}",
        r3.stderr
    );
    assert!(kept("ledger.bin").0 != ledger.0);
    let r4 = night(d, "n4", &[]);
    assert!(
        r4.stderr.contains(&format!(
            "{} records carried over",
            u64_at(&r3.summary(), "input.records")
        )),
        "{}",
        r4.stderr
    );
}

#[test]
fn a_message_still_streaming_at_a_nightly_run_is_counted_whole_the_next_night() {
    let d = tempfile::tempdir().expect("tempdir");
    let d = d.path();
    std::fs::create_dir(d.join("logs")).expect("mkdir");
    let log = d.join("logs/session.jsonl");
    let cc = |time: &str, output: u32| {
        format!(
            r#"{{"type":"assistant","timestamp":"{time}","requestId":"req_1","message":{{"id":"msg_1","model":"claude-sonnet-4-5-20250929","usage":{{"input_tokens":10,"output_tokens":{output}}}}}}}"#
        )
    };
    // The run reads the session while Claude Code is still writing the answer.
    append(
        &log,
        &[
            cc("2026-03-02T23:59:58.000Z", 4),
            cc("2026-03-02T23:59:59.000Z", 4),
        ],
    );
    let r1 = night(d, "n1", &[]);
    assert_eq!(r1.summary()["actual"]["tokens"]["output"].as_u64(), Some(4));
    append(&log, &[cc("2026-03-03T00:00:07.000Z", 1200)]);
    let r2 = night(d, "n2", &[]);
    assert!(
        r2.stderr.contains(&format!(
            "session.jsonl:3 may repeat a record analyzed before: {AGAIN}"
        )),
        "{}",
        r2.stderr
    );
    let s = r2.summary();
    assert_eq!(u64_at(&s, "input.records"), 1);
    assert_eq!(u64_at(&s, "input.duplicates"), 2);
    assert_eq!(s["actual"]["tokens"]["output"].as_u64(), Some(1200));
    // 10 x $3 + 1,200 x $15 per million, on the day of the line kept.
    assert_eq!(str_at(&s, "actual.cost"), "0.01803");
    let by_day = r2.file("by_day.csv");
    assert!(by_day.contains("2026-03-03,"), "{by_day}");
    assert!(!by_day.contains("2026-03-02,"), "{by_day}");
}
