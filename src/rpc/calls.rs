//! Call metrics from a tower layer in front of every route: a call is counted started when
//! its headers reach the server, in flight until its status goes out, and recorded with
//! that status and the time in between.
//!
//! A handler only sees a stream open: its answers and its end come later, from the
//! response body. So the status is read where the client reads it: from the response
//! headers of a trailers-only response (an error answered at once: refused, shed, bad
//! argument, past the deadline), else from the `grpc-status` of the body's trailers frame
//! (every answered call, a stream after its last answer). A call whose response future or
//! body is dropped before either was sent is CANCELLED: its client went away or its
//! connection closed.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};
use tonic::codegen::http;

use crate::metrics::{self, CallRecord};

/// The layer: [`CallMetrics`] around the server's routes. Outermost, so it counts calls
/// that the deadline and auth layers answer too.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallMetricsLayer;

impl<S> tower::Layer<S> for CallMetricsLayer {
    type Service = CallMetrics<S>;

    fn layer(&self, inner: S) -> CallMetrics<S> {
        CallMetrics { inner }
    }
}

/// The service [`CallMetricsLayer`] wraps around the routes.
#[derive(Debug, Clone)]
pub struct CallMetrics<S> {
    inner: S,
}

impl<S, B, ResBody> tower::Service<http::Request<B>> for CallMetrics<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<Observed<ResBody>>;
    type Error = S::Error;
    type Future = Observing<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let call = metrics::start_call(request.uri().path());
        Observing {
            inner: self.inner.call(request),
            call,
        }
    }
}

pin_project_lite::pin_project! {
    /// A call's response on its way: a trailers-only response finishes the call here.
    pub struct Observing<F> {
        #[pin]
        inner: F,
        call: Option<CallRecord>,
    }
}

impl<F, ResBody, E> Future for Observing<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
{
    type Output = Result<http::Response<Observed<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = futures::ready!(this.inner.poll(cx));
        let mut call = this.call.take();
        Poll::Ready(match response {
            Ok(response) => {
                if let Some(code) = grpc_status(response.headers()) {
                    if let Some(call) = call.take() {
                        call.finish(code);
                    }
                }
                Ok(response.map(|inner| Observed { inner, call }))
            }
            Err(err) => {
                // The connection gets no response: hyper resets the stream.
                if let Some(call) = call {
                    call.finish(tonic::Code::Unknown);
                }
                Err(err)
            }
        })
    }
}

pin_project_lite::pin_project! {
    /// A response body whose trailers finish the call.
    pub struct Observed<B> {
        #[pin]
        inner: B,
        call: Option<CallRecord>,
    }
}

impl<B: Body> Body for Observed<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = futures::ready!(this.inner.poll_frame(cx));
        if this.call.is_some() {
            let code = match &frame {
                Some(Ok(frame)) => frame
                    .trailers_ref()
                    .map(|trailers| grpc_status(trailers).unwrap_or(tonic::Code::Unknown)),
                // The body failed: the stream is reset, the client sees no status of ours.
                Some(Err(_)) => Some(tonic::Code::Unknown),
                // The body ended without trailers and without a status in its headers:
                // not a gRPC answer.
                None => Some(tonic::Code::Unknown),
            };
            if let Some(code) = code {
                if let Some(call) = this.call.take() {
                    call.finish(code);
                }
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

/// The `grpc-status` of response headers or trailers, if they carry one.
pub(crate) fn grpc_status(headers: &http::HeaderMap) -> Option<tonic::Code> {
    headers
        .get("grpc-status")
        .map(|value| tonic::Code::from_bytes(value.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::grpc_status;
    use tonic::codegen::http;

    #[test]
    fn the_status_is_read_from_headers_or_trailers_and_absent_otherwise() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(grpc_status(&headers), None);
        headers.insert("grpc-status", http::HeaderValue::from_static("0"));
        assert_eq!(grpc_status(&headers), Some(tonic::Code::Ok));
        headers.insert("grpc-status", http::HeaderValue::from_static("8"));
        assert_eq!(grpc_status(&headers), Some(tonic::Code::ResourceExhausted));
        let status = tonic::Status::deadline_exceeded("late").into_http::<()>();
        assert_eq!(
            grpc_status(status.headers()),
            Some(tonic::Code::DeadlineExceeded)
        );
    }
}
