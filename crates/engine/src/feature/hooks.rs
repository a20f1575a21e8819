//! The interface every feature implements ([`Feature`]) and what each hook
//! is given: the engine calls them at fixed points, in the order of the
//! feature list (`crate::feature`).

use salespulse_kpi::SalesAcc;
use salespulse_model::record::{KpiTable, ScoreRecord};
use salespulse_model::{AlertRecord, Event, Rejection};
use salespulse_window::Period;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::clock::Clock;
use crate::moment::{DayClose, TickAt};
use crate::rep::Core;
use crate::EngineConfig;

/// An event about to be applied to a rep (after the stateless checks and
/// lateness, before dedupe).
pub(crate) struct AdmitCx<'a, 'e> {
    pub cfg: &'a EngineConfig,
    pub rep_id: &'a str,
    pub core: &'a Core,
    pub ev: &'a Event<'e>,
    pub alerts: &'a mut Vec<AlertRecord>,
}

/// An event applied to a rep's core: its windows and periods hold it.
pub(crate) struct EventCx<'a, 'e> {
    pub cfg: &'a EngineConfig,
    pub rep_id: &'a str,
    pub core: &'a Core,
    pub ev: &'a Event<'e>,
    /// What the event adds to the rep's sums.
    pub acc: &'a SalesAcc,
    /// Stream time, this event included.
    pub t: i64,
    /// The current calendar periods.
    pub current: &'a [Period; 4],
    pub alerts: &'a mut Vec<AlertRecord>,
    /// Closed periods whose summary the event changed (due again).
    pub due: &'a mut Vec<Period>,
}

/// A tick of stream time, for one rep.
pub(crate) struct TickCx<'a> {
    pub cfg: &'a EngineConfig,
    pub rep_id: &'a str,
    pub core: &'a mut Core,
    pub at: &'a TickAt<'a>,
    /// What a working-day close judged, when one closed.
    pub close: Option<&'a DayClose>,
    pub alerts: &'a mut Vec<AlertRecord>,
    /// Set when the rep's score record is due at once (its close score changed).
    pub record_due: &'a mut bool,
    /// Set when its inactivity alert was due but held back (a silent source).
    pub held: &'a mut bool,
}

/// A closed period's summary being built.
pub(crate) struct PeriodCx<'a> {
    pub cfg: &'a EngineConfig,
    pub core: &'a Core,
    pub period: Period,
    /// The period's sums as the summary shows them.
    pub acc: SalesAcc,
    /// Whether the sums come from the live period store (the period still
    /// accepts late events), not from what was kept after its grace.
    pub live: bool,
}

/// A record being built: a score record (`period` None) or a summary.
pub(crate) struct RecordCx<'a> {
    pub cfg: &'a EngineConfig,
    pub core: &'a Core,
    /// The mean and sd of the logs of the rep's recent won deal amounts
    /// (the detectors'), which the forecast's deal model reads.
    pub deal_logs: Option<(f64, Option<f64>)>,
    /// Stream time.
    pub t: i64,
    /// Score records: every window's and current period's sums, and the clock.
    pub sums: &'a [SalesAcc],
    pub clock: &'a Clock,
    /// Summaries: the period, its sums, its score and KPI table.
    pub period: Option<(Period, SalesAcc, Option<f64>, &'a KpiTable)>,
    /// Score records: a KPI record goes with this one, so the sections
    /// only it carries (last periods) are built.
    pub detail: bool,
}

/// What a feature is to the engine.
pub(crate) trait Feature: Default + Serialize + DeserializeOwned {
    /// Refuses an event before it is applied (an outlier held back).
    fn admit(&mut self, _cx: &mut AdmitCx<'_, '_>) -> Result<(), Rejection> {
        Ok(())
    }

    /// An event was applied to the rep's core.
    fn on_event(&mut self, _cx: &mut EventCx<'_, '_>) {}

    /// Something reached a closed period of the rep after it was summarised
    /// (within its grace, or past it).
    fn on_late(&mut self, _period: &Period, _acc: &SalesAcc) {}

    /// Whether a minor tick (no new hour, day or week) has work for it.
    fn due_at_minor_tick(&self, _at: &TickAt<'_>) -> bool {
        false
    }

    /// A tick of stream time; true when it changed what the changelog holds.
    fn on_tick(&mut self, _cx: &mut TickCx<'_>) -> bool {
        false
    }

    /// A closed period's summary is being built.
    fn on_period_close(&mut self, _cx: &PeriodCx<'_>) {}

    /// Adds its part of a score record (mutably: a feature may keep what
    /// it built, to reuse while its inputs do not change).
    fn score_section(&mut self, _cx: &RecordCx<'_>, _rec: &mut ScoreRecord) {}

    /// Adds its part of a period summary.
    fn summary_section(&self, _cx: &RecordCx<'_>, _rec: &mut ScoreRecord) {}

    /// Approximate heap bytes.
    fn heap_bytes(&self) -> usize {
        0
    }

    /// Releases spare capacity (at each working-day close).
    fn shrink(&mut self) {}
}
