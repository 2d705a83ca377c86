//! report.html: the findings and tables of report.md with inline SVG charts, in one file that
//! opens offline (no scripts, fonts or images from anywhere else) and prints. Every text that
//! came from logs goes through `text` (control characters removed, then escaped). Chart
//! geometry is computed in `Decimal` so the same input gives byte-identical output on every
//! machine.

use super::markdown::{dollars, findings, percent};
use super::{ReportInput, Writer, clean_text};
use crate::analyze::{Analysis, Summary};
use crate::money::Money;
use rust_decimal::{Decimal, RoundingStrategy};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io;
use std::path::Path;

pub struct Html;

impl Writer for Html {
    fn files(&self) -> &'static [&'static str] {
        &["report.html"]
    }

    fn write(&self, input: &ReportInput<'_>, dir: &Path) -> io::Result<()> {
        std::fs::write(dir.join("report.html"), render(input.analysis))
    }
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Text from logs, made safe for the page.
fn text(s: &str) -> String {
    escape(&clean_text(s))
}

/// Long model and key names would push the bars off the chart; the full name stays in the
/// tooltip and the table.
fn short(s: &str, max: usize) -> String {
    let s = clean_text(s);
    if s.chars().count() <= max {
        escape(&s)
    } else {
        let head: String = s.chars().take(max.saturating_sub(1)).collect();
        escape(&format!("{head}\u{2026}"))
    }
}

fn money(m: Money) -> String {
    m.display(6)
}

/// Okabe-Ito colours (distinguishable with the common colour-vision deficiencies), then a few
/// more for long scenario lists.
const PALETTE: [&str; 10] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#882255", "#44AA99",
    "#999933", "#777777",
];
const ACTUAL_COLOR: &str = "#1b1f24";
const BAR_COLOR: &str = "#0072B2";
const GOOD_COLOR: &str = "#009E73";
const BAD_COLOR: &str = "#D55E00";

/// Charts of models and keys show the largest ones; the tables list them all.
const MAX_BARS: usize = 20;

const CSS: &str = r#":root{--fg:#1b1f24;--muted:#5b6470;--line:#d9dee4}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:#f3f5f7}
main{max-width:1180px;margin:0 auto;padding:24px 32px 48px;background:#fff}
h1{font-size:26px;margin:0 0 4px}
h2{font-size:19px;margin:34px 0 10px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:16px;margin:20px 0 8px}
.meta,.note{color:var(--muted);margin:0 0 12px}
.note{font-size:13px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:160px}
.card b{display:block;font-size:20px}
.card span{color:var(--muted);font-size:13px}
ul.findings li{margin:3px 0}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:8px 28px}
figure{margin:8px 0 16px}
figcaption{font-weight:600;margin-bottom:4px}
svg.chart{max-width:100%;height:auto;display:block;overflow:visible}
svg text{font-size:11px;fill:#333}
svg .axis{stroke:#8a939d;stroke-width:1}
svg .grid-line{stroke:#e5e8ec;stroke-width:1}
.legend{list-style:none;padding:0;margin:0 0 6px;display:flex;flex-wrap:wrap;gap:2px 16px;font-size:13px}
.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:13.5px;margin:6px 0 16px}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#eef1f4;white-space:nowrap}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.neg{color:#b3261e}
.js th{cursor:pointer}
.js th:hover{background:#e2e7ec}
th[aria-sort=ascending]::after{content:" \25B2"}
th[aria-sort=descending]::after{content:" \25BC"}
.hint{display:none}
.js .hint{display:block}
@media print{
body{background:#fff;font-size:10.5pt}
main{max-width:none;padding:0}
.grid{display:block}
figure,tr,.card{break-inside:avoid}
h2,h3,figcaption{break-after:avoid}
.hint{display:none!important}
th[aria-sort]::after{content:""}
.scroll{overflow:visible}
}"#;

/// Sorting on header click; the tables read fine without it. Numbers sort by the exact value in
/// `data-v`, everything else as text.
const JS: &str = r#"document.documentElement.classList.add("js");
document.querySelectorAll("table.sortable th").forEach(function(th){
th.tabIndex=0;
function sort(){var t=th.closest("table"),b=t.tBodies[0],i=th.cellIndex,n=th.classList.contains("num"),d=th.getAttribute("aria-sort")==="ascending"?-1:1;
t.querySelectorAll("th").forEach(function(h){h.removeAttribute("aria-sort")});
th.setAttribute("aria-sort",d===1?"ascending":"descending");
function v(r){var c=r.cells[i];return c?(c.dataset.v!==undefined?c.dataset.v:c.textContent):""}
Array.from(b.rows).sort(function(x,y){var p=v(x),q=v(y);return d*(n?(parseFloat(p)||0)-(parseFloat(q)||0):p.localeCompare(q))}).forEach(function(r){b.appendChild(r)})}
th.addEventListener("click",sort);
th.addEventListener("keydown",function(e){if(e.key==="Enter"){sort()}})});"#;

/// Standard base64 of `bytes`, for the script hash in the Content-Security-Policy.
fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut o = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                o.push(char::from(T[((n >> (18 - 6 * k)) & 63) as usize]));
            } else {
                o.push('=');
            }
        }
    }
    o
}

