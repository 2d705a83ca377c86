//! Unattended runs: the `--state` ledger (what was already read), the lock that keeps two runs
//! apart, atomic publishing of reports, and the run manifest.
//!
//! A nightly run re-parses only what is new: for each file the ledger keeps the SHA-256 of the
//! bytes read so far (up to the last complete line) and the outcomes of those lines. A file that
//! still starts with those bytes is read from where the last run stopped; any other change is
//! detected and the file is read again. The outcomes are the same as a full run's, so the
//! reports are too.

use crate::error::RunError;
use crate::ingest::{self, FileReport, Ingested, Options, Quarantined, hex, source::Input};
use crate::record::UsageRecord;
use crate::run::{Computed, Config};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const LEDGER: &str = "ledger.json";
const LEDGER_NEXT: &str = "ledger.next.json";
/// 3: kept records carry how their image count was found and their IMAGE tokens.
const LEDGER_VERSION: u32 = 3;

fn out_err(path: &Path, e: impl std::fmt::Display) -> RunError {
    RunError::Output {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

// ------------------------------------------------------------------------------------ lock

/// Held for the whole run; removed on drop.
pub struct Lock {
    path: PathBuf,
}

impl Lock {
    pub fn acquire(dir: &Path) -> Result<Lock, RunError> {
        std::fs::create_dir_all(dir).map_err(|e| out_err(dir, e))?;
        let path = dir.join("lock");
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    use std::io::Write;
                    writeln!(f, "{}", std::process::id()).map_err(|e| out_err(&path, e))?;
                    return Ok(Lock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let pid: u32 = std::fs::read_to_string(&path)
                        .ok()
                        .and_then(|s| s.trim().parse().ok())
                        .unwrap_or(0);
                    if pid != 0 && Path::new(&format!("/proc/{pid}")).exists() {
                        return Err(RunError::Locked { path, pid });
                    }
                    // The process that took it is gone: a stale lock from a crash or a kill.
                    eprintln!(
                        "reprice: warning: taking over stale lock {} (pid {pid} is not running)",
                        path.display()
                    );
                    std::fs::remove_file(&path).map_err(|e| out_err(&path, e))?;
                }
                Err(e) => return Err(out_err(&path, e)),
            }
        }
        Err(out_err(&path, "could not create the lock file"))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

// --------------------------------------------------------------------------------- publish

/// Writing the reports for `out` failed; nothing was published.
pub fn reports_failed(out: &Path, e: impl std::fmt::Display) -> RunError {
    out_err(
        out,
        format!("writing reports failed: {e}; the previous reports are unchanged"),
    )
}

/// A temporary folder beside `out` that the reports are written into, then swapped into
/// place by [`Staging::publish`]. A run that fails before the swap removes the folder (or,
/// when killed, leaves it aside): the previous reports stay as they were.
pub struct Staging {
    out: PathBuf,
    tmp: PathBuf,
    old: PathBuf,
    published: bool,
}

impl Staging {
    pub fn create(out: &Path) -> Result<Staging, RunError> {
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| {
                RunError::Usage(format!("--out {}: not a folder name", out.display()))
            })?;
        if parent.exists() && !parent.is_dir() {
            return Err(out_err(
                &parent,
                "not a folder, so the reports cannot be written under it",
            ));
        }
        std::fs::create_dir_all(&parent)
            .map_err(|e| out_err(&parent, format!("cannot create the output folder: {e}")))?;
        let pid = std::process::id();
        let tmp = parent.join(format!(".{name}.tmp-{pid}"));
        let old = parent.join(format!(".{name}.old-{pid}"));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir(&tmp).map_err(|e| out_err(&tmp, e))?;
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

    /// Syncs what was written and swaps it into place of the previous reports.
    pub fn publish(mut self) -> Result<(), RunError> {
        injected_write_error()
            .and_then(|_| sync_dir(&self.tmp))
            .map_err(|e| self.failed(e))?;
        failpoint("written");
        let (out, tmp, old) = (&self.out, &self.tmp, &self.old);
        let had_old = out.exists();
        if had_old {
            std::fs::rename(out, old).map_err(|e| out_err(out, e))?;
        }
        failpoint("swapping");
        if let Err(e) = std::fs::rename(tmp, out) {
            if had_old {
                let _ = std::fs::rename(old, out);
            }
            return Err(out_err(out, e));
        }
        self.published = true;
        if had_old {
            let _ = std::fs::remove_dir_all(old);
        }
        Ok(())
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
    Ok(())
}

// ---------------------------------------------------------------------------------- ledger

#[derive(Serialize, Deserialize, Default)]
struct Ledger {
    version: u32,
    /// Counts the runs that wrote a ledger; names the files of kept records, so that a run
    /// never writes over the files the current ledger names.
    generation: u64,
    files: BTreeMap<String, Entry>,
}

#[derive(Serialize, Deserialize, Clone)]
struct Entry {
    /// Bytes read and settled: up to and including the last newline.
    offset: u64,
    prefix_sha256: String,
    lines: u64,
    skipped: u64,
    /// The records of those lines, in a file beside the ledger.
    records: u64,
    records_file: String,
    quarantine: Vec<Quarantined>,
}

fn load_ledger(dir: &Path, warnings: &mut Vec<String>) -> Ledger {
    let path = dir.join(LEDGER);
    match std::fs::read(&path) {
        Err(_) => Ledger {
            version: LEDGER_VERSION,
            ..Ledger::default()
        },
        Ok(bytes) => match serde_json::from_slice::<Ledger>(&bytes) {
            Ok(l) if l.version == LEDGER_VERSION => l,
            _ => {
                warnings.push(format!(
                    "{}: unreadable or from another version; every input is read again",
                    path.display()
                ));
                Ledger {
                    version: LEDGER_VERSION,
                    ..Ledger::default()
                }
            }
        },
    }
}

/// Records per part handed to the spill from a kept file.
const PART: usize = 16_384;

/// Like `ingest::ingest`, reusing what the ledger in `dir` already holds: a file that still
/// starts with the bytes the ledger hashed is read from where the last run stopped, and its
/// earlier records are streamed from their kept file. The updated ledger is staged as
/// `ledger.next.json`; `commit` makes it current once the reports are published.
pub fn ingest_incremental(
    dir: &Path,
    inputs: &[Input],
    opts: &Options<'_>,
    tick: &(dyn Fn(u64) + Sync),
    warnings: &mut Vec<String>,
    spill: &crate::spill::Spill,
) -> Result<(Ingested, u64), RunError> {
    std::fs::create_dir_all(dir).map_err(|e| out_err(dir, e))?;
    let ledger = load_ledger(dir, warnings);
    let generation = ledger.generation + 1;
    let per_file: Vec<Result<One, RunError>> = inputs
        .par_iter()
        .enumerate()
        .map(|(k, input)| {
            read_one(
                dir,
                &ledger,
                input,
                format!("records-{generation}-{k}.bin"),
                opts,
                tick,
                spill,
            )
        })
        .collect();
    let mut out = Ingested::default();
    let mut next = Ledger {
        version: LEDGER_VERSION,
        generation,
        files: BTreeMap::new(),
    };
    let mut parsed_bytes = 0;
    for r in per_file {
        let (report, quarantine, entry, warning, parsed) = r?;
        parsed_bytes += parsed;
        out.lines += report.lines;
        out.skipped += report.skipped;
        out.files.push(report);
        out.quarantine.extend(quarantine);
        if let Some((k, e)) = entry {
            next.files.insert(k, e);
        }
        if let Some(w) = warning {
            warnings.push(w);
        }
    }
    let staged = dir.join(LEDGER_NEXT);
    let text = serde_json::to_vec(&next).map_err(|e| out_err(&staged, e))?;
    write_synced(&staged, &text)?;
    Ok((out, parsed_bytes))
}

/// One input's report and quarantine, its next ledger entry, a warning when it changed since
/// the last run, and the bytes parsed.
type One = (
    FileReport,
    Vec<Quarantined>,
    Option<(String, Entry)>,
    Option<String>,
    u64,
);

/// Reads one input for `ingest_incremental`.
fn read_one(
    dir: &Path,
    ledger: &Ledger,
    input: &Input,
    kept_name: String,
    opts: &Options<'_>,
    tick: &(dyn Fn(u64) + Sync),
    spill: &crate::spill::Spill,
) -> Result<One, RunError> {
    let key = input.display().to_string();
    let is_file = matches!(input, Input::File { .. });
    let mut warning = None;
    // Files read as CSV are read whole: the ledger resumes JSON lines only.
    let resumable = is_file && opts.format != Some(ingest::Format::Csv);
    let prior = match ledger.files.get(&key).filter(|_| resumable) {
        Some(e) => match ingest::hash_prefix(input, e.offset)? {
            Some(p) if hex(&p.hasher.clone().finalize()) == e.prefix_sha256 => Some((e, p)),
            _ => {
                warning = Some(format!(
                    "{key}: changed or truncated since the last run; read again in full"
                ));
                None
            }
        },
        None => None,
    };
    let kept_path = dir.join(&kept_name);
    let mut kept = if is_file {
        Some(crate::spill::KeptWriter::create(&kept_path).map_err(|e| out_err(&kept_path, e))?)
    } else {
        None
    };
    let io = |e: std::io::Error| out_err(&kept_path, e);
    let prior_entry = prior.as_ref().map(|(e, _)| *e);
    let start = match prior {
        Some((e, prefix)) => {
            let file: std::sync::Arc<str> = std::sync::Arc::from(key.as_str());
            let src = dir.join(&e.records_file);
            crate::spill::read_kept(&src, file, PART, |records| {
                if let Some(k) = &mut kept {
                    k.append(&records)?;
                }
                spill
                    .push(records)
                    .map_err(|e| std::io::Error::other(e.to_string()))
            })
            .map_err(|e| out_err(&src, e))?;
            tick(e.offset);
            ingest::Start::Resume {
                offset: e.offset,
                lines: e.lines,
                prefix,
            }
        }
        None => ingest::Start::EveryLine,
    };
    let mut emit = |records: Vec<UsageRecord>| {
        if let Some(k) = &mut kept {
            k.append(&records).map_err(io)?;
        }
        spill.push(records)
    };
    let (mut report, mut quarantine, settled) =
        ingest::read_input(input, opts, tick, &mut emit, start)?;
    let parsed = report.bytes - prior_entry.map_or(0, |e| e.offset);
    if let Some(e) = prior_entry {
        report.records += e.records;
        report.skipped += e.skipped;
        report.quarantined += e.quarantine.len() as u64;
        let mut all = e.quarantine.clone();
        all.append(&mut quarantine);
        quarantine = all;
    }
    // What is settled (complete lines of a JSON-lines file) goes into the next ledger.
    let entry = match (kept, settled) {
        (Some(k), Some(settled)) => {
            let records = k.finish(settled.offset).map_err(io)?;
            let qua: Vec<Quarantined> = quarantine
                .iter()
                .filter(|q| q.byte < settled.offset)
                .cloned()
                .collect();
            let skipped = settled.lines - records - qua.len() as u64;
            Some((
                key,
                Entry {
                    offset: settled.offset,
                    prefix_sha256: settled.prefix_sha256,
                    lines: settled.lines,
                    skipped,
                    records,
                    records_file: kept_name,
                    quarantine: qua,
                },
            ))
        }
        (k, _) => {
            drop(k);
            let _ = std::fs::remove_file(&kept_path);
            None
        }
    };
    Ok((report, quarantine, entry, warning, parsed))
}

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
pub fn failpoint(name: &str) {
    let Ok(v) = std::env::var("REPRICE_FAILPOINT") else {
        return;
    };
    if v == name {
        std::process::abort();
    }
    if v.strip_prefix("pause:") == Some(name) {
        let ms = std::env::var("REPRICE_FAILPOINT_PAUSE_MS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(3000);
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// `REPRICE_FAILPOINT=enospc` makes writing the reports fail as a full disk would, for tests on
/// machines where no small file system can be mounted.
fn injected_write_error() -> std::io::Result<()> {
    match std::env::var("REPRICE_FAILPOINT").as_deref() {
        Ok("enospc") => Err(std::io::Error::from_raw_os_error(28)),
        _ => Ok(()),
    }
}

/// Makes the staged ledger current; called only after the reports are published. Kept record
/// files the ledger no longer names (earlier runs', or a crashed run's) are removed after.
pub fn commit(dir: &Path) -> Result<(), RunError> {
    let staged = dir.join(LEDGER_NEXT);
    if staged.exists() {
        std::fs::rename(&staged, dir.join(LEDGER)).map_err(|e| out_err(&staged, e))?;
    }
    let mut warnings = Vec::new();
    let ledger = load_ledger(dir, &mut warnings);
    let named: std::collections::BTreeSet<&str> = ledger
        .files
        .values()
        .map(|e| e.records_file.as_str())
        .collect();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("records-")
                && name.ends_with(".bin")
                && !named.contains(name.as_str())
            {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok(())
}

// -------------------------------------------------------------------------------- manifest

#[derive(Serialize)]
struct Manifest<'a> {
    reprice_version: &'static str,
    summary_schema_version: u32,
    time_zone: &'a str,
    since: Option<chrono::NaiveDate>,
    until: Option<chrono::NaiveDate>,
    /// The catalog files in the order they were laid on each other.
    catalog: Vec<Origin>,
    scenarios: Origin,
    inputs: &'a [FileReport],
    counts: &'a crate::analyze::InputCounts,
}

#[derive(Serialize)]
struct Origin {
    source: String,
    sha256: String,
}

fn origins(paths: &[PathBuf], builtin: &str) -> Vec<Origin> {
    if paths.is_empty() {
        return vec![origin(None, builtin)];
    }
    paths.iter().map(|p| origin(Some(p), builtin)).collect()
}

fn origin(path: Option<&Path>, builtin: &str) -> Origin {
    match path {
        None => Origin {
            source: "built-in".to_string(),
            sha256: hex(&Sha256::digest(builtin.as_bytes())),
        },
        Some(p) => Origin {
            source: p.display().to_string(),
            sha256: std::fs::read(p)
                .map(|b| hex(&Sha256::digest(&b)))
                .unwrap_or_default(),
        },
    }
}

/// run.json: what made these reports (inputs with hashes, catalog and scenarios hashes,
/// version, counts). It holds no clock time, so identical inputs give an identical manifest.
pub fn manifest(args: &crate::cli::RunArgs, cfg: &Config, c: &Computed) -> String {
    let m = Manifest {
        reprice_version: env!("CARGO_PKG_VERSION"),
        summary_schema_version: crate::analyze::SCHEMA_VERSION,
        time_zone: &cfg.tz_name,
        since: cfg.since,
        until: cfg.until,
        catalog: origins(&args.catalog, crate::catalog::DEFAULT_TOML),
        scenarios: origin(args.scenarios.as_deref(), crate::scenario::BUILTIN_TOML),
        inputs: &c.files,
        counts: &c.analysis.summary.input,
    };
    serde_json::to_string_pretty(&m)
        .map(|s| s + "\n")
        .unwrap_or_default()
}
