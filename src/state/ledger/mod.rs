//! The `--state` ledger: what earlier runs read, so that a nightly run parses only what is new.
//!
//! For each file the ledger keeps the BLAKE3 of the bytes read so far (up to the last complete
//! line) and the outcomes of those lines. A file that still starts with those bytes is read from
//! where the last run stopped; any other change is detected and the file is read again. The
//! outcomes are the same as a full run's, so the reports are too.

use super::checkpoint::Resumption;
use super::unchanged::{Look, Unchanged};
use super::{out_err, write_synced};
use crate::error::RunError;
use crate::ingest::{self, Ingested, Options, source::Input};
use crate::outcome::{FileReport, Quarantined};
use crate::record::UsageRecord;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

const LEDGER: &str = "ledger.json";
const LEDGER_NEXT: &str = "ledger.next.json";
// 4: the prefix hash is BLAKE3 (`prefix_blake3`), no longer SHA-256.
const LEDGER_VERSION: u32 = 4;

/// Kept record files an input may gather (one per run that found new lines in it) before a
/// run writes them into one again.
const MAX_SEGMENTS: usize = 16;

/// True when `dir` is a `--state` folder of reprice's (it holds a ledger of its shape).
pub fn is_state_folder(dir: &Path) -> bool {
    let Ok(bytes) = std::fs::read(dir.join(LEDGER)) else {
        return false;
    };
    // Checked for every folder a walk enters: the shape only, without building the ledger of
    // a state folder of many inputs (megabytes of JSON).
    #[derive(Deserialize)]
    struct Shape {
        #[allow(dead_code)]
        version: serde::de::IgnoredAny,
        #[allow(dead_code)]
        generation: serde::de::IgnoredAny,
        #[allow(dead_code)]
        files: serde::de::IgnoredAny,
    }
    serde_json::from_slice::<Shape>(&bytes).is_ok()
}

#[derive(Serialize, Deserialize, Default)]
struct Ledger {
    version: u32,
    /// Counts the runs that wrote a ledger; names the files of kept records, so that a run
    /// never writes over the files the current ledger names.
    generation: u64,
    files: BTreeMap<String, Entry>,
}

#[derive(Serialize, Deserialize, Clone, PartialEq)]
struct Entry {
    /// Bytes read and settled: up to and including the last newline.
    offset: u64,
    /// BLAKE3 (hex) of those bytes.
    prefix_blake3: String,
    lines: u64,
    skipped: u64,
    /// The records of those lines, in files beside the ledger, in line order: a run that
    /// finds new lines adds a file of their records and leaves the earlier ones as they are,
    /// so a nightly run writes only what is new.
    records: u64,
    records_files: Vec<String>,
    quarantine: Vec<Quarantined>,
    /// Set when the file was read to its end and last changed well before it was looked at:
    /// while it looks the same, the next run takes its report from here without reading it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unchanged: Option<Unchanged>,
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

/// Where the records read go: the spill, and whether those the ledger kept from earlier runs
/// go there too (not when the caller has their analysis already, and then the ledger is left
/// as it is when no input changed: rewriting the same entries was a sixth of a nightly run
/// over thousands of small files).
#[derive(Clone, Copy)]
pub struct Destination<'s> {
    pub spill: &'s crate::spill::Spill,
    pub earlier: bool,
}

