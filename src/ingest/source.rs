//! Input files (a path, or `-` for stdin) and reading their bytes, gzip or not; finding them
//! under directories is `walk`.

use super::read_ahead::ReadAhead;
use crate::error::RunError;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Input {
    Stdin,
    File { display: String, path: PathBuf },
}

impl Input {
    pub fn display(&self) -> &str {
        match self {
            Input::Stdin => "-",
            Input::File { display, .. } => display,
        }
    }
}

/// The lines that start at the byte offsets `at` (sorted), each cut at `max` bytes, read in a
/// stream: finding a few lines again never holds a whole input.
pub fn lines_at(input: &Input, at: &[u64], max: usize) -> Result<Vec<(u64, Vec<u8>)>, RunError> {
    // Read rarely (conflicting lines), so past the first window without advice.
    let Stream {
        inner,
        path,
        gzip,
        ahead: _,
        compressed: _,
    } = open(input)?;
    let mut out: Vec<(u64, Vec<u8>)> = Vec::with_capacity(at.len());
    let mut pos = 0u64;
    let mut next = at.iter().copied().peekable();
    let mut line: Option<(u64, Vec<u8>)> = None;
    let mut r = std::io::BufReader::with_capacity(1 << 20, inner);
    loop {
        let buf = match r.fill_buf() {
            Ok(b) => b,
            Err(e) => return Err(read_error(&path, gzip, &e)),
        };
        if buf.is_empty() {
            break;
        }
        let take = match &mut line {
            Some((_, l)) => {
                let end = memchr::memchr(b'\n', buf);
                let part = &buf[..end.unwrap_or(buf.len())];
                l.extend_from_slice(&part[..part.len().min(max.saturating_sub(l.len()))]);
                if end.is_some() {
                    out.extend(line.take());
                }
                end.map_or(buf.len(), |e| e + 1)
            }
            None => {
                while next.next_if(|t| *t < pos).is_some() {}
                match next.peek() {
                    None => break,
                    Some(&t) if t < pos + buf.len() as u64 => {
                        next.next();
                        line = Some((t, Vec::new()));
                        (t - pos) as usize
                    }
                    Some(_) => buf.len(),
                }
            }
        };
        r.consume(take);
        pos += take as u64;
    }
    out.extend(line);
    Ok(out)
}

/// An input opened for reading in blocks, decompressed on the fly when it is gzip.
pub struct Stream {
    inner: Box<dyn Read + Send>,
    path: PathBuf,
    gzip: bool,
    /// Files only.
    ahead: Option<ReadAhead>,
    /// Gzip only: the BLAKE3 of the compressed bytes read so far. run.json gives the hash of
    /// the file as it is on disk, the one `b3sum` prints, not of the text decompressed from it.
    compressed: Option<Arc<Mutex<blake3::Hasher>>>,
}

impl Stream {
    /// Reads until `buf` holds at least `want` bytes or the input ends; true at the end.
    pub fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> Result<bool, RunError> {
        while buf.len() < want {
            if let Some(a) = &mut self.ahead {
                a.renew();
            }
            let ask = (want - buf.len()) as u64;
            buf.reserve(ask as usize);
            // read_to_end fills spare capacity without zeroing it first.
            let n = (&mut self.inner)
                .take(ask)
                .read_to_end(buf)
                .map_err(|e| self.fail(&e))?;
            if (n as u64) < ask {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Reads everything that is left into `buf`.
    pub fn rest(&mut self, buf: &mut Vec<u8>) -> Result<(), RunError> {
        if let Some(a) = &mut self.ahead {
            a.renew();
        }
        self.inner
            .read_to_end(buf)
            .map(|_| ())
            .map_err(|e| self.fail(&e))
    }

    fn fail(&self, e: &std::io::Error) -> RunError {
        read_error(&self.path, self.gzip, e)
    }

    /// For a gzip input read to its end, the BLAKE3 (hex) of its compressed bytes; `None` for
    /// any other input, whose bytes are the ones the reader hashes.
    pub fn compressed_blake3(&self) -> Option<String> {
        let h = self.compressed.as_ref()?;
        let h = h.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Some(h.finalize().to_hex().to_string())
    }
}

/// Hashes the bytes a reader takes from `inner` (the gzip decoder's compressed input). The
/// decoder runs on the reading thread, so this costs the parse nothing.
struct Hashing<R> {
    inner: R,
    hasher: Arc<Mutex<blake3::Hasher>>,
}

fn hash_into(hasher: &Mutex<blake3::Hasher>, bytes: &[u8]) {
    hasher
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .update(bytes);
}

impl<R: BufRead> Read for Hashing<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(out)?;
        hash_into(&self.hasher, &out[..n]);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Hashing<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, n: usize) {
        // The bytes consumed are the front of what the last fill_buf gave, still buffered.
        if let Ok(b) = self.inner.fill_buf() {
            hash_into(&self.hasher, &b[..n.min(b.len())]);
        }
        self.inner.consume(n);
    }
}

fn read_error(path: &Path, gzip: bool, e: &std::io::Error) -> RunError {
    RunError::Input {
        path: path.to_path_buf(),
        message: if gzip {
            format!("corrupt or truncated gzip: {e}")
        } else {
            io_reason(e)
        },
    }
}

/// Opens an input for reading in blocks. Gzip is told by the magic bytes, not the name.
pub fn open(input: &Input) -> Result<Stream, RunError> {
    let mut ahead = None;
    let (raw, path): (Box<dyn Read + Send>, PathBuf) = match input {
        Input::Stdin => (Box::new(std::io::stdin()), PathBuf::from("-")),
        Input::File { path, .. } => {
            let file = std::fs::File::open(path).map_err(|e| RunError::Input {
                path: path.clone(),
                message: io_reason(&e),
            })?;
            ahead = ReadAhead::new(&file);
            (Box::new(file), path.clone())
        }
    };
    if let Some(a) = &mut ahead {
        a.renew();
    }
    let mut raw = std::io::BufReader::with_capacity(1 << 16, raw);
    let head = std::io::BufRead::fill_buf(&mut raw).map_err(|e| RunError::Input {
        path: path.clone(),
        message: io_reason(&e),
    })?;
    let gzip = is_gzip(head);
    let mut compressed = None;
    let inner: Box<dyn Read + Send> = if gzip {
        let hasher = Arc::new(Mutex::new(blake3::Hasher::new()));
        compressed = Some(hasher.clone());
        Box::new(flate2::bufread::MultiGzDecoder::new(Hashing {
            inner: raw,
            hasher,
        }))
    } else {
        Box::new(raw)
    };
    Ok(Stream {
        inner,
        path,
        gzip,
        ahead,
        compressed,
    })
}

/// Whether `head`, a file's first bytes, starts a gzip stream: inputs are recognized as gzip
/// by these bytes, not by their name.
pub(super) fn is_gzip(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
}

pub(super) fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ if is_loop(e) => "symlink loop (too many levels of symbolic links)".to_string(),
        _ => e.to_string(),
    }
}

