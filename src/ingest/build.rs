//! Turning a parsed draft into a record: the checks every source shares.

use super::response::Draft;
use crate::provider::ProviderFrom;
use crate::record::{ImageCount, Kind, SourceRef, Status, Text, UsageRecord};
use chrono::{DateTime, Utc};
use std::fmt::Write as _;

/// What the lines of one output file take from their batch job.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchJob {
    /// `batches/{id}`: keys are unique within a batch only.
    pub name: Option<String>,
    pub model: Option<String>,
    pub time: Option<DateTime<Utc>>,
}

/// Where a line is, and what the file around it tells.
/// Borrowed, so a line costs no copies of the file name or project: only its record holds one.
#[derive(Clone, Copy, Debug)]
pub struct LineCtx<'c> {
    pub source: &'c SourceRef,
    /// Claude Code: the project folder the session file lives in.
    pub project: Option<&'c str>,
    /// Gemini Batch API output: the batch job the file's lines belong to.
    pub batch_job: Option<&'c BatchJob>,
}

pub fn finish(
    mut d: Draft,
    ctx: &LineCtx<'_>,
    api_key: Option<&str>,
    batch: bool,
    request_hash: Option<u64>,
) -> Result<UsageRecord, String> {
    settle_image_count(&mut d);
    let whole = !d.written_per_block;
    let model = d
        .model
        .filter(|m| !crate::text::trimmed(m).is_empty())
        .ok_or_else(|| "field model: missing".to_string())?;
    let (time, time_assumed_utc) = d
        .time
        .ok_or_else(|| "field timestamp: missing".to_string())?;
    // The log told nothing else: a provider prefix of the model name may.
    let (seller, seller_from) = match d.seller {
        Some((name, from)) => (Some(Text::new(&name)), from),
        None => match crate::provider::from_model_prefix(&model) {
            Some(name) => (Some(Text::new(name)), ProviderFrom::ModelPrefix),
            None => (None, ProviderFrom::Unknown),
        },
    };
    let mut r = UsageRecord {
        id: d.id,
        source: ctx.source.clone(),
        time,
        time_assumed_utc,
        api_key: api_key.map(Text::new),
        provider: d.provider.as_deref().map(Text::new),
        seller,
        seller_from,
        model: Text::new(&model),
        kind: d.kind.unwrap_or(Kind::Text),
        status: d.status.unwrap_or(Status::Ok),
        tokens: d.tokens,
        images: d.images,
        image_count: d.image_count,
        image_tokens: d.image_tokens,
        image_size: d.image_size,
        quality: d.quality.as_deref().map(Text::new),
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
    r.payload_hash = payload(&r, whole);
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

/// A hash of the fields that make a record's price. Two lines with the same id and the same
/// hash are one request logged twice; with different hashes, a conflict.
pub fn payload_hash(r: &UsageRecord) -> u64 {
    payload(r, true)
}

/// The payload hash, of the whole record or without what a line written as the response
/// streamed leaves unsettled: its time, its output tokens and its cost (see
/// `Draft::written_per_block`).
fn payload(r: &UsageRecord, whole: bool) -> u64 {
    let mut h = Canon::default();
    h.str(&r.model);
    if whole {
        h.num(r.time.timestamp_micros() as u64);
    }
    h.str(r.api_key.as_deref().unwrap_or(""));
    h.num(r.kind as u64);
    h.num(r.status as u64);
    let mut tokens = r.tokens;
    if !whole {
        tokens.output = 0;
    }
    for n in tokens.counts() {
        h.num(n);
    }
    h.num(u64::from(r.images));
    // The size as it is written, without making a String per record.
    if let Some(s) = r.image_size {
        let _ = write!(h, "{s}");
    }
    h.bytes(&[0xff]);
    h.str(r.quality.as_deref().unwrap_or(""));
    h.num(u64::from(r.batch));
    h.num(u64::from(r.extras.web_search_grounding));
    h.num(u64::from(r.extras.search_standard));
    h.num(u64::from(r.extras.search_deep));
    h.num(u64::from(r.extras.web_search));
    let billed = if whole { r.billed_cost } else { None };
    for m in [billed, r.remaining_balance] {
        match m {
            Some(m) => h.money(m),
            None => h.bytes(&[0]),
        }
    }
    h.num(u64::from(r.requests));
    h.str(r.project.as_deref().unwrap_or(""));
    h.finish()
}

/// A record's payload laid end to end, then hashed in one call: hashing a few hundred bytes at
/// once is several times faster than feeding a hash field by field. Payloads fit the buffer on
/// the stack; a longer one (long model names or keys) goes on in a vector.
struct Canon {
    buf: [u8; 256],
    len: usize,
    more: Vec<u8>,
}

impl Default for Canon {
    fn default() -> Canon {
        Canon {
            buf: [0; 256],
            len: 0,
            more: Vec::new(),
        }
    }
}

impl Canon {
    #[inline]
    fn bytes(&mut self, b: &[u8]) {
        let end = self.len + b.len();
        if end <= self.buf.len() && self.more.is_empty() {
            self.buf[self.len..end].copy_from_slice(b);
            self.len = end;
        } else {
            self.spill(b);
        }
    }

    /// Past the buffer: what it holds and all that follows go into `more`.
    #[cold]
    fn spill(&mut self, b: &[u8]) {
        if self.more.is_empty() {
            self.more.extend_from_slice(&self.buf[..self.len]);
        }
        self.more.extend_from_slice(b);
    }

    /// A text and its end: "ab" + "c" and "a" + "bc" differ.
    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
        self.bytes(&[0xff]);
    }

    fn num(&mut self, n: u64) {
        self.bytes(&n.to_le_bytes());
    }

    /// An amount by its value: 0.1344 and 0.134400 are the same payload, and so are 0 and -0.
    fn money(&mut self, m: crate::money::Money) {
        let d = m.decimal().normalize();
        if d.is_zero() {
            self.bytes(&[1]);
        } else {
            self.bytes(&[2]);
            self.bytes(&d.mantissa().to_le_bytes());
            self.bytes(&d.scale().to_le_bytes());
        }
    }

    fn finish(&self) -> u64 {
        if self.more.is_empty() {
            hash_bytes(&self.buf[..self.len])
        } else {
            hash_bytes(&self.more)
        }
    }
}

impl std::fmt::Write for Canon {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.bytes(s.as_bytes());
        Ok(())
    }
}

