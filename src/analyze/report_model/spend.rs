//! Sections on where the money went: cost by model and key, waste, unused quota.

use super::blocks::{money, section, share_cell, table, text};
use super::findings::units_share;
use super::{
    Bar, BarChart, Block, Cell, Chart, QuotaCell, QuotaGrid, Section, Tone, dollars, plural, shown,
};
use crate::analyze::{Analysis, UnusedQuota};
use crate::money::Money;
use chrono::Datelike;
use std::collections::BTreeMap;

/// Charts of models and keys show the largest ones; the tables list them.
const MAX_BARS: usize = 20;

pub(super) fn cost_by_model(a: &Analysis) -> Vec<Section> {
    let s = &a.summary;
    let bars = s
        .models
        .iter()
        .take(MAX_BARS)
        .map(|m| Bar {
            label: m.model.clone(),
            value: m.cost,
            tone: Tone::Neutral,
        })
        .collect();
    let rows = s
        .models
        .iter()
        .map(|m| {
            vec![
                text(&m.model),
                Cell::Count(m.records),
                Cell::Count(m.images),
                Cell::Count(m.input_tokens),
                Cell::Count(m.output_tokens),
                Cell::Count(m.thinking_tokens),
                money(m.cost),
            ]
        })
        .collect();
    vec![section(
        2,
        "Cost by model",
        vec![
            Block::Chart(Chart::Bars(BarChart {
                id: "chart-models".to_string(),
                title: bars_title("Cost by model", s.models.len()),
                currency: s.currency.clone(),
                bars,
            })),
            table(
                &[
                    ("model", false),
                    ("records", true),
                    ("images", true),
                    ("input tokens", true),
                    ("output tokens", true),
                    ("thinking tokens", true),
                    ("cost", true),
                ],
                rows,
            ),
        ],
    )]
}

fn bars_title(what: &str, n: usize) -> String {
    if n > MAX_BARS {
        format!("{what} (the {MAX_BARS} largest of {n})")
    } else {
        what.to_string()
    }
}

/// The keys that cost most, then one row for the rest: its cost is the shown total less the
/// shown rows, so the table adds up to the total under it.
pub(super) fn cost_by_key(a: &Analysis) -> Vec<Section> {
    let s = &a.summary;
    let bars = s
        .keys
        .iter()
        .take(MAX_BARS)
        .map(|k| Bar {
            label: k.key.clone(),
            value: k.cost,
            tone: Tone::Other,
        })
        .collect();
    let total = shown(s.actual.cost);
    let mut rows: Vec<Vec<Cell>> = s
        .keys
        .iter()
        .map(|k| vec![text(&k.key), Cell::Count(k.records), money(k.cost)])
        .collect();
    let mut blocks = vec![Block::Chart(Chart::Bars(BarChart {
        id: "chart-keys".to_string(),
        title: "Cost by key".to_string(),
        currency: s.currency.clone(),
        bars,
    }))];
    if let Some(o) = &s.other_keys {
        let listed: Money = s.keys.iter().map(|k| shown(k.cost)).sum();
        rows.push(vec![
            Cell::Text(format!("the other {}", plural(o.keys, "key"))),
            Cell::Count(o.records),
            Cell::Money(total - listed),
        ]);
        rows.push(vec![
            text("all keys"),
            Cell::Count(s.input.records),
            Cell::Money(total),
        ]);
        blocks.push(Block::Paragraph(format!(
            "The {} keys that cost most, of {}; every key is in by_key.csv.",
            s.keys.len(),
            s.keys.len() as u64 + o.keys
        )));
    }
    blocks.push(table(
        &[("key", false), ("records", true), ("cost", true)],
        rows,
    ));
    vec![section(2, "Cost by key", blocks)]
}

