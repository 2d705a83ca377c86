//! The report as one model: findings, sections with heading levels, typed table cells and chart
//! data. report.md and report.html are renderers of it and compute nothing, so they cannot
//! drift apart: a section or a finding added here appears in both.
//!
//! Every figure a table shows is rounded once (6 places, half-even) and every difference, share
//! or "rest" row shown beside it is derived from those rounded figures, so shown rows add up;
//! summary.json keeps the exact sums.

mod blocks;
mod counting;
mod details;
mod findings;
mod providers;
mod sections;
mod spend;

use super::Analysis;
use crate::money::Money;
pub use crate::wording::plural;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::{Decimal, RoundingStrategy};

pub use findings::{cost_split, findings, saving_in_cents};

/// Places of the money figures in tables.
pub const TABLE_PLACES: u32 = 6;

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub title: String,
    /// The period and input counts, under the title.
    pub intro: String,
    pub currency: String,
    /// Headline figures (report.html shows them as cards).
    pub cards: Vec<Card>,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    pub value: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// 2 for a section, 3 for a part of the section before it.
    pub level: u8,
    pub title: String,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Paragraph(String),
    List(Vec<String>),
    Table(Table),
    /// Drawn by report.html only; report.md points to its table or CSV instead.
    Chart(Chart),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    /// Right-aligned, sorted as a number.
    pub numeric: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    /// Already rounded to [`TABLE_PLACES`].
    Money(Money),
    Count(u64),
    /// A share (0.312 = 31.2%), shown as a percentage with one decimal.
    Share(Decimal),
    Date(NaiveDate),
    Time(DateTime<Utc>),
    /// A number the analysis formatted (break-even volumes).
    Number(String),
    Empty,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Chart {
    Lines(LineChart),
    Bars(BarChart),
    QuotaGrid(QuotaGrid),
}

/// Money per day, one line per series.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    pub id: String,
    pub title: String,
    pub currency: String,
    pub days: Vec<NaiveDate>,
    pub series: Vec<Series>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    /// The actual cost: drawn darker and thicker.
    pub actual: bool,
    pub values: Vec<Money>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    pub id: String,
    pub title: String,
    pub currency: String,
    pub bars: Vec<Bar>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: Money,
    pub tone: Tone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Neutral,
    Other,
    Good,
    Bad,
}

/// Unused quota units as a weekday-by-week grid: one cell per day of the period.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaGrid {
    pub id: String,
    pub title: String,
    /// The Monday of each column.
    pub weeks: Vec<NaiveDate>,
    pub cells: Vec<QuotaCell>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QuotaCell {
    pub day: NaiveDate,
    /// Column in `weeks`, and row (0 = Monday).
    pub week: usize,
    pub weekday: usize,
    pub quota: u64,
    pub unused: u64,
}

impl Report {
    /// The model of the whole report.
    pub fn build(a: &Analysis) -> Report {
        let s = &a.summary;
        Report {
            title: "reprice report".to_string(),
            intro: sections::intro(s),
            currency: s.currency.clone(),
            cards: sections::cards(s),
            sections: sections::SECTIONS.iter().flat_map(|f| f(a)).collect(),
        }
    }

    /// (level, title) of every heading, the title's first.
    pub fn headings(&self) -> Vec<(u8, &str)> {
        std::iter::once((1, self.title.as_str()))
            .chain(self.sections.iter().map(|s| (s.level, s.title.as_str())))
            .collect()
    }
}

/// A money figure as tables show it: rounded once, half-even.
pub fn shown(m: Money) -> Money {
    round(m, TABLE_PLACES)
}

/// A money figure rounded to cents, as sentences show it.
pub fn cents(m: Money) -> Money {
    round(m, 2)
}

fn round(m: Money, places: u32) -> Money {
    Money::from_decimal(
        m.decimal()
            .round_dp_with_strategy(places, RoundingStrategy::MidpointNearestEven),
    )
}

/// "$1,234.57": money for sentences, rounded half-even to cents.
pub fn dollars(m: Money) -> String {
    let s = m.abs().display(2);
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if m.is_negative() && s != "0.00" {
        "-"
    } else {
        ""
    };
    format!("{sign}${grouped}.{frac}")
}

/// A share as a percentage with one decimal ("31.2%"), rounded once, half-even.
pub fn percent(share: Decimal) -> String {
    let p = (share * Decimal::ONE_HUNDRED)
        .round_dp_with_strategy(1, RoundingStrategy::MidpointNearestEven);
    let text = format!("{p:.1}");
    if text == "-0.0" {
        "0.0%".to_string()
    } else {
        format!("{text}%")
    }
}

/// `part / whole` of two shown figures; `None` when the whole is zero.
pub fn share(part: Money, whole: Money) -> Option<Decimal> {
    part.share_of(whole)
}

#[cfg(test)]
mod tests;
