//! Sorting, re-pricing and aggregation throughput, in records, with the built-in catalog and
//! scenarios; re-pricing also with the 20 scenarios of the end-to-end benchmark.

use chrono_tz::Tz;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use reprice::analyze::{Context, InputCounts, analyze};
use reprice::catalog::Catalog;
use reprice::dedup;
use reprice::generate::generate;
use reprice::ingest::{Format, Options, parse_bytes};
use reprice::record::UsageRecord;
use reprice::reprice::reprice;
use reprice::scenario::ScenarioSet;
use reprice::spill::Spill;
use std::hint::black_box;

const RECORDS: u64 = 50_000;

fn records() -> Vec<UsageRecord> {
    let mut bytes = Vec::new();
    generate(&mut bytes, Format::Envelope, RECORDS, 42).expect("generate");
    let opts = Options::new(&[]);
    let (_, records, _) = parse_bytes("bench.jsonl", &bytes, &opts);
    // The engine expects deduplicated records in canonical order, as `reprice run` gives it.
    dedup::dedup(records).expect("sorts").records
}

fn bench_reprice(c: &mut Criterion) {
    let catalog = Catalog::builtin().expect("catalog");
    let set = ScenarioSet::builtin(&catalog).expect("scenarios");
    let recs = records();
    let mut group = c.benchmark_group("reprice");
    group.sample_size(10);
    group.throughput(Throughput::Elements(recs.len() as u64));
    group.bench_function("builtin-scenarios", |b| {
        b.iter(|| reprice(black_box(&recs), &catalog, &set, Tz::UTC))
    });
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/e2e-scenarios.toml");
    let e2e = ScenarioSet::load(&path, &catalog).expect("e2e scenarios");
    group.bench_function("e2e-20-scenarios", |b| {
        b.iter(|| reprice(black_box(&recs), &catalog, &e2e, Tz::UTC))
    });
    group.finish();
}

fn bench_analyze(c: &mut Criterion) {
    let catalog = Catalog::builtin().expect("catalog");
    let set = ScenarioSet::builtin(&catalog).expect("scenarios");
    let recs = records();
    let priced = reprice(&recs, &catalog, &set, Tz::UTC);
    let mut group = c.benchmark_group("analyze");
    group.sample_size(10);
    group.throughput(Throughput::Elements(recs.len() as u64));
    group.bench_function("builtin-scenarios", |b| {
        b.iter(|| {
            analyze(
                black_box(&recs),
                &priced,
                Context {
                    catalog: &catalog,
                    set: &set,
                    tz_name: "UTC",
                    since: None,
                    until: None,
                    input: InputCounts::default(),
                    warnings: Vec::new(),
                },
            )
        })
    });
    group.finish();
}

/// Deduplication and canonical order through sorted runs: all in memory, and with every run in
/// a temporary file.
fn bench_sort(c: &mut Criterion) {
    let recs = records();
    let mut group = c.benchmark_group("sort");
    group.sample_size(10);
    group.throughput(Throughput::Elements(recs.len() as u64));
    for (name, budget) in [("in-memory", usize::MAX), ("in-files", 0)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let spill = Spill::with_limits(budget, 16_384);
                spill.push(black_box(recs.clone())).expect("push");
                let mut n = 0usize;
                for r in spill.finish().expect("finish") {
                    black_box(r.expect("record"));
                    n += 1;
                }
                n
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_sort, bench_reprice, bench_analyze);
criterion_main!(benches);
