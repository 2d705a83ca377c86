//! The output folder: who owns it, and how new reports replace old ones.
//!
//! `--out` belongs to reprice. It may be absent, empty, or hold exactly the files that an
//! earlier run listed in its `run.json` (`outputs`); anything else there is a user's file, and
//! the run is refused before any input is read. Reports are written into a hidden sibling
//! folder and swapped into place in one step (`renameat2(RENAME_EXCHANGE)` on Linux), so a
//! reader or a crash never sees half a set. The previous set is then removed file by file,
//! only the names its manifest lists: a file someone dropped into `--out` during the run is
//! moved into the new set, never deleted. A run killed between the swap and that cleanup
//! leaves the old set aside; the next run finishes the cleanup before it looks at `--out`.

use crate::error::RunError;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The manifest every published folder holds; its `outputs` names the files of the set.
pub const MANIFEST: &str = "run.json";

/// Marks a staging folder until the moment it is swapped in: a killed run's staging folder
/// that still has it holds nothing but reports, and can be removed whole.
const STAGING_MARK: &str = ".reprice-staging";

/// What versions before manifests listed their outputs wrote, recognized by a `run.json` with
/// `reprice_version` and no `outputs`.
const LEGACY_OUTPUTS: [&str; 10] = [
    "summary.json",
    "report.md",
    "report.html",
    "savings.csv",
    "by_day.csv",
    "waste.csv",
    "records.parquet",
    "run.json",
    "quarantine.jsonl",
    "focus.csv",
];

/// The files of the set a folder holds according to its manifest; `None` when the folder has
/// no manifest of reprice's.
pub fn own_files(dir: &Path) -> Option<BTreeSet<String>> {
    // A run asks this of `--out` before it starts and of the set it retires after publishing:
    // the same manifest, moved with its folder, unless something replaced it meanwhile (which
    // changes its look). Reading a manifest of 20,000 inputs twice was a tenth of a rerun.
    type Memo = Option<(super::unchanged::Look, BTreeSet<String>)>;
    static LAST: std::sync::Mutex<Memo> = std::sync::Mutex::new(None);
    let path = dir.join(MANIFEST);
    let look = super::unchanged::Look::of_path(&path);
    if let (Some(l), Ok(last)) = (&look, LAST.lock())
        && let Some((seen, names)) = last.as_ref()
        && seen == l
    {
        return Some(names.clone());
    }
    let names = read_own_files(&path)?;
    if let (Some(l), Ok(mut last)) = (look, LAST.lock()) {
        *last = Some((l, names.clone()));
    }
    Some(names)
}

fn read_own_files(path: &Path) -> Option<BTreeSet<String>> {
    // Only the two fields that tell: a manifest of many inputs is megabytes, and this is
    // asked of every folder a walk enters.
    #[derive(serde::Deserialize)]
    struct Shape {
        #[allow(dead_code)]
        reprice_version: String,
        outputs: Option<serde_json::Value>,
    }
    let bytes = std::fs::read(path).ok()?;
    let v: Shape = serde_json::from_slice(&bytes).ok()?;
    let mut names: BTreeSet<String> = match v.outputs.as_ref().and_then(|o| o.as_array()) {
        Some(list) => list
            .iter()
            .filter_map(|n| n.as_str())
            // A name is a plain file name of the folder, never a path out of it.
            .filter(|n| !n.is_empty() && !n.contains(['/', '\\']) && *n != "." && *n != "..")
            .map(str::to_string)
            .collect(),
        None => LEGACY_OUTPUTS.iter().map(|s| s.to_string()).collect(),
    };
    names.insert(MANIFEST.to_string());
    Some(names)
}

/// True when `dir` is a folder of reports that reprice published.
pub fn is_report_folder(dir: &Path) -> bool {
    own_files(dir).is_some()
}

fn usage(msg: String) -> RunError {
    RunError::Usage(msg)
}

/// `p` made absolute and free of `.`/`..` and symlinks as far as it exists, so that two
/// spellings of one folder compare equal.
pub fn resolve(p: &Path) -> PathBuf {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    };
    let mut head = abs.clone();
    let mut tail = Vec::new();
    loop {
        if let Ok(c) = std::fs::canonicalize(&head) {
            let mut out = c;
            for t in tail.iter().rev() {
                out.push(t);
            }
            return out;
        }
        match (head.file_name().map(|n| n.to_os_string()), head.parent()) {
            (Some(n), Some(parent)) => {
                tail.push(n);
                head = parent.to_path_buf();
            }
            _ => return abs,
        }
    }
}

