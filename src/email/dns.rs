//! DNS: where mail for a domain goes (MX, null MX, implicit MX) and whether it leads
//! somewhere (the exchangers' addresses), cached per domain and per exchanger.
//!
//! One [`MailRoutes`] serves the whole process. Answers are cached for the record's TTL
//! clamped to configured bounds, NXDOMAIN and "no mail route" for a negative TTL,
//! transient failures (SERVFAIL, REFUSED, timeouts) for a short one. Concurrent callers
//! asking for one domain share one lookup, so a burst of leads at a fresh domain costs one
//! query per record type, not one per lead.
//!
//! After the MX answer, the exchangers are resolved (A, then AAAA when there is no A) in
//! preference order until one has an address. Exchangers are cached per host name, shared
//! by every domain that names them and by replicas through Redis, with the same one lookup
//! per host. A domain's cached route already says whether its exchangers resolved, so a
//! cached domain costs one cache read, as before.
//!
//! Answers are hostile input: a zone may list thousands of exchangers. At most
//! [`MAX_EXCHANGERS`] are kept (the lowest preferences) and [`MAX_ADDRESSES`] addresses
//! per exchanger, and both caches are weighed in bytes under one configured ceiling.
//! Special-use and internal names ([`SPECIAL_USE`]) are never asked, and the queries in
//! flight are capped, so a burst of cold domains cannot flood the upstream resolver.
//!
//! The caches are quick_cache, not moka: nearly every lead reads them and nearly every
//! read hits, and moka's read path does work on every read (its access log and the
//! maintenance that reads trigger). Each entry carries the moment it expires; a read
//! checks it, and an expired entry is replaced under the same one-lookup-per-key guard as
//! a missing one.

use std::borrow::Cow;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_resolver::net::NetError;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use quick_cache::sync::{Cache, EntryAction, EntryResult};
use quick_cache::Weighter;
use tokio::sync::Semaphore;
use tracing::Instrument;

use super::upstream::{Answer, Upstream};
use crate::metrics;
use crate::shared_cache::{Kind, SharedCache};
use crate::telemetry;

/// The most exchangers kept for a domain: the lowest preferences. Mail servers try a few;
/// a zone that lists thousands is either broken or hostile.
pub const MAX_EXCHANGERS: usize = 10;
/// The most addresses kept for one exchanger.
pub const MAX_ADDRESSES: usize = 8;

/// Suffixes of names that are never looked up: special-use names (RFC 6761: `localhost`,
/// `invalid`, `test`, `example`; RFC 6762: `local`; RFC 7686: `onion`; RFC 9476: `alt`;
/// RFC 8375: `home.arpa`) and the private-use `internal` (ICANN, 2024). Mail from the
/// internet cannot reach them, and asking for them would tell a caller which internal
/// names exist (the resolver answers `localhost` itself).
pub const SPECIAL_USE: &[&str] = &[
    "localhost",
    "invalid",
    "test",
    "example",
    "local",
    "onion",
    "alt",
    "home.arpa",
    "internal",
];

/// How the resolver is set up and how long answers are kept.
#[derive(Debug, Clone)]
pub struct DnsConfig {
    /// Name servers to ask; empty means the system's resolv.conf.
    pub servers: Vec<SocketAddr>,
    /// Time allowed for one query to one server.
    pub timeout: Duration,
    /// How many times a query is tried.
    pub attempts: usize,
    /// Lower bound on how long a positive answer is cached.
    pub min_ttl: Duration,
    /// Upper bound on how long a positive answer is cached.
    pub max_ttl: Duration,
    /// How long NXDOMAIN and "no mail route" answers are cached (at most; the zone's
    /// SOA minimum shortens it).
    pub negative_ttl: Duration,
    /// How long a transient failure is cached, so a failing domain is not hammered.
    pub failure_ttl: Duration,
    /// The most domains kept in the cache.
    pub cache_capacity: u64,
    /// The most bytes the caches hold: three quarters for domains, a quarter for
    /// exchangers.
    pub cache_bytes: u64,
    /// The most DNS lookups in flight at once; more wait for a free slot.
    pub max_queries: usize,
    /// Suffixes of [`SPECIAL_USE`] that are looked up anyway (lab and test zones); never
    /// `localhost`.
    pub allow_suffixes: Vec<String>,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            servers: Vec::new(),
            timeout: Duration::from_secs(2),
            attempts: 2,
            min_ttl: Duration::from_secs(60),
            max_ttl: Duration::from_secs(6 * 3600),
            negative_ttl: Duration::from_secs(900),
            failure_ttl: Duration::from_secs(5),
            cache_capacity: 200_000,
            cache_bytes: 128 * 1024 * 1024,
            max_queries: 8192,
            allow_suffixes: Vec::new(),
        }
    }
}

