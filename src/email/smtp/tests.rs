//! Tests of the SMTP probe against the scripted responder on 127.0.0.1, and of the reply
//! reading rules. Only 127.0.0.1 is ever dialled.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::reply::*;
use super::session::*;
use super::*;
use crate::testkit::smtp_server::{Script, SmtpResponder, StaticResolver};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Settings for a responder on loopback; generous timeouts so a loaded machine passes.
fn config(port: u16) -> ProbeConfig {
    ProbeConfig {
        port,
        allow_private: true,
        connect_timeout: Duration::from_secs(10),
        command_timeout: Duration::from_secs(10),
        ..ProbeConfig::default()
    }
}

/// Settings whose command timeout is short, for the tests where a server stalls.
fn impatient(port: u16) -> ProbeConfig {
    ProbeConfig {
        command_timeout: Duration::from_millis(700),
        ..config(port)
    }
}

/// A prober whose exchangers `hosts` all resolve to 127.0.0.1.
fn prober(cfg: ProbeConfig, hosts: &[&str]) -> Prober {
    let resolver = hosts
        .iter()
        .fold(StaticResolver::new(), |r, host| r.with(host, &[LOOPBACK]));
    Prober::new(cfg, Arc::new(resolver))
}

fn mx(hosts: &[&str]) -> Vec<String> {
    hosts.iter().map(|host| host.to_string()).collect()
}

async fn start(script: Script) -> SmtpResponder {
    match SmtpResponder::start(script).await {
        Ok(responder) => responder,
        Err(e) => panic!("the responder cannot bind 127.0.0.1: {e}"),
    }
}

/// A port on 127.0.0.1 nothing listens on.
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    listener.local_addr().unwrap().port()
}

fn target(host: &str, port: u16) -> Target {
    Target {
        host: host.to_string(),
        addr: SocketAddr::new(LOOPBACK, port),
        accepts_any: false,
        timeouts: Default::default(),
        provider: None,
    }
}

fn reply(code: u16, text: &str) -> Reply {
    Reply {
        code,
        text: text.to_string(),
    }
}

// ---------------------------------------------------------------------------------------
// Sessions against the responder
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn accepted_mailbox_at_a_domain_that_rejects_others() {
    let responder = start(
        Script::new()
            .rcpt_reply("alice", "250 2.1.5 ok")
            .default_rcpt_reply("550 5.1.1 user unknown"),
    )
    .await;
    let prober = prober(config(responder.port()), &["mx1.example.test"]);
    let result = prober
        .probe(
            "Alice@example.test",
            "example.test",
            &mx(&["mx1.example.test"]),
        )
        .await;
    assert_eq!(
        result,
        ProbeResult {
            outcome: Outcome::Accepted,
            catch_all: false,
            catch_all_state: CatchAll::No,
            host: Some("mx1.example.test".to_string()),
        }
    );
    // The mailbox, then the random catch-all mailbox, in one session closed with QUIT.
    let recipients = responder.recipients();
    assert_eq!(recipients.len(), 2);
    assert_eq!(recipients[0], "Alice@example.test");
    assert!(recipients[1].starts_with("lc-"), "{recipients:?}");
    assert!(recipients[1].ends_with("@example.test"));
    assert_eq!(
        recipients[1].len(),
        "lc-".len() + 16 + "@example.test".len()
    );
    assert_eq!(responder.sessions(), 1);
    assert_eq!(responder.quits(), 1);
    assert_eq!(responder.data_commands(), 0);
}

#[tokio::test]
async fn rejected_mailbox_quotes_the_reply_without_the_address() {
    let responder = start(Script::new().default_rcpt_reply(
        "550 5.1.1 <bob.smith@example.test>: Recipient address rejected: User unknown",
    ))
    .await;
    let prober = prober(config(responder.port()), &["mx1.example.test"]);
    let result = prober
        .probe(
            "bob.smith@example.test",
            "example.test",
            &mx(&["mx1.example.test"]),
        )
        .await;
    assert_eq!(
        result.outcome,
        Outcome::Rejected {
            reply: "550 5.1.1 <***@example.test>: Recipient address rejected: User unknown"
                .to_string()
        }
    );
    assert!(!result.catch_all);
    // No catch-all probe after a rejection.
    assert_eq!(responder.rcpt_count(), 1);
    assert_eq!(responder.quits(), 1);
}

#[tokio::test]
async fn multi_line_rejection_is_one_line() {
    let responder = start(Script::new().default_rcpt_reply(
        "550-5.1.1 The email account that you tried to reach does not exist. Please try\r\n\
         550-5.1.1 double-checking the recipient's email address for typos or\r\n\
         550 5.1.1 unnecessary spaces.",
    ))
    .await;
    let prober = prober(config(responder.port()), &["mx.example.test"]);
    let result = prober
        .probe(
            "nobody@example.test",
            "example.test",
            &mx(&["mx.example.test"]),
        )
        .await;
    assert_eq!(
        result.outcome,
        Outcome::Rejected {
            reply: "550 5.1.1 The email account that you tried to reach does not exist. \
                    Please try double-checking the recipient's email address for typos or \
                    unnecessary spaces."
                .to_string()
        }
    );
}

#[tokio::test]
async fn blocklist_rejection_is_policy_even_with_550() {
    let responder = start(Script::new().default_rcpt_reply(
        "550 5.7.1 Service unavailable; client [192.0.2.7] blocked using zen.spamhaus.org",
    ))
    .await;
    let prober = prober(config(responder.port()), &["mx.example.test"]);
    let result = prober
        .probe(
            "carol@example.test",
            "example.test",
            &mx(&["mx.example.test"]),
        )
        .await;
    assert!(
        matches!(&result.outcome, Outcome::Policy { reply } if reply.contains("spamhaus")),
        "{result:?}"
    );
    assert_eq!(result.outcome.code(), codes::POLICY);
}

#[tokio::test]
async fn refused_greeting_is_policy_and_still_gets_quit() {
    let responder = start(Script::new().greeting("554 5.7.1 no service for you")).await;
    let prober = prober(
        config(responder.port()),
        &["mx1.example.test", "mx2.example.test"],
    );
    let result = prober
        .probe(
            "dave@example.test",
            "example.test",
            &mx(&["mx1.example.test"]),
        )
        .await;
    assert_eq!(
        result,
        ProbeResult {
            outcome: Outcome::Policy {
                reply: "554 5.7.1 no service for you".to_string()
            },
            catch_all: false,
            catch_all_state: CatchAll::NotChecked,
            host: Some("mx1.example.test".to_string()),
        }
    );
    assert_eq!(responder.rcpt_count(), 0);
    assert_eq!(
        responder.quits(),
        1,
        "RFC 5321 3.1: QUIT after a 554 greeting"
    );
}

