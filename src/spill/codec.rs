//! A compact binary form of a record for sorted runs: a few dozen bytes instead of the
//! in-memory layout, and read back exactly (money as rust_decimal's 16 bytes).

use crate::money::Money;
use crate::record::{Extras, ImageCount, ImageSize, Kind, SourceRef, Status, Tokens, UsageRecord};
use crate::text::Text;
use chrono::DateTime;

/// Appends `r` to `out`. File names are written as an index into `files`.
pub fn encode(r: &UsageRecord, file: u32, out: &mut Vec<u8>) {
    opt_str(out, r.id.as_deref());
    varint(out, u64::from(file));
    varint(out, r.source.line);
    varint(out, r.source.byte);
    out.extend_from_slice(&r.time.timestamp().to_le_bytes());
    out.extend_from_slice(&r.time.timestamp_subsec_nanos().to_le_bytes());
    let flags = u8::from(r.time_assumed_utc)
        | u8::from(r.batch) << 1
        | u8::from(r.kind == Kind::Image) << 2
        | (r.status as u8) << 3
        | count_code(r.image_count) << 5;
    out.push(flags);
    opt_str(out, r.api_key.as_deref());
    opt_str(out, r.provider.as_deref());
    opt_str(out, r.seller.as_deref());
    out.push(r.seller_from as u8);
    str(out, &r.model);
    for n in r.tokens.counts() {
        varint(out, n);
    }
    varint(out, u64::from(r.images));
    varint(out, r.image_tokens);
    match r.image_size {
        None => out.push(0),
        Some(ImageSize::K1) => out.push(1),
        Some(ImageSize::K2) => out.push(2),
        Some(ImageSize::K4) => out.push(3),
        Some(ImageSize::Pixels(w, h)) => {
            out.push(4);
            varint(out, u64::from(w));
            varint(out, u64::from(h));
        }
    }
    opt_str(out, r.quality.as_deref());
    let e = &r.extras;
    for n in [
        e.web_search_grounding,
        e.search_standard,
        e.search_deep,
        e.web_search,
    ] {
        varint(out, u64::from(n));
    }
    for m in [r.billed_cost, r.remaining_balance] {
        match m {
            None => out.push(0),
            Some(m) => {
                out.push(1);
                out.extend_from_slice(&m.to_bytes());
            }
        }
    }
    varint(out, u64::from(r.requests));
    opt_str(out, r.project.as_deref());
    for hash in [r.request_hash, r.retry_of] {
        match hash {
            None => out.push(0),
            Some(h) => {
                out.push(1);
                out.extend_from_slice(&h.to_le_bytes());
            }
        }
    }
    out.extend_from_slice(&r.payload_hash.to_le_bytes());
}

/// How an image count was found, in two bits beside the status; 0 for none.
fn count_code(c: Option<ImageCount>) -> u8 {
    match c {
        None => 0,
        Some(ImageCount::Response) => 1,
        Some(ImageCount::Tokens) => 2,
        Some(ImageCount::Request) => 3,
        Some(ImageCount::Assumed) => 4,
    }
}

fn count_of(code: u8) -> Option<Option<ImageCount>> {
    Some(match code {
        0 => None,
        1 => Some(ImageCount::Response),
        2 => Some(ImageCount::Tokens),
        3 => Some(ImageCount::Request),
        4 => Some(ImageCount::Assumed),
        _ => return None,
    })
}

