//! The price catalog: which models exist, under which names they appear in logs, and what they
//! cost on a given day.

mod image_count;
pub mod litellm;
mod lookup;
mod merge;
mod pricing;
mod render;
pub mod types;

pub use lookup::normalize_name;
pub use merge::merge;
pub use pricing::{DEFAULT_IMAGE_SIZE, Missing, PriceError, PricingInput, Tier};
pub use render::{render_history, render_list};
pub use types::*;

use crate::error::ConfigError;
use crate::money::Money;
use chrono::NaiveDate;
use std::collections::HashMap;
use std::path::Path;

pub const DEFAULT_TOML: &str = include_str!("default.toml");

#[derive(Debug, Clone)]
pub struct Catalog {
    pub file: CatalogFile,
    /// Every name (ids, aliases, offer aliases) -> (model, the offer it names if any).
    names: HashMap<String, (usize, Option<usize>)>,
    /// Per model, each offer seen as a model of its own (the offer's provider and prices), so
    /// pricing reads an offer exactly as it reads a model.
    offer_views: Vec<Vec<ModelEntry>>,
    /// Per model, the canonical provider names of its maker and then of each offer.
    sellers: Vec<Vec<String>>,
    /// Where the catalog came from, for the run manifest.
    pub origin: String,
}

impl Catalog {
    pub fn builtin() -> Result<Catalog, ConfigError> {
        Self::from_toml(DEFAULT_TOML, "built-in")
    }

    pub fn from_toml(text: &str, origin: &str) -> Result<Catalog, ConfigError> {
        let file: CatalogFile = toml::from_str(text).map_err(|e| ConfigError::Parse {
            file: origin.to_string(),
            message: e.to_string(),
        })?;
        Catalog::new(file, origin)
    }

