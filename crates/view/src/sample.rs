//! Score records for the tests: the fields the view reads, the rest empty.

use std::sync::Arc;

use salespulse_model::record::{
    ComponentScore, KpiTable, Num, ProfileRef, RecordKind, ScoreRecord, WindowNames,
};
use salespulse_model::KpiName;

/// A score record of `rep` in `team` with `role` as profile and role.
pub fn record(rep: &str, team: &str, role: &str, score: f64) -> ScoreRecord {
    ScoreRecord {
        schema: salespulse_model::output::SCORE.into(),
        kind: RecordKind::Score,
        rep_id: rep.into(),
        team_id: Some(team.into()),
        role: Some(role.into()),
        region: None,
        manager_id: None,
        as_of: "2026-03-02T08:00:00Z".into(),
        seq: 1,
        profile: ProfileRef {
            name: role.into(),
            version: 1,
        },
        score: Some(score),
        components: vec![component("revenue", "month", 1000.0, 0.5)],
        period: None,
        previous: None,
        kpis: KpiTable::default(),
        commission: None,
        forecast: Vec::new(),
        last_periods: Vec::new(),
        day_close: None,
    }
}

/// A component with `target` and `attainment`.
pub fn component(kpi: &'static str, window: &str, target: f64, attainment: f64) -> ComponentScore {
    ComponentScore {
        kpi: kpi.into(),
        window: window.into(),
        value: None,
        target: salespulse_model::record::Num::Real(target),
        attainment,
        weight: 1.0,
        points: 0.0,
        pace: None,
        p_reach: None,
    }
}

/// A KPI table of one or more windows with the given values (others null).
pub fn kpis(windows: &[&str], values: &[(KpiName, &str, Num)]) -> KpiTable {
    let names: WindowNames = windows.iter().map(|w| Arc::from(*w)).collect();
    KpiTable::build(&names, |k, w| {
        values
            .iter()
            .find(|(kk, ww, _)| *kk == k && *ww == windows[w])
            .map(|v| v.2)
    })
}
