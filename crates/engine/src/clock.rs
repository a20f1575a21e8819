//! The working-time clock of the forecasts: what depends only on stream
//! time's hour (hours of each weekday-hour slot in the reference window and
//! in the rest of each current period, working hours per calendar), computed
//! once per stream-time hour, not per rep.

use salespulse_window::{Period, PeriodKind};

use crate::EngineConfig;

/// Weekday-hour slots.
pub(crate) const SLOTS: usize = 168;

/// The weekday-hour slot of `t`: `day` and `week` are the calendar periods holding it.
pub(crate) fn slot_of(t: i64, day: &Period, week: &Period) -> usize {
    let weekday = ((day.start - week.start + 43_200_000) / 86_400_000).clamp(0, 6) as usize;
    let hour = ((t - day.start) / 3_600_000).clamp(0, 23) as usize;
    weekday * 24 + hour
}

/// Working time of one detector calendar at the clock's hour.
#[derive(Debug, Clone, Default)]
pub(crate) struct CalClock {
    /// Working hours in the reference window.
    pub window: f64,
    /// Working hours left in each current period.
    pub left: [f64; 4],
    /// Share of each current period's working time elapsed.
    pub share: [f64; 4],
}

/// What the forecasts need from the clock, computed at the start of each
/// stream-time hour.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    hour: Option<i64>,
    /// Stream time the clock was last moved to.
    pub t: i64,
    /// The current calendar periods.
    pub(crate) current: [Period; 4],
    /// Hours of each slot in the reference window.
    pub in_window: Vec<f32>,
    /// Hours of each slot left in each current period.
    pub left: [Vec<f32>; 4],
    /// Per detector calendar.
    pub cals: Vec<CalClock>,
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
