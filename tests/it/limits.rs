//! What clients cannot hold: calls whose message never comes, streams past their bound or
//! their time, silent connections, connections past the cap, a stream whose client reads
//! nothing; and health answered through all of it. Limits are made small in the server's
//! flags; the waits below are bounds that only catch a hang.

use std::net::SocketAddr;
use std::time::Duration;

use futures::channel::mpsc;
use leadcheck::pb;
use leadcheck::pb::lead_check_client::LeadCheckClient;
use leadcheck::testkit::DnsServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

use crate::support::Server;

/// The longest any awaited end may take before the test calls it a hang.
const HANG: Duration = Duration::from_secs(30);

fn phone_request() -> pb::ValidatePhoneRequest {
    pb::ValidatePhoneRequest {
        phone: "+1 202 456 1111".into(),
        country: "US".into(),
        ..Default::default()
    }
}

pub(crate) fn lead_request(i: usize) -> pb::AssessLeadRequest {
    pb::AssessLeadRequest {
        request_id: format!("r{i}"),
        lead: Some(pb::Lead {
            email: format!("ann{i}@contoso.test"),
            phone: "+1 202 456 1111".into(),
            ..Default::default()
        }),
        as_of: None,
    }
}

/// A free loopback port for a second listener (metrics, health).
pub(crate) fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Starts the server with these flags and metrics on a port of their own; that port.
pub(crate) fn start_with_metrics(dns: &DnsServer, flags: &[&str]) -> (Server, SocketAddr) {
    let metrics = free_port().to_string();
    let mut flags = flags.to_vec();
    flags.extend(["--metrics-listen", &metrics]);
    let server = Server::start(dns.addr(), &flags);
    (server, metrics.parse().unwrap())
}

/// The value of the series `series` (name and labels as rendered) on `/metrics`, once it
/// reaches at least `at_least` (the exporter renders on a timer); the last value seen.
async fn metric(addr: SocketAddr, series: &str, at_least: f64) -> f64 {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let page = crate::foundation::http_get(addr, "/metrics").await;
        let value = page
            .lines()
            .find_map(|line| line.strip_prefix(series)?.trim().parse::<f64>().ok())
            .unwrap_or(-1.0);
        if value >= at_least || std::time::Instant::now() > deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A raw HTTP/2 connection, for calls tonic's client would not make.
async fn h2_connection(
    addr: SocketAddr,
) -> (
    h2::client::SendRequest<bytes::Bytes>,
    h2::PingPong,
    tokio::task::JoinHandle<Result<(), h2::Error>>,
) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (h2, mut connection) = h2::client::handshake(tcp).await.unwrap();
    let ping_pong = connection.ping_pong().expect("ping pong");
    (h2, ping_pong, tokio::spawn(connection))
}

/// The headers of a gRPC call to `path`, without a deadline.
pub(crate) fn call_headers(addr: SocketAddr, path: &str) -> http::Request<()> {
    http::Request::post(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .unwrap()
}

/// One message in gRPC's framing: no compression, its length, its bytes.
pub(crate) fn grpc_frame(message: &impl prost::Message) -> bytes::Bytes {
    let body = message.encode_to_vec();
    let mut frame = vec![0u8];
    frame.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(&body);
    frame.into()
}

async fn health_is_serving(channel: tonic::transport::Channel) {
    let status = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("Health/Check answered")
        .into_inner()
        .status();
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving
    );
}

