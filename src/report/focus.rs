//! focus.csv (`reprice run --focus`): the bill in FOCUS 1.2 columns (every Mandatory one, and
//! those Conditional ones whose concept it fills; see focus_spec.rs), so cost tools that read
//! FinOps Open Cost and Usage Specification exports can load AI API usage next to cloud bills.
//! Money is exact (no rounding), so BilledCost of the usage rows sums to summary.json
//! `actual.cost`. Plan rows are what-if rows of the subscription scenarios: `x_Scenario` names
//! the scenario and is empty on every row of the actual bill.

use super::safe_text::csv_text;
use super::{ReportInput, Writer};
use crate::analyze::{FocusCharge, FocusRow, FocusUnit, focus_rows};
use crate::catalog::PlanUnit;
use crate::money::Money;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::io;
use std::path::Path;

pub struct FocusCsv;

pub const COLUMNS: [&str; 40] = [
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
    let pricing_category = match (r.charge, r.tier) {
        (FocusCharge::QuotaUsed | FocusCharge::QuotaUnused, _) => "Committed",
        (FocusCharge::Usage, Some("batch")) => "Other",
        _ => "Standard",
    };
    let sub_account = r.sub_account.as_deref().map(csv_text).unwrap_or_default();
    let mut cells: BTreeMap<&str, String> = BTreeMap::new();
    let mut put = |name: &'static str, value: String| {
        cells.insert(name, value);
    };
    put("BilledCost", r.billed.exact());
    // Each provider bills its own account; the logs name no account id of their own.
    put("BillingAccountId", csv_text(&r.provider));
    put("BillingAccountName", csv_text(&r.provider));
    put("BillingCurrency", csv_text(currency));
    put("BillingPeriodEnd", time(r.billing_end));
    put("BillingPeriodStart", time(r.billing_start));
    put("ChargeCategory", category.to_string());
    // No row corrects an earlier period's charge: null, as FOCUS asks of regular charges.
    put("ChargeClass", String::new());
    put("ChargeDescription", csv_text(&description));
    put("ChargeFrequency", frequency.to_string());
    put("ChargePeriodEnd", time(r.period_end));
    put("ChargePeriodStart", time(r.period_start));
    put(
        "CommitmentDiscountCategory",
        if c.is_some() { "Usage" } else { "" }.to_string(),
    );
    put(
        "CommitmentDiscountId",
        c.map(|c| csv_text(&c.plan)).unwrap_or_default(),
    );
    put(
        "CommitmentDiscountName",
        c.map(|c| csv_text(&c.plan)).unwrap_or_default(),
    );
    put(
        "CommitmentDiscountQuantity",
        c.and_then(|c| c.units)
            .map(|n| n.to_string())
            .unwrap_or_default(),
    );
    put("CommitmentDiscountStatus", status.to_string());
    put(
        "CommitmentDiscountType",
        if c.is_some() { "Subscription plan" } else { "" }.to_string(),
    );
    put(
        "CommitmentDiscountUnit",
        c.map(|c| plan_unit(c.unit).to_string()).unwrap_or_default(),
    );
    put(
        "ConsumedQuantity",
        if usage {
            r.consumed.to_string()
        } else {
            String::new()
        },
    );
    put("ConsumedUnit", consumed_unit.to_string());
    // Providers bill these APIs at the prices agreed (list or batch tier): what was billed.
    put("ContractedCost", r.billed.exact());
    put("EffectiveCost", r.effective.exact());
    put("InvoiceIssuerName", csv_text(&r.provider));
    put("ListCost", r.list.exact());
    put(
        "ListUnitPrice",
        r.list_unit_price.map(price).unwrap_or_default(),
    );
    put("PricingCategory", pricing_category.to_string());
    put(
        "PricingQuantity",
        r.pricing_quantity
            .map(|q| q.normalize().to_string())
            .unwrap_or_default(),
    );
    put("PricingUnit", pricing_unit.to_string());
    put("ProviderName", csv_text(&r.provider));
    put("PublisherName", csv_text(&r.publisher));
    put("ServiceCategory", "AI and Machine Learning".to_string());
    put("ServiceName", csv_text(&r.provider));
    put("ServiceSubcategory", "Generative AI".to_string());
    put("SkuId", csv_text(&r.sku));
    put("SubAccountId", sub_account.clone());
    put("SubAccountName", sub_account);
    put("Tags", csv_text(&tags));
    put(
        "x_Scenario",
        r.scenario.as_deref().map(csv_text).unwrap_or_default(),
    );
    put(
        "x_Requests",
        if usage {
            r.requests.to_string()
        } else {
            String::new()
        },
    );
    COLUMNS
        .iter()
        .map(|c| cells.remove(c).unwrap_or_default())
        .collect()
}
