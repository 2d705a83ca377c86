//! Unattended runs are safe: reprice never touches a file it did not write, never reads its
//! own outputs as input, never reports nothing as success, and never prices usage at a
//! silent $0. Each case runs the real binary in a temporary folder and checks the exact exit
//! code, the stderr line, and that every file that was there before is byte for byte the same.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// 1M input tokens of gpt-5.1: $1.25.
fn line(ts: &str, id: &str) -> String {
    format!(
        r#"{{"timestamp":"{ts}","request":{{"model":"gpt-5.1"}},"response":{{"id":"{id}","usage":{{"prompt_tokens":1000000,"completion_tokens":0}}}}}}"#
    )
}

fn log(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    std::fs::create_dir_all(dir).expect("mkdir");
    let p = dir.join(name);
    std::fs::write(&p, lines.join("\n") + "\n").expect("write");
    p
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).expect("read"));
            }
        }
    }
    out
}

fn run_in(cwd: &Path, args: &[&str]) -> (i32, String) {
    let o = bin()
        .current_dir(cwd)
        .arg("run")
        .args(args)
        .output()
        .expect("runs");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn an_out_folder_with_files_reprice_did_not_write_is_refused_and_left_alone() {
    let d = tempfile::tempdir().expect("tempdir");
    let data = d.path().join("data");
    let exports = data.join("exports");
    log(&exports, "a.jsonl", &[line("2026-03-10T09:00:00Z", "a")]);
    std::fs::write(data.join("budget.xlsx"), b"PK\x03\x04 spreadsheet").expect("write");
    let before = snapshot(d.path());

    let (code, err) = run_in(d.path(), &["data/exports", "--out", "data"]);
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        "reprice: --out data holds files reprice did not write (budget.xlsx, exports/); choose an empty or reprice-owned folder"
    );
    assert_eq!(snapshot(d.path()), before);

    // The input folder as --out: refused, the logs untouched.
    let (code, err) = run_in(d.path(), &["data/exports", "--out", "data/exports"]);
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        "reprice: --out data/exports is the input data/exports; reports would replace the logs: choose a folder outside the inputs"
    );
    assert_eq!(snapshot(d.path()), before);

    // An existing file as --out.
    std::fs::write(d.path().join("costs.csv"), b"day,cost\n").expect("write");
    let before = snapshot(d.path());
    let (code, err) = run_in(d.path(), &["data/exports", "--out", "costs.csv"]);
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        "reprice: --out costs.csv is an existing file; reports go into a folder: choose a new, empty or reprice-owned folder"
    );
    assert_eq!(snapshot(d.path()), before);

    // --state inside --out.
    let (code, err) = run_in(
        d.path(),
        &["data/exports", "--out", "r", "--state", "r/state"],
    );
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        "reprice: --out r and --state r/state overlap; give each its own folder"
    );
    assert!(!d.path().join("r").exists());
}

