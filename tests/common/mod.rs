//! Helpers shared by the integration tests: run the real binary, read what it wrote.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_reprice"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub out: PathBuf,
}

impl Run {
    pub fn summary(&self) -> Value {
        summary_in(&self.out)
    }
    pub fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.out.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    }
}

fn finish(o: Output, out: PathBuf) -> Run {
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        out,
    }
}

/// `reprice run <args> --out <out>`.
pub fn run_to(out: &Path, args: &[&str]) -> Run {
    let o = bin()
        .arg("run")
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .expect("binary runs");
    finish(o, out.to_path_buf())
}

/// The value at a dotted path ("input.records", "gaps.0.kind"); numbers index arrays.
pub fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.')
        .fold(v, |cur, part| match part.parse::<usize>() {
            Ok(i) => &cur[i],
            Err(_) => &cur[part],
        })
}

pub fn str_at<'a>(v: &'a Value, path: &str) -> &'a str {
    let cur = at(v, path);
    cur.as_str()
        .unwrap_or_else(|| panic!("{path} is not a string: {cur}"))
}

pub fn u64_at(v: &Value, path: &str) -> u64 {
    let cur = at(v, path);
    cur.as_u64()
        .unwrap_or_else(|| panic!("{path} is not a count: {cur}"))
}

/// The element of the array at `path` whose `field` is `value`.
pub fn row_where<'a>(v: &'a Value, path: &str, field: &str, value: &str) -> &'a Value {
    at(v, path)
        .as_array()
        .unwrap_or_else(|| panic!("{path} is not an array"))
        .iter()
        .find(|r| r[field] == value)
        .unwrap_or_else(|| panic!("no element of {path} has {field} {value}"))
}

pub fn scenario<'a>(v: &'a Value, name: &str) -> &'a Value {
    row_where(v, "scenarios", "name", name)
}

/// input.lines == records + duplicates + quarantined + skipped + out_of_period.
pub fn assert_accounting(s: &Value) {
    let lines = u64_at(s, "input.lines");
    let parts = [
        "records",
        "duplicates",
        "quarantined",
        "skipped",
        "out_of_period",
    ]
    .iter()
    .map(|k| u64_at(s, &format!("input.{k}")))
    .sum::<u64>();
    assert_eq!(lines, parts, "line accounting: {}", s["input"]);
}

/// Every file of two report folders, byte for byte.
pub fn assert_same_reports(a: &Path, b: &Path) {
    let names = |d: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(a), names(b));
    for n in names(a) {
        let x = std::fs::read(a.join(&n)).expect("read");
        let y = std::fs::read(b.join(&n)).expect("read");
        assert!(
            x == y,
            "{n} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

/// `reprice gen --format envelope`: generated envelope lines.
pub fn gen_envelope(records: u64, seed: u64) -> Vec<u8> {
    generated("envelope", records, seed)
}

/// `reprice gen` output of `format`.
pub fn generated(format: &str, records: u64, seed: u64) -> Vec<u8> {
    let o = bin()
        .args([
            "gen",
            "--records",
            &records.to_string(),
            "--seed",
            &seed.to_string(),
            "--format",
            format,
        ])
        .output()
        .expect("gen");
    assert!(o.status.success());
    o.stdout
}

/// `summary.json` of the reports in `out`.
pub fn summary_in(out: &Path) -> Value {
    let text = std::fs::read_to_string(out.join("summary.json")).expect("summary.json written");
    serde_json::from_str(&text).expect("summary.json is JSON")
}

/// `reprice gen --format envelope`: generated envelope lines, one string each.
pub fn gen_lines(records: u64, seed: u64) -> Vec<String> {
    String::from_utf8(gen_envelope(records, seed))
        .expect("utf-8")
        .lines()
        .map(str::to_string)
        .collect()
}
