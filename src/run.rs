//! The subcommands, wired from the stages: ingest -> reprice -> analyze -> report.

use crate::analyze::{self, Analysis, Context, InputCounts};
use crate::cli::{CatalogCommand, RunArgs, ValidateArgs};
use crate::config::{Config, config, load_catalog, mappings};
use crate::error::{RunError, exit};
use crate::ingest::{self, source};
use crate::outcome::{FileReport, Quarantined};
use crate::progress::{Progress, Timings};
use crate::report::{self, ReportInput};
use crate::reprice;
use crate::spill::Spill;
use crate::state;
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
}

/// Records per chunk of the stream: small enough that two chunks in memory (one read while the
/// other is worked on) cost little, large enough to spread each over the threads.
const CHUNK: usize = 16_384;

/// What the period filter let through and held back.
#[derive(Default)]
struct InPeriod {
    records: u64,
    out_of_period: u64,
    assumed_utc: u64,
}

impl InPeriod {
    /// The next records of the period, up to `CHUNK`; empty at the end.
    fn chunk(
        &mut self,
        sorted: &mut crate::spill::Sorted,
        cfg: &Config,
    ) -> Result<Vec<crate::record::UsageRecord>, RunError> {
        let mut out = Vec::with_capacity(CHUNK);
        while out.len() < CHUNK {
            let Some(r) = sorted.next() else { break };
            let mut r = r?;
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
        Ok(out)
    }
}

/// Reads, deduplicates, prices and analyzes the inputs. records.parquet is written into
/// `records_out` as the records stream through, when given.
pub fn compute(
    cfg: &Config,
    progress: &Progress,
    records_out: Option<&Path>,
) -> Result<Computed, RunError> {
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
    let mut notices = Vec::new();
    let spill = Spill::default();
    let (ing, parsed_bytes) = match &cfg.state {
        Some(dir) => state::ingest_incremental(
            dir,
            &inputs,
            &opts,
            &|n| progress.tick(n),
            &mut notices,
            &spill,
        )?,
        None => {
            let ing = ingest::ingest(&inputs, &opts, &|n| progress.tick(n), &|records| {
                spill.push(records)
            })?;
            let bytes = ing.files.iter().map(|f| f.bytes).sum();
            (ing, bytes)
        }
    };
    progress.finish();
    t.mark("ingest");
    state::failpoint("ingested");
    warnings.extend(ing.warnings.iter().cloned());
    let lines = ing.lines;
    let skipped = ing.skipped;
    let mut sorted = spill.finish()?;
    let mut quarantine = ing.quarantine;
    let mut conflicts = std::mem::take(&mut sorted.conflicts);
    let conflict_count = conflicts.len() as u64;
    fill_raw_lines(&inputs, &mut conflicts);
    quarantine.extend(conflicts);
    quarantine.sort();
    t.mark("sort");
    let duplicates = sorted.duplicates;
    // Each chunk is priced, folded into the analysis and written to records.parquet, then
    // dropped; the next chunk is merged from the sorted runs meanwhile.
    let mut pricer = reprice::Pricer::new(&cfg.catalog, &cfg.scenarios, cfg.tz);
    let mut fold = analyze::Fold::new(&cfg.catalog, &cfg.scenarios);
    if !cfg.focus {
        fold = fold.without_focus();
    }
    fold.billed(ing.files.iter().flat_map(|f| f.billed.iter().cloned()));
    let parquet_err = |e: std::io::Error| state::reports_failed(&cfg.out, e);
    let parquet = report::RecordsOut::create(records_out, &cfg.catalog, &cfg.scenarios)
        .map_err(parquet_err)?;
    let mut period = InPeriod::default();
    // Three things at once: the next chunk is merged while the current one is priced and
    // folded, and records.parquet is written a chunk or two behind on a thread of its own.
    // Writing is the longest of the three; in lock step with the others, a core sat idle
    // whenever a chunk was priced before the one before it was written.
    let written = std::thread::scope(|scope| -> Result<std::io::Result<()>, RunError> {
        type Chunk = (Vec<crate::record::UsageRecord>, Vec<reprice::Priced>);
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
    Ok(Computed {
        analysis,
        quarantine,
        files: ing.files,
        parsed_bytes,
        notices,
        skipped_folders,
    })
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

pub fn run(args: &RunArgs) -> Result<i32, RunError> {
    let cfg = config(args)?;
    let args = &cfg;
    state::check_out(&args.out, &args.paths, args.state.as_deref())?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .map_err(|e| RunError::Usage(format!("--threads: {e}")))?;
    let _lock = match &args.state {
        Some(dir) => Some(state::Lock::acquire(dir)?),
        None => None,
    };
    let progress = Progress::new(args.quiet);
    let staging = state::Staging::create(&args.out)?;
    let records_out = args.records.then(|| staging.dir());
    let c = pool.install(|| compute(&cfg, &progress, records_out))?;
    for n in &c.notices {
        eprintln!("reprice: warning: {n}");
    }
    let s = &c.analysis.summary;
    nothing_to_report(s, &c, &args.paths)?;
    if args.strict && s.input.quarantined > 0 {
        for q in c.quarantine.iter().take(20) {
            eprintln!("{}:{}: {}", q.file, q.line, q.reason);
        }
        return Err(RunError::Strict {
            count: s.input.quarantined,
            out: args.out.clone(),
        });
    }
    let input = ReportInput {
        analysis: &c.analysis,
        catalog: &cfg.catalog,
        scenarios: &cfg.scenarios,
        quarantine: &c.quarantine,
    };
    let dir = staging.dir();
    let written = (|| -> std::io::Result<()> {
        for w in report::writers() {
            let t = Timings::start();
            w.write(&input, dir)?;
            t.mark(w.files().first().copied().unwrap_or("report"));
        }
        if args.focus {
            report::Writer::write(&report::focus::FocusCsv, &input, dir)?;
        }
        let manifest = state::manifest(
            &cfg,
            &c.files,
            &c.analysis.summary.input,
            &staging.written()?,
        );
        std::fs::write(dir.join("run.json"), &manifest)
    })();
    written.map_err(|e| staging.failed(e))?;
    let kept = staging.publish()?;
    state::failpoint("published");
    if let Some(dir) = &args.state {
        state::commit(dir)?;
    }
    for w in &kept {
        eprintln!("reprice: warning: {w}");
    }
    let unpriced = unpriced_line(s);
    let unpriced_alert = unpriced.is_some() && !args.allow_unpriced;
    if !args.quiet {
        for w in &s.warnings {
            eprintln!("reprice: warning: {w}");
        }
    }
    if let Some(line) = &unpriced
        && (unpriced_alert || !args.quiet)
    {
        let accept = if args.allow_unpriced {
            " (accepted with --allow-unpriced)"
        } else {
            "; --allow-unpriced accepts them"
        };
        eprintln!("reprice: {line}{accept}");
    }
    let code = exit::published(
        s.budget.latest_day_exceeded,
        unpriced_alert,
        s.input.quarantined > 0,
    );
    if !args.quiet {
        let total: u64 = c.files.iter().map(|f| f.bytes).sum();
        eprintln!(
            "{}",
            final_line(s, &args.out, c.parsed_bytes, total, c.skipped_folders)
        );
    } else if code == exit::QUARANTINED {
        eprintln!(
            "reprice: {} line(s) quarantined; see {}",
            s.input.quarantined,
            args.out.join("quarantine.jsonl").display()
        );
    } else if code == exit::BUDGET {
        eprintln!("reprice: a budget or daily cap was exceeded on the latest day; see report.md");
    }
    Ok(code)
}

/// "3 records of midjourney-v9 could not be priced (unknown model, no cost in the log)", for
/// every model and reason, when any record is in no figure of the reports.
fn unpriced_line(s: &analyze::Summary) -> Option<String> {
    let parts: Vec<String> = s
        .unpriced
        .iter()
        .map(|u| {
            let what = if u.records == 1 { "record" } else { "records" };
            format!("{} {what} of {} ({})", u.records, u.model, u.reason)
        })
        .collect();
    (!parts.is_empty()).then(|| format!("{} could not be priced", parts.join(", ")))
}

/// Exit 8 before anything is published: no line was read at all, or no record is left in the
/// period. An empty set of reports would replace the last good one and tell cron nothing.
fn nothing_to_report(
    s: &analyze::Summary,
    c: &Computed,
    paths: &[PathBuf],
) -> Result<(), RunError> {
    let i = &s.input;
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let shown = shown.join(" ");
    if i.lines == 0 {
        let why = if c.files.is_empty() {
            format!(
                "no input lines: no log file (.jsonl, .ndjson, .json, .log, .csv, .gz) in {shown}"
            )
        } else {
            format!(
                "no input lines: the {} input file(s) in {shown} are empty",
                c.files.len()
            )
        };
        return Err(RunError::Nothing(format!("{why}; nothing was published")));
    }
    if i.records == 0 {
        let why = if i.out_of_period > 0 {
            match i.out_of_period {
                1 => format!(
                    "no record in the period: the 1 record of {shown} is outside --since/--until"
                ),
                n => format!(
                    "no record in the period: all {n} records of {shown} are outside --since/--until"
                ),
            }
        } else {
            format!(
                "no record to report: {} lines read from {shown} ({} duplicates, {} quarantined, {} without usage)",
                i.lines, i.duplicates, i.quarantined, i.skipped
            )
        };
        let list = if i.quarantined > 0 {
            " (`reprice validate` lists the bad lines)"
        } else {
            ""
        };
        return Err(RunError::Nothing(format!(
            "{why}; nothing was published{list}"
        )));
    }
    Ok(())
}

fn final_line(
    s: &analyze::Summary,
    out: &Path,
    parsed: u64,
    total: u64,
    skipped_folders: u64,
) -> String {
    let best = s
        .scenarios
        .iter()
        .max_by(|a, b| a.savings.cmp(&b.savings).then_with(|| b.name.cmp(&a.name)))
        .filter(|b| b.savings > crate::money::Money::ZERO)
        .map(|b| {
            let saves = analyze::report_model::saving_in_cents(s, b);
            format!("; best: {} saves {}", b.name, saves.display(2))
        })
        .unwrap_or_default();
    let own = match skipped_folders {
        0 => String::new(),
        1 => "; 1 folder of reprice's own reports or state not read".to_string(),
        n => format!("; {n} folders of reprice's own reports or state not read"),
    };
    let (total_cents, billed_cents, estimated_cents) = analyze::report_model::cost_split(s);
    format!(
        "reprice: {} lines = {} records + {} duplicates + {} quarantined + {} skipped + {} out of period; parsed {parsed} of {total} bytes{own}; cost {} {} ({} as billed in the logs, {} estimated at list prices){best}; reports in {}",
        s.input.lines,
        s.input.records,
        s.input.duplicates,
        s.input.quarantined,
        s.input.skipped,
        s.input.out_of_period,
        total_cents.display(2),
        s.currency,
        billed_cents.display(2),
        estimated_cents.display(2),
        out.display()
    )
}

pub fn validate(args: &ValidateArgs) -> Result<i32, RunError> {
    let maps = mappings(&args.csv_map)?;
    let mut warnings = Vec::new();
    let (inputs, _) = source::expand_skipping(&args.paths, &mut warnings, &|d: &Path| {
        state::is_report_folder(d) || state::is_state_folder(d)
    })?;
    for w in &warnings {
        eprintln!("reprice: warning: {w}");
    }
    let spill = Spill::default();
    let ing = ingest::ingest(
        &inputs,
        &ingest::Options {
            format: args.format,
            csv_mappings: &maps,
            max_line: args.max_line_size,
            default_day: args.default_day,
        },
        &|_| {},
        &|records| spill.push(records),
    )?;
    let mut d = spill.finish()?;
    let mut bad = ing.quarantine;
    bad.append(&mut d.conflicts);
    bad.sort();
    for q in &bad {
        println!("{}:{}: {}", q.file, q.line, q.reason);
    }
    if ing.lines == 0 {
        return Err(RunError::Nothing(format!(
            "no input lines in {}",
            args.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" ")
        )));
    }
    eprintln!(
        "reprice: {} files, {} lines: {} records, {} duplicates, {} bad, {} without usage",
        ing.files.len(),
        ing.lines,
        d.records,
        d.duplicates + ing.duplicates,
        bad.len(),
        ing.skipped
    );
    Ok(if bad.is_empty() {
        exit::OK
    } else {
        exit::QUARANTINED
    })
}

pub fn catalog(cmd: &CatalogCommand, paths: &[PathBuf]) -> Result<i32, RunError> {
    let c = load_catalog(paths)?;
    let today = chrono::Utc::now().date_naive();
    match cmd {
        CatalogCommand::List => print!("{}", crate::catalog::render_list(&c, today)),
        CatalogCommand::Show { model } => {
            let m = c.resolve(model).ok_or_else(|| {
                RunError::Usage(format!(
                    "unknown model '{model}' (see `reprice catalog list`)"
                ))
            })?;
            print!("{}", crate::catalog::render_history(m));
        }
    }
    Ok(exit::OK)
}
