//! Running the detectors of `salespulse-detect` for a rep: per event
//! (activity, won deals, an outlier deal held back), and on ticks of stream
//! time (inactivity, sudden drop, pace, standing in the role at working-day
//! closes, the week's best). Everything a detector remembers about a rep is
//! this feature's state, so it is in the changelog and survives restarts.
//! The data-quality windows are per engine ([`DataQuality`]) and start
//! empty after a restart.

use salespulse_detect::activity::{inactivity, inactivity_due, on_activity, sudden_drop};
use salespulse_detect::outlier::{deal_won, is_outlier};
use salespulse_detect::pace::{pace, week_closed};
use salespulse_detect::peer::day_closed;
use salespulse_detect::{expire, source_of, PaceInput, Quality, Raise, RepDetect, Subject};
use salespulse_kpi::{kpi_value, Direction, SalesAcc, WindowRef};
use salespulse_model::{AlertRecord, AlertStatus, Body, EventType, Reason, Rejection};
use salespulse_window::{Period, PeriodKind};
use serde::{Deserialize, Serialize};

use super::hooks::{AdmitCx, EventCx, Feature, TickCx};
use crate::moment::TickAt;
use crate::rep::Core;
use crate::EngineConfig;

/// The source of records that name none (or cannot be read).
pub const UNKNOWN_SOURCE: &str = "unknown";

/// A rep's detector state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Detect(pub RepDetect);

/// The subject of a rep's alerts, with its role as profiled at event time `at`.
fn subject<'a>(cfg: &'a EngineConfig, at: i64, rep_id: &'a str, core: &'a Core) -> Subject<'a> {
    Subject {
        rep_id,
        team: core.team(),
        role: &cfg.profiles.for_role(at, core.role()).name,
    }
}

impl Detect {
    /// The mean and sd of the logs of the rep's recent won deal amounts.
    pub(crate) fn deal_log_moments(&self) -> Option<(f64, Option<f64>)> {
        self.0.deal_log_moments()
    }

    /// The firing record of each open episode.
    pub(crate) fn open(&self) -> &[AlertRecord] {
        &self.0.open
    }
}

impl Feature for Detect {
    /// With `outlier_deal.exclude`, a won deal the detector flags is not
    /// applied: its alert is raised and the record rejected as `outlier`.
    fn admit(&mut self, cx: &mut AdmitCx<'_, '_>) -> Result<(), Rejection> {
        let (cfg, ev) = (cx.cfg, cx.ev);
        if !cfg.detect.enabled || !matches!(ev.body, Body::DealWon { .. }) {
            return Ok(());
        }
        let micros = SalesAcc::from_body(&ev.body, None).revenue;
        let amount = cfg.decode.currencies.micros_to_output(i128::from(micros));
        let who = subject(cfg, ev.occurred_at.0, cx.rep_id, cx.core);
        let role = cfg.detectors_at(ev.occurred_at.0).role(who.role);
        if !(role.raw.outlier_deal.exclude && is_outlier(&self.0, amount, role)) {
            return Ok(());
        }
        let from = cx.alerts.len();
        let mut r = Raise {
            cfg: role,
            who,
            out: cx.alerts,
        };
        deal_won(&mut self.0, amount, ev.occurred_at.0, &mut r);
        for a in &mut cx.alerts[from..] {
            a.message
                .push_str(" It is held back from the KPIs and sent to the dead-letter topic.");
        }
        self.0.track(&cx.alerts[from..]);
        Err(Rejection::field(
            Reason::Outlier,
            "amount",
            &format!("{amount:.2} (reporting currency)"),
            "a deal amount inside the rep's usual range: outlier_deal.exclude holds flagged deals back (see the outlier_deal alert)",
        ))
    }

