//! Hostile inputs: every file under tests/fixtures/bad goes through the real binary, and the
//! table below is the specification of what happens to it: the exit code, where each line
//! ended (record, duplicate, quarantine, skipped), and the exact reason for every rejected line.
//! Cases that cannot be committed (a 50 MB line, chmod 000, symlink loops) are built in a
//! tempdir by the tests at the end. The fixtures are written by tests/fixtures/bad/generate.py.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Exit codes of DESIGN.md / `src/cli.rs` EXIT_CODES.
const OK: i32 = 0;
const UNREADABLE: i32 = 2;
const QUARANTINED: i32 = 3;
/// No record at all: nothing is published, and stderr says what the lines were.
const NOTHING: i32 = 8;
/// Records in no figure (an unknown model without a cost in the log).
const UNPRICED: i32 = 7;

struct Case {
    /// Path under tests/fixtures/bad.
    file: &'static str,
    exit: i32,
    /// summary.json `input.{lines, records, duplicates, quarantined, skipped}`.
    lines: u64,
    records: u64,
    duplicates: u64,
    quarantined: u64,
    skipped: u64,
    /// Every quarantined line in line order, with its exact reason. `{file}` stands for the
    /// path the binary was given.
    reasons: &'static [(u64, &'static str)],
    /// Further summary.json values: (JSON pointer, expected JSON text).
    summary: &'static [(&'static str, &'static str)],
}

const NO_HEADER: &str = "CSV header matches no column mapping (needs a timestamp and a model column; built-in: reprice, litellm-spend-logs, openrouter-activity; see --csv-map): ";
const NO_USAGE: &str =
    "field response.usage: missing; a successful text response needs token counts or a cost";

macro_rules! case {
    ($file:literal, $exit:expr, [$lines:literal = $records:literal + $dups:literal + $quar:literal + $skip:literal], $reasons:expr $(, $summary:expr)?) => {
        Case {
            file: $file,
            exit: $exit,
            lines: $lines,
            records: $records,
            duplicates: $dups,
            quarantined: $quar,
            skipped: $skip,
            reasons: $reasons,
            summary: case!(@summary $($summary)?),
        }
    };
    (@summary) => { &[] };
    (@summary $s:expr) => { $s };
}

