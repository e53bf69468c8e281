//! The SMTP mailbox probe: asks a domain's mail exchangers whether they would take mail
//! for an address, without ever sending any.
//!
//! Off by default (`--smtp-probe`). Through lettre's SMTP client the probe connects to the
//! MX hosts in preference order (the next one when a host refuses the connection or times
//! out), says EHLO with a configured name, MAIL FROM a configured address, RCPT TO the
//! address, reads the reply and says QUIT; it never sends DATA. The reply is sorted into
//! an [`Outcome`]: only a permanent rejection of the mailbox itself
//! ([`Outcome::Rejected`]) may make a verdict INVALID. A refusal of us (policy), a
//! temporary failure or an unreachable exchanger says nothing about the mailbox.
//!
//! When a mailbox is accepted, a random mailbox at the same domain is asked for too, once
//! per domain: if the server takes that as well, the domain is a catch-all and acceptance
//! proves little.
//!
//! Guards, each where it is applied: exchangers that resolve to loopback, private,
//! link-local or other non-public addresses are never dialled unless `allow_private` is
//! set (SSRF); every connect and every command has a timeout, and a whole session a time
//! limit of its own; replies are read through a byte budget per session ([`Capped`]);
//! concurrent sessions are bounded per domain, per exchanger address and for the process,
//! and a probe that finds no free slot within `slot_wait` gives up ([`Outcome::Busy`]);
//! results and catch-all findings are cached. What callers see says what happened in
//! plain words; the dialled address and the socket's error go to the logs only.

use std::collections::{HashMap, HashSet};
use std::fmt::Display;
use std::future::Future;
use std::hash::Hash;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream};
use lettre::transport::smtp::commands::{Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailParameter};
use lettre::transport::smtp::response::Severity;
use lettre::Address;
use moka::future::Cache;
use moka::Expiry;
use rand::distr::Alphanumeric;
use rand::Rng;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OnceCell, OwnedSemaphorePermit, Semaphore};
use tokio::time::{timeout, timeout_at};

use crate::metrics;
use crate::shared_cache::{Kind, SharedCache};

/// Reason codes of the SMTP probe, one per [`Outcome`] plus the catch-all flag.
pub mod codes {
    /// The server accepted the mailbox (250 to RCPT TO).
    pub const ACCEPTED: &str = "smtp.accepted";
    /// A permanent rejection of the mailbox (550/551/553, or RFC 3463 5.1.x): INVALID.
    pub const REJECTED: &str = "smtp.rejected";
    /// The server refused us, not the mailbox (5.7.x, a blocklist, 554): says nothing.
    pub const POLICY: &str = "smtp.policy";
    /// A temporary failure (4xx): the DNS verdict stands; retry later.
    pub const TEMPORARY: &str = "smtp.temporary";
    /// Greylisting (450/451 with 4.7.1, or a reply that says so): retry later.
    pub const GREYLISTED: &str = "smtp.greylisted";
    /// The domain accepts any mailbox: acceptance proves little.
    pub const CATCH_ALL: &str = "smtp.catch_all";
    /// No exchanger could be reached (refused, timed out, no address).
    pub const UNREACHABLE: &str = "smtp.unreachable";
    /// Every exchanger resolves to a loopback or private address: not probed (SSRF guard).
    pub const SKIPPED_PRIVATE: &str = "smtp.skipped_private";
    /// Not probed: the session limits (per domain, per exchanger address or of the
    /// process) stayed full for the whole wait; retry later.
    pub const BUSY: &str = "smtp.busy";

    /// Every code above, for the table in docs/verdicts.md and for tests that keep codes
    /// unique.
    pub const ALL: &[&str] = &[
        ACCEPTED,
        REJECTED,
        POLICY,
        TEMPORARY,
        GREYLISTED,
        CATCH_ALL,
        UNREACHABLE,
        SKIPPED_PRIVATE,
        BUSY,
    ];
}

/// The EHLO name used when none is configured, or the configured one is not a host name.
pub const DEFAULT_HELO: &str = "leadcheck.localhost";
/// The MAIL FROM address used when none is configured.
pub const DEFAULT_MAIL_FROM: &str = "probe@leadcheck.localhost";

/// How many addresses of one exchanger are tried: a dual-stack host whose IPv6 address
/// is unreachable from here still gets its IPv4 address tried.
const ADDRESSES_PER_HOST: usize = 2;
/// Most mailbox results kept in the cache.
const MAILBOX_CACHE_CAPACITY: u64 = 100_000;
/// Most domains whose catch-all finding is kept in the cache.
const DOMAIN_CACHE_CAPACITY: u64 = 20_000;
/// Longest lifetime of a cache entry, whatever is configured: moka refuses absurd ones.
const MAX_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// Longest server reply quoted in an outcome, in characters.
const MAX_REPLY_CHARS: usize = 300;
/// Longest `Unreachable` detail, in characters.
const MAX_DETAIL_CHARS: usize = 500;
/// Most bytes read from one exchanger in one session, every reply included. A real
/// session's replies come to a few hundred bytes; lettre reads a reply line up to its
/// newline before it checks the line's length, so this is what bounds a server that never
/// sends one.
pub const MAX_SESSION_BYTES: usize = 32 * 1024;
/// A session with one exchanger, from the greeting to QUIT, lasts at most this many
/// command timeouts: a server that drips each reply just within the command timeout
/// cannot hold a session (and its slots) for the sum of them.
const SESSION_TIMEOUTS: u32 = 3;

/// Settings of the SMTP probe; [`Default`] gives the values documented on each field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeConfig {
    /// The name sent with EHLO. Default [`DEFAULT_HELO`]; in production set the host's
    /// real name, one whose PTR and A records agree, or many servers refuse the probe.
    pub helo_name: String,
    /// The MAIL FROM address. Default [`DEFAULT_MAIL_FROM`]; in production set an address
    /// of a domain that exists and accepts bounces, or many servers refuse the probe.
    /// Empty means the null reverse-path `<>`.
    pub mail_from: String,
    /// The exchangers' port. Default 25; tests point it at a responder on loopback.
    pub port: u16,
    /// Longest wait for a TCP connection to be accepted. Default 5 s.
    pub connect_timeout: Duration,
    /// Longest wait for any one reply (the greeting, EHLO, MAIL, RCPT, RSET, QUIT).
    /// Default 10 s: some servers delay their greeting on purpose to catch impatient
    /// spam software.
    pub command_timeout: Duration,
    /// Let the probe dial exchangers that resolve to loopback, private, link-local or
    /// other non-public addresses. Default false (SSRF guard); tests set it.
    pub allow_private: bool,
    /// Most concurrent SMTP sessions with one domain's exchangers. Default 2; at least 1.
    pub per_domain_concurrency: usize,
    /// Most concurrent SMTP sessions with one exchanger address, whatever the domains
    /// whose MX point at it (hosted mail serves thousands of domains from a few
    /// addresses). Default 4; at least 1.
    pub per_ip_concurrency: usize,
    /// Most concurrent SMTP sessions of the process. Default 64; at least 1.
    pub max_sessions: usize,
    /// Longest wait for a free session slot (of the domain, then of the exchanger address
    /// and the process); past it the address is not probed ([`Outcome::Busy`]). Default
    /// 10 s.
    pub slot_wait: Duration,
    /// How long a mailbox result, and a domain's catch-all finding, is cached. Default 1 h.
    pub cache_ttl: Duration,
    /// How long a temporary or unreachable result is cached (never longer than
    /// `cache_ttl`). Default 5 min: greylisting servers want a retry after a few minutes.
    pub transient_ttl: Duration,
    /// How many MX hosts are tried, most preferred first. Default 3.
    pub max_hosts: usize,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        ProbeConfig {
            helo_name: DEFAULT_HELO.to_string(),
            mail_from: DEFAULT_MAIL_FROM.to_string(),
            port: 25,
            connect_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(10),
            allow_private: false,
            per_domain_concurrency: 2,
            per_ip_concurrency: 4,
            max_sessions: 64,
            slot_wait: Duration::from_secs(10),
            cache_ttl: Duration::from_secs(3600),
            transient_ttl: Duration::from_secs(300),
            max_hosts: 3,
        }
    }
}

