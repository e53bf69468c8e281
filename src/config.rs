//! Configuration in one place: the [`Config`] struct, in sections (`[lists]`, `[dns]`,
//! `[smtp]`, `[redis]`, `[tls]`, `[limits]`), filled in rising precedence from its
//! defaults, an optional TOML file, `LEADCHECK_*` environment variables and flags.
//!
//! Every key is one row of [`KEYS`]: its name in the file, its environment variable, its
//! flag and its meaning. The flags ([`Sources`]), the reading of the environment, the
//! merge and the table of `docs/configuration.md` all derive from it, and a test holds
//! that document to the table and to the defaults of the code.
//!
//! The merge is one generic step: a layer's value for a key is set at the key's path in
//! a TOML table, checked on its own (so an error names the key and the layer it came
//! from), and the merged table is read back into [`Config`] by serde. A boolean can be
//! set both ways by any layer (`--smtp-probe=false`, `LEADCHECK_SMTP_PROBE=false`).
//!
//! The names of the flat, unit-suffixed configuration that came before
//! (`dns_timeout_ms = 1500` in the file, `LEADCHECK_DNS_TIMEOUT_MS`, `--dns-timeout-ms`)
//! are still read, with a warning that names the new key.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::email::dns::DnsConfig;
use crate::email::lists::ListMode;
use crate::email::smtp::{ProbeConfig, ProviderProxy, SocksProxy};

/// Whether gRPC server reflection is served, and to whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line.
    Json,
}

/// Everything the service can be told. The meaning of each field is its row in
/// [`KEYS`] (and in `docs/configuration.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the gRPC server listens on.
    pub listen: SocketAddr,
    /// Address of the Prometheus `/metrics` endpoint; off when unset.
    pub metrics_listen: Option<SocketAddr>,
    /// Address of a plaintext port that serves `grpc.health.v1` alone; off when unset.
    pub health_listen: Option<SocketAddr>,
    /// Who is served reflection.
    pub reflection: Reflection,
    /// A file of bearer tokens, one a line.
    pub auth_tokens_file: Option<PathBuf>,
    /// Bearer tokens besides those of the file.
    pub auth_tokens: Vec<String>,
    /// A scoring model file that replaces the bundled model.
    pub scoring: Option<PathBuf>,
    /// Most phone verdicts held in the cache.
    pub phone_cache_capacity: u64,
    /// The log filter (tracing's `EnvFilter` syntax).
    pub log: String,
    /// Log format.
    pub log_format: LogFormat,
    /// Longest wait for calls in flight at shutdown.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// Time between reporting NOT_SERVING and refusing new calls at shutdown.
    #[serde(with = "humantime_serde")]
    pub shutdown_delay: Duration,
    /// The domain lists.
    pub lists: Lists,
    /// The DNS layer.
    pub dns: Dns,
    /// The SMTP probe.
    pub smtp: Smtp,
    /// The shared cache in Redis.
    pub redis: Redis,
    /// TLS of `listen`.
    pub tls: Tls,
    /// Bounds of calls, streams and connections.
    pub limits: Limits,
}

/// `[lists]`: the spam/disposable and allow lists given as files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Lists {
    /// A file of spam/disposable domains.
    pub spam_domains: Option<PathBuf>,
    /// A file of domains never SPAM.
    pub allow_domains: Option<PathBuf>,
    /// Whether the files extend or replace the bundled lists.
    #[serde(with = "list_mode")]
    pub mode: ListMode,
    /// A file of keyed hashes of suppressed addresses.
    pub suppression_file: Option<PathBuf>,
    /// The key of the suppression file's hashes.
    pub suppression_key_file: Option<PathBuf>,
    /// How often the files are checked for changes.
    #[serde(with = "humantime_serde")]
    pub poll: Duration,
}

/// `[dns]`: the resolver and its caches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Dns {
    /// DNS servers to ask; empty means the system resolver.
    pub servers: Vec<SocketAddr>,
    /// Timeout of one query.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Attempts per query.
    pub attempts: usize,
    /// Shortest time a positive answer is cached.
    #[serde(with = "humantime_serde")]
    pub min_ttl: Duration,
    /// Longest time a positive answer is cached.
    #[serde(with = "humantime_serde")]
    pub max_ttl: Duration,
    /// Longest time NXDOMAIN / no-mail-route answers are cached.
    #[serde(with = "humantime_serde")]
    pub negative_ttl: Duration,
    /// Time a failure (SERVFAIL, timeout) is cached.
    #[serde(with = "humantime_serde")]
    pub failure_ttl: Duration,
    /// Most domains held in the cache.
    pub cache_capacity: u64,
    /// Most bytes held by the caches.
    pub cache_bytes: u64,
    /// Most lookups in flight at once.
    pub max_queries: usize,
    /// Special-use suffixes looked up anyway.
    pub allow_suffixes: Vec<String>,
}

/// `[smtp]`: the optional mailbox probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Smtp {
    /// Probe mailboxes over SMTP.
    pub probe: bool,
    /// Name sent in EHLO.
    pub helo: String,
    /// Address sent in MAIL FROM.
    pub from: String,
    /// Port of the exchangers.
    pub port: u16,
    /// Connect timeout and timeout of each command.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Let the probe connect to loopback, private and link-local addresses.
    pub allow_private: bool,
    /// Most concurrent sessions per domain.
    pub per_domain: usize,
    /// Most concurrent sessions with one exchanger address.
    pub per_ip: usize,
    /// Most concurrent sessions of the process.
    pub max_sessions: usize,
    /// Longest wait for a free session slot.
    #[serde(with = "humantime_serde")]
    pub slot_wait: Duration,
    /// A SOCKS5 proxy the sessions go through; direct when unset.
    pub proxy: Option<SocksProxy>,
    /// Per provider, its own proxy or `direct`, in place of `proxy`.
    pub provider_proxies: Vec<ProviderProxy>,
    /// A file whose first line is the password of the proxies whose URL names a user and
    /// no password.
    pub proxy_password_file: Option<PathBuf>,
}

/// `[redis]`: the cache shared by replicas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Redis {
    /// A Redis URL; off when unset.
    pub url: Option<String>,
    /// Longest wait for one command.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// How long Redis is skipped after 3 failures in a row.
    #[serde(with = "humantime_serde")]
    pub breaker: Duration,
    /// The secret that authenticates values in Redis.
    pub key_secret: Option<String>,
    /// PEM CA certificate(s) of the Redis server.
    pub ca_file: Option<PathBuf>,
}

/// `[tls]`: TLS of `listen`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tls {
    /// PEM certificate chain of the server.
    pub cert: Option<PathBuf>,
    /// PEM private key of the server.
    pub key: Option<PathBuf>,
    /// PEM CA certificate(s) that client certificates must be signed by.
    pub client_ca: Option<PathBuf>,
    /// Time a new connection has to finish its TLS handshake (0: no limit).
    #[serde(with = "humantime_serde")]
    pub handshake_timeout: Duration,
}

/// `[limits]`: bounds of calls, streams and connections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest request or response message, in bytes.
    pub max_message_bytes: usize,
    /// Most unary calls in progress in the process.
    pub max_concurrent_calls: usize,
    /// Most concurrent HTTP/2 streams per connection.
    pub max_streams_per_connection: u32,
    /// Most `AssessLeads` streams open at once.
    pub max_lead_streams: usize,
    /// Most connections open at once on `listen`.
    pub max_connections: usize,
    /// Most leads of one `AssessLeads` stream validated at once: the stream's window, told
    /// to the client in the `leadcheck-stream-in-flight` response header.
    pub stream_in_flight: usize,
    /// Most leads in flight across every `AssessLeads` stream.
    pub max_leads_in_flight: usize,
    /// Longest quiet time of a stream (0: no limit).
    #[serde(with = "humantime_serde")]
    pub stream_idle: Duration,
    /// Longest life of a stream (0: no limit).
    #[serde(with = "humantime_serde")]
    pub stream_max: Duration,
    /// Time a new connection has to send the HTTP/2 preface (0: no limit).
    #[serde(with = "humantime_serde")]
    pub preface_timeout: Duration,
    /// Interval of HTTP/2 keepalive pings (0: off).
    #[serde(with = "humantime_serde")]
    pub keepalive: Duration,
    /// Deadline of a call whose client sent none.
    #[serde(with = "humantime_serde")]
    pub default_deadline: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            metrics_listen: None,
            health_listen: None,
            reflection: Reflection::Open,
            auth_tokens_file: None,
            auth_tokens: Vec::new(),
            scoring: None,
            phone_cache_capacity: 20_000,
            log: "info".to_string(),
            log_format: LogFormat::Text,
            shutdown_grace: Duration::from_secs(10),
            shutdown_delay: Duration::ZERO,
            lists: Lists::default(),
            dns: Dns::default(),
            smtp: Smtp::default(),
            redis: Redis::default(),
            tls: Tls::default(),
            limits: Limits::default(),
        }
    }
}

