//! records.parquet reads back (with polars, as DuckDB, pandas or Spark would) with one row per
//! record and money columns that sum exactly to summary.json.
#![cfg(feature = "parquet")]

mod common;
use common::*;
use polars::prelude::*;
use rust_decimal::Decimal;

/// A DECIMAL column's values, None where the column is null.
fn decimals(df: &DataFrame, name: &str) -> Vec<Option<Decimal>> {
    let col = df.column(name).expect(name);
    let dec = col.decimal().expect("decimal column");
    let scale = dec.scale() as u32;
    let phys = dec.physical();
    (0..phys.len())
        .map(|i| phys.get(i).map(|v| Decimal::from_i128_with_scale(v, scale)))
        .collect()
}

fn decimal_sum(df: &DataFrame, name: &str) -> Decimal {
    decimals(df, name)
        .into_iter()
        .flatten()
        .sum::<Decimal>()
        .normalize()
}

#[test]
fn records_parquet_reads_back_with_exact_totals() {
    let d = tempfile::tempdir().expect("tempdir");
    let r = run_to(
        &d.path().join("r"),
        &["tests/fixtures/formats", "--quiet", "--records"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = r.summary();
    let file = std::fs::File::open(d.path().join("r/records.parquet")).expect("parquet");
    let df = ParquetReader::new(file).finish().expect("reads");
    assert_eq!(df.height() as u64, u64_at(&s, "input.records"));
    assert_eq!(
        decimal_sum(&df, "actual_cost").to_string(),
        str_at(&s, "actual.cost")
    );
    for sc in s["scenarios"].as_array().expect("scenarios") {
        let name = sc["name"].as_str().expect("name");
        let variable: Decimal = str_at(sc, "cost").parse::<Decimal>().expect("dec")
            - str_at(sc, "fixed_cost").parse::<Decimal>().expect("dec");
        assert_eq!(
            decimal_sum(&df, &format!("cost_{name}")),
            variable.normalize(),
            "{name}"
        );
    }
    let keys = df.column("key").expect("key");
    let keys = keys.str().expect("utf8");
    let keys: Vec<String> = (0..keys.len())
        .filter_map(|i| keys.get(i))
        .map(str::to_string)
        .collect();
    assert!(
        keys.iter().all(|k| !k.starts_with("sk-")),
        "keys are masked: {keys:?}"
    );
}

/// A record no catalog price and no billed cost covers has no actual cost: null in
/// records.parquet, with the reason beside it, and null under every scenario, where a $0
/// would add up to a total that silently leaves it out.
#[test]
fn an_unpriced_record_costs_null_not_zero() {
    let d = tempfile::tempdir().expect("tempdir");
    let log = d.path().join("api.jsonl");
    std::fs::write(
        &log,
        concat!(
            r#"{"timestamp":"2026-11-30T09:05:00Z","api_key":"sk-live-ops-1","request":{"model":"gpt-5.1"},"status":200,"response":{"model":"gpt-5.1","usage":{"prompt_tokens":1000,"completion_tokens":2000,"total_tokens":3000}},"id":"a2"}"#,
            "\n",
            r#"{"timestamp":"2026-11-30T09:06:00Z","api_key":"sk-live-ops-2","request":{"model":"mystery-model-9"},"status":200,"response":{"usage":{"prompt_tokens":10,"completion_tokens":10}},"id":"a3"}"#,
            "\n",
        ),
    )
    .expect("log");
    let log = log.to_str().expect("utf-8 path");
    let r = run_to(&d.path().join("r"), &[log, "--quiet", "--records"]);
    assert_eq!(r.code, 7, "{}", r.stderr);
    let file = std::fs::File::open(d.path().join("r/records.parquet")).expect("parquet");
    let df = ParquetReader::new(file).finish().expect("reads");
    let text = |name: &str| -> Vec<Option<String>> {
        let c = df.column(name).expect(name);
        let c = c.str().expect("text");
        (0..c.len()).map(|i| c.get(i).map(str::to_string)).collect()
    };
    let money = |name: &str| -> Vec<Option<String>> {
        decimals(&df, name)
            .into_iter()
            .map(|v| v.map(|v| v.normalize().to_string()))
            .collect()
    };
    assert_eq!(text("id"), [Some("a2".to_string()), Some("a3".to_string())]);
    assert_eq!(
        text("unpriced"),
        [None, Some("unknown model mystery-model-9".to_string())]
    );
    assert_eq!(money("actual_cost"), [Some("0.02125".to_string()), None]);
    assert_eq!(money("list_cost"), [Some("0.02125".to_string()), None]);
    assert_eq!(money("cost_batch"), [Some("0.010625".to_string()), None]);
    assert_eq!(money("cost_cheapest")[1], None);
}
