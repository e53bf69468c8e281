//! What one call or stream may hold: a slot among the calls in progress, a slot among the
//! open `AssessLeads` streams for the stream's whole life, a stream's idle and total
//! time limits, and a share of the leads in flight across every stream.
//!
//! The slots are taken in the handlers, once the request has arrived, not by a tower
//! layer in front of the routes: such a layer takes its permit before the request body is
//! read (a client sending headers and no body holds one) and gives it back when the
//! response headers go out (a stream then holds none). A stream's slot moves into its
//! response body and is given back when the body is dropped: when the stream ends, is
//! cancelled, or its connection closes.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::task::AtomicWaker;
use futures::{Stream, StreamExt};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tonic::Status;

use crate::limits::{Connections, OwnedSlot, Slot, Slots};
use crate::metrics;

/// How long a stream that has timed out may take to end before its connection is closed:
/// its end is sent at its next poll, which never comes when its client grants no
/// flow-control window. Shorter when the idle limit is.
const STALL_GRACE: Duration = Duration::from_secs(10);

/// The time limits of one `AssessLeads` stream; `None` is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamLimits {
    /// Longest time without a lead received or an answer sent.
    pub idle: Option<Duration>,
    /// Longest life of a stream.
    pub total: Option<Duration>,
}

/// The bounds the service holds its calls to.
#[derive(Debug)]
pub struct Limits {
    calls: Slots,
    streams: Arc<Slots>,
    stream: StreamLimits,
    connections: Option<Arc<Connections>>,
    leads: Arc<Semaphore>,
}

impl Default for Limits {
    /// No bound: for tests and benchmarks that make a service by hand.
    fn default() -> Limits {
        Limits::new(usize::MAX, usize::MAX, StreamLimits::default())
    }
}

impl Limits {
    /// At most `calls` unary calls in progress and `streams` streams open at once, each
    /// stream within `stream`.
    pub fn new(calls: usize, streams: usize, stream: StreamLimits) -> Limits {
        Limits {
            calls: Slots::new(calls),
            streams: Arc::new(Slots::new(streams)),
            stream,
            connections: None,
            leads: Arc::new(Semaphore::new(Semaphore::MAX_PERMITS)),
        }
    }

    /// At most `leads` leads in flight across every stream: validated, or answered and
    /// waiting for the leads before them. A stream at the bound takes no new lead until
    /// one is sent on; its client's further leads wait in HTTP/2 flow control, so the
    /// server's memory stays bounded whatever the streams' windows add up to.
    pub fn with_leads_in_flight(self, leads: usize) -> Limits {
        Limits {
            leads: Arc::new(Semaphore::new(leads.clamp(1, Semaphore::MAX_PERMITS))),
            ..self
        }
    }

    /// A new stream's share of the leads in flight.
    pub(super) fn stream_leads(&self) -> StreamLeads {
        StreamLeads {
            semaphore: self.leads.clone(),
            held: AtomicUsize::new(0),
        }
    }

    /// Lets a stream that timed out and cannot end have its connection closed through
    /// `connections` (the listener's registry).
    pub fn with_connections(self, connections: Arc<Connections>) -> Limits {
        Limits {
            connections: Some(connections),
            ..self
        }
    }

    /// A slot for a unary call, or RESOURCE_EXHAUSTED at once.
    pub(super) fn call(&self) -> Result<Slot<'_>, Status> {
        self.calls.try_take().ok_or_else(|| {
            metrics::record_shed("calls");
            Status::resource_exhausted(format!(
                "the server is at its limit of {} calls in progress: retry later",
                self.calls.max()
            ))
        })
    }

    /// Opens a stream from `peer`: its slot and, when it has time limits, its watchdog;
    /// RESOURCE_EXHAUSTED at once when every slot is held.
    pub(super) fn open_stream(&self, peer: Option<SocketAddr>) -> Result<OpenStream, Status> {
        let slot = self.streams.try_take_owned().ok_or_else(|| {
            metrics::record_shed("streams");
            Status::resource_exhausted(format!(
                "the server is at its limit of {} open AssessLeads streams: retry later",
                self.streams.max()
            ))
        })?;
        let limits = self.stream;
        if limits.idle.is_none() && limits.total.is_none() {
            return Ok(OpenStream {
                slot,
                watch: None,
                watchdog: None,
                limits,
            });
        }
        let watch = Arc::new(Watch::default());
        let stalled = self.connections.clone().zip(peer);
        let watchdog = tokio::spawn(watchdog(watch.clone(), limits, stalled));
        Ok(OpenStream {
            slot,
            watch: Some(watch),
            watchdog: Some(AbortOnDrop(watchdog)),
            limits,
        })
    }
}

