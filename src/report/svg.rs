//! Inline SVG charts of the report model. Geometry is computed in `Decimal` so the same input
//! gives byte-identical output on every machine; every chart declares its number of marks
//! (`data-marks`) so tests can check that each value was drawn. Text is placed inside the
//! chart's box, so no label is cut at its edges.

use super::safe_text::{clean_text, escape, text};
use crate::analyze::report_model::{
    Bar, BarChart, Chart, LineChart, QuotaGrid, Tone, dollars, percent,
};
use crate::money::Money;
use rust_decimal::{Decimal, RoundingStrategy};
use std::fmt::Write as _;

/// Okabe-Ito colours (distinguishable with the common colour-vision deficiencies), then a few
/// more for long scenario lists.
const PALETTE: [&str; 10] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#882255", "#44AA99",
    "#999933", "#777777",
];
const ACTUAL_COLOR: &str = "#1b1f24";
const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

pub fn render(c: &Chart) -> String {
    match c {
        Chart::Lines(l) => line_chart(l),
        Chart::Bars(b) => hbar_chart(b),
        Chart::QuotaGrid(q) => quota_grid(q),
    }
}

/// The chart's caption, with its unit.
pub fn caption(c: &Chart) -> String {
    match c {
        Chart::Lines(l) => format!("{} ({})", l.title, l.currency),
        Chart::Bars(b) => format!("{} ({})", b.title, b.currency),
        Chart::QuotaGrid(q) => q.title.clone(),
    }
}

/// (name, colour) of each line, for the legend above a line chart.
pub fn legend(c: &Chart) -> Vec<(String, &'static str)> {
    match c {
        Chart::Lines(l) => l
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), series_color(i, s.actual)))
            .collect(),
        _ => Vec::new(),
    }
}

fn series_color(i: usize, actual: bool) -> &'static str {
    if actual {
        ACTUAL_COLOR
    } else {
        PALETTE[(i.saturating_sub(1)) % PALETTE.len()]
    }
}

fn tone_color(t: Tone) -> &'static str {
    match t {
        Tone::Neutral => PALETTE[0],
        Tone::Other => PALETTE[1],
        Tone::Good => PALETTE[2],
        Tone::Bad => PALETTE[4],
    }
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

/// A money label on a chart: cents, or four places for amounts under a cent.
fn money_label(m: Money) -> String {
    if m.is_zero() || m.abs() >= Money::from_decimal(Decimal::new(1, 2)) {
        dollars(m)
    } else {
        let sign = if m.is_negative() { "-" } else { "" };
        format!("{sign}${}", m.abs().display(4))
    }
}

/// A value axis from zero (or the lowest negative value) to a round number above the highest.
pub(super) struct Axis {
    pub(super) lo: Decimal,
    pub(super) hi: Decimal,
    pub(super) step: Decimal,
}

