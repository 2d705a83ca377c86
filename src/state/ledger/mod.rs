//! The `--state` ledger: what earlier runs read, so that a nightly run parses only what is new.
//!
//! For each file the ledger keeps the BLAKE3 of the bytes read so far (up to the last complete
//! line) and the outcomes of those lines. A file that still starts with those bytes is read from
//! where the last run stopped; any other change is detected and the file is read again. The
//! outcomes are the same as a full run's, so the reports are too.

mod form;

use super::checkpoint::Resumption;
use super::unchanged::{Look, Unchanged};
use super::{out_err, write_synced};
use crate::error::RunError;
use crate::ingest::{self, Ingested, Options, source::Input};
use crate::outcome::{FileReport, Quarantined};
use crate::record::UsageRecord;
use crate::text::Text;
use form::{Entry, Ledger};
use rayon::prelude::*;
use std::path::Path;

const LEDGER: &str = "ledger.bin";
const LEDGER_NEXT: &str = "ledger.next.bin";
/// The ledger of versions before the binary one.
const LEDGER_JSON: &str = "ledger.json";

/// Kept record files an input may gather (one per run that found new lines in it) before a
/// run writes them into one again.
const MAX_SEGMENTS: usize = 16;

/// True when `dir` is a `--state` folder of reprice's (it holds a ledger).
pub fn is_state_folder(dir: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 16];
    let ours = std::fs::File::open(dir.join(LEDGER))
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| &head == form::MAGIC);
    ours || is_json_ledger(dir)
}

