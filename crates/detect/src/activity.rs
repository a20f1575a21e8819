//! Detectors on a rep's activity (calls, meetings, emails): `inactivity`
//! (no activity for N working hours) and `sudden_drop` (activity over the
//! last working hours far below the rep's own baseline for the same hours
//! of the working day).
//!
//! Both run on ticks of stream time. The baseline is an exponentially
//! weighted mean of the activity counted in each local hour of the working
//! day, folded in hour by hour once the hour is over; the comparison is a
//! z-score with the Poisson scale `(observed - expected) / sqrt(expected)`.

use salespulse_model::{AlertKind, AlertRecord};

use crate::emit::{closed, hours, rep_record, Facts, Raise, Subject};
use crate::lifecycle::{Change, Rule};
use crate::rep::RepDetect;
use crate::{RoleConfig, WorkCalendar};

/// Working hours remembered by a tick for the drop detector's window and folding.
pub const RECENT_HOURS: usize = 48;

/// What a tick knows about one working-time calendar, computed once for every rep.
#[derive(Debug, Clone, Default)]
pub struct Tick {
    /// Stream time of the tick.
    pub t: i64,
    /// Whether `t` is inside working time.
    pub working: bool,
    /// When the tick starts a new hour: that hour (epoch hour number).
    pub hour: Option<i64>,
    /// The last working hours before `hour`, oldest first: (epoch hour, local hour of day).
    pub recent: Vec<(i64, u8)>,
}

impl Tick {
    /// The tick at `t`; `prev` is the previous tick's time.
    pub fn new(cal: &WorkCalendar, t: i64, prev: i64) -> Tick {
        let hour = t.div_euclid(3_600_000);
        let new_hour = prev == i64::MIN || prev.div_euclid(3_600_000) < hour;
        let mut recent = Vec::new();
        if new_hour {
            // Up to two weeks back for the last RECENT_HOURS working hours.
            let mut h = hour - 1;
            while recent.len() < RECENT_HOURS && h >= hour - 24 * 14 {
                let mid = h * 3_600_000 + 1_800_000;
                if cal.is_working(mid) {
                    recent.push((h, cal.local_hour(mid)));
                }
                h -= 1;
            }
            recent.reverse();
        }
        Tick {
            t,
            working: cal.is_working(t),
            hour: new_hour.then_some(hour),
            recent,
        }
    }
}

/// Resolves an open inactivity episode when an activity arrives at `at`.
pub fn on_activity(rs: &mut RepDetect, at: i64, r: &mut Raise<'_>) {
    let (cfg, who, out) = (r.cfg, &r.who, &mut *r.out);
    let severity = cfg.raw.inactivity.severity;
    rs.activity(at);
    if !rs.alerts.is_firing(AlertKind::Inactivity) {
        return;
    }
    for slot in rs.alerts.resolve_all(AlertKind::Inactivity, None, at) {
        let message = format!("{} is active again.", who.rep_id);
        out.push(closed(
            who,
            &slot,
            severity,
            at.max(slot.started_at),
            message,
        ));
    }
}

/// How long a rep may be quiet: `inactivity.working_hours`, or longer for
/// a rep who is seldom busy, so that a silence that long happens by chance
/// on fewer than one working day in `1 / RARE_PER_DAY`. For activity at
/// rate r per hour over a working day of D hours, gaps of at least L hours
/// occur about D·r·e^(-rL) times a day, so L = ln(D·r / RARE_PER_DAY) / r.
fn quiet_limit_ms(rs: &RepDetect, cfg: &RoleConfig, cal: &WorkCalendar) -> i64 {
    const RARE_PER_DAY: f64 = 1e-4;
    let base = cfg.inactivity_ms;
    let rate = rs.usual_per_hour();
    if rate <= 0.0 {
        return base;
    }
    let day = cal.hours_per_day();
    let hours = (day * rate / RARE_PER_DAY).ln() / rate;
    base.max((hours * 3_600_000.0) as i64)
}

