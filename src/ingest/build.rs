//! Turning a parsed draft into a record: the checks every source shares.

use super::response::Draft;
use crate::record::{Kind, SourceRef, Status, UsageRecord};
use std::sync::Arc;

/// Where a line is, and what the file around it tells.
#[derive(Clone, Debug)]
pub struct LineCtx {
    pub source: SourceRef,
    /// Claude Code: the project folder the session file lives in.
    pub project: Option<String>,
}

pub fn finish(
    d: Draft,
    ctx: &LineCtx,
    api_key: Option<String>,
    batch: bool,
    request_hash: Option<u64>,
) -> Result<UsageRecord, String> {
    let model = d
        .model
        .filter(|m| !m.trim().is_empty())
        .ok_or_else(|| "field model: missing".to_string())?;
    let (time, time_assumed_utc) = d
        .time
        .ok_or_else(|| "field timestamp: missing".to_string())?;
    let mut r = UsageRecord {
        id: d.id,
        source: ctx.source.clone(),
        time,
        time_assumed_utc,
        api_key: api_key.as_deref().map(intern),
        provider: d.provider.as_deref().map(intern),
        model: intern(&model),
        kind: d.kind.unwrap_or(Kind::Text),
        status: d.status.unwrap_or(Status::Ok),
        tokens: d.tokens,
        images: d.images,
        image_size: d.image_size,
        quality: d.quality.as_deref().map(intern),
        batch,
        extras: d.extras,
        billed_cost: d.billed_cost,
        remaining_balance: d.remaining_balance,
        request_hash,
        payload_hash: 0,
    };
    r.payload_hash = payload_hash(&r);
    Ok(r)
}

/// Distinct texts one parsing thread keeps; past it, texts are no longer shared, so a log with
/// unbounded distinct keys cannot grow the table without bound.
const INTERN_LIMIT: usize = 4096;

thread_local! {
    static INTERNED: std::cell::RefCell<std::collections::HashSet<Arc<str>>> =
        std::cell::RefCell::new(std::collections::HashSet::new());
}

/// One shared copy of a text that many records repeat (model, key, provider, quality).
pub fn intern(s: &str) -> Arc<str> {
    INTERNED.with(|t| {
        let mut t = t.borrow_mut();
        if let Some(a) = t.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        if t.len() < INTERN_LIMIT {
            t.insert(a.clone());
        }
        a
    })
}

/// FNV-1a over the fields that make a record's price. Two lines with the same id and the same
/// hash are one request logged twice; with different hashes, a conflict.
pub fn payload_hash(r: &UsageRecord) -> u64 {
    let mut h = Fnv::default();
    h.str(&r.model);
    h.num(r.time.timestamp_micros() as u64);
    h.str(r.api_key.as_deref().unwrap_or(""));
    h.num(r.kind as u64);
    h.num(r.status as u64);
    for n in [
        r.tokens.input,
        r.tokens.output,
        r.tokens.thinking,
        r.tokens.cache_read,
        r.tokens.cache_write,
    ] {
        h.num(n);
    }
    h.num(u64::from(r.images));
    h.str(&r.image_size.map(|s| s.to_string()).unwrap_or_default());
    h.str(r.quality.as_deref().unwrap_or(""));
    h.num(u64::from(r.batch));
    h.num(u64::from(r.extras.web_search_grounding));
    h.num(u64::from(r.extras.search_standard));
    h.num(u64::from(r.extras.search_deep));
    h.str(&r.billed_cost.map(|m| m.exact()).unwrap_or_default());
    h.str(&r.remaining_balance.map(|m| m.exact()).unwrap_or_default());
    h.0
}

/// 64-bit FNV-1a: stable across builds and platforms, which the state ledger relies on.
pub struct Fnv(pub u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    pub fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= u64::from(x);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
        self.bytes(&[0xff]);
    }
    pub fn num(&mut self, n: u64) {
        self.bytes(&n.to_le_bytes());
    }
}

pub fn hash_bytes(b: &[u8]) -> u64 {
    let mut h = Fnv::default();
    h.bytes(b);
    h.0
}
