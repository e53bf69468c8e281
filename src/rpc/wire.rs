//! The server's `LeadAssessment` on the wire: encoded once, by the task that assessed the
//! lead, straight from the domain [`Assessment`].
//!
//! The generic route converted the assessment to the prost message, which copies every
//! reason and factor code into a `String`, then encoded it on the connection's task and
//! freed it there, away from the thread that had allocated it. Under callgrind that was
//! about a fifth of a warm streamed lead's instructions and a fifth of its allocations
//! (BENCHMARKS.md, twelfth session). [`EncodedAssessment`] writes the same bytes prost
//! writes for [`convert::assessment_to_pb`](super::convert::assessment_to_pb) (fields in
//! tag order, proto3 defaults left out), into one buffer of the exact size; a property
//! test holds the two together.
//!
//! Only the server uses it: its stubs are generated a second time with this type as the
//! response of `AssessLead` and `AssessLeads` (build.rs). Clients, the CLI and the tests
//! decode into [`pb::LeadAssessment`].

use std::fmt;

use prost::bytes::{Buf, BufMut};
use prost::encoding::{encoded_len_varint, key_len, skip_field, DecodeContext, WireType};
use prost::DecodeError;

use super::convert;
use crate::lead::score::Factor;
use crate::lead::source::LeadSource;
use crate::lead::Assessment;
use crate::reason::Reason;
use crate::{email, pb, phone};

/// The server's stubs, `LeadCheck` answering with [`EncodedAssessment`].
#[allow(missing_docs, clippy::all)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/wire/leadcheck.v1.rs"));
}
pub use generated::lead_check_server;

/// A `leadcheck.v1.LeadAssessment`, already encoded.
///
/// It is only ever sent: decoding one skips every field, and leaves it empty. Its `Debug`
/// form gives its length alone, since the bytes hold the lead's contact data.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EncodedAssessment(Vec<u8>);

impl EncodedAssessment {
    /// Encodes an assessment, echoing the request id.
    pub fn new(request_id: &str, assessment: &Assessment) -> EncodedAssessment {
        let message = Top {
            request_id,
            assessment,
        };
        let len = len_of(&message);
        let mut bytes = Vec::with_capacity(len);
        message.fields(&mut Writer(&mut bytes));
        debug_assert_eq!(bytes.len(), len);
        EncodedAssessment(bytes)
    }

    /// Encodes a message built by hand (a rejected lead's).
    pub fn of_message(message: &pb::LeadAssessment) -> EncodedAssessment {
        EncodedAssessment(prost::Message::encode_to_vec(message))
    }

    /// The message's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for EncodedAssessment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncodedAssessment({} bytes)", self.0.len())
    }
}

impl prost::Message for EncodedAssessment {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.0);
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        skip_field(wire_type, tag, buf, ctx)
    }

    fn encoded_len(&self) -> usize {
        self.0.len()
    }

    fn clear(&mut self) {
        self.0.clear();
    }
}

/// Where a message's fields go: a [`Sizer`] counts their bytes, a [`Writer`] writes them.
/// Each message lists its fields once, in [`Fields::fields`], for both.
trait Sink {
    /// A length-delimited field, written even when empty (an element of a repeated
    /// field, or a present message).
    fn delimited(&mut self, tag: u32, value: &[u8]);
    /// A varint field, written even when zero.
    fn varint(&mut self, tag: u32, value: u64);
    /// A message field: its length, then its fields.
    fn message(&mut self, tag: u32, message: &impl Fields);

    /// A singular string: left out when empty, as proto3 does.
    fn string(&mut self, tag: u32, value: &str) {
        if !value.is_empty() {
            self.delimited(tag, value.as_bytes());
        }
    }

    /// A singular unsigned integer, bool or enum: left out when zero.
    fn uint(&mut self, tag: u32, value: u64) {
        if value != 0 {
            self.varint(tag, value);
        }
    }

    /// A singular enum: an `int32`, sign-extended as prost does (the contract's values
    /// are never negative).
    fn enumeration(&mut self, tag: u32, value: i32) {
        self.uint(tag, i64::from(value) as u64);
    }

    /// A singular `sint32`: zigzag-encoded, left out when zero.
    fn sint32(&mut self, tag: u32, value: i32) {
        self.uint(tag, u64::from(((value << 1) ^ (value >> 31)) as u32));
    }

    /// A repeated message field.
    fn messages<'m, M: Fields + 'm>(
        &mut self,
        tag: u32,
        messages: impl IntoIterator<Item = &'m M>,
    ) {
        for message in messages {
            self.message(tag, message);
        }
    }
}

/// A message of the contract, as it lists its fields.
trait Fields {
    fn fields(&self, sink: &mut impl Sink);
}

/// The bytes of a message's fields.
fn len_of(message: &impl Fields) -> usize {
    let mut sizer = Sizer(0);
    message.fields(&mut sizer);
    sizer.0
}

