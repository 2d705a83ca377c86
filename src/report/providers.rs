//! The providers section of report.md and report.html: one function makes its sentences and
//! table rows, so each renderer only lays them out.

use super::markdown::plural;
use crate::analyze::Summary;
use crate::money::Money;

/// The columns of the provider-switch table; the last three are money.
pub const COLUMNS: [&str; 7] = [
    "scenario",
    "model",
    "from -> to",
    "records",
    "actual",
    "at the new provider",
    "savings",
];

pub struct Row {
    pub scenario: String,
    pub model: String,
    pub pair: String,
    pub records: u64,
    pub actual: Money,
    pub cost: Money,
    pub savings: Money,
}

/// Sentences (how many records were priced at the maker's price, and why) and the rows of
/// the savings per (model, from -> to). Both empty when there is nothing to say.
pub fn section(s: &Summary) -> (Vec<String>, Vec<Row>) {
    let p = &s.providers;
    let mut notes = Vec::new();
    if p.unknown_at_maker_price > 0 {
        notes.push(format!(
            "{} priced at the maker's price: the log does not tell which provider sold them.",
            plural(p.unknown_at_maker_price, "record")
        ));
    }
    for n in &p.no_offer_at_maker_price {
        notes.push(format!(
            "{} of {} bought from {} priced at the maker's price: the catalog has no offer from {}.",
            plural(n.records, "record"),
            n.model,
            n.provider,
            n.provider
        ));
    }
    let rows = p
        .switches
        .iter()
        .map(|w| Row {
            scenario: w.scenario.clone(),
            model: w.model.clone(),
            pair: format!("{} -> {}", w.from, w.to),
            records: w.records,
            actual: w.actual_cost,
            cost: w.cost,
            savings: w.savings,
        })
        .collect();
    (notes, rows)
}

/// Money as report.md writes it in tables: rounded half-even to 6 places.
pub fn md_money(m: Money) -> String {
    m.display(6)
}
