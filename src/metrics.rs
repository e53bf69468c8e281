//! Prometheus metrics: names in one place, the exporter installed on `--metrics-listen`.
//!
//! Recording goes through the `metrics` facade, a no-op until [`install`] sets a recorder,
//! so the engines record unconditionally and `check` or tests without metrics pay nothing.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use metrics::{Counter, Gauge, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

use crate::pb;

/// gRPC calls started, by `grpc_service`, `grpc_method`, `grpc_type`.
pub const GRPC_STARTED: &str = "grpc_server_started_total";
/// gRPC calls finished, by the same labels and `grpc_code`.
pub const GRPC_HANDLED: &str = "grpc_server_handled_total";
/// Time from a call's first byte to its status (a stream's trailers), seconds.
pub const GRPC_SECONDS: &str = "grpc_server_handling_seconds";
/// gRPC calls started and not yet finished, by `grpc_service`, `grpc_method`, `grpc_type`.
pub const GRPC_IN_FLIGHT: &str = "grpc_server_calls_in_flight";
/// The server's `limits.default_deadline`, in seconds: alerts compare the latency of unary calls
/// with it.
pub const DEFAULT_DEADLINE: &str = "leadcheck_default_deadline_seconds";
/// Reloads of the domain list files, by `result` (`ok`, `error`).
pub const LISTS_RELOADS: &str = "leadcheck_lists_reloads_total";
/// 1 when the last load of the domain lists (at start-up, or a reload since) succeeded,
/// 0 while the lists in force are older than a file that failed to load.
pub const LISTS_LAST_RELOAD_OK: &str = "leadcheck_lists_last_reload_successful";
/// When the domain lists were last loaded successfully, Unix seconds.
pub const LISTS_LAST_RELOAD_SUCCESS: &str = "leadcheck_lists_last_reload_success_timestamp_seconds";
/// Email verdicts by `validity`.
pub const EMAIL_VERDICTS: &str = "leadcheck_email_verdicts_total";
/// Phone verdicts by `validity`.
pub const PHONE_VERDICTS: &str = "leadcheck_phone_verdicts_total";
/// Lead assessments by `quality`.
pub const LEAD_QUALITY: &str = "leadcheck_lead_quality_total";
/// Cache look-ups by `cache` and `result` (hit, miss).
pub const CACHE_REQUESTS: &str = "leadcheck_cache_requests_total";
/// Entries held, by `cache`.
pub const CACHE_ENTRIES: &str = "leadcheck_cache_entries";
/// DNS lookups by `outcome` (mx, mx_dangling, mx_failed, implicit_mx, null_mx, nxdomain, no_mail_route, servfail, refused, timeout, error).
pub const DNS_LOOKUPS: &str = "leadcheck_dns_lookups_total";
/// DNS lookup time, seconds.
pub const DNS_SECONDS: &str = "leadcheck_dns_lookup_seconds";
/// Exchanger address lookups by `outcome` (address, no_address, failed).
pub const DNS_EXCHANGER_LOOKUPS: &str = "leadcheck_dns_exchanger_lookups_total";
/// MX answers that listed more exchangers than are kept.
pub const DNS_ANSWERS_CAPPED: &str = "leadcheck_dns_answers_capped_total";
/// DNS lookups that waited for a free slot under `dns_max_queries`.
pub const DNS_QUERY_WAITS: &str = "leadcheck_dns_query_waits_total";
/// Bytes held by a cache, by its weighing, by `cache`.
pub const CACHE_BYTES: &str = "leadcheck_cache_bytes";
/// SMTP probes by `outcome`.
pub const SMTP_PROBES: &str = "leadcheck_smtp_probes_total";
/// SMTP probes given up because a session limit stayed full, by `limit` (domain, ip,
/// global).
pub const SMTP_SESSIONS_REFUSED: &str = "leadcheck_smtp_sessions_refused_total";

/// Shared-cache (Redis) commands by `kind` (dns, mailbox, catch_all), `op` (get, set) and
/// `outcome` (hit, miss, stored, error, timeout, skipped: the breaker was open).
pub const REDIS_OPS: &str = "leadcheck_redis_ops_total";
/// 1 while the Redis circuit breaker skips Redis, else 0.
pub const REDIS_BREAKER_OPEN: &str = "leadcheck_redis_breaker_open";
/// Values read from Redis and refused (each also a miss), by `kind` and `reason`
/// (too_large, bad_mac, wrong_type).
pub const REDIS_REFUSED: &str = "leadcheck_redis_values_refused_total";

