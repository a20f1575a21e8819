#!/usr/bin/env python3
"""Writes deploy/grafana/dashboards/*.json: the five SalesPulse boards.

Run it after changing a panel; tests/prometheus_boards.rs evaluates every
panel's expression against a real Prometheus scraping a running service.
Template variables: $team, $role, $region, $window (and $rep on the rep
board). Panels marked "per-rep" need `[metrics] per_rep = true`.
"""
import json
import pathlib

OUT = pathlib.Path(__file__).resolve().parent.parent / "deploy" / "grafana" / "dashboards"
DS = {"type": "prometheus", "uid": "${datasource}"}


def var_query(name, query, label, multi=True, include_all=True):
    return {
        "name": name, "type": "query", "datasource": DS,
        "query": {"query": f"label_values({query}, {label})", "refId": name},
        "definition": f"label_values({query}, {label})",
        "multi": multi, "includeAll": include_all, "allValue": ".*",
        "current": {"text": "All", "value": "$__all"} if include_all else {},
        "refresh": 2, "sort": 1,
    }


def variables(extra=()):
    v = [{"name": "datasource", "type": "datasource", "query": "prometheus", "current": {}},
         var_query("team", "salespulse_active_reps", "team"),
         var_query("role", "salespulse_active_reps", "role"),
         var_query("region", "salespulse_kpi", "region"),
         var_query("window", "salespulse_kpi", "window", multi=False, include_all=False)]
    v[-1]["current"] = {"text": "month", "value": "month"}
    return v + list(extra)


def panel(pid, title, kind, exprs, x, y, w=12, h=8, unit=None, description="", legend=None):
    targets = []
    for i, e in enumerate(exprs):
        t = {"refId": chr(65 + i), "expr": e, "datasource": DS}
        if legend:
            t["legendFormat"] = legend[i] if isinstance(legend, list) else legend
        if kind in ("table", "bargauge"):
            t["instant"] = True
            t["format"] = "table" if kind == "table" else "time_series"
        targets.append(t)
    p = {"id": pid, "title": title, "type": kind, "datasource": DS, "targets": targets,
         "gridPos": {"x": x, "y": y, "w": w, "h": h}, "description": description}
    if unit:
        p["fieldConfig"] = {"defaults": {"unit": unit}, "overrides": []}
    return p


def board(uid, title, panels, extra_vars=()):
    return {"uid": uid, "title": title, "tags": ["salespulse"], "schemaVersion": 39,
            "version": 1, "editable": True, "refresh": "10s", "time": {"from": "now-1h", "to": "now"},
            "templating": {"list": variables(extra_vars)}, "panels": panels}


SEL = 'team=~"$team",role=~"$role"'
KPI = 'team=~"$team",role=~"$role",region=~"$region",window="$window"'
RATE = "$__rate_interval"

