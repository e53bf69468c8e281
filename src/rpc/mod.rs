//! The gRPC layer: maps `leadcheck.v1` messages to domain types and back, and nothing else.

pub mod calls;
pub mod convert;
pub mod limits;
pub mod walk;
pub mod wire;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::future::Either;
use futures::{Stream, StreamExt};
use tonic::codegen::http;
use tonic::{Request, Response, Status, Streaming};
use tracing::Instrument;

use crate::lead::Assessor;
use crate::{metrics, pb};
pub use calls::CallMetricsLayer;
pub use convert::{
    assessment_to_pb, email_to_pb, lead_from_pb, phone_to_pb, time_from_pb, time_to_pb, BadField,
    FieldTooLong, MAX_FIELD_BYTES,
};
pub use limits::{Limits, StreamLimits};
use wire::lead_check_server::LeadCheck;
pub use wire::EncodedAssessment;

/// The LeadCheck service: a thin shell over the [`Assessor`].
pub struct Service {
    assessor: Arc<Assessor>,
    stream_in_flight: usize,
    default_deadline: Duration,
    limits: Limits,
}

impl Service {
    /// Makes the service; `stream_in_flight` bounds the leads of one stream validated at
    /// once, `default_deadline` bounds calls whose client sent no `grpc-timeout`.
    pub fn new(
        assessor: Arc<Assessor>,
        stream_in_flight: usize,
        default_deadline: Duration,
    ) -> Service {
        Service {
            assessor,
            stream_in_flight: stream_in_flight.max(1),
            default_deadline,
            limits: Limits::default(),
        }
    }

    /// Holds calls and streams to `limits` (none by default).
    pub fn with_limits(self, limits: Limits) -> Service {
        Service { limits, ..self }
    }

    /// The deadline of a unary call: the client's `grpc-timeout` or our default, the
    /// shorter.
    fn deadline<T>(&self, request: &Request<T>) -> Deadline {
        let limit = client_deadline(request).map_or(self.default_deadline, |client| {
            client.min(self.default_deadline)
        });
        Deadline::of(request, limit)
    }
}

/// When a call must end: `limit` after its arrival.
#[derive(Debug, Clone, Copy)]
struct Deadline {
    at: tokio::time::Instant,
    limit: Duration,
}

impl Deadline {
    fn of<T>(request: &Request<T>, limit: Duration) -> Deadline {
        Deadline {
            at: tokio::time::Instant::from_std(arrival(request)) + limit,
            limit,
        }
    }

    /// The status of a call that ran past it.
    fn exceeded(&self, what: &str) -> Status {
        Status::deadline_exceeded(format!(
            "the {what}'s deadline of {} ms passed",
            self.limit.as_millis()
        ))
    }
}

/// When a call entered our layers, as [`ArrivalLayer`] recorded it.
#[derive(Debug, Clone, Copy)]
struct Arrived(Instant);

/// Records when each call arrives, so that deadlines count from then, and ends a call
/// whose response is not ready by the default deadline: one whose request message never
/// comes.
///
/// tonic enforces a client's `grpc-timeout` itself, from a timer it starts just after
/// calling our layers, and answers CANCELLED ("Timeout expired") when that timer fires
/// first. Our deadline, counted from this earlier moment, falls in the same or an earlier
/// tick of tokio's timer, and tonic polls the handler before its own timer: so a call
/// past the client's deadline is answered DEADLINE_EXCEEDED by us, even when the
/// handler started late on a busy server.
///
/// A handler's own deadline starts after tonic has read the request message, and tonic
/// has no timer at all when the client sent no `grpc-timeout`: a client that sends a
/// call's headers and never its message would hold the call for ever. This layer's
/// deadline (`limits.default_deadline` from arrival) is never later than the handlers' own,
/// which are polled first and so answer for themselves; it ends the rest with
/// DEADLINE_EXCEEDED. A stream's handler answers at once, so streams are not bounded here
/// (see [`limits`]).
#[derive(Debug, Clone, Copy)]
pub struct ArrivalLayer {
    deadline: Duration,
}

impl ArrivalLayer {
    /// Ends calls whose response is not ready `deadline` after they arrived.
    pub fn new(deadline: Duration) -> ArrivalLayer {
        ArrivalLayer { deadline }
    }
}

