//! Logging, and OpenTelemetry traces exported over OTLP when the standard variables ask
//! for them (docs/operations.md, "Traces").
//!
//! Traces are on when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`
//! names a collector, unless `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`. The
//! SDK reads the rest as it is: `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
//! `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`, the `OTEL_BSP_*` batching and the
//! `OTEL_EXPORTER_OTLP_*` headers, timeout and compression. The export is OTLP over gRPC.
//!
//! Off, nothing of this is installed: the subscriber is the log formatter alone, as
//! before, no exporter runs, and the spans below stay disabled at the log level's
//! filter (they are debug spans), which costs a comparison where each would be made.
//!
//! On, the `tracing` spans of targets under `leadcheck` become OpenTelemetry spans
//! (through `tracing-opentelemetry`); events never do, so the only data a span carries
//! is its fields. Those are chosen to hold no email address, local part or phone number:
//! the call's method and status, a domain, an exchanger's host name, a cache kind and
//! an outcome.

pub mod server;

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{SpanContext, TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use tonic::codegen::http;

use crate::config::LogFormat;

pub use server::TraceLayer;

/// Whether spans are exported: set once, when the exporter is installed.
static ON: AtomicBool = AtomicBool::new(false);

/// Whether this process exports traces. Code that would do work only for a trace (read
/// a `traceparent`, keep a lookup's span for the callers that wait on it) asks this.
pub fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Whether the standard variables ask for traces: an OTLP endpoint is named, and
/// neither the SDK nor the trace exporter is turned off.
pub fn wanted() -> bool {
    wanted_by(|name| std::env::var(name).ok())
}

fn wanted_by(var: impl Fn(&str) -> Option<String>) -> bool {
    let set = |name: &str| var(name).is_some_and(|v| !v.trim().is_empty());
    let is =
        |name: &str, value: &str| var(name).is_some_and(|v| v.trim().eq_ignore_ascii_case(value));
    (set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") || set("OTEL_EXPORTER_OTLP_ENDPOINT"))
        && !is("OTEL_SDK_DISABLED", "true")
        && !is("OTEL_TRACES_EXPORTER", "none")
}

/// The exporter while traces are on. [`Traces::shutdown`] sends the spans still queued.
#[must_use = "spans still queued are lost unless the traces are shut down"]
pub struct Traces {
    provider: SdkTracerProvider,
}

impl Traces {
    /// Sends the spans still queued and stops the exporter. From a blocking thread: the
    /// SDK's batch thread waits on the export, whose connection lives on this runtime,
    /// which a current-thread runtime could not drive while it waited here.
    pub async fn shutdown(self) {
        let provider = self.provider;
        let done = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        match done {
            Ok(Ok(())) => {}
            Ok(Err(err)) => eprintln!("traces: the last spans were not all sent: {err}"),
            Err(err) => eprintln!("traces: shutdown failed: {err}"),
        }
    }
}

/// Sets up logging at `filter` in `format` on stderr and, when the standard variables
/// ask for them, traces under the service name `service` (unless `OTEL_SERVICE_NAME`
/// gives one). Call it inside the tokio runtime: the exporter's connection lives there.
pub fn init(format: LogFormat, filter: &str, service: &'static str) -> Option<Traces> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|err| {
        eprintln!("log filter `{filter}` is not valid ({err}): logging at info");
        tracing_subscriber::EnvFilter::new("info")
    });
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let provider = if wanted() {
        match provider(service) {
            Ok(provider) => Some(provider),
            Err(err) => {
                eprintln!("traces are off: cannot set up the OTLP exporter: {err}");
                None
            }
        }
    } else {
        None
    };
    let Some(provider) = provider else {
        // Off: the log formatter alone, exactly as without this module.
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(ansi);
        match format {
            LogFormat::Text => builder.init(),
            LogFormat::Json => builder.json().init(),
        }
        return None;
    };
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    // Spans of our own targets only, at every level, and no events: an event's message
    // and fields are written for the log, not vetted for a trace.
    let spans = tracing_subscriber::filter::filter_fn(|meta| {
        meta.is_span() && meta.target().starts_with("leadcheck")
    });
    let otel = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("leadcheck"))
        .with_threads(false)
        .with_filter(spans);
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let fmt = match format {
        LogFormat::Text => fmt.boxed(),
        LogFormat::Json => fmt.json().boxed(),
    };
    tracing_subscriber::registry()
        .with(otel)
        .with(fmt.with_filter(filter))
        .init();
    ON.store(true, Ordering::Relaxed);
    Some(Traces { provider })
}

