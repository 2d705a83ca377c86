//! The sections of the report, in order (the overview here; spending in spend.rs, the rest in
//! details.rs). Each is one function of the analysis returning its
//! section (and the parts under it), or nothing when it has nothing to say; adding a section
//! is adding it to [`SECTIONS`].

use super::blocks::{money, section, table, text};
use super::findings::{cost_parts, findings, shown_savings};
use super::{
    Bar, BarChart, Block, Card, Cell, Chart, LineChart, Section, Series, Tone, details, dollars,
    plural, providers, shown, spend,
};
use crate::analyze::{Analysis, Summary};
use crate::money::Money;
use std::collections::BTreeMap;

type Build = fn(&Analysis) -> Vec<Section>;

pub const SECTIONS: &[Build] = &[
    findings_section,
    daily_cost,
    scenarios,
    top_savings,
    providers::providers,
    spend::cost_by_model,
    spend::cost_by_key,
    spend::waste,
    details::break_even,
    details::reconciliation,
    details::billing,
    details::budgets,
    details::not_priced,
    details::price_changes,
    details::cost_per_day,
    details::warnings,
];

/// Rows of "Top savings" per scenario.
const TOP_SAVINGS: usize = 3;

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
            value: dollars(super::findings::saving_in_cents(s, best)),
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
        let seats = sc.seats.unwrap_or(1);
        blocks.push(Block::Paragraph(format!(
            "Plan fee in {}: {} for the {} of the period (the monthly fee prorated by day within each month{}).",
            sc.name,
            dollars(sc.fixed_cost),
            plural(u64::from(s.period.days), "day"),
            if seats == 1 {
                String::new()
            } else {
                format!(", times {seats} seats")
            }
        )));
    }
    let rules: Vec<String> = s
        .scenarios
        .iter()
        .filter_map(|x| x.rule.as_deref().map(|r| format!("{}: {r}.", x.name)))
        .collect();
    if !rules.is_empty() {
        blocks.push(Block::List(rules));
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
