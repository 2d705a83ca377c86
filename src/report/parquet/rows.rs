//! The rows of records.parquet waiting to be written, held as columns: text that repeats
//! across records is shared or numbered, money stays exact until a row group is built, and a
//! scenario's cost is kept only where it differs from the actual one.

use super::{decimal_column, err, rfc3339, scaled, scaled_column};
use crate::analyze::key_label;
use crate::catalog::Catalog;
use crate::money::Money;
use crate::record::{ImageCount, ImageSize, Kind, Status, Tokens, UsageRecord};
use crate::reprice::Priced;
use crate::scenario::ScenarioSet;
use crate::text::Text;
use chrono::{DateTime, NaiveDate, Utc};
use polars::prelude::*;
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;
use std::io;

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
    scenarios: usize,
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
    tokens: Vec<Tokens>,
    images: Vec<u32>,
    image_count: Vec<Option<ImageCount>>,
    image_size: Vec<Option<ImageSize>>,
    quality: Vec<Option<Text>>,
    batch: Vec<bool>,
    billed: Vec<Option<Money>>,
    actual: Vec<Money>,
    list: Vec<Option<Money>>,
    /// (scenario, cost) where a scenario's cost differs from the actual one; a row's changes
    /// end at `change_ends`. Equal amounts are written the same, so nothing is lost.
    changes: Vec<(u16, Money)>,
    change_ends: Vec<usize>,
}