impl Default for Lists {
    fn default() -> Self {
        Lists {
            spam_domains: None,
            allow_domains: None,
            mode: ListMode::Extend,
            suppression_file: None,
            suppression_key_file: None,
            poll: Duration::from_secs(5),
        }
    }
}

impl Default for Dns {
    fn default() -> Self {
        let dns = DnsConfig::default();
        Dns {
            servers: dns.servers,
            timeout: dns.timeout,
            attempts: dns.attempts,
            min_ttl: dns.min_ttl,
            max_ttl: dns.max_ttl,
            negative_ttl: dns.negative_ttl,
            failure_ttl: dns.failure_ttl,
            cache_capacity: dns.cache_capacity,
            cache_bytes: dns.cache_bytes,
            max_queries: dns.max_queries,
            allow_suffixes: dns.allow_suffixes,
        }
    }
}

impl Default for Smtp {
    fn default() -> Self {
        let probe = ProbeConfig::default();
        Smtp {
            probe: false,
            helo: probe.helo_name,
            from: probe.mail_from,
            port: probe.port,
            timeout: probe.command_timeout,
            allow_private: probe.allow_private,
            per_domain: probe.per_domain_concurrency,
            per_ip: probe.per_ip_concurrency,
            max_sessions: probe.max_sessions,
            slot_wait: probe.slot_wait,
            proxy: probe.proxy,
            provider_proxies: probe.provider_proxies,
            proxy_password_file: None,
        }
    }
}

impl Default for Redis {
    fn default() -> Self {
        Redis {
            url: None,
            timeout: Duration::from_millis(50),
            breaker: Duration::from_secs(5),
            key_secret: None,
            ca_file: None,
        }
    }
}

impl Default for Tls {
    fn default() -> Self {
        Tls {
            cert: None,
            key: None,
            client_ca: None,
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 1024 * 1024,
            max_concurrent_calls: 1024,
            max_streams_per_connection: 256,
            max_lead_streams: 256,
            max_connections: 1024,
            stream_in_flight: 1024,
            max_leads_in_flight: 8192,
            stream_idle: Duration::from_secs(120),
            stream_max: Duration::from_secs(3600),
            preface_timeout: Duration::from_secs(10),
            keepalive: Duration::from_secs(30),
            default_deadline: Duration::from_secs(30),
        }
    }
}

/// A limit where zero means none.
fn nonzero(d: Duration) -> Option<Duration> {
    (!d.is_zero()).then_some(d)
}

impl Config {
    /// Returns the DNS layer's settings.
    pub fn dns_config(&self) -> DnsConfig {
        let dns = &self.dns;
        DnsConfig {
            servers: dns.servers.clone(),
            timeout: dns.timeout,
            attempts: dns.attempts,
            min_ttl: dns.min_ttl,
            max_ttl: dns.max_ttl,
            negative_ttl: dns.negative_ttl,
            failure_ttl: dns.failure_ttl,
            cache_capacity: dns.cache_capacity,
            cache_bytes: dns.cache_bytes,
            max_queries: dns.max_queries,
            allow_suffixes: dns.allow_suffixes.clone(),
        }
    }

    /// Returns the suppression list's files, when one is set ([`Config::load`] refuses a
    /// file without its key file).
    pub fn suppression_files(&self) -> Option<crate::email::suppress::SuppressionFiles> {
        let lists = &self.lists;
        Some(crate::email::suppress::SuppressionFiles {
            file: lists.suppression_file.clone()?,
            key_file: lists.suppression_key_file.clone()?,
        })
    }

    /// Returns the shared cache's settings, when a Redis URL is set.
    pub fn shared_cache(&self) -> Option<crate::shared_cache::SharedConfig> {
        let redis = &self.redis;
        let url = redis.url.clone().filter(|u| !u.trim().is_empty())?;
        Some(crate::shared_cache::SharedConfig {
            url,
            timeout: redis.timeout.max(Duration::from_millis(1)),
            breaker_cooldown: redis.breaker.max(Duration::from_secs(1)),
            key_secret: redis
                .key_secret
                .as_ref()
                .filter(|s| !s.is_empty())
                .map(|s| s.as_bytes().to_vec()),
            ca_file: redis.ca_file.clone(),
        })
    }

    /// Returns the time limits of an `AssessLeads` stream.
    pub fn stream_limits(&self) -> crate::rpc::StreamLimits {
        crate::rpc::StreamLimits {
            idle: nonzero(self.limits.stream_idle),
            total: nonzero(self.limits.stream_max),
        }
    }

    /// Returns the bounds of the connections of `listen`.
    pub fn conn_limits(&self) -> crate::server::ConnLimits {
        crate::server::ConnLimits {
            max_connections: self.limits.max_connections.max(1),
            preface_timeout: nonzero(self.limits.preface_timeout),
            tls_handshake_timeout: nonzero(self.tls.handshake_timeout),
        }
    }

    /// Returns the SMTP probe's settings.
    pub fn probe_config(&self) -> ProbeConfig {
        let smtp = &self.smtp;
        ProbeConfig {
            helo_name: smtp.helo.clone(),
            mail_from: smtp.from.clone(),
            port: smtp.port,
            connect_timeout: smtp.timeout,
            command_timeout: smtp.timeout,
            allow_private: smtp.allow_private,
            per_domain_concurrency: smtp.per_domain.max(1),
            per_ip_concurrency: smtp.per_ip.max(1),
            max_sessions: smtp.max_sessions.max(1),
            slot_wait: smtp.slot_wait,
            proxy: smtp.proxy.clone(),
            provider_proxies: smtp.provider_proxies.clone(),
            ..ProbeConfig::default()
        }
    }
}

/// Durations as humantime strings (`5s`, `250ms`, `1h 30m`; `0` for none).
mod humantime_serde {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(text.trim()).map_err(|err| {
            serde::de::Error::custom(format!(
                "`{text}` is not a duration ({err}): write it like `5s` or `250ms`"
            ))
        })
    }
}

/// [`ListMode`] as `extend` or `replace`.
mod list_mode {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::email::lists::ListMode;

    pub fn serialize<S: Serializer>(mode: &ListMode, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match mode {
            ListMode::Extend => "extend",
            ListMode::Replace => "replace",
        })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ListMode, D::Error> {
        match String::deserialize(d)?.as_str() {
            "extend" => Ok(ListMode::Extend),
            "replace" => Ok(ListMode::Replace),
            other => Err(serde::de::Error::unknown_variant(
                other,
                &["extend", "replace"],
            )),
        }
    }
}

/// How a key's value is written in the environment and on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `true` or `false` (also `1`/`0`, `yes`/`no`, `on`/`off`); a bare flag is `true`.
    Bool,
    /// A whole number.
    Number,
    /// A humantime duration: `5s`, `250ms`, `1h`; `0` for none where allowed.
    Duration,
    /// Text: an address, a path, a name, a choice.
    Text,
    /// Comma-separated values; the flag is also repeatable.
    List,
}

/// The unit of a key's old, flat name (`dns_timeout_ms`), whose value was a bare number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OldUnit {
    /// Same value, old name.
    None,
    /// Whole milliseconds.
    Millis,
    /// Whole seconds.
    Secs,
}

/// One configuration key: where it lives in the file, how the environment and the
/// command line name it, and what it means.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// `section.key` in the file (`key` for the top level).
    pub name: &'static str,
    /// The environment variable.
    pub env: &'static str,
    /// The flag, without its `--`.
    pub flag: &'static str,
    /// How its value is written.
    pub kind: Kind,
    /// What it means (one line of the documentation's table; no `|`).
    pub doc: &'static str,
    /// What an unset value means, for the documentation's default column.
    pub unset: &'static str,
    /// A value never shown (in errors or help).
    pub secret: bool,
    /// Another environment variable read when `env` is unset (`RUST_LOG` for `log`).
    pub fallback_env: Option<&'static str>,
    /// The key's old flat name in the file (`dns_timeout_ms`), when it had another.
    pub old: Option<&'static str>,
    /// The unit of the old name's value.
    pub old_unit: OldUnit,
    /// The old environment variable and flag, for keys whose value changed unit.
    pub old_env: Option<&'static str>,
    /// The old flag, without its `--`.
    pub old_flag: Option<&'static str>,
}

const fn key(
    name: &'static str,
    env: &'static str,
    flag: &'static str,
    kind: Kind,
    doc: &'static str,
) -> Key {
    Key {
        name,
        env,
        flag,
        kind,
        doc,
        unset: "none",
        secret: false,
        fallback_env: None,
        old: None,
        old_unit: OldUnit::None,
        old_env: None,
        old_flag: None,
    }
}

