//! Reading typed values out of raw JSON text, with errors that name the field.

use crate::money::Money;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::value::RawValue;
use std::fmt::Display;

pub type FieldResult<T> = Result<T, String>;

/// The largest count one line may report. No request uses a trillion tokens, and keeping every
/// count below it means ten million records still sum inside a u64 and every cost inside a
/// Decimal, so totals downstream cannot overflow.
pub const MAX_COUNT: u64 = 1_000_000_000_000;

/// The largest amount of money one line may report, for the same reason as `MAX_COUNT`.
pub const MAX_MONEY: i64 = 1_000_000_000_000;

/// A raw value's text without the whitespace around it. JSON whitespace is ASCII, so around a
/// value there is no other kind, and the ASCII trim is the cheap one: it runs several times
/// per line.
fn json_text(raw: &RawValue) -> &str {
    raw.get().trim_ascii()
}

/// A token or image count: a JSON integer, or a string holding one. Negative, fractional or
/// non-numeric values are errors naming `path`.
pub fn count<P: Display + ?Sized>(raw: Option<&RawValue>, path: &P) -> FieldResult<u64> {
    let Some(raw) = raw else { return Ok(0) };
    let text = json_text(raw);
    if text == "null" {
        return Ok(0);
    }
    let t = crate::text::trimmed(
        text.strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or(text),
    );
    if let Ok(n) = t.parse::<u64>() {
        return within_limit(n, t, path);
    }
    if t.starts_with('-') && t[1..].bytes().all(|b| b.is_ascii_digit()) && t.len() > 1 {
        return Err(format!("field {path}: {t} is negative"));
    }
    // 1.2e3 or 12.0: exact only when the value is a whole number.
    if let Ok(m) = Money::parse(t) {
        let d = m.decimal();
        if d.is_sign_negative() && !d.is_zero() {
            return Err(format!("field {path}: {t} is negative"));
        }
        if d.fract().is_zero() {
            return u64::try_from(d.mantissa() / 10i128.pow(d.scale()))
                .map_err(|_| too_large(t, path))
                .and_then(|n| within_limit(n, t, path));
        }
        return Err(format!("field {path}: {t} is not a whole number"));
    }
    if t.bytes().all(|b| b.is_ascii_digit()) && !t.is_empty() {
        return Err(too_large(t, path));
    }
    Err(format!("field {path}: {} is not a count", shorten(text)))
}

fn too_large<P: Display + ?Sized>(t: &str, path: &P) -> String {
    format!(
        "field {path}: {} is too large (limit {MAX_COUNT})",
        shorten(t)
    )
}

fn within_limit<P: Display + ?Sized>(n: u64, t: &str, path: &P) -> FieldResult<u64> {
    if n > MAX_COUNT {
        Err(too_large(t, path))
    } else {
        Ok(n)
    }
}

fn money_within_limit<P: Display + ?Sized>(
    m: Money,
    t: &str,
    path: &P,
) -> FieldResult<Option<Money>> {
    if m.decimal().abs() > rust_decimal::Decimal::from(MAX_MONEY) {
        return Err(format!(
            "field {path}: '{}' is too large (limit {MAX_MONEY})",
            shorten(t)
        ));
    }
    Ok(Some(m))
}

/// A money amount from its JSON text (number or string), exactly.
pub fn money<P: Display + ?Sized>(raw: Option<&RawValue>, path: &P) -> FieldResult<Option<Money>> {
    let Some(raw) = raw else { return Ok(None) };
    let text = json_text(raw);
    if text == "null" {
        return Ok(None);
    }
    let t = text
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(text);
    let m = Money::parse(t).map_err(|_| not_a_decimal(t, path))?;
    money_within_limit(m, t, path)
}

/// Says why a number rust_decimal cannot hold is refused, so "30 digits" is not reported as if
/// the text were not a number at all.
fn not_a_decimal<P: Display + ?Sized>(t: &str, path: &P) -> String {
    let digits = t.bytes().filter(u8::is_ascii_digit).count();
    let plain = !t.is_empty()
        && t.bytes()
            .enumerate()
            .all(|(i, b)| b.is_ascii_digit() || b == b'.' || (i == 0 && (b == b'-' || b == b'+')));
    if plain && digits > 28 {
        format!(
            "field {path}: '{}' has {digits} digits; at most 28 are kept exactly",
            shorten(t)
        )
    } else if is_scientific(t) {
        format!(
            "field {path}: '{}' is out of the exact decimal range",
            shorten(t)
        )
    } else {
        format!("field {path}: '{}' is not a decimal", shorten(t))
    }
}

pub fn money_text<P: Display + ?Sized>(text: &str, path: &P) -> FieldResult<Option<Money>> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let m = Money::parse(t).map_err(|_| not_a_decimal(t, path))?;
    money_within_limit(m, t, path)
}

