//! Turning a parsed draft into a record: the checks every source shares.

use super::response::Draft;
use crate::provider::ProviderFrom;
use crate::record::{ImageCount, Kind, SourceRef, Status, UsageRecord, intern};
use std::fmt::Write as _;

/// Where a line is, and what the file around it tells.
/// Borrowed, so a line costs no copies of the file name or project: only its record holds one.
#[derive(Clone, Copy, Debug)]
pub struct LineCtx<'c> {
    pub source: &'c SourceRef,
    /// Claude Code: the project folder the session file lives in.
    pub project: Option<&'c str>,
    /// Gemini Batch API output: the batch job the file's lines belong to.
    pub batch_job: Option<&'c super::gemini_batch::BatchJob>,
}

pub fn finish(
    mut d: Draft,
    ctx: &LineCtx<'_>,
    api_key: Option<&str>,
    batch: bool,
    request_hash: Option<u64>,
) -> Result<UsageRecord, String> {
    settle_image_count(&mut d);
    let model = d
        .model
        .filter(|m| !m.trim().is_empty())
        .ok_or_else(|| "field model: missing".to_string())?;
    let (time, time_assumed_utc) = d
        .time
        .ok_or_else(|| "field timestamp: missing".to_string())?;
    // The log told nothing else: a provider prefix of the model name may.
    let (seller, seller_from) = match d.seller {
        Some((name, from)) => (Some(intern(&name)), from),
        None => match crate::provider::from_model_prefix(&model) {
            Some(name) => (Some(intern(name)), ProviderFrom::ModelPrefix),
            None => (None, ProviderFrom::Unknown),
        },
    };
    let mut r = UsageRecord {
        id: d.id,
        source: ctx.source.clone(),
        time,
        time_assumed_utc,
        api_key: api_key.map(intern),
        provider: d.provider.as_deref().map(intern),
        seller,
        seller_from,
        model: intern(&model),
        kind: d.kind.unwrap_or(Kind::Text),
        status: d.status.unwrap_or(Status::Ok),
        tokens: d.tokens,
        images: d.images,
        image_count: d.image_count,
        image_tokens: d.image_tokens,
        image_size: d.image_size,
        quality: d.quality.as_deref().map(intern),
        batch,
        extras: d.extras,
        billed_cost: d.billed_cost,
        remaining_balance: d.remaining_balance,
        request_hash,
        retry_of: None,
        payload_hash: 0,
        requests: 1,
        project: None,
    };
    r.payload_hash = payload_hash(&r);
    Ok(r)
}

/// Sources that count images themselves (a data list, a CSV column) leave how unsaid: the log
/// said it. A successful response with IMAGE tokens but neither images nor a request is taken
/// as one image until the catalog counts them from the tokens.
fn settle_image_count(d: &mut Draft) {
    if d.images > 0 && d.image_count.is_none() {
        d.image_count = Some(ImageCount::Response);
    }
    if d.images == 0
        && d.image_tokens > 0
        && d.status
            .is_none_or(|s| matches!(s, Status::Ok | Status::Retry))
    {
        d.images = 1;
        d.image_count = Some(ImageCount::Assumed);
    }
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
    // Texts are fed to the hash as they are written: the same bytes as hashing the String,
    // without making one per record.
    if let Some(s) = r.image_size {
        let _ = write!(h, "{s}");
    }
    h.bytes(&[0xff]);
    h.str(r.quality.as_deref().unwrap_or(""));
    h.num(u64::from(r.batch));
    h.num(u64::from(r.extras.web_search_grounding));
    h.num(u64::from(r.extras.search_standard));
    h.num(u64::from(r.extras.search_deep));
    for m in [r.billed_cost, r.remaining_balance] {
        if let Some(m) = m {
            let _ = m.write_exact(&mut h);
        }
        h.bytes(&[0xff]);
    }
    // Fields added later are hashed only when set, so older records keep their hash.
    if r.tokens.cache_write_1h != 0 || r.extras.web_search != 0 {
        h.num(r.tokens.cache_write_1h);
        h.num(u64::from(r.extras.web_search));
    }
    if r.requests != 1 {
        h.num(u64::from(r.requests));
    }
    if let Some(p) = &r.project {
        h.str(p);
    }
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

impl std::fmt::Write for Fnv {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.bytes(s.as_bytes());
        Ok(())
    }
}

pub fn hash_bytes(b: &[u8]) -> u64 {
    let mut h = Fnv::default();
    h.bytes(b);
    h.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Money;
    use crate::record::{ImageSize, Tokens};
    use std::sync::Arc;

    /// The hash as first defined, with every text made as a String: saved ledgers hold these
    /// values, so the allocation-free spelling must give the same numbers.
    fn spelled_out(r: &UsageRecord) -> u64 {
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
        if r.tokens.cache_write_1h != 0 || r.extras.web_search != 0 {
            h.num(r.tokens.cache_write_1h);
            h.num(u64::from(r.extras.web_search));
        }
        if r.requests != 1 {
            h.num(u64::from(r.requests));
        }
        if let Some(p) = &r.project {
            h.str(p);
        }
        h.0
    }

    fn record() -> UsageRecord {
        UsageRecord {
            id: Some("r1".to_string()),
            api_key: Some(Arc::from("sk-a")),
            tokens: Tokens {
                input: 10,
                output: 1120,
                ..Tokens::default()
            },
            quality: Some(Arc::from("high")),
            ..crate::record::sample()
        }
    }

    #[test]
    fn payload_hash_is_the_spelled_out_one() {
        let mut r = record();
        assert_eq!(payload_hash(&r), spelled_out(&r));
        assert_eq!(payload_hash(&r), 8_956_637_755_985_370_259);
        r.image_size = Some(ImageSize::Pixels(1024, 1536));
        r.billed_cost = Some(Money::parse("0.134400").expect("money"));
        r.remaining_balance = Some(Money::parse("-0").expect("money"));
        assert_eq!(payload_hash(&r), spelled_out(&r));
        r.image_size = None;
        r.quality = None;
        r.billed_cost = Some(Money::parse("12.5").expect("money"));
        assert_eq!(payload_hash(&r), spelled_out(&r));
    }
}