impl Key {
    const fn unset(mut self, text: &'static str) -> Key {
        self.unset = text;
        self
    }

    const fn secret(mut self) -> Key {
        self.secret = true;
        self
    }

    const fn fallback_env(mut self, env: &'static str) -> Key {
        self.fallback_env = Some(env);
        self
    }

    /// The key was `old` at the top level of the file, with the same value.
    const fn was(mut self, old: &'static str) -> Key {
        self.old = Some(old);
        self
    }

    /// The key was `old`, a whole number of `unit`, also in `old_env` and `--old_flag`.
    const fn was_in(
        mut self,
        old: &'static str,
        unit: OldUnit,
        old_env: &'static str,
        old_flag: &'static str,
    ) -> Key {
        self.old = Some(old);
        self.old_unit = unit;
        self.old_env = Some(old_env);
        self.old_flag = Some(old_flag);
        self
    }

    /// The section and the field of the key.
    fn path(&self) -> (Option<&'static str>, &'static str) {
        match self.name.split_once('.') {
            Some((section, field)) => (Some(section), field),
            None => (None, self.name),
        }
    }
}

use Kind::{Bool, Duration as Dur, List, Number, Text};
use OldUnit::{Millis, Secs};

/// Every configuration key. The documentation's table is made from this one.
pub const KEYS: &[Key] = &[
    key(
        "listen",
        "LEADCHECK_LISTEN",
        "listen",
        Text,
        "address the gRPC server listens on",
    ),
    key(
        "metrics_listen",
        "LEADCHECK_METRICS_LISTEN",
        "metrics-listen",
        Text,
        "address of the Prometheus `/metrics` endpoint",
    )
    .unset("off"),
    key(
        "health_listen",
        "LEADCHECK_HEALTH_LISTEN",
        "health-listen",
        Text,
        "address of a plaintext port serving `grpc.health.v1` alone, outside the connection \
         cap, auth and TLS of `listen` (for probes)",
    )
    .unset("off"),
    key(
        "reflection",
        "LEADCHECK_REFLECTION",
        "reflection",
        Text,
        "`open` (no token needed), `auth` (token needed when auth is on) or `off`",
    ),
    key(
        "auth_tokens_file",
        "LEADCHECK_AUTH_TOKENS_FILE",
        "auth-tokens-file",
        Text,
        "a file of bearer tokens, one a line: LeadCheck calls then need one (health stays \
         open)",
    ),
    key(
        "auth_tokens",
        "LEADCHECK_AUTH_TOKENS",
        "auth-tokens",
        List,
        "bearer tokens besides those of `auth_tokens_file` (prefer the environment: flags \
         show in `ps`)",
    )
    .secret(),
    key(
        "scoring",
        "LEADCHECK_SCORING",
        "scoring",
        Text,
        "a scoring model file (TOML) replacing `data/scoring.toml`",
    )
    .unset("bundled model"),
    key(
        "phone_cache_capacity",
        "LEADCHECK_PHONE_CACHE_CAPACITY",
        "phone-cache-capacity",
        Number,
        "most phone verdicts cached (about 650 bytes each)",
    ),
    key(
        "log",
        "LEADCHECK_LOG",
        "log",
        Text,
        "log filter, tracing's `EnvFilter` syntax (`info,leadcheck::email=debug`); \
         `RUST_LOG` is read when `LEADCHECK_LOG` is unset",
    )
    .fallback_env("RUST_LOG"),
    key(
        "log_format",
        "LEADCHECK_LOG_FORMAT",
        "log-format",
        Text,
        "`text` or `json` (logs go to stderr)",
    ),
    key(
        "shutdown_grace",
        "LEADCHECK_SHUTDOWN_GRACE",
        "shutdown-grace",
        Dur,
        "longest wait for calls in flight at shutdown",
    )
    .was_in(
        "shutdown_grace_secs",
        Secs,
        "LEADCHECK_SHUTDOWN_GRACE_SECS",
        "shutdown-grace-secs",
    ),
    key(
        "shutdown_delay",
        "LEADCHECK_SHUTDOWN_DELAY",
        "shutdown-delay",
        Dur,
        "time between NOT_SERVING and refusing new calls at shutdown, so balancers and \
         probes see the change first",
    )
    .was_in(
        "shutdown_delay_ms",
        Millis,
        "LEADCHECK_SHUTDOWN_DELAY_MS",
        "shutdown-delay-ms",
    ),
    // [lists]
    key(
        "lists.spam_domains",
        "LEADCHECK_SPAM_DOMAINS",
        "spam-domains",
        Text,
        "a spam/disposable domain file, one a line, reloaded on change and SIGHUP",
    )
    .was("spam_domains"),
    key(
        "lists.allow_domains",
        "LEADCHECK_ALLOW_DOMAINS",
        "allow-domains",
        Text,
        "an allowlist file: domains never SPAM, reloaded likewise",
    )
    .was("allow_domains"),
    key(
        "lists.mode",
        "LEADCHECK_LISTS_MODE",
        "lists-mode",
        Text,
        "`extend` or `replace` the bundled lists with those files",
    )
    .was("lists_mode"),
    key(
        "lists.suppression_file",
        "LEADCHECK_SUPPRESSION_FILE",
        "suppression-file",
        Text,
        "a file of suppressed addresses as keyed hashes, one a line (made by `leadcheck \
         suppress hash`): such an address is SPAM (`list.suppressed`); reloaded likewise",
    ),
    key(
        "lists.suppression_key_file",
        "LEADCHECK_SUPPRESSION_KEY_FILE",
        "suppression-key-file",
        Text,
        "the key the suppression file was made with (16 bytes or more); required with \
         `lists.suppression_file`, else the service does not start; reloaded likewise",
    ),
    key(
        "lists.poll",
        "LEADCHECK_LISTS_POLL",
        "lists-poll",
        Dur,
        "how often the list files are checked for changes",
    )
    .was_in(
        "lists_poll_secs",
        Secs,
        "LEADCHECK_LISTS_POLL_SECS",
        "lists-poll-secs",
    ),
    // [dns]
    key(
        "dns.servers",
        "LEADCHECK_DNS_SERVERS",
        "dns-server",
        List,
        "DNS servers to ask, `IP:PORT` (the flag is repeatable)",
    )
    .unset("system resolver")
    .was("dns_servers"),
    key(
        "dns.timeout",
        "LEADCHECK_DNS_TIMEOUT",
        "dns-timeout",
        Dur,
        "timeout of one DNS query",
    )
    .was_in(
        "dns_timeout_ms",
        Millis,
        "LEADCHECK_DNS_TIMEOUT_MS",
        "dns-timeout-ms",
    ),
    key(
        "dns.attempts",
        "LEADCHECK_DNS_ATTEMPTS",
        "dns-attempts",
        Number,
        "attempts per DNS query",
    )
    .was("dns_attempts"),
    key(
        "dns.min_ttl",
        "LEADCHECK_DNS_MIN_TTL",
        "dns-min-ttl",
        Dur,
        "shortest time a positive DNS answer is cached",
    )
    .was_in(
        "dns_min_ttl_secs",
        Secs,
        "LEADCHECK_DNS_MIN_TTL_SECS",
        "dns-min-ttl-secs",
    ),
    key(
        "dns.max_ttl",
        "LEADCHECK_DNS_MAX_TTL",
        "dns-max-ttl",
        Dur,
        "longest time a positive DNS answer is cached",
    )
    .was_in(
        "dns_max_ttl_secs",
        Secs,
        "LEADCHECK_DNS_MAX_TTL_SECS",
        "dns-max-ttl-secs",
    ),
    key(
        "dns.negative_ttl",
        "LEADCHECK_DNS_NEGATIVE_TTL",
        "dns-negative-ttl",
        Dur,
        "longest time NXDOMAIN / no-mail-route is cached (the zone's SOA minimum may shorten \
         it)",
    )
    .was_in(
        "dns_negative_ttl_secs",
        Secs,
        "LEADCHECK_DNS_NEGATIVE_TTL_SECS",
        "dns-negative-ttl-secs",
    ),
    key(
        "dns.failure_ttl",
        "LEADCHECK_DNS_FAILURE_TTL",
        "dns-failure-ttl",
        Dur,
        "time a SERVFAIL / REFUSED / timeout is cached",
    )
    .was_in(
        "dns_failure_ttl_secs",
        Secs,
        "LEADCHECK_DNS_FAILURE_TTL_SECS",
        "dns-failure-ttl-secs",
    ),
    key(
        "dns.cache_capacity",
        "LEADCHECK_DNS_CACHE_CAPACITY",
        "dns-cache-capacity",
        Number,
        "most domains in the DNS cache",
    )
    .was("dns_cache_capacity"),
    key(
        "dns.cache_bytes",
        "LEADCHECK_DNS_CACHE_BYTES",
        "dns-cache-bytes",
        Number,
        "most bytes the DNS caches hold (domains three quarters, exchangers a quarter), so \
         no zone can grow them past it",
    )
    .was("dns_cache_bytes"),
    key(
        "dns.max_queries",
        "LEADCHECK_DNS_MAX_QUERIES",
        "dns-max-queries",
        Number,
        "most DNS lookups in flight at once (each holds a UDP socket); more wait for a slot \
         (`leadcheck_dns_query_waits_total`)",
    )
    .was("dns_max_queries"),
    key(
        "dns.allow_suffixes",
        "LEADCHECK_DNS_ALLOW_SUFFIXES",
        "dns-allow-suffix",
        List,
        "special-use suffixes looked up anyway, for lab and test zones (`test`, `internal`, \
         ...; never `localhost`); the flag is repeatable",
    )
    .was("dns_allow_suffixes"),
    // [smtp]
    key(
        "smtp.probe",
        "LEADCHECK_SMTP_PROBE",
        "smtp-probe",
        Bool,
        "probe mailboxes over SMTP",
    )
    .was("smtp_probe"),
    key(
        "smtp.helo",
        "LEADCHECK_SMTP_HELO",
        "smtp-helo",
        Text,
        "EHLO name of the probe",
    )
    .was("smtp_helo"),
    key(
        "smtp.from",
        "LEADCHECK_SMTP_FROM",
        "smtp-from",
        Text,
        "MAIL FROM of the probe",
    )
    .was("smtp_from"),
    key(
        "smtp.port",
        "LEADCHECK_SMTP_PORT",
        "smtp-port",
        Number,
        "port of the exchangers the probe connects to",
    )
    .was("smtp_port"),
    key(
        "smtp.timeout",
        "LEADCHECK_SMTP_TIMEOUT",
        "smtp-timeout",
        Dur,
        "connect timeout and timeout of each command of the probe",
    )
    .was_in(
        "smtp_timeout_ms",
        Millis,
        "LEADCHECK_SMTP_TIMEOUT_MS",
        "smtp-timeout-ms",
    ),
    key(
        "smtp.allow_private",
        "LEADCHECK_SMTP_ALLOW_PRIVATE",
        "smtp-allow-private",
        Bool,
        "let the probe connect to loopback/private/link-local exchangers",
    )
    .was("smtp_allow_private"),
    key(
        "smtp.per_domain",
        "LEADCHECK_SMTP_PER_DOMAIN",
        "smtp-per-domain",
        Number,
        "most concurrent SMTP sessions per domain",
    )
    .was("smtp_per_domain"),
    key(
        "smtp.per_ip",
        "LEADCHECK_SMTP_PER_IP",
        "smtp-per-ip",
        Number,
        "most concurrent SMTP sessions with one exchanger address, whatever the domains that \
         point at it",
    )
    .was("smtp_per_ip"),
    key(
        "smtp.max_sessions",
        "LEADCHECK_SMTP_MAX_SESSIONS",
        "smtp-max-sessions",
        Number,
        "most concurrent SMTP sessions of the process",
    )
    .was("smtp_max_sessions"),
    key(
        "smtp.slot_wait",
        "LEADCHECK_SMTP_SLOT_WAIT",
        "smtp-slot-wait",
        Dur,
        "longest wait for a free SMTP session slot; past it the address is not probed \
         (`smtp.busy`)",
    )
    .was_in(
        "smtp_slot_wait_ms",
        Millis,
        "LEADCHECK_SMTP_SLOT_WAIT_MS",
        "smtp-slot-wait-ms",
    ),
    key(
        "smtp.proxy",
        "LEADCHECK_SMTP_PROXY",
        "smtp-proxy",
        Text,
        "a SOCKS5 proxy the probe's sessions go through, `socks5://host:port` (where port 25 \
         outbound is blocked); it is asked to connect to the exchanger address the probe \
         resolved and checked, never to a name. With credentials (RFC 1929): \
         `socks5://user:pass@host:port` (prefer the environment), or `socks5://user@host:port` \
         and `smtp.proxy_password_file`; shown as `user:***`",
    )
    .unset("direct")
    .secret(),
    key(
        "smtp.provider_proxies",
        "LEADCHECK_SMTP_PROVIDER_PROXIES",
        "smtp-provider-proxies",
        List,
        "per mail provider (the names of `mail_provider`), a proxy of its own in place of \
         `smtp.proxy` for the sessions with its exchangers: `google=socks5://host:port`, or \
         `microsoft=direct` to connect straight to them",
    )
    .unset("every provider takes `smtp.proxy`")
    .secret(),
    key(
        "smtp.proxy_password_file",
        "LEADCHECK_SMTP_PROXY_PASSWORD_FILE",
        "smtp-proxy-password-file",
        Text,
        "a file whose first line is the password of every proxy whose URL names a user and \
         no password (`socks5://user@host:port`); read at start",
    ),
    // [redis]
    key(
        "redis.url",
        "LEADCHECK_REDIS_URL",
        "redis-url",
        Text,
        "Redis shared by replicas (`redis://host:port`, `rediss://` for TLS): DNS routes, \
         SMTP results, catch-all findings; needs `redis.key_secret`",
    )
    .unset("off")
    .was("redis_url"),
    key(
        "redis.timeout",
        "LEADCHECK_REDIS_TIMEOUT",
        "redis-timeout",
        Dur,
        "longest wait for one Redis command; then the replica goes on with its own caches",
    )
    .was_in(
        "redis_timeout_ms",
        Millis,
        "LEADCHECK_REDIS_TIMEOUT_MS",
        "redis-timeout-ms",
    ),
    key(
        "redis.breaker",
        "LEADCHECK_REDIS_BREAKER",
        "redis-breaker",
        Dur,
        "how long Redis is skipped after 3 failures in a row",
    )
    .was_in(
        "redis_breaker_secs",
        Secs,
        "LEADCHECK_REDIS_BREAKER_SECS",
        "redis-breaker-secs",
    ),
    key(
        "redis.key_secret",
        "LEADCHECK_REDIS_KEY_SECRET",
        "redis-key-secret",
        Text,
        "secret (16 bytes or more, the same on every replica; prefer the environment) that \
         authenticates values in Redis and keys mailbox entries; required with `redis.url`, \
         else the service does not start",
    )
    .secret()
    .was("redis_key_secret"),
    key(
        "redis.ca_file",
        "LEADCHECK_REDIS_CA_FILE",
        "redis-ca-file",
        Text,
        "PEM CA certificate(s) that sign the Redis server's certificate, for `rediss://`",
    )
    .unset("Mozilla's roots")
    .was("redis_ca_file"),
    // [tls]
    key(
        "tls.cert",
        "LEADCHECK_TLS_CERT",
        "tls-cert",
        Text,
        "PEM certificate chain: serve TLS (with `tls.key`)",
    )
    .was("tls_cert"),
    key(
        "tls.key",
        "LEADCHECK_TLS_KEY",
        "tls-key",
        Text,
        "PEM private key of the server",
    )
    .was("tls_key"),
    key(
        "tls.client_ca",
        "LEADCHECK_TLS_CLIENT_CA",
        "tls-client-ca",
        Text,
        "PEM CA: require client certificates it signed (mutual TLS)",
    )
    .was("tls_client_ca"),
    key(
        "tls.handshake_timeout",
        "LEADCHECK_TLS_HANDSHAKE_TIMEOUT",
        "tls-handshake-timeout",
        Dur,
        "time a new connection has to finish its TLS handshake (0: no limit)",
    )
    .was_in(
        "tls_handshake_timeout_ms",
        Millis,
        "LEADCHECK_TLS_HANDSHAKE_TIMEOUT_MS",
        "tls-handshake-timeout-ms",
    ),
    // [limits]
    key(
        "limits.max_message_bytes",
        "LEADCHECK_MAX_MESSAGE_BYTES",
        "max-message-bytes",
        Number,
        "largest request or response message (decode and encode)",
    )
    .was("max_message_bytes"),
    key(
        "limits.max_concurrent_calls",
        "LEADCHECK_MAX_CONCURRENT_CALLS",
        "max-concurrent-calls",
        Number,
        "unary LeadCheck calls in progress in the process, counted from when their message \
         has arrived; past it calls are shed at once with RESOURCE_EXHAUSTED",
    )
    .was("max_concurrent_calls"),
    key(
        "limits.max_streams_per_connection",
        "LEADCHECK_MAX_STREAMS_PER_CONNECTION",
        "max-streams-per-connection",
        Number,
        "concurrent HTTP/2 streams per connection",
    )
    .was("max_streams_per_connection"),
    key(
        "limits.max_lead_streams",
        "LEADCHECK_MAX_LEAD_STREAMS",
        "max-lead-streams",
        Number,
        "`AssessLeads` streams open at once in the process, each counted for its whole life; \
         past it a new stream is refused at once with RESOURCE_EXHAUSTED",
    )
    .was("max_lead_streams"),
    key(
        "limits.max_connections",
        "LEADCHECK_MAX_CONNECTIONS",
        "max-connections",
        Number,
        "connections open at once on `listen`; past it a new connection is closed as soon as \
         it is accepted",
    )
    .was("max_connections"),
    key(
        "limits.stream_in_flight",
        "LEADCHECK_STREAM_IN_FLIGHT",
        "stream-in-flight",
        Number,
        "most leads of one `AssessLeads` stream validated at once: the stream's window, told \
         to the client in the `leadcheck-stream-in-flight` response header",
    )
    .was("stream_in_flight"),
    key(
        "limits.max_leads_in_flight",
        "LEADCHECK_MAX_LEADS_IN_FLIGHT",
        "max-leads-in-flight",
        Number,
        "most leads in flight across every `AssessLeads` stream (validated, or answered and \
         waiting to be sent); past it a stream takes no new lead until an answer goes out, \
         and its client's further leads wait in HTTP/2 flow control. A lead waiting on the \
         resolver holds about 12 KiB",
    ),
    key(
        "limits.stream_idle",
        "LEADCHECK_STREAM_IDLE",
        "stream-idle",
        Dur,
        "an `AssessLeads` stream with no lead received and no answer sent for this long ends \
         DEADLINE_EXCEEDED (0: no limit)",
    )
    .was_in(
        "stream_idle_secs",
        Secs,
        "LEADCHECK_STREAM_IDLE_SECS",
        "stream-idle-secs",
    ),
    key(
        "limits.stream_max",
        "LEADCHECK_STREAM_MAX",
        "stream-max",
        Dur,
        "longest life of an `AssessLeads` stream; it then ends DEADLINE_EXCEEDED after the \
         answers already computed (0: no limit)",
    )
    .was_in(
        "stream_max_secs",
        Secs,
        "LEADCHECK_STREAM_MAX_SECS",
        "stream-max-secs",
    ),
    key(
        "limits.preface_timeout",
        "LEADCHECK_PREFACE_TIMEOUT",
        "preface-timeout",
        Dur,
        "time a new connection has to send the HTTP/2 preface, after its TLS handshake; then \
         it is closed (0: no limit)",
    )
    .was_in(
        "preface_timeout_ms",
        Millis,
        "LEADCHECK_PREFACE_TIMEOUT_MS",
        "preface-timeout-ms",
    ),
    key(
        "limits.keepalive",
        "LEADCHECK_KEEPALIVE",
        "keepalive",
        Dur,
        "HTTP/2 keepalive ping interval (0: off); a ping unanswered for 10 s closes the \
         connection",
    )
    .was_in(
        "keepalive_secs",
        Secs,
        "LEADCHECK_KEEPALIVE_SECS",
        "keepalive-secs",
    ),
    key(
        "limits.default_deadline",
        "LEADCHECK_DEFAULT_DEADLINE",
        "default-deadline",
        Dur,
        "deadline of a unary call whose client sent no `grpc-timeout` (the client's applies \
         when shorter); a call whose message has not arrived by then ends too",
    )
    .was_in(
        "default_deadline_ms",
        Millis,
        "LEADCHECK_DEFAULT_DEADLINE_MS",
        "default-deadline-ms",
    ),
];

