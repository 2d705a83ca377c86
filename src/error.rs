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
    #[error(
        "another run (pid {pid}) holds the lock {path}; nothing was published; try again when it has finished"
    )]
    Locked { path: PathBuf, pid: String },
    #[error(
        "{} quarantined and --strict is set; nothing was published ({out} still holds the previous reports; the lines are listed above, or run `reprice validate`)",
        crate::wording::plural(*count, "line")
    )]
    Strict { count: u64, out: PathBuf },
    /// Nothing to report: no input line at all, or no record in the period.
    #[error("{0}")]
    Nothing(String),
}

/// The exit codes scripts depend on (DESIGN.md, "Exit codes"). The reports were published for
/// 0, 3, 4 and 7; for every other code the previous reports are left as they were.
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// Bad usage or configuration, including an unsafe `--out`.
    pub const USAGE: i32 = 1;
    /// An input could not be read.
    pub const INPUT: i32 = 2;
    /// Lines were quarantined (published); with `--strict`, a failure before publishing.
    pub const QUARANTINED: i32 = 3;
    /// A budget or daily cap was exceeded on the latest day (published).
    pub const BUDGET: i32 = 4;
    /// The reports could not be written.
    pub const OUTPUT: i32 = 5;
    /// Another run holds the `--state` lock.
    pub const LOCKED: i32 = 6;
    /// Records could not be priced (published); `--allow-unpriced` accepts them.
    pub const UNPRICED: i32 = 7;
    /// Nothing to report: no input lines, or no record in the period.
    pub const NOTHING: i32 = 8;

    /// The code of a published run: a blown budget is the most urgent alert, then usage that
    /// no figure includes, then lines that were set aside.
    pub fn published(budget: bool, unpriced: bool, quarantined: bool) -> i32 {
        if budget {
            BUDGET
        } else if unpriced {
            UNPRICED
        } else if quarantined {
            QUARANTINED
        } else {
            OK
        }
    }
}

/// The exit code table, as `--help` and README print it.
pub const EXIT_CODES: &str = "\
Exit codes (published: the reports were replaced):
  0  success
  3  lines were quarantined (see quarantine.jsonl; --strict makes this a failure instead)
  4  a budget or daily cap was exceeded on the latest day
  7  records could not be priced (--allow-unpriced accepts them)
  When several apply: 4, then 7, then 3.
Exit codes (not published: the previous reports are left as they were):
  1  bad usage or configuration, including an unsafe --out
  2  an input could not be read
  3  with --strict: lines were quarantined
  5  the reports could not be written
  6  another run holds the --state lock
  8  nothing to report: no input lines, or no record in the period
Every code but 0 comes with one line on stderr saying why.";

impl RunError {
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Usage(_) | RunError::Config(_) => exit::USAGE,
            RunError::Input { .. } => exit::INPUT,
            RunError::Strict { .. } => exit::QUARANTINED,
            RunError::Output { .. } => exit::OUTPUT,
            RunError::Locked { .. } => exit::LOCKED,
            RunError::Nothing(_) => exit::NOTHING,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::exit;

    #[test]
    fn published_codes_take_budget_then_unpriced_then_quarantined() {
        assert_eq!(exit::published(false, false, false), 0);
        assert_eq!(exit::published(false, false, true), 3);
        assert_eq!(exit::published(false, true, true), 7);
        assert_eq!(exit::published(true, true, true), 4);
        assert_eq!(exit::published(true, false, false), 4);
        assert_eq!(exit::published(false, true, false), 7);
    }
}