pub fn render(a: &Analysis) -> String {
    let s = &a.summary;
    let mut o = String::new();
    // The policy forbids every network load and every script but ours, so even a name that
    // slipped past escaping could not fetch or run anything.
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{}'",
        base64(&Sha256::digest(JS.as_bytes()))
    );
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>reprice report</title>\n<style>\n{CSS}\n</style>\n</head>\n<body>\n<main>\n"
    );
    header(&mut o, s);
    daily_section(&mut o, a);
    scenarios_section(&mut o, s);
    spend_section(&mut o, s);
    waste_section(&mut o, s);
    extra_sections(&mut o, s);
    daily_table(&mut o, a);
    let _ = write!(o, "</main>\n<script>{JS}</script>\n</body>\n</html>\n");
    o
}

fn header(o: &mut String, s: &Summary) {
    let _ = writeln!(o, "<h1>reprice report</h1>");
    let period = match (s.period.start, s.period.end) {
        (Some(a), Some(b)) => format!(
            "{a} to {b} ({} days, time zone {})",
            s.period.days,
            text(&s.time_zone)
        ),
        _ => "no records".to_string(),
    };
    let _ = writeln!(
        o,
        "<p class=\"meta\">Period {period}. {} records from {} files ({} lines: {} duplicates, {} quarantined, {} without usage). Amounts in {}.</p>",
        s.input.records,
        s.input.files,
        s.input.lines,
        s.input.duplicates,
        s.input.quarantined,
        s.input.skipped,
        text(&s.currency)
    );
    let _ = writeln!(
        o,
        "<p class=\"note hint\">Click a column header to sort a table by it.</p>\n<div class=\"cards\">"
    );
    card(o, &dollars(s.actual.cost), "billed");
    card(o, &s.input.records.to_string(), "requests");
    card(o, &s.actual.images.to_string(), "images");
    if let Some(best) = s
        .scenarios
        .iter()
        .max_by(|x, y| x.savings.cmp(&y.savings).then_with(|| y.name.cmp(&x.name)))
    {
        card(
            o,
            &dollars(best.savings),
            &format!("best scenario: {}", text(&best.name)),
        );
    }
    let _ = writeln!(o, "</div>");
    let _ = writeln!(o, "<h2>Findings</h2>\n<ul class=\"findings\">");
    for f in findings(s) {
        let _ = writeln!(o, "<li>{}</li>", text(&f));
    }
    let _ = writeln!(o, "</ul>");
}

fn card(o: &mut String, value: &str, label_html: &str) {
    let _ = writeln!(
        o,
        "<div class=\"card\"><b>{}</b><span>{label_html}</span></div>",
        escape(value)
    );
}

fn daily_section(o: &mut String, a: &Analysis) {
    let s = &a.summary;
    let _ = writeln!(o, "<h2>Daily cost</h2>");
    let mut names = vec!["actual".to_string()];
    names.extend(s.scenarios.iter().map(|x| x.name.clone()));
    let labels: Vec<String> = a.by_day.iter().map(|d| d.day.to_string()).collect();
    let mut series: Vec<Vec<Money>> = vec![a.by_day.iter().map(|d| d.actual).collect()];
    for i in 0..s.scenarios.len() {
        series.push(
            a.by_day
                .iter()
                .map(|d| d.scenarios.get(i).copied().unwrap_or(Money::ZERO))
                .collect(),
        );
    }
    let _ = writeln!(
        o,
        "<figure><figcaption>Cost per day, actual and under each scenario ({})</figcaption>",
        text(&s.currency)
    );
    legend(o, &names, true);
    o.push_str(&line_chart(
        "chart-daily",
        "Cost per day, actual and under each scenario",
        &labels,
        &names,
        &series,
    ));
    let _ = writeln!(
        o,
        "</figure>\n<p class=\"note\">Subscription scenarios include the plan fee prorated onto each day.</p>"
    );
}

fn scenarios_section(o: &mut String, s: &Summary) {
    let _ = writeln!(o, "<h2>Scenarios</h2>");
    let bars: Vec<Bar> = s
        .scenarios
        .iter()
        .map(|x| Bar {
            label: x.name.clone(),
            value: x.savings,
            color: if x.savings.is_negative() {
                BAD_COLOR
            } else {
                GOOD_COLOR
            },
        })
        .collect();
    let _ = writeln!(
        o,
        "<figure><figcaption>Savings per scenario against the actual bill ({}; below zero: the scenario costs more)</figcaption>",
        text(&s.currency)
    );
    o.push_str(&hbar_chart("chart-savings", "Savings per scenario", &bars));
    let _ = writeln!(o, "</figure>");
    table_start(
        o,
        &[
            ("scenario", false),
            ("kind", false),
            ("cost", true),
            ("plan fee", true),
            ("savings", true),
            ("savings %", true),
            ("records changed", true),
        ],
    );
    let _ = writeln!(
        o,
        "<tr><td>actual</td><td>billed</td>{}<td></td><td></td><td></td><td></td></tr>",
        money_cell(s.actual.cost)
    );
    for x in &s.scenarios {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td>{}{}{}{}{}</tr>",
            text(&x.name),
            text(&x.kind),
            money_cell(x.cost),
            money_cell(x.fixed_cost),
            money_cell(x.savings),
            share_cell(x.savings_pct.as_deref()),
            int_cell(x.records_changed)
        );
    }
    table_end(o);
    let misses: Vec<_> = s
        .scenarios
        .iter()
        .flat_map(|x| x.not_applied.iter().map(move |n| (x, n)))
        .collect();
    if !misses.is_empty() {
        let _ = writeln!(o, "<h3>Records a scenario could not change</h3>");
        table_start(
            o,
            &[
                ("scenario", false),
                ("model", false),
                ("reason", false),
                ("records", true),
            ],
        );
        for (x, n) in misses {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td>{}</tr>",
                text(&x.name),
                text(&n.model),
                text(&n.reason),
                int_cell(n.records)
            );
        }
        table_end(o);
    }
}

