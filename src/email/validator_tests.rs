//! The validator against the loopback DNS server of the test kit and, for the probe, the
//! scripted SMTP responder on 127.0.0.1: providers, catch-all states, check depth and
//! the risk of a VALID verdict.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use super::dns::{DnsConfig, MailRoutes};
use super::lists::{ListMode, ListStore};
use super::smtp::{CatchAll, ProbeConfig, Prober};
use super::{Depth, Validator, Validity, Verdict};
use crate::testkit::{Behaviour, DnsServer, Script, SmtpResponder};

fn routes(dns: &DnsServer) -> Arc<MailRoutes> {
    Arc::new(
        MailRoutes::new(DnsConfig {
            servers: vec![dns.addr()],
            timeout: Duration::from_secs(5),
            attempts: 1,
            allow_suffixes: vec!["test".into()],
            ..DnsConfig::default()
        })
        .unwrap(),
    )
}

fn lists() -> Arc<ListStore> {
    Arc::new(ListStore::new(None, None, ListMode::Extend).unwrap())
}

/// A validator without the probe.
fn validator(dns: &DnsServer) -> Validator {
    Validator::new(lists(), routes(dns), None)
}

/// A validator whose probe dials `smtp` on loopback.
fn probing(dns: &DnsServer, smtp: &SmtpResponder) -> Validator {
    let routes = routes(dns);
    let cfg = ProbeConfig {
        port: smtp.port(),
        allow_private: true,
        connect_timeout: Duration::from_secs(10),
        command_timeout: Duration::from_secs(10),
        ..ProbeConfig::default()
    };
    let prober = Prober::new(cfg, routes.clone());
    Validator::new(lists(), routes, Some(prober))
}

/// Gives `domain` the one exchanger `host`, at 127.0.0.1.
fn exchanger(dns: &DnsServer, domain: &str, host: &str) {
    dns.mx(domain, &[(10, host)]);
    dns.a(host, &[Ipv4Addr::LOCALHOST]);
}

fn codes(v: &Verdict) -> Vec<&str> {
    v.reasons.iter().map(|r| r.code).collect()
}

#[tokio::test]
async fn every_provider_is_named_from_the_exchangers() {
    let dns = DnsServer::start().await.unwrap();
    let cases = [
        ("aspmx.l.google.com", "google"),
        ("acme-test.mail.protection.outlook.com", "microsoft"),
        ("mta5.am0.yahoodns.net", "yahoo"),
        ("mx.zoho.eu", "zoho"),
        ("mx.yandex.net", "yandex"),
        ("emx.mail.ru", "mailru"),
        ("mx01.mail.icloud.com", "icloud"),
        ("in1-smtp.messagingengine.com", "fastmail"),
        ("mail.protonmail.ch", "proton"),
        ("mx0a-001.pphosted.com", "proofpoint"),
        ("eu-smtp-inbound-1.mimecast.com", "mimecast"),
        ("d1a.ess.barracudanetworks.com", "barracuda"),
    ];
    for (i, (host, _)) in cases.iter().enumerate() {
        exchanger(&dns, &format!("p{i}.test"), host);
    }
    exchanger(&dns, "own.test", "mx.own.test");
    let v = validator(&dns);
    for (i, (host, name)) in cases.iter().enumerate() {
        let verdict = v.validate(&format!("ana@p{i}.test")).await;
        assert_eq!(verdict.validity, Validity::Valid, "{host}: {verdict:?}");
        assert_eq!(verdict.mail_provider, *name, "{host}");
        let code = format!("provider.{name}");
        assert!(codes(&verdict).contains(&code.as_str()), "{verdict:?}");
        assert_eq!(verdict.depth, Depth::Domain);
        assert_eq!(verdict.catch_all_state, CatchAll::NotChecked);
    }
    let own = v.validate("ana@own.test").await;
    assert_eq!(own.mail_provider, "");
    assert!(!codes(&own).iter().any(|c| c.starts_with("provider.")));
}

