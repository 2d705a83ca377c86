//! Faults around a run: a full disk, an output folder that cannot be written, an input that
//! disappears mid-run. Each ends with a clear message, and the previous reports and state are
//! left as they were.

mod common;
use common::*;
use std::process::Stdio;

fn previous_run(d: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, Vec<u8>, Vec<u8>) {
    let out = d.join("out");
    let st = d.join("state");
    let log = fixture("formats/gemini.jsonl");
    let r = run_to(
        &out,
        &[
            log.to_str().expect("p"),
            "--state",
            st.to_str().expect("p"),
            "--quiet",
        ],
    );
    assert_eq!(r.code, 0);
    let summary = std::fs::read(out.join("summary.json")).expect("summary");
    let ledger = std::fs::read(st.join("ledger.bin")).expect("ledger");
    (out, st, summary, ledger)
}

fn untouched(out: &std::path::Path, st: &std::path::Path, summary: &[u8], ledger: &[u8]) {
    assert_eq!(
        std::fs::read(out.join("summary.json")).expect("summary"),
        summary
    );
    assert_eq!(
        std::fs::read(st.join("ledger.bin")).expect("ledger"),
        ledger
    );
    // The lock went with the process: a new run takes it at once.
    let f = std::fs::File::open(st.join("lock")).expect("lock file");
    f.try_lock()
        .expect("the lock is released after a clean failure");
}

#[test]
fn a_full_disk_fails_with_exit_5_and_keeps_the_previous_reports() {
    let d = tempfile::tempdir().expect("tempdir");
    let (out, st, summary, ledger) = previous_run(d.path());
    let more = fixture("formats/anthropic.jsonl");
    let r = bin()
        .args([
            "run",
            fixture("formats/gemini.jsonl").to_str().expect("p"),
            more.to_str().expect("p"),
        ])
        .args(["--state", st.to_str().expect("p"), "--quiet", "--out"])
        .arg(&out)
        .env("REPRICE_FAILPOINT", "enospc")
        .output()
        .expect("run");
    assert_eq!(r.status.code(), Some(5));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("the reports could not be written (No space left on device (os error 28)); nothing was published and the previous reports are unchanged"),
        "{err}"
    );
    untouched(&out, &st, &summary, &ledger);
    // No temporary folder is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(d.path())
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".out."))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn a_real_small_file_system_fills_up_when_one_can_be_mounted() {
    // A 96 KiB tmpfs holds the old reports but not the new ones. Mounting needs privileges
    // a sandbox may not grant; then the injected error above stands in for it.
    let d = tempfile::tempdir().expect("tempdir");
    let mnt = d.path().join("small");
    std::fs::create_dir(&mnt).expect("mkdir");
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=96k", "tmpfs"])
        .arg(&mnt)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("note: cannot mount a tmpfs here; the injected-ENOSPC test covers this case");
        return;
    }
    let out = mnt.join("out");
    let small = run_to(
        &out,
        &[
            fixture("formats/gemini.jsonl").to_str().expect("p"),
            "--quiet",
        ],
    );
    let before = std::fs::read(out.join("summary.json"));
    let big = d.path().join("big.jsonl");
    let o = bin()
        .args(["gen", "--records", "3000", "--seed", "1", "--out"])
        .arg(&big)
        .output()
        .expect("gen");
    assert!(o.status.success());
    let r = run_to(&out, &[big.to_str().expect("p"), "--quiet"]);
    let _ = std::process::Command::new("umount").arg(&mnt).status();
    assert_eq!(small.code, 0);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stderr.contains("No space left on device"), "{}", r.stderr);
    assert!(before.is_ok());
}

#[test]
fn an_unwritable_output_folder_is_a_clear_error() {
    let d = tempfile::tempdir().expect("tempdir");
    let file = d.path().join("a-file");
    std::fs::write(&file, "x").expect("write");
    // A folder inside a regular file cannot be made, whoever runs the test (root included).
    let out = file.join("reports");
    let r = run_to(
        &out,
        &[
            fixture("formats/gemini.jsonl").to_str().expect("p"),
            "--quiet",
        ],
    );
    assert_eq!(r.code, 5);
    assert!(
        r.stderr.starts_with(&format!(
            "reprice: {}: {} is not a folder",
            out.display(),
            file.display()
        )),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("not a folder, so the reports cannot be written under it"),
        "{}",
        r.stderr
    );
}

#[test]
fn an_input_that_disappears_mid_run_stops_the_run_before_anything_is_published() {
    let d = tempfile::tempdir().expect("tempdir");
    let (out, st, summary, ledger) = previous_run(d.path());
    let doomed = d.path().join("doomed.jsonl");
    std::fs::copy(fixture("formats/anthropic.jsonl"), &doomed).expect("copy");
    let child = bin()
        .args([
            "run",
            fixture("formats/gemini.jsonl").to_str().expect("p"),
            doomed.to_str().expect("p"),
        ])
        .args(["--state", st.to_str().expect("p"), "--quiet", "--out"])
        .arg(&out)
        .env("REPRICE_FAILPOINT", "pause:expanded")
        .env("REPRICE_FAILPOINT_PAUSE_MS", "1500")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(std::time::Duration::from_millis(500));
    std::fs::remove_file(&doomed).expect("remove");
    let o = child.wait_with_output().expect("wait");
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim(),
        format!("reprice: {}: no such file or directory", doomed.display())
    );
    untouched(&out, &st, &summary, &ledger);
}
