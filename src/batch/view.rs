//! What CSV output reads of an answer, read in place: a hand-written reader beside
//! prost's decoding, which the load benchmark keeps (BENCHMARKS.md, "Design decisions
//! settled by measurement").
//!
//! A `LeadAssessment` holds about 37 strings: reason messages, factor details, formats.
//! CSV output writes five fields and the reason codes. [`Answer::read`] walks the
//! answer's bytes and keeps only those, passing over the rest unread, instead of
//! allocating, copying and freeing them all as prost's decoding does. JSON Lines output
//! writes the whole assessment and decodes it whole.
//!
//! Its field numbers are generated from the contract's descriptor set (build.rs,
//! [`pb::tags`]). Property tests hold the walk to prost's decoding of the whole
//! `LeadAssessment`, on any answer and on damaged ones.

use std::ops::Range;

use prost::bytes::Bytes;

use crate::pb;
use crate::pb::tags;
use crate::rpc::walk::{each_field, Malformed, Value, WRONG_TYPE};

/// Which verdict a reason belongs to, in the order the reasons column writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Channel {
    Email,
    Phone,
    Source,
    Lead,
}

impl Channel {
    /// The prefix the reasons column writes a code of this channel with.
    pub(super) fn prefix(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Phone => "phone",
            Channel::Source => "source",
            Channel::Lead => "lead",
        }
    }
}

/// `LeadAssessment`, as far as CSV output writes it, read in place: its text fields are
/// spans of the received bytes (checked UTF-8), not strings of their own, which would
/// be allocated, copied and freed once written.
#[derive(Debug, Clone, Default)]
pub(super) struct Answer {
    bytes: Bytes,
    request_id: Range<usize>,
    dedup_key: Range<usize>,
    /// Each verdict's validity; None when the answer has no such verdict.
    email: Option<i32>,
    phone: Option<i32>,
    quality: i32,
    score: u32,
    /// The reason codes, by channel (in the column's order), then in the answer's order.
    codes: Vec<(Channel, Range<usize>)>,
}

impl Answer {
    /// Reads what CSV output writes from an encoded `LeadAssessment`, as prost decodes it:
    /// a string is its last occurrence, a message every occurrence merged.
    pub(super) fn read(bytes: Bytes) -> Result<Answer, Malformed> {
        let mut read = Answer::default();
        let base = bytes.as_ptr() as usize;
        let span = |b: &[u8]| -> Result<Range<usize>, Malformed> {
            std::str::from_utf8(b).map_err(|_| Malformed::NOT_UTF8)?;
            let start = b.as_ptr() as usize - base;
            Ok(start..start + b.len())
        };
        use tags::lead_assessment as tag;
        each_field(&bytes, |t, value| {
            match (t, value) {
                (tag::REQUEST_ID, Value::Delimited(b)) => read.request_id = span(b)?,
                (tag::EMAIL, Value::Delimited(b)) => {
                    let validity = read.email.unwrap_or(0);
                    read.email = Some(verdict(
                        b,
                        Some(tags::email_verdict::VALIDITY),
                        tags::email_verdict::REASONS,
                        validity,
                        Channel::Email,
                        &mut read.codes,
                        span,
                    )?);
                }
                (tag::PHONE, Value::Delimited(b)) => {
                    let validity = read.phone.unwrap_or(0);
                    read.phone = Some(verdict(
                        b,
                        Some(tags::phone_verdict::VALIDITY),
                        tags::phone_verdict::REASONS,
                        validity,
                        Channel::Phone,
                        &mut read.codes,
                        span,
                    )?);
                }
                (tag::SOURCE, Value::Delimited(b)) => {
                    let reasons = tags::lead_source::REASONS;
                    verdict(b, None, reasons, 0, Channel::Source, &mut read.codes, span)?;
                }
                // int32 and uint32 keep the low 32 bits, as prost does.
                (tag::QUALITY, Value::Varint(v)) => read.quality = v as i32,
                (tag::SCORE, Value::Varint(v)) => read.score = v as u32,
                (tag::DEDUP_KEY, Value::Delimited(b)) => read.dedup_key = span(b)?,
                (tag::REASONS, Value::Delimited(b)) => {
                    read.codes.push((Channel::Lead, code(b, span)?));
                }
                (
                    tag::REQUEST_ID
                    | tag::EMAIL
                    | tag::PHONE
                    | tag::SOURCE
                    | tag::QUALITY
                    | tag::SCORE
                    | tag::DEDUP_KEY
                    | tag::REASONS,
                    _,
                ) => return Err(WRONG_TYPE),
                _ => {}
            }
            Ok(())
        })?;
        // The column's order: by channel, each channel's codes as they came. Already so
        // for any answer written in tag order, as every encoder writes them.
        if !read.codes.is_sorted_by_key(|(channel, _)| *channel) {
            read.codes.sort_by_key(|(channel, _)| *channel);
        }
        read.bytes = bytes;
        Ok(read)
    }

