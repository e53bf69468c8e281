//! Conversions between `leadcheck.v1` messages and domain types.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::lead::kind::LeadType;
use crate::lead::score::{Factor, Quality};
use crate::lead::source::{Action, LeadSource, Source};
use crate::lead::{Assessment, Lead};
use crate::reason::Reason;
use crate::{email, pb, phone};

/// The longest text field a request may carry, in bytes. Real contact fields are far
/// shorter; the bound keeps one request from making the engines chew megabytes.
pub const MAX_FIELD_BYTES: usize = 1024;

/// Code of the reason given to a streamed lead that breaks the field limits.
pub const FIELD_TOO_LONG: &str = "request.field_too_long";

/// Code of the reason given to a streamed lead whose request has a timestamp outside
/// what google.protobuf.Timestamp allows (`as_of`).
pub const INVALID_TIME: &str = "request.invalid_time";

/// A request the service refuses, naming the field: INVALID_ARGUMENT for a call, a LOW
/// assessment with this reason for a streamed lead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadField {
    /// A text field over [`MAX_FIELD_BYTES`].
    #[error(transparent)]
    TooLong(#[from] FieldTooLong),
    /// A timestamp outside 0001-01-01 to 9999-12-31, or with nanos outside a second.
    #[error("field `{field}` is not a valid timestamp (0001-01-01 to 9999-12-31)")]
    InvalidTime {
        /// The field's name in the contract.
        field: &'static str,
    },
}

impl BadField {
    /// The reason code a streamed lead gets for it.
    pub fn code(&self) -> &'static str {
        match self {
            BadField::TooLong(_) => FIELD_TOO_LONG,
            BadField::InvalidTime { .. } => INVALID_TIME,
        }
    }
}

/// Reads a request's `as_of`: unset is `None` (now), an invalid one is refused, since
/// reading it as now would silently break the reproducibility it is set for.
pub fn as_of_from_pb(
    as_of: Option<&pbjson_types::Timestamp>,
) -> Result<Option<SystemTime>, BadField> {
    match as_of {
        None => Ok(None),
        Some(ts) => time_from_pb(ts)
            .map(Some)
            .ok_or(BadField::InvalidTime { field: "as_of" }),
    }
}

/// A request field over [`MAX_FIELD_BYTES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}` is {len} bytes long; the limit is {limit}")]
pub struct FieldTooLong {
    /// The field's name in the contract (`lead.email`, `phone`, ...).
    pub field: &'static str,
    /// Its length in bytes.
    pub len: usize,
    /// The limit.
    pub limit: usize,
}

/// Checks one field against the limit.
pub fn check_len(field: &'static str, value: &str) -> Result<(), FieldTooLong> {
    if value.len() > MAX_FIELD_BYTES {
        return Err(FieldTooLong {
            field,
            len: value.len(),
            limit: MAX_FIELD_BYTES,
        });
    }
    Ok(())
}

/// Converts a lead, refusing any field over the limit. Takes the message: its strings
/// move, none is copied.
pub fn lead_from_pb(lead: pb::Lead) -> Result<Lead, FieldTooLong> {
    for (field, value) in [
        ("lead.first_name", &lead.first_name),
        ("lead.last_name", &lead.last_name),
        ("lead.email", &lead.email),
        ("lead.phone", &lead.phone),
        ("lead.country", &lead.country),
        ("lead.company", &lead.company),
        ("lead.title", &lead.title),
        ("lead.lead_source", &lead.lead_source),
        ("lead.call_to_action", &lead.call_to_action),
    ] {
        check_len(field, value)?;
    }
    Ok(Lead {
        first_name: lead.first_name,
        last_name: lead.last_name,
        email: lead.email,
        phone: lead.phone,
        country: lead.country,
        company: lead.company,
        title: lead.title,
        lead_source: lead.lead_source,
        created_at: lead.created_at.as_ref().and_then(time_from_pb),
        lead_type: lead_type_from_pb(lead.lead_type),
        call_to_action: lead.call_to_action,
    })
}

