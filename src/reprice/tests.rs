use super::*;
use crate::dedup;
use crate::ingest::{Options, csv_export, walk};
use crate::record::{ImageSize, SourceRef, Status, Tokens};
use crate::text::Text;
use chrono::TimeZone;

fn m(s: &str) -> Money {
    Money::parse(s).expect("money")
}

fn gemini(id: &str, time: DateTime<Utc>, images: u32) -> UsageRecord {
    UsageRecord {
        id: Some(id.to_string()),
        source: SourceRef {
            file: Text::from("burst.jsonl"),
            line: 1,
            byte: 0,
        },
        time,
        api_key: Some(Text::from("sk-burst")),
        images,
        billed_cost: Some(m("0.4")),
        ..crate::record::sample()
    }
}

/// The shipped sample logs, plus a burst of Gemini images on 2027-01-15 in New York that runs
/// through Google AI Pro's 100 daily images mid-day, and three records of a model no catalog
/// knows, spread over the period. In canonical order, as `reprice run` prices them.
fn records() -> Vec<UsageRecord> {
    let mut warnings = Vec::new();
    let dir = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/sample_logs"));
    let inputs = walk::expand(&[dir], &mut warnings).expect("inputs");
    let maps = csv_export::builtin_mappings();
    let opts = Options::new(&maps);
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
        r.model = Text::from("mystery-model-x");
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
) -> (Vec<Priced>, NotApplied, Vec<PlanUse>) {
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
    assert_eq!(whole.plan_days[pro].on(day(14)), 4);
    assert_eq!(whole.plan_days[pro].on(day(15)), 118);
    for i in 0..n {
        let key = (
            i,
            "mystery-model-x".to_string(),
            "unknown model".to_string(),
        );
        assert_eq!(whole.not_applied.get(&key), Some(&3), "scenario {i}");
    }
}

/// One gpt-image-1 high 1024x1024 image, priced from the catalog ($0.167).
fn gpt_image_high(id: &str) -> UsageRecord {
    let mut r = gemini(
        id,
        Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0)
            .single()
            .expect("time"),
        1,
    );
    r.model = Text::from("gpt-image-1");
    r.quality = Some(Text::from("high"));
    r.image_size = Some(ImageSize::Pixels(1024, 1024));
    r.billed_cost = None;
    r
}

/// (cost, model priced on) of the record under each scenario.
fn cheapest_of(catalog: &Catalog, scenarios: &str, r: UsageRecord) -> Vec<(String, String)> {
    let set = ScenarioSet::from_toml(scenarios, "s.toml", catalog).expect("scenarios");
    let n = set.scenarios.len();
    let rp = reprice(&[r], catalog, &set, chrono_tz::UTC);
    rp.priced[0]
        .each(n)
        .map(|(cost, via)| {
            let to = via.map_or("(unchanged)".to_string(), |k| {
                catalog.models()[k].id.clone()
            });
            (cost.exact(), to)
        })
        .collect()
}

fn cheapest_scenario(name: &str, extra: &str) -> String {
    format!("[[scenario]]\nname = \"{name}\"\ncheapest = true\n{extra}\n")
}

