//! The `--state` checkpoint: the analysis of every record the ledger holds, as sums (the fold
//! and the pricer's carried state) and the ids of those records. A nightly run whose new
//! records all come after the last one analyzed, with ids not seen before, goes on from these
//! sums and analyzes only the new records: the reports are those of a run over everything,
//! because the analysis is one fold over the records in time order. Any other run analyzes
//! every record again, and says why.
//!
//! Files, beside the ledger: `checkpoint.bin` (MessagePack) and `ids.bin` (the 64-bit XXH3
//! hash of every id, sorted, little-endian). Both are staged as `.next` files and made current
//! with the ledger, whose generation they carry.

use super::out_err;
use crate::analyze::Sums;
use crate::error::RunError;
use crate::outcome::Quarantined;
use crate::reprice::Carried;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::Path;

const CHECKPOINT: &str = "checkpoint.bin";
const CHECKPOINT_NEXT: &str = "checkpoint.next.bin";
const IDS: &str = "ids.bin";
const IDS_NEXT: &str = "ids.next.bin";
/// Raised whenever the sums' shape or the hashes they hold change: an older checkpoint is then
/// not read. 2: ids and requests are hashed with XXH3. 3: models and keys count the records
/// nothing could price.
pub const VERSION: u32 = 3;

/// What decides every figure of a record's analysis, besides the record: a checkpoint made
/// under other settings is not gone on from.
#[derive(Serialize, Deserialize, PartialEq, Eq, Clone, Debug)]
pub struct Settings {
    /// BLAKE3 of the catalog as loaded (prices, offers, plans, aliases).
    pub catalog: String,
    /// BLAKE3 of the scenarios as loaded (and key names, budget, retry window, seats).
    pub scenarios: String,
    pub time_zone: String,
    /// `--since`/`--until`, as given.
    pub period: String,
    /// BLAKE3 of the options that change how lines are read (`--format`, CSV mappings,
    /// `--max-line-size`, `--default-day`), whether focus.csv is written, and the version of
    /// reprice.
    pub reading: String,
}

impl Settings {
    /// What differs from `o`, in words, for the notice of a run that analyzes everything again.
    pub fn changed(&self, o: &Settings) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.catalog != o.catalog {
            out.push("the catalog");
        }
        if self.scenarios != o.scenarios {
            out.push("the scenarios");
        }
        if self.time_zone != o.time_zone {
            out.push("the time zone");
        }
        if self.period != o.period {
            out.push("--since/--until");
        }
        if self.reading != o.reading {
            out.push("the reading options or the version of reprice");
        }
        out
    }
}

/// Counts a full run makes while records stream, which the sums do not hold.
#[derive(Serialize, Deserialize, Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Counts {
    pub records: u64,
    pub out_of_period: u64,
    pub assumed_utc: u64,
    pub duplicates: u64,
}

#[derive(Serialize, Deserialize)]
pub struct Checkpoint<S = Sums> {
    /// [`VERSION`] when written.
    pub version: u32,
    /// The generation of the ledger whose records these are.
    pub generation: u64,
    pub settings: Settings,
    /// The inputs whose records these are: a later run goes on from the checkpoint only when
    /// it goes on from the ledger's offset in every one of them.
    pub inputs: Vec<String>,
    /// The time of the last record analyzed, in time order.
    pub last: Option<DateTime<Utc>>,
    pub counts: Counts,
    /// Records quarantined as conflicts of an id (with their raw lines).
    pub conflicts: Vec<Quarantined>,
    pub pricer: Carried,
    pub sums: S,
}

/// The version a checkpoint was written by: the first field of its MessagePack array, read
/// whatever the fields after it hold.
fn version_of(bytes: &[u8]) -> Option<u32> {
    struct First;
    impl<'de> serde::de::Visitor<'de> for First {
        type Value = u32;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a checkpoint")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<u32, A::Error> {
            let version = seq
                .next_element::<u32>()?
                .ok_or_else(|| serde::de::Error::invalid_length(0, &self))?;
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(version)
        }
    }
    let mut de = rmp_serde::Deserializer::from_read_ref(bytes);
    serde::Deserializer::deserialize_seq(&mut de, First).ok()
}

/// A checkpoint to go on from, with the ids of its records.
pub struct Loaded {
    pub checkpoint: Checkpoint,
    /// Sorted hashes of the ids of the records analyzed. A hash shared by two ids only makes
    /// a run analyze everything again, never count a record twice.
    pub ids: Vec<u64>,
}

/// How far each input was read before: what a checkpoint of the analysis is checked against.
pub struct Resumption {
    /// The generation of the ledger the run started from (0: none).
    pub generation: u64,
    /// Per input: whether it went on from where the ledger left it (else it was read from
    /// its first line), and whether the next ledger holds its lines (else the next run reads
    /// it again in full).
    pub inputs: rustc_hash::FxHashMap<String, (bool, bool)>,
    /// False when no input changed and the ledger was left as it is: the checkpoint it names
    /// stays current too.
    pub staged: bool,
}

/// The hash `ids.bin` keeps of an id: XXH3, stable across builds and platforms.
pub fn id_hash(id: &str) -> u64 {
    crate::ingest::hash_bytes(id.as_bytes())
}

