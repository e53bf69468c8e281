//! The hand-written encoding against prost's: the same bytes for any assessment.

use std::sync::Arc;

use proptest::prelude::*;
use prost::Message;

use super::EncodedAssessment;
use crate::lead::score::{Factor, Grade, Quality, Score};
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
    use email::smtp::CatchAll;
    use email::Depth as D;
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
        (
            prop::sample::select(vec!["", "google", "microsoft", "mimecast"]),
            prop::sample::select(vec![
                CatchAll::NotChecked,
                CatchAll::No,
                CatchAll::Yes,
                CatchAll::Known,
                CatchAll::Inconclusive,
            ]),
            prop::sample::select(vec![D::None, D::Syntax, D::Domain, D::Mailbox]),
            prop::option::of((0u64..100_000, 0u32..1_000_000_000)),
        ),
    )
        .prop_map(
            |(
                validity,
                (normalized, domain, mx_hosts),
                flags,
                (suggestion, reasons, canonical),
                (mail_provider, catch_all_state, depth, retry_after),
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
                    catch_all_state,
                    mail_provider,
                    depth,
                    retry_after: retry_after
                        .map(|(secs, nanos)| std::time::Duration::new(secs, nanos)),
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
        (
            prop::sample::select(vec![
                &[][..],
                &["Europe/London"],
                &["America/New_York", "America/Chicago"],
            ]),
            prop::sample::select(vec!["", "London", "São Paulo", "Москва"]),
            prop::sample::select(vec!["", "Vivo", "МТС"]),
        ),
    )
        .prop_map(
            |(
                validity,
                (e164, region, international, national),
                country_code,
                number_type,
                reasons,
                (time_zones, location, carrier),
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
                    time_zones,
                    location,
                    carrier,
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
            grade: [Grade::A, Grade::B, Grade::C, Grade::D][score as usize % 4],
            factors,
        })
}

/// Any moment a timestamp can hold, before and after the epoch, with or without nanos.
fn moment() -> impl Strategy<Value = std::time::SystemTime> {
    (-62_135_596_800i64..253_402_300_799, 0u32..1_000_000_000).prop_map(|(secs, nanos)| {
        crate::rpc::convert::time_from_pb(&pbjson_types::Timestamp {
            seconds: secs,
            nanos: nanos as i32,
        })
        .unwrap_or(std::time::UNIX_EPOCH)
    })
}

