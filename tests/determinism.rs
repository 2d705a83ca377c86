//! The same input gives byte-identical reports whatever the thread count or the order of files.

mod common;
use common::*;

#[test]
fn thread_count_and_file_order_do_not_change_a_byte() {
    let d = tempfile::tempdir().expect("tempdir");
    let log = d.path().join("gen.jsonl");
    let o = bin()
        .args(["gen", "--records", "3000", "--seed", "42", "--out"])
        .arg(&log)
        .output()
        .expect("gen");
    assert!(o.status.success());
    let g = log.to_str().expect("path");
    let formats = fixture("formats");
    let f = formats.to_str().expect("path");
    let runs = [
        ("t1", vec!["sample_logs", f, g, "--threads", "1"]),
        ("t2", vec!["sample_logs", f, g, "--threads", "2"]),
        ("rev", vec![g, f, "sample_logs", "--threads", "2"]),
    ];
    for (name, args) in &runs {
        let mut a = args.clone();
        a.push("--quiet");
        a.push("--records");
        let r = run_to(&d.path().join(name), &a);
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
    }
    let names = [
        "summary.json",
        "report.md",
        "savings.csv",
        "by_day.csv",
        "waste.csv",
        "records.parquet",
        "run.json",
    ];
    for n in names {
        let base = std::fs::read(d.path().join("t1").join(n)).expect(n);
        for other in ["t2", "rev"] {
            let x = std::fs::read(d.path().join(other).join(n)).expect(n);
            assert!(base == x, "{n} differs between t1 and {other}");
        }
    }
}