/// The current checkpoint in `dir`, or why there is none to go on from (None: no earlier
/// run kept one, which needs no word).
pub fn load(dir: &Path, settings: &Settings) -> Result<Loaded, Option<String>> {
    let Ok(bytes) = std::fs::read(dir.join(CHECKPOINT)) else {
        return Err(None);
    };
    let damaged = || Some("the analysis kept by the last run is unreadable".to_string());
    // The version first: another version's sums may not even decode as this one's.
    if version_of(&bytes).ok_or_else(damaged)? != VERSION {
        return Err(Some(
            "the analysis kept by the last run is from another version of reprice".to_string(),
        ));
    }
    let checkpoint: Checkpoint = rmp_serde::from_slice(&bytes).map_err(|_| damaged())?;
    let changed = checkpoint.settings.changed(settings);
    if !changed.is_empty() {
        return Err(Some(format!(
            "{} changed since the last run",
            changed.join(", ")
        )));
    }
    let raw = std::fs::read(dir.join(IDS)).map_err(|_| damaged())?;
    let ids: Vec<u64> = raw
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect();
    if raw.len() % 8 != 0 || !ids.is_sorted() {
        return Err(damaged());
    }
    Ok(Loaded { checkpoint, ids })
}

/// Stages the checkpoint of this run beside the ledger it stages, made current by `commit`
/// with it.
pub fn stage(dir: &Path, checkpoint: Checkpoint<&Sums>, mut ids: Vec<u64>) -> Result<(), RunError> {
    let path = dir.join(CHECKPOINT_NEXT);
    let bytes = rmp_serde::to_vec(&checkpoint).map_err(|e| out_err(&path, e))?;
    super::write_synced(&path, &bytes)?;
    rayon::slice::ParallelSliceMut::par_sort_unstable(&mut ids[..]);
    ids.dedup();
    let raw: Vec<u8> = ids.iter().flat_map(|h| h.to_le_bytes()).collect();
    super::write_synced(&dir.join(IDS_NEXT), &raw)
}

/// Removes a staged checkpoint a run left without committing, so that only this run's is
/// ever made current.
pub fn discard_staged(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(CHECKPOINT_NEXT));
    let _ = std::fs::remove_file(dir.join(IDS_NEXT));
}

/// Makes the staged checkpoint current, with the ledger of the same generation; without one,
/// the current one is removed, as it no longer sums what the ledger holds.
pub(super) fn commit(dir: &Path) -> Result<(), RunError> {
    let staged = dir.join(CHECKPOINT_NEXT);
    let ids = dir.join(IDS_NEXT);
    if staged.exists() && ids.exists() {
        std::fs::rename(&ids, dir.join(IDS)).map_err(|e| out_err(&ids, e))?;
        std::fs::rename(&staged, dir.join(CHECKPOINT)).map_err(|e| out_err(&staged, e))?;
    } else {
        let _ = std::fs::remove_file(dir.join(CHECKPOINT));
        let _ = std::fs::remove_file(dir.join(IDS));
    }
    Ok(())
}

/// The per-input map a run keeps in its checkpoint, for the next run to compare with.
pub fn usable_inputs(r: &Resumption) -> Option<Vec<String>> {
    r.inputs.iter().all(|(_, (_, kept))| *kept).then(|| {
        let mut keys: Vec<String> = r.inputs.keys().cloned().collect();
        keys.sort_unstable();
        keys
    })
}

/// Why the new records cannot simply be added to `loaded`, from how the inputs were read:
/// the ledger is not the one the checkpoint was made with, or an input it covered was read
/// again from its first line, or is no longer given.
pub fn mismatch(loaded: &Loaded, r: &Resumption) -> Option<String> {
    let c = &loaded.checkpoint;
    if c.generation != r.generation {
        return Some("the kept analysis is not that of the ledger's records".to_string());
    }
    for key in &c.inputs {
        match r.inputs.get(key) {
            None => return Some(format!("{key} was read last time and is not given now")),
            Some((false, _)) => return Some(format!("{key} was read again from its first line")),
            Some((true, _)) => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_read_whatever_follows_it() {
        let mine = rmp_serde::to_vec(&(VERSION, 7u64, "a", vec![1u8, 2])).expect("encode");
        assert_eq!(version_of(&mine), Some(VERSION));
        // An earlier version whose later fields have another shape.
        let earlier = rmp_serde::to_vec(&(1u32, ("x", [3u64; 4]), 0.5f64)).expect("encode");
        assert_eq!(version_of(&earlier), Some(1));
        assert_eq!(version_of(b"not messagepack"), None);
        assert_eq!(version_of(&[]), None);
    }

    #[test]
    fn a_checkpoint_of_another_version_is_named_as_such() {
        let dir = tempfile::tempdir().expect("dir");
        let earlier = rmp_serde::to_vec(&(1u32, ("x", [3u64; 4]))).expect("encode");
        std::fs::write(dir.path().join(CHECKPOINT), earlier).expect("write");
        let settings = Settings {
            catalog: String::new(),
            scenarios: String::new(),
            time_zone: "UTC".into(),
            period: String::new(),
            reading: String::new(),
        };
        let Err(why) = load(dir.path(), &settings) else {
            panic!("an earlier version's checkpoint was gone on from");
        };
        assert_eq!(
            why.as_deref(),
            Some("the analysis kept by the last run is from another version of reprice")
        );
        std::fs::write(dir.path().join(CHECKPOINT), b"garbage").expect("write");
        let Err(why) = load(dir.path(), &settings) else {
            panic!("a damaged checkpoint was gone on from");
        };
        assert_eq!(
            why.as_deref(),
            Some("the analysis kept by the last run is unreadable")
        );
    }
}
