//! Snapshots of the reports people and scripts read, on the all-formats fixture.

mod common;
use common::*;

#[test]
fn report_md_and_summary_json() {
    let d = tempfile::tempdir().expect("tempdir");
    let r = run_to(&d.path().join("r"), &["tests/fixtures/formats", "--quiet"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!("report_md", r.file("report.md"));
    insta::assert_snapshot!("summary_json", r.file("summary.json"));
    insta::assert_snapshot!("savings_csv", r.file("savings.csv"));
}