/// The leads one stream holds among the leads in flight of every stream
/// ([`Limits::with_leads_in_flight`]): a lead takes its place before its work starts and
/// gives it back once its answer has been sent on. Places still held when the stream is
/// dropped (cancelled, timed out, its connection gone) are given back then.
#[derive(Debug)]
pub(super) struct StreamLeads {
    semaphore: Arc<Semaphore>,
    held: AtomicUsize,
}

impl StreamLeads {
    /// Waits for a place for one more lead: at once while the bound is far, else in turn
    /// with the other streams' waiting leads, so every stream gets its share.
    pub(super) async fn take(&self) {
        let permit = match self.semaphore.try_acquire() {
            Ok(permit) => Ok(permit),
            Err(_) => self.semaphore.acquire().await,
        };
        // The semaphore is never closed; were it, the lead would go without a place.
        if let Ok(permit) = permit {
            permit.forget();
            self.held.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Gives back the place of a lead whose answer was sent on.
    pub(super) fn give_back(&self) {
        let given = self
            .held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| {
                held.checked_sub(1)
            });
        if given.is_ok() {
            self.semaphore.add_permits(1);
        }
    }

    /// The places this stream holds.
    #[cfg(test)]
    pub(super) fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }
}

impl Drop for StreamLeads {
    fn drop(&mut self) {
        let held = *self.held.get_mut();
        if held > 0 {
            self.semaphore.add_permits(held);
        }
    }
}

/// Why a stream was ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expiry {
    Idle = 1,
    Total = 2,
}

impl Expiry {
    fn label(self) -> &'static str {
        match self {
            Expiry::Idle => "idle",
            Expiry::Total => "total",
        }
    }

    /// The status the stream ends with.
    fn status(self, limits: StreamLimits) -> Status {
        let shown = |limit: Option<Duration>| {
            humantime::format_duration(limit.unwrap_or_default()).to_string()
        };
        Status::deadline_exceeded(match self {
            Expiry::Idle => format!(
                "the stream was idle (no lead received, no answer sent) for its limit of {} \
                 (stream_idle_secs)",
                shown(limits.idle)
            ),
            Expiry::Total => format!(
                "the stream reached its time limit of {} (stream_max_secs)",
                shown(limits.total)
            ),
        })
    }
}

/// What a stream and its watchdog share.
#[derive(Debug, Default)]
struct Watch {
    /// Leads received plus answers sent: the watchdog sees idleness as no change.
    progress: AtomicU64,
    /// 0, or the [`Expiry`] the watchdog set.
    expired: AtomicU8,
    /// The stream's task, woken when the watchdog sets `expired`.
    waker: AtomicWaker,
}

impl Watch {
    /// Counts a lead received or an answer sent. Both happen on the stream's own task
    /// (the body pulls the requests as it is polled), so a plain load and store suffice.
    fn bump(&self) {
        let next = self.progress.load(Ordering::Relaxed).wrapping_add(1);
        self.progress.store(next, Ordering::Relaxed);
    }

    fn expired(&self) -> Option<Expiry> {
        match self.expired.load(Ordering::Acquire) {
            1 => Some(Expiry::Idle),
            2 => Some(Expiry::Total),
            _ => None,
        }
    }

    fn expire(&self, expiry: Expiry) {
        self.expired.store(expiry as u8, Ordering::Release);
        self.waker.wake();
    }
}