/// Refuses an `--out` that is not reprice's to replace: an existing file, a folder holding
/// files reprice did not write, one that is or contains an input, or one that is, holds or
/// lies in the `--state` folder. Called before any input is read.
pub fn check_out(out: &Path, inputs: &[PathBuf], state: Option<&Path>) -> Result<(), RunError> {
    let shown = out.display();
    if let Ok(meta) = std::fs::metadata(out)
        && !meta.is_dir()
    {
        return Err(usage(format!(
            "--out {shown} is an existing file; reports go into a folder: choose a new, empty or reprice-owned folder"
        )));
    }
    let out_abs = resolve(out);
    for input in inputs.iter().filter(|i| i.as_os_str() != "-") {
        if resolve(input) == out_abs {
            return Err(usage(format!(
                "--out {shown} is the input {}; reports would replace the logs: choose a folder outside the inputs",
                input.display()
            )));
        }
    }
    recover(out);
    let mut foreign: Vec<String> = Vec::new();
    if let Ok(entries) = std::fs::read_dir(out) {
        let own = own_files(out).unwrap_or_default();
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if own.contains(&name) && e.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            let dir = e.file_type().is_ok_and(|t| t.is_dir());
            foreign.push(if dir { format!("{name}/") } else { name });
        }
    }
    if !foreign.is_empty() {
        return Err(foreign_files(out, foreign));
    }
    for input in inputs {
        if input.as_os_str() == "-" {
            continue;
        }
        let i = resolve(input);
        if i.starts_with(&out_abs) {
            return Err(usage(format!(
                "--out {shown} contains the input {}; reports would replace it: choose a folder outside the inputs",
                input.display()
            )));
        }
    }
    if let Some(st) = state {
        let s = resolve(st);
        if s.starts_with(&out_abs) || out_abs.starts_with(&s) {
            return Err(usage(format!(
                "--out {shown} and --state {} overlap; give each its own folder",
                st.display()
            )));
        }
    }
    Ok(())
}

fn foreign_files(out: &Path, mut foreign: Vec<String>) -> RunError {
    let shown = out.display();
    foreign.sort();
    let n = foreign.len();
    let mut list = foreign.into_iter().take(5).collect::<Vec<_>>().join(", ");
    if n > 5 {
        list.push_str(&format!(", and {} more", n - 5));
    }
    usage(format!(
        "--out {shown} holds files reprice did not write ({list}); choose an empty or reprice-owned folder"
    ))
}

fn out_err(path: &Path, e: impl std::fmt::Display) -> RunError {
    super::out_err(path, e)
}

/// Writing the reports for `out` failed; nothing was published.
pub fn reports_failed(out: &Path, e: impl std::fmt::Display) -> RunError {
    out_err(
        out,
        format!(
            "the reports could not be written ({e}); nothing was published and the previous reports are unchanged"
        ),
    )
}

/// The hidden siblings of `out` that runs stage into and retire through.
fn sibling(out: &Path, what: &str, pid: u32) -> Option<PathBuf> {
    let name = out.file_name()?.to_string_lossy().into_owned();
    Some(parent_of(out).join(format!(".{name}.{what}-{pid}")))
}