BOARDS = {
    "leaderboard": board("salespulse-leaderboard", "SalesPulse: Sales leaderboard", [
        panel(1, "Top reps by score (per-rep)", "bargauge",
              [f"topk(20, salespulse_rep_score{{{SEL}}})"], 0, 0, legend="{{rep}}",
              description="Needs [metrics] per_rep = true (capped by per_rep_limit)."),
        panel(2, "Top reps by revenue attainment (per-rep)", "bargauge",
              ['topk(20, salespulse_rep_attainment{kpi="revenue",window="$window"})'], 12, 0,
              unit="percentunit", legend="{{rep}}",
              description="Attainment is fair across quotas. Needs [metrics] per_rep = true."),
        panel(3, "Average score by team", "bargauge",
              ["sort_desc(team:salespulse_score:avg)"], 0, 8, legend="{{team}}",
              description="Recording rule over salespulse_score_sum / salespulse_score_count."),
        panel(4, "Average score by role", "bargauge",
              [f"sum by (role) (salespulse_score_sum{{{SEL}}}) / sum by (role) (salespulse_score_count{{{SEL}}})"],
              12, 8, legend="{{role}}"),
    ]),
    "team-overview": board("salespulse-team-overview", "SalesPulse: Team overview", [
        panel(1, "Revenue by team ($window)", "timeseries",
              [f'sum by (team) (salespulse_kpi{{kpi="revenue",{KPI}}})'], 0, 0, unit="currencyUSD",
              legend="{{team}}"),
        panel(2, "Win rate by team ($window)", "timeseries",
              [f'sum by (team) (salespulse_kpi{{kpi="deals_won",{KPI}}}) / (sum by (team) (salespulse_kpi{{kpi="deals_won",{KPI}}}) + sum by (team) (salespulse_kpi{{kpi="deals_lost",{KPI}}}))'],
              12, 0, unit="percentunit", legend="{{team}}"),
        panel(3, "Activities by team ($window)", "timeseries",
              [f'sum by (team) (salespulse_kpi{{kpi="activities",{KPI}}})'], 0, 8, legend="{{team}}"),
        panel(4, "Share of reps behind pace", "timeseries",
              ['team:salespulse_reps_behind_pace:ratio{team=~"$team"}'], 12, 8, unit="percentunit",
              legend="{{team}}", description="Reps with an open behind_pace alert over reps owned."),
        panel(5, "Score distribution (median and quartiles)", "timeseries",
              [f"histogram_quantile({q}, sum by (le) (salespulse_score_bucket{{{SEL}}}))" for q in (0.25, 0.5, 0.75)],
              0, 16, legend=["p25", "median", "p75"]),
        panel(6, "Reps by team and role", "table",
              [f"sum by (team, role) (salespulse_active_reps{{{SEL}}})"], 12, 16),
    ]),
    "rep-drilldown": board("salespulse-rep", "SalesPulse: Rep drill-down", [
        panel(1, "Score (per-rep)", "timeseries",
              ['salespulse_rep_score{rep=~"$rep"}'], 0, 0, legend="{{rep}}",
              description="Needs [metrics] per_rep = true. The explanation of each score is in /v1/reps/{id}."),
        panel(2, "Attainment of each component (per-rep)", "timeseries",
              ['salespulse_rep_attainment{rep=~"$rep"}'], 12, 0, unit="percentunit",
              legend="{{rep}} {{kpi}}/{{window}}"),
        panel(3, "Open alerts of the rep's team by kind", "table",
              ['sum by (kind, severity) (salespulse_alerts_firing{team=~"$team"})'], 0, 8,
              description="Per-rep alerts are on the salespulse.alerts topic and /v1/alerts?rep=..."),
    ], extra_vars=[var_query("rep", "salespulse_rep_score", "rep", multi=False, include_all=False)]),
    "alerts": board("salespulse-alerts", "SalesPulse: Alerts", [
        panel(1, "Firing by kind", "timeseries",
              ['sum by (kind) (salespulse_alerts_firing{team=~"$team"})'], 0, 0, legend="{{kind}}"),
        panel(2, "Firing by team and severity", "table",
              ['sum by (team, severity) (salespulse_alerts_firing{team=~"$team"})'], 12, 0),
        panel(3, "Alert records published (last hour) by kind and status", "table",
              ["sum by (kind, status) (increase(salespulse_alerts_total[1h]))"], 0, 8),
        panel(4, "Recent changes: alerts published per minute", "timeseries",
              [f"sum by (kind) (rate(salespulse_alerts_total[{RATE}])) * 60"], 12, 8, legend="{{kind}}"),
    ]),
    "engine-health": board("salespulse-engine", "SalesPulse: Engine health", [
        panel(1, "Throughput (records/s)", "timeseries",
              [f"sum(rate(salespulse_events_received_total[{RATE}]))",
               f"sum(rate(salespulse_events_applied_total[{RATE}]))"], 0, 0, unit="ops",
              legend=["received", "applied"]),
        panel(2, "Consumer lag by topic", "timeseries",
              ["job_topic:salespulse_consumer_lag:sum"], 12, 0, legend="{{topic}}"),
        panel(3, "Apply latency p50 / p99", "timeseries",
              [f"histogram_quantile({q}, sum by (le) (rate(salespulse_apply_seconds_bucket[{RATE}])))" for q in (0.5, 0.99)],
              0, 8, unit="s", legend=["p50", "p99"]),
        panel(4, "Event-to-emit latency p50 / p99", "timeseries",
              [f"histogram_quantile({q}, sum by (le) (rate(salespulse_event_to_emit_seconds_bucket[{RATE}])))" for q in (0.5, 0.99)],
              12, 8, unit="s", legend=["p50", "p99"]),
        panel(5, "Rejected (DLQ) by reason", "timeseries",
              [f"sum by (reason) (rate(salespulse_events_rejected_total[{RATE}]))"], 0, 16, unit="ops",
              legend="{{reason}}"),
        panel(6, "Rebalances, restores, commit failures (last hour)", "table",
              ["sum(increase(salespulse_rebalances_total[1h]))",
               "sum(increase(salespulse_restore_seconds_count[1h]))",
               "sum(increase(salespulse_commit_failures_total[1h]))"], 12, 16),
        panel(7, "Reps in state and partitions owned", "timeseries",
              ["sum(salespulse_state_reps)", "sum(salespulse_partitions_owned)"], 0, 24,
              legend=["reps", "partitions"]),
    ]),
}

for name, b in BOARDS.items():
    (OUT / f"{name}.json").write_text(json.dumps(b, indent=2) + "\n")
print(f"wrote {len(BOARDS)} dashboards to {OUT}")
