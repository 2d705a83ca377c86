use super::*;
use crate::dedup;
use crate::generate::generate;
use crate::ingest::{Format, Options, parse_bytes};
use crate::reprice::reprice;
use polars::prelude::{ParquetReader, SerReader};
use proptest::prelude::*;

#[test]
fn times_are_written_as_chrono_writes_them() {
    let mut buf = String::new();
    for text in [
        "2026-03-01T00:00:00Z",
        "2026-03-01T12:34:56.100Z",
        "2026-03-01T12:34:56.123456Z",
        "2026-03-01T12:34:56.000000001Z",
        "0099-12-31T23:59:59.5+02:00",
        "2016-12-31T23:59:60.25Z",
        "0000-01-01T00:00:00.000001Z",
        "9999-12-31T23:59:59.999999999Z",
        "1970-01-01T00:00:00.01Z",
    ] {
        let t = DateTime::parse_from_rfc3339(text)
            .expect("time")
            .with_timezone(&Utc);
        buf.clear();
        rfc3339(&t, &mut buf);
        assert_eq!(buf, t.to_rfc3339(), "{text}");
    }
    let t = DateTime::parse_from_rfc3339("2026-03-01T12:34:56.123456Z")
        .expect("time")
        .with_timezone(&Utc);
    rfc3339(&t, &mut buf);
    // Appended to what is there.
    assert_eq!(
        buf,
        "1970-01-01T00:00:00.010+00:002026-03-01T12:34:56.123456+00:00"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2048)))]

    /// Any second from 0000-01-01 to 9999-12-31, with whole seconds, milliseconds,
    /// microseconds or nanoseconds, is written as chrono writes it; so are the years around
    /// that range, which chrono spells itself.
    #[test]
    fn any_time_is_written_as_chrono_writes_it(
        secs in -62_198_755_200i64..=253_433_923_199,
        nanos in prop_oneof![
            Just(0u32),
            (1u32..1_000).prop_map(|n| n * 1_000_000),
            (1u32..1_000_000).prop_map(|n| n * 1_000),
            1u32..1_000_000_000,
        ],
    ) {
        let t = DateTime::from_timestamp(secs, nanos).expect("in chrono's range");
        let mut buf = String::from("x");
        rfc3339(&t, &mut buf);
        prop_assert_eq!(buf, format!("x{}", t.to_rfc3339()));
    }
}

#[test]
fn days_are_dated_as_chrono_dates_them() {
    // Around the epoch, leap days, century years and both ends of the four-digit years.
    for (days, want) in [
        (0, (1970, 1, 1)),
        (-1, (1969, 12, 31)),
        (11_016, (2000, 2, 29)),
        (-25_508, (1900, 3, 1)),
        (20_513, (2026, 3, 1)),
        (-719_528, (0, 1, 1)),
        (2_932_896, (9999, 12, 31)),
    ] {
        assert_eq!(civil_from_days(days), want, "{days}");
    }
}

#[test]
fn money_is_stored_at_scale_18() {
    let m = |s: &str| Money::parse(s).expect("money");
    assert_eq!(scaled(m("0.1344")).expect("fits"), 134_400_000_000_000_000);
    assert_eq!(scaled(m("-2")).expect("fits"), -2_000_000_000_000_000_000);
    // 19 decimals: rounded half-even at the 18th.
    assert_eq!(scaled(m("0.0000000000000000025")).expect("fits"), 2);
    assert_eq!(scaled(m("0.0000000000000000035")).expect("fits"), 4);
    assert!(scaled(m("100000000000000000000")).is_err());
}

/// Records from `reprice gen`, priced, and copied `copies` times with their ids and lines
/// changed: many rows, for the price of pricing a few (pricing in a debug build is slow).
fn priced(n: u64, copies: u64) -> (Vec<UsageRecord>, Vec<Priced>, Catalog, ScenarioSet) {
    let mut bytes = Vec::new();
    generate(&mut bytes, Format::Envelope, n, 7).expect("generate");
    let opts = Options::new(&[]);
    let (_, records, _) = parse_bytes("gen.jsonl", &bytes, &opts);
    let base = dedup::dedup(records).expect("sorts").records;
    let catalog = Catalog::builtin().expect("catalog");
    let set = ScenarioSet::builtin(&catalog).expect("scenarios");
    let base_priced = reprice(&base, &catalog, &set, chrono_tz::Tz::UTC).priced;
    let mut records = Vec::new();
    let mut priced = Vec::new();
    for c in 0..copies {
        for (r, p) in base.iter().zip(&base_priced) {
            let mut r = r.clone();
            r.id = r.id.map(|id| format!("{id}-{c}"));
            r.source.line += c * n;
            records.push(r);
            priced.push(p.clone());
        }
    }
    (records, priced, catalog, set)
}

fn written(
    threads: usize,
    chunk: usize,
    records: &[UsageRecord],
    priced: &[Priced],
    catalog: &Catalog,
    set: &ScenarioSet,
) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("records.parquet");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool");
    pool.install(|| -> io::Result<()> {
        let mut sink = RecordsSink::create(&path, catalog, set)?;
        for (r, p) in records.chunks(chunk).zip(priced.chunks(chunk)) {
            sink.add(r, p)?;
        }
        sink.finish()
    })
    .expect("written");
    std::fs::read(&path).expect("read")
}

#[test]
fn the_file_is_the_same_however_records_are_chunked_and_threaded() {
    let (records, priced, catalog, set) = priced(5_000, 29);
    assert!(records.len() > 2 * ROW_GROUP, "{}", records.len());
    let whole = written(1, records.len(), &records, &priced, &catalog, &set);
    for (threads, chunk) in [(2, 1), (1, 1000), (2, ROW_GROUP + 7), (2, records.len())] {
        let file = written(threads, chunk, &records, &priced, &catalog, &set);
        assert!(
            file == whole,
            "{threads} threads, chunks of {chunk}: {} bytes, not {}",
            file.len(),
            whole.len()
        );
    }
    let mut reader = ParquetReader::new(std::io::Cursor::new(whole));
    let groups: Vec<usize> = reader
        .get_metadata()
        .expect("metadata")
        .row_groups
        .iter()
        .map(|g| g.num_rows())
        .collect();
    assert_eq!(
        groups,
        [
            16_384, 16_384, 16_384, 16_384, 16_384, 16_384, 16_384, 16_384, 15_320
        ]
    );
    let df = reader.finish().expect("reads");
    assert_eq!(df.height(), records.len());
}

#[test]
fn no_records_still_give_the_columns() {
    let catalog = Catalog::builtin().expect("catalog");
    let set = ScenarioSet::builtin(&catalog).expect("scenarios");
    let file = written(2, 1, &[], &[], &catalog, &set);
    let df = ParquetReader::new(std::io::Cursor::new(file))
        .finish()
        .expect("reads");
    assert_eq!(df.height(), 0);
    assert_eq!(df.width(), 27 + set.scenarios.len());
    assert!(df.column("provider_source").is_ok());
    assert!(df.column("priced_at_provider").is_ok());
    assert!(df.column("image_count").is_ok());
    assert!(df.column("cost_batch").is_ok());
}
