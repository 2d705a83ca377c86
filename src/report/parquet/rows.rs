//! The rows of records.parquet waiting to be written, held as columns: text that repeats
//! across records is shared or numbered, money stays exact until a row group is built, and a
//! scenario's cost is kept only where it differs from the actual one. A cost nothing could
//! price is null, not $0.

use super::arrays::Col;
use super::{rfc3339, scaled};
use crate::analyze::key_label;
use crate::catalog::Catalog;
use crate::money::Money;
use crate::record::{ImageCount, ImageSize, Kind, Status, UsageRecord};
use crate::reprice::Priced;
use crate::scenario::ScenarioSet;
use crate::text::Text;
use chrono::{DateTime, NaiveDate, Utc};
use polars_arrow::bitmap::{Bitmap, MutableBitmap};
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;
use std::io;
use std::mem::take;

/// Texts that repeat across records, made once per run.
#[derive(Default)]
pub struct Texts {
    /// Key labels, numbered in the order the keys first came.
    labels: Vec<String>,
    label_of: HashMap<Text, u32>,
    no_key: Option<u32>,
    days: HashMap<NaiveDate, String>,
}

impl Texts {
    fn label(&mut self, key: Option<&Text>, names: &BTreeMap<String, String>) -> u32 {
        let next = self.labels.len() as u32;
        let k = match key {
            None => *self.no_key.get_or_insert(next),
            Some(k) => match self.label_of.get(&**k) {
                Some(&n) => n,
                None => {
                    self.label_of.insert(k.clone(), next);
                    next
                }
            },
        };
        if k == next {
            self.labels.push(key_label(key.map(|k| &**k), names));
        }
        k
    }
}

/// What a row group needs besides the rows.
pub struct Context<'a> {
    pub catalog: &'a Catalog,
    pub set: &'a ScenarioSet,
    pub texts: &'a Texts,
}

/// The buffered rows, one vector per column.
pub struct Rows {
    /// Ids, end to end; a row's id ends at `id_ends`, and is null where `has_id` is false.
    ids: String,
    id_ends: Vec<usize>,
    has_id: Vec<bool>,
    file: Vec<Text>,
    line: Vec<u64>,
    time: Vec<DateTime<Utc>>,
    day: Vec<NaiveDate>,
    label: Vec<u32>,
    provider: Vec<Option<Text>>,
    /// How the provider the record was bought from was found.
    provider_from: Vec<crate::provider::ProviderFrom>,
    /// The offer whose prices applied: (model, offer; None the maker's).
    priced_at: Vec<Option<(usize, Option<usize>)>>,
    model_logged: Vec<Text>,
    model: Vec<Option<u32>>,
    kind: Vec<Kind>,
    status: Vec<Status>,
    /// Input, output, thinking, cache read and cache write tokens.
    tokens: [Vec<u64>; 5],
    images: Vec<u32>,
    image_count: Vec<Option<ImageCount>>,
    image_size: Vec<Option<ImageSize>>,
    quality: Vec<Option<Text>>,
    batch: Vec<bool>,
    /// Money as DECIMAL(38, 18) holds it, scaled as each row comes: a row group's money
    /// columns are then these vectors themselves.
    billed: Vec<Option<i128>>,
    actual: Vec<i128>,
    /// The rows whose actual cost is unknown (no cost in the log and none in the catalog),
    /// by their place in the buffer: null there, never $0, and null under every scenario
    /// that did not price the record either.
    unknown: Vec<usize>,
    /// Why the catalog could not price a row.
    unpriced: Vec<Option<String>>,
    list: Vec<Option<i128>>,
    /// (scenario, cost) where a scenario's cost differs from the actual one; a row's changes
    /// end at `change_ends`. Equal amounts are written the same, so nothing is lost.
    changes: Vec<(u16, Money)>,
    change_ends: Vec<usize>,
    scenarios: usize,
}

impl Rows {
    pub fn new(scenarios: usize) -> Rows {
        Rows {
            ids: String::new(),
            id_ends: Vec::new(),
            has_id: Vec::new(),
            file: Vec::new(),
            line: Vec::new(),
            time: Vec::new(),
            day: Vec::new(),
            label: Vec::new(),
            provider: Vec::new(),
            provider_from: Vec::new(),
            priced_at: Vec::new(),
            model_logged: Vec::new(),
            model: Vec::new(),
            kind: Vec::new(),
            status: Vec::new(),
            tokens: Default::default(),
            images: Vec::new(),
            image_count: Vec::new(),
            image_size: Vec::new(),
            quality: Vec::new(),
            batch: Vec::new(),
            billed: Vec::new(),
            actual: Vec::new(),
            unknown: Vec::new(),
            unpriced: Vec::new(),
            list: Vec::new(),
            changes: Vec::new(),
            change_ends: Vec::new(),
            scenarios,
        }
    }

