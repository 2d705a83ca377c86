//! The CSV tables: savings.csv, by_day.csv, waste.csv, and the full per-key tables that the
//! reports and summary.json cut to the top rows: by_key.csv, reconciliation.csv. Money is rounded once, half-even, to six
//! places (summary.json keeps the exact sums); text cells are neutralized against formula
//! injection.

use super::safe_text::csv_text;
use super::{ReportInput, Writer};
use crate::analyze::report_model::shown;
use crate::money::Money;
use std::io;
use std::path::Path;

pub struct CsvTables;

fn m(x: Money) -> String {
    x.display(6)
}

impl Writer for CsvTables {
    fn files(&self) -> &'static [&'static str] {
        &[
            "savings.csv",
            "by_day.csv",
            "waste.csv",
            "by_key.csv",
            "reconciliation.csv",
        ]
    }

    fn write(&self, input: &ReportInput<'_>, dir: &Path) -> io::Result<()> {
        let a = input.analysis;
        let mut w = csv::Writer::from_path(dir.join("savings.csv"))?;
        w.write_record([
            "scenario",
            "day",
            "model",
            "via",
            "records",
            "actual_cost",
            "scenario_cost",
            "savings",
        ])?;
        for r in &a.savings {
            w.write_record([
                csv_text(&r.scenario),
                r.day.to_string(),
                csv_text(&r.model),
                csv_text(&r.via),
                r.records.to_string(),
                m(r.actual),
                m(r.cost),
                // From the two figures as written, so the row adds up.
                m(shown(r.actual) - shown(r.cost)),
            ])?;
        }
        w.flush()?;

        let mut w = csv::Writer::from_path(dir.join("by_day.csv"))?;
        let mut header = vec![
            "day".to_string(),
            "records".to_string(),
            "actual_cost".to_string(),
        ];
        header.extend(input.scenarios.scenarios.iter().map(|s| csv_text(&s.name)));
        // Usage after the costs, so the scenario columns keep their places.
        header.extend(
            [
                "images",
                "input_tokens",
                "output_tokens",
                "thinking_tokens",
                "cache_read_tokens",
                "cache_write_tokens",
            ]
            .map(String::from),
        );
        w.write_record(&header)?;
        for d in &a.by_day {
            let mut row = vec![d.day.to_string(), d.records.to_string(), m(d.actual)];
            row.extend(d.scenarios.iter().map(|c| m(*c)));
            let t = &d.tokens;
            row.extend(
                [
                    d.images,
                    t.input,
                    t.output,
                    t.thinking,
                    t.cache_read,
                    t.cache_write,
                ]
                .map(|n| n.to_string()),
            );
            w.write_record(&row)?;
        }
        w.flush()?;

        let s = &a.summary.waste;
        let mut w = csv::Writer::from_path(dir.join("waste.csv"))?;
        w.write_record([
            "category",
            "plan_or_model",
            "day",
            "weekday",
            "quota_units",
            "used_units",
            "unused_units",
            "requests",
            "cost",
        ])?;
        for q in &s.unused_quota {
            for d in &q.by_day {
                w.write_record([
                    "unused_quota".to_string(),
                    csv_text(&q.plan),
                    d.day.to_string(),
                    d.weekday.clone(),
                    d.quota_units.to_string(),
                    d.used_units.to_string(),
                    d.unused_units.to_string(),
                    String::new(),
                    m(d.unused_value),
                ])?;
            }
        }
        let rows = [
            (
                "failed_billed",
                s.failed_billed_requests,
                s.failed_billed_cost,
            ),
            (
                "rejected_billed",
                s.rejected_billed_requests,
                s.rejected_billed_cost,
            ),
            (
                "superseded_billed",
                s.superseded_billed_requests,
                s.superseded_billed_cost,
            ),
        ];
        for (cat, n, cost) in rows {
            w.write_record([cat, "", "", "", "", "", "", &n.to_string(), &m(cost)])?;
        }
        for t in &s.thinking_by_model {
            w.write_record([
                "thinking",
                &csv_text(&t.model),
                "",
                "",
                "",
                "",
                "",
                "",
                &m(t.thinking_cost),
            ])?;
        }
        w.write_record(["extras", "", "", "", "", "", "", "", &m(s.extras_cost)])?;
        w.flush()?;

        let mut w = csv::Writer::from_path(dir.join("by_key.csv"))?;
        w.write_record(["key", "records", "cost", "unpriced_records"])?;
        for k in &a.all_keys {
            w.write_record([
                csv_text(&k.key),
                k.records.to_string(),
                m(k.cost),
                k.unpriced_records.to_string(),
            ])?;
        }
        w.flush()?;

        let mut w = csv::Writer::from_path(dir.join("reconciliation.csv"))?;
        w.write_record([
            "key",
            "time",
            "kind",
            "billed",
            "balance_before",
            "balance_after",
            "amount",
        ])?;
        for g in &a.all_gaps {
            w.write_record([
                csv_text(&g.key),
                g.time.to_rfc3339(),
                g.kind.clone(),
                m(g.billed),
                m(g.balance_before),
                m(g.balance_after),
                m(g.amount),
            ])?;
        }
        w.flush()
    }
}
