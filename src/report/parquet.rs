//! records.parquet: one row per record with its normalized fields, what it cost, and what it
//! would have cost under each scenario. Written in row groups of 65,536 rows. Money columns are
//! DECIMAL(38, s) with s the largest scale any value needs (at most 18; only quotients such as
//! a partly covered plan day need more, and are rounded half-even there).

use super::{ReportInput, Writer};
use crate::analyze::key_label;
use crate::money::Money;
use polars::prelude::*;
use rust_decimal::RoundingStrategy;
use std::io;
use std::path::Path;

pub struct RecordsParquet;

const ROW_GROUP: usize = 65_536;
const MAX_SCALE: u32 = 18;

fn err(e: PolarsError) -> io::Error {
    io::Error::other(e.to_string())
}

fn decimal_column(name: &str, values: &[Option<Money>], scale: u32) -> PolarsResult<Column> {
    let ints: Vec<Option<i128>> = values
        .iter()
        .map(|v| {
            v.map(|m| {
                let d = m
                    .decimal()
                    .round_dp_with_strategy(scale, RoundingStrategy::MidpointNearestEven);
                let mut d = d;
                d.rescale(scale);
                d.mantissa()
            })
        })
        .collect();
    let ca = Int128Chunked::from_iter_options(name.into(), ints.into_iter());
    Ok(ca
        .into_decimal(38, scale as usize)?
        .into_series()
        .into_column())
}

fn scale_of(values: &[Option<Money>]) -> u32 {
    values
        .iter()
        .flatten()
        .map(|m| m.decimal().normalize().scale())
        .max()
        .unwrap_or(0)
        .min(MAX_SCALE)
}

impl Writer for RecordsParquet {
    fn files(&self) -> &'static [&'static str] {
        &["records.parquet"]
    }

    fn write(&self, input: &ReportInput<'_>, dir: &Path) -> io::Result<()> {
        let names = &input.scenarios.key_names;
        let n_sc = input.scenarios.scenarios.len();
        // One scale per money column over the whole file, so every row group agrees.
        let all_money = |f: &dyn Fn(usize) -> Option<Money>| -> u32 {
            let v: Vec<Option<Money>> = (0..input.records.len()).map(f).collect();
            scale_of(&v)
        };
        let s_billed = all_money(&|k| input.records[k].billed_cost);
        let s_actual = all_money(&|k| Some(input.priced[k].actual));
        let s_list = all_money(&|k| input.priced[k].list);
        let s_sc: Vec<u32> = (0..n_sc)
            .map(|i| all_money(&|k| Some(input.priced[k].scenario[i])))
            .collect();

        let file = std::fs::File::create(dir.join("records.parquet"))?;
        let mut writer: Option<polars::io::parquet::write::BatchedWriter<std::fs::File>> = None;
        let mut pending = Some(file);
        let chunks: Vec<usize> = (0..input.records.len()).step_by(ROW_GROUP).collect();
        let chunks = if chunks.is_empty() { vec![0] } else { chunks };
        for start in chunks {
            let end = (start + ROW_GROUP).min(input.records.len());
            let recs = &input.records[start..end];
            let pr = &input.priced[start..end];
            let catalog_id = |k: usize| pr[k].model.map(|m| input.catalog.models()[m].id.clone());
            let mut cols = vec![
                Column::new(
                    "id".into(),
                    recs.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
                ),
                Column::new(
                    "file".into(),
                    recs.iter()
                        .map(|r| r.source.file.to_string())
                        .collect::<Vec<_>>(),
                ),
                Column::new(
                    "line".into(),
                    recs.iter().map(|r| r.source.line).collect::<Vec<_>>(),
                ),
                Column::new(
                    "time".into(),
                    recs.iter().map(|r| r.time.to_rfc3339()).collect::<Vec<_>>(),
                ),
                Column::new(
                    "day".into(),
                    pr.iter().map(|p| p.day.to_string()).collect::<Vec<_>>(),
                ),
                Column::new(
                    "key".into(),
                    recs.iter()
                        .map(|r| key_label(r.api_key.as_deref(), names))
                        .collect::<Vec<_>>(),
                ),
                Column::new(
                    "provider".into(),
                    recs.iter().map(|r| r.provider.clone()).collect::<Vec<_>>(),
                ),
                Column::new(
                    "model_logged".into(),
                    recs.iter().map(|r| r.model.clone()).collect::<Vec<_>>(),
                ),
                Column::new(
                    "model".into(),
                    (0..recs.len()).map(catalog_id).collect::<Vec<_>>(),
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
                    recs.iter().map(|r| r.quality.clone()).collect::<Vec<_>>(),
                ),
                Column::new(
                    "batch".into(),
                    recs.iter().map(|r| r.batch).collect::<Vec<_>>(),
                ),
            ];
            let billed: Vec<Option<Money>> = recs.iter().map(|r| r.billed_cost).collect();
            let actual: Vec<Option<Money>> = pr.iter().map(|p| Some(p.actual)).collect();
            let list: Vec<Option<Money>> = pr.iter().map(|p| p.list).collect();
            cols.push(decimal_column("billed_cost", &billed, s_billed).map_err(err)?);
            cols.push(decimal_column("actual_cost", &actual, s_actual).map_err(err)?);
            cols.push(decimal_column("list_cost", &list, s_list).map_err(err)?);
            for (i, sc) in input.scenarios.scenarios.iter().enumerate() {
                let v: Vec<Option<Money>> = pr.iter().map(|p| Some(p.scenario[i])).collect();
                cols.push(decimal_column(&format!("cost_{}", sc.name), &v, s_sc[i]).map_err(err)?);
            }
            let df = DataFrame::new(recs.len(), cols).map_err(err)?;
            if writer.is_none() {
                let f = pending
                    .take()
                    .ok_or_else(|| io::Error::other("parquet writer lost its file"))?;
                writer = Some(ParquetWriter::new(f).batched(df.schema()).map_err(err)?);
            }
            if let Some(w) = writer.as_mut() {
                w.write_batch(&df).map_err(err)?;
            }
        }
        if let Some(w) = writer {
            w.finish().map_err(err)?;
        }
        Ok(())
    }
}
