//! When to call a lead: its local time, from its phone's time zones, at a given moment,
//! and whether that falls in the sales team's business hours there.
//!
//! The moment is a parameter, never the clock: the assessment passes its own "now" (or the
//! request's `as_of`), and the tests pass fixed moments at zone edges. Local times come
//! from jiff with its bundled copy of the IANA time-zone database, so a container without
//! `/usr/share/zoneinfo` gives the same answers.

use std::fmt::Write as _;
use std::time::SystemTime;

use jiff::civil::Weekday;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::codes;
use crate::reason::Reason;

/// The business hours a lead is called in, in its own local time: from `start` to `end`
/// (`end` excluded) on `days`. The scoring model's `[call_window]` table, 09:00 to 18:00
/// Monday to Friday when it has none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// The first minute of business hours, `HH:MM`.
    #[serde(with = "clock")]
    pub start: u16,
    /// The first minute after them, `HH:MM`.
    #[serde(with = "clock")]
    pub end: u16,
    /// The days they apply, `Mon` to `Sun`.
    pub days: Vec<Day>,
}

impl Default for BusinessHours {
    fn default() -> Self {
        BusinessHours {
            start: 9 * 60,
            end: 18 * 60,
            days: vec![Day::Mon, Day::Tue, Day::Wed, Day::Thu, Day::Fri],
        }
    }
}

impl BusinessHours {
    /// Whether `start` comes before `end`, each a time of day: what a model must say.
    pub fn is_well_formed(&self) -> bool {
        self.start < self.end && self.end <= 24 * 60
    }

    fn contains(&self, weekday: Weekday, minute: u16) -> bool {
        self.days.iter().any(|d| d.weekday() == weekday) && (self.start..self.end).contains(&minute)
    }
}

/// A day of the week as the model file writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum Day {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Day {
    fn weekday(self) -> Weekday {
        match self {
            Day::Mon => Weekday::Monday,
            Day::Tue => Weekday::Tuesday,
            Day::Wed => Weekday::Wednesday,
            Day::Thu => Weekday::Thursday,
            Day::Fri => Weekday::Friday,
            Day::Sat => Weekday::Saturday,
            Day::Sun => Weekday::Sunday,
        }
    }
}

