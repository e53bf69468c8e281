//! Reading an export: rows cut from CSV or JSON Lines as they are read, each with the
//! request to send (or why it could not be read), counted for progress and resume.

use super::columns::Columns;
use super::output::Answer;
use super::progress::Progress;
use super::resume::Skip;
use super::{BatchError, ResumeError};
use crate::pb;
use prost::bytes::Bytes;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;
use tokio::sync::mpsc;

/// One input row: what to write back, and the request to send if it could be read.
pub(super) struct Row {
    /// The 1-based line (CSV record position) of the row, for messages.
    pub(super) line: u64,
    /// The row's fields as read (CSV) or its raw text (JSON Lines): one buffer, not a
    /// string a field.
    pub(super) raw: csv::StringRecord,
    /// The request, or why the row could not be read.
    pub(super) request: Result<Request, String>,
    /// Problems that did not stop the assessment.
    pub(super) notes: Vec<String>,
}

/// An `AssessLeadRequest`, encoded on the reader's thread: the thread that sends it and
/// reads the answers only copies its bytes, and building, encoding and freeing each lead
/// stays off that thread.
pub(super) struct Request {
    /// The request id: the row's line, which its answer echoes.
    pub(super) id: u64,
    /// The encoded request.
    pub(super) bytes: Bytes,
}

impl Request {
    pub(super) fn new(
        line: u64,
        lead: pb::Lead,
        as_of: Option<pbjson_types::Timestamp>,
    ) -> Request {
        let request = pb::AssessLeadRequest {
            request_id: itoa::Buffer::new().format(line).to_string(),
            lead: Some(lead),
            as_of,
        };
        Request {
            id: line,
            bytes: prost::Message::encode_to_vec(&request).into(),
        }
    }

    /// Whether `answer` is this request's: its id echoed.
    pub(super) fn answered_by(&self, answer: &Answer) -> bool {
        answer.request_id() == itoa::Buffer::new().format(self.id).as_bytes()
    }
}

/// The note of a creation time that does not read.
pub(super) const BAD_CREATED_AT_NOTE: &str =
    "row.bad_created_at: the creation time is not RFC 3339, \
     YYYY-MM-DD HH:MM:SS or YYYY-MM-DD";

/// Reads the creation times exports carry: RFC 3339 (its offset honoured), or
/// `YYYY-MM-DD HH:MM:SS` and `YYYY-MM-DD` without an offset, read as UTC.
/// `at` as a request's `as_of`, to the second: the same moment on every row, and one
/// that a resumed run reads back exactly from the `assessedAt` written.
pub(super) fn as_of_timestamp(at: SystemTime) -> pbjson_types::Timestamp {
    let seconds = match at.duration_since(std::time::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    };
    pbjson_types::Timestamp { seconds, nanos: 0 }
}

/// Reads `--as-of`: an RFC 3339 timestamp (or any form [`parse_time`] reads).
pub(super) fn parse_as_of(text: &str) -> Result<SystemTime, String> {
    parse_time(text).ok_or_else(|| {
        "expected an RFC 3339 time such as 2026-11-20T10:00:00Z (or a date, read as UTC)"
            .to_string()
    })
}

pub fn parse_time(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    // A timestamp needs an offset (or `Z`); a civil time would drop one, so it comes second.
    if let Ok(at) = text.parse::<jiff::Timestamp>() {
        return Some(at.into());
    }
    let civil = text.parse::<jiff::civil::DateTime>().ok().or_else(|| {
        text.parse::<jiff::civil::Date>()
            .ok()
            .map(|date| date.to_datetime(jiff::civil::Time::midnight()))
    })?;
    let at = civil.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp();
    Some(at.into())
}

pub(super) enum Input {
    Csv(csv::Reader<LineCounter>, Lines),
    Jsonl(io::Lines<BufReader<Box<dyn Read + Send>>>),
}

/// The offsets of the newlines read so far, to give each CSV record its line in the file.
/// The csv crate's own `Position::line` is off by one after CRLF line ends
/// (BurntSushi/rust-csv#395) and after blank lines (#208); byte offsets are right.
#[derive(Clone, Default)]
pub(super) struct Lines(Arc<Mutex<LineState>>);

#[derive(Default)]
pub(super) struct LineState {
    /// Newlines before every offset still held: lines already passed.
    passed: u64,
    /// Offsets of the newlines read but not yet passed by a record, in order.
    pending: std::collections::VecDeque<u64>,
}

