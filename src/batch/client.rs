//! Talking to the servers: channels with TLS and a bearer token, the choice of server,
//! retries with backoff and a budget, and the chunks in flight over `AssessLeads` streams.

use super::input::Row;
use super::output::Answer;
use super::view;
use super::{BatchArgs, BatchError};
use futures::StreamExt;
use prost::bytes::Bytes;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::metadata::AsciiMetadataValue;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tracing::Instrument;

/// The longest wait before a chunk is sent again (unless `--retry-backoff-ms` is longer).
pub(super) const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Failures of one chunk in a row, no answer between them, before the run gives up on
/// it: with the default backoff, a server away for about a minute. A dead server then
/// fails the run in that time, not after the whole budget.
pub(super) const MAX_FAILURES_IN_A_ROW: u32 = 16;

/// The servers of a run, each on a channel of its own (one HTTP/2 connection, made again
/// after it breaks), and how each is faring: chunks go to the least busy server that has
/// not just failed, so a server that restarts or drains is passed over while it is away.
pub(super) struct Servers {
    urls: Vec<String>,
    channels: Vec<Channel>,
    state: Mutex<Vec<ServerState>>,
    /// `Bearer TOKEN`, sent with every call.
    token: Option<AsciiMetadataValue>,
    /// The first wait after a failure.
    backoff: Duration,
}

#[derive(Debug, Clone, Default)]
pub(super) struct ServerState {
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
pub(super) struct Retries {
    budget: u32,
    left: AtomicU64,
}

impl Retries {
    pub(super) fn new(budget: u32) -> Retries {
        Retries {
            budget,
            left: AtomicU64::new(u64::from(budget)),
        }
    }

