//! Time-driven work: ticks of stream time and working-day closes.
//!
//! Ticks fall on multiples of `detect.tick` of the partition's stream time;
//! when stream time jumps over several, the latest is evaluated. At each
//! tick every rep's features run their time-driven hooks (inactivity,
//! sudden drop, pace, the week's best). At the first tick after a day of
//! the engine's calendar closes, when that day had working time in the
//! default `[detect.calendar]`, the day close is judged first: every scored
//! rep is ranked within its role (scoring profile) by its score at the
//! close (rolling windows at the tick, calendar periods of the closed day),
//! and coached against its role. Peers are the reps this engine holds: the
//! whole company in `replay`, a partition's reps in the live service (see
//! docs/alerts.md).

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use salespulse_detect::peer::Standing;
use salespulse_detect::{DetectConfig, Tick};
use salespulse_kpi::{kpi_value, Component, WindowRef};
use salespulse_model::rank::{median, percentile};
use salespulse_model::record::ComponentScore;
use salespulse_model::{AlertRecord, KpiName};
use salespulse_window::{Period, PeriodKind};

use crate::feature::coaching::judge as coaching;
use crate::feature::hooks::TickCx;
use crate::moment::{DayClose, TickAt};
use crate::reps::{Marks, Reps};
use crate::score::{compute_score, window_sums};
use crate::EngineConfig;

/// When the time-driven work runs.
#[derive(Debug, Default)]
pub(crate) struct Ticker {
    /// Stream time of the last tick evaluated.
    last: Option<i64>,
}

impl Ticker {
    /// The previous tick and the one stream time moving from `old` to `t`
    /// reached, if it reached a new one (and something elapsed before it).
    pub(crate) fn passed(&mut self, dc: &DetectConfig, old: i64, t: i64) -> Option<(i64, i64)> {
        if !dc.enabled {
            return None;
        }
        let tick_at = t - t.rem_euclid(dc.tick_ms);
        let prev = match self.last {
            Some(p) => p,
            // The first tick after a start or a restore continues from the
            // tick before the restored stream time, as if never stopped.
            None if old != i64::MIN => old - old.rem_euclid(dc.tick_ms),
            None => i64::MIN,
        };
        if tick_at <= prev {
            self.last = Some(prev);
            return None;
        }
        self.last = Some(tick_at);
        // The very first event: nothing has elapsed yet.
        (prev != i64::MIN).then_some((prev, tick_at))
    }
}

/// What a tick left to the engine, reps sorted.
pub(crate) struct Ticked {
    /// Reps whose score record is due at once (their score at a day close).
    pub due: Vec<Box<str>>,
    /// Reps whose inactivity alert was held back (`hold`).
    pub held: Vec<Box<str>>,
}