/// Calls refused at once, RESOURCE_EXHAUSTED, by the `limit` they met (`calls`: unary
/// calls in progress, `streams`: open `AssessLeads` streams).
pub const CALLS_SHED: &str = "leadcheck_calls_shed_total";
/// Calls ended DEADLINE_EXCEEDED because their request message had not arrived by the
/// call's deadline.
pub const REQUEST_TIMEOUTS: &str = "leadcheck_request_timeouts_total";
/// `AssessLeads` streams ended by a `limit` (`idle`, `total`); `stalled` counts those whose
/// connection was closed because the stream could not end otherwise (its client reads
/// nothing).
pub const STREAM_TIMEOUTS: &str = "leadcheck_stream_timeouts_total";
/// Connections refused or closed before serving, by `listener` (`grpc`, `health`) and
/// `reason` (`limit`, `preface_timeout`, `tls_timeout`, `tls_error`).
pub const CONNECTIONS_REFUSED: &str = "leadcheck_connections_refused_total";
/// Connections open, by `listener`.
pub const CONNECTIONS_OPEN: &str = "leadcheck_connections_open";

/// CPU time the process has used, user and system, seconds (the name every Prometheus
/// client library gives it; a gauge here, as the `metrics` facade's counters are whole).
pub const PROCESS_CPU: &str = "process_cpu_seconds_total";
/// Resident memory of the process, bytes.
pub const PROCESS_RSS: &str = "process_resident_memory_bytes";
/// File descriptors open (each DNS lookup in flight holds a socket).
pub const PROCESS_OPEN_FDS: &str = "process_open_fds";

/// Latency buckets, seconds: from a cache hit to past the default deadline (30 s), so a
/// p99 at or over the deadline shows as such rather than as the last bucket's bound.
const BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 15.0, 30.0, 60.0, 120.0,
];

/// Serves `/metrics` on `addr` and installs the global recorder.
pub fn install(addr: SocketAddr) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // Histograms, not summaries: buckets can be summed across replicas.
    PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_string()), BUCKETS)?
        .install()?;
    // Only now: a handle taken before the recorder is installed records nowhere.
    let _ = PER_LEAD.set(PerLead::register());
    register_limit_series();
    Ok(())
}

/// Makes the series of refusals and time-outs exist at 0 from start-up: an operator's
/// alert on their rate then never starts from a missing series.
fn register_limit_series() {
    for limit in ["calls", "streams"] {
        metrics::counter!(CALLS_SHED, "limit" => limit).absolute(0);
    }
    metrics::counter!(REQUEST_TIMEOUTS).absolute(0);
    for limit in ["idle", "total", "stalled"] {
        metrics::counter!(STREAM_TIMEOUTS, "limit" => limit).absolute(0);
    }
    for reason in ["limit", "preface_timeout", "tls_timeout", "tls_error"] {
        metrics::counter!(CONNECTIONS_REFUSED, "listener" => "grpc", "reason" => reason)
            .absolute(0);
    }
    for limit in ["domain", "ip", "global"] {
        metrics::counter!(SMTP_SESSIONS_REFUSED, "limit" => limit).absolute(0);
    }
    for result in ["ok", "error"] {
        metrics::counter!(LISTS_RELOADS, "result" => result).absolute(0);
    }
    // The lists loaded at start-up, or the server would not have started.
    metrics::gauge!(LISTS_LAST_RELOAD_OK).set(1.0);
    metrics::gauge!(LISTS_LAST_RELOAD_SUCCESS).set(unix_now());
}

/// Seconds since the Unix epoch, now.
fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |since| since.as_secs_f64())
}

/// Records the server's default deadline.
pub fn record_default_deadline(deadline: Duration) {
    metrics::gauge!(DEFAULT_DEADLINE).set(deadline.as_secs_f64());
}

/// Records a reload of the domain lists: `ok` when the new lists are in force.
pub fn record_lists_reload(ok: bool) {
    let result = if ok { "ok" } else { "error" };
    metrics::counter!(LISTS_RELOADS, "result" => result).increment(1);
    metrics::gauge!(LISTS_LAST_RELOAD_OK).set(if ok { 1.0 } else { 0.0 });
    if ok {
        metrics::gauge!(LISTS_LAST_RELOAD_SUCCESS).set(unix_now());
    }
}

/// A counter of one label, with a handle for each of the label's known values.
struct ByLabel {
    handles: Vec<(&'static str, Counter)>,
}

impl ByLabel {
    fn register(name: &'static str, label: &'static str, values: Vec<&'static str>) -> ByLabel {
        ByLabel {
            handles: values
                .into_iter()
                .map(|value| (value, metrics::counter!(name, label => value)))
                .collect(),
        }
    }