/// Like `ingest::ingest`, reusing what the ledger in `dir` already holds: a file that still
/// starts with the bytes the ledger hashed is read from where the last run stopped, and its
/// earlier records are streamed from their kept file (unless `to.earlier` is false). The
/// updated ledger is staged as `ledger.next.json`, and `commit` makes it current once the
/// reports are published; when `to.earlier` is false and no entry changed, none is staged.
pub fn ingest_incremental(
    dir: &Path,
    inputs: &[Input],
    opts: &Options<'_>,
    tick: &(dyn Fn(u64) + Sync),
    warnings: &mut Vec<String>,
    to: Destination<'_>,
) -> Result<(Ingested, u64, Resumption), RunError> {
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
                to,
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
    let mut resumption = Resumption {
        generation: ledger.generation,
        inputs: BTreeMap::new(),
        staged: true,
    };
    for (r, input) in per_file.into_iter().zip(inputs) {
        let (report, quarantine, entry, warning, parsed, resumed) = r?;
        resumption
            .inputs
            .insert(input.display().to_string(), (resumed, entry.is_some()));
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
    if !to.earlier && ledger.generation > 0 && next.files == ledger.files {
        // A ledger a killed run staged is not made current by this run's commit.
        let _ = std::fs::remove_file(dir.join(LEDGER_NEXT));
        resumption.staged = false;
        return Ok((out, parsed_bytes, resumption));
    }
    // The kept records are on disk before a ledger that names them is.
    crate::spill::sync_folder(dir).map_err(|e| out_err(dir, e))?;
    let staged = dir.join(LEDGER_NEXT);
    let text = serde_json::to_vec(&next).map_err(|e| out_err(&staged, e))?;
    write_synced(&staged, &text)?;
    Ok((out, parsed_bytes, resumption))
}

/// One input's report and quarantine, its next ledger entry, a warning when it changed since
/// the last run, the bytes parsed, and whether it went on from the ledger's offset.
type One = (
    FileReport,
    Vec<Quarantined>,
    Option<(String, Entry)>,
    Option<String>,
    u64,
    bool,
);

/// Reads one input for `ingest_incremental`.
fn read_one(
    dir: &Path,
    ledger: &Ledger,
    input: &Input,
    kept_name: String,
    opts: &Options<'_>,
    tick: &(dyn Fn(u64) + Sync),
    to: Destination<'_>,
) -> Result<One, RunError> {
    let Destination { spill, earlier } = to;
    let key = input.display().to_string();
    let is_file = matches!(input, Input::File { .. });
    let mut warning = None;
    // Files read as CSV are read whole: the ledger resumes JSON lines only.
    let resumable = is_file && opts.format != Some(ingest::Format::Csv);
    // Looked at before it is read: a change while it is read shows in the next run's look.
    let looked_at = std::time::SystemTime::now();
    let look = Look::of(input).filter(|_| resumable);
    let entry = ledger.files.get(&key).filter(|_| resumable);
    if let (Some(e), Some(look)) = (entry, &look)
        && let Some(u) = e.unchanged.as_ref().filter(|u| u.look == *look)
        && e.records_files.len() < MAX_SEGMENTS
    {
        return as_before(dir, &key, e, u, tick, to);
    }
    let prior = match entry {
        Some(e) => match ingest::hash_prefix(input, e.offset)? {
            Some(p) if p.hasher.finalize().to_hex().as_str() == e.prefix_blake3 => Some((e, p)),
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
    // The earlier files are kept as they are, unless there are so many that they are gathered
    // into this run's file.
    let compact = prior_entry.is_some_and(|e| e.records_files.len() >= MAX_SEGMENTS);
    let start = match prior {
        Some((e, prefix)) => {
            replay_kept(
                dir,
                &key,
                &e.records_files,
                earlier.then_some(spill),
                kept.as_mut().filter(|_| compact),
            )?;
            tick(e.offset);
            ingest::Start::Resume {
                offset: e.offset,
                lines: e.lines,
                prefix: Box::new(prefix),
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
            // Most inputs of a nightly run have nothing new: no file was made for them, and
            // removing one that is not there costs a directory lookup each (20,000 of them
            // were a seventh of a run over 20,000 small files).
            let made = k.made();
            let written = k.finish(settled.offset).map_err(io)?;
            let mut records_files = match prior_entry {
                Some(e) if !compact => e.records_files.clone(),
                _ => Vec::new(),
            };
            let records = written
                + match prior_entry {
                    Some(e) if !compact => e.records,
                    _ => 0,
                };
            if written > 0 {
                records_files.push(kept_name);
            } else if made {
                let _ = std::fs::remove_file(&kept_path);
            }
            let qua: Vec<Quarantined> = quarantine
                .iter()
                .filter(|q| q.byte < settled.offset)
                .cloned()
                .collect();
            let skipped = settled.lines - records - qua.len() as u64;
            let unchanged = look
                .filter(|l| settled.offset == report.bytes && l.settled_at(looked_at))
                .map(|look| Unchanged {
                    look,
                    bytes: report.bytes,
                    blake3: report.blake3.clone(),
                });
            Some((
                key,
                Entry {
                    offset: settled.offset,
                    prefix_blake3: settled.prefix_blake3,
                    lines: settled.lines,
                    skipped,
                    records,
                    records_files,
                    quarantine: qua,
                    unchanged,
                },
            ))
        }
        (k, _) => {
            if k.is_some_and(|k| k.made()) {
                let _ = std::fs::remove_file(&kept_path);
            }
            None
        }
    };
    let resumed = prior_entry.is_some();
    Ok((report, quarantine, entry, warning, parsed, resumed))
}

/// The records an earlier run kept of input `key`, from its files `names`: handed to `spill`
/// when given, and copied into `gather` when given (the files of an input are gathered into
/// one when there are too many). Neither given: nothing is read.
fn replay_kept(
    dir: &Path,
    key: &str,
    names: &[String],
    spill: Option<&crate::spill::Spill>,
    mut gather: Option<&mut crate::spill::KeptWriter>,
) -> Result<(), RunError> {
    if spill.is_none() && gather.is_none() {
        return Ok(());
    }
    let file: std::sync::Arc<str> = std::sync::Arc::from(key);
    for name in names {
        let src = dir.join(name);
        crate::spill::read_kept(&src, file.clone(), PART, |records| {
            if let Some(k) = gather.as_deref_mut() {
                k.append(&records)?;
            }
            match spill {
                Some(s) => s
                    .push(records)
                    .map_err(|e| std::io::Error::other(e.to_string())),
                None => Ok(()),
            }
        })
        .map_err(|e| out_err(&src, e))?;
    }
    Ok(())
}

/// An input that looks as it did when the last run read it to its end: its report and ledger
/// entry are the last run's, and its records, when asked for, come from their kept files.
fn as_before(
    dir: &Path,
    key: &str,
    e: &Entry,
    u: &Unchanged,
    tick: &(dyn Fn(u64) + Sync),
    to: Destination<'_>,
) -> Result<One, RunError> {
    replay_kept(
        dir,
        key,
        &e.records_files,
        to.earlier.then_some(to.spill),
        None,
    )?;
    tick(u.bytes);
    let report = FileReport {
        path: key.to_string(),
        // Only JSON-lines inputs are settled in the ledger, and only settled ones come here.
        format: "json-lines".to_string(),
        bytes: u.bytes,
        blake3: u.blake3.clone(),
        lines: e.lines,
        records: e.records,
        skipped: e.skipped,
        quarantined: e.quarantine.len() as u64,
        served_from_cache: 0,
        billed: Vec::new(),
    };
    let entry = Some((key.to_string(), e.clone()));
    Ok((report, e.quarantine.clone(), entry, None, 0, true))
}

/// Makes the staged ledger current; called only after the reports are published. Kept record
/// files the ledger no longer names (earlier runs', or a crashed run's) are removed after.
/// Without a staged ledger (no input changed) nothing is done.
pub fn commit(dir: &Path) -> Result<(), RunError> {
    let staged = dir.join(LEDGER_NEXT);
    if !staged.exists() {
        // Nothing changed: the ledger, its checkpoint and its kept files stay as they are.
        return Ok(());
    }
    std::fs::rename(&staged, dir.join(LEDGER)).map_err(|e| out_err(&staged, e))?;
    super::checkpoint::commit(dir)?;
    // Only the names of the kept files: the ledger of many inputs is megabytes, and building
    // all of it again was a tenth of a nightly run over 20,000 small files.
    #[derive(Deserialize)]
    struct Names {
        version: u32,
        files: BTreeMap<String, KeptFiles>,
    }
    #[derive(Deserialize)]
    struct KeptFiles {
        records_files: Vec<String>,
    }
    let ledger = std::fs::read(dir.join(LEDGER))
        .ok()
        .and_then(|b| serde_json::from_slice::<Names>(&b).ok())
        .filter(|l| l.version == LEDGER_VERSION);
    let named: std::collections::BTreeSet<&str> = ledger
        .iter()
        .flat_map(|l| l.files.values())
        .flat_map(|e| e.records_files.iter().map(String::as_str))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn read(dir: &Path, input: &Input) -> FileReport {
        let spill = crate::spill::Spill::default();
        let mut warnings = Vec::new();
        let (ing, _, _) = ingest_incremental(
            dir,
            std::slice::from_ref(input),
            &Options::new(&[]),
            &|_| {},
            &mut warnings,
            Destination {
                spill: &spill,
                earlier: true,
            },
        )
        .expect("ingest");
        commit(dir).expect("commit");
        ing.files.into_iter().next().expect("one file")
    }

    /// Rewrites the ledger's entry of `key` as a trusted look at the file as it is now, with a
    /// BLAKE3 no read could give: a report that carries it was taken from the ledger.
    fn trust_as_is(dir: &Path, key: &str, input: &Input) {
        let mut l = load_ledger(dir, &mut Vec::new());
        let e = l.files.get_mut(key).expect("entry");
        e.unchanged = Some(Unchanged {
            look: Look::of(input).expect("look"),
            bytes: e.offset,
            blake3: "taken from the ledger".to_string(),
        });
        std::fs::write(dir.join(LEDGER), serde_json::to_vec(&l).expect("json")).expect("write");
    }

    #[test]
    fn a_file_that_looks_as_it_did_is_not_read_and_any_change_is() {
        let d = tempfile::tempdir().expect("tempdir");
        let state = d.path().join("state");
        let path = d.path().join("a.jsonl");
        let line = r#"{"timestamp":"2026-03-01T00:00:00Z","request":{"model":"gpt-5.1"},"response":{"id":"r1","model":"gpt-5.1","usage":{"prompt_tokens":10,"completion_tokens":5}}}"#;
        std::fs::write(&path, format!("{line}\n")).expect("write");
        let input = Input::File {
            display: path.display().to_string(),
            path: path.clone(),
        };
        let key = input.display().to_string();
        let first = read(&state, &input);
        assert_eq!(first.records, 1);
        // Just written: its look is not yet trusted, so the ledger keeps none.
        let l = load_ledger(&state, &mut Vec::new());
        assert_eq!(l.files[&key].unchanged, None);

        trust_as_is(&state, &key, &input);
        let again = read(&state, &input);
        assert_eq!(again.blake3, "taken from the ledger");
        assert_eq!(
            (again.bytes, again.lines, again.records, again.quarantined),
            (first.bytes, first.lines, first.records, first.quarantined)
        );

        // The same bytes written again: the look changes, so the file is read and hashed.
        trust_as_is(&state, &key, &input);
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, format!("{line}\n")).expect("write");
        let reread = read(&state, &input);
        assert_eq!(reread.blake3, first.blake3);
    }
}
