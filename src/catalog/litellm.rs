//! Import of LiteLLM's `model_prices_and_context_window.json`. Its prices are per token, written
//! as JSON numbers (often `2.5e-06`); they are read from their text so they stay exact.

use super::types::*;
use crate::error::ConfigError;
use crate::money::{Money, Ratio};
use crate::record::Kind;
use chrono::NaiveDate;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

const MILLION: u64 = 1_000_000;

/// Converts the LiteLLM file into a catalog. Plans and extras, which LiteLLM does not describe,
/// are taken from the built-in catalog.
pub fn import(text: &str, origin: &str) -> Result<CatalogFile, ConfigError> {
    let parse_err = |message: String| ConfigError::Parse {
        file: origin.to_string(),
        message,
    };
    let entries: BTreeMap<String, Box<RawValue>> =
        serde_json::from_str(text).map_err(|e| parse_err(e.to_string()))?;
    let mut models = Vec::new();
    for (key, raw) in &entries {
        if key == "sample_spec" {
            continue;
        }
        let fields: BTreeMap<String, Box<RawValue>> = match serde_json::from_str(raw.get()) {
            Ok(f) => f,
            Err(_) => continue, // not an object: not a model entry
        };
        let num = |name: &str| -> Result<Option<Money>, ConfigError> {
            match fields.get(name) {
                None => Ok(None),
                Some(v) if v.get() == "null" => Ok(None),
                Some(v) => Money::parse(v.get().trim_matches('"'))
                    .map(Some)
                    .map_err(|e| parse_err(format!("{key}.{name}: {e}"))),
            }
        };
        let per_m = |name: &str| -> Result<Option<Money>, ConfigError> {
            Ok(num(name)?.map(|m| m.times(MILLION)))
        };
        let text_field = |name: &str| {
            fields
                .get(name)
                .and_then(|v| serde_json::from_str::<String>(v.get()).ok())
        };
        let mode = text_field("mode").unwrap_or_default();
        if mode == "embedding" || mode == "rerank" || mode == "moderation" {
            continue;
        }
        let provider = text_field("litellm_provider").unwrap_or_else(|| "unknown".to_string());
        let input = per_m("input_cost_per_token")?;
        let output = per_m("output_cost_per_token")?;
        let per_image = num("output_cost_per_image")?;
        let image_token = per_m("output_cost_per_image_token")?;
        let kind = if mode == "image_generation" || per_image.is_some() || image_token.is_some() {
            Kind::Image
        } else {
            Kind::Text
        };
        let mut price = PriceVersion {
            effective: NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default(),
            source: format!("{origin}: {key}"),
            input_per_m: input,
            output_per_m: image_token.or(output),
            thinking_per_m: per_m("output_cost_per_reasoning_token")?,
            cache_read_per_m: per_m("cache_read_input_token_cost")?,
            cache_write_per_m: per_m("cache_creation_input_token_cost")?,
            cache_write_1h_per_m: per_m("cache_creation_input_token_cost_above_1hr")?,
            ..PriceVersion::default()
        };
        if image_token.is_none()
            && let Some(p) = per_image
        {
            price.images.push(ImagePrice {
                size: None,
                quality: None,
                price: p,
            });
        }
        if let (Some(b), Some(i)) = (per_m("input_cost_per_token_batches")?, input)
            && !i.is_zero()
            && let Some(share) = b.share_of(i)
        {
            price.batch_discount = Some(Ratio(rust_decimal::Decimal::ONE - share));
        }
        let hi_in = per_m("input_cost_per_token_above_200k_tokens")?;
        let hi_out = per_m("output_cost_per_token_above_200k_tokens")?;
        if hi_in.is_some() || hi_out.is_some() {
            price.tier_threshold_tokens = Some(200_000);
            price.above_threshold = Some(TokenPrices {
                input_per_m: hi_in,
                output_per_m: hi_out,
                cache_read_per_m: per_m("cache_read_input_token_cost_above_200k_tokens")?,
                cache_write_per_m: per_m("cache_creation_input_token_cost_above_200k_tokens")?,
            });
        }
        if price.input_per_m.is_none() && price.output_per_m.is_none() && price.images.is_empty() {
            continue; // no price LiteLLM knows for it
        }
        models.push(ModelEntry {
            id: key.clone(),
            provider,
            kind,
            aliases: Vec::new(),
            default_quality: None,
            prices: vec![price],
            quality_score: None,
            offers: Vec::new(),
        });
    }
    let models = gather_offers(models);
    let builtin: CatalogFile =
        toml::from_str(super::DEFAULT_TOML).map_err(|e| parse_err(e.to_string()))?;
    let known: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
    let plans = builtin
        .plans
        .into_iter()
        .filter(|p| p.models.iter().all(|m| known.contains(&m.as_str())))
        .collect();
    Ok(CatalogFile {
        currency: "USD".to_string(),
        models,
        plans,
        extras: builtin.extras,
    })
}