fn parent_of(out: &Path) -> PathBuf {
    match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Leftovers of a killed run beside `out`: a retired set (killed between the swap and its
/// cleanup) is cleaned up as a finished run would have, giving back any file that is not
/// reprice's; a staging folder of a process that is gone is removed (it holds only reports).
pub fn recover(out: &Path) {
    let Some(name) = out.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(parent_of(out)) else {
        return;
    };
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = file.strip_prefix(&format!(".{name}.")) else {
            continue;
        };
        let (what, pid) = rest.split_once('-').unwrap_or((rest, ""));
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() || process_alive(pid) {
            continue;
        }
        match what {
            "old" => {
                if out.exists() {
                    retire(&e.path(), out);
                } else {
                    // Killed between the two renames where the swap is not one step.
                    let _ = std::fs::rename(e.path(), out);
                }
            }
            // Still marked: never swapped in, so it holds only (perhaps half) written reports.
            "tmp" if e.path().join(STAGING_MARK).exists() => {
                let _ = std::fs::remove_dir_all(e.path());
            }
            // Unmarked: swapped out, holding the previous set, between the swap and the
            // rename that names it `old`.
            "tmp" => {
                retire(&e.path(), out);
            }
            _ => {}
        }
    }
}

/// Whether a process still runs. Where that cannot be told, it is taken to run, and its
/// folders are left alone.
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

/// Removes a retired set: the files its manifest names are deleted; anything else in it (a
/// file dropped into `--out` while the run worked) is moved into `out`, or left where it is,
/// with a warning, when `out` already has that name.
fn retire(old: &Path, out: &Path) -> Vec<String> {
    let mut warnings = Vec::new();
    let own = own_files(old).unwrap_or_default();
    if let Ok(entries) = std::fs::read_dir(old) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let is_file = e.file_type().is_ok_and(|t| t.is_file());
            if own.contains(&name) && is_file {
                let _ = std::fs::remove_file(e.path());
                continue;
            }
            let to = out.join(&name);
            if to.symlink_metadata().is_err() && std::fs::rename(e.path(), &to).is_ok() {
                warnings.push(format!(
                    "{}: appeared in --out during the run and was kept; the next run will refuse this folder until it is moved",
                    to.display()
                ));
            } else {
                warnings.push(format!(
                    "{}: appeared in --out during the run; kept aside as {}",
                    name,
                    e.path().display()
                ));
            }
        }
    }
    let _ = std::fs::remove_file(old.join(MANIFEST));
    let _ = std::fs::remove_dir(old);
    warnings
}

/// A temporary folder beside `out` that the reports are written into, then swapped into
/// place by [`Staging::publish`]. A run that fails before the swap removes the folder (or,
/// when killed, leaves it aside for the next run to remove): the previous reports stay as
/// they were.
pub struct Staging {
    out: PathBuf,
    tmp: PathBuf,
    old: PathBuf,
    published: bool,
}

