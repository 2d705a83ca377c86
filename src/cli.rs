//! Command-line arguments. Parsing only; `run` and friends do the work.

use crate::ingest::Format;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  bad usage or configuration (nothing written)
  2  an input could not be read (nothing written)
  3  finished, but lines were quarantined (reports written; with --strict nothing is published)
  4  a budget or daily cap in the scenarios file was exceeded on the latest day
  5  the reports could not be written (the previous reports are left as they were)
  6  another run holds the --state lock";

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
    Validate(ValidateArgs),
    /// Show the price catalog in force.
    Catalog {
        #[command(subcommand)]
        command: CatalogCommand,
        /// A catalog file instead of the built-in one (TOML, or LiteLLM price JSON); repeat it
        /// to lay TOML overrides on top.
        #[arg(long, global = true, value_name = "FILE")]
        catalog: Vec<PathBuf>,
    },
    /// Write the JSON Schemas of every input, config and output file.
    Schema {
        #[arg(long, default_value = "schemas", value_name = "DIR")]
        out: PathBuf,
    },
    /// Write deterministic synthetic logs, for tests and benchmarks.
    Gen(GenArgs),
}

pub const RUN_EXAMPLES: &str = "\
Exit codes: 0 ok, 1 usage/config, 2 input unreadable, 3 lines quarantined, 4 budget or cap
exceeded, 5 reports not written, 6 state locked (see `reprice --help`).

Examples:
  reprice run                                   # the shipped sample_logs -> reports/
  reprice run /var/exports/2026-03 --out /srv/cost/2026-03 --tz Europe/Berlin
  reprice run /var/exports --state /var/lib/reprice --quiet   # nightly, from cron
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
    /// Where the reports go; replaced as a whole when the run succeeds.
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
    /// First day to include (YYYY-MM-DD, in --tz).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Last day to include (YYYY-MM-DD, in --tz), inclusive.
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// Incremental mode: remember what was read in DIR and read only what is new.
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
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    #[arg(long = "csv-map", value_name = "FILE")]
    pub csv_map: Vec<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum CatalogCommand {
    /// Every model, plan and extra with the prices in force today.
    List,
    /// One model's price history (every effective date).
    Show { model: String },
}

#[derive(Args, Debug)]
pub struct GenArgs {
    #[arg(long, default_value_t = 1000)]
    pub records: u64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, value_enum, default_value = "envelope")]
    pub format: Format,
    /// Output file (default: standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}
