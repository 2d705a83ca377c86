//! Catalog files laid on each other (`--catalog` given more than once): later files update or
//! add models, offers, plans and extras by id.

use super::{CatalogFile, PriceVersion};

/// Prices of the same effective date replaced, others added.
fn merge_prices(base: &mut Vec<PriceVersion>, over: Vec<PriceVersion>) {
    for p in over {
        match base.iter_mut().find(|x| x.effective == p.effective) {
            Some(x) => *x = p,
            None => base.push(p),
        }
    }
}

fn join_aliases(base: &mut Vec<String>, over: Vec<String>) {
    for a in over {
        if !base.contains(&a) {
            base.push(a);
        }
    }
}

/// Lays `over` on `base`: a model, plan or extra with a known id is updated (prices of the same
/// effective date replaced, others added; aliases joined; offers of a known provider updated the
/// same way, others added), unknown ones are added. A model entry without a provider only adds
/// to the base model: its maker and kind stay.
pub fn merge(mut base: CatalogFile, over: CatalogFile) -> CatalogFile {
    for m in over.models {
        match base.models.iter_mut().find(|b| b.id == m.id) {
            None => base.models.push(m),
            Some(b) => {
                if !m.provider.trim().is_empty() {
                    b.provider = m.provider;
                    b.kind = m.kind;
                }
                join_aliases(&mut b.aliases, m.aliases);
                if m.default_quality.is_some() {
                    b.default_quality = m.default_quality;
                }
                if m.quality_score.is_some() {
                    b.quality_score = m.quality_score;
                }
                merge_prices(&mut b.prices, m.prices);
                for o in m.offers {
                    let who = crate::provider::canonical(&o.provider);
                    match b
                        .offers
                        .iter_mut()
                        .find(|x| crate::provider::canonical(&x.provider) == who)
                    {
                        Some(x) => {
                            join_aliases(&mut x.aliases, o.aliases);
                            merge_prices(&mut x.prices, o.prices);
                        }
                        None => b.offers.push(o),
                    }
                }
            }
        }
    }
    for p in over.plans {
        match base.plans.iter_mut().find(|b| b.id == p.id) {
            Some(b) => *b = p,
            None => base.plans.push(p),
        }
    }
    for e in over.extras {
        match base
            .extras
            .iter_mut()
            .find(|b| b.id == e.id && b.effective == e.effective)
        {
            Some(b) => *b = e,
            None => base.extras.push(e),
        }
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn an_override_adds_offers_to_a_base_model_by_its_id_alone() {
        let base = Catalog::builtin().expect("catalog");
        let over: CatalogFile = toml::from_str(
            r#"
[[model]]
id = "flux-1.1-pro"
  [[model.offer]]
  provider = "Together AI"
  aliases = ["together/flux-1.1-pro"]
    [[model.offer.price]]
    effective = "2026-01-01"
    source = "test"
    [[model.offer.price.image]]
    price = "0.03"
"#,
        )
        .expect("toml");
        let c = Catalog::new(merge(base.file, over), "b + o").expect("valid");
        let i = c
            .models()
            .iter()
            .position(|m| m.id == "flux-1.1-pro")
            .expect("flux");
        // The maker and kind stay; the new offer comes after the built-in ones.
        assert_eq!(c.models()[i].provider, "black-forest-labs");
        assert_eq!(c.offer_of(i, "black-forest-labs"), Some(None));
        assert_eq!(c.offer_of(i, "fal"), Some(Some(0)));
        assert_eq!(c.offer_of(i, "together ai"), Some(Some(2)));
        assert_eq!(c.offer_of(i, "vertex"), None);
        assert_eq!(c.resolve_offer("Together/FLUX-1.1-pro"), Some((i, Some(2))));
        assert_eq!(c.offer_entry(i, Some(2)).prices[0].source, "test");
    }
}
