//! Rollups over groups of reps at stream time: team records (`replay
//! --teams`) and the (team, role, region) sums behind the business gauges.
//! Both add up each rep's integer sums, then derive KPIs once per group.

use std::collections::BTreeMap;

use salespulse_kpi::{Component, SalesAcc, WindowRef};
use salespulse_model::record::TeamRecord;
use salespulse_window::Accumulator;

use salespulse_model::record::{round6, WindowNames};
use salespulse_window::Period;

use crate::rep::Core;
use crate::reps::Reps;
use crate::score::{compute_score, kpi_table, window_sums};
use crate::EngineConfig;

/// Sums over a group of reps.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSums {
    /// Reps in the group.
    pub reps: usize,
    /// Sums per window and current period, in `Engine::window_names` order.
    pub sums: Vec<SalesAcc>,
    /// Sum of the reps' scores.
    pub score_sum: f64,
    /// Reps with a score.
    pub scored: usize,
    /// Reps with a score by [`SCORE_BUCKETS`]: entry i counts scores at or
    /// below bound i and above bound i - 1; the last entry counts the rest.
    pub score_hist: Vec<u64>,
}

/// Upper bounds of the score histogram buckets (scores are 0-100 at full
/// attainment, higher with caps above 1).
pub const SCORE_BUCKETS: [f64; 13] = [
    10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0, 110.0, 125.0, 150.0,
];

/// Team rollups at stream time `t`: every KPI summed over the team's reps
/// (reps without a team are under `unassigned`), sorted by team.
pub(crate) fn team_rollups(
    cfg: &EngineConfig,
    names: &WindowNames,
    reps: &mut Reps,
    t: i64,
    current: &[Period; 4],
) -> Vec<TeamRecord> {
    let groups = sums_by(cfg, reps, t, current, |c| {
        c.team().unwrap_or("unassigned").to_string()
    });
    let as_of = salespulse_model::Timestamp(t).to_rfc3339();
    groups
        .into_iter()
        .map(|(team_id, g)| TeamRecord {
            schema: salespulse_model::output::TEAM_ROLLUP,
            kind: "team_rollup",
            team_id,
            as_of: as_of.clone(),
            reps: g.reps,
            mean_score: (g.scored > 0).then(|| round6(g.score_sum / g.scored as f64)),
            kpis: kpi_table(cfg, names, &g.sums),
        })
        .collect()
}

/// Sums over reps grouped by (team, role, region), for the business
/// gauges. Missing values are `unassigned`.
pub(crate) fn group_sums(
    cfg: &EngineConfig,
    reps: &mut Reps,
    t: i64,
    current: &[Period; 4],
) -> Vec<((String, String, String), GroupSums)> {
    let label = |v: Option<&str>| v.unwrap_or("unassigned").to_string();
    sums_by(cfg, reps, t, current, |c| {
        (label(c.team()), label(c.role()), label(c.region()))
    })
    .into_iter()
    .collect()
}

/// Every rep's sums at stream time `t`, added up per `key`.
fn sums_by<K: Ord>(
    cfg: &EngineConfig,
    reps: &mut Reps,
    t: i64,
    current: &[Period; 4],
    key: impl Fn(&Core) -> K,
) -> BTreeMap<K, GroupSums> {
    let period_of = move |c: &Component| match c.window {
        WindowRef::Period(k) => Some(current[k as usize]),
        WindowRef::Rolling(_) => None,
    };
    let mut groups: BTreeMap<K, GroupSums> = BTreeMap::new();
    for rs in reps.values_mut() {
        let core = &mut rs.core;
        let sums = window_sums(cfg, core, t, current);
        let (_, score, _) = compute_score(cfg, t, core, &sums, &period_of, None);
        let g = groups.entry(key(core)).or_insert_with(|| GroupSums {
            reps: 0,
            sums: vec![SalesAcc::default(); sums.len()],
            score_sum: 0.0,
            scored: 0,
            score_hist: vec![0; SCORE_BUCKETS.len() + 1],
        });
        g.reps += 1;
        for (total, s) in g.sums.iter_mut().zip(&sums) {
            total.merge(s);
        }
        if let Some(s) = score {
            g.score_sum += s;
            g.scored += 1;
            g.score_hist[SCORE_BUCKETS.partition_point(|&b| b < s)] += 1;
        }
    }
    groups
}