fn assessment() -> impl Strategy<Value = Assessment> {
    (
        email_verdict(),
        phone_verdict(),
        lead_source(),
        score(),
        (text(), text()),
        moment(),
        prop::option::of((
            text(),
            any::<bool>(),
            (code(), text()).prop_map(|(code, message)| Reason { code, message }),
        )),
    )
        .prop_map(
            |(email, phone, source, score, (model_version, dedup_key), assessed_at, window)| {
                Assessment {
                    email,
                    phone: phone.into(),
                    source: source.into(),
                    score,
                    model_version,
                    dedup_key,
                    assessed_at,
                    call_window: window.map(|(local_time, business_hours, reason)| {
                        phone::window::CallWindow {
                            time_zone: if business_hours {
                                "America/Sao_Paulo"
                            } else {
                                ""
                            },
                            local_time,
                            business_hours,
                            reason,
                        }
                    }),
                }
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
            ..Lead::default()
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

/// A reason whose code and message are both set.
fn reason(code: &'static str) -> Reason {
    Reason {
        code,
        message: format!("the message of {code}"),
    }
}

/// An assessment with every field of the domain set to something other than its default,
/// so that [`assessment_to_pb`] fills every field of `LeadAssessment` it ever fills.
fn every_field_set() -> Assessment {
    Assessment {
        email: email::Verdict {
            validity: email::Validity::Spam,
            normalized: "ana@example.com".into(),
            domain: "example.com".into(),
            mx_hosts: vec!["mx1.example.com".into(), "mx2.example.com".into()],
            disposable: true,
            free_provider: true,
            role_account: true,
            catch_all: true,
            catch_all_state: email::smtp::CatchAll::Yes,
            mail_provider: "google",
            depth: email::Depth::Domain,
            retry_after: Some(std::time::Duration::new(300, 500)),
            smtp_accepted: true,
            suggestion: Some("example.org".into()),
            reasons: vec![reason("dns.mx"), reason("flag.disposable")],
            canonical: Some("ana@example.com".into()),
        },
        phone: Arc::new(phone::Verdict {
            validity: phone::Validity::Invalid,
            e164: "+34612345678".into(),
            region: "ES".into(),
            country_code: 34,
            number_type: Some(phone::NumberType::Mobile),
            international: "+34 612 34 56 78".into(),
            national: "612 34 56 78".into(),
            reasons: vec![reason("fake.sequential")],
            time_zones: &["Europe/Madrid", "Atlantic/Canary"],
            location: "Spain",
            carrier: "Movistar",
        }),
        source: Arc::new(LeadSource {
            raw: "AzureMarketplace-INS | contoso.offer".into(),
            source: Source::AzureMarketplace,
            action: Action::Install,
            publisher_id: "contoso".into(),
            offer_id: "offer".into(),
            reasons: vec![reason("source.unknown_action")],
        }),
        score: Score {
            quality: Quality::Low,
            score: 37,
            grade: Grade::D,
            factors: vec![Factor {
                code: "email.spam",
                points: -40,
                detail: "the email is SPAM".into(),
            }],
        },
        model_version: "leadcheck-default@b432effa".into(),
        dedup_key: "email:ana@example.com".into(),
        // Seconds and nanos both set, so both are written.
        assessed_at: std::time::UNIX_EPOCH + std::time::Duration::new(1_800_000_000, 5),
        call_window: Some(phone::window::CallWindow {
            time_zone: "Europe/Madrid",
            local_time: "14:05".into(),
            business_hours: true,
            reason: reason("phone.local_time"),
        }),
    }
}

/// The fields of the contract's messages present in `bytes`, a message of type `message`
/// (`.leadcheck.v1.LeadAssessment`), and in the messages nested in it, as `Message.field`.
fn fields_present(
    set: &prost_types::FileDescriptorSet,
    message: &str,
    mut bytes: &[u8],
    present: &mut std::collections::BTreeSet<String>,
) {
    use prost::encoding::{decode_key, decode_varint, WireType};
    let descriptor = contract_messages(set)
        .find(|(name, _)| name == message)
        .map(|(_, d)| d)
        .unwrap_or_else(|| panic!("{message} is not in the descriptor set"));
    while !bytes.is_empty() {
        let (tag, wire_type) = decode_key(&mut bytes).expect("a key");
        let field = descriptor
            .field
            .iter()
            .find(|f| f.number() == tag as i32)
            .unwrap_or_else(|| panic!("{message} has no field {tag}"));
        present.insert(format!("{}.{}", descriptor.name(), field.name()));
        match wire_type {
            WireType::Varint => {
                decode_varint(&mut bytes).expect("a varint");
            }
            WireType::LengthDelimited => {
                let len = decode_varint(&mut bytes).expect("a length") as usize;
                let (value, rest) = bytes.split_at(len);
                if is_contract_message(field) {
                    fields_present(set, field.type_name(), value, present);
                }
                bytes = rest;
            }
            other => panic!("the contract has no field of wire type {other:?}"),
        }
    }
}

/// Whether a field holds a message of the contract; a well-known type's
/// (google.protobuf.Timestamp, Duration) is checked by the byte comparison with prost alone.
fn is_contract_message(field: &prost_types::FieldDescriptorProto) -> bool {
    field.r#type() == prost_types::field_descriptor_proto::Type::Message
        && field.type_name().starts_with(".leadcheck.v1.")
}

/// The contract's messages, each with its full name (`.leadcheck.v1.Reason`).
fn contract_messages(
    set: &prost_types::FileDescriptorSet,
) -> impl Iterator<Item = (String, &prost_types::DescriptorProto)> {
    set.file
        .iter()
        .filter(|f| f.package() == "leadcheck.v1")
        .flat_map(|f| &f.message_type)
        .map(|m| (format!(".leadcheck.v1.{}", m.name()), m))
}

/// Every field of `LeadAssessment` and of the messages in it, by the descriptor set the
/// server serves (the proto as built), is written by the encoder wherever
/// [`assessment_to_pb`] sets it. A field added to the proto fails here until the fixture
/// sets it and the encoder writes it (or it joins [`NOT_FROM_AN_ASSESSMENT`]).
#[test]
fn every_field_of_the_proto_that_convert_sets_is_encoded() {
    /// Fields `assessment_to_pb` never sets: a rejected lead's own reasons, which its
    /// message carries (`convert::rejected_assessment`), encoded by prost.
    const NOT_FROM_AN_ASSESSMENT: &[&str] = &["LeadAssessment.reasons"];
    let set =
        <prost_types::FileDescriptorSet as Message>::decode(crate::server::FILE_DESCRIPTOR_SET)
            .expect("the descriptor set decodes");
    // Every field of every message reachable from LeadAssessment.
    let mut expected = std::collections::BTreeSet::new();
    let mut pending = vec![".leadcheck.v1.LeadAssessment".to_string()];
    let mut visited = std::collections::BTreeSet::new();
    while let Some(name) = pending.pop() {
        if !visited.insert(name.clone()) {
            continue;
        }
        let (_, message) = contract_messages(&set)
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("{name} is not in the descriptor set"));
        for field in &message.field {
            let full = format!("{}.{}", message.name(), field.name());
            if !NOT_FROM_AN_ASSESSMENT.contains(&full.as_str()) {
                expected.insert(full);
            }
            if is_contract_message(field) {
                pending.push(field.type_name().to_string());
            }
        }
    }
    assert!(
        expected.len() > 35,
        "only {} fields: {expected:?}",
        expected.len()
    );

    let assessment = every_field_set();
    let prosts = oracle("req-1", &assessment);
    let mut set_by_convert = std::collections::BTreeSet::new();
    fields_present(
        &set,
        ".leadcheck.v1.LeadAssessment",
        &prosts,
        &mut set_by_convert,
    );
    assert_eq!(
        set_by_convert, expected,
        "the fixture leaves a field of the proto unset: set it in `every_field_set`"
    );
    let ours = EncodedAssessment::new("req-1", &assessment);
    let mut written = std::collections::BTreeSet::new();
    fields_present(
        &set,
        ".leadcheck.v1.LeadAssessment",
        ours.as_bytes(),
        &mut written,
    );
    assert_eq!(written, expected, "a field convert sets is not encoded");
    assert_eq!(ours.as_bytes(), prosts.as_slice());
}
