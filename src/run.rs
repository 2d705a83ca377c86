//! The subcommands, wired from the stages: ingest -> reprice -> analyze -> report.

pub use crate::compute::{Computed, compute};

use crate::analyze;
use crate::cli::{CatalogCommand, RunArgs, ValidateArgs};
use crate::config::{config, load_catalog, mappings};
use crate::error::{RunError, exit};
use crate::ingest::{self, walk};
use crate::progress::{Progress, Timings};
use crate::report::{self, ReportInput};
use crate::spill::Spill;
use crate::state;
use crate::wording::plural;
use std::path::{Path, PathBuf};

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
            final_line(
                s,
                &args.out,
                c.parsed_bytes,
                total,
                c.skipped_folders,
                c.carried
            )
        );
    } else if code == exit::QUARANTINED {
        eprintln!(
            "reprice: {} quarantined; see {}",
            plural(s.input.quarantined, "line"),
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
            // Here the walk's warnings (a log saved under another extension, a dangling
            // symlink) say why nothing was found.
            let seen: String = s.warnings.iter().map(|w| format!("; {w}")).collect();
            format!(
                "no input lines: no log file ({}) in {shown}{seen}",
                walk::extensions(", ")
            )
        } else {
            match c.files.len() {
                1 => format!("no input lines: the one input file in {shown} is empty"),
                n => format!("no input lines: the {n} input files in {shown} are empty"),
            }
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
                "no record to report: {} read from {shown} ({}, {} quarantined, {} without usage)",
                plural(i.lines, "line"),
                plural(i.duplicates, "duplicate"),
                i.quarantined,
                i.skipped
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
    carried: u64,
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
    let own = match carried {
        0 => own,
        n => format!("{own}; {n} records carried over from the last run's analysis"),
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
    let (inputs, _) = walk::expand_skipping(&args.paths, &mut warnings, &|d: &Path| {
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
        "reprice: {}, {}: {}, {}, {} bad, {} without usage",
        plural(ing.files.len() as u64, "file"),
        plural(ing.lines, "line"),
        plural(d.records, "record"),
        plural(d.duplicates + ing.duplicates, "duplicate"),
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
