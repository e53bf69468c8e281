//! The seeds' time windows: how long ago a lead was created, in its lifecycle, as a factor.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use crate::lead::codes;
use crate::lead::kind::Lifecycle;

const HOUR: Duration = Duration::from_secs(3600);

/// The seeds' follow-up advice: "follow up within 24 hours".
const FOLLOW_UP: Duration = Duration::from_secs(24 * 3600);
/// The seeds' "hot" window: the flame icon changes after 72 hours.
const HOT: Duration = Duration::from_secs(72 * 3600);
/// The seeds' response window: a lead not answered within 14 days expires.
const RESPONSE_WINDOW: Duration = Duration::from_secs(14 * 24 * 3600);
/// How far ahead of our clock a creation time may be and still count as "just now":
/// the largest time-zone offset (UTC+14), the error a local time stored as UTC makes.
const SKEW: Duration = Duration::from_secs(14 * 3600);

/// Six months, the seeds' availability of an offer lead that needs no action: 183 days,
/// the longest half of a calendar year rounded down, so that no lead is archived early.
const AVAILABLE: Duration = Duration::from_secs(183 * 24 * 3600);

/// Places the lead's age, measured at `now`, in the windows of its lifecycle.
///
/// Every kind has the seeds' 24-hour follow-up and 72-hour windows (for Contact me the
/// flame window: the customer asked to be contacted). Then a referral, or a lead of no
/// known kind, is inside its 14-day response window or expired; an informational offer
/// lead is available for six months, then archived.
pub(super) fn recency(
    created_at: Option<SystemTime>,
    now: SystemTime,
    lifecycle: Lifecycle,
) -> (&'static str, Cow<'static, str>) {
    let Some(created) = created_at else {
        return (
            codes::RECENCY_UNKNOWN,
            "no creation time: recency unknown".into(),
        );
    };
    let age = match now.duration_since(created) {
        Ok(age) => age,
        Err(ahead) if ahead.duration() <= SKEW => {
            return (
                codes::RECENCY_24H,
                format!(
                    "created {} ahead of our clock (time zone or clock skew): counted as just now",
                    span(ahead.duration())
                )
                .into(),
            )
        }
        Err(ahead) => {
            return (
                codes::RECENCY_FUTURE,
                format!(
                    "created {} in the future: the creation time is wrong",
                    span(ahead.duration())
                )
                .into(),
            )
        }
    };
    let (code, window) = if age < FOLLOW_UP {
        (codes::RECENCY_24H, "inside the 24-hour follow-up window")
    } else if age < HOT {
        match lifecycle {
            Lifecycle::Referral => (
                codes::RECENCY_72H,
                "inside the 72-hour flame window of a customer who asked to be contacted",
            ),
            _ => (codes::RECENCY_72H, "inside the 72-hour hot window"),
        }
    } else {
        match lifecycle {
            Lifecycle::Offer if age < AVAILABLE => (
                codes::RECENCY_AVAILABLE,
                "inside the 6 months an offer lead stays available",
            ),
            Lifecycle::Offer => (
                codes::RECENCY_ARCHIVED,
                "past the 6 months an offer lead stays available: archived",
            ),
            _ if age < RESPONSE_WINDOW => (codes::RECENCY_14D, "inside the 14-day response window"),
            _ => (
                codes::RECENCY_EXPIRED,
                "past the 14-day response window: it would have expired",
            ),
        }
    };
    (code, format!("created {} ago, {window}", span(age)).into())
}

/// Writes a duration as whole minutes, hours or days.
fn span(d: Duration) -> String {
    let secs = d.as_secs();
    if d < HOUR {
        format!("{} min", secs / 60)
    } else if d < 2 * FOLLOW_UP {
        format!("{} h", secs / 3600)
    } else {
        format!("{} days", secs / 86_400)
    }
}