#[tokio::test]
async fn free_provider_follows_the_provider_s_consumer_domains() {
    let dns = DnsServer::start().await.unwrap();
    exchanger(&dns, "gmail.com", "gmail-smtp-in.l.google.com");
    exchanger(&dns, "acme.test", "aspmx.l.google.com");
    let v = validator(&dns);

    let gmail = v.validate("ana@gmail.com").await;
    assert_eq!(gmail.mail_provider, "google");
    assert!(gmail.free_provider);
    let gmail_codes = codes(&gmail);
    assert!(gmail_codes.contains(&"flag.free_provider"), "{gmail:?}");
    assert!(gmail_codes.contains(&"valid.risky"), "{gmail:?}");

    // A company on Google Workspace is Google's, and not free mail.
    let acme = v.validate("ana@acme.test").await;
    assert_eq!(acme.mail_provider, "google");
    assert!(!acme.free_provider);
    assert_eq!(
        codes(&acme),
        ["dns.mx", "dns.mx_private", "provider.google"]
    );

    // A role account is a risky VALID too.
    let info = v.validate("info@acme.test").await;
    assert!(codes(&info).contains(&"valid.risky"), "{info:?}");
}

#[tokio::test]
async fn depth_says_how_far_the_checks_went() {
    let dns = DnsServer::start().await.unwrap();
    exchanger(&dns, "fine.test", "mx.fine.test");
    dns.behave("broken.test", Behaviour::ServFail);
    let v = validator(&dns);
    assert_eq!(v.validate("").await.depth, Depth::None);
    assert_eq!(v.validate("a..b@fine.test").await.depth, Depth::Syntax);
    let disposable = v.validate("ana@mailinator.com").await;
    assert_eq!(disposable.validity, Validity::Spam);
    assert_eq!(disposable.depth, Depth::Syntax);
    let failed = v.validate("ana@broken.test").await;
    assert_eq!(failed.validity, Validity::Unknown, "{failed:?}");
    assert_eq!(failed.depth, Depth::Syntax);
    let missing = v.validate("ana@nowhere.test").await;
    assert_eq!(missing.validity, Validity::Invalid, "{missing:?}");
    assert_eq!(missing.depth, Depth::Domain);
    let fine = v.validate("ana@fine.test").await;
    assert_eq!(fine.validity, Validity::Valid);
    assert_eq!(fine.depth, Depth::Domain);
    assert!(!codes(&fine).contains(&"valid.risky"), "{fine:?}");
}

#[tokio::test]
async fn the_probe_sets_the_catch_all_state_and_the_depth() {
    let dns = DnsServer::start().await.unwrap();
    exchanger(&dns, "strict.test", "mx.strict.test");
    let smtp = SmtpResponder::start(
        Script::new()
            .rcpt_reply("alice", "250 2.1.5 ok")
            .default_rcpt_reply("550 5.1.1 no such user"),
    )
    .await
    .unwrap();
    let v = probing(&dns, &smtp);

    let alice = v.validate("alice@strict.test").await;
    assert_eq!(alice.validity, Validity::Valid, "{alice:?}");
    assert_eq!(alice.catch_all_state, CatchAll::No);
    assert!(!alice.catch_all);
    assert_eq!(alice.depth, Depth::Mailbox);
    assert!(!codes(&alice).contains(&"valid.risky"), "{alice:?}");

    let bob = v.validate("bob@strict.test").await;
    assert_eq!(bob.validity, Validity::Invalid, "{bob:?}");
    assert_eq!(bob.catch_all_state, CatchAll::NotChecked);
    assert_eq!(bob.depth, Depth::Mailbox);
}

#[tokio::test]
async fn a_catch_all_domain_is_yes_and_proves_only_the_domain() {
    let dns = DnsServer::start().await.unwrap();
    exchanger(&dns, "open.test", "mx.open.test");
    let smtp = SmtpResponder::start(Script::new().default_rcpt_reply("250 2.1.5 ok"))
        .await
        .unwrap();
    let v = probing(&dns, &smtp);
    let verdict = v.validate("carol@open.test").await;
    assert_eq!(verdict.catch_all_state, CatchAll::Yes, "{verdict:?}");
    assert!(verdict.catch_all);
    assert_eq!(verdict.depth, Depth::Domain);
    let codes = codes(&verdict);
    assert!(codes.contains(&"smtp.catch_all"), "{verdict:?}");
    assert!(codes.contains(&"valid.risky"), "{verdict:?}");
    assert_eq!(smtp.rcpt_count(), 2, "the mailbox and a random one");
}

#[tokio::test]
async fn an_unclear_answer_to_the_random_mailbox_is_inconclusive() {
    let dns = DnsServer::start().await.unwrap();
    exchanger(&dns, "moody.test", "mx.moody.test");
    let smtp = SmtpResponder::start(
        Script::new()
            .rcpt_reply("alice", "250 2.1.5 ok")
            .default_rcpt_reply("451 4.3.0 try later"),
    )
    .await
    .unwrap();
    let v = probing(&dns, &smtp);
    let verdict = v.validate("alice@moody.test").await;
    assert_eq!(verdict.validity, Validity::Valid, "{verdict:?}");
    assert_eq!(verdict.catch_all_state, CatchAll::Inconclusive);
    assert!(!verdict.catch_all);
    assert_eq!(verdict.depth, Depth::Domain);
}