/// Reads back what `encode` wrote. None when the bytes are not a whole record, which only a
/// damaged run file can cause.
pub fn decode(b: &[u8], files: &[Text]) -> Option<UsageRecord> {
    let mut c = Cursor { b, at: 0 };
    let id = c.opt_str()?.map(str::to_string);
    let file = files.get(usize::try_from(c.varint()?).ok()?)?.clone();
    let line = c.varint()?;
    let byte = c.varint()?;
    let secs = i64::from_le_bytes(c.take()?);
    let nanos = u32::from_le_bytes(c.take()?);
    let time = DateTime::from_timestamp(secs, nanos)?;
    let [flags] = c.take()?;
    let status = match (flags >> 3) & 0b11 {
        0 => Status::Ok,
        1 => Status::Failed,
        2 => Status::Rejected,
        3 => Status::Retry,
        _ => return None,
    };
    let api_key = c.opt_str()?.map(Text::new);
    let provider = c.opt_str()?.map(Text::new);
    let seller = c.opt_str()?.map(Text::new);
    let [from] = c.take()?;
    let seller_from = crate::provider::ProviderFrom::from_u8(from)?;
    let model = Text::new(c.str()?);
    let tokens = Tokens {
        input: c.varint()?,
        output: c.varint()?,
        thinking: c.varint()?,
        cache_read: c.varint()?,
        cache_write: c.varint()?,
        cache_write_1h: c.varint()?,
    };
    let images = c.u32()?;
    let image_tokens = c.varint()?;
    let [size] = c.take()?;
    let image_size = match size {
        0 => None,
        1 => Some(ImageSize::K1),
        2 => Some(ImageSize::K2),
        3 => Some(ImageSize::K4),
        4 => Some(ImageSize::Pixels(c.u32()?, c.u32()?)),
        _ => return None,
    };
    let quality = c.opt_str()?.map(Text::new);
    let extras = Extras {
        web_search_grounding: c.u32()?,
        search_standard: c.u32()?,
        search_deep: c.u32()?,
        web_search: c.u32()?,
    };
    let billed_cost = c.opt_money()?;
    let remaining_balance = c.opt_money()?;
    let requests = c.u32()?;
    let project = c.opt_str()?.map(Text::new);
    let request_hash = c.opt_u64()?;
    let retry_of = c.opt_u64()?;
    let payload_hash = u64::from_le_bytes(c.take()?);
    (c.at == b.len()).then_some(UsageRecord {
        id,
        source: SourceRef { file, line, byte },
        time,
        time_assumed_utc: flags & 1 != 0,
        api_key,
        provider,
        seller,
        seller_from,
        model,
        kind: if flags & 4 != 0 {
            Kind::Image
        } else {
            Kind::Text
        },
        status,
        tokens,
        images,
        image_count: count_of(flags >> 5)?,
        image_tokens,
        image_size,
        quality,
        batch: flags & 2 != 0,
        extras,
        billed_cost,
        remaining_balance,
        request_hash,
        retry_of,
        payload_hash,
        requests,
        project,
    })
}

/// The output tokens of the record a frame holds, read without decoding the rest: judging
/// the lines of one response logged as it streamed needs them. None when the bytes are not a
/// frame.
pub fn output_tokens(b: &[u8]) -> Option<u64> {
    let mut c = Cursor { b, at: 0 };
    c.opt_str()?;
    c.varint()?;
    c.varint()?;
    c.varint()?;
    let _: [u8; 8 + 4 + 1] = c.take()?;
    c.opt_str()?;
    c.opt_str()?;
    c.opt_str()?;
    let _: [u8; 1] = c.take()?;
    c.str()?;
    c.varint()?;
    c.varint()
}

/// The fields runs are ordered and judged by, read from the front of a frame (id, file, line,
/// byte, time) and from its last 8 bytes (the payload hash), without decoding the rest: the
/// deduplication pass moves frames as they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// Where the id's bytes are in the frame; None for a record without an id.
    id: Option<(u32, u32)>,
    pub file: u32,
    pub line: u64,
    pub byte: u64,
    pub secs: i64,
    pub nanos: u32,
    pub payload: u64,
}

impl Key {
    /// The id's bytes in `frame`, the frame this key was read from.
    pub fn id<'f>(&self, frame: &'f [u8]) -> Option<&'f [u8]> {
        let (at, n) = self.id?;
        frame.get(at as usize..at as usize + n as usize)
    }
}