/// Resolves an exchanger host name to addresses (the validator passes its DNS layer;
/// tests pass a fixed map).
pub trait HostResolver: Send + Sync {
    /// Returns the addresses of `host`, empty when it has none or the lookup failed.
    fn resolve<'a>(
        &'a self,
        host: &'a str,
    ) -> Pin<Box<dyn Future<Output = Vec<IpAddr>> + Send + 'a>>;
}

/// What the probe learnt about one mailbox.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    /// The server accepted the mailbox (2xx to RCPT TO).
    Accepted,
    /// A permanent rejection of the mailbox (550/551/553, or RFC 3463 5.1.x): the verdict
    /// is INVALID. `reply` is the server's reply, addresses in it redacted.
    Rejected {
        /// The server's reply, such as `550 5.1.1 user unknown`.
        reply: String,
    },
    /// A rejection of us, not of the mailbox (5.7.x, a blocklisted IP, 554 at the
    /// greeting, a refused EHLO or MAIL FROM): it says nothing about the mailbox.
    Policy {
        /// The server's reply.
        reply: String,
    },
    /// A temporary failure (4xx): the DNS verdict stands, with a hint to retry later.
    Temporary {
        /// The server's reply.
        reply: String,
        /// The reply looks like greylisting (450/451 with 4.7.1, or says so): a retry
        /// after a few minutes will likely get an answer.
        greylisted: bool,
    },
    /// No exchanger answered: every one refused the connection, timed out, had no
    /// address or broke off the conversation.
    Unreachable {
        /// What happened with each exchanger.
        detail: String,
    },
    /// Every exchanger resolved only to loopback, private, link-local or other
    /// non-public addresses and `allow_private` is off: nothing was dialled (SSRF guard).
    SkippedPrivate,
    /// No session slot came free within `slot_wait`: nothing was asked. Never cached:
    /// it describes this replica's load, not the mailbox.
    Busy {
        /// The limit that stayed full.
        limit: Limit,
    },
}

/// A bound on concurrent SMTP sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Limit {
    /// Sessions with one domain's exchangers (`per_domain_concurrency`).
    Domain,
    /// Sessions with one exchanger address (`per_ip_concurrency`).
    Address,
    /// Sessions of the process (`max_sessions`).
    Process,
}

impl Limit {
    /// Returns the metric label of the limit.
    pub fn label(self) -> &'static str {
        match self {
            Limit::Domain => "domain",
            Limit::Address => "ip",
            Limit::Process => "global",
        }
    }
}

impl Outcome {
    /// Returns the reason code of this outcome (see [`codes`]).
    pub fn code(&self) -> &'static str {
        match self {
            Outcome::Accepted => codes::ACCEPTED,
            Outcome::Rejected { .. } => codes::REJECTED,
            Outcome::Policy { .. } => codes::POLICY,
            Outcome::Temporary {
                greylisted: true, ..
            } => codes::GREYLISTED,
            Outcome::Temporary { .. } => codes::TEMPORARY,
            Outcome::Unreachable { .. } => codes::UNREACHABLE,
            Outcome::SkippedPrivate => codes::SKIPPED_PRIVATE,
            Outcome::Busy { .. } => codes::BUSY,
        }
    }

    /// Tells whether the outcome may change soon, so that it is cached only briefly.
    fn is_transient(&self) -> bool {
        matches!(
            self,
            Outcome::Temporary { .. } | Outcome::Unreachable { .. }
        )
    }
}

/// The result of probing one mailbox.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProbeResult {
    /// What the exchanger said about the mailbox.
    pub outcome: Outcome,
    /// The mailbox was accepted and so was a random mailbox at the same domain: the
    /// domain accepts anything, and acceptance proves little.
    pub catch_all: bool,
    /// The exchanger that answered, when one did.
    pub host: Option<String>,
}

impl ProbeResult {
    /// A result no exchanger gave.
    fn without_host(outcome: Outcome) -> ProbeResult {
        ProbeResult {
            outcome,
            catch_all: false,
            host: None,
        }
    }
}

/// Probes mailboxes over SMTP: one per process, shared by every request.
///
/// It holds the caches (mailbox results keyed by the lower-cased address; catch-all
/// findings per domain) and the session limits, so every caller shares them.
pub struct Prober {
    cfg: ProbeConfig,
    helo: ClientId,
    /// The reverse-path; `None` is the null reverse-path `<>`.
    from: Option<Address>,
    resolver: Arc<dyn HostResolver>,
    mailboxes: Cache<String, ProbeResult>,
    /// Per domain, the catch-all finding, made at most once per cache lifetime: concurrent
    /// sessions with the same domain wait for the first one's answer.
    catch_alls: Cache<String, Arc<OnceCell<bool>>>,
    /// Sessions per domain: a batch of leads at one company must not open dozens of
    /// sessions with its exchanger at once, which looks like an attack and gets our
    /// address blocked.
    domains: KeyedLimits<String>,
    /// Sessions per exchanger address: many domains may point at one host (hosted mail,
    /// or a zone made to aim the probe at a victim), and it sees one client.
    addresses: KeyedLimits<IpAddr>,
    /// Sessions of the process: sockets, buffers and time are finite.
    sessions: Arc<Semaphore>,
    /// How long results are kept, here and in Redis.
    lifetimes: ByOutcome,
    /// The Redis tier shared by replicas: mailbox results (HMAC-keyed) and catch-all
    /// findings, read on a local miss and written after a session.
    shared: Option<Arc<SharedCache>>,
}

/// An exchanger address to dial.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    /// The MX host name, as the outcome reports it.
    host: String,
    /// The address and port dialled.
    addr: SocketAddr,
}

