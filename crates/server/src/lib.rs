//! The HTTP side of SalesPulse: liveness, readiness, Prometheus metrics,
//! and the `/v1` query API over the company-wide view (see docs/http.md).
//!
//! `/healthz` answers 200 while the process runs; `/readyz` answers 200 while
//! partitions are assigned and the producer is connected, else 503 with a
//! JSON reason; `/metrics` renders the one registry in Prometheus text format.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use salespulse_kafka::Status;

mod api;
pub mod auth;
mod page;

pub use auth::{Access, AuthError, Scope};
use salespulse_view::{AlertView, CompanyView};

/// What the handlers share.
pub struct AppState {
    /// Service status and metrics.
    pub status: Arc<Status>,
    /// Latest record per rep.
    pub view: Arc<CompanyView>,
    /// Latest record per alert episode.
    pub alerts: Arc<AlertView>,
}

/// `[http]`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSection {
    /// Listen address.
    pub listen: SocketAddr,
    /// `tokens` (bearer tokens from `tokens_file`) or `none`.
    pub auth: String,
    /// The tokens file (SHA-256 hashes and scopes).
    pub tokens_file: Option<std::path::PathBuf>,
    /// Paths served without a token besides `/healthz` and the page shell.
    pub public: Vec<String>,
}

impl Default for HttpSection {
    fn default() -> Self {
        HttpSection {
            listen: SocketAddr::from(([127, 0, 0, 1], 9898)),
            auth: "tokens".into(),
            tokens_file: None,
            public: vec!["/readyz".into(), "/metrics".into()],
        }
    }
}

/// HTTP errors.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The listen address could not be bound.
    #[error("http.listen {addr}: {source}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// The server stopped with an error.
    #[error("http server: {0}")]
    Serve(std::io::Error),
}

/// The router over the shared state.
pub fn router(state: Arc<AppState>, access: Arc<Access>) -> Router {
    Router::new()
        .route("/", get(page::index))
        .route("/page.js", get(page::script))
        .route("/page.css", get(page::style))
        .route("/v1/stream", get(page::stream))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/v1/reps/{rep_id}", get(api::rep))
        .route("/v1/teams/{team_id}", get(api::team))
        .route("/v1/managers/{manager_id}", get(api::manager))
        .route("/v1/leaderboard", get(api::leaderboard))
        .route("/v1/alerts", get(api::alerts))
        .layer(axum::middleware::from_fn_with_state(access, auth::require))
        .with_state(state)
}

/// Why the instance is not ready, if it is not.
fn not_ready(status: &Status) -> Option<serde_json::Value> {
    let waiting_since = status.acks_waiting_since_ms.load(Ordering::Relaxed);
    let now = salespulse_model::Timestamp::wall_now().0;
    if status.restoring.load(Ordering::Relaxed) {
        return Some(serde_json::json!({
            "reason": "restoring",
            "restored_records": status.restore_done.load(Ordering::Relaxed),
            "of_at_most": status.restore_total.load(Ordering::Relaxed),
        }));
    }
    let reason = if !status.consuming.load(Ordering::Relaxed) || status.partitions.get() == 0 {
        "no partition assigned to this instance yet".to_string()
    } else if !status.producer_up.load(Ordering::Relaxed) {
        "the producer has no connection to a broker".to_string()
    } else if status.broker_silent_ms.load(Ordering::Relaxed) > SILENCE_PATIENCE_MS {
        format!(
            "no answer from the broker for {} s",
            status.broker_silent_ms.load(Ordering::Relaxed) / 1000
        )
    } else if waiting_since > 0 && now - waiting_since > ACK_PATIENCE_MS {
        format!(
            "outputs waiting {} s for the broker's acknowledgement",
            (now - waiting_since) / 1000
        )
    } else if status.commit_failing.load(Ordering::Relaxed) {
        "the last offset commit failed (retrying)".to_string()
    } else {
        return None;
    };
    Some(serde_json::json!({ "reason": reason }))
}

/// How long outputs may wait for acknowledgement before the instance counts as not ready.
const ACK_PATIENCE_MS: i64 = 3000;

/// How long the consumer may hear nothing from the brokers before the
/// instance counts as not ready (a healthy broker answers a fetch at least
/// every `fetch.wait.max.ms`, 500 ms by default).
const SILENCE_PATIENCE_MS: i64 = 5000;

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let status = &state.status;
    let partitions = status.partitions.get();
    match not_ready(status) {
        None => (
            StatusCode::OK,
            Json(serde_json::json!({"ready": true, "partitions": partitions})),
        )
            .into_response(),
        Some(mut body) => {
            body["ready"] = false.into();
            body["partitions"] = partitions.into();
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let status = &state.status;
    status.ready.set(i64::from(not_ready(status).is_none()));
    status
        .restoring_gauge
        .set(i64::from(status.restoring.load(Ordering::Relaxed)));
    let families = status.registry.gather();
    match prometheus::TextEncoder::new().encode_to_string(&families) {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// Binds `addr` and serves until `shutdown` resolves. Returns the bound address via `on_bound`.
pub async fn serve(
    addr: SocketAddr,
    state: Arc<AppState>,
    access: Arc<Access>,
    on_bound: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })?;
    let bound = listener.local_addr().map_err(ServerError::Serve)?;
    on_bound(bound);
    axum::serve(listener, router(state, access))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ServerError::Serve)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn ready(state: &Arc<AppState>) -> (StatusCode, serde_json::Value) {
        let resp = readyz(State(state.clone())).await;
        let code = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap_or_default();
        (code, serde_json::from_slice(&body).unwrap_or_default())
    }

    #[tokio::test]
    async fn readyz_needs_partitions_and_a_connected_producer() {
        let state = Arc::new(AppState {
            status: Arc::new(Status::new()),
            view: Arc::new(CompanyView::default()),
            alerts: Arc::new(AlertView::default()),
        });
        let (code, body) = ready(&state).await;
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            body["reason"].as_str().unwrap().contains("partition"),
            "{body}"
        );

        state.status.partitions.set(2);
        state.status.consuming.store(true, Ordering::Relaxed);
        let (code, body) = ready(&state).await;
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            body["reason"].as_str().unwrap().contains("producer"),
            "{body}"
        );

        state.status.producer_up.store(true, Ordering::Relaxed);
        let (code, body) = ready(&state).await;
        assert_eq!(
            (code, &body["partitions"]),
            (StatusCode::OK, &serde_json::json!(2))
        );

        // A broker that keeps its connections open but answers nothing.
        state
            .status
            .broker_silent_ms
            .store(6_500, Ordering::Relaxed);
        let (code, body) = ready(&state).await;
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["reason"], "no answer from the broker for 6 s");
        state.status.broker_silent_ms.store(400, Ordering::Relaxed);
        assert_eq!(ready(&state).await.0, StatusCode::OK);

        state.status.restoring.store(true, Ordering::Relaxed);
        state.status.restore_done.store(5, Ordering::Relaxed);
        let (code, body) = ready(&state).await;
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["reason"], "restoring");
        assert_eq!(body["restored_records"], 5);
        state.status.restoring.store(false, Ordering::Relaxed);

        state
            .status
            .acks_waiting_since_ms
            .store(1, Ordering::Relaxed);
        let (code, body) = ready(&state).await;
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            body["reason"].as_str().unwrap().contains("acknowledgement"),
            "{body}"
        );
    }
}