    /// Loads `--catalog FILE`: TOML in reprice's format, or a LiteLLM price JSON.
    pub fn load(path: &Path) -> Result<Catalog, ConfigError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            file: origin.clone(),
            message: e.to_string(),
        })?;
        if text.trim_start().starts_with('{') {
            let file = litellm::import(&text, &origin)?;
            Catalog::new(file, &origin)
        } else {
            Catalog::from_toml(&text, &origin)
        }
    }

    /// The first file is the base (TOML or LiteLLM JSON); each further TOML file is laid on top.
    pub fn load_all(paths: &[std::path::PathBuf]) -> Result<Catalog, ConfigError> {
        let Some((first, rest)) = paths.split_first() else {
            return Catalog::builtin();
        };
        // "builtin" names the embedded catalog, so overrides can be laid on it.
        let mut base = if first.as_os_str() == "builtin" {
            Catalog::builtin()?
        } else {
            Catalog::load(first)?
        };
        for p in rest {
            let origin = p.display().to_string();
            let text = std::fs::read_to_string(p).map_err(|e| ConfigError::Read {
                file: origin.clone(),
                message: e.to_string(),
            })?;
            let overlay: CatalogFile = toml::from_str(&text).map_err(|e| ConfigError::Parse {
                file: origin.clone(),
                message: e.to_string(),
            })?;
            let merged = merge(base.file, overlay);
            base = Catalog::new(merged, &format!("{} + {origin}", base.origin))?;
        }
        Ok(base)
    }

    pub fn new(mut file: CatalogFile, origin: &str) -> Result<Catalog, ConfigError> {
        let bad = |message: String| ConfigError::Invalid {
            file: origin.to_string(),
            message,
        };
        let mut names: HashMap<String, (usize, Option<usize>)> = HashMap::new();
        let ids: Vec<String> = file.models.iter().map(|m| m.id.clone()).collect();
        let mut offer_views = Vec::with_capacity(file.models.len());
        let mut all_sellers = Vec::with_capacity(file.models.len());
        for (i, m) in file.models.iter_mut().enumerate() {
            if m.provider.trim().is_empty() {
                return Err(bad(format!("model {}: no provider", m.id)));
            }
            if m.prices.is_empty() {
                return Err(bad(format!("model {}: no [[model.price]]", m.id)));
            }
            sort_versions(&m.id, &mut m.prices).map_err(&bad)?;
            let mut sellers = vec![crate::provider::canonical(&m.provider)];
            if m.offers.len() >= usize::from(NO_OFFER) {
                return Err(bad(format!("model {}: too many offers", m.id)));
            }
            for o in &mut m.offers {
                let who = crate::provider::canonical(&o.provider);
                if who.is_empty() || sellers.contains(&who) {
                    return Err(bad(format!(
                        "model {}: two offers from provider '{}'",
                        m.id, o.provider
                    )));
                }
                sellers.push(who);
                if o.prices.is_empty() {
                    return Err(bad(format!(
                        "model {} offer {}: no [[model.offer.price]]",
                        m.id, o.provider
                    )));
                }
                let what = format!("{} offer {}", m.id, o.provider);
                sort_versions(&what, &mut o.prices).map_err(&bad)?;
            }
            // A rating decides what `cheapest` may pick: one nobody can check is not taken.
            if let Some(q) = &m.quality_score
                && q.source.trim().is_empty()
            {
                return Err(bad(format!(
                    "model {}: quality_score {} has no source",
                    m.id, q.score
                )));
            }
            let own = m.aliases.iter().map(|a| (a, None));
            let offered = m
                .offers
                .iter()
                .enumerate()
                .flat_map(|(k, o)| o.aliases.iter().map(move |a| (a, Some(k))));
            for (name, offer) in std::iter::once((&m.id, None)).chain(own).chain(offered) {
                let key = normalize_name(name);
                if let Some(&(j, o)) = names.get(&key)
                    && (j != i || o != offer)
                {
                    return Err(bad(format!(
                        "name '{name}' is used by both {} and {}",
                        ids[j], m.id
                    )));
                }
                names.insert(key, (i, offer));
            }
            all_sellers.push(sellers);
            offer_views.push(
                m.offers
                    .iter()
                    .map(|o| ModelEntry {
                        id: m.id.clone(),
                        provider: o.provider.clone(),
                        kind: m.kind,
                        aliases: o.aliases.clone(),
                        default_quality: m.default_quality.clone(),
                        prices: o.prices.clone(),
                        quality_score: m.quality_score.clone(),
                        offers: Vec::new(),
                    })
                    .collect(),
            );
        }
        for p in &file.plans {
            if p.monthly_fee.is_negative() {
                return Err(bad(format!("plan {}: negative monthly_fee", p.id)));
            }
            for id in &p.models {
                if !file.models.iter().any(|m| &m.id == id) {
                    return Err(bad(format!("plan {}: unknown model '{id}'", p.id)));
                }
            }
        }
        for e in &file.extras {
            if e.price_per_request.is_negative() {
                return Err(bad(format!("extra {}: negative price", e.id)));
            }
        }
        Ok(Catalog {
            file,
            names,
            offer_views,
            sellers: all_sellers,
            origin: origin.to_string(),
        })
    }

    pub fn currency(&self) -> &str {
        &self.file.currency
    }

    pub fn models(&self) -> &[ModelEntry] {
        &self.file.models
    }

    pub fn model(&self, id: &str) -> Option<&ModelEntry> {
        self.file.models.iter().find(|m| m.id == id)
    }

    pub fn plan(&self, id: &str) -> Option<&PlanEntry> {
        self.file.plans.iter().find(|p| p.id == id)
    }

    /// The catalog model a logged model name refers to.
    pub fn resolve(&self, logged: &str) -> Option<&ModelEntry> {
        self.resolve_offer(logged)
            .map(|(i, _)| &self.file.models[i])
    }

    /// The catalog model (by index) a logged name refers to, and the offer when the name is
    /// one of an offer's aliases.
    pub fn resolve_offer(&self, logged: &str) -> Option<(usize, Option<usize>)> {
        lookup::candidates(logged)
            .into_iter()
            .find_map(|k| self.names.get(&k).copied())
    }

    /// Model `model` as sold by its maker (`offer` None) or by one of its offers: the offer's
    /// provider and prices, everything else the model's.
    pub fn offer_entry(&self, model: usize, offer: Option<usize>) -> &ModelEntry {
        match offer {
            None => &self.file.models[model],
            Some(k) => &self.offer_views[model][k],
        }
    }

    /// Which offer of model `model` the provider sells: Some(None) for the maker, Some(Some(k))
    /// for offer k, None when it does not sell it. `provider` is a canonical name.
    pub fn offer_of(&self, model: usize, provider: &str) -> Option<Option<usize>> {
        self.sellers[model]
            .iter()
            .position(|p| p == provider)
            .map(|k| k.checked_sub(1))
    }

    /// The canonical name of the provider of an offer (None: the maker).
    pub fn seller(&self, model: usize, offer: Option<usize>) -> &str {
        &self.sellers[model][offer.map_or(0, |k| k + 1)]
    }

    /// Every offer of a model, the maker's first (None), with its provider's canonical name.
    pub fn offers_of(&self, model: usize) -> impl Iterator<Item = (Option<usize>, &str)> + '_ {
        self.sellers[model]
            .iter()
            .enumerate()
            .map(|(k, p)| (k.checked_sub(1), p.as_str()))
    }

    /// The price version in force on `day`: the latest that took effect on or before it. A day
    /// before the first version is priced at the first one (`before_first` tells).
    pub fn price_on<'a>(&self, model: &'a ModelEntry, day: NaiveDate) -> (&'a PriceVersion, bool) {
        let idx = model.prices.partition_point(|p| p.effective <= day);
        if idx == 0 {
            (&model.prices[0], true)
        } else {
            (&model.prices[idx - 1], false)
        }
    }

    /// The extra's price in force on `day`, by the same rule as `price_on`: the latest that
    /// took effect on or before it, else the first.
    pub fn extra_price(&self, id: &str, day: NaiveDate) -> Option<Money> {
        let versions = || self.file.extras.iter().filter(|e| e.id == id);
        versions()
            .filter(|e| e.effective <= day)
            .max_by_key(|e| e.effective)
            .or_else(|| versions().min_by_key(|e| e.effective))
            .map(|e| e.price_per_request)
    }
}

