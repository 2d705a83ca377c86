//! Response-log envelopes (`{"timestamp", "api_key", "request", "response", "status"}`) and bare
//! response bodies that carry their own time.

use super::build::{LineCtx, finish, hash_bytes};
use super::detect::Probe;
use super::fields::{count, string, time};
use super::request::parse_request;
use super::response::{BodyField, Draft, parse_body, require_usage, strip_search_suffix};
use crate::record::{Status, UsageRecord};
use serde_json::value::RawValue;

pub fn parse_envelope<B>(
    p: &Probe<'_, B>,
    response: BodyField<'_, '_>,
    ctx: &LineCtx<'_>,
) -> Result<UsageRecord, String> {
    let when = time(p.timestamp, "timestamp")?;
    let mut d = response.draft("response")?.unwrap_or_default();
    if let Some(t) = when {
        d.time = Some(t);
    }
    if d.time.is_none() {
        return Err("field timestamp: missing".to_string());
    }
    let http = http_status(p.status)?;
    if let Some(s) = http {
        // The response body knows better whether a failure was a policy rejection.
        if d.status.is_none() || s == Status::Ok {
            d.status = d.status.or(Some(s));
        }
    }
    if p.error.is_some_and(|e| e.get() != "null") && d.status.is_none() {
        d.status = Some(Status::Failed);
    }
    let mut request_hash = None;
    if let Some(req) = p.request.filter(|r| r.get() != "null") {
        parse_request(req)?.apply(&mut d)?;
        request_hash = Some(hash_bytes(req.get().as_bytes()));
    }
    if let Some(m) = string(p.model) {
        d.model = Some(m);
    }
    if let Some(pr) = string(p.provider) {
        // The envelope is written by the caller, who knows whom it bought from.
        d.seller = Some((
            crate::provider::canonical(&pr),
            crate::provider::ProviderFrom::Envelope,
        ));
        d.provider = Some(pr);
    }
    if let Some(id) = string(p.id) {
        d.id = Some(id);
    }
    mark_retry(p, &mut d)?;
    d.model = d
        .model
        .take()
        .map(|m| strip_search_suffix(&m, &mut d.extras));
    require_usage(&d, "response")?;
    let batch = p.batch.is_some_and(|b| b.get() == "true");
    let mut r = finish(d, ctx, string(p.api_key).as_deref(), batch, request_hash)?;
    r.retry_of = retry_of(p);
    Ok(r)
}

/// The id a retry names, hashed as record ids are for the retry window; a number is taken as
/// its text.
fn retry_of<B>(p: &Probe<'_, B>) -> Option<u64> {
    let raw = p.retry_of.filter(|r| r.get() != "null")?;
    let id = string(Some(raw)).unwrap_or_else(|| raw.get().trim().to_string());
    Some(hash_bytes(id.as_bytes()))
}

/// A bare response body on its own line; it must carry its own time (`created`).
pub fn parse_bare(line: &str, ctx: &LineCtx<'_>) -> Result<UsageRecord, String> {
    let raw: &RawValue = serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let mut d = parse_body(raw, "body")?.draft("body")?;
    if d.time.is_none() {
        return Err("field created: missing; a bare response body needs its own time".to_string());
    }
    d.model = d
        .model
        .take()
        .map(|m| strip_search_suffix(&m, &mut d.extras));
    require_usage(&d, "body")?;
    finish(d, ctx, None, false, None)
}

fn http_status(raw: Option<&RawValue>) -> Result<Option<Status>, String> {
    let Some(raw) = raw.filter(|r| r.get() != "null") else {
        return Ok(None);
    };
    if let Some(s) = string(Some(raw)) {
        return match s.to_ascii_lowercase().as_str() {
            "ok" | "success" | "succeeded" | "completed" => Ok(Some(Status::Ok)),
            "failed" | "error" => Ok(Some(Status::Failed)),
            "rejected" | "content_policy" | "blocked" => Ok(Some(Status::Rejected)),
            "retry" => Ok(Some(Status::Retry)),
            other => match other.parse::<u16>() {
                Ok(code) => Ok(Some(from_code(code))),
                Err(_) => Err(format!(
                    "field status: '{s}' is not an HTTP status or outcome"
                )),
            },
        };
    }
    let code = count(Some(raw), "status")?;
    Ok(Some(from_code(u16::try_from(code).unwrap_or(u16::MAX))))
}

fn from_code(code: u16) -> Status {
    if (200..300).contains(&code) {
        Status::Ok
    } else {
        Status::Failed
    }
}

fn mark_retry<B>(p: &Probe<'_, B>, d: &mut Draft) -> Result<(), String> {
    let attempt = count(p.attempt, "attempt")?;
    let retry_of = p.retry_of.is_some_and(|r| r.get() != "null");
    if (attempt > 1 || retry_of) && d.status.is_none_or(|s| s == Status::Ok) {
        d.status = Some(Status::Retry);
    }
    Ok(())
}
