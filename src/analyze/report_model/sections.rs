//! The sections of the report, in order. Each is one function of the analysis returning its
//! section (and the parts under it), or nothing when it has nothing to say; adding a section
//! is adding it to [`SECTIONS`].

use super::findings::{cost_parts, findings, shown_savings, units_share};
use super::{
    Bar, BarChart, Block, Card, Cell, Chart, Column, LineChart, QuotaCell, QuotaGrid, Section,
    Series, Table, Tone, dollars, plural, share, shown,
};
use crate::analyze::{Analysis, Summary, TOP_ROWS, UnusedQuota};
use crate::money::Money;
use chrono::Datelike;
use std::collections::BTreeMap;

type Build = fn(&Analysis) -> Vec<Section>;

pub const SECTIONS: &[Build] = &[
    findings_section,
    daily_cost,
    scenarios,
    top_savings,
    cost_by_model,
    cost_by_key,
    waste,
    break_even,
    reconciliation,
    budgets,
    not_priced,
    price_changes,
    cost_per_day,
    warnings,
];

/// Charts of models and keys show the largest ones; the tables list them.
const MAX_BARS: usize = 20;
/// Rows of "Top savings" per scenario.
const TOP_SAVINGS: usize = 3;

fn section(level: u8, title: &str, blocks: Vec<Block>) -> Section {
    Section {
        level,
        title: title.to_string(),
        blocks,
    }
}

fn table(columns: &[(&str, bool)], rows: Vec<Vec<Cell>>) -> Block {
    Block::Table(Table {
        columns: columns
            .iter()
            .map(|(name, numeric)| Column {
                name: (*name).to_string(),
                numeric: *numeric,
            })
            .collect(),
        rows,
    })
}

fn text(s: &str) -> Cell {
    Cell::Text(s.to_string())
}

fn money(m: Money) -> Cell {
    Cell::Money(shown(m))
}

fn share_cell(part: Money, whole: Money) -> Cell {
    share(part, whole).map_or(Cell::Empty, Cell::Share)
}

pub fn intro(s: &Summary) -> String {
    let period = match (s.period.start, s.period.end) {
        (Some(a), Some(b)) => format!(
            "{a} to {b} ({}, time zone {})",
            plural(u64::from(s.period.days), "day"),
            s.time_zone
        ),
        _ => "no records".to_string(),
    };
    format!(
        "Period {period}. {} records from {} files ({} lines: {} duplicates, {} quarantined, {} without usage). Amounts in {}.",
        s.input.records,
        s.input.files,
        s.input.lines,
        s.input.duplicates,
        s.input.quarantined,
        s.input.skipped,
        s.currency
    )
}

pub fn cards(s: &Summary) -> Vec<Card> {
    let mut out = vec![
        Card {
            value: dollars(s.actual.cost),
            label: format!("cost ({})", cost_parts(s)),
        },
        Card {
            value: s.input.records.to_string(),
            label: "requests".to_string(),
        },
        Card {
            value: s.actual.images.to_string(),
            label: "images".to_string(),
        },
    ];
    if let Some(best) = s
        .scenarios
        .iter()
        .max_by(|x, y| x.savings.cmp(&y.savings).then_with(|| y.name.cmp(&x.name)))
    {
        out.push(Card {
            value: dollars(best.savings),
            label: format!("net savings of the best scenario, {}", best.name),
        });
    }
    out
}

fn findings_section(a: &Analysis) -> Vec<Section> {
    vec![section(
        2,
        "Findings",
        vec![Block::List(findings(&a.summary))],
    )]
}