impl Lines {
    /// The 1-based line of a record starting at byte `start`. The csv crate may give the
    /// offset of the `\n` of a CRLF or of a skipped blank line, so a newline *at* `start`
    /// ends an earlier line. Records come in order: what is passed is dropped.
    fn line_at(&self, start: u64) -> u64 {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        while state.pending.front().is_some_and(|&at| at <= start) {
            state.pending.pop_front();
            state.passed += 1;
        }
        state.passed + 1
    }
}

/// The input, noting where each newline is as the bytes go by.
pub(super) struct LineCounter {
    inner: Box<dyn Read + Send>,
    offset: u64,
    lines: Lines,
}

impl LineCounter {
    /// Wraps `inner`; the returned [`Lines`] gives each record's line as reading goes on.
    pub(super) fn new(inner: Box<dyn Read + Send>) -> (LineCounter, Lines) {
        let lines = Lines::default();
        let counter = LineCounter {
            inner,
            offset: 0,
            lines: lines.clone(),
        };
        (counter, lines)
    }
}

impl Read for LineCounter {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut state = self.lines.0.lock().unwrap_or_else(PoisonError::into_inner);
        // memchr's vector search, far cheaper than a loop over the bytes.
        for i in memchr::memchr_iter(b'\n', &buf[..n]) {
            state.pending.push_back(self.offset + i as u64);
        }
        self.offset += n as u64;
        Ok(n)
    }
}

pub(super) fn open_input(
    path: &PathBuf,
) -> Result<(Box<dyn Read + Send>, Option<u64>), BatchError> {
    if path.as_os_str() == "-" {
        return Ok((Box::new(io::stdin()), None));
    }
    let file = File::open(path).map_err(|source| BatchError::Input {
        path: path.display().to_string(),
        line: None,
        source,
    })?;
    let size = file.metadata().ok().map(|m| m.len());
    Ok((Box::new(file), size))
}

/// Why the reader stopped before the end of the input.
#[derive(Debug)]
pub(super) enum ReadFailure {
    /// The input itself failed, after this line.
    Io { line: u64, source: io::Error },
    /// The rows already written are not this input's.
    Resume(ResumeError),
}

