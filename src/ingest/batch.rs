//! OpenAI Batch API output files: `{"id", "custom_id", "response": {"status_code", "request_id",
//! "body"}, "error"}`. Every line was billed at the batch tier.

use super::build::{LineCtx, finish};
use super::detect::Probe;
use super::fields::{count, string};
use super::members::require_object;
use super::response::{BodyField, require_usage};
use crate::record::{Status, UsageRecord};
use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Deserialize, Default)]
#[serde(default)]
struct BatchResponse<'a> {
    #[serde(borrow)]
    status_code: Option<&'a RawValue>,
    #[serde(borrow)]
    request_id: Option<&'a RawValue>,
    #[serde(borrow)]
    body: Option<&'a RawValue>,
}

pub fn parse_batch<B>(
    p: &Probe<'_, B>,
    response: BodyField<'_, '_>,
    ctx: &LineCtx<'_>,
) -> Result<UsageRecord, String> {
    let custom_id = string(p.custom_id).ok_or("field custom_id: not a string")?;
    let resp: BatchResponse = match response {
        // Read as a body in the pass over the line: its batch members were kept raw.
        BodyField::Read(body) => body.map_or_else(BatchResponse::default, |b| BatchResponse {
            status_code: b.status_code,
            request_id: b.request_id,
            body: b.body,
        }),
        BodyField::Raw(raw) => match raw.filter(|r| r.get() != "null") {
            Some(r) => {
                require_object(r, "response")?;
                serde_json::from_str(r.get()).map_err(|e| format!("field response: {e}"))?
            }
            None => BatchResponse::default(),
        },
    };
    let mut d = BodyField::Raw(resp.body)
        .draft("response.body")?
        .unwrap_or_default();
    let code = count(resp.status_code, "response.status_code")?;
    let errored = p.error.is_some_and(|e| e.get() != "null");
    if errored || (code != 0 && !(200..300).contains(&code)) {
        d.status = Some(d.status.unwrap_or(Status::Failed));
    }
    if d.model.is_none() {
        d.model = string(p.model);
    }
    if d.time.is_none() {
        d.time = super::fields::time(p.timestamp, "timestamp")?;
    }
    if d.time.is_none() {
        return Err("field response.body.created: missing".to_string());
    }
    // custom_id is unique within a batch; the request id ties it to one execution.
    let rid = string(resp.request_id)
        .or_else(|| string(p.id))
        .unwrap_or_default();
    d.id = Some(format!("batch:{custom_id}:{rid}"));
    require_usage(&d, "response.body")?;
    finish(d, ctx, string(p.api_key).as_deref(), true, None)
}