/// A lead type's domain value; an unknown number is unspecified, then inferred.
pub fn lead_type_from_pb(value: i32) -> LeadType {
    match pb::LeadType::try_from(value) {
        Ok(pb::LeadType::Offer) => LeadType::Offer,
        Ok(pb::LeadType::Profile) => LeadType::Profile,
        Ok(pb::LeadType::Unspecified) | Err(_) => LeadType::Unspecified,
    }
}

/// Converts a timestamp; one outside the range google.protobuf.Timestamp allows
/// (0001-01-01 to 9999-12-31) or with bad nanos is treated as absent.
pub fn time_from_pb(ts: &pbjson_types::Timestamp) -> Option<SystemTime> {
    const MIN_SECONDS: i64 = -62_135_596_800;
    const MAX_SECONDS: i64 = 253_402_300_799;
    if !(MIN_SECONDS..=MAX_SECONDS).contains(&ts.seconds) {
        return None;
    }
    let nanos = u32::try_from(ts.nanos)
        .ok()
        .filter(|n| *n < 1_000_000_000)?;
    if ts.seconds >= 0 {
        UNIX_EPOCH.checked_add(Duration::new(ts.seconds.unsigned_abs(), nanos))
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_secs(ts.seconds.unsigned_abs()))?
            .checked_add(Duration::from_nanos(u64::from(nanos)))
    }
}

/// Converts a time to a timestamp.
pub fn time_to_pb(time: SystemTime) -> pbjson_types::Timestamp {
    let (seconds, nanos) = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => (
            i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            after.subsec_nanos(),
        ),
        Err(before) => {
            // Timestamps count nanos forward from a whole second, even before the epoch.
            let before = before.duration();
            let secs = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
            match before.subsec_nanos() {
                0 => (-secs, 0),
                n => (-secs - 1, 1_000_000_000 - n),
            }
        }
    };
    pbjson_types::Timestamp {
        seconds,
        nanos: i32::try_from(nanos).unwrap_or(0),
    }
}

fn reasons_to_pb(reasons: Vec<Reason>) -> Vec<pb::Reason> {
    reasons
        .into_iter()
        .map(|r| pb::Reason {
            code: r.code.to_string(),
            message: r.message,
        })
        .collect()
}

/// Converts an email verdict, moving its strings.
// `catch_all` is deprecated in the contract for `catch_all_state`, and still filled.
#[allow(deprecated)]
pub fn email_to_pb(v: email::Verdict) -> pb::EmailVerdict {
    pb::EmailVerdict {
        validity: email_validity_to_pb(v.validity).into(),
        normalized: v.normalized,
        domain: v.domain,
        mx_hosts: v.mx_hosts,
        disposable: v.disposable,
        free_provider: v.free_provider,
        role_account: v.role_account,
        catch_all: v.catch_all,
        suggestion: v.suggestion.unwrap_or_default(),
        reasons: reasons_to_pb(v.reasons),
        smtp_accepted: v.smtp_accepted,
        mail_provider: v.mail_provider.to_string(),
        catch_all_state: catch_all_to_pb(v.catch_all_state).into(),
        depth: depth_to_pb(v.depth).into(),
        retry_after: v.retry_after.map(duration_to_pb),
    }
}

/// A catch-all state's enum value: a provider known to accept anything is a catch-all.
pub fn catch_all_to_pb(v: email::smtp::CatchAll) -> pb::CatchAllState {
    use email::smtp::CatchAll as C;
    match v {
        C::NotChecked => pb::CatchAllState::NotChecked,
        C::No => pb::CatchAllState::No,
        C::Yes | C::Known => pb::CatchAllState::Yes,
        C::Inconclusive => pb::CatchAllState::Inconclusive,
    }
}

