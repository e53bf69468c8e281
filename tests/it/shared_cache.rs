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

/// A `redis-server` on 127.0.0.1 without persistence, killed on drop.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start() -> Redis {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        Redis::start_on(port)
    }

    fn start_on(port: u16) -> Redis {
        let binary = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let child = Command::new(&binary)
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
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
        let redis = Redis { child, port };
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

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn conn(&self) -> MultiplexedConnection {
        redis::Client::open(self.url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .expect("connect to redis")
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

fn replica(dns: &DnsServer, redis_url: &str, extra: &[&str]) -> Server {
    let mut args = vec!["--redis-url", redis_url, "--redis-breaker-secs", "1"];
    args.extend_from_slice(extra);
    Server::start_env(
        &std::iter::once("serve")
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
            .collect::<Vec<_>>(),
        &[("LEADCHECK_REDIS_KEY_SECRET", "test-secret")],
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
            .wait_for_key(&format!("leadcheck:v1:dns:{domain}"))
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

    // Entries carry the format version and a lifetime Redis enforces.
    let mut conn = redis.conn().await;
    let ttl: i64 = redis::cmd("PTTL")
        .arg("leadcheck:v1:dns:shared-leads.com")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(ttl > 0, "the entry expires: {ttl}");
    let value: String = redis::cmd("GET")
        .arg("leadcheck:v1:dns:shared-leads.com")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(value.starts_with("{\"v\":1,"), "{value}");
}

#[tokio::test]
async fn an_entry_of_another_format_is_ignored_not_misread() {
    let dns = DnsServer::start().await.unwrap();
    dns.mx("versioned-leads.com", &[(10, "mx.versioned-leads.com")]);
    let redis = Redis::start();
    let mut conn = redis.conn().await;
    // What a future format might write under today's key: it must not be trusted.
    let _: () = redis::cmd("SET")
        .arg("leadcheck:v1:dns:versioned-leads.com")
        .arg("{\"v\":2,\"exp\":99999999999999,\"data\":\"NoDomain\"}")
        .query_async(&mut conn)
        .await
        .unwrap();
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
            .any(|k| k.starts_with("leadcheck:v1:dns:after"))
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
async fn scrape(addr: std::net::SocketAddr, needle: &str) -> String {
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
        .wait_for_key("leadcheck:v1:catch_all:probe-leads.test")
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
        .wait_for_key("leadcheck:v1:exchanger:mx.shared-host.com")
        .await;
    assert_eq!(dns.queries_for("mx.shared-host.com"), 1);
    // Another domain on the second replica: its MX is asked, its exchanger comes from
    // Redis.
    let b = second.validate_email("bo@second-tenant.com").await;
    assert_eq!(b.validity(), pb::EmailValidity::Valid, "{b:?}");
    assert_eq!(dns.queries_for("second-tenant.com"), 1);
    assert_eq!(dns.queries_for("mx.shared-host.com"), 1, "asked again");
}
