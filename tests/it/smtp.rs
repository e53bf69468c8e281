//! The SMTP probe end to end: the real server, its MX records from the test DNS server, and
//! a scripted SMTP responder on 127.0.0.1 standing in for the domain's exchanger.

// `catch_all` is deprecated for `catch_all_state` and still filled: these tests read both.
#![allow(deprecated)]

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::time::Duration;

use leadcheck::pb;
use leadcheck::testkit::socks_server::NOT_ALLOWED;
use leadcheck::testkit::{Asked, DnsServer, Script, SmtpResponder, SocksServer};

use crate::shared_cache::scrape;
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

/// An address on 127.0.0.1 nothing listens on (for `/metrics`, or to be refused).
fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
}

/// The message of the verdict's reason `code`, or a panic.
fn message<'a>(verdict: &'a pb::EmailVerdict, code: &str) -> &'a str {
    match verdict.reasons.iter().find(|r| r.code == code) {
        Some(reason) => &reason.message,
        None => panic!("no {code} in {verdict:?}"),
    }
}

/// The peak resident set of a process, in bytes (Linux `VmHWM`).
fn peak_rss(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<usize>()
                .ok()
        })
        .expect("VmHWM in /proc/PID/status");
    kib * 1024
}

#[tokio::test]
async fn a_64_mib_greeting_without_newline_costs_the_read_budget() {
    const FLOOD: usize = 64 * 1024 * 1024;
    let dns = dns_for(&["flood.test"]).await;
    let smtp = SmtpResponder::start(Script::new().flood_greeting(FLOOD))
        .await
        .unwrap();
    let server = probing(
        &dns,
        &smtp,
        &["--smtp-allow-private", "--smtp-timeout-ms", "2000"],
    );
    // Warm, without a probe (no such domain): the first call's own allocations are not
    // the greeting's.
    server.validate_email("warm@nowhere.test").await;
    let before = peak_rss(server.child.id());

    let verdict = server.validate_email("ann@flood.test").await;
    // Buffered whole, the greeting would have raised the peak by 64 MiB or more.
    let grew = peak_rss(server.child.id()).saturating_sub(before);
    assert!(grew < 16 * 1024 * 1024, "peak RSS grew {grew} bytes");
    let taken = smtp.bytes_sent();
    assert!(
        taken < FLOOD / 4,
        "the probe took {taken} bytes of the flood"
    );
    assert_eq!(verdict.validity(), pb::EmailValidity::Valid, "{verdict:?}");
    assert_eq!(
        codes(&verdict),
        ["dns.mx", "dns.mx_private", "smtp.unreachable"]
    );
    assert_eq!(
        message(&verdict, "smtp.unreachable"),
        "no mail exchanger could be reached: mx.flood.test: sent an over-long reply"
    );
}

#[tokio::test]
async fn an_endless_reply_ends_at_the_read_budget() {
    let dns = dns_for(&["endless.test"]).await;
    let endless = SmtpResponder::start(Script::new().endless_greeting())
        .await
        .unwrap();
    let server = probing(&dns, &endless, &["--smtp-allow-private"]);
    let verdict = server.validate_email("bo@endless.test").await;
    assert_eq!(verdict.validity(), pb::EmailValidity::Valid, "{verdict:?}");
    assert_eq!(
        message(&verdict, "smtp.unreachable"),
        "no mail exchanger could be reached: mx.endless.test: sent an over-long reply"
    );
}

#[tokio::test]
async fn a_dripping_server_runs_out_of_session_time() {
    // Every reply within the 1 s command timeout, the session as a whole not: it ends at
    // three timeouts, however the replies drip.
    let dns = dns_for(&["drip.test"]).await;
    let drip = SmtpResponder::start(Script::new().drip(Duration::from_millis(700)))
        .await
        .unwrap();
    let server = probing(
        &dns,
        &drip,
        &["--smtp-allow-private", "--smtp-timeout-ms", "1000"],
    );
    let verdict = server.validate_email("cy@drip.test").await;
    assert_eq!(verdict.validity(), pb::EmailValidity::Valid, "{verdict:?}");
    assert_eq!(
        message(&verdict, "smtp.unreachable"),
        "no mail exchanger could be reached: mx.drip.test: answered too slowly: the session \
         ran out of time"
    );
}