fn spend_section(o: &mut String, s: &Summary) {
    let _ = writeln!(o, "<h2>Where the money went</h2>\n<div class=\"grid\">");
    let models: Vec<Bar> = s
        .models
        .iter()
        .take(MAX_BARS)
        .map(|m| Bar {
            label: m.model.clone(),
            value: m.cost,
            color: BAR_COLOR,
        })
        .collect();
    let keys: Vec<Bar> = s
        .keys
        .iter()
        .take(MAX_BARS)
        .map(|k| Bar {
            label: k.key.clone(),
            value: k.cost,
            color: PALETTE[1],
        })
        .collect();
    let _ = writeln!(
        o,
        "<figure><figcaption>Cost by model ({}{})</figcaption>",
        text(&s.currency),
        top_note(s.models.len())
    );
    o.push_str(&hbar_chart("chart-models", "Cost by model", &models));
    let _ = writeln!(
        o,
        "</figure>\n<figure><figcaption>Cost by key ({}{})</figcaption>",
        text(&s.currency),
        top_note(s.keys.len())
    );
    o.push_str(&hbar_chart("chart-keys", "Cost by key", &keys));
    let _ = writeln!(o, "</figure>\n</div>");
    let _ = writeln!(o, "<h3>Cost by model</h3>");
    table_start(
        o,
        &[
            ("model", false),
            ("records", true),
            ("images", true),
            ("input tokens", true),
            ("output tokens", true),
            ("thinking tokens", true),
            ("cost", true),
        ],
    );
    for m in &s.models {
        let _ = writeln!(
            o,
            "<tr><td>{}</td>{}{}{}{}{}{}</tr>",
            text(&m.model),
            int_cell(m.records),
            int_cell(m.images),
            int_cell(m.input_tokens),
            int_cell(m.output_tokens),
            int_cell(m.thinking_tokens),
            money_cell(m.cost)
        );
    }
    table_end(o);
    let _ = writeln!(o, "<h3>Cost by key</h3>");
    table_start(o, &[("key", false), ("records", true), ("cost", true)]);
    for k in &s.keys {
        let _ = writeln!(
            o,
            "<tr><td>{}</td>{}{}</tr>",
            text(&k.key),
            int_cell(k.records),
            money_cell(k.cost)
        );
    }
    table_end(o);
}

fn top_note(n: usize) -> String {
    if n > MAX_BARS {
        format!("; the {MAX_BARS} largest of {n}, all in the table below")
    } else {
        String::new()
    }
}

