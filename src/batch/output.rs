//! Writing the answers back: each input row with its verdict columns, in input order,
//! whole rows only, and the run's tally.

use super::input::Row;
use super::view;
use super::{BatchError, Filter, Summary, ROW_MALFORMED};
use crate::pb;
use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::io::{self, Write};
use tokio::sync::mpsc;

/// An answer as the output reads it: whole, for JSON Lines, or only what CSV output
/// writes ([`view::Answer`]).
pub(super) enum Answer {
    Whole(Box<pb::LeadAssessment>),
    Csv(view::Answer),
}

impl From<pb::LeadAssessment> for Answer {
    fn from(answer: pb::LeadAssessment) -> Answer {
        Answer::Whole(Box::new(answer))
    }
}

impl From<view::Answer> for Answer {
    fn from(answer: view::Answer) -> Answer {
        Answer::Csv(answer)
    }
}

impl Answer {
    pub(super) fn request_id(&self) -> &[u8] {
        match self {
            Answer::Whole(a) => a.request_id.as_bytes(),
            Answer::Csv(a) => a.request_id(),
        }
    }

    fn dedup_key(&self) -> &[u8] {
        match self {
            Answer::Whole(a) => a.dedup_key.as_bytes(),
            Answer::Csv(a) => a.dedup_key(),
        }
    }

    /// The email and phone verdicts' validities (None for no verdict), and the quality.
    pub(super) fn validities(&self) -> (Option<i32>, Option<i32>, i32) {
        match self {
            Answer::Whole(a) => (
                a.email.as_ref().map(|e| e.validity),
                a.phone.as_ref().map(|p| p.validity),
                a.quality,
            ),
            Answer::Csv(a) => (a.email(), a.phone(), a.quality()),
        }
    }

    fn score(&self) -> u32 {
        match self {
            Answer::Whole(a) => a.score,
            Answer::Csv(a) => a.score(),
        }
    }

    /// Calls `each` with every reason code and its channel's prefix, in the reasons
    /// column's order: email, phone, source, then the lead's own.
    fn for_each_code(&self, mut each: impl FnMut(&'static str, &[u8])) {
        match self {
            Answer::Whole(a) => {
                let email = a.email.as_ref().map_or(&[][..], |e| e.reasons.as_slice());
                let phone = a.phone.as_ref().map_or(&[][..], |p| p.reasons.as_slice());
                let source = a.source.as_ref().map_or(&[][..], |s| s.reasons.as_slice());
                let channels = [
                    (view::Channel::Email, email),
                    (view::Channel::Phone, phone),
                    (view::Channel::Source, source),
                    (view::Channel::Lead, a.reasons.as_slice()),
                ];
                for (channel, reasons) in channels {
                    reasons
                        .iter()
                        .for_each(|r| each(channel.prefix(), r.code.as_bytes()));
                }
            }
            Answer::Csv(a) => a
                .codes()
                .for_each(|(channel, code)| each(channel.prefix(), code)),
        }
    }
}

/// Bytes of CSV output buffered before they go to the output.
pub(super) const OUTPUT_BUFFER: usize = 64 * 1024;

/// The columns added to every CSV row.
pub const OUTPUT_COLUMNS: [&str; 6] = [
    "EmailValidity",
    "PhoneValidity",
    "LeadQuality",
    "Score",
    "Reasons",
    "DedupKey",
];

/// The column names of the verdicts: each enum value's Rust name, as prost's `Debug`
/// writes it (a test holds them to it), without formatting it for every row.
pub(super) fn email_name(value: i32) -> &'static str {
    match pb::EmailValidity::try_from(value) {
        Ok(pb::EmailValidity::Unspecified) => "Unspecified",
        Ok(pb::EmailValidity::Valid) => "Valid",
        Ok(pb::EmailValidity::Invalid) => "Invalid",
        Ok(pb::EmailValidity::Spam) => "Spam",
        Ok(pb::EmailValidity::Unknown) => "Unknown",
        Err(_) => UNKNOWN_VALUE,
    }
}

