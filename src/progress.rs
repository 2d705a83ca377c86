//! What a run shows while it works: a progress bar on a terminal, and stage times on stderr
//! when asked for.

use crate::ingest::source;
use std::io::IsTerminal;

/// A progress bar on a terminal; nothing when piped, under cron, or with --quiet.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        let on = !quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        Progress {
            bar: on.then(|| {
                let b = indicatif::ProgressBar::new(0);
                if let Ok(style) = indicatif::ProgressStyle::with_template(
                    "{spinner} reading {bytes}/{total_bytes} [{bar:30}] {bytes_per_sec} {eta}",
                ) {
                    b.set_style(style.progress_chars("=> "));
                }
                b
            }),
        }
    }

    pub(crate) fn start(&self, inputs: &[source::Input]) {
        if let Some(b) = &self.bar {
            let total: u64 = inputs
                .iter()
                .filter_map(|i| match i {
                    source::Input::File { path, .. } => {
                        std::fs::metadata(path).ok().map(|m| m.len())
                    }
                    source::Input::Stdin => None,
                })
                .sum();
            b.reset();
            b.set_length(total);
        }
    }

    pub(crate) fn tick(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// Stage times on stderr when `REPRICE_TIMINGS` is set: where a slow run spends its time.
pub(crate) struct Timings {
    on: bool,
    last: std::cell::Cell<std::time::Instant>,
}

impl Timings {
    pub(crate) fn start() -> Timings {
        Timings {
            on: std::env::var_os("REPRICE_TIMINGS").is_some(),
            last: std::cell::Cell::new(std::time::Instant::now()),
        }
    }

    /// Says something about how the run goes, with the stage times.
    pub(crate) fn say(&self, what: &str) {
        if self.on {
            eprintln!("reprice: timing: {what}");
        }
    }

    pub(crate) fn mark(&self, stage: &str) {
        if self.on {
            let now = std::time::Instant::now();
            eprintln!(
                "reprice: timing: {stage} {:.3} s{}",
                (now - self.last.get()).as_secs_f64(),
                peak_memory()
                    .map(|m| format!(", peak {m}"))
                    .unwrap_or_default()
            );
            self.last.set(now);
        }
    }
}

/// The process's peak resident memory so far, as the kernel reports it (Linux only).
fn peak_memory() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.trim_start_matches("VmHWM:").trim().to_string())
}
