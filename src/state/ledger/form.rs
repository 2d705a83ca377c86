//! The ledger as it is kept on disk (`ledger.bin`): a binary form, read and written whole.
//!
//! Binary because the ledger has an entry per input: as JSON, a ledger of 20,183 one-line
//! inputs was 8.4 MB, and reading it, then writing it again, took a third of a nightly run over
//! them. Here an entry is its path, a few integers and the hashes as raw bytes.
//!
//! Layout: [`MAGIC`], the version, the generation, the number of entries, the entries in path
//! order, then the BLAKE3 of everything before it, so that a damaged ledger is never trusted.

use crate::outcome::Quarantined;
use crate::spill::codec::{Cursor, str as put_str, varint};
use crate::state::unchanged::{Look, Unchanged};

/// The first bytes of every ledger: a state folder is recognized by them alone.
pub(super) const MAGIC: &[u8; 16] = b"reprice-ledger\n\0";
// 5: binary (`ledger.bin`); versions up to 4 were `ledger.json`. 6: the record files beside
// it hold XXH3 hashes of ids, requests and payloads. 7: a Claude Code record's payload hash
// leaves out its time. 8: and its output tokens and cost.
const VERSION: u64 = 8;

#[derive(Default)]
pub(super) struct Ledger {
    /// Counts the runs that wrote a ledger; names the files of kept records, so that a run
    /// never writes over the files the current ledger names.
    pub generation: u64,
    /// In path order, each path once.
    pub files: Vec<(String, Entry)>,
}

impl Ledger {
    /// Where `key`'s entry is in `files`.
    pub fn find(&self, key: &str) -> Option<usize> {
        self.files
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(super) struct Entry {
    /// Bytes read and settled: up to and including the last newline.
    pub offset: u64,
    /// BLAKE3 of those bytes.
    pub prefix_blake3: blake3::Hash,
    pub lines: u64,
    pub skipped: u64,
    /// The records of those lines, in files beside the ledger, in line order: a run that
    /// finds new lines adds a file of their records and leaves the earlier ones as they are,
    /// so a nightly run writes only what is new.
    pub records: u64,
    pub records_files: Vec<String>,
    pub quarantine: Vec<Quarantined>,
    /// Set when the file was read to its end and last changed well before it was looked at:
    /// while it looks the same, the next run takes its report from here without reading it.
    pub unchanged: Option<Unchanged>,
}

pub(super) fn encode(l: &Ledger) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + l.files.len() * 128);
    out.extend_from_slice(MAGIC);
    varint(&mut out, VERSION);
    varint(&mut out, l.generation);
    varint(&mut out, l.files.len() as u64);
    for (key, e) in &l.files {
        debug_assert!(l.find(key).is_some(), "entries in path order");
        put_str(&mut out, key);
        for n in [e.offset, e.lines, e.skipped, e.records] {
            varint(&mut out, n);
        }
        out.extend_from_slice(e.prefix_blake3.as_bytes());
        varint(&mut out, e.records_files.len() as u64);
        for name in &e.records_files {
            put_str(&mut out, name);
        }
        varint(&mut out, e.quarantine.len() as u64);
        for q in &e.quarantine {
            put_str(&mut out, &q.file);
            varint(&mut out, q.line);
            varint(&mut out, q.byte);
            put_str(&mut out, &q.reason);
            put_str(&mut out, &q.raw);
        }
        match &e.unchanged {
            None => out.push(0),
            Some(u) => {
                // The whole file is usually the settled prefix: its hash is then not repeated.
                let same = u.blake3 == e.prefix_blake3;
                out.push(if same { 1 } else { 2 });
                let Look {
                    dev,
                    ino,
                    len,
                    mtime,
                    ctime,
                } = &u.look;
                for n in [*dev, *ino, *len, u.bytes] {
                    varint(&mut out, n);
                }
                for (secs, nanos) in [mtime, ctime] {
                    out.extend_from_slice(&secs.to_le_bytes());
                    out.extend_from_slice(&nanos.to_le_bytes());
                }
                if !same {
                    out.extend_from_slice(u.blake3.as_bytes());
                }
            }
        }
    }
    let sum = blake3::hash(&out);
    out.extend_from_slice(sum.as_bytes());
    out
}

