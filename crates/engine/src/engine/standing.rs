//! Day-close standings for `peer_laggard` and the top-of-role achievement.
//! At the first tick after a day of the engine's calendar closes, when that
//! day had working time in the default `[detect.calendar]`, every scored rep
//! is ranked within its role (scoring profile) by its score at the close:
//! rolling windows at the tick, calendar periods of the closed day. Peers
//! are the reps this engine holds: the whole company in `replay`, a
//! partition's reps in the live service (see docs/alerts.md).

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use salespulse_detect::peer::Standing;
use salespulse_kpi::{kpi_value, Component, WindowRef};
use salespulse_model::record::ComponentScore;
use salespulse_model::KpiName;
use salespulse_window::{Period, PeriodKind};

use super::coach::{self, Coached};
use super::Engine;
use crate::output::{compute_score, window_sums};

/// Each scored rep's standing at a day close.
pub(crate) type Standings = FxHashMap<Box<str>, Standing>;

/// What a working-day close judges: standings and coaching.
pub(crate) struct DayClose {
    pub standings: Standings,
    pub coached: BTreeMap<Box<str>, Coached>,
    /// Each scored rep's score at the close without assist components
    /// (`day_close` in score records).
    pub scores: FxHashMap<Box<str>, f64>,
}

/// The score of `parts` (of a score `s`) without its `assists` components:
/// assist credits come from other partitions and may arrive after the
/// close, and what the score topic says of a close must not depend on when
/// they did.
fn without_assists(parts: &[ComponentScore], s: f64) -> Option<f64> {
    let assists = |p: &&ComponentScore| p.kpi == KpiName::Assists.as_str();
    if !parts.iter().any(|p| assists(&p)) {
        return Some(s);
    }
    let total: f64 = parts.iter().map(|p| p.weight).sum();
    let kept: f64 = parts.iter().filter(|p| !assists(p)).map(|p| p.weight).sum();
    let points: f64 = parts.iter().filter(|p| !assists(p)).map(|p| p.points).sum();
    (kept > 0.0).then(|| points * total / kept)
}

impl Engine {
    /// The standings and coaching at the close of `day`, scored at tick `t`.
    pub(crate) fn day_close(&mut self, day: Period, t: i64) -> DayClose {
        let cfg = &self.cfg;
        // Judged under the profiles of the closed day's last instant.
        let at = day.end - 1;
        let at_close = PeriodKind::ALL.map(|k| cfg.calendar.period(k, day.start));
        let period_of = move |c: &Component| match c.window {
            WindowRef::Period(k) => Some(at_close[k as usize]),
            WindowRef::Rolling(_) => None,
        };
        let mut by_role: BTreeMap<String, Vec<(f64, Box<str>)>> = BTreeMap::new();
        let coaching = cfg.coaching.enabled;
        let mut rows = Vec::new();
        let mut scores = FxHashMap::default();
        for (id, rs) in self.reps.iter_mut() {
            let sums = window_sums(cfg, rs, t, &at_close);
            let (profile, score, parts) = compute_score(cfg, at, rs, &sums, &period_of, None);
            let Some(s) = score.filter(|s| s.is_finite()) else {
                continue;
            };
            if let Some(c) = without_assists(&parts, s) {
                scores.insert(id.clone(), c);
            }
            if coaching {
                rows.push(coach::Row {
                    id: id.clone(),
                    role: profile.name.clone(),
                    kpis: cfg
                        .profiles
                        .for_role(at, rs.role())
                        .components
                        .iter()
                        .map(|c| c.kpi)
                        .collect(),
                    attainments: coach::attainments(cfg, at, rs.role(), &parts),
                    ratios: cfg
                        .coaching
                        .ratios
                        .iter()
                        .map(|r| kpi_value(r.kpi, &sums[r.window]).as_f64())
                        .collect(),
                });
            }
            by_role
                .entry(profile.name)
                .or_default()
                .push((s, id.clone()));
        }
        let mut out = Standings::default();
        for mut reps in by_role.into_values() {
            reps.sort_by(|a, b| a.0.total_cmp(&b.0));
            let scores: Vec<f64> = reps.iter().map(|r| r.0).collect();
            for (score, id) in reps {
                out.insert(id, standing(&scores, score, day.start));
            }
        }
        DayClose {
            standings: out,
            coached: coach::judge(&cfg.coaching, &rows, day.end),
            scores,
        }
    }
}

/// Share of the others below `x` in `sorted` (ascending, `x` included),
/// ties counted half, in percent; 100 when alone.
pub(crate) fn percentile(sorted: &[f64], x: f64) -> f64 {
    let n = sorted.len();
    if n < 2 {
        return 100.0;
    }
    let lower = sorted.partition_point(|&s| s < x);
    let equal_others = sorted.partition_point(|&s| s <= x) - lower - 1;
    100.0 * (lower as f64 + 0.5 * equal_others as f64) / (n - 1) as f64
}

/// The median of `sorted` (ascending), None when empty.
pub(crate) fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// The standing of `score` among `sorted` (ascending, `score` included).
pub(crate) fn standing(sorted: &[f64], score: f64, day: i64) -> Standing {
    let n = sorted.len();
    let lower = sorted.partition_point(|&s| s < score);
    let upper = sorted.partition_point(|&s| s <= score);
    Standing {
        day,
        score,
        percentile: percentile(sorted, score),
        rank: (n - upper + 1) as u32,
        peers: n as u32,
        median: median(sorted).unwrap_or(score),
        next_below: if lower > 0 { sorted[lower - 1] } else { score },
    }
}

#[cfg(test)]
mod tests {
    use super::standing;

    #[test]
    fn percentile_rank_and_median() {
        let s = [10.0, 20.0, 20.0, 40.0, 90.0];
        let low = standing(&s, 10.0, 0);
        assert_eq!((low.percentile, low.rank, low.peers), (0.0, 5, 5));
        let tie = standing(&s, 20.0, 0);
        // One lower, one equal other: (1 + 0.5) / 4.
        assert_eq!((tie.percentile, tie.rank), (37.5, 3));
        let top = standing(&s, 90.0, 0);
        assert_eq!((top.percentile, top.rank, top.next_below), (100.0, 1, 40.0));
        assert_eq!(top.median, 20.0);
        assert_eq!(standing(&[1.0, 3.0], 1.0, 0).median, 2.0);
    }
}