#[tokio::test]
async fn refused_sender_is_policy_not_a_mailbox_rejection() {
    let responder = start(
        Script::new().mail_reply("553 5.1.8 <probe@leadcheck.localhost>: Sender address rejected"),
    )
    .await;
    let prober = prober(config(responder.port()), &["mx.example.test"]);
    let result = prober
        .probe(
            "erin@example.test",
            "example.test",
            &mx(&["mx.example.test"]),
        )
        .await;
    assert_eq!(
        result.outcome,
        Outcome::Policy {
            reply: "553 5.1.8 <***@leadcheck.localhost>: Sender address rejected".to_string()
        }
    );
    assert_eq!(responder.rcpt_count(), 0);
}

#[tokio::test]
async fn greylisting_is_temporary_with_the_flag() {
    let responder = start(
        Script::new()
            .rcpt_reply("grey", "451 4.7.1 Please try again later")
            .rcpt_reply("full", "452 4.2.2 Mailbox full"),
    )
    .await;
    let prober = prober(config(responder.port()), &["mx.example.test"]);
    let grey = prober
        .probe(
            "grey@example.test",
            "example.test",
            &mx(&["mx.example.test"]),
        )
        .await;
    assert_eq!(
        grey.outcome,
        Outcome::Temporary {
            reply: "451 4.7.1 Please try again later".to_string(),
            greylisted: true,
        }
    );
    assert_eq!(grey.outcome.code(), codes::GREYLISTED);
    let full = prober
        .probe(
            "full@example.test",
            "example.test",
            &mx(&["mx.example.test"]),
        )
        .await;
    assert_eq!(
        full.outcome,
        Outcome::FullInbox {
            reply: "452 4.2.2 Mailbox full".to_string(),
        }
    );
    assert_eq!(full.outcome.code(), codes::FULL_INBOX);
}

#[tokio::test]
async fn catch_all_is_found_once_per_domain() {
    let responder = start(Script::new()).await;
    let prober = prober(config(responder.port()), &["mx.example.test"]);
    let hosts = mx(&["mx.example.test"]);
    let first = prober.probe("a@example.test", "example.test", &hosts).await;
    assert_eq!(first.outcome, Outcome::Accepted);
    assert!(first.catch_all);
    let second = prober.probe("b@example.test", "example.test", &hosts).await;
    assert_eq!(second.outcome, Outcome::Accepted);
    assert!(
        second.catch_all,
        "the cached finding applies to the second mailbox"
    );
    // a, the random mailbox, b: the catch-all was asked once.
    assert_eq!(responder.rcpt_count(), 3);
    assert_eq!(responder.sessions(), 2);
    let random: Vec<String> = responder
        .recipients()
        .into_iter()
        .filter(|r| r.starts_with("lc-"))
        .collect();
    assert_eq!(random.len(), 1);
}

#[tokio::test]
async fn cached_result_makes_no_new_session() {
    let responder = start(Script::new().default_rcpt_reply("550 5.1.1 no such user")).await;
    let prober = prober(config(responder.port()), &["mx.example.test"]);
    let hosts = mx(&["mx.example.test"]);
    let first = prober
        .probe("Frank@Example.test", "example.test", &hosts)
        .await;
    let second = prober
        .probe("frank@example.test", "example.test", &hosts)
        .await;
    assert!(
        matches!(first.outcome, Outcome::Rejected { .. }),
        "{first:?}"
    );
    assert_eq!(first, second);
    assert_eq!(responder.sessions(), 1);
}

#[tokio::test]
async fn refused_connection_falls_through_to_the_next_exchanger() {
    let responder = start(Script::new().default_rcpt_reply("550 5.1.1 unknown")).await;
    let closed = closed_port().await;
    let prober = prober(config(responder.port()), &[]);
    // The port is global to a prober, so two ports need explicit targets.
    let targets = [
        target("mx1.example.test", closed),
        target("mx2.example.test", responder.port()),
    ];
    let result = prober
        .probe_targets("gina@example.test", "example.test", &targets)
        .await
        .0;
    assert!(
        matches!(result.outcome, Outcome::Rejected { .. }),
        "{result:?}"
    );
    assert_eq!(result.host.as_deref(), Some("mx2.example.test"));
    assert_eq!(responder.sessions(), 1);
}

#[tokio::test]
async fn stalled_exchanger_times_out_and_the_next_one_answers() {
    // One responder plays both: its first session never greets, its second answers.
    let responder = start(Script::new().stall_first_sessions(1)).await;
    let prober = prober(impatient(responder.port()), &[]);
    let targets = [
        target("mx1.example.test", responder.port()),
        target("mx2.example.test", responder.port()),
    ];
    let result = prober
        .probe_targets("hank@example.test", "example.test", &targets)
        .await
        .0;
    assert_eq!(result.outcome, Outcome::Accepted);
    assert_eq!(result.host.as_deref(), Some("mx2.example.test"));
    assert_eq!(responder.sessions(), 2);
}

#[tokio::test]
async fn every_exchanger_failing_is_unreachable() {
    let responder = start(Script::new().stall_greeting()).await;
    let closed = closed_port().await;
    let prober = prober(impatient(responder.port()), &[]);
    let targets = [
        target("mx1.example.test", closed),
        target("mx2.example.test", responder.port()),
    ];
    let result = prober
        .probe_targets("ivan@example.test", "example.test", &targets)
        .await
        .0;
    match &result.outcome {
        Outcome::Unreachable { detail } => {
            // What happened, in plain words: no dialled address, no socket error text.
            assert_eq!(
                detail,
                "mx1.example.test: refused the connection; mx2.example.test: sent no greeting"
            );
        }
        other => panic!("expected unreachable, got {other:?}"),
    }
    assert_eq!(result.host, None);
    assert_eq!(result.outcome.code(), codes::UNREACHABLE);
}

/// Probes `local`@example.test through its one exchanger, mx.example.test.
async fn probe_one(cfg: ProbeConfig, local: &str) -> ProbeResult {
    let prober = prober(cfg, &["mx.example.test"]);
    let address = format!("{local}@example.test");
    let hosts = mx(&["mx.example.test"]);
    prober.probe(&address, "example.test", &hosts).await
}