    /// Feeds an applied event to the per-event detectors.
    fn on_event(&mut self, cx: &mut EventCx<'_, '_>) {
        let (cfg, ev) = (cx.cfg, cx.ev);
        let relevant = matches!(
            ev.event_type,
            EventType::ActivityCall
                | EventType::ActivityMeeting
                | EventType::ActivityEmail
                | EventType::DealCreated
                | EventType::DealWon
        );
        if !cfg.detect.enabled || !relevant {
            return;
        }
        let e = ev.occurred_at.0;
        let from = cx.alerts.len();
        let d = &mut self.0;
        let who = subject(cfg, e, cx.rep_id, cx.core);
        let mut r = Raise {
            cfg: cfg.detectors_at(e).role(who.role),
            who,
            out: cx.alerts,
        };
        match ev.event_type {
            EventType::ActivityCall | EventType::ActivityMeeting | EventType::ActivityEmail => {
                on_activity(d, e, &mut r);
            }
            EventType::DealCreated => d.flow.event(e),
            EventType::DealWon if matches!(ev.body, Body::DealWon { .. }) => {
                d.flow.event(e);
                let amount = cfg
                    .decode
                    .currencies
                    .micros_to_output(i128::from(cx.acc.revenue));
                deal_won(d, amount, e, &mut r);
            }
            _ => {}
        }
        d.track(&cx.alerts[from..]);
    }

    /// A quarter-hour tick that starts no hour and closes no day or week
    /// only checks inactivity deadlines and alert holds.
    fn due_at_minor_tick(&self, at: &TickAt<'_>) -> bool {
        !self.0.idle_tick(at.t, at.working, at.scope_floor)
    }

    /// Runs the time-driven detectors; true when it changed state that must
    /// be saved without raising an alert (a week's best, deal flow, standing
    /// memory).
    fn on_tick(&mut self, cx: &mut TickCx<'_>) -> bool {
        let (cfg, at) = (cx.cfg, cx.at);
        let dc = &cfg.detect;
        let t = at.t;
        let cal = cx.core.calendar(dc);
        let tick = &at.ticks[cal];
        let from = cx.alerts.len();
        let core: &Core = cx.core;
        let d = &mut self.0;
        let who = subject(cfg, t, cx.rep_id, core);
        let mut r = Raise {
            cfg: cfg.detectors_at(t).role(who.role),
            who,
            out: cx.alerts,
        };
        if !at.hold_inactivity {
            inactivity(d, tick, &dc.calendars[cal], &mut r);
        } else if inactivity_due(d, tick, &dc.calendars[cal], r.cfg) {
            *cx.held = true;
        }
        sudden_drop(d, tick, &dc.calendars[cal], &mut r);
        let flow = d.flow;
        if let Some(shares) = &at.shares[cal] {
            if let Some(p) = pace_input(cfg, core, at.current, shares, &dc.calendars[cal], t) {
                pace(d, p, t, &mut r);
            }
        }
        // The deal flow moves to a new period (or starts) at a tick: saved, as
        // a restored rep must continue from the same counts.
        let mut changed = d.flow != flow;
        if let Some(s) = cx.close.and_then(|c| c.standings.get(cx.rep_id)) {
            // The judged day is saved only when the standing memory changed:
            // judging the same day again from unchanged memory gives the same result.
            let before = d.peer.clone();
            day_closed(d, s, t, &mut r);
            changed |= !d.peer.same_counts(&before);
        }
        if let Some(week) = at.week_closed {
            let revenue = core.periods.get(&week).map_or(0, |a| a.revenue);
            let revenue = cfg.decode.currencies.micros_to_output(i128::from(revenue));
            week_closed(d, week.start, revenue, t, &mut r);
            changed = true;
        }
        expire(d, t, &mut r);
        d.alerts.prune(t, at.scope_floor);
        d.track(&cx.alerts[from..]);
        changed || cx.alerts.len() > from
    }

    fn heap_bytes(&self) -> usize {
        self.0.heap_bytes()
    }

    fn shrink(&mut self) {
        self.0.shrink();
    }
}

