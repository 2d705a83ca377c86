//! Exact money. Every amount that flows through reprice is a `Money`; nothing is ever an `f64`.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Mul, Neg, Sub, SubAssign};
use std::str::FromStr;

/// An exact amount in the report currency.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(Decimal);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{text}' is not a decimal")]
pub struct MoneyParseError {
    pub text: String,
}

/// 10^0 to 10^28, the largest scale a `Decimal` has: bringing a mantissa to another scale is
/// one multiplication, not a loop of them.
pub const POW10: [i128; Decimal::MAX_SCALE as usize + 1] = {
    let mut t = [1i128; Decimal::MAX_SCALE as usize + 1];
    let mut i = 1;
    while i < t.len() {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

const MILLION: Decimal = Decimal::from_parts(1_000_000, 0, 0, false, 0);

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    pub const fn from_decimal(d: Decimal) -> Self {
        Money(d)
    }

    pub fn decimal(self) -> Decimal {
        self.0
    }

    /// The exact value in 16 bytes, for temporary files.
    pub fn to_bytes(self) -> [u8; 16] {
        self.0.serialize()
    }

    pub fn from_bytes(b: [u8; 16]) -> Money {
        Money(Decimal::deserialize(b))
    }

    /// Parses the text of a number exactly, including exponent notation (`1e-6`) as some
    /// exporters write it. A leading `+` and surrounding spaces are accepted; anything else
    /// that is not a finite decimal is an error.
    pub fn parse(text: &str) -> Result<Self, MoneyParseError> {
        let err = || MoneyParseError {
            text: text.to_string(),
        };
        let t = crate::text::trimmed(text);
        let t = t.strip_prefix('+').unwrap_or(t);
        if t.is_empty() || t.len() > 64 {
            return Err(err());
        }
        let d = if t.contains(['e', 'E']) {
            Decimal::from_scientific(t).map_err(|_| err())?
        } else {
            Decimal::from_str_exact(t).map_err(|_| err())?
        };
        Ok(Money(d.normalize()))
    }

    /// `units x price_per_million / 10^6`: how providers define token prices. Exact, because
    /// dividing by a power of ten only moves the decimal point.
    pub fn per_million(units: u64, price_per_million: Money) -> Money {
        if units == 0 || price_per_million.0.is_zero() {
            return Money::ZERO;
        }
        // Moving the point is done on the scale when the result fits: a division per token
        // count was a visible part of re-pricing. Same value either way.
        let p = price_per_million.0;
        if let Some(m) = i128::from(units).checked_mul(p.mantissa())
            && let Ok(d) = Decimal::try_from_i128_with_scale(m, p.scale() + 6)
        {
            return Money(d);
        }
        Money((Decimal::from(units) * p) / MILLION)
    }

    /// The sum of `per_million` over `terms` (units, price per million), added from zero in
    /// order: the same value, at the same scale. A token cost adds up to six such terms per
    /// model priced, and each `Decimal` addition aligns scales first; here the terms are
    /// added as integers at the largest scale when every one is non-negative and the sum fits,
    /// which is when the additions are exact.
    pub fn sum_per_million(terms: &[(u64, Money)]) -> Money {
        let priced = || terms.iter().filter(|(n, p)| *n > 0 && !p.0.is_zero());
        let exact = priced().all(|(_, p)| p.0.is_sign_positive());
        let scale = priced().map(|(_, p)| p.0.scale() + 6).max().unwrap_or(0);
        if exact && scale <= Decimal::MAX_SCALE {
            let total = priced().try_fold(0u128, |t, &(n, p)| {
                // Both scales are at most MAX_SCALE here, so the power is in the table.
                let f = POW10[(scale - (p.0.scale() + 6)) as usize].unsigned_abs();
                u128::from(n)
                    .checked_mul(p.0.mantissa().unsigned_abs())?
                    .checked_mul(f)?
                    .checked_add(t)
            });
            if let Some(d) = total
                .and_then(|t| i128::try_from(t).ok())
                .and_then(|t| Decimal::try_from_i128_with_scale(t, scale).ok())
            {
                return Money(d);
            }
        }
        terms.iter().fold(Money::ZERO, |acc, &(n, p)| {
            if n > 0 {
                acc + Money::per_million(n, p)
            } else {
                acc
            }
        })
    }

    pub fn times(self, units: u64) -> Money {
        Money(self.0 * Decimal::from(units))
    }

    pub fn times_decimal(self, factor: Decimal) -> Money {
        Money(self.0 * factor)
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    pub fn abs(self) -> Money {
        Money(self.0.abs())
    }

    /// The exact value as text, without trailing zeros: what summary.json carries.
    pub fn exact(self) -> String {
        let mut s = String::new();
        // Writing into a String cannot fail.
        let _ = self.write_exact(&mut s);
        s
    }

    /// `exact` written into `w`, for callers that hash or stream the text instead of keeping it.
    pub fn write_exact(self, w: &mut impl std::fmt::Write) -> std::fmt::Result {
        let n = self.0.normalize();
        if n.is_zero() {
            w.write_str("0")
        } else {
            write!(w, "{n}")
        }
    }

    /// Rounded once, half-even, for tables.
    pub fn display(self, places: u32) -> String {
        let r = self
            .0
            .round_dp_with_strategy(places, RoundingStrategy::MidpointNearestEven);
        let mut s = format!("{:.*}", places as usize, r);
        if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
            s.remove(0);
        }
        s
    }

    /// Share of `self` in `whole`, as a decimal in 0..1 (or beyond when the parts exceed the
    /// whole); `None` when the whole is zero.
    pub fn share_of(self, whole: Money) -> Option<Decimal> {
        if whole.0.is_zero() {
            None
        } else {
            self.0.checked_div(whole.0)
        }
    }

    /// `self / n` for prorating a fee over days, exact to 28 significant digits.
    pub fn divided_by(self, n: Decimal) -> Option<Money> {
        self.0.checked_div(n).map(Money)
    }
}

/// A share (0..1) rounded for display, as a decimal string.
pub fn share_text(d: Decimal, places: u32) -> String {
    let r = d.round_dp_with_strategy(places, RoundingStrategy::MidpointNearestEven);
    format!("{:.*}", places as usize, r)
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.exact())
    }
}

