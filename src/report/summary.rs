//! summary.json: the contract for scripts (schema in schemas/summary.schema.json).

use super::{ReportInput, Writer};
use std::io;
use std::path::Path;

pub struct SummaryJson;

impl Writer for SummaryJson {
    fn files(&self) -> &'static [&'static str] {
        &["summary.json"]
    }

    fn write(&self, input: &ReportInput<'_>, dir: &Path) -> io::Result<()> {
        let mut text =
            serde_json::to_string_pretty(&input.analysis.summary).map_err(io::Error::other)?;
        text.push('\n');
        std::fs::write(dir.join("summary.json"), text)
    }
}