fn waste_section(o: &mut String, s: &Summary) {
    let w = &s.waste;
    let _ = writeln!(o, "<h2>Waste</h2>");
    let rows = [
        (
            "failed but billed",
            Some(w.failed_billed_requests),
            w.failed_billed_cost,
        ),
        (
            "rejected but billed",
            Some(w.rejected_billed_requests),
            w.rejected_billed_cost,
        ),
        (
            "superseded by a retry",
            Some(w.retry_billed_requests),
            w.retry_billed_cost,
        ),
        ("thinking tokens", None, w.thinking_cost),
        ("search and grounding extras", None, w.extras_cost),
    ];
    let bars: Vec<Bar> = rows
        .iter()
        .map(|(label, _, cost)| Bar {
            label: (*label).to_string(),
            value: *cost,
            color: BAD_COLOR,
        })
        .collect();
    let _ = writeln!(
        o,
        "<figure><figcaption>Waste by kind ({})</figcaption>",
        text(&s.currency)
    );
    o.push_str(&hbar_chart("chart-waste", "Waste by kind", &bars));
    let _ = writeln!(o, "</figure>");
    table_start(o, &[("what", false), ("requests", true), ("cost", true)]);
    for (label, n, cost) in rows {
        let n = n.map_or_else(|| "<td></td>".to_string(), int_cell);
        let _ = writeln!(o, "<tr><td>{label}</td>{n}{}</tr>", money_cell(cost));
    }
    table_end(o);
    if !w.thinking_by_model.is_empty() {
        table_start(
            o,
            &[
                ("model", false),
                ("thinking tokens", true),
                ("thinking cost", true),
                ("share of model cost", true),
            ],
        );
        for t in &w.thinking_by_model {
            let _ = writeln!(
                o,
                "<tr><td>{}</td>{}{}{}</tr>",
                text(&t.model),
                int_cell(t.thinking_tokens),
                money_cell(t.thinking_cost),
                share_cell(t.share.as_deref())
            );
        }
        table_end(o);
    }

    let _ = writeln!(o, "<h3>Unused subscription quota</h3>");
    let plans: Vec<String> = w.unused_quota.iter().map(|q| q.plan.clone()).collect();
    if plans.is_empty() {
        let _ = writeln!(
            o,
            "<p class=\"note\">No subscription scenario with a daily quota.</p>"
        );
    }
    for q in &w.unused_quota {
        let _ = writeln!(
            o,
            "<p><b>{}</b>: {} of {} units unused over {} days ({}), worth {} of the fee.</p>",
            text(&q.plan),
            q.unused_units,
            q.quota_units,
            q.days,
            percent(&q.unused_share),
            dollars(q.unused_value)
        );
    }
    let days: BTreeSet<_> = w
        .unused_quota
        .iter()
        .flat_map(|q| q.by_day.iter().map(|d| d.day))
        .collect();
    let day_labels: Vec<String> = days.iter().map(|d| d.to_string()).collect();
    let by_day: Vec<Vec<Option<u64>>> = w
        .unused_quota
        .iter()
        .map(|q| {
            days.iter()
                .map(|d| {
                    q.by_day
                        .iter()
                        .find(|x| x.day == *d)
                        .map(|x| x.unused_units)
                })
                .collect()
        })
        .collect();
    // Weekdays in the order the analysis lists them (Monday first).
    let mut weekdays: Vec<String> = Vec::new();
    for q in &w.unused_quota {
        for d in &q.by_weekday {
            if !weekdays.contains(&d.weekday) {
                weekdays.push(d.weekday.clone());
            }
        }
    }
    let by_weekday: Vec<Vec<Option<u64>>> = w
        .unused_quota
        .iter()
        .map(|q| {
            weekdays
                .iter()
                .map(|wd| {
                    q.by_weekday
                        .iter()
                        .find(|x| &x.weekday == wd)
                        .map(|x| x.unused_units)
                })
                .collect()
        })
        .collect();
    let _ = writeln!(
        o,
        "<figure><figcaption>Unused quota units per day</figcaption>"
    );
    legend(o, &plans, false);
    o.push_str(&vbar_chart(
        "chart-unused-day",
        "Unused quota units per day",
        1000,
        &day_labels,
        &plans,
        &by_day,
    ));
    let _ = writeln!(
        o,
        "</figure>\n<figure><figcaption>Unused quota units by weekday (whole period)</figcaption>"
    );
    o.push_str(&vbar_chart(
        "chart-unused-weekday",
        "Unused quota units by weekday",
        560,
        &weekdays,
        &plans,
        &by_weekday,
    ));
    let _ = writeln!(o, "</figure>");
    if !w.unused_quota.is_empty() {
        table_start(
            o,
            &[
                ("plan", false),
                ("weekday", false),
                ("days", true),
                ("quota", true),
                ("unused", true),
                ("share of period quota", true),
            ],
        );
        for q in &w.unused_quota {
            for d in &q.by_weekday {
                let _ = writeln!(
                    o,
                    "<tr><td>{}</td><td>{}</td>{}{}{}{}</tr>",
                    text(&q.plan),
                    text(&d.weekday),
                    int_cell(u64::from(d.days)),
                    int_cell(d.quota_units),
                    int_cell(d.unused_units),
                    share_cell(Some(&d.share_of_quota))
                );
            }
        }
        table_end(o);
    }
}

fn extra_sections(o: &mut String, s: &Summary) {
    if !s.break_even.is_empty() {
        let _ = writeln!(o, "<h2>Break-even</h2>");
        table_start(
            o,
            &[
                ("plan", false),
                ("model", false),
                ("size", false),
                ("observed price per unit", true),
                ("units", true),
                ("plan is cheaper above (units/month)", true),
            ],
        );
        for b in &s.break_even {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td>{}{}<td class=\"num\" data-v=\"{}\">{}</td></tr>",
                text(&b.plan),
                text(&b.model),
                text(b.size.as_deref().unwrap_or("")),
                money_cell(b.unit_price),
                int_cell(b.observed_units),
                text(&b.units_per_month),
                text(&b.units_per_month)
            );
        }
        table_end(o);
    }
    let r = &s.reconciliation;
    if r.checked > 0 {
        let _ = writeln!(
            o,
            "<h2>Balance reconciliation</h2>\n<p>{} balance changes checked, {} matched the billed cost; unexplained drops {}, top-ups {}.</p>",
            r.checked,
            r.matched,
            dollars(r.unexplained),
            dollars(r.top_ups)
        );
        if !r.gaps.is_empty() {
            table_start(
                o,
                &[
                    ("key", false),
                    ("time", false),
                    ("kind", false),
                    ("billed", true),
                    ("balance before", true),
                    ("balance after", true),
                    ("amount", true),
                ],
            );
            for g in &r.gaps {
                let _ = writeln!(
                    o,
                    "<tr><td>{}</td><td>{}</td><td>{}</td>{}{}{}{}</tr>",
                    text(&g.key),
                    g.time.to_rfc3339(),
                    text(&g.kind),
                    money_cell(g.billed),
                    money_cell(g.balance_before),
                    money_cell(g.balance_after),
                    money_cell(g.amount)
                );
            }
            table_end(o);
        }
    }
    billing_section(o, &s.billing);
    let b = &s.budget;
    if !b.days_over_cap.is_empty() || !b.months_over_budget.is_empty() {
        let _ = writeln!(o, "<h2>Budgets</h2>\n<ul>");
        for d in &b.days_over_cap {
            let _ = writeln!(
                o,
                "<li>{} on {}: spent {} against a daily cap of {}</li>",
                text(&d.key),
                d.day,
                dollars(d.spent),
                dollars(d.cap)
            );
        }
        for m in &b.months_over_budget {
            let _ = writeln!(
                o,
                "<li>{}: spent {} against a monthly budget of {}</li>",
                text(&m.month),
                dollars(m.spent),
                dollars(m.budget)
            );
        }
        let _ = writeln!(o, "</ul>");
    }
    if !s.unknown_models.is_empty() || !s.unpriced.is_empty() {
        let _ = writeln!(o, "<h2>Not priced by the catalog</h2>\n<ul>");
        for u in &s.unknown_models {
            let _ = writeln!(
                o,
                "<li>unknown model <code>{}</code>: {} records</li>",
                text(&u.model),
                u.records
            );
        }
        for u in &s.unpriced {
            let _ = writeln!(
                o,
                "<li>{}: {} ({} records)</li>",
                text(&u.model),
                text(&u.reason),
                u.records
            );
        }
        let _ = writeln!(o, "</ul>");
    }
    if !s.warnings.is_empty() {
        let _ = writeln!(o, "<h2>Warnings</h2>\n<ul>");
        for w in &s.warnings {
            let _ = writeln!(o, "<li>{}</li>", text(w));
        }
        let _ = writeln!(o, "</ul>");
    }
}