// [lines = records + duplicates + quarantined + skipped]; nothing here is out of period.
#[rustfmt::skip]
const CASES: &[Case] = &[
    // A writer killed mid-line: the partial line is quarantined, the lines before it are kept.
    case!("truncated_last_line/cut_mid_object.jsonl", QUARANTINED, [3 = 2 + 0 + 1 + 0],
        &[(3, "invalid JSON at column 120: EOF while parsing a string")]),
    case!("truncated_last_line/cut_mid_string.jsonl", QUARANTINED, [3 = 2 + 0 + 1 + 0],
        &[(3, "invalid JSON at column 29: EOF while parsing a string")]),
    case!("truncated_last_line/only_partial_line.jsonl", NOTHING, [1 = 0 + 0 + 1 + 0],
        &[(1, "invalid JSON at column 60: EOF while parsing an object")]),

    case!("invalid_utf8/latin1_in_model.jsonl", QUARANTINED, [2 = 1 + 0 + 1 + 0],
        &[(2, "invalid UTF-8 at byte 99 of the line")]),
    // The damaged first byte must not turn the whole file into "unrecognized format".
    case!("invalid_utf8/lone_continuation_byte.jsonl", QUARANTINED, [2 = 1 + 0 + 1 + 0],
        &[(1, "invalid UTF-8 at byte 0 of the line")]),
    case!("invalid_utf8/csv_row.csv", QUARANTINED, [3 = 1 + 0 + 1 + 1],
        &[(3, "invalid UTF-8 in column model (3) at byte 7 of the cell")]),

    case!("bom/bom_jsonl.jsonl", OK, [2 = 2 + 0 + 0 + 0], &[]),
    case!("bom/bom_csv.csv", OK, [2 = 1 + 0 + 0 + 1], &[]),
    case!("bom/bom_mid_file.jsonl", QUARANTINED, [2 = 1 + 0 + 1 + 0],
        &[(2, "byte order mark (U+FEFF) at the start of a line that is not the first (files concatenated?)")]),

    case!("crlf/crlf.jsonl", OK, [3 = 3 + 0 + 0 + 0], &[]),
    case!("crlf/crlf.csv", OK, [3 = 2 + 0 + 0 + 1], &[]),
    case!("crlf/mixed_lf_crlf.jsonl", OK, [3 = 3 + 0 + 0 + 0], &[]),
    case!("crlf/cr_only.jsonl", NOTHING, [1 = 0 + 0 + 1 + 0],
        &[(1, "invalid JSON at column 209: trailing characters; a carriage return at byte 207 suggests CR-only line ends")]),

    case!("empty_lines/between.jsonl", OK, [6 = 3 + 0 + 0 + 3], &[]),
    case!("empty_lines/whitespace_lines.jsonl", OK, [4 = 2 + 0 + 0 + 2], &[]),
    case!("empty_lines/trailing.jsonl", OK, [5 = 2 + 0 + 0 + 3], &[]),
    // The csv reader skips blank lines; they are still counted, and later rows keep their
    // physical line numbers.
    case!("empty_lines/csv_blank_lines.csv", QUARANTINED, [8 = 1 + 0 + 1 + 6],
        &[(7, "field input_tokens: -7 is negative")]),

    // Provider and gateway exports, read whole: each entry is a line, at the line it starts on.
    case!("exports/openai_usage_bad_results.json", QUARANTINED, [6 = 1 + 0 + 5 + 0], &[
        (3, "field input_cached_tokens: 200 exceeds the total 100 it is part of"),
        (4, "field input_tokens: -5 is negative"),
        (5, "field model: missing; save usage pages grouped by model (group_by=model)"),
        (6, "moderations usage is not priced: reprice reads completions, embeddings and images usage"),
        (7, "result: neither a usage result (OpenAI organization.usage.*, Anthropic uncached_input_tokens) nor a cost result"),
    ]),
    // A page cut short is not JSON: the whole document is one quarantined line.
    case!("exports/openai_usage_truncated.json", NOTHING, [1 = 0 + 0 + 1 + 0],
        &[(1, "usage page: EOF while parsing a string")]),
    case!("exports/openai_costs_other_currency.json", NOTHING, [2 = 0 + 0 + 2 + 0], &[
        (1, "field amount.currency: eur; reprice reconciles costs in USD"),
        (1, "field amount.value: 'lots' is not a decimal"),
    ]),
    case!("exports/anthropic_bad_bucket.json", QUARANTINED, [4 = 1 + 0 + 3 + 0], &[
        (1, "bucket: field start_time: missing"),
        (3, "field uncached_input_tokens: \"12abc\" is not a count"),
        (4, "field cache_creation.ephemeral_1h_input_tokens: 1.5 is not a whole number"),
    ]),
    // A Claude Code usage report: each model of an actor's day is one line.
    case!("exports/claude_code_report_bad.json", QUARANTINED, [4 = 1 + 0 + 3 + 0], &[
        (2, "field tokens.input: -5 is negative"),
        (3, "field tokens: missing"),
        (6, "field date: missing"),
    ]),
    case!("exports/litellm_bad_rows.json", QUARANTINED, [5 = 1 + 0 + 4 + 0], &[
        (3, "field spend: 'free' is not a decimal"),
        (4, "field prompt_tokens: 100 is less than the cache reads and writes (500) it includes"),
        (5, "field startTime: 'yesterday' is not a time"),
        (6, "spend log row: invalid type: integer `42`, expected an object"),
    ]),
    case!("exports/gemini_batch_no_time.jsonl", NOTHING, [2 = 0 + 0 + 2 + 0], &[
        (1, "a Gemini Batch API output line carries no time: save the batch job (the batches.get JSON) beside the file as <name>.batch.json, or give --default-day YYYY-MM-DD"),
        (2, "field key: not a string"),
    ]),

    case!("json_array/one_line_array.json", NOTHING, [1 = 0 + 0 + 1 + 0],
        &[(1, "a JSON array, not JSON lines: write one object per line")]),
    case!("json_array/pretty_array.json", NOTHING, [4 = 0 + 0 + 4 + 0], &[
        (1, "a JSON array, not JSON lines: write one object per line"),
        (2, "a JSON array, not JSON lines: write one object per line"),
        (3, "a JSON array, not JSON lines: write one object per line"),
        (4, "a JSON array, not JSON lines: write one object per line"),
    ]),
    case!("json_array/pretty_object.jsonl", NOTHING, [5 = 0 + 0 + 5 + 0], &[
        (1, "invalid JSON at column 1: EOF while parsing an object"),
        (2, "invalid JSON at column 14: trailing characters"),
        (3, "invalid JSON at column 12: trailing characters"),
        (4, "invalid JSON at column 13: trailing characters"),
        (5, "invalid JSON at column 1: expected value"),
    ]),

    case!("numbers_as_strings/tokens.jsonl", OK, [1 = 1 + 0 + 0 + 0], &[],
        &[("/actual/tokens/input", "100"), ("/actual/tokens/output", "50")]),
    case!("numbers_as_strings/cost.jsonl", OK, [1 = 1 + 0 + 0 + 0], &[],
        &[("/actual/billed_in_logs", "\"0.0133\"")]),
    case!("numbers_as_strings/not_a_number.jsonl", NOTHING, [2 = 0 + 0 + 2 + 0], &[
        (1, "field response.usage.prompt_tokens: \"12abc\" is not a count"),
        (2, "field response.cost: 'a dollar' is not a decimal"),
    ]),

    // 1e-6 + 1.5E-3, exactly.
    case!("exponent/cost_1e-6.jsonl", OK, [2 = 2 + 0 + 0 + 0], &[],
        &[("/actual/billed_in_logs", "\"0.001501\"")]),
    case!("exponent/tokens_whole.jsonl", OK, [1 = 1 + 0 + 0 + 0], &[],
        &[("/actual/tokens/input", "1200"), ("/actual/tokens/output", "50")]),
    case!("exponent/tokens_fractional.jsonl", NOTHING, [1 = 0 + 0 + 1 + 0],
        &[(1, "field response.usage.prompt_tokens: 1.5e0 is not a whole number")]),
    case!("exponent/cost_out_of_range.jsonl", NOTHING, [1 = 0 + 0 + 1 + 0],
        &[(1, "field response.cost: '1e400' is out of the exact decimal range")]),

    case!("huge_numbers/tokens_beyond_u64.jsonl", NOTHING, [1 = 0 + 0 + 1 + 0],
        &[(1, "field response.usage.completion_tokens: 99999999999999999999999 is too large (limit 1000000000000)")]),
    // u64::MAX parses, but two of them overflowed the token totals (a panic before the limit).
    case!("huge_numbers/tokens_u64_max.jsonl", NOTHING, [2 = 0 + 0 + 2 + 0], &[
        (1, "field response.usage.prompt_tokens: 18446744073709551615 is too large (limit 1000000000000)"),
        (2, "field response.usage.prompt_tokens: 18446744073709551615 is too large (limit 1000000000000)"),
    ]),
    case!("huge_numbers/cost_30_digits.jsonl", NOTHING, [2 = 0 + 0 + 2 + 0], &[
        (1, "field response.cost: '123456789012345678901234567890' has 30 digits; at most 28 are kept exactly"),
        (2, "field response.cost: '0.123456789012345678901234567890' has 31 digits; at most 28 are kept exactly"),
    ]),
    // Decimal::MAX twice overflowed the cost sum (a panic before the limit).
    case!("huge_numbers/cost_sum_overflow.jsonl", NOTHING, [2 = 0 + 0 + 2 + 0], &[
        (1, "field response.cost: '79228162514264337593543950335' is too large (limit 1000000000000)"),
        (2, "field response.cost: '79228162514264337593543950335' is too large (limit 1000000000000)"),
    ]),
    // `n` beyond u32 used to wrap to 1 image.
    case!("huge_numbers/image_n_beyond_u32.jsonl", NOTHING, [1 = 0 + 0 + 1 + 0],
        &[(1, "field request.n: 4294967297 images is too many")]),

    case!("negative_tokens/output.jsonl", NOTHING, [1 = 0 + 0 + 1 + 0],
        &[(1, "field response.usage.completion_tokens: -5 is negative")]),
    case!("negative_tokens/string.jsonl", NOTHING, [1 = 0 + 0 + 1 + 0],
        &[(1, "field response.usage.prompt_tokens: -1 is negative")]),
    case!("negative_tokens/gemini.jsonl", NOTHING, [1 = 0 + 0 + 1 + 0],
        &[(1, "field response.usageMetadata.candidatesTokenCount: -3 is negative")]),
    case!("negative_tokens/cached_exceeds_prompt.jsonl", NOTHING, [1 = 0 + 0 + 1 + 0],
        &[(1, "field response.usage.prompt_tokens: 20 exceeds the total 10 it is part of")]),

    // A successful text response without counts used to become a free record.
    case!("missing_tokens/no_usage.jsonl", NOTHING, [1 = 0 + 0 + 1 + 0], &[(1, NO_USAGE)]),
    case!("missing_tokens/empty_usage.jsonl", NOTHING, [1 = 0 + 0 + 1 + 0], &[(1, NO_USAGE)]),
    case!("missing_tokens/null_tokens.jsonl", NOTHING, [1 = 0 + 0 + 1 + 0], &[(1, NO_USAGE)]),

    case!("missing_timestamp/envelope.jsonl", NOTHING, [1 = 0 + 0 + 1 + 0],
        &[(1, "field timestamp: missing")]),
    case!("missing_timestamp/bare_body.jsonl", NOTHING, [1 = 0 + 0 + 1 + 0],
        &[(1, "field created: missing; a bare response body needs its own time")]),
    case!("missing_timestamp/batch.jsonl", NOTHING, [1 = 0 + 0 + 1 + 0],
        &[(1, "field response.body.created: missing")]),
    case!("missing_timestamp/csv_empty_cell.csv", NOTHING, [2 = 0 + 0 + 1 + 1],
        &[(2, "field timestamp: missing")]),

    case!("timestamps/with_offset.jsonl", OK, [2 = 2 + 0 + 0 + 0], &[],
        &[("/input/assumed_utc", "0"), ("/period/start", "\"2026-03-06\"")]),
    case!("timestamps/without_offset.jsonl", OK, [2 = 2 + 0 + 0 + 0], &[],
        &[("/input/assumed_utc", "2"),
          ("/warnings", r#"["2 records had timestamps without an offset and were read as UTC"]"#)]),
    case!("timestamps/epoch.jsonl", OK, [2 = 2 + 0 + 0 + 0], &[], &[("/input/assumed_utc", "0")]),
    case!("timestamps/invalid.jsonl", NOTHING, [2 = 0 + 0 + 2 + 0], &[
        (1, "field timestamp: 'yesterday' is not a time"),
        (2, "field timestamp: '2026-02-30T08:00:00Z' is not a time"),
    ]),

    // An unknown model is a record (its billed cost still counts) and is listed, not dropped.
    case!("unknown_model/unknown.jsonl", UNPRICED, [1 = 1 + 0 + 0 + 0], &[],
        &[("/unknown_models", r#"[{"model":"totally-unknown-model-9000","records":1}]"#),
          ("/unpriced", r#"[{"model":"totally-unknown-model-9000","reason":"unknown model, no cost in the log","records":1}]"#)]),
    case!("unknown_model/empty_model.jsonl", NOTHING, [1 = 0 + 0 + 1 + 0],
        &[(1, "field model: missing")]),

    case!("unknown_format/plain_text.txt", NOTHING, [2 = 0 + 0 + 2 + 0], &[
        (1, "unrecognized format: neither JSON lines nor a CSV with a header"),
        (2, "unrecognized format: neither JSON lines nor a CSV with a header"),
    ]),
    case!("unknown_format/yaml.log", NOTHING, [2 = 0 + 0 + 2 + 0], &[
        (1, "unrecognized format: neither JSON lines nor a CSV with a header"),
        (2, "unrecognized format: neither JSON lines nor a CSV with a header"),
    ]),
    case!("unknown_format/scalar_lines.jsonl", NOTHING, [4 = 0 + 0 + 4 + 0], &[
        (1, "not a usage line: no request/response, usage, custom_id or message"),
        (2, "a JSON number where an object was expected: JSON lines need one object per line"),
        (3, "a JSON string where an object was expected: JSON lines need one object per line"),
        (4, "a JSON null where an object was expected: JSON lines need one object per line"),
    ]),

    case!("duplicates/equal_payload.jsonl", OK, [3 = 2 + 1 + 0 + 0], &[]),
    // Same id and time, different usage: the line read first is kept, the other quarantined.
    case!("duplicates/different_payload.jsonl", QUARANTINED, [2 = 1 + 0 + 1 + 0],
        &[(2, "conflict: id req-1 has another time or usage than {file}:1, which was kept")],
        &[("/input/conflicts", "1")]),
    // A conflicting payload logged twice is one conflict and one duplicate, not two conflicts.
    case!("duplicates/conflict_logged_twice.jsonl", QUARANTINED, [4 = 1 + 2 + 1 + 0],
        &[(3, "conflict: id req-1 has another time or usage than {file}:1, which was kept")]),
    case!("duplicates/claude_code_repeat.jsonl", OK, [3 = 1 + 2 + 0 + 0], &[]),
    // Claude Code writes a message's content blocks (thinking, text, tool use) on lines of their
    // own, milliseconds apart, each with the message's usage: one request, logged three times.
    case!("duplicates/claude_code_blocks.jsonl", OK, [3 = 1 + 2 + 0 + 0], &[]),
    // Without a request id (newer logs, gateways) the message id alone names the message.
    case!("duplicates/claude_code_blocks_no_request_id.jsonl", OK, [2 = 1 + 1 + 0 + 0], &[]),
    // Lines of one message with other input are a conflict, as for any other source (more
    // output on a later line is the message as it streamed: tests/formats.rs).
    case!("duplicates/claude_code_blocks_other_usage.jsonl", QUARANTINED, [2 = 1 + 0 + 1 + 0],
        &[(2, "conflict: id msg_01XyZ:req_011CVa1 has another time or usage than {file}:1, which was kept")]),

    case!("gzip/valid.jsonl.gz", OK, [2 = 2 + 0 + 0 + 0], &[]),

    case!("csv_shifted/extra_column.csv", NOTHING, [2 = 0 + 0 + 1 + 1],
        &[(2, "7 columns where the header has 6")]),
    case!("csv_shifted/missing_column.csv", NOTHING, [2 = 0 + 0 + 1 + 1],
        &[(2, "5 columns where the header has 6")]),
    case!("csv_shifted/values_shifted.csv", NOTHING, [2 = 0 + 0 + 1 + 1],
        &[(2, "field timestamp: 'c1' is not a time")]),

    case!("csv_no_header/data_only.csv", NOTHING, [2 = 0 + 0 + 2 + 0], &[
        (1, "{no_header}2026-03-06T08:00:00Z,c1,gpt-4o,100,50,0...."),
        (2, "no usable CSV header (see line 1)"),
    ]),
    case!("csv_no_header/header_only.csv", NOTHING, [1 = 0 + 0 + 0 + 1], &[]),
    case!("csv_no_header/unrelated_header.csv", NOTHING, [2 = 0 + 0 + 2 + 0], &[
        (1, "{no_header}name,age"),
        (2, "no usable CSV header (see line 1)"),
    ]),

    // Envelope, batch, a Claude Code user turn (no usage: skipped) and an assistant turn.
    case!("mixed_formats/envelope_batch_claude.jsonl", OK, [4 = 3 + 0 + 0 + 1], &[],
        &[("/input/files", "1")]),
    case!("mixed_formats/csv_line_in_jsonl.jsonl", QUARANTINED, [2 = 1 + 0 + 1 + 0],
        &[(2, "invalid JSON at column 5: trailing characters")]),

    case!("wrong_types/usage_is_string.jsonl", NOTHING, [1 = 0 + 0 + 1 + 0],
        &[(1, "field response.usage: a JSON string where an object was expected")]),
    // serde used to read the array positionally into the body's fields.
    case!("wrong_types/response_is_array.jsonl", NOTHING, [1 = 0 + 0 + 1 + 0],
        &[(1, "field response: a JSON array where an object was expected")]),
    case!("wrong_types/batch_response_is_array.jsonl", NOTHING, [1 = 0 + 0 + 1 + 0],
        &[(1, "field response: a JSON array where an object was expected")]),
    case!("wrong_types/data_is_object.jsonl", NOTHING, [1 = 0 + 0 + 1 + 0],
        &[(1, "field response.data: a JSON object where an array was expected")]),

    case!("structure/duplicate_key.jsonl", NOTHING, [1 = 0 + 0 + 1 + 0],
        &[(1, "unusable JSON at column 47: duplicate field `timestamp`")]),
    // Nesting in an ignored field is skipped; a deeply nested line hits the recursion limit
    // instead of overflowing the stack.
    case!("structure/deep_nesting.jsonl", QUARANTINED, [2 = 1 + 0 + 1 + 0],
        &[(2, "invalid JSON at column 128: recursion limit exceeded")]),
    case!("structure/timestamp_is_object.jsonl", NOTHING, [1 = 0 + 0 + 1 + 0],
        &[(1, "field timestamp: '{\"seconds\":1}' is not a time")]),

    case!("empty/empty.jsonl", NOTHING, [0 = 0 + 0 + 0 + 0], &[], &[("/input/files", "1")]),
    case!("empty/only_newlines.jsonl", NOTHING, [3 = 0 + 0 + 0 + 3], &[]),
    case!("whitespace_only/spaces_tabs.jsonl", NOTHING, [3 = 0 + 0 + 0 + 3], &[]),
    case!("whitespace_only/bom_and_spaces.jsonl", NOTHING, [1 = 0 + 0 + 0 + 1], &[]),

    case!("nul_bytes/nul_line.jsonl", QUARANTINED, [3 = 2 + 0 + 1 + 0],
        &[(2, "4 NUL bytes and nothing else (a crashed or preallocated write?)")]),
    case!("nul_bytes/nul_padding_after_crash.jsonl", QUARANTINED, [2 = 1 + 0 + 1 + 0],
        &[(2, "64 NUL bytes and nothing else (a crashed or preallocated write?)")]),
    case!("nul_bytes/nul_in_string.jsonl", NOTHING, [1 = 0 + 0 + 1 + 0],
        &[(1, "NUL byte at byte 50 of the line")]),
    case!("nul_bytes/only_nuls.jsonl", NOTHING, [1 = 0 + 0 + 1 + 0],
        &[(1, "16 NUL bytes and nothing else (a crashed or preallocated write?)")]),
];

/// Inputs that cannot be read at all: the run stops with exit 2 and writes nothing.
#[rustfmt::skip]
const UNREADABLE_FILES: &[(&str, &str)] = &[
    ("gzip/corrupt.jsonl.gz", "corrupt or truncated gzip: corrupt deflate stream"),
    ("gzip/truncated.jsonl.gz", "corrupt or truncated gzip: incomplete deflate stream"),
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad")
}

fn reprice(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reprice"))
        .args(args)
        .output()
        .expect("the reprice binary runs")
}

fn run(path: &str, out: &Path) -> Output {
    reprice(&["run", path, "--out", &out.display().to_string(), "--quiet"])
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read_quarantine(out: &Path) -> Vec<Value> {
    match std::fs::read_to_string(out.join("quarantine.jsonl")) {
        Ok(text) => text
            .lines()
            .map(|l| serde_json::from_str(l).expect("quarantine line is JSON"))
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn counts(summary: &Value) -> [u64; 6] {
    let n = |k: &str| summary["input"][k].as_u64().unwrap_or(u64::MAX);
    [
        n("lines"),
        n("records"),
        n("duplicates"),
        n("quarantined"),
        n("skipped"),
        n("out_of_period"),
    ]
}

/// Where line `n` of a file starts, as the quarantine must report it: after the BOM on line 1.
fn line_start(bytes: &[u8], n: u64) -> u64 {
    let mut start = 0usize;
    for _ in 1..n {
        match bytes[start..].iter().position(|b| *b == b'\n') {
            Some(i) => start += i + 1,
            None => return u64::MAX,
        }
    }
    if start == 0 && bytes.starts_with(b"\xEF\xBB\xBF") {
        start = 3;
    }
    start as u64
}

fn line_text(bytes: &[u8], start: u64) -> String {
    let rest = bytes.get(start as usize..).unwrap_or_default();
    let line = rest.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line).into_owned()
}

fn cut(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// The text with the values of `"api_key":"..."` removed.
fn without_api_key(s: &str) -> String {
    const KEY: &str = "\"api_key\":\"";
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(KEY) {
        out.push_str(&rest[..i + KEY.len()]);
        rest = &rest[i + KEY.len()..];
        rest = rest.find('"').map_or("", |j| &rest[j..]);
    }
    out.push_str(rest);
    out
}

fn expected_reason(reason: &str, path: &str) -> String {
    reason
        .replace("{file}", path)
        .replace("{no_header}", NO_HEADER)
}

/// Checks one case; returns what differs from the table.
fn check(case: &Case) -> Vec<String> {
    let mut errs = Vec::new();
    let path = fixtures().join(case.file);
    let shown = path.display().to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let o = run(&shown, &out);
    let stderr = String::from_utf8_lossy(&o.stderr);
    if o.status.code() != Some(case.exit) {
        errs.push(format!(
            "exit {:?}, expected {} (stderr: {stderr})",
            o.status.code(),
            case.exit
        ));
    }
    if stderr.contains("panicked") {
        errs.push(format!("panicked: {stderr}"));
    }
    if case.exit == NOTHING {
        let want = if case.lines == 0 {
            format!(
                "reprice: no input lines: the one input file in {shown} is empty; nothing was published\n"
            )
        } else {
            format!(
                "reprice: no record to report: {} read from {shown} ({}, {} quarantined, {} without usage); nothing was published{}\n",
                plural(case.lines, "line"),
                plural(case.duplicates, "duplicate"),
                case.quarantined,
                case.skipped,
                if case.quarantined > 0 {
                    " (`reprice validate` lists the bad lines)"
                } else {
                    ""
                }
            )
        };
        if stderr != want {
            errs.push(format!("stderr {stderr:?}, expected {want:?}"));
        }
        if out.exists() {
            errs.push("published, though there is nothing to report".to_string());
        }
        check_validate(case, &shown, &mut errs);
        return errs;
    }
    let Ok(summary_text) = std::fs::read_to_string(out.join("summary.json")) else {
        errs.push("no summary.json".to_string());
        return errs;
    };
    let summary: Value = serde_json::from_str(&summary_text).expect("summary.json is JSON");
    let [lines, records, dups, quarantined, skipped, out_of_period] = counts(&summary);
    let got = [lines, records, dups, quarantined, skipped];
    let want = [
        case.lines,
        case.records,
        case.duplicates,
        case.quarantined,
        case.skipped,
    ];
    if got != want {
        errs.push(format!(
            "[lines, records, duplicates, quarantined, skipped] = {got:?}, expected {want:?}"
        ));
    }
    // DESIGN.md, "Rules for bad input": every line ends in exactly one place.
    if lines != records + dups + quarantined + skipped + out_of_period {
        errs.push(format!(
            "line accounting does not add up: {:?}",
            counts(&summary)
        ));
    }
    for (pointer, expected) in case.summary {
        let want: Value = serde_json::from_str(expected).expect("expected JSON in the table");
        match summary.pointer(pointer) {
            Some(v) if *v == want => {}
            other => errs.push(format!("summary {pointer} = {other:?}, expected {want}")),
        }
    }
    let q = read_quarantine(&out);
    if q.len() as u64 != quarantined {
        errs.push(format!(
            "quarantine.jsonl has {} lines, summary says {quarantined}",
            q.len()
        ));
    }
    let got: Vec<(u64, String)> = q
        .iter()
        .map(|q| {
            (
                q["line"].as_u64().unwrap_or(0),
                q["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let want: Vec<(u64, String)> = case
        .reasons
        .iter()
        .map(|(l, r)| (*l, expected_reason(r, &shown)))
        .collect();
    if got != want {
        errs.push(format!("reasons {got:#?}\nexpected {want:#?}"));
    }
    // Each entry names the file as given, and the byte offset and text of its line.
    let bytes = std::fs::read(&path).expect("fixture");
    let plain = !case.file.ends_with(".gz");
    // Provider exports that are one JSON document: each entry is quarantined on its own.
    let document = case.file.starts_with("exports/") && case.file.ends_with(".json");
    for e in &q {
        let line = e["line"].as_u64().unwrap_or(0);
        if e["file"].as_str() != Some(shown.as_str()) {
            errs.push(format!("line {line}: file {}", e["file"]));
        }
        let reason = e["reason"].as_str().unwrap_or("");
        if document {
            // An entry of a whole-file export: where it starts on its line, and its text.
            let byte = e["byte"].as_u64().unwrap_or(u64::MAX);
            let (from, to) = (line_start(&bytes, line), line_start(&bytes, line + 1));
            if !(from..to.max(from + 1)).contains(&byte) {
                errs.push(format!("line {line}: byte {byte} is not on the line"));
            }
            let raw = e["raw"].as_str().unwrap_or("");
            let at = bytes.get(byte as usize..).unwrap_or_default();
            if !at.starts_with(raw.as_bytes()) {
                errs.push(format!(
                    "line {line}: raw {:?} is not at byte {byte}",
                    cut(raw, 300)
                ));
            }
        } else if plain && !reason.starts_with("conflict:") {
            let start = line_start(&bytes, line);
            if e["byte"].as_u64() != Some(start) {
                errs.push(format!("line {line}: byte {}, expected {start}", e["byte"]));
            }
            // The quarantine writer masks API keys inside `raw`; everything else is the line.
            let raw = without_api_key(e["raw"].as_str().unwrap_or(""));
            // `raw` keeps the first 4,096 bytes of a line.
            let text = without_api_key(&cut(&line_text(&bytes, start), 4096));
            if raw != text {
                errs.push(format!(
                    "line {line}: raw {:?}, expected {:?}",
                    cut(&raw, 300),
                    cut(&text, 300)
                ));
            }
        }
    }
    check_validate(case, &shown, &mut errs);
    errs
}

/// `validate` reports the same lines as `file:line: reason`.
fn check_validate(case: &Case, shown: &str, errs: &mut Vec<String>) {
    let shown = shown.to_string();
    let v = reprice(&["validate", &shown]);
    let want_exit = if case.lines == 0 {
        NOTHING
    } else if case.reasons.is_empty() {
        OK
    } else {
        QUARANTINED
    };
    if v.status.code() != Some(want_exit) {
        errs.push(format!(
            "validate exit {:?}, expected {want_exit}",
            v.status.code()
        ));
    }
    let printed = String::from_utf8_lossy(&v.stdout).into_owned();
    let expected: String = case
        .reasons
        .iter()
        .map(|(l, r)| (*l, expected_reason(r, &shown)))
        .map(|(l, r)| format!("{shown}:{l}: {r}\n"))
        .collect();
    if printed != expected {
        errs.push(format!("validate printed\n{printed}expected\n{expected}"));
    }
}

#[test]
fn every_hostile_fixture_ends_as_specified() {
    let failures: Vec<String> = CASES
        .iter()
        .flat_map(|c| {
            check(c)
                .into_iter()
                .map(move |e| format!("{}: {e}", c.file))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn unreadable_files_stop_the_run_with_exit_2_and_write_nothing() {
    for (file, message) in UNREADABLE_FILES {
        let path = fixtures().join(file).display().to_string();
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        let o = run(&path, &out);
        assert_eq!(o.status.code(), Some(UNREADABLE), "{file}");
        assert_eq!(
            String::from_utf8_lossy(&o.stderr),
            format!("reprice: {path}: {message}\n"),
            "{file}"
        );
        assert!(!out.exists(), "{file}: nothing may be published");
        let v = reprice(&["validate", &path]);
        assert_eq!(v.status.code(), Some(UNREADABLE), "{file}");
    }
}

/// The corpus and the table agree: no fixture is committed without an expected outcome, and
/// the corpus keeps its breadth (issue 8: at least 60 files in at least 20 categories).
#[test]
fn every_fixture_is_in_the_table() {
    let mut files = Vec::new();
    let mut categories = std::collections::BTreeSet::new();
    for dir in std::fs::read_dir(fixtures()).expect("fixtures") {
        let dir = dir.expect("entry").path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).expect("category") {
            let f = f.expect("entry").path();
            let rel = f
                .strip_prefix(fixtures())
                .expect("under fixtures")
                .display()
                .to_string();
            categories.insert(dir.file_name().map(|n| n.to_string_lossy().into_owned()));
            files.push(rel);
        }
    }
    files.sort();
    let mut listed: Vec<String> = CASES
        .iter()
        .map(|c| c.file.to_string())
        .chain(UNREADABLE_FILES.iter().map(|(f, _)| f.to_string()))
        .collect();
    listed.sort();
    assert_eq!(files, listed);
    assert!(files.len() >= 60, "{} fixture files", files.len());
    // Three more categories are built at test time below.
    assert!(
        categories.len() + 3 >= 20,
        "{} categories",
        categories.len()
    );
}

/// An envelope line whose request carries `prompt_len` bytes of prompt.
fn envelope_with_prompt(id: &str, prompt_len: usize) -> String {
    format!(
        r#"{{"timestamp":"2026-03-06T08:00:00Z","id":"{id}","request":{{"model":"gpt-4o","prompt":"{}"}},"response":{{"usage":{{"prompt_tokens":100,"completion_tokens":50}}}},"status":200}}"#,
        "a".repeat(prompt_len)
    )
}

#[test]
fn a_50_mb_line_is_read_and_a_cut_one_is_quarantined_with_its_column() {
    const MB: usize = 1024 * 1024;
    let dir = tempfile::tempdir().expect("tempdir");
    let big = envelope_with_prompt("big-1", 50 * MB);
    let cut_at = 25 * MB;
    let cut = envelope_with_prompt("big-2", 50 * MB);
    let file = dir.path().join("huge.jsonl");
    std::fs::write(&file, format!("{big}\n{}", &cut[..cut_at])).expect("write");
    let out = dir.path().join("out");
    let shown = file.display().to_string();
    let o = run(&shown, &out);
    assert_eq!(
        o.status.code(),
        Some(QUARANTINED),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let summary = read_json(&out.join("summary.json"));
    assert_eq!(counts(&summary), [2, 1, 0, 1, 0, 0]);
    let q = read_quarantine(&out);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0]["line"], 2);
    assert_eq!(q[0]["byte"], big.len() as u64 + 1);
    assert_eq!(
        q[0]["reason"],
        format!("invalid JSON at column {cut_at}: EOF while parsing a string")
    );
    // The quarantine keeps the start of the line, not 25 MB of it.
    assert_eq!(q[0]["raw"].as_str().map(str::len), Some(4096));
}

/// chmod 000 stops reading only for unprivileged users: root (CI containers run tests as root)
/// has CAP_DAC_OVERRIDE and reads the file anyway. The test asks the OS which of the two it is
/// and asserts the behavior that follows, so it means something under both.
#[test]
fn a_directory_with_an_unreadable_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).expect("mkdir");
    std::fs::write(
        logs.join("a.jsonl"),
        envelope_with_prompt("open-1", 4) + "\n",
    )
    .expect("write");
    let locked = logs.join("b.jsonl");
    std::fs::write(&locked, envelope_with_prompt("locked-1", 4) + "\n").expect("write");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    let privileged = std::fs::read(&locked).is_ok();
    let out = dir.path().join("out");
    let o = run(&logs.display().to_string(), &out);
    if privileged {
        assert_eq!(o.status.code(), Some(OK));
        let summary = read_json(&out.join("summary.json"));
        assert_eq!(counts(&summary), [2, 2, 0, 0, 0, 0]);
    } else {
        // An unreadable input is exit 2 and nothing is published: a partial report would
        // understate the cost without saying so.
        assert_eq!(o.status.code(), Some(UNREADABLE));
        assert_eq!(
            String::from_utf8_lossy(&o.stderr),
            format!("reprice: {}: permission denied\n", locked.display())
        );
        assert!(!out.exists());
    }
    // Let tempdir clean up as any user.
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o600)).expect("chmod");
}

#[test]
fn symlink_loops_are_cut_with_warnings_and_nothing_is_read_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(logs.join("sub")).expect("mkdir");
    std::fs::write(
        logs.join("a.jsonl"),
        envelope_with_prompt("loop-1", 4) + "\n",
    )
    .expect("write");
    std::os::unix::fs::symlink(&logs, logs.join("sub/loop")).expect("symlink");
    std::os::unix::fs::symlink(logs.join("self.jsonl"), logs.join("self.jsonl")).expect("symlink");
    let out = dir.path().join("out");
    let o = run(&logs.display().to_string(), &out);
    assert_eq!(
        o.status.code(),
        Some(OK),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let summary = read_json(&out.join("summary.json"));
    assert_eq!(counts(&summary), [1, 1, 0, 0, 0, 0]);
    assert_eq!(summary["input"]["files"], 1);
    let l = logs.display();
    assert_eq!(
        summary["warnings"],
        serde_json::json!([
            format!("{l}/self.jsonl: symlink loop; skipped"),
            format!("{l}/sub/loop: directory already visited (symlink loop?); skipped"),
        ])
    );
    // Named directly, a looping symlink is an unreadable input.
    let o = run(&format!("{l}/self.jsonl"), &dir.path().join("out2"));
    assert_eq!(o.status.code(), Some(UNREADABLE));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!("reprice: {l}/self.jsonl: symlink loop (too many levels of symbolic links)\n")
    );
}

/// "1 line", "2 lines", as reprice words a count.
fn plural(n: impl Into<u64>, word: &str) -> String {
    match n.into() {
        1 => format!("1 {word}"),
        n => format!("{n} {word}s"),
    }
}
