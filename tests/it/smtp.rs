//! The SMTP probe end to end: the real server, its MX records from the test DNS server, and
//! a scripted SMTP responder on 127.0.0.1 standing in for the domain's exchanger.

use std::net::Ipv4Addr;

use leadcheck::pb;
use leadcheck::testkit::{DnsServer, Script, SmtpResponder};

use crate::support::Server;

fn codes(v: &pb::EmailVerdict) -> Vec<&str> {
    v.reasons.iter().map(|r| r.code.as_str()).collect()
}

/// A DNS server where `domain`'s one exchanger is `mx.<domain>` at 127.0.0.1.
pub(crate) async fn dns_for(domains: &[&str]) -> DnsServer {
    let dns = DnsServer::start().await.unwrap();
    for domain in domains {
        let mx = format!("mx.{domain}");
        dns.mx(domain, &[(10, mx.as_str())]);
        dns.a(&mx, &[Ipv4Addr::LOCALHOST]);
    }
    dns
}

/// An exchanger that accepts `alice` and rejects every other mailbox.
pub(crate) async fn alice_only() -> SmtpResponder {
    SmtpResponder::start(
        Script::new()
            .rcpt_reply("alice", "250 2.1.5 ok")
            .default_rcpt_reply("550 5.1.1 no such user here"),
    )
    .await
    .unwrap()
}

fn probing(dns: &DnsServer, smtp: &SmtpResponder, extra: &[&str]) -> Server {
    let port = smtp.port().to_string();
    let mut args = vec!["--smtp-probe", "--smtp-port", port.as_str()];
    args.extend_from_slice(extra);
    Server::start(dns.addr(), &args)
}

#[tokio::test]
async fn accepted_and_rejected_mailboxes() {
    let dns = dns_for(&["acme.test"]).await;
    let smtp = alice_only().await;
    let server = probing(&dns, &smtp, &["--smtp-allow-private"]);

    let alice = server.validate_email("alice@acme.test").await;
    assert_eq!(alice.validity(), pb::EmailValidity::Valid, "{alice:?}");
    assert_eq!(codes(&alice), ["dns.mx", "dns.mx_private", "smtp.accepted"]);
    assert!(!alice.catch_all);

    let bob = server.validate_email("bob@acme.test").await;
    assert_eq!(bob.validity(), pb::EmailValidity::Invalid, "{bob:?}");
    assert_eq!(codes(&bob), ["dns.mx", "dns.mx_private", "smtp.rejected"]);
    assert!(
        bob.reasons[2]
            .message
            .contains("550 5.1.1 no such user here"),
        "the server's reply is in the reason: {bob:?}"
    );
    // The probe asked for the two mailboxes and the random catch-all one, then quit.
    let recipients = smtp.recipients();
    assert!(
        recipients.contains(&"alice@acme.test".to_string()),
        "{recipients:?}"
    );
    assert!(
        recipients.contains(&"bob@acme.test".to_string()),
        "{recipients:?}"
    );
    assert_eq!(smtp.data_commands(), 0, "a probe never sends mail");
    // Addresses are personal data: the logs never hold them in full.
    let logs = server.logs();
    assert!(!logs.contains("alice@acme.test"), "{logs}");
    assert!(!logs.contains("bob@acme.test"), "{logs}");
}

#[tokio::test]
async fn catch_all_domain_is_flagged() {
    let dns = dns_for(&["anything.test"]).await;
    let smtp = SmtpResponder::start(Script::new().default_rcpt_reply("250 2.1.5 ok"))
        .await
        .unwrap();
    let server = probing(&dns, &smtp, &["--smtp-allow-private"]);

    let first = server.validate_email("carol@anything.test").await;
    assert_eq!(first.validity(), pb::EmailValidity::Valid);
    assert!(first.catch_all, "{first:?}");
    assert!(codes(&first).contains(&"smtp.catch_all"), "{first:?}");
    // The random mailbox is asked once per domain, not once per address.
    let second = server.validate_email("dave@anything.test").await;
    assert!(second.catch_all);
    let random: Vec<String> = smtp
        .recipients()
        .into_iter()
        .filter(|r| !r.starts_with("carol@") && !r.starts_with("dave@"))
        .collect();
    assert_eq!(
        random.len(),
        1,
        "one catch-all probe per domain: {random:?}"
    );
}

#[tokio::test]
async fn policy_and_greylisting_leave_the_dns_verdict_flagged() {
    let dns = dns_for(&["strict.test"]).await;
    let smtp = SmtpResponder::start(
        Script::new()
            .rcpt_reply("blocked", "550 5.7.1 client host rejected: blocklisted")
            .rcpt_reply("later", "451 4.7.1 greylisted, try again in 5 minutes")
            .default_rcpt_reply("550 5.1.1 unknown"),
    )
    .await
    .unwrap();
    let server = probing(&dns, &smtp, &["--smtp-allow-private"]);

    let blocked = server.validate_email("blocked@strict.test").await;
    assert_eq!(blocked.validity(), pb::EmailValidity::Valid, "{blocked:?}");
    assert!(codes(&blocked).contains(&"smtp.policy"), "{blocked:?}");

    let later = server.validate_email("later@strict.test").await;
    assert_eq!(later.validity(), pb::EmailValidity::Valid, "{later:?}");
    assert!(codes(&later).contains(&"smtp.greylisted"), "{later:?}");
    assert!(later.reasons.iter().any(|r| r.message.contains("retry")));
}

#[tokio::test]
async fn loopback_exchangers_are_not_dialled_without_the_flag() {
    let dns = dns_for(&["inside.test"]).await;
    let smtp = SmtpResponder::start(Script::new().default_rcpt_reply("550 5.1.1 unknown"))
        .await
        .unwrap();
    let server = probing(&dns, &smtp, &[]);

    let verdict = server.validate_email("erin@inside.test").await;
    assert_eq!(verdict.validity(), pb::EmailValidity::Valid, "{verdict:?}");
    assert_eq!(
        codes(&verdict),
        ["dns.mx", "dns.mx_private", "smtp.skipped_private"]
    );
    assert_eq!(
        smtp.sessions(),
        0,
        "the SSRF guard kept the probe off loopback"
    );
}

#[tokio::test]
async fn the_probe_is_off_by_default() {
    let dns = dns_for(&["quiet.test"]).await;
    let smtp = SmtpResponder::start(Script::new().default_rcpt_reply("550 5.1.1 unknown"))
        .await
        .unwrap();
    let port = smtp.port().to_string();
    let server = Server::start(
        dns.addr(),
        &["--smtp-port", port.as_str(), "--smtp-allow-private"],
    );

    let verdict = server.validate_email("frank@quiet.test").await;
    assert_eq!(verdict.validity(), pb::EmailValidity::Valid);
    assert_eq!(codes(&verdict), ["dns.mx", "dns.mx_private"]);
    assert_eq!(smtp.sessions(), 0);
}