#[tokio::test]
async fn calls_whose_message_never_comes_end_at_the_deadline_and_hold_nothing_meanwhile() {
    let dns = DnsServer::start().await.unwrap();
    let (server, metrics) = start_with_metrics(
        &dns,
        &[
            "--max-concurrent-calls",
            "2",
            "--default-deadline-ms",
            "3000",
        ],
    );
    // Four calls, twice the bound, send their headers and never their message.
    let (h2, mut ping_pong, _connection) = h2_connection(server.addr).await;
    let mut stalled = Vec::new();
    for _ in 0..4 {
        let mut h2 = h2.clone().ready().await.unwrap();
        let headers = call_headers(server.addr, "/leadcheck.v1.LeadCheck/ValidatePhone");
        stalled.push(h2.send_request(headers, false).unwrap());
    }
    // The server answers a ping only after reading every frame before it.
    ping_pong.ping(h2::Ping::opaque()).await.unwrap();

    // While they are open, other calls and health are answered, several times the bound.
    let mut client = server.client().await;
    for _ in 0..5 {
        let verdict = client
            .validate_phone(phone_request())
            .await
            .expect("served while stalled calls are open")
            .into_inner();
        assert_eq!(verdict.validity(), pb::PhoneValidity::Valid);
    }
    health_is_serving(server.channel().await).await;

    // Each stalled call ends DEADLINE_EXCEEDED, from the server, at its deadline.
    for (response, _send) in stalled {
        let response = tokio::time::timeout(HANG, response)
            .await
            .expect("a call whose message never came was not ended")
            .unwrap();
        let header = |name| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        };
        assert_eq!(
            header("grpc-status").as_deref(),
            Some("4"),
            "DEADLINE_EXCEEDED"
        );
        // Percent-encoded, as gRPC sends it.
        let message = header("grpc-message").unwrap_or_default();
        assert!(message.contains("deadline%20of%203000%20ms"), "{message}");
    }
    assert_eq!(
        metric(metrics, "leadcheck_request_timeouts_total", 4.0).await,
        4.0
    );
}

/// Opens an `AssessLeads` stream, sends one lead and reads its answer: the stream is
/// admitted and working. Returns the sender of further leads and the answers.
async fn working_stream(
    client: &mut LeadCheckClient<tonic::transport::Channel>,
) -> Result<
    (
        mpsc::UnboundedSender<pb::AssessLeadRequest>,
        tonic::Streaming<pb::LeadAssessment>,
    ),
    tonic::Status,
> {
    let (tx, rx) = mpsc::unbounded();
    tx.unbounded_send(lead_request(0)).unwrap();
    let mut answers = client.assess_leads(rx).await?.into_inner();
    let first = answers.message().await?.expect("an answer");
    assert_eq!(first.request_id, "r0");
    Ok((tx, answers))
}

#[tokio::test]
async fn streams_past_the_bound_are_refused_and_admitted_again_after_one_ends() {
    let dns = DnsServer::start().await.unwrap();
    dns.mx("contoso.test", &[(10, "mx.contoso.test")]);
    let (server, metrics) = start_with_metrics(&dns, &["--max-lead-streams", "2"]);
    let mut client = server.client().await;
    let (first_tx, mut first) = working_stream(&mut client).await.expect("first stream");
    let (_second_tx, _second) = working_stream(&mut client).await.expect("second stream");

    // A third, on this connection or another, is refused at once, while the two idle.
    let refused = working_stream(&mut client).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::ResourceExhausted, "{refused}");
    assert!(
        refused.message().contains("2 open"),
        "{}",
        refused.message()
    );
    let mut other = server.client().await;
    let refused = working_stream(&mut other).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::ResourceExhausted, "{refused}");
    // Unary calls have slots of their own.
    other.validate_phone(phone_request()).await.unwrap();

    // The first ends; its slot comes back once the server has dropped it.
    drop(first_tx);
    while first.message().await.unwrap().is_some() {}
    let deadline = std::time::Instant::now() + HANG;
    let admitted = loop {
        match working_stream(&mut other).await {
            Ok(stream) => break stream,
            Err(status) if std::time::Instant::now() < deadline => {
                assert_eq!(status.code(), tonic::Code::ResourceExhausted);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(status) => panic!("no stream admitted after one ended: {status}"),
        }
    };
    drop(admitted);
    assert!(
        metric(
            metrics,
            "leadcheck_calls_shed_total{limit=\"streams\"}",
            2.0
        )
        .await
            >= 2.0
    );
}

