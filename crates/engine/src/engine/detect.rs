//! Running the detectors of `salespulse-detect` inside the engine: per
//! event (activity, won deals), per record (data quality), and on ticks of
//! stream time (inactivity, sudden drop, pace, achievements). Alerts collect
//! until [`Engine::drain_alerts`]; replay writes them with `--alerts`, the
//! live service publishes them on `salespulse.alerts`.
//!
//! Ticks fall on multiples of `detect.tick` of the partition's stream time;
//! when stream time jumps over several, the latest is evaluated. Everything
//! a detector remembers about a rep is in the rep's state (and changelog);
//! the data-quality windows are per engine and start empty after a restart.

use salespulse_detect::activity::{inactivity, on_activity, sudden_drop};
use salespulse_detect::outlier::{deal_won, is_outlier};
use salespulse_detect::pace::{pace, week_closed};
use salespulse_detect::peer::day_closed;
use salespulse_detect::{expire, source_of, PaceInput, Quality, Raise, Subject, Tick};
use salespulse_kpi::{kpi_value, Direction, SalesAcc, WindowRef};
use salespulse_model::{AlertRecord, AlertStatus, Body, Event, EventType, Reason, Rejection};
use salespulse_window::{Period, PeriodKind};

use super::standing::Standings;
use super::Engine;
use crate::state::RepState;
use crate::EngineConfig;

/// The source of records that name none (or cannot be read).
pub const UNKNOWN_SOURCE: &str = "unknown";

/// The engine's detection state.
#[derive(Debug, Default)]
pub(crate) struct Detection {
    /// Stream time of the last tick evaluated (`i64::MIN` before the first).
    last_tick: Option<i64>,
    /// Data-quality windows by source.
    quality: Quality,
    /// Alerts not yet drained.
    pub(crate) out: Vec<AlertRecord>,
    /// Open data-quality alerts (not restored after a restart).
    quality_open: Vec<AlertRecord>,
    /// The input partition this engine owns (see `set_partition`).
    partition: Option<i32>,
}

/// The subject of a rep's alerts, with its role as profiled at event time `at`.
fn subject<'a>(cfg: &'a EngineConfig, at: i64, rep_id: &'a str, rs: &'a RepState) -> Subject<'a> {
    Subject {
        rep_id,
        team: rs.team(),
        role: &cfg.profiles.for_role(at, rs.role()).name,
    }
}

/// Feeds an applied event to the per-event detectors.
pub(crate) fn on_event(
    cfg: &EngineConfig,
    rep_id: &str,
    rs: &mut RepState,
    ev: &Event<'_>,
    revenue_micros: i64,
    out: &mut Vec<AlertRecord>,
) {
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
    let from = out.len();
    let mut d = std::mem::take(&mut rs.detect);
    let who = subject(cfg, e, rep_id, rs);
    let mut r = Raise {
        cfg: cfg.detectors_at(e).role(who.role),
        who,
        out,
    };
    match ev.event_type {
        EventType::ActivityCall | EventType::ActivityMeeting | EventType::ActivityEmail => {
            on_activity(&mut d, e, &mut r);
        }
        EventType::DealCreated => d.ext.flow.event(e),
        EventType::DealWon if matches!(ev.body, Body::DealWon { .. }) => {
            d.ext.flow.event(e);
            let amount = cfg
                .decode
                .currencies
                .micros_to_output(i128::from(revenue_micros));
            deal_won(&mut d, amount, e, &mut r);
        }
        _ => {}
    }
    d.track(&out[from..]);
    rs.detect = d;
}

/// With `outlier_deal.exclude`, a won deal the detector flags is not
/// applied: its alert is raised and the record rejected as `outlier`.
pub(crate) fn hold_outlier(
    cfg: &EngineConfig,
    rep_id: &str,
    rs: &mut RepState,
    ev: &Event<'_>,
    out: &mut Vec<AlertRecord>,
) -> Result<(), Rejection> {
    if !cfg.detect.enabled || !matches!(ev.body, Body::DealWon { .. }) {
        return Ok(());
    }
    let micros = SalesAcc::from_body(&ev.body, None).revenue;
    let amount = cfg.decode.currencies.micros_to_output(i128::from(micros));
    let mut d = std::mem::take(&mut rs.detect);
    let who = subject(cfg, ev.occurred_at.0, rep_id, rs);
    let role = cfg.detectors_at(ev.occurred_at.0).role(who.role);
    if !(role.raw.outlier_deal.exclude && is_outlier(&d, amount, role)) {
        rs.detect = d;
        return Ok(());
    }
    let from = out.len();
    let mut r = Raise {
        cfg: role,
        who,
        out,
    };
    deal_won(&mut d, amount, ev.occurred_at.0, &mut r);
    for a in &mut out[from..] {
        a.message
            .push_str(" It is held back from the KPIs and sent to the dead-letter topic.");
    }
    d.track(&out[from..]);
    rs.detect = d;
    Err(Rejection::field(
        Reason::Outlier,
        "amount",
        &format!("{amount:.2} (reporting currency)"),
        "a deal amount inside the rep's usual range: outlier_deal.exclude holds flagged deals back (see the outlier_deal alert)",
    ))
}

