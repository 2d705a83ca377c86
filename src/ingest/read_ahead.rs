//! Asking the kernel to read ahead of an input file.
//!
//! A nightly run reads exports that are not in the page cache yet. A block is parsed while the
//! next one is read, but by default the kernel reads only 128 KB ahead of a reader, so each
//! block's read waited on the disk request by request while the cores sat idle. Announcing the
//! next 32 MB keeps the disk busy with what comes after the block being read.
//!
//! The advice goes through a second handle on the open file, which shares its offset: the
//! reading itself stays with `File`, which reads into a buffer without zeroing it first (a
//! `Read` wrapper would have it zeroed on every block), and a gzip input is advised on its
//! compressed bytes.

use std::fs::File;
use std::io::Seek;

/// How far ahead of the reader the kernel is asked to read.
const AHEAD: u64 = 32 << 20;

pub struct ReadAhead {
    file: File,
    /// The end of what the kernel was last asked to read.
    advised: u64,
    /// `AHEAD`, but for tests.
    ahead: u64,
}

impl ReadAhead {
    /// For `file`, read from its start by another handle; None when it cannot be duplicated,
    /// and the file is then read without advice.
    pub fn new(file: &File) -> Option<ReadAhead> {
        Some(ReadAhead {
            file: file.try_clone().ok()?,
            advised: 0,
            ahead: AHEAD,
        })
    }

    /// Called before each read. Renewed when half of the window is read, so that the kernel
    /// always has a block or more in hand.
    pub fn renew(&mut self) {
        let Ok(pos) = (&self.file).stream_position() else {
            return;
        };
        if pos + self.ahead / 2 >= self.advised {
            let from = self.advised.max(pos);
            let to = pos + self.ahead;
            advise(&self.file, from, to - from);
            self.advised = to;
        }
    }
}

#[cfg(target_os = "linux")]
fn advise(file: &File, from: u64, len: u64) {
    // Advice only: where it is refused (a file system without read-ahead), the file reads as
    // it would have.
    let _ = rustix::fs::fadvise(
        file,
        from,
        std::num::NonZeroU64::new(len),
        rustix::fs::Advice::WillNeed,
    );
}

#[cfg(not(target_os = "linux"))]
fn advise(_: &File, _: u64, _: u64) {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn keeps_more_than_half_a_window_announced_ahead_of_the_reader() {
        let ahead = 64 << 10;
        let len = 3 * ahead as usize + 12_345;
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("big.jsonl");
        std::fs::write(&path, &data).expect("write");
        let mut file = File::open(&path).expect("open");
        let mut r = ReadAhead {
            ahead,
            ..ReadAhead::new(&file).expect("a second handle")
        };
        let mut got = Vec::with_capacity(len);
        let mut piece = vec![0u8; 20_000];
        let mut advised = Vec::new();
        for size in [1usize, 4096, 20_000].iter().cycle() {
            r.renew();
            let before = got.len() as u64;
            // The handles share the offset: the advice starts where the reader stands.
            assert!(r.advised > before + ahead / 2, "{} at {before}", r.advised);
            if advised.last() != Some(&r.advised) {
                advised.push(r.advised);
            }
            let n = file.read(&mut piece[..*size]).expect("read");
            if n == 0 {
                break;
            }
            got.extend_from_slice(&piece[..n]);
        }
        assert!(got == data, "bytes differ");
        // Renewed once half of the window is read: not on every read. With reads of 1, 4,096
        // and 20,000 bytes, half a window is passed at 48,194 bytes and every 48,194 after.
        assert_eq!(advised, vec![65_536, 113_730, 161_924, 210_118, 258_312]);
    }
}