/// Checks the suffixes allowed to be looked up: each must be one of [`SPECIAL_USE`], and
/// `localhost` never is (the resolver answers it itself, with loopback).
pub fn check_allow_suffixes(suffixes: &[String]) -> Result<(), String> {
    for suffix in suffixes {
        let suffix = suffix.trim().trim_matches('.').to_ascii_lowercase();
        if suffix == "localhost" {
            return Err("dns_allow_suffixes: localhost names are never looked up".into());
        }
        if !SPECIAL_USE.contains(&suffix.as_str()) {
            return Err(format!(
                "dns_allow_suffixes: {suffix} is not a special-use suffix (one of {})",
                SPECIAL_USE.join(", ")
            ));
        }
    }
    Ok(())
}

/// Raises the soft limit on open files to the hard limit, and warns when even that is
/// below what `max_queries` lookups in flight may hold: a UDP socket each, besides the
/// server's connections. Raising the soft limit up to the hard one needs no privilege and
/// costs nothing until used.
pub fn raise_open_files_limit(max_queries: usize) {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit only writes the struct passed, which lives on this stack.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            return;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            // SAFETY: setrlimit only reads the struct passed. It may fail (macOS refuses
            // an infinite soft limit): the old limit then stays, which is fine.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
                limit = raised;
            }
        }
        let needed = (max_queries as u64).saturating_add(1024);
        // rlim_t is u64 on most targets, not on all.
        #[allow(clippy::unnecessary_cast)]
        let current = limit.rlim_cur as u64;
        if limit.rlim_cur != libc::RLIM_INFINITY && current < needed {
            tracing::warn!(
                open_files = current,
                dns_max_queries = max_queries,
                "the open-files limit is below what dns_max_queries lookups may hold; \
                 lower dns_max_queries or raise the limit"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = max_queries;
}

/// Returns the special-use suffix a lower-case name is under, if any.
pub fn special_use_suffix(name: &str) -> Option<&'static str> {
    let name = name.trim_end_matches('.');
    SPECIAL_USE.iter().copied().find(|suffix| {
        name.strip_suffix(suffix)
            .is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
    })
}

/// Tells whether an address is loopback, private (RFC 1918, unique-local), link-local,
/// shared (RFC 6598) or unspecified, or an IPv6 form of one of those: a host that mail
/// from the internet cannot reach.
pub fn is_private_or_loopback(ip: IpAddr) -> bool {
    fn v4(ip: Ipv4Addr) -> bool {
        let [a, b, ..] = ip.octets();
        ip.is_loopback()
            || ip.is_private()
            || ip.is_link_local()
            || ip.is_unspecified()
            || (a == 100 && (64..128).contains(&b))
    }
    fn v6(ip: Ipv6Addr) -> bool {
        let first = ip.segments()[0];
        ip.is_loopback()
            || ip.is_unspecified()
            || (first & 0xfe00) == 0xfc00
            || (first & 0xffc0) == 0xfe80
    }
    match ip {
        IpAddr::V4(ip) => v4(ip),
        IpAddr::V6(ip) => ip.to_ipv4_mapped().map_or_else(|| v6(ip), v4),
    }
}

/// Why a lookup could not decide: never a reason to call an address invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Failure {
    /// The server answered SERVFAIL.
    ServFail,
    /// The server refused to answer.
    Refused,
    /// No answer within the timeout and attempts.
    Timeout,
    /// Any other failure to ask (no connection, malformed answer, ...).
    Other,
}

/// How the first exchanger that has an address got it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Via {
    /// Its own A or AAAA records, as RFC 5321 wants.
    Name,
    /// An alias (CNAME): RFC 2181 10.3 forbids it for an exchanger, yet mail often flows.
    Cname,
    /// The exchanger is an IP address written as a name: not a host name, yet some
    /// mail servers deliver to it.
    IpLiteral,
}

/// What resolving a domain's exchangers found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Reach {
    /// An exchanger has an address: the first one in preference order that does.
    Reached {
        /// How it got its address.
        via: Via,
        /// Every address it has is private or loopback.
        private: bool,
    },
    /// No exchanger has an address: each is NXDOMAIN, has no A/AAAA, or is a special-use
    /// name. Mail to the domain bounces.
    Dangling,
    /// No exchanger has an address, and at least one lookup failed: nothing is known.
    Failed(Failure),
}

/// Where mail for a domain goes, as DNS tells it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Route {
    /// MX records: the exchangers, most preferred first (at most [`MAX_EXCHANGERS`]), and
    /// what resolving them found.
    Mx {
        /// The exchangers.
        hosts: Vec<String>,
        /// Whether one of them has an address.
        reach: Reach,
    },
    /// No MX, but A/AAAA records: the domain itself is the implicit MX (RFC 5321 5.1).
    Implicit {
        /// The domain.
        host: String,
        /// Every address it has is private or loopback.
        private: bool,
    },
    /// A null MX (RFC 7505): the domain states it accepts no mail.
    NullMx,
    /// NXDOMAIN: the domain does not exist.
    NoDomain,
    /// The domain exists but has no MX and no A/AAAA record.
    NoMailRoute,
    /// The lookup failed; nothing is known.
    Failed(Failure),
    /// The domain is a special-use or internal name: never asked.
    #[serde(skip)]
    SpecialUse(Suffix),
}