impl<S> tower::Layer<S> for ArrivalLayer {
    type Service = Arrival<S>;

    fn layer(&self, inner: S) -> Arrival<S> {
        Arrival {
            inner,
            deadline: self.deadline,
        }
    }
}

/// The service [`ArrivalLayer`] wraps around the server's routes.
#[derive(Debug, Clone)]
pub struct Arrival<S> {
    inner: S,
    deadline: Duration,
}

impl<S, B> tower::Service<http::Request<B>> for Arrival<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Arriving<S::Future>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let arrived = Instant::now();
        request.extensions_mut().insert(Arrived(arrived));
        Arriving {
            inner: self.inner.call(request),
            deadline: self.deadline,
            at: arrived + self.deadline,
            timer: None,
        }
    }
}

pin_project_lite::pin_project! {
    /// A call's response, or DEADLINE_EXCEEDED once its deadline has passed without one.
    pub struct Arriving<F> {
        #[pin]
        inner: F,
        deadline: Duration,
        at: Instant,
        // Set the first time the response is not ready: a call answered at its first poll
        // costs no timer.
        #[pin]
        timer: Option<tokio::time::Sleep>,
    }
}

impl<F, E> Future for Arriving<F>
where
    F: Future<Output = Result<http::Response<tonic::body::Body>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<F::Output> {
        let mut this = self.project();
        if let std::task::Poll::Ready(response) = this.inner.poll(cx) {
            return std::task::Poll::Ready(response);
        }
        if this.timer.is_none() {
            let at = tokio::time::Instant::from_std(*this.at);
            this.timer.set(Some(tokio::time::sleep_until(at)));
        }
        if let Some(timer) = this.timer.as_pin_mut() {
            futures::ready!(timer.poll(cx));
        }
        metrics::record_request_timeout();
        let status = Status::deadline_exceeded(format!(
            "the request did not arrive within the call's deadline of {} ms",
            this.deadline.as_millis()
        ));
        std::task::Poll::Ready(Ok(status.into_http()))
    }
}

/// When the call arrived; now, for a call that did not pass [`ArrivalLayer`] (a test's).
fn arrival<T>(request: &Request<T>) -> Instant {
    request
        .extensions()
        .get::<Arrived>()
        .map_or_else(Instant::now, |arrived| arrived.0)
}

/// The client's `grpc-timeout`, if it sent one.
fn client_deadline<T>(request: &Request<T>) -> Option<Duration> {
    request
        .metadata()
        .get("grpc-timeout")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_grpc_timeout)
}

/// Parses a `grpc-timeout` header value: up to 8 digits and a unit (H M S m u n).
pub fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let digits = value.get(..value.len().checked_sub(1)?)?;
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match value.as_bytes().last()? {
        b'H' => Duration::from_secs(n.checked_mul(3600)?),
        b'M' => Duration::from_secs(n.checked_mul(60)?),
        b'S' => Duration::from_secs(n),
        b'm' => Duration::from_millis(n),
        b'u' => Duration::from_micros(n),
        b'n' => Duration::from_nanos(n),
        _ => return None,
    })
}

/// Runs a unary handler within its deadline; DNS and SMTP waits are dropped with it. The
/// SMTP probe is told the deadline, to retry a greylisted mailbox only when it fits.
async fn within<T>(deadline: Deadline, work: impl Future<Output = T>) -> Result<T, Status> {
    let work = crate::email::smtp::within_deadline(deadline.at, work);
    tokio::time::timeout_at(deadline.at, work)
        .await
        .map_err(|_| deadline.exceeded("call"))
}

/// Turns a field over its limit into INVALID_ARGUMENT naming the field.
fn too_long(err: FieldTooLong) -> Status {
    Status::invalid_argument(err.to_string())
}

/// Turns a refused request field into INVALID_ARGUMENT naming the field.
fn refused(err: BadField) -> Status {
    Status::invalid_argument(err.to_string())
}

/// A checked request: its lead, and the moment it is assessed at (`as_of`, its own for
/// each lead of a stream; unset is the server's clock when the lead is assessed).
#[derive(Default)]
struct Checked {
    lead: crate::lead::Lead,
    as_of: Option<SystemTime>,
}

