use super::*;
use crate::analyze::{ModelRow, SavingsRow, ThinkingShare};

fn m(s: &str) -> Money {
    Money::parse(s).expect("test amount")
}

fn analysis() -> Analysis {
    crate::analyze::empty_march_analysis()
}

fn section<'a>(r: &'a Report, title: &str) -> &'a Section {
    r.sections
        .iter()
        .find(|s| s.title == title)
        .unwrap_or_else(|| panic!("no section {title}"))
}

fn first_table(s: &Section) -> &Table {
    s.blocks
        .iter()
        .find_map(|b| match b {
            Block::Table(t) => Some(t),
            _ => None,
        })
        .expect("a table")
}

#[test]
fn scenario_rows_add_up_as_shown() {
    let mut a = analysis();
    let s = &mut a.summary;
    // Rounded on their own, 1.000000 = 0.333334 + 0.666667 would not add up; the savings
    // shown are the shown actual less the shown cost: 1.000000 - 0.333334 = 0.666666, and
    // its share 0.666666 / 1.000000 = 66.7%.
    s.actual.cost = m("1.0000004");
    s.scenarios.truncate(1);
    s.scenarios[0].cost = m("0.3333335");
    s.scenarios[0].savings = m("0.6666669");
    let r = Report::build(&a);
    let t = first_table(section(&r, "Scenarios"));
    assert_eq!(t.rows[0][2], Cell::Money(m("1")));
    assert_eq!(t.rows[1][2], Cell::Money(m("0.333334")));
    assert_eq!(t.rows[1][4], Cell::Money(m("0.666666")));
    assert_eq!(t.rows[1][5], Cell::Share(m("0.666666").decimal()));
    assert_eq!(percent(m("0.666666").decimal()), "66.7%");
}

#[test]
fn cost_says_what_was_billed_and_what_estimated() {
    let mut a = analysis();
    let s = &mut a.summary;
    // $5.839999 in all, $0.334 of it billed in the logs: $5.84 = $0.33 + $5.51 as shown.
    s.actual.cost = m("5.839999");
    s.actual.billed_in_logs = m("0.334");
    s.actual.computed_from_catalog = m("5.505999");
    s.input.records = 86;
    let r = Report::build(&a);
    let f = findings(&a.summary);
    assert_eq!(
        f[0],
        "Cost $5.84 for 86 requests ($0.33 as billed in the logs, $5.51 estimated at list prices)."
    );
    assert_eq!(r.cards[0].value, "$5.84");
    assert_eq!(
        r.cards[0].label,
        "cost ($0.33 as billed in the logs, $5.51 estimated at list prices)"
    );
}

#[test]
fn thinking_share_divides_by_the_model_cost_shown() {
    let mut a = analysis();
    let s = &mut a.summary;
    s.models = vec![ModelRow {
        model: "gpt-5.1".to_string(),
        records: 12,
        images: 0,
        input_tokens: 15368,
        output_tokens: 6807,
        thinking_tokens: 2155,
        cost: m("0.104607"),
        unpriced_records: 0,
    }];
    // A list price of the model's records that differs from the cost shown must not be used.
    s.waste.thinking_by_model = vec![ThinkingShare {
        model: "gpt-5.1".to_string(),
        thinking_tokens: 2155,
        thinking_cost: m("0.02155"),
        cost: m("0.1"),
        share: None,
    }];
    let r = Report::build(&a);
    let w = section(&r, "Waste");
    let t = w
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Table(t) => Some(t),
            _ => None,
        })
        .nth(1)
        .expect("thinking table");
    // 0.021550 / 0.104607 = 0.20601...: 20.6%.
    assert_eq!(t.rows[0][3], Cell::Money(m("0.104607")));
    match &t.rows[0][4] {
        Cell::Share(d) => assert_eq!(percent(*d), "20.6%"),
        c => panic!("{c:?}"),
    }
}