/// The special-use suffix a name is under (`"."` for a single-label name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suffix(pub &'static str);

impl Route {
    /// Tells whether the route holds a failure to ask, which stays local and brief.
    fn failed(&self) -> bool {
        matches!(
            self,
            Route::Failed(_)
                | Route::Mx {
                    reach: Reach::Failed(_),
                    ..
                }
        )
    }
}

/// The metric label of a route.
fn outcome(route: &Route) -> &'static str {
    match route {
        Route::Mx {
            reach: Reach::Reached { .. },
            ..
        } => "mx",
        Route::Mx {
            reach: Reach::Dangling,
            ..
        } => "mx_dangling",
        Route::Mx {
            reach: Reach::Failed(_),
            ..
        } => "mx_failed",
        Route::Implicit { .. } => "implicit_mx",
        Route::NullMx => "null_mx",
        Route::NoDomain => "nxdomain",
        Route::NoMailRoute => "no_mail_route",
        Route::Failed(Failure::ServFail) => "servfail",
        Route::Failed(Failure::Refused) => "refused",
        Route::Failed(Failure::Timeout) => "timeout",
        Route::Failed(Failure::Other) => "error",
        Route::SpecialUse(_) => "special_use",
    }
}

/// What DNS says of one exchanger host.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Host {
    /// It has addresses (at most [`MAX_ADDRESSES`]).
    Found {
        /// The addresses, A records first.
        ips: Vec<IpAddr>,
        /// How it got them.
        via: Via,
    },
    /// NXDOMAIN or no A/AAAA record (or a special-use name, never asked).
    Missing,
    /// The lookup failed; nothing is known.
    Failed(Failure),
}

/// The metric label of an exchanger lookup.
fn host_outcome(host: &Host) -> &'static str {
    match host {
        Host::Found { .. } => "address",
        Host::Missing => "no_address",
        Host::Failed(_) => "failed",
    }
}

/// A value with the time it may be kept, as a lookup gives it.
#[derive(Debug, Clone)]
struct Entry<V> {
    value: V,
    ttl: Duration,
}

/// The longest an answer is kept, whatever is configured: a bound the clock can add.
const MAX_TTL: Duration = Duration::from_secs(10 * 365 * 86_400);

/// A value in a cache, with the moment it expires.
#[derive(Debug)]
struct Cached<V> {
    value: V,
    expires: Instant,
}

/// The heap bytes a cached value holds beyond its own size.
trait HeapBytes {
    fn heap_bytes(&self) -> usize;
}

fn strings_bytes(strings: &[String]) -> usize {
    std::mem::size_of_val(strings) + strings.iter().map(String::len).sum::<usize>()
}

impl HeapBytes for Route {
    fn heap_bytes(&self) -> usize {
        match self {
            Route::Mx { hosts, .. } => strings_bytes(hosts),
            Route::Implicit { host, .. } => host.len(),
            _ => 0,
        }
    }
}

impl HeapBytes for Host {
    fn heap_bytes(&self) -> usize {
        match self {
            Host::Found { ips, .. } => ips.len() * std::mem::size_of::<IpAddr>(),
            _ => 0,
        }
    }
}

/// What an entry costs besides its key, value and heap: the Arc's counts, the cache's
/// slot (key, pointer, hash, state) and the allocator's rounding, about.
const ENTRY_OVERHEAD: usize = 96;

/// Weighs an entry in bytes, and at least `floor`, so that a cache of `floor * n` bytes
/// holds at most `n` entries however small they are.
#[derive(Clone)]
struct Bytes {
    floor: u64,
}

impl<V: HeapBytes> Weighter<String, Arc<Cached<V>>> for Bytes {
    fn weight(&self, key: &String, cached: &Arc<Cached<V>>) -> u64 {
        let bytes = key.len()
            + std::mem::size_of::<Cached<V>>()
            + cached.value.heap_bytes()
            + ENTRY_OVERHEAD;
        (bytes as u64).max(self.floor)
    }
}

/// A cache of values by name, each kept until it expires, weighed in bytes.
struct TtlCache<V> {
    cache: Cache<String, Arc<Cached<V>>, Bytes>,
}

impl<V: Clone + HeapBytes> TtlCache<V> {
    /// A cache of at most `bytes`, and of at most `items` entries when `bounded` (each
    /// weighs at least `bytes / items`); otherwise `items` only sizes its table.
    fn new(items: u64, bytes: u64, bounded: bool) -> TtlCache<V> {
        let items = items.max(1);
        let floor = if bounded { bytes / items } else { 0 };
        TtlCache {
            cache: Cache::with_weighter(
                usize::try_from(items).unwrap_or(usize::MAX),
                bytes,
                Bytes { floor },
            ),
        }
    }

