//! Unattended runs: incremental state, idempotence, atomic publishing, the lock, exit codes,
//! time windows and cron-friendly output.

mod common;
use common::*;
use std::path::Path;
use std::process::Stdio;

fn cut_at_line(bytes: &[u8], lines: usize) -> (Vec<u8>, Vec<u8>) {
    let mut pos = 0;
    for _ in 0..lines {
        pos += bytes[pos..]
            .iter()
            .position(|b| *b == b'\n')
            .expect("enough lines")
            + 1;
    }
    (bytes[..pos].to_vec(), bytes[pos..].to_vec())
}

#[test]
fn nightly_runs_read_only_new_bytes_and_match_a_full_run() {
    let d = tempfile::tempdir().expect("tempdir");
    let logs = d.path().join("logs");
    std::fs::create_dir(&logs).expect("mkdir");
    let state = d.path().join("state");
    let all = gen_envelope(300, 11);
    let (first, rest) = cut_at_line(&all, 200);
    // Night 1: the first 200 lines, the last of them still being written (no newline yet).
    let (settled, partial) = cut_at_line(&first, 199);
    let mut night1 = settled.clone();
    night1.extend_from_slice(&partial[..partial.len() - 1]);
    std::fs::write(logs.join("a.jsonl"), &night1).expect("write");
    std::fs::copy(fixture("formats/nanogpt.jsonl"), logs.join("n.jsonl")).expect("copy");
    let logs_s = logs.to_str().expect("path");
    let st = state.to_str().expect("path");
    let r1 = run_to(&d.path().join("r1"), &[logs_s, "--state", st]);
    assert!(r1.code == 0 || r1.code == 3, "{}", r1.stderr);

    // Night 2: the line is completed, 100 more lines arrive, and a new file.
    let mut night2 = first.clone();
    night2.extend_from_slice(&rest);
    std::fs::write(logs.join("a.jsonl"), &night2).expect("write");
    std::fs::copy(fixture("formats/anthropic.jsonl"), logs.join("b.jsonl")).expect("copy");
    let r2 = run_to(&d.path().join("r2"), &[logs_s, "--state", st]);
    assert_eq!(r2.code, 0, "{}", r2.stderr);
    let total: u64 = ["a.jsonl", "b.jsonl", "n.jsonl"]
        .iter()
        .map(|f| std::fs::metadata(logs.join(f)).expect("meta").len())
        .sum();
    let parsed = (night2.len() - settled.len()) as u64
        + std::fs::metadata(logs.join("b.jsonl")).expect("meta").len();
    assert!(
        r2.stderr
            .contains(&format!("parsed {parsed} of {total} bytes")),
        "{}",
        r2.stderr
    );

    let full = run_to(&d.path().join("full"), &[logs_s]);
    assert_eq!(full.code, 0);
    assert_same_reports(&d.path().join("r2"), &d.path().join("full"));

    // Night 3: nothing new. Nothing is parsed, nothing changes, nothing is counted twice.
    let r3 = run_to(&d.path().join("r3"), &[logs_s, "--state", st]);
    assert!(
        r3.stderr.contains(&format!("parsed 0 of {total} bytes")),
        "{}",
        r3.stderr
    );
    assert_same_reports(&d.path().join("r3"), &d.path().join("full"));
    // The ledger keeps a file of records per input and run that found new lines in it:
    // night 1 wrote a.jsonl's and n.jsonl's, night 2 a.jsonl's new lines and b.jsonl's, and
    // night 3, finding nothing new, wrote none. No earlier file was written again.
    let mut kept: Vec<String> = std::fs::read_dir(&state)
        .expect("state")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("records-"))
        .collect();
    kept.sort();
    assert_eq!(
        kept,
        [
            "records-1-0.bin",
            "records-1-1.bin",
            "records-2-0.bin",
            "records-2-1.bin"
        ]
    );
}