fn daily_table(o: &mut String, a: &Analysis) {
    if a.by_day.is_empty() {
        return;
    }
    let _ = writeln!(o, "<h2>Cost per day</h2>");
    let mut cols: Vec<(String, bool)> = vec![
        ("day".to_string(), false),
        ("records".to_string(), true),
        ("actual".to_string(), true),
    ];
    cols.extend(a.summary.scenarios.iter().map(|x| (x.name.clone(), true)));
    let cols: Vec<(&str, bool)> = cols.iter().map(|(n, b)| (n.as_str(), *b)).collect();
    table_start(o, &cols);
    for d in &a.by_day {
        let _ = write!(
            o,
            "<tr><td>{}</td>{}{}",
            d.day,
            int_cell(d.records),
            money_cell(d.actual)
        );
        for c in &d.scenarios {
            o.push_str(&money_cell(*c));
        }
        let _ = writeln!(o, "</tr>");
    }
    table_end(o);
}

fn table_start(o: &mut String, cols: &[(&str, bool)]) {
    let _ = write!(
        o,
        "<div class=\"scroll\"><table class=\"sortable\">\n<thead><tr>"
    );
    for (name, num) in cols {
        if *num {
            let _ = write!(o, "<th class=\"num\">{}</th>", text(name));
        } else {
            let _ = write!(o, "<th>{}</th>", text(name));
        }
    }
    let _ = writeln!(o, "</tr></thead>\n<tbody>");
}

fn table_end(o: &mut String) {
    let _ = writeln!(o, "</tbody>\n</table></div>");
}

fn money_cell(m: Money) -> String {
    let class = if m.is_negative() { "num neg" } else { "num" };
    format!(
        "<td class=\"{class}\" data-v=\"{}\">{}</td>",
        m.exact(),
        money(m)
    )
}

fn int_cell(n: u64) -> String {
    format!("<td class=\"num\" data-v=\"{n}\">{n}</td>")
}

fn share_cell(share: Option<&str>) -> String {
    match share {
        Some(v) => format!(
            "<td class=\"num\" data-v=\"{}\">{}</td>",
            text(v),
            text(&percent(v))
        ),
        None => "<td class=\"num\"></td>".to_string(),
    }
}

fn legend(o: &mut String, names: &[String], first_is_actual: bool) {
    if names.is_empty() {
        return;
    }
    let _ = write!(o, "<ul class=\"legend\">");
    for (i, n) in names.iter().enumerate() {
        let _ = write!(
            o,
            "<li><i style=\"background:{}\"></i>{}</li>",
            series_color(i, first_is_actual),
            text(n)
        );
    }
    let _ = writeln!(o, "</ul>");
}

fn series_color(i: usize, first_is_actual: bool) -> &'static str {
    match (first_is_actual, i) {
        (true, 0) => ACTUAL_COLOR,
        (true, i) => PALETTE[(i - 1) % PALETTE.len()],
        (false, i) => PALETTE[i % PALETTE.len()],
    }
}

/// A value axis from zero (or the lowest negative value) to a round number above the highest.
struct Axis {
    lo: Decimal,
    hi: Decimal,
    step: Decimal,
}