fn daily_cost(a: &Analysis) -> Vec<Section> {
    let s = &a.summary;
    let days: Vec<_> = a.by_day.iter().map(|d| d.day).collect();
    let actual = Series {
        name: "actual".to_string(),
        actual: true,
        values: a.by_day.iter().map(|d| d.actual).collect(),
    };
    let lines = |plans: bool| -> Vec<Series> {
        let mut out = vec![actual.clone()];
        for (i, sc) in s.scenarios.iter().enumerate() {
            if (sc.kind == "subscription") == plans {
                out.push(Series {
                    name: sc.name.clone(),
                    actual: false,
                    values: a
                        .by_day
                        .iter()
                        .map(|d| d.scenarios.get(i).copied().unwrap_or(Money::ZERO))
                        .collect(),
                });
            }
        }
        out
    };
    let mut blocks = vec![Block::Chart(Chart::Lines(LineChart {
        id: "chart-daily".to_string(),
        title: "Cost per day: actual and pay-as-you-go scenarios".to_string(),
        currency: s.currency.clone(),
        days: days.clone(),
        series: lines(false),
    }))];
    let plans = lines(true);
    if plans.len() > 1 {
        blocks.push(Block::Chart(Chart::Lines(LineChart {
            id: "chart-daily-plans".to_string(),
            title: "Cost per day: actual and subscription plans (fee prorated onto each day)"
                .to_string(),
            currency: s.currency.clone(),
            days,
            series: plans,
        })));
    }
    blocks.push(Block::Paragraph(
        "Subscription scenarios include the plan fee prorated onto each day; the cost of each day under every scenario is in the table \"Cost per day\" and in by_day.csv.".to_string(),
    ));
    vec![section(2, "Daily cost", blocks)]
}

fn scenarios(a: &Analysis) -> Vec<Section> {
    let s = &a.summary;
    let actual = shown(s.actual.cost);
    let bars = s
        .scenarios
        .iter()
        .map(|x| {
            let (savings, _) = shown_savings(s, x);
            Bar {
                label: x.name.clone(),
                value: savings,
                tone: if savings.is_negative() {
                    Tone::Bad
                } else {
                    Tone::Good
                },
            }
        })
        .collect();
    let mut rows = vec![vec![
        text("actual"),
        Cell::Empty,
        Cell::Money(actual),
        Cell::Empty,
        Cell::Empty,
        Cell::Empty,
        Cell::Empty,
    ]];
    for x in &s.scenarios {
        let (savings, pct) = shown_savings(s, x);
        rows.push(vec![
            text(&x.name),
            text(&x.kind),
            money(x.cost),
            money(x.fixed_cost),
            Cell::Money(savings),
            pct.map_or(Cell::Empty, Cell::Share),
            Cell::Count(x.records_changed),
        ]);
    }
    let mut blocks = vec![
        Block::Chart(Chart::Bars(BarChart {
            id: "chart-savings".to_string(),
            title: "Net savings per scenario against the actual cost; below zero the scenario costs more".to_string(),
            currency: s.currency.clone(),
            bars,
        })),
        table(
            &[
                ("scenario", false),
                ("kind", false),
                ("cost", true),
                ("plan fee", true),
                ("savings", true),
                ("savings %", true),
                ("records changed", true),
            ],
            rows,
        ),
    ];
    for sc in s.scenarios.iter().filter(|x| !x.fixed_cost.is_zero()) {
        blocks.push(Block::Paragraph(format!(
            "Plan fee in {}: {} for the {} of the period (the monthly fee prorated by day within each month).",
            sc.name,
            dollars(sc.fixed_cost),
            plural(u64::from(s.period.days), "day")
        )));
    }
    let mut out = vec![section(2, "Scenarios", blocks)];
    let misses: Vec<Vec<Cell>> = s
        .scenarios
        .iter()
        .flat_map(|sc| {
            sc.not_applied.iter().map(move |n| {
                vec![
                    text(&sc.name),
                    text(&n.model),
                    text(&n.reason),
                    Cell::Count(n.records),
                ]
            })
        })
        .collect();
    if !misses.is_empty() {
        out.push(section(
            3,
            "Records a scenario could not change",
            vec![table(
                &[
                    ("scenario", false),
                    ("model", false),
                    ("reason", false),
                    ("records", true),
                ],
                misses,
            )],
        ));
    }
    out
}

