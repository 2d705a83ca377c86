//! Sections of detail: break-even, balance reconciliation, budgets, what the catalog could not
//! price, price changes, cost per day, warnings.

use super::blocks::{money, section, table, text};
use super::{Block, Cell, Section, dollars, plural, shown};
use crate::analyze::{Analysis, TOP_ROWS};
use crate::money::Money;

pub(super) fn break_even(a: &Analysis) -> Vec<Section> {
    let s = &a.summary;
    if s.break_even.is_empty() {
        return Vec::new();
    }
    let rows = s
        .break_even
        .iter()
        .map(|b| {
            vec![
                text(&b.plan),
                text(&b.model),
                text(b.size.as_deref().unwrap_or("")),
                money(b.unit_price),
                Cell::Count(b.observed_units),
                Cell::Number(b.units_per_month.clone()),
            ]
        })
        .collect();
    vec![section(
        2,
        "Break-even",
        vec![table(
            &[
                ("plan", false),
                ("model", false),
                ("size", false),
                ("observed price per unit", true),
                ("units", true),
                ("plan is cheaper above (units/month per seat)", true),
            ],
            rows,
        )],
    )]
}

/// Cost exports (what providers billed per day and project) against the usage exports priced
/// at the catalog, when cost pages were read.
pub(super) fn billing(a: &Analysis) -> Vec<Section> {
    let r = &a.summary.billing;
    if r.checked == 0 {
        return Vec::new();
    }
    let mut blocks = vec![Block::Paragraph(format!(
        "{} day and project groups checked, {} matched; billed {}, usage at catalog prices {}.",
        r.checked,
        r.matched,
        dollars(r.billed),
        dollars(r.usage_cost)
    ))];
    if !r.differences.is_empty() {
        let rows = r
            .differences
            .iter()
            .map(|d| {
                vec![
                    text(&d.provider),
                    Cell::Date(d.day),
                    text(d.project.as_deref().unwrap_or("(none)")),
                    money(d.usage_cost),
                    money(d.billed),
                    money(d.difference),
                ]
            })
            .collect();
        blocks.push(table(
            &[
                ("provider", false),
                ("day (UTC)", false),
                ("project", false),
                ("usage cost", true),
                ("billed", true),
                ("difference", true),
            ],
            rows,
        ));
    }
    vec![section(2, "Cost exports against usage exports", blocks)]
}

pub(super) fn reconciliation(a: &Analysis) -> Vec<Section> {
    let r = &a.summary.reconciliation;
    if r.checked == 0 {
        return Vec::new();
    }
    let mut blocks = vec![Block::Paragraph(format!(
        "{} balance changes checked, {} matched the billed cost; unexplained drops {}, top-ups {}.",
        r.checked,
        r.matched,
        dollars(r.unexplained),
        dollars(r.top_ups)
    ))];
    if !r.gaps.is_empty() {
        let mut rows: Vec<Vec<Cell>> = r
            .gaps
            .iter()
            .map(|g| {
                vec![
                    text(&g.key),
                    Cell::Time(g.time),
                    text(&g.kind),
                    money(g.billed),
                    money(g.balance_before),
                    money(g.balance_after),
                    money(g.amount),
                ]
            })
            .collect();
        if let Some(o) = &r.other_gaps {
            // The rest rows are the shown totals less the shown rows, so the column adds up.
            let listed = |kind: &str| -> Money {
                r.gaps
                    .iter()
                    .filter(|g| g.kind == kind)
                    .map(|g| shown(g.amount))
                    .sum()
            };
            for (n, kind, total, what) in [
                (o.gaps, "gap", r.unexplained, "unexplained drop"),
                (o.top_up_count, "top_up", r.top_ups, "top-up"),
            ] {
                if n > 0 {
                    rows.push(vec![
                        Cell::Text(format!("the other {}", plural(n, what))),
                        Cell::Empty,
                        text(kind),
                        Cell::Empty,
                        Cell::Empty,
                        Cell::Empty,
                        Cell::Money(shown(total) - listed(kind)),
                    ]);
                }
            }
            blocks.push(Block::Paragraph(format!(
                "The {TOP_ROWS} largest unexplained drops (then top-ups) are listed; every balance change that did not match is in reconciliation.csv."
            )));
        }
        blocks.push(table(
            &[
                ("key", false),
                ("time", false),
                ("kind", false),
                ("billed", true),
                ("balance before", true),
                ("balance after", true),
                ("amount", true),
            ],
            rows,
        ));
    }
    vec![section(2, "Balance reconciliation", blocks)]
}