    pub fn len(&self) -> usize {
        self.line.len()
    }

    pub fn is_empty(&self) -> bool {
        self.line.is_empty()
    }

    /// Empties the buffer and keeps its allocations for the next rows.
    pub fn clear(&mut self) {
        self.ids.clear();
        self.id_ends.clear();
        self.has_id.clear();
        self.file.clear();
        self.line.clear();
        self.time.clear();
        self.day.clear();
        self.label.clear();
        self.provider.clear();
        self.provider_from.clear();
        self.priced_at.clear();
        self.model_logged.clear();
        self.model.clear();
        self.kind.clear();
        self.status.clear();
        for t in &mut self.tokens {
            t.clear();
        }
        self.images.clear();
        self.image_count.clear();
        self.image_size.clear();
        self.quality.clear();
        self.batch.clear();
        self.billed.clear();
        self.actual.clear();
        self.unknown.clear();
        self.unpriced.clear();
        self.list.clear();
        self.changes.clear();
        self.change_ends.clear();
    }

    pub fn push(
        &mut self,
        records: &[UsageRecord],
        priced: &[Priced],
        texts: &mut Texts,
        names: &BTreeMap<String, String>,
    ) -> io::Result<()> {
        for (r, p) in records.iter().zip(priced) {
            // Scaled first: a cost DECIMAL(38, 18) cannot hold fails the row before any of it
            // is kept.
            let billed = r.billed_cost.map(scaled).transpose()?;
            let list = p.list.map(scaled).transpose()?;
            let actual = scaled(p.actual)?;
            self.ids.push_str(r.id.as_deref().unwrap_or(""));
            self.id_ends.push(self.ids.len());
            self.has_id.push(r.id.is_some());
            self.file.push(r.source.file.clone());
            self.line.push(r.source.line);
            self.time.push(r.time);
            texts.days.entry(p.day).or_insert_with(|| p.day.to_string());
            self.day.push(p.day);
            self.label.push(texts.label(r.api_key.as_ref(), names));
            self.provider.push(r.provider.clone());
            self.provider_from.push(p.provider_from);
            self.priced_at.push(p.model.map(|m| (m, p.offer())));
            self.model_logged.push(r.model.clone());
            self.model.push(p.model.and_then(|m| u32::try_from(m).ok()));
            self.kind.push(r.kind);
            self.status.push(r.status);
            let [input, output, thinking, cache_read, cache_write] = &mut self.tokens;
            input.push(r.tokens.input);
            output.push(r.tokens.output);
            thinking.push(r.tokens.thinking);
            cache_read.push(r.tokens.cache_read);
            cache_write.push(r.tokens.cache_write);
            self.images.push(r.images);
            self.image_count.push(r.image_count);
            self.image_size.push(r.image_size);
            self.quality.push(r.quality.clone());
            self.batch.push(r.batch);
            self.billed.push(billed);
            self.list.push(list);
            let known = !p.cost_unknown();
            if !known {
                self.unknown.push(self.actual.len());
            }
            self.actual.push(actual);
            self.unpriced.push(p.unpriced.clone());
            for (i, cost, _) in p.changes() {
                if cost != p.actual || !known {
                    self.changes.push((i as u16, cost));
                }
            }
            self.change_ends.push(self.changes.len());
        }
        Ok(())
    }

    fn id(&self, k: usize) -> Option<&str> {
        let start = if k == 0 { 0 } else { self.id_ends[k - 1] };
        self.has_id[k].then(|| &self.ids[start..self.id_ends[k]])
    }