    /// The request id it echoes.
    pub(super) fn request_id(&self) -> &[u8] {
        &self.bytes[self.request_id.clone()]
    }

    /// The dedup key.
    pub(super) fn dedup_key(&self) -> &[u8] {
        &self.bytes[self.dedup_key.clone()]
    }

    /// The email verdict's validity, the phone verdict's (None for no verdict), the
    /// quality and the score.
    pub(super) fn email(&self) -> Option<i32> {
        self.email
    }

    pub(super) fn phone(&self) -> Option<i32> {
        self.phone
    }

    pub(super) fn quality(&self) -> i32 {
        self.quality
    }

    pub(super) fn score(&self) -> u32 {
        self.score
    }

    /// The reason codes with their channels, in the reasons column's order.
    pub(super) fn codes(&self) -> impl Iterator<Item = (Channel, &[u8])> {
        self.codes
            .iter()
            .map(|(channel, span)| (*channel, &self.bytes[span.clone()]))
    }
}

/// Reads a verdict (`EmailVerdict`, `PhoneVerdict` or `LeadSource`): its validity (the
/// field numbered `validity_tag`, for all but the source), merged over `validity`, and
/// its reason codes (under `reasons`), added to `codes`.
fn verdict<'a>(
    bytes: &'a [u8],
    validity_tag: Option<u32>,
    reasons: u32,
    mut validity: i32,
    channel: Channel,
    codes: &mut Vec<(Channel, Range<usize>)>,
    span: impl Fn(&'a [u8]) -> Result<Range<usize>, Malformed> + Copy,
) -> Result<i32, Malformed> {
    each_field(bytes, |tag, value| {
        let is_validity = Some(tag) == validity_tag;
        match value {
            Value::Varint(v) if is_validity => validity = v as i32,
            Value::Delimited(b) if tag == reasons => codes.push((channel, code(b, span)?)),
            _ if is_validity || tag == reasons => return Err(WRONG_TYPE),
            _ => {}
        }
        Ok(())
    })?;
    Ok(validity)
}

/// A `Reason`'s code, as a span; its message passed over.
fn code<'a>(
    bytes: &'a [u8],
    span: impl Fn(&'a [u8]) -> Result<Range<usize>, Malformed>,
) -> Result<Range<usize>, Malformed> {
    let mut code = None;
    each_field(bytes, |tag, value| {
        match (tag, value) {
            (tags::reason::CODE, Value::Delimited(b)) => code = Some(span(b)?),
            (tags::reason::CODE, _) => return Err(WRONG_TYPE),
            _ => {}
        }
        Ok(())
    })?;
    // No code: empty, as prost leaves it.
    Ok(code.unwrap_or(0..0))
}

/// The `AssessLeads` codec of CSV output: requests sent as the bytes the reader encoded
/// them to, answers read as [`Answer`]s from the received bytes.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Codec;

impl tonic::codec::Codec for Codec {
    type Encode = Bytes;
    type Decode = Answer;
    type Encoder = Encoded;
    type Decoder = Codec;

    fn encoder(&mut self) -> Encoded {
        Encoded
    }

    fn decoder(&mut self) -> Codec {
        Codec
    }
}

impl tonic::codec::Decoder for Codec {
    type Item = Answer;
    type Error = tonic::Status;

    fn decode(
        &mut self,
        buf: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Answer>, tonic::Status> {
        use prost::bytes::Buf;
        // The message copied out of the received buffer: an answer waits to be written
        // for a whole chunk, and a slice of the buffer would keep it from being reused,
        // each refill a new allocation and a copy of the rest, which cost more than the
        // copy.
        let len = buf.remaining();
        let bytes = if buf.chunk().len() == len {
            let bytes = Bytes::copy_from_slice(buf.chunk());
            buf.advance(len);
            bytes
        } else {
            buf.copy_to_bytes(len)
        };
        Answer::read(bytes)
            .map(Some)
            .map_err(|e| tonic::Status::internal(e.to_string()))
    }
}

/// The `AssessLeads` codec of JSON Lines output: requests sent as their bytes, answers
/// decoded whole, by prost.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Whole;

impl tonic::codec::Codec for Whole {
    type Encode = Bytes;
    type Decode = pb::LeadAssessment;
    type Encoder = Encoded;
    type Decoder = tonic_prost::ProstDecoder<pb::LeadAssessment>;

