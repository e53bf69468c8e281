//! The hand-written encoding against prost's: the same bytes for any assessment; and the
//! hand-written reading of a request against prost's: the same request, or the same error.

use std::sync::Arc;

use proptest::prelude::*;
use prost::Message;

use super::{EncodedAssessment, LeadRequest};
use crate::lead::score::{Factor, Quality, Score};
use crate::lead::source::{Action, LeadSource, Source};
use crate::lead::{Assessment, Lead};
use crate::reason::Reason;
use crate::rpc::convert::assessment_to_pb;
use crate::{email, pb, phone};

/// What prost writes for the same assessment, through the message the CLI prints.
fn oracle(request_id: &str, assessment: &Assessment) -> Vec<u8> {
    assessment_to_pb(request_id.to_string(), assessment.clone()).encode_to_vec()
}

/// Text of any length a field may hold: empty, short and Unicode, or long enough that its
/// length, and its message's, take two bytes or three.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => ".{0,12}",
        1 => "[a-z]{120,140}",
        1 => Just("x".repeat(17_000)),
    ]
}

fn code() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["", "email.valid", "dns.nxdomain", "score.fake_name"])
}

fn reasons() -> impl Strategy<Value = Vec<Reason>> {
    prop::collection::vec(
        (code(), text()).prop_map(|(code, message)| Reason { code, message }),
        0..4,
    )
}

fn email_verdict() -> impl Strategy<Value = email::Verdict> {
    use email::Validity as V;
    (
        prop::sample::select(vec![V::Valid, V::Invalid, V::Spam, V::Unknown]),
        (text(), text(), prop::collection::vec(text(), 0..3)),
        prop::array::uniform5(any::<bool>()),
        (
            prop::option::of(text()),
            reasons(),
            prop::option::of(text()),
        ),
    )
        .prop_map(
            |(
                validity,
                (normalized, domain, mx_hosts),
                flags,
                (suggestion, reasons, canonical),
            )| {
                email::Verdict {
                    validity,
                    normalized,
                    domain,
                    mx_hosts,
                    disposable: flags[0],
                    free_provider: flags[1],
                    role_account: flags[2],
                    catch_all: flags[3],
                    smtp_accepted: flags[4],
                    suggestion,
                    reasons,
                    canonical,
                }
            },
        )
}

fn phone_verdict() -> impl Strategy<Value = phone::Verdict> {
    use phone::NumberType as T;
    use phone::Validity as V;
    let types = vec![
        T::FixedLine,
        T::Mobile,
        T::FixedLineOrMobile,
        T::TollFree,
        T::PremiumRate,
        T::SharedCost,
        T::Voip,
        T::PersonalNumber,
        T::Pager,
        T::Uan,
        T::Voicemail,
        T::Unknown,
    ];
    (
        prop::sample::select(vec![V::Valid, V::Invalid, V::Unknown]),
        (text(), text(), text(), text()),
        any::<u32>(),
        prop::option::of(prop::sample::select(types)),
        reasons(),
    )
        .prop_map(
            |(
                validity,
                (e164, region, international, national),
                country_code,
                number_type,
                reasons,
            )| {
                phone::Verdict {
                    validity,
                    e164,
                    region,
                    country_code,
                    number_type,
                    international,
                    national,
                    reasons,
                }
            },
        )
}

fn lead_source() -> impl Strategy<Value = LeadSource> {
    use Action as A;
    use Source as S;
    (
        (text(), text(), text()),
        prop::sample::select(vec![
            S::Unspecified,
            S::AzureMarketplace,
            S::AzurePortal,
            S::AppSource,
        ]),
        prop::sample::select(vec![
            A::Unspecified,
            A::Install,
            A::PartnerLedTrial,
            A::DoNotContact,
            A::Create,
            A::StartTestDrive,
        ]),
        reasons(),
    )
        .prop_map(
            |((raw, publisher_id, offer_id), source, action, reasons)| LeadSource {
                raw,
                source,
                action,
                publisher_id,
                offer_id,
                reasons,
            },
        )
}

fn score() -> impl Strategy<Value = Score> {
    (
        prop::sample::select(vec![Quality::High, Quality::Low]),
        any::<u32>(),
        prop::collection::vec(
            (code(), any::<i32>(), text()).prop_map(|(code, points, detail)| Factor {
                code,
                points,
                detail: detail.into(),
            }),
            0..5,
        ),
    )
        .prop_map(|(quality, score, factors)| Score {
            quality,
            score,
            factors,
        })
}

fn assessment() -> impl Strategy<Value = Assessment> {
    (
        email_verdict(),
        phone_verdict(),
        lead_source(),
        score(),
        text(),
        text(),
    )
        .prop_map(
            |(email, phone, source, score, model_version, dedup_key)| Assessment {
                email,
                phone: phone.into(),
                source: source.into(),
                score,
                model_version,
                dedup_key,
            },
        )
}

proptest! {
    #[test]
    fn any_assessment_encodes_as_prost_encodes_it(
        request_id in text(),
        assessment in assessment(),
    ) {
        let ours = EncodedAssessment::new(&request_id, &assessment);
        let prosts = oracle(&request_id, &assessment);
        prop_assert_eq!(ours.as_bytes(), prosts.as_slice());
        prop_assert_eq!(prost::Message::encoded_len(&ours), ours.as_bytes().len());
    }
}

