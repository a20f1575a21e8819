//! [`Engine`]: applies validated events to per-rep state at stream time and
//! emits coalesced records.
//!
//! Acceptance of an event, in order: decodes and validates; is not more than
//! `max_future_skew` ahead of `now` (when the caller gives one); is not
//! `too_late` (it falls inside the widest rolling window at stream time, or
//! inside a period of some kind whose `end + grace` is still ahead of stream
//! time; `rep.updated` is never late); then stream time advances to it; then it
//! is not a `duplicate` of an id applied within the dedupe horizon. Accepted
//! events update every rolling window and every period still kept.

use rustc_hash::{FxBuildHasher, FxHashSet};

/// Rep state by rep_id. hashbrown's `entry_ref` finds or inserts with one
/// lookup and allocates the key only for a new rep.
type RepMap = hashbrown::HashMap<Box<str>, RepState, FxBuildHasher>;

use salespulse_kpi::SalesAcc;
use salespulse_model::record::ScoreRecord;
use salespulse_model::{decode, Body, Event, EventType, Reason, Rejection};
use salespulse_window::{Period, PeriodKind};

pub(crate) mod coach;
mod credit;
mod detect;
pub(crate) mod forecast;
pub(crate) mod incentive;
mod memory;
pub(crate) mod previous;
mod rollup;
mod snapshot;
mod standing;
mod validate;
mod versions;

pub use credit::{Credit, CreditOutcome};
pub use memory::MemoryReport;
pub use rollup::{GroupSums, SCORE_BUCKETS};
pub use snapshot::{Applied, SnapshotError, SNAPSHOT_FORMAT};
use validate::check_future;
pub use validate::validate;

use crate::output::{score_record, summary_record};
use crate::state::RepState;
use crate::{stable_hash, EngineConfig};

/// Counters of what the engine did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Records offered.
    pub read: u64,
    /// Records applied.
    pub applied: u64,
    /// Records rejected, by [`Reason::index`].
    pub rejected: [u64; Reason::ALL.len()],
    /// Dedupe ids forgotten early because a rep hit `dedupe_max_per_rep`.
    pub dedupe_evicted: u64,
    /// Open deals forgotten because a rep hit `open_deals_max_per_rep`.
    pub deals_evicted: u64,
    /// Score records emitted.
    pub scores_emitted: u64,
    /// Period summaries emitted.
    pub summaries_emitted: u64,
    /// Assist credits made by accepted wins (applied here or handed out).
    pub credits: u64,
    /// Routed assist credits dropped as older than everything kept.
    pub credits_too_late: u64,
    /// Records skipped because the rep's restored state already held them.
    pub already_applied: u64,
}

impl Stats {
    /// Rejections of one reason.
    pub fn rejected_for(&self, r: Reason) -> u64 {
        self.rejected[r.index()]
    }

    /// All rejections.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.iter().sum()
    }

    /// Adds another engine's counters (engines of several partitions).
    pub fn add(&mut self, o: &Stats) {
        self.read += o.read;
        self.applied += o.applied;
        for (a, b) in self.rejected.iter_mut().zip(&o.rejected) {
            *a += b;
        }
        self.dedupe_evicted += o.dedupe_evicted;
        self.deals_evicted += o.deals_evicted;
        self.scores_emitted += o.scores_emitted;
        self.summaries_emitted += o.summaries_emitted;
        self.credits += o.credits;
        self.credits_too_late += o.credits_too_late;
        self.already_applied += o.already_applied;
    }
}

/// The processor of one partition (or of one replay).
pub struct Engine {
    cfg: EngineConfig,
    names: salespulse_model::record::WindowNames,
    reps: RepMap,
    stream_time: i64,
    current: [Period; 4],
    dirty: Vec<Box<str>>,
    summaries_due: FxHashSet<(Box<str>, PeriodKind, i64)>,
    pending: Vec<ScoreRecord>,
    stats: Stats,
    /// Input position (offset + 1) of the record being applied, when the
    /// caller tracks one; versions are then at least `position << 10`.
    position: Option<u64>,
    /// Hand credits out instead of applying them (see `credit`).
    route_credits: bool,
    /// Credits handed out and not yet taken.
    credits: Vec<credit::Credit>,
    /// Reps changed since the last `take_unsaved`.
    unsaved: Vec<Box<str>>,
    /// (input slot, offset) of the record being applied, when the caller gives one.
    source: Option<(usize, i64)>,
    /// Deferred credits by time (see `credit`), rebuilt from rep state on restore.
    credits_due: std::collections::BinaryHeap<std::cmp::Reverse<(i64, Box<str>)>>,
    /// Detector state that is not per rep, and alerts not yet drained.
    detection: detect::Detection,
    /// What forecasts need from the clock, per stream-time hour.
    clock: forecast::Clock,
}