impl Prober {
    /// Makes a prober from its settings and the resolver of exchanger names.
    pub fn new(cfg: ProbeConfig, resolver: Arc<dyn HostResolver>) -> Prober {
        let lifetimes = ByOutcome::new(&cfg);
        Prober {
            helo: client_id(&cfg.helo_name),
            from: reverse_path(&cfg.mail_from),
            resolver,
            mailboxes: Cache::builder()
                .max_capacity(MAILBOX_CACHE_CAPACITY)
                .expire_after(lifetimes)
                .build(),
            catch_alls: Cache::builder()
                .max_capacity(DOMAIN_CACHE_CAPACITY)
                .time_to_live(lifetimes.settled)
                .build(),
            domains: KeyedLimits::new(cfg.per_domain_concurrency),
            addresses: KeyedLimits::new(cfg.per_ip_concurrency),
            sessions: Arc::new(Semaphore::new(
                cfg.max_sessions.clamp(1, Semaphore::MAX_PERMITS),
            )),
            lifetimes,
            cfg,
            shared: None,
        }
    }

    /// Shares results with other replicas through Redis.
    pub fn with_shared(mut self, shared: Option<Arc<SharedCache>>) -> Prober {
        self.shared = shared;
        self
    }

    /// Probes `address` at `domain` (its ASCII form) through `mx_hosts`, most preferred
    /// first.
    ///
    /// Never panics; every wait is bounded: by `slot_wait` for a free session slot, by
    /// the connect and command timeouts and the session's time limit for each exchanger.
    /// Concurrent probes of one address make one session.
    pub async fn probe(&self, address: &str, domain: &str, mx_hosts: &[String]) -> ProbeResult {
        let address = address.trim();
        let key = address.to_lowercase();
        let found = self
            .mailboxes
            .try_get_with_by_ref(&key, async {
                if let Some(shared) = &self.shared {
                    if let Some((result, _)) = shared.get(Kind::Mailbox, &key).await {
                        return Ok(result);
                    }
                }
                let result = self.probe_uncached(address, domain, mx_hosts).await;
                // Busy is this replica's load: neither cached nor shared, so that the
                // next request for the address probes it.
                if matches!(result.outcome, Outcome::Busy { .. }) {
                    return Err(result);
                }
                // A skip by the SSRF guard is this replica's configuration, not a finding.
                if let Some(shared) = &self.shared {
                    if result.outcome != Outcome::SkippedPrivate {
                        let ttl = self.lifetimes.of(&result.outcome);
                        shared.put(Kind::Mailbox, &key, &result, ttl);
                    }
                }
                Ok(result)
            })
            .await;
        found.unwrap_or_else(|busy| ProbeResult::clone(&busy))
    }

    /// Resolves the exchangers, drops the ones the SSRF guard forbids and probes the rest.
    async fn probe_uncached(
        &self,
        address: &str,
        domain: &str,
        mx_hosts: &[String],
    ) -> ProbeResult {
        let result = match self.targets(mx_hosts).await {
            Ok(targets) => self.probe_targets(address, domain, &targets).await,
            Err(outcome) => ProbeResult::without_host(outcome),
        };
        tracing::debug!(
            domain,
            host = result.host.as_deref().unwrap_or(""),
            outcome = result.outcome.code(),
            catch_all = result.catch_all,
            "smtp probe"
        );
        result
    }

    /// Returns the addresses to dial, in preference order, or the outcome when there is
    /// none: [`Outcome::SkippedPrivate`] when the guard removed them all.
    async fn targets(&self, mx_hosts: &[String]) -> Result<Vec<Target>, Outcome> {
        let mut seen_hosts = HashSet::new();
        let mut seen_addrs = HashSet::new();
        let mut targets = Vec::new();
        let mut skipped_private = false;
        let mut misses = Vec::new();
        let hosts = mx_hosts
            .iter()
            .map(|host| host.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|host| !host.is_empty() && seen_hosts.insert(host.clone()))
            .take(self.cfg.max_hosts.max(1));
        for host in hosts {
            // The resolver has its own timeouts; this bound keeps a misbehaving one from
            // holding the probe forever.
            let ips = match timeout(self.cfg.command_timeout, self.resolver.resolve(&host)).await {
                Ok(ips) => ips,
                Err(_) => {
                    misses.push(format!("{host}: address lookup timed out"));
                    continue;
                }
            };
            if ips.is_empty() {
                misses.push(format!("{host}: no address"));
                continue;
            }
            let mut usable = 0;
            for ip in ips {
                // The SSRF guard: an exchanger name is chosen by whoever controls the
                // domain of the address, so it may point at our own network. We dial
                // the address we checked, never the name, so nothing can re-resolve it.
                if !self.cfg.allow_private && !is_public_address(ip) {
                    skipped_private = true;
                    continue;
                }
                let addr = SocketAddr::new(ip, self.cfg.port);
                if usable < ADDRESSES_PER_HOST && seen_addrs.insert(addr) {
                    targets.push(Target {
                        host: host.clone(),
                        addr,
                    });
                    usable += 1;
                }
            }
            if usable == 0 {
                misses.push(format!("{host}: no public address"));
            }
        }
        if !targets.is_empty() {
            Ok(targets)
        } else if skipped_private {
            Err(Outcome::SkippedPrivate)
        } else if misses.is_empty() {
            Err(Outcome::Unreachable {
                detail: "the domain has no mail exchanger to probe".to_string(),
            })
        } else {
            Err(Outcome::Unreachable {
                detail: clip(&misses.join("; "), MAX_DETAIL_CHARS),
            })
        }
    }

    /// Probes `address` through `targets` in order, within the session limits.
    async fn probe_targets(&self, address: &str, domain: &str, targets: &[Target]) -> ProbeResult {
        let Ok(rcpt) = address.parse::<Address>() else {
            return ProbeResult::without_host(Outcome::Unreachable {
                detail: "not probed: the address cannot be written in an SMTP command".to_string(),
            });
        };
        let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
        // The domain's slot is held across every exchanger tried; each session also holds
        // a slot of its exchanger's address and one of the process. Waiting is bounded:
        // past `slot_wait` the probe gives up, flagged, rather than queue without end.
        let Some(_domain_slot) = self
            .domains
            .acquire(domain.clone(), self.slot_deadline())
            .await
        else {
            return busy(Limit::Domain);
        };
        let mut failures = Vec::new();
        let mut deferred = None;
        for target in targets {
            let _session_slots = match self.session_slots(target.addr.ip()).await {
                Ok(slots) => slots,
                // An answer already had says more than "busy".
                Err(limit) => return deferred.unwrap_or_else(|| busy(limit)),
            };
            match self.session(target, &rcpt, &domain).await {
                Session::Answered { outcome, catch_all } => {
                    return ProbeResult {
                        outcome,
                        catch_all,
                        host: Some(target.host.clone()),
                    };
                }
                Session::Deferred(outcome) => {
                    failures.push(format!("{}: temporarily unavailable", target.host));
                    deferred.get_or_insert(ProbeResult {
                        outcome,
                        catch_all: false,
                        host: Some(target.host.clone()),
                    });
                }
                Session::Failed(broke) => {
                    // The address and the socket's own words are for operators only.
                    tracing::debug!(
                        host = %target.host,
                        ip = %target.addr.ip(),
                        failure = %broke.failure,
                        error = %redact_text(&broke.error),
                        "smtp session failed"
                    );
                    failures.push(format!("{}: {}", target.host, broke.failure));
                }
            }
        }
        deferred.unwrap_or_else(|| {
            ProbeResult::without_host(Outcome::Unreachable {
                detail: clip(&failures.join("; "), MAX_DETAIL_CHARS),
            })
        })
    }

