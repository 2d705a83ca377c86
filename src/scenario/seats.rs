//! Who holds a subscription: the seats a plan is bought for. A plan's fee and daily quota
//! belong to one user, so a team pays one fee per seat and each seat has its own quota.

use super::SeatsDef;
use std::collections::BTreeMap;

/// The seat of records without an api key under `per-key`.
pub const NO_KEY_SEAT: &str = "(no key)";
/// The one seat of `seats = 1`.
pub const SHARED_SEAT: &str = "(shared)";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seats {
    /// Each api key that uses the plan is a seat; records without a key share one more.
    PerKey,
    /// One seat for every key.
    One,
    /// Api key -> seat name; `other` is the seat of every key not listed and of records
    /// without a key (none: those stay at pay-as-you-go prices).
    Named {
        seats: BTreeMap<String, String>,
        other: Option<String>,
    },
}

impl Seats {
    /// The scenario-file spelling, checked; the message names what is wrong.
    pub fn resolve(def: &SeatsDef) -> Result<Seats, String> {
        const HOW: &str = "use \"per-key\", 1, or a map of api keys to seat names";
        match def {
            SeatsDef::Named(s) if s == "per-key" => Ok(Seats::PerKey),
            SeatsDef::Named(s) => Err(format!("seats = \"{s}\": {HOW}")),
            SeatsDef::Count(1) => Ok(Seats::One),
            SeatsDef::Count(n) => Err(format!(
                "seats = {n}: {HOW} (1 shares one seat among all keys)"
            )),
            SeatsDef::Map(m) if m.is_empty() => Err(format!("seats is an empty map: {HOW}")),
            SeatsDef::Map(m) => {
                let mut seats = BTreeMap::new();
                let mut other = None;
                for (key, seat) in m {
                    if key.trim().is_empty() {
                        return Err("seats: an api key is empty".to_string());
                    }
                    if seat.trim().is_empty() {
                        return Err(format!("seats: key '{key}' has an empty seat name"));
                    }
                    if key == "*" {
                        other = Some(seat.clone());
                    } else {
                        seats.insert(key.clone(), seat.clone());
                    }
                }
                Ok(Seats::Named { seats, other })
            }
        }
    }

    /// The seat a record of `key` uses; None: the key holds no seat.
    pub fn seat_of<'a>(&'a self, key: Option<&'a str>) -> Option<&'a str> {
        match self {
            Seats::PerKey => Some(key.unwrap_or(NO_KEY_SEAT)),
            Seats::One => Some(SHARED_SEAT),
            Seats::Named { seats, other } => key
                .and_then(|k| seats.get(k))
                .or(other.as_ref())
                .map(String::as_str),
        }
    }

    /// The seats bought whatever the usage: every named seat, or the one shared seat.
    /// Per-key seats are the keys that used the plan.
    pub fn declared(&self) -> Vec<&str> {
        match self {
            Seats::PerKey => Vec::new(),
            Seats::One => vec![SHARED_SEAT],
            Seats::Named { seats, other } => {
                let mut v: Vec<&str> = seats
                    .values()
                    .chain(other.iter())
                    .map(String::as_str)
                    .collect();
                v.sort_unstable();
                v.dedup();
                v
            }
        }
    }

    /// How the seats were counted, for reports.
    pub fn describe(&self) -> &'static str {
        match self {
            Seats::PerKey => "one per api key that used it",
            Seats::One => "one shared by every key",
            Seats::Named { .. } => "as named in the scenario's seats map",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> SeatsDef {
        SeatsDef::Map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn a_map_names_seats_and_the_rest_go_to_star() {
        let s = Seats::resolve(&map(&[
            ("sk-a", "alice"),
            ("sk-b", "alice"),
            ("*", "shared"),
        ]))
        .expect("valid");
        assert_eq!(s.seat_of(Some("sk-a")), Some("alice"));
        assert_eq!(s.seat_of(Some("sk-b")), Some("alice"));
        assert_eq!(s.seat_of(Some("sk-z")), Some("shared"));
        assert_eq!(s.seat_of(None), Some("shared"));
        assert_eq!(s.declared(), ["alice", "shared"]);
        let s = Seats::resolve(&map(&[("sk-a", "alice")])).expect("valid");
        assert_eq!(s.seat_of(Some("sk-z")), None);
        assert_eq!(s.seat_of(None), None);
    }

    #[test]
    fn per_key_and_one() {
        assert_eq!(
            Seats::resolve(&SeatsDef::Named("per-key".into())),
            Ok(Seats::PerKey)
        );
        assert_eq!(Seats::PerKey.seat_of(Some("sk-a")), Some("sk-a"));
        assert_eq!(Seats::PerKey.seat_of(None), Some(NO_KEY_SEAT));
        assert_eq!(Seats::resolve(&SeatsDef::Count(1)), Ok(Seats::One));
        assert_eq!(Seats::One.seat_of(Some("sk-a")), Some(SHARED_SEAT));
    }

    #[test]
    fn bad_spellings_say_what_to_write() {
        assert_eq!(
            Seats::resolve(&SeatsDef::Count(3)),
            Err("seats = 3: use \"per-key\", 1, or a map of api keys to seat names (1 shares one seat among all keys)".to_string())
        );
        assert_eq!(
            Seats::resolve(&SeatsDef::Named("per-user".into())),
            Err(
                "seats = \"per-user\": use \"per-key\", 1, or a map of api keys to seat names"
                    .to_string()
            )
        );
        assert_eq!(
            Seats::resolve(&map(&[("sk-a", " ")])),
            Err("seats: key 'sk-a' has an empty seat name".to_string())
        );
    }
}