/// A request's id, and its lead or the field it is refused for. A stream does this before
/// the lead's task is spawned: the task's future then holds the converted lead alone, not
/// the request as well, and is copied smaller.
fn checked(request: pb::AssessLeadRequest) -> (String, Result<Checked, BadField>) {
    let lead = request.lead.unwrap_or_default();
    let as_of = request.as_of;
    let checked = convert::check_len("request_id", &request.request_id)
        .map_err(BadField::from)
        .and_then(|()| {
            let as_of = convert::as_of_from_pb(as_of.as_ref())?;
            Ok(Checked {
                lead: lead_from_pb(lead)?,
                as_of,
            })
        });
    (request.request_id, checked)
}

/// Assesses, logs, counts and encodes one checked lead: a unary call's work, and a
/// streamed lead's task. The assessment is freed here, on the thread that made it.
async fn assess(
    assessor: Arc<Assessor>,
    request_id: String,
    checked: Checked,
) -> EncodedAssessment {
    let Checked { lead, as_of } = checked;
    let at = as_of.unwrap_or_else(|| assessor.now());
    let assessment = assessor.assess_at(&lead, at).await;
    log_assessed(&lead, &assessment);
    count_assessment(
        Some(convert::email_validity_to_pb(assessment.email.validity)),
        Some(convert::phone_validity_to_pb(assessment.phone.validity)),
        convert::quality_to_pb(assessment.score.quality),
    );
    EncodedAssessment::new(&request_id, &assessment)
}

/// A streamed lead's task: `assess` itself, so that its arguments are held once, boxed,
/// so that tokio moves a pointer as it spawns and polls the task, not the kilobyte of
/// `assess`'s future, at every spawn and poll.
fn lead_task(
    assessor: Arc<Assessor>,
    request_id: String,
    checked: Checked,
    span: tracing::Span,
) -> impl Future<Output = EncodedAssessment> + Send + Unpin + 'static {
    Box::pin(assess(assessor, request_id, checked)).instrument(span)
}

/// Logs an assessed lead at debug level, its contact data redacted.
fn log_assessed(lead: &crate::lead::Lead, assessment: &crate::lead::Assessment) {
    tracing::debug!(
        email = %crate::email::redact(&lead.email),
        phone = %crate::phone::redact(&lead.phone),
        quality = ?assessment.score.quality,
        "lead assessed"
    );
}

/// A streamed lead's answer while it waits its turn: small (a test bounds it), because
/// `buffered` moves its answers through a binary heap and the task's output slot, many
/// moves a lead, so a pointer moves rather than a message. A `Status` is large too, hence
/// its box.
type Answer = Result<EncodedAssessment, Box<Status>>;

/// A lead's task, aborted when dropped (its stream was cancelled or ended).
struct Spawned(tokio::task::JoinHandle<EncodedAssessment>);

impl Drop for Spawned {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Future for Spawned {
    type Output = Answer;

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|joined| {
            joined.map_err(|err| {
                tracing::error!(error = %err, "a lead's assessment failed");
                Box::new(Status::internal("a lead's assessment failed"))
            })
        })
    }
}

/// The leads of one stream started and not yet waiting on anything: those that compete for
/// the CPU. A stream's window (`limits.stream_in_flight`) is wide, to hide a resolver's
/// latency, but only leads that wait (on DNS, SMTP, Redis) should open it: a thousand warm
/// leads runnable at once overflow the scheduler's local queues and cost more CPU each.
/// So a lead takes one of these places before it starts and gives it back at its task's
/// first poll, answered or waiting.
const RUNNABLE_LEADS: usize = 64;

/// A lead's task that gives back its place among the runnable leads at its first poll.
struct Started<F> {
    task: F,
    runnable: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl<F: Future + Unpin> Future for Started<F> {
    type Output = F::Output;

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let polled = Pin::new(&mut self.task).poll(cx);
        self.runnable = None;
        polled
    }
}

/// The response header of `AssessLeads` that tells the client the stream's window: the
/// most leads of one stream the server validates at once (`limits.stream_in_flight`). A
/// client hides its resolver's latency by keeping about that many leads of each stream in
/// flight, over as many streams as it needs; more wait in HTTP/2 flow control.
pub const STREAM_IN_FLIGHT_HEADER: &str = "leadcheck-stream-in-flight";

