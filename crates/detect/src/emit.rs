//! Turning a lifecycle transition into an [`AlertRecord`].

use salespulse_model::record::{Amount, Num};
use salespulse_model::{AlertKind, AlertRecord, AlertStatus, Severity, Timestamp};

use crate::lifecycle::{alert_id, Slot};

/// Who an alert is about.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The rep.
    pub rep_id: &'a str,
    /// Its team, if known.
    pub team: Option<&'a str>,
    /// Its role (scoring profile).
    pub role: &'a str,
}

/// Where a detector raises alerts about one rep: the rep, its role's
/// settings, and the records raised so far.
pub struct Raise<'a> {
    /// The rep.
    pub who: Subject<'a>,
    /// The detector settings of its role.
    pub cfg: &'a crate::RoleConfig,
    /// Raised records are appended here.
    pub out: &'a mut Vec<AlertRecord>,
}

/// The numbers and words of one alert record (money in the reporting
/// currency for a kind whose facts are money; the engine writes those as
/// exact amounts).
pub(crate) struct Facts {
    pub value: f64,
    pub threshold: f64,
    pub baseline: f64,
    pub message: String,
    pub suggestion: String,
}

fn round(x: f64) -> f64 {
    if x.is_finite() {
        (x * 1e6).round() / 1e6
    } else {
        0.0
    }
}

/// Who or what a record is about.
enum About<'a> {
    Rep(&'a Subject<'a>),
    Source {
        name: &'a str,
        partition: Option<i32>,
    },
}

/// A fact as written: money as an amount in micro-units of the reporting
/// currency (the engine rounds it to the currency's minor unit), else a
/// real rounded to six decimals.
fn fact(x: f64, money: bool) -> Num {
    if money {
        let micros = if x.is_finite() {
            (x * 1e6).round() as i64
        } else {
            0
        };
        Num::Amount(Amount {
            minor: micros,
            exp: 6,
        })
    } else {
        Num::Real(round(x))
    }
}

fn record(
    about: About<'_>,
    slot: &Slot,
    severity: Severity,
    resolved: bool,
    t: i64,
    f: Facts,
) -> AlertRecord {
    let (id, rep, team, role, source) = match about {
        About::Rep(who) => (
            alert_id(who.rep_id, slot),
            Some(who.rep_id.to_string()),
            who.team.map(str::to_string),
            Some(who.role.to_string()),
            None,
        ),
        About::Source { name, partition } => (
            match partition {
                Some(p) => alert_id(&format!("{name}#{p}"), slot),
                None => alert_id(name, slot),
            },
            None,
            None,
            None,
            Some(name.to_string()),
        ),
    };
    let money = slot.facts_are_money();
    AlertRecord {
        schema: salespulse_model::output::ALERT.into(),
        alert_id: id,
        kind: slot.kind,
        severity,
        status: if resolved {
            AlertStatus::Resolved
        } else {
            AlertStatus::Firing
        },
        rep_id: rep,
        team_id: team,
        role,
        source,
        started_at: Timestamp(slot.started_at).to_rfc3339(),
        resolved_at: resolved.then(|| Timestamp(t).to_rfc3339()),
        value: fact(f.value, money),
        threshold: fact(f.threshold, money),
        baseline: fact(f.baseline, money),
        message: f.message,
        suggestion: f.suggestion,
    }
}

/// The record of a rep's `slot` transition at `t` (resolved when `resolved`).
pub(crate) fn rep_record(
    who: &Subject<'_>,
    slot: &Slot,
    severity: Severity,
    resolved: bool,
    t: i64,
    f: Facts,
) -> AlertRecord {
    record(About::Rep(who), slot, severity, resolved, t, f)
}

/// The resolved record of a rep's episode closed at `t` for a reason other
/// than its value (the period ended, activity resumed, the hold is over):
/// the numbers are those it fired with.
pub(crate) fn closed(
    who: &Subject<'_>,
    slot: &Slot,
    severity: Severity,
    t: i64,
    message: String,
) -> AlertRecord {
    let [value, threshold, baseline] = slot.facts;
    let f = Facts {
        value,
        threshold,
        baseline,
        message,
        suggestion: String::new(),
    };
    record(About::Rep(who), slot, severity, true, t, f)
}

/// The record of a source's data-quality transition.
pub(crate) fn source_record(
    source: &str,
    partition: Option<i32>,
    slot: &Slot,
    severity: Severity,
    resolved: bool,
    t: i64,
    f: Facts,
) -> AlertRecord {
    let about = About::Source {
        name: source,
        partition,
    };
    record(about, slot, severity, resolved, t, f)
}

/// Working hours, to one decimal, as text.
pub(crate) fn hours(ms: i64) -> String {
    format!("{:.1}", ms as f64 / 3_600_000.0)
}

/// Resolves the instant alerts (achievements, outliers, inactivity never
/// resolves this way) whose hold is over at `t`.
pub fn expire(rs: &mut crate::RepDetect, t: i64, r: &mut Raise<'_>) {
    let (cfg, who, out) = (r.cfg, &r.who, &mut *r.out);
    for slot in rs.alerts.expire(t) {
        let severity = match slot.kind {
            AlertKind::OutlierDeal => cfg.raw.outlier_deal.severity,
            AlertKind::Inactivity => cfg.raw.inactivity.severity,
            _ => Severity::Info,
        };
        let message = format!(
            "The {} alert for {} is closed after its hold time.",
            slot.kind.as_str(),
            who.rep_id
        );
        out.push(closed(who, &slot, severity, t, message));
    }
}
