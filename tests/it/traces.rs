//! OpenTelemetry traces end to end: a loopback OTLP receiver (the collector's gRPC
//! TraceService), the real server exporting to it, calls that carry a `traceparent`.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use leadcheck::pb;
use leadcheck::testkit::{DnsServer, Script, SmtpResponder};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::Span;

use crate::support::Server;

/// The spans a receiver was sent, with the `service.name` of their resource.
#[derive(Clone, Default)]
pub(crate) struct Received(Arc<Mutex<Vec<(String, Span)>>>);

#[tonic::codegen::async_trait]
impl TraceService for Received {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.0.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|kv| kv.key == "service.name")
                .map(|kv| text(kv.value.as_ref()))
                .unwrap_or_default();
            for scope in resource_spans.scope_spans {
                spans.extend(scope.spans.into_iter().map(|s| (service.clone(), s)));
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

impl Received {
    /// Starts an OTLP/gRPC receiver on 127.0.0.1; returns it and its endpoint URL.
    pub(crate) async fn start() -> (Received, String) {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let received = Received::default();
        let service = TraceServiceServer::new(received.clone());
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        (received, format!("http://{addr}"))
    }

    pub(crate) fn spans(&self) -> Vec<(String, Span)> {
        self.0.lock().unwrap().clone()
    }
}

/// Any attribute value as text (arrays and maps flattened), to look for personal data.
fn text(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(any_value::Value::ArrayValue(a)) => a
            .values
            .iter()
            .map(|v| text(Some(v)))
            .collect::<Vec<_>>()
            .join(" "),
        Some(any_value::Value::KvlistValue(kv)) => all_text(&kv.values),
        Some(any_value::Value::BytesValue(b)) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

fn all_text(attributes: &[KeyValue]) -> String {
    attributes
        .iter()
        .map(|kv| format!("{}={}", kv.key, text(kv.value.as_ref())))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every string a span sends: its name, attributes, events and their attributes.
pub(crate) fn everything(span: &Span) -> String {
    let mut out = format!("{}\n{}", span.name, all_text(&span.attributes));
    for event in &span.events {
        out.push_str(&format!(
            "\n{}\n{}",
            event.name,
            all_text(&event.attributes)
        ));
    }
    for link in &span.links {
        out.push_str(&format!("\n{}", all_text(&link.attributes)));
    }
    out
}

/// Fails when a span's name, attributes, events or links hold any of `secrets`, in any
/// case.
fn assert_none_holds(spans: &[Span], secrets: &[&str]) {
    for span in spans {
        let sent = everything(span).to_lowercase();
        for secret in secrets {
            assert!(
                !sent.contains(&secret.to_lowercase()),
                "`{secret}` in a span: {sent}"
            );
        }
    }
}

pub(crate) fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .map(|kv| text(kv.value.as_ref()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A call's request with a W3C `traceparent` naming the caller's trace and span.
fn traced<T>(message: T, trace: &str, span: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace}-{span}-01").parse().unwrap(),
    );
    request
        .metadata_mut()
        .insert("tracestate", "vendor=opaque".parse().unwrap());
    request
}

/// Stops the server with SIGTERM and waits for it to exit: the spans still queued go out.
pub(crate) fn stop(mut server: Server) {
    server.signal("TERM");
    let status = server.child.wait().unwrap();
    assert!(status.success(), "exit: {status}; logs:\n{}", server.logs());
}

const EMAIL: &str = "zelda.quist@traced.test";
const LOCAL: &str = "zelda.quist";
const PHONE: &str = "+1 202 555 0143";

/// Multi-threaded: the receiver must keep serving while the test waits for the server to
/// exit, since the server sends its last spans as it drains.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_continues_the_callers_trace_with_dns_and_smtp_spans_and_no_personal_data() {
    let (received, endpoint) = Received::start().await;
    let dns = crate::smtp::dns_for(&["traced.test", "shared.test"]).await;
    let smtp = SmtpResponder::start(Script::new().default_rcpt_reply("250 2.1.5 ok"))
        .await
        .unwrap();
    let port = smtp.port().to_string();
    let server = Server::start_env(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--dns-server",
            &dns.addr().to_string(),
            "--dns-timeout",
            "10s",
            "--smtp-probe",
            "--smtp-port",
            &port,
            "--smtp-allow-private",
        ]
        .map(String::from),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_SERVICE_NAME", "leadcheck-it"),
            ("OTEL_TRACES_SAMPLER", "parentbased_always_on"),
        ],
    );
    let mut client = server.client().await;

    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller = "00f067aa0ba902b7";
    let lead = pb::AssessLeadRequest {
        request_id: "traced-1".into(),
        lead: Some(pb::Lead {
            email: EMAIL.into(),
            phone: PHONE.into(),
            country: "US".into(),
            first_name: "Zelda".into(),
            ..Default::default()
        }),
        as_of: None,
    };
    let assessed = client
        .assess_lead(traced(lead, trace, caller))
        .await
        .expect("AssessLead")
        .into_inner();
    let email = assessed.email.expect("an email verdict");
    assert_eq!(email.validity(), pb::EmailValidity::Valid, "{email:?}");

    // Two calls for one domain while its lookup is slow: one lookup, one span, which the
    // call that waited links to.
    dns.set_delay(Duration::from_millis(1500));
    let (first_trace, second_trace) = (
        "11111111111111111111111111111111",
        "22222222222222222222222222222222",
    );
    let mut other = server.client().await;
    let (first, second) = tokio::join!(
        client.validate_email(traced(
            pb::ValidateEmailRequest {
                email: "ann.one@shared.test".into()
            },
            first_trace,
            "1111111111111111"
        )),
        other.validate_email(traced(
            pb::ValidateEmailRequest {
                email: "bob.two@shared.test".into()
            },
            second_trace,
            "2222222222222222"
        )),
    );
    first.expect("first ValidateEmail");
    second.expect("second ValidateEmail");
    drop((client, other));
    tokio::task::block_in_place(|| stop(server));

    let spans: Vec<Span> = received
        .spans()
        .into_iter()
        .map(|(service, span)| {
            assert_eq!(service, "leadcheck-it", "OTEL_SERVICE_NAME is the service");
            span
        })
        .collect();
    let in_trace = |trace: &str| -> Vec<&Span> {
        spans.iter().filter(|s| hex(&s.trace_id) == trace).collect()
    };
    let named = |spans: &[&Span], name: &str| -> Vec<Span> {
        spans
            .iter()
            .filter(|s| s.name == name)
            .map(|s| (*s).clone())
            .collect()
    };

    // The server span: the caller's trace, the caller's span as its parent, the RPC
    // attributes of the semantic conventions.
    let ours = in_trace(trace);
    let calls = named(&ours, "leadcheck.v1.LeadCheck/AssessLead");
    assert_eq!(calls.len(), 1, "one server span: {ours:#?}");
    let call = &calls[0];
    assert_eq!(hex(&call.parent_span_id), caller);
    assert_eq!(call.kind, 2, "SPAN_KIND_SERVER");
    assert_eq!(attribute(call, "rpc.system").as_deref(), Some("grpc"));
    assert_eq!(
        attribute(call, "rpc.service").as_deref(),
        Some("leadcheck.v1.LeadCheck")
    );
    assert_eq!(attribute(call, "rpc.method").as_deref(), Some("AssessLead"));
    assert_eq!(
        attribute(call, "rpc.grpc.status_code").as_deref(),
        Some("0")
    );

    // The DNS lookup and the SMTP probe are the call's children.
    let lookups = named(&ours, "dns lookup");
    assert_eq!(lookups.len(), 1, "one lookup: {ours:#?}");
    let lookup = &lookups[0];
    assert_eq!(lookup.parent_span_id, call.span_id);
    assert_eq!(lookup.kind, 3, "SPAN_KIND_CLIENT");
    assert_eq!(
        attribute(lookup, "dns.question.name").as_deref(),
        Some("traced.test")
    );
    assert_eq!(
        attribute(lookup, "leadcheck.dns.outcome").as_deref(),
        Some("mx")
    );
    let probes = named(&ours, "smtp probe");
    assert_eq!(probes.len(), 1, "one probe: {ours:#?}");
    let probe = &probes[0];
    assert_eq!(probe.parent_span_id, call.span_id);
    assert_eq!(
        attribute(probe, "leadcheck.email.domain").as_deref(),
        Some("traced.test")
    );
    assert_eq!(
        attribute(probe, "server.address").as_deref(),
        Some("mx.traced.test")
    );
    assert_eq!(
        attribute(probe, "leadcheck.smtp.outcome").as_deref(),
        Some("smtp.accepted")
    );

    // The coalesced lookup: one span, in the trace of the call that made it; the other
    // call's server span links to it.
    let shared: Vec<&Span> = spans
        .iter()
        .filter(|s| attribute(s, "dns.question.name").as_deref() == Some("shared.test"))
        .collect();
    assert_eq!(
        shared.len(),
        1,
        "one lookup span for two calls: {shared:#?}"
    );
    let lookup = shared[0];
    let maker = hex(&lookup.trace_id);
    let waiter = if maker == first_trace {
        second_trace
    } else {
        assert_eq!(
            maker, second_trace,
            "the lookup is in one of the calls' traces"
        );
        first_trace
    };
    let waiting = named(&in_trace(waiter), "leadcheck.v1.LeadCheck/ValidateEmail");
    assert_eq!(waiting.len(), 1, "{spans:#?}");
    assert!(
        waiting[0]
            .links
            .iter()
            .any(|link| link.span_id == lookup.span_id && link.trace_id == lookup.trace_id),
        "the waiting call links to the lookup: {:#?}",
        waiting[0]
    );

    // No personal data in any span: neither address nor local part, nor the number in
    // any of its forms.
    assert_none_holds(
        &spans,
        &[
            EMAIL,
            LOCAL,
            "zelda",
            "quist",
            "ann.one",
            "bob.two",
            PHONE,
            "2025550143",
            "202 555 0143",
            "5550143",
        ],
    );
}