/// Ends the stream when it has been idle or open too long, then, if the stream has not
/// ended after a grace, closes its connection. Aborted when the stream's body is dropped.
async fn watchdog(
    watch: Arc<Watch>,
    limits: StreamLimits,
    stalled: Option<(Arc<Connections>, SocketAddr)>,
) {
    let started = Instant::now();
    let total_at = limits.total.map(|total| started + total);
    // Idleness is checked four times an idle limit: a stream ends between one and one and
    // a half limits after its last lead or answer.
    let tick = limits
        .idle
        .map(|idle| (idle / 4).max(Duration::from_millis(10)));
    let mut seen = watch.progress.load(Ordering::Relaxed);
    let mut changed_at = started;
    let expiry = loop {
        let now = Instant::now();
        let next = match (tick.map(|tick| now + tick), total_at) {
            (Some(tick), Some(total)) => tick.min(total),
            (Some(at), None) | (None, Some(at)) => at,
            (None, None) => return,
        };
        tokio::time::sleep_until(next).await;
        let now = Instant::now();
        if total_at.is_some_and(|at| now >= at) {
            break Expiry::Total;
        }
        if let Some(idle) = limits.idle {
            let progress = watch.progress.load(Ordering::Relaxed);
            if progress != seen {
                seen = progress;
                changed_at = now;
            } else if now.duration_since(changed_at) >= idle {
                break Expiry::Idle;
            }
        }
    };
    metrics::record_stream_timeout(expiry.label());
    watch.expire(expiry);
    let grace = limits
        .idle
        .map_or(STALL_GRACE, |idle| idle.min(STALL_GRACE));
    tokio::time::sleep(grace).await;
    // Still here: the stream's body was not dropped, so its end has not gone out.
    if let Some((connections, peer)) = stalled {
        if connections.close(peer) {
            metrics::record_stream_timeout("stalled");
            tracing::warn!(
                %peer,
                limit = expiry.label(),
                "a timed-out stream could not end (its client reads nothing): closing its connection"
            );
        }
    }
}

/// Aborts the watchdog when the stream's body is dropped.
#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// An open stream's slot and watchdog, until its body takes them.
#[derive(Debug)]
pub(super) struct OpenStream {
    slot: OwnedSlot,
    watch: Option<Arc<Watch>>,
    watchdog: Option<AbortOnDrop>,
    limits: StreamLimits,
}

impl OpenStream {
    /// The stream's requests, counted, and ended once the stream has timed out: no new
    /// lead is taken after that.
    pub(super) fn requests<S>(&self, requests: S) -> Requests<S> {
        Requests {
            inner: requests,
            watch: self.watch.clone(),
        }
    }

    /// The response body: `answers`, counted, holding the slot until dropped. Once timed
    /// out it sends the answers that are ready, in order, then DEADLINE_EXCEEDED.
    pub(super) fn body<S>(self, answers: S) -> Watched<S> {
        Watched {
            inner: answers,
            watch: self.watch,
            limits: self.limits,
            ended: false,
            _slot: self.slot,
            _watchdog: self.watchdog,
        }
    }
}

/// A stream's requests, counted for its watchdog.
pub(super) struct Requests<S> {
    inner: S,
    watch: Option<Arc<Watch>>,
}

impl<S: Stream + Unpin> Stream for Requests<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let Some(watch) = &self.watch else {
            return self.inner.poll_next_unpin(cx);
        };
        if watch.expired().is_some() {
            return Poll::Ready(None);
        }
        let item = self.inner.poll_next_unpin(cx);
        if let Poll::Ready(Some(_)) = &item {
            if let Some(watch) = &self.watch {
                watch.bump();
            }
        }
        item
    }
}

/// A stream's response body, holding its slot; see [`OpenStream::body`].
pub(super) struct Watched<S> {
    inner: S,
    watch: Option<Arc<Watch>>,
    limits: StreamLimits,
    ended: bool,
    _slot: OwnedSlot,
    _watchdog: Option<AbortOnDrop>,
}