#[test]
fn a_reprice_folder_is_replaced_file_by_file_and_read_as_input_never() {
    let d = tempfile::tempdir().expect("tempdir");
    log(d.path(), "a.jsonl", &[line("2026-03-10T09:00:00Z", "a")]);
    let (code, err) = run_in(d.path(), &[".", "--out", "reports"]);
    assert_eq!(code, 0, "{err}");
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(d.path().join("reports/run.json")).expect("run.json"),
    )
    .expect("json");
    let outputs: Vec<&str> = manifest["outputs"]
        .as_array()
        .expect("outputs")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(outputs.contains(&"summary.json") && outputs.contains(&"run.json"));
    let first = std::fs::read(d.path().join("reports/summary.json")).expect("summary");

    // The second run walks `.` again: the reports folder is not read as logs.
    let (code, err) = run_in(d.path(), &["."]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("1 lines = 1 records + 0 duplicates + 0 quarantined"),
        "{err}"
    );
    assert!(
        err.contains("; 1 folder of reprice's own reports or state not read;"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(d.path().join("reports/summary.json")).expect("summary"),
        first
    );

    // A reports folder found anywhere under the inputs is left out too, and so is --state.
    let (code, err) = run_in(
        d.path(),
        &[".", "--out", "elsewhere", "--state", "st", "--quiet"],
    );
    assert_eq!(code, 0, "{err}");
    let (code, err) = run_in(d.path(), &[".", "--out", "elsewhere", "--state", "st"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("; 3 folders of reprice's own reports or state not read;"),
        "{err}"
    );
}

#[test]
fn nothing_to_report_exits_8_and_keeps_the_last_reports() {
    let d = tempfile::tempdir().expect("tempdir");
    let logs = d.path().join("logs");
    log(&logs, "a.jsonl", &[line("2026-03-10T09:00:00Z", "a")]);
    let out = d.path().join("out");
    assert_eq!(run_to(&out, &[s(&logs), "--quiet"]).code, 0);
    let kept = snapshot(&out);

    let empty = d.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let r = run_to(&out, &[s(&empty)]);
    assert_eq!(r.code, 8);
    assert_eq!(
        r.stderr.trim(),
        format!(
            "reprice: no input lines: no log file (.jsonl, .ndjson, .json, .log, .csv, .gz) in {}; nothing was published",
            empty.display()
        )
    );
    assert_eq!(snapshot(&out), kept);

    let texts = d.path().join("texts");
    std::fs::create_dir(&texts).expect("mkdir");
    std::fs::write(texts.join("notes.txt"), "hello\n").expect("write");
    let r = run_to(&out, &[s(&texts), "--quiet"]);
    assert_eq!(r.code, 8, "{}", r.stderr);
    assert_eq!(snapshot(&out), kept);

    // A log saved under another extension is named in the reason.
    let saved = d.path().join("saved");
    let export = log(&saved, "export.txt", &[line("2026-03-10T09:00:00Z", "a")]);
    let r = run_to(&out, &[s(&saved), "--quiet"]);
    assert_eq!(r.code, 8, "{}", r.stderr);
    assert_eq!(
        r.stderr.trim(),
        format!(
            "reprice: no input lines: no log file (.jsonl, .ndjson, .json, .log, .csv, .gz) in {}; \
             {} looks like a JSON-lines or gzip log but was not read: in a directory only files \
             ending in .jsonl, .ndjson, .json, .log, .csv or .gz are read; name it on the command \
             line to read it; nothing was published",
            saved.display(),
            export.display()
        )
    );
    assert_eq!(snapshot(&out), kept);

    let r = run_to(&out, &[s(&logs), "--since", "2026-04-01"]);
    assert_eq!(r.code, 8);
    assert_eq!(
        r.stderr.trim(),
        format!(
            "reprice: no record in the period: the 1 record of {} is outside --since/--until; nothing was published",
            logs.display()
        )
    );
    assert_eq!(snapshot(&out), kept);

    let v = bin()
        .args(["validate", s(&empty)])
        .output()
        .expect("validate");
    assert_eq!(v.status.code(), Some(8));
    assert_eq!(
        String::from_utf8_lossy(&v.stderr).lines().last(),
        Some(format!("reprice: no input lines in {}", empty.display()).as_str())
    );
}

/// A walk reads files by their extension; one it passes over that starts as JSON lines or gzip
/// is named in a warning (stderr and summary.json), so a log saved as `.txt` or with no
/// extension is not missing from the figures without a word. Other files pass in silence.
#[test]
fn a_log_under_another_extension_is_named_not_lost() {
    let d = tempfile::tempdir().expect("tempdir");
    let logs = d.path().join("logs");
    log(&logs, "a.jsonl", &[line("2026-03-10T09:00:00Z", "a")]);
    let txt = log(&logs, "export.txt", &[line("2026-03-10T10:00:00Z", "b")]);
    std::fs::write(logs.join("notes.txt"), "month-end notes\n").expect("write");
    std::fs::write(logs.join("photo.png"), b"\x89PNG\r\n\x1a\n").expect("write");
    std::fs::write(logs.join(".hidden"), "{}\n").expect("write");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, line("2026-03-10T11:00:00Z", "c").as_bytes()).expect("gzip");
    let sub = logs.join("sub");
    std::fs::create_dir(&sub).expect("mkdir");
    let gzip = sub.join("export-2026-03-10");
    std::fs::write(&gzip, gz.finish().expect("gzip")).expect("write");
    let out = d.path().join("out");

    let r = run_to(&out, &[s(&logs)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let warning = format!(
        "2 files look like JSON-lines or gzip logs but were not read ({}, {}): in a directory \
         only files ending in .jsonl, .ndjson, .json, .log, .csv or .gz are read; name them on \
         the command line to read them",
        txt.display(),
        gzip.display()
    );
    assert!(
        r.stderr.contains(&format!("reprice: warning: {warning}\n")),
        "{}",
        r.stderr
    );
    let summary = r.summary();
    assert_eq!(summary["warnings"], serde_json::json!([warning]));
    assert_eq!(summary["input"]["records"], 1);

    // Named on the command line, both are read, and nothing is left to name.
    let r = run_to(&out, &[s(&logs), s(&txt), s(&gzip)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("were not read"), "{}", r.stderr);
    let summary = r.summary();
    assert_eq!(summary["warnings"], serde_json::json!([]));
    assert_eq!(summary["input"]["records"], 3);
}

#[test]
fn unpriced_records_are_named_and_exit_7_unless_accepted() {
    let d = tempfile::tempdir().expect("tempdir");
    let mj = |id: &str| {
        format!(
            r#"{{"timestamp":"2026-03-10T10:00:00Z","request":{{"model":"midjourney-v9"}},"response":{{"id":"{id}","usage":{{"prompt_tokens":10,"completion_tokens":0}}}}}}"#
        )
    };
    let logs = d.path().join("logs");
    log(
        &logs,
        "a.jsonl",
        &[
            line("2026-03-10T09:00:00Z", "a"),
            mj("m1"),
            mj("m2"),
            mj("m3"),
        ],
    );
    let out = d.path().join("out");
    let r = run_to(&out, &[s(&logs)]);
    assert_eq!(r.code, 7, "{}", r.stderr);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(
        lines[0],
        "reprice: 3 records of midjourney-v9 (unknown model, no cost in the log) could not be priced; --allow-unpriced accepts them"
    );
    let s1 = r.summary();
    assert_eq!(str_at(&s1, "unpriced.0.model"), "midjourney-v9");
    assert_eq!(
        str_at(&s1, "unpriced.0.reason"),
        "unknown model, no cost in the log"
    );
    assert_eq!(u64_at(&s1, "unpriced.0.records"), 3);
    assert_eq!(str_at(&s1, "actual.cost"), "1.25");
    // The model's and the key's cost leave them out, and say how many they leave out.
    let mj_row = row_where(&s1, "models", "model", "midjourney-v9");
    assert_eq!(str_at(mj_row, "cost"), "0");
    assert_eq!(u64_at(mj_row, "records"), 3);
    assert_eq!(u64_at(mj_row, "unpriced_records"), 3);
    assert_eq!(
        r.file("by_key.csv"),
        "key,records,cost,unpriced_records\n(none),4,1.250000,3\n"
    );
    let md = r.file("report.md");
    let first = md.lines().find(|l| l.starts_with("- ")).expect("a finding");
    assert_eq!(
        first,
        "- 3 of 4 records (75.0%) could not be priced and are in no cost below: 3 of midjourney-v9 (unknown model, no cost in the log)."
    );

    // Quiet, as under cron: the one line stays.
    let q = run_to(&d.path().join("q"), &[s(&logs), "--quiet"]);
    assert_eq!(q.code, 7);
    assert_eq!(q.stderr.lines().count(), 1, "{}", q.stderr);

    let ok = run_to(
        &d.path().join("ok"),
        &[s(&logs), "--allow-unpriced", "--quiet"],
    );
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(ok.stderr.is_empty(), "{}", ok.stderr);
}

#[test]
fn each_error_is_one_clear_line() {
    let d = tempfile::tempdir().expect("tempdir");
    let logs = d.path().join("logs");
    log(&logs, "a.jsonl", &[line("2026-03-10T09:00:00Z", "a")]);

    // A folder no one can create, root included.
    let r = run_to(Path::new("/proc/reprice-test/out"), &[s(&logs)]);
    assert_eq!(r.code, 5);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("reprice: /proc/reprice-test/out: the reports could not be written (cannot create /proc/reprice-test: "),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .trim_end()
            .ends_with("); nothing was published and the previous reports are unchanged"),
        "{}",
        r.stderr
    );

    let r = run_to(&d.path().join("o"), &[s(&logs), "--since", "2026-3-1"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stderr.trim(),
        "reprice: --since 2026-3-1: expected a date as YYYY-MM-DD (for example 2026-03-01)"
    );

    // --strict names the folder that still holds the previous reports.
    let out = d.path().join("st");
    assert_eq!(run_to(&out, &[s(&logs), "--quiet"]).code, 0);
    let kept = snapshot(&out);
    std::fs::write(logs.join("b.jsonl"), "{oops\n").expect("write");
    let r = run_to(&out, &[s(&logs), "--strict"]);
    assert_eq!(r.code, 3);
    assert_eq!(
        r.stderr.lines().last(),
        Some(
            format!(
                "reprice: 1 line quarantined and --strict is set; nothing was published ({} still holds the previous reports; the lines are listed above, or run `reprice validate`)",
                out.display()
            )
            .as_str()
        )
    );
    assert_eq!(snapshot(&out), kept);
}

#[test]
fn help_gives_every_argument_a_description_and_every_command_an_example() {
    for cmd in [
        &["run"][..],
        &["validate"],
        &["catalog"],
        &["catalog", "show"],
        &["catalog", "list"],
        &["schema"],
        &["gen"],
    ] {
        // The short help gives each argument and its description on one line.
        let o = bin().args(cmd).arg("-h").output().expect("help");
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        // clap prints an argument without a description as its name alone on the line.
        let mut in_args = false;
        for l in text.lines() {
            if l.ends_with(':') && !l.starts_with(' ') {
                in_args = l == "Arguments:" || l == "Options:";
                continue;
            }
            if in_args && l.starts_with("  ") && !l.starts_with("        ") {
                let words: Vec<&str> = l.split("  ").filter(|w| !w.trim().is_empty()).collect();
                assert!(words.len() >= 2, "{cmd:?}: no description on '{l}'\n{text}");
            }
        }
        if cmd != ["catalog", "list"] && cmd != ["catalog", "show"] {
            assert!(text.contains("Example"), "{cmd:?} has no example:\n{text}");
        }
    }
}

/// The exit code table is one: `--help`, README and src/error.rs say the same.
#[test]
fn exit_codes_are_one_table() {
    let help = bin().arg("--help").output().expect("help");
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    assert!(help.contains(reprice::error::EXIT_CODES), "{help}");
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README");
    assert!(
        readme.contains(reprice::error::EXIT_CODES),
        "README.md must hold the exit code table of src/error.rs verbatim"
    );
}

#[test]
fn an_overlong_line_is_quarantined_and_skipped_without_holding_it() {
    use std::io::Write;
    let d = tempfile::tempdir().expect("tempdir");
    let logs = d.path().join("logs");
    std::fs::create_dir(&logs).expect("mkdir");
    // 3 MiB of one line between two good ones, gzipped: it expands past the 1 MiB limit.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    writeln!(gz, "{}", line("2026-03-10T09:00:00Z", "a")).expect("gz");
    let long = format!("{{\"timestamp\":\"{}\"}}", "A".repeat(3 << 20));
    writeln!(gz, "{long}").expect("gz");
    writeln!(gz, "{}", line("2026-03-10T10:00:00Z", "b")).expect("gz");
    std::fs::write(logs.join("big.jsonl.gz"), gz.finish().expect("gz")).expect("write");
    let r = run_to(
        &d.path().join("out"),
        &[s(&logs), "--max-line-size", "1M", "--quiet"],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    let s1 = r.summary();
    assert_eq!(u64_at(&s1, "input.lines"), 3);
    assert_eq!(u64_at(&s1, "input.records"), 2);
    assert_eq!(u64_at(&s1, "input.quarantined"), 1);
    assert_eq!(str_at(&s1, "actual.cost"), "2.5");
    let q: serde_json::Value =
        serde_json::from_str(r.file("quarantine.jsonl").lines().next().expect("entry"))
            .expect("json");
    assert_eq!(q["line"], 2);
    assert_eq!(q["byte"], line("2026-03-10T09:00:00Z", "a").len() + 1);
    assert_eq!(
        q["reason"],
        format!(
            "line of {} bytes, longer than the 1 MiB limit: skipped unread past its first 4 KB (--max-line-size raises the limit)",
            long.len()
        )
    );
    assert_eq!(q["raw"].as_str().map(str::len), Some(4096));
    assert!(
        q["raw"]
            .as_str()
            .expect("raw")
            .starts_with("{\"timestamp\":\"AAAA")
    );

    // Under the default limit the same line is just a bad line.
    let r = run_to(&d.path().join("out2"), &[s(&logs), "--quiet"]);
    assert_eq!(r.code, 3);
    assert_eq!(u64_at(&r.summary(), "input.records"), 2);

    // Longer than a read block (8 MiB), in a file of no known format: streamed past too.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&vec![b'A'; 20 << 20]).expect("gz");
    gz.write_all(b"\nnot a log either\n").expect("gz");
    std::fs::write(logs.join("junk.log.gz"), gz.finish().expect("gz")).expect("write");
    let r = run_to(
        &d.path().join("out3"),
        &[s(&logs), "--max-line-size", "1M", "--quiet"],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    let s3 = r.summary();
    assert_eq!(u64_at(&s3, "input.lines"), 5);
    assert_eq!(u64_at(&s3, "input.quarantined"), 3);
    let q = r.file("quarantine.jsonl");
    let junk: Vec<serde_json::Value> = q
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json"))
        .filter(|v| {
            v["file"]
                .as_str()
                .is_some_and(|f| f.ends_with("junk.log.gz"))
        })
        .collect();
    assert_eq!(junk.len(), 2);
    assert_eq!(
        junk[0]["reason"],
        "line of 20971520 bytes, longer than the 1 MiB limit: skipped unread past its first 4 KB (--max-line-size raises the limit)"
    );
    assert_eq!(junk[1]["line"], 2);
    assert_eq!(junk[1]["byte"], 20971521);
    assert_eq!(
        junk[1]["reason"],
        "unrecognized format: neither JSON lines nor a CSV with a header"
    );
}

#[test]
fn kill_during_a_publish_into_a_folder_with_a_foreign_file_loses_nothing() {
    let d = tempfile::tempdir().expect("tempdir");
    let logs = d.path().join("logs");
    log(&logs, "a.jsonl", &[line("2026-03-10T09:00:00Z", "a")]);
    let out = d.path().join("out");
    assert_eq!(run_to(&out, &[s(&logs), "--quiet"]).code, 0);
    let old_summary = std::fs::read(out.join("summary.json")).expect("summary");
    log(&logs, "b.jsonl", &[line("2026-03-11T09:00:00Z", "b")]);

    // The run is checked and reading; meanwhile a user drops a file into --out; the run is
    // killed right after it swapped the new reports in.
    let mut child = bin()
        .args(["run", s(&logs), "--out", s(&out), "--quiet"])
        .env("REPRICE_FAILPOINT", "pause:ingested,retiring")
        .env("REPRICE_FAILPOINT_PAUSE_MS", "1500")
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(500));
    std::fs::write(out.join("notes.txt"), b"my notes").expect("write");
    let status = child.wait().expect("wait");
    assert!(!status.success(), "aborted at retiring");
    let new_summary = std::fs::read(out.join("summary.json")).expect("new reports in place");
    assert_ne!(new_summary, old_summary);

    // The next run finishes the dead run's cleanup first: the file is given back, and then
    // the folder, which now holds a file reprice did not write, is refused.
    let r = run_to(&out, &[s(&logs)]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(
        r.stderr.trim(),
        format!(
            "reprice: --out {} holds files reprice did not write (notes.txt); choose an empty or reprice-owned folder",
            out.display()
        )
    );
    assert_eq!(
        std::fs::read(out.join("notes.txt")).expect("kept"),
        b"my notes"
    );
    assert_eq!(
        std::fs::read(out.join("summary.json")).expect("s"),
        new_summary
    );
    let leftovers: Vec<String> = std::fs::read_dir(d.path())
        .expect("ls")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".out."))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A run that finishes normally gives such a file back the same way.
    std::fs::remove_file(out.join("notes.txt")).expect("rm");
    let child = bin()
        .args(["run", s(&logs), "--out", s(&out), "--quiet"])
        .env("REPRICE_FAILPOINT", "pause:ingested")
        .env("REPRICE_FAILPOINT_PAUSE_MS", "1500")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(500));
    std::fs::write(out.join("late.txt"), b"late").expect("write");
    let o = child.wait_with_output().expect("wait");
    assert_eq!(o.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("late.txt: appeared in --out during the run and was kept"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(std::fs::read(out.join("late.txt")).expect("kept"), b"late");
}

#[test]
fn an_overlong_csv_line_is_cut_out_while_the_rest_of_the_csv_is_read() {
    let d = tempfile::tempdir().expect("tempdir");
    let logs = d.path().join("logs");
    std::fs::create_dir(&logs).expect("mkdir");
    let header = "timestamp,model,input_tokens,output_tokens,cost";
    let row = |ts: &str| format!("{ts},gpt-5.1,1000000,0,");
    let long = format!("2026-03-10T09:30:00Z,{}", "B".repeat(10 << 20));
    let text = format!(
        "{header}\n{}\n{long}\n{}\n",
        row("2026-03-10T09:00:00Z"),
        row("2026-03-10T10:00:00Z")
    );
    std::fs::write(logs.join("export.csv"), &text).expect("write");
    let r = run_to(
        &d.path().join("out"),
        &[s(&logs), "--max-line-size", "1M", "--quiet"],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    let s1 = r.summary();
    assert_eq!(u64_at(&s1, "input.lines"), 4);
    assert_eq!(u64_at(&s1, "input.records"), 2);
    assert_eq!(u64_at(&s1, "input.skipped"), 1);
    assert_eq!(u64_at(&s1, "input.quarantined"), 1);
    assert_eq!(str_at(&s1, "actual.cost"), "2.5");
    let q: serde_json::Value =
        serde_json::from_str(r.file("quarantine.jsonl").lines().next().expect("entry"))
            .expect("json");
    assert_eq!(q["line"], 3);
    assert_eq!(
        q["byte"],
        header.len() + row("2026-03-10T09:00:00Z").len() + 2
    );
    assert_eq!(
        q["reason"],
        format!(
            "line of {} bytes, longer than the 1 MiB limit: skipped unread past its first 4 KB (--max-line-size raises the limit)",
            long.len()
        )
    );
    let manifest: serde_json::Value = serde_json::from_str(&r.file("run.json")).expect("run.json");
    assert_eq!(manifest["inputs"][0]["bytes"], text.len());
}
