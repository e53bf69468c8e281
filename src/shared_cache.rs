//! The optional second-level cache in Redis, shared by every replica (`--redis-url`).
//!
//! It sits behind the in-process caches (quick_cache for DNS routes and exchangers, moka
//! for SMTP results): a local miss asks Redis, a fresh finding is written to it. Four
//! kinds of entries live there, each with its own lifetime: a domain's mail route (DNS),
//! an exchanger's addresses, a mailbox's SMTP probe result, a domain's catch-all finding.
//!
//! Redis is an optimisation, never a dependency:
//! - every command is bounded by a short timeout (`redis.timeout`), after which the
//!   caller goes on as if Redis had no entry;
//! - a circuit breaker opens after [`BREAKER_FAILURES`] failures in a row and skips Redis
//!   for `redis.breaker`; then one call tries again, and a success closes it;
//! - writes are sent from a spawned task: a request never waits for one.
//!
//! Redis is not trusted: whoever can write to it could otherwise plant a verdict every
//! replica believes. Every replica holds the same secret (`redis.key_secret`, required),
//! and from it two keys:
//! - values are sealed with an HMAC-SHA256 over the entry's Redis key and its text, so a
//!   value that was not written by a replica, or was copied from another key, fails the
//!   check; a value is read with `GETRANGE` up to [`MAX_VALUE_BYTES`], so a planted giant
//!   costs no more than that. Both are misses, counted in
//!   `leadcheck_redis_values_refused_total`;
//! - mailbox entries are keyed by an HMAC-SHA256 of the lower-cased address, so keys never
//!   hold one. Domains stay plain.
//!
//! Keys and values both carry [`FORMAT`]: a replica of another format version neither
//! reads nor overwrites these entries, and a value that does not decode is a miss, never
//! an error.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use tracing::Instrument;

use crate::metrics;

/// The format version of keys and values: 2 since values are sealed with an HMAC (a
/// value of version 1 is under a `v1` key, which is never read).
pub const FORMAT: u32 = 2;
/// Failures in a row that open the breaker.
pub const BREAKER_FAILURES: u32 = 3;
/// Largest value read from or written to Redis, in bytes: the largest entry (a domain's
/// route of at most a few exchanger names, a quoted SMTP reply) is well under it.
pub const MAX_VALUE_BYTES: usize = 16 * 1024;
/// Shortest `redis.key_secret`, in bytes.
pub const MIN_SECRET_BYTES: usize = 16;
/// Length of a value's seal: HMAC-SHA256 in hex, before the value's JSON.
const SEAL_HEX: usize = 64;

/// How to reach Redis and how long to wait for it.
#[derive(Clone)]
pub struct SharedConfig {
    /// `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS).
    pub url: String,
    /// Longest wait for one command.
    pub timeout: Duration,
    /// How long the breaker stays open before one call tries again.
    pub breaker_cooldown: Duration,
    /// The secret that seals values and keys mailbox entries; required (see
    /// [`SetupError::NoSecret`]).
    pub key_secret: Option<Vec<u8>>,
    /// PEM CA certificate(s) that sign the server's certificate (`rediss://`); `None`:
    /// Mozilla's roots, built in.
    pub ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for SharedConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedConfig")
            .field("url", &redacted_url(&self.url))
            .field("timeout", &self.timeout)
            .field("breaker_cooldown", &self.breaker_cooldown)
            .field("key_secret", &self.key_secret.as_ref().map(|_| "<set>"))
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// The URL without its password, for logs.
pub fn redacted_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://<credentials>@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// Why the shared cache cannot be used as configured.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The URL or the TLS settings are not usable.
    #[error("{0}")]
    Redis(#[from] redis::RedisError),
    /// No secret: values could not be told from planted ones.
    #[error(
        "redis_key_secret is not set: values shared through Redis are authenticated with \
         it; set LEADCHECK_REDIS_KEY_SECRET, the same on every replica (such as the output \
         of `openssl rand -hex 32`)"
    )]
    NoSecret,
    /// A secret too short to stand a guess.
    #[error("redis_key_secret is shorter than {MIN_SECRET_BYTES} bytes")]
    ShortSecret,
    /// The CA file cannot be read.
    #[error("redis_ca_file {path}: {source}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// What an entry describes; each kind has its key space and metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A domain's mail route, keyed by the ASCII domain.
    Dns,
    /// A mailbox's SMTP probe result, keyed by the HMAC of the address.
    Mailbox,
    /// A domain's catch-all finding, keyed by the ASCII domain.
    CatchAll,
    /// A mail exchanger's addresses, keyed by its host name.
    Exchanger,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Dns => "dns",
            Kind::Mailbox => "mailbox",
            Kind::CatchAll => "catch_all",
            Kind::Exchanger => "exchanger",
        }
    }
}

