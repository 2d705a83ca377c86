//! Scenarios: the alternatives every record is re-priced under.

mod builtin;
mod file;
mod seats;

pub use builtin::BUILTIN_TOML;
pub use file::*;
pub use seats::Seats;

use crate::catalog::{Catalog, PlanEntry};
use crate::error::ConfigError;
use crate::money::Money;
use std::collections::BTreeMap;
use std::path::Path;

/// A scenario ready to apply: names resolved to catalog ids, plans looked up.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub action: Action,
    pub filter: Filter,
    /// Who holds a subscription's plan (per-key for every other kind of scenario).
    pub seats: Seats,
}

#[derive(Clone, Debug)]
pub enum Action {
    Batch,
    Substitute(BTreeMap<String, String>),
    Cheapest {
        allow: Vec<String>,
        /// How far below the original's quality score a substitute may be.
        min_quality_delta: u32,
    },
    Subscription(PlanEntry),
    /// The same model from another provider: (canonical) provider -> provider, "*" for any
    /// other; `batch` prices at the target's batch tier where it has one.
    SwitchProvider {
        map: BTreeMap<String, String>,
        batch: bool,
    },
    /// Per record, the cheapest offer of the same model.
    CheapestProvider {
        batch: bool,
    },
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Batch => "batch",
            Action::Substitute(_) => "substitute",
            Action::Cheapest { .. } => "cheapest",
            Action::Subscription(_) => "subscription",
            Action::SwitchProvider { .. } => "switch_provider",
            Action::CheapestProvider { .. } => "cheapest_provider",
        }
    }
}

/// Which records a scenario may change; empty lists mean all.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub keys: Vec<String>,
    pub models: Vec<String>,
    pub hours: Vec<u32>,
}

#[derive(Clone, Debug, Default)]
pub struct Budget {
    pub daily_cap: BTreeMap<String, Money>,
    pub monthly: Option<Money>,
}

#[derive(Clone, Debug)]
pub struct ScenarioSet {
    pub scenarios: Vec<Scenario>,
    pub budget: Budget,
    pub key_names: BTreeMap<String, String>,
    pub retry_window_seconds: u64,
    pub origin: String,
}

impl ScenarioSet {
    pub fn builtin(catalog: &Catalog) -> Result<ScenarioSet, ConfigError> {
        Self::from_toml(BUILTIN_TOML, "built-in scenarios", catalog)
    }

    pub fn load(path: &Path, catalog: &Catalog) -> Result<ScenarioSet, ConfigError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            file: origin.clone(),
            message: e.to_string(),
        })?;
        Self::from_toml(&text, &origin, catalog)
    }

    pub fn from_toml(
        text: &str,
        origin: &str,
        catalog: &Catalog,
    ) -> Result<ScenarioSet, ConfigError> {
        let f: ScenarioFile = toml::from_str(text).map_err(|e| ConfigError::Parse {
            file: origin.to_string(),
            message: e.to_string(),
        })?;
        f.resolve(origin, catalog)
    }
}

pub const MAX_SCENARIOS: usize = u16::MAX as usize;

/// Whether a provider (canonical name) makes or offers any catalog model.
fn sells_anything(catalog: &Catalog, provider: &str) -> bool {
    (0..catalog.models().len()).any(|i| catalog.offer_of(i, provider).is_some())
}

