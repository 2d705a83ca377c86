//! Gemini Batch API output files (https://ai.google.dev/gemini-api/docs/batch-api): one JSON
//! object per line, `{"key": ..., "response": GenerateContentResponse}` or `{"key": ...,
//! "error": Status}`, billed at the batch tier. The lines carry no time: it comes from the
//! batch job's record saved beside the file (the `batches.get` JSON: its `endTime`, also under
//! `metadata`), or from `--default-day`; without either the lines are quarantined with a
//! reason that says how to give it.

use super::build::{BatchJob, LineCtx, finish};
use super::detect::Probe;
use super::fields::string;
use super::response::{BodyField, require_usage};
use crate::record::{Status, UsageRecord};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use std::path::Path;

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct JobFields {
    name: Option<String>,
    model: Option<String>,
    #[serde(alias = "end_time")]
    end_time: Option<String>,
    #[serde(alias = "update_time")]
    update_time: Option<String>,
    metadata: Option<Box<JobFields>>,
}

/// Where the batch job record of `output` is looked for: `<stem>.batch.json` beside it, then
/// `batch.json` in its folder.
pub fn record_paths(output: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Some(name) = output.file_name().and_then(|n| n.to_str()) {
        let stem = name
            .strip_suffix(".gz")
            .unwrap_or(name)
            .rsplit_once('.')
            .map_or(name, |(s, _)| s);
        out.push(output.with_file_name(format!("{stem}.batch.json")));
        out.push(output.with_file_name("batch.json"));
    }
    out
}

/// The batch job of an output file: from its record when one is saved beside it, else the
/// default day at noon UTC (so it is that day in any time zone), else nothing.
pub fn job_for(output: Option<&Path>, default_day: Option<NaiveDate>) -> Option<BatchJob> {
    let from_record = output.and_then(|p| {
        record_paths(p).into_iter().find_map(|r| {
            // A job record is a few hundred bytes; anything large is not one.
            let meta = std::fs::metadata(&r).ok()?;
            if !meta.is_file() || meta.len() > 1 << 20 {
                return None;
            }
            read_record(&std::fs::read_to_string(&r).ok()?)
        })
    });
    let mut job = from_record.unwrap_or_default();
    if job.time.is_none() {
        job.time = default_day
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .map(|t| t.and_utc());
    }
    (job != BatchJob::default()).then_some(job)
}

/// A `batches.get` record: `name`, `model`, `endTime` at the top or under `metadata`.
pub fn read_record(text: &str) -> Option<BatchJob> {
    let f: JobFields = serde_json::from_str(text).ok()?;
    let m = f.metadata.as_deref();
    let pick = |a: &Option<String>, b: Option<&Option<String>>| {
        a.clone().or_else(|| b.and_then(|b| b.clone()))
    };
    let end = pick(&f.end_time, m.map(|m| &m.end_time))
        .or_else(|| pick(&f.update_time, m.map(|m| &m.update_time)))?;
    let time = DateTime::parse_from_rfc3339(end.trim())
        .ok()?
        .with_timezone(&Utc);
    let model = pick(&f.model, m.map(|m| &m.model))
        .map(|m| m.strip_prefix("models/").unwrap_or(&m).to_string());
    Some(BatchJob {
        name: pick(&f.name, m.map(|m| &m.name)),
        model,
        time: Some(time),
    })
}

pub fn parse_gemini_batch<B>(
    p: &Probe<'_, B>,
    response: BodyField<'_, '_>,
    ctx: &LineCtx<'_>,
) -> Result<Option<UsageRecord>, String> {
    let key = string(p.key).ok_or("field key: not a string")?;
    let mut d = response.draft("response")?.unwrap_or_default();
    let errored = p.error.is_some_and(|e| e.get().trim() != "null");
    if errored {
        d.status = Some(d.status.unwrap_or(Status::Failed));
    }
    let job = ctx.batch_job;
    if d.model.is_none() {
        d.model = job.and_then(|j| j.model.clone());
    }
    if d.model.is_none() && errored && !d.has_usage {
        // A request that failed without usage was not billed, and names no model to count
        // it under: a line without usage.
        return Ok(None);
    }
    if d.model.is_none() {
        return Err(
            "field response.modelVersion: missing, and no batch job record beside the file names the model"
                .to_string(),
        );
    }
    if d.time.is_none() {
        d.time = job.and_then(|j| j.time).map(|t| (t, false));
    }
    if d.time.is_none() {
        return Err(
            "a Gemini Batch API output line carries no time: save the batch job \
                    (the batches.get JSON) beside the file as <name>.batch.json, or give \
                    --default-day YYYY-MM-DD"
                .to_string(),
        );
    }
    let batch = job.and_then(|j| j.name.as_deref()).unwrap_or("");
    d.id = Some(format!("gemini-batch:{batch}:{key}"));
    require_usage(&d, "response")?;
    finish(d, ctx, None, true, None).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_job_record_as_the_api_and_the_sdk_give_it() {
        let op = r#"{"name": "batches/abc", "metadata": {"@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch", "model": "models/gemini-3-pro-image-preview", "createTime": "2026-03-09T22:00:00Z", "endTime": "2026-03-10T03:15:00Z", "state": "BATCH_STATE_SUCCEEDED"}, "done": true}"#;
        let job = read_record(op).expect("job");
        assert_eq!(job.name.as_deref(), Some("batches/abc"));
        assert_eq!(job.model.as_deref(), Some("gemini-3-pro-image-preview"));
        assert_eq!(
            job.time.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-03-10T03:15:00+00:00")
        );
        let sdk = r#"{"name": "batches/x", "model": "models/gemini-2.5-flash", "state": "JOB_STATE_SUCCEEDED", "end_time": "2026-03-10T00:00:00Z"}"#;
        // The Python SDK's model_dump is snake_case.
        let job = read_record(sdk).expect("job");
        assert_eq!(job.model.as_deref(), Some("gemini-2.5-flash"));
        assert_eq!(
            job.time.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-03-10T00:00:00+00:00")
        );
        assert_eq!(read_record("[1]"), None);
    }

    #[test]
    fn the_default_day_is_noon_utc() {
        let job = job_for(None, NaiveDate::from_ymd_opt(2026, 3, 10)).expect("job");
        assert_eq!(
            job.time.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-03-10T12:00:00+00:00")
        );
        assert_eq!(job_for(None, None), None);
    }
}