impl Engine {
    /// Sets the input partition this engine owns: data-quality alert ids
    /// include it, as each partition's engine judges its own share.
    pub fn set_partition(&mut self, partition: i32) {
        self.detection.partition = Some(partition);
    }

    /// The alerts raised since the last call, in the order raised.
    pub fn drain_alerts(&mut self) -> Vec<AlertRecord> {
        std::mem::take(&mut self.detection.out)
    }

    /// Counts a record for the data-quality detector: `decoded` is the
    /// event's `source` when the record decoded. Duplicates are redelivery,
    /// not bad data, and are not counted.
    pub(crate) fn detect_record(
        &mut self,
        bytes: &[u8],
        decoded: Option<Option<&str>>,
        result: &Result<EventType, Rejection>,
    ) {
        if !(self.cfg.detect.enabled && self.cfg.detect.quality.enabled) {
            return;
        }
        let rejected = match result {
            Ok(_) => false,
            Err(e) if e.reason == Reason::Duplicate => return,
            Err(_) => true,
        };
        let t = self.stream_time.max(0);
        let d = &mut self.detection;
        let source: std::borrow::Cow<'_, str> = match decoded {
            Some(Some(s)) => s.into(),
            Some(None) => UNKNOWN_SOURCE.into(),
            None => source_of(bytes, UNKNOWN_SOURCE).into(),
        };
        let from = d.out.len();
        d.quality.observe(
            &self.cfg.detect,
            &source,
            d.partition,
            rejected,
            t,
            &mut d.out,
        );
        for a in &d.out[from..] {
            d.quality_open.retain(|o| o.alert_id != a.alert_id);
            if a.status == AlertStatus::Firing {
                d.quality_open.push(a.clone());
            }
        }
    }

    /// The firing record of every open alert of this engine's reps and
    /// sources, in no particular order.
    pub fn open_alerts(&self) -> impl Iterator<Item = &AlertRecord> {
        self.reps
            .values()
            .flat_map(|rs| rs.detect.open.iter())
            .chain(self.detection.quality_open.iter())
    }

    /// Runs the time-driven detectors when stream time `t` passed a tick.
    pub(crate) fn detect_ticks(&mut self, old: i64, t: i64) {
        let dc = &self.cfg.detect;
        if !dc.enabled {
            return;
        }
        let tick_at = t - t.rem_euclid(dc.tick_ms);
        let prev = match self.detection.last_tick {
            Some(p) => p,
            // The first tick after a start or a restore continues from the
            // tick before the restored stream time, as if never stopped.
            None if old != i64::MIN => old - old.rem_euclid(dc.tick_ms),
            None => i64::MIN,
        };
        if tick_at <= prev {
            self.detection.last_tick = Some(prev);
            return;
        }
        self.detection.last_tick = Some(tick_at);
        if prev == i64::MIN {
            return; // the very first event: nothing has elapsed yet
        }
        self.run_tick(prev, tick_at);
    }

    fn run_tick(&mut self, prev: i64, t: i64) {
        // A working day of the default calendar closed: rank every rep in its role.
        let day = self.cfg.calendar.period(PeriodKind::Day, prev);
        let close = (day.end <= t
            && self.cfg.detect.calendars[0].working_ms(day.start, day.end) > 0)
            .then(|| self.day_close(day, t));
        let close_end = day.end;
        let (standings, mut coached, close_scores) = match close {
            Some(c) => (Some(c.standings), c.coached, c.scores),
            None => (None, Default::default(), Default::default()),
        };
        let cfg = &self.cfg;
        let dc = &cfg.detect;
        let ticks: Vec<Tick> = dc.calendars.iter().map(|c| Tick::new(c, t, prev)).collect();
        let current = PeriodKind::ALL.map(|k| cfg.calendar.period(k, t));
        let week_closed_at = (cfg.calendar.period(PeriodKind::Week, prev).start
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
        // Reps in map order (cheap); the tick's alerts are sorted by rep
        // afterwards, so the output order does not depend on the map.
        let mut raised = Vec::new();
        let out = &mut raised;
        let floor = current[PeriodKind::Month as usize]
            .start
            .min(current[PeriodKind::Week as usize].start);
        let at = TickAt {
            t,
            ticks: &ticks,
            shares: &shares,
            current: &current,
            week_closed: week_closed_at,
            scope_floor: floor,
            standings: standings.as_ref(),
        };
        // A quarter-hour tick that starts no hour and closes no day or week
        // only checks inactivity deadlines and alert holds: reps with none
        // due are skipped without touching the rest of their state.
        let minor = at.standings.is_none()
            && at.week_closed.is_none()
            && ticks.iter().all(|k| k.hour.is_none());
        let working = ticks.iter().any(|k| k.working);
        let mut closed = Vec::new();
        for (id, rs) in self.reps.iter_mut() {
            if minor && rs.detect.idle_tick(t, working, floor) {
                continue;
            }
            let from = out.len();
            // What a tick changes either follows from the saved state (the
            // baseline's folding, the inactivity deadline, pruning) or is an
            // alert or a week's best: those must reach the changelog.
            let mut changed = tick_rep(cfg, id, rs, &at, out);
            if at.standings.is_some() {
                // Once a working day: the day's bursts have passed.
                rs.shrink();
            }
            if let Some(&score) = close_scores.get(id) {
                // Every scored rep's record carries its score at the close
                // (the company-wide `rank_change` is ranked from these).
                let close = crate::state::DayCloseScore {
                    day_end: close_end,
                    score,
                };
                if rs.day_close != Some(close) {
                    rs.day_close = Some(close);
                    changed = true;
                    closed.push(id.clone());
                }
            }
            if let Some(c) = coached.remove(id) {
                // Judged once per day, also when a restore replays the close.
                if !rs.coached.judged(c.day_end()) {
                    rs.coached = c;
                    changed = true;
                }
            }
            if (changed || out.len() > from) && !rs.unsaved {
                rs.unsaved = true;
                self.unsaved.push(id.clone());
            }
        }
        raised.sort_by(|a, b| a.rep_id.cmp(&b.rep_id));
        self.detection.out.append(&mut raised);
        if !closed.is_empty() {
            // Every scored rep's record with its close score goes out now,
            // at the stream time before the close, ahead of anything after
            // it: emission coalesces a rep's records, and a backlog would
            // otherwise skip closes.
            closed.sort_unstable();
            let mut records = Vec::with_capacity(closed.len());
            self.score_reps(closed, &mut records);
            self.pending.extend(records);
        }
    }
}

