//! Command-line arguments. Parsing only; `run` and friends do the work.

use crate::ingest::Format;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

pub use crate::error::EXIT_CODES;

#[derive(Parser, Debug)]
#[command(
    name = "reprice",
    version,
    about = "Re-price AI API usage logs under other models, providers, batch tiers and plans; report savings and waste.",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Read logs, re-price every record under every scenario, write the reports.
    #[command(after_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// Parse only: print every bad line as file:line: reason.
    #[command(after_help = VALIDATE_EXAMPLES)]
    Validate(ValidateArgs),
    /// Show the price catalog in force.
    #[command(after_help = CATALOG_EXAMPLES)]
    Catalog {
        #[command(subcommand)]
        command: CatalogCommand,
        /// A catalog file instead of the built-in one (TOML, or LiteLLM price JSON); repeat it
        /// to lay TOML overrides on top.
        #[arg(long, global = true, value_name = "FILE")]
        catalog: Vec<PathBuf>,
    },
    /// Write the JSON Schemas of every input, config and output file.
    #[command(after_help = SCHEMA_EXAMPLES)]
    Schema {
        /// The folder the schemas are written into (created when missing; files of the same
        /// names are replaced).
        #[arg(long, default_value = "schemas", value_name = "DIR")]
        out: PathBuf,
    },
    /// Write deterministic synthetic logs, for tests and benchmarks.
    #[command(after_help = GEN_EXAMPLES)]
    Gen(GenArgs),
}

pub const VALIDATE_EXAMPLES: &str = "\
Exit codes: 0 every line is a record or carries no usage, 3 some lines are bad (listed on
stdout), 1 usage, 2 an input could not be read, 8 no input lines at all.

Examples:
  reprice validate /var/exports/2026-03          # every bad line as file:line: reason
  reprice validate export.csv --csv-map ours.toml
  zcat export.jsonl.gz | reprice validate -";

pub const CATALOG_EXAMPLES: &str = "\
Examples:
  reprice catalog list                                    # the built-in catalog
  reprice catalog show gemini-3-pro-image                 # one model's price history
  reprice catalog list --catalog builtin --catalog ours.toml   # with our negotiated prices";

pub const SCHEMA_EXAMPLES: &str = "\
Examples:
  reprice schema                       # into ./schemas
  reprice schema --out /tmp/schemas";

pub const GEN_EXAMPLES: &str = "\
Examples:
  reprice gen --records 1000 --out logs/sample.jsonl
  reprice gen --records 2000000 --seed 7 --out big.jsonl       # benchmark input
  reprice gen --format claude-code --records 500 --out session.jsonl";

pub const RUN_EXAMPLES: &str = "\
Exit codes: published 0 ok, 3 lines quarantined, 4 budget or cap exceeded, 7 records not priced
(precedence 4, 7, 3); not published 1 usage/config or unsafe --out, 2 input unreadable,
5 reports not written, 6 state locked, 8 nothing to report (see `reprice --help`).

Examples:
  reprice run                                   # the shipped sample_logs -> reports/
  reprice run /var/exports/2026-03 --out /srv/cost/2026-03 --tz Europe/Berlin
  reprice run /var/exports --state /var/lib/reprice --quiet   # nightly, from cron
  reprice run logs/ --focus --out costs            # also focus.csv (FinOps FOCUS 1.2)
  reprice run logs/ --records --out costs          # also records.parquet, one row per record
  reprice run logs/ --scenarios cheaper.toml --since 2026-03-01 --until 2026-03-31
  zcat export.jsonl.gz | reprice run - --out /tmp/r

