//! Per-model and per-key tables.

use super::key_label;
use crate::catalog::Catalog;
use crate::money::Money;
use crate::record::UsageRecord;
use crate::reprice::Priced;
use crate::text::Text;
use rustc_hash::FxHashMap as HashMap;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq, serde::Deserialize)]
pub struct ModelRow {
    /// Catalog id, or the logged name when the catalog does not know it.
    pub model: String,
    pub records: u64,
    pub images: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub thinking_tokens: u64,
    /// What the records cost; those nothing could price (`unpriced_records`) are not in it.
    pub cost: Money,
    /// Records with no cost in the log and none in the catalog.
    pub unpriced_records: u64,
}

impl ModelRow {
    fn empty(model: String) -> ModelRow {
        ModelRow {
            model,
            records: 0,
            images: 0,
            input_tokens: 0,
            output_tokens: 0,
            thinking_tokens: 0,
            cost: Money::ZERO,
            unpriced_records: 0,
        }
    }

    fn add(&mut self, o: &ModelRow) {
        self.records += o.records;
        self.images += o.images;
        self.input_tokens += o.input_tokens;
        self.output_tokens += o.output_tokens;
        self.thinking_tokens += o.thinking_tokens;
        self.cost += o.cost;
        self.unpriced_records += o.unpriced_records;
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct KeyRow {
    /// Label or last four characters; never the whole key.
    pub key: String,
    pub records: u64,
    /// What the records cost; those nothing could price (`unpriced_records`) are not in it.
    pub cost: Money,
    /// Records with no cost in the log and none in the catalog.
    pub unpriced_records: u64,
}

/// Summed on the records' shared keys; names and labels are made once per model and key, when
/// finished.
#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct ModelsAndKeys {
    /// Catalog model, or the logged name of a model the catalog does not know.
    by_model: HashMap<Result<usize, Text>, ModelRow>,
    /// Records, cost and records nothing could price, per key.
    by_key: HashMap<Option<Text>, (u64, Money, u64)>,
}

impl ModelsAndKeys {
    pub fn add(&mut self, records: &[UsageRecord], priced: &[Priced]) {
        for (r, p) in records.iter().zip(priced) {
            let unpriced = u64::from(p.cost_unknown());
            let m = self
                .by_model
                .entry(p.model.ok_or_else(|| r.model.clone()))
                .or_insert_with(|| ModelRow::empty(String::new()));
            m.add(&ModelRow {
                model: String::new(),
                records: 1,
                images: u64::from(r.images),
                input_tokens: r.tokens.input,
                output_tokens: r.tokens.output,
                thinking_tokens: r.tokens.thinking,
                cost: p.actual,
                unpriced_records: unpriced,
            });
            let k = match self.by_key.get_mut(&r.api_key) {
                Some(k) => k,
                None => self
                    .by_key
                    .entry(r.api_key.clone())
                    .or_insert((0, Money::ZERO, 0)),
            };
            k.0 += 1;
            k.1 += p.actual;
            k.2 += unpriced;
        }
    }

    pub fn finish(
        self,
        catalog: &Catalog,
        names: &BTreeMap<String, String>,
    ) -> (Vec<ModelRow>, Vec<KeyRow>) {
        let mut models: BTreeMap<String, ModelRow> = BTreeMap::new();
        for (which, row) in self.by_model {
            let id = match which {
                Ok(m) => catalog.models()[m].id.clone(),
                Err(logged) => logged.to_string(),
            };
            // Two groups meet only when a logged name equals another model's catalog id.
            models
                .entry(id.clone())
                .or_insert_with(|| ModelRow::empty(id))
                .add(&row);
        }
        let mut keys: BTreeMap<String, KeyRow> = BTreeMap::new();
        for (key, (n, cost, unpriced)) in self.by_key {
            let label = key_label(key.as_deref(), names);
            let k = keys.entry(label.clone()).or_insert_with(|| KeyRow {
                key: label,
                records: 0,
                cost: Money::ZERO,
                unpriced_records: 0,
            });
            k.records += n;
            k.cost += cost;
            k.unpriced_records += unpriced;
        }
        let mut models: Vec<ModelRow> = models.into_values().collect();
        models.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.model.cmp(&b.model)));
        let mut keys: Vec<KeyRow> = keys.into_values().collect();
        keys.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.key.cmp(&b.key)));
        (models, keys)
    }
}
