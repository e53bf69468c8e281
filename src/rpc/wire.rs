//! The server's `LeadAssessment` on the wire: a hand-written protobuf encoder beside
//! prost's, which the load benchmark keeps (BENCHMARKS.md, "Design decisions settled by
//! measurement").
//!
//! The answer is encoded once, by the task that assessed the lead, straight from the
//! domain [`Assessment`]. prost's route converts the assessment to its message first,
//! copying every reason and factor code into a `String`, then sizes and encodes it on the
//! connection's task and frees it there, away from the thread that allocated it.
//! [`EncodedAssessment`] writes the same bytes prost writes for
//! [`convert::assessment_to_pb`](super::convert::assessment_to_pb) (fields in tag order,
//! proto3 defaults left out) into one buffer, in one pass.
//!
//! Its field numbers are generated from the contract's descriptor set (build.rs), so a
//! renumbered field follows the proto. Tests hold it to prost's bytes on any assessment,
//! and check over the descriptor that every field of `LeadAssessment` and of the
//! messages in it that `assessment_to_pb` sets is written here: a field added to the
//! proto fails them until it is.
//!
//! Only the server uses it: its stubs are generated a second time with this type as the
//! response of `AssessLead` and `AssessLeads` (build.rs). Clients, the CLI and the tests
//! decode into [`pb::LeadAssessment`].

use std::fmt;

use prost::bytes::{Buf, BufMut};
use prost::encoding::{encoded_len_varint, skip_field, DecodeContext, WireType};
use prost::DecodeError;

use super::convert;
use crate::lead::score::Factor;
use crate::lead::source::LeadSource;
use crate::lead::Assessment;
use crate::pb::tags;
use crate::reason::Reason;
use crate::{email, pb, phone};

/// The server's stubs, `LeadCheck` answering with [`EncodedAssessment`].
#[allow(missing_docs, clippy::all)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/wire/leadcheck.v1.rs"));
}
pub use generated::lead_check_server;

/// The server stubs' codec: prost's, with an encode buffer sized for a stream's batches.
///
/// tonic gathers a stream's encoded answers in one buffer until they reach the yield
/// threshold, then sends them as one chunk. By default the buffer starts at 8 KiB and the
/// threshold is 32 KiB, so every chunk grew the buffer two or three times, each a
/// reallocation that copies what it holds. Here the threshold is below the buffer's
/// size, with room for a last answer, so the buffer never grows for the answers of this
/// contract. A unary answer is written into the same buffer, allocated once per call as
/// the 8 KiB were: 14 KiB is jemalloc's largest small size, served from its thread cache
/// (a 16 KiB buffer went to its page allocator each time).
#[derive(Debug)]
pub struct Codec<T, U>(std::marker::PhantomData<fn(T) -> U>);

impl<T, U> Default for Codec<T, U> {
    fn default() -> Self {
        Codec(std::marker::PhantomData)
    }
}

/// The encode buffer's size and the stream's yield threshold: a chunk is sent once it
/// holds 10 KiB, and an answer under 4 KiB (a lead's is about one) still fits after
/// that.
const ENCODE_BUFFER: usize = 14 * 1024;
const YIELD_THRESHOLD: usize = 10 * 1024;

impl<T, U> tonic::codec::Codec for Codec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = tonic_prost::ProstEncoder<T>;
    type Decoder = tonic_prost::ProstDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        let settings = tonic::codec::BufferSettings::new(ENCODE_BUFFER, YIELD_THRESHOLD);
        tonic_prost::ProstEncoder::new(settings)
    }

    fn decoder(&mut self) -> Self::Decoder {
        tonic_prost::ProstDecoder::default()
    }
}

/// A `leadcheck.v1.LeadAssessment`, already encoded.
///
/// It is only ever sent: decoding one skips every field, and leaves it empty. Its `Debug`
/// form gives its length alone, since the bytes hold the lead's contact data.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EncodedAssessment(Vec<u8>);

/// The buffer an answer is written into first: a lead's answer is about a kilobyte. A
/// longer one grows it.
const TYPICAL_LEN: usize = 1024;

