//! Reading, deduplicating, pricing and analyzing the inputs of a run, before anything is
//! written. With `--state`, a run goes on from the analysis the last run kept when every
//! record it finds is new and later than those (a nightly run over appended logs); otherwise
//! it analyzes every record, and says why.

use crate::analyze::{self, Analysis, Context, InputCounts};
use crate::config::Config;
use crate::error::RunError;
use crate::ingest::{self, source};
use crate::outcome::{FileReport, Quarantined};
use crate::progress::{Progress, Timings};
use crate::record::UsageRecord;
use crate::report;
use crate::reprice;
use crate::spill::Spill;
use crate::state::{self, checkpoint};
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};

/// The result of reading, pricing and analyzing, before anything is written.
pub struct Computed {
    pub analysis: Analysis,
    pub quarantine: Vec<Quarantined>,
    pub files: Vec<FileReport>,
    /// Bytes parsed in this run (less than the inputs' size when --state reused earlier work).
    pub parsed_bytes: u64,
    /// Messages about this run only (not about the data), for stderr.
    pub notices: Vec<String>,
    /// Folders left out of the walk: reprice's own reports and state.
    pub skipped_folders: u64,
    /// Records of the period whose analysis came from the last `--state` run, not analyzed
    /// again.
    pub carried: u64,
}

/// Records per chunk of the stream: small enough that two chunks in memory (one read while the
/// other is worked on) cost little, large enough to spread each over the threads.
const CHUNK: usize = 16_384;

/// What the period filter let through and held back, and, with `--state`, what the next run's
/// checkpoint needs of every record.
#[derive(Default)]
struct InPeriod<'c> {
    records: u64,
    out_of_period: u64,
    assumed_utc: u64,
    /// The time of the last record, in or out of the period.
    last: Option<DateTime<Utc>>,
    /// With `--state`: the id hashes of the records so far, for the next run's checkpoint.
    ids: Option<Vec<u64>>,
    /// The checkpoint this run goes on from: every record must come after its last one and
    /// carry an id it has not seen.
    after: Option<(&'c [u64], Option<DateTime<Utc>>)>,
    /// Why this run cannot go on from the checkpoint, found on a record; no records are given
    /// after it.
    broken: Option<String>,
}

impl InPeriod<'_> {
    /// The next records of the period, up to `CHUNK`; empty at the end.
    fn chunk(
        &mut self,
        sorted: &mut crate::spill::Sorted,
        cfg: &Config,
    ) -> Result<Vec<UsageRecord>, RunError> {
        let mut out = Vec::with_capacity(CHUNK);
        while out.len() < CHUNK && self.broken.is_none() {
            let Some(r) = sorted.next() else { break };
            let mut r = r?;
            self.check(&r);
            self.last = Some(r.time);
            // Counted here, the one place every record passes before it is priced, folded or
            // written: images from IMAGE tokens need the catalog, which parsers never see.
            cfg.catalog.count_images(&mut r);
            let day = r.time.with_timezone(&cfg.tz).date_naive();
            if cfg.since.is_none_or(|s| day >= s) && cfg.until.is_none_or(|u| day <= u) {
                self.records += 1;
                self.assumed_utc += u64::from(r.time_assumed_utc);
                out.push(r);
            } else {
                self.out_of_period += 1;
            }
        }
        if self.broken.is_some() {
            out.clear();
        }
        Ok(out)
    }

    fn check(&mut self, r: &UsageRecord) {
        let hash = r.id.as_deref().map(checkpoint::id_hash);
        if let (Some(ids), Some(h)) = (&mut self.ids, hash) {
            ids.push(h);
        }
        let Some((seen, last)) = self.after else {
            return;
        };
        if last.is_some_and(|l| r.time <= l) {
            self.broken = Some(format!(
                "{}:{} is not later than the last record analyzed before",
                r.source.file, r.source.line
            ));
        } else if hash.is_some_and(|h| seen.binary_search(&h).is_ok()) {
            self.broken = Some(format!(
                "{}:{} may repeat a record analyzed before",
                r.source.file, r.source.line
            ));
        }
    }
}