/// The tracer provider: OTLP over gRPC, batched, with the SDK's sampler and resource
/// read from the environment.
fn provider(
    service: &'static str,
) -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    use opentelemetry_otlp::WithExportConfig as _;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_protocol(opentelemetry_otlp::Protocol::Grpc)
        .build()?;
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    let named = set("OTEL_SERVICE_NAME")
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|v| v.contains("service.name"));
    let resource = if named {
        opentelemetry_sdk::Resource::builder().build()
    } else {
        opentelemetry_sdk::Resource::builder()
            .with_service_name(service)
            .build()
    };
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// The span context of a `tracing` span, as the links of another span name it.
pub fn span_context(span: &tracing::Span) -> SpanContext {
    span.context().span().span_context().clone()
}

/// Links the current span to `target`: a caller that waited on work another call's
/// span did (a coalesced DNS lookup) points at that span rather than repeating it.
pub fn link_current(target: SpanContext) {
    if target.is_valid() {
        tracing::Span::current().add_link(target);
    }
}

/// The span of the last lookup of each name, kept while traces are on, so that the
/// calls that waited on a lookup another call made link to its span instead of having
/// one of their own. Bounded: past [`Lookups::CAP`] names it starts afresh (a waiter
/// then misses its link, nothing else).
#[derive(Debug, Default)]
pub struct Lookups {
    spans: std::sync::Mutex<std::collections::HashMap<String, SpanContext>>,
}

impl Lookups {
    /// The most names kept.
    pub const CAP: usize = 4096;

    /// A store when traces are on; `None`, and nothing kept, when they are off.
    pub fn when_on() -> Option<Lookups> {
        on().then(Lookups::default)
    }

    /// Notes `span` as the lookup of `name` in flight.
    pub fn started(&self, name: &str, span: &tracing::Span) {
        let context = span_context(span);
        if !context.is_valid() {
            return;
        }
        let mut spans = self.spans.lock().unwrap_or_else(|e| e.into_inner());
        if spans.len() >= Self::CAP && !spans.contains_key(name) {
            spans.clear();
        }
        spans.insert(name.to_string(), context);
    }

    /// Links the current span to the last lookup of `name`: the current call waited on
    /// it, or took its fresh answer.
    pub fn link(&self, name: &str) {
        let context = {
            let spans = self.spans.lock().unwrap_or_else(|e| e.into_inner());
            spans.get(name).cloned()
        };
        if let Some(context) = context {
            link_current(context);
        }
    }
}

/// Reads the trace context of an incoming call from its HTTP/2 headers.
pub(crate) struct HeaderExtractor<'a>(pub &'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// Writes the trace context of `span` into the metadata of an outgoing call
/// (`traceparent`, and `tracestate` when there is one). Nothing when traces are off.
pub fn inject(span: &tracing::Span, metadata: &mut tonic::metadata::MetadataMap) {
    if !on() {
        return;
    }
    struct Metadata<'a>(&'a mut tonic::metadata::MetadataMap);
    impl Injector for Metadata<'_> {
        fn set(&mut self, key: &str, value: String) {
            if let (Ok(key), Ok(value)) = (
                tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
                tonic::metadata::MetadataValue::try_from(value),
            ) {
                self.0.insert(key, value);
            }
        }
    }
    let cx = span.context();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&cx, &mut Metadata(metadata));
    });
}

#[cfg(test)]
mod tests {
    use super::wanted_by;

    #[test]
    fn traces_are_wanted_only_with_an_endpoint_and_not_turned_off() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| value.to_string())
            }
        };
        assert!(!wanted_by(env(&[])));
        assert!(!wanted_by(env(&[("OTEL_SERVICE_NAME", "leads")])));
        assert!(!wanted_by(env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")])));
        assert!(wanted_by(env(&[(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "http://127.0.0.1:4317"
        )])));
        assert!(wanted_by(env(&[(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://127.0.0.1:4317"
        )])));
        assert!(!wanted_by(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317"),
            ("OTEL_SDK_DISABLED", "TRUE"),
        ])));
        assert!(!wanted_by(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317"),
            ("OTEL_TRACES_EXPORTER", "none"),
        ])));
    }
}
