//! run.json: what made a set of reports, and the files of the set.

use crate::analyze::InputCounts;
use crate::config::Config;
use crate::outcome::FileReport;
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Serialize)]
struct Manifest<'a> {
    reprice_version: &'static str,
    summary_schema_version: u32,
    time_zone: &'a str,
    since: Option<chrono::NaiveDate>,
    until: Option<chrono::NaiveDate>,
    /// The catalog files in the order they were laid on each other.
    catalog: Vec<Origin>,
    scenarios: Origin,
    inputs: &'a [FileReport],
    counts: &'a InputCounts,
    /// The files of this set of reports, this one included: what the next run may replace.
    outputs: Vec<String>,
}

#[derive(Serialize)]
struct Origin {
    source: String,
    /// BLAKE3 (hex) of the file, as `b3sum` prints it.
    blake3: String,
}

fn origins(paths: &[PathBuf], builtin: &str) -> Vec<Origin> {
    if paths.is_empty() {
        return vec![origin(None, builtin)];
    }
    paths.iter().map(|p| origin(Some(p), builtin)).collect()
}

fn origin(path: Option<&Path>, builtin: &str) -> Origin {
    match path {
        None => Origin {
            source: "built-in".to_string(),
            blake3: blake3::hash(builtin.as_bytes()).to_hex().to_string(),
        },
        Some(p) => Origin {
            source: p.display().to_string(),
            blake3: std::fs::read(p)
                .map(|b| blake3::hash(&b).to_hex().to_string())
                .unwrap_or_default(),
        },
    }
}

/// run.json: what made these reports (inputs with hashes, catalog and scenarios hashes,
/// version, counts, and the files of the set). It holds no clock time, so identical inputs give
/// an identical manifest.
pub fn manifest(
    cfg: &Config,
    files: &[FileReport],
    counts: &InputCounts,
    written: &[String],
) -> String {
    let mut outputs: Vec<String> = written.to_vec();
    outputs.push(super::publish::MANIFEST.to_string());
    outputs.sort();
    outputs.dedup();
    let m = Manifest {
        reprice_version: env!("CARGO_PKG_VERSION"),
        summary_schema_version: crate::analyze::SCHEMA_VERSION,
        time_zone: &cfg.tz_name,
        since: cfg.since,
        until: cfg.until,
        catalog: origins(&cfg.catalog_files, crate::catalog::DEFAULT_TOML),
        scenarios: origin(cfg.scenarios_file.as_deref(), crate::scenario::BUILTIN_TOML),
        inputs: files,
        counts,
        outputs,
    };
    serde_json::to_string_pretty(&m)
        .map(|s| s + "\n")
        .unwrap_or_default()
}
