//! The fold gives the same analysis wherever the chunks are cut, on the shipped sample logs and
//! on hand-made records at the edges of the retry window.

use super::*;
use crate::catalog::Catalog;
use crate::dedup;
use crate::ingest::{self, walk};
use crate::reprice::reprice;
use crate::text::Text;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The shipped sample logs, deduplicated into canonical order.
fn sample_records() -> Vec<UsageRecord> {
    let mut warnings = Vec::new();
    let inputs = walk::expand(&[root().join("sample_logs")], &mut warnings).expect("inputs");
    let maps = ingest::csv_export::builtin_mappings();
    let opts = ingest::Options::new(&maps);
    dedup::read_all(&inputs, &opts).expect("reads").1.records
}

/// examples/scenarios.toml with budgets tight enough to be exceeded, and a longer window.
fn tight(catalog: &Catalog) -> ScenarioSet {
    let mut set =
        ScenarioSet::load(&root().join("examples/scenarios.toml"), catalog).expect("scenarios");
    set.retry_window_seconds = 7200;
    set.budget.daily_cap = [("sk-live-studio-7c1f9a2b4d6e", "0.05"), ("*", "0.5")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), m(v)))
        .collect();
    set.budget.monthly = Some(m("1"));
    set
}

fn m(s: &str) -> Money {
    Money::parse(s).expect("money")
}

fn cx<'a>(catalog: &'a Catalog, set: &'a ScenarioSet) -> Context<'a> {
    Context {
        catalog,
        set,
        tz_name: "UTC",
        since: None,
        until: None,
        input: InputCounts::default(),
        warnings: Vec::new(),
    }
}

/// The records folded in chunks of `size`.
fn folded(
    records: &[UsageRecord],
    rp: &Repriced,
    catalog: &Catalog,
    set: &ScenarioSet,
    size: usize,
) -> Analysis {
    let mut fold = Fold::new(catalog, set);
    for (rs, ps) in records.chunks(size).zip(rp.priced.chunks(size)) {
        fold.add(rs, ps);
    }
    fold.finish(&rp.not_applied, &rp.plan_days, cx(catalog, set))
}

/// Folds in chunks of 1, 3, 1000 and all at once, and on one thread, and checks every result
/// (summary, days, savings, FOCUS rows) equals the whole-slice analysis.
fn same_in_any_chunks(records: &[UsageRecord], catalog: &Catalog, set: &ScenarioSet) -> Analysis {
    let rp = reprice(records, catalog, set, Tz::UTC);
    let whole = analyze(records, &rp, cx(catalog, set));
    for size in [1, 3, 1000, records.len().max(1)] {
        let a = folded(records, &rp, catalog, set, size);
        assert_eq!(a.summary, whole.summary, "chunks of {size}");
        assert_eq!(a.by_day, whole.by_day, "chunks of {size}");
        assert_eq!(a.savings, whole.savings, "chunks of {size}");
        assert_eq!(a.focus, whole.focus, "chunks of {size}");
        assert_eq!(focus_rows(&a, set), focus_rows(&whole, set));
    }
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool")
        .install(|| folded(records, &rp, catalog, set, 7));
    assert_eq!(one, whole);
    whole
}

fn cost_of<'a>(s: &'a Summary, name: &str) -> &'a ScenarioSummary {
    s.scenarios
        .iter()
        .find(|x| x.name == name)
        .expect("scenario")
}