/// The key of a frame `encode` wrote; None when it is too short to be one.
pub fn key(b: &[u8]) -> Option<Key> {
    let mut c = Cursor { b, at: 0 };
    let n = usize::try_from(c.varint()?).ok()?;
    let id = match n {
        0 => None,
        n => {
            let at = c.at;
            c.bytes(n - 1)?;
            Some((u32::try_from(at).ok()?, u32::try_from(n - 1).ok()?))
        }
    };
    let file = c.u32()?;
    let line = c.varint()?;
    let byte = c.varint()?;
    let secs = i64::from_le_bytes(c.take()?);
    let nanos = u32::from_le_bytes(c.take()?);
    // The flags byte and at least the payload hash follow.
    let payload = b.get(b.len().checked_sub(8)?..)?;
    if c.at + 1 + 8 > b.len() {
        return None;
    }
    Some(Key {
        id,
        file,
        line,
        byte,
        secs,
        nanos,
        payload: u64::from_le_bytes(payload.try_into().ok()?),
    })
}

pub fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

pub(crate) fn str(out: &mut Vec<u8>, s: &str) {
    varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        // Length + 1, so that 0 can mean "none" and an empty text stays distinct from it.
        None => out.push(0),
        Some(s) => {
            varint(out, s.len() as u64 + 1);
            out.extend_from_slice(s.as_bytes());
        }
    }
}

pub struct Cursor<'b> {
    pub b: &'b [u8],
    pub at: usize,
}

