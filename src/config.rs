//! A run's configuration: the command line lowered once into a complete [`Config`], checked
//! before any input is read. Every stage after, run.json included, is given this, never the
//! arguments.

use crate::catalog::Catalog;
use crate::cli::RunArgs;
use crate::error::RunError;
use crate::ingest::{
    self,
    csv_export::{self, CsvMapping},
};
use crate::scenario::ScenarioSet;
use chrono::NaiveDate;
use chrono_tz::Tz;
use std::path::PathBuf;

/// Everything a run is configured with, checked before any input is read: the command line
/// is lowered into this once, and no stage after sees the arguments themselves.
pub struct Config {
    pub catalog: Catalog,
    /// The catalog files laid on each other (none: the built-in one), for run.json.
    pub catalog_files: Vec<PathBuf>,
    pub scenarios: ScenarioSet,
    /// The scenario file (none: the built-in set), for run.json.
    pub scenarios_file: Option<PathBuf>,
    pub tz: Tz,
    pub tz_name: String,
    pub since: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    pub csv_mappings: Vec<CsvMapping>,
    pub paths: Vec<PathBuf>,
    pub out: PathBuf,
    pub state: Option<PathBuf>,
    pub format: Option<ingest::Format>,
    pub max_line: usize,
    /// The day of lines that carry no time (`--default-day`).
    pub default_day: Option<NaiveDate>,
    pub threads: Option<usize>,
    pub strict: bool,
    pub quiet: bool,
    pub focus: bool,
    pub records: bool,
    pub allow_unpriced: bool,
}

/// A day written exactly as YYYY-MM-DD: chrono alone also takes `2026-3-1`, which in a cron
/// line is more often a typo than a date.
fn parse_day(s: &Option<String>, flag: &str) -> Result<Option<NaiveDate>, RunError> {
    s.as_deref()
        .map(|t| {
            NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .ok()
                .filter(|d| d.format("%Y-%m-%d").to_string() == t)
                .ok_or_else(|| {
                    RunError::Usage(format!(
                        "{flag} {t}: expected a date as YYYY-MM-DD (for example 2026-03-01)"
                    ))
                })
        })
        .transpose()
}

pub fn load_catalog(paths: &[PathBuf]) -> Result<Catalog, RunError> {
    Ok(if paths.is_empty() {
        Catalog::builtin()?
    } else {
        Catalog::load_all(paths)?
    })
}

pub fn mappings(files: &[PathBuf]) -> Result<Vec<CsvMapping>, RunError> {
    let mut out = Vec::new();
    for f in files {
        out.push(csv_export::load_mapping(f)?);
    }
    out.extend(csv_export::builtin_mappings());
    Ok(out)
}

pub fn config(args: &RunArgs) -> Result<Config, RunError> {
    let catalog = load_catalog(&args.catalog)?;
    let scenarios = match &args.scenarios {
        Some(p) => ScenarioSet::load(p, &catalog)?,
        None => ScenarioSet::builtin(&catalog)?,
    };
    let tz: Tz = args.tz.parse().map_err(|_| {
        RunError::Usage(format!(
            "--tz {}: not an IANA time zone name (e.g. Europe/Berlin)",
            args.tz
        ))
    })?;
    let since = parse_day(&args.since, "--since")?;
    let until = parse_day(&args.until, "--until")?;
    if let (Some(a), Some(b)) = (since, until)
        && b < a
    {
        return Err(RunError::Usage(format!(
            "--until {b} is before --since {a}"
        )));
    }
    if args.threads == Some(0) {
        return Err(RunError::Usage("--threads must be at least 1".to_string()));
    }
    Ok(Config {
        catalog,
        catalog_files: args.catalog.clone(),
        scenarios,
        scenarios_file: args.scenarios.clone(),
        tz,
        tz_name: args.tz.clone(),
        since,
        until,
        csv_mappings: mappings(&args.csv_map)?,
        paths: args.paths.clone(),
        out: args.out.clone(),
        state: args.state.clone(),
        format: args.format,
        max_line: args.max_line_size,
        default_day: args.default_day,
        threads: args.threads,
        strict: args.strict,
        quiet: args.quiet,
        focus: args.focus,
        records: args.records,
        allow_unpriced: args.allow_unpriced,
    })
}