#[test]
fn changed_or_truncated_files_are_read_again_with_a_warning() {
    let d = tempfile::tempdir().expect("tempdir");
    let log = d.path().join("a.jsonl");
    let bytes = gen_envelope(50, 3);
    std::fs::write(&log, &bytes).expect("write");
    let st = d.path().join("state");
    let args = |out: &str| {
        vec![
            log.to_str().expect("p").to_string(),
            "--state".into(),
            st.to_str().expect("p").into(),
            "--out".into(),
            d.path().join(out).to_str().expect("p").into(),
        ]
    };
    let o = bin().arg("run").args(args("r1")).output().expect("run");
    assert_eq!(o.status.code(), Some(0));
    // Truncated to its first 20 lines.
    let (head, _) = cut_at_line(&bytes, 20);
    std::fs::write(&log, &head).expect("write");
    let o = bin().arg("run").args(args("r2")).output().expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("a.jsonl: changed or truncated since the last run; read again in full"),
        "{err}"
    );
    let full = run_to(
        &d.path().join("full"),
        &[log.to_str().expect("p"), "--quiet"],
    );
    assert_eq!(full.code, 0);
    assert_same_reports(&d.path().join("r2"), &d.path().join("full"));
}

#[test]
fn duplicates_across_files_and_runs_count_once_and_conflicts_are_reported() {
    let d = tempfile::tempdir().expect("tempdir");
    let logs = d.path().join("logs");
    std::fs::create_dir(&logs).expect("mkdir");
    std::fs::copy(fixture("formats/nanogpt.jsonl"), logs.join("day1.jsonl")).expect("copy");
    let st = d.path().join("state");
    let r1 = run_to(
        &d.path().join("r1"),
        &[
            logs.to_str().expect("p"),
            "--state",
            st.to_str().expect("p"),
            "--quiet",
        ],
    );
    assert_eq!(r1.code, 0);
    // The next export repeats n-1 unchanged and n-2 with a different cost.
    let text = std::fs::read_to_string(fixture("formats/nanogpt.jsonl")).expect("read");
    std::fs::write(
        logs.join("day2.jsonl"),
        text.replace("\"cost\":\"0.0133\"", "\"cost\":\"0.0150\""),
    )
    .expect("write");
    let r2 = run_to(
        &d.path().join("r2"),
        &[
            logs.to_str().expect("p"),
            "--state",
            st.to_str().expect("p"),
            "--quiet",
        ],
    );
    assert_eq!(r2.code, 3, "a conflict is quarantined");
    let s = r2.summary();
    assert_eq!(
        (
            u64_at(&s, "input.records"),
            u64_at(&s, "input.duplicates"),
            u64_at(&s, "input.conflicts")
        ),
        (2, 1, 1)
    );
    assert_eq!(str_at(&s, "actual.cost"), "0.0266");
    let q = r2.file("quarantine.jsonl");
    assert!(
        q.contains("conflict: id n-2 has another time or usage than "),
        "{q}"
    );
    let entry: serde_json::Value =
        serde_json::from_str(q.lines().next().expect("line")).expect("json");
    assert!(
        entry["raw"]
            .as_str()
            .expect("raw")
            .contains("\"cost\":\"0.0150\""),
        "{entry}"
    );
    assert_accounting(&s);
}

