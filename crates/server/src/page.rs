//! The built-in live page at `/`: static HTML, CSS and JS embedded in the
//! binary (no build step, no CDN, works offline), fed by Server-Sent Events
//! from `/v1/stream`: a snapshot of the leaderboard and the firing alerts
//! every second. A rep's explanation comes from `/v1/reps/{id}`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Extension, State};
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use futures::Stream;
use serde_json::{json, Value};

use crate::auth::Scope;
use salespulse_view::AlertFilter;

use crate::AppState;

const INDEX: &str = include_str!("page/index.html");
const SCRIPT: &str = include_str!("page/page.js");
const STYLE: &str = include_str!("page/page.css");

/// `GET /`.
pub async fn index() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INDEX)
}

/// `GET /page.js`.
pub async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
}

/// `GET /page.css`.
pub async fn style() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE)
}

/// What the page shows: every rep's latest score (best first) and the
/// firing alerts (most recent first, at most 100).
pub fn snapshot(st: &AppState, scope: &Scope) -> Value {
    let mut reps: Vec<Value> = crate::api::within(st, scope)
        .iter()
        .map(|r| {
            json!({"rep_id": r.rep_id, "team_id": r.team_id, "role": r.role,
                   "score": r.score, "as_of": r.as_of})
        })
        .collect();
    reps.sort_by(|a, b| {
        let s = |v: &Value| v["score"].as_f64().unwrap_or(f64::NEG_INFINITY);
        s(b).total_cmp(&s(a))
            .then_with(|| a["rep_id"].as_str().cmp(&b["rep_id"].as_str()))
    });
    let firing = AlertFilter {
        status: Some(salespulse_model::AlertStatus::Firing),
        ..AlertFilter::default()
    };
    let (_, alerts) = match scope.narrow(firing) {
        Some(f) => st.alerts.query(&f, 100),
        None => (0, Vec::new()),
    };
    let alerts: Vec<&salespulse_model::AlertRecord> = alerts.iter().map(|a| a.as_ref()).collect();
    let at = salespulse_model::Timestamp::wall_now().0;
    json!({"at": at, "reps": reps, "alerts": alerts})
}

/// `GET /v1/stream`: a `snapshot` event every second.
pub async fn stream(
    State(st): State<Arc<AppState>>,
    Extension(scope): Extension<Scope>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let tick = tokio::time::interval(Duration::from_secs(1));
    let events = futures::stream::unfold((st, scope, tick), |(st, scope, mut tick)| async move {
        tick.tick().await;
        let data = snapshot(&st, &scope).to_string();
        Some((
            Ok(Event::default().event("snapshot").data(data)),
            (st, scope, tick),
        ))
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}
