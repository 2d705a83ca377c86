// Records are built and dropped by the million across worker threads; jemalloc's per-thread
// caches make that cheaper than the system allocator (see Cargo.toml).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

// Freed pages go back to the kernel after about a second instead of ten: a run frees buffers
// of many MB all along, and holding them ten seconds raised the peak with the run's length
// (4,000,000 envelope lines: 133 MB, against 117 MB; 400,000 Claude Code lines: 136 MB,
// against 102 MB) at no measurable cost in time. Buffers of 8 MB and more (the parts of
// records a parser hands over, the chunks priced together) stay in the threads' arenas under
// that same decay: by default jemalloc gives them an arena of their own that returns their
// pages at once, so every part faulted its pages in again; that was a third of the time of a
// run over 4,000,000 envelope lines (11.2 s, 5.2 s of it in the kernel, against 7.3 s).
// `_RJEM_MALLOC_CONF` still overrides both.
#[cfg(not(target_env = "msvc"))]
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: &[u8] = b"dirty_decay_ms:1000,oversize_threshold:0\0";

use clap::Parser;
use reprice::cli::{Cli, Command};
use reprice::error::exit;

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run(args) => reprice::run::run(&args),
        Command::Validate(args) => reprice::run::validate(&args),
        Command::Catalog { command, catalog } => reprice::run::catalog(&command, &catalog),
        Command::Schema { out } => reprice::schema::write_all(&out).map(|_| exit::OK),
        Command::Gen(args) => reprice::generate::run(&args).map(|_| exit::OK),
    };
    match code {
        Ok(c) => std::process::exit(c),
        Err(e) => {
            eprintln!("reprice: {e}");
            std::process::exit(e.exit_code());
        }
    }
}
