//! DNS: where mail for a domain goes (MX, null MX, implicit MX), cached per domain.
//!
//! One [`MailRoutes`] serves the whole process. Answers are cached for the record's TTL
//! clamped to configured bounds, NXDOMAIN and "no mail route" for a negative TTL,
//! transient failures (SERVFAIL, REFUSED, timeouts) for a short one. Concurrent callers
//! asking for one domain share one lookup, so a burst of leads at a fresh domain costs one
//! query per record type, not one per lead.
//!
//! The cache is quick_cache, not moka: nearly every lead reads it and nearly every read
//! hits, and moka's read path (its access log and the maintenance that reads trigger) cost
//! about 4% of the server's CPU in a warm stream (perf). Each entry carries the moment it
//! expires; a read checks it, and an expired entry is replaced under the same
//! one-lookup-per-domain guard as a missing one.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::NetError;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::{Resolver, TokioResolver};
use quick_cache::sync::{Cache, EntryAction, EntryResult};

use crate::metrics;
use crate::shared_cache::{Kind, SharedCache};

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
        }
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

/// Where mail for a domain goes, as DNS tells it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Route {
    /// MX records: the exchangers, most preferred first.
    Mx(Vec<String>),
    /// No MX, but A/AAAA records: the domain itself is the implicit MX (RFC 5321 5.1).
    Implicit(String),
    /// A null MX (RFC 7505): the domain states it accepts no mail.
    NullMx,
    /// NXDOMAIN: the domain does not exist.
    NoDomain,
    /// The domain exists but has no MX and no A/AAAA record.
    NoMailRoute,
    /// The lookup failed; nothing is known.
    Failed(Failure),
}

/// The metric label of a route.
fn outcome(route: &Route) -> &'static str {
    match route {
        Route::Mx(_) => "mx",
        Route::Implicit(_) => "implicit_mx",
        Route::NullMx => "null_mx",
        Route::NoDomain => "nxdomain",
        Route::NoMailRoute => "no_mail_route",
        Route::Failed(Failure::ServFail) => "servfail",
        Route::Failed(Failure::Refused) => "refused",
        Route::Failed(Failure::Timeout) => "timeout",
        Route::Failed(Failure::Other) => "error",
    }
}

/// A route with the time it may be kept, as a lookup gives it.
#[derive(Debug, Clone)]
struct Entry {
    route: Route,
    ttl: Duration,
}

/// The longest an answer is kept, whatever is configured: a bound the clock can add.
const MAX_TTL: Duration = Duration::from_secs(10 * 365 * 86_400);

/// A route in the cache, with the moment it expires.
#[derive(Debug)]
struct Cached {
    route: Route,
    expires: Instant,
}

impl Cached {
    fn fresh(&self) -> bool {
        Instant::now() < self.expires
    }
}

/// Looks up and caches the mail route of domains.
pub struct MailRoutes {
    resolver: TokioResolver,
    cache: Cache<String, Arc<Cached>>,
    config: DnsConfig,
    /// The Redis tier shared by replicas, asked on a local miss.
    shared: Option<Arc<SharedCache>>,
}

impl MailRoutes {
    /// Builds the resolver (system configuration unless servers are given) and the cache.
    pub fn new(config: DnsConfig) -> Result<MailRoutes, NetError> {
        let mut opts = ResolverOpts::default();
        opts.timeout = config.timeout;
        opts.attempts = config.attempts.max(1);
        // Names are always asked fully qualified: no search-list queries.
        opts.ndots = 0;
        let resolver = if config.servers.is_empty() {
            let mut builder = TokioResolver::builder_tokio()?;
            *builder.options_mut() = opts;
            builder.build()?
        } else {
            opts.use_hosts_file = ResolveHosts::Never;
            let servers = config
                .servers
                .iter()
                .map(|addr| {
                    let mut udp = ConnectionConfig::udp();
                    udp.port = addr.port();
                    let mut tcp = ConnectionConfig::tcp();
                    tcp.port = addr.port();
                    NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
                })
                .collect();
            let resolver_config = ResolverConfig::from_parts(None, vec![], servers);
            Resolver::builder_with_config(resolver_config, TokioRuntimeProvider::default())
                .with_options(opts)
                .build()?
        };
        let cache = Cache::new(usize::try_from(config.cache_capacity).unwrap_or(usize::MAX));
        Ok(MailRoutes {
            resolver,
            cache,
            config,
            shared: None,
        })
    }

    /// Shares routes with other replicas through Redis: read on a local miss, written
    /// after a lookup (failures stay local: they are this replica's view of the network).
    pub fn with_shared(mut self, shared: Option<Arc<SharedCache>>) -> MailRoutes {
        self.shared = shared;
        self
    }