impl Axis {
    pub(super) fn new(values: impl Iterator<Item = Decimal>) -> Axis {
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
pub(super) fn nice_step(span: Decimal) -> Decimal {
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

/// An axis tick in dollars, with as many places as the step needs and cents at least when
/// it has any: "$0", "$20", "-$5", "$0.50", "$0.005".
fn money_tick(t: Decimal, step: Decimal) -> String {
    let places = match step.normalize().scale() {
        0 => 0,
        s => s.max(2),
    };
    let v = t.round_dp(places);
    if v.is_zero() {
        return format!("${:.*}", places as usize, Decimal::ZERO);
    }
    let sign = if v.is_sign_negative() { "-" } else { "" };
    format!("{sign}${:.*}", places as usize, v.abs())
}

fn svg(id: &str, title: &str, w: u32, h: u32, marks: usize, body: &str) -> String {
    format!(
        "<svg id=\"{}\" class=\"chart\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{}\" data-marks=\"{marks}\">\n{body}</svg>\n",
        escape(id),
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

/// Horizontal bars with the label left and the value right of the plot.
fn hbar_chart(c: &BarChart) -> String {
    let bars: &[Bar] = &c.bars;
    if bars.is_empty() {
        return empty_chart(&c.id, &c.title);
    }
    const W: u32 = 660;
    const LABEL: u32 = 236;
    const VALUE: u32 = 84;
    const ROW: u32 = 22;
    const TOP: u32 = 6;
    // Room for the first and last tick labels, centred on the plot's ends.
    const PAD: u32 = 24;
    let plot = W - LABEL - VALUE - 2 * PAD;
    let left = LABEL + PAD;
    let h = TOP + ROW * bars.len() as u32 + 22;
    let axis = Axis::new(bars.iter().map(|b| b.value.decimal()));
    let mut body = String::new();
    let bottom = TOP + ROW * bars.len() as u32;
    for t in axis.ticks() {
        let x = Decimal::from(left) + axis.pos(t, plot);
        let _ = writeln!(
            body,
            "<line class=\"grid-line\" x1=\"{x}\" y1=\"{TOP}\" x2=\"{x}\" y2=\"{bottom}\"/><text x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            bottom + 14,
            money_tick(t, axis.step)
        );
    }
    let zero = Decimal::from(left) + axis.pos(Decimal::ZERO, plot);
    for (i, b) in bars.iter().enumerate() {
        let y = TOP + ROW * i as u32;
        let v = Decimal::from(left) + axis.pos(b.value.decimal(), plot);
        let (x, w) = if v < zero {
            (v, zero - v)
        } else {
            (zero, v - zero)
        };
        let _ = writeln!(
            body,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
             <rect class=\"mark\" x=\"{x}\" y=\"{}\" width=\"{w}\" height=\"14\" fill=\"{}\"><title>{}: {}</title></rect>\
             <text x=\"{}\" y=\"{}\">{}</text>",
            LABEL - 6,
            y + 15,
            short(&b.label, 38),
            y + 4,
            tone_color(b.tone),
            text(&b.label),
            b.value.display(6),
            W - VALUE + 6,
            y + 15,
            money_label(b.value)
        );
    }
    let _ = writeln!(
        body,
        "<line class=\"axis\" x1=\"{zero}\" y1=\"{TOP}\" x2=\"{zero}\" y2=\"{bottom}\"/>"
    );
    svg(&c.id, &c.title, W, h, bars.len(), &body)
}

/// Left of the plot: room for the dollar ticks.
const PLOT_LEFT: u32 = 72;
const PLOT_TOP: u32 = 10;
/// Right of the plot: room for the last date label.
const PLOT_RIGHT: u32 = 24;

/// Evenly spaced category positions.
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

/// One line per series over the days, a dot per value; the axis is in dollars.
fn line_chart(c: &LineChart) -> String {
    if c.days.is_empty() {
        return empty_chart(&c.id, &c.title);
    }
    const W: u32 = 1000;
    const H: u32 = 300;
    let plot_w = W - PLOT_LEFT - PLOT_RIGHT;
    let plot_h = H - PLOT_TOP - 30;
    let axis = Axis::new(
        c.series
            .iter()
            .flat_map(|s| s.values.iter().map(|m| m.decimal())),
    );
    let xs = x_positions(c.days.len(), plot_w);
    let mut body = String::new();
    for t in axis.ticks() {
        let y = Decimal::from(PLOT_TOP + plot_h) - axis.pos(t, plot_h);
        let _ = writeln!(
            body,
            "<line class=\"grid-line\" x1=\"{PLOT_LEFT}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\"/><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            W - PLOT_RIGHT,
            PLOT_LEFT - 6,
            y + Decimal::from(4),
            money_tick(t, axis.step)
        );
    }
    // Labels thinned so they do not overlap; "2026-03-01" reads as "03-01", the tooltip keeps
    // the year.
    let every = c.days.len().div_ceil(12).max(1);
    for (i, (d, x)) in c.days.iter().zip(&xs).enumerate() {
        if i % every == 0 {
            let _ = writeln!(
                body,
                "<text x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                PLOT_TOP + plot_h + 18,
                d.format("%m-%d")
            );
        }
    }
    let base = Decimal::from(PLOT_TOP + plot_h);
    let mut marks = 0;
    for (si, s) in c.series.iter().enumerate() {
        let color = series_color(si, s.actual);
        let width = if s.actual { "2.5" } else { "1.5" };
        let pts: Vec<String> = s
            .values
            .iter()
            .zip(&xs)
            .map(|(v, x)| format!("{x},{}", base - axis.pos(v.decimal(), plot_h)))
            .collect();
        let _ = writeln!(
            body,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"{width}\" points=\"{}\"/>",
            pts.join(" ")
        );
        let name = text(&s.name);
        for ((v, x), d) in s.values.iter().zip(&xs).zip(&c.days) {
            let y = base - axis.pos(v.decimal(), plot_h);
            let _ = writeln!(
                body,
                "<circle class=\"mark\" cx=\"{x}\" cy=\"{y}\" r=\"2.5\" fill=\"{color}\"><title>{d} {name}: {}</title></circle>",
                v.display(6)
            );
            marks += 1;
        }
    }
    let _ = writeln!(
        body,
        "<line class=\"axis\" x1=\"{PLOT_LEFT}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\"/>",
        W - PLOT_RIGHT
    );
    svg(&c.id, &c.title, W, H, marks, &body)
}

/// Weekdays down, weeks across, one cell per day: the darker, the more of the day's quota
/// went unused; the number is the unused units.
fn quota_grid(q: &QuotaGrid) -> String {
    if q.cells.is_empty() {
        return empty_chart(&q.id, &q.title);
    }
    const LEFT: u32 = 40;
    const TOP: u32 = 20;
    const CH: u32 = 24;
    // A year is 53 columns: narrower cells, and every other week named, keep it readable.
    let (cw, every) = if q.weeks.len() <= 20 {
        (44, 1)
    } else {
        (28, 2)
    };
    let w = LEFT + cw * q.weeks.len() as u32 + 8;
    let h = TOP + CH * 7 + 6;
    let mut body = String::new();
    for (i, wd) in WEEKDAYS.iter().enumerate() {
        let _ = writeln!(
            body,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{wd}</text>",
            LEFT - 6,
            TOP + CH * i as u32 + 16
        );
    }
    for (i, monday) in q.weeks.iter().enumerate().step_by(every) {
        let _ = writeln!(
            body,
            "<text x=\"{}\" y=\"14\" text-anchor=\"middle\">{}</text>",
            LEFT + cw * i as u32 + cw / 2,
            monday.format("%m-%d")
        );
    }
    for c in &q.cells {
        let share = Money::from_decimal(c.unused.into())
            .share_of(Money::from_decimal(c.quota.into()))
            .unwrap_or(Decimal::ZERO);
        // From a pale tint for a fully used day to the full colour for an unused one.
        let opacity = (Decimal::new(12, 2) + Decimal::new(88, 2) * share)
            .round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)
            .normalize();
        let x = LEFT + cw * c.week as u32;
        let y = TOP + CH * c.weekday as u32;
        let ink = if share > Decimal::new(55, 2) {
            "#fff"
        } else {
            "#1b1f24"
        };
        let _ = writeln!(
            body,
            "<rect class=\"mark\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"2\" fill=\"{}\" fill-opacity=\"{opacity}\"><title>{} {}: {} of {} units unused ({})</title></rect><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" style=\"fill:{ink}\">{}</text>",
            x + 1,
            y + 1,
            cw - 2,
            CH - 2,
            PALETTE[0],
            c.day,
            WEEKDAYS[c.weekday % 7],
            c.unused,
            c.quota,
            percent(share),
            x + cw / 2,
            y + 16,
            c.unused
        );
    }
    svg(&q.id, &q.title, w, h, q.cells.len(), &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_steps_are_round_and_ticks_in_dollars() {
        let d = |s: &str| s.parse::<Decimal>().expect("decimal");
        assert_eq!(nice_step(d("3.570222")), d("1"));
        assert_eq!(nice_step(d("21.8")), d("5"));
        assert_eq!(nice_step(d("0.4347")), d("0.1"));
        assert_eq!(nice_step(Decimal::ZERO), Decimal::ONE);
        let axis = Axis::new([d("-19.7"), d("3.04")].into_iter());
        assert_eq!((axis.lo, axis.hi, axis.step), (d("-20"), d("5"), d("5")));
        assert_eq!(money_tick(d("-20"), d("5")), "-$20");
        assert_eq!(money_tick(d("0.5"), d("0.5")), "$0.50");
        assert_eq!(money_tick(d("1"), d("0.5")), "$1.00");
        assert_eq!(money_tick(d("0.015"), d("0.005")), "$0.015");
        assert_eq!(money_tick(Decimal::ZERO, d("0.1")), "$0.00");
        assert_eq!(money_tick(Decimal::ZERO, d("5")), "$0");
        assert_eq!(money_label(Money::from_decimal(d("0.0023"))), "$0.0023");
        assert_eq!(money_label(Money::from_decimal(d("-16.454778"))), "-$16.45");
    }

    #[test]
    fn quota_grid_puts_each_day_in_its_weekday_row_and_week_column() {
        use crate::analyze::report_model::QuotaCell;
        let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 3, d).expect("day");
        let g = QuotaGrid {
            id: "g".to_string(),
            title: "t".to_string(),
            weeks: vec![day(2) - chrono::Duration::days(7), day(2)],
            cells: vec![
                QuotaCell {
                    day: day(1),
                    week: 0,
                    weekday: 6,
                    quota: 100,
                    unused: 100,
                },
                QuotaCell {
                    day: day(2),
                    week: 1,
                    weekday: 0,
                    quota: 100,
                    unused: 0,
                },
            ],
        };
        let svg = quota_grid(&g);
        // Sunday of the first week: x = 40 + 1, y = 20 + 6 x 24 + 1; all unused: full colour.
        assert!(svg.contains("x=\"41\" y=\"165\" width=\"42\" height=\"22\" rx=\"2\" fill=\"#0072B2\" fill-opacity=\"1\""), "{svg}");
        // Monday of the second: x = 40 + 44 + 1, y = 21; all used: the pale tint.
        assert!(svg.contains("x=\"85\" y=\"21\" width=\"42\" height=\"22\" rx=\"2\" fill=\"#0072B2\" fill-opacity=\"0.12\""), "{svg}");
        assert!(svg.contains("<title>2026-03-01 Sun: 100 of 100 units unused (100.0%)</title>"));
        assert!(svg.contains("data-marks=\"2\""));
        // 40 + 2 x 44 + 8 wide, 20 + 7 x 24 + 6 high.
        assert!(svg.contains("viewBox=\"0 0 136 194\""));
    }
}
