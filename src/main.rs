//! The `leadcheck` command: `serve`, `check` and `batch`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use leadcheck::config::{Config, ListsMode, LogFormat, Reflection};
use leadcheck::lead::{Lead, SystemClock};
use leadcheck::{batch, server};

/// jemalloc, not glibc's malloc: a lead's assessment and its gRPC round trip make many
/// small allocations on both worker threads, often freed on another thread than the one
/// that made them, which glibc's malloc handles far worse (BENCHMARKS.md).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Validates the contact data of sales leads and scores them High or Low.
#[derive(Parser)]
#[command(name = "leadcheck", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the gRPC server.
    Serve(EngineArgs),
    /// Assesses one lead in process, without a server, and prints the result as JSON.
    Check {
        /// The lead's email address.
        #[arg(long, default_value = "")]
        email: String,
        /// The lead's phone number.
        #[arg(long, default_value = "")]
        phone: String,
        /// The lead's country (ISO code or English name): the phone's default region.
        #[arg(long, default_value = "")]
        country: String,
        /// The LeadSource string, `Source-Action | publisherid.offerid`.
        #[arg(long, default_value = "")]
        lead_source: String,
        /// First name.
        #[arg(long, default_value = "")]
        first_name: String,
        /// Last name.
        #[arg(long, default_value = "")]
        last_name: String,
        /// Company.
        #[arg(long, default_value = "")]
        company: String,
        /// Job title.
        #[arg(long, default_value = "")]
        title: String,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Streams a CSV or JSON Lines lead export through one or more servers.
    Batch(batch::BatchArgs),
}