impl Staging {
    pub fn create(out: &Path) -> Result<Staging, RunError> {
        let pid = std::process::id();
        let (Some(tmp), Some(old)) = (sibling(out, "tmp", pid), sibling(out, "old", pid)) else {
            return Err(usage(format!("--out {}: not a folder name", out.display())));
        };
        let parent = parent_of(out);
        if parent.exists() && !parent.is_dir() {
            return Err(out_err(
                out,
                format!(
                    "{} is not a folder, so the reports cannot be written under it",
                    parent.display()
                ),
            ));
        }
        std::fs::create_dir_all(&parent)
            .map_err(|e| reports_failed(out, format!("cannot create {}: {e}", parent.display())))?;
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir(&tmp)
            .and_then(|_| std::fs::write(tmp.join(STAGING_MARK), b""))
            .map_err(|e| {
                reports_failed(
                    out,
                    format!(
                        "cannot create a folder in {}: {}",
                        parent.display(),
                        reason(&e)
                    ),
                )
            })?;
        Ok(Staging {
            out: out.to_path_buf(),
            tmp,
            old,
            published: false,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.tmp
    }

    /// A failed write, said as what it means for the reports.
    pub fn failed(&self, e: impl std::fmt::Display) -> RunError {
        reports_failed(&self.out, e)
    }

    /// The names written so far, for the manifest.
    pub fn written(&self) -> std::io::Result<Vec<String>> {
        let mut names = Vec::new();
        for e in std::fs::read_dir(&self.tmp)? {
            let name = e?.file_name().to_string_lossy().into_owned();
            if name != STAGING_MARK {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    /// Syncs what was written and swaps it into place of the previous reports. Returns what
    /// is worth a warning (a file that appeared in `--out` meanwhile).
    pub fn publish(mut self) -> Result<Vec<String>, RunError> {
        super::injected_write_error()
            .and_then(|_| sync_dir(&self.tmp))
            .map_err(|e| self.failed(reason(&e)))?;
        super::failpoint("written");
        std::fs::remove_file(self.tmp.join(STAGING_MARK)).map_err(|e| self.failed(reason(&e)))?;
        super::failpoint("swapping");
        let had_old = self.out.symlink_metadata().is_ok();
        if !had_old {
            std::fs::rename(&self.tmp, &self.out).map_err(|e| self.failed(reason(&e)))?;
            self.published = true;
            return Ok(Vec::new());
        }
        swap(&self.tmp, &self.out, &self.old).map_err(|e| self.failed(reason(&e)))?;
        self.published = true;
        super::failpoint("retiring");
        Ok(retire(&self.old, &self.out))
    }
}

/// After this, `out` holds the new set and `old` the previous one.
#[cfg(target_os = "linux")]
fn swap(tmp: &Path, out: &Path, old: &Path) -> std::io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    match renameat_with(CWD, tmp, CWD, out, RenameFlags::EXCHANGE) {
        Ok(()) => std::fs::rename(tmp, old),
        // File systems without the exchange (some network ones) take the two renames.
        Err(rustix::io::Errno::INVAL) | Err(rustix::io::Errno::NOSYS) => two_renames(tmp, out, old),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(target_os = "linux"))]
fn swap(tmp: &Path, out: &Path, old: &Path) -> std::io::Result<()> {
    two_renames(tmp, out, old)
}

/// The swap where it cannot be one step: `out` is absent for a moment; a run killed then
/// leaves the previous set as `old`, which the next run puts back.
fn two_renames(tmp: &Path, out: &Path, old: &Path) -> std::io::Result<()> {
    std::fs::rename(out, old)?;
    if let Err(e) = std::fs::rename(tmp, out) {
        let _ = std::fs::rename(old, out);
        return Err(e);
    }
    Ok(())
}

fn reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.published {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        std::fs::File::open(e?.path())?.sync_all()?;
    }
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(dir: &Path, outputs: &[&str]) {
        let v = serde_json::json!({"reprice_version": "0.1.0", "outputs": outputs});
        std::fs::write(dir.join(MANIFEST), v.to_string()).expect("write");
    }

    #[test]
    fn a_folder_is_ours_only_when_its_manifest_lists_every_file() {
        let d = tempfile::tempdir().expect("tempdir");
        let out = d.path().join("out");
        check_out(&out, &[], None).expect("absent is fine");
        std::fs::create_dir(&out).expect("mkdir");
        check_out(&out, &[], None).expect("empty is fine");
        std::fs::write(out.join("summary.json"), "{}").expect("write");
        manifest(&out, &["summary.json", "run.json"]);
        check_out(&out, &[], None).expect("ours");
        std::fs::write(out.join("budget.xlsx"), "x").expect("write");
        std::fs::create_dir(out.join("exports")).expect("mkdir");
        let e = check_out(&out, &[], None).expect_err("foreign");
        assert_eq!(
            e.to_string(),
            format!(
                "--out {} holds files reprice did not write (budget.xlsx, exports/); choose an empty or reprice-owned folder",
                out.display()
            )
        );
    }

    #[test]
    fn inputs_state_and_files_are_refused() {
        let d = tempfile::tempdir().expect("tempdir");
        let out = d.path().join("out");
        std::fs::create_dir_all(&out).expect("mkdir");
        manifest(&out, &["summary.json"]);
        std::fs::write(out.join("summary.json"), "{}").expect("write");
        let e = check_out(&out, &[out.join("summary.json")], None).expect_err("contains input");
        assert!(e.to_string().contains("contains the input"), "{e}");
        let e = check_out(&out, std::slice::from_ref(&out), None).expect_err("is input");
        assert!(e.to_string().contains("is the input"), "{e}");
        let e = check_out(&out, &[], Some(&out.join("st"))).expect_err("state inside");
        assert!(e.to_string().contains("overlap"), "{e}");
        let f = d.path().join("costs.csv");
        std::fs::write(&f, "a,b\n").expect("write");
        let e = check_out(&f, &[], None).expect_err("a file");
        assert!(e.to_string().contains("is an existing file"), "{e}");
        assert_eq!(std::fs::read(&f).expect("read"), b"a,b\n");
    }

    #[test]
    fn retiring_a_set_deletes_only_its_own_files() {
        let d = tempfile::tempdir().expect("tempdir");
        let old = d.path().join("old");
        let out = d.path().join("out");
        std::fs::create_dir(&old).expect("mkdir");
        std::fs::create_dir(&out).expect("mkdir");
        manifest(&old, &["report.md"]);
        std::fs::write(old.join("report.md"), "old").expect("write");
        std::fs::write(old.join("notes.txt"), "mine").expect("write");
        let w = retire(&old, &out);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(!old.exists());
        assert_eq!(std::fs::read(out.join("notes.txt")).expect("kept"), b"mine");
        assert!(!out.join("report.md").exists());
    }
}