/// The ledger `b` holds; None when it is not a ledger of this version, or is damaged.
pub(super) fn decode(b: &[u8]) -> Option<Ledger> {
    let (body, sum) = b.split_at_checked(b.len().checked_sub(32)?)?;
    if !body.starts_with(MAGIC) || blake3::hash(body).as_bytes() != sum {
        return None;
    }
    let mut c = Cursor {
        b: body,
        at: MAGIC.len(),
    };
    if c.varint()? != VERSION {
        return None;
    }
    let generation = c.varint()?;
    let count = c.varint()?;
    let mut files: Vec<(String, Entry)> = Vec::with_capacity(count.min(1 << 20) as usize);
    for _ in 0..count {
        let key = c.str()?.to_string();
        let [offset, lines, skipped, records] =
            [c.varint()?, c.varint()?, c.varint()?, c.varint()?];
        let prefix_blake3 = blake3::Hash::from_bytes(c.take()?);
        let records_files = (0..c.varint()?)
            .map(|_| c.str().map(str::to_string))
            .collect::<Option<Vec<_>>>()?;
        let quarantine = (0..c.varint()?)
            .map(|_| {
                Some(Quarantined {
                    file: c.str()?.to_string(),
                    line: c.varint()?,
                    byte: c.varint()?,
                    reason: c.str()?.to_string(),
                    raw: c.str()?.to_string(),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        let [tag] = c.take()?;
        let unchanged = match tag {
            0 => None,
            1 | 2 => {
                let [dev, ino, len, bytes] = [c.varint()?, c.varint()?, c.varint()?, c.varint()?];
                let mut time =
                    || Some((i64::from_le_bytes(c.take()?), i64::from_le_bytes(c.take()?)));
                let (mtime, ctime) = (time()?, time()?);
                let blake3 = if tag == 1 {
                    prefix_blake3
                } else {
                    blake3::Hash::from_bytes(c.take()?)
                };
                Some(Unchanged {
                    look: Look {
                        dev,
                        ino,
                        len,
                        mtime,
                        ctime,
                    },
                    bytes,
                    blake3,
                })
            }
            _ => return None,
        };
        if files.last().is_some_and(|(last, _)| *last >= key) {
            return None;
        }
        files.push((
            key,
            Entry {
                offset,
                prefix_blake3,
                lines,
                skipped,
                records,
                records_files,
                quarantine,
                unchanged,
            },
        ));
    }
    (c.at == body.len()).then_some(Ledger { generation, files })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Ledger {
        let h = blake3::hash(b"first line\n");
        let files = vec![
            (
                "logs/a.jsonl".to_string(),
                Entry {
                    offset: 11,
                    prefix_blake3: h,
                    lines: 1,
                    skipped: 0,
                    records: 1,
                    records_files: vec![
                        "records-3-0.bin".to_string(),
                        "records-4-7.bin".to_string(),
                    ],
                    quarantine: Vec::new(),
                    unchanged: Some(Unchanged {
                        look: Look {
                            dev: 65024,
                            ino: 10018886,
                            len: 11,
                            mtime: (1796236680, 333666519),
                            ctime: (-1, 999_999_999),
                        },
                        bytes: 11,
                        blake3: h,
                    }),
                },
            ),
            (
                "logs/b.jsonl.gz".to_string(),
                Entry {
                    offset: 40,
                    prefix_blake3: blake3::hash(b"decompressed"),
                    lines: 3,
                    skipped: 1,
                    records: 1,
                    records_files: vec!["records-4-1.bin".to_string()],
                    quarantine: vec![Quarantined {
                        file: "logs/b.jsonl.gz".to_string(),
                        line: 2,
                        byte: 17,
                        reason: "not JSON: expected value at column 1".to_string(),
                        raw: "garbage ü".to_string(),
                    }],
                    unchanged: Some(Unchanged {
                        look: Look {
                            dev: 1,
                            ino: 2,
                            len: 33,
                            mtime: (5, 6),
                            ctime: (7, 8),
                        },
                        bytes: 40,
                        blake3: blake3::hash(b"compressed"),
                    }),
                },
            ),
            (
                "logs/c.jsonl".to_string(),
                Entry {
                    offset: 0,
                    prefix_blake3: blake3::hash(b""),
                    lines: 0,
                    skipped: 0,
                    records: 0,
                    records_files: Vec::new(),
                    quarantine: Vec::new(),
                    unchanged: None,
                },
            ),
        ];
        Ledger {
            generation: 4,
            files,
        }
    }

    #[test]
    fn a_ledger_reads_back_as_it_was_written() {
        let l = sample();
        let bytes = encode(&l);
        assert!(bytes.starts_with(MAGIC));
        let back = decode(&bytes).expect("decodes");
        assert_eq!(back.generation, 4);
        assert_eq!(back.files, l.files);
        // Written again, byte for byte the same.
        assert_eq!(encode(&back), bytes);
    }

    #[test]
    fn a_damaged_cut_or_other_version_ledger_is_not_trusted() {
        let bytes = encode(&sample());
        for at in [0, MAGIC.len(), 40, bytes.len() / 2, bytes.len() - 1] {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x01;
            assert!(decode(&flipped).is_none(), "byte {at} flipped");
        }
        for cut in [0, 10, bytes.len() - 33, bytes.len() - 1] {
            assert!(decode(&bytes[..cut]).is_none(), "cut at {cut}");
        }
        // Version 5 (whose record files hold other hashes), with its checksum made right:
        // still refused.
        let mut other = bytes[..bytes.len() - 32].to_vec();
        other[MAGIC.len()] = 5;
        let sum = blake3::hash(&other);
        other.extend_from_slice(sum.as_bytes());
        assert!(decode(&other).is_none());
    }
}