    /// Returns when the wait for a session slot that starts now must end.
    fn slot_deadline(&self) -> tokio::time::Instant {
        tokio::time::Instant::now() + self.cfg.slot_wait
    }

    /// Waits, at most `slot_wait` in all, for a session slot with the exchanger address
    /// `ip` and then one of the process; `Err` names the limit that stayed full.
    async fn session_slots(
        &self,
        ip: IpAddr,
    ) -> Result<(OwnedSemaphorePermit, OwnedSemaphorePermit), Limit> {
        let deadline = self.slot_deadline();
        let address = self
            .addresses
            .acquire(ip, deadline)
            .await
            .ok_or(Limit::Address)?;
        let process = slot(self.sessions.clone(), deadline)
            .await
            .ok_or(Limit::Process)?;
        Ok((address, process))
    }

    /// Holds one SMTP session with one exchanger address and closes it politely.
    async fn session(&self, target: &Target, rcpt: &Address, domain: &str) -> Session {
        let wait = self.cfg.command_timeout;
        let tcp = match timeout(self.cfg.connect_timeout, TcpStream::connect(target.addr)).await {
            Err(_) => return Session::failed(Failure::ConnectTimeout, "connect timed out"),
            Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => {
                return Session::failed(Failure::Refused, e);
            }
            Ok(Err(e)) => return Session::failed(Failure::ConnectFailed, e),
            Ok(Ok(tcp)) => tcp,
        };
        let deadline = tokio::time::Instant::now() + wait.saturating_mul(SESSION_TIMEOUTS);
        // lettre keeps the socket when it fails to connect, so a refused greeting could
        // not be answered with QUIT, as RFC 5321 section 3.1 asks. A second handle on
        // the same socket can still say it.
        let (tcp, mut spare) = match two_handles(tcp) {
            Ok(pair) => pair,
            Err(e) => return Session::failed(Failure::ConnectFailed, e),
        };
        // A host that accepts the connection and then says nothing (a tarpit, an
        // overloaded server) costs one command timeout, not a hang.
        match timeout(wait, tcp.readable()).await {
            Err(_) => {
                send_quit(&spare);
                return Session::failed(Failure::NoGreeting, "no greeting");
            }
            Ok(Err(e)) => return Session::failed(Failure::Dropped, e),
            Ok(Ok(())) => {}
        }
        let spent = Arc::new(AtomicBool::new(false));
        let capped = Capped::new(tcp, MAX_SESSION_BYTES, spent.clone());
        // lettre reads the greeting and says EHLO in one call: two replies, two timeouts.
        let handshake = AsyncSmtpConnection::connect_with_transport(Box::new(capped), &self.helo);
        let smtp = match timeout(wait.saturating_mul(2), handshake).await {
            Err(_) => {
                send_quit(&spare);
                return Session::failed(Failure::ReplyTimeout, "timed out in the greeting or EHLO");
            }
            Ok(Err(e)) => {
                // A refused greeting: say QUIT ourselves. A refused EHLO: lettre has said
                // it already and shut the socket, so this write fails and costs nothing.
                // A server that sent too much or garbage is not waited for.
                let failure = Failure::of(&e, &spent);
                let reply = Reply::from_error(&e);
                if reply.is_some() {
                    quit_and_wait(&mut spare, wait).await;
                } else {
                    send_quit(&spare);
                }
                return match reply {
                    Some(reply) => match classify(Stage::Handshake, &reply) {
                        // A 421 greeting means this host is unavailable for now (RFC 5321
                        // section 3.8); the next exchanger may answer.
                        outcome @ Outcome::Temporary { .. } => Session::Deferred(outcome),
                        outcome => Session::Answered {
                            outcome,
                            catch_all: false,
                        },
                    },
                    None => Session::failed(failure, e),
                };
            }
            Ok(Ok(smtp)) => smtp,
        };
        let mut conn = Conn {
            smtp,
            broken: false,
            spent,
        };
        let session = match timeout_at(deadline, self.transaction(&mut conn, rcpt, domain)).await {
            Ok(session) => session,
            Err(_) => {
                conn.broken = true;
                Session::failed(Failure::TooSlow, "the session's time limit passed")
            }
        };
        if conn.broken {
            // The conversation is out of step (a timeout mid-command): a reply to QUIT
            // could not be told apart from a late one, so say it and do not wait.
            send_quit(&spare);
        } else {
            let quit_by = deadline.min(tokio::time::Instant::now() + wait);
            let _ = timeout_at(quit_by, conn.smtp.quit()).await;
        }
        session
    }

    /// Says MAIL FROM and RCPT TO, and on acceptance finds out whether the domain is a
    /// catch-all. Never DATA.
    async fn transaction(&self, conn: &mut Conn, rcpt: &Address, domain: &str) -> Session {
        let Some(params) = self.mail_parameters(conn, rcpt) else {
            return Session::failed(Failure::NoSmtpUtf8, "no SMTPUTF8 in the EHLO reply");
        };
        match self
            .command(conn, Mail::new(self.from.clone(), params.clone()))
            .await
        {
            Ok(Step::Done) => {}
            Ok(Step::Refused(reply)) => {
                return Session::Answered {
                    outcome: classify(Stage::MailFrom, &reply),
                    catch_all: false,
                };
            }
            Err(broke) => return Session::Failed(broke),
        }
        let outcome = match self.command(conn, Rcpt::new(rcpt.clone(), vec![])).await {
            Ok(Step::Done) => Outcome::Accepted,
            Ok(Step::Refused(reply)) => classify(Stage::RcptTo, &reply),
            Err(broke) => return Session::Failed(broke),
        };
        let catch_all = outcome == Outcome::Accepted && self.catch_all(conn, domain, &params).await;
        Session::Answered { outcome, catch_all }
    }

    /// Tells whether `domain` accepts a random mailbox, asking over `conn` only when the
    /// cache has no finding; an inconclusive answer is not cached and reads as false.
    async fn catch_all(&self, conn: &mut Conn, domain: &str, params: &[MailParameter]) -> bool {
        let cell = self
            .catch_alls
            .get_with(domain.to_string(), async { Arc::new(OnceCell::new()) })
            .await;
        cell.get_or_try_init(|| async {
            if let Some(shared) = &self.shared {
                if let Some((found, _)) = shared.get(Kind::CatchAll, domain).await {
                    return Ok(found);
                }
            }
            let found = self.probe_random(conn, domain, params).await;
            if let (Some(shared), Ok(found)) = (&self.shared, found) {
                let ttl = self.lifetimes.settled;
                shared.put(Kind::CatchAll, domain, &found, ttl);
            }
            found
        })
        .await
        .copied()
        .unwrap_or(false)
    }

