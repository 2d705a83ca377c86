//! focus.csv (`reprice run --focus`): the bill in FOCUS 1.2 columns, so cost tools that read
//! FinOps Open Cost and Usage Specification exports can load AI API usage next to cloud bills.
//! Money is exact (no rounding), so BilledCost of the usage rows sums to summary.json
//! `actual.cost`. Plan rows are what-if rows of the subscription scenarios: `x_Scenario` names
//! the scenario and is empty on every row of the actual bill.

use super::{ReportInput, Writer, csv_text};
use crate::analyze::{FocusCharge, FocusRow, FocusUnit, focus_rows};
use crate::catalog::PlanUnit;
use crate::money::Money;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::io;
use std::path::Path;

pub struct FocusCsv;

pub const COLUMNS: [&str; 33] = [
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ListUnitPrice",
    "BillingCurrency",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargeCategory",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountQuantity",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "CommitmentDiscountUnit",
    "ConsumedQuantity",
    "ConsumedUnit",
    "InvoiceIssuerName",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "ServiceCategory",
    "ServiceName",
    "SkuId",
    "SubAccountId",
    "Tags",
    "x_Scenario",
    "x_Requests",
];

impl Writer for FocusCsv {
    fn files(&self) -> &'static [&'static str] {
        &["focus.csv"]
    }

    fn write(&self, input: &ReportInput<'_>, dir: &Path) -> io::Result<()> {
        let s = &input.analysis.summary;
        let rows = focus_rows(input.analysis, input.scenarios);
        let mut w = csv::Writer::from_path(dir.join("focus.csv"))?;
        w.write_record(COLUMNS)?;
        for r in &rows {
            w.write_record(record(r, &s.currency))?;
        }
        w.flush()
    }
}

/// FOCUS date-times: ISO 8601 in UTC with a Z.
fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A unit price is a quotient with up to 28 digits; ten places keep it exact to far below a
/// cent per million units.
fn price(m: Money) -> String {
    Money::from_decimal(m.decimal().round_dp(10)).exact()
}

fn plan_unit(u: PlanUnit) -> &'static str {
    match u {
        PlanUnit::Images => "Images",
        PlanUnit::Requests => "Requests",
    }
}

fn record(r: &FocusRow, currency: &str) -> Vec<String> {
    let (category, frequency, status) = match r.charge {
        FocusCharge::Usage => ("Usage", "Usage-Based", ""),
        FocusCharge::PlanFee => ("Purchase", "Recurring", ""),
        FocusCharge::QuotaUsed => ("Usage", "Usage-Based", "Used"),
        FocusCharge::QuotaUnused => ("Usage", "Usage-Based", "Unused"),
    };
    let (consumed_unit, pricing_unit) = match r.unit {
        Some(FocusUnit::Tokens) => ("Tokens", "1M Tokens"),
        Some(FocusUnit::Images) => ("Images", "Images"),
        None => ("", ""),
    };
    let description = match (r.charge, r.unit) {
        (FocusCharge::Usage, Some(FocusUnit::Tokens)) => {
            format!("{} tokens, {} tier", r.sku, r.tier.unwrap_or("standard"))
        }
        (FocusCharge::Usage, _) => {
            format!("{} images, {} tier", r.sku, r.tier.unwrap_or("standard"))
        }
        (FocusCharge::PlanFee, _) => format!("{} plan fee for the day", r.sku),
        (FocusCharge::QuotaUsed, _) => format!("{} daily quota used", r.sku),
        (FocusCharge::QuotaUnused, _) => format!("{} daily quota left unused", r.sku),
    };
    let mut tags: BTreeMap<&str, String> = BTreeMap::new();
    if let Some(t) = r.tier {
        tags.insert("reprice:tier", t.to_string());
    }
    if let Some(s) = &r.scenario {
        tags.insert("reprice:scenario", s.clone());
    }
    let tags = serde_json::to_string(&tags).unwrap_or_else(|_| "{}".to_string());
    let c = r.commitment.as_ref();
    let usage = r.charge == FocusCharge::Usage;
    vec![
        r.billed.exact(),
        r.effective.exact(),
        r.list.exact(),
        r.list_unit_price.map(price).unwrap_or_default(),
        csv_text(currency),
        time(r.billing_start),
        time(r.billing_end),
        category.to_string(),
        csv_text(&description),
        frequency.to_string(),
        time(r.period_start),
        time(r.period_end),
        if c.is_some() { "Usage" } else { "" }.to_string(),
        c.map(|c| csv_text(&c.plan)).unwrap_or_default(),
        c.map(|c| csv_text(&c.plan)).unwrap_or_default(),
        c.and_then(|c| c.units)
            .map(|n| n.to_string())
            .unwrap_or_default(),
        status.to_string(),
        if c.is_some() { "Subscription plan" } else { "" }.to_string(),
        c.map(|c| plan_unit(c.unit).to_string()).unwrap_or_default(),
        if usage {
            r.consumed.to_string()
        } else {
            String::new()
        },
        consumed_unit.to_string(),
        csv_text(&r.provider),
        r.pricing_quantity
            .map(|q| q.normalize().to_string())
            .unwrap_or_default(),
        pricing_unit.to_string(),
        csv_text(&r.provider),
        csv_text(&r.publisher),
        "AI and Machine Learning".to_string(),
        csv_text(&r.provider),
        csv_text(&r.sku),
        r.sub_account.as_deref().map(csv_text).unwrap_or_default(),
        csv_text(&tags),
        r.scenario.as_deref().map(csv_text).unwrap_or_default(),
        if usage {
            r.requests.to_string()
        } else {
            String::new()
        },
    ]
}