/// The settings of the engines, shared by `serve` and `check`. Each flag also reads a
/// `LEADCHECK_*` variable; both override the `--config` file.
#[derive(Args, Default)]
struct EngineArgs {
    /// A TOML configuration file (keys: the README's configuration table).
    #[arg(long, env = "LEADCHECK_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:50051].
    #[arg(long, env = "LEADCHECK_LISTEN")]
    listen: Option<SocketAddr>,
    /// A DNS server IP:PORT to ask (repeatable) [default: the system resolver].
    #[arg(
        long = "dns-server",
        env = "LEADCHECK_DNS_SERVERS",
        value_delimiter = ','
    )]
    dns_servers: Vec<SocketAddr>,
    /// Timeout of one DNS query, in milliseconds.
    #[arg(long, env = "LEADCHECK_DNS_TIMEOUT_MS")]
    dns_timeout_ms: Option<u64>,
    /// Attempts per DNS query.
    #[arg(long, env = "LEADCHECK_DNS_ATTEMPTS")]
    dns_attempts: Option<usize>,
    /// Most bytes held by the DNS caches.
    #[arg(long, env = "LEADCHECK_DNS_CACHE_BYTES")]
    dns_cache_bytes: Option<u64>,
    /// Most DNS lookups in flight at once.
    #[arg(long, env = "LEADCHECK_DNS_MAX_QUERIES")]
    dns_max_queries: Option<usize>,
    /// A special-use suffix looked up anyway, for lab and test zones (repeatable).
    #[arg(
        long = "dns-allow-suffix",
        env = "LEADCHECK_DNS_ALLOW_SUFFIXES",
        value_delimiter = ','
    )]
    dns_allow_suffixes: Vec<String>,
    /// A spam/disposable domain list file, one domain a line.
    #[arg(long, env = "LEADCHECK_SPAM_DOMAINS")]
    spam_domains: Option<PathBuf>,
    /// An allowlist file: domains never SPAM.
    #[arg(long, env = "LEADCHECK_ALLOW_DOMAINS")]
    allow_domains: Option<PathBuf>,
    /// Whether list files extend or replace the bundled lists.
    #[arg(long, env = "LEADCHECK_LISTS_MODE", value_enum)]
    lists_mode: Option<ListsMode>,
    /// Probe mailboxes over SMTP (off by default).
    #[arg(long, env = "LEADCHECK_SMTP_PROBE")]
    smtp_probe: bool,
    /// EHLO name of the SMTP probe.
    #[arg(long, env = "LEADCHECK_SMTP_HELO")]
    smtp_helo: Option<String>,
    /// MAIL FROM address of the SMTP probe.
    #[arg(long, env = "LEADCHECK_SMTP_FROM")]
    smtp_from: Option<String>,
    /// Port of the exchangers the probe connects to.
    #[arg(long, env = "LEADCHECK_SMTP_PORT")]
    smtp_port: Option<u16>,
    /// Connect and command timeout of the probe, in milliseconds.
    #[arg(long, env = "LEADCHECK_SMTP_TIMEOUT_MS")]
    smtp_timeout_ms: Option<u64>,
    /// Let the probe connect to loopback/private/link-local exchangers.
    #[arg(long, env = "LEADCHECK_SMTP_ALLOW_PRIVATE")]
    smtp_allow_private: bool,
    /// Most concurrent SMTP sessions per domain.
    #[arg(long, env = "LEADCHECK_SMTP_PER_DOMAIN")]
    smtp_per_domain: Option<usize>,
    /// Most concurrent SMTP sessions with one exchanger address [default: 4].
    #[arg(long, env = "LEADCHECK_SMTP_PER_IP")]
    smtp_per_ip: Option<usize>,
    /// Most concurrent SMTP sessions of the process [default: 64].
    #[arg(long, env = "LEADCHECK_SMTP_MAX_SESSIONS")]
    smtp_max_sessions: Option<usize>,
    /// Longest wait for a free SMTP session slot, in milliseconds; then the address is
    /// not probed (smtp.busy) [default: 10000].
    #[arg(long, env = "LEADCHECK_SMTP_SLOT_WAIT_MS")]
    smtp_slot_wait_ms: Option<u64>,
    /// A scoring model file (TOML) replacing the bundled one.
    #[arg(long, env = "LEADCHECK_SCORING")]
    scoring: Option<PathBuf>,
    /// Most leads of one AssessLeads stream validated at once.
    #[arg(long, env = "LEADCHECK_STREAM_IN_FLIGHT")]
    stream_in_flight: Option<usize>,
    /// Largest request or response message, in bytes.
    #[arg(long, env = "LEADCHECK_MAX_MESSAGE_BYTES")]
    max_message_bytes: Option<usize>,
    /// Most calls served at once; past it calls are shed with RESOURCE_EXHAUSTED.
    #[arg(long, env = "LEADCHECK_MAX_CONCURRENT_CALLS")]
    max_concurrent_calls: Option<usize>,
    /// Most concurrent HTTP/2 streams per connection.
    #[arg(long, env = "LEADCHECK_MAX_STREAMS_PER_CONNECTION")]
    max_streams_per_connection: Option<u32>,
    /// Most AssessLeads streams open at once; past it streams are refused with
    /// RESOURCE_EXHAUSTED [default: 256].
    #[arg(long, env = "LEADCHECK_MAX_LEAD_STREAMS")]
    max_lead_streams: Option<usize>,
    /// Seconds an AssessLeads stream may go without a lead or an answer (0: no limit)
    /// [default: 120].
    #[arg(long, env = "LEADCHECK_STREAM_IDLE_SECS")]
    stream_idle_secs: Option<u64>,
    /// Longest life of an AssessLeads stream, in seconds (0: no limit) [default: 3600].
    #[arg(long, env = "LEADCHECK_STREAM_MAX_SECS")]
    stream_max_secs: Option<u64>,
    /// Most connections open at once; past it new ones are closed [default: 1024].
    #[arg(long, env = "LEADCHECK_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// Time a connection has to send the HTTP/2 preface, in milliseconds (0: no limit)
    /// [default: 10000].
    #[arg(long, env = "LEADCHECK_PREFACE_TIMEOUT_MS")]
    preface_timeout_ms: Option<u64>,
    /// Time a connection has to finish its TLS handshake, in milliseconds (0: no limit)
    /// [default: 10000].
    #[arg(long, env = "LEADCHECK_TLS_HANDSHAKE_TIMEOUT_MS")]
    tls_handshake_timeout_ms: Option<u64>,
    /// Interval of HTTP/2 keepalive pings, in seconds (0: off).
    #[arg(long, env = "LEADCHECK_KEEPALIVE_SECS")]
    keepalive_secs: Option<u64>,
    /// Deadline of a call whose client sent none, in milliseconds.
    #[arg(long, env = "LEADCHECK_DEFAULT_DEADLINE_MS")]
    default_deadline_ms: Option<u64>,
    /// Longest wait for calls in flight at shutdown, in seconds.
    #[arg(long, env = "LEADCHECK_SHUTDOWN_GRACE_SECS")]
    shutdown_grace_secs: Option<u64>,
    /// Delay between NOT_SERVING and refusing new calls at shutdown, in milliseconds.
    #[arg(long, env = "LEADCHECK_SHUTDOWN_DELAY_MS")]
    shutdown_delay_ms: Option<u64>,
    /// A file of bearer tokens, one a line: LeadCheck calls then need one.
    #[arg(long, env = "LEADCHECK_AUTH_TOKENS_FILE")]
    auth_tokens_file: Option<PathBuf>,
    /// Whether reflection is open to all, needs a token, or is off.
    #[arg(long, env = "LEADCHECK_REFLECTION", value_enum)]
    reflection: Option<Reflection>,
    /// PEM certificate chain: serve over TLS (with --tls-key).
    #[arg(long, env = "LEADCHECK_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "LEADCHECK_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// PEM CA: require client certificates it signed (mutual TLS).
    #[arg(long, env = "LEADCHECK_TLS_CLIENT_CA")]
    tls_client_ca: Option<PathBuf>,
    /// Serve Prometheus metrics on this address (off by default).
    #[arg(long, env = "LEADCHECK_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Serve grpc.health.v1 alone, in plain text, on this address too (off by default).
    #[arg(long, env = "LEADCHECK_HEALTH_LISTEN")]
    health_listen: Option<SocketAddr>,
    /// Log format.
    #[arg(long, env = "LEADCHECK_LOG_FORMAT", value_enum)]
    log_format: Option<LogFormat>,
    /// Share DNS routes, SMTP results and catch-all findings with other replicas through
    /// this Redis (`redis://host:port`) [default: off].
    #[arg(long, env = "LEADCHECK_REDIS_URL")]
    redis_url: Option<String>,
    /// Longest wait for one Redis command, in milliseconds [default: 50].
    #[arg(long, env = "LEADCHECK_REDIS_TIMEOUT_MS")]
    redis_timeout_ms: Option<u64>,
    /// Seconds Redis is skipped after 3 failures in a row [default: 5].
    #[arg(long, env = "LEADCHECK_REDIS_BREAKER_SECS")]
    redis_breaker_secs: Option<u64>,
    /// Secret (16 bytes or more, the same on every replica) that authenticates values in
    /// Redis and keys mailbox entries; required with --redis-url. Prefer the environment
    /// variable: flags show in `ps`.
    #[arg(long, env = "LEADCHECK_REDIS_KEY_SECRET", hide_env_values = true)]
    redis_key_secret: Option<String>,
    /// PEM CA certificate(s) of the Redis server, for rediss:// [default: Mozilla's roots, built in].
    #[arg(long, env = "LEADCHECK_REDIS_CA_FILE")]
    redis_ca_file: Option<PathBuf>,
}