/// A stream's answers to its `requests`, in request order.
///
/// `buffered` validates up to `window` leads at once and yields them in request order.
/// It is driven by the response body: when the client stops reading, no new requests are
/// pulled (backpressure), and when the client cancels, the body and every lead in flight
/// are dropped (the work stops: `Spawned` aborts its task). Each lead runs as its own task,
/// so one stream's leads use every worker thread rather than only the one polling the
/// body; at most [`RUNNABLE_LEADS`] of them not yet waiting. Each lead also takes a place among the leads in flight of every
/// stream (`leads`) before it is pulled on, and gives it back once its answer is sent on.
fn answers<S>(
    requests: S,
    assessor: Arc<Assessor>,
    window: usize,
    leads: limits::StreamLeads,
    span: tracing::Span,
) -> impl Stream<Item = Result<EncodedAssessment, Status>> + Send + 'static
where
    S: Stream<Item = Result<pb::AssessLeadRequest, Status>> + Send + 'static,
{
    let leads = Arc::new(leads);
    let taking = leads.clone();
    let runnable = Arc::new(tokio::sync::Semaphore::new(RUNNABLE_LEADS));
    requests
        .then(move |item| {
            let (leads, runnable) = (taking.clone(), runnable.clone());
            async move {
                leads.take().await;
                let place = match runnable.clone().try_acquire_owned() {
                    Ok(place) => Ok(place),
                    Err(_) => runnable.acquire_owned().await,
                };
                // Never closed; without a place the lead still runs.
                (item, place.ok())
            }
        })
        .map(move |(item, runnable)| match item {
            Ok(request) => match checked(request) {
                (request_id, Ok(checked)) => {
                    let task = lead_task(assessor.clone(), request_id, checked, span.clone());
                    let task = Started { task, runnable };
                    Either::Left(Spawned(tokio::spawn(task)))
                }
                (request_id, Err(err)) => {
                    let rejected = convert::rejected_assessment(request_id, &err);
                    count_assessment(None, None, rejected.quality());
                    let rejected = EncodedAssessment::of_message(&rejected);
                    Either::Right(futures::future::ready(Ok(rejected)))
                }
            },
            Err(status) => Either::Right(futures::future::ready(Err(Box::new(status)))),
        })
        .buffered(window.max(1))
        .map(move |answer: Answer| {
            leads.give_back();
            answer.map_err(|s| *s)
        })
}

/// Ends a stream with DEADLINE_EXCEEDED when its deadline passes; the work in flight is
/// dropped with it.
fn until_deadline<S>(stream: S, deadline: Deadline) -> impl Stream<Item = S::Item> + Send
where
    S: Stream<Item = Result<EncodedAssessment, Status>> + Send + 'static,
{
    let sleep = Box::pin(tokio::time::sleep_until(deadline.at));
    futures::stream::unfold(Some((Box::pin(stream), sleep)), move |state| async move {
        let (mut stream, mut sleep) = state?;
        tokio::select! {
            item = stream.next() => item.map(|item| (item, Some((stream, sleep)))),
            () = &mut sleep => Some((Err(deadline.exceeded("stream")), None)),
        }
    })
}

/// Logs a call's method and code, and records the code in the call's span. The call's
/// metrics are [`calls`]'s, which see its true end.
fn observed<T>(
    method: &'static str,
    started: Instant,
    result: Result<T, Status>,
) -> Result<T, Status> {
    let code = result
        .as_ref()
        .map_or_else(Status::code, |_| tonic::Code::Ok);
    tracing::Span::current().record("code", metrics::code_name(code));
    tracing::debug!(
        method,
        code = metrics::code_name(code),
        micros = started.elapsed().as_micros() as u64,
        "call"
    );
    result
}

/// Counts an assessment by the validity of its verdicts (a rejected lead has none) and
/// its tier.
fn count_assessment(
    email: Option<pb::EmailValidity>,
    phone: Option<pb::PhoneValidity>,
    quality: pb::LeadQuality,
) {
    if let Some(validity) = email {
        metrics::record_email_verdict(validity);
    }
    if let Some(validity) = phone {
        metrics::record_phone_verdict(validity);
    }
    metrics::record_lead_quality(quality);
}

type AssessmentStream = Pin<Box<dyn Stream<Item = Result<EncodedAssessment, Status>> + Send>>;

