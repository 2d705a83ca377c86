//! Properties of the whole pipeline, run in-process on logs from the synthetic generator.
//! Cases: `PROPTEST_CASES` (default 24 here; the nightly mode in TESTING.md uses 10,000).

use proptest::prelude::*;
use reprice::cli::RunArgs;
use reprice::config::config;
use reprice::ingest::Format;
use reprice::progress::Progress;
use reprice::run::compute;
use std::path::{Path, PathBuf};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

fn generated(records: u64, seed: u64, format: Format) -> Vec<u8> {
    let mut v = Vec::new();
    reprice::generate::generate(&mut v, format, records, seed).expect("generate");
    v
}

fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    bytes.split_inclusive(|b| *b == b'\n').collect()
}

fn args(paths: Vec<PathBuf>, state: Option<&Path>) -> RunArgs {
    RunArgs {
        paths,
        out: PathBuf::from("unused"),
        catalog: Vec::new(),
        scenarios: None,
        tz: "UTC".to_string(),
        since: None,
        until: None,
        state: state.map(Path::to_path_buf),
        strict: false,
        threads: None,
        quiet: true,
        format: None,
        csv_map: Vec::new(),
        focus: false,
        records: false,
        allow_unpriced: false,
        default_day: None,
        max_line_size: reprice::ingest::MAX_LINE,
    }
}

/// summary.json as text, with the one field that depends on how lines are split into files.
fn summary_of(a: &RunArgs) -> (String, serde_json::Value) {
    let cfg = config(a).expect("config");
    let c = compute(&cfg, &Progress::new(true), None).expect("compute");
    let mut v = serde_json::to_value(&c.analysis.summary).expect("json");
    v["input"]["files"] = serde_json::json!(0);
    (serde_json::to_string(&v).expect("text"), v)
}

fn write_files(dir: &Path, parts: &[Vec<u8>], names: &[usize]) -> Vec<PathBuf> {
    parts
        .iter()
        .zip(names)
        .map(|(bytes, n)| {
            let p = dir.join(format!("part-{n:03}.jsonl"));
            std::fs::write(&p, bytes).expect("write");
            p
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Splitting the input into any number of files, named in any order, changes nothing.
    #[test]
    fn any_split_into_files_gives_the_same_summary(
        seed in 0u64..1_000_000,
        cuts in prop::collection::vec(0usize..400, 0..6),
        order_seed in any::<u64>(),
    ) {
        let bytes = generated(120, seed, Format::Envelope);
        let all = lines(&bytes);
        let mut bounds: Vec<usize> = cuts.into_iter().map(|c| c % (all.len() + 1)).collect();
        bounds.push(0);
        bounds.push(all.len());
        bounds.sort();
        bounds.dedup();
        let parts: Vec<Vec<u8>> = bounds.windows(2).map(|w| all[w[0]..w[1]].concat()).collect();
        let mut names: Vec<usize> = (0..parts.len()).collect();
        let mut rng = reprice::generate::Rng::new(order_seed);
        for i in (1..names.len()).rev() {
            names.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let one = tempfile::tempdir().expect("tempdir");
        let whole = write_files(one.path(), std::slice::from_ref(&bytes), &[0]);
        let many = tempfile::tempdir().expect("tempdir");
        let split = write_files(many.path(), &parts, &names);
        prop_assert_eq!(summary_of(&args(whole, None)).0, summary_of(&args(split, None)).0);
    }

    /// Adding one record changes the total by exactly its cost, and nothing else.
    #[test]
    fn adding_a_record_adds_exactly_its_cost(
        seed in 0u64..1_000_000,
        mantissa in 1u64..10_000_000_000,
        scale in 0u32..12,
    ) {
        let bytes = generated(60, seed, Format::Envelope);
        let cost = rust_decimal::Decimal::new(mantissa as i64, scale);
        let extra = format!(
            "{{\"timestamp\":\"2026-03-15T12:00:00Z\",\"id\":\"extra-{seed}\",\"request\":{{\"model\":\"flux-pro\"}},\"response\":{{\"usage\":{{\"prompt_tokens\":1,\"completion_tokens\":1}},\"cost\":\"{cost}\"}}}}\n"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let base = write_files(dir.path(), std::slice::from_ref(&bytes), &[0]);
        let (_, before) = summary_of(&args(base, None));
        let mut more = bytes.clone();
        more.extend_from_slice(extra.as_bytes());
        let dir2 = tempfile::tempdir().expect("tempdir");
        let plus = write_files(dir2.path(), &[more], &[0]);
        let (_, after) = summary_of(&args(plus, None));
        let get = |v: &serde_json::Value| v["actual"]["cost"].as_str().expect("cost").parse::<rust_decimal::Decimal>().expect("decimal");
        prop_assert_eq!(get(&after) - get(&before), cost);
        prop_assert_eq!(after["input"]["records"].as_u64(), before["input"]["records"].as_u64().map(|n| n + 1));
    }

    /// Re-running over the same input with --state, however the input grew in between, never
    /// changes the totals of a full run.
    #[test]
    fn state_reruns_never_change_totals(seed in 0u64..1_000_000, cut in 1usize..200, reruns in 1usize..3) {
        let bytes = generated(100, seed, Format::Envelope);
        let all = lines(&bytes);
        let cut = cut % all.len();
        let dir = tempfile::tempdir().expect("tempdir");
        let state = dir.path().join("state");
        let log = dir.path().join("a.jsonl");
        std::fs::write(&log, all[..cut].concat()).expect("write");
        let first = args(vec![log.clone()], Some(&state));
        summary_of(&first);
        reprice::state::commit(&state).expect("commit");
        std::fs::write(&log, &bytes).expect("write");
        let (full, _) = summary_of(&args(vec![log.clone()], None));
        for _ in 0..reruns {
            let (inc, _) = summary_of(&args(vec![log.clone()], Some(&state)));
            reprice::state::commit(&state).expect("commit");
            prop_assert_eq!(&inc, &full);
        }
    }
}
