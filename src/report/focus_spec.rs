//! The column table of FOCUS 1.2 (FinOps Open Cost and Usage Specification,
//! https://focus.finops.org/focus-specification/v1-2/; the column files of the
//! FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec repository), with each column's feature level.
//! focus.csv is checked against it: every Mandatory column, and the Conditional and
//! Recommended ones whose concept reprice fills.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Mandatory,
    Recommended,
    Conditional,
}

use Level::*;

/// The 57 columns of FOCUS 1.2.
pub const FOCUS_1_2: [(&str, Level); 57] = [
    ("AvailabilityZone", Recommended),
    ("BilledCost", Mandatory),
    ("BillingAccountId", Mandatory),
    ("BillingAccountName", Mandatory),
    ("BillingAccountType", Conditional),
    ("BillingCurrency", Mandatory),
    ("BillingPeriodEnd", Mandatory),
    ("BillingPeriodStart", Mandatory),
    ("CapacityReservationId", Conditional),
    ("CapacityReservationStatus", Conditional),
    ("ChargeCategory", Mandatory),
    ("ChargeClass", Mandatory),
    ("ChargeDescription", Mandatory),
    ("ChargeFrequency", Recommended),
    ("ChargePeriodEnd", Mandatory),
    ("ChargePeriodStart", Mandatory),
    ("CommitmentDiscountCategory", Conditional),
    ("CommitmentDiscountId", Conditional),
    ("CommitmentDiscountName", Conditional),
    ("CommitmentDiscountQuantity", Conditional),
    ("CommitmentDiscountStatus", Conditional),
    ("CommitmentDiscountType", Conditional),
    ("CommitmentDiscountUnit", Conditional),
    ("ConsumedQuantity", Conditional),
    ("ConsumedUnit", Conditional),
    ("ContractedCost", Mandatory),
    ("ContractedUnitPrice", Conditional),
    ("EffectiveCost", Mandatory),
    ("InvoiceId", Recommended),
    ("InvoiceIssuerName", Mandatory),
    ("ListCost", Mandatory),
    ("ListUnitPrice", Conditional),
    ("PricingCategory", Conditional),
    ("PricingCurrency", Conditional),
    ("PricingCurrencyContractedUnitPrice", Conditional),
    ("PricingCurrencyEffectiveCost", Conditional),
    ("PricingCurrencyListUnitPrice", Conditional),
    ("PricingQuantity", Mandatory),
    ("PricingUnit", Mandatory),
    ("ProviderName", Mandatory),
    ("PublisherName", Mandatory),
    ("RegionId", Conditional),
    ("RegionName", Conditional),
    ("ResourceId", Conditional),
    ("ResourceName", Conditional),
    ("ResourceType", Conditional),
    ("ServiceCategory", Mandatory),
    ("ServiceName", Mandatory),
    ("ServiceSubcategory", Recommended),
    ("SkuId", Conditional),
    ("SkuMeter", Conditional),
    ("SkuPriceDetails", Conditional),
    ("SkuPriceId", Conditional),
    ("SubAccountId", Conditional),
    ("SubAccountName", Conditional),
    ("SubAccountType", Conditional),
    ("Tags", Conditional),
];

/// The Conditional and Recommended columns whose concept a reprice bill has: commitments (the
/// plan rows), consumption, list prices, pricing tiers, SKUs (models), sub-accounts (API keys),
/// tags, the charge frequency and the service subcategory. Those it has not (regions,
/// resources, capacity reservations, invoices, other pricing currencies) are left out.
pub const FILLED: [&str; 17] = [
    "ChargeFrequency",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountQuantity",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "CommitmentDiscountUnit",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ListUnitPrice",
    "PricingCategory",
    "ServiceSubcategory",
    "SkuId",
    "SubAccountId",
    "SubAccountName",
    "Tags",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::focus::COLUMNS;

    #[test]
    fn focus_csv_carries_every_mandatory_column_and_those_it_fills() {
        for (name, level) in FOCUS_1_2 {
            if level == Mandatory || FILLED.contains(&name) {
                assert!(
                    COLUMNS.contains(&name),
                    "focus.csv lacks {name} ({level:?})"
                );
            }
        }
        // Every other column is one of the spec's or an extension (x_ prefix).
        for c in COLUMNS {
            assert!(
                c.starts_with("x_") || FOCUS_1_2.iter().any(|(n, _)| *n == c),
                "{c} is not a FOCUS 1.2 column"
            );
        }
        // The table is sorted and has no column twice.
        assert!(FOCUS_1_2.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