/// A stored value: the format, when it stops being valid, and the data.
#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    v: u32,
    /// Expiry, milliseconds since the Unix epoch (Redis expires it too).
    exp: u64,
    data: T,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Encodes a value with its format and expiry.
fn encode<T: Serialize>(data: &T, ttl: Duration) -> Option<String> {
    let exp = now_ms().saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
    serde_json::to_string(&Envelope {
        v: FORMAT,
        exp,
        data,
    })
    .ok()
}

/// Decodes a value of this format that has not expired, with its remaining lifetime.
fn decode<T: DeserializeOwned>(text: &str) -> Option<(T, Duration)> {
    #[derive(Deserialize)]
    struct Version {
        v: u32,
    }
    // The version first: a value of another format is not even parsed as this one.
    if serde_json::from_str::<Version>(text).ok()?.v != FORMAT {
        return None;
    }
    let envelope: Envelope<T> = serde_json::from_str(text).ok()?;
    let left = envelope.exp.checked_sub(now_ms()).filter(|&ms| ms > 0)?;
    Some((envelope.data, Duration::from_millis(left)))
}

/// The breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Redis is asked; the failures in a row so far.
    Closed(u32),
    /// Redis is not asked until then.
    Open(Instant),
    /// One call is trying Redis again since then; the others skip it.
    Trial(Instant),
}