/// Counts the bytes of the fields it is given.
struct Sizer(usize);

impl Sizer {
    /// A length-delimited field of `len` bytes.
    fn add_delimited(&mut self, tag: u32, len: usize) {
        self.0 += key_len(tag) + encoded_len_varint(len as u64) + len;
    }
}

impl Sink for Sizer {
    fn delimited(&mut self, tag: u32, value: &[u8]) {
        self.add_delimited(tag, value.len());
    }

    fn varint(&mut self, tag: u32, value: u64) {
        self.0 += key_len(tag) + encoded_len_varint(value);
    }

    fn message(&mut self, tag: u32, message: &impl Fields) {
        self.add_delimited(tag, len_of(message));
    }
}

/// Writes the fields it is given.
struct Writer<'b>(&'b mut Vec<u8>);

impl Writer<'_> {
    fn key(&mut self, tag: u32, wire_type: WireType) {
        self.varint_value(u64::from(tag << 3 | wire_type as u32));
    }

    /// A varint, byte by byte into the buffer: nearly all of a lead's are one byte long,
    /// and prost's `encode_varint`, generic over `BufMut`, was a third of the encoding's
    /// instructions (callgrind).
    fn varint_value(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.0.push(value as u8 | 0x80);
            value >>= 7;
        }
        self.0.push(value as u8);
    }
}

impl Sink for Writer<'_> {
    fn delimited(&mut self, tag: u32, value: &[u8]) {
        self.key(tag, WireType::LengthDelimited);
        self.varint_value(value.len() as u64);
        self.0.extend_from_slice(value);
    }

    fn varint(&mut self, tag: u32, value: u64) {
        self.key(tag, WireType::Varint);
        self.varint_value(value);
    }

    fn message(&mut self, tag: u32, message: &impl Fields) {
        self.key(tag, WireType::LengthDelimited);
        self.varint_value(len_of(message) as u64);
        message.fields(self);
    }
}

/// `LeadAssessment`, as [`convert::assessment_to_pb`] fills it.
struct Top<'a> {
    request_id: &'a str,
    assessment: &'a Assessment,
}

impl Fields for Top<'_> {
    fn fields(&self, sink: &mut impl Sink) {
        let a = self.assessment;
        sink.string(1, self.request_id);
        sink.message(2, &a.email);
        sink.message(3, &a.phone);
        sink.message(4, &a.source);
        sink.enumeration(5, convert::quality_to_pb(a.score.quality) as i32);
        sink.uint(6, u64::from(a.score.score));
        sink.messages(7, &a.score.factors);
        sink.string(8, &a.model_version);
        sink.string(9, &a.dedup_key);
        // 10, the lead's own reasons, is only a rejected lead's.
    }
}

impl Fields for email::Verdict {
    fn fields(&self, sink: &mut impl Sink) {
        sink.enumeration(1, convert::email_validity_to_pb(self.validity) as i32);
        sink.string(2, &self.normalized);
        sink.string(3, &self.domain);
        for host in &self.mx_hosts {
            sink.delimited(4, host.as_bytes());
        }
        sink.uint(5, u64::from(self.disposable));
        sink.uint(6, u64::from(self.free_provider));
        sink.uint(7, u64::from(self.role_account));
        sink.uint(8, u64::from(self.catch_all));
        sink.string(9, self.suggestion.as_deref().unwrap_or_default());
        sink.messages(10, &self.reasons);
        sink.uint(11, u64::from(self.smtp_accepted));
    }
}

impl Fields for phone::Verdict {
    fn fields(&self, sink: &mut impl Sink) {
        sink.enumeration(1, convert::phone_validity_to_pb(self.validity) as i32);
        sink.string(2, &self.e164);
        sink.string(3, &self.region);
        sink.uint(4, u64::from(self.country_code));
        let number_type = self
            .number_type
            .map_or(pb::PhoneNumberType::Unspecified, convert::number_type_to_pb);
        sink.enumeration(5, number_type as i32);
        sink.string(6, &self.international);
        sink.string(7, &self.national);
        sink.messages(8, &self.reasons);
    }
}

impl Fields for LeadSource {
    fn fields(&self, sink: &mut impl Sink) {
        sink.string(1, &self.raw);
        sink.enumeration(2, convert::source_kind_to_pb(self.source) as i32);
        sink.enumeration(3, convert::action_to_pb(self.action) as i32);
        sink.string(4, &self.publisher_id);
        sink.string(5, &self.offer_id);
        sink.messages(6, &self.reasons);
    }
}

impl Fields for Factor {
    fn fields(&self, sink: &mut impl Sink) {
        sink.string(1, self.code);
        sink.sint32(2, self.points);
        sink.string(3, &self.detail);
    }
}

impl Fields for Reason {
    fn fields(&self, sink: &mut impl Sink) {
        sink.string(1, self.code);
        sink.string(2, &self.message);
    }
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
