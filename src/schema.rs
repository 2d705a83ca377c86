//! JSON Schemas of the files reprice reads and writes, generated from the types themselves so
//! they cannot drift (a test compares them with schemas/).

use crate::analyze::Summary;
use crate::catalog::CatalogFile;
use crate::error::RunError;
use crate::ingest::csv_export::CsvMapping;
use crate::scenario::ScenarioFile;
use std::path::Path;

/// (file name, schema text) for every schema.
pub fn all() -> Vec<(&'static str, String)> {
    let render = |s: schemars::Schema| {
        serde_json::to_string_pretty(&s)
            .map(|t| t + "\n")
            .unwrap_or_default()
    };
    vec![
        (
            "summary.schema.json",
            render(schemars::schema_for!(Summary)),
        ),
        (
            "scenarios.schema.json",
            render(schemars::schema_for!(ScenarioFile)),
        ),
        (
            "catalog.schema.json",
            render(schemars::schema_for!(CatalogFile)),
        ),
        (
            "csv-mapping.schema.json",
            render(schemars::schema_for!(CsvMapping)),
        ),
    ]
}

pub fn write_all(dir: &Path) -> Result<(), RunError> {
    std::fs::create_dir_all(dir).map_err(|e| RunError::Output {
        path: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    for (name, text) in all() {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| RunError::Output {
            path: p.clone(),
            message: e.to_string(),
        })?;
    }
    Ok(())
}