impl Axis {
    fn new(values: impl Iterator<Item = Decimal>) -> Axis {
        let (mut lo, mut hi) = (Decimal::ZERO, Decimal::ZERO);
        for v in values {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        let step = nice_step(hi - lo);
        let lo = (lo / step).floor() * step;
        let mut hi = (hi / step).ceil() * step;
        if hi <= lo {
            hi = lo + step;
        }
        Axis { lo, hi, step }
    }

    /// Where `v` falls on a `px`-long axis, from the low end, to a tenth of a pixel.
    fn pos(&self, v: Decimal, px: u32) -> Decimal {
        let span = self.hi - self.lo;
        let p = (v - self.lo)
            .checked_div(span)
            .and_then(|f| f.checked_mul(Decimal::from(px)))
            .unwrap_or(Decimal::ZERO);
        px_round(p)
    }

    fn ticks(&self) -> Vec<Decimal> {
        let mut out = Vec::new();
        let mut t = self.lo;
        // The step is a tenth of the span or more, so this stops after a dozen ticks.
        while t <= self.hi && out.len() < 50 {
            out.push(t);
            t += self.step;
        }
        out
    }
}

fn px_round(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(1, RoundingStrategy::MidpointNearestEven)
        .normalize()
}

/// A round step (1, 2 or 5 times a power of ten) cutting `span` into about five intervals.
fn nice_step(span: Decimal) -> Decimal {
    let raw = span / Decimal::from(5);
    if raw <= Decimal::ZERO {
        return Decimal::ONE;
    }
    let mut p = Decimal::ONE;
    while p * Decimal::TEN <= raw {
        p *= Decimal::TEN;
    }
    while p > raw {
        let next = p / Decimal::TEN;
        if next.is_zero() {
            break;
        }
        p = next;
    }
    for m in [1u32, 2, 5] {
        let s = p * Decimal::from(m);
        if s >= raw {
            return s;
        }
    }
    p * Decimal::TEN
}

fn tick_text(t: Decimal) -> String {
    let n = t.normalize();
    if n.is_zero() {
        "0".to_string()
    } else {
        n.to_string()
    }
}

fn svg(id: &str, title: &str, w: u32, h: u32, marks: usize, body: &str) -> String {
    format!(
        "<svg id=\"{id}\" class=\"chart\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{}\" data-marks=\"{marks}\">\n{body}</svg>\n",
        escape(title)
    )
}

fn empty_chart(id: &str, title: &str) -> String {
    svg(
        id,
        title,
        480,
        40,
        0,
        "<text x=\"8\" y=\"24\">No data in this period.</text>\n",
    )
}

struct Bar {
    label: String,
    value: Money,
    color: &'static str,
}

/// Horizontal bars with the label left and the value right of the plot.
fn hbar_chart(id: &str, title: &str, bars: &[Bar]) -> String {
    if bars.is_empty() {
        return empty_chart(id, title);
    }
    const W: u32 = 560;
    const LABEL: u32 = 170;
    const VALUE: u32 = 84;
    const ROW: u32 = 22;
    const TOP: u32 = 6;
    let plot = W - LABEL - VALUE;
    let h = TOP + ROW * bars.len() as u32 + 22;
    let axis = Axis::new(bars.iter().map(|b| b.value.decimal()));
    let mut body = String::new();
    let bottom = TOP + ROW * bars.len() as u32;
    for t in axis.ticks() {
        let x = Decimal::from(LABEL) + axis.pos(t, plot);
        let _ = writeln!(
            body,
            "<line class=\"grid-line\" x1=\"{x}\" y1=\"{TOP}\" x2=\"{x}\" y2=\"{bottom}\"/><text x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            bottom + 14,
            tick_text(t)
        );
    }
    let zero = Decimal::from(LABEL) + axis.pos(Decimal::ZERO, plot);
    for (i, b) in bars.iter().enumerate() {
        let y = TOP + ROW * i as u32;
        let v = Decimal::from(LABEL) + axis.pos(b.value.decimal(), plot);
        let (x, w) = if v < zero {
            (v, zero - v)
        } else {
            (zero, v - zero)
        };
        let _ = writeln!(
            body,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
             <rect class=\"mark\" x=\"{x}\" y=\"{}\" width=\"{w}\" height=\"14\" fill=\"{}\"><title>{}: {}</title></rect>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            LABEL - 6,
            y + 15,
            short(&b.label, 26),
            y + 4,
            b.color,
            text(&b.label),
            money(b.value),
            W,
            y + 15,
            money(b.value)
        );
    }
    let _ = writeln!(
        body,
        "<line class=\"axis\" x1=\"{zero}\" y1=\"{TOP}\" x2=\"{zero}\" y2=\"{bottom}\"/>"
    );
    svg(id, title, W, h, bars.len(), &body)
}

const PLOT_LEFT: u32 = 56;
const PLOT_TOP: u32 = 10;

/// Evenly spaced category positions; labels thinned so they do not overlap.
fn x_positions(n: usize, plot: u32) -> Vec<Decimal> {
    let step = Decimal::from(plot) / Decimal::from(n.max(1) as u64);
    (0..n)
        .map(|i| {
            px_round(
                Decimal::from(PLOT_LEFT) + step * (Decimal::from(i as u64) + Decimal::new(5, 1)),
            )
        })
        .collect()
}

fn y_axis(body: &mut String, axis: &Axis, w: u32, plot_h: u32) {
    for t in axis.ticks() {
        let y = Decimal::from(PLOT_TOP + plot_h) - axis.pos(t, plot_h);
        let _ = writeln!(
            body,
            "<line class=\"grid-line\" x1=\"{PLOT_LEFT}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\"/><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            w - 8,
            PLOT_LEFT - 6,
            y + Decimal::from(4),
            tick_text(t)
        );
    }
}

fn x_labels(body: &mut String, labels: &[String], xs: &[Decimal], y: u32, short_dates: bool) {
    let every = labels.len().div_ceil(12).max(1);
    for (i, (l, x)) in labels.iter().zip(xs).enumerate() {
        if i % every != 0 {
            continue;
        }
        // "2026-03-01" reads as "03-01" under the axis; the tooltip keeps the year.
        let shown = if short_dates && l.len() == 10 {
            l.get(5..).unwrap_or(l)
        } else {
            l.as_str()
        };
        let _ = writeln!(
            body,
            "<text x=\"{x}\" y=\"{y}\" text-anchor=\"middle\">{}</text>",
            text(shown)
        );
    }
}

/// One line per series over the categories, a dot per value.
fn line_chart(
    id: &str,
    title: &str,
    labels: &[String],
    names: &[String],
    series: &[Vec<Money>],
) -> String {
    if labels.is_empty() {
        return empty_chart(id, title);
    }
    const W: u32 = 1000;
    const H: u32 = 330;
    let plot_w = W - PLOT_LEFT - 8;
    let plot_h = H - PLOT_TOP - 30;
    let axis = Axis::new(series.iter().flatten().map(|m| m.decimal()));
    let xs = x_positions(labels.len(), plot_w);
    let mut body = String::new();
    y_axis(&mut body, &axis, W, plot_h);
    x_labels(&mut body, labels, &xs, PLOT_TOP + plot_h + 18, true);
    let base = Decimal::from(PLOT_TOP + plot_h);
    let mut marks = 0;
    for (si, values) in series.iter().enumerate() {
        let color = series_color(si, true);
        let width = if si == 0 { "2.5" } else { "1.5" };
        let pts: Vec<String> = values
            .iter()
            .zip(&xs)
            .map(|(v, x)| format!("{x},{}", base - axis.pos(v.decimal(), plot_h)))
            .collect();
        let _ = writeln!(
            body,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"{width}\" points=\"{}\"/>",
            pts.join(" ")
        );
        let name = names.get(si).map(|n| text(n)).unwrap_or_default();
        for ((v, x), l) in values.iter().zip(&xs).zip(labels) {
            let y = base - axis.pos(v.decimal(), plot_h);
            let _ = writeln!(
                body,
                "<circle class=\"mark\" cx=\"{x}\" cy=\"{y}\" r=\"2.5\" fill=\"{color}\"><title>{} {name}: {}</title></circle>",
                text(l),
                money(*v)
            );
            marks += 1;
        }
    }
    let _ = writeln!(
        body,
        "<line class=\"axis\" x1=\"{PLOT_LEFT}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\"/>",
        W - 8
    );
    svg(id, title, W, H, marks, &body)
}

/// Vertical bars per category, one per series side by side; `None` draws nothing.
fn vbar_chart(
    id: &str,
    title: &str,
    w: u32,
    labels: &[String],
    names: &[String],
    series: &[Vec<Option<u64>>],
) -> String {
    if labels.is_empty() || series.is_empty() {
        return empty_chart(id, title);
    }
    const H: u32 = 240;
    let plot_w = w - PLOT_LEFT - 8;
    let plot_h = H - PLOT_TOP - 30;
    let axis = Axis::new(series.iter().flatten().flatten().map(|n| Decimal::from(*n)));
    let xs = x_positions(labels.len(), plot_w);
    let mut body = String::new();
    y_axis(&mut body, &axis, w, plot_h);
    x_labels(&mut body, labels, &xs, PLOT_TOP + plot_h + 18, true);
    let slot = Decimal::from(plot_w) / Decimal::from(labels.len() as u64);
    let group = slot * Decimal::new(8, 1);
    let bar_w = px_round(group / Decimal::from(series.len() as u64));
    let base = Decimal::from(PLOT_TOP + plot_h);
    let mut marks = 0;
    for (si, values) in series.iter().enumerate() {
        let color = series_color(si, false);
        let name = names.get(si).map(|n| text(n)).unwrap_or_default();
        for ((v, x), l) in values.iter().zip(&xs).zip(labels) {
            let Some(v) = v else { continue };
            let h = axis.pos(Decimal::from(*v), plot_h);
            let left = px_round(*x - group / Decimal::TWO + bar_w * Decimal::from(si as u64));
            let _ = writeln!(
                body,
                "<rect class=\"mark\" x=\"{left}\" y=\"{}\" width=\"{bar_w}\" height=\"{h}\" fill=\"{color}\"><title>{} {name}: {v} units unused</title></rect>",
                base - h,
                text(l)
            );
            marks += 1;
        }
    }
    let _ = writeln!(
        body,
        "<line class=\"axis\" x1=\"{PLOT_LEFT}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\"/>",
        w - 8
    );
    svg(id, title, w, H, marks, &body)
}

/// Cost exports against usage exports, when cost pages were read.
fn billing_section(o: &mut String, r: &crate::analyze::BillingReconciliation) {
    if r.checked == 0 {
        return;
    }
    let _ = writeln!(
        o,
        "<h2>Cost exports against usage exports</h2>\n<p>{} day and project groups checked, {} matched; billed {}, usage at catalog prices {}.</p>",
        r.checked,
        r.matched,
        dollars(r.billed),
        dollars(r.usage_cost)
    );
    if r.differences.is_empty() {
        return;
    }
    table_start(
        o,
        &[
            ("provider", false),
            ("day (UTC)", false),
            ("project", false),
            ("usage cost", true),
            ("billed", true),
            ("difference", true),
        ],
    );
    for d in &r.differences {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td>{}{}{}</tr>",
            text(&d.provider),
            d.day,
            text(d.project.as_deref().unwrap_or("(none)")),
            money_cell(d.usage_cost),
            money_cell(d.billed),
            money_cell(d.difference)
        );
    }
    table_end(o);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::{Context, InputCounts, KeyRow, ModelRow, analyze};
    use crate::catalog::Catalog;
    use crate::scenario::ScenarioSet;
    use chrono::NaiveDate;

