//! `leadcheck batch`: streams a lead export (CSV or JSON Lines) through `AssessLeads` on one
//! or more servers and writes every input row back with its verdicts.
//!
//! The input is read on a blocking thread and cut into chunks; each chunk is one
//! `AssessLeads` stream over a balanced channel, a few chunks run at once, and results are
//! written in input order. Memory holds only the chunks in flight, so it stays flat however
//! large the file.

mod client;
mod columns;
mod input;
mod output;
mod progress;
mod resume;
mod view;

use crate::pb;
use client::{assess_chunk, connect, InFlight, Retries, MAX_STREAMS};
use columns::Columns;
use futures::StreamExt;
use input::{
    as_of_timestamp, open_input, parse_as_of, read_rows, Input, LineCounter, ReadFailure, Row,
};
use output::{csv_writer, write_rows, Answer, Output, WholeRows, OUTPUT_COLUMNS};
use progress::{spawn_progress, Progress};
use resume::{open_output, Skip};
use std::collections::HashSet;
use std::fmt;
use std::hash::RandomState;
use std::io::{self, BufRead, BufReader, IsTerminal};
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::mpsc;
use tracing::Instrument;

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
pub(super) struct Filter {
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
    /// Most leads in flight at once over all streams: each stream holds as many as the
    /// server's window (its `leadcheck-stream-in-flight` header) lets it validate at once,
    /// and more streams start until this many are in flight. Enough to hide a resolver's
    /// latency; halved each time a server answers RESOURCE_EXHAUSTED (busy), and grown
    /// back a chunk at a time as chunks are answered.
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
    /// Chunks sent again after their stream failed (a server busy, restarting, draining,
    /// or a broken connection): what the run spent of `--retry-budget`.
    pub resent: u64,
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
        )?;
        if self.resent > 0 {
            write!(f, "\nchunks sent again: {}", self.resent)?;
        }
        Ok(())
    }
}

/// Completes on Ctrl-C; never, where it cannot be listened for.
async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Runs a batch job and returns its summary.
///
/// With traces on (`OTEL_EXPORTER_OTLP_ENDPOINT`), the run is one trace: this span, a
/// `chunk` span under it for each stream a chunk is sent on (retries included), and the
/// servers' spans under those, since each stream carries its chunk's `traceparent`. Its
/// attributes are counts, never a row's values.
pub async fn run(args: BatchArgs) -> Result<Summary, BatchError> {
    let span = tracing::debug_span!(
        "batch run",
        leadcheck.batch.servers = args.servers.len(),
        leadcheck.batch.rows = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    let result = run_job(args).instrument(span.clone()).await;
    match &result {
        Ok(summary) => span.record("leadcheck.batch.rows", summary.rows),
        Err(_) => span.record("otel.status_code", "ERROR"),
    };
    result
}

async fn run_job(args: BatchArgs) -> Result<Summary, BatchError> {
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
            let (servers, retries) = (&servers, &retries);
            async move { assess_chunk(servers, retries, rows, whole, places).await }
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
    summary.resent = retries.spent();
    if stopped {
        return Err(BatchError::Interrupted {
            written: already + summary.written,
        });
    }
    outcome.map(|()| summary)
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