impl FromStr for Money {
    type Err = MoneyParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Money::parse(s)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}
impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        self.0 += rhs.0;
    }
}
impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0 - rhs.0)
    }
}
impl SubAssign for Money {
    fn sub_assign(&mut self, rhs: Money) {
        self.0 -= rhs.0;
    }
}
impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}
impl Mul<Decimal> for Money {
    type Output = Money;
    fn mul(self, rhs: Decimal) -> Money {
        Money(self.0 * rhs)
    }
}
impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + b)
    }
}
impl<'a> Sum<&'a Money> for Money {
    fn sum<I: Iterator<Item = &'a Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + *b)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.exact())
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Prices in TOML/JSON configs are written as strings ("0.1344") so they stay exact;
        // integers are exact too. Floats are refused: their text is already lost.
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Money;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a decimal written as a string, e.g. \"0.1344\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Money, E> {
                Money::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Money, E> {
                Ok(Money(Decimal::from(v)))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Money, E> {
                Ok(Money(Decimal::from(v)))
            }
        }
        d.deserialize_any(V)
    }
}

impl schemars::JsonSchema for Money {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Money".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^-?[0-9]+(\\.[0-9]+)?$",
            "description": "An exact decimal amount written as a string, e.g. \"0.1344\"."
        })
    }
}

/// A dimensionless exact fraction (a discount, a share), written as a decimal string.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ratio(pub Decimal);

impl Serialize for Ratio {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Money(self.0).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Ratio {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Money::deserialize(d).map(|m| Ratio(m.0))
    }
}

impl schemars::JsonSchema for Ratio {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Ratio".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]+(\\.[0-9]+)?$",
            "description": "An exact fraction written as a decimal string, e.g. \"0.5\"."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(s: &str) -> Money {
        Money::parse(s).expect("test literal")
    }

    #[test]
    fn ten_million_tiny_amounts_sum_exactly() {
        let unit = m("0.000002");
        let total: Money = std::iter::repeat_n(unit, 10_000_000).sum();
        assert_eq!(total.exact(), "20");
        assert_eq!(total.display(6), "20.000000");
    }

    #[test]
    fn seed_worked_examples() {
        // Flux Pro on NanoGPT: 200 input + 1,290 output tokens at $2/$10 per million.
        let flux = Money::per_million(200, m("2.00")) + Money::per_million(1290, m("10.00"));
        assert_eq!(flux.exact(), "0.0133");
        // Gemini 3 Pro Image: 1,120 output tokens (2K) and 2,000 (4K) at $120 per million.
        let g2k = Money::per_million(1120, m("120.00"));
        let g4k = Money::per_million(2000, m("120.00"));
        assert_eq!(g2k.exact(), "0.1344");
        assert_eq!(g4k.exact(), "0.24");
        // The batch tier is half.
        assert_eq!(g2k.times_decimal(m("0.5").decimal()).exact(), "0.0672");
        assert_eq!(g4k.times_decimal(m("0.5").decimal()).exact(), "0.12");
        // The generic example: 100 input at $5/M and 1,000 output at $10/M.
        let generic = Money::per_million(100, m("5.00")) + Money::per_million(1000, m("10.00"));
        assert_eq!(generic.exact(), "0.0105");
    }

