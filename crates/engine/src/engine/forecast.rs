//! Pace and forecast of each period component in score records
//! (docs/forecast.md): attainment against the share of working time
//! elapsed, the period-end value at the run rate so far and with the
//! rep's recent rate spread over the rest of the period by its own
//! weekday-and-hour profile, and the probability of reaching the target
//! (`salespulse_kpi::forecast`).
//!
//! What depends only on the clock (hours of each weekday slot in the
//! reference window and in the rest of each period, working hours per
//! calendar) is computed once per stream-time hour in [`Clock`].

use salespulse_kpi::forecast::{p_reach_count, p_reach_money};
use salespulse_kpi::{kpi_value, Component, Direction, SalesAcc, TargetContext, WindowRef};
use salespulse_model::record::Forecast;
use salespulse_model::KpiName;
use salespulse_window::{Period, PeriodKind};
use serde::{Deserialize, Serialize};

use crate::output::round6;
use crate::state::RepState;
use crate::EngineConfig;

/// Weekday-hour slots.
const SLOTS: usize = 168;
/// The profile halves its counts when they pass this total, so recent
/// weeks weigh more.
const PROFILE_TOTAL: u32 = 4096;
/// Events a profile needs before it weights the rest of the period.
const PROFILE_MIN: u32 = 50;
/// Log-sd of deal amounts when the rep has too few deals to tell.
const DEFAULT_LOG_SD: f64 = 0.8;

/// A rep's applied events per (weekday, local hour) of the engine's calendar.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WeekProfile {
    slots: Vec<u16>,
    total: u32,
}

impl WeekProfile {
    /// Counts an event in `slot`.
    pub fn add(&mut self, slot: usize) {
        if self.slots.is_empty() {
            self.slots = vec![0; SLOTS];
        }
        if let Some(s) = self.slots.get_mut(slot) {
            *s = s.saturating_add(1);
            self.total += 1;
        }
        if self.total > PROFILE_TOTAL {
            for s in &mut self.slots {
                *s /= 2;
            }
            self.total = self.slots.iter().map(|&s| u32::from(s)).sum();
        }
    }

    /// Σ occurrences × weight, when the profile has enough events.
    fn weigh(&self, occurrences: &[f32]) -> Option<f64> {
        (self.total >= PROFILE_MIN).then(|| {
            self.slots
                .iter()
                .zip(occurrences)
                .map(|(&w, &o)| f64::from(w) * f64::from(o))
                .sum()
        })
    }

    /// Approximate heap bytes.
    pub fn heap_bytes(&self) -> usize {
        self.slots.capacity() * 2
    }
}

/// The weekday-hour slot of `t`: `day` and `week` are the calendar periods holding it.
pub(crate) fn slot_of(t: i64, day: &Period, week: &Period) -> usize {
    let weekday = ((day.start - week.start + 43_200_000) / 86_400_000).clamp(0, 6) as usize;
    let hour = ((t - day.start) / 3_600_000).clamp(0, 23) as usize;
    weekday * 24 + hour
}

/// The slot of event time `e`, using the current periods when they hold it.
pub(crate) fn event_slot(cfg: &EngineConfig, current: &[Period; 4], e: i64) -> usize {
    let get = |k: PeriodKind| {
        let p = current[k as usize];
        if p.contains(e) {
            p
        } else {
            cfg.calendar.period(k, e)
        }
    };
    slot_of(e, &get(PeriodKind::Day), &get(PeriodKind::Week))
}

/// Working time of one detector calendar at the clock's hour.
#[derive(Debug, Clone, Default)]
struct CalClock {
    /// Working hours in the reference window.
    window: f64,
    /// Working hours left in each current period.
    left: [f64; 4],
    /// Share of each current period's working time elapsed.
    share: [f64; 4],
}

/// What the forecasts need from the clock, computed at the start of each
/// stream-time hour.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    hour: Option<i64>,
    t: i64,
    /// The current calendar periods.
    pub(crate) current: [Period; 4],
    /// Hours of each slot in the reference window.
    in_window: Vec<f32>,
    /// Hours of each slot left in each current period.
    left: [Vec<f32>; 4],
    cals: Vec<CalClock>,
}

impl Clock {
    /// A clock at the engine's initial periods.
    pub(crate) fn new(current: [Period; 4]) -> Clock {
        Clock {
            hour: None,
            t: i64::MIN,
            current,
            in_window: Vec::new(),
            left: Default::default(),
            cals: Vec::new(),
        }
    }

    /// Moves the clock to stream time `t`.
    pub(crate) fn at(&mut self, cfg: &EngineConfig, t: i64, current: &[Period; 4]) {
        // Working time is taken at the start of `t`'s hour, so the values
        // are a function of the hour alone: computed at whatever moment the
        // first flush of an hour happened, forecasts would depend on flush
        // timing and a replay would not reproduce the live records.
        let hour = t.div_euclid(3_600_000);
        self.t = t;
        if self.hour == Some(hour) && self.current == *current {
            return;
        }
        let t = hour * 3_600_000;
        self.current = *current;
        let width = cfg.specs.widest().width_ms;
        self.hour = Some(hour);
        self.in_window = slot_hours(cfg, t - width, t);
        for k in PeriodKind::ALL {
            self.left[k as usize] = slot_hours(cfg, t, current[k as usize].end);
        }
        self.cals = cfg
            .detect
            .calendars
            .iter()
            .map(|c| CalClock {
                window: c.working_ms(t - width, t) as f64 / 3_600_000.0,
                left: current.map(|p| c.working_ms(t, p.end) as f64 / 3_600_000.0),
                share: current.map(|p| c.elapsed_share(p.start, p.end, t)),
            })
            .collect();
    }
}