#[test]
fn sample_logs_fold_the_same_in_any_chunks() {
    let catalog = Catalog::builtin().expect("catalog");
    let set = ScenarioSet::builtin(&catalog).expect("scenarios");
    let records = sample_records();
    let a = same_in_any_chunks(&records, &catalog, &set);
    let s = &a.summary;
    // 86 logged requests, and 16 rows of the usage exports in sample_logs/exports, which
    // tests/exports.rs prices by hand: 2.92 + 2.31 + 2.215 + 0.024 + 0.01925 + 0.1937 = 7.68195,
    // and 3 of the Claude Code usage report, 1.135: 102 + 3 records, 13.521949125 + 1.135.
    assert_eq!(s.input.records, 105);
    assert_eq!(s.actual.cost.exact(), "14.656949125");
    assert_eq!(
        (s.period.start, s.period.end, s.period.days),
        (
            NaiveDate::from_ymd_opt(2026, 3, 1),
            NaiveDate::from_ymd_opt(2026, 3, 31),
            31
        )
    );
    // One seat per api key that used the plan: 4 keys made Gemini images in the logs and the
    // Gemini batch export has no key (a fifth seat); 6 keys of the logs and 2 of the OpenAI
    // usage export used gpt-5.1 or dall-e-3. Every covered image fits its seat's 100 a day,
    // so the plans cost their fees (5 x 19.99, 8 x 20) plus what they do not cover: in the
    // logs 2.304777125 and 5.575392, in the exports all but the batch images (7.68195 + 1.135 -
    // 0.1937) and all but the gpt-5.1 requests (7.68195 + 1.135 - 1.8125).
    assert_eq!(cost_of(s, "google-ai-pro").seats, Some(5));
    assert_eq!(cost_of(s, "google-ai-pro").cost.exact(), "110.878027125");
    assert_eq!(cost_of(s, "chatgpt-plus").seats, Some(8));
    assert_eq!(cost_of(s, "chatgpt-plus").cost.exact(), "172.579842");
    let w = &s.waste;
    assert_eq!(
        (
            w.superseded_billed_requests,
            w.superseded_billed_cost.exact()
        ),
        (1, "0.0096".to_string())
    );
    // The other four repeats of the sample logs succeeded as their first attempts did: not
    // waste. At their own cost: msg_01B (haiku: 120 x $1/M + 280 x $5/M + 4,000 cache read x
    // $0.10/M = 0.00192), NanoGPT's billed 0.01326, gm-0002 (180 x $2/M + 1,120 x $120/M +
    // 880 thinking x $12/M = 0.14532) and gm-0009 (0.00036 + 2,000 x $120/M + 1,400 x $12/M =
    // 0.25716): 0.41766.
    let r = &s.repeated_requests;
    assert_eq!((r.requests, r.cost.exact()), (4, "0.41766".to_string()));
    // The plan quota is consumed across the whole month, whatever the chunks.
    let q = &w.unused_quota[0];
    // 5 seats x 100 x 31 days = 15,500 units, 23 used (21 in the logs, 2 batch images);
    // 15,477 unused at 19.99 / (100 x 31).
    assert_eq!(
        (q.plan.as_str(), q.seats, q.used_units, q.unused_units),
        ("google-ai-pro", 5, 23, 15477)
    );
    assert_eq!(q.unused_value.exact(), "99.80168709677419354838709677");
    assert_eq!(q.by_day.len(), 31);
    let be: Vec<(&str, &str, Option<&str>, String, u64)> = s
        .break_even
        .iter()
        .map(|b| {
            let size = b.size.as_deref();
            (
                b.plan.as_str(),
                b.model.as_str(),
                size,
                b.unit_price.exact(),
                b.observed_units,
            )
        })
        .collect();
    assert_eq!(
        be,
        vec![
            (
                "google-ai-pro",
                "gemini-3-pro-image",
                Some("1K"),
                // The two Gemini batch images join at 0.1937: (2 x 0.145394 + 0.1937) / 4.
                "0.121122".into(),
                4
            ),
            (
                "google-ai-pro",
                "gemini-3-pro-image",
                Some("2K"),
                "0.1306410909090909090909090909".into(),
                11
            ),
            (
                "google-ai-pro",
                "gemini-3-pro-image",
                Some("4K"),
                "0.2565174285714285714285714286".into(),
                7
            ),
            ("chatgpt-plus", "dall-e-3", Some("1K"), "0.08".into(), 1),
            ("chatgpt-plus", "dall-e-3", Some("2K"), "0.08".into(), 1),
            (
                "chatgpt-plus",
                "gpt-5.1",
                None,
                // 25 requests of a usage export row (1.80) and one LiteLLM request (0.0125):
                // (11 x 0.0095097386... + 1.8125) / 37.
                "0.0518137060810810810810810811".into(),
                37
            ),
        ]
    );
    let r = &s.reconciliation;
    assert_eq!((r.checked, r.matched), (10, 8));
    assert_eq!(
        (r.unexplained.exact(), r.top_ups.exact()),
        ("0.0131".into(), "5".into())
    );
    let gaps: Vec<(&str, &str)> = r
        .gaps
        .iter()
        .map(|g| (g.key.as_str(), g.kind.as_str()))
        .collect();
    assert_eq!(gaps, vec![("...3d2c", "gap"), ("...3d2c", "top_up")]);
    // Every day of the period has a row; plan fees fill the days without records.
    assert_eq!(a.by_day.len(), 31);
    assert_eq!(a.by_day.iter().map(|d| d.records).sum::<u64>(), 105);
    let usage: Money = focus_rows(&a, &set)
        .iter()
        .filter(|r| r.charge == FocusCharge::Usage)
        .map(|r| r.billed)
        .sum();
    assert_eq!(usage, s.actual.cost);
}

