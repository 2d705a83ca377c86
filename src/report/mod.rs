//! Report writers: one per output format, each turning the analysis into files. Writers never
//! compute figures; they only format what `analyze` produced.

mod csv_tables;
pub mod focus;
pub mod focus_spec;
mod html;
mod markdown;
#[cfg(feature = "parquet")]
mod parquet;
mod quarantine;
mod safe_text;
mod summary;
mod svg;

use crate::analyze::Analysis;
use crate::catalog::Catalog;
use crate::outcome::Quarantined;
use crate::record::UsageRecord;
use crate::reprice::Priced;
use crate::scenario::ScenarioSet;
#[cfg(feature = "parquet")]
pub use parquet::RecordsSink;
use std::io;
use std::path::Path;

/// records.parquet, written while records stream through the run, before the analysis is
/// done; nothing when the build leaves Parquet out.
pub struct RecordsOut<'a> {
    #[cfg(feature = "parquet")]
    sink: Option<parquet::RecordsSink<'a>>,
    #[cfg(not(feature = "parquet"))]
    _unused: std::marker::PhantomData<&'a ()>,
}

impl<'a> RecordsOut<'a> {
    /// Writes into `dir` when given; otherwise takes records and writes nothing.
    #[allow(unused_variables)]
    pub fn create(
        dir: Option<&Path>,
        catalog: &'a Catalog,
        scenarios: &'a ScenarioSet,
    ) -> io::Result<RecordsOut<'a>> {
        Ok(RecordsOut {
            #[cfg(feature = "parquet")]
            sink: dir
                .map(|d| parquet::RecordsSink::create(&d.join(RECORDS_FILE), catalog, scenarios))
                .transpose()?,
            #[cfg(not(feature = "parquet"))]
            _unused: std::marker::PhantomData,
        })
    }

    #[allow(unused_variables)]
    pub fn add(&mut self, records: &[UsageRecord], priced: &[Priced]) -> io::Result<()> {
        #[cfg(feature = "parquet")]
        if let Some(s) = &mut self.sink {
            s.add(records, priced)?;
        }
        Ok(())
    }

    pub fn finish(self) -> io::Result<()> {
        #[cfg(feature = "parquet")]
        if let Some(s) = self.sink {
            s.finish()?;
        }
        Ok(())
    }
}

pub const RECORDS_FILE: &str = "records.parquet";

/// Everything a writer may read.
pub struct ReportInput<'a> {
    pub analysis: &'a Analysis,
    pub catalog: &'a Catalog,
    pub scenarios: &'a ScenarioSet,
    pub quarantine: &'a [Quarantined],
}

pub trait Writer: Sync {
    /// The files it writes, for the manifest and help text.
    fn files(&self) -> &'static [&'static str];
    fn write(&self, input: &ReportInput<'_>, dir: &Path) -> io::Result<()>;
}

/// Every writer `reprice run` uses, in order.
pub fn writers() -> Vec<Box<dyn Writer>> {
    vec![
        Box::new(summary::SummaryJson),
        Box::new(csv_tables::CsvTables),
        Box::new(markdown::Markdown),
        Box::new(html::Html),
        Box::new(quarantine::QuarantineJsonl),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::report_model::Report;
    use crate::analyze::{BalanceGap, DayOverCap, NamedCount, PriceChange};
    use crate::money::Money;
    use chrono::NaiveDate;

    /// Headings of report.md: (level, text).
    fn md_headings(md: &str) -> Vec<(usize, String)> {
        md.lines()
            .filter(|l| l.starts_with('#'))
            .map(|l| {
                let level = l.chars().take_while(|c| *c == '#').count();
                (level, l[level..].trim().to_string())
            })
            .collect()
    }

    /// Headings of report.html: (level, text), entities left as they are.
    fn html_headings(html: &str) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        let mut rest = html;
        while let Some(i) = rest.find("<h") {
            rest = &rest[i + 2..];
            let Some(level) = rest.chars().next().and_then(|c| c.to_digit(10)) else {
                continue;
            };
            let close = format!("</h{level}>");
            let (Some(start), Some(end)) = (rest.find('>'), rest.find(&close)) else {
                continue;
            };
            out.push((level as usize, rest[start + 1..end].to_string()));
            rest = &rest[end..];
        }
        out
    }

    /// Both renderers show the same headings at the same levels in the same order, with every
    /// optional section present.
    #[test]
    fn markdown_and_html_have_the_same_headings() {
        let mut a = crate::analyze::empty_march_analysis();
        let day = NaiveDate::from_ymd_opt(2026, 3, 1).expect("day");
        let s = &mut a.summary;
        s.warnings = vec!["a warning".to_string()];
        s.reconciliation.checked = 2;
        s.reconciliation.gaps = vec![BalanceGap {
            key: "k".to_string(),
            time: chrono::DateTime::from_timestamp(1_772_400_000, 0).expect("time"),
            kind: "gap".to_string(),
            billed: Money::ZERO,
            balance_before: Money::ZERO,
            balance_after: Money::ZERO,
            amount: Money::ZERO,
        }];
        s.budget.days_over_cap = vec![DayOverCap {
            key: "k".to_string(),
            day,
            spent: Money::ZERO,
            cap: Money::ZERO,
        }];
        s.unknown_models = vec![NamedCount {
            model: "x".to_string(),
            records: 1,
        }];
        s.price_changes = vec![PriceChange {
            model: "m".to_string(),
            effective: day,
            source: "s".to_string(),
            records_before: 1,
            records_from: 1,
        }];
        let r = Report::build(&a);
        let md = md_headings(&markdown::render(&r));
        let html = html_headings(&html::render(&r));
        assert_eq!(md, html);
        let titles: Vec<&str> = md.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            titles,
            [
                "reprice report",
                "Findings",
                "Daily cost",
                "Scenarios",
                "Cost by model",
                "Cost by key",
                "Waste",
                "Unused quota: google-ai-pro",
                "Balance reconciliation",
                "Budgets",
                "Not priced by the catalog",
                "Price changes in the period",
                "Cost per day",
                "Warnings"
            ]
        );
        assert_eq!(md[7].0, 3);
    }
}