/// What decides the analysis of a record besides the record itself, as the checkpoint keeps it.
fn settings(cfg: &Config) -> checkpoint::Settings {
    let hash = |text: String| blake3::hash(text.as_bytes()).to_hex().to_string();
    checkpoint::Settings {
        catalog: hash(format!("{:?}", cfg.catalog.file)),
        scenarios: hash(format!("{:?}", cfg.scenarios)),
        time_zone: cfg.tz_name.clone(),
        period: format!("{:?}..{:?}", cfg.since, cfg.until),
        reading: hash(format!(
            "{:?} {:?} {} {:?} {} {} {}",
            cfg.format,
            cfg.csv_mappings,
            cfg.max_line,
            cfg.default_day,
            cfg.focus,
            env!("CARGO_PKG_VERSION"),
            checkpoint::VERSION,
        )),
    }
}

/// Reads, deduplicates, prices and analyzes the inputs. records.parquet is written into
/// `records_out` as the records stream through, when given.
pub fn compute(
    cfg: &Config,
    progress: &Progress,
    records_out: Option<&Path>,
) -> Result<Computed, RunError> {
    let mut notices = Vec::new();
    let from = match &cfg.state {
        Some(dir) => {
            checkpoint::discard_staged(dir);
            // records.parquet needs every record, which only their files hold.
            if records_out.is_some() {
                None
            } else {
                match checkpoint::load(dir, &settings(cfg)) {
                    Ok(l) => Some(l),
                    Err(why) => {
                        notices.extend(why.map(|w| format!("{w}: every record is analyzed again")));
                        None
                    }
                }
            }
        }
        None => None,
    };
    if let Some(from) = from {
        match compute_from(cfg, progress, records_out, Some(from), notices.clone())? {
            Ok(c) => return Ok(c),
            // Nothing was staged: the pass stops before it would stage a checkpoint.
            Err(why) => notices.push(format!("{why}: every record is analyzed again")),
        }
    }
    compute_from(cfg, progress, records_out, None, notices)?
        .map_err(|why| RunError::Usage(format!("internal: {why}")))
}