    fn encoder(&mut self) -> Encoded {
        Encoded
    }

    fn decoder(&mut self) -> Self::Decoder {
        tonic_prost::ProstDecoder::default()
    }
}

/// Sends a message already encoded: its bytes as they are.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Encoded;

impl tonic::codec::Encoder for Encoded {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(
        &mut self,
        item: Bytes,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        use prost::bytes::BufMut;
        dst.put(item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Answer, Channel};
    use crate::pb;
    use proptest::prelude::*;
    use prost::bytes::Bytes;
    use prost::Message;

    /// The oracle of damaged answers: what CSV output reads, declared as prost messages
    /// and decoded by prost, which skips what they do not declare (as the view passes
    /// over what it does not read). Its tags are held to the contract's by
    /// `the_walk_reads_any_answer_as_prost_does`.
    #[derive(Clone, PartialEq, prost::Message)]
    struct Oracle {
        #[prost(string, tag = "1")]
        request_id: String,
        #[prost(message, optional, tag = "2")]
        email: Option<Verdict>,
        #[prost(message, optional, tag = "3")]
        phone: Option<PhoneOracle>,
        #[prost(message, optional, tag = "4")]
        source: Option<SourceOracle>,
        #[prost(int32, tag = "5")]
        quality: i32,
        #[prost(uint32, tag = "6")]
        score: u32,
        #[prost(string, tag = "9")]
        dedup_key: String,
        #[prost(message, repeated, tag = "10")]
        reasons: Vec<Code>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    struct Verdict {
        #[prost(int32, tag = "1")]
        validity: i32,
        #[prost(message, repeated, tag = "10")]
        reasons: Vec<Code>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    struct PhoneOracle {
        #[prost(int32, tag = "1")]
        validity: i32,
        #[prost(message, repeated, tag = "8")]
        reasons: Vec<Code>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    struct SourceOracle {
        #[prost(message, repeated, tag = "6")]
        reasons: Vec<Code>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    struct Code {
        #[prost(string, tag = "1")]
        code: String,
    }

    /// What the view read, in the oracle's terms.
    type Read = (
        String,
        Option<i32>,
        Option<i32>,
        i32,
        u32,
        String,
        Vec<(Channel, String)>,
    );

    fn read_of(a: &Answer) -> Read {
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).expect("checked UTF-8");
        (
            text(a.request_id()),
            a.email(),
            a.phone(),
            a.quality(),
            a.score(),
            text(a.dedup_key()),
            a.codes().map(|(c, code)| (c, text(code))).collect(),
        )
    }

    fn oracle_of(o: &Oracle) -> Read {
        let reasons = |codes: &[Code]| -> Vec<pb::Reason> {
            codes
                .iter()
                .map(|c| pb::Reason {
                    code: c.code.clone(),
                    message: String::new(),
                })
                .collect()
        };
        whole_of(&pb::LeadAssessment {
            request_id: o.request_id.clone(),
            email: o.email.as_ref().map(|e| pb::EmailVerdict {
                validity: e.validity,
                reasons: reasons(&e.reasons),
                ..Default::default()
            }),
            phone: o.phone.as_ref().map(|p| pb::PhoneVerdict {
                validity: p.validity,
                reasons: reasons(&p.reasons),
                ..Default::default()
            }),
            source: o.source.as_ref().map(|s| pb::LeadSource {
                reasons: reasons(&s.reasons),
                ..Default::default()
            }),
            quality: o.quality,
            score: o.score,
            dedup_key: o.dedup_key.clone(),
            reasons: reasons(&o.reasons),
            ..Default::default()
        })
    }

    /// What the view must read of an answer, from the contract's own message.
    fn whole_of(a: &pb::LeadAssessment) -> Read {
        let codes = |channel: Channel, reasons: &[pb::Reason]| {
            reasons
                .iter()
                .map(|r| (channel, r.code.clone()))
                .collect::<Vec<_>>()
        };
        let mut all = Vec::new();
        all.extend(codes(
            Channel::Email,
            a.email.as_ref().map_or(&[], |e| &e.reasons),
        ));
        all.extend(codes(
            Channel::Phone,
            a.phone.as_ref().map_or(&[], |p| &p.reasons),
        ));
        all.extend(codes(
            Channel::Source,
            a.source.as_ref().map_or(&[], |s| &s.reasons),
        ));
        all.extend(codes(Channel::Lead, &a.reasons));
        (
            a.request_id.clone(),
            a.email.as_ref().map(|e| e.validity),
            a.phone.as_ref().map(|p| p.validity),
            a.quality,
            a.score,
            a.dedup_key.clone(),
            all,
        )
    }

    fn read(bytes: &[u8]) -> Result<Read, super::Malformed> {
        Answer::read(Bytes::copy_from_slice(bytes)).map(|a| read_of(&a))
    }

    fn oracle(bytes: &[u8]) -> Option<Read> {
        Oracle::decode(bytes).ok().map(|o| oracle_of(&o))
    }

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
                    ..Default::default()
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
            (
                vec![0x52, 0x04, 0x0a, 0x02, 0xc3, 0x28],
                "a reason code not UTF-8",
            ),
        ] {
            assert!(oracle(&bytes).is_none(), "prost: {what}");
            assert!(read(&bytes).is_err(), "{what}");
        }
        // What the view does not declare is passed over, whatever its type.
        let unknown = [0x78, 0x05, 0x79, 1, 2, 3, 4, 5, 6, 7, 8, 0x7d, 1, 2, 3, 4];
        assert_eq!(read(&unknown), Ok(oracle_of(&Oracle::default())));
    }

    /// A verdict given twice is merged, as prost merges it: the later validity, the
    /// reasons of both; the column's order stays by channel whatever the fields' order.
    #[test]
    fn repeated_verdicts_merge_as_prost_merges_them() {
        let email = |validity: i32, code: &str| pb::LeadAssessment {
            email: Some(pb::EmailVerdict {
                validity,
                reasons: vec![pb::Reason {
                    code: code.into(),
                    message: String::new(),
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        let lead = pb::LeadAssessment {
            reasons: vec![pb::Reason {
                code: "lead.first".into(),
                message: String::new(),
            }],
            ..Default::default()
        };
        let mut bytes = lead.encode_to_vec();
        bytes.extend(email(2, "dns.nxdomain").encode_to_vec());
        bytes.extend(email(0, "flag.role").encode_to_vec());
        let read = read(&bytes).expect("reads");
        assert_eq!(Some(read.clone()), oracle(&bytes));
        assert_eq!(
            read.1,
            Some(2),
            "the later verdict had no validity: the first stands"
        );
        assert_eq!(
            read.6,
            [
                (Channel::Email, "dns.nxdomain".to_string()),
                (Channel::Email, "flag.role".to_string()),
                (Channel::Lead, "lead.first".to_string()),
            ]
        );
    }

    proptest! {
        #[test]
        fn the_walk_reads_any_answer_as_prost_does(answer in answer()) {
            let bytes = answer.encode_to_vec();
            let whole = Some(whole_of(&answer));
            prop_assert_eq!(read(&bytes).ok(), whole.clone());
            // The oracle of damaged answers reads the contract's message as it is.
            prop_assert_eq!(oracle(&bytes), whole);
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
                (answer(), answer()).prop_map(|(a, b)| {
                    // Two answers end to end: every field given twice.
                    let mut bytes = a.encode_to_vec();
                    bytes.extend(b.encode_to_vec());
                    bytes
                }),
            ],
        ) {
            if let Ok(read) = read(&bytes) {
                prop_assert_eq!(Some(read), oracle(&bytes));
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
            ..Default::default()
        };
        let view = Answer::read(full.encode_to_vec().into())
            .unwrap_or_else(|e| panic!("the view reads a LeadAssessment: {e}"));
        let (request_id, email, phone, quality, score, dedup_key, codes) = read_of(&view);
        assert_eq!(request_id, "42");
        assert_eq!(email, Some(pb::EmailValidity::Spam as i32));
        assert_eq!(phone, Some(pb::PhoneValidity::Invalid as i32));
        assert_eq!(quality, pb::LeadQuality::Low as i32);
        assert_eq!(score, 37);
        assert_eq!(dedup_key, "email:ana@example.com");
        let codes: Vec<String> = codes
            .into_iter()
            .map(|(channel, code)| format!("{}:{code}", channel.prefix()))
            .collect();
        assert_eq!(
            codes,
            [
                "email:dns.mx",
                "email:flag.disposable",
                "phone:phone.invalid",
                "source:source.unknown_source",
                "lead:request.field_too_long"
            ]
        );
        // No verdicts: none read.
        let bare =
            Answer::read(pb::LeadAssessment::default().encode_to_vec().into()).expect("reads");
        assert_eq!((bare.email(), bare.phone()), (None, None));
    }
}