    fn get(&self, value: &str) -> Option<&Counter> {
        self.handles
            .iter()
            .find(|(known, _)| *known == value)
            .map(|(_, counter)| counter)
    }
}

/// The counters every lead touches, registered once when the recorder is installed.
/// Looked up by name and labels on each use they would cost a label vector, a hash and a
/// map read every time, on every lead. A label value not registered here takes that
/// path still. Before [`install`] (there is no recorder without `metrics_listen`) the
/// per-lead and per-call records do nothing.
struct PerLead {
    /// `leadcheck_cache_requests_total` of the DNS cache: miss, hit.
    dns: [Counter; 2],
    /// `leadcheck_cache_requests_total` of the phone cache: miss, hit.
    phone: [Counter; 2],
    email_verdicts: ByLabel,
    phone_verdicts: ByLabel,
    lead_quality: ByLabel,
    /// Every call's series, for each of the service's methods when it ends OK.
    calls: Vec<CallSeries>,
}

/// The service whose calls are counted.
const SERVICE: &str = "leadcheck.v1.LeadCheck";

/// The methods of `leadcheck.v1.LeadCheck` and their gRPC types, as calls record them.
const METHODS: [(&str, &str); 4] = [
    ("ValidateEmail", "unary"),
    ("ValidatePhone", "unary"),
    ("AssessLead", "unary"),
    ("AssessLeads", "bidi_stream"),
];

/// The series one call of a method ending OK touches: started, in flight, seconds,
/// handled OK. Registered once, so that a call does not build, hash and search a vector of
/// labels each time.
struct CallSeries {
    /// The method's HTTP/2 path, `/leadcheck.v1.LeadCheck/<method>`.
    path: String,
    method: &'static str,
    kind: &'static str,
    started: Counter,
    in_flight: Gauge,
    seconds: Histogram,
    handled_ok: Counter,
}

static PER_LEAD: OnceLock<PerLead> = OnceLock::new();

/// Every value of a protobuf enum (numbered without gaps) but its UNSPECIFIED 0, which the
/// service never returns, by the name `as_str_name` gives it.
fn names<E: TryFrom<i32>>(name: impl Fn(E) -> &'static str) -> Vec<&'static str> {
    (1..).map_while(|i| E::try_from(i).ok()).map(name).collect()
}

impl PerLead {
    fn register() -> PerLead {
        let cache = |cache: &'static str| {
            ["miss", "hit"].map(
                |result| metrics::counter!(CACHE_REQUESTS, "cache" => cache, "result" => result),
            )
        };
        PerLead {
            dns: cache("dns"),
            phone: cache("phone"),
            email_verdicts: ByLabel::register(
                EMAIL_VERDICTS,
                "validity",
                names(|v: pb::EmailValidity| v.as_str_name()),
            ),
            phone_verdicts: ByLabel::register(
                PHONE_VERDICTS,
                "validity",
                names(|v: pb::PhoneValidity| v.as_str_name()),
            ),
            lead_quality: ByLabel::register(
                LEAD_QUALITY,
                "quality",
                names(|q: pb::LeadQuality| q.as_str_name()),
            ),
            calls: METHODS
                .into_iter()
                .map(|(method, kind)| {
                    let labels = call_labels(method, kind);
                    CallSeries {
                        path: format!("/{SERVICE}/{method}"),
                        method,
                        kind,
                        started: metrics::counter!(GRPC_STARTED, &labels),
                        in_flight: metrics::gauge!(GRPC_IN_FLIGHT, &labels),
                        seconds: metrics::histogram!(GRPC_SECONDS, &labels),
                        handled_ok: handled(method, kind, tonic::Code::Ok),
                    }
                })
                .collect(),
        }
    }
}

/// The labels of `grpc_server_started_total` and `grpc_server_handling_seconds`.
fn call_labels(method: &'static str, kind: &'static str) -> [(&'static str, &'static str); 3] {
    [
        ("grpc_service", SERVICE),
        ("grpc_method", method),
        ("grpc_type", kind),
    ]
}

/// The `grpc_server_handled_total` counter of a method and code.
fn handled(method: &'static str, kind: &'static str, code: tonic::Code) -> Counter {
    metrics::counter!(
        GRPC_HANDLED,
        "grpc_service" => SERVICE,
        "grpc_method" => method,
        "grpc_type" => kind,
        "grpc_code" => code_name(code),
    )
}

/// One call of a LeadCheck method, counted started and in flight from [`start_call`]
/// until [`CallRecord::finish`] records its status and time. Dropped unfinished (the
/// client went away before the call's status was sent), it is recorded CANCELLED.
#[derive(Debug)]
pub struct CallRecord {
    series: &'static CallSeries,
    started: Instant,
}

impl std::fmt::Debug for CallSeries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallSeries")
            .field("path", &self.path)
            .finish()
    }
}

