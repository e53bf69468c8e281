//! The server: builds the engines, then serves LeadCheck with reflection and health,
//! reloads lists on SIGHUP, and drains calls in flight on SIGINT/SIGTERM. Connections are
//! capped and timed (`incoming`), calls and streams bounded (`rpc::limits`).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic_health::ServingStatus;

use crate::auth::{self, AuthLayer};
use crate::config::{Config, Reflection};
use crate::email::dns::MailRoutes;
use crate::email::lists::ListStore;
use crate::email::smtp::Prober;
use crate::lead::score::Model;
use crate::lead::{Assessor, Clock, SystemClock};
use crate::limits::Connections;
use crate::rpc::wire::lead_check_server::LeadCheckServer;
use crate::shared_cache::SharedCache;
use crate::telemetry;
use crate::{email, phone, rpc};

mod incoming;
mod socket;
pub use incoming::{Conn, ConnLimits, Incoming};
pub use socket::Socket;

/// Most connections open at once on `health_listen`: probes open one at a time.
const HEALTH_MAX_CONNECTIONS: usize = 64;

/// A start-up failure: rare, reported once, so a boxed error with a message is enough.
pub type StartError = Box<dyn std::error::Error + Send + Sync>;

/// The descriptor set of leadcheck.v1, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("leadcheck_descriptor");

/// The engines of one process, built once at start.
pub struct Engines {
    /// The assessor every RPC uses.
    pub assessor: Arc<Assessor>,
    /// The domain lists, reloadable.
    pub lists: Arc<ListStore>,
}

/// Builds every engine: lists, DNS, optional SMTP prober, phone metadata, scoring model.
///
/// Everything slow or fallible happens here, before the server reports SERVING: a bad
/// list or model file stops the start with a message naming the file and line.
pub fn build_engines(config: &Config, clock: Arc<dyn Clock>) -> Result<Engines, StartError> {
    let lists = Arc::new(ListStore::with_suppression(
        config.lists.spam_domains.clone(),
        config.lists.allow_domains.clone(),
        config.lists.mode,
        config.suppression_files(),
    )?);
    let shared = match config.shared_cache() {
        Some(shared) => {
            let cache = SharedCache::new(&shared).map_err(|err| {
                format!(
                    "redis.url {}: {err}",
                    crate::shared_cache::redacted_url(&shared.url)
                )
            })?;
            tracing::info!(
                redis = %crate::shared_cache::redacted_url(&shared.url),
                timeout_ms = shared.timeout.as_millis() as u64,
                "shared cache on"
            );
            Some(Arc::new(cache))
        }
        None => None,
    };
    crate::email::dns::check_allow_suffixes(&config.dns.allow_suffixes)?;
    crate::email::dns::raise_open_files_limit(config.dns.max_queries);
    let routes = Arc::new(MailRoutes::new(config.dns_config())?.with_shared(shared.clone()));
    let prober = if config.smtp.probe {
        Some(Prober::new(probe_config(config)?, routes.clone()).with_shared(shared))
    } else {
        None
    };
    let validator = Arc::new(email::Validator::new(lists.clone(), routes, prober));
    let phone = Arc::new(phone::Engine::new(config.phone_cache_capacity));
    let model = Arc::new(match &config.scoring {
        Some(path) => Model::load(path)?,
        None => Model::bundled(),
    });
    Ok(Engines {
        assessor: Arc::new(Assessor::new(validator, phone, model, clock)),
        lists,
    })
}

/// The probe's settings, with the proxies' password read from `smtp.proxy_password_file`.
fn probe_config(config: &Config) -> Result<crate::email::smtp::ProbeConfig, StartError> {
    let mut probe = config.probe_config();
    if let Some(path) = &config.smtp.proxy_password_file {
        probe.fill_proxy_password(&crate::email::smtp::read_password_file(path)?);
    }
    Ok(probe)
}

/// Runs `leadcheck serve`: binds the configured address and serves until SIGINT/SIGTERM.
pub async fn run(config: Config) -> Result<(), StartError> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    serve(config, listener, shutdown_signal()).await
}

