//! Pace and forecast of each period component in score records
//! (docs/forecast.md): attainment against the share of working time
//! elapsed, the period-end value at the run rate so far and with the
//! rep's recent rate spread over the rest of the period by its own
//! weekday-and-hour profile, and the probability of reaching the target
//! (`salespulse_kpi::forecast`).
//!
//! What depends only on the clock is computed once per stream-time hour
//! (`crate::clock`).

use salespulse_kpi::forecast::{p_reach_count, p_reach_money};
use salespulse_kpi::{kpi_value, Component, Direction, SalesAcc, TargetContext, WindowRef};
use salespulse_model::record::Forecast as ForecastRecord;
use salespulse_model::KpiName;
use salespulse_window::{Period, PeriodKind};
use serde::{Deserialize, Serialize};

use salespulse_model::record::{round6, ScoreRecord};
use salespulse_model::Body;

use super::hooks::{EventCx, Feature, RecordCx};
use crate::clock::{slot_of, CalClock, Clock, SLOTS};
use crate::EngineConfig;

/// The profile halves its counts when they pass this total, so recent
/// weeks weigh more.
const PROFILE_TOTAL: u32 = 4096;
/// Events a profile needs before it weights the rest of the period.
const PROFILE_MIN: u32 = 50;
/// Log-sd of deal amounts when the rep has too few deals to tell.
const DEFAULT_LOG_SD: f64 = 0.8;

/// A rep's applied events per (weekday, local hour) of the engine's
/// calendar: the forecast's seasonality.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Forecast {
    slots: Vec<u16>,
    total: u32,
}

impl Forecast {
    /// Counts an event in `slot`.
    fn add(&mut self, slot: usize) {
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
}

impl Feature for Forecast {
    fn on_event(&mut self, cx: &mut EventCx<'_, '_>) {
        if !matches!(cx.ev.body, Body::RepUpdated(_)) {
            self.add(event_slot(cx.cfg, cx.current, cx.ev.occurred_at.0));
        }
    }

    fn score_section(&mut self, cx: &RecordCx<'_>, rec: &mut ScoreRecord) {
        forecasts(cx, self, rec);
    }

    fn heap_bytes(&self) -> usize {
        self.slots.capacity() * 2
    }
}

/// The slot of event time `e`, using the current periods when they hold it.
fn event_slot(cfg: &EngineConfig, current: &[Period; 4], e: i64) -> usize {
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

/// The pace and probability of reaching its target of each of the rep's
/// higher-is-better period components, into the record's components; and
/// for a KPI record (`cx.detail`) the whole forecast block. Only what a
/// score record carries is built for it.
fn forecasts(cx: &RecordCx<'_>, week: &Forecast, rec: &mut ScoreRecord) {
    let (cfg, t, core, sums, clock) = (cx.cfg, cx.t, cx.core, cx.sums, cx.clock);
    let profile = cfg.profiles.for_role(t, core.role());
    let Some(cal) = clock.cals.get(cfg.detect.calendar_of(core.region())) else {
        return;
    };
    let deal_logs = cx.deal_logs;
    let targets = core.targets(cfg);
    let start_ms = targets.start_ms;
    let rolling = cfg.specs.specs().len();
    let reference = &sums[rolling - 1];
    // A rep who started inside the reference window was seen for part of it.
    let width = cfg.specs.widest().width_ms;
    let seen = match start_ms {
        Some(s) if s > clock.t - width => ((clock.t - s) as f64 / width as f64).clamp(0.05, 1.0),
        _ => 1.0,
    };
    let rep = Rep {
        week,
        deal_logs,
        targets: &targets,
        seen,
        currencies: &cfg.decode.currencies,
    };
    for c in &profile.components {
        let Some(e) = estimate(c, &rep, sums, reference, cal, clock, rolling) else {
            continue;
        };
        let (pace, p_reach) = e.pace_and_p_reach();
        if let Some(comp) = rec
            .components
            .iter_mut()
            .find(|x| x.kpi == c.kpi.as_str() && x.window == c.window_name)
        {
            comp.pace = pace;
            comp.p_reach = p_reach;
        }
        if cx.detail {
            rec.forecast.push(e.record(c, rep.currencies));
        }
    }
}

/// One component's forecast numbers.
struct Estimate {
    value: f64,
    target: f64,
    /// Share of the period's working time gone.
    share: f64,
    /// What the rest of the period would add at the reference window's rate.
    rest: f64,
    e_win: f64,
    p_reach: f64,
}

impl Estimate {
    fn pace_and_p_reach(&self) -> (Option<f64>, Option<f64>) {
        let pace = (self.share > 0.0).then(|| round6(self.value / self.target / self.share));
        (pace, Some(round6(self.p_reach)))
    }

    /// The forecast block's entry (the KPI record's).
    fn record(
        &self,
        c: &Component,
        currencies: &salespulse_model::CurrencyTable,
    ) -> ForecastRecord {
        let out = |x: f64| crate::score::kpi_num(currencies, c.kpi, x);
        let (pace, p_reach) = self.pace_and_p_reach();
        let positive = self.share > 0.0;
        ForecastRecord {
            kpi: c.kpi.as_str().into(),
            window: c.window_name.to_string(),
            value: out(self.value),
            target: out(self.target),
            elapsed: round6(self.share),
            pace,
            projected_run_rate: positive.then(|| out(self.value / self.share)),
            projected_seasonal: (self.e_win > 0.0).then(|| out(self.value + self.rest)),
            p_reach,
        }
    }
}

/// What a forecast reads of the rep.
struct Rep<'a> {
    week: &'a Forecast,
    /// Mean and sd of the logs of its recent won deal amounts.
    deal_logs: Option<(f64, Option<f64>)>,
    targets: &'a TargetContext<'a>,
    /// Share of the reference window the rep was seen for.
    seen: f64,
    /// Where amounts are rounded to the reporting minor unit.
    currencies: &'a salespulse_model::CurrencyTable,
}

fn estimate(
    c: &Component,
    rep: &Rep<'_>,
    sums: &[SalesAcc],
    reference: &SalesAcc,
    cal: &CalClock,
    clock: &Clock,
    rolling: usize,
) -> Option<Estimate> {
    let (targets, seen) = (rep.targets, rep.seen);
    let WindowRef::Period(kind) = c.window else {
        return None;
    };
    if c.direction != Direction::Higher {
        return None;
    }
    let k = kind as usize;
    let (count, mean) = events(c.kpi, reference)?;
    let kv = kpi_value(c.kpi, &sums[rolling + k]);
    let value = kv.as_f64().unwrap_or(0.0);
    let period = clock.current[k];
    let target = targets.target(c, Some(&period))?;
    let share = cal.share[k];
    let reference_value = kpi_value(c.kpi, reference).as_f64().unwrap_or(0.0);
    // Exposures: profile-weighted hours when the rep has a profile, else working hours.
    let (e_win, e_left) = match (
        rep.week.weigh(&clock.in_window),
        rep.week.weigh(&clock.left[k]),
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
        let history = rep.deal_logs;
        let sd = history.and_then(|h| h.1).unwrap_or(DEFAULT_LOG_SD).max(0.2);
        // The window's mean deal; without a deal in it, the rep's recent deals'.
        match mean.or_else(|| history.map(|h| (h.0 + sd * sd / 2.0).exp())) {
            Some(m) => p_reach_money(count, e_win, e_left, need, m, sd),
            None => f64::from(u8::from(need <= 0.0)),
        }
    } else {
        p_reach_count(count, e_win, e_left, need)
    };
    Some(Estimate {
        value,
        target,
        share,
        rest,
        e_win,
        p_reach,
    })
}