/// The detail of an unreachable outcome, or a panic naming what came instead.
fn unreachable_detail(result: &ProbeResult) -> &str {
    match &result.outcome {
        Outcome::Unreachable { detail } => detail,
        other => panic!("expected unreachable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_greeting_without_end_of_line_costs_the_read_budget_not_its_size() {
    const FLOOD: usize = 64 * 1024 * 1024;
    let responder = start(Script::new().flood_greeting(FLOOD)).await;
    let result = probe_one(config(responder.port()), "flood").await;
    assert_eq!(
        unreachable_detail(&result),
        "mx.example.test: sent an over-long reply"
    );
    // The probe hung up after its budget: the rest of the flood was never taken (what
    // the responder got rid of is the budget plus the kernel's socket buffers).
    let sent = responder.bytes_sent();
    assert!(sent < FLOOD / 4, "{sent} bytes taken");
}

#[tokio::test]
async fn an_endless_multi_line_reply_is_cut_at_the_read_budget() {
    let responder = start(Script::new().endless_greeting()).await;
    let result = probe_one(config(responder.port()), "endless").await;
    assert_eq!(
        unreachable_detail(&result),
        "mx.example.test: sent an over-long reply"
    );
}

#[test]
fn the_read_budget_stops_reads_at_its_size() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let _ = socket.write_all(&[b'z'; 10_000]).await;
            socket
        });
        let tcp = TcpStream::connect(addr).await.unwrap();
        let spent = Arc::new(AtomicBool::new(false));
        let mut capped = Capped::new(tcp, 3000, spent.clone());
        let mut got = Vec::new();
        let err = capped.read_to_end(&mut got).await.unwrap_err();
        assert_eq!(got.len(), 3000, "exactly the budget is read");
        assert!(spent.load(Ordering::Relaxed), "{err}");
        drop(server.await.unwrap());
    });
}

#[tokio::test]
async fn a_server_that_drips_its_replies_runs_out_of_session_time() {
    // Each reply takes 0.7 command timeouts: every single one is in time, the session
    // as a whole (seven replies) is not.
    let timeout = Duration::from_millis(800);
    let responder = start(Script::new().drip(timeout * 7 / 10)).await;
    let cfg = ProbeConfig {
        command_timeout: timeout,
        ..config(responder.port())
    };
    let result = probe_one(cfg, "drip").await;
    assert_eq!(
        unreachable_detail(&result),
        "mx.example.test: answered too slowly: the session ran out of time"
    );
    assert_eq!(responder.sessions(), 1);
}

#[tokio::test]
async fn a_stalled_reply_to_rcpt_times_out() {
    let responder = start(Script::new().rcpt_delay(Duration::from_secs(5))).await;
    let prober = prober(impatient(responder.port()), &["mx.example.test"]);
    let result = prober
        .probe(
            "judy@example.test",
            "example.test",
            &mx(&["mx.example.test"]),
        )
        .await;
    assert!(
        matches!(&result.outcome, Outcome::Unreachable { detail } if detail.contains("timed out")),
        "{result:?}"
    );
}

#[tokio::test]
async fn unavailable_exchangers_leave_a_temporary_outcome() {
    let responder = start(Script::new().greeting("421 4.3.2 service not available")).await;
    let prober = prober(config(responder.port()), &[]);
    let targets = [
        target("mx1.example.test", responder.port()),
        target("mx2.example.test", responder.port()),
    ];
    let result = prober
        .probe_targets("kim@example.test", "example.test", &targets)
        .await
        .0;
    assert_eq!(
        result.outcome,
        Outcome::Temporary {
            reply: "421 4.3.2 service not available".to_string(),
            greylisted: false,
        }
    );
    assert_eq!(result.host.as_deref(), Some("mx1.example.test"));
    // Both exchangers were asked: a 421 greeting sends the probe to the next one.
    assert_eq!(responder.sessions(), 2);
}

#[tokio::test]
async fn private_exchangers_are_never_dialled_by_default() {
    let responder = start(Script::new()).await;
    let cfg = ProbeConfig {
        allow_private: false,
        ..config(responder.port())
    };
    let prober = prober(cfg, &["mx.example.test"]);
    let result = prober
        .probe(
            "lee@example.test",
            "example.test",
            &mx(&["mx.example.test"]),
        )
        .await;
    assert_eq!(result, ProbeResult::without_host(Outcome::SkippedPrivate));
    assert_eq!(result.outcome.code(), codes::SKIPPED_PRIVATE);
    assert_eq!(responder.sessions(), 0);
}

#[tokio::test]
async fn targets_keep_public_addresses_in_order_and_drop_private_ones() {
    // Only lists addresses: nothing here is dialled.
    let public_v4 = IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8));
    let public_v6: IpAddr = "2a00:1450:4001::1b".parse().unwrap();
    let resolver = StaticResolver::new()
        .with(
            "mx1.example.test",
            &[IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)), public_v4],
        )
        .with(
            "mx2.example.test",
            &[public_v6, public_v4, IpAddr::V4(Ipv4Addr::new(1, 1, 1, 1))],
        )
        .with("mx3.example.test", &[IpAddr::V4(Ipv4Addr::new(9, 9, 9, 9))])
        .with("mx4.example.test", &[IpAddr::V4(Ipv4Addr::new(4, 4, 4, 4))]);
    let prober = Prober::new(ProbeConfig::default(), Arc::new(resolver));
    let hosts = mx(&[
        "MX1.example.test.",
        "mx1.example.test",
        "nowhere.example.test",
        "mx2.example.test",
        "mx3.example.test",
        "mx4.example.test",
    ]);
    let targets = prober.targets(&hosts).await.unwrap();
    let listed: Vec<(String, SocketAddr)> = targets.into_iter().map(|t| (t.host, t.addr)).collect();
    assert_eq!(
        listed,
        vec![
            (
                "mx1.example.test".to_string(),
                SocketAddr::new(public_v4, 25)
            ),
            // 8.8.8.8 was listed already; at most two addresses per host.
            (
                "mx2.example.test".to_string(),
                SocketAddr::new(public_v6, 25)
            ),
            (
                "mx2.example.test".to_string(),
                SocketAddr::new(IpAddr::V4(Ipv4Addr::new(1, 1, 1, 1)), 25)
            ),
            // max_hosts = 3 distinct names: mx1, nowhere, mx2; mx3 and mx4 are not tried.
        ]
    );
}

