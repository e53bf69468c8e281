//! What CSV output reads of an answer, decoded alone.
//!
//! A `LeadAssessment` holds about 37 strings: reason messages, factor details, formats.
//! CSV output writes five fields and the reason codes. Decoding into these messages, under
//! the contract's own tags, lets prost skip the rest unread (it skips fields a message
//! does not declare) instead of allocating, copying and freeing them: callgrind put the
//! full decode at over half of the batch client's instructions a row. JSON Lines output
//! writes the whole assessment and decodes it whole.
//!
//! A test encodes a full assessment and checks what these read back, so a tag that drifts
//! from `proto/leadcheck/v1/leadcheck.proto` fails it.

use crate::pb;

/// `LeadAssessment`: the fields CSV output writes.
#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct Assessment {
    #[prost(string, tag = "1")]
    request_id: String,
    #[prost(message, optional, tag = "2")]
    email: Option<EmailVerdict>,
    #[prost(message, optional, tag = "3")]
    phone: Option<PhoneVerdict>,
    #[prost(message, optional, tag = "4")]
    source: Option<LeadSource>,
    #[prost(int32, tag = "5")]
    quality: i32,
    #[prost(uint32, tag = "6")]
    score: u32,
    #[prost(string, tag = "9")]
    dedup_key: String,
    #[prost(message, repeated, tag = "10")]
    reasons: Vec<Code>,
}

/// `EmailVerdict`: its validity and reason codes.
#[derive(Clone, PartialEq, prost::Message)]
struct EmailVerdict {
    #[prost(int32, tag = "1")]
    validity: i32,
    #[prost(message, repeated, tag = "10")]
    reasons: Vec<Code>,
}

/// `PhoneVerdict`: its validity and reason codes.
#[derive(Clone, PartialEq, prost::Message)]
struct PhoneVerdict {
    #[prost(int32, tag = "1")]
    validity: i32,
    #[prost(message, repeated, tag = "8")]
    reasons: Vec<Code>,
}

/// `LeadSource`: its reason codes.
#[derive(Clone, PartialEq, prost::Message)]
struct LeadSource {
    #[prost(message, repeated, tag = "6")]
    reasons: Vec<Code>,
}

/// `Reason`: its code, not its message.
#[derive(Clone, PartialEq, prost::Message)]
struct Code {
    #[prost(string, tag = "1")]
    code: String,
}

fn reasons(codes: Vec<Code>) -> Vec<pb::Reason> {
    codes
        .into_iter()
        .map(|c| pb::Reason {
            code: c.code,
            message: String::new(),
        })
        .collect()
}

/// The assessment with what CSV output reads filled in and the rest left empty.
impl From<Assessment> for pb::LeadAssessment {
    fn from(a: Assessment) -> pb::LeadAssessment {
        pb::LeadAssessment {
            request_id: a.request_id,
            email: a.email.map(|e| pb::EmailVerdict {
                validity: e.validity,
                reasons: reasons(e.reasons),
                ..Default::default()
            }),
            phone: a.phone.map(|p| pb::PhoneVerdict {
                validity: p.validity,
                reasons: reasons(p.reasons),
                ..Default::default()
            }),
            source: a.source.map(|s| pb::LeadSource {
                reasons: reasons(s.reasons),
                ..Default::default()
            }),
            quality: a.quality,
            score: a.score,
            dedup_key: a.dedup_key,
            reasons: reasons(a.reasons),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Assessment;
    use crate::pb;
    use prost::Message;

    fn reason(code: &str) -> pb::Reason {
        pb::Reason {
            code: code.to_string(),
            message: format!("the message of {code}"),
        }
    }

    #[test]
    fn the_view_reads_what_csv_output_writes_under_the_contracts_tags() {
        let full = pb::LeadAssessment {
            request_id: "42".into(),
            email: Some(pb::EmailVerdict {
                validity: pb::EmailValidity::Spam as i32,
                normalized: "ana@example.com".into(),
                domain: "example.com".into(),
                mx_hosts: vec!["mx.example.com".into()],
                disposable: true,
                suggestion: "example.org".into(),
                reasons: vec![reason("dns.mx"), reason("flag.disposable")],
                ..Default::default()
            }),
            phone: Some(pb::PhoneVerdict {
                validity: pb::PhoneValidity::Invalid as i32,
                e164: "+34612345678".into(),
                region: "ES".into(),
                country_code: 34,
                international: "+34 612 34 56 78".into(),
                national: "612 34 56 78".into(),
                reasons: vec![reason("phone.invalid")],
                ..Default::default()
            }),
            source: Some(pb::LeadSource {
                raw: "Google-Search | 1.2".into(),
                publisher_id: "1".into(),
                offer_id: "2".into(),
                reasons: vec![reason("source.unknown_source")],
                ..Default::default()
            }),
            quality: pb::LeadQuality::Low as i32,
            score: 37,
            factors: vec![pb::ScoreFactor {
                code: "email.spam".into(),
                points: -40,
                detail: "the email is SPAM".into(),
            }],
            model_version: "leadcheck-default@b432effa".into(),
            dedup_key: "email:ana@example.com".into(),
            reasons: vec![reason("request.field_too_long")],
        };
        let view = Assessment::decode(full.encode_to_vec().as_slice())
            .unwrap_or_else(|e| panic!("the view decodes a LeadAssessment: {e}"));
        let read = pb::LeadAssessment::from(view);
        let codes = |reasons: &[pb::Reason]| -> Vec<String> {
            reasons.iter().map(|r| r.code.clone()).collect()
        };
        let (email, phone, source) = (
            read.email.as_ref().expect("email"),
            read.phone.as_ref().expect("phone"),
            read.source.as_ref().expect("source"),
        );
        assert_eq!(read.request_id, "42");
        assert_eq!(email.validity, pb::EmailValidity::Spam as i32);
        assert_eq!(codes(&email.reasons), ["dns.mx", "flag.disposable"]);
        assert_eq!(phone.validity, pb::PhoneValidity::Invalid as i32);
        assert_eq!(codes(&phone.reasons), ["phone.invalid"]);
        assert_eq!(codes(&source.reasons), ["source.unknown_source"]);
        assert_eq!(read.quality, pb::LeadQuality::Low as i32);
        assert_eq!(read.score, 37);
        assert_eq!(read.dedup_key, "email:ana@example.com");
        assert_eq!(codes(&read.reasons), ["request.field_too_long"]);
        // And nothing else was read.
        assert!(read.factors.is_empty() && read.model_version.is_empty());
        assert!(email.normalized.is_empty() && email.mx_hosts.is_empty());
        assert!(phone.e164.is_empty() && source.raw.is_empty());
        assert!(email.reasons.iter().all(|r| r.message.is_empty()));
    }
}