    const HOSTILE: &str = "<script>alert(1)</script>\u{7}\"'&";

    fn m(s: &str) -> Money {
        Money::parse(s).expect("test amount")
    }

    fn model(name: &str, cost: &str) -> ModelRow {
        ModelRow {
            model: name.to_string(),
            records: 1,
            images: 1,
            input_tokens: 10,
            output_tokens: 20,
            thinking_tokens: 0,
            cost: m(cost),
        }
    }

    /// Two days with the built-in scenarios cut to two (one costs more than the bill, one has a
    /// hostile name), two models (one hostile), one key, and the google-ai-pro quota of the
    /// built-in set (two days, two weekdays). Built by `analyze` on no records, so the summary
    /// has every field the real one has.
    fn analysis() -> Analysis {
        let catalog = Catalog::builtin().expect("catalog");
        let set = ScenarioSet::builtin(&catalog).expect("scenarios");
        let rp = crate::reprice::reprice(&[], &catalog, &set, chrono_tz::Tz::UTC);
        let mut a = analyze(
            &[],
            &rp,
            Context {
                catalog: &catalog,
                set: &set,
                tz_name: "UTC",
                since: NaiveDate::from_ymd_opt(2026, 3, 1),
                until: NaiveDate::from_ymd_opt(2026, 3, 2),
                input: InputCounts::default(),
                warnings: Vec::new(),
            },
        );
        let s = &mut a.summary;
        s.scenarios.truncate(2);
        s.scenarios[0].savings = m("0.5");
        s.scenarios[1].name = "<b>dearer</b>".to_string();
        s.scenarios[1].savings = m("-0.5");
        s.models = vec![model(HOSTILE, "1"), model("flux-1.1-pro", "0.5")];
        s.keys = vec![KeyRow {
            key: "...9f12".to_string(),
            records: 2,
            cost: m("1.5"),
        }];
        for d in &mut a.by_day {
            d.scenarios.truncate(2);
        }
        a
    }