#[tonic::async_trait]
impl LeadCheck for Service {
    async fn validate_email(
        &self,
        request: Request<pb::ValidateEmailRequest>,
    ) -> Result<Response<pb::EmailVerdict>, Status> {
        let started = Instant::now();
        let deadline = self.deadline(&request);
        let request = request.into_inner();
        let result = async {
            let _slot = self.limits.call()?;
            convert::check_len("email", &request.email).map_err(too_long)?;
            let verdict = within(deadline, self.assessor.email().validate(&request.email)).await?;
            tracing::debug!(
                email = %crate::email::redact(&request.email),
                validity = ?verdict.validity,
                "email verdict"
            );
            let verdict = convert::email_to_pb(verdict);
            metrics::record_email_verdict(verdict.validity());
            Ok(Response::new(verdict))
        }
        .await;
        observed("ValidateEmail", started, result)
    }

    async fn validate_phone(
        &self,
        request: Request<pb::ValidatePhoneRequest>,
    ) -> Result<Response<pb::PhoneVerdict>, Status> {
        let started = Instant::now();
        let request = request.into_inner();
        // Phone validation is CPU-only and bounded by the field limit: no wait to cut short.
        let result = (|| {
            let _slot = self.limits.call()?;
            convert::check_len("phone", &request.phone).map_err(too_long)?;
            convert::check_len("country", &request.country).map_err(too_long)?;
            convert::check_len("language", &request.language).map_err(too_long)?;
            let language = crate::phone::geo::Language::from_tag(&request.language)
                .map_err(|e| Status::invalid_argument(format!("field `language`: {e}")))?;
            let verdict =
                self.assessor
                    .phone()
                    .validate_in(&request.phone, &request.country, language);
            let verdict = convert::phone_to_pb(Arc::unwrap_or_clone(verdict));
            metrics::record_phone_verdict(verdict.validity());
            Ok(Response::new(verdict))
        })();
        observed("ValidatePhone", started, result)
    }

    async fn assess_lead(
        &self,
        request: Request<pb::AssessLeadRequest>,
    ) -> Result<Response<EncodedAssessment>, Status> {
        let started = Instant::now();
        let deadline = self.deadline(&request);
        let request = request.into_inner();
        let result = async {
            let _slot = self.limits.call()?;
            let (request_id, checked) = checked(request);
            let checked = checked.map_err(refused)?;
            // Boxed: the future is over a kilobyte, and each layer of `within` and of this
            // block would otherwise copy it as it starts.
            let work = Box::pin(assess(self.assessor.clone(), request_id, checked));
            Ok(Response::new(within(deadline, work).await?))
        }
        .await;
        observed("AssessLead", started, result)
    }

    type AssessLeadsStream = AssessmentStream;