#[test]
fn a_crash_at_any_point_leaves_previous_reports_and_state_and_the_rerun_recovers() {
    for point in ["ingested", "written", "swapping", "retiring", "published"] {
        let d = tempfile::tempdir().expect("tempdir");
        let logs = d.path().join("logs");
        std::fs::create_dir(&logs).expect("mkdir");
        std::fs::write(logs.join("a.jsonl"), gen_envelope(100, 5)).expect("write");
        let out = d.path().join("out");
        let st = d.path().join("state");
        let base = [
            logs.to_str().expect("p"),
            "--state",
            st.to_str().expect("p"),
            "--quiet",
        ];
        assert_eq!(run_to(&out, &base).code, 0);
        let before = std::fs::read(out.join("summary.json")).expect("summary");
        let ledger_before = std::fs::read(st.join("ledger.bin")).expect("ledger");

        std::fs::write(logs.join("b.jsonl"), gen_envelope(60, 6)).expect("write");
        let o = bin()
            .arg("run")
            .args(base)
            .arg("--out")
            .arg(&out)
            .env("REPRICE_FAILPOINT", point)
            .stderr(Stdio::null())
            .output()
            .expect("run");
        assert!(!o.status.success(), "{point}: the process was aborted");
        assert_eq!(
            std::fs::read(st.join("ledger.bin")).expect("ledger"),
            ledger_before,
            "{point}: ledger untouched"
        );
        match point {
            // Swapped in, in one step; the previous set is left aside for the next run to clear.
            "retiring" | "published" => {
                assert_ne!(std::fs::read(out.join("summary.json")).expect("s"), before)
            }
            _ => assert_eq!(
                std::fs::read(out.join("summary.json")).expect("s"),
                before,
                "{point}"
            ),
        }
        let rerun = run_to(
            &out,
            &[
                logs.to_str().expect("p"),
                "--state",
                st.to_str().expect("p"),
            ],
        );
        assert_eq!(rerun.code, 0, "{point}: {}", rerun.stderr);
        let aside: Vec<String> = std::fs::read_dir(d.path())
            .expect("ls")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".out."))
            .collect();
        assert!(aside.is_empty(), "{point}: {aside:?}");
        let full = run_to(
            &d.path().join("full"),
            &[logs.to_str().expect("p"), "--quiet"],
        );
        assert_eq!(full.code, 0);
        assert_same_reports(&out, &d.path().join("full"));
    }
}

#[test]
fn sigkill_at_random_moments_never_leaves_half_written_reports() {
    let d = tempfile::tempdir().expect("tempdir");
    let logs = d.path().join("logs");
    std::fs::create_dir(&logs).expect("mkdir");
    std::fs::write(logs.join("a.jsonl"), gen_envelope(20_000, 9)).expect("write");
    let out = d.path().join("out");
    let st = d.path().join("state");
    let args = [
        logs.to_str().expect("p"),
        "--state",
        st.to_str().expect("p"),
        "--quiet",
    ];
    let full = run_to(
        &d.path().join("full"),
        &[logs.to_str().expect("p"), "--quiet"],
    );
    assert_eq!(full.code, 0);
    for delay_ms in [5u64, 40, 120, 300, 700] {
        let mut child = bin()
            .arg("run")
            .args(args)
            .arg("--out")
            .arg(&out)
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        if out.exists() {
            // Whatever is published is complete: a summary that parses and all the files.
            assert!(
                out.join("summary.json").exists() && out.join("run.json").exists(),
                "after {delay_ms} ms"
            );
            let _: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(out.join("summary.json")).expect("s"),
            )
            .expect("whole JSON");
        }
    }
    let rerun = run_to(&out, &args);
    assert_eq!(rerun.code, 0);
    assert_same_reports(&out, &d.path().join("full"));
}