/// Hours of each weekday-hour slot in `[a, b)`, by whole local days.
fn slot_hours(cfg: &EngineConfig, a: i64, b: i64) -> Vec<f32> {
    let mut out = vec![0.0f32; SLOTS];
    let mut day = cfg.calendar.period(PeriodKind::Day, a);
    while day.start < b {
        let week = cfg.calendar.period(PeriodKind::Week, day.start);
        let mut h = day.start.max(a - a.rem_euclid(3_600_000));
        while h < day.end.min(b) {
            let from = h.max(a);
            let to = (h + 3_600_000).min(b).min(day.end);
            if to > from {
                out[slot_of(h, &day, &week)] += (to - from) as f32 / 3_600_000.0;
            }
            h += 3_600_000;
        }
        day = cfg.calendar.period(PeriodKind::Day, day.end);
    }
    out
}

/// The events behind a KPI in a window: how many, and for money, the mean amount.
fn events(kpi: KpiName, w: &SalesAcc) -> Option<(f64, Option<f64>)> {
    let value = kpi_value(kpi, w).as_f64()?;
    let per = |n: f64| (n > 0.0).then(|| value / n);
    Some(match kpi {
        KpiName::Revenue => (f64::from(w.deals_won), per(f64::from(w.deals_won))),
        KpiName::PartnerRevenue => {
            // Partner deals are not counted apart: their share of the revenue.
            let share = if w.revenue > 0 {
                w.partner_revenue as f64 / w.revenue as f64
            } else {
                0.0
            };
            let n = f64::from(w.deals_won) * share;
            (n, per(n))
        }
        KpiName::DealsWon
        | KpiName::DealsLost
        | KpiName::Calls
        | KpiName::Meetings
        | KpiName::Emails
        | KpiName::Activities
        | KpiName::NewCustomers
        | KpiName::PartnersOnboarded
        | KpiName::Assists => (value, None),
        _ => return None,
    })
}

/// The forecasts of the rep's higher-is-better period components.
pub(crate) fn forecasts(
    cfg: &EngineConfig,
    t: i64,
    rs: &RepState,
    sums: &[SalesAcc],
    clock: &Clock,
) -> Vec<Forecast> {
    let profile = cfg.profiles.for_role(t, rs.role());
    let Some(cal) = clock.cals.get(cfg.detect.calendar_of(rs.region())) else {
        return Vec::new();
    };
    let targets = rs.targets(cfg);
    let start_ms = targets.start_ms;
    let rolling = cfg.specs.specs().len();
    let reference = &sums[rolling - 1];
    // A rep who started inside the reference window was seen for part of it.
    let width = cfg.specs.widest().width_ms;
    let seen = match start_ms {
        Some(s) if s > clock.t - width => ((clock.t - s) as f64 / width as f64).clamp(0.05, 1.0),
        _ => 1.0,
    };
    let mut out = Vec::new();
    for c in &profile.components {
        if let Some(f) = forecast(c, rs, sums, reference, cal, clock, &targets, seen, rolling) {
            out.push(f);
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn forecast(
    c: &Component,
    rs: &RepState,
    sums: &[SalesAcc],
    reference: &SalesAcc,
    cal: &CalClock,
    clock: &Clock,
    targets: &TargetContext<'_>,
    seen: f64,
    rolling: usize,
) -> Option<Forecast> {
    let WindowRef::Period(kind) = c.window else {
        return None;
    };
    if c.direction != Direction::Higher {
        return None;
    }
    let k = kind as usize;
    let (count, mean) = events(c.kpi, reference)?;
    let value = kpi_value(c.kpi, &sums[rolling + k]).as_f64().unwrap_or(0.0);
    let period = clock.current[k];
    let target = targets.target(c, Some(&period))?;
    let share = cal.share[k];
    let reference_value = kpi_value(c.kpi, reference).as_f64().unwrap_or(0.0);
    // Exposures: profile-weighted hours when the rep has a profile, else working hours.
    let (e_win, e_left) = match (
        rs.week.weigh(&clock.in_window),
        rs.week.weigh(&clock.left[k]),
    ) {
        (Some(w), Some(l)) if w > 0.0 => (w * seen, l),
        _ => (cal.window * seen, cal.left[k]),
    };
    let rest = if e_win > 0.0 {
        reference_value * e_left / e_win
    } else {
        0.0
    };
    let need = target - value;
    let p_reach = if matches!(c.kpi, KpiName::Revenue | KpiName::PartnerRevenue) {
        let history = rs.detect.deal_log_moments();
        let sd = history.and_then(|h| h.1).unwrap_or(DEFAULT_LOG_SD).max(0.2);
        // The window's mean deal; without a deal in it, the rep's recent deals'.
        match mean.or_else(|| history.map(|h| (h.0 + sd * sd / 2.0).exp())) {
            Some(m) => p_reach_money(count, e_win, e_left, need, m, sd),
            None => f64::from(u8::from(need <= 0.0)),
        }
    } else {
        p_reach_count(count, e_win, e_left, need)
    };
    let positive = share > 0.0;
    Some(Forecast {
        kpi: c.kpi.as_str(),
        window: c.window_name.clone(),
        value: round6(value),
        target: round6(target),
        elapsed: round6(share),
        pace: positive.then(|| round6(value / target / share)),
        projected_run_rate: positive.then(|| round6(value / share)),
        projected_seasonal: (e_win > 0.0).then(|| round6(value + rest)),
        p_reach: Some(round6(p_reach)),
    })
}