#[tokio::test]
async fn a_provider_that_accepts_anyone_is_not_asked_for_a_random_mailbox() {
    let dns = DnsServer::start().await.unwrap();
    exchanger(
        &dns,
        "tenant.test",
        "tenant-test.mail.protection.outlook.com",
    );
    let smtp = SmtpResponder::start(Script::new().default_rcpt_reply("250 2.1.5 ok"))
        .await
        .unwrap();
    let v = probing(&dns, &smtp);
    let verdict = v.validate("dave@tenant.test").await;
    assert_eq!(verdict.validity, Validity::Valid, "{verdict:?}");
    assert_eq!(verdict.mail_provider, "microsoft");
    assert_eq!(verdict.catch_all_state, CatchAll::Known);
    assert!(verdict.catch_all);
    assert_eq!(verdict.depth, Depth::Domain);
    let catch_all = verdict
        .reasons
        .iter()
        .find(|r| r.code == "smtp.catch_all")
        .expect("reported as a catch-all");
    assert!(catch_all.message.contains("provider"), "{catch_all:?}");
    assert_eq!(smtp.rcpt_count(), 1, "no random mailbox was asked");
}

#[tokio::test]
async fn full_and_disabled_mailboxes_and_retry_hints() {
    let dns = DnsServer::start().await.unwrap();
    exchanger(&dns, "quota.test", "mx.quota.test");
    let smtp = SmtpResponder::start(
        Script::new()
            .rcpt_reply("full", "452 4.2.2 mailbox full")
            .rcpt_reply("gone", "550 5.2.1 mailbox disabled, not accepting messages")
            .rcpt_reply("later", "451 4.7.1 greylisted, try again later")
            .rcpt_reply("down", "421 4.3.2 system not available")
            .default_rcpt_reply("550 5.1.1 unknown"),
    )
    .await
    .unwrap();
    let v = probing(&dns, &smtp);
    // The default transient lifetime: an earlier try would read the cached answer.
    let transient = Some(ProbeConfig::default().transient_ttl);

    let full = v.validate("full@quota.test").await;
    assert_eq!(full.validity, Validity::Valid, "{full:?}");
    assert!(codes(&full).contains(&"smtp.full_inbox"), "{full:?}");
    assert_eq!(full.retry_after, transient);

    let gone = v.validate("gone@quota.test").await;
    assert_eq!(gone.validity, Validity::Invalid, "{gone:?}");
    assert!(codes(&gone).contains(&"smtp.disabled"), "{gone:?}");
    assert!(!codes(&gone).contains(&"smtp.rejected"), "{gone:?}");
    assert_eq!(gone.depth, Depth::Mailbox);
    assert_eq!(gone.retry_after, None);

    let later = v.validate("later@quota.test").await;
    assert!(codes(&later).contains(&"smtp.greylisted"), "{later:?}");
    assert_eq!(later.retry_after, transient);

    let down = v.validate("down@quota.test").await;
    assert!(codes(&down).contains(&"smtp.temporary"), "{down:?}");
    assert_eq!(down.retry_after, transient);

    let unknown = v.validate("nobody@quota.test").await;
    assert_eq!(unknown.validity, Validity::Invalid);
    assert_eq!(unknown.retry_after, None);
}

#[tokio::test]
async fn a_domain_mailed_through_a_disposable_service_is_disposable() {
    let dns = DnsServer::start().await.unwrap();
    exchanger(&dns, "fresh-name.test", "mx.mailinator.com");
    exchanger(&dns, "honest.test", "mx.honest.test");
    let v = validator(&dns);
    let verdict = v.validate("ana@fresh-name.test").await;
    assert_eq!(verdict.validity, Validity::Spam, "{verdict:?}");
    assert!(verdict.disposable);
    assert!(codes(&verdict).contains(&"list.disposable"), "{verdict:?}");
    assert_eq!(verdict.depth, Depth::Domain);
    let honest = v.validate("ana@honest.test").await;
    assert_eq!(honest.validity, Validity::Valid, "{honest:?}");
    assert!(!honest.disposable);
}
