//! What one request costs under one model on one tier. Pure arithmetic on exact decimals.

use super::{Catalog, ImagePrice, ModelEntry, PriceVersion};
use crate::money::Money;
use crate::record::{Extras, ImageSize, Kind, Tokens};
use chrono::NaiveDate;
use rust_decimal::Decimal;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    Standard,
    Batch,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Standard => "standard",
            Tier::Batch => "batch",
        }
    }
}

/// The usage of one request, as the pricing needs it.
#[derive(Clone, Copy, Debug)]
pub struct PricingInput<'a> {
    pub kind: Kind,
    pub tokens: Tokens,
    pub images: u32,
    pub image_size: Option<ImageSize>,
    pub quality: Option<&'a str>,
    pub extras: Extras,
    pub day: NaiveDate,
    /// The token counts were measured by the model being priced. When re-pricing on another
    /// model, image output is counted with that model's tokens per image instead.
    pub own_tokens: bool,
}

/// Size assumed when an image log does not say: the providers' default output.
pub const DEFAULT_IMAGE_SIZE: ImageSize = ImageSize::Pixels(1024, 1024);

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, thiserror::Error)]
pub enum PriceError {
    #[error("{model} has no batch tier")]
    NoBatchTier { model: String },
    #[error("{model} has no price for {size} images{}", quality.as_ref().map(|q| format!(" of quality {q}")).unwrap_or_default())]
    NoImagePrice {
        model: String,
        size: String,
        quality: Option<String>,
    },
    #[error("{model} has no {what} price")]
    NoTokenPrice { model: String, what: &'static str },
}

/// Why a model cannot price a request, without the allocations of `PriceError`: re-pricing
/// meets it for most candidates of every record in `cheapest`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Missing<'a> {
    BatchTier,
    ImagePrice {
        size: ImageSize,
        quality: Option<&'a str>,
    },
    ImageTokens {
        size: ImageSize,
    },
    TokenPrice(&'static str),
}

impl Missing<'_> {
    pub fn error(self, model: &ModelEntry) -> PriceError {
        let model = model.id.clone();
        match self {
            Missing::BatchTier => PriceError::NoBatchTier { model },
            Missing::ImagePrice { size, quality } => PriceError::NoImagePrice {
                model,
                size: size.to_string(),
                quality: quality.map(str::to_string),
            },
            Missing::ImageTokens { size } => PriceError::NoImagePrice {
                model,
                size: size.to_string(),
                quality: None,
            },
            Missing::TokenPrice(what) => PriceError::NoTokenPrice { model, what },
        }
    }
}

impl Catalog {
    pub fn cost(
        &self,
        model: &ModelEntry,
        u: &PricingInput<'_>,
        tier: Tier,
    ) -> Result<Money, PriceError> {
        self.try_cost(model, u, tier).map_err(|m| m.error(model))
    }

    pub fn try_cost<'a>(
        &'a self,
        model: &'a ModelEntry,
        u: &PricingInput<'a>,
        tier: Tier,
    ) -> Result<Money, Missing<'a>> {
        let (p, _) = self.price_on(model, u.day);
        let mut cost = if model.kind == Kind::Image && !p.images.is_empty() {
            per_image_cost(model, p, u)?
        } else {
            token_cost(model, p, u)?
        };
        if tier == Tier::Batch {
            let d = p.batch_discount.ok_or(Missing::BatchTier)?;
            cost = cost * (Decimal::ONE - d.0);
        }
        Ok(cost + self.extras_cost(&u.extras, u.day))
    }

    /// The part of the token cost that thinking tokens make (zero for per-image models).
    pub fn thinking_cost(&self, model: &ModelEntry, u: &PricingInput<'_>) -> Money {
        let (p, _) = self.price_on(model, u.day);
        if model.kind == Kind::Image && !p.images.is_empty() {
            return Money::ZERO;
        }
        p.thinking_per_m
            .or(p.output_per_m)
            .map(|price| Money::per_million(u.tokens.thinking, price))
            .unwrap_or(Money::ZERO)
    }

    pub fn extras_cost(&self, e: &Extras, day: NaiveDate) -> Money {
        let mut total = Money::ZERO;
        for (id, n) in [
            ("web-search-grounding", e.web_search_grounding),
            ("search-standard", e.search_standard),
            ("search-deep", e.search_deep),
            ("web-search", e.web_search),
        ] {
            if n > 0
                && let Some(p) = self.extra_price(id, day)
            {
                total += p.times(u64::from(n));
            }
        }
        total
    }
}