#[tokio::test]
async fn no_usable_exchanger_is_reported() {
    let resolver = StaticResolver::new()
        .with(
            "private.example.test",
            &[IpAddr::V4(Ipv4Addr::new(192, 168, 1, 1))],
        )
        .with(
            "meta.example.test",
            &[IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254))],
        );
    let prober = Prober::new(ProbeConfig::default(), Arc::new(resolver));
    assert_eq!(
        prober
            .targets(&mx(&["private.example.test", "meta.example.test"]))
            .await,
        Err(Outcome::SkippedPrivate)
    );
    assert_eq!(
        prober.targets(&mx(&["nowhere.example.test"])).await,
        Err(Outcome::Unreachable {
            detail: "nowhere.example.test: no address".to_string()
        })
    );
    assert_eq!(
        prober.targets(&[]).await,
        Err(Outcome::Unreachable {
            detail: "the domain has no mail exchanger to probe".to_string()
        })
    );
}

#[tokio::test]
async fn per_domain_limit_bounds_concurrent_sessions() {
    async fn max_concurrent(per_domain: usize) -> (usize, usize) {
        let responder = start(
            Script::new()
                .default_rcpt_reply("550 5.1.1 unknown")
                .rcpt_delay(Duration::from_millis(100)),
        )
        .await;
        let cfg = ProbeConfig {
            per_domain_concurrency: per_domain,
            ..config(responder.port())
        };
        let prober = Arc::new(prober(cfg, &["mx.example.test"]));
        let mut probes = tokio::task::JoinSet::new();
        for i in 0..5 {
            let prober = prober.clone();
            probes.spawn(async move {
                prober
                    .probe(
                        &format!("user{i}@example.test"),
                        "example.test",
                        &mx(&["mx.example.test"]),
                    )
                    .await
            });
        }
        while let Some(result) = probes.join_next().await {
            let result = result.unwrap();
            assert!(
                matches!(result.outcome, Outcome::Rejected { .. }),
                "{result:?}"
            );
        }
        (responder.max_concurrent_sessions(), responder.sessions())
    }
    assert_eq!(max_concurrent(1).await, (1, 5));
    // The control: without the limit the same probes do overlap, so the check above
    // can fail.
    let (unbounded, sessions) = max_concurrent(5).await;
    assert!(unbounded > 1, "{unbounded}");
    assert_eq!(sessions, 5);
}

/// Probes `count` mailboxes at as many domains, all at once, through a prober whose
/// exchangers all resolve to one responder (whose RCPT replies take `rcpt_delay`).
/// Returns the results and the responder.
async fn probe_many_domains(
    cfg: impl FnOnce(u16) -> ProbeConfig,
    count: usize,
    rcpt_delay: Duration,
) -> (Vec<ProbeResult>, SmtpResponder) {
    let responder = start(
        Script::new()
            .default_rcpt_reply("550 5.1.1 unknown")
            .rcpt_delay(rcpt_delay),
    )
    .await;
    let hosts: Vec<String> = (0..count)
        .map(|i| format!("mx.d{i}.example.test"))
        .collect();
    let names: Vec<&str> = hosts.iter().map(String::as_str).collect();
    let prober = Arc::new(prober(cfg(responder.port()), &names));
    let mut probes = tokio::task::JoinSet::new();
    for (i, host) in hosts.into_iter().enumerate() {
        let prober = prober.clone();
        probes.spawn(async move {
            let domain = format!("d{i}.example.test");
            prober
                .probe(&format!("user@{domain}"), &domain, &[host])
                .await
        });
    }
    let mut results = Vec::new();
    while let Some(result) = probes.join_next().await {
        results.push(result.unwrap());
    }
    (results, responder)
}

#[tokio::test]
async fn per_address_limit_bounds_sessions_from_many_domains() {
    async fn max_concurrent(per_ip: usize) -> usize {
        let (results, responder) = probe_many_domains(
            |port| ProbeConfig {
                per_ip_concurrency: per_ip,
                ..config(port)
            },
            8,
            Duration::from_millis(150),
        )
        .await;
        for result in &results {
            assert!(
                matches!(result.outcome, Outcome::Rejected { .. }),
                "{result:?}"
            );
        }
        assert_eq!(responder.sessions(), 8);
        responder.max_concurrent_sessions()
    }
    assert_eq!(max_concurrent(2).await, 2);
    // The control: a higher limit lets the same probes overlap more, so the check above
    // can fail.
    assert!(max_concurrent(8).await > 2);
}

#[tokio::test]
async fn process_limit_bounds_sessions_whatever_the_addresses() {
    let (results, responder) = probe_many_domains(
        |port| ProbeConfig {
            per_ip_concurrency: 100,
            max_sessions: 3,
            ..config(port)
        },
        8,
        Duration::from_millis(150),
    )
    .await;
    assert!(results
        .iter()
        .all(|r| matches!(r.outcome, Outcome::Rejected { .. })));
    assert_eq!(responder.max_concurrent_sessions(), 3);
}

#[tokio::test]
async fn a_full_limit_past_the_wait_is_busy_and_not_cached() {
    let (results, responder) = probe_many_domains(
        |port| ProbeConfig {
            max_sessions: 1,
            slot_wait: Duration::from_millis(100),
            ..config(port)
        },
        3,
        Duration::from_millis(1500),
    )
    .await;
    let busy: Vec<&ProbeResult> = results
        .iter()
        .filter(|r| {
            r.outcome
                == Outcome::Busy {
                    limit: Limit::Process,
                }
        })
        .collect();
    assert_eq!(busy.len(), 2, "{results:?}");
    assert_eq!(busy[0].outcome.code(), codes::BUSY);
    assert_eq!(busy[0].host, None);
    assert_eq!(responder.sessions(), 1, "a busy probe dials nothing");
}

#[tokio::test]
async fn a_busy_result_is_not_kept_for_the_next_request() {
    let responder = start(
        Script::new()
            .default_rcpt_reply("550 5.1.1 unknown")
            .rcpt_delay(Duration::from_millis(1500)),
    )
    .await;
    let cfg = ProbeConfig {
        per_domain_concurrency: 1,
        slot_wait: Duration::from_millis(100),
        ..config(responder.port())
    };
    let prober = Arc::new(prober(cfg, &["mx.example.test"]));
    let hosts = mx(&["mx.example.test"]);
    let first = {
        let (prober, hosts) = (prober.clone(), hosts.clone());
        tokio::spawn(async move {
            prober
                .probe("first@example.test", "example.test", &hosts)
                .await
        })
    };
    // Waits for the first session to hold the domain's one slot.
    while responder.sessions() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let second = prober
        .probe("second@example.test", "example.test", &hosts)
        .await;
    assert_eq!(
        second.outcome,
        Outcome::Busy {
            limit: Limit::Domain
        }
    );
    assert!(matches!(
        first.await.unwrap().outcome,
        Outcome::Rejected { .. }
    ));
    let again = prober
        .probe("second@example.test", "example.test", &hosts)
        .await;
    assert!(
        matches!(again.outcome, Outcome::Rejected { .. }),
        "{again:?}"
    );
    assert_eq!(responder.sessions(), 2);
}

