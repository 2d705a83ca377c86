//! Reading typed values out of raw JSON text, with errors that name the field.

use crate::money::Money;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::value::RawValue;

pub type FieldResult<T> = Result<T, String>;

/// A token or image count: a JSON integer, or a string holding one. Negative, fractional or
/// non-numeric values are errors naming `path`.
pub fn count(raw: Option<&RawValue>, path: &str) -> FieldResult<u64> {
    let Some(raw) = raw else { return Ok(0) };
    let text = raw.get().trim();
    if text == "null" {
        return Ok(0);
    }
    let t = text
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(text)
        .trim();
    if let Ok(n) = t.parse::<u64>() {
        return Ok(n);
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
                .map_err(|_| format!("field {path}: {t} is too large"));
        }
        return Err(format!("field {path}: {t} is not a whole number"));
    }
    if t.bytes().all(|b| b.is_ascii_digit()) && !t.is_empty() {
        return Err(format!("field {path}: {t} is too large"));
    }
    Err(format!("field {path}: {} is not a count", shorten(text)))
}

/// A money amount from its JSON text (number or string), exactly.
pub fn money(raw: Option<&RawValue>, path: &str) -> FieldResult<Option<Money>> {
    let Some(raw) = raw else { return Ok(None) };
    let text = raw.get().trim();
    if text == "null" {
        return Ok(None);
    }
    let t = text
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(text);
    Money::parse(t)
        .map(Some)
        .map_err(|_| format!("field {path}: '{}' is not a decimal", shorten(t)))
}

pub fn money_text(text: &str, path: &str) -> FieldResult<Option<Money>> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    Money::parse(t)
        .map(Some)
        .map_err(|_| format!("field {path}: '{}' is not a decimal", shorten(t)))
}

/// A JSON string value, or None for null/absent/non-strings.
pub fn string(raw: Option<&RawValue>) -> Option<String> {
    let raw = raw?;
    serde_json::from_str::<String>(raw.get()).ok()
}

/// A time: RFC 3339 (any offset), a naive date-time (read as UTC; the flag says so), a date,
/// or Unix seconds / milliseconds as a number.
pub fn time(raw: Option<&RawValue>, path: &str) -> FieldResult<Option<(DateTime<Utc>, bool)>> {
    let Some(raw) = raw else { return Ok(None) };
    let text = raw.get().trim();
    if text == "null" {
        return Ok(None);
    }
    if let Some(s) = text.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        return time_text(s, path).map(Some);
    }
    epoch(text, path).map(Some)
}

pub fn time_text(s: &str, path: &str) -> FieldResult<(DateTime<Utc>, bool)> {
    let s = s.trim();
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

fn epoch(text: &str, path: &str) -> FieldResult<(DateTime<Utc>, bool)> {
    let bad = || format!("field {path}: '{}' is not a time", shorten(text));
    let m = Money::parse(text).map_err(|_| bad())?.decimal();
    if m.is_sign_negative() {
        return Err(bad());
    }
    let secs = m.trunc();
    let nanos = ((m - secs) * rust_decimal::Decimal::from(1_000_000_000)).trunc();
    let secs: i64 = secs.try_into().map_err(|_| bad())?;
    let nanos: u32 = nanos.try_into().map_err(|_| bad())?;
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
            Err("field x: 99999999999999999999999 is too large".into())
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
        fn any_u64_count_roundtrips(n in any::<u64>()) {
            prop_assert_eq!(count(Some(&raw(&n.to_string())), "f"), Ok(n));
            prop_assert_eq!(count(Some(&raw(&format!("\"{n}\""))), "f"), Ok(n));
        }
    }
}
