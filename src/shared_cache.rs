//! The optional second-level cache in Redis, shared by every replica (`--redis-url`).
//!
//! It sits behind the in-process moka caches: a local miss asks Redis, a fresh finding is
//! written to it. Four kinds of entries live there, each with its own lifetime: a
//! domain's mail route (DNS), an exchanger's addresses, a mailbox's SMTP probe result, a
//! domain's catch-all finding.
//!
//! Redis is an optimisation, never a dependency:
//! - every command is bounded by a short timeout (`redis_timeout_ms`), after which the
//!   caller goes on as if Redis had no entry;
//! - a circuit breaker opens after [`BREAKER_FAILURES`] failures in a row and skips Redis
//!   for `redis_breaker_secs`; then one call tries again, and a success closes it;
//! - writes are sent from a spawned task: a request never waits for one.
//!
//! Keys never hold a mailbox address: mailbox entries are keyed by HMAC-SHA256 of the
//! lower-cased address under a configured secret (without one, mailbox results are not
//! shared). Domains stay plain. Keys and values both carry [`FORMAT`]: a replica of
//! another format version neither reads nor overwrites these entries, and a value that
//! does not decode is a miss, never an error.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::metrics;

/// The format version of keys and values.
pub const FORMAT: u32 = 1;
/// Failures in a row that open the breaker.
pub const BREAKER_FAILURES: u32 = 3;

/// How to reach Redis and how long to wait for it.
#[derive(Clone)]
pub struct SharedConfig {
    /// `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS).
    pub url: String,
    /// Longest wait for one command.
    pub timeout: Duration,
    /// How long the breaker stays open before one call tries again.
    pub breaker_cooldown: Duration,
    /// The HMAC key of mailbox entries; `None`: mailbox results stay local.
    pub key_secret: Option<Vec<u8>>,
}

impl std::fmt::Debug for SharedConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedConfig")
            .field("url", &redacted_url(&self.url))
            .field("timeout", &self.timeout)
            .field("breaker_cooldown", &self.breaker_cooldown)
            .field("key_secret", &self.key_secret.as_ref().map(|_| "<set>"))
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
/// breaker, and the key of mailbox entries.
pub struct SharedCache {
    conn: ConnectionManager,
    timeout: Duration,
    breaker: Arc<Breaker>,
    mac: Option<Hmac<Sha256>>,
}