impl EncodedAssessment {
    /// Encodes an assessment, echoing the request id.
    pub fn new(request_id: &str, assessment: &Assessment) -> EncodedAssessment {
        let message = Top {
            request_id,
            assessment,
        };
        let mut bytes = Vec::with_capacity(TYPICAL_LEN);
        message.fields(&mut Writer(&mut bytes));
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

/// Writes a message's fields into its buffer, in one pass.
///
/// A nested message is written after a one-byte length, which is set once its fields are
/// written; when the length needs more bytes (128 or over), the fields move up to make
/// room. Sizing each message first, as prost does, walks every nested message once per
/// level above it (a reason three times) before writing it; the few moves, each of a
/// message under a kilobyte, cost far less.
struct Writer<'b>(&'b mut Vec<u8>);

impl Writer<'_> {
    fn key(&mut self, tag: u32, wire_type: WireType) {
        self.varint_value(u64::from(tag << 3 | wire_type as u32));
    }

    /// A varint, byte by byte into the buffer: nearly all of a lead's are one byte long,
    /// and prost's `encode_varint` is generic over `BufMut`.
    fn varint_value(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.0.push(value as u8 | 0x80);
            value >>= 7;
        }
        self.0.push(value as u8);
    }

    /// A length-delimited field, written even when empty (an element of a repeated
    /// field, or a present message).
    fn delimited(&mut self, tag: u32, value: &[u8]) {
        self.key(tag, WireType::LengthDelimited);
        self.varint_value(value.len() as u64);
        self.0.extend_from_slice(value);
    }

    /// A varint field, written even when zero.
    fn varint(&mut self, tag: u32, value: u64) {
        self.key(tag, WireType::Varint);
        self.varint_value(value);
    }

    /// A message field: its length, then its fields.
    fn message(&mut self, tag: u32, message: &impl Fields) {
        self.key(tag, WireType::LengthDelimited);
        let at = self.0.len();
        self.0.push(0);
        message.fields(self);
        let len = self.0.len() - at - 1;
        if len < 0x80 {
            self.0[at] = len as u8;
            return;
        }
        let extra = encoded_len_varint(len as u64) - 1;
        self.0.resize(self.0.len() + extra, 0);
        self.0.copy_within(at + 1..at + 1 + len, at + 1 + extra);
        let mut value = len as u64;
        for byte in &mut self.0[at..at + extra] {
            *byte = value as u8 | 0x80;
            value >>= 7;
        }
        self.0[at + extra] = value as u8;
    }

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
    fn fields(&self, out: &mut Writer<'_>);
}

/// `LeadAssessment`, as [`convert::assessment_to_pb`] fills it.
struct Top<'a> {
    request_id: &'a str,
    assessment: &'a Assessment,
}

impl Fields for Top<'_> {
    fn fields(&self, out: &mut Writer<'_>) {
        use tags::lead_assessment as tag;
        let a = self.assessment;
        out.string(tag::REQUEST_ID, self.request_id);
        out.message(tag::EMAIL, &a.email);
        out.message(tag::PHONE, &*a.phone);
        out.message(tag::SOURCE, &*a.source);
        out.enumeration(tag::QUALITY, convert::quality_to_pb(a.score.quality) as i32);
        out.uint(tag::SCORE, u64::from(a.score.score));
        out.messages(tag::FACTORS, &a.score.factors);
        out.string(tag::MODEL_VERSION, &a.model_version);
        out.string(tag::DEDUP_KEY, &a.dedup_key);
        // `reasons`, the lead's own, is only a rejected lead's.
        out.message(tag::ASSESSED_AT, &Time(a.assessed_at));
        out.string(tag::GRADE, a.score.grade.as_str());
        for factor in a.score.top_reasons() {
            out.message(tag::TOP_REASONS, factor);
        }
        if let Some(window) = &a.call_window {
            out.message(tag::CALL_WINDOW, window);
        }
    }
}

/// A `google.protobuf.Timestamp`, as [`convert::time_to_pb`] makes it.
struct Time(std::time::SystemTime);

impl Fields for Time {
    fn fields(&self, out: &mut Writer<'_>) {
        // The well-known type's field numbers: `int64 seconds = 1; int32 nanos = 2;`.
        const SECONDS: u32 = 1;
        const NANOS: u32 = 2;
        let ts = convert::time_to_pb(self.0);
        // int64 and int32 go as their two's complement, sign-extended, as prost writes.
        out.uint(SECONDS, ts.seconds as u64);
        out.uint(NANOS, i64::from(ts.nanos) as u64);
    }
}