#[tokio::test]
async fn real_assessments_encode_as_prost_encodes_them_and_decode_back() {
    let config = crate::config::Config::default();
    let engines = crate::server::build_engines(&config, Arc::new(crate::lead::SystemClock))
        .unwrap_or_else(|e| panic!("engines: {e}"));
    let leads = [
        Lead::default(),
        Lead {
            first_name: "Ana".into(),
            last_name: "Souza".into(),
            email: "not an address".into(),
            phone: "+44 20 7183 8750".into(),
            country: "GB".into(),
            company: "Contoso".into(),
            title: "CTO".into(),
            lead_source: "AzureMarketplace-Install-contoso.offer".into(),
            created_at: None,
        },
        Lead {
            first_name: "asdf".into(),
            email: "jane@mailinator.com".into(),
            phone: "555-0100".into(),
            country: "US".into(),
            lead_source: "??".into(),
            ..Lead::default()
        },
    ];
    for lead in &leads {
        let assessment = engines.assessor.assess(lead).await;
        let ours = EncodedAssessment::new("req-7", &assessment);
        assert_eq!(ours.as_bytes(), oracle("req-7", &assessment).as_slice());
        let decoded = pb::LeadAssessment::decode(ours.as_bytes())
            .unwrap_or_else(|e| panic!("our bytes do not decode: {e}"));
        assert_eq!(decoded.request_id, "req-7");
        assert_eq!(decoded, assessment_to_pb("req-7".into(), assessment));
    }
}

#[test]
fn its_debug_form_hides_the_contact_data() {
    let message = pb::LeadAssessment {
        request_id: "r".into(),
        email: Some(pb::EmailVerdict {
            normalized: "jane.doe@example.com".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let encoded = EncodedAssessment::of_message(&message);
    assert_eq!(encoded.as_bytes(), message.encode_to_vec().as_slice());
    let shown = format!("{encoded:?}");
    assert!(!shown.contains("jane"), "{shown}");
    assert!(
        shown.contains(&format!("{} bytes", message.encoded_len())),
        "{shown}"
    );
}

/// Any request: each field empty, short and Unicode, or long enough for a two-byte length.
fn request() -> impl Strategy<Value = pb::AssessLeadRequest> {
    let short = || prop_oneof![3 => ".{0,12}", 1 => "[a-z]{120,140}"];
    let time = (any::<i64>(), any::<i32>())
        .prop_map(|(seconds, nanos)| pbjson_types::Timestamp { seconds, nanos });
    let lead = (
        (short(), short(), short(), short()),
        (short(), short(), short(), short()),
        prop::option::of(time),
    )
        .prop_map(
            |(
                (first_name, last_name, email, phone),
                (country, company, title, lead_source),
                created_at,
            )| pb::Lead {
                first_name,
                last_name,
                email,
                phone,
                country,
                company,
                title,
                lead_source,
                created_at,
            },
        );
    (short(), prop::option::of(lead))
        .prop_map(|(request_id, lead)| pb::AssessLeadRequest { request_id, lead })
}

/// What prost makes of the bytes, and what the server's reading does, errors as text.
fn both_readings(
    bytes: &[u8],
) -> (
    Result<pb::AssessLeadRequest, String>,
    Result<pb::AssessLeadRequest, String>,
) {
    (
        pb::AssessLeadRequest::decode(bytes).map_err(|e| e.to_string()),
        LeadRequest::decode(bytes)
            .map(|r| r.0)
            .map_err(|e| e.to_string()),
    )
}

proptest! {
    #[test]
    fn any_request_reads_as_prost_reads_it(
        first in request(),
        second in prop::option::of(request()),
    ) {
        // One request, or two back to back: prost merges the second into the first.
        let mut bytes = first.encode_to_vec();
        if let Some(second) = second {
            bytes.extend(second.encode_to_vec());
        }
        let (prosts, ours) = both_readings(&bytes);
        prop_assert!(prosts.is_ok());
        prop_assert_eq!(ours, prosts.clone());
        // And by the walk itself, not by prost's decoding after it gave up.
        let mut walked = pb::AssessLeadRequest::default();
        prop_assert_eq!(super::read_request(&mut walked, &bytes), Ok(()));
        prop_assert_eq!(Ok(walked), prosts);
    }

    #[test]
    fn damaged_requests_read_as_prost_reads_them(
        request in request(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<bool>(),
    ) {
        let mut bytes = request.encode_to_vec();
        if cut {
            bytes.truncate(at.index(bytes.len() + 1));
        } else if !bytes.is_empty() {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        let (prosts, ours) = both_readings(&bytes);
        prop_assert_eq!(ours, prosts);
    }
}

#[test]
fn a_requests_debug_form_hides_the_lead() {
    let request = LeadRequest(pb::AssessLeadRequest {
        request_id: "r-1".into(),
        lead: Some(pb::Lead {
            email: "ana.silva@example.com".into(),
            phone: "+34 612 345 678".into(),
            ..Default::default()
        }),
    });
    let shown = format!("{request:?}");
    assert!(shown.contains("r-1"), "{shown}");
    assert!(!shown.contains("ana") && !shown.contains("612"), "{shown}");
}
