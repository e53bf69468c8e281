//! What CSV output reads of an answer, decoded alone.
//!
//! A `LeadAssessment` holds about 37 strings: reason messages, factor details, formats.
//! CSV output writes five fields and the reason codes. [`Assessment::read`] walks the
//! answer's bytes and keeps only those, passing over the rest unread, instead of
//! allocating, copying and freeing them: callgrind put the full decode at over half of
//! the batch client's instructions a row. It reads the wire format from the received
//! slice itself: prost, decoding into these same messages and skipping what they do not
//! declare, still spent a quarter of the client's instructions a row in its varint and
//! skip routines, generic over any buffer. JSON Lines output writes the whole assessment
//! and decodes it whole.
//!
//! The messages also derive prost's decoding, under the contract's own tags: a property
//! test holds the walk to it, and another test encodes a full assessment and checks what
//! these read back, so a tag that drifts from `proto/leadcheck/v1/leadcheck.proto` fails.

use crate::pb;
use crate::rpc::walk::{each_field, text, Malformed, Value, WRONG_TYPE};

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

impl Assessment {
    /// Reads what CSV output writes from an encoded `LeadAssessment`.
    pub(super) fn read(bytes: &[u8]) -> Result<Assessment, Malformed> {
        let mut read = Assessment::default();
        each_field(bytes, |tag, value| {
            match (tag, value) {
                (1, Value::Delimited(b)) => read.request_id = text(b)?,
                (2, Value::Delimited(b)) => read.email = Some(EmailVerdict::read(b)?),
                (3, Value::Delimited(b)) => read.phone = Some(PhoneVerdict::read(b)?),
                (4, Value::Delimited(b)) => read.source = Some(LeadSource::read(b)?),
                // int32 and uint32 keep the low 32 bits, as prost does.
                (5, Value::Varint(v)) => read.quality = v as i32,
                (6, Value::Varint(v)) => read.score = v as u32,
                (9, Value::Delimited(b)) => read.dedup_key = text(b)?,
                (10, Value::Delimited(b)) => read.reasons.push(Code::read(b)?),
                (1..=6 | 9 | 10, _) => return Err(WRONG_TYPE),
                _ => {}
            }
            Ok(())
        })?;
        Ok(read)
    }
}

impl EmailVerdict {
    fn read(bytes: &[u8]) -> Result<EmailVerdict, Malformed> {
        let mut read = EmailVerdict::default();
        each_field(bytes, |tag, value| {
            match (tag, value) {
                (1, Value::Varint(v)) => read.validity = v as i32,
                (10, Value::Delimited(b)) => read.reasons.push(Code::read(b)?),
                (1 | 10, _) => return Err(WRONG_TYPE),
                _ => {}
            }
            Ok(())
        })?;
        Ok(read)
    }
}

impl PhoneVerdict {
    fn read(bytes: &[u8]) -> Result<PhoneVerdict, Malformed> {
        let mut read = PhoneVerdict::default();
        each_field(bytes, |tag, value| {
            match (tag, value) {
                (1, Value::Varint(v)) => read.validity = v as i32,
                (8, Value::Delimited(b)) => read.reasons.push(Code::read(b)?),
                (1 | 8, _) => return Err(WRONG_TYPE),
                _ => {}
            }
            Ok(())
        })?;
        Ok(read)
    }
}

impl LeadSource {
    fn read(bytes: &[u8]) -> Result<LeadSource, Malformed> {
        let mut read = LeadSource::default();
        each_field(bytes, |tag, value| {
            match (tag, value) {
                (6, Value::Delimited(b)) => read.reasons.push(Code::read(b)?),
                (6, _) => return Err(WRONG_TYPE),
                _ => {}
            }
            Ok(())
        })?;
        Ok(read)
    }
}

impl Code {
    fn read(bytes: &[u8]) -> Result<Code, Malformed> {
        let mut read = Code::default();
        each_field(bytes, |tag, value| {
            match (tag, value) {
                (1, Value::Delimited(b)) => read.code = text(b)?,
                (1, _) => return Err(WRONG_TYPE),
                _ => {}
            }
            Ok(())
        })?;
        Ok(read)
    }
}

/// The `AssessLeads` codec of CSV output: requests encoded by prost, answers read as
/// [`Assessment`] from the received bytes.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Codec;

impl tonic::codec::Codec for Codec {
    type Encode = pb::AssessLeadRequest;
    type Decode = Assessment;
    type Encoder = tonic_prost::ProstEncoder<pb::AssessLeadRequest>;
    type Decoder = Codec;

    fn encoder(&mut self) -> Self::Encoder {
        tonic_prost::ProstEncoder::default()
    }

    fn decoder(&mut self) -> Codec {
        Codec
    }
}

impl tonic::codec::Decoder for Codec {
    type Item = Assessment;
    type Error = tonic::Status;