/// Starts recording the call to the HTTP/2 `path`: counts it started and in flight. `None`
/// for a path that is not a LeadCheck method (health, reflection, unknown methods: their
/// series would be as many as the paths clients send), and without a recorder.
pub fn start_call(path: &str) -> Option<CallRecord> {
    let series = PER_LEAD.get()?.calls.iter().find(|c| c.path == path)?;
    series.started.increment(1);
    series.in_flight.increment(1.0);
    Some(CallRecord {
        series,
        started: Instant::now(),
    })
}

impl CallRecord {
    /// Records the call's status `code` and its time since [`start_call`].
    pub fn finish(self, code: tonic::Code) {
        self.record(code);
        std::mem::forget(self);
    }

    fn record(&self, code: tonic::Code) {
        let series = self.series;
        series.in_flight.decrement(1.0);
        series.seconds.record(self.started.elapsed().as_secs_f64());
        match code {
            tonic::Code::Ok => series.handled_ok.increment(1),
            code => handled(series.method, series.kind, code).increment(1),
        }
    }
}

impl Drop for CallRecord {
    fn drop(&mut self) {
        self.record(tonic::Code::Cancelled);
    }
}

/// Records a cache look-up.
pub fn record_cache(cache: &'static str, hit: bool) {
    let Some(per_lead) = PER_LEAD.get() else {
        return;
    };
    let handles = match cache {
        "dns" => Some(&per_lead.dns),
        "phone" => Some(&per_lead.phone),
        _ => None,
    };
    match handles {
        Some(handles) => handles[usize::from(hit)].increment(1),
        None => {
            let result = if hit { "hit" } else { "miss" };
            metrics::counter!(CACHE_REQUESTS, "cache" => cache, "result" => result).increment(1);
        }
    }
}

/// Records an email verdict by its validity.
pub fn record_email_verdict(validity: pb::EmailValidity) {
    let value = validity.as_str_name();
    record_labelled(|p| &p.email_verdicts, EMAIL_VERDICTS, "validity", value);
}

/// Records a phone verdict by its validity.
pub fn record_phone_verdict(validity: pb::PhoneValidity) {
    let value = validity.as_str_name();
    record_labelled(|p| &p.phone_verdicts, PHONE_VERDICTS, "validity", value);
}

/// Records a lead's assessment by its quality.
pub fn record_lead_quality(quality: pb::LeadQuality) {
    let value = quality.as_str_name();
    record_labelled(|p| &p.lead_quality, LEAD_QUALITY, "quality", value);
}

/// Increments a one-label counter through its registered handle, or by name when the
/// handle is not there.
fn record_labelled(
    handles: impl FnOnce(&PerLead) -> &ByLabel,
    name: &'static str,
    label: &'static str,
    value: &'static str,
) {
    let Some(per_lead) = PER_LEAD.get() else {
        return;
    };
    match handles(per_lead).get(value) {
        Some(counter) => counter.increment(1),
        None => metrics::counter!(name, label => value).increment(1),
    }
}

/// Records the process's CPU time, resident memory and open files, from `/proc/self`
/// (Linux; elsewhere nothing).
pub fn record_process() {
    #[cfg(target_os = "linux")]
    {
        let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
            return;
        };
        // The fields after the command name, which is in parentheses and may hold spaces:
        // state is field 3 of proc(5), utime 14, stime 15, rss 24 (pages).
        let Some((_, fields)) = stat.rsplit_once(')') else {
            return;
        };
        let fields: Vec<&str> = fields.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<f64>().ok());
        // SAFETY: sysconf reads a constant of the system; no memory is touched.
        let (ticks, page) = unsafe {
            (
                libc::sysconf(libc::_SC_CLK_TCK),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        if let (Some(utime), Some(stime)) = (field(14), field(15)) {
            if ticks > 0 {
                metrics::gauge!(PROCESS_CPU).set((utime + stime) / ticks as f64);
            }
        }
        if let Some(rss) = field(24) {
            if page > 0 {
                metrics::gauge!(PROCESS_RSS).set(rss * page as f64);
            }
        }
        if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
            metrics::gauge!(PROCESS_OPEN_FDS).set(fds.count() as f64);
        }
    }
}