impl ScenarioFile {
    fn resolve(self, origin: &str, catalog: &Catalog) -> Result<ScenarioSet, ConfigError> {
        let bad = |message: String| ConfigError::Invalid {
            file: origin.to_string(),
            message,
        };
        let model_id = |scenario: &str, name: &str| -> Result<String, ConfigError> {
            catalog
                .resolve(name)
                .map(|m| m.id.clone())
                .ok_or_else(|| bad(format!("scenario {scenario}: unknown model '{name}'")))
        };
        // Records keep the scenarios that changed them by a 16-bit index.
        if self.scenarios.len() > MAX_SCENARIOS {
            return Err(bad(format!(
                "{} scenarios; at most {MAX_SCENARIOS} fit one run",
                self.scenarios.len()
            )));
        }
        let mut out = Vec::new();
        for s in &self.scenarios {
            if out.iter().any(|o: &Scenario| o.name == s.name) {
                return Err(bad(format!("two scenarios are named '{}'", s.name)));
            }
            if s.name.trim().is_empty() {
                return Err(bad("a scenario has an empty name".to_string()));
            }
            let switch = !s.switch_provider.is_empty() || s.cheapest_provider;
            let chosen = [
                // With a provider switch, batch is how the target is priced.
                s.batch && !switch,
                !s.substitute.is_empty(),
                s.cheapest,
                s.subscription.is_some(),
                !s.switch_provider.is_empty(),
                s.cheapest_provider,
            ]
            .iter()
            .filter(|b| **b)
            .count();
            if chosen != 1 {
                return Err(bad(format!(
                    "scenario {}: set exactly one of batch, substitute, cheapest, subscription, switch_provider, cheapest_provider",
                    s.name
                )));
            }
            if s.min_quality_delta.is_some() && !s.cheapest {
                return Err(bad(format!(
                    "scenario {}: min_quality_delta applies only to a cheapest scenario",
                    s.name
                )));
            }
            if s.seats.is_some() && s.subscription.is_none() {
                return Err(bad(format!(
                    "scenario {}: seats applies only to a subscription scenario",
                    s.name
                )));
            }
            let seats = match &s.seats {
                None => Seats::PerKey,
                Some(def) => {
                    Seats::resolve(def).map_err(|m| bad(format!("scenario {}: {m}", s.name)))?
                }
            };
            let action = if !s.switch_provider.is_empty() {
                let mut map = BTreeMap::new();
                for (from, to) in &s.switch_provider {
                    let to = crate::provider::canonical(to);
                    if to == "*" || !sells_anything(catalog, &to) {
                        return Err(bad(format!(
                            "scenario {}: no catalog model is sold by provider '{to}'",
                            s.name
                        )));
                    }
                    let from = if from.trim() == "*" {
                        "*".to_string()
                    } else {
                        crate::provider::canonical(from)
                    };
                    map.insert(from, to);
                }
                Action::SwitchProvider {
                    map,
                    batch: s.batch,
                }
            } else if s.cheapest_provider {
                Action::CheapestProvider { batch: s.batch }
            } else if s.batch {
                Action::Batch
            } else if s.cheapest {
                Action::Cheapest {
                    allow: s.allow.clone(),
                    min_quality_delta: s.min_quality_delta.unwrap_or(0),
                }
            } else if let Some(plan) = &s.subscription {
                let p = self
                    .plans
                    .iter()
                    .find(|p| &p.id == plan)
                    .or_else(|| catalog.plan(plan))
                    .ok_or_else(|| bad(format!("scenario {}: unknown plan '{plan}'", s.name)))?;
                let mut p = p.clone();
                p.models = p
                    .models
                    .iter()
                    .map(|m| model_id(&s.name, m))
                    .collect::<Result<_, _>>()?;
                Action::Subscription(p)
            } else {
                let mut map = BTreeMap::new();
                for (from, to) in &s.substitute {
                    map.insert(model_id(&s.name, from)?, model_id(&s.name, to)?);
                }
                Action::Substitute(map)
            };
            if let Some(h) = s.hours.iter().find(|h| **h > 23) {
                return Err(bad(format!(
                    "scenario {}: hour {h} is not within 0..23",
                    s.name
                )));
            }
            let models = s
                .models
                .iter()
                .map(|m| model_id(&s.name, m))
                .collect::<Result<_, _>>()?;
            out.push(Scenario {
                name: s.name.clone(),
                action,
                filter: Filter {
                    keys: s.keys.clone(),
                    models,
                    hours: s.hours.clone(),
                },
                seats,
            });
        }
        let budget = self.budget.unwrap_or_default();
        for (k, v) in &budget.daily_cap {
            if v.is_negative() {
                return Err(bad(format!("budget.daily_cap.{k}: negative")));
            }
        }
        Ok(ScenarioSet {
            scenarios: out,
            budget: Budget {
                daily_cap: budget.daily_cap,
                monthly: budget.monthly,
            },
            key_names: self.key_names,
            retry_window_seconds: self.retry_window_seconds.unwrap_or(300),
            origin: origin.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_set_resolves() {
        let c = Catalog::builtin().expect("catalog");
        let s = ScenarioSet::builtin(&c).expect("scenarios");
        let names: Vec<&str> = s.scenarios.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "batch",
                "cheapest",
                "flux-to-sd3",
                "gemini-to-imagen",
                "google-ai-pro",
                "chatgpt-plus"
            ]
        );
    }

    #[test]
    fn errors_name_the_file_and_the_scenario() {
        let c = Catalog::builtin().expect("catalog");
        let e = ScenarioSet::from_toml(
            "[[scenario]]\nname = \"x\"\nsubstitute = { \"nope\" = \"sd3\" }\n",
            "s.toml",
            &c,
        )
        .expect_err("unknown model");
        assert_eq!(e.to_string(), "s.toml: scenario x: unknown model 'nope'");
        let e = ScenarioSet::from_toml(
            "[[scenario]]\nname = \"x\"\nbatch = true\ncheapest = true\n",
            "s.toml",
            &c,
        )
        .expect_err("two actions");
        assert_eq!(
            e.to_string(),
            "s.toml: scenario x: set exactly one of batch, substitute, cheapest, subscription, switch_provider, cheapest_provider"
        );
        let e = ScenarioSet::from_toml(
            "[[scenario]]\nname = \"x\"\nsubscription = \"gold\"\n",
            "s.toml",
            &c,
        )
        .expect_err("unknown plan");
        assert_eq!(e.to_string(), "s.toml: scenario x: unknown plan 'gold'");
        let e = ScenarioSet::from_toml("[[scenario]]\nname = \"x\"\nbatchh = true\n", "s.toml", &c)
            .expect_err("typo");
        assert!(e.to_string().starts_with("s.toml: "), "{e}");
        assert!(e.to_string().contains("unknown field `batchh`"), "{e}");
    }

    #[test]
    fn more_scenarios_than_records_can_name_are_refused() {
        let c = Catalog::builtin().expect("catalog");
        let text: String = (0..=MAX_SCENARIOS)
            .map(|k| format!("[[scenario]]\nname = \"s{k}\"\nbatch = true\n"))
            .collect();
        let e = ScenarioSet::from_toml(&text, "many.toml", &c).expect_err("too many");
        assert_eq!(
            e.to_string(),
            "many.toml: 65536 scenarios; at most 65535 fit one run"
        );
    }

    #[test]
    fn user_plans_and_budgets() {
        let c = Catalog::builtin().expect("catalog");
        let text = r#"
retry_window_seconds = 60
[[plan]]
id = "team-flux"
provider = "bfl"
monthly_fee = "50"
daily_quota = 40
models = ["flux-1.1-pro"]
source = "our contract"
[[scenario]]
name = "team"
subscription = "team-flux"
[budget]
monthly = "100"
daily_cap = { "sk-live-1234" = "5.00", "*" = "20" }
"#;
        let s = ScenarioSet::from_toml(text, "s.toml", &c).expect("valid");
        assert_eq!(s.retry_window_seconds, 60);
        let Action::Subscription(p) = &s.scenarios[0].action else {
            panic!("subscription expected")
        };
        assert_eq!((p.id.as_str(), p.daily_quota), ("team-flux", Some(40)));
        assert_eq!(
            s.budget.daily_cap.get("*").map(|m| m.exact()).as_deref(),
            Some("20")
        );
        assert_eq!(s.budget.monthly.map(|m| m.exact()).as_deref(), Some("100"));
    }
}