#[tokio::test]
async fn traces_turned_off_by_the_sdk_variable_send_nothing_whatever_the_traceparent() {
    let (received, endpoint) = Received::start().await;
    let dns = DnsServer::start().await.unwrap();
    dns.mx("quiet.test", &[(10, "mx.quiet.test")]);
    dns.a("mx.quiet.test", &[Ipv4Addr::new(192, 0, 2, 1)]);
    let args: Vec<String> = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--dns-server",
        &dns.addr().to_string(),
    ]
    .map(String::from)
    .to_vec();
    let server = Server::start_env(
        &args,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_SDK_DISABLED", "true"),
        ],
    );
    let mut client = server.client().await;
    let verdict = client
        .validate_email(traced(
            pb::ValidateEmailRequest {
                email: "ann@quiet.test".into(),
            },
            "4bf92f3577b34da6a3ce929d0e0e4736",
            "00f067aa0ba902b7",
        ))
        .await
        .expect("ValidateEmail")
        .into_inner();
    assert_eq!(verdict.validity(), pb::EmailValidity::Valid, "{verdict:?}");
    drop(client);
    stop(server);
    assert!(received.spans().is_empty());
}

/// A `leadcheck batch` run is one trace: its run span, a `chunk` span under it for each
/// stream, and under each chunk the server's `AssessLeads` span, which continues the
/// chunk's `traceparent`. No span holds a row's address, local part or number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_run_is_one_trace_of_chunks_the_server_continues() {
    let (received, endpoint) = Received::start().await;
    let dns = DnsServer::start().await.unwrap();
    dns.mx("contoso.test", &[(10, "mx.contoso.test")]);
    let env = [("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str())];
    let dns_addr = dns.addr().to_string();
    let args = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--dns-server",
        &dns_addr,
    ];
    let server = Server::start_env(&args.map(String::from), &env);
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in.csv"), dir.path().join("out.csv"));
    let mut csv = String::from("Email,Phone,Country\n");
    for i in 0..250 {
        csv.push_str(&format!(
            "quinta{i}@contoso.test,+1 202 555 {:04},US\n",
            1000 + i
        ));
    }
    std::fs::write(&input, csv).unwrap();
    let run = tokio::task::block_in_place(|| {
        std::process::Command::new(env!("CARGO_BIN_EXE_leadcheck"))
            .args([
                "batch",
                "--server",
                &server.url(),
                "--quiet",
                "--chunk",
                "100",
            ])
            .arg("--input")
            .arg(&input)
            .arg("--output")
            .arg(&output)
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
            .output()
            .unwrap()
    });
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "batch failed: {stderr}");
    tokio::task::block_in_place(|| stop(server));

    let spans = received.spans();
    let of = |service: &str, name: &str| -> Vec<Span> {
        (spans.iter())
            .filter(|(s, span)| s == service && span.name == name)
            .map(|(_, span)| span.clone())
            .collect()
    };
    let runs = of("leadcheck-batch", "batch run");
    assert_eq!(runs.len(), 1, "one run span: {:?}", spans.len());
    let run = &runs[0];
    assert!(run.parent_span_id.is_empty(), "the run starts its trace");
    assert_eq!(
        attribute(run, "leadcheck.batch.rows").as_deref(),
        Some("250")
    );
    let chunks = of("leadcheck-batch", "chunk");
    assert_eq!(chunks.len(), 3, "250 rows in chunks of 100");
    for chunk in &chunks {
        assert_eq!(
            chunk.trace_id, run.trace_id,
            "a chunk is in the run's trace"
        );
        assert_eq!(
            chunk.parent_span_id, run.span_id,
            "a chunk is the run's child"
        );
        assert_eq!(
            attribute(chunk, "rpc.grpc.status_code").as_deref(),
            Some("0")
        );
    }
    let served = of("leadcheck", "leadcheck.v1.LeadCheck/AssessLeads");
    assert_eq!(served.len(), 3, "one server span a stream");
    for span in &served {
        assert_eq!(
            span.trace_id, run.trace_id,
            "the server continues the run's trace"
        );
        assert!(
            chunks.iter().any(|c| c.span_id == span.parent_span_id),
            "the server's span is a chunk's child"
        );
    }
    let spans: Vec<Span> = spans.into_iter().map(|(_, span)| span).collect();
    assert_none_holds(&spans, &["quinta", "@contoso.test", "202 555", "+12025551"]);
}

