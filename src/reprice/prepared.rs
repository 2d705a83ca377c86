//! A scenario's terms resolved against the catalog once, before any record is priced.

use crate::catalog::{Catalog, ModelEntry};
use crate::scenario::{Action, Scenario};

/// A scenario's terms resolved to catalog indices once, so pricing a record compares numbers.
pub(super) struct Prepared {
    /// Catalog models the filter admits; None: all.
    pub(super) models: Option<Vec<bool>>,
    /// Bit h: the filter admits local hour h (every bit when it names none). Asked for every
    /// record under every scenario, so a test of a bit, not a search of the list.
    pub(super) hours: u32,
    /// Substitute: per catalog model, its target (Err: the target is not in the catalog).
    pub(super) substitute: Vec<Option<Result<usize, ()>>>,
    /// Cheapest: per original catalog model, its allowed candidates in catalog order.
    pub(super) candidates: Vec<Vec<usize>>,
    /// Subscription: per catalog model, whether the plan covers it.
    pub(super) covers: Vec<bool>,
}

pub(super) fn prepare(s: &Scenario, catalog: &Catalog) -> Prepared {
    let models = catalog.models();
    let index = |id: &str| models.iter().position(|m| m.id == id);
    Prepared {
        models: (!s.filter.models.is_empty()).then(|| {
            models
                .iter()
                .map(|m| s.filter.models.contains(&m.id))
                .collect()
        }),
        hours: if s.filter.hours.is_empty() {
            u32::MAX
        } else {
            s.filter
                .hours
                .iter()
                .filter(|&&h| h < 32)
                .fold(0, |bits, h| bits | 1 << h)
        },
        substitute: match &s.action {
            Action::Substitute(map) => models
                .iter()
                .map(|m| map.get(&m.id).map(|to| index(to).ok_or(())))
                .collect(),
            _ => Vec::new(),
        },
        candidates: match &s.action {
            Action::Cheapest {
                allow,
                min_quality_delta,
            } => (0..models.len())
                .map(|o| {
                    (0..models.len())
                        .filter(|&k| {
                            k != o
                                && models[k].kind == models[o].kind
                                && may_replace(&models[o], &models[k], allow, *min_quality_delta)
                        })
                        .collect()
                })
                .collect(),
            _ => Vec::new(),
        },
        covers: match &s.action {
            Action::Subscription(plan) => {
                models.iter().map(|m| plan.models.contains(&m.id)).collect()
            }
            _ => Vec::new(),
        },
    }
}

/// Whether `cheapest` may put `to` in place of `from`: `to` is allowed (listed in `allow` by id
/// or provider, or `allow` is empty) and rated at least `from`'s quality score less `delta`. A
/// model without a score is taken only when `allow` lists it, and a model without a score is
/// replaced only by models `allow` lists: with no score there is nothing to compare.
fn may_replace(from: &ModelEntry, to: &ModelEntry, allow: &[String], delta: u32) -> bool {
    let listed = allow.iter().any(|a| a == &to.id || a == &to.provider);
    if !allow.is_empty() && !listed {
        return false;
    }
    match (&from.quality_score, &to.quality_score) {
        (Some(f), Some(t)) => u64::from(t.score) + u64::from(delta) >= u64::from(f.score),
        _ => listed,
    }
}
