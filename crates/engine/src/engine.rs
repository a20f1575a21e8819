//! [`Engine`]: the processor of one partition (or of one replay). One door
//! in, [`Engine::ingest`] (decode, accept, apply; `accept` holds the
//! rules), and one door out, the outbox ([`Engine::flush`],
//! [`Engine::checkpoint`], [`Engine::drain`]). Stream time moves with the
//! events; when it closes a period the summaries are queued, and when it
//! passes a tick the time-driven work runs (`tick`). A rep's state is its
//! core and its features (`rep`, `feature`).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use salespulse_kpi::SalesAcc;
use salespulse_model::record::{TeamRecord, WindowName, WindowNames};
use salespulse_model::{decode, AlertRecord, Body, Event, EventType, Rejection};
use salespulse_window::{Period, PeriodKind};

use crate::accept::{check_duplicate, check_future, check_late};
use crate::clock::Clock;
use crate::feature::detect::DataQuality;
use crate::feature::hooks::{AdmitCx, EventCx};
use crate::outbox::Outbox;
use crate::record::{queue_record, summary_record};
use crate::rep::Core;
use crate::reps::{self, Marks, Reps};
use crate::rollup::{self, GroupSums};
use crate::stats::{MemoryReport, Stats};
use crate::tick::Ticker;
use crate::{stable_hash, EngineConfig};

mod credits;
mod outflow;
mod restore;
mod time;

/// What [`Engine::ingest_from`] did with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Applied: an event of this type.
    Event(EventType),
    /// Skipped: the rep's state already holds this record (it was applied
    /// before the state was restored from the changelog).
    AlreadyApplied,
}

/// The processor of one partition (or of one replay).
pub struct Engine {
    cfg: EngineConfig,
    names: WindowNames,
    reps: Reps,
    stream_time: i64,
    /// The calendar periods holding stream time.
    current: [Period; 4],
    marks: Marks,
    outbox: Outbox,
    /// Alerts raised by the operation in progress (moved to the outbox after it).
    alerts: Vec<AlertRecord>,
    stats: Stats,
    /// Input position (offset + 1) of the record being applied, when the
    /// caller tracks one; versions are then at least `position << 10`.
    position: Option<u64>,
    /// (input slot, offset) of the record being applied, when the caller gives one.
    source: Option<(usize, i64)>,
    /// Hand credits out ([`Output::Credit`]) instead of applying them.
    route_credits: bool,
    /// Deferred credits by time, rebuilt from rep state on restore.
    credits_due: BinaryHeap<Reverse<(i64, Box<str>)>>,
    quality: DataQuality,
    ticker: Ticker,
    /// What forecasts need from the clock, per stream-time hour.
    clock: Clock,
}

