//! Unattended runs: the `--state` ledger (what was already read), the lock that keeps two runs
//! apart, atomic publishing of reports, and the run manifest.
//!
//! A nightly run re-parses only what is new: for each file the ledger keeps the SHA-256 of the
//! bytes read so far (up to the last complete line) and the outcomes of those lines. A file that
//! still starts with those bytes is read from where the last run stopped; any other change is
//! detected and the file is read again. The outcomes are the same as a full run's, so the
//! reports are too.

use crate::error::RunError;
use crate::ingest::{self, FileReport, Ingested, Options, Quarantined, source::Input};
use crate::record::UsageRecord;
use crate::run::{Computed, Config};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const LEDGER: &str = "ledger.json";
const LEDGER_NEXT: &str = "ledger.next.json";
const LEDGER_VERSION: u32 = 1;

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
        out_err(
            &self.out,
            format!("writing reports failed: {e}; the previous reports are unchanged"),
        )
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
    files: BTreeMap<String, Entry>,
}

#[derive(Serialize, Deserialize, Clone)]
struct Entry {
    /// Bytes read and settled: up to and including the last newline.
    offset: u64,
    prefix_sha256: String,
    lines: u64,
    skipped: u64,
    records: Vec<UsageRecord>,
    quarantine: Vec<Quarantined>,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
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

/// Like `ingest::ingest`, reusing what the ledger in `dir` already holds. The updated ledger is
/// staged as `ledger.next.json`; `commit` makes it current once the reports are published.
pub fn ingest_incremental(
    dir: &Path,
    inputs: &[Input],
    opts: &Options<'_>,
    tick: &(dyn Fn(u64) + Sync),
    warnings: &mut Vec<String>,
    spill: &crate::spill::Spill,
) -> Result<(Ingested, u64), RunError> {
    let ledger = load_ledger(dir, warnings);
    type One = (
        FileReport,
        Vec<UsageRecord>,
        Vec<Quarantined>,
        Option<(String, Entry)>,
        Option<String>,
        u64,
    );
    let per_file: Vec<Result<One, RunError>> = inputs
        .par_iter()
        .map(|input| {
            let bytes = ingest::source::read(input)?;
            tick(bytes.len() as u64);
            let key = input.display().to_string();
            let settled = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
            let mut warning = None;
            let prior = ledger.files.get(&key).filter(|e| {
                let ok = (e.offset as usize) <= bytes.len()
                    && hex(&Sha256::digest(&bytes[..e.offset as usize])) == e.prefix_sha256;
                if !ok {
                    warning = Some(format!(
                        "{key}: changed or truncated since the last run; read again in full"
                    ));
                }
                ok
            });
            let is_csv = ingest::detect::file_kind(&bytes[..bytes.len().min(65536)])
                == ingest::detect::FileKind::Csv
                || opts.format == Some(ingest::Format::Csv);
            let mut parsed = bytes.len() as u64;
            let (report, records, quarantine) = match prior {
                Some(e) if !is_csv && matches!(input, Input::File { .. }) => {
                    parsed = bytes.len() as u64 - e.offset;
                    let (mut rep, mut recs, mut quar) =
                        ingest::parse_bytes_from(&key, &bytes, e.offset, e.lines, opts);
                    rep.lines += e.lines;
                    rep.skipped += e.skipped;
                    rep.records += e.records.len() as u64;
                    rep.quarantined += e.quarantine.len() as u64;
                    let mut all = e.records.clone();
                    all.append(&mut recs);
                    let mut q = e.quarantine.clone();
                    q.append(&mut quar);
                    (rep, all, q)
                }
                _ => ingest::parse_bytes(&key, &bytes, opts),
            };
            // What is settled (complete lines) goes into the next ledger.
            let entry = matches!(input, Input::File { .. }).then(|| {
                let settled_lines = ingest::split_lines(&bytes[..settled]).len() as u64;
                let rec: Vec<UsageRecord> = records
                    .iter()
                    .filter(|r| r.source.byte < settled as u64)
                    .cloned()
                    .collect();
                let qua: Vec<Quarantined> = quarantine
                    .iter()
                    .filter(|q| q.byte < settled as u64)
                    .cloned()
                    .collect();
                let skipped = settled_lines - rec.len() as u64 - qua.len() as u64;
                (
                    key.clone(),
                    Entry {
                        offset: settled as u64,
                        prefix_sha256: hex(&Sha256::digest(&bytes[..settled])),
                        lines: settled_lines,
                        skipped,
                        records: rec,
                        quarantine: qua,
                    },
                )
            });
            Ok((report, records, quarantine, entry, warning, parsed))
        })
        .collect();
    let mut out = Ingested::default();
    let mut next = Ledger {
        version: LEDGER_VERSION,
        files: BTreeMap::new(),
    };
    let mut parsed_bytes = 0;
    for r in per_file {
        let (report, records, quarantine, entry, warning, parsed) = r?;
        parsed_bytes += parsed;
        out.lines += report.lines;
        out.skipped += report.skipped;
        out.files.push(report);
        spill.push(records)?;
        out.quarantine.extend(quarantine);
        if let Some((k, e)) = entry {
            next.files.insert(k, e);
        }
        if let Some(w) = warning {
            warnings.push(w);
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| out_err(dir, e))?;
    let staged = dir.join(LEDGER_NEXT);
    let text = serde_json::to_vec(&next).map_err(|e| out_err(&staged, e))?;
    write_synced(&staged, &text)?;
    Ok((out, parsed_bytes))
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

/// Makes the staged ledger current; called only after the reports are published.
pub fn commit(dir: &Path) -> Result<(), RunError> {
    let staged = dir.join(LEDGER_NEXT);
    if staged.exists() {
        std::fs::rename(&staged, dir.join(LEDGER)).map_err(|e| out_err(&staged, e))?;
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
