//! The rule a scenario applied, in words, so a report can say how a figure was reached.

use crate::catalog::PlanUnit;
use crate::scenario::{Action, Scenario};

/// `changed`: the records the scenario re-priced.
pub fn rule(s: &Scenario, seats: u32, changed: u64) -> Option<String> {
    match &s.action {
        Action::Cheapest {
            allow,
            min_quality_delta,
        } => {
            let bar = if *min_quality_delta == 0 {
                String::new()
            } else {
                format!(" minus {min_quality_delta}")
            };
            let listed = if allow.is_empty() {
                "none listed".to_string()
            } else {
                format!("allow: {}", allow.join(", "))
            };
            Some(format!(
                "a substitute needs a quality score of at least the original's{bar}; a model \
                 without a score is a substitute only if allow lists it ({listed}), and is \
                 replaced only by models allow lists"
            ))
        }
        Action::Subscription(plan) => {
            let unit = match plan.unit {
                PlanUnit::Images => "images",
                PlanUnit::Requests => "requests",
            };
            let quota = plan.daily_quota.map_or_else(
                || "no daily quota".to_string(),
                |q| format!("{q} {unit} a day"),
            );
            // A plan none of the usage falls under still costs its fee: say why it covers
            // nothing rather than how its seats were counted.
            let mut text = if changed == 0 {
                format!(
                    "covers none of these records (it covers {}), so its cost is one seat's fee of ${} a month",
                    plan.models.join(", "),
                    plan.monthly_fee.display(2)
                )
            } else {
                format!(
                    "simulated with {seats} seat{} ({}), each paying ${} a month with {quota}",
                    if seats == 1 { "" } else { "s" },
                    s.seats.describe(),
                    plan.monthly_fee.display(2)
                )
            };
            if let Some(app) = &plan.app {
                text.push_str(&format!(
                    "; {} is a consumer plan for the {app}, not for API calls: the comparison is of the same {unit} made there",
                    plan.id
                ));
            }
            Some(text)
        }
        _ => None,
    }
}