#[test]
fn top_savings_rank_scenarios_by_net_savings() {
    let mut a = analysis();
    let day = NaiveDate::from_ymd_opt(2026, 3, 1).expect("day");
    let s = &mut a.summary;
    s.actual.cost = m("5.84");
    // batch saves $1.85 net; google-ai-pro saves $3.54 on the records its quota covered but
    // costs $16.45 more overall.
    let names: Vec<String> = s.scenarios.iter().map(|x| x.name.clone()).collect();
    for x in &mut s.scenarios {
        x.cost = m("5.84");
    }
    let batch = names.iter().position(|n| n == "batch").expect("batch");
    let plan = names
        .iter()
        .position(|n| n == "google-ai-pro")
        .expect("plan");
    s.scenarios[batch].cost = m("3.99");
    s.scenarios[plan].cost = m("22.29");
    let row = |scenario: &str, via: &str, actual: &str, cost: &str| SavingsRow {
        scenario: scenario.to_string(),
        day,
        model: "gemini-3-pro-image".to_string(),
        via: via.to_string(),
        records: 1,
        actual: m(actual),
        cost: m(cost),
    };
    a.savings = vec![
        row("google-ai-pro", "google-ai-pro quota", "3.54", "0"),
        row("batch", "batch tier", "3.7", "1.85"),
    ];
    let r = Report::build(&a);
    let t = first_table(section(&r, "Top savings"));
    assert_eq!(t.rows.len(), 2);
    assert_eq!(t.rows[0][0], Cell::Text("batch".to_string()));
    assert_eq!(t.rows[0][1], Cell::Money(m("1.85")));
    assert_eq!(t.rows[1][0], Cell::Text("google-ai-pro".to_string()));
    assert_eq!(t.rows[1][1], Cell::Money(m("-16.45")));
    assert_eq!(t.rows[1][5], Cell::Money(m("3.54")));
}

#[test]
fn quota_grid_places_days_by_weekday_and_week() {
    let a = analysis();
    let r = Report::build(&a);
    let q = section(&r, "Unused quota: google-ai-pro");
    let grid = q
        .blocks
        .iter()
        .find_map(|b| match b {
            Block::Chart(Chart::QuotaGrid(g)) => Some(g),
            _ => None,
        })
        .expect("grid");
    // 2026-03-01 is a Sunday (row 6 of the week of Monday 02-23), 03-02 the next Monday.
    assert_eq!(
        grid.weeks,
        [
            NaiveDate::from_ymd_opt(2026, 2, 23).expect("d"),
            NaiveDate::from_ymd_opt(2026, 3, 2).expect("d")
        ]
    );
    let at: Vec<(usize, usize)> = grid.cells.iter().map(|c| (c.week, c.weekday)).collect();
    assert_eq!(at, [(0, 6), (1, 0)]);
}

#[test]
fn percentages_round_once_half_even() {
    let d = |s: &str| s.parse::<Decimal>().expect("decimal");
    assert_eq!(percent(d("0.31249")), "31.2%");
    assert_eq!(percent(d("0.31250")), "31.2%");
    assert_eq!(percent(d("0.31350")), "31.4%");
    assert_eq!(percent(d("-2.817778")), "-281.8%");
    assert_eq!(percent(d("-0.0001")), "0.0%");
    assert_eq!(dollars(m("-1234.565")), "-$1,234.56");
    assert_eq!(cents(m("0.4896")), m("0.49"));
}

#[test]
fn quarantined_lines_are_counted_in_words() {
    let mut a = analysis();
    for (n, said) in [
        (1, "1 line was quarantined (see quarantine.jsonl)."),
        (3, "3 lines were quarantined (see quarantine.jsonl)."),
    ] {
        a.summary.input.quarantined = n;
        let f = findings(&a.summary);
        assert_eq!(f.last().map(String::as_str), Some(said), "{f:?}");
    }
}
