//! Reading, deduplicating, pricing and analyzing the inputs of a run, before anything is
//! written. With `--state`, a run goes on from the analysis the last run kept when every
//! record it finds is new and later than those (a nightly run over appended logs); otherwise
//! it analyzes every record, and says why.

use crate::analyze::{self, Analysis, Context, InputCounts};
use crate::config::Config;
use crate::error::RunError;
use crate::ingest::{self, source, walk};
use crate::outcome::{FileReport, Quarantined};
use crate::progress::{Progress, Timings};
use crate::record::UsageRecord;
use crate::report;
use crate::reprice;
use crate::spill::Spill;
use crate::state::{self, checkpoint};
use period::InPeriod;
use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;

mod in_order;
mod period;
mod seen;

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
    let mut warnings = Vec::new();
    let (inputs, skipped_folders) =
        expand_inputs(&cfg.paths, &cfg.out, cfg.state.as_deref(), &mut warnings)?;
    state::failpoint("expanded");
    let expanded = Expanded {
        inputs,
        skipped_folders,
        warnings,
    };
    if cfg.state.is_none()
        && let Some(c) = try_single_pass(cfg, progress, records_out, &expanded)?
    {
        return Ok(c);
    }
    if let Some(from) = from {
        let again = notices.clone();
        match compute_from(cfg, progress, records_out, &expanded, Some(from), again)? {
            Ok(c) => return Ok(c),
            // Nothing was staged: the pass stops before it would stage a checkpoint.
            Err(why) => notices.push(format!("{why}: every record is analyzed again")),
        }
    }
    compute_from(cfg, progress, records_out, &expanded, None, notices)?
        .map_err(|why| RunError::Usage(format!("internal: {why}")))
}

/// The inputs of a run, found once however many passes read them.
struct Expanded {
    inputs: Vec<source::Input>,
    /// Folders left out of the walk: reprice's own reports and state.
    skipped_folders: u64,
    warnings: Vec<String>,
}

fn options(cfg: &Config) -> ingest::Options<'_> {
    ingest::Options {
        format: cfg.format,
        csv_mappings: &cfg.csv_mappings,
        max_line: cfg.max_line,
        default_day: cfg.default_day,
    }
}

/// [`compute`] in one pass over input files whose records are in canonical order (one log,
/// or one cut into pieces); None when the inputs are not so (the pass says why with
/// `REPRICE_TIMINGS`).
fn try_single_pass(
    cfg: &Config,
    progress: &Progress,
    records_out: Option<&Path>,
    expanded: &Expanded,
) -> Result<Option<Computed>, RunError> {
    let inputs = &expanded.inputs;
    // Standard input could not be read again if the pass gave up.
    let opts = options(cfg);
    if inputs.is_empty()
        || inputs.iter().any(|i| matches!(i, source::Input::Stdin))
        || !in_order::in_sequence(inputs, &opts)
    {
        return Ok(None);
    }
    progress.start(inputs);
    let warnings = expanded.warnings.clone();
    let outcome = in_order::single_pass(cfg, progress, records_out, inputs, &opts, warnings)?;
    progress.finish();
    match outcome {
        in_order::Outcome::Done(analysis, ing) => {
            let mut quarantine = ing.quarantine;
            quarantine.sort();
            Ok(Some(Computed {
                analysis: *analysis,
                quarantine,
                parsed_bytes: ing.files.iter().map(|f| f.bytes).sum(),
                files: ing.files,
                notices: Vec::new(),
                skipped_folders: expanded.skipped_folders,
                carried: 0,
            }))
        }
        in_order::Outcome::GaveUp(why) => {
            Timings::start().say(&format!("single pass: {why}; sorting instead"));
            Ok(None)
        }
    }
}