#[test]
fn budgets_and_two_plans_fold_the_same_in_any_chunks() {
    let catalog = Catalog::builtin().expect("catalog");
    let set = tight(&catalog);
    let a = same_in_any_chunks(&sample_records(), &catalog, &set);
    let s = &a.summary;
    assert_eq!(cost_of(s, "team-flux").cost.exact(), "64.056949125");
    let used: Vec<(&str, u64, u64)> = s
        .waste
        .unused_quota
        .iter()
        .map(|q| (q.plan.as_str(), q.used_units, q.unused_units))
        .collect();
    assert_eq!(
        used,
        vec![("google-ai-pro", 23, 15477), ("team-flux", 15, 1225)]
    );
    let b = &s.budget;
    // Three export keys are over the $0.50 cap: key_web on 03-01 (0.575 + 2.31) and 03-02
    // (1.80), the Anthropic key on 03-01 (2.215); and the Claude Code report's two actors,
    // alice on 03-03 (0.495 + 0.04) and ci-bot on 03-04 (0.60).
    assert_eq!(b.days_over_cap.len(), 14);
    let first = b
        .days_over_cap
        .iter()
        .find(|d| d.key == "studio")
        .expect("studio over its cap");
    assert_eq!(
        (first.key.as_str(), first.day, first.spent.exact()),
        (
            "studio",
            NaiveDate::from_ymd_opt(2026, 3, 6).expect("day"),
            "0.543423".into()
        )
    );
    assert_eq!(b.months_over_budget.len(), 1);
    assert_eq!(b.months_over_budget[0].spent.exact(), "14.656949125");
    assert!(b.latest_day_exceeded);
}

/// The same request (key and body) at `secs` after the first, billed `cost`.
fn attempt(base: &UsageRecord, secs: f64, key: &str, hash: u64, cost: &str) -> UsageRecord {
    let start: DateTime<Utc> = "2026-03-10T12:00:00Z".parse().expect("time");
    let mut r = base.clone();
    r.time = start + Duration::milliseconds((secs * 1000.0) as i64);
    r.id = Some(format!("{key}-{secs}"));
    r.api_key = Some(Text::from(key));
    r.request_hash = Some(hash);
    r.status = Status::Ok;
    r.billed_cost = Some(m(cost));
    r.remaining_balance = None;
    r
}

/// Attempts at the edges of a 300 s window; the `true` ones are followed by their repeat
/// within it. Every repeat is marked as a retry.
fn retries() -> Vec<(UsageRecord, bool)> {
    let mut cases = repeats();
    let mut seen = std::collections::HashSet::new();
    for (r, _) in &mut cases {
        if !seen.insert((r.api_key.clone(), r.request_hash)) {
            r.status = Status::Retry;
        }
    }
    cases
}

