//! Reading the protobuf wire format straight from a received slice, one field at a time:
//! the base of the batch client's CSV view of an answer (`src/batch/view.rs`), a hand-written
//! reader beside prost's decoding that the load benchmark keeps (BENCHMARKS.md, "Design
//! decisions settled by measurement").
//!
//! prost's decoding is generic over any buffer and decodes every field into an owned
//! message. The reader built on this takes one-byte keys and lengths inline, keeps only
//! the fields it declares, and passes over the rest; a property test holds it to prost's
//! decoding of the same bytes.

/// Why a message could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed(&'static str);

impl Malformed {
    /// A string field whose bytes are not UTF-8.
    pub const NOT_UTF8: Malformed = Malformed("a string field is not UTF-8");
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a malformed message: {}", self.0)
    }
}

/// A field's value as the wire format gives it.
pub enum Value<'a> {
    /// An integer, bool or enum.
    Varint(u64),
    /// A string, bytes, or an embedded message: its bytes.
    Delimited(&'a [u8]),
    /// A fixed-width value (the contract has none), passed over.
    Fixed,
}

/// Gives `read` each field of an encoded message, in order, as its tag and value; stops
/// at the first error, `read`'s or the wire format's.
pub fn each_field<'a>(
    bytes: &'a [u8],
    mut read: impl FnMut(u32, Value<'a>) -> Result<(), Malformed>,
) -> Result<(), Malformed> {
    let mut fields = Fields(bytes);
    while let Some((tag, value)) = fields.next_field()? {
        read(tag, value)?;
    }
    Ok(())
}

/// The fields of one encoded message, in order.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    /// A varint. Nearly every key and length of a lead's messages is one byte: that case is
    /// inlined, the others are [`Fields::long_varint`].
    #[inline]
    fn varint(&mut self) -> Result<u64, Malformed> {
        match self.0.split_first() {
            Some((&first, rest)) if first < 0x80 => {
                self.0 = rest;
                Ok(u64::from(first))
            }
            _ => self.long_varint(),
        }
    }

    #[inline(never)]
    fn long_varint(&mut self) -> Result<u64, Malformed> {
        let mut value = 0u64;
        for (i, &byte) in self.0.iter().enumerate().take(10) {
            if i == 9 && byte > 1 {
                break; // past 64 bits
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                self.0 = &self.0[i + 1..];
                return Ok(value);
            }
        }
        Err(Malformed("a varint runs past its message or its ten bytes"))
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8], Malformed> {
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if len > self.0.len() {
            return Err(Malformed("a field runs past its message"));
        }
        let (taken, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(taken)
    }

    /// The next field's tag and value; `None` at the message's end.
    fn next_field(&mut self) -> Result<Option<(u32, Value<'a>)>, Malformed> {
        if self.0.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        if key >> 3 == 0 || key > u64::from(u32::MAX) {
            return Err(Malformed("a field's tag is 0 or over the largest"));
        }
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => self.take(8).map(|_| Value::Fixed)?,
            2 => {
                let len = self.varint()?;
                Value::Delimited(self.take(len)?)
            }
            5 => self.take(4).map(|_| Value::Fixed)?,
            _ => return Err(Malformed("a group or an unknown wire type")),
        };
        // The tag fits: the key was checked against u32::MAX.
        Ok(Some(((key >> 3) as u32, value)))
    }
}

/// The error of a field of a known tag under the wrong wire type.
pub const WRONG_TYPE: Malformed = Malformed("a field has the wrong wire type for its tag");