#[tokio::test]
async fn reasons_name_neither_the_dialled_address_nor_the_socket_error() {
    let dns = dns_for(&["closed.test"]).await;
    // A port nothing listens on: the connection is refused.
    let port = free_addr().port().to_string();
    let args: Vec<String> = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--dns-server",
        &dns.addr().to_string(),
        "--smtp-probe",
        "--smtp-allow-private",
        "--smtp-port",
        &port,
    ]
    .map(String::from)
    .to_vec();
    let server = Server::start_env(&args, &[("LEADCHECK_LOG", "info,leadcheck::email=debug")]);

    let verdict = server.validate_email("dee@closed.test").await;
    assert_eq!(verdict.validity(), pb::EmailValidity::Valid, "{verdict:?}");
    let said = message(&verdict, "smtp.unreachable");
    assert_eq!(
        said,
        "no mail exchanger could be reached: mx.closed.test: refused the connection"
    );
    for secret in ["127.0.0.1", "os error", "Connection refused"] {
        assert!(!said.contains(secret), "{said}");
    }
    // They go to the logs, for operators.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let logs = server.logs();
        if logs.contains("smtp session failed") {
            assert!(
                logs.contains("127.0.0.1") && logs.contains("os error"),
                "{logs}"
            );
            assert!(!logs.contains("dee@closed.test"), "{logs}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{logs}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Validates `user@dN.test` for every domain at once; returns the verdicts.
async fn validate_all(server: &Server, domains: &[String]) -> Vec<pb::EmailVerdict> {
    let calls = domains
        .iter()
        .map(|domain| async move { server.validate_email(&format!("user@{domain}")).await });
    futures::future::join_all(calls).await
}

/// `count` domains whose exchangers are all the one address 127.0.0.1.
async fn one_address_domains(count: usize) -> (DnsServer, Vec<String>) {
    let domains: Vec<String> = (0..count).map(|i| format!("d{i}.hosted.test")).collect();
    let names: Vec<&str> = domains.iter().map(String::as_str).collect();
    (dns_for(&names).await, domains)
}

/// An exchanger whose replies to RCPT TO take `delay`, so that sessions overlap; every
/// mailbox is unknown (no catch-all probe).
async fn slow_rejecter(delay: Duration) -> SmtpResponder {
    SmtpResponder::start(
        Script::new()
            .default_rcpt_reply("550 5.1.1 unknown")
            .rcpt_delay(delay),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn many_domains_at_one_address_never_get_more_than_the_per_ip_cap() {
    let (dns, domains) = one_address_domains(12).await;
    let smtp = slow_rejecter(Duration::from_millis(300)).await;
    // The per-domain cap would let all twelve in at once.
    let server = probing(&dns, &smtp, &["--smtp-allow-private", "--smtp-per-ip", "3"]);
    for verdict in validate_all(&server, &domains).await {
        assert_eq!(
            verdict.validity(),
            pb::EmailValidity::Invalid,
            "{verdict:?}"
        );
    }
    assert_eq!(smtp.sessions(), 12);
    let most = smtp.max_concurrent_sessions();
    assert!((2..=3).contains(&most), "{most} sessions at once");
}

#[tokio::test]
async fn the_global_cap_bounds_sessions_and_a_probe_past_the_wait_is_busy() {
    let (dns, domains) = one_address_domains(8).await;
    let smtp = slow_rejecter(Duration::from_millis(300)).await;
    let server = probing(
        &dns,
        &smtp,
        &[
            "--smtp-allow-private",
            "--smtp-per-ip",
            "100",
            "--smtp-max-sessions",
            "2",
        ],
    );
    for verdict in validate_all(&server, &domains).await {
        assert_eq!(
            verdict.validity(),
            pb::EmailValidity::Invalid,
            "{verdict:?}"
        );
    }
    assert_eq!(smtp.max_concurrent_sessions(), 2);

    // One slot, a session that holds it 1.5 s, a wait of 200 ms: two of three are busy.
    let (dns, domains) = one_address_domains(3).await;
    let smtp = slow_rejecter(Duration::from_millis(1500)).await;
    let metrics = free_addr();
    let server = probing(
        &dns,
        &smtp,
        &[
            "--smtp-allow-private",
            "--smtp-max-sessions",
            "1",
            "--smtp-slot-wait-ms",
            "200",
            "--metrics-listen",
            &metrics.to_string(),
        ],
    );
    let verdicts = validate_all(&server, &domains).await;
    let busy: Vec<&pb::EmailVerdict> = verdicts
        .iter()
        .filter(|v| codes(v).contains(&"smtp.busy"))
        .collect();
    assert_eq!(busy.len(), 2, "{verdicts:?}");
    for verdict in busy {
        // Not probed says nothing about the mailbox: the DNS verdict stands, flagged.
        assert_eq!(verdict.validity(), pb::EmailValidity::Valid, "{verdict:?}");
        assert_eq!(
            message(verdict, "smtp.busy"),
            "not probed: too many SMTP sessions in progress in this service; retry later"
        );
    }
    assert_eq!(smtp.sessions(), 1);
    let needle = "leadcheck_smtp_sessions_refused_total{limit=\"global\"} 2";
    let page = scrape(metrics, needle).await;
    assert!(page.contains(needle), "{page}");
    assert!(
        page.contains("leadcheck_smtp_probes_total{outcome=\"busy\"} 2"),
        "{page}"
    );
}

/// A server that probes through `proxy`, loopback exchangers allowed, on port 25.
fn through(dns: &DnsServer, proxy: &SocksServer) -> Server {
    through_url(dns, &proxy.url())
}

/// A server that probes through the proxy at `url`, loopback exchangers allowed, on port 25.
fn through_url(dns: &DnsServer, url: &str) -> Server {
    let args = ["--smtp-probe", "--smtp-allow-private", "--smtp-proxy", url];
    Server::start(dns.addr(), &args)
}

#[tokio::test]
async fn the_probe_goes_through_a_socks5_proxy_asked_for_the_checked_address() {
    let dns = dns_for(&["relayed.test"]).await;
    let smtp = alice_only().await;
    let proxy = SocksServer::relaying_to(smtp.addr()).await.unwrap();
    // The exchangers' port stays 25: on loopback only the proxy's relay reaches the
    // responder, so an answer proves the session went through the proxy.
    let server = through(&dns, &proxy);

    let alice = server.validate_email("alice@relayed.test").await;
    assert_eq!(alice.validity(), pb::EmailValidity::Valid, "{alice:?}");
    assert!(codes(&alice).contains(&"smtp.accepted"), "{alice:?}");
    let bob = server.validate_email("bob@relayed.test").await;
    assert_eq!(bob.validity(), pb::EmailValidity::Invalid, "{bob:?}");

    let exchanger = Asked::Addr(SocketAddr::from((Ipv4Addr::LOCALHOST, 25)));
    assert_eq!(proxy.asked(), [exchanger.clone(), exchanger]);
    assert_eq!(smtp.sessions(), 2);
}

#[tokio::test]
async fn the_proxy_is_never_asked_for_an_address_the_guard_refuses() {
    let dns = DnsServer::start().await.unwrap();
    for (domain, ip) in [
        ("loop.test", Ipv4Addr::LOCALHOST),
        ("metadata.test", Ipv4Addr::new(169, 254, 169, 254)),
        ("office.test", Ipv4Addr::new(10, 0, 0, 7)),
    ] {
        let mx = format!("mx.{domain}");
        dns.mx(domain, &[(10, mx.as_str())]);
        dns.a(&mx, &[ip]);
    }
    let smtp = alice_only().await;
    let proxy = SocksServer::relaying_to(smtp.addr()).await.unwrap();
    let server = Server::start(dns.addr(), &["--smtp-probe", "--smtp-proxy", &proxy.url()]);

    for domain in ["loop.test", "metadata.test", "office.test"] {
        let verdict = server.validate_email(&format!("alice@{domain}")).await;
        assert!(
            codes(&verdict).contains(&"smtp.skipped_private"),
            "{verdict:?}"
        );
    }
    assert_eq!(proxy.asked(), [], "the SSRF guard holds through the proxy");
    assert_eq!(smtp.sessions(), 0);
}

#[tokio::test]
async fn a_refusing_proxy_gives_a_reason_that_names_it() {
    let dns = dns_for(&["denied.test"]).await;
    let proxy = SocksServer::refusing(NOT_ALLOWED).await.unwrap();
    let server = through(&dns, &proxy);
    let verdict = server.validate_email("alice@denied.test").await;
    assert_eq!(verdict.validity(), pb::EmailValidity::Valid, "{verdict:?}");
    assert_eq!(
        message(&verdict, "smtp.unreachable"),
        "no mail exchanger could be reached: mx.denied.test: the SOCKS5 proxy refused to \
         connect to it"
    );
    assert_eq!(proxy.asked().len(), 1);
}

#[tokio::test]
async fn a_greylisted_probe_is_retried_within_the_call_s_deadline() {
    let dns = dns_for(&["grey.test", "slowgrey.test"]).await;
    let quick = SmtpResponder::start(
        Script::new()
            .rcpt_reply("alice", "250 2.1.5 ok")
            .default_rcpt_reply("550 5.1.1 no such user here")
            .greylist_first_sessions(1, "451 4.7.1 greylisted, try again in 1 second"),
    )
    .await
    .unwrap();
    let server = probing(&dns, &quick, &["--smtp-allow-private"]);
    let verdict = server.validate_email("alice@grey.test").await;
    assert_eq!(verdict.validity(), pb::EmailValidity::Valid, "{verdict:?}");
    assert!(codes(&verdict).contains(&"smtp.accepted"), "{verdict:?}");
    assert!(verdict.retry_after.is_none(), "{verdict:?}");
    assert_eq!(quick.sessions(), 2);

    // Five minutes do not fit in the call's 30 s: greylisted, and when to ask again.
    let slow = SmtpResponder::start(
        Script::new().greylist_first_sessions(1, "451 4.7.1 greylisted, try again in 5 minutes"),
    )
    .await
    .unwrap();
    let server = probing(&dns, &slow, &["--smtp-allow-private"]);
    let verdict = server.validate_email("alice@slowgrey.test").await;
    assert!(codes(&verdict).contains(&"smtp.greylisted"), "{verdict:?}");
    assert!(verdict.retry_after.is_some(), "{verdict:?}");
    assert_eq!(slow.sessions(), 1);
}

#[tokio::test]
async fn a_proxy_login_goes_through_and_a_wrong_one_is_named_never_shown() {
    let dns = dns_for(&["login.test"]).await;
    let smtp = alice_only().await;
    let proxy = SocksServer::relaying_with_login(smtp.addr(), "probe", "right-pw")
        .await
        .unwrap();
    let port = proxy.addr().port();
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("proxy-password");
    std::fs::write(&password_file, "right-pw\n").unwrap();

    // The user in the URL, the password from its file.
    let url = format!("socks5://probe@127.0.0.1:{port}");
    let file = password_file.to_str().unwrap();
    let server = Server::start(
        dns.addr(),
        &[
            "--smtp-probe",
            "--smtp-allow-private",
            "--smtp-proxy",
            &url,
            "--smtp-proxy-password-file",
            file,
        ],
    );
    let alice = server.validate_email("alice@login.test").await;
    assert_eq!(alice.validity(), pb::EmailValidity::Valid, "{alice:?}");
    assert!(codes(&alice).contains(&"smtp.accepted"), "{alice:?}");
    let exchanger = Asked::Addr(SocketAddr::from((Ipv4Addr::LOCALHOST, 25)));
    assert_eq!(proxy.asked(), [exchanger]);
    assert!(!server.logs().contains("right-pw"));

    // A wrong password in the URL: a reason that names the proxy, no CONNECT asked.
    let url = format!("socks5://probe:wrong-pw@127.0.0.1:{port}");
    let server = through_url(&dns, &url);
    let verdict = server.validate_email("alice@login.test").await;
    assert_eq!(verdict.validity(), pb::EmailValidity::Valid, "{verdict:?}");
    assert_eq!(
        message(&verdict, "smtp.unreachable"),
        "no mail exchanger could be reached: mx.login.test: the SOCKS5 proxy refused our \
         credentials"
    );
    assert_eq!(proxy.asked().len(), 1, "no CONNECT after a refused login");
    assert_eq!(smtp.sessions(), 1);
    assert!(!format!("{verdict:?}").contains("wrong-pw"));
    assert!(!server.logs().contains("wrong-pw"));
}

#[tokio::test]
async fn a_provider_s_exchangers_take_its_own_proxy_or_go_direct() {
    let dns = DnsServer::start().await.unwrap();
    for (domain, mx) in [
        ("workspace.test", "aspmx.l.google.com"),
        ("plain.test", "mx.plain.test"),
        ("tenant.test", "tenant-test.mail.protection.outlook.com"),
    ] {
        dns.mx(domain, &[(10, mx)]);
        dns.a(mx, &[Ipv4Addr::LOCALHOST]);
    }
    let smtp = alice_only().await;
    let google = SocksServer::relaying_to(smtp.addr()).await.unwrap();
    let default = SocksServer::relaying_to(smtp.addr()).await.unwrap();
    // The exchangers' port is the responder's: a direct session reaches it too.
    let port = smtp.port().to_string();
    let own = format!("google={},microsoft=direct", google.url());
    let server = Server::start(
        dns.addr(),
        &[
            "--smtp-probe",
            "--smtp-allow-private",
            "--smtp-port",
            &port,
            "--smtp-proxy",
            &default.url(),
            "--smtp-provider-proxies",
            &own,
        ],
    );
    let exchanger = Asked::Addr(SocketAddr::from((Ipv4Addr::LOCALHOST, smtp.port())));

    let verdict = server.validate_email("alice@workspace.test").await;
    assert_eq!(verdict.mail_provider, "google", "{verdict:?}");
    assert!(codes(&verdict).contains(&"smtp.accepted"), "{verdict:?}");
    assert_eq!(google.asked(), std::slice::from_ref(&exchanger));
    assert_eq!(default.asked(), []);

    let verdict = server.validate_email("alice@plain.test").await;
    assert!(codes(&verdict).contains(&"smtp.accepted"), "{verdict:?}");
    assert_eq!(google.asked().len(), 1);
    assert_eq!(default.asked(), [exchanger]);

    let verdict = server.validate_email("alice@tenant.test").await;
    assert_eq!(verdict.mail_provider, "microsoft", "{verdict:?}");
    assert!(codes(&verdict).contains(&"smtp.accepted"), "{verdict:?}");
    assert_eq!(google.asked().len() + default.asked().len(), 2, "direct");
    assert_eq!(smtp.sessions(), 3);
}

#[tokio::test]
async fn a_gateway_s_slow_greeting_is_waited_for_and_an_unknown_one_s_is_not() {
    let dns = DnsServer::start().await.unwrap();
    // Proofpoint's exchangers get 30 s for the greeting (data/mail_providers.txt).
    for (domain, mx) in [
        ("gated.test", "mx0a-gated.pphosted.com"),
        ("slowgreet.test", "mx.slowgreet.test"),
    ] {
        dns.mx(domain, &[(10, mx)]);
        dns.a(mx, &[Ipv4Addr::LOCALHOST]);
    }
    let smtp = SmtpResponder::start(
        Script::new()
            .rcpt_reply("alice", "250 2.1.5 ok")
            .default_rcpt_reply("550 5.1.1 no such user here")
            .greeting_delay(Duration::from_secs(3)),
    )
    .await
    .unwrap();
    let server = probing(
        &dns,
        &smtp,
        &["--smtp-allow-private", "--smtp-timeout", "1s"],
    );

    let gated = server.validate_email("alice@gated.test").await;
    assert_eq!(gated.mail_provider, "proofpoint", "{gated:?}");
    assert!(codes(&gated).contains(&"smtp.accepted"), "{gated:?}");

    let unknown = server.validate_email("alice@slowgreet.test").await;
    assert_eq!(unknown.mail_provider, "", "{unknown:?}");
    assert_eq!(
        message(&unknown, "smtp.unreachable"),
        "no mail exchanger could be reached: mx.slowgreet.test: sent no greeting"
    );
}

#[tokio::test]
async fn a_streamed_greylisted_lead_is_not_waited_for_and_says_when_to_ask_again() {
    let dns = dns_for(&["streamgrey.test"]).await;
    // A unary call would wait the second and ask again (see above); a stream does not.
    let smtp = SmtpResponder::start(
        Script::new().greylist_first_sessions(1, "451 4.7.1 greylisted, try again in 1 second"),
    )
    .await
    .unwrap();
    let server = probing(&dns, &smtp, &["--smtp-allow-private"]);
    let mut client = server.client().await;
    let request = pb::AssessLeadRequest {
        request_id: "grey".into(),
        lead: Some(pb::Lead {
            email: "alice@streamgrey.test".into(),
            ..Default::default()
        }),
        as_of: None,
    };
    let mut answers = client
        .assess_leads(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let answer = answers.message().await.unwrap().expect("one answer");
    let email = answer.email.expect("an email verdict");
    assert!(codes(&email).contains(&"smtp.greylisted"), "{email:?}");
    let retry_after = email.retry_after.expect("retry_after");
    assert!(retry_after.seconds > 0, "{retry_after:?}");
    assert!(answers.message().await.unwrap().is_none());
    assert_eq!(smtp.sessions(), 1);
}
