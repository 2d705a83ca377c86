use super::*;
use crate::ingest::{Options, csv_export, dedup, source};
use crate::record::{Extras, ImageSize, Kind, SourceRef, Status, Tokens};
use chrono::TimeZone;

fn m(s: &str) -> Money {
    Money::parse(s).expect("money")
}

fn gemini(id: &str, time: DateTime<Utc>, images: u32) -> UsageRecord {
    UsageRecord {
        id: Some(id.to_string()),
        source: SourceRef {
            file: Arc::from("burst.jsonl"),
            line: 1,
            byte: 0,
        },
        time,
        time_assumed_utc: false,
        api_key: Some(Arc::from("sk-burst")),
        provider: None,
        model: Arc::from("gemini-3-pro-image"),
        kind: Kind::Image,
        status: Status::Ok,
        tokens: Tokens::default(),
        images,
        image_size: Some(ImageSize::K2),
        quality: None,
        batch: false,
        extras: Extras::default(),
        billed_cost: Some(m("0.4")),
        remaining_balance: None,
        request_hash: None,
        payload_hash: 0,
        requests: 1,
        project: None,
    }
}

/// The shipped sample logs, plus a burst of Gemini images on 2027-01-15 in New York that runs
/// through Google AI Pro's 100 daily images mid-day, and three records of a model no catalog
/// knows, spread over the period. In canonical order, as `reprice run` prices them.
fn records() -> Vec<UsageRecord> {
    let mut warnings = Vec::new();
    let dir = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/sample_logs"));
    let inputs = source::expand(&[dir], &mut warnings).expect("inputs");
    let maps = csv_export::builtin_mappings();
    let opts = Options {
        format: None,
        csv_mappings: &maps,
        max_line: crate::ingest::MAX_LINE,
        default_day: None,
    };
    let mut recs = dedup::read_all(&inputs, &opts).expect("reads").1.records;
    let at = |h, min| {
        Utc.with_ymd_and_hms(2027, 1, 15, h, min, 0)
            .single()
            .expect("time")
    };
    // 23:59 on the 14th in New York: the day before's quota.
    recs.push(gemini("before", at(4, 59), 4));
    recs.push(gemini("burst-00", at(5, 0), 2));
    for k in 1..30 {
        recs.push(gemini(&format!("burst-{k:02}"), at(5, k), 4));
    }
    for (k, day) in [1, 10, 20].into_iter().enumerate() {
        let mut r = gemini(&format!("mystery-{k}"), at(5, 0), 1);
        r.time = Utc
            .with_ymd_and_hms(2026, 3, day, 12, 0, 0)
            .single()
            .expect("time");
        r.model = Arc::from("mystery-model-x");
        recs.push(r);
    }
    dedup::dedup(recs).expect("sorts").records
}

/// Everything a priced record says, with money in its exact spelling.
type View = (
    String,
    Option<String>,
    Vec<(String, Option<usize>)>,
    NaiveDate,
    u32,
);

fn view(p: &Priced, n: usize) -> View {
    (
        p.actual.exact(),
        p.list.map(Money::exact),
        p.each(n).map(|(c, via)| (c.exact(), via)).collect(),
        p.day,
        p.hour,
    )
}

fn price_in_chunks(
    recs: &[UsageRecord],
    size: usize,
    catalog: &Catalog,
    set: &ScenarioSet,
) -> (Vec<Priced>, NotApplied, Vec<BTreeMap<NaiveDate, u64>>) {
    let mut pricer = Pricer::new(catalog, set, chrono_tz::America::New_York);
    let mut priced = Vec::new();
    for chunk in recs.chunks(size) {
        priced.extend(pricer.price(chunk));
    }
    let (not_applied, plan_days) = pricer.finish();
    (priced, not_applied, plan_days)
}

#[test]
fn chunks_of_any_size_price_as_one() {
    let catalog = Catalog::builtin().expect("catalog");
    let set = ScenarioSet::builtin(&catalog).expect("scenarios");
    let n = set.scenarios.len();
    let recs = records();
    let whole = reprice(&recs, &catalog, &set, chrono_tz::America::New_York);
    assert_eq!(whole.priced.len(), recs.len());
    let views: Vec<View> = whole.priced.iter().map(|p| view(p, n)).collect();
    for size in [1, 5, recs.len()] {
        let (priced, not_applied, plan_days) = price_in_chunks(&recs, size, &catalog, &set);
        let chunked: Vec<View> = priced.iter().map(|p| view(p, n)).collect();
        assert_eq!(chunked, views, "chunks of {size}");
        assert_eq!(format!("{priced:?}"), format!("{:?}", whole.priced));
        assert_eq!(not_applied, whole.not_applied, "chunks of {size}");
        assert_eq!(plan_days, whole.plan_days, "chunks of {size}");
    }

    let pro = set
        .scenarios
        .iter()
        .position(|s| s.name == "google-ai-pro")
        .expect("google-ai-pro");
    let gemini_idx = catalog
        .models()
        .iter()
        .position(|x| x.id == "gemini-3-pro-image");
    let day = |d| NaiveDate::from_ymd_opt(2027, 1, d).expect("day");
    let cost_of = |id: &str| {
        let k = recs
            .iter()
            .position(|r| r.id.as_deref() == Some(id))
            .expect("record");
        let p = &whole.priced[k];
        let (cost, via) = p.each(n).nth(pro).expect("scenario");
        (cost.exact(), via, p.actual.exact(), p.day, p.hour)
    };
    let covered = |d| ("0".to_string(), gemini_idx, "0.4".to_string(), day(d), 0);
    assert_eq!(
        cost_of("before"),
        ("0".to_string(), gemini_idx, "0.4".to_string(), day(14), 23)
    );
    assert_eq!(cost_of("burst-00"), covered(15));
    // 2 + 24 x 4 = 98 images are covered; the 26th record has 2 of its 4 left.
    for k in 1..25 {
        assert_eq!(
            cost_of(&format!("burst-{k:02}")),
            covered(15),
            "burst-{k:02}"
        );
    }
    assert_eq!(
        cost_of("burst-25"),
        ("0.2".to_string(), gemini_idx, "0.4".to_string(), day(15), 0)
    );
    for k in 26..30 {
        assert_eq!(
            cost_of(&format!("burst-{k:02}")),
            ("0.4".to_string(), None, "0.4".to_string(), day(15), 0),
            "burst-{k:02}"
        );
    }
    assert_eq!(whole.plan_days[pro].get(&day(14)), Some(&4));
    assert_eq!(whole.plan_days[pro].get(&day(15)), Some(&118));
    for i in 0..n {
        let key = (
            i,
            "mystery-model-x".to_string(),
            "unknown model".to_string(),
        );
        assert_eq!(whole.not_applied.get(&key), Some(&3), "scenario {i}");
    }
}