    /// The buffered rows as the columns of one row group; the columns that are vectors of
    /// their own are taken over, and the rest is left to `clear`.
    pub fn frame(&mut self, cx: &Context<'_>) -> io::Result<Vec<Col>> {
        let n = self.len();
        let texts = cx.texts;
        // Written end to end into one buffer, then sliced: no allocation per row.
        let mut all = String::new();
        let mut ends = Vec::with_capacity(n);
        for t in &self.time {
            rfc3339(t, &mut all);
            ends.push(all.len());
        }
        let times = ends.iter().scan(0, |start, &end| {
            let s = &all[*start..end];
            *start = end;
            Some(Some(s))
        });
        // A log has few image sizes: each is written once per row group.
        let mut size_texts: Vec<(ImageSize, String)> = Vec::new();
        for s in self.image_size.iter().flatten() {
            if !size_texts.iter().any(|(k, _)| k == s) {
                size_texts.push((*s, s.to_string()));
            }
        }
        let models = cx.catalog.models();
        let mut cols = vec![
            Col::texts("id", (0..n).map(|k| self.id(k))),
            Col::few_texts("file", self.file.iter().map(|f| Some(&**f)))?,
            Col::numbers("line", take(&mut self.line)),
            Col::texts("time", times),
            Col::few_texts(
                "day",
                self.day
                    .iter()
                    .map(|d| Some(texts.days.get(d).map_or("", String::as_str))),
            )?,
            Col::few_texts(
                "key",
                self.label
                    .iter()
                    .map(|&l| Some(texts.labels.get(l as usize).map_or("", String::as_str))),
            )?,
            Col::few_texts("provider", self.provider.iter().map(Option::as_deref))?,
            Col::few_texts(
                "provider_source",
                self.provider_from.iter().map(|f| Some(f.as_str())),
            )?,
            Col::few_texts(
                "priced_at_provider",
                self.priced_at
                    .iter()
                    .map(|o| o.map(|(m, k)| cx.catalog.seller(m, k))),
            )?,
            Col::few_texts("model_logged", self.model_logged.iter().map(|m| Some(&**m)))?,
            Col::few_texts(
                "model",
                self.model.iter().map(|m| {
                    m.and_then(|m| models.get(m as usize))
                        .map(|m| m.id.as_str())
                }),
            )?,
            Col::few_texts("kind", self.kind.iter().map(|k| Some(k.as_str())))?,
            Col::few_texts("status", self.status.iter().map(|s| Some(s.as_str())))?,
        ];
        let [input, output, thinking, cache_read, cache_write] = &mut self.tokens;
        cols.extend([
            Col::counts("input_tokens", take(input)),
            Col::counts("output_tokens", take(output)),
            Col::counts("thinking_tokens", take(thinking)),
            Col::counts("cache_read_tokens", take(cache_read)),
            Col::counts("cache_write_tokens", take(cache_write)),
            Col::counts("images", take(&mut self.images)),
        ]);
        cols.extend([
            // How the image count was found: response, tokens, request or assumed.
            Col::few_texts(
                "image_count",
                self.image_count.iter().map(|c| c.map(ImageCount::as_str)),
            )?,
            Col::few_texts(
                "image_size",
                self.image_size.iter().map(|s| {
                    s.and_then(|s| size_texts.iter().find(|(k, _)| *k == s))
                        .map(|(_, t)| t.as_str())
                }),
            )?,
            Col::few_texts("quality", self.quality.iter().map(Option::as_deref))?,
            Col::flags("batch", &self.batch),
        ]);
        cols.push(Col::money_or_none("billed_cost", take(&mut self.billed)));
        // Every scenario starts at the actual cost; only the changes are scaled again.
        let mut per_scenario: Vec<Vec<i128>> = vec![self.actual.clone(); self.scenarios];
        // Where the actual cost is unknown, so is a scenario's, unless the scenario priced
        // the record itself.
        let mut priced_unknown: Vec<Vec<usize>> = vec![Vec::new(); self.scenarios];
        let mut unknown = self.unknown.iter().peekable();
        for k in 0..n {
            let start = if k == 0 { 0 } else { self.change_ends[k - 1] };
            let is_unknown = unknown.next_if(|&&u| u == k).is_some();
            for &(i, cost) in &self.changes[start..self.change_ends[k]] {
                if let Some(col) = per_scenario.get_mut(usize::from(i)) {
                    col[k] = scaled(cost)?;
                    if is_unknown {
                        priced_unknown[usize::from(i)].push(k);
                    }
                }
            }
        }
        let nulls = |except: &[usize]| -> Option<Bitmap> {
            if self.unknown.len() == except.len() {
                return None;
            }
            let mut valid = MutableBitmap::from_len_set(n);
            let mut except = except.iter().peekable();
            for &u in &self.unknown {
                if except.next_if(|&&e| e == u).is_none() {
                    valid.set(u, false);
                }
            }
            Some(valid.into())
        };
        let actual_valid = nulls(&[]);
        let scenario_valid: Vec<Option<Bitmap>> = priced_unknown.iter().map(|p| nulls(p)).collect();
        cols.push(Col::money(
            "actual_cost",
            take(&mut self.actual),
            actual_valid,
        ));
        cols.push(Col::money_or_none("list_cost", take(&mut self.list)));
        cols.push(Col::few_texts(
            "unpriced",
            self.unpriced.iter().map(Option::as_deref),
        )?);
        for ((sc, costs), valid) in cx
            .set
            .scenarios
            .iter()
            .zip(per_scenario)
            .zip(scenario_valid)
        {
            cols.push(Col::money(&format!("cost_{}", sc.name), costs, valid));
        }
        Ok(cols)
    }
}