    /// Asks, in the same session after RSET, for a mailbox nobody has: `Ok(true)` if the
    /// server accepts it, `Ok(false)` if it rejects it as a mailbox, `Err` otherwise.
    async fn probe_random(
        &self,
        conn: &mut Conn,
        domain: &str,
        params: &[MailParameter],
    ) -> Result<bool, ()> {
        let random = Address::new(random_local_part(), domain).map_err(|_| ())?;
        // RFC 5321 section 4.1.1.5: RSET aborts the transaction, so the next MAIL FROM
        // starts a clean one on the same connection.
        if !matches!(self.command(conn, Rset).await, Ok(Step::Done)) {
            return Err(());
        }
        let mail = Mail::new(self.from.clone(), params.to_vec());
        if !matches!(self.command(conn, mail).await, Ok(Step::Done)) {
            return Err(());
        }
        match self.command(conn, Rcpt::new(random, vec![])).await {
            Ok(Step::Done) => Ok(true),
            Ok(Step::Refused(reply)) => match classify(Stage::RcptTo, &reply) {
                Outcome::Rejected { .. } => Ok(false),
                _ => Err(()),
            },
            Err(_) => Err(()),
        }
    }

    /// Returns the MAIL FROM parameters, or `None` when the address needs SMTPUTF8
    /// (RFC 6531) and the server does not offer it.
    fn mail_parameters(&self, conn: &Conn, rcpt: &Address) -> Option<Vec<MailParameter>> {
        let ascii = |address: &Address| AsRef::<str>::as_ref(address).is_ascii();
        if ascii(rcpt) && self.from.as_ref().is_none_or(ascii) {
            return Some(Vec::new());
        }
        conn.smtp
            .server_info()
            .supports_feature(Extension::SmtpUtfEight)
            .then(|| vec![MailParameter::SmtpUtfEight])
    }

    /// Sends one command and reads its reply within the command timeout; `Err` (with what
    /// happened) when the conversation broke, which also marks `conn` broken.
    async fn command<C: Display>(&self, conn: &mut Conn, command: C) -> Result<Step, Broke> {
        let result = match timeout(self.cfg.command_timeout, conn.smtp.command(command)).await {
            Err(_) => Err(Broke::new(
                Failure::ReplyTimeout,
                "timed out waiting for a reply",
            )),
            Ok(Ok(response)) if response.code().severity == Severity::PositiveCompletion => {
                Ok(Step::Done)
            }
            // lettre counts 3xx as positive; no command we send may get one.
            Ok(Ok(response)) => Err(Broke::new(
                Failure::Unexpected,
                format!("unexpected reply {}", response.code()),
            )),
            Ok(Err(e)) => match Reply::from_error(&e) {
                Some(reply) => Ok(Step::Refused(reply)),
                None => Err(Broke::new(Failure::of(&e, &conn.spent), e)),
            },
        };
        conn.broken |= result.is_err();
        result
    }
}

/// An open SMTP session.
struct Conn {
    smtp: AsyncSmtpConnection,
    /// A command timed out or the connection failed: the session is out of step.
    broken: bool,
    /// The session's read budget is spent (see [`Capped`]).
    spent: Arc<AtomicBool>,
}

/// Why a session with one exchanger gave no SMTP answer, in words for callers: never the
/// address dialled nor the socket's own error text, which go to the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// The connection was refused.
    Refused,
    /// The connection was not accepted within the connect timeout.
    ConnectTimeout,
    /// The connection failed otherwise (unreachable network, reset, ...).
    ConnectFailed,
    /// The server accepted the connection and said nothing.
    NoGreeting,
    /// A reply did not come within the command timeout.
    ReplyTimeout,
    /// The session passed its time limit ([`SESSION_TIMEOUTS`] command timeouts).
    TooSlow,
    /// The server sent more than [`MAX_SESSION_BYTES`].
    TooLong,
    /// A reply that is not SMTP, or the connection closed mid-reply.
    Garbled,
    /// The connection broke (reset, closed) between replies.
    Dropped,
    /// A 3xx reply, which none of the probe's commands may get.
    Unexpected,
    /// The address needs SMTPUTF8 and the server does not offer it.
    NoSmtpUtf8,
}

impl Failure {
    /// Tells what a lettre error that carries no SMTP reply means; `spent` is the
    /// session's read budget flag.
    fn of(error: &lettre::transport::smtp::Error, spent: &AtomicBool) -> Failure {
        if spent.load(Ordering::Relaxed) {
            return Failure::TooLong;
        }
        if error.is_timeout() {
            return Failure::ReplyTimeout;
        }
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            if let Some(io) = cause.downcast_ref::<io::Error>() {
                return match io.kind() {
                    // lettre reads replies as UTF-8 text.
                    io::ErrorKind::InvalidData => Failure::Garbled,
                    _ => Failure::Dropped,
                };
            }
            source = cause.source();
        }
        Failure::Garbled
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Failure::Refused => "refused the connection",
            Failure::ConnectTimeout => "did not accept the connection in time",
            Failure::ConnectFailed => "could not be connected to",
            Failure::NoGreeting => "sent no greeting",
            Failure::ReplyTimeout => "timed out waiting for a reply",
            Failure::TooSlow => "answered too slowly: the session ran out of time",
            Failure::TooLong => "sent an over-long reply",
            Failure::Garbled => "sent a malformed reply or broke off the conversation",
            Failure::Dropped => "dropped the connection",
            Failure::Unexpected => "sent a reply no probe command expects",
            Failure::NoSmtpUtf8 => "lacks SMTPUTF8, which the address needs",
        })
    }
}

/// A session that broke: what callers are told, and the underlying error for the logs.
#[derive(Debug)]
struct Broke {
    failure: Failure,
    error: String,
}

impl Broke {
    fn new(failure: Failure, error: impl Display) -> Broke {
        Broke {
            failure,
            error: error.to_string(),
        }
    }
}

/// The connection as lettre sees it: writes go straight to the socket, reads through a
/// budget of bytes for the whole session. lettre reads a reply line to its newline before
/// it checks the line's length, so without the budget a server could make it buffer a
/// greeting of any size; with it, a session costs at most the budget (plus lettre's own
/// 8 KiB read buffer), then fails as [`Failure::TooLong`].
#[derive(Debug)]
struct Capped {
    tcp: TcpStream,
    /// Bytes that may still be read.
    left: usize,
    /// Set when a read finds the budget spent.
    spent: Arc<AtomicBool>,
}