    /// The retries taken.
    pub(super) fn spent(&self) -> u64 {
        u64::from(self.budget).saturating_sub(self.left.load(Ordering::Relaxed))
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
pub(super) fn backoff(base: Duration, attempt: u32) -> Duration {
    base.saturating_mul(1 << attempt.min(20))
        .min(MAX_BACKOFF.max(base))
}

/// [`backoff`] with full jitter over its upper half: chunks that failed together do not
/// all come back at the same instant.
pub(super) fn jittered(base: Duration, attempt: u32) -> Duration {
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
pub(super) fn retryable(status: &tonic::Status) -> bool {
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
pub(super) fn tls_refused(status: &tonic::Status) -> bool {
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
pub(super) fn read_flag_file(flag: &'static str, path: &PathBuf) -> Result<Vec<u8>, BatchError> {
    std::fs::read(path).map_err(|source| BatchError::File {
        flag,
        path: path.display().to_string(),
        source,
    })
}

/// The client's TLS settings, when any TLS flag is given.
pub(super) fn client_tls(args: &BatchArgs) -> Result<Option<ClientTlsConfig>, BatchError> {
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
pub(super) fn bearer_token(args: &BatchArgs) -> Result<Option<AsciiMetadataValue>, BatchError> {
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
pub(super) async fn connect(args: &BatchArgs) -> Result<Servers, BatchError> {
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
pub(super) async fn assess_leads<C>(
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
    let requests_len = requests.len();
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
    // The chunk's span, under the run's: the server's span of this stream continues it.
    let span = tracing::debug_span!(
        "chunk",
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        rpc.system = "grpc",
        rpc.service = "leadcheck.v1.LeadCheck",
        rpc.method = "AssessLeads",
        rpc.grpc.status_code = tracing::field::Empty,
        leadcheck.batch.leads = requests_len,
        leadcheck.batch.server = server,
    );
    crate::telemetry::inject(&span, request.metadata_mut());
    let path =
        tonic::codegen::http::uri::PathAndQuery::from_static("/leadcheck.v1.LeadCheck/AssessLeads");
    let streamed = async {
        let response = client.streaming(request, path, codec).await?;
        in_flight.announced(response.metadata());
        let mut stream = response.into_inner();
        while let Some(answer) = stream.next().await {
            answers.push(answer?.into());
        }
        Ok(())
    };
    let result: Result<(), tonic::Status> = streamed.instrument(span.clone()).await;
    let code = result
        .as_ref()
        .err()
        .map_or(tonic::Code::Ok, tonic::Status::code);
    span.record("rpc.grpc.status_code", code as i64);
    if code != tonic::Code::Ok {
        span.record("otel.status_code", "ERROR");
    }
    result
}

/// Streams in flight at most, unless `--streams` says otherwise.
pub(super) const MAX_STREAMS: usize = 32;

/// The leads in flight over all streams, and the window the servers announce for each
/// stream: a chunk holds a place for each of its leads the server validates at once, so a
/// server with a small window gets more streams, and one with a wide window fewer.
///
/// How many leads may be in flight is a window of its own, as TCP's congestion window:
/// `--in-flight` at most, halved each time a server refuses a stream as busy
/// (RESOURCE_EXHAUSTED), grown back by a chunk for each window's worth of leads answered.
/// A busy server then sees fewer streams, not every refused chunk coming back at once.
pub(super) struct InFlight {
    leads: Arc<Semaphore>,
    most: usize,
    /// The last window announced; until one is, the chunk size.
    window: AtomicUsize,
    limit: Mutex<Limit>,
}

/// The leads that may be in flight now, and what the semaphore still owes after a shrink.
#[derive(Debug)]
struct Limit {
    /// 1 to `most`: the semaphore's permits, held and free, less `debt`.
    now: usize,
    /// Places held by chunks when the window shrank, kept back as they are given back.
    debt: usize,
    /// Leads answered since the window last grew.
    answered: usize,
}

impl InFlight {
    pub(super) fn new(most: usize, chunk: usize) -> Arc<InFlight> {
        let most = most.clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
        Arc::new(InFlight {
            leads: Arc::new(Semaphore::new(most)),
            most,
            window: AtomicUsize::new(chunk),
            limit: Mutex::new(Limit {
                now: most,
                debt: 0,
                answered: 0,
            }),
        })
    }

    fn limit(&self) -> std::sync::MutexGuard<'_, Limit> {
        self.limit.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The leads that may be in flight now.
    fn now(&self) -> usize {
        self.limit().now
    }

    /// The places a chunk of `rows` leads takes while the window is wide enough: as many
    /// as the server validates at once.
    fn chunk_places(&self, rows: usize) -> usize {
        let window = self.window.load(Ordering::Relaxed);
        rows.min(window).clamp(1, self.most)
    }

    /// The places a chunk of `rows` leads takes now: never more than the window, so that
    /// it always fits.
    fn places_for(&self, rows: usize) -> u32 {
        self.chunk_places(rows).min(self.now()) as u32
    }

    /// Waits for `rows` leads' places (the semaphore is never closed; were it, the chunk
    /// would go without).
    async fn take(self: &Arc<Self>, rows: usize) -> Option<OwnedSemaphorePermit> {
        let places = self.places_for(rows);
        self.leads.clone().acquire_many_owned(places).await.ok()
    }

    /// Waits for the places of a chunk of `rows` leads; they are given back when dropped.
    async fn places(self: Arc<Self>, rows: usize) -> Places {
        Places {
            permit: self.take(rows).await,
            rows,
            in_flight: self,
        }
    }

    /// Waits until a chunk may start; its places are given back when dropped.
    pub(super) async fn admit(self: Arc<Self>, rows: Vec<Row>) -> (Vec<Row>, Places) {
        let places = self.places(rows.len()).await;
        (rows, places)
    }

    /// A server refused a stream of `rows` leads as busy: half as many leads in flight
    /// from now on, but room for that chunk still (one stream at least runs, and a window
    /// narrower than a chunk would only let the waiting chunks in on a place or two each,
    /// all at once). The free places go at once; those held are kept back as their chunks
    /// give them back.
    fn shrink(&self, rows: usize) {
        let floor = self.chunk_places(rows);
        let mut limit = self.limit();
        let halved = (limit.now / 2).max(floor).min(limit.now);
        let cut = limit.now - halved;
        limit.now = halved;
        limit.answered = 0;
        limit.debt += cut - self.leads.forget_permits(cut);
        tracing::debug!(leads = halved, "a server is busy: fewer leads in flight");
    }

    /// A chunk of `rows` leads was answered: after a window's worth of leads, the window
    /// grows by a chunk's places, up to `--in-flight`.
    fn answered(&self, rows: usize) {
        let chunk = self.chunk_places(rows);
        let mut limit = self.limit();
        if limit.now >= self.most {
            return;
        }
        limit.answered += rows;
        if limit.answered < limit.now {
            return;
        }
        limit.answered = 0;
        let grown = (limit.now + chunk).min(self.most);
        let more = grown - limit.now;
        limit.now = grown;
        let forgiven = more.min(limit.debt);
        limit.debt -= forgiven;
        self.leads.add_permits(more - forgiven);
    }

    /// Gives back a chunk's places, less what the window owes.
    fn give_back(&self, mut permit: OwnedSemaphorePermit) {
        let mut limit = self.limit();
        let owed = limit.debt.min(permit.num_permits());
        if owed > 0 {
            if let Some(kept) = permit.split(owed) {
                kept.forget();
                limit.debt -= owed;
            }
        }
        drop(permit);
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

/// A chunk's places among the leads in flight, given back when dropped.
pub(super) struct Places {
    permit: Option<OwnedSemaphorePermit>,
    rows: usize,
    in_flight: Arc<InFlight>,
}

impl Places {
    /// Gives the places back, less what the window owes.
    fn give_back(&mut self) {
        if let Some(permit) = self.permit.take() {
            self.in_flight.give_back(permit);
        }
    }

    /// Waits for the places again, under the window as it is now.
    async fn again(&mut self) {
        self.give_back();
        self.permit = self.in_flight.take(self.rows).await;
    }
}

impl Drop for Places {
    fn drop(&mut self) {
        self.give_back();
    }
}

/// Sends one chunk and pairs every row with its assessment, whole or only what CSV output
/// writes (`whole` false). A stream that fails in a way worth retrying is sent again, to
/// another server where there is one, after a backoff: only its unanswered rows, the
/// answers already in kept (a stream answers in order). A chunk refused as busy takes its
/// `places` again under the window, halved, before it is sent again.
pub(super) async fn assess_chunk(
    servers: &Servers,
    retries: &Retries,
    rows: Vec<Row>,
    whole: bool,
    mut places: Places,
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
                &places.in_flight,
            )
            .await
        } else {
            assess_leads(
                servers,
                server,
                pending,
                view::Codec,
                &mut answers,
                &places.in_flight,
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
                places.in_flight.answered(expected);
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
        let busy = failure.code() == tonic::Code::ResourceExhausted;
        if busy {
            places.in_flight.shrink(places.rows);
            places.give_back();
        }
        tokio::time::sleep(jittered(servers.backoff, in_a_row - 1)).await;
        if busy {
            places.again().await;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(retries.spent(), 2);
    }

    /// RESOURCE_EXHAUSTED halves the leads in flight, at once for the free places and as
    /// chunks give theirs back for the held ones; answers grow it back a chunk at a time.
    #[tokio::test]
    async fn a_busy_server_halves_the_window_and_answers_grow_it_back() {
        let in_flight = InFlight::new(1000, 100);
        let first = in_flight.clone().places(100).await;
        let mut second = in_flight.clone().places(100).await;
        assert_eq!(in_flight.leads.available_permits(), 800);

        in_flight.shrink(100);
        assert_eq!(in_flight.now(), 500);
        // The 500 places cut were free: they go at once.
        assert_eq!(in_flight.leads.available_permits(), 300);
        assert_eq!(in_flight.limit().debt, 0);

        in_flight.shrink(100);
        in_flight.shrink(100);
        // 125 of which 200 are held: 75 owed, paid by the first chunk given back.
        assert_eq!(in_flight.now(), 125);
        assert_eq!(in_flight.leads.available_permits(), 0);
        assert_eq!(in_flight.limit().debt, 75);
        drop(first);
        assert_eq!(in_flight.limit().debt, 0);
        assert_eq!(in_flight.leads.available_permits(), 25);
        // A chunk refused as busy waits for its places again, under the window now.
        second.again().await;
        assert_eq!(in_flight.leads.available_permits(), 25);

        // A window's worth of answers grows it by a chunk, up to `--in-flight`.
        in_flight.answered(100);
        assert_eq!(in_flight.now(), 125);
        in_flight.answered(100);
        assert_eq!(in_flight.now(), 225);
        assert_eq!(in_flight.leads.available_permits(), 125);
        for _ in 0..100 {
            in_flight.answered(100);
        }
        assert_eq!(in_flight.now(), 1000);
        drop(second);
        assert_eq!(in_flight.leads.available_permits(), 1000);

        // Never below the refused chunk's places: one stream still runs.
        for _ in 0..20 {
            in_flight.shrink(100);
        }
        assert_eq!(in_flight.now(), 100);
        assert_eq!(in_flight.places_for(100), 100);
        // A short last chunk lets it go lower; a chunk then takes at most the window.
        in_flight.shrink(30);
        assert_eq!(in_flight.now(), 50);
        assert_eq!(in_flight.places_for(100), 50);
        // A chunk wider than the server's window grows it by the places it took.
        in_flight.answered(1000);
        assert_eq!(in_flight.now(), 150);
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
}