/// `HH:MM` to and from minutes after midnight (`24:00` allowed, as an end).
mod clock {
    use serde::{de, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(minutes: &u16, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{:02}:{:02}", minutes / 60, minutes % 60))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).ok_or_else(|| de::Error::custom(format!("`{text}` is not a time `HH:MM`")))
    }

    pub fn parse(text: &str) -> Option<u16> {
        let (h, m) = text.split_once(':')?;
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        let (h, m) = (h.parse::<u16>().ok()?, m.parse::<u16>().ok()?);
        (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
    }
}

/// A lead's local time and whether it is business hours there.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallWindow {
    /// The number's time zone; empty when it has several.
    pub time_zone: &'static str,
    /// The local time there, `HH:MM`; empty when the number has several zones.
    pub local_time: String,
    /// In business hours, in every one of the number's zones.
    pub business_hours: bool,
    /// [`codes::LOCAL_TIME`] or [`codes::SEVERAL_TIME_ZONES`], for people.
    pub reason: Reason,
}

/// The call window of a number with these time zones (a verdict's), at `at`. None when
/// there is no zone, the moment is out of range, or no zone is known to the database.
pub fn call_window(
    time_zones: &[&'static str],
    at: SystemTime,
    hours: &BusinessHours,
) -> Option<CallWindow> {
    let at = Timestamp::try_from(at).ok()?;
    let locals: Vec<Local> = time_zones
        .iter()
        .filter_map(|zone| Local::at(zone, at, hours))
        .collect();
    match locals.as_slice() {
        [] => None,
        [one] => {
            let message = format!(
                "{} in {}, {}",
                one.time,
                one.zone,
                in_or_out(one.business_hours, one.weekday)
            );
            Some(CallWindow {
                time_zone: one.zone,
                local_time: one.time.clone(),
                business_hours: one.business_hours,
                reason: Reason::new(codes::LOCAL_TIME, message),
            })
        }
        several => {
            let all = several.iter().all(|l| l.business_hours);
            let mut message = format!(
                "{} time zones, not told apart by the number: ",
                several.len()
            );
            for (i, local) in several.iter().enumerate() {
                let separator = if i == 0 { "" } else { ", " };
                let _ = write!(message, "{separator}{} in {}", local.time, local.zone);
            }
            message.push_str(match (all, several.iter().any(|l| l.business_hours)) {
                (true, _) => "; business hours in all",
                (false, true) => "; business hours in some only",
                (false, false) => "; outside business hours in all",
            });
            Some(CallWindow {
                time_zone: "",
                local_time: String::new(),
                business_hours: all,
                reason: Reason::new(codes::SEVERAL_TIME_ZONES, message),
            })
        }
    }
}

/// One zone's local time.
struct Local {
    zone: &'static str,
    time: String,
    weekday: Weekday,
    business_hours: bool,
}

impl Local {
    fn at(zone: &'static str, at: Timestamp, hours: &BusinessHours) -> Option<Local> {
        let local = at.in_tz(zone).ok()?;
        let (hour, minute) = (local.hour(), local.minute());
        let minute_of_day = u16::try_from(i32::from(hour) * 60 + i32::from(minute)).ok()?;
        Some(Local {
            zone,
            time: format!("{hour:02}:{minute:02}"),
            weekday: local.weekday(),
            business_hours: hours.contains(local.weekday(), minute_of_day),
        })
    }
}

fn in_or_out(business_hours: bool, weekday: Weekday) -> String {
    if business_hours {
        "business hours".to_string()
    } else {
        format!("outside business hours ({weekday:?})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    /// A moment given as RFC 3339 text.
    fn at(text: &str) -> SystemTime {
        let ts: Timestamp = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        UNIX_EPOCH + Duration::from_secs(u64::try_from(ts.as_second()).expect("after 1970"))
    }

    fn window(zones: &[&'static str], moment: &str) -> CallWindow {
        call_window(zones, at(moment), &BusinessHours::default())
            .unwrap_or_else(|| panic!("no window for {zones:?} at {moment}"))
    }

    #[test]
    fn a_single_zone_says_its_local_time_and_business_hours() {
        // 17:05 UTC is 14:05 in São Paulo (UTC-3, no daylight saving since 2019), a Thursday.
        let w = window(&["America/Sao_Paulo"], "2026-12-03T17:05:00Z");
        assert_eq!(w.time_zone, "America/Sao_Paulo");
        assert_eq!(w.local_time, "14:05");
        assert!(w.business_hours);
        assert_eq!(w.reason.code, codes::LOCAL_TIME);
        assert_eq!(
            w.reason.message,
            "14:05 in America/Sao_Paulo, business hours"
        );
    }

    #[test]
    fn the_edges_of_business_hours_are_start_in_end_out() {
        let zone = &["Europe/Madrid"]; // UTC+1 in winter
        assert!(
            !window(zone, "2026-12-03T07:59:00Z").business_hours,
            "08:59"
        );
        assert!(window(zone, "2026-12-03T08:00:00Z").business_hours, "09:00");
        assert!(window(zone, "2026-12-03T16:59:00Z").business_hours, "17:59");
        let closed = window(zone, "2026-12-03T17:00:00Z");
        assert!(!closed.business_hours, "18:00");
        assert_eq!(
            closed.reason.message,
            "18:00 in Europe/Madrid, outside business hours (Thursday)"
        );
    }

    #[test]
    fn the_day_is_the_leads_not_utcs() {
        // Friday 23:30 UTC is Saturday 09:30 in Vladivostok (UTC+10): a weekend there.
        let w = window(&["Asia/Vladivostok"], "2026-12-04T23:30:00Z");
        assert_eq!(w.local_time, "09:30");
        assert!(!w.business_hours);
        assert!(
            w.reason.message.contains("Saturday"),
            "{}",
            w.reason.message
        );
        // Sunday 23:30 UTC is Monday 09:30 there: open.
        assert!(window(&["Asia/Vladivostok"], "2026-12-06T23:30:00Z").business_hours);
    }

    #[test]
    fn daylight_saving_moves_the_local_time() {
        // New York: 13:30 UTC is 09:30 in summer (UTC-4) and 08:30 in winter (UTC-5).
        // 2026-03-08 is the switch: 06:59 UTC is 01:59 EST, 07:00 UTC is 03:00 EDT.
        let zone = &["America/New_York"];
        assert_eq!(window(zone, "2026-07-01T13:30:00Z").local_time, "09:30");
        assert_eq!(window(zone, "2026-12-02T13:30:00Z").local_time, "08:30");
        assert_eq!(window(zone, "2026-03-08T06:59:00Z").local_time, "01:59");
        assert_eq!(window(zone, "2026-03-08T07:00:00Z").local_time, "03:00");
    }

    #[test]
    fn several_zones_are_said_not_guessed() {
        // 15:30 UTC on a Wednesday: 10:30 in New York, 09:30 in Chicago, 07:30 in LA.
        let zones = &["America/New_York", "America/Chicago", "America/Los_Angeles"];
        let w = window(zones, "2026-12-02T15:30:00Z");
        assert_eq!(w.time_zone, "");
        assert_eq!(w.local_time, "");
        assert!(!w.business_hours, "not open in Los Angeles yet");
        assert_eq!(w.reason.code, codes::SEVERAL_TIME_ZONES);
        assert_eq!(
            w.reason.message,
            "3 time zones, not told apart by the number: 10:30 in America/New_York, \
             09:30 in America/Chicago, 07:30 in America/Los_Angeles; business hours in some only"
        );
        let later = window(zones, "2026-12-02T18:00:00Z");
        assert!(later.business_hours, "{}", later.reason.message);
        assert!(later.reason.message.ends_with("business hours in all"));
    }

    #[test]
    fn no_zone_no_window() {
        let hours = BusinessHours::default();
        assert_eq!(call_window(&[], at("2026-12-02T15:30:00Z"), &hours), None);
        assert_eq!(
            call_window(&["Not/A_Zone"], at("2026-12-02T15:30:00Z"), &hours),
            None
        );
    }

    #[test]
    fn the_scoring_model_carries_the_hours() {
        use crate::lead::score::Model;
        let model = Model::bundled();
        assert_eq!(model.call_window(), &BusinessHours::default());
        let bundled = include_str!("../../data/scoring.toml");
        let (points, _) = bundled
            .split_once("[call_window]")
            .expect("the bundled hours");
        let without = Model::from_toml(points).expect("hours may be left out");
        assert_eq!(without, model, "the default hours");
        let other = format!(
            "{points}[call_window]\nstart = \"08:00\"\nend = \"17:00\"\ndays = [\"Mon\"]\n"
        );
        let other = Model::from_toml(&other).expect("reads");
        assert_eq!(other.call_window().start, 8 * 60);
        assert_ne!(
            other.version(),
            model.version(),
            "the hours are part of the version"
        );
        let reversed =
            format!("{points}[call_window]\nstart = \"18:00\"\nend = \"09:00\"\ndays = []\n");
        let err = Model::from_toml(&reversed).expect_err("refused");
        assert!(err.to_string().contains("call_window"), "{err}");
    }

    #[test]
    fn the_model_may_set_other_hours() {
        let hours: BusinessHours =
            toml::from_str("start = \"08:30\"\nend = \"24:00\"\ndays = [\"Sat\"]").expect("reads");
        assert!(hours.is_well_formed());
        let saturday = call_window(&["Europe/London"], at("2026-12-05T08:30:00Z"), &hours);
        assert!(saturday.expect("a window").business_hours);
        let friday = call_window(&["Europe/London"], at("2026-12-04T12:00:00Z"), &hours);
        assert!(!friday.expect("a window").business_hours);
        for bad in ["start = \"9:00\"", "start = \"24:01\"", "start = \"09:60\""] {
            let text = format!("{bad}\nend = \"18:00\"\ndays = []");
            assert!(toml::from_str::<BusinessHours>(&text).is_err(), "{bad}");
        }
    }
}