#[test]
fn two_runs_at_once_the_second_stops_with_a_clear_message() {
    let d = tempfile::tempdir().expect("tempdir");
    let log = fixture("formats/gemini.jsonl");
    let st = d.path().join("state");
    let mut first = bin()
        .args([
            "run",
            log.to_str().expect("p"),
            "--quiet",
            "--state",
            st.to_str().expect("p"),
            "--out",
        ])
        .arg(d.path().join("a"))
        .env("REPRICE_FAILPOINT", "pause:ingested")
        .env("REPRICE_FAILPOINT_PAUSE_MS", "4000")
        .spawn()
        .expect("spawn");
    let lock = st.join("lock");
    for _ in 0..200 {
        if std::fs::read_to_string(&lock).is_ok_and(|t| !t.trim().is_empty()) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let second = run_to(
        &d.path().join("b"),
        &[log.to_str().expect("p"), "--state", st.to_str().expect("p")],
    );
    assert_eq!(second.code, 6);
    assert!(
        second.stderr.contains(&format!(
            "another run (pid {}) holds the lock {}; nothing was published",
            first.id(),
            lock.display(),
        )),
        "{}",
        second.stderr
    );
    assert!(!d.path().join("b").exists(), "the second run wrote nothing");
    assert_eq!(first.wait().expect("wait").code(), Some(0));
    // The lock is the kernel's: the file stays, and the next run takes it.
    let third = run_to(
        &d.path().join("c"),
        &[
            log.to_str().expect("p"),
            "--state",
            st.to_str().expect("p"),
            "--quiet",
        ],
    );
    assert_eq!(third.code, 0, "{}", third.stderr);
}

#[test]
fn strict_fails_before_publishing_and_exit_codes_are_documented() {
    let d = tempfile::tempdir().expect("tempdir");
    let log = d.path().join("x.jsonl");
    let good = std::fs::read_to_string(fixture("formats/gemini.jsonl")).expect("read");
    std::fs::write(&log, format!("{good}{{\"timestamp\": oops}}\n")).expect("write");
    let lax = run_to(
        &d.path().join("lax"),
        &[log.to_str().expect("p"), "--quiet"],
    );
    assert_eq!(lax.code, 3);
    let q = lax.file("quarantine.jsonl");
    let entry: serde_json::Value =
        serde_json::from_str(q.lines().next().expect("one line")).expect("json");
    assert_eq!(entry["line"], 3);
    assert_eq!(entry["byte"], good.len());
    assert_eq!(entry["reason"], "invalid JSON at column 15: expected value");
    assert_eq!(entry["raw"], "{\"timestamp\": oops}");

    let strict = run_to(
        &d.path().join("strict"),
        &[log.to_str().expect("p"), "--strict"],
    );
    assert_eq!(strict.code, 3);
    assert!(
        strict
            .stderr
            .contains(":3: invalid JSON at column 15: expected value"),
        "{}",
        strict.stderr
    );
    assert!(!d.path().join("strict").exists(), "nothing published");

    let bad_tz = run_to(
        &d.path().join("tz"),
        &[log.to_str().expect("p"), "--tz", "Mars/Olympus"],
    );
    assert_eq!(bad_tz.code, 1);
    assert!(
        bad_tz
            .stderr
            .contains("--tz Mars/Olympus: not an IANA time zone name")
    );
    assert!(!d.path().join("tz").exists());
    let missing = run_to(&d.path().join("m"), &["/nonexistent/logs"]);
    assert_eq!(missing.code, 2);
    assert_eq!(
        missing.stderr.trim(),
        "reprice: /nonexistent/logs: no such file or directory"
    );

    let help = bin().args(["run", "--help"]).output().expect("help");
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("Exit codes: published 0 ok, 3 lines quarantined, 4 budget or cap exceeded, 7 records not priced"), "{help}");
    let top = bin().arg("--help").output().expect("help");
    assert!(
        String::from_utf8_lossy(&top.stdout)
            .contains("4  a budget or daily cap was exceeded on the latest day")
    );
}

#[test]
fn day_boundaries_count_each_record_once_and_naive_times_are_utc() {
    let d = tempfile::tempdir().expect("tempdir");
    let log = d.path().join("t.jsonl");
    // 23:00 UTC on March 9 is midnight in Berlin: the first instant of March 10 there.
    let line = |ts: &str, id: &str| {
        format!(
            r#"{{"timestamp":"{ts}","request":{{"model":"gpt-5.1"}},"response":{{"id":"{id}","usage":{{"prompt_tokens":1000000,"completion_tokens":0}}}}}}"#
        )
    };
    std::fs::write(
        &log,
        [
            line("2026-03-09T22:59:59Z", "a"),
            line("2026-03-09T23:00:00Z", "b"),
            line("2026-03-10 12:00:00", "c"),
        ]
        .join("\n"),
    )
    .expect("write");
    let l = log.to_str().expect("p");
    let run = |name: &str, extra: &[&str]| {
        let mut a = vec![l, "--tz", "Europe/Berlin", "--quiet"];
        a.extend_from_slice(extra);
        run_to(&d.path().join(name), &a).summary()
    };
    let before = run("before", &["--until", "2026-03-09"]);
    let after = run("after", &["--since", "2026-03-10"]);
    let all = run("all", &[]);
    assert_eq!(u64_at(&before, "input.records"), 1);
    assert_eq!(u64_at(&after, "input.records"), 2);
    assert_eq!(u64_at(&all, "input.records"), 3);
    // 1M input tokens of gpt-5.1 = $1.25 each.
    assert_eq!(str_at(&before, "actual.cost"), "1.25");
    assert_eq!(str_at(&after, "actual.cost"), "2.5");
    assert_eq!(u64_at(&all, "input.assumed_utc"), 1);
    assert_eq!(
        str_at(&all, "warnings.0"),
        "1 record had a timestamp without an offset and was read as UTC"
    );
}

