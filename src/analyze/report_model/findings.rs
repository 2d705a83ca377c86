//! Plain-language findings, most money first. Each finding is one function of the summary;
//! adding one is adding it to [`FINDINGS`].

use super::{cents, dollars, percent, plural, share, shown};
use crate::analyze::{ScenarioSummary, Summary};
use crate::money::Money;

type Finding = fn(&Summary) -> Vec<String>;

/// In the order report.md and report.html list them.
const FINDINGS: &[Finding] = &[
    unpriced,
    cost,
    super::counting::counting_findings,
    best_scenarios,
    dearer_plans,
    unused_quota,
    billed_waste,
    thinking,
    balances,
    unknown_models,
    quarantined,
    budget,
];

pub fn findings(s: &Summary) -> Vec<String> {
    FINDINGS.iter().flat_map(|f| f(s)).collect()
}

/// The total in cents, and its parts: what the logs billed and what was estimated at list
/// prices, the second derived from the first two so the parts add up to the total shown.
pub fn cost_split(s: &Summary) -> (Money, Money, Money) {
    let total = cents(s.actual.cost);
    let billed = cents(s.actual.billed_in_logs);
    (total, billed, total - billed)
}

/// What a scenario saves as a sentence says it: the shown total less the scenario's shown
/// cost, in cents. The findings, the summary card and the last line on stderr all give this.
pub fn saving_in_cents(s: &Summary, sc: &ScenarioSummary) -> Money {
    cents(s.actual.cost) - cents(sc.cost)
}

/// The total's two parts, as the findings and the summary card word them.
pub fn cost_parts(s: &Summary) -> String {
    let (_, billed, estimated) = cost_split(s);
    format!(
        "{} as billed in the logs, {} estimated at list prices",
        dollars(billed),
        dollars(estimated)
    )
}

/// How much of the usage no figure includes, first: every total below is short by it.
fn unpriced(s: &Summary) -> Vec<String> {
    let n: u64 = s.unpriced.iter().map(|u| u.records).sum();
    if n == 0 {
        return Vec::new();
    }
    let of_records = units_share(n, s.input.records);
    let which = s
        .unpriced
        .iter()
        .map(|u| format!("{} of {} ({})", u.records, u.model, u.reason))
        .collect::<Vec<_>>()
        .join("; ");
    vec![format!(
        "{n} of {} records ({of_records}) could not be priced and are in no cost below: {which}.",
        s.input.records
    )]
}

fn cost(s: &Summary) -> Vec<String> {
    vec![format!(
        "Cost {} for {} ({}).",
        dollars(s.actual.cost),
        plural(s.input.records, "request"),
        cost_parts(s)
    )]
}

/// The scenario's savings as the scenarios table shows them: shown actual minus shown cost.
pub fn shown_savings(s: &Summary, sc: &ScenarioSummary) -> (Money, Option<rust_decimal::Decimal>) {
    let actual = shown(s.actual.cost);
    let savings = actual - shown(sc.cost);
    (savings, share(savings, actual))
}

fn best_scenarios(s: &Summary) -> Vec<String> {
    let mut best: Vec<_> = s
        .scenarios
        .iter()
        .filter(|x| x.savings > Money::ZERO)
        .collect();
    best.sort_by(|a, b| b.savings.cmp(&a.savings).then_with(|| a.name.cmp(&b.name)));
    let mut out = Vec::new();
    // The three best, and every cheapest scenario: its finding states the quality rule it kept.
    let listed = best
        .iter()
        .enumerate()
        .filter(|(k, sc)| *k < 3 || sc.kind == "cheapest")
        .map(|(_, sc)| sc);
    for sc in listed {
        let of_spend = share(shown(sc.changed_actual_cost), shown(s.actual.cost))
            .map(percent)
            .unwrap_or_default();
        let n = plural(sc.records_changed, "request");
        let what = match sc.kind.as_str() {
            "batch" => format!("moving the {n} with a batch tier ({of_spend} of spend) to it"),
            "subscription" => format!("the {} plan (covering {n}, {of_spend} of spend)", sc.name),
            "cheapest" => format!(
                "switching {n} ({of_spend} of spend) to the cheapest catalog model of the same kind and size{}",
                sc.rule
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ),
            _ => format!("scenario {} ({n} re-priced, {of_spend} of spend)", sc.name),
        };
        // Two scenarios of one kind read alike; name the scenario unless its name is the kind.
        let what = if sc.name == sc.kind || sc.kind == "substitute" {
            what
        } else {
            format!("{what} (scenario {})", sc.name)
        };
        let (actual, cost) = (cents(s.actual.cost), cents(sc.cost));
        let (_, pct) = shown_savings(s, sc);
        out.push(format!(
            "{} would have saved {} ({}): {} instead of {}.",
            capitalize(&what),
            dollars(saving_in_cents(s, sc)),
            pct.map(percent).unwrap_or_default(),
            dollars(cost),
            dollars(actual)
        ));
    }
    out
}