#[tokio::test]
async fn non_ascii_mailbox_needs_smtputf8() {
    let plain = start(Script::new().ehlo_reply("250 responder.test")).await;
    let prober_plain = prober(config(plain.port()), &["mx.example.test"]);
    let result = prober_plain
        .probe(
            "jürgen@example.test",
            "example.test",
            &mx(&["mx.example.test"]),
        )
        .await;
    assert!(
        matches!(&result.outcome, Outcome::Unreachable { detail } if detail.contains("SMTPUTF8")),
        "{result:?}"
    );
    assert_eq!(plain.rcpt_count(), 0);
    assert_eq!(plain.quits(), 1);

    let utf8 = start(Script::new().default_rcpt_reply("550 5.1.1 unknown")).await;
    let prober_utf8 = prober(config(utf8.port()), &["mx.example.test"]);
    let result = prober_utf8
        .probe(
            "jürgen@example.test",
            "example.test",
            &mx(&["mx.example.test"]),
        )
        .await;
    assert!(
        matches!(result.outcome, Outcome::Rejected { .. }),
        "{result:?}"
    );
    assert_eq!(utf8.recipients(), vec!["jürgen@example.test".to_string()]);
}

#[tokio::test]
async fn an_address_lettre_cannot_write_is_not_probed() {
    let responder = start(Script::new()).await;
    let prober = prober(config(responder.port()), &["mx.example.test"]);
    let result = prober
        .probe("not an address", "example.test", &mx(&["mx.example.test"]))
        .await;
    assert!(
        matches!(result.outcome, Outcome::Unreachable { .. }),
        "{result:?}"
    );
    assert_eq!(responder.sessions(), 0);
}

#[test]
fn the_probe_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let prober = Prober::new(ProbeConfig::default(), Arc::new(StaticResolver::new()));
    let hosts = mx(&["mx.example.test"]);
    let probe = prober.probe("a@example.test", "example.test", &hosts);
    assert_send(&probe);
}

// ---------------------------------------------------------------------------------------
// Reading replies
// ---------------------------------------------------------------------------------------

#[test]
fn rcpt_refusals_are_read_by_the_documented_rules() {
    use Refusal::*;
    let cases: &[(u16, &str, Refusal)] = &[
        (550, "5.1.1 user unknown", Mailbox),
        (
            550,
            "5.1.1 <x@y.test>: Recipient address rejected: User unknown in relay recipient table",
            Mailbox,
        ),
        (550, "no such user here", Mailbox),
        (550, "mailbox unavailable", Mailbox),
        (550, "something unclear happened", Mailbox),
        (
            551,
            "User not local; please try <forward@elsewhere.test>",
            Mailbox,
        ),
        (553, "5.1.3 bad recipient address syntax", Mailbox),
        (
            550,
            "sorry, no mailbox here by that name. (#5.1.1)",
            Mailbox,
        ),
        (
            550,
            "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
            Mailbox,
        ),
        (
            550,
            "5.2.1 mailbox disabled, not accepting messages",
            Mailbox,
        ),
        (
            550,
            "5.4.1 Recipient address rejected: Access denied. AS(201806281)",
            Mailbox,
        ),
        (
            550,
            "5.5.0 Requested action not taken: mailbox unavailable",
            Mailbox,
        ),
        (556, "5.1.10 domain does not accept mail", Mailbox),
        (
            550,
            "5.7.1 Service unavailable; client host blocked using Spamhaus",
            Us,
        ),
        (550, "5.7.1 Message rejected as spam", Us),
        (550, "blacklisted by our filters", Us),
        (550, "Your IP is blocklisted", Us),
        (
            550,
            "5.1.1 <probe@x.test>: Sender address rejected: User unknown",
            Us,
        ),
        (553, "5.1.8 Domain of sender address does not exist", Us),
        (554, "5.7.1 <x@y.test>: Relay access denied", Us),
        (554, "transaction failed", Us),
        (554, "no such user", Us),
        (
            553,
            "sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
            Us,
        ),
        (550, "relay not permitted", Us),
        (
            550,
            "Helo command rejected: need fully-qualified hostname",
            Us,
        ),
        (501, "5.5.4 Syntax error in parameters", Us),
        (500, "command unrecognized", Us),
        (550, "5.3.2 system not accepting network messages", Us),
        (552, "5.2.2 mailbox full", Transient),
        (552, "message size exceeds fixed maximum", Transient),
    ];
    for (code, text, expected) in cases {
        assert_eq!(
            read_rcpt_refusal(&reply(*code, text)),
            *expected,
            "{code} {text}"
        );
    }
}

#[test]
fn outcomes_depend_on_the_stage() {
    let refused = reply(550, "5.1.1 user unknown");
    assert!(matches!(
        classify(Stage::RcptTo, &refused),
        Outcome::Rejected { .. }
    ));
    assert!(matches!(
        classify(Stage::MailFrom, &refused),
        Outcome::Policy { .. }
    ));
    assert!(matches!(
        classify(Stage::Handshake, &refused),
        Outcome::Policy { .. }
    ));
    assert_eq!(
        classify(Stage::Handshake, &reply(554, "no SMTP service here")),
        Outcome::Policy {
            reply: "554 no SMTP service here".to_string()
        }
    );
    assert_eq!(
        classify(Stage::RcptTo, &reply(552, "5.2.2 over quota")),
        Outcome::FullInbox {
            reply: "552 5.2.2 over quota".to_string(),
        }
    );
    assert_eq!(
        classify(Stage::RcptTo, &reply(550, "5.2.1 mailbox disabled")),
        Outcome::Disabled {
            reply: "550 5.2.1 mailbox disabled".to_string(),
        }
    );
    // Without its enhanced code a 552 is 452, insufficient storage: temporary.
    assert_eq!(
        classify(
            Stage::RcptTo,
            &reply(552, "message size exceeds fixed maximum")
        ),
        Outcome::Temporary {
            reply: "552 message size exceeds fixed maximum".to_string(),
            greylisted: false
        }
    );
}

