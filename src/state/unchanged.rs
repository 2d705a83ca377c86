//! Telling, without reading it, that an input is as the last run left it: the same file
//! (device and inode), size, modification and status-change times. Writing to a file, or
//! replacing it, always sets its status-change time (ctime) to the time of the change, and no
//! call sets it back. A change within the clock tick of an earlier look would leave the times
//! as they were, so a look is trusted only when the file's last change was at least
//! [`SETTLED`] before it (as git does with files changed as its index was written). Where these
//! fields do not exist (not Unix), every input is hashed as before.

use crate::ingest::source::Input;
use std::time::{Duration, SystemTime};

/// How long before a look a file must have last changed for the look to be trusted later.
const SETTLED: Duration = Duration::from_secs(2);

/// What the file system says of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Look {
    pub(super) dev: u64,
    pub(super) ino: u64,
    pub(super) len: u64,
    pub(super) mtime: (i64, i64),
    pub(super) ctime: (i64, i64),
}

/// A file the last run read to its end, unchanged since a trusted look: the next run takes its
/// report from the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unchanged {
    pub look: Look,
    /// The file's size as read (decompressed, for gzip) and its BLAKE3 as on disk.
    pub bytes: u64,
    pub blake3: blake3::Hash,
}

impl Look {
    /// The file behind `input`, looked at now; None for stdin and where the fields are missing.
    pub fn of(input: &Input) -> Option<Look> {
        let Input::File { path, .. } = input else {
            return None;
        };
        Look::of_path(path)
    }

    /// The file at `path`, looked at now; None where the fields are missing.
    pub fn of_path(path: &std::path::Path) -> Option<Look> {
        look(&std::fs::metadata(path).ok()?)
    }

    /// Whether this look, taken at `at`, may be trusted by a later run: the file last changed
    /// at least [`SETTLED`] before it.
    pub fn settled_at(&self, at: SystemTime) -> bool {
        let Ok(now) = at.duration_since(SystemTime::UNIX_EPOCH) else {
            return false;
        };
        let (s, ns) = self.ctime;
        let (Ok(s), Ok(ns)) = (u64::try_from(s), u32::try_from(ns)) else {
            return false;
        };
        Duration::new(s, ns) + SETTLED <= now
    }
}

#[cfg(unix)]
fn look(m: &std::fs::Metadata) -> Option<Look> {
    use std::os::unix::fs::MetadataExt;
    Some(Look {
        dev: m.dev(),
        ino: m.ino(),
        len: m.size(),
        mtime: (m.mtime(), m.mtime_nsec()),
        ctime: (m.ctime(), m.ctime_nsec()),
    })
}

#[cfg(not(unix))]
fn look(_: &std::fs::Metadata) -> Option<Look> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(path: &std::path::Path) -> Input {
        Input::File {
            path: path.to_path_buf(),
            display: path.display().to_string(),
        }
    }

    #[test]
    fn any_write_or_replacement_changes_the_look() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("a.jsonl");
        std::fs::write(&p, "{}\n").expect("write");
        let first = Look::of(&input(&p)).expect("look");
        assert_eq!(Look::of(&input(&p)), Some(first.clone()));
        // Same size, same content: still a write, which sets the status-change time.
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&p, "{}\n").expect("write");
        assert_ne!(Look::of(&input(&p)), Some(first.clone()));
        // Replaced by another file of the same size.
        let q = d.path().join("b.jsonl");
        std::fs::write(&q, "[]\n").expect("write");
        std::fs::rename(&q, &p).expect("rename");
        assert_ne!(Look::of(&input(&p)), Some(first));
    }

    #[test]
    fn a_look_is_trusted_only_when_the_file_changed_two_seconds_before_it() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("a.jsonl");
        std::fs::write(&p, "{}\n").expect("write");
        let l = Look::of(&input(&p)).expect("look");
        let now = SystemTime::now();
        assert!(!l.settled_at(now));
        assert!(!l.settled_at(now + Duration::from_millis(1500)));
        assert!(l.settled_at(now + Duration::from_secs(2)));
    }
}