fn dearer_plans(s: &Summary) -> Vec<String> {
    s.scenarios
        .iter()
        .filter(|x| x.savings < Money::ZERO && x.kind == "subscription")
        .map(|sc| {
            format!(
                "The {} plan{} would have cost {} more than pay-as-you-go.",
                sc.name,
                match sc.seats {
                    Some(n) if n > 1 => format!(" ({n} seats)"),
                    _ => String::new(),
                },
                dollars(cents(sc.cost) - cents(s.actual.cost))
            )
        })
        .collect()
}

fn unused_quota(s: &Summary) -> Vec<String> {
    s.waste
        .unused_quota
        .iter()
        .map(|q| {
            let who = match (q.scenario == q.plan, q.seats) {
                (true, 1) => q.plan.clone(),
                (true, n) => format!("{} ({n} seats)", q.plan),
                (false, 1) => format!("{} in scenario {}", q.plan, q.scenario),
                (false, n) => format!("{} in scenario {} ({n} seats)", q.plan, q.scenario),
            };
            format!(
                "{} would have left {} of its {} quota units unused ({}), worth {} of its fee.",
                who,
                q.unused_units,
                q.quota_units,
                units_share(q.unused_units, q.quota_units),
                dollars(q.unused_value)
            )
        })
        .collect()
}

/// `part / whole` of two unit counts as a percentage.
pub fn units_share(part: u64, whole: u64) -> String {
    share(
        Money::from_decimal(part.into()),
        Money::from_decimal(whole.into()),
    )
    .map(percent)
    .unwrap_or_default()
}

fn billed_waste(s: &Summary) -> Vec<String> {
    let w = &s.waste;
    let parts = [
        cents(w.failed_billed_cost),
        cents(w.rejected_billed_cost),
        cents(w.superseded_billed_cost),
    ];
    let total: Money = parts.iter().sum();
    let exact = w.failed_billed_cost + w.rejected_billed_cost + w.superseded_billed_cost;
    if exact.is_zero() {
        return Vec::new();
    }
    // The total is the sum of the parts as shown, so the sentence adds up.
    vec![format!(
        "{} was billed for requests that produced nothing usable: {} failed, {} rejected by content policy, {} superseded by retries.",
        dollars(total),
        dollars(parts[0]),
        dollars(parts[1]),
        dollars(parts[2])
    )]
}

fn thinking(s: &Summary) -> Vec<String> {
    let w = &s.waste;
    if w.thinking_cost.is_zero() {
        return Vec::new();
    }
    let of_bill = share(shown(w.thinking_cost), shown(s.actual.cost))
        .map(percent)
        .unwrap_or_default();
    vec![format!(
        "Thinking tokens cost {} ({of_bill} of the cost).",
        dollars(w.thinking_cost)
    )]
}

fn balances(s: &Summary) -> Vec<String> {
    let r = &s.reconciliation;
    if r.unexplained.is_zero() {
        return Vec::new();
    }
    let gaps = r.gaps.iter().filter(|g| g.kind == "gap").count() as u64
        + r.other_gaps.as_ref().map_or(0, |o| o.gaps);
    vec![format!(
        "Balances dropped {} more than the logged costs explain (gaps: {gaps}).",
        dollars(r.unexplained)
    )]
}

fn unknown_models(s: &Summary) -> Vec<String> {
    if s.unknown_models.is_empty() {
        return Vec::new();
    }
    let n: u64 = s.unknown_models.iter().map(|u| u.records).sum();
    vec![format!(
        "{} {} models the catalog does not know ({}).",
        plural(n, "record"),
        if n == 1 { "uses" } else { "use" },
        s.unknown_models
            .iter()
            .map(|u| u.model.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )]
}

fn quarantined(s: &Summary) -> Vec<String> {
    if s.input.quarantined == 0 {
        return Vec::new();
    }
    let n = s.input.quarantined;
    let were = if n == 1 { "was" } else { "were" };
    vec![format!(
        "{} {were} quarantined (see quarantine.jsonl).",
        plural(n, "line")
    )]
}

fn budget(s: &Summary) -> Vec<String> {
    if !s.budget.latest_day_exceeded {
        return Vec::new();
    }
    vec!["The latest day went over a budget cap.".to_string()]
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
