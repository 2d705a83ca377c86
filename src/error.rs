//! Errors that end a run, and the exit code each maps to.

use std::path::PathBuf;

/// A configuration file (catalog, scenarios, CSV mapping) that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: {message}")]
    Read { file: String, message: String },
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{path}: {message}")]
    Input { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Output { path: PathBuf, message: String },
    #[error("another run holds the lock {path} (pid {pid}); try again when it has finished")]
    Locked { path: PathBuf, pid: u32 },
    #[error("{count} line(s) quarantined and --strict is set; nothing was published (see {path})")]
    Strict { count: u64, path: PathBuf },
}

/// The exit codes scripts depend on (DESIGN.md, "Exit codes").
pub mod exit {
    pub const OK: i32 = 0;
    pub const USAGE: i32 = 1;
    pub const INPUT: i32 = 2;
    pub const QUARANTINED: i32 = 3;
    pub const BUDGET: i32 = 4;
    pub const OUTPUT: i32 = 5;
    pub const LOCKED: i32 = 6;
}

impl RunError {
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Usage(_) | RunError::Config(_) => exit::USAGE,
            RunError::Input { .. } => exit::INPUT,
            RunError::Strict { .. } => exit::QUARANTINED,
            RunError::Output { .. } => exit::OUTPUT,
            RunError::Locked { .. } => exit::LOCKED,
        }
    }
}
