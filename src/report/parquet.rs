//! records.parquet: one row per record with its normalized fields, what it cost, and what it
//! would have cost under each scenario. Written in row groups of 16,384 rows. Money columns are
//! DECIMAL(38, 18): one fixed scale, so every row group is written as it comes without a pass
//! over all values first. Every catalog price and billed cost fits it exactly; only quotients
//! such as a partly covered plan day need more, and are rounded half-even there. Pages are
//! Snappy-compressed: what Spark and pyarrow write by default, and several times faster to
//! write than zstd for a file about 1.6 times the size.

mod arrays;
mod rows;

use crate::catalog::Catalog;
use crate::money::{Money, POW10};
use crate::record::UsageRecord;
use crate::reprice::Priced;
use crate::scenario::ScenarioSet;
use chrono::{DateTime, Utc};
use polars::prelude::PolarsError;
use polars_arrow::datatypes::{ArrowSchema, Field};
use polars_parquet::parquet::error::ParquetError;
use polars_parquet::write::{
    CompressionOptions, Compressor, DynIter, DynStreamingIterator, FallibleStreamingIterator,
    FileWriter, StatisticsOptions, Version, WriteOptions, array_to_columns,
};
use rows::{Context, Rows, Texts};
use rust_decimal::RoundingStrategy;
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

const ROW_GROUP: usize = 16_384;
const SCALE: u32 = arrays::SCALE as u32;
/// 10^38: DECIMAL(38, 18) holds fewer digits.
const MAX_DIGITS_38: u128 = 10u128.pow(38);

fn err(e: PolarsError) -> io::Error {
    io::Error::other(e.to_string())
}

/// The value as an integer count of 10^-18, as DECIMAL(38, 18) stores it.
fn scaled(m: Money) -> io::Result<i128> {
    let mut d = m.decimal();
    if d.scale() > SCALE {
        d = d.round_dp_with_strategy(SCALE, RoundingStrategy::MidpointNearestEven);
    }
    // `d.scale()` is at most SCALE here, so the power is in the table.
    POW10
        .get((SCALE - d.scale()) as usize)
        .and_then(|&p| d.mantissa().checked_mul(p))
        .filter(|v| v.unsigned_abs() < MAX_DIGITS_38)
        .ok_or_else(|| io::Error::other(format!("{} does not fit DECIMAL(38, 18)", m.exact())))
}

/// `DateTime::to_rfc3339` for UTC, appended to `out`: this column is one string per record,
/// and chrono's accessors and formatting took about a thousand instructions a time. The date
/// comes from the day number in one step (Hinnant's `civil_from_days`), and the text is
/// written into a buffer appended at once.
fn rfc3339(t: &DateTime<Utc>, out: &mut String) {
    let secs = t.timestamp();
    let nanos = t.timestamp_subsec_nanos();
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let of_day = secs.rem_euclid(86_400) as u32;
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        // Signed years and leap seconds: chrono's own spelling.
        out.push_str(&t.to_rfc3339());
        return;
    }
    let mut b = *b"0000-00-00T00:00:00.000000000+00:00";
    // The range check above makes the year a four-digit u32.
    digits(&mut b[0..4], year as u32);
    digits(&mut b[5..7], month);
    digits(&mut b[8..10], day);
    digits(&mut b[11..13], of_day / 3600);
    digits(&mut b[14..16], of_day / 60 % 60);
    digits(&mut b[17..19], of_day % 60);
    let fraction = match nanos {
        0 => 0,
        n if n % 1_000_000 == 0 => 3,
        n if n % 1_000 == 0 => 6,
        _ => 9,
    };
    let mut end = 19;
    if fraction > 0 {
        digits(&mut b[20..29], nanos);
        end = 20 + fraction;
    }
    b.copy_within(29.., end);
    match std::str::from_utf8(&b[..end + 6]) {
        Ok(text) => out.push_str(text),
        Err(_) => out.push_str(&t.to_rfc3339()),
    }
}

/// `n` in decimal into all of `dst`, zero-padded; only its last `dst.len()` digits.
fn digits(dst: &mut [u8], mut n: u32) {
    for d in dst.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// Year, month and day of the day `days` after 1970-01-01 in the proleptic Gregorian
/// calendar (Howard Hinnant, "chrono-Compatible Low-Level Date Algorithms").
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// records.parquet written as priced chunks of records arrive, in order. Rows are copied out
/// of each chunk into compact columns until there are enough for a row group, which is then
/// built and written. Row groups are cut every 16,384 rows of the whole sequence, so the file
/// is the same however the records are chunked and whatever the thread count. One row group
/// at a time keeps memory to that group: a run streams the next records while it is built.
pub struct RecordsSink<'a> {
    path: PathBuf,
    catalog: &'a Catalog,
    set: &'a ScenarioSet,
    /// Created with the file when the first row group is ready.
    writer: Option<FileWriter<BufWriter<File>>>,
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
                .push(recs, pr, &mut self.texts, &self.set.key_names)?;
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
        if let Some(mut w) = self.writer {
            // With the Arrow schema in the footer, as polars writes it. `end` also flushes the
            // buffer, so an error writing what was still buffered is reported here, not lost
            // when the BufWriter is dropped.
            w.end(None).map_err(err)?;
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
        let rows = self.rows.len() as u64;
        let cols = self.rows.frame(&cx)?;
        let w = match &mut self.writer {
            Some(w) => w,
            // The schema comes from the first row group.
            None => {
                let schema = ArrowSchema::from_iter_check_duplicates(cols.iter().map(|c| {
                    (
                        c.name.clone(),
                        Field::new(c.name.clone(), c.dtype.clone(), true),
                    )
                }))
                .map_err(err)?;
                let options = WriteOptions {
                    statistics: StatisticsOptions::default(),
                    version: Version::V1,
                    compression: CompressionOptions::Snappy,
                    data_page_size: None,
                };
                // The writer puts each page header, and the footer, down field by field:
                // unbuffered, that was one system call per field, about 800,000 for a run
                // over two million records.
                let file = BufWriter::with_capacity(1 << 20, File::create(&self.path)?);
                self.writer
                    .insert(FileWriter::try_new(file, schema, options).map_err(err)?)
            }
        };
        let options = w.options();
        let types = w.parquet_schema().fields().to_vec();
        // A row group is written beside the next chunk's pricing, which keeps the other core
        // busy: its columns are encoded and compressed one after the other as they are written.
        let mut columns = Vec::with_capacity(cols.len());
        for (col, type_) in cols.into_iter().zip(types) {
            for pages in
                array_to_columns(col.array, type_, options, &[col.encoding]).map_err(err)?
            {
                let pages = pages.map(|p| p.map_err(|e| ParquetError::OutOfSpec(e.to_string())));
                let compressed = Compressor::new(pages, options.compression, Vec::new())
                    .map_err(PolarsError::from);
                columns.push(Ok(DynStreamingIterator::new(compressed)));
            }
        }
        w.write(rows, DynIter::new(columns.into_iter()))
            .map_err(err)?;
        self.rows.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests;
