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
pub mod text;
pub mod wording;

#[cfg(not(target_env = "msvc"))]
#[doc(hidden)]
pub use tikv_jemallocator;

/// The allocator and its settings: for the binary, and for the examples that measure parts of
/// a run (`examples/parse_floor`), so that they allocate as the binary does.
#[macro_export]
macro_rules! allocator {
    () => {
        // Records are built and dropped by the million across worker threads; jemalloc's
        // per-thread caches make that cheaper than the system allocator (see Cargo.toml).
        #[cfg(not(target_env = "msvc"))]
        #[global_allocator]
        static GLOBAL: $crate::tikv_jemallocator::Jemalloc = $crate::tikv_jemallocator::Jemalloc;

        // Freed pages go back to the kernel after about a second instead of ten: a run frees
        // buffers of many MB all along, and holding them ten seconds raised the peak with the
        // run's length (4,000,000 envelope lines: 133 MB, against 117 MB; 400,000 Claude Code
        // lines: 136 MB, against 102 MB) at no measurable cost in time. Buffers of 8 MB and
        // more (the parts of records a parser hands over, the chunks priced together) stay in
        // the threads' arenas under that same decay: by default jemalloc gives them an arena
        // of their own that returns their pages at once, so every part faulted its pages in
        // again; that was 40% of the time of a run over 4,038,872 envelope lines (11.2 s, 5.2 s
        // of it in the kernel, against 6.6 s). `_RJEM_MALLOC_CONF` still overrides both.
        #[cfg(not(target_env = "msvc"))]
        #[unsafe(export_name = "_rjem_malloc_conf")]
        static MALLOC_CONF: &[u8] = b"dirty_decay_ms:1000,oversize_threshold:0\0";
    };
}