#[test]
fn cheapest_never_picks_a_lower_rated_model_unless_told_how_much_lower() {
    // gpt-image-1 (1137 on the arena) high at 1024x1024 costs $0.167. Rated at least as well:
    // gemini-3-pro-image (1225; 1,120 tokens x $120/M = $0.1344) and imagen-4-ultra (1172;
    // $0.06). Below it: flux-1.1-pro (1088; $0.04), flux-pro (1068; 1,290 x $10/M =
    // $0.0129), dall-e-3 (950) and stable-diffusion-3 (913; $0.002). A tolerance of 49 admits
    // flux-1.1-pro (1088 + 49 = 1137), 48 does not; 69 admits flux-pro; only 224 admits
    // stable-diffusion-3.
    let catalog = Catalog::builtin().expect("catalog");
    let text: String = [
        cheapest_scenario("at-least-as-good", ""),
        cheapest_scenario("within-48", "min_quality_delta = 48"),
        cheapest_scenario("within-49", "min_quality_delta = 49"),
        cheapest_scenario("within-69", "min_quality_delta = 69"),
        cheapest_scenario("within-224", "min_quality_delta = 224"),
    ]
    .concat();
    let got = cheapest_of(&catalog, &text, gpt_image_high("g"));
    let want = [
        ("0.06", "imagen-4-ultra"),
        ("0.06", "imagen-4-ultra"),
        ("0.04", "flux-1.1-pro"),
        ("0.0129", "flux-pro"),
        ("0.002", "stable-diffusion-3"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(c, m)| (c.to_string(), m.to_string()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn the_best_rated_model_stays_where_it_is() {
    // gemini-3-pro-image (1225) is the best rated image model in the catalog: nothing may
    // replace it, and that is no failure to report. Within 53 of it, imagen-4-ultra (1172) at
    // $0.06 replaces a 2K image (1,120 tokens x $120/M = $0.1344; billed $0.4 here).
    let catalog = Catalog::builtin().expect("catalog");
    let text = [
        cheapest_scenario("strict", ""),
        cheapest_scenario("within-53", "min_quality_delta = 53"),
    ]
    .concat();
    let set = ScenarioSet::from_toml(&text, "s.toml", &catalog).expect("scenarios");
    let r = gemini(
        "g",
        Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0)
            .single()
            .expect("time"),
        1,
    );
    let rp = reprice(std::slice::from_ref(&r), &catalog, &set, chrono_tz::UTC);
    let imagen = catalog
        .models()
        .iter()
        .position(|m| m.id == "imagen-4-ultra");
    let got: Vec<(String, Option<usize>)> =
        rp.priced[0].each(2).map(|(c, v)| (c.exact(), v)).collect();
    assert_eq!(
        got,
        [("0.4".to_string(), None), ("0.06".to_string(), imagen)]
    );
    assert!(rp.not_applied.is_empty(), "{:?}", rp.not_applied);
}

#[test]
fn models_without_a_score_are_candidates_only_when_allowed() {
    // A model of our own, unrated, at $0.001 an image: `cheapest` takes it only when `allow`
    // lists it (and, with `allow` set, takes nothing else). A request of the unrated model
    // itself has nothing to compare with: it moves only to another model `allow` lists, so
    // the scenarios that list none report it as not applied.
    let overlay = r#"
[[model]]
id = "house-model"
provider = "us"
kind = "image"
  [[model.price]]
  effective = "2026-01-01"
  source = "our own price list"
  [[model.price.image]]
  size = "1K"
  price = "0.001"
"#;
    let base = Catalog::builtin().expect("catalog");
    let over: crate::catalog::CatalogFile = toml::from_str(overlay).expect("overlay");
    let catalog = Catalog::new(crate::catalog::merge(base.file, over), "test").expect("merged");
    let text = [
        cheapest_scenario("plain", ""),
        cheapest_scenario("house", "allow = [\"house-model\"]"),
        cheapest_scenario(
            "house-or-flux",
            "allow = [\"house-model\", \"flux-1.1-pro\"]",
        ),
    ]
    .concat();
    let got = cheapest_of(&catalog, &text, gpt_image_high("g"));
    let s = |a: &str, b: &str| (a.to_string(), b.to_string());
    // flux-1.1-pro is allowed in the third scenario but rated below gpt-image-1.
    assert_eq!(
        got,
        [
            s("0.06", "imagen-4-ultra"),
            s("0.001", "house-model"),
            s("0.001", "house-model"),
        ]
    );
    let mut own = gpt_image_high("h");
    own.model = Text::from("house-model");
    own.billed_cost = Some(m("0.01"));
    let set = ScenarioSet::from_toml(&text, "s.toml", &catalog).expect("scenarios");
    let rp = reprice(&[own], &catalog, &set, chrono_tz::UTC);
    let reasons: Vec<(usize, &str, &str, u64)> = rp
        .not_applied
        .iter()
        .map(|((i, model, why), n)| (*i, model.as_str(), why.as_str(), *n))
        .collect();
    // "house" lists only the model itself: nothing may replace it there either.
    let why = "no quality score: only models listed in allow may replace it";
    assert_eq!(
        reasons,
        [(0, "house-model", why, 1), (1, "house-model", why, 1)]
    );
    // Listed by `allow`, flux-1.1-pro may replace the unrated model: $0.04 against $0.01
    // billed is no saving, so the record stays.
    let got: Vec<String> = rp.priced[0].each(3).map(|(c, _)| c.exact()).collect();
    assert_eq!(got, ["0.01", "0.01", "0.01"]);
}

#[test]
fn a_failure_uses_a_quota_unit_only_where_the_provider_counts_it() {
    // One-image quota a day. A rejected image at 09:00, then a good one at 10:00 (each billed
    // $0.4). Counted, the rejection takes the day's unit and the good image pays $0.4; not
    // counted, the rejection is covered by the fee and the good image takes the unit.
    let catalog = Catalog::builtin().expect("catalog");
    let plans = |counts: bool| {
        format!(
            "[[plan]]\nid = \"p\"\nprovider = \"google\"\nmonthly_fee = \"30\"\ndaily_quota = 1\nmodels = [\"gemini-3-pro-image\"]\nsource = \"test\"\nfailed_uses_quota = {counts}\n[[scenario]]\nname = \"p\"\nsubscription = \"p\"\n"
        )
    };
    let at = |h| {
        Utc.with_ymd_and_hms(2026, 3, 2, h, 0, 0)
            .single()
            .expect("time")
    };
    let mut rejected = gemini("r", at(9), 0);
    rejected.status = Status::Rejected;
    let good = gemini("g", at(10), 1);
    let recs = [rejected, good];
    // Units asked for that day: the rejection's (when counted) and the good image's.
    for (counts, want, asked) in [(true, ["0", "0.4"], 2), (false, ["0", "0"], 1)] {
        let set = ScenarioSet::from_toml(&plans(counts), "s.toml", &catalog).expect("scenarios");
        let rp = reprice(&recs, &catalog, &set, chrono_tz::UTC);
        let got: Vec<String> = rp
            .priced
            .iter()
            .map(|p| p.each(1).next().expect("one scenario").0.exact())
            .collect();
        assert_eq!(got, want, "failed_uses_quota = {counts}");
        let day = NaiveDate::from_ymd_opt(2026, 3, 2).expect("day");
        assert_eq!(
            rp.plan_days[0].on(day),
            asked,
            "failed_uses_quota = {counts}"
        );
    }
}

/// The offer a record is priced at: the provider the log names, else the offer its model name
/// is an alias of, else the maker's; a named provider without an offer falls back the same way.
#[test]
fn own_offer_prefers_the_logged_provider_then_the_alias_then_the_maker() {
    let catalog = Catalog::builtin().expect("catalog");
    let set = ScenarioSet::from_toml("", "none", &catalog).expect("scenarios");
    let t = Utc
        .with_ymd_and_hms(2026, 12, 3, 10, 0, 0)
        .single()
        .expect("time");
    let flux = |model: &str, seller: Option<&str>| {
        let mut r = gemini("f", t, 1);
        r.model = Text::from(model);
        r.image_size = Some(ImageSize::Pixels(1024, 1024));
        r.billed_cost = None;
        r.tokens = Tokens {
            input: 200,
            ..Tokens::default()
        };
        r.seller = seller.map(Text::from);
        r.seller_from = if seller.is_some() {
            ProviderFrom::Envelope
        } else {
            ProviderFrom::Unknown
        };
        r
    };
    let records = [
        // Replicate's name for FLUX.1 [pro]: its $0.055 an image.
        flux("black-forest-labs/flux-pro", None),
        // The log says NanoGPT, the maker: 200 x $2/M + 1,290 x $10/M = $0.0133.
        flux("black-forest-labs/flux-pro", Some("nanogpt")),
        // A provider without an offer: the alias still tells.
        flux("black-forest-labs/flux-pro", Some("together")),
        // No provider, no offer alias: the maker's price.
        flux("flux-pro", None),
    ];
    let priced = reprice(&records, &catalog, &set, chrono_tz::UTC).priced;
    let got: Vec<(String, Option<&str>, ProviderFrom, bool)> = priced
        .iter()
        .map(|p| {
            (
                p.actual.exact(),
                p.offer()
                    .map(|k| catalog.seller(p.model.expect("known"), Some(k))),
                p.provider_from,
                p.no_offer,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "0.055".to_string(),
                Some("replicate"),
                ProviderFrom::OfferAlias,
                false
            ),
            ("0.0133".to_string(), None, ProviderFrom::Envelope, false),
            (
                "0.055".to_string(),
                Some("replicate"),
                ProviderFrom::OfferAlias,
                false
            ),
            ("0.0133".to_string(), None, ProviderFrom::Unknown, false),
        ]
    );
}