/// Where a value came from, for messages that say where to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layer {
    /// The configuration file.
    File(PathBuf),
    /// An environment variable.
    Env(&'static str),
    /// A flag (without its `--`).
    Flag(&'static str),
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Layer::File(path) => write!(f, "config file {}", path.display()),
            Layer::Env(name) => write!(f, "environment variable {name}"),
            Layer::Flag(name) => write!(f, "flag --{name}"),
        }
    }
}

/// Why the configuration could not be put together. Each names the key and the layer.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not TOML, or names an unknown key, or holds a value of the wrong type.
    #[error("config file {}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the key and, where known, the line.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// A key is set without another one it needs.
    #[error("{key} is set but {needs} is not: {why}")]
    Missing {
        /// The key set (`lists.suppression_file`).
        key: &'static str,
        /// The key it needs.
        needs: &'static str,
        /// Why it is needed.
        why: &'static str,
    },
    /// A value from the environment or a flag does not fit its key.
    #[error("{key} from {layer}: cannot use `{shown}`")]
    Value {
        /// The key (`dns.timeout`).
        key: &'static str,
        /// Where the value came from.
        layer: Layer,
        /// The value, or `(hidden)` for a secret.
        shown: String,
        /// What is wrong with it.
        #[source]
        source: ValueError,
    },
}

