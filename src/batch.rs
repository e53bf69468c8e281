//! `leadcheck batch`: streams a lead export (CSV or JSON Lines) through `AssessLeads` on one
//! or more servers and writes every input row back with its verdicts.
//!
//! The input is read on a blocking thread and cut into chunks; each chunk is one
//! `AssessLeads` stream over a balanced channel, a few chunks run at once, and results are
//! written in input order. Memory holds only the chunks in flight, so it stays flat however
//! large the file.

use std::collections::HashSet;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, RandomState};
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use prost::bytes::Bytes;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tonic::metadata::AsciiMetadataValue;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

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

/// The least lead quality `--min-quality` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MinQuality {
    /// Only HIGH leads.
    High,
    /// Every assessed lead (LOW or better).
    Low,
}

/// Which assessed rows are written (`--only-valid`, `--min-quality`): the seeds' use of
/// the validity columns, loading only the contacts worth a call into a CRM.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Filter {
    only_valid: bool,
    high_only: bool,
}

impl Filter {
    fn of(args: &BatchArgs) -> Filter {
        Filter {
            only_valid: args.only_valid,
            high_only: args.min_quality == Some(MinQuality::High),
        }
    }

    /// Whether any filter is on: rows may then be missing from the output.
    fn any(self) -> bool {
        self.only_valid || self.high_only
    }

    /// Whether a row with this answer is written. A row without one (it could not be read
    /// as a lead) has no valid contact, so a filter leaves it out.
    fn keeps(self, answer: Option<&Answer>) -> bool {
        if !self.any() {
            return true;
        }
        let Some(answer) = answer else {
            return false;
        };
        let (email, phone, quality) = answer.validities();
        let valid = email == Some(pb::EmailValidity::Valid as i32)
            || phone == Some(pb::PhoneValidity::Valid as i32);
        (valid || !self.only_valid) && (quality == pb::LeadQuality::High as i32 || !self.high_only)
    }
}

/// The flags of `leadcheck batch`.
#[derive(Debug, Clone, clap::Args)]
pub struct BatchArgs {
    /// A server URL, e.g. http://127.0.0.1:50051 (repeatable: chunks spread over them, and
    /// a chunk whose server fails is sent to another).
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
    /// Most streams in flight at once [default: as many as `--in-flight` needs, up to 32].
    #[arg(long)]
    pub streams: Option<usize>,
    /// Leads in flight at once over all streams: each stream holds as many as the server's
    /// window (its `leadcheck-stream-in-flight` header) lets it validate at once, and more
    /// streams start until this many are in flight. Enough to hide a resolver's latency.
    #[arg(long, default_value_t = 8192)]
    pub in_flight: usize,
    /// Time allowed to reach each server before giving up, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub connect_timeout_ms: u64,
    /// No progress lines on stderr (the summary is still printed).
    #[arg(long)]
    pub quiet: bool,
    /// Carry on a run that stopped: keep the complete rows already in `--output` (a torn
    /// last row is cut off), skip as many input rows unsent, and append the rest.
    #[arg(long)]
    pub resume: bool,
    /// The moment every lead is assessed at (RFC 3339, e.g. 2026-11-20T10:00:00Z):
    /// recency and the call window are measured from it [default: the run's start, the
    /// same for every row; on `--resume` of JSON Lines, the moment the rows already
    /// written were assessed at].
    #[arg(long = "as-of", value_parser = parse_as_of)]
    pub as_of: Option<SystemTime>,
    /// Write only the rows whose email or phone is VALID; the rows left out are counted in
    /// the summary.
    #[arg(long)]
    pub only_valid: bool,
    /// Write only the rows of at least this lead quality (`high`); the rows left out are
    /// counted in the summary.
    #[arg(long, value_enum)]
    pub min_quality: Option<MinQuality>,
    /// Chunks the whole run may send again after a stream failed (UNAVAILABLE, a reset,
    /// a GOAWAY, a deadline); past it the run fails.
    #[arg(long, default_value_t = 500)]
    pub retry_budget: u32,
    /// Wait before a chunk is sent again, in milliseconds: doubled at each failure of the
    /// same chunk, up to 5 s, jittered.
    #[arg(long, default_value_t = 200)]
    pub retry_backoff_ms: u64,
    /// Bearer token sent with every call (`authorization: Bearer ...`).
    #[arg(long, env = "LEADCHECK_AUTH_TOKEN", hide_env_values = true)]
    pub auth_token: Option<String>,
    /// A file holding the bearer token (its first token; `#` comments ignored). Wins over
    /// `--auth-token`.
    #[arg(long)]
    pub auth_token_file: Option<PathBuf>,
    /// PEM CA certificates that sign the servers' certificates (needed for https://).
    #[arg(long)]
    pub tls_ca: Option<PathBuf>,
    /// PEM client certificate chain, for servers that require one (with `--tls-key`).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `--tls-cert`.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The name the servers' certificates must carry, when it is not the URL's host.
    #[arg(long)]
    pub tls_domain: Option<String>,
}