    #[test]
    fn parses_exponents_and_refuses_junk() {
        assert_eq!(m("1e-6").exact(), "0.000001");
        assert_eq!(m("2.5E3").exact(), "2500");
        assert_eq!(m(" +0.040 ").exact(), "0.04");
        assert_eq!(m("-0.5").exact(), "-0.5");
        for bad in ["abc", "", "1.2.3", "NaN", "inf", "0x10", "1e", "--1"] {
            let e = Money::parse(bad).expect_err(bad);
            assert_eq!(e.to_string(), format!("'{bad}' is not a decimal"));
        }
    }

    #[test]
    fn display_rounds_half_even_once() {
        assert_eq!(m("0.0000005").display(6), "0.000000");
        assert_eq!(m("0.0000015").display(6), "0.000002");
        assert_eq!(m("0.0000025").display(6), "0.000002");
        assert_eq!(m("-0.0000001").display(6), "0.000000");
        assert_eq!(m("12.5").display(0), "12");
    }

    #[test]
    fn serializes_as_exact_string() {
        let v = serde_json::to_string(&m("0.134400")).expect("serialize");
        assert_eq!(v, "\"0.1344\"");
        let back: Money = serde_json::from_str("\"0.1344\"").expect("deserialize");
        assert_eq!(back, m("0.1344"));
        assert!(serde_json::from_str::<Money>("0.1344").is_err());
    }

    fn amount() -> impl Strategy<Value = Money> {
        // Magnitudes from 1e-9 to 1e9, as integers scaled by 9 digits.
        (0i64..=1_000_000_000_000_000_000i64, prop::bool::ANY).prop_map(|(n, neg)| {
            let d = Decimal::from_i128_with_scale(n as i128, 9);
            Money(if neg { -d } else { d })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512)))]

        #[test]
        fn sums_are_exact_and_order_free(xs in prop::collection::vec(amount(), 0..200)) {
            let forward: Money = xs.iter().sum();
            let backward: Money = xs.iter().rev().sum();
            prop_assert_eq!(forward, backward);
            // Against an independent exact sum in i128 nano-units.
            let nanos: i128 = xs.iter().map(|m| (m.0 * Decimal::from(1_000_000_000)).mantissa()
                / 10i128.pow((m.0 * Decimal::from(1_000_000_000)).scale())).sum();
            prop_assert_eq!(forward.0, Decimal::from_i128_with_scale(nanos, 9));
        }

        #[test]
        fn parse_roundtrips_exact_text(n in any::<i64>(), scale in 0u32..=12) {
            let d = Decimal::new(n, scale);
            let back = Money::parse(&d.to_string()).expect("own text parses");
            prop_assert_eq!(back.0, d);
            prop_assert_eq!(Money::parse(&back.exact()).expect("exact parses"), back);
        }

        #[test]
        fn per_million_is_exact(units in 0u64..10_000_000_000, cents in 0i64..100_000_000) {
            let price = Money(Decimal::new(cents, 2));
            let cost = Money::per_million(units, price);
            prop_assert_eq!(cost.0 * Decimal::from(1_000_000), Decimal::from(units) * price.0);
        }

        #[test]
        /// Same value and same scale (so the same text) as adding each term in turn.
        fn sum_per_million_is_the_sum_of_terms(
            terms in proptest::collection::vec(
                (
                    prop_oneof![Just(0u64), 1u64..1_000_000_000_000, Just(u64::MAX)],
                    prop_oneof![Just(0i64), any::<i64>(), 0i64..100_000_000],
                    0u32..=28,
                ),
                0..7,
            ),
        ) {
            let terms: Vec<(u64, Money)> = terms
                .into_iter()
                .map(|(n, m, s)| (n, Money(Decimal::new(m, s))))
                .collect();
            let added = std::panic::catch_unwind(|| {
                terms.iter().fold(Money::ZERO, |acc, &(n, p)| {
                    if n > 0 { acc + Money::per_million(n, p) } else { acc }
                })
            });
            if let Ok(want) = added {
                let got = Money::sum_per_million(&terms);
                prop_assert_eq!(got.0.to_string(), want.0.to_string());
            }
        }

        #[test]
        fn per_million_equals_the_division(
            units in 0u64..=1_000_000_000_000,
            mantissa in any::<i64>(),
            scale in 0u32..=28,
        ) {
            let price = Money(Decimal::new(mantissa, scale));
            let divided = Decimal::from(units)
                .checked_mul(price.0)
                .and_then(|p| p.checked_div(MILLION));
            if let Some(d) = divided {
                prop_assert_eq!(Money::per_million(units, price).0, d);
            }
        }
    }
}
