//! A rep's detector state: its alert lifecycle and what the detectors
//! remember between events (last activity, hourly activity and its
//! baseline, recent deal sizes, best week). Part of the rep's state in the
//! engine, so it is in the changelog and survives restarts. Bounded: 24
//! baseline slots, at most a week of hourly counts, 32 deal sizes.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::lifecycle::Alerts;
use salespulse_window::ReleaseSpare;

/// Hourly counts older than this many hours are dropped.
pub(crate) const HOURS_KEPT: i64 = 24 * 8;
/// Deal sizes remembered for the outlier detector.
pub(crate) const DEALS_KEPT: usize = 32;

/// Per-rep detector state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepDetect {
    /// Open and recent alert episodes.
    pub alerts: Alerts,
    /// Latest activity `occurred_at`, `i64::MIN` before the first.
    pub(crate) last_activity: i64,
    /// When inactivity fires for `last_activity` (cached; `i64::MIN` = not computed).
    pub(crate) inactive_at: i64,
    /// Baseline activities per working hour, by local hour of day (EWMA).
    pub(crate) profile: Vec<f32>,
    /// Working days folded into each hour's baseline.
    pub(crate) profile_n: Vec<u16>,
    /// Hours before this (epoch hour number) are folded.
    pub(crate) folded_through: i64,
    /// Activity counts of recent hours: (epoch hour number, count), ascending.
    pub(crate) hours: VecDeque<(i64, u32)>,
    /// Natural logs of recent won deal amounts (reporting currency).
    pub(crate) deals: VecDeque<f32>,
    /// The firing record of every open episode (for gauges and the API; restored with the rep).
    pub open: Vec<salespulse_model::AlertRecord>,
    /// Best weekly revenue so far, and weeks seen.
    pub(crate) best_week: f64,
    pub(crate) weeks: u32,
    /// Deals created and won per pace period (the `behind_pace` gate).
    pub flow: crate::flow::Flow,
    /// Standing within the role at working-day closes (`peer_laggard`, top of role).
    pub peer: crate::peer::PeerMemory,
}

impl Default for RepDetect {
    fn default() -> Self {
        RepDetect {
            alerts: Alerts::default(),
            last_activity: i64::MIN,
            inactive_at: i64::MIN,
            profile: Vec::new(),
            profile_n: Vec::new(),
            folded_through: i64::MIN,
            hours: VecDeque::new(),
            deals: VecDeque::new(),
            best_week: 0.0,
            weeks: 0,
            open: Vec::new(),
            flow: Default::default(),
            peer: Default::default(),
        }
    }
}

impl RepDetect {
    /// Records an activity (`activity.*`) at `at`.
    pub fn activity(&mut self, at: i64) {
        if at > self.last_activity {
            self.last_activity = at;
            self.inactive_at = i64::MIN;
        }
        let hour = at.div_euclid(3_600_000);
        match self.hours.binary_search_by_key(&hour, |h| h.0) {
            Ok(i) => self.hours[i].1 += 1,
            Err(i) => self.hours.insert(i, (hour, 1)),
        }
        while self.hours.front().is_some_and(|h| h.0 < hour - HOURS_KEPT) {
            self.hours.pop_front();
        }
    }

    /// The rep's usual activities per working hour (the mean of its learned
    /// hourly baseline), 0 before any working hour was learned.
    pub fn usual_per_hour(&self) -> f64 {
        let (sum, n) = self
            .profile
            .iter()
            .zip(&self.profile_n)
            .filter(|(_, &n)| n > 0)
            .fold((0.0, 0u32), |(s, c), (&p, _)| (s + f64::from(p), c + 1));
        if n == 0 {
            0.0
        } else {
            sum / f64::from(n)
        }
    }

    /// The mean and (from three deals on) the standard deviation of the
    /// natural logs of the rep's recent won deal amounts (not outliers).
    pub fn deal_log_moments(&self) -> Option<(f64, Option<f64>)> {
        let n = self.deals.len();
        if n == 0 {
            return None;
        }
        let mean = self.deals.iter().map(|&x| f64::from(x)).sum::<f64>() / n as f64;
        let var = self
            .deals
            .iter()
            .map(|&x| (f64::from(x) - mean).powi(2))
            .sum::<f64>()
            / (n.max(2) - 1) as f64;
        Some((mean, (n >= 3).then(|| var.sqrt())))
    }

    /// Activity events counted in epoch hour `hour`.
    pub(crate) fn count(&self, hour: i64) -> u32 {
        self.hours
            .binary_search_by_key(&hour, |h| h.0)
            .map_or(0, |i| self.hours[i].1)
    }

    /// Whether a tick at `t` that starts no new hour (and closes no day or
    /// week) leaves this state as it is and raises nothing, so it can be
    /// skipped: inactivity is not due (`working` is false when the tick is
    /// outside every calendar's working time), and no alert slot expires
    /// or is pruned. The hourly detectors (sudden drop, pace, the
    /// baseline's folding) only run on ticks that start an hour.
    pub fn idle_tick(&self, t: i64, working: bool, scope_floor: i64) -> bool {
        let inactivity_not_due = !working
            || self.last_activity == i64::MIN
            || (self.inactive_at != i64::MIN && t < self.inactive_at)
            || self
                .alerts
                .is_firing(salespulse_model::AlertKind::Inactivity);
        inactivity_not_due && self.alerts.settled_at(t, scope_floor)
    }

    /// Keeps `open` in step with records just raised: a firing record
    /// opens, a resolved one closes its episode.
    pub fn track(&mut self, raised: &[salespulse_model::AlertRecord]) {
        for a in raised {
            match a.status {
                salespulse_model::AlertStatus::Firing => self.open.push(a.clone()),
                salespulse_model::AlertStatus::Resolved => {
                    self.open.retain(|o| o.alert_id != a.alert_id);
                }
            }
        }
    }

    /// Releases spare capacity of the recent hours, won deals and open episodes.
    pub fn shrink(&mut self) {
        self.hours.release_spare();
        self.deals.release_spare();
        self.open.release_spare();
    }

    /// Approximate heap bytes (for memory accounting).
    pub fn heap_bytes(&self) -> usize {
        self.alerts.len() * std::mem::size_of::<crate::lifecycle::Slot>()
            + self.profile.capacity() * 4
            + self.profile_n.capacity() * 2
            + self.hours.capacity() * 16
            + self.deals.capacity() * 4
            + self.open.len() * 512
    }
}