/// Why a batch run failed.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// A server URL is malformed.
    #[error("invalid server URL {url}")]
    BadUrl {
        /// The URL.
        url: String,
        /// What is wrong.
        #[source]
        source: tonic::transport::Error,
    },
    /// A server could not be reached.
    #[error("cannot reach server {url}")]
    Unreachable {
        /// The URL.
        url: String,
        /// The cause.
        #[source]
        source: tonic::transport::Error,
    },
    /// An https:// server was given without the CA to check its certificate by.
    #[error("{url} is https: give the CA that signs its certificate with --tls-ca")]
    NoCa {
        /// The URL.
        url: String,
    },
    /// TLS options were given for a plain-text server.
    #[error("{url} is not https, but TLS options were given")]
    NotHttps {
        /// The URL.
        url: String,
    },
    /// The TLS options could not be applied.
    #[error("the TLS options are not usable")]
    Tls(#[source] tonic::transport::Error),
    /// A file named by a flag could not be read.
    #[error("cannot read {flag} {path}")]
    File {
        /// The flag that names it.
        flag: &'static str,
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The bearer token is empty or not a valid header value (the token is never shown).
    #[error("the bearer token of {from} is empty or not printable ASCII")]
    BadToken {
        /// Where the token came from: a flag or the environment.
        from: &'static str,
    },
    /// The input could not be read.
    #[error("cannot read {path}{}", after_line(*line))]
    Input {
        /// The input path.
        path: String,
        /// The last line read before the failure, if any.
        line: Option<u64>,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The output could not be written.
    #[error("cannot write the output {path}")]
    Output {
        /// The output path (`-`: stdout).
        path: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// `--resume` cannot carry on this output.
    #[error("cannot resume {path}")]
    Resume {
        /// The output path.
        path: String,
        /// Why.
        #[source]
        source: ResumeError,
    },
    /// A server refused a chunk with a status that retrying will not change
    /// (INVALID_ARGUMENT, UNAUTHENTICATED, PERMISSION_DENIED, ...).
    #[error("AssessLeads refused the rows from line {line} with {code:?}, not retried{}", hint(*code))]
    Refused {
        /// The first row of the chunk not answered.
        line: u64,
        /// The status code.
        code: tonic::Code,
        /// The status.
        #[source]
        source: tonic::Status,
    },
    /// Streams kept failing until the run's retry budget was spent.
    #[error("AssessLeads failed at line {line} and the run's {budget} retries are spent")]
    RetriesSpent {
        /// The first row of the chunk not answered.
        line: u64,
        /// The run's budget (`--retry-budget`).
        budget: u32,
        /// The last failure.
        #[source]
        source: tonic::Status,
    },
    /// One chunk failed again and again without an answer between the failures.
    #[error("AssessLeads failed {failures} times in a row at line {line}; giving up")]
    GaveUp {
        /// The first row of the chunk not answered.
        line: u64,
        /// The failures in a row.
        failures: u32,
        /// The last failure.
        #[source]
        source: tonic::Status,
    },
    /// A server answered other than the contract says (more answers than leads, or out
    /// of order).
    #[error("the server's answers broke the AssessLeads contract at line {line}: {problem}")]
    Contract {
        /// The row where it showed.
        line: u64,
        /// What was wrong.
        problem: &'static str,
    },
    /// Ctrl-C: the rows answered so far are written, complete.
    #[error("interrupted after {written} rows written; run again with --resume to carry on")]
    Interrupted {
        /// Rows in the output (those of an earlier run resumed included).
        written: u64,
    },
}

/// Why `--resume` cannot carry on an output.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    /// Stdout cannot be read back.
    #[error("--resume needs an output file, not stdout")]
    Stdout,
    /// The output's header is not the one this input gives.
    #[error("its header is not this input's header with the verdict columns")]
    Header,
    /// A row written is not the input's next row.
    #[error("its row {row} is not the input's line {line}: not the same input")]
    Mismatch {
        /// The output row (1 = the first after the header).
        row: u64,
        /// The input line compared with it.
        line: u64,
    },
    /// The input ends before the rows already written.
    #[error("it holds more rows than the input ({rows} matched): not the same input")]
    InputShort {
        /// Rows matched before the input ended.
        rows: u64,
    },
    /// A JSON Lines output line without the request id that names its input line.
    #[error("its line {line} is not a LeadAssessment with a requestId")]
    NoRequestId {
        /// The output line.
        line: u64,
    },
    /// The output could not be read back.
    #[error("cannot read it back")]
    Read(#[source] io::Error),
}

fn after_line(line: Option<u64>) -> String {
    line.map_or_else(String::new, |line| format!(" after line {line}"))
}

/// What to check when a server refuses a chunk.
fn hint(code: tonic::Code) -> &'static str {
    match code {
        tonic::Code::Unauthenticated => " (check --auth-token or --auth-token-file)",
        tonic::Code::PermissionDenied => " (the token is not allowed this call)",
        tonic::Code::Unimplemented => " (is this a leadcheck server?)",
        _ => "",
    }
}

/// Counts of one run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Rows already in the output when the run was resumed (not read again).
    pub resumed: u64,
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
    /// Rows left out by `--only-valid` or `--min-quality` (those that could not be read as
    /// a lead included); `None` when neither is given.
    pub filtered: Option<u64>,
    /// Email verdicts: valid, invalid, spam, unknown.
    pub email: [u64; 4],
    /// Phone verdicts: valid, invalid, unknown.
    pub phone: [u64; 3],
    /// Lead quality: high, low.
    pub quality: [u64; 2],
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.resumed > 0 {
            writeln!(f, "resumed after {} rows already written", self.resumed)?;
        }
        write!(
            f,
            "rows {} | assessed {} | written {} | rejected {} | duplicates dropped {}",
            self.rows, self.assessed, self.written, self.rejected, self.duplicates
        )?;
        match self.filtered {
            Some(filtered) => writeln!(f, " | filtered out {filtered}")?,
            None => writeln!(f)?,
        }
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
/// reads the answers only copies its bytes, and building, encoding and freeing each lead
/// stays off that thread.
struct Request {
    /// The request id: the row's line, which its answer echoes.
    id: u64,
    /// The encoded request.
    bytes: Bytes,
}

impl Request {
    fn new(line: u64, lead: pb::Lead, as_of: Option<pbjson_types::Timestamp>) -> Request {
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
    /// The moment every request is assessed at.
    as_of: Option<pbjson_types::Timestamp>,
    first_name: Option<usize>,
    last_name: Option<usize>,
    email: Option<usize>,
    phone: Option<usize>,
    country: Option<usize>,
    company: Option<usize>,
    title: Option<usize>,
    lead_source: Option<usize>,
    created_at: Option<usize>,
    call_to_action: Option<usize>,
    lead_type: Option<usize>,
}

/// A lead field an input column can feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    FirstName,
    LastName,
    Email,
    Phone,
    Country,
    Company,
    Title,
    LeadSource,
    CreatedAt,
    CallToAction,
    LeadType,
}

/// Every column name the batch client knows, as [`header_key`] folds it, and its field:
/// common CRM names, and the export and filter columns of Partner Center's lead pages
/// (the seeds) in English, Spanish, Portuguese and Russian.
const HEADERS: &[(&str, Field)] = &[
    ("firstname", Field::FirstName),
    ("givenname", Field::FirstName),
    ("nombre", Field::FirstName),
    ("nome", Field::FirstName),
    ("имя", Field::FirstName),
    ("lastname", Field::LastName),
    ("surname", Field::LastName),
    ("familyname", Field::LastName),
    ("apellido", Field::LastName),
    ("apellidos", Field::LastName),
    ("sobrenome", Field::LastName),
    ("фамилия", Field::LastName),
    ("email", Field::Email),
    ("emailaddress", Field::Email),
    ("mail", Field::Email),
    ("correoelectrónico", Field::Email),
    ("correoelectronico", Field::Email),
    ("endereçodeemail", Field::Email),
    ("электроннаяпочта", Field::Email),
    ("phone", Field::Phone),
    ("phonenumber", Field::Phone),
    ("telephone", Field::Phone),
    ("tel", Field::Phone),
    ("mobile", Field::Phone),
    ("teléfono", Field::Phone),
    ("telefono", Field::Phone),
    ("telefone", Field::Phone),
    ("телефон", Field::Phone),
    ("country", Field::Country),
    ("countryregion", Field::Country),
    ("countryorregion", Field::Country),
    ("countrycode", Field::Country),
    ("paísoregión", Field::Country),
    ("país", Field::Country),
    ("paísouregião", Field::Country),
    ("странаилирегион", Field::Country),
    ("страна", Field::Country),
    ("company", Field::Company),
    ("companyname", Field::Company),
    ("organization", Field::Company),
    ("organisation", Field::Company),
    ("customername", Field::Company),
    ("nombredelcliente", Field::Company),
    ("empresa", Field::Company),
    ("nomedocliente", Field::Company),
    ("имяклиента", Field::Company),
    ("компания", Field::Company),
    ("title", Field::Title),
    ("jobtitle", Field::Title),
    ("cargo", Field::Title),
    ("должность", Field::Title),
    ("leadsource", Field::LeadSource),
    ("source", Field::LeadSource),
    ("origendeclientepotencial", Field::LeadSource),
    ("origemdoclientepotencial", Field::LeadSource),
    ("origemdolead", Field::LeadSource),
    ("источникпотенциальногоклиента", Field::LeadSource),
    ("источник", Field::LeadSource),
    ("leadcreationdatetime", Field::CreatedAt),
    ("createdat", Field::CreatedAt),
    ("created", Field::CreatedAt),
    ("creationdate", Field::CreatedAt),
    ("createddate", Field::CreatedAt),
    ("calltoaction", Field::CallToAction),
    ("llamadaalaacción", Field::CallToAction),
    ("llamadaalaaccion", Field::CallToAction),
    ("chamadaparaação", Field::CallToAction),
    ("chamadaàação", Field::CallToAction),
    ("призывкдействию", Field::CallToAction),
    ("leadtype", Field::LeadType),
    ("tipodeclientepotencial", Field::LeadType),
    ("tipodelead", Field::LeadType),
    ("типпотенциальногоклиента", Field::LeadType),
];

/// A header as [`HEADERS`] holds it: lower case, letters and digits only (spaces,
/// hyphens, underscores, slashes and a byte-order mark dropped).
fn header_key(header: &str) -> String {
    header
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|ch| ch.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A `Lead type` cell as the proto's enum: the seeds' Offer and Profile in their
/// languages; anything else is left unspecified (the server infers the kind).
fn lead_type_of(text: &str) -> pb::LeadType {
    match header_key(text).as_str() {
        "offer" | "oferta" | "предложение" => pb::LeadType::Offer,
        "profile" | "perfil" | "профиль" => pb::LeadType::Profile,
        _ => pb::LeadType::Unspecified,
    }
}

impl Columns {
    /// Matches headers by [`HEADERS`], case-, space-, hyphen- and underscore-insensitively;
    /// the first column of a field wins.
    fn from_headers(headers: &[String]) -> Columns {
        let mut c = Columns::default();
        for (i, header) in headers.iter().enumerate() {
            let key = header_key(header);
            let Some(&(_, field)) = HEADERS.iter().find(|(name, _)| *name == key) else {
                continue;
            };
            let slot = match field {
                Field::FirstName => &mut c.first_name,
                Field::LastName => &mut c.last_name,
                Field::Email => &mut c.email,
                Field::Phone => &mut c.phone,
                Field::Country => &mut c.country,
                Field::Company => &mut c.company,
                Field::Title => &mut c.title,
                Field::LeadSource => &mut c.lead_source,
                Field::CreatedAt => &mut c.created_at,
                Field::CallToAction => &mut c.call_to_action,
                Field::LeadType => &mut c.lead_type,
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
            call_to_action: get(self.call_to_action),
            lead_type: lead_type_of(&get(self.lead_type)) as i32,
        };
        Request::new(line, lead, self.as_of)
    }

    /// The creation time, when the row has one that reads; a note when it does not (the
    /// value is not repeated: it is in the row itself).
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
            notes.push(BAD_CREATED_AT_NOTE.to_string());
        }
        time
    }
}

/// The note of a creation time that does not read.
const BAD_CREATED_AT_NOTE: &str = "row.bad_created_at: the creation time is not RFC 3339, \
     YYYY-MM-DD HH:MM:SS or YYYY-MM-DD";

/// Reads the creation times exports carry: RFC 3339 (its offset honoured), or
/// `YYYY-MM-DD HH:MM:SS` and `YYYY-MM-DD` without an offset, read as UTC.
/// `at` as a request's `as_of`, to the second: the same moment on every row, and one
/// that a resumed run reads back exactly from the `assessedAt` written.
fn as_of_timestamp(at: SystemTime) -> pbjson_types::Timestamp {
    let seconds = match at.duration_since(std::time::UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    };
    pbjson_types::Timestamp { seconds, nanos: 0 }
}

/// Reads `--as-of`: an RFC 3339 timestamp (or any form [`parse_time`] reads).
fn parse_as_of(text: &str) -> Result<SystemTime, String> {
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
        // memchr's vector search, far cheaper than a loop over the bytes.
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
enum ReadFailure {
    /// The input itself failed, after this line.
    Io { line: u64, source: io::Error },
    /// The rows already written are not this input's.
    Resume(ResumeError),
}

/// The rows an earlier run already wrote (`--resume`), which the reader passes over
/// unsent.
enum Skip {
    /// Nothing to skip.
    Nothing,
    /// CSV: the output's rows, read back one by one and matched with the input's rows;
    /// with `gaps`, an input row that matches none was left out then (a duplicate dropped,
    /// or a row a filter left out).
    Csv {
        written: Box<csv::Reader<io::Take<File>>>,
        next: csv::ByteRecord,
        matched: u64,
        gaps: bool,
    },
    /// JSON Lines: every input line up to this one is out (the last `requestId`).
    Through(u64),
}

impl Skip {
    /// Starts matching the output's rows (after its header) with the input's.
    fn csv(mut written: csv::Reader<io::Take<File>>, gaps: bool) -> Result<Skip, ResumeError> {
        let mut next = csv::ByteRecord::new();
        let more = written
            .read_byte_record(&mut next)
            .map_err(|e| ResumeError::Read(e.into()))?;
        Ok(if more {
            Skip::Csv {
                written: Box::new(written),
                next,
                matched: 0,
                gaps,
            }
        } else {
            Skip::Nothing
        })
    }

    /// Whether `row` is already out: matched with the next written row (or, with gaps,
    /// left out then). An error when the rows written are not this input's.
    fn passes(&mut self, row: &Row, width: usize) -> Result<bool, ResumeError> {
        let (written, next, matched, gaps) = match self {
            Skip::Nothing => return Ok(false),
            Skip::Through(through) => return Ok(row.line <= *through),
            Skip::Csv {
                written,
                next,
                matched,
                gaps,
            } => (written, next, matched, gaps),
        };
        if !written_as(row, width, next) {
            if *gaps {
                return Ok(true);
            }
            return Err(ResumeError::Mismatch {
                row: *matched + 1,
                line: row.line,
            });
        }
        *matched += 1;
        let more = written
            .read_byte_record(next)
            .map_err(|e| ResumeError::Read(e.into()))?;
        if !more {
            *self = Skip::Nothing;
        }
        Ok(true)
    }

    /// At the end of the input: an error if rows written were never matched.
    fn finish(&self) -> Result<(), ResumeError> {
        match self {
            Skip::Csv { matched, .. } => Err(ResumeError::InputShort { rows: *matched }),
            _ => Ok(()),
        }
    }
}

/// Whether `written` is how the output writes `row`: its fields, padded to the header's
/// width, then the verdict columns.
fn written_as(row: &Row, width: usize, written: &csv::ByteRecord) -> bool {
    let fields = row.raw.len().max(width);
    written.len() == fields + OUTPUT_COLUMNS.len()
        && (0..fields).all(|i| row.raw.get(i).unwrap_or("").as_bytes() == &written[i])
}

/// Reads rows on a blocking thread and sends them in chunks; stops when the receiver goes.
/// A malformed record or line becomes a row with its error; a failed read of the input
/// itself ends the reading with that error (it would fail again at the same place, and
/// the run must not report a file it did not read to the end as done). Rows `skip` says
/// are already out are read but not sent.
fn read_rows(
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

fn json_row(line: u64, text: String, as_of: Option<pbjson_types::Timestamp>) -> Row {
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
fn json_problem(text: &str, err: &serde_json::Error) -> String {
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

/// The longest wait before a chunk is sent again (unless `--retry-backoff-ms` is longer).
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Failures of one chunk in a row, no answer between them, before the run gives up on
/// it: with the default backoff, a server away for about a minute. A dead server then
/// fails the run in that time, not after the whole budget.
const MAX_FAILURES_IN_A_ROW: u32 = 16;

/// The servers of a run, each on a channel of its own (one HTTP/2 connection, made again
/// after it breaks), and how each is faring: chunks go to the least busy server that has
/// not just failed, so a server that restarts or drains is passed over while it is away.
struct Servers {
    urls: Vec<String>,
    channels: Vec<Channel>,
    state: Mutex<Vec<ServerState>>,
    /// `Bearer TOKEN`, sent with every call.
    token: Option<AsciiMetadataValue>,
    /// The first wait after a failure.
    backoff: Duration,
}

#[derive(Debug, Clone, Default)]
struct ServerState {
    /// Streams open on it.
    in_flight: usize,
    /// Failures since its last success.
    failures: u32,
    /// Passed over until then, after a failure.
    resting_until: Option<Instant>,
}

impl Servers {
    /// The server for the next stream: one not resting after a failure, other than
    /// `avoid` (the one the chunk just failed on) where there is a choice, least busy
    /// first; when all rest, the one that is back soonest.
    fn pick(&self, avoid: Option<usize>) -> usize {
        let now = Instant::now();
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        (0..state.len())
            .min_by_key(|&i| {
                let s = &state[i];
                let resting = s.resting_until.filter(|&until| until > now);
                (resting.is_some(), resting, Some(i) == avoid, s.in_flight)
            })
            .unwrap_or(0)
    }

    fn begin(&self, server: usize) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state[server].in_flight += 1;
    }

    /// Ends a stream on `server`; a failure rests it for longer each time it fails again.
    fn end(&self, server: usize, failed: bool) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let s = &mut state[server];
        s.in_flight = s.in_flight.saturating_sub(1);
        if failed {
            s.resting_until = Some(Instant::now() + backoff(self.backoff, s.failures));
            s.failures = s.failures.saturating_add(1);
        } else {
            s.failures = 0;
            s.resting_until = None;
        }
    }
}

/// The run's retries left, shared by all its chunks.
struct Retries {
    budget: u32,
    left: AtomicU64,
}

impl Retries {
    fn new(budget: u32) -> Retries {
        Retries {
            budget,
            left: AtomicU64::new(u64::from(budget)),
        }
    }

    /// Takes one retry; false when none is left.
    fn take(&self) -> bool {
        self.left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }
}

/// The wait before the `attempt`th retry (0-based): `base` doubled each time, at most
/// [`MAX_BACKOFF`] (or `base`, if longer).
fn backoff(base: Duration, attempt: u32) -> Duration {
    base.saturating_mul(1 << attempt.min(20))
        .min(MAX_BACKOFF.max(base))
}

/// [`backoff`] with full jitter over its upper half: chunks that failed together do not
/// all come back at the same instant.
fn jittered(base: Duration, attempt: u32) -> Duration {
    use rand::Rng;
    let full = backoff(base, attempt);
    let millis = u64::try_from(full.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::rng().random_range(millis / 2..=millis))
}

/// Whether a stream that failed with `status` may be sent again: the server is away
/// (UNAVAILABLE: down, restarting, draining, a GOAWAY), busy (RESOURCE_EXHAUSTED), out of
/// time (DEADLINE_EXCEEDED), or the connection broke under it (a reset, an h2 protocol
/// error, a closed connection: statuses made here from a transport error, which carry it
/// as their source, where a server's own statuses carry none). A server's refusal
/// (INVALID_ARGUMENT, UNAUTHENTICATED, PERMISSION_DENIED, ...) would only come again.
fn retryable(status: &tonic::Status) -> bool {
    use tonic::Code;
    if tls_refused(status) {
        return false;
    }
    match status.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted | Code::Aborted => {
            true
        }
        Code::Unknown | Code::Internal | Code::Cancelled => {
            std::error::Error::source(status).is_some()
                // tonic's own status for a body that ended inside a message.
                || status.message() == "Unexpected EOF decoding stream."
        }
        _ => false,
    }
}

/// Whether a TLS peer refused this client or its certificate (a fatal alert, such as
/// "certificate required"), or the server's certificate is not valid: retrying would
/// only be refused again. Transport errors wrap it in an `io::Error`, whose `source`
/// passes over it, so each one's inner error is looked at too.
fn tls_refused(status: &tonic::Status) -> bool {
    use std::error::Error;
    use tokio_rustls::rustls;
    let mut next: Option<&(dyn Error + 'static)> = Error::source(status);
    while let Some(error) = next {
        let inner = error
            .downcast_ref::<io::Error>()
            .and_then(io::Error::get_ref)
            .map(|inner| inner as &(dyn Error + 'static));
        // The TLS connector may keep rustls's error or only its text.
        let refused = [Some(error), inner].into_iter().flatten().any(|e| {
            matches!(
                e.downcast_ref::<rustls::Error>(),
                Some(rustls::Error::AlertReceived(_) | rustls::Error::InvalidCertificate(_))
            ) || {
                let text = e.to_string();
                text.starts_with("received fatal alert")
                    || text.starts_with("invalid peer certificate")
            }
        });
        if refused {
            return true;
        }
        next = error.source();
    }
    false
}

/// Reads the file a flag names.
fn read_flag_file(flag: &'static str, path: &PathBuf) -> Result<Vec<u8>, BatchError> {
    std::fs::read(path).map_err(|source| BatchError::File {
        flag,
        path: path.display().to_string(),
        source,
    })
}

/// The client's TLS settings, when any TLS flag is given.
fn client_tls(args: &BatchArgs) -> Result<Option<ClientTlsConfig>, BatchError> {
    if args.tls_ca.is_none() && args.tls_cert.is_none() && args.tls_domain.is_none() {
        return Ok(None);
    }
    let mut tls = ClientTlsConfig::new();
    if let Some(ca) = &args.tls_ca {
        tls = tls.ca_certificate(Certificate::from_pem(read_flag_file("--tls-ca", ca)?));
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        tls = tls.identity(Identity::from_pem(
            read_flag_file("--tls-cert", cert)?,
            read_flag_file("--tls-key", key)?,
        ));
    }
    if let Some(domain) = &args.tls_domain {
        tls = tls.domain_name(domain.clone());
    }
    Ok(Some(tls))
}

/// The `authorization` value, when a token is given: `--auth-token-file`, else
/// `--auth-token` (or `LEADCHECK_AUTH_TOKEN`). Marked sensitive, so it is never logged.
fn bearer_token(args: &BatchArgs) -> Result<Option<AsciiMetadataValue>, BatchError> {
    let (token, from) = match (&args.auth_token_file, &args.auth_token) {
        (Some(path), _) => {
            let text = read_flag_file("--auth-token-file", path)?;
            let token = crate::auth::parse_tokens(&String::from_utf8_lossy(&text))
                .into_iter()
                .next()
                .unwrap_or_default();
            (token, "--auth-token-file")
        }
        (None, Some(token)) => (token.trim().to_string(), "--auth-token"),
        (None, None) => return Ok(None),
    };
    let value = (!token.is_empty())
        .then(|| format!("Bearer {token}").parse::<AsciiMetadataValue>().ok())
        .flatten();
    let Some(mut value) = value else {
        return Err(BatchError::BadToken { from });
    };
    value.set_sensitive(true);
    Ok(Some(value))
}

/// Connects to every server (failing fast on any that cannot be reached now: a wrong
/// URL should not wait out the retries).
async fn connect(args: &BatchArgs) -> Result<Servers, BatchError> {
    let timeout = Duration::from_millis(args.connect_timeout_ms);
    let tls = client_tls(args)?;
    let token = bearer_token(args)?;
    let mut channels = Vec::with_capacity(args.servers.len());
    for url in &args.servers {
        let bad_url = |source| BatchError::BadUrl {
            url: url.clone(),
            source,
        };
        let mut endpoint = Endpoint::from_shared(url.clone())
            .map_err(bad_url)?
            .connect_timeout(timeout)
            .tcp_nodelay(true);
        let https = endpoint.uri().scheme_str() == Some("https");
        match (&tls, https) {
            (Some(tls), true) if args.tls_ca.is_some() => {
                endpoint = endpoint.tls_config(tls.clone()).map_err(BatchError::Tls)?;
            }
            (_, true) => return Err(BatchError::NoCa { url: url.clone() }),
            (Some(_), false) => return Err(BatchError::NotHttps { url: url.clone() }),
            (None, false) => {}
        }
        let channel = endpoint
            .connect()
            .await
            .map_err(|source| BatchError::Unreachable {
                url: url.clone(),
                source,
            })?;
        channels.push(channel);
    }
    Ok(Servers {
        urls: args.servers.clone(),
        state: Mutex::new(vec![ServerState::default(); channels.len()]),
        channels,
        token,
        backoff: Duration::from_millis(args.retry_backoff_ms),
    })
}

/// One `AssessLeads` call on `server`, requests sent as their bytes and answers decoded
/// by `codec`: whole (prost's), or only the part CSV output writes ([`view::Codec`]).
/// Answers are pushed onto `answers` as they come, so those before a failure are kept.
async fn assess_leads<C>(
    servers: &Servers,
    server: usize,
    requests: Vec<Bytes>,
    codec: C,
    answers: &mut Vec<Answer>,
    in_flight: &InFlight,
) -> Result<(), tonic::Status>
where
    C: tonic::codec::Codec<Encode = Bytes> + Send + 'static,
    C::Decode: Into<Answer> + Send + Sync + 'static,
{
    let mut client = tonic::client::Grpc::new(servers.channels[server].clone())
        .max_decoding_message_size(16 * 1024 * 1024);
    client
        .ready()
        .await
        .map_err(|e| tonic::Status::from_error(Box::new(e)))?;
    let mut request = tonic::Request::new(tokio_stream::iter(requests));
    request.extensions_mut().insert(tonic::GrpcMethod::new(
        "leadcheck.v1.LeadCheck",
        "AssessLeads",
    ));
    if let Some(token) = &servers.token {
        request
            .metadata_mut()
            .insert("authorization", token.clone());
    }
    let path =
        tonic::codegen::http::uri::PathAndQuery::from_static("/leadcheck.v1.LeadCheck/AssessLeads");
    let response = client.streaming(request, path, codec).await?;
    in_flight.announced(response.metadata());
    let mut stream = response.into_inner();
    while let Some(answer) = stream.next().await {
        answers.push(answer?.into());
    }
    Ok(())
}

/// Streams in flight at most, unless `--streams` says otherwise.
const MAX_STREAMS: usize = 32;

/// The leads in flight over all streams (`--in-flight`), and the window the servers
/// announce for each stream: a chunk holds a place for each of its leads the server
/// validates at once, so a server with a small window gets more streams, and one with a
/// wide window fewer.
struct InFlight {
    leads: Arc<Semaphore>,
    most: usize,
    /// The last window announced; until one is, the chunk size.
    window: AtomicUsize,
}

impl InFlight {
    fn new(most: usize, chunk: usize) -> Arc<InFlight> {
        let most = most.clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
        Arc::new(InFlight {
            leads: Arc::new(Semaphore::new(most)),
            most,
            window: AtomicUsize::new(chunk),
        })
    }

    /// Waits until a chunk may start; the places it holds are given back when dropped.
    async fn admit(self: Arc<Self>, rows: Vec<Row>) -> (Vec<Row>, Option<OwnedSemaphorePermit>) {
        let window = self.window.load(Ordering::Relaxed);
        let places = rows.len().min(window).clamp(1, self.most) as u32;
        let permit = self.leads.clone().acquire_many_owned(places).await.ok();
        (rows, permit)
    }

    /// Reads a stream's window from its response headers (an older server sends none).
    fn announced(&self, headers: &tonic::metadata::MetadataMap) {
        let window = headers
            .get(crate::rpc::STREAM_IN_FLIGHT_HEADER)
            .and_then(|value| value.to_str().ok()?.parse::<usize>().ok());
        if let Some(window) = window {
            self.window.store(window.max(1), Ordering::Relaxed);
        }
    }
}

/// Sends one chunk and pairs every row with its assessment, whole or only what CSV output
/// writes (`whole` false). A stream that fails in a way worth retrying is sent again, to
/// another server where there is one, after a backoff: only its unanswered rows, the
/// answers already in kept (a stream answers in order).
async fn assess_chunk(
    servers: &Servers,
    retries: &Retries,
    rows: Vec<Row>,
    whole: bool,
    in_flight: &InFlight,
) -> Result<Vec<(Row, Option<Answer>)>, BatchError> {
    // The rows keep their requests, to pair the answers; the stream sends their bytes
    // (shared, not copied).
    let sent: Vec<(u64, &Bytes)> = rows
        .iter()
        .filter_map(|row| row.request.as_ref().ok())
        .map(|request| (request.id, &request.bytes))
        .collect();
    let expected = sent.len();
    // Room for every answer up front: growing the vector copied each one again.
    let mut answers: Vec<Answer> = Vec::with_capacity(expected);
    let mut avoid = None;
    let mut in_a_row = 0;
    while answers.len() < expected {
        let before = answers.len();
        let server = servers.pick(avoid);
        let pending: Vec<Bytes> = sent[before..].iter().map(|(_, b)| (*b).clone()).collect();
        servers.begin(server);
        let result = if whole {
            assess_leads(
                servers,
                server,
                pending,
                view::Whole,
                &mut answers,
                in_flight,
            )
            .await
        } else {
            assess_leads(
                servers,
                server,
                pending,
                view::Codec,
                &mut answers,
                in_flight,
            )
            .await
        };
        if answers.len() > expected {
            servers.end(server, false);
            return Err(BatchError::Contract {
                line: sent[before].0,
                problem: "more answers than leads",
            });
        }
        let failure = match result {
            Ok(()) if answers.len() == expected => {
                servers.end(server, false);
                break;
            }
            // Ended early without an error: the server handed the stream back.
            Ok(()) => tonic::Status::unavailable("the stream ended before every lead was answered"),
            Err(status) => status,
        };
        let line = sent[answers.len()].0;
        if !retryable(&failure) {
            servers.end(server, false);
            return Err(BatchError::Refused {
                line,
                code: failure.code(),
                source: failure,
            });
        }
        servers.end(server, true);
        // A stream that got somewhere starts the count and the backoff over.
        if answers.len() > before {
            in_a_row = 0;
        }
        in_a_row += 1;
        if in_a_row > MAX_FAILURES_IN_A_ROW {
            return Err(BatchError::GaveUp {
                line,
                failures: in_a_row,
                source: failure,
            });
        }
        if !retries.take() {
            return Err(BatchError::RetriesSpent {
                line,
                budget: retries.budget,
                source: failure,
            });
        }
        tracing::warn!(
            server = %servers.urls[server],
            line,
            code = ?failure.code(),
            status = failure.message(),
            "stream failed: its unanswered rows are sent again"
        );
        tokio::time::sleep(jittered(servers.backoff, in_a_row - 1)).await;
        avoid = Some(server);
    }
    drop(sent);
    let mut answers = answers.into_iter();
    let mut paired = Vec::with_capacity(rows.len());
    for row in rows {
        let answer = match &row.request {
            Ok(request) => {
                let answer = answers.next();
                if !answer.as_ref().is_some_and(|a| request.answered_by(a)) {
                    return Err(BatchError::Contract {
                        line: row.line,
                        problem: "answers out of order",
                    });
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

/// The output, written only when told, at the end of a chunk: what reaches it is whole
/// rows, so a run stopped any way short of the system failing mid-write leaves complete
/// rows only (and `--resume` cuts off a torn one).
struct WholeRows {
    out: Box<dyn Write + Send>,
    pending: Vec<u8>,
}

impl WholeRows {
    fn new(out: Box<dyn Write + Send>) -> WholeRows {
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
enum Output {
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

/// The length of the complete rows at the start of an output: up to its last line end
/// outside quotes (CSV, as the csv crate writes it: a quote inside a field is doubled, so
/// quotes pair up) or its last line end (JSON Lines). What follows is a torn row.
fn complete_prefix(mut out: impl Read, csv: bool) -> io::Result<u64> {
    let mut buf = vec![0; OUTPUT_BUFFER];
    let (mut offset, mut keep, mut quoted) = (0u64, 0u64, false);
    loop {
        let n = match out.read(&mut buf) {
            Ok(0) => return Ok(keep),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        for (i, &byte) in buf[..n].iter().enumerate() {
            match byte {
                b'"' if csv => quoted = !quoted,
                b'\n' if !quoted => keep = offset + i as u64 + 1,
                _ => {}
            }
        }
        offset += n as u64;
    }
}

/// What an earlier run left in the output, for `--resume`.
struct Resumed {
    /// Rows kept, the header not counted.
    rows: u64,
    /// Hashes of the dedup keys written, for `--dedup`.
    seen: HashSet<u64>,
    /// Where the input's rows that are already out are passed over.
    skip: Skip,
    /// The moment the rows written were assessed at, where the output says it (JSON Lines'
    /// `assessedAt`).
    assessed_at: Option<SystemTime>,
}

/// Reads back the complete rows of an output that `--resume` carries on, the first
/// `keep` bytes: checks the CSV header is `header`, counts the rows, notes their dedup
/// keys, and says which input rows they are.
fn read_back(
    path: &Path,
    keep: u64,
    header: Option<&[String]>,
    gaps: bool,
    hasher: &RandomState,
) -> Result<Resumed, ResumeError> {
    let open = || {
        File::open(path)
            .map(|f| f.take(keep))
            .map_err(ResumeError::Read)
    };
    let mut seen = HashSet::new();
    let mut rows = 0;
    let Some(header) = header else {
        // JSON Lines: each answer echoes its input line as its request id.
        let mut through = 0;
        let mut assessed_at = None;
        for line in BufReader::new(open()?).split(b'\n') {
            let line = line.map_err(ResumeError::Read)?;
            rows += 1;
            let answer: serde_json::Value = serde_json::from_slice(&line)
                .map_err(|_| ResumeError::NoRequestId { line: rows })?;
            through = answer["requestId"]
                .as_str()
                .and_then(|id| id.parse().ok())
                .ok_or(ResumeError::NoRequestId { line: rows })?;
            if let Some(key) = answer["dedupKey"].as_str().filter(|k| !k.is_empty()) {
                seen.insert(hasher.hash_one(key.as_bytes()));
            }
            assessed_at = answer["assessedAt"].as_str().and_then(parse_time);
        }
        return Ok(Resumed {
            rows,
            seen,
            skip: Skip::Through(through),
            assessed_at,
        });
    };
    let reader = |input| csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let mut written = reader(open()?);
    let headers = written
        .byte_headers()
        .map_err(|e| ResumeError::Read(e.into()))?;
    let expected = header.iter().map(String::as_str).chain(OUTPUT_COLUMNS);
    if !headers.iter().eq(expected.map(str::as_bytes)) {
        return Err(ResumeError::Header);
    }
    let mut record = csv::ByteRecord::new();
    while written
        .read_byte_record(&mut record)
        .map_err(|e| ResumeError::Read(e.into()))?
    {
        rows += 1;
        if let Some(key) = record
            .get(record.len().wrapping_sub(1))
            .filter(|k| !k.is_empty())
        {
            seen.insert(hasher.hash_one(key));
        }
    }
    // Read again as the input is read: each row written is matched with the input's.
    let skip = Skip::csv(reader(open()?), gaps)?;
    Ok(Resumed {
        rows,
        seen,
        skip,
        assessed_at: None,
    })
}

/// Opens the output: a new file, stdout, or with `--resume` the file an earlier run
/// wrote, its torn last row cut off, to append to. `header` is the CSV header it must
/// have (None for JSON Lines). With nothing complete in it, the run starts afresh.
fn open_output(
    args: &BatchArgs,
    header: Option<&[String]>,
    hasher: &RandomState,
) -> Result<(Box<dyn Write + Send>, Option<Resumed>), BatchError> {
    let path = &args.output;
    let shown = path.display().to_string();
    let output = |source| BatchError::Output {
        path: shown.clone(),
        source,
    };
    let resume = |source| BatchError::Resume {
        path: shown.clone(),
        source,
    };
    if path.as_os_str() == "-" {
        if args.resume {
            return Err(resume(ResumeError::Stdout));
        }
        return Ok((Box::new(io::stdout()), None));
    }
    if !args.resume {
        return Ok((Box::new(File::create(path).map_err(output)?), None));
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(output)?;
    let keep =
        complete_prefix(&mut file, header.is_some()).map_err(|e| resume(ResumeError::Read(e)))?;
    let resumed = if keep == 0 {
        None
    } else {
        let gaps = args.dedup || Filter::of(args).any();
        Some(read_back(path, keep, header, gaps, hasher).map_err(resume)?)
    };
    file.set_len(keep).map_err(output)?;
    file.seek(io::SeekFrom::End(0)).map_err(output)?;
    Ok((Box::new(file), resumed))
}

/// Completes on Ctrl-C; never, where it cannot be listened for.
async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Runs a batch job and returns its summary.
pub async fn run(args: BatchArgs) -> Result<Summary, BatchError> {
    let servers = connect(&args).await?;
    let retries = Retries::new(args.retry_budget);
    let (reader, total_bytes) = open_input(&args.input)?;
    let progress = Arc::new(Progress {
        rows: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
        total_bytes,
    });
    let input_path = args.input.display().to_string();
    let output_path = args.output.display().to_string();
    let output_error = |source: io::Error| BatchError::Output {
        path: output_path.clone(),
        source,
    };
    // The dedup keys' hasher: the output's keys, read back on `--resume`, and the new
    // ones' hashes must agree.
    let hasher = RandomState::new();

    // CSV output writes part of each answer: only that part is decoded (see `view`).
    let whole = !matches!(args.format, Format::Csv);
    // Every row is assessed at one moment, so that the run's answers do not depend on when
    // each chunk happened to be sent.
    let started = SystemTime::now();
    let (input, mut columns, width, output, resumed) = match args.format {
        Format::Csv => {
            let (counted, lines) = LineCounter::new(reader);
            let mut reader = csv::ReaderBuilder::new()
                .flexible(true)
                .from_reader(counted);
            let headers: Vec<String> = reader
                .headers()
                .map_err(|e| BatchError::Input {
                    path: input_path.clone(),
                    line: None,
                    source: e.into(),
                })?
                .iter()
                .map(str::to_string)
                .collect();
            let columns = Columns::from_headers(&headers);
            let (out, resumed) = open_output(&args, Some(&headers), &hasher)?;
            let mut writer = csv_writer(Box::new(WholeRows::new(out)));
            if resumed.is_none() {
                let header_out = headers.iter().map(String::as_str).chain(OUTPUT_COLUMNS);
                writer
                    .write_record(header_out)
                    .map_err(|e| output_error(e.into()))?;
            }
            (
                Input::Csv(reader, lines),
                columns,
                headers.len(),
                Output::Csv {
                    writer: Box::new(writer),
                    width: headers.len(),
                    reasons: Vec::new(),
                },
                resumed,
            )
        }
        Format::Jsonl => {
            let (out, resumed) = open_output(&args, None, &hasher)?;
            (
                Input::Jsonl(BufReader::new(reader).lines()),
                Columns::default(),
                0,
                Output::Jsonl(WholeRows::new(out)),
                resumed,
            )
        }
    };
    let (skip, seen, already, assessed_at) = match resumed {
        Some(r) => (r.skip, r.seen, r.rows, r.assessed_at),
        None => (Skip::Nothing, HashSet::new(), 0, None),
    };
    let as_of = args.as_of.or(assessed_at).unwrap_or(started);
    columns.as_of = Some(as_of_timestamp(as_of));

    let streams = args.streams.unwrap_or(MAX_STREAMS).max(1);
    let chunk = args.chunk.max(1);
    let in_flight = InFlight::new(args.in_flight, chunk);
    let (tx, rx) = mpsc::channel::<Vec<Row>>(2);
    let reader_progress = progress.clone();
    let reader_task = tokio::task::spawn_blocking(move || {
        read_rows(input, columns, width, chunk, reader_progress, tx, skip)
    });
    let ticker = (!args.quiet).then(|| spawn_progress(progress.clone()));

    // A chunk starts once it has its places among the leads in flight, and gives them
    // back when its stream ends.
    let admitted = tokio_stream::wrappers::ReceiverStream::new(rx)
        .then(|rows| in_flight.clone().admit(rows))
        .map(|(rows, places)| {
            let (servers, retries, in_flight) = (&servers, &retries, &in_flight);
            async move {
                let answers = assess_chunk(servers, retries, rows, whole, in_flight).await;
                drop(places);
                answers
            }
        });
    let mut results = Box::pin(admitted.buffered(streams));
    // Output is written on a thread of its own: while this one wrote a chunk's rows, the
    // runtime polled no stream, and the server waited for requests and window updates.
    let (done_tx, done_rx) = mpsc::channel::<Vec<(Row, Option<Answer>)>>(2);
    let dedup = args.dedup.then_some((hasher, seen));
    let filter = Filter::of(&args);
    let writer = tokio::task::spawn_blocking(move || write_rows(done_rx, output, dedup, filter));
    // Ctrl-C stops the streams; the rows answered before it are written and flushed.
    let interrupt = interrupted();
    tokio::pin!(interrupt);
    let mut stopped = false;
    let outcome = loop {
        let chunk = tokio::select! {
            chunk = results.next() => chunk,
            () = &mut interrupt => {
                stopped = true;
                break Ok(());
            }
        };
        match chunk {
            None => break Ok(()),
            Some(Err(err)) => break Err(err),
            Some(Ok(chunk)) => {
                if done_tx.send(chunk).await.is_err() {
                    break Ok(()); // the writer stopped: its error is the one to report
                }
            }
        }
    };
    drop(done_tx);
    let written = writer
        .await
        .unwrap_or_else(|e| Err(output_error(io::Error::other(e))));
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
        .unwrap_or_else(|e| {
            Err(ReadFailure::Io {
                line: 0,
                source: io::Error::other(e),
            })
        })
        .map_err(|failure| match failure {
            ReadFailure::Io { line, source } => BatchError::Input {
                path: input_path,
                line: (line > 0).then_some(line),
                source,
            },
            ReadFailure::Resume(source) => BatchError::Resume {
                path: output_path.clone(),
                source,
            },
        });
    let mut summary = read.and(written).map_err(|e| e.with_output(&output_path))?;
    summary.resumed = already;
    if stopped {
        return Err(BatchError::Interrupted {
            written: already + summary.written,
        });
    }
    outcome.map(|()| summary)
}

/// Writes the assessed rows in the order they come, counting them, and dropping a row
/// whose dedup key was seen before when `dedup` gives the keys' hasher and those seen
/// already. Each chunk is flushed whole. Returns the run's counts.
fn write_rows(
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

impl BatchError {
    /// Names the output in an output error made where its path was not known.
    fn with_output(self, path: &str) -> BatchError {
        match self {
            BatchError::Output { path: p, source } if p.is_empty() => BatchError::Output {
                path: path.to_string(),
                source,
            },
            other => other,
        }
    }
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

    /// The seeds' export and filter columns, in each language of the portal, reach their
    /// fields; the lead type's values too.
    #[test]
    fn the_seeds_columns_map_in_every_language() {
        let exports: [[&str; 5]; 4] = [
            [
                "Country or region",
                "Customer name",
                "Lead source",
                "Call to action",
                "Lead type",
            ],
            [
                "País o región",
                "Nombre del cliente",
                "Origen de cliente potencial",
                "Llamada a la acción",
                "Tipo de cliente potencial",
            ],
            [
                "País ou região",
                "Nome do cliente",
                "Origem do cliente potencial",
                "Chamada para ação",
                "Tipo de lead",
            ],
            [
                "Страна или регион",
                "Имя клиента",
                "Источник потенциального клиента",
                "Призыв к действию",
                "Тип потенциального клиента",
            ],
        ];
        for names in exports {
            let headers: Vec<String> = names.map(String::from).to_vec();
            let c = Columns::from_headers(&headers);
            assert_eq!(c.country, Some(0), "{names:?}");
            assert_eq!(c.company, Some(1), "{names:?}");
            assert_eq!(c.lead_source, Some(2), "{names:?}");
            assert_eq!(c.call_to_action, Some(3), "{names:?}");
            assert_eq!(c.lead_type, Some(4), "{names:?}");
            let record = csv::StringRecord::from(vec![
                "Brasil",
                "Contoso",
                "AppSource",
                "Free trial",
                "Oferta",
            ]);
            let request = c.request(2, &record, &mut Vec::new());
            let request: pb::AssessLeadRequest = prost::Message::decode(request.bytes).unwrap();
            let lead = request.lead.unwrap();
            assert_eq!(lead.company, "Contoso");
            assert_eq!(lead.call_to_action, "Free trial");
            assert_eq!(lead.lead_type(), pb::LeadType::Offer);
        }
        for (text, want) in [
            ("Offer", pb::LeadType::Offer),
            ("Perfil", pb::LeadType::Profile),
            ("Профиль", pb::LeadType::Profile),
            ("Предложение", pb::LeadType::Offer),
            ("", pb::LeadType::Unspecified),
            ("other", pb::LeadType::Unspecified),
        ] {
            assert_eq!(lead_type_of(text), want, "{text}");
        }
        // One table, no name twice for different fields.
        for (i, (name, field)) in HEADERS.iter().enumerate() {
            assert_eq!(header_key(name), *name, "{name} is not folded");
            assert!(
                HEADERS[..i].iter().all(|(n, f)| n != name || f == field),
                "{name} maps to two fields"
            );
        }
    }

    #[test]
    fn filters_keep_a_valid_contact_and_a_high_lead() {
        let answer =
            |email: pb::EmailValidity, phone: pb::PhoneValidity, quality: pb::LeadQuality| {
                Answer::Whole(Box::new(pb::LeadAssessment {
                    email: Some(pb::EmailVerdict {
                        validity: email as i32,
                        ..Default::default()
                    }),
                    phone: Some(pb::PhoneVerdict {
                        validity: phone as i32,
                        ..Default::default()
                    }),
                    quality: quality as i32,
                    ..Default::default()
                }))
            };
        use pb::{EmailValidity as E, LeadQuality as Q, PhoneValidity as P};
        let valid_phone_low = answer(E::Invalid, P::Valid, Q::Low);
        let valid_email_high = answer(E::Valid, P::Invalid, Q::High);
        let none_valid_high = answer(E::Spam, P::Unknown, Q::High);
        let only_valid = Filter {
            only_valid: true,
            high_only: false,
        };
        let high_only = Filter {
            only_valid: false,
            high_only: true,
        };
        let both = Filter {
            only_valid: true,
            high_only: true,
        };
        let cases = [
            (Filter::default(), [true, true, true, true]),
            (only_valid, [true, true, false, false]),
            (high_only, [false, true, true, false]),
            (both, [false, true, false, false]),
        ];
        for (filter, want) in cases {
            let got = [
                filter.keeps(Some(&valid_phone_low)),
                filter.keeps(Some(&valid_email_high)),
                filter.keeps(Some(&none_valid_high)),
                filter.keeps(None),
            ];
            assert_eq!(got, want, "{filter:?}");
        }
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

    /// A torn last row is cut off: CSV up to the last line end outside quotes (a field
    /// may hold line ends), JSON Lines up to the last line end.
    #[test]
    fn the_complete_prefix_ends_at_the_last_whole_row() {
        let csv = |text: &str| complete_prefix(text.as_bytes(), true).unwrap();
        assert_eq!(csv(""), 0);
        assert_eq!(csv("h,i"), 0);
        assert_eq!(csv("h,i\n"), 4);
        assert_eq!(csv("h,i\na,1\nb,"), 8);
        assert_eq!(csv("h,i\na,\"two\nlines"), 4);
        assert_eq!(csv("h,i\na,\"two\nlines\"\n"), 18);
        assert_eq!(csv("h,i\na,\"say \"\"hi\"\"\n\"\nb"), 20);
        let jsonl = |text: &str| complete_prefix(text.as_bytes(), false).unwrap();
        assert_eq!(jsonl("{\"a\":\"\\\"\"}\n{\"b"), 11);
        // Bigger than the read buffer, the tear in the second block.
        let big = "x,\"1\n2\"\n".repeat(OUTPUT_BUFFER / 4) + "y,\"";
        assert_eq!(csv(&big), (big.len() - 3) as u64);
    }

    /// Retried: what a restart, a drain, a reset or a deadline gives. Not retried: a
    /// server's refusal, and its own INTERNAL (no transport error under it).
    #[test]
    fn only_failures_of_the_way_there_are_retried() {
        use tonic::{Code, Status};
        for code in [
            Code::Unavailable,
            Code::DeadlineExceeded,
            Code::ResourceExhausted,
            Code::Aborted,
        ] {
            assert!(retryable(&Status::new(code, "")), "{code:?}");
        }
        for code in [
            Code::InvalidArgument,
            Code::Unauthenticated,
            Code::PermissionDenied,
            Code::Unimplemented,
            Code::Internal,
            Code::Unknown,
            Code::FailedPrecondition,
        ] {
            assert!(!retryable(&Status::new(code, "")), "{code:?}");
        }
        let reset = Status::from_error(Box::new(io::Error::from(io::ErrorKind::ConnectionReset)));
        assert_eq!(reset.code(), Code::Unknown);
        assert!(retryable(&reset));
        assert!(retryable(&Status::internal(
            "Unexpected EOF decoding stream."
        )));
        // A server that wants a client certificate: refused again on every try, whether
        // the connector keeps rustls's error or, as tonic's does, only its text.
        use tokio_rustls::rustls::{AlertDescription, Error as TlsError};
        let alert = TlsError::AlertReceived(AlertDescription::CertificateRequired);
        let typed = io::Error::new(io::ErrorKind::InvalidData, alert);
        assert!(!retryable(&Status::from_error(Box::new(typed))));
        let text = io::Error::new(
            io::ErrorKind::InvalidData,
            "received fatal alert: CertificateRequired",
        );
        assert!(!retryable(&Status::from_error(Box::new(text))));
        let closed = io::Error::new(io::ErrorKind::UnexpectedEof, "peer closed connection");
        assert!(retryable(&Status::from_error(Box::new(closed))));
    }

    #[test]
    fn backoff_doubles_up_to_its_cap_and_jitter_stays_in_its_upper_half() {
        let ms = Duration::from_millis;
        assert_eq!(backoff(ms(200), 0), ms(200));
        assert_eq!(backoff(ms(200), 3), ms(1600));
        assert_eq!(backoff(ms(200), 10), MAX_BACKOFF);
        assert_eq!(backoff(ms(200), u32::MAX), MAX_BACKOFF);
        assert_eq!(backoff(ms(9000), 4), ms(9000));
        for attempt in 0..8 {
            let full = backoff(ms(100), attempt);
            let wait = jittered(ms(100), attempt);
            assert!(wait >= full / 2 && wait <= full, "{wait:?} of {full:?}");
        }
        let retries = Retries::new(2);
        assert!(retries.take() && retries.take());
        assert!(!retries.take());
    }

    /// A chunk goes to the least busy server, away from one that just failed.
    #[test]
    fn a_failed_server_is_passed_over_while_it_rests() {
        let servers = Servers {
            urls: vec![String::new(); 3],
            channels: Vec::new(),
            state: Mutex::new(vec![ServerState::default(); 3]),
            token: None,
            backoff: Duration::from_secs(60),
        };
        assert_eq!(servers.pick(None), 0);
        servers.begin(0);
        assert_eq!(servers.pick(None), 1);
        assert_eq!(servers.pick(Some(1)), 2);
        servers.begin(1);
        servers.end(1, true);
        servers.begin(2);
        // 0 and 2 are busy, 1 is idle but rests after its failure.
        assert_eq!(servers.pick(None), 0);
        servers.end(0, true);
        servers.end(2, true);
        // All rest: the one back soonest.
        assert_eq!(servers.pick(None), 1);
        servers.begin(1);
        servers.end(1, false);
        assert_eq!(servers.pick(None), 1);
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