#[test]
fn cron_output_is_one_plain_line_and_quiet_is_silent() {
    let d = tempfile::tempdir().expect("tempdir");
    let log = fixture("formats/gemini.jsonl");
    let r = run_to(&d.path().join("r"), &[log.to_str().expect("p")]);
    assert_eq!(r.code, 0);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", r.stderr);
    assert!(lines[0].starts_with("reprice: 2 lines = 2 records + 0 duplicates + 0 quarantined + 0 skipped + 0 out of period; parsed "));
    assert!(
        !r.stderr.contains('\u{1b}'),
        "no colors or progress bar when not on a terminal"
    );
    assert!(r.stdout.is_empty());
    let q = run_to(&d.path().join("q"), &[log.to_str().expect("p"), "--quiet"]);
    assert!(q.stderr.is_empty() && q.stdout.is_empty());
    let manifest: serde_json::Value = serde_json::from_str(&q.file("run.json")).expect("run.json");
    assert_eq!(
        manifest["inputs"][0]["blake3"].as_str().map(str::len),
        Some(64)
    );
    assert_eq!(manifest["catalog"][0]["source"], "built-in");
    assert_eq!(manifest["counts"]["records"], 2);
    assert_eq!(manifest["reprice_version"], env!("CARGO_PKG_VERSION"));
}

/// run.json's `blake3` of each input, by path.
fn input_hashes(r: &Run) -> Vec<(String, String)> {
    let manifest: serde_json::Value = serde_json::from_str(&r.file("run.json")).expect("run.json");
    manifest["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|i| {
            (
                str_at(i, "path").to_string(),
                str_at(i, "blake3").to_string(),
            )
        })
        .collect()
}

#[test]
fn run_json_gives_the_blake3_of_each_file_as_b3sum_would() {
    let d = tempfile::tempdir().expect("tempdir");
    let logs = d.path().join("logs");
    std::fs::create_dir(&logs).expect("mkdir");
    let plain = logs.join("a.jsonl");
    let gz = logs.join("b.jsonl.gz");
    std::fs::copy(fixture("formats/gemini.jsonl"), &plain).expect("copy");
    std::fs::copy(fixture("formats/nanogpt-copy.jsonl.gz"), &gz).expect("copy");
    // What `b3sum FILE` prints: the hash of the bytes on disk, compressed for gzip.
    let b3 = |p: &Path| {
        blake3::hash(&std::fs::read(p).expect("read"))
            .to_hex()
            .to_string()
    };
    let expected = vec![
        (plain.display().to_string(), b3(&plain)),
        (gz.display().to_string(), b3(&gz)),
    ];
    // Not the hash of the text decompressed from it.
    let text = std::fs::read(fixture("formats/nanogpt.jsonl")).expect("read");
    assert_ne!(expected[1].1, blake3::hash(&text).to_hex().to_string());
    let logs_s = logs.to_str().expect("path");
    let full = run_to(&d.path().join("full"), &[logs_s, "--quiet"]);
    assert_eq!(full.code, 0, "{}", full.stderr);
    assert_eq!(input_hashes(&full), expected);

    // A --state run that resumes each file after the bytes it read before hashes the same.
    let st = d.path().join("state");
    let st = st.to_str().expect("path");
    let n1 = run_to(&d.path().join("n1"), &[logs_s, "--state", st, "--quiet"]);
    assert_eq!(n1.code, 0, "{}", n1.stderr);
    let mut more = std::fs::read(&plain).expect("read");
    more.extend_from_slice(&std::fs::read(fixture("formats/anthropic.jsonl")).expect("read"));
    std::fs::write(&plain, &more).expect("write");
    let n2 = run_to(&d.path().join("n2"), &[logs_s, "--state", st]);
    assert_eq!(n2.code, 0, "{}", n2.stderr);
    // Only the lines added to a.jsonl are parsed.
    let added = std::fs::metadata(fixture("formats/anthropic.jsonl"))
        .expect("meta")
        .len();
    assert!(
        n2.stderr.contains(&format!("parsed {added} of ")),
        "{}",
        n2.stderr
    );
    assert_eq!(
        input_hashes(&n2)[0],
        (plain.display().to_string(), b3(&plain))
    );
    assert_eq!(input_hashes(&n2)[1], expected[1]);
}

