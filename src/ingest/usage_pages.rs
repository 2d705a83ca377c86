//! Pages of time buckets, as the providers' usage and cost APIs return them and as scripts save
//! them: `{"object": "page", "data": [{"start_time", "end_time", "results": [...]}], ...}`
//! (OpenAI) or `{"data": [{"starting_at", "ending_at", "results": [...]}], ...}` (Anthropic).
//! Each result is one entry; its shape tells which parser reads it (openai_usage.rs,
//! anthropic_usage.rs). Cost results (OpenAI `organization.costs.result`, Anthropic cost
//! report rows) are what was billed, not usage: skipped entries whose amounts the report
//! reconciles the usage rows against.

use super::entries::{Entry, Locator, Span};
use super::fields::{money, string, time};
use super::results::LineOutcome;
use crate::outcome::BilledCost;
use crate::text::Text;
use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Deserialize)]
struct Page<'a> {
    #[serde(borrow)]
    data: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Bucket<'a> {
    #[serde(borrow)]
    start_time: Option<&'a RawValue>,
    #[serde(borrow)]
    end_time: Option<&'a RawValue>,
    #[serde(borrow)]
    starting_at: Option<&'a RawValue>,
    #[serde(borrow)]
    ending_at: Option<&'a RawValue>,
    #[serde(borrow)]
    results: Option<Vec<&'a RawValue>>,
}

/// Which provider a result comes from, from its members.
#[derive(Deserialize)]
struct Shape<'a> {
    #[serde(borrow)]
    object: Option<&'a RawValue>,
    #[serde(borrow)]
    uncached_input_tokens: Option<&'a RawValue>,
    #[serde(borrow)]
    cost_type: Option<&'a RawValue>,
    #[serde(borrow)]
    amount: Option<&'a RawValue>,
}

/// The entries of one page, or of several pages saved one after another in one file (a script
/// appending each page as a line).
pub fn entries<'d>(text: &'d str, loc: &Locator<'d>) -> Result<Vec<Entry<'d>>, String> {
    let mut out = Vec::new();
    for page in serde_json::Deserializer::from_str(text).into_iter::<&RawValue>() {
        let page = page.map_err(|e| format!("usage page: {e}"))?;
        page_entries(page, loc, &mut out)?;
    }
    Ok(out)
}

fn page_entries<'d>(
    raw: &'d RawValue,
    loc: &Locator<'d>,
    out: &mut Vec<Entry<'d>>,
) -> Result<(), String> {
    let page: Page = serde_json::from_str(raw.get()).map_err(|e| format!("usage page: {e}"))?;
    let data = page.data.ok_or("usage page: field data: missing")?;
    let buckets: Vec<&RawValue> =
        serde_json::from_str(data.get()).map_err(|_| "usage page: field data: not an array")?;
    for raw in buckets {
        // Claude Code report pages hold actor days, not time buckets.
        if super::claude_code_report::is_report_day(raw) {
            super::claude_code_report::day_entries(raw, loc, out);
            continue;
        }
        let bucket = serde_json::from_str::<Bucket>(raw.get())
            .map_err(|e| e.to_string())
            .and_then(|b| span(&b).map(|s| (b, s)));
        let (bucket, span) = match bucket {
            Ok(b) => b,
            Err(e) => {
                out.push((
                    loc.source(raw),
                    raw.get(),
                    LineOutcome::Bad(format!("bucket: {e}")),
                ));
                continue;
            }
        };
        for r in bucket.results.unwrap_or_default() {
            let source = loc.source(r);
            let outcome = result(r, &span, &source);
            out.push((source, r.get(), outcome));
        }
    }
    Ok(())
}

fn span(b: &Bucket<'_>) -> Result<Span, String> {
    let (start, end, names) = match (b.start_time, b.starting_at) {
        (Some(s), _) => (s, b.end_time, "start_time"),
        (None, Some(s)) => (s, b.ending_at, "starting_at"),
        (None, None) => return Err("field start_time: missing".to_string()),
    };
    let (t, _) = time(Some(start), names)?.ok_or(format!("field {names}: missing"))?;
    let end = end.map(|e| e.get().trim()).unwrap_or("");
    Ok(Span {
        start: t,
        key: format!("{}/{}", start.get().trim(), end),
    })
}