/// Serves on a bound listener until `shutdown` completes, then drains for at most the
/// configured grace period.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    let (health, health_service) = tonic_health::server::health_reporter();
    // The overall status starts SERVING in tonic-health: hold it down until warm.
    health
        .set_service_status("", ServingStatus::NotServing)
        .await;
    health
        .set_not_serving::<LeadCheckServer<rpc::Service>>()
        .await;

    if let Some(addr) = config.metrics_listen {
        crate::metrics::install(addr)
            .map_err(|e| format!("cannot serve metrics on {addr}: {e}"))?;
        crate::metrics::record_default_deadline(config.limits.default_deadline);
        tracing::info!(%addr, "metrics on /metrics");
    }
    let engines = build_engines(&config, Arc::new(SystemClock))?;
    // Each worker thread has its own libphonenumber: compile its common patterns now.
    let phone_warmed = phone::warm_workers(Duration::from_secs(2)).await;
    spawn_cache_gauges(engines.assessor.clone());
    let _watcher = engines
        .lists
        .spawn_watcher(config.lists.poll.max(Duration::from_secs(1)));
    spawn_sighup_reload(engines.lists.clone());

    let auth = auth_layer(&config)?;
    let tls = tls_acceptor(&config)?;
    let reflection_on = config.reflection != Reflection::Off;
    // Each reflection service also describes the other version's, so `list` names both
    // whichever version a client asks.
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(
                tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
            )
    };
    let reflection_v1 = reflection().build_v1()?;
    let reflection_v1alpha = reflection().build_v1alpha()?;
    let connections = Arc::new(Connections::default());
    // Unary calls take a slot once their message has arrived, streams one for their whole
    // life; past either bound a call is answered RESOURCE_EXHAUSTED at once, never queued.
    // Health and reflection take none: they answer whatever the load.
    let limits = rpc::Limits::new(
        config.limits.max_concurrent_calls,
        config.limits.max_lead_streams,
        config.stream_limits(),
    )
    .with_leads_in_flight(config.limits.max_leads_in_flight)
    .with_connections(connections.clone());
    let service = LeadCheckServer::new(
        rpc::Service::new(
            engines.assessor.clone(),
            config.limits.stream_in_flight,
            config.limits.default_deadline,
        )
        .with_limits(limits),
    )
    .max_decoding_message_size(config.limits.max_message_bytes)
    .max_encoding_message_size(config.limits.max_message_bytes);

    let addr = listener.local_addr()?;
    // Stopped (its task aborted) when `serve` returns.
    let _health_server = serve_health(&config, health_service.clone()).await?;
    tracing::info!(
        %addr,
        phone_metadata = phone::metadata_version(),
        phone_warmed_threads = phone_warmed,
        scoring_model = engines.assessor.model().version(),
        smtp_probe = config.smtp.probe,
        "leadcheck ready"
    );
    // A stable line on stdout: scripts and tests read the bound port from it.
    println!("leadcheck listening on {addr}");

    health.set_serving::<LeadCheckServer<rpc::Service>>().await;
    health.set_service_status("", ServingStatus::Serving).await;

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let keepalive = (!config.limits.keepalive.is_zero()).then_some(config.limits.keepalive);
    let traced = telemetry::on();
    let builder = Server::builder();
    // One span per call: its method, and its status code once the handler records it
    // (`rpc::observed`), so every event of a call carries both. At debug level: the
    // per-call events are debug events, and an enabled span is not free (made,
    // formatted, entered by every lead of a stream; BENCHMARKS.md has its cost). With
    // traces on, the trace layer below makes that span instead, the call's server span.
    let builder = if traced {
        builder
    } else {
        builder.trace_fn(|request| {
            tracing::debug_span!(
                "rpc",
                method = %request.uri().path(),
                code = tracing::field::Empty
            )
        })
    };
    let server = builder
        // The first layer added is the outermost. The trace layer first, so that every
        // call has its span; then call metrics, so that calls the deadline and auth
        // layers answer are counted too (`rpc::calls`). Deadlines count from when a call
        // reached our layers, just before tonic started its own timer, and a call whose
        // message never comes ends at the default deadline (`rpc::ArrivalLayer`).
        .layer(telemetry::TraceLayer::new(traced))
        .layer(rpc::CallMetricsLayer)
        .layer(rpc::ArrivalLayer::new(config.limits.default_deadline))
        .max_concurrent_streams(config.limits.max_streams_per_connection)
        .http2_keepalive_interval(keepalive)
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .layer(tower::util::option_layer(auth))
        .add_service(health_service)
        .add_optional_service(reflection_on.then_some(reflection_v1))
        .add_optional_service(reflection_on.then_some(reflection_v1alpha))
        .add_service(service)
        .serve_with_incoming_shutdown(
            Incoming::new(listener, "grpc", tls, config.conn_limits(), connections),
            async {
                let _ = stop_rx.await;
            },
        );
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => return result.map_err(Into::into),
        () = shutdown => {}
    }
    tracing::info!("shutting down: no new connections, finishing calls in flight");
    health
        .set_service_status("", ServingStatus::NotServing)
        .await;
    health
        .set_not_serving::<LeadCheckServer<rpc::Service>>()
        .await;
    // Calls are still taken during the delay; probes and balancers see NOT_SERVING first.
    tokio::select! {
        result = &mut server => return result.map_err(Into::into),
        () = tokio::time::sleep(config.shutdown_delay) => {}
    }
    let _ = stop_tx.send(());
    // tonic waits for every connection to close, without bound: bound it.
    let grace = config.shutdown_grace;
    match tokio::time::timeout(grace, server).await {
        Ok(result) => result.map_err(Into::into),
        Err(_) => {
            tracing::warn!(
                ?grace,
                "grace period over: dropping the calls still in flight"
            );
            Ok(())
        }
    }
}