/// 64-bit XXH3: a published algorithm, so the hashes the `--state` folder keeps (ids, requests,
/// payloads) are the same across builds and platforms; and it reads several bytes a step,
/// where a byte-wise hash over every request body was a visible part of reading.
pub fn hash_bytes(b: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Money;
    use crate::record::{ImageSize, Tokens};
    use crate::text::Text;

    /// The payload as its definition reads, built in a vector with every text made as a
    /// String: the stack buffer, its overflow and the writing of sizes must give the same bytes.
    fn spelled_out(r: &UsageRecord) -> u64 {
        let mut b: Vec<u8> = Vec::new();
        let text = |b: &mut Vec<u8>, s: &str| {
            b.extend_from_slice(s.as_bytes());
            b.push(0xff);
        };
        let num = |b: &mut Vec<u8>, n: u64| b.extend_from_slice(&n.to_le_bytes());
        text(&mut b, &r.model);
        num(&mut b, r.time.timestamp_micros() as u64);
        text(&mut b, r.api_key.as_deref().unwrap_or(""));
        num(&mut b, r.kind as u64);
        num(&mut b, r.status as u64);
        let t = &r.tokens;
        for n in [
            t.input,
            t.output,
            t.thinking,
            t.cache_read,
            t.cache_write,
            t.cache_write_1h,
        ] {
            num(&mut b, n);
        }
        num(&mut b, u64::from(r.images));
        text(
            &mut b,
            &r.image_size.map(|s| s.to_string()).unwrap_or_default(),
        );
        text(&mut b, r.quality.as_deref().unwrap_or(""));
        let e = &r.extras;
        for n in [
            u64::from(r.batch),
            u64::from(e.web_search_grounding),
            u64::from(e.search_standard),
            u64::from(e.search_deep),
            u64::from(e.web_search),
        ] {
            num(&mut b, n);
        }
        for m in [r.billed_cost, r.remaining_balance] {
            // By value: the exact text's digits as one integer, and its decimal places.
            match m.map(|m| m.exact()) {
                None => b.push(0),
                Some(t) if t == "0" => b.push(1),
                Some(t) => {
                    let places = t.split_once('.').map_or(0, |(_, f)| f.len() as u32);
                    let digits: i128 = t.replace('.', "").parse().expect("digits");
                    b.push(2);
                    b.extend_from_slice(&digits.to_le_bytes());
                    b.extend_from_slice(&places.to_le_bytes());
                }
            }
        }
        num(&mut b, u64::from(r.requests));
        text(&mut b, r.project.as_deref().unwrap_or(""));
        xxhash_rust::xxh3::xxh3_64(&b)
    }

    fn record() -> UsageRecord {
        UsageRecord {
            id: Some("r1".to_string()),
            api_key: Some(Text::from("sk-a")),
            tokens: Tokens {
                input: 10,
                output: 1120,
                ..Tokens::default()
            },
            quality: Some(Text::from("high")),
            ..crate::record::sample()
        }
    }

    #[test]
    fn payload_hash_is_the_spelled_out_one() {
        let mut r = record();
        assert_eq!(payload_hash(&r), spelled_out(&r));
        r.image_size = Some(ImageSize::Pixels(1024, 1536));
        r.billed_cost = Some(Money::parse("0.134400").expect("money"));
        r.remaining_balance = Some(Money::parse("-0").expect("money"));
        assert_eq!(payload_hash(&r), spelled_out(&r));
        r.image_size = None;
        r.quality = None;
        r.billed_cost = Some(Money::parse("-12.5").expect("money"));
        r.tokens.cache_write_1h = 7;
        r.requests = 3;
        r.project = Some(Text::from("proj_1"));
        assert_eq!(payload_hash(&r), spelled_out(&r));
        // Past the buffer on the stack.
        r.api_key = Some(Text::from("k".repeat(300).as_str()));
        assert_eq!(payload_hash(&r), spelled_out(&r));
    }

    #[test]
    fn payload_hash_is_stable() {
        // The `--state` folder keeps these values: a change here is a change of its version.
        assert_eq!(payload_hash(&record()), 12_529_574_197_545_641_922);
        assert_eq!(hash_bytes(b"req-7ea-00000000"), 6_853_842_950_671_433_836);
        assert_eq!(hash_bytes(b""), 0x2d06_8005_38d3_94c2);
    }

    #[test]
    fn a_line_written_as_the_response_streamed_hashes_without_time_output_or_cost() {
        let a = record();
        let mut b = record();
        b.time += chrono::TimeDelta::milliseconds(700);
        b.tokens.output = 1500;
        b.billed_cost = Some(Money::parse("0.2").expect("money"));
        assert_eq!(payload(&a, false), payload(&b, false));
        assert_ne!(payload(&a, true), payload(&b, true));
        for change in [
            |r: &mut UsageRecord| r.tokens.input = 11,
            |r: &mut UsageRecord| r.tokens.cache_read = 1,
            |r: &mut UsageRecord| r.model = Text::from("claude-opus-4-5"),
        ] {
            let mut c = record();
            change(&mut c);
            assert_ne!(payload(&a, false), payload(&c, false));
        }
    }

    #[test]
    fn amounts_hash_by_value() {
        let mut a = record();
        let mut b = record();
        a.billed_cost = Some(Money::parse("0.1344").expect("money"));
        b.billed_cost = Some(Money::parse("0.134400").expect("money"));
        assert_eq!(payload_hash(&a), payload_hash(&b));
        a.remaining_balance = Some(Money::parse("0").expect("money"));
        b.remaining_balance = Some(Money::parse("-0.00").expect("money"));
        assert_eq!(payload_hash(&a), payload_hash(&b));
        b.remaining_balance = None;
        assert_ne!(payload_hash(&a), payload_hash(&b));
        b.remaining_balance = Some(Money::parse("0.01").expect("money"));
        assert_ne!(payload_hash(&a), payload_hash(&b));
    }
}