/// What is wrong with one value.
#[derive(Debug, thiserror::Error)]
pub enum ValueError {
    /// Not `true` or `false`.
    #[error("not a boolean: write true or false")]
    Bool,
    /// Not a whole number (for the old names' milliseconds and seconds).
    #[error("not a whole number")]
    Number(#[source] std::num::ParseIntError),
    /// Not of the key's type.
    #[error(transparent)]
    Type(Box<toml::de::Error>),
}

/// What `serve` and `check` were told besides the defaults: the file and the flags
/// given. The environment is read by [`Config::load`].
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// The TOML file (`--config`, `LEADCHECK_CONFIG`).
    pub file: Option<PathBuf>,
    /// The flags given (without `--`), each with its values, in [`KEYS`] order.
    pub flags: Vec<(&'static str, Vec<String>)>,
}

/// A configuration and the warnings met putting it together (old names), to be logged
/// once logging is set up.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The configuration.
    pub config: Config,
    /// One line per old name used.
    pub warnings: Vec<String>,
}

/// One value of one layer, before it is checked.
struct Setting {
    key: &'static Key,
    layer: Layer,
    raw: Vec<String>,
    unit: OldUnit,
}

impl Config {
    /// Puts the configuration together: defaults, then the file, then the `LEADCHECK_*`
    /// environment, then the flags.
    pub fn load(sources: &Sources) -> Result<Loaded, ConfigError> {
        Config::load_with(sources, |name| std::env::var(name).ok())
    }

    /// [`Config::load`] with the environment given as a function.
    pub fn load_with(
        sources: &Sources,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Loaded, ConfigError> {
        let mut warnings = Vec::new();
        let mut table = match &sources.file {
            Some(path) => {
                let table = file_table(path, &mut warnings)?;
                // Checked whole here, so that an error is the file's.
                toml::Value::Table(table.clone())
                    .try_into::<Config>()
                    .map_err(|source| ConfigError::Parse {
                        path: path.clone(),
                        source: Box::new(source),
                    })?;
                table
            }
            None => toml::Table::new(),
        };
        let mut settings = Vec::new();
        for key in KEYS {
            let present = |name: &str| env(name).filter(|v| !v.trim().is_empty());
            if let Some(value) = present(key.env) {
                settings.push(Setting {
                    key,
                    layer: Layer::Env(key.env),
                    raw: vec![value],
                    unit: OldUnit::None,
                });
            } else if let Some((old, value)) = key.old_env.and_then(|o| present(o).map(|v| (o, v)))
            {
                warnings.push(format!(
                    "{old} is deprecated: set {} (a duration, like {})",
                    key.env,
                    example(key.old_unit, &value)
                ));
                settings.push(Setting {
                    key,
                    layer: Layer::Env(old),
                    raw: vec![value],
                    unit: key.old_unit,
                });
            } else if let Some((name, value)) =
                key.fallback_env.and_then(|f| present(f).map(|v| (f, v)))
            {
                settings.push(Setting {
                    key,
                    layer: Layer::Env(name),
                    raw: vec![value],
                    unit: OldUnit::None,
                });
            }
        }
        for (flag, values) in &sources.flags {
            let Some((key, unit)) = key_of_flag(flag) else {
                continue;
            };
            if unit != OldUnit::None {
                warnings.push(format!(
                    "--{flag} is deprecated: use --{}={}",
                    key.flag,
                    example(unit, values.last().map_or("", String::as_str))
                ));
            }
            settings.push(Setting {
                key,
                layer: Layer::Flag(flag),
                raw: values.clone(),
                unit,
            });
        }
        for setting in settings {
            let value = setting_value(&setting)?;
            insert(&mut table, setting.key, value);
        }
        let config = toml::Value::Table(table)
            .try_into::<Config>()
            .map_err(|source| ConfigError::Parse {
                path: sources.file.clone().unwrap_or_default(),
                source: Box::new(source),
            })?;
        if config.lists.suppression_file.is_some() && config.lists.suppression_key_file.is_none() {
            return Err(ConfigError::Missing {
                key: "lists.suppression_file",
                needs: "lists.suppression_key_file",
                why: "the suppression file's entries are keyed hashes, matched with its key",
            });
        }
        if config.probe_config().proxy_wants_password() && config.smtp.proxy_password_file.is_none()
        {
            return Err(ConfigError::Missing {
                key: "smtp.proxy",
                needs: "smtp.proxy_password_file",
                why: "a proxy URL (smtp.proxy or smtp.provider_proxies) names a user and no \
                      password",
            });
        }
        Ok(Loaded { config, warnings })
    }
}

/// The log filter of commands without a [`Config`] (`batch`): `LEADCHECK_LOG`, else
/// `RUST_LOG`, else `info`.
pub fn log_filter_from_env() -> String {
    let log = KEYS.iter().find(|k| k.name == "log");
    log.into_iter()
        .flat_map(|k| std::iter::once(k.env).chain(k.fallback_env))
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| Config::default().log)
}