pub(super) fn budgets(a: &Analysis) -> Vec<Section> {
    let b = &a.summary.budget;
    if b.days_over_cap.is_empty() && b.months_over_budget.is_empty() {
        return Vec::new();
    }
    let items = b
        .days_over_cap
        .iter()
        .map(|d| {
            format!(
                "{} on {}: spent {} against a daily cap of {}",
                d.key,
                d.day,
                dollars(d.spent),
                dollars(d.cap)
            )
        })
        .chain(b.months_over_budget.iter().map(|m| {
            format!(
                "{}: spent {} against a monthly budget of {}",
                m.month,
                dollars(m.spent),
                dollars(m.budget)
            )
        }))
        .collect();
    vec![section(2, "Budgets", vec![Block::List(items)])]
}

pub(super) fn not_priced(a: &Analysis) -> Vec<Section> {
    let s = &a.summary;
    if s.unknown_models.is_empty() && s.unpriced.is_empty() {
        return Vec::new();
    }
    let items = s
        .unknown_models
        .iter()
        .map(|u| format!("unknown model {}: {}", u.model, plural(u.records, "record")))
        .chain(s.unpriced.iter().map(|u| {
            format!(
                "{}: {} ({})",
                u.model,
                u.reason,
                plural(u.records, "record")
            )
        }))
        .collect();
    vec![section(
        2,
        "Not priced by the catalog",
        vec![Block::List(items)],
    )]
}

pub(super) fn price_changes(a: &Analysis) -> Vec<Section> {
    let s = &a.summary;
    if s.price_changes.is_empty() {
        return Vec::new();
    }
    let rows = s
        .price_changes
        .iter()
        .map(|c| {
            vec![
                text(&c.model),
                Cell::Date(c.effective),
                Cell::Count(c.records_before),
                Cell::Count(c.records_from),
                text(&c.source),
            ]
        })
        .collect();
    vec![section(
        2,
        "Price changes in the period",
        vec![table(
            &[
                ("model", false),
                ("new price from", false),
                ("records before", true),
                ("records from", true),
                ("source", false),
            ],
            rows,
        )],
    )]
}

pub(super) fn cost_per_day(a: &Analysis) -> Vec<Section> {
    if a.by_day.is_empty() {
        return Vec::new();
    }
    let mut columns: Vec<(String, bool)> = vec![
        ("day".to_string(), false),
        ("records".to_string(), true),
        ("actual".to_string(), true),
    ];
    columns.extend(a.summary.scenarios.iter().map(|x| (x.name.clone(), true)));
    let columns: Vec<(&str, bool)> = columns.iter().map(|(n, b)| (n.as_str(), *b)).collect();
    let rows = a
        .by_day
        .iter()
        .map(|d| {
            let mut row = vec![Cell::Date(d.day), Cell::Count(d.records), money(d.actual)];
            row.extend(d.scenarios.iter().map(|c| money(*c)));
            row
        })
        .collect();
    vec![section(2, "Cost per day", vec![table(&columns, rows)])]
}

pub(super) fn warnings(a: &Analysis) -> Vec<Section> {
    let s = &a.summary;
    if s.warnings.is_empty() {
        return Vec::new();
    }
    vec![section(
        2,
        "Warnings",
        vec![Block::List(s.warnings.clone())],
    )]
}