impl Capped {
    fn new(tcp: TcpStream, budget: usize, spent: Arc<AtomicBool>) -> Capped {
        Capped {
            tcp,
            left: budget,
            spent,
        }
    }
}

impl AsyncRead for Capped {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.left == 0 {
            this.spent.store(true, Ordering::Relaxed);
            return Poll::Ready(Err(io::Error::other("the session's read budget is spent")));
        }
        if buf.remaining() <= this.left {
            let before = buf.filled().len();
            ready!(Pin::new(&mut this.tcp).poll_read(cx, buf))?;
            this.left -= buf.filled().len() - before;
        } else {
            // Only the last read of a budget is smaller than the caller's buffer: a short
            // buffer of our own keeps it within the budget without unsafe code.
            let mut room = vec![0; this.left];
            let mut part = ReadBuf::new(&mut room);
            ready!(Pin::new(&mut this.tcp).poll_read(cx, &mut part))?;
            buf.put_slice(part.filled());
            this.left -= part.filled().len();
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Capped {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for Capped {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.peer_addr()
    }
}

/// What one command got back.
#[derive(Debug)]
enum Step {
    /// A 2xx reply.
    Done,
    /// A 4xx or 5xx reply.
    Refused(Reply),
}

/// How a session with one exchanger ended.
#[derive(Debug)]
enum Session {
    /// The exchanger answered the question, or refused us outright: stop here.
    Answered { outcome: Outcome, catch_all: bool },
    /// The exchanger is unavailable for now (4xx to the greeting or EHLO): try the next
    /// one, and report this if none answers.
    Deferred(Outcome),
    /// No SMTP answer (refused, timed out, closed, garbled): try the next exchanger.
    Failed(Broke),
}

impl Session {
    fn failed(failure: Failure, error: impl Display) -> Session {
        Session::Failed(Broke::new(failure, error))
    }
}

/// The result of a probe that found no free session slot.
fn busy(limit: Limit) -> ProbeResult {
    metrics::record_smtp_refused(limit.label());
    ProbeResult::without_host(Outcome::Busy { limit })
}

/// Where in the session a negative reply came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The greeting or the reply to EHLO.
    Handshake,
    /// The reply to MAIL FROM.
    MailFrom,
    /// The reply to RCPT TO: the only one that can be about the mailbox.
    RcptTo,
}

/// A negative SMTP reply: the three-digit code and the text after it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reply {
    code: u16,
    text: String,
}

/// An RFC 3463 enhanced status code, `class.subject.detail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Enhanced {
    class: u16,
    subject: u16,
    detail: u16,
}

impl Reply {
    /// Returns the reply a lettre error carries, when it is a 4xx or 5xx reply.
    fn from_error(error: &lettre::transport::smtp::Error) -> Option<Reply> {
        let code = u16::from(error.status()?);
        // lettre keeps the reply's lines, joined, as the error's source.
        let text = std::error::Error::source(error)
            .map(|source| source.to_string())
            .unwrap_or_default();
        Some(Reply { code, text })
    }

    /// A 5xx reply: permanent negative completion (RFC 5321 section 4.2.1).
    fn is_permanent(&self) -> bool {
        self.code >= 500
    }

    /// Returns the enhanced status code of the reply, if it has one that agrees with the
    /// reply code.
    fn enhanced(&self) -> Option<Enhanced> {
        // RFC 2034 section 4: the enhanced code starts the reply text. qmail and a few
        // others put it at the end instead, as "(#5.1.1)".
        let leading = self.text.split_whitespace().next().and_then(parse_enhanced);
        let code = leading.or_else(|| {
            self.text.split('#').skip(1).find_map(|rest| {
                let end = rest
                    .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                    .unwrap_or(rest.len());
                rest.get(..end).and_then(parse_enhanced)
            })
        });
        // RFC 3463 section 2: the class repeats the reply code's first digit; a code
        // that contradicts the reply is not trusted.
        code.filter(|enhanced| enhanced.class == self.code / 100)
    }

    /// Returns the reply as quoted in an outcome: one line, addresses redacted (a reason
    /// never holds a full address), at most [`MAX_REPLY_CHARS`] characters.
    fn quoted(&self) -> String {
        let text = redact_text(&self.text);
        let line = if text.is_empty() {
            self.code.to_string()
        } else {
            format!("{} {text}", self.code)
        };
        clip(&line, MAX_REPLY_CHARS)
    }
}

/// Parses `class.subject.detail` (RFC 3463 section 2: class 2, 4 or 5; subject and
/// detail of one to three digits); trailing punctuation is ignored.
fn parse_enhanced(word: &str) -> Option<Enhanced> {
    let word = word.trim_end_matches(['.', ',', ':', ';', ')']);
    let mut parts = word.split('.');
    let (class, subject, detail) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let number = |part: &str| {
        ((1..=3).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<u16>().ok())
            .flatten()
    };
    let class = match class {
        "2" => 2,
        "4" => 4,
        "5" => 5,
        _ => return None,
    };
    Some(Enhanced {
        class,
        subject: number(subject)?,
        detail: number(detail)?,
    })
}

/// Sorts a negative reply into an outcome, by where in the session it came.
fn classify(stage: Stage, reply: &Reply) -> Outcome {
    let quoted = reply.quoted();
    if !reply.is_permanent() {
        // RFC 5321 section 4.2.1: 4yz is a transient negative completion; the same
        // command may succeed later, so it says nothing yet.
        return Outcome::Temporary {
            greylisted: is_greylisting(reply),
            reply: quoted,
        };
    }
    match stage {
        // Nothing about the mailbox has been asked before RCPT TO: a 5xx greeting (554,
        // RFC 5321 section 3.1), a refused EHLO or a refused MAIL FROM refuses us.
        Stage::Handshake | Stage::MailFrom => Outcome::Policy { reply: quoted },
        Stage::RcptTo => match read_rcpt_refusal(reply) {
            Refusal::Mailbox => Outcome::Rejected { reply: quoted },
            Refusal::Us => Outcome::Policy { reply: quoted },
            Refusal::Transient => Outcome::Temporary {
                reply: quoted,
                greylisted: false,
            },
        },
    }
}

/// What a 5xx reply to RCPT TO refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// The mailbox: it does not exist or cannot receive mail. INVALID.
    Mailbox,
    /// Us: our address, name, sender or behaviour. Says nothing about the mailbox.
    Us,
    /// A lasting but not permanent state of the mailbox (full): retry later.
    Transient,
}

