//! Health, reflection, limits and graceful shutdown.

use std::time::Duration;

use leadcheck::pb;
use leadcheck::testkit::{Behaviour, DnsServer};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

use crate::support::Server;

async fn status(server: &Server, service: &str) -> Result<ServingStatus, tonic::Status> {
    let mut health = HealthClient::new(server.channel().await);
    let reply = health
        .check(HealthCheckRequest {
            service: service.to_string(),
        })
        .await?;
    Ok(reply.into_inner().status())
}

#[tokio::test]
async fn health_is_serving_for_the_server_and_the_service() {
    let dns = DnsServer::start().await.unwrap();
    let server = Server::start(dns.addr(), &[]);
    assert_eq!(status(&server, "").await.unwrap(), ServingStatus::Serving);
    assert_eq!(
        status(&server, "leadcheck.v1.LeadCheck").await.unwrap(),
        ServingStatus::Serving
    );
    let unknown = status(&server, "no.such.Service").await.unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
}

#[tokio::test]
async fn reflection_v1_and_v1alpha_list_the_services() {
    use tonic_reflection::pb::{v1, v1alpha};
    let dns = DnsServer::start().await.unwrap();
    let server = Server::start(dns.addr(), &[]);

    let mut client =
        v1::server_reflection_client::ServerReflectionClient::new(server.channel().await);
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut replies = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let reply = replies.message().await.unwrap().unwrap();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        reply.message_response
    else {
        panic!("unexpected reflection reply");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"leadcheck.v1.LeadCheck".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"grpc.health.v1.Health".to_string()),
        "{names:?}"
    );

    let mut alpha =
        v1alpha::server_reflection_client::ServerReflectionClient::new(server.channel().await);
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::FileContainingSymbol(
                "leadcheck.v1.LeadCheck".to_string(),
            ),
        ),
    };
    let mut replies = alpha
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let reply = replies.message().await.unwrap().unwrap();
    assert!(matches!(
        reply.message_response,
        Some(v1alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(ref f))
            if !f.file_descriptor_proto.is_empty()
    ));
}

