//! Claude Code session logs (`~/.claude/projects/<project>/<session>.jsonl`). Only assistant
//! messages carry usage; one message is often written on several lines as it streams (one per
//! content block, each with its own time and the usage so far, whose output count grows), so
//! records are keyed by message id + request id, and the lines of one message are one request
//! logged several times, of which deduplication keeps the one with the most output.

use super::build::{LineCtx, finish};
use super::detect::Probe;
use super::fields::{money, string, time};
use super::response::BodyField;
use crate::record::UsageRecord;

pub enum Outcome {
    Record(Box<UsageRecord>),
    /// A line without usage (user turns, summaries, tool results).
    NotUsage,
}

pub fn parse_claude_code<B>(
    p: &Probe<'_, B>,
    message: BodyField<'_, '_>,
    ctx: &LineCtx<'_>,
) -> Result<Outcome, String> {
    if string(p.kind).as_deref() != Some("assistant") {
        return Ok(Outcome::NotUsage);
    }
    let Some(mut d) = message.draft("message")? else {
        return Ok(Outcome::NotUsage);
    };
    if d.model.as_deref() == Some("<synthetic>") || d.tokens == Default::default() {
        return Ok(Outcome::NotUsage);
    }
    d.time = time(p.timestamp, "timestamp")?;
    // A message's content blocks are written on lines of their own as it streams.
    d.written_per_block = true;
    let mid = d.id.take().ok_or("field message.id: missing")?;
    let rid = string(p.request_id).unwrap_or_default();
    d.id = Some(format!("{mid}:{rid}"));
    if d.billed_cost.is_none() {
        d.billed_cost = money(p.cost_usd, "costUSD")?;
    }
    d.provider = Some("anthropic".to_string());
    d.seller = Some((
        "anthropic".to_string(),
        crate::provider::ProviderFrom::Source,
    ));
    let cwd;
    let project = match ctx.project {
        Some(folder) => Some(folder),
        None => {
            cwd = string(p.cwd);
            cwd.as_deref()
        }
    };
    finish(d, ctx, project, false, None).map(|r| Outcome::Record(Box::new(r)))
}
