//! What reading an input tells beside its records: the lines set aside, each file's counts,
//! and the amounts a cost export says were billed. Ingest makes them, deduplication adds
//! conflicts, and the reports and run.json read them; they live apart from all three.

use crate::text::Text;
use serde::Serialize;

#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quarantined {
    pub file: String,
    pub line: u64,
    pub byte: u64,
    pub reason: String,
    /// The rejected line as read (lossy UTF-8, cut at 4,096 characters).
    pub raw: String,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FileReport {
    pub path: String,
    pub format: String,
    pub bytes: u64,
    /// BLAKE3 (hex) of the file's bytes as on disk (compressed, for gzip): what `b3sum` prints.
    pub blake3: String,
    pub lines: u64,
    pub records: u64,
    pub skipped: u64,
    pub quarantined: u64,
    /// Of the skipped lines: requests a gateway answered from its own cache (LiteLLM
    /// `cache_hit`), which made no provider call.
    #[serde(skip_serializing_if = "is_zero")]
    pub served_from_cache: u64,
    /// Rows of cost exports (OpenAI Costs API pages): what was billed, to reconcile usage with.
    #[serde(skip)]
    pub billed: Vec<BilledCost>,
}

/// One row of a provider's cost export: an amount billed for a day, a project and a line item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BilledCost {
    pub provider: Text,
    /// The UTC day of the bucket.
    pub day: chrono::NaiveDate,
    pub project: Option<Text>,
    pub line_item: Option<String>,
    pub amount: crate::money::Money,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