#[tokio::test]
async fn an_over_long_field_is_invalid_argument_naming_the_field() {
    let dns = DnsServer::start().await.unwrap();
    let server = Server::start(dns.addr(), &[]);
    let mut client = server.client().await;
    let err = client
        .assess_lead(pb::AssessLeadRequest {
            request_id: "1".into(),
            lead: Some(pb::Lead {
                title: "x".repeat(5000),
                ..Default::default()
            }),
            as_of: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(err.message().contains("lead.title"), "{}", err.message());
    let err = client
        .validate_email(pb::ValidateEmailRequest {
            email: "a".repeat(5000),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(err.message().contains("email"), "{}", err.message());
}

#[tokio::test]
async fn sigterm_finishes_the_call_in_flight_and_exits_zero() {
    let dns = DnsServer::start().await.unwrap();
    // The lookup hangs until the resolver's timeout: the call is in flight for ~1.5 s.
    dns.behave("slow.test", Behaviour::Silent);
    let mut server = Server::start(
        dns.addr(),
        &["--dns-timeout-ms", "1500", "--shutdown-grace-secs", "20"],
    );
    let mut client = server.client().await;
    let call = tokio::spawn(async move {
        client
            .validate_email(pb::ValidateEmailRequest {
                email: "someone@slow.test".into(),
            })
            .await
    });
    // Wait until the query reached the DNS server: the call is in flight.
    for _ in 0..100 {
        if dns.queries_for("slow.test") > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        dns.queries_for("slow.test") > 0,
        "the call never reached DNS"
    );
    server.signal("TERM");
    let verdict = call
        .await
        .unwrap()
        .expect("the call in flight completes")
        .into_inner();
    assert_eq!(verdict.validity(), pb::EmailValidity::Unknown);
    assert!(
        verdict.reasons.iter().any(|r| r.code == "dns.timeout"),
        "{verdict:?}"
    );
    let status = tokio::task::spawn_blocking(move || server.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit status {status:?}");
}

#[tokio::test]
async fn health_turns_not_serving_when_shutdown_begins() {
    let dns = DnsServer::start().await.unwrap();
    let mut server = Server::start(dns.addr(), &["--shutdown-delay-ms", "3000"]);
    let mut health = HealthClient::new(server.channel().await);
    let check = || HealthCheckRequest {
        service: "leadcheck.v1.LeadCheck".to_string(),
    };
    assert_eq!(
        health.check(check()).await.unwrap().get_ref().status(),
        ServingStatus::Serving
    );
    server.signal("TERM");
    let mut seen = false;
    for _ in 0..100 {
        match health.check(check()).await {
            Ok(reply) if reply.get_ref().status() == ServingStatus::NotServing => {
                seen = true;
                break;
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(status) => panic!("health failed before NOT_SERVING was seen: {status}"),
        }
    }
    assert!(seen, "health never reported NOT_SERVING during shutdown");
    let status = tokio::task::spawn_blocking(move || server.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit status {status:?}");
}

#[tokio::test]
async fn past_the_concurrency_bound_calls_are_shed_not_queued() {
    let dns = DnsServer::start().await.unwrap();
    dns.behave("slow.test", Behaviour::Silent);
    let server = Server::start(
        dns.addr(),
        &["--dns-timeout-ms", "1500", "--max-concurrent-calls", "2"],
    );
    let client = server.client().await;
    let calls: Vec<_> = (0..12)
        .map(|i| {
            let mut client = client.clone();
            tokio::spawn(async move {
                client
                    .validate_email(pb::ValidateEmailRequest {
                        email: format!("user{i}@slow.test"),
                    })
                    .await
            })
        })
        .collect();
    let results = tokio::time::timeout(Duration::from_secs(30), futures::future::join_all(calls))
        .await
        .expect("no call may hang");
    let mut served = 0;
    let mut shed = 0;
    for result in results {
        match result.unwrap() {
            Ok(verdict) => {
                assert_eq!(verdict.get_ref().validity(), pb::EmailValidity::Unknown);
                served += 1;
            }
            Err(status) => {
                assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status}");
                shed += 1;
            }
        }
    }
    assert!(served >= 1 && shed >= 1, "served {served}, shed {shed}");
}

#[tokio::test]
async fn deadlines_bound_the_call_from_the_client_or_by_default() {
    let dns = DnsServer::start().await.unwrap();
    dns.behave("slow.test", Behaviour::Silent);
    let args: Vec<String> = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--dns-server",
        &dns.addr().to_string(),
        "--dns-timeout-ms",
        "5000",
        "--default-deadline-ms",
        "300",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let server = Server::start_args(&args);
    let mut client = server.client().await;

    // No deadline from the client: the server's default cuts the 5 s DNS wait.
    let err = client
        .validate_email(pb::ValidateEmailRequest {
            email: "a@slow.test".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::DeadlineExceeded);
    assert!(err.message().contains("300 ms"), "{}", err.message());

    // The client's shorter grpc-timeout wins. tonic's client enforces a grpc-timeout
    // itself, so a raw HTTP/2 call sends the header: the answer proves the server ended it.
    // The message follows its headers 40 ms late, as on a slow link or a busy server, and
    // the deadline still counts from the headers: tonic's own timer starts then and would
    // answer CANCELLED ("Timeout expired") if ours started only with the handler.
    let request = pb::AssessLeadRequest {
        request_id: "d".into(),
        lead: Some(pb::Lead {
            email: "b@slow.test".into(),
            ..Default::default()
        }),
        as_of: None,
    };
    for body_delay in [0, 40] {
        let (status, message) = raw_call(
            server.addr,
            "/leadcheck.v1.LeadCheck/AssessLead",
            &request,
            "150m",
            Duration::from_millis(body_delay),
        )
        .await;
        assert_eq!(
            status, "4",
            "DEADLINE_EXCEEDED is code 4; message {message}, body {body_delay} ms late"
        );
        assert!(message.contains("150"), "{message}");
    }
}

/// Makes one unary gRPC call over plain HTTP/2 with a `grpc-timeout` header and no timer
/// of its own, sending the message `body_delay` after the headers; returns grpc-status and
/// grpc-message.
async fn raw_call(
    addr: std::net::SocketAddr,
    path: &str,
    message: &impl prost::Message,
    timeout: &str,
    body_delay: Duration,
) -> (String, String) {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut h2, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    let request = http::Request::post(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("grpc-timeout", timeout)
        .body(())
        .unwrap();
    let (response, mut send) = h2.send_request(request, false).unwrap();
    tokio::time::sleep(body_delay).await;
    let body = message.encode_to_vec();
    let mut frame = vec![0u8];
    frame.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(&body);
    send.send_data(bytes::Bytes::from(frame), true).unwrap();
    let response = response.await.unwrap();
    let header = |map: &http::HeaderMap, name: &str| {
        map.get(name).map(|v| v.to_str().unwrap_or("").to_string())
    };
    if let Some(status) = header(response.headers(), "grpc-status") {
        let message = header(response.headers(), "grpc-message").unwrap_or_default();
        return (status, message);
    }
    let mut body = response.into_body();
    while let Some(chunk) = body.data().await {
        let _ = chunk.unwrap();
    }
    let trailers = body.trailers().await.unwrap().unwrap_or_default();
    (
        header(&trailers, "grpc-status").unwrap_or_default(),
        header(&trailers, "grpc-message").unwrap_or_default(),
    )
}

/// Fetches a plain HTTP/1.1 page from loopback.
pub(crate) async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).await.unwrap();
    body
}

#[tokio::test]
async fn metrics_are_scraped_and_logs_hold_no_raw_address() {
    let dns = DnsServer::start().await.unwrap();
    dns.mx("contoso.test", &[(10, "mx.contoso.test")]);
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let args: Vec<String> = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--dns-server",
        &dns.addr().to_string(),
        "--metrics-listen",
        &metrics_port.to_string(),
        "--log-format",
        "json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let server = Server::start_env(&args, &[("LEADCHECK_LOG", "debug")]);
    let mut client = server.client().await;
    for email in ["jane.doe@contoso.test", "jane.doe@contoso.test", "broken"] {
        client
            .validate_email(pb::ValidateEmailRequest {
                email: email.into(),
            })
            .await
            .unwrap();
    }
    client
        .assess_lead(pb::AssessLeadRequest {
            request_id: "m".into(),
            lead: Some(pb::Lead {
                email: "jane.doe@contoso.test".into(),
                phone: "+1 202 456 1111".into(),
                ..Default::default()
            }),
            as_of: None,
        })
        .await
        .unwrap();
    // A call that fails: its code is counted beside the OK ones.
    let refused = client
        .assess_lead(pb::AssessLeadRequest {
            request_id: "x".repeat(leadcheck::rpc::convert::MAX_FIELD_BYTES + 1),
            lead: None,
            as_of: None,
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    // One lead through the stream: its events run on their own task, in the call's span.
    let mut stream = client
        .assess_leads(tokio_stream::iter([pb::AssessLeadRequest {
            request_id: "s".into(),
            lead: Some(pb::Lead {
                email: "jane.doe@contoso.test".into(),
                ..Default::default()
            }),
            as_of: None,
        }]))
        .await
        .unwrap()
        .into_inner();
    while stream.message().await.unwrap().is_some() {}

    let mut page = String::new();
    for _ in 0..50 {
        page = http_get(metrics_port, "/metrics").await;
        if page.contains("grpc_server_handled_total") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for needle in [
        "grpc_server_handled_total{grpc_service=\"leadcheck.v1.LeadCheck\",grpc_method=\"ValidateEmail\",grpc_type=\"unary\",grpc_code=\"OK\"} 3",
        "grpc_server_handled_total{grpc_service=\"leadcheck.v1.LeadCheck\",grpc_method=\"AssessLead\",grpc_type=\"unary\",grpc_code=\"OK\"} 1",
        "grpc_server_handled_total{grpc_service=\"leadcheck.v1.LeadCheck\",grpc_method=\"AssessLead\",grpc_type=\"unary\",grpc_code=\"INVALID_ARGUMENT\"} 1",
        "grpc_server_handled_total{grpc_service=\"leadcheck.v1.LeadCheck\",grpc_method=\"AssessLeads\",grpc_type=\"bidi_stream\",grpc_code=\"OK\"} 1",
        "grpc_server_started_total{grpc_service=\"leadcheck.v1.LeadCheck\",grpc_method=\"AssessLead\",grpc_type=\"unary\"} 2",
        "grpc_server_handling_seconds_count{grpc_service=\"leadcheck.v1.LeadCheck\",grpc_method=\"AssessLead\",grpc_type=\"unary\"} 2",
        // Registered at start-up, never called.
        "grpc_server_handled_total{grpc_service=\"leadcheck.v1.LeadCheck\",grpc_method=\"ValidatePhone\",grpc_type=\"unary\",grpc_code=\"OK\"} 0",
        "grpc_server_handling_seconds_bucket",
        // Two ValidateEmail calls, the unary lead, the streamed one.
        "leadcheck_email_verdicts_total{validity=\"EMAIL_VALIDITY_VALID\"} 4",
        "leadcheck_email_verdicts_total{validity=\"EMAIL_VALIDITY_INVALID\"} 1",
        // Never counted, there from start-up.
        "leadcheck_email_verdicts_total{validity=\"EMAIL_VALIDITY_SPAM\"} 0",
        "leadcheck_cache_requests_total{cache=\"phone\",result=\"miss\"} 1",
        "leadcheck_lead_quality_total",
        "leadcheck_dns_lookups_total{outcome=\"mx\"} 1",
        "leadcheck_cache_requests_total{cache=\"dns\",result=\"hit\"}",
        "leadcheck_cache_requests_total{cache=\"dns\",result=\"miss\"} 1",
    ] {
        assert!(page.contains(needle), "missing {needle} in\n{page}");
    }
    assert!(
        !page.contains("UNSPECIFIED"),
        "a value the service never returns has no series:\n{page}"
    );

    let logs = server.logs();
    assert!(
        logs.contains("j***@contoso.test"),
        "the redacted form is logged: {logs}"
    );
    for raw in ["jane.doe@contoso.test", "jane.doe", "4561111", "456 1111"] {
        assert!(
            !logs.contains(raw),
            "raw contact data {raw:?} in the logs:\n{logs}"
        );
    }
    // JSON logs: every line is an object, and each event of a call is in its call's span,
    // which names the method and, once answered, the status code.
    let events: Vec<serde_json::Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let verdict = events
        .iter()
        .find(|e| e["fields"]["message"] == "lead assessed")
        .unwrap_or_else(|| panic!("no 'lead assessed' event in\n{logs}"));
    assert_eq!(
        verdict["span"]["method"], "/leadcheck.v1.LeadCheck/AssessLead",
        "{verdict}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["fields"]["message"] == "lead assessed"
                && e["span"]["method"] == "/leadcheck.v1.LeadCheck/AssessLeads"),
        "no 'lead assessed' event in the stream's span in\n{logs}"
    );
    let call = events
        .iter()
        .find(|e| e["fields"]["message"] == "call" && e["span"]["code"] == "OK")
        .unwrap_or_else(|| panic!("no 'call' event with its code in\n{logs}"));
    assert!(call["span"]["method"]
        .as_str()
        .unwrap()
        .starts_with("/leadcheck.v1.LeadCheck/"));
}

/// `leadcheck check` runs the engines in process and prints the same JSON as grpcurl shows
/// for AssessLead: the proto's canonical mapping, which parses back into the message.
#[tokio::test]
async fn check_prints_the_assessment_as_the_protos_json() {
    let dns = DnsServer::start().await.unwrap();
    dns.mx("contoso.test", &[(10, "mx.contoso.test")]);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_leadcheck"))
        .args([
            "check",
            "--dns-server",
            &dns.addr().to_string(),
            "--dns-allow-suffix",
            "test",
            "--email",
            "ana@contoso.test",
            "--phone",
            "020 7183 8750",
            "--country",
            "United Kingdom",
            "--lead-source",
            "AppSource (SPZA)-PLT | contoso.crm-addon",
            "--company",
            "Contoso",
        ])
        .output()
        .expect("run leadcheck check");
    assert!(output.status.success(), "{output:?}");
    let json = String::from_utf8(output.stdout).unwrap();
    assert!(json.contains("\"EMAIL_VALIDITY_VALID\""), "{json}");
    let a: pb::LeadAssessment = serde_json::from_str(&json).expect("a LeadAssessment");
    assert_eq!(
        a.email.as_ref().unwrap().validity(),
        pb::EmailValidity::Valid
    );
    assert_eq!(a.email.as_ref().unwrap().mx_hosts, ["mx.contoso.test"]);
    let phone = a.phone.as_ref().unwrap();
    assert_eq!(phone.validity(), pb::PhoneValidity::Valid);
    assert_eq!(phone.e164, "+442071838750");
    assert_eq!(
        a.source.as_ref().unwrap().action(),
        pb::Action::PartnerLedTrial
    );
    let points: i32 = a.factors.iter().map(|f| f.points).sum();
    assert_eq!(
        a.score as i32,
        20 + points,
        "base 20 plus the factors: {a:?}"
    );
    assert_eq!(a.dedup_key, "email:ana@contoso.test");
    assert!(a.model_version.starts_with("leadcheck-default@"));
    // A clear error, not a panic, for a bad flag value.
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_leadcheck"))
        .args(["check", "--dns-server", "not-an-address"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("not-an-address"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
