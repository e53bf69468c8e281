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
//! set (SSRF), and through a SOCKS5 proxy (`proxy`, or a provider's own in
//! `provider_proxies`) the proxy is asked for the checked address, never for a name it
//! would resolve; every connect and every command has a timeout, and a whole session a time
//! limit of its own; replies are read through a byte budget per session ([`Capped`]);
//! concurrent sessions are bounded per domain, per exchanger address and for the process,
//! and a probe that finds no free slot within `slot_wait` gives up ([`Outcome::Busy`]);
//! results and catch-all findings are cached. What callers see says what happened in
//! plain words; the dialled address and the socket's error go to the logs only.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use lettre::transport::smtp::extension::ClientId;
use lettre::Address;
use moka::future::Cache;
use moka::Expiry;
use rand::distr::Alphanumeric;
use rand::Rng;
use tokio::sync::{OnceCell, OwnedSemaphorePermit, Semaphore};
use tokio::time::timeout_at;
use tracing::Instrument;

use crate::metrics;
use crate::shared_cache::{Kind, SharedCache};

mod guard;
mod proxy;
mod reply;
mod session;

pub use guard::is_public_address;
pub use proxy::{read_password_file, ProviderProxy, SocksProxy};
use reply::redact_text;
use session::Session;

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
    /// The mailbox is disabled, not accepting messages (X.2.1): INVALID.
    pub const DISABLED: &str = "smtp.disabled";
    /// The mailbox is full, over quota (X.2.2): the DNS verdict stands; retry later.
    pub const FULL_INBOX: &str = "smtp.full_inbox";
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
        DISABLED,
        FULL_INBOX,
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
/// The wait before asking a greylisting server again when its reply suggests none.
const GREYLIST_RETRY: Duration = Duration::from_secs(2);
/// The longest wait before asking a greylisting server again: the session slots stay held
/// through it, and a longer one would keep other probes waiting.
const MAX_GREYLIST_WAIT: Duration = Duration::from_secs(10);
/// A greylisted mailbox is asked again only when the wait, this much for the session and
/// [`RETRY_MARGIN`] fit before the call's deadline.
const RETRY_SESSION: Duration = Duration::from_secs(1);
/// Time kept before the call's deadline for the verdict to be made and sent: a retry
/// that has not ended by then is dropped, and the first answer stands.
const RETRY_MARGIN: Duration = Duration::from_millis(500);

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
    /// spam software. A known provider's own timeouts (data/mail_providers.txt) take the
    /// place of this one and of `connect_timeout` for its exchangers.
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
    /// A SOCKS5 proxy every session goes through, asked to CONNECT to the exchanger
    /// address the SSRF guard passed, never to a name. Default none: sessions connect
    /// directly.
    pub proxy: Option<SocksProxy>,
    /// Per provider, a proxy of its own or `direct`, in place of `proxy` for the sessions
    /// with that provider's exchangers. Default empty: every session takes `proxy`.
    pub provider_proxies: Vec<ProviderProxy>,
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
            proxy: None,
            provider_proxies: Vec::new(),
        }
    }
}

impl ProbeConfig {
    /// The proxy of the sessions with an exchanger of `provider`: its own entry of
    /// `provider_proxies` when there is one (the last, as a later setting wins), else
    /// `proxy`; none is direct.
    pub fn proxy_for(&self, provider: Option<&str>) -> Option<&SocksProxy> {
        let own = provider.and_then(|name| {
            self.provider_proxies
                .iter()
                .rev()
                .find(|entry| entry.provider == name)
        });
        match own {
            Some(entry) => entry.proxy.as_ref(),
            None => self.proxy.as_ref(),
        }
    }

    /// Gives the password of `smtp.proxy_password_file` to every proxy whose URL names a
    /// user and no password.
    pub fn fill_proxy_password(&mut self, password: &str) {
        let own = self
            .provider_proxies
            .iter_mut()
            .filter_map(|e| e.proxy.as_mut());
        for proxy in self.proxy.iter_mut().chain(own) {
            proxy.fill_password(password);
        }
    }

    /// Tells whether a proxy's URL names a user and no password.
    pub fn proxy_wants_password(&self) -> bool {
        let own = self
            .provider_proxies
            .iter()
            .filter_map(|e| e.proxy.as_ref());
        self.proxy.iter().chain(own).any(SocksProxy::wants_password)
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
    /// The mailbox exists and is disabled, not accepting messages (X.2.1): the verdict
    /// is INVALID, as for a rejection.
    Disabled {
        /// The server's reply, such as `550 5.2.1 mailbox disabled`.
        reply: String,
    },
    /// The mailbox exists and is full (X.2.2, over quota), at 4xx or 5xx: the DNS verdict
    /// stands, with a hint to retry later.
    FullInbox {
        /// The server's reply.
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
            Outcome::Disabled { .. } => codes::DISABLED,
            Outcome::FullInbox { .. } => codes::FULL_INBOX,
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
            Outcome::Temporary { .. } | Outcome::Unreachable { .. } | Outcome::FullInbox { .. }
        )
    }

