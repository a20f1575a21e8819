//! The HTTP side of SalesPulse: liveness, readiness, Prometheus metrics,
//! and the `/v1` query API over the company-wide view (see docs/http.md).
//!
//! `/healthz` answers 200 while the process runs; `/readyz` answers 200 while
//! partitions are assigned and the producer is connected, else 503 with a
//! JSON reason; `/metrics` renders the one registry in Prometheus text format.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use salespulse_model::Timestamp;
use salespulse_telemetry::{Health, Metrics};

mod api;
pub mod auth;
mod page;

pub use auth::{Access, AuthError, Scope};
use salespulse_view::{AlertView, CompanyView};

/// What the handlers share.
pub struct AppState {
    /// The registry `/metrics` renders.
    pub metrics: Arc<Metrics>,
    /// What `/readyz` answers from.
    pub health: Arc<Health>,
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

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let partitions = state.health.partitions();
    match state.health.not_ready(Timestamp::wall_now().0) {
        None => (
            StatusCode::OK,
            Json(serde_json::json!({"ready": true, "partitions": partitions})),
        )
            .into_response(),
        Some(why) => {
            let mut body = why.to_json();
            body["ready"] = false.into();
            body["partitions"] = partitions.into();
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    state.health.refresh_gauges(Timestamp::wall_now().0);
    match state.metrics.render() {
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

    /// The answers of /readyz (the reasons themselves are judged and
    /// tested in `salespulse_telemetry::Health`).
    #[tokio::test]
    async fn readyz_answers_503_with_the_reason_then_200_with_the_partitions() {
        let metrics = Metrics::new();
        let state = Arc::new(AppState {
            health: Arc::new(Health::new(&metrics)),
            metrics: Arc::new(metrics),
            view: Arc::new(CompanyView::default()),
            alerts: Arc::new(AlertView::default()),
        });
        let (code, body) = ready(&state).await;
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["ready"], false);
        assert!(
            body["reason"].as_str().unwrap().contains("partition"),
            "{body}"
        );
        state.health.set_partitions(2);
        state.health.set_consuming(true);
        state.health.set_producer_up(true);
        let (code, body) = ready(&state).await;
        assert_eq!(
            (code, &body["partitions"], &body["ready"]),
            (
                StatusCode::OK,
                &serde_json::json!(2),
                &serde_json::json!(true)
            )
        );
        state.health.restore_started();
        let (code, body) = ready(&state).await;
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["reason"], "restoring");
        // /metrics shows the same at each scrape.
        let resp = super::metrics(State(state.clone())).await;
        let text = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&text);
        assert!(text.contains("salespulse_ready 0"), "{text}");
        assert!(text.contains("salespulse_restoring 1"), "{text}");
    }
}
