//! `/v1` query endpoints over the company view. Errors are JSON with the
//! right status: 400 naming the bad parameter, 404 for an unknown rep or team.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use salespulse_model::{AlertKind, AlertStatus};
use salespulse_view::{AlertFilter, Rec};

use crate::auth::{forbidden, visible, Scope};
use crate::AppState;

fn error(status: StatusCode, message: String, extra: Value) -> Response {
    let mut body = json!({"error": message});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    (status, Json(body)).into_response()
}

/// A 400 answer naming the bad parameter.
pub struct BadParam(Value);

impl IntoResponse for BadParam {
    fn into_response(self) -> Response {
        (StatusCode::BAD_REQUEST, Json(self.0)).into_response()
    }
}

/// 400 for a parameter not in `allowed`.
fn known_params(q: &HashMap<String, String>, allowed: &[&str]) -> Result<(), BadParam> {
    match q.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(BadParam(json!({
            "error": format!("unknown parameter {k:?}"),
            "parameter": k,
            "expected": allowed.join(", "),
        }))),
        None => Ok(()),
    }
}

/// `limit`, 1 to 1000, or `default`.
fn limit(q: &HashMap<String, String>, default: usize) -> Result<usize, BadParam> {
    match q.get("limit").map(|l| l.parse::<usize>()) {
        None => Ok(default),
        Some(Ok(n)) if (1..=1000).contains(&n) => Ok(n),
        Some(_) => Err(BadParam(json!({
            "error": "limit must be an integer from 1 to 1000",
            "parameter": "limit",
            "value": q["limit"],
        }))),
    }
}

/// `GET /v1/alerts?status=&team=&kind=&rep=&limit=`: the latest record of
/// each matching alert episode, most recently started first.
pub async fn alerts(
    State(st): State<Arc<AppState>>,
    Extension(scope): Extension<Scope>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = known_params(&q, &["status", "team", "kind", "rep", "limit"]) {
        return r.into_response();
    }
    let limit = match limit(&q, 100) {
        Ok(n) => n,
        Err(r) => return r.into_response(),
    };
    let status = match q.get("status").map(|s| (s, AlertStatus::parse(s))) {
        None => None,
        Some((_, Some(s))) => Some(s),
        Some((s, None)) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("unknown status {s:?}"),
                json!({"parameter": "status", "value": s, "expected": ["firing", "resolved"]}),
            )
        }
    };
    let kind = match q.get("kind").map(|k| (k, AlertKind::parse(k))) {
        None => None,
        Some((_, Some(k))) => Some(k),
        Some((k, None)) => {
            let kinds: Vec<&str> = AlertKind::ALL.iter().map(|k| k.as_str()).collect();
            return error(
                StatusCode::BAD_REQUEST,
                format!("unknown alert kind {k:?}"),
                json!({"parameter": "kind", "value": k, "expected": kinds}),
            );
        }
    };
    let filter = AlertFilter {
        status,
        team: q.get("team").map(String::as_str),
        kind,
        rep: q.get("rep").map(String::as_str),
    };
    let Some(filter) = scope.narrow(filter) else {
        return forbidden("these alerts are outside the token's scope");
    };
    let (total, hits) = st.alerts.query(&filter, limit);
    let hits: Vec<&salespulse_model::AlertRecord> = hits.iter().map(|a| a.as_ref()).collect();
    Json(json!({"total": total, "alerts": hits})).into_response()
}

/// `GET /v1/reps/{rep_id}`: the rep's latest score record, with its
/// company-wide `standing` (percentiles and ranks, see `peers`).
pub async fn rep(
    State(st): State<Arc<AppState>>,
    Extension(scope): Extension<Scope>,
    Path(rep_id): Path<String>,
) -> Response {
    match st.view.rep(&rep_id) {
        Some(r) if !scope.may_see_rep(&r) => forbidden("this rep is outside the token's team"),
        Some(r) => {
            let (coaching, statement) = (st.view.coaching(&rep_id), st.view.statement(&rep_id));
            let mut body = visible(&scope, &r, coaching.as_deref(), statement.as_deref());
            body["standing"] = salespulse_view::standing(&st.view.all(), &r).unwrap_or(Value::Null);
            Json(body).into_response()
        }
        None => error(
            StatusCode::NOT_FOUND,
            format!("unknown rep {rep_id:?}"),
            json!({"rep_id": rep_id}),
        ),
    }
}

