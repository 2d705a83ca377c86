//! How a run reads its inputs: the format when it is not detected, CSV mappings, the line
//! limit and the day of lines without a time.

use super::csv_export::CsvMapping;
use super::detect::Format;

pub struct Options<'a> {
    pub format: Option<Format>,
    pub csv_mappings: &'a [CsvMapping],
    /// Longer lines are quarantined and skipped without being held (`--max-line-size`).
    pub max_line: usize,
    /// The day of lines that carry no time and have no batch job record beside their file
    /// (Gemini Batch API output; `--default-day`).
    pub default_day: Option<chrono::NaiveDate>,
}

impl<'a> Options<'a> {
    /// Detection on, the default line limit, no default day: what a run without flags uses.
    pub fn new(csv_mappings: &'a [CsvMapping]) -> Options<'a> {
        Options {
            format: None,
            csv_mappings,
            max_line: MAX_LINE,
            default_day: None,
        }
    }
}

/// The default `--max-line-size`: far above any real log line (a response with a 4K image
/// inlined as base64 is about 30 MB), far below what a run can afford to hold.
pub const MAX_LINE: usize = 64 << 20;
