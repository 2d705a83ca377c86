//! The one place every record passes, in canonical order, before it is priced, folded or
//! written: the period filter, the images counted from IMAGE tokens, and what a `--state`
//! checkpoint needs of every record.

use crate::config::Config;
use crate::error::RunError;
use crate::record::UsageRecord;
use crate::state::checkpoint;
use chrono::{DateTime, Utc};

/// Records per chunk of the stream: small enough that two chunks in memory (one read while the
/// other is worked on) cost little, large enough to spread each over the threads.
pub(super) const CHUNK: usize = 16_384;

/// What the period filter let through and held back, and, with `--state`, what the next run's
/// checkpoint needs of every record.
#[derive(Default)]
pub(super) struct InPeriod<'c> {
    pub records: u64,
    pub out_of_period: u64,
    pub assumed_utc: u64,
    /// The time of the last record, in or out of the period.
    pub last: Option<DateTime<Utc>>,
    /// With `--state`: the id hashes of the records so far, for the next run's checkpoint.
    pub ids: Option<Vec<u64>>,
    /// The checkpoint this run goes on from: every record must come after its last one and
    /// carry an id it has not seen.
    pub after: Option<(&'c [u64], Option<DateTime<Utc>>)>,
    /// Why this run cannot go on from the checkpoint, found on a record; no records are given
    /// after it.
    pub broken: Option<String>,
}

impl InPeriod<'_> {
    /// The next records of the period from `sorted`, up to `CHUNK`; empty at the end.
    pub fn chunk(
        &mut self,
        sorted: &mut crate::spill::Sorted,
        cfg: &Config,
    ) -> Result<Vec<UsageRecord>, RunError> {
        let mut out = Vec::with_capacity(CHUNK);
        while out.len() < CHUNK && self.broken.is_none() {
            let Some(r) = sorted.next() else { break };
            let mut r = r?;
            if self.admit(&mut r, cfg) {
                out.push(r);
            }
        }
        if self.broken.is_some() {
            out.clear();
        }
        Ok(out)
    }

    /// The records of `records` (the next ones in canonical order) that are in the period,
    /// kept in place: a record is a few hundred bytes, and copying millions of them showed.
    pub fn admit_all(&mut self, mut records: Vec<UsageRecord>, cfg: &Config) -> Vec<UsageRecord> {
        records.retain_mut(|r| self.admit(r, cfg));
        records
    }

    /// Passes the next record in canonical order; true when it is in the period.
    fn admit(&mut self, r: &mut UsageRecord, cfg: &Config) -> bool {
        self.check(r);
        self.last = Some(r.time);
        // Counted here, the one place every record passes before it is priced, folded or
        // written: images from IMAGE tokens need the catalog, which parsers never see.
        cfg.catalog.count_images(r);
        let day = r.time.with_timezone(&cfg.tz).date_naive();
        if cfg.since.is_none_or(|s| day >= s) && cfg.until.is_none_or(|u| day <= u) {
            self.records += 1;
            self.assumed_utc += u64::from(r.time_assumed_utc);
            true
        } else {
            self.out_of_period += 1;
            false
        }
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