/// `GET /v1/teams/{team_id}`: the team's members with their scores, the
/// quota-weighted team score and plain mean, the team's KPIs and managers,
/// and its last closed periods against the ones before.
pub async fn team(
    State(st): State<Arc<AppState>>,
    Extension(scope): Extension<Scope>,
    Path(team_id): Path<String>,
) -> Response {
    if scope.team().is_some_and(|t| t != team_id) {
        return forbidden("this team is outside the token's team");
    }
    match salespulse_view::team_answer(&st.view.all(), &team_id) {
        Some(t) => Json(t).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            format!("unknown team {team_id:?}"),
            json!({"team_id": team_id}),
        ),
    }
}

/// `GET /v1/managers/{manager_id}`: the manager's organisation from the
/// directory's `manager_id`: direct reports, nested managers, team score.
pub async fn manager(
    State(st): State<Arc<AppState>>,
    Extension(scope): Extension<Scope>,
    Path(manager_id): Path<String>,
) -> Response {
    match salespulse_view::organisation(&within(&st, &scope), &manager_id) {
        Some(o) => Json(o).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            format!("no rep reports to manager {manager_id:?}"),
            json!({"manager_id": manager_id}),
        ),
    }
}

/// Every rep's latest record the scope may read (a manager token: its team).
pub fn within(st: &AppState, scope: &Scope) -> Vec<Rec> {
    let mut all = st.view.all();
    all.retain(|r| scope.may_see_rep(r));
    all
}

/// `GET /v1/leaderboard?role=&team=&region=&kpi=&window=&limit=`: reps ranked by
/// score, or by their attainment of one KPI component (fair across quotas).
pub async fn leaderboard(
    State(st): State<Arc<AppState>>,
    Extension(scope): Extension<Scope>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = known_params(&q, &["role", "team", "region", "kpi", "window", "limit"]) {
        return r.into_response();
    }
    let limit = match limit(&q, 20) {
        Ok(n) => n,
        Err(r) => return r.into_response(),
    };
    let kpi = q.get("kpi");
    if let Some(k) = kpi {
        if salespulse_model::KpiName::parse(k).is_none() {
            return error(
                StatusCode::BAD_REQUEST,
                format!("unknown KPI {k:?}"),
                json!({"parameter": "kpi", "value": k, "expected": salespulse_model::KpiName::all_names()}),
            );
        }
    }
    if q.contains_key("window") && kpi.is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            "window only applies with kpi".into(),
            json!({"parameter": "window"}),
        );
    }
    let matches = |have: Option<&str>, key: &str| q.get(key).is_none_or(|want| have == Some(want));
    let window = q.get("window");
    let mut rows: Vec<(f64, Value)> = within(&st, &scope)
        .into_iter()
        .filter(|r| {
            matches(r.role.as_deref(), "role")
                && matches(r.team_id.as_deref(), "team")
                && matches(r.region.as_deref(), "region")
        })
        .filter_map(|r| {
            let value = match kpi {
                None => r.score?,
                Some(k) => {
                    r.components
                        .iter()
                        .find(|c| c.kpi == k.as_str() && window.is_none_or(|w| *c.window == **w))?
                        .attainment
                }
            };
            Some((
                value,
                json!({"rep_id": r.rep_id, "team_id": r.team_id, "role": r.role,
                                "region": r.region, "score": r.score, "value": value}),
            ))
        })
        .collect();
    rows.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then_with(|| a.1["rep_id"].as_str().cmp(&b.1["rep_id"].as_str()))
    });
    let ranked: Vec<Value> = rows
        .into_iter()
        .take(limit)
        .enumerate()
        .map(|(i, (_, mut row))| {
            row["rank"] = json!(i + 1);
            row
        })
        .collect();
    let by = kpi.map_or("score".to_string(), |k| format!("attainment of {k}"));
    Json(json!({"ranked_by": by, "reps": ranked})).into_response()
}