fn result(raw: &RawValue, span: &Span, source: &crate::record::SourceRef) -> LineOutcome {
    let shape: Shape = match serde_json::from_str(raw.get()) {
        Ok(s) => s,
        Err(e) => return LineOutcome::Bad(format!("result: {e}")),
    };
    let object = super::fields::string(shape.object).unwrap_or_default();
    let ctx = super::entries::ctx(source);
    let parsed = if object.starts_with("organization.usage.") {
        super::openai_usage::parse(raw, &object, span, &ctx)
    } else if object == "organization.costs.result" {
        return match openai_cost(raw, span) {
            Ok(b) => LineOutcome::Billed(Box::new(b)),
            Err(e) => LineOutcome::Bad(e),
        };
    } else if shape.object.is_none() && (shape.cost_type.is_some() || shape.amount.is_some()) {
        return match anthropic_cost(raw, span) {
            Ok(b) => LineOutcome::Billed(Box::new(b)),
            Err(e) => LineOutcome::Bad(e),
        };
    } else if shape.uncached_input_tokens.is_some() {
        super::anthropic_usage::parse(raw, span, &ctx)
    } else {
        return LineOutcome::Bad(
            "result: neither a usage result (OpenAI organization.usage.*, Anthropic \
             uncached_input_tokens) nor a cost result"
                .to_string(),
        );
    };
    match parsed {
        Ok(Some(r)) => LineOutcome::Record(Box::new(r)),
        Ok(None) => LineOutcome::Skip,
        Err(e) => LineOutcome::Bad(e),
    }
}

#[derive(Deserialize)]
struct CostResult<'a> {
    #[serde(borrow)]
    amount: Option<Amount<'a>>,
    #[serde(borrow)]
    line_item: Option<&'a RawValue>,
    #[serde(borrow)]
    project_id: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Amount<'a> {
    #[serde(borrow)]
    value: Option<&'a RawValue>,
    #[serde(borrow)]
    currency: Option<&'a RawValue>,
}

/// Cost exports are reconciled in USD: a missing currency is taken as USD, any other refused.
fn usd(currency: Option<&RawValue>, field: &str) -> Result<(), String> {
    match string(currency) {
        Some(c) if !c.eq_ignore_ascii_case("usd") => Err(format!(
            "field {field}: {c}; reprice reconciles costs in USD"
        )),
        _ => Ok(()),
    }
}

/// A result of the OpenAI Costs API (`GET /v1/organization/costs`;
/// https://platform.openai.com/docs/api-reference/usage/costs): `amount.value` in
/// `amount.currency` billed in the bucket for one `line_item` and `project_id`.
fn openai_cost(raw: &RawValue, span: &Span) -> Result<BilledCost, String> {
    let c: CostResult = serde_json::from_str(raw.get()).map_err(|e| format!("result: {e}"))?;
    let amount = c.amount.ok_or("field amount: missing")?;
    usd(amount.currency, "amount.currency")?;
    let value = money(amount.value, "amount.value")?.ok_or("field amount.value: missing")?;
    Ok(BilledCost {
        provider: Text::new("openai"),
        day: span.start.date_naive(),
        project: string(c.project_id).as_deref().map(Text::new),
        line_item: string(c.line_item),
        amount: value,
    })
}

#[derive(Deserialize)]
struct AnthropicCost<'a> {
    #[serde(borrow)]
    amount: Option<&'a RawValue>,
    #[serde(borrow)]
    currency: Option<&'a RawValue>,
    #[serde(borrow)]
    workspace_id: Option<&'a RawValue>,
    #[serde(borrow)]
    description: Option<&'a RawValue>,
}

/// A row of the Anthropic cost report (`GET /v1/organizations/cost_report`;
/// https://platform.claude.com/docs/en/api/admin/cost_report): `amount` is a decimal string in
/// the currency's lowest units ("123.45" USD is $1.2345), per bucket and `workspace_id`.
fn anthropic_cost(raw: &RawValue, span: &Span) -> Result<BilledCost, String> {
    let c: AnthropicCost = serde_json::from_str(raw.get()).map_err(|e| format!("result: {e}"))?;
    usd(c.currency, "currency")?;
    let cents = money(c.amount, "amount")?.ok_or("field amount: missing")?;
    let amount =
        crate::money::Money::from_decimal(cents.decimal() / rust_decimal::Decimal::ONE_HUNDRED);
    Ok(BilledCost {
        provider: Text::new("anthropic"),
        day: span.start.date_naive(),
        project: string(c.workspace_id).as_deref().map(Text::new),
        line_item: string(c.description),
        amount,
    })
}