/// A state folder after one run over a fixture: the log and the folder.
fn state_after_one_run(d: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let log = fixture("formats/gemini.jsonl");
    let state = d.join("state");
    let args = [
        log.to_str().expect("path"),
        "--state",
        state.to_str().expect("path"),
        "--quiet",
    ];
    let r1 = run_to(&d.join("r1"), &args);
    assert_eq!(r1.code, 0, "{}", r1.stderr);
    (log, state)
}

/// Runs again over `log` with `state`, and checks that the run said `ledger` could not be used
/// and read the log in full, to the same reports as the first run.
fn read_again_in_full(d: &std::path::Path, log: &std::path::Path, ledger: &std::path::Path) {
    let state = ledger.parent().expect("state");
    let args = [
        log.to_str().expect("path"),
        "--state",
        state.to_str().expect("path"),
    ];
    let r2 = run_to(&d.join("r2"), &args);
    assert_eq!(r2.code, 0, "{}", r2.stderr);
    let warning = format!(
        "{}: unreadable or from another version; every input is read again",
        ledger.display()
    );
    assert!(r2.stderr.contains(&warning), "{}", r2.stderr);
    let size = std::fs::metadata(log).expect("meta").len();
    assert!(
        r2.stderr
            .contains(&format!("parsed {size} of {size} bytes")),
        "{}",
        r2.stderr
    );
    assert_same_reports(&d.join("r1"), &d.join("r2"));
}

#[test]
fn a_ledger_of_an_earlier_version_is_read_again_in_full_and_replaced() {
    let d = tempfile::tempdir().expect("tempdir");
    let (log, state) = state_after_one_run(d.path());
    // The folder as version 4 left it: a JSON ledger, and no binary one.
    std::fs::remove_file(state.join("ledger.bin")).expect("remove");
    let old = r#"{"version":4,"generation":1,"files":{}}"#;
    std::fs::write(state.join("ledger.json"), old).expect("write");
    read_again_in_full(d.path(), &log, &state.join("ledger.json"));
    assert!(
        !state.join("ledger.json").exists(),
        "the old ledger is removed"
    );
    assert!(state.join("ledger.bin").exists());
}

#[test]
fn a_damaged_ledger_is_not_trusted_and_every_input_is_read_again() {
    let d = tempfile::tempdir().expect("tempdir");
    let (log, state) = state_after_one_run(d.path());
    let ledger = state.join("ledger.bin");
    let mut bytes = std::fs::read(&ledger).expect("ledger");
    // One bit of an offset or a count, flipped on disk.
    let at = bytes.len() / 2;
    bytes[at] ^= 0x04;
    std::fs::write(&ledger, &bytes).expect("write");
    read_again_in_full(d.path(), &log, &ledger);
}
