//! report.md: what a person reads in a minute. Findings first, then the tables behind them.

use super::{ReportInput, Writer, clean_text};
use crate::analyze::Summary;
use crate::money::Money;
use rust_decimal::Decimal;
use std::fmt::Write as _;
use std::io;
use std::path::Path;

pub struct Markdown;

impl Writer for Markdown {
    fn files(&self) -> &'static [&'static str] {
        &["report.md"]
    }

    fn write(&self, input: &ReportInput<'_>, dir: &Path) -> io::Result<()> {
        std::fs::write(dir.join("report.md"), render(input))
    }
}

/// "$1,234.57": money for sentences, rounded half-even to cents.
/// Cost exports against usage exports, when cost pages were read.
fn billing_section(o: &mut String, r: &crate::analyze::BillingReconciliation) {
    if r.checked == 0 {
        return;
    }
    let _ = writeln!(
        o,
        "\n## Cost exports against usage exports\n\n{} day and project groups checked, {} matched; billed {}, usage at catalog prices {}.\n",
        r.checked,
        r.matched,
        r.billed.display(6),
        r.usage_cost.display(6)
    );
    if r.differences.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "| provider | day (UTC) | project | usage cost | billed | difference |"
    );
    let _ = writeln!(o, "|---|---|---|---:|---:|---:|");
    for d in &r.differences {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} |",
            cell(&d.provider),
            d.day,
            cell(d.project.as_deref().unwrap_or("(none)")),
            d.usage_cost.display(6),
            d.billed.display(6),
            d.difference.display(6)
        );
    }
}

pub fn dollars(m: Money) -> String {
    let s = m.abs().display(2);
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if m.is_negative() && s != "0.00" {
        "-"
    } else {
        ""
    };
    format!("{sign}${grouped}.{frac}")
}

/// A share string ("0.312345") as a percentage with one decimal ("31.2%").
pub fn percent(share: &str) -> String {
    match Money::parse(share) {
        Ok(m) => format!("{}%", (m * Decimal::from(100)).display(1)),
        Err(_) => share.to_string(),
    }
}

fn cell(s: &str) -> String {
    clean_text(s).replace('|', "\\|")
}