/// `1.5e400`: well-formed scientific notation (checked on the text, never through a float).
fn is_scientific(t: &str) -> bool {
    let Some((mantissa, exp)) = t.split_once(['e', 'E']) else {
        return false;
    };
    let exp = exp.strip_prefix(['-', '+']).unwrap_or(exp);
    let mantissa = mantissa.strip_prefix(['-', '+']).unwrap_or(mantissa);
    !exp.is_empty()
        && exp.bytes().all(|b| b.is_ascii_digit())
        && mantissa.bytes().any(|b| b.is_ascii_digit())
        && mantissa.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && mantissa.bytes().filter(|b| *b == b'.').count() <= 1
}

/// A JSON string value, or None for null/absent/non-strings.
pub fn string(raw: Option<&RawValue>) -> Option<String> {
    let text = json_text(raw?);
    if !text.starts_with('"') {
        return None;
    }
    // The raw value was already checked as a JSON string; without escapes it is its own text.
    match text.get(1..text.len() - 1) {
        Some(inner) if text.len() >= 2 && !inner.contains('\\') => Some(inner.to_string()),
        _ => serde_json::from_str::<String>(text).ok(),
    }
}

/// A time: RFC 3339 (any offset), a naive date-time (read as UTC; the flag says so), a date,
/// or Unix seconds / milliseconds as a number.
pub fn time<P: Display + ?Sized>(
    raw: Option<&RawValue>,
    path: &P,
) -> FieldResult<Option<(DateTime<Utc>, bool)>> {
    let Some(raw) = raw else { return Ok(None) };
    let text = json_text(raw);
    if text == "null" {
        return Ok(None);
    }
    if let Some(s) = text.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        return time_text(s, path).map(Some);
    }
    epoch(text, path).map(Some)
}

pub fn time_text<P: Display + ?Sized>(s: &str, path: &P) -> FieldResult<(DateTime<Utc>, bool)> {
    let s = crate::text::trimmed(s);
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok((t.with_timezone(&Utc), false));
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%:z") {
        return Ok((t.with_timezone(&Utc), false));
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f %z") {
        return Ok((t.with_timezone(&Utc), false));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Ok((Utc.from_utc_datetime(&t), true));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok((
            Utc.from_utc_datetime(&d.and_time(chrono::NaiveTime::MIN)),
            true,
        ));
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return epoch(s, path);
    }
    Err(format!("field {path}: '{}' is not a time", shorten(s)))
}

fn epoch<P: Display + ?Sized>(text: &str, path: &P) -> FieldResult<(DateTime<Utc>, bool)> {
    let bad = || format!("field {path}: '{}' is not a time", shorten(text));
    // Whole seconds, as most logs write them, without a decimal parse.
    let (secs, nanos) = match text.parse::<u64>() {
        Ok(n) => (i64::try_from(n).map_err(|_| bad())?, 0),
        Err(_) => {
            let m = Money::parse(text).map_err(|_| bad())?.decimal();
            if m.is_sign_negative() {
                return Err(bad());
            }
            let secs = m.trunc();
            let nanos = ((m - secs) * rust_decimal::Decimal::from(1_000_000_000)).trunc();
            let secs: i64 = secs.try_into().map_err(|_| bad())?;
            let nanos: u32 = nanos.try_into().map_err(|_| bad())?;
            (secs, nanos)
        }
    };
    // Numbers past the year 5000 in seconds are milliseconds.
    let t = if secs > 95_617_584_000 {
        Utc.timestamp_millis_opt(secs).single()
    } else {
        Utc.timestamp_opt(secs, nanos).single()
    };
    t.map(|t| (t, false)).ok_or_else(bad)
}

