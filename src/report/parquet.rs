//! records.parquet: one row per record with its normalized fields, what it cost, and what it
//! would have cost under each scenario. Written in row groups of 32,768 rows. Money columns are
//! DECIMAL(38, 18): one fixed scale, so every row group is written as it comes without a pass
//! over all values first. Every catalog price and billed cost fits it exactly; only quotients
//! such as a partly covered plan day need more, and are rounded half-even there. Pages are
//! Snappy-compressed: what Spark and pyarrow write by default, and several times faster to
//! write than zstd for a file about 1.6 times the size.

mod rows;

use crate::catalog::Catalog;
use crate::money::Money;
use crate::record::UsageRecord;
use crate::reprice::Priced;
use crate::scenario::ScenarioSet;
use chrono::{DateTime, Datelike, Timelike, Utc};
use polars::io::parquet::write::BatchedWriter;
use polars::prelude::*;
use rows::{Context, Rows, Texts};
use rust_decimal::RoundingStrategy;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

const ROW_GROUP: usize = 32_768;
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

/// `DateTime::to_rfc3339` for UTC, appended to `out` without the formatting machinery: this
/// column is one string per record.
fn rfc3339(t: &DateTime<Utc>, out: &mut String) {
    if !(0..=9999).contains(&t.year()) || t.nanosecond() >= 1_000_000_000 {
        // Signed years and leap seconds: chrono's own spelling.
        out.push_str(&t.to_rfc3339());
        return;
    }
    // The range check above makes the year a four-digit u32.
    padded(out, t.year().unsigned_abs(), 4);
    for (sep, n) in [
        ('-', t.month()),
        ('-', t.day()),
        ('T', t.hour()),
        (':', t.minute()),
        (':', t.second()),
    ] {
        out.push(sep);
        padded(out, n, 2);
    }
    let nanos = t.nanosecond();
    if nanos != 0 {
        out.push('.');
        if nanos % 1_000_000 == 0 {
            padded(out, nanos / 1_000_000, 3);
        } else if nanos % 1_000 == 0 {
            padded(out, nanos / 1_000, 6);
        } else {
            padded(out, nanos, 9);
        }
    }
    out.push_str("+00:00");
}

/// `n` in decimal, zero-padded to `width` digits.
fn padded(out: &mut String, mut n: u32, width: usize) {
    let mut digits = [b'0'; 10];
    let mut at = digits.len();
    while n > 0 {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let start = at.min(digits.len().saturating_sub(width));
    out.extend(digits[start..].iter().map(|&d| char::from(d)));
}

/// records.parquet written as priced chunks of records arrive, in order. Rows are copied out
/// of each chunk into compact columns until there are enough for a row group, which is then
/// built and written. Row groups are cut every 32,768 rows of the whole sequence, so the file
/// is the same however the records are chunked and whatever the thread count. One row group
/// at a time keeps memory to that group: a run streams the next records while it is built.
pub struct RecordsSink<'a> {
    path: PathBuf,
    catalog: &'a Catalog,
    set: &'a ScenarioSet,
    /// Created with the file when the first row group is ready.
    writer: Option<BatchedWriter<File>>,
    rows: Rows,
    texts: Texts,
}

impl<'a> RecordsSink<'a> {
    /// A sink for `path`, which is created when the first row group is written (by `finish`
    /// at the latest): a run that fails before that leaves no file behind.
    pub fn create(
        path: &Path,
        catalog: &'a Catalog,
        set: &'a ScenarioSet,
    ) -> io::Result<RecordsSink<'a>> {
        Ok(RecordsSink {
            path: path.to_path_buf(),
            catalog,
            set,
            writer: None,
            rows: Rows::new(set.scenarios.len()),
            texts: Texts::default(),
        })
    }

    /// Takes the next records and their prices; keeps nothing borrowed from them.
    pub fn add(&mut self, records: &[UsageRecord], priced: &[Priced]) -> io::Result<()> {
        if records.len() != priced.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} records but {} priced", records.len(), priced.len()),
            ));
        }
        let mut at = 0;
        while at < records.len() {
            let take = (ROW_GROUP - self.rows.len()).min(records.len() - at);
            let (recs, pr) = (&records[at..at + take], &priced[at..at + take]);
            self.rows
                .push(recs, pr, &mut self.texts, &self.set.key_names);
            at += take;
            if self.rows.len() == ROW_GROUP {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Writes the rows left and the footer. Without any record, the file still has the
    /// columns: the schema of an empty row group.
    pub fn finish(mut self) -> io::Result<()> {
        if !self.rows.is_empty() || self.writer.is_none() {
            self.flush()?;
        }
        if let Some(w) = self.writer {
            w.finish().map_err(err)?;
        }
        Ok(())
    }

    /// Writes the buffered rows as one row group (short only at the end, and empty for an
    /// input without records, so that the file still has its schema).
    fn flush(&mut self) -> io::Result<()> {
        let cx = Context {
            catalog: self.catalog,
            set: self.set,
            texts: &self.texts,
        };
        let df = self.rows.frame(&cx)?;
        let w = match &mut self.writer {
            Some(w) => w,
            // The schema comes from the first row group.
            None => self.writer.insert(
                ParquetWriter::new(File::create(&self.path)?)
                    .with_compression(ParquetCompression::Snappy)
                    // A row group is written beside the next chunk's pricing, which keeps the
                    // other core busy; polars' own pool would only add threads that wait.
                    .set_parallel(false)
                    .batched(df.schema())
                    .map_err(err)?,
            ),
        };
        w.write_batch(&df).map_err(err)?;
        self.rows.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests;