/// Stops asking Redis after failures in a row; tries one call again after a cooldown.
#[derive(Debug)]
pub struct Breaker {
    state: Mutex<State>,
    cooldown: Duration,
    /// A trial whose caller went away (cancelled) is given up after this.
    trial_limit: Duration,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(cooldown: Duration, trial_limit: Duration) -> Breaker {
        Breaker {
            state: Mutex::new(State::Closed(0)),
            cooldown,
            trial_limit,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Tells whether this call may ask Redis (at `now`).
    pub fn allow(&self, now: Instant) -> bool {
        let mut state = self.lock();
        match *state {
            State::Closed(_) => true,
            State::Open(until) | State::Trial(until) if now < until => false,
            State::Open(_) | State::Trial(_) => {
                *state = State::Trial(now + self.trial_limit);
                true
            }
        }
    }

    /// Records an answer from Redis: the breaker closes.
    pub fn success(&self) {
        let mut state = self.lock();
        if *state != State::Closed(0) {
            if !matches!(*state, State::Closed(_)) {
                tracing::info!("redis answers again: shared cache back on");
                metrics::record_redis_breaker(false);
            }
            *state = State::Closed(0);
        }
    }

    /// Records a failure (at `now`): the breaker opens after enough in a row, or at once
    /// when a trial fails.
    pub fn failure(&self, now: Instant) {
        let mut state = self.lock();
        let open = match *state {
            State::Closed(n) if n + 1 < BREAKER_FAILURES => {
                *state = State::Closed(n + 1);
                false
            }
            State::Closed(_) => true,
            State::Trial(_) | State::Open(_) => true,
        };
        if open {
            if matches!(*state, State::Closed(_)) {
                tracing::warn!(
                    cooldown_ms = self.cooldown.as_millis() as u64,
                    "redis failing: shared cache off for a while, local caches only"
                );
                metrics::record_redis_breaker(true);
            }
            *state = State::Open(now + self.cooldown);
        }
    }

    /// Tells whether Redis is being skipped.
    pub fn is_open(&self) -> bool {
        !matches!(*self.lock(), State::Closed(_))
    }
}

/// The shared cache: a Redis connection (made lazily, remade when lost), its timeout and
/// breaker, and the keys that name mailbox entries and seal values.
pub struct SharedCache {
    conn: ConnectionManager,
    timeout: Duration,
    breaker: Arc<Breaker>,
    /// Names mailbox entries.
    names: Hmac<Sha256>,
    /// Seals values.
    seals: Hmac<Sha256>,
}

/// Derives from the secret the HMAC key of one use, so that no HMAC output of one use
/// (a mailbox key is visible in Redis) is ever valid in another.
fn derive(secret: &[u8], purpose: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(purpose);
    <Hmac<Sha256> as Mac>::new_from_slice(&mac.finalize().into_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
}

/// Lower-case hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Makes the Redis client: with the CA file's roots for `rediss://` when one is given.
fn client(config: &SharedConfig) -> Result<redis::Client, SetupError> {
    let Some(path) = &config.ca_file else {
        return Ok(redis::Client::open(config.url.as_str())?);
    };
    let pem = std::fs::read(path).map_err(|source| SetupError::CaFile {
        path: path.clone(),
        source,
    })?;
    let certificates = redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(pem),
    };
    Ok(redis::Client::build_with_tls(
        config.url.as_str(),
        certificates,
    )?)
}

impl SharedCache {
    /// Prepares the cache; nothing is dialled until the first command, so a Redis that is
    /// down at start delays nothing. Fails on a malformed URL, a missing or short secret,
    /// or an unreadable CA file.
    pub fn new(config: &SharedConfig) -> Result<SharedCache, SetupError> {
        let secret = config.key_secret.as_deref().ok_or(SetupError::NoSecret)?;
        if secret.len() < MIN_SECRET_BYTES {
            return Err(SetupError::ShortSecret);
        }
        let client = client(config)?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.timeout))
            .set_response_timeout(Some(config.timeout))
            .set_number_of_retries(1)
            .set_max_delay(config.breaker_cooldown);
        let conn = ConnectionManager::new_lazy_with_config(client, manager_config)?;
        metrics::record_redis_breaker(false);
        Ok(SharedCache {
            conn,
            timeout: config.timeout,
            breaker: Arc::new(Breaker::new(config.breaker_cooldown, config.timeout * 4)),
            names: derive(secret, b"leadcheck mailbox key"),
            seals: derive(secret, b"leadcheck value seal"),
        })
    }

    /// Tells whether the breaker is skipping Redis.
    pub fn breaker_open(&self) -> bool {
        self.breaker.is_open()
    }

    /// The Redis key of an entry.
    pub fn key(&self, kind: Kind, id: &str) -> String {
        let id = id.trim().to_lowercase();
        match kind {
            Kind::Dns => format!("leadcheck:v{FORMAT}:dns:{id}"),
            Kind::CatchAll => format!("leadcheck:v{FORMAT}:catch_all:{id}"),
            Kind::Exchanger => format!("leadcheck:v{FORMAT}:exchanger:{id}"),
            Kind::Mailbox => {
                let mut mac = self.names.clone();
                mac.update(id.as_bytes());
                let digest = hex(&mac.finalize().into_bytes());
                format!("leadcheck:v{FORMAT}:mailbox:{digest}")
            }
        }
    }

    /// The seal of a value's text under `key`, in hex.
    fn seal(&self, key: &str, text: &[u8]) -> String {
        let mut mac = self.seals.clone();
        mac.update(key.as_bytes());
        mac.update(&[0]);
        mac.update(text);
        hex(&mac.finalize().into_bytes())
    }