impl Engine {
    /// Tells the engine where in its input it is (a Kafka offset + 1). From
    /// then on a rep's `version` is at least `position * 1024`, so versions
    /// keep growing across a restart that re-applies records: the state at
    /// a given position is deterministic, so the record with the highest
    /// version is always the latest. Replay leaves this unset (plain counters).
    pub fn set_position(&mut self, position: u64) {
        self.position = Some(position);
    }

    fn version_floor(&self) -> u64 {
        self.position.map_or(0, |p| p.saturating_mul(1024))
    }

    /// An empty engine.
    pub fn new(cfg: EngineConfig) -> Self {
        let names = cfg.window_names().into();
        let current = PeriodKind::ALL.map(|k| cfg.calendar.period(k, 0));
        Engine {
            cfg,
            names,
            reps: RepMap::default(),
            stream_time: i64::MIN,
            current,
            dirty: Vec::new(),
            summaries_due: FxHashSet::default(),
            pending: Vec::new(),
            stats: Stats::default(),
            position: None,
            route_credits: false,
            credits: Vec::new(),
            unsaved: Vec::new(),
            source: None,
            credits_due: std::collections::BinaryHeap::new(),
            detection: detect::Detection::default(),
            clock: forecast::Clock::new(current),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    /// Stream time (largest accepted `occurred_at`), if any event was accepted.
    pub fn stream_time(&self) -> Option<i64> {
        (self.stream_time != i64::MIN).then_some(self.stream_time)
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Reps held.
    pub fn rep_count(&self) -> usize {
        self.reps.len()
    }

    /// Decodes, validates and applies one record. `now_ms` is the wall clock
    /// at ingest for the `future_timestamp` check (None skips it).
    /// Returns the applied event's type.
    pub fn ingest(&mut self, bytes: &[u8], now_ms: Option<i64>) -> Result<EventType, Rejection> {
        self.stats.read += 1;
        let result = match decode(bytes, &self.cfg.decode) {
            Ok(ev) => {
                let r = self.apply_inner(&ev, now_ms);
                self.detect_record(bytes, Some(ev.source.as_deref()), &r);
                r
            }
            Err(e) => {
                let r = Err(e);
                self.detect_record(bytes, None, &r);
                r
            }
        };
        self.count(&result);
        result
    }

    /// Applies one validated event.
    pub fn apply(&mut self, ev: &Event<'_>, now_ms: Option<i64>) -> Result<EventType, Rejection> {
        self.stats.read += 1;
        let result = self.apply_inner(ev, now_ms);
        self.count(&result);
        result
    }

    fn count(&mut self, result: &Result<EventType, Rejection>) {
        match result {
            Ok(_) => self.stats.applied += 1,
            Err(e) => self.stats.rejected[e.reason.index()] += 1,
        }
    }

    /// Whether an event at `e` still falls in a kept window or period at stream time `t`.
    fn is_kept(&self, e: i64, t: i64) -> bool {
        is_kept(&self.cfg, &self.current, e, t)
    }

    fn apply_inner(&mut self, ev: &Event<'_>, now_ms: Option<i64>) -> Result<EventType, Rejection> {
        let e = ev.occurred_at.0;
        check_future(&self.cfg, ev, now_ms)?;
        let t = self.stream_time.max(e);
        let is_directory = matches!(ev.body, Body::RepUpdated(_));
        if e < t && !is_directory && !self.is_kept(e, t) {
            return Err(Rejection::field(
                Reason::TooLate,
                "occurred_at",
                &ev.occurred_at.to_rfc3339(),
                &format!(
                    "an event inside the kept windows and periods at stream time {} (widest window {}, period grace {} h)",
                    salespulse_model::Timestamp(t),
                    self.cfg.specs.widest().name,
                    self.cfg.grace_ms / 3_600_000
                ),
            ));
        }
        self.advance(t);
        if self.credits_due.peek().is_some_and(|d| d.0 .0 <= t) {
            self.apply_due_credits();
        }
        let cfg = &self.cfg;
        let rs = rep_entry(&mut self.reps, &ev.rep_id, cfg);
        // Before the dedupe check: a held-back deal re-sent with a corrected
        // amount under the same event_id is then applied.
        detect::hold_outlier(cfg, &ev.rep_id, rs, ev, &mut self.detection.out)?;
        let fresh = rs.dedupe.check_insert(
            stable_hash(&ev.event_id),
            t,
            cfg.dedupe_horizon_ms,
            cfg.dedupe_max_per_rep,
            &mut self.stats.dedupe_evicted,
        );
        if !fresh {
            return Err(Rejection::field(
                Reason::Duplicate,
                "event_id",
                &format!("{:?}", ev.event_id),
                "an id not already applied for this rep within engine.dedupe_horizon of stream time before it arrived",
            ));
        }
        if let Some(team) = &ev.team_id {
            if rs.seen_team.as_deref() != Some(team) {
                rs.seen_team = Some(team.as_ref().into());
            }
        }
        if let Some(region) = &ev.region {
            if rs.seen_region.as_deref() != Some(region) {
                rs.seen_region = Some(region.as_ref().into());
                rs.calendar = None;
            }
        }
        let mut cycle_secs = None;
        match &ev.body {
            // The directory record with the latest occurred_at wins.
            Body::RepUpdated(d) if rs.directory.as_ref().is_none_or(|(at, _)| *at <= e) => {
                rs.directory = Some((e, d.clone()));
                rs.calendar = None;
            }
            Body::DealCreated { deal_id, .. } => {
                rs.deals.created(
                    stable_hash(deal_id),
                    e,
                    cfg.open_deals_max_per_rep,
                    &mut self.stats.deals_evicted,
                );
            }
            Body::DealWon {
                deal_id,
                created_at,
                ..
            } => {
                let created = rs
                    .deals
                    .close(stable_hash(deal_id))
                    .or(created_at.map(|c| c.0));
                cycle_secs = created.filter(|&c| c <= e).map(|c| (e - c) / 1000);
            }
            Body::DealLost { deal_id } => {
                rs.deals.close(stable_hash(deal_id));
            }
            _ => {}
        }
        let acc = SalesAcc::from_body(&ev.body, cycle_secs);
        Self::note_source(self.source, rs);
        let mut sink = Sink {
            dirty: &mut self.dirty,
            unsaved: &mut self.unsaved,
            summaries_due: &mut self.summaries_due,
        };
        add(cfg, &self.current, t, &ev.rep_id, rs, e, &acc, &mut sink);
        detect::on_event(
            cfg,
            &ev.rep_id,
            rs,
            ev,
            acc.revenue,
            &mut self.detection.out,
        );
        if !is_directory {
            rs.week.add(forecast::event_slot(cfg, &self.current, e));
        }
        let current = &self.current;
        let kept = |at: i64| is_kept(cfg, current, at, t);
        if let Some(p) = incentive::on_event(cfg, rs, ev, &acc, t, kept) {
            // A refund corrected a closed statement: its summary is due again.
            self.summaries_due
                .insert((ev.rep_id.as_ref().into(), p.kind, p.start));
        }
        if let Body::DealWon { assist_rep_ids, .. } = &ev.body {
            self.credit_assists(assist_rep_ids.iter().map(|h| h.as_ref()), &ev.event_id, e);
        }
        Ok(ev.event_type)
    }

    /// Moves stream time to `t`; emits the summaries of periods that close.
    fn advance(&mut self, t: i64) {
        if t <= self.stream_time {
            return;
        }
        let old = self.stream_time;
        self.detect_ticks(old, t);
        self.stream_time = t;
        self.on_versions(old, t);
        for kind in PeriodKind::ALL {
            if self.current[kind as usize].end > t {
                continue;
            }
            self.current[kind as usize] = self.cfg.calendar.period(kind, t);
            if old == i64::MIN || !self.cfg.summary_periods.contains(&kind) {
                continue;
            }
            let floor = self.version_floor();
            let mut ids: Vec<&Box<str>> = self.reps.keys().collect();
            ids.sort_unstable();
            let ids: Vec<Box<str>> = ids.into_iter().cloned().collect();
            for id in ids {
                let Some(rs) = self.reps.get_mut(&id) else {
                    continue;
                };
                let closed: Vec<Period> = rs
                    .periods
                    .entries(kind)
                    .map(|(p, _)| *p)
                    .filter(|p| p.end > old && p.end <= t)
                    .collect();
                let summarised = !closed.is_empty();
                for p in closed {
                    self.pending
                        .push(summary_record(&self.cfg, &id, rs, t, p, floor));
                    self.stats.summaries_emitted += 1;
                }
                // A summary notes the period's sums in the rep's history
                // (and its commission books): the changelog must hold that.
                if summarised && !rs.unsaved {
                    rs.unsaved = true;
                    self.unsaved.push(id.clone());
                }
            }
        }
    }

    /// Emits what changed since the last flush: period summaries (closed by
    /// stream time, or changed by late events) and one score record per
    /// changed rep, however many events it received.
    pub fn flush(&mut self) -> Vec<ScoreRecord> {
        let mut out = self.drain_summaries();
        let ids = std::mem::take(&mut self.dirty);
        self.score_reps(ids, &mut out);
        out
    }

    /// Appends the current score record of each rep in `ids` to `out`.
    fn score_reps(&mut self, ids: Vec<Box<str>>, out: &mut Vec<ScoreRecord>) {
        let t = self.stream_time;
        if t == i64::MIN {
            // No event yet, only credits waiting for one: no time to score at.
            return;
        }
        let floor = self.version_floor();
        if !ids.is_empty() {
            self.clock.at(&self.cfg, t, &self.current);
        }
        for id in ids {
            if let Some(rs) = self.reps.get_mut(&id) {
                rs.dirty = false;
                out.push(score_record(
                    &self.cfg,
                    &self.names,
                    &id,
                    rs,
                    t,
                    &self.clock,
                    floor,
                ));
                self.stats.scores_emitted += 1;
            }
        }
    }

    /// Emits the records that must not wait for coalescing: the period
    /// summaries that are due (closed periods, and closed periods changed
    /// by late events) and the score records of working-day closes (each
    /// with `day_close`), leaving other score records for later.
    pub fn drain_summaries(&mut self) -> Vec<ScoreRecord> {
        let mut out = std::mem::take(&mut self.pending);
        if self.summaries_due.is_empty() {
            return out;
        }
        let t = self.stream_time;
        let floor = self.version_floor();
        let mut due: Vec<_> = self.summaries_due.drain().collect();
        due.sort_unstable();
        for (id, kind, start) in due {
            let p = self.cfg.calendar.period(kind, start);
            if let Some(rs) = self.reps.get_mut(&id) {
                if rs.periods.get(&p).is_some() || incentive::closed_sums(rs, &p).is_some() {
                    out.push(summary_record(&self.cfg, &id, rs, t, p, floor));
                    self.stats.summaries_emitted += 1;
                    if !rs.unsaved {
                        rs.unsaved = true;
                        self.unsaved.push(id.clone());
                    }
                }
            }
        }
        out
    }

    /// The current score record of every rep, sorted by rep_id (each counts as an emission).
    pub fn score_all(&mut self) -> Vec<ScoreRecord> {
        let mut ids: Vec<Box<str>> = self.reps.keys().cloned().collect();
        ids.sort_unstable();
        self.dirty.clear();
        let mut out = Vec::with_capacity(ids.len());
        self.score_reps(ids, &mut out);
        out
    }
}

fn rep_entry<'m>(reps: &'m mut RepMap, rep_id: &str, cfg: &EngineConfig) -> &'m mut RepState {
    reps.entry_ref(rep_id)
        .or_insert_with(|| RepState::new(&cfg.specs))
}

/// Whether an event at `e` still falls in the widest rolling window or in a
/// period (of any kind) whose `end + grace` is ahead of stream time `t`.
fn is_kept(cfg: &EngineConfig, current: &[Period; 4], e: i64, t: i64) -> bool {
    if cfg.specs.widest().contains(t, e) {
        return true;
    }
    PeriodKind::ALL
        .iter()
        .any(|&k| period_of(cfg, current, k, e).end + cfg.grace_ms > t)
}

/// The period of `kind` holding `e`: the cached current one, or computed.
fn period_of(cfg: &EngineConfig, current: &[Period; 4], kind: PeriodKind, e: i64) -> Period {
    let cur = current[kind as usize];
    if cur.contains(e) {
        cur
    } else {
        cfg.calendar.period(kind, e)
    }
}

/// Where `add` reports what it changed.
struct Sink<'a> {
    dirty: &'a mut Vec<Box<str>>,
    unsaved: &'a mut Vec<Box<str>>,
    summaries_due: &'a mut FxHashSet<(Box<str>, PeriodKind, i64)>,
}