/// Serves `grpc.health.v1` alone on `health_listen`, when set, in plain text, with a small
/// cap of its own: probes are answered even when clients hold every connection of
/// `listen`, and whether or not that port speaks TLS. The server runs until the returned
/// set is dropped.
async fn serve_health<H: tonic_health::pb::health_server::Health>(
    config: &Config,
    health: tonic_health::pb::health_server::HealthServer<H>,
) -> Result<tokio::task::JoinSet<Result<(), tonic::transport::Error>>, StartError> {
    let mut server = tokio::task::JoinSet::new();
    let Some(addr) = config.health_listen else {
        return Ok(server);
    };
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot serve health on {addr}: {e}"))?;
    let limits = ConnLimits {
        max_connections: HEALTH_MAX_CONNECTIONS,
        ..config.conn_limits()
    };
    let incoming = Incoming::new(
        listener,
        "health",
        None,
        limits,
        Arc::new(Connections::default()),
    );
    server.spawn(
        Server::builder()
            .layer(rpc::ArrivalLayer::new(config.limits.default_deadline))
            .max_concurrent_streams(config.limits.max_streams_per_connection)
            .add_service(health)
            .serve_with_incoming(incoming),
    );
    tracing::info!(%addr, "grpc.health.v1 on its own port");
    Ok(server)
}

/// Builds the auth layer when tokens are configured (`auth_tokens_file`, `auth_tokens`).
fn auth_layer(config: &Config) -> Result<Option<AuthLayer>, StartError> {
    let mut tokens = match &config.auth_tokens_file {
        Some(path) => auth::load_tokens(path)?,
        None => Vec::new(),
    };
    tokens.extend(auth::parse_tokens(&config.auth_tokens.join("\n")));
    if tokens.is_empty() {
        return Ok(None);
    }
    let mut open = vec!["/grpc.health.v1.Health/"];
    if config.reflection == Reflection::Open {
        open.push("/grpc.reflection.");
    }
    tracing::info!(tokens = tokens.len(), "bearer-token auth on");
    Ok(Some(AuthLayer::new(tokens, open)))
}

/// Builds the TLS acceptor when a certificate is configured: rustls with the ring
/// provider, HTTP/2 by ALPN, client certificates required when `tls.client_ca` is set.
fn tls_acceptor(config: &Config) -> Result<Option<tokio_rustls::TlsAcceptor>, StartError> {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let read = |path: &std::path::Path| {
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let certificates =
        |path: &std::path::Path| -> Result<Vec<CertificateDer<'static>>, StartError> {
            let certs = CertificateDer::pem_slice_iter(&read(path)?)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("{}: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!("{}: no PEM certificate in it", path.display()).into());
            }
            Ok(certs)
        };
    let (cert, key) = match (&config.tls.cert, &config.tls.key) {
        (Some(cert), Some(key)) => (cert, key),
        (None, None) => {
            if config.tls.client_ca.is_some() {
                return Err("tls.client_ca needs tls.cert and tls.key".into());
            }
            return Ok(None);
        }
        _ => return Err("tls.cert and tls.key go together".into()),
    };
    let chain = certificates(cert)?;
    let key = PrivateKeyDer::from_pem_slice(&read(key)?)
        .map_err(|e| format!("{}: no PEM private key: {e}", key.display()))?;
    // The provider named, not taken from the crate features: another dependency enabling
    // a second one would leave no process default.
    let builder = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?;
    let builder = match &config.tls.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add_parsable_certificates(certificates(ca)?);
            let verifier =
                rustls::server::WebPkiClientVerifier::builder(Arc::new(roots)).build()?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut tls = builder
        .with_single_cert(chain, key)
        .map_err(|e| format!("tls.cert and tls.key: {e}"))?;
    tls.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Some(tokio_rustls::TlsAcceptor::from(Arc::new(tls))))
}

/// Publishes the caches' sizes and the process's CPU, memory and open files every few
/// seconds: a gauge read now and then is enough.
fn spawn_cache_gauges(assessor: Arc<Assessor>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            crate::metrics::record_process();
            let routes = assessor.email().routes();
            crate::metrics::record_cache_size("dns", routes.cached_domains());
            crate::metrics::record_cache_size("exchanger", routes.cached_exchangers());
            crate::metrics::record_cache_bytes("dns", routes.cached_bytes());
            crate::metrics::record_cache_size("phone", assessor.phone().cached_verdicts());
        }
    });
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// Reloads the domain lists on every SIGHUP.
fn spawn_sighup_reload(lists: Arc<ListStore>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            tracing::error!("cannot listen for SIGHUP: lists reload on file change only");
            return;
        };
        while hup.recv().await.is_some() {
            match lists.reload() {
                Ok(()) => tracing::info!("domain lists reloaded on SIGHUP"),
                Err(err) => tracing::error!(%err, "list reload failed; keeping the old lists"),
            }
        }
    });
    #[cfg(not(unix))]
    let _ = lists;
}