/// One pass of [`compute`]: from the checkpoint `from`, or from nothing. Err(why) when the
/// new records cannot be added to `from`'s analysis.
fn compute_from(
    cfg: &Config,
    progress: &Progress,
    records_out: Option<&Path>,
    expanded: &Expanded,
    from: Option<checkpoint::Loaded>,
    mut notices: Vec<String>,
) -> Result<Result<Computed, String>, RunError> {
    let (inputs, skipped_folders) = (&expanded.inputs, expanded.skipped_folders);
    let mut warnings = expanded.warnings.clone();
    let opts = options(cfg);
    progress.start(inputs);
    let t = Timings::start();
    // What the ledger notices (a file changed since the last run) is said on stderr, not in
    // the reports: they must be the same as a full run's.
    let spill = Spill::default();
    let (mut ing, parsed_bytes, resumption) = match &cfg.state {
        Some(dir) => {
            let (ing, parsed, r) = state::ingest_incremental(
                dir,
                inputs,
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
            let ing = ingest::ingest(inputs, &opts, &|n| progress.tick(n), &|records| {
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
    let mut sorted = spill.finish()?;
    let mut quarantine = std::mem::take(&mut ing.quarantine);
    let mut conflicts = std::mem::take(&mut sorted.conflicts);
    fill_raw_lines(inputs, &mut conflicts);
    t.mark("sort");
    // Each chunk is priced, folded into the analysis and written to records.parquet, then
    // dropped; the next chunk is merged from the sorted runs meanwhile.
    let (seen, cp) = match from {
        Some(checkpoint::Loaded { checkpoint, ids }) => (Some(ids), Some(checkpoint)),
        None => (None, None),
    };
    let (mut analyzing, before, earlier_conflicts, last_before) = match cp {
        None => (
            Analyzing::new(cfg),
            checkpoint::Counts::default(),
            Vec::new(),
            None,
        ),
        Some(c) => (
            Analyzing::resume(cfg, c.pricer, c.sums),
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
    analyzing.billed(&ing);
    let parquet_err = |e: std::io::Error| state::reports_failed(&cfg.out, e);
    let parquet = report::RecordsOut::create(records_out, &cfg.catalog, &cfg.scenarios)
        .map_err(parquet_err)?;
    // Three things at once: the next chunk is merged while the current one is priced and
    // folded, and records.parquet is written a chunk or two behind.
    let (_, written) = writing(parquet, |tx| {
        let mut next = period.chunk(&mut sorted, cfg)?;
        while !next.is_empty() {
            let chunk = next;
            let (n, current) =
                rayon::join(|| period.chunk(&mut sorted, cfg), || analyzing.take(chunk));
            // Refused only when the writer stopped on an error, which joining it gives.
            if tx.send(current).is_err() {
                break;
            }
            next = n?;
        }
        Ok(())
    })?;
    written.map_err(parquet_err)?;
    if let Some(why) = period.broken {
        return Ok(Err(why));
    }
    if let (Some(dir), Some(r)) = (&cfg.state, resumption.as_ref().filter(|r| r.staged)) {
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
                pricer: analyzing.pricer.carried(),
                sums: analyzing.fold.sums(),
            };
            checkpoint::stage(dir, c, ids)?;
        }
    }
    t.mark("reprice, fold, records.parquet");
    let analysis = analyzing.conclude(
        cfg,
        &period,
        &ing,
        Found {
            duplicates,
            conflicts: conflict_count,
            quarantined: quarantine.len() as u64,
        },
        warnings,
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

/// Records and their prices, on their way to records.parquet.
type Chunk = (Vec<UsageRecord>, Vec<reprice::Priced>);

/// Runs `body` with records.parquet written on a thread of its own, a chunk or two behind the
/// pricing: writing is the longest part of a `--records` run, and in lock step with the rest a
/// core sat idle whenever a chunk was priced before the one before it was written. Gives what
/// `body` gave and how the writing ended.
fn writing<R: Send>(
    parquet: report::RecordsOut<'_>,
    body: impl FnOnce(&SyncSender<Chunk>) -> Result<R, RunError>,
) -> Result<(R, std::io::Result<()>), RunError> {
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(1);
        let writer = scope.spawn(move || {
            let mut parquet = parquet;
            for (records, priced) in rx {
                parquet.add(&records, &priced)?;
            }
            parquet.finish()
        });
        let out = body(&tx);
        drop(tx);
        let written = writer
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        Ok((out?, written))
    })
}

/// The pricing and the analysis, given the records of the period in canonical order.
struct Analyzing<'c> {
    pricer: reprice::Pricer<'c>,
    fold: analyze::Fold<'c>,
}

/// What deduplication and quarantine found, besides what ingest counted.
struct Found {
    duplicates: u64,
    conflicts: u64,
    quarantined: u64,
}

impl<'c> Analyzing<'c> {
    fn new(cfg: &'c Config) -> Analyzing<'c> {
        Analyzing::with(
            cfg,
            reprice::Pricer::new(&cfg.catalog, &cfg.scenarios, cfg.tz),
            analyze::Fold::new(&cfg.catalog, &cfg.scenarios),
        )
    }

    /// Goes on from where a checkpoint's analysis stopped.
    fn resume(cfg: &'c Config, pricer: reprice::Carried, sums: analyze::Sums) -> Analyzing<'c> {
        Analyzing::with(
            cfg,
            reprice::Pricer::resume(&cfg.catalog, &cfg.scenarios, cfg.tz, pricer),
            analyze::Fold::resume(&cfg.catalog, &cfg.scenarios, sums),
        )
    }

    fn with(
        cfg: &'c Config,
        pricer: reprice::Pricer<'c>,
        fold: analyze::Fold<'c>,
    ) -> Analyzing<'c> {
        Analyzing {
            pricer,
            fold: if cfg.focus {
                fold
            } else {
                fold.without_focus()
            },
        }
    }

    /// What the cost exports among the inputs say was billed, for reconciliation.
    fn billed(&mut self, ing: &ingest::Ingested) {
        self.fold
            .billed(ing.files.iter().flat_map(|f| f.billed.iter().cloned()));
    }

    /// Prices and folds the next records.
    fn take(&mut self, records: Vec<UsageRecord>) -> Chunk {
        let priced = self.pricer.price(&records);
        self.fold.add(&records, &priced);
        (records, priced)
    }

    /// The analysis of every record taken.
    fn conclude(
        self,
        cfg: &Config,
        period: &InPeriod<'_>,
        ing: &ingest::Ingested,
        found: Found,
        mut warnings: Vec<String>,
    ) -> Analysis {
        let (not_applied, plan_days) = self.pricer.finish();
        match period.assumed_utc {
            0 => {}
            1 => warnings
                .push("1 record had a timestamp without an offset and was read as UTC".into()),
            n => warnings.push(format!(
                "{n} records had timestamps without an offset and were read as UTC"
            )),
        }
        let counts = InputCounts {
            files: ing.files.len() as u64,
            lines: ing.lines,
            records: period.records,
            duplicates: found.duplicates + ing.duplicates,
            conflicts: found.conflicts,
            quarantined: found.quarantined,
            skipped: ing.skipped,
            out_of_period: period.out_of_period,
            assumed_utc: period.assumed_utc,
            served_from_cache: ing.files.iter().map(|f| f.served_from_cache).sum(),
        };
        self.fold.finish(
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
        )
    }
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
    walk::expand_skipping(paths, warnings, &skip)
}

/// Conflicts are found after parsing, when the raw lines are gone; they are rare, so their
/// files are read again, as a stream, to put the raw line into the quarantine entry.
pub(super) fn fill_raw_lines(inputs: &[source::Input], conflicts: &mut [Quarantined]) {
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
