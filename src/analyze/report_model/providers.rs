//! The providers section: records priced at the maker's price because the seller could not be
//! told or has no offer, and the savings of each provider switch per model and pair.

use super::blocks::{money, section, table, text};
use super::{Block, Cell, Section, plural};
use crate::analyze::Analysis;

pub(super) fn providers(a: &Analysis) -> Vec<Section> {
    let p = &a.summary.providers;
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
    let rows: Vec<Vec<Cell>> = p
        .switches
        .iter()
        .map(|w| {
            vec![
                text(&w.scenario),
                text(&w.model),
                text(&format!("{} -> {}", w.from, w.to)),
                Cell::Count(w.records),
                money(w.actual_cost),
                money(w.cost),
                money(w.savings),
            ]
        })
        .collect();
    if notes.is_empty() && rows.is_empty() {
        return Vec::new();
    }
    let mut blocks = Vec::new();
    if !notes.is_empty() {
        blocks.push(Block::List(notes));
    }
    if !rows.is_empty() {
        blocks.push(table(
            &[
                ("scenario", false),
                ("model", false),
                ("from -> to", false),
                ("records", true),
                ("actual", true),
                ("at the new provider", true),
                ("savings", true),
            ],
            rows,
        ));
    }
    vec![section(2, "Providers", blocks)]
}