impl Engine {
    /// An empty engine.
    pub fn new(cfg: EngineConfig) -> Self {
        let names = cfg.window_names().into();
        let current = PeriodKind::ALL.map(|k| cfg.calendar.period(k, 0));
        Engine {
            cfg,
            names,
            reps: Reps::default(),
            stream_time: i64::MIN,
            current,
            marks: Marks::default(),
            outbox: Outbox::default(),
            alerts: Vec::new(),
            stats: Stats::default(),
            position: None,
            source: None,
            route_credits: false,
            credits_due: BinaryHeap::new(),
            quality: DataQuality::default(),
            ticker: Ticker::default(),
            clock: Clock::new(current),
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

    /// Tells the engine where in its input it is (a Kafka offset + 1). From
    /// then on a rep's `version` is at least `position * 1024`, so versions
    /// keep growing across a restart that re-applies records: the state at
    /// a given position is deterministic, so the record with the highest
    /// version is always the latest. Replay leaves this unset (plain counters).
    pub fn set_position(&mut self, position: u64) {
        self.position = Some(position);
    }

    /// Sets the input partition this engine owns: data-quality alert ids
    /// include it, as each partition's engine judges its own share.
    pub fn set_partition(&mut self, partition: i32) {
        self.quality.partition = Some(partition);
    }

    /// With `true`, credits go to the outbox ([`Output::Credit`]) instead
    /// of being applied here (the helper may be another partition's).
    pub fn set_route_credits(&mut self, route: bool) {
        self.route_credits = route;
    }

    /// Takes the profile versions of `timeline`, which extends the current
    /// one (the control topic's changes so far). Returns whether a new
    /// version takes effect at or before the stream time already reached:
    /// it arrived after events it covers were applied, so records emitted
    /// since its `effective_at` used the version before it. The live
    /// service's refresh rule prevents that (docs/control-topic.md); every
    /// rep is scored again either way.
    pub fn set_profiles(
        &mut self,
        timeline: salespulse_kpi::ProfileTimeline<crate::control::Detectors>,
    ) -> bool {
        let known = self.cfg.profiles.versions().len();
        let late = timeline
            .versions()
            .iter()
            .skip(known)
            .any(|v| v.effective_at <= self.stream_time);
        self.cfg.profiles = timeline;
        if late {
            self.mark_all_dirty();
        }
        late
    }

    /// Decodes, validates and applies one record. `now_ms` is the wall clock
    /// at ingest for the `future_timestamp` check (None skips it).
    /// Returns the applied event's type.
    pub fn ingest(&mut self, bytes: &[u8], now_ms: Option<i64>) -> Result<EventType, Rejection> {
        self.stats.read += 1;
        let result = match decode(bytes, &self.cfg.decode) {
            Ok(ev) => {
                let r = self.apply_inner(&ev, now_ms);
                self.observe_quality(bytes, Some((ev.source.as_deref(), &ev.rep_id)), &r);
                r
            }
            Err(e) => {
                let r = Err(e);
                self.observe_quality(bytes, None, &r);
                r
            }
        };
        self.count(&result);
        self.settle();
        result
    }

    /// Decodes, validates and applies a record at `offset` of input slot
    /// `slot`, skipping it when its rep's state already holds that offset.
    pub fn ingest_from(
        &mut self,
        bytes: &[u8],
        now_ms: Option<i64>,
        slot: usize,
        offset: i64,
    ) -> Result<Applied, Rejection> {
        self.source = Some((slot, offset));
        self.stats.read += 1;
        let result = match decode(bytes, &self.cfg.decode) {
            Ok(ev) if self.holds(&ev.rep_id, slot, offset) => Ok(None),
            Ok(ev) => {
                let r = self.apply_inner(&ev, now_ms);
                self.observe_quality(bytes, Some((ev.source.as_deref(), &ev.rep_id)), &r);
                r.map(Some)
            }
            Err(e) => {
                let r = Err(e);
                self.observe_quality(bytes, None, &r);
                r.map(Some)
            }
        };
        self.source = None;
        self.settle();
        match result {
            Ok(None) => {
                self.stats.already_applied += 1;
                Ok(Applied::AlreadyApplied)
            }
            Ok(Some(t)) => {
                self.stats.applied += 1;
                Ok(Applied::Event(t))
            }
            Err(e) => {
                self.stats.rejected[e.reason.index()] += 1;
                Err(e)
            }
        }
    }

    /// Applies one decoded event.
    pub fn apply(&mut self, ev: &Event<'_>, now_ms: Option<i64>) -> Result<EventType, Rejection> {
        self.stats.read += 1;
        let result = self.apply_inner(ev, now_ms);
        self.count(&result);
        self.settle();
        result
    }

    fn count(&mut self, result: &Result<EventType, Rejection>) {
        match result {
            Ok(_) => self.stats.applied += 1,
            Err(e) => self.stats.rejected[e.reason.index()] += 1,
        }
    }

    /// Whether `rep_id`'s state already holds the record at `offset` of `slot`.
    fn holds(&self, rep_id: &str, slot: usize, offset: i64) -> bool {
        self.reps
            .get(rep_id)
            .is_some_and(|rs| rs.core.holds(slot, offset))
    }

    fn observe_quality(
        &mut self,
        bytes: &[u8],
        decoded: Option<(Option<&str>, &str)>,
        result: &Result<EventType, Rejection>,
    ) {
        let t = self.stream_time.max(0);
        self.quality
            .observe(&self.cfg, bytes, decoded, result, t, &mut self.alerts);
    }

    /// Accepts (module `accept`) and applies an event to its rep.
    fn apply_inner(&mut self, ev: &Event<'_>, now_ms: Option<i64>) -> Result<EventType, Rejection> {
        check_future(&self.cfg, ev, now_ms)?;
        let t = check_late(&self.cfg, &self.current, ev, self.stream_time)?;
        self.advance(t);
        if self.credits_due.peek().is_some_and(|d| d.0 .0 <= t) {
            self.apply_due_credits();
        }
        let cfg = &self.cfg;
        let rs = reps::entry(&mut self.reps, &ev.rep_id, &cfg.specs);
        // Before the dedupe check: a held-back deal re-sent with a corrected
        // amount under the same event_id is then applied.
        rs.features.admit(&mut AdmitCx {
            cfg,
            rep_id: &ev.rep_id,
            core: &rs.core,
            ev,
            alerts: &mut self.alerts,
        })?;
        check_duplicate(cfg, &mut rs.core, ev, t, &mut self.stats.dedupe_evicted)?;
        let cycle_secs = apply_identity(cfg, &mut rs.core, ev, &mut self.stats.deals_evicted);
        let e = ev.occurred_at.0;
        let acc = SalesAcc::from_body(&ev.body, cycle_secs);
        rs.core.note_source(self.source);
        self.marks.dirty(&ev.rep_id, &mut rs.core);
        self.marks.unsaved(&ev.rep_id, &mut rs.core);
        for p in rs.add(cfg, &self.current, t, e, &acc) {
            self.marks.summary_due(&ev.rep_id, &p);
        }
        let mut due = Vec::new();
        rs.features.on_event(&mut EventCx {
            cfg,
            rep_id: &ev.rep_id,
            core: &rs.core,
            ev,
            acc: &acc,
            t,
            current: &self.current,
            alerts: &mut self.alerts,
            due: &mut due,
        });
        for p in due {
            self.marks.summary_due(&ev.rep_id, &p);
        }
        if let Body::DealWon { assist_rep_ids, .. } = &ev.body {
            for helper in assist_rep_ids.iter() {
                self.credit_assist(helper, &ev.event_id, e);
            }
        }
        Ok(ev.event_type)
    }

    /// Queues the summary of every rep's periods of `kind` that stream time
    /// moving from `old` to `t` closed.
    fn summarise_closed(&mut self, kind: PeriodKind, old: i64, t: i64) {
        let floor = self.version_floor();
        let mut ids: Vec<Box<str>> = self.reps.keys().cloned().collect();
        ids.sort_unstable();
        for id in ids {
            let Some(rs) = self.reps.get_mut(&id) else {
                continue;
            };
            let closed: Vec<Period> = rs
                .core
                .periods
                .entries(kind)
                .map(|(p, _)| *p)
                .filter(|p| p.end > old && p.end <= t)
                .collect();
            let summarised = !closed.is_empty();
            for p in closed {
                let (cfg, names) = (&self.cfg, &self.names);
                let rec = summary_record(cfg, &id, rs, t, p, &self.clock, floor);
                queue_record(&mut self.outbox, cfg, names, rs, (rec, None));
                self.stats.summaries_emitted += 1;
            }
            // A summary notes the period's sums in the rep's history (and
            // its commission books): the changelog must hold that.
            if summarised {
                self.marks.unsaved(&id, &mut rs.core);
            }
        }
    }

    fn version_floor(&self) -> u64 {
        self.position.map_or(0, |p| p.saturating_mul(1024))
    }

    fn mark_all_dirty(&mut self) {
        let mut ids: Vec<Box<str>> = Vec::new();
        for (id, rs) in self.reps.iter_mut() {
            if !rs.core.dirty {
                rs.core.dirty = true;
                ids.push(id.clone());
            }
        }
        ids.sort_unstable();
        self.marks.dirty.extend(ids);
    }

    /// Moves the alerts raised since the last call into the outbox.
    fn settle(&mut self) {
        if !self.alerts.is_empty() {
            self.outbox
                .alerts(self.alerts.drain(..), &self.cfg.decode.currencies);
        }
    }

    /// The firing record of every open alert of this engine's reps and
    /// sources, in no particular order.
    pub fn open_alerts(&self) -> impl Iterator<Item = &AlertRecord> {
        self.reps
            .values()
            .flat_map(|rs| rs.features.detect.open().iter())
            .chain(self.quality.open().iter())
    }

    /// Team rollups at stream time: every KPI summed over the team's reps
    /// (reps without a team are under `unassigned`), sorted by team.
    pub fn team_rollups(&mut self) -> Vec<TeamRecord> {
        rollup::team_rollups(
            &self.cfg,
            &self.names,
            &mut self.reps,
            self.stream_time,
            &self.current,
        )
    }

    /// Sums over reps grouped by (team, role, region), for the business
    /// gauges: each instance exports partial sums over the reps it owns.
    pub fn group_sums(&mut self) -> Vec<((String, String, String), GroupSums)> {
        rollup::group_sums(&self.cfg, &mut self.reps, self.stream_time, &self.current)
    }

    /// Window and period names, in the order of `GroupSums::sums`.
    pub fn window_names(&self) -> &[WindowName] {
        &self.names
    }

    /// Estimated heap bytes held by rep state.
    pub fn heap_bytes(&self) -> usize {
        crate::stats::heap_bytes(&self.reps)
    }

    /// What rep state is made of, for sizing (see docs/BENCHMARKS.md).
    pub fn memory(&self) -> MemoryReport {
        MemoryReport::of(&self.reps)
    }

    /// Releases spare capacity in every rep's collections (the live engine
    /// does this per rep at each working-day close).
    pub fn shrink(&mut self) {
        for rs in self.reps.values_mut() {
            rs.shrink();
        }
    }
}

/// What an event says about who the rep is and its deals: the team and
/// region it names, the directory record, open deals (for the sales
/// cycle). Returns a won deal's sales cycle in seconds.
fn apply_identity(
    cfg: &EngineConfig,
    core: &mut Core,
    ev: &Event<'_>,
    deals_evicted: &mut u64,
) -> Option<i64> {
    let e = ev.occurred_at.0;
    if let Some(team) = &ev.team_id {
        if core.seen_team.as_deref() != Some(team) {
            core.seen_team = Some(team.as_ref().into());
        }
    }
    if let Some(region) = &ev.region {
        if core.seen_region.as_deref() != Some(region) {
            core.seen_region = Some(region.as_ref().into());
            core.calendar = None;
        }
    }
    match &ev.body {
        // The directory record with the latest occurred_at wins.
        Body::RepUpdated(d) if core.directory.as_ref().is_none_or(|(at, _)| *at <= e) => {
            core.directory = Some((e, d.clone()));
            core.calendar = None;
            None
        }
        Body::DealCreated { deal_id, .. } => {
            core.deals.created(
                stable_hash(deal_id),
                e,
                cfg.open_deals_max_per_rep,
                deals_evicted,
            );
            None
        }
        Body::DealWon {
            deal_id,
            created_at,
            ..
        } => {
            let created = core
                .deals
                .close(stable_hash(deal_id))
                .or(created_at.map(|c| c.0));
            created.filter(|&c| c <= e).map(|c| (e - c) / 1000)
        }
        Body::DealLost { deal_id } => {
            core.deals.close(stable_hash(deal_id));
            None
        }
        _ => None,
    }
}