/// What one tick knows, shared by every rep.
struct TickAt<'a> {
    t: i64,
    /// Per calendar.
    ticks: &'a [Tick],
    /// Per calendar, on working hour ticks: elapsed share of each current period.
    shares: &'a [Option<[f64; 4]>],
    current: &'a [Period; 4],
    /// The week that closed since the last tick.
    week_closed: Option<Period>,
    /// Closed per-period alert slots before this are forgotten.
    scope_floor: i64,
    /// When a working day closed: each scored rep's standing in its role.
    standings: Option<&'a Standings>,
}

/// Runs the time-driven detectors for one rep; true when it changed state
/// that must be saved without raising an alert (a week's best).
fn tick_rep(
    cfg: &EngineConfig,
    id: &str,
    rs: &mut RepState,
    at: &TickAt<'_>,
    out: &mut Vec<AlertRecord>,
) -> bool {
    let dc = &cfg.detect;
    let t = at.t;
    let cal = rs.calendar(dc);
    let tick = &at.ticks[cal];
    let from = out.len();
    let mut d = std::mem::take(&mut rs.detect);
    let who = subject(cfg, t, id, rs);
    let mut r = Raise {
        cfg: cfg.detectors_at(t).role(who.role),
        who,
        out,
    };
    inactivity(&mut d, tick, &dc.calendars[cal], &mut r);
    sudden_drop(&mut d, tick, &dc.calendars[cal], &mut r);
    let flow = d.ext.flow;
    if let Some(shares) = &at.shares[cal] {
        if let Some(p) = pace_input(cfg, rs, at.current, shares, &dc.calendars[cal], t) {
            pace(&mut d, p, t, &mut r);
        }
    }
    // The deal flow moves to a new period (or starts) at a tick: saved, as
    // a restored rep must continue from the same counts.
    let mut changed = d.ext.flow != flow;
    if let Some(s) = at.standings.and_then(|m| m.get(id)) {
        // The judged day is saved only when the standing memory changed:
        // judging the same day again from unchanged memory gives the same result.
        let before = d.ext.peer.clone();
        day_closed(&mut d, s, t, &mut r);
        changed |= !d.ext.peer.same_counts(&before);
    }
    if let Some(week) = at.week_closed {
        let revenue = rs.periods.get(&week).map_or(0, |a| a.revenue);
        let revenue = cfg.decode.currencies.micros_to_output(i128::from(revenue));
        week_closed(&mut d, week.start, revenue, t, &mut r);
        changed = true;
    }
    expire(&mut d, t, &mut r);
    d.alerts.prune(t, at.scope_floor);
    d.track(&out[from..]);
    rs.detect = d;
    changed
}

/// The rep's weighted attainment and expected attainment over the profile's
/// higher-is-better components measured over a week, month or quarter.
fn pace_input(
    cfg: &EngineConfig,
    rs: &RepState,
    current: &[Period; 4],
    shares: &[f64; 4],
    cal: &salespulse_detect::WorkCalendar,
    t: i64,
) -> Option<PaceInput> {
    let profile = cfg.profiles.for_role(t, rs.role());
    let targets = rs.targets(cfg);
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
        let acc = rs.periods.get(&period).copied().unwrap_or_default();
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
