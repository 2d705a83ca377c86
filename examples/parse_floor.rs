//! The least work any tool that parses these logs line by line must do: read the files in
//! blocks cut at line ends, parse each line (in parallel) into a borrowed struct of only the
//! fields a price needs, and sum tokens by day and model. No deduplication, no pricing, no
//! output. `benches/e2e.sh` times it beside reprice, DuckDB and ccusage, as the bound on how
//! fast a run of reprice could be with the same parser.
//!
//! ```sh
//! cargo run --profile dist --example parse_floor -- serde_json --blake3 LOG...
//! ```
//!
//! Parsers: `serde_json` (the one reprice uses) and `sonic-rs` (SIMD). `--blake3` also hashes
//! each file while it is parsed, as reprice does for run.json and the incremental ledger;
//! `--sha256` hashes it with SHA-256 instead, the hash reprice used before, for comparison.
//!
//! `reprice` is reprice's own reading: its block reader, which hashes each file with BLAKE3,
//! and its parsers, which build the whole record the reports need; the records' tokens are
//! summed and the records dropped. It is what a run costs before anything is deduplicated,
//! priced or analyzed.
//!
//! Every mode allocates as the binary does (jemalloc, with the binary's settings).

reprice::allocator!();

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Deserialize;
use sha2::Digest;
use std::io::Read;
use std::process::ExitCode;

/// An envelope line (`response`) or a Claude Code line (`message`).
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    timestamp: Option<&'a str>,
    #[serde(borrow)]
    model: Option<&'a str>,
    #[serde(borrow)]
    request: Option<Request<'a>>,
    #[serde(borrow)]
    response: Option<Body<'a>>,
    #[serde(borrow)]
    message: Option<Body<'a>>,
}

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(borrow)]
    model: Option<&'a str>,
}

#[derive(Deserialize)]
struct Body<'a> {
    #[serde(borrow)]
    model: Option<&'a str>,
    #[serde(borrow, rename = "modelVersion")]
    model_version: Option<&'a str>,
    usage: Option<Usage>,
    #[serde(rename = "usageMetadata")]
    usage_metadata: Option<GeminiUsage>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Usage {
    prompt_tokens: u64,
    completion_tokens: u64,
    input_tokens: u64,
    output_tokens: u64,
    cache_creation_input_tokens: u64,
    cache_read_input_tokens: u64,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct GeminiUsage {
    prompt_token_count: u64,
    candidates_token_count: u64,
    thoughts_token_count: u64,
}

#[derive(Clone, Copy)]
enum Parser {
    SerdeJson,
    SonicRs,
}

/// Input and output tokens by (day, model).
#[derive(Default)]
struct Sums {
    lines: u64,
    rejected: u64,
    /// Day, then model: looked up by `&str`, so a line allocates nothing.
    groups: FxHashMap<String, FxHashMap<String, [u64; 2]>>,
}

impl Sums {
    fn add(&mut self, line: Line<'_>) {
        let Some(body) = line.response.or(line.message) else {
            return;
        };
        let mut tokens = [0u64; 2];
        if let Some(u) = body.usage {
            tokens[0] = u.prompt_tokens
                + u.input_tokens
                + u.cache_creation_input_tokens
                + u.cache_read_input_tokens;
            tokens[1] = u.completion_tokens + u.output_tokens;
        }
        if let Some(g) = body.usage_metadata {
            tokens[0] += g.prompt_token_count;
            tokens[1] += g.candidates_token_count + g.thoughts_token_count;
        }
        let day = line.timestamp.unwrap_or("").get(..10).unwrap_or("");
        // The model as DuckDB's query in benches/e2e_duckdb.py picks it.
        let model = line
            .model
            .or(body.model)
            .or(body.model_version)
            .or(line.request.and_then(|r| r.model))
            .unwrap_or("");
        self.put(day, model, tokens);
    }

    fn put(&mut self, day: &str, model: &str, tokens: [u64; 2]) {
        if !self.groups.contains_key(day) {
            self.groups.insert(day.to_string(), FxHashMap::default());
        }
        let Some(models) = self.groups.get_mut(day) else {
            return;
        };
        if !models.contains_key(model) {
            models.insert(model.to_string(), [0; 2]);
        }
        if let Some(sum) = models.get_mut(model) {
            sum[0] += tokens[0];
            sum[1] += tokens[1];
        }
    }

    fn merge(mut self, other: Sums) -> Sums {
        self.lines += other.lines;
        self.rejected += other.rejected;
        for (day, models) in other.groups {
            for (model, tokens) in models {
                self.put(&day, &model, tokens);
            }
        }
        self
    }
}

fn parse_block(block: &[u8], parser: Parser) -> Sums {
    let mut lines = Vec::with_capacity(block.len() / 256);
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', block) {
        lines.push(&block[start..end]);
        start = end + 1;
    }
    if start < block.len() {
        lines.push(&block[start..]);
    }
    lines
        .par_chunks(1024)
        .map(|chunk| {
            let mut sums = Sums::default();
            for line in chunk {
                sums.lines += 1;
                let parsed = match parser {
                    Parser::SerdeJson => serde_json::from_slice::<Line<'_>>(line).ok(),
                    Parser::SonicRs => sonic_rs::from_slice::<Line<'_>>(line).ok(),
                };
                match parsed {
                    Some(l) => sums.add(l),
                    None => sums.rejected += 1,
                }
            }
            sums
        })
        .reduce(Sums::default, Sums::merge)
}