#[tokio::test]
async fn a_stream_ends_when_idle_past_its_limit_or_open_past_its_total() {
    let dns = DnsServer::start().await.unwrap();
    dns.mx("contoso.test", &[(10, "mx.contoso.test")]);
    let server = Server::start(
        dns.addr(),
        &["--stream-idle-secs", "1", "--stream-max-secs", "4"],
    );
    let mut client = server.client().await;

    // Idle: one lead, then nothing.
    let (idle_tx, mut idle) = working_stream(&mut client).await.unwrap();
    // Busy: a lead every 200 ms, never idle for a second, until its total limit.
    let (busy_tx, mut busy) = working_stream(&mut client).await.unwrap();
    let feeder = tokio::spawn(async move {
        for i in 1.. {
            if busy_tx.unbounded_send(lead_request(i)).is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });

    let status = tokio::time::timeout(HANG, idle.message())
        .await
        .expect("an idle stream was not ended")
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status}");
    assert!(status.message().contains("idle"), "{}", status.message());
    drop(idle_tx);

    // The busy stream's answers come in order, all of them, then its end.
    let mut next = 1;
    let status = tokio::time::timeout(HANG, async {
        loop {
            match busy.message().await {
                Ok(Some(answer)) => {
                    assert_eq!(answer.request_id, format!("r{next}"), "in order, none lost");
                    next += 1;
                }
                Ok(None) => panic!("the stream ended without a status"),
                Err(status) => break status,
            }
        }
    })
    .await
    .expect("a stream past its total limit was not ended");
    feeder.abort();
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status}");
    assert!(
        status.message().contains("time limit"),
        "{}",
        status.message()
    );
    // A lead every 200 ms for the 4 s limit: well past the idle limit, never idle.
    assert!(next > 8, "answered {} leads before the limit", next - 1);
    // The server is unharmed.
    working_stream(&mut client).await.unwrap();
}