pub(super) fn phone_name(value: i32) -> &'static str {
    match pb::PhoneValidity::try_from(value) {
        Ok(pb::PhoneValidity::Unspecified) => "Unspecified",
        Ok(pb::PhoneValidity::Valid) => "Valid",
        Ok(pb::PhoneValidity::Invalid) => "Invalid",
        Ok(pb::PhoneValidity::Unknown) => "Unknown",
        Err(_) => UNKNOWN_VALUE,
    }
}

pub(super) fn quality_name(value: i32) -> &'static str {
    match pb::LeadQuality::try_from(value) {
        Ok(pb::LeadQuality::Unspecified) => "Unspecified",
        Ok(pb::LeadQuality::High) => "High",
        Ok(pb::LeadQuality::Low) => "Low",
        Err(_) => UNKNOWN_VALUE,
    }
}

/// The name of a value the contract does not define (a newer server's).
pub(super) const UNKNOWN_VALUE: &str = "UNKNOWN_VALUE";

/// The reasons column: each code as `channel:code`, then each note, joined by `; `,
/// written into `column` (emptied first), sized once.
pub(super) fn reasons_column(a: &Answer, notes: &[String], column: &mut Vec<u8>) {
    column.clear();
    let mut len = 0;
    a.for_each_code(|prefix, code| len += prefix.len() + 1 + code.len() + 2);
    column.reserve(len + notes.iter().map(|n| n.len() + 2).sum::<usize>());
    let mut add = |parts: &[&[u8]]| {
        if !column.is_empty() {
            column.extend_from_slice(b"; ");
        }
        parts.iter().for_each(|part| column.extend_from_slice(part));
    };
    a.for_each_code(|prefix, code| add(&[prefix.as_bytes(), b":", code]));
    for note in notes {
        add(&[note.as_bytes()]);
    }
}

/// CSV output: the csv crate's writer, flexible (a malformed row longer than the header
/// keeps every field), quoting only the fields that need it.
pub(super) fn csv_writer(out: Box<dyn Write + Send>) -> csv::Writer<Box<dyn Write + Send>> {
    csv::WriterBuilder::new()
        .flexible(true)
        .buffer_capacity(OUTPUT_BUFFER)
        .from_writer(out)
}

/// The output, written only when told, at the end of a chunk: what reaches it is whole
/// rows, so a run stopped any way short of the system failing mid-write leaves complete
/// rows only (and `--resume` cuts off a torn one).
pub(super) struct WholeRows {
    out: Box<dyn Write + Send>,
    pending: Vec<u8>,
}

impl WholeRows {
    pub(super) fn new(out: Box<dyn Write + Send>) -> WholeRows {
        WholeRows {
            out,
            pending: Vec::with_capacity(OUTPUT_BUFFER),
        }
    }
}

impl Write for WholeRows {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.write_all(&self.pending)?;
        self.pending.clear();
        self.out.flush()
    }
}

/// Where results go, in the chosen format.
pub(super) enum Output {
    Csv {
        /// The CSV writer (boxed: it is far larger than the other variant).
        writer: Box<csv::Writer<Box<dyn Write + Send>>>,
        /// The input's column count.
        width: usize,
        /// The reasons column of the row being written, its buffer kept from row to row.
        reasons: Vec<u8>,
    },
    Jsonl(WholeRows),
}