/// Adds a contribution at event time `e` to a rep's windows and kept periods
/// (stream time `t`), marking the rep dirty and closed periods for re-summary.
#[allow(clippy::too_many_arguments)]
fn add(
    cfg: &EngineConfig,
    current: &[Period; 4],
    t: i64,
    rep_id: &str,
    rs: &mut RepState,
    e: i64,
    acc: &SalesAcc,
    sink: &mut Sink<'_>,
) {
    if !rs.dirty {
        rs.dirty = true;
        sink.dirty.push(rep_id.into());
    }
    if !rs.unsaved {
        rs.unsaved = true;
        sink.unsaved.push(rep_id.into());
    }
    if acc.is_zero() {
        return;
    }
    rs.advance(&cfg.specs, t);
    rs.insert(&cfg.specs, e, acc);
    rs.periods.expire(t, cfg.grace_ms);
    for kind in PeriodKind::ALL {
        let p = period_of(cfg, current, kind, e);
        if p.end + cfg.grace_ms > t {
            rs.periods.add(p, acc);
            if p.end <= t && cfg.summary_periods.contains(&p.kind) {
                sink.summaries_due.insert((rep_id.into(), p.kind, p.start));
                // The history holds the closed period's sums from now on,
                // saved with this event, even if a crash loses the summary
                // that is due.
                rs.history.add_late(&p, acc);
            }
        } else if cfg.summary_periods.contains(&p.kind) {
            rs.history.add_late(&p, acc);
        }
    }
}
