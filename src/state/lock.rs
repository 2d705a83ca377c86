//! The lock that keeps two runs on one `--state` folder apart.
//!
//! It is the kernel's advisory lock on `DIR/lock` (`flock` on Unix, `LockFileEx` on Windows),
//! so it goes when the process that holds it dies, however it dies: a crashed or killed run
//! never leaves a lock behind, and no run has to guess whether a process id is still alive.

use crate::error::RunError;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Held for the whole run; the kernel releases it when the file is closed or the process ends.
pub struct Lock {
    _file: std::fs::File,
}

impl Lock {
    pub fn acquire(dir: &Path) -> Result<Lock, RunError> {
        std::fs::create_dir_all(dir).map_err(|e| super::out_err(dir, e))?;
        let path: PathBuf = dir.join("lock");
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| super::out_err(&path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let pid = match pid.trim() {
                    "" => "unknown".to_string(),
                    p => p.to_string(),
                };
                return Err(RunError::Locked { path, pid });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(super::out_err(&path, e)),
        }
        // The holder's pid, for the message a second run prints.
        let written = file
            .set_len(0)
            .and_then(|_| file.rewind())
            .and_then(|_| writeln!(file, "{}", std::process::id()));
        written.map_err(|e| super::out_err(&path, e))?;
        Ok(Lock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_folder_is_refused_until_the_first_is_dropped() {
        let d = tempfile::tempdir().expect("tempdir");
        let first = Lock::acquire(d.path()).expect("first");
        let err = Lock::acquire(d.path()).err().expect("held");
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "another run (pid {}) holds the lock",
                std::process::id()
            )),
            "{text}"
        );
        assert_eq!(err.exit_code(), crate::error::exit::LOCKED);
        drop(first);
        Lock::acquire(d.path()).expect("free again");
    }
}