/// The attempts of `retries`, none marked as a retry: every one succeeded.
fn repeats() -> Vec<(UsageRecord, bool)> {
    let base = sample_records()
        .into_iter()
        .find(|r| &*r.model == "gpt-image-1" && !r.is_aggregate())
        .expect("a gpt-image-1 request");
    let a = |s, k, h, c| attempt(&base, s, k, h, c);
    let mut unknown = a(2000.0, "sk-other-000000000000", 9, "0.7");
    unknown.model = Text::from("mystery-model");
    vec![
        // Equal timestamps: a gap of zero is a retry.
        (a(0.0, "sk-live-aaaaaaaaaaaa", 1, "0.1"), true),
        (a(0.0, "sk-live-aaaaaaaaaaaa", 1, "0.02"), true),
        (a(0.0, "sk-live-bbbbbbbbbbbb", 1, "0.5"), false),
        // Exactly at the window's end.
        (a(300.0, "sk-live-aaaaaaaaaaaa", 1, "0.003"), false),
        // One second past it.
        (a(601.0, "sk-live-aaaaaaaaaaaa", 1, "0.0004"), true),
        // 300.5 s: gaps count in whole seconds.
        (a(901.5, "sk-live-aaaaaaaaaaaa", 1, "0.00005"), false),
        (unknown, false),
        (a(5000.0, "sk-live-aaaaaaaaaaaa", 1, "0.000006"), true),
        (a(5000.0, "sk-live-aaaaaaaaaaaa", 2, "0.3"), false),
        (a(5300.0, "sk-live-aaaaaaaaaaaa", 1, "0.0000007"), false),
    ]
}

#[test]
fn retries_are_found_across_chunk_boundaries() {
    let catalog = Catalog::builtin().expect("catalog");
    let mut set = ScenarioSet::builtin(&catalog).expect("scenarios");
    set.retry_window_seconds = 300;
    let cases = retries();
    let records: Vec<UsageRecord> = cases.iter().map(|(r, _)| r.clone()).collect();
    let a = same_in_any_chunks(&records, &catalog, &set);
    let w = &a.summary.waste;
    let expected: Money = cases
        .iter()
        .filter(|(_, superseded)| *superseded)
        .filter_map(|(r, _)| r.billed_cost)
        .sum();
    assert_eq!(expected.exact(), "0.120406");
    assert_eq!(w.superseded_billed_requests, 4);
    assert_eq!(w.superseded_billed_cost, expected);
    assert_eq!(a.summary.unknown_models.len(), 1);
    assert_eq!(a.summary.unknown_models[0].model, "mystery-model");
    // A window of zero keeps only repeats at the same instant.
    set.retry_window_seconds = 0;
    let a = same_in_any_chunks(&records, &catalog, &set);
    assert_eq!(a.summary.waste.superseded_billed_requests, 1);
    assert_eq!(a.summary.waste.superseded_billed_cost.exact(), "0.1");
}

#[test]
fn successful_repeats_are_not_retries() {
    let catalog = Catalog::builtin().expect("catalog");
    let mut set = ScenarioSet::builtin(&catalog).expect("scenarios");
    set.retry_window_seconds = 300;
    let records: Vec<UsageRecord> = repeats().into_iter().map(|(r, _)| r).collect();
    let a = same_in_any_chunks(&records, &catalog, &set);
    let w = &a.summary.waste;
    assert_eq!(
        (w.superseded_billed_requests, w.superseded_billed_cost),
        (0, Money::ZERO)
    );
    // The repeats that follow a success within 300 s, at their own cost: 0.02 (0 s after
    // 0.1), 0.003 (300 s after 0.02), 0.00005 (300.5 s after 0.0004, whole seconds) and
    // 0.0000007 (300 s after 0.000006) = 0.0230507.
    let r = &a.summary.repeated_requests;
    assert_eq!((r.requests, r.cost.exact()), (4, "0.0230507".to_string()));
}

