//! `leadcheck batch`: streams a lead export (CSV or JSON Lines) through `AssessLeads` on one
//! or more servers and writes every input row back with its verdicts.
//!
//! The input is read on a blocking thread and cut into chunks; each chunk is one
//! `AssessLeads` stream over a balanced channel, a few chunks run at once, and results are
//! written in input order. Memory holds only the chunks in flight, so it stays flat however
//! large the file.

use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::hash::{BuildHasher, RandomState};
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use prost::bytes::Bytes;
use tokio::sync::mpsc;
use tonic::transport::{Channel, Endpoint};

use crate::pb;
use crate::rpc::time_to_pb;

/// Reason code of a row that could not be read as a lead.
pub const ROW_MALFORMED: &str = "row.malformed";
/// Reason code of a creation time that could not be parsed (the lead is still assessed).
pub const ROW_BAD_CREATED_AT: &str = "row.bad_created_at";

/// The input and output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A CSV export with a header row.
    Csv,
    /// One `Lead` a line in, one `LeadAssessment` a line out (proto3 JSON mapping).
    Jsonl,
}

/// The flags of `leadcheck batch`.
#[derive(Debug, Clone, clap::Args)]
pub struct BatchArgs {
    /// A server URL, e.g. http://127.0.0.1:50051 (repeatable: load-balanced).
    #[arg(long = "server", required = true)]
    pub servers: Vec<String>,
    /// The input file; `-` for stdin.
    #[arg(long)]
    pub input: PathBuf,
    /// The output file; `-` for stdout.
    #[arg(long)]
    pub output: PathBuf,
    /// Drop rows whose dedup key was seen earlier in the file.
    #[arg(long)]
    pub dedup: bool,
    /// Input and output format.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
    /// Leads per AssessLeads stream.
    #[arg(long, default_value_t = 1000)]
    pub chunk: usize,
    /// Streams in flight at once [default: 2 per server].
    #[arg(long)]
    pub streams: Option<usize>,
    /// Time allowed to reach each server before giving up, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub connect_timeout_ms: u64,
    /// No progress lines (without it: a bar on a terminal, a plain line every 10 s
    /// otherwise).
    #[arg(long)]
    pub quiet: bool,
}

/// Why a batch run failed.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// A server URL is malformed.
    #[error("invalid server URL {url}: {message}")]
    BadUrl {
        /// The URL.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// A server could not be reached.
    #[error("cannot reach server {url}: {message}")]
    Unreachable {
        /// The URL.
        url: String,
        /// The cause.
        message: String,
    },
    /// The input could not be read.
    #[error("cannot read {path}: {message}")]
    Input {
        /// The input path.
        path: String,
        /// The cause.
        message: String,
    },
    /// The output could not be written.
    #[error("cannot write output: {0}")]
    Output(String),
    /// A stream failed.
    #[error("AssessLeads failed: {0}")]
    Rpc(String),
}

/// Counts of one run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Rows read.
    pub rows: u64,
    /// Rows assessed by the server.
    pub assessed: u64,
    /// Rows written out.
    pub written: u64,
    /// Rows that could not be read as a lead (written with a reason).
    pub rejected: u64,
    /// Rows dropped as duplicates (`--dedup`).
    pub duplicates: u64,
    /// Email verdicts: valid, invalid, spam, unknown.
    pub email: [u64; 4],
    /// Phone verdicts: valid, invalid, unknown.
    pub phone: [u64; 3],
    /// Lead quality: high, low.
    pub quality: [u64; 2],
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "rows {} | assessed {} | written {} | rejected {} | duplicates dropped {}",
            self.rows, self.assessed, self.written, self.rejected, self.duplicates
        )?;
        writeln!(
            f,
            "email: valid {} invalid {} spam {} unknown {}",
            self.email[0], self.email[1], self.email[2], self.email[3]
        )?;
        writeln!(
            f,
            "phone: valid {} invalid {} unknown {}",
            self.phone[0], self.phone[1], self.phone[2]
        )?;
        write!(
            f,
            "quality: high {} low {}",
            self.quality[0], self.quality[1]
        )
    }
}