impl Output {
    fn write(&mut self, row: &Row, answer: Option<&Answer>) -> io::Result<()> {
        match self {
            Output::Csv {
                writer: w,
                width,
                reasons,
            } => {
                // Field by field: the row's own fields are written where they are, not
                // copied into a record first.
                for field in &row.raw {
                    w.write_field(field)?;
                }
                // A short malformed row is padded so the verdict columns stay in place.
                for _ in row.raw.len()..*width {
                    w.write_field(b"")?;
                }
                match (answer, &row.request) {
                    (Some(a), _) => {
                        let (email, phone, quality) = a.validities();
                        w.write_field(email_name(email.unwrap_or(0)))?;
                        w.write_field(phone_name(phone.unwrap_or(0)))?;
                        w.write_field(quality_name(quality))?;
                        w.write_field(itoa::Buffer::new().format(a.score()))?;
                        reasons_column(a, &row.notes, reasons);
                        w.write_field(reasons.as_slice())?;
                        w.write_field(a.dedup_key())?;
                    }
                    (None, Err(problem)) => {
                        for _ in 0..4 {
                            w.write_field(b"")?;
                        }
                        let message = format!("{ROW_MALFORMED}: line {}: {problem}", row.line);
                        w.write_field(message)?;
                        w.write_field(b"")?;
                    }
                    (None, Ok(_)) => {
                        for _ in 0..6 {
                            w.write_field(b"")?;
                        }
                    }
                }
                // No more fields: the record ends.
                Ok(w.write_record(None::<&[u8]>)?)
            }
            Output::Jsonl(w) => {
                let value = match (answer, &row.request) {
                    (Some(Answer::Whole(a)), _) => serde_json::to_string(a),
                    (Some(Answer::Csv(_)), _) => {
                        // `run` asks for whole answers for JSON Lines: never so.
                        return Err(io::Error::other("JSON Lines output given a CSV view"));
                    }
                    (None, Err(problem)) => serde_json::to_string(&pb::LeadAssessment {
                        request_id: row.line.to_string(),
                        reasons: vec![pb::Reason {
                            code: ROW_MALFORMED.to_string(),
                            message: format!("line {}: {problem}", row.line),
                        }],
                        ..Default::default()
                    }),
                    (None, Ok(_)) => Ok(String::from("{}")),
                }
                .map_err(io::Error::other)?;
                writeln!(w, "{value}")
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Csv { writer, .. } => writer.flush(),
            Output::Jsonl(w) => w.flush(),
        }
    }
}

pub(super) fn tally(summary: &mut Summary, a: &Answer) {
    summary.assessed += 1;
    let (email, phone, quality) = a.validities();
    if let Some(email) = email {
        match pb::EmailValidity::try_from(email) {
            Ok(pb::EmailValidity::Valid) => summary.email[0] += 1,
            Ok(pb::EmailValidity::Invalid) => summary.email[1] += 1,
            Ok(pb::EmailValidity::Spam) => summary.email[2] += 1,
            _ => summary.email[3] += 1,
        }
    }
    if let Some(phone) = phone {
        match pb::PhoneValidity::try_from(phone) {
            Ok(pb::PhoneValidity::Valid) => summary.phone[0] += 1,
            Ok(pb::PhoneValidity::Invalid) => summary.phone[1] += 1,
            _ => summary.phone[2] += 1,
        }
    }
    match pb::LeadQuality::try_from(quality) {
        Ok(pb::LeadQuality::High) => summary.quality[0] += 1,
        _ => summary.quality[1] += 1,
    }
}

/// Writes the assessed rows in the order they come, counting them, and dropping a row
/// whose dedup key was seen before when `dedup` gives the keys' hasher and those seen
/// already. Each chunk is flushed whole. Returns the run's counts.
pub(super) fn write_rows(
    mut chunks: mpsc::Receiver<Vec<(Row, Option<Answer>)>>,
    mut output: Output,
    dedup: Option<(RandomState, HashSet<u64>)>,
    filter: Filter,
) -> Result<Summary, BatchError> {
    let failed = |source: io::Error| BatchError::Output {
        path: String::new(),
        source,
    };
    let mut summary = Summary {
        filtered: filter.any().then_some(0),
        ..Summary::default()
    };
    let mut dedup = dedup;
    while let Some(chunk) = chunks.blocking_recv() {
        for (row, answer) in chunk {
            summary.rows += 1;
            // Filtered before dedup: the keys seen are those of rows written, as `--resume`
            // reads them back.
            if !filter.keeps(answer.as_ref()) {
                if let Some(a) = &answer {
                    tally(&mut summary, a);
                } else if let Err(problem) = &row.request {
                    summary.rejected += 1;
                    tracing::warn!(line = row.line, %problem, "malformed row left out by the filter");
                }
                if let Some(filtered) = &mut summary.filtered {
                    *filtered += 1;
                }
                continue;
            }
            if let Some(a) = &answer {
                tally(&mut summary, a);
                // Only a hash of the key is kept: 8 bytes a person, not the key.
                if let Some((hasher, seen)) = &mut dedup {
                    if !a.dedup_key().is_empty() && !seen.insert(hasher.hash_one(a.dedup_key())) {
                        summary.duplicates += 1;
                        continue;
                    }
                }
            } else if let Err(problem) = &row.request {
                summary.rejected += 1;
                tracing::warn!(line = row.line, %problem, "malformed row written with a reason");
            }
            output.write(&row, answer.as_ref()).map_err(failed)?;
            summary.written += 1;
        }
        output.flush().map_err(failed)?;
    }
    output.flush().map_err(failed)?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;
    use std::sync::{Arc, Mutex};

    /// The reasons column: every code with its channel, then the row's notes.
    #[test]
    fn the_reasons_column_names_each_code_with_its_channel() {
        let reason = |code: &str| pb::Reason {
            code: code.to_string(),
            message: "ignored".to_string(),
        };
        let assessment = pb::LeadAssessment {
            email: Some(pb::EmailVerdict {
                reasons: vec![reason("dns.mx"), reason("flag.free_provider")],
                ..Default::default()
            }),
            phone: Some(pb::PhoneVerdict {
                reasons: vec![reason("valid")],
                ..Default::default()
            }),
            source: Some(pb::LeadSource {
                reasons: vec![reason("source.unknown_source")],
                ..Default::default()
            }),
            reasons: vec![reason("request.field_too_long")],
            ..Default::default()
        };
        let notes = ["note one".to_string()];
        let mut column = Vec::new();
        reasons_column(&Answer::from(assessment.clone()), &notes, &mut column);
        let expected = "email:dns.mx; email:flag.free_provider; phone:valid; \
             source:source.unknown_source; lead:request.field_too_long; note one";
        assert_eq!(String::from_utf8_lossy(&column), expected);
        // Sized once: a column that had to grow would have a larger capacity than the
        // sizes counted (each code and note with its separator).
        assert_eq!(column.capacity(), expected.len() + 2);
        // The same from the CSV view of the encoded answer.
        let bytes = prost::Message::encode_to_vec(&assessment);
        let view = view::Answer::read(bytes.into()).expect("reads");
        reasons_column(&Answer::from(view), &notes, &mut column);
        assert_eq!(String::from_utf8_lossy(&column), expected);
        let empty = Answer::from(pb::LeadAssessment::default());
        reasons_column(&empty, &[], &mut column);
        assert_eq!(column, b"");
        reasons_column(&empty, &["only".to_string()], &mut column);
        assert_eq!(column, b"only");
    }

    /// A `Write` whose bytes the test reads back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// CSV output quotes a field only when it holds a comma, a quote or a line break, its
    /// quotes doubled; a record of one empty field is `""`, so it reads back as a record.
    #[test]
    fn csv_output_quotes_what_needs_quotes() {
        let records: [&[&str]; 4] = [
            &["plain", "a,b", "say \"hi\""],
            &["two\nlines", "cr\r", "", "\""],
            &[""],
            &["", ""],
        ];
        let shared = Shared::default();
        let mut writer = csv_writer(Box::new(shared.clone()));
        for record in records {
            writer.write_record(record).unwrap();
        }
        writer.flush().unwrap();
        let expected =
            "plain,\"a,b\",\"say \"\"hi\"\"\"\n\"two\nlines\",\"cr\r\",,\"\"\"\"\n\"\"\n,\n";
        assert_eq!(
            String::from_utf8(shared.0.lock().unwrap().clone()).unwrap(),
            expected
        );
    }

    /// The verdict columns name each value as prost's `Debug` does, and a value the
    /// contract does not define `UNKNOWN_VALUE`.
    #[test]
    fn verdict_names_are_the_enums_debug_names() {
        let name = |debug: Result<String, prost::UnknownEnumValue>| {
            debug.unwrap_or_else(|_| UNKNOWN_VALUE.to_string())
        };
        for value in -1..=6 {
            let debug = |v: &dyn fmt::Debug| format!("{v:?}");
            assert_eq!(
                email_name(value),
                name(pb::EmailValidity::try_from(value).map(|v| debug(&v)))
            );
            assert_eq!(
                phone_name(value),
                name(pb::PhoneValidity::try_from(value).map(|v| debug(&v)))
            );
            assert_eq!(
                quality_name(value),
                name(pb::LeadQuality::try_from(value).map(|v| debug(&v)))
            );
        }
    }
}