/// Runs the tick at `t` (the previous one was at `prev`) over every rep;
/// with `hold`, inactivity alerts that are due are held back instead.
/// Alerts raised go to `alerts`, sorted by rep.
pub(crate) fn run(
    cfg: &EngineConfig,
    reps: &mut Reps,
    marks: &mut Marks,
    (prev, t): (i64, i64),
    hold: bool,
    alerts: &mut Vec<AlertRecord>,
) -> Ticked {
    // A working day of the default calendar closed: rank every rep in its role.
    let day = cfg.calendar.period(PeriodKind::Day, prev);
    let close = (day.end <= t && cfg.detect.calendars[0].working_ms(day.start, day.end) > 0)
        .then(|| day_close(cfg, reps, day, t));
    let dc = &cfg.detect;
    let ticks: Vec<Tick> = dc.calendars.iter().map(|c| Tick::new(c, t, prev)).collect();
    let current = PeriodKind::ALL.map(|k| cfg.calendar.period(k, t));
    let week_closed = (cfg.calendar.period(PeriodKind::Week, prev).start
        != current[PeriodKind::Week as usize].start)
        .then(|| cfg.calendar.period(PeriodKind::Week, prev));
    // Shares of working time elapsed, for pace: only on working hour ticks.
    let shares: Vec<Option<[f64; 4]>> = dc
        .calendars
        .iter()
        .zip(&ticks)
        .map(|(c, k)| {
            (k.hour.is_some() && k.working)
                .then(|| current.map(|p| c.elapsed_share(p.start, p.end, t)))
        })
        .collect();
    let at = TickAt {
        t,
        ticks: &ticks,
        shares: &shares,
        current: &current,
        week_closed,
        scope_floor: current[PeriodKind::Month as usize]
            .start
            .min(current[PeriodKind::Week as usize].start),
        working: ticks.iter().any(|k| k.working),
        hold_inactivity: hold,
    };
    // A quarter-hour tick that starts no hour and closes no day or week
    // only checks inactivity deadlines and alert holds: reps with none due
    // are skipped without touching the rest of their state.
    let minor = close.is_none() && week_closed.is_none() && ticks.iter().all(|k| k.hour.is_none());
    // Reps in map order (cheap); the tick's alerts are sorted by rep
    // afterwards, so the output order does not depend on the map.
    let mut raised = Vec::new();
    let (mut due, mut held) = (Vec::new(), Vec::new());
    for (id, rs) in reps.iter_mut() {
        if minor && !rs.features.due_at_minor_tick(&at) {
            continue;
        }
        let (mut record_due, mut held_back) = (false, false);
        let mut cx = TickCx {
            cfg,
            rep_id: id,
            core: &mut rs.core,
            at: &at,
            close: close.as_ref(),
            alerts: &mut raised,
            record_due: &mut record_due,
            held: &mut held_back,
        };
        let changed = rs.features.on_tick(&mut cx);
        if close.is_some() {
            // Once a working day: the day's bursts have passed.
            rs.shrink();
        }
        if record_due {
            due.push(id.clone());
        }
        if held_back {
            held.push(id.clone());
        }
        if changed {
            marks.unsaved(id, &mut rs.core);
        }
    }
    raised.sort_by(|a, b| a.rep_id.cmp(&b.rep_id));
    alerts.append(&mut raised);
    due.sort_unstable();
    held.sort_unstable();
    Ticked { due, held }
}

/// The standings, coaching and close scores at the close of `day`, scored
/// at tick `t`, under the profiles of the closed day's last instant.
fn day_close(cfg: &EngineConfig, reps: &mut Reps, day: Period, t: i64) -> DayClose {
    let at = day.end - 1;
    let at_close = PeriodKind::ALL.map(|k| cfg.calendar.period(k, day.start));
    let period_of = move |c: &Component| match c.window {
        WindowRef::Period(k) => Some(at_close[k as usize]),
        WindowRef::Rolling(_) => None,
    };
    let mut by_role: BTreeMap<String, Vec<(f64, Box<str>)>> = BTreeMap::new();
    let mut rows = Vec::new();
    let mut scores = FxHashMap::default();
    for (id, rs) in reps.iter_mut() {
        let core = &mut rs.core;
        let sums = window_sums(cfg, core, t, &at_close);
        let (profile, score, parts) = compute_score(cfg, at, core, &sums, &period_of, None);
        let Some(s) = score.filter(|s| s.is_finite()) else {
            continue;
        };
        if let Some(c) = without_assists(&parts, s) {
            scores.insert(id.clone(), c);
        }
        if cfg.coaching.enabled {
            rows.push(coaching::Row {
                id: id.clone(),
                role: profile.name.clone(),
                kpis: cfg
                    .profiles
                    .for_role(at, core.role())
                    .components
                    .iter()
                    .map(|c| c.kpi)
                    .collect(),
                attainments: coaching::attainments(cfg, at, core.role(), &parts),
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
    let mut standings = FxHashMap::default();
    for mut reps in by_role.into_values() {
        reps.sort_by(|a, b| a.0.total_cmp(&b.0));
        let sorted: Vec<f64> = reps.iter().map(|r| r.0).collect();
        for (score, id) in reps {
            standings.insert(id, standing(&sorted, score, day.start));
        }
    }
    DayClose {
        day_end: day.end,
        standings,
        coached: coaching::judge(&cfg.coaching, &rows, day.end),
        scores,
    }
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