/// A ledger of an earlier version: its shape only, without building it.
fn is_json_ledger(dir: &Path) -> bool {
    let Ok(bytes) = std::fs::read(dir.join(LEDGER_JSON)) else {
        return false;
    };
    #[derive(serde::Deserialize)]
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

fn load_ledger(dir: &Path, warnings: &mut Vec<String>) -> Ledger {
    let path = dir.join(LEDGER);
    let unusable = match std::fs::read(&path) {
        Ok(bytes) => match form::decode(&bytes) {
            Some(l) => return l,
            None => path,
        },
        Err(_) if dir.join(LEDGER_JSON).exists() => dir.join(LEDGER_JSON),
        Err(_) => return Ledger::default(),
    };
    warnings.push(format!(
        "{}: unreadable or from another version; every input is read again",
        unusable.display()
    ));
    Ledger::default()
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
/// updated ledger is staged as `ledger.next.bin`, and `commit` makes it current once the
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
    let last_generation = ledger.generation;
    let mut earlier: Vec<Option<Entry>> = ledger.files.into_iter().map(|(_, e)| Some(e)).collect();
    let mut next = Ledger {
        generation,
        ..Ledger::default()
    };
    let mut changed = false;
    let mut parsed_bytes = 0;
    let mut resumption = Resumption {
        generation: last_generation,
        inputs: rustc_hash::FxHashMap::default(),
        staged: true,
    };
    out.files.reserve(inputs.len());
    next.files.reserve(inputs.len());
    for r in per_file {
        let One {
            key,
            report,
            quarantine,
            next: entry,
            warning,
            parsed,
            resumed,
            was,
        } = r?;
        // Entries move from the last ledger into the next: copying 20,000 of them, and
        // comparing them whole, was a tenth of a nightly run over as many small files.
        let was = was.and_then(|i| earlier[i].take());
        let kept = match entry {
            Next::AsBefore => {
                changed |= was.is_none();
                was
            }
            Next::Read(e) => {
                changed |= was.as_ref() != Some(&*e);
                Some(*e)
            }
            Next::Nothing => {
                changed |= was.is_some();
                None
            }
        };
        resumption
            .inputs
            .insert(key.clone(), (resumed, kept.is_some()));
        if let Some(e) = kept {
            next.files.push((key, e));
        }
        parsed_bytes += parsed;
        out.lines += report.lines;
        out.skipped += report.skipped;
        out.files.push(report);
        out.quarantine.extend(quarantine);
        if let Some(w) = warning {
            warnings.push(w);
        }
    }
    // Inputs the last run read and this one was not given.
    changed |= earlier.iter().any(Option::is_some);
    // Inputs come sorted and once each from the walk; the ledger stays in path order and
    // keyed once whatever a caller passes.
    next.files.sort_by(|a, b| a.0.cmp(&b.0));
    next.files.dedup_by(|a, b| a.0 == b.0);
    if !to.earlier && last_generation > 0 && !changed {
        // A ledger a killed run staged is not made current by this run's commit.
        let _ = std::fs::remove_file(dir.join(LEDGER_NEXT));
        resumption.staged = false;
        return Ok((out, parsed_bytes, resumption));
    }
    // The kept records are on disk before a ledger that names them is.
    crate::spill::sync_folder(dir).map_err(|e| out_err(dir, e))?;
    let staged = dir.join(LEDGER_NEXT);
    write_synced(&staged, &form::encode(&next))?;
    Ok((out, parsed_bytes, resumption))
}

/// What an input leaves in the next ledger.
enum Next {
    /// Its entry in the last ledger, as it was.
    AsBefore,
    /// This entry, from this run's read.
    Read(Box<Entry>),
    /// None: the input is not one the ledger can go on from.
    Nothing,
}

/// One input's report and quarantine, what it leaves in the next ledger, a warning when it
/// changed since the last run, the bytes parsed, and whether it went on from the ledger's
/// offset.
struct One {
    key: String,
    report: FileReport,
    quarantine: Vec<Quarantined>,
    next: Next,
    warning: Option<String>,
    parsed: u64,
    resumed: bool,
    /// Where the input's entry is in the last ledger, used or not.
    was: Option<usize>,
}

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
    let was = ledger.find(&key);
    let entry = was.map(|i| &ledger.files[i].1).filter(|_| resumable);
    if let (Some(e), Some(look)) = (entry, &look)
        && let Some(u) = e.unchanged.as_ref().filter(|u| u.look == *look)
        && e.records_files.len() < MAX_SEGMENTS
    {
        return Ok(One {
            was,
            ..as_before(dir, key, e, u, tick, to)?
        });
    }
    let prior = match entry {
        Some(e) => match ingest::hash_prefix(input, e.offset)? {
            Some(p) if p.hasher.finalize() == e.prefix_blake3 => Some((e, p)),
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
            // The report's hash is the hex of one this run computed: it always reads back.
            let whole = blake3::Hash::from_hex(&report.blake3).ok();
            let unchanged = look
                .filter(|l| settled.offset == report.bytes && l.settled_at(looked_at))
                .zip(whole)
                .map(|(look, blake3)| Unchanged {
                    look,
                    bytes: report.bytes,
                    blake3,
                });
            Next::Read(Box::new(Entry {
                offset: settled.offset,
                prefix_blake3: settled.prefix_blake3,
                lines: settled.lines,
                skipped,
                records,
                records_files,
                quarantine: qua,
                unchanged,
            }))
        }
        (k, _) => {
            if k.is_some_and(|k| k.made()) {
                let _ = std::fs::remove_file(&kept_path);
            }
            Next::Nothing
        }
    };
    let resumed = prior_entry.is_some();
    Ok(One {
        key,
        report,
        quarantine,
        next: entry,
        warning,
        parsed,
        resumed,
        was,
    })
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
    let file: Text = Text::from(key);
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
    key: String,
    e: &Entry,
    u: &Unchanged,
    tick: &(dyn Fn(u64) + Sync),
    to: Destination<'_>,
) -> Result<One, RunError> {
    replay_kept(
        dir,
        &key,
        &e.records_files,
        to.earlier.then_some(to.spill),
        None,
    )?;
    tick(u.bytes);
    let report = FileReport {
        path: key.clone(),
        // Only JSON-lines inputs are settled in the ledger, and only settled ones come here.
        format: "json-lines".to_string(),
        bytes: u.bytes,
        blake3: u.blake3.to_hex().to_string(),
        lines: e.lines,
        records: e.records,
        skipped: e.skipped,
        quarantined: e.quarantine.len() as u64,
        served_from_cache: 0,
        billed: Vec::new(),
    };
    Ok(One {
        key,
        report,
        quarantine: e.quarantine.clone(),
        next: Next::AsBefore,
        warning: None,
        parsed: 0,
        resumed: true,
        was: None,
    })
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
    // An earlier version's ledger, now replaced.
    let _ = std::fs::remove_file(dir.join(LEDGER_JSON));
    let ledger = std::fs::read(dir.join(LEDGER))
        .ok()
        .and_then(|b| form::decode(&b));
    let named: std::collections::BTreeSet<&str> = ledger
        .iter()
        .flat_map(|l| l.files.iter().map(|(_, e)| e))
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
        let i = l.find(key).expect("entry");
        let e = &mut l.files[i].1;
        e.unchanged = Some(Unchanged {
            look: Look::of(input).expect("look"),
            bytes: e.offset,
            blake3: blake3::hash(b"taken from the ledger"),
        });
        std::fs::write(dir.join(LEDGER), form::encode(&l)).expect("write");
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
        let i = l.find(&key).expect("entry");
        assert_eq!(l.files[i].1.unchanged, None);

        trust_as_is(&state, &key, &input);
        let again = read(&state, &input);
        assert_eq!(
            again.blake3,
            blake3::hash(b"taken from the ledger").to_hex().as_str()
        );
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