impl EngineArgs {
    /// Builds the configuration: defaults, then the file, then environment and flags.
    fn into_config(self) -> anyhow::Result<Config> {
        let mut c = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        fn set<T>(slot: &mut T, value: Option<T>) {
            if let Some(value) = value {
                *slot = value;
            }
        }
        set(&mut c.listen, self.listen);
        if !self.dns_servers.is_empty() {
            c.dns_servers = self.dns_servers;
        }
        set(&mut c.dns_timeout_ms, self.dns_timeout_ms);
        set(&mut c.dns_attempts, self.dns_attempts);
        set(&mut c.dns_cache_bytes, self.dns_cache_bytes);
        set(&mut c.dns_max_queries, self.dns_max_queries);
        if !self.dns_allow_suffixes.is_empty() {
            c.dns_allow_suffixes = self.dns_allow_suffixes;
        }
        set(&mut c.spam_domains, self.spam_domains.map(Some));
        set(&mut c.allow_domains, self.allow_domains.map(Some));
        set(&mut c.lists_mode, self.lists_mode);
        c.smtp_probe |= self.smtp_probe;
        set(&mut c.smtp_helo, self.smtp_helo);
        set(&mut c.smtp_from, self.smtp_from);
        set(&mut c.smtp_port, self.smtp_port);
        set(&mut c.smtp_timeout_ms, self.smtp_timeout_ms);
        c.smtp_allow_private |= self.smtp_allow_private;
        set(&mut c.smtp_per_domain, self.smtp_per_domain);
        set(&mut c.smtp_per_ip, self.smtp_per_ip);
        set(&mut c.smtp_max_sessions, self.smtp_max_sessions);
        set(&mut c.smtp_slot_wait_ms, self.smtp_slot_wait_ms);
        set(&mut c.scoring, self.scoring.map(Some));
        set(&mut c.stream_in_flight, self.stream_in_flight);
        set(&mut c.max_message_bytes, self.max_message_bytes);
        set(&mut c.max_concurrent_calls, self.max_concurrent_calls);
        set(
            &mut c.max_streams_per_connection,
            self.max_streams_per_connection,
        );
        set(&mut c.max_lead_streams, self.max_lead_streams);
        set(&mut c.stream_idle_secs, self.stream_idle_secs);
        set(&mut c.stream_max_secs, self.stream_max_secs);
        set(&mut c.max_connections, self.max_connections);
        set(&mut c.preface_timeout_ms, self.preface_timeout_ms);
        set(
            &mut c.tls_handshake_timeout_ms,
            self.tls_handshake_timeout_ms,
        );
        set(&mut c.keepalive_secs, self.keepalive_secs);
        set(&mut c.default_deadline_ms, self.default_deadline_ms);
        set(&mut c.shutdown_grace_secs, self.shutdown_grace_secs);
        set(&mut c.shutdown_delay_ms, self.shutdown_delay_ms);
        set(&mut c.auth_tokens_file, self.auth_tokens_file.map(Some));
        set(&mut c.reflection, self.reflection);
        set(&mut c.tls_cert, self.tls_cert.map(Some));
        set(&mut c.tls_key, self.tls_key.map(Some));
        set(&mut c.tls_client_ca, self.tls_client_ca.map(Some));
        set(&mut c.metrics_listen, self.metrics_listen.map(Some));
        set(&mut c.health_listen, self.health_listen.map(Some));
        set(&mut c.log_format, self.log_format);
        set(&mut c.redis_url, self.redis_url.map(Some));
        set(&mut c.redis_timeout_ms, self.redis_timeout_ms);
        set(&mut c.redis_breaker_secs, self.redis_breaker_secs);
        set(&mut c.redis_key_secret, self.redis_key_secret.map(Some));
        set(&mut c.redis_ca_file, self.redis_ca_file.map(Some));
        Ok(c)
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LEADCHECK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // `batch` drives its streams and writes its output from one task (the input is read
    // on a blocking thread): more worker threads only passed its work between them, at
    // the cost of futex wake-ups and frees of memory another thread allocated.
    let runtime = match &cli.command {
        Command::Batch(_) => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    }
    .enable_all()
    .build()
    .context("cannot start the async runtime")?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let config = args.into_config()?;
            init_logging(config.log_format);
            server::run(config)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        Command::Check {
            email,
            phone,
            country,
            lead_source,
            first_name,
            last_name,
            company,
            title,
            engine,
        } => {
            let config = engine.into_config()?;
            init_logging(config.log_format);
            let engines = server::build_engines(&config, Arc::new(SystemClock))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let lead = Lead {
                first_name,
                last_name,
                email,
                phone,
                country,
                company,
                title,
                lead_source,
                created_at: None,
                ..Lead::default()
            };
            let assessment = engines.assessor.assess(&lead).await;
            // The same JSON as grpcurl shows for AssessLead: the proto's canonical mapping.
            let message = leadcheck::rpc::convert::assessment_to_pb(String::new(), assessment);
            println!(
                "{}",
                serde_json::to_string_pretty(&message).context("cannot print the assessment")?
            );
        }
        Command::Batch(args) => {
            init_logging(LogFormat::Text);
            let summary = batch::run(args).await?;
            eprintln!("{summary}");
        }
    }
    Ok(())
}
