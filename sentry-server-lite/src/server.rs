//! Wiring: binds the sockets, starts the writer, serves HTTP (ingestion, API, health,
//! metrics) and UDP, runs retention periodically, and shuts down in order: stop
//! accepting, finish in-flight requests (each waits for its commit), drain the writer.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;

use crate::api;
use crate::app::{self, AppState, Caller};
use crate::config::ServerConfig;
use crate::ingest::auth::KeyCache;
use crate::ingest::{self, Ingestor};
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;
use crate::store::{self, Store, StoreError};
use crate::ui;
use crate::writer::{Writer, WriterThread};

mod conn;

/// Errors starting or running the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// Binding or serving failed.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Recording the server's addresses failed.
    #[error(transparent)]
    App(#[from] app::AppError),
}

/// Settings keys where `serve` records its addresses (the CLI prints DSNs from them).
pub const SETTING_HTTP_URL: &str = "server.http_url";
/// See [`SETTING_HTTP_URL`].
pub const SETTING_UDP_ADDR: &str = "server.udp_addr";

/// A server with its sockets bound, ready to [`run`](Server::run).
pub struct Server {
    config: ServerConfig,
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    spotlight_listener: Option<TcpListener>,
    udp: Option<UdpSocket>,
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    ingestor: Arc<Ingestor>,
    writer_thread: WriterThread,
    base_url: String,
    udp_addr: Option<SocketAddr>,
}

impl Server {
    /// Opens the database (PostgreSQL when `database_url` is set, else the SQLite file),
    /// starts the writer and binds the sockets.
    pub async fn bind(config: ServerConfig) -> Result<Server, ServerError> {
        let store = store::open(
            config.database_url.as_deref(),
            &config.database_path(),
            config.synchronous,
        )?;
        Self::bind_with_store(config, store).await
    }

    /// Like [`Server::bind`] with a given store (tests, other backends).
    pub async fn bind_with_store(
        config: ServerConfig,
        store: Arc<dyn Store>,
    ) -> Result<Server, ServerError> {
        let metrics = Arc::new(Metrics::default());
        let (writer, writer_thread) =
            Writer::spawn(store.clone(), &config.writer, metrics.clone())?;
        let listener = TcpListener::bind(config.bind).await?;
        let http_addr = listener.local_addr()?;
        let metrics_listener = match config.metrics_bind {
            Some(addr) => Some(TcpListener::bind(addr).await?),
            None => None,
        };
        let udp = config.udp_bind.map(ingest::udp::bind).transpose()?;
        let udp_addr = udp.as_ref().map(|u| u.local_addr()).transpose()?;
        let base_url = config
            .public_url
            .clone()
            .map(|u| u.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| format!("http://{}", display_addr(http_addr)));
        // The server records where it listens, as its operator (the CLI reads it for DSNs).
        let operator = Caller::operator();
        let udp_text = udp_addr
            .map(|a| display_addr(a).to_string())
            .unwrap_or_default();
        app::settings::set(store.as_ref(), &operator, SETTING_HTTP_URL, &base_url)?;
        app::settings::set(store.as_ref(), &operator, SETTING_UDP_ADDR, &udp_text)?;
        let ingestor = Arc::new(Ingestor {
            store: store.clone(),
            writer,
            keys: KeyCache::new(store.clone(), config.key_cache_ttl),
            limiter: RateLimiter::default(),
            metrics: metrics.clone(),
            limits: config.limits.clone(),
            decode: ingest::gate::DecodeGate::new(&config.limits),
            live: Arc::default(),
            clock: config.clock.clone(),
        });
        let spotlight_listener = match config.spotlight_bind {
            Some(addr) if !addr.ip().is_loopback() => {
                return Err(ServerError::Io(std::io::Error::other(format!(
                    "the Spotlight listener {addr} must be a loopback address (it serves \
                     the live page without a login)"
                ))))
            }
            Some(addr) => Some(TcpListener::bind(addr).await?),
            None => None,
        };
        Ok(Server {
            config,
            listener,
            metrics_listener,
            spotlight_listener,
            udp,
            store,
            metrics,
            ingestor,
            writer_thread,
            base_url,
            udp_addr,
        })
    }

