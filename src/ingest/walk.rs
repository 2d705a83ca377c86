//! Finding input files: paths and directories walked in path order, `-` for stdin.

use super::source::{Input, io_reason, is_gzip, is_loop};
use crate::error::RunError;
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Extensions read when walking a directory; files named on the command line are always read.
const LOG_EXTENSIONS: [&str; 6] = ["jsonl", "ndjson", "json", "log", "csv", "gz"];

/// The extensions a walk reads, as messages name them: ".jsonl, .ndjson, ..., .csv{last}.gz".
pub fn extensions(last: &str) -> String {
    let dotted: Vec<String> = LOG_EXTENSIONS.iter().map(|e| format!(".{e}")).collect();
    match dotted.split_last() {
        Some((end, rest)) => format!("{}{last}{end}", rest.join(", ")),
        None => String::new(),
    }
}

/// Expands paths into a sorted, de-duplicated list of inputs. Directories are walked
/// recursively; symlinked directories are followed once (loops are cut, with a warning).
pub fn expand(paths: &[PathBuf], warnings: &mut Vec<String>) -> Result<Vec<Input>, RunError> {
    expand_skipping(paths, warnings, &|_| false).map(|(inputs, _)| inputs)
}

/// Like [`expand`], leaving out every directory `skip` names (and what is under it); also
/// gives how many directories were left out.
pub fn expand_skipping(
    paths: &[PathBuf],
    warnings: &mut Vec<String>,
    skip: &dyn Fn(&Path) -> bool,
) -> Result<(Vec<Input>, u64), RunError> {
    let mut walk = Walk {
        out: Vec::new(),
        seen: BTreeSet::new(),
        warnings,
        skip,
        skipped: 0,
        unread: Vec::new(),
    };
    // Files named on the command line are read even where a walk passed over them.
    let mut named: Vec<&Path> = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            walk.out.push(Input::Stdin);
            continue;
        }
        let meta = std::fs::metadata(p).map_err(|e| RunError::Input {
            path: p.clone(),
            message: io_reason(&e),
        })?;
        if meta.is_dir() {
            walk.seen.clear();
            walk.dir(p)?;
        } else {
            walk.out.push(file(p));
            named.push(p);
        }
    }
    let mut unread = std::mem::take(&mut walk.unread);
    unread.retain(|u| !named.contains(&u.as_path()));
    // In path order, whatever the order of the paths given.
    unread.sort_unstable();
    unread.dedup();
    if let Some(w) = unread_warning(&unread) {
        walk.warnings.push(w);
    }
    // Sorted once at the end: a set kept sorted while 20,000 files were added cost more.
    walk.out.sort_unstable();
    walk.out.dedup();
    Ok((walk.out, walk.skipped))
}

/// Paths an unread-file warning names; the rest are counted.
const UNREAD_SHOWN: usize = 5;

/// Names the files a walk left out that look like logs: an export saved as `.txt` or with no
/// extension at all would otherwise be missing from every figure without a word.
fn unread_warning(unread: &[PathBuf]) -> Option<String> {
    let (first, n) = (unread.first()?, unread.len());
    let extensions = extensions(" or ");
    if n == 1 {
        return Some(format!(
            "{} looks like a JSON-lines or gzip log but was not read: in a directory only files \
             ending in {extensions} are read; name it on the command line to read it",
            first.display()
        ));
    }
    let mut shown: Vec<String> = unread
        .iter()
        .take(UNREAD_SHOWN)
        .map(|p| p.display().to_string())
        .collect();
    if n > UNREAD_SHOWN {
        shown.push(format!("and {} more", n - UNREAD_SHOWN));
    }
    Some(format!(
        "{n} files look like JSON-lines or gzip logs but were not read ({}): in a directory \
         only files ending in {extensions} are read; name them on the command line to read them",
        shown.join(", ")
    ))
}

