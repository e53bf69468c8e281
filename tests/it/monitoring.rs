//! What the server tells its operators: call metrics that follow a call from its headers
//! to its status (a stream's trailers), and a dashboard and alert rules that name only
//! metrics and labels the server exports.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures::channel::mpsc;
use futures::SinkExt;
use leadcheck::pb;
use leadcheck::testkit::DnsServer;

use crate::limits::{call_headers, free_port, grpc_frame, lead_request, start_with_metrics};
use crate::support::Server;

/// The longest any awaited end may take before the test calls it a hang.
const HANG: Duration = Duration::from_secs(30);

/// The labels of an `AssessLeads` series, as rendered.
const STREAM: &str =
    "grpc_service=\"leadcheck.v1.LeadCheck\",grpc_method=\"AssessLeads\",grpc_type=\"bidi_stream\"";

/// The value of the series `series` (name and labels as rendered), once `done` holds for
/// it or after 10 s (the exporter renders on a timer); the last value seen, -1 if none.
async fn metric_when(addr: SocketAddr, series: &str, done: impl Fn(f64) -> bool) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = crate::foundation::http_get(addr, "/metrics").await;
        let value = value_of(&page, series).unwrap_or(-1.0);
        if done(value) || Instant::now() > deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn value_of(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn series(name: &str, labels: &str) -> String {
    format!("{name}{{{labels}}}")
}

fn handled(labels: &str, code: &str) -> String {
    format!("grpc_server_handled_total{{{labels},grpc_code=\"{code}\"}}")
}

/// An `AssessLeads` stream whose requests the test sends one by one.
async fn open_stream(
    server: &Server,
) -> (
    mpsc::Sender<pb::AssessLeadRequest>,
    tonic::Streaming<pb::LeadAssessment>,
) {
    let (tx, rx) = mpsc::channel(4);
    let answers = server
        .client()
        .await
        .assess_leads(rx)
        .await
        .expect("stream opened")
        .into_inner();
    (tx, answers)
}

#[tokio::test]
async fn a_stream_is_in_flight_while_open_and_recorded_with_its_status_and_life_when_it_ends() {
    let dns = DnsServer::start().await.unwrap();
    dns.mx("contoso.test", &[(10, "mx.contoso.test")]);
    let (server, metrics) = start_with_metrics(&dns, &[]);
    let started = series("grpc_server_started_total", STREAM);
    let in_flight = series("grpc_server_calls_in_flight", STREAM);
    let ok = handled(STREAM, "OK");

    let (mut tx, mut answers) = open_stream(&server).await;
    tx.send(lead_request(0)).await.unwrap();
    let answer = tokio::time::timeout(HANG, answers.message())
        .await
        .expect("an answer")
        .unwrap()
        .expect("one assessment");
    assert_eq!(answer.request_id, "r0");
    // Open and answering: started and in flight, not yet handled.
    assert_eq!(metric_when(metrics, &in_flight, |v| v >= 1.0).await, 1.0);
    let page = crate::foundation::http_get(metrics, "/metrics").await;
    assert_eq!(value_of(&page, &started), Some(1.0), "{page}");
    assert_eq!(value_of(&page, &ok), Some(0.0), "{page}");

    // Its life is what the histogram records: at least the time it was held open.
    let held = Instant::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    drop(tx);
    while answers.message().await.expect("ends OK").is_some() {}
    let lived = held.elapsed().as_secs_f64();
    assert_eq!(metric_when(metrics, &ok, |v| v >= 1.0).await, 1.0);
    let page = crate::foundation::http_get(metrics, "/metrics").await;
    assert_eq!(value_of(&page, &in_flight), Some(0.0), "{page}");
    assert_eq!(
        value_of(&page, &series("grpc_server_handling_seconds_count", STREAM)),
        Some(1.0),
        "{page}"
    );
    let seconds = value_of(&page, &series("grpc_server_handling_seconds_sum", STREAM))
        .expect("the stream's time");
    assert!(
        seconds >= 1.5 && seconds >= lived - 0.1,
        "the stream lived {lived} s, recorded {seconds} s"
    );
}

#[tokio::test]
async fn a_stream_ended_by_its_limit_has_that_status_and_one_its_client_drops_is_cancelled() {
    let dns = DnsServer::start().await.unwrap();
    dns.mx("contoso.test", &[(10, "mx.contoso.test")]);
    let (server, metrics) = start_with_metrics(&dns, &["--stream-idle-secs", "1"]);

    // Idle past its limit: the server ends it, DEADLINE_EXCEEDED in its trailers.
    let (mut tx, mut answers) = open_stream(&server).await;
    tx.send(lead_request(0)).await.unwrap();
    answers.message().await.unwrap().expect("one assessment");
    let ended = tokio::time::timeout(HANG, answers.message())
        .await
        .expect("the idle stream ended")
        .unwrap_err();
    assert_eq!(ended.code(), tonic::Code::DeadlineExceeded, "{ended}");
    let exceeded = handled(STREAM, "DEADLINE_EXCEEDED");
    assert_eq!(metric_when(metrics, &exceeded, |v| v >= 1.0).await, 1.0);
    drop(tx);

    // Reset by its client after an answer, its request side still open: the server sends
    // no status; CANCELLED.
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let (mut h2, connection) = h2::client::handshake(tcp).await.unwrap();
    let connection = tokio::spawn(connection);
    let (response, mut body) = h2
        .send_request(
            call_headers(server.addr, "/leadcheck.v1.LeadCheck/AssessLeads"),
            false,
        )
        .unwrap();
    body.send_data(grpc_frame(&lead_request(1)), false).unwrap();
    let mut response = tokio::time::timeout(HANG, response)
        .await
        .expect("response headers")
        .unwrap()
        .into_body();
    let answer = tokio::time::timeout(HANG, response.data())
        .await
        .expect("an answer")
        .expect("a data frame")
        .unwrap();
    assert!(!answer.is_empty());
    body.send_reset(h2::Reason::CANCEL);
    let cancelled = handled(STREAM, "CANCELLED");
    assert_eq!(metric_when(metrics, &cancelled, |v| v >= 1.0).await, 1.0);

    connection.abort();
    let page = crate::foundation::http_get(metrics, "/metrics").await;
    assert_eq!(value_of(&page, &handled(STREAM, "OK")), Some(0.0), "{page}");
    assert_eq!(
        value_of(&page, &series("grpc_server_calls_in_flight", STREAM)),
        Some(0.0),
        "{page}"
    );
    assert_eq!(
        value_of(&page, &series("grpc_server_started_total", STREAM)),
        Some(2.0),
        "{page}"
    );
}

#[tokio::test]
async fn a_unary_call_is_started_and_in_flight_before_its_message_and_ends_with_the_deadline() {
    let dns = DnsServer::start().await.unwrap();
    let (server, metrics) = start_with_metrics(&dns, &["--default-deadline-ms", "3000"]);
    let unary =
        "grpc_service=\"leadcheck.v1.LeadCheck\",grpc_method=\"ValidateEmail\",grpc_type=\"unary\"";

    // The call's headers, and no message: the handler has not run yet.
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let (mut h2, connection) = h2::client::handshake(tcp).await.unwrap();
    let connection = tokio::spawn(connection);
    let (response, _body) = h2
        .send_request(
            call_headers(server.addr, "/leadcheck.v1.LeadCheck/ValidateEmail"),
            false,
        )
        .unwrap();

    let in_flight = series("grpc_server_calls_in_flight", unary);
    assert_eq!(metric_when(metrics, &in_flight, |v| v >= 1.0).await, 1.0);
    let page = crate::foundation::http_get(metrics, "/metrics").await;
    assert_eq!(
        value_of(&page, &series("grpc_server_started_total", unary)),
        Some(1.0),
        "{page}"
    );

    // The default deadline answers it, trailers-only: that status, and no longer in flight.
    let response = tokio::time::timeout(HANG, response)
        .await
        .expect("answered by the deadline")
        .unwrap();
    assert_eq!(
        response.headers().get("grpc-status").unwrap(),
        "4",
        "DEADLINE_EXCEEDED"
    );
    let exceeded = handled(unary, "DEADLINE_EXCEEDED");
    assert_eq!(metric_when(metrics, &exceeded, |v| v >= 1.0).await, 1.0);
    let page = crate::foundation::http_get(metrics, "/metrics").await;
    assert_eq!(value_of(&page, &in_flight), Some(0.0), "{page}");
    assert_eq!(value_of(&page, &handled(unary, "OK")), Some(0.0), "{page}");
    connection.abort();
}

/// Metrics the rules read that another exporter serves: kube-state-metrics.
const EXTERNAL: &[&str] = &["kube_pod_container_status_restarts_total"];

/// Labels Prometheus adds to every series it scrapes (a PodMonitor's targets).
const TARGET_LABELS: &[&str] = &["namespace", "pod"];

/// PromQL words that are not metric names: operators, and the aggregations, which may
/// stand before their `by (...)` rather than their `(`.
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "inf",
    "nan",
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
];