impl<'b> Cursor<'b> {
    pub(crate) fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let s = self.b.get(self.at..self.at + N)?;
        self.at += N;
        s.try_into().ok()
    }

    fn bytes(&mut self, n: usize) -> Option<&'b [u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }

    pub fn varint(&mut self) -> Option<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let [b] = self.take()?;
            n |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(n);
            }
        }
        None
    }

    fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.varint()?).ok()
    }

    pub(crate) fn str(&mut self) -> Option<&'b str> {
        let n = usize::try_from(self.varint()?).ok()?;
        std::str::from_utf8(self.bytes(n)?).ok()
    }

    fn opt_str(&mut self) -> Option<Option<&'b str>> {
        let n = usize::try_from(self.varint()?).ok()?;
        if n == 0 {
            return Some(None);
        }
        std::str::from_utf8(self.bytes(n - 1)?).ok().map(Some)
    }

    fn opt_u64(&mut self) -> Option<Option<u64>> {
        let [has] = self.take()?;
        if has == 0 {
            return Some(None);
        }
        Some(Some(u64::from_le_bytes(self.take()?)))
    }

    fn opt_money(&mut self) -> Option<Option<Money>> {
        let [has] = self.take()?;
        if has == 0 {
            return Some(None);
        }
        Some(Some(Money::from_bytes(self.take()?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record(
        id: Option<String>,
        secs: i64,
        nanos: u32,
        tokens: [u64; 5],
        size: Option<ImageSize>,
        money: Option<(i64, u32)>,
        request_hash: Option<u64>,
    ) -> UsageRecord {
        let m = money
            .map(|(n, scale)| Money::from_decimal(rust_decimal::Decimal::new(n, scale.min(28))));
        UsageRecord {
            id,
            source: SourceRef {
                file: Text::from("b.jsonl"),
                line: tokens[0] % 1000,
                byte: tokens[1],
            },
            time: DateTime::from_timestamp(secs, nanos).expect("in range"),
            time_assumed_utc: nanos.is_multiple_of(2),
            api_key: (secs % 3 == 0).then(|| Text::from("sk-x")),
            provider: Some(Text::from("")),
            seller: (secs % 2 == 0).then(|| Text::from("nanogpt")),
            seller_from: crate::provider::ProviderFrom::ALL[(tokens[4] % 7) as usize],
            model: Text::from("gemini-3-pro-image"),
            kind: if tokens[2].is_multiple_of(2) {
                Kind::Image
            } else {
                Kind::Text
            },
            status: [Status::Ok, Status::Failed, Status::Rejected, Status::Retry]
                [(tokens[3] % 4) as usize],
            tokens: Tokens {
                input: tokens[0],
                output: tokens[1],
                thinking: tokens[2],
                cache_read: tokens[3],
                cache_write: tokens[4],
                cache_write_1h: 0,
            },
            images: (tokens[4] % 5) as u32,
            image_count: [None, Some(ImageCount::Tokens), Some(ImageCount::Assumed)]
                [(tokens[1] % 3) as usize],
            image_tokens: tokens[2] / 3,
            image_size: size,
            quality: None,
            batch: secs % 2 == 0,
            extras: Extras {
                web_search_grounding: 1,
                search_standard: 0,
                search_deep: u32::MAX,
                web_search: 0,
            },
            billed_cost: m,
            remaining_balance: m.map(|m| -m),
            request_hash,
            retry_of: request_hash.map(|h| h.rotate_left(7)),
            payload_hash: tokens[0] ^ tokens[4],
            requests: 1 + (tokens[1] % 50) as u32,
            project: (secs % 5 == 0).then(|| Text::from("proj_a")),
        }
    }

    type Fields = (Option<String>, i64, u32, usize, u64, u64, u64);

    fn fields() -> impl Strategy<Value = Fields> {
        // Few values each, so that records often tie on the leading fields.
        (
            proptest::option::of("[ab]{0,2}"),
            0i64..3,
            0u32..3,
            0usize..3,
            0u64..3,
            0u64..3,
            0u64..3,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn frames_order_as_the_records_they_hold(a in fields(), b in fields()) {
            // File indices in another order than the names.
            let files: [Text; 3] = [Text::from("m.jsonl"), Text::from("a.jsonl"), Text::from("z.jsonl")];
            let ranks = super::super::run::ranks(&files);
            let make = |(id, secs, nanos, file, line, byte, payload): Fields| {
                let mut r = record(id, secs, nanos, [0; 5], None, None, None);
                r.source = SourceRef { file: files[file].clone(), line, byte };
                r.payload_hash = payload;
                let mut out = Vec::new();
                encode(&r, file as u32, &mut out);
                (r, out)
            };
            let ((ra, fa), (rb, fb)) = (make(a), make(b));
            let (ka, kb) = (key(&fa).expect("key"), key(&fb).expect("key"));
            fn keyed<'f>(key: &'f Key, frame: &'f [u8], ranks: &[u32]) -> super::super::run::Keyed<'f> {
                super::super::run::Keyed { key, frame, rank: ranks[key.file as usize] }
            }
            for order in [super::super::Order::Id, super::super::Order::Time] {
                prop_assert_eq!(
                    keyed(&ka, &fa, &ranks).cmp(&keyed(&kb, &fb, &ranks), order),
                    order.cmp(&ra, &rb)
                );
            }
        }

        #[test]
        fn a_record_reads_back_as_it_was_written(
            id in proptest::option::of("[a-z0-9_-]{0,40}"),
            secs in -8_000_000_000i64..8_000_000_000,
            nanos in 0u32..1_000_000_000,
            tokens in proptest::array::uniform5(any::<u64>()),
            size in proptest::option::of(prop_oneof![
                Just(ImageSize::K1),
                Just(ImageSize::K2),
                Just(ImageSize::K4),
                (1u32.., 1u32..).prop_map(|(w, h)| ImageSize::Pixels(w, h)),
            ]),
            money in proptest::option::of((any::<i64>(), 0u32..29)),
            request_hash in proptest::option::of(any::<u64>()),
        ) {
            let r = record(id, secs, nanos, tokens, size, money, request_hash);
            let files = [Text::from("a.jsonl"), r.source.file.clone()];
            let mut out = Vec::new();
            encode(&r, 1, &mut out);
            prop_assert_eq!(decode(&out, &files), Some(r.clone()));
            let k = key(&out).expect("key");
            prop_assert_eq!(k.id(&out), r.id.as_deref().map(str::as_bytes));
            prop_assert_eq!(
                (k.file, k.line, k.byte, k.secs, k.nanos, k.payload),
                (1, r.source.line, r.source.byte, secs, nanos, r.payload_hash)
            );
            prop_assert_eq!(output_tokens(&out), Some(r.tokens.output));
            // A cut record is never read as a record.
            for cut in 0..out.len() {
                prop_assert_eq!(decode(&out[..cut], &files), None);
            }
        }
    }
}
