//! records.parquet: one row per record with its normalized fields, what it cost, and what it
//! would have cost under each scenario. Written in row groups of 65,536 rows. Money columns are
//! DECIMAL(38, 18): one fixed scale, so every row group is written as it comes without a pass
//! over all values first. Every catalog price and billed cost fits it exactly; only quotients
//! such as a partly covered plan day need more, and are rounded half-even there. Pages are
//! Snappy-compressed: what Spark and pyarrow write by default, and several times faster to
//! write than zstd for a file about 1.6 times the size.

use super::{ReportInput, Writer};
use crate::analyze::key_label;
use crate::money::Money;
use chrono::{DateTime, Datelike, Timelike, Utc};
use polars::prelude::*;
use rayon::prelude::*;
use rust_decimal::RoundingStrategy;
use rustc_hash::FxHashMap as HashMap;
use std::fmt::Write as _;
use std::io;
use std::path::Path;

pub struct RecordsParquet;

const ROW_GROUP: usize = 65_536;
const SCALE: u32 = 18;

fn err(e: PolarsError) -> io::Error {
    io::Error::other(e.to_string())
}

/// The value as an integer count of 10^-18, as DECIMAL(38, 18) stores it.
fn scaled(m: Money) -> io::Result<i128> {
    let mut d = m.decimal();
    if d.scale() > SCALE {
        d = d.round_dp_with_strategy(SCALE, RoundingStrategy::MidpointNearestEven);
    }
    i128::from(1u8)
        .checked_mul(d.mantissa())
        .and_then(|v| v.checked_mul(10i128.pow(SCALE - d.scale())))
        .filter(|v| v.unsigned_abs() < 10u128.pow(38))
        .ok_or_else(|| io::Error::other(format!("{} does not fit DECIMAL(38, 18)", m.exact())))
}

fn decimal_column(name: &str, values: impl Iterator<Item = Option<Money>>) -> io::Result<Column> {
    let ints = values
        .map(|v| v.map(scaled).transpose())
        .collect::<io::Result<Vec<Option<i128>>>>()?;
    decimal(Int128Chunked::from_iter_options(
        name.into(),
        ints.into_iter(),
    ))
}

/// A money column without nulls, from values already scaled: taken over without a copy.
fn scaled_column(name: &str, ints: Vec<i128>) -> io::Result<Column> {
    decimal(Int128Chunked::from_vec(name.into(), ints))
}

fn decimal(ca: Int128Chunked) -> io::Result<Column> {
    Ok(ca
        .into_decimal(38, SCALE as usize)
        .map_err(err)?
        .into_series()
        .into_column())
}

/// `DateTime::to_rfc3339` for UTC, written without the formatting machinery: this column is
/// one string per record.
fn rfc3339(t: &DateTime<Utc>, out: &mut String) {
    out.clear();
    if !(0..=9999).contains(&t.year()) || t.nanosecond() >= 1_000_000_000 {
        // Signed years and leap seconds: chrono's own spelling.
        out.push_str(&t.to_rfc3339());
        return;
    }
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let nanos = t.nanosecond();
    if nanos != 0 {
        if nanos % 1_000_000 == 0 {
            let _ = write!(out, ".{:03}", nanos / 1_000_000);
        } else if nanos % 1_000 == 0 {
            let _ = write!(out, ".{:06}", nanos / 1_000);
        } else {
            let _ = write!(out, ".{nanos:09}");
        }
    }
    out.push_str("+00:00");
}

impl Writer for RecordsParquet {
    fn files(&self) -> &'static [&'static str] {
        &["records.parquet"]
    }

    fn write(&self, input: &ReportInput<'_>, dir: &Path) -> io::Result<()> {
        let names = &input.scenarios.key_names;
        // Labels and day texts repeat across records: made once each.
        let mut labels: HashMap<Option<&str>, String> = HashMap::default();
        let mut day_texts: HashMap<chrono::NaiveDate, String> = HashMap::default();
        for (r, p) in input.records.iter().zip(input.priced) {
            let k = r.api_key.as_deref();
            labels.entry(k).or_insert_with(|| key_label(k, names));
            day_texts.entry(p.day).or_insert_with(|| p.day.to_string());
        }
        let mut writer: Option<polars::io::parquet::write::BatchedWriter<std::fs::File>> = None;
        let starts: Vec<usize> = (0..input.records.len()).step_by(ROW_GROUP).collect();
        let starts = if starts.is_empty() { vec![0] } else { starts };
        let texts = Texts {
            labels: &labels,
            days: &day_texts,
        };
        // A few row groups are built side by side and written in order: the file is the same
        // whatever the thread count, and memory holds only those groups.
        for group in starts.chunks(rayon::current_num_threads().max(1)) {
            let frames: Vec<io::Result<DataFrame>> = group
                .par_iter()
                .map(|&start| frame(input, start, &texts))
                .collect();
            for df in frames {
                let df = df?;
                if writer.is_none() {
                    // The schema comes from the first row group; there is always one.
                    let f = std::fs::File::create(dir.join("records.parquet"))?;
                    writer = Some(
                        ParquetWriter::new(f)
                            .with_compression(ParquetCompression::Snappy)
                            .batched(df.schema())
                            .map_err(err)?,
                    );
                }
                if let Some(w) = writer.as_mut() {
                    w.write_batch(&df).map_err(err)?;
                }
            }
        }
        if let Some(w) = writer {
            w.finish().map_err(err)?;
        }
        Ok(())
    }
}