/// The rep's weighted attainment and expected attainment over the profile's
/// higher-is-better components measured over a week, month or quarter.
fn pace_input(
    cfg: &EngineConfig,
    core: &Core,
    current: &[Period; 4],
    shares: &[f64; 4],
    cal: &salespulse_detect::WorkCalendar,
    t: i64,
) -> Option<PaceInput> {
    let profile = cfg.profiles.for_role(t, core.role());
    let targets = core.targets(cfg);
    let start_ms = targets.start_ms;
    let (mut got, mut expected, mut weight) = (0.0, 0.0, 0.0);
    let mut scope: Option<Period> = None;
    for c in &profile.components {
        let WindowRef::Period(kind) = c.window else {
            continue;
        };
        if kind == PeriodKind::Day || c.direction != Direction::Higher {
            continue;
        }
        let period = current[kind as usize];
        let Some(target) = targets.target(c, Some(&period)) else {
            continue;
        };
        let acc = core.periods.get(&period).copied().unwrap_or_default();
        let value = kpi_value(c.kpi, &acc).as_f64().unwrap_or(0.0);
        let share = match start_ms {
            // A rep who started inside the period is measured from its start.
            Some(s) if s > period.start => cal.elapsed_share(s, period.end, t),
            _ => shares[kind as usize],
        };
        got += c.weight * (value / target).min(c.cap);
        expected += c.weight * share;
        weight += c.weight;
        if scope.is_none_or(|s| period.end - period.start < s.end - s.start) {
            scope = Some(period);
        }
    }
    let scope = scope?;
    (weight > 0.0).then(|| PaceInput {
        scope: scope.start,
        scope_end: scope.end,
        // The scope is a current period: its share is the tick's.
        scope_share: shares[scope.kind as usize],
        attainment: got / weight,
        expected: expected / weight,
    })
}

/// The engine's data-quality watch: rejection rates by source over the
/// partition's stream time, and the data-quality alerts it keeps open.
#[derive(Debug, Default)]
pub(crate) struct DataQuality {
    quality: Quality,
    silence: salespulse_detect::silence::Silence,
    open: Vec<AlertRecord>,
    /// The input partition the engine owns: alert ids include it.
    pub partition: Option<i32>,
}

impl DataQuality {
    /// Counts a record: `decoded` is the event's `source` and rep when the
    /// record decoded. Duplicates are redelivery, not bad data, and are not counted.
    pub(crate) fn observe(
        &mut self,
        cfg: &EngineConfig,
        bytes: &[u8],
        decoded: Option<(Option<&str>, &str)>,
        result: &Result<EventType, Rejection>,
        t: i64,
        out: &mut Vec<AlertRecord>,
    ) {
        if !cfg.detect.enabled {
            return;
        }
        let rejected = match result {
            Ok(_) => false,
            Err(e) if e.reason == Reason::Duplicate => return,
            Err(_) => true,
        };
        let source: std::borrow::Cow<'_, str> = match decoded {
            Some((Some(s), _)) => s.into(),
            Some((None, _)) => UNKNOWN_SOURCE.into(),
            None => source_of(bytes, UNKNOWN_SOURCE).into(),
        };
        let from = out.len();
        let rep = decoded.map(|(_, rep)| rep);
        self.silence
            .observe(&cfg.detect, (&source, rep), self.partition, t, out);
        if cfg.detect.quality.enabled {
            self.quality
                .observe(&cfg.detect, &source, self.partition, rejected, t, out);
        }
        self.track(from, out);
    }

    /// The tick at `t`: judges every source's silence; true while one is
    /// silent (inactivity alerts are then held back).
    pub(crate) fn tick(&mut self, cfg: &EngineConfig, t: i64, out: &mut Vec<AlertRecord>) -> bool {
        let from = out.len();
        let silent = self.silence.tick(&cfg.detect, self.partition, t, out);
        self.track(from, out);
        silent
    }

    /// Reps whose inactivity was held back at a tick.
    pub(crate) fn held(&mut self, reps: &[Box<str>]) {
        if !reps.is_empty() {
            self.silence.held(reps);
        }
    }

    /// Keeps the firing records of `out[from..]` open, drops resolved ones.
    fn track(&mut self, from: usize, out: &[AlertRecord]) {
        for a in &out[from..] {
            self.open.retain(|o| o.alert_id != a.alert_id);
            if a.status == AlertStatus::Firing {
                self.open.push(a.clone());
            }
        }
    }

    /// The firing record of each open data-quality alert.
    pub(crate) fn open(&self) -> &[AlertRecord] {
        &self.open
    }
}
