//! The server span of each call when traces are on: it continues the caller's trace
//! from the W3C `traceparent` (and `tracestate`) of the call's headers, carries the
//! OpenTelemetry RPC attributes, and ends when the call's status goes out (a stream's
//! after its last answer), with that status.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};
use tonic::codegen::http;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::HeaderExtractor;
use crate::metrics;
use crate::rpc::calls::grpc_status;

/// The layer: [`Traced`] around the server's routes, outermost, so that the calls the
/// other layers answer (refused, unauthenticated, past the deadline) have their span
/// too. Off (traces off), it passes calls through without a span: the server's
/// `trace_fn` makes the calls' log spans then.
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceLayer {
    on: bool,
}

impl TraceLayer {
    /// A layer that makes the calls' spans when `on`, and passes them through otherwise.
    pub fn new(on: bool) -> TraceLayer {
        TraceLayer { on }
    }
}

impl<S> tower::Layer<S> for TraceLayer {
    type Service = Traced<S>;

    fn layer(&self, inner: S) -> Traced<S> {
        Traced { inner, on: self.on }
    }
}

/// The service [`TraceLayer`] wraps around the routes.
#[derive(Debug, Clone)]
pub struct Traced<S> {
    inner: S,
    on: bool,
}

/// The span of a call: named `rpc` with the `method` and `code` fields of the log span
/// it stands in for, and the RPC semantic conventions' attributes. Its parent is the
/// caller's span when the call carries a valid `traceparent`.
pub fn call_span<B>(request: &http::Request<B>) -> tracing::Span {
    let path = request.uri().path();
    let name = path.trim_start_matches('/');
    let (service, method) = name.split_once('/').unwrap_or((name, ""));
    let span = tracing::debug_span!(
        "rpc",
        otel.name = name,
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        method = path,
        code = tracing::field::Empty,
        rpc.system = "grpc",
        rpc.service = service,
        rpc.method = method,
        rpc.grpc.status_code = tracing::field::Empty,
    );
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(request.headers()))
    });
    // Without a valid `traceparent` the context is empty and the span starts a trace.
    let _ = span.set_parent(parent);
    span
}

/// Records a call's status on its span. The server errors of the RPC conventions mark
/// the span as failed; a client's mistake (an invalid argument, a refusal) does not.
fn finish(span: &tracing::Span, code: tonic::Code) {
    span.record("code", metrics::code_name(code));
    span.record("rpc.grpc.status_code", code as i64);
    if matches!(
        code,
        tonic::Code::Unknown
            | tonic::Code::DeadlineExceeded
            | tonic::Code::Unimplemented
            | tonic::Code::Internal
            | tonic::Code::Unavailable
            | tonic::Code::DataLoss
    ) {
        span.record("otel.status_code", "ERROR");
    }
}

impl<S, B, ResBody> tower::Service<http::Request<B>> for Traced<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<TracedBody<ResBody>>;
    type Error = S::Error;
    type Future = TracedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if !self.on {
            return TracedFuture {
                inner: self.inner.call(request),
                span: None,
            };
        }
        let span = call_span(&request);
        let inner = span.in_scope(|| self.inner.call(request));
        TracedFuture {
            inner,
            span: Some(span),
        }
    }
}

pin_project_lite::pin_project! {
    /// A call's response on its way, polled in the call's span.
    pub struct TracedFuture<F> {
        #[pin]
        inner: F,
        span: Option<tracing::Span>,
    }
}

impl<F, ResBody, E> Future for TracedFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
{
    type Output = Result<http::Response<TracedBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = {
            let _entered = this.span.as_ref().map(tracing::Span::enter);
            futures::ready!(this.inner.poll(cx))
        };
        let span = this.span.take();
        Poll::Ready(match response {
            Ok(response) => {
                // A trailers-only answer ends the call here; any other, with its body.
                let span = match (span, grpc_status(response.headers())) {
                    (Some(span), Some(code)) => {
                        finish(&span, code);
                        None
                    }
                    (span, _) => span,
                };
                Ok(response.map(|inner| TracedBody { inner, span }))
            }
            Err(err) => {
                if let Some(span) = span {
                    finish(&span, tonic::Code::Unknown);
                }
                Err(err)
            }
        })
    }
}

pin_project_lite::pin_project! {
    /// A response body that holds its call's span open until its trailers.
    pub struct TracedBody<B> {
        #[pin]
        inner: B,
        span: Option<tracing::Span>,
    }
}

impl<B: Body> Body for TracedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = {
            let _entered = this.span.as_ref().map(tracing::Span::enter);
            futures::ready!(this.inner.poll_frame(cx))
        };
        if let Some(span) = this.span.as_ref() {
            let code = match &frame {
                Some(Ok(frame)) => frame
                    .trailers_ref()
                    .map(|trailers| grpc_status(trailers).unwrap_or(tonic::Code::Unknown)),
                Some(Err(_)) | None => Some(tonic::Code::Unknown),
            };
            if let Some(code) = code {
                finish(span, code);
                *this.span = None;
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
