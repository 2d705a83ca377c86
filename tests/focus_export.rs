//! focus.csv (`reprice run --focus`) on the sample logs: FOCUS 1.2 columns, usage that sums to
//! the bill exactly, and the unused quota of the google-ai-pro scenario as commitment rows.

use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

const HEADER: [&str; 40] = [
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountQuantity",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "CommitmentDiscountUnit",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
    "ServiceSubcategory",
    "SkuId",
    "SubAccountId",
    "SubAccountName",
    "Tags",
    "x_Scenario",
    "x_Requests",
];

fn run(out: &Path, extra: &[&str]) {
    let status = Command::new(env!("CARGO_BIN_EXE_reprice"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "sample_logs", "--quiet", "--out"])
        .arg(out)
        .args(extra)
        .status()
        .expect("run reprice");
    // 3 would only mean a sample line was quarantined; the reports are written either way.
    assert!(matches!(status.code(), Some(0 | 3)), "exit {status}");
}

struct Focus {
    header: Vec<String>,
    rows: Vec<HashMap<String, String>>,
}

fn read_focus(out: &Path) -> Focus {
    let mut r = csv::Reader::from_path(out.join("focus.csv")).expect("focus.csv written");
    let header: Vec<String> = r
        .headers()
        .expect("header")
        .iter()
        .map(str::to_string)
        .collect();
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.expect("csv row");
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(str::to_string))
                .collect()
        })
        .collect();
    Focus { header, rows }
}

fn summary(out: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).expect("summary"))
        .expect("summary parses")
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap_or_else(|_| panic!("not a decimal: {s:?}"))
}

fn sum(rows: &[&HashMap<String, String>], col: &str) -> Decimal {
    rows.iter().map(|r| dec(&r[col])).sum()
}

#[test]
fn focus_csv_matches_the_bill_and_shows_unused_quota() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    run(&out, &["--focus"]);
    let f = read_focus(&out);
    let s = summary(&out);
    assert_eq!(f.header, HEADER);

    let usage: Vec<_> = f
        .rows
        .iter()
        .filter(|r| r["ChargeCategory"] == "Usage")
        .collect();
    let actual = dec(s["actual"]["cost"].as_str().expect("actual.cost"));
    assert_eq!(sum(&usage, "BilledCost"), actual);
    // Only the bill's own rows are billed usage; the plan rows bill nothing as usage.
    let bill: Vec<_> = usage
        .iter()
        .copied()
        .filter(|r| r["x_Scenario"].is_empty())
        .collect();
    assert_eq!(sum(&bill, "BilledCost"), actual);
    assert_eq!(sum(&bill, "EffectiveCost"), actual);
    let requests: u64 = bill
        .iter()
        .map(|r| r["x_Requests"].parse::<u64>().expect("requests"))
        .sum();
    // Rows of usage exports count every request they sum (the Anthropic report counts none).
    let counted: u64 = s["actual"]["requests"]
        .as_object()
        .expect("requests")
        .values()
        .map(|n| n.as_u64().expect("count"))
        .sum();
    assert_eq!(requests, counted);

    let quota = s["waste"]["unused_quota"]
        .as_array()
        .expect("unused_quota")
        .iter()
        .find(|q| q["plan"] == "google-ai-pro")
        .expect("google-ai-pro in the sample scenarios");
    let days: Vec<&Value> = quota["by_day"]
        .as_array()
        .expect("by_day")
        .iter()
        .filter(|d| d["unused_units"].as_u64() != Some(0))
        .collect();
    let unused: Vec<_> = f
        .rows
        .iter()
        .filter(|r| {
            r["CommitmentDiscountStatus"] == "Unused"
                && r["CommitmentDiscountId"] == "google-ai-pro"
        })
        .collect();
    assert!(!unused.is_empty());
    assert_eq!(unused.len(), days.len());
    let unused_units: u64 = unused
        .iter()
        .map(|r| {
            r["CommitmentDiscountQuantity"]
                .parse::<u64>()
                .expect("units")
        })
        .sum();
    assert_eq!(
        unused_units,
        quota["unused_units"].as_u64().expect("unused_units")
    );
    let value: Decimal = days
        .iter()
        .map(|d| dec(d["unused_value"].as_str().expect("unused_value")))
        .sum();
    assert_eq!(sum(&unused, "EffectiveCost"), value);
    for r in &unused {
        assert_eq!(r["ChargeCategory"], "Usage");
        assert_eq!(r["BilledCost"], "0");
        assert_eq!(r["x_Scenario"], "google-ai-pro");
        assert_eq!(r["CommitmentDiscountUnit"], "Images");
    }
    let fees: Vec<_> = f
        .rows
        .iter()
        .filter(|r| r["ChargeCategory"] == "Purchase" && r["SkuId"] == "google-ai-pro")
        .collect();
    assert_eq!(
        fees.len() as u64,
        s["period"]["days"].as_u64().expect("days")
    );

    for r in &f.rows {
        assert_eq!(r["ServiceCategory"], "AI and Machine Learning");
        assert_eq!(r["BillingCurrency"], "USD");
        // Report time zone UTC: days start at midnight UTC.
        assert!(r["ChargePeriodStart"].ends_with("T00:00:00Z"), "{r:?}");
        assert!(r["ChargePeriodEnd"].ends_with("T00:00:00Z"), "{r:?}");
        // Key labels only: the sample keys are all longer than this.
        assert!(
            !r["SubAccountId"].starts_with("sk-"),
            "raw key in {:?}",
            r["SubAccountId"]
        );
        serde_json::from_str::<serde_json::Map<String, Value>>(&r["Tags"])
            .expect("Tags is a JSON object");
    }
    let first = &f.rows[0];
    assert_eq!(first["ChargePeriodStart"], "2026-03-01T00:00:00Z");
    assert_eq!(first["ChargePeriodEnd"], "2026-03-02T00:00:00Z");
    assert_eq!(first["BillingPeriodStart"], "2026-03-01T00:00:00Z");
    assert_eq!(first["BillingPeriodEnd"], "2026-04-01T00:00:00Z");
}

#[test]
fn days_follow_the_report_zone_and_focus_is_opt_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = dir.path().join("plain");
    run(&plain, &[]);
    assert!(!plain.join("focus.csv").exists());

    let berlin = dir.path().join("berlin");
    run(&berlin, &["--focus", "--tz", "Europe/Berlin"]);
    let f = read_focus(&berlin);
    let s = summary(&berlin);
    let usage: Vec<_> = f
        .rows
        .iter()
        .filter(|r| r["ChargeCategory"] == "Usage")
        .collect();
    assert_eq!(
        sum(&usage, "BilledCost"),
        dec(s["actual"]["cost"].as_str().expect("actual.cost"))
    );
    let start = s["period"]["start"].as_str().expect("period.start");
    assert_eq!(start, "2026-03-01");
    // Berlin's 1 March starts at 23:00 UTC the day before; 29 March is 23 hours long (DST).
    assert_eq!(f.rows[0]["ChargePeriodStart"], "2026-02-28T23:00:00Z");
    let dst = f
        .rows
        .iter()
        .find(|r| r["ChargePeriodStart"] == "2026-03-28T23:00:00Z")
        .expect("a row on 29 March");
    assert_eq!(dst["ChargePeriodEnd"], "2026-03-29T22:00:00Z");
}
