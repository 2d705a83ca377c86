//! The Anthropic Admin API's Claude Code usage report (`GET
//! /v1/organizations/usage_report/claude_code`;
//! https://platform.claude.com/docs/en/api/admin/usage_report), saved as its pages:
//! `{"data": [{"actor", "date", "customer_type", "terminal_type", "model_breakdown": [{"model",
//! "tokens": {"input", "output", "cache_read", "cache_creation"}, "estimated_cost": {"amount",
//! "currency"}}], ...}], "has_more", "next_page"}`. Each record of `data` is one actor (a user's
//! `email_address` or an `api_key_name`) on one UTC day; each element of its `model_breakdown`
//! is one record here: that day's tokens of one model, summed. The report counts sessions,
//! not requests, so the records carry a request count of 0 (unknown), as the messages usage
//! report's do. `estimated_cost` is Anthropic's estimate in cents, not what was billed (for
//! `customer_type` "subscription" nothing is billed per token): the records are priced at the
//! catalog like any usage without a cost.

use super::build::{finish, payload_hash};
use super::entries::{Entry, Locator};
use super::fields::{count, string, time};
use super::response::Draft;
use super::results::LineOutcome;
use crate::record::{Kind, UsageRecord};
use serde::Deserialize;
use serde_json::value::RawValue;

type Raw<'a> = Option<&'a RawValue>;

#[derive(Deserialize)]
struct Day<'a> {
    #[serde(borrow)]
    actor: Option<Actor<'a>>,
    #[serde(borrow)]
    date: Raw<'a>,
    #[serde(borrow)]
    customer_type: Raw<'a>,
    #[serde(borrow)]
    terminal_type: Raw<'a>,
    #[serde(borrow)]
    model_breakdown: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct Actor<'a> {
    #[serde(borrow)]
    email_address: Raw<'a>,
    #[serde(borrow)]
    api_key_name: Raw<'a>,
}

#[derive(Deserialize)]
struct ModelUse<'a> {
    #[serde(borrow)]
    model: Raw<'a>,
    #[serde(borrow)]
    tokens: Option<Tokens<'a>>,
}

#[derive(Deserialize)]
struct Tokens<'a> {
    #[serde(borrow)]
    input: Raw<'a>,
    #[serde(borrow)]
    output: Raw<'a>,
    #[serde(borrow)]
    cache_read: Raw<'a>,
    #[serde(borrow)]
    cache_creation: Raw<'a>,
}

/// True when an element of a page's `data` is a Claude Code report record, not a time bucket.
pub fn is_report_day(raw: &RawValue) -> bool {
    #[derive(Deserialize)]
    struct Probe<'a> {
        #[serde(borrow)]
        model_breakdown: Raw<'a>,
        #[serde(borrow)]
        actor: Raw<'a>,
    }
    serde_json::from_str::<Probe>(raw.get())
        .is_ok_and(|p| p.model_breakdown.is_some() && p.actor.is_some())
}

/// The entries of one report record: one per model it used that day.
pub fn day_entries<'d>(raw: &'d RawValue, loc: &Locator<'d>, out: &mut Vec<Entry<'d>>) {
    let day = match serde_json::from_str::<Day>(raw.get()) {
        Ok(d) => d,
        Err(e) => {
            out.push((
                loc.source(raw),
                raw.get(),
                LineOutcome::Bad(format!("Claude Code report record: {e}")),
            ));
            return;
        }
    };
    for m in day.model_breakdown.as_deref().unwrap_or_default() {
        let source = loc.source(m);
        let outcome = match model_use(&day, m, &source) {
            Ok(Some(r)) => LineOutcome::Record(Box::new(r)),
            Ok(None) => LineOutcome::Skip,
            Err(e) => LineOutcome::Bad(e),
        };
        out.push((source, m.get(), outcome));
    }
}

fn model_use(
    day: &Day<'_>,
    raw: &RawValue,
    source: &crate::record::SourceRef,
) -> Result<Option<UsageRecord>, String> {
    let m: ModelUse =
        serde_json::from_str(raw.get()).map_err(|e| format!("model_breakdown: {e}"))?;
    let (when, _) = time(day.date, "date")?.ok_or("field date: missing")?;
    let t = m.tokens.ok_or("field tokens: missing")?;
    let mut d = Draft {
        // The report's dates are UTC days.
        time: Some((when, false)),
        provider: Some("anthropic".to_string()),
        kind: Some(Kind::Text),
        has_usage: true,
        ..Draft::default()
    };
    d.tokens.input = count(t.input, "tokens.input")?;
    d.tokens.output = count(t.output, "tokens.output")?;
    d.tokens.cache_read = count(t.cache_read, "tokens.cache_read")?;
    d.tokens.cache_write = count(t.cache_creation, "tokens.cache_creation")?;
    let k = &d.tokens;
    if k.input + k.output + k.cache_read + k.cache_write == 0 {
        return Ok(None);
    }
    d.model = Some(string(m.model).ok_or("field model: missing")?);
    let actor = day.actor.as_ref().and_then(|a| {
        string(a.email_address)
            .or_else(|| string(a.api_key_name))
            .filter(|s| !s.is_empty())
    });
    let text = |v: Raw<'_>| string(v).unwrap_or_default();
    d.id = Some(format!(
        "claude-code-report:{}:{}:{}:{}:{}",
        when.format("%Y-%m-%d"),
        actor.as_deref().unwrap_or(""),
        text(day.customer_type),
        text(day.terminal_type),
        d.model.as_deref().unwrap_or("")
    ));
    let ctx = super::entries::ctx(source);
    let mut rec = finish(d, &ctx, actor.as_deref(), false, None)?;
    // The report counts sessions, not requests.
    rec.requests = 0;
    rec.payload_hash = payload_hash(&rec);
    Ok(Some(rec))
}