    /// The bound HTTP address.
    pub fn http_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.config.bind)
    }

    /// The address serving `/metrics` alone, when `metrics_bind` is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// The bound Spotlight address, when `spotlight_bind` is set.
    pub fn spotlight_addr(&self) -> Option<SocketAddr> {
        self.spotlight_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// The bound UDP address, if UDP is on.
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.udp_addr
    }

    /// The public base URL, e.g. `http://127.0.0.1:9000`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The store.
    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// The metrics.
    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// The ingest pipeline (tests reach the key cache through it).
    pub fn ingestor(&self) -> Arc<Ingestor> {
        self.ingestor.clone()
    }

    /// Serves until `shutdown` resolves, then drains: in-flight requests finish (and so
    /// get their commits), then the writer commits what is queued and stops.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let udp_task = self.udp.map(|socket| {
            tokio::spawn(ingest::udp::serve(
                socket,
                self.ingestor.clone(),
                stopped(stop_rx.clone()),
            ))
        });
        // The alert sender (issue #19): sends what the outbox holds, until stopped.
        let alert_task = crate::alerts::sender::spawn(
            self.store.clone(),
            self.config.alerts.clone(),
            self.base_url.clone(),
            self.metrics.clone(),
            stop_rx.clone(),
        )
        .map_err(std::io::Error::other)?;
        // The cron-monitor scheduler (issue #21): missed and timed-out runs, their issues.
        let monitor_task = crate::monitors::Scheduler {
            store: self.store.clone(),
            writer: self.ingestor.writer.clone(),
            clock: self.config.clock.clone(),
            limits: self.config.limits.normalize.clone(),
        }
        .spawn(self.config.monitor_interval, stopped(stop_rx.clone()));
        let retention_task = spawn_retention(
            self.store.clone(),
            self.metrics.clone(),
            &self.config,
            stopped(stop_rx.clone()),
        );
        let ops = OpsState {
            metrics: self.metrics.clone(),
            writer: self.ingestor.writer.clone(),
            store: self.store.clone(),
            metrics_token: self.config.metrics_token.clone().map(Arc::from),
        };
        let metrics_route = Router::new()
            .route("/metrics", get(metrics_text))
            .with_state(ops.clone());
        let mut ops_routes = Router::new()
            .route("/healthz", get(healthz))
            .with_state(ops);
        let metrics_task = match self.metrics_listener {
            // `/metrics` alone on its own address (and not on the main one).
            Some(listener) => Some(tokio::spawn(conn::serve(
                listener,
                metrics_route,
                self.config.http.clone(),
                self.metrics.clone(),
                stopped(stop_rx.clone()),
            ))),
            None => {
                ops_routes = ops_routes.merge(metrics_route);
                None
            }
        };
        // The Spotlight listener (issue #20): loopback only, its own routes.
        let spotlight_task = self.spotlight_listener.map(|listener| {
            tokio::spawn(conn::serve(
                listener,
                crate::live::routes(self.ingestor.live.clone()),
                self.config.http.clone(),
                self.metrics.clone(),
                stopped(stop_rx.clone()),
            ))
        });
        let app = Router::new()
            .merge(ingest::http::routes().with_state(self.ingestor.clone()))
            .merge(api::routes().merge(ui::routes()).with_state(AppState {
                alerts: Arc::new(self.config.alerts.clone()),
                ..AppState::new(self.store.clone(), self.base_url)
            }))
            .merge(ops_routes);
        let live = self.ingestor.live.clone();
        drop(self.ingestor);
        let served = conn::serve(
            self.listener,
            app,
            self.config.http.clone(),
            self.metrics.clone(),
            shutdown,
        )
        .await;
        let _ = stop_tx.send(true);
        live.close();
        if let Some(t) = metrics_task {
            let _ = t.await;
        }
        if let Some(t) = spotlight_task {
            let _ = t.await;
        }
        if let Some(t) = udp_task {
            let _ = t.await;
        }
        let _ = retention_task.await;
        let _ = alert_task.await;
        let _ = monitor_task.await;
        // Everything acknowledged is committed already; this commits what UDP queued.
        let writer_thread = self.writer_thread;
        let _ = tokio::task::spawn_blocking(move || writer_thread.shutdown()).await;
        served?;
        Ok(())
    }
}

/// Resolves once `true` is sent on the stop channel.
async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

/// Runs the retention policy of `config` every `retention_interval` until `stop`.
fn spawn_retention(
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    config: &ServerConfig,
    stop: impl Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let policy = config.retention.clone();
    let interval = config.retention_interval;
    tokio::spawn(async move {
        tokio::pin!(stop);
        let mut ticker = tokio::time::interval(interval);
        loop {
            tokio::select! {
                _ = &mut stop => return,
                _ = ticker.tick() => {
                    let store = store.clone();
                    let policy = policy.clone();
                    let res = tokio::task::spawn_blocking(move || {
                        store.apply_retention(&policy, crate::clock::now_ms())
                    }).await;
                    match res {
                        Ok(Ok(n)) => {
                            metrics.retention_deleted.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                            if n > 0 { tracing::info!(deleted = n, "retention pass"); }
                        }
                        Ok(Err(e)) => tracing::warn!(error = %e, "retention failed"),
                        Err(_) => tracing::warn!("retention task panicked"),
                    }
                }
            }
        }
    })
}

