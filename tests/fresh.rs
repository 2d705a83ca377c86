//! Generated files in the repository stay in step with the code: schemas/ with the types,
//! reports/ with what `reprice run` makes from sample_logs/.

mod common;
use common::*;
use std::path::Path;

fn compare_dirs(committed: &Path, fresh: &Path, how_to_fix: &str) {
    let mut stale = Vec::new();
    let list = |d: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .map(|rd| {
                rd.map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    let (a, b) = (list(committed), list(fresh));
    for n in a.iter().chain(b.iter()) {
        let x = std::fs::read(committed.join(n)).ok();
        let y = std::fs::read(fresh.join(n)).ok();
        if x != y && !stale.contains(n) {
            stale.push(n.clone());
        }
    }
    assert!(
        stale.is_empty(),
        "{} is stale ({}): {how_to_fix}",
        committed.display(),
        stale.join(", ")
    );
}

#[test]
fn schemas_are_fresh() {
    let d = tempfile::tempdir().expect("tempdir");
    let o = bin()
        .arg("schema")
        .arg("--out")
        .arg(d.path())
        .output()
        .expect("schema");
    assert!(o.status.success());
    compare_dirs(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas"),
        d.path(),
        "run `cargo run -- schema`",
    );
}

#[test]
fn sample_reports_are_fresh() {
    let d = tempfile::tempdir().expect("tempdir");
    let r = run_to(&d.path().join("reports"), &["--quiet"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    compare_dirs(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("reports"),
        &d.path().join("reports"),
        "run `cargo run --release -- run`",
    );
}
