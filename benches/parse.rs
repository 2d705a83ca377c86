//! Parsing throughput of every input format, on `reprice gen` output.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use reprice::generate::generate;
use reprice::ingest::csv_export::builtin_mappings;
use reprice::ingest::{Format, Options, parse_bytes};
use std::hint::black_box;

const RECORDS: u64 = 20_000;

fn bench_parse(c: &mut Criterion) {
    let mappings = builtin_mappings();
    let mut group = c.benchmark_group("parse");
    group.sample_size(10);
    for format in [
        Format::Envelope,
        Format::Batch,
        Format::ClaudeCode,
        Format::Csv,
    ] {
        let mut bytes = Vec::new();
        generate(&mut bytes, format, RECORDS, 42).expect("generate");
        // Claude Code needs its `projects/<project>/` path to key records by project.
        let display = match format {
            Format::ClaudeCode => "projects/-home-dev-shop/session.jsonl",
            Format::Csv => "billing-export.csv",
            _ => "bench.jsonl",
        };
        let opts = Options::new(&mappings);
        let (report, _, quarantined) = parse_bytes(display, &bytes, &opts);
        assert!(
            quarantined.is_empty(),
            "{}: generated lines must all parse",
            format.as_str()
        );
        assert!(report.records > 0);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(format.as_str(), |b| {
            b.iter(|| parse_bytes(display, black_box(&bytes), &opts))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_parse);
criterion_main!(benches);