impl Rows {
    pub fn new(scenarios: usize) -> Rows {
        Rows {
            scenarios,
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
            tokens: Vec::new(),
            images: Vec::new(),
            image_count: Vec::new(),
            image_size: Vec::new(),
            quality: Vec::new(),
            batch: Vec::new(),
            billed: Vec::new(),
            actual: Vec::new(),
            list: Vec::new(),
            changes: Vec::new(),
            change_ends: Vec::new(),
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
        self.tokens.clear();
        self.images.clear();
        self.image_count.clear();
        self.image_size.clear();
        self.quality.clear();
        self.batch.clear();
        self.billed.clear();
        self.actual.clear();
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
    ) {
        for (r, p) in records.iter().zip(priced) {
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
            self.tokens.push(r.tokens);
            self.images.push(r.images);
            self.image_count.push(r.image_count);
            self.image_size.push(r.image_size);
            self.quality.push(r.quality.clone());
            self.batch.push(r.batch);
            self.billed.push(r.billed_cost);
            self.actual.push(p.actual);
            self.list.push(p.list);
            for (i, cost, _) in p.changes() {
                if cost != p.actual {
                    self.changes.push((i as u16, cost));
                }
            }
            self.change_ends.push(self.changes.len());
        }
    }

    fn id(&self, k: usize) -> Option<&str> {
        let start = if k == 0 { 0 } else { self.id_ends[k - 1] };
        self.has_id[k].then(|| &self.ids[start..self.id_ends[k]])
    }

    fn changes_of(&self, k: usize) -> &[(u16, Money)] {
        let start = if k == 0 { 0 } else { self.change_ends[k - 1] };
        &self.changes[start..self.change_ends[k]]
    }

    /// The buffered rows as one row group.
    pub fn frame(&self, cx: &Context<'_>) -> io::Result<DataFrame> {
        let rows = 0..self.len();
        let texts = cx.texts;
        // Written end to end into one buffer, then sliced: no allocation per row.
        let mut all = String::new();
        let mut ends = Vec::with_capacity(self.len());
        for t in &self.time[rows.clone()] {
            rfc3339(t, &mut all);
            ends.push(all.len());
        }
        let times: Vec<&str> = ends
            .iter()
            .scan(0, |start, &end| {
                let s = &all[*start..end];
                *start = end;
                Some(s)
            })
            .collect();
        // A log has few image sizes: each is written once per row group.
        let mut size_texts: Vec<(ImageSize, String)> = Vec::new();
        for s in self.image_size[rows.clone()].iter().flatten() {
            if !size_texts.iter().any(|(k, _)| k == s) {
                size_texts.push((*s, s.to_string()));
            }
        }
        let models = cx.catalog.models();
        let tokens = &self.tokens[rows.clone()];
        let token_column = |name: &str, f: fn(&Tokens) -> u64| {
            Column::new(name.into(), tokens.iter().map(f).collect::<Vec<u64>>())
        };
        let mut cols = vec![
            Column::new(
                "id".into(),
                rows.clone().map(|k| self.id(k)).collect::<Vec<_>>(),
            ),
            Column::new(
                "file".into(),
                self.file[rows.clone()]
                    .iter()
                    .map(|f| &**f)
                    .collect::<Vec<&str>>(),
            ),
            Column::new("line".into(), self.line[rows.clone()].to_vec()),
            Column::new("time".into(), times),
            Column::new(
                "day".into(),
                self.day[rows.clone()]
                    .iter()
                    .map(|d| texts.days.get(d).map_or("", String::as_str))
                    .collect::<Vec<&str>>(),
            ),
            Column::new(
                "key".into(),
                self.label[rows.clone()]
                    .iter()
                    .map(|&l| texts.labels.get(l as usize).map_or("", String::as_str))
                    .collect::<Vec<&str>>(),
            ),
            Column::new(
                "provider".into(),
                self.provider[rows.clone()]
                    .iter()
                    .map(Option::as_deref)
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "provider_source".into(),
                self.provider_from[rows.clone()]
                    .iter()
                    .map(|f| f.as_str())
                    .collect::<Vec<&str>>(),
            ),
            Column::new(
                "priced_at_provider".into(),
                self.priced_at[rows.clone()]
                    .iter()
                    .map(|o| o.map(|(m, k)| cx.catalog.seller(m, k)))
                    .collect::<Vec<Option<&str>>>(),
            ),
            Column::new(
                "model_logged".into(),
                self.model_logged[rows.clone()]
                    .iter()
                    .map(|m| &**m)
                    .collect::<Vec<&str>>(),
            ),
            Column::new(
                "model".into(),
                self.model[rows.clone()]
                    .iter()
                    .map(|m| {
                        m.and_then(|m| models.get(m as usize))
                            .map(|m| m.id.as_str())
                    })
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "kind".into(),
                self.kind[rows.clone()]
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "status".into(),
                self.status[rows.clone()]
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>(),
            ),
            token_column("input_tokens", |t| t.input),
            token_column("output_tokens", |t| t.output),
            token_column("thinking_tokens", |t| t.thinking),
            token_column("cache_read_tokens", |t| t.cache_read),
            token_column("cache_write_tokens", |t| t.cache_write),
            Column::new("images".into(), self.images[rows.clone()].to_vec()),
            // How the image count was found: response, tokens, request or assumed.
            Column::new(
                "image_count".into(),
                self.image_count[rows.clone()]
                    .iter()
                    .map(|c| c.map(ImageCount::as_str))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "image_size".into(),
                self.image_size[rows.clone()]
                    .iter()
                    .map(|s| {
                        s.and_then(|s| size_texts.iter().find(|(k, _)| *k == s))
                            .map(|(_, t)| t.as_str())
                    })
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "quality".into(),
                self.quality[rows.clone()]
                    .iter()
                    .map(Option::as_deref)
                    .collect::<Vec<_>>(),
            ),
            Column::new("batch".into(), self.batch[rows.clone()].to_vec()),
        ];
        cols.push(decimal_column(
            "billed_cost",
            self.billed[rows.clone()].iter().copied(),
        )?);
        let actual = self.actual[rows.clone()]
            .iter()
            .map(|&m| scaled(m))
            .collect::<io::Result<Vec<i128>>>()?;
        cols.push(scaled_column("actual_cost", actual.clone())?);
        cols.push(decimal_column(
            "list_cost",
            self.list[rows.clone()].iter().copied(),
        )?);
        // Every scenario starts at the actual cost; only the changes are scaled again.
        let mut per_scenario: Vec<Vec<i128>> = vec![actual; self.scenarios];
        for (n, k) in rows.clone().enumerate() {
            for &(i, cost) in self.changes_of(k) {
                if let Some(col) = per_scenario.get_mut(usize::from(i)) {
                    col[n] = scaled(cost)?;
                }
            }
        }
        for (sc, ints) in cx.set.scenarios.iter().zip(per_scenario) {
            cols.push(scaled_column(&format!("cost_{}", sc.name), ints)?);
        }
        DataFrame::new(self.len(), cols).map_err(err)
    }
}