/// Offers beyond this many per model do not fit the 16-bit index priced records keep.
pub const NO_OFFER: u16 = u16::MAX;

/// Sorts price versions by date; two on one date are an error.
fn sort_versions(what: &str, prices: &mut [PriceVersion]) -> Result<(), String> {
    prices.sort_by_key(|p| p.effective);
    for w in prices.windows(2) {
        if w[0].effective == w[1].effective {
            return Err(format!(
                "model {what}: two prices effective on {}",
                w[0].effective
            ));
        }
    }
    for p in prices.iter() {
        check_price(what, p)?;
    }
    Ok(())
}

fn check_price(id: &str, p: &PriceVersion) -> Result<(), String> {
    let neg = [
        p.input_per_m,
        p.output_per_m,
        p.thinking_per_m,
        p.cache_read_per_m,
        p.cache_write_per_m,
        p.cache_write_1h_per_m,
    ]
    .into_iter()
    .flatten()
    .chain(p.images.iter().map(|i| i.price))
    .any(|m| m.is_negative());
    if neg {
        return Err(format!(
            "model {id}: negative price effective {}",
            p.effective
        ));
    }
    if let Some(d) = p.batch_discount
        && (d.0.is_sign_negative() || d.0 > rust_decimal::Decimal::ONE)
    {
        return Err(format!("model {id}: batch_discount must be within 0..1"));
    }
    if p.input_per_m.is_none() && p.output_per_m.is_none() && p.images.is_empty() {
        return Err(format!(
            "model {id}: price effective {} has neither token nor image prices",
            p.effective
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_loads_with_the_design_ids() {
        let c = Catalog::builtin().expect("default catalog is valid");
        for id in [
            "gemini-3-pro-image",
            "imagen-4-ultra",
            "gpt-image-1",
            "flux-1.1-pro",
            "flux-pro",
            "stable-diffusion-3",
        ] {
            assert!(c.model(id).is_some(), "{id}");
        }
        for id in ["google-ai-pro", "chatgpt-plus"] {
            assert!(c.plan(id).is_some(), "{id}");
        }
        let day = NaiveDate::from_ymd_opt(2026, 3, 1).expect("date");
        assert_eq!(
            c.extra_price("web-search-grounding", day)
                .map(|m| m.exact())
                .as_deref(),
            Some("0.035")
        );
        assert_eq!(
            c.extra_price("search-standard", day)
                .map(|m| m.exact())
                .as_deref(),
            Some("0.006")
        );
        assert_eq!(
            c.extra_price("search-deep", day)
                .map(|m| m.exact())
                .as_deref(),
            Some("0.06")
        );
    }

    #[test]
    fn resolves_names_seen_in_logs() {
        let c = Catalog::builtin().expect("catalog");
        let cases = [
            ("gemini-3-pro-image-preview", "gemini-3-pro-image"),
            ("models/gemini-3-pro-image-preview", "gemini-3-pro-image"),
            ("google/gemini-3-pro-image-preview", "gemini-3-pro-image"),
            ("Gemini-3-Pro-Image", "gemini-3-pro-image"),
            ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
            ("anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"),
            ("black-forest-labs/flux-1.1-pro", "flux-1.1-pro"),
            ("gpt-image-1", "gpt-image-1"),
            ("imagen-4.0-ultra-generate-001", "imagen-4-ultra"),
        ];
        for (logged, id) in cases {
            assert_eq!(
                c.resolve(logged).map(|m| m.id.as_str()),
                Some(id),
                "{logged}"
            );
        }
        assert!(c.resolve("mystery-model-9").is_none());
    }

    #[test]
    fn refuses_alias_collisions_and_bad_prices() {
        let text = r#"
[[model]]
id = "a"
provider = "p"
kind = "text"
aliases = ["x"]
[[model.price]]
effective = "2025-01-01"
source = "s"
input_per_m = "1"
[[model]]
id = "b"
provider = "p"
kind = "text"
aliases = ["X"]
[[model.price]]
effective = "2025-01-01"
source = "s"
input_per_m = "1"
"#;
        let e = Catalog::from_toml(text, "t.toml").expect_err("collision");
        assert_eq!(e.to_string(), "t.toml: name 'X' is used by both a and b");
        let neg = text.replace("aliases = [\"X\"]", "").replacen(
            "input_per_m = \"1\"",
            "input_per_m = \"-1\"",
            1,
        );
        let e = Catalog::from_toml(&neg, "t.toml").expect_err("negative");
        assert_eq!(
            e.to_string(),
            "t.toml: model a: negative price effective 2025-01-01"
        );
    }

    #[test]
    fn refuses_two_offers_from_one_provider_and_an_offer_without_prices() {
        let model = |offers: &str| {
            format!(
                "[[model]]\nid = \"m\"\nprovider = \"Maker\"\nkind = \"text\"\n[[model.price]]\neffective = \"2025-01-01\"\nsource = \"s\"\ninput_per_m = \"1\"\n{offers}"
            )
        };
        let offer = |p: &str| {
            format!(
                "[[model.offer]]\nprovider = \"{p}\"\n[[model.offer.price]]\neffective = \"2025-01-01\"\nsource = \"s\"\ninput_per_m = \"2\"\n"
            )
        };
        let e = Catalog::from_toml(&model(&(offer("nano-gpt") + &offer("NanoGPT"))), "t")
            .expect_err("twice");
        assert_eq!(
            e.to_string(),
            "t: model m: two offers from provider 'NanoGPT'"
        );
        let e = Catalog::from_toml(&model(&offer("maker")), "t").expect_err("the maker");
        assert_eq!(
            e.to_string(),
            "t: model m: two offers from provider 'maker'"
        );
        let e = Catalog::from_toml(&model("[[model.offer]]\nprovider = \"x\"\n"), "t")
            .expect_err("no prices");
        assert_eq!(
            e.to_string(),
            "t: model m offer x: no [[model.offer.price]]"
        );
        let e = Catalog::from_toml("[[model]]\nid = \"m\"\n", "t").expect_err("no maker");
        assert_eq!(e.to_string(), "t: model m: no provider");
    }

    #[test]
    fn extra_price_in_force_follows_effective_dates() {
        let text = r#"
[[extra]]
id = "search-deep"
price_per_request = "0.08"
effective = "2026-06-01"
source = "new"
[[extra]]
id = "search-deep"
price_per_request = "0.06"
effective = "2026-01-01"
source = "old"
"#;
        let c = Catalog::from_toml(text, "t").expect("valid");
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
        let p = |s: &str| c.extra_price("search-deep", d(s)).map(|m| m.exact());
        assert_eq!(p("2025-12-31").as_deref(), Some("0.06"));
        assert_eq!(p("2026-05-31").as_deref(), Some("0.06"));
        assert_eq!(p("2026-06-01").as_deref(), Some("0.08"));
        assert_eq!(c.extra_price("search-standard", d("2026-06-01")), None);
    }

    #[test]
    fn price_in_force_follows_effective_dates() {
        let text = r#"
[[model]]
id = "m"
provider = "p"
kind = "text"
[[model.price]]
effective = "2026-03-15"
source = "new"
input_per_m = "2"
[[model.price]]
effective = "2026-01-01"
source = "old"
input_per_m = "1"
"#;
        let c = Catalog::from_toml(text, "t").expect("valid");
        let m = c.model("m").expect("m");
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
        assert_eq!(c.price_on(m, d("2026-03-14")).0.source, "old");
        assert_eq!(c.price_on(m, d("2026-03-15")).0.source, "new");
        assert_eq!(c.price_on(m, d("2025-12-31")), (&m.prices[0], true));
    }

    #[test]
    fn image_models_are_rated_and_a_rating_needs_its_source() {
        let c = Catalog::builtin().expect("catalog");
        let score = |id: &str| {
            c.model(id)
                .and_then(|m| m.quality_score.as_ref())
                .map(|q| q.score)
        };
        // Artificial Analysis text-to-image arena, 2026-08-23.
        assert_eq!(score("gemini-3-pro-image"), Some(1225));
        assert_eq!(score("gpt-image-1"), Some(1137));
        assert_eq!(score("stable-diffusion-3"), Some(913));
        assert_eq!(score("gpt-5.1"), None);
        let text = r#"
[[model]]
id = "m"
provider = "p"
kind = "image"
quality_score = { score = 1200, source = " ", date = "2026-01-01" }
[[model.price]]
effective = "2026-01-01"
source = "list"
[[model.price.image]]
price = "0.01"
"#;
        let e = Catalog::from_toml(text, "t.toml").expect_err("no source");
        assert_eq!(
            e.to_string(),
            "t.toml: model m: quality_score 1200 has no source"
        );
    }
}
