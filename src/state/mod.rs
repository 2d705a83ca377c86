//! Unattended runs: the lock that keeps two runs apart, the `--state` ledger of what was
//! already read, the manifest of a run, and publishing the reports into `--out`.

pub mod checkpoint;
mod ledger;
mod lock;
mod manifest;
mod publish;
mod unchanged;

pub use checkpoint::Resumption;
pub use ledger::{Destination, commit, ingest_incremental, is_state_folder};
pub use lock::Lock;
pub use manifest::manifest;
pub use publish::{Staging, check_out, is_report_folder, reports_failed, resolve};

use crate::error::RunError;
use std::path::Path;

fn out_err(path: &Path, e: impl std::fmt::Display) -> RunError {
    RunError::Output {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// A staged file, on disk before the commit that makes it current can name it.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    use std::io::Write;
    let mut f = std::fs::File::create(path).map_err(|e| out_err(path, e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| out_err(path, e))
}

/// Crash points for tests: with `REPRICE_FAILPOINT=<name>` the process aborts right there, as
/// a power cut or `kill -9` would, without unwinding or cleaning up. `pause:<name>` sleeps
/// there for `REPRICE_FAILPOINT_PAUSE_MS` (default 3000) instead, so a test can act meanwhile.
/// Several are separated by commas (`pause:ingested,retiring`).
pub fn failpoint(name: &str) {
    let Ok(v) = std::env::var("REPRICE_FAILPOINT") else {
        return;
    };
    for point in v.split(',') {
        if point == name {
            std::process::abort();
        }
        if point.strip_prefix("pause:") == Some(name) {
            let ms = std::env::var("REPRICE_FAILPOINT_PAUSE_MS")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(3000);
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
    }
}

/// `REPRICE_FAILPOINT=enospc` makes writing the reports fail as a full disk would, for tests on
/// machines where no small file system can be mounted.
pub(crate) fn injected_write_error() -> std::io::Result<()> {
    match std::env::var("REPRICE_FAILPOINT").as_deref() {
        Ok("enospc") => Err(std::io::Error::from_raw_os_error(28)),
        _ => Ok(()),
    }
}