    /// The value of a name with its remaining lifetime, when cached and fresh.
    fn get(&self, key: &str) -> Option<Entry<V>> {
        let cached = self.cache.get(key)?;
        let ttl = cached.expires.checked_duration_since(Instant::now())?;
        Some(Entry {
            value: cached.value.clone(),
            ttl,
        })
    }

    /// The value of a name with its remaining lifetime: from the cache, or from one
    /// `fetch` shared by every concurrent caller of that name.
    async fn get_or_fetch<F: Future<Output = Entry<V>>>(
        &self,
        key: &str,
        fetch: impl FnOnce() -> F,
    ) -> Entry<V> {
        // An entry another caller refreshed meanwhile is taken as it is; an expired one is
        // replaced under a guard, as a missing one is: callers of the same name wait for
        // the guard's holder and then read what it put.
        let guard = match self
            .cache
            .entry_async(key, |_, cached| {
                let now = Instant::now();
                if now < cached.expires {
                    EntryAction::Retain(Entry {
                        value: cached.value.clone(),
                        ttl: cached.expires - now,
                    })
                } else {
                    EntryAction::ReplaceWithGuard
                }
            })
            .await
        {
            EntryResult::Retained(entry) => return entry,
            EntryResult::Vacant(guard) | EntryResult::Replaced(guard, _) => Some(guard),
            // Neither is asked for (no Remove action, no timeout): look up uncached.
            EntryResult::Removed(..) | EntryResult::Timeout => None,
        };
        let mut entry = fetch().await;
        entry.ttl = entry.ttl.min(MAX_TTL);
        if let Some(guard) = guard {
            let _ = guard.insert(Arc::new(Cached {
                value: entry.value.clone(),
                expires: Instant::now() + entry.ttl,
            }));
        }
        entry
    }

    fn len(&self) -> u64 {
        self.cache.len() as u64
    }

    fn weight(&self) -> u64 {
        self.cache.weight()
    }
}

/// Looks up and caches the mail route of domains and the addresses of exchangers.
pub struct MailRoutes {
    resolver: Upstream,
    routes: TtlCache<Route>,
    hosts: TtlCache<Host>,
    config: DnsConfig,
    /// One permit per DNS lookup in flight (`max_queries`).
    queries: Semaphore,
    /// The Redis tier shared by replicas, asked on a local miss.
    shared: Option<Arc<SharedCache>>,
    /// The spans of the lookups, for the calls that wait on one: only with traces on.
    lookups: Option<telemetry::Lookups>,
}

impl MailRoutes {
    /// Sets up the name servers (the system's unless servers are given) and the caches.
    /// Names are always asked fully qualified (no search list), and never of the hosts
    /// file; only our caches keep answers, bounded in bytes.
    pub fn new(config: DnsConfig) -> Result<MailRoutes, NetError> {
        let resolver = if config.servers.is_empty() {
            Upstream::system(config.timeout, config.attempts)?
        } else {
            Upstream::new(&config.servers, config.timeout, config.attempts)
        };
        let exchanger_bytes = config.cache_bytes / 4;
        Ok(MailRoutes {
            resolver,
            routes: TtlCache::new(
                config.cache_capacity,
                config.cache_bytes - exchanger_bytes,
                true,
            ),
            hosts: TtlCache::new(config.cache_capacity / 4, exchanger_bytes, false),
            queries: Semaphore::new(config.max_queries.clamp(1, Semaphore::MAX_PERMITS)),
            config,
            shared: None,
            lookups: telemetry::Lookups::when_on(),
        })
    }

    /// Shares routes and exchangers with other replicas through Redis: read on a local
    /// miss, written after a lookup (failures stay local: they are this replica's view of
    /// the network).
    pub fn with_shared(mut self, shared: Option<Arc<SharedCache>>) -> MailRoutes {
        self.shared = shared;
        self
    }

