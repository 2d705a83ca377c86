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
mod summary;

use crate::analyze::Analysis;
use crate::catalog::Catalog;
use crate::ingest::Quarantined;
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

/// `=`, `+`, `-`, `@` (and tab/CR) at the start of a text cell make spreadsheets run it as a
/// formula; a leading apostrophe keeps it text. Numbers are written by the writers themselves
/// and never pass through here.
pub fn csv_text(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_string(),
    }
}

/// Removes control characters from text that came from logs before it reaches a report.
pub fn clean_text(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutralizes_formulas() {
        assert_eq!(csv_text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_text("-home-dev"), "'-home-dev");
        assert_eq!(csv_text("@sum"), "'@sum");
        assert_eq!(csv_text("gpt-image-1"), "gpt-image-1");
        assert_eq!(clean_text("a\u{1b}[31mb\n"), "a\u{fffd}[31mb\u{fffd}");
    }
}