/// The shared cache's calls are spans of the call that made them: a Redis read (miss),
/// then the write of what DNS answered, in the caller's trace, with the semantic
/// conventions' attributes and never the key (the domain's or the address's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_reads_and_writes_are_spans_of_the_call_without_the_key() {
    let (received, endpoint) = Received::start().await;
    let redis = crate::shared_cache::Redis::start();
    let dns = DnsServer::start().await.unwrap();
    dns.mx("cached.test", &[(10, "mx.cached.test")]);
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        (
            "LEADCHECK_REDIS_KEY_SECRET",
            "0123456789abcdef0123456789abcdef",
        ),
    ];
    let (dns_addr, url) = (dns.addr().to_string(), redis.url());
    let args = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--dns-server",
        &dns_addr,
        "--redis-url",
        &url,
    ];
    let server = Server::start_env(&args.map(String::from), &env);
    let mut client = server.client().await;
    let trace = "33333333333333333333333333333333";
    let request = pb::ValidateEmailRequest {
        email: "ulla.vane@cached.test".into(),
    };
    client
        .validate_email(traced(request, trace, "3333333333333333"))
        .await
        .expect("ValidateEmail");
    drop(client);
    tokio::task::block_in_place(|| stop(server));

    let spans: Vec<Span> = (received.spans().into_iter())
        .map(|(_, span)| span)
        .filter(|span| hex(&span.trace_id) == trace)
        .collect();
    let ids: Vec<&[u8]> = spans.iter().map(|s| s.span_id.as_slice()).collect();
    for name in ["GETRANGE", "SET"] {
        let redis_spans: Vec<&Span> = spans.iter().filter(|s| s.name == name).collect();
        assert!(
            !redis_spans.is_empty(),
            "a {name} span in the caller's trace"
        );
        for span in redis_spans {
            assert_eq!(attribute(span, "db.system.name").as_deref(), Some("redis"));
            assert_eq!(attribute(span, "db.operation.name").as_deref(), Some(name));
            assert!(
                ids.contains(&span.parent_span_id.as_slice()),
                "{name}'s parent is a span of the call"
            );
        }
    }
    assert_none_holds(&spans, &["ulla", "leadcheck:v2"]);
}