    /// Returns the special-use suffix a lower-case name is under, unless that suffix is
    /// allowed; a single-label name is `"."`, never allowed.
    pub fn special_use(&self, name: &str) -> Option<&'static str> {
        if !name.trim_end_matches('.').contains('.') {
            return Some(".");
        }
        special_use_suffix(name).filter(|suffix| {
            !self
                .config
                .allow_suffixes
                .iter()
                .any(|allowed| allowed.trim_matches('.').eq_ignore_ascii_case(suffix))
                || *suffix == "localhost"
        })
    }

    /// Returns the mail route of an ASCII domain, from the cache or from one lookup shared
    /// by every concurrent caller. A special-use name is never asked.
    pub async fn route(&self, domain: &str) -> Route {
        let name = domain.trim_end_matches('.');
        // Domains come lower-cased from the syntax check: no copy to look one up.
        let key = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(name.to_ascii_lowercase())
        } else {
            Cow::Borrowed(name)
        };
        if let Some(cached) = self.routes.get(&key) {
            metrics::record_cache("dns", true);
            return cached.value;
        }
        if let Some(suffix) = self.special_use(&key) {
            return Route::SpecialUse(Suffix(suffix));
        }
        metrics::record_cache("dns", false);
        let mut looked_up = false;
        // Boxed: the lookup's future is kilobytes, and inline it would be copied with
        // every lead's future even when, as nearly always, the cache answers.
        let entry = Box::pin(self.routes.get_or_fetch(&key, || {
            looked_up = true;
            self.resolve(&key)
        }))
        .await;
        // A call that waited on another's lookup (or took its fresh answer) links to
        // that lookup's span: one lookup, one span.
        if let Some(lookups) = self.lookups.as_ref().filter(|_| !looked_up) {
            lookups.link(&key);
        }
        entry.value
    }

    /// The route of a domain from Redis, or from DNS (then shared through Redis).
    async fn resolve(&self, key: &str) -> Entry<Route> {
        // Its span is made once Redis has missed, when DNS is asked. Its attributes are
        // the domain and the outcome: never the address it is the domain of.
        let lookup = || async {
            let span = tracing::debug_span!(
                "dns lookup",
                otel.kind = "client",
                dns.question.name = key,
                leadcheck.dns.outcome = tracing::field::Empty,
            );
            if let Some(lookups) = &self.lookups {
                lookups.started(key, &span);
            }
            let entry = self.lookup(key).instrument(span.clone()).await;
            span.record("leadcheck.dns.outcome", outcome(&entry.value));
            entry
        };
        self.shared_or_lookup(Kind::Dns, key, lookup, |route, took| {
            metrics::record_dns(outcome(route), took);
            !route.failed()
        })
        .await
    }

    /// An entry from Redis, or from the lookup `lookup` makes (recorded by `record`, which
    /// tells whether to share it: failures stay local, they are this replica's view of the
    /// network).
    ///
    /// The lookup is made only once Redis has missed, and Redis's read is boxed: a future
    /// held across the read would take room for itself twice in this one's state, and
    /// every lookup waiting on the resolver holds that state.
    async fn shared_or_lookup<V, F>(
        &self,
        kind: Kind,
        key: &str,
        lookup: impl FnOnce() -> F,
        record: impl FnOnce(&V, Duration) -> bool,
    ) -> Entry<V>
    where
        V: serde::Serialize + serde::de::DeserializeOwned,
        F: Future<Output = Entry<V>>,
    {
        if let Some(shared) = &self.shared {
            if let Some((value, left)) = Box::pin(shared.get::<V>(kind, key)).await {
                return Entry {
                    value,
                    ttl: left.min(self.config.max_ttl.max(self.config.min_ttl)),
                };
            }
        }
        let started = Instant::now();
        let entry = lookup().await;
        let share = record(&entry.value, started.elapsed());
        if let Some(shared) = self.shared.as_ref().filter(|_| share) {
            shared.put(kind, key, &entry.value, entry.ttl);
        }
        entry
    }

    /// Runs the DNS lookup `lookup` makes under the cap on lookups in flight, made once
    /// there is room for it (not held beside the wait for a slot).
    async fn ask<F: Future>(&self, lookup: impl FnOnce() -> F) -> F::Output {
        let _permit = match self.queries.try_acquire() {
            Ok(permit) => Some(permit),
            Err(_) => {
                metrics::record_dns_query_wait();
                // The semaphore is never closed; were it, the lookup goes on uncapped.
                self.queries.acquire().await.ok()
            }
        };
        lookup().await
    }

    /// Asks DNS: MX first, then A and AAAA when there is no MX; then the exchangers.
    async fn lookup(&self, domain: &str) -> Entry<Route> {
        let fqdn = format!("{domain}.");
        match self
            .ask(|| self.resolver.query(&fqdn, RecordType::MX))
            .await
        {
            Ok(lookup) => {
                let ttl = self.positive_ttl(lookup.valid_until());
                let mut mx: Vec<(u16, &hickory_resolver::proto::rr::Name)> = lookup
                    .answers()
                    .iter()
                    .filter_map(|record| match &record.data {
                        RData::MX(mx) => Some((mx.preference, &mx.exchange)),
                        _ => None,
                    })
                    .collect();
                // RFC 7505: a single MX whose exchange is the root means "no mail".
                if !mx.is_empty() && mx.iter().all(|(_, host)| host.is_root()) {
                    return Entry {
                        value: Route::NullMx,
                        ttl,
                    };
                }
                mx.retain(|(_, host)| !host.is_root());
                mx.sort_unstable();
                mx.dedup_by(|a, b| a.1 == b.1);
                if mx.len() > MAX_EXCHANGERS {
                    metrics::record_dns_capped();
                    mx.truncate(MAX_EXCHANGERS);
                }
                let hosts: Vec<String> = mx
                    .iter()
                    .map(|(_, host)| host.to_ascii().trim_end_matches('.').to_ascii_lowercase())
                    .collect();
                if hosts.is_empty() {
                    // Boxed: a rare path whose two lookups at once would double the
                    // state of every lookup waiting on the resolver.
                    return Box::pin(self.implicit_mx(domain, &fqdn)).await;
                }
                let reach = self.reach(&hosts).await;
                let ttl = match reach.value {
                    Reach::Failed(_) => self.config.failure_ttl,
                    _ => ttl.min(reach.ttl),
                };
                Entry {
                    value: Route::Mx {
                        hosts,
                        reach: reach.value,
                    },
                    ttl,
                }
            }
            Err(err) if err.is_nx_domain() => Entry {
                value: Route::NoDomain,
                ttl: self.negative_ttl(&err),
            },
            // Boxed, as above.
            Err(err) if err.is_no_records_found() => {
                Box::pin(self.implicit_mx(domain, &fqdn)).await
            }
            Err(err) => self.failure(&err, Route::Failed),
        }
    }

    /// No MX: an A or AAAA record makes the domain its own exchanger.
    async fn implicit_mx(&self, domain: &str, fqdn: &str) -> Entry<Route> {
        let (v4, v6) = tokio::join!(
            self.ask(|| self.resolver.query(fqdn, RecordType::A)),
            self.ask(|| self.resolver.query(fqdn, RecordType::AAAA))
        );
        match (v4, v6) {
            (Ok(lookup), _) | (_, Ok(lookup)) if !lookup.answers().is_empty() => Entry {
                value: Route::Implicit {
                    host: domain.to_string(),
                    private: addresses(&lookup)
                        .iter()
                        .all(|ip| is_private_or_loopback(*ip)),
                },
                ttl: self.positive_ttl(lookup.valid_until()),
            },
            (Err(err), _) | (_, Err(err)) if !err.is_no_records_found() => {
                self.failure(&err, Route::Failed)
            }
            (Err(err), _) => Entry {
                value: if err.is_nx_domain() {
                    Route::NoDomain
                } else {
                    Route::NoMailRoute
                },
                ttl: self.negative_ttl(&err),
            },
            _ => Entry {
                value: Route::NoMailRoute,
                ttl: self.config.negative_ttl,
            },
        }
    }

    /// Resolves the exchangers in preference order until one has an address; the entry's
    /// time is the shortest of the answers it rests on.
    async fn reach(&self, hosts: &[String]) -> Entry<Reach> {
        let mut failure = None;
        let mut ttl = MAX_TTL;
        for host in hosts {
            let entry = self.host(host).await;
            ttl = ttl.min(entry.ttl);
            match entry.value {
                Host::Found { ips, via } => {
                    return Entry {
                        value: Reach::Reached {
                            via,
                            private: ips.iter().all(|ip| is_private_or_loopback(*ip)),
                        },
                        ttl,
                    }
                }
                Host::Missing => {}
                Host::Failed(f) => failure = failure.or(Some(f)),
            }
        }
        Entry {
            value: failure.map_or(Reach::Dangling, Reach::Failed),
            ttl,
        }
    }

    /// What DNS says of one exchanger: an IP address written as a name is its own
    /// address, a special-use name has none; any other is cached per host and looked up
    /// once for every domain and caller that asks meanwhile.
    async fn host(&self, host: &str) -> Entry<Host> {
        let host = host.trim_end_matches('.');
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Entry {
                value: Host::Found {
                    ips: vec![ip],
                    via: Via::IpLiteral,
                },
                ttl: MAX_TTL,
            };
        }
        if self.special_use(host).is_some() {
            return Entry {
                value: Host::Missing,
                ttl: MAX_TTL,
            };
        }
        if let Some(cached) = self.hosts.get(host) {
            metrics::record_cache("exchanger", true);
            return cached;
        }
        metrics::record_cache("exchanger", false);
        Box::pin(self.hosts.get_or_fetch(host, || self.resolve_host(host))).await
    }

    /// The addresses of an exchanger from Redis, or from DNS (then shared through Redis).
    async fn resolve_host(&self, host: &str) -> Entry<Host> {
        self.shared_or_lookup(
            Kind::Exchanger,
            host,
            || self.lookup_host(host),
            |found, took| {
                metrics::record_exchanger(host_outcome(found), took);
                !matches!(found, Host::Failed(_))
            },
        )
        .await
    }

    /// Asks DNS for an exchanger's A records, and for AAAA when it has no A.
    async fn lookup_host(&self, host: &str) -> Entry<Host> {
        let fqdn = format!("{host}.");
        let mut last = None;
        for rtype in [RecordType::A, RecordType::AAAA] {
            match self.ask(|| self.resolver.query(&fqdn, rtype)).await {
                Ok(lookup) => {
                    let ips = addresses(&lookup);
                    if !ips.is_empty() {
                        let cname = lookup
                            .answers()
                            .iter()
                            .any(|record| matches!(record.data, RData::CNAME(_)));
                        return Entry {
                            value: Host::Found {
                                ips,
                                via: if cname { Via::Cname } else { Via::Name },
                            },
                            ttl: self.positive_ttl(lookup.valid_until()),
                        };
                    }
                }
                // No such host: no AAAA either.
                Err(err) if err.is_nx_domain() => {
                    return Entry {
                        value: Host::Missing,
                        ttl: self.negative_ttl(&err),
                    }
                }
                Err(err) if err.is_no_records_found() => last = Some(err),
                Err(err) => return self.failure(&err, Host::Failed),
            }
        }
        Entry {
            value: Host::Missing,
            ttl: last.map_or(self.config.negative_ttl, |err| self.negative_ttl(&err)),
        }
    }

    fn positive_ttl(&self, valid_until: Instant) -> Duration {
        valid_until.saturating_duration_since(Instant::now()).clamp(
            self.config.min_ttl,
            self.config.max_ttl.max(self.config.min_ttl),
        )
    }

    fn negative_ttl(&self, err: &NetError) -> Duration {
        let soa_ttl = match err {
            NetError::Dns(hickory_resolver::net::DnsError::NoRecordsFound(no)) => {
                no.negative_ttl.map(|s| Duration::from_secs(u64::from(s)))
            }
            _ => None,
        };
        soa_ttl
            .unwrap_or(self.config.negative_ttl)
            .clamp(self.config.failure_ttl, self.config.negative_ttl)
    }

    /// A failure to ask, kept for the failure TTL.
    fn failure<V>(&self, err: &NetError, value: impl FnOnce(Failure) -> V) -> Entry<V> {
        let failure = match err {
            NetError::Dns(hickory_resolver::net::DnsError::ResponseCode(
                ResponseCode::ServFail,
            )) => Failure::ServFail,
            NetError::Dns(hickory_resolver::net::DnsError::ResponseCode(ResponseCode::Refused)) => {
                Failure::Refused
            }
            NetError::Timeout => Failure::Timeout,
            _ => Failure::Other,
        };
        tracing::debug!(error = %err, "dns lookup failed");
        Entry {
            value: value(failure),
            ttl: self.config.failure_ttl,
        }
    }

    /// Returns the addresses of an exchanger host (A, or AAAA when it has no A), for the
    /// SMTP probe: from the exchanger cache, which the DNS step has usually filled.
    pub async fn host_ips(&self, host: &str) -> Vec<IpAddr> {
        match self.host(host).await.value {
            Host::Found { ips, .. } => ips,
            Host::Missing | Host::Failed(_) => Vec::new(),
        }
    }

    /// Returns how many domains the cache holds, expired ones not yet replaced or
    /// evicted included.
    pub fn cached_domains(&self) -> u64 {
        self.routes.len()
    }

    /// Returns how many exchangers the cache holds, expired ones included.
    pub fn cached_exchangers(&self) -> u64 {
        self.hosts.len()
    }

    /// Returns the bytes the caches hold by their weighing (domains and exchangers).
    pub fn cached_bytes(&self) -> u64 {
        self.routes.weight() + self.hosts.weight()
    }
}

