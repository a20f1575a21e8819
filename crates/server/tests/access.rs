//! Access control, per scope and endpoint, through the real router: 401
//! without or with an unknown token, 403 outside the scope, commissions
//! only where the scope allows, and the SSE stream (the live page's data)
//! narrowed like the API.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures::StreamExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use salespulse_model::AlertRecord;
use salespulse_server::{router, Access, AppState, Scope};
use salespulse_telemetry::{Health, Metrics};
use salespulse_view::{AlertView, CompanyView};

/// A score record as the engine writes it (the golden replay's first one),
/// for `rep` in `team`.
fn record(rep: &str, team: &str, score: f64) -> Value {
    let golden = include_str!("../../../tests/golden/small.all.ndjson");
    let mut r: Value = serde_json::from_str(golden.lines().next().unwrap()).unwrap();
    for (k, v) in [
        ("rep_id", json!(rep)),
        ("team_id", json!(team)),
        ("manager_id", json!(format!("m-{team}"))),
        ("score", json!(score)),
    ] {
        r[k] = v;
    }
    r
}

/// The rep's commission statement (`statement/1`, pay data).
fn statement(rep: &str, team: &str) -> Value {
    json!({"schema": "statement/1", "key": format!("{rep}/month/2026-03-01"), "rep_id": rep,
           "team_id": team, "manager_id": format!("m-{team}"), "as_of": "2026-03-02T08:00:00Z",
           "seq": 1, "closed": false, "currency": "USD",
           "period": {"kind": "month", "start": "2026-03-01T00:00:00Z", "end": "2026-04-01T00:00:00Z"},
           "measure": "revenue", "target": "10000.00", "gross": "20000.00", "refunded": "0.00",
           "net": "20000.00", "attainment": 2.0, "earned_to_date": "1000.00",
           "by_component": {"revenue": "1000.00"}, "clawbacks": "0.00", "next_deal_rate": 0.05,
           "capped": false})
}

fn state() -> Arc<AppState> {
    let view = CompanyView::default();
    for (rep, team, score) in [
        ("a1", "t1", 70.0),
        ("a2", "t1", 60.0),
        ("b1", "t2", 80.0),
        ("b2", "t2", 50.0),
    ] {
        view.offer(record(rep, team, score).to_string().as_bytes());
        view.offer(statement(rep, team).to_string().as_bytes());
    }
    let alerts = AlertView::default();
    for (rep, team) in [("a1", "t1"), ("b1", "t2")] {
        let alert: AlertRecord = serde_json::from_value(json!({
            "schema": "alert/2", "alert_id": format!("inactivity:{rep}"), "kind": "inactivity", "severity": "warning",
            "status": "firing", "rep_id": rep, "team_id": team, "role": "direct", "source": null,
            "started_at": "2026-01-05T09:00:00Z", "resolved_at": null, "value": 5.0,
            "threshold": 4.0, "baseline": 0.0, "message": "quiet", "suggestion": "call"}))
        .unwrap();
        alerts.offer_record(alert);
    }
    let metrics = Metrics::new();
    Arc::new(AppState {
        health: Arc::new(Health::new(&metrics)),
        metrics: Arc::new(metrics),
        view: Arc::new(view),
        alerts: Arc::new(alerts),
    })
}

const TOKENS: [(&str, &str); 4] = [
    ("admin", "tok-admin"),
    ("ops", "tok-ops"),
    ("manager:t1", "tok-manager"),
    ("rep:a1", "tok-rep"),
];

fn access(public: &[&str]) -> Arc<Access> {
    let tokens: Vec<(&str, &str, Scope)> = TOKENS
        .iter()
        .map(|(s, t)| (*s, *t, Scope::parse(s).unwrap()))
        .collect();
    Arc::new(Access::with_tokens(&tokens, public))
}

