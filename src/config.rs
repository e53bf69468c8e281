//! Configuration: one struct with documented defaults, filled from an optional TOML file,
//! then `LEADCHECK_*` environment variables, then flags (each overriding the one before).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::email::dns::DnsConfig;
use crate::email::smtp::ProbeConfig;

/// How a `--spam-domains` / `--allow-domains` file combines with the bundled list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ListsMode {
    /// The file adds to the bundled list.
    Extend,
    /// The file replaces the bundled list.
    Replace,
}

/// Whether gRPC server reflection is served, and to whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Reflection {
    /// Served to everyone, even when auth is on (grpcurl works without a token).
    Open,
    /// Served to callers with a valid token, like LeadCheck itself.
    Auth,
    /// Not served.
    Off,
}

/// The format of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line.
    Json,
}

/// Everything the service can be told. Keys of the TOML file are the field names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the gRPC server listens on. Default `127.0.0.1:50051`.
    pub listen: SocketAddr,
    /// DNS servers to ask (`IP:PORT`); empty means the system resolver.
    pub dns_servers: Vec<SocketAddr>,
    /// Timeout of one DNS query, in milliseconds. Default 2000.
    pub dns_timeout_ms: u64,
    /// Attempts per DNS query. Default 2.
    pub dns_attempts: usize,
    /// Shortest time a positive DNS answer is cached, in seconds. Default 60.
    pub dns_min_ttl_secs: u64,
    /// Longest time a positive DNS answer is cached, in seconds. Default 21600 (6 h).
    pub dns_max_ttl_secs: u64,
    /// Longest time NXDOMAIN / no-mail-route answers are cached, in seconds. Default 900.
    pub dns_negative_ttl_secs: u64,
    /// Time a DNS failure (SERVFAIL, timeout) is cached, in seconds. Default 5.
    pub dns_failure_ttl_secs: u64,
    /// Most domains held in the DNS cache. Default 200000.
    pub dns_cache_capacity: u64,
    /// Most bytes held by the DNS caches (domains' routes three quarters, exchangers'
    /// addresses a quarter), by their weighing. Default 134217728 (128 MiB).
    pub dns_cache_bytes: u64,
    /// Most DNS lookups in flight at once (each holds a UDP socket); more wait for a free
    /// slot. Default 4096.
    pub dns_max_queries: usize,
    /// Special-use suffixes that are looked up anyway, for lab and test zones (`test`,
    /// `internal`, ...; never `localhost`). Default none.
    pub dns_allow_suffixes: Vec<String>,
    /// A file of spam/disposable domains, one a line; reloaded on change and on SIGHUP.
    pub spam_domains: Option<PathBuf>,
    /// A file of domains that are never SPAM, one a line; reloaded likewise.
    pub allow_domains: Option<PathBuf>,
    /// Whether the list files extend or replace the bundled lists. Default `extend`.
    pub lists_mode: ListsMode,
    /// How often the list files are checked for changes, in seconds. Default 5.
    pub lists_poll_secs: u64,
    /// Probe mailboxes over SMTP. Default off.
    pub smtp_probe: bool,
    /// Name sent in EHLO by the probe. Default `leadcheck.localhost`.
    pub smtp_helo: String,
    /// Address sent in MAIL FROM by the probe. Default `probe@leadcheck.localhost`.
    pub smtp_from: String,
    /// Port of the exchangers the probe connects to. Default 25.
    pub smtp_port: u16,
    /// Connect and command timeout of the probe, in milliseconds. Default 5000.
    pub smtp_timeout_ms: u64,
    /// Let the probe connect to loopback, private and link-local addresses. Default off.
    pub smtp_allow_private: bool,
    /// Most concurrent SMTP sessions per domain. Default 2.
    pub smtp_per_domain: usize,
    /// Most concurrent SMTP sessions with one exchanger address, whatever the domains
    /// that point at it. Default 4.
    pub smtp_per_ip: usize,
    /// Most concurrent SMTP sessions of the process. Default 64.
    pub smtp_max_sessions: usize,
    /// Longest wait for a free SMTP session slot, in milliseconds; past it the address is
    /// not probed (`smtp.busy`). Default 10000.
    pub smtp_slot_wait_ms: u64,
    /// A scoring model file (TOML) that replaces the bundled model.
    pub scoring: Option<PathBuf>,
    /// Most phone verdicts held in the cache (about 650 bytes each, measured). Default 20000.
    pub phone_cache_capacity: u64,
    /// Most leads of one AssessLeads stream validated at once. Default 64.
    pub stream_in_flight: usize,
    /// Largest request or response message, in bytes. Default 1048576 (1 MiB).
    pub max_message_bytes: usize,
    /// Most calls served at once by the process; past it calls are shed at once with
    /// RESOURCE_EXHAUSTED rather than queued. Default 1024.
    pub max_concurrent_calls: usize,
    /// Most concurrent HTTP/2 streams (calls) per connection. Default 256.
    pub max_streams_per_connection: u32,
    /// Most `AssessLeads` streams open at once in the process, each holding its slot for
    /// its whole life; past it a new stream is refused at once with RESOURCE_EXHAUSTED.
    /// Default 256.
    pub max_lead_streams: usize,
    /// Longest time an `AssessLeads` stream may go without a lead received or an answer
    /// sent, in seconds, before it ends DEADLINE_EXCEEDED (0: no limit). Default 120.
    pub stream_idle_secs: u64,
    /// Longest life of an `AssessLeads` stream, in seconds, before it ends
    /// DEADLINE_EXCEEDED after the answers already computed (0: no limit). Default 3600.
    pub stream_max_secs: u64,
    /// Most connections open at once on `listen`; past it a new connection is closed as
    /// soon as it is accepted. Default 1024.
    pub max_connections: usize,
    /// Time a new connection has to send the HTTP/2 preface (after its TLS handshake), in
    /// milliseconds (0: no limit). Default 10000.
    pub preface_timeout_ms: u64,
    /// Time a new connection has to finish its TLS handshake, in milliseconds (0: no
    /// limit). Default 10000.
    pub tls_handshake_timeout_ms: u64,
    /// Interval of HTTP/2 keepalive pings, in seconds (0: off). Default 30.
    pub keepalive_secs: u64,
    /// Deadline of a call whose client sent none, in milliseconds; a client's
    /// `grpc-timeout` applies when shorter. Default 30000.
    pub default_deadline_ms: u64,
    /// Longest wait for calls in flight at shutdown, in seconds. Default 10.
    pub shutdown_grace_secs: u64,
    /// Time between reporting NOT_SERVING and refusing new calls at shutdown, so load
    /// balancers and probes see the change first, in milliseconds. Default 0.
    pub shutdown_delay_ms: u64,
    /// A file of bearer tokens (one a line); when set (or `LEADCHECK_AUTH_TOKENS` is),
    /// LeadCheck calls without a valid `authorization: Bearer` token are UNAUTHENTICATED.
    /// The health service always stays open.
    pub auth_tokens_file: Option<PathBuf>,
    /// Reflection: `open`, `auth` (needs a token when auth is on) or `off`. Default `open`.
    pub reflection: Reflection,
    /// PEM certificate chain of the server; with `tls_key`, the server speaks TLS.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of the server.
    pub tls_key: Option<PathBuf>,
    /// PEM CA certificate(s): when set, clients must present a certificate it signed (mTLS).
    pub tls_client_ca: Option<PathBuf>,
    /// Address of the Prometheus `/metrics` endpoint; off when unset.
    pub metrics_listen: Option<SocketAddr>,
    /// Address of a plaintext port that serves `grpc.health.v1` alone, outside the
    /// connection cap, auth and TLS of `listen` (for Kubernetes probes); off when unset.
    pub health_listen: Option<SocketAddr>,
    /// Log format. Default `text`.
    pub log_format: LogFormat,
    /// A Redis URL (`redis://host:port`, `rediss://` for TLS): replicas share DNS routes,
    /// SMTP probe results and catch-all findings through it. Needs `redis_key_secret`.
    /// Off when unset: one process needs nothing else.
    pub redis_url: Option<String>,
    /// Longest wait for one Redis command, in milliseconds; past it the replica goes on
    /// with its own caches. Default 50.
    pub redis_timeout_ms: u64,
    /// How long Redis is skipped after 3 failures in a row, in seconds. Default 5.
    pub redis_breaker_secs: u64,
    /// The secret, at least 16 bytes and the same on every replica, that authenticates
    /// values in Redis (HMAC-SHA256) and keys mailbox entries (prefer
    /// `LEADCHECK_REDIS_KEY_SECRET`). Required with `redis_url`: without it the service
    /// does not start.
    pub redis_key_secret: Option<String>,
    /// PEM CA certificate(s) that sign the Redis server's certificate, for `rediss://`;
    /// unset: Mozilla's roots, built in.
    pub redis_ca_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        let dns = DnsConfig::default();
        let probe = ProbeConfig::default();
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            dns_servers: Vec::new(),
            dns_timeout_ms: millis(dns.timeout),
            dns_attempts: dns.attempts,
            dns_min_ttl_secs: dns.min_ttl.as_secs(),
            dns_max_ttl_secs: dns.max_ttl.as_secs(),
            dns_negative_ttl_secs: dns.negative_ttl.as_secs(),
            dns_failure_ttl_secs: dns.failure_ttl.as_secs(),
            dns_cache_capacity: dns.cache_capacity,
            dns_cache_bytes: dns.cache_bytes,
            dns_max_queries: dns.max_queries,
            dns_allow_suffixes: dns.allow_suffixes,
            spam_domains: None,
            allow_domains: None,
            lists_mode: ListsMode::Extend,
            lists_poll_secs: 5,
            smtp_probe: false,
            smtp_helo: probe.helo_name,
            smtp_from: probe.mail_from,
            smtp_port: probe.port,
            smtp_timeout_ms: millis(probe.command_timeout),
            smtp_allow_private: probe.allow_private,
            smtp_per_domain: probe.per_domain_concurrency,
            smtp_per_ip: probe.per_ip_concurrency,
            smtp_max_sessions: probe.max_sessions,
            smtp_slot_wait_ms: millis(probe.slot_wait),
            scoring: None,
            phone_cache_capacity: 20_000,
            stream_in_flight: 64,
            max_message_bytes: 1024 * 1024,
            max_concurrent_calls: 1024,
            max_streams_per_connection: 256,
            max_lead_streams: 256,
            stream_idle_secs: 120,
            stream_max_secs: 3600,
            max_connections: 1024,
            preface_timeout_ms: 10_000,
            tls_handshake_timeout_ms: 10_000,
            keepalive_secs: 30,
            default_deadline_ms: 30_000,
            shutdown_grace_secs: 10,
            shutdown_delay_ms: 0,
            auth_tokens_file: None,
            reflection: Reflection::Open,
            tls_cert: None,
            tls_key: None,
            tls_client_ca: None,
            metrics_listen: None,
            health_listen: None,
            log_format: LogFormat::Text,
            redis_url: None,
            redis_timeout_ms: 50,
            redis_breaker_secs: 5,
            redis_key_secret: None,
            redis_ca_file: None,
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A limit in seconds where 0 means none.
fn nonzero_secs(secs: u64) -> Option<Duration> {
    (secs > 0).then(|| Duration::from_secs(secs))
}

