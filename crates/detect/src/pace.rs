//! Detectors on a rep's period attainment: `behind_pace` (attainment far
//! behind the share of the period's working time elapsed) and the
//! `achievement`s quota reached and personal best week.

use salespulse_model::{AlertKind, AlertRecord, Severity};

use crate::emit::{closed, rep_record, Facts, Raise, Subject};
use crate::flow::FlowCheck;
use crate::lifecycle::{Change, Rule};
use crate::rep::RepDetect;
use crate::RoleConfig;

/// A personal-best week's achievement scope is its week start plus this, so
/// it never shares a slot with a quota achievement of a period starting the
/// same instant.
const PERSONAL_BEST_SCOPE: i64 = 1;

/// Whether an achievement's `scope` is a personal-best week's (period and
/// day starts are whole seconds; the other achievements' offsets differ).
pub(crate) fn is_personal_best(scope: i64) -> bool {
    scope.rem_euclid(1000) == PERSONAL_BEST_SCOPE
}

/// A rep's period attainment at a tick, computed by the engine from the
/// profile's components measured over calendar periods: the weighted
/// (capped) attainment and the weighted share of working time elapsed.
#[derive(Debug, Clone, Copy)]
pub struct PaceInput {
    /// Start of the pace period (the shortest period among the components): the alert's scope.
    pub scope: i64,
    /// Σ weight × min(attainment, cap) / Σ weight.
    pub attainment: f64,
    /// Σ weight × elapsed working share of the component's period / Σ weight.
    pub expected: f64,
    /// End of the pace period.
    pub scope_end: i64,
    /// Elapsed working share of the pace period.
    pub scope_share: f64,
}

/// `behind_pace` and the quota achievement at a tick.
pub fn pace(rs: &mut RepDetect, p: PaceInput, t: i64, r: &mut Raise<'_>) {
    let (cfg, who, out) = (r.cfg, &r.who, &mut *r.out);
    let s = &cfg.raw.behind_pace;
    // A new period ends the last period's episode.
    for slot in rs
        .alerts
        .resolve_all(AlertKind::BehindPace, Some(p.scope), t)
    {
        let message = format!(
            "The period ended; {}'s behind-pace alert is closed.",
            who.rep_id
        );
        out.push(closed(who, &slot, s.severity, t, message));
    }
    rs.flow.tick(p.scope, p.scope_end, p.scope_share);
    if s.enabled && p.expected >= s.min_elapsed && p.expected > 0.0 {
        let value = p.attainment / p.expected;
        // Behind, and not by chance: the deal flow is far below the rep's
        // usual (see `flow`). An open episode resolves on pace alone.
        let flow = rs.flow.check(p.scope_share, s.min_history);
        let credible = s.max_chance >= 1.0 || flow.is_some_and(|f| f.chance <= s.max_chance);
        if !credible && !rs.alerts.is_firing(AlertKind::BehindPace) {
            return quota(rs, &p, t, cfg, who, out);
        }
        let rule = Rule {
            fire: s.fire_below,
            resolve: s.resolve_above,
            low_is_bad: true,
            cooldown_ms: 0,
            once_per_scope: true,
        };
        if let Some((change, slot)) =
            rs.alerts
                .observe(AlertKind::BehindPace, p.scope, value, t, &rule)
        {
            let resolved = change == Change::Resolved;
            let facts = [value, s.fire_below, p.expected];
            if !resolved {
                rs.alerts.set_facts(AlertKind::BehindPace, p.scope, facts);
            }
            out.push(rep_record(
                who,
                &slot,
                s.severity,
                resolved,
                t,
                Facts {
                    value,
                    threshold: if resolved { s.resolve_above } else { s.fire_below },
                    baseline: p.expected,
                    message: pace_message(who, &p, value, resolved, flow),
                    suggestion: if resolved {
                        String::new()
                    } else {
                        format!("Review the pipeline with {}: which deals can close this period, and is there enough activity to refill it?", who.rep_id)
                    },
                },
            ));
        }
    }
    quota(rs, &p, t, cfg, who, out);
}

fn pace_message(
    who: &Subject<'_>,
    p: &PaceInput,
    pace: f64,
    resolved: bool,
    flow: Option<FlowCheck>,
) -> String {
    let flow = flow.map_or(String::new(), |f| {
        format!(
            " {} deals created or won this period, against about {:.0} usual by now.",
            f.observed, f.expected
        )
    });
    if resolved {
        format!(
            "{} is back on pace: {:.0}% of the period target with {:.0}% of the working time gone.",
            who.rep_id,
            p.attainment * 100.0,
            p.expected * 100.0
        )
    } else {
        format!(
            "{} is at {:.0}% of the period target with {:.0}% of the working time gone (pace {pace:.2}).{flow}",
            who.rep_id,
            p.attainment * 100.0,
            p.expected * 100.0
        )
    }
}

fn quota(
    rs: &mut RepDetect,
    p: &PaceInput,
    t: i64,
    cfg: &RoleConfig,
    who: &Subject<'_>,
    out: &mut Vec<AlertRecord>,
) {
    let a = &cfg.raw.achievement;
    if !(a.enabled && a.quota && p.attainment >= 1.0) {
        return;
    }
    let Some(slot) = rs.alerts.fire_instant(
        AlertKind::Achievement,
        p.scope,
        t,
        cfg.achievement_hold_ms,
        false,
    ) else {
        return;
    };
    let facts = [p.attainment, 1.0, p.expected];
    rs.alerts.set_facts(AlertKind::Achievement, p.scope, facts);
    out.push(rep_record(
        who,
        &slot,
        Severity::Info,
        false,
        t,
        Facts {
            value: p.attainment,
            threshold: 1.0,
            baseline: p.expected,
            message: format!(
                "{} reached 100% of the period target with {:.0}% of the working time gone.",
                who.rep_id,
                p.expected * 100.0
            ),
            suggestion: format!("Recognise {} in the team channel.", who.rep_id),
        },
    ));
}

/// The personal-best achievement when a week closes with `revenue`.
pub fn week_closed(rs: &mut RepDetect, week_start: i64, revenue: f64, t: i64, r: &mut Raise<'_>) {
    let (cfg, who, out) = (r.cfg, &r.who, &mut *r.out);
    let a = &cfg.raw.achievement;
    let previous = rs.best_week;
    rs.weeks = rs.weeks.saturating_add(1);
    rs.best_week = rs.best_week.max(revenue);
    if !(a.enabled && a.personal_best && rs.weeks > a.min_weeks && revenue > previous) {
        return;
    }
    let scope = week_start + PERSONAL_BEST_SCOPE;
    let Some(slot) = rs.alerts.fire_instant(
        AlertKind::Achievement,
        scope,
        t,
        cfg.achievement_hold_ms,
        false,
    ) else {
        return;
    };
    rs.alerts
        .set_facts(AlertKind::Achievement, scope, [revenue, previous, previous]);
    out.push(rep_record(
        who,
        &slot,
        Severity::Info,
        false,
        t,
        Facts {
            value: revenue,
            threshold: previous,
            baseline: previous,
            message: format!(
                "{} had their best week yet: {revenue:.2} in revenue (previous best {previous:.2}).",
                who.rep_id
            ),
            suggestion: format!(
                "Ask {} what worked this week and share it with the team.",
                who.rep_id
            ),
        },
    ));
}