/// A `google.protobuf.Duration` (the contract's durations are never negative).
pub fn duration_to_pb(d: std::time::Duration) -> pbjson_types::Duration {
    pbjson_types::Duration {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

/// A check depth's enum value.
pub fn depth_to_pb(v: email::Depth) -> pb::CheckDepth {
    match v {
        email::Depth::None => pb::CheckDepth::Unspecified,
        email::Depth::Syntax => pb::CheckDepth::Syntax,
        email::Depth::Domain => pb::CheckDepth::Domain,
        email::Depth::Mailbox => pb::CheckDepth::Mailbox,
    }
}

/// Converts a phone verdict, moving its strings.
pub fn phone_to_pb(v: phone::Verdict) -> pb::PhoneVerdict {
    pb::PhoneVerdict {
        validity: phone_validity_to_pb(v.validity).into(),
        e164: v.e164,
        region: v.region,
        country_code: v.country_code,
        number_type: v
            .number_type
            .map_or(pb::PhoneNumberType::Unspecified, number_type_to_pb)
            .into(),
        international: v.international,
        national: v.national,
        reasons: reasons_to_pb(v.reasons),
        time_zones: v.time_zones.iter().map(|zone| zone.to_string()).collect(),
        location: v.location.to_string(),
        carrier: v.carrier.to_string(),
    }
}

/// Converts a call window.
pub fn call_window_to_pb(w: phone::window::CallWindow) -> pb::CallWindow {
    pb::CallWindow {
        time_zone: w.time_zone.to_string(),
        local_time: w.local_time,
        business_hours: w.business_hours,
        reason: Some(pb::Reason {
            code: w.reason.code.to_string(),
            message: w.reason.message,
        }),
    }
}

/// An email validity's enum value.
pub fn email_validity_to_pb(v: email::Validity) -> pb::EmailValidity {
    match v {
        email::Validity::Valid => pb::EmailValidity::Valid,
        email::Validity::Invalid => pb::EmailValidity::Invalid,
        email::Validity::Spam => pb::EmailValidity::Spam,
        email::Validity::Unknown => pb::EmailValidity::Unknown,
    }
}

/// A phone validity's enum value.
pub fn phone_validity_to_pb(v: phone::Validity) -> pb::PhoneValidity {
    match v {
        phone::Validity::Valid => pb::PhoneValidity::Valid,
        phone::Validity::Invalid => pb::PhoneValidity::Invalid,
        phone::Validity::Unknown => pb::PhoneValidity::Unknown,
    }
}

/// A lead quality's enum value.
pub fn quality_to_pb(q: Quality) -> pb::LeadQuality {
    match q {
        Quality::High => pb::LeadQuality::High,
        Quality::Low => pb::LeadQuality::Low,
    }
}

/// A number type's enum value.
pub fn number_type_to_pb(t: phone::NumberType) -> pb::PhoneNumberType {
    use pb::PhoneNumberType as P;
    use phone::NumberType as T;
    match t {
        T::FixedLine => P::FixedLine,
        T::Mobile => P::Mobile,
        T::FixedLineOrMobile => P::FixedLineOrMobile,
        T::TollFree => P::TollFree,
        T::PremiumRate => P::PremiumRate,
        T::SharedCost => P::SharedCost,
        T::Voip => P::Voip,
        T::PersonalNumber => P::PersonalNumber,
        T::Pager => P::Pager,
        T::Uan => P::Uan,
        T::Voicemail => P::Voicemail,
        T::Unknown => P::Unknown,
    }
}

/// Converts a parsed LeadSource, moving its strings.
pub fn source_to_pb(s: LeadSource) -> pb::LeadSource {
    pb::LeadSource {
        raw: s.raw,
        source: source_kind_to_pb(s.source).into(),
        action: action_to_pb(s.action).into(),
        publisher_id: s.publisher_id,
        offer_id: s.offer_id,
        reasons: reasons_to_pb(s.reasons),
    }
}

/// A LeadSource's source enum value.
pub fn source_kind_to_pb(s: Source) -> pb::Source {
    match s {
        Source::Unspecified => pb::Source::Unspecified,
        Source::AzureMarketplace => pb::Source::AzureMarketplace,
        Source::AzurePortal => pb::Source::AzurePortal,
        Source::AppSource => pb::Source::AppSource,
    }
}

/// A LeadSource's action enum value.
pub fn action_to_pb(a: Action) -> pb::Action {
    match a {
        Action::Unspecified => pb::Action::Unspecified,
        Action::Install => pb::Action::Install,
        Action::PartnerLedTrial => pb::Action::PartnerLedTrial,
        Action::DoNotContact => pb::Action::DoNotContact,
        Action::Create => pb::Action::Create,
        Action::StartTestDrive => pb::Action::StartTestDrive,
    }
}

/// Converts a score factor.
pub fn factor_to_pb(f: &Factor) -> pb::ScoreFactor {
    pb::ScoreFactor {
        code: f.code.to_string(),
        points: f.points,
        detail: f.detail.to_string(),
    }
}

/// Converts an assessment, echoing the request id; its strings move.
pub fn assessment_to_pb(request_id: String, a: Assessment) -> pb::LeadAssessment {
    pb::LeadAssessment {
        request_id,
        email: Some(email_to_pb(a.email)),
        phone: Some(phone_to_pb(std::sync::Arc::unwrap_or_clone(a.phone))),
        source: Some(source_to_pb(std::sync::Arc::unwrap_or_clone(a.source))),
        quality: quality_to_pb(a.score.quality).into(),
        score: a.score.score,
        grade: a.score.grade.as_str().to_string(),
        top_reasons: a.score.top_reasons().map(factor_to_pb).collect(),
        factors: a.score.factors.iter().map(factor_to_pb).collect(),
        model_version: a.model_version,
        dedup_key: a.dedup_key,
        reasons: Vec::new(),
        assessed_at: Some(time_to_pb(a.assessed_at)),
        call_window: a.call_window.map(call_window_to_pb),
    }
}

/// The assessment of a streamed lead whose request breaks the field limits or carries an
/// invalid timestamp: LOW, nothing validated, the reason naming the field. The stream
/// goes on.
pub fn rejected_assessment(request_id: String, err: &BadField) -> pb::LeadAssessment {
    pb::LeadAssessment {
        request_id,
        quality: pb::LeadQuality::Low.into(),
        reasons: vec![pb::Reason {
            code: err.code().to_string(),
            message: err.to_string(),
        }],
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_and_absurd_ones_are_absent() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 5);
        assert_eq!(time_from_pb(&time_to_pb(t)), Some(t));
        let bad_nanos = pbjson_types::Timestamp {
            seconds: 1,
            nanos: -1,
        };
        assert_eq!(time_from_pb(&bad_nanos), None);
        let huge = pbjson_types::Timestamp {
            seconds: i64::MAX,
            nanos: 0,
        };
        assert_eq!(time_from_pb(&huge), None);
        let before_epoch = pbjson_types::Timestamp {
            seconds: -10,
            nanos: 0,
        };
        assert_eq!(
            time_from_pb(&before_epoch),
            UNIX_EPOCH.checked_sub(Duration::from_secs(10))
        );
    }

    #[test]
    fn an_over_long_field_is_named() {
        let lead = pb::Lead {
            company: "x".repeat(MAX_FIELD_BYTES + 1),
            ..Default::default()
        };
        let err = lead_from_pb(lead).unwrap_err();
        assert_eq!(err.field, "lead.company");
        assert!(err.to_string().contains("lead.company"));
    }

    #[test]
    fn as_of_is_now_when_unset_and_refused_when_invalid() {
        assert_eq!(as_of_from_pb(None), Ok(None));
        let t = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert_eq!(as_of_from_pb(Some(&time_to_pb(t))), Ok(Some(t)));
        let bad = pbjson_types::Timestamp {
            seconds: i64::MAX,
            nanos: 0,
        };
        let err = as_of_from_pb(Some(&bad)).unwrap_err();
        assert_eq!(err.code(), INVALID_TIME);
        assert!(err.to_string().contains("`as_of`"), "{err}");
    }
}
