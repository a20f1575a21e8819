//! What `run` and `demo` both start: the company view's followers, the HTTP
//! server and the engine's service, stopped together by one [`Shutdown`].

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use salespulse_engine::EngineConfig;
use salespulse_kafka::{run, KafkaSettings, RunSummary, Status};
use salespulse_server::{Access, AppState, ServerError};

/// The one stop signal of a running service: every part waits on
/// [`Shutdown::stopped`]; [`Shutdown::trigger`] (a signal, or the engine
/// ending on its own) stops them all.
#[derive(Debug, Clone)]
pub struct Shutdown(Arc<watch::Sender<bool>>);

impl Shutdown {
    pub fn new() -> Self {
        Shutdown(Arc::new(watch::channel(false).0))
    }

    /// Asks every part to stop.
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }

    /// Resolves once [`trigger`](Self::trigger) was called (at once if it was).
    pub fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.0.subscribe();
        async move {
            let _ = rx.wait_for(|stopped| *stopped).await;
        }
    }
}

/// A started service: HTTP bound and serving, the company view following
/// the output topics; [`Service::run`] runs the engine.
pub struct Service {
    /// The HTTP server's bound address.
    pub addr: SocketAddr,
    /// Stops every part.
    pub shutdown: Shutdown,
    status: Arc<Status>,
    followers: Vec<JoinHandle<()>>,
    http: JoinHandle<Result<(), ServerError>>,
}

impl Service {
    /// Starts the followers of `ks`'s output topics and the HTTP server on
    /// `listen`; returns once it is bound.
    pub async fn start(
        ks: &KafkaSettings,
        engine: &EngineConfig,
        listen: SocketAddr,
        access: Access,
    ) -> Result<Service> {
        let status = Arc::new(Status::new());
        let (view, alerts, followers) = salespulse_kafka::follow_outputs(
            &ks.client_config(),
            &ks.output,
            crate::kafka_cmds::rank_change(engine),
            status.clone(),
        );
        let app = Arc::new(AppState {
            metrics: status.metrics.clone(),
            health: status.health.clone(),
            view,
            alerts,
        });
        let shutdown = Shutdown::new();
        let (bound_tx, bound_rx) = tokio::sync::oneshot::channel();
        let http = tokio::spawn(salespulse_server::serve(
            listen,
            app,
            Arc::new(access),
            move |addr| {
                let _ = bound_tx.send(addr);
            },
            shutdown.stopped(),
        ));
        let addr = match bound_rx.await {
            Ok(addr) => addr,
            Err(_) => {
                for f in &followers {
                    f.abort();
                }
                return Err(match http.await {
                    Ok(Err(e)) => anyhow::Error::new(e),
                    _ => anyhow::anyhow!("the HTTP server stopped before it was bound"),
                })
                .context("starting the HTTP server");
            }
        };
        tracing::info!(%addr, "http listening");
        Ok(Service {
            addr,
            shutdown,
            status,
            followers,
            http,
        })
    }

    /// Runs the engine until SIGINT or SIGTERM, or until it ends on its own
    /// (an error); then stops the HTTP server and the followers.
    pub async fn run(self, ks: &KafkaSettings, engine: &EngineConfig) -> Result<RunSummary> {
        let on_signal = {
            let shutdown = self.shutdown.clone();
            async move {
                shutdown_signal().await;
                shutdown.trigger();
            }
        };
        let stopped = self.shutdown.stopped();
        let summary = run(ks, engine, self.status, async move {
            tokio::select! {
                _ = on_signal => {}
                _ = stopped => {}
            }
        })
        .await;
        self.shutdown.trigger();
        for f in self.followers {
            f.abort();
        }
        match self.http.await {
            Ok(Err(e)) => tracing::warn!(error = %e, "http server"),
            Err(e) => tracing::warn!(error = %e, "http task"),
            Ok(Ok(())) => {}
        }
        Ok(summary?)
    }
}

/// Waits for SIGINT or SIGTERM.
async fn shutdown_signal() {
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
    tracing::info!("shutdown requested: flushing emissions and committing");
}