#[derive(Clone, Copy)]
enum Hash {
    None,
    Sha256,
    Blake3,
}

/// Reads until `buf` holds `want` more bytes or the file ends; true at its end. Reads into
/// spare capacity, which is not zeroed first.
fn fill(file: &mut std::fs::File, buf: &mut Vec<u8>, want: usize) -> std::io::Result<bool> {
    let n = file.take(want as u64).read_to_end(buf)?;
    Ok(n < want)
}

/// As reprice reads a file: the next block is read (and this one hashed) while this one's
/// lines are parsed.
fn run_file(path: &str, parser: Parser, hash: Hash) -> std::io::Result<(Sums, u64)> {
    const BLOCK: usize = 8 << 20;
    let mut file = std::fs::File::open(path)?;
    let mut sha = sha2::Sha256::new();
    let mut b3 = blake3::Hasher::new();
    let mut buf: Vec<u8> = Vec::with_capacity(2 * BLOCK);
    let mut next: Vec<u8> = Vec::with_capacity(2 * BLOCK);
    let mut total = Sums::default();
    let mut bytes = 0u64;
    let mut eof = fill(&mut file, &mut buf, BLOCK)?;
    loop {
        let cut = if eof {
            buf.len()
        } else {
            memchr::memrchr(b'\n', &buf).map_or(0, |p| p + 1)
        };
        let (part, tail) = buf.split_at(cut);
        let (sums, read) = rayon::join(
            || parse_block(part, parser),
            || {
                match hash {
                    Hash::None => {}
                    Hash::Sha256 => sha.update(part),
                    Hash::Blake3 => {
                        b3.update(part);
                    }
                }
                next.clear();
                next.extend_from_slice(tail);
                if eof {
                    Ok(true)
                } else {
                    fill(&mut file, &mut next, BLOCK)
                }
            },
        );
        total = total.merge(sums);
        bytes += cut as u64;
        eof = read?;
        std::mem::swap(&mut buf, &mut next);
        if eof && buf.is_empty() {
            break;
        }
    }
    match hash {
        Hash::None => {}
        Hash::Sha256 => {
            std::hint::black_box(sha.finalize());
        }
        Hash::Blake3 => {
            std::hint::black_box(b3.finalize());
        }
    }
    Ok((total, bytes))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parser = match args.first().map(String::as_str) {
        Some("serde_json") => Parser::SerdeJson,
        Some("sonic-rs") => Parser::SonicRs,
        Some("reprice") => return reprice_reading(&args[1..]),
        _ => {
            eprintln!("usage: parse_floor serde_json|sonic-rs [--blake3|--sha256] FILE...");
            eprintln!("       parse_floor reprice FILE...");
            return ExitCode::from(2);
        }
    };
    let hash = if args.iter().any(|a| a == "--blake3") {
        Hash::Blake3
    } else if args.iter().any(|a| a == "--sha256") {
        Hash::Sha256
    } else {
        Hash::None
    };
    let files: Vec<&String> = args[1..]
        .iter()
        .filter(|a| *a != "--sha256" && *a != "--blake3")
        .collect();
    let started = std::time::Instant::now();
    let mut total = Sums::default();
    let mut bytes = 0;
    for f in &files {
        match run_file(f, parser, hash) {
            Ok((sums, b)) => {
                total = total.merge(sums);
                bytes += b;
            }
            Err(e) => {
                eprintln!("{f}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let groups: usize = total.groups.values().map(FxHashMap::len).sum();
    let tokens: u64 = total
        .groups
        .values()
        .flat_map(FxHashMap::values)
        .map(|t| t[0] + t[1])
        .sum();
    println!(
        "{} {}: {} lines ({} not read), {} bytes, {} (day, model) groups, {tokens} tokens, {secs:.2} s",
        args[0],
        match hash {
            Hash::None => "without a hash",
            Hash::Sha256 => "with sha256",
            Hash::Blake3 => "with blake3",
        },
        total.lines,
        total.rejected,
        bytes,
        groups,
    );
    ExitCode::SUCCESS
}

/// Reads `files` as `reprice run` does, up to the records, which are summed and dropped.
fn reprice_reading(files: &[String]) -> ExitCode {
    use reprice::ingest;
    let started = std::time::Instant::now();
    let maps = ingest::csv_export::builtin_mappings();
    let opts = ingest::Options::new(&maps);
    let paths: Vec<std::path::PathBuf> = files.iter().map(Into::into).collect();
    let mut warnings = Vec::new();
    let inputs = match ingest::walk::expand(&paths, &mut warnings) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let tokens = std::sync::atomic::AtomicU64::new(0);
    let read = ingest::ingest(&inputs, &opts, &|_| {}, &|records| {
        let sum: u64 = records
            .iter()
            .map(|r| r.tokens.input + r.tokens.output)
            .sum();
        tokens.fetch_add(sum, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    });
    let ing = match read {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let secs = started.elapsed().as_secs_f64();
    let bytes: u64 = ing.files.iter().map(|f| f.bytes).sum();
    println!(
        "reprice reading with blake3: {} lines ({} quarantined), {bytes} bytes, {} tokens, {secs:.2} s",
        ing.lines,
        ing.quarantine.len(),
        tokens.into_inner(),
    );
    ExitCode::SUCCESS
}