/// Whether `inactivity` fires at this tick (a silent source holds it back:
/// the engine asks before it lets it fire).
pub fn inactivity_due(
    rs: &mut RepDetect,
    tick: &Tick,
    cal: &WorkCalendar,
    cfg: &RoleConfig,
) -> bool {
    if !cfg.raw.inactivity.enabled || !tick.working || rs.last_activity == i64::MIN {
        return false;
    }
    if rs.inactive_at == i64::MIN {
        rs.inactive_at = cal.add_working(rs.last_activity, quiet_limit_ms(rs, cfg, cal));
    }
    tick.t >= rs.inactive_at && !rs.alerts.is_firing(AlertKind::Inactivity)
}

/// `inactivity` at a tick inside working time.
pub fn inactivity(rs: &mut RepDetect, tick: &Tick, cal: &WorkCalendar, r: &mut Raise<'_>) {
    if !inactivity_due(rs, tick, cal, r.cfg) {
        return;
    }
    let (cfg, who, out) = (r.cfg, &r.who, &mut *r.out);
    let s = &cfg.raw.inactivity;
    let quiet_ms = quiet_limit_ms(rs, cfg, cal);
    let limit_h = quiet_ms as f64 / 3_600_000.0;
    // Walking the calendar costs a step per day: a silence longer than
    // IDLE_WALK_MAX_MS (stream time jumping years ahead) is measured over
    // its last IDLE_WALK_MAX_MS and reported as "over" that.
    let walked_from = rs.last_activity.max(tick.t - IDLE_WALK_MAX_MS);
    let idle = cal.working_ms(walked_from, tick.t);
    let over = if walked_from > rs.last_activity {
        "over "
    } else {
        ""
    };
    let Some(slot) = rs.alerts.fire_instant(
        AlertKind::Inactivity,
        rs.last_activity,
        tick.t,
        i64::MAX,
        false,
    ) else {
        return;
    };
    let facts = [idle as f64 / 3_600_000.0, limit_h, rs.usual_per_hour()];
    rs.alerts
        .set_facts(AlertKind::Inactivity, rs.last_activity, facts);
    out.push(rep_record(
        who,
        &slot,
        s.severity,
        false,
        tick.t,
        Facts {
            value: facts[0],
            threshold: facts[1],
            baseline: facts[2],
            message: format!(
                "No calls, meetings or emails from {} for {over}{} working hours (since {}).",
                who.rep_id,
                hours(idle),
                salespulse_model::Timestamp(rs.last_activity).to_rfc3339()
            ),
            suggestion: format!(
                "Check whether {} is out today, or whether the telephony or email integration stopped sending events.",
                who.rep_id
            ),
        },
    ));
}

/// `sudden_drop` at the first tick of an hour: folds the working hours
/// that left the window into the baseline, then judges the window.
///
/// Folding walks the calendar from where the rep's baseline stopped, so a
/// rep restored from an older changelog record folds the same hours, with
/// the same counts, as a rep that never stopped.
pub fn sudden_drop(rs: &mut RepDetect, tick: &Tick, cal: &WorkCalendar, r: &mut Raise<'_>) {
    let (cfg, who, out) = (r.cfg, &r.who, &mut *r.out);
    let Some(hour) = tick.hour else {
        return;
    };
    let s = &cfg.raw.sudden_drop;
    let from = tick.recent.len().saturating_sub(s.window_hours as usize);
    let window = &tick.recent[from..];
    // Hours enter the baseline once they left the window, so the hours
    // being judged never lower their own yardstick.
    let cutoff = window.first().map_or(hour, |h| h.0);
    fold(rs, cal, cutoff, hour, s.half_life_days);
    let just_worked = tick.recent.last().is_some_and(|h| h.0 == hour - 1);
    if s.enabled && just_worked && rs.last_activity != i64::MIN {
        evaluate_drop(rs, window, tick.t, cfg, who, out);
    }
}