impl<S, T> Stream for Watched<S>
where
    S: Stream<Item = Result<T, Status>> + Unpin,
{
    type Item = Result<T, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.ended {
            return Poll::Ready(None);
        }
        let Some(watch) = &this.watch else {
            return this.inner.poll_next_unpin(cx);
        };
        let mut expired = watch.expired();
        match this.inner.poll_next_unpin(cx) {
            Poll::Ready(Some(answer)) => {
                watch.bump();
                return Poll::Ready(Some(answer));
            }
            Poll::Ready(None) => this.ended = true,
            Poll::Pending if expired.is_none() => {
                watch.waker.register(cx.waker());
                // Set between the first look and the registration: not missed.
                expired = watch.expired();
                if expired.is_none() {
                    return Poll::Pending;
                }
                this.ended = true;
            }
            Poll::Pending => this.ended = true,
        }
        // Ended: by its client, or timed out with no answer ready (the leads still in
        // flight are dropped with the body).
        Poll::Ready(expired.map(|expiry| Err(expiry.status(this.limits))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(idle_ms: Option<u64>, total_ms: Option<u64>) -> Limits {
        Limits::new(
            4,
            1,
            StreamLimits {
                idle: idle_ms.map(Duration::from_millis),
                total: total_ms.map(Duration::from_millis),
            },
        )
    }

    #[tokio::test]
    async fn an_idle_stream_ends_deadline_exceeded_and_gives_back_its_slot() {
        let limits = limits(Some(200), None);
        let open = limits.open_stream(None).unwrap();
        assert_eq!(
            limits.open_stream(None).unwrap_err().code(),
            tonic::Code::ResourceExhausted
        );
        let (tx, rx) = futures::channel::mpsc::unbounded::<Result<u32, Status>>();
        let requests = open.requests(rx);
        let mut body = open.body(requests.map(|r| r.map(|n| n * 10)));
        tx.unbounded_send(Ok(1)).unwrap();
        assert_eq!(body.next().await.unwrap().unwrap(), 10);
        // Nothing more comes: the watchdog ends it.
        let status = body.next().await.unwrap().unwrap_err();
        assert_eq!(status.code(), tonic::Code::DeadlineExceeded);
        assert!(status.message().contains("idle"), "{}", status.message());
        assert!(body.next().await.is_none());
        drop(body);
        assert!(limits.open_stream(None).is_ok(), "the slot came back");
    }

    #[tokio::test]
    async fn a_busy_stream_is_not_idle_but_ends_at_its_total_limit() {
        let limits = limits(Some(300), Some(1500));
        let open = limits.open_stream(None).unwrap();
        let (tx, rx) = futures::channel::mpsc::unbounded::<Result<u32, Status>>();
        let requests = open.requests(rx);
        let mut body = open.body(requests);
        let started = Instant::now();
        let mut answered = 0;
        let status = loop {
            let _ = tx.unbounded_send(Ok(answered));
            match body.next().await {
                Some(Ok(_)) => answered += 1,
                Some(Err(status)) => break status,
                None => panic!("ended without a status"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(status.code(), tonic::Code::DeadlineExceeded);
        assert!(
            status.message().contains("time limit"),
            "{}",
            status.message()
        );
        // Five idle limits went by with a lead every 50 ms: none of them ended it.
        assert!(started.elapsed() >= Duration::from_millis(1500));
        assert!(answered >= 3, "answered {answered}");
    }

    #[tokio::test]
    async fn streams_share_the_leads_in_flight_and_give_them_back() {
        let limits = Limits::default().with_leads_in_flight(3);
        let (one, two) = (limits.stream_leads(), limits.stream_leads());
        one.take().await;
        one.take().await;
        two.take().await;
        // The bound is reached: a fourth lead waits, whichever stream it belongs to.
        let waiting = tokio::time::timeout(Duration::from_millis(50), two.take()).await;
        assert!(waiting.is_err(), "a lead past the bound did not wait");
        one.give_back();
        tokio::time::timeout(Duration::from_secs(5), two.take())
            .await
            .expect("a place given back is taken");
        assert_eq!((one.held(), two.held()), (1, 2));
        // A dropped stream gives back what it held.
        drop(two);
        for _ in 0..2 {
            tokio::time::timeout(Duration::from_secs(5), one.take())
                .await
                .expect("the dropped stream's places are free");
        }
        assert_eq!(one.held(), 3);
    }

    #[tokio::test]
    async fn calls_past_the_limit_are_refused_at_once() {
        let limits = limits(None, None);
        let held: Vec<_> = (0..4).map(|_| limits.call().unwrap()).collect();
        let status = limits.call().unwrap_err();
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert!(status.message().contains("4 calls"), "{}", status.message());
        drop(held);
        assert!(limits.call().is_ok());
    }
}
