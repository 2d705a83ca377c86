//! Text for `reprice catalog list` and `reprice catalog show`.

use super::{Catalog, ModelEntry, PriceVersion};
use chrono::NaiveDate;
use std::fmt::Write as _;

fn prices(p: &PriceVersion) -> String {
    let mut parts = Vec::new();
    for (label, v) in [
        ("input", p.input_per_m),
        ("output", p.output_per_m),
        ("thinking", p.thinking_per_m),
        ("cache read", p.cache_read_per_m),
        ("cache write", p.cache_write_per_m),
        ("1-hour cache write", p.cache_write_1h_per_m),
    ] {
        if let Some(v) = v {
            parts.push(format!("{label} ${v}/M"));
        }
    }
    for (size, n) in &p.image_output_tokens {
        parts.push(format!("{size} image = {n} output tokens"));
    }
    for i in &p.images {
        let what = [i.size.as_deref(), i.quality.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let what = if what.is_empty() {
            "any".to_string()
        } else {
            what
        };
        parts.push(format!("{what} ${}/image", i.price));
    }
    if let Some(d) = p.batch_discount {
        parts.push(format!(
            "batch -{}%",
            (d.0 * rust_decimal::Decimal::from(100)).normalize()
        ));
    }
    if let (Some(n), Some(a)) = (p.tier_threshold_tokens, &p.above_threshold) {
        let hi = [("input", a.input_per_m), ("output", a.output_per_m)]
            .into_iter()
            .filter_map(|(l, v)| v.map(|v| format!("{l} ${v}/M")))
            .collect::<Vec<_>>()
            .join(", ");
        parts.push(format!("above {n} tokens: {hi}"));
    }
    parts.join("; ")
}

pub fn render_list(c: &Catalog, today: NaiveDate) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "catalog: {} (currency {})\n", c.origin, c.currency());
    let _ = writeln!(o, "models (prices in force on {today}):");
    for (i, m) in c.models().iter().enumerate() {
        let (p, _) = c.price_on(m, today);
        let score = m
            .quality_score
            .as_ref()
            .map_or_else(|| "-".to_string(), |q| q.score.to_string());
        let _ = writeln!(
            o,
            "  {:<22} {:<18} {:<5} quality {:<5} since {}  {}",
            m.id,
            m.provider,
            m.kind.as_str(),
            score,
            p.effective,
            prices(p)
        );
        for k in 0..m.offers.len() {
            let offer = c.offer_entry(i, Some(k));
            let (p, _) = c.price_on(offer, today);
            let _ = writeln!(
                o,
                "  {:<22} {:<18} {:<5} since {}  {}\n  {:<22} {:<18}       source: {}",
                "",
                format!("+ {}", offer.provider),
                "",
                p.effective,
                prices(p),
                "",
                "",
                p.source
            );
        }
    }
    let sources: std::collections::BTreeSet<&str> = c
        .models()
        .iter()
        .filter_map(|m| m.quality_score.as_ref())
        .map(|q| q.source.split(':').next().unwrap_or_default())
        .collect();
    for s in sources {
        let _ = writeln!(o, "  quality: {s} (`catalog show MODEL` for each entry)");
    }
    if !c.file.plans.is_empty() {
        let _ = writeln!(o, "\nplans:");
        for p in &c.file.plans {
            let quota = p.daily_quota.map_or("unlimited".to_string(), |q| {
                format!("{q} {:?}/day", p.unit).to_lowercase()
            });
            let _ = writeln!(
                o,
                "  {:<22} ${}/month per seat, {quota}, covers {}; failed requests {} the quota{}",
                p.id,
                p.monthly_fee,
                p.models.join(", "),
                if p.failed_uses_quota {
                    "use"
                } else {
                    "do not use"
                },
                p.app
                    .as_ref()
                    .map(|a| format!("; for the {a}, not API calls"))
                    .unwrap_or_default()
            );
        }
    }
    if !c.file.extras.is_empty() {
        let _ = writeln!(o, "\nextras:");
        for e in &c.file.extras {
            let _ = writeln!(
                o,
                "  {:<22} ${}/request since {}",
                e.id, e.price_per_request, e.effective
            );
        }
    }
    o
}

pub fn render_history(m: &ModelEntry) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{} ({}, {})", m.id, m.provider, m.kind.as_str());
    if !m.aliases.is_empty() {
        let _ = writeln!(o, "aliases: {}", m.aliases.join(", "));
    }
    match &m.quality_score {
        Some(q) => {
            let _ = writeln!(
                o,
                "quality score: {} on {}\n    source: {}",
                q.score, q.date, q.source
            );
        }
        None => {
            let _ = writeln!(
                o,
                "quality score: none (cheapest takes it only where a scenario's allow lists it)"
            );
        }
    }
    for p in &m.prices {
        let _ = writeln!(
            o,
            "from {}: {}\n    source: {}",
            p.effective,
            prices(p),
            p.source
        );
    }
    for offer in &m.offers {
        let _ = writeln!(o, "offer from {}", offer.provider);
        if !offer.aliases.is_empty() {
            let _ = writeln!(o, "  aliases: {}", offer.aliases.join(", "));
        }
        for p in &offer.prices {
            let _ = writeln!(
                o,
                "  from {}: {}\n      source: {}",
                p.effective,
                prices(p),
                p.source
            );
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_shows_every_version() {
        let c = Catalog::builtin().expect("catalog");
        let text = render_history(c.model("gemini-3-pro-image").expect("model"));
        assert_eq!(
            text.lines().nth(2),
            Some("quality score: 1225 on 2026-08-23")
        );
        assert!(
            text.lines().nth(3).is_some_and(
                |l| l.starts_with("    source: Artificial Analysis Text to Image Arena ELO")
            ),
            "{text}"
        );
        assert_eq!(
            text.lines().nth(4),
            Some(
                "from 2025-11-20: input $2/M; output $120/M; thinking $12/M; 1K image = 1120 output tokens; 2K image = 1120 output tokens; 4K image = 2000 output tokens; batch -50%"
            )
        );
    }
}