fn evaluate_drop(
    rs: &mut RepDetect,
    window: &[(i64, u8)],
    t: i64,
    cfg: &RoleConfig,
    who: &Subject<'_>,
    out: &mut Vec<AlertRecord>,
) {
    let s = &cfg.raw.sudden_drop;
    let enough = window.iter().all(|&(_, hod)| {
        rs.profile_n
            .get(hod as usize)
            .is_some_and(|&n| u32::from(n) >= s.min_history_days)
    });
    if !enough {
        return;
    }
    let expected: f64 = window
        .iter()
        .map(|&(_, hod)| f64::from(rs.profile[hod as usize]))
        .sum();
    let observed: f64 = window.iter().map(|&(h, _)| f64::from(rs.count(h))).sum();
    if expected < 2.0 && !rs.alerts.is_firing(AlertKind::SuddenDrop) {
        return; // too little usual activity to call a drop
    }
    let z = (observed - expected) / expected.max(1.0).sqrt();
    // Only a real shortfall may open an episode.
    let value = if observed <= (1.0 - s.min_drop) * expected {
        z
    } else {
        z.max(s.fire_z)
    };
    let rule = Rule {
        fire: s.fire_z,
        resolve: s.resolve_z,
        low_is_bad: true,
        cooldown_ms: cfg.drop_cooldown_ms,
        once_per_scope: false,
    };
    let Some((change, slot)) = rs.alerts.observe(AlertKind::SuddenDrop, 0, value, t, &rule) else {
        return;
    };
    let resolved = change == Change::Resolved;
    let message = if resolved {
        format!(
            "{}'s activity is back near normal: {observed} in the last {} working hours against a usual {expected:.1}.",
            who.rep_id,
            window.len()
        )
    } else {
        format!(
            "{} logged {observed} activities in the last {} working hours against a usual {expected:.1} for those hours (z = {z:.1}).",
            who.rep_id,
            window.len()
        )
    };
    out.push(rep_record(
        who,
        &slot,
        s.severity,
        resolved,
        t,
        Facts {
            value: z,
            threshold: if resolved { s.resolve_z } else { s.fire_z },
            baseline: expected,
            message,
            suggestion: if resolved {
                String::new()
            } else {
                format!("Check in with {}: out sick, stuck on one big deal, or a CRM or telephony sync that stopped?", who.rep_id)
            },
        },
    ));
}

/// The longest silence whose working hours are counted exactly: 400 days.
pub(crate) const IDLE_WALK_MAX_MS: i64 = 400 * 86_400_000;

/// The most hours one fold walks: two years.
const FOLD_MAX_HOURS: i64 = 2 * 366 * 24;

/// Folds the working hours before `cutoff` not yet folded into the
/// baseline; before the rep's first tick with activity, only notes `hour`.
fn fold(rs: &mut RepDetect, cal: &WorkCalendar, cutoff: i64, hour: i64, half_life_days: f64) {
    const H: i64 = 3_600_000;
    if rs.last_activity == i64::MIN || rs.folded_through == i64::MIN {
        // Hours before the rep's first tick are not history.
        rs.folded_through = hour;
        return;
    }
    if rs.folded_through >= cutoff {
        return;
    }
    if rs.profile.is_empty() {
        rs.profile = vec![0.0; 24];
        rs.profile_n = vec![0; 24];
    }
    let alpha = 1.0 - 0.5f64.powf(1.0 / half_life_days);
    // A gap longer than FOLD_MAX_HOURS (stream time jumping years ahead) is
    // folded as its last FOLD_MAX_HOURS: the older hours are all empty and
    // the EWMA has forgotten them by then; without the bound one event years
    // ahead costs a loop over every hour of the gap for every rep.
    let from = rs.folded_through.max(cutoff - FOLD_MAX_HOURS);
    for h in from..cutoff {
        let mid = h * H + H / 2;
        if !cal.is_working(mid) {
            continue;
        }
        let i = usize::from(cal.local_hour(mid));
        let n = rs.profile_n[i];
        // A plain mean until the EWMA's weight is the smaller one.
        let w = alpha.max(1.0 / (f64::from(n) + 1.0));
        let c = f64::from(rs.count(h));
        rs.profile[i] = (f64::from(rs.profile[i]) + w * (c - f64::from(rs.profile[i]))) as f32;
        rs.profile_n[i] = n.saturating_add(1);
    }
    rs.folded_through = cutoff;
}
