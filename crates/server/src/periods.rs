//! Team period over period: the members' last closed period of each
//! `scoring.compare_periods` kind (`last_periods` in their score records)
//! against the period before it, summed as the team's current figures are
//! (quota-weighted team score, summed KPIs with ratios re-derived). A member
//! counts in a period when it had a summary for it.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::peers::{team_kpis, team_scores};

type Rec = Arc<Value>;

/// A member as it was in one closed period: that period's score and KPIs,
/// with the member's current components (for its quota).
fn as_of_period(member: &Value, score: &Value, kpis: &Value) -> Rec {
    Arc::new(json!({"score": score, "kpis": kpis, "components": member["components"]}))
}

/// The team's figures over `members` in one period.
fn figures(period: &Value, members: &[Rec]) -> Value {
    let refs: Vec<&Rec> = members.iter().collect();
    let (team_score, mean) = team_scores(&refs);
    json!({"period": period, "reps": members.len(), "team_score": team_score,
           "mean_score": mean, "kpis": team_kpis(&refs)})
}

/// `now - before` for every number in two KPI tables (null otherwise).
fn kpi_change(now: &Value, before: &Value) -> Value {
    let mut out = Map::new();
    for (kpi, windows) in now.as_object().into_iter().flatten() {
        let mut row = Map::new();
        for (w, v) in windows.as_object().into_iter().flatten() {
            let d = v
                .as_f64()
                .zip(before[kpi][w].as_f64())
                .map(|(a, b)| json!(((a - b) * 1e6).round() / 1e6));
            row.insert(w.clone(), d.unwrap_or(Value::Null));
        }
        out.insert(kpi.clone(), Value::Object(row));
    }
    Value::Object(out)
}

/// For each compared kind: the team's last closed period, the one before,
/// and the change.
pub fn team_periods(members: &[&Rec]) -> Value {
    let mut by_kind: BTreeMap<String, Vec<(&Value, &Value)>> = BTreeMap::new();
    for m in members {
        for lp in m["last_periods"].as_array().into_iter().flatten() {
            if let Some(kind) = lp["period"]["kind"].as_str() {
                by_kind.entry(kind.to_string()).or_default().push((m, lp));
            }
        }
    }
    let mut out = Map::new();
    for (kind, entries) in by_kind {
        let start = |v: &Value| v["period"]["start"].as_str().map(str::to_string);
        let Some(latest) = entries.iter().filter_map(|(_, lp)| start(lp)).max() else {
            continue;
        };
        let mut last = Vec::new();
        let mut before = Vec::new();
        let (mut last_period, mut before_period) = (Value::Null, Value::Null);
        for (m, lp) in &entries {
            if start(lp).as_deref() == Some(latest.as_str()) {
                last_period = lp["period"].clone();
                last.push(as_of_period(m, &lp["score"], &lp["kpis"]));
                let prev = &lp["previous"];
                if prev.is_object() {
                    before_period = prev["period"].clone();
                    before.push(as_of_period(m, &prev["score"], &prev["kpis"]));
                }
            }
        }
        // Members whose last closed period is the one before (quiet in the latest).
        for (m, lp) in &entries {
            if !before_period.is_null() && lp["period"] == before_period {
                before.push(as_of_period(m, &lp["score"], &lp["kpis"]));
            }
        }
        let now = figures(&last_period, &last);
        let mut row = now.clone();
        if !before.is_empty() {
            let was = figures(&before_period, &before);
            row["score_change"] = match (now["team_score"].as_f64(), was["team_score"].as_f64()) {
                (Some(a), Some(b)) => json!(((a - b) * 1e6).round() / 1e6),
                _ => Value::Null,
            };
            row["kpi_change"] = kpi_change(&now["kpis"], &was["kpis"]);
            row["previous"] = was;
        }
        out.insert(kind, row);
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, quota: f64, last: (&str, f64, u32), prev: Option<(&str, f64, u32)>) -> Rec {
        let period = |start: &str| json!({"kind": "month", "start": start, "end": "x"});
        let mut lp = json!({"period": period(last.0), "score": last.1,
                            "kpis": {"calls": {"month": last.2}, "revenue": {"month": 0.0}}});
        if let Some((start, score, calls)) = prev {
            lp["previous"] = json!({"period": period(start), "score": score,
                                    "kpis": {"calls": {"month": calls}, "revenue": {"month": 0.0}}});
        }
        Arc::new(json!({"rep_id": id, "last_periods": [lp],
            "components": [{"kpi": "revenue", "window": "month", "target": quota}]}))
    }

    #[test]
    fn team_periods_weigh_members_by_quota_and_sum_kpis() {
        // a: quota 1000, February 80 (10 calls) after January 60 (4 calls);
        // b: quota 3000, February 40 (6 calls), no January;
        // c: quota 2000, quiet in February, January 100 (5 calls).
        let a = member(
            "a",
            1000.0,
            ("2026-02-01", 80.0, 10),
            Some(("2026-01-01", 60.0, 4)),
        );
        let b = member("b", 3000.0, ("2026-02-01", 40.0, 6), None);
        let c = member("c", 2000.0, ("2026-01-01", 100.0, 5), None);
        let t = team_periods(&[&a, &b, &c]);
        let m = &t["month"];
        assert_eq!(m["period"]["start"], "2026-02-01");
        assert_eq!(m["reps"], 2);
        // (1000 × 80 + 3000 × 40) / 4000 = 50
        assert_eq!(m["team_score"], 50.0);
        assert_eq!(m["kpis"]["calls"]["month"], 16.0);
        let p = &m["previous"];
        assert_eq!(p["period"]["start"], "2026-01-01");
        assert_eq!(p["reps"], 2, "a's January and c's");
        // (1000 × 60 + 2000 × 100) / 3000 = 86.666667
        assert_eq!(p["team_score"], 86.666667);
        assert_eq!(p["kpis"]["calls"]["month"], 9.0);
        assert_eq!(m["score_change"], -36.666667);
        assert_eq!(m["kpi_change"]["calls"]["month"], 7.0);
    }
}