/// Reads rows on a blocking thread and sends them in chunks; stops when the receiver goes.
/// A malformed record or line becomes a row with its error; a failed read of the input
/// itself ends the reading with that error (it would fail again at the same place, and
/// the run must not report a file it did not read to the end as done). Rows `skip` says
/// are already out are read but not sent.
pub(super) fn read_rows(
    mut input: Input,
    columns: Columns,
    width: usize,
    chunk: usize,
    progress: Arc<Progress>,
    tx: mpsc::Sender<Vec<Row>>,
    mut skip: Skip,
) -> Result<(), ReadFailure> {
    let mut batch = Vec::with_capacity(chunk);
    let mut line: u64 = 1;
    // Each record becomes its row's `raw`; sized as the last one, it is not regrown field
    // by field.
    let mut record_len = 0;
    // A failed read: the rows before it still go out, then the error.
    let mut failed = None;
    loop {
        let row = match &mut input {
            Input::Csv(reader, lines) => {
                let mut record = csv::ByteRecord::with_capacity(record_len, width);
                match reader.read_byte_record(&mut record) {
                    Ok(false) => break,
                    Ok(true) => {
                        record_len = record.as_slice().len();
                        line = record
                            .position()
                            .map_or(line + 1, |p| lines.line_at(p.byte()));
                        progress
                            .bytes
                            .store(reader.position().byte(), Ordering::Relaxed);
                        csv_row(line, record, &columns, width)
                    }
                    Err(err) if err.is_io_error() => {
                        failed = Some(ReadFailure::Io {
                            line,
                            source: err.into(),
                        });
                        break;
                    }
                    Err(err) => {
                        line += 1;
                        Row {
                            line,
                            raw: csv::StringRecord::new(),
                            request: Err(format!("unreadable CSV record: {err}")),
                            notes: Vec::new(),
                        }
                    }
                }
            }
            Input::Jsonl(lines) => match lines.next() {
                None => break,
                Some(text) => {
                    line += 1;
                    let n = line - 1;
                    match text {
                        Ok(text) if text.trim().is_empty() => continue,
                        Ok(text) => {
                            progress.bytes.fetch_add(
                                u64::try_from(text.len() + 1).unwrap_or(0),
                                Ordering::Relaxed,
                            );
                            if matches!(skip, Skip::Through(through) if n <= through) {
                                progress.rows.fetch_add(1, Ordering::Relaxed);
                                continue;
                            }
                            json_row(n, text, columns.as_of)
                        }
                        Err(err) if err.kind() != io::ErrorKind::InvalidData => {
                            failed = Some(ReadFailure::Io {
                                line: n - 1,
                                source: err,
                            });
                            break;
                        }
                        Err(err) => Row {
                            line: n,
                            raw: csv::StringRecord::new(),
                            request: Err(format!("unreadable line: {err}")),
                            notes: Vec::new(),
                        },
                    }
                }
            },
        };
        progress.rows.fetch_add(1, Ordering::Relaxed);
        if skip.passes(&row, width).map_err(ReadFailure::Resume)? {
            continue;
        }
        batch.push(row);
        if batch.len() >= chunk {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(chunk));
            if tx.blocking_send(full).is_err() {
                return Ok(());
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.blocking_send(batch);
    }
    if failed.is_none() {
        skip.finish().map_err(ReadFailure::Resume)?;
    }
    failed.map_or(Ok(()), Err)
}

pub(super) fn csv_row(line: u64, record: csv::ByteRecord, columns: &Columns, width: usize) -> Row {
    let (raw, mut problem) = match csv::StringRecord::from_byte_record(record) {
        Ok(raw) => (raw, None),
        Err(err) => (
            csv::StringRecord::from_byte_record_lossy(err.into_byte_record()),
            Some("a field is not valid UTF-8".to_string()),
        ),
    };
    if raw.len() != width {
        problem.get_or_insert_with(|| format!("{} fields where the header has {width}", raw.len()));
    }
    let mut notes = Vec::new();
    let request = match problem {
        Some(problem) => Err(problem),
        None => Ok(columns.request(line, &raw, &mut notes)),
    };
    Row {
        line,
        raw,
        request,
        notes,
    }
}

pub(super) fn json_row(line: u64, text: String, as_of: Option<pbjson_types::Timestamp>) -> Row {
    let request = serde_json::from_str::<pb::Lead>(&text)
        .map(|lead| Request::new(line, lead, as_of))
        .map_err(|e| json_problem(&text, &e));
    Row {
        line,
        raw: csv::StringRecord::from(vec![text]),
        request,
        notes: Vec::new(),
    }
}

/// Why a JSON line is not a `Lead`, naming the field at fault but never its value:
/// serde's own messages quote it (`invalid type: integer `2025550199`, ...`), and a
/// lead's phone must not reach a log.
pub(super) fn json_problem(text: &str, err: &serde_json::Error) -> String {
    if err.is_syntax() || err.is_eof() {
        return format!("not JSON (column {})", err.column());
    }
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_str(text) else {
        return "not a JSON object".to_string();
    };
    for (name, value) in fields {
        let alone = serde_json::Value::Object(std::iter::once((name.clone(), value)).collect());
        if serde_json::from_value::<pb::Lead>(alone).is_ok() {
            continue;
        }
        // A name is shown only when it looks like one, not like data put in its place.
        let plain = name.len() <= 40 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        return if plain {
            format!("field {name} is not a Lead field of the right type")
        } else {
            "a field name is not a Lead field".to_string()
        };
    }
    "not a Lead in proto3 JSON".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::ROW_BAD_CREATED_AT;
    use crate::rpc::time_to_pb;
    use proptest::prelude::*;
    use std::io::BufRead;
    use std::sync::atomic::AtomicU64;

    /// Gives `data`, then fails every read after it, as a disk or pipe gone bad does.
    struct FailsAfter(&'static [u8]);

    impl Read for FailsAfter {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::other("the disk is gone"));
            }
            self.0.read(buf)
        }
    }

    /// Runs `read_rows` on its own thread; returns the lines of the rows it sent (at most
    /// a thousand: a reader that keeps going after an I/O error is stopped there) and
    /// what it returned.
    fn read_all(
        input: Input,
        columns: Columns,
        width: usize,
        chunk: usize,
    ) -> (Vec<u64>, Result<(), ReadFailure>) {
        let (tx, mut rx) = mpsc::channel(1);
        let progress = Arc::new(Progress {
            rows: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            total_bytes: None,
        });
        let reader = std::thread::spawn(move || {
            read_rows(input, columns, width, chunk, progress, tx, Skip::Nothing)
        });
        let mut lines = Vec::new();
        while let Some(rows) = rx.blocking_recv() {
            lines.extend(rows.iter().map(|r| r.line));
            if lines.len() > 1000 {
                break;
            }
        }
        drop(rx);
        (lines, reader.join().unwrap())
    }

    #[test]
    fn a_failed_read_sends_the_rows_read_before_it_then_its_error() {
        let (counted, lines) = LineCounter::new(Box::new(FailsAfter(b"h,i\na,1\n")));
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(counted);
        let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        let input = Input::Csv(reader, lines);
        // A chunk bigger than the rows: the partial chunk before the error still goes.
        let (sent, read) = read_all(input, Columns::from_headers(&headers), 2, 1000);
        assert_eq!(sent, [2]);
        let gone = |read: Result<(), ReadFailure>| match read {
            Err(ReadFailure::Io { line, source }) => (line, source.to_string()),
            other => panic!("{other:?}"),
        };
        assert_eq!(gone(read), (2, "the disk is gone".to_string()));

        let input = Input::Jsonl(
            BufReader::new(Box::new(FailsAfter(b"{}\n{}\n")) as Box<dyn Read + Send>).lines(),
        );
        let (sent, read) = read_all(input, Columns::default(), 0, 1000);
        assert_eq!(sent, [1, 2]);
        assert_eq!(gone(read), (2, "the disk is gone".to_string()));
    }

    #[test]
    fn a_line_that_is_not_utf8_is_a_row_with_its_error_and_reading_goes_on() {
        let data: &'static [u8] = b"{}\n\xff\xfe\n{}\n";
        let input = Input::Jsonl(BufReader::new(Box::new(data) as Box<dyn Read + Send>).lines());
        let (sent, read) = read_all(input, Columns::default(), 0, 1);
        assert_eq!(sent, [1, 2, 3]);
        assert!(read.is_ok());
    }

    /// The line of each record as `read_rows` computes it.
    fn record_lines(input: &'static [u8]) -> Vec<u64> {
        let (counted, lines) = LineCounter::new(Box::new(input));
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(counted);
        let mut record = csv::ByteRecord::new();
        let mut found = Vec::new();
        while reader.read_byte_record(&mut record).unwrap() {
            found.push(lines.line_at(record.position().unwrap().byte()));
        }
        found
    }

    #[test]
    fn record_lines_are_the_files_whatever_the_line_ends() {
        assert_eq!(record_lines(b"h,i\na,1\nb,2\nc,3\n"), [2, 3, 4]);
        // CRLF: the csv crate's own Position::line says 2, 2, 3 here.
        assert_eq!(record_lines(b"h,i\r\na,1\r\nb,2\r\nc,3\r\n"), [2, 3, 4]);
        // A blank line is skipped but still counted.
        assert_eq!(record_lines(b"h,i\na,1\n\nb,2\n"), [2, 4]);
        // A quoted field over two lines: the next record is on the line after both.
        assert_eq!(record_lines(b"h,i\n\"a\nstill a\",1\nb,2\n"), [2, 4]);
        // Bigger than the csv reader's buffer, mixed line ends.
        let mut big = b"h,i\n".to_vec();
        for i in 0..5000 {
            big.extend_from_slice(if i % 2 == 0 { b"x,1\r\n" } else { b"y,2\n" });
        }
        let found = record_lines(Box::leak(big.into_boxed_slice()));
        assert_eq!(found.len(), 5000);
        assert!(found.iter().zip(2..).all(|(&got, want)| got == want));
    }

    #[test]
    fn creation_times_in_export_formats_parse() {
        let t = |s| parse_time(s).map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_secs());
        assert_eq!(t("2024-05-01T10:00:00Z"), Some(1_714_557_600));
        assert_eq!(t("2024-05-01 10:00:00"), Some(1_714_557_600));
        assert_eq!(t("2024-05-01T10:00:00.123Z"), Some(1_714_557_600));
        assert_eq!(t("2024-05-01"), Some(1_714_521_600));
        assert_eq!(t("yesterday"), None);
        assert_eq!(t(""), None);
        // An offset is honoured: 10:00 at +02:00 is 08:00 UTC (it was once read as 10:00Z).
        assert_eq!(t("2026-11-20T10:00:00+02:00"), t("2026-11-20T08:00:00Z"));
        assert_eq!(t("2026-11-20T08:00:00Z"), Some(1_795_161_600));
        assert_eq!(t("2026-11-20T10:00:00.5+02:00"), Some(1_795_161_600));
        assert_eq!(t("2026-11-20 03:00:00-05:00"), Some(1_795_161_600));
        assert_eq!(t("2026-11-20T08:00:00"), Some(1_795_161_600));
        assert!(BAD_CREATED_AT_NOTE.starts_with(ROW_BAD_CREATED_AT));
    }

    /// A JSON line that is not a lead names the field, never the value.
    #[test]
    fn a_bad_json_lead_names_its_field_not_its_value() {
        let problem = |text: &str| match json_row(7, text.to_string(), None).request {
            Err(problem) => problem,
            Ok(_) => panic!("{text} read as a lead"),
        };
        let named = problem(r#"{"email":"ann@contoso.test","phone":2025550199}"#);
        assert!(named.contains("field phone"), "{named}");
        assert!(!named.contains("2025550199"), "{named}");
        let named = problem(r#"{"createdAt":"2025550199 at noon"}"#);
        assert!(named.contains("field createdAt"), "{named}");
        assert!(!named.contains("2025550199"), "{named}");
        assert!(!problem(r#"{"+12025550199":1}"#).contains("2025550199"));
        assert!(problem("[1]").contains("not a JSON object"));
        assert!(problem(r#"{"phone":"+1 202"#).starts_with("not JSON"));
    }

    use std::time::UNIX_EPOCH;

    proptest! {
        /// Arbitrary bytes as a CSV row never panic: the row is a lead or a reason.
        #[test]
        fn csv_rows_never_panic(fields in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..12)) {
            let headers: Vec<String> = ["Email", "Phone", "Country", "LeadCreationDateTime"]
                .map(String::from)
                .to_vec();
            let columns = Columns::from_headers(&headers);
            let record = csv::ByteRecord::from(fields.clone());
            let row = csv_row(2, record, &columns, headers.len());
            prop_assert_eq!(row.raw.len(), fields.len());
            if fields.len() != headers.len() {
                prop_assert!(row.request.is_err());
            }
        }

        /// Arbitrary text as a creation time never panics.
        #[test]
        fn times_never_panic(text in "\\PC{0,40}") {
            let _ = parse_time(&text);
        }

        /// A row's request is the lead built field by field (trimmed strings, the
        /// creation time read or noted), with the row's line as its id.
        #[test]
        fn a_rows_request_is_the_lead_of_its_fields(
            fields in proptest::collection::vec(
                prop_oneof![
                    3 => "\\PC{0,12}",
                    1 => "[ \\t]{0,2}[a-z]{120,140}[ ]?",
                    1 => Just(String::new()),
                    1 => Just(" 2024-05-01T10:00:00Z ".to_string()),
                    1 => Just("2024-05-01".to_string()),
                ],
                10,
            ),
            line in any::<u64>(),
            order in Just((0..10).collect::<Vec<usize>>()).prop_shuffle(),
        ) {
            let names = [
                "FirstName", "LastName", "Email", "Phone", "Country", "Company", "Title",
                "LeadSource", "LeadCreationDateTime", "Other",
            ];
            // The columns in any order.
            let headers: Vec<String> = order.iter().map(|&i| names[i].to_string()).collect();
            let columns = Columns::from_headers(&headers);
            let record = csv::StringRecord::from(fields.clone());
            let mut ours = Vec::new();
            let request = columns.request(line, &record, &mut ours);
            let field = |name: &str| {
                let at = headers.iter().position(|h| h == name).expect("a column");
                fields[at].trim().to_string()
            };
            let created = field("LeadCreationDateTime");
            // The times the strategy gives, known; any other text read by `parse_time`
            // (its own tests hold it) or noted.
            let at = |seconds| Some(pbjson_types::Timestamp { seconds, nanos: 0 });
            let (created_at, theirs) = match created.as_str() {
                "" => (None, vec![]),
                "2024-05-01T10:00:00Z" => (at(1_714_557_600), vec![]),
                "2024-05-01" => (at(1_714_521_600), vec![]),
                other => match parse_time(other) {
                    Some(time) => (Some(time_to_pb(time)), vec![]),
                    None => (None, vec![BAD_CREATED_AT_NOTE.to_string()]),
                },
            };
            let lead = pb::Lead {
                first_name: field("FirstName"),
                last_name: field("LastName"),
                email: field("Email"),
                phone: field("Phone"),
                country: field("Country"),
                company: field("Company"),
                title: field("Title"),
                lead_source: field("LeadSource"),
                created_at,
                ..Default::default()
            };
            let expected = pb::AssessLeadRequest {
                request_id: line.to_string(),
                lead: Some(lead),
                as_of: None,
            };
            let sent: pb::AssessLeadRequest = prost::Message::decode(request.bytes.as_ref())
                .expect("a request decodes");
            prop_assert_eq!(sent, expected);
            prop_assert_eq!(request.id, line);
            prop_assert_eq!(ours, theirs);
        }
    }
}