/// Where each scenario saved, ranked by the scenario's net savings first: a plan that costs
/// more overall is not listed before the scenarios that save, whatever its quota covered.
fn top_savings(a: &Analysis) -> Vec<Section> {
    let s = &a.summary;
    let mut groups: BTreeMap<(usize, &str, &str), (u64, Money)> = BTreeMap::new();
    let index: BTreeMap<&str, usize> = s
        .scenarios
        .iter()
        .enumerate()
        .map(|(i, x)| (x.name.as_str(), i))
        .collect();
    for r in a
        .savings
        .iter()
        .filter(|r| !r.via.is_empty() && r.via != "plan fee")
    {
        let Some(&i) = index.get(r.scenario.as_str()) else {
            continue;
        };
        let e = groups
            .entry((i, r.model.as_str(), r.via.as_str()))
            .or_default();
        e.0 += r.records;
        e.1 += r.actual - r.cost;
    }
    let mut top: Vec<_> = groups
        .into_iter()
        .map(|((i, model, via), (n, sv))| (i, model, via, n, shown(sv)))
        .filter(|r| !r.4.is_zero())
        .map(|(i, model, via, n, sv)| (shown_savings(s, &s.scenarios[i]).0, i, model, via, n, sv))
        .collect();
    top.sort_by(|x, y| {
        y.0.cmp(&x.0)
            .then_with(|| x.1.cmp(&y.1))
            .then_with(|| y.5.cmp(&x.5))
            .then_with(|| (x.2, x.3).cmp(&(y.2, y.3)))
    });
    if top.is_empty() {
        return Vec::new();
    }
    let mut per_scenario: BTreeMap<usize, usize> = BTreeMap::new();
    let rows = top
        .iter()
        .filter(|r| {
            let n = per_scenario.entry(r.1).or_default();
            *n += 1;
            *n <= TOP_SAVINGS
        })
        .map(|(net, i, model, via, n, sv)| {
            vec![
                text(&s.scenarios[*i].name),
                Cell::Money(*net),
                text(model),
                text(via),
                Cell::Count(*n),
                Cell::Money(*sv),
            ]
        })
        .collect();
    vec![section(
        2,
        "Top savings",
        vec![
            Block::Paragraph(format!(
                "Scenarios in order of net savings (plan fees and dearer records included), then the {TOP_SAVINGS} groups of records each saved most on; every group is in savings.csv."
            )),
            table(
                &[
                    ("scenario", false),
                    ("scenario net savings", true),
                    ("model", false),
                    ("re-priced on", false),
                    ("records", true),
                    ("savings on these records", true),
                ],
                rows,
            ),
        ],
    )]
}

fn cost_by_model(a: &Analysis) -> Vec<Section> {
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
fn cost_by_key(a: &Analysis) -> Vec<Section> {
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

fn waste(a: &Analysis) -> Vec<Section> {
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
        &format!("Unused quota: {}", q.plan),
        vec![
            Block::Paragraph(format!(
                "{} of {} units unused over {} days ({}), worth {} of the fee.",
                q.unused_units,
                q.quota_units,
                q.days,
                units_share(q.unused_units, q.quota_units),
                dollars(q.unused_value)
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

fn break_even(a: &Analysis) -> Vec<Section> {
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
                ("plan is cheaper above (units/month)", true),
            ],
            rows,
        )],
    )]
}

fn reconciliation(a: &Analysis) -> Vec<Section> {
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

fn budgets(a: &Analysis) -> Vec<Section> {
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

fn not_priced(a: &Analysis) -> Vec<Section> {
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

fn price_changes(a: &Analysis) -> Vec<Section> {
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

fn cost_per_day(a: &Analysis) -> Vec<Section> {
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

fn warnings(a: &Analysis) -> Vec<Section> {
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