/// The key a flag sets, and the unit of its value when it is an old name.
fn key_of_flag(flag: &str) -> Option<(&'static Key, OldUnit)> {
    KEYS.iter().find_map(|key| {
        if key.flag == flag {
            Some((key, OldUnit::None))
        } else if key.old_flag == Some(flag) {
            Some((key, key.old_unit))
        } else {
            None
        }
    })
}

/// How an old value reads in the new form, for warnings.
fn example(unit: OldUnit, value: &str) -> String {
    let value = value.trim();
    match unit {
        OldUnit::None => value.to_string(),
        OldUnit::Millis => format!("{value}ms"),
        OldUnit::Secs => format!("{value}s"),
    }
}

/// Reads the file into a table, moving old flat names to their sections.
fn file_table(path: &Path, warnings: &mut Vec<String>) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let parse_error = |source| ConfigError::Parse {
        path: path.to_path_buf(),
        source: Box::new(source),
    };
    let mut table: toml::Table = toml::from_str(&text).map_err(parse_error)?;
    let mut moved = false;
    for key in KEYS {
        let Some(old) = key.old.filter(|old| *old != key.name) else {
            continue;
        };
        let Some(value) = table.remove(old) else {
            continue;
        };
        moved = true;
        let value = match (key.old_unit, value.as_integer()) {
            (unit, Some(n)) if unit != OldUnit::None => {
                toml::Value::String(example(unit, &n.to_string()))
            }
            // The same value; or not a number, left for the type check to refuse.
            _ => value,
        };
        let (section, field) = key.path();
        warnings.push(format!(
            "config file {}: `{old}` is deprecated: write `{field} = {value}`{}",
            path.display(),
            section.map_or(String::new(), |s| format!(" under [{s}]")),
        ));
        let already = match section {
            Some(section) => table
                .get(section)
                .and_then(toml::Value::as_table)
                .is_some_and(|t| t.contains_key(field)),
            None => table.contains_key(field),
        };
        if !already {
            insert(&mut table, key, value);
        }
    }
    if !moved {
        // Read straight from the text: serde's errors then carry their line.
        toml::from_str::<Config>(&text).map_err(parse_error)?;
    }
    Ok(table)
}

/// Sets `value` at the key's path.
fn insert(table: &mut toml::Table, key: &Key, value: toml::Value) {
    match key.path() {
        (Some(section), field) => {
            let entry = table
                .entry(section)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            if let toml::Value::Table(section) = entry {
                section.insert(field.to_string(), value);
            }
        }
        (None, field) => {
            table.insert(field.to_string(), value);
        }
    }
}

/// Turns one setting's text into a TOML value of its key's kind, and checks that the key
/// accepts it.
fn setting_value(setting: &Setting) -> Result<toml::Value, ConfigError> {
    let key = setting.key;
    let last = setting.raw.last().map_or("", |v| v.trim());
    let fail = |source: ValueError| ConfigError::Value {
        key: key.name,
        layer: setting.layer.clone(),
        shown: if key.secret {
            "(hidden)".to_string()
        } else {
            setting.raw.join(",")
        },
        source,
    };
    let value = if setting.unit != OldUnit::None {
        let n: u64 = last.parse().map_err(|e| fail(ValueError::Number(e)))?;
        toml::Value::String(example(setting.unit, &n.to_string()))
    } else {
        match key.kind {
            Kind::Bool => {
                toml::Value::Boolean(parse_bool(last).ok_or_else(|| fail(ValueError::Bool))?)
            }
            // Parsed by the field's own type below, so that a value out of its range is
            // refused with the type's message.
            Kind::Number => match last.parse::<i64>() {
                Ok(n) => toml::Value::Integer(n),
                Err(_) => toml::Value::String(last.to_string()),
            },
            Kind::Duration | Kind::Text => toml::Value::String(last.to_string()),
            Kind::List => toml::Value::Array(
                setting
                    .raw
                    .iter()
                    .flat_map(|v| v.split([',', '\n']))
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(|v| toml::Value::String(v.to_string()))
                    .collect(),
            ),
        }
    };
    let mut alone = toml::Table::new();
    insert(&mut alone, key, value.clone());
    toml::Value::Table(alone)
        .try_into::<Config>()
        .map_err(|e| fail(ValueError::Type(Box::new(e))))?;
    Ok(value)
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

impl Kind {
    fn placeholder(self) -> &'static str {
        match self {
            Kind::Bool => "BOOL",
            Kind::Number => "N",
            Kind::Duration => "DURATION",
            Kind::Text => "VALUE",
            Kind::List => "LIST",
        }
    }
}

impl clap::Args for Sources {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        use clap::{Arg, ArgAction};
        let defaults = default_values();
        let mut cmd = cmd.args_override_self(true).arg(
            Arg::new("config")
                .long("config")
                .env("LEADCHECK_CONFIG")
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .help("A TOML configuration file (keys: docs/configuration.md)"),
        );
        for key in KEYS {
            let mut arg = Arg::new(key.flag)
                .long(key.flag)
                .value_name(key.kind.placeholder())
                .value_parser(clap::value_parser!(String))
                .help(format!(
                    "{} [default: {}] [env: {}]",
                    key.doc,
                    default_text(key, &defaults).replace('`', ""),
                    key.env
                ));
            arg = match key.kind {
                Kind::Bool => arg
                    .num_args(0..=1)
                    .require_equals(true)
                    .default_missing_value("true"),
                Kind::List => arg.action(ArgAction::Append).value_delimiter(','),
                _ => arg.action(ArgAction::Set),
            };
            cmd = cmd.arg(arg);
            if let Some(old) = key.old_flag {
                cmd = cmd.arg(
                    Arg::new(old)
                        .long(old)
                        .value_name("N")
                        .value_parser(clap::value_parser!(String))
                        .hide(true),
                );
            }
        }
        cmd
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl clap::FromArgMatches for Sources {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut sources = Sources {
            file: matches.get_one::<PathBuf>("config").cloned(),
            flags: Vec::new(),
        };
        for key in KEYS {
            for flag in std::iter::once(key.flag).chain(key.old_flag) {
                if let Some(values) = matches.get_many::<String>(flag) {
                    sources.flags.push((flag, values.cloned().collect()));
                }
            }
        }
        Ok(sources)
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Sources::from_arg_matches(matches)?;
        Ok(())
    }
}

/// The Markdown table of every key, as `docs/configuration.md` holds it.
pub fn markdown_table() -> String {
    let defaults = default_values();
    let mut out =
        String::from("| key | environment | flag | default | meaning |\n|---|---|---|---|---|\n");
    for key in KEYS {
        out.push_str(&format!(
            "| `{}` | `{}` | `--{}` | {} | {} |\n",
            key.name,
            key.env,
            key.flag,
            default_text(key, &defaults),
            key.doc
        ));
    }
    out
}

/// The defaults as a TOML value, to read each key's default from.
fn default_values() -> toml::Value {
    toml::Value::try_from(Config::default()).unwrap_or(toml::Value::Integer(0))
}