/// One input row: what to write back, and the request to send if it could be read.
struct Row {
    /// The 1-based line (CSV record position) of the row, for messages.
    line: u64,
    /// The row's fields as read (CSV) or its raw text (JSON Lines): one buffer, not a
    /// string a field.
    raw: csv::StringRecord,
    /// The request, or why the row could not be read.
    request: Result<Request, String>,
    /// Problems that did not stop the assessment.
    notes: Vec<String>,
}

/// An `AssessLeadRequest`, encoded on the reader's thread: the thread that sends it and
/// reads the answers only copies its bytes. Building, encoding and freeing each lead
/// there was about a seventh of that thread's instructions a row (callgrind).
struct Request {
    /// The request id: the row's line, which its answer echoes.
    id: u64,
    /// The encoded request.
    bytes: Bytes,
}

impl Request {
    fn new(line: u64, lead: pb::Lead) -> Request {
        let request = pb::AssessLeadRequest {
            request_id: itoa::Buffer::new().format(line).to_string(),
            lead: Some(lead),
        };
        Request {
            id: line,
            bytes: prost::Message::encode_to_vec(&request).into(),
        }
    }

    /// Whether `answer` is this request's: its id echoed.
    fn answered_by(&self, answer: &Answer) -> bool {
        answer.request_id() == itoa::Buffer::new().format(self.id).as_bytes()
    }
}