/// A limit in milliseconds where 0 means none.
fn nonzero_millis(ms: u64) -> Option<Duration> {
    (ms > 0).then(|| Duration::from_millis(ms))
}

/// Why a configuration file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this struct.
    #[error("config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line.
        message: String,
    },
}

impl Config {
    /// Reads a TOML file; missing keys keep their defaults, unknown keys are refused.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|err| ConfigError::Parse {
            path: path.to_path_buf(),
            message: err.to_string(),
        })
    }

    /// Returns the DNS layer's settings.
    pub fn dns(&self) -> DnsConfig {
        DnsConfig {
            servers: self.dns_servers.clone(),
            timeout: Duration::from_millis(self.dns_timeout_ms),
            attempts: self.dns_attempts,
            min_ttl: Duration::from_secs(self.dns_min_ttl_secs),
            max_ttl: Duration::from_secs(self.dns_max_ttl_secs),
            negative_ttl: Duration::from_secs(self.dns_negative_ttl_secs),
            failure_ttl: Duration::from_secs(self.dns_failure_ttl_secs),
            cache_capacity: self.dns_cache_capacity,
            cache_bytes: self.dns_cache_bytes,
            max_queries: self.dns_max_queries,
            allow_suffixes: self.dns_allow_suffixes.clone(),
        }
    }

    /// Returns the shared cache's settings, when a Redis URL is set.
    pub fn shared_cache(&self) -> Option<crate::shared_cache::SharedConfig> {
        let url = self.redis_url.clone().filter(|u| !u.trim().is_empty())?;
        Some(crate::shared_cache::SharedConfig {
            url,
            timeout: Duration::from_millis(self.redis_timeout_ms.max(1)),
            breaker_cooldown: Duration::from_secs(self.redis_breaker_secs.max(1)),
            key_secret: self
                .redis_key_secret
                .as_ref()
                .filter(|s| !s.is_empty())
                .map(|s| s.as_bytes().to_vec()),
            ca_file: self.redis_ca_file.clone(),
        })
    }

    /// Returns the time limits of an `AssessLeads` stream.
    pub fn stream_limits(&self) -> crate::rpc::StreamLimits {
        crate::rpc::StreamLimits {
            idle: nonzero_secs(self.stream_idle_secs),
            total: nonzero_secs(self.stream_max_secs),
        }
    }

    /// Returns the bounds of the connections of `listen`.
    pub fn conn_limits(&self) -> crate::server::ConnLimits {
        crate::server::ConnLimits {
            max_connections: self.max_connections.max(1),
            preface_timeout: nonzero_millis(self.preface_timeout_ms),
            tls_handshake_timeout: nonzero_millis(self.tls_handshake_timeout_ms),
        }
    }

    /// Returns the SMTP probe's settings.
    pub fn probe(&self) -> ProbeConfig {
        let timeout = Duration::from_millis(self.smtp_timeout_ms);
        ProbeConfig {
            helo_name: self.smtp_helo.clone(),
            mail_from: self.smtp_from.clone(),
            port: self.smtp_port,
            connect_timeout: timeout,
            command_timeout: timeout,
            allow_private: self.smtp_allow_private,
            per_domain_concurrency: self.smtp_per_domain.max(1),
            per_ip_concurrency: self.smtp_per_ip.max(1),
            max_sessions: self.smtp_max_sessions.max(1),
            slot_wait: Duration::from_millis(self.smtp_slot_wait_ms),
            ..ProbeConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_overrides_defaults_and_keeps_the_rest() {
        let config: Config =
            toml::from_str("listen = \"127.0.0.1:6000\"\nsmtp_probe = true\n").unwrap();
        assert_eq!(config.listen, SocketAddr::from(([127, 0, 0, 1], 6000)));
        assert!(config.smtp_probe);
        assert_eq!(config.dns_attempts, Config::default().dns_attempts);
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let err = toml::from_str::<Config>("listen = \"127.0.0.1:6000\"\nlisten_port = 1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("listen_port"), "{err}");
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn every_field_is_in_the_readme_table() {
        let readme = include_str!("../README.md");
        let fields = toml::Value::try_from(Config::default()).unwrap();
        for key in fields.as_table().unwrap().keys() {
            assert!(
                readme.contains(&format!("| `{key}` |")),
                "README configuration table lacks `{key}`"
            );
        }
    }
}