/// One pass of [`compute`]: from the checkpoint `from`, or from nothing. Err(why) when the
/// new records cannot be added to `from`'s analysis.
fn compute_from(
    cfg: &Config,
    progress: &Progress,
    records_out: Option<&Path>,
    from: Option<checkpoint::Loaded>,
    mut notices: Vec<String>,
) -> Result<Result<Computed, String>, RunError> {
    let mut warnings = Vec::new();
    let (inputs, skipped_folders) =
        expand_inputs(&cfg.paths, &cfg.out, cfg.state.as_deref(), &mut warnings)?;
    state::failpoint("expanded");
    let opts = ingest::Options {
        format: cfg.format,
        csv_mappings: &cfg.csv_mappings,
        max_line: cfg.max_line,
        default_day: cfg.default_day,
    };
    progress.start(&inputs);
    let t = Timings::start();
    // What the ledger notices (a file changed since the last run) is said on stderr, not in
    // the reports: they must be the same as a full run's.
    let spill = Spill::default();
    let (ing, parsed_bytes, resumption) = match &cfg.state {
        Some(dir) => {
            let (ing, parsed, r) = state::ingest_incremental(
                dir,
                &inputs,
                &opts,
                &|n| progress.tick(n),
                &mut notices,
                state::Destination {
                    spill: &spill,
                    earlier: from.is_none(),
                },
            )?;
            (ing, parsed, Some(r))
        }
        None => {
            let ing = ingest::ingest(&inputs, &opts, &|n| progress.tick(n), &|records| {
                spill.push(records)
            })?;
            let bytes = ing.files.iter().map(|f| f.bytes).sum();
            (ing, bytes, None)
        }
    };
    progress.finish();
    t.mark("ingest");
    if let (Some(l), Some(r)) = (&from, &resumption)
        && let Some(why) = checkpoint::mismatch(l, r)
    {
        return Ok(Err(why));
    }
    state::failpoint("ingested");
    warnings.extend(ing.warnings.iter().cloned());
    let lines = ing.lines;
    let skipped = ing.skipped;
    let mut sorted = spill.finish()?;
    let mut quarantine = ing.quarantine;
    let mut conflicts = std::mem::take(&mut sorted.conflicts);
    fill_raw_lines(&inputs, &mut conflicts);
    t.mark("sort");
    // Each chunk is priced, folded into the analysis and written to records.parquet, then
    // dropped; the next chunk is merged from the sorted runs meanwhile.
    let (seen, cp) = match from {
        Some(checkpoint::Loaded { checkpoint, ids }) => (Some(ids), Some(checkpoint)),
        None => (None, None),
    };
    let (mut pricer, mut fold, before, earlier_conflicts, last_before) = match cp {
        None => (
            reprice::Pricer::new(&cfg.catalog, &cfg.scenarios, cfg.tz),
            analyze::Fold::new(&cfg.catalog, &cfg.scenarios),
            checkpoint::Counts::default(),
            Vec::new(),
            None,
        ),
        Some(c) => (
            reprice::Pricer::resume(&cfg.catalog, &cfg.scenarios, cfg.tz, c.pricer),
            analyze::Fold::resume(&cfg.catalog, &cfg.scenarios, c.sums),
            c.counts,
            c.conflicts,
            c.last,
        ),
    };
    let mut period = InPeriod {
        records: before.records,
        out_of_period: before.out_of_period,
        assumed_utc: before.assumed_utc,
        last: None,
        ids: cfg.state.is_some().then(Vec::new),
        after: seen.as_deref().map(|ids| (ids, last_before)),
        broken: None,
    };
    conflicts.extend(earlier_conflicts);
    let conflict_count = conflicts.len() as u64;
    quarantine.extend(conflicts.iter().cloned());
    quarantine.sort();
    let duplicates = before.duplicates + sorted.duplicates;
    if !cfg.focus {
        fold = fold.without_focus();
    }
    fold.billed(ing.files.iter().flat_map(|f| f.billed.iter().cloned()));
    let parquet_err = |e: std::io::Error| state::reports_failed(&cfg.out, e);
    let parquet = report::RecordsOut::create(records_out, &cfg.catalog, &cfg.scenarios)
        .map_err(parquet_err)?;
    // Three things at once: the next chunk is merged while the current one is priced and
    // folded, and records.parquet is written a chunk or two behind on a thread of its own.
    // Writing is the longest of the three; in lock step with the others, a core sat idle
    // whenever a chunk was priced before the one before it was written.
    let written = std::thread::scope(|scope| -> Result<std::io::Result<()>, RunError> {
        type Chunk = (Vec<UsageRecord>, Vec<reprice::Priced>);
        let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(1);
        let writer = scope.spawn(move || {
            let mut parquet = parquet;
            for (records, priced) in rx {
                parquet.add(&records, &priced)?;
            }
            parquet.finish()
        });
        let mut next = period.chunk(&mut sorted, cfg)?;
        while !next.is_empty() {
            let chunk = next;
            let (n, current) = rayon::join(
                || period.chunk(&mut sorted, cfg),
                || {
                    let priced = pricer.price(&chunk);
                    fold.add(&chunk, &priced);
                    (chunk, priced)
                },
            );
            // Refused only when the writer stopped on an error, which joining it gives.
            if tx.send(current).is_err() {
                break;
            }
            next = n?;
        }
        drop(tx);
        Ok(writer
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p)))
    })?;
    written.map_err(parquet_err)?;
    if let Some(why) = period.broken {
        return Ok(Err(why));
    }
    if let (Some(dir), Some(r)) = (&cfg.state, &resumption) {
        // A checkpoint sums every record the ledger holds; when an input's lines are not in
        // the ledger (read whole each run), the next run could not tell its records apart.
        if let Some(inputs) = checkpoint::usable_inputs(r) {
            let mut ids = period.ids.take().unwrap_or_default();
            ids.extend(seen.iter().flatten());
            let c = checkpoint::Checkpoint {
                version: checkpoint::VERSION,
                generation: r.generation + 1,
                settings: settings(cfg),
                inputs,
                last: period.last.or(last_before),
                counts: checkpoint::Counts {
                    records: period.records,
                    out_of_period: period.out_of_period,
                    assumed_utc: period.assumed_utc,
                    duplicates,
                },
                conflicts: conflicts.clone(),
                pricer: pricer.carried(),
                sums: fold.sums(),
            };
            checkpoint::stage(dir, c, ids)?;
        }
    }
    let (not_applied, plan_days) = pricer.finish();
    t.mark("reprice, fold, records.parquet");
    if period.assumed_utc > 0 {
        warnings.push(format!(
            "{} records had timestamps without an offset and were read as UTC",
            period.assumed_utc
        ));
    }
    let counts = InputCounts {
        files: ing.files.len() as u64,
        lines,
        records: period.records,
        duplicates: duplicates + ing.duplicates,
        conflicts: conflict_count,
        quarantined: quarantine.len() as u64,
        skipped,
        out_of_period: period.out_of_period,
        assumed_utc: period.assumed_utc,
        served_from_cache: ing.files.iter().map(|f| f.served_from_cache).sum(),
    };
    let analysis = fold.finish(
        &not_applied,
        &plan_days,
        Context {
            catalog: &cfg.catalog,
            set: &cfg.scenarios,
            tz_name: &cfg.tz_name,
            since: cfg.since,
            until: cfg.until,
            input: counts,
            warnings,
        },
    );
    t.mark("analyze");
    Ok(Ok(Computed {
        analysis,
        quarantine,
        files: ing.files,
        parsed_bytes,
        notices,
        skipped_folders,
        carried: before.records,
    }))
}