    /// Returns the text of a value read under `key` when its seal holds; `Err` with the
    /// metric reason when the value is refused. An empty value is no value.
    fn unseal<'a>(&self, key: &str, value: &'a [u8]) -> Result<Option<&'a [u8]>, &'static str> {
        if value.is_empty() {
            return Ok(None);
        }
        if value.len() > MAX_VALUE_BYTES {
            return Err("too_large");
        }
        let (seal, text) = value.split_at_checked(SEAL_HEX).ok_or("bad_mac")?;
        let expected = self.seal(key, text);
        if bool::from(expected.as_bytes().ct_eq(seal)) {
            Ok(Some(text))
        } else {
            Err("bad_mac")
        }
    }

    /// Reads an entry: the value and its remaining lifetime, or `None` on a miss, an
    /// error, a timeout, an open breaker, a value of another format, or a value refused
    /// (over [`MAX_VALUE_BYTES`], a broken seal, not a string).
    pub async fn get<T: DeserializeOwned>(&self, kind: Kind, id: &str) -> Option<(T, Duration)> {
        let key = self.key(kind, id);
        if !self.breaker.allow(Instant::now()) {
            metrics::record_redis(kind.label(), "get", "skipped");
            return None;
        }
        // Its attributes are the cache kind and the outcome, never the key: a mailbox's
        // is a keyed hash of the address, a domain's holds the domain.
        let span = tracing::debug_span!(
            "redis get",
            otel.name = "GETRANGE",
            otel.kind = "client",
            otel.status_code = tracing::field::Empty,
            db.system.name = "redis",
            db.operation.name = "GETRANGE",
            leadcheck.cache.kind = kind.label(),
            leadcheck.redis.outcome = tracing::field::Empty,
        );
        let (found, outcome) = self.read(kind, &key).instrument(span.clone()).await;
        span.record("leadcheck.redis.outcome", outcome);
        if matches!(outcome, "error" | "timeout") {
            span.record("otel.status_code", "ERROR");
        }
        found
    }

    /// Reads `key`: the entry, if any, and the outcome its metric is recorded with.
    async fn read<T: DeserializeOwned>(
        &self,
        kind: Kind,
        key: &str,
    ) -> (Option<(T, Duration)>, &'static str) {
        let mut conn = self.conn.clone();
        // GETRANGE, not GET: Redis sends at most one byte past the cap, whatever was
        // planted under the key (a missing key reads as empty).
        let last = i64::try_from(MAX_VALUE_BYTES).unwrap_or(i64::MAX);
        let reply = tokio::time::timeout(
            self.timeout,
            redis::cmd("GETRANGE")
                .arg(key)
                .arg(0)
                .arg(last)
                .query_async::<Vec<u8>>(&mut conn),
        )
        .await;
        match reply {
            Ok(Ok(value)) => {
                self.breaker.success();
                let found = match self.unseal(key, &value) {
                    Ok(text) => text
                        .and_then(|text| std::str::from_utf8(text).ok())
                        .and_then(decode::<T>),
                    Err(reason) => {
                        self.refused(kind, reason);
                        None
                    }
                };
                let outcome = if found.is_some() { "hit" } else { "miss" };
                metrics::record_redis(kind.label(), "get", outcome);
                (found, outcome)
            }
            // A key of another type, planted: Redis answers, the value is refused.
            Ok(Err(err)) if err.code() == Some("WRONGTYPE") => {
                self.breaker.success();
                self.refused(kind, "wrong_type");
                metrics::record_redis(kind.label(), "get", "miss");
                (None, "miss")
            }
            Ok(Err(err)) => {
                self.failed(kind, "get", "error", &err.to_string());
                (None, "error")
            }
            Err(_) => {
                self.failed(kind, "get", "timeout", "no answer in time");
                (None, "timeout")
            }
        }
    }

    /// Writes an entry for `ttl`, sealed, from a spawned task: the caller never waits.
    /// Skipped while the breaker is open, for a zero TTL, and for a value over
    /// [`MAX_VALUE_BYTES`] (it could not be read back).
    pub fn put<T: Serialize>(self: &Arc<Self>, kind: Kind, id: &str, value: &T, ttl: Duration) {
        let key = self.key(kind, id);
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        let Some(text) = encode(value, ttl).filter(|_| millis > 0) else {
            return;
        };
        let text = format!("{}{text}", self.seal(&key, text.as_bytes()));
        if text.len() > MAX_VALUE_BYTES {
            metrics::record_redis(kind.label(), "set", "too_large");
            return;
        }
        if !self.breaker.allow(Instant::now()) {
            metrics::record_redis(kind.label(), "set", "skipped");
            return;
        }
        let this = self.clone();
        // A child of the caller's span, though the caller does not wait for it.
        let span = tracing::debug_span!(
            "redis set",
            otel.name = "SET",
            otel.kind = "client",
            otel.status_code = tracing::field::Empty,
            db.system.name = "redis",
            db.operation.name = "SET",
            leadcheck.cache.kind = kind.label(),
            leadcheck.redis.outcome = tracing::field::Empty,
        );
        let stored = async move {
            let mut conn = this.conn.clone();
            let reply = tokio::time::timeout(
                this.timeout,
                redis::cmd("SET")
                    .arg(&key)
                    .arg(text)
                    .arg("PX")
                    .arg(millis)
                    .query_async::<()>(&mut conn),
            )
            .await;
            let outcome = match reply {
                Ok(Ok(())) => {
                    this.breaker.success();
                    metrics::record_redis(kind.label(), "set", "stored");
                    "stored"
                }
                Ok(Err(err)) => {
                    this.failed(kind, "set", "error", &err.to_string());
                    "error"
                }
                Err(_) => {
                    this.failed(kind, "set", "timeout", "no answer in time");
                    "timeout"
                }
            };
            let span = tracing::Span::current();
            span.record("leadcheck.redis.outcome", outcome);
            if outcome != "stored" {
                span.record("otel.status_code", "ERROR");
            }
        };
        tokio::spawn(stored.instrument(span));
    }

    fn refused(&self, kind: Kind, reason: &'static str) {
        tracing::debug!(kind = kind.label(), reason, "redis value refused");
        metrics::record_redis_refused(kind.label(), reason);
    }

    fn failed(&self, kind: Kind, op: &'static str, outcome: &'static str, detail: &str) {
        tracing::debug!(kind = kind.label(), op, detail, "redis command failed");
        metrics::record_redis(kind.label(), op, outcome);
        self.breaker.failure(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The settings of a cache pointed at port 1 of loopback, where nothing listens.
    fn settings(secret: Option<&str>) -> SharedConfig {
        SharedConfig {
            url: "redis://127.0.0.1:1".into(),
            timeout: Duration::from_millis(50),
            breaker_cooldown: Duration::from_secs(1),
            key_secret: secret.map(|s| s.as_bytes().to_vec()),
            ca_file: None,
        }
    }

    /// A cache pointed at port 1 of loopback (needs a runtime).
    fn cache(secret: &str) -> SharedCache {
        SharedCache::new(&settings(Some(secret))).unwrap()
    }

    #[tokio::test]
    async fn mailbox_keys_hold_no_address_and_depend_on_the_secret() {
        let a = cache("secret-a-0123456789");
        let b = cache("secret-b-0123456789");
        let key = a.key(Kind::Mailbox, "Ana.Silva@Example.com");
        assert!(
            !key.contains("ana") && !key.contains("example") && !key.contains('@'),
            "{key}"
        );
        assert!(key.starts_with("leadcheck:v2:mailbox:"), "{key}");
        assert_eq!(key.len(), "leadcheck:v2:mailbox:".len() + 64, "{key}");
        // Case and surrounding space do not change the key; another secret does.
        assert_eq!(key, a.key(Kind::Mailbox, " ana.silva@example.com "));
        assert_ne!(key, b.key(Kind::Mailbox, "ana.silva@example.com"));
        // Domains stay readable.
        assert_eq!(
            a.key(Kind::Dns, "Example.COM"),
            "leadcheck:v2:dns:example.com"
        );
        assert_eq!(
            a.key(Kind::CatchAll, "example.com"),
            "leadcheck:v2:catch_all:example.com"
        );
    }

    #[tokio::test]
    async fn sharing_needs_a_secret_of_some_length() {
        let err = |config: SharedConfig| match SharedCache::new(&config) {
            Ok(_) => panic!("started with {config:?}"),
            Err(err) => err.to_string(),
        };
        let none = err(settings(None));
        assert!(none.contains("LEADCHECK_REDIS_KEY_SECRET"), "{none}");
        let short = err(settings(Some("short")));
        assert!(short.contains("shorter than 16 bytes"), "{short}");
        let ca = err(SharedConfig {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..settings(Some("a-secret-of-16-bytes"))
        });
        assert!(ca.contains("/nonexistent/ca.pem"), "{ca}");
    }

    #[tokio::test]
    async fn only_a_value_sealed_under_its_own_key_with_the_secret_is_read() {
        let ours = cache("our-secret-0123456789");
        let key = ours.key(Kind::Dns, "example.com");
        let text = br#"{"v":2,"exp":99999999999999,"data":"NoDomain"}"#;
        let sealed = format!(
            "{}{}",
            ours.seal(&key, text),
            std::str::from_utf8(text).unwrap()
        );
        assert_eq!(ours.unseal(&key, sealed.as_bytes()), Ok(Some(&text[..])));
        assert_eq!(ours.unseal(&key, b""), Ok(None), "no value");

        // Another secret, another key, a changed byte, no seal, a seal alone: refused.
        let theirs = cache("their-secret-0123456789");
        assert_eq!(theirs.unseal(&key, sealed.as_bytes()), Err("bad_mac"));
        let other_key = ours.key(Kind::Dns, "victim.example");
        assert_eq!(ours.unseal(&other_key, sealed.as_bytes()), Err("bad_mac"));
        let changed = sealed.replace("NoDomain", "NoMailRt");
        assert_eq!(ours.unseal(&key, changed.as_bytes()), Err("bad_mac"));
        assert_eq!(ours.unseal(&key, text), Err("bad_mac"));
        assert_eq!(
            ours.unseal(&key, &sealed.as_bytes()[..SEAL_HEX]),
            Err("bad_mac")
        );
        assert_eq!(ours.unseal(&key, b"short"), Err("bad_mac"));
        // Past the cap, whatever it holds.
        let giant = vec![b'x'; MAX_VALUE_BYTES + 1];
        assert_eq!(ours.unseal(&key, &giant), Err("too_large"));
    }

    #[test]
    fn values_of_another_format_or_expired_or_garbage_are_misses() {
        let text = encode(
            &vec!["mx1.example.com".to_string()],
            Duration::from_secs(60),
        )
        .unwrap();
        let (data, left): (Vec<String>, Duration) = decode(&text).unwrap();
        assert_eq!(data, vec!["mx1.example.com"]);
        assert!(
            left <= Duration::from_secs(60) && left > Duration::from_secs(50),
            "{left:?}"
        );

        let other_version = text.replacen("\"v\":2", "\"v\":3", 1);
        assert!(decode::<Vec<String>>(&other_version).is_none());
        let expired = format!("{{\"v\":2,\"exp\":{},\"data\":[]}}", now_ms() - 1);
        assert!(decode::<Vec<String>>(&expired).is_none());
        // The right version with the wrong shape (a format change without a bump).
        assert!(decode::<Vec<String>>("{\"v\":2,\"exp\":99999999999999,\"data\":7}").is_none());
        assert!(decode::<Vec<String>>("not json").is_none());
        assert!(decode::<Vec<String>>("").is_none());
    }

    #[test]
    fn the_breaker_opens_after_failures_in_a_row_and_retries_once_after_the_cooldown() {
        let t0 = Instant::now();
        let breaker = Breaker::new(Duration::from_secs(5), Duration::from_secs(1));
        for _ in 0..BREAKER_FAILURES - 1 {
            assert!(breaker.allow(t0));
            breaker.failure(t0);
        }
        // A success in between resets the count.
        breaker.success();
        for _ in 0..BREAKER_FAILURES - 1 {
            breaker.failure(t0);
        }
        assert!(!breaker.is_open());
        breaker.failure(t0);
        assert!(breaker.is_open());
        assert!(
            !breaker.allow(t0 + Duration::from_secs(4)),
            "open: Redis is skipped"
        );
        // After the cooldown one call tries; the others still skip.
        let later = t0 + Duration::from_secs(6);
        assert!(breaker.allow(later));
        assert!(!breaker.allow(later));
        // The trial fails: open again for a whole cooldown.
        breaker.failure(later);
        assert!(!breaker.allow(later + Duration::from_secs(4)));
        let again = later + Duration::from_secs(6);
        assert!(breaker.allow(again));
        breaker.success();
        assert!(!breaker.is_open());
        assert!(
            breaker.allow(again) && breaker.allow(again),
            "closed: everyone asks"
        );
    }

    #[test]
    fn a_trial_whose_caller_vanished_is_given_up() {
        let t0 = Instant::now();
        let breaker = Breaker::new(Duration::from_secs(5), Duration::from_secs(1));
        for _ in 0..BREAKER_FAILURES {
            breaker.failure(t0);
        }
        let trial = t0 + Duration::from_secs(5);
        assert!(breaker.allow(trial));
        // No success or failure is ever recorded for that trial.
        assert!(!breaker.allow(trial + Duration::from_millis(500)));
        assert!(breaker.allow(trial + Duration::from_secs(2)), "a new trial");
    }

    #[test]
    fn the_url_is_logged_without_credentials() {
        assert_eq!(
            redacted_url("redis://user:hunter2@cache:6379/0"),
            "redis://<credentials>@cache:6379/0"
        );
        assert_eq!(redacted_url("redis://cache:6379"), "redis://cache:6379");
        let config = SharedConfig {
            url: "redis://:hunter2@cache:6379".into(),
            ..settings(Some("s3cret"))
        };
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("s3cret"),
            "{shown}"
        );
    }

    #[tokio::test]
    async fn a_redis_that_accepts_but_never_answers_costs_the_timeout_then_nothing() {
        // A listener that takes connections and never says a word: a hung Redis.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hold = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let shared = SharedCache::new(&SharedConfig {
            url: format!("redis://127.0.0.1:{port}"),
            breaker_cooldown: Duration::from_secs(60),
            ..settings(Some("a-secret-of-16-bytes"))
        })
        .unwrap();
        for _ in 0..BREAKER_FAILURES {
            let answer = tokio::time::timeout(
                Duration::from_secs(5),
                shared.get::<bool>(Kind::Dns, "example.com"),
            )
            .await
            .expect("the command timeout ends the wait, not the caller");
            assert!(answer.is_none());
        }
        assert!(shared.breaker_open(), "timeouts in a row open the breaker");
        hold.abort();
    }

    #[tokio::test]
    async fn an_absent_redis_costs_a_bounded_wait_then_nothing() {
        let shared = cache("a-secret-of-16-bytes");
        for _ in 0..BREAKER_FAILURES {
            let started = Instant::now();
            assert!(shared.get::<bool>(Kind::Dns, "example.com").await.is_none());
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "bounded by the timeout"
            );
        }
        assert!(shared.breaker_open(), "failures in a row open the breaker");
        assert!(shared.get::<bool>(Kind::Dns, "example.com").await.is_none());
    }
}
