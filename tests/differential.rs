//! Differential test: an independent implementation of the pricing in DuckDB SQL
//! (tests/differential/price.sql, run by tests/differential/run.py with exact DECIMAL arithmetic)
//! must agree with `reprice run` on generated logs, per scenario, day, model and substitute at
//! savings.csv's 6 places, and exactly on summary.json's totals. A second run lays offers from
//! other providers on the catalog (tests/differential/offers.toml) and compares the provider
//! switches (tests/differential/providers.toml), with summary.json's savings per (scenario,
//! model, from provider -> to provider) exactly; plans per seat and quality-limited cheapest run
//! there too, on records bought at other providers' offers.
//!
//! Needs `python3` with the `duckdb` module. Without it the test fails under CI (env var `CI`)
//! and is skipped with a note elsewhere, so a developer without duckdb can still run the suite.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_reprice");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn duckdb_available() -> bool {
    Command::new("python3")
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn generate(dir: &Path, format: &str, records: &str, seed: &str, name: &str) -> PathBuf {
    let out = dir.join(name);
    let status = Command::new(BIN)
        .args([
            "gen",
            "--records",
            records,
            "--seed",
            seed,
            "--format",
            format,
            "--out",
        ])
        .arg(&out)
        .status()
        .expect("run reprice gen");
    assert!(status.success(), "reprice gen --format {format} failed");
    out
}

/// Skips (with a note) where python3 has no duckdb, except under CI, where that fails.
fn duckdb_or_skip(what: &str) -> bool {
    if duckdb_available() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "the differential test needs python3 with duckdb under CI \
         (python3 -m pip install duckdb==1.5.6)"
    );
    eprintln!("note: skipping the DuckDB {what} test: python3 -c 'import duckdb' failed");
    false
}

/// Generated envelope and batch logs priced by `reprice run` and by the SQL, with `overlay`
/// laid on the built-in catalog; the SQL must report full agreement on `totals` scenario
/// totals. Gives reprice's output folder (inside `tmp`).
fn compare(tmp: &Path, overlay: Option<&Path>, scenarios: &Path, totals: usize) -> PathBuf {
    // The generator's Gemini bodies come from Google, its OpenRouter ones carry usage.cost,
    // the rest cannot tell their provider. Batch output is billed at the batch tier, which
    // every scenario treats differently.
    let envelope = generate(tmp, "envelope", "3000", "7", "envelope.jsonl");
    let batch = generate(tmp, "batch", "500", "11", "batch.jsonl");
    let out = tmp.join("out");
    let mut run = Command::new(BIN);
    run.arg("run").arg(&envelope).arg(&batch);
    if let Some(o) = overlay {
        run.args(["--catalog", "builtin", "--catalog"]).arg(o);
    }
    let run = run
        .arg("--scenarios")
        .arg(scenarios)
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .output()
        .expect("run reprice run");
    assert_eq!(
        run.status.code(),
        Some(0),
        "reprice run: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mut diff = Command::new("python3");
    diff.arg(root().join("tests/differential/run.py"))
        .arg("--catalog")
        .arg(root().join("src/catalog/default.toml"));
    if let Some(o) = overlay {
        diff.arg("--catalog-overlay").arg(o);
    }
    let diff = diff
        .arg("--scenarios")
        .arg(scenarios)
        .arg("--envelope")
        .arg(&envelope)
        .arg("--batch")
        .arg(&batch)
        .arg("--reprice-out")
        .arg(&out)
        .output()
        .expect("run tests/differential/run.py");
    let stdout = String::from_utf8_lossy(&diff.stdout);
    assert_eq!(
        diff.status.code(),
        Some(0),
        "DuckDB and reprice disagree:\n{stdout}\n{}",
        String::from_utf8_lossy(&diff.stderr)
    );
    // The record and row counts follow the generator; what must hold is full agreement.
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("duckdb vs reprice: ")
            && last.ends_with(&format!(
                " savings.csv rows, {totals} scenario totals exact; 0 differences"
            )),
        "{stdout}"
    );
    out
}

#[test]
fn duckdb_sql_prices_generated_logs_like_reprice() {
    if !duckdb_or_skip("differential") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    compare(
        tmp.path(),
        None,
        &root().join("benches/e2e-scenarios.toml"),
        20,
    );
}

#[test]
fn duckdb_sql_prices_provider_switches_like_reprice() {
    if !duckdb_or_skip("provider-switch differential") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = compare(
        tmp.path(),
        Some(&root().join("tests/differential/offers.toml")),
        &root().join("tests/differential/providers.toml"),
        10,
    );
    // Every switch scenario moved money, so the comparison is not of empty tables.
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("summary.json")).expect("summary.json"),
    )
    .expect("JSON");
    let switches = summary["providers"]["switches"]
        .as_array()
        .expect("switches");
    for name in [
        "switch",
        "cheapest-provider",
        "cheapest-provider-batch-mornings",
        "azure-two-keys",
        "vertex-batch",
    ] {
        assert!(
            switches.iter().any(|w| w["scenario"] == name),
            "{name} switched nothing"
        );
    }
}