    fn decode(
        &mut self,
        buf: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Assessment>, tonic::Status> {
        use prost::bytes::Buf;
        // The message whole, as one slice of the received buffer (not a copy).
        let bytes = buf.copy_to_bytes(buf.remaining());
        Assessment::read(&bytes)
            .map(Some)
            .map_err(|e| tonic::Status::internal(e.to_string()))
    }
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
    use proptest::prelude::*;
    use prost::Message;

    /// Text of a field: short and Unicode, or long enough that its length takes two bytes.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![3 => ".{0,12}", 1 => "[a-z]{120,140}"]
    }

    fn reasons() -> impl Strategy<Value = Vec<pb::Reason>> {
        prop::collection::vec(
            (text(), text()).prop_map(|(code, message)| pb::Reason { code, message }),
            0..4,
        )
    }

    /// Any answer the contract allows, as far as CSV output reads it and around it.
    fn answer() -> impl Strategy<Value = pb::LeadAssessment> {
        let email = (
            any::<i32>(),
            text(),
            prop::collection::vec(text(), 0..3),
            any::<bool>(),
            reasons(),
        )
            .prop_map(|(validity, normalized, mx_hosts, disposable, reasons)| {
                pb::EmailVerdict {
                    validity,
                    normalized,
                    mx_hosts,
                    disposable,
                    reasons,
                    ..Default::default()
                }
            });
        let phone = (any::<i32>(), text(), any::<u32>(), reasons()).prop_map(
            |(validity, e164, country_code, reasons)| pb::PhoneVerdict {
                validity,
                e164,
                country_code,
                reasons,
                ..Default::default()
            },
        );
        let source =
            (text(), any::<i32>(), reasons()).prop_map(|(raw, source, reasons)| pb::LeadSource {
                raw,
                source,
                reasons,
                ..Default::default()
            });
        let factors = prop::collection::vec(
            (text(), any::<i32>(), text()).prop_map(|(code, points, detail)| pb::ScoreFactor {
                code,
                points,
                detail,
            }),
            0..4,
        );
        (
            (text(), prop::option::of(email), prop::option::of(phone)),
            (
                prop::option::of(source),
                any::<i32>(),
                any::<u32>(),
                factors,
            ),
            (text(), text(), reasons()),
        )
            .prop_map(
                |(
                    (request_id, email, phone),
                    (source, quality, score, factors),
                    (model_version, dedup_key, reasons),
                )| pb::LeadAssessment {
                    request_id,
                    email,
                    phone,
                    source,
                    quality,
                    score,
                    factors,
                    model_version,
                    dedup_key,
                    reasons,
                },
            )
    }

    #[test]
    fn malformed_answers_are_refused_as_prost_refuses_them() {
        let mut past_64_bits = vec![0x28]; // quality, a varint
        past_64_bits.extend([0xff; 9]);
        past_64_bits.push(0x02);
        for (bytes, what) in [
            (past_64_bits, "a varint past 64 bits"),
            (vec![0x28, 0x80], "a varint cut short"),
            (vec![0x0a, 0x05, b'a'], "a string cut short"),
            (vec![0x0a, 0x02, 0xc3, 0x28], "a string not UTF-8"),
            (vec![0x08, 0x01], "tag 1, the request id, as a varint"),
            (vec![0x00, 0x01], "tag 0"),
            (
                vec![0x12, 0x02, 0x0a, 0x00],
                "the email's validity as a string",
            ),
        ] {
            assert!(
                Assessment::decode(bytes.as_slice()).is_err(),
                "prost: {what}"
            );
            assert!(Assessment::read(&bytes).is_err(), "{what}");
        }
        // What the view does not declare is passed over, whatever its type.
        let unknown = [0x78, 0x05, 0x79, 1, 2, 3, 4, 5, 6, 7, 8, 0x7d, 1, 2, 3, 4];
        assert_eq!(Assessment::read(&unknown), Ok(Assessment::default()));
    }

    proptest! {
        #[test]
        fn the_walk_reads_any_answer_as_prost_does(answer in answer()) {
            let bytes = answer.encode_to_vec();
            let prosts = Assessment::decode(bytes.as_slice());
            prop_assert!(prosts.is_ok());
            prop_assert_eq!(Assessment::read(&bytes).ok(), prosts.ok());
        }

        #[test]
        fn the_walk_accepts_no_bytes_prost_refuses(
            bytes in prop_oneof![
                prop::collection::vec(any::<u8>(), 0..64),
                (answer(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(a, at, b)| {
                    // A real answer with one byte changed.
                    let mut bytes = a.encode_to_vec();
                    if !bytes.is_empty() {
                        let i = at.index(bytes.len());
                        bytes[i] = b;
                    }
                    bytes
                }),
                (answer(), any::<prop::sample::Index>()).prop_map(|(a, at)| {
                    // A real answer cut short.
                    let mut bytes = a.encode_to_vec();
                    bytes.truncate(at.index(bytes.len() + 1));
                    bytes
                }),
            ],
        ) {
            if let Ok(read) = Assessment::read(&bytes) {
                prop_assert_eq!(Some(read), Assessment::decode(bytes.as_slice()).ok());
            }
        }
    }

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
        let view = Assessment::read(&full.encode_to_vec())
            .unwrap_or_else(|e| panic!("the view reads a LeadAssessment: {e}"));
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