    async fn assess_leads(
        &self,
        request: Request<Streaming<pb::AssessLeadRequest>>,
    ) -> Result<Response<Self::AssessLeadsStream>, Status> {
        // The stream's slot among the open streams, held by its response body until the
        // body is dropped, and its idle and total limits (`limits`). A batch stream may
        // rightly run long: the client's own deadline bounds it too, when it sent one.
        let open = match self.limits.open_stream(request.remote_addr()) {
            Ok(open) => open,
            Err(status) => return observed("AssessLeads", Instant::now(), Err(status)),
        };
        let deadline = client_deadline(&request).map(|limit| Deadline::of(&request, limit));
        // The call's `rpc` span, so the leads' own events still carry method and code.
        let span = tracing::Span::current();
        let output = Box::pin(answers(
            open.requests(request.into_inner()),
            self.assessor.clone(),
            self.stream_in_flight,
            self.limits.stream_leads(),
            span,
        ));
        observed::<()>("AssessLeads", Instant::now(), Ok(()))?;
        let body: AssessmentStream = match deadline {
            Some(deadline) => Box::pin(open.body(Box::pin(until_deadline(output, deadline)))),
            None => Box::pin(open.body(output)),
        };
        let mut response = Response::new(body);
        response
            .metadata_mut()
            .insert(STREAM_IN_FLIGHT_HEADER, self.stream_in_flight.into());
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_grpc_timeout;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn a_streamed_leads_task_stays_small() {
        // tokio copies a task's future as it spawns and polls it. `assess`'s future is
        // over a kilobyte, copied at every spawn and poll: the task holds it boxed.
        let config = crate::config::Config::default();
        let engines = crate::server::build_engines(&config, Arc::new(crate::lead::SystemClock))
            .unwrap_or_else(|e| panic!("engines: {e}"));
        let assess = super::assess(engines.assessor.clone(), String::new(), Default::default());
        let size = std::mem::size_of_val(&assess);
        assert!(
            size > 256,
            "assess's future is only {size} bytes: box it no more"
        );
        drop(assess);
        let task = super::lead_task(
            engines.assessor.clone(),
            String::new(),
            Default::default(),
            tracing::Span::none(),
        );
        let size = std::mem::size_of_val(&task);
        assert!(size <= 64, "a streamed lead's task is {size} bytes");
        let size = std::mem::size_of::<super::Answer>();
        assert!(size <= 32, "a streamed lead's answer is {size} bytes");
    }

    /// Counts the wake-ups of the task polling a stream.
    struct Wakes(std::sync::atomic::AtomicUsize);

    impl futures::task::ArcWake for Wakes {
        fn wake_by_ref(wakes: &Arc<Self>) {
            wakes.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    #[tokio::test]
    async fn an_open_stream_with_nothing_to_answer_waits_without_spinning() {
        use futures::StreamExt;
        use prost::Message;

        let config = crate::config::Config::default();
        let engines = crate::server::build_engines(&config, Arc::new(crate::lead::SystemClock))
            .unwrap_or_else(|e| panic!("engines: {e}"));
        // One lead in flight across every stream: each answer must give its place back
        // for the next lead to be taken.
        let limits = super::Limits::default().with_leads_in_flight(1);
        let (tx, rx) = futures::channel::mpsc::unbounded();
        let mut answers = Box::pin(super::answers(
            rx,
            engines.assessor.clone(),
            64,
            limits.stream_leads(),
            tracing::Span::none(),
        ));
        let request = |id: &str| crate::pb::AssessLeadRequest {
            request_id: id.to_string(),
            ..Default::default()
        };
        let answered = |answer: Option<Result<super::EncodedAssessment, tonic::Status>>| {
            let bytes = answer.expect("an answer").expect("not an error");
            crate::pb::LeadAssessment::decode(bytes.as_bytes())
                .expect("an assessment")
                .request_id
        };
        for id in ["one", "two"] {
            tx.unbounded_send(Ok(request(id))).expect("send");
            let answer = tokio::time::timeout(Duration::from_secs(10), answers.next())
                .await
                .expect("answered in time");
            assert_eq!(answered(answer), id);
            // The client keeps its stream open and sends nothing more: the stream is
            // pending and does not wake itself to look again.
            let wakes = Arc::new(Wakes(Default::default()));
            let waker = futures::task::waker(wakes.clone());
            let mut cx = std::task::Context::from_waker(&waker);
            for _ in 0..3 {
                assert!(answers.poll_next_unpin(&mut cx).is_pending());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert_eq!(wakes.0.load(std::sync::atomic::Ordering::Relaxed), 0);
        }
        drop(tx);
        assert!(answers.next().await.is_none(), "ends with its requests");
    }

    #[tokio::test]
    async fn a_lead_gives_back_its_runnable_place_once_it_waits() {
        let runnable = Arc::new(tokio::sync::Semaphore::new(1));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let place = runnable.clone().try_acquire_owned().expect("a free place");
        let task = super::Started {
            task: Box::pin(async move {
                let _ = rx.await;
                7
            }),
            runnable: Some(place),
        };
        let task = tokio::spawn(task);
        // The task waits on its channel: its place is free for the next lead.
        let next = tokio::time::timeout(Duration::from_secs(10), runnable.acquire())
            .await
            .expect("the waiting lead gave its place back");
        drop(next);
        assert!(!task.is_finished(), "the lead still waits");
        tx.send(()).expect("the lead waits");
        assert_eq!(task.await.expect("the lead ends"), 7);
    }

    #[test]
    fn grpc_timeout_values_parse_by_the_spec() {
        assert_eq!(parse_grpc_timeout("100m"), Some(Duration::from_millis(100)));
        assert_eq!(parse_grpc_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(
            parse_grpc_timeout("99999999n"),
            Some(Duration::from_nanos(99_999_999))
        );
        for bad in ["", "m", "123456789m", "10x", "-1S", "1.5S", "é"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad}");
        }
    }
}