#[test]
fn greylisting_is_recognised() {
    let grey = |code, text| is_greylisting(&reply(code, text));
    assert!(grey(451, "4.7.1 Try again later"));
    assert!(grey(
        450,
        "4.7.1 <x@y.test>: Recipient address rejected: try later"
    ));
    assert!(grey(
        450,
        "4.2.0 <x@y.test>: Recipient address rejected: Greylisted, see postgrey"
    ));
    assert!(grey(451, "Greylisting in action, please come back later"));
    assert!(grey(421, "4.7.0 graylisted"));
    assert!(!grey(451, "4.3.0 temporary local problem"));
    assert!(!grey(452, "4.7.1 too many recipients"));
    assert!(!grey(421, "4.7.1 try again"));
}

#[test]
fn enhanced_codes_are_parsed_only_when_they_agree_with_the_reply() {
    let code = |c: u16, text: &str| reply(c, text).enhanced();
    let e = |class, subject, detail| {
        Some(Enhanced {
            class,
            subject,
            detail,
        })
    };
    assert_eq!(code(550, "5.1.1 user unknown"), e(5, 1, 1));
    assert_eq!(code(550, "5.1.10 null MX"), e(5, 1, 10));
    assert_eq!(code(550, "no mailbox (#5.1.1)"), e(5, 1, 1));
    assert_eq!(code(550, "no mailbox (#5.1.1.)"), e(5, 1, 1));
    assert_eq!(code(451, "4.7.1: later"), e(4, 7, 1));
    assert_eq!(code(550, "4.7.1 contradicts the reply code"), None);
    assert_eq!(code(550, "5.1 too short"), None);
    assert_eq!(code(550, "5.1.1.1 too long"), None);
    assert_eq!(code(550, "5.1234.1 subject too long"), None);
    assert_eq!(code(550, "6.1.1 no such class"), None);
    assert_eq!(code(550, ""), None);
    assert_eq!(code(550, "#"), None);
}

#[test]
fn quoted_replies_hide_local_parts_and_stay_short() {
    let quoted = reply(
        550,
        "5.1.1 <john.doe@contoso.test>: rcpt=john.doe@contoso.test unknown\tuser",
    )
    .quoted();
    assert_eq!(
        quoted,
        "550 5.1.1 <***@contoso.test>: rcpt=***@contoso.test unknown user"
    );
    assert_eq!(reply(554, "").quoted(), "554");
    let long = reply(550, &"é".repeat(1000)).quoted();
    assert_eq!(long.chars().count(), MAX_REPLY_CHARS + 1);
    assert!(long.ends_with('…'));
    assert_eq!(redact_addresses("(a@b@c.test)"), "(***@c.test)");
    assert_eq!(redact_addresses("plain"), "plain");
}

#[test]
fn outcome_codes_are_the_documented_ones() {
    let reply = String::from("x");
    let outcomes = [
        (Outcome::Accepted, "smtp.accepted"),
        (
            Outcome::Rejected {
                reply: reply.clone(),
            },
            "smtp.rejected",
        ),
        (
            Outcome::Policy {
                reply: reply.clone(),
            },
            "smtp.policy",
        ),
        (
            Outcome::Temporary {
                reply: reply.clone(),
                greylisted: false,
            },
            "smtp.temporary",
        ),
        (
            Outcome::Temporary {
                reply,
                greylisted: true,
            },
            "smtp.greylisted",
        ),
        (
            Outcome::Unreachable {
                detail: String::new(),
            },
            "smtp.unreachable",
        ),
        (Outcome::SkippedPrivate, "smtp.skipped_private"),
        (
            Outcome::Busy {
                limit: Limit::Address,
            },
            "smtp.busy",
        ),
    ];
    for (outcome, code) in outcomes {
        assert_eq!(outcome.code(), code);
        assert!(codes::ALL.contains(&code));
    }
    let unique: std::collections::HashSet<_> = codes::ALL.iter().collect();
    assert_eq!(unique.len(), codes::ALL.len());
    assert!(codes::ALL.contains(&"smtp.catch_all"));
}

#[test]
fn transient_outcomes_are_cached_briefly() {
    let expiry = ByOutcome {
        settled: Duration::from_secs(3600),
        transient: Duration::from_secs(300),
    };
    let ttl = |outcome| {
        expiry.expire_after_create(
            &String::new(),
            &ProbeResult::without_host(outcome),
            std::time::Instant::now(),
        )
    };
    assert_eq!(ttl(Outcome::Accepted), Some(Duration::from_secs(3600)));
    assert_eq!(
        ttl(Outcome::Rejected {
            reply: String::new()
        }),
        Some(Duration::from_secs(3600))
    );
    assert_eq!(
        ttl(Outcome::Temporary {
            reply: String::new(),
            greylisted: true
        }),
        Some(Duration::from_secs(300))
    );
    assert_eq!(
        ttl(Outcome::Unreachable {
            detail: String::new()
        }),
        Some(Duration::from_secs(300))
    );
}

// ---------------------------------------------------------------------------------------
// Settings and guards
// ---------------------------------------------------------------------------------------

#[test]
fn public_and_private_addresses_are_told_apart() {
    let public = [
        "8.8.8.8",
        "1.1.1.1",
        "100.63.255.255",
        "100.128.0.0",
        "172.32.0.1",
        "192.0.1.1",
        "198.20.0.1",
        "223.255.255.255",
        "2a00:1450:4001::1b",
        "2001:4860:4860::8888",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:808:808::1",
    ];
    let private = [
        "0.0.0.0",
        "0.1.2.3",
        "10.0.0.1",
        "100.64.0.1",
        "127.0.0.1",
        "127.255.0.1",
        "169.254.169.254",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "192.0.0.8",
        "192.0.2.1",
        "198.18.0.1",
        "198.51.100.1",
        "203.0.113.9",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::",
        "::1",
        "::127.0.0.1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",
        "64:ff9b:1::1",
        "2002:a00:1::1",
        "100::1",
        "2001::1",
        "2001:db8::1",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "fec0::1",
        "ff02::1",
    ];
    for ip in public {
        assert!(
            is_public_address(ip.parse().unwrap()),
            "{ip} should be public"
        );
    }
    for ip in private {
        assert!(
            !is_public_address(ip.parse().unwrap()),
            "{ip} should not be public"
        );
    }
    assert!(!is_public_address(IpAddr::V6(Ipv6Addr::LOCALHOST)));
}