pub fn render(input: &ReportInput<'_>) -> String {
    let s: &Summary = &input.analysis.summary;
    let mut o = String::new();
    let _ = writeln!(o, "# reprice report\n");
    let period = match (s.period.start, s.period.end) {
        (Some(a), Some(b)) => format!(
            "{a} to {b} ({}, {})",
            plural(u64::from(s.period.days), "day"),
            s.time_zone
        ),
        _ => "no records".to_string(),
    };
    let _ = writeln!(
        o,
        "Period {period}. {} records from {} files ({} lines: {} duplicates, {} quarantined, {} without usage).\n",
        s.input.records,
        s.input.files,
        s.input.lines,
        s.input.duplicates,
        s.input.quarantined,
        s.input.skipped
    );
    let _ = writeln!(o, "## Findings\n");
    for f in findings(s) {
        let _ = writeln!(o, "- {f}");
    }
    let _ = writeln!(o);

    let _ = writeln!(o, "## Scenarios\n");
    let _ = writeln!(
        o,
        "| scenario | kind | cost | savings | savings % | records changed |"
    );
    let _ = writeln!(o, "|---|---|---:|---:|---:|---:|");
    let _ = writeln!(
        o,
        "| actual | billed | {} | | | |",
        s.actual.cost.display(6)
    );
    for sc in &s.scenarios {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} |",
            cell(&sc.name),
            sc.kind,
            sc.cost.display(6),
            sc.savings.display(6),
            sc.savings_pct.as_deref().map(percent).unwrap_or_default(),
            sc.records_changed
        );
    }
    let fees: Vec<_> = s
        .scenarios
        .iter()
        .filter(|x| !x.fixed_cost.is_zero())
        .collect();
    if !fees.is_empty() {
        let _ = writeln!(o);
        for sc in fees {
            let _ = writeln!(
                o,
                "Plan fee in **{}**: {} for the {} of the period (the monthly fee prorated by day within each month).",
                cell(&sc.name),
                dollars(sc.fixed_cost),
                plural(u64::from(s.period.days), "day")
            );
        }
    }
    let _ = writeln!(o);

    let mut top: Vec<_> = input
        .analysis
        .savings
        .iter()
        .filter(|r| !r.via.is_empty() && r.via != "plan fee")
        .fold(
            std::collections::BTreeMap::<(String, String, String), (u64, Money)>::new(),
            |mut acc, r| {
                let e = acc
                    .entry((r.scenario.clone(), r.model.clone(), r.via.clone()))
                    .or_default();
                e.0 += r.records;
                e.1 += r.actual - r.cost;
                acc
            },
        )
        .into_iter()
        .filter(|(_, (_, sv))| !sv.is_zero())
        .collect();
    top.sort_by(|a, b| b.1.1.cmp(&a.1.1).then_with(|| a.0.cmp(&b.0)));
    if !top.is_empty() {
        let _ = writeln!(o, "## Top savings\n");
        let _ = writeln!(o, "| scenario | model | re-priced on | records | savings |");
        let _ = writeln!(o, "|---|---|---|---:|---:|");
        for ((sc, model, via), (n, sv)) in top.iter().take(10) {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                cell(sc),
                cell(model),
                cell(via),
                n,
                sv.display(6)
            );
        }
        let _ = writeln!(o);
    }
    let misses: Vec<_> = s
        .scenarios
        .iter()
        .flat_map(|sc| sc.not_applied.iter().map(move |n| (sc, n)))
        .collect();
    if !misses.is_empty() {
        let _ = writeln!(o, "### Records a scenario could not change\n");
        let _ = writeln!(o, "| scenario | model | reason | records |");
        let _ = writeln!(o, "|---|---|---|---:|");
        for (sc, n) in misses {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} |",
                cell(&sc.name),
                cell(&n.model),
                cell(&n.reason),
                n.records
            );
        }
        let _ = writeln!(o);
    }

    let _ = writeln!(o, "## Cost by model\n");
    let _ = writeln!(
        o,
        "| model | records | images | input tokens | output tokens | thinking tokens | cost |"
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|---:|");
    for m in &s.models {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} |",
            cell(&m.model),
            m.records,
            m.images,
            m.input_tokens,
            m.output_tokens,
            m.thinking_tokens,
            m.cost.display(6)
        );
    }
    let _ = writeln!(o, "\n## Cost by key\n");
    let _ = writeln!(o, "| key | records | cost |");
    let _ = writeln!(o, "|---|---:|---:|");
    for k in &s.keys {
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            cell(&k.key),
            k.records,
            k.cost.display(6)
        );
    }

    let w = &s.waste;
    let _ = writeln!(o, "\n## Waste\n");
    let _ = writeln!(o, "| what | requests | cost |");
    let _ = writeln!(o, "|---|---:|---:|");
    let _ = writeln!(
        o,
        "| failed but billed | {} | {} |",
        w.failed_billed_requests,
        w.failed_billed_cost.display(6)
    );
    let _ = writeln!(
        o,
        "| rejected by content policy but billed | {} | {} |",
        w.rejected_billed_requests,
        w.rejected_billed_cost.display(6)
    );
    let _ = writeln!(
        o,
        "| superseded by a retry | {} | {} |",
        w.retry_billed_requests,
        w.retry_billed_cost.display(6)
    );
    let _ = writeln!(o, "| thinking tokens | | {} |", w.thinking_cost.display(6));
    let _ = writeln!(
        o,
        "| search and grounding extras | | {} |",
        w.extras_cost.display(6)
    );
    if !w.thinking_by_model.is_empty() {
        let _ = writeln!(
            o,
            "\n| model | thinking tokens | thinking cost | share of model cost |"
        );
        let _ = writeln!(o, "|---|---:|---:|---:|");
        for t in &w.thinking_by_model {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} |",
                cell(&t.model),
                t.thinking_tokens,
                t.thinking_cost.display(6),
                t.share.as_deref().map(percent).unwrap_or_default()
            );
        }
    }
    for q in &w.unused_quota {
        let _ = writeln!(
            o,
            "\n### Unused quota: {}\n\n{} of {} units unused over {} days ({}), worth {} of the fee.\n",
            cell(&q.plan),
            q.unused_units,
            q.quota_units,
            q.days,
            percent(&q.unused_share),
            dollars(q.unused_value)
        );
        let _ = writeln!(
            o,
            "| weekday | days | quota | unused | share of period quota |"
        );
        let _ = writeln!(o, "|---|---:|---:|---:|---:|");
        for d in &q.by_weekday {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                d.weekday,
                d.days,
                d.quota_units,
                d.unused_units,
                percent(&d.share_of_quota)
            );
        }
    }
    if !s.break_even.is_empty() {
        let _ = writeln!(o, "\n## Break-even\n");
        let _ = writeln!(
            o,
            "| plan | model | size | observed price per unit | units | plan is cheaper above (units/month) |"
        );
        let _ = writeln!(o, "|---|---|---|---:|---:|---:|");
        for b in &s.break_even {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} |",
                cell(&b.plan),
                cell(&b.model),
                b.size.as_deref().unwrap_or(""),
                b.unit_price.display(6),
                b.observed_units,
                b.units_per_month
            );
        }
    }
    let r = &s.reconciliation;
    if r.checked > 0 {
        let _ = writeln!(
            o,
            "\n## Balance reconciliation\n\n{} balance changes checked, {} matched the billed cost; unexplained drops {}, top-ups {}.\n",
            r.checked,
            r.matched,
            dollars(r.unexplained),
            dollars(r.top_ups)
        );
        if !r.gaps.is_empty() {
            let _ = writeln!(
                o,
                "| key | time | kind | billed | balance before | balance after | amount |"
            );
            let _ = writeln!(o, "|---|---|---|---:|---:|---:|---:|");
            for g in &r.gaps {
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | {} | {} | {} | {} |",
                    cell(&g.key),
                    g.time.to_rfc3339(),
                    g.kind,
                    g.billed.display(6),
                    g.balance_before.display(6),
                    g.balance_after.display(6),
                    g.amount.display(6)
                );
            }
        }
    }
    billing_section(&mut o, &s.billing);
    let b = &s.budget;
    if !b.days_over_cap.is_empty() || !b.months_over_budget.is_empty() {
        let _ = writeln!(o, "\n## Budgets\n");
        for d in &b.days_over_cap {
            let _ = writeln!(
                o,
                "- {} on {}: spent {} against a daily cap of {}",
                cell(&d.key),
                d.day,
                dollars(d.spent),
                dollars(d.cap)
            );
        }
        for m in &b.months_over_budget {
            let _ = writeln!(
                o,
                "- {}: spent {} against a monthly budget of {}",
                m.month,
                dollars(m.spent),
                dollars(m.budget)
            );
        }
    }
    if !s.unknown_models.is_empty() || !s.unpriced.is_empty() {
        let _ = writeln!(o, "\n## Not priced by the catalog\n");
        for u in &s.unknown_models {
            let _ = writeln!(
                o,
                "- unknown model `{}`: {} records",
                cell(&u.model),
                u.records
            );
        }
        for u in &s.unpriced {
            let _ = writeln!(
                o,
                "- {}: {} ({} records)",
                cell(&u.model),
                cell(&u.reason),
                u.records
            );
        }
    }
    if !s.price_changes.is_empty() {
        let _ = writeln!(o, "\n## Price changes in the period\n");
        let _ = writeln!(
            o,
            "| model | new price from | records before | records from | source |"
        );
        let _ = writeln!(o, "|---|---|---:|---:|---|");
        for c in &s.price_changes {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                cell(&c.model),
                c.effective,
                c.records_before,
                c.records_from,
                cell(&c.source)
            );
        }
    }
    if !s.warnings.is_empty() {
        let _ = writeln!(o, "\n## Warnings\n");
        for w in &s.warnings {
            let _ = writeln!(o, "- {}", cell(w));
        }
    }
    o
}