#[test]
fn a_failed_attempt_then_its_retry_is_counted_once() {
    let catalog = Catalog::builtin().expect("catalog");
    let mut set = ScenarioSet::builtin(&catalog).expect("scenarios");
    set.retry_window_seconds = 300;
    let mut cases = repeats();
    let mut records: Vec<UsageRecord> = cases.drain(..3).map(|(r, _)| r).collect();
    // 0.1 failed (billed), then 0.02 repeated it 0 s later, marked as a retry, and
    // succeeded; 0.5 (another key) succeeded alone.
    records[0].status = Status::Failed;
    records[1].status = Status::Retry;
    let a = same_in_any_chunks(&records, &catalog, &set);
    let w = &a.summary.waste;
    assert_eq!(
        (w.failed_billed_requests, w.failed_billed_cost.exact()),
        (1, "0.1".to_string())
    );
    assert_eq!(
        (w.superseded_billed_requests, w.superseded_billed_cost),
        (0, Money::ZERO)
    );
    assert_eq!(a.summary.repeated_requests.requests, 0);
    // Unmarked, the repeat of the failure is no repeated identical request either.
    records[1].status = Status::Ok;
    let a = same_in_any_chunks(&records, &catalog, &set);
    assert_eq!(a.summary.waste.failed_billed_cost.exact(), "0.1");
    assert_eq!(a.summary.waste.superseded_billed_requests, 0);
    assert_eq!(a.summary.repeated_requests.requests, 0);
}

#[test]
fn retry_state_holds_only_the_window() {
    let catalog = Catalog::builtin().expect("catalog");
    let mut set = ScenarioSet::builtin(&catalog).expect("scenarios");
    set.retry_window_seconds = 300;
    let base = retries().remove(0).0;
    // A request every 10 s, each repeated once at the same instant, over ten hours.
    let records: Vec<UsageRecord> = (0..3600)
        .flat_map(|i| {
            let t = f64::from(i) * 10.0;
            let h = u64::from(i as u32);
            let mut retry = attempt(&base, t, "sk-live-aaaaaaaaaaaa", h, "0.01");
            retry.status = Status::Retry;
            [attempt(&base, t, "sk-live-aaaaaaaaaaaa", h, "0.01"), retry]
        })
        .collect();
    let rp = reprice(&records, &catalog, &set, Tz::UTC);
    let mut fold = Fold::new(&catalog, &set);
    let mut most = 0;
    for (rs, ps) in records.chunks(100).zip(rp.priced.chunks(100)) {
        fold.add(rs, ps);
        most = most.max(fold.s.waste.held());
    }
    // 31 instants of two attempts fit in 300 s, plus the chunk's last record.
    assert!(most <= 64, "held {most}");
    let a = fold.finish(&rp.not_applied, &rp.plan_days, cx(&catalog, &set));
    assert_eq!(a.summary.waste.superseded_billed_requests, 3600);
    assert_eq!(a.summary.waste.superseded_billed_cost.exact(), "36");
}

#[test]
fn aggregate_rows_count_their_requests_and_are_never_retries() {
    let catalog = Catalog::builtin().expect("catalog");
    let mut set = ScenarioSet::builtin(&catalog).expect("scenarios");
    set.retry_window_seconds = 300;
    let base = sample_records()
        .into_iter()
        .find(|r| &*r.model == "gemini-3-pro-image-preview" && r.images == 1)
        .expect("a Gemini image record");
    // Two daily buckets of 60 image requests each on one key, same request hash, same
    // instant: as single requests the second would be a retry of the first.
    let bucket = |id: &str| {
        let mut r = attempt(&base, 0.0, "sk-live-aaaaaaaaaaaa", 7, "0");
        r.id = Some(id.to_string());
        r.billed_cost = None;
        r.images = 60;
        r.requests = 60;
        r.status = Status::Ok;
        r
    };
    let records = vec![bucket("a"), bucket("b")];
    let a = same_in_any_chunks(&records, &catalog, &set);
    let s = &a.summary;
    assert_eq!(s.waste.superseded_billed_requests, 0);
    assert_eq!(s.actual.requests.get("ok"), Some(&120));
    assert_eq!(s.actual.images, 120);
    // Google AI Pro's 100 daily images cover 100 of the day's 120: nothing left unused.
    let q = s
        .waste
        .unused_quota
        .iter()
        .find(|q| q.plan == "google-ai-pro")
        .expect("google-ai-pro");
    assert_eq!((q.used_units, q.unused_units), (100, 0));
    assert!(
        s.warnings
            .iter()
            .any(|w| w.starts_with("2 rows of usage exports sum 120 requests"))
    );
}