/// PromQL keywords followed by a list of label names.
const GROUPING: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// The metric names and label names one query uses, read loosely: quoted strings and
/// range brackets skipped, identifiers inside braces or after a grouping keyword are
/// labels, identifiers before `(` are functions, the rest metric names.
#[derive(Debug, Default)]
struct Uses {
    /// Each metric with the labels its selector matches on.
    metrics: Vec<(String, Vec<String>)>,
    /// Labels of `by (...)`, `on (...)` and the like.
    grouping: Vec<String>,
}

fn uses(query: &str) -> Uses {
    let chars: Vec<char> = query.chars().collect();
    let mut uses = Uses::default();
    let mut i = 0;
    let mut in_braces = false;
    // Grouping labels are read until this paren depth closes.
    let mut grouping: Option<usize> = None;
    let mut depth = 0usize;
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' | '`' => {
                i += 1;
                while i < chars.len() && chars[i] != c {
                    i += usize::from(chars[i] == '\\') + 1;
                }
            }
            '[' => {
                while i < chars.len() && chars[i] != ']' {
                    i += 1;
                }
            }
            '{' => in_braces = true,
            '}' => in_braces = false,
            '(' => depth += 1,
            ')' => {
                depth = depth.saturating_sub(1);
                if grouping == Some(depth) {
                    grouping = None;
                }
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i + 1 < chars.len() && ident(chars[i + 1]) {
                    i += 1;
                }
                let word: String = chars[start..=i].iter().collect();
                let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
                if in_braces {
                    if let Some((_, labels)) = uses.metrics.last_mut() {
                        labels.push(word);
                    }
                } else if grouping.is_some() {
                    uses.grouping.push(word);
                } else if GROUPING.contains(&word.as_str()) {
                    if next == Some(&'(') {
                        grouping = Some(depth);
                    }
                } else if next == Some(&'(') || KEYWORDS.contains(&word.to_lowercase().as_str()) {
                    // A function or an operator.
                } else {
                    uses.metrics.push((word, Vec::new()));
                }
            }
            // Numbers, with their exponents and units.
            c if c.is_ascii_digit() => {
                while i + 1 < chars.len() && ident(chars[i + 1]) {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    uses
}

/// The queries of the Grafana dashboard: its panels' `expr`, its variables' queries.
fn dashboard_queries(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        // A datasource variable's query is a plugin's name, not PromQL.
        serde_json::Value::Object(map) if map.get("type") == Some(&"datasource".into()) => {}
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("expr" | "query" | "definition", serde_json::Value::String(q)) => {
                        out.push(q.clone())
                    }
                    _ => dashboard_queries(value, out),
                }
            }
        }
        serde_json::Value::Array(values) => {
            for value in values {
                dashboard_queries(value, out);
            }
        }
        _ => {}
    }
}

/// The `expr` of each rule of a Prometheus rules file, read loosely: a one-line value or a
/// block scalar (`|`) of the lines indented under it.
fn rule_queries(yaml: &str) -> Vec<String> {
    let lines: Vec<&str> = yaml.lines().collect();
    let mut out = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let Some(value) = line.trim_start().strip_prefix("expr:") else {
            continue;
        };
        let value = value.trim();
        if value == "|" || value == ">" {
            let indent = line.len() - line.trim_start().len();
            let block: Vec<&str> = lines[n + 1..]
                .iter()
                .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
                .copied()
                .collect();
            out.push(block.join("\n"));
        } else {
            out.push(value.trim_matches('\'').to_string());
        }
    }
    out
}

/// Every sample name on a `/metrics` page (histograms as their `_bucket`, `_sum` and
/// `_count`) with the label names its series carry.
fn exported(page: &str) -> HashMap<String, BTreeSet<String>> {
    let mut families: HashMap<String, BTreeSet<String>> = HashMap::new();
    for line in page
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let name_end = line.find(['{', ' ']).unwrap_or(line.len());
        let labels = families.entry(line[..name_end].to_string()).or_default();
        if let Some(inside) = line[name_end..]
            .strip_prefix('{')
            .and_then(|rest| rest.rsplit_once('}'))
        {
            for pair in inside.0.split("\",") {
                if let Some((label, _)) = pair.split_once("=\"") {
                    labels.insert(label.trim_start_matches(',').to_string());
                }
            }
        }
    }
    families
}

/// What is wrong with one query against the exported families; empty when nothing is.
fn check_query(query: &str, families: &HashMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut problems = Vec::new();
    // Grafana's label_values(SELECTOR, LABEL): the label is a grouping label.
    let (query, extra_label) = match query
        .trim()
        .strip_prefix("label_values(")
        .and_then(|q| q.strip_suffix(')'))
        .and_then(|q| q.rsplit_once(','))
    {
        Some((selector, label)) => (selector.to_string(), Some(label.trim().to_string())),
        None => (query.to_string(), None),
    };
    let uses = uses(&query);
    if uses.metrics.is_empty() {
        problems.push(format!("no metric found in {query:?}"));
    }
    let mut known_labels: BTreeSet<String> = TARGET_LABELS.iter().map(|l| l.to_string()).collect();
    for (metric, labels) in &uses.metrics {
        if EXTERNAL.contains(&metric.as_str()) {
            known_labels.insert("container".into());
            continue;
        }
        let Some(exported) = families.get(metric) else {
            problems.push(format!("{metric} is not exported (in {query:?})"));
            continue;
        };
        known_labels.extend(exported.iter().cloned());
        for label in labels {
            if !exported.contains(label) && !TARGET_LABELS.contains(&label.as_str()) {
                problems.push(format!("{metric} has no label {label} (in {query:?})"));
            }
        }
    }
    for label in uses.grouping.iter().chain(&extra_label) {
        if !known_labels.contains(label) {
            problems.push(format!("no metric of {query:?} has the label {label}"));
        }
    }
    problems
}

#[test]
fn the_loose_promql_reader_finds_metrics_and_labels() {
    let uses = uses(
        "histogram_quantile(0.99, sum by (grpc_method, le) (rate(a_bucket{x=\"y\", namespace=~\"$namespace\"}[$__rate_interval]))) > on (namespace) group_left () max by (namespace) (b_seconds) and 1e3",
    );
    let metrics: Vec<&str> = uses.metrics.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(metrics, ["a_bucket", "b_seconds"]);
    assert_eq!(uses.metrics[0].1, ["x", "namespace"]);
    assert_eq!(
        uses.grouping,
        ["grpc_method", "le", "namespace", "namespace"]
    );
    let page = "# TYPE a_bucket counter\na_bucket{x=\"1\",le=\"0.5\"} 3\nb_seconds 1\n";
    let families = exported(page);
    assert_eq!(
        families["a_bucket"],
        ["le", "x"].map(String::from).into_iter().collect()
    );
    assert!(check_query(
        "sum by (le) (rate(a_bucket{x=\"1\"}[5m])) / b_seconds",
        &families
    )
    .is_empty());
    assert_eq!(check_query("rate(a_buckets[5m])", &families).len(), 1);
    assert_eq!(check_query("a_bucket{y=\"1\"}", &families).len(), 1);
    assert_eq!(
        check_query("sum by (grpc_code) (b_seconds)", &families).len(),
        1
    );
}

#[tokio::test]
async fn the_dashboard_and_the_alert_rules_name_only_metrics_and_labels_the_server_exports() {
    // A server that uses everything the panels show: DNS, an SMTP probe, Redis, a stream.
    let dns = crate::smtp::dns_for(&["acme.test"]).await;
    dns.mx("contoso.test", &[(10, "mx.contoso.test")]);
    let smtp = crate::smtp::alice_only().await;
    let redis = crate::shared_cache::Redis::start();
    let smtp_port = smtp.port().to_string();
    let redis_url = redis.url();
    let metrics = free_port().to_string();
    let args: Vec<String> = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--dns-server",
        &dns.addr().to_string(),
        "--dns-timeout-ms",
        "300",
        "--smtp-probe",
        "--smtp-port",
        &smtp_port,
        "--smtp-allow-private",
        "--redis-url",
        &redis_url,
        "--metrics-listen",
        &metrics,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let server = Server::start_env(
        &args,
        &[("LEADCHECK_REDIS_KEY_SECRET", "monitoring-secret-0123456789")],
    );
    let metrics: SocketAddr = metrics.parse().unwrap();
    let verdict = server.validate_email("alice@acme.test").await;
    assert_eq!(verdict.validity(), pb::EmailValidity::Valid, "{verdict:?}");
    let mut client = server.client().await;
    client
        .validate_phone(pb::ValidatePhoneRequest {
            phone: "+1 202 456 1111".into(),
            country: "US".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    client.assess_lead(lead_request(0)).await.unwrap();
    let (tx, mut answers) = open_stream(&server).await;
    drop(tx);
    while answers.message().await.unwrap().is_some() {}

    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/deploy/grafana/leadcheck.json"
        ))
        .expect("the dashboard"),
    )
    .expect("the dashboard is JSON");
    let mut queries = Vec::new();
    dashboard_queries(&dashboard, &mut queries);
    assert!(
        queries.len() >= 30,
        "only {} dashboard queries found",
        queries.len()
    );
    let rules = rule_queries(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/deploy/prometheus/leadcheck-rules.yaml"
        ))
        .expect("the rules"),
    );
    assert_eq!(rules.len(), 7, "{rules:?}");
    queries.extend(rules);

    // Some series appear with their first event, some on a timer: read until none is
    // missing, or 10 s.
    let deadline = Instant::now() + Duration::from_secs(10);
    let problems = loop {
        let page = crate::foundation::http_get(metrics, "/metrics").await;
        let families = exported(&page);
        let problems: Vec<String> = queries
            .iter()
            .flat_map(|q| check_query(q, &families))
            .collect();
        if problems.is_empty() || Instant::now() > deadline {
            break problems;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