#[test]
fn helo_and_sender_are_sanitised() {
    assert_eq!(
        client_id("mail.example.test"),
        ClientId::Domain("mail.example.test".into())
    );
    assert_eq!(
        client_id(" 192.0.2.1 "),
        ClientId::Ipv4(Ipv4Addr::new(192, 0, 2, 1))
    );
    assert_eq!(client_id("::1"), ClientId::Ipv6(Ipv6Addr::LOCALHOST));
    let long_label = "a".repeat(64);
    for bad in [
        "",
        "evil\r\nRCPT TO:<x@y>",
        "a..b",
        "under_score.test",
        &long_label,
    ] {
        assert_eq!(
            client_id(bad),
            ClientId::Domain(DEFAULT_HELO.into()),
            "{bad:?}"
        );
    }
    assert_eq!(
        reverse_path("probe@example.test").map(|a| a.to_string()),
        Some("probe@example.test".to_string())
    );
    assert_eq!(reverse_path(""), None);
    assert_eq!(reverse_path("not an address"), None);
    assert_eq!(reverse_path("a@b.test>\r\nDATA"), None);
}

#[test]
fn random_local_parts_differ_and_are_plain() {
    let a = random_local_part();
    let b = random_local_part();
    assert_ne!(a, b);
    assert_eq!(a.len(), 19);
    assert!(a.starts_with("lc-"));
    assert!(
        a[3..]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
        "{a}"
    );
}

#[test]
fn clip_cuts_on_character_boundaries() {
    assert_eq!(clip("abc", 3), "abc");
    assert_eq!(clip("abcd", 3), "abc…");
    assert_eq!(clip("ééé", 2), "éé…");
    assert_eq!(clip("", 0), "");
}

#[test]
fn defaults_are_the_documented_ones() {
    let cfg = ProbeConfig::default();
    assert_eq!(cfg.port, 25);
    assert!(!cfg.allow_private);
    assert_eq!(cfg.per_domain_concurrency, 2);
    assert_eq!(cfg.per_ip_concurrency, 4);
    assert_eq!(cfg.max_sessions, 64);
    assert_eq!(cfg.slot_wait, Duration::from_secs(10));
    assert_eq!(cfg.max_hosts, 3);
    assert_eq!(cfg.helo_name, DEFAULT_HELO);
    assert_eq!(cfg.mail_from, DEFAULT_MAIL_FROM);
    assert!(cfg.transient_ttl <= cfg.cache_ttl);
}

// ---------------------------------------------------------------------------------------
// Through a SOCKS5 proxy
// ---------------------------------------------------------------------------------------

/// Settings that send every session through the proxy at `url`.
fn via(url: &str, cfg: ProbeConfig) -> ProbeConfig {
    ProbeConfig {
        proxy: Some(SocksProxy::parse(url).unwrap()),
        ..cfg
    }
}

/// Probes `local@example.test`, whose one exchanger is `mx1.example.test` at 127.0.0.1,
/// bypassing the caches; also whether the result may be shared. Bounded, so that a hang
/// fails the test.
async fn probe_mx1(cfg: ProbeConfig, local: &str) -> (ProbeResult, bool) {
    let prober = prober(cfg, &["mx1.example.test"]);
    let address = format!("{local}@example.test");
    let hosts = mx(&["mx1.example.test"]);
    let probe = prober.probe_uncached(&address, "example.test", &hosts);
    tokio::time::timeout(Duration::from_secs(60), probe)
        .await
        .expect("the probe ends")
}

/// The unreachable outcome of `mx1.example.test` for `why`.
fn mx1_unreachable(why: &str) -> Outcome {
    Outcome::Unreachable {
        detail: format!("mx1.example.test: {why}"),
    }
}

#[tokio::test]
async fn a_proxy_that_cannot_be_reached_is_named_and_its_result_not_shared() {
    let responder = start(Script::new()).await;
    let url = format!("socks5://127.0.0.1:{}", closed_port().await);
    let (result, shareable) = probe_mx1(via(&url, config(responder.port())), "lee").await;
    assert_eq!(
        result.outcome,
        mx1_unreachable("the SOCKS5 proxy could not be reached")
    );
    assert!(
        !shareable,
        "a proxy's failure says nothing about the exchanger"
    );
    assert_eq!(responder.sessions(), 0);
}

#[tokio::test]
async fn a_refusing_proxy_is_asked_for_the_checked_address_and_named() {
    use crate::testkit::socks_server::{Asked, SocksServer, NOT_ALLOWED};
    let proxy = SocksServer::refusing(NOT_ALLOWED).await.unwrap();
    let (result, shareable) = probe_mx1(via(&proxy.url(), config(2525)), "max").await;
    assert_eq!(
        result.outcome,
        mx1_unreachable("the SOCKS5 proxy refused to connect to it")
    );
    assert!(!shareable);
    assert_eq!(
        proxy.asked(),
        [Asked::Addr(SocketAddr::new(LOOPBACK, 2525))],
        "the proxy is asked for the address the probe resolved, never the name"
    );
}

#[tokio::test]
async fn a_silent_proxy_costs_the_connect_timeout_not_a_hang() {
    // Connections are queued by the kernel and never served: no SOCKS5 reply, ever.
    let silent = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let url = format!("socks5://{}", silent.local_addr().unwrap());
    let cfg = ProbeConfig {
        connect_timeout: Duration::from_millis(300),
        ..via(&url, config(25))
    };
    let (result, _) = probe_mx1(cfg, "ned").await;
    assert_eq!(
        result.outcome,
        mx1_unreachable("the SOCKS5 proxy did not connect to it in time")
    );
}

#[tokio::test]
async fn through_a_relaying_proxy_the_probe_gets_its_answer() {
    use crate::testkit::socks_server::{Asked, SocksServer};
    let responder = start(
        Script::new()
            .rcpt_reply("olga", "250 2.1.5 ok")
            .default_rcpt_reply("550 5.1.1 user unknown"),
    )
    .await;
    let proxy = SocksServer::relaying_to(responder.addr()).await.unwrap();
    // Port 25 on loopback: only the proxy's relay reaches the responder.
    let (result, shareable) = probe_mx1(via(&proxy.url(), config(25)), "olga").await;
    assert_eq!(result.outcome, Outcome::Accepted);
    assert!(shareable);
    assert_eq!(result.catch_all_state, CatchAll::No);
    assert_eq!(responder.sessions(), 1);
    assert_eq!(responder.quits(), 1);
    assert_eq!(proxy.asked(), [Asked::Addr(SocketAddr::new(LOOPBACK, 25))]);
}

