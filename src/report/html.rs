//! report.html: the report model as one page with inline SVG charts (src/report/svg.rs), in one
//! file that opens offline (no scripts, fonts or images from anywhere else) and prints. Every
//! text goes through `text` (control characters removed, then escaped).

use super::safe_text::text;
use super::{ReportInput, Writer, svg};
use crate::analyze::report_model::{Block, Cell, Report, TABLE_PLACES, Table, percent};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::io;
use std::path::Path;

pub struct Html;

impl Writer for Html {
    fn files(&self) -> &'static [&'static str] {
        &["report.html"]
    }

    fn write(&self, input: &ReportInput<'_>, dir: &Path) -> io::Result<()> {
        std::fs::write(
            dir.join("report.html"),
            render(&Report::build(input.analysis)),
        )
    }
}

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
.card{border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:160px;max-width:360px}
.card b{display:block;font-size:20px}
.card span{color:var(--muted);font-size:13px}
li{margin:3px 0}
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

pub fn render(r: &Report) -> String {
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
         <title>{}</title>\n<style>\n{CSS}\n</style>\n</head>\n<body>\n<main>\n",
        text(&r.title)
    );
    let _ = writeln!(o, "<h1>{}</h1>", text(&r.title));
    let _ = writeln!(o, "<p class=\"meta\">{}</p>", text(&r.intro));
    let _ = writeln!(
        o,
        "<p class=\"note hint\">Click a column header to sort a table by it.</p>\n<div class=\"cards\">"
    );
    for c in &r.cards {
        let _ = writeln!(
            o,
            "<div class=\"card\"><b>{}</b><span>{}</span></div>",
            text(&c.value),
            text(&c.label)
        );
    }
    let _ = writeln!(o, "</div>");
    for s in &r.sections {
        let level = s.level.clamp(2, 6);
        let _ = writeln!(o, "<h{level}>{}</h{level}>", text(&s.title));
        for b in &s.blocks {
            block(&mut o, b);
        }
    }
    let _ = write!(o, "</main>\n<script>{JS}</script>\n</body>\n</html>\n");
    o
}

fn block(o: &mut String, b: &Block) {
    match b {
        Block::Paragraph(p) => {
            let _ = writeln!(o, "<p class=\"note\">{}</p>", text(p));
        }
        Block::List(items) => {
            let _ = writeln!(o, "<ul>");
            for i in items {
                let _ = writeln!(o, "<li>{}</li>", text(i));
            }
            let _ = writeln!(o, "</ul>");
        }
        Block::Table(t) => table(o, t),
        Block::Chart(c) => {
            let _ = writeln!(
                o,
                "<figure><figcaption>{}</figcaption>",
                text(&svg::caption(c))
            );
            let legend = svg::legend(c);
            if !legend.is_empty() {
                let _ = write!(o, "<ul class=\"legend\">");
                for (name, color) in legend {
                    let _ = write!(
                        o,
                        "<li><i style=\"background:{color}\"></i>{}</li>",
                        text(&name)
                    );
                }
                let _ = writeln!(o, "</ul>");
            }
            o.push_str(&svg::render(c));
            let _ = writeln!(o, "</figure>");
        }
    }
}

fn table(o: &mut String, t: &Table) {
    let _ = write!(
        o,
        "<div class=\"scroll\"><table class=\"sortable\">\n<thead><tr>"
    );
    for c in &t.columns {
        if c.numeric {
            let _ = write!(o, "<th class=\"num\">{}</th>", text(&c.name));
        } else {
            let _ = write!(o, "<th>{}</th>", text(&c.name));
        }
    }
    let _ = writeln!(o, "</tr></thead>\n<tbody>");
    for row in &t.rows {
        o.push_str("<tr>");
        for c in row {
            cell(o, c);
        }
        o.push_str("</tr>\n");
    }
    let _ = writeln!(o, "</tbody>\n</table></div>");
}

/// Numbers sort by the value in `data-v`: the figure as shown.
fn cell(o: &mut String, c: &Cell) {
    let _ = match c {
        Cell::Text(s) => write!(o, "<td>{}</td>", text(s)),
        Cell::Money(m) => {
            let class = if m.is_negative() { "num neg" } else { "num" };
            let v = m.display(TABLE_PLACES);
            write!(o, "<td class=\"{class}\" data-v=\"{v}\">{v}</td>")
        }
        Cell::Count(n) => write!(o, "<td class=\"num\" data-v=\"{n}\">{n}</td>"),
        Cell::Share(d) => write!(
            o,
            "<td class=\"num\" data-v=\"{}\">{}</td>",
            d.normalize(),
            percent(*d)
        ),
        Cell::Date(d) => write!(o, "<td>{d}</td>"),
        Cell::Time(t) => write!(o, "<td>{}</td>", t.to_rfc3339()),
        Cell::Number(s) => write!(o, "<td class=\"num\" data-v=\"{0}\">{0}</td>", text(s)),
        Cell::Empty => write!(o, "<td></td>"),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::{Analysis, KeyRow, ModelRow};
    use crate::money::Money;

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
            unpriced_records: 0,
        }
    }

    /// Two days with the built-in scenarios cut to two (one costs more than the bill, one has a
    /// hostile name), two models (one hostile), one key, and the google-ai-pro quota of the
    /// built-in set (two days, two weekdays). Built by `analyze` on no records, so the summary
    /// has every field the real one has.
    fn analysis() -> Analysis {
        let mut a = crate::analyze::empty_march_analysis();
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
            unpriced_records: 0,
        }];
        for d in &mut a.by_day {
            d.scenarios.truncate(2);
        }
        a
    }

    fn page(a: &Analysis) -> String {
        render(&Report::build(a))
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
    fn hostile_names_stay_text() {
        let html = page(&analysis());
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("<b>dearer"));
        assert!(!html.contains('\u{7}'));
        assert_eq!(html.matches("<script").count(), 1);
        assert_eq!(html.matches("</script>").count(), 1);
        // The table cell, the bar label and its tooltip show the whole name.
        assert_eq!(
            html.matches("&lt;script&gt;alert(1)&lt;/script&gt;\u{fffd}&quot;&#39;&amp;")
                .count(),
            3
        );
        assert!(html.contains("&lt;b&gt;dearer&lt;/b&gt;"));
    }

    #[test]
    fn draws_one_mark_per_value() {
        let html = page(&analysis());
        // Two days, actual and the two (pay-as-you-go) scenarios left.
        assert_eq!(marks(&html, "chart-daily"), (6, 6));
        assert!(!html.contains("chart-daily-plans"));
        assert_eq!(marks(&html, "chart-savings"), (2, 2));
        assert_eq!(marks(&html, "chart-models"), (2, 2));
        assert_eq!(marks(&html, "chart-keys"), (1, 1));
        assert_eq!(marks(&html, "chart-waste"), (5, 5));
        // One cell per day of the quota grid.
        assert_eq!(marks(&html, "chart-unused-1"), (2, 2));
    }

    #[test]
    fn same_input_same_bytes_and_no_network() {
        let a = analysis();
        let html = page(&a);
        assert_eq!(html, page(&a));
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(html.contains("default-src 'none'"));
    }
}