/// Plain-language findings, most money first.
/// How much of the usage no figure includes, first: every total below is short by it.
fn unpriced_finding(s: &Summary) -> Option<String> {
    let n: u64 = s.unpriced.iter().map(|u| u.records).sum();
    if n == 0 {
        return None;
    }
    let share = match s.input.records {
        0 => String::new(),
        all => percent(&crate::money::share_text(
            rust_decimal::Decimal::from(n) / rust_decimal::Decimal::from(all),
            6,
        )),
    };
    let which = s
        .unpriced
        .iter()
        .map(|u| format!("{} of {} ({})", u.records, cell(&u.model), cell(&u.reason)))
        .collect::<Vec<_>>()
        .join("; ");
    Some(format!(
        "{n} of {} records ({share}) could not be priced and are in no cost below: {which}.",
        s.input.records
    ))
}

pub fn findings(s: &Summary) -> Vec<String> {
    let mut out = Vec::new();
    out.extend(unpriced_finding(s));
    out.push(format!(
        "Billed {} for {} requests ({} from the logs' own cost fields, {} at catalog prices).",
        dollars(s.actual.cost),
        s.input.records,
        dollars(s.actual.billed_in_logs),
        dollars(s.actual.computed_from_catalog)
    ));
    let mut best: Vec<_> = s
        .scenarios
        .iter()
        .filter(|x| x.savings > Money::ZERO)
        .collect();
    best.sort_by(|a, b| b.savings.cmp(&a.savings).then_with(|| a.name.cmp(&b.name)));
    for sc in best.iter().take(3) {
        let share = sc
            .changed_actual_cost
            .share_of(s.actual.cost)
            .map(|d| percent(&crate::money::share_text(d, 6)))
            .unwrap_or_default();
        let n = plural(sc.records_changed, "request");
        let what = match sc.kind.as_str() {
            "batch" => format!("moving the {n} with a batch tier ({share} of spend) to it"),
            "subscription" => format!(
                "the {} plan (covering {n}, {share} of spend)",
                cell(&sc.name)
            ),
            "cheapest" => format!(
                "switching {n} ({share} of spend) to the cheapest catalog model of the same kind and size"
            ),
            _ => format!(
                "scenario {} ({n} re-priced, {share} of spend)",
                cell(&sc.name)
            ),
        };
        // Two scenarios of one kind read alike; name the scenario unless its name is the kind.
        let what = if sc.name == sc.kind || sc.kind == "substitute" {
            what
        } else {
            format!("{what} (scenario {})", cell(&sc.name))
        };
        out.push(format!(
            "{} would have saved {} ({}): {} instead of {}.",
            capitalize(&what),
            dollars(sc.savings),
            sc.savings_pct.as_deref().map(percent).unwrap_or_default(),
            dollars(sc.cost),
            dollars(s.actual.cost)
        ));
    }
    for sc in s
        .scenarios
        .iter()
        .filter(|x| x.savings < Money::ZERO && x.kind == "subscription")
    {
        out.push(format!(
            "The {} plan would have cost {} more than pay-as-you-go.",
            sc.name,
            dollars(-sc.savings)
        ));
    }
    for q in &s.waste.unused_quota {
        out.push(format!(
            "{} would have left {} of its {} quota units unused ({}), worth {} of its fee.",
            q.plan,
            q.unused_units,
            q.quota_units,
            percent(&q.unused_share),
            dollars(q.unused_value)
        ));
    }
    let w = &s.waste;
    let billed_waste = w.failed_billed_cost + w.rejected_billed_cost + w.retry_billed_cost;
    if !billed_waste.is_zero() {
        out.push(format!(
            "{} was billed for requests that produced nothing usable: {} failed, {} rejected by content policy, {} superseded by retries.",
            dollars(billed_waste), dollars(w.failed_billed_cost), dollars(w.rejected_billed_cost), dollars(w.retry_billed_cost)
        ));
    }
    if !w.thinking_cost.is_zero() {
        let share = w
            .thinking_cost
            .share_of(s.actual.cost)
            .map(|d| percent(&crate::money::share_text(d, 6)))
            .unwrap_or_default();
        out.push(format!(
            "Thinking tokens cost {} ({} of the bill).",
            dollars(w.thinking_cost),
            share
        ));
    }
    if !s.reconciliation.unexplained.is_zero() {
        out.push(format!(
            "Balances dropped {} more than the logged costs explain (gaps: {}).",
            dollars(s.reconciliation.unexplained),
            s.reconciliation
                .gaps
                .iter()
                .filter(|g| g.kind == "gap")
                .count()
        ));
    }
    if !s.unknown_models.is_empty() {
        let n: u64 = s.unknown_models.iter().map(|u| u.records).sum();
        out.push(format!(
            "{} use models the catalog does not know ({}).",
            plural(n, "record"),
            s.unknown_models
                .iter()
                .map(|u| cell(&u.model))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if s.input.quarantined > 0 {
        out.push(format!(
            "{} lines were quarantined (see quarantine.jsonl).",
            s.input.quarantined
        ));
    }
    if s.budget.latest_day_exceeded {
        out.push("The latest day went over a budget cap.".to_string());
    }
    out
}

/// "1 request", "2 requests".
pub fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
