//! A rep's standing within its role, judged at each working-day close:
//! `peer_laggard` (score percentile below `fire_below` for `days`
//! consecutive working days) and the top-of-role achievement (a rep
//! reaching rank 1 alone). The engine ranks the day-close scores of the role's
//! reps and hands each rep its [`Standing`].

use salespulse_model::{AlertKind, Severity};
use serde::{Deserialize, Serialize};

use crate::emit::{rep_record, Facts, Raise};
use crate::lifecycle::{Change, Rule};
use crate::rep::RepDetect;

/// A top-of-role achievement's scope is its day start plus this, so it
/// never shares a slot with another achievement starting the same instant.
const TOP_SCOPE: i64 = 2;

/// What the standing detectors remember between day closes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PeerMemory {
    /// Consecutive judged working days below `fire_below`.
    below_days: u32,
    /// Start of the last day judged (a day is judged once, also after a restore).
    last_day: Option<i64>,
    /// Whether the rep was top of its role at the last day judged.
    top: bool,
}

impl PeerMemory {
    /// Whether `other` has the same counters (ignoring the day judged last).
    pub fn same_counts(&self, other: &PeerMemory) -> bool {
        self.below_days == other.below_days && self.top == other.top
    }
}

/// A rep's place among the scored reps of its role at a working-day close.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Standing {
    /// Start of the closed day.
    pub day: i64,
    /// The rep's score.
    pub score: f64,
    /// Share of the role's other scored reps scoring lower, ties counted
    /// half, in percent (0 = lowest, 100 = highest).
    pub percentile: f64,
    /// 1 + the number of the role's reps scoring higher.
    pub rank: u32,
    /// Scored reps of the role, the rep included.
    pub peers: u32,
    /// The role's median score.
    pub median: f64,
    /// The best score below the rep's (for the top rep: the runner-up).
    pub next_below: f64,
}

/// Judges the rep's standing at the close of `s.day`, at stream time `t`.
pub fn day_closed(rs: &mut RepDetect, s: &Standing, t: i64, r: &mut Raise<'_>) {
    if rs.peer.last_day.is_some_and(|d| d >= s.day) {
        return;
    }
    rs.peer.last_day = Some(s.day);
    let enough = s.peers >= r.cfg.raw.peer_laggard.min_peers;
    laggard(rs, s, enough, t, r);
    top_of_role(rs, s, enough, t, r);
}

fn laggard(rs: &mut RepDetect, s: &Standing, enough: bool, t: i64, r: &mut Raise<'_>) {
    let g = &r.cfg.raw.peer_laggard;
    let mem = &mut rs.peer;
    if !g.enabled || !enough {
        mem.below_days = 0;
        return;
    }
    if s.percentile < g.fire_below {
        mem.below_days = mem.below_days.saturating_add(1);
    } else {
        mem.below_days = 0;
    }
    let days = mem.below_days;
    if days < g.days && !rs.alerts.is_firing(AlertKind::PeerLaggard) {
        return;
    }
    let rule = Rule {
        fire: g.fire_below,
        resolve: g.resolve_above,
        low_is_bad: true,
        cooldown_ms: 0,
        once_per_scope: false,
    };
    let Some((change, slot)) = rs
        .alerts
        .observe(AlertKind::PeerLaggard, 0, s.percentile, t, &rule)
    else {
        return;
    };
    let resolved = change == Change::Resolved;
    let who = &r.who;
    let message = if resolved {
        format!(
            "{} is out of the bottom of the {} leaderboard: score {:.1}, percentile {:.0} (rank {} of {}).",
            who.rep_id, who.role, s.score, s.percentile, s.rank, s.peers
        )
    } else {
        format!(
            "{} has been in the bottom {:.0}% of {} reps for {days} working days: score {:.1}, percentile {:.0} (rank {} of {}); the role's median is {:.1}.",
            who.rep_id, g.fire_below, who.role, s.score, s.percentile, s.rank, s.peers, s.median
        )
    };
    let suggestion = if resolved {
        String::new()
    } else {
        format!(
            "Go through {}'s score explanation with them: which components are furthest below target, and what would move them?",
            who.rep_id
        )
    };
    r.out.push(rep_record(
        who,
        &slot,
        g.severity,
        resolved,
        t,
        Facts {
            value: s.percentile,
            threshold: if resolved {
                g.resolve_above
            } else {
                g.fire_below
            },
            baseline: s.median,
            message,
            suggestion,
        },
    ));
}

fn top_of_role(rs: &mut RepDetect, s: &Standing, enough: bool, t: i64, r: &mut Raise<'_>) {
    let a = &r.cfg.raw.achievement;
    // Alone at the top: with capped attainments several reps can share the
    // best score, and a leaderboard shared by many is no news.
    let top = enough && s.rank == 1 && s.percentile >= 100.0;
    let was = std::mem::replace(&mut rs.peer.top, top);
    if !(a.enabled && a.top_of_role && top && !was) {
        return;
    }
    let scope = s.day + TOP_SCOPE;
    let Some(slot) = rs.alerts.fire_instant(
        AlertKind::Achievement,
        scope,
        t,
        r.cfg.achievement_hold_ms,
        false,
    ) else {
        return;
    };
    rs.alerts.set_facts(
        AlertKind::Achievement,
        scope,
        [s.score, s.next_below, s.median],
    );
    let who = &r.who;
    r.out.push(rep_record(
        who,
        &slot,
        Severity::Info,
        false,
        t,
        Facts {
            value: s.score,
            threshold: s.next_below,
            baseline: s.median,
            message: format!(
                "{} is top of the {} leaderboard with a score of {:.1} (next best {:.1}, {} reps).",
                who.rep_id, who.role, s.score, s.next_below, s.peers
            ),
            suggestion: format!("Recognise {} in the team channel.", who.rep_id),
        },
    ));
}