/// The A and AAAA addresses of an answer, at most [`MAX_ADDRESSES`].
fn addresses(lookup: &Answer) -> Vec<IpAddr> {
    lookup
        .answers()
        .iter()
        .filter_map(|record| match &record.data {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            RData::AAAA(aaaa) => Some(IpAddr::V6(aaaa.0)),
            _ => None,
        })
        .take(MAX_ADDRESSES)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::DnsServer;

    fn routes(dns: &DnsServer, cache_bytes: u64) -> MailRoutes {
        MailRoutes::new(DnsConfig {
            servers: vec![dns.addr()],
            timeout: Duration::from_millis(500),
            attempts: 1,
            cache_bytes,
            allow_suffixes: vec!["test".into()],
            ..DnsConfig::default()
        })
        .unwrap()
    }

    /// Every lookup waiting on the resolver holds its state, thousands at once in a cold
    /// batch: a domain's and an exchanger's stay within twice the question's own future
    /// (600 bytes in an optimised build; 1,160 and 976 bytes in all), where a future held
    /// across an await took room for itself twice (6,320 and 2,816 bytes).
    #[tokio::test]
    async fn a_lookup_waiting_on_the_resolver_holds_little_state() {
        let dns = DnsServer::start().await.unwrap();
        let routes = routes(&dns, 1 << 20);
        let resolver_own = std::mem::size_of_val(&routes.resolver.query("a.test.", RecordType::MX));
        for (what, size) in [
            (
                "a domain's",
                std::mem::size_of_val(&routes.resolve("a.test")),
            ),
            (
                "an exchanger's",
                std::mem::size_of_val(&routes.resolve_host("mx.a.test")),
            ),
        ] {
            assert!(
                size <= 2 * resolver_own + 1024,
                "{what} lookup holds {size} bytes (the resolver's own {resolver_own})"
            );
        }
    }

    #[tokio::test]
    async fn a_zone_of_thousands_of_exchangers_keeps_ten_over_tcp() {
        let dns = DnsServer::start().await.unwrap();
        // 1,500 records: about 55 KB, over TCP (the most a TCP answer holds is 64 KiB).
        let records: Vec<(u16, String)> = (0..1500u16)
            .map(|i| (1500 - i, format!("m{i}.mf.com")))
            .collect();
        let records: Vec<(u16, &str)> = records.iter().map(|(p, h)| (*p, h.as_str())).collect();
        dns.mx("farm.com", &records);
        let routes = routes(&dns, 1 << 20);
        let route = routes.route("farm.com").await;
        let Route::Mx { hosts, reach } = route else {
            panic!("{route:?}");
        };
        assert_eq!(hosts.len(), MAX_EXCHANGERS);
        assert_eq!(hosts[0], "m1499.mf.com");
        assert!(matches!(reach, Reach::Reached { .. }), "{reach:?}");
    }

    #[test]
    fn special_use_names_are_matched_by_whole_labels() {
        for (name, suffix) in [
            ("db.localhost", Some("localhost")),
            ("printer.local", Some("local")),
            ("nas.home.arpa", Some("home.arpa")),
            ("db.internal", Some("internal")),
            ("a.b.test", Some("test")),
            ("test", Some("test")),
            ("contoso.com", None),
            ("mylocal.com", None),
            ("notlocal", None),
            ("arpa.com", None),
            ("x.arpa", None),
            ("latest", None),
        ] {
            assert_eq!(special_use_suffix(name), suffix, "{name}");
        }
    }

    #[tokio::test]
    async fn allowed_suffixes_are_looked_up_but_never_localhost_or_a_single_label() {
        let dns = DnsServer::start().await.unwrap();
        let routes = routes(&dns, 1 << 20);
        assert_eq!(routes.special_use("contoso.test"), None);
        assert_eq!(routes.special_use("db.internal"), Some("internal"));
        assert_eq!(routes.special_use("db.localhost"), Some("localhost"));
        assert_eq!(routes.special_use("mailhost"), Some("."));
        assert!(check_allow_suffixes(&["test".into(), ".Internal".into()]).is_ok());
        assert!(check_allow_suffixes(&["localhost".into()]).is_err());
        assert!(check_allow_suffixes(&["com".into()]).is_err());
    }

    #[test]
    fn private_and_loopback_addresses_are_told_apart_from_public_ones() {
        for (ip, private) in [
            ("127.0.0.1", true),
            ("10.1.2.3", true),
            ("172.16.0.1", true),
            ("192.168.1.1", true),
            ("169.254.169.254", true),
            ("100.64.0.1", true),
            ("0.0.0.0", true),
            ("::1", true),
            ("fd00::1", true),
            ("fe80::1", true),
            ("::ffff:10.0.0.1", true),
            ("192.0.2.1", false),
            ("8.8.8.8", false),
            ("2001:4860::1", false),
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(is_private_or_loopback(ip), private, "{ip}");
        }
    }

    fn fat_route(i: usize) -> Route {
        Route::Mx {
            hosts: (0..MAX_EXCHANGERS)
                .map(|n| format!("{n}.{}.{i}.example.com", "x".repeat(200)))
                .collect(),
            reach: Reach::Dangling,
        }
    }

    #[tokio::test]
    async fn the_cache_holds_no_more_bytes_than_its_ceiling_whatever_the_entries() {
        let ceiling = 256 * 1024;
        let cache: TtlCache<Route> = TtlCache::new(200_000, ceiling, true);
        let entry = |value| async move {
            Entry {
                value,
                ttl: Duration::from_secs(600),
            }
        };
        // Entries of 2 KiB and more: a ceiling of 256 KiB keeps about a hundred.
        for i in 0..2_000 {
            cache
                .get_or_fetch(&format!("fat{i}.com"), || entry(fat_route(i)))
                .await;
        }
        assert!(cache.weight() <= ceiling, "{}", cache.weight());
        assert!(cache.len() < 130, "{} entries", cache.len());
        assert!(
            cache.weight() >= cache.len() * 2048,
            "entries are weighed by their bytes"
        );
        // Small entries: the count bound holds as well (each weighs at least
        // ceiling / items).
        let cache: TtlCache<Route> = TtlCache::new(100, ceiling, true);
        for i in 0..1_000 {
            cache
                .get_or_fetch(&format!("d{i}.com"), || entry(Route::NoDomain))
                .await;
        }
        assert!(cache.len() <= 100, "{} entries", cache.len());
    }
}