impl Fields for phone::window::CallWindow {
    fn fields(&self, out: &mut Writer<'_>) {
        use tags::call_window as tag;
        out.string(tag::TIME_ZONE, self.time_zone);
        out.string(tag::LOCAL_TIME, &self.local_time);
        out.uint(tag::BUSINESS_HOURS, u64::from(self.business_hours));
        out.message(tag::REASON, &self.reason);
    }
}

impl Fields for email::Verdict {
    fn fields(&self, out: &mut Writer<'_>) {
        use tags::email_verdict as tag;
        let validity = convert::email_validity_to_pb(self.validity) as i32;
        out.enumeration(tag::VALIDITY, validity);
        out.string(tag::NORMALIZED, &self.normalized);
        out.string(tag::DOMAIN, &self.domain);
        for host in &self.mx_hosts {
            out.delimited(tag::MX_HOSTS, host.as_bytes());
        }
        out.uint(tag::DISPOSABLE, u64::from(self.disposable));
        out.uint(tag::FREE_PROVIDER, u64::from(self.free_provider));
        out.uint(tag::ROLE_ACCOUNT, u64::from(self.role_account));
        out.uint(tag::CATCH_ALL, u64::from(self.catch_all));
        out.string(
            tag::SUGGESTION,
            self.suggestion.as_deref().unwrap_or_default(),
        );
        out.messages(tag::REASONS, &self.reasons);
        out.uint(tag::SMTP_ACCEPTED, u64::from(self.smtp_accepted));
        out.string(tag::MAIL_PROVIDER, self.mail_provider);
        let catch_all_state = convert::catch_all_to_pb(self.catch_all_state) as i32;
        out.enumeration(tag::CATCH_ALL_STATE, catch_all_state);
        out.enumeration(tag::DEPTH, convert::depth_to_pb(self.depth) as i32);
        if let Some(retry_after) = self.retry_after {
            out.message(tag::RETRY_AFTER, &convert::duration_to_pb(retry_after));
        }
    }
}

impl Fields for phone::Verdict {
    fn fields(&self, out: &mut Writer<'_>) {
        use tags::phone_verdict as tag;
        let validity = convert::phone_validity_to_pb(self.validity) as i32;
        out.enumeration(tag::VALIDITY, validity);
        out.string(tag::E164, &self.e164);
        out.string(tag::REGION, &self.region);
        out.uint(tag::COUNTRY_CODE, u64::from(self.country_code));
        let number_type = self
            .number_type
            .map_or(pb::PhoneNumberType::Unspecified, convert::number_type_to_pb);
        out.enumeration(tag::NUMBER_TYPE, number_type as i32);
        out.string(tag::INTERNATIONAL, &self.international);
        out.string(tag::NATIONAL, &self.national);
        out.messages(tag::REASONS, &self.reasons);
        for zone in self.time_zones {
            out.delimited(tag::TIME_ZONES, zone.as_bytes());
        }
        out.string(tag::LOCATION, self.location);
        out.string(tag::CARRIER, self.carrier);
    }
}

impl Fields for LeadSource {
    fn fields(&self, out: &mut Writer<'_>) {
        use tags::lead_source as tag;
        out.string(tag::RAW, &self.raw);
        out.enumeration(tag::SOURCE, convert::source_kind_to_pb(self.source) as i32);
        out.enumeration(tag::ACTION, convert::action_to_pb(self.action) as i32);
        out.string(tag::PUBLISHER_ID, &self.publisher_id);
        out.string(tag::OFFER_ID, &self.offer_id);
        out.messages(tag::REASONS, &self.reasons);
    }
}

impl Fields for Factor {
    fn fields(&self, out: &mut Writer<'_>) {
        use tags::score_factor as tag;
        out.string(tag::CODE, self.code);
        out.sint32(tag::POINTS, self.points);
        out.string(tag::DETAIL, &self.detail);
    }
}

/// `google.protobuf.Duration`: its field numbers are fixed by the well-known type.
impl Fields for pbjson_types::Duration {
    fn fields(&self, out: &mut Writer<'_>) {
        out.uint(1, self.seconds as u64);
        out.uint(2, i64::from(self.nanos) as u64);
    }
}

impl Fields for Reason {
    fn fields(&self, out: &mut Writer<'_>) {
        use tags::reason as tag;
        out.string(tag::CODE, self.code);
        out.string(tag::MESSAGE, &self.message);
    }
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