pub(super) fn waste(a: &Analysis) -> Vec<Section> {
    let s = &a.summary;
    let w = &s.waste;
    let kinds = [
        (
            "failed but billed",
            Some(w.failed_billed_requests),
            w.failed_billed_cost,
        ),
        (
            "rejected by content policy but billed",
            Some(w.rejected_billed_requests),
            w.rejected_billed_cost,
        ),
        (
            "superseded by a retry",
            Some(w.superseded_billed_requests),
            w.superseded_billed_cost,
        ),
        ("thinking tokens", None, w.thinking_cost),
        ("search and grounding extras", None, w.extras_cost),
    ];
    let bars = kinds
        .iter()
        .map(|(label, _, cost)| Bar {
            label: (*label).to_string(),
            value: *cost,
            tone: Tone::Bad,
        })
        .collect();
    let rows = kinds
        .iter()
        .map(|(label, n, cost)| {
            vec![
                text(label),
                n.map_or(Cell::Empty, Cell::Count),
                money(*cost),
            ]
        })
        .collect();
    let mut blocks = vec![
        Block::Chart(Chart::Bars(BarChart {
            id: "chart-waste".to_string(),
            title: "Waste by kind".to_string(),
            currency: s.currency.clone(),
            bars,
        })),
        table(&[("what", false), ("requests", true), ("cost", true)], rows),
    ];
    if !w.thinking_by_model.is_empty() {
        // The share divides by the model's cost as the cost-by-model table shows it.
        let model_cost: BTreeMap<&str, Money> = s
            .models
            .iter()
            .map(|m| (m.model.as_str(), shown(m.cost)))
            .collect();
        let rows = w
            .thinking_by_model
            .iter()
            .map(|t| {
                let cost = model_cost
                    .get(t.model.as_str())
                    .copied()
                    .unwrap_or_else(|| shown(t.cost));
                vec![
                    text(&t.model),
                    Cell::Count(t.thinking_tokens),
                    money(t.thinking_cost),
                    Cell::Money(cost),
                    share_cell(shown(t.thinking_cost), cost),
                ]
            })
            .collect();
        blocks.push(table(
            &[
                ("model", false),
                ("thinking tokens", true),
                ("thinking cost", true),
                ("model cost", true),
                ("share of model cost", true),
            ],
            rows,
        ));
    }
    let mut out = vec![section(2, "Waste", blocks)];
    for (i, q) in w.unused_quota.iter().enumerate() {
        out.push(unused_quota(i, q));
    }
    out
}

fn unused_quota(i: usize, q: &UnusedQuota) -> Section {
    let first_monday = q
        .by_day
        .first()
        .map(|d| d.day - chrono::Duration::days(i64::from(d.day.weekday().num_days_from_monday())));
    let mut weeks = Vec::new();
    let mut cells = Vec::new();
    if let Some(first) = first_monday {
        for d in &q.by_day {
            let week = ((d.day - first).num_days() / 7) as usize;
            while weeks.len() <= week {
                weeks.push(first + chrono::Duration::days(7 * weeks.len() as i64));
            }
            cells.push(QuotaCell {
                day: d.day,
                week,
                weekday: d.day.weekday().num_days_from_monday() as usize,
                quota: d.quota_units,
                unused: d.unused_units,
            });
        }
    }
    let rows = q
        .by_weekday
        .iter()
        .map(|d| {
            vec![
                text(&d.weekday),
                Cell::Count(u64::from(d.days)),
                Cell::Count(d.quota_units),
                Cell::Count(d.unused_units),
                share_cell(
                    Money::from_decimal(d.unused_units.into()),
                    Money::from_decimal(q.quota_units.into()),
                ),
            ]
        })
        .collect();
    section(
        3,
        &format!(
            "Unused quota: {}{}",
            q.plan,
            if q.scenario == q.plan {
                String::new()
            } else {
                format!(" (scenario {})", q.scenario)
            }
        ),
        vec![
            Block::Paragraph(format!(
                "{} of {} units unused over {} days ({}), worth {} of the fee{}.",
                q.unused_units,
                q.quota_units,
                q.days,
                units_share(q.unused_units, q.quota_units),
                dollars(q.unused_value),
                if q.seats == 1 {
                    String::new()
                } else {
                    format!(" (the daily quota of each of {} seats)", q.seats)
                }
            )),
            Block::Chart(Chart::QuotaGrid(QuotaGrid {
                id: format!("chart-unused-{}", i + 1),
                title: format!(
                    "Unused {} quota units per day, by weekday and week (darker: more of the day's quota unused)",
                    q.plan
                ),
                weeks,
                cells,
            })),
            table(
                &[
                    ("weekday", false),
                    ("days", true),
                    ("quota", true),
                    ("unused", true),
                    ("share of period quota", true),
                ],
                rows,
            ),
        ],
    )
}
