//! ValidateEmail against a real DNS server on loopback.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use hickory_resolver::proto::rr::RecordType;
use leadcheck::pb;
use leadcheck::testkit::{Behaviour, DnsServer};

use crate::support::Server;

fn codes(v: &pb::EmailVerdict) -> Vec<String> {
    v.reasons.iter().map(|r| r.code.clone()).collect()
}

async fn validate(
    client: &mut pb::lead_check_client::LeadCheckClient<tonic::transport::Channel>,
    email: &str,
) -> pb::EmailVerdict {
    client
        .validate_email(pb::ValidateEmailRequest {
            email: email.to_string(),
        })
        .await
        .expect("ValidateEmail")
        .into_inner()
}

#[tokio::test]
async fn each_dns_answer_gives_its_verdict() {
    let dns = DnsServer::start().await.unwrap();
    dns.mx(
        "contoso.test",
        &[(20, "mx2.contoso.test"), (10, "mx1.contoso.test")],
    );
    dns.null_mx("nullmx.test");
    dns.a("implicit.test", &[Ipv4Addr::new(192, 0, 2, 1)]);
    dns.aaaa("v6only.test", &[Ipv6Addr::LOCALHOST]);
    dns.empty("nomail.test");
    dns.behave("servfail.test", Behaviour::ServFail);
    dns.behave("refused.test", Behaviour::Refused);
    dns.behave("silent.test", Behaviour::Silent);
    let server = Server::start(dns.addr(), &[]);
    let mut client = server.client().await;

    use pb::EmailValidity::*;
    let cases: &[(&str, pb::EmailValidity, &str)] = &[
        ("Jane.Doe@Contoso.TEST", Valid, "dns.mx"),
        ("a@nullmx.test", Invalid, "dns.null_mx"),
        ("a@implicit.test", Valid, "dns.implicit_mx"),
        ("a@v6only.test", Valid, "dns.implicit_mx"),
        ("a@nomail.test", Invalid, "dns.no_mail_route"),
        ("a@nxdomain.test", Invalid, "dns.nxdomain"),
        ("a@servfail.test", Unknown, "dns.servfail"),
        ("a@refused.test", Unknown, "dns.refused"),
        ("a@silent.test", Unknown, "dns.timeout"),
        ("   ", Unknown, "missing"),
        ("not-an-address", Invalid, "syntax.no_at"),
        ("user@[192.0.2.1]", Invalid, "syntax.domain_literal"),
    ];
    for (email, validity, code) in cases {
        let verdict = validate(&mut client, email).await;
        assert_eq!(verdict.validity(), *validity, "{email}: {verdict:?}");
        assert!(
            codes(&verdict).iter().any(|c| c == code),
            "{email}: {verdict:?}"
        );
    }
    let verdict = validate(&mut client, "Jane.Doe@Contoso.TEST").await;
    assert_eq!(verdict.normalized, "Jane.Doe@contoso.test");
    assert_eq!(verdict.domain, "contoso.test");
    assert_eq!(verdict.mx_hosts, ["mx1.contoso.test", "mx2.contoso.test"]);
    let mx = verdict.reasons.iter().find(|r| r.code == "dns.mx").unwrap();
    assert_eq!(mx.message, "2 mail exchanger(s) found");
    let verdict = validate(&mut client, "a@implicit.test").await;
    assert_eq!(verdict.mx_hosts, ["implicit.test"]);
}

#[tokio::test]
async fn two_hundred_concurrent_requests_make_one_query_per_record_type() {
    let dns = DnsServer::start().await.unwrap();
    dns.a("fresh.test", &[Ipv4Addr::new(192, 0, 2, 7)]);
    dns.mx("mx-fresh.test", &[(10, "mail.mx-fresh.test")]);
    let server = Server::start(dns.addr(), &[]);
    let client = server.client().await;
    for domain in ["fresh.test", "mx-fresh.test"] {
        let calls: Vec<_> = (0..200)
            .map(|i| {
                let mut client = client.clone();
                let email = format!("user{i}@{domain}");
                tokio::spawn(async move { validate(&mut client, &email).await })
            })
            .collect();
        for call in calls {
            assert_eq!(call.await.unwrap().validity(), pb::EmailValidity::Valid);
        }
    }
    // No MX: one MX query, then one A and one AAAA for the implicit MX.
    assert_eq!(dns.queries("fresh.test", RecordType::MX), 1);
    assert_eq!(dns.queries("fresh.test", RecordType::A), 1);
    assert_eq!(dns.queries("fresh.test", RecordType::AAAA), 1);
    // MX present: only the MX query, then one A query for the exchanger.
    assert_eq!(dns.queries("mx-fresh.test", RecordType::MX), 1);
    assert_eq!(dns.queries_for("mx-fresh.test"), 1);
    assert_eq!(dns.queries_for("mail.mx-fresh.test"), 1);
}

