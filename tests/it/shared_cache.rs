//! The shared Redis tier end to end: real `redis-server` processes on loopback ports, two
//! replicas of the real binary, the counting DNS server and a scripted SMTP exchanger.
//! `scripts/test.sh` installs `redis-server` (Debian package) when it is missing.

use std::net::{Ipv4Addr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use leadcheck::pb;
use leadcheck::testkit::DnsServer;
use redis::aio::MultiplexedConnection;

use crate::support::Server;

/// The secret every replica of these tests shares.
const SECRET: &str = "test-secret-0123456789";

/// A `redis-server` on 127.0.0.1 without persistence, killed on drop.
pub(crate) struct Redis {
    child: Child,
    port: u16,
    /// With TLS: the CA that signed its certificate, in PEM.
    ca: Option<String>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl Redis {
    pub(crate) fn start() -> Redis {
        Redis::start_on(free_port())
    }

    fn start_on(port: u16) -> Redis {
        Redis::launch(port, &["--port".to_string(), port.to_string()], None)
    }

    /// Starts one that speaks TLS only, with a certificate for 127.0.0.1 signed by a CA
    /// of the test's own; the certificate files live in `dir`.
    fn start_tls(dir: &std::path::Path) -> Redis {
        let pki = crate::security::pki();
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        };
        let port = free_port();
        let args = [
            "--port".to_string(),
            "0".to_string(),
            "--tls-port".to_string(),
            port.to_string(),
            "--tls-cert-file".to_string(),
            write("redis.pem", &pki.server_cert),
            "--tls-key-file".to_string(),
            write("redis.key", &pki.server_key),
            "--tls-ca-cert-file".to_string(),
            write("ca.pem", &pki.ca),
            "--tls-auth-clients".to_string(),
            "no".to_string(),
        ];
        Redis::launch(port, &args, Some(pki.ca))
    }

    fn launch(port: u16, listen: &[String], ca: Option<String>) -> Redis {
        let binary = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let child = Command::new(&binary)
            .args(["--bind", "127.0.0.1"])
            .args(listen)
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| {
                panic!("cannot start {binary} ({err}): scripts/test.sh installs redis-server")
            });
        let redis = Redis { child, port, ca };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        redis
    }

    pub(crate) fn url(&self) -> String {
        let scheme = if self.ca.is_some() { "rediss" } else { "redis" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    async fn conn(&self) -> MultiplexedConnection {
        let client = match &self.ca {
            None => redis::Client::open(self.url()),
            Some(ca) => redis::Client::build_with_tls(
                self.url(),
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(ca.clone().into_bytes()),
                },
            ),
        };
        client
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .expect("connect to redis")
    }

    /// Writes `value` under `key` as it is: what anyone with access to Redis can do.
    async fn plant(&self, key: &str, value: impl redis::ToRedisArgs + Send + Sync) {
        let mut conn = self.conn().await;
        let _: () = redis::cmd("SET")
            .arg(key)
            .arg(value)
            .query_async(&mut conn)
            .await
            .unwrap();
    }

    async fn value(&self, key: &str) -> String {
        let mut conn = self.conn().await;
        redis::cmd("GET")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap()
    }

    async fn keys(&self) -> Vec<String> {
        let mut conn = self.conn().await;
        redis::cmd("KEYS")
            .arg("*")
            .query_async(&mut conn)
            .await
            .unwrap()
    }

    /// Waits until a key exists (replicas write from a spawned task).
    async fn wait_for_key(&self, key: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.keys().await.iter().any(|k| k == key) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{key} never reached redis: {:?}",
                self.keys().await
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn stop(mut self) -> u16 {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.port
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The arguments of `leadcheck serve` with this DNS server and Redis.
fn replica_args(dns: &DnsServer, redis_url: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["--redis-url", redis_url, "--redis-breaker-secs", "1"];
    args.extend_from_slice(extra);
    std::iter::once("serve")
        .chain([
            "--listen",
            "127.0.0.1:0",
            "--dns-timeout-ms",
            "300",
            "--dns-attempts",
            "1",
        ])
        .map(String::from)
        .chain(["--dns-server".to_string(), dns.addr().to_string()])
        .chain(args.iter().map(|s| s.to_string()))
        .collect()
}

fn replica(dns: &DnsServer, redis_url: &str, extra: &[&str]) -> Server {
    replica_with_secret(dns, redis_url, extra, SECRET)
}

fn replica_with_secret(dns: &DnsServer, redis_url: &str, extra: &[&str], secret: &str) -> Server {
    Server::start_env(
        &replica_args(dns, redis_url, extra),
        &[("LEADCHECK_REDIS_KEY_SECRET", secret)],
    )
}

#[tokio::test]
async fn a_second_replica_answers_from_redis_without_a_dns_query() {
    let dns = DnsServer::start().await.unwrap();
    dns.mx(
        "shared-leads.com",
        &[(10, "mx1.shared-leads.com"), (20, "mx2.shared-leads.com")],
    );
    dns.a("implicit-leads.com", &[Ipv4Addr::new(192, 0, 2, 7)]);
    let redis = Redis::start();
    let first = replica(&dns, &redis.url(), &[]);
    let second = replica(&dns, &redis.url(), &[]);

    let a = first.validate_email("ana@shared-leads.com").await;
    assert_eq!(a.validity(), pb::EmailValidity::Valid, "{a:?}");
    let b = first.validate_email("bo@implicit-leads.com").await;
    assert_eq!(b.validity(), pb::EmailValidity::Valid, "{b:?}");
    let missing = first.validate_email("cy@no-such-leads.com").await;
    assert_eq!(
        missing.validity(),
        pb::EmailValidity::Invalid,
        "{missing:?}"
    );
    for domain in [
        "shared-leads.com",
        "implicit-leads.com",
        "no-such-leads.com",
    ] {
        redis
            .wait_for_key(&format!("leadcheck:v2:dns:{domain}"))
            .await;
    }
    let asked = dns.total_queries();
    assert!(asked >= 3, "the first replica asked DNS");

    // The second replica has never seen these domains: its answers come from Redis.
    let a2 = second.validate_email("bruno@shared-leads.com").await;
    let b2 = second.validate_email("carla@implicit-leads.com").await;
    let missing2 = second.validate_email("dmitri@no-such-leads.com").await;
    assert_eq!(
        dns.total_queries(),
        asked,
        "no DNS query from the second replica"
    );
    assert_eq!(a2.validity(), pb::EmailValidity::Valid, "{a2:?}");
    assert_eq!(
        a2.mx_hosts,
        ["mx1.shared-leads.com", "mx2.shared-leads.com"]
    );
    assert_eq!(b2.validity(), b.validity());
    assert_eq!(b2.reasons, b.reasons, "same route, same reasons");
    assert_eq!(missing2.reasons, missing.reasons);

    // Entries carry the format version and a lifetime Redis enforces, and are sealed.
    let mut conn = redis.conn().await;
    let ttl: i64 = redis::cmd("PTTL")
        .arg("leadcheck:v2:dns:shared-leads.com")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(ttl > 0, "the entry expires: {ttl}");
    let value = redis.value("leadcheck:v2:dns:shared-leads.com").await;
    let (seal, text) = value.split_at(64);
    assert!(seal.bytes().all(|b| b.is_ascii_hexdigit()), "{value}");
    assert!(text.starts_with("{\"v\":2,"), "{value}");
}

#[tokio::test]
async fn an_entry_of_another_format_is_ignored_not_misread() {
    let dns = DnsServer::start().await.unwrap();
    dns.mx("versioned-leads.com", &[(10, "mx.versioned-leads.com")]);
    let redis = Redis::start();
    // The unsealed format 1 under its own key, as replicas before the seal wrote it, and
    // under today's: neither is trusted.
    let old = "{\"v\":1,\"exp\":99999999999999,\"data\":\"NoDomain\"}";
    redis
        .plant("leadcheck:v1:dns:versioned-leads.com", old)
        .await;
    redis
        .plant("leadcheck:v2:dns:versioned-leads.com", old)
        .await;
    let server = replica(&dns, &redis.url(), &[]);
    let verdict = server.validate_email("ana@versioned-leads.com").await;
    assert_eq!(verdict.validity(), pb::EmailValidity::Valid, "{verdict:?}");
    assert_eq!(
        dns.queries_for("versioned-leads.com"),
        1,
        "asked DNS instead of believing the entry"
    );
}

/// The fields of a verdict that must not depend on Redis being there.
fn essence(a: &pb::LeadAssessment) -> String {
    let email = a.email.as_ref().unwrap();
    format!(
        "{:?} {:?} {:?} {:?} {}",
        email.validity(),
        email.mx_hosts,
        email.reasons,
        a.quality(),
        a.score
    )
}

async fn assess(server: &Server, i: usize) -> Result<pb::LeadAssessment, tonic::Status> {
    let lead = pb::Lead {
        first_name: "Ana".into(),
        last_name: "Silva".into(),
        // A new domain for every lead: each is a local miss, so each asks Redis.
        email: format!("ana.{i}@outage{i}-leads.com"),
        phone: "+49 30 33445566".into(),
        company: "Acme GmbH".into(),
        title: "Head of Sales".into(),
        lead_source: "Google-Search | 1001.77".into(),
        ..Default::default()
    };
    server
        .client()
        .await
        .assess_lead(pb::AssessLeadRequest {
            request_id: i.to_string(),
            lead: Some(lead),
            as_of: None,
        })
        .await
        .map(|r| r.into_inner())
}

#[tokio::test]
async fn redis_stopping_loses_no_request_and_changes_no_verdict_and_its_return_is_picked_up() {
    let dns = DnsServer::start().await.unwrap();
    for d in 0..90 {
        if d % 3 != 2 {
            let domain = format!("outage{d}-leads.com");
            dns.mx(&domain, &[(10, &format!("mx.{domain}"))]);
        }
    }
    // The reference: a replica without Redis.
    let plain = Server::start(dns.addr(), &[]);
    let redis = Redis::start();
    let metrics = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap();
    let shared = replica(
        &dns,
        &redis.url(),
        &["--metrics-listen", &metrics.to_string()],
    );

    let mut i = 0;
    let check = |server: &'static str, a: pb::LeadAssessment, reference: pb::LeadAssessment| {
        assert_eq!(
            essence(&a),
            essence(&reference),
            "{server}, lead {}",
            a.request_id
        );
    };
    for _ in 0..30 {
        let a = assess(&shared, i).await.expect("with redis up");
        check("redis up", a, assess(&plain, i).await.unwrap());
        i += 1;
    }
    let page = scrape(
        metrics,
        "leadcheck_redis_ops_total{kind=\"dns\",op=\"set\",outcome=\"stored\"}",
    )
    .await;
    assert!(page.contains("leadcheck_redis_breaker_open 0"), "{page}");
    assert!(
        page.contains("leadcheck_redis_ops_total{kind=\"dns\",op=\"get\",outcome=\"miss\"} 30"),
        "{page}"
    );

    // Redis goes away mid-run: every request is still answered, the same way.
    let port = redis.stop();
    for _ in 0..60 {
        let a = assess(&shared, i).await.expect("with redis down");
        check("redis down", a, assess(&plain, i).await.unwrap());
        i += 1;
    }
    // The first failures open the breaker; after that Redis is skipped, not waited for.
    let page = scrape(metrics, "outcome=\"skipped\"").await;
    assert!(page.contains("leadcheck_redis_breaker_open 1"), "{page}");
    assert!(
        page.contains("kind=\"dns\",op=\"get\",outcome=\"error\""),
        "{page}"
    );

    // It comes back on the same port: after the breaker's cooldown, entries flow again.
    let redis = Redis::start_on(port);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut n = 0;
    loop {
        // New domains each round: a local cache hit would not touch Redis.
        let domain = format!("after{n}-leads.com");
        dns.mx(&domain, &[(10, &format!("mx.{domain}"))]);
        let v = shared.validate_email(&format!("ana@{domain}")).await;
        assert_eq!(v.validity(), pb::EmailValidity::Valid, "{v:?}");
        if redis
            .keys()
            .await
            .iter()
            .any(|k| k.starts_with("leadcheck:v2:dns:after"))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the replica never used redis again"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        n += 1;
    }
    let page = scrape(metrics, "leadcheck_redis_breaker_open 0").await;
    assert!(!page.contains("leadcheck_redis_breaker_open 1"), "{page}");
}

/// Reads `/metrics` until it contains `needle` (the exporter renders on a timer).
pub(crate) async fn scrape(addr: std::net::SocketAddr, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = crate::foundation::http_get(addr, "/metrics").await;
        if page.contains(needle) || Instant::now() > deadline {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn smtp_results_are_shared_under_keyed_hashes_never_raw_addresses() {
    let dns = crate::smtp::dns_for(&["probe-leads.test"]).await;
    let smtp = crate::smtp::alice_only().await;
    let redis = Redis::start();
    let port = smtp.port().to_string();
    let probe = [
        "--smtp-probe",
        "--smtp-allow-private",
        "--smtp-port",
        port.as_str(),
    ];
    let first = replica(&dns, &redis.url(), &probe);
    let second = replica(&dns, &redis.url(), &probe);

    let alice = first.validate_email("alice@probe-leads.test").await;
    assert!(alice.smtp_accepted, "{alice:?}");
    let bob = first.validate_email("bob@probe-leads.test").await;
    assert_eq!(bob.validity(), pb::EmailValidity::Invalid, "{bob:?}");
    redis
        .wait_for_key("leadcheck:v2:catch_all:probe-leads.test")
        .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while redis
        .keys()
        .await
        .iter()
        .filter(|k| k.contains(":mailbox:"))
        .count()
        < 2
    {
        assert!(
            Instant::now() < deadline,
            "mailbox entries: {:?}",
            redis.keys().await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sessions = smtp.sessions();

    // The second replica answers both mailboxes without an SMTP session of its own.
    let alice2 = second.validate_email("Alice@probe-leads.test").await;
    let bob2 = second.validate_email("bob@probe-leads.test").await;
    assert_eq!(smtp.sessions(), sessions, "no new SMTP session");
    assert_eq!(alice2.reasons, alice.reasons);
    assert_eq!(bob2.reasons, bob.reasons);

    // Nothing in Redis names a mailbox: not the keys, not the values.
    let mut conn = redis.conn().await;
    for key in redis.keys().await {
        let value: String = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        for secret in ["alice", "bob"] {
            assert!(!key.to_lowercase().contains(secret), "{key}");
            assert!(!value.to_lowercase().contains(secret), "{key} = {value}");
        }
    }
}

/// Redis's count of bytes it has sent to clients.
async fn redis_output_bytes(redis: &Redis) -> usize {
    let mut conn = redis.conn().await;
    let info: String = redis::cmd("INFO")
        .arg("stats")
        .query_async(&mut conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix("total_net_output_bytes:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("total_net_output_bytes in INFO stats")
}

#[tokio::test]
async fn forged_copied_oversized_and_mistyped_values_are_refused_and_counted() {
    let dns = DnsServer::start().await.unwrap();
    let domains = [
        "forged-leads.com",
        "copied-leads.com",
        "stranger-leads.com",
        "giant-leads.com",
        "listed-leads.com",
    ];
    for domain in domains {
        dns.mx(domain, &[(10, &format!("mx.{domain}"))]);
    }
    let redis = Redis::start();
    // A genuine entry: "no such domain", sealed by a replica for its own key.
    let writer = replica(&dns, &redis.url(), &[]);
    let gone = writer.validate_email("ann@gone-leads.com").await;
    assert_eq!(gone.validity(), pb::EmailValidity::Invalid, "{gone:?}");
    redis.wait_for_key("leadcheck:v2:dns:gone-leads.com").await;
    let genuine = redis.value("leadcheck:v2:dns:gone-leads.com").await;
    // A replica with another secret: its entries are not ours to believe.
    let stranger = replica_with_secret(&dns, &redis.url(), &[], "another-secret-0123456789");
    stranger.validate_email("bo@stranger-leads.com").await;
    redis
        .wait_for_key("leadcheck:v2:dns:stranger-leads.com")
        .await;
    let stranger_value = redis.value("leadcheck:v2:dns:stranger-leads.com").await;
    assert!(stranger_value.contains("\"Mx\""), "{stranger_value}");
    let planted_stranger =
        stranger_value.replacen("{\"Mx\":[\"mx.stranger-leads.com\"]}", "\"NoDomain\"", 1);

    // What a writer to Redis could plant against real domains: "no such domain" with a
    // seal of its own, the genuine sealed value copied from the other key, a value of
    // another replica's secret, a giant, a list.
    let text = genuine.get(64..).unwrap();
    redis
        .plant(
            "leadcheck:v2:dns:forged-leads.com",
            format!("{}{text}", "0".repeat(64)),
        )
        .await;
    redis
        .plant("leadcheck:v2:dns:copied-leads.com", genuine.as_str())
        .await;
    redis
        .plant("leadcheck:v2:dns:stranger-leads.com", planted_stranger)
        .await;
    redis
        .plant("leadcheck:v2:dns:giant-leads.com", vec![b'x'; 1 << 20])
        .await;
    let mut conn = redis.conn().await;
    let _: () = redis::cmd("RPUSH")
        .arg("leadcheck:v2:dns:listed-leads.com")
        .arg("NoDomain")
        .query_async(&mut conn)
        .await
        .unwrap();

    let metrics = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap();
    let reader = replica(
        &dns,
        &redis.url(),
        &["--metrics-listen", &metrics.to_string()],
    );
    let sent_before = redis_output_bytes(&redis).await;
    let asked = dns.total_queries();
    for domain in domains {
        let verdict = reader.validate_email(&format!("cy@{domain}")).await;
        assert_eq!(
            verdict.validity(),
            pb::EmailValidity::Valid,
            "{domain}: {verdict:?}"
        );
        assert_eq!(verdict.reasons[0].code, "dns.mx", "{domain}: {verdict:?}");
    }
    assert!(
        dns.total_queries() >= asked + domains.len(),
        "every domain was asked of DNS, not taken from Redis"
    );
    // The giant was never sent whole: a read stops one byte past the cap.
    let sent = redis_output_bytes(&redis).await - sent_before;
    assert!(sent < 256 * 1024, "redis sent {sent} bytes");

    let page = scrape(metrics, "reason=\"wrong_type\"").await;
    for (reason, count) in [("bad_mac", 3), ("too_large", 1), ("wrong_type", 1)] {
        let series = format!(
            "leadcheck_redis_values_refused_total{{kind=\"dns\",reason=\"{reason}\"}} {count}"
        );
        assert!(page.contains(&series), "{series} in {page}");
    }
    // Refused values are misses, not failures: the breaker stays closed.
    assert!(page.contains("leadcheck_redis_breaker_open 0"), "{page}");
}

#[tokio::test]
async fn rediss_with_the_ca_file_shares_and_without_it_is_refused() {
    let dns = DnsServer::start().await.unwrap();
    dns.mx("tls-leads.com", &[(10, "mx.tls-leads.com")]);
    let dir = tempfile::tempdir().unwrap();
    let redis = Redis::start_tls(dir.path());
    let ca = dir.path().join("ca.pem").display().to_string();
    let url = redis.url();
    assert!(url.starts_with("rediss://"), "{url}");

    let first = replica(&dns, &url, &["--redis-ca-file", &ca]);
    let a = first.validate_email("ana@tls-leads.com").await;
    assert_eq!(a.validity(), pb::EmailValidity::Valid, "{a:?}");
    redis.wait_for_key("leadcheck:v2:dns:tls-leads.com").await;
    let asked = dns.total_queries();

    // A second replica reads it over TLS: no DNS query of its own.
    let second = replica(&dns, &url, &["--redis-ca-file", &ca]);
    let b = second.validate_email("bo@tls-leads.com").await;
    assert_eq!(b.reasons, a.reasons);
    assert_eq!(dns.total_queries(), asked, "answered from Redis over TLS");

    // Without the CA, the server's certificate is not trusted: nothing is read from it.
    let untrusting = replica(&dns, &url, &[]);
    let c = untrusting.validate_email("cy@tls-leads.com").await;
    assert_eq!(c.reasons, a.reasons, "the verdict does not depend on Redis");
    assert!(dns.total_queries() > asked, "asked DNS instead");
}

#[tokio::test]
async fn a_redis_url_without_a_key_secret_stops_the_start_with_a_clear_message() {
    let dns = DnsServer::start().await.unwrap();
    for (secret, says) in [
        (None, "redis_key_secret is not set"),
        (Some("short"), "shorter than 16 bytes"),
    ] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_leadcheck"));
        command
            .args(replica_args(&dns, "redis://127.0.0.1:1", &[]))
            .env_remove("LEADCHECK_REDIS_KEY_SECRET")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(secret) = secret {
            command.env("LEADCHECK_REDIS_KEY_SECRET", secret);
        }
        let mut child = command.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("leadcheck started with a redis_url and secret {secret:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        assert!(!status.success());
        assert!(stderr.contains(says), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[tokio::test]
async fn an_exchanger_resolved_by_one_replica_is_not_asked_again_by_another() {
    let dns = DnsServer::start().await.unwrap();
    for domain in ["first-tenant.com", "second-tenant.com"] {
        dns.mx(domain, &[(10, "mx.shared-host.com")]);
    }
    let redis = Redis::start();
    let first = replica(&dns, &redis.url(), &[]);
    let second = replica(&dns, &redis.url(), &[]);

    let a = first.validate_email("ana@first-tenant.com").await;
    assert_eq!(a.validity(), pb::EmailValidity::Valid, "{a:?}");
    redis
        .wait_for_key("leadcheck:v2:exchanger:mx.shared-host.com")
        .await;
    assert_eq!(dns.queries_for("mx.shared-host.com"), 1);
    // Another domain on the second replica: its MX is asked, its exchanger comes from
    // Redis.
    let b = second.validate_email("bo@second-tenant.com").await;
    assert_eq!(b.validity(), pb::EmailValidity::Valid, "{b:?}");
    assert_eq!(dns.queries_for("second-tenant.com"), 1);
    assert_eq!(dns.queries_for("mx.shared-host.com"), 1, "asked again");
}