    /// Tells whether the outcome is a permanent refusal of the mailbox: INVALID.
    pub fn refuses_mailbox(&self) -> bool {
        matches!(self, Outcome::Rejected { .. } | Outcome::Disabled { .. })
    }
}

/// The result of probing one mailbox.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProbeResult {
    /// What the exchanger said about the mailbox.
    pub outcome: Outcome,
    /// The mailbox was accepted and so was a random mailbox at the same domain, or the
    /// exchanger's provider accepts anything: acceptance proves little. The same as
    /// `catch_all_state.is_yes()`, kept for results other replicas share.
    pub catch_all: bool,
    /// Whether the catch-all question was asked, and its answer.
    #[serde(default)]
    pub catch_all_state: CatchAll,
    /// The exchanger that answered, when one did.
    pub host: Option<String>,
}

/// Whether a domain accepts mail for any mailbox, and whether that was found out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum CatchAll {
    /// Not asked: the mailbox was not accepted, or no session answered.
    #[default]
    NotChecked,
    /// The domain refused a random mailbox: acceptance of this one means something.
    No,
    /// The domain accepted a random mailbox too.
    Yes,
    /// The exchanger's provider is known to accept any recipient
    /// ([`Provider::accepts_any`](super::provider::Provider::accepts_any)): not asked,
    /// and reported as a catch-all.
    Known,
    /// Asked, with no clear answer (a temporary failure, a refusal of us, a broken
    /// session); not cached, so the next probe asks again.
    Inconclusive,
}

impl CatchAll {
    /// The domain accepts any mailbox, found out or known.
    pub fn is_yes(self) -> bool {
        matches!(self, CatchAll::Yes | CatchAll::Known)
    }
}