/// Status and body of GET `path` with `token`; for the SSE stream the
/// first event's data.
async fn get(access: &Arc<Access>, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut req = Request::get(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let resp = router(state(), access.clone())
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let code = resp.status();
    let mut body = resp.into_body().into_data_stream();
    let mut bytes = Vec::new();
    while let Some(Ok(chunk)) = body.next().await {
        bytes.extend_from_slice(&chunk);
        if path == "/v1/stream" {
            break;
        }
    }
    let text = String::from_utf8_lossy(&bytes).to_string();
    let data = text
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap_or(&text);
    (
        code,
        serde_json::from_str(data).unwrap_or(Value::String(text.clone())),
    )
}

fn ids(v: &Value, list: &str, field: &str) -> Vec<String> {
    let mut out: Vec<String> = v[list]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .filter_map(|r| r[field].as_str().map(str::to_string))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn without_a_valid_token_only_health_the_page_shell_and_public_paths_answer() {
    let a = access(&["/readyz", "/metrics"]);
    for path in ["/healthz", "/", "/page.js", "/metrics"] {
        assert_eq!(get(&a, path, None).await.0, StatusCode::OK, "{path}");
    }
    assert_eq!(
        get(&a, "/readyz", None).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    for path in [
        "/v1/reps/a1",
        "/v1/teams/t1",
        "/v1/managers/m-t1",
        "/v1/leaderboard",
        "/v1/alerts",
        "/v1/stream",
    ] {
        for token in [None, Some("tok-unknown"), Some("")] {
            let (code, body) = get(&a, path, token).await;
            assert_eq!(code, StatusCode::UNAUTHORIZED, "{path} {token:?}");
            assert!(body["error"].as_str().unwrap().contains("bearer"), "{body}");
        }
    }
    // Metrics and readiness behind tokens: admin and ops only.
    let closed = access(&[]);
    assert_eq!(
        get(&closed, "/metrics", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&closed, "/metrics", Some("tok-rep")).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&closed, "/metrics", Some("tok-manager")).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&closed, "/metrics", Some("tok-ops")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        get(&closed, "/readyz", Some("tok-rep")).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&closed, "/readyz", Some("tok-admin")).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(get(&closed, "/healthz", None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn admin_and_ops_see_everyone_but_ops_never_sees_commissions() {
    let a = access(&[]);
    for (token, pay) in [("tok-admin", true), ("tok-ops", false)] {
        for rep in ["a1", "b1"] {
            let (code, body) = get(&a, &format!("/v1/reps/{rep}"), Some(token)).await;
            assert_eq!(code, StatusCode::OK, "{token} {rep}");
            assert_eq!(body["commission"].is_object(), pay, "{token} {rep}: {body}");
        }
        for team in ["t1", "t2"] {
            assert_eq!(
                get(&a, &format!("/v1/teams/{team}"), Some(token)).await.0,
                StatusCode::OK
            );
        }
        assert_eq!(
            get(&a, "/v1/managers/m-t2", Some(token)).await.0,
            StatusCode::OK
        );
        let (_, board) = get(&a, "/v1/leaderboard", Some(token)).await;
        assert_eq!(ids(&board, "reps", "rep_id"), ["a1", "a2", "b1", "b2"]);
        let (_, alerts) = get(&a, "/v1/alerts", Some(token)).await;
        assert_eq!(ids(&alerts, "alerts", "rep_id"), ["a1", "b1"]);
        let (code, snap) = get(&a, "/v1/stream", Some(token)).await;
        assert_eq!(code, StatusCode::OK);
        assert_eq!(ids(&snap, "reps", "rep_id"), ["a1", "a2", "b1", "b2"]);
        assert_eq!(ids(&snap, "alerts", "rep_id"), ["a1", "b1"]);
    }
}

#[tokio::test]
async fn a_manager_sees_its_own_team_with_commissions_and_nothing_else() {
    let a = access(&[]);
    let t = Some("tok-manager");
    let (code, body) = get(&a, "/v1/reps/a2", t).await;
    assert_eq!(
        (code, body["commission"].is_object()),
        (StatusCode::OK, true)
    );
    assert_eq!(get(&a, "/v1/reps/b1", t).await.0, StatusCode::FORBIDDEN);
    assert_eq!(get(&a, "/v1/teams/t1", t).await.0, StatusCode::OK);
    assert_eq!(get(&a, "/v1/teams/t2", t).await.0, StatusCode::FORBIDDEN);
    assert_eq!(get(&a, "/v1/managers/m-t1", t).await.0, StatusCode::OK);
    assert_eq!(
        get(&a, "/v1/managers/m-t2", t).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, board) = get(&a, "/v1/leaderboard", t).await;
    assert_eq!(ids(&board, "reps", "rep_id"), ["a1", "a2"]);
    let (_, alerts) = get(&a, "/v1/alerts", t).await;
    assert_eq!(ids(&alerts, "alerts", "rep_id"), ["a1"]);
    assert_eq!(
        get(&a, "/v1/alerts?team=t2", t).await.0,
        StatusCode::FORBIDDEN
    );
    let (_, snap) = get(&a, "/v1/stream", t).await;
    assert_eq!(ids(&snap, "reps", "rep_id"), ["a1", "a2"]);
    assert_eq!(ids(&snap, "alerts", "rep_id"), ["a1"]);
}

#[tokio::test]
async fn a_rep_sees_its_own_pay_and_its_peers_scores_without_theirs() {
    let a = access(&[]);
    let t = Some("tok-rep");
    let (code, own) = get(&a, "/v1/reps/a1", t).await;
    assert_eq!(
        (code, own["commission"]["earned_to_date"].as_str()),
        (StatusCode::OK, Some("1000.00"))
    );
    for peer in ["a2", "b1"] {
        let (code, body) = get(&a, &format!("/v1/reps/{peer}"), t).await;
        assert_eq!(code, StatusCode::OK);
        assert!(
            body["score"].is_number() && body.get("commission").is_none(),
            "{body}"
        );
    }
    assert_eq!(get(&a, "/v1/teams/t2", t).await.0, StatusCode::OK);
    let (_, board) = get(&a, "/v1/leaderboard", t).await;
    assert_eq!(ids(&board, "reps", "rep_id"), ["a1", "a2", "b1", "b2"]);
    let (_, alerts) = get(&a, "/v1/alerts", t).await;
    assert_eq!(ids(&alerts, "alerts", "rep_id"), ["a1"]);
    assert_eq!(
        get(&a, "/v1/alerts?rep=b1", t).await.0,
        StatusCode::FORBIDDEN
    );
    let (_, snap) = get(&a, "/v1/stream", t).await;
    assert_eq!(ids(&snap, "reps", "rep_id"), ["a1", "a2", "b1", "b2"]);
    assert_eq!(ids(&snap, "alerts", "rep_id"), ["a1"]);
    let text = snap.to_string();
    assert!(!text.contains("earned_to_date"), "{text}");
}

#[tokio::test]
async fn with_auth_off_everything_is_served() {
    let a = Arc::new(Access::open());
    let (code, body) = get(&a, "/v1/reps/b1", None).await;
    assert_eq!(
        (code, body["commission"].is_object()),
        (StatusCode::OK, true)
    );
}