/// The input files under `paths`, leaving out what reprice itself wrote: `--out` and
/// `--state`, and any other folder of reports or state it recognizes by its manifest or
/// ledger. A second `reprice run .` must not read the first one's reports as logs.
fn expand_inputs(
    paths: &[PathBuf],
    out: &Path,
    state_dir: Option<&Path>,
    warnings: &mut Vec<String>,
) -> Result<(Vec<source::Input>, u64), RunError> {
    let mut own = vec![state::resolve(out)];
    own.extend(state_dir.map(state::resolve));
    let skip = |dir: &Path| {
        state::is_report_folder(dir)
            || state::is_state_folder(dir)
            || own.contains(&state::resolve(dir))
    };
    source::expand_skipping(paths, warnings, &skip)
}

/// Conflicts are found after parsing, when the raw lines are gone; they are rare, so their
/// files are read again, as a stream, to put the raw line into the quarantine entry.
fn fill_raw_lines(inputs: &[source::Input], conflicts: &mut [Quarantined]) {
    let mut wanted: std::collections::BTreeMap<&str, Vec<u64>> = Default::default();
    for q in conflicts.iter() {
        wanted.entry(q.file.as_str()).or_default().push(q.byte);
    }
    let mut lines: std::collections::BTreeMap<(String, u64), Vec<u8>> = Default::default();
    for (file, mut at) in wanted {
        let Some(input) = inputs
            .iter()
            .find(|i| i.display() == file && !matches!(i, source::Input::Stdin))
        else {
            continue;
        };
        at.sort_unstable();
        at.dedup();
        // 4,096 characters of up to 4 bytes each.
        // A file that cannot be read again leaves the raw line empty, as it is informative.
        for (byte, line) in source::lines_at(input, &at, 4 * 4096).unwrap_or_default() {
            lines.insert((file.to_string(), byte), line);
        }
    }
    for q in conflicts.iter_mut() {
        if let Some(line) = lines.remove(&(q.file.clone(), q.byte)) {
            let line = String::from_utf8_lossy(&line);
            q.raw = line.trim_end_matches('\r').chars().take(4096).collect();
        }
    }
}