impl SharedCache {
    /// Prepares the cache; nothing is dialled until the first command, so a Redis that is
    /// down at start delays nothing. Fails only on a malformed URL.
    pub fn new(config: &SharedConfig) -> Result<SharedCache, redis::RedisError> {
        let client = redis::Client::open(config.url.as_str())?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.timeout))
            .set_response_timeout(Some(config.timeout))
            .set_number_of_retries(1)
            .set_max_delay(config.breaker_cooldown);
        let conn = ConnectionManager::new_lazy_with_config(client, manager_config)?;
        let mac = match &config.key_secret {
            Some(secret) => Some(
                Hmac::<Sha256>::new_from_slice(secret)
                    .map_err(|_| redis::RedisError::from((redis::ErrorKind::Client, "bad key")))?,
            ),
            None => None,
        };
        metrics::record_redis_breaker(false);
        Ok(SharedCache {
            conn,
            timeout: config.timeout,
            breaker: Arc::new(Breaker::new(config.breaker_cooldown, config.timeout * 4)),
            mac,
        })
    }

    /// Tells whether mailbox entries are shared (a key secret is set).
    pub fn shares_mailboxes(&self) -> bool {
        self.mac.is_some()
    }

    /// Tells whether the breaker is skipping Redis.
    pub fn breaker_open(&self) -> bool {
        self.breaker.is_open()
    }

    /// The Redis key of an entry; `None` for a mailbox without a key secret.
    pub fn key(&self, kind: Kind, id: &str) -> Option<String> {
        let id = id.trim().to_lowercase();
        match kind {
            Kind::Dns => Some(format!("leadcheck:v{FORMAT}:dns:{id}")),
            Kind::CatchAll => Some(format!("leadcheck:v{FORMAT}:catch_all:{id}")),
            Kind::Exchanger => Some(format!("leadcheck:v{FORMAT}:exchanger:{id}")),
            Kind::Mailbox => {
                let mut mac = self.mac.clone()?;
                mac.update(id.as_bytes());
                let digest = mac.finalize().into_bytes();
                let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                Some(format!("leadcheck:v{FORMAT}:mailbox:{hex}"))
            }
        }
    }

    /// Reads an entry: the value and its remaining lifetime, or `None` on a miss, an
    /// error, a timeout, an open breaker, or a value of another format.
    pub async fn get<T: DeserializeOwned>(&self, kind: Kind, id: &str) -> Option<(T, Duration)> {
        let key = self.key(kind, id)?;
        if !self.breaker.allow(Instant::now()) {
            metrics::record_redis(kind.label(), "get", "skipped");
            return None;
        }
        let mut conn = self.conn.clone();
        let reply = tokio::time::timeout(
            self.timeout,
            redis::cmd("GET")
                .arg(&key)
                .query_async::<Option<String>>(&mut conn),
        )
        .await;
        match reply {
            Ok(Ok(value)) => {
                self.breaker.success();
                let found = value.as_deref().and_then(decode::<T>);
                let outcome = if found.is_some() { "hit" } else { "miss" };
                metrics::record_redis(kind.label(), "get", outcome);
                found
            }
            Ok(Err(err)) => {
                self.failed(kind, "get", "error", &err.to_string());
                None
            }
            Err(_) => {
                self.failed(kind, "get", "timeout", "no answer in time");
                None
            }
        }
    }

    /// Writes an entry for `ttl`, from a spawned task: the caller never waits. Skipped
    /// while the breaker is open, for a mailbox without a key secret, and for a zero TTL.
    pub fn put<T: Serialize>(self: &Arc<Self>, kind: Kind, id: &str, value: &T, ttl: Duration) {
        let Some(key) = self.key(kind, id) else {
            return;
        };
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        let Some(text) = encode(value, ttl).filter(|_| millis > 0) else {
            return;
        };
        if !self.breaker.allow(Instant::now()) {
            metrics::record_redis(kind.label(), "set", "skipped");
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
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
            match reply {
                Ok(Ok(())) => {
                    this.breaker.success();
                    metrics::record_redis(kind.label(), "set", "stored");
                }
                Ok(Err(err)) => this.failed(kind, "set", "error", &err.to_string()),
                Err(_) => this.failed(kind, "set", "timeout", "no answer in time"),
            }
        });
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

    /// A cache pointed at port 1 of loopback, where nothing listens (needs a runtime).
    fn cache(secret: Option<&str>) -> SharedCache {
        SharedCache::new(&SharedConfig {
            url: "redis://127.0.0.1:1".into(),
            timeout: Duration::from_millis(50),
            breaker_cooldown: Duration::from_secs(1),
            key_secret: secret.map(|s| s.as_bytes().to_vec()),
        })
        .unwrap()
    }

    #[tokio::test]
    async fn mailbox_keys_hold_no_address_and_depend_on_the_secret() {
        let a = cache(Some("secret-a"));
        let b = cache(Some("secret-b"));
        let key = a.key(Kind::Mailbox, "Ana.Silva@Example.com").unwrap();
        assert!(
            !key.contains("ana") && !key.contains("example") && !key.contains('@'),
            "{key}"
        );
        assert!(key.starts_with("leadcheck:v1:mailbox:"), "{key}");
        assert_eq!(key.len(), "leadcheck:v1:mailbox:".len() + 64, "{key}");
        // Case and surrounding space do not change the key; another secret does.
        assert_eq!(
            key,
            a.key(Kind::Mailbox, " ana.silva@example.com ").unwrap()
        );
        assert_ne!(key, b.key(Kind::Mailbox, "ana.silva@example.com").unwrap());
        // Without a secret, mailbox results are not shared at all.
        assert_eq!(cache(None).key(Kind::Mailbox, "ana@example.com"), None);
        assert!(!cache(None).shares_mailboxes());
        // Domains stay readable.
        assert_eq!(
            a.key(Kind::Dns, "Example.COM").unwrap(),
            "leadcheck:v1:dns:example.com"
        );
        assert_eq!(
            a.key(Kind::CatchAll, "example.com").unwrap(),
            "leadcheck:v1:catch_all:example.com"
        );
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

        let other_version = text.replacen("\"v\":1", "\"v\":2", 1);
        assert!(decode::<Vec<String>>(&other_version).is_none());
        let expired = format!("{{\"v\":1,\"exp\":{},\"data\":[]}}", now_ms() - 1);
        assert!(decode::<Vec<String>>(&expired).is_none());
        // The right version with the wrong shape (a format change without a bump).
        assert!(decode::<Vec<String>>("{\"v\":1,\"exp\":99999999999999,\"data\":7}").is_none());
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
            timeout: Duration::from_millis(50),
            breaker_cooldown: Duration::from_secs(1),
            key_secret: Some(b"s3cret".to_vec()),
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
            timeout: Duration::from_millis(50),
            breaker_cooldown: Duration::from_secs(60),
            key_secret: None,
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
        let shared = cache(Some("k"));
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