/// Reads a 5xx reply to RCPT TO. When in doubt it is not the mailbox's fault: a false
/// INVALID throws a real lead away, a missed one only costs a flag.
fn read_rcpt_refusal(reply: &Reply) -> Refusal {
    let text = reply.text.to_lowercase();
    // 1. A reply that names a blocklist, our host, our HELO or our sender refuses us,
    //    whatever its codes say (Postfix, for one, checks the sender at RCPT time and
    //    answers "550 5.1.1 <sender>: Sender address rejected").
    if talks_about_us(&text) {
        return Refusal::Us;
    }
    // 2. The enhanced status code, when present, is the more precise one (RFC 3463).
    match reply.enhanced() {
        // X.7.x security or policy status (section 3.8): "550 5.7.1 blocked".
        Some(Enhanced { subject: 7, .. }) => return Refusal::Us,
        // X.1.7 bad sender's mailbox syntax, X.1.8 bad sender's system address
        // (section 3.2): about our MAIL FROM, not the recipient.
        Some(Enhanced {
            subject: 1,
            detail: 7 | 8,
            ..
        }) => return Refusal::Us,
        // X.1.x addressing status (section 3.2): X.1.1 bad destination mailbox, X.1.2
        // bad destination system, X.1.3 bad mailbox syntax, X.1.6 mailbox moved, X.1.10
        // null MX (RFC 7505).
        Some(Enhanced { subject: 1, .. }) => return Refusal::Mailbox,
        // X.2.1 mailbox disabled, not accepting messages (section 3.3).
        Some(Enhanced {
            subject: 2,
            detail: 1,
            ..
        }) => return Refusal::Mailbox,
        // X.2.2 mailbox full: "a persistent transient failure" (section 3.3); the
        // mailbox exists.
        Some(Enhanced {
            subject: 2,
            detail: 2,
            ..
        }) => return Refusal::Transient,
        // X.3.x mail system, X.5.x protocol, X.6.x content status (sections 3.4, 3.6,
        // 3.7) are about the server or our commands, unless the text says the mailbox
        // is missing (Outlook.com: "550 5.5.0 Requested action not taken: mailbox
        // unavailable").
        Some(Enhanced {
            subject: 3 | 5 | 6, ..
        }) => {
            return if names_missing_mailbox(&text) {
                Refusal::Mailbox
            } else {
                Refusal::Us
            };
        }
        // X.0.0 undefined, X.2.x otherwise, X.4.x network and routing (Microsoft 365
        // answers "550 5.4.1 Recipient address rejected: Access denied" for a mailbox it
        // does not have), none at all: the basic code decides.
        _ => {}
    }
    // 3. The basic reply code (RFC 5321 section 4.2.2).
    match reply.code {
        // 550 mailbox unavailable (not found, no access), 551 user not local, 553
        // mailbox name not allowed: about the mailbox, even when the text is unclear.
        550 | 551 | 553 => Refusal::Mailbox,
        // 556 domain does not accept mail (RFC 7504): no mailbox there can receive it.
        556 => Refusal::Mailbox,
        // 552 to RCPT is to be treated as 452 (RFC 5321 section 4.5.3.1.10).
        552 => Refusal::Transient,
        // 554 transaction failed (in practice relay denial or a blocklist), 500-504
        // our command not understood, anything else: says nothing about the mailbox.
        _ => Refusal::Us,
    }
}

/// Tells whether a (lower-cased) reply text is about us rather than the recipient: a
/// blocklist, our IP or host name, our HELO, our sender, relaying, rate or policy.
fn talks_about_us(text: &str) -> bool {
    const PHRASES: &[&str] = &[
        "blocklist",
        "blacklist",
        "denylist",
        "block list",
        "black list",
        "blocked",
        "spamhaus",
        "spamcop",
        "barracuda",
        "sorbs",
        "dnsbl",
        "reputation",
        "client host",
        "your ip",
        "ip address",
        "sender address rejected",
        "sender rejected",
        "sender verify",
        "sender domain",
        "reverse dns",
        "relay access denied",
        "relaying denied",
        "relay denied",
        "relay not permitted",
        "relaying not permitted",
        "not permitted to relay",
        "unable to relay",
        "rate limit",
        "too many",
    ];
    // Short words only count whole, so that "helo" does not match inside another word.
    const WORDS: &[&str] = &["rbl", "helo", "ehlo", "ptr", "rdns", "spam", "policy"];
    PHRASES.iter().any(|phrase| text.contains(phrase))
        || text
            .split(|c: char| !c.is_alphanumeric())
            .any(|word| WORDS.contains(&word))
}

/// Tells whether a (lower-cased) reply text says the mailbox does not exist.
fn names_missing_mailbox(text: &str) -> bool {
    const PHRASES: &[&str] = &[
        "user unknown",
        "unknown user",
        "no such user",
        "no such mailbox",
        "no such recipient",
        "unknown recipient",
        "recipient unknown",
        "invalid recipient",
        "mailbox unavailable",
        "mailbox not found",
        "user not found",
        "recipient not found",
        "does not exist",
        "doesn't exist",
    ];
    PHRASES.iter().any(|phrase| text.contains(phrase))
}

/// Tells whether a 4xx reply looks like greylisting: 450/451 with the enhanced code
/// 4.7.1, or a text that says so (Postfix's postgrey: "450 4.2.0 ... Greylisted").
fn is_greylisting(reply: &Reply) -> bool {
    let text = reply.text.to_lowercase();
    let says_so = [
        "greylist",
        "graylist",
        "grey-list",
        "gray-list",
        "grey list",
        "gray list",
    ]
    .iter()
    .any(|word| text.contains(word));
    let code_says_so = matches!(reply.code, 450 | 451)
        && reply.enhanced()
            == Some(Enhanced {
                class: 4,
                subject: 7,
                detail: 1,
            });
    says_so || code_says_so
}

/// Makes `text` one line of words with every address's local part replaced by `***`.
fn redact_text(text: &str) -> String {
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let words: Vec<String> = text.split_whitespace().map(redact_addresses).collect();
    words.join(" ")
}

/// Replaces the local part of any address in `word` with `***`, keeping the domain:
/// servers often echo the recipient (`<john@contoso.com>: Recipient address rejected`).
fn redact_addresses(word: &str) -> String {
    let is_delimiter = |c: char| "<>()[]\"',;:=".contains(c);
    let mut out = String::with_capacity(word.len());
    let mut rest = word;
    while !rest.is_empty() {
        let end = rest.find(is_delimiter).unwrap_or(rest.len());
        let (piece, tail) = rest.split_at(end);
        match piece.rsplit_once('@') {
            Some((_, domain)) => {
                out.push_str("***@");
                out.push_str(domain);
            }
            None => out.push_str(piece),
        }
        let mut chars = tail.chars();
        if let Some(delimiter) = chars.next() {
            out.push(delimiter);
        }
        rest = chars.as_str();
    }
    out
}

/// Cuts `text` to at most `max` characters, marking the cut.
fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", text.get(..end).unwrap_or(text)),
        None => text.to_string(),
    }
}

/// Returns a local part nobody has: `lc-` and 16 random letters and digits, lower-case
/// because some servers fold case.
fn random_local_part() -> String {
    let tail: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(16)
        .map(|b| char::from(b).to_ascii_lowercase())
        .collect();
    format!("lc-{tail}")
}

