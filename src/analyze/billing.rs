//! Cost exports against usage exports: per provider, UTC day and project, what the usage rows
//! cost at catalog prices against what the provider's cost pages say was billed (OpenAI Costs
//! API against Usage API pages), with every difference listed, as the balance reconciliation
//! does for NanoGPT. Only days the cost pages cover are compared.

use crate::money::Money;
use crate::outcome::BilledCost;
use crate::record::UsageRecord;
use crate::reprice::Priced;
use crate::text::Text;
use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct BillingReconciliation {
    /// (provider, day, project) groups compared.
    pub checked: u64,
    pub matched: u64,
    /// What the cost exports say was billed, over the groups compared.
    pub billed: Money,
    /// What the usage rows of the same groups cost at catalog prices.
    pub usage_cost: Money,
    pub differences: Vec<BillingDifference>,
}

#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct BillingDifference {
    pub provider: String,
    pub day: NaiveDate,
    pub project: Option<String>,
    pub usage_cost: Money,
    pub billed: Money,
    /// billed - usage_cost: positive when more was billed than the usage explains.
    pub difference: Money,
}

type Group = (Text, NaiveDate, Option<Text>);

/// Usage cost of export rows by group, as records arrive.
#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct UsageByGroup {
    cost: BTreeMap<Group, Money>,
}

impl UsageByGroup {
    pub fn add(&mut self, records: &[UsageRecord], priced: &[Priced]) {
        for (r, p) in records.iter().zip(priced) {
            let (true, Some(provider)) = (r.is_aggregate(), &r.provider) else {
                continue;
            };
            let key = (provider.clone(), r.time.date_naive(), r.project.clone());
            *self.cost.entry(key).or_insert(Money::ZERO) += p.actual;
        }
    }

    pub fn finish(self, billed: &[BilledCost]) -> BillingReconciliation {
        let mut bills: BTreeMap<Group, Money> = BTreeMap::new();
        for b in billed {
            *bills
                .entry((b.provider.clone(), b.day, b.project.clone()))
                .or_insert(Money::ZERO) += b.amount;
        }
        let days: BTreeSet<(Text, NaiveDate)> =
            bills.keys().map(|(p, d, _)| (p.clone(), *d)).collect();
        let mut groups: BTreeSet<Group> = bills.keys().cloned().collect();
        groups.extend(
            self.cost
                .keys()
                .filter(|(p, d, _)| days.contains(&(p.clone(), *d)))
                .cloned(),
        );
        let mut out = BillingReconciliation {
            checked: 0,
            matched: 0,
            billed: Money::ZERO,
            usage_cost: Money::ZERO,
            differences: Vec::new(),
        };
        for g in groups {
            let usage = self.cost.get(&g).copied().unwrap_or(Money::ZERO);
            let bill = bills.get(&g).copied().unwrap_or(Money::ZERO);
            out.checked += 1;
            out.billed += bill;
            out.usage_cost += usage;
            if usage == bill {
                out.matched += 1;
                continue;
            }
            let (provider, day, project) = g;
            out.differences.push(BillingDifference {
                provider: provider.to_string(),
                day,
                project: project.map(|p| p.to_string()),
                usage_cost: usage,
                billed: bill,
                difference: bill - usage,
            });
        }
        out
    }
}
