//! The engine's one way out: every output, in the order the engine made it.
//!
//! Period summaries and the score records of working-day closes are queued
//! when stream time closes their period; alerts when a detector raises them;
//! assist credits when a won deal names helpers. Score records of changed
//! reps, and summaries that late events changed, are coalesced: they are
//! queued by [`crate::Engine::flush`], however many events touched a rep
//! since the last one. Changelog records are queued by
//! [`crate::Engine::checkpoint`]. Drivers (replay, the Kafka service) drain
//! the outbox and route each output to its sink.

use salespulse_model::record::{
    CoachingRecord, KpiRecord, LastPeriodsRecord, Num, RecordKind, ScoreRecord, StatementRecord,
};
use salespulse_model::{AlertRecord, CurrencyTable};

use crate::feature::credit::Credit;

/// One output of the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// A score record or a period summary (`salespulse.scores`).
    Record(Box<ScoreRecord>),
    /// An alert record, firing or resolved (`salespulse.alerts`).
    Alert(Box<AlertRecord>),
    /// A rep's KPI table and forecast (`salespulse.kpis`), after the
    /// score record it goes with, when due.
    Kpis(Box<KpiRecord>),
    /// A rep's coaching that changed (`salespulse.coaching`), after the
    /// score record it goes with.
    Coaching(Box<CoachingRecord>),
    /// A rep's last periods that changed (`salespulse.periods`, key `rep_id`).
    LastPeriods(Box<LastPeriodsRecord>),
    /// A commission statement that changed (`salespulse.statements`),
    /// after the record it goes with.
    Statement(Box<StatementRecord>),
    /// An assist credit for a helper, applied by the helper's engine.
    Credit(Credit),
    /// A rep's changelog record (`salespulse.state`).
    State {
        /// The rep.
        rep_id: Box<str>,
        /// The record's value ([`crate::Engine::restore_rep`] reads it).
        bytes: Vec<u8>,
    },
}

/// Which score records [`crate::Engine::flush`] queues, after the period
/// summaries that late events made due (always).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emit {
    /// No score records: only the due summaries.
    Summaries,
    /// One score record per rep changed since the last flush (with its
    /// KPI record only for a rep that never had one).
    Changed,
    /// [`Emit::Changed`], and a score record with its KPI record for every
    /// rep whose KPI table changed since its last KPI record: what the
    /// service does once per `service.kpis_interval`.
    ChangedWithKpis,
    /// One score record per rep, sorted by rep_id, each with its KPI
    /// record: the final records a shutdown or the end of a replay leaves.
    All,
}

/// Outputs taken from the outbox, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outputs(pub Vec<Output>);

impl Outputs {
    /// Score records and period summaries; a score record that a KPI
    /// record went with has its KPI table in `kpis` (as a consumer joining
    /// the two topics by rep and `seq` sees it).
    pub fn records(self) -> Vec<ScoreRecord> {
        let mut out: Vec<ScoreRecord> = Vec::new();
        for o in self.0 {
            match o {
                Output::Record(r) => out.push(*r),
                Output::Kpis(k) => {
                    if let Some(r) = out
                        .iter_mut()
                        .rev()
                        .find(|r| r.rep_id == k.rep_id && r.seq == k.seq)
                    {
                        r.kpis = k.kpis;
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// Score records only.
    pub fn scores(self) -> Vec<ScoreRecord> {
        let mut v = self.records();
        v.retain(|r| r.kind == RecordKind::Score);
        v
    }

    /// Period summaries only.
    pub fn summaries(self) -> Vec<ScoreRecord> {
        let mut v = self.records();
        v.retain(|r| r.kind == RecordKind::PeriodSummary);
        v
    }

    /// The outputs `f` picks, in order.
    fn pick<T>(self, f: impl FnMut(Output) -> Option<T>) -> Vec<T> {
        self.0.into_iter().filter_map(f).collect()
    }

    /// KPI records.
    pub fn kpis(self) -> Vec<KpiRecord> {
        self.pick(|o| match o {
            Output::Kpis(k) => Some(*k),
            _ => None,
        })
    }

    /// Last periods records.
    pub fn last_periods(self) -> Vec<LastPeriodsRecord> {
        self.pick(|o| match o {
            Output::LastPeriods(l) => Some(*l),
            _ => None,
        })
    }

    /// Coaching records.
    pub fn coaching(self) -> Vec<CoachingRecord> {
        self.pick(|o| match o {
            Output::Coaching(c) => Some(*c),
            _ => None,
        })
    }

    /// Alert records.
    pub fn alerts(self) -> Vec<AlertRecord> {
        self.pick(|o| match o {
            Output::Alert(a) => Some(*a),
            _ => None,
        })
    }

    /// Assist credits.
    pub fn credits(self) -> Vec<Credit> {
        self.pick(|o| match o {
            Output::Credit(c) => Some(c),
            _ => None,
        })
    }

    /// Changelog records as (rep_id, value).
    pub fn states(self) -> Vec<(Box<str>, Vec<u8>)> {
        self.pick(|o| match o {
            Output::State { rep_id, bytes } => Some((rep_id, bytes)),
            _ => None,
        })
    }

    /// Whether nothing was taken.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl IntoIterator for Outputs {
    type Item = Output;
    type IntoIter = std::vec::IntoIter<Output>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// The queue itself.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    queue: Vec<Output>,
}

impl Outbox {
    pub(crate) fn push(&mut self, o: Output) {
        self.queue.push(o);
    }

    pub(crate) fn record(&mut self, r: ScoreRecord) {
        self.queue.push(Output::Record(Box::new(r)));
    }

    /// Queues `alerts`, their money facts (amounts in micro-units) rounded
    /// to the reporting currency's minor unit.
    pub(crate) fn alerts(
        &mut self,
        alerts: impl IntoIterator<Item = AlertRecord>,
        currencies: &CurrencyTable,
    ) {
        self.queue.extend(alerts.into_iter().map(|mut a| {
            for f in [&mut a.value, &mut a.threshold, &mut a.baseline] {
                if let Num::Amount(m) = *f {
                    if m.exp == 6 {
                        *f = Num::Amount(currencies.micros_to_amount(i128::from(m.minor)));
                    }
                }
            }
            Output::Alert(Box::new(a))
        }));
    }

    pub(crate) fn take(&mut self) -> Outputs {
        Outputs(std::mem::take(&mut self.queue))
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }
}