Environment:
  TMPDIR            where large inputs are sorted, in a private folder removed after the run
                    (up to about half the input's size; use a disk, not a RAM tmpfs)
  REPRICE_TIMINGS   set to print each stage's time and the peak memory on stderr";

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Log files or directories ('-' reads standard input).
    #[arg(default_value = "sample_logs")]
    pub paths: Vec<PathBuf>,
    /// Where the reports go: a new or empty folder, or one an earlier run wrote. Only the
    /// files reprice wrote there are replaced, all at once, when the run succeeds; a folder
    /// holding other files, an input, or an existing file is refused.
    #[arg(long, default_value = "reports", value_name = "DIR")]
    pub out: PathBuf,
    /// Price catalog (TOML, or LiteLLM's model_prices_and_context_window.json). Repeat it to
    /// lay TOML overrides on top: later files replace prices of the same model and date and
    /// add the rest. `builtin` names the embedded catalog (`--catalog builtin --catalog mine.toml`).
    #[arg(long, value_name = "FILE")]
    pub catalog: Vec<PathBuf>,
    /// Scenarios file (TOML); default: the built-in set.
    #[arg(long, value_name = "FILE")]
    pub scenarios: Option<PathBuf>,
    /// IANA time zone for day boundaries and quota resets.
    #[arg(long, default_value = "UTC", value_name = "ZONE")]
    pub tz: String,
    /// First day to include (YYYY-MM-DD, e.g. 2026-03-01, in --tz).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Last day to include (YYYY-MM-DD, in --tz), inclusive.
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// Incremental mode: keep in DIR what was read and its analysis, so that the next run
    /// parses and analyzes only what is new (or, saying why, analyzes everything again).
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Fail before publishing when any line is quarantined.
    #[arg(long)]
    pub strict: bool,
    /// Worker threads (default: all cores); records.parquet is written on one more. Results do
    /// not depend on it.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// No progress bar and no final line.
    #[arg(long, short)]
    pub quiet: bool,
    /// Read every input as this format instead of detecting it.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// CSV column mapping (TOML), tried before the built-in ones. Repeatable.
    #[arg(long = "csv-map", value_name = "FILE")]
    pub csv_map: Vec<PathBuf>,
    /// Also write focus.csv: the bill in FinOps FOCUS 1.2 columns, plus what-if plan rows.
    #[arg(long)]
    pub focus: bool,
    /// Also write records.parquet: one row per record with its cost under every scenario
    /// (for DuckDB, pandas or Spark). It is the largest output and the slowest to write.
    #[arg(long)]
    pub records: bool,
    /// Publish with exit 0 even when some records could not be priced (an unknown model and
    /// no cost in the log); without it such a run exits 7.
    #[arg(long)]
    pub allow_unpriced: bool,
    /// The day of lines that carry no time of their own (Gemini Batch API output) when no
    /// batch job record (`batches.get` JSON) is saved beside their file: YYYY-MM-DD, taken as
    /// noon UTC so it stays that day in any --tz.
    #[arg(long, value_name = "DATE", value_parser = parse_day)]
    pub default_day: Option<chrono::NaiveDate>,
    /// Lines longer than this are quarantined (their first 4 KB kept) and skipped without
    /// being held in memory: K, M and G suffixes, powers of 1024.
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = parse_size)]
    pub max_line_size: usize,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Log files or directories to check ('-' reads standard input).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Read every input as this format instead of detecting it.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// CSV column mapping (TOML), tried before the built-in ones. Repeatable.
    #[arg(long = "csv-map", value_name = "FILE")]
    pub csv_map: Vec<PathBuf>,
    /// The day of lines that carry no time of their own (Gemini Batch API output) when no
    /// batch job record (`batches.get` JSON) is saved beside their file: YYYY-MM-DD, taken as
    /// noon UTC so it stays that day in any --tz.
    #[arg(long, value_name = "DATE", value_parser = parse_day)]
    pub default_day: Option<chrono::NaiveDate>,
    /// Lines longer than this are reported as bad and skipped: K, M and G suffixes.
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = parse_size)]
    pub max_line_size: usize,
}

/// A day as YYYY-MM-DD.
pub fn parse_day(s: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{s}: expected a day such as 2026-03-01"))
}

/// A size in bytes: digits with an optional K, M or G (powers of 1024; "B"/"iB" may follow).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let upper = t.to_ascii_uppercase();
    let body = upper
        .strip_suffix("IB")
        .or_else(|| upper.strip_suffix('B'))
        .unwrap_or(&upper);
    let (digits, shift) = match body.chars().last() {
        Some('K') => (&body[..body.len() - 1], 10),
        Some('M') => (&body[..body.len() - 1], 20),
        Some('G') => (&body[..body.len() - 1], 30),
        _ => (body, 0),
    };
    let bad = || format!("{s}: expected a size such as 4096, 512K, 64M or 1G");
    let n: usize = digits.trim().parse().map_err(|_| bad())?;
    let bytes = n
        .checked_shl(shift)
        .filter(|b| b >> shift == n)
        .ok_or_else(bad)?;
    if bytes < 1024 {
        return Err(format!("{s}: a line limit must be at least 1K"));
    }
    Ok(bytes)
}

#[derive(Subcommand, Debug)]
pub enum CatalogCommand {
    /// Every model, plan and extra with the prices in force today.
    List,
    /// One model's price history (every effective date).
    Show {
        /// A catalog id or any alias seen in logs (e.g. gemini-3-pro-image-preview).
        model: String,
    },
}

#[derive(Args, Debug)]
pub struct GenArgs {
    /// How many records to write.
    #[arg(long, default_value_t = 1000)]
    pub records: u64,
    /// The same seed gives the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Which input format to write.
    #[arg(long, value_enum, default_value = "envelope")]
    pub format: Format,
    /// Output file (default: standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("12").is_err());
        assert!(parse_size("ten").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
    }
}