/// An answer as the output reads it: whole, for JSON Lines, or only what CSV output
/// writes ([`view::Answer`]).
enum Answer {
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
    fn request_id(&self) -> &[u8] {
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
    fn validities(&self) -> (Option<i32>, Option<i32>, i32) {
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

/// Which input column feeds which lead field.
#[derive(Default)]
struct Columns {
    first_name: Option<usize>,
    last_name: Option<usize>,
    email: Option<usize>,
    phone: Option<usize>,
    country: Option<usize>,
    company: Option<usize>,
    title: Option<usize>,
    lead_source: Option<usize>,
    created_at: Option<usize>,
}

impl Columns {
    /// Matches headers case-, space-, hyphen- and underscore-insensitively.
    fn from_headers(headers: &[String]) -> Columns {
        let mut c = Columns::default();
        for (i, header) in headers.iter().enumerate() {
            let key: String = header
                .trim_start_matches('\u{feff}')
                .chars()
                .filter(|ch| ch.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect();
            let slot = match key.as_str() {
                "firstname" | "givenname" => &mut c.first_name,
                "lastname" | "surname" | "familyname" => &mut c.last_name,
                "email" | "emailaddress" | "mail" => &mut c.email,
                "phone" | "phonenumber" | "telephone" | "tel" | "mobile" => &mut c.phone,
                "country" | "countryregion" | "countrycode" => &mut c.country,
                "company" | "companyname" | "organization" | "organisation" => &mut c.company,
                "title" | "jobtitle" => &mut c.title,
                "leadsource" | "source" => &mut c.lead_source,
                "leadcreationdatetime"
                | "createdat"
                | "created"
                | "creationdate"
                | "createddate" => &mut c.created_at,
                _ => continue,
            };
            slot.get_or_insert(i);
        }
        c
    }

    /// The row's request: the lead's eight strings (trimmed) and its creation time.
    fn request(&self, line: u64, fields: &csv::StringRecord, notes: &mut Vec<String>) -> Request {
        let get = |col: Option<usize>| {
            col.and_then(|i| fields.get(i))
                .map_or_else(String::new, |s| s.trim().to_string())
        };
        let created_at = self.created_at(&get(self.created_at), notes);
        let lead = pb::Lead {
            first_name: get(self.first_name),
            last_name: get(self.last_name),
            email: get(self.email),
            phone: get(self.phone),
            country: get(self.country),
            company: get(self.company),
            title: get(self.title),
            lead_source: get(self.lead_source),
            created_at,
        };
        Request::new(line, lead)
    }

    /// The creation time, when the row has one that reads; a note when it does not.
    fn created_at(
        &self,
        created: &str,
        notes: &mut Vec<String>,
    ) -> Option<pbjson_types::Timestamp> {
        if created.is_empty() {
            return None;
        }
        let time = parse_time(created).map(time_to_pb);
        if time.is_none() {
            notes.push(format!(
                "{ROW_BAD_CREATED_AT}: cannot read the creation time {created:?}"
            ));
        }
        time
    }
}

/// Reads the creation times exports carry: RFC 3339, `YYYY-MM-DD HH:MM:SS`, or a date.
pub fn parse_time(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    humantime::parse_rfc3339_weak(text)
        .or_else(|_| humantime::parse_rfc3339_weak(&format!("{text} 00:00:00")))
        .ok()
        .or_else(|| {
            // `2024-05-01T10:00:00Z` with fractional seconds or an offset: keep the
            // date and time, read as UTC.
            let trimmed: String = text.chars().take(19).collect();
            humantime::parse_rfc3339_weak(&trimmed.replace('T', " ")).ok()
        })
}

/// Bytes of CSV output buffered before they go to the output.
const OUTPUT_BUFFER: usize = 64 * 1024;

/// The columns added to every CSV row.
pub const OUTPUT_COLUMNS: [&str; 6] = [
    "EmailValidity",
    "PhoneValidity",
    "LeadQuality",
    "Score",
    "Reasons",
    "DedupKey",
];

enum Input {
    Csv(csv::Reader<LineCounter>, Lines),
    Jsonl(io::Lines<BufReader<Box<dyn Read + Send>>>),
}

/// The offsets of the newlines read so far, to give each CSV record its line in the file.
/// The csv crate's own `Position::line` is off by one after CRLF line ends
/// (BurntSushi/rust-csv#395) and after blank lines (#208); byte offsets are right.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<LineState>>);

#[derive(Default)]
struct LineState {
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
struct LineCounter {
    inner: Box<dyn Read + Send>,
    offset: u64,
    lines: Lines,
}

impl LineCounter {
    /// Wraps `inner`; the returned [`Lines`] gives each record's line as reading goes on.
    fn new(inner: Box<dyn Read + Send>) -> (LineCounter, Lines) {
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
        // memchr's vector search: a loop over the bytes was 500 instructions a row.
        for i in memchr::memchr_iter(b'\n', &buf[..n]) {
            state.pending.push_back(self.offset + i as u64);
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// Position in the input, for progress.
struct Progress {
    rows: AtomicU64,
    bytes: AtomicU64,
    total_bytes: Option<u64>,
}

fn open_input(path: &PathBuf) -> Result<(Box<dyn Read + Send>, Option<u64>), BatchError> {
    if path.as_os_str() == "-" {
        return Ok((Box::new(io::stdin()), None));
    }
    let file = File::open(path).map_err(|e| BatchError::Input {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let size = file.metadata().ok().map(|m| m.len());
    Ok((Box::new(file), size))
}

/// Reads rows on a blocking thread and sends them in chunks; stops when the receiver goes.
/// A malformed record or line becomes a row with its error; a failed read of the input
/// itself ends the reading with that error (it would fail again at the same place, and
/// the run must not report a file it did not read to the end as done).
fn read_rows(
    mut input: Input,
    columns: Columns,
    width: usize,
    chunk: usize,
    progress: Arc<Progress>,
    tx: mpsc::Sender<Vec<Row>>,
) -> Result<(), String> {
    let mut batch = Vec::with_capacity(chunk);
    let mut line: u64 = 1;
    // Each record becomes its row's `raw`; sized as the last one, it is not regrown field
    // by field (callgrind: the regrowth was a third of reading a row).
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
                        failed = Some(format!("after line {line}: {err}"));
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
                            json_row(n, text)
                        }
                        Err(err) if err.kind() != io::ErrorKind::InvalidData => {
                            failed = Some(format!("at line {n}: {err}"));
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
    failed.map_or(Ok(()), Err)
}

fn csv_row(line: u64, record: csv::ByteRecord, columns: &Columns, width: usize) -> Row {
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

fn json_row(line: u64, text: String) -> Row {
    let request = serde_json::from_str::<pb::Lead>(&text)
        .map(|lead| Request::new(line, lead))
        .map_err(|e| format!("not a Lead in proto3 JSON: {e}"));
    Row {
        line,
        raw: csv::StringRecord::from(vec![text]),
        request,
        notes: Vec::new(),
    }
}

/// Connects to every server (failing fast on any that cannot be reached) and returns a
/// channel balanced over them.
async fn connect(servers: &[String], timeout: Duration) -> Result<Channel, BatchError> {
    let mut endpoints = Vec::with_capacity(servers.len());
    for url in servers {
        let endpoint = Endpoint::from_shared(url.clone())
            .map_err(|e| BatchError::BadUrl {
                url: url.clone(),
                message: e.to_string(),
            })?
            .connect_timeout(timeout)
            .tcp_nodelay(true);
        endpoint
            .connect()
            .await
            .map_err(|e| BatchError::Unreachable {
                url: url.clone(),
                message: std::error::Error::source(&e)
                    .map_or_else(|| e.to_string(), |s| s.to_string()),
            })?;
        endpoints.push(endpoint);
    }
    Ok(Channel::balance_list(endpoints.into_iter()))
}

/// The `AssessLeads` call, requests sent as their bytes and answers decoded by `codec`:
/// whole (prost's), or only the part CSV output writes ([`view::Codec`]).
async fn assess_leads<C>(
    mut client: tonic::client::Grpc<Channel>,
    requests: Vec<Bytes>,
    codec: C,
) -> Result<Vec<Answer>, BatchError>
where
    C: tonic::codec::Codec<Encode = Bytes> + Send + 'static,
    C::Decode: Into<Answer> + Send + Sync + 'static,
{
    let rpc = |s: tonic::Status| BatchError::Rpc(s.message().to_string());
    // Room for every answer up front: growing the vector copied each one again.
    let expected = requests.len();
    client
        .ready()
        .await
        .map_err(|e| BatchError::Rpc(format!("the channel is not ready: {e}")))?;
    let mut request = tonic::Request::new(tokio_stream::iter(requests));
    request.extensions_mut().insert(tonic::GrpcMethod::new(
        "leadcheck.v1.LeadCheck",
        "AssessLeads",
    ));
    let path =
        tonic::codegen::http::uri::PathAndQuery::from_static("/leadcheck.v1.LeadCheck/AssessLeads");
    let mut stream = client
        .streaming(request, path, codec)
        .await
        .map_err(rpc)?
        .into_inner();
    let mut answers = Vec::with_capacity(expected);
    while let Some(answer) = stream.next().await {
        answers.push(answer.map_err(rpc)?.into());
    }
    Ok(answers)
}

/// Sends one chunk as one stream and pairs every row with its assessment, whole or only
/// what CSV output writes (`whole` false).
async fn assess_chunk(
    client: tonic::client::Grpc<Channel>,
    rows: Vec<Row>,
    whole: bool,
) -> Result<Vec<(Row, Option<Answer>)>, BatchError> {
    // The rows keep their requests, to pair the answers; the stream sends their bytes
    // (shared, not copied).
    let requests: Vec<Bytes> = rows
        .iter()
        .filter_map(|row| row.request.as_ref().ok())
        .map(|request| request.bytes.clone())
        .collect();
    let expected = requests.len();
    let answers = match (expected, whole) {
        (0, _) => Vec::new(),
        (_, true) => assess_leads(client, requests, view::Whole).await?,
        (_, false) => assess_leads(client, requests, view::Codec).await?,
    };
    if answers.len() != expected {
        return Err(BatchError::Rpc(format!(
            "the server answered {} of {expected} leads",
            answers.len()
        )));
    }
    let mut answers = answers.into_iter();
    let mut paired = Vec::with_capacity(rows.len());
    for row in rows {
        let answer = match &row.request {
            Ok(request) => {
                let answer = answers.next();
                if !answer.as_ref().is_some_and(|a| request.answered_by(a)) {
                    return Err(BatchError::Rpc(format!(
                        "answers out of order at line {}",
                        row.line
                    )));
                }
                answer
            }
            Err(_) => None,
        };
        paired.push((row, answer));
    }
    Ok(paired)
}

/// The column names of the verdicts: each enum value's Rust name, as prost's `Debug`
/// writes it (a test holds them to it), without formatting it for every row.
fn email_name(value: i32) -> &'static str {
    match pb::EmailValidity::try_from(value) {
        Ok(pb::EmailValidity::Unspecified) => "Unspecified",
        Ok(pb::EmailValidity::Valid) => "Valid",
        Ok(pb::EmailValidity::Invalid) => "Invalid",
        Ok(pb::EmailValidity::Spam) => "Spam",
        Ok(pb::EmailValidity::Unknown) => "Unknown",
        Err(_) => UNKNOWN_VALUE,
    }
}

fn phone_name(value: i32) -> &'static str {
    match pb::PhoneValidity::try_from(value) {
        Ok(pb::PhoneValidity::Unspecified) => "Unspecified",
        Ok(pb::PhoneValidity::Valid) => "Valid",
        Ok(pb::PhoneValidity::Invalid) => "Invalid",
        Ok(pb::PhoneValidity::Unknown) => "Unknown",
        Err(_) => UNKNOWN_VALUE,
    }
}

fn quality_name(value: i32) -> &'static str {
    match pb::LeadQuality::try_from(value) {
        Ok(pb::LeadQuality::Unspecified) => "Unspecified",
        Ok(pb::LeadQuality::High) => "High",
        Ok(pb::LeadQuality::Low) => "Low",
        Err(_) => UNKNOWN_VALUE,
    }
}

/// The name of a value the contract does not define (a newer server's).
const UNKNOWN_VALUE: &str = "UNKNOWN_VALUE";

/// The reasons column: each code as `channel:code`, then each note, joined by `; `,
/// written into `column` (emptied first), sized once.
fn reasons_column(a: &Answer, notes: &[String], column: &mut Vec<u8>) {
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
fn csv_writer(out: Box<dyn Write + Send>) -> csv::Writer<Box<dyn Write + Send>> {
    csv::WriterBuilder::new()
        .flexible(true)
        .buffer_capacity(OUTPUT_BUFFER)
        .from_writer(out)
}

/// Where results go, in the chosen format.
enum Output {
    Csv {
        /// The CSV writer (boxed: it is far larger than the other variant).
        writer: Box<csv::Writer<Box<dyn Write + Send>>>,
        /// The input's column count.
        width: usize,
        /// The reasons column of the row being written, its buffer kept from row to row.
        reasons: Vec<u8>,
    },
    Jsonl(io::BufWriter<Box<dyn Write + Send>>),
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

fn tally(summary: &mut Summary, a: &Answer) {
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

/// Prints progress: a bar on a terminal, a plain line every 10 s otherwise.
fn spawn_progress(progress: Arc<Progress>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let tty = io::stderr().is_terminal();
        let every = if tty {
            Duration::from_millis(500)
        } else {
            Duration::from_secs(10)
        };
        let start = Instant::now();
        loop {
            tokio::time::sleep(every).await;
            let rows = progress.rows.load(Ordering::Relaxed);
            let secs = start.elapsed().as_secs_f64().max(0.001);
            let rate = rows as f64 / secs;
            let eta = progress.total_bytes.and_then(|total| {
                let done = progress.bytes.load(Ordering::Relaxed);
                (done > 0 && total >= done).then(|| secs * (total - done) as f64 / done as f64)
            });
            let eta = eta.map_or(String::new(), |s| format!(", ETA {s:.0}s"));
            if tty {
                let pct = progress.total_bytes.map_or(String::new(), |total| {
                    let done = progress.bytes.load(Ordering::Relaxed);
                    format!(" {:>3}%", (done * 100).checked_div(total).unwrap_or(0))
                });
                eprint!("\r{rows} rows{pct}, {rate:.0} rows/s{eta}   ");
            } else {
                eprintln!("progress: {rows} rows, {rate:.0} rows/s{eta}");
            }
        }
    })
}

/// Runs a batch job and returns its summary.
pub async fn run(args: BatchArgs) -> Result<Summary, BatchError> {
    let channel = connect(
        &args.servers,
        Duration::from_millis(args.connect_timeout_ms),
    )
    .await?;
    let client = tonic::client::Grpc::new(channel).max_decoding_message_size(16 * 1024 * 1024);
    let (reader, total_bytes) = open_input(&args.input)?;
    let progress = Arc::new(Progress {
        rows: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
        total_bytes,
    });
    let input_path = args.input.display().to_string();

    let out: Box<dyn Write + Send> = if args.output.as_os_str() == "-" {
        Box::new(io::stdout())
    } else {
        Box::new(File::create(&args.output).map_err(|e| BatchError::Output(e.to_string()))?)
    };
    // CSV output writes part of each answer: only that part is decoded (see `view`).
    let whole = !matches!(args.format, Format::Csv);
    let (input, columns, width, output) = match args.format {
        Format::Csv => {
            let (counted, lines) = LineCounter::new(reader);
            let mut reader = csv::ReaderBuilder::new()
                .flexible(true)
                .from_reader(counted);
            let headers: Vec<String> = reader
                .headers()
                .map_err(|e| BatchError::Input {
                    path: input_path.clone(),
                    message: e.to_string(),
                })?
                .iter()
                .map(str::to_string)
                .collect();
            let columns = Columns::from_headers(&headers);
            let mut writer = csv_writer(out);
            let header_out = headers.iter().map(String::as_str).chain(OUTPUT_COLUMNS);
            writer
                .write_record(header_out)
                .map_err(|e| BatchError::Output(e.to_string()))?;
            (
                Input::Csv(reader, lines),
                columns,
                headers.len(),
                Output::Csv {
                    writer: Box::new(writer),
                    width: headers.len(),
                    reasons: Vec::new(),
                },
            )
        }
        Format::Jsonl => (
            Input::Jsonl(BufReader::new(reader).lines()),
            Columns::default(),
            0,
            Output::Jsonl(io::BufWriter::new(out)),
        ),
    };

    let streams = args.streams.unwrap_or(2 * args.servers.len()).max(1);
    let chunk = args.chunk.max(1);
    let (tx, rx) = mpsc::channel::<Vec<Row>>(streams);
    let reader_progress = progress.clone();
    let reader_task = tokio::task::spawn_blocking(move || {
        read_rows(input, columns, width, chunk, reader_progress, tx)
    });
    let ticker = (!args.quiet).then(|| spawn_progress(progress.clone()));

    let mut results = tokio_stream::wrappers::ReceiverStream::new(rx)
        .map(|rows| assess_chunk(client.clone(), rows, whole))
        .buffered(streams);
    // Output is written on a thread of its own: while this one wrote a chunk's rows, the
    // runtime polled no stream, and the server waited for requests and window updates.
    let (done_tx, done_rx) = mpsc::channel::<Vec<(Row, Option<Answer>)>>(streams);
    let dedup = args.dedup;
    let writer = tokio::task::spawn_blocking(move || write_rows(done_rx, output, dedup));
    let outcome = async {
        while let Some(chunk) = results.next().await {
            if done_tx.send(chunk?).await.is_err() {
                break; // the writer stopped: its error is the one to report
            }
        }
        Ok(())
    }
    .await;
    drop(done_tx);
    let written = writer
        .await
        .unwrap_or_else(|e| Err(BatchError::Output(format!("the writer failed: {e}"))));
    if let Some(ticker) = ticker {
        ticker.abort();
        if io::stderr().is_terminal() {
            eprintln!();
        }
    }
    drop(results);
    // The reader's error first: after it, the rest of the file was never sent. Then the
    // writer's: it fails only of itself, and a stream error after it is a consequence.
    let read = reader_task
        .await
        .unwrap_or_else(|e| Err(format!("the reader failed: {e}")))
        .map_err(|message| BatchError::Input {
            path: input_path,
            message,
        });
    read.and(written)
        .and_then(|summary| outcome.map(|()| summary))
}

/// Writes the assessed rows in the order they come, counting them, and dropping a row
/// whose dedup key was seen before when `dedup` is on. Returns the run's counts.
fn write_rows(
    mut chunks: mpsc::Receiver<Vec<(Row, Option<Answer>)>>,
    mut output: Output,
    dedup: bool,
) -> Result<Summary, BatchError> {
    let mut summary = Summary::default();
    let hasher = RandomState::new();
    let mut seen: HashSet<u64> = HashSet::new();
    while let Some(chunk) = chunks.blocking_recv() {
        for (row, answer) in chunk {
            summary.rows += 1;
            if let Some(a) = &answer {
                tally(&mut summary, a);
                // Only a hash of the key is kept: 8 bytes a person, not the key.
                if dedup
                    && !a.dedup_key().is_empty()
                    && !seen.insert(hasher.hash_one(a.dedup_key()))
                {
                    summary.duplicates += 1;
                    continue;
                }
            } else if let Err(problem) = &row.request {
                summary.rejected += 1;
                tracing::warn!(line = row.line, %problem, "malformed row written with a reason");
            }
            output
                .write(&row, answer.as_ref())
                .map_err(|e| BatchError::Output(e.to_string()))?;
            summary.written += 1;
        }
    }
    output
        .flush()
        .map_err(|e| BatchError::Output(e.to_string()))?;
    Ok(summary)
}

#[path = "batch_view.rs"]
mod view;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
    ) -> (Vec<u64>, Result<(), String>) {
        let (tx, mut rx) = mpsc::channel(1);
        let progress = Arc::new(Progress {
            rows: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            total_bytes: None,
        });
        let reader =
            std::thread::spawn(move || read_rows(input, columns, width, chunk, progress, tx));
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
        let err = read.unwrap_err();
        assert!(err.contains("the disk is gone"), "{err}");

        let input = Input::Jsonl(
            BufReader::new(Box::new(FailsAfter(b"{}\n{}\n")) as Box<dyn Read + Send>).lines(),
        );
        let (sent, read) = read_all(input, Columns::default(), 0, 1000);
        assert_eq!(sent, [1, 2]);
        assert!(read.unwrap_err().contains("the disk is gone"));
    }

    #[test]
    fn a_line_that_is_not_utf8_is_a_row_with_its_error_and_reading_goes_on() {
        let data: &'static [u8] = b"{}\n\xff\xfe\n{}\n";
        let input = Input::Jsonl(BufReader::new(Box::new(data) as Box<dyn Read + Send>).lines());
        let (sent, read) = read_all(input, Columns::default(), 0, 1);
        assert_eq!(sent, [1, 2, 3]);
        assert_eq!(read, Ok(()));
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
    fn headers_match_whatever_their_case_and_spacing() {
        let headers: Vec<String> = [
            "\u{feff}First Name",
            "LASTNAME",
            "e-mail address",
            "Phone_Number",
            "Country/Region",
            "Company Name",
            "Job Title",
            "Lead Source",
            "LeadCreationDateTime",
            "Notes",
        ]
        .map(String::from)
        .to_vec();
        let c = Columns::from_headers(&headers);
        assert_eq!(c.first_name, Some(0));
        assert_eq!(c.last_name, Some(1));
        assert_eq!(c.email, Some(2));
        assert_eq!(c.phone, Some(3));
        assert_eq!(c.country, Some(4));
        assert_eq!(c.company, Some(5));
        assert_eq!(c.title, Some(6));
        assert_eq!(c.lead_source, Some(7));
        assert_eq!(c.created_at, Some(8));
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
                    None => (None, vec![format!(
                        "{ROW_BAD_CREATED_AT}: cannot read the creation time {other:?}"
                    )]),
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
            };
            let expected = pb::AssessLeadRequest {
                request_id: line.to_string(),
                lead: Some(lead),
            };
            let sent: pb::AssessLeadRequest = prost::Message::decode(request.bytes.as_ref())
                .expect("a request decodes");
            prop_assert_eq!(sent, expected);
            prop_assert_eq!(request.id, line);
            prop_assert_eq!(ours, theirs);
        }
    }
}