#[tokio::test]
async fn answers_are_cached_for_their_ttl_and_failures_briefly() {
    let dns = DnsServer::start().await.unwrap();
    dns.mx("cached.test", &[(10, "mx.cached.test")]);
    dns.behave("flaky.test", Behaviour::ServFail);
    let server = Server::start(
        dns.addr(),
        &["--config", &config_file("dns_failure_ttl_secs = 1\n")],
    );
    let mut client = server.client().await;
    for _ in 0..3 {
        validate(&mut client, "a@cached.test").await;
        validate(&mut client, "b@nx-cached.test").await;
    }
    assert_eq!(dns.queries("cached.test", RecordType::MX), 1);
    assert_eq!(dns.queries("nx-cached.test", RecordType::MX), 1);

    // A failure is remembered briefly, then asked again: the domain recovers.
    let first = validate(&mut client, "a@flaky.test").await;
    assert_eq!(first.validity(), pb::EmailValidity::Unknown);
    dns.mx("flaky.test", &[(10, "mx.flaky.test")]);
    let mut recovered = None;
    for _ in 0..50 {
        let verdict = validate(&mut client, "a@flaky.test").await;
        if verdict.validity() == pb::EmailValidity::Valid {
            recovered = Some(verdict);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered.is_some(), "a failed lookup was cached too long");
}

/// Writes a config file that lives as long as the test process.
pub fn config_file(text: &str) -> String {
    let file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    std::fs::write(file.path(), text).unwrap();
    let (_, path) = file.keep().unwrap();
    path.display().to_string()
}

#[tokio::test]
async fn spam_lists_match_parents_and_a_changed_file_is_reloaded() {
    let dns = DnsServer::start().await.unwrap();
    dns.mx("blocked.test", &[(10, "mx.blocked.test")]);
    dns.mx("mailinator.com", &[(10, "mx.mailinator.com")]);
    let spam = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(spam.path(), "# test list\nblocked.test\n").unwrap();
    let server = Server::start(
        dns.addr(),
        &["--spam-domains", spam.path().to_str().unwrap()],
    );
    let mut client = server.client().await;

    // The bundled list, matched through a parent domain.
    let verdict = validate(&mut client, "x@sub.mailinator.com").await;
    assert_eq!(verdict.validity(), pb::EmailValidity::Spam, "{verdict:?}");
    assert!(verdict.disposable);
    // The file's list, extending the bundled one.
    let verdict = validate(&mut client, "x@blocked.test").await;
    assert_eq!(verdict.validity(), pb::EmailValidity::Spam, "{verdict:?}");

    // Take the domain off the list and tell the server: SIGHUP reloads at once.
    std::fs::write(spam.path(), "# emptied\n").unwrap();
    server.signal("HUP");
    let reloaded = comes_to(&mut client, "x@blocked.test", pb::EmailValidity::Valid).await;
    assert!(reloaded, "the reloaded list did not take effect");
}

/// Asks about `email` until its verdict is `validity` (after a reload): whether it came
/// to that. The bound of tries only keeps a broken reload from hanging the test.
async fn comes_to(
    client: &mut pb::lead_check_client::LeadCheckClient<tonic::transport::Channel>,
    email: &str,
    validity: pb::EmailValidity,
) -> bool {
    for _ in 0..100 {
        if validate(client, email).await.validity() == validity {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn a_dns_outage_gives_unknown_never_invalid_and_the_service_recovers() {
    let dns = DnsServer::start().await.unwrap();
    dns.mx("outage.test", &[(10, "mx.outage.test")]);
    dns.set_down(true);
    let server = Server::start(
        dns.addr(),
        &["--config", &config_file("dns_failure_ttl_secs = 1\n")],
    );
    let mut client = server.client().await;
    for email in ["a@outage.test", "b@other-outage.test"] {
        let verdict = validate(&mut client, email).await;
        assert_eq!(
            verdict.validity(),
            pb::EmailValidity::Unknown,
            "{verdict:?}"
        );
        assert!(
            codes(&verdict).iter().any(|c| c == "dns.timeout"),
            "{verdict:?}"
        );
    }
    dns.set_down(false);
    let mut recovered = false;
    for _ in 0..60 {
        if validate(&mut client, "a@outage.test").await.validity() == pb::EmailValidity::Valid {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "the service did not recover when DNS came back");
    // A domain that does not exist is INVALID once DNS can say so, not before.
    let mut invalid = false;
    for _ in 0..60 {
        if validate(&mut client, "b@other-outage.test")
            .await
            .validity()
            == pb::EmailValidity::Invalid
        {
            invalid = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(invalid, "NXDOMAIN after the outage was not seen");
}

/// A free loopback port for `--metrics-listen`.
fn metrics_port() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Validates one address at each domain, all at once, and checks every one is VALID.
async fn all_valid_at_once(
    client: &pb::lead_check_client::LeadCheckClient<tonic::transport::Channel>,
    domains: &[String],
) {
    let calls: Vec<_> = domains
        .iter()
        .map(|domain| {
            let mut client = client.clone();
            let email = format!("someone@{domain}");
            tokio::spawn(async move { validate(&mut client, &email).await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().validity(), pb::EmailValidity::Valid);
    }
}

/// The value of one series on a `/metrics` page (name with its labels, as printed).
fn metric(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

#[tokio::test]
async fn special_use_and_internal_names_are_invalid_before_any_query() {
    let dns = DnsServer::start().await.unwrap();
    let names = [
        "db.localhost",
        "printer.local",
        "db.internal",
        "nas.home.arpa",
        "x.invalid",
        "contoso.test",
        "shop.example",
        "hidden.onion",
        "name.alt",
    ];
    // Every one would be VALID if it were asked.
    for name in names {
        dns.mx(name, &[(10, &format!("mx.{name}"))]);
    }
    dns.mx("contoso.com", &[(10, "mx.contoso.com")]);
    let server = Server::start_strict(dns.addr(), &[]);
    let mut client = server.client().await;
    for name in names {
        let verdict = validate(&mut client, &format!("ann@{name}")).await;
        assert_eq!(
            verdict.validity(),
            pb::EmailValidity::Invalid,
            "{verdict:?}"
        );
        assert_eq!(codes(&verdict), ["dns.special_use"], "{verdict:?}");
    }
    // A single label never reaches DNS either: syntax refuses it first, with its own code.
    let verdict = validate(&mut client, "ann@localhost").await;
    assert_eq!(verdict.validity(), pb::EmailValidity::Invalid);
    assert_eq!(codes(&verdict), ["syntax.no_dot_in_domain"]);
    assert_eq!(dns.total_queries(), 0, "a special-use name was looked up");
    // An ordinary domain is asked as before.
    let verdict = validate(&mut client, "ann@contoso.com").await;
    assert_eq!(verdict.validity(), pb::EmailValidity::Valid, "{verdict:?}");
    assert!(dns.total_queries() > 0);
    drop(server);

    // A lab zone can be let through; localhost names never are.
    let server = Server::start_strict(dns.addr(), &["--dns-allow-suffix", "test"]);
    let mut client = server.client().await;
    let verdict = validate(&mut client, "ann@contoso.test").await;
    assert_eq!(verdict.validity(), pb::EmailValidity::Valid, "{verdict:?}");
    let verdict = validate(&mut client, "ann@db.localhost").await;
    assert_eq!(codes(&verdict), ["dns.special_use"], "{verdict:?}");
    assert_eq!(dns.queries_for("db.localhost"), 0);
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_leadcheck"))
        .args([
            "check",
            "--dns-allow-suffix",
            "localhost",
            "--email",
            "a@b.com",
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("localhost"), "{stderr}");
}

#[tokio::test]
async fn a_zone_of_thousands_of_exchangers_gives_a_bounded_answer_and_cache() {
    let dns = DnsServer::start().await.unwrap();
    // 1,500 MX records a domain: about 55 KB, so the answer comes over TCP (a TCP answer
    // holds at most 64 KiB). The ten lowest preferences are listed last.
    let hostile = 12;
    let records: Vec<(u16, String)> = (0..1500u16)
        .map(|i| (1500 - i, format!("m{i}.mf.com")))
        .collect();
    let records: Vec<(u16, &str)> = records.iter().map(|(p, h)| (*p, h.as_str())).collect();
    for d in 0..hostile {
        dns.mx(&format!("farm{d}.com"), &records);
    }
    let port = metrics_port();
    let ceiling = 256 * 1024;
    let server = Server::start(
        dns.addr(),
        &[
            "--metrics-listen",
            &port.to_string(),
            "--dns-cache-bytes",
            &ceiling.to_string(),
        ],
    );
    let mut client = server.client().await;
    for d in 0..hostile {
        let verdict = validate(&mut client, &format!("ann@farm{d}.com")).await;
        assert_eq!(verdict.validity(), pb::EmailValidity::Valid, "{verdict:?}");
        let lowest: Vec<String> = (1490..1500).rev().map(|i| format!("m{i}.mf.com")).collect();
        assert_eq!(verdict.mx_hosts, lowest);
        assert!(
            prost::Message::encoded_len(&verdict) < 1024,
            "{} bytes",
            prost::Message::encoded_len(&verdict)
        );
    }
    // Only the first exchanger was resolved, once for all the domains.
    assert_eq!(dns.queries("m1499.mf.com", RecordType::A), 1);
    assert_eq!(dns.queries_for("m1498.mf.com"), 0);

    // The counters tell an operator; the cache holds a few hundred bytes a domain.
    let mut page = String::new();
    let mut bytes = None;
    for _ in 0..100 {
        page = crate::foundation::http_get(port, "/metrics").await;
        bytes = metric(&page, "leadcheck_cache_bytes{cache=\"dns\"}");
        if bytes.is_some_and(|b| b > 0.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let bytes = bytes.expect("the DNS cache's bytes are published");
    assert!(
        bytes <= (hostile * 2048) as f64 && bytes <= ceiling as f64,
        "{bytes} bytes for {hostile} domains"
    );
    assert_eq!(
        metric(&page, "leadcheck_dns_answers_capped_total"),
        Some(hostile as f64),
        "{page}"
    );
}

#[tokio::test]
async fn each_exchanger_answer_gives_its_verdict() {
    let dns = DnsServer::start().await.unwrap();
    dns.mx_only(
        "dangling.test",
        &[(10, "gone1.dangling.test"), (20, "gone2.dangling.test")],
    );
    dns.mx_only("nodata.test", &[(10, "bare.nodata.test")]);
    dns.empty("bare.nodata.test");
    dns.mx_only(
        "internal-mx.test",
        &[(10, "mail.localhost"), (20, "db.internal")],
    );
    dns.mx(
        "second.test",
        &[(10, "gone.second.test"), (20, "mx.second.test")],
    );
    dns.forget("gone.second.test");
    dns.mx("servfail-mx.test", &[(10, "mx.servfail-mx.test")]);
    dns.behave("mx.servfail-mx.test", Behaviour::ServFail);
    dns.mx("silent-mx.test", &[(10, "mx.silent-mx.test")]);
    dns.behave("mx.silent-mx.test", Behaviour::Silent);
    dns.mx_only(
        "mixed.test",
        &[(10, "gone.mixed.test"), (20, "mx.silent-mx.test")],
    );
    dns.mx_only("literal.test", &[(10, "192.0.2.7")]);
    dns.mx("alias.test", &[(10, "mail.alias.test")]);
    dns.cname("mail.alias.test", "real.hosting.test");
    dns.a("real.hosting.test", &[Ipv4Addr::new(192, 0, 2, 9)]);
    dns.mx("private.test", &[(10, "mx.private.test")]);
    dns.a("mx.private.test", &[Ipv4Addr::new(10, 0, 0, 5)]);
    dns.a("loopback.test", &[Ipv4Addr::LOCALHOST]);
    dns.mx("v6mx.test", &[(10, "mx.v6mx.test")]);
    dns.a("mx.v6mx.test", &[]);
    dns.aaaa("mx.v6mx.test", &["2001:db8::25".parse().unwrap()]);
    let server = Server::start(dns.addr(), &[]);
    let mut client = server.client().await;

    use pb::EmailValidity::*;
    let cases: &[(&str, pb::EmailValidity, &[&str])] = &[
        ("a@dangling.test", Invalid, &["dns.mx_dangling"]),
        ("a@nodata.test", Invalid, &["dns.mx_dangling"]),
        ("a@internal-mx.test", Invalid, &["dns.mx_dangling"]),
        ("a@second.test", Valid, &["dns.mx"]),
        ("a@servfail-mx.test", Unknown, &["dns.servfail"]),
        ("a@silent-mx.test", Unknown, &["dns.timeout"]),
        ("a@mixed.test", Unknown, &["dns.timeout"]),
        ("a@literal.test", Valid, &["dns.mx", "dns.mx_ip_literal"]),
        ("a@alias.test", Valid, &["dns.mx", "dns.mx_cname"]),
        ("a@private.test", Valid, &["dns.mx", "dns.mx_private"]),
        (
            "a@loopback.test",
            Valid,
            &["dns.implicit_mx", "dns.mx_private"],
        ),
        ("a@v6mx.test", Valid, &["dns.mx"]),
    ];
    for (email, validity, expected) in cases {
        let verdict = validate(&mut client, email).await;
        assert_eq!(verdict.validity(), *validity, "{email}: {verdict:?}");
        assert_eq!(codes(&verdict), *expected, "{email}: {verdict:?}");
    }
    let verdict = validate(&mut client, "a@dangling.test").await;
    assert_eq!(
        verdict.mx_hosts,
        ["gone1.dangling.test", "gone2.dangling.test"]
    );
    // In preference order until one resolves: NXDOMAIN ends a host at A.
    assert_eq!(dns.queries("gone1.dangling.test", RecordType::A), 1);
    assert_eq!(dns.queries("gone1.dangling.test", RecordType::AAAA), 0);
    assert_eq!(dns.queries("bare.nodata.test", RecordType::AAAA), 1);
    assert_eq!(dns.queries_for("mx.second.test"), 1);
    assert_eq!(dns.queries("mx.v6mx.test", RecordType::AAAA), 1);
    // Never asked: an address written as a name, and special-use exchangers.
    assert_eq!(dns.queries_for("192.0.2.7"), 0);
    assert_eq!(dns.queries_for("mail.localhost"), 0);
    assert_eq!(dns.queries_for("db.internal"), 0);
}

#[tokio::test]
async fn a_shared_exchanger_is_looked_up_once_for_many_domains() {
    let dns = DnsServer::start().await.unwrap();
    let domains: Vec<String> = (0..60).map(|i| format!("tenant{i}.com")).collect();
    for domain in &domains {
        dns.mx(
            domain,
            &[(1, "aspmx.l.hosted.com"), (5, "alt1.aspmx.l.hosted.com")],
        );
    }
    let server = Server::start(dns.addr(), &[]);
    let client = server.client().await;
    // The first thirty at once, the rest one by one.
    all_valid_at_once(&client, &domains[..30]).await;
    let mut client = client.clone();
    for domain in &domains[30..] {
        let verdict = validate(&mut client, &format!("someone@{domain}")).await;
        assert_eq!(verdict.validity(), pb::EmailValidity::Valid);
    }
    assert_eq!(dns.queries_for("aspmx.l.hosted.com"), 1);
    assert_eq!(dns.queries_for("alt1.aspmx.l.hosted.com"), 0);
    for domain in &domains {
        assert_eq!(dns.queries_for(domain), 1, "{domain}");
    }
}

#[tokio::test]
async fn the_cap_on_dns_queries_in_flight_holds() {
    // Each domain costs two serial queries (MX, then its exchanger's A), each answered
    // after 150 ms.
    async fn peak(extra: &[&str]) -> (usize, String) {
        let dns = DnsServer::start().await.unwrap();
        let domains: Vec<String> = (0..24).map(|i| format!("slow{i}.com")).collect();
        for domain in &domains {
            dns.mx(domain, &[(10, &format!("mx.{domain}"))]);
        }
        dns.set_delay(Duration::from_millis(150));
        let port = metrics_port();
        let mut args = vec!["--dns-timeout-ms", "5000", "--metrics-listen"];
        let port_text = port.to_string();
        args.push(&port_text);
        args.extend_from_slice(extra);
        let server = Server::start(dns.addr(), &args);
        all_valid_at_once(&server.client().await, &domains).await;
        let page = crate::foundation::http_get(port, "/metrics").await;
        (dns.peak_in_flight(), page)
    }
    let (capped, page) = peak(&["--dns-max-queries", "4"]).await;
    assert!(capped <= 4, "{capped} queries in flight under a cap of 4");
    assert!(
        metric(&page, "leadcheck_dns_query_waits_total").is_some_and(|waits| waits > 0.0),
        "{page}"
    );
    // The default cap lets every domain be asked at once.
    let (uncapped, _) = peak(&[]).await;
    assert!(uncapped > 4, "{uncapped} queries in flight by default");
}

/// Runs `leadcheck suppress hash --key-file KEY` on `addresses` and returns its output.
fn suppress_hash(key: &std::path::Path, addresses: &str) -> String {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_leadcheck"))
        .args(["suppress", "hash", "--key-file"])
        .arg(key)
        .env_remove("LEADCHECK_SUPPRESSION_KEY_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start leadcheck suppress hash");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(addresses.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "suppress hash failed: {stderr}");
    assert!(!stderr.contains('@'), "an address on stderr: {stderr}");
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn a_suppressed_address_is_spam_and_a_rewritten_list_is_reloaded() {
    let dns = DnsServer::start().await.unwrap();
    dns.mx("corp.test", &[(10, "mx.corp.test")]);
    dns.a("mx.corp.test", &[Ipv4Addr::new(192, 0, 2, 10)]);
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("suppression.key");
    std::fs::write(&key, "an integration test key, 32 b.\n").unwrap();
    let list = dir.path().join("suppressed.txt");
    let made = suppress_hash(&key, "# complaints\nTrap@Corp.test\n");
    assert!(!made.contains('@'), "an address in the file: {made}");
    std::fs::write(&list, &made).unwrap();
    let server = Server::start(
        dns.addr(),
        &[
            "--suppression-file",
            list.to_str().unwrap(),
            "--suppression-key-file",
            key.to_str().unwrap(),
        ],
    );
    let mut client = server.client().await;

    // The address, whatever its case and spacing, is SPAM; another at its domain is not.
    for spelling in ["trap@corp.test", " TRAP@Corp.Test "] {
        let verdict = validate(&mut client, spelling).await;
        assert_eq!(verdict.validity(), pb::EmailValidity::Spam, "{verdict:?}");
        assert!(
            codes(&verdict).contains(&"list.suppressed".to_string()),
            "{verdict:?}"
        );
    }
    let verdict = validate(&mut client, "other@corp.test").await;
    assert_eq!(verdict.validity(), pb::EmailValidity::Valid, "{verdict:?}");
    assert!(!codes(&verdict).contains(&"list.suppressed".to_string()));

    // A new file, written aside and renamed over the old one, then SIGHUP: the reload
    // swaps the lists.
    let next = dir.path().join("suppressed.next");
    std::fs::write(&next, suppress_hash(&key, "other@corp.test\n")).unwrap();
    std::fs::rename(&next, &list).unwrap();
    server.signal("HUP");
    let reloaded = comes_to(&mut client, "other@corp.test", pb::EmailValidity::Spam).await;
    assert!(
        reloaded,
        "the rewritten suppression list did not take effect"
    );
    let verdict = validate(&mut client, "trap@corp.test").await;
    assert_eq!(verdict.validity(), pb::EmailValidity::Valid, "{verdict:?}");

    // No address reached the logs.
    let logs = server.logs();
    assert!(
        !logs.contains("trap@") && !logs.contains("other@"),
        "{logs}"
    );
}

#[tokio::test]
async fn a_suppression_file_without_its_key_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("suppressed.txt");
    std::fs::write(&list, "").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_leadcheck"))
        .args(["serve", "--listen", "127.0.0.1:0", "--suppression-file"])
        .arg(&list)
        .env_remove("LEADCHECK_SUPPRESSION_KEY_FILE")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("lists.suppression_key_file"), "{stderr}");
}