/// Makes the EHLO argument: an address literal for an IP, the name when it is a valid
/// host name, else [`DEFAULT_HELO`] (lettre writes the name verbatim into the command).
fn client_id(name: &str) -> ClientId {
    let name = name.trim();
    if let Ok(ip) = name.parse::<Ipv4Addr>() {
        return ClientId::Ipv4(ip);
    }
    if let Ok(ip) = name.parse::<Ipv6Addr>() {
        return ClientId::Ipv6(ip);
    }
    let is_host_name = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if is_host_name {
        ClientId::Domain(name.to_string())
    } else {
        tracing::warn!("the SMTP probe's EHLO name is not a host name; using {DEFAULT_HELO}");
        ClientId::Domain(DEFAULT_HELO.to_string())
    }
}

/// Makes the MAIL FROM reverse-path: `None` (the null path `<>`) when empty or invalid.
fn reverse_path(address: &str) -> Option<Address> {
    let address = address.trim();
    if address.is_empty() {
        return None;
    }
    match address.parse::<Address>() {
        Ok(address) => Some(address),
        Err(_) => {
            tracing::warn!("the SMTP probe's MAIL FROM is not an address; using <>");
            None
        }
    }
}

/// Tells whether the probe may dial `ip` without `allow_private`: a global unicast
/// address, not loopback, private, link-local, shared, documentation, benchmarking,
/// multicast, reserved, unspecified or unique-local, nor an IPv6 form of one of those.
pub fn is_public_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => is_public_v6(ip),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0 // "this network" (RFC 1122)
        || a == 10 // private (RFC 1918)
        || a == 127 // loopback
        || (a == 100 && (64..128).contains(&b)) // shared address space (RFC 6598)
        || (a == 169 && b == 254) // link-local (RFC 3927), cloud metadata services
        || (a == 172 && (16..32).contains(&b)) // private (RFC 1918)
        || (a == 192 && b == 168) // private (RFC 1918)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments (RFC 6890)
        || (a == 192 && b == 0 && c == 2) // documentation (RFC 5737)
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || (a == 198 && (b == 18 || b == 19)) // benchmarking (RFC 2544)
        || a >= 224) // multicast, reserved, broadcast
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let embedded_v4 = |high: u16, low: u16| {
        let [h1, h2] = high.to_be_bytes();
        let [l1, l2] = low.to_be_bytes();
        Ipv4Addr::new(h1, h2, l1, l2)
    };
    // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d, RFC 6052) reach the
    // IPv4 address inside; 6to4 (2002:aabb:ccdd::, RFC 3056) routes to it.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(embedded_v4(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return is_public_v4(embedded_v4(s[1], s[2]));
    }
    // Only 2000::/3 is global unicast; everything else (::, ::1, IPv4-compatible,
    // discard 100::/64, ULA fc00::/7, link-local fe80::/10, multicast ff00::/8, ...)
    // is not. Within it: IETF protocol assignments 2001::/23 (Teredo, ORCHID, ...)
    // and documentation 2001:db8::/32 (RFC 3849).
    (s[0] & 0xe000) == 0x2000 && !(s[0] == 0x2001 && (s[1] < 0x200 || s[1] == 0x0db8))
}

/// Splits a connected socket into two handles on the same connection (`dup`): lettre
/// takes the first, the probe keeps the second to say QUIT when lettre cannot.
fn two_handles(tcp: TcpStream) -> std::io::Result<(TcpStream, TcpStream)> {
    let first = tcp.into_std()?;
    let second = first.try_clone()?;
    Ok((TcpStream::from_std(first)?, TcpStream::from_std(second)?))
}

/// Says QUIT without waiting for the reply (the socket is non-blocking; a failure
/// means the server is gone, which is fine).
fn send_quit(spare: &TcpStream) {
    let _ = spare.try_write(b"QUIT\r\n");
}

/// Says QUIT and waits, at most `wait`, for the reply, as RFC 5321 section 3.1 asks of
/// a client whose greeting was refused.
async fn quit_and_wait(spare: &mut TcpStream, wait: Duration) {
    let _ = timeout(wait, async {
        if spare.write_all(b"QUIT\r\n").await.is_ok() {
            let mut reply = [0u8; 512];
            let _ = spare.read(&mut reply).await;
        }
    })
    .await;
}

/// Bounds concurrent sessions per key (a domain, an exchanger address) with one
/// semaphore per key.
struct KeyedLimits<K> {
    per_key: usize,
    semaphores: Mutex<HashMap<K, Arc<Semaphore>>>,
}

impl<K: Hash + Eq + Clone> KeyedLimits<K> {
    /// Keys kept before idle semaphores are dropped.
    const PRUNE_AT: usize = 1024;

    fn new(per_key: usize) -> KeyedLimits<K> {
        KeyedLimits {
            per_key: per_key.clamp(1, Semaphore::MAX_PERMITS),
            semaphores: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until `deadline` at most for a session slot at `key`; `None` when none came
    /// free in time. The slot is freed when the permit drops.
    async fn acquire(
        &self,
        key: K,
        deadline: tokio::time::Instant,
    ) -> Option<OwnedSemaphorePermit> {
        let semaphore = {
            let mut map = self
                .semaphores
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if map.len() >= Self::PRUNE_AT && !map.contains_key(&key) {
                // A semaphore only the map holds has no session and no waiter: dropping
                // it loses nothing, and keeps the map from growing with every key.
                map.retain(|_, semaphore| Arc::strong_count(semaphore) > 1);
            }
            map.entry(key)
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_key)))
                .clone()
        };
        slot(semaphore, deadline).await
    }
}

/// Waits until `deadline` at most for a permit of `semaphore`, which is never closed.
async fn slot(
    semaphore: Arc<Semaphore>,
    deadline: tokio::time::Instant,
) -> Option<OwnedSemaphorePermit> {
    timeout_at(deadline, semaphore.acquire_owned())
        .await
        .ok()?
        .ok()
}

/// Caches settled outcomes for the full lifetime, transient ones (temporary,
/// unreachable) briefly, so that a greylisted address is asked again soon. The same
/// lifetimes bound what is shared through Redis.
#[derive(Debug, Clone, Copy)]
struct ByOutcome {
    settled: Duration,
    transient: Duration,
}

impl ByOutcome {
    /// The lifetimes of a configuration: capped at [`MAX_TTL`], transient never longer
    /// than settled.
    fn new(cfg: &ProbeConfig) -> ByOutcome {
        let settled = cfg.cache_ttl.min(MAX_TTL);
        ByOutcome {
            settled,
            transient: cfg.transient_ttl.min(settled),
        }
    }

    /// How long a result with this outcome is kept.
    fn of(&self, outcome: &Outcome) -> Duration {
        if outcome.is_transient() {
            self.transient
        } else {
            self.settled
        }
    }
}

impl Expiry<String, ProbeResult> for ByOutcome {
    fn expire_after_create(
        &self,
        _key: &String,
        value: &ProbeResult,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(self.of(&value.outcome))
    }
}

#[cfg(test)]
#[path = "smtp_tests.rs"]
mod tests;