/// A key's default as the documentation and `--help` show it.
fn default_text(key: &Key, defaults: &toml::Value) -> String {
    let (section, field) = key.path();
    let value = match section {
        Some(s) => defaults.get(s).and_then(|t| t.get(field)),
        None => defaults.get(field),
    };
    match value {
        Some(toml::Value::String(s)) if !s.is_empty() => format!("`{s}`"),
        Some(toml::Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|v| format!("`{}`", v.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(", "),
        Some(toml::Value::Integer(n)) => n.to_string(),
        Some(toml::Value::Boolean(b)) => b.to_string(),
        _ => key.unset.to_string(),
    }
}

/// The Markdown table of the old names still read, as `docs/configuration.md` holds it.
pub fn markdown_old_names() -> String {
    let mut out = String::from("| old name | now | value |\n|---|---|---|\n");
    for key in KEYS {
        let Some(old) = key.old.filter(|old| *old != key.name) else {
            continue;
        };
        let mut names = format!("`{old}`");
        if let (Some(env), Some(flag)) = (key.old_env, key.old_flag) {
            names.push_str(&format!(", `{env}`, `--{flag}`"));
        }
        let value = match key.old_unit {
            OldUnit::None => "the same",
            OldUnit::Millis => "milliseconds `N` become `Nms`",
            OldUnit::Secs => "seconds `N` become `Ns`",
        };
        out.push_str(&format!("| {names} | `{}` | {value} |\n", key.name));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap};

    use super::*;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        std::fs::write(file.path(), text).unwrap();
        file
    }

    fn load(
        file: Option<&Path>,
        env: &[(&str, &str)],
        flags: &[(&'static str, &str)],
    ) -> Result<Loaded, ConfigError> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let sources = Sources {
            file: file.map(Path::to_path_buf),
            flags: flags
                .iter()
                .map(|(flag, value)| (*flag, vec![value.to_string()]))
                .collect(),
        };
        Config::load_with(&sources, |name| env.get(name).cloned())
    }

    /// The full message of an error with its causes, as the CLI prints it.
    fn chain(err: &ConfigError) -> String {
        let mut text = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = std::error::Error::source(cause);
        }
        text
    }

    #[test]
    fn a_file_overrides_defaults_and_keeps_the_rest() {
        let config: Config = toml::from_str(
            "listen = \"127.0.0.1:6000\"\n[smtp]\nprobe = true\n[dns]\ntimeout = \"250ms\"\n",
        )
        .unwrap();
        assert_eq!(config.listen, SocketAddr::from(([127, 0, 0, 1], 6000)));
        assert!(config.smtp.probe);
        assert_eq!(config.dns.timeout, Duration::from_millis(250));
        assert_eq!(config.dns.attempts, Config::default().dns.attempts);
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let err = toml::from_str::<Config>("listen = \"127.0.0.1:6000\"\nlisten_port = 1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("listen_port"), "{err}");
        assert!(err.contains("line 2"), "{err}");
        let f = file("[dns]\ntimeout = \"1s\"\nretries = 3\n");
        let err = chain(&load(Some(f.path()), &[], &[]).unwrap_err());
        assert!(err.contains("retries"), "{err}");
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains(&f.path().display().to_string()), "{err}");
    }

    #[test]
    fn layers_rise_from_defaults_to_file_to_environment_to_flags() {
        let f = file("[dns]\ntimeout = \"3s\"\nattempts = 5\nmax_queries = 7\n");
        let loaded = load(
            Some(f.path()),
            &[
                ("LEADCHECK_DNS_ATTEMPTS", "6"),
                ("LEADCHECK_DNS_MAX_QUERIES", "8"),
            ],
            &[("dns-max-queries", "9")],
        )
        .unwrap();
        let dns = &loaded.config.dns;
        assert_eq!(dns.timeout, Duration::from_secs(3), "file over default");
        assert_eq!(dns.attempts, 6, "environment over file");
        assert_eq!(dns.max_queries, 9, "flag over environment");
        assert_eq!(dns.cache_bytes, Dns::default().cache_bytes, "default kept");
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    }

    #[test]
    fn booleans_are_turned_off_by_a_later_layer() {
        let f = file("[smtp]\nprobe = true\nallow_private = true\n");
        let loaded = load(
            Some(f.path()),
            &[("LEADCHECK_SMTP_PROBE", "false")],
            &[("smtp-allow-private", "false")],
        )
        .unwrap();
        assert!(!loaded.config.smtp.probe);
        assert!(!loaded.config.smtp.allow_private);
        let on = load(None, &[("LEADCHECK_SMTP_PROBE", "true")], &[]).unwrap();
        assert!(on.config.smtp.probe);
        let off = load(
            None,
            &[("LEADCHECK_SMTP_PROBE", "true")],
            &[("smtp-probe", "false")],
        );
        assert!(!off.unwrap().config.smtp.probe);
    }

    #[test]
    fn every_key_is_settable_from_the_environment() {
        for key in KEYS {
            let value = match key.kind {
                Kind::Bool => "true",
                Kind::Number => "7",
                Kind::Duration => "7s",
                Kind::List if key.name == "dns.servers" => "127.0.0.1:53",
                Kind::List if key.name == "smtp.provider_proxies" => "google=direct",
                Kind::List => "test",
                Kind::Text => match key.name {
                    "listen" | "metrics_listen" | "health_listen" => "127.0.0.1:7",
                    "reflection" => "off",
                    "log_format" => "json",
                    "lists.mode" => "replace",
                    "smtp.proxy" => "socks5://127.0.0.1:1080",
                    _ => "x",
                },
            };
            let mut env = vec![(key.env, value)];
            // A suppression file is refused without its key file.
            if key.name == "lists.suppression_file" {
                env.push(("LEADCHECK_SUPPRESSION_KEY_FILE", "x"));
            }
            let loaded =
                load(None, &env, &[]).unwrap_or_else(|e| panic!("{}: {}", key.env, chain(&e)));
            assert_ne!(
                loaded.config,
                Config::default(),
                "{} changed nothing",
                key.env
            );
        }
    }

    #[test]
    fn durations_are_humantime_strings() {
        let loaded = load(
            None,
            &[("LEADCHECK_STREAM_IDLE", "1m 30s")],
            &[("default-deadline", "250ms"), ("keepalive", "0")],
        )
        .unwrap();
        assert_eq!(loaded.config.limits.stream_idle, Duration::from_secs(90));
        assert_eq!(
            loaded.config.limits.default_deadline,
            Duration::from_millis(250)
        );
        assert_eq!(loaded.config.limits.keepalive, Duration::ZERO);
        let err = chain(&load(None, &[], &[("dns-timeout", "soon")]).unwrap_err());
        assert!(err.contains("dns.timeout"), "{err}");
        assert!(err.contains("--dns-timeout"), "{err}");
        assert!(err.contains("soon"), "{err}");
    }

    #[test]
    fn errors_name_the_key_and_the_layer() {
        let err = chain(&load(None, &[("LEADCHECK_DNS_ATTEMPTS", "many")], &[]).unwrap_err());
        assert!(err.contains("dns.attempts"), "{err}");
        assert!(
            err.contains("environment variable LEADCHECK_DNS_ATTEMPTS"),
            "{err}"
        );
        let err = chain(&load(None, &[], &[("dns-server", "not-an-address")]).unwrap_err());
        assert!(err.contains("dns.servers from flag --dns-server"), "{err}");
        assert!(err.contains("not-an-address"), "{err}");
        let err = chain(&load(None, &[("LEADCHECK_SMTP_PROBE", "maybe")], &[]).unwrap_err());
        assert!(err.contains("smtp.probe"), "{err}");
        let f = file("[limits]\nmax_connections = \"lots\"\n");
        let err = chain(&load(Some(f.path()), &[], &[]).unwrap_err());
        assert!(err.contains("max_connections"), "{err}");
        assert!(err.contains(&f.path().display().to_string()), "{err}");
    }

    #[test]
    fn the_smtp_proxy_is_a_socks5_url_checked_at_load() {
        let loaded = load(None, &[], &[("smtp-proxy", "socks5://10.0.0.9:1080")]).unwrap();
        let proxy = loaded.config.probe_config().proxy.map(|p| p.to_string());
        assert_eq!(proxy.as_deref(), Some("socks5://10.0.0.9:1080"));
        assert_eq!(Config::default().probe_config().proxy, None);
        let err =
            chain(&load(None, &[("LEADCHECK_SMTP_PROXY", "socks5h://p:1080")], &[]).unwrap_err());
        assert!(err.contains("smtp.proxy"), "{err}");
        assert!(err.contains("resolve names"), "{err}");
    }

    #[test]
    fn proxy_credentials_are_never_shown_and_a_user_alone_needs_the_password_file() {
        let env = [(
            "LEADCHECK_SMTP_PROXY",
            "socks5://probe:s3cret@10.0.0.9:1080",
        )];
        let loaded = load(None, &env, &[]).unwrap();
        let debug = format!("{:?}", loaded.config);
        assert!(
            debug.contains("socks5://probe:***@10.0.0.9:1080"),
            "{debug}"
        );
        assert!(!debug.contains("s3cret"), "{debug}");
        // A bad URL's error says what is wrong, not what was given.
        for (name, value) in [
            ("LEADCHECK_SMTP_PROXY", "socks5://probe:s3cret@10.0.0.9"),
            (
                "LEADCHECK_SMTP_PROVIDER_PROXIES",
                "google=socks5h://probe:s3cret@p:1",
            ),
        ] {
            let err = chain(&load(None, &[(name, value)], &[]).unwrap_err());
            assert!(!err.contains("s3cret"), "{err}");
            assert!(err.contains(name), "{err}");
        }
        let entries = "google=socks5://probe@10.0.0.2:1080,microsoft=direct";
        let env = [("LEADCHECK_SMTP_PROVIDER_PROXIES", entries)];
        let err = chain(&load(None, &env, &[]).unwrap_err());
        assert!(err.contains("smtp.proxy_password_file"), "{err}");
        let flags = [("smtp-proxy-password-file", "/run/secrets/proxy")];
        let loaded = load(None, &env, &flags).unwrap();
        let shown: Vec<String> = (loaded.config.smtp.provider_proxies.iter())
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            ["google=socks5://probe@10.0.0.2:1080", "microsoft=direct"]
        );
    }

    #[test]
    fn secrets_are_not_shown_in_errors() {
        let plain = load(None, &[("LEADCHECK_PHONE_CACHE_CAPACITY", "s3cret")], &[]);
        let err = chain(&plain.unwrap_err());
        assert!(err.contains("s3cret"), "a plain key shows its value: {err}");
        // A secret's text never fails its type; an old-unit number is the one check it
        // could fail.
        let secret = Setting {
            key: KEYS.iter().find(|k| k.name == "redis.key_secret").unwrap(),
            layer: Layer::Env("LEADCHECK_REDIS_KEY_SECRET"),
            raw: vec!["s3cret".into()],
            unit: OldUnit::Millis,
        };
        let err = chain(&setting_value(&secret).unwrap_err());
        assert!(!err.contains("s3cret"), "{err}");
        assert!(err.contains("(hidden)"), "{err}");
    }

    #[test]
    fn old_flat_names_still_work_with_a_warning() {
        let f = file("dns_timeout_ms = 1500\nsmtp_probe = true\nlists_mode = \"replace\"\n");
        let loaded = load(
            Some(f.path()),
            &[("LEADCHECK_SHUTDOWN_GRACE_SECS", "20")],
            &[("stream-idle-secs", "3")],
        )
        .unwrap();
        let c = &loaded.config;
        assert_eq!(c.dns.timeout, Duration::from_millis(1500));
        assert!(c.smtp.probe);
        assert_eq!(c.lists.mode, ListMode::Replace);
        assert_eq!(c.shutdown_grace, Duration::from_secs(20));
        assert_eq!(c.limits.stream_idle, Duration::from_secs(3));
        let warnings = loaded.warnings.join("\n");
        for old in [
            "dns_timeout_ms",
            "smtp_probe",
            "lists_mode",
            "LEADCHECK_SHUTDOWN_GRACE_SECS",
            "--stream-idle-secs",
        ] {
            assert!(warnings.contains(old), "no warning for {old}: {warnings}");
        }
        assert!(
            warnings.contains("`timeout = \"1500ms\"` under [dns]"),
            "{warnings}"
        );
        // The new name wins over the old one.
        let both = load(
            None,
            &[
                ("LEADCHECK_DNS_TIMEOUT", "1s"),
                ("LEADCHECK_DNS_TIMEOUT_MS", "5000"),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(both.config.dns.timeout, Duration::from_secs(1));
    }

    #[test]
    fn leadcheck_log_wins_over_rust_log() {
        let only_rust = load(None, &[("RUST_LOG", "debug")], &[]).unwrap();
        assert_eq!(only_rust.config.log, "debug");
        let both = load(
            None,
            &[("RUST_LOG", "debug"), ("LEADCHECK_LOG", "warn")],
            &[],
        )
        .unwrap();
        assert_eq!(both.config.log, "warn");
        assert_eq!(load(None, &[], &[]).unwrap().config.log, "info");
    }

    #[test]
    fn auth_tokens_come_through_the_config() {
        let loaded = load(None, &[("LEADCHECK_AUTH_TOKENS", "one, two,,three")], &[]).unwrap();
        assert_eq!(loaded.config.auth_tokens, ["one", "two", "three"]);
    }

    /// The fields serde knows of a struct, read from its unknown-field message.
    fn fields_of(section: Option<&str>) -> BTreeSet<String> {
        let probe = match section {
            Some(s) => format!("[{s}]\nno_such_field = 1\n"),
            None => "no_such_field = 1\n".to_string(),
        };
        let err = toml::from_str::<Config>(&probe).unwrap_err().to_string();
        let expected = err.split("expected").nth(1).unwrap_or_default();
        expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn every_field_is_one_key_and_every_key_one_field() {
        let keys: BTreeSet<&str> = KEYS.iter().map(|k| k.name).collect();
        assert_eq!(keys.len(), KEYS.len(), "a key is listed twice");
        let sections = ["lists", "dns", "smtp", "redis", "tls", "limits"];
        let mut fields = BTreeSet::new();
        for field in fields_of(None) {
            if !sections.contains(&field.as_str()) {
                fields.insert(field);
            }
        }
        for section in sections {
            let inner = fields_of(Some(section));
            assert!(!inner.is_empty(), "[{section}] has no fields?");
            fields.extend(inner.into_iter().map(|f| format!("{section}.{f}")));
        }
        let keys: BTreeSet<String> = keys.into_iter().map(str::to_string).collect();
        assert_eq!(fields, keys, "Config's fields and KEYS differ");
    }

    #[test]
    fn names_follow_one_rule_and_are_unique() {
        let mut envs = BTreeSet::new();
        let mut flags = BTreeSet::new();
        for key in KEYS {
            assert!(key.env.starts_with("LEADCHECK_"), "{}", key.env);
            assert!(envs.insert(key.env), "{} twice", key.env);
            assert!(flags.insert(key.flag), "--{} twice", key.flag);
            assert!(
                !key.doc.contains('|'),
                "{}: a `|` breaks the table",
                key.name
            );
            if let (Some(old), Some(env), Some(flag)) = (key.old, key.old_env, key.old_flag) {
                assert_eq!(env, format!("LEADCHECK_{}", old.to_uppercase()));
                assert_eq!(flag, old.replace('_', "-"));
                assert!(envs.insert(env) && flags.insert(flag), "{old} twice");
                assert_ne!(key.old_unit, OldUnit::None, "{old}");
            }
        }
    }

    #[test]
    fn the_documentation_holds_every_key_with_its_default() {
        let doc = include_str!("../docs/configuration.md");
        let table = markdown_table();
        assert!(
            doc.contains(&table),
            "docs/configuration.md's table differs from the code; it should read:\n\n{table}"
        );
        let old = markdown_old_names();
        assert!(
            doc.contains(&old),
            "docs/configuration.md's old names differ from the code; they should read:\n\n{old}"
        );
    }

    #[test]
    fn a_suppression_file_without_its_key_is_refused() {
        let file = Sources {
            file: None,
            flags: vec![("suppression-file", vec!["/x/suppressed.txt".to_string()])],
        };
        let err = Config::load_with(&file, |_| None).unwrap_err();
        assert!(matches!(err, ConfigError::Missing { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("lists.suppression_key_file"), "{message}");
        // With the key, from the environment, it loads.
        let loaded = Config::load_with(&file, |name| {
            (name == "LEADCHECK_SUPPRESSION_KEY_FILE").then(|| "/x/key".to_string())
        })
        .unwrap();
        let files = loaded.config.suppression_files().unwrap();
        assert_eq!(files.file, PathBuf::from("/x/suppressed.txt"));
        assert_eq!(files.key_file, PathBuf::from("/x/key"));
        // A key alone is harmless: no list.
        let key = Sources {
            file: None,
            flags: vec![("suppression-key-file", vec!["/x/key".to_string()])],
        };
        let loaded = Config::load_with(&key, |_| None).unwrap();
        assert_eq!(loaded.config.suppression_files(), None);
    }

    #[test]
    fn the_readme_links_the_configuration_guide() {
        let readme = include_str!("../README.md");
        assert!(readme.contains("docs/configuration.md"));
    }

    #[test]
    fn flags_parse_through_clap() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            sources: Sources,
        }
        let cli = Cli::try_parse_from([
            "x",
            "--smtp-probe",
            "--smtp-allow-private=false",
            "--dns-server",
            "127.0.0.1:53,127.0.0.1:54",
            "--dns-server",
            "127.0.0.1:55",
            "--dns-timeout-ms",
            "1500",
            "--keepalive",
            "1s",
            "--keepalive",
            "2s",
        ])
        .unwrap();
        let loaded = Config::load_with(&cli.sources, |_| None).unwrap();
        let c = loaded.config;
        assert!(c.smtp.probe);
        assert!(!c.smtp.allow_private);
        assert_eq!(c.dns.servers.len(), 3);
        assert_eq!(c.dns.timeout, Duration::from_millis(1500));
        assert_eq!(
            c.limits.keepalive,
            Duration::from_secs(2),
            "the last flag wins"
        );
        assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    }
}
