//! Providers: how each record's provider was found, how many records were priced at the
//! maker's price because the log could not tell, and what the provider switches save per
//! (scenario, model, from provider -> to provider).

use crate::catalog::Catalog;
use crate::money::Money;
use crate::provider::ProviderFrom;
use crate::record::UsageRecord;
use crate::reprice::Priced;
use crate::scenario::ScenarioSet;
use crate::text::Text;
use rustc_hash::FxHashMap as HashMap;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Serialize, JsonSchema, PartialEq)]
pub struct Providers {
    /// Records of catalog models by how the provider they were bought from was found:
    /// "envelope", "shape", "model_prefix", "export", "source", "offer_alias", "unknown".
    pub found: BTreeMap<String, u64>,
    /// Records priced at the maker's price because the log does not tell the provider.
    pub unknown_at_maker_price: u64,
    /// Records whose log names a provider the catalog has no offer of the model from; they
    /// are priced at the maker's price.
    pub no_offer_at_maker_price: Vec<ProviderCount>,
    /// Records of catalog models by the provider whose offer priced them.
    pub priced_at: Vec<ProviderCount>,
    /// What the provider-switch scenarios (switch_provider, cheapest_provider) change, per
    /// model and provider pair.
    pub switches: Vec<ProviderSwitch>,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct ProviderCount {
    pub model: String,
    pub provider: String,
    pub records: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct ProviderSwitch {
    pub scenario: String,
    pub model: String,
    /// The provider whose price the record was priced at.
    pub from: String,
    /// The provider whose offer the scenario priced it at.
    pub to: String,
    pub records: u64,
    /// What the records actually cost.
    pub actual_cost: Money,
    /// What they cost at the target offer.
    pub cost: Money,
    /// actual_cost - cost.
    pub savings: Money,
}

/// (scenario, model, from offer, to offer); offers as in `Priced::offer` (None: maker).
type PairKey = (usize, usize, Option<usize>, Option<usize>);

#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct OfferFold {
    found: [u64; ProviderFrom::ALL.len()],
    unknown: u64,
    no_offer: HashMap<(usize, Text), u64>,
    priced_at: HashMap<(usize, Option<usize>), u64>,
    pairs: HashMap<PairKey, (u64, Money, Money)>,
}

impl OfferFold {
    pub fn add(&mut self, records: &[UsageRecord], priced: &[Priced]) {
        for (r, p) in records.iter().zip(priced) {
            let Some(mi) = p.model else { continue };
            self.found[p.provider_from as usize] += 1;
            *self.priced_at.entry((mi, p.offer())).or_default() += 1;
            if p.provider_from == ProviderFrom::Unknown {
                self.unknown += 1;
            }
            if p.no_offer
                && let Some(s) = &r.seller
            {
                *self.no_offer.entry((mi, s.clone())).or_default() += 1;
            }
            for (i, cost, to) in p.switches() {
                let e = self.pairs.entry((i, mi, p.offer(), to)).or_insert((
                    0,
                    Money::ZERO,
                    Money::ZERO,
                ));
                e.0 += 1;
                e.1 += p.actual;
                e.2 += cost;
            }
        }
    }

    pub fn finish(self, catalog: &Catalog, set: &ScenarioSet) -> Providers {
        let model = |mi: usize| catalog.models()[mi].id.clone();
        let found = ProviderFrom::ALL
            .iter()
            .filter(|f| self.found[**f as usize] > 0)
            .map(|f| (f.as_str().to_string(), self.found[*f as usize]))
            .collect();
        let mut no_offer: Vec<ProviderCount> = self
            .no_offer
            .into_iter()
            .map(|((mi, s), records)| ProviderCount {
                model: model(mi),
                provider: s.to_string(),
                records,
            })
            .collect();
        no_offer.sort_by(|a, b| (&a.model, &a.provider).cmp(&(&b.model, &b.provider)));
        let mut priced_at: Vec<ProviderCount> = self
            .priced_at
            .into_iter()
            .map(|((mi, o), records)| ProviderCount {
                model: model(mi),
                provider: catalog.seller(mi, o).to_string(),
                records,
            })
            .collect();
        priced_at.sort_by(|a, b| (&a.model, &a.provider).cmp(&(&b.model, &b.provider)));
        let mut pairs: Vec<(PairKey, (u64, Money, Money))> = self.pairs.into_iter().collect();
        // Scenario order, then model and providers by name: the same whatever the threads.
        let name = |(i, mi, from, to): &PairKey| {
            (
                *i,
                model(*mi),
                catalog.seller(*mi, *from).to_string(),
                catalog.seller(*mi, *to).to_string(),
            )
        };
        pairs.sort_by_cached_key(|(k, _)| name(k));
        let switches = pairs
            .into_iter()
            .map(|(k, (records, actual, cost))| {
                let (i, model, from, to) = name(&k);
                ProviderSwitch {
                    scenario: set.scenarios[i].name.clone(),
                    model,
                    from,
                    to,
                    records,
                    actual_cost: actual,
                    cost,
                    savings: actual - cost,
                }
            })
            .collect();
        Providers {
            found,
            unknown_at_maker_price: self.unknown,
            no_offer_at_maker_price: no_offer,
            priced_at,
            switches,
        }
    }
}
