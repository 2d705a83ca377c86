//! reprice: re-price AI API usage logs under other models, providers, batch tiers and
//! subscription plans, and report savings and waste.
//!
//! Data flows one way: `config` -> `ingest` -> `spill` -> `reprice` -> `analyze` -> `report`,
//! with `state` keeping what a nightly run reuses. Types several stages read live below them
//! all (`record`, `outcome`, `money`). `run` wires the stages together for the command line.

pub mod analyze;
pub mod catalog;
pub mod cli;
pub mod compute;
pub mod config;
pub mod dedup;
pub mod error;
pub mod generate;
pub mod ingest;
pub mod money;
pub mod outcome;
pub mod progress;
pub mod provider;
pub mod record;
pub mod report;
pub mod reprice;
pub mod run;
pub mod scenario;
pub mod schema;
pub mod spill;
pub mod state;