fn per_image_cost<'a>(
    model: &'a ModelEntry,
    p: &PriceVersion,
    u: &PricingInput<'a>,
) -> Result<Money, Missing<'a>> {
    let mut cost = Money::ZERO;
    if u.images > 0 {
        let size = u.image_size.unwrap_or(DEFAULT_IMAGE_SIZE);
        let quality = u
            .quality
            .filter(|q| !q.eq_ignore_ascii_case("auto"))
            .or(model.default_quality.as_deref());
        let price =
            image_price(&p.images, size, quality).ok_or(Missing::ImagePrice { size, quality })?;
        cost += price.times(u64::from(u.images));
    }
    if let Some(inp) = p.input_per_m {
        cost += Money::per_million(u.tokens.input, inp);
    }
    Ok(cost)
}

/// The most specific per-image price: exact pixels, then size class, then any size.
/// One walk over the list, as re-pricing asks this for several models per record: the first
/// entry of the best rank wins.
fn image_price(prices: &[ImagePrice], size: ImageSize, quality: Option<&str>) -> Option<Money> {
    let tier = size.tier();
    let mut best: Option<(u8, Money)> = None;
    for ip in prices {
        let quality_ok = match (&ip.quality, quality) {
            (None, _) => true,
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            (Some(_), None) => false,
        };
        if !quality_ok {
            continue;
        }
        let rank = match ip.size.as_deref() {
            Some(s) if size_label_is(s, size) => 0,
            Some(s) if size_label_is(s, tier) => 1,
            Some(_) => continue,
            None => 2,
        };
        if rank == 0 {
            return Some(ip.price);
        }
        if best.is_none_or(|(r, _)| rank < r) {
            best = Some((rank, ip.price));
        }
    }
    best.map(|(_, price)| price)
}

/// Whether a catalog size label ("2K", "1024x1024") names exactly this size, as the label and
/// the size's own text compared without case would; parsed, so no text is built per record.
pub(super) fn size_label_is(label: &str, size: ImageSize) -> bool {
    let l = label.as_bytes();
    match size {
        ImageSize::K1 => l.eq_ignore_ascii_case(b"1K"),
        ImageSize::K2 => l.eq_ignore_ascii_case(b"2K"),
        ImageSize::K4 => l.eq_ignore_ascii_case(b"4K"),
        ImageSize::Pixels(w, h) => label
            .split_once(['x', 'X'])
            .is_some_and(|(a, b)| canonical_u32(a) == Some(w) && canonical_u32(b) == Some(h)),
    }
}

/// A number written as `Display` writes it: digits, no sign, no leading zero.
fn canonical_u32(s: &str) -> Option<u32> {
    if s.is_empty() || (s.len() > 1 && s.starts_with('0')) || !s.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    s.parse().ok()
}

pub(super) fn image_tokens(p: &PriceVersion, size: ImageSize) -> Option<u64> {
    let tier = size.tier();
    p.image_output_tokens
        .iter()
        .find(|(k, _)| size_label_is(k, size))
        .or_else(|| {
            p.image_output_tokens
                .iter()
                .find(|(k, _)| size_label_is(k, tier))
        })
        .map(|(_, v)| *v)
}