#[tokio::test]
async fn a_stream_whose_client_reads_nothing_has_its_connection_closed() {
    let dns = DnsServer::start().await.unwrap();
    dns.mx("contoso.test", &[(10, "mx.contoso.test")]);
    let server = Server::start(
        dns.addr(),
        &[
            "--stream-idle-secs",
            "1",
            "--keepalive-secs",
            "1",
            "--max-lead-streams",
            "1",
        ],
    );
    // The client grants the server no window: no answer can be sent, so the stream's end
    // cannot be either. h2 answers the server's pings all the while.
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let (mut h2, connection) = h2::client::Builder::new()
        .initial_window_size(0)
        .handshake::<_, bytes::Bytes>(tcp)
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    let headers = call_headers(server.addr, "/leadcheck.v1.LeadCheck/AssessLeads");
    let (_response, mut send) = h2.send_request(headers, false).unwrap();
    for i in 0..3 {
        send.send_data(grpc_frame(&lead_request(i)), false).unwrap();
    }
    let closed = tokio::time::timeout(HANG, connection).await;
    assert!(
        closed.is_ok(),
        "the connection of a stalled stream stayed open"
    );
    // Its stream slot came back with it.
    let mut client = server.client().await;
    let deadline = std::time::Instant::now() + HANG;
    while let Err(status) = working_stream(&mut client).await {
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert!(
            std::time::Instant::now() < deadline,
            "the slot never came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(server.logs().contains("could not end"), "{}", server.logs());
}

/// Reads until the server closes the connection; the bytes read. A reset counts as
/// closed.
async fn read_until_closed(stream: &mut (impl tokio::io::AsyncRead + Unpin)) -> Vec<u8> {
    let mut got = Vec::new();
    let _ = tokio::time::timeout(HANG, stream.read_to_end(&mut got))
        .await
        .expect("the server kept the connection open");
    got
}

#[tokio::test]
async fn a_connection_that_never_sends_the_preface_is_closed() {
    let dns = DnsServer::start().await.unwrap();
    let (server, metrics) = start_with_metrics(&dns, &["--preface-timeout-ms", "500"]);
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let got = read_until_closed(&mut silent).await;
    assert!(!got.is_empty(), "HTTP/2 sent its SETTINGS before the wait");
    // Half a preface, then silence: the wait is for the whole of it.
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    read_until_closed(&mut slow).await;
    assert_eq!(
        metric(
            metrics,
            "leadcheck_connections_refused_total{listener=\"grpc\",reason=\"preface_timeout\"}",
            2.0
        )
        .await,
        2.0
    );
    // A client that speaks at once is served, and stays connected past the timeout.
    let mut client = server.client().await;
    client.validate_phone(phone_request()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    client.validate_phone(phone_request()).await.unwrap();
}

#[tokio::test]
async fn connections_past_the_cap_are_closed_at_once_and_health_has_its_own_port() {
    let dns = DnsServer::start().await.unwrap();
    let health = free_port();
    let (server, metrics) = start_with_metrics(
        &dns,
        &[
            "--max-connections",
            "2",
            "--health-listen",
            &health.to_string(),
        ],
    );
    let (mut first, _, first_connection) = h2_connection(server.addr).await;
    let (_second, mut second_ping, _second_connection) = h2_connection(server.addr).await;
    second_ping.ping(h2::Ping::opaque()).await.unwrap();

    // A third is closed without a byte: an admitted one gets the server's SETTINGS.
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    assert!(read_until_closed(&mut third).await.is_empty());
    assert!(
        metric(
            metrics,
            "leadcheck_connections_refused_total{listener=\"grpc\",reason=\"limit\"}",
            1.0
        )
        .await
            >= 1.0
    );
    // The admitted ones are served.
    first = first.ready().await.unwrap();
    let (response, mut send) = first
        .send_request(
            call_headers(server.addr, "/leadcheck.v1.LeadCheck/ValidatePhone"),
            false,
        )
        .unwrap();
    send.send_data(grpc_frame(&phone_request()), true).unwrap();
    assert_eq!(response.await.unwrap().status(), http::StatusCode::OK);

    // Probes on the health port are answered all the while; it serves health alone.
    let channel = tonic::transport::Channel::from_shared(format!("http://{health}"))
        .unwrap()
        .connect()
        .await
        .expect("the health port takes connections past the cap of listen");
    health_is_serving(channel.clone()).await;
    let err = LeadCheckClient::new(channel)
        .validate_phone(phone_request())
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unimplemented);

    // One closes: a new connection is admitted.
    first_connection.abort();
    let deadline = std::time::Instant::now() + HANG;
    loop {
        let mut next = TcpStream::connect(server.addr).await.unwrap();
        let mut byte = [0u8; 1];
        if let Ok(Ok(1)) = tokio::time::timeout(HANG, next.read(&mut byte)).await {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no connection admitted again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn tls_handshakes_and_prefaces_have_their_time_limits() {
    use tokio_rustls::rustls;

    let dns = DnsServer::start().await.unwrap();
    let pki = crate::security::pki();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, _) = pki.server_files(dir.path());
    let (server, metrics) = start_with_metrics(
        &dns,
        &[
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--tls-handshake-timeout-ms",
            "500",
            "--preface-timeout-ms",
            "500",
        ],
    );
    // No ClientHello: closed, nothing sent.
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    assert!(read_until_closed(&mut silent).await.is_empty());
    assert_eq!(
        metric(
            metrics,
            "leadcheck_connections_refused_total{listener=\"grpc\",reason=\"tls_timeout\"}",
            1.0
        )
        .await,
        1.0
    );

    // A finished handshake, then no preface: closed too.
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::pem::PemObject::from_pem_slice(pki.ca.as_bytes()).expect("the CA"))
        .unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .expect("the handshake completes");
    read_until_closed(&mut tls).await;
    assert_eq!(
        metric(
            metrics,
            "leadcheck_connections_refused_total{listener=\"grpc\",reason=\"preface_timeout\"}",
            1.0
        )
        .await,
        1.0
    );
    // A TLS client that speaks is served.
    let channel = tonic::transport::Channel::from_shared(format!("https://{}", server.addr))
        .unwrap()
        .tls_config(
            tonic::transport::ClientTlsConfig::new()
                .ca_certificate(tonic::transport::Certificate::from_pem(&pki.ca))
                .domain_name("localhost"),
        )
        .unwrap()
        .connect()
        .await
        .unwrap();
    LeadCheckClient::new(channel)
        .validate_phone(phone_request())
        .await
        .unwrap();
}