/// `0.0.0.0` is not a place to send to: show loopback instead.
fn display_addr(addr: SocketAddr) -> SocketAddr {
    let mut a = addr;
    if a.ip().is_unspecified() {
        a.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    a
}

#[derive(Clone)]
struct OpsState {
    metrics: Arc<Metrics>,
    writer: Writer,
    store: Arc<dyn Store>,
    /// `/metrics` needs `Authorization: Bearer` this, when set.
    metrics_token: Option<Arc<str>>,
}

/// 200 while ingestion can work; 503 once the writer thread or a background thread of
/// the store (the WAL checkpointer) has exited, with the reason.
async fn healthz(State(ops): State<OpsState>) -> (http::StatusCode, Json<serde_json::Value>) {
    let problem = if ops.writer.is_alive() {
        ops.store.background_failure()
    } else {
        Some("the writer thread has exited: events cannot be stored".to_owned())
    };
    let status = match problem {
        None => http::StatusCode::OK,
        Some(_) => http::StatusCode::SERVICE_UNAVAILABLE,
    };
    let body = json!({
        "status": if problem.is_none() { "ok" } else { "unavailable" },
        "problem": problem,
        "writerQueue": ops.writer.queue_len(),
        "writerCapacity": ops.writer.capacity(),
    });
    (status, Json(body))
}

/// `/metrics`: the Prometheus text; with a metrics token, only for requests that bear
/// it (401 otherwise, compared in constant time).
async fn metrics_text(State(ops): State<OpsState>, headers: http::HeaderMap) -> Response {
    if let Some(expected) = &ops.metrics_token {
        let sent = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default()
            .trim();
        if !crate::secrets::constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
            return (
                http::StatusCode::UNAUTHORIZED,
                [(http::header::WWW_AUTHENTICATE, "Bearer")],
                "metrics need Authorization: Bearer <metrics token>\n",
            )
                .into_response();
        }
    }
    let mut body = ops
        .metrics
        .render(ops.writer.queue_len(), ops.writer.capacity());
    render_hashing(&mut body);
    (
        [(
            http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// The counters of the application layer: bounded password hashing
/// ([`app::throttle::hashing`]) and anonymous refusals ([`app::audit`]).
fn render_hashing(out: &mut String) {
    use std::fmt::Write;
    let gate = app::throttle::hashing();
    let stats = gate.stats();
    let _ = writeln!(
        out,
        "# HELP sentry_lite_password_hashes_running Password hashes running now.\n\
         # TYPE sentry_lite_password_hashes_running gauge\n\
         sentry_lite_password_hashes_running {}\n\
         # HELP sentry_lite_password_hashes_peak The most password hashes that ran at once.\n\
         # TYPE sentry_lite_password_hashes_peak gauge\n\
         sentry_lite_password_hashes_peak {}\n\
         # HELP sentry_lite_password_hash_slots Password hashes allowed at once.\n\
         # TYPE sentry_lite_password_hash_slots gauge\n\
         sentry_lite_password_hash_slots {}\n\
         # HELP sentry_lite_password_hash_refused_total Requests answered 503: hashing saturated.\n\
         # TYPE sentry_lite_password_hash_refused_total counter\n\
         sentry_lite_password_hash_refused_total {}\n\
         # HELP sentry_lite_anonymous_refusals_total Requests without credentials refused by the policy.\n\
         # TYPE sentry_lite_anonymous_refusals_total counter\n\
         sentry_lite_anonymous_refusals_total {}",
        stats.running,
        stats.peak,
        gate.slots(),
        stats.refused,
        app::audit::anonymous_refusals()
    );
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::WriterConfig;
    use crate::store::{SqliteStore, Synchronous};

    /// `/healthz` answers 200 while the writer runs and 503, with the reason, once it
    /// has exited.
    #[test]
    fn healthz_reports_an_exited_writer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&dir.path().join("db"), Synchronous::Normal).expect("open"));
        let metrics = Arc::new(Metrics::default());
        let config = WriterConfig {
            queue_capacity: 4,
            max_batch: 4,
            threads: None,
        };
        let (writer, thread) =
            Writer::spawn(store.clone(), &config, metrics.clone()).expect("spawn");
        let ops = OpsState {
            metrics,
            writer,
            store,
            metrics_token: None,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("rt");
        let (status, Json(body)) = rt.block_on(healthz(State(ops.clone())));
        assert_eq!(
            (status, &body["status"]),
            (http::StatusCode::OK, &json!("ok"))
        );
        thread.shutdown();
        let (status, Json(body)) = rt.block_on(healthz(State(ops)));
        assert_eq!(status, http::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["status"], "unavailable");
        assert!(
            body["problem"]
                .as_str()
                .is_some_and(|p| p.contains("writer thread has exited")),
            "{body}"
        );
    }
}
