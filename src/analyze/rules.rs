//! The rule a scenario applied, in words, so a report can say how a figure was reached.

use crate::catalog::PlanUnit;
use crate::scenario::{Action, Scenario};

pub fn rule(s: &Scenario, seats: u32) -> Option<String> {
    match &s.action {
        Action::Cheapest {
            allow,
            min_quality_delta,
        } => {
            let bar = if *min_quality_delta == 0 {
                "at least its own".to_string()
            } else {
                format!("at least its own minus {min_quality_delta}")
            };
            let listed = if allow.is_empty() {
                "none listed".to_string()
            } else {
                format!("allow: {}", allow.join(", "))
            };
            Some(format!(
                "a request moves only to a model of the same kind whose quality score is {bar}; \
                 models without a score only when allow lists them ({listed}), and a request \
                 whose model has no score only to a model allow lists"
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
            let mut text = format!(
                "simulated with {seats} seat{} ({}), each paying ${} a month with {quota}",
                if seats == 1 { "" } else { "s" },
                s.seats.describe(),
                plan.monthly_fee.display(2)
            );
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