/// ELOOP. `ErrorKind::FilesystemLoop` is not stable on the crate's MSRV, but its Debug name is
/// what std prints for it on every platform that reports it.
pub(super) fn is_loop(e: &std::io::Error) -> bool {
    format!("{:?}", e.kind()) == "FilesystemLoop"
}

/// The Claude Code project a session file belongs to: the folder under `projects/`.
pub fn claude_project(display: &str) -> Option<String> {
    let parts: Vec<&str> = display.split(['/', '\\']).collect();
    let i = parts.iter().position(|p| *p == "projects")?;
    (i + 2 < parts.len()).then(|| parts[i + 1].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two gzip members (as `cat a.gz b.gz` makes), 3 MB of text that compresses poorly
    /// enough to take many 64 KB reads: the hash covers every compressed byte, headers and
    /// trailers included, and is none of the decompressed text.
    #[test]
    fn gzip_hash_is_of_the_file_bytes() {
        use std::io::Write;
        let text: Vec<u8> = (0u32..300_000)
            .flat_map(|i| format!("{:09}\n", i.wrapping_mul(2_654_435_761)).into_bytes())
            .collect();
        let mut file = Vec::new();
        for half in text.chunks(text.len() / 2) {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(half).expect("gzip");
            file.extend(gz.finish().expect("gzip"));
        }
        let d = tempfile::tempdir().expect("tempdir");
        let path = d.path().join("a.jsonl.gz");
        std::fs::write(&path, &file).expect("write");
        let mut s = open(&file_input(&path)).expect("open");
        let mut out = Vec::new();
        loop {
            let want = out.len() + 1_000_000;
            if s.fill(&mut out, want).expect("read") {
                break;
            }
        }
        assert_eq!(out, text);
        let h = s.compressed_blake3().expect("gzip");
        assert_eq!(h, blake3::hash(&file).to_hex().to_string());
        assert_ne!(h, blake3::hash(&text).to_hex().to_string());
    }

    #[test]
    fn plain_files_have_no_compressed_hash() {
        let d = tempfile::tempdir().expect("tempdir");
        let path = d.path().join("a.jsonl");
        std::fs::write(&path, b"{}\n").expect("write");
        let mut s = open(&file_input(&path)).expect("open");
        let mut out = Vec::new();
        assert!(s.fill(&mut out, 10).expect("read"));
        assert_eq!(s.compressed_blake3(), None);
    }

    fn file_input(path: &Path) -> Input {
        Input::File {
            display: path.display().to_string(),
            path: path.to_path_buf(),
        }
    }

    #[test]
    fn project_from_path() {
        assert_eq!(
            claude_project("/home/u/.claude/projects/-home-u-app/abc.jsonl").as_deref(),
            Some("-home-u-app")
        );
        assert_eq!(claude_project("logs/session.jsonl"), None);
    }
}

#[cfg(test)]
mod lines_at_tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn finds_lines_by_offset_in_plain_and_gzip_files() {
        let text = b"first\r\nsecond line\n\nfourth, without a newline";
        let dir = tempfile::tempdir().expect("tempdir");
        let plain = dir.path().join("a.jsonl");
        std::fs::write(&plain, text).expect("write");
        let gz = dir.path().join("b.jsonl.gz");
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(text).expect("gzip");
        std::fs::write(&gz, e.finish().expect("gzip")).expect("write");
        for path in [plain, gz] {
            let input = Input::File {
                display: "a".to_string(),
                path,
            };
            let got = lines_at(&input, &[0, 7, 19, 20], 6).expect("reads");
            let want: Vec<(u64, Vec<u8>)> = vec![
                (0, b"first\r".to_vec()),
                (7, b"second".to_vec()),
                (19, Vec::new()),
                (20, b"fourth".to_vec()),
            ];
            assert_eq!(got, want);
        }
    }
}