/// Whether a regular file starts as a JSON-lines log (a `{` after any white space or byte
/// order mark) or a gzip stream does; one that cannot be read is not a log: it would not be
/// read either. The walk asks only of regular files, as a named pipe would wait for a writer.
fn looks_like_log(p: &Path) -> bool {
    let mut head = [0u8; 256];
    let n = std::fs::File::open(p)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let head = &head[..n];
    if is_gzip(head) {
        return true;
    }
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    head.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{')
}

struct Walk<'a> {
    out: Vec<Input>,
    seen: BTreeSet<PathBuf>,
    warnings: &'a mut Vec<String>,
    skip: &'a dyn Fn(&Path) -> bool,
    skipped: u64,
    /// Files left out for their extension that look like logs, in walk order.
    unread: Vec<PathBuf>,
}

fn file(p: &Path) -> Input {
    Input::File {
        display: p.display().to_string(),
        path: p.to_path_buf(),
    }
}

impl Walk<'_> {
    fn dir(&mut self, dir: &Path) -> Result<(), RunError> {
        if (self.skip)(dir) {
            self.skipped += 1;
            return Ok(());
        }
        let canon = std::fs::canonicalize(dir).map_err(|e| RunError::Input {
            path: dir.to_path_buf(),
            message: io_reason(&e),
        })?;
        if !self.seen.insert(canon) {
            self.warnings.push(format!(
                "{}: directory already visited (symlink loop?); skipped",
                dir.display()
            ));
            return Ok(());
        }
        let rd = std::fs::read_dir(dir).map_err(|e| RunError::Input {
            path: dir.to_path_buf(),
            message: io_reason(&e),
        })?;
        // The entry's own type comes with the directory listing: a stat per entry was most
        // of a walk over thousands of small files.
        let mut entries: Vec<(std::ffi::OsString, std::fs::FileType)> = Vec::new();
        for e in rd {
            let e = e.map_err(|e| RunError::Input {
                path: dir.to_path_buf(),
                message: io_reason(&e),
            })?;
            let kind = e.file_type().map_err(|err| RunError::Input {
                path: e.path(),
                message: io_reason(&err),
            })?;
            entries.push((e.file_name(), kind));
        }
        // Names within one folder: the order of their paths.
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (name, kind) in entries {
            let p = dir.join(&name);
            let name = name.to_string_lossy();
            if name.starts_with('.') {
                continue;
            }
            // Only a symlink is followed to what it is; the listing says what anything else is.
            let kind = if !kind.is_symlink() {
                kind
            } else {
                match std::fs::metadata(&p) {
                    Ok(m) => m.file_type(),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        self.warnings
                            .push(format!("{}: dangling symlink; skipped", p.display()));
                        continue;
                    }
                    // A symlink that resolves to itself is as unreadable as a dangling one;
                    // ending the whole nightly run over it would be out of proportion.
                    Err(e) if is_loop(&e) => {
                        self.warnings
                            .push(format!("{}: symlink loop; skipped", p.display()));
                        continue;
                    }
                    Err(e) => {
                        return Err(RunError::Input {
                            path: p,
                            message: io_reason(&e),
                        });
                    }
                }
            };
            if kind.is_dir() {
                self.dir(&p)?;
            } else if name
                .rsplit_once('.')
                .is_some_and(|(_, ext)| LOG_EXTENSIONS.contains(&ext))
            {
                self.out.push(file(&p));
            } else if kind.is_file() && looks_like_log(&p) {
                self.unread.push(p);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_looks_like_a_log() {
        let d = tempfile::tempdir().expect("tempdir");
        let cases: [(&str, &[u8], bool); 8] = [
            ("object", b"{\"a\":1}\n", true),
            ("indented", b"\n  \t{\"a\":1}\n", true),
            ("bom", b"\xEF\xBB\xBF{\"a\":1}\n", true),
            ("gzip", &[0x1f, 0x8b, 0x08, 0x00], true),
            ("array", b"[{\"a\":1}]\n", false),
            ("text", b"hello {\n", false),
            ("empty", b"", false),
            ("spaces", b"   \n", false),
        ];
        for (name, bytes, log) in cases {
            let p = d.path().join(name);
            std::fs::write(&p, bytes).expect("write");
            assert_eq!(looks_like_log(&p), log, "{name}");
            // Through a symlink, what it points to is looked at.
            let link = d.path().join(format!("{name}.link"));
            std::os::unix::fs::symlink(&p, &link).expect("symlink");
            assert_eq!(looks_like_log(&link), log, "{name}.link");
        }
        assert!(!looks_like_log(d.path()));
        let dangling = d.path().join("dangling");
        std::os::unix::fs::symlink(d.path().join("missing"), &dangling).expect("symlink");
        assert!(!looks_like_log(&dangling));
    }

    #[test]
    fn unread_logs_are_named_in_path_order() {
        let d = tempfile::tempdir().expect("tempdir");
        let names = [
            "a.txt", "b.txt", "c.txt", "d.txt", "e.txt", "f.txt", "g.txt", "h.txt",
        ];
        for n in names {
            std::fs::write(d.path().join(n), "{}\n").expect("write");
        }
        // A named pipe is not opened to be looked at: with no writer, that would wait forever.
        let fifo = std::process::Command::new("mkfifo")
            .arg(d.path().join("pipe.txt"))
            .status()
            .expect("mkfifo runs");
        assert!(fifo.success());
        let mut warnings = Vec::new();
        // g.txt is named, so read; a.txt given twice counts once.
        let paths = [
            d.path().join("g.txt"),
            d.path().to_path_buf(),
            d.path().join("a.txt"),
        ];
        let inputs = expand(&paths, &mut warnings).expect("expand");
        assert_eq!(inputs.len(), 2);
        let shown: Vec<String> = names[1..6]
            .iter()
            .map(|n| d.path().join(n).display().to_string())
            .collect();
        assert_eq!(
            warnings,
            [format!(
                "6 files look like JSON-lines or gzip logs but were not read ({}, and 1 more): in a \
                 directory only files ending in .jsonl, .ndjson, .json, .log, .csv or .gz are \
                 read; name them on the command line to read them",
                shown.join(", ")
            )]
        );
    }

    #[test]
    fn walks_sorted_skips_hidden_and_cuts_loops() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        std::fs::create_dir(d.join("sub")).expect("mkdir");
        std::fs::write(d.join("b.jsonl"), "").expect("write");
        std::fs::write(d.join("a.csv"), "").expect("write");
        std::fs::write(d.join(".hidden.jsonl"), "").expect("write");
        std::fs::write(d.join("README.md"), "").expect("write");
        std::fs::write(d.join("sub/c.jsonl.gz"), "").expect("write");
        std::os::unix::fs::symlink(d, d.join("sub/loop")).expect("symlink");
        std::os::unix::fs::symlink(d.join("self.jsonl"), d.join("self.jsonl")).expect("symlink");
        let mut warnings = Vec::new();
        let got = expand(&[d.to_path_buf()], &mut warnings).expect("expand");
        let names: Vec<String> = got
            .iter()
            .map(|i| {
                i.display()
                    .trim_start_matches(&d.display().to_string())
                    .to_string()
            })
            .collect();
        assert_eq!(names, ["/a.csv", "/b.jsonl", "/sub/c.jsonl.gz"]);
        assert_eq!(warnings.len(), 2);
        assert!(
            warnings[0].ends_with("/self.jsonl: symlink loop; skipped"),
            "{warnings:?}"
        );
        assert!(
            warnings[1].ends_with("sub/loop: directory already visited (symlink loop?); skipped"),
            "{warnings:?}"
        );
        let err = expand(&[d.join("self.jsonl")], &mut warnings).expect_err("a loop");
        assert!(
            err.to_string()
                .ends_with("self.jsonl: symlink loop (too many levels of symbolic links)"),
            "{err}"
        );
    }
}