impl ProbeResult {
    /// A result no exchanger gave.
    fn without_host(outcome: Outcome) -> ProbeResult {
        ProbeResult {
            outcome,
            catch_all: false,
            catch_all_state: CatchAll::NotChecked,
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
    /// The host belongs to a provider whose exchangers accept any recipient: the
    /// catch-all question is not asked.
    accepts_any: bool,
    /// The provider's own waits, in place of the configured ones where set.
    timeouts: super::provider::Timeouts,
    /// The provider the host belongs to, whose own proxy (or `direct`) the session takes
    /// when `provider_proxies` names it.
    provider: Option<&'static str>,
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

    /// How long a caller should wait before asking about the address again, when a later
    /// try is worthwhile: a greylisted, temporary, full-inbox or unreachable result is
    /// kept for `transient_ttl` (an earlier try would get the same cached answer), a busy
    /// one is never kept and the slots free up within about `slot_wait`.
    pub fn retry_after(&self, outcome: &Outcome) -> Option<Duration> {
        match outcome {
            Outcome::Busy { .. } => Some(self.cfg.slot_wait.max(Duration::from_secs(1))),
            outcome if outcome.is_transient() => Some(self.lifetimes.transient),
            _ => None,
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
                // The probe's span: the domain, the exchanger that answered and the
                // outcome. Never the address, which only the session itself carries.
                let span = tracing::debug_span!(
                    "smtp probe",
                    otel.kind = "client",
                    network.protocol.name = "smtp",
                    leadcheck.email.domain = domain,
                    server.address = tracing::field::Empty,
                    leadcheck.smtp.outcome = tracing::field::Empty,
                    leadcheck.smtp.catch_all = tracing::field::Empty,
                );
                let (result, shareable) = self
                    .probe_uncached(address, domain, mx_hosts)
                    .instrument(span.clone())
                    .await;
                if let Some(host) = &result.host {
                    span.record("server.address", host.as_str());
                }
                span.record("leadcheck.smtp.outcome", result.outcome.code());
                span.record("leadcheck.smtp.catch_all", result.catch_all);
                // Busy is this replica's load: neither cached nor shared, so that the
                // next request for the address probes it.
                if matches!(result.outcome, Outcome::Busy { .. }) {
                    return Err(result);
                }
                // A skip by the SSRF guard, or a failure of the proxy, is this replica's
                // configuration or network, not a finding.
                if let Some(shared) = &self.shared {
                    if shareable && result.outcome != Outcome::SkippedPrivate {
                        let ttl = self.lifetimes.of(&result.outcome);
                        shared.put(Kind::Mailbox, &key, &result, ttl);
                    }
                }
                Ok(result)
            })
            .await;
        found.unwrap_or_else(|busy| ProbeResult::clone(&busy))
    }

    /// Resolves the exchangers, drops the ones the SSRF guard forbids and probes the rest;
    /// also tells whether other replicas may share the result (not when only the proxy
    /// failed).
    async fn probe_uncached(
        &self,
        address: &str,
        domain: &str,
        mx_hosts: &[String],
    ) -> (ProbeResult, bool) {
        let (result, shareable) = match self.targets(mx_hosts).await {
            Ok(targets) => self.probe_targets(address, domain, &targets).await,
            Err(outcome) => (ProbeResult::without_host(outcome), true),
        };
        tracing::debug!(
            domain,
            host = result.host.as_deref().unwrap_or(""),
            outcome = result.outcome.code(),
            catch_all = result.catch_all,
            "smtp probe"
        );
        (result, shareable)
    }

    /// Probes `address` through `targets` in order, within the session limits; also tells
    /// whether the result says something about the exchangers, not only about the proxy.
    async fn probe_targets(
        &self,
        address: &str,
        domain: &str,
        targets: &[Target],
    ) -> (ProbeResult, bool) {
        let Ok(rcpt) = address.parse::<Address>() else {
            let outcome = Outcome::Unreachable {
                detail: "not probed: the address cannot be written in an SMTP command".to_string(),
            };
            return (ProbeResult::without_host(outcome), true);
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
            return (busy(Limit::Domain), false);
        };
        let mut failures = Vec::new();
        let mut deferred = None;
        let mut proxy_only = true;
        for target in targets {
            let _session_slots = match self.session_slots(target.addr.ip()).await {
                Ok(slots) => slots,
                // An answer already had says more than "busy".
                Err(limit) => {
                    return match deferred {
                        Some(deferred) => (deferred, true),
                        None => (busy(limit), false),
                    }
                }
            };
            match self.session(target, &rcpt, &domain).await {
                Session::Answered { outcome, catch_all } => {
                    let (outcome, catch_all) = match &outcome {
                        Outcome::Temporary {
                            greylisted: true,
                            reply,
                        } => self
                            .retry_greylisted(target, &rcpt, &domain, reply)
                            .await
                            .unwrap_or((outcome, catch_all)),
                        _ => (outcome, catch_all),
                    };
                    let result = ProbeResult {
                        outcome,
                        catch_all: catch_all.is_yes(),
                        catch_all_state: catch_all,
                        host: Some(target.host.clone()),
                    };
                    return (result, true);
                }
                Session::Deferred(outcome) => {
                    proxy_only = false;
                    failures.push(format!("{}: temporarily unavailable", target.host));
                    deferred.get_or_insert(ProbeResult {
                        outcome,
                        catch_all: false,
                        catch_all_state: CatchAll::NotChecked,
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
                    proxy_only &= broke.failure.is_proxy();
                    failures.push(format!("{}: {}", target.host, broke.failure));
                }
            }
        }
        let result = deferred.unwrap_or_else(|| {
            ProbeResult::without_host(Outcome::Unreachable {
                detail: clip(&failures.join("; "), MAX_DETAIL_CHARS),
            })
        });
        (result, !proxy_only)
    }

    /// Asks a greylisting exchanger once more, after the delay its reply suggests, when
    /// the call has a deadline and the wait and a session fit before it; `None` when no
    /// retry was made or it did not answer in time (the first answer then stands). The
    /// session slots stay held through the wait: the retry is this probe's session.
    async fn retry_greylisted(
        &self,
        target: &Target,
        rcpt: &Address,
        domain: &str,
        reply: &str,
    ) -> Option<(Outcome, CatchAll)> {
        let deadline = CALL_DEADLINE.try_with(|at| *at).ok()?;
        let delay = greylist_delay(reply);
        let by = deadline.checked_sub(RETRY_MARGIN)?;
        if delay > MAX_GREYLIST_WAIT || tokio::time::Instant::now() + delay + RETRY_SESSION > by {
            return None;
        }
        tracing::debug!(host = %target.host, ?delay, "smtp greylisted; asking once more");
        let retry = async {
            tokio::time::sleep(delay).await;
            self.session(target, rcpt, domain).await
        };
        match timeout_at(by, retry).await {
            Ok(Session::Answered { outcome, catch_all }) => Some((outcome, catch_all)),
            _ => None,
        }
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
}

tokio::task_local! {
    /// When the call that asked for the probe must be answered, where it has a deadline.
    static CALL_DEADLINE: tokio::time::Instant;
}

/// Runs `work` (a call that may probe) knowing it must end by `at`: a greylisted mailbox
/// is then asked again once, if the wait and a session fit before it.
pub async fn within_deadline<F: Future>(at: tokio::time::Instant, work: F) -> F::Output {
    CALL_DEADLINE.scope(at, work).await
}

/// How long to wait before asking a greylisting server again: what its reply suggests
/// (`try again in 60 seconds`, `greylisted for 2 minutes`), else [`GREYLIST_RETRY`].
fn greylist_delay(reply: &str) -> Duration {
    static SUGGESTED: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?i)\b(\d{1,6})\s*(seconds?|secs?|s|minutes?|mins?)\b").ok()
    });
    let found = SUGGESTED.as_ref().and_then(|re| re.captures(reply));
    found
        .and_then(|c| {
            let n: u64 = c.get(1)?.as_str().parse().ok()?;
            let minutes = c.get(2)?.as_str().to_ascii_lowercase().starts_with('m');
            Some(Duration::from_secs(if minutes { n * 60 } else { n }))
        })
        .unwrap_or(GREYLIST_RETRY)
}

/// The result of a probe that found no free session slot.
fn busy(limit: Limit) -> ProbeResult {
    metrics::record_smtp_refused(limit.label());
    ProbeResult::without_host(Outcome::Busy { limit })
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
mod tests;