pub fn shorten(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head}...")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_string()).expect("raw")
    }

    #[test]
    fn counts() {
        assert_eq!(count(Some(&raw("1290")), "u.o"), Ok(1290));
        assert_eq!(count(Some(&raw("\"1290\"")), "u.o"), Ok(1290));
        assert_eq!(count(Some(&raw("1.29e3")), "u.o"), Ok(1290));
        assert_eq!(count(Some(&raw("null")), "u.o"), Ok(0));
        assert_eq!(count(None, "u.o"), Ok(0));
        assert_eq!(
            count(Some(&raw("-5")), "usage.output_tokens"),
            Err("field usage.output_tokens: -5 is negative".into())
        );
        assert_eq!(
            count(Some(&raw("1.5")), "x"),
            Err("field x: 1.5 is not a whole number".into())
        );
        assert_eq!(
            count(Some(&raw("\"abc\"")), "x"),
            Err("field x: \"abc\" is not a count".into())
        );
        assert_eq!(
            count(Some(&raw("99999999999999999999999")), "x"),
            Err("field x: 99999999999999999999999 is too large (limit 1000000000000)".into())
        );
        assert_eq!(
            count(Some(&raw("18446744073709551615")), "x"),
            Err("field x: 18446744073709551615 is too large (limit 1000000000000)".into())
        );
        assert_eq!(count(Some(&raw("1000000000000")), "x"), Ok(MAX_COUNT));
        assert_eq!(
            count(Some(&raw("1e13")), "x"),
            Err("field x: 1e13 is too large (limit 1000000000000)".into())
        );
    }

    #[test]
    fn money_limits_and_digits() {
        assert_eq!(
            money(Some(&raw("79228162514264337593543950335")), "cost"),
            Err(
                "field cost: '79228162514264337593543950335' is too large (limit 1000000000000)"
                    .into()
            )
        );
        assert_eq!(
            money(Some(&raw("-1000000000001")), "cost"),
            Err("field cost: '-1000000000001' is too large (limit 1000000000000)".into())
        );
        assert_eq!(
            money(Some(&raw("123456789012345678901234567890")), "cost"),
            Err("field cost: '123456789012345678901234567890' has 30 digits; at most 28 are kept exactly".into())
        );
        assert_eq!(
            money(Some(&raw("1e400")), "cost"),
            Err("field cost: '1e400' is out of the exact decimal range".into())
        );
        assert_eq!(
            money_text("2e12", "cost"),
            Err("field cost: '2e12' is too large (limit 1000000000000)".into())
        );
    }

    #[test]
    fn money_is_read_from_text() {
        assert_eq!(
            money(Some(&raw("0.0133")), "cost").map(|m| m.map(|m| m.exact())),
            Ok(Some("0.0133".into()))
        );
        assert_eq!(
            money(Some(&raw("1e-6")), "cost").map(|m| m.map(|m| m.exact())),
            Ok(Some("0.000001".into()))
        );
        assert_eq!(
            money(Some(&raw("\"0.04\"")), "cost").map(|m| m.map(|m| m.exact())),
            Ok(Some("0.04".into()))
        );
        assert_eq!(
            money(Some(&raw("\"abc\"")), "cost"),
            Err("field cost: 'abc' is not a decimal".into())
        );
    }

    #[test]
    fn times() {
        let t =
            |s: &str| time(Some(&raw(s)), "timestamp").map(|o| o.map(|(t, a)| (t.to_rfc3339(), a)));
        assert_eq!(
            t("\"2026-03-08T01:30:00-05:00\""),
            Ok(Some(("2026-03-08T06:30:00+00:00".into(), false)))
        );
        assert_eq!(
            t("\"2026-03-08T06:30:00Z\""),
            Ok(Some(("2026-03-08T06:30:00+00:00".into(), false)))
        );
        assert_eq!(
            t("\"2026-03-08 06:30:00\""),
            Ok(Some(("2026-03-08T06:30:00+00:00".into(), true)))
        );
        assert_eq!(
            t("1772951400"),
            Ok(Some(("2026-03-08T06:30:00+00:00".into(), false)))
        );
        assert_eq!(
            t("1772951400000"),
            Ok(Some(("2026-03-08T06:30:00+00:00".into(), false)))
        );
        assert_eq!(
            t("\"yesterday\""),
            Err("field timestamp: 'yesterday' is not a time".into())
        );
        // Whole seconds are read as integers, anything else as a decimal: the same times.
        assert_eq!(
            t("1772951400.25"),
            Ok(Some(("2026-03-08T06:30:00.250+00:00".into(), false)))
        );
        assert_eq!(
            t("\"1772951400\""),
            Ok(Some(("2026-03-08T06:30:00+00:00".into(), false)))
        );
        assert_eq!(
            t("18446744073709551615"),
            Err("field timestamp: '18446744073709551615' is not a time".into())
        );
        assert_eq!(t("-1"), Err("field timestamp: '-1' is not a time".into()));
    }

    proptest! {
        #[test]
        fn count_never_panics(s in ".{0,40}") {
            if let Ok(r) = RawValue::from_string(s.clone()) {
                let _ = count(Some(&r), "f");
                let _ = money(Some(&r), "f");
                let _ = time(Some(&r), "f");
            }
            let _ = time_text(&s, "f");
        }

        #[test]
        fn any_count_in_limit_roundtrips(n in 0..=MAX_COUNT) {
            prop_assert_eq!(count(Some(&raw(&n.to_string())), "f"), Ok(n));
            prop_assert_eq!(count(Some(&raw(&format!("\"{n}\""))), "f"), Ok(n));
        }

        #[test]
        fn counts_above_limit_are_refused(n in (MAX_COUNT + 1)..=u64::MAX) {
            prop_assert!(count(Some(&raw(&n.to_string())), "f").is_err());
        }
    }
}
