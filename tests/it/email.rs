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
    // MX present: only the MX query.
    assert_eq!(dns.queries("mx-fresh.test", RecordType::MX), 1);
    assert_eq!(dns.queries_for("mx-fresh.test"), 1);
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
    let mut reloaded = false;
    for _ in 0..100 {
        if validate(&mut client, "x@blocked.test").await.validity() == pb::EmailValidity::Valid {
            reloaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reloaded, "the reloaded list did not take effect");
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
