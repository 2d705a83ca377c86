//! Findings on how things were counted: images inferred because the logs carried none, and
//! successful requests repeated identically (reported apart from waste). One function, so
//! every renderer says the same.

use super::{dollars, plural};
use crate::analyze::Summary;

/// The sentences, in order; none when every image came from a response and nothing repeated.
pub fn counting_findings(s: &Summary) -> Vec<String> {
    let mut out = Vec::new();
    let by = &s.actual.images_by_count;
    let inferred: u64 = by
        .iter()
        .filter(|(how, _)| how.as_str() != "response")
        .map(|(_, n)| n)
        .sum();
    if inferred > 0 {
        let parts: Vec<String> = [
            (
                "tokens",
                "from IMAGE output tokens and the catalog's tokens per image",
            ),
            ("request", "from the number the request asked for"),
            ("assumed", "assumed one per successful image request"),
        ]
        .iter()
        .filter_map(|(how, said)| by.get(*how).map(|n| format!("{n} {said}")))
        .collect();
        out.push(format!(
            "{} of {} were counted without image data in the logs: {}.",
            plural(inferred, "image"),
            s.actual.images,
            parts.join(", ")
        ));
    }
    let r = &s.repeated_requests;
    if r.requests > 0 {
        out.push(format!(
            "{} repeated an identical request that had succeeded within the retry window, costing {}; not counted as waste, as both returned what was asked.",
            plural(r.requests, "successful request"),
            dollars(r.cost)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Money;

    #[test]
    fn says_how_images_were_counted_and_what_repeated() {
        let mut s = crate::analyze::empty_march_analysis().summary;
        assert!(counting_findings(&s).is_empty());
        s.actual.images = 10;
        s.actual.images_by_count = [("response", 6), ("tokens", 3), ("assumed", 1)]
            .into_iter()
            .map(|(k, n)| (k.to_string(), n))
            .collect();
        s.repeated_requests.requests = 2;
        s.repeated_requests.cost = Money::parse("0.2688").expect("money");
        assert_eq!(
            counting_findings(&s),
            [
                "4 images of 10 were counted without image data in the logs: 3 from IMAGE output tokens and the catalog's tokens per image, 1 assumed one per successful image request.",
                "2 successful requests repeated an identical request that had succeeded within the retry window, costing $0.27; not counted as waste, as both returned what was asked.",
            ]
        );
    }
}