    /// (declared data-marks, `class="mark"` elements) of the chart with this id.
    fn marks(html: &str, id: &str) -> (usize, usize) {
        let start = html
            .find(&format!("<svg id=\"{id}\""))
            .expect("chart present");
        let len = html[start..].find("</svg>").expect("chart closed");
        let chart = &html[start..start + len];
        let declared = chart
            .split("data-marks=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .and_then(|n| n.parse().ok())
            .expect("data-marks");
        (declared, chart.matches("class=\"mark\"").count())
    }

    #[test]
    fn escapes_every_special_character() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(text("a\u{1b}[31m<b>"), "a\u{fffd}[31m&lt;b&gt;");
    }

    #[test]
    fn hostile_names_stay_text() {
        let html = render(&analysis());
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("<b>dearer"));
        assert!(!html.contains('\u{7}'));
        assert_eq!(html.matches("<script").count(), 1);
        assert_eq!(html.matches("</script>").count(), 1);
        // The table cell and the tooltip show the whole name, the bar label its start.
        assert_eq!(
            html.matches("&lt;script&gt;alert(1)&lt;/script&gt;\u{fffd}&quot;&#39;&amp;")
                .count(),
            2
        );
        assert!(html.contains(">&lt;script&gt;alert(1)&lt;/script&gt;\u{2026}</text>"));
        assert!(html.contains("&lt;b&gt;dearer&lt;/b&gt;"));
    }

    #[test]
    fn draws_one_mark_per_value() {
        let html = render(&analysis());
        assert_eq!(marks(&html, "chart-daily"), (6, 6));
        assert_eq!(marks(&html, "chart-savings"), (2, 2));
        assert_eq!(marks(&html, "chart-models"), (2, 2));
        assert_eq!(marks(&html, "chart-keys"), (1, 1));
        assert_eq!(marks(&html, "chart-waste"), (5, 5));
        assert_eq!(marks(&html, "chart-unused-day"), (2, 2));
        assert_eq!(marks(&html, "chart-unused-weekday"), (2, 2));
    }

    #[test]
    fn same_input_same_bytes_and_no_network() {
        let a = analysis();
        let html = render(&a);
        assert_eq!(html, render(&a));
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(html.contains("default-src 'none'"));
    }

    #[test]
    fn axis_steps_are_round() {
        let d = |s: &str| s.parse::<Decimal>().expect("decimal");
        assert_eq!(nice_step(d("3.570222")), d("1"));
        assert_eq!(nice_step(d("21.8")), d("5"));
        assert_eq!(nice_step(d("0.4347")), d("0.1"));
        assert_eq!(nice_step(Decimal::ZERO), Decimal::ONE);
        let axis = Axis::new([d("-19.7"), d("3.04")].into_iter());
        assert_eq!((axis.lo, axis.hi, axis.step), (d("-20"), d("5"), d("5")));
        assert_eq!(base64(b"hello"), "aGVsbG8=");
        assert_eq!(base64(b"hi!"), "aGkh");
    }
}