/// Texts that repeat across records, made once per run.
struct Texts<'a> {
    labels: &'a HashMap<Option<&'a str>, String>,
    days: &'a HashMap<chrono::NaiveDate, String>,
}

/// One row group: the records from `start`, at most `ROW_GROUP` of them.
fn frame(input: &ReportInput<'_>, start: usize, texts: &Texts<'_>) -> io::Result<DataFrame> {
    let n_sc = input.scenarios.scenarios.len();
    let (labels, day_texts) = (texts.labels, texts.days);
    let end = (start + ROW_GROUP).min(input.records.len());
    let recs = &input.records[start..end];
    let pr = &input.priced[start..end];
    let mut buf = String::new();
    let catalog_id =
        |p: &crate::reprice::Priced| p.model.map(|m| input.catalog.models()[m].id.as_str());
    let times: Vec<String> = recs
        .iter()
        .map(|r| {
            rfc3339(&r.time, &mut buf);
            buf.clone()
        })
        .collect();
    let mut cols = vec![
        Column::new(
            "id".into(),
            recs.iter().map(|r| r.id.as_deref()).collect::<Vec<_>>(),
        ),
        Column::new(
            "file".into(),
            recs.iter().map(|r| &*r.source.file).collect::<Vec<&str>>(),
        ),
        Column::new(
            "line".into(),
            recs.iter().map(|r| r.source.line).collect::<Vec<_>>(),
        ),
        Column::new("time".into(), times),
        Column::new(
            "day".into(),
            pr.iter()
                .map(|p| day_texts.get(&p.day).map_or("", String::as_str))
                .collect::<Vec<&str>>(),
        ),
        Column::new(
            "key".into(),
            recs.iter()
                .map(|r| labels.get(&r.api_key.as_deref()).map_or("", String::as_str))
                .collect::<Vec<&str>>(),
        ),
        Column::new(
            "provider".into(),
            recs.iter()
                .map(|r| r.provider.as_deref())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "model_logged".into(),
            recs.iter().map(|r| &*r.model).collect::<Vec<_>>(),
        ),
        Column::new(
            "model".into(),
            pr.iter().map(catalog_id).collect::<Vec<_>>(),
        ),
        Column::new(
            "kind".into(),
            recs.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "status".into(),
            recs.iter().map(|r| r.status.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "input_tokens".into(),
            recs.iter().map(|r| r.tokens.input).collect::<Vec<_>>(),
        ),
        Column::new(
            "output_tokens".into(),
            recs.iter().map(|r| r.tokens.output).collect::<Vec<_>>(),
        ),
        Column::new(
            "thinking_tokens".into(),
            recs.iter().map(|r| r.tokens.thinking).collect::<Vec<_>>(),
        ),
        Column::new(
            "cache_read_tokens".into(),
            recs.iter().map(|r| r.tokens.cache_read).collect::<Vec<_>>(),
        ),
        Column::new(
            "cache_write_tokens".into(),
            recs.iter()
                .map(|r| r.tokens.cache_write)
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "images".into(),
            recs.iter().map(|r| r.images).collect::<Vec<_>>(),
        ),
        Column::new(
            "image_size".into(),
            recs.iter()
                .map(|r| r.image_size.map(|s| s.to_string()))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "quality".into(),
            recs.iter()
                .map(|r| r.quality.as_deref())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "batch".into(),
            recs.iter().map(|r| r.batch).collect::<Vec<_>>(),
        ),
    ];
    cols.push(decimal_column(
        "billed_cost",
        recs.iter().map(|r| r.billed_cost),
    )?);
    let actual = pr
        .iter()
        .map(|p| scaled(p.actual))
        .collect::<io::Result<Vec<i128>>>()?;
    cols.push(scaled_column("actual_cost", actual)?);
    cols.push(decimal_column("list_cost", pr.iter().map(|p| p.list))?);
    let mut per_scenario: Vec<Vec<i128>> = vec![Vec::with_capacity(pr.len()); n_sc];
    for p in pr {
        for (col, (cost, _)) in per_scenario.iter_mut().zip(p.each(n_sc)) {
            col.push(scaled(cost)?);
        }
    }
    for (sc, ints) in input.scenarios.scenarios.iter().zip(per_scenario) {
        cols.push(scaled_column(&format!("cost_{}", sc.name), ints)?);
    }
    DataFrame::new(recs.len(), cols).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        ] {
            let t = DateTime::parse_from_rfc3339(text)
                .expect("time")
                .with_timezone(&Utc);
            rfc3339(&t, &mut buf);
            assert_eq!(buf, t.to_rfc3339(), "{text}");
        }
        let t = DateTime::parse_from_rfc3339("2026-03-01T12:34:56.123456Z")
            .expect("time")
            .with_timezone(&Utc);
        rfc3339(&t, &mut buf);
        assert_eq!(buf, "2026-03-01T12:34:56.123456+00:00");
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
}