    /// Returns the mail route of an ASCII domain, from the cache or from one lookup shared
    /// by every concurrent caller.
    pub async fn route(&self, domain: &str) -> Route {
        let name = domain.trim_end_matches('.');
        // Domains come lower-cased from the syntax check: no copy to look one up.
        let key = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(name.to_ascii_lowercase())
        } else {
            Cow::Borrowed(name)
        };
        if let Some(cached) = self.cache.get(key.as_ref()) {
            if cached.fresh() {
                metrics::record_cache("dns", true);
                return cached.route.clone();
            }
        }
        metrics::record_cache("dns", false);
        // Boxed: the lookup's future is kilobytes, and inline it would be copied with
        // every lead's future even when, as nearly always, the cache answers.
        Box::pin(self.fetch(key.into_owned())).await
    }

    /// The route of a domain the local cache lacks (or holds expired): from Redis, or one
    /// lookup shared by every concurrent caller.
    async fn fetch(&self, key: String) -> Route {
        // An entry another caller refreshed meanwhile is taken as it is; an expired one is
        // replaced under a guard, as a missing one is: callers of the same domain wait for
        // the guard's holder and then read what it put.
        let guard = match self
            .cache
            .entry_async(&key, |_, cached| {
                if cached.fresh() {
                    EntryAction::Retain(cached.route.clone())
                } else {
                    EntryAction::ReplaceWithGuard
                }
            })
            .await
        {
            EntryResult::Retained(route) => return route,
            EntryResult::Vacant(guard) | EntryResult::Replaced(guard, _) => Some(guard),
            // Neither is asked for (no Remove action, no timeout): look up uncached.
            EntryResult::Removed(..) | EntryResult::Timeout => None,
        };
        let entry = self.resolve(&key).await;
        if let Some(guard) = guard {
            let _ = guard.insert(Arc::new(Cached {
                route: entry.route.clone(),
                expires: Instant::now() + entry.ttl.min(MAX_TTL),
            }));
        }
        entry.route
    }

    /// The route of a domain from Redis, or from DNS (then shared through Redis).
    async fn resolve(&self, key: &str) -> Entry {
        if let Some(shared) = &self.shared {
            if let Some((route, left)) = shared.get::<Route>(Kind::Dns, key).await {
                let ttl = left.min(self.config.max_ttl.max(self.config.min_ttl));
                return Entry { route, ttl };
            }
        }
        let started = Instant::now();
        let entry = self.lookup(key).await;
        metrics::record_dns(outcome(&entry.route), started.elapsed());
        if let Some(shared) = &self.shared {
            if !matches!(entry.route, Route::Failed(_)) {
                shared.put(Kind::Dns, key, &entry.route, entry.ttl);
            }
        }
        entry
    }

    /// Asks DNS: MX first, then A and AAAA when there is no MX.
    async fn lookup(&self, domain: &str) -> Entry {
        let fqdn = format!("{domain}.");
        match self.resolver.mx_lookup(fqdn.as_str()).await {
            Ok(lookup) => {
                let mut mx: Vec<(u16, String)> = lookup
                    .answers()
                    .iter()
                    .filter_map(|record| match &record.data {
                        RData::MX(mx) => Some((
                            mx.preference,
                            mx.exchange.to_ascii().trim_end_matches('.').to_string(),
                        )),
                        _ => None,
                    })
                    .collect();
                let ttl = self.positive_ttl(lookup.valid_until());
                mx.sort();
                // RFC 7505: a single MX whose exchange is the root means "no mail".
                if mx.iter().all(|(_, host)| host.is_empty()) && !mx.is_empty() {
                    return Entry {
                        route: Route::NullMx,
                        ttl,
                    };
                }
                let hosts: Vec<String> = mx
                    .into_iter()
                    .map(|(_, host)| host)
                    .filter(|host| !host.is_empty())
                    .collect();
                if hosts.is_empty() {
                    return self.implicit_mx(domain, &fqdn).await;
                }
                Entry {
                    route: Route::Mx(hosts),
                    ttl,
                }
            }
            Err(err) if err.is_nx_domain() => Entry {
                route: Route::NoDomain,
                ttl: self.negative_ttl(&err),
            },
            Err(err) if err.is_no_records_found() => self.implicit_mx(domain, &fqdn).await,
            Err(err) => self.failure(&err),
        }
    }

    /// No MX: an A or AAAA record makes the domain its own exchanger.
    async fn implicit_mx(&self, domain: &str, fqdn: &str) -> Entry {
        let (v4, v6) = tokio::join!(
            self.resolver.lookup(fqdn, RecordType::A),
            self.resolver.lookup(fqdn, RecordType::AAAA)
        );
        match (v4, v6) {
            (Ok(lookup), _) | (_, Ok(lookup)) if !lookup.answers().is_empty() => Entry {
                route: Route::Implicit(domain.to_string()),
                ttl: self.positive_ttl(lookup.valid_until()),
            },
            (Err(err), _) | (_, Err(err)) if !err.is_no_records_found() => self.failure(&err),
            (Err(err), _) => Entry {
                route: if err.is_nx_domain() {
                    Route::NoDomain
                } else {
                    Route::NoMailRoute
                },
                ttl: self.negative_ttl(&err),
            },
            _ => Entry {
                route: Route::NoMailRoute,
                ttl: self.config.negative_ttl,
            },
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

    fn failure(&self, err: &NetError) -> Entry {
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
            route: Route::Failed(failure),
            ttl: self.config.failure_ttl,
        }
    }

    /// Returns the addresses of an exchanger host (A and AAAA), for the SMTP probe.
    pub async fn host_ips(&self, host: &str) -> Vec<std::net::IpAddr> {
        match self
            .resolver
            .lookup_ip(format!("{}.", host.trim_end_matches('.')))
            .await
        {
            Ok(lookup) => lookup.iter().collect(),
            Err(err) => {
                tracing::debug!(error = %err, "exchanger address lookup failed");
                Vec::new()
            }
        }
    }

    /// Returns how many domains the cache holds, expired ones not yet replaced or
    /// evicted included.
    pub fn cached_domains(&self) -> u64 {
        self.cache.len() as u64
    }
}
