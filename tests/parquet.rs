//! records.parquet reads back (with polars, as DuckDB, pandas or Spark would) with one row per
//! record and money columns that sum exactly to summary.json.
#![cfg(feature = "parquet")]

mod common;
use common::*;
use polars::prelude::*;
use rust_decimal::Decimal;

fn decimal_sum(df: &DataFrame, name: &str) -> Decimal {
    let col = df.column(name).expect(name);
    let dec = col.decimal().expect("decimal column");
    let scale = dec.scale() as u32;
    let phys = dec.physical();
    (0..phys.len())
        .filter_map(|i| phys.get(i))
        .map(|v| Decimal::from_i128_with_scale(v, scale))
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