/// Records a cache's size.
pub fn record_cache_size(cache: &'static str, entries: u64) {
    metrics::gauge!(CACHE_ENTRIES, "cache" => cache).set(entries as f64);
}

/// Records a DNS lookup.
pub fn record_dns(outcome: &'static str, took: Duration) {
    metrics::counter!(DNS_LOOKUPS, "outcome" => outcome).increment(1);
    metrics::histogram!(DNS_SECONDS).record(took.as_secs_f64());
}

/// Records an exchanger address lookup.
pub fn record_exchanger(outcome: &'static str, took: Duration) {
    metrics::counter!(DNS_EXCHANGER_LOOKUPS, "outcome" => outcome).increment(1);
    metrics::histogram!(DNS_SECONDS).record(took.as_secs_f64());
}

/// Records an MX answer cut down to the exchangers kept.
pub fn record_dns_capped() {
    metrics::counter!(DNS_ANSWERS_CAPPED).increment(1);
}

/// Records a DNS lookup that waited for a slot under the cap on lookups in flight.
pub fn record_dns_query_wait() {
    metrics::counter!(DNS_QUERY_WAITS).increment(1);
}

/// Records the bytes a cache holds.
pub fn record_cache_bytes(cache: &'static str, bytes: u64) {
    metrics::gauge!(CACHE_BYTES, "cache" => cache).set(bytes as f64);
}

/// Records one shared-cache command.
pub fn record_redis(kind: &'static str, op: &'static str, outcome: &'static str) {
    metrics::counter!(REDIS_OPS, "kind" => kind, "op" => op, "outcome" => outcome).increment(1);
}

/// Records a value read from Redis and refused.
pub fn record_redis_refused(kind: &'static str, reason: &'static str) {
    metrics::counter!(REDIS_REFUSED, "kind" => kind, "reason" => reason).increment(1);
}

/// Records an SMTP probe given up because the session limit `limit` stayed full.
pub fn record_smtp_refused(limit: &'static str) {
    metrics::counter!(SMTP_SESSIONS_REFUSED, "limit" => limit).increment(1);
}

/// Records the state of the Redis circuit breaker.
pub fn record_redis_breaker(open: bool) {
    metrics::gauge!(REDIS_BREAKER_OPEN).set(if open { 1.0 } else { 0.0 });
}

/// Records a call refused at once because `limit` (`calls`, `streams`) was reached.
pub fn record_shed(limit: &'static str) {
    metrics::counter!(CALLS_SHED, "limit" => limit).increment(1);
}

/// Records a call whose request message did not arrive by its deadline.
pub fn record_request_timeout() {
    metrics::counter!(REQUEST_TIMEOUTS).increment(1);
}

/// Records a stream ended by `limit` (`idle`, `total`, `stalled`).
pub fn record_stream_timeout(limit: &'static str) {
    metrics::counter!(STREAM_TIMEOUTS, "limit" => limit).increment(1);
}

/// Records a connection refused or closed before serving.
pub fn record_connection_refused(listener: &'static str, reason: &'static str) {
    metrics::counter!(CONNECTIONS_REFUSED, "listener" => listener, "reason" => reason).increment(1);
}

/// Records a connection opened (`true`) or closed.
pub fn record_connection_opened(listener: &'static str, opened: bool) {
    let gauge = metrics::gauge!(CONNECTIONS_OPEN, "listener" => listener);
    if opened {
        gauge.increment(1.0);
    } else {
        gauge.decrement(1.0);
    }
}

/// The canonical upper-snake name of a gRPC code, as Prometheus conventions use.
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_of_the_per_lead_labels_gets_a_handle() {
        assert_eq!(
            names(|q: pb::LeadQuality| q.as_str_name()),
            ["LEAD_QUALITY_HIGH", "LEAD_QUALITY_LOW"]
        );
        assert_eq!(
            names(|v: pb::PhoneValidity| v.as_str_name()),
            [
                "PHONE_VALIDITY_VALID",
                "PHONE_VALIDITY_INVALID",
                "PHONE_VALIDITY_UNKNOWN"
            ]
        );
        let email = names(|v: pb::EmailValidity| v.as_str_name());
        for validity in [
            pb::EmailValidity::Valid,
            pb::EmailValidity::Invalid,
            pb::EmailValidity::Spam,
            pb::EmailValidity::Unknown,
        ] {
            assert!(email.contains(&validity.as_str_name()), "{validity:?}");
        }
    }
}