fn token_cost<'a>(
    model: &'a ModelEntry,
    p: &PriceVersion,
    u: &PricingInput<'a>,
) -> Result<Money, Missing<'a>> {
    let mut t = u.tokens;
    if model.kind == Kind::Image && u.images > 0 && (!u.own_tokens || t.output == 0) {
        let size = u.image_size.unwrap_or(DEFAULT_IMAGE_SIZE);
        let per = image_tokens(p, size).ok_or(Missing::ImageTokens { size })?;
        t.output = per * u64::from(u.images);
    }
    if model.kind == Kind::Image && !u.own_tokens {
        // Another image model's reasoning is unknown; its price is what its images cost. A
        // request that produced no image costs it nothing beyond the prompt.
        t.thinking = 0;
        if u.images == 0 {
            t.output = 0;
        }
    }
    let above = match (p.tier_threshold_tokens, &p.above_threshold) {
        (Some(n), Some(a)) if t.input + t.cache_read + t.cache_write > n => Some(a),
        _ => None,
    };
    let pick = |base: Option<Money>, hi: Option<Money>| above.and(hi).or(base);
    let input = pick(p.input_per_m, above.and_then(|a| a.input_per_m));
    let output = pick(p.output_per_m, above.and_then(|a| a.output_per_m));
    let cache_read = pick(p.cache_read_per_m, above.and_then(|a| a.cache_read_per_m)).or(input);
    let cache_write = pick(p.cache_write_per_m, above.and_then(|a| a.cache_write_per_m)).or(input);
    let thinking = p.thinking_per_m.or(output);
    let cache_write_1h = p.cache_write_1h_per_m.or(cache_write);

    let mut terms = [(0, Money::ZERO); 6];
    for ((n, price, what), term) in [
        (t.input, input, "input token"),
        (t.output, output, "output token"),
        (t.thinking, thinking, "thinking token"),
        (t.cache_read, cache_read, "cache read"),
        (t.cache_write, cache_write, "cache write"),
        (t.cache_write_1h, cache_write_1h, "1-hour cache write"),
    ]
    .into_iter()
    .zip(&mut terms)
    {
        if n > 0 {
            *term = (n, price.ok_or(Missing::TokenPrice(what))?);
        }
    }
    Ok(Money::sum_per_million(&terms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 10).expect("date")
    }

    fn image(size: &str, images: u32, output: u64) -> PricingInput<'static> {
        PricingInput {
            kind: Kind::Image,
            tokens: Tokens {
                output,
                ..Tokens::default()
            },
            images,
            image_size: ImageSize::parse(size),
            quality: None,
            extras: Extras::default(),
            day: day(),
            own_tokens: true,
        }
    }

    fn cost(c: &Catalog, id: &str, u: &PricingInput<'_>, tier: Tier) -> String {
        let m = c.model(id).expect("model");
        c.cost(m, u, tier)
            .map(|m| m.exact())
            .unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn seed_figures_come_out_exactly() {
        let c = Catalog::builtin().expect("catalog");
        assert_eq!(
            cost(
                &c,
                "gemini-3-pro-image",
                &image("2K", 1, 1120),
                Tier::Standard
            ),
            "0.1344"
        );
        assert_eq!(
            cost(&c, "gemini-3-pro-image", &image("2K", 1, 1120), Tier::Batch),
            "0.0672"
        );
        assert_eq!(
            cost(
                &c,
                "gemini-3-pro-image",
                &image("4K", 1, 2000),
                Tier::Standard
            ),
            "0.24"
        );
        assert_eq!(
            cost(&c, "gemini-3-pro-image", &image("4K", 1, 2000), Tier::Batch),
            "0.12"
        );
        // Token count derived from the size when the log has none.
        assert_eq!(
            cost(&c, "gemini-3-pro-image", &image("1K", 1, 0), Tier::Standard),
            "0.1344"
        );
        assert_eq!(
            cost(
                &c,
                "imagen-4-ultra",
                &image("1K", 10_000, 0),
                Tier::Standard
            ),
            "600"
        );
        let mut high = image("1024x1024", 10_000, 0);
        high.quality = Some("high");
        assert_eq!(cost(&c, "gpt-image-1", &high, Tier::Standard), "1670");
        assert_eq!(
            cost(
                &c,
                "flux-1.1-pro",
                &image("1024x1024", 1, 0),
                Tier::Standard
            ),
            "0.04"
        );
        assert_eq!(
            cost(
                &c,
                "stable-diffusion-3",
                &image("1024x1024", 1, 0),
                Tier::Standard
            ),
            "0.002"
        );
        let mut flux = image("1024x1024", 1, 1290);
        flux.tokens.input = 200;
        assert_eq!(cost(&c, "flux-pro", &flux, Tier::Standard), "0.0133");
        // 200 images at 2K: $26.88 standard; on the batch tier $13.44 (the seed's "around
        // $13.40" multiplies the rounded $0.067).
        assert_eq!(
            cost(&c, "gemini-3-pro-image", &image("2K", 200, 0), Tier::Batch),
            "13.44"
        );
        // 50 4K images a month: "about $12.00".
        assert_eq!(
            cost(
                &c,
                "gemini-3-pro-image",
                &image("4K", 50, 0),
                Tier::Standard
            ),
            "12"
        );
        // 10 Flux Pro images of 200 + 1,290 tokens on NanoGPT: "about $0.14".
        let mut ten = image("1024x1024", 10, 12_900);
        ten.tokens.input = 2000;
        assert_eq!(cost(&c, "flux-pro", &ten, Tier::Standard), "0.133");
        assert_eq!(
            cost(
                &c,
                "gemini-3-pro-image",
                &image("2K", 200, 0),
                Tier::Standard
            ),
            "26.88"
        );
    }

    #[test]
    fn thinking_and_cache_prices() {
        let c = Catalog::builtin().expect("catalog");
        let mut u = image("2K", 1, 1120);
        u.tokens.thinking = 1000;
        u.tokens.input = 100;
        // 0.1344 + 1000 x 12/M + 100 x 2/M
        assert_eq!(cost(&c, "gemini-3-pro-image", &u, Tier::Standard), "0.1466");
        let text = PricingInput {
            kind: Kind::Text,
            tokens: Tokens {
                input: 1000,
                output: 2000,
                thinking: 0,
                cache_read: 10_000,
                cache_write: 4000,
                cache_write_1h: 0,
            },
            images: 0,
            image_size: None,
            quality: None,
            extras: Extras::default(),
            day: day(),
            own_tokens: true,
        };
        // 1000x3 + 2000x15 + 10000x0.30 + 4000x3.75, per million
        assert_eq!(
            cost(&c, "claude-sonnet-4-5", &text, Tier::Standard),
            "0.051"
        );
        assert_eq!(cost(&c, "claude-sonnet-4-5", &text, Tier::Batch), "0.0255");
    }

    #[test]
    fn missing_tiers_and_sizes_are_errors_not_zero() {
        let c = Catalog::builtin().expect("catalog");
        assert_eq!(
            cost(&c, "imagen-4-ultra", &image("1K", 1, 0), Tier::Batch),
            "imagen-4-ultra has no batch tier"
        );
        assert_eq!(
            cost(&c, "imagen-4-ultra", &image("4K", 1, 0), Tier::Standard),
            "imagen-4-ultra has no price for 4K images"
        );
        let mut hd = image("1024x1024", 1, 0);
        hd.quality = Some("hd");
        assert_eq!(
            cost(&c, "gpt-image-1", &hd, Tier::Standard),
            "gpt-image-1 has no price for 1024x1024 images of quality hd"
        );
    }

    #[test]
    fn substitutes_count_image_tokens_their_own_way() {
        let c = Catalog::builtin().expect("catalog");
        let mut u = image("1024x1024", 2, 5000);
        u.own_tokens = false;
        // flux-pro: 2 x 1,290 tokens at $10/M, not the 5,000 the original model reported.
        assert_eq!(cost(&c, "flux-pro", &u, Tier::Standard), "0.0258");
        // A rejected request (no image) with thinking tokens costs the substitute only its
        // prompt, whether or not images were produced elsewhere in the log.
        let mut rejected = image("2K", 0, 0);
        rejected.own_tokens = false;
        rejected.tokens.thinking = 900;
        rejected.tokens.input = 100;
        assert_eq!(cost(&c, "flux-pro", &rejected, Tier::Standard), "0.0002");
        let mut with_image = image("1024x1024", 1, 0);
        with_image.own_tokens = false;
        with_image.tokens.thinking = 900;
        assert_eq!(cost(&c, "flux-pro", &with_image, Tier::Standard), "0.0129");
    }

    #[test]
    fn extras_are_added_per_request() {
        let c = Catalog::builtin().expect("catalog");
        let mut u = image("2K", 1, 1120);
        u.extras = Extras {
            web_search_grounding: 1,
            search_standard: 2,
            search_deep: 1,
            web_search: 0,
        };
        // 0.1344 + 0.035 + 2 x 0.006 + 0.06
        assert_eq!(cost(&c, "gemini-3-pro-image", &u, Tier::Standard), "0.2414");
    }

    #[test]
    fn image_prices_go_exact_size_then_class_then_any_size_first_entry_first() {
        let entry = |size: Option<&str>, quality: Option<&str>, price: &str| ImagePrice {
            size: size.map(str::to_string),
            quality: quality.map(str::to_string),
            price: price.parse().expect("price"),
        };
        let list = vec![
            entry(None, None, "9"),
            entry(Some("1K"), Some("high"), "8"),
            entry(Some("1k"), None, "7"),
            entry(Some("1K"), None, "6"),
            entry(Some("1024X1024"), Some("HIGH"), "5"),
            entry(Some("1024x1024"), Some("high"), "4"),
            entry(None, Some("low"), "3"),
        ];
        let price = |size: &str, quality: Option<&str>| {
            let size = ImageSize::parse(size).expect("size");
            image_price(&list, size, quality).map(Money::exact)
        };
        let text = |p: &str| Some(p.to_string());
        assert_eq!(price("1024x1024", Some("high")), text("5"));
        assert_eq!(price("1024x1024", None), text("7"));
        assert_eq!(price("1K", Some("high")), text("8"));
        assert_eq!(price("512x512", Some("High")), text("8"));
        assert_eq!(price("2K", Some("low")), text("9"));
        assert_eq!(price("2K", None), text("9"));
        assert_eq!(image_price(&list[1..2], ImageSize::K2, Some("high")), None);
        assert_eq!(image_price(&list[6..], ImageSize::K2, None), None);
    }
}
