//! A file read front to back with the kernel asked to read ahead of it.
//!
//! A nightly run reads exports that are not in the page cache yet. A block is parsed while the
//! next one is read, but by default the kernel reads only 128 KB ahead of a reader, so each
//! block's read waited on the disk request by request while the cores sat idle. Announcing the
//! next 32 MB keeps the disk busy with what comes after the block being read.

use std::fs::File;
use std::io::{self, Read};

/// How far ahead of the reader the kernel is asked to read.
const AHEAD: u64 = 32 << 20;

pub struct ReadAhead {
    file: File,
    /// Bytes read so far.
    pos: u64,
    /// The end of what the kernel was last asked to read.
    advised: u64,
    /// `AHEAD`, but for tests.
    ahead: u64,
}

impl ReadAhead {
    pub fn new(file: File) -> ReadAhead {
        ReadAhead {
            file,
            pos: 0,
            advised: 0,
            ahead: AHEAD,
        }
    }
}

impl Read for ReadAhead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Renewed when half of the window is read, so that the kernel always has a block
        // or more in hand.
        if self.pos + self.ahead / 2 >= self.advised {
            let from = self.advised.max(self.pos);
            let to = self.pos + self.ahead;
            advise(&self.file, from, to - from);
            self.advised = to;
        }
        let n = self.file.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(target_os = "linux")]
fn advise(file: &File, from: u64, len: u64) {
    // Advice only: where it is refused (a pipe, a file system without read-ahead), the file
    // reads as it would have.
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

    #[test]
    fn reads_every_byte_in_order_and_keeps_the_window_ahead() {
        let ahead = 64 << 10;
        // Three windows and a bit, read in pieces of several sizes.
        let len = 3 * ahead as usize + 12_345;
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("big.jsonl");
        std::fs::write(&path, &data).expect("write");
        let mut r = ReadAhead {
            ahead,
            ..ReadAhead::new(File::open(&path).expect("open"))
        };
        let mut got = Vec::with_capacity(len);
        let mut piece = vec![0u8; 20_000];
        let mut advised = Vec::new();
        for size in [1usize, 4096, 20_000].iter().cycle() {
            let before = r.pos;
            let n = r.read(&mut piece[..*size]).expect("read");
            if n == 0 {
                break;
            }
            got.extend_from_slice(&piece[..n]);
            // Every read starts with more than half a window announced ahead of it.
            assert!(r.advised > before + ahead / 2, "{} at {before}", r.advised);
            if advised.last() != Some(&r.advised) {
                advised.push(r.advised);
            }
        }
        assert_eq!(r.pos, len as u64);
        assert!(got == data, "bytes differ");
        // Renewed once half of the window is read: not on every read. With reads of 1, 4,096
        // and 20,000 bytes, half a window is passed at 48,194 bytes and every 48,194 after.
        assert_eq!(advised, vec![65_536, 113_730, 161_924, 210_118, 258_312]);
    }
}
