//! Team period over period: the members' last closed period of each
//! `scoring.compare_periods` kind (`last_periods` in their score records)
//! against the period before it, summed as the team's current figures are
//! (quota-weighted team score, summed KPIs with ratios re-derived). A member
//! counts in a period when it had a summary for it.

use std::collections::BTreeMap;

use salespulse_model::record::{round6, LastPeriod, Num, PeriodRef, ScoreRecord};
use serde_json::{json, Map, Value};

use crate::peers::{team_kpis, team_scores, Figures, TeamKpis};

/// The team's figures over `members` in one period, and its score.
fn figures(period: &PeriodRef, members: &[Figures<'_>]) -> (Value, Option<f64>, TeamKpis) {
    let (team_score, mean) = team_scores(members);
    let kpis = team_kpis(members);
    let v = json!({"period": period, "reps": members.len(), "team_score": team_score,
                   "mean_score": mean, "kpis": kpis});
    (v, team_score, kpis)
}

/// `now - before` for every value in two team KPI tables (null when either is).
fn kpi_change(now: &TeamKpis, before: &TeamKpis) -> TeamKpis {
    now.iter()
        .map(|(kpi, windows)| {
            let row = windows.iter().map(|(w, v)| {
                let was = before.get(kpi).and_then(|b| b.get(w)).copied().flatten();
                (w.clone(), v.zip(was).map(|(a, b)| change(a, b)))
            });
            (kpi.clone(), row.collect())
        })
        .collect()
}

/// `a - b`: exact for two amounts of one minor unit, else a number.
fn change(a: Num, b: Num) -> Num {
    match (a, b) {
        (Num::Amount(x), Num::Amount(y)) => x
            .minus(y)
            .map_or(Num::Real(round6(a.as_f64() - b.as_f64())), Num::Amount),
        _ => Num::Real(round6(a.as_f64() - b.as_f64())),
    }
}

/// For each compared kind: the team's last closed period, the one before,
/// and the change.
pub fn team_periods(members: &[&ScoreRecord]) -> Value {
    let mut by_kind: BTreeMap<&str, Vec<(&ScoreRecord, &LastPeriod)>> = BTreeMap::new();
    for m in members {
        for lp in &m.last_periods {
            by_kind.entry(&lp.period.kind).or_default().push((m, lp));
        }
    }
    let mut out = Map::new();
    for (kind, entries) in by_kind {
        let Some(latest) = entries.iter().map(|(_, lp)| &lp.period.start).max() else {
            continue;
        };
        let mut last = Vec::new();
        let mut before = Vec::new();
        let (mut last_period, mut before_period) = (None, None);
        for (m, lp) in &entries {
            if lp.period.start == *latest {
                last_period = Some(&lp.period);
                last.push(Figures::of(m, lp.score, &lp.kpis));
                if let Some(prev) = &lp.previous {
                    before_period = Some(&prev.period);
                    before.push(Figures::of(m, prev.score, &prev.kpis));
                }
            }
        }
        // Members whose last closed period is the one before (quiet in the latest).
        for (m, lp) in &entries {
            if before_period == Some(&lp.period) {
                before.push(Figures::of(m, lp.score, &lp.kpis));
            }
        }
        let Some(last_period) = last_period else {
            continue;
        };
        let (mut row, now_score, now_kpis) = figures(last_period, &last);
        if let (Some(before_period), false) = (before_period, before.is_empty()) {
            let (was, was_score, was_kpis) = figures(before_period, &before);
            row["score_change"] = json!(now_score.zip(was_score).map(|(a, b)| round6(a - b)));
            row["kpi_change"] = json!(kpi_change(&now_kpis, &was_kpis));
            row["previous"] = was;
        }
        out.insert(kind.to_string(), row);
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use salespulse_model::record::{KpiTable, Num, PreviousPeriod};
    use salespulse_model::KpiName;

    use super::*;
    use crate::sample;

    fn period(start: &str) -> PeriodRef {
        PeriodRef {
            kind: "month".into(),
            start: start.into(),
            end: "x".into(),
        }
    }

    fn month_kpis(calls: i64) -> KpiTable {
        sample::kpis(
            &["month"],
            &[
                (KpiName::Calls, "month", Num::Int(calls)),
                (KpiName::Revenue, "month", Num::Real(0.0)),
            ],
        )
    }

    fn member(
        id: &str,
        quota: f64,
        last: (&str, f64, i64),
        prev: Option<(&str, f64, i64)>,
    ) -> ScoreRecord {
        let mut r = sample::record(id, "t1", "direct", 0.0);
        r.components = vec![sample::component("revenue", "month", quota, 0.0)];
        r.last_periods = vec![LastPeriod {
            period: period(last.0),
            score: Some(last.1),
            kpis: month_kpis(last.2),
            previous: prev.map(|(start, score, calls)| PreviousPeriod {
                period: period(start),
                score: Some(score),
                score_change: None,
                kpis: month_kpis(calls),
                kpi_change: KpiTable::default(),
            }),
        }];
        r
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