/// LiteLLM keys a model once per route: "gemini-3-pro-image-preview" and then
/// "vertex_ai/gemini-3-pro-image-preview", "openrouter/google/gemini-3-pro-image-preview". A
/// routed key whose model is also a key of its own becomes an offer of that model, from the
/// route's provider, with the key as its alias; other routed keys stay models of their own.
fn gather_offers(models: Vec<ModelEntry>) -> Vec<ModelEntry> {
    let bare: BTreeMap<String, usize> = models
        .iter()
        .enumerate()
        .filter(|(_, m)| !m.id.contains('/'))
        .map(|(i, m)| (m.id.to_ascii_lowercase(), i))
        .collect();
    let target = |key: &str| -> Option<usize> {
        let (_, rest) = key.split_once('/')?;
        let last = rest.rsplit('/').next().unwrap_or(rest);
        [rest, last]
            .into_iter()
            .find_map(|name| bare.get(&name.to_ascii_lowercase()).copied())
    };
    let mut out: Vec<Option<ModelEntry>> = Vec::with_capacity(models.len());
    let mut routed = Vec::new();
    for (i, m) in models.into_iter().enumerate() {
        match target(&m.id) {
            Some(t) if t != i => {
                routed.push((t, m));
                out.push(None);
            }
            _ => out.push(Some(m)),
        }
    }
    for (t, m) in routed {
        let Some(model) = out[t].as_mut() else {
            continue;
        };
        let who = crate::provider::canonical(&m.provider);
        let taken = crate::provider::canonical(&model.provider) == who
            || model
                .offers
                .iter()
                .any(|o| crate::provider::canonical(&o.provider) == who);
        // Keys come sorted, so of two routes to one provider the first is kept.
        if !taken {
            model.offers.push(OfferEntry {
                provider: who,
                aliases: vec![m.id],
                prices: m.prices,
            });
        }
    }
    out.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Catalog, PricingInput, Tier};
    use crate::record::{Extras, ImageSize, Tokens};

    const EXCERPT: &str = r#"{
  "sample_spec": {"max_tokens": "LEGACY parameter", "input_cost_per_token": 0.0},
  "gpt-4o": {"max_tokens": 16384, "input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05,
    "cache_read_input_token_cost": 1.25e-06, "input_cost_per_token_batches": 1.25e-06,
    "output_cost_per_token_batches": 5e-06, "litellm_provider": "openai", "mode": "chat"},
  "gemini-3-pro-image-preview": {"input_cost_per_token": 2e-06, "output_cost_per_token": 1.2e-05,
    "output_cost_per_image": 0.134, "output_cost_per_image_token": 0.00012,
    "litellm_provider": "gemini", "mode": "image_generation"},
  "gemini-2.5-pro": {"input_cost_per_token": 1.25e-06, "output_cost_per_token": 1e-05,
    "input_cost_per_token_above_200k_tokens": 2.5e-06, "output_cost_per_token_above_200k_tokens": 1.5e-05,
    "litellm_provider": "gemini", "mode": "chat"},
  "vertex_ai/imagen-4.0-ultra-generate-001": {"output_cost_per_image": 0.06,
    "litellm_provider": "vertex_ai-image-models", "mode": "image_generation"},
  "text-embedding-3-small": {"input_cost_per_token": 2e-08, "litellm_provider": "openai", "mode": "embedding"}
}"#;

    #[test]
    fn imports_token_batch_tier_and_image_prices_exactly() {
        let file = import(EXCERPT, "litellm.json").expect("imports");
        let ids: Vec<&str> = file.models.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "gemini-2.5-pro",
                "gemini-3-pro-image-preview",
                "gpt-4o",
                "vertex_ai/imagen-4.0-ultra-generate-001"
            ]
        );
        let c = Catalog::new(file, "litellm.json").expect("valid");
        let gpt = c.model("gpt-4o").expect("gpt-4o");
        let p = &gpt.prices[0];
        assert_eq!(p.input_per_m.map(|m| m.exact()).as_deref(), Some("2.5"));
        assert_eq!(p.output_per_m.map(|m| m.exact()).as_deref(), Some("10"));
        assert_eq!(
            p.cache_read_per_m.map(|m| m.exact()).as_deref(),
            Some("1.25")
        );
        assert_eq!(
            p.batch_discount
                .map(|r| r.0.normalize().to_string())
                .as_deref(),
            Some("0.5")
        );

        let day = NaiveDate::from_ymd_opt(2026, 3, 1).expect("date");
        let u = |input: u64, output: u64, images: u32, size: Option<ImageSize>| PricingInput {
            kind: if images > 0 { Kind::Image } else { Kind::Text },
            tokens: Tokens {
                input,
                output,
                ..Tokens::default()
            },
            images,
            image_size: size,
            quality: None,
            extras: Extras::default(),
            day,
            own_tokens: true,
        };
        let cost = |id: &str, x: &PricingInput, t| {
            c.cost(c.model(id).expect(id), x, t)
                .expect("priced")
                .exact()
        };
        assert_eq!(
            cost(
                "gemini-3-pro-image-preview",
                &u(0, 1120, 1, ImageSize::parse("2K")),
                Tier::Standard
            ),
            "0.1344"
        );
        assert_eq!(
            cost(
                "vertex_ai/imagen-4.0-ultra-generate-001",
                &u(0, 0, 3, None),
                Tier::Standard
            ),
            "0.18"
        );
        assert_eq!(
            cost("gpt-4o", &u(1000, 1000, 0, None), Tier::Batch),
            "0.00625"
        );
        // Above 200k input tokens the higher tier applies to the whole request.
        assert_eq!(
            cost("gemini-2.5-pro", &u(200_000, 1000, 0, None), Tier::Standard),
            "0.26"
        );
        assert_eq!(
            cost("gemini-2.5-pro", &u(200_001, 1000, 0, None), Tier::Standard),
            "0.5150025"
        );
        assert!(c.resolve("gemini/gemini-3-pro-image-preview").is_some());
        assert!(
            c.plan("google-ai-pro").is_none(),
            "its model id is not in the import"
        );
    }

    #[test]
    fn provider_prefixed_keys_import_as_offers_of_the_same_model() {
        // LiteLLM's keys for one model on its own API and through four routes; made-up
        // per-token figures so every offer differs.
        let text = r#"{
  "gemini-3-pro-image-preview": {"input_cost_per_token": 2e-06,
    "output_cost_per_image_token": 0.00012, "litellm_provider": "gemini", "mode": "image_generation"},
  "vertex_ai/gemini-3-pro-image-preview": {"input_cost_per_token": 2e-06,
    "output_cost_per_image_token": 0.0001, "input_cost_per_token_batches": 1e-06,
    "litellm_provider": "vertex_ai-image-models", "mode": "image_generation"},
  "openrouter/google/gemini-3-pro-image-preview": {"input_cost_per_token": 2e-06,
    "output_cost_per_image_token": 0.00011, "litellm_provider": "openrouter", "mode": "image_generation"},
  "flux-pro/v1.1": {"output_cost_per_image": 0.04, "litellm_provider": "black_forest_labs", "mode": "image_generation"},
  "fal_ai/fal-ai/flux-pro/v1.1": {"output_cost_per_image": 0.035, "litellm_provider": "fal_ai", "mode": "image_generation"},
  "bedrock/anthropic.claude-x": {"input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
    "litellm_provider": "bedrock", "mode": "chat"}
}"#;
        let file = import(text, "l.json").expect("imports");
        let ids: Vec<&str> = file.models.iter().map(|m| m.id.as_str()).collect();
        // Routed keys whose model has a key of its own fold into it; the Bedrock key (no bare
        // key) and the fal key (its bare name "flux-pro/v1.1" routes too) stay models.
        assert_eq!(
            ids,
            [
                "bedrock/anthropic.claude-x",
                "fal_ai/fal-ai/flux-pro/v1.1",
                "flux-pro/v1.1",
                "gemini-3-pro-image-preview"
            ]
        );
        let g = &file.models[3];
        let offers: Vec<(&str, &[String])> = g
            .offers
            .iter()
            .map(|o| (o.provider.as_str(), o.aliases.as_slice()))
            .collect();
        assert_eq!(
            offers,
            [
                (
                    "openrouter",
                    &["openrouter/google/gemini-3-pro-image-preview".to_string()][..]
                ),
                (
                    "vertex",
                    &["vertex_ai/gemini-3-pro-image-preview".to_string()][..]
                ),
            ]
        );
        let c = Catalog::new(file, "l.json").expect("valid");
        assert_eq!(
            c.resolve_offer("vertex_ai/gemini-3-pro-image-preview"),
            Some((3, Some(1)))
        );
        assert_eq!(
            c.resolve_offer("gemini-3-pro-image-preview"),
            Some((3, None))
        );
        let day = NaiveDate::from_ymd_opt(2026, 3, 1).expect("date");
        let u = PricingInput {
            kind: Kind::Image,
            tokens: Tokens {
                input: 100,
                output: 1120,
                ..Tokens::default()
            },
            images: 1,
            image_size: ImageSize::parse("2K"),
            quality: None,
            extras: Extras::default(),
            day,
            own_tokens: true,
        };
        let at = |offer: Option<usize>, tier| {
            c.cost(c.offer_entry(3, offer), &u, tier)
                .map(|m| m.exact())
                .unwrap_or_else(|e| e.to_string())
        };
        // 100 x $2/M + 1,120 x $120/M on Google; x $110/M on OpenRouter; x $100/M on
        // Vertex, whose batch input price is half: a 50% batch tier, 0.1122 / 2.
        assert_eq!(at(None, Tier::Standard), "0.1346");
        assert_eq!(at(Some(0), Tier::Standard), "0.1234");
        assert_eq!(at(Some(1), Tier::Standard), "0.1122");
        assert_eq!(at(Some(1), Tier::Batch), "0.0561");
        assert_eq!(
            at(Some(0), Tier::Batch),
            "gemini-3-pro-image-preview has no batch tier"
        );
    }

    #[test]
    fn refuses_a_price_that_is_not_a_number() {
        let e = import(
            r#"{"m": {"input_cost_per_token": "abc", "litellm_provider": "x"}}"#,
            "l.json",
        )
        .expect_err("bad number");
        assert_eq!(
            e.to_string(),
            "l.json: m.input_cost_per_token: 'abc' is not a decimal"
        );
    }
}