#[tokio::test]
async fn a_proxy_that_wants_a_login_gets_ours_and_a_wrong_one_is_named() {
    use crate::testkit::socks_server::{Asked, SocksServer};
    let responder = start(Script::new().rcpt_reply("olga", "250 2.1.5 ok")).await;
    let proxy = SocksServer::relaying_with_login(responder.addr(), "probe", "s3cret")
        .await
        .unwrap();
    let port = proxy.addr().port();
    let with = |userinfo: &str| format!("socks5://{userinfo}127.0.0.1:{port}");

    let (result, shareable) = probe_mx1(via(&with("probe:s3cret@"), config(25)), "olga").await;
    assert_eq!(result.outcome, Outcome::Accepted);
    assert!(shareable);
    assert_eq!(proxy.asked(), [Asked::Addr(SocketAddr::new(LOOPBACK, 25))]);

    // A wrong password, and no credentials at all: the proxy is named, nothing is asked of
    // it, and the result is this replica's alone.
    for userinfo in ["probe:wrong@", ""] {
        let (result, shareable) = probe_mx1(via(&with(userinfo), config(25)), "olga").await;
        assert_eq!(
            result.outcome,
            mx1_unreachable("the SOCKS5 proxy refused our credentials"),
            "{userinfo}"
        );
        assert!(!shareable);
    }
    assert_eq!(proxy.asked().len(), 1);
    assert_eq!(responder.sessions(), 1);
}

#[test]
fn a_provider_s_own_proxy_or_direct_takes_the_place_of_the_default() {
    let entry = |text: &str| ProviderProxy::parse(text).unwrap();
    let cfg = ProbeConfig {
        proxy: Some(SocksProxy::parse("socks5://10.0.0.1:1080").unwrap()),
        provider_proxies: vec![
            entry("google=socks5://10.0.0.2:1080"),
            entry("microsoft=direct"),
            entry("google=socks5://10.0.0.3:1080"),
        ],
        ..ProbeConfig::default()
    };
    let shown = |provider| cfg.proxy_for(provider).map(ToString::to_string);
    // The last entry of a provider wins, as a later setting does.
    assert_eq!(
        shown(Some("google")).as_deref(),
        Some("socks5://10.0.0.3:1080")
    );
    assert_eq!(shown(Some("microsoft")), None);
    assert_eq!(
        shown(Some("yahoo")).as_deref(),
        Some("socks5://10.0.0.1:1080")
    );
    assert_eq!(shown(None).as_deref(), Some("socks5://10.0.0.1:1080"));
}

// ---------------------------------------------------------------------------------------
// Provider timeouts
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_known_provider_s_exchangers_get_its_own_timeouts() {
    let gateway = "eu-smtp-inbound-1.mimecast.com";
    let cfg = impatient(25);
    // Two addresses: the probe dials each address once, whatever names point at it.
    let resolver = StaticResolver::new().with(gateway, &[LOOPBACK]).with(
        "mx.example.test",
        &[IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))],
    );
    let prober = Prober::new(cfg.clone(), Arc::new(resolver));
    let targets = prober
        .targets(&mx(&[gateway, "mx.example.test"]))
        .await
        .unwrap();
    let waits: Vec<Waits> = targets.iter().map(|t| prober.waits(&t.timeouts)).collect();
    assert_eq!(
        waits,
        [
            Waits {
                connect: cfg.connect_timeout,
                greeting: Duration::from_secs(30),
                command: Duration::from_secs(30),
            },
            Waits {
                connect: cfg.connect_timeout,
                greeting: cfg.command_timeout,
                command: cfg.command_timeout,
            },
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Greylisting retried within the call's deadline
// ---------------------------------------------------------------------------------------

#[test]
fn the_retry_waits_what_the_greylisting_reply_suggests() {
    for (reply, secs) in [
        ("451 4.7.1 greylisted, try again in 1 second", 1),
        ("451 4.7.1 Greylisted for 2 minutes", 120),
        ("450 4.2.0 please retry in 30s", 30),
        ("451 4.7.1 greylisted, see https://example.test/help", 2),
    ] {
        assert_eq!(greylist_delay(reply), Duration::from_secs(secs), "{reply}");
    }
}

/// A responder that greylists the first session, suggesting a retry after `wait`.
async fn greylisting_once(wait: &str) -> SmtpResponder {
    let reply = format!("451 4.7.1 greylisted, try again in {wait}");
    start(
        Script::new()
            .rcpt_reply("pia", "250 2.1.5 ok")
            .default_rcpt_reply("550 5.1.1 user unknown")
            .greylist_first_sessions(1, &reply),
    )
    .await
}

#[tokio::test]
async fn a_greylisted_mailbox_is_asked_again_when_the_deadline_allows() {
    let responder = greylisting_once("1 second").await;
    let prober = prober(config(responder.port()), &["mx1.example.test"]);
    let hosts = mx(&["mx1.example.test"]);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let probe = prober.probe("pia@example.test", "example.test", &hosts);
    let result = within_deadline(deadline, probe).await;
    assert_eq!(result.outcome, Outcome::Accepted);
    assert_eq!(result.catch_all_state, CatchAll::No);
    assert_eq!(responder.sessions(), 2);
}

#[tokio::test]
async fn a_greylisted_mailbox_is_not_asked_again_past_the_deadline_or_without_one() {
    let responder = greylisting_once("1 minute").await;
    let prober = prober(config(responder.port()), &["mx1.example.test"]);
    let hosts = mx(&["mx1.example.test"]);
    // A minute's wait does not fit in ten seconds.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let probe = prober.probe("pia@example.test", "example.test", &hosts);
    let result = within_deadline(deadline, probe).await;
    assert_eq!(result.outcome.code(), codes::GREYLISTED, "{result:?}");
    assert_eq!(responder.sessions(), 1);

    // Twenty seconds fit in a minute, but the slots would be held idle too long.
    let responder = greylisting_once("20 seconds").await;
    let prober = super::tests::prober(config(responder.port()), &["mx1.example.test"]);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let probe = prober.probe("pia@example.test", "example.test", &hosts);
    let result = within_deadline(deadline, probe).await;
    assert_eq!(result.outcome.code(), codes::GREYLISTED, "{result:?}");
    assert_eq!(responder.sessions(), 1);

    // No deadline (a batch): no retry either; the verdict's retry_after says when.
    let responder = greylisting_once("1 second").await;
    let prober = super::tests::prober(config(responder.port()), &["mx1.example.test"]);
    let result = prober
        .probe("pia@example.test", "example.test", &hosts)
        .await;
    assert_eq!(result.outcome.code(), codes::GREYLISTED, "{result:?}");
    assert_eq!(responder.sessions(), 1);
}
